//! TP015 incompatible-plugin: an exact plugin version newer than the Kestra core of its image
//! supports (what the plugin's Maven metadata requires). The fix, from the Maven repository,
//! is the newest version that core supports (`plugin_pins`).

/// The message: `plugin` (`group:artifact:version`) needs core `need`; the image runs `core`.
pub(crate) fn message(plugin: &str, need: &str, core: &str) -> String {
    format!("plugin `{plugin}` needs Kestra {need} or later; the image runs {core}")
}

pub(crate) fn help(version: &str, core: &str) -> String {
    format!("`{version}` is the newest version Kestra {core} supports")
}
