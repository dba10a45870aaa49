//! The Rust client of the hooks, for Rust workers: [`JobTracker`] starts or picks up a job and
//! reports progress (coalesced on the client too: every hook call is an Appwrite execution),
//! heartbeats, pauses, completion and failure, and exposes the last [`Control`] value.
//!
//! How requests travel is a [`Transport`]: [`AppwriteTransport`] calls
//! `POST /v1/functions/{id}/executions` (sync when an answer is needed, async for
//! fire-and-forget progress); [`InProcess`] calls a hook handler directly (tests, local runs).

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::Duration;
use openruntimes::{Context, Logger};
use serde_json::{json, Map, Value};

use crate::hooks::{
    self, AnswerCode, CompleteRequest, FailRequest, HeartbeatRequest, Hook, HookAnswer,
    HookRequest, PausedRequest, ProgressRequest, StartRequest, CALLER_HEADER,
};
use crate::job::{Control, Job, StopCode, Timestamp};
use crate::platform::{Lookup, Platform};

/// Why a hook call did not produce an answer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TrackerError {
    /// The hook refused the request (4xx/5xx answer). `control` is set when the job exists,
    /// so a worker whose report was refused still learns it was cancelled.
    #[error("hook refused the request ({status} {code}): {message}")]
    Rejected {
        status: u16,
        code: String,
        message: String,
        field: Option<String>,
        control: Option<Control>,
    },
    /// The call did not reach the hook or timed out.
    #[error("hook call failed: {message}")]
    Transport { message: String, retryable: bool },
    /// The answer was not the protocol's.
    #[error("hook answered something unexpected: {0}")]
    Malformed(String),
    /// A call that needs a job before `start` succeeded.
    #[error("the tracker has no job yet; call start first")]
    NotStarted,
}

impl TrackerError {
    /// Whether repeating the call later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            TrackerError::Transport { retryable, .. } => *retryable,
            TrackerError::Rejected { status, .. } => *status >= 500,
            TrackerError::Malformed(_) | TrackerError::NotStarted => false,
        }
    }
}

/// How a request reaches a hook. `wait: false` asks for fire-and-forget (no answer).
pub trait Transport: Send + Sync {
    fn send(&self, request: &HookRequest, wait: bool) -> Result<Option<HookAnswer>, TrackerError>;
}

/// Reads a hook's HTTP answer: the protocol's success body, or its error body.
fn read_answer(status: u16, body: &[u8]) -> Result<HookAnswer, TrackerError> {
    if (200..300).contains(&status) {
        return serde_json::from_slice(body).map_err(|e| TrackerError::Malformed(e.to_string()));
    }
    let value: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let error = &value["error"];
    Err(TrackerError::Rejected {
        status,
        code: error["code"].as_str().unwrap_or("unknown").to_owned(),
        message: error["message"]
            .as_str()
            .unwrap_or("no error message")
            .to_owned(),
        field: error["field"].as_str().map(str::to_owned),
        control: serde_json::from_value(value["control"].clone()).ok(),
    })
}

/// Calls a hook handler in this process, through a request built as Appwrite would build it.
pub struct InProcess {
    pub hook: Hook,
    pub platform: Platform,
    /// Sent as the `x-job-caller` header: the actor on the job's events.
    pub caller: Option<String>,
}

impl Transport for InProcess {
    fn send(&self, request: &HookRequest, _wait: bool) -> Result<Option<HookAnswer>, TrackerError> {
        let body =
            serde_json::to_vec(request).map_err(|e| TrackerError::Malformed(e.to_string()))?;
        let context = server_context(&body, self.caller.as_deref())?;
        let response = hooks::handle(&self.hook, context, &self.platform);
        read_answer(response.status_code, &response.body).map(Some)
    }
}

