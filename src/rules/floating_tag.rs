//! TP002 floating-tag: a moving channel (`latest`, `stable`, the rule data's `moving:`). The
//! fix pins the release the channel points to now (see `resolve`).

use super::{Diagnosis, Rule, Tagged};

pub(crate) fn check(t: &Tagged) -> Option<Diagnosis> {
    let moving =
        t.data.is_moving(t.tag) || t.rules.is_some_and(|r| r.moving.iter().any(|m| m == t.tag));
    moving.then(|| {
        let message = format!("`{}` floats", t.text);
        let help = format!("`{}` moves with every release; pin an exact version", t.tag);
        t.diagnosis(Rule::FloatingTag, message, Some(help))
    })
}
