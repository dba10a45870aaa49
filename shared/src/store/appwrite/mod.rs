//! The production `JobStore`: jobs and their log in two Appwrite TablesDB tables, spoken to
//! through [`crate::appwrite::AppwriteClient`]. This file owns the store itself: idempotent
//! creates, the conditional write and the rows it remembers between a read and that write.
//! The rooms beside it own one concern each: [`row`] the column layout (documented as a table
//! in `docs/appwrite-store.md`, from which `appwrite.json` is generated), `outbox` the log
//! entries riding in the job row, `log` the log in `job_events`, `bulk` retention's prune and
//! the counts, `error` the mapping of Appwrite errors to [`StoreError`].
//!
//! Conditional writes use `X-Appwrite-Timestamp` (appwrite-notes: Conditional writes): the row's
//! `$updatedAt` as we read it goes back with the PATCH, and Appwrite, holding the row lock,
//! refuses with `409 row_update_conflict` if the row changed since. Bulk update by query
//! (`equal $id` + `equal rev`) looks like a one-request compare-and-set but its find and update
//! are not known to be atomic, so two writers could both "win"; see the doc for the trade-off.
//!
//! The log is kept with a transactional outbox: every row write also carries the job's newest
//! log entries in the row's `pendingLog` column, so a change and its entries land (or fail)
//! together, in one request. Entries move to `job_events` only when the outbox is cut (about
//! once per ten entries; once per six when every entry carries a message of 2,000 four-byte
//! characters), and are known to be there before they leave the row; [`JobStore::events`]
//! merges both. So a write costs a read and a `PATCH`, whether or not it logs.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{json, Value};

use crate::appwrite::{query, AppwriteClient, AppwriteConfig, ConfigError, Reply};
use crate::config::Lookup;
use crate::job::{parse_timestamp, Job, JobEvent, JobStatus, JobType, Timestamp};
use crate::store::{
    Count, Created, JobQuery, JobStore, Order, Page, Pruned, Retention, StoreError, StoreResult,
    Write, MAX_PAGE,
};

mod bulk;
mod error;
mod log;
mod outbox;
pub mod row;

use error::{malformed, map_query_error};
use outbox::{decode_pending, encode_pending, push_pending, Pending};
use row::{check_sizes, decode_job, diff, encode_job, str_field, ts};

/// The outbox as a stand-in replays it (`jobs-dev`'s Realtime publishes the rows the store
/// would write).
pub use outbox::Outbox;
/// The mark in front of escaped free text: every stored free text passes `row::escape_text`
/// (`docs/appwrite-store.md`).
pub use row::TEXT_ESCAPE;

/// A row as we last read or wrote it: the job, its outbox of newest log entries, and
/// Appwrite's `$updatedAt`, which is the version a conditional write sends back.
#[derive(Debug, Clone)]
struct Seen {
    job: Job,
    pending: Vec<Pending>,
    updated_at: String,
}

/// Jobs in Appwrite. Build one per execution (the key is per request); reads remember each
/// row's `$updatedAt` so the write that follows costs one request.
#[derive(Debug)]
pub struct AppwriteStore {
    client: AppwriteClient,
    seen: Mutex<HashMap<String, Seen>>,
}

impl AppwriteStore {
    pub fn new(client: AppwriteClient) -> Self {
        AppwriteStore {
            client,
            seen: Mutex::new(HashMap::new()),
        }
    }

    fn from_config(config: AppwriteConfig) -> Self {
        Self::new(AppwriteClient::new(config))
    }

