//! TP004 stale-tag: a tag that stopped moving and names no release (the rule data's `stale:`).

use super::{Diagnosis, Rule, Tagged};

pub(crate) fn check(t: &Tagged) -> Option<Diagnosis> {
    t.rules.filter(|r| r.is_stale(t.tag))?;
    let message = format!(
        "`{}` is a stale tag that no longer moves and names no release",
        t.text
    );
    Some(t.diagnosis(
        Rule::StaleTag,
        message,
        Some("pin a current release".to_string()),
    ))
}