/// A Context for a server-to-server hook call: POST, JSON body, trigger `http`, no user.
pub fn server_context(body: &[u8], caller: Option<&str>) -> Result<Context, TrackerError> {
    // Logging disabled: nothing reads the in-memory log of an in-process call.
    let logger = Logger::new("disabled", Some("in-process".into())).map_err(|e| {
        TrackerError::Transport {
            message: e,
            retryable: false,
        }
    })?;
    let mut context = Context::new(logger);
    context.req.method = "POST".into();
    context.req.path = "/".into();
    let headers = &mut context.req.headers;
    headers.insert("content-type".into(), "application/json".into());
    headers.insert("x-appwrite-trigger".into(), "http".into());
    headers.insert("x-appwrite-user-id".into(), String::new());
    if let Some(caller) = caller {
        headers.insert(CALLER_HEADER.into(), caller.into());
    }
    context.req.set_body_binary(body.to_vec());
    Ok(context)
}

/// Calls a hook through Appwrite's executions API with the calling function's key.
pub struct AppwriteTransport {
    client: reqwest::blocking::Client,
    endpoint: String,
    project: String,
    key: String,
    function_id: String,
    caller: Option<String>,
}

impl AppwriteTransport {
    /// `endpoint` ends in `/v1`; `key` needs the `executions.write` scope.
    pub fn new(
        endpoint: &str,
        project: &str,
        key: &str,
        function_id: &str,
        caller: Option<String>,
    ) -> Result<Self, TrackerError> {
        let client = reqwest::blocking::Client::builder()
            // Appwrite cuts synchronous executions at 30 s; wait a little longer for its 408.
            .timeout(StdDuration::from_secs(35))
            .build()
            .map_err(|e| TrackerError::Transport {
                message: e.to_string(),
                retryable: false,
            })?;
        Ok(AppwriteTransport {
            client,
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            project: project.to_owned(),
            key: key.to_owned(),
            function_id: function_id.to_owned(),
            caller,
        })
    }

    /// From inside a function: endpoint, project and own id from the environment, the key from
    /// the execution's `x-appwrite-key` header.
    pub fn from_context(
        context: &Context,
        lookup: &Lookup,
        hook_function_id: &str,
    ) -> Result<Self, TrackerError> {
        let missing = |what: &str| TrackerError::Transport {
            message: format!("{what} is not set"),
            retryable: false,
        };
        let endpoint = crate::appwrite::endpoint_from(|name| lookup(name))
            .ok_or_else(|| missing("APPWRITE_FUNCTION_API_ENDPOINT"))?;
        let project = lookup("APPWRITE_FUNCTION_PROJECT_ID")
            .ok_or_else(|| missing("APPWRITE_FUNCTION_PROJECT_ID"))?;
        let key = context
            .req
            .headers
            .get("x-appwrite-key")
            .filter(|k| !k.is_empty())
            .ok_or_else(|| missing("the x-appwrite-key header"))?;
        let caller = lookup("APPWRITE_FUNCTION_ID");
        Self::new(&endpoint, &project, key, hook_function_id, caller)
    }
}

/// The `createExecution` body for a hook request.
fn execution_body(request: &HookRequest, wait: bool, caller: Option<&str>) -> Value {
    let mut headers = Map::new();
    headers.insert("content-type".into(), json!("application/json"));
    if let Some(caller) = caller {
        headers.insert(CALLER_HEADER.into(), json!(caller));
    }
    json!({
        "body": serde_json::to_string(request).unwrap_or_default(),
        "async": !wait,
        "path": "/",
        "method": "POST",
        "headers": headers,
    })
}

/// Reads a `createExecution` answer: for a synchronous call the hook's own status and body
/// travel inside the execution document.
fn read_execution(
    http_status: u16,
    body: &[u8],
    wait: bool,
) -> Result<Option<HookAnswer>, TrackerError> {
    if !(200..300).contains(&http_status) {
        let value: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let message = value["message"].as_str().unwrap_or("no message").to_owned();
        return Err(TrackerError::Transport {
            message: format!("executions API answered {http_status}: {message}"),
            // 408: the sync call outlived Appwrite's 30 s; 429 and 5xx: try again later.
            retryable: matches!(http_status, 408 | 429) || http_status >= 500,
        });
    }
    if !wait {
        return Ok(None);
    }
    let execution: Value =
        serde_json::from_slice(body).map_err(|e| TrackerError::Malformed(e.to_string()))?;
    let status = execution["responseStatusCode"]
        .as_u64()
        .and_then(|s| u16::try_from(s).ok())
        .ok_or_else(|| TrackerError::Malformed("execution lacks responseStatusCode".into()))?;
    let response = execution["responseBody"].as_str().unwrap_or("");
    read_answer(status, response.as_bytes()).map(Some)
}

