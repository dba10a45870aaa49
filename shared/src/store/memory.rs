//! [`MemoryStore`]: the [`JobStore`] in this process's memory, for tests and fuzzing (feature
//! `conformance`), so that no deployed crate needs the SQLite store even to test itself.
//!
//! It passes the conformance suite and answers as `sqlite-store` does wherever the suite leaves
//! room: lists newest first by `(key, id)` with the cursor job's key looked up whatever the
//! filters, the same pruning ranks, `stale` oldest first by `(heartbeatAt, id)`, counts in
//! `(type, status)` text order, and timestamps kept to the millisecond as both real stores keep
//! them (`job::millis`), so a value read back and every comparison is what they give.
//!
//! Every call takes one lock for its whole read or write, which makes each call atomic as a
//! SQLite transaction is. The lock is poison-tolerant: nothing under it calls out or panics
//! (clones and map updates only), so rows behind a poisoned lock are still whole, and a caller
//! never inherits another thread's panic from the store.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::job::{self, Job, JobError, JobEvent, JobStatus, JobType, Timestamp};
use crate::store::{
    Count, Created, DateRange, JobQuery, JobStore, Order, Page, Pruned, Retention, StoreError,
    StoreResult, Write,
};

/// The two tables.
#[derive(Debug, Clone, Default)]
struct Rows {
    /// Jobs by id (id order makes [`MemoryStore::jobs`] deterministic).
    jobs: BTreeMap<String, Job>,
    /// Log entries in append order, under their own `job_id` (SQLite's `jobId` column), so an
    /// entry is found, and pruned, exactly as it is there.
    events: HashMap<String, Vec<JobEvent>>,
}

impl Rows {
    /// Whether an entry with this id is in any log (SQLite's unique `id` column).
    fn logged(&self, id: &str) -> bool {
        self.events.values().flatten().any(|e| e.id == id)
    }

    fn append(&mut self, events: &[JobEvent]) {
        for event in events {
            let mut kept = event.clone();
            kept.at = job::millis(kept.at);
            self.events
                .entry(kept.job_id.clone())
                .or_default()
                .push(kept);
        }
    }
}

/// Jobs and their logs in memory. `MemoryStore::new()` (or `default()`) is empty; `clone()`
/// copies the contents at that instant into an independent store (a seeded template copied per
/// test or per fuzz input).
#[derive(Debug, Default)]
pub struct MemoryStore {
    rows: Mutex<Rows>,
}

impl Clone for MemoryStore {
    fn clone(&self) -> Self {
        MemoryStore {
            rows: Mutex::new(self.rows().clone()),
        }
    }
}

/// `job` as a store keeps it: every timestamp to the millisecond.
fn kept(job: &Job) -> Job {
    let mut kept = job.clone();
    kept.started_at = kept.started_at.map(job::millis);
    kept.updated_at = job::millis(kept.updated_at);
    kept.completed_at = kept.completed_at.map(job::millis);
    kept.created_at = job::millis(kept.created_at);
    kept.heartbeat_at = job::millis(kept.heartbeat_at);
    kept
}

