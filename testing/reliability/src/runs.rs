//! Run-fencing torture (docs/hooks.md § Runs): every job has two workers that call its hook
//! with the run they were given, keep calling after being told to stop (a late worker), and
//! pick up the re-trigger bodies that users' resumes and retries leave, while users pause,
//! resume, retry and cancel at random. Every answer is recorded and checked afterwards:
//!
//! * a `continue` goes only to the job's current run (the caller's run is the answer's run);
//! * along the job's revisions the runs told `continue` never go back, so after a resume at most
//!   one run — the one that picked the job up — is ever told `continue` again;
//! * a call told to stop (`superseded`, `run_required`) is told `cancel` and, when single-threaded
//!   (where nobody else writes meanwhile), left the row's revision unchanged.
//!
//! Single-threaded by default so a seed replays exactly; `threads > 1` adds real races.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{Duration, TimeZone, Utc};
use serde_json::{json, Map};
use shared::hooks::{
    AnswerCode, CompleteRequest, FailRequest, HeartbeatRequest, Hook, HookAnswer, HookRequest,
    PausedRequest, ProgressRequest, StartRequest,
};
use shared::job::{Control, Event, JobType, Timestamp};
use shared::platform::Platform;
use shared::store::JobStore;
use shared::tracker::{InProcess, Transport};
use shared::usecase::{self, Act};

/// What to run.
#[derive(Debug, Clone, Copy)]
pub struct RunsPlan {
    pub seed: u64,
    pub threads: usize,
    /// Total operations (hook calls and user actions) across all threads.
    pub ops: usize,
    /// Jobs started up front; retries add more.
    pub jobs: usize,
}

/// What happened.
#[derive(Debug, Default, Clone)]
pub struct RunsReport {
    pub ops: usize,
    /// Answers `continue` (to starts and reports).
    pub continued: usize,
    /// Calls told to stop because their run was over.
    pub stopped: usize,
    pub resumes: usize,
    pub retries: usize,
    /// Highest run any job reached.
    pub max_run: u64,
    pub violations: Vec<String>,
}

/// One worker of a job: the run it holds, if it was started. A worker keeps its run after a
/// `pause` or `cancel` answer half of the time, to play a late or misbehaving one.
#[derive(Debug, Clone, Copy, Default)]
struct Worker {
    run: Option<u64>,
}

#[derive(Debug, Clone, Default)]
struct Sim {
    workers: [Worker; 2],
    /// Re-trigger bodies left by resume and retry, not yet taken by a worker: their `run`.
    retriggers: Vec<u64>,
    /// An answer showed the job final: users retry it or a new campaign starts instead.
    finished: bool,
}

/// One recorded answer.
#[derive(Debug, Clone)]
struct Seen {
    job: String,
    /// The run the caller holds after the call (a start's new run), or held when it called.
    caller_run: Option<u64>,
    answer_run: u64,
    rev: u64,
    control: Control,
    stopped: bool,
    /// Answered `granted`: a repeat of a claim this run was already told to carry out.
    granted: bool,
    /// Single-threaded only: what the call may not change (status, run, checkpoint, execution)
    /// before and after it. A stopped call may add its `ignored` log entry and settle its run's
    /// claim (docs/hooks.md § Exactly once), and nothing else.
    revs: Option<(String, String)>,
}

const HOOK: Hook = Hook {
    job_type: JobType::CampaignRun,
    function_id: "hook-campaign-run",
};

