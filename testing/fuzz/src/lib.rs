//! What the fuzz targets share: a store ([`MemStore`]: a fresh copy per input of a seeded
//! [`MemoryStore`], so a crash reproduces from its input alone, and fast enough for thousands of
//! inputs a second) with a switch that makes it fail from its n-th call on, seeded jobs in every
//! status with short ids (`j1`…`j9`) the corpus and dictionaries name, and the checks every JSON
//! answer must pass.
//!
//! SQLite is deliberately not used here: the handlers' parsing and mapping is what is fuzzed,
//! and the store's own behaviour is covered by the conformance suite, which `MemoryStore`
//! passes like every adapter.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::OnceLock;

use chrono::{TimeZone, Utc};
use openruntimes::{Context, Logger, Response};
use serde_json::{json, Map, Value};
use shared::job::{Event, Job, JobEvent, JobStatus, JobType, Timestamp};
use shared::store::memory::MemoryStore;
use shared::store::{
    Count, Created, JobQuery, JobStore, Page, Pruned, Retention, StoreError, StoreResult, Write,
};
use shared::usecase::{self, Act, Progress, Start};

/// How the store fails once it starts failing; chosen by the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Unavailable,
    Backend,
    Conflict,
}

/// A [`MemoryStore`] behind a fault switch: every call counts, and from call `fail_from` on each
/// fails with the chosen [`Fault`] without reaching the store. The faults stay here, with the
/// fuzzer that chooses them, rather than in the shared store.
pub struct MemStore {
    inner: MemoryStore,
    calls: AtomicUsize,
    writes: AtomicUsize,
    /// Fail every call from this one on (1-based); 0 never fails.
    fail_from: usize,
    fault: Option<Fault>,
    failed: AtomicBool,
}

impl MemStore {
    /// A copy of the seeded store that fails from call `fail_from` on (0: never).
    pub fn seeded(fail_from: usize, fault: Fault) -> MemStore {
        MemStore {
            inner: seeds().clone(),
            calls: AtomicUsize::new(0),
            writes: AtomicUsize::new(0),
            fail_from,
            fault: (fail_from > 0).then_some(fault),
            failed: AtomicBool::new(false),
        }
    }

    /// Whether any call failed on purpose: only then may a handler answer 5xx.
    pub fn failed(&self) -> bool {
        self.failed.load(Ordering::SeqCst)
    }

    /// Successful creates of a new job, writes, and prunes that deleted.
    pub fn writes(&self) -> usize {
        self.writes.load(Ordering::SeqCst)
    }

    /// The stored job, read past the fault switch (a check, not a call of the handler's).
    pub fn job(&self, id: &str) -> Option<Job> {
        self.inner.get(id).ok()
    }

    /// Every stored job, read past the fault switch.
    pub fn all(&self) -> Vec<Job> {
        self.inner.jobs()
    }

    fn call(&self, id: &str) -> StoreResult<()> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        match self.fault {
            Some(fault) if n >= self.fail_from => {
                self.failed.store(true, Ordering::SeqCst);
                Err(match fault {
                    Fault::Unavailable => StoreError::Unavailable("injected by the fuzzer".into()),
                    Fault::Backend => StoreError::Backend("injected by the fuzzer".into()),
                    Fault::Conflict => StoreError::Conflict { id: id.to_owned() },
                })
            }
            _ => Ok(()),
        }
    }

    fn wrote(&self, wrote: bool) {
        if wrote {
            self.writes.fetch_add(1, Ordering::SeqCst);
        }
    }
}

impl JobStore for MemStore {
    fn create(&self, job: &Job, created: &JobEvent) -> StoreResult<Created> {
        self.call(&job.id)?;
        let outcome = self.inner.create(job, created)?;
        self.wrote(matches!(outcome, Created::New(_)));
        Ok(outcome)
    }

    fn get(&self, id: &str) -> StoreResult<Job> {
        self.call(id)?;
        self.inner.get(id)
    }

    fn list(&self, query: &JobQuery) -> StoreResult<Page> {
        self.call("")?;
        self.inner.list(query)
    }

    fn write(&self, write: &Write) -> StoreResult<Job> {
        self.call(&write.job.id)?;
        let stored = self.inner.write(write)?;
        self.wrote(true);
        Ok(stored)
    }

    fn events(&self, job_id: &str, limit: usize) -> StoreResult<Vec<JobEvent>> {
        self.call(job_id)?;
        self.inner.events(job_id, limit)
    }

    fn prune(&self, retention: &Retention, batch: usize) -> StoreResult<Pruned> {
        self.call("")?;
        let pruned = self.inner.prune(retention, batch)?;
        self.wrote(pruned.deleted > 0);
        Ok(pruned)
    }

    fn stale(
        &self,
        job_type: JobType,
        status: JobStatus,
        before: Timestamp,
        limit: usize,
    ) -> StoreResult<Vec<Job>> {
        self.call("")?;
        self.inner.stale(job_type, status, before, limit)
    }

    fn counts(&self) -> StoreResult<Vec<Count>> {
        self.call("")?;
        self.inner.counts()
    }
}

/// The fixed instant every input runs at (seeds are a few minutes older).
pub fn now() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
}

