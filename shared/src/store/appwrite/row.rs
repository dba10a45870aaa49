//! The Appwrite row format of Job Manager's two tables: a [`Job`] as its `jobs` row and a
//! [`JobEvent`] as its `job_events` row, column by column as `docs/appwrite-store.md` tables
//! them (and `appwrite.json` declares them). Public because a stand-in of Appwrite must publish
//! exactly the rows the store writes (`jobs-dev`'s Realtime: [`job_row`], [`event_row`]), and
//! one module owning the layout is what keeps the two from drifting apart.
//!
//! It owns the two guards every stored value passes: free text that Appwrite would read as an
//! operator is escaped (`escape_text`), and JSON columns are wrapped in `{"v":1,"data":…}`
//! (appwrite-notes: Operator strings). Reading goes through derived `Deserialize` structs of
//! the columns: a job row's each accept only their stored type, a log entry's text columns read
//! anything else as absent; a row that does not decode is an error naming the row and column.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::{json, Map, Value};

use super::error::malformed;
use crate::job::{
    parse_timestamp, Claim, EventKind, Job, JobError, JobEvent, JobStatus, JobType, Timestamp,
    MAX_JSON_BYTES,
};
use crate::store::{StoreError, StoreResult};

/// Version tag of the JSON wrapper around `metadata`, `result`, `checkpoint` and `details`.
/// The wrapper keeps a user's top-level `"method"` key from being read as an operator
/// (appwrite-notes: Operator strings).
const JSON_WRAPPER_VERSION: u64 = 1;

/// Marks free text that Appwrite would otherwise read as an operator. On every update path
/// Appwrite 1.9.6 applies any string value, on any column, that JSON-decodes to an object with
/// an operator `method` (appwrite-notes: Operator strings, Operator methods): a worker's message
/// `{"method":"stringConcat",…}` would be appended, `{"method":"increment",…}` would fail the
/// write. Such text, and text that already starts with the mark, is stored with the mark in
/// front (not JSON any more, so plain text to Appwrite); `unescape_text` removes exactly one.
/// U+2060 WORD JOINER: invisible in the console, never produced by our own values.
pub const TEXT_ESCAPE: char = '\u{2060}';

/// The stored form of a free-text column's value: see [`TEXT_ESCAPE`]. The only place text is
/// escaped; every free-text job column passes through it in [`job_row`]'s encoding.
fn escape_text(text: &str) -> String {
    let operator_shaped = || {
        serde_json::from_str::<Value>(text)
            .ok()
            .is_some_and(|v| v.get("method").is_some_and(Value::is_string))
    };
    if text.starts_with(TEXT_ESCAPE) || operator_shaped() {
        format!("{TEXT_ESCAPE}{text}")
    } else {
        text.to_owned()
    }
}

/// The text a stored free-text value stands for: [`escape_text`] undone.
fn unescape_text(stored: String) -> String {
    match stored.strip_prefix(TEXT_ESCAPE) {
        Some(text) => text.to_owned(),
        None => stored,
    }
}

/// A job as its `jobs` row reads (every column plus `$id`), e.g. the payload a Realtime event
/// carries; the dev server's Realtime endpoint publishes this so the dashboard sees one shape.
pub fn job_row(job: &Job) -> Value {
    let mut row = encode_job(job);
    row["$id"] = json!(job.id);
    row
}

/// A log entry as its `job_events` row reads (with `$id`), for the same purpose as [`job_row`].
pub fn event_row(event: &JobEvent, rev: u64) -> Value {
    let mut row = encode_event(event, rev);
    row["$id"] = json!(event.id);
    row
}

