//! TP007 outdated-patch: the registry lists a newer patch on the pinned tag's line. The fix
//! moves to it (unsafe: what runs changes).

use super::{Diagnosis, Rule, Tagged};
use crate::pin::Pin;

pub(crate) fn check(t: &Tagged, patch: &str) -> Diagnosis {
    let name = t.name();
    let message = format!("`{}`: {patch} is out (same line)", t.written);
    let help = format!("patches carry security fixes: move to `{name}:{patch}`");
    let mut d = t.diagnosis(Rule::OutdatedPatch, message, Some(help));
    d.pin = Some(Pin::unsafe_(
        format!("Move to `{patch}`"),
        format!("{name}:{patch}"),
        patch.to_string(),
    ));
    d
}
