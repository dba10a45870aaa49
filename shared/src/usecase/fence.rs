//! A worker call that is not the current run's (docs/hooks.md § Runs): stopped by
//! [`Act::fence`] before anything is changed, then logged as `ignored` with the stopped run's
//! claim settled ([`Act::log_stopped`]), so the job's history shows it and nothing else moves.

use serde_json::{Map, Value};

use super::{settle, Act, Error, Order, Result};
use crate::job::{EventKind, Fence, Job, JobEvent, StopCode};

impl Act<'_> {
    /// A worker report's gate, on the freshly read row inside [`Act::mutate`]: a call that is not
    /// the current run stops here, before anything is changed.
    pub(super) fn fence(&self, job: &Job) -> Result<()> {
        match job.fence(self.run.run)? {
            Fence::Stop(code) => Err(Error::Stopped {
                job: Box::new(job.clone()),
                code,
            }),
            _ => Ok(()),
        }
    }

    /// Logs a worker call that [`Act::fence`] (or a start's fence) stopped, so the job's history
    /// shows it ("progress call from run 3 ignored: superseded by run 4"), and forgets the stopped
    /// run's claim: a call after it proves the run had its answer. Nothing else of the job
    /// changes. Best effort: a failure to log does not change the answer. Returns `stopped`.
    pub(super) fn log_stopped(&self, stopped: Error, call: &str, order: Order) -> Error {
        if let Error::Illegal { job, event } = &stopped {
            return match self.settle_late(job, call, order) {
                Some(job) => Error::Illegal {
                    job: Box::new(job),
                    event: *event,
                },
                None => stopped,
            };
        }
        let Error::Stopped { job, code } = &stopped else {
            return stopped;
        };
        let run = self.run.run;
        let message = match (run, code) {
            (Some(r), StopCode::Superseded) if r < job.run => {
                format!(
                    "{call} call from run {r} ignored: superseded by run {}",
                    job.run
                )
            }
            (Some(r), StopCode::Superseded) => {
                format!(
                    "{call} call from run {r} ignored: the job waits for its re-triggered worker"
                )
            }
            (None, _) => format!(
                "{call} call without a run ignored: the job is at run {}",
                job.run
            ),
            (Some(r), StopCode::RunRequired) => format!("{call} call from run {r} ignored"),
        };
        let code = *code;
        let logged = self.mutate_from(&job.id.clone(), Some((**job).clone()), |j| {
            // Re-checked on the row it is written to: only a call that is still stopped is logged.
            let fence = if call == "start" {
                j.fence_start(run, self.run.execution_id.as_deref())
            } else {
                j.fence(run)
            };
            if !matches!(fence, Ok(Fence::Stop(_))) {
                return Ok(None);
            }
            if let Some(r) = run {
                if order.follows(j, r) {
                    settle(j, r);
                }
            }
            Ok(Some(vec![self.ignored(j, call, Some(code), &message)]))
        });
        match logged {
            Ok(job) => Error::Stopped {
                job: Box::new(job),
                code,
            },
            Err(_) => stopped,
        }
    }

    /// A call on a finished job from a run that still holds a claim: the run had its answer and
    /// carried the claim out (the documented loop calls again only after that), so the claim is
    /// settled and logged. The job's status and fields stay as they are. The job as written, or
    /// `None` when there was nothing to settle.
    fn settle_late(&self, job: &Job, call: &str, order: Order) -> Option<Job> {
        let run = self.run.run?;
        let claim = job.claims.iter().find(|c| c.run == run)?.clone();
        if !job.status.is_final() || !order.follows(job, run) {
            return None;
        }
        let range = match (claim.done, claim.claimed) {
            (Some(from), Some(to)) => format!(" ({from}–{to})"),
            _ => String::new(),
        };
        let message = format!(
            "{call} call from run {run} after the job was {}: its claim{range} was carried out",
            job.status
        );
        self.mutate_from(&job.id.clone(), Some(job.clone()), |j| {
            if !j.status.is_final() || !settle(j, run) {
                return Ok(None);
            }
            Ok(Some(vec![self.ignored(j, call, None, &message)]))
        })
        .ok()
    }

    /// The `ignored` log entry of a worker call that was not applied, for `job` as it is about to
    /// be written: its `updatedAt` moves (its log, perhaps a settled claim, changed), pollers
    /// find it by that; its status does not.
    fn ignored(
        &self,
        job: &mut Job,
        call: &str,
        code: Option<StopCode>,
        message: &str,
    ) -> JobEvent {
        job.updated_at = self.now;
        let mut details = Map::new();
        details.insert("call".into(), Value::from(call));
        if let Some(code) = code {
            details.insert("code".into(), Value::from(code.as_str()));
        }
        details.insert("jobRun".into(), Value::from(job.run));
        if let Some(r) = self.run.run {
            details.insert("run".into(), Value::from(r));
        }
        if let Some(execution) = &self.run.execution_id {
            details.insert("executionId".into(), Value::from(execution.clone()));
        }
        let status = Some(job.status);
        self.event(
            job,
            EventKind::Ignored,
            status,
            Some(message.to_owned()),
            details,
        )
    }
}
