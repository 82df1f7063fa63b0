//! TP012 floating-plugin: a Kestra plugin version that moves (`LATEST`, none, a range, the
//! snapshot repository, `defaultVersion: LATEST`). The fix pins the newest release the Kestra
//! core of the image supports, from the Maven repository (`plugin_pins`).

use super::{Diagnosis, Rule};
use crate::pin::{Applicability, Pin};
use crate::plugin::{Coordinate, PluginPin, Requested};
use crate::scan::{Place, Plugin};

/// A plugin version that moves, with the help that says what to do.
pub(crate) fn check(plugin: &Plugin) -> Option<Diagnosis> {
    let (message, help) = moves(plugin)?;
    let (span, target) = (plugin.span.clone(), plugin.target.clone());
    Some(Diagnosis::new(
        Rule::FloatingPlugin,
        span,
        target,
        message,
        Some(help),
    ))
}

fn moves(plugin: &Plugin) -> Option<(String, String)> {
    let written = &plugin.coordinate;
    let pin_help = "pin a version that matches the Kestra version of the image".to_string();
    let version = plugin.version.as_deref();
    match plugin.place {
        Place::SnapshotRepository => Some((
            format!(
                "plugins come from the snapshot repository `{written}`: its artifacts change under the same version"
            ),
            "install plugins from a release repository".to_string(),
        )),
        Place::DefaultVersion => match Requested::parse(version) {
            Requested::Latest(v) | Requested::Oldest(v) => Some((
                format!("`defaultVersion: {v}` lets every flow without a `version:` float"),
                "set `defaultVersion: NONE` and pin `version:` in flows, or name one version"
                    .to_string(),
            )),
            _ => None,
        },
        Place::Task => match Requested::parse(version) {
            Requested::Exact(_) | Requested::Missing => None,
            Requested::Oldest(v) => Some((
                format!("`{written}` runs plugin version `{v}`, the oldest the instance has"),
                "pin the version the flow was tested with".to_string(),
            )),
            requested => Some((
                format!(
                    "`{written}` runs plugin version `{}`, which moves",
                    version_text(&requested)
                ),
                pin_help,
            )),
        },
        Place::Install => match Requested::parse(version) {
            Requested::Missing => Some((
                format!("plugin `{written}` has no version: it installs whatever is newest"),
                pin_help,
            )),
            Requested::Exact(_) => None,
            _ => Some((format!("plugin `{written}` floats"), pin_help)),
        },
    }
}

fn version_text(requested: &Requested) -> &str {
    match requested {
        Requested::Latest(v) | Requested::Oldest(v) | Requested::Exact(v) => v,
        Requested::Range(range) => &range.text,
        Requested::Missing => "",
    }
}

/// The pin Maven's answer gives a plugin written at `place` as `requested`: safe when it is what
/// the request installs now and the core can load it.
pub(crate) fn pin(
    place: Place,
    requested: &Requested,
    coordinate: &Coordinate,
    pin: &PluginPin,
) -> Pin {
    let version = &pin.version;
    let (recommendation, text) = match (place, requested) {
        (Place::Install, Requested::Missing) => {
            (format!("{coordinate}:{version}"), format!(":{version}"))
        }
        (Place::Install, _) => (format!("{coordinate}:{version}"), version.clone()),
        _ => (version.clone(), version.clone()),
    };
    let help = match (&pin.core, pin.incompatible.first()) {
        (Some(core), Some((newest, need))) => format!(
            "`{newest}` (what it installs now) needs Kestra {need}; the image runs {core}: pin `{version}`, the newest it supports"
        ),
        (Some(core), None) => {
            format!("pin `{version}`, what it installs now (supports Kestra {core})")
        }
        (None, _) => format!(
            "pin `{version}`, the newest release (compatibility with the Kestra core not checked)"
        ),
    };
    let applicability = match pin.is_safe() {
        true => Applicability::Safe,
        false => Applicability::Unsafe,
    };
    let title = format!("Pin to `{recommendation}`");
    Pin::applicable(title, recommendation, text, applicability).with_help(help)
}