    /// For tools and tests: variables, with the key from `APPWRITE_API_KEY`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Ok(Self::from_config(AppwriteConfig::from_lookup(
            lookup, None,
        )?))
    }

    /// For a function execution: variables plus the request's `x-appwrite-key`.
    pub fn from_context(
        context: &openruntimes::Context,
        lookup: &Lookup,
    ) -> Result<Self, ConfigError> {
        Ok(Self::from_config(AppwriteConfig::from_context(
            context, lookup,
        )?))
    }

    pub fn client(&self) -> &AppwriteClient {
        &self.client
    }

    fn jobs(&self) -> &str {
        &self.client.config().jobs_table
    }

    fn events_table(&self) -> &str {
        &self.client.config().events_table
    }

    fn remember(&self, seen: Seen) {
        if let Ok(mut map) = self.seen.lock() {
            map.insert(seen.job.id.clone(), seen);
        }
    }

    fn recall(&self, id: &str, rev: u64) -> Option<Seen> {
        let map = self.seen.lock().ok()?;
        map.get(id).filter(|s| s.job.rev == rev).cloned()
    }

    fn forget(&self, id: &str) {
        if let Ok(mut map) = self.seen.lock() {
            map.remove(id);
        }
    }

    fn read(&self, id: &str) -> StoreResult<Seen> {
        match self.client.get_row(self.jobs(), id) {
            Ok(reply) => {
                let seen = decode_seen(&reply.body)?;
                self.remember(seen.clone());
                Ok(seen)
            }
            Err(e) if e.kind() == Some("row_not_found") => Err(StoreError::NotFound(id.into())),
            Err(e) => Err(e.into()),
        }
    }

    fn list_jobs(&self, queries: &[String]) -> StoreResult<Vec<Job>> {
        let reply = self
            .client
            .list_rows(self.jobs(), queries, false)
            .map_err(|e| map_query_error(e, "query"))?;
        let mut jobs = Vec::new();
        for row in rows_of(&reply)? {
            let seen = decode_seen(row)?;
            jobs.push(seen.job.clone());
            self.remember(seen);
        }
        Ok(jobs)
    }
}

