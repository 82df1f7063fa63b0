//! Kubernetes manifests: the `image` of every item of a `containers`, `initContainers` or
//! `ephemeralContainers` list, wherever a pod spec sits (workloads, CronJob templates, `List`
//! items, custom resources that embed pod specs).

use super::{Doc, FileKind, Reference, join};
use crate::yaml::NodeId;

const CONTAINER_LISTS: [&str; 3] = ["containers", "initContainers", "ephemeralContainers"];

/// A document with `apiVersion` and `kind`.
pub(super) fn is_manifest(doc: &Doc<'_>, root: NodeId) -> bool {
    let stream = doc.stream;
    stream.is_mapping(root)
        && stream.get(root, "apiVersion").is_some()
        && stream.get(root, "kind").is_some()
}

pub(super) fn scan(doc: &Doc<'_>, root: NodeId, out: &mut Vec<Reference>) {
    container_images(doc, root, FileKind::Kubernetes, out);
}

/// Every container `image` under `root`; shared with the scanners of files that embed pod specs.
pub(super) fn container_images(
    doc: &Doc<'_>,
    root: NodeId,
    kind: FileKind,
    out: &mut Vec<Reference>,
) {
    let stream = doc.stream;
    let mappings = doc.mappings(root);
    for &(frame, mapping) in &mappings.found {
        for (key, list) in stream.entries(mapping) {
            let Some(name) = stream.scalar(key).filter(|k| CONTAINER_LISTS.contains(k)) else {
                continue;
            };
            for (i, &container) in stream.items(list).iter().enumerate() {
                if let Some(image) = stream.get(container, "image") {
                    let context = format!("{}[{i}].image", join(&mappings.path(doc, frame), name));
                    out.extend(doc.image(kind, image, context));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::scan::test_support::{images, scan_named};

    #[test]
    fn every_container_list_in_every_document() {
        let text = "\
apiVersion: batch/v1
kind: CronJob
spec:
  jobTemplate:
    spec:
      template:
        spec:
          initContainers:
            - name: init
              image: busybox
          containers:
            - name: main
              image: \"kestra/kestra:latest\"
---
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Pod
    spec:
      ephemeralContainers: [{name: debug, image: 'alpine:3'}]
---
apiVersion: example.com/v1
kind: Runner
spec:
  podTemplate:
    spec:
      containers:
      - image: registry.kestra.io/docker/kestra-ee:latest-lts
";
        let refs = scan_named("deploy.yaml", text);
        assert_eq!(
            images(&refs),
            [
                "busybox",
                "kestra/kestra:latest",
                "alpine:3",
                "registry.kestra.io/docker/kestra-ee:latest-lts"
            ]
        );
        assert_eq!(
            refs[0].context,
            "spec.jobTemplate.spec.template.spec.initContainers[0].image"
        );
        assert_eq!(&text[refs[1].span.clone()], "\"kestra/kestra:latest\"");
        assert_eq!(&text[refs[1].value.span_of(14..20).unwrap()], "latest");
    }

    #[test]
    fn other_image_keys_are_not_containers() {
        let text = "apiVersion: v1\nkind: ConfigMap\ndata:\n  image: nginx:latest\n";
        assert!(scan_named("cm.yaml", text).is_empty());
    }
}
