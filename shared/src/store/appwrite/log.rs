//! The job's log in `job_events`, as the store moves it there and reads it back: entries cut
//! from the row's outbox are upserted before the row is written ([`AppwriteStore::flush`]),
//! an entry too large for the outbox is appended once its row is written, and a read merges
//! `job_events` with the outbox as of one read of the row ([`AppwriteStore::events_as_of`]).

use serde_json::{json, Value};

use super::error::malformed;
use super::outbox::Pending;
use super::row::{decode_event, encode_event};
use super::{rows_of, AppwriteStore, Seen};
use crate::appwrite::{query, AppwriteError};
use crate::job::{EventKind, JobEvent};
use crate::store::{StoreError, StoreResult, MAX_PAGE};

/// Rows per bulk upsert: Appwrite's default batch limit (`APP_LIMIT_DATABASE_BATCH`,
/// `appwrite-notes.md` § Rows and writes).
const UPSERT_BATCH: usize = 100;

impl AppwriteStore {
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

    /// [`JobStore::note`](crate::store::JobStore::note): each entry inserted under its event
    /// id, so one already there is a `row_already_exists` and counts as written.
    pub(super) fn note_entries(&self, rev: u64, events: &[JobEvent]) -> StoreResult<()> {
        let entries: Vec<Pending> = events
            .iter()
            .map(|e| Pending::new(e, rev, e.id.clone()))
            .collect();
        Ok(self.append(&entries)?)
    }

    /// [`JobStore::noted`](crate::store::JobStore::noted): one list per `MAX_PAGE` ids (a query
    /// takes at most 500 values, appwrite-notes: Query limits), asking only for `$id`.
    pub(super) fn noted_ids(&self, ids: &[&str]) -> StoreResult<Vec<String>> {
        let mut found = Vec::new();
        for chunk in ids.chunks(MAX_PAGE) {
            let queries = [
                query(
                    "equal",
                    Some("$id"),
                    chunk.iter().map(|id| json!(id)).collect(),
                ),
                query("select", None, vec![json!("$id")]),
                query("limit", None, vec![json!(chunk.len())]),
            ];
            let reply = self
                .client
                .list_rows(self.events_table(), &queries, false)?;
            for row in rows_of(&reply)? {
                let id = row
                    .get("$id")
                    .and_then(Value::as_str)
                    .ok_or_else(|| malformed("event row without `$id`"))?;
                found.push(id.to_owned());
            }
        }
        Ok(found)
    }

    /// Entries stay in the row's outbox until it is cut, so a logged write costs no more than
    /// an unlogged one. The exception is an entry too large for the outbox (kept there without
    /// its details): it is appended once the row holding it is written, so its details reach
    /// `job_events`. A failure loses only those details (the entry itself is in the row), so it
    /// is noted on stderr.
    pub(super) fn append_oversized(&self, job_id: &str, entries: &[Pending]) {
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
    pub(super) fn flush(&self, job_id: &str, entries: &[Pending]) -> StoreResult<()> {
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
            let rows = batch.iter().map(Pending::encode_full).collect();
            self.client
                .upsert_rows(self.events_table(), rows)
                .map_err(refused)?;
        }
        Ok(())
    }

    /// [`JobStore::events`](crate::store::JobStore::events) as of one read of the job row (see
    /// there).
    pub(super) fn events_as_of(&self, snapshot: &Seen, limit: usize) -> StoreResult<Vec<JobEvent>> {
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
        // A note (`JobStore::note`, kind `alerted`) shares the revision of the job's last
        // write but came after it, while that write's entries may still be in the outbox: it
        // sorts after them.
        listed.sort_by_key(|(rev, e)| (*rev, e.kind == EventKind::Alerted));
        listed.truncate(limit);
        Ok(listed.into_iter().map(|(_, e)| e).collect())
    }
}
