//! Function executions: `POST /v1/functions/{id}/executions` recorded for the test and answered
//! with Appwrite's execution model, `202 waiting` when asynchronous, the finished run otherwise
//! (appwrite-notes: Creating an execution). Nothing runs.

use serde_json::{json, Value};

use crate::wire::{now_text, Answer};
use crate::State;

/// A recorded `POST /v1/functions/{id}/executions` (appwrite-notes: Creating an execution).
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedExecution {
    pub function_id: String,
    pub body: String,
    pub path: String,
    pub method: String,
    pub asynchronous: bool,
    pub headers: Value,
}

/// Records the execution and answers it.
pub(crate) fn create(state: &mut State, function: String, body: &Value) -> Answer {
    let text = |key: &str, default: &str| {
        body.get(key)
            .and_then(Value::as_str)
            .unwrap_or(default)
            .to_owned()
    };
    let asynchronous = body.get("async").and_then(Value::as_bool).unwrap_or(false);
    let recorded = RecordedExecution {
        function_id: function.clone(),
        body: text("body", ""),
        path: text("path", "/"),
        method: text("method", "POST"),
        asynchronous,
        headers: body.get("headers").cloned().unwrap_or(json!({})),
    };
    state.executions.push(recorded.clone());
    state.sequence += 1;
    let now = now_text();
    let execution = json!({
        "$id": format!("exec{}", state.sequence), "$createdAt": now, "$updatedAt": now,
        "$permissions": [], "functionId": function, "trigger": "http",
        "status": if asynchronous { "waiting" } else { "completed" },
        "requestMethod": recorded.method, "requestPath": recorded.path, "requestHeaders": [],
        "responseStatusCode": if asynchronous { 0 } else { 200 }, "responseBody": "",
        "responseHeaders": [], "logs": "", "errors": "", "duration": 0.0,
    });
    Answer::json(if asynchronous { 202 } else { 201 }, execution)
}

impl crate::FakeAppwrite {
    /// The executions created so far, oldest first.
    pub fn executions(&self) -> Vec<RecordedExecution> {
        self.shared.lock().executions.clone()
    }
}