/// Every column of a job row (see the table in `docs/appwrite-store.md`).
pub(super) fn encode_job(job: &Job) -> Value {
    let mut m = Map::new();
    m.insert("type".into(), json!(job.job_type.as_str()));
    m.insert("status".into(), json!(job.status.as_str()));
    m.insert("referenceId".into(), json!(job.reference_id));
    m.insert("progress".into(), json!(job.progress));
    // Free text a worker or a user typed: escaped (TEXT_ESCAPE). `referenceId` and
    // `idempotencyKey` are written once, by a create, where Appwrite parses no operators, and
    // are queried by value, so they are stored as given.
    m.insert("progressMessage".into(), plain(&job.progress_message));
    m.insert("startedAt".into(), opt_ts(&job.started_at));
    m.insert("updatedAt".into(), ts(&job.updated_at));
    m.insert("completedAt".into(), opt_ts(&job.completed_at));
    m.insert("errorMessage".into(), plain(&job.error_message));
    m.insert(
        "metadata".into(),
        wrap(&Value::Object(job.metadata.clone())),
    );
    m.insert("createdAt".into(), ts(&job.created_at));
    m.insert("heartbeatAt".into(), ts(&job.heartbeat_at));
    m.insert("done".into(), json!(job.done));
    m.insert("total".into(), json!(job.total));
    m.insert("checkpoint".into(), wrap_opt(job.checkpoint.as_ref()));
    m.insert(
        "result".into(),
        wrap_opt(job.result.clone().map(Value::Object).as_ref()),
    );
    m.insert("idempotencyKey".into(), json!(job.idempotency_key));
    m.insert("lastActor".into(), json!(job.last_actor));
    m.insert("lastReason".into(), plain(&job.last_reason));
    m.insert("retryOf".into(), json!(job.retry_of));
    m.insert("rev".into(), json!(job.rev));
    m.insert("run".into(), json!(job.run));
    m.insert("executionId".into(), json!(job.execution_id));
    let claims = (!job.claims.is_empty()).then(|| json!(job.claims));
    m.insert("claims".into(), wrap_opt(claims.as_ref()));
    Value::Object(m)
}

/// Only the columns that changed (a partial update, appwrite-notes: Row endpoints): smaller
/// requests, and a column we do not touch is never rewritten from a stale copy.
pub(super) fn diff(old: &Job, new: &Job) -> Map<String, Value> {
    let (Value::Object(old), Value::Object(new)) = (encode_job(old), encode_job(new)) else {
        return Map::new();
    };
    new.into_iter()
        .filter(|(k, v)| old.get(k) != Some(v))
        .collect()
}

/// Rejects JSON columns that would not fit, before any write (the use cases check metadata and
/// result; the checkpoint is opaque to them).
pub(super) fn check_sizes(job: &Job) -> StoreResult<()> {
    if let Some(checkpoint) = &job.checkpoint {
        let size = checkpoint.to_string().len();
        if size > MAX_JSON_BYTES {
            return Err(StoreError::Job(JobError::invalid(
                "checkpoint",
                format!("is {size} bytes of JSON; at most {MAX_JSON_BYTES} are allowed"),
            )));
        }
    }
    Ok(())
}

/// The columns of a `jobs` row, each read as its stored type (absent and null read as `None`).
/// Other members (`$id`, the system columns, `pendingLog`) are not the job's.
#[derive(Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct JobColumns {
    #[serde(rename = "type", deserialize_with = "parsed")]
    job_type: Option<JobType>,
    #[serde(deserialize_with = "parsed")]
    status: Option<JobStatus>,
    #[serde(deserialize_with = "text")]
    reference_id: Option<String>,
    #[serde(deserialize_with = "whole")]
    progress: Option<u64>,
    #[serde(deserialize_with = "text")]
    progress_message: Option<String>,
    #[serde(deserialize_with = "time")]
    started_at: Option<Timestamp>,
    #[serde(deserialize_with = "time")]
    updated_at: Option<Timestamp>,
    #[serde(deserialize_with = "time")]
    completed_at: Option<Timestamp>,
    #[serde(deserialize_with = "text")]
    error_message: Option<String>,
    #[serde(deserialize_with = "object")]
    metadata: Option<Map<String, Value>>,
    #[serde(deserialize_with = "time")]
    created_at: Option<Timestamp>,
    #[serde(deserialize_with = "time")]
    heartbeat_at: Option<Timestamp>,
    #[serde(deserialize_with = "whole")]
    done: Option<u64>,
    #[serde(deserialize_with = "whole")]
    total: Option<u64>,
    /// Wrapped JSON kept as it unwraps: a wrapped `null` is `Some(Null)`.
    #[serde(deserialize_with = "wrapped")]
    checkpoint: Option<Value>,
    #[serde(deserialize_with = "object")]
    result: Option<Map<String, Value>>,
    #[serde(deserialize_with = "text")]
    idempotency_key: Option<String>,
    #[serde(deserialize_with = "text")]
    last_actor: Option<String>,
    #[serde(deserialize_with = "text")]
    last_reason: Option<String>,
    #[serde(deserialize_with = "text")]
    retry_of: Option<String>,
    #[serde(deserialize_with = "whole")]
    rev: Option<u64>,
    #[serde(deserialize_with = "whole")]
    run: Option<u64>,
    #[serde(deserialize_with = "text")]
    execution_id: Option<String>,
    /// Rows written before claims existed hold none (absent, null or a wrapped null).
    #[serde(deserialize_with = "claims")]
    claims: Vec<Claim>,
}

