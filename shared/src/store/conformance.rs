//! The store conformance suite: plain test functions over `&dyn JobStore`, one definition of
//! what every adapter must do (object_store's `integration` module is the model). Each adapter
//! runs it with [`job_store_conformance!`](crate::job_store_conformance), which generates one
//! `#[test]` per function, or with [`run_all`]. It assumes nothing beyond the [`JobStore`] trait
//! and uses fixed instants, so it runs the same against SQLite and an Appwrite fake.
//!
//! Every function expects an empty store. The filter semantics it checks against are those of
//! [`JobQuery::matches`]; orderings are newest first with the id as tie-breaker.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Barrier, Mutex};

use chrono::{DateTime, Duration};
use serde_json::{json, Map, Value};

use crate::job::{
    transition, Event, EventKind, Job, JobError, JobEvent, JobStatus, JobType, Timestamp,
};
use crate::store::{
    Count, Created, DateField, DateRange, JobQuery, JobStore, Keep, Order, Retention, Scope,
    StoreError, Write, MAX_PAGE,
};
use crate::usecase::{self, Act};

/// Generates one `#[test]` per conformance function for an adapter. The argument is an
/// expression evaluated afresh for every test, giving a `Box<dyn JobStore>` over an empty store:
///
/// ```ignore
/// shared::job_store_conformance!(Box::new(SqliteStore::in_memory().unwrap()));
/// ```
#[macro_export]
macro_rules! job_store_conformance {
    ($make:expr) => {
        $crate::job_store_conformance!(@tests $make;
            create_then_get_round_trips_every_field,
            create_with_an_existing_id_returns_the_existing_job_and_adds_nothing,
            create_appends_the_created_event,
            get_of_an_unknown_id_is_not_found,
            get_many_answers_the_jobs_that_exist_and_skips_the_others,
            events_of_an_unknown_job_is_not_found,
            write_of_an_unknown_job_is_not_found,
            write_with_the_current_rev_stores_the_job_and_appends_events_in_order,
            write_with_a_stale_rev_is_a_conflict_and_changes_nothing,
            events_are_limited_to_the_oldest_first,
            list_filters_alone_and_combined_match_the_query_definition,
            list_pages_with_a_cursor_without_duplicates_or_gaps,
            list_caps_the_page_size,
            list_with_an_unknown_cursor_is_invalid_naming_cursor,
            list_with_no_possible_status_is_empty,
            list_search_finds_reference_substrings_and_exact_ids_ignoring_case,
            prune_keeps_exactly_the_newest_finished_jobs_and_no_active_one_is_touched,
            prune_works_in_batches_and_reports_what_remains,
            prune_deletes_jobs_completed_before_the_cutoff_even_within_keep,
            prune_deletes_the_events_of_pruned_jobs,
            prune_keeps_the_newest_of_each_type_apart,
            prune_never_deletes_a_job_younger_than_its_types_minimum_age,
            sweep_keeps_every_campaign_and_verification_behind_a_flood_of_routine_jobs,
            stale_finds_old_heartbeats_of_one_type_and_status_oldest_first,
            counts_are_per_type_and_status,
            racing_use_cases_leave_every_job_on_a_legal_path_with_nothing_lost,
            notes_join_the_log_once_without_changing_the_job,
        );
    };
    (@tests $make:expr; $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                let store: ::std::boxed::Box<dyn $crate::store::JobStore> = $make;
                $crate::store::conformance::$name(&*store);
            }
        )*

        #[test]
        fn conformance_macro_runs_every_suite_function() {
            let generated: &[&str] = &[$(stringify!($name)),*];
            let suite: ::std::vec::Vec<&str> =
                $crate::store::conformance::SUITE.iter().map(|(name, _)| *name).collect();
            assert_eq!(generated, suite.as_slice());
        }
    };
}

/// A conformance test: takes an empty store, panics on a violation.
pub type Check = fn(&dyn JobStore);

/// Every conformance test, by name, in the order the macro generates them.
pub const SUITE: &[(&str, Check)] = &[
    (
        "create_then_get_round_trips_every_field",
        create_then_get_round_trips_every_field,
    ),
    (
        "create_with_an_existing_id_returns_the_existing_job_and_adds_nothing",
        create_with_an_existing_id_returns_the_existing_job_and_adds_nothing,
    ),
    (
        "create_appends_the_created_event",
        create_appends_the_created_event,
    ),
    (
        "get_of_an_unknown_id_is_not_found",
        get_of_an_unknown_id_is_not_found,
    ),
    (
        "get_many_answers_the_jobs_that_exist_and_skips_the_others",
        get_many_answers_the_jobs_that_exist_and_skips_the_others,
    ),
    (
        "events_of_an_unknown_job_is_not_found",
        events_of_an_unknown_job_is_not_found,
    ),
    (
        "write_of_an_unknown_job_is_not_found",
        write_of_an_unknown_job_is_not_found,
    ),
    (
        "write_with_the_current_rev_stores_the_job_and_appends_events_in_order",
        write_with_the_current_rev_stores_the_job_and_appends_events_in_order,
    ),
    (
        "write_with_a_stale_rev_is_a_conflict_and_changes_nothing",
        write_with_a_stale_rev_is_a_conflict_and_changes_nothing,
    ),
    (
        "events_are_limited_to_the_oldest_first",
        events_are_limited_to_the_oldest_first,
    ),
    (
        "list_filters_alone_and_combined_match_the_query_definition",
        list_filters_alone_and_combined_match_the_query_definition,
    ),
    (
        "list_pages_with_a_cursor_without_duplicates_or_gaps",
        list_pages_with_a_cursor_without_duplicates_or_gaps,
    ),
    ("list_caps_the_page_size", list_caps_the_page_size),
    (
        "list_with_an_unknown_cursor_is_invalid_naming_cursor",
        list_with_an_unknown_cursor_is_invalid_naming_cursor,
    ),
    (
        "list_with_no_possible_status_is_empty",
        list_with_no_possible_status_is_empty,
    ),
    (
        "list_search_finds_reference_substrings_and_exact_ids_ignoring_case",
        list_search_finds_reference_substrings_and_exact_ids_ignoring_case,
    ),
    (
        "prune_keeps_exactly_the_newest_finished_jobs_and_no_active_one_is_touched",
        prune_keeps_exactly_the_newest_finished_jobs_and_no_active_one_is_touched,
    ),
    (
        "prune_works_in_batches_and_reports_what_remains",
        prune_works_in_batches_and_reports_what_remains,
    ),
    (
        "prune_deletes_jobs_completed_before_the_cutoff_even_within_keep",
        prune_deletes_jobs_completed_before_the_cutoff_even_within_keep,
    ),
    (
        "prune_deletes_the_events_of_pruned_jobs",
        prune_deletes_the_events_of_pruned_jobs,
    ),
    (
        "prune_keeps_the_newest_of_each_type_apart",
        prune_keeps_the_newest_of_each_type_apart,
    ),
    (
        "prune_never_deletes_a_job_younger_than_its_types_minimum_age",
        prune_never_deletes_a_job_younger_than_its_types_minimum_age,
    ),
    (
        "sweep_keeps_every_campaign_and_verification_behind_a_flood_of_routine_jobs",
        sweep_keeps_every_campaign_and_verification_behind_a_flood_of_routine_jobs,
    ),
    (
        "stale_finds_old_heartbeats_of_one_type_and_status_oldest_first",
        stale_finds_old_heartbeats_of_one_type_and_status_oldest_first,
    ),
    (
        "counts_are_per_type_and_status",
        counts_are_per_type_and_status,
    ),
    (
        "racing_use_cases_leave_every_job_on_a_legal_path_with_nothing_lost",
        racing_use_cases_leave_every_job_on_a_legal_path_with_nothing_lost,
    ),
    (
        "notes_join_the_log_once_without_changing_the_job",
        notes_join_the_log_once_without_changing_the_job,
    ),
];

