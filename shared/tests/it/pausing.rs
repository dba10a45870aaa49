//! Issue 28, honest states: a PAUSED job keeps its worker's execution id until the worker
//! confirms (`paused`), so "PAUSED with an execution id" is the dashboard's "Pausing…", and a
//! late call of the stopped run never makes it look pausing again.

use chrono::Duration;
use shared::job::JobStatus;
use shared::job::{Event, JobType};
use shared::store::conformance::t0;
use shared::store::memory::MemoryStore;
use shared::store::JobStore;
use shared::usecase::{self, Act, Progress, Start};

fn running(store: &MemoryStore, execution: Option<&str>) -> String {
    let worker =
        Act::new(store, "function:orchestrator", t0()).in_run(None, execution.map(str::to_owned));
    let start = Start {
        reference_id: "campaign-1".into(),
        ..Default::default()
    };
    usecase::start(&worker, JobType::CampaignRun, start)
        .expect("start")
        .job
        .id
}

#[test]
fn a_pause_keeps_the_execution_until_the_worker_confirms_and_a_late_call_does_not_relink_it() {
    let store = MemoryStore::new();
    let id = running(&store, Some("exec-1"));
    let user = Act::new(&store, "user:ana", t0() + Duration::seconds(1));
    let paused = usecase::control(&user, &id, Event::Pause, Some("SES quota")).expect("pause");
    assert_eq!(
        (paused.status, paused.execution_id.as_deref()),
        (JobStatus::Paused, Some("exec-1")),
        "pausing: the worker has not stopped yet"
    );
    assert_eq!(paused.last_actor.as_deref(), Some("user:ana"));
    assert_eq!(paused.last_reason.as_deref(), Some("SES quota"));

    let worker = Act::new(&store, "function:orchestrator", t0() + Duration::seconds(2))
        .in_run(Some(1), Some("exec-1".into()));
    let confirmed = usecase::worker_paused(&worker, &id, None, None).expect("paused");
    assert_eq!(
        (confirmed.status, confirmed.execution_id.as_deref()),
        (JobStatus::Paused, None),
        "paused: no execution holds the run"
    );
    assert_eq!(confirmed.last_actor.as_deref(), Some("user:ana"));

    // A delayed progress call of the same run arrives after the confirmation.
    let late = Act::new(&store, "function:orchestrator", t0() + Duration::seconds(5))
        .in_run(Some(1), Some("exec-1".into()));
    let progress = Progress {
        percent: Some(10),
        ..Default::default()
    };
    let after = usecase::progress(&late, &id, progress).expect("progress");
    assert_eq!(after.execution_id, None);
    assert_eq!(store.get(&id).expect("get").execution_id, None);
}

#[test]
fn a_job_whose_worker_never_reported_an_execution_is_paused_at_once() {
    let store = MemoryStore::new();
    let id = running(&store, None);
    let user = Act::new(&store, "user:ana", t0());
    let paused = usecase::control(&user, &id, Event::Pause, None).expect("pause");
    assert_eq!(
        (paused.status, paused.execution_id),
        (JobStatus::Paused, None)
    );
}

#[test]
fn a_worker_that_pauses_on_its_own_is_named_as_who_paused_and_why() {
    let store = MemoryStore::new();
    let id = running(&store, Some("exec-2"));
    let user = Act::new(&store, "user:ana", t0());
    let paused = usecase::control(&user, &id, Event::Pause, Some("SES quota")).expect("pause");
    let resumed = usecase::control(&user, &id, Event::Resume, None).expect("resume");
    let worker = Act::new(&store, "function:orchestrator", t0() + Duration::seconds(1))
        .in_run(Some(resumed.run), Some("exec-3".into()));
    let start = Start {
        reference_id: "campaign-1".into(),
        job_id: Some(id.clone()),
        ..Default::default()
    };
    let picked = usecase::start(&worker, JobType::CampaignRun, start).expect("pick up");
    let worker = Act::new(&store, "function:orchestrator", t0() + Duration::seconds(2))
        .in_run(Some(picked.job.run), Some("exec-3".into()));
    let stopped = usecase::worker_paused(&worker, &id, None, Some("daily quota reached".into()))
        .expect("paused");
    assert_eq!(paused.last_actor.as_deref(), Some("user:ana"));
    assert_eq!(
        (
            stopped.status,
            stopped.execution_id.as_deref(),
            stopped.last_actor.as_deref(),
            stopped.last_reason.as_deref()
        ),
        (
            JobStatus::Paused,
            None,
            Some("function:orchestrator"),
            Some("daily quota reached")
        )
    );
}
