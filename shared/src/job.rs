//! The job model of the requirements (`jobs` table) and the one state machine every status
//! change passes through. Pure data and pure functions: this module does no IO and reads no clock.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Timestamps travel and are stored with millisecond precision, as Appwrite keeps them.
pub type Timestamp = DateTime<Utc>;

/// Truncates a clock reading to the millisecond precision every store keeps, so a value read
/// back equals the value written.
pub fn millis(t: Timestamp) -> Timestamp {
    t.trunc_subsecs(3)
}

/// Parses an RFC 3339 timestamp (any offset) into UTC milliseconds.
pub fn parse_timestamp(field: &'static str, raw: &str) -> Result<Timestamp, JobError> {
    DateTime::parse_from_rfc3339(raw)
        .map(|t| millis(t.with_timezone(&Utc)))
        .map_err(|_| JobError::invalid(field, format!("`{raw}` is not an RFC 3339 timestamp")))
}

/// Formats a timestamp for our JSON (hook answers, the action API, the dashboard), the one
/// format every job and log entry serializes with: RFC 3339 UTC with exactly three fraction
/// digits, `2026-11-29T11:48:05.000Z`, so columns line up and strings sort as times. (Appwrite's
/// own wire format is `appwrite::datetime`.)
pub fn format_timestamp(t: &Timestamp) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// Serde for timestamp fields in [`format_timestamp`]'s form; any RFC 3339 offset is read.
mod time_serde {
    use super::{format_timestamp, Timestamp};
    use chrono::DateTime;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_timestamp(t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        let raw = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&raw)
            .map(|t| t.with_timezone(&chrono::Utc))
            .map_err(serde::de::Error::custom)
    }

    pub mod option {
        use super::*;

        pub fn serialize<S: Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => super::serialize(t, s),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
            Option::<String>::deserialize(d)?
                .map(|raw| {
                    DateTime::parse_from_rfc3339(&raw)
                        .map(|t| t.with_timezone(&chrono::Utc))
                        .map_err(serde::de::Error::custom)
                })
                .transpose()
        }
    }
}

/// Errors of the job model itself: bad values and illegal transitions. Each names the field or
/// the transition so callers can report it without guessing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    #[error("invalid `{field}`: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("cannot {event} a job that is {from}")]
    InvalidTransition { from: JobStatus, event: Event },
}

impl JobError {
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        JobError::Invalid {
            field,
            reason: reason.into(),
        }
    }
}

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident, $field:literal { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = JobError;
            fn from_str(s: &str) -> Result<Self, JobError> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(JobError::invalid(
                        $field,
                        format!("`{s}` is not one of {}", [$($text),+].join(", ")),
                    )),
                }
            }
        }
    };
}

string_enum!(
    /// What kind of background work a job tracks; fixed by the hook that creates it.
    JobType, "type" {
        CampaignRun => "CAMPAIGN_RUN",
        BulkVerify => "BULK_VERIFY",
        SqsPoll => "SQS_POLL",
        MetricsFetch => "METRICS_FETCH",
    }
);

string_enum!(
    /// Where a job is in its life. `COMPLETED`, `FAILED` and `CANCELLED` are final.
    JobStatus, "status" {
        Queued => "QUEUED",
        Running => "RUNNING",
        Paused => "PAUSED",
        Completed => "COMPLETED",
        Failed => "FAILED",
        Cancelled => "CANCELLED",
    }
);

impl JobType {
    /// The hook function each job type reports through: the one table from job type to
    /// function id (appwrite.json declares the same ids; `tools/deploy-check` checks it).
    pub const fn hook_function(self) -> &'static str {
        match self {
            JobType::CampaignRun => "hook-campaign-run",
            JobType::BulkVerify => "hook-bulk-verify",
            JobType::SqsPoll => "hook-sqs-poll",
            JobType::MetricsFetch => "hook-metrics-fetch",
        }
    }

    /// The job type whose hook is `function_id`, if it is one.
    pub fn of_hook_function(function_id: &str) -> Option<JobType> {
        JobType::ALL
            .iter()
            .copied()
            .find(|t| t.hook_function() == function_id)
    }
}

impl JobStatus {
    pub const ACTIVE: &'static [JobStatus] =
        &[JobStatus::Queued, JobStatus::Running, JobStatus::Paused];
    pub const FINAL: &'static [JobStatus] = &[
        JobStatus::Completed,
        JobStatus::Failed,
        JobStatus::Cancelled,
    ];

    pub fn is_final(self) -> bool {
        Self::FINAL.contains(&self)
    }
}

