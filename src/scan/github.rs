//! GitHub Actions: workflows (`.github/workflows/*.yml`) and actions (`action.yml`).
//!
//! Images sit in `jobs.<id>.container` (a string, or a mapping's `image`),
//! `jobs.<id>.services.<id>.image`, and `uses: docker://image:tag` steps
//! (<https://docs.github.com/en/actions/writing-workflows/workflow-syntax-for-github-actions>);
//! a Docker action's `runs.image: docker://…`, and a composite action's steps
//! (<https://docs.github.com/en/actions/sharing-automations/creating-actions/metadata-syntax-for-github-actions#runs-for-docker-container-actions>).
//! Renovate reads the same places (lib/modules/manager/github-actions/extract.ts). `runs-on`
//! labels and `owner/action@ref` are no images; `runs.image: Dockerfile` is a path.

use super::{Doc, FileKind, Reference};
use crate::yaml::NodeId;

const DOCKER: &str = "docker://";

/// Words one of which a file holds if this scanner can find a reference in it (see
/// [`super::prefilter`]): `image`, a string `container`, `docker://` steps.
pub(super) const WORDS: [&str; 3] = ["image", "container", DOCKER];

pub(super) fn scan(doc: &Doc<'_>, root: NodeId, out: &mut Vec<Reference>) {
    let stream = doc.stream;
    if !stream.is_mapping(root) {
        return;
    }
    let kind = FileKind::GithubActions;
    if let Some(runs) = stream.get(root, "runs") {
        if let Some(image) = stream.get(runs, "image") {
            out.extend(doc.image_after(kind, image, DOCKER, "runs.image".into()));
        }
        steps(doc, runs, "runs", out);
    }
    let Some(jobs) = stream.get(root, "jobs") else {
        return;
    };
    for (name, job) in stream.entries(jobs) {
        let path = format!("jobs.{}", stream.scalar(name).unwrap_or("?"));
        if let Some(container) = stream.get(job, "container") {
            match stream.get(container, "image") {
                Some(image) => {
                    out.extend(doc.image(kind, image, format!("{path}.container.image")))
                }
                None if stream.scalar(container).is_some() => {
                    out.extend(doc.image(kind, container, format!("{path}.container")))
                }
                None => {}
            }
        }
        if let Some(services) = stream.get(job, "services") {
            for (service, definition) in stream.entries(services) {
                if let Some(image) = stream.get(definition, "image") {
                    let service = stream.scalar(service).unwrap_or("?");
                    out.extend(doc.image(kind, image, format!("{path}.services.{service}.image")));
                }
            }
        }
        steps(doc, job, &path, out);
    }
}

/// `uses: docker://…` steps of a job or a composite action.
fn steps(doc: &Doc<'_>, parent: NodeId, path: &str, out: &mut Vec<Reference>) {
    let stream = doc.stream;
    let Some(steps) = stream.get(parent, "steps") else {
        return;
    };
    for (i, &step) in stream.items(steps).iter().enumerate() {
        if let Some(uses) = stream.get(step, "uses") {
            let context = format!("{path}.steps[{i}].uses");
            out.extend(doc.image_after(FileKind::GithubActions, uses, DOCKER, context));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::scan::test_support::{images, scan_named};

    #[test]
    fn containers_services_and_docker_steps() {
        let text = "\
on: push
jobs:
  test:
    runs-on: ubuntu-latest
    container: node:alpine
    services:
      db:
        image: postgres:latest
        ports: ['5432:5432']
      cache:
        image: ${{ matrix.cache }}
    steps:
      - uses: actions/checkout@v4
      - uses: docker://alpine:3.20
      - uses: 'docker://ghcr.io/org/tool'
  build:
    runs-on: [self-hosted, linux]
    container:
      image: \"kestra/kestra:latest\"
      options: --cpus 1
";
        let refs = scan_named(".github/workflows/ci.yml", text);
        assert_eq!(
            images(&refs),
            [
                "node:alpine",
                "postgres:latest",
                "${{ matrix.cache }}",
                "alpine:3.20",
                "ghcr.io/org/tool",
                "kestra/kestra:latest"
            ]
        );
        assert_eq!(refs[0].context, "jobs.test.container");
        assert_eq!(refs[1].context, "jobs.test.services.db.image");
        assert_eq!(refs[2].unresolved.as_ref().unwrap().name, "matrix.cache");
        assert_eq!(
            &text[refs[2].unresolved.as_ref().unwrap().span.clone()],
            "${{ matrix.cache }}"
        );
        assert_eq!(&text[refs[3].value.span_of(0..11).unwrap()], "alpine:3.20");
        assert_eq!(
            &text[refs[4].value.span_of(0..16).unwrap()],
            "ghcr.io/org/tool"
        );
        assert_eq!(refs[3].context, "jobs.test.steps[1].uses");
    }

    #[test]
    fn docker_and_composite_actions() {
        let text = "\
name: lint
runs:
  using: docker
  image: docker://hadolint/hadolint:latest
";
        assert_eq!(
            images(&scan_named("action.yml", text)),
            ["hadolint/hadolint:latest"]
        );
        let dockerfile = "runs:\n  using: docker\n  image: Dockerfile\n";
        assert!(scan_named("action.yaml", dockerfile).is_empty());
        let composite = "runs:\n  using: composite\n  steps:\n    - uses: docker://busybox\n";
        assert_eq!(
            images(&scan_named("sub/action.yml", composite)),
            ["busybox"]
        );
    }
}
