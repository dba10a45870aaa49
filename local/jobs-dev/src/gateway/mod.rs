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
//! - `POST /v1/messaging/messages/email`, `GET /v1/messaging/messages` (server key only):
//!   Messaging, recording the alert emails instead of sending them (`crate::messaging`).
//! - `GET /v1/dev/stats` (server key only): executions per function, store calls per function
//!   and Realtime counters, for tests and `scripts/bench`.
//! - `POST /v1/dev/schedules` (development key only): a scheduled function with a past
//!   history, for tests (`dev_schedules`).
//! - `GET /jobs`, `/jobs/:id`, `/assets/*`, `/config.js`: the dashboard.
//!
//! Callers without `X-Appwrite-Key` act as the development identity (the dev server binds
//! loopback only by default), or, with `JOBS_DEV_USERS`, as the user of the session they name
//! (the cookie, or the `X-Fallback-Cookies` header of a page on another site:
//! `crate::account::Credentials`; a guest without one); with the key they act as a server,
//! which is how workers call hooks. Browser requests from another site are refused before
//! routing (`guard`) unless it is a Web platform the project trusts, whose API answers carry
//! Appwrite's CORS headers.
//!
//! This module is the router and the state it routes over; `executions` runs the functions
//! and keeps their documents, `guard` decides which browser requests pass and adds the CORS
//! headers; the Appwrite shapes it answers with are `crate::wire`'s.

mod dev_schedules;
mod executions;
mod functions;
mod guard;

pub use executions::{may_execute, Caller, Internal};
pub use guard::foreign_request;

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{json, Value};

use crate::account::{Accounts, Answer, Credentials};
use crate::config::DevConfig;
use crate::dashboard;
use crate::domain;
use crate::host::Hosted;
use crate::keys::Keys;
use crate::lock;
use crate::realtime::{self, Hub, Identity, StoreCounters};
use crate::webhook::Webhook;
use crate::wire::{error, json_response, user_document, AwError, HttpResponse};

