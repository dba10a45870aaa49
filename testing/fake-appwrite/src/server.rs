//! The HTTP server: accepting connections until the fake is dropped, reading each request,
//! counting it per route label, injecting its fault, checking project, key and scopes as
//! Appwrite does, handing it to `functions` or to its route, and writing the answer with
//! Appwrite's headers. Also the test-side reads of the request counters.

use std::collections::BTreeMap;
use std::sync::Arc;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::Value;

use crate::faults::{self, Before, Fault};
use crate::functions;
use crate::route::{self, Route};
use crate::scopes;
use crate::wire::Answer;
use crate::{Shared, VERSION};

/// Serves connections on `listener` until `stopped` fires.
pub(crate) async fn serve(
    listener: std::net::TcpListener,
    shared: Arc<Shared>,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
        return;
    };
    loop {
        tokio::select! {
            _ = &mut stopped => return,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let shared = shared.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| handle(shared.clone(), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        }
    }
}

/// Returned by the service to make hyper close the connection without an answer.
#[derive(Debug)]
struct Hangup;

impl std::fmt::Display for Hangup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for Hangup {}

/// What the fake reads of a request.
struct Received {
    method: Method,
    path: String,
    query: String,
    project: Option<String>,
    key: Option<String>,
    timestamp: Option<String>,
    content_type: Option<String>,
    content_range: Option<String>,
    upload_id: Option<String>,
    body: Bytes,
}

async fn read(req: Request<Incoming>) -> Received {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (project, key, timestamp) = (
        header("x-appwrite-project"),
        header("x-appwrite-key"),
        header("x-appwrite-timestamp"),
    );
    let (content_type, content_range, upload_id) = (
        header("content-type"),
        header("content-range"),
        header("x-appwrite-id"),
    );
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or("").to_owned();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    Received {
        method,
        path,
        query,
        project,
        key,
        timestamp,
        content_type,
        content_range,
        upload_id,
        body,
    }
}

async fn handle(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Hangup> {
    let req = read(req).await;
    let route = Route::parse(&req.method, &req.path);
    let label = route.as_ref().map_or("unknown".to_owned(), Route::label);
    let fault = {
        let mut state = shared.lock();
        *state.requests.entry(label.clone()).or_default() += 1;
        faults::take(&mut state, &label)
    };
    if let Some(Fault::Slow(delay)) = &fault {
        tokio::time::sleep(*delay).await;
    }
    match faults::before(fault.as_ref()) {
        Before::Hangup => return Err(Hangup),
        Before::Answer(a) => return Ok(respond(a)),
        Before::Proceed => {}
    }
    let answer = match answer(&shared, &req, route) {
        Ok(answer) => answer,
        // Refused before anything was applied: answered even under `DropAfterApply`.
        Err(refusal) => return Ok(respond(refusal)),
    };
    if fault == Some(Fault::DropAfterApply) {
        return Err(Hangup);
    }
    Ok(respond(answer))
}

/// The answer to an authenticated request, or `Err` with a refusal made before the fake looked
/// at the route (an unknown project, a body that is not JSON).
fn answer(shared: &Shared, req: &Received, route: Option<Route>) -> Result<Answer, Answer> {
    // Project then key, as Appwrite checks them (Appwrite 1.9.6 `app/controllers/shared/api.php`
    // l.150-151 refuses an unknown project before l.204 reads `x-appwrite-key`).
    if req.project.as_deref() != Some(shared.project.as_str()) {
        return Err(Answer::error(
            404,
            "project_not_found",
            "Project with the requested ID could not be found. Please check the value of the X-Appwrite-Project header to ensure the correct project ID is being used.",
        ));
    }
    if req.key.as_deref() != Some(shared.key.as_str()) {
        return Ok(Answer::error(
            401,
            "general_unauthorized_scope",
            "app.test@service.localhost (role: guests) missing scopes ([\"rows.read\"])",
        ));
    }
    let upload = functions::Upload {
        content_type: req.content_type.as_deref(),
        content_range: req.content_range.as_deref(),
        upload_id: req.upload_id.as_deref(),
    };
    let method = req.method.as_str();
    let handled = {
        let mut state = shared.lock();
        scopes::refusal(&state, &shared.project, method, &req.path).or_else(|| {
            let project = &shared.project;
            functions::handle(&mut state, project, method, &req.path, &upload, &req.body)
        })
    };
    if let Some(answer) = handled {
        return Ok(answer);
    }
    let Some(route) = route else {
        return Ok(Answer::error(
            404,
            "general_route_not_found",
            "The requested route was not found. Please refer to the API docs and try again.",
        ));
    };
    let body: Value = if req.body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&req.body).map_err(|_| Answer::invalid_json())?
    };
    let params = form_urlencoded::parse(req.query.as_bytes())
        .into_owned()
        .collect::<Vec<(String, String)>>();
    let mut state = shared.lock();
    Ok(route::apply(
        &mut state,
        route,
        &params,
        body,
        req.timestamp.as_deref(),
    ))
}

fn respond(answer: Answer) -> Response<Full<Bytes>> {
    let mut builder = Response::builder()
        .status(StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("Content-Type", "application/json; charset=utf-8")
        .header("X-Appwrite-Version", VERSION);
    for (k, v) in answer.headers {
        builder = builder.header(k, v);
    }
    builder
        .body(Full::new(Bytes::from(answer.body)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

impl crate::FakeAppwrite {
    /// Requests served per route label (e.g. `GET row`, `PATCH row`, `GET rows`), faults included.
    pub fn requests(&self) -> BTreeMap<String, u64> {
        self.shared.lock().requests.clone()
    }

    pub fn total_requests(&self) -> u64 {
        self.shared.lock().requests.values().sum()
    }

    pub fn reset_requests(&self) {
        self.shared.lock().requests.clear();
    }
}