/// Everything that can happen to a job. Workers cause `Start` … `Fail` and `WorkerPaused`;
/// users cause `Pause`, `Resume`, `Cancel`; the sweeper causes `Stall`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Event {
    Start,
    Progress,
    Heartbeat,
    /// The worker confirms it stopped after being told to pause.
    WorkerPaused,
    Pause,
    Resume,
    Cancel,
    Complete,
    Fail,
    Stall,
}

impl Event {
    pub const ALL: &'static [Event] = &[
        Event::Start,
        Event::Progress,
        Event::Heartbeat,
        Event::WorkerPaused,
        Event::Pause,
        Event::Resume,
        Event::Cancel,
        Event::Complete,
        Event::Fail,
        Event::Stall,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Event::Start => "start",
            Event::Progress => "progress",
            Event::Heartbeat => "heartbeat",
            Event::WorkerPaused => "confirm pause of",
            Event::Pause => "pause",
            Event::Resume => "resume",
            Event::Cancel => "cancel",
            Event::Complete => "complete",
            Event::Fail => "fail",
            Event::Stall => "mark stalled",
        }
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The state machine: the status a job moves to when `event` happens in `from`.
///
/// Worker reports on a paused job are accepted but leave it paused: the worker may still be
/// finishing its current batch when the user pauses, and its answer tells it to stop. A resumed
/// job goes back to `QUEUED` until its worker, re-triggered, reports again.
pub fn transition(from: JobStatus, event: Event) -> Result<JobStatus, JobError> {
    use Event as E;
    use JobStatus as S;
    let next = match (from, event) {
        (S::Completed | S::Failed | S::Cancelled, _) => None,
        (S::Queued | S::Running, E::Start | E::Progress | E::Heartbeat) => Some(S::Running),
        (S::Queued | S::Running, E::Pause | E::WorkerPaused) => Some(S::Paused),
        (S::Paused, E::Start | E::Progress | E::Heartbeat | E::WorkerPaused) => Some(S::Paused),
        (S::Paused, E::Resume) => Some(S::Queued),
        (S::Queued | S::Running | S::Paused, E::Cancel) => Some(S::Cancelled),
        (S::Queued | S::Running | S::Paused, E::Complete) => Some(S::Completed),
        (S::Queued | S::Running | S::Paused, E::Fail) => Some(S::Failed),
        (S::Queued | S::Running, E::Stall) => Some(S::Failed),
        (S::Queued | S::Running, E::Resume) | (S::Paused, E::Pause | E::Stall) => None,
    };
    next.ok_or(JobError::InvalidTransition { from, event })
}

/// What a worker should do next, derived from the job's status and answered on every hook call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Control {
    Continue,
    Pause,
    Cancel,
}

impl Control {
    pub fn for_status(status: JobStatus) -> Control {
        match status {
            JobStatus::Queued | JobStatus::Running => Control::Continue,
            JobStatus::Paused => Control::Pause,
            // A worker still holding a finished job must stop whatever the reason.
            JobStatus::Completed | JobStatus::Failed | JobStatus::Cancelled => Control::Cancel,
        }
    }
}

/// Largest `metadata` / `result` document we accept, in bytes of JSON; it must fit the
/// Appwrite text column (see appwrite.json).
pub const MAX_JSON_BYTES: usize = 65_000;
/// Longest free text (messages, errors) we keep, in characters; longer text is cut.
pub const MAX_TEXT_CHARS: usize = 2_000;
/// Longest reference id, matching the column size.
pub const MAX_REFERENCE_CHARS: usize = 255;

