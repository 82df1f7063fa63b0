//! What a pin writes: a domain choice shared by the config (`pin:`), the command line (`--pin`)
//! and the resolver. It lives below all three so none of them imports another for it.

use serde::Serialize;

/// What a pin writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum PinStyle {
    /// The release tag: `kestra/kestra:v2.0.5` (what Kestra recommends).
    #[default]
    Version,
    /// The tag and the digest it has now: `kestra/kestra:latest@sha256:…`.
    Digest,
    /// Both: `kestra/kestra:v2.0.5@sha256:…`.
    VersionDigest,
}

impl PinStyle {
    pub fn parse(text: &str) -> Option<PinStyle> {
        match text {
            "version" => Some(PinStyle::Version),
            "digest" => Some(PinStyle::Digest),
            "version+digest" => Some(PinStyle::VersionDigest),
            _ => None,
        }
    }
}
