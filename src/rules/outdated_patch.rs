//! TP007 outdated-patch: the registry lists a newer patch on the pinned tag's line, in its
//! variant. The fix moves to it (unsafe: what runs changes).

use super::{Diagnosis, Rule, TagFacts, Tagged};
use crate::pin::Pin;
use crate::rules::policy::newest_on;
use crate::version::TagVersion;

pub(crate) fn check(t: &Tagged, facts: &TagFacts) -> Option<Diagnosis> {
    let (rules, tags) = (t.rules?, facts.tags?);
    let version = TagVersion::parse(t.tag, &rules.variants).filter(|v| v.is_release())?;
    let components = version.components.len();
    if Some(components) != rules.release_components {
        return None;
    }
    let (line, variant) = (version.line(), &version.variant);
    let patch = newest_on(
        tags,
        &rules.variants,
        &version.prefix,
        components,
        &line,
        variant,
    )?;
    let newer = TagVersion::parse(&patch, &rules.variants)?;
    if newer.semver() <= version.semver() {
        return None;
    }
    let name = t.name();
    let message = format!("`{}`: {patch} is out (same line)", t.written);
    let help = format!("patches carry security fixes: move to `{name}:{patch}`");
    let mut d = t.diagnosis(Rule::OutdatedPatch, message, Some(help));
    d.pin = Some(Pin::unsafe_(
        format!("Move to `{patch}`"),
        format!("{name}:{patch}"),
        patch,
    ));
    Some(d)
}
