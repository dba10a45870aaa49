//! The execution document Appwrite's webhook delivers, parsed strictly (`docs/observer.md`),
//! and the replay window it is judged by.

use chrono::Duration;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::http::ApiError;
use crate::job::{clip_text, parse_timestamp, JobStatus, Timestamp};
use crate::store::id;

/// An execution's status, as Appwrite spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExecStatus {
    Waiting,
    Scheduled,
    Processing,
    Completed,
    Failed,
}

impl ExecStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ExecStatus::Waiting => "waiting",
            ExecStatus::Scheduled => "scheduled",
            ExecStatus::Processing => "processing",
            ExecStatus::Completed => "completed",
            ExecStatus::Failed => "failed",
        }
    }

    pub fn is_final(self) -> bool {
        matches!(self, ExecStatus::Completed | ExecStatus::Failed)
    }

    /// The job status an un-adopted function's job mirrors.
    pub(super) fn job_status(self) -> JobStatus {
        match self {
            ExecStatus::Waiting | ExecStatus::Scheduled => JobStatus::Queued,
            ExecStatus::Processing => JobStatus::Running,
            ExecStatus::Completed => JobStatus::Completed,
            ExecStatus::Failed => JobStatus::Failed,
        }
    }
}

/// The members of Appwrite's execution document the observer uses; others are ignored.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawExecution {
    #[serde(rename = "$id")]
    id: String,
    #[serde(rename = "$createdAt", default)]
    created_at: Option<String>,
    #[serde(rename = "$updatedAt", default)]
    updated_at: Option<String>,
    function_id: String,
    status: ExecStatus,
    #[serde(default)]
    trigger: Option<String>,
    #[serde(default)]
    response_status_code: Option<i64>,
    #[serde(default)]
    errors: Option<String>,
    #[serde(default)]
    duration: Option<f64>,
}

/// One execution event's document, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Execution {
    pub id: String,
    pub function_id: String,
    pub status: ExecStatus,
    pub(crate) trigger: String,
    pub(crate) created_at: Option<Timestamp>,
    updated_at: Option<Timestamp>,
    pub(crate) response_status_code: i64,
    /// The execution's error output, clipped to the free-text limit.
    pub errors: String,
    /// Seconds the execution ran (0 until it ends).
    pub duration: f64,
}

impl Execution {
    /// Parses a webhook body. The members used must be present and well typed (400 naming the
    /// member otherwise); unknown members are ignored since Appwrite adds them over versions.
    pub fn parse(body: &[u8]) -> Result<Execution, ApiError> {
        let value: Value = serde_json::from_slice(body).map_err(|e| ApiError::not_json(&e))?;
        if !value.is_object() {
            return Err(ApiError::invalid(
                "$id",
                "the body must be an execution document (a JSON object)",
            ));
        }
        let raw: RawExecution = crate::hooks::fields(value)?;
        for (field, value) in [("$id", &raw.id), ("functionId", &raw.function_id)] {
            if !id::is_valid(value) {
                return Err(ApiError::invalid(field, "must be an Appwrite id"));
            }
        }
        let stamp = |field: &'static str, raw: &Option<String>| match raw.as_deref() {
            // Appwrite's model answers "" for a timestamp the document does not have yet.
            None | Some("") => Ok(None),
            Some(text) => parse_timestamp(field, text)
                .map(Some)
                .map_err(|e| ApiError::invalid(field, e.to_string())),
        };
        let duration = raw.duration.unwrap_or(0.0);
        if !duration.is_finite() || !(0.0..=1e7).contains(&duration) {
            return Err(ApiError::invalid(
                "duration",
                "must be a number of seconds from 0",
            ));
        }
        Ok(Execution {
            created_at: stamp("$createdAt", &raw.created_at)?,
            updated_at: stamp("$updatedAt", &raw.updated_at)?,
            id: raw.id,
            function_id: raw.function_id,
            status: raw.status,
            trigger: raw.trigger.unwrap_or_default(),
            response_status_code: raw.response_status_code.unwrap_or(0),
            errors: clip_text(raw.errors.as_deref().unwrap_or("")),
            duration,
        })
    }

    /// When the event happened as far as the document tells: its `$updatedAt`, or its start plus
    /// its duration, whichever is later. `None` when the document carries no time at all.
    fn time(&self) -> Option<Timestamp> {
        let ended = self
            .created_at
            .map(|c| c + Duration::milliseconds((self.duration * 1000.0) as i64));
        match (self.updated_at, ended) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }

    /// Whether the event is too old to act on (a replay, or a delivery long overdue).
    pub fn is_stale(&self, now: Timestamp, max_age: Duration) -> bool {
        self.time().is_some_and(|t| now - t > max_age)
    }

    pub(super) fn duration_ms(&self) -> i64 {
        (self.duration * 1000.0) as i64
    }

    /// The log entry's details: enough to find the execution in the Appwrite console.
    pub(super) fn details(&self) -> Map<String, Value> {
        let details = json!({
            "executionId": self.id,
            "functionId": self.function_id,
            "executionStatus": self.status.as_str(),
            "responseStatusCode": self.response_status_code,
            "durationMs": self.duration_ms(),
            "trigger": self.trigger,
        });
        match details {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }
}
