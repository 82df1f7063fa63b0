//! Kubernetes manifests: the `image` of every container, wherever a pod spec or a container
//! sits: workloads, CronJob templates, `List` items, and custom resources that embed
//! containers. Workflow engines on Kubernetes write containers under other keys:
//! Argo Workflows' templates have `container`, `script`, `containerSet.containers`,
//! `initContainers` and `sidecars`
//! (<https://argo-workflows.readthedocs.io/en/latest/fields/#template>); Tekton's Tasks have
//! `steps`, `sidecars` and `stepTemplate`
//! (<https://tekton.dev/docs/pipelines/tasks/#configuring-a-task>). So any mapping under one
//! of those keys, or any item of one of those lists, that holds an `image` is a container
//! (as Renovate's `kubernetes` manager takes any `image:` of a manifest, lib/modules/manager/
//! kubernetes/extract.ts).

use super::{Doc, FileKind, Mappings, Reference, Value, Variable, join};
use crate::yaml::NodeId;

/// Words one of which a file holds if this scanner can find a reference in it (see
/// [`super::prefilter`]): every reference is under an `image` key.
pub(super) const WORDS: [&str; 1] = ["image"];

/// Keys whose list items are containers.
const CONTAINER_LISTS: [&str; 5] = [
    "containers",
    "initContainers",
    "ephemeralContainers",
    "sidecars",
    "steps",
];
/// Keys whose value is one container.
const CONTAINERS: [&str; 3] = ["container", "script", "stepTemplate"];

/// A document with `apiVersion` and `kind`.
pub(super) fn is_manifest(doc: &Doc<'_>, root: NodeId) -> bool {
    let stream = doc.stream;
    stream.is_mapping(root)
        && stream.get(root, "apiVersion").is_some()
        && stream.get(root, "kind").is_some()
}

pub(super) fn scan(doc: &Doc<'_>, root: NodeId, out: &mut Vec<Reference>) {
    let from = out.len();
    let mappings = doc.mappings(root);
    container_images(doc, &mappings, FileKind::Kubernetes, out);
    let params = params(doc, &mappings);
    for reference in &mut out[from..] {
        substitute_params(reference, &params);
    }
}

/// Tekton's parameters with a default (`spec.params[]`, and `inputs.params[]` of the older
/// API), anywhere in the document: `$(params.NAME)` in an image takes that default
/// (<https://tekton.dev/docs/pipelines/variables/>), so the tag is reported and fixed where the
/// default is written.
fn params(doc: &Doc<'_>, mappings: &Mappings) -> Vec<(String, Value)> {
    let stream = doc.stream;
    let mut out = Vec::new();
    for &(_, mapping) in &mappings.found {
        let Some(list) = stream.get(mapping, "params") else {
            continue;
        };
        for &param in stream.items(list) {
            let name = stream.get(param, "name").and_then(|n| stream.scalar(n));
            let default = stream.get(param, "default").and_then(|d| doc.value(d));
            if let (Some(name), Some(default)) = (name, default) {
                out.push((name.to_string(), default));
            }
        }
    }
    out
}

/// `$(params.NAME)` / `$(inputs.params.NAME)` replaced by the parameter's default; any other
/// `$(…)` (a result, a context variable) leaves the reference unresolved.
fn substitute_params(reference: &mut Reference, params: &[(String, Value)]) {
    let value = &reference.value;
    if reference.unresolved.is_some() || !value.text.contains("$(") {
        return;
    }
    let mut out = Value::default();
    let mut at = 0;
    while let Some(start) = value.text[at..].find("$(").map(|i| at + i) {
        let Some(end) = value.text[start..].find(')').map(|i| start + i + 1) else {
            break;
        };
        let expression = &value.text[start + 2..end - 1];
        let name = expression
            .strip_prefix("params.")
            .or_else(|| expression.strip_prefix("inputs.params."));
        let Some((_, default)) = name.and_then(|n| params.iter().find(|(p, _)| p == n)) else {
            reference.unresolved = Some(Variable {
                name: expression.to_string(),
                span: value.span_of(start..end).unwrap_or(reference.span.clone()),
            });
            return;
        };
        out.append(&value.slice(at..start));
        out.append(default);
        at = end;
    }
    out.append(&value.from(at));
    reference.set_value(out);
}

