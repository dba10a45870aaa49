//! The alerts pass on the in-memory store with recording channels, and the webhook through a
//! real local receiver that checks the signature.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::Duration;

use super::receiver::receiver;
use super::*;
use crate::job::{JobStatus, JobType};
use crate::store::conformance::{job, put, t0};
use crate::store::memory::MemoryStore;

const SECRET: &str = "a-webhook-secret-of-some-length";

fn config(pairs: &[(&str, &str)]) -> Result<AlertConfig, ConfigError> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    AlertConfig::from_lookup(|k| map.get(k).cloned())
}

fn both() -> AlertConfig {
    config(&[
        (var::TOPIC_ID, "job-alerts"),
        (var::WEBHOOK_URL, "http://127.0.0.1:9/hook"),
        (var::WEBHOOK_SECRET, SECRET),
    ])
    .unwrap()
}

/// Channels that record what they are asked to send; the webhook fails the first
/// `webhook_failures` attempts, Messaging answers 409 for ids it already holds, as Appwrite does.
#[derive(Default)]
struct Recorder {
    emails: Mutex<Vec<String>>,
    webhooks: Mutex<Vec<String>>,
    webhook_failures: Mutex<usize>,
    email_down: Mutex<bool>,
}

impl Deliver for Recorder {
    fn email(&self, _topic: &str, alert: &Alert) -> Result<Outcome, String> {
        if *self.email_down.lock().unwrap() {
            return Err("Messaging unavailable (503)".into());
        }
        let mut emails = self.emails.lock().unwrap();
        let id = alert.id(Channel::Email);
        if emails.contains(&id) {
            return Ok(Outcome::AlreadySent);
        }
        emails.push(id);
        Ok(Outcome::Sent)
    }
    fn webhook(&self, _: &WebhookTarget, alert: &Alert, _: Timestamp) -> Result<Outcome, String> {
        let mut failures = self.webhook_failures.lock().unwrap();
        if *failures > 0 {
            *failures -= 1;
            return Err("webhook answered 500".into());
        }
        self.webhooks.lock().unwrap().push(alert.key.clone());
        Ok(Outcome::Sent)
    }
}

fn finished(store: &MemoryStore, id: &str, status: JobStatus, minutes_ago: i64, now: Timestamp) {
    let mut j = job(id, JobType::CampaignRun, status, now - Duration::hours(2));
    j.completed_at = Some(now - Duration::minutes(minutes_ago));
    j.updated_at = now - Duration::minutes(minutes_ago);
    put(store, &j);
}

fn now() -> Timestamp {
    t0() + Duration::days(3)
}

#[test]
fn nothing_is_configured_by_default_and_the_pass_then_reads_nothing() {
    let config = config(&[]).unwrap();
    assert!(!config.enabled());
    assert_eq!(config.digest, Digest::Off);
    let store = crate::store::layer::Layered {
        inner: MemoryStore::new(),
        hook: CountCalls::default(),
    };
    let report = sweep(&store, &config, &Recorder::default(), now()).unwrap();
    assert_eq!(report, Report::default());
    assert_eq!(
        *store.hook.0.lock().unwrap(),
        0,
        "no store call when alerts are off"
    );
}

#[derive(Default)]
struct CountCalls(Mutex<usize>);
impl crate::store::layer::Hook for CountCalls {
    fn before(&self, _: crate::store::layer::Call<'_>) -> StoreResult<()> {
        *self.0.lock().unwrap() += 1;
        Ok(())
    }
}

#[test]
fn invalid_variables_are_named_at_once_and_the_secret_is_never_echoed() {
    let err = config(&[
        (var::TOPIC_ID, "_bad id"),
        (var::WEBHOOK_URL, "ftp://example.test/x"),
        (var::WEBHOOK_SECRET, "short-secret"),
        (var::DIGEST, "weekly"),
        (var::WINDOW_MINUTES, "5"),
    ])
    .unwrap_err();
    assert_eq!(
        err.variables(),
        [
            var::TOPIC_ID,
            var::WEBHOOK_URL,
            var::WEBHOOK_SECRET,
            var::DIGEST,
            var::WINDOW_MINUTES
        ]
    );
    assert!(!err.to_string().contains("short-secret"), "{err}");
    assert!(!err.to_string().contains("example.test"), "{err}");
}

