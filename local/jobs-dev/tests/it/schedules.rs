//! The Schedules view's data on the dev server: the Functions API lists `appwrite.json`'s
//! scheduled functions and the demo's, their recorded runs come back through the executions
//! list, and job-actions' `/v1/schedules` reads them with its own key's scopes
//! (docs/schedules.md § Locally).

use serde_json::{json, Value};

use crate::{spawn_app_with, App, KEY};

fn get(app: &App, path: &str) -> (u16, Value) {
    let res = app
        .http
        .get(format!("{}{path}", app.url))
        .header("x-appwrite-project", "jobmanager")
        .header("x-appwrite-key", KEY)
        .send()
        .unwrap();
    (res.status().as_u16(), res.json().unwrap())
}

#[test]
fn the_functions_api_lists_the_demo_schedules_with_their_recorded_runs() {
    let (app, _) = spawn_app_with("operator", &[("JOBS_DEV_DEMO", "1")]);
    let (status, list) = get(&app, "/v1/functions");
    assert_eq!(status, 200, "{list}");
    let schedule_of = |id: &str| {
        list["functions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["$id"] == id)
            .map(|f| (f["schedule"].clone(), f["enabled"].clone()))
    };
    assert_eq!(
        schedule_of("job-retention"),
        Some((json!("*/5 * * * *"), json!(true)))
    );
    assert_eq!(
        schedule_of("sqs-poller"),
        Some((json!("* * * * *"), json!(true)))
    );
    assert_eq!(
        schedule_of("fetch-aws-metrics"),
        Some((json!("*/5 * * * *"), json!(true)))
    );
    assert_eq!(schedule_of("job-actions"), Some((json!(""), json!(true))));

    // The demo records the last hour of runs at start (60 of the poller, and one a minute
    // since): scheduled, failed exactly on odd minutes.
    let (status, runs) = get(
        &app,
        &format!(
            "/v1/functions/sqs-poller/executions?queries[]={}&queries[]={}",
            percent(r#"{"method":"orderDesc","attribute":"$createdAt","values":[]}"#),
            percent(r#"{"method":"limit","values":[100]}"#)
        ),
    );
    assert_eq!(status, 200, "{runs}");
    let runs = runs["executions"].as_array().unwrap().clone();
    assert!(runs.len() >= 60, "{}", runs.len());
    for run in &runs {
        let at = run["$createdAt"].as_str().unwrap();
        let minute: u32 = at[14..16].parse().unwrap();
        let expected = if minute % 2 == 1 {
            "failed"
        } else {
            "completed"
        };
        assert_eq!(run["status"], expected, "{run}");
        assert_eq!(run["trigger"], "schedule");
    }
    let failed = r#"{"method":"equal","attribute":"status","values":["failed"]}"#;
    let (_, counted) = get(
        &app,
        &format!(
            "/v1/functions/sqs-poller/executions?queries[]={}&queries[]={}",
            percent(failed),
            percent(r#"{"method":"limit","values":[1]}"#)
        ),
    );
    assert!(counted["total"].as_u64().unwrap() >= 30, "{counted}");
    assert_eq!(counted["executions"][0]["responseStatusCode"], 500);

    // A query on an attribute Appwrite does not allow is refused as Appwrite refuses it.
    let (status, refused) = get(
        &app,
        &format!(
            "/v1/functions/sqs-poller/executions?queries[]={}",
            percent(r#"{"method":"equal","attribute":"logs","values":["x"]}"#)
        ),
    );
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["type"], "general_query_invalid");

    // job-actions reads it all with its own execution key (appwrite.json's scopes).
    let (code, board) = app.action("GET", "/v1/schedules", Value::Null);
    assert_eq!(code, 200, "{board}");
    let ids: Vec<&str> = board["schedules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["functionId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["fetch-aws-metrics", "job-retention", "sqs-poller"]);
    let poller = &board["schedules"][2];
    assert_eq!(poller["scheduleText"], "every minute");
    assert!(poller["failures24h"].as_u64().unwrap() >= 30, "{poller}");
    assert!(poller["runs24h"].as_u64().unwrap() >= 60, "{poller}");
}

#[test]
fn disable_and_enable_through_job_actions_round_trip_on_the_dev_server() {
    let (app, _) = spawn_app_with("operator", &[("JOBS_DEV_DEMO", "1")]);
    let (code, off) = app.action(
        "POST",
        "/v1/schedules/fetch-aws-metrics/disable",
        json!({"reason": "quota"}),
    );
    assert_eq!(code, 200, "{off}");
    assert_eq!(off["enabled"], false);
    assert_eq!(off["health"], "disabled");
    let (_, doc) = get(&app, "/v1/functions/fetch-aws-metrics");
    assert_eq!(
        doc["schedule"], "*/5 * * * *",
        "the schedule survives the update"
    );
    assert_eq!(doc["enabled"], false);
    let (code, on) = app.action(
        "POST",
        "/v1/schedules/fetch-aws-metrics/enable",
        Value::Null,
    );
    assert_eq!(code, 200, "{on}");
    assert_eq!(on["enabled"], true);
    let actions: Vec<&str> = on["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["enable", "disable"]);
}

fn percent(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
