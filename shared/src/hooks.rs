//! The hook protocol, written once for the four worker hooks (`hook-campaign-run`,
//! `hook-bulk-verify`, `hook-sqs-poll`, `hook-metrics-fetch`): who may call, how a request body
//! is parsed and validated, which use case it runs and what is answered. Each hook crate only
//! supplies its [`Hook`] (job type and function id); the protocol is specified in
//! `docs/hooks.md`, whose JSON Schemas describe the types below.
//!
//! Every answer carries the job and a [`Control`] value, errors included whenever the job exists:
//! the answer is the only channel back to a stateless worker, so a worker that sends a bad
//! request still learns that its job was cancelled.

use openruntimes::{Context, Response};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::http::{self, ApiError};
use crate::job::{actor_function, Control, Job, JobType, StopCode};
use crate::platform::Platform;
use crate::store::{id, JobStore};
use crate::usecase::{self, Act};

/// Which hook is answering: the job type is fixed here, never read from the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hook {
    pub job_type: JobType,
    /// The Appwrite function id of the hook; the default actor of the events it records.
    pub function_id: &'static str,
}

/// Optional request header naming the calling function (e.g. `orchestrator`), recorded as the
/// actor `function:<id>`. Appwrite forbids caller headers starting with `x-appwrite-`.
pub const CALLER_HEADER: &str = "x-job-caller";

/// Start a job, or pick up an existing one (`jobId`, idempotency key, or the active job of the
/// same reference).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StartRequest {
    pub reference_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// The re-trigger body's run: a start carrying an older run than the job's is superseded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<u64>,
    /// Accepted so a re-trigger body can be sent back unchanged; the stored checkpoint (answered
    /// as `checkpoint`) is the one to resume from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<Value>,
    /// Accepted, like `checkpoint`, so a retry's re-trigger body can be sent back unchanged:
    /// the ranges of the retried job's unconfirmed claims, for the worker itself to re-check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unconfirmed: Option<Value>,
    /// The calling worker's own execution id, stored on the job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_id: Option<String>,
}

/// Progress: either `percent`, or `done` (of `total`, given now or at start).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProgressRequest {
    pub job_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done: Option<u64>,
    /// With a checkpoint: the end of the range this call claims (docs/hooks.md § Exactly once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<Value>,
    /// The run from the `start` answer (docs/hooks.md § Runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<u64>,
    /// The calling worker's own execution id, stored on the job when the call is written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_id: Option<String>,
}

/// Proof of life, with optional details (e.g. messages processed, last poll time).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HeartbeatRequest {
    pub job_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Map<String, Value>>,
    /// The run from the `start` answer (docs/hooks.md § Runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<u64>,
    /// The calling worker's own execution id, stored on the job when the call is written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_id: Option<String>,
}

/// The worker confirms it stopped after a `pause` answer, leaving where to resume.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PausedRequest {
    pub job_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The run from the `start` answer (docs/hooks.md § Runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<u64>,
    /// The calling worker's own execution id, stored on the job when the call is written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_id: Option<String>,
}

/// The worker finished, with a result summary for the history.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CompleteRequest {
    pub job_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Always stored: where a retry picks up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<Value>,
    /// The run from the `start` answer (docs/hooks.md § Runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<u64>,
    /// The calling worker's own execution id, stored on the job when the call is written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_id: Option<String>,
}

/// The worker failed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FailRequest {
    pub job_id: String,
    pub error: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Map<String, Value>>,
    /// Always stored: where a retry picks up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<Value>,
    /// The run from the `start` answer (docs/hooks.md § Runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<u64>,
    /// The calling worker's own execution id, stored on the job when the call is written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_id: Option<String>,
}

/// One hook request; on the wire an object whose `event` member names the variant.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "camelCase")]
pub enum HookRequest {
    Start(StartRequest),
    Progress(ProgressRequest),
    Heartbeat(HeartbeatRequest),
    Paused(PausedRequest),
    Complete(CompleteRequest),
    Fail(FailRequest),
}

const EVENTS: &str = "start, progress, heartbeat, paused, complete, fail";

