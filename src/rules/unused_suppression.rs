//! TP014 unused-suppression: a `# tagpin: ignore` comment, or a code in one, that suppressed
//! nothing in this run (`suppress` finds them).

use super::{Diagnosis, Rule};
use crate::source::Span;

/// The comment (or the code in it) at `span`, and what `suppress` says of it.
pub(crate) fn check(span: Span, message: String) -> Diagnosis {
    let help = "remove it, or the codes that no longer apply".to_string();
    Diagnosis::new(Rule::UnusedSuppression, span, None, message, Some(help))
}
