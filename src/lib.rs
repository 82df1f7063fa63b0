//! tagpin finds every container image reference in a repository, flags the ones that float and
//! (with the registry) pins them. Data flows one way, from discovery through scanning and
//! checking to rendering; `cli` sits on top, and the README's "Development" section draws the
//! layers.

pub mod check;
pub mod cli;
pub mod commands;
pub mod config;
pub mod discover;
pub mod escape;
pub mod finding;
pub mod fix;
pub mod kustomizations;
pub mod maven;
pub mod pin;
pub mod plugin;
pub mod plugin_pins;
pub mod reference;
pub mod registry;
pub mod render;
pub mod resolve;
pub mod rules;
pub mod run;
pub mod scan;
pub mod source;
pub mod suggest;
pub mod suppress;
pub mod version;
pub mod yaml;
