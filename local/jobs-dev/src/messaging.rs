//! Appwrite Messaging's email endpoint, recording instead of sending: `POST
//! /v1/messaging/messages/email` validated and answered as Appwrite 1.9.6 does (the caller's
//! `messageId` or `unique()`, `409 message_already_exists` for an id already used, `400
//! message_missing_target` without a topic, user or target, `201` with the message model), and
//! `GET /v1/messaging/messages` listing what was recorded, so `scripts/dev` and tests see the
//! alerts `job-retention` sends (docs/alerts.md; appwrite-notes: Messaging). Server keys only,
//! with `messages.write` / `messages.read`, as on Appwrite.

use std::sync::Mutex;

use serde_json::{json, Value};

use crate::wire::AwError;

/// The messages created, oldest first, in Appwrite's model.
#[derive(Default)]
pub struct Messages {
    recorded: Mutex<Vec<Value>>,
    sequence: std::sync::atomic::AtomicU64,
}

/// utopia-php/database's `Key` validator (Appwrite's custom ids).
const KEY_RULE: &str = "Parameter must contain at most 36 chars. Valid chars are a-z, A-Z, 0-9, \
                        period, hyphen, and underscore. Can't start with a special char";

fn valid_key(id: &str) -> bool {
    id.len() <= 36
        && id.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

fn invalid(param: &str, why: &str) -> AwError {
    AwError::new(
        400,
        "general_argument_invalid",
        format!("Invalid `{param}` param: {why}"),
    )
}

fn missing(param: &str) -> AwError {
    AwError::new(
        400,
        "general_argument_invalid",
        format!("Param \"{param}\" is not optional."),
    )
}

fn ids(body: &Value, key: &str) -> Result<Vec<String>, AwError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| invalid(key, "Value must be a valid array")),
        Some(_) => Err(invalid(key, "Value must be a valid array")),
    }
}

impl Messages {
    /// `POST /v1/messaging/messages/email` with the raw request body.
    pub fn create_email(&self, raw: &[u8]) -> Result<(u16, Value), AwError> {
        let body: Value = serde_json::from_slice(raw)
            .map_err(|_| AwError::new(400, "general_argument_invalid", "Invalid JSON body"))?;
        let id = body
            .get("messageId")
            .and_then(Value::as_str)
            .ok_or_else(|| missing("messageId"))?;
        let id = if id == "unique()" {
            let n = self
                .sequence
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            format!("msg{:x}{n}", chrono::Utc::now().timestamp_millis())
        } else if valid_key(id) {
            id.to_owned()
        } else {
            return Err(invalid("messageId", KEY_RULE));
        };
        let text = |key: &str, max: usize| match body.get(key) {
            Some(Value::String(s)) if s.chars().count() <= max => Ok(s.clone()),
            None => Err(missing(key)),
            _ => Err(invalid(
                key,
                &format!("Value must be a valid string and at most {max} chars"),
            )),
        };
        let subject = text("subject", 998)?;
        let content = text("content", 64230)?;
        let flag = |key: &str| body.get(key).and_then(Value::as_bool).unwrap_or(false);
        let (draft, html) = (flag("draft"), flag("html"));
        let (topics, users, targets) = (
            ids(&body, "topics")?,
            ids(&body, "users")?,
            ids(&body, "targets")?,
        );
        let scheduled_at = body.get("scheduledAt").cloned().unwrap_or(Value::Null);
        let status = match (draft, scheduled_at.is_null()) {
            (true, _) => "draft",
            (false, true) => "processing",
            (false, false) => "scheduled",
        };
        if !draft && topics.is_empty() && users.is_empty() && targets.is_empty() {
            return Err(AwError::new(
                400,
                "message_missing_target",
                "Message with the requested ID has no recipients (topics or users or targets).",
            ));
        }
        let mut recorded = crate::lock(&self.recorded);
        if recorded.iter().any(|m| m["$id"] == id.as_str()) {
            return Err(AwError::new(
                409,
                "message_already_exists",
                "Message with the requested ID already exists. Try again with a different ID or \
                 use ID.unique() to generate a unique ID.",
            ));
        }
        let now = shared::appwrite::datetime(&chrono::Utc::now());
        let message = json!({
            "$id": id, "$createdAt": now, "$updatedAt": now, "providerType": "email",
            "topics": topics, "users": users, "targets": targets, "scheduledAt": scheduled_at,
            "deliveredAt": null, "deliveryErrors": [], "deliveredTotal": 0,
            "data": {"subject": subject, "content": content, "html": html, "cc": [], "bcc": [],
                     "attachments": []},
            "status": status,
        });
        recorded.push(message.clone());
        Ok((201, message))
    }

    /// `GET /v1/messaging/messages`: every recorded message, oldest first.
    pub fn list(&self) -> (u16, Value) {
        let recorded = crate::lock(&self.recorded);
        (200, json!({"total": recorded.len(), "messages": *recorded}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create(messages: &Messages, body: Value) -> Result<(u16, Value), AwError> {
        messages.create_email(body.to_string().as_bytes())
    }

    #[test]
    fn an_email_is_recorded_once_per_id_and_a_repeat_is_409() {
        let messages = Messages::default();
        let body = json!({"messageId": "a1", "topics": ["ops"], "subject": "S", "content": "C"});
        let (status, created) = create(&messages, body.clone()).unwrap();
        assert_eq!(
            (status, created["status"].as_str()),
            (201, Some("processing"))
        );
        let repeat = create(&messages, body).unwrap_err();
        assert_eq!((repeat.code, repeat.kind), (409, "message_already_exists"));
        let (_, list) = messages.list();
        assert_eq!(list["total"], 1);
        assert_eq!(list["messages"][0]["data"]["subject"], "S");
    }

    #[test]
    fn a_message_without_recipients_or_with_a_bad_id_is_refused_as_appwrite_refuses_it() {
        let messages = Messages::default();
        let none = create(
            &messages,
            json!({"messageId": "a", "subject": "S", "content": "C"}),
        );
        assert_eq!(none.unwrap_err().kind, "message_missing_target");
        let bad = create(
            &messages,
            json!({"messageId": "_a", "topics": ["t"], "subject": "S", "content": "C"}),
        );
        assert_eq!(bad.unwrap_err().kind, "general_argument_invalid");
        let no_subject = create(
            &messages,
            json!({"messageId": "a", "topics": ["t"], "content": "C"}),
        );
        assert_eq!(
            no_subject.unwrap_err().message,
            "Param \"subject\" is not optional."
        );
        assert_eq!(messages.list().1["total"], 0);
    }
}