impl HookRequest {
    /// Parses a request body. Strict: unknown members, missing required members and wrong types
    /// are 400s naming the member, so a typo never silently drops data.
    pub fn parse(body: &[u8]) -> Result<HookRequest, ApiError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::invalid(
                "event",
                "the body must be a JSON object with an `event`",
            ));
        }
        let value: Value = serde_json::from_slice(body).map_err(|e| ApiError::not_json(&e))?;
        let Value::Object(mut object) = value else {
            return Err(ApiError::invalid(
                "event",
                "the body must be a JSON object with an `event`",
            ));
        };
        let event = match object.remove("event") {
            Some(Value::String(event)) => event,
            Some(_) => return Err(ApiError::invalid("event", "`event` must be a string")),
            None => return Err(ApiError::invalid("event", "`event` is required")),
        };
        let object = Value::Object(object);
        Ok(match event.as_str() {
            "start" => HookRequest::Start(fields(object)?),
            "progress" => HookRequest::Progress(fields(object)?),
            "heartbeat" => HookRequest::Heartbeat(fields(object)?),
            "paused" => HookRequest::Paused(fields(object)?),
            "complete" => HookRequest::Complete(fields(object)?),
            "fail" => HookRequest::Fail(fields(object)?),
            other => {
                return Err(ApiError::invalid(
                    "event",
                    format!("`{other}` is not one of {EVENTS}"),
                ))
            }
        })
    }

    /// The run and execution the request says it comes from.
    fn run_tag(&self) -> (Option<u64>, Option<&str>) {
        let (run, execution) = match self {
            HookRequest::Start(r) => (r.run, &r.execution_id),
            HookRequest::Progress(r) => (r.run, &r.execution_id),
            HookRequest::Heartbeat(r) => (r.run, &r.execution_id),
            HookRequest::Paused(r) => (r.run, &r.execution_id),
            HookRequest::Complete(r) => (r.run, &r.execution_id),
            HookRequest::Fail(r) => (r.run, &r.execution_id),
        };
        (run, execution.as_deref())
    }

    /// The job the request is about, when it names one.
    fn job_id(&self) -> Option<&str> {
        match self {
            HookRequest::Start(r) => r.job_id.as_deref(),
            HookRequest::Progress(r) => Some(&r.job_id),
            HookRequest::Heartbeat(r) => Some(&r.job_id),
            HookRequest::Paused(r) => Some(&r.job_id),
            HookRequest::Complete(r) => Some(&r.job_id),
            HookRequest::Fail(r) => Some(&r.job_id),
        }
    }
}

/// Deserializes an event's members, naming the offending one in the error.
pub(crate) fn fields<T: DeserializeOwned>(object: Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(object).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        // Unknown and missing members are reported on the parent (path "."); serde names them
        // in backticks, which is stable wording.
        let field = if path == "." {
            inner
                .split('`')
                .nth(1)
                .map(str::to_owned)
                .unwrap_or_default()
        } else {
            path
        };
        ApiError::invalid(field, inner)
    })
}

/// Every successful answer: the job as stored and what the worker should do next.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HookAnswer {
    pub job: Job,
    pub control: Control,
    /// The job's current run, to send back on every later call.
    #[serde(default)]
    pub run: u64,
    /// Set when the call wrote nothing because it is not the current run (`control: cancel`),
    /// or because it repeats a claim already answered `continue` (`granted`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<AnswerCode>,
    /// Start only: whether this call created the job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) created: Option<bool>,
    /// Start only: where a resumed or retried job picks up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) checkpoint: Option<Value>,
}

impl HookAnswer {
    fn of(job: Job) -> HookAnswer {
        HookAnswer {
            control: job.control(),
            run: job.run,
            job,
            code: None,
            created: None,
            checkpoint: None,
        }
    }

    /// The answer to a call from a run that is over: stop, nothing was written.
    fn stopped(job: Job, code: StopCode) -> HookAnswer {
        HookAnswer {
            control: Control::Cancel,
            code: Some(match code {
                StopCode::Superseded => AnswerCode::Superseded,
                StopCode::RunRequired => AnswerCode::RunRequired,
            }),
            ..HookAnswer::of(job)
        }
    }

