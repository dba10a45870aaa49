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
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
            extra: None,
        }
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError {
            field: Some(field.into()),
            ..ApiError::new(400, "invalid_input", message)
        }
    }

    pub fn with_extra(mut self, extra: Value) -> Self {
        self.extra = Some(extra);
        self
    }

    pub fn body(&self) -> Value {
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
    pub fn is_server_error(&self) -> bool {
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
            E::NotRetryable { ref job } => ApiError::new(409, "not_retryable", e.to_string())
                .with_extra(json!({"status": job.status, "control": job.control()})),
            E::Store(StoreError::Unavailable(msg)) => {
                ApiError::new(503, "store_unavailable", "the job store is unavailable")
                    .with_extra(json!({"retryable": true, "detail": msg}))
            }
            E::Store(StoreError::Conflict { .. }) => ApiError::new(
                503,
                "busy",
                "the job changed concurrently too often; retry the request",
            )
            .with_extra(json!({"retryable": true})),
            E::Store(_) => ApiError::new(500, "internal", "internal error"),
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

/// Answers an error, logging server errors' causes through the context (never secrets).
pub fn error(ctx: &Context, err: &ApiError) -> Response {
    if err.is_server_error() {
        ctx.error(format!("{} {}: {}", err.status, err.code, err.message));
        let mut neutral = err.clone();
        neutral.extra = neutral.extra.map(|mut v| {
            if let Some(map) = v.as_object_mut() {
                map.remove("detail");
            }
            v
        });
        return ctx.res.json(neutral.body(), Some(err.status), None);
    }
    ctx.res.json(err.body(), Some(err.status), None)
}
