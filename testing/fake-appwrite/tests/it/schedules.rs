//! `job-actions`' Schedules routes (docs/schedules.md) in their production wiring on the fake:
//! the functions and executions read with the request's key, what one refresh costs (counted by
//! the fake, not estimated), run now, disable / enable keeping every other setting, the audit,
//! roles, and hostile names kept as plain text.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use fake_appwrite::{FakeAppwrite, SeededExecution};
use job_actions::handle;
use openruntimes::{Context, Logger};
use serde_json::{json, Value};
use shared::platform::Platform;
use shared::store::appwrite::AppwriteStore;

const HOSTILE: &str = "<img src=x onerror=alert(1)> {\"method\":\"increment\"}";

struct World {
    fake: FakeAppwrite,
    platform: Platform,
    t0: DateTime<Utc>,
}

fn at(t: DateTime<Utc>) -> String {
    shared::appwrite::datetime(&t)
}

fn run(t: DateTime<Utc>, trigger: &'static str, status: &'static str) -> SeededExecution {
    SeededExecution {
        trigger,
        status,
        created_at: at(t),
        duration: 1.25,
        status_code: if status == "failed" { 500 } else { 200 },
    }
}

/// Four scheduled functions and one without a schedule, their runs of the last hours, an
/// operator and a viewer; the platform's clock frozen at `t0`.
fn world() -> World {
    let fake = FakeAppwrite::start();
    fake.add_user("aw-op", &["jobsoperator"]);
    fake.add_user("aw-view", &["jobsviewer"]);
    let t0 = Utc::now();
    let old = at(t0 - Duration::days(3));
    let scheduled = |schedule: &str| json!({"schedule": schedule, "$updatedAt": old});
    fake.add_function("job-retention", "job-retention", scheduled("*/5 * * * *"));
    fake.add_function("sqs-poller", "sqs-poller", scheduled("* * * * *"));
    fake.add_function(
        "fetch-aws-metrics",
        "fetch-aws-metrics",
        json!({"schedule": "*/15 * * * *", "$updatedAt": old, "events": ["users.*.create"],
            "timeout": 300, "execute": ["team:ops"], "scopes": ["rows.read"], "logging": false}),
    );
    fake.add_function("nightly", HOSTILE, scheduled("0 3 * * *"));
    fake.add_function("job-actions", "job-actions", json!({"schedule": ""}));
    for m in [10, 5, 0] {
        let t = t0 - Duration::minutes(m);
        fake.add_execution("job-retention", &run(t, "schedule", "completed"));
    }
    fake.add_execution(
        "sqs-poller",
        &run(t0 - Duration::minutes(4), "schedule", "completed"),
    );
    for m in [3, 2, 1] {
        let t = t0 - Duration::minutes(m);
        fake.add_execution("sqs-poller", &run(t, "schedule", "failed"));
    }
    for m in [150, 135, 120] {
        let t = t0 - Duration::minutes(m);
        fake.add_execution("fetch-aws-metrics", &run(t, "schedule", "completed"));
    }
    fake.add_execution(
        "nightly",
        &run(t0 - Duration::seconds(1), "schedule", "completed"),
    );

    let mut vars = fake.variables();
    vars.insert("JOBS_OPERATOR_LABELS".into(), "jobsoperator".into());
    vars.insert("JOBS_VIEWER_LABELS".into(), "jobsviewer".into());
    let lookup_vars = vars.clone();
    let store = AppwriteStore::from_lookup(|k| vars.get(k).cloned()).unwrap();
    let mut platform = Platform::new(
        Arc::new(store),
        Arc::new(move |k| lookup_vars.get(k).cloned()),
    );
    platform.clock = Arc::new(move || t0);
    World { fake, platform, t0 }
}

fn call(
    w: &World,
    method: &str,
    path: &str,
    user: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    call_as(w, "http", method, path, user, body)
}

fn call_as(
    w: &World,
    trigger: &str,
    method: &str,
    path: &str,
    user: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut ctx = Context::new(Logger::new("disabled", Some("aw".into())).unwrap());
    ctx.req.method = method.into();
    ctx.req.path = path.into();
    let mut headers = HashMap::from([
        ("x-appwrite-trigger".to_owned(), trigger.to_owned()),
        ("x-appwrite-key".to_owned(), w.fake.key()),
    ]);
    if let Some(user) = user {
        headers.insert("x-appwrite-user-id".into(), user.into());
    }
    ctx.req.headers = headers;
    if let Some(body) = body {
        ctx.req.set_body_binary(body.to_string().into_bytes());
    }
    let res = handle(ctx, &w.platform);
    let body = serde_json::from_slice(&res.body).unwrap_or(Value::Null);
    (res.status_code, body)
}

