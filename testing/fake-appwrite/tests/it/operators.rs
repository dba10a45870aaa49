//! Free text shaped like an Appwrite operator is stored as text and reads back byte for byte:
//! a worker's progress message, a failure message and a user's reason, for every operator
//! method of utopia-php/database 6.0.0 (`Operator::TYPES`), on the fake that parses operators
//! on update paths as Appwrite 1.9.6 does. And the fake itself behaves like Appwrite there.

use std::sync::{Arc, Mutex};

use chrono::Duration;
use serde_json::json;
use shared::job::{Event, JobType};
use shared::store::appwrite::TEXT_ESCAPE;
use shared::store::JobStore;
use shared::usecase::{self, Act, Progress, Start};

use crate::support::{client_on, spawn_app};

const METHODS: &[&str] = &[
    "increment",
    "decrement",
    "multiply",
    "divide",
    "modulo",
    "power",
    "stringConcat",
    "stringReplace",
    "arrayAppend",
    "arrayPrepend",
    "arrayInsert",
    "arrayRemove",
    "arrayUnique",
    "arrayIntersect",
    "arrayDiff",
    "arrayFilter",
    "toggle",
    "dateAddDays",
    "dateSubDays",
    "dateSetNow",
];

/// Every shape a typed text can take that Appwrite would read as an operator, and its
/// neighbours: whitespace around, the escape mark itself typed by someone.
fn shapes() -> Vec<String> {
    let mut shapes: Vec<String> = METHODS
        .iter()
        .map(|m| json!({"method": m, "values": ["x", "y"]}).to_string())
        .collect();
    shapes.push(r#"  {"method":"increment","attribute":"progressMessage","values":[1]} "#.into());
    shapes.push(r#"{"values":["x"],"method":"stringConcat"}"#.into());
    shapes.push(format!("{TEXT_ESCAPE}already marked"));
    shapes.push(format!(
        "{TEXT_ESCAPE}{TEXT_ESCAPE}{{\"method\":\"toggle\"}}"
    ));
    shapes.push(r#"{"method":"notAnOperator"}"#.into());
    shapes
}

#[test]
fn operator_shaped_messages_and_reasons_round_trip_unchanged() {
    let app = spawn_app();
    let t0 = shared::store::conformance::t0();
    for (i, text) in shapes().into_iter().enumerate() {
        let at = |s: i64| t0 + Duration::seconds(i as i64 * 100 + s);
        let worker = |s| Act::new(&app.store, "function:orchestrator", at(s));
        let user = |s| Act::new(&app.store, "user:u1", at(s));
        let job = usecase::start(
            &worker(0),
            JobType::CampaignRun,
            Start {
                reference_id: format!("campaign-{i}"),
                message: Some("starting".into()),
                ..Start::default()
            },
        )
        .unwrap()
        .job;
        // A progress message: a row update, where Appwrite parses operators.
        let progress = Progress {
            percent: Some(10),
            message: Some(text.clone()),
            ..Progress::default()
        };
        usecase::progress(&worker(2), &job.id, progress).unwrap();
        assert_eq!(
            app.store.get(&job.id).unwrap().progress_message.as_deref(),
            Some(text.as_str()),
            "progress message {text:?}"
        );
        // A user's reason, then a worker's failure message.
        usecase::control(&user(4), &job.id, Event::Pause, Some(&text)).unwrap();
        assert_eq!(
            app.store.get(&job.id).unwrap().last_reason.as_deref(),
            Some(text.trim()),
            "reason {text:?}"
        );
        usecase::fail(&worker(6), &job.id, &text, None, None).unwrap();
        assert_eq!(
            app.store.get(&job.id).unwrap().error_message.as_deref(),
            Some(text.as_str()),
            "error {text:?}"
        );
    }
}

/// The fake, driven directly: operators apply on updates only, string operators work on text,
/// numeric ones on text are refused.
#[test]
fn the_fake_parses_operators_on_updates_only_like_appwrite() {
    let app = spawn_app();
    let client = client_on(&app.fake, &[], Arc::new(Mutex::new(Vec::new())));
    // A complete job row to copy (the fake checks rows against appwrite.json's schema).
    let act = Act::new(
        &app.store,
        "function:orchestrator",
        shared::store::conformance::t0(),
    );
    let start = Start {
        reference_id: "campaign-1".into(),
        ..Start::default()
    };
    let job = usecase::start(&act, JobType::CampaignRun, start)
        .unwrap()
        .job;
    let mut data = client.get_row("jobs", &job.id).unwrap().body;
    data.as_object_mut()
        .unwrap()
        .retain(|k, _| !k.starts_with('$'));
    let concat = json!({"method": "stringConcat", "values": ["!"]}).to_string();
    data["progressMessage"] = json!(concat);
    client.create_row("jobs", "r1", data).unwrap();
    let text = |client: &shared::appwrite::AppwriteClient| {
        client.get_row("jobs", "r1").unwrap().body["progressMessage"].clone()
    };
    assert_eq!(
        text(&client),
        json!(concat),
        "a create stores the text as given"
    );
    client
        .update_row(
            "jobs",
            "r1",
            json!({"progressMessage": concat.clone()}),
            None,
        )
        .unwrap();
    assert_eq!(text(&client), json!(format!("{concat}!")));
    let replace = json!({"method": "stringReplace", "values": ["!", "?"]}).to_string();
    client
        .update_row("jobs", "r1", json!({"progressMessage": replace}), None)
        .unwrap();
    assert_eq!(text(&client), json!(format!("{concat}!").replace('!', "?")));
    let increment = json!({"method": "increment", "values": [1]}).to_string();
    let err = client
        .update_row("jobs", "r1", json!({"progressMessage": increment}), None)
        .unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
}
