//! What the action API needs from Appwrite besides the job store: who a user is (labels, team
//! memberships), starting a worker function, and setting a campaign row's status. Small traits so
//! the handler is tested with in-process fakes; [`crate::appwrite`] implements them over HTTP.

use serde_json::Value;

/// Failures talking to Appwrite. None of them is the caller's fault: the edge answers 503 (or
/// reports the side effect as failed) and logs the message, which never holds a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpstreamError {
    /// Something this function needs to reach Appwrite is missing (endpoint, project, key).
    #[error("Appwrite is not reachable from this execution: {0}")]
    NotConfigured(&'static str),
    /// Network failure, timeout, 429 or 5xx: may work on a later call.
    #[error("Appwrite unavailable: {0}")]
    Unavailable(String),
    /// Appwrite answered with a 4xx (missing scope, unknown function, unknown row …).
    #[error("Appwrite refused ({status}): {message}")]
    Refused { status: u16, message: String },
}

/// Where roles come from: Appwrite users (labels) and teams (memberships).
pub trait Directory: Send + Sync {
    /// The user's labels (`GET /v1/users/{id}` → `labels`); an unknown user has none.
    fn user_labels(&self, user_id: &str) -> Result<Vec<String>, UpstreamError>;

    /// Whether the user holds a confirmed membership of the team
    /// (`GET /v1/teams/{teamId}/memberships` filtered by user id).
    fn is_team_member(&self, team_id: &str, user_id: &str) -> Result<bool, UpstreamError>;
}

/// Starting another function: how a resumed or retried job's worker is re-triggered.
pub trait Executions: Send + Sync {
    /// Starts `function_id` asynchronously with `body` (a JSON string); returns the execution id.
    fn create_execution(&self, function_id: &str, body: &str) -> Result<String, UpstreamError>;
}

/// Writing one row of another table: the optional campaign status mirror.
pub trait Rows: Send + Sync {
    /// Updates the given columns of one row (`PATCH .../rows/{rowId}` with `{"data": …}`).
    fn update_row(
        &self,
        database: &str,
        table: &str,
        row: &str,
        data: &Value,
    ) -> Result<(), UpstreamError>;
}
