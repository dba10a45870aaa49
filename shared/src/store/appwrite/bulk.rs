//! The store's passes over whole tables rather than one job: retention's prune (each type's
//! finished jobs its rules do not keep, their log, and what is still due) and the dashboard header's
//! counts per (type, status). Each is a bounded number of requests, whatever the table holds.

use serde_json::{json, Value};

use super::error::malformed;
use super::row::{str_field, ts};
use super::{rows_of, strings, AppwriteStore};
use crate::appwrite::{query, Reply};
use crate::job::{parse_timestamp, JobError, JobStatus, JobType, Timestamp};
use crate::store::{Count, Pruned, Retention, StoreResult};

/// Largest retention batch: one bulk delete's `equal` may carry at most 500 values
/// (appwrite-notes: Query limits) and a function run should stay short.
const MAX_PRUNE_BATCH: usize = 100;

/// Jobs listed per request by [`AppwriteStore::count_by_type_and_status`] (`type` and `status`
/// only, about 200 bytes a row).
const COUNT_PAGE: usize = 5000;

/// The `total` of a counted list or a bulk delete.
fn total_of(reply: &Reply) -> StoreResult<u64> {
    reply
        .body
        .get("total")
        .and_then(Value::as_u64)
        .ok_or_else(|| malformed("answer without a numeric `total`"))
}

impl AppwriteStore {
    /// How many jobs match `queries`, counted by Appwrite (up to 5000).
    fn count(&self, queries: Vec<String>) -> StoreResult<u64> {
        let mut queries = queries;
        queries.push(query("limit", None, vec![json!(1)]));
        queries.push(query("select", None, vec![json!("$id")]));
        let reply = self.client.list_rows(self.jobs(), &queries, true)?;
        total_of(&reply)
    }

    /// [`JobStore::prune`](crate::store::JobStore::prune), [`Retention::due`] per type.
    ///
    /// A type's due jobs are always its oldest (those beyond the newest N and those past the
    /// maximum age are both the oldest; those within the minimum age are the newest), so one
    /// counted list per type, oldest first, finds them: the `total` gives each row's rank.
    /// Then the log of the oldest `batch` due jobs across types is deleted, then the jobs: per
    /// pass one request per pruned type plus two, and two counts more per type only when its
    /// due jobs overflow the page (a backlog), to report what is still due exactly.
    pub(super) fn prune_finished(
        &self,
        retention: &Retention,
        batch: usize,
    ) -> StoreResult<Pruned> {
        let batch = batch.clamp(1, MAX_PRUNE_BATCH);
        let retention = &retention.at_millis();
        let finished = || query("equal", Some("status"), strings(JobStatus::FINAL));
        let mut due: Vec<(Timestamp, String)> = Vec::new();
        let mut remaining = 0;
        for keep in &retention.keep {
            let of_type = || {
                vec![
                    finished(),
                    query("equal", Some("type"), vec![json!(keep.job_type.as_str())]),
                ]
            };
            let mut queries = of_type();
            queries.extend([
                query("isNotNull", Some("completedAt"), vec![]),
                query("orderAsc", Some("completedAt"), vec![]),
                query("orderAsc", Some("$id"), vec![]),
                query("limit", None, vec![json!(batch)]),
                query("select", None, vec![json!("$id"), json!("completedAt")]),
            ]);
            let reply = self.client.list_rows(self.jobs(), &queries, true)?;
            // Counted up to 5000 (appwrite-notes: Query limits): past it every rank is
            // underestimated, so no job the rules keep is ever taken for a due one.
            let total = total_of(&reply)? as usize;
            let rows = rows_of(&reply)?;
            let mut found = 0;
            for (i, row) in rows.iter().enumerate() {
                let id = str_field(row, "$id")?;
                let at = parse_timestamp("completedAt", str_field(row, "completedAt")?)
                    .map_err(|e| malformed(&format!("job row `completedAt`: {e}")))?;
                let rank = total.saturating_sub(i + 1);
                if retention.due(keep.job_type, rank, at) {
                    due.push((at, id.to_owned()));
                    found += 1;
                } else {
                    // Due jobs are a prefix of this order.
                    break;
                }
            }
            remaining += if found < rows.len() || rows.len() >= total {
                found
            } else {
                // Every row of the page is due and more follow: the due prefix is the oldest
                // beyond the newest N or past the maximum age, short of the minimum age.
                let count = |extra: String| -> StoreResult<usize> {
                    let mut queries = of_type();
                    queries.push(extra);
                    Ok(self.count(queries)? as usize)
                };
                let mut prefix = total.saturating_sub(keep.newest);
                if let Some(cut) = retention.older_than {
                    let old = count(query("lessThan", Some("completedAt"), vec![ts(&cut)]))?;
                    prefix = prefix.max(old);
                }
                if let Some(since) = keep.since {
                    let young = count(query(
                        "greaterThanEqual",
                        Some("completedAt"),
                        vec![ts(&since)],
                    ))?;
                    prefix = prefix.min(total.saturating_sub(young));
                }
                prefix.max(found)
            };
        }
        due.sort();
        due.truncate(batch);

        let mut deleted = 0;
        if !due.is_empty() {
            let ids: Vec<Value> = due.iter().map(|(_, id)| json!(id)).collect();
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
            deleted = total_of(&reply)? as usize;
            for (_, id) in &due {
                self.forget(id);
            }
        }
        Ok(Pruned {
            deleted,
            remaining: remaining.saturating_sub(deleted),
        })
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
