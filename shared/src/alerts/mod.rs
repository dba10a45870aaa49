//! Alerts: operators are told when a job becomes FAILED (a worker's `fail`, the sweeper's stall,
//! the observer's dead execution) and, optionally, once a day in a digest, through Appwrite
//! Messaging (an email to a topic) and/or a signed webhook. docs/alerts.md has the contract.
//!
//! Alerts never ride on the call that caused them: the scheduled sweeper (`job-retention`) calls
//! [`sweep`], which finds the failures of a recent window, skips those already noted in their
//! job's log, delivers the rest and notes each delivery (`JobStore::note`) under an id derived
//! from the alert, per channel. Messaging refuses a second message with the same id, so email is
//! exactly once; the webhook is at least once, with an idempotency id, when a sweep dies
//! between delivering and noting. [`sweep_schedules`] does the same for scheduled functions
//! whose health (`schedules::assess`) changes. Rooms: `message` (what is sent, pure),
//! `schedule` (which health changes to send, and where they are remembered), `signature` (the
//! webhook's HMAC), `deliver` (the channels).

mod deliver;
mod message;
#[cfg(any(test, feature = "conformance"))]
pub mod receiver;
mod schedule;
pub mod signature;

use std::fmt;

use chrono::{Duration, Timelike};
use serde::Serialize;
use serde_json::{json, Map};

use crate::config::{ConfigError, Vars};
use crate::job::{EventKind, Job, JobEvent, JobStatus, Timestamp, ACTOR_SYSTEM};
use crate::store::{DateField, DateRange, JobQuery, JobStore, Order, StoreResult, MAX_PAGE};

pub use deliver::{create_email, post_webhook, Deliver, Live, Outcome, DELIVERY_HEADER};
pub use message::{digest, id_of, job_failed, Alert, Channel, DIGEST_LOG};
pub use schedule::{log_id as schedule_log, schedule_alert, Watch};

/// The variables, all optional: nothing is sent unless a topic or a webhook URL is set.
pub mod var {
    /// The Messaging topic operators subscribe to (an Appwrite id).
    pub const TOPIC_ID: &str = "JOBS_ALERT_TOPIC_ID";
    /// The webhook URL (`https://…`, or `http://` for a local receiver).
    pub const WEBHOOK_URL: &str = "JOBS_ALERT_WEBHOOK_URL";
    /// The webhook's signing secret: required with the URL, never logged.
    pub const WEBHOOK_SECRET: &str = "JOBS_ALERT_WEBHOOK_SECRET";
    /// `off` (default) or `daily`.
    pub const DIGEST: &str = "JOBS_ALERT_DIGEST";
    /// The UTC hour from which the day's digest is sent (0-23, default 8).
    pub const DIGEST_HOUR: &str = "JOBS_ALERT_DIGEST_HOUR";
    /// How far back a sweep looks for failures to alert, in minutes (10-10080, default 360):
    /// the bound on how long an undelivered alert is retried.
    pub const WINDOW_MINUTES: &str = "JOBS_ALERT_WINDOW_MINUTES";
    /// `1` (default) or `0`: whether schedules turning late or failing (and back) are alerted.
    pub const SCHEDULES: &str = "JOBS_ALERT_SCHEDULES";
}

/// Deliveries one sweep makes at most, so a burst of failures (or a slow webhook, 5 s an
/// attempt) cannot use up the sweeper's time; the rest go in the next sweeps.
pub const MAX_DELIVERIES: usize = 50;

/// The webhook and its secret. The secret never shows in `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookTarget {
    pub url: String,
    secret: String,
}

impl WebhookTarget {
    pub(crate) fn secret(&self) -> &str {
        &self.secret
    }
}

impl fmt::Debug for WebhookTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookTarget")
            .field("url", &"***")
            .field("secret", &"***")
            .finish()
    }
}

/// Whether a daily digest is sent, and from which UTC hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Digest {
    Off,
    Daily { hour: u32 },
}

/// The alerts configuration, validated before the sweep touches anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertConfig {
    pub topic: Option<String>,
    pub webhook: Option<WebhookTarget>,
    pub digest: Digest,
    pub window_minutes: i64,
    /// Whether schedule health changes are alerted (only with a channel).
    pub schedules: bool,
}

