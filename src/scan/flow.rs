//! Kestra flows (`id`, `namespace`, `tasks`): script tasks' `containerImage`, the `image` of
//! a Docker task runner (`taskRunner:`, or the older `docker:` property) and of a file sidecar
//! (`fileSidecar:` of the Kubernetes task runner and of `PodCreate`), and the containers of
//! the pod specs that `io.kestra.plugin.kubernetes` tasks create (`spec.containers`,
//! <https://kestra.io/plugins/plugin-kubernetes/core/io.kestra.plugin.kubernetes.core.podcreate>),
//! through the shared container walker.

use super::{Doc, FileKind, Reference, join, kubernetes};
use crate::yaml::NodeId;

/// Words one of which a file holds if this scanner can find a reference in it (see
/// [`super::prefilter`]): `image`, `containerImage`.
pub(super) const WORDS: [&str; 2] = ["image", "Image"];

pub(super) fn is_flow(doc: &Doc<'_>, root: NodeId) -> bool {
    let stream = doc.stream;
    stream.is_mapping(root)
        && ["id", "namespace", "tasks"]
            .iter()
            .all(|key| stream.get(root, key).is_some())
}

pub(super) fn scan(doc: &Doc<'_>, root: NodeId, out: &mut Vec<Reference>) {
    let stream = doc.stream;
    let mappings = doc.mappings(root);
    for &(frame, mapping) in &mappings.found {
        let runner = matches!(
            mappings.key(doc, frame),
            Some("taskRunner" | "docker" | "fileSidecar")
        );
        for (key, value) in stream.entries(mapping) {
            let name = stream.scalar(key).unwrap_or("");
            if name == "containerImage" || (runner && name == "image") {
                out.extend(doc.image(
                    FileKind::Flow,
                    value,
                    join(&mappings.path(doc, frame), name),
                ));
            }
        }
    }
    kubernetes::container_images(doc, &mappings, FileKind::Flow, out);
}

#[cfg(test)]
mod tests {
    use crate::scan::test_support::{images, scan_named};

    #[test]
    fn kubernetes_tasks_pods_and_runners() {
        let text = "\
id: k8s
namespace: company.team
tasks:
  - id: pod
    type: io.kestra.plugin.kubernetes.core.PodCreate
    fileSidecar:
      image: busybox
    spec:
      initContainers:
        - name: init
          image: alpine:3.20
      containers:
        - name: unittest
          image: debian:stable-slim
  - id: script
    type: io.kestra.plugin.scripts.shell.Commands
    containerImage: ubuntu:24.04
    taskRunner:
      type: io.kestra.plugin.ee.kubernetes.runner.Kubernetes
      fileSidecar:
        image: busybox:1.37
";
        let refs = scan_named("templates/k8s.yaml", text);
        assert_eq!(
            images(&refs),
            [
                "busybox",
                "alpine:3.20",
                "debian:stable-slim",
                "ubuntu:24.04",
                "busybox:1.37"
            ]
        );
        assert_eq!(refs[2].context, "tasks[0].spec.containers[0].image");
    }

    #[test]
    fn container_images_and_docker_runners() {
        let text = "\
id: etl
namespace: company.team
tasks:
  - id: py
    type: io.kestra.plugin.scripts.python.Script
    containerImage: ghcr.io/kestra-io/pydata:latest
    taskRunner:
      type: io.kestra.plugin.scripts.runner.docker.Docker
      image: python:3.12-slim
  - id: run
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner:
      type: io.kestra.plugin.scripts.runner.docker.Docker
    docker:
      image: ubuntu
  - id: dyn
    type: io.kestra.plugin.scripts.python.Script
    containerImage: \"{{ inputs.image }}\"
";
        let refs = scan_named("flows/etl.yaml", text);
        assert_eq!(refs.len(), 4);
        assert_eq!(
            images(&refs),
            [
                "ghcr.io/kestra-io/pydata:latest",
                "python:3.12-slim",
                "ubuntu",
                "{{ inputs.image }}"
            ]
        );
        assert_eq!(refs[0].context, "tasks[0].containerImage");
        assert_eq!(refs[3].unresolved.as_ref().unwrap().name, "inputs.image");
    }
}
