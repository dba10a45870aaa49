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
pub(crate) fn millis(t: Timestamp) -> Timestamp {
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

    pub(crate) fn serialize<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_timestamp(t))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        let raw = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&raw)
            .map(|t| t.with_timezone(&chrono::Utc))
            .map_err(serde::de::Error::custom)
    }

    pub(crate) mod option {
        use super::*;

        pub(crate) fn serialize<S: Serializer>(
            t: &Option<Timestamp>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => super::serialize(t, s),
                None => s.serialize_none(),
            }
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<Timestamp>, D::Error> {
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
}

impl JobStatus {
    pub(crate) const ACTIVE: &'static [JobStatus] =
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
    /// Every event, for the tests over every (status, event) pair.
    #[cfg(test)]
    const ALL: &'static [Event] = &[
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

    fn as_str(self) -> &'static str {
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
    fn for_status(status: JobStatus) -> Control {
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
    /// The current run: one worker's tenure. Advanced by every start that picks the job up and by
    /// resume (see `Job::apply`); only calls of the current run may change the job
    /// (`Job::fence`). 0 until a worker first picks the job up. docs/hooks.md § Runs.
    #[serde(default)]
    pub run: u64,
    /// The execution id the last written hook call carried (the worker's own execution), or,
    /// until that worker's `start`, the execution a resume or retry re-triggered for the run
    /// (`usecase::link_execution`). Cleared when a new run begins and when the worker's stop
    /// is confirmed (`Event::WorkerPaused`), so PAUSED with an execution id means "pausing".
    #[serde(default)]
    pub execution_id: Option<String>,
    /// Claims answered `continue` that their run has not yet shown it received (at most one per
    /// run, the newest `MAX_CLAIMS` runs): a repeat of one is answered `continue` again, and the
    /// dashboard shows them as in flight. docs/hooks.md § Exactly once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub claims: Vec<Claim>,
}

impl Job {
    /// A new QUEUED job at `now`: revision 1, no run yet (a start makes it 1), nothing else set.
    /// Every job begins here; callers set what their case adds.
    pub fn queued(id: String, job_type: JobType, reference_id: String, now: Timestamp) -> Job {
        Job {
            id,
            job_type,
            status: JobStatus::Queued,
            reference_id,
            progress: 0,
            progress_message: None,
            started_at: None,
            updated_at: now,
            completed_at: None,
            error_message: None,
            metadata: Map::new(),
            created_at: now,
            heartbeat_at: now,
            done: None,
            total: None,
            checkpoint: None,
            result: None,
            idempotency_key: None,
            last_actor: None,
            last_reason: None,
            retry_of: None,
            rev: 1,
            run: 0,
            execution_id: None,
            claims: Vec::new(),
        }
    }

    pub fn control(&self) -> Control {
        Control::for_status(self.status)
    }

    /// Moves the job through `event` at `now`, maintaining the timestamp invariants:
    /// `startedAt` set when it first runs, `completedAt` exactly when final, `updatedAt` always.
    pub(crate) fn apply(&mut self, event: Event, now: Timestamp) -> Result<JobStatus, JobError> {
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
        // A new run begins when a start picks the job up and when a user resumes it; the run
        // that was paused is over from that moment (docs/hooks.md § Runs).
        if matches!(event, Event::Resume)
            || (event == Event::Start && matches!(from, JobStatus::Queued | JobStatus::Running))
        {
            self.run += 1;
            // The previous run's execution is not the new run's: until the new run's worker (or
            // the action that re-triggered it, `usecase::link_execution`) says which execution it
            // is, no execution's end may be taken for this run's (the observer matches by it).
            self.execution_id = None;
        }
        // The worker confirmed it stopped (or the observer saw its execution end while paused):
        // no execution holds the run any more. A PAUSED job with an execution id is therefore
        // one whose worker has not yet stopped, which the dashboard shows as "Pausing…".
        if event == Event::WorkerPaused {
            self.execution_id = None;
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
    pub(crate) fn record_progress(&mut self, progress: u8) -> bool {
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

/// Cuts free text to `MAX_TEXT_CHARS` characters on a char boundary.
pub(crate) fn clip_text(text: &str) -> String {
    match text.char_indices().nth(MAX_TEXT_CHARS) {
        Some((cut, _)) => text[..cut].to_owned(),
        None => text.to_owned(),
    }
}

/// Checks that a JSON value (an object, or an opaque checkpoint) fits the column it is stored in.
pub(crate) fn check_json_size(
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
pub(crate) fn check_reference(raw: &str) -> Result<String, JobError> {
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
pub(crate) fn percent(done: u64, total: u64) -> Result<u8, JobError> {
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

mod log;
mod runs;

pub use log::*;
pub use runs::*;

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
        Job::queued(
            "j1".into(),
            JobType::CampaignRun,
            "c1".into(),
            millis(Utc::now()),
        )
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
    fn a_run_begins_with_every_pickup_and_every_resume_and_nothing_else() {
        let mut j = job();
        let t = j.created_at;
        j.apply(E::Start, t).unwrap();
        assert_eq!(j.run, 1, "the first pickup is run 1");
        j.apply(E::Progress, t).unwrap();
        j.apply(E::Heartbeat, t).unwrap();
        j.apply(E::Pause, t).unwrap();
        j.apply(E::Start, t).unwrap();
        assert_eq!(
            (j.status, j.run),
            (S::Paused, 1),
            "a start on a paused job waits"
        );
        j.apply(E::Resume, t).unwrap();
        assert_eq!(
            (j.status, j.run),
            (S::Queued, 2),
            "resume ends the paused run"
        );
        j.apply(E::Start, t).unwrap();
        assert_eq!(j.run, 3);
        j.apply(E::Start, t).unwrap();
        assert_eq!(j.run, 4, "a start on a running job takes it over");
        j.apply(E::Cancel, t).unwrap();
        assert_eq!(j.run, 4);
    }

    /// (status, job run, call run) → what `fence` answers for a report.
    #[test]
    fn reports_are_fenced_by_run_as_the_table_in_the_docs_says() {
        use Fence::{Current, Stop};
        use StopCode::{RunRequired, Superseded};
        let cases: &[(JobStatus, u64, Option<u64>, Option<Fence>)] = &[
            (S::Running, 2, Some(3), None),
            (S::Running, 2, Some(1), Some(Stop(Superseded))),
            (S::Paused, 2, Some(1), Some(Stop(Superseded))),
            (S::Completed, 2, Some(1), Some(Stop(Superseded))),
            (S::Queued, 2, Some(2), Some(Stop(Superseded))),
            (S::Queued, 1, None, Some(Stop(Superseded))),
            (S::Running, 2, Some(2), Some(Current)),
            (S::Paused, 2, Some(2), Some(Current)),
            (S::Completed, 2, Some(2), Some(Current)),
            (S::Running, 1, None, Some(Current)),
            (S::Paused, 1, None, Some(Current)),
            (S::Running, 2, None, Some(Stop(RunRequired))),
            (S::Cancelled, 5, None, Some(Current)),
        ];
        for &(status, run, call, want) in cases {
            let mut j = job();
            (j.status, j.run) = (status, run);
            assert_eq!(
                j.fence(call).ok(),
                want,
                "{status} run {run}, call {call:?}"
            );
        }
    }

    #[test]
    fn a_workers_pause_confirmation_releases_its_execution_and_a_users_pause_does_not() {
        let mut j = job();
        (j.status, j.run, j.execution_id) = (S::Running, 1, Some("e1".into()));
        j.apply(E::Pause, Utc::now()).unwrap();
        assert_eq!(
            (j.status, j.execution_id.as_deref()),
            (S::Paused, Some("e1")),
            "pausing until the worker confirms"
        );
        j.apply(E::WorkerPaused, Utc::now()).unwrap();
        assert_eq!((j.status, j.execution_id.as_deref()), (S::Paused, None));
        // A worker pausing on its own confirms at once.
        let mut k = job();
        (k.status, k.run, k.execution_id) = (S::Running, 1, Some("e2".into()));
        k.apply(E::WorkerPaused, Utc::now()).unwrap();
        assert_eq!((k.status, k.execution_id), (S::Paused, None));
        // Cancel is final and keeps the execution: the worker learns it at its next call.
        let mut c = job();
        (c.status, c.run, c.execution_id) = (S::Running, 1, Some("e3".into()));
        c.apply(E::Cancel, Utc::now()).unwrap();
        assert_eq!(c.execution_id.as_deref(), Some("e3"));
    }

    #[test]
    fn a_start_is_fenced_by_run_and_a_repeated_start_of_the_same_execution_is_recognised() {
        let mut j = job();
        (j.status, j.run, j.execution_id) = (S::Running, 3, Some("e1".into()));
        assert_eq!(j.fence_start(None, None), Ok(Fence::Current));
        assert_eq!(j.fence_start(Some(3), None), Ok(Fence::Current));
        assert_eq!(
            j.fence_start(Some(2), None),
            Ok(Fence::Stop(StopCode::Superseded))
        );
        assert_eq!(j.fence_start(Some(2), Some("e1")), Ok(Fence::Repeat));
        assert_eq!(j.fence_start(None, Some("e1")), Ok(Fence::Repeat));
        assert_eq!(
            j.fence_start(Some(2), Some("e2")),
            Ok(Fence::Stop(StopCode::Superseded))
        );
        assert!(j.fence_start(Some(4), None).is_err());
        j.status = S::Paused;
        assert_eq!(j.fence_start(Some(3), None), Ok(Fence::Wait));
    }

    #[test]
    fn the_largest_claims_fit_their_column() {
        let mut j = job();
        for run in 0..MAX_CLAIMS as u64 + 3 {
            j.grant(Claim {
                run: u64::MAX - run,
                done: Some(u64::MAX),
                claimed: Some(u64::MAX),
                checkpoint: checkpoint_digest(&Value::from(run)),
            });
        }
        assert_eq!(j.claims.len(), MAX_CLAIMS, "the oldest runs are forgotten");
        let wrapped = serde_json::json!({"v": 1, "data": j.claims}).to_string();
        assert!(wrapped.len() <= MAX_CLAIMS_JSON_BYTES, "{}", wrapped.len());
    }

    #[test]
    fn a_claim_is_recognised_by_run_and_checkpoint_and_released_by_run() {
        let mut j = job();
        let cp = serde_json::json!({"cursor": 20, "sent": 20});
        j.grant(Claim {
            run: 3,
            done: Some(10),
            claimed: Some(20),
            checkpoint: checkpoint_digest(&cp),
        });
        assert!(j.granted(3, &cp));
        assert!(!j.granted(4, &cp));
        assert!(!j.granted(3, &serde_json::json!({"sent": 20, "cursor": 21})));
        assert!(
            j.granted(3, &serde_json::json!({"sent": 20, "cursor": 20})),
            "key order"
        );
        assert!(j.release(3));
        assert!(!j.release(3));
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
