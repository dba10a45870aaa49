//! Where and as whom to talk to Appwrite, and which tables hold the jobs: [`AppwriteConfig`],
//! read once from the function's variables (every problem reported at once, through
//! [`crate::config::Vars`]) plus, inside an execution, the request's own key. The key is a
//! [`Secret`], so it never shows in logs or errors.

use std::fmt;
use std::time::Duration;

pub use crate::config::ConfigError;

use super::wire::valid_id;

/// Names of the configuration variables, with defaults where a default is sensible.
pub mod var {
    pub const ENDPOINT: &str = "APPWRITE_FUNCTION_API_ENDPOINT";
    /// Wins over [`ENDPOINT`]: Appwrite merges its own `APPWRITE_FUNCTION_API_ENDPOINT`
    /// (`https://$_APP_DOMAIN/v1`) after the function's variables, so a function variable of
    /// that name can never change it (docs/appwrite-notes.md § Functions, executions and
    /// permissions). Set this when the runtimes cannot reach that address (a self-hosted
    /// install whose public domain does not resolve inside its network).
    pub(crate) const ENDPOINT_OVERRIDE: &str = "JOBS_APPWRITE_ENDPOINT";
    /// `1` accepts a certificate the runtime cannot verify (a self-hosted install with a
    /// self-signed certificate). An explicit opt-in: off unless set.
    pub(crate) const SELF_SIGNED: &str = "JOBS_APPWRITE_SELF_SIGNED";
    pub const PROJECT: &str = "APPWRITE_FUNCTION_PROJECT_ID";
    /// Only for tools and tests: inside a function the key comes from the request.
    pub const API_KEY: &str = "APPWRITE_API_KEY";
    pub(crate) const DATABASE: &str = "JOBS_DATABASE_ID";
    pub(crate) const JOBS_TABLE: &str = "JOBS_TABLE_ID";
    pub(crate) const EVENTS_TABLE: &str = "JOBS_EVENTS_TABLE_ID";
    pub(crate) const TIMEOUT_MS: &str = "APPWRITE_TIMEOUT_MS";
    pub(crate) const DEFAULT_DATABASE: &str = "jobmanager";
    pub(crate) const DEFAULT_JOBS_TABLE: &str = "jobs";
    pub(crate) const DEFAULT_EVENTS_TABLE: &str = "job_events";
    pub(crate) const DEFAULT_TIMEOUT_MS: u64 = 10_000;
}

/// The request header carrying the per-execution key (appwrite-notes: Per-execution key).
const KEY_HEADER: &str = "x-appwrite-key";

/// A secret that never shows in `Debug` output, logs or error messages.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Where and as whom to talk to Appwrite, and which tables hold the jobs.
#[derive(Debug, Clone, PartialEq)]
pub struct AppwriteConfig {
    /// Base URL including `/v1`, without a trailing slash.
    pub endpoint: String,
    pub project: String,
    pub key: Secret,
    pub database_id: String,
    pub jobs_table: String,
    pub events_table: String,
    pub timeout: Duration,
    /// `var::SELF_SIGNED`: accept a certificate that cannot be verified.
    pub accept_invalid_certs: bool,
}

