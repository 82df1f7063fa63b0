//! Why the registry could not answer, as a kind callers branch on (offline, not found…) and a
//! message that says what to do; one type for the client, the transport and Maven.

/// Why the registry could not answer; the message says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct RegistryError {
    pub kind: ErrorKind,
    pub message: String,
}

/// What callers branch on: offline answers are counted rather than reported one by one, an
/// unreachable registry leaves the mirror's answer standing, a refusal gets advice on logging
/// in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// No connection, a timeout, an answer cut short.
    Unreachable,
    /// A 401 or 403, or a token service that refused the login.
    Auth,
    NotFound,
    /// `--offline` and no cached answer.
    Offline,
    Other,
}

impl RegistryError {
    pub fn other(message: String) -> Self {
        RegistryError {
            kind: ErrorKind::Other,
            message,
        }
    }

    pub(crate) fn network(host: &str, error: &reqwest::Error) -> Self {
        let what = if error.is_timeout() {
            "timed out"
        } else if error.is_connect() {
            "cannot connect"
        } else if error.is_body() || error.is_decode() {
            "the answer was cut short"
        } else {
            "request failed"
        };
        let mut deepest: Option<&dyn std::error::Error> = std::error::Error::source(error);
        while let Some(next) = deepest.and_then(std::error::Error::source) {
            deepest = Some(next);
        }
        let cause = deepest.map(|s| format!(" ({s})")).unwrap_or_default();
        RegistryError {
            kind: ErrorKind::Unreachable,
            message: format!("registry {host} could not be reached: {what}{cause}"),
        }
    }
}