impl AlertConfig {
    /// Reads [`var`]; every unusable variable is reported at once, by name (values of the
    /// secret are never echoed).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut vars = Vars::new(lookup);
        let topic = vars.get(var::TOPIC_ID);
        if let Some(t) = &topic {
            if !crate::appwrite::valid_id(t) {
                vars.problem(var::TOPIC_ID, format!("`{t}` is not a valid Appwrite id"));
            }
        }
        let webhook = match vars.get(var::WEBHOOK_URL) {
            None => None,
            Some(url) => {
                let parsed = reqwest::Url::parse(&url).ok();
                if !parsed
                    .as_ref()
                    .is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
                {
                    // The URL is not echoed: an incoming-webhook URL holds a token.
                    vars.problem(var::WEBHOOK_URL, "must be an http:// or https:// URL");
                }
                let secret = vars.required(var::WEBHOOK_SECRET, "the webhook is signed with it");
                if !secret.is_empty() && secret.chars().count() < 16 {
                    vars.problem(var::WEBHOOK_SECRET, "must be at least 16 characters");
                }
                Some(WebhookTarget { url, secret })
            }
        };
        let digest = match vars
            .get(var::DIGEST)
            .map(|d| d.to_ascii_lowercase())
            .as_deref()
        {
            None | Some("off") => Digest::Off,
            Some("daily") => Digest::Daily {
                hour: vars.number(var::DIGEST_HOUR, 0..=23, 8),
            },
            Some(other) => {
                vars.problem(
                    var::DIGEST,
                    format!("must be `off` or `daily`, got `{other}`"),
                );
                Digest::Off
            }
        };
        if digest != Digest::Off && topic.is_none() && webhook.is_none() {
            vars.problem(
                var::DIGEST,
                format!("needs {} or {} to be sent", var::TOPIC_ID, var::WEBHOOK_URL),
            );
        }
        let window_minutes = vars.number(var::WINDOW_MINUTES, 10..=10_080, 360);
        let schedules = vars.flag(var::SCHEDULES, true);
        vars.finish(AlertConfig {
            topic,
            webhook,
            digest,
            window_minutes,
            schedules,
        })
    }

    /// Whether any channel is configured; without one the sweep does nothing at all.
    pub fn enabled(&self) -> bool {
        self.topic.is_some() || self.webhook.is_some()
    }

    fn channels(&self) -> Vec<Channel> {
        let mut channels = Vec::new();
        if self.topic.is_some() {
            channels.push(Channel::Email);
        }
        if self.webhook.is_some() {
            channels.push(Channel::Webhook);
        }
        channels
    }
}

/// What one alerts pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// Deliveries made (one per alert and channel).
    pub sent: usize,
    /// Emails Messaging already held (an earlier sweep sent them and was not noted).
    pub already_sent: usize,
    /// Deliveries that failed; the next sweep tries them again while they are in the window.
    pub failed: usize,
    /// Deliveries left for the next sweep because this one reached [`MAX_DELIVERIES`].
    pub deferred: usize,
    /// Why deliveries failed (at most a few, never a secret or the webhook URL).
    pub errors: Vec<String>,
}

const MAX_ERRORS: usize = 5;

/// The log entry noting that `alert` went out on `channel`: its id is the alert's id on that
/// channel, so noting twice adds nothing.
fn note_of(alert: &Alert, channel: Channel, outcome: Outcome, now: Timestamp) -> JobEvent {
    let mut details = Map::new();
    details.insert("channel".into(), json!(channel.as_str()));
    details.insert("alert".into(), json!(alert.key));
    details.insert(
        "outcome".into(),
        json!(match outcome {
            Outcome::Sent => "sent",
            Outcome::AlreadySent => "alreadySent",
        }),
    );
    JobEvent {
        id: alert.id(channel),
        job_id: alert.log_id.clone(),
        at: now,
        kind: EventKind::Alerted,
        actor: ACTOR_SYSTEM.into(),
        message: Some(format!(
            "{} alert sent: {}",
            channel.as_str(),
            alert.subject
        )),
        from_status: None,
        to_status: None,
        details,
    }
}

fn failed_between(
    store: &dyn JobStore,
    from: Timestamp,
    to: Option<Timestamp>,
) -> StoreResult<(Vec<Job>, bool)> {
    let page = store.list(&JobQuery {
        statuses: vec![JobStatus::Failed],
        range: Some(DateRange {
            field: DateField::CompletedAt,
            from: Some(from),
            to,
        }),
        order: Order::Completed,
        limit: MAX_PAGE,
        ..JobQuery::default()
    })?;
    Ok((page.jobs, page.next_cursor.is_some()))
}