    /// The answer to a repeated claim that was answered `continue`: the same answer again, in
    /// the caller's own run (which may be over: its next call is then answered `superseded`).
    fn granted(job: Job, run: u64) -> HookAnswer {
        HookAnswer {
            control: Control::Continue,
            run,
            code: Some(AnswerCode::Granted),
            ..HookAnswer::of(job)
        }
    }
}

/// Why an answer is not simply the job's control value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerCode {
    Superseded,
    RunRequired,
    /// A repeated claim, answered `continue` again (docs/hooks.md § Exactly once).
    Granted,
}

/// Rejects callers that are not servers. `execute: []` in `appwrite.json` already limits
/// executions to API keys and other functions; inside, we also insist on one of the expected
/// triggers and on the absence of a user session, so a later change to `execute` cannot
/// silently open the function to users. Shared with the retention sweeper.
pub fn require_server_caller(ctx: &Context, triggers: &[&str]) -> Result<(), ApiError> {
    let trigger = header(ctx, "x-appwrite-trigger").unwrap_or("");
    if !triggers.contains(&trigger) {
        return Err(ApiError::new(
            403,
            "forbidden",
            format!(
                "this function accepts only {} executions; x-appwrite-trigger is `{trigger}`",
                triggers.join(" or ")
            ),
        ));
    }
    if header(ctx, "x-appwrite-user-id").is_some() {
        return Err(ApiError::new(
            403,
            "forbidden",
            "this function is server-only; calls made with a user session are rejected",
        ));
    }
    Ok(())
}

/// A header's value, with empty values (Appwrite sends `x-appwrite-user-id: ""` for servers)
/// treated as absent.
fn header<'a>(ctx: &'a Context, name: &str) -> Option<&'a str> {
    ctx.req
        .headers
        .get(name)
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
}

/// The actor recorded on events: the calling function if it names itself, else the hook.
fn actor(hook: &Hook, ctx: &Context) -> Result<String, ApiError> {
    match header(ctx, CALLER_HEADER) {
        Some(caller) if id::is_valid(caller) => Ok(actor_function(caller)),
        Some(_) => Err(ApiError::invalid(
            CALLER_HEADER,
            "must be a function id: at most 36 characters of a-z, A-Z, 0-9, `.`, `_`, `-`",
        )),
        None => Ok(actor_function(hook.function_id)),
    }
}

/// A hook function's Appwrite entry point: builds this execution's platform (the store from
/// the request's key), then handles the request.
pub fn main(hook: &Hook, context: Context) -> Response {
    match crate::platform::appwrite_platform(&context) {
        Ok(platform) => handle(hook, context, &platform),
        Err(err) => http::error(&context, &err),
    }
}

/// The hook handler: authorizes, parses, runs the use case, answers job + control.
pub fn handle(hook: &Hook, context: Context, platform: &Platform) -> Response {
    match answer(hook, &context, platform) {
        Ok((status, answer)) => http::json(&context, status, &answer),
        Err(err) => http::error(&context, &err),
    }
}

fn answer(hook: &Hook, ctx: &Context, platform: &Platform) -> Result<(u16, HookAnswer), ApiError> {
    require_server_caller(ctx, &["http"])?;
    if !ctx.req.method.eq_ignore_ascii_case("POST") {
        return Err(ApiError::new(
            405,
            "method_not_allowed",
            format!("hooks accept POST, not `{}`", ctx.req.method),
        ));
    }
    let store = &*platform.store;
    let body = ctx.req.body_binary();
    let actor = actor(hook, ctx).map_err(|e| attach_job(store, hook, job_hint(&body), e))?;
    let request =
        HookRequest::parse(&body).map_err(|e| attach_job(store, hook, job_hint(&body), e))?;
    let hint = request.job_id().map(str::to_owned);
    let (run_no, execution_id) = request.run_tag();
    if let Some(execution_id) = execution_id {
        if !id::is_valid(execution_id) {
            let err = ApiError::invalid(
                "executionId",
                "must be an execution id: at most 36 characters of a-z, A-Z, 0-9, `.`, `_`, `-`",
            );
            return Err(attach_job(store, hook, hint, err));
        }
    }
    let act = Act::new(store, actor, platform.now())
        .of_type(hook.job_type)
        .in_run(run_no, execution_id.map(str::to_owned));
    match run(hook, &act, request) {
        // A call from a run that is over is understood and answered (200), not refused.
        Err(Rejection::UseCase(usecase::Error::Stopped { job, code })) => {
            Ok((200, HookAnswer::stopped(*job, code)))
        }
        Err(Rejection::UseCase(usecase::Error::Granted { job, run })) => {
            Ok((200, HookAnswer::granted(*job, run)))
        }
        other => other.map_err(|e| attach_job(store, hook, hint, e)),
    }
}