#[test]
fn a_webhook_without_its_secret_and_a_digest_without_a_channel_are_refused() {
    let err = config(&[(var::WEBHOOK_URL, "https://hooks.example.test/x")]).unwrap_err();
    assert_eq!(err.variables(), [var::WEBHOOK_SECRET]);
    let err = config(&[(var::DIGEST, "daily")]).unwrap_err();
    assert_eq!(err.variables(), [var::DIGEST]);
    assert!(format!("{:?}", both()).find(SECRET).is_none());
}

#[test]
fn each_failed_job_is_alerted_once_per_channel_and_finished_jobs_that_did_not_fail_never() {
    let store = MemoryStore::new();
    finished(&store, "failed-1", JobStatus::Failed, 3, now());
    finished(&store, "failed-2", JobStatus::Failed, 1, now());
    finished(&store, "done-1", JobStatus::Completed, 2, now());
    finished(&store, "cancelled-1", JobStatus::Cancelled, 2, now());
    let channels = Recorder::default();
    let before = store.get("failed-1").unwrap();

    let report = sweep(&store, &both(), &channels, now()).unwrap();
    assert_eq!(report.sent, 4, "{report:?}");
    assert_eq!(
        *channels.webhooks.lock().unwrap(),
        ["job-failed:failed-1", "job-failed:failed-2"],
        "oldest first, failed jobs only"
    );
    assert_eq!(channels.emails.lock().unwrap().len(), 2);

    let again = sweep(&store, &both(), &channels, now() + Duration::minutes(5)).unwrap();
    assert_eq!(
        again,
        Report::default(),
        "a second sweep over the same failures sends nothing"
    );
    assert_eq!(channels.webhooks.lock().unwrap().len(), 2);
    assert_eq!(channels.emails.lock().unwrap().len(), 2);

    let log = store.events("failed-1", 10).unwrap();
    let notes: Vec<&JobEvent> = log
        .iter()
        .filter(|e| e.kind == EventKind::Alerted)
        .collect();
    assert_eq!(
        notes.len(),
        2,
        "one note per channel in the job's log: {log:?}"
    );
    assert_eq!(
        store.get("failed-1").unwrap(),
        before,
        "the job itself is untouched"
    );
}

#[test]
fn a_webhook_that_fails_is_retried_by_the_next_sweep_and_then_delivered_once() {
    let store = MemoryStore::new();
    finished(&store, "failed-1", JobStatus::Failed, 1, now());
    let channels = Recorder {
        webhook_failures: Mutex::new(1),
        ..Recorder::default()
    };
    let first = sweep(&store, &both(), &channels, now()).unwrap();
    assert_eq!((first.sent, first.failed), (1, 1), "{first:?}");
    assert_eq!(first.errors, ["webhook: webhook answered 500"]);
    assert!(channels.webhooks.lock().unwrap().is_empty());

    let second = sweep(&store, &both(), &channels, now() + Duration::minutes(5)).unwrap();
    assert_eq!((second.sent, second.failed), (1, 0), "{second:?}");
    let third = sweep(&store, &both(), &channels, now() + Duration::minutes(10)).unwrap();
    assert_eq!(third, Report::default());
    assert_eq!(*channels.webhooks.lock().unwrap(), ["job-failed:failed-1"]);
    assert_eq!(
        channels.emails.lock().unwrap().len(),
        1,
        "the email was not sent twice"
    );
}

#[test]
fn an_email_sent_but_not_noted_is_answered_as_already_sent_and_noted_without_a_second_message() {
    let store = MemoryStore::new();
    finished(&store, "failed-1", JobStatus::Failed, 1, now());
    let email_only = config(&[(var::TOPIC_ID, "job-alerts")]).unwrap();
    let channels = Recorder::default();
    // A sweep that died after Messaging took the message: the id is held, nothing is noted.
    let alert = job_failed(&store.get("failed-1").unwrap());
    channels
        .emails
        .lock()
        .unwrap()
        .push(alert.id(Channel::Email));

    let report = sweep(&store, &email_only, &channels, now()).unwrap();
    assert_eq!((report.sent, report.already_sent), (0, 1), "{report:?}");
    assert_eq!(channels.emails.lock().unwrap().len(), 1);
    assert_eq!(store.noted(&[&alert.id(Channel::Email)]).unwrap().len(), 1);
}

