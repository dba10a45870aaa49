//! A model of the campaign protocol (docs/hooks.md § Exactly once), checked two ways: every
//! interleaving up to a bound ([`explore`]) and long seeded random walks ([`simulate`]).
//!
//! What is modelled, and what is real:
//! - **The hook is real.** Every worker call is a JSON body sent through
//!   `shared::hooks::handle` (parsing, the run fence, the state machine, coalescing, the
//!   compare-and-set) on a one-job in-memory store; every operator action is
//!   `shared::usecase::control`, as job-actions calls it. Nothing of the protocol is copied here.
//! - **The worker follows the documented loop** (docs/adopting.md, `clients/node` README): start;
//!   stop unless `continue`; then claim a batch with `progress{done, claimed, checkpoint}`, send
//!   it only on `continue`, confirm a `pause` with `paused{checkpoint}` of what it really sent,
//!   stop on anything else; `complete` with the counts carried in the checkpoint. Every call is
//!   retried until an answer arrives (the client's rule for claims and final calls).
//! - **The operator** pauses, resumes (which re-triggers the worker with the documented body)
//!   and cancels at any moment, within a budget.
//! - **The network** may, within a fault budget, lose an answer after the call was applied (the
//!   worker retries: a duplicate), or keep an attempt back and deliver it at any later moment or
//!   never (delayed, reordered, lost); a re-trigger may be delivered twice.
//! - **Time stands still**: every call is at the same instant, so the hook's one-second
//!   coalescing window never opens; whatever the hook would coalesce, it does.
//!
//! The invariant, checked in every reachable state: no item is sent twice; the job's `done` never
//! exceeds what was sent and its `claimed` never falls below `done`. In every state where
//! nothing more can happen: a COMPLETED job had every item sent exactly once and its result
//! counts them; a job left active (paused) had exactly the items before its stored checkpoint
//! sent, so a resume continues without a gap or a repeat.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

use chrono::{TimeZone, Utc};
use serde_json::{json, Value};
use shared::hooks::{self, Hook};
use shared::job::{Event, Job, JobEvent, JobStatus, JobType, Timestamp};
use shared::platform::Platform;
use shared::store::{
    Count, Created, JobQuery, JobStore, Page, Pruned, Retention, StoreError, StoreResult, Write,
};
use shared::tracker::server_context;
use shared::usecase::{self, Act};

const HOOK: Hook = Hook {
    job_type: JobType::CampaignRun,
    function_id: "hook-campaign-run",
};
const REFERENCE: &str = "campaign-1";
const KEY: &str = "campaign:campaign-1:run-1";

/// The bounds of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// Emails in the campaign.
    pub items: u32,
    /// Emails a claim covers.
    pub batch: u32,
    /// Operator actions available.
    pub pauses: u8,
    pub resumes: u8,
    pub cancels: u8,
    /// Network faults available: a lost answer, a delayed attempt, a doubled re-trigger.
    pub faults: u8,
    /// Workers the campaign is first triggered with (2: a trigger delivered twice).
    pub triggers: u8,
}

impl Bounds {
    /// A campaign of `items` emails claimed `batch` at a time, with the operator's and the
    /// network's budgets, triggered `triggers` times.
    pub fn new(
        items: u32,
        batch: u32,
        (pauses, resumes, cancels): (u8, u8, u8),
        faults: u8,
        triggers: u8,
    ) -> Bounds {
        Bounds {
            items,
            batch,
            pauses,
            resumes,
            cancels,
            faults,
            triggers,
        }
    }
}

/// One job slot: the whole store a campaign needs. Every state of the search loads its job here
/// before a call and reads it back after.
#[derive(Default)]
pub struct OneJob {
    job: Mutex<Option<Job>>,
    /// Kinds of the log entries written since the last [`OneJob::take_log`].
    log: Mutex<Vec<JobEvent>>,
}

impl OneJob {
    fn load(&self, job: Option<Job>) {
        *self.job.lock().unwrap() = job;
        self.log.lock().unwrap().clear();
    }
    fn job(&self) -> Option<Job> {
        self.job.lock().unwrap().clone()
    }
    fn take_log(&self) -> Vec<JobEvent> {
        std::mem::take(&mut *self.log.lock().unwrap())
    }
}

