//! A small blocking client for the few Appwrite REST endpoints Job Manager uses: TablesDB rows
//! (`docs/appwrite-notes.md`: Row endpoints), function executions (Creating an execution),
//! users and team memberships (Users and memberships).
//! It owns configuration, headers, retries and error decoding, so the store and the action API
//! never touch HTTP details. Not the official SDK: that needs rustc 1.85, is async-only and
//! shares header state between clones (appwrite-notes: The official Rust SDK).

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use reqwest::Method;
use serde::Deserialize;
use serde_json::{json, Value};

/// The response/request model version we speak. Pinned so a server upgrade never changes the shapes
/// we parse: the server down-converts to this format (appwrite-notes: Response format). 1.9.0 is
/// the self-hosted line our notes were verified against (1.9.6); the TablesDB row models are the
/// same in the Cloud 2.x line.
pub const RESPONSE_FORMAT: &str = "1.9.0";

/// Names of the configuration variables, with defaults where a default is sensible.
pub mod var {
    pub const ENDPOINT: &str = "APPWRITE_FUNCTION_API_ENDPOINT";
    /// Wins over [`ENDPOINT`]: Appwrite merges its own `APPWRITE_FUNCTION_API_ENDPOINT`
    /// (`https://$_APP_DOMAIN/v1`) after the function's variables, so a function variable of
    /// that name can never change it (docs/appwrite-notes.md § Functions, executions and
    /// permissions). Set this when the runtimes cannot reach that address (a self-hosted
    /// install whose public domain does not resolve inside its network).
    pub const ENDPOINT_OVERRIDE: &str = "JOBS_APPWRITE_ENDPOINT";
    /// `1` accepts a certificate the runtime cannot verify (a self-hosted install with a
    /// self-signed certificate). An explicit opt-in: off unless set.
    pub const SELF_SIGNED: &str = "JOBS_APPWRITE_SELF_SIGNED";
    pub const PROJECT: &str = "APPWRITE_FUNCTION_PROJECT_ID";
    /// Only for tools and tests: inside a function the key comes from the request.
    pub const API_KEY: &str = "APPWRITE_API_KEY";
    pub const DATABASE: &str = "JOBS_DATABASE_ID";
    pub const JOBS_TABLE: &str = "JOBS_TABLE_ID";
    pub const EVENTS_TABLE: &str = "JOBS_EVENTS_TABLE_ID";
    pub const TIMEOUT_MS: &str = "APPWRITE_TIMEOUT_MS";
    pub const DEFAULT_DATABASE: &str = "jobmanager";
    pub const DEFAULT_JOBS_TABLE: &str = "jobs";
    pub const DEFAULT_EVENTS_TABLE: &str = "job_events";
    pub const DEFAULT_TIMEOUT_MS: u64 = 10_000;
}

/// The request header carrying the per-execution key (appwrite-notes: Per-execution key).
pub const KEY_HEADER: &str = "x-appwrite-key";

/// A secret that never shows in `Debug` output, logs or error messages.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
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
    /// [`var::SELF_SIGNED`]: accept a certificate that cannot be verified.
    pub accept_invalid_certs: bool,
}

/// The API endpoint a function should use: [`var::ENDPOINT_OVERRIDE`] if set, else Appwrite's
/// [`var::ENDPOINT`].
pub fn endpoint_from(lookup: impl Fn(&str) -> Option<String>) -> Option<String> {
    let get = |name: &str| {
        lookup(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    get(var::ENDPOINT_OVERRIDE).or_else(|| get(var::ENDPOINT))
}

pub use crate::config::ConfigError;

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

/// How an operation may be retried. Only operations whose repetition is harmless (reads,
/// creates with a deterministic id, writes whose outcome the caller verifies, deletes by id)
/// are `Idempotent`; the rest retry only a 429, which Appwrite answers before doing anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    Idempotent,
    OnlyRateLimit,
}

/// Backoff for transient failures: exponential with full jitter, `X-RateLimit-Reset` honoured,
/// every delay capped. The sleep is injectable so tests neither wait nor depend on timing.
#[derive(Clone)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    pub sleep: Arc<dyn Fn(Duration) + Send + Sync>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 4,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
            sleep: Arc::new(std::thread::sleep),
        }
    }
}

