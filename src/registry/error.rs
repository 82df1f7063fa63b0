//! Why the registry could not answer, as a kind callers branch on (offline, not found…) and a
//! message that says what to do; one type for the client, the transport and Maven.

/// Why the registry could not answer; the message says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct RegistryError {
    pub kind: ErrorKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Unreachable,
    Auth,
    NotFound,
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
            "timed out".to_string()
        } else if error.is_connect() {
            "cannot connect".to_string()
        } else if error.is_body() || error.is_decode() {
            "the answer was cut short".to_string()
        } else {
            "request failed".to_string()
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
