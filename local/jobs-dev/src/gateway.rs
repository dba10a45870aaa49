//! The dev server's HTTP front: the slice of Appwrite's API that Job Manager's callers and
//! functions use, plus the dashboard's static files.
//!
//! - `POST /v1/functions/{id}/executions` (and `GET …/executions/{executionId}`): Appwrite's
//!   executions endpoint, with its request validation, `execute` permissions from
//!   `appwrite.json`, the headers Appwrite adds, sync (30 s cap) and async (202) modes and its
//!   execution document as the answer.
//! - `GET /v1/users/{id}` and `GET /v1/teams/{id}/memberships`: the development identity (or
//!   users), for job-actions' role lookup (server key only, as on Appwrite).
//! - `GET /v1/realtime`: Appwrite's Realtime WebSocket (`crate::realtime`).
//! - `/v1/account…`: sign-in for development users (`crate::account`), when configured.
//! - `GET /v1/dev/stats` (server key only): executions per function, store calls per function
//!   and Realtime counters, for tests and `scripts/bench`.
//! - `GET /jobs`, `/jobs/:id`, `/assets/*`, `/config.js`: the dashboard.
//!
//! Callers without `X-Appwrite-Key` act as the development identity (the dev server binds
//! loopback only by default), or, with `JOBS_DEV_USERS`, as the user of the session they name
//! (the cookie, or the `X-Fallback-Cookies` header of a page on another site:
//! `crate::account::Credentials`; a guest without one); with the key they act as a server,
//! which is how workers call hooks. Browser requests from another site are refused before
//! routing (`foreign_request`) unless it is a Web platform the project trusts (`platforms`),
//! whose API answers carry Appwrite's CORS headers (`cors`).

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{json, Value};

use crate::account::{Accounts, Credentials};
use crate::config::{DevConfig, DevUser};
use crate::dashboard;
use crate::host::Hosted;
use crate::realtime::{Hub, Identity, StoreCounters};

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

/// Appwrite's error answer: `{"message","code","type","version"}`.
#[derive(Debug, Clone, PartialEq)]
pub struct AwError {
    pub code: u16,
    pub kind: &'static str,
    pub message: String,
}

impl AwError {
    pub fn new(code: u16, kind: &'static str, message: impl Into<String>) -> AwError {
        AwError {
            code,
            kind,
            message: message.into(),
        }
    }

    pub fn body(&self) -> Value {
        json!({"message": self.message, "code": self.code, "type": self.kind, "version": "local"})
    }
}

/// The parsed body of `POST …/executions`.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecRequest {
    pub body: String,
    pub is_async: bool,
    pub path: String,
    pub method: String,
    pub headers: Vec<(String, String)>,
}

impl ExecRequest {
    /// Validates like Appwrite: string body, known method, path ≤ 2048, caller headers with
    /// safe names that do not impersonate Appwrite's own (`x-appwrite-*`).
    pub fn parse(raw: &[u8]) -> Result<ExecRequest, AwError> {
        let invalid = |m: String| AwError::new(400, "general_argument_invalid", m);
        let v: Value = if raw.is_empty() {
            json!({})
        } else {
            serde_json::from_slice(raw).map_err(|e| invalid(format!("Invalid JSON body: {e}")))?
        };
        let body = match v.get("body") {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(_) => {
                return Err(invalid(
                    "Invalid `body` param: Value must be a valid string".into(),
                ))
            }
        };
        let is_async = match v.get("async") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                return Err(invalid(
                    "Invalid `async` param: Value must be a valid boolean".into(),
                ))
            }
        };
        let path = match v.get("path") {
            None | Some(Value::Null) => "/".to_owned(),
            Some(Value::String(s)) if s.starts_with('/') && s.len() <= 2048 => s.clone(),
            Some(_) => {
                return Err(invalid(
                    "Invalid `path` param: must start with / and be at most 2048 chars".into(),
                ))
            }
        };
        let method = match v.get("method") {
            None | Some(Value::Null) => "POST".to_owned(),
            Some(Value::String(s))
                if ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"].contains(&s.as_str()) =>
            {
                s.clone()
            }
            Some(_) => return Err(invalid("Invalid `method` param: Value must be one of (GET, POST, PUT, PATCH, DELETE, OPTIONS, HEAD)".into())),
        };
        let mut headers = Vec::new();
        match v.get("headers") {
            None | Some(Value::Null) => {}
            Some(Value::Object(map)) => {
                for (name, value) in map {
                    let ok_name = name.len() >= 2
                        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                        && !name.starts_with('-')
                        && !name.ends_with('-');
                    if !ok_name || name.to_ascii_lowercase().starts_with("x-appwrite-") {
                        return Err(invalid(format!(
                            "Invalid `headers` param: header {name:?} is not allowed"
                        )));
                    }
                    let value = match value {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    headers.push((name.to_ascii_lowercase(), value));
                }
            }
            Some(_) => {
                return Err(invalid(
                    "Invalid `headers` param: Value must be a valid object".into(),
                ))
            }
        }
        Ok(ExecRequest {
            body,
            is_async,
            path,
            method,
            headers,
        })
    }
}

