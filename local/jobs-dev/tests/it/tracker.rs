//! The Rust `JobTracker` against the real `jobs-dev`: a worker that reports every one of 10,000
//! items through Appwrite's executions endpoint costs at most one execution per percent point
//! plus one per coalescing interval (issue 19). The worker's clock is a counter stepped by each
//! item, so the bound does not depend on how fast the machine is.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use chrono::Duration;
use shared::hooks::{HookAnswer, HookRequest, ProgressRequest, StartRequest};
use shared::job::{Control, JobStatus, Timestamp};
use shared::tracker::{AppwriteTransport, Coalescing, JobTracker, TrackerError, Transport};

use crate::{spawn_app, KEY};

/// Counts the executions that reached jobs-dev.
struct Counted {
    inner: AppwriteTransport,
    executions: AtomicUsize,
}

impl Transport for Counted {
    fn send(&self, request: &HookRequest, wait: bool) -> Result<Option<HookAnswer>, TrackerError> {
        let answer = self.inner.send(request, wait)?;
        self.executions.fetch_add(1, Ordering::SeqCst);
        Ok(answer)
    }
}

#[test]
fn a_worker_reporting_every_item_costs_one_execution_per_percent_point_plus_one_per_interval() {
    let app = spawn_app("operator");
    let transport = Arc::new(Counted {
        inner: AppwriteTransport::new(
            &format!("{}/v1", app.url),
            "jobmanager",
            KEY,
            "hook-campaign-run",
            Some("tracker-test".into()),
        )
        .unwrap(),
        executions: AtomicUsize::new(0),
    });
    let now: Arc<Mutex<Timestamp>> = Arc::new(Mutex::new(chrono::Utc::now()));
    let clock = now.clone();
    let interval = Duration::seconds(2);
    let mut tracker =
        JobTracker::with_clock(transport.clone(), Arc::new(move || *clock.lock().unwrap()))
            .coalescing(Coalescing {
                interval,
                fire_and_forget: false,
            });
    let total = 10_000u64;
    let control = tracker
        .start(StartRequest {
            reference_id: "campaign-coalescing".into(),
            total: Some(total),
            ..StartRequest::default()
        })
        .unwrap();
    assert_eq!(control, Control::Continue);
    // 10 ms of work per email: 100 s for the campaign.
    let step = Duration::milliseconds(10);
    for done in 1..=total {
        *now.lock().unwrap() += step;
        tracker
            .progress(ProgressRequest {
                done: Some(done),
                ..ProgressRequest::default()
            })
            .unwrap();
        if done % 10 == 0 {
            tracker.heartbeat(None, None).unwrap();
        }
    }
    tracker.complete(serde_json::Map::new(), None).unwrap();
    let job = tracker.job().unwrap();
    assert_eq!(job.status, JobStatus::Completed);
    assert_eq!(job.progress, 100);

    let executions = transport.executions.load(Ordering::SeqCst);
    let seconds = (step * total as i32).num_seconds();
    // start + complete + one per percent point + one per interval of the run.
    let bound = 2 + 100 + (seconds / interval.num_seconds()) as usize;
    println!("tracker: {total} items reported one by one, {executions} executions (bound {bound})");
    assert_eq!(executions, tracker.calls());
    assert!(
        executions <= bound,
        "{executions} executions for {total} items (bound {bound})"
    );
    // Without coalescing it would be one per item plus one per tenth heartbeat.
    assert!(executions * 50 < total as usize, "{executions}");
}