/// One tracked background job. Field names on the wire are the requirements' (`referenceId`,
/// `progressMessage`, …); the fields after `metadata` are additions explained in ARCHITECTURE.md.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    #[serde(rename = "$id")]
    pub id: String,
    #[serde(rename = "type")]
    pub job_type: JobType,
    pub status: JobStatus,
    pub reference_id: String,
    pub progress: u8,
    pub progress_message: Option<String>,
    #[serde(with = "time_serde::option")]
    pub started_at: Option<Timestamp>,
    #[serde(with = "time_serde")]
    pub updated_at: Timestamp,
    #[serde(with = "time_serde::option")]
    pub completed_at: Option<Timestamp>,
    pub error_message: Option<String>,
    pub metadata: Map<String, Value>,
    #[serde(with = "time_serde")]
    pub created_at: Timestamp,
    /// Last sign of life from the worker (or the time it was queued); the sweeper compares it.
    #[serde(with = "time_serde")]
    pub heartbeat_at: Timestamp,
    /// Units of work done and expected, when the worker counts (e.g. emails sent of 200).
    pub done: Option<u64>,
    pub total: Option<u64>,
    /// Where a resumed worker picks up (a cursor, an offset); opaque to us.
    pub checkpoint: Option<Value>,
    /// Outcome counters for history rows (sent / failed / bounced, valid / invalid …).
    pub result: Option<Map<String, Value>>,
    pub idempotency_key: Option<String>,
    /// Who made the last control action (pause/resume/cancel/retry/stall) and why.
    pub last_actor: Option<String>,
    pub last_reason: Option<String>,
    /// The job this one retries, if any.
    pub retry_of: Option<String>,
    /// Bumped by every write; stores apply a write only if the row still has the revision it was
    /// read at, which makes every read-modify-write a compare-and-set.
    pub rev: u64,
}

impl Job {
    pub fn control(&self) -> Control {
        Control::for_status(self.status)
    }

    /// Moves the job through `event` at `now`, maintaining the timestamp invariants:
    /// `startedAt` set when it first runs, `completedAt` exactly when final, `updatedAt` always.
    pub fn apply(&mut self, event: Event, now: Timestamp) -> Result<JobStatus, JobError> {
        let from = self.status;
        let to = transition(from, event)?;
        let now = millis(now);
        self.status = to;
        self.updated_at = now;
        if to == JobStatus::Running && self.started_at.is_none() {
            self.started_at = Some(now);
        }
        if to.is_final() {
            self.completed_at = Some(now);
        }
        if matches!(
            event,
            Event::Start | Event::Progress | Event::Heartbeat | Event::WorkerPaused | Event::Resume
        ) {
            self.heartbeat_at = now;
        }
        Ok(to)
    }

    /// Records progress: never backwards, never above 100. Returns whether the percent moved.
    pub fn record_progress(&mut self, progress: u8) -> bool {
        let next = progress.min(100).max(self.progress);
        let moved = next != self.progress;
        self.progress = next;
        moved
    }

    /// Duration in milliseconds: until completion for finished jobs, until `now` otherwise.
    pub fn duration_ms(&self, now: Timestamp) -> Option<i64> {
        let start = self.started_at?;
        let end = self.completed_at.unwrap_or(now);
        Some((end - start).num_milliseconds().max(0))
    }

    /// Estimated milliseconds left for a running job, extrapolated from progress so far.
    pub fn eta_ms(&self, now: Timestamp) -> Option<i64> {
        if self.status != JobStatus::Running || self.progress == 0 || self.progress >= 100 {
            return None;
        }
        let elapsed = self.duration_ms(now)?;
        let p = i64::from(self.progress);
        Some(elapsed * (100 - p) / p)
    }
}

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
}

impl EventKind {
    pub fn for_event(event: Event) -> EventKind {
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

/// Cuts free text to `MAX_TEXT_CHARS` characters on a char boundary.
pub fn clip_text(text: &str) -> String {
    match text.char_indices().nth(MAX_TEXT_CHARS) {
        Some((cut, _)) => text[..cut].to_owned(),
        None => text.to_owned(),
    }
}

/// Checks that a JSON value (an object, or an opaque checkpoint) fits the column it is stored in.
pub fn check_json_size(
    field: &'static str,
    value: &(impl Serialize + ?Sized),
) -> Result<(), JobError> {
    let size = serde_json::to_vec(value)
        .map(|v| v.len())
        .unwrap_or(usize::MAX);
    if size > MAX_JSON_BYTES {
        return Err(JobError::invalid(
            field,
            format!("is {size} bytes of JSON; at most {MAX_JSON_BYTES} are allowed"),
        ));
    }
    Ok(())
}

/// A validated reference id: non-empty, at most 255 characters, no control characters.
pub fn check_reference(raw: &str) -> Result<String, JobError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(JobError::invalid("referenceId", "must not be empty"));
    }
    if trimmed.chars().count() > MAX_REFERENCE_CHARS {
        return Err(JobError::invalid(
            "referenceId",
            format!("must be at most {MAX_REFERENCE_CHARS} characters"),
        ));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(JobError::invalid(
            "referenceId",
            "must not contain control characters",
        ));
    }
    Ok(trimmed.to_owned())
}

