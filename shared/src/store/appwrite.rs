//! The production `JobStore`: jobs and their log in two Appwrite TablesDB tables, spoken to
//! through [`crate::appwrite::AppwriteClient`]. It owns the column mapping (documented as a
//! table in `docs/appwrite-store.md`, from which `appwrite.json` is generated), idempotent
//! creates, the conditional write and the mapping of Appwrite errors to [`StoreError`].
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

use serde_json::{json, Map, Value};

use crate::appwrite::{query, AppwriteClient, AppwriteConfig, AppwriteError, ConfigError, Reply};
use crate::config::Lookup;
use crate::job::{
    parse_timestamp, EventKind, Job, JobError, JobEvent, JobStatus, JobType, Timestamp,
    MAX_JSON_BYTES, MAX_TEXT_CHARS,
};
use crate::store::{
    Count, Created, JobQuery, JobStore, Order, Page, Pruned, StoreError, StoreResult, Write,
    MAX_PAGE,
};

/// Largest retention batch: one bulk delete's `equal` may carry at most 500 values
/// (appwrite-notes: Query limits) and a function run should stay short.
const MAX_PRUNE_BATCH: usize = 100;

/// Rows per bulk upsert: Appwrite's default batch limit (`APP_LIMIT_DATABASE_BATCH`,
/// `appwrite-notes.md` § Rows and writes).
const UPSERT_BATCH: usize = 100;

/// Jobs listed per request by [`JobStore::counts`] (`type` and `status` only, about 200 bytes
/// a row).
const COUNT_PAGE: usize = 5000;

/// Version tag of the JSON wrapper around `metadata`, `result`, `checkpoint` and `details`.
/// The wrapper keeps a user's top-level `"method"` key from being read as an operator
/// (appwrite-notes: Operator strings).
const JSON_WRAPPER_VERSION: u64 = 1;

/// The `pendingLog` column (string, size 65535) is a MariaDB `TEXT`, which holds 65,535 *bytes*,
/// not characters (utopia-php/database 6.0.0 `Adapter/MariaDB.php` `getSQLType`;
/// appwrite-notes: Long text columns hold bytes), so every bound here is in bytes.
const PENDING_COLUMN_BYTES: usize = 65_535;
/// The outbox in the job row holds at most this many entries and this many bytes of JSON.
/// The byte bound is set by the largest entries, not the usual ones (a few hundred bytes, so
/// the entry bound binds first): a message of 2,000 four-byte characters makes an entry of
/// about 8,300 bytes, and the outbox must hold several of them, or every write that logs one
/// would pay a cut (issue 31).
const PENDING_MAX_ENTRIES: usize = 20;
const PENDING_MAX_BYTES: usize = 56_000;
/// ...and once over either bound it is cut back to at most this much, so the request that
/// makes sure the dropped entries are in `job_events` is paid once per ~10 small entries, and
/// once per 6 of the largest messages (no old one fits the keep bound: all are moved at once).
const PENDING_KEEP_ENTRIES: usize = 10;
const PENDING_KEEP_BYTES: usize = 8_000;
/// An entry larger than this (a huge `details`, e.g. a completion's result) is kept in the row
/// without its details, which still reach `job_events` through the normal append.
const PENDING_ENTRY_MAX_BYTES: usize = 12_000;
/// The largest entry the outbox can be asked to keep: details beyond the bound above are left
/// out, a message of `MAX_TEXT_CHARS` characters takes at most 6 bytes a character as JSON
/// (`\u00XX`), and the other columns (ids, times, actor) well under 1,000 bytes.
const PENDING_ENTRY_BOUND: usize = {
    let message = MAX_TEXT_CHARS * 6 + 1_000;
    if message > PENDING_ENTRY_MAX_BYTES {
        message
    } else {
        PENDING_ENTRY_MAX_BYTES
    }
};
/// What the column holds after any write: the outbox under its bound, or, after a cut, what
/// was kept plus a write's new entries (at most two: a `started` and a `progress`), plus the
/// `{"v":1,"data":[…]}` wrapper.
const _: () = assert!(
    PENDING_MAX_BYTES + 64 <= PENDING_COLUMN_BYTES
        && PENDING_KEEP_BYTES + 2 * (PENDING_ENTRY_BOUND + 1) + 64 <= PENDING_COLUMN_BYTES
);
/// What such an entry's details say in the outbox.
const OMITTED: &str = "too large for the job row";

