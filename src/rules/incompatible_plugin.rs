//! TP015 incompatible-plugin: an exact plugin version newer than the Kestra core of its image
//! supports (what the plugin's Maven metadata requires). The fix, from the Maven repository,
//! is the newest version that core supports (unsafe: what runs changes).

use super::{Diagnosis, Rule};
use crate::pin::{Applicability, Pin};
use crate::plugin::compare;
use crate::source::Span;

/// `plugin` (`group:artifact:version`) needs core `need`; the image runs `core`.
pub(crate) fn check(
    plugin: &str,
    (span, target): (Span, Option<Span>),
    need: &str,
    core: &str,
) -> Option<Diagnosis> {
    if !needs_newer(need, core) {
        return None;
    }
    let message = format!("plugin `{plugin}` needs Kestra {need} or later; the image runs {core}");
    Some(Diagnosis::new(
        Rule::IncompatiblePlugin,
        span,
        target,
        message,
        None,
    ))
}

/// Whether a plugin that needs core `need` cannot run on `core`.
pub(crate) fn needs_newer(need: &str, core: &str) -> bool {
    compare(need, core).is_gt()
}

/// Move to `version`, the newest the image's `core` supports, with TP012's pin of it.
pub(crate) fn pin(floating: Pin, version: &str, core: &str) -> Pin {
    let help = format!("`{version}` is the newest version Kestra {core} supports");
    let pin = Pin::applicable(
        floating.title,
        floating.recommendation,
        floating.text,
        Applicability::Unsafe,
    );
    pin.with_help(help)
}