fn schedule<'a>(list: &'a Value, id: &str) -> &'a Value {
    list["schedules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["functionId"] == id)
        .unwrap_or_else(|| panic!("{id} listed in {list}"))
}

#[test]
fn the_list_shows_every_scheduled_function_with_its_health_at_a_counted_cost() {
    let w = world();
    // The role lookup is cached from here on, so the next call's requests are the view's own.
    assert_eq!(call(&w, "GET", "/v1/me", Some("aw-view"), None).0, 200);
    w.fake.reset_requests();
    let (status, list) = call(&w, "GET", "/v1/schedules", Some("aw-view"), None);
    assert_eq!(status, 200, "{list}");

    // One functions page, two execution lists per scheduled function, a third for `nightly`
    // (fewer runs in 24 h than the failing rule looks at), one audit read.
    assert_eq!(list["requests"], 11, "{list}");
    assert_eq!(w.fake.total_requests(), 11, "{:?}", w.fake.requests());
    assert_eq!(w.fake.requests().get("GET executions"), Some(&9));

    let ids: Vec<&str> = list["schedules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["functionId"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "job-retention",
            "sqs-poller",
            "fetch-aws-metrics",
            "nightly"
        ]
    );
    assert_eq!(list["checkedAt"], shared::job::format_timestamp(&w.t0));

    let retention = schedule(&list, "job-retention");
    assert_eq!(retention["health"], "ok", "{retention}");
    assert_eq!(retention["scheduleText"], "every 5 minutes");
    assert_eq!(retention["runs24h"], 3);
    assert_eq!(retention["recent"].as_array().unwrap().len(), 3);
    assert!(retention["nextRunAt"].as_str().unwrap() > list["checkedAt"].as_str().unwrap());

    let sqs = schedule(&list, "sqs-poller");
    assert_eq!(sqs["health"], "failing", "{sqs}");
    assert_eq!(sqs["failures24h"], 3);
    assert_eq!(sqs["runs24h"], 4);
    assert_eq!(sqs["lastRun"]["status"], "failed");
    assert_eq!(sqs["lastRun"]["statusCode"], 500);
    assert_eq!(sqs["lastRun"]["trigger"], "schedule");
    assert_eq!(sqs["lastRun"]["durationSeconds"], 1.25);
    assert_eq!(sqs["lastRun"]["consoleUrl"], Value::Null);

    let metrics = schedule(&list, "fetch-aws-metrics");
    assert_eq!(metrics["health"], "late", "{metrics}");
    assert!(metrics["healthReason"]
        .as_str()
        .unwrap()
        .contains("no run started since"));

    let nightly = schedule(&list, "nightly");
    assert_eq!(
        nightly["name"], HOSTILE,
        "names are returned as given, as text"
    );
    assert_eq!(nightly["scheduleText"], "daily at 03:00 UTC");
    assert_eq!(nightly["health"], "ok", "{nightly}");
    assert_eq!(nightly["audit"], json!([]));

    // `scripts/bench-schedules` reads the measured figures from here into BENCHMARKS.md.
    if let Ok(out) = std::env::var("BENCH_SCHEDULES_OUT") {
        let executions = w
            .fake
            .requests()
            .get("GET executions")
            .copied()
            .unwrap_or(0);
        let row = format!(
            "| {} | {} | {executions} | 1 (job-actions) | 0 |\n",
            ids.len(),
            w.fake.total_requests()
        );
        std::fs::write(out, row).expect("write the benchmark row");
    }
}

#[test]
fn run_now_starts_an_async_execution_that_the_list_shows_with_its_audit() {
    let w = world();
    let (status, ran) = call(
        &w,
        "POST",
        "/v1/schedules/sqs-poller/run",
        Some("aw-op"),
        Some(json!({"reason": HOSTILE})),
    );
    assert_eq!(status, 202, "{ran}");
    assert_eq!(ran["functionId"], "sqs-poller");
    assert_eq!(ran["status"], "waiting");
    let created = w.fake.executions();
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].function_id, "sqs-poller");
    assert!(created[0].asynchronous);

    let (_, list) = call(&w, "GET", "/v1/schedules", Some("aw-op"), None);
    let sqs = schedule(&list, "sqs-poller");
    assert_eq!(sqs["lastRun"]["executionId"], ran["executionId"]);
    assert_eq!(sqs["lastRun"]["status"], "waiting");
    assert_eq!(
        sqs["audit"],
        json!([{"at": list["checkedAt"], "actor": "user:aw-op", "action": "run", "reason": HOSTILE}])
    );
}