impl fmt::Debug for RetryPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryPolicy")
            .field("attempts", &self.attempts)
            .field("base_delay", &self.base_delay)
            .field("max_delay", &self.max_delay)
            .finish_non_exhaustive()
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (1-based). A rate-limit reset (unix seconds) is
    /// waited for, up to the cap, since retrying earlier would be refused again.
    pub fn delay(&self, retry: u32, rate_limit_reset: Option<u64>) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << retry.saturating_sub(1).min(16));
        let ceiling = exp.min(self.max_delay);
        // Full jitter in [ceiling/2, ceiling]: spreads retries of concurrent executions.
        let jitter = crate::random::u64() % 1_000;
        let jittered = ceiling / 2 + ceiling.mul_f64(jitter as f64 / 2_000.0);
        let reset_wait = rate_limit_reset.and_then(|reset| {
            let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs();
            Some(Duration::from_secs(reset.saturating_sub(now)))
        });
        jittered
            .max(reset_wait.unwrap_or_default())
            .min(self.max_delay)
    }
}

/// One process-wide HTTP client (connection pool, TLS setup) per certificate policy; cloning
/// it is cheap. The lenient one exists only when [`var::SELF_SIGNED`] asked for it.
fn shared_http(accept_invalid_certs: bool) -> Result<reqwest::blocking::Client, AppwriteError> {
    static STRICT: OnceLock<Result<reqwest::blocking::Client, String>> = OnceLock::new();
    static LENIENT: OnceLock<Result<reqwest::blocking::Client, String>> = OnceLock::new();
    let cell = if accept_invalid_certs {
        &LENIENT
    } else {
        &STRICT
    };
    cell.get_or_init(|| {
        reqwest::blocking::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .danger_accept_invalid_certs(accept_invalid_certs)
            .build()
            .map_err(|e| e.without_url().to_string())
    })
    .clone()
    .map_err(AppwriteError::Client)
}

/// A successful answer and how many attempts it took (callers verify outcomes of retries).
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub body: Value,
    pub attempts: u32,
}

/// One request to send.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: Method,
    /// Path below the endpoint, starting with `/`.
    pub path: String,
    pub query: Vec<(&'static str, String)>,
    pub body: Option<Value>,
    /// `X-Appwrite-Timestamp`: the write applies only if the row was not updated after it
    /// (appwrite-notes: Conditional writes).
    pub timestamp: Option<String>,
    pub retry: Retry,
}

impl Call {
    pub fn new(method: Method, path: impl Into<String>, retry: Retry) -> Self {
        Call {
            method,
            path: path.into(),
            query: Vec::new(),
            body: None,
            timestamp: None,
            retry,
        }
    }
}

pub use crate::url::segment;

/// A timestamp in Appwrite's own datetime form (`2026-11-29T11:48:05.456+00:00`), for values we
/// write to Appwrite and for `jobs-dev`'s imitation of its documents.
pub fn datetime(t: &crate::job::Timestamp) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3f+00:00").to_string()
}

/// A query in Appwrite's JSON wire format (appwrite-notes: Query wire format):
/// `{"method","attribute","values"}`.
pub fn query(method: &str, attribute: Option<&str>, values: Vec<Value>) -> String {
    let mut q = json!({"method": method, "values": values});
    if let Some(attribute) = attribute {
        q["attribute"] = Value::from(attribute);
    }
    q.to_string()
}

/// A function execution as far as we read it (appwrite-notes: Creating an execution).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Execution {
    #[serde(rename = "$id")]
    pub id: String,
    #[serde(default)]
    pub status: String,
    #[serde(rename = "responseStatusCode", default)]
    pub response_status_code: u16,
    #[serde(rename = "responseBody", default)]
    pub response_body: String,
}

