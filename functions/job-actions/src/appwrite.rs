//! The production side of [`crate::upstream`]: users, teams, executions and rows through
//! `shared`'s [`AppwriteClient`], with the request's `x-appwrite-key` (so the function needs
//! the scopes `users.read`, `teams.read`, `executions.write` and, for the campaign mirror,
//! `rows.write`). Also builds the production [`Platform`].

use std::sync::Arc;

use serde_json::Value;
use shared::appwrite::{AppwriteClient, AppwriteConfig, AppwriteError, ConfigError};
use shared::platform::{env_lookup, Lookup, Platform};
use shared::store::appwrite::AppwriteStore;

use crate::upstream::{Directory, Executions, Rows, UpstreamError};

/// The production platform: the Appwrite store with the request's key, the process environment.
pub fn platform(context: &openruntimes::Context) -> Result<Platform, ConfigError> {
    let lookup = env_lookup();
    let store = AppwriteStore::from_context(context, &lookup)?;
    Ok(Platform::new(Arc::new(store), lookup))
}

/// Appwrite reached with this execution's key; unusable (every call says why) when the
/// endpoint, project or key is missing.
pub struct Upstream {
    client: Result<AppwriteClient, ConfigError>,
}

impl Upstream {
    pub fn from_context(context: &openruntimes::Context, lookup: &Lookup) -> Self {
        Upstream {
            client: AppwriteConfig::from_context(context, lookup).map(AppwriteClient::new),
        }
    }

    fn client(&self) -> Result<&AppwriteClient, UpstreamError> {
        self.client
            .as_ref()
            .map_err(|_| UpstreamError::NotConfigured("endpoint, project or key missing"))
    }
}

fn upstream_error(e: AppwriteError) -> UpstreamError {
    match e.status() {
        Some(status) if !e.is_transient() => UpstreamError::Refused {
            status,
            message: e.to_string(),
        },
        _ => UpstreamError::Unavailable(e.to_string()),
    }
}

impl Directory for Upstream {
    fn user_labels(&self, user_id: &str) -> Result<Vec<String>, UpstreamError> {
        match self.client()?.user_labels(user_id) {
            Ok(labels) => Ok(labels),
            // A user deleted since the session was made has no role, not an outage.
            Err(e) if e.kind() == Some("user_not_found") => Ok(Vec::new()),
            Err(e) => Err(upstream_error(e)),
        }
    }

    fn is_team_member(&self, team_id: &str, user_id: &str) -> Result<bool, UpstreamError> {
        match self.client()?.list_memberships(team_id, user_id) {
            // An invitation not yet accepted grants nothing.
            Ok(memberships) => Ok(memberships
                .iter()
                .any(|m| m.user_id == user_id && m.confirm)),
            Err(e) if e.kind() == Some("team_not_found") => Ok(false),
            Err(e) => Err(upstream_error(e)),
        }
    }
}

impl Executions for Upstream {
    fn create_execution(&self, function_id: &str, body: &str) -> Result<String, UpstreamError> {
        self.client()?
            .create_execution(function_id, body, "/", "POST", true)
            .map(|execution| execution.id)
            .map_err(upstream_error)
    }
}

impl Rows for Upstream {
    fn update_row(
        &self,
        database: &str,
        table: &str,
        row: &str,
        data: &Value,
    ) -> Result<(), UpstreamError> {
        let client = self.client()?;
        // The campaign table may live in another database than the jobs.
        let config = AppwriteConfig {
            database_id: database.to_owned(),
            ..client.config().clone()
        };
        AppwriteClient::new(config)
            .update_row(table, row, data.clone(), None)
            .map(|_| ())
            .map_err(upstream_error)
    }
}
