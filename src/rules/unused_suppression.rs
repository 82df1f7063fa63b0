//! TP014 unused-suppression: a `# tagpin: ignore` comment, or a code in one, that suppressed
//! nothing in this run (`suppress` finds them).

use super::{Diagnosis, Rule};
use crate::suppress::Unused;

pub(crate) fn check(unused: Unused) -> Diagnosis {
    let help = "remove it, or the codes that no longer apply".to_string();
    Diagnosis::new(
        Rule::UnusedSuppression,
        unused.span,
        None,
        unused.message,
        Some(help),
    )
}