/// The dev server's front: its configuration, the hosted functions, the identities and keys
/// requests are checked against, and what executions leave behind (`executions`).
pub struct Gateway {
    config: DevConfig,
    functions: HashMap<String, Arc<Hosted>>,
    internal: Mutex<HashMap<String, Internal>>,
    client: reqwest::Client,
    executions: Mutex<VecDeque<(String, Value)>>,
    logs_dir: PathBuf,
    counter: std::sync::atomic::AtomicU64,
    /// The local project webhook, when configured (`crate::webhook`).
    webhook: std::sync::OnceLock<Webhook>,
    accounts: Accounts,
    /// The dev key and the keys handed to executions.
    keys: Keys,
    realtime: std::sync::OnceLock<(Arc<Hub>, Arc<StoreCounters>)>,
    /// Executions started per function id.
    started: Mutex<HashMap<String, u64>>,
    /// Function settings written through the Functions API, demo schedules, audit rows.
    functions_api: functions::FunctionsState,
    /// Emails created through Messaging (`crate::messaging`).
    messages: crate::messaging::Messages,
}

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
            keys: Keys::new(&config_for_accounts.key),
            realtime: std::sync::OnceLock::new(),
            started: Mutex::new(HashMap::new()),
            functions_api: functions::FunctionsState::default(),
            webhook: std::sync::OnceLock::new(),
            messages: crate::messaging::Messages::default(),
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

    pub fn hosted(&self) -> impl Iterator<Item = &Arc<Hosted>> {
        self.functions.values()
    }

    /// Routes one HTTP request: refuses it when it comes from a site that is neither this
    /// server's nor a trusted platform, answers a CORS preflight, and adds Appwrite's CORS
    /// headers to every API answer.
    pub async fn route(
        self: Arc<Self>,
        req: Request<Incoming>,
    ) -> Result<HttpResponse, Infallible> {
        let platforms = guard::platforms(self.accounts.enabled());
        let cors = guard::cors(&req, platforms);
        if let Some(why) = foreign_request(&req, self.config.allow_remote, platforms) {
            let refused = error(&AwError::new(403, "general_access_forbidden", why));
            return Ok(guard::with_cors(refused, &cors));
        }
        if req.method() == Method::OPTIONS && !cors.is_empty() {
            let preflight = Response::builder()
                .status(StatusCode::NO_CONTENT)
                .body(Full::new(Bytes::new()))
                .expect("static headers are valid");
            return Ok(guard::with_cors(preflight, &cors));
        }
        let res = self.answer(req).await?;
        Ok(guard::with_cors(res, &cors))
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
                self.create_execution(function_id, key.as_deref(), cookie, req)
                    .await
            }
            (_, ["domains", function_id, rest @ ..]) => {
                return Ok(self.serve_domain(function_id, &rest.join("/"), req).await);
            }
            (&Method::GET, ["v1", "functions", _, "executions", execution_id]) => {
                self.execution(execution_id)
            }
            (&Method::GET, ["v1", "functions"]) => self
                .server_only(key.as_deref(), &["functions.read"])
                .map(|()| self.list_functions()),
            (&Method::GET, ["v1", "functions", function_id]) => self
                .server_only(key.as_deref(), &["functions.read"])
                .and_then(|()| self.get_function(function_id)),
            (&Method::PUT, ["v1", "functions", function_id]) => {
                match self.server_only(key.as_deref(), &["functions.write"]) {
                    Ok(()) => match Limited::new(req.into_body(), 64 * 1024).collect().await {
                        Ok(b) => self.update_function(function_id, &b.to_bytes()),
                        Err(_) => Err(too_large()),
                    },
                    Err(e) => Err(e),
                }
            }
            (&Method::GET, ["v1", "functions", function_id, "executions"]) => self
                .server_only(key.as_deref(), &["executions.read", "execution.read"])
                .and_then(|()| self.list_executions(function_id, req.uri().query().unwrap_or(""))),
            (&Method::GET, ["v1", "tablesdb", _, "tables", table, "rows"]) => self
                .server_only(key.as_deref(), &["rows.read", "documents.read"])
                .and_then(|()| self.list_audit_rows(table, req.uri().query().unwrap_or(""))),
            (&Method::POST, ["v1", "tablesdb", _, "tables", table, "rows"]) => {
                match self.server_only(key.as_deref(), &["rows.write", "documents.write"]) {
                    Ok(()) => match Limited::new(req.into_body(), 128 * 1024).collect().await {
                        Ok(b) => self.create_audit_row(table, &b.to_bytes()),
                        Err(_) => Err(too_large()),
                    },
                    Err(e) => Err(e),
                }
            }
            (&Method::GET, ["v1", "users", user_id]) => self
                .server_only(key.as_deref(), &["users.read"])
                .and_then(|()| self.user(user_id)),
            (&Method::GET, ["v1", "teams", team_id, "memberships"]) => self
                .server_only(key.as_deref(), &["teams.read"])
                .map(|()| (200, self.memberships(team_id))),
            (&Method::GET, ["v1", "realtime"]) => return Ok(self.open_realtime(req, cookie)),
            (&Method::GET, ["v1", "dev", "stats"]) => self
                .server_only(key.as_deref(), &["global"])
                .map(|()| (200, self.stats())),
            // Only the development key holds this made-up scope: an execution's key may not
            // add functions.
            (&Method::POST, ["v1", "dev", "schedules"]) => {
                match self.server_only(key.as_deref(), &["jobs-dev.schedules"]) {
                    Ok(()) => match Limited::new(req.into_body(), 64 * 1024).collect().await {
                        Ok(b) => self.seed_schedule(&b.to_bytes()),
                        Err(_) => Err(too_large()),
                    },
                    Err(e) => Err(e),
                }
            }
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
            (&Method::POST, ["v1", "messaging", "messages", "email"]) => {
                match self.server_only(key.as_deref(), &["messages.write"]) {
                    Ok(()) => match Limited::new(req.into_body(), 256 * 1024).collect().await {
                        Ok(b) => self.messages.create_email(&b.to_bytes()),
                        Err(_) => Err(AwError::new(
                            413,
                            "general_argument_invalid",
                            "Request body too large.",
                        )),
                    },
                    Err(e) => Err(e),
                }
            }
            (&Method::GET, ["v1", "messaging", "messages"]) => self
                .server_only(key.as_deref(), &["messages.read"])
                .map(|()| self.messages.list()),
            (&Method::GET, ["v1", "health"]) => Ok((200, json!({"status": "pass"}))),
            (&Method::GET | &Method::HEAD, _) => {
                return Ok(dashboard::serve(
                    &path,
                    self.config.dashboard_dir.as_deref(),
                    self.accounts.enabled(),
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

    /// `ANY /domains/{functionId}/{path}`: the function run as its domain runs it
    /// (`crate::domain`). A domain request carries no session: Appwrite runs it as a guest.
    async fn serve_domain(
        self: &Arc<Self>,
        function_id: &str,
        path: &str,
        req: Request<Incoming>,
    ) -> HttpResponse {
        let outcome = match domain::request(path, req).await {
            Ok(exec) => {
                self.execute(function_id, Caller::Domain, &Identity::default(), exec)
                    .await
            }
            Err(e) => Err(e),
        };
        domain::answer(outcome)
    }

    /// `GET /v1/realtime`: the WebSocket upgrade, as the request's identity; a socket opened
    /// without a session may sign in later with a session secret.
    fn open_realtime(
        self: &Arc<Self>,
        req: Request<Incoming>,
        cookie: &Credentials,
    ) -> HttpResponse {
        let who = self.identity(cookie);
        let this = self.clone();
        let authenticate: realtime::Authenticate =
            Arc::new(move |session: &str| this.accounts.session_identity(session));
        match self.realtime.get() {
            Some((hub, _)) => realtime::upgrade(hub.clone(), req, who, authenticate),
            None => error(&AwError::new(
                503,
                "general_server_error",
                "Realtime is not started.",
            )),
        }
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

/// An Account answer with its headers (`Set-Cookie`, `X-Fallback-Cookies`; a 204 has no body).
fn with_cookies((status, body, headers): Answer) -> HttpResponse {
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

/// A request body above what the route reads.
fn too_large() -> AwError {
    AwError::new(413, "general_argument_invalid", "Request body too large.")
}
