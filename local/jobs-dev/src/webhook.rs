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
//! (`src/Appwrite/Platform/Workers/Webhooks.php`). Held field by field against deliveries
//! captured from a real 1.9.6 server (`tests/fixtures/appwrite-1.9.6/`,
//! `tests/it/appwrite_shapes.rs`).
//!
//! Off unless `JOBS_DEV_WEBHOOK_EVENTS` is set (see `docs/local.md`).

use serde_json::Value;

use crate::config::DevConfig;

/// The id of the webhook, sent as `X-Appwrite-Webhook-Id`.
const WEBHOOK_ID: &str = "job-observer";

/// The webhooks worker's `User-Agent`: `APP_USERAGENT` with the server's version and security
/// address (appwrite 1.9.6 `app/init/constants.php`, `src/Appwrite/Platform/Workers/Webhooks.php`).
const USER_AGENT: &str = "Appwrite-Server v1.9.6. Please report abuse at security@localhost";

/// The members of an `update` event's execution: the functions worker builds its own document
/// (these columns) and passes it through the `Execution` model, which adds `functionId`; so no
/// `$createdAt`, `$updatedAt`, `responseBody` or `scheduledAt` (appwrite 1.9.6
/// `src/Appwrite/Platform/Workers/Functions.php`, `execute`; captured in
/// `tests/fixtures/appwrite-1.9.6/webhook-execution-2-update-failed.json`).
const UPDATE_MEMBERS: [&str; 14] = [
    "$id",
    "$permissions",
    "deploymentId",
    "trigger",
    "status",
    "responseStatusCode",
    "responseHeaders",
    "requestPath",
    "requestMethod",
    "requestHeaders",
    "errors",
    "logs",
    "duration",
    "functionId",
];

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
        // Header names as curl writes them (`Content-Type`, `X-Appwrite-Webhook-Id`); a
        // builder that fails (no TLS backend is involved) falls back to the plain client.
        let client = reqwest::Client::builder()
            .http1_title_case_headers()
            .build()
            .unwrap_or_default();
        Some(Webhook {
            url: config
                .webhook_url
                .clone()
                .unwrap_or_else(|| default_url(endpoint)),
            secret: config.webhook_secret.clone(),
            events: config.webhook_events.clone(),
            project: config.project.clone(),
            client,
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
        let body = php_json(&payload(doc, action));
        let signature = job_observer::signature::sign(&self.url, body.as_bytes(), &self.secret);
        let mut request = self
            .client
            .post(&self.url)
            .header("User-Agent", USER_AGENT)
            .header("Accept", "*/*")
            .header("Content-Type", "application/json")
            .header("X-Appwrite-Webhook-Id", WEBHOOK_ID)
            .header("X-Appwrite-Webhook-Events", names.join(","))
            .header("X-Appwrite-Webhook-Name", "Job Manager observer");
        // Appwrite passes `X-Appwrite-Webhook-User-Id: <id>` to curl, which sends no header at
        // all for an empty value: an execution without a user has none.
        if let Some(user) = user_of(doc) {
            request = request.header("X-Appwrite-Webhook-User-Id", user);
        }
        let request = request
            .header("X-Appwrite-Webhook-Project-Id", &self.project)
            .header("X-Appwrite-Webhook-Signature", signature)
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

/// The names an execution event is published under, in the order of Appwrite's
/// `generateEvents` for `functions.[functionId].executions.[executionId].<action>`: the pattern
/// with both ids, both `*`, then one `*`; the same without the action; then the function alone
/// (appwrite 1.9.6 `src/Appwrite/Event/Event.php`; captured as `X-Appwrite-Webhook-Events`).
pub fn event_names(function: &str, execution: &str, action: &str) -> Vec<String> {
    let mixes = [
        (function, execution),
        ("*", "*"),
        (function, "*"),
        ("*", execution),
    ];
    let mut names: Vec<String> = mixes
        .iter()
        .map(|(f, e)| format!("functions.{f}.executions.{e}.{action}"))
        .collect();
    names.extend(
        mixes
            .iter()
            .map(|(f, e)| format!("functions.{f}.executions.{e}")),
    );
    names.push(format!("functions.{function}"));
    names.push("functions.*".to_owned());
    names
}

/// The user an execution ran for, from its `$permissions` (`read("user:<id>")`, which
/// Appwrite gives the execution of a signed-in user: 1.9.6 `Executions/Create.php`).
fn user_of(doc: &Value) -> Option<&str> {
    doc["$permissions"].as_array()?.iter().find_map(|p| {
        p.as_str()?
            .strip_prefix("read(\"user:")?
            .strip_suffix("\")")
    })
}

/// The execution as the event carries it: the response model (`functionId`, not the
/// database's `resourceId` / `resourceType`); an `update` only with the worker's members.
fn payload(doc: &Value, action: &str) -> Value {
    let Some(map) = doc.as_object() else {
        return doc.clone();
    };
    let mut out: serde_json::Map<String, Value> = map
        .iter()
        .filter(|(k, _)| action != "update" || UPDATE_MEMBERS.contains(&k.as_str()))
        .filter(|(k, _)| !matches!(k.as_str(), "resourceId" | "resourceType"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    // PHP's `json_encode` writes a whole float without its fraction (`0`, not `0.0`).
    if let Some(d) = out.get("duration").and_then(Value::as_f64) {
        if d.fract() == 0.0 && d.abs() < 1e15 {
            out.insert("duration".into(), Value::from(d as i64));
        }
    }
    Value::Object(out)
}

/// `value` as PHP's `json_encode` writes it with its default flags, the body Appwrite signs
/// and sends: compact, `/` escaped as `\/`, and every character outside ASCII as `\uXXXX`
/// (the captured `Content-Length`s are those of this form).
fn php_json(value: &Value) -> String {
    let text = value.to_string();
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    // `/` and non-ASCII characters occur only inside strings in JSON text, so escaping them
    // everywhere is the same as escaping them in strings.
    for c in text.chars() {
        match c {
            '/' => out.push_str("\\/"),
            c if c.is_ascii() => out.push(c),
            c => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A delivery captured from a real Appwrite 1.9.6 (`tests/fixtures/appwrite-1.9.6/`).
    fn captured(name: &str) -> Value {
        let path = format!(
            "{}/tests/fixtures/appwrite-1.9.6/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    fn header<'a>(delivery: &'a Value, name: &str) -> Option<&'a str> {
        delivery["headers"]
            .as_array()
            .unwrap()
            .iter()
            .find_map(|h| (h[0].as_str()? == name).then(|| h[1].as_str()).flatten())
    }

    #[test]
    fn an_execution_event_is_published_under_the_names_appwrite_generates_in_its_order() {
        for (file, action) in [
            ("webhook-execution-1-create-waiting.json", "create"),
            ("webhook-execution-2-update-failed.json", "update"),
        ] {
            let real = captured(file);
            let id = real["body"]["$id"].as_str().unwrap();
            let function = real["body"]["functionId"].as_str().unwrap();
            let names = event_names(function, id, action).join(",");
            assert_eq!(
                Some(names.as_str()),
                header(&real, "X-Appwrite-Webhook-Events")
            );
        }
    }

    #[test]
    fn an_update_payload_has_only_the_members_of_the_workers_document() {
        let real = captured("webhook-execution-2-update-failed.json");
        let mut doc = real["body"].clone();
        // What the dev server remembers of an execution: the API's whole document.
        for (k, v) in [
            ("$createdAt", json!("2026-12-07T01:02:50.407+00:00")),
            ("$updatedAt", json!("2026-12-07T01:02:50.507+00:00")),
            ("responseBody", json!("secret output")),
            ("scheduledAt", Value::Null),
            ("resourceId", json!("orchestrator")),
            ("resourceType", json!("functions")),
        ] {
            doc[k] = v;
        }
        assert_eq!(payload(&doc, "update"), real["body"]);
    }

    #[test]
    fn a_create_payload_is_the_answered_execution_in_the_response_model() {
        let real = captured("webhook-execution-1-create-waiting.json");
        let mut doc = real["body"].clone();
        doc["resourceId"] = json!("orchestrator");
        doc["resourceType"] = json!("functions");
        doc["duration"] = json!(0.0);
        let p = payload(&doc, "create");
        assert_eq!(p, real["body"]);
        assert_eq!(
            php_json(&p).len().to_string(),
            header(&real, "Content-Length").unwrap()
        );
    }

    #[test]
    fn the_body_is_written_as_php_json_encode_writes_it() {
        for file in [
            "webhook-execution-1-create-waiting.json",
            "webhook-execution-2-update-failed.json",
            "webhook-execution-4-update-failed.json",
        ] {
            let real = captured(file);
            let length = php_json(&real["body"]).len().to_string();
            assert_eq!(
                Some(length.as_str()),
                header(&real, "Content-Length"),
                "{file}"
            );
        }
        assert_eq!(
            php_json(&json!({"p": "/é😀"})),
            r#"{"p":"\/\u00e9\ud83d\ude00"}"#
        );
    }

    #[test]
    fn the_user_header_names_the_user_an_execution_ran_for_and_no_one_otherwise() {
        assert_eq!(user_of(&json!({"$permissions": []})), None);
        assert_eq!(
            user_of(&json!({"$permissions": ["read(\"user:u1\")"]})),
            Some("u1")
        );
    }
}
