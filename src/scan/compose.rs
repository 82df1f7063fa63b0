//! Compose files: `services.*.image`, through anchors, `<<` merges and `x-` blocks, with
//! `${VAR:-default}` taken at its default. A service that also has `build:` is built here, and
//! its `image:` is the name the build is tagged with
//! (<https://github.com/compose-spec/compose-spec/blob/main/build.md>): no reference.

use std::cell::RefCell;

use super::{Doc, FileKind, Reference, Value};
use crate::yaml::NodeId;

/// Words one of which a file holds if this scanner can find a reference in it (see
/// [`super::prefilter`]): a service's `image`.
pub(super) const WORDS: [&str; 1] = ["image"];

/// A top-level `services:` whose entries are mappings.
pub(super) fn is_compose(doc: &Doc<'_>, root: NodeId) -> bool {
    let stream = doc.stream;
    stream.is_mapping(root)
        && stream.get(root, "services").is_some_and(|services| {
            let entries = stream.entries(services);
            !entries.is_empty()
                && entries
                    .iter()
                    .all(|&(_, service)| stream.is_mapping(service))
        })
}

/// `lookup` gives the values of the `.env` beside the file; a reference that takes one names
/// the variables it took in [`Reference::from_env`].
pub(super) fn scan(
    doc: &Doc<'_>,
    root: NodeId,
    lookup: &dyn Fn(&str) -> Option<Value>,
    out: &mut Vec<Reference>,
) {
    let stream = doc.stream;
    if !stream.is_mapping(root) {
        return;
    }
    let Some(services) = stream.get(root, "services") else {
        return;
    };
    for (name, service) in stream.entries(services) {
        // Beside `build:`, `image:` names the local build: a pin would label it a release.
        let Some(image) = stream
            .get(service, "image")
            .filter(|_| stream.get(service, "build").is_none())
        else {
            continue;
        };
        let name = stream.scalar(name).unwrap_or("?");
        let context = format!("services.{name}.image");
        let used = RefCell::new(Vec::new());
        let tracked = |variable: &str| {
            let value = lookup(variable)?;
            used.borrow_mut().push(variable.to_string());
            Some(value)
        };
        if let Some(mut reference) = doc.image_with(FileKind::Compose, image, context, &tracked) {
            reference.from_env = used.into_inner();
            out.push(reference);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::scan::test_support::{images, scan_named};

    #[test]
    fn services_images_with_anchors_merges_and_defaults() {
        let text = "\
x-kestra: &kestra
  image: kestra/kestra:latest
  pull_policy: always
services:
  kestra:
    <<: *kestra
  worker:
    <<: *kestra
  postgres:
    image: postgres
  pinned:
    image: \"kestra/kestra:${KESTRA_VERSION:-v1.3}\"
  env:
    image: kestra/kestra:${TAG}
  build-only:
    build: .
  local:
    build: ./app
    image: company/app:latest
";
        let refs = scan_named("compose.yaml", text);
        assert_eq!(
            images(&refs),
            [
                "kestra/kestra:latest",
                "postgres",
                "kestra/kestra:v1.3",
                "kestra/kestra:${TAG}"
            ]
        );
        assert_eq!(&text[refs[0].span.clone()], "kestra/kestra:latest");
        let pinned = &refs[2];
        let tag = pinned.value.span_of(14..18).unwrap();
        assert_eq!(&text[tag], "v1.3");
        let unresolved = refs[3].unresolved.as_ref().unwrap();
        assert_eq!(unresolved.name, "TAG");
        assert_eq!(&text[unresolved.span.clone()], "${TAG}");
    }

    #[test]
    fn content_decides_for_other_yaml_names() {
        let refs = scan_named("stack.yml", "services:\n  web:\n    image: nginx:latest\n");
        assert_eq!(images(&refs), ["nginx:latest"]);
        assert!(scan_named("stack.yml", "services: [a]\n").is_empty());
    }
}