/// Runs the whole suite, each test on a fresh store from `make`, and panics naming the first
/// test that fails. For adapters that prefer one `#[test]` to the macro's many.
pub fn run_all(make: &dyn Fn() -> Box<dyn JobStore>) {
    for (name, check) in SUITE {
        let store = make();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(&*store)));
        if let Err(panic) = outcome {
            let why = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            panic!("conformance test `{name}` failed: {why}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Fixtures. Fixed instants with millisecond parts, so precision loss would show.

/// 2026-01-01T00:00:00.123Z: the suite's epoch.
pub fn t0() -> Timestamp {
    DateTime::from_timestamp_millis(1_767_225_600_123).expect("a valid instant")
}

fn at(seconds: i64) -> Timestamp {
    t0() + Duration::seconds(seconds)
}

/// A consistent job: `startedAt` when it ever ran, `completedAt` exactly when final.
pub fn job(id: &str, job_type: JobType, status: JobStatus, created: Timestamp) -> Job {
    let ran = !matches!(status, JobStatus::Queued);
    let started_at = ran.then(|| created + Duration::milliseconds(1_500));
    let completed_at = status
        .is_final()
        .then(|| created + Duration::milliseconds(60_250));
    let updated_at = completed_at.or(started_at).unwrap_or(created);
    let mut job = Job::queued(id.into(), job_type, format!("ref-{id}"), created);
    job.status = status;
    job.progress = if status == JobStatus::Completed {
        100
    } else {
        0
    };
    job.started_at = started_at;
    job.updated_at = updated_at;
    job.completed_at = completed_at;
    job.heartbeat_at = updated_at;
    job.run = 1;
    job
}

/// The `created` event that goes with a job.
pub fn created_event(job: &Job) -> JobEvent {
    JobEvent {
        id: format!("e-{}-created", job.id),
        job_id: job.id.clone(),
        at: job.created_at,
        kind: EventKind::Created,
        actor: "system".into(),
        message: None,
        from_status: None,
        to_status: Some(job.status),
        details: Map::new(),
    }
}

/// Creates `job` and asserts it is new.
pub fn put(store: &dyn JobStore, job: &Job) {
    match store.create(job, &created_event(job)) {
        Ok(Created::New(stored)) => assert_eq!(&stored, job, "create returns the job it stored"),
        other => panic!("creating `{}` gave {other:?}", job.id),
    }
}

fn obj(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// Every job the query returns, following cursors page by page.
fn list_all(store: &dyn JobStore, query: &JobQuery) -> Vec<Job> {
    let mut all = Vec::new();
    let mut query = query.clone();
    for _ in 0..10_000 {
        let page = store.list(&query).expect("list");
        assert!(
            page.jobs.len() <= query.effective_limit(),
            "a page never exceeds its limit"
        );
        all.extend(page.jobs);
        match page.next_cursor {
            Some(cursor) => query.cursor = Some(cursor),
            None => return all,
        }
    }
    panic!("pagination did not end");
}

fn ids(jobs: &[Job]) -> Vec<String> {
    jobs.iter().map(|j| j.id.clone()).collect()
}

/// What a list must return: the matching jobs in the query's order.
fn expected(all: &[Job], query: &JobQuery) -> Vec<String> {
    let mut hits: Vec<&Job> = all.iter().filter(|j| query.matches(j)).collect();
    hits.sort_by(|a, b| {
        let key = |j: &Job| match query.order {
            Order::Created => Some(j.created_at),
            Order::Completed => j.completed_at,
        };
        (key(b), &b.id).cmp(&(key(a), &a.id))
    });
    hits.into_iter().map(|j| j.id.clone()).collect()
}

// ---------------------------------------------------------------------------------------------
// Create, get, write, events.

pub fn create_then_get_round_trips_every_field(store: &dyn JobStore) {
    let mut full = job("j-full", JobType::BulkVerify, JobStatus::Failed, at(10));
    full.reference_id = "list-42 é/ü".into();
    full.progress = 37;
    full.progress_message = Some("verified 370 of 1000".into());
    full.error_message = Some("SES throttled: Rate exceeded".into());
    full.metadata = obj(json!({"listId": "l-1", "n": 3, "nested": {"a": [1, 2.5, null, true]}}));
    full.heartbeat_at = at(30) + Duration::milliseconds(7);
    full.done = Some(370);
    full.total = Some(1_000);
    full.checkpoint = Some(json!({"offset": 370, "page": "abc"}));
    full.result = Some(obj(json!({"valid": 300, "invalid": 70})));
    full.idempotency_key = Some("verify:l-1:1".into());
    full.last_actor = Some("user:u1".into());
    full.last_reason = Some("wrong list".into());
    full.retry_of = Some("j-old".into());
    full.rev = 7;
    put(store, &full);
    assert_eq!(store.get("j-full").expect("get"), full);

    let bare = job("j-bare", JobType::SqsPoll, JobStatus::Queued, at(11));
    put(store, &bare);
    assert_eq!(store.get("j-bare").expect("get"), bare);
}

pub fn create_with_an_existing_id_returns_the_existing_job_and_adds_nothing(store: &dyn JobStore) {
    let first = job("k-same", JobType::CampaignRun, JobStatus::Running, at(0));
    put(store, &first);
    let mut second = job("k-same", JobType::CampaignRun, JobStatus::Queued, at(5));
    second.reference_id = "other".into();
    let mut event = created_event(&second);
    event.id = "e-second".into();
    match store.create(&second, &event).expect("create") {
        Created::Existing(existing) => assert_eq!(existing, first),
        Created::New(_) => panic!("a second job was created under an existing id"),
    }
    assert_eq!(store.get("k-same").expect("get"), first);
    let all = list_all(store, &JobQuery::default());
    assert_eq!(ids(&all), vec!["k-same"]);
    let events = store.events("k-same", 100).expect("events");
    assert_eq!(
        events,
        vec![created_event(&first)],
        "no second created event"
    );
}

pub fn create_appends_the_created_event(store: &dyn JobStore) {
    let j = job("j-1", JobType::MetricsFetch, JobStatus::Running, at(0));
    put(store, &j);
    assert_eq!(
        store.events("j-1", 10).expect("events"),
        vec![created_event(&j)]
    );
}

pub fn get_of_an_unknown_id_is_not_found(store: &dyn JobStore) {
    put(
        store,
        &job("j-1", JobType::SqsPoll, JobStatus::Running, at(0)),
    );
    match store.get("j-missing") {
        Err(StoreError::NotFound(id)) => assert_eq!(id, "j-missing"),
        other => panic!("expected NotFound, got {other:?}"),
    }
}

pub fn get_many_answers_the_jobs_that_exist_and_skips_the_others(store: &dyn JobStore) {
    let a = job("j-a", JobType::CampaignRun, JobStatus::Running, at(0));
    let b = job("j-b", JobType::BulkVerify, JobStatus::Failed, at(1));
    put(store, &a);
    put(store, &b);
    let mut found = store
        .get_many(&["j-b", "j-missing", "j-a"])
        .expect("get_many");
    found.sort_by(|x, y| x.id.cmp(&y.id));
    assert_eq!(
        found,
        vec![store.get("j-a").unwrap(), store.get("j-b").unwrap()]
    );
    assert!(store.get_many(&[]).expect("no ids").is_empty());
    assert!(store.get_many(&["j-missing"]).expect("none").is_empty());
}

pub fn events_of_an_unknown_job_is_not_found(store: &dyn JobStore) {
    assert!(
        matches!(store.events("j-missing", 10), Err(StoreError::NotFound(_))),
        "events of an unknown job"
    );
}

pub fn write_of_an_unknown_job_is_not_found(store: &dyn JobStore) {
    let mut ghost = job("j-ghost", JobType::SqsPoll, JobStatus::Running, at(0));
    ghost.rev = 2;
    let write = Write {
        job: ghost,
        expected_rev: 1,
        events: Vec::new(),
    };
    assert!(
        matches!(store.write(&write), Err(StoreError::NotFound(_))),
        "write of an unknown job"
    );
    assert!(matches!(store.get("j-ghost"), Err(StoreError::NotFound(_))));
}

fn status_event(job: &Job, n: usize, kind: EventKind, from: JobStatus) -> JobEvent {
    JobEvent {
        id: format!("e-{}-{n}", job.id),
        job_id: job.id.clone(),
        at: job.updated_at,
        kind,
        actor: "user:u1".into(),
        message: Some(format!("event {n}")),
        from_status: Some(from),
        to_status: Some(job.status),
        details: obj(json!({"n": n})),
    }
}

pub fn write_with_the_current_rev_stores_the_job_and_appends_events_in_order(store: &dyn JobStore) {
    let original = job("j-1", JobType::CampaignRun, JobStatus::Running, at(0));
    put(store, &original);

    let mut paused = original.clone();
    paused.status = JobStatus::Paused;
    paused.updated_at = at(20);
    paused.progress = 40;
    paused.checkpoint = Some(json!({"sent": 80}));
    paused.last_actor = Some("user:u1".into());
    paused.rev = 2;
    let first = status_event(&paused, 1, EventKind::PauseRequested, JobStatus::Running);
    let second = status_event(&paused, 2, EventKind::Paused, JobStatus::Paused);
    let stored = store
        .write(&Write {
            job: paused.clone(),
            expected_rev: 1,
            events: vec![first.clone(), second.clone()],
        })
        .expect("write");
    assert_eq!(stored, paused);
    assert_eq!(store.get("j-1").expect("get"), paused);

    let mut resumed = paused.clone();
    resumed.status = JobStatus::Queued;
    resumed.updated_at = at(30);
    resumed.rev = 3;
    let third = status_event(&resumed, 3, EventKind::Resumed, JobStatus::Paused);
    store
        .write(&Write {
            job: resumed.clone(),
            expected_rev: 2,
            events: vec![third.clone()],
        })
        .expect("write");
    let events = store.events("j-1", 100).expect("events");
    assert_eq!(events, vec![created_event(&original), first, second, third]);
}

pub fn write_with_a_stale_rev_is_a_conflict_and_changes_nothing(store: &dyn JobStore) {
    let original = job("j-1", JobType::CampaignRun, JobStatus::Running, at(0));
    put(store, &original);
    let mut moved = original.clone();
    moved.progress = 10;
    moved.rev = 2;
    store
        .write(&Write {
            job: moved.clone(),
            expected_rev: 1,
            events: Vec::new(),
        })
        .expect("first write");

    // A second writer that read revision 1 loses.
    let mut stale = original.clone();
    stale.status = JobStatus::Cancelled;
    stale.completed_at = Some(at(9));
    stale.rev = 2;
    let event = status_event(&stale, 1, EventKind::Cancelled, JobStatus::Running);
    match store.write(&Write {
        job: stale,
        expected_rev: 1,
        events: vec![event],
    }) {
        Err(StoreError::Conflict { id }) => assert_eq!(id, "j-1"),
        other => panic!("expected Conflict, got {other:?}"),
    }
    assert_eq!(store.get("j-1").expect("get"), moved);
    assert_eq!(
        store.events("j-1", 100).expect("events"),
        vec![created_event(&original)],
        "a refused write appends no event"
    );
}

pub fn events_are_limited_to_the_oldest_first(store: &dyn JobStore) {
    let mut j = job("j-1", JobType::SqsPoll, JobStatus::Running, at(0));
    put(store, &j);
    let mut appended = vec![created_event(&j)];
    for n in 1..=5usize {
        let before = j.clone();
        j.updated_at = at(n as i64);
        j.rev += 1;
        let event = status_event(&j, n, EventKind::Heartbeat, JobStatus::Running);
        appended.push(event.clone());
        store
            .write(&Write {
                job: j.clone(),
                expected_rev: before.rev,
                events: vec![event],
            })
            .expect("write");
    }
    assert_eq!(store.events("j-1", 100).expect("events"), appended);
    assert_eq!(
        store.events("j-1", 3).expect("events"),
        appended[..3].to_vec()
    );
}

// ---------------------------------------------------------------------------------------------
// Lists.

/// 60 varied jobs: every type and status, ties on creation time (so the id tie-break matters),
/// references with shared prefixes, timestamps spread over about an hour.
fn dataset() -> Vec<Job> {
    (0..60)
        .map(|i: i64| {
            let job_type = JobType::ALL[(i % 4) as usize];
            let status = JobStatus::ALL[((i * 7 + i / 4) % 6) as usize];
            // Pairs share a creation instant.
            let mut j = job(&format!("j-{i:02}"), job_type, status, at((i / 2) * 60));
            j.reference_id = match i % 3 {
                0 => format!("campaign-{}", i % 7),
                1 => format!("camp-{i}"),
                _ => format!("list-{i}"),
            };
            // Updates spread independently of creation, some far later.
            j.updated_at += Duration::seconds((i * 37) % 900);
            j.heartbeat_at = j.updated_at;
            j
        })
        .collect()
}

pub fn list_filters_alone_and_combined_match_the_query_definition(store: &dyn JobStore) {
    let all = dataset();
    for j in &all {
        put(store, j);
    }
    let range = |field, from: Option<i64>, to: Option<i64>| {
        Some(DateRange {
            field,
            from: from.map(at),
            to: to.map(at),
        })
    };
    let q = JobQuery::default;
    let queries: Vec<(&str, JobQuery)> = vec![
        ("everything", q()),
        (
            "one type",
            JobQuery {
                types: vec![JobType::BulkVerify],
                ..q()
            },
        ),
        (
            "two types",
            JobQuery {
                types: vec![JobType::CampaignRun, JobType::SqsPoll],
                ..q()
            },
        ),
        (
            "one status",
            JobQuery {
                statuses: vec![JobStatus::Running],
                ..q()
            },
        ),
        (
            "two statuses",
            JobQuery {
                statuses: vec![JobStatus::Paused, JobStatus::Failed],
                ..q()
            },
        ),
        (
            "active",
            JobQuery {
                scope: Scope::Active,
                ..q()
            },
        ),
        (
            "finished",
            JobQuery {
                scope: Scope::Finished,
                ..q()
            },
        ),
        (
            "finished narrowed by statuses",
            JobQuery {
                scope: Scope::Finished,
                statuses: vec![JobStatus::Running, JobStatus::Cancelled],
                ..q()
            },
        ),
        (
            "started range",
            JobQuery {
                range: range(DateField::StartedAt, Some(600), Some(1200)),
                ..q()
            },
        ),
        (
            "completed range",
            JobQuery {
                range: range(DateField::CompletedAt, Some(300), Some(1500)),
                ..q()
            },
        ),
        (
            "updated range",
            JobQuery {
                range: range(DateField::UpdatedAt, Some(900), Some(1000)),
                ..q()
            },
        ),
        (
            "range open at the end",
            JobQuery {
                range: range(DateField::StartedAt, Some(1200), None),
                ..q()
            },
        ),
        (
            "range open at the start",
            JobQuery {
                range: range(DateField::CompletedAt, None, Some(700)),
                ..q()
            },
        ),
        // A range bound equal to a job's instant: `from` includes it, `to` excludes it.
        (
            "range bounds on exact instants",
            JobQuery {
                range: Some(DateRange {
                    field: DateField::StartedAt,
                    from: Some(at(120) + Duration::milliseconds(1_500)),
                    to: Some(at(240) + Duration::milliseconds(1_500)),
                }),
                ..q()
            },
        ),
        (
            "updated since",
            JobQuery {
                updated_since: Some(at(1200)),
                ..q()
            },
        ),
        (
            "reference substring",
            JobQuery {
                search: Some("amp".into()),
                ..q()
            },
        ),
        (
            "search by id",
            JobQuery {
                search: Some("j-07".into()),
                ..q()
            },
        ),
        (
            "search matching nothing",
            JobQuery {
                search: Some("zzz".into()),
                ..q()
            },
        ),
        (
            "history order",
            JobQuery {
                order: Order::Completed,
                ..q()
            },
        ),
        (
            "type, status and date range",
            JobQuery {
                types: vec![JobType::CampaignRun],
                statuses: vec![
                    JobStatus::Completed,
                    JobStatus::Failed,
                    JobStatus::Cancelled,
                ],
                range: range(DateField::CompletedAt, Some(0), Some(1800)),
                ..q()
            },
        ),
        (
            "everything combined",
            JobQuery {
                types: vec![
                    JobType::CampaignRun,
                    JobType::BulkVerify,
                    JobType::MetricsFetch,
                ],
                scope: Scope::Finished,
                range: range(DateField::StartedAt, Some(60), Some(1700)),
                updated_since: Some(at(200)),
                search: Some("C".into()),
                order: Order::Completed,
                ..q()
            },
        ),
        (
            "active of a type by reference (the hooks' lookup)",
            JobQuery {
                types: vec![JobType::MetricsFetch],
                scope: Scope::Active,
                search: Some("list-".into()),
                ..q()
            },
        ),
    ];
    for (name, mut query) in queries {
        for limit in [4, MAX_PAGE] {
            query.limit = limit;
            let want = expected(&all, &query);
            let got = ids(&list_all(store, &query));
            assert_eq!(got, want, "query `{name}` with limit {limit}");
        }
    }
}

/// The search box (`q`): a reference containing the text or an id equal to it, both without
/// case (Appwrite's collation); LIKE's wildcards and escape in the text are literal; an id
/// is matched whole, never in part.
pub fn list_search_finds_reference_substrings_and_exact_ids_ignoring_case(store: &dyn JobStore) {
    let refs = [
        ("s-1", "Campaign-Spring-2026"),
        ("s-2", "newsletter-spring"),
        ("s-3", "list-42"),
        ("s-4", "50%_off\\sale"),
        ("spring", "other"),
    ];
    for (i, (id, reference)) in refs.iter().enumerate() {
        let mut j = job(id, JobType::CampaignRun, JobStatus::Running, at(i as i64));
        j.reference_id = (*reference).into();
        put(store, &j);
    }
    let search = |text: &str| {
        let mut found = ids(&list_all(
            store,
            &JobQuery {
                search: Some(text.into()),
                limit: 2,
                ..JobQuery::default()
            },
        ));
        found.sort();
        found
    };
    assert_eq!(
        search("spring"),
        ["s-1", "s-2", "spring"],
        "substring, any case, or the id"
    );
    assert_eq!(search("SPRING-2"), ["s-1"], "case is ignored");
    assert_eq!(search("LIST-4"), ["s-3"]);
    assert_eq!(search("S-3"), ["s-3"], "an id is looked up without case");
    assert_eq!(
        search("s-"),
        Vec::<String>::new(),
        "an id matches whole, never in part"
    );
    assert_eq!(search("%_"), ["s-4"], "wildcards are literal");
    assert_eq!(search("\\"), ["s-4"], "a backslash is literal");
    assert_eq!(search("0%_o"), ["s-4"]);
    assert_eq!(search("zzz"), Vec::<String>::new(), "nothing matches");
    assert_eq!(
        search("").len(),
        refs.len(),
        "an empty search matches every job"
    );
}

pub fn list_pages_with_a_cursor_without_duplicates_or_gaps(store: &dyn JobStore) {
    let all = dataset();
    for j in &all {
        put(store, j);
    }
    for order in [Order::Created, Order::Completed] {
        let query = JobQuery {
            order,
            limit: 7,
            ..JobQuery::default()
        };
        let mut seen = Vec::new();
        let mut pages = 0;
        let mut page = store.list(&query).expect("list");
        loop {
            pages += 1;
            assert!(page.jobs.len() <= 7);
            seen.extend(ids(&page.jobs));
            let Some(cursor) = page.next_cursor.clone() else {
                break;
            };
            assert_eq!(
                Some(&cursor),
                seen.last(),
                "the cursor is the last id of the page"
            );
            page = store
                .list(&JobQuery {
                    cursor: Some(cursor),
                    ..query.clone()
                })
                .expect("next page");
        }
        let want = expected(&all, &query);
        assert_eq!(seen, want, "{order:?}: every job once, in order");
        assert_eq!(
            pages,
            want.len().div_ceil(7),
            "{order:?}: no empty trailing page"
        );
    }
}

pub fn list_caps_the_page_size(store: &dyn JobStore) {
    for i in 0..MAX_PAGE + 3 {
        put(
            store,
            &job(
                &format!("j-{i:04}"),
                JobType::SqsPoll,
                JobStatus::Running,
                at(i as i64),
            ),
        );
    }
    let page = store
        .list(&JobQuery {
            limit: 100_000,
            ..JobQuery::default()
        })
        .expect("list");
    assert_eq!(page.jobs.len(), MAX_PAGE);
    assert_eq!(
        page.jobs[0].id,
        format!("j-{:04}", MAX_PAGE + 2),
        "newest first"
    );
    assert!(page.next_cursor.is_some());
    let page = store
        .list(&JobQuery {
            limit: 0,
            ..JobQuery::default()
        })
        .expect("list");
    assert_eq!(
        page.jobs.len(),
        1,
        "a zero limit means the smallest page, not none"
    );
}

pub fn list_with_an_unknown_cursor_is_invalid_naming_cursor(store: &dyn JobStore) {
    put(
        store,
        &job("j-1", JobType::SqsPoll, JobStatus::Running, at(0)),
    );
    let query = JobQuery {
        cursor: Some("j-nope".into()),
        ..JobQuery::default()
    };
    match store.list(&query) {
        Err(StoreError::Job(JobError::Invalid { field, .. })) => assert_eq!(field, "cursor"),
        other => panic!("expected an invalid cursor, got {other:?}"),
    }
}

pub fn list_with_no_possible_status_is_empty(store: &dyn JobStore) {
    put(
        store,
        &job("j-1", JobType::SqsPoll, JobStatus::Running, at(0)),
    );
    let query = JobQuery {
        scope: Scope::Finished,
        statuses: vec![JobStatus::Running],
        ..JobQuery::default()
    };
    let page = store.list(&query).expect("list");
    assert!(page.jobs.is_empty() && page.next_cursor.is_none());
}

// ---------------------------------------------------------------------------------------------
// Retention.

/// `n` finished jobs completed one minute apart (the first oldest), plus three active jobs.
fn retention_fixture(store: &dyn JobStore, n: usize) -> Vec<Job> {
    let statuses = JobStatus::FINAL;
    let mut finished = Vec::new();
    for i in 0..n {
        let mut j = job(
            &format!("f-{i:03}"),
            JobType::CampaignRun,
            statuses[i % 3],
            at(i as i64 * 60),
        );
        j.completed_at = Some(at(i as i64 * 60 + 30));
        j.updated_at = at(i as i64 * 60 + 30);
        put(store, &j);
        finished.push(j);
    }
    for (i, status) in JobStatus::ACTIVE.iter().enumerate() {
        // Created long ago: age alone must never make an active job a victim.
        put(
            store,
            &job(
                &format!("a-{i}"),
                JobType::BulkVerify,
                *status,
                at(-100_000),
            ),
        );
    }
    finished
}

fn remaining_ids(store: &dyn JobStore) -> Vec<String> {
    let mut left = ids(&list_all(
        store,
        &JobQuery {
            limit: MAX_PAGE,
            ..JobQuery::default()
        },
    ));
    left.sort();
    left
}

pub fn prune_keeps_exactly_the_newest_finished_jobs_and_no_active_one_is_touched(
    store: &dyn JobStore,
) {
    let finished = retention_fixture(store, 8);
    // A tie on completion time with `f-005` at the boundary: the greater id stays.
    let mut tie = job("f-005z", JobType::CampaignRun, JobStatus::Completed, at(0));
    tie.completed_at = finished[5].completed_at;
    put(store, &tie);

    let pruned = store
        .prune(&Retention::newest(3, None), 100)
        .expect("prune");
    assert_eq!((pruned.deleted, pruned.remaining), (6, 0));
    assert_eq!(
        remaining_ids(store),
        vec!["a-0", "a-1", "a-2", "f-005z", "f-006", "f-007"]
            .into_iter()
            .map(String::from)
            .collect::<Vec<_>>(),
        "newest three by (completedAt, id) and every active job remain"
    );
    let again = store
        .prune(&Retention::newest(3, None), 100)
        .expect("prune");
    assert_eq!(
        (again.deleted, again.remaining),
        (0, 0),
        "a second pass has nothing to do"
    );
    let none_kept = store
        .prune(&Retention::newest(0, None), 100)
        .expect("prune");
    assert_eq!(none_kept.deleted, 3);
    assert_eq!(remaining_ids(store), vec!["a-0", "a-1", "a-2"]);
}

pub fn prune_works_in_batches_and_reports_what_remains(store: &dyn JobStore) {
    retention_fixture(store, 10);
    let mut passes = Vec::new();
    loop {
        let pruned = store.prune(&Retention::newest(2, None), 3).expect("prune");
        passes.push((pruned.deleted, pruned.remaining));
        if pruned.remaining == 0 {
            break;
        }
        assert!(passes.len() < 10, "prune made no progress: {passes:?}");
    }
    assert_eq!(passes, vec![(3, 5), (3, 2), (2, 0)]);
    assert_eq!(
        remaining_ids(store),
        vec!["a-0", "a-1", "a-2", "f-008", "f-009"]
    );
}

pub fn prune_deletes_jobs_completed_before_the_cutoff_even_within_keep(store: &dyn JobStore) {
    retention_fixture(store, 5);
    // Completions at 30 s, 90 s, 150 s, 210 s, 270 s; the cutoff at 150 s keeps 150 s itself.
    let pruned = store
        .prune(&Retention::newest(100, Some(at(150))), 100)
        .expect("prune");
    assert_eq!((pruned.deleted, pruned.remaining), (2, 0));
    assert_eq!(
        remaining_ids(store),
        vec!["a-0", "a-1", "a-2", "f-002", "f-003", "f-004"]
    );
    // Both rules at once: the cutoff removes one more, keep removes another.
    let pruned = store
        .prune(&Retention::newest(1, Some(at(200))), 100)
        .expect("prune");
    assert_eq!((pruned.deleted, pruned.remaining), (2, 0));
    assert_eq!(remaining_ids(store), vec!["a-0", "a-1", "a-2", "f-004"]);
}

pub fn prune_deletes_the_events_of_pruned_jobs(store: &dyn JobStore) {
    retention_fixture(store, 2);
    store.prune(&Retention::newest(1, None), 10).expect("prune");
    assert!(matches!(store.get("f-000"), Err(StoreError::NotFound(_))));
    assert!(
        matches!(store.events("f-000", 10), Err(StoreError::NotFound(_))),
        "the pruned job's events went with it"
    );
    assert_eq!(store.events("f-001", 10).expect("events").len(), 1);
    assert_eq!(store.events("a-1", 10).expect("events").len(), 1);
}

/// Finished jobs of `job_type` completing every minute from `from` seconds, ids `prefix-NNN`.
fn finished_of(
    store: &dyn JobStore,
    prefix: &str,
    job_type: JobType,
    n: usize,
    from: i64,
) -> Vec<String> {
    (0..n)
        .map(|i| {
            let id = format!("{prefix}-{i:03}");
            let mut j = job(
                &id,
                job_type,
                JobStatus::FINAL[i % 3],
                at(from + i as i64 * 60),
            );
            j.completed_at = Some(at(from + i as i64 * 60 + 30));
            j.updated_at = at(from + i as i64 * 60 + 30);
            put(store, &j);
            id
        })
        .collect()
}

fn keep(job_type: JobType, newest: usize, since: Option<Timestamp>) -> Keep {
    Keep {
        job_type,
        newest,
        since,
    }
}

pub fn prune_keeps_the_newest_of_each_type_apart(store: &dyn JobStore) {
    let campaigns = finished_of(store, "c", JobType::CampaignRun, 5, 0);
    // Routine jobs, all newer than every campaign.
    let polls = finished_of(store, "p", JobType::SqsPoll, 6, 1_000);
    let metrics = finished_of(store, "m", JobType::MetricsFetch, 3, 2_000);
    let retention = Retention {
        keep: vec![
            keep(JobType::CampaignRun, 3, None),
            keep(JobType::SqsPoll, 2, None),
            keep(JobType::BulkVerify, 1, None),
        ],
        older_than: None,
    };
    // Oldest completion first across types: two campaigns, then the oldest poll.
    let first = store.prune(&retention, 3).expect("prune");
    assert_eq!((first.deleted, first.remaining), (3, 3));
    assert!(matches!(store.get(&polls[0]), Err(StoreError::NotFound(_))));
    assert!(
        store.get(&polls[1]).is_ok(),
        "not yet: the batch went oldest first"
    );
    let second = store.prune(&retention, 3).expect("prune");
    assert_eq!((second.deleted, second.remaining), (3, 0));
    let mut want: Vec<String> = campaigns[2..].to_vec();
    want.extend_from_slice(&polls[4..]);
    // A type without a rule is not pruned.
    want.extend_from_slice(&metrics);
    want.sort();
    assert_eq!(remaining_ids(store), want);
}

pub fn prune_never_deletes_a_job_younger_than_its_types_minimum_age(store: &dyn JobStore) {
    // Completions at 30 s, 90 s, ... 450 s.
    let polls = finished_of(store, "p", JobType::SqsPoll, 8, 0);
    let campaigns = finished_of(store, "c", JobType::CampaignRun, 2, 0);
    // Newest 2 only, but everything completed from 200 s on is young enough to stay, even
    // past the maximum age (the store lets the minimum age win; configuration forbids the
    // overlap anyway). Batches of 2 leave a backlog to count.
    let retention = Retention {
        keep: vec![
            keep(JobType::SqsPoll, 2, Some(at(200))),
            keep(JobType::CampaignRun, 100, None),
        ],
        older_than: Some(at(400)),
    };
    let first = store.prune(&retention, 2).expect("prune");
    assert_eq!((first.deleted, first.remaining), (2, 3));
    let second = store.prune(&retention, 2).expect("prune");
    assert_eq!((second.deleted, second.remaining), (2, 1));
    let third = store.prune(&retention, 2).expect("prune");
    assert_eq!((third.deleted, third.remaining), (1, 0));
    assert_eq!(
        remaining_ids(store),
        polls[3..].to_vec(),
        "the young polls stay; the campaigns, within their newest 100, go for their age"
    );
    assert!(campaigns.iter().all(|c| store.get(c).is_err()));
    // Without a maximum age, the minimum age alone keeps more than the newest 2.
    let young = store
        .prune(
            &Retention {
                keep: vec![keep(JobType::SqsPoll, 2, Some(at(300)))],
                older_than: None,
            },
            100,
        )
        .expect("prune");
    assert_eq!((young.deleted, young.remaining), (2, 0));
    assert_eq!(remaining_ids(store), polls[5..].to_vec());
}

/// Issue 28: a flood of routine jobs finishing after the campaigns must not flush them.
pub fn sweep_keeps_every_campaign_and_verification_behind_a_flood_of_routine_jobs(
    store: &dyn JobStore,
) {
    let campaigns = finished_of(store, "c", JobType::CampaignRun, 5, 0);
    let verifications = finished_of(store, "v", JobType::BulkVerify, 5, 10);
    finished_of(store, "p", JobType::SqsPoll, 120, 1_000);
    finished_of(store, "m", JobType::MetricsFetch, 30, 1_010);
    let config = crate::retention::RetentionConfig::from_lookup(|_| None).expect("defaults");
    let now = at(100_000);
    let report = crate::retention::sweep(store, &config, &|| now).expect("sweep");
    let report = serde_json::to_value(report).expect("report");
    assert_eq!(report["deleted"], 20, "{report}");
    assert_eq!(report["remainingBacklog"], 0, "{report}");
    for id in campaigns.iter().chain(&verifications) {
        assert!(store.get(id).is_ok(), "`{id}` survived the sweep");
    }
    let polls = list_all(
        store,
        &JobQuery {
            types: vec![JobType::SqsPoll],
            limit: MAX_PAGE,
            ..JobQuery::default()
        },
    );
    assert_eq!(polls.len(), 100, "the newest 100 polls stay");
}

// ---------------------------------------------------------------------------------------------
// Sweeper and dashboard header.

pub fn stale_finds_old_heartbeats_of_one_type_and_status_oldest_first(store: &dyn JobStore) {
    let beat = |id: &str, job_type, status, seconds: i64| {
        let mut j = job(id, job_type, status, at(0));
        j.heartbeat_at = at(seconds);
        put(store, &j);
    };
    beat("old-2", JobType::CampaignRun, JobStatus::Running, 20);
    beat("old-1", JobType::CampaignRun, JobStatus::Running, 10);
    beat("old-3", JobType::CampaignRun, JobStatus::Running, 30);
    beat("fresh", JobType::CampaignRun, JobStatus::Running, 100);
    beat("at-cutoff", JobType::CampaignRun, JobStatus::Running, 50);
    beat("other-type", JobType::BulkVerify, JobStatus::Running, 10);
    beat("other-status", JobType::CampaignRun, JobStatus::Paused, 10);

    let stale = store
        .stale(JobType::CampaignRun, JobStatus::Running, at(50), 10)
        .expect("stale");
    assert_eq!(ids(&stale), vec!["old-1", "old-2", "old-3"]);
    let limited = store
        .stale(JobType::CampaignRun, JobStatus::Running, at(50), 2)
        .expect("stale");
    assert_eq!(ids(&limited), vec!["old-1", "old-2"]);
    let none = store
        .stale(JobType::SqsPoll, JobStatus::Running, at(50), 10)
        .expect("stale");
    assert!(none.is_empty());
}

pub fn counts_are_per_type_and_status(store: &dyn JobStore) {
    assert!(
        store.counts().expect("counts").is_empty(),
        "an empty store counts nothing"
    );
    let all = dataset();
    for j in &all {
        put(store, j);
    }
    let mut want: BTreeMap<(JobType, JobStatus), u64> = BTreeMap::new();
    for j in &all {
        *want.entry((j.job_type, j.status)).or_default() += 1;
    }
    let mut got: Vec<Count> = store.counts().expect("counts");
    got.sort_by_key(|c| (c.job_type, c.status));
    let want: Vec<Count> = want
        .into_iter()
        .map(|((job_type, status), count)| Count {
            job_type,
            status,
            count,
        })
        .collect();
    assert_eq!(got, want);
}

// ---------------------------------------------------------------------------------------------
// Concurrency: the use cases racing on the same jobs.

/// The use cases the race draws from, with how often (out of 100) each is drawn.
const RACE_MIX: &[(RaceOp, u32)] = &[
    (RaceOp::Progress, 30),
    (RaceOp::Heartbeat, 14),
    (RaceOp::Pause, 25),
    (RaceOp::Resume, 25),
    (RaceOp::Cancel, 2),
    (RaceOp::Complete, 2),
    (RaceOp::Fail, 2),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum RaceOp {
    Progress,
    Heartbeat,
    Pause,
    Resume,
    Cancel,
    Complete,
    Fail,
}

impl RaceOp {
    /// The log entry a successful call of this use case always appends, if it always appends
    /// one (progress and heartbeat append only when they change the status).
    fn always_logs(self) -> Option<EventKind> {
        match self {
            RaceOp::Pause => Some(EventKind::PauseRequested),
            RaceOp::Resume => Some(EventKind::Resumed),
            RaceOp::Cancel => Some(EventKind::Cancelled),
            RaceOp::Complete => Some(EventKind::Completed),
            RaceOp::Fail => Some(EventKind::Failed),
            RaceOp::Progress | RaceOp::Heartbeat => None,
        }
    }

    fn run(self, act: &Act, job_id: &str, step: u64) -> usecase::Result<Job> {
        match self {
            RaceOp::Progress => usecase::progress(
                act,
                job_id,
                usecase::Progress {
                    percent: Some((step % 101) as u8),
                    ..usecase::Progress::default()
                },
            ),
            RaceOp::Heartbeat => usecase::heartbeat(act, job_id, None, Map::new()),
            RaceOp::Pause => usecase::control(act, job_id, Event::Pause, Some("race")),
            RaceOp::Resume => usecase::control(act, job_id, Event::Resume, None),
            RaceOp::Cancel => usecase::control(act, job_id, Event::Cancel, Some("race")),
            RaceOp::Complete => usecase::complete(act, job_id, Map::new(), None, None),
            RaceOp::Fail => usecase::fail(act, job_id, "race", None, None),
        }
    }
}

/// The state-machine event behind a log entry, for replaying it.
/// A note (an alert sent) on a final job: it joins the job's log after its entries, a repeat
/// under the same id adds nothing, the job is untouched, and `noted` finds exactly the notes
/// written, including one under an id no job has (a schedule's alert state).
pub fn notes_join_the_log_once_without_changing_the_job(store: &dyn JobStore) {
    let mut failed = job("note-1", JobType::CampaignRun, JobStatus::Failed, at(0));
    failed.completed_at = Some(at(5));
    put(store, &failed);
    let note = |id: &str, job_id: &str| JobEvent {
        id: id.into(),
        job_id: job_id.into(),
        at: at(10),
        kind: EventKind::Alerted,
        actor: "system".into(),
        message: Some("alert sent".into()),
        from_status: None,
        to_status: None,
        details: obj(json!({"channels": ["webhook"]})),
    };
    let first = note("alert-note-1", "note-1");
    store
        .note(failed.rev, std::slice::from_ref(&first))
        .unwrap();
    let mut repeat = first.clone();
    repeat.message = Some("a second copy".into());
    store.note(failed.rev, &[repeat]).unwrap();
    store
        .note(0, &[note("alert-schedule-x", "schedule-x")])
        .unwrap();

    assert_eq!(
        store.get("note-1").unwrap(),
        failed,
        "a note changes nothing of the job"
    );
    let log = store.events("note-1", 10).unwrap();
    assert_eq!(log.len(), 2, "the created entry and one note: {log:?}");
    assert_eq!(
        log[1], first,
        "the first note is kept, the repeat added nothing"
    );
    let mut noted = store
        .noted(&["alert-note-1", "alert-schedule-x", "alert-missing"])
        .unwrap();
    noted.sort();
    // A note under an id no job has is found by its id alone (an adapter may read a log only
    // through its job).
    assert_eq!(noted, ["alert-note-1", "alert-schedule-x"]);
}

fn event_of(kind: EventKind) -> Option<Event> {
    Some(match kind {
        EventKind::Started | EventKind::Progress | EventKind::Heartbeat => Event::Start,
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

/// A seeded generator, so a failing race can be replayed.
struct Draw(fastrand::Rng);

impl Draw {
    fn next(&mut self) -> u64 {
        self.0.u64(..)
    }
    fn op(&mut self) -> RaceOp {
        let mut roll = (self.next() % 100) as u32;
        for &(op, weight) in RACE_MIX {
            if roll < weight {
                return op;
            }
            roll -= weight;
        }
        RaceOp::Progress
    }
}

pub fn racing_use_cases_leave_every_job_on_a_legal_path_with_nothing_lost(store: &dyn JobStore) {
    const THREADS: usize = 8;
    const CALLS_PER_THREAD: u64 = 60;
    const JOBS: usize = 3;

    let mut job_ids = Vec::new();
    for n in 0..JOBS {
        let act = Act::new(store, "function:hook-campaign-run", at(0));
        let started = usecase::start(
            &act,
            JobType::CampaignRun,
            usecase::Start {
                reference_id: format!("campaign-{n}"),
                idempotency_key: Some(format!("race-{n}")),
                ..usecase::Start::default()
            },
        )
        .expect("start");
        job_ids.push(started.job.id);
    }

    // Successful calls per (job, op), counted by the callers themselves.
    let successes: Mutex<HashMap<(String, RaceOp), usize>> = Mutex::new(HashMap::new());
    let unexpected: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let barrier = Barrier::new(THREADS);
    std::thread::scope(|scope| {
        for thread in 0..THREADS {
            let (job_ids, successes, unexpected, barrier) =
                (&job_ids, &successes, &unexpected, &barrier);
            scope.spawn(move || {
                let mut draw = Draw(fastrand::Rng::with_seed(
                    0x9E37_79B9_7F4A_7C15 ^ ((thread as u64 + 1) * 0x1000_0001),
                ));
                barrier.wait();
                for step in 0..CALLS_PER_THREAD {
                    let job_id = &job_ids[(draw.next() % JOBS as u64) as usize];
                    // Final actions only in the last quarter, so the jobs live long enough to
                    // race on pause, resume and progress first.
                    let op = match draw.op() {
                        RaceOp::Cancel | RaceOp::Complete | RaceOp::Fail
                            if step < CALLS_PER_THREAD * 3 / 4 =>
                        {
                            RaceOp::Progress
                        }
                        op => op,
                    };
                    // Each call at its own instant, 250 ms apart per thread: some progress calls
                    // are coalesced, some written.
                    let now = at(1) + Duration::milliseconds((step * 250) as i64 + thread as i64);
                    let act = Act::new(store, format!("user:t{thread}"), now);
                    match op.run(&act, job_id, step) {
                        Ok(_) => {
                            let mut counts = successes.lock().unwrap_or_else(|e| e.into_inner());
                            *counts.entry((job_id.clone(), op)).or_default() += 1;
                        }
                        // Refused by the state machine, or lost every compare-and-set retry:
                        // both leave no trace, which the checks below rely on.
                        Err(usecase::Error::Illegal { .. }) => {}
                        // Run-less reports after a resume are fenced off (docs/hooks.md § Runs).
                        Err(usecase::Error::Stopped { .. }) => {}
                        Err(usecase::Error::Store(StoreError::Conflict { .. })) => {}
                        Err(e) => unexpected
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push(format!("{op:?} on {job_id}: {e}")),
                    }
                }
            });
        }
    });
    let unexpected = unexpected.into_inner().unwrap_or_else(|e| e.into_inner());
    assert!(unexpected.is_empty(), "unexpected errors: {unexpected:?}");
    let successes = successes.into_inner().unwrap_or_else(|e| e.into_inner());

    for job_id in &job_ids {
        let job = store.get(job_id).expect("get");
        let events = store.events(job_id, 100_000).expect("events");
        check_legal_path(&job, &events);

        // Nothing lost: every successful call that always logs left exactly one entry.
        for &(op, _) in RACE_MIX {
            let Some(kind) = op.always_logs() else {
                continue;
            };
            let called = successes.get(&(job_id.clone(), op)).copied().unwrap_or(0);
            let logged = events.iter().filter(|e| e.kind == kind).count();
            assert_eq!(
                logged, called,
                "{job_id}: {op:?} succeeded {called} times, logged {logged}"
            );
        }
        // Exactly one final action won, if any did.
        let finals: usize = [RaceOp::Cancel, RaceOp::Complete, RaceOp::Fail]
            .iter()
            .map(|op| successes.get(&(job_id.clone(), *op)).copied().unwrap_or(0))
            .sum();
        assert_eq!(
            finals,
            usize::from(job.status.is_final()),
            "{job_id}: final actions won"
        );

        // Final states never change afterwards: every use case is refused and writes nothing.
        if job.status.is_final() {
            let act = Act::new(store, "user:late", at(10_000));
            for &(op, _) in RACE_MIX {
                let outcome = op.run(&act, job_id, 100);
                assert!(
                    matches!(outcome, Err(usecase::Error::Illegal { .. })),
                    "{job_id}: {op:?} on a final job gave {outcome:?}"
                );
            }
            assert_eq!(
                store.get(job_id).expect("get"),
                job,
                "{job_id} changed after final"
            );
            assert_eq!(store.events(job_id, 100_000).expect("events"), events);
        }
    }
}

/// The log is a path through the state machine ending at the job's status, with one final entry
/// at most (the last) and `completedAt` set exactly when final.
fn check_legal_path(job: &Job, events: &[JobEvent]) {
    let id = &job.id;
    let first = events.first().unwrap_or_else(|| panic!("{id}: empty log"));
    assert_eq!(
        first.kind,
        EventKind::Created,
        "{id}: the log starts with its creation"
    );
    let mut status = first
        .to_status
        .unwrap_or_else(|| panic!("{id}: the created entry has no status"));
    for (n, event) in events.iter().enumerate().skip(1) {
        let (Some(from), Some(to)) = (event.from_status, event.to_status) else {
            continue;
        };
        assert_eq!(
            from, status,
            "{id}: entry {n} ({:?}) starts where the last ended",
            event.kind
        );
        if event.kind == EventKind::Ignored {
            assert_eq!(from, to, "{id}: entry {n}: an ignored call moves nothing");
            continue;
        }
        let replay = event_of(event.kind)
            .unwrap_or_else(|| panic!("{id}: entry {n} ({:?}) cannot move a job", event.kind));
        assert_eq!(
            transition(from, replay).ok(),
            Some(to),
            "{id}: entry {n} ({:?}) {from} -> {to} is not a legal transition",
            event.kind
        );
        status = to;
    }
    assert_eq!(status, job.status, "{id}: the log ends at the job's status");
    let finals: Vec<&JobEvent> = events
        .iter()
        .filter(|e| e.to_status.is_some_and(JobStatus::is_final))
        .collect();
    assert_eq!(
        finals.len(),
        usize::from(job.status.is_final()),
        "{id}: final entries"
    );
    if let Some(last_final) = finals.last() {
        assert_eq!(
            events.last().map(|e| &e.id),
            Some(&last_final.id),
            "{id}: nothing after the final entry"
        );
        assert_eq!(
            job.completed_at,
            Some(last_final.at),
            "{id}: completedAt is the final instant"
        );
    } else {
        assert_eq!(job.completed_at, None, "{id}: completedAt only when final");
    }
}
