//! TP001 missing-tag: no tag and no digest, so the image pulls whatever `latest` is. The fix
//! inserts the pin the registry gives (see `resolve`).

use super::{Diagnosis, Rule};
use crate::reference::Image;
use crate::scan::Reference;

pub(crate) fn check(text: &str, reference: &Reference, image: &Image) -> Diagnosis {
    let value = &reference.value;
    let name = image.name_range.clone();
    let message = format!("`{text}` has no tag and pulls whatever `latest` is");
    let help = format!("pin a release: `{text}:<version>`");
    // A fix inserts the tag right after the name's last byte.
    let target = value.span_of(name.end - 1..name.end).map(|s| s.end..s.end);
    let span = value
        .span_of(name)
        .unwrap_or_else(|| reference.span.clone());
    Diagnosis::new(Rule::MissingTag, span, target, message, Some(help))
}