/// A user as far as authorization needs it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct User {
    #[serde(rename = "$id")]
    pub id: String,
    #[serde(default)]
    pub labels: Vec<String>,
}

/// A team membership as far as authorization needs it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Membership {
    #[serde(rename = "$id")]
    pub id: String,
    #[serde(rename = "userId")]
    pub user_id: String,
    #[serde(rename = "teamId")]
    pub team_id: String,
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub confirm: bool,
}

/// The client: configuration, the shared HTTP pool and the retry policy. Build one per
/// execution (the key is per request); the HTTP pool underneath is per process.
#[derive(Debug, Clone)]
pub struct AppwriteClient {
    config: Arc<AppwriteConfig>,
    retry: RetryPolicy,
}

impl AppwriteClient {
    pub fn new(config: AppwriteConfig) -> Self {
        AppwriteClient {
            config: Arc::new(config),
            retry: RetryPolicy::default(),
        }
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    pub fn config(&self) -> &AppwriteConfig {
        &self.config
    }

    /// Sends `call`, retrying transient failures as its `retry` allows.
    pub fn send(&self, call: &Call) -> Result<Reply, AppwriteError> {
        let http = shared_http(self.config.accept_invalid_certs)?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (result, reset) = self.attempt(&http, call);
            let err = match result {
                Ok(body) => {
                    return Ok(Reply {
                        body,
                        attempts: attempt,
                    })
                }
                Err(err) => err,
            };
            let retryable = match call.retry {
                Retry::Idempotent => err.is_transient(),
                Retry::OnlyRateLimit => err.status() == Some(429),
            };
            if !retryable {
                return Err(err);
            }
            if attempt >= self.retry.attempts.max(1) {
                return Err(AppwriteError::Exhausted {
                    attempts: attempt,
                    last: Box::new(err),
                });
            }
            (self.retry.sleep)(self.retry.delay(attempt, reset));
        }
    }

    /// One attempt: the decoded body or error, plus the rate-limit reset if one was sent.
    fn attempt(
        &self,
        http: &reqwest::blocking::Client,
        call: &Call,
    ) -> (Result<Value, AppwriteError>, Option<u64>) {
        let url = format!("{}{}", self.config.endpoint, call.path);
        let mut req = http
            .request(call.method.clone(), url)
            .timeout(self.config.timeout)
            .header("X-Appwrite-Project", &self.config.project)
            .header("X-Appwrite-Key", self.config.key.expose())
            .header("X-Appwrite-Response-Format", RESPONSE_FORMAT)
            .header("Accept", "application/json");
        if !call.query.is_empty() {
            req = req.query(&call.query);
        }
        if let Some(ts) = &call.timestamp {
            req = req.header("X-Appwrite-Timestamp", ts);
        }
        if let Some(body) = &call.body {
            req = req
                .header("Content-Type", "application/json")
                .body(body.to_string());
        }
        let resp = match req.send() {
            Ok(resp) => resp,
            Err(e) => {
                return (
                    Err(AppwriteError::Transport(e.without_url().to_string())),
                    None,
                )
            }
        };
        let status = resp.status().as_u16();
        let reset = resp
            .headers()
            .get("X-RateLimit-Reset")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let bytes = match resp.bytes() {
            Ok(b) => b,
            Err(e) => {
                return (
                    Err(AppwriteError::Transport(e.without_url().to_string())),
                    reset,
                )
            }
        };
        (decode(status, &bytes), reset)
    }

    // --- TablesDB rows (appwrite-notes: Row endpoints) --------------------------------------

    fn rows_path(&self, table: &str) -> String {
        format!(
            "/tablesdb/{}/tables/{}/rows",
            segment(&self.config.database_id),
            segment(table)
        )
    }

    pub fn get_row(&self, table: &str, row_id: &str) -> Result<Reply, AppwriteError> {
        let path = format!("{}/{}", self.rows_path(table), segment(row_id));
        self.send(&Call::new(Method::GET, path, Retry::Idempotent))
    }

