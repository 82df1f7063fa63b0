//! Kustomizations: `images:` entries that set `newTag` or `digest` (an entry that only renames
//! an image pins nothing, so it is no reference). Which manifests such an entry pins is
//! `src/kustomizations.rs`'s question.

use super::{Doc, FileKind, Reference};
use crate::yaml::NodeId;

/// Words one of which a file holds if this scanner can find a reference in it (see
/// [`super::prefilter`]): `images`.
pub(super) const WORDS: [&str; 1] = ["image"];

pub(super) fn scan(doc: &Doc<'_>, root: NodeId, out: &mut Vec<Reference>) {
    let stream = doc.stream;
    if !stream.is_mapping(root) {
        return;
    }
    let Some(images) = stream.get(root, "images") else {
        return;
    };
    for (i, &entry) in stream.items(images).iter().enumerate() {
        let field = |key: &str| {
            stream
                .get(entry, key)
                .filter(|&id| stream.scalar(id).is_some_and(|v| !v.is_empty()))
        };
        let (new_tag, digest) = (field("newTag"), field("digest"));
        if new_tag.is_none() && digest.is_none() {
            continue;
        }
        let (key, name) = match (field("newName"), field("name")) {
            (Some(new_name), _) => ("newName", new_name),
            (None, Some(name)) => ("name", name),
            (None, None) => continue,
        };
        let parts: Vec<(&str, NodeId)> = [("", Some(name)), (":", new_tag), ("@", digest)]
            .into_iter()
            .filter_map(|(sep, id)| Some((sep, id?)))
            .collect();
        out.extend(doc.assembled(
            FileKind::Kustomize,
            name,
            format!("images[{i}].{key}"),
            &parts,
        ));
    }
}

#[cfg(test)]
mod tests {
    use crate::scan::test_support::{images, scan_named};

    #[test]
    fn entries_with_tags_or_digests() {
        let text = "\
images:
- name: kestra/kestra
  newTag: latest
- name: postgres
  newName: my.registry/postgres
  newTag: \"16\"
- name: nginx
  newName: my.registry/nginx
- name: redis
  digest: sha256:24a0c4b4a4c0eb97a1aabb8e29f18e917d05abfe1b7a7c07857230879ce7d3d3
";
        let refs = scan_named("kustomization.yaml", text);
        assert_eq!(
            images(&refs),
            [
                "kestra/kestra:latest",
                "my.registry/postgres:16",
                "redis@sha256:24a0c4b4a4c0eb97a1aabb8e29f18e917d05abfe1b7a7c07857230879ce7d3d3"
            ]
        );
        assert_eq!(&text[refs[0].value.span_of(14..20).unwrap()], "latest");
        assert_eq!(refs[1].context, "images[1].newName");
    }
}
