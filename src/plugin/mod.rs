//! Kestra plugin versions as plain data: a plugin's Maven coordinate, what a version as
//! written asks for, Maven's version order, and the pin an answer gives. The scanners and rules
//! read these; `maven` asks repositories about them.

mod version;

use serde::Serialize;

pub use version::{Range, Requested, compare, core_of_tag, is_release};

/// `group:artifact`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Coordinate {
    pub group: String,
    pub artifact: String,
}

impl Coordinate {
    /// `group:artifact[:version]` → the coordinate and the version as written.
    pub fn parse(text: &str) -> Option<(Coordinate, Option<&str>)> {
        let mut parts = text.splitn(3, ':');
        let group = parts.next()?;
        let artifact = parts.next()?;
        let valid = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        };
        (valid(group) && valid(artifact)).then(|| {
            let coordinate = Coordinate {
                group: group.to_string(),
                artifact: artifact.to_string(),
            };
            (coordinate, parts.next())
        })
    }
}

impl std::fmt::Display for Coordinate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.group, self.artifact)
    }
}

/// What a plugin version should be pinned to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PluginPin {
    /// The recommended version.
    pub version: String,
    /// What the request resolves to now (`LATEST`: the newest release).
    pub current: String,
    /// The Kestra core the recommended version needs, when its POM says.
    pub min_core: Option<String>,
    /// The core the pin was checked against; `None`: compatibility not checked.
    pub core: Option<String>,
    /// Newer versions passed over because the core is too old for them: (version, core needed).
    pub incompatible: Vec<(String, String)>,
}

impl PluginPin {
    /// The pin keeps what runs today and the core can load it.
    pub fn is_safe(&self) -> bool {
        self.version == self.current && self.core.is_some() && self.incompatible.is_empty()
    }
}