/// Appwrite's gate before a function runs (appwrite 1.9.6
/// `src/Appwrite/Platform/Modules/Functions/Http/Executions/Create.php`: `isValid(new
/// Input('execute', …))`): a user may execute a function only when one of its roles is listed in
/// `execute`, whatever the function would decide itself; an empty list means server (API key)
/// only. API keys skip the check (`app/controllers/shared/api.php` disables authorization).
pub fn may_execute(execute: &[String], roles: &[String]) -> bool {
    execute.iter().any(|r| roles.contains(r))
}

pub struct Gateway {
    config: DevConfig,
    functions: HashMap<String, Arc<Hosted>>,
    internal: Mutex<HashMap<String, Internal>>,
    client: reqwest::Client,
    executions: Mutex<VecDeque<(String, Value)>>,
    logs_dir: PathBuf,
    counter: std::sync::atomic::AtomicU64,
    /// The local project webhook, when configured (`crate::webhook`).
    webhook: std::sync::OnceLock<crate::webhook::Webhook>,
    accounts: Accounts,
    /// The dev key and the keys handed to executions.
    keys: crate::keys::Keys,
    realtime: std::sync::OnceLock<(Arc<Hub>, Arc<StoreCounters>)>,
    /// Executions started per function id.
    started: Mutex<HashMap<String, u64>>,
}

type HttpResponse = Response<Full<Bytes>>;

impl Gateway {
    pub fn new(
        config: DevConfig,
        functions: HashMap<String, Arc<Hosted>>,
        logs_dir: PathBuf,
    ) -> Gateway {
        let config_for_accounts = config.clone();
        Gateway {
            config,
            functions,
            internal: Mutex::new(HashMap::new()),
            client: reqwest::Client::new(),
            executions: Mutex::new(VecDeque::new()),
            logs_dir,
            counter: std::sync::atomic::AtomicU64::new(0),
            accounts: Accounts::new(&config_for_accounts),
            keys: crate::keys::Keys::new(&config_for_accounts.key),
            realtime: std::sync::OnceLock::new(),
            started: Mutex::new(HashMap::new()),
            webhook: std::sync::OnceLock::new(),
        }
    }

    /// Turns on the local webhook for every later execution.
    pub fn set_webhook(&self, webhook: crate::webhook::Webhook) {
        let _ = self.webhook.set(webhook);
    }

    /// Publishes an execution event to the webhook, if there is one.
    fn emit(&self, action: &str, doc: &Value) {
        if let Some(webhook) = self.webhook.get() {
            webhook.emit(action, doc);
        }
    }

    /// Connects the Realtime hub and the store counters the hosted functions write through.
    pub fn attach_realtime(&self, hub: Arc<Hub>, counters: Arc<StoreCounters>) {
        let _ = self.realtime.set((hub, counters));
    }

