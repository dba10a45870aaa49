//! The tables' columns against the job model, read from the Rust types themselves: a sample
//! `Job` and `JobEvent` serialized with every optional field set and with every one unset,
//! plus the columns the Appwrite adapter stores beside them. Every field needs a column of the
//! right type, bounds and required flag, and every column a field.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{TimeZone, Utc};
use serde_json::{Map, Value};
use shared::job::{
    EventKind, Job, JobEvent, JobStatus, JobType, MAX_JSON_BYTES, MAX_REFERENCE_CHARS,
    MAX_TEXT_CHARS,
};

use super::{str_of, strings, Problems};

/// What the adapter's wrapping (`{"v":1,"data":…}`, the guard of appwrite-notes: Operator strings)
/// adds to a JSON document before it is stored in a text column.
pub const WRAP_OVERHEAD: u64 = r#"{"v":1,"data":}"#.len() as u64;
/// Largest integer a JSON client (the CLI is JavaScript) carries exactly: 2^53 - 1.
pub const MAX_SAFE_INTEGER: u64 = 9_007_199_254_740_991;

/// A column an adapter stores beside a model's fields, checked like a field: its name and its
/// sample value in the full and in the minimal row (null there when the column is optional).
pub type StorageColumn = (&'static str, fn(bool) -> Value);

/// Columns the Appwrite adapter stores beside a `JobEvent`'s fields (docs/appwrite-store.md):
/// the job's `rev` written with the entry, which orders the log.
pub const EVENT_STORAGE_COLUMNS: &[StorageColumn] = &[("jobRev", |_| Value::from(0))];

/// Columns the Appwrite adapter stores beside a `Job`'s fields: `pendingLog`, the outbox of the
/// job's newest log entries (wrapped JSON text), optional so rows older than it stay valid.
pub const JOB_STORAGE_COLUMNS: &[StorageColumn] = &[("pendingLog", |full| {
    if full {
        Value::Array(Vec::new())
    } else {
        Value::Null
    }
})];

/// The columns of table `id` against the model it stores: `Job` in `jobs`, `JobEvent` in
/// `job_events`.
pub(super) fn check(at: &str, id: &str, columns: &[Value], v: &mut Problems) {
    match id {
        "jobs" => compare(
            at,
            columns,
            job_sample(true),
            job_sample(false),
            "$id",
            JOB_STORAGE_COLUMNS,
            v,
        ),
        "job_events" => compare(
            at,
            columns,
            event_sample(true),
            event_sample(false),
            "eventId",
            EVENT_STORAGE_COLUMNS,
            v,
        ),
        other => v.push(format!(
            "{at}: unknown table `{other}` (the model has jobs and job_events)"
        )),
    }
}

/// Columns against the model: `full` is a sample with every optional field set, `minimal` one
/// with every optional field unset (so its nulls tell which columns are optional). The row's
/// `$id` is the id column; `id_column` names the column that also stores it, if any.
fn compare(
    at: &str,
    columns: &[Value],
    full: Value,
    minimal: Value,
    id_column: &str,
    storage: &[StorageColumn],
    v: &mut Problems,
) {
    let by_key: BTreeMap<&str, &Value> = columns.iter().map(|c| (str_of(c, "key"), c)).collect();
    let mut full = full.as_object().cloned().unwrap_or_default();
    let mut minimal = minimal.as_object().cloned().unwrap_or_default();
    for (column, sample) in storage {
        full.insert(column.to_string(), sample(true));
        minimal.insert(column.to_string(), sample(false));
    }
    let mut fields = BTreeSet::new();
    for (field, value) in &full {
        let column = if field == "$id" {
            id_column
        } else {
            field.as_str()
        };
        if column == "$id" {
            continue; // Appwrite's own row id.
        }
        fields.insert(column.to_owned());
        let Some(c) = by_key.get(column) else {
            v.push(format!(
                "{at}: model field `{field}` has no column `{column}`"
            ));
            continue;
        };
        let cat = format!("{at} column `{column}`");
        let optional = minimal.get(field).is_none_or(Value::is_null);
        if c["required"] != Value::Bool(!optional) {
            v.push(format!(
                "{cat}: `required` must be {} (the field is {})",
                !optional,
                if optional { "optional" } else { "always set" }
            ));
        }
        if c["array"] != false {
            v.push(format!("{cat}: `array` must be false"));
        }
        column_type(&cat, field, value, c, v);
    }
    for key in by_key.keys() {
        if !fields.contains(*key) {
            v.push(format!("{at}: column `{key}` matches no model field"));
        }
    }
}

/// The column a field needs, from the field's JSON value and the model's limits.
fn column_type(at: &str, field: &str, value: &Value, c: &Value, v: &mut Problems) {
    let ty = str_of(c, "type");
    let size = c.get("size").and_then(Value::as_u64);
    let mut need_string = |min_size: u64, why: &str| {
        if ty != "string" || !str_of(c, "format").is_empty() {
            v.push(format!("{at}: must be a plain string ({why})"));
        } else if size.is_none_or(|s| s < min_size) {
            v.push(format!(
                "{at}: size must be at least {min_size} ({why}), is {size:?}"
            ));
        }
    };
    if let Some(elements) = enum_elements(field) {
        // Either an enum column with exactly the model's values, or a string wide enough.
        if str_of(c, "format") == "enum" {
            let got = strings(c, "elements").unwrap_or_default();
            if ty != "string" || got != elements {
                v.push(format!(
                    "{at}: enum elements must be {elements:?}, are {got:?}"
                ));
            }
        } else {
            let longest = elements.iter().map(String::len).max().unwrap_or(0) as u64;
            need_string(longest, "holds the model's enum values");
        }
        return;
    }
    match value {
        Value::String(s) if chrono::DateTime::parse_from_rfc3339(s).is_ok() => {
            if ty != "datetime" {
                v.push(format!("{at}: must be a datetime"));
            }
        }
        Value::Number(_) => {
            let (min, max) = if field == "progress" {
                (0, 100)
            } else {
                (0, MAX_SAFE_INTEGER)
            };
            let got = (
                c.get("min").and_then(Value::as_u64),
                c.get("max").and_then(Value::as_u64),
            );
            if ty != "integer" || got != (Some(min), Some(max)) {
                v.push(format!(
                    "{at}: must be an integer with min {min} and max {max}, is {ty} {got:?}"
                ));
            }
        }
        Value::Array(_) if field == "claims" => need_string(
            shared::job::MAX_CLAIMS_JSON_BYTES as u64,
            "at most MAX_CLAIMS claims as wrapped JSON",
        ),
        Value::Object(_) | Value::Array(_) => need_string(
            MAX_JSON_BYTES as u64 + WRAP_OVERHEAD,
            "wrapped JSON text of up to MAX_JSON_BYTES",
        ),
        Value::String(_) => match text_limit(field) {
            Some((limit, why)) => need_string(limit, why),
            None => v.push(format!(
                "{at}: no known length bound for field `{field}`; add it to validate::model::text_limit"
            )),
        },
        other => v.push(format!(
            "{at}: the model's value {other} has no column type rule"
        )),
    }
}

/// The values an enum-valued field takes, from the model's own lists.
fn enum_elements(field: &str) -> Option<Vec<String>> {
    let names = |all: Vec<Value>| {
        all.into_iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    };
    match field {
        "type" => Some(JobType::ALL.iter().map(|t| t.as_str().to_owned()).collect()),
        "status" | "fromStatus" | "toStatus" => Some(
            JobStatus::ALL
                .iter()
                .map(|s| s.as_str().to_owned())
                .collect(),
        ),
        "kind" => Some(names(
            ALL_EVENT_KINDS
                .iter()
                .map(|k| serde_json::to_value(k).unwrap_or_default())
                .collect(),
        )),
        _ => None,
    }
}

/// Every `EventKind`; the match in [`event_kind_is_listed`] stops compiling when one is added.
const ALL_EVENT_KINDS: &[EventKind] = &[
    EventKind::Created,
    EventKind::Started,
    EventKind::Progress,
    EventKind::Heartbeat,
    EventKind::PauseRequested,
    EventKind::Paused,
    EventKind::Resumed,
    EventKind::Cancelled,
    EventKind::Completed,
    EventKind::Failed,
    EventKind::Stalled,
    EventKind::Retried,
    EventKind::Ignored,
    EventKind::Alerted,
];

#[allow(dead_code)]
fn event_kind_is_listed(kind: EventKind) {
    match kind {
        EventKind::Created
        | EventKind::Started
        | EventKind::Progress
        | EventKind::Heartbeat
        | EventKind::PauseRequested
        | EventKind::Paused
        | EventKind::Resumed
        | EventKind::Cancelled
        | EventKind::Completed
        | EventKind::Failed
        | EventKind::Stalled
        | EventKind::Retried
        | EventKind::Ignored
        | EventKind::Alerted => {}
    }
}

/// The longest text a string field holds, from the model's limits.
fn text_limit(field: &str) -> Option<(u64, &'static str)> {
    let ids = (36, "an Appwrite id is at most 36 characters");
    Some(match field {
        "$id" | "eventId" | "jobId" | "retryOf" | "executionId" => ids,
        "referenceId" => (MAX_REFERENCE_CHARS as u64, "MAX_REFERENCE_CHARS"),
        "idempotencyKey" => (255, "idempotency keys are 1 to 255 bytes"),
        // Plus the one-character operator escape (`shared::store::appwrite::TEXT_ESCAPE`).
        "progressMessage" | "errorMessage" | "lastReason" => (
            MAX_TEXT_CHARS as u64 + 1,
            "free text is clipped to MAX_TEXT_CHARS, plus the operator escape",
        ),
        "message" => (
            MAX_TEXT_CHARS as u64,
            "free text is clipped to MAX_TEXT_CHARS",
        ),
        // `user:<id>`, `function:<id>` or `system`.
        "lastActor" | "actor" => (45, "an actor is `function:` plus an id"),
        _ => return None,
    })
}

fn object(entries: &[(&str, Value)]) -> Map<String, Value> {
    entries
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

/// A job with every optional field set (`full`) or unset.
pub fn job_sample(full: bool) -> Value {
    let t = Utc.with_ymd_and_hms(2026, 11, 29, 12, 0, 0).unwrap();
    let some = |s: &str| full.then(|| s.to_owned());
    let job = Job {
        id: "j1".into(),
        job_type: JobType::CampaignRun,
        status: JobStatus::Running,
        reference_id: "campaign-1".into(),
        progress: 40,
        progress_message: some("sending"),
        started_at: full.then_some(t),
        updated_at: t,
        completed_at: full.then_some(t),
        error_message: some("boom"),
        metadata: object(&[("campaign", "c1".into())]),
        created_at: t,
        heartbeat_at: t,
        done: full.then_some(80),
        total: full.then_some(200),
        checkpoint: full.then(|| serde_json::json!({"offset": 80})),
        result: full.then(|| object(&[("sent", 80.into())])),
        idempotency_key: some("key-1"),
        last_actor: some("user:u1"),
        last_reason: some("maintenance"),
        retry_of: some("j0"),
        rev: 3,
        run: 2,
        execution_id: some("exec-1"),
        claims: if full {
            vec![shared::job::Claim {
                run: 2,
                done: Some(80),
                claimed: Some(90),
                checkpoint: "0123456789abcdef".into(),
            }]
        } else {
            Vec::new()
        },
    };
    serde_json::to_value(job).expect("a job serializes")
}

/// A job event with every optional field set (`full`) or unset.
pub fn event_sample(full: bool) -> Value {
    let t = Utc.with_ymd_and_hms(2026, 11, 29, 12, 0, 0).unwrap();
    let event = JobEvent {
        id: "e1".into(),
        job_id: "j1".into(),
        at: t,
        kind: EventKind::Paused,
        actor: "user:u1".into(),
        message: full.then(|| "paused by user".to_owned()),
        from_status: full.then_some(JobStatus::Running),
        to_status: full.then_some(JobStatus::Paused),
        details: object(&[("reason", "x".into())]),
    };
    serde_json::to_value(event).expect("an event serializes")
}
