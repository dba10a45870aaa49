//! The Schedules view's data on the dev server: the Functions API lists `appwrite.json`'s
//! scheduled functions and the demo's, their recorded runs come back through the executions
//! list, and job-actions' `/v1/schedules` reads them with its own key's scopes
//! (docs/schedules.md § Locally); `POST /v1/dev/schedules` registers one with a past history
//! on demand (docs/local.md).

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

/// `POST /v1/dev/schedules` with `key` (none: a browser's request).
fn seed(app: &App, key: Option<&str>, body: &Value) -> (u16, Value) {
    let mut req = app
        .http
        .post(format!("{}/v1/dev/schedules", app.url))
        .header("x-appwrite-project", "jobmanager")
        .json(body);
    if let Some(key) = key {
        req = req.header("x-appwrite-key", key);
    }
    let res = req.send().unwrap();
    (res.status().as_u16(), res.json().unwrap())
}

fn iso(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[test]
fn a_schedule_registered_with_a_past_history_is_late_or_failing_at_once() {
    let (app, _) = spawn_app_with("operator", &[]);
    let now = chrono::Utc::now();
    let minutes = |n: i64| iso(now - chrono::Duration::minutes(n));
    // Every minute since an hour ago, last run 10 minutes ago: late whatever the second.
    let late = json!({"functionId": "late-poller", "name": "Late poller", "schedule": "* * * * *",
        "since": minutes(60),
        "runs": [{"at": minutes(10), "status": "completed", "duration": 0.5}]});
    let (status, doc) = seed(&app, Some(KEY), &late);
    assert_eq!(status, 201, "{doc}");
    assert_eq!(
        (&doc["$id"], &doc["name"], &doc["schedule"], &doc["enabled"]),
        (
            &json!("late-poller"),
            &json!("Late poller"),
            &json!("* * * * *"),
            &json!(true)
        )
    );
    let since = shared::appwrite::datetime(&(now - chrono::Duration::minutes(60)));
    assert_eq!(
        (&doc["$createdAt"], &doc["$updatedAt"]),
        (&json!(since), &json!(since))
    );
    let failed: Vec<Value> = [3, 2, 1]
        .map(|n| json!({"at": minutes(n), "status": "failed", "duration": 2}))
        .into();
    let failing = json!({"functionId": "failing-poller", "schedule": "* * * * *",
        "since": minutes(60), "runs": failed});
    assert_eq!(seed(&app, Some(KEY), &failing).0, 201);

    // Appwrite's Functions API serves them like any other function, runs included.
    let (_, runs) = get(&app, "/v1/functions/late-poller/executions");
    assert_eq!(runs["total"], 1, "{runs}");
    assert_eq!(
        (
            &runs["executions"][0]["trigger"],
            &runs["executions"][0]["status"]
        ),
        (&json!("schedule"), &json!("completed"))
    );

    let (code, board) = app.action("GET", "/v1/schedules", Value::Null);
    assert_eq!(code, 200, "{board}");
    let health = |id: &str| {
        board["schedules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["functionId"] == id)
            .map(|s| (s["name"].clone(), s["health"].clone()))
    };
    assert_eq!(
        health("late-poller"),
        Some((json!("Late poller"), json!("late")))
    );
    assert_eq!(
        health("failing-poller"),
        Some((json!("failing-poller"), json!("failing")))
    );

    // An id that is taken, by a seeded or a hosted function, is refused and changes nothing.
    for id in ["late-poller", "job-retention"] {
        let mut again = late.clone();
        again["functionId"] = json!(id);
        again["schedule"] = json!("0 * * * *");
        let (status, refused) = seed(&app, Some(KEY), &again);
        assert_eq!(
            (status, &refused["type"]),
            (409, &json!("function_already_exists"))
        );
    }
    let (_, doc) = get(&app, "/v1/functions/late-poller");
    assert_eq!(doc["schedule"], "* * * * *");
}

#[test]
fn registering_a_schedule_needs_the_development_key_and_a_well_formed_body() {
    let (app, _) = spawn_app_with("operator", &[]);
    let body = json!({"functionId": "nightly", "schedule": "0 3 * * *",
        "since": iso(chrono::Utc::now() - chrono::Duration::days(2))});
    for key in [None, Some("not-the-key-0123456789")] {
        let (status, refused) = seed(&app, key, &body);
        assert_eq!(status, 401, "{refused}");
        // Appwrite's error document.
        for field in ["message", "code", "type", "version"] {
            assert!(refused.get(field).is_some(), "{field} in {refused}");
        }
    }
    let mut bad = body.clone();
    bad["runs"] = json!([{"at": iso(chrono::Utc::now()), "status": "crashed", "duration": 1}]);
    let (status, refused) = seed(&app, Some(KEY), &bad);
    assert_eq!(
        (status, &refused["type"]),
        (400, &json!("general_argument_invalid"))
    );
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("`runs[0].status`"),
        "{refused}"
    );
    let (_, list) = get(&app, "/v1/functions");
    assert!(
        list["functions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["$id"] != "nightly"),
        "nothing was registered by the refused requests"
    );
    assert_eq!(seed(&app, Some(KEY), &body).0, 201);
}

fn percent(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
