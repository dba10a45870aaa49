//! Function executions: `POST /v1/functions/{id}/executions` recorded for the test and answered
//! with Appwrite's execution model, `202 waiting` when asynchronous, the finished run otherwise
//! (appwrite-notes: Creating an execution). Nothing runs. `GET /v1/functions/{id}/executions`
//! lists the documents with queries on the attributes Appwrite allows and `total`
//! (appwrite-notes: Listing functions and executions); tests add the runs a scheduler would
//! have made with [`FakeAppwrite::add_execution`](crate::FakeAppwrite::add_execution).

use serde_json::{json, Map, Value};

use crate::query::{filter_only, params_queries, select, total_param};
use crate::wire::{now_text, Answer};
use crate::State;

/// The attributes an executions query may name (Appwrite 1.9.6
/// `src/Appwrite/Utopia/Database/Validator/Queries/Executions.php`).
const QUERYABLE: &[&str] = &[
    "trigger",
    "status",
    "responseStatusCode",
    "duration",
    "requestMethod",
    "requestPath",
    "deploymentId",
    "$id",
    "$createdAt",
    "$updatedAt",
    "$sequence",
];

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
    state.execution_documents.push(execution.clone());
    Answer::json(if asynchronous { 202 } else { 201 }, execution)
}

/// `GET /v1/functions/{id}/executions`: 404 for an unknown function, 400 for a query on an
/// attribute Appwrite does not allow, else the page and the count of all that match.
pub(crate) fn list(state: &State, function: &str, params: &[(String, String)]) -> Answer {
    if crate::functions::find(state, function).is_none() {
        return crate::functions::function_not_found();
    }
    let queries = match params_queries(params) {
        Ok(q) => q,
        Err(answer) => return answer,
    };
    for q in &queries {
        if let Some(attribute) = q.get("attribute").and_then(Value::as_str) {
            if !QUERYABLE.contains(&attribute) {
                return Answer::error(
                    400,
                    "general_query_invalid",
                    format!("Invalid query: Attribute not found in schema: {attribute}"),
                );
            }
        }
    }
    let total_wanted = match total_param(params) {
        Ok(t) => t,
        Err(answer) => return answer,
    };
    let all: Vec<&Map<String, Value>> = state
        .execution_documents
        .iter()
        .filter(|e| e["functionId"] == function)
        .filter_map(Value::as_object)
        .collect();
    let total = if total_wanted {
        match filter_only(&all, &queries) {
            Ok(n) => n,
            Err(answer) => return answer,
        }
    } else {
        0
    };
    match select(all, Ok(queries), None) {
        Ok(found) => Answer::json(200, json!({"total": total, "executions": found})),
        Err(answer) => answer,
    }
}

/// A finished or pending run to add, as Appwrite would have recorded it.
#[derive(Debug, Clone, PartialEq)]
pub struct SeededExecution {
    pub trigger: &'static str,
    pub status: &'static str,
    /// `$createdAt`, in Appwrite's datetime form.
    pub created_at: String,
    pub duration: f64,
    pub status_code: u16,
}

impl crate::FakeAppwrite {
    /// Adds an execution document of `function` (not a request: nothing is recorded in
    /// [`executions`](Self::executions)), e.g. the scheduled runs of the last day. Returns its id.
    pub fn add_execution(&self, function: &str, run: &SeededExecution) -> String {
        let mut state = self.shared.lock();
        state.sequence += 1;
        let id = format!("exec{}", state.sequence);
        state.execution_documents.push(json!({
            "$id": id, "$createdAt": run.created_at, "$updatedAt": run.created_at,
            "$permissions": [], "functionId": function, "trigger": run.trigger,
            "status": run.status, "requestMethod": "POST", "requestPath": "/",
            "requestHeaders": [], "responseStatusCode": run.status_code, "responseBody": "",
            "responseHeaders": [], "logs": "", "errors": "", "duration": run.duration,
        }));
        id
    }

    /// The executions created so far, oldest first.
    pub fn executions(&self) -> Vec<RecordedExecution> {
        self.shared.lock().executions.clone()
    }
}