#[test]
fn while_messaging_is_down_emails_wait_for_the_next_sweeps_and_the_webhook_is_not_repeated() {
    let store = MemoryStore::new();
    finished(&store, "failed-1", JobStatus::Failed, 1, now());
    let channels = Recorder {
        email_down: Mutex::new(true),
        ..Recorder::default()
    };
    for minutes in [0, 5, 10] {
        sweep(
            &store,
            &both(),
            &channels,
            now() + Duration::minutes(minutes),
        )
        .unwrap();
    }
    assert_eq!(channels.webhooks.lock().unwrap().len(), 1);
    assert!(channels.emails.lock().unwrap().is_empty());
    *channels.email_down.lock().unwrap() = false;
    let back = sweep(&store, &both(), &channels, now() + Duration::minutes(15)).unwrap();
    assert_eq!(back.sent, 1, "{back:?}");
    assert_eq!(channels.emails.lock().unwrap().len(), 1);
}

#[test]
fn a_failure_older_than_the_window_is_no_longer_alerted() {
    let store = MemoryStore::new();
    finished(&store, "old", JobStatus::Failed, 361, now());
    finished(&store, "recent", JobStatus::Failed, 359, now());
    let channels = Recorder::default();
    sweep(&store, &both(), &channels, now()).unwrap();
    assert_eq!(*channels.webhooks.lock().unwrap(), ["job-failed:recent"]);
}

#[test]
fn a_burst_is_delivered_over_several_sweeps_within_the_bound_of_each() {
    let store = MemoryStore::new();
    for n in 0..30 {
        finished(
            &store,
            &format!("failed-{n:02}"),
            JobStatus::Failed,
            1,
            now(),
        );
    }
    let channels = Recorder::default();
    let first = sweep(&store, &both(), &channels, now()).unwrap();
    assert_eq!(
        (first.sent, first.deferred),
        (MAX_DELIVERIES, 60 - MAX_DELIVERIES)
    );
    let second = sweep(&store, &both(), &channels, now()).unwrap();
    assert_eq!((second.sent, second.deferred), (60 - MAX_DELIVERIES, 0));
    assert_eq!(channels.webhooks.lock().unwrap().len(), 30);
}

#[test]
fn the_daily_digest_is_sent_once_a_day_from_its_hour() {
    let store = MemoryStore::new();
    let digest_on = config(&[
        (var::WEBHOOK_URL, "http://127.0.0.1:9/hook"),
        (var::WEBHOOK_SECRET, SECRET),
        (var::DIGEST, "daily"),
        (var::DIGEST_HOUR, "8"),
    ])
    .unwrap();
    let day = t0().date_naive().and_hms_opt(0, 0, 0).unwrap().and_utc() + Duration::days(3);
    let channels = Recorder::default();
    sweep(&store, &digest_on, &channels, day + Duration::hours(7)).unwrap();
    assert!(
        channels.webhooks.lock().unwrap().is_empty(),
        "not before its hour"
    );
    for minutes in [0, 5, 600] {
        sweep(
            &store,
            &digest_on,
            &channels,
            day + Duration::hours(8) + Duration::minutes(minutes),
        )
        .unwrap();
    }
    sweep(&store, &digest_on, &channels, day + Duration::hours(32)).unwrap();
    let date = |d: Timestamp| format!("digest:{}", d.format("%Y-%m-%d"));
    assert_eq!(
        *channels.webhooks.lock().unwrap(),
        [date(day), date(day + Duration::days(1))]
    );
}

#[test]
fn the_live_webhook_is_signed_carries_its_idempotency_id_and_is_retried_after_a_500() {
    let (url, requests) = receiver(vec![500, 200]);
    let config = config(&[(var::WEBHOOK_URL, &url), (var::WEBHOOK_SECRET, SECRET)]).unwrap();
    let store = MemoryStore::new();
    let at = chrono::Utc::now();
    finished(&store, "failed-1", JobStatus::Failed, 1, at);
    let live = Live { messaging: None };

    let first = sweep(&store, &config, &live, at).unwrap();
    assert_eq!((first.sent, first.failed), (0, 1), "{first:?}");
    let second = sweep(&store, &config, &live, at).unwrap();
    assert_eq!((second.sent, second.failed), (1, 0), "{second:?}");
    assert_eq!(
        sweep(&store, &config, &live, at).unwrap(),
        Report::default()
    );

    let received: Vec<_> = requests.iter().take(2).collect();
    let alert = job_failed(&store.get("failed-1").unwrap());
    for (signature, delivery, body) in &received {
        assert!(
            signature::verify(SECRET, signature, body, at.timestamp(), 300),
            "{signature} signs {body}"
        );
        assert_eq!(
            delivery,
            &alert.id(Channel::Webhook),
            "the same id on every attempt"
        );
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        assert!(
            json["text"].as_str().unwrap().contains("failed-1"),
            "{body}"
        );
    }
}

