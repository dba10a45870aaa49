//! Alerts end to end on the fake: `job-retention`'s production wiring (the AppwriteStore and
//! Messaging with the request's key) delivering through the fake's Messaging route and a local
//! webhook receiver that checks the signature; schedule alerts from the functions and
//! executions the fake holds; the Messaging route answering as Appwrite does; and a hook call
//! that fails a job costing the same requests with alerts on as off.

use std::collections::HashMap;
use std::sync::Arc;

use fake_appwrite::{FakeAppwrite, SeededExecution};
use openruntimes::{Context, Logger};
use serde_json::{json, Value};
use shared::alerts::receiver::receiver;
use shared::alerts::{self, signature, Outcome};
use shared::appwrite::{AppwriteClient, AppwriteConfig, Call, Method, Retry};
use shared::platform::Platform;
use shared::store::appwrite::AppwriteStore;

const SECRET: &str = "alerts-webhook-secret-0123";

fn platform(fake: &FakeAppwrite, extra: &[(&str, &str)]) -> Platform {
    let mut vars = fake.variables();
    for (k, v) in extra {
        vars.insert(k.to_string(), v.to_string());
    }
    let store_vars = vars.clone();
    let store = AppwriteStore::from_lookup(|k| store_vars.get(k).cloned()).unwrap();
    Platform::new(Arc::new(store), Arc::new(move |k| vars.get(k).cloned()))
}

fn scheduled(fake: &FakeAppwrite) -> Context {
    let mut ctx = Context::new(Logger::new("disabled", Some("sweep".into())).unwrap());
    ctx.req.method = "POST".into();
    ctx.req.path = "/".into();
    ctx.req.headers = HashMap::from([
        ("x-appwrite-trigger".to_owned(), "schedule".to_owned()),
        ("x-appwrite-key".to_owned(), fake.key()),
    ]);
    ctx
}

fn hook(platform: &Platform, body: Value) -> Value {
    let ctx = shared::tracker::server_context(body.to_string().as_bytes(), None).unwrap();
    let res = hook_campaign_run::handle(ctx, platform);
    assert!(
        matches!(res.status_code, 200 | 201),
        "{}",
        String::from_utf8_lossy(&res.body)
    );
    serde_json::from_slice(&res.body).unwrap()
}

/// Starts a campaign job and fails it (or completes it) through the hook; answers its id.
fn finish(platform: &Platform, reference: &str, event: &str) -> String {
    let started = hook(
        platform,
        json!({"event": "start", "referenceId": reference}),
    );
    let (id, run) = (started["job"]["$id"].clone(), started["job"]["run"].clone());
    let mut end = json!({"event": event, "jobId": id, "run": run});
    if event == "fail" {
        end["error"] = json!("SES quota exceeded");
    }
    hook(platform, end);
    id.as_str().unwrap().to_owned()
}

fn sweep(fake: &FakeAppwrite, platform: &Platform) -> Value {
    let res = job_retention::handle(scheduled(fake), platform);
    assert_eq!(
        res.status_code,
        200,
        "{}",
        String::from_utf8_lossy(&res.body)
    );
    serde_json::from_slice(&res.body).unwrap()
}

#[test]
fn one_alert_per_failed_job_reaches_messaging_and_the_signed_webhook_and_none_for_a_completed_job()
{
    let fake = FakeAppwrite::start();
    let (url, webhook) = receiver(vec![200, 200, 200]);
    let platform = platform(
        &fake,
        &[
            ("JOBS_ALERT_TOPIC_ID", "job-alerts"),
            ("JOBS_ALERT_WEBHOOK_URL", &url),
            ("JOBS_ALERT_WEBHOOK_SECRET", SECRET),
        ],
    );
    let failed = finish(&platform, "campaign-1", "fail");
    finish(&platform, "campaign-2", "complete");

    let first = sweep(&fake, &platform);
    assert_eq!(first["alerts"]["sent"], 2, "{first}");
    let second = sweep(&fake, &platform);
    assert_eq!(
        second["alerts"]["sent"], 0,
        "a second sweep sends nothing: {second}"
    );

    let messages = fake.messages();
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(messages[0].topics, ["job-alerts"]);
    assert!(messages[0].subject.contains("campaign-1"), "{messages:?}");
    assert!(
        messages[0].content.contains("SES quota exceeded"),
        "{messages:?}"
    );
    assert!(!messages[0].html);

    let (signed, delivery, body) = webhook.recv().unwrap();
    let now = chrono::Utc::now().timestamp();
    assert!(
        signature::verify(SECRET, &signed, &body, now, 300),
        "{signed}"
    );
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["alert"]["fields"]["jobId"], failed.as_str());
    assert_eq!(body["alert"]["id"], delivery.as_str());
    assert!(
        body["text"].as_str().unwrap().contains("campaign-1"),
        "{body}"
    );
    assert!(webhook.try_recv().is_err(), "exactly one webhook delivery");

    // Both deliveries are in the job's log, and the job itself did not move.
    let (job, log) =
        shared::store::JobStore::job_with_events(&*platform.store, &failed, 50).unwrap();
    let notes: Vec<_> = log
        .iter()
        .filter(|e| e.kind == shared::job::EventKind::Alerted)
        .collect();
    assert_eq!(notes.len(), 2, "{log:?}");
    assert_eq!(job.status, shared::job::JobStatus::Failed);
}