/// The list key of `job` in `order`; `None` when the job has none (not finished, by completion).
fn order_key(order: Order, job: &Job) -> Option<Timestamp> {
    match order {
        Order::Created => Some(job.created_at),
        Order::Completed => job.completed_at,
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn rows(&self) -> MutexGuard<'_, Rows> {
        self.rows.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Inserts jobs with their logs as they are (no `created` entry is added), for seeding
    /// tests; the same call as `SqliteStore::bulk_load`. Existing ids are left untouched (their
    /// entries are not added). Returns how many jobs were inserted.
    pub fn bulk_load(
        &self,
        rows: impl IntoIterator<Item = (Job, Vec<JobEvent>)>,
    ) -> StoreResult<usize> {
        let mut stored = self.rows();
        let mut inserted = 0;
        for (job, events) in rows {
            if !stored.jobs.contains_key(&job.id) {
                stored.jobs.insert(job.id.clone(), kept(&job));
                stored.append(&events);
                inserted += 1;
            }
        }
        Ok(inserted)
    }

    /// Every job, in id order: for invariant checks over the whole store.
    pub fn jobs(&self) -> Vec<Job> {
        self.rows().jobs.values().cloned().collect()
    }
}

impl JobStore for MemoryStore {
    fn create(&self, job: &Job, created: &JobEvent) -> StoreResult<Created> {
        let mut rows = self.rows();
        if let Some(existing) = rows.jobs.get(&job.id) {
            return Ok(Created::Existing(existing.clone()));
        }
        rows.jobs.insert(job.id.clone(), kept(job));
        rows.append(std::slice::from_ref(created));
        Ok(Created::New(job.clone()))
    }

    fn get(&self, id: &str) -> StoreResult<Job> {
        self.rows()
            .jobs
            .get(id)
            .cloned()
            .ok_or_else(|| StoreError::NotFound(id.into()))
    }

    fn list(&self, query: &JobQuery) -> StoreResult<Page> {
        let empty = Page {
            jobs: Vec::new(),
            next_cursor: None,
        };
        // As on SQLite, a query no status can match is answered before its cursor is looked at.
        if query.scope.statuses(&query.statuses).is_empty() {
            return Ok(empty);
        }
        // Bounds compare at the stored precision, as SQLite compares epoch milliseconds.
        let query = JobQuery {
            updated_since: query.updated_since.map(job::millis),
            range: query.range.as_ref().map(|range| DateRange {
                from: range.from.map(job::millis),
                to: range.to.map(job::millis),
                ..range.clone()
            }),
            ..query.clone()
        };
        let rows = self.rows();
        // The cursor is any job with a key in this order, whether or not it matches the filters.
        let after = match &query.cursor {
            None => None,
            Some(cursor) => match rows
                .jobs
                .get(cursor)
                .and_then(|j| order_key(query.order, j))
            {
                Some(key) => Some((key, cursor.as_str())),
                None => {
                    return Err(JobError::invalid(
                        "cursor",
                        format!("`{cursor}` names no job of this listing"),
                    )
                    .into())
                }
            },
        };
        let mut hits: Vec<(Timestamp, &Job)> = rows
            .jobs
            .values()
            .filter(|j| query.matches(j))
            .filter_map(|j| Some((order_key(query.order, j)?, j)))
            .filter(|(key, j)| after.is_none_or(|after| (*key, j.id.as_str()) < after))
            .collect();
        hits.sort_unstable_by(|(ka, a), (kb, b)| (kb, &b.id).cmp(&(ka, &a.id)));
        let limit = query.effective_limit();
        let more = hits.len() > limit;
        hits.truncate(limit);
        let jobs: Vec<Job> = hits.into_iter().map(|(_, j)| j.clone()).collect();
        let next_cursor = if more {
            jobs.last().map(|j| j.id.clone())
        } else {
            None
        };
        Ok(Page { jobs, next_cursor })
    }

    fn write(&self, write: &Write) -> StoreResult<Job> {
        let mut rows = self.rows();
        let id = &write.job.id;
        let Some(stored) = rows.jobs.get_mut(id) else {
            return Err(StoreError::NotFound(id.clone()));
        };
        if stored.rev != write.expected_rev {
            return Err(StoreError::Conflict { id: id.clone() });
        }
        *stored = kept(&write.job);
        rows.append(&write.events);
        Ok(write.job.clone())
    }

    fn events(&self, job_id: &str, limit: usize) -> StoreResult<Vec<JobEvent>> {
        let rows = self.rows();
        let events: Vec<JobEvent> = rows
            .events
            .get(job_id)
            .map(|log| log.iter().take(limit).cloned().collect())
            .unwrap_or_default();
        if events.is_empty() && !rows.jobs.contains_key(job_id) {
            return Err(StoreError::NotFound(job_id.into()));
        }
        Ok(events)
    }

    /// [`Retention::due`] over each type's finished jobs, ranked newest first by
    /// `(completedAt, id)` as SQLite ranks them; the victims go oldest first across types.
    fn prune(&self, retention: &Retention, batch: usize) -> StoreResult<Pruned> {
        let retention = retention.at_millis();
        let mut rows = self.rows();
        let mut victims: Vec<(Timestamp, String)> = Vec::new();
        for &job_type in JobType::ALL {
            let mut finished: Vec<(Timestamp, &str)> = rows
                .jobs
                .values()
                .filter(|j| j.job_type == job_type)
                .filter_map(|j| Some((j.completed_at?, j.id.as_str())))
                .collect();
            finished.sort_unstable_by(|a, b| b.cmp(a));
            for (rank, (at, id)) in finished.into_iter().enumerate() {
                if retention.due(job_type, rank, at) {
                    victims.push((at, id.to_owned()));
                }
            }
        }
        victims.sort_unstable();
        let deleted = victims.len().min(batch);
        for (_, id) in victims.iter().take(deleted) {
            rows.jobs.remove(id);
            rows.events.remove(id);
        }
        Ok(Pruned {
            deleted,
            remaining: victims.len() - deleted,
        })
    }

    fn stale(
        &self,
        job_type: JobType,
        status: JobStatus,
        before: Timestamp,
        limit: usize,
    ) -> StoreResult<Vec<Job>> {
        let before = job::millis(before);
        let rows = self.rows();
        let mut stale: Vec<&Job> = rows
            .jobs
            .values()
            .filter(|j| j.job_type == job_type && j.status == status && j.heartbeat_at < before)
            .collect();
        stale.sort_unstable_by(|a, b| (a.heartbeat_at, &a.id).cmp(&(b.heartbeat_at, &b.id)));
        Ok(stale.into_iter().take(limit).cloned().collect())
    }

    fn note(&self, _rev: u64, events: &[JobEvent]) -> StoreResult<()> {
        let mut rows = self.rows();
        for event in events {
            if !rows.logged(&event.id) {
                rows.append(std::slice::from_ref(event));
            }
        }
        Ok(())
    }

    fn noted(&self, ids: &[&str]) -> StoreResult<Vec<String>> {
        let rows = self.rows();
        Ok(ids
            .iter()
            .filter(|id| rows.logged(id))
            .map(|id| id.to_string())
            .collect())
    }

    fn counts(&self) -> StoreResult<Vec<Count>> {
        // Keyed by the wire names: SQLite orders its counts by the `type` and `status` text.
        let mut counts: BTreeMap<(&str, &str), Count> = BTreeMap::new();
        let rows = self.rows();
        for job in rows.jobs.values() {
            counts
                .entry((job.job_type.as_str(), job.status.as_str()))
                .or_insert(Count {
                    job_type: job.job_type,
                    status: job.status,
                    count: 0,
                })
                .count += 1;
        }
        Ok(counts.into_values().collect())
    }
}