impl Transport for AppwriteTransport {
    fn send(&self, request: &HookRequest, wait: bool) -> Result<Option<HookAnswer>, TrackerError> {
        let url = format!(
            "{}/functions/{}/executions",
            self.endpoint, self.function_id
        );
        let response = self
            .client
            .post(url)
            .header("X-Appwrite-Project", &self.project)
            .header("X-Appwrite-Key", &self.key)
            .json(&execution_body(request, wait, self.caller.as_deref()))
            .send()
            .map_err(|e| TrackerError::Transport {
                message: e.without_url().to_string(),
                retryable: true,
            })?;
        let status = response.status().as_u16();
        let body = response.bytes().map_err(|e| TrackerError::Transport {
            message: e.to_string(),
            retryable: true,
        })?;
        read_execution(status, &body, wait)
    }
}

/// When the tracker sends progress and heartbeats. Every hook call is an Appwrite execution
/// (billed on Cloud), so a worker that reports every item must not make one call per item:
/// progress is sent when its percent passes the highest sent so far (at most 100 times a job)
/// and otherwise at most once per `interval`; a heartbeat at most once per `interval` after the
/// last call of either kind (any call proves the worker alive). A skipped call answers the last
/// control value. `fire_and_forget` sends progress async (no answer, no fresh control value).
/// A new checkpoint does not shorten the interval: it rides on the next call sent, at the latest
/// one `interval` after the last (docs/hooks.md § Checkpoint window), so a worker that moves its
/// cursor on every report still costs one execution per interval, not one per second.
/// The bound, at most one execution per percent point plus one per `interval`, is tested
/// through `jobs-dev` (`cargo test -p jobs-dev --test it tracker`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Coalescing {
    pub interval: Duration,
    pub fire_and_forget: bool,
}

impl Default for Coalescing {
    fn default() -> Self {
        Coalescing {
            interval: Duration::seconds(2),
            fire_and_forget: false,
        }
    }
}

/// A worker's handle on its job. It keeps the run its `start` was given and sends it back on
/// every later call, so a worker whose run was superseded (docs/hooks.md § Runs) is told
/// `cancel` and never writes; [`JobTracker::stopped`] then says why.
pub struct JobTracker {
    transport: Arc<dyn Transport>,
    clock: Arc<dyn Fn() -> Timestamp + Send + Sync>,
    coalescing: Coalescing,
    job: Option<Job>,
    control: Control,
    checkpoint: Option<Value>,
    last_sent: Option<Timestamp>,
    last_percent: Option<u8>,
    sent: usize,
    run: Option<u64>,
    execution_id: Option<String>,
    stopped: Option<StopCode>,
    /// The newest checkpoint given to `progress`, and whether the hook has been sent it.
    latest_checkpoint: Option<Value>,
    checkpoint_sent: bool,
    /// How old the last call may be before a new checkpoint is sent on its own; `None`: the
    /// coalescing interval.
    checkpoint_window: Option<Duration>,
}

impl JobTracker {
    pub fn new(transport: Arc<dyn Transport>) -> Self {
        Self::with_clock(transport, Arc::new(chrono::Utc::now))
    }

    /// A tracker reading time from `clock` (tests use a fixed or stepping clock).
    pub fn with_clock(
        transport: Arc<dyn Transport>,
        clock: Arc<dyn Fn() -> Timestamp + Send + Sync>,
    ) -> Self {
        JobTracker {
            transport,
            clock,
            coalescing: Coalescing::default(),
            job: None,
            control: Control::Continue,
            checkpoint: None,
            last_sent: None,
            last_percent: None,
            sent: 0,
            run: None,
            execution_id: None,
            stopped: None,
            latest_checkpoint: None,
            checkpoint_sent: true,
            checkpoint_window: None,
        }
    }

