//! Every bad input is a 4xx naming the field, writes nothing, and still carries the job's
//! control value when the job exists.

use serde_json::{json, Value};
use shared::job::{Event, JobType};
use shared::tracker::server_context;
use shared::usecase::{self, Act};

use crate::support::{spawn_app, App};

/// The state the named job is in before the bad request.
#[derive(Clone, Copy)]
enum Given {
    Running,
    Completed,
    Cancelled,
}

struct Case {
    what: &'static str,
    given: Given,
    body: fn(&str) -> Value,
    status: u16,
    field: Option<&'static str>,
    /// The control value the answer must carry (the job exists), or none.
    control: Option<&'static str>,
}

const CASES: &[Case] = &[
    Case {
        what: "start without referenceId",
        given: Given::Running,
        body: |_| json!({"event": "start", "total": 5}),
        status: 400,
        field: Some("referenceId"),
        control: None,
    },
    Case {
        what: "start with a wrong-typed total",
        given: Given::Running,
        body: |_| json!({"event": "start", "referenceId": "c1", "total": "ten"}),
        status: 400,
        field: Some("total"),
        control: None,
    },
    Case {
        what: "start naming a job type in the body",
        given: Given::Running,
        body: |_| json!({"event": "start", "referenceId": "c1", "type": "BULK_VERIFY"}),
        status: 400,
        field: Some("type"),
        control: None,
    },
    Case {
        what: "progress without jobId",
        given: Given::Running,
        body: |_| json!({"event": "progress", "percent": 5}),
        status: 400,
        field: Some("jobId"),
        control: None,
    },
    Case {
        what: "progress with an unknown member",
        given: Given::Running,
        body: |id| json!({"event": "progress", "jobId": id, "pct": 5}),
        status: 400,
        field: Some("pct"),
        control: Some("continue"),
    },
    Case {
        what: "progress above 100 percent",
        given: Given::Running,
        body: |id| json!({"event": "progress", "jobId": id, "percent": 150}),
        status: 400,
        field: Some("percent"),
        control: Some("continue"),
    },
    Case {
        what: "progress below 0 percent",
        given: Given::Running,
        body: |id| json!({"event": "progress", "jobId": id, "percent": -1}),
        status: 400,
        field: Some("percent"),
        control: Some("continue"),
    },
    Case {
        what: "progress with done above total",
        given: Given::Running,
        body: |id| json!({"event": "progress", "jobId": id, "done": 201, "total": 200}),
        status: 400,
        field: Some("done"),
        control: Some("continue"),
    },
    Case {
        what: "progress with a negative done",
        given: Given::Running,
        body: |id| json!({"event": "progress", "jobId": id, "done": -3}),
        status: 400,
        field: Some("done"),
        control: Some("continue"),
    },
    Case {
        what: "progress with both percent and done",
        given: Given::Running,
        body: |id| json!({"event": "progress", "jobId": id, "done": 1, "total": 2, "percent": 50}),
        status: 400,
        field: Some("percent"),
        control: Some("continue"),
    },
    Case {
        what: "progress on an unknown job",
        given: Given::Running,
        body: |_| json!({"event": "progress", "jobId": "jdoesnotexist", "percent": 5}),
        status: 404,
        field: Some("jobId"),
        control: None,
    },
    Case {
        what: "progress with an invalid job id",
        given: Given::Running,
        body: |_| json!({"event": "progress", "jobId": "../etc", "percent": 5}),
        status: 400,
        field: Some("jobId"),
        control: None,
    },
    Case {
        what: "progress on a completed job",
        given: Given::Completed,
        body: |id| json!({"event": "progress", "jobId": id, "percent": 5}),
        status: 409,
        field: None,
        control: Some("cancel"),
    },
    Case {
        what: "complete on a cancelled job",
        given: Given::Cancelled,
        body: |id| json!({"event": "complete", "jobId": id, "result": {"sent": 1}}),
        status: 409,
        field: None,
        control: Some("cancel"),
    },
    Case {
        what: "heartbeat with wrong-typed details",
        given: Given::Running,
        body: |id| json!({"event": "heartbeat", "jobId": id, "details": "many"}),
        status: 400,
        field: Some("details"),
        control: Some("continue"),
    },
    Case {
        what: "fail without an error",
        given: Given::Running,
        body: |id| json!({"event": "fail", "jobId": id}),
        status: 400,
        field: Some("error"),
        control: Some("continue"),
    },
    Case {
        what: "fail with an empty error",
        given: Given::Running,
        body: |id| json!({"event": "fail", "jobId": id, "error": "  "}),
        status: 400,
        field: Some("error"),
        control: Some("continue"),
    },
    Case {
        what: "an unknown event",
        given: Given::Running,
        body: |id| json!({"event": "finish", "jobId": id}),
        status: 400,
        field: Some("event"),
        control: Some("continue"),
    },
    Case {
        what: "a body without event",
        given: Given::Running,
        body: |id| json!({"jobId": id}),
        status: 400,
        field: Some("event"),
        control: Some("continue"),
    },
    // Regression: SQLite stored checkpoints over the column size that Appwrite refuses.
    Case {
        what: "progress with a checkpoint too big for its column",
        given: Given::Running,
        body: |id| json!({"event": "progress", "jobId": id, "percent": 60, "checkpoint": {"blob": "x".repeat(70_000)}}),
        status: 400,
        field: Some("checkpoint"),
        control: Some("continue"),
    },
    Case {
        what: "paused with a checkpoint too big for its column",
        given: Given::Running,
        body: |id| json!({"event": "paused", "jobId": id, "checkpoint": {"blob": "x".repeat(70_000)}}),
        status: 400,
        field: Some("checkpoint"),
        control: Some("continue"),
    },
];