    /// Who a browser request is: the dev identity, or with development users the user of the
    /// session it names (a guest without one).
    pub fn identity(&self, cookie: &Credentials) -> Identity {
        if self.accounts.enabled() {
            return self.accounts.identity(cookie);
        }
        let user = self.config.current_user();
        Identity {
            roles: user.roles(),
            account: Some(user_document(user)),
        }
    }

    /// Counters for tests and benchmarks: executions and store calls per function, Realtime.
    pub fn stats(&self) -> Value {
        let executions: serde_json::Map<String, Value> = lock(&self.started)
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        let (store, realtime) = match self.realtime.get() {
            Some((hub, counters)) => (counters.snapshot(), hub.stats()),
            None => (json!({}), json!({})),
        };
        json!({"executions": executions, "store": store, "realtime": realtime})
    }

    /// Registers a function implemented by the dev server (server key only).
    pub fn register_internal(&self, id: &str, f: Internal) {
        lock(&self.internal).insert(id.to_owned(), f);
    }

    pub fn hosted(&self) -> impl Iterator<Item = &Arc<Hosted>> {
        self.functions.values()
    }

    fn execution_id(&self) -> String {
        let n = self
            .counter
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let ms = chrono::Utc::now().timestamp_millis();
        // Appwrite ids are 20 lowercase hex-ish characters; keep the shape, ordered by time.
        format!("{:013x}{:07x}", ms, n & 0xfff_ffff)
    }

    fn remember(&self, id: &str, doc: &Value) {
        let mut kept = lock(&self.executions);
        kept.retain(|(k, _)| k != id);
        kept.push_back((id.to_owned(), doc.clone()));
        while kept.len() > KEPT_EXECUTIONS {
            kept.pop_front();
        }
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
        if caller == Caller::Domain {
            let execute = hosted
                .as_ref()
                .map(|h| h.spec.execute.clone())
                .unwrap_or_default();
            if !execute.iter().any(|r| r == "any" || r == "guests") {
                return Err(AwError::new(
                    401,
                    "function_execute_permission_missing",
                    "To execute function using domain, execute permissions must include \"any\" or \"guests\".",
                ));
            }
        }
        if caller == Caller::User {
            let execute = hosted
                .as_ref()
                .map(|h| h.spec.execute.clone())
                .unwrap_or_default();
            if !may_execute(&execute, &who.roles) {
                return Err(AwError::new(
                    401,
                    "user_unauthorized",
                    format!("The current user is not authorized to perform the requested action: `{function_id}` lets only [{}] execute it; the caller holds [{}].", execute.join(", "), who.roles.join(", ")),
                ));
            }
        }
        *lock(&self.started)
            .entry(function_id.to_owned())
            .or_default() += 1;
        let id = self.execution_id();
        let trigger = if caller == Caller::Schedule {
            "schedule"
        } else {
            "http"
        };
        let now = shared::appwrite::datetime(&chrono::Utc::now());
        let mut doc = json!({
            "$id": id, "$createdAt": now, "$updatedAt": now, "$permissions": [],
            "functionId": function_id, "resourceId": function_id, "resourceType": "functions",
            "deploymentId": "local", "trigger": trigger, "status": "waiting",
            "requestMethod": req.method, "requestPath": req.path,
            "requestHeaders": kept_request_headers(&req.headers),
            "responseStatusCode": 0, "responseBody": "", "responseHeaders": [],
            "logs": "", "errors": "", "duration": 0.0, "scheduledAt": null,
        });
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

    /// The hostnames of the Web platforms the project trusts (Appwrite's `allowedHostnames`).
    /// With sign-in on: `localhost`, and so its loopback aliases, as on a self-hosted Appwrite
    /// whose `_APP_DOMAIN` is the default `localhost` (appwrite 1.9.6 `app/config/platform.php`,
    /// `app/init/resources/request.php`). Without it none: every browser call would be the
    /// password-less development identity, which only the server's own pages may use.
    fn platforms(&self) -> &'static [&'static str] {
        if self.accounts.enabled() {
            &["localhost"]
        } else {
            &[]
        }
    }