/// Percent of `done` out of `total`, rounded down; an error when `done` exceeds `total`.
pub fn percent(done: u64, total: u64) -> Result<u8, JobError> {
    if total == 0 {
        return Err(JobError::invalid("total", "must be greater than 0"));
    }
    if done > total {
        return Err(JobError::invalid(
            "done",
            format!("{done} is greater than total {total}"),
        ));
    }
    Ok(u8::try_from(done.saturating_mul(100) / total).unwrap_or(100))
}

#[cfg(test)]
mod tests {
    use super::*;
    use Event as E;
    use JobStatus as S;

    /// Every (status, event) pair and what the machine must answer; `None` is an illegal move.
    const TABLE: &[(JobStatus, Event, Option<JobStatus>)] = &[
        (S::Queued, E::Start, Some(S::Running)),
        (S::Queued, E::Progress, Some(S::Running)),
        (S::Queued, E::Heartbeat, Some(S::Running)),
        (S::Queued, E::WorkerPaused, Some(S::Paused)),
        (S::Queued, E::Pause, Some(S::Paused)),
        (S::Queued, E::Resume, None),
        (S::Queued, E::Cancel, Some(S::Cancelled)),
        (S::Queued, E::Complete, Some(S::Completed)),
        (S::Queued, E::Fail, Some(S::Failed)),
        (S::Queued, E::Stall, Some(S::Failed)),
        (S::Running, E::Start, Some(S::Running)),
        (S::Running, E::Progress, Some(S::Running)),
        (S::Running, E::Heartbeat, Some(S::Running)),
        (S::Running, E::WorkerPaused, Some(S::Paused)),
        (S::Running, E::Pause, Some(S::Paused)),
        (S::Running, E::Resume, None),
        (S::Running, E::Cancel, Some(S::Cancelled)),
        (S::Running, E::Complete, Some(S::Completed)),
        (S::Running, E::Fail, Some(S::Failed)),
        (S::Running, E::Stall, Some(S::Failed)),
        (S::Paused, E::Start, Some(S::Paused)),
        (S::Paused, E::Progress, Some(S::Paused)),
        (S::Paused, E::Heartbeat, Some(S::Paused)),
        (S::Paused, E::WorkerPaused, Some(S::Paused)),
        (S::Paused, E::Pause, None),
        (S::Paused, E::Resume, Some(S::Queued)),
        (S::Paused, E::Cancel, Some(S::Cancelled)),
        (S::Paused, E::Complete, Some(S::Completed)),
        (S::Paused, E::Fail, Some(S::Failed)),
        (S::Paused, E::Stall, None),
    ];

    #[test]
    fn every_status_event_pair_follows_the_table() {
        let mut seen = 0;
        for &from in JobStatus::ALL {
            for &event in Event::ALL {
                let got = transition(from, event).ok();
                let want = if from.is_final() {
                    None
                } else {
                    TABLE
                        .iter()
                        .find(|(f, e, _)| *f == from && *e == event)
                        .unwrap_or_else(|| panic!("table lacks ({from}, {event:?})"))
                        .2
                };
                assert_eq!(got, want, "({from}, {event:?})");
                seen += 1;
            }
        }
        assert_eq!(seen, JobStatus::ALL.len() * Event::ALL.len());
        assert_eq!(TABLE.len(), 3 * Event::ALL.len());
    }

    #[test]
    fn illegal_transition_names_status_and_event() {
        let err = transition(S::Completed, E::Resume).unwrap_err();
        assert_eq!(err.to_string(), "cannot resume a job that is COMPLETED");
    }

    #[test]
    fn statuses_and_types_round_trip_as_the_seed_strings() {
        for s in JobStatus::ALL {
            assert_eq!(s.as_str().parse::<JobStatus>().unwrap(), *s);
            assert_eq!(serde_json::to_value(s).unwrap(), Value::from(s.as_str()));
        }
        for t in JobType::ALL {
            assert_eq!(t.as_str().parse::<JobType>().unwrap(), *t);
        }
        let err = "running".parse::<JobStatus>().unwrap_err();
        assert!(
            matches!(
                err,
                JobError::Invalid {
                    field: "status",
                    ..
                }
            ),
            "{err}"
        );
        let err = "EMAIL".parse::<JobType>().unwrap_err();
        assert!(err.to_string().contains("CAMPAIGN_RUN"), "{err}");
    }

