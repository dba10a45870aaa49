//! docs/schemas/hooks must describe what the handler accepts: every schema property is a member
//! the parser knows, every member the parser knows is in the schema, and dropping a required
//! member is a 400 naming it.

use serde_json::{json, Value};

use crate::support::spawn_app;

const SCHEMAS: &[(&str, &str)] = &[
    (
        "start",
        include_str!("../../../../docs/schemas/hooks/start.request.json"),
    ),
    (
        "progress",
        include_str!("../../../../docs/schemas/hooks/progress.request.json"),
    ),
    (
        "heartbeat",
        include_str!("../../../../docs/schemas/hooks/heartbeat.request.json"),
    ),
    (
        "paused",
        include_str!("../../../../docs/schemas/hooks/paused.request.json"),
    ),
    (
        "complete",
        include_str!("../../../../docs/schemas/hooks/complete.request.json"),
    ),
    (
        "fail",
        include_str!("../../../../docs/schemas/hooks/fail.request.json"),
    ),
];

#[test]
fn every_request_schema_lists_exactly_the_members_the_handler_accepts() {
    let app = spawn_app(hook_campaign_run::handle);
    for (event, text) in SCHEMAS {
        let schema: Value = serde_json::from_str(text).unwrap();
        let properties = schema["properties"].as_object().unwrap();
        for name in properties.keys().filter(|k| *k != "event") {
            // A known member never gets "unknown field"; its value may be invalid here.
            let (_, body) = app.call(json!({"event": event, name: Value::Null}));
            let message = body["error"]["message"].as_str().unwrap_or("");
            assert!(!message.contains("unknown field"), "{event}.{name}: {body}");
        }
        let (_, body) = app.call(json!({"event": event, "notInSchema": 1}));
        assert_eq!(body["error"]["field"], "notInSchema", "{event}");
        let required: Vec<&str> = schema["required"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .filter(|r| *r != "event")
            .collect();
        for missing in &required {
            let mut body = json!({"event": event});
            for member in required.iter().filter(|r| *r != missing) {
                body[*member] = json!(if *member == "referenceId" { "c1" } else { "x" });
            }
            let (status, answer) = app.call(body);
            assert_eq!(status, 400, "{event} without {missing}: {answer}");
            assert_eq!(answer["error"]["field"], *missing, "{event}: {answer}");
        }
    }
}
