//! The execution observer's rules (`functions/job-observer`, `docs/observer.md`): the execution
//! document Appwrite's webhook delivers, the observer's configuration, the replay window, and
//! what an execution event does to jobs. Signature checking stays at the function's edge; this
//! module sees only bodies that passed it.
//!
//! Two kinds of functions are observed:
//! - **un-adopted** functions (never call a hook), mapped to a job type by
//!   `JOBS_OBSERVE_<FUNCTION>=<TYPE>`: each execution becomes one job, whose id is derived from
//!   the execution id, so repeated and out-of-order events converge on the same job;
//! - every other function is a **worker** that reports through the hooks: when its execution
//!   ends while its job still expects it to run, the job fails at once (see [`observe`]); an
//!   execution that ended `completed` without the worker's final report fails it as "outcome
//!   unknown" ([`verdict`], [`OUTCOME_UNKNOWN_PREFIX`]).
//!
//! Payload facts (Appwrite 1.9.6): `docs/appwrite-notes.md` § Webhooks and execution events.
//!
//! The rooms: `config` (the variables, [`ObserverConfig`], which functions are observed),
//! `execution` (the document, parsed strictly, and the replay window), `mirror` (un-adopted
//! functions' jobs, moved only forward) and `death` (a worker's execution that ended under its
//! job).

use crate::job::{Job, JobStatus};
use crate::usecase::{self, Act};

mod config;
mod death;
mod execution;
mod mirror;

pub use config::{
    observe_var, observed, Observed, ObserverConfig, MAX_AGE_VAR, SECRET_VAR, URL_VAR,
};
pub use death::{covers_work, verdict, Death, OUTCOME_UNKNOWN_PREFIX};
pub use execution::{ExecStatus, Execution};
pub use mirror::{is_mirror, mirror_job_id};

/// What an event did, answered to Appwrite and logged.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    /// `created`, `updated`, `failed`, `unchanged` or `ignored`.
    pub outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<JobStatus>,
}

impl Outcome {
    fn of(outcome: &'static str, job: Option<&Job>) -> Outcome {
        Outcome {
            outcome,
            job_id: job.map(|j| j.id.clone()),
            status: job.map(|j| j.status),
        }
    }
}

/// Applies one execution event.
pub fn observe(act: &Act, observed: Observed, exec: &Execution) -> usecase::Result<Outcome> {
    match observed {
        Observed::Unadopted(job_type) => mirror::mirror(act, job_type, exec),
        Observed::Worker => death::fail_dead_worker(act, exec),
    }
}
