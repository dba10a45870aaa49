//! Faults: what the store does when Appwrite rate-limits, fails, hangs up, answers garbage or
//! loses an answer after doing the work. Sleeps are recorded, never slept.

use serde_json::{json, Map};
use shared::job::{Event, JobStatus, JobType};
use shared::store::{JobStore, StoreError, Write};
use shared::usecase::{self, Act, Start};

use crate::support::{spawn_app, spawn_app_with, MAX_DELAY};
use fake_appwrite::Fault;

fn t(seconds: i64) -> shared::job::Timestamp {
    shared::store::conformance::t0() + chrono::Duration::seconds(seconds)
}

fn start(store: &dyn JobStore, key: &str) -> usecase::Started {
    let act = Act::new(store, "function:hook-bulk-verify", t(0));
    usecase::start(
        &act,
        JobType::BulkVerify,
        Start {
            reference_id: "list-1".into(),
            idempotency_key: Some(key.into()),
            total: Some(200),
            ..Start::default()
        },
    )
    .expect("start")
}

#[test]
fn a_create_whose_answer_was_lost_is_retried_without_a_second_job() {
    let app = spawn_app();
    app.fake.inject("POST rows", Fault::DropAfterApply, 1);
    let started = start(&app.store, "run-1");
    assert!(
        started.created,
        "our own earlier attempt is still a new job"
    );
    assert_eq!(app.fake.rows("jobmanager", "jobs").len(), 1);
    assert_eq!(app.store.events(&started.job.id, 10).unwrap().len(), 1);

    // The caller's own retry of the whole start finds the same job.
    let again = start(&app.another_store(), "run-1");
    assert_eq!(again.job.id, started.job.id);
    assert!(!again.created);
    assert_eq!(app.fake.rows("jobmanager", "jobs").len(), 1);
    // It picks the job up in a run of its own (docs/hooks.md § Runs): one more log entry.
    assert_eq!(again.job.run, started.job.run + 1);
    assert_eq!(app.store.events(&started.job.id, 10).unwrap().len(), 2);
    // Its entries are kept in the job row's outbox: none reached `job_events` yet.
    assert!(app.fake.rows("jobmanager", "job_events").is_empty());
}

#[test]
fn a_conditional_write_whose_answer_was_lost_counts_as_done_exactly_once() {
    let app = spawn_app();
    let job = start(&app.store, "run-1").job;
    app.fake.inject("PATCH row", Fault::DropAfterApply, 1);
    let act = Act::new(&app.store, "user:u1", t(5));
    let paused = usecase::control(&act, &job.id, Event::Pause, Some("lunch")).expect("pause");
    assert_eq!(paused.status, JobStatus::Paused);
    let kinds: Vec<_> = app
        .store
        .events(&job.id, 10)
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds.len(), 2, "created + one pause request: {kinds:?}");
    assert_eq!(app.fake.requests()["PATCH row"], 2);
}

