//! TP008 digest-mismatch: `tag@digest` where the tag no longer points to the digest (or the
//! registry has no such digest). The fix re-pins the digest the tag has now (unsafe).

use super::{Diagnosis, DigestFacts, Rule, Tagged};
use crate::pin::{Applicability, Pin};

pub(crate) fn check(t: &Tagged, digest: &str, facts: &DigestFacts) -> Option<Diagnosis> {
    if t.tag.is_empty() {
        return (!facts.pinned_exists).then(|| missing(t));
    }
    let current = facts.current.as_deref().filter(|c| *c != digest)?;
    let tag = t.tag;
    let message = format!(
        "`{}:{tag}@{}…` is pinned to a digest `{tag}` no longer points to",
        t.name(),
        short(digest)
    );
    let help = format!("`{tag}` now points to `{current}`: check what changed, then re-pin");
    let mut d = t.diagnosis(Rule::DigestMismatch, message, Some(help));
    d.pin = Some(repin(t, current, Applicability::Unsafe));
    Some(d)
}

/// The registry has no manifest of the pinned digest.
fn missing(t: &Tagged) -> Diagnosis {
    let registry = &t.image.registry;
    let message = format!("`{}` names a digest {registry} does not have", t.written);
    t.diagnosis(
        Rule::DigestMismatch,
        message,
        Some("pin a digest that exists".into()),
    )
}

/// A digest as quoted in a message.
pub(crate) fn short(digest: &str) -> String {
    digest.chars().take(19).collect()
}

/// Point the digest pin at `digest`.
pub(crate) fn repin(t: &Tagged, digest: &str, applicability: Applicability) -> Pin {
    Pin::applicable(
        format!("Pin to `{digest}`"),
        format!("{}:{}@{digest}", t.name(), t.tag),
        digest.to_string(),
        applicability,
    )
    .with_digest(digest)
}
