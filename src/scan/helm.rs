//! Helm values: the split form `{registry?, repository, tag?, digest?}`, Kestra's older
//! `{image, tag}`, and plain `image: "repo:tag"` strings, at any depth.
//!
//! `tag: ""`, null or left out renders the chart's `appVersion` (charts write
//! `.Values.image.tag | default .Chart.AppVersion`), which the chart version pins: such a
//! reference is marked [`Reference::chart_tag`] and is no finding.

use super::{Doc, FileKind, Reference, join};
use crate::yaml::NodeId;

/// Words one of which a file holds if this scanner can find a reference in it (see
/// [`super::prefilter`]): `image`, `…Image` keys, and the split form's `repository`.
pub(super) const WORDS: [&str; 3] = ["image", "Image", "repository"];

pub(super) fn scan(doc: &Doc<'_>, root: NodeId, out: &mut Vec<Reference>) {
    let stream = doc.stream;
    let mappings = doc.mappings(root);
    for &(frame, mapping) in &mappings.found {
        let entries = stream.entries(mapping);
        // Most mappings hold no key of an image: one look at the keys spares the rest.
        if !entries.iter().any(|&(key, _)| {
            stream
                .scalar(key)
                .is_some_and(|k| k == "repository" || is_image_key(k))
        }) {
            continue;
        }
        let path = || mappings.path(doc, frame);
        if let Some(reference) = split_form(doc, mapping, path) {
            out.push(reference);
            continue;
        }
        for &(key, value) in entries.iter() {
            let Some(name) = stream.scalar(key).filter(|k| is_image_key(k)) else {
                continue;
            };
            if stream
                .scalar(value)
                .is_some_and(|v| !matches!(v, "true" | "false") && !is_picture(v))
            {
                out.extend(doc.image(FileKind::Helm, value, join(&path(), name)));
            }
        }
    }
}

/// `image`, or a camelCase name ending in `Image` (`initImage`, `sidecarImage`).
fn is_image_key(key: &str) -> bool {
    key == "image"
        || key
            .strip_suffix("Image")
            .is_some_and(|p| p.ends_with(|c: char| c.is_ascii_lowercase()))
}

/// A picture, not a container image: a URL (`https://…/bg.png`, `data:…`) or a picture file
/// (`logoImage: logo.svg`).
fn is_picture(value: &str) -> bool {
    const PICTURES: [&str; 9] = [
        ".svg", ".png", ".jpg", ".jpeg", ".gif", ".webp", ".ico", ".bmp", ".avif",
    ];
    let lower = value.to_ascii_lowercase();
    lower.contains("://")
        || lower.starts_with("data:")
        || PICTURES.iter().any(|ext| lower.ends_with(ext))
}

/// `repository` (with optional `registry`, `tag`, `digest`/`sha`), or `image` + `tag`.
fn split_form(doc: &Doc<'_>, mapping: NodeId, path: impl Fn() -> String) -> Option<Reference> {
    let stream = doc.stream;
    let scalar = |key: &str| {
        stream
            .get(mapping, key)
            .filter(|&id| stream.scalar(id).is_some())
    };
    let filled = |key: &str| {
        scalar(key).filter(|&id| !stream.is_null(id) && !stream.scalar(id).unwrap().is_empty())
    };
    // `imageTag` beside `image` is the Elastic charts' form.
    let image_tag = scalar("tag").or_else(|| scalar("imageTag"));
    let (name_key, name, tag) = match (filled("repository"), filled("image")) {
        (Some(repository), _) => ("repository", repository, scalar("tag")),
        // Kestra's older chart: `image: {image: kestra/kestra, tag?, pullPolicy}`.
        (None, Some(image))
            if image_tag.is_some() || stream.get(mapping, "pullPolicy").is_some() =>
        {
            ("image", image, image_tag)
        }
        _ => return None,
    };
    let tag_filled =
        tag.filter(|&id| !stream.is_null(id) && !stream.scalar(id).unwrap().is_empty());
    let digest = filled("digest").or_else(|| filled("sha"));
    let mut parts = Vec::new();
    match filled("registry").filter(|_| name_key == "repository") {
        Some(registry) => parts.extend([("", registry), ("/", name)]),
        None => parts.push(("", name)),
    }
    parts.extend(tag_filled.map(|tag| (":", tag)));
    // `sha:` holds the hex alone in some charts.
    let digest_separator = |id: NodeId| {
        if stream.scalar(id).is_some_and(|d| d.contains(':')) {
            "@"
        } else {
            "@sha256:"
        }
    };
    parts.extend(digest.map(|id| (digest_separator(id), id)));
    let mut reference = doc.assembled(FileKind::Helm, name, join(&path(), name_key), &parts)?;
    let written_tag = stream.scalar(name).is_some_and(|n| {
        n.contains('@') || n.rsplit('/').next().is_some_and(|last| last.contains(':'))
    });
    reference.chart_tag = tag_filled.is_none() && digest.is_none() && !written_tag;
    Some(reference)
}

