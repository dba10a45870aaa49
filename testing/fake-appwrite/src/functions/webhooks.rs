//! Proxy rules (a function's domain, `Modules/Proxy/Http/Rules/…`) and webhooks, whose URL must
//! be on a public domain (`Webhooks/Create.php`: `Multiple([URL, PublicDomain])`). Also the
//! test-side reads of both.

use serde_json::{json, Value};

use super::find;
use crate::wire::Answer;
use crate::State;

pub(super) fn create_rule(state: &mut State, body: &Value, now: &str) -> Answer {
    let (Some(domain), Some(function)) = (body["domain"].as_str(), body["functionId"].as_str())
    else {
        return Answer::missing_param("domain");
    };
    if find(state, function).is_none() {
        return Answer::error(404, "rule_resource_not_found", "Resource could not be found. Please check if the resourceId and resourceType are correct, or if the resource actually exists.");
    }
    if state.functions.rules.iter().any(|r| r["domain"] == domain) {
        return Answer::error(
            409,
            "rule_already_exists",
            "Domain is already used. Please try again with a different domain.",
        );
    }
    state.sequence += 1;
    let rule = json!({"$id": format!("rule{}", state.sequence), "$createdAt": now,
        "$updatedAt": now, "domain": domain, "type": "deployment", "trigger": "manual",
        "deploymentResourceType": "function", "deploymentResourceId": function,
        "deploymentId": "", "status": "unverified", "logs": ""});
    state.functions.rules.push(rule.clone());
    Answer::json(201, rule)
}

/// `PublicDomain` (utopia-php/domains): the host's suffix must be on the public suffix list;
/// the fake knows the reserved names that are not.
fn public_domain(url: &str) -> bool {
    let host = url
        .split_once("://")
        .map_or(url, |(_, rest)| rest)
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default();
    let host = host.rsplit_once(':').map_or(host, |(h, port)| {
        if port.chars().all(|c| c.is_ascii_digit()) {
            h
        } else {
            host
        }
    });
    let tld = host.rsplit('.').next().unwrap_or_default();
    host.contains('.')
        && host.parse::<std::net::IpAddr>().is_err()
        && !matches!(
            tld,
            "localhost" | "test" | "local" | "internal" | "invalid" | "example"
        )
}

pub(super) fn create_webhook(state: &mut State, body: &Value, now: &str) -> Answer {
    let url = body["url"].as_str().unwrap_or_default();
    if !public_domain(url) {
        return Answer::error(400, "general_argument_invalid", "Invalid `url` param: Value must be a valid URL with following schemes (http, https) and Value must be a public domain");
    }
    let id = body["webhookId"].as_str().unwrap_or("unique()").to_owned();
    if state
        .functions
        .webhooks
        .iter()
        .any(|w| w["$id"] == id.as_str())
    {
        return Answer::error(
            409,
            "webhook_already_exists",
            "A webhook with the same ID already exists. Try again with a different ID.",
        );
    }
    let webhook = json!({"$id": id, "$createdAt": now, "$updatedAt": now, "name": body["name"],
        "url": url, "events": body["events"], "enabled": body["enabled"].as_bool().unwrap_or(true),
        "tls": body["tls"].as_bool().unwrap_or(false),
        "secret": body["secret"].as_str().unwrap_or("generated")});
    state.functions.webhooks.push(webhook.clone());
    Answer::json(201, webhook)
}

pub(super) fn update_webhook(
    state: &mut State,
    id: &str,
    body: &Value,
    secret: Option<String>,
) -> Answer {
    if let Some(url) = body["url"].as_str() {
        if !public_domain(url) {
            return Answer::error(400, "general_argument_invalid", "Invalid `url` param: Value must be a valid URL with following schemes (http, https) and Value must be a public domain");
        }
    }
    let Some(webhook) = state.functions.webhooks.iter_mut().find(|w| w["$id"] == id) else {
        return Answer::error(
            404,
            "webhook_not_found",
            "Webhook with the requested ID could not be found.",
        );
    };
    for key in ["name", "url", "events", "enabled", "tls"] {
        if let Some(value) = body.get(key).filter(|v| !v.is_null()) {
            webhook[key] = value.clone();
        }
    }
    if let Some(secret) = secret {
        webhook["secret"] = json!(secret);
    }
    Answer::json(200, webhook.clone())
}

impl crate::FakeAppwrite {
    /// The proxy rules created.
    pub fn rules(&self) -> Vec<Value> {
        self.shared.lock().functions.rules.clone()
    }

    /// The webhooks created, with their secrets.
    pub fn webhooks(&self) -> Vec<Value> {
        self.shared.lock().functions.webhooks.clone()
    }
}