#[test]
fn a_hook_call_that_fails_a_job_costs_the_same_appwrite_requests_with_alerts_on_as_off() {
    let cost = |extra: &[(&str, &str)]| {
        let fake = FakeAppwrite::start();
        let platform = platform(&fake, extra);
        let started = hook(&platform, json!({"event": "start", "referenceId": "c1"}));
        fake.reset_requests();
        hook(
            &platform,
            json!({"event": "fail", "jobId": started["job"]["$id"], "run": started["job"]["run"],
                   "error": "boom"}),
        );
        (fake.requests(), fake.messages().len())
    };
    let off = cost(&[]);
    let on = cost(&[
        ("JOBS_ALERT_TOPIC_ID", "job-alerts"),
        ("JOBS_ALERT_WEBHOOK_URL", "http://127.0.0.1:9/never-called"),
        ("JOBS_ALERT_WEBHOOK_SECRET", SECRET),
    ]);
    assert_eq!(
        on, off,
        "the same requests per route, and no message from the hook call"
    );
    assert_eq!(off.1, 0);
}

#[test]
fn messaging_takes_an_email_once_per_id_and_answers_a_repeat_409_as_appwrite_does() {
    let fake = FakeAppwrite::start();
    let vars = fake.variables();
    let client =
        AppwriteClient::new(AppwriteConfig::from_lookup(|k| vars.get(k).cloned(), None).unwrap());
    let send = |id: &str, topic: &str| alerts::create_email(&client, id, topic, "Subject", "Body");
    assert_eq!(send("a1", "ops").unwrap(), Outcome::Sent);
    assert_eq!(send("a1", "ops").unwrap(), Outcome::AlreadySent);

    let refused = |body: Value| {
        let mut call = Call::new(
            Method::POST,
            "/messaging/messages/email",
            Retry::OnlyRateLimit,
        );
        call.body = Some(body);
        let err = client.send(&call).unwrap_err();
        (
            err.status().unwrap_or(0),
            err.kind().unwrap_or_default().to_owned(),
        )
    };
    assert_eq!(
        refused(json!({"messageId": "a2", "subject": "s", "content": "c"})),
        (400, "message_missing_target".into())
    );
    assert_eq!(
        refused(json!({"messageId": "_bad", "subject": "s", "content": "c", "topics": ["t"]})),
        (400, "general_argument_invalid".into())
    );
    assert_eq!(
        refused(json!({"messageId": "a3", "content": "c", "topics": ["t"]})),
        (400, "general_argument_invalid".into())
    );
    let messages = fake.messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(
        (messages[0].id.as_str(), messages[0].status.as_str()),
        ("a1", "processing")
    );

    fake.set_key_scopes(Some(&["rows.read", "rows.write"]));
    let err = send("a4", "ops").unwrap_err();
    assert_eq!(err.kind(), Some("general_unauthorized_scope"), "{err}");
}

#[test]
fn a_schedule_turning_failing_and_back_is_alerted_once_per_change_through_both_channels() {
    let fake = FakeAppwrite::start();
    let (url, webhook) = receiver(vec![200, 200, 200]);
    let mut platform = platform(
        &fake,
        &[
            ("JOBS_ALERT_TOPIC_ID", "job-alerts"),
            ("JOBS_ALERT_WEBHOOK_URL", &url),
            ("JOBS_ALERT_WEBHOOK_SECRET", SECRET),
        ],
    );
    let t0 = chrono::Utc::now();
    platform.clock = Arc::new(move || t0);
    let old = shared::appwrite::datetime(&(t0 - chrono::Duration::days(3)));
    fake.add_function(
        "sqs-poller",
        "sqs-poller",
        json!({"schedule": "* * * * *", "$updatedAt": old}),
    );
    let run = |seconds_ago: i64, status: &'static str| SeededExecution {
        trigger: "schedule",
        status,
        created_at: shared::appwrite::datetime(&(t0 - chrono::Duration::seconds(seconds_ago))),
        duration: 1.0,
        status_code: if status == "failed" { 500 } else { 200 },
    };
    for seconds_ago in [180, 120, 60] {
        fake.add_execution("sqs-poller", &run(seconds_ago, "failed"));
    }

    let first = sweep(&fake, &platform);
    assert_eq!(first["alerts"]["sent"], 2, "{first}");
    assert_eq!(
        sweep(&fake, &platform)["alerts"]["sent"],
        0,
        "still failing: no repeat"
    );
    fake.add_execution("sqs-poller", &run(10, "completed"));
    let back = sweep(&fake, &platform);
    assert_eq!(back["alerts"]["sent"], 2, "{back}");
    assert_eq!(
        sweep(&fake, &platform)["alerts"]["sent"],
        0,
        "still ok: nothing"
    );

    let subjects: Vec<String> = fake.messages().into_iter().map(|m| m.subject).collect();
    assert_eq!(
        subjects,
        [
            "Schedule failing: sqs-poller",
            "Schedule back to normal: sqs-poller"
        ]
    );
    let kinds: Vec<Value> = webhook
        .iter()
        .take(2)
        .map(|(signed, _, body)| {
            assert!(signature::verify(
                SECRET,
                &signed,
                &body,
                t0.timestamp(),
                300
            ));
            let body: Value = serde_json::from_str(&body).unwrap();
            body["alert"]["fields"]["health"].clone()
        })
        .collect();
    assert_eq!(kinds, [json!("failing"), json!("ok")]);
    assert!(webhook.try_recv().is_err(), "one webhook per change");
}
