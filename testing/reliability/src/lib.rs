//! Race torture: randomised interleavings of worker reports, user actions and sweeper runs on
//! a few shared jobs, from a recorded seed, followed by a check of every invariant Job Manager
//! promises. Runs against any `JobStore`; the test suite runs a bounded version on SQLite and on
//! the fake Appwrite, `scripts/torture` a longer one. [`runs`] tortures run fencing through the
//! hook protocol: two workers per job and random pause / resume / retry interleavings.

pub mod runs;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{Duration, TimeZone, Utc};
use serde_json::{json, Map};
use shared::job::{
    transition, Event, EventKind, Job, JobEvent, JobStatus, JobType, Timestamp, ACTOR_SYSTEM,
};
use shared::store::{JobQuery, JobStore, Scope};
use shared::usecase::{self, Act, Error, StallPolicy};

/// What to run.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub seed: u64,
    pub threads: usize,
    /// Total operations across all threads.
    pub ops: usize,
    /// How far back a repeated start reaches among recent idempotency keys.
    pub keys: usize,
    /// Faults are being injected: store errors are expected (and counted), and a call whose
    /// answer was lost may have applied, so the log may hold more entries than successful
    /// calls, never fewer.
    pub faults: bool,
}

/// What happened, for the report.
#[derive(Debug, Default, Clone)]
pub struct Report {
    pub ops: usize,
    pub succeeded: usize,
    pub refused: usize,
    pub jobs: usize,
    pub events: usize,
    pub samples: usize,
    /// Store errors surfaced to callers (only allowed when faults are injected).
    pub store_errors: usize,
    pub violations: Vec<String>,
}

/// Operation kinds the torture draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Op {
    Start,
    Progress,
    Heartbeat,
    WorkerPaused,
    Complete,
    Fail,
    Pause,
    Resume,
    Cancel,
    Retry,
    Sweep,
}

/// Weighted so jobs live long enough to be fought over: many reports and pause/resume
/// rounds for each ending.
const OPS: &[Op] = &[
    Op::Start,
    Op::Start,
    Op::Progress,
    Op::Progress,
    Op::Progress,
    Op::Progress,
    Op::Heartbeat,
    Op::Heartbeat,
    Op::WorkerPaused,
    Op::Pause,
    Op::Pause,
    Op::Resume,
    Op::Resume,
    Op::Resume,
    Op::Complete,
    Op::Fail,
    Op::Cancel,
    Op::Retry,
    Op::Sweep,
];

/// Operations target the most recent jobs, so most of them are still alive and contended.
const HOT_WINDOW: usize = 6;

/// The event kinds a successful call of each op appends exactly once.
fn logged_kind(op: Op) -> Option<EventKind> {
    match op {
        Op::WorkerPaused => Some(EventKind::Paused),
        Op::Complete => Some(EventKind::Completed),
        Op::Fail => Some(EventKind::Failed),
        Op::Pause => Some(EventKind::PauseRequested),
        Op::Resume => Some(EventKind::Resumed),
        Op::Cancel => Some(EventKind::Cancelled),
        _ => None,
    }
}

/// A clock shared by all threads: every call moves it forward a little, so timestamps are
/// distinct-ish and ordered, and the sweeper sees jobs age without anyone sleeping.
struct Clock {
    base: Timestamp,
    ticks: AtomicUsize,
}

impl Clock {
    fn now(&self) -> Timestamp {
        let t = self.ticks.fetch_add(1, Ordering::Relaxed);
        self.base + Duration::milliseconds(t as i64 * 7)
    }
}

/// Runs the plan and checks every invariant. Violations are collected, not panicked, so the
/// report can show them all with the seed.
pub fn run(store: &dyn JobStore, plan: Plan) -> Report {
    run_then(store, plan, &|| {})
}

