//! Appwrite's project webhook, emulated for the executions the dev server runs, so the
//! execution observer (`job-observer`) gets locally what it gets on Appwrite: the same events,
//! the same payload, the same headers, signed the same way (`job_observer::signature`).
//!
//! What Appwrite 1.9.6 does (`docs/appwrite-notes.md` § Webhooks and execution events): the
//! executions endpoint emits `functions.[functionId].executions.[executionId].create` (status
//! `waiting` for async executions, the finished document for sync ones), the functions worker
//! emits `….update` when an async execution ends; a webhook is delivered when one of its
//! `events` is among the event's generated names (`src/Appwrite/Event/Event.php`
//! `generateEvents`), with the execution model as body and the `X-Appwrite-Webhook-*` headers
//! (`src/Appwrite/Platform/Workers/Webhooks.php`).
//!
//! Off unless `JOBS_DEV_WEBHOOK_EVENTS` is set (see `docs/local.md`).

use serde_json::Value;

use crate::config::DevConfig;

/// The id of the webhook, sent as `X-Appwrite-Webhook-Id`.
const WEBHOOK_ID: &str = "job-observer";

/// Where deliveries go and how they are signed.
#[derive(Clone)]
pub struct Webhook {
    pub url: String,
    secret: String,
    events: Vec<String>,
    project: String,
    client: reqwest::Client,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("url", &self.url)
            .field("secret", &"<hidden>")
            .field("events", &self.events)
            .finish()
    }
}

/// The observer's domain on the dev server (`/domains/{functionId}/`, see `crate::domain`).
pub fn default_url(endpoint: &str) -> String {
    format!(
        "{}/domains/{}/",
        endpoint.trim_end_matches("/v1"),
        job_observer::FUNCTION_ID
    )
}

impl Webhook {
    /// The configured webhook, if any; `endpoint` is the dev server's `…/v1`.
    pub fn from_config(config: &DevConfig, endpoint: &str) -> Option<Webhook> {
        if config.webhook_events.is_empty() {
            return None;
        }
        Some(Webhook {
            url: config
                .webhook_url
                .clone()
                .unwrap_or_else(|| default_url(endpoint)),
            secret: config.webhook_secret.clone(),
            events: config.webhook_events.clone(),
            project: config.project.clone(),
            client: reqwest::Client::new(),
        })
    }

    /// The variables that make `job-observer` accept this webhook's deliveries.
    pub fn observer_variables(&self) -> [(String, String); 2] {
        [
            (shared::observer::SECRET_VAR.to_owned(), self.secret.clone()),
            (shared::observer::URL_VAR.to_owned(), self.url.clone()),
        ]
    }

    /// Delivers `action` (`create` or `update`) of the execution document `doc` when the
    /// webhook subscribes to it. In the background: Appwrite's webhooks worker is a queue, and
    /// an execution never waits for its delivery.
    pub fn emit(&self, action: &str, doc: &Value) {
        let (Some(function), Some(execution)) = (doc["functionId"].as_str(), doc["$id"].as_str())
        else {
            return;
        };
        let names = event_names(function, execution, action);
        if !names.iter().any(|n| self.events.contains(n)) {
            return;
        }
        let body = payload(doc, action).to_string();
        let signature = job_observer::signature::sign(&self.url, body.as_bytes(), &self.secret);
        let request = self
            .client
            .post(&self.url)
            .header("content-type", "application/json")
            .header("x-appwrite-webhook-id", WEBHOOK_ID)
            .header("x-appwrite-webhook-events", names.join(","))
            .header("x-appwrite-webhook-name", "Job Manager observer")
            .header("x-appwrite-webhook-user-id", "")
            .header("x-appwrite-webhook-project-id", &self.project)
            .header("x-appwrite-webhook-signature", signature)
            // Appwrite's worker gives a delivery 15 s.
            .timeout(std::time::Duration::from_secs(15))
            .body(body);
        tokio::spawn(async move {
            match request.send().await {
                Ok(res) if res.status().as_u16() < 400 => {}
                Ok(res) => eprintln!("jobs-dev: webhook delivery answered {}", res.status()),
                Err(e) => eprintln!("jobs-dev: webhook delivery failed: {e}"),
            }
        });
    }
}

/// The names an execution event is published under: Appwrite's `generateEvents` for
/// `functions.[functionId].executions.[executionId].<action>`, every combination of the ids
/// and `*`, with and without the action, and the function alone.
pub fn event_names(function: &str, execution: &str, action: &str) -> Vec<String> {
    let mut names = Vec::new();
    for f in [function, "*"] {
        for e in [execution, "*"] {
            names.push(format!("functions.{f}.executions.{e}.{action}"));
            names.push(format!("functions.{f}.executions.{e}"));
        }
        names.push(format!("functions.{f}"));
    }
    names
}

/// The execution as the event carries it: the response model (`functionId`, not the
/// database's `resourceId` / `resourceType`); the worker's `update` has no response body.
fn payload(doc: &Value, action: &str) -> Value {
    let mut doc = doc.clone();
    if let Some(map) = doc.as_object_mut() {
        map.remove("resourceId");
        map.remove("resourceType");
        if action == "update" {
            map.insert("responseBody".into(), Value::String(String::new()));
        }
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_execution_event_is_published_under_every_wildcard_combination() {
        let names = event_names("sqs-poller", "e1", "update");
        for expected in [
            "functions.sqs-poller.executions.e1.update",
            "functions.sqs-poller.executions.*.update",
            "functions.*.executions.*.update",
            "functions.sqs-poller.executions.*",
            "functions.*.executions.e1",
            "functions.sqs-poller",
            "functions.*",
        ] {
            assert!(names.contains(&expected.to_owned()), "{expected}");
        }
        assert!(!names.iter().any(|n| n.contains("create")));
    }

    #[test]
    fn an_update_payload_is_the_response_model_without_database_fields_or_body() {
        let doc = serde_json::json!({"$id": "e1", "functionId": "f", "resourceId": "f",
            "resourceType": "functions", "responseBody": "secret output"});
        let p = payload(&doc, "update");
        assert!(p.get("resourceId").is_none() && p.get("resourceType").is_none());
        assert_eq!(p["responseBody"], "");
    }
}
