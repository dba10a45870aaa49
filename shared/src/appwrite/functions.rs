//! Function executions (appwrite-notes: Creating an execution): how the action API and the
//! tracker's Appwrite transport trigger a worker or a hook, and the [`Execution`] they read back.

use serde::Deserialize;
use serde_json::json;

use super::client::parse;
use super::{segment, AppwriteClient, AppwriteError, Call, Method, Retry};

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
