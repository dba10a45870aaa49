//! What an alert says, pure: the deterministic ids that make delivery idempotent, the email's
//! subject and text, and the webhook's JSON body (a `text` Slack shows as is, plus structured
//! fields for receivers that parse it). docs/alerts.md § Messages.

use serde_json::{json, Value};

use crate::job::{Job, Timestamp};

/// The two ways an alert leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// Appwrite Messaging: an email to a topic.
    Email,
    /// A signed JSON POST to a URL.
    Webhook,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Webhook => "webhook",
        }
    }
}

/// One alert, whatever the channel.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// What it is about, stable across sweeps (`job-failed:<jobId>`, `digest:<date>`): every
    /// id below is derived from it.
    pub key: String,
    /// The log it is noted in: the failed job's id, or a synthetic id for a digest.
    pub log_id: String,
    /// The job revision the note belongs to (0 for a synthetic log).
    pub rev: u64,
    pub subject: String,
    pub text: String,
    /// The webhook's structured part.
    pub fields: Value,
}

impl Alert {
    /// The id of this alert on `channel`: Messaging's `messageId` for the email, the webhook's
    /// idempotency id, and the id of the log entry noting the delivery. `a` + 35 hex digits of
    /// SHA-256, a valid Appwrite id (at most 36 characters) that no job id takes (those start
    /// with `j` or `k`).
    pub fn id(&self, channel: Channel) -> String {
        id_of(&self.key, channel)
    }

    /// The webhook's body: Slack's `text` (shown as is by Slack, Mattermost, Discord's Slack
    /// endpoint), plus `alert` with the structured fields and the idempotency id.
    pub fn webhook_body(&self) -> Value {
        json!({
            "text": format!("{}\n{}", self.subject, self.text),
            "alert": {
                "id": self.id(Channel::Webhook),
                "subject": self.subject,
                "fields": self.fields,
            },
        })
    }
}

/// [`Alert::id`] of the alert with `key`, known before the alert is built.
pub fn id_of(key: &str, channel: Channel) -> String {
    let derived =
        crate::store::id::for_idempotency_key(&format!("alert:{}:{key}", channel.as_str()));
    format!("a{}", &derived[1..])
}

/// The synthetic log a daily digest is noted in.
pub const DIGEST_LOG: &str = "alerts-digest";

/// Only the first line of operator-shaped text, bounded, so a hostile or huge reason cannot
/// forge extra lines in an email or a Slack message.
fn line(text: &str, max: usize) -> String {
    let first = text.lines().next().unwrap_or("");
    let mut out: String = first.chars().take(max).collect();
    if first.chars().count() > max {
        out.push('…');
    }
    out
}

/// The alert for a job that became FAILED.
pub fn job_failed(job: &Job) -> Alert {
    let reason = job
        .error_message
        .as_deref()
        .or(job.last_reason.as_deref())
        .map(|r| line(r, 300))
        .unwrap_or_else(|| "no reason given".into());
    let when = job.completed_at.unwrap_or(job.updated_at);
    let subject = format!(
        "Job failed: {} {}",
        job.job_type.as_str(),
        line(&job.reference_id, 120)
    );
    let text = format!(
        "Job {} ({} for {}) failed at {}: {}.",
        job.id,
        job.job_type.as_str(),
        line(&job.reference_id, 120),
        crate::appwrite::datetime(&when),
        reason
    );
    Alert {
        key: format!("job-failed:{}", job.id),
        log_id: job.id.clone(),
        rev: job.rev,
        subject,
        text,
        fields: json!({
            "kind": "jobFailed",
            "jobId": job.id,
            "type": job.job_type.as_str(),
            "referenceId": job.reference_id,
            "failedAt": crate::appwrite::datetime(&when),
            "reason": reason,
        }),
    }
}

