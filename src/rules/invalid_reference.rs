//! TP010 invalid-reference: a value in an image's place that no registry would accept.

use super::{Diagnosis, Rule};
use crate::reference::ReferenceError;
use crate::scan::Reference;

pub(crate) fn check(text: &str, reference: &Reference, error: &ReferenceError) -> Diagnosis {
    let message = format!("`{text}` is not a valid image reference: {error}");
    let span = error
        .range
        .clone()
        .and_then(|r| reference.value.span_of(r))
        .unwrap_or_else(|| reference.span.clone());
    Diagnosis::new(Rule::InvalidReference, span, None, message, None)
}