/// The API endpoint a function should use: [`var::ENDPOINT_OVERRIDE`] if set, else Appwrite's
/// [`var::ENDPOINT`].
pub(crate) fn endpoint_from(lookup: impl Fn(&str) -> Option<String>) -> Option<String> {
    let get = |name: &str| {
        lookup(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    get(var::ENDPOINT_OVERRIDE).or_else(|| get(var::ENDPOINT))
}

impl AppwriteConfig {
    /// Builds the configuration from a variable lookup and, inside a function, the request's
    /// `x-appwrite-key` (which wins over `APPWRITE_API_KEY`).
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
        request_key: Option<&str>,
    ) -> Result<Self, ConfigError> {
        let mut vars = crate::config::Vars::new(lookup);
        // The override wins over the endpoint Appwrite injects (see `var::ENDPOINT_OVERRIDE`).
        let (endpoint_name, endpoint) = match vars.get(var::ENDPOINT_OVERRIDE) {
            Some(e) => (var::ENDPOINT_OVERRIDE, e),
            None => (
                var::ENDPOINT,
                vars.required(var::ENDPOINT, "Appwrite sets it in every function"),
            ),
        };
        let endpoint = if endpoint.is_empty()
            || endpoint.starts_with("http://")
            || endpoint.starts_with("https://")
        {
            endpoint.trim_end_matches('/').to_owned()
        } else {
            vars.problem(endpoint_name, "must start with http:// or https://");
            String::new()
        };
        let project = vars.required(var::PROJECT, "Appwrite sets it in every function");
        let key = match request_key.map(str::trim).filter(|k| !k.is_empty()) {
            Some(k) => k.to_owned(),
            None => vars.get(var::API_KEY).unwrap_or_else(|| {
                vars.problem(
                    var::API_KEY,
                    format!("is not set and the request has no `{KEY_HEADER}` header"),
                );
                String::new()
            }),
        };
        let mut id = |name: &str, default: &str| {
            let value = vars.get(name).unwrap_or_else(|| default.to_owned());
            if !valid_id(&value) {
                vars.problem(name, format!("`{value}` is not a valid Appwrite id"));
            }
            value
        };
        let database_id = id(var::DATABASE, var::DEFAULT_DATABASE);
        let jobs_table = id(var::JOBS_TABLE, var::DEFAULT_JOBS_TABLE);
        let events_table = id(var::EVENTS_TABLE, var::DEFAULT_EVENTS_TABLE);
        let timeout_ms = vars.number(var::TIMEOUT_MS, 1..=600_000, var::DEFAULT_TIMEOUT_MS);
        let accept_invalid_certs = vars.flag(var::SELF_SIGNED, false);
        vars.finish(AppwriteConfig {
            endpoint,
            project,
            key: Secret(key),
            database_id,
            jobs_table,
            events_table,
            timeout: Duration::from_millis(timeout_ms),
            accept_invalid_certs,
        })
    }
    /// The configuration of one function execution: variables plus the request's key.
    pub fn from_context(
        context: &openruntimes::Context,
        lookup: &crate::config::Lookup,
    ) -> Result<Self, ConfigError> {
        let key = context.req.headers.get(KEY_HEADER).map(String::as_str);
        Self::from_lookup(|name| lookup(name), key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn every_missing_variable_is_reported_at_once() {
        let err = AppwriteConfig::from_lookup(vars(&[]), None).unwrap_err();
        let text = err.to_string();
        assert_eq!(err.problems.len(), 3, "{text}");
        for name in [var::ENDPOINT, var::PROJECT, var::API_KEY] {
            assert!(text.contains(name), "{text} lacks {name}");
        }
    }

    #[test]
    fn the_endpoint_override_wins_over_the_endpoint_appwrite_injects() {
        let base = [
            (var::ENDPOINT, "https://appwrite.example.com/v1"),
            (var::PROJECT, "p"),
            (var::API_KEY, "k"),
        ];
        let config = AppwriteConfig::from_lookup(vars(&base), None).unwrap();
        assert_eq!(config.endpoint, "https://appwrite.example.com/v1");
        assert!(
            !config.accept_invalid_certs,
            "certificates are verified by default"
        );
        let mut overridden = base.to_vec();
        overridden.push((var::ENDPOINT_OVERRIDE, "http://appwrite/v1/"));
        overridden.push((var::SELF_SIGNED, "1"));
        let config = AppwriteConfig::from_lookup(vars(&overridden), None).unwrap();
        assert_eq!(config.endpoint, "http://appwrite/v1");
        assert!(config.accept_invalid_certs);
    }

    #[test]
    fn a_self_signed_opt_in_other_than_0_or_1_is_refused() {
        let err = AppwriteConfig::from_lookup(
            vars(&[
                (var::ENDPOINT, "https://aw.example/v1"),
                (var::PROJECT, "p"),
                (var::API_KEY, "k"),
                (var::SELF_SIGNED, "yes please"),
            ]),
            None,
        )
        .unwrap_err();
        assert!(err.to_string().contains(var::SELF_SIGNED), "{err}");
    }

    #[test]
    fn invalid_values_are_named() {
        let err = AppwriteConfig::from_lookup(
            vars(&[
                (var::ENDPOINT, "ftp://x"),
                (var::PROJECT, "p"),
                (var::API_KEY, "k"),
                (var::JOBS_TABLE, "_bad"),
                (var::TIMEOUT_MS, "soon"),
            ]),
            None,
        )
        .unwrap_err();
        let text = err.to_string();
        assert_eq!(err.problems.len(), 3, "{text}");
        assert!(text.contains(var::JOBS_TABLE) && text.contains(var::TIMEOUT_MS));
    }

    #[test]
    fn request_key_wins_defaults_apply_and_the_key_never_shows_in_debug() {
        let config = AppwriteConfig::from_lookup(
            vars(&[
                (var::ENDPOINT, "https://aw.example/v1/"),
                (var::PROJECT, "p"),
                (var::API_KEY, "env-secret"),
            ]),
            Some("request-secret"),
        )
        .unwrap();
        assert_eq!(config.key.expose(), "request-secret");
        assert_eq!(config.endpoint, "https://aw.example/v1");
        assert_eq!(config.database_id, "jobmanager");
        assert_eq!(config.jobs_table, "jobs");
        assert_eq!(config.events_table, "job_events");
        let debug = format!("{config:?}");
        assert!(!debug.contains("secret"), "{debug}");
    }
}