impl JobStore for AppwriteStore {
    fn create(&self, job: &Job, created: &JobEvent) -> StoreResult<Created> {
        check_sizes(job)?;
        // The created entry's row id is the job id: whoever creates the row, its log has
        // exactly one created entry. It travels in the new row's outbox, so the row and its
        // first entry are one insert.
        let entry = [Pending::new(created, job.rev, job.id.clone())];
        let mut row = encode_job(job);
        row["pendingLog"] = encode_pending(&entry);
        match self.client.create_row(self.jobs(), &job.id, row) {
            Ok(reply) => {
                let seen = decode_seen(&reply.body)?;
                self.remember(seen.clone());
                self.append_oversized(&job.id, &entry);
                Ok(Created::New(seen.job))
            }
            Err(e) if e.kind() == Some("row_already_exists") => {
                // The row's own created entry is in its outbox (or, once cut, in `job_events`);
                // ours is dropped: it would be a second one if the row is someone else's.
                let existing = self.read(&job.id)?;
                // Our own earlier attempt (its answer was lost and the create retried) left
                // exactly our row: that is still a new job for the caller.
                if existing.job == *job {
                    Ok(Created::New(existing.job))
                } else {
                    Ok(Created::Existing(existing.job))
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    fn get(&self, id: &str) -> StoreResult<Job> {
        Ok(self.read(id)?.job)
    }

    /// One list request filtered by `$id`; each row is remembered, so a write that follows
    /// costs one request.
    fn get_many(&self, ids: &[&str]) -> StoreResult<Vec<Job>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<Value> = ids.iter().map(|id| json!(id)).collect();
        let limit = json!(ids.len());
        self.list_jobs(&[
            query("equal", Some("$id"), ids),
            query("limit", None, vec![limit]),
        ])
    }

    fn list(&self, q: &JobQuery) -> StoreResult<Page> {
        let statuses = q.scope.statuses(&q.statuses);
        if statuses.is_empty() {
            return Ok(Page {
                jobs: Vec::new(),
                next_cursor: None,
            });
        }
        let limit = q.effective_limit();
        let mut queries = Vec::new();
        if statuses.len() < JobStatus::ALL.len() {
            queries.push(query("equal", Some("status"), strings(&statuses)));
        }
        if !q.types.is_empty() {
            queries.push(query("equal", Some("type"), strings(&q.types)));
        }
        if let Some(since) = q.updated_since {
            queries.push(query(
                "greaterThanEqual",
                Some("updatedAt"),
                vec![ts(&since)],
            ));
        }
        if let Some(text) = q.search.as_deref().filter(|t| !t.is_empty()) {
            queries.push(search_query(text));
        }
        if let Some(range) = &q.range {
            let column = range.field.column();
            queries.push(query("isNotNull", Some(column), vec![]));
            if let Some(from) = range.from {
                queries.push(query("greaterThanEqual", Some(column), vec![ts(&from)]));
            }
            if let Some(to) = range.to {
                queries.push(query("lessThan", Some(column), vec![ts(&to)]));
            }
        }
        let order_column = match q.order {
            Order::Created => "createdAt",
            Order::Completed => {
                queries.push(query("isNotNull", Some("completedAt"), vec![]));
                "completedAt"
            }
        };
        queries.push(query("orderDesc", Some(order_column), vec![]));
        queries.push(query("orderDesc", Some("$id"), vec![]));
        if let Some(cursor) = &q.cursor {
            queries.push(query("cursorAfter", None, vec![json!(cursor)]));
        }
        // One row more than asked tells whether another page follows, without a count.
        queries.push(query("limit", None, vec![json!(limit + 1)]));
        let mut jobs = self.list_jobs(&queries)?;
        let next_cursor = if jobs.len() > limit {
            jobs.truncate(limit);
            jobs.last().map(|j| j.id.clone())
        } else {
            None
        };
        Ok(Page { jobs, next_cursor })
    }

    fn write(&self, w: &Write) -> StoreResult<Job> {
        check_sizes(&w.job)?;
        let id = w.job.id.as_str();
        let seen = match self.recall(id, w.expected_rev) {
            Some(seen) => seen,
            None => {
                let seen = self.read(id)?;
                if seen.job.rev != w.expected_rev {
                    return Err(StoreError::Conflict { id: id.into() });
                }
                seen
            }
        };
        let mut data = diff(&seen.job, &w.job);
        let entries: Vec<Pending> = w
            .events
            .iter()
            .map(|e| Pending::new(e, w.job.rev, e.id.clone()))
            .collect();
        // A write without log entries (progress, heartbeat) leaves the outbox alone: the
        // PATCH carries only the changed job columns.
        if !entries.is_empty() {
            let mut pending = seen.pending.clone();
            let cut = push_pending(&mut pending, &entries);
            if !cut.is_empty() {
                self.flush(id, &cut)?;
            }
            data.insert("pendingLog".into(), encode_pending(&pending));
        }
        wait_past(&seen.updated_at);
        let result = self.client.update_row(
            self.jobs(),
            id,
            Value::Object(data),
            Some(seen.updated_at.clone()),
        );
        let written = match result {
            Ok(reply) => decode_seen(&reply.body)?,
            Err(e) if e.kind() == Some("row_not_found") => {
                self.forget(id);
                return Err(StoreError::NotFound(id.into()));
            }
            Err(e) if e.kind() == Some("row_update_conflict") => {
                // Either someone else wrote first, or our own attempt landed and its answer was
                // lost before a retry: only the row itself can tell.
                self.forget(id);
                let now = self.read(id)?;
                let ours = entries
                    .iter()
                    .all(|e| now.pending.iter().any(|p| p.event.id == e.event.id));
                if now.job != w.job || !ours {
                    return Err(StoreError::Conflict { id: id.into() });
                }
                now
            }
            Err(e) => {
                self.forget(id);
                return Err(e.into());
            }
        };
        self.remember(written.clone());
        self.append_oversized(id, &entries);
        Ok(written.job)
    }

    /// The log as of one read of the job row: its outbox, merged with `job_events`. The row is
    /// read first: an entry cut from the outbox since was put in `job_events` before, so the
    /// list finds it; entries newer than the row (a higher `jobRev`) are left out, so the log
    /// never shows a later entry while an earlier one is still only in the row.
    fn events(&self, job_id: &str, limit: usize) -> StoreResult<Vec<JobEvent>> {
        let snapshot = self.read(job_id)?;
        self.events_as_of(&snapshot, limit)
    }

    /// The detail page's two requests: the row (job and outbox), then `job_events`.
    fn job_with_events(&self, job_id: &str, limit: usize) -> StoreResult<(Job, Vec<JobEvent>)> {
        let snapshot = self.read(job_id)?;
        let events = self.events_as_of(&snapshot, limit)?;
        Ok((snapshot.job, events))
    }

    /// One bounded pass over the finished jobs, their log first (`bulk`).
    fn prune(&self, retention: &Retention, batch: usize) -> StoreResult<Pruned> {
        self.prune_finished(retention, batch)
    }

    fn stale(
        &self,
        job_type: JobType,
        status: JobStatus,
        before: Timestamp,
        limit: usize,
    ) -> StoreResult<Vec<Job>> {
        self.list_jobs(&[
            query("equal", Some("type"), vec![json!(job_type.as_str())]),
            query("equal", Some("status"), vec![json!(status.as_str())]),
            query("lessThan", Some("heartbeatAt"), vec![ts(&before)]),
            query("orderAsc", Some("heartbeatAt"), vec![]),
            query("orderAsc", Some("$id"), vec![]),
            query("limit", None, vec![json!(limit.clamp(1, MAX_PAGE))]),
        ])
    }

    /// Every (type, status) pair's count in one request, two past 5,000 jobs (`bulk`).
    fn counts(&self) -> StoreResult<Vec<Count>> {
        self.count_by_type_and_status()
    }

    fn note(&self, rev: u64, events: &[JobEvent]) -> StoreResult<()> {
        self.note_entries(rev, events)
    }

    fn noted(&self, ids: &[&str]) -> StoreResult<Vec<String>> {
        self.noted_ids(ids)
    }
}

/// Appwrite keeps `$updatedAt` to the millisecond and refuses a conditional write only when the row
/// is strictly newer than the timestamp sent (appwrite-notes: Conditional writes): a write landing
/// in the same millisecond as the version we read would go unnoticed. Sending our write only once
/// that millisecond is over (on our clock; at most 2 ms of waiting) closes the gap wherever our
/// clock is not behind the server's; across a network the round trips already do.
fn wait_past(updated_at: &str) {
    let Ok(version) = parse_timestamp("$updatedAt", updated_at) else {
        return;
    };
    for _ in 0..4 {
        let now = chrono::Utc::now();
        if now.timestamp_millis() > version.timestamp_millis() {
            return;
        }
        std::thread::sleep(Duration::from_micros(500));
    }
}

/// Reads a job row as the store keeps it: the job, its outbox and the version a conditional
/// write sends back.
fn decode_seen(row: &Value) -> StoreResult<Seen> {
    let job = decode_job(row)?;
    let pending = decode_pending(row, &job.id)?;
    let updated_at = str_field(row, "$updatedAt")?.to_owned();
    Ok(Seen {
        job,
        pending,
        updated_at,
    })
}

fn rows_of(reply: &Reply) -> StoreResult<&Vec<Value>> {
    reply
        .body
        .get("rows")
        .and_then(Value::as_array)
        .ok_or_else(|| malformed("list without a `rows` array"))
}

/// [`JobQuery::search`] as one Appwrite query: `referenceId` contains the text, or `$id` equals
/// it. A `contains` on a text column is `LIKE '%…%'` on MariaDB after utopia-php/database
/// escapes LIKE's wildcards but not `\`, LIKE's escape character; so each `\` is doubled here
/// to stay a literal backslash. Both comparisons ignore case under the table's collation, and
/// neither needs an index (appwrite-notes: Search by substring).
fn search_query(text: &str) -> String {
    let needle = text.replace('\\', "\\\\");
    json!({
        "method": "or",
        "values": [
            {"method": "contains", "attribute": "referenceId", "values": [needle]},
            {"method": "equal", "attribute": "$id", "values": [text]},
        ],
    })
    .to_string()
}

fn strings<T: ToString>(items: &[T]) -> Vec<Value> {
    items.iter().map(|i| Value::from(i.to_string())).collect()
}