#[test]
fn disable_and_enable_round_trip_keeping_every_other_setting_and_are_audited() {
    let w = world();
    let before = w.fake.function("fetch-aws-metrics").unwrap();
    let (status, disabled) = call(
        &w,
        "POST",
        "/v1/schedules/fetch-aws-metrics/disable",
        Some("aw-op"),
        Some(json!({"reason": "AWS quota"})),
    );
    assert_eq!(status, 200, "{disabled}");
    assert_eq!(disabled["enabled"], false);
    assert_eq!(disabled["health"], "disabled");
    assert_eq!(disabled["audit"][0]["action"], "disable");
    let off = w.fake.function("fetch-aws-metrics").unwrap();
    assert_eq!(off["enabled"], false);

    let (status, enabled) = call(
        &w,
        "POST",
        "/v1/schedules/fetch-aws-metrics/enable",
        Some("aw-op"),
        None,
    );
    assert_eq!(status, 200, "{enabled}");
    assert_eq!(enabled["enabled"], true);
    let actions: Vec<&str> = enabled["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["enable", "disable"]);
    assert_eq!(enabled["audit"][1]["reason"], "AWS quota");
    assert_eq!(enabled["audit"][0]["reason"], Value::Null);

    let after = w.fake.function("fetch-aws-metrics").unwrap();
    for key in [
        "name",
        "runtime",
        "execute",
        "events",
        "schedule",
        "timeout",
        "enabled",
        "logging",
        "entrypoint",
        "commands",
        "scopes",
        "deploymentId",
    ] {
        assert_eq!(after[key], before[key], "{key} changed by the round trip");
    }
}

#[test]
fn viewers_may_read_but_not_act_and_strangers_are_refused() {
    let w = world();
    assert_eq!(call(&w, "GET", "/v1/schedules", None, None).0, 401);
    for action in ["run", "enable", "disable"] {
        let path = format!("/v1/schedules/sqs-poller/{action}");
        let (status, body) = call(&w, "POST", &path, Some("aw-view"), None);
        assert_eq!(status, 403, "{path}: {body}");
        assert_eq!(body["error"]["code"], "forbidden");
        assert_eq!(call(&w, "POST", &path, None, None).0, 401);
    }
    // A scheduled or event execution of job-actions is no caller at all, operator or not.
    for trigger in ["schedule", "event"] {
        let (status, body) = call_as(
            &w,
            trigger,
            "POST",
            "/v1/schedules/sqs-poller/run",
            Some("aw-op"),
            None,
        );
        assert_eq!(status, 403, "{trigger}: {body}");
        assert_eq!(body["error"]["code"], "trigger_not_allowed");
    }
    assert!(w.fake.executions().is_empty());
    assert_eq!(w.fake.function("sqs-poller").unwrap()["enabled"], true);
}

#[test]
fn only_scheduled_functions_can_be_run_or_switched_through_this_api() {
    let w = world();
    for path in [
        "/v1/schedules/job-actions/run",
        "/v1/schedules/no-such-function/disable",
        "/v1/schedules/-bad-id/enable",
    ] {
        let (status, body) = call(&w, "POST", path, Some("aw-op"), None);
        assert_eq!(status, 404, "{path}: {body}");
        assert_eq!(body["error"]["code"], "schedule_not_found");
    }
    let (status, body) = call(
        &w,
        "POST",
        "/v1/schedules/sqs-poller/run",
        Some("aw-op"),
        Some(json!({"reason": 5})),
    );
    assert_eq!(status, 400, "{body}");
    assert!(w.fake.executions().is_empty());
}

#[test]
fn a_key_without_the_functions_scopes_is_a_configuration_error_not_an_outage() {
    let w = world();
    assert_eq!(call(&w, "GET", "/v1/me", Some("aw-view"), None).0, 200);
    w.fake.set_key_scopes(Some(&[
        "rows.read",
        "rows.write",
        "users.read",
        "teams.read",
    ]));
    let (status, body) = call(&w, "GET", "/v1/schedules", Some("aw-view"), None);
    assert_eq!(status, 500, "{body}");
    assert_eq!(body["error"]["code"], "appwrite_forbidden");
}
