//! The in-memory store: the whole conformance suite, one `#[test]` per suite function, plus
//! what the suite leaves open and `MemoryStore` answers as the SQLite store does, and its own
//! seeding helpers.

use chrono::Duration;
use shared::job::{JobError, JobEvent, JobStatus, JobType};
use shared::store::conformance::{created_event, job, put, t0};
use shared::store::memory::MemoryStore;
use shared::store::{JobQuery, JobStore, Order, Scope, StoreError, Write};

shared::job_store_conformance!(Box::new(MemoryStore::new()));

fn ids(store: &MemoryStore, query: &JobQuery) -> Vec<String> {
    let page = store.list(query).expect("list");
    page.jobs.into_iter().map(|j| j.id).collect()
}

#[test]
fn a_clone_is_a_copy_that_changes_independently_of_its_original() {
    let template = MemoryStore::new();
    let original = job("j-1", JobType::SqsPoll, JobStatus::Running, t0());
    put(&template, &original);

    let copy = template.clone();
    let mut moved = original.clone();
    moved.progress = 50;
    moved.rev = 2;
    copy.write(&Write {
        job: moved.clone(),
        expected_rev: 1,
        events: Vec::new(),
    })
    .expect("write");
    put(
        &copy,
        &job("j-2", JobType::SqsPoll, JobStatus::Queued, t0()),
    );

    assert_eq!(template.jobs(), vec![original]);
    assert_eq!(copy.get("j-1").expect("get"), moved);
    assert_eq!(copy.jobs().len(), 2);
}

#[test]
fn bulk_load_inserts_jobs_with_their_logs_and_leaves_existing_ids_untouched() {
    let store = MemoryStore::new();
    let existing = job("j-1", JobType::CampaignRun, JobStatus::Running, t0());
    put(&store, &existing);

    let mut other = existing.clone();
    other.reference_id = "replaced".into();
    let fresh = job("j-2", JobType::BulkVerify, JobStatus::Completed, t0());
    let mut second: JobEvent = created_event(&fresh);
    second.id = "e-j-2-second".into();
    let inserted = store
        .bulk_load(vec![
            (other.clone(), vec![created_event(&other)]),
            (fresh.clone(), vec![created_event(&fresh), second.clone()]),
        ])
        .expect("bulk load");

    assert_eq!(inserted, 1);
    assert_eq!(store.get("j-1").expect("get"), existing);
    assert_eq!(store.events("j-1", 10).expect("events").len(), 1);
    assert_eq!(store.get("j-2").expect("get"), fresh);
    assert_eq!(
        store.events("j-2", 10).expect("events"),
        vec![created_event(&fresh), second],
        "the log as given, in order, with no entry added"
    );
}

#[test]
fn jobs_returns_every_job_in_id_order() {
    let store = MemoryStore::new();
    for id in ["j-b", "j-c", "j-a"] {
        put(&store, &job(id, JobType::SqsPoll, JobStatus::Queued, t0()));
    }
    let listed: Vec<String> = store.jobs().into_iter().map(|j| j.id).collect();
    assert_eq!(listed, ["j-a", "j-b", "j-c"]);
}

#[test]
fn timestamps_are_kept_and_compared_to_the_millisecond_as_the_real_stores_keep_them() {
    let store = MemoryStore::new();
    let sub_ms = Duration::microseconds(700);
    let fine = job("j-1", JobType::SqsPoll, JobStatus::Completed, t0() + sub_ms);
    put(&store, &fine);

    let stored = store.get("j-1").expect("get");
    assert_eq!(stored.created_at, t0());
    assert_eq!(stored.updated_at, fine.updated_at - sub_ms);
    // SQLite compares epoch milliseconds: bounds later within the job's own millisecond
    // compare as equal to its instants.
    let later_within = Duration::microseconds(200);
    let since = JobQuery {
        updated_since: Some(fine.updated_at + later_within),
        ..JobQuery::default()
    };
    assert_eq!(ids(&store, &since), ["j-1"]);
    let stale = store
        .stale(
            JobType::SqsPoll,
            JobStatus::Completed,
            fine.heartbeat_at + later_within,
            10,
        )
        .expect("stale");
    assert!(
        stale.is_empty(),
        "a heartbeat in the cutoff's millisecond is not before it"
    );
}

#[test]
fn a_cursor_outside_the_filters_still_pages_after_its_own_key() {
    let store = MemoryStore::new();
    for (id, status, seconds) in [
        ("j-1", JobStatus::Running, 10),
        ("j-2", JobStatus::Completed, 20),
        ("j-3", JobStatus::Running, 30),
    ] {
        put(
            &store,
            &job(
                id,
                JobType::SqsPoll,
                status,
                t0() + Duration::seconds(seconds),
            ),
        );
    }
    let query = JobQuery {
        scope: Scope::Active,
        cursor: Some("j-2".into()),
        ..JobQuery::default()
    };
    assert_eq!(ids(&store, &query), ["j-1"]);
}

#[test]
fn a_cursor_without_a_completion_is_invalid_in_history_order() {
    let store = MemoryStore::new();
    put(
        &store,
        &job("j-1", JobType::SqsPoll, JobStatus::Running, t0()),
    );
    let query = JobQuery {
        order: Order::Completed,
        cursor: Some("j-1".into()),
        ..JobQuery::default()
    };
    match store.list(&query) {
        Err(StoreError::Job(JobError::Invalid { field, .. })) => assert_eq!(field, "cursor"),
        other => panic!("expected an invalid cursor, got {other:?}"),
    }
}

#[test]
fn a_query_no_status_can_match_is_empty_whatever_its_cursor() {
    let store = MemoryStore::new();
    let query = JobQuery {
        scope: Scope::Finished,
        statuses: vec![JobStatus::Queued],
        cursor: Some("j-nope".into()),
        ..JobQuery::default()
    };
    let page = store.list(&query).expect("list");
    assert!(page.jobs.is_empty() && page.next_cursor.is_none());
}
