//! TP006 unsupported-release: a release on a line past its support window. The release table
//! is the rule data's offline, and the registry's completion of it online (a newer line, where
//! the LTS channel points, the patches it lists); one check builds the finding from either. The
//! fix is unsafe: it moves to the newest patch of the line the upgrade path allows.

use super::{Diagnosis, Rule, TagFacts, Tagged};
use crate::pin::Pin;
use crate::rules::data::{ImageRules, LineKind};
use crate::rules::policy::{ReleaseTable, Support, line_key};
use crate::version::TagVersion;

/// The release a tag names, if the rule data can place it on a line, and whether it is one
/// release (`v1.0.60`) rather than the line (`v1.0`).
fn release(t: &Tagged, rules: &ImageRules) -> Option<(TagVersion, bool)> {
    let version = TagVersion::parse(t.tag, &rules.variants).filter(|v| v.is_release())?;
    // Without the scheme's prefix, the tag does not exist (TP005).
    if !rules.version_prefix.is_empty() && version.prefix.is_empty() {
        return None;
    }
    let precise = Some(version.components.len()) == rules.release_components;
    (precise || rules.is_imprecise(t.tag)).then_some((version, precise))
}

/// TP006 on a release, or on a line (`v1.0`, beside TP003); with the registry's facts the
/// table is the completed one and only tags it lists are named.
pub(crate) fn check(t: &Tagged, facts: &TagFacts) -> Option<Diagnosis> {
    let rules = t.rules?;
    let (version, precise) = release(t, rules)?;
    let data;
    let table = match facts.table {
        Some(table) => table,
        None => {
            data = ReleaseTable::new(rules, rules.releases.as_ref()?);
            &data
        }
    };
    let tags = facts.tags;
    let line = version.line();
    let ended = match table.support(&line, t.today) {
        Support::Supported { .. } => return None,
        Support::Ended {
            last_day: Some(day),
        } => format!("supported until {day}"),
        Support::Ended { last_day: None } => "superseded by a newer line".to_string(),
        Support::Unlisted => "out of support".to_string(),
    };
    let kind = match table.find(&line).map(|l| l.kind) {
        Some(LineKind::Lts) => " LTS",
        _ => "",
    };
    let targets: Vec<String> = table
        .supported(t.today)
        .into_iter()
        .filter(|l| line_key(&l.line) > line_key(&line))
        .filter_map(|l| {
            let tag = match tags {
                Some(_) => table.target(l, &version.variant, rules, tags)?,
                None => format!(
                    "{}{}",
                    l.newest
                        .clone()
                        .unwrap_or_else(|| format!("{}{}.x", rules.version_prefix, l.line)),
                    rules.variant_on(&version.variant, &l.line)
                ),
            };
            Some(match (l.kind, l.last_day) {
                (LineKind::Lts, Some(day)) => format!("{tag} (LTS until {day})"),
                _ => tag,
            })
        })
        .collect();
    let to = match targets.is_empty() {
        true => "the registry lists no release of a supported line".to_string(),
        false => format!("move to {}", targets.join(" or ")),
    };
    let message = format!("`{}` is on {line}{kind}, {ended}; {to}", t.text);
    let mut d = t.diagnosis(Rule::UnsupportedRelease, message, None);
    if let Some(upgrade) = table.upgrade(&line, t.today)
        && let Some(new_tag) = table.target(upgrade, &version.variant, rules, tags)
    {
        let name = t.name();
        let step = table
            .supported(t.today)
            .into_iter()
            .find(|l| l.requires.as_deref() == Some(upgrade.line.as_str()))
            .map(|later| format!(" ({} requires {}.x first)", later.line, upgrade.line))
            .unwrap_or_default();
        d.help = Some(format!("upgrade to `{name}:{new_tag}`{step}"));
        // A line (`v1.0`) gets no fix of its own: the TP003 pin keeps what runs, and the
        // pinned release then gets this upgrade.
        d.pin = precise.then(|| {
            Pin::unsafe_(
                format!("Pin to `{name}:{new_tag}`"),
                format!("{name}:{new_tag}"),
                new_tag,
            )
        });
    }
    Some(d)
}