impl JobStore for OneJob {
    fn create(&self, job: &Job, created: &JobEvent) -> StoreResult<Created> {
        let mut slot = self.job.lock().unwrap();
        if let Some(existing) = &*slot {
            return Ok(Created::Existing(existing.clone()));
        }
        *slot = Some(job.clone());
        self.log.lock().unwrap().push(created.clone());
        Ok(Created::New(job.clone()))
    }
    fn get(&self, id: &str) -> StoreResult<Job> {
        match &*self.job.lock().unwrap() {
            Some(job) if job.id == id => Ok(job.clone()),
            _ => Err(StoreError::NotFound(id.to_owned())),
        }
    }
    fn list(&self, query: &JobQuery) -> StoreResult<Page> {
        let jobs = self
            .job()
            .into_iter()
            .filter(|j| query.matches(j))
            .collect();
        Ok(Page {
            jobs,
            next_cursor: None,
        })
    }
    fn write(&self, write: &Write) -> StoreResult<Job> {
        let mut slot = self.job.lock().unwrap();
        match &mut *slot {
            Some(job) if job.id == write.job.id => {
                if job.rev != write.expected_rev {
                    return Err(StoreError::Conflict { id: job.id.clone() });
                }
                *job = write.job.clone();
                self.log
                    .lock()
                    .unwrap()
                    .extend(write.events.iter().cloned());
                Ok(job.clone())
            }
            _ => Err(StoreError::NotFound(write.job.id.clone())),
        }
    }
    fn events(&self, _job_id: &str, _limit: usize) -> StoreResult<Vec<JobEvent>> {
        Ok(Vec::new())
    }
    fn prune(&self, _: &Retention, _: usize) -> StoreResult<Pruned> {
        Ok(Pruned::default())
    }
    fn stale(&self, _: JobType, _: JobStatus, _: Timestamp, _: usize) -> StoreResult<Vec<Job>> {
        Ok(Vec::new())
    }
    fn counts(&self) -> StoreResult<Vec<Count>> {
        Ok(Vec::new())
    }
}

/// What a worker is waiting for the answer to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Call {
    Start,
    /// A claim of `[cursor, next)`.
    Claim {
        next: u32,
    },
    Paused,
    Complete,
}

/// One worker execution following the documented loop.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Worker {
    execution: u8,
    /// The re-trigger body's run, for a resumed worker.
    retrigger: Option<u64>,
    run: Option<u64>,
    job_id: Option<String>,
    cursor: u32,
    /// Emails this campaign has sent, carried across runs in the checkpoint.
    sent: u32,
    /// The call awaiting an answer; `None` once the execution ended.
    waiting: Option<Call>,
}

/// One state of the world.
#[derive(Debug, Clone)]
pub struct State {
    job: Option<Job>,
    workers: Vec<Worker>,
    /// Attempts kept back by the network: delivered later (answer discarded) or never.
    delayed: Vec<String>,
    /// Sends per email.
    sends: Vec<u8>,
    pauses: u8,
    resumes: u8,
    cancels: u8,
    faults: u8,
    executions: u8,
}

/// A step the search can take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Worker `i`'s call is applied and answered.
    Deliver(usize),
    /// Worker `i`'s call is applied; the answer is lost and the worker sends it again.
    LoseAnswer(usize),
    /// Worker `i`'s attempt is kept back by the network; the worker sends it again.
    Delay(usize),
    /// A kept-back attempt arrives (its answer reaches nobody).
    Arrive(usize),
    /// A kept-back attempt is lost for good.
    Drop(usize),
    Pause,
    /// Resume, re-triggering one worker (two with `true`: the re-trigger delivered twice).
    Resume(bool),
    Cancel,
}

/// A reachable state that breaks the invariant, with the steps that lead there.
#[derive(Debug)]
pub struct Violation {
    pub what: String,
    pub trace: Vec<String>,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{}", self.what)?;
        for (i, line) in self.trace.iter().enumerate() {
            writeln!(f, "  {:>2}. {line}", i + 1)?;
        }
        Ok(())
    }
}