    /// Sends the worker's own execution id (its `x-appwrite-execution-id`) on every call.
    pub fn execution_id(mut self, execution_id: Option<String>) -> Self {
        self.execution_id = execution_id;
        self
    }

    /// The run this tracker's `start` was given.
    pub fn run(&self) -> Option<u64> {
        self.run
    }

    /// Set when the hook said this run is over (`superseded`, `run_required`): stop, the job
    /// belongs to another run now.
    pub fn stopped(&self) -> Option<StopCode> {
        self.stopped
    }

    pub fn coalescing(mut self, coalescing: Coalescing) -> Self {
        self.coalescing = coalescing;
        self
    }

    /// Sends a new checkpoint once the last call is `window` old, sooner than the interval
    /// would: less work redone after a crash, more executions (a worker moving its cursor every
    /// second then costs one a `window`). The default is the interval itself.
    pub fn checkpoint_window(mut self, window: Duration) -> Self {
        self.checkpoint_window = Some(window);
        self
    }

    /// What the worker should do, as of the last answer.
    pub fn control(&self) -> Control {
        self.control
    }

    /// The job as of the last answer.
    pub fn job(&self) -> Option<&Job> {
        self.job.as_ref()
    }

    /// Where a resumed job picks up, from the start answer.
    pub fn checkpoint(&self) -> Option<&Value> {
        self.checkpoint.as_ref()
    }

    /// Hook calls made so far (coalescing skips the rest).
    pub fn calls(&self) -> usize {
        self.sent
    }

    fn job_id(&self) -> Result<String, TrackerError> {
        self.job
            .as_ref()
            .map(|j| j.id.clone())
            .ok_or(TrackerError::NotStarted)
    }

    fn call(&mut self, request: HookRequest, wait: bool) -> Result<Control, TrackerError> {
        self.sent += 1;
        match self.transport.send(&request, wait) {
            Ok(Some(answer)) => {
                self.control = answer.control;
                match answer.code {
                    Some(AnswerCode::Superseded) => self.stopped = Some(StopCode::Superseded),
                    Some(AnswerCode::RunRequired) => self.stopped = Some(StopCode::RunRequired),
                    // A repeated claim answered `continue` again, in this run.
                    Some(AnswerCode::Granted) | None => self.run = Some(answer.run),
                }
                self.job = Some(answer.job);
                if answer.checkpoint.is_some() {
                    self.checkpoint = answer.checkpoint;
                }
                Ok(self.control)
            }
            Ok(None) => Ok(self.control),
            Err(e) => {
                if let TrackerError::Rejected {
                    control: Some(c), ..
                } = &e
                {
                    self.control = *c;
                }
                Err(e)
            }
        }
    }

    /// Starts the job, or picks up an existing one; always synchronous (the worker needs the id
    /// and its run). A re-trigger body (resume, retry) parses as a `StartRequest` and is sent
    /// as is.
    pub fn start(&mut self, mut request: StartRequest) -> Result<Control, TrackerError> {
        if request.execution_id.is_none() {
            request.execution_id = self.execution_id.clone();
        }
        let control = self.call(HookRequest::Start(request), true)?;
        self.last_sent = Some((self.clock)());
        self.last_percent = self.job.as_ref().map(|j| j.progress);
        Ok(control)
    }

