//! `POST /v1/jobs/batch`: one action (retry, cancel, pause, resume) on up to [`MAX_IDS`] jobs
//! an operator selected, under one confirmation. Each job goes through the single action's own
//! code (`usecase::control_read` / `retry_read`, then `control::After`: the re-trigger, its
//! link, the campaign mirror), so a job acted on in a batch is audited, re-triggered and
//! answered exactly as it would be alone.
//!
//! Bounded cost: the jobs (and, for a retry, any earlier retry of each) are read in one store
//! request (`JobStore::get_many`), then each job costs its one conditional write (docs/actions.md
//! § Batch). Only that first read can fail the call (nothing is written yet); after it every
//! job's outcome, store errors and panics included, is that job's own result, so an operator
//! always learns which jobs were acted on.

use std::collections::{HashMap, HashSet};
use std::panic::{catch_unwind, AssertUnwindSafe};

use openruntimes::Context;
use serde_json::{json, Map, Value};
use shared::http::{self, ApiError};
use shared::job::{actor_user, Job};
use shared::platform::Platform;
use shared::store::id;
use shared::usecase::{self, Act};

use crate::auth::Caller;
use crate::config::Config;
use crate::control::{audit_details, control_event, reason_of, store_error, After};
use crate::routes::Op;
use crate::{Reply, Services};

/// Most distinct jobs one batch acts on: what one call finishes well inside the function's
/// timeout (each job is a write, and a resume or retry a re-trigger and a link besides), and
/// what one `get_many` reads (with the earlier retries, twice this many ids in one query).
pub const MAX_IDS: usize = 100;

/// The actions a batch may name, as the body spells them.
const ACTIONS: &[(&str, Op)] = &[
    ("retry", Op::Retry),
    ("cancel", Op::Cancel),
    ("pause", Op::Pause),
    ("resume", Op::Resume),
];

/// The body's members; anything else is a 400 naming it.
const FIELDS: &[&str] = &["action", "ids", "reason"];

/// A checked batch request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub action: &'static str,
    pub op: Op,
    /// Distinct, in the order of their first mention.
    pub ids: Vec<String>,
    pub reason: Option<String>,
}

