//! A simulated orchestrator using `JobTracker` in process: start → progress → user pause →
//! control `pause` → paused → resume → a new execution picks up from the checkpoint → complete.

use std::sync::Arc;

use serde_json::{json, Map};
use shared::hooks::{ProgressRequest, StartRequest};
use shared::job::{Control, Event, EventKind, JobStatus};
use shared::tracker::{Coalescing, InProcess, JobTracker};

use crate::support::spawn_app;

#[test]
fn an_orchestrator_pauses_at_a_checkpoint_and_resumes_from_it_in_a_new_execution() {
    let app = spawn_app(hook_campaign_run::handle);
    let transport = Arc::new(InProcess {
        hook: hook_campaign_run::HOOK,
        platform: app.platform.clone(),
        caller: Some("orchestrator".into()),
    });
    let clock = app.platform.clock.clone();
    let tracker = |_: ()| {
        JobTracker::with_clock(transport.clone(), clock.clone()).coalescing(Coalescing {
            interval: chrono::Duration::seconds(1),
            fire_and_forget: false,
        })
    };

    // Execution 1: sends emails until told to pause.
    let mut run = tracker(());
    let control = run
        .start(StartRequest {
            reference_id: "campaign-42".into(),
            total: Some(200),
            ..StartRequest::default()
        })
        .unwrap();
    assert_eq!(control, Control::Continue);
    let job_id = run.job().unwrap().id.clone();
    let mut sent = 0;
    let mut paused_at = None;
    while sent < 200 {
        sent += 10;
        app.advance(chrono::Duration::seconds(2));
        if sent == 50 {
            app.user(&job_id, Event::Pause);
        }
        let control = run
            .progress(ProgressRequest {
                done: Some(sent),
                message: Some(format!("{sent}/200 emails sent")),
                checkpoint: Some(json!({"sent": sent})),
                ..ProgressRequest::default()
            })
            .unwrap();
        if control == Control::Pause {
            run.paused(Some(json!({"sent": sent})), Some("paused by user".into()))
                .unwrap();
            paused_at = Some(sent);
            break;
        }
    }
    assert_eq!(
        paused_at,
        Some(50),
        "the pause is answered on the next call"
    );
    assert_eq!(app.job(&job_id).status, JobStatus::Paused);

    // The user resumes; the action API re-triggers the orchestrator with the job id.
    app.advance(chrono::Duration::seconds(60));
    assert_eq!(app.user(&job_id, Event::Resume).status, JobStatus::Queued);

    // Execution 2: picks up from the checkpoint and finishes.
    let mut run = tracker(());
    let control = run
        .start(StartRequest {
            reference_id: "campaign-42".into(),
            job_id: Some(job_id.clone()),
            ..StartRequest::default()
        })
        .unwrap();
    assert_eq!(control, Control::Continue);
    let mut sent = run.checkpoint().unwrap()["sent"].as_u64().unwrap();
    assert_eq!(sent, 50);
    while sent < 200 {
        sent += 10;
        app.advance(chrono::Duration::seconds(2));
        let control = run
            .progress(ProgressRequest {
                done: Some(sent),
                ..ProgressRequest::default()
            })
            .unwrap();
        assert_eq!(control, Control::Continue);
    }
    let mut result = Map::new();
    result.insert("sent".into(), json!(196));
    result.insert("failed".into(), json!(4));
    run.complete(result, Some("200/200 emails sent".into()))
        .unwrap();

    let job = app.job(&job_id);
    assert_eq!(job.status, JobStatus::Completed);
    assert_eq!(job.progress, 100);
    let path: Vec<(EventKind, String)> = app
        .events(&job_id)
        .into_iter()
        .filter(|e| e.kind != EventKind::Progress)
        .map(|e| (e.kind, e.actor))
        .collect();
    let orchestrator = "function:orchestrator".to_owned();
    let user = "user:u1".to_owned();
    assert_eq!(
        path,
        [
            (EventKind::Created, orchestrator.clone()),
            (EventKind::PauseRequested, user.clone()),
            (EventKind::Paused, orchestrator.clone()),
            (EventKind::Resumed, user),
            (EventKind::Started, orchestrator.clone()),
            (EventKind::Completed, orchestrator),
        ]
    );
}