/// The key of the digest due at `now`, if one is.
fn digest_key(config: &AlertConfig, now: Timestamp) -> Option<String> {
    match config.digest {
        Digest::Daily { hour } if now.hour() >= hour => Some(now.format("%Y-%m-%d").to_string()),
        _ => None,
    }
}

/// One alerts pass at `now`: the failures completed within the window, oldest first, then the
/// day's digest when due; each delivered on every configured channel not yet noted, and noted
/// right after its delivery. Store errors end the pass (the next sweep picks up where it
/// stopped); delivery errors are counted and retried by the next sweep.
pub fn sweep(
    store: &dyn JobStore,
    config: &AlertConfig,
    deliver: &dyn Deliver,
    now: Timestamp,
) -> StoreResult<Report> {
    let mut report = Report::default();
    if !config.enabled() {
        return Ok(report);
    }
    let channels = config.channels();
    let (mut failures, _) =
        failed_between(store, now - Duration::minutes(config.window_minutes), None)?;
    // Newest first from the store; the oldest are nearest to leaving the window.
    failures.reverse();
    let mut alerts: Vec<Alert> = failures.iter().map(job_failed).collect();
    if let Some(date) = digest_key(config, now) {
        // Its ids depend only on the key, so whether it is due is known before it is built.
        let probe = digest(&date, now, &[], false);
        let ids: Vec<String> = channels.iter().map(|c| probe.id(*c)).collect();
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        if store.noted(&refs)?.len() < ids.len() {
            let (day, more) = failed_between(store, now - Duration::hours(24), Some(now))?;
            alerts.push(digest(&date, now, &day, more));
        }
    }
    if alerts.is_empty() {
        return Ok(report);
    }
    let ids: Vec<String> = alerts
        .iter()
        .flat_map(|a| channels.iter().map(move |c| a.id(*c)))
        .collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let noted = store.noted(&refs)?;
    let work = alerts
        .into_iter()
        .map(|alert| {
            let missing = channels
                .iter()
                .copied()
                .filter(|c| !noted.contains(&alert.id(*c)))
                .collect();
            (alert, missing)
        })
        .collect();
    deliver_all(store, config, deliver, work, now, &mut report)?;
    Ok(report)
}

/// The schedule alerts at `now` for `schedules` (assessed by `schedules::list`): one per change
/// of a function's health between ok, late and failing, delivered and noted as [`sweep`] does
/// (module `schedule`). Adds to `report`.
pub fn sweep_schedules(
    store: &dyn JobStore,
    config: &AlertConfig,
    deliver: &dyn Deliver,
    schedules: &[crate::schedules::Schedule],
    now: Timestamp,
    report: &mut Report,
) -> StoreResult<()> {
    if !config.enabled() || !config.schedules || schedules.is_empty() {
        return Ok(());
    }
    let channels = config.channels();
    let ids: Vec<&str> = schedules.iter().map(|s| s.function_id.as_str()).collect();
    let latest = schedule::latest(store, &ids, &channels)?;
    let work = schedules
        .iter()
        .filter_map(|s| schedule::due(s, latest.get(&s.function_id), &channels))
        .collect();
    deliver_all(store, config, deliver, work, now, report)
}

/// Delivers each alert on the channels listed with it, noting each delivery right after it, so
/// a crash later repeats no channel that was noted. At most [`MAX_DELIVERIES`] a pass.
fn deliver_all(
    store: &dyn JobStore,
    config: &AlertConfig,
    deliver: &dyn Deliver,
    work: Vec<(Alert, Vec<Channel>)>,
    now: Timestamp,
    report: &mut Report,
) -> StoreResult<()> {
    for (alert, channels) in &work {
        for channel in channels {
            if report.sent + report.already_sent + report.failed >= MAX_DELIVERIES {
                report.deferred += 1;
                continue;
            }
            let outcome = match (channel, &config.topic, &config.webhook) {
                (Channel::Email, Some(topic), _) => deliver.email(topic, alert),
                (Channel::Webhook, _, Some(target)) => deliver.webhook(target, alert, now),
                _ => continue,
            };
            match outcome {
                Ok(outcome) => {
                    store.note(alert.rev, &[note_of(alert, *channel, outcome, now)])?;
                    match outcome {
                        Outcome::Sent => report.sent += 1,
                        Outcome::AlreadySent => report.already_sent += 1,
                    }
                }
                Err(why) => {
                    report.failed += 1;
                    if report.errors.len() < MAX_ERRORS {
                        report.errors.push(format!("{}: {why}", channel.as_str()));
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