/// Reads a job row; a row that does not decode is an error naming the row and column.
pub(super) fn decode_job(row: &Value) -> StoreResult<Job> {
    let id = str_field(row, "$id")?;
    let bad = |column: &str, why: String| bad_column("job", id, column, why);
    let missing = |column: &str| bad(column, "missing".into());
    let c: JobColumns = columns(row, "job", id)?;
    Ok(Job {
        job_type: c.job_type.ok_or_else(|| missing("type"))?,
        status: c.status.ok_or_else(|| missing("status"))?,
        reference_id: c.reference_id.ok_or_else(|| missing("referenceId"))?,
        progress: c
            .progress
            .and_then(|p| u8::try_from(p).ok())
            .ok_or_else(|| bad("progress", "missing or above 255".into()))?,
        progress_message: c.progress_message.map(unescape_text),
        started_at: c.started_at,
        updated_at: c.updated_at.ok_or_else(|| missing("updatedAt"))?,
        completed_at: c.completed_at,
        error_message: c.error_message.map(unescape_text),
        metadata: c.metadata.unwrap_or_default(),
        created_at: c.created_at.ok_or_else(|| missing("createdAt"))?,
        heartbeat_at: c.heartbeat_at.ok_or_else(|| missing("heartbeatAt"))?,
        done: c.done,
        total: c.total,
        checkpoint: c.checkpoint,
        result: c.result,
        idempotency_key: c.idempotency_key,
        last_actor: c.last_actor,
        last_reason: c.last_reason.map(unescape_text),
        retry_of: c.retry_of,
        rev: c.rev.ok_or_else(|| missing("rev"))?,
        // Rows written before runs existed are in their first run's position: run 0.
        run: c.run.unwrap_or(0),
        execution_id: c.execution_id,
        claims: c.claims,
        id: id.to_owned(),
    })
}

/// A log entry's columns as `job_events` (and the outbox) store them, without `$id`.
pub(super) fn encode_event(e: &JobEvent, rev: u64) -> Value {
    json!({
        "eventId": e.id,
        "jobId": e.job_id,
        "jobRev": rev,
        "at": crate::appwrite::datetime(&e.at),
        "kind": serde_json::to_value(e.kind).unwrap_or(Value::Null),
        "actor": e.actor,
        // An upsert (moving entries out of the outbox) is an update path, where Appwrite reads
        // operator-shaped text as an operator: stored escaped like the job's free text.
        "message": e.message.as_deref().map(escape_text),
        "fromStatus": e.from_status.map(JobStatus::as_str),
        "toStatus": e.to_status.map(JobStatus::as_str),
        "details": wrap(&Value::Object(e.details.clone())),
    })
}

/// The columns of a `job_events` row (or an outbox entry). Text columns are read leniently, as
/// they always were: a value that is not text reads as absent, and the decoding below says what
/// an absent column means.
#[derive(Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct EventColumns {
    #[serde(deserialize_with = "loose_text")]
    event_id: Option<String>,
    #[serde(deserialize_with = "loose_text")]
    job_id: Option<String>,
    #[serde(deserialize_with = "loose_text")]
    at: Option<String>,
    kind: Value,
    #[serde(deserialize_with = "loose_text")]
    actor: Option<String>,
    #[serde(deserialize_with = "loose_text")]
    message: Option<String>,
    #[serde(deserialize_with = "loose_text")]
    from_status: Option<String>,
    #[serde(deserialize_with = "loose_text")]
    to_status: Option<String>,
    #[serde(deserialize_with = "loose_text")]
    details: Option<String>,
}

/// Reads a log entry from its `job_events` row or outbox entry.
pub(super) fn decode_event(row: &Value) -> StoreResult<JobEvent> {
    let row_id = str_field(row, "$id")?;
    let bad = |column: &str, why: String| bad_column("event", row_id, column, why);
    let c: EventColumns = columns(row, "event", row_id)?;
    let status = |column: &str, text: Option<String>| -> StoreResult<Option<JobStatus>> {
        text.map(|s| s.parse().map_err(|e: JobError| bad(column, e.to_string())))
            .transpose()
    };
    let kind: EventKind = serde_json::from_value(c.kind).map_err(|e| bad("kind", e.to_string()))?;
    let details =
        match unwrap_json(&c.details.unwrap_or_default()).map_err(|w| bad("details", w))? {
            Value::Object(m) => m,
            Value::Null => Map::new(),
            other => {
                return Err(bad(
                    "details",
                    format!("expected a JSON object, got {other}"),
                ))
            }
        };
    Ok(JobEvent {
        id: c.event_id.unwrap_or_else(|| row_id.to_owned()),
        job_id: c.job_id.ok_or_else(|| bad("jobId", "missing".into()))?,
        at: parse_timestamp("at", &c.at.unwrap_or_default())
            .map_err(|e| bad("at", e.to_string()))?,
        kind,
        actor: c.actor.unwrap_or_default(),
        message: c.message.map(unescape_text),
        from_status: status("fromStatus", c.from_status)?,
        to_status: status("toStatus", c.to_status)?,
        details,
    })
}

