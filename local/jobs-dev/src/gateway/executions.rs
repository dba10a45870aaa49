//! Execution bookkeeping: who may run a function (`Caller`, `may_execute`), running it through
//! its shim (or the dev server's own `Internal` functions) with the headers and the per-execution
//! key Appwrite adds, the execution document and the last `KEPT_EXECUTIONS` of them for
//! `GET …/executions/{id}`, executions started per function, and the webhook's execution events.

use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request};
use serde_json::{json, Value};

use super::Gateway;
use crate::account::Credentials;
use crate::host::Hosted;
use crate::lock;
use crate::realtime::Identity;
use crate::webhook::Webhook;
use crate::wire::{AwError, ExecRequest};

/// Appwrite's hard limit for synchronous executions.
const SYNC_TIMEOUT: Duration = Duration::from_secs(30);
/// Executions kept for `GET …/executions/{id}`.
const KEPT_EXECUTIONS: usize = 1000;
const MAX_BODY: usize = 20 * 1024 * 1024;

/// A function implemented by the dev server itself (the demo workers, re-triggered on resume):
/// called with the execution's body, runs in the background.
pub type Internal = Arc<dyn Fn(String) + Send + Sync>;

/// Who asks for an execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// The development identity (a browser).
    User,
    /// A server with the API key (workers, functions calling functions).
    Key,
    /// The scheduler.
    Schedule,
    /// An anonymous request to the function's domain (`crate::domain`).
    Domain,
}

/// Appwrite's gate before a function runs (appwrite 1.9.6
/// `src/Appwrite/Platform/Modules/Functions/Http/Executions/Create.php`: `isValid(new
/// Input('execute', …))`): a user may execute a function only when one of its roles is listed in
/// `execute`, whatever the function would decide itself; an empty list means server (API key)
/// only. API keys skip the check (`app/controllers/shared/api.php` disables authorization).
pub fn may_execute(execute: &[String], roles: &[String]) -> bool {
    execute.iter().any(|r| roles.contains(r))
}

impl Gateway {
    /// Turns on the local webhook for every later execution.
    pub fn set_webhook(&self, webhook: Webhook) {
        let _ = self.webhook.set(webhook);
    }

    /// Publishes an execution event to the webhook, if there is one.
    pub(super) fn emit(&self, action: &str, doc: &Value) {
        if let Some(webhook) = self.webhook.get() {
            webhook.emit(action, doc);
        }
    }

    /// Registers a function implemented by the dev server (server key only).
    pub fn register_internal(&self, id: &str, f: Internal) {
        lock(&self.internal).insert(id.to_owned(), f);
    }

    pub(super) fn execution_id(&self) -> String {
        let n = self
            .counter
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let ms = chrono::Utc::now().timestamp_millis();
        // Appwrite ids are 20 lowercase hex-ish characters; keep the shape, ordered by time.
        format!("{:013x}{:07x}", ms, n & 0xfff_ffff)
    }

    pub(super) fn remember(&self, id: &str, doc: &Value) {
        let mut kept = lock(&self.executions);
        kept.retain(|(k, _)| k != id);
        kept.push_back((id.to_owned(), doc.clone()));
        while kept.len() > KEPT_EXECUTIONS {
            kept.pop_front();
        }
    }

    /// `GET …/executions/{executionId}`: a kept execution's document.
    pub(super) fn execution(&self, execution_id: &str) -> Result<(u16, Value), AwError> {
        let kept = lock(&self.executions);
        kept.iter()
            .find(|(k, _)| k == execution_id)
            .map(|(_, v)| (200, v.clone()))
            .ok_or_else(|| {
                AwError::new(
                    404,
                    "execution_not_found",
                    "Execution with the requested ID could not be found.",
                )
            })
    }

    /// `POST …/executions`: who calls (a key needs an executions scope), the body, then the
    /// execution.
    pub(super) async fn create_execution(
        self: &Arc<Self>,
        function_id: &str,
        key: Option<&str>,
        cookie: &Credentials,
        req: Request<Incoming>,
    ) -> Result<(u16, Value), AwError> {
        let caller = self.caller(key, &["executions.write", "execution.write"])?;
        let raw = match Limited::new(req.into_body(), MAX_BODY).collect().await {
            Ok(b) => b.to_bytes(),
            Err(_) => {
                return Err(AwError::new(
                    400,
                    "general_argument_invalid",
                    "Request body too large",
                ))
            }
        };
        let who = self.identity(cookie);
        let exec = ExecRequest::parse(&raw)?;
        self.execute(function_id, caller, &who, exec).await
    }