    /// Routes one HTTP request: refuses it when it comes from a site that is neither this
    /// server's nor a trusted platform, answers a CORS preflight, and adds Appwrite's CORS
    /// headers to every API answer.
    pub async fn route(
        self: Arc<Self>,
        req: Request<Incoming>,
    ) -> Result<HttpResponse, Infallible> {
        let platforms = self.platforms();
        let cors = cors(&req, platforms);
        if let Some(why) = foreign_request(&req, self.config.allow_remote, platforms) {
            let refused = error(&AwError::new(403, "general_access_forbidden", why));
            return Ok(with_cors(refused, &cors));
        }
        if req.method() == Method::OPTIONS && !cors.is_empty() {
            let preflight = Response::builder()
                .status(StatusCode::NO_CONTENT)
                .body(Full::new(Bytes::new()))
                .expect("static headers are valid");
            return Ok(with_cors(preflight, &cors));
        }
        let res = self.answer(req).await?;
        Ok(with_cors(res, &cors))
    }

    /// Answers one HTTP request that `route` let through.
    async fn answer(self: Arc<Self>, req: Request<Incoming>) -> Result<HttpResponse, Infallible> {
        let method = req.method().clone();
        let path = req.uri().path().to_owned();
        let key = req
            .headers()
            .get("x-appwrite-key")
            .map(|v| v.to_str().unwrap_or("").to_owned());
        let cookie = Credentials::from_headers(req.headers());
        let cookie = &cookie;
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let answer = match (&method, segments.as_slice()) {
            (&Method::POST, ["v1", "functions", function_id, "executions"]) => {
                let function_id = (*function_id).to_owned();
                match self.caller(key.as_deref(), &["executions.write", "execution.write"]) {
                    Err(e) => Err(e),
                    Ok(caller) => {
                        let raw = match Limited::new(req.into_body(), MAX_BODY).collect().await {
                            Ok(b) => b.to_bytes(),
                            Err(_) => {
                                return Ok(error(&AwError::new(
                                    400,
                                    "general_argument_invalid",
                                    "Request body too large",
                                )))
                            }
                        };
                        let who = self.identity(cookie);
                        match ExecRequest::parse(&raw) {
                            Ok(exec) => self.execute(&function_id, caller, &who, exec).await,
                            Err(e) => Err(e),
                        }
                    }
                }
            }
            (_, ["domains", function_id, rest @ ..]) => {
                let (function_id, rest) = ((*function_id).to_owned(), rest.join("/"));
                return Ok(crate::domain::serve(self.clone(), &function_id, &rest, req).await);
            }
            (&Method::GET, ["v1", "functions", _, "executions", execution_id]) => {
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
            (&Method::GET, ["v1", "users", user_id]) => self
                .server_only(key.as_deref(), &["users.read"])
                .and_then(|()| self.user(user_id)),
            (&Method::GET, ["v1", "teams", team_id, "memberships"]) => self
                .server_only(key.as_deref(), &["teams.read"])
                .map(|()| (200, self.memberships(team_id))),
            (&Method::GET, ["v1", "realtime"]) => {
                let who = self.identity(cookie);
                let this = self.clone();
                let authenticate: crate::realtime::Authenticate =
                    Arc::new(move |session: &str| this.accounts.session_identity(session));
                return Ok(match self.realtime.get() {
                    Some((hub, _)) => crate::realtime::upgrade(hub.clone(), req, who, authenticate),
                    None => error(&AwError::new(
                        503,
                        "general_server_error",
                        "Realtime is not started.",
                    )),
                });
            }
            (&Method::GET, ["v1", "dev", "stats"]) => self
                .server_only(key.as_deref(), &["global"])
                .map(|()| (200, self.stats())),
            (&Method::GET, ["v1", "account"]) if self.accounts.enabled() => {
                return Ok(with_cookies(self.accounts.account(cookie)))
            }
            (&Method::POST, ["v1", "account", "sessions", "email"]) if self.accounts.enabled() => {
                let raw = match Limited::new(req.into_body(), 64 * 1024).collect().await {
                    Ok(b) => b.to_bytes(),
                    Err(_) => Bytes::new(),
                };
                return Ok(with_cookies(self.accounts.create_session(cookie, &raw)));
            }
            (&Method::GET, ["v1", "account", "sessions", "current"]) if self.accounts.enabled() => {
                return Ok(with_cookies(self.accounts.current_session(cookie)))
            }
            (&Method::DELETE, ["v1", "account", "sessions", "current"])
                if self.accounts.enabled() =>
            {
                return Ok(with_cookies(self.accounts.delete_session(cookie)))
            }
            (&Method::GET, ["v1", "account"]) => {
                Ok((200, user_document(self.config.current_user())))
            }
            (&Method::GET, ["v1", "health"]) => Ok((200, json!({"status": "pass"}))),
            (&Method::GET | &Method::HEAD, _) => {
                return Ok(dashboard::serve(
                    &path,
                    self.config.dashboard_dir.as_deref(),
                ))
            }
            _ => Err(AwError::new(
                404,
                "general_route_not_found",
                "The requested route was not found.",
            )),
        };
        Ok(match answer {
            Ok((status, body)) => json_response(status, &body),
            Err(e) => error(&e),
        })
    }

    /// Who calls a route that needs one of `scopes`: a user (no key), or a key holding one of
    /// them (`crate::keys`: the dev key holds all, an execution's key its function's).
    fn caller(&self, key: Option<&str>, scopes: &[&str]) -> Result<Caller, AwError> {
        match key {
            None => Ok(Caller::User),
            Some(k) => {
                self.keys.check(k, Instant::now())?.require(scopes)?;
                Ok(Caller::Key)
            }
        }
    }

    fn server_only(&self, key: Option<&str>, scopes: &[&str]) -> Result<(), AwError> {
        match self.caller(key, scopes)? {
            Caller::User => Err(AwError::new(401, "general_unauthorized_scope", "The current user or API key does not have the required scopes to access the requested resource.")),
            _ => Ok(()),
        }
    }

    fn user(&self, user_id: &str) -> Result<(u16, Value), AwError> {
        let user = self.config.user(user_id).ok_or_else(|| {
            AwError::new(
                404,
                "user_not_found",
                "User with the requested ID could not be found.",
            )
        })?;
        Ok((200, user_document(user)))
    }

    /// The confirmed memberships of `team_id`: every development user listing that team.
    fn memberships(&self, team_id: &str) -> Value {
        let members: Vec<Value> = self
            .config
            .users
            .iter()
            .filter(|u| u.teams.iter().any(|t| t == team_id))
            .map(|u| {
                json!({
                    "$id": u.membership_id(team_id), "userId": u.id,
                    "teamId": team_id, "roles": ["member"], "confirm": true,
                    "userName": u.name, "userEmail": u.email,
                })
            })
            .collect();
        json!({"total": members.len(), "memberships": members})
    }
}

/// A development user as Appwrite's user document (the fields job-actions reads).
pub fn user_document(user: &DevUser) -> Value {
    json!({
        "$id": user.id, "name": user.name, "email": user.email,
        "labels": user.labels, "status": true,
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

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn json_response(status: u16, body: &Value) -> HttpResponse {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("content-type", "application/json")
        .header("cache-control", "no-store")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("static headers are valid")
}

fn error(e: &AwError) -> HttpResponse {
    json_response(e.code, &e.body())
}

/// An Account answer with its headers (`Set-Cookie`, `X-Fallback-Cookies`; a 204 has no body).
fn with_cookies((status, body, headers): crate::account::Answer) -> HttpResponse {
    let mut res = if status == 204 {
        Response::builder()
            .status(StatusCode::NO_CONTENT)
            .body(Full::new(Bytes::new()))
            .expect("static headers are valid")
    } else {
        json_response(status, &body)
    };
    for (name, value) in headers {
        if let Ok(value) = hyper::header::HeaderValue::from_str(&value) {
            res.headers_mut().append(name, value);
        }
    }
    res
}

/// Appwrite's CORS headers for an API request (appwrite 1.9.6 `src/Appwrite/Network/Cors.php`,
/// `app/config/cors.php`): methods, headers, the exposed `X-Fallback-Cookies` and
/// `X-Appwrite-Session`, credentials, and the caller's own origin back when it is a trusted
/// platform. Empty for the dashboard's files and function domains, which are not the API.
fn cors<B>(req: &Request<B>, platforms: &[&str]) -> Vec<(&'static str, String)> {
    if !is_api(req) {
        return Vec::new();
    }
    const ALLOWED_HEADERS: &str = "Accept, Origin, Cookie, Set-Cookie, Content-Type, \
        Content-Range, X-Appwrite-Project, X-Appwrite-Key, X-Appwrite-Dev-Key, X-Appwrite-Locale, \
        X-Appwrite-Mode, X-Appwrite-JWT, X-Appwrite-Organization, X-Appwrite-Response-Format, \
        X-Appwrite-Timeout, X-Appwrite-ID, X-Appwrite-Timestamp, X-Appwrite-Session, \
        X-Appwrite-Platform, X-Appwrite-Impersonate-User-Id, X-Appwrite-Impersonate-User-Email, \
        X-Appwrite-Impersonate-User-Phone, X-SDK-Version, X-SDK-Name, X-SDK-Language, \
        X-SDK-Platform, X-SDK-GraphQL, X-SDK-Profile, Range, Cache-Control, Expires, Pragma, \
        X-Fallback-Cookies, X-Requested-With, X-Forwarded-For, X-Forwarded-User-Agent";
    let mut headers = vec![
        (
            "access-control-allow-methods",
            "GET, POST, PUT, PATCH, DELETE".to_owned(),
        ),
        ("access-control-allow-headers", ALLOWED_HEADERS.to_owned()),
        (
            "access-control-expose-headers",
            "X-Appwrite-Session, X-Fallback-Cookies".to_owned(),
        ),
        ("access-control-allow-credentials", "true".to_owned()),
        ("access-control-max-age", "86400".to_owned()),
    ];
    let origin = req.headers().get("origin").and_then(|v| v.to_str().ok());
    if let Some(origin) = origin.filter(|o| trusted_origin(o, platforms)) {
        // Echoed exactly, never `*`: the answers carry credentials.
        headers.push((
            "access-control-allow-origin",
            origin.trim().to_ascii_lowercase(),
        ));
    }
    headers
}

fn with_cors(mut res: HttpResponse, cors: &[(&'static str, String)]) -> HttpResponse {
    for (name, value) in cors {
        if let Ok(value) = hyper::header::HeaderValue::from_str(value) {
            res.headers_mut().append(*name, value);
        }
    }
    res
}

/// Whether a request is for the API (`/v1/…`, as `answer` splits paths, so `//v1/x` is too).
fn is_api<B>(req: &Request<B>) -> bool {
    req.uri().path().trim_matches('/').split('/').next() == Some("v1")
}

/// Whether `origin` is a Web page of a trusted platform: an http(s) origin whose host is one of
/// `platforms`, or one of Appwrite's spellings of loopback (`127.0.0.1`, `[::1]`) when
/// `localhost` is (appwrite 1.9.6 `src/Appwrite/Network/Validator/Origin.php`,
/// `Platform::LOOPBACK_ALIASES`). Matched exactly: `127.0.0.1.example.com` is not loopback.
fn trusted_origin(origin: &str, platforms: &[&str]) -> bool {
    let origin = origin.trim().to_ascii_lowercase();
    let Some(authority) = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
    else {
        return false;
    };
    let host = match authority.strip_prefix('[') {
        Some(rest) => match rest.split_once(']') {
            Some((inside, _)) => format!("[{inside}]"),
            None => return false,
        },
        None => authority
            .rsplit_once(':')
            .map_or(authority, |(h, _)| h)
            .to_owned(),
    };
    platforms.contains(&host.as_str())
        || (["127.0.0.1", "[::1]"].contains(&host.as_str()) && platforms.contains(&"localhost"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_execution_request_takes_appwrite_defaults() {
        let r = ExecRequest::parse(b"{}").unwrap();
        assert_eq!(
            (r.method.as_str(), r.path.as_str(), r.is_async),
            ("POST", "/", false)
        );
    }

    #[test]
    fn caller_headers_may_not_impersonate_appwrite() {
        let e = ExecRequest::parse(br#"{"headers":{"x-appwrite-user-id":"admin"}}"#).unwrap_err();
        assert_eq!((e.code, e.kind), (400, "general_argument_invalid"));
    }

    #[test]
    fn a_non_string_body_is_rejected() {
        assert_eq!(
            ExecRequest::parse(br#"{"body":{"a":1}}"#).unwrap_err().code,
            400
        );
    }

    #[test]
    fn an_empty_execute_list_means_server_only() {
        let roles = vec!["any".to_owned(), "team:jobs-operators".to_owned()];
        assert!(!may_execute(&[], &roles));
        assert!(may_execute(&["team:jobs-operators".to_owned()], &roles));
        assert!(!may_execute(&["team:jobs-viewers".to_owned()], &roles[..1]));
    }
}

/// Why a request must be refused because it does not come from this server's own pages or a
/// local tool, if it must. A page on another site can make the developer's browser send
/// requests here (a form post needs no CORS preflight), with the password-less dev identity,
/// and open the Realtime WebSocket (browsers send no preflight for WebSockets and let the page
/// read every message): so a state-changing request, and any read of the API (`/v1/…`: the
/// Realtime upgrade, execution documents, the account), whose `Origin` (or `Sec-Fetch-Site`)
/// names another site is refused; and on loopback the `Host` must be a loopback name (a
/// rebound DNS name is not). The own origin is the one the request is addressed to (`Origin`
/// equal to `Host`, as behind a proxy that keeps both). Reads of the dashboard's files and of
/// function domains (public by design, with the function's own CORS) stay open. Tools and
/// workers send no `Origin` and pass, and so do pages of a trusted Web platform
/// (`trusted_origin`), as Appwrite lets them.
pub fn foreign_request<B>(
    req: &Request<B>,
    allow_remote: bool,
    platforms: &[&str],
) -> Option<&'static str> {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let host = header("host").unwrap_or("");
    if !allow_remote && !is_loopback_host(host) {
        return Some("jobs-dev answers only requests addressed to localhost");
    }
    let reads = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if reads && !is_api(req) {
        return None;
    }
    if header("origin").is_some_and(|o| trusted_origin(o, platforms)) {
        return None;
    }
    if header("sec-fetch-site") == Some("cross-site") {
        return Some("cross-site requests are refused");
    }
    match header("origin") {
        None => None,
        Some(origin) => {
            let authority = origin
                .strip_prefix("http://")
                .or_else(|| origin.strip_prefix("https://"));
            (authority != Some(host)).then_some("cross-origin requests are refused")
        }
    }
}

/// `localhost`, `127.x.y.z` or `[::1]`, with or without a port.
fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod foreign_tests {
    use super::*;

    fn request(method: &str, headers: &[(&str, &str)]) -> Request<()> {
        request_to(method, "/v1/functions/f/executions", headers)
    }

    fn request_to(method: &str, uri: &str, headers: &[(&str, &str)]) -> Request<()> {
        let mut builder = Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        builder.body(()).unwrap()
    }

    #[test]
    fn a_post_from_another_site_is_refused_and_one_from_the_dashboard_or_a_tool_passes() {
        let host = ("host", "127.0.0.1:8787");
        let evil = request("POST", &[host, ("origin", "https://evil.example")]);
        assert!(foreign_request(&evil, false, &[]).is_some());
        let fetch = request("POST", &[host, ("sec-fetch-site", "cross-site")]);
        assert!(foreign_request(&fetch, false, &[]).is_some());
        let own = request("POST", &[host, ("origin", "http://127.0.0.1:8787")]);
        assert_eq!(foreign_request(&own, false, &[]), None);
        let tool = request("POST", &[host]);
        assert_eq!(foreign_request(&tool, false, &[]), None);
    }

    #[test]
    fn an_api_read_from_another_site_is_refused_and_the_dashboards_files_stay_open() {
        let host = ("host", "127.0.0.1:8787");
        let evil = ("origin", "https://evil.example");
        for uri in [
            "/v1/functions/job-actions/executions/abc",
            "/v1/realtime?project=jobmanager&channels[]=rows",
            "/v1/account",
            "//v1/realtime",
        ] {
            let page = request_to("GET", uri, &[host, evil]);
            assert!(foreign_request(&page, false, &[]).is_some(), "{uri}");
            let fetch = request_to("GET", uri, &[host, ("sec-fetch-site", "cross-site")]);
            assert!(foreign_request(&fetch, false, &[]).is_some(), "{uri}");
            let own = request_to("GET", uri, &[host, ("origin", "http://127.0.0.1:8787")]);
            assert_eq!(foreign_request(&own, false, &[]), None, "{uri}");
            let tool = request_to("GET", uri, &[host]);
            assert_eq!(foreign_request(&tool, false, &[]), None, "{uri}");
        }
        for uri in ["/jobs", "/assets/app.js", "/config.js", "/domains/f/x"] {
            let page = request_to("GET", uri, &[host, evil]);
            assert_eq!(foreign_request(&page, false, &[]), None, "{uri}");
        }
    }

    #[test]
    fn a_page_of_a_trusted_platform_passes_with_appwrites_cors_headers_and_others_do_not() {
        let host = ("host", "localhost:8787");
        let platforms: &[&str] = &["localhost"];
        let allowed = |headers: &[(&str, String)]| {
            headers
                .iter()
                .find(|(n, _)| *n == "access-control-allow-origin")
                .map(|(_, v)| v.clone())
        };
        for origin in [
            "http://127.0.0.1:5173",
            "http://localhost:3000",
            "http://[::1]:8080",
        ] {
            let page = request(
                "POST",
                &[host, ("origin", origin), ("sec-fetch-site", "cross-site")],
            );
            assert_eq!(foreign_request(&page, false, platforms), None, "{origin}");
            let headers = cors(&page, platforms);
            assert_eq!(allowed(&headers).as_deref(), Some(origin));
            assert!(headers.contains(&(
                "access-control-expose-headers",
                "X-Appwrite-Session, X-Fallback-Cookies".to_owned()
            )));
            assert!(headers.contains(&("access-control-allow-credentials", "true".to_owned())));
            // Without sign-in there is no trusted platform: the dev identity stays same-origin.
            assert!(foreign_request(&page, false, &[]).is_some(), "{origin}");
        }
        for origin in [
            "https://evil.example",
            "http://127.0.0.1.evil.example",
            "http://127.0.0.2:8080",
            "http://localhost.:8080",
            "null",
        ] {
            let page = request("POST", &[host, ("origin", origin)]);
            assert!(
                foreign_request(&page, false, platforms).is_some(),
                "{origin}"
            );
            assert_eq!(allowed(&cors(&page, platforms)), None, "{origin}");
        }
        let file = request_to("GET", "/jobs", &[host, ("origin", "http://127.0.0.1:5173")]);
        assert!(
            cors(&file, platforms).is_empty(),
            "the dashboard's files are not the API"
        );
    }

    #[test]
    fn a_rebound_host_name_is_refused_on_loopback() {
        let rebound = request("GET", &[("host", "attacker.example:8787")]);
        assert!(foreign_request(&rebound, false, &[]).is_some());
        for ok in ["localhost:8787", "127.0.0.1", "[::1]:8787", "LOCALHOST"] {
            assert_eq!(
                foreign_request(&request("GET", &[("host", ok)]), false, &[]),
                None,
                "{ok}"
            );
        }
        assert_eq!(
            foreign_request(&rebound, true, &[]),
            None,
            "opted in to remote"
        );
    }
}
