//! The job actions API: the one HTTP function the dashboard calls (through Appwrite's
//! `createExecution` with the user's session) to list, filter, inspect, export, pause, resume,
//! cancel and retry jobs. This crate parses requests, checks who is asking, calls `shared`'s use
//! cases and shapes the answers; the rules themselves live in `shared`.
//!
//! Order of checks, so nothing leaks and nothing is written on bad input: route (404/405) →
//! trigger (schedule/event: 403) → user (401) → role (403) → input (400) → store.

pub mod actions;
pub mod appwrite;
pub mod auth;
pub mod batch;
pub mod config;
pub mod control;
pub mod query;
pub mod routes;
pub mod schedules;
pub mod upstream;
pub mod view;

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::OnceLock;

use openruntimes::{Context, Response};
use serde_json::Value;
use shared::http::{self, ApiError};
use shared::platform::Platform;

use crate::auth::RoleCache;
use crate::config::Config;
use crate::upstream::{Directory, Executions, Rows};

/// The Appwrite services a request may need besides the store, injected so tests use fakes.
pub struct Services<'a> {
    pub directory: &'a dyn Directory,
    pub executions: &'a dyn Executions,
    pub rows: &'a dyn Rows,
    pub roles: &'a RoleCache,
}

/// Appwrite's entry point: the production platform (Appwrite store and services from the
/// request's key), then [`handle`].
pub fn main(context: Context) -> Response {
    match appwrite::platform(&context) {
        Ok(platform) => handle(context, &platform),
        Err(err) => {
            context.error(format!("job-actions cannot start: {err}"));
            http::error(
                &context,
                &ApiError::new(503, "misconfigured", "the job store is not configured"),
            )
        }
    }
}

/// Serves one request on `platform`, reaching Appwrite (users, teams, executions, rows) at the
/// endpoint the platform's configuration names, with the request's key. Local runs point that
/// endpoint at the dev server, which emulates those routes for its development identity.
pub fn handle(context: Context, platform: &Platform) -> Response {
    static ROLES: OnceLock<RoleCache> = OnceLock::new();
    let upstream = appwrite::Upstream::from_context(&context, &platform.lookup);
    let services = Services {
        directory: &upstream,
        executions: &upstream,
        rows: &upstream,
        roles: ROLES.get_or_init(RoleCache::new),
    };
    handle_with(context, platform, &services)
}

/// [`handle`] with explicit services: what tests call.
pub fn handle_with(context: Context, platform: &Platform, services: &Services) -> Response {
    let config = match Config::from_lookup(|k| platform.var(k)) {
        Ok(config) => config,
        Err(err) => {
            context.error(err.to_string());
            return http::error(
                &context,
                &ApiError::new(500, "misconfigured", "the function is misconfigured"),
            );
        }
    };
    let origin = context.req.headers.get("origin").cloned();
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        actions::dispatch(&context, platform, services, &config)
    }));
    let reply = match outcome {
        Ok(Ok(reply)) => reply,
        Ok(Err(err)) => Reply::Error(err, Vec::new()),
        Err(_) => Reply::Error(ApiError::new(500, "internal", "internal error"), Vec::new()),
    };
    let mut response = reply.into_response(&context);
    for (k, v) in cors_headers(&config, origin.as_deref()) {
        response.headers.insert(k, v);
    }
    response
}

/// What a route answers, before CORS headers are added.
pub enum Reply {
    Json(u16, Value),
    /// An export download: content type, file name, body.
    Download {
        content_type: &'static str,
        filename: String,
        body: Vec<u8>,
        truncated: bool,
    },
    /// A CORS preflight on a known path, with its methods.
    Preflight(Vec<&'static str>),
    /// An error, with extra headers (e.g. `allow` on a 405).
    Error(ApiError, Vec<(String, String)>),
}

impl Reply {
    fn into_response(self, ctx: &Context) -> Response {
        match self {
            Reply::Json(status, value) => http::json(ctx, status, &value),
            Reply::Download {
                content_type,
                filename,
                body,
                truncated,
            } => {
                let headers = HashMap::from([
                    ("content-type".to_owned(), content_type.to_owned()),
                    (
                        "content-disposition".to_owned(),
                        format!("attachment; filename=\"{filename}\""),
                    ),
                    ("x-jobs-truncated".to_owned(), truncated.to_string()),
                ]);
                ctx.res.binary(body, Some(200), Some(headers))
            }
            Reply::Preflight(methods) => {
                let mut r = ctx.res.empty();
                r.headers.insert("allow".into(), allow_value(&methods));
                r
            }
            Reply::Error(err, headers) => {
                let mut r = http::error(ctx, &err);
                r.headers.extend(headers);
                r
            }
        }
    }
}

/// `GET, OPTIONS` style list for `allow` headers.
pub fn allow_value(methods: &[&str]) -> String {
    let mut all: Vec<&str> = methods.to_vec();
    all.push("OPTIONS");
    all.join(", ")
}

/// CORS headers for calls through a function domain; none unless `JOBS_CORS_ORIGINS` allows
/// the request's origin (or is `*`).
fn cors_headers(config: &Config, origin: Option<&str>) -> Vec<(String, String)> {
    if config.cors_origins.is_empty() {
        return Vec::new();
    }
    let allowed = if config.cors_origins.iter().any(|o| o == "*") {
        "*".to_owned()
    } else {
        match origin {
            Some(o) if config.cors_origins.iter().any(|c| c == o) => o.to_owned(),
            _ => return vec![("vary".into(), "origin".into())],
        }
    };
    vec![
        ("access-control-allow-origin".into(), allowed),
        ("vary".into(), "origin".into()),
        (
            "access-control-allow-methods".into(),
            "GET, POST, OPTIONS".into(),
        ),
        (
            "access-control-allow-headers".into(),
            "content-type, authorization, x-appwrite-project, x-appwrite-jwt".into(),
        ),
        (
            "access-control-expose-headers".into(),
            "content-disposition, x-jobs-truncated".into(),
        ),
        ("access-control-max-age".into(), "600".into()),
    ]
}
