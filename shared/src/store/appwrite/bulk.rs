//! The store's passes over whole tables rather than one job: retention's prune (the finished
//! jobs beyond the kept window, their log, and what is still due) and the dashboard header's
//! counts per (type, status). Each is a bounded number of requests, whatever the table holds.

use serde_json::{json, Value};

use super::error::malformed;
use super::row::{str_field, ts};
use super::{rows_of, strings, AppwriteStore};
use crate::appwrite::query;
use crate::job::{JobError, JobStatus, JobType, Timestamp};
use crate::store::{Count, Pruned, StoreResult};

/// Largest retention batch: one bulk delete's `equal` may carry at most 500 values
/// (appwrite-notes: Query limits) and a function run should stay short.
const MAX_PRUNE_BATCH: usize = 100;

/// Jobs listed per request by [`AppwriteStore::count_by_type_and_status`] (`type` and `status`
/// only, about 200 bytes a row).
const COUNT_PAGE: usize = 5000;

impl AppwriteStore {
    /// How many jobs match `queries`, counted by Appwrite (up to 5000).
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

    /// [`JobStore::prune`](crate::store::JobStore::prune): the newest `keep` finished jobs by
    /// completion stay, and the candidates beyond them (or older than the cut-off) are deleted,
    /// their log first.
    pub(super) fn prune_finished(
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

    /// TablesDB 1.9 has no aggregates, and a counted list counts one filter: 24 requests for
    /// the 24 (type, status) pairs. Instead the rows' `type` and `status` alone are listed and
    /// counted here: one request up to [`COUNT_PAGE`] jobs and a second past it, whatever the
    /// number of types and statuses. Retention keeps the table small (the newest 100 finished
    /// jobs by default), so one request is the rule. A list has no page limit and `total` is
    /// itself counted only up to 5000 (`appwrite-notes.md` § Queries), so the counts are exact
    /// up to twice [`COUNT_PAGE`] jobs, as exact as 24 counted lists were.
    pub(super) fn count_by_type_and_status(&self) -> StoreResult<Vec<Count>> {
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