    /// Reports progress; skipped (answering the last control value) unless the percent moved,
    /// the interval passed, or the checkpoint changed and the last call is at least the
    /// checkpoint window old (the interval unless [`JobTracker::checkpoint_window`] says
    /// otherwise; docs/hooks.md § Checkpoint window). A skipped call's checkpoint is kept and
    /// sent with the next call, and with `paused`, `complete` or `fail`.
    pub fn progress(&mut self, mut request: ProgressRequest) -> Result<Control, TrackerError> {
        request.job_id = self.job_id()?;
        request.run = self.run;
        request.execution_id = self.execution_id.clone();
        let now = (self.clock)();
        if request.checkpoint.is_some() && request.checkpoint != self.latest_checkpoint {
            self.latest_checkpoint = request.checkpoint.clone();
            self.checkpoint_sent = false;
        }
        let window = self.checkpoint_window.unwrap_or(self.coalescing.interval);
        let checkpoint_due =
            !self.checkpoint_sent && self.last_sent.is_none_or(|t| now - t >= window);
        let percent = match (request.percent, request.done, request.total) {
            (Some(p), _, _) => Some(p.clamp(0.0, 100.0).floor() as u8),
            (None, Some(done), total) => total
                .or_else(|| self.job.as_ref().and_then(|j| j.total))
                .filter(|t| *t > 0)
                .map(|t| (done.min(t).saturating_mul(100) / t) as u8),
            (None, None, _) => None,
        };
        // The hook keeps the highest percent, so a lower one would change nothing there.
        let moved = percent.is_some_and(|p| self.last_percent.is_none_or(|last| p > last));
        let due = self
            .last_sent
            .is_none_or(|t| now - t >= self.coalescing.interval);
        if !moved && !due && !checkpoint_due {
            return Ok(self.control);
        }
        if request.checkpoint.is_none() && !self.checkpoint_sent {
            request.checkpoint = self.latest_checkpoint.clone();
        }
        let wait = !self.coalescing.fire_and_forget;
        let control = self.call(HookRequest::Progress(request), wait)?;
        self.checkpoint_sent = true;
        self.last_sent = Some(now);
        if percent.is_some() {
            self.last_percent = self.last_percent.max(percent);
        }
        Ok(control)
    }

    /// Claims `[done, claimed)` before doing it (docs/hooks.md § Exactly once): never coalesced,
    /// always synchronous, and the answer says whether to do it (`Continue`) or stop (`Pause`:
    /// confirm with [`JobTracker::paused`] and the checkpoint of what was really done; anything
    /// else: end). A transport error is returned, never taken for `Continue`: retry the claim,
    /// and do the work only once it is answered.
    pub fn claim(
        &mut self,
        done: u64,
        claimed: u64,
        checkpoint: Value,
        message: Option<String>,
    ) -> Result<Control, TrackerError> {
        let request = ProgressRequest {
            job_id: self.job_id()?,
            done: Some(done),
            claimed: Some(claimed),
            message,
            checkpoint: Some(checkpoint.clone()),
            run: self.run,
            execution_id: self.execution_id.clone(),
            ..ProgressRequest::default()
        };
        let control = self.call(HookRequest::Progress(request), true)?;
        let now = (self.clock)();
        self.latest_checkpoint = Some(checkpoint);
        self.checkpoint_sent = true;
        self.last_sent = Some(now);
        if let Some(total) = self.job.as_ref().and_then(|j| j.total).filter(|t| *t > 0) {
            let percent = (done.min(total).saturating_mul(100) / total) as u8;
            self.last_percent = self.last_percent.max(Some(percent));
        }
        Ok(control)
    }

    /// Proof of life; skipped (answering the last control value) unless `interval` has passed
    /// since the last call, since that call proved as much.
    pub fn heartbeat(
        &mut self,
        message: Option<String>,
        details: Option<Map<String, Value>>,
    ) -> Result<Control, TrackerError> {
        let job_id = self.job_id()?;
        let now = (self.clock)();
        if self
            .last_sent
            .is_some_and(|t| now - t < self.coalescing.interval)
        {
            return Ok(self.control);
        }
        let control = self.call(
            HookRequest::Heartbeat(HeartbeatRequest {
                job_id,
                message,
                details,
                run: self.run,
                execution_id: self.execution_id.clone(),
            }),
            true,
        )?;
        self.last_sent = Some(now);
        Ok(control)
    }

