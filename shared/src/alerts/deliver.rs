//! Delivery: an alert out through Appwrite Messaging (create email, with the alert's id as
//! `messageId`) and through the webhook (a signed POST). [`Deliver`] is the seam tests replace;
//! [`Live`] is the real thing. No retries here beyond the client's own for a lost answer: an
//! alert that was not delivered is tried again by the next sweep (docs/alerts.md § Retries).

use std::sync::OnceLock;
use std::time::Duration;

use serde_json::json;

use super::message::{Alert, Channel};
use super::signature;
use super::WebhookTarget;
use crate::appwrite::{AppwriteClient, Call, Method, Retry};
use crate::job::Timestamp;

/// The header carrying the alert's idempotency id: the same on every attempt, so a receiver
/// drops a repeat sent after a crash between delivery and its record.
pub const DELIVERY_HEADER: &str = "X-JobManager-Delivery";

/// How long one webhook attempt may take, so a slow receiver cannot eat the sweep's time.
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(5);

/// A delivery that happened, or had happened before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    /// Messaging already holds a message with this id (409 `message_already_exists`): an
    /// earlier sweep sent it and did not get to record it.
    AlreadySent,
}

/// Where alerts go; [`Live`] in production, a recorder in tests.
pub trait Deliver {
    /// Creates the email to `topic` (Appwrite Messaging).
    fn email(&self, topic: &str, alert: &Alert) -> Result<Outcome, String>;
    /// POSTs the signed body to the webhook.
    fn webhook(
        &self,
        target: &WebhookTarget,
        alert: &Alert,
        now: Timestamp,
    ) -> Result<Outcome, String>;
}

/// The real channels: Messaging through the execution's Appwrite client (`None` when it could
/// not be built: every email then fails and is retried), the webhook over HTTP.
pub struct Live {
    pub messaging: Option<AppwriteClient>,
}

/// `POST /v1/messaging/messages/email`: appwrite-notes § Messaging (Appwrite 1.9.6
/// `app/controllers/api/messaging.php`).
pub fn create_email(
    client: &AppwriteClient,
    message_id: &str,
    topic: &str,
    subject: &str,
    content: &str,
) -> Result<Outcome, crate::appwrite::AppwriteError> {
    // The id makes a repeat a 409, so retrying a lost answer is safe.
    let mut call = Call::new(Method::POST, "/messaging/messages/email", Retry::Idempotent);
    call.body = Some(json!({
        "messageId": message_id,
        "topics": [topic],
        "subject": subject,
        "content": content,
        "html": false,
        "draft": false,
    }));
    match client.send(&call) {
        Ok(_) => Ok(Outcome::Sent),
        Err(e) if e.kind() == Some("message_already_exists") => Ok(Outcome::AlreadySent),
        Err(e) => Err(e),
    }
}

fn http() -> Result<reqwest::blocking::Client, String> {
    static CLIENT: OnceLock<Result<reqwest::blocking::Client, String>> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            reqwest::blocking::Client::builder()
                .timeout(WEBHOOK_TIMEOUT)
                // A redirect would resend the signed body somewhere not configured.
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|e| e.without_url().to_string())
        })
        .clone()
}

/// POSTs `alert` to the webhook, signed; any 2xx is delivered.
pub fn post_webhook(
    target: &WebhookTarget,
    alert: &Alert,
    now: Timestamp,
) -> Result<Outcome, String> {
    let body = alert.webhook_body().to_string();
    let signed = signature::sign(target.secret(), now.timestamp(), &body);
    let answer = http()?
        .post(target.url.as_str())
        .header("content-type", "application/json")
        .header(signature::HEADER, signed)
        .header(DELIVERY_HEADER, alert.id(Channel::Webhook))
        .body(body)
        .send()
        // Without the URL: it may hold a token (Slack's incoming webhooks do).
        .map_err(|e| format!("webhook not reached: {}", e.without_url()))?;
    let status = answer.status();
    if status.is_success() {
        Ok(Outcome::Sent)
    } else {
        Err(format!("webhook answered {}", status.as_u16()))
    }
}

impl Deliver for Live {
    fn email(&self, topic: &str, alert: &Alert) -> Result<Outcome, String> {
        let client = self
            .messaging
            .as_ref()
            .ok_or_else(|| "no Appwrite client for Messaging".to_owned())?;
        create_email(
            client,
            &alert.id(Channel::Email),
            topic,
            &alert.subject,
            &alert.text,
        )
        .map_err(|e| e.to_string())
    }

    fn webhook(
        &self,
        target: &WebhookTarget,
        alert: &Alert,
        now: Timestamp,
    ) -> Result<Outcome, String> {
        post_webhook(target, alert, now)
    }
}
