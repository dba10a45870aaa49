//! Rows to values and back. Jobs and events are stored column by column (never as one JSON
//! blob) so every filter is an indexed column; JSON is kept only for the free-form fields
//! (metadata, checkpoint, result, details). Decoding never panics: a value that does not fit its
//! type is a `StoreError::Backend` naming the column, so one corrupt row cannot take down a list.

use chrono::DateTime;
use rusqlite::types::Value as Sql;
use rusqlite::Row;
use serde_json::{Map, Value};
use shared::job::{EventKind, Job, JobError, JobEvent, Timestamp};
use shared::store::StoreError;

/// The job columns, in the order [`job_values`] writes and [`job_from_row`] reads them.
pub const JOB_COLUMNS: &str = "id, type, status, referenceId, progress, progressMessage, \
    startedAt, updatedAt, completedAt, errorMessage, metadata, createdAt, heartbeatAt, done, \
    total, checkpoint, result, idempotencyKey, lastActor, lastReason, retryOf, rev, run, executionId, claims";
const JOB_COLUMN_COUNT: usize = 25;

/// The event columns, in the order [`event_values`] writes and [`event_from_row`] reads them.
pub const EVENT_COLUMNS: &str =
    "id, jobId, at, kind, actor, message, fromStatus, toStatus, details";

pub fn ms(t: Timestamp) -> i64 {
    t.timestamp_millis()
}

fn opt_ms(t: Option<Timestamp>) -> Sql {
    t.map_or(Sql::Null, |t| Sql::Integer(ms(t)))
}

fn opt_text(s: &Option<String>) -> Sql {
    s.clone().map_or(Sql::Null, Sql::Text)
}

fn json(value: &impl serde::Serialize) -> Sql {
    // Serialising a `serde_json` value cannot fail; the fallback keeps this total anyway.
    Sql::Text(serde_json::to_string(value).unwrap_or_else(|_| "null".into()))
}

/// A counter as SQLite's signed 64-bit integer; larger values are refused, naming the field.
fn int(field: &'static str, n: u64) -> Result<Sql, StoreError> {
    i64::try_from(n)
        .map(Sql::Integer)
        .map_err(|_| JobError::invalid(field, format!("{n} is too large to store")).into())
}

fn opt_int(field: &'static str, n: Option<u64>) -> Result<Sql, StoreError> {
    n.map_or(Ok(Sql::Null), |n| int(field, n))
}

/// The values of one job row, in [`JOB_COLUMNS`] order.
pub fn job_values(job: &Job) -> Result<Vec<Sql>, StoreError> {
    let values = vec![
        Sql::Text(job.id.clone()),
        Sql::Text(job.job_type.as_str().into()),
        Sql::Text(job.status.as_str().into()),
        Sql::Text(job.reference_id.clone()),
        Sql::Integer(job.progress.into()),
        opt_text(&job.progress_message),
        opt_ms(job.started_at),
        Sql::Integer(ms(job.updated_at)),
        opt_ms(job.completed_at),
        opt_text(&job.error_message),
        json(&job.metadata),
        Sql::Integer(ms(job.created_at)),
        Sql::Integer(ms(job.heartbeat_at)),
        opt_int("done", job.done)?,
        opt_int("total", job.total)?,
        job.checkpoint.as_ref().map_or(Sql::Null, json),
        job.result.as_ref().map_or(Sql::Null, json),
        opt_text(&job.idempotency_key),
        opt_text(&job.last_actor),
        opt_text(&job.last_reason),
        opt_text(&job.retry_of),
        int("rev", job.rev)?,
        int("run", job.run)?,
        opt_text(&job.execution_id),
        if job.claims.is_empty() {
            Sql::Null
        } else {
            json(&job.claims)
        },
    ];
    debug_assert_eq!(values.len(), JOB_COLUMN_COUNT);
    Ok(values)
}

/// The values of one event row, in [`EVENT_COLUMNS`] order.
pub fn event_values(event: &JobEvent) -> Vec<Sql> {
    vec![
        Sql::Text(event.id.clone()),
        Sql::Text(event.job_id.clone()),
        Sql::Integer(ms(event.at)),
        Sql::Text(kind_text(event.kind)),
        Sql::Text(event.actor.clone()),
        opt_text(&event.message),
        event
            .from_status
            .map_or(Sql::Null, |s| Sql::Text(s.as_str().into())),
        event
            .to_status
            .map_or(Sql::Null, |s| Sql::Text(s.as_str().into())),
        json(&event.details),
    ]
}

/// The event kind as its wire string (`created`, `pauseRequested`, …).
fn kind_text(kind: EventKind) -> String {
    match serde_json::to_value(kind) {
        Ok(Value::String(s)) => s,
        _ => format!("{kind:?}"),
    }
}

/// Reads column `idx` (named `name` in errors) of a row, mapping any failure to a decode error.
struct Columns<'r, 's> {
    row: &'r Row<'s>,
}

fn corrupt(name: &str, reason: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("cannot decode column `{name}`: {reason}"))
}

