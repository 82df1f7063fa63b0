//! TP005 unknown-tag: a tag the registry does not have. Offline, the rule data's tag scheme
//! catches a version written without its prefix (`kestra/kestra:1.0.3`); the registry's answer
//! is the truth, and its tag list gives the suggestion.

use super::{Diagnosis, Rule, Tagged};
use crate::version::TagVersion;

/// A release version written without the scheme's prefix.
pub(crate) fn check(t: &Tagged) -> Option<Diagnosis> {
    let rules = t.rules?;
    let version = TagVersion::parse(t.tag, &rules.variants).filter(|v| v.is_release())?;
    if rules.version_prefix.is_empty() || !version.prefix.is_empty() {
        return None;
    }
    let suggestion = format!("{}{}", rules.version_prefix, t.tag);
    let message = format!(
        "`{}` does not exist: the releases are tagged `{suggestion}`",
        t.text
    );
    Some(t.diagnosis(
        Rule::UnknownTag,
        message,
        Some(did_you_mean(t.name(), Some(&suggestion))),
    ))
}

/// The registry (`registry`) does not list the tag; `suggestion` is a tag it does list.
pub(crate) fn not_in_registry(t: &Tagged, registry: &str, suggestion: Option<&str>) -> Diagnosis {
    t.diagnosis(
        Rule::UnknownTag,
        not_in(t.written, registry),
        Some(did_you_mean(t.name(), suggestion)),
    )
}

pub(crate) fn not_in(written: &str, registry: &str) -> String {
    format!("`{written}` does not exist in {registry}")
}

pub(crate) fn did_you_mean(name: &str, suggestion: Option<&str>) -> String {
    match suggestion {
        Some(tag) => format!("did you mean `{name}:{tag}`?"),
        None => "pin a tag the registry has".to_string(),
    }
}
