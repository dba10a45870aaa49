//! Appwrite's errors as the storage port's: every [`AppwriteError`] the store meets becomes the
//! [`StoreError`] that tells a caller what to do (wait, fix the key, fix the deployment, or
//! read the cause), in one place.

use crate::appwrite::{AppwriteError, ConfigError};
use crate::job::JobError;
use crate::store::StoreError;

impl From<AppwriteError> for StoreError {
    /// Sorted by what an operator must do: wait (transient), fix the key's scopes (401/403),
    /// fix the endpoint / ids / schema (404 on a database, table or route), or read the cause.
    /// Error types: appwrite-notes: Error types we act on.
    fn from(e: AppwriteError) -> Self {
        if e.is_transient() {
            return StoreError::Unavailable(e.to_string());
        }
        match (e.status(), e.kind()) {
            (Some(401 | 403), _) => StoreError::Denied(e.to_string()),
            (
                Some(404),
                Some(
                    "database_not_found"
                    | "table_not_found"
                    | "general_route_not_found"
                    | "project_not_found",
                ),
            ) => StoreError::Missing(e.to_string()),
            _ => StoreError::Backend(e.to_string()),
        }
    }
}

impl From<ConfigError> for StoreError {
    fn from(e: ConfigError) -> Self {
        StoreError::Backend(e.to_string())
    }
}

/// An answer that lacks what every answer of its kind has.
pub(super) fn malformed(what: &str) -> StoreError {
    StoreError::Backend(AppwriteError::Malformed(what.into()).to_string())
}

/// A list query Appwrite refused (a bad cursor, say) is the caller's mistake, not an outage.
pub(super) fn map_query_error(e: AppwriteError, field: &'static str) -> StoreError {
    match (e.status(), e.kind()) {
        (Some(400), Some(kind))
            if kind.starts_with("general_cursor") || kind == "general_query_invalid" =>
        {
            StoreError::Job(JobError::invalid(
                if kind.starts_with("general_cursor") {
                    "cursor"
                } else {
                    field
                },
                e.to_string(),
            ))
        }
        _ => e.into(),
    }
}