/// Runs the plan through the real hook handler on `store` and checks the run invariants.
pub fn run(store: Arc<dyn JobStore>, plan: RunsPlan) -> RunsReport {
    let ticks = Arc::new(AtomicUsize::new(0));
    let base: Timestamp = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let clock_ticks = ticks.clone();
    // Every call moves time on 300 ms: coalescing skips some reports, writes others.
    let clock = Arc::new(move || {
        base + Duration::milliseconds(clock_ticks.fetch_add(1, Ordering::Relaxed) as i64 * 300)
    });
    let mut platform = Platform::new(store.clone(), Arc::new(|_| None));
    platform.clock = clock.clone();
    let transport = InProcess {
        hook: HOOK,
        platform,
        caller: Some("torture-worker".into()),
    };
    let sims: Mutex<HashMap<String, Sim>> = Mutex::new(HashMap::new());
    let order: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let seen: Mutex<Vec<Seen>> = Mutex::new(Vec::new());
    let errors: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let (resumes, retries) = (AtomicUsize::new(0), AtomicUsize::new(0));

    let campaigns = AtomicUsize::new(0);
    let new_campaign = || {
        let i = campaigns.fetch_add(1, Ordering::Relaxed);
        let request = HookRequest::Start(StartRequest {
            reference_id: format!("campaign-{i}"),
            total: Some(1_000),
            ..StartRequest::default()
        });
        match transport.send(&request, true) {
            Ok(Some(answer)) => {
                let mut sim = Sim::default();
                sim.workers[0].run = Some(answer.run);
                sims.lock().unwrap().insert(answer.job.id.clone(), sim);
                order.lock().unwrap().push(answer.job.id.clone());
            }
            other => errors.lock().unwrap().push(format!("start: {other:?}")),
        }
    };
    for _ in 0..plan.jobs.max(1) {
        new_campaign();
    }

    let per_thread = plan.ops / plan.threads.max(1);
    std::thread::scope(|s| {
        for t in 0..plan.threads.max(1) {
            let (transport, sims, order, seen, errors, store) =
                (&transport, &sims, &order, &seen, &errors, &store);
            let alone = plan.threads <= 1;
            let (resumes, retries, clock, new_campaign) =
                (&resumes, &retries, &clock, &new_campaign);
            s.spawn(move || {
                let mut rng = fastrand::Rng::with_seed(plan.seed ^ ((t as u64 + 1) * 0x9E37));
                for _ in 0..per_thread {
                    let job_id = {
                        let order = order.lock().unwrap();
                        // The newest jobs are the contended ones.
                        let hot = order.len().saturating_sub(4);
                        order[rng.usize(hot..order.len())].clone()
                    };
                    let finished = sims
                        .lock()
                        .unwrap()
                        .get(&job_id)
                        .is_some_and(|s| s.finished);
                    if finished {
                        // Finished jobs are retried (a new job, a re-trigger body) or replaced.
                        if rng.bool() {
                            let user = Act::new(store.as_ref(), "user:torture", clock());
                            retry(&user, &job_id, sims, order, retries, errors);
                        } else {
                            new_campaign();
                        }
                        continue;
                    }
                    let roll = rng.u32(..100);
                    if roll < 18 {
                        let user = Act::new(store.as_ref(), "user:torture", clock());
                        let (event, what) = match roll {
                            0..=7 => (Event::Pause, "pause"),
                            8..=15 => (Event::Resume, "resume"),
                            16 => (Event::Cancel, "cancel"),
                            _ => {
                                retry(&user, &job_id, sims, order, retries, errors);
                                continue;
                            }
                        };
                        match usecase::control(&user, &job_id, event, None) {
                            Ok(job) => {
                                if event == Event::Resume {
                                    resumes.fetch_add(1, Ordering::Relaxed);
                                    // What job-actions re-triggers the worker with.
                                    let mut sims = sims.lock().unwrap();
                                    sims.entry(job_id).or_default().retriggers.push(job.run);
                                }
                            }
                            Err(usecase::Error::Illegal { .. }) => {}
                            Err(e) => errors.lock().unwrap().push(format!("{what}: {e}")),
                        }
                        continue;
                    }
                    let slot = rng.usize(..2);
                    let (held, retrigger) = {
                        let mut sims = sims.lock().unwrap();
                        let sim = sims.entry(job_id.clone()).or_default();
                        let held = sim.workers[slot].run;
                        // An idle worker takes a waiting re-trigger body if there is one.
                        let retrigger = match held {
                            None if !sim.retriggers.is_empty() => {
                                let i = rng.usize(..sim.retriggers.len());
                                Some(sim.retriggers.swap_remove(i))
                            }
                            _ => None,
                        };
                        (held, retrigger)
                    };
                    let request = match (held, retrigger) {
                        (None, Some(run)) => start(&job_id, Some(run)),
                        // Now and then an idle worker starts without a body: a takeover.
                        (None, None) if rng.u32(..4) == 0 => start(&job_id, None),
                        (None, None) => continue,
                        (Some(run), _) => report(&job_id, run, &mut rng),
                    };
                    let is_start = matches!(request, HookRequest::Start(_));
                    let rev = |store: &Arc<dyn JobStore>| {
                        store.get(&job_id).map_or(String::new(), |j| {
                            format!(
                                "{} run {} checkpoint {:?} execution {:?}",
                                j.status, j.run, j.checkpoint, j.execution_id
                            )
                        })
                    };
                    let before = alone.then(|| rev(store));
                    let answer = match transport.send(&request, true) {
                        Ok(Some(answer)) => answer,
                        Ok(None) => continue,
                        // Refusals (409 on a final job) write nothing; the worker gives up.
                        Err(shared::tracker::TrackerError::Rejected { status, .. })
                            if (400..500).contains(&status) =>
                        {
                            forget(sims, &job_id, slot, status == 409);
                            continue;
                        }
                        Err(e) => {
                            errors.lock().unwrap().push(format!("{request:?}: {e}"));
                            continue;
                        }
                    };
                    let revs = before.map(|b| (b, rev(store)));
                    record(
                        &answer, &job_id, held, is_start, revs, seen, sims, slot, &mut rng,
                    );
                }
            });
        }
    });

    let mut report = RunsReport {
        ops: per_thread * plan.threads.max(1),
        resumes: resumes.into_inner(),
        retries: retries.into_inner(),
        violations: errors.into_inner().unwrap(),
        ..RunsReport::default()
    };
    check(&seen.into_inner().unwrap(), &mut report);
    report
}