fn schedule(health: crate::schedules::Health) -> crate::schedules::Schedule {
    crate::schedules::Schedule {
        function_id: "sqs-poller".into(),
        name: "sqs-poller".into(),
        schedule: "* * * * *".into(),
        schedule_text: "every minute".into(),
        enabled: health != crate::schedules::Health::Disabled,
        next_run_at: None,
        health,
        health_reason: format!("it is {}", health.as_str()),
        recent: Vec::new(),
        totals: Default::default(),
    }
}

fn schedule_pass(
    store: &dyn JobStore,
    config: &AlertConfig,
    channels: &Recorder,
    health: crate::schedules::Health,
) -> Report {
    let mut report = Report::default();
    sweep_schedules(
        store,
        config,
        channels,
        &[schedule(health)],
        now(),
        &mut report,
    )
    .unwrap();
    report
}

#[test]
fn a_schedule_is_alerted_once_per_change_and_never_while_it_stays_late() {
    use crate::schedules::Health::*;
    let store = MemoryStore::new();
    let channels = Recorder::default();
    let config = both();
    for health in [
        Ok, Ok, Late, Late, Late, Ok, Disabled, Failing, Failing, Late, Ok,
    ] {
        schedule_pass(&store, &config, &channels, health);
    }
    let subjects: Vec<String> = channels.webhooks.lock().unwrap().clone();
    assert_eq!(
        subjects,
        [
            "schedule:sqs-poller:0:late",
            "schedule:sqs-poller:1:ok",
            "schedule:sqs-poller:2:failing",
            "schedule:sqs-poller:3:late",
            "schedule:sqs-poller:4:ok",
        ],
        "first seen ok says nothing; disabled counts as ok"
    );
    assert_eq!(
        channels.emails.lock().unwrap().len(),
        5,
        "the same changes by email"
    );
}

#[test]
fn a_schedule_change_whose_webhook_failed_is_retried_while_the_state_holds() {
    use crate::schedules::Health::*;
    let store = MemoryStore::new();
    let channels = Recorder {
        webhook_failures: Mutex::new(1),
        ..Recorder::default()
    };
    let config = both();
    let first = schedule_pass(&store, &config, &channels, Failing);
    assert_eq!((first.sent, first.failed), (1, 1), "{first:?}");
    let second = schedule_pass(&store, &config, &channels, Failing);
    assert_eq!((second.sent, second.failed), (1, 0), "{second:?}");
    assert_eq!(
        schedule_pass(&store, &config, &channels, Failing),
        Report::default()
    );
    assert_eq!(channels.emails.lock().unwrap().len(), 1);
    assert_eq!(channels.webhooks.lock().unwrap().len(), 1);
}

#[test]
fn the_last_change_is_found_past_the_first_probe_window() {
    use crate::schedules::Health::*;
    let store = MemoryStore::new();
    let channels = Recorder::default();
    let config = config(&[(var::TOPIC_ID, "job-alerts")]).unwrap();
    // 2 × FIRST_WINDOW + 3 changes, then the state holds.
    let changes = 2 * schedule::FIRST_WINDOW as usize + 3;
    for i in 0..changes {
        let health = if i % 2 == 0 { Late } else { Ok };
        assert_eq!(
            schedule_pass(&store, &config, &channels, health).sent,
            1,
            "change {i}"
        );
    }
    let holds = if changes % 2 == 1 { Late } else { Ok };
    assert_eq!(
        schedule_pass(&store, &config, &channels, holds),
        Report::default()
    );
    assert_eq!(channels.emails.lock().unwrap().len(), changes);
}

#[test]
fn schedule_alerts_can_be_switched_off_and_their_logs_fit_the_job_id_column() {
    let store = MemoryStore::new();
    let channels = Recorder::default();
    let mut config = both();
    config.schedules = false;
    schedule_pass(&store, &config, &channels, crate::schedules::Health::Late);
    assert!(channels.webhooks.lock().unwrap().is_empty());
    let log = schedule_log("a-function-id-of-thirty-six-chars-xx");
    assert_eq!(log.len(), 36);
    assert!(crate::store::id::is_valid(&log));
    assert_ne!(log, schedule_log("another"));
}