    /// Runs an execution for `caller`; answers the status and execution document.
    pub async fn execute(
        self: &Arc<Self>,
        function_id: &str,
        caller: Caller,
        who: &Identity,
        req: ExecRequest,
    ) -> Result<(u16, Value), AwError> {
        let internal = lock(&self.internal).get(function_id).cloned();
        let hosted = self.functions.get(function_id).cloned();
        if hosted.is_none() && internal.is_none() {
            return Err(AwError::new(
                404,
                "function_not_found",
                "Function with the requested ID could not be found.",
            ));
        }
        admit(function_id, caller, who, hosted.as_deref())?;
        *lock(&self.started)
            .entry(function_id.to_owned())
            .or_default() += 1;
        let id = self.execution_id();
        let trigger = if caller == Caller::Schedule {
            "schedule"
        } else {
            "http"
        };
        let mut doc = document(&id, function_id, trigger, &req);
        if let Some(internal) = internal {
            if matches!(caller, Caller::User | Caller::Domain) {
                return Err(AwError::new(
                    401,
                    "user_unauthorized",
                    "The current user is not authorized to perform the requested action.",
                ));
            }
            internal(req.body.clone());
            doc["status"] = json!("completed");
            doc["responseStatusCode"] = json!(200);
            self.remember(&id, &doc);
            self.emit("create", &doc);
            return Ok((if req.is_async { 202 } else { 201 }, doc));
        }
        let hosted = hosted.expect("checked above");
        let user = if caller == Caller::User {
            who.account
                .as_ref()
                .and_then(|a| a.get("$id"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        } else {
            None
        };
        // Appwrite 1.9.6 `Executions/Create.php`: a signed-in caller may read its execution
        // (the webhook names that user).
        if let Some(user) = &user {
            doc["$permissions"] = json!([format!("read(\"user:{user}\")")]);
        }
        if req.is_async {
            self.remember(&id, &doc);
            self.emit("create", &doc);
            let this = self.clone();
            let (id2, mut doc2) = (id.clone(), doc.clone());
            tokio::spawn(async move {
                let timeout = Duration::from_secs(hosted.spec.timeout.max(1));
                this.run(
                    &hosted,
                    &id2,
                    trigger,
                    user.as_deref(),
                    &req,
                    timeout,
                    &mut doc2,
                )
                .await;
                this.remember(&id2, &doc2);
                this.emit("update", &doc2);
            });
            return Ok((202, doc));
        }
        let timeout = Duration::from_secs(hosted.spec.timeout.max(1)).min(SYNC_TIMEOUT);
        if !self
            .run(
                &hosted,
                &id,
                trigger,
                user.as_deref(),
                &req,
                timeout,
                &mut doc,
            )
            .await
        {
            return Err(AwError::new(408, "function_synchronous_timeout", "Synchronous function execution timed out. Use asynchronous execution instead, or ensure the execution duration doesn't exceed 30 seconds."));
        }
        self.remember(&id, &doc);
        // A synchronous execution's one event is the API's `create`, with the finished document.
        self.emit("create", &doc);
        Ok((201, doc))
    }

    /// Calls the function's shim with the open-runtimes protocol and fills `doc` from the answer.
    /// Returns false on timeout.
    #[allow(clippy::too_many_arguments)]
    async fn run(
        &self,
        hosted: &Hosted,
        id: &str,
        trigger: &str,
        user: Option<&str>,
        req: &ExecRequest,
        timeout: Duration,
        doc: &mut Value,
    ) -> bool {
        let started = Instant::now();
        // Appwrite's per-execution key: the function's scopes, expiring a minute after its
        // timeout (`crate::keys`). Without one (the OS random source failed) it cannot run.
        let execution_key = match self.keys.issue(&hosted.spec.scopes, timeout, started) {
            Ok(key) => key,
            Err(e) => {
                eprintln!("jobs-dev: {} not started: {}", hosted.spec.id, e.message);
                doc["status"] = json!("failed");
                doc["errors"] = json!(e.message);
                return true;
            }
        };
        let method = Method::from_bytes(req.method.as_bytes()).unwrap_or(Method::POST);
        let mut call = self
            .client
            .request(method, format!("http://{}{}", hosted.addr, req.path))
            .timeout(timeout + Duration::from_secs(1))
            .body(req.body.clone());
        for (name, value) in &req.headers {
            call = call.header(name, value);
        }
        let jwt = user.map(|u| format!("local-jwt.{u}")).unwrap_or_default();
        call = call
            .header("x-appwrite-trigger", trigger)
            .header("x-appwrite-execution-id", id)
            .header("x-appwrite-user-id", user.unwrap_or(""))
            .header("x-appwrite-user-jwt", jwt)
            .header("x-appwrite-key", &execution_key)
            .header("x-appwrite-client-ip", "127.0.0.1")
            .header("x-appwrite-country-code", "")
            .header("x-open-runtimes-secret", &hosted.secret)
            .header("x-open-runtimes-timeout", timeout.as_secs().to_string())
            .header("x-open-runtimes-logging", "enabled")
            .header("x-open-runtimes-log-id", id);
        let outcome = call.send().await;
        let (status, headers, body, ok) = match outcome {
            Ok(res) => {
                let status = res.status().as_u16();
                let headers: Vec<Value> = res
                    .headers()
                    .iter()
                    .filter(|(n, _)| !n.as_str().starts_with("x-open-runtimes-"))
                    .map(|(n, v)| json!({"name": n.as_str(), "value": v.to_str().unwrap_or("")}))
                    .collect();
                let body = res.text().await.unwrap_or_default();
                (status, headers, body, true)
            }
            Err(e) if e.is_timeout() => (500, vec![], String::new(), false),
            Err(e) => {
                eprintln!("jobs-dev: {} did not answer: {e}", hosted.spec.id);
                (500, vec![], String::new(), true)
            }
        };
        // File IO, so on a blocking thread: the async workers serve every other request.
        let (dir, log_id) = (self.logs_dir.clone(), id.to_owned());
        let (logs, errors) = tokio::task::spawn_blocking(move || take_logs(&dir, &log_id))
            .await
            .unwrap_or_default();
        doc["status"] = json!(if ok && status < 500 {
            "completed"
        } else {
            "failed"
        });
        doc["responseStatusCode"] = json!(status);
        doc["responseBody"] = json!(body);
        doc["responseHeaders"] = json!(headers);
        doc["logs"] = json!(logs);
        doc["errors"] = json!(if ok {
            errors
        } else {
            "Execution timed out.".to_owned()
        });
        doc["duration"] = json!(started.elapsed().as_secs_f64());
        doc["$updatedAt"] = json!(shared::appwrite::datetime(&chrono::Utc::now()));
        ok
    }
}

/// Whether `caller` may run a function whose `execute` list `hosted` carries (none for the
/// dev server's own): a domain request only when it lists `any` or `guests`, a user only with
/// one of the listed roles (`may_execute`).
fn admit(
    function_id: &str,
    caller: Caller,
    who: &Identity,
    hosted: Option<&Hosted>,
) -> Result<(), AwError> {
    let execute: &[String] = hosted.map_or(&[], |h| &h.spec.execute);
    if caller == Caller::Domain && !execute.iter().any(|r| r == "any" || r == "guests") {
        return Err(AwError::new(
            401,
            "function_execute_permission_missing",
            "To execute function using domain, execute permissions must include \"any\" or \"guests\".",
        ));
    }
    if caller == Caller::User && !may_execute(execute, &who.roles) {
        return Err(AwError::new(
            401,
            "user_unauthorized",
            format!("The current user is not authorized to perform the requested action: `{function_id}` lets only [{}] execute it; the caller holds [{}].", execute.join(", "), who.roles.join(", ")),
        ));
    }
    Ok(())
}

/// A new execution's document, `waiting`, in Appwrite's shape.
fn document(id: &str, function_id: &str, trigger: &str, req: &ExecRequest) -> Value {
    let now = shared::appwrite::datetime(&chrono::Utc::now());
    json!({
        "$id": id, "$createdAt": now, "$updatedAt": now, "$permissions": [],
        "functionId": function_id, "resourceId": function_id, "resourceType": "functions",
        "deploymentId": "local", "trigger": trigger, "status": "waiting",
        "requestMethod": req.method, "requestPath": req.path,
        "requestHeaders": kept_request_headers(&req.headers),
        "responseStatusCode": 0, "responseBody": "", "responseHeaders": [],
        "logs": "", "errors": "", "duration": 0.0, "scheduledAt": null,
    })
}

/// The request headers an execution document keeps: Appwrite's allow-list, plus the client IP
/// it adds (`FUNCTION_ALLOWLIST_HEADERS_REQUEST`, Appwrite 1.9.6 `app/init/constants.php`).
fn kept_request_headers(headers: &[(String, String)]) -> Vec<Value> {
    const KEPT: [&str; 4] = ["content-type", "agent", "content-length", "host"];
    headers
        .iter()
        .filter(|(n, _)| KEPT.contains(&n.to_ascii_lowercase().as_str()))
        .map(|(n, v)| json!({"name": n, "value": v}))
        .chain(std::iter::once(
            json!({"name": "x-appwrite-client-ip", "value": "127.0.0.1"}),
        ))
        .collect()
}

/// Reads and removes the shim's log files of one execution (JSON lines → plain text).
fn take_logs(dir: &std::path::Path, id: &str) -> (String, String) {
    let read = |suffix: &str| {
        let path = dir.join(format!("{id}_{suffix}.log"));
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let _ = std::fs::remove_file(&path);
        text.lines()
            .map(|l| match serde_json::from_str::<Value>(l) {
                Ok(Value::String(s)) => s,
                Ok(v) => v
                    .get("message")
                    .and_then(Value::as_str)
                    .map_or_else(|| l.to_owned(), str::to_owned),
                Err(_) => l.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    (read("logs"), read("errors"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_execute_list_means_server_only() {
        let roles = vec!["any".to_owned(), "team:jobs-operators".to_owned()];
        assert!(!may_execute(&[], &roles));
        assert!(may_execute(&["team:jobs-operators".to_owned()], &roles));
        assert!(!may_execute(&["team:jobs-viewers".to_owned()], &roles[..1]));
    }
}