/// The seeded jobs: (id, type, status), reached the way workers and users reach them.
pub const SEEDS: &[(&str, JobType, JobStatus)] = &[
    ("j1", JobType::CampaignRun, JobStatus::Running),
    ("j2", JobType::CampaignRun, JobStatus::Paused),
    ("j3", JobType::CampaignRun, JobStatus::Queued),
    ("j4", JobType::CampaignRun, JobStatus::Completed),
    ("j5", JobType::CampaignRun, JobStatus::Failed),
    ("j6", JobType::CampaignRun, JobStatus::Cancelled),
    ("j7", JobType::BulkVerify, JobStatus::Running),
    ("j8", JobType::SqsPoll, JobStatus::Paused),
    ("j9", JobType::MetricsFetch, JobStatus::Completed),
];

/// Builds the seeded store once per process through the real use cases, then renames the jobs
/// to their short ids.
fn seeds() -> &'static MemoryStore {
    static SEEDED: OnceLock<MemoryStore> = OnceLock::new();
    SEEDED.get_or_init(|| {
        let build = MemoryStore::new();
        let mut renames = Vec::new();
        for (i, (short, job_type, status)) in SEEDS.iter().enumerate() {
            let at = now() - chrono::Duration::minutes(60 - i as i64);
            let act = Act::new(&build, "function:seed", at);
            let job = usecase::start(
                &act,
                *job_type,
                Start {
                    reference_id: format!("camp-{short}"),
                    total: Some(200),
                    idempotency_key: Some(format!("seed-{short}")),
                    ..Start::default()
                },
            )
            .expect("seed start")
            .job;
            let id = job.id.as_str();
            usecase::progress(
                &act,
                id,
                Progress {
                    done: Some(50),
                    checkpoint: Some(json!({"offset": 50})),
                    ..Progress::default()
                },
            )
            .expect("seed progress");
            match status {
                JobStatus::Running => {}
                JobStatus::Paused => {
                    usecase::control(&act, id, Event::Pause, None).unwrap();
                }
                JobStatus::Queued => {
                    usecase::control(&act, id, Event::Pause, None).unwrap();
                    usecase::control(&act, id, Event::Resume, None).unwrap();
                }
                JobStatus::Completed => {
                    let mut result = Map::new();
                    result.insert("sent".into(), json!(200));
                    usecase::complete(&act, id, result, None, None).unwrap();
                }
                JobStatus::Failed => {
                    usecase::fail(&act, id, "SES throttled", None, None).unwrap();
                }
                JobStatus::Cancelled => {
                    usecase::control(&act, id, Event::Cancel, None).unwrap();
                }
            }
            renames.push((job.id.clone(), (*short).to_owned()));
        }
        let renamed = renames.into_iter().map(|(long, short)| {
            let mut job = build.get(&long).expect("seeded job");
            let mut events = build.events(&long, usize::MAX).expect("seeded log");
            job.id = short.clone();
            // The short id must still be findable by its idempotency key's derived id: it is
            // not, so drop the key rather than keep a row whose id contradicts it.
            job.idempotency_key = None;
            for event in &mut events {
                event.job_id = short.clone();
            }
            (job, events)
        });
        let seeded = MemoryStore::new();
        seeded.bulk_load(renamed).expect("seed load");
        seeded
    })
}

/// A context as the runtime builds it, with logging off (nothing reads it).
pub fn context(method: &str, headers: Vec<(&str, String)>, body: &[u8]) -> Context {
    let logger = Logger::new("disabled", Some("fuzz".into())).expect("logger");
    let mut ctx = Context::new(logger);
    ctx.req.method = method.to_owned();
    ctx.req.path = "/".into();
    for (name, value) in headers {
        ctx.req.headers.insert(name.to_owned(), value);
    }
    ctx.req.set_body_binary(body.to_vec());
    ctx
}

/// The invariants every JSON answer keeps: parses as JSON; a 5xx only when the store (or
/// another upstream) failed, with a neutral body; a 4xx explains itself with `error.code` and
/// `error.message`. Returns the parsed body.
pub fn check_json_answer(response: &Response, upstream_failed: bool) -> Value {
    let status = response.status_code;
    assert!((200..600).contains(&status), "impossible status {status}");
    let body: Value = serde_json::from_slice(&response.body).unwrap_or_else(|e| {
        panic!(
            "status {status}: the body is not JSON ({e}): {:?}",
            String::from_utf8_lossy(&response.body)
        )
    });
    if status >= 400 {
        let error = &body["error"];
        assert!(
            error["code"].as_str().is_some_and(|c| !c.is_empty()),
            "status {status} without error.code: {body}"
        );
        assert!(
            error["message"].as_str().is_some_and(|m| !m.is_empty()),
            "status {status} without error.message: {body}"
        );
    }
    if status >= 500 {
        assert!(
            upstream_failed,
            "status {status} although nothing upstream failed: {body}"
        );
        assert!(
            body.get("detail").is_none() && body["error"].get("detail").is_none(),
            "a 5xx body leaks detail: {body}"
        );
    }
    body
}

/// Job invariants that hold whatever a request did: progress within 0-100, `completedAt` set
/// exactly for final jobs, and seeded final jobs unchanged.
pub fn check_store(store: &MemStore) {
    for job in store.all() {
        assert!(job.progress <= 100, "{}: progress {}", job.id, job.progress);
        assert_eq!(
            job.completed_at.is_some(),
            job.status.is_final(),
            "{}: completedAt vs status {}",
            job.id,
            job.status
        );
    }
    for (id, _, status) in SEEDS {
        if status.is_final() {
            let before = seeds().get(id).expect("seed");
            assert_eq!(
                store.job(id).as_ref(),
                Some(&before),
                "final job {id} changed"
            );
        }
    }
}