/// A wrapped JSON column's document (`None` when the column is absent or null), or why the
/// column holds none; for the columns other rooms own (the outbox's `pendingLog`).
pub(super) fn wrapped_column(row: &Value, column: &str) -> Result<Option<Value>, String> {
    match row.get(column) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => as_wrapped(value.clone()).map(Some),
    }
}

/// A row's columns as `T` reads them; a column that does not decode is an error naming the
/// row and the column.
fn columns<'a, T: Deserialize<'a>>(row: &'a Value, table: &str, id: &str) -> StoreResult<T> {
    serde_path_to_error::deserialize(row)
        .map_err(|e| bad_column(table, id, &e.path().to_string(), e.into_inner().to_string()))
}

/// The error for a row whose column does not decode, e.g. "job row `j1` column `status`: …".
pub(super) fn bad_column(table: &str, id: &str, column: &str, why: String) -> StoreError {
    StoreError::Backend(format!("{table} row `{id}` column `{column}`: {why}"))
}

/// A member every row has as text (`$id`, `$updatedAt`); a row without it is malformed.
pub(super) fn str_field<'a>(row: &'a Value, field: &str) -> StoreResult<&'a str> {
    row.get(field)
        .and_then(Value::as_str)
        .ok_or_else(|| malformed(&format!("row without a text `{field}`")))
}

/// A timestamp as a column or query value, in Appwrite's own datetime form.
pub(super) fn ts(t: &Timestamp) -> Value {
    Value::from(crate::appwrite::datetime(t))
}

fn opt_ts(t: &Option<Timestamp>) -> Value {
    t.as_ref().map_or(Value::Null, ts)
}

fn plain(text: &Option<String>) -> Value {
    text.as_deref()
        .map_or(Value::Null, |t| Value::from(escape_text(t)))
}

/// `{"v":1,"data":…}` as text: see [`JSON_WRAPPER_VERSION`].
pub(super) fn wrap(value: &Value) -> Value {
    Value::from(json!({"v": JSON_WRAPPER_VERSION, "data": value}).to_string())
}

fn wrap_opt(value: Option<&Value>) -> Value {
    value.map_or(Value::Null, wrap)
}

fn unwrap_json(raw: &str) -> Result<Value, String> {
    let mut outer: Value = serde_json::from_str(raw).map_err(|e| format!("not JSON: {e}"))?;
    match outer.get("v").and_then(Value::as_u64) {
        Some(JSON_WRAPPER_VERSION) => Ok(outer
            .get_mut("data")
            .map(Value::take)
            .unwrap_or(Value::Null)),
        _ => Err("not a {\"v\":1,\"data\":…} wrapper".into()),
    }
}

// How each stored type is read. The `as_*` functions say why a value is not of the type; the
// `deserialize_with` functions below turn them into a column of `JobColumns`, null as `None`.

fn as_text(value: Value) -> Result<String, String> {
    match value {
        Value::String(s) => Ok(s),
        other => Err(format!("expected text, got {other}")),
    }
}

fn as_wrapped(value: Value) -> Result<Value, String> {
    unwrap_json(&as_text(value)?)
}

fn column<'de, D: Deserializer<'de>, T>(
    d: D,
    read: impl FnOnce(Value) -> Result<T, String>,
) -> Result<Option<T>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        value => read(value).map(Some).map_err(D::Error::custom),
    }
}

fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    column(d, as_text)
}

fn whole<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    column(d, |v| {
        v.as_u64()
            .ok_or_else(|| format!("expected a whole number, got {v}"))
    })
}

fn parsed<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: std::str::FromStr<Err = JobError>,
{
    column(d, |v| {
        as_text(v)?.parse().map_err(|e: JobError| e.to_string())
    })
}

fn time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
    column(d, |v| {
        parse_timestamp("datetime", &as_text(v)?).map_err(|e| e.to_string())
    })
}

fn wrapped<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    column(d, as_wrapped)
}

fn object<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Map<String, Value>>, D::Error> {
    column(d, |v| match as_wrapped(v)? {
        Value::Object(m) => Ok(m),
        other => Err(format!("expected a JSON object, got {other}")),
    })
}

