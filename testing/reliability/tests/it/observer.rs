//! The execution observer's matrices (`docs/observer.md`): who gets in (only a delivery carrying
//! Appwrite's signature for this URL, body and key, whatever else the request says) and what a
//! signed but malformed body gets (a 400 naming the member). Refusals and bad input write
//! nothing: the whole store is compared before and after each case.

use chrono::Duration;
use serde_json::{json, Value};
use shared::job::format_timestamp;

use crate::world::{Endpoint, Req, World, OPERATOR, VIEWER, WEBHOOK_SECRET, WEBHOOK_URL};

fn execution(world: &World, id: &str, status: &str) -> Value {
    let at = format_timestamp(&world.now);
    json!({"$id": id, "$createdAt": at, "$updatedAt": at, "functionId": "sqs-poller",
        "trigger": "schedule", "status": status, "responseStatusCode": 200, "errors": "",
        "duration": 1.5})
}

fn signed(body: &[u8]) -> Req {
    let signature = job_observer::signature::sign(WEBHOOK_URL, body, WEBHOOK_SECRET);
    Req::server("POST", "/", body.to_vec()).header("x-appwrite-webhook-signature", &signature)
}

#[test]
fn only_a_delivery_signed_with_the_webhook_key_gets_in_whoever_else_the_caller_claims_to_be() {
    let world = World::new();
    let body = execution(&world, "authz1", "completed")
        .to_string()
        .into_bytes();
    let sign_with =
        |url: &str, key: &str, body: &[u8]| job_observer::signature::sign(url, body, key);
    let stale = {
        let mut doc = execution(&world, "authz2", "completed");
        let old = format_timestamp(&(world.now - Duration::days(2)));
        doc["$createdAt"] = json!(old);
        doc["$updatedAt"] = json!(old);
        doc.to_string().into_bytes()
    };
    let unsigned = || Req::server("POST", "/", body.clone());
    let refused: Vec<(&str, Req)> = vec![
        ("no signature", unsigned()),
        (
            "no signature, user session",
            unsigned().header("x-appwrite-user-id", OPERATOR),
        ),
        (
            "no signature, user session + jwt",
            unsigned()
                .header("x-appwrite-user-id", VIEWER)
                .header("x-appwrite-user-jwt", "eyJhbGciOi.user.jwt"),
        ),
        (
            "no signature, schedule trigger",
            unsigned().header("x-appwrite-trigger", "schedule"),
        ),
        (
            "no signature, event trigger",
            unsigned().header("x-appwrite-trigger", "event"),
        ),
        (
            "no signature, server key",
            unsigned().header("x-appwrite-key", "standard_secret"),
        ),
        (
            "empty signature",
            unsigned().header("x-appwrite-webhook-signature", ""),
        ),
        (
            "garbage signature",
            unsigned().header("x-appwrite-webhook-signature", "%%%"),
        ),
        (
            "signed with another key",
            unsigned().header(
                "x-appwrite-webhook-signature",
                &sign_with(WEBHOOK_URL, "another-webhook-key", &body),
            ),
        ),
        (
            "signed for another URL",
            unsigned().header(
                "x-appwrite-webhook-signature",
                &sign_with("https://elsewhere.example.test/", WEBHOOK_SECRET, &body),
            ),
        ),
        (
            "signed over another body",
            unsigned().header(
                "x-appwrite-webhook-signature",
                &sign_with(WEBHOOK_URL, WEBHOOK_SECRET, b"{}"),
            ),
        ),
        (
            "the key itself as signature",
            unsigned().header("x-appwrite-webhook-signature", WEBHOOK_SECRET),
        ),
        ("signed but stale", signed(&stale)),
    ];
    let before = world.snapshot();
    for (who, req) in &refused {
        let res = world.call(Endpoint::Observer, req);
        assert_eq!(res.status, 401, "{who}: {}", res.body);
        assert!(
            matches!(res.code(), "invalid_signature" | "stale_event"),
            "{who}: {}",
            res.body
        );
        assert_eq!(res.field(), Some("x-appwrite-webhook-signature"), "{who}");
    }
    assert_eq!(world.snapshot(), before, "a refused delivery wrote");
    // The signature is the gate: a signed delivery gets in whatever the other headers say.
    let accepted = [
        signed(&body),
        signed(&body).header("x-appwrite-user-id", OPERATOR),
        signed(&body).header("x-appwrite-trigger", "event"),
    ];
    for req in &accepted {
        let res = world.call(Endpoint::Observer, req);
        assert_eq!(res.status, 200, "{}", res.body);
    }
    println!(
        "authorization matrix (observer): {} refused, {} accepted",
        refused.len(),
        accepted.len()
    );
}