fn start(job_id: &str, run: Option<u64>) -> HookRequest {
    // A re-trigger body, sent back as is (docs/hooks.md § Runs).
    HookRequest::Start(StartRequest {
        reference_id: "campaign".into(),
        job_id: Some(job_id.to_owned()),
        run,
        ..StartRequest::default()
    })
}

fn report(job_id: &str, run: u64, rng: &mut fastrand::Rng) -> HookRequest {
    let job_id = job_id.to_owned();
    let run = Some(run);
    match rng.u32(..100) {
        0..=59 => {
            let done = rng.u64(0..=1_000);
            HookRequest::Progress(ProgressRequest {
                job_id,
                run,
                done: Some(done),
                checkpoint: Some(json!({ "cursor": done })),
                ..ProgressRequest::default()
            })
        }
        60..=79 => HookRequest::Heartbeat(HeartbeatRequest {
            job_id,
            run,
            ..HeartbeatRequest::default()
        }),
        80..=96 => HookRequest::Paused(PausedRequest {
            job_id,
            run,
            checkpoint: Some(json!({"cursor": "paused"})),
            ..PausedRequest::default()
        }),
        97..=98 => HookRequest::Complete(CompleteRequest {
            job_id,
            run,
            result: Some(Map::new()),
            ..CompleteRequest::default()
        }),
        _ => HookRequest::Fail(FailRequest {
            job_id,
            run,
            error: "torture failure".into(),
            ..FailRequest::default()
        }),
    }
}

fn forget(sims: &Mutex<HashMap<String, Sim>>, job_id: &str, slot: usize, finished: bool) {
    if let Some(sim) = sims.lock().unwrap().get_mut(job_id) {
        sim.workers[slot].run = None;
        sim.finished |= finished;
    }
}