impl From<AppwriteError> for StoreError {
    /// Sorted by what an operator must do: wait (transient), fix the key's scopes (401/403),
    /// fix the endpoint / ids / schema (404 on a database, table or route), or read the cause.
    /// Error types: appwrite-notes: Error types we act on.
    fn from(e: AppwriteError) -> Self {
        if e.is_transient() {
            return StoreError::Unavailable(e.to_string());
        }
        match (e.status(), e.kind()) {
            (Some(401 | 403), _) => StoreError::Denied(e.to_string()),
            (
                Some(404),
                Some(
                    "database_not_found"
                    | "table_not_found"
                    | "general_route_not_found"
                    | "project_not_found",
                ),
            ) => StoreError::Missing(e.to_string()),
            _ => StoreError::Backend(e.to_string()),
        }
    }
}

impl From<ConfigError> for StoreError {
    fn from(e: ConfigError) -> Self {
        StoreError::Backend(e.to_string())
    }
}

/// A row as we last read or wrote it: the job, its outbox of newest log entries, and
/// Appwrite's `$updatedAt`, which is the version a conditional write sends back.
#[derive(Debug, Clone)]
struct Seen {
    job: Job,
    pending: Vec<Pending>,
    updated_at: String,
}

/// One log entry as kept in the job row's `pendingLog`: the event, the job revision it was
/// written with (its place in the log) and its row id in `job_events` (the event id, or the
/// job id for a created entry).
#[derive(Debug, Clone, PartialEq)]
struct Pending {
    event: JobEvent,
    rev: u64,
    row: String,
}

impl Pending {
    fn new(event: &JobEvent, rev: u64, row: String) -> Self {
        Pending {
            event: event.clone(),
            rev,
            row,
        }
    }

    /// The entry as stored: the `job_events` row's columns plus its row id. An entry too large
    /// for the outbox goes without its details (the append still stores them in full).
    fn encode(&self) -> Value {
        let mut value = self.encode_full();
        if bytes(&value) > PENDING_ENTRY_MAX_BYTES {
            value["details"] = wrap(&json!({ "omitted": OMITTED }));
        }
        value
    }

    fn encode_full(&self) -> Value {
        let mut value = encode_event(&self.event, self.rev);
        value["$id"] = json!(self.row);
        value
    }

    /// Whether this entry, as read back from the outbox, lost its details there.
    fn details_omitted(&self) -> bool {
        self.event.details.get("omitted") == Some(&json!(OMITTED))
    }

    /// Whether the outbox keeps this entry without its details.
    fn is_oversized(&self) -> bool {
        bytes(&self.encode_full()) > PENDING_ENTRY_MAX_BYTES
    }

    fn decode(value: &Value) -> StoreResult<Self> {
        Ok(Pending {
            event: decode_event(value)?,
            rev: value
                .get("jobRev")
                .and_then(Value::as_u64)
                .ok_or_else(|| malformed("pendingLog entry without a numeric `jobRev`"))?,
            row: str_field(value, "$id")?.to_owned(),
        })
    }
}

/// Size of a value's JSON in bytes, as the column stores it (UTF-8).
fn bytes(value: &Value) -> usize {
    value.to_string().len()
}

/// The `pendingLog` column's value: the entries, oldest first, in the JSON wrapper.
fn encode_pending(pending: &[Pending]) -> Value {
    wrap(&Value::Array(pending.iter().map(Pending::encode).collect()))
}