    fn job() -> Job {
        let t = millis(Utc::now());
        Job {
            id: "j1".into(),
            job_type: JobType::CampaignRun,
            status: S::Queued,
            reference_id: "c1".into(),
            progress: 0,
            progress_message: None,
            started_at: None,
            updated_at: t,
            completed_at: None,
            error_message: None,
            metadata: Map::new(),
            created_at: t,
            heartbeat_at: t,
            done: None,
            total: None,
            checkpoint: None,
            result: None,
            idempotency_key: None,
            last_actor: None,
            last_reason: None,
            retry_of: None,
            rev: 1,
        }
    }

    #[test]
    fn timestamps_serialize_with_milliseconds_and_z_and_read_any_offset() {
        let mut j = job();
        j.created_at = "2026-01-02T03:04:05+00:00".parse().unwrap();
        j.started_at = Some(j.created_at);
        let v = serde_json::to_value(&j).unwrap();
        assert_eq!(v["createdAt"], "2026-01-02T03:04:05.000Z");
        assert_eq!(v["startedAt"], "2026-01-02T03:04:05.000Z");
        assert_eq!(v["completedAt"], Value::Null);
        let mut v = v;
        v["createdAt"] = "2026-01-02T04:04:05.250+01:00".into();
        let back: Job = serde_json::from_value(v).unwrap();
        assert_eq!(
            format_timestamp(&back.created_at),
            "2026-01-02T03:04:05.250Z"
        );
    }

    #[test]
    fn started_at_is_set_once_and_completed_at_only_when_final() {
        let mut j = job();
        let t0 = j.created_at + chrono::Duration::seconds(1);
        j.apply(E::Start, t0).unwrap();
        assert_eq!(j.started_at, Some(t0));
        j.apply(E::Pause, t0 + chrono::Duration::seconds(1))
            .unwrap();
        j.apply(E::Resume, t0 + chrono::Duration::seconds(2))
            .unwrap();
        j.apply(E::Start, t0 + chrono::Duration::seconds(3))
            .unwrap();
        assert_eq!(j.started_at, Some(t0), "a second run keeps the first start");
        assert_eq!(j.completed_at, None);
        let end = t0 + chrono::Duration::seconds(4);
        j.apply(E::Complete, end).unwrap();
        assert_eq!(j.completed_at, Some(end));
        assert_eq!(j.updated_at, end);
        assert!(j.apply(E::Fail, end).is_err(), "final states never change");
        assert_eq!(j.status, S::Completed);
    }

    #[test]
    fn progress_never_goes_backwards_or_above_100() {
        let mut j = job();
        assert!(j.record_progress(40));
        assert!(!j.record_progress(30));
        assert_eq!(j.progress, 40);
        assert!(j.record_progress(250));
        assert_eq!(j.progress, 100);
    }

    #[test]
    fn percent_rejects_done_above_total_and_zero_total() {
        assert_eq!(percent(50, 200).unwrap(), 25);
        assert_eq!(percent(200, 200).unwrap(), 100);
        assert!(matches!(
            percent(201, 200),
            Err(JobError::Invalid { field: "done", .. })
        ));
        assert!(matches!(
            percent(0, 0),
            Err(JobError::Invalid { field: "total", .. })
        ));
    }

    #[test]
    fn control_follows_status() {
        assert_eq!(Control::for_status(S::Running), Control::Continue);
        assert_eq!(Control::for_status(S::Paused), Control::Pause);
        assert_eq!(Control::for_status(S::Cancelled), Control::Cancel);
    }

    #[test]
    fn eta_extrapolates_from_elapsed_time() {
        let mut j = job();
        let t0 = j.created_at;
        j.apply(E::Start, t0).unwrap();
        j.record_progress(25);
        assert_eq!(j.eta_ms(t0 + chrono::Duration::seconds(10)), Some(30_000));
    }

    #[test]
    fn clip_text_cuts_on_char_boundaries() {
        let long = "é".repeat(MAX_TEXT_CHARS + 5);
        assert_eq!(clip_text(&long).chars().count(), MAX_TEXT_CHARS);
    }
}
