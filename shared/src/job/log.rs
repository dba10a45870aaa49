//! The job's log: who acted (actors) and the entries of `job_events`. Pure, like the rest of
//! `job`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{time_serde, Event, JobStatus, Timestamp};

/// Who caused a change: a signed-in user, one of our functions, or the system itself.
pub fn actor_user(user_id: &str) -> String {
    format!("user:{user_id}")
}
pub fn actor_function(function_id: &str) -> String {
    format!("function:{function_id}")
}
pub const ACTOR_SYSTEM: &str = "system";

/// The kinds of entries in a job's log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum EventKind {
    Created,
    Started,
    Progress,
    Heartbeat,
    PauseRequested,
    Paused,
    Resumed,
    Cancelled,
    Completed,
    Failed,
    Stalled,
    Retried,
    /// A worker call that was not applied because its run is over (docs/hooks.md § Runs).
    Ignored,
    /// An alert about the job (or a schedule) was delivered (docs/alerts.md); moves nothing.
    Alerted,
}

impl EventKind {
    pub(crate) fn for_event(event: Event) -> EventKind {
        match event {
            Event::Start => EventKind::Started,
            Event::Progress => EventKind::Progress,
            Event::Heartbeat => EventKind::Heartbeat,
            Event::WorkerPaused => EventKind::Paused,
            Event::Pause => EventKind::PauseRequested,
            Event::Resume => EventKind::Resumed,
            Event::Cancel => EventKind::Cancelled,
            Event::Complete => EventKind::Completed,
            Event::Fail => EventKind::Failed,
            Event::Stall => EventKind::Stalled,
        }
    }
}

/// One append-only entry of a job's log ("full logs" on the detail page).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobEvent {
    #[serde(rename = "$id")]
    pub id: String,
    pub job_id: String,
    #[serde(with = "time_serde")]
    pub at: Timestamp,
    pub kind: EventKind,
    pub actor: String,
    pub message: Option<String>,
    /// Status before and after, when the event changed it: the log is a path through the
    /// state machine that tests can replay.
    pub from_status: Option<JobStatus>,
    pub to_status: Option<JobStatus>,
    pub details: Map<String, Value>,
}