/// What an exhaustive check covered.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Coverage {
    /// Distinct states reached.
    pub states: usize,
    /// Steps taken between them (edges of the state graph).
    pub steps: usize,
    /// States where nothing more could happen, each checked for the final truth.
    pub ends: usize,
    /// Ends by the job's final status: completed, cancelled, left paused.
    pub completed: usize,
    pub cancelled: usize,
    pub paused: usize,
}

/// The hook and the operator over one store, at a fixed instant.
pub struct World {
    bounds: Bounds,
    store: Arc<OneJob>,
    platform: Platform,
    now: Timestamp,
}

impl World {
    pub fn new(bounds: Bounds) -> World {
        assert!(bounds.items > 0 && bounds.batch > 0 && bounds.triggers > 0);
        let store = Arc::new(OneJob::default());
        let now = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
        let mut platform = Platform::new(store.clone(), Arc::new(|_| None));
        platform.clock = Arc::new(move || now);
        World {
            bounds,
            store,
            platform,
            now,
        }
    }

    pub fn initial(&self) -> State {
        let mut state = State {
            job: None,
            workers: Vec::new(),
            delayed: Vec::new(),
            sends: vec![0; self.bounds.items as usize],
            pauses: self.bounds.pauses,
            resumes: self.bounds.resumes,
            cancels: self.bounds.cancels,
            faults: self.bounds.faults,
            executions: 0,
        };
        for _ in 0..self.bounds.triggers {
            spawn(&mut state, None);
        }
        state
    }

    /// Every step possible in `state`.
    pub fn steps(&self, state: &State) -> Vec<Step> {
        let mut steps = Vec::new();
        for (i, w) in state.workers.iter().enumerate() {
            if w.waiting.is_some() {
                steps.push(Step::Deliver(i));
                if state.faults > 0 {
                    steps.push(Step::LoseAnswer(i));
                    steps.push(Step::Delay(i));
                }
            }
        }
        for i in 0..state.delayed.len() {
            steps.push(Step::Arrive(i));
            steps.push(Step::Drop(i));
        }
        if let Some(job) = &state.job {
            if state.pauses > 0 && matches!(job.status, JobStatus::Queued | JobStatus::Running) {
                steps.push(Step::Pause);
            }
            if state.resumes > 0 && job.status == JobStatus::Paused {
                steps.push(Step::Resume(false));
                if state.faults > 0 {
                    steps.push(Step::Resume(true));
                }
            }
            if state.cancels > 0 && !job.status.is_final() {
                steps.push(Step::Cancel);
            }
        }
        steps
    }

    /// Takes `step` from `state`; a description of what happened, for traces.
    pub fn take(&self, state: &mut State, step: &Step) -> String {
        self.store.load(state.job.clone());
        let said = match *step {
            Step::Deliver(i) => {
                let body = self.request(state, i);
                let (status, answer) = self.call(&body);
                let said = format!(
                    "worker x{} {body} -> {status} {}",
                    state.workers[i].execution,
                    brief(&answer)
                );
                self.answer(state, i, status, &answer);
                said
            }
            Step::LoseAnswer(i) => {
                state.faults -= 1;
                let body = self.request(state, i);
                let (status, answer) = self.call(&body);
                format!(
                    "worker x{} {body} -> {status} {} (answer lost: sent again)",
                    state.workers[i].execution,
                    brief(&answer)
                )
            }
            Step::Delay(i) => {
                state.faults -= 1;
                let body = self.request(state, i);
                state.delayed.push(body.clone());
                format!(
                    "worker x{} {body} kept back by the network (sent again)",
                    state.workers[i].execution
                )
            }
            Step::Arrive(i) => {
                let body = state.delayed.remove(i);
                let (status, answer) = self.call(&body);
                format!("late arrival {body} -> {status} {}", brief(&answer))
            }
            Step::Drop(i) => {
                let body = state.delayed.remove(i);
                format!("lost for good: {body}")
            }
            Step::Pause => {
                state.pauses -= 1;
                self.control(state, Event::Pause)
            }
            Step::Cancel => {
                state.cancels -= 1;
                self.control(state, Event::Cancel)
            }
            Step::Resume(twice) => {
                state.resumes -= 1;
                if twice {
                    state.faults -= 1;
                }
                let said = self.control(state, Event::Resume);
                let run = self.store.job().map(|j| j.run);
                spawn(state, run);
                if twice {
                    spawn(state, run);
                }
                format!(
                    "{said}; re-triggered {}",
                    if twice { "twice" } else { "once" }
                )
            }
        };
        state.job = self.store.job();
        self.store.take_log();
        said
    }

