//! GitLab CI (`.gitlab-ci.yml` and the files it includes, recognised by their content):
//! `image` (a string, or a mapping's `name`) and `services` (strings or mappings' `name`) at
//! the top level, in `default:` and in every job, hidden `.template` jobs included
//! (<https://docs.gitlab.com/ci/yaml/#image>, <https://docs.gitlab.com/ci/yaml/#services>);
//! Renovate reads the same (lib/modules/manager/gitlabci/extract.ts).
//!
//! `$VAR` and `${VAR}` take their value from the job's or the file's `variables:`, so a tag
//! set there is reported, and fixed, where it is written; predefined variables
//! (`$CI_REGISTRY_IMAGE`) leave the reference unresolved.

use super::{Doc, FileKind, Reference};
use crate::yaml::NodeId;

/// Words one of which a file holds if this scanner can find a reference in it (see
/// [`super::prefilter`]): `image`, and `services` written as plain strings.
pub(super) const WORDS: [&str; 2] = ["image", "services"];

/// Top-level keys that are not jobs (<https://docs.gitlab.com/ci/yaml/#global-keywords>).
const GLOBAL: [&str; 9] = [
    "default",
    "include",
    "stages",
    "variables",
    "workflow",
    "image",
    "services",
    "cache",
    "spec",
];

/// Keys only a GitLab CI job has together with `script`.
const JOB_KEYS: [&str; 6] = ["stage", "image", "extends", "rules", "needs", "services"];

/// A file included by a pipeline: `stages:`, or a job with `script` and a job keyword.
pub(super) fn is_gitlab_ci(doc: &Doc<'_>, root: NodeId) -> bool {
    let stream = doc.stream;
    stream.is_mapping(root)
        && (stream.get(root, "stages").is_some()
            || stream.entries(root).iter().any(|&(_, job)| {
                stream.is_mapping(job)
                    && stream.get(job, "script").is_some()
                    && JOB_KEYS.iter().any(|key| stream.get(job, key).is_some())
            }))
}

pub(super) fn scan(doc: &Doc<'_>, root: NodeId, out: &mut Vec<Reference>) {
    let stream = doc.stream;
    if !stream.is_mapping(root) {
        return;
    }
    let globals = stream.get(root, "variables");
    images(doc, root, "", &[globals], out);
    if let Some(default) = stream.get(root, "default") {
        images(doc, default, "default.", &[globals], out);
    }
    for (name, job) in stream.entries(root) {
        let Some(name) = stream.scalar(name).filter(|n| !GLOBAL.contains(n)) else {
            continue;
        };
        if stream.is_mapping(job) {
            let variables = [stream.get(job, "variables"), globals];
            images(doc, job, &format!("{name}."), &variables, out);
        }
    }
}

/// The `image` and `services` of one job (or of the top level, or `default:`).
fn images(
    doc: &Doc<'_>,
    job: NodeId,
    path: &str,
    variables: &[Option<NodeId>],
    out: &mut Vec<Reference>,
) {
    let stream = doc.stream;
    let lookup = |name: &str| {
        variables.iter().flatten().find_map(|&vars| {
            let value = stream.get(vars, name)?;
            doc.value(stream.get(value, "value").unwrap_or(value))
        })
    };
    let mut emit = |id: NodeId, context: String| {
        let id = stream.get(id, "name").unwrap_or(id);
        if stream.scalar(id).is_some() {
            out.extend(doc.image_with(FileKind::GitlabCi, id, context, &lookup));
        }
    };
    if let Some(image) = stream.get(job, "image") {
        emit(image, format!("{path}image"));
    }
    if let Some(services) = stream
        .get(job, "services")
        .filter(|&s| !is_reference_tag(doc, s))
    {
        for (i, &service) in stream.items(services).iter().enumerate() {
            emit(service, format!("{path}services[{i}]"));
        }
    }
}

/// `!reference [.job, key]`: GitLab copies another job's value there; the names in it are
/// job names, not images (<https://docs.gitlab.com/ci/yaml/yaml_optimization/#reference-tags>).
fn is_reference_tag(doc: &Doc<'_>, id: NodeId) -> bool {
    let start = doc.stream.node(id).span.start;
    doc.text[..start].trim_end().ends_with("!reference")
        || doc.text[start..].starts_with("!reference")
}

#[cfg(test)]
mod tests {
    use crate::scan::test_support::{images, scan_named};

    #[test]
    fn images_and_services_everywhere() {
        let text = "\
image: ruby:3.3
variables:
  DOCKER_VERSION: \"27\"
  TAG: latest
services:
  - postgres:latest
default:
  image:
    name: node:alpine
    entrypoint: ['']
build:
  stage: build
  image: docker:$DOCKER_VERSION
  services:
    - name: docker:dind
      alias: docker
  script: docker build .
.template:
  image: $CI_REGISTRY_IMAGE/builder:${TAG}
deploy:
  variables:
    TAG: v1.2.3
  image: registry.example.com/deploy:$TAG
  script: deploy
";
        let refs = scan_named(".gitlab-ci.yml", text);
        assert_eq!(
            images(&refs),
            [
                "ruby:3.3",
                "postgres:latest",
                "node:alpine",
                "docker:27",
                "docker:dind",
                "$CI_REGISTRY_IMAGE/builder:${TAG}",
                "registry.example.com/deploy:v1.2.3"
            ]
        );
        assert_eq!(refs[2].context, "default.image");
        assert_eq!(refs[4].context, "build.services[0]");
        assert_eq!(&text[refs[3].value.span_of(7..9).unwrap()], "27");
        assert_eq!(
            refs[5].unresolved.as_ref().unwrap().name,
            "CI_REGISTRY_IMAGE"
        );
        let tag = refs[6].value.span_of(28..34).unwrap();
        assert_eq!(&text[tag.clone()], "v1.2.3");
        assert!(tag.start < text.find("image: registry").unwrap());
    }

    #[test]
    fn included_files_are_known_by_their_content() {
        let text = "lint:\n  stage: test\n  image: golang:latest\n  script: [make lint]\n\
            ref:\n  stage: test\n  services: !reference [.base, services]\n  image: !reference [.img]\n  script: x\n";
        assert_eq!(images(&scan_named("ci/lint.yml", text)), ["golang:latest"]);
        assert!(scan_named("ci/other.yml", "lint:\n  script: make\n").is_empty());
    }
}
