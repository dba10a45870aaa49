//! The sweeper's use cases (`retention`): fail jobs that stalled, prune finished history.

use chrono::Duration;
use serde_json::Map;

use super::{Act, Error, Result};
use crate::job::{self, Event, EventKind, Job, JobStatus, JobType, Timestamp};
use crate::store::{Keep, Pruned, Retention};

/// Stall thresholds per job type: how long a RUNNING job may go without a heartbeat, and how
/// long a QUEUED job may wait to be picked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StallPolicy {
    pub running: Vec<(JobType, Duration)>,
    pub queued: Vec<(JobType, Duration)>,
}

/// Marks stalled jobs FAILED with the system as actor. Returns the jobs it failed.
pub fn mark_stalled(act: &Act, policy: &StallPolicy, limit: usize) -> Result<Vec<Job>> {
    let mut failed = Vec::new();
    let lists = [
        (JobStatus::Running, &policy.running),
        (JobStatus::Queued, &policy.queued),
    ];
    for (status, thresholds) in lists {
        for &(job_type, threshold) in thresholds {
            let cutoff = act.now - threshold;
            for stale in act.store.stale(job_type, status, cutoff, limit)? {
                match mark_one_stalled(act, &stale.id, status, cutoff) {
                    Ok(Some(job)) => failed.push(job),
                    Ok(None) | Err(Error::Illegal { .. }) | Err(Error::NotFound(_)) => {}
                    Err(e) => return Err(e),
                }
            }
        }
    }
    Ok(failed)
}

fn mark_one_stalled(
    act: &Act,
    job_id: &str,
    status: JobStatus,
    cutoff: Timestamp,
) -> Result<Option<Job>> {
    let mut changed = false;
    let job = act.mutate(job_id, |job| {
        // Re-checked on the fresh row: a heartbeat that arrived since the scan saves the job.
        if job.status != status || job.heartbeat_at >= cutoff {
            changed = false;
            return Ok(None);
        }
        let since = job::format_timestamp(&job.heartbeat_at);
        let message = match status {
            JobStatus::Queued => format!("stalled: queued since {since} and never picked up"),
            _ => format!("stalled: no heartbeat since {since}"),
        };
        let from = act.step(job, Event::Stall)?;
        job.error_message = Some(message.clone());
        job.last_actor = Some(act.actor.clone());
        changed = true;
        Ok(Some(vec![act.event(
            job,
            EventKind::Stalled,
            Some(from),
            Some(message),
            Map::new(),
        )]))
    })?;
    Ok(changed.then_some(job))
}

/// What retention keeps of one job type, as ages (see [`prune`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeepRule {
    pub job_type: JobType,
    /// The newest this many finished jobs stay.
    pub newest: usize,
    /// Finished jobs younger than this stay, however many (never deleted, even past `newest`).
    pub min_age: Option<Duration>,
}

/// One retention pass: per type, keep the newest `newest` finished jobs and every one younger
/// than `min_age`; delete the rest, and any older than `max_age` (which must be longer than
/// every `min_age`: the configuration refuses otherwise). A type without a rule is kept whole.
pub fn prune(
    act: &Act,
    rules: &[KeepRule],
    max_age: Option<Duration>,
    batch: usize,
) -> Result<Pruned> {
    let retention = Retention {
        keep: rules
            .iter()
            .map(|r| Keep {
                job_type: r.job_type,
                newest: r.newest,
                since: r.min_age.map(|age| act.now - age),
            })
            .collect(),
        older_than: max_age.map(|age| act.now - age),
    };
    Ok(act.store.prune(&retention, batch)?)
}

/// The same `newest` for every type, no minimum age: the rules of a plain "newest N".
pub fn keep_newest(newest: usize) -> Vec<KeepRule> {
    JobType::ALL
        .iter()
        .map(|&job_type| KeepRule {
            job_type,
            newest,
            min_age: None,
        })
        .collect()
}