/// A request's error, carrying the job and its control value when the job exists.
#[derive(Debug)]
enum Rejection {
    Api(ApiError),
    UseCase(usecase::Error),
}

impl From<ApiError> for Rejection {
    fn from(e: ApiError) -> Self {
        Rejection::Api(e)
    }
}

impl From<usecase::Error> for Rejection {
    fn from(e: usecase::Error) -> Self {
        Rejection::UseCase(e)
    }
}

fn run(hook: &Hook, act: &Act, request: HookRequest) -> Result<(u16, HookAnswer), Rejection> {
    if let Some(job_id) = request.job_id() {
        check_job_id(job_id)?;
    }
    let job = match request {
        HookRequest::Start(r) => {
            let started = usecase::start(
                act,
                hook.job_type,
                usecase::Start {
                    reference_id: r.reference_id,
                    job_id: r.job_id,
                    total: r.total,
                    message: r.message,
                    metadata: r.metadata.unwrap_or_default(),
                    idempotency_key: r.idempotency_key,
                },
            )?;
            let status = if started.created { 201 } else { 200 };
            let mut answer = HookAnswer::of(started.job);
            answer.created = Some(started.created);
            answer.checkpoint = answer.job.checkpoint.clone();
            return Ok((status, answer));
        }
        HookRequest::Progress(r) => {
            if r.percent.is_some() && (r.done.is_some() || r.total.is_some() || r.claimed.is_some())
            {
                return Err(ApiError::invalid(
                    "percent",
                    "give either `percent` or `done` (with `total`), not both",
                )
                .into());
            }
            let percent = match r.percent {
                Some(p) if !(0.0..=100.0).contains(&p) => {
                    return Err(ApiError::invalid(
                        "percent",
                        format!("invalid `percent`: {p} is outside 0-100"),
                    )
                    .into())
                }
                // In range, so the cast cannot saturate; fractions round down.
                Some(p) => Some(p.floor() as u8),
                None => None,
            };
            let progress = usecase::Progress {
                percent,
                done: r.done,
                claimed: r.claimed,
                total: r.total,
                message: r.message,
                checkpoint: r.checkpoint,
            };
            usecase::progress(act, &r.job_id, progress)?
        }
        HookRequest::Heartbeat(r) => {
            usecase::heartbeat(act, &r.job_id, r.message, r.details.unwrap_or_default())?
        }
        HookRequest::Paused(r) => usecase::worker_paused(act, &r.job_id, r.checkpoint, r.message)?,
        HookRequest::Complete(r) => usecase::complete(
            act,
            &r.job_id,
            r.result.unwrap_or_default(),
            r.message,
            r.checkpoint,
        )?,
        HookRequest::Fail(r) => usecase::fail(act, &r.job_id, &r.error, r.result, r.checkpoint)?,
    };
    Ok((200, HookAnswer::of(job)))
}

/// A job named in a request must be a valid id. That it exists and is of the hook's type (one
/// hook never moves another worker's job) is checked by the use case on the read its change is
/// based on (`Act::of_type`), so a hook call costs one read, not two.
fn check_job_id(job_id: &str) -> Result<(), Rejection> {
    if !id::is_valid(job_id) {
        return Err(ApiError::invalid("jobId", format!("`{job_id}` is not a valid job id")).into());
    }
    Ok(())
}

/// The `jobId` member of a body that may not parse, to answer with the job's control anyway.
fn job_hint(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    value.get("jobId")?.as_str().map(str::to_owned)
}

