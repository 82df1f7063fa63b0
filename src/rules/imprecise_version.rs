//! TP003 imprecise-version: a release line (`v1.3`) where the releases have more components.
//! The fix pins the patch release it points to now (see `resolve`).

use super::{Diagnosis, Rule, Tagged};

pub(crate) fn check(t: &Tagged) -> Option<Diagnosis> {
    let rules = t.rules.filter(|r| r.is_imprecise(t.tag))?;
    let message = format!(
        "`{}` names a release line, not a release: it moves with every patch",
        t.text
    );
    let (base, variant) = rules.split_variant(t.tag);
    let help = format!("pin a patch release: `{base}.<patch>{variant}`");
    Some(t.diagnosis(Rule::ImpreciseVersion, message, Some(help)))
}
