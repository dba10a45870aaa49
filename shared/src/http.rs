//! The HTTP edge shared by every function: one error type mapped to a status and the body
//! `{"error": {"code", "message", "field"}}`, and JSON responses. 4xx bodies explain; 5xx
//! bodies stay neutral while the cause is logged once by the caller.

use openruntimes::{Context, Response};
use serde::Serialize;
use serde_json::{json, Value};

use crate::store::StoreError;
use crate::usecase;

/// An error answered to a caller.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    /// Extra members merged into the body next to `error` (e.g. the job and its control value).
    pub extra: Option<Value>,
    /// What went wrong underneath, for the function's error log only: never in the body.
    /// (Boxed: keeps the error small enough to return by value everywhere.)
    pub cause: Option<Box<str>>,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
            extra: None,
            cause: None,
        }
    }

    /// 400 `invalid_json`: a request body that is not JSON at all, with the parser's reason.
    pub(crate) fn not_json(e: &serde_json::Error) -> Self {
        ApiError::new(
            400,
            "invalid_json",
            format!("the body is not valid JSON: {e}"),
        )
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError {
            field: Some(field.into()),
            ..ApiError::new(400, "invalid_input", message)
        }
    }

    /// Records the underlying cause, logged (once, by [`error`]) but never answered.
    pub fn with_cause(mut self, cause: impl Into<String>) -> Self {
        self.cause = Some(cause.into().into_boxed_str());
        self
    }

    pub fn with_extra(mut self, extra: Value) -> Self {
        self.extra = Some(extra);
        self
    }

    fn body(&self) -> Value {
        let mut body = json!({
            "error": {"code": self.code, "message": self.message, "field": self.field}
        });
        if let (Some(Value::Object(extra)), Value::Object(map)) = (&self.extra, &mut body) {
            for (k, v) in extra {
                map.insert(k.clone(), v.clone());
            }
        }
        body
    }

    /// Whether the message may be shown: 5xx details stay in the logs.
    fn is_server_error(&self) -> bool {
        self.status >= 500
    }
}

impl From<usecase::Error> for ApiError {
    fn from(e: usecase::Error) -> Self {
        use usecase::Error as E;
        match e {
            E::Invalid { field, reason } => {
                ApiError::invalid(field, format!("invalid `{field}`: {reason}"))
            }
            E::NotFound(id) => ApiError {
                field: Some("jobId".into()),
                ..ApiError::new(404, "job_not_found", format!("job `{id}` not found"))
            },
            E::Illegal { ref job, event } => {
                ApiError::new(409, "invalid_transition", e.to_string()).with_extra(json!({
                    "status": job.status, "event": event, "control": job.control()
                }))
            }
            // Hooks answer these as 200 (docs/hooks.md § Runs); other callers never run as a run.
            E::Stopped { ref job, code } => ApiError::new(409, code.as_str(), e.to_string())
                .with_extra(json!({"control": "cancel", "run": job.run})),
            E::Granted { ref job, run } => ApiError::new(409, "granted", e.to_string())
                .with_extra(json!({"control": "continue", "run": run, "status": job.status})),
            E::NotRetryable { ref job } => ApiError::new(409, "not_retryable", e.to_string())
                .with_extra(json!({"status": job.status, "control": job.control()})),
            // 5xx: a stable code the operator looks up in docs/hooks.md § Errors, a neutral
            // message, and the cause for the log.
            E::Store(StoreError::Unavailable(msg)) => {
                ApiError::new(503, "store_unavailable", "the job store is unavailable")
                    .with_extra(json!({"retryable": true}))
                    .with_cause(msg)
            }
            E::Store(StoreError::Conflict { id }) => ApiError::new(
                503,
                "busy",
                "the job changed concurrently too often; retry the request",
            )
            .with_extra(json!({"retryable": true}))
            .with_cause(format!("compare-and-set on job `{id}` kept conflicting")),
            E::Store(StoreError::Denied(msg)) => ApiError::new(
                500,
                "appwrite_forbidden",
                "Appwrite refused this function's key (missing scope or wrong project)",
            )
            .with_cause(msg),
            E::Store(StoreError::Missing(msg)) => ApiError::new(
                500,
                "appwrite_not_found",
                "Appwrite has no such database, table or endpoint (check the configuration)",
            )
            .with_cause(msg),
            E::Store(StoreError::Backend(msg)) => {
                ApiError::new(500, "store_error", "the job store failed").with_cause(msg)
            }
            E::Store(other) => {
                ApiError::new(500, "internal", "internal error").with_cause(other.to_string())
            }
        }
    }
}

/// Answers `value` as JSON with `status`.
pub fn json<T: Serialize>(ctx: &Context, status: u16, value: &T) -> Response {
    match serde_json::to_value(value) {
        Ok(v) => ctx.res.json(v, Some(status), None),
        Err(_) => ctx.res.json(
            ApiError::new(500, "internal", "internal error").body(),
            Some(500),
            None,
        ),
    }
}

/// The id an operator finds a failed call by: the execution's own id (Appwrite sets
/// `x-appwrite-execution-id` on every execution; appwrite-notes: Execution id header).
fn request_id(ctx: &Context) -> String {
    ctx.req
        .headers
        .get("x-appwrite-execution-id")
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .unwrap_or("unknown")
        .to_owned()
}

/// The one line a server error is logged as: status, stable code, request id and the cause.
/// Causes come from our own errors and Appwrite's messages, which never carry the key.
pub fn log_line(err: &ApiError, request_id: &str) -> String {
    format!(
        "{} {} request {request_id}: {}",
        err.status,
        err.code,
        err.cause.as_deref().unwrap_or(&err.message)
    )
}

/// Answers an error. A server error is logged once to the function's error log
/// (`context.error`) with its cause and request id, and answered with its stable code, a
/// neutral message and the `requestId`, never the cause.
pub fn error(ctx: &Context, err: &ApiError) -> Response {
    if err.is_server_error() {
        let id = request_id(ctx);
        ctx.error(log_line(err, &id));
        let mut extra = match err.extra.clone() {
            Some(Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        };
        extra.insert("requestId".into(), Value::String(id));
        let neutral = err.clone().with_extra(Value::Object(extra));
        return ctx.res.json(neutral.body(), Some(err.status), None);
    }
    ctx.res.json(err.body(), Some(err.status), None)
}