#[allow(clippy::too_many_arguments)]
fn record(
    answer: &HookAnswer,
    job_id: &str,
    held: Option<u64>,
    is_start: bool,
    revs: Option<(String, String)>,
    seen: &Mutex<Vec<Seen>>,
    sims: &Mutex<HashMap<String, Sim>>,
    slot: usize,
    rng: &mut fastrand::Rng,
) {
    // A repeated claim answered `continue` again (docs/hooks.md § Exactly once): the answer
    // that claim already had, not a new licence to run.
    let granted = answer.code == Some(AnswerCode::Granted);
    let stopped = answer.code.is_some() && !granted;
    // A start that was not stopped hands the worker the answer's run.
    let caller_run = if is_start && !stopped {
        Some(answer.run)
    } else {
        held
    };
    seen.lock().unwrap().push(Seen {
        job: job_id.to_owned(),
        caller_run,
        answer_run: answer.run,
        rev: answer.job.rev,
        control: answer.control,
        stopped,
        granted,
        revs,
    });
    let mut sims = sims.lock().unwrap();
    let sim = sims.entry(job_id.to_owned()).or_default();
    sim.finished |= answer.job.status.is_final();
    let worker = &mut sim.workers[slot];
    worker.run = match answer.control {
        Control::Continue => caller_run,
        // Half the workers obey; the others keep calling with their old run.
        _ if rng.bool() => None,
        _ => caller_run,
    };
}

#[allow(clippy::too_many_arguments)]
fn retry(
    user: &Act,
    job_id: &str,
    sims: &Mutex<HashMap<String, Sim>>,
    order: &Mutex<Vec<String>>,
    retries: &AtomicUsize,
    errors: &Mutex<Vec<String>>,
) {
    match usecase::retry_with(user, job_id, None, Map::new()) {
        Ok(created) => {
            let job = created.job().clone();
            if matches!(created, shared::store::Created::New(_)) {
                retries.fetch_add(1, Ordering::Relaxed);
                let mut sim = Sim::default();
                sim.retriggers.push(job.run);
                sims.lock().unwrap().insert(job.id.clone(), sim);
                order.lock().unwrap().push(job.id);
            }
        }
        Err(usecase::Error::NotRetryable { .. }) => {}
        Err(e) => errors.lock().unwrap().push(format!("retry: {e}")),
    }
}

fn check(seen: &[Seen], report: &mut RunsReport) {
    let v = &mut report.violations;
    let mut continues: HashMap<&str, Vec<&Seen>> = HashMap::new();
    for s in seen {
        report.max_run = report.max_run.max(s.answer_run);
        if s.stopped {
            report.stopped += 1;
            if s.control != Control::Cancel {
                v.push(format!(
                    "{}: a stopped call was told {:?}",
                    s.job, s.control
                ));
            }
            if let Some((before, after)) = s.revs.as_ref().filter(|(b, a)| b != a) {
                v.push(format!(
                    "{}: a stopped call moved the row from {before} to {after}",
                    s.job
                ));
            }
            continue;
        }
        if s.granted {
            if s.control != Control::Continue || s.caller_run != Some(s.answer_run) {
                v.push(format!(
                    "{}: a repeated claim of run {:?} was answered {:?} for run {}",
                    s.job, s.caller_run, s.control, s.answer_run
                ));
            }
            continue;
        }
        if s.control == Control::Continue {
            report.continued += 1;
            if s.caller_run != Some(s.answer_run) {
                v.push(format!(
                    "{}: run {:?} told continue while run {} is current",
                    s.job, s.caller_run, s.answer_run
                ));
            }
            continues.entry(&s.job).or_default().push(s);
        }
    }
    for (job, mut list) in continues {
        list.sort_by_key(|s| s.rev);
        for pair in list.windows(2) {
            if pair[1].answer_run < pair[0].answer_run {
                v.push(format!(
                    "{job}: run {} told continue at rev {} after run {} at rev {}",
                    pair[1].answer_run, pair[1].rev, pair[0].answer_run, pair[0].rev
                ));
            }
        }
    }
}
