//! Other CI services, each by the keys its documentation gives for container images:
//! - Bitbucket Pipelines: `image` (a string, or a mapping's `name`) at the top level, in
//!   steps and in `definitions.services`
//!   (<https://support.atlassian.com/bitbucket-cloud/docs/docker-image-options/>;
//!   Renovate lib/modules/manager/bitbucket-pipelines/extract.ts).
//! - CircleCI: `docker[].image` of jobs and executors; `machine.image` is a VM, not a container
//!   (<https://circleci.com/docs/configuration-reference/#docker>;
//!   Renovate lib/modules/manager/circleci/extract.ts).
//! - Azure Pipelines: `resources.containers[].image`, and a job's `container` (an image, or
//!   the alias of a container resource) (<https://learn.microsoft.com/azure/devops/pipelines/yaml-schema/resources-containers-container>;
//!   Renovate lib/modules/manager/azure-pipelines/extract.ts).
//! - Woodpecker and Drone: the `image` of `steps`, `services`, `clone` and the older
//!   `pipeline` entries, as a list or a mapping (<https://woodpecker-ci.org/docs/usage/workflow-syntax>,
//!   <https://docs.drone.io/pipeline/docker/syntax/>; Renovate lib/modules/manager/woodpecker
//!   and droneci).

use super::{Doc, FileKind, Reference};
use crate::yaml::NodeId;

/// Words one of which a file holds if this scanner can find a reference in it (see
/// [`super::prefilter`]): `image`, Azure's `container` and `containers`.
pub(super) const WORDS: [&str; 2] = ["image", "container"];

pub(super) fn scan(kind: FileKind, doc: &Doc<'_>, root: NodeId, out: &mut Vec<Reference>) {
    let stream = doc.stream;
    let mappings = doc.mappings(root);
    let aliases: Vec<&str> = stream
        .get(root, "resources")
        .and_then(|r| stream.get(r, "containers"))
        .map(|list| {
            stream
                .items(list)
                .iter()
                .filter_map(|&c| stream.get(c, "container").and_then(|a| stream.scalar(a)))
                .collect()
        })
        .unwrap_or_default();
    for &(frame, mapping) in &mappings.found {
        let parent = mappings.key(doc, frame);
        let path = || mappings.path(doc, frame);
        for (key, value) in stream.entries(mapping) {
            let key = stream.scalar(key).unwrap_or("");
            let image = match (kind, key) {
                (FileKind::Bitbucket, "image") => stream.get(value, "name").or(Some(value)),
                (FileKind::Circleci, "docker") => {
                    for (i, &item) in stream.items(value).iter().enumerate() {
                        if let Some(image) = stream.get(item, "image") {
                            let context = format!("{}[{i}].image", super::join(&path(), key));
                            out.extend(doc.image(kind, image, context));
                        }
                    }
                    None
                }
                (FileKind::AzurePipelines, "image") if parent.is_none_or(|p| p != "pool") => {
                    Some(value)
                }
                (FileKind::AzurePipelines, "container")
                    if stream
                        .scalar(value)
                        .is_some_and(|alias| !aliases.contains(&alias)) =>
                {
                    Some(value)
                }
                (FileKind::Woodpecker, "image")
                    if ancestors(&mappings, doc, frame)
                        .any(|k| matches!(k, "steps" | "services" | "clone" | "pipeline")) =>
                {
                    Some(value)
                }
                _ => None,
            };
            if let Some(image) = image.filter(|&id| stream.scalar(id).is_some()) {
                out.extend(doc.image(kind, image, super::join(&path(), key)));
            }
        }
    }
}

/// The keys on the way to a frame, nearest first, up to two levels (a list, then its key).
fn ancestors<'d>(
    mappings: &super::Mappings,
    doc: &Doc<'d>,
    frame: usize,
) -> impl Iterator<Item = &'d str> {
    mappings.keys_above(doc, frame).take(2)
}

#[cfg(test)]
mod tests {
    use crate::scan::test_support::{images, scan_named};

    #[test]
    fn bitbucket_images_steps_and_services() {
        let text = "\
image: node:alpine
definitions:
  services:
    postgres:
      image: postgres:latest
    docker:
      memory: 2048
pipelines:
  default:
    - step:
        image:
          name: python:3.12
          username: $USER
        script: [pytest]
        services: [postgres]
";
        let refs = scan_named("bitbucket-pipelines.yml", text);
        assert_eq!(
            images(&refs),
            ["node:alpine", "postgres:latest", "python:3.12"]
        );
        assert_eq!(refs[1].context, "definitions.services.postgres.image");
    }

    #[test]
    fn circleci_docker_images_not_machines() {
        let text = "\
version: 2.1
orbs:
  node: circleci/node@5.2
executors:
  py:
    docker:
      - image: cimg/python:3.12
jobs:
  test:
    docker:
      - image: cimg/node:lts
      - image: redis
        auth: {username: u, password: $P}
  vm:
    machine:
      image: ubuntu-2204:current
";
        let refs = scan_named(".circleci/config.yml", text);
        assert_eq!(
            images(&refs),
            ["cimg/python:3.12", "cimg/node:lts", "redis"]
        );
        assert_eq!(refs[2].context, "jobs.test.docker[1].image");
    }

    #[test]
    fn azure_containers_and_resources() {
        let text = "\
resources:
  containers:
    - container: builder
      image: mcr.microsoft.com/dotnet/sdk:latest
pool:
  vmImage: ubuntu-latest
jobs:
  - job: a
    container: builder
  - job: b
    container: node:alpine
  - job: c
    container:
      image: python:3.12
";
        let refs = scan_named("azure-pipelines.yml", text);
        assert_eq!(
            images(&refs),
            [
                "mcr.microsoft.com/dotnet/sdk:latest",
                "node:alpine",
                "python:3.12"
            ]
        );
    }

    #[test]
    fn woodpecker_and_drone_steps() {
        let woodpecker = "\
steps:
  build:
    image: golang:latest
    commands: [go build]
services:
  - name: db
    image: postgres
when:
  image: not-an-image
";
        let refs = scan_named(".woodpecker.yml", woodpecker);
        assert_eq!(images(&refs), ["golang:latest", "postgres"]);
        let drone = "kind: pipeline\ntype: docker\nsteps:\n- name: test\n  image: node:alpine\n";
        assert_eq!(images(&scan_named(".drone.yml", drone)), ["node:alpine"]);
        let old = "pipeline:\n  build:\n    image: maven:3-jdk-11\n";
        assert_eq!(
            images(&scan_named(".woodpecker/build.yml", old)),
            ["maven:3-jdk-11"]
        );
    }
}
