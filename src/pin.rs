//! What a pin is: the style a user chooses (shared by the config's `pin:`, the command line's
//! `--pin` and the resolver), and what one pin writes and how safe it is (made by the rules and
//! the registry's answers, joined into a finding by `Finding::pin`). It lives below all of
//! them so that none imports another for it.

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

/// How safe applying a fix is (ruff's applicability).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Applicability {
    /// Keeps what runs today (same digest).
    Safe,
    /// Changes what runs: needs `--unsafe-fixes`.
    Unsafe,
}

/// What a pin writes into a finding's target, known from a rule or a registry answer.
#[derive(Debug, Clone)]
pub struct Pin {
    /// Imperative: "Pin to `v2.0.5`".
    pub title: String,
    /// The whole reference once pinned.
    pub recommendation: String,
    /// The target's new bytes.
    pub text: String,
    pub applicability: Applicability,
    /// The digest the pin names, when it names one.
    pub digest: Option<String>,
    /// What to tell the user, when the answer behind the pin says more than the rule did.
    pub help: Option<String>,
}

impl Pin {
    /// A pin that keeps what runs (the same digest).
    pub fn safe(title: String, recommendation: String, text: String) -> Pin {
        Pin::applicable(title, recommendation, text, Applicability::Safe)
    }

    /// A pin that changes what runs: applied only with `--unsafe-fixes`.
    pub fn unsafe_(title: String, recommendation: String, text: String) -> Pin {
        Pin::applicable(title, recommendation, text, Applicability::Unsafe)
    }

    pub fn applicable(
        title: String,
        recommendation: String,
        text: String,
        applicability: Applicability,
    ) -> Pin {
        Pin {
            title,
            recommendation,
            text,
            applicability,
            digest: None,
            help: None,
        }
    }

    /// The same pin, naming `digest`.
    pub fn with_digest(self, digest: impl Into<String>) -> Pin {
        Pin {
            digest: Some(digest.into()),
            ..self
        }
    }

    /// The same pin, with the help its answer gives.
    pub fn with_help(self, help: String) -> Pin {
        Pin {
            help: Some(help),
            ..self
        }
    }
}