    /// Lists rows; `total=0` unless a count is wanted (counting costs the server). Appwrite
    /// 1.9.6 casts the raw string to `bool`, so `total=false` still counts: only `0` skips it
    /// (appwrite-notes: Query limits).
    pub fn list_rows(
        &self,
        table: &str,
        queries: &[String],
        total: bool,
    ) -> Result<Reply, AppwriteError> {
        let mut call = Call::new(Method::GET, self.rows_path(table), Retry::Idempotent);
        call.query = queries.iter().map(|q| ("queries[]", q.clone())).collect();
        call.query.push(("total", total_param(total).into()));
        self.send(&call)
    }

    /// Creates a row with a caller-chosen id, which makes a retried create detectable as
    /// `409 row_already_exists` instead of a duplicate.
    pub fn create_row(
        &self,
        table: &str,
        row_id: &str,
        data: Value,
    ) -> Result<Reply, AppwriteError> {
        let mut call = Call::new(Method::POST, self.rows_path(table), Retry::Idempotent);
        call.body = Some(json!({"rowId": row_id, "data": data}));
        self.send(&call)
    }

    /// Creates or replaces up to 100 rows, each carrying its `$id`, in one request (bulk
    /// upsert, `PUT …/rows`; appwrite-notes: Bulk upsert). Idempotent: a retry writes
    /// the same rows again.
    pub fn upsert_rows(&self, table: &str, rows: Vec<Value>) -> Result<Reply, AppwriteError> {
        let mut call = Call::new(Method::PUT, self.rows_path(table), Retry::Idempotent);
        call.body = Some(json!({ "rows": rows }));
        self.send(&call)
    }

    /// Partial update of one row, conditional on `timestamp` when given
    /// (appwrite-notes: Conditional writes).
    pub fn update_row(
        &self,
        table: &str,
        row_id: &str,
        data: Value,
        timestamp: Option<String>,
    ) -> Result<Reply, AppwriteError> {
        let path = format!("{}/{}", self.rows_path(table), segment(row_id));
        let mut call = Call::new(Method::PATCH, path, Retry::Idempotent);
        call.body = Some(json!({"data": data}));
        call.timestamp = timestamp;
        self.send(&call)
    }

    /// Deletes every row matching `queries`. Refuses an empty list, which Appwrite would take
    /// as "delete every row" (appwrite-notes: Bulk update and delete by query).
    pub fn delete_rows(&self, table: &str, queries: &[String]) -> Result<Reply, AppwriteError> {
        if queries.is_empty() {
            return Err(AppwriteError::Api {
                status: 400,
                kind: "client_refused_empty_queries".into(),
                message: "bulk delete without queries would delete every row".into(),
            });
        }
        let mut call = Call::new(Method::DELETE, self.rows_path(table), Retry::Idempotent);
        call.body = Some(json!({"queries": queries}));
        self.send(&call)
    }

    // --- Functions, users, teams (appwrite-notes: Creating an execution; Users and memberships)

    /// Triggers a function execution. Not idempotent (each call runs the function), so only a
    /// 429 is retried.
    pub fn create_execution(
        &self,
        function_id: &str,
        body: &str,
        path: &str,
        method: &str,
        asynchronous: bool,
    ) -> Result<Execution, AppwriteError> {
        let mut call = Call::new(
            Method::POST,
            format!("/functions/{}/executions", segment(function_id)),
            Retry::OnlyRateLimit,
        );
        call.body = Some(json!({
            "body": body,
            "async": asynchronous,
            "path": path,
            "method": method,
            "headers": {"content-type": "application/json"},
        }));
        parse(self.send(&call)?.body)
    }

    pub fn get_user(&self, user_id: &str) -> Result<User, AppwriteError> {
        let call = Call::new(
            Method::GET,
            format!("/users/{}", segment(user_id)),
            Retry::Idempotent,
        );
        parse(self.send(&call)?.body)
    }