/// Turns a rejection into the answer: for client errors about an existing job of this hook's
/// type, the body also carries `job` and `control` (read only; nothing is written).
fn attach_job(
    store: &dyn JobStore,
    hook: &Hook,
    hint: Option<String>,
    rejection: impl Into<Rejection>,
) -> ApiError {
    let (err, job) = match rejection.into() {
        Rejection::Api(e) => (e, None),
        // The use case read the job and found it is another hook's: nothing to attach, and no
        // second read to find that out again.
        Rejection::UseCase(e) if e.is_other_type() => return ApiError::from(e),
        Rejection::UseCase(e) => {
            let job = e.job().cloned();
            (ApiError::from(e), job)
        }
    };
    if !(400..500).contains(&err.status) || err.status == 404 {
        return err;
    }
    let job = job.or_else(|| {
        let hint = hint.filter(|h| id::is_valid(h))?;
        store.get(&hint).ok()
    });
    match job {
        Some(job) if job.job_type == hook.job_type => with_job(err, &job),
        _ => err,
    }
}

fn with_job(mut err: ApiError, job: &Job) -> ApiError {
    let mut extra = match err.extra.take() {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    };
    extra.insert("job".into(), json!(job));
    extra.insert("control".into(), json!(job.control()));
    err.with_extra(Value::Object(extra))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: Value) -> Result<HookRequest, ApiError> {
        HookRequest::parse(body.to_string().as_bytes())
    }

    fn field_of(body: Value) -> Option<String> {
        parse(body).unwrap_err().field
    }

    #[test]
    fn a_request_serializes_to_what_parse_reads() {
        let request = HookRequest::Progress(ProgressRequest {
            job_id: "j1".into(),
            done: Some(50),
            total: Some(200),
            message: Some("50/200 emails sent".into()),
            checkpoint: Some(json!({"cursor": "abc"})),
            ..ProgressRequest::default()
        });
        let wire = serde_json::to_vec(&request).unwrap();
        assert_eq!(HookRequest::parse(&wire).unwrap(), request);
        let value: Value = serde_json::from_slice(&wire).unwrap();
        assert_eq!(value["event"], "progress");
        assert!(value.get("percent").is_none(), "absent options are omitted");
    }

    #[test]
    fn unknown_members_are_rejected_naming_the_member() {
        assert_eq!(
            field_of(json!({"event": "progress", "jobId": "j1", "pct": 5})).as_deref(),
            Some("pct")
        );
    }

    #[test]
    fn missing_members_are_rejected_naming_the_member() {
        assert_eq!(
            field_of(json!({"event": "start"})).as_deref(),
            Some("referenceId")
        );
        assert_eq!(
            field_of(json!({"event": "fail", "jobId": "j1"})).as_deref(),
            Some("error")
        );
    }

    #[test]
    fn wrong_types_are_rejected_naming_the_member() {
        assert_eq!(
            field_of(json!({"event": "progress", "jobId": "j1", "done": "ten"})).as_deref(),
            Some("done")
        );
        assert_eq!(
            field_of(json!({"event": "progress", "jobId": "j1", "done": -1})).as_deref(),
            Some("done")
        );
        assert_eq!(
            field_of(json!({"event": "start", "referenceId": "c1", "metadata": [1]})).as_deref(),
            Some("metadata")
        );
    }

    #[test]
    fn a_missing_or_unknown_event_is_rejected_on_the_event_member() {
        assert_eq!(field_of(json!({"jobId": "j1"})).as_deref(), Some("event"));
        assert_eq!(
            field_of(json!({"event": "finish", "jobId": "j1"})).as_deref(),
            Some("event")
        );
        assert_eq!(field_of(json!({"event": 3})).as_deref(), Some("event"));
        assert_eq!(field_of(json!([1, 2])).as_deref(), Some("event"));
    }

    #[test]
    fn a_body_that_is_not_json_is_rejected_with_invalid_json() {
        let err = HookRequest::parse(b"{not json").unwrap_err();
        assert_eq!((err.status, err.code), (400, "invalid_json"));
    }
}