fn claims<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Claim>, D::Error> {
    let claims = column(d, |v| match as_wrapped(v)? {
        Value::Null => Ok(Vec::new()),
        v => serde_json::from_value(v).map_err(|e| e.to_string()),
    })?;
    Ok(claims.unwrap_or_default())
}

fn loose_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => Some(s),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn job() -> Job {
        let t = crate::job::millis(Utc::now());
        let mut metadata = Map::new();
        // A top-level "method" would be an operator if stored bare (appwrite-notes: Operator
        // strings).
        metadata.insert("method".into(), json!("increment"));
        metadata.insert("values".into(), json!([1]));
        Job {
            id: "j1".into(),
            job_type: JobType::BulkVerify,
            status: JobStatus::Running,
            reference_id: "list-7".into(),
            progress: 40,
            progress_message: Some("verifying".into()),
            started_at: Some(t),
            updated_at: t,
            completed_at: None,
            error_message: None,
            metadata,
            created_at: t,
            heartbeat_at: t,
            done: Some(40),
            total: Some(100),
            checkpoint: Some(json!({"offset": 40})),
            result: None,
            idempotency_key: Some("k".into()),
            last_actor: None,
            last_reason: None,
            retry_of: None,
            rev: 3,
            run: 1,
            execution_id: None,
            claims: Vec::new(),
        }
    }

    #[test]
    fn a_job_survives_the_round_trip_through_its_row() {
        let job = job();
        assert_eq!(decode_job(&job_row(&job)).unwrap(), job);
    }

    #[test]
    fn json_columns_are_wrapped_so_appwrite_never_sees_an_operator() {
        let row = encode_job(&job());
        let stored: Value = serde_json::from_str(row["metadata"].as_str().unwrap()).unwrap();
        assert!(stored.get("method").is_none(), "{stored}");
        assert_eq!(stored["data"]["method"], "increment");
    }

    #[test]
    fn a_partial_update_carries_only_changed_columns() {
        let old = job();
        let mut new = old.clone();
        new.progress = 50;
        new.rev = 4;
        let data = diff(&old, &new);
        let mut keys: Vec<_> = data.keys().cloned().collect();
        keys.sort();
        assert_eq!(keys, ["progress", "rev"]);
    }

    #[test]
    fn a_row_with_a_bad_column_is_an_error_naming_it() {
        let mut row = job_row(&job());
        row["status"] = json!("running");
        let err = decode_job(&row).unwrap_err().to_string();
        assert!(err.contains("`status`") && err.contains("j1"), "{err}");
        let mut row = job_row(&job());
        row["metadata"] = json!("{\"method\":\"increment\"}");
        assert!(decode_job(&row)
            .unwrap_err()
            .to_string()
            .contains("metadata"));
    }

    /// What each kind of column refuses, and how it says so: the messages operators read in
    /// the function's log.
    #[test]
    fn each_kind_of_bad_column_is_refused_with_its_own_message() {
        let cases = [
            ("type", None, "missing"),
            ("type", Some(json!("NOPE")), "invalid `type`"),
            ("referenceId", Some(json!(7)), "expected text, got 7"),
            ("progress", Some(json!(300)), "missing or above 255"),
            (
                "progress",
                Some(json!("x")),
                "expected a whole number, got \"x\"",
            ),
            (
                "startedAt",
                Some(json!("today")),
                "`today` is not an RFC 3339 timestamp",
            ),
            (
                "metadata",
                Some(json!("[]")),
                "not a {\"v\":1,\"data\":…} wrapper",
            ),
            (
                "result",
                Some(wrap(&json!([1]))),
                "expected a JSON object, got [1]",
            ),
            ("checkpoint", Some(json!("{")), "not JSON"),
            ("claims", Some(wrap(&json!("x"))), "invalid type"),
            ("rev", Some(Value::Null), "missing"),
        ];
        for (column, value, why) in cases {
            let mut row = job_row(&job());
            match value {
                Some(v) => row[column] = v,
                None => {
                    row.as_object_mut().unwrap().remove(column);
                }
            }
            let err = decode_job(&row).unwrap_err().to_string();
            let named = format!("job row `j1` column `{column}`: ");
            assert!(err.contains(&named) && err.contains(why), "{column}: {err}");
        }
    }

    #[test]
    fn an_oversized_checkpoint_is_refused_before_any_request() {
        let mut big = job();
        big.checkpoint = Some(json!("x".repeat(MAX_JSON_BYTES + 1)));
        assert!(matches!(
            check_sizes(&big),
            Err(StoreError::Job(JobError::Invalid {
                field: "checkpoint",
                ..
            }))
        ));
    }
}
