//! TP005 unknown-tag: a tag the registry does not have. The registry's answer is the truth, and
//! its tag list gives the suggestion; offline, the rule data's tag scheme catches a version
//! written without its prefix (`kestra/kestra:1.0.3`).

use super::{Diagnosis, Rule, TagFacts, Tagged};
use crate::rules::data::ImageRules;
use crate::rules::policy::existing_on;
use crate::version::TagVersion;

pub(crate) fn check(t: &Tagged, facts: &TagFacts) -> Option<Diagnosis> {
    match facts.exists {
        Some(true) => None,
        Some(false) => {
            let tags = facts.tags.unwrap_or_default();
            let scheme = by_scheme(t).filter(|(_, tag)| tags.contains(tag));
            Some(match scheme {
                Some((d, _)) => d,
                None => t.diagnosis(
                    Rule::UnknownTag,
                    format!("`{}` does not exist in {}", t.written, t.image.registry),
                    Some(did_you_mean(
                        t.name(),
                        suggestion(t.tag, tags, t.rules).as_deref(),
                    )),
                ),
            })
        }
        None => by_scheme(t).map(|(d, _)| d),
    }
}

/// A release version written without the scheme's prefix, and the tag the scheme gives it.
fn by_scheme(t: &Tagged) -> Option<(Diagnosis, String)> {
    let rules = t.rules?;
    let version = TagVersion::parse(t.tag, &rules.variants).filter(|v| v.is_release())?;
    if rules.version_prefix.is_empty() || !version.prefix.is_empty() {
        return None;
    }
    let tag = format!("{}{}", rules.version_prefix, t.tag);
    let message = format!(
        "`{}` does not exist: the releases are tagged `{tag}`",
        t.text
    );
    let help = did_you_mean(t.name(), Some(&tag));
    Some((t.diagnosis(Rule::UnknownTag, message, Some(help)), tag))
}

/// The listed tag a missing one most likely meant: a renamed variant (`v2.0.5-no-plugins` →
/// `v2.0.5-slim`), the newest release of its line, else the nearest by spelling.
fn suggestion(tag: &str, tags: &[String], rules: Option<&ImageRules>) -> Option<String> {
    if let Some(rules) = rules {
        let prefixed = format!("{}{tag}", rules.version_prefix);
        for candidate in [tag, &prefixed] {
            let Some(version) = TagVersion::parse(candidate, &rules.variants) else {
                continue;
            };
            let renamed = rules.variant_on(&version.variant, &version.line());
            let base = &candidate[..candidate.len() - version.variant.len()];
            let target = format!("{base}{renamed}");
            if renamed != version.variant && tags.contains(&target) {
                return Some(target);
            }
            if version.is_release()
                && let Some(newest) = existing_on(tags, rules, &version.line(), &version.variant)
            {
                return Some(newest);
            }
        }
    }
    crate::suggest::closest(tag, tags.iter().map(String::as_str)).map(str::to_string)
}

fn did_you_mean(name: &str, suggestion: Option<&str>) -> String {
    match suggestion {
        Some(tag) => format!("did you mean `{name}:{tag}`?"),
        None => "pin a tag the registry has".to_string(),
    }
}