    /// The user's labels (`label:<l>` roles), for authorization.
    pub fn user_labels(&self, user_id: &str) -> Result<Vec<String>, AppwriteError> {
        Ok(self.get_user(user_id)?.labels)
    }

    /// The user's memberships in a team (empty when not a member).
    pub fn list_memberships(
        &self,
        team_id: &str,
        user_id: &str,
    ) -> Result<Vec<Membership>, AppwriteError> {
        let mut call = Call::new(
            Method::GET,
            format!("/teams/{}/memberships", segment(team_id)),
            Retry::Idempotent,
        );
        call.query = vec![
            (
                "queries[]",
                query("equal", Some("userId"), vec![Value::from(user_id)]),
            ),
            ("total", total_param(false).into()),
        ];
        #[derive(Deserialize)]
        struct List {
            memberships: Vec<Membership>,
        }
        Ok(parse::<List>(self.send(&call)?.body)?.memberships)
    }
}

/// The `total` query value of a list: `"0"` skips the count, `"1"` asks for it. Appwrite 1.9.6
/// validates `total` with a loose `Boolean` but passes the raw string to `bool $includeTotal`,
/// where PHP makes `"false"` true: `total=false` counts anyway (appwrite-notes: Query limits).
pub fn total_param(total: bool) -> &'static str {
    if total {
        "1"
    } else {
        "0"
    }
}

/// Decodes a response: JSON on success, Appwrite's `{message, code, type, version}` otherwise.
fn decode(status: u16, bytes: &[u8]) -> Result<Value, AppwriteError> {
    if (200..300).contains(&status) {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        return serde_json::from_slice(bytes)
            .map_err(|e| AppwriteError::Malformed(format!("status {status}: {e}")));
    }
    #[derive(Deserialize)]
    struct Body {
        #[serde(default)]
        message: String,
        #[serde(rename = "type", default)]
        kind: String,
    }
    match serde_json::from_slice::<Body>(bytes) {
        Ok(body) => Err(AppwriteError::Api {
            status,
            kind: body.kind,
            message: body.message,
        }),
        // A proxy's HTML page or a cut body: keep the status, show a short excerpt.
        Err(_) => Err(AppwriteError::Api {
            status,
            kind: String::new(),
            message: String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into_owned(),
        }),
    }
}

fn parse<T: serde::de::DeserializeOwned>(body: Value) -> Result<T, AppwriteError> {
    serde_json::from_value(body).map_err(|e| AppwriteError::Malformed(e.to_string()))
}


/// Whether `id` is a valid Appwrite id (rows, tables, databases, functions): at most 36
/// characters of `a-z A-Z 0-9 . _ -`, not starting with a special one (Appwrite 1.9.6
/// `src/Appwrite/Utopia/Database/Validator/CustomId.php`, over utopia-php/database's `Key`).
pub fn valid_id(id: &str) -> bool {
    let first_ok = id.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
    first_ok
        && id.len() <= 36
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
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

    #[test]
    fn backoff_is_capped_and_waits_for_the_rate_limit_reset() {
        let policy = RetryPolicy {
            attempts: 3,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
            sleep: Arc::new(|_| {}),
        };
        let first = policy.delay(1, None);
        assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
        assert!(policy.delay(30, None) <= policy.max_delay);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(policy.delay(1, Some(now + 60)) == Duration::from_secs(2));
    }

    #[test]
    fn error_bodies_keep_appwrites_type_and_message() {
        let err = decode(
            404,
            br#"{"message":"Row with the requested ID 'x' could not be found.","code":404,"type":"row_not_found","version":"1.9.6"}"#,
        )
        .unwrap_err();
        assert_eq!(err.kind(), Some("row_not_found"));
        assert!(err.to_string().contains("could not be found"));
        assert!(matches!(
            decode(200, b"{not json"),
            Err(AppwriteError::Malformed(_))
        ));
        assert_eq!(
            decode(502, b"<html>bad gateway</html>")
                .unwrap_err()
                .status(),
            Some(502)
        );
    }
}