    fn control(&self, state: &State, event: Event) -> String {
        let job_id = state.job.as_ref().map(|j| j.id.clone()).unwrap_or_default();
        let act = Act::new(&*self.store, "user:operator", self.now);
        match usecase::control(&act, &job_id, event, None) {
            Ok(job) => format!("operator {event} -> {} run {}", job.status, job.run),
            Err(e) => format!("operator {event} refused: {e}"),
        }
    }

    fn call(&self, body: &str) -> (u16, Value) {
        let context = server_context(body.as_bytes(), Some("orchestrator")).expect("context");
        let response = hooks::handle(&HOOK, context, &self.platform);
        let answer = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
        (response.status_code, answer)
    }

    /// The request body of worker `i`'s pending call, exactly as the documented loop sends it.
    fn request(&self, state: &State, i: usize) -> String {
        let w = &state.workers[i];
        let execution = format!("x{}", w.execution);
        let mut body = match w.waiting.as_ref().expect("a waiting worker") {
            Call::Start => match w.retrigger {
                Some(run) => {
                    json!({"event": "start", "jobId": state.job.as_ref().map(|j| j.id.clone()),
                    "run": run, "referenceId": REFERENCE})
                }
                None => json!({"event": "start", "referenceId": REFERENCE,
                    "total": self.bounds.items, "idempotencyKey": KEY}),
            },
            Call::Claim { next } => json!({"event": "progress", "done": w.cursor, "claimed": next,
                "total": self.bounds.items,
                "checkpoint": {"cursor": next, "sent": w.sent + (next - w.cursor)}}),
            Call::Paused => json!({"event": "paused",
                "checkpoint": {"cursor": w.cursor, "sent": w.sent}}),
            Call::Complete => json!({"event": "complete", "result": {"sent": w.sent},
                "checkpoint": {"cursor": w.cursor, "sent": w.sent}}),
        };
        let object = body.as_object_mut().expect("an object");
        if let Some(job_id) = &w.job_id {
            object.insert("jobId".into(), json!(job_id));
        }
        if let Some(run) = w.run {
            object.insert("run".into(), json!(run));
        }
        object.insert("executionId".into(), json!(execution));
        Value::Object(object.clone()).to_string()
    }

    /// Worker `i` reads the answer to its call and does what the loop says next.
    fn answer(&self, state: &mut State, i: usize, status: u16, answer: &Value) {
        let items = self.bounds.items;
        let batch = self.bounds.batch;
        let control = answer["control"].as_str().unwrap_or("");
        let w = &mut state.workers[i];
        let call = w.waiting.take().expect("a waiting worker");
        if let Some(run) = answer["run"].as_u64() {
            w.run = Some(run);
        }
        if let Some(id) = answer["job"]["$id"].as_str() {
            w.job_id = Some(id.to_owned());
        }
        let ok = (200..300).contains(&status);
        let next_claim = |cursor: u32| {
            if cursor < items {
                Call::Claim {
                    next: (cursor + batch).min(items),
                }
            } else {
                Call::Complete
            }
        };
        w.waiting = match call {
            // Anything but `continue` after start: this execution has no run; it ends.
            Call::Start if ok && control == "continue" => {
                let checkpoint = &answer["checkpoint"];
                w.cursor = checkpoint["cursor"].as_u64().unwrap_or(0) as u32;
                w.sent = checkpoint["sent"].as_u64().unwrap_or(0) as u32;
                Some(next_claim(w.cursor))
            }
            Call::Claim { next } if ok && control == "continue" => {
                for item in w.cursor..next {
                    state.sends[item as usize] += 1;
                }
                w.sent += next - w.cursor;
                w.cursor = next;
                Some(next_claim(next))
            }
            Call::Claim { .. } if ok && control == "pause" && answer["code"].is_null() => {
                Some(Call::Paused)
            }
            _ => None,
        };
    }
}