/// Appends `new` to the outbox and, if that breaks a bound, cuts the oldest entries (never the
/// new ones: they must be written with their change) down to the keep bounds. Returns what was
/// cut, which the caller must make sure is in `job_events` before the row is written.
fn push_pending(pending: &mut Vec<Pending>, new: &[Pending]) -> Vec<Pending> {
    pending.extend_from_slice(new);
    let sizes: Vec<usize> = pending.iter().map(|p| bytes(&p.encode()) + 1).collect();
    let total: usize = sizes.iter().sum();
    if pending.len() <= PENDING_MAX_ENTRIES && total <= PENDING_MAX_BYTES {
        return Vec::new();
    }
    let droppable = pending.len() - new.len();
    let (mut cut, mut left, mut count) = (0, total, pending.len());
    while cut < droppable && (count > PENDING_KEEP_ENTRIES || left > PENDING_KEEP_BYTES) {
        left -= sizes[cut];
        count -= 1;
        cut += 1;
    }
    pending.drain(..cut).collect()
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

    pub fn from_config(config: AppwriteConfig) -> Self {
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
                let seen = decode_job(&reply.body)?;
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
            let seen = decode_job(row)?;
            jobs.push(seen.job.clone());
            self.remember(seen);
        }
        Ok(jobs)
    }

    fn count(&self, queries: Vec<String>) -> StoreResult<u64> {
        let mut queries = queries;
        queries.push(query("limit", None, vec![json!(1)]));
        queries.push(query("select", None, vec![json!("$id")]));
        let reply = self.client.list_rows(self.jobs(), &queries, true)?;
        reply
            .body
            .get("total")
            .and_then(Value::as_u64)
            .ok_or_else(|| malformed("list without a numeric `total`"))
    }

    /// Inserts entries into `job_events`, in order. The row id is fixed per entry, so a retried
    /// insert is a `row_already_exists` and counts as done.
    fn append(&self, entries: &[Pending]) -> Result<(), AppwriteError> {
        for p in entries {
            match self
                .client
                .create_row(self.events_table(), &p.row, encode_event(&p.event, p.rev))
            {
                Ok(_) => {}
                Err(e) if e.kind() == Some("row_already_exists") => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Entries stay in the row's outbox until it is cut, so a logged write costs no more than
    /// an unlogged one. The exception is an entry too large for the outbox (kept there without
    /// its details): it is appended once the row holding it is written, so its details reach
    /// `job_events`. A failure loses only those details (the entry itself is in the row), so it
    /// is noted on stderr.
    fn append_oversized(&self, job_id: &str, entries: &[Pending]) {
        let oversized: Vec<Pending> = entries
            .iter()
            .filter(|p| p.is_oversized())
            .cloned()
            .collect();
        if oversized.is_empty() {
            return;
        }
        if let Err(e) = self.append(&oversized) {
            eprintln!(
                "job `{job_id}`: a log entry's details were too large for the job row and could \
                 not be appended: {e}"
            );
        }
    }

    /// Makes sure entries about to be cut from a job's outbox are in `job_events`: one bulk
    /// upsert per 100 entries (the entries are immutable and keep their row ids, so writing one
    /// that is already there changes nothing). Runs before the row write, so a failure here
    /// refuses the write with nothing changed.
    fn flush(&self, job_id: &str, entries: &[Pending]) -> StoreResult<()> {
        let refused = |e: AppwriteError| {
            let why = format!(
                "job `{job_id}`: could not move old log entries out of the job row, so the \
                 change was not written: {e}"
            );
            if e.is_transient() {
                StoreError::Unavailable(why)
            } else {
                StoreError::Backend(why)
            }
        };
        // An entry kept without its details was appended in full after its write; an upsert
        // would replace that with the short copy, so those go through a plain insert.
        let (short, full): (Vec<Pending>, Vec<Pending>) =
            entries.iter().cloned().partition(Pending::details_omitted);
        self.append(&short).map_err(refused)?;
        for batch in full.chunks(UPSERT_BATCH) {
            let rows = batch
                .iter()
                .map(|p| {
                    let mut row = encode_event(&p.event, p.rev);
                    row["$id"] = json!(p.row);
                    row
                })
                .collect();
            self.client
                .upsert_rows(self.events_table(), rows)
                .map_err(refused)?;
        }
        Ok(())
    }

    /// [`JobStore::events`] as of one read of the job row (see there).
    fn events_as_of(&self, snapshot: &Seen, limit: usize) -> StoreResult<Vec<JobEvent>> {
        let job_id = snapshot.job.id.as_str();
        let mut listed: Vec<(u64, JobEvent)> = Vec::new();
        let mut cursor: Option<String> = None;
        while listed.len() < limit {
            let page = (limit - listed.len()).min(MAX_PAGE);
            let mut queries = vec![
                query("equal", Some("jobId"), vec![json!(job_id)]),
                // Revision order is write order: an entry appended late still sorts after the
                // entries of earlier revisions, whatever its `at` or insertion time.
                query("orderAsc", Some("jobRev"), vec![]),
                query("orderAsc", Some("$sequence"), vec![]),
                query("limit", None, vec![json!(page)]),
            ];
            if let Some(c) = &cursor {
                queries.push(query("cursorAfter", None, vec![json!(c)]));
            }
            let reply = self
                .client
                .list_rows(self.events_table(), &queries, false)?;
            let rows = rows_of(&reply)?;
            for row in rows {
                let rev = row
                    .get("jobRev")
                    .and_then(Value::as_u64)
                    .ok_or_else(|| malformed("event row without a numeric `jobRev`"))?;
                listed.push((rev, decode_event(row)?));
            }
            if rows.len() < page {
                break;
            }
            cursor = rows
                .last()
                .and_then(|r| r.get("$id"))
                .and_then(Value::as_str)
                .map(str::to_owned);
            if cursor.is_none() {
                return Err(malformed("event row without `$id`"));
            }
        }
        listed.retain(|(rev, _)| *rev <= snapshot.job.rev);
        // Entries only in the outbox (not cut yet) join the listed ones; a stable sort
        // by revision keeps `$sequence` order within one, and a write's entries reach
        // `job_events` as a prefix, so the outbox's remainder follows it.
        for p in &snapshot.pending {
            if !listed.iter().any(|(_, e)| e.id == p.event.id) {
                listed.push((p.rev, p.event.clone()));
            }
        }
        listed.sort_by_key(|(rev, _)| *rev);
        listed.truncate(limit);
        Ok(listed.into_iter().map(|(_, e)| e).collect())
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
                let seen = decode_job(&reply.body)?;
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
        if let Some(prefix) = &q.reference_prefix {
            queries.push(query(
                "startsWith",
                Some("referenceId"),
                vec![json!(prefix)],
            ));
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
            Ok(reply) => decode_job(&reply.body)?,
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

    fn prune(
        &self,
        keep: usize,
        older_than: Option<Timestamp>,
        batch: usize,
    ) -> StoreResult<Pruned> {
        let batch = batch.clamp(1, MAX_PRUNE_BATCH);
        let finished = || query("equal", Some("status"), strings(JobStatus::FINAL));
        let select = || query("select", None, vec![json!("$id"), json!("completedAt")]);

        // Beyond the newest `keep` by completion, plus anything older than the cut-off.
        let mut candidates: Vec<(String, String)> = Vec::new();
        let mut collect = |queries: Vec<String>| -> StoreResult<()> {
            let reply = self.client.list_rows(self.jobs(), &queries, false)?;
            for row in rows_of(&reply)? {
                let id = str_field(row, "$id")?.to_owned();
                let at = row
                    .get("completedAt")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned();
                if !candidates.iter().any(|(c, _)| *c == id) {
                    candidates.push((id, at));
                }
            }
            Ok(())
        };
        collect(vec![
            finished(),
            query("isNotNull", Some("completedAt"), vec![]),
            query("orderDesc", Some("completedAt"), vec![]),
            query("orderDesc", Some("$id"), vec![]),
            query("offset", None, vec![json!(keep)]),
            query("limit", None, vec![json!(batch)]),
            select(),
        ])?;
        if let Some(cut) = older_than {
            collect(vec![
                finished(),
                query("lessThan", Some("completedAt"), vec![ts(&cut)]),
                query("orderAsc", Some("completedAt"), vec![]),
                query("limit", None, vec![json!(batch)]),
                select(),
            ])?;
        }
        candidates.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
        candidates.truncate(batch);

        let mut deleted = 0;
        if !candidates.is_empty() {
            let ids: Vec<Value> = candidates.iter().map(|(id, _)| json!(id)).collect();
            // Log first: if the job delete then fails, the next pass finds the job again;
            // the other order could leave log rows no job points to.
            self.client.delete_rows(
                self.events_table(),
                &[query("equal", Some("jobId"), ids.clone())],
            )?;
            let reply = self.client.delete_rows(
                self.jobs(),
                // The status guard keeps an active job safe whatever the id list says.
                &[query("equal", Some("$id"), ids), finished()],
            )?;
            deleted = reply
                .body
                .get("total")
                .and_then(Value::as_u64)
                .ok_or_else(|| malformed("bulk delete without a numeric `total`"))?
                as usize;
            for (id, _) in &candidates {
                self.forget(id);
            }
        }

        // What is still due: beyond `keep`, or older than the cut-off (the two sets nest, so
        // the larger count is the union's size). Appwrite counts up to 5000
        // (appwrite-notes: Query limits).
        let total_finished = self.count(vec![finished()])? as usize;
        let mut remaining = total_finished.saturating_sub(keep);
        if let Some(cut) = older_than {
            let old = self.count(vec![
                finished(),
                query("lessThan", Some("completedAt"), vec![ts(&cut)]),
            ])? as usize;
            remaining = remaining.max(old);
        }
        Ok(Pruned { deleted, remaining })
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

    /// TablesDB 1.9 has no aggregates, and a counted list counts one filter: 24 requests for
    /// the 24 (type, status) pairs. Instead the rows' `type` and `status` alone are listed and
    /// counted here: one request up to [`COUNT_PAGE`] jobs and a second past it, whatever the
    /// number of types and statuses. Retention keeps the table small (the newest 100 finished
    /// jobs by default), so one request is the rule. A list has no page limit and `total` is
    /// itself counted only up to 5000 (`appwrite-notes.md` § Queries), so the counts are exact
    /// up to twice [`COUNT_PAGE`] jobs, as exact as 24 counted lists were.
    fn counts(&self) -> StoreResult<Vec<Count>> {
        let mut tally: Vec<Count> = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..2 {
            let mut queries = vec![
                query(
                    "select",
                    None,
                    vec![json!("$id"), json!("type"), json!("status")],
                ),
                query("orderAsc", Some("$id"), vec![]),
                query("limit", None, vec![json!(COUNT_PAGE)]),
            ];
            if let Some(c) = &cursor {
                queries.push(query("cursorAfter", None, vec![json!(c)]));
            }
            let reply = self.client.list_rows(self.jobs(), &queries, false)?;
            let rows = rows_of(&reply)?;
            for row in rows {
                let job_type: JobType = str_field(row, "type")?
                    .parse()
                    .map_err(|e: JobError| malformed(&format!("job row `type`: {e}")))?;
                let status: JobStatus = str_field(row, "status")?
                    .parse()
                    .map_err(|e: JobError| malformed(&format!("job row `status`: {e}")))?;
                match tally
                    .iter_mut()
                    .find(|c| c.job_type == job_type && c.status == status)
                {
                    Some(c) => c.count += 1,
                    None => tally.push(Count {
                        job_type,
                        status,
                        count: 1,
                    }),
                }
            }
            if rows.len() < COUNT_PAGE {
                break;
            }
            cursor = Some(str_field(&rows[rows.len() - 1], "$id")?.to_owned());
        }
        // The order callers saw from the per-pair counts: by type, then status.
        let rank = |c: &Count| {
            (
                JobType::ALL.iter().position(|t| *t == c.job_type),
                JobStatus::ALL.iter().position(|s| *s == c.status),
            )
        };
        tally.sort_by_key(rank);
        Ok(tally)
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

fn malformed(what: &str) -> StoreError {
    StoreError::Backend(AppwriteError::Malformed(what.into()).to_string())
}

/// A list query Appwrite refused (a bad cursor, say) is the caller's mistake, not an outage.
fn map_query_error(e: AppwriteError, field: &'static str) -> StoreError {
    match (e.status(), e.kind()) {
        (Some(400), Some(kind))
            if kind.starts_with("general_cursor") || kind == "general_query_invalid" =>
        {
            StoreError::Job(JobError::invalid(
                if kind.starts_with("general_cursor") {
                    "cursor"
                } else {
                    field
                },
                e.to_string(),
            ))
        }
        _ => e.into(),
    }
}

fn rows_of(reply: &Reply) -> StoreResult<&Vec<Value>> {
    reply
        .body
        .get("rows")
        .and_then(Value::as_array)
        .ok_or_else(|| malformed("list without a `rows` array"))
}

fn strings<T: ToString>(items: &[T]) -> Vec<Value> {
    items.iter().map(|i| Value::from(i.to_string())).collect()
}

fn ts(t: &Timestamp) -> Value {
    Value::from(crate::appwrite::datetime(t))
}

fn opt_ts(t: &Option<Timestamp>) -> Value {
    t.as_ref().map_or(Value::Null, ts)
}

/// Marks free text that Appwrite would otherwise read as an operator. On every update path
/// Appwrite 1.9.6 applies any string value, on any column, that JSON-decodes to an object with
/// an operator `method` (appwrite-notes: Operator strings, Operator methods): a worker's message
/// `{"method":"stringConcat",…}` would be appended, `{"method":"increment",…}` would fail the
/// write. Such text, and text that already starts with the mark, is stored with the mark in
/// front (not JSON any more, so plain text to Appwrite); [`unescape_text`] removes exactly one.
/// U+2060 WORD JOINER: invisible in the console, never produced by our own values.
pub const TEXT_ESCAPE: char = '\u{2060}';

/// The stored form of a free-text column's value: see [`TEXT_ESCAPE`]. The only place text is
/// escaped; every free-text job column passes through it in [`encode_job`].
pub fn escape_text(text: &str) -> String {
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
pub fn unescape_text(stored: String) -> String {
    match stored.strip_prefix(TEXT_ESCAPE) {
        Some(text) => text.to_owned(),
        None => stored,
    }
}

fn plain(text: &Option<String>) -> Value {
    text.as_deref()
        .map_or(Value::Null, |t| Value::from(escape_text(t)))
}

/// `{"v":1,"data":…}` as text: see [`JSON_WRAPPER_VERSION`].
fn wrap(value: &Value) -> Value {
    Value::from(json!({"v": JSON_WRAPPER_VERSION, "data": value}).to_string())
}

fn wrap_opt(value: Option<&Value>) -> Value {
    value.map_or(Value::Null, wrap)
}

/// Rejects JSON columns that would not fit, before any write (the use cases check metadata and
/// result; the checkpoint is opaque to them).
fn check_sizes(job: &Job) -> StoreResult<()> {
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

/// Every column of a job row (see the table in `docs/appwrite-store.md`).
fn encode_job(job: &Job) -> Value {
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

/// A job as its `jobs` row reads (every column plus `$id`), e.g. the payload a Realtime event
/// carries; the dev server's Realtime endpoint publishes this so the dashboard sees one shape.
pub fn job_row(job: &Job) -> Value {
    let mut row = encode_job(job);
    row["$id"] = json!(job.id);
    row
}

/// [`job_row`] with `events` (the entries written with this change) in its `pendingLog`
/// outbox, encoded as the store encodes them (a created entry's row id is the job id).
pub fn job_row_with_log(job: &Job, events: &[JobEvent]) -> Value {
    let mut row = job_row(job);
    let pending: Vec<Pending> = events
        .iter()
        .map(|e| {
            let id = if e.kind == EventKind::Created {
                job.id.clone()
            } else {
                e.id.clone()
            };
            Pending::new(e, job.rev, id)
        })
        .collect();
    row["pendingLog"] = encode_pending(&pending);
    row
}

/// One job row's outbox as [`AppwriteStore`] keeps it, for a stand-in that must publish what
/// Appwrite would for the same writes (`jobs-dev`'s Realtime): `pendingLog` grows with each
/// logged write and entries reach `job_events` only when it is cut.
#[derive(Debug, Default, Clone)]
pub struct Outbox {
    pending: Vec<Pending>,
}

impl Outbox {
    /// Adds the entries written with `job`'s change (a created entry's row id is the job id,
    /// as [`job_row_with_log`]). Returns the row's new `pendingLog` value and the `job_events`
    /// rows the store upserts first because the outbox was cut (empty when it was not); `None`
    /// for a write without entries, which leaves `pendingLog` unchanged.
    pub fn push(&mut self, job: &Job, events: &[JobEvent]) -> Option<(Value, Vec<Value>)> {
        if events.is_empty() {
            return None;
        }
        let new: Vec<Pending> = events
            .iter()
            .map(|e| {
                let id = if e.kind == EventKind::Created {
                    job.id.clone()
                } else {
                    e.id.clone()
                };
                Pending::new(e, job.rev, id)
            })
            .collect();
        let cut = push_pending(&mut self.pending, &new);
        let rows = cut.iter().map(Pending::encode_full).collect();
        Some((encode_pending(&self.pending), rows))
    }

    /// The current `pendingLog` value.
    pub fn value(&self) -> Value {
        encode_pending(&self.pending)
    }
}

/// A log entry as its `job_events` row reads (with `$id`), for the same purpose as [`job_row`].
pub fn event_row(event: &JobEvent, rev: u64) -> Value {
    let mut row = encode_event(event, rev);
    row["$id"] = json!(event.id);
    row
}

/// Only the columns that changed (a partial update, appwrite-notes: Row endpoints): smaller
/// requests, and a column we do not touch is never rewritten from a stale copy.
fn diff(old: &Job, new: &Job) -> Map<String, Value> {
    let (Value::Object(old), Value::Object(new)) = (encode_job(old), encode_job(new)) else {
        return Map::new();
    };
    new.into_iter()
        .filter(|(k, v)| old.get(k) != Some(v))
        .collect()
}

/// Reads a job row; a row that does not decode is an error naming the row and column.
fn decode_job(row: &Value) -> StoreResult<Seen> {
    let id = str_field(row, "$id")?.to_owned();
    let bad = |column: &str, why: String| {
        StoreError::Backend(format!("job row `{id}` column `{column}`: {why}"))
    };
    let text = |c: &str| -> StoreResult<Option<String>> {
        match row.get(c) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(bad(c, format!("expected text, got {other}"))),
        }
    };
    let required =
        |c: &str| -> StoreResult<String> { text(c)?.ok_or_else(|| bad(c, "missing".into())) };
    let time = |c: &str| -> StoreResult<Option<Timestamp>> {
        text(c)?
            .map(|raw| parse_timestamp("datetime", &raw).map_err(|e| bad(c, e.to_string())))
            .transpose()
    };
    let required_time =
        |c: &str| -> StoreResult<Timestamp> { time(c)?.ok_or_else(|| bad(c, "missing".into())) };
    let number = |c: &str| -> StoreResult<Option<u64>> {
        match row.get(c) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| bad(c, format!("expected a whole number, got {v}"))),
        }
    };
    let unwrapped = |c: &str| -> StoreResult<Option<Value>> {
        text(c)?
            .map(|raw| unwrap_json(&raw).map_err(|why| bad(c, why)))
            .transpose()
    };
    let object = |c: &str, v: Option<Value>| -> StoreResult<Option<Map<String, Value>>> {
        match v {
            None => Ok(None),
            Some(Value::Object(m)) => Ok(Some(m)),
            Some(other) => Err(bad(c, format!("expected a JSON object, got {other}"))),
        }
    };

    let job = Job {
        job_type: required("type")?
            .parse()
            .map_err(|e: JobError| bad("type", e.to_string()))?,
        status: required("status")?
            .parse()
            .map_err(|e: JobError| bad("status", e.to_string()))?,
        reference_id: required("referenceId")?,
        progress: number("progress")?
            .and_then(|p| u8::try_from(p).ok())
            .ok_or_else(|| bad("progress", "missing or above 255".into()))?,
        progress_message: text("progressMessage")?.map(unescape_text),
        started_at: time("startedAt")?,
        updated_at: required_time("updatedAt")?,
        completed_at: time("completedAt")?,
        error_message: text("errorMessage")?.map(unescape_text),
        metadata: object("metadata", unwrapped("metadata")?)?.unwrap_or_default(),
        created_at: required_time("createdAt")?,
        heartbeat_at: required_time("heartbeatAt")?,
        done: number("done")?,
        total: number("total")?,
        checkpoint: unwrapped("checkpoint")?,
        result: object("result", unwrapped("result")?)?,
        idempotency_key: text("idempotencyKey")?,
        last_actor: text("lastActor")?,
        last_reason: text("lastReason")?.map(unescape_text),
        retry_of: text("retryOf")?,
        rev: number("rev")?.ok_or_else(|| bad("rev", "missing".into()))?,
        // Rows written before runs existed are in their first run's position: run 0.
        run: number("run")?.unwrap_or(0),
        execution_id: text("executionId")?,
        // Rows written before claims existed hold none.
        claims: match unwrapped("claims")? {
            None | Some(Value::Null) => Vec::new(),
            Some(v) => serde_json::from_value(v).map_err(|e| bad("claims", e.to_string()))?,
        },
        id: id.clone(),
    };
    let pending = match unwrapped("pendingLog")? {
        // Rows written before the outbox existed have none.
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(entries)) => entries
            .iter()
            .map(Pending::decode)
            .collect::<StoreResult<_>>()
            .map_err(|e| bad("pendingLog", e.to_string()))?,
        Some(other) => return Err(bad("pendingLog", format!("expected an array, got {other}"))),
    };
    let updated_at = str_field(row, "$updatedAt")?.to_owned();
    Ok(Seen {
        job,
        pending,
        updated_at,
    })
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

fn str_field<'a>(row: &'a Value, field: &str) -> StoreResult<&'a str> {
    row.get(field)
        .and_then(Value::as_str)
        .ok_or_else(|| malformed(&format!("row without a text `{field}`")))
}

fn encode_event(e: &JobEvent, rev: u64) -> Value {
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

fn decode_event(row: &Value) -> StoreResult<JobEvent> {
    let row_id = str_field(row, "$id")?;
    let bad = |column: &str, why: String| {
        StoreError::Backend(format!("event row `{row_id}` column `{column}`: {why}"))
    };
    let text = |c: &str| row.get(c).and_then(Value::as_str).map(str::to_owned);
    let status = |c: &str| -> StoreResult<Option<JobStatus>> {
        text(c)
            .map(|s| s.parse().map_err(|e: JobError| bad(c, e.to_string())))
            .transpose()
    };
    let kind: EventKind = serde_json::from_value(row.get("kind").cloned().unwrap_or(Value::Null))
        .map_err(|e| bad("kind", e.to_string()))?;
    let details =
        match unwrap_json(&text("details").unwrap_or_default()).map_err(|w| bad("details", w))? {
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
        id: text("eventId").unwrap_or_else(|| row_id.to_owned()),
        job_id: text("jobId").ok_or_else(|| bad("jobId", "missing".into()))?,
        at: parse_timestamp("at", &text("at").unwrap_or_default())
            .map_err(|e| bad("at", e.to_string()))?,
        kind,
        actor: text("actor").unwrap_or_default(),
        message: text("message").map(unescape_text),
        from_status: status("fromStatus")?,
        to_status: status("toStatus")?,
        details,
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

    fn as_row(job: &Job) -> Value {
        let mut row = encode_job(job);
        row["$id"] = json!(job.id);
        row["$updatedAt"] = json!("2026-11-29T11:48:05.456+00:00");
        row
    }

    #[test]
    fn a_job_survives_the_round_trip_through_its_row() {
        let job = job();
        assert_eq!(decode_job(&as_row(&job)).unwrap().job, job);
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
        let mut row = as_row(&job());
        row["status"] = json!("running");
        let err = decode_job(&row).unwrap_err().to_string();
        assert!(err.contains("`status`") && err.contains("j1"), "{err}");
        let mut row = as_row(&job());
        row["metadata"] = json!("{\"method\":\"increment\"}");
        assert!(decode_job(&row)
            .unwrap_err()
            .to_string()
            .contains("metadata"));
    }

    fn entry(n: u64, message_chars: usize) -> Pending {
        let event = JobEvent {
            id: format!("e{n}"),
            job_id: "j1".into(),
            at: crate::job::millis(Utc::now()),
            kind: EventKind::Progress,
            actor: "system".into(),
            message: Some("m".repeat(message_chars)),
            from_status: Some(JobStatus::Running),
            to_status: Some(JobStatus::Running),
            details: Map::new(),
        };
        Pending::new(&event, n, format!("e{n}"))
    }

    #[test]
    fn the_outbox_survives_the_round_trip_through_its_row() {
        let mut row = as_row(&job());
        let pending = vec![entry(1, 10), entry(2, 0)];
        row["pendingLog"] = encode_pending(&pending);
        assert_eq!(decode_job(&row).unwrap().pending, pending);
        // Rows from before the outbox have no such column.
        assert!(decode_job(&as_row(&job())).unwrap().pending.is_empty());
    }

    #[test]
    fn the_outbox_is_cut_to_half_only_past_its_bounds_and_never_loses_the_new_entries() {
        let mut pending: Vec<Pending> = (1..=PENDING_MAX_ENTRIES as u64)
            .map(|n| entry(n, 10))
            .collect();
        assert!(push_pending(&mut Vec::new(), &pending).is_empty());
        let cut = push_pending(&mut pending, &[entry(21, 10)]);
        assert_eq!(cut.len(), 21 - PENDING_KEEP_ENTRIES);
        assert_eq!(cut[0].rev, 1, "the oldest go first");
        assert_eq!(pending.len(), PENDING_KEEP_ENTRIES);
        assert_eq!(pending.last().unwrap().rev, 21);

        // By size: long messages (4,000 bytes each) trip the byte bound before the entry bound.
        let long = |n| {
            let mut e = entry(n, 0);
            e.event.message = Some("😀".repeat(1_000));
            e
        };
        let mut pending: Vec<Pending> = (1..=13).map(long).collect();
        assert!(push_pending(&mut pending.clone(), &[]).is_empty());
        let cut = push_pending(&mut pending, &[long(14)]);
        assert!(!cut.is_empty());
        let kept: usize = pending.iter().map(|p| bytes(&p.encode()) + 1).sum();
        assert!(kept <= PENDING_KEEP_BYTES, "{kept}");
        assert_eq!(pending.last().unwrap().rev, 14);
    }

    /// 4-byte characters count four times against the column's 65,535 bytes: the outbox bound
    /// is in bytes, so it holds whatever the text. And it holds several of the longest
    /// messages, so a worker changing one on every call pays a cut once per six writes, each
    /// moving six entries, not one on every write (issue 31).
    #[test]
    fn the_longest_four_byte_messages_fit_the_column_and_are_cut_once_per_six_writes() {
        let mut pending = Vec::new();
        let mut cuts = Vec::new();
        for n in 1..=60u64 {
            let mut e = entry(n, 0);
            e.event.message = Some("😀".repeat(MAX_TEXT_CHARS));
            let cut = push_pending(&mut pending, &[e]);
            if !cut.is_empty() {
                cuts.push(cut.len());
            }
            let size = encode_pending(&pending).as_str().map_or(0, str::len);
            assert!(size <= PENDING_COLUMN_BYTES, "entry {n}: {size} bytes");
        }
        assert!(cuts.len() <= 60 / 6, "{cuts:?}");
        assert!(cuts.iter().all(|&n| n >= 6), "{cuts:?}");
    }

    /// The worst case for the column: every write brings two entries whose messages escape to
    /// six bytes a character (`\u0001`), the most JSON a message can take.
    #[test]
    fn the_outbox_fits_the_column_with_the_largest_entries_a_write_can_bring() {
        let mut pending = Vec::new();
        for n in (1..=40u64).step_by(2) {
            let pair: Vec<Pending> = [n, n + 1]
                .iter()
                .map(|&k| {
                    let mut e = entry(k, 0);
                    e.event.message = Some("\u{1}".repeat(MAX_TEXT_CHARS));
                    e
                })
                .collect();
            push_pending(&mut pending, &pair);
            let size = encode_pending(&pending).as_str().map_or(0, str::len);
            assert!(
                size <= PENDING_COLUMN_BYTES,
                "entries {n}-{}: {size} bytes",
                n + 1
            );
        }
    }

    #[test]
    fn an_entry_too_large_for_the_outbox_is_kept_without_its_details() {
        let mut big = entry(1, 10);
        big.event
            .details
            .insert("blob".into(), json!("x".repeat(PENDING_ENTRY_MAX_BYTES)));
        let kept = Pending::decode(&big.encode()).unwrap();
        assert_eq!(kept.event.id, "e1");
        assert!(kept.event.details.get("blob").is_none());
        assert!(bytes(&big.encode()) <= PENDING_ENTRY_MAX_BYTES);
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