fn given(app: &App, state: Given) -> String {
    let id = app.start("c1");
    match state {
        Given::Running => {}
        Given::Completed => {
            let (status, _) = app.call(json!({"event": "complete", "jobId": id}));
            assert_eq!(status, 200);
        }
        Given::Cancelled => {
            app.user(&id, Event::Cancel);
        }
    }
    id
}

#[test]
fn every_bad_input_is_a_4xx_naming_the_field_with_no_write_and_the_control_value() {
    for case in CASES {
        let app = spawn_app(hook_campaign_run::handle);
        let id = given(&app, case.given);
        let before = (app.writes(), app.job(&id), app.events(&id).len());
        let (status, body) = app.call((case.body)(&id));
        assert_eq!(status, case.status, "{}: {body}", case.what);
        assert_eq!(
            body["error"]["field"].as_str(),
            case.field,
            "{}: {body}",
            case.what
        );
        assert!(
            body["error"]["message"].is_string(),
            "{}: {body}",
            case.what
        );
        let after = (app.writes(), app.job(&id), app.events(&id).len());
        assert_eq!(before, after, "{}: nothing is written", case.what);
        assert_eq!(
            body["control"].as_str(),
            case.control,
            "{}: {body}",
            case.what
        );
        if case.control.is_some() {
            assert_eq!(body["job"]["$id"], id.as_str(), "{}: {body}", case.what);
        }
    }
}

#[test]
fn a_body_that_is_not_json_is_a_400_and_writes_nothing() {
    let app = spawn_app(hook_campaign_run::handle);
    let (status, body) = app.call_raw(b"{\"event\": \"start\",");
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "invalid_json");
    assert_eq!(app.writes(), 0);
}

#[test]
fn a_job_of_another_type_cannot_be_moved_through_this_hook() {
    let app = spawn_app(hook_campaign_run::handle);
    let act = Act::new(&*app.store, "function:hook-bulk-verify", app.now());
    let other = usecase::start(
        &act,
        JobType::BulkVerify,
        usecase::Start {
            reference_id: "list-1".into(),
            ..usecase::Start::default()
        },
    )
    .unwrap()
    .job;
    let writes = app.writes();
    let (status, body) = app.call(json!({"event": "complete", "jobId": other.id}));
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["field"], "jobId");
    assert!(
        body.get("job").is_none(),
        "another hook's job is not disclosed"
    );
    assert_eq!(app.writes(), writes);
}

#[test]
fn a_call_with_a_user_session_is_forbidden() {
    let app = spawn_app(hook_campaign_run::handle);
    let body = json!({"event": "start", "referenceId": "c1"}).to_string();
    let mut context = server_context(body.as_bytes(), None).unwrap();
    context
        .req
        .headers
        .insert("x-appwrite-user-id".into(), "u1".into());
    let (status, body) = app.send(context);
    assert_eq!(status, 403, "{body}");
    assert_eq!(app.writes(), 0);
}

#[test]
fn a_scheduled_or_event_trigger_is_forbidden() {
    let app = spawn_app(hook_campaign_run::handle);
    for trigger in ["schedule", "event", ""] {
        let body = json!({"event": "start", "referenceId": "c1"}).to_string();
        let mut context = server_context(body.as_bytes(), None).unwrap();
        context
            .req
            .headers
            .insert("x-appwrite-trigger".into(), trigger.into());
        let (status, _) = app.send(context);
        assert_eq!(status, 403, "trigger `{trigger}`");
    }
    assert_eq!(app.writes(), 0);
}

#[test]
fn a_get_request_is_refused_with_405() {
    let app = spawn_app(hook_campaign_run::handle);
    let mut context = server_context(b"", None).unwrap();
    context.req.method = "GET".into();
    let (status, _) = app.send(context);
    assert_eq!(status, 405);
}

#[test]
fn an_invalid_caller_header_is_a_400_naming_the_header() {
    let app = spawn_app(hook_campaign_run::handle);
    let body = json!({"event": "start", "referenceId": "c1"}).to_string();
    let context = server_context(body.as_bytes(), Some("not a function id")).unwrap();
    let (status, body) = app.send(context);
    assert_eq!(status, 400);
    assert_eq!(body["error"]["field"], "x-job-caller");
    assert_eq!(app.writes(), 0);
}

#[test]
fn a_total_below_what_is_already_done_is_a_400_naming_total_and_writes_nothing() {
    let app = spawn_app(hook_campaign_run::handle);
    let (_, started) = app.call(json!({"event": "start", "referenceId": "c1", "total": 100}));
    let id = started["job"]["$id"].as_str().unwrap().to_owned();
    let (status, _) = app.call(json!({"event": "progress", "jobId": id, "done": 50}));
    assert_eq!(status, 200);
    let before = app.job(&id);
    let (status, body) = app.call(json!({"event": "progress", "jobId": id, "total": 10}));
    assert_eq!(
        (status, &body["error"]["field"]),
        (400, &json!("total")),
        "{body}"
    );
    assert_eq!(app.job(&id), before, "a refused call writes nothing");
    assert_eq!((before.done, before.total), (Some(50), Some(100)));
}