    /// Confirms the worker stopped after a `pause`, with where to resume (the newest checkpoint
    /// given to `progress` when `checkpoint` is `None`).
    pub fn paused(
        &mut self,
        checkpoint: Option<Value>,
        message: Option<String>,
    ) -> Result<Control, TrackerError> {
        let job_id = self.job_id()?;
        let checkpoint = checkpoint.or_else(|| self.latest_checkpoint.clone());
        self.call(
            HookRequest::Paused(PausedRequest {
                job_id,
                checkpoint,
                message,
                run: self.run,
                execution_id: self.execution_id.clone(),
            }),
            true,
        )
    }

    pub fn complete(
        &mut self,
        result: Map<String, Value>,
        message: Option<String>,
    ) -> Result<Control, TrackerError> {
        let job_id = self.job_id()?;
        self.call(
            HookRequest::Complete(CompleteRequest {
                job_id,
                result: Some(result),
                message,
                checkpoint: self.latest_checkpoint.clone(),
                run: self.run,
                execution_id: self.execution_id.clone(),
            }),
            true,
        )
    }

    /// Reports failure, with the newest checkpoint given to `progress` (a retry starts there).
    pub fn fail(&mut self, error: impl Into<String>) -> Result<Control, TrackerError> {
        let job_id = self.job_id()?;
        self.call(
            HookRequest::Fail(FailRequest {
                job_id,
                error: error.into(),
                result: None,
                checkpoint: self.latest_checkpoint.clone(),
                run: self.run,
                execution_id: self.execution_id.clone(),
            }),
            true,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    use chrono::{TimeZone, Utc};

    use crate::job::{JobStatus, JobType};

    /// Answers every request with a canned job and records what it was sent.
    struct Recorder {
        sent: Mutex<Vec<(HookRequest, bool)>>,
        control: Mutex<Control>,
    }

    fn job() -> Job {
        let t = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let mut job = Job::queued("j1".into(), JobType::CampaignRun, "c1".into(), t);
        job.status = JobStatus::Running;
        job.started_at = Some(t);
        job.done = Some(0);
        job.total = Some(100_000);
        job.checkpoint = Some(json!({"offset": 10}));
        job.run = 1;
        job
    }

    impl Transport for Recorder {
        fn send(
            &self,
            request: &HookRequest,
            wait: bool,
        ) -> Result<Option<HookAnswer>, TrackerError> {
            self.sent.lock().unwrap().push((request.clone(), wait));
            let job = job();
            Ok(wait.then(|| HookAnswer {
                control: *self.control.lock().unwrap(),
                checkpoint: job.checkpoint.clone(),
                run: job.run,
                job,
                code: None,
                created: None,
            }))
        }
    }

    fn tracker(coalescing: Coalescing) -> (JobTracker, Arc<Recorder>, Arc<Mutex<Timestamp>>) {
        let recorder = Arc::new(Recorder {
            sent: Mutex::new(Vec::new()),
            control: Mutex::new(Control::Continue),
        });
        let now = Arc::new(Mutex::new(
            Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
        ));
        let clock_now = now.clone();
        let tracker = JobTracker::with_clock(
            recorder.clone(),
            Arc::new(move || *clock_now.lock().unwrap()),
        )
        .coalescing(coalescing);
        (tracker, recorder, now)
    }

    #[test]
    fn a_claim_is_always_sent_synchronously_with_its_range() {
        let (mut t, recorder, _) = tracker(Coalescing {
            fire_and_forget: true,
            ..Coalescing::default()
        });
        t.start(StartRequest::default()).unwrap();
        for _ in 0..3 {
            t.claim(10, 20, json!({"cursor": 20}), None).unwrap();
        }
        let sent = recorder.sent.lock().unwrap();
        let claims: Vec<_> = sent
            .iter()
            .filter_map(|(r, wait)| match r {
                HookRequest::Progress(p) => Some((p.done, p.claimed, p.checkpoint.clone(), *wait)),
                _ => None,
            })
            .collect();
        assert_eq!(claims.len(), 3, "a claim is never coalesced: {claims:?}");
        assert!(claims
            .iter()
            .all(|c| *c == (Some(10), Some(20), Some(json!({"cursor": 20})), true)));
    }

    #[test]
    fn progress_before_start_is_refused_without_a_call() {
        let (mut t, recorder, _) = tracker(Coalescing::default());
        let err = t.progress(ProgressRequest::default()).unwrap_err();
        assert_eq!(err, TrackerError::NotStarted);
        assert!(recorder.sent.lock().unwrap().is_empty());
    }

    #[test]
    fn start_exposes_the_checkpoint_of_a_resumed_job() {
        let (mut t, _, _) = tracker(Coalescing::default());
        t.start(StartRequest {
            reference_id: "c1".into(),
            ..StartRequest::default()
        })
        .unwrap();
        assert_eq!(t.checkpoint(), Some(&json!({"offset": 10})));
        assert_eq!(t.job().unwrap().id, "j1");
    }

    #[test]
    fn progress_is_sent_on_percent_changes_and_once_per_interval_otherwise() {
        let (mut t, _, now) = tracker(Coalescing::default());
        t.start(StartRequest::default()).unwrap();
        for done in 1..=100_000u64 {
            // One call per millisecond: 100 s of work, 100 percent steps.
            *now.lock().unwrap() += Duration::milliseconds(1);
            t.progress(ProgressRequest {
                done: Some(done),
                message: Some(format!("{done}/100000 emails sent")),
                ..ProgressRequest::default()
            })
            .unwrap();
        }
        // 1 start + at most 100 percent changes + at most 50 interval sends (100 s / 2 s).
        assert!(t.calls() <= 151, "{} calls", t.calls());
        assert!(t.calls() >= 101, "{} calls", t.calls());
    }

    #[test]
    fn progress_that_falls_back_below_the_highest_percent_sent_is_not_sent_again() {
        let (mut t, _, _) = tracker(Coalescing::default());
        t.start(StartRequest::default()).unwrap();
        for percent in [10.0, 20.0, 15.0, 20.0, 19.0] {
            t.progress(ProgressRequest {
                percent: Some(percent),
                ..ProgressRequest::default()
            })
            .unwrap();
        }
        assert_eq!(t.calls(), 3, "start, 10 and 20");
    }

    /// A cursor moving on every report, once a second, with the percent still: what a
    /// verification of 50,000 leads reporting every 100 does between two percent steps.
    fn checkpoint_calls(t: &mut JobTracker, now: &Mutex<Timestamp>, reports: u64) -> usize {
        t.start(StartRequest::default()).unwrap();
        for cursor in 1..=reports {
            *now.lock().unwrap() += Duration::seconds(1);
            t.progress(ProgressRequest {
                percent: Some(1.0),
                checkpoint: Some(json!({ "cursor": cursor })),
                ..ProgressRequest::default()
            })
            .unwrap();
        }
        t.calls()
    }

    #[test]
    fn a_new_checkpoint_waits_for_the_interval_and_is_never_older_than_it() {
        let (mut t, recorder, now) = tracker(Coalescing::default());
        // start, the first report (the percent moved), then one call per 2 s interval.
        assert_eq!(checkpoint_calls(&mut t, &now, 10), 1 + 1 + 4);
        let sent = recorder.sent.lock().unwrap();
        let cursors: Vec<_> = sent
            .iter()
            .filter_map(|(r, _)| match r {
                HookRequest::Progress(p) => p.checkpoint.as_ref().map(|c| c["cursor"].clone()),
                _ => None,
            })
            .collect();
        // The newest checkpoint at each send: a crash loses at most one interval of reports.
        assert_eq!(cursors, [json!(1), json!(3), json!(5), json!(7), json!(9)]);
    }

    #[test]
    fn a_shorter_checkpoint_window_sends_every_new_checkpoint_it_allows() {
        let (t, _, now) = tracker(Coalescing::default());
        let mut t = t.checkpoint_window(Duration::seconds(1));
        assert_eq!(checkpoint_calls(&mut t, &now, 10), 1 + 10);
    }

    #[test]
    fn heartbeats_within_the_interval_of_the_last_call_are_skipped() {
        let (mut t, _, now) = tracker(Coalescing::default());
        t.start(StartRequest::default()).unwrap();
        for _ in 0..10 {
            *now.lock().unwrap() += Duration::milliseconds(500);
            t.heartbeat(None, None).unwrap();
        }
        // 5 s of heartbeats every 0.5 s with a 2 s interval: at 2, 4 s.
        assert_eq!(t.calls(), 3);
    }

    #[test]
    fn a_pause_answer_is_exposed_as_the_control_value() {
        let (mut t, recorder, now) = tracker(Coalescing::default());
        t.start(StartRequest::default()).unwrap();
        *recorder.control.lock().unwrap() = Control::Pause;
        *now.lock().unwrap() += Duration::seconds(3);
        let control = t.progress(ProgressRequest::default()).unwrap();
        assert_eq!(control, Control::Pause);
        assert_eq!(t.control(), Control::Pause);
    }

    #[test]
    fn fire_and_forget_progress_is_sent_async_and_keeps_the_last_control() {
        let (mut t, recorder, _) = tracker(Coalescing {
            interval: Duration::seconds(2),
            fire_and_forget: true,
        });
        t.start(StartRequest::default()).unwrap();
        *recorder.control.lock().unwrap() = Control::Cancel;
        let control = t
            .progress(ProgressRequest {
                percent: Some(50.0),
                ..ProgressRequest::default()
            })
            .unwrap();
        assert_eq!(control, Control::Continue);
        let sent = recorder.sent.lock().unwrap();
        assert_eq!(sent.len(), 2);
        assert!(sent[0].1, "start waits for its answer");
        assert!(!sent[1].1, "progress does not");
    }

    #[test]
    fn a_rejection_carrying_control_updates_the_control_value() {
        let err = read_answer(
            409,
            br#"{"error":{"code":"invalid_transition","message":"cannot complete a job that is CANCELLED","field":null},"control":"cancel"}"#,
        )
        .unwrap_err();
        assert!(matches!(
            err,
            TrackerError::Rejected {
                status: 409,
                control: Some(Control::Cancel),
                ..
            }
        ));
        assert!(!err.is_retryable());
    }

    #[test]
    fn execution_bodies_carry_the_request_as_a_string_and_the_async_flag() {
        let request = HookRequest::Heartbeat(HeartbeatRequest {
            job_id: "j1".into(),
            ..HeartbeatRequest::default()
        });
        let body = execution_body(&request, false, Some("sqs-poller"));
        assert_eq!(body["async"], true);
        assert_eq!(body["method"], "POST");
        assert_eq!(body["headers"][CALLER_HEADER], "sqs-poller");
        let inner: Value = serde_json::from_str(body["body"].as_str().unwrap()).unwrap();
        assert_eq!(inner, json!({"event": "heartbeat", "jobId": "j1"}));
    }

    #[test]
    fn a_sync_execution_answer_is_unwrapped_to_the_hook_answer() {
        let answer = serde_json::to_string(&HookAnswer {
            job: job(),
            control: Control::Pause,
            run: 1,
            code: None,
            created: None,
            checkpoint: None,
        })
        .unwrap();
        let execution =
            json!({"status": "completed", "responseStatusCode": 200, "responseBody": answer});
        let got = read_execution(201, execution.to_string().as_bytes(), true)
            .unwrap()
            .unwrap();
        assert_eq!(got.control, Control::Pause);
        assert_eq!(read_execution(202, b"{}", false).unwrap(), None);
    }

    #[test]
    fn executions_api_failures_say_whether_to_retry() {
        let timeout = read_execution(408, br#"{"message":"timeout"}"#, true).unwrap_err();
        assert!(timeout.is_retryable());
        let denied = read_execution(401, br#"{"message":"missing scope"}"#, true).unwrap_err();
        assert!(!denied.is_retryable());
        assert!(denied.to_string().contains("missing scope"));
    }
}
