//! A function's domain, emulated as a path prefix: `ANY /domains/{functionId}/{path}` runs the
//! function as Appwrite's router runs a request to its domain (appwrite 1.9.6
//! `app/controllers/general.php`): only when `execute` includes `any` or `guests` (else 401
//! `function_execute_permission_missing`), with the caller's headers passed through (so a
//! webhook's `x-appwrite-webhook-*` reach the function), trigger `http`, no user, and the
//! function's own answer (status, headers, body) as the response. The local webhook
//! (`crate::webhook`) delivers to `job-observer` this way.
//!
//! This module translates both ways: [`request`] turns the HTTP request into the execution to
//! run, [`answer`] turns that execution back into the function's own answer. The gateway runs
//! it in between, as `Caller::Domain`.

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use serde_json::Value;

use crate::wire::{AwError, ExecRequest, HttpResponse};

const MAX_BODY: usize = 20 * 1024 * 1024;

/// Headers that describe the connection, not the request: never forwarded (the call to the
/// function sets its own).
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
];

/// The synchronous execution a request to the function's domain at `path` asks for.
pub async fn request(path: &str, req: Request<Incoming>) -> Result<ExecRequest, AwError> {
    let method = req.method().as_str().to_owned();
    let query = req
        .uri()
        .query()
        .map(|q| format!("?{q}"))
        .unwrap_or_default();
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .filter(|(name, _)| !HOP_BY_HOP.contains(&name.as_str()))
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                value.to_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(b) => String::from_utf8_lossy(&b.to_bytes()).into_owned(),
        Err(_) => {
            return Err(AwError::new(
                400,
                "general_argument_invalid",
                "Request body too large",
            ))
        }
    };
    Ok(ExecRequest {
        body,
        is_async: false,
        path: format!("/{path}{query}"),
        method,
        headers,
    })
}

/// The answer to a domain request: the function's own (taken back out of the execution
/// document), or the error that kept it from running.
pub fn answer(outcome: Result<(u16, Value), AwError>) -> HttpResponse {
    match outcome {
        Ok((_, doc)) => function_answer(&doc),
        Err(e) => error(&e),
    }
}

fn function_answer(doc: &Value) -> HttpResponse {
    let status = doc["responseStatusCode"].as_u64().unwrap_or(500) as u16;
    let mut builder = Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR));
    for header in doc["responseHeaders"].as_array().into_iter().flatten() {
        if let (Some(name), Some(value)) = (header["name"].as_str(), header["value"].as_str()) {
            if !HOP_BY_HOP.contains(&name) {
                builder = builder.header(name, value);
            }
        }
    }
    let body = doc["responseBody"].as_str().unwrap_or("").to_owned();
    builder
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_else(|_| error(&AwError::new(500, "general_unknown", "bad function answer")))
}

fn error(e: &AwError) -> HttpResponse {
    Response::builder()
        .status(StatusCode::from_u16(e.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(e.body().to_string())))
        .expect("static headers are valid")
}