#[test]
fn a_write_from_a_stale_read_is_a_conflict_and_the_users_pause_survives_progress() {
    let app = spawn_app();
    let job = start(&app.store, "run-1").job;
    // The worker's store has read the job; meanwhile a user pauses it through another execution.
    let seen = app.store.get(&job.id).unwrap();
    let user = app.another_store();
    usecase::control(
        &Act::new(&user, "user:u1", t(5)),
        &job.id,
        Event::Pause,
        None,
    )
    .unwrap();

    let mut stale = seen.clone();
    stale.progress = 50;
    stale.rev += 1;
    let outcome = app.store.write(&Write {
        job: stale,
        expected_rev: seen.rev,
        events: Vec::new(),
    });
    assert!(
        matches!(outcome, Err(StoreError::Conflict { .. })),
        "{outcome:?}"
    );
    assert_eq!(app.store.get(&job.id).unwrap().status, JobStatus::Paused);

    // Through the use case the progress is re-applied on the fresh row: the job is paused, so
    // the report is answered `pause` and changes nothing (docs/hooks.md § Exactly once).
    let act = Act::new(&app.store, "function:hook-bulk-verify", t(6));
    let after = usecase::progress(
        &act,
        &job.id,
        usecase::Progress {
            percent: Some(50),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!((after.status, after.progress), (JobStatus::Paused, 0));
}

#[test]
fn rate_limited_reads_wait_for_the_reset_then_succeed() {
    let app = spawn_app();
    let job = start(&app.store, "run-1").job;
    app.fake.reset_requests();
    app.fake
        .inject("GET row", Fault::RateLimited { reset_in: 30 }, 2);
    assert_eq!(app.store.get(&job.id).unwrap().id, job.id);
    assert_eq!(app.fake.requests()["GET row"], 3);
    // A reset 30 s away is waited for, up to the cap.
    assert_eq!(app.sleeps(), vec![MAX_DELAY, MAX_DELAY]);
}

#[test]
fn server_errors_dropped_connections_and_timeouts_are_retried_for_reads() {
    let app = spawn_app_with(&[("APPWRITE_TIMEOUT_MS", "300")]);
    let job = start(&app.store, "run-1").job;
    app.fake.reset_requests();
    app.fake.inject("GET row", Fault::ServerError(503), 1);
    app.fake.inject("GET row", Fault::Drop, 1);
    app.fake
        .inject("GET row", Fault::Slow(std::time::Duration::from_secs(2)), 1);
    assert_eq!(app.store.get(&job.id).unwrap(), job);
    assert_eq!(app.fake.requests()["GET row"], 4);
    assert_eq!(app.sleeps().len(), 3);
}

#[test]
fn exhausted_retries_are_an_unavailable_error_naming_appwrites_type() {
    let app = spawn_app();
    app.fake.inject("GET row", Fault::ServerError(502), 10);
    match app.store.get("j1") {
        Err(e @ StoreError::Unavailable(_)) => {
            let text = e.to_string();
            assert!(e.is_retryable());
            assert!(
                text.contains("4 attempts") && text.contains("general_server_error"),
                "{text}"
            );
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert_eq!(app.fake.requests()["GET row"], 4);
}

#[test]
fn a_refused_key_is_not_retried_and_its_type_is_reported() {
    let app = spawn_app_with(&[("APPWRITE_API_KEY", "wrong")]);
    match app.store.get("j1") {
        // Denied: the operator must fix the key, which the hooks answer as `appwrite_forbidden`.
        Err(StoreError::Denied(text)) => {
            assert!(
                text.contains("401") && text.contains("general_unauthorized_scope"),
                "{text}"
            );
            assert!(!text.contains("wrong"), "the key never shows: {text}");
        }
        other => panic!("expected Denied, got {other:?}"),
    }
    assert_eq!(app.fake.total_requests(), 1);
    assert!(app.sleeps().is_empty());
}

#[test]
fn malformed_json_is_an_error_not_a_panic_and_not_retried() {
    let app = spawn_app();
    app.fake.inject("GET row", Fault::InvalidJson, 1);
    match app.store.get("j1") {
        Err(StoreError::Backend(text)) => assert!(text.contains("malformed"), "{text}"),
        other => panic!("expected Backend, got {other:?}"),
    }
    assert_eq!(app.fake.requests()["GET row"], 1);
}

#[test]
fn a_write_is_not_sent_when_the_row_moved_and_progress_is_refused_on_a_final_job() {
    let app = spawn_app();
    let job = start(&app.store, "run-1").job;
    let act = Act::new(&app.store, "user:u1", t(5));
    usecase::control(&act, &job.id, Event::Cancel, None).unwrap();
    app.fake.reset_requests();
    let act = Act::new(&app.store, "function:hook-bulk-verify", t(6));
    let outcome = usecase::progress(&act, &job.id, usecase::Progress::default());
    assert!(matches!(outcome, Err(usecase::Error::Illegal { .. })));
    assert_eq!(app.fake.requests().get("PATCH row"), None, "no write");
}

#[test]
fn json_columns_shaped_like_operators_are_stored_verbatim() {
    let app = spawn_app();
    let mut metadata = Map::new();
    metadata.insert("method".into(), json!("increment"));
    metadata.insert("values".into(), json!([5]));
    let act = Act::new(&app.store, "function:hook-bulk-verify", t(0));
    let started = usecase::start(
        &act,
        JobType::BulkVerify,
        Start {
            reference_id: "list-1".into(),
            metadata: metadata.clone(),
            ..Start::default()
        },
    )
    .unwrap();
    assert_eq!(app.store.get(&started.job.id).unwrap().metadata, metadata);
}

/// Pause and resume in turn: each call is one write with one log entry.
fn toggle(store: &dyn JobStore, id: &str, n: i64) -> Result<shared::job::Job, usecase::Error> {
    let event = if n % 2 == 0 {
        Event::Pause
    } else {
        Event::Resume
    };
    usecase::control(&Act::new(store, "user:u1", t(n + 1)), id, event, None)
}

#[test]
fn log_entries_stay_in_the_job_row_until_its_outbox_is_cut_and_none_is_lost() {
    let app = spawn_app();
    let job = start(&app.store, "run-1").job;
    // The first cut's inserts are answered with garbage once: that write is refused, nothing
    // written, and the same call then goes through.
    let mut refused = 0;
    for n in 0..30 {
        if n == 19 {
            app.fake.inject("PUT rows", Fault::InvalidJson, 1);
        }
        if toggle(&app.store, &job.id, n).is_err() {
            refused += 1;
            toggle(&app.store, &job.id, n).expect("write");
        }
    }
    assert_eq!(refused, 1, "the write that had to cut the outbox");
    let log = app.another_store().events(&job.id, 100).unwrap();
    assert_eq!(log.len(), 31, "created + 30 entries, none lost");
    let mut status = log[0].to_status.unwrap();
    for e in &log[1..] {
        assert_eq!(e.from_status, Some(status), "{log:#?}");
        status = e.to_status.unwrap();
    }
    assert_eq!(status, app.store.get(&job.id).unwrap().status);
    // The 21st entry cut the outbox back to 10: the 11 oldest moved to `job_events` first, the
    // 20 newest are still only in the row.
    let stored = app.fake.rows("jobmanager", "job_events");
    assert_eq!(stored.len(), 11, "{:?}", stored.keys());
}

#[test]
fn a_write_that_must_empty_the_outbox_and_cannot_is_refused_with_nothing_written() {
    let app = spawn_app();
    let job = start(&app.store, "run-1").job;
    // Created + 19 entries fill the outbox to its bound; the 20th write must cut it.
    for n in 0..19 {
        toggle(&app.store, &job.id, n).expect("write");
    }
    let before = app.store.get(&job.id).unwrap();
    app.fake.inject("PUT rows", Fault::ServerError(503), 4);
    match toggle(&app.store, &job.id, 19) {
        Err(usecase::Error::Store(e @ StoreError::Unavailable(_))) => {
            assert!(e.is_retryable());
            assert!(e.to_string().contains("not written"), "{e}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert_eq!(app.another_store().get(&job.id).unwrap(), before);
    // Once Appwrite answers again, the same call goes through.
    toggle(&app.store, &job.id, 19).expect("write");
    assert_eq!(app.store.events(&job.id, 100).unwrap().len(), 21);
}
