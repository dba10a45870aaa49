//! The observer's configuration, read through a lookup so tests pass their own values: the
//! webhook's secret and URL, the replay window, and which functions are un-adopted
//! (`JOBS_OBSERVE_<FUNCTION>=<TYPE>`).

use chrono::Duration;

use crate::http::ApiError;
use crate::job::JobType;

/// The observer's secret: the webhook's signature key (`docs/deploy.md`).
pub const SECRET_VAR: &str = "JOBS_OBSERVER_SECRET";
/// The webhook's URL exactly as registered in Appwrite: it is part of what Appwrite signs.
pub const URL_VAR: &str = "JOBS_OBSERVER_URL";
/// Events older than this many seconds are refused (default `DEFAULT_MAX_AGE_SECS`).
pub const MAX_AGE_VAR: &str = "JOBS_OBSERVER_MAX_AGE_SECONDS";
/// Prefix of the per-function mapping of un-adopted functions to a job type.
const OBSERVE_PREFIX: &str = "JOBS_OBSERVE_";

/// One hour: longer than Appwrite's largest function timeout (900 s) plus queueing, so an
/// event is never refused only because its execution ran long.
const DEFAULT_MAX_AGE_SECS: i64 = 3_600;
const MAX_MAX_AGE_SECS: i64 = 7 * 24 * 3_600;

/// The observer's configuration, read through a lookup so tests pass their own values.
#[derive(Clone)]
pub struct ObserverConfig {
    pub secret: String,
    pub url: String,
    pub max_age: Duration,
}

impl std::fmt::Debug for ObserverConfig {
    /// Never shows the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObserverConfig")
            .field("secret", &"<hidden>")
            .field("url", &self.url)
            .field("max_age", &self.max_age)
            .finish()
    }
}

impl ObserverConfig {
    /// Reads every variable, naming each missing or invalid one (never a value) at once.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, crate::config::ConfigError> {
        let mut vars = crate::config::Vars::new(lookup);
        let secret = vars.required(SECRET_VAR, "the webhook's signature key; docs/observer.md");
        // Appwrite refuses webhook secrets shorter than 8 characters.
        if !secret.is_empty() && secret.len() < 8 {
            vars.problem(SECRET_VAR, "must be at least 8 characters");
        }
        let url = vars.required(URL_VAR, "the webhook's URL, as registered in Appwrite");
        if !(url.is_empty() || url.starts_with("https://") || url.starts_with("http://")) {
            vars.problem(URL_VAR, "must be the webhook's http(s) URL");
        }
        let max_age = vars.number(MAX_AGE_VAR, 1..=MAX_MAX_AGE_SECS, DEFAULT_MAX_AGE_SECS);
        vars.finish(ObserverConfig {
            secret,
            url,
            max_age: Duration::seconds(max_age),
        })
    }
}

/// The variable that maps `function_id` to a job type: `JOBS_OBSERVE_` and the id in upper
/// case with every character outside `A-Z0-9` as `_` (`sqs-poller` → `JOBS_OBSERVE_SQS_POLLER`).
pub fn observe_var(function_id: &str) -> String {
    let tail: String = function_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("{OBSERVE_PREFIX}{tail}")
}

/// How an observed function is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Observed {
    /// Never calls a hook: each execution is a job of this type.
    Unadopted(JobType),
    /// Reports through the hooks: its executions can only fail the job they run.
    Worker,
}

/// Reads `JOBS_OBSERVE_<FUNCTION>`; a value that is not a job type is a 500 naming the variable.
pub fn observed(
    lookup: impl Fn(&str) -> Option<String>,
    function_id: &str,
) -> Result<Observed, ApiError> {
    let name = observe_var(function_id);
    match crate::config::Vars::new(lookup).get(&name) {
        None => Ok(Observed::Worker),
        Some(v) => v.parse().map(Observed::Unadopted).map_err(|_| {
            ApiError::new(
                500,
                "invalid_config",
                format!("{name} must be one of {}", type_names()),
            )
        }),
    }
}

fn type_names() -> String {
    JobType::ALL
        .iter()
        .map(|t| t.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
