//! Alerts on the dev server: a job failed through its hook is alerted by the next retention run
//! exactly once, as an email recorded by jobs-dev's Messaging endpoint and as a signed POST to
//! a local webhook receiver; a webhook that fails is retried by the next run and then delivered
//! once; a completed job is never alerted.

use serde_json::{json, Value};
use shared::alerts::receiver::receiver;
use shared::alerts::signature;

use crate::{spawn_app_with, App, KEY};

const SECRET: &str = "dev-alerts-webhook-secret-42";

fn messages(app: &App) -> Vec<Value> {
    let list: Value = app
        .http
        .get(format!("{}/v1/messaging/messages", app.url))
        .header("x-appwrite-key", KEY)
        .send()
        .unwrap()
        .json()
        .unwrap();
    list["messages"].as_array().cloned().unwrap_or_default()
}

fn finish(app: &App, reference: &str, event: &str) -> String {
    let started = app.hook(json!({"event": "start", "referenceId": reference}));
    let id = started["job"]["$id"].as_str().unwrap().to_owned();
    let mut end = json!({"event": event, "jobId": id, "run": started["job"]["run"]});
    if event == "fail" {
        end["error"] = json!("SES quota exceeded");
    }
    app.hook(end);
    id
}

fn retention(app: &App) -> Value {
    let (code, report) = app.call("job-retention", true, "POST", "/", Value::Null);
    assert_eq!(code, 200, "{report}");
    report
}

#[test]
fn a_failed_job_is_alerted_once_by_email_and_signed_webhook_and_a_failed_webhook_is_retried() {
    let (url, webhook) = receiver(vec![500, 200, 200]);
    let (app, _) = spawn_app_with(
        "operator",
        &[
            ("JOBS_ALERT_TOPIC_ID", "job-alerts"),
            ("JOBS_ALERT_WEBHOOK_URL", &url),
            ("JOBS_ALERT_WEBHOOK_SECRET", SECRET),
            // The dev server's functions list may lack what the schedule view needs; this test
            // is about job failures.
            ("JOBS_ALERT_SCHEDULES", "0"),
        ],
    );
    let failed = finish(&app, "campaign-7", "fail");
    finish(&app, "campaign-8", "complete");

    let first = retention(&app);
    assert_eq!(
        (&first["alerts"]["sent"], &first["alerts"]["failed"]),
        (&json!(1), &json!(1)),
        "the email went, the webhook answered 500: {first}"
    );
    let second = retention(&app);
    assert_eq!(second["alerts"]["sent"], 1, "the webhook retried: {second}");
    let third = retention(&app);
    assert_eq!(third["alerts"]["sent"], 0, "nothing more: {third}");

    let recorded = messages(&app);
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert_eq!(recorded[0]["topics"], json!(["job-alerts"]));
    let content = recorded[0]["data"]["content"].as_str().unwrap();
    assert!(
        content.contains(&failed) && content.contains("SES quota exceeded"),
        "{content}"
    );

    let deliveries: Vec<(String, String)> = webhook
        .iter()
        .take(2)
        .map(|(signed, _, body)| (signed, body))
        .collect();
    let now = chrono::Utc::now().timestamp();
    for (signed, body) in &deliveries {
        assert!(
            signature::verify(SECRET, signed, body, now, 600),
            "{signed}"
        );
        let body: Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["alert"]["fields"]["jobId"], failed.as_str());
    }
    assert_eq!(
        deliveries[0].1, deliveries[1].1,
        "the retry is the same alert"
    );
    assert!(webhook.try_recv().is_err(), "no third delivery");
}

#[test]
fn the_messaging_endpoint_needs_a_server_key_with_the_messages_scope() {
    let (app, _) = spawn_app_with("operator", &[]);
    let res = app
        .http
        .post(format!("{}/v1/messaging/messages/email", app.url))
        .json(&json!({"messageId": "m1", "topics": ["t"], "subject": "s", "content": "c"}))
        .send()
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);
    assert!(messages(&app).is_empty());
}

#[test]
fn a_retention_run_reads_every_schedule_with_its_own_key_and_alerts_nothing_while_all_are_ok() {
    let (app, _) = spawn_app_with("operator", &[("JOBS_ALERT_TOPIC_ID", "job-alerts")]);
    let report = retention(&app);
    assert_eq!(
        report["alerts"],
        json!({"sent": 0, "alreadySent": 0, "failed": 0, "deferred": 0, "errors": []}),
        "{report}"
    );
    assert!(messages(&app).is_empty());
}
