//! Messaging, as far as alerts use it: `POST /v1/messaging/messages/email` recorded and answered
//! with Appwrite's message model, and `GET /v1/messaging/messages` listing what was recorded
//! (appwrite-notes: Messaging). As in Appwrite 1.9.6, the id is the caller's (`messageId`, or
//! `unique()`), a second message with an id already used is `409 message_already_exists`, and
//! a message that is not a draft needs a topic, user or target (`400 message_missing_target`).
//! Nothing is delivered: a sent message stays `processing`, as it does until Appwrite's worker
//! picks it up.

use serde_json::{json, Value};

use crate::schema;
use crate::wire::{now_text, Answer};
use crate::State;

/// A recorded email message, as tests read it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedMessage {
    pub id: String,
    pub topics: Vec<String>,
    pub subject: String,
    pub content: String,
    pub html: bool,
    pub status: String,
}

fn strings(body: &Value, key: &str) -> Option<Vec<String>> {
    match body.get(key) {
        None | Some(Value::Null) => Some(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect(),
        Some(_) => None,
    }
}

fn invalid(param: &str, why: &str) -> Answer {
    Answer::error(
        400,
        "general_argument_invalid",
        format!("Invalid `{param}` param: {why}"),
    )
}

/// `POST /v1/messaging/messages/email`.
pub(crate) fn create_email(state: &mut State, body: &Value) -> Answer {
    let Some(id) = body.get("messageId").and_then(Value::as_str) else {
        return Answer::missing_param("messageId");
    };
    let id = if id == "unique()" {
        state.sequence += 1;
        format!("msg{}", state.sequence)
    } else if schema::valid_key(id) {
        id.to_owned()
    } else {
        return invalid("messageId", schema::KEY_RULE);
    };
    let text = |key: &str, max: usize| match body.get(key) {
        Some(Value::String(s)) if s.chars().count() <= max => Ok(s.clone()),
        None => Err(Answer::missing_param(key)),
        _ => Err(invalid(
            key,
            &format!("Value must be a valid string and at most {max} chars"),
        )),
    };
    let (subject, content) = match (text("subject", 998), text("content", 64230)) {
        (Ok(s), Ok(c)) => (s, c),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    let flag = |key: &str| body.get(key).and_then(Value::as_bool).unwrap_or(false);
    let (draft, html) = (flag("draft"), flag("html"));
    let (Some(topics), Some(users), Some(targets)) = (
        strings(body, "topics"),
        strings(body, "users"),
        strings(body, "targets"),
    ) else {
        return invalid("topics", "Value must be a valid array");
    };
    let scheduled_at = body.get("scheduledAt").cloned().unwrap_or(Value::Null);
    let status = if draft {
        "draft"
    } else if scheduled_at.is_null() {
        "processing"
    } else {
        "scheduled"
    };
    if !draft && topics.is_empty() && users.is_empty() && targets.is_empty() {
        return Answer::error(
            400,
            "message_missing_target",
            "Message with the requested ID has no recipients (topics or users or targets).",
        );
    }
    if state.messages.iter().any(|m| m["$id"] == id.as_str()) {
        return Answer::error(
            409,
            "message_already_exists",
            "Message with the requested ID already exists. Try again with a different ID or use \
             ID.unique() to generate a unique ID.",
        );
    }
    let now = now_text();
    let message = json!({
        "$id": id, "$createdAt": now, "$updatedAt": now, "providerType": "email",
        "topics": topics, "users": users, "targets": targets, "scheduledAt": scheduled_at,
        "deliveredAt": null, "deliveryErrors": [], "deliveredTotal": 0,
        "data": {"subject": subject, "content": content, "html": html, "cc": [], "bcc": [],
                 "attachments": []},
        "status": status,
    });
    state.messages.push(message.clone());
    Answer::json(201, message)
}

/// `GET /v1/messaging/messages`: every recorded message, oldest first (queries are not
/// supported by the fake).
pub(crate) fn list(state: &State) -> Answer {
    Answer::json(
        200,
        json!({"total": state.messages.len(), "messages": state.messages}),
    )
}

impl crate::FakeAppwrite {
    /// The messages created so far, oldest first.
    pub fn messages(&self) -> Vec<RecordedMessage> {
        let text = |m: &Value, k: &str| m["data"][k].as_str().unwrap_or_default().to_owned();
        self.shared
            .lock()
            .messages
            .iter()
            .map(|m| RecordedMessage {
                id: m["$id"].as_str().unwrap_or_default().to_owned(),
                topics: strings(m, "topics").unwrap_or_default(),
                subject: text(m, "subject"),
                content: text(m, "content"),
                html: m["data"]["html"].as_bool().unwrap_or(false),
                status: m["status"].as_str().unwrap_or_default().to_owned(),
            })
            .collect()
    }
}
