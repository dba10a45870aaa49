//! The log outbox in the job row (`pendingLog`) with the longest entries a worker can make: a
//! progress message of 2,000 four-byte characters changing on every call (issue 31). The outbox
//! holds several such entries and moves them to `job_events` together; whichever the reader, the
//! store's log (`events`, the outbox merged with `job_events`), the `job_events` rows or the row's
//! outbox itself (what Realtime delivers and the dashboard's `pendingEntries` reads), every
//! message reads in full, in order, after any number of cuts.

use std::collections::BTreeMap;

use serde_json::Value;
use shared::job::{EventKind, JobType, MAX_TEXT_CHARS};
use shared::store::JobStore;
use shared::usecase::{self, Act, Progress, Start};

use crate::support::spawn_app;

/// A message of `MAX_TEXT_CHARS` four-byte characters, different for each `n`.
fn long_message(n: u64) -> String {
    let c = char::from_u32(0x1F600 + (n % 64) as u32).unwrap();
    c.to_string().repeat(MAX_TEXT_CHARS)
}

/// The entries of a stored `pendingLog` (`{"v":1,"data":[…]}` as text), by event id.
fn outbox(row: &serde_json::Map<String, Value>) -> BTreeMap<String, Value> {
    let text = row["pendingLog"].as_str().expect("a pendingLog");
    assert!(text.len() <= 65_535, "{} bytes", text.len());
    let wrapper: Value = serde_json::from_str(text).unwrap();
    wrapper["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["eventId"].as_str().unwrap().to_owned(), e.clone()))
        .collect()
}

#[test]
fn every_long_message_reads_in_full_from_the_log_after_the_outbox_is_cut() {
    let app = spawn_app();
    fn worker(store: &dyn JobStore, ms: i64) -> Act<'_> {
        let at = shared::store::conformance::t0() + chrono::Duration::milliseconds(ms);
        Act::new(store, "function:orchestrator", at).in_run(Some(1), Some("w1".into()))
    }
    let first = app.another_store();
    let start = Start {
        reference_id: "campaign-long".into(),
        ..Start::default()
    };
    let job = usecase::start(&worker(&first, 0), JobType::CampaignRun, start)
        .unwrap()
        .job;
    const CALLS: u64 = 30;
    for n in 1..=CALLS {
        // Each call is its own execution, as deployed: a new store, nothing remembered.
        let store = app.another_store();
        let progress = Progress {
            percent: Some(n as u8),
            message: Some(long_message(n)),
            ..Progress::default()
        };
        usecase::progress(&worker(&store, n as i64), &job.id, progress).unwrap();
    }

    let log = app.another_store().events(&job.id, 1_000).unwrap();
    let messages: Vec<&str> = log
        .iter()
        .filter(|e| e.kind == EventKind::Progress)
        .map(|e| e.message.as_deref().unwrap_or(""))
        .collect();
    let expected: Vec<String> = (1..=CALLS).map(long_message).collect();
    assert_eq!(messages, expected, "every message, in full and in order");

    // Cut entries are in `job_events` in full; the rest are in the row's outbox in full.
    let rows = app.fake.rows("jobmanager", "job_events");
    let job_row = &app.fake.rows("jobmanager", "jobs")[&job.id];
    let pending = outbox(job_row);
    assert!(pending.len() > 1, "the outbox holds several long entries");
    let mut moved = 0;
    for event in log.iter().filter(|e| e.kind == EventKind::Progress) {
        let full = event.message.as_deref().unwrap();
        let stored = rows
            .values()
            .find(|r| r["eventId"] == event.id.as_str())
            .map(|r| r["message"].clone())
            .or_else(|| pending.get(&event.id).map(|e| e["message"].clone()));
        assert_eq!(
            stored.as_ref().and_then(Value::as_str),
            Some(full),
            "{}",
            event.id
        );
        moved += usize::from(rows.values().any(|r| r["eventId"] == event.id.as_str()));
    }
    assert!(moved >= 18, "four cuts of six moved: {moved}");
}