fn spawn(state: &mut State, retrigger: Option<u64>) {
    state.executions += 1;
    state.workers.push(Worker {
        execution: state.executions,
        retrigger,
        run: retrigger,
        job_id: None,
        cursor: 0,
        sent: 0,
        waiting: Some(Call::Start),
    });
}

fn brief(answer: &Value) -> String {
    let job = &answer["job"];
    let mut s = format!(
        "control {} run {} | job {} run {} done {} claimed {} checkpoint {}",
        answer["control"],
        answer["run"],
        job["status"],
        job["run"],
        job["done"],
        job["claimed"],
        job["checkpoint"]
    );
    if let Some(code) = answer["code"].as_str().or(answer["error"]["code"].as_str()) {
        s.push_str(&format!(" ({code})"));
    }
    s
}

/// The parts of a state that decide its future, as one hashable key (the job without its
/// revision and log ids, which only count writes).
fn key(state: &State) -> u64 {
    let mut h = DefaultHasher::new();
    match &state.job {
        Some(job) => {
            let mut v = serde_json::to_value(job).expect("a job serializes");
            if let Some(o) = v.as_object_mut() {
                o.remove("rev");
            }
            v.to_string().hash(&mut h);
        }
        None => 0u8.hash(&mut h),
    }
    state.workers.hash(&mut h);
    state.delayed.hash(&mut h);
    state.sends.hash(&mut h);
    (state.pauses, state.resumes, state.cancels, state.faults).hash(&mut h);
    h.finish()
}

/// The invariant of every reachable state; `end` adds what must hold once nothing can happen.
pub fn check(bounds: &Bounds, state: &State, end: bool) -> Result<(), String> {
    if let Some(item) = state.sends.iter().position(|&n| n > 1) {
        return Err(format!("email {item} was sent {} times", state.sends[item]));
    }
    let sent = state.sends.iter().filter(|&&n| n == 1).count() as u64;
    let Some(job) = &state.job else { return Ok(()) };
    // What older runs still hold: claims handed over by a resume, being sent right now.
    let in_flight: u64 = job
        .claims
        .iter()
        .filter(|c| c.run != job.run)
        .map(|c| c.claimed.unwrap_or(0) - c.done.unwrap_or(0))
        .sum();
    if let Some(done) = job.done {
        if done > sent + in_flight {
            return Err(format!(
                "the job says {done} done but {sent} emails were sent and {in_flight} are in flight"
            ));
        }
    }
    if let Some(claim) = job.claims.iter().find(|c| c.claimed < c.done) {
        return Err(format!("a claim ends before it starts: {claim:?}"));
    }
    if !end {
        return Ok(());
    }
    if !job.claims.is_empty() {
        return Err(format!(
            "every worker has ended, yet the job shows claims in flight: {:?}",
            job.claims
        ));
    }
    if let Some(done) = job.done {
        if done > sent || (job.status == JobStatus::Completed && done != sent) {
            return Err(format!(
                "the job says {done} done but {sent} emails were sent"
            ));
        }
    }
    let items = bounds.items as usize;
    match job.status {
        JobStatus::Completed => {
            if let Some(item) = state.sends.iter().position(|&n| n == 0) {
                return Err(format!(
                    "the job is COMPLETED but email {item} was never sent"
                ));
            }
            let counted = job
                .result
                .as_ref()
                .and_then(|r| r.get("sent"))
                .and_then(Value::as_u64);
            if counted != Some(items as u64) {
                return Err(format!(
                    "the job is COMPLETED with result sent {counted:?}, {items} were sent"
                ));
            }
        }
        JobStatus::Cancelled | JobStatus::Failed => {}
        // Left active: a resume starts from the stored checkpoint, so what was sent must be
        // exactly what lies before it.
        _ => {
            let cursor = job
                .checkpoint
                .as_ref()
                .and_then(|c| c.get("cursor"))
                .and_then(Value::as_u64)
                .unwrap_or(0) as usize;
            let carried = job
                .checkpoint
                .as_ref()
                .and_then(|c| c.get("sent"))
                .and_then(Value::as_u64)
                .unwrap_or(0);
            for (item, &n) in state.sends.iter().enumerate() {
                let want = u8::from(item < cursor);
                if n != want {
                    return Err(format!(
                        "the job is left {} with checkpoint {cursor}, but email {item} was sent {n} times: a resume would {}",
                        job.status,
                        if n == 0 { "skip it" } else { "send it again" }
                    ));
                }
            }
            if carried != cursor as u64 {
                return Err(format!(
                    "the checkpoint carries sent {carried} at cursor {cursor}"
                ));
            }
        }
    }
    Ok(())
}

