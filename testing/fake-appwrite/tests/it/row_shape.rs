//! The fake answers a row the way a real Appwrite 1.9.6 does: the members and types of the same
//! row as the real server sent it (a Realtime payload and a REST answer are the same `Row`
//! model; captured in `local/jobs-dev/tests/fixtures/appwrite-1.9.6/`), `$sequence` a string,
//! datetimes in UTC to the millisecond with `+00:00` whatever the request wrote.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use serde_json::{json, Map, Value};
use shared::job::JobType;
use shared::usecase::{self, Act, Start};

use crate::support::{client_on, spawn_app};

fn captured_row() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../local/jobs-dev/tests/fixtures/appwrite-1.9.6/realtime-jobs-row-create.json"
    );
    let message: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    message["data"]["payload"].clone()
}

fn is_time(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        s.len() == 29 && s.ends_with("+00:00") && chrono::DateTime::parse_from_rfc3339(s).is_ok()
    })
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) if is_time(v) => "time",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[test]
fn a_job_row_is_answered_with_the_members_and_types_of_a_real_one() {
    let app = spawn_app();
    // The captured row's start: a hook `start` with a message, a total, a key and metadata.
    let mut metadata = Map::new();
    metadata.insert(
        "note".into(),
        json!(r#"{"method":"increment","values":[1]}"#),
    );
    let start = Start {
        reference_id: "rt-q3".into(),
        total: Some(200),
        message: Some("starting".into()),
        idempotency_key: Some("rt:q3".into()),
        metadata,
        ..Start::default()
    };
    let act = Act::new(&app.store, "function:hook-campaign-run", chrono::Utc::now());
    let job = usecase::start(&act, JobType::CampaignRun, start)
        .unwrap()
        .job;
    let client = client_on(&app.fake, &[], Arc::new(Mutex::new(Vec::new())));
    let ours = client.get_row("jobs", &job.id).unwrap().body;
    let theirs = captured_row();

    // The `claims` column was added to the table after the capture.
    let mut members: BTreeSet<&str> = ours
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert!(members.remove("claims"), "{ours}");
    let real: BTreeSet<&str> = theirs
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(members, real);
    for member in real {
        assert_eq!(
            kind(&ours[member]),
            kind(&theirs[member]),
            "{member}: {ours}"
        );
    }
    assert!(ours["$sequence"].as_str().unwrap().parse::<u64>().is_ok());
}

#[test]
fn datetimes_written_with_another_offset_or_more_digits_are_answered_in_utc_milliseconds() {
    let app = spawn_app();
    let start = Start {
        reference_id: "times".into(),
        ..Start::default()
    };
    let act = Act::new(&app.store, "system", chrono::Utc::now());
    let job = usecase::start(&act, JobType::CampaignRun, start)
        .unwrap()
        .job;
    let client = client_on(&app.fake, &[], Arc::new(Mutex::new(Vec::new())));
    let data = json!({"heartbeatAt": "2026-12-07T02:37:46.474999+02:00",
        "startedAt": "2026-12-07T00:37:46Z"});
    let answered = client.update_row("jobs", &job.id, data, None).unwrap().body;
    assert_eq!(answered["heartbeatAt"], "2026-12-07T00:37:46.474+00:00");
    assert_eq!(answered["startedAt"], "2026-12-07T00:37:46.000+00:00");
    let read = client.get_row("jobs", &job.id).unwrap().body;
    assert_eq!(read["heartbeatAt"], answered["heartbeatAt"]);
}
