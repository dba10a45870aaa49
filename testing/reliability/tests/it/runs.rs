//! The pause-then-quick-resume sequence of issue 15, on SQLite and on the fake Appwrite, through
//! the real hook handler with wire bodies: the old run's next call is told to stop and writes
//! nothing, the re-triggered run continues, and the old run's late `paused` changes nothing.

use std::sync::{Arc, Mutex};

use chrono::{Duration, TimeZone, Utc};
use fake_appwrite::FakeAppwrite;
use serde_json::{json, Value};
use shared::hooks::{self, Hook};
use shared::job::{Event, EventKind, Job, JobStatus, JobType, Timestamp};
use shared::platform::Platform;
use shared::store::JobStore;
use shared::tracker::server_context;
use shared::usecase::{self, Act};
use sqlite_store::SqliteStore;

const HOOK: Hook = Hook {
    job_type: JobType::CampaignRun,
    function_id: "hook-campaign-run",
};

struct World {
    store: Arc<dyn JobStore>,
    platform: Platform,
    now: Arc<Mutex<Timestamp>>,
}

impl World {
    fn new(store: Arc<dyn JobStore>) -> World {
        let now = Arc::new(Mutex::new(
            Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap(),
        ));
        let mut platform = Platform::new(store.clone(), Arc::new(|_| None));
        let clock = now.clone();
        platform.clock = Arc::new(move || *clock.lock().unwrap());
        World {
            store,
            platform,
            now,
        }
    }

    /// A hook call as a worker makes it; the clock moves 2 s so no call is coalesced away.
    fn hook(&self, body: Value) -> (u16, Value) {
        *self.now.lock().unwrap() += Duration::seconds(2);
        let context = server_context(body.to_string().as_bytes(), Some("orchestrator")).unwrap();
        let response = hooks::handle(&HOOK, context, &self.platform);
        let answer = serde_json::from_slice(&response.body).unwrap();
        (response.status_code, answer)
    }

    /// A user's action, as job-actions runs it.
    fn user(&self, job_id: &str, event: Event) -> shared::job::Job {
        *self.now.lock().unwrap() += Duration::seconds(2);
        let act = Act::new(self.store.as_ref(), "user:alice", *self.now.lock().unwrap());
        usecase::control(&act, job_id, event, None).unwrap()
    }
}

/// A superseded call changes nothing of the job but its log (an `ignored` entry saying so) and
/// the settled claim of its run (docs/hooks.md § Exactly once).
fn assert_unchanged_but_logged(w: &World, id: &str, before: &Job, message: &str) {
    let mut after = w.store.get(id).unwrap();
    let last = w.store.events(id, 500).unwrap().pop().unwrap();
    assert_eq!(last.kind, EventKind::Ignored, "{last:?}");
    assert!(
        last.message.as_deref().unwrap_or("").starts_with(message),
        "{last:?}"
    );
    assert_eq!(
        (last.from_status, last.to_status),
        (Some(before.status), Some(before.status))
    );
    after.rev = before.rev;
    after.claims.clone_from(&before.claims);
    after.done = before.done;
    after.progress = before.progress;
    after.updated_at = before.updated_at;
    assert_eq!(&after, before, "the superseded call changed the job");
}