/// [`run`], calling `before_check` between the racing and the checking (e.g. to stop
/// injecting faults so the check reads a healthy store).
pub fn run_then(store: &dyn JobStore, plan: Plan, before_check: &dyn Fn()) -> Report {
    let clock = Clock {
        base: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
        ticks: AtomicUsize::new(0),
    };
    let known: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let succeeded = AtomicUsize::new(0);
    let refused = AtomicUsize::new(0);
    let logged: Mutex<HashMap<(String, EventKind), usize>> = Mutex::new(HashMap::new());
    let errors: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let store_errors = AtomicUsize::new(0);
    let done = AtomicBool::new(false);
    let samples = AtomicUsize::new(0);
    let per_thread = plan.ops / plan.threads.max(1);
    let policy = StallPolicy {
        running: JobType::ALL
            .iter()
            .map(|t| (*t, Duration::milliseconds(2_000)))
            .collect(),
        queued: JobType::ALL
            .iter()
            .map(|t| (*t, Duration::milliseconds(4_000)))
            .collect(),
    };

    std::thread::scope(|s| {
        // A reader samples progress while writers race: it must never go down.
        s.spawn(|| {
            let mut last: HashMap<String, u8> = HashMap::new();
            while !done.load(Ordering::Relaxed) {
                let ids: Vec<String> = known.lock().unwrap().clone();
                for id in ids {
                    if let Ok(job) = store.get(&id) {
                        let prev = last.insert(id.clone(), job.progress).unwrap_or(0);
                        if job.progress < prev {
                            errors.lock().unwrap().push(format!(
                                "progress of {id} went back from {prev} to {}",
                                job.progress
                            ));
                        }
                        samples.fetch_add(1, Ordering::Relaxed);
                    }
                }
                std::thread::yield_now();
            }
        });
        let workers: Vec<_> = (0..plan.threads)
            .map(|t| {
                let (clock, known, succeeded, refused, logged, errors, policy, store_errors) = (
                    &clock,
                    &known,
                    &succeeded,
                    &refused,
                    &logged,
                    &errors,
                    &policy,
                    &store_errors,
                );
                s.spawn(move || {
                    let mut rng = fastrand::Rng::with_seed(plan.seed ^ ((t as u64 + 1) * 0x9E37));
                    for _ in 0..per_thread {
                        let op = OPS[rng.usize(..OPS.len())];
                        let outcome = one(store, clock, known, policy, &mut rng, op, plan.keys);
                        match outcome {
                            Ok(Some(job_id)) => {
                                succeeded.fetch_add(1, Ordering::Relaxed);
                                if let Some(kind) = logged_kind(op) {
                                    *logged.lock().unwrap().entry((job_id, kind)).or_default() += 1;
                                }
                            }
                            Ok(None) => {
                                succeeded.fetch_add(1, Ordering::Relaxed);
                            }
                            // Run-less reports after a resume are fenced off (`runs` tortures
                            // the fencing itself).
                            // A repeated claim is answered `continue` again and writes
                            // nothing (docs/hooks.md § Exactly once).
                            Err(Error::Illegal { .. })
                            | Err(Error::NotRetryable { .. })
                            | Err(Error::Stopped { .. })
                            | Err(Error::Granted { .. })
                            | Err(Error::NotFound(_)) => {
                                refused.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(Error::Store(e)) if plan.faults => {
                                store_errors.fetch_add(1, Ordering::Relaxed);
                                // A surfaced failure must say what failed, never be blank.
                                if e.to_string().trim().is_empty() {
                                    errors.lock().unwrap().push(format!("{op:?}: blank error"));
                                }
                            }
                            Err(e) => errors.lock().unwrap().push(format!("{op:?}: {e}")),
                        }
                    }
                })
            })
            .collect();
        for w in workers {
            let _ = w.join();
        }
        done.store(true, Ordering::Relaxed);
    });

    before_check();
    let mut report = Report {
        ops: per_thread * plan.threads,
        succeeded: succeeded.into_inner(),
        refused: refused.into_inner(),
        samples: samples.into_inner(),
        store_errors: store_errors.into_inner(),
        violations: errors.into_inner().unwrap(),
        ..Report::default()
    };
    check(
        store,
        &logged.into_inner().unwrap(),
        plan.faults,
        &mut report,
    );
    report
}

/// One random operation. Returns the id of the job it changed when it appended a logged event.
fn one(
    store: &dyn JobStore,
    clock: &Clock,
    known: &Mutex<Vec<String>>,
    policy: &StallPolicy,
    rng: &mut fastrand::Rng,
    op: Op,
    keys: usize,
) -> Result<Option<String>, Error> {
    let mut pick = || {
        let ids = known.lock().unwrap();
        let hot = ids.len().saturating_sub(HOT_WINDOW);
        (!ids.is_empty()).then(|| ids[rng.usize(hot..ids.len())].clone())
    };
    let worker = Act::new(store, "function:torture-hook", clock.now());
    let user = Act::new(store, "user:torture", clock.now());
    if op == Op::Start || known.lock().unwrap().is_empty() {
        // Half the starts repeat a recent key (a retried start must find its job), half open
        // a new one so fresh jobs keep arriving.
        static NEXT_KEY: AtomicUsize = AtomicUsize::new(0);
        let newest = NEXT_KEY.load(Ordering::Relaxed);
        let key = if rng.bool() {
            newest.saturating_sub(rng.usize(..keys.max(1)))
        } else {
            NEXT_KEY.fetch_add(1, Ordering::Relaxed) + 1
        };
        let started = usecase::start(
            &worker,
            JobType::ALL[key % JobType::ALL.len()],
            usecase::Start {
                reference_id: format!("ref-{key}"),
                total: Some(1_000),
                idempotency_key: Some(format!("torture-{key}")),
                ..usecase::Start::default()
            },
        )?;
        let mut ids = known.lock().unwrap();
        if !ids.contains(&started.job.id) {
            ids.push(started.job.id.clone());
        }
        return Ok(None);
    }
    let Some(id) = pick() else { return Ok(None) };
    let changed = |job: Job| Ok(Some(job.id));
    match op {
        Op::Start => unreachable!("handled above"),
        Op::Progress => {
            let done = rng.u64(0..=1_000);
            usecase::progress(
                &worker,
                &id,
                usecase::Progress {
                    done: Some(done),
                    message: Some(format!("{done}/1000")),
                    checkpoint: Some(json!({ "cursor": done })),
                    ..usecase::Progress::default()
                },
            )?;
            Ok(None)
        }
        Op::Heartbeat => {
            usecase::heartbeat(&worker, &id, None, Map::new())?;
            Ok(None)
        }
        Op::WorkerPaused => changed(usecase::worker_paused(&worker, &id, None, None)?),
        Op::Complete => changed(usecase::complete(&worker, &id, Map::new(), None, None)?),
        Op::Fail => changed(usecase::fail(&worker, &id, "torture failure", None, None)?),
        Op::Pause => changed(usecase::control(&user, &id, Event::Pause, Some("t"))?),
        Op::Resume => changed(usecase::control(&user, &id, Event::Resume, None)?),
        Op::Cancel => changed(usecase::control(&user, &id, Event::Cancel, None)?),
        Op::Retry => {
            let job = usecase::retry(&user, &id, None)?;
            let mut ids = known.lock().unwrap();
            if !ids.contains(&job.id) {
                ids.push(job.id);
            }
            Ok(None)
        }
        Op::Sweep => {
            let sweeper = Act::new(store, ACTOR_SYSTEM, clock.now());
            usecase::mark_stalled(&sweeper, policy, 50)?;
            Ok(None)
        }
    }
}

/// The event a logged kind stands for, to replay the log through the state machine.
fn event_of(kind: EventKind) -> Option<Event> {
    Some(match kind {
        EventKind::Started => Event::Start,
        EventKind::Progress => Event::Progress,
        EventKind::Heartbeat => Event::Heartbeat,
        EventKind::PauseRequested => Event::Pause,
        EventKind::Paused => Event::WorkerPaused,
        EventKind::Resumed => Event::Resume,
        EventKind::Cancelled => Event::Cancel,
        EventKind::Completed => Event::Complete,
        EventKind::Failed => Event::Fail,
        EventKind::Stalled => Event::Stall,
        EventKind::Created | EventKind::Retried | EventKind::Ignored | EventKind::Alerted => {
            return None
        }
    })
}

fn all_jobs(store: &dyn JobStore) -> Result<Vec<Job>, String> {
    let mut jobs = Vec::new();
    let mut query = JobQuery {
        scope: Scope::All,
        limit: 500,
        ..JobQuery::default()
    };
    loop {
        let page = store.list(&query).map_err(|e| format!("list: {e}"))?;
        jobs.extend(page.jobs);
        match page.next_cursor {
            Some(c) => query.cursor = Some(c),
            None => return Ok(jobs),
        }
    }
}

fn check(
    store: &dyn JobStore,
    logged: &HashMap<(String, EventKind), usize>,
    faults: bool,
    report: &mut Report,
) {
    let jobs = match all_jobs(store) {
        Ok(jobs) => jobs,
        Err(e) => return report.violations.push(e),
    };
    report.jobs = jobs.len();
    let v = &mut report.violations;
    let mut per_key: HashMap<&str, usize> = HashMap::new();
    for job in &jobs {
        if let Some(key) = &job.idempotency_key {
            *per_key.entry(key.as_str()).or_default() += 1;
        }
        if job.completed_at.is_some() != job.status.is_final() {
            v.push(format!(
                "{}: completedAt {:?} with status {}",
                job.id, job.completed_at, job.status
            ));
        }
        let events: Vec<JobEvent> = match store.events(&job.id, 100_000) {
            Ok(events) => events,
            Err(e) => {
                v.push(format!("{}: events: {e}", job.id));
                continue;
            }
        };
        report.events += events.len();
        replay(job, &events, v);
        for kind in [
            EventKind::Paused,
            EventKind::Completed,
            EventKind::Failed,
            EventKind::PauseRequested,
            EventKind::Resumed,
            EventKind::Cancelled,
        ] {
            let want = logged.get(&(job.id.clone(), kind)).copied().unwrap_or(0);
            let got = events.iter().filter(|e| e.kind == kind).count();
            let lost = got < want;
            if lost || (got != want && !faults) {
                v.push(format!(
                    "{}: {want} successful {kind:?} calls but {got} such events",
                    job.id
                ));
            }
        }
    }
    for (key, n) in per_key {
        if n != 1 {
            v.push(format!("{n} jobs share idempotency key {key}"));
        }
    }
}

/// Replays a job's log: each entry must start where the previous one ended, be a legal move,
/// and nothing may follow a final status. The last status must be the job's.
fn replay(job: &Job, events: &[JobEvent], v: &mut Vec<String>) {
    let Some(first) = events.first() else {
        return v.push(format!("{}: no events", job.id));
    };
    if !matches!(first.kind, EventKind::Created | EventKind::Retried) {
        v.push(format!("{}: first event is {:?}", job.id, first.kind));
    }
    let mut status = match first.to_status {
        Some(s) => s,
        None => return v.push(format!("{}: first event has no status", job.id)),
    };
    for e in &events[1..] {
        // A call that was not applied (its run is over) is logged without moving the job, even
        // after it finished (docs/hooks.md § Exactly once).
        if e.kind == EventKind::Ignored {
            if e.from_status != Some(status) || e.to_status != Some(status) {
                v.push(format!("{}: ignored call logged a status change", job.id));
            }
            continue;
        }
        if status.is_final() {
            v.push(format!("{}: {:?} after final {status}", job.id, e.kind));
        }
        if e.from_status != Some(status) {
            v.push(format!(
                "{}: {:?} starts from {:?}, log was at {status}",
                job.id, e.kind, e.from_status
            ));
        }
        let Some(event) = event_of(e.kind) else {
            v.push(format!("{}: {:?} in the middle of a log", job.id, e.kind));
            continue;
        };
        let from = e.from_status.unwrap_or(status);
        match (transition(from, event), e.to_status) {
            (Ok(to), Some(logged)) if to == logged => status = to,
            (got, logged) => v.push(format!(
                "{}: {:?} from {from} logged {logged:?}, machine says {got:?}",
                job.id, e.kind
            )),
        }
    }
    if status != job.status {
        v.push(format!(
            "{}: log ends at {status}, job is {}",
            job.id, job.status
        ));
    }
    if job.status != JobStatus::Queued
        && job.started_at.is_none()
        && job.status != JobStatus::Cancelled
    {
        // A job can be cancelled or failed before it ever ran; anything that ran has startedAt.
        if events.iter().any(|e| e.kind == EventKind::Started) {
            v.push(format!("{}: ran but has no startedAt", job.id));
        }
    }
}

/// Shared handle for tests that want to run the torture from several stores.
pub type DynStore = Arc<dyn JobStore>;
