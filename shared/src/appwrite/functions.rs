//! Functions and their executions (appwrite-notes: Creating an execution, Listing functions and
//! executions, Updating a function): how the action API and the tracker's Appwrite transport
//! trigger a worker or a hook, and the [`Execution`] they read back; the reads and the one write
//! of the Schedules view (`shared::schedules`).

use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::client::parse;
use super::{segment, total_param, AppwriteClient, AppwriteError, Call, Method, Retry};

/// The `PUT /v1/functions/{id}` parameters a function document carries back. Appwrite resets
/// every optional parameter left out of the request to its default (an update without
/// `schedule` removes the schedule, without `installationId` disconnects the repository), so an
/// update sends each of them unchanged (appwrite-notes: Updating a function).
const UPDATE_PARAMS: &[&str] = &[
    "name",
    "runtime",
    "execute",
    "events",
    "schedule",
    "timeout",
    "enabled",
    "logging",
    "entrypoint",
    "commands",
    "scopes",
    "installationId",
    "providerRepositoryId",
    "providerBranch",
    "providerSilentMode",
    "providerRootDirectory",
    "specification",
    "buildSpecification",
    "runtimeSpecification",
];

/// Functions per page of `GET /v1/functions` (Appwrite's largest `limit`).
pub const FUNCTIONS_PAGE: usize = 100;

/// A function execution as far as we read it (appwrite-notes: Creating an execution).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Execution {
    #[serde(rename = "$id")]
    pub id: String,
    #[serde(default)]
    pub status: String,
    #[serde(rename = "responseStatusCode", default)]
    pub response_status_code: u16,
    #[serde(rename = "responseBody", default)]
    pub response_body: String,
}

impl AppwriteClient {
    /// Triggers a function execution. Not idempotent (each call runs the function), so only a
    /// 429 is retried.
    pub fn create_execution(
        &self,
        function_id: &str,
        body: &str,
        path: &str,
        method: &str,
        asynchronous: bool,
    ) -> Result<Execution, AppwriteError> {
        let mut call = Call::new(
            Method::POST,
            format!("/functions/{}/executions", segment(function_id)),
            Retry::OnlyRateLimit,
        );
        call.body = Some(json!({
            "body": body,
            "async": asynchronous,
            "path": path,
            "method": method,
            "headers": {"content-type": "application/json"},
        }));
        parse(self.send(&call)?.body)
    }
}

/// One page of a list: the documents and the `total` Appwrite counted (0 when not asked).
#[derive(Debug, Clone, PartialEq)]
pub struct Listed {
    pub total: u64,
    pub documents: Vec<Value>,
}

impl AppwriteClient {
    /// One page of the project's functions (`GET /v1/functions`, scope `functions.read`), as the
    /// documents Appwrite answers, after `cursor` (a function id) when given.
    pub fn list_functions(&self, cursor: Option<&str>) -> Result<Listed, AppwriteError> {
        let mut call = Call::new(Method::GET, "/functions", Retry::Idempotent);
        call.query = vec![(
            "queries[]",
            super::query("limit", None, vec![Value::from(FUNCTIONS_PAGE)]),
        )];
        if let Some(cursor) = cursor {
            call.query.push((
                "queries[]",
                super::query("cursorAfter", None, vec![Value::from(cursor)]),
            ));
        }
        call.query.push(("total", total_param(false).into()));
        listed(self.send(&call)?.body, "functions")
    }

    /// A function's executions matching `queries` (`GET /v1/functions/{id}/executions`, scope
    /// `executions.read`), with Appwrite's count of all that match when `total` is asked.
    pub fn list_executions(
        &self,
        function_id: &str,
        queries: &[String],
        total: bool,
    ) -> Result<Listed, AppwriteError> {
        let mut call = Call::new(
            Method::GET,
            format!("/functions/{}/executions", segment(function_id)),
            Retry::Idempotent,
        );
        call.query = queries.iter().map(|q| ("queries[]", q.clone())).collect();
        call.query.push(("total", total_param(total).into()));
        listed(self.send(&call)?.body, "executions")
    }

    /// The function's document (`GET /v1/functions/{id}`, scope `functions.read`).
    pub fn get_function(&self, function_id: &str) -> Result<Value, AppwriteError> {
        let call = Call::new(
            Method::GET,
            format!("/functions/{}", segment(function_id)),
            Retry::Idempotent,
        );
        Ok(self.send(&call)?.body)
    }

    /// Sets a function's `enabled` flag and nothing else: `PUT /v1/functions/{id}` (scope
    /// `functions.write`) with every other setting of `current` (the document just read) sent
    /// back as it is, because the update resets what it is not given. Idempotent.
    pub fn set_function_enabled(
        &self,
        current: &Value,
        enabled: bool,
    ) -> Result<Value, AppwriteError> {
        let id = current["$id"].as_str().unwrap_or_default();
        let mut call = Call::new(
            Method::PUT,
            format!("/functions/{}", segment(id)),
            Retry::Idempotent,
        );
        let mut body = update_body(current);
        body.insert("enabled".into(), Value::Bool(enabled));
        call.body = Some(Value::Object(body));
        Ok(self.send(&call)?.body)
    }
}

/// The update parameters of a function document, each as it is (see [`UPDATE_PARAMS`]).
pub fn update_body(current: &Value) -> Map<String, Value> {
    UPDATE_PARAMS
        .iter()
        .filter_map(|key| current.get(*key).map(|v| ((*key).to_owned(), v.clone())))
        .collect()
}

fn listed(body: Value, key: &str) -> Result<Listed, AppwriteError> {
    let total = body.get("total").and_then(Value::as_u64).unwrap_or(0);
    match body.get(key) {
        Some(Value::Array(documents)) => Ok(Listed {
            total,
            documents: documents.clone(),
        }),
        _ => Err(AppwriteError::Malformed(format!("a list without `{key}`"))),
    }
}