fn pause_then_a_quick_resume_leaves_exactly_one_worker(store: Arc<dyn JobStore>) {
    let w = World::new(store);
    let (status, started) = w.hook(json!({
        "event": "start", "referenceId": "campaign-42", "total": 200, "executionId": "exec-old"
    }));
    assert_eq!(status, 201, "{started}");
    let id = started["job"]["$id"].as_str().unwrap().to_owned();
    let old_run = started["run"].as_u64().unwrap();
    let (_, answer) = w.hook(json!({
        "event": "progress", "jobId": id, "run": old_run, "done": 50,
        "checkpoint": {"sent": 50}, "executionId": "exec-old"
    }));
    assert_eq!(answer["control"], "continue", "{answer}");

    // Pause, then resume before the worker confirms `paused`.
    w.user(&id, Event::Pause);
    let resumed = w.user(&id, Event::Resume);
    assert_eq!(resumed.status, JobStatus::Queued);
    // The re-trigger body job-actions sends, sent back unchanged as a start.
    let retrigger = json!({
        "event": "start", "jobId": id, "run": resumed.run,
        "referenceId": resumed.reference_id, "checkpoint": resumed.checkpoint,
    });
    let mut body = retrigger.clone();
    body["executionId"] = json!("exec-new");
    let (status, picked) = w.hook(body);
    assert_eq!(status, 200, "{picked}");
    assert_eq!(picked["control"], "continue");
    assert_eq!(picked["job"]["status"], "RUNNING");
    assert_eq!(picked["checkpoint"], json!({"sent": 50}));
    let new_run = picked["run"].as_u64().unwrap();
    assert!(new_run > old_run, "{picked}");
    assert_eq!(picked["job"]["executionId"], "exec-new");

    // The old worker's next progress: told to stop, nothing written.
    let before = w.store.get(&id).unwrap();
    let (status, answer) = w.hook(json!({
        "event": "progress", "jobId": id, "run": old_run, "done": 60,
        "checkpoint": {"sent": 60}, "executionId": "exec-old"
    }));
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["control"], "cancel");
    assert_eq!(answer["code"], "superseded");
    assert_eq!(answer["run"], new_run);
    assert_unchanged_but_logged(&w, &id, &before, "progress call from run");

    // The new worker keeps going.
    let (_, answer) = w.hook(json!({
        "event": "progress", "jobId": id, "run": new_run, "done": 70, "checkpoint": {"sent": 70}
    }));
    assert_eq!(answer["control"], "continue", "{answer}");
    assert_eq!(answer["code"], Value::Null);

    // The old worker's late `paused` changes nothing: the new worker is not told to pause.
    let before = w.store.get(&id).unwrap();
    let (status, answer) = w.hook(json!({
        "event": "paused", "jobId": id, "run": old_run, "checkpoint": {"sent": 60}
    }));
    assert_eq!(
        (status, &answer["code"]),
        (200, &json!("superseded")),
        "{answer}"
    );
    assert_unchanged_but_logged(&w, &id, &before, "paused call from run");
    let (_, answer) = w.hook(json!({"event": "heartbeat", "jobId": id, "run": new_run}));
    assert_eq!(answer["control"], "continue", "{answer}");
    assert_eq!(answer["job"]["status"], "RUNNING");
    assert_eq!(answer["job"]["checkpoint"], json!({"sent": 70}));

    // A second delivery of the same re-trigger body does not start a second worker.
    let (status, answer) = w.hook(retrigger);
    assert_eq!(
        (status, &answer["code"]),
        (200, &json!("superseded")),
        "{answer}"
    );
    // Nor does a run-less report once the job has had a second run.
    let (status, answer) = w.hook(json!({"event": "progress", "jobId": id, "done": 80}));
    assert_eq!(
        (status, &answer["code"]),
        (200, &json!("run_required")),
        "{answer}"
    );
    // A run that never existed is bad input, naming the field.
    let (status, answer) = w.hook(json!({"event": "heartbeat", "jobId": id, "run": new_run + 5}));
    assert_eq!(
        (status, &answer["error"]["field"]),
        (400, &json!("run")),
        "{answer}"
    );
}

#[test]
fn pause_then_a_quick_resume_leaves_exactly_one_worker_on_sqlite() {
    pause_then_a_quick_resume_leaves_exactly_one_worker(Arc::new(
        SqliteStore::in_memory().unwrap(),
    ));
}

#[test]
fn pause_then_a_quick_resume_leaves_exactly_one_worker_on_the_fake_appwrite() {
    let fake = FakeAppwrite::start();
    let store = crate::torture::appwrite_store(&fake);
    pause_then_a_quick_resume_leaves_exactly_one_worker(Arc::new(store));
}