/// Every interleaving within `bounds`, depth first; the first violation found, with its trace.
pub fn explore(bounds: Bounds) -> Result<Coverage, Violation> {
    let world = World::new(bounds);
    let initial = world.initial();
    let mut seen = HashSet::new();
    seen.insert(key(&initial));
    let mut coverage = Coverage {
        states: 1,
        ..Coverage::default()
    };
    // Each stack entry: a state and the trace that reached it (kept short: one line a step).
    let mut stack: Vec<(State, Vec<String>)> = vec![(initial, Vec::new())];
    while let Some((state, trace)) = stack.pop() {
        let steps = world.steps(&state);
        if steps.is_empty() {
            coverage.ends += 1;
            match state.job.as_ref().map(|j| j.status) {
                Some(JobStatus::Completed) => coverage.completed += 1,
                Some(JobStatus::Cancelled) => coverage.cancelled += 1,
                _ => coverage.paused += 1,
            }
            check(&bounds, &state, true).map_err(|what| Violation {
                what,
                trace: trace.clone(),
            })?;
            continue;
        }
        for step in steps {
            let mut next = state.clone();
            let said = world.take(&mut next, &step);
            coverage.steps += 1;
            let mut next_trace = trace.clone();
            next_trace.push(said);
            check(&bounds, &next, false).map_err(|what| Violation {
                what,
                trace: next_trace.clone(),
            })?;
            if seen.insert(key(&next)) {
                coverage.states += 1;
                stack.push((next, next_trace));
            }
        }
    }
    Ok(coverage)
}

/// What the seeded random walks covered.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Walks {
    pub campaigns: usize,
    pub steps: usize,
    pub pauses: usize,
    pub resumes: usize,
    pub faults: usize,
    pub completed: usize,
}

/// `campaigns` random walks from `seed`, each to its end, checking the invariant at every step.
pub fn simulate(bounds: Bounds, seed: u64, campaigns: usize) -> Result<Walks, Violation> {
    let world = World::new(bounds);
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut walks = Walks::default();
    for _ in 0..campaigns {
        let mut state = world.initial();
        let mut trace = Vec::new();
        loop {
            let steps = world.steps(&state);
            if steps.is_empty() {
                check(&bounds, &state, true).map_err(|what| Violation {
                    what,
                    trace: trace.clone(),
                })?;
                break;
            }
            // Deliveries are likelier than faults and operator actions, so walks get far.
            let weights: Vec<u32> = steps
                .iter()
                .map(|s| match s {
                    Step::Deliver(_) | Step::Arrive(_) => 12,
                    Step::Pause | Step::Resume(false) => 3,
                    _ => 1,
                })
                .collect();
            let mut pick = rng.u32(0..weights.iter().sum::<u32>());
            let index = weights
                .iter()
                .position(|&w| {
                    if pick < w {
                        true
                    } else {
                        pick -= w;
                        false
                    }
                })
                .expect("a weighted pick");
            let step = &steps[index];
            match step {
                Step::Pause => walks.pauses += 1,
                Step::Resume(_) => walks.resumes += 1,
                Step::LoseAnswer(_) | Step::Delay(_) => walks.faults += 1,
                _ => {}
            }
            let said = world.take(&mut state, step);
            walks.steps += 1;
            trace.push(said);
            check(&bounds, &state, false).map_err(|what| Violation {
                what,
                trace: trace.clone(),
            })?;
        }
        walks.campaigns += 1;
        if state.job.as_ref().map(|j| j.status) == Some(JobStatus::Completed) {
            walks.completed += 1;
        }
    }
    Ok(walks)
}