impl Batch {
    /// Parses `{"action", "ids", "reason"}` strictly: every problem is a 400 naming its field,
    /// before anything is read or written.
    pub fn parse(body: &[u8]) -> Result<Batch, ApiError> {
        let map = if body.iter().all(u8::is_ascii_whitespace) {
            Map::new()
        } else {
            match serde_json::from_slice::<Value>(body) {
                Ok(Value::Object(map)) => map,
                Ok(_) => return Err(ApiError::invalid("body", "the body must be a JSON object")),
                Err(e) => {
                    return Err(ApiError::invalid(
                        "body",
                        format!("the body is not JSON: {e}"),
                    ))
                }
            }
        };
        if let Some(key) = map.keys().find(|k| !FIELDS.contains(&k.as_str())) {
            return Err(ApiError::invalid(
                key.clone(),
                format!("unknown body field `{key}`; the fields are `action`, `ids`, `reason`"),
            ));
        }
        let names = || {
            ACTIONS
                .iter()
                .map(|(name, _)| *name)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let (action, op) = match map.get("action") {
            Some(Value::String(a)) => match ACTIONS.iter().find(|(name, _)| name == a) {
                Some(&(name, op)) => (name, op),
                None => {
                    return Err(ApiError::invalid(
                        "action",
                        format!("`{a}` is not one of {}", names()),
                    ))
                }
            },
            _ => {
                return Err(ApiError::invalid(
                    "action",
                    format!("`action` is required: one of {}", names()),
                ))
            }
        };
        let Some(Value::Array(raw)) = map.get("ids") else {
            return Err(ApiError::invalid(
                "ids",
                format!("`ids` is required: an array of 1 to {MAX_IDS} job ids"),
            ));
        };
        let mut seen = HashSet::new();
        let mut ids = Vec::new();
        for value in raw {
            let Value::String(id) = value else {
                return Err(ApiError::invalid(
                    "ids",
                    "every id in `ids` must be a string",
                ));
            };
            if seen.insert(id.as_str()) {
                ids.push(id.clone());
            }
        }
        if ids.is_empty() {
            return Err(ApiError::invalid("ids", "`ids` names no job"));
        }
        if ids.len() > MAX_IDS {
            return Err(ApiError::invalid(
                "ids",
                format!(
                    "`ids` names {} distinct jobs; at most {MAX_IDS} per call: send the rest in \
                     further calls",
                    ids.len()
                ),
            ));
        }
        Ok(Batch {
            action,
            op,
            ids,
            reason: reason_of(&map)?,
        })
    }
}

/// Serves a batch for `caller`, an operator (checked before, as for the single actions).
pub fn serve(
    ctx: &Context,
    platform: &Platform,
    services: &Services,
    config: &Config,
    caller: &Caller,
) -> Result<Reply, ApiError> {
    let batch = Batch::parse(&ctx.req.body_binary())?;
    let now = platform.now();
    let store = platform.store.as_ref();

    // The one read. An id that cannot be an id is not asked for (as a single action answers
    // it 404 without reading); a retry also reads the id each job's retry would have.
    let mut wanted: Vec<String> = batch
        .ids
        .iter()
        .filter(|id| id::is_valid(id))
        .cloned()
        .collect();
    if batch.op == Op::Retry {
        let retries: Vec<String> = wanted.iter().map(|id| usecase::retry_id(id)).collect();
        wanted.extend(retries);
    }
    let wanted: Vec<&str> = wanted.iter().map(String::as_str).collect();
    let found: HashMap<String, Job> = store
        .get_many(&wanted)
        .map_err(store_error)?
        .into_iter()
        .map(|job| (job.id.clone(), job))
        .collect();

    let act = Act::new(store, actor_user(&caller.user_id), now);
    let after = After {
        ctx,
        services,
        config,
        act: &act,
        now,
    };
    let mut details = audit_details(caller);
    // The log says the action came with others under one confirmation.
    details.insert("batch".into(), Value::Bool(true));
    let results: Vec<Value> = batch
        .ids
        .iter()
        .map(|id| {
            // One job's panic is that job's 500: the jobs before it are done and must be
            // reported as done, not hidden behind a failed call.
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                act_on(&after, &batch, id, &found, details.clone())
            }))
            .unwrap_or_else(|_| {
                Err(
                    ApiError::new(500, "internal", "internal error").with_cause(format!(
                        "batch {}: panic acting on job `{id}`",
                        batch.action
                    )),
                )
            });
            match outcome {
                Ok((status, answer)) => succeeded(id, status, answer),
                Err(err) => failed(ctx, id, &err),
            }
        })
        .collect();
    let ok = results.iter().filter(|r| r["ok"] == true).count();
    Ok(Reply::Json(
        200,
        json!({
            "action": batch.action,
            "requested": batch.ids.len(),
            "succeeded": ok,
            "failed": batch.ids.len() - ok,
            "results": results,
        }),
    ))
}

/// One job's action on the job as read, with the single action's side effects and answer.
fn act_on(
    after: &After,
    batch: &Batch,
    id: &str,
    found: &HashMap<String, Job>,
    details: Map<String, Value>,
) -> Result<(u16, Value), ApiError> {
    let reason = batch.reason.as_deref();
    let Some(job) = found.get(id).cloned() else {
        return Err(usecase::Error::NotFound(id.to_owned()).into());
    };
    match control_event(batch.op) {
        Some(event) => {
            let job = usecase::control_read(after.act, job, event, reason, details)?;
            Ok((200, after.control(batch.op, job)))
        }
        None => {
            let earlier = found.get(&usecase::retry_id(id)).cloned();
            let created = usecase::retry_read(after.act, job.clone(), earlier, reason, details)?;
            Ok(after.retry(&job, created))
        }
    }
}

/// A done job's result: the single action's answer (`job`, `trigger`, `campaign`, and a
/// retry's `warning`) with the job's id, `ok` and the single action's status.
fn succeeded(id: &str, status: u16, answer: Value) -> Value {
    let mut result = json!({"id": id, "ok": true, "status": status});
    if let (Value::Object(result), Value::Object(answer)) = (&mut result, answer) {
        result.extend(answer);
    }
    result
}

/// A refused or failed job's result: `error` holds what the single action's error body holds.
/// `http::error` shapes it, and logs a 5xx's cause once with the request id, as it does for a
/// single action; the body's members beside `error` (a 409's job `status` and `control`, a
/// 5xx's `retryable` and `requestId`) go into `error`, so `status` stays the HTTP status.
fn failed(ctx: &Context, id: &str, err: &ApiError) -> Value {
    let response = http::error(ctx, err);
    let mut error = Map::new();
    if let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&response.body) {
        for (key, value) in body {
            match (key.as_str(), value) {
                ("error", Value::Object(inner)) => error.extend(inner),
                (_, value) => {
                    error.insert(key, value);
                }
            }
        }
    }
    json!({"id": id, "ok": false, "status": err.status, "error": error})
}
