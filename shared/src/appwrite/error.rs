//! [`AppwriteError`]: what went wrong talking to Appwrite, with Appwrite's own error `type`
//! kept so callers (the store's mapping to `StoreError`, the action API) can act on it, and
//! whether it is worth retrying.

/// What went wrong talking to Appwrite. Appwrite's own error `type` and message are kept
/// (appwrite-notes: Error body).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppwriteError {
    #[error("Appwrite answered {status} `{kind}`: {message}")]
    Api {
        status: u16,
        /// Appwrite's error `type`, e.g. `row_not_found`; empty when the body had none.
        kind: String,
        message: String,
    },
    #[error("Appwrite unreachable: {0}")]
    Transport(String),
    #[error("malformed response from Appwrite: {0}")]
    Malformed(String),
    #[error("gave up after {attempts} attempts; last error: {last}")]
    Exhausted {
        attempts: u32,
        last: Box<AppwriteError>,
    },
    /// The client could not even be built (e.g. TLS initialisation failed).
    #[error("Appwrite client unavailable: {0}")]
    Client(String),
}

impl AppwriteError {
    /// Appwrite's error `type`, looking through `Exhausted`.
    pub fn kind(&self) -> Option<&str> {
        match self {
            AppwriteError::Api { kind, .. } => Some(kind),
            AppwriteError::Exhausted { last, .. } => last.kind(),
            _ => None,
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            AppwriteError::Api { status, .. } => Some(*status),
            AppwriteError::Exhausted { last, .. } => last.status(),
            _ => None,
        }
    }

    /// Whether the failure is temporary (rate limit, overload, network) rather than a refusal.
    pub fn is_transient(&self) -> bool {
        match self {
            AppwriteError::Api { status, .. } => matches!(status, 429 | 500 | 502 | 503 | 504),
            AppwriteError::Transport(_) | AppwriteError::Exhausted { .. } => true,
            AppwriteError::Malformed(_) | AppwriteError::Client(_) => false,
        }
    }
}
