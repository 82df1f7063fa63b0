//! TP013 unversioned-tag: a tag with no version in it (`redis:alpine`, `docker:dind`). The fix
//! pins the release it points to now (see `resolve`).

use super::{Diagnosis, Rule, Tagged};

pub(crate) fn check(t: &Tagged) -> Option<Diagnosis> {
    if !is_unversioned(t.tag) {
        return None;
    }
    let message = format!("`{}` names no version: it moves with every release", t.text);
    let name = &t.written[t.image.name_range.clone()];
    let help = format!(
        "pin a release of this variant (`{name}:<version>-{}`) or the digest",
        t.tag
    );
    Some(t.diagnosis(Rule::UnversionedTag, message, Some(help)))
}

/// No digit, so no version (`alpine`, `bookworm`, `dind`); an all-capitals tag
/// (`CONTAINER_IMAGES_TAG`) is a placeholder a script replaces, not a tag that moves.
fn is_unversioned(tag: &str) -> bool {
    !tag.contains(|c: char| c.is_ascii_digit()) && tag.contains(|c: char| c.is_ascii_lowercase())
}