/// Every container `image` in `mappings` (a document's); shared with the scanners of files that
/// embed pod specs.
pub(super) fn container_images(
    doc: &Doc<'_>,
    mappings: &Mappings,
    kind: FileKind,
    out: &mut Vec<Reference>,
) {
    let stream = doc.stream;
    for &(frame, mapping) in &mappings.found {
        for (key, value) in stream.entries(mapping) {
            let Some(name) = stream.scalar(key) else {
                continue;
            };
            if CONTAINERS.contains(&name) {
                if let Some(image) = stream.get(value, "image") {
                    let context = format!("{}.image", join(&mappings.path(doc, frame), name));
                    out.extend(doc.image(kind, image, context));
                }
                continue;
            }
            if !CONTAINER_LISTS.contains(&name) {
                continue;
            }
            for (i, &container) in stream.items(value).iter().enumerate() {
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
    fn argo_workflow_templates() {
        let text = "\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
spec:
  templates:
  - name: main
    container:
      image: alpine:3.20
    initContainers:
    - name: init
      image: busybox
    sidecars:
    - name: db
      image: postgres:latest
  - name: py
    script:
      image: python:alpine
      source: print(1)
  - name: set
    containerSet:
      containers:
      - name: a
        image: argoproj/argosay:v2
  - name: steps
    steps:
    - - name: hello
        template: main
";
        let refs = scan_named("workflow.yaml", text);
        assert_eq!(
            images(&refs),
            [
                "alpine:3.20",
                "busybox",
                "postgres:latest",
                "python:alpine",
                "argoproj/argosay:v2"
            ]
        );
        assert_eq!(refs[3].context, "spec.templates[1].script.image");
    }

    #[test]
    fn tekton_steps_sidecars_and_step_template() {
        let text = "\
apiVersion: tekton.dev/v1
kind: Task
spec:
  stepTemplate:
    image: ubuntu
  steps:
  - name: build
    image: gcr.io/kaniko-project/executor:latest
  - name: test
    script: echo hi
  sidecars:
  - name: docker
    image: docker:dind
";
        let refs = scan_named("task.yaml", text);
        assert_eq!(
            images(&refs),
            [
                "ubuntu",
                "gcr.io/kaniko-project/executor:latest",
                "docker:dind"
            ]
        );
        assert_eq!(refs[0].context, "spec.stepTemplate.image");
        assert_eq!(refs[2].context, "spec.sidecars[0].image");
    }

    #[test]
    fn tekton_params_take_their_defaults() {
        let text = "\
apiVersion: tekton.dev/v1beta1
kind: Task
spec:
  params:
    - name: BUILDER_IMAGE
      default: gcr.io/kaniko-project/executor:latest
    - name: version
      default: \"1.22\"
    - name: other
  steps:
    - image: $(params.BUILDER_IMAGE)
    - image: docker.io/library/golang:$(inputs.params.version)-alpine
    - image: $(params.other)
";
        let refs = scan_named("task.yaml", text);
        assert_eq!(
            images(&refs),
            [
                "gcr.io/kaniko-project/executor:latest",
                "docker.io/library/golang:1.22-alpine",
                "$(params.other)"
            ]
        );
        let tag = refs[0].value.span_of(31..37).unwrap();
        assert_eq!(&text[tag.clone()], "latest");
        assert!(tag.start < text.find("steps:").unwrap());
        assert_eq!(
            refs[1].value.span_of(0..24),
            Some(text.find("docker.io").unwrap()..text.find("docker.io").unwrap() + 24)
        );
        let unresolved = refs[2].unresolved.as_ref().unwrap();
        assert_eq!(unresolved.name, "params.other");
    }

    #[test]
    fn other_image_keys_are_not_containers() {
        let text = "apiVersion: v1\nkind: ConfigMap\ndata:\n  image: nginx:latest\n";
        assert!(scan_named("cm.yaml", text).is_empty());
    }
}