#[test]
fn every_malformed_signed_body_is_a_400_naming_the_member_and_writes_nothing() {
    let world = World::new();
    let good = execution(&world, "bad1", "completed");
    let with = |member: &str, value: Value| {
        let mut doc = good.clone();
        doc[member] = value;
        doc.to_string().into_bytes()
    };
    let without = |member: &str| {
        let mut doc = good.clone();
        doc.as_object_mut().unwrap().remove(member);
        doc.to_string().into_bytes()
    };
    let cases: Vec<(&str, Vec<u8>, &str, Option<&str>)> = vec![
        ("invalid JSON", b"{not json".to_vec(), "invalid_json", None),
        ("empty body", Vec::new(), "invalid_json", None),
        ("binary body", vec![0xff, 0xfe, 0x00], "invalid_json", None),
        (
            "not an object",
            b"[1,2,3]".to_vec(),
            "invalid_input",
            Some("$id"),
        ),
        (
            "a string",
            b"\"execution\"".to_vec(),
            "invalid_input",
            Some("$id"),
        ),
        ("missing $id", without("$id"), "invalid_input", Some("$id")),
        (
            "missing functionId",
            without("functionId"),
            "invalid_input",
            Some("functionId"),
        ),
        (
            "missing status",
            without("status"),
            "invalid_input",
            Some("status"),
        ),
        (
            "$id not a string",
            with("$id", json!(7)),
            "invalid_input",
            Some("$id"),
        ),
        (
            "$id not an Appwrite id",
            with("$id", json!("a/b")),
            "invalid_input",
            Some("$id"),
        ),
        (
            "$id too long",
            with("$id", json!("x".repeat(37))),
            "invalid_input",
            Some("$id"),
        ),
        (
            "functionId with spaces",
            with("functionId", json!("sqs poller")),
            "invalid_input",
            Some("functionId"),
        ),
        (
            "functionId control chars",
            with("functionId", json!("sqs\u{0}")),
            "invalid_input",
            Some("functionId"),
        ),
        (
            "unknown status",
            with("status", json!("exploded")),
            "invalid_input",
            Some("status"),
        ),
        (
            "status not a string",
            with("status", json!(3)),
            "invalid_input",
            Some("status"),
        ),
        (
            "negative duration",
            with("duration", json!(-1)),
            "invalid_input",
            Some("duration"),
        ),
        (
            "huge duration",
            with("duration", json!(1e300)),
            "invalid_input",
            Some("duration"),
        ),
        (
            "duration a string",
            with("duration", json!("1s")),
            "invalid_input",
            Some("duration"),
        ),
        (
            "malformed $createdAt",
            with("$createdAt", json!("yesterday")),
            "invalid_input",
            Some("$createdAt"),
        ),
        (
            "malformed $updatedAt",
            with("$updatedAt", json!("2026-13-45")),
            "invalid_input",
            Some("$updatedAt"),
        ),
        (
            "status code a string",
            with("responseStatusCode", json!("500")),
            "invalid_input",
            Some("responseStatusCode"),
        ),
        (
            "errors an object",
            with("errors", json!({"a": 1})),
            "invalid_input",
            Some("errors"),
        ),
        (
            "trigger a number",
            with("trigger", json!(1)),
            "invalid_input",
            Some("trigger"),
        ),
    ];
    let before = world.snapshot();
    let mut failures = Vec::new();
    for (class, body, code, field) in &cases {
        let res = world.call(Endpoint::Observer, &signed(body));
        if (res.status, res.code(), res.field()) != (400, *code, *field) {
            failures.push(format!("{class}: got {} {}", res.status, res.body));
        }
        if res.json["error"]["message"]
            .as_str()
            .is_none_or(str::is_empty)
        {
            failures.push(format!("{class}: no message"));
        }
    }
    assert_eq!(world.snapshot(), before, "a malformed delivery wrote");
    // An oversize body is refused before it is parsed (no signature over it can be right).
    let huge = vec![b'x'; 2 * 1024 * 1024];
    let res = world.call(Endpoint::Observer, &Req::server("POST", "/", huge));
    assert_eq!(res.status, 401);
    // A wrong method is refused before anything else.
    let res = world.call(Endpoint::Observer, &Req::server("GET", "/", Vec::new()));
    assert_eq!((res.status, res.code()), (405, "method_not_allowed"));
    println!("bad-input matrix (observer): {} cases", cases.len() + 2);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