/// The daily digest for `date` (UTC, `YYYY-MM-DD`): failures of the 24 hours before `now`,
/// per type.
pub fn digest(date: &str, now: Timestamp, failed: &[Job], more: bool) -> Alert {
    let mut per_type: std::collections::BTreeMap<&str, usize> = Default::default();
    for job in failed {
        *per_type.entry(job.job_type.as_str()).or_default() += 1;
    }
    let total = if more {
        format!("{} or more", failed.len())
    } else {
        failed.len().to_string()
    };
    let lines: Vec<String> = per_type
        .iter()
        .map(|(t, n)| format!("- {t}: {n}"))
        .collect();
    let text = if failed.is_empty() {
        "No job failed in the last 24 hours.".to_owned()
    } else {
        format!(
            "{total} jobs failed in the last 24 hours:\n{}",
            lines.join("\n")
        )
    };
    Alert {
        key: format!("digest:{date}"),
        log_id: DIGEST_LOG.to_owned(),
        rev: 0,
        subject: format!("Job Manager daily digest {date}: {total} failed"),
        text,
        fields: json!({
            "kind": "digest",
            "date": date,
            "until": crate::appwrite::datetime(&now),
            "failed": failed.len(),
            "more": more,
            "perType": per_type,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::{Job, JobStatus, JobType};
    use chrono::{TimeZone, Utc};

    fn failed(id: &str, reason: &str) -> Job {
        let t = Utc.with_ymd_and_hms(2026, 12, 7, 2, 0, 0).unwrap();
        let mut job = Job::queued(id.into(), JobType::CampaignRun, "campaign-42".into(), t);
        job.status = JobStatus::Failed;
        job.completed_at = Some(t);
        job.error_message = Some(reason.into());
        job
    }

    #[test]
    fn ids_are_deterministic_per_alert_and_channel_and_valid_appwrite_ids() {
        let a = job_failed(&failed("j1", "boom"));
        let b = job_failed(&failed("j1", "another reason"));
        assert_eq!(a.id(Channel::Email), b.id(Channel::Email));
        assert_ne!(a.id(Channel::Email), a.id(Channel::Webhook));
        assert_ne!(
            a.id(Channel::Email),
            job_failed(&failed("j2", "boom")).id(Channel::Email)
        );
        for id in [a.id(Channel::Email), a.id(Channel::Webhook)] {
            assert_eq!(id.len(), 36);
            assert!(crate::store::id::is_valid(&id), "{id}");
        }
    }

    #[test]
    fn a_failure_alert_names_the_job_and_keeps_only_the_first_line_of_its_reason() {
        let alert = job_failed(&failed("j1", "SMTP refused\nForged: line"));
        assert_eq!(alert.subject, "Job failed: CAMPAIGN_RUN campaign-42");
        assert!(alert.text.contains("j1"), "{}", alert.text);
        assert!(alert.text.contains("SMTP refused"), "{}", alert.text);
        assert!(!alert.text.contains("Forged"), "{}", alert.text);
        let body = alert.webhook_body();
        assert!(body["text"].as_str().unwrap().starts_with("Job failed:"));
        assert_eq!(body["alert"]["fields"]["jobId"], "j1");
        assert_eq!(body["alert"]["id"], alert.id(Channel::Webhook));
    }

    #[test]
    fn a_digest_counts_failures_per_type_and_says_when_there_were_none() {
        let now = Utc.with_ymd_and_hms(2026, 12, 7, 8, 0, 0).unwrap();
        let empty = digest("2026-12-07", now, &[], false);
        assert!(empty.text.starts_with("No job failed"), "{}", empty.text);
        let two = digest(
            "2026-12-07",
            now,
            &[failed("a", "x"), failed("b", "y")],
            false,
        );
        assert!(two.text.contains("CAMPAIGN_RUN: 2"), "{}", two.text);
        assert_eq!(two.key, "digest:2026-12-07");
        assert_eq!(two.log_id, DIGEST_LOG);
    }
}