#[cfg(test)]
mod tests {
    use crate::scan::test_support::{images, scan_named};

    #[test]
    fn split_forms_old_and_new() {
        let text = "\
image:
  repository: kestra/kestra
  pullPolicy: IfNotPresent
  tag: \"\"
old:
  image:
    image: kestra/kestra
    tag: latest
bitnami:
  image:
    registry: docker.io
    repository: bitnami/nginx
    tag: 1.27.3-debian-12-r0
    digest: \"\"
dind:
  image: {repository: docker, tag: dind-rootless}
nulltag:
  image:
    repository: grafana/loki
    tag: null
notag:
  image:
    repository: busybox
kestra022:
  image:
    image: kestra/kestra
    pullPolicy: Always
logstash:
  image: grafana/logstash-output-loki
  imageTag: 1.0.1
written:
  image: busybox:latest
  pullPolicy: Always
sidecar:
  image: \"curlimages/curl:latest\"
  initImage: alpine
  enabled: true
";
        let refs = scan_named("values.yaml", text);
        assert_eq!(
            images(&refs),
            [
                "kestra/kestra",
                "kestra/kestra:latest",
                "docker.io/bitnami/nginx:1.27.3-debian-12-r0",
                "docker:dind-rootless",
                "grafana/loki",
                "busybox",
                "kestra/kestra",
                "grafana/logstash-output-loki:1.0.1",
                "busybox:latest",
                "curlimages/curl:latest",
                "alpine"
            ]
        );
        let chart_tags: Vec<bool> = refs.iter().map(|r| r.chart_tag).collect();
        assert_eq!(
            chart_tags,
            [
                true, false, false, false, true, true, true, false, false, false, false
            ]
        );
        let old = &refs[1];
        assert_eq!(&text[old.value.span_of(14..20).unwrap()], "latest");
        assert_eq!(&text[old.span.clone()], "kestra/kestra");
    }

    #[test]
    fn pictures_are_not_images() {
        let text = "\
ui:
  logoImage: logo.svg
  backgroundImage: https://example.com/assets/bg.png
  faviconImage: data:image/png;base64,iVBORw0KGgo=
  image: nginx:latest
  avatarImage: /static/Avatar.JPG
";
        assert_eq!(images(&scan_named("values.yaml", text)), ["nginx:latest"]);
    }

    #[test]
    fn templated_values_are_unresolved() {
        let text = "image:\n  repository: app\n  tag: \"{{ .Chart.AppVersion }}\"\nb:\n  image: x:${TAG}\n";
        let refs = scan_named("values.yaml", text);
        assert_eq!(
            refs[0].unresolved.as_ref().unwrap().name,
            ".Chart.AppVersion"
        );
        let variable = refs[1].unresolved.as_ref().unwrap();
        assert_eq!(&text[variable.span.clone()], "${TAG}");
    }
}