impl Columns<'_, '_> {
    fn get<T: rusqlite::types::FromSql>(&self, idx: usize, name: &str) -> Result<T, StoreError> {
        self.row.get(idx).map_err(|e| corrupt(name, e))
    }

    fn parse<T: std::str::FromStr>(&self, idx: usize, name: &str) -> Result<T, StoreError>
    where
        T::Err: std::fmt::Display,
    {
        self.get::<String>(idx, name)?
            .parse()
            .map_err(|e| corrupt(name, e))
    }

    fn opt_parse<T: std::str::FromStr>(
        &self,
        idx: usize,
        name: &str,
    ) -> Result<Option<T>, StoreError>
    where
        T::Err: std::fmt::Display,
    {
        self.get::<Option<String>>(idx, name)?
            .map(|s| s.parse().map_err(|e| corrupt(name, e)))
            .transpose()
    }

    fn ts(&self, idx: usize, name: &str) -> Result<Timestamp, StoreError> {
        let raw: i64 = self.get(idx, name)?;
        DateTime::from_timestamp_millis(raw)
            .ok_or_else(|| corrupt(name, format!("{raw} is not a time in epoch milliseconds")))
    }

    fn opt_ts(&self, idx: usize, name: &str) -> Result<Option<Timestamp>, StoreError> {
        match self.get::<Option<i64>>(idx, name)? {
            None => Ok(None),
            Some(_) => self.ts(idx, name).map(Some),
        }
    }

    fn unsigned<T: TryFrom<i64>>(&self, idx: usize, name: &str) -> Result<T, StoreError> {
        let raw: i64 = self.get(idx, name)?;
        T::try_from(raw).map_err(|_| corrupt(name, format!("{raw} is out of range")))
    }

    fn opt_unsigned(&self, idx: usize, name: &str) -> Result<Option<u64>, StoreError> {
        match self.get::<Option<i64>>(idx, name)? {
            None => Ok(None),
            Some(_) => self.unsigned(idx, name).map(Some),
        }
    }

    fn json<T: serde::de::DeserializeOwned>(
        &self,
        idx: usize,
        name: &str,
    ) -> Result<T, StoreError> {
        let raw: String = self.get(idx, name)?;
        serde_json::from_str(&raw).map_err(|e| corrupt(name, e))
    }

    fn opt_json<T: serde::de::DeserializeOwned>(
        &self,
        idx: usize,
        name: &str,
    ) -> Result<Option<T>, StoreError> {
        self.get::<Option<String>>(idx, name)?
            .map(|raw| serde_json::from_str(&raw).map_err(|e| corrupt(name, e)))
            .transpose()
    }
}

/// Decodes a row selected with [`JOB_COLUMNS`].
pub fn job_from_row(row: &Row) -> Result<Job, StoreError> {
    let c = Columns { row };
    Ok(Job {
        id: c.get(0, "id")?,
        job_type: c.parse(1, "type")?,
        status: c.parse(2, "status")?,
        reference_id: c.get(3, "referenceId")?,
        progress: c.unsigned(4, "progress")?,
        progress_message: c.get(5, "progressMessage")?,
        started_at: c.opt_ts(6, "startedAt")?,
        updated_at: c.ts(7, "updatedAt")?,
        completed_at: c.opt_ts(8, "completedAt")?,
        error_message: c.get(9, "errorMessage")?,
        metadata: c.json::<Map<String, Value>>(10, "metadata")?,
        created_at: c.ts(11, "createdAt")?,
        heartbeat_at: c.ts(12, "heartbeatAt")?,
        done: c.opt_unsigned(13, "done")?,
        total: c.opt_unsigned(14, "total")?,
        checkpoint: c.opt_json(15, "checkpoint")?,
        result: c.opt_json(16, "result")?,
        idempotency_key: c.get(17, "idempotencyKey")?,
        last_actor: c.get(18, "lastActor")?,
        last_reason: c.get(19, "lastReason")?,
        retry_of: c.get(20, "retryOf")?,
        rev: c.unsigned(21, "rev")?,
        run: c.unsigned(22, "run")?,
        execution_id: c.get(23, "executionId")?,
        claims: c.opt_json(24, "claims")?.unwrap_or_default(),
    })
}

/// Decodes a row selected with [`EVENT_COLUMNS`].
pub fn event_from_row(row: &Row) -> Result<JobEvent, StoreError> {
    let c = Columns { row };
    let kind: String = c.get(3, "kind")?;
    Ok(JobEvent {
        id: c.get(0, "id")?,
        job_id: c.get(1, "jobId")?,
        at: c.ts(2, "at")?,
        kind: serde_json::from_value(Value::String(kind)).map_err(|e| corrupt("kind", e))?,
        actor: c.get(4, "actor")?,
        message: c.get(5, "message")?,
        from_status: c.opt_parse(6, "fromStatus")?,
        to_status: c.opt_parse(7, "toStatus")?,
        details: c.json(8, "details")?,
    })
}
