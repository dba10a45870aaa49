//! Scheduled functions and their health (docs/schedules.md): every function of the project with
//! a `schedule`, judged from Appwrite's own record of its executions, so a scheduled function
//! needs no code change and costs no execution per run to be watched.
//!
//! [`assess`] is the rule, pure (no IO, no clock): a function, its newest executions and the
//! 24-hour counts in, a [`Schedule`] with its [`Health`] out. The alerts compare two
//! assessments, so its output for the same input never changes. `cron` reads and words the
//! schedule; `fetch` reads everything [`assess`] needs through the Appwrite client and performs
//! the operator actions (run now, enable, disable) with their audit entries.

mod cron;
mod fetch;

pub use cron::Cron;
pub use fetch::{
    audit_subject, list, run_now, set_enabled, Action, AuditEntry, Board, OpError, AUDIT_SHOWN,
    RECENT_RUNS,
};

use chrono::Duration;
use serde::Serialize;
use serde_json::{json, Value};

use crate::config::{ConfigError, Vars};
use crate::job::{format_timestamp, Timestamp};

/// `JOBS_SCHEDULE_FAILING_RUNS`: how many consecutive failed runs make a schedule failing.
pub const FAILING_RUNS_VAR: &str = "JOBS_SCHEDULE_FAILING_RUNS";
/// Its default.
pub const DEFAULT_FAILING_RUNS: usize = 3;
/// The shortest grace a schedule gets before it counts as late.
pub const MIN_GRACE_SECONDS: i64 = 60;
/// The grace as a share of the schedule's interval, in percent.
pub const GRACE_PERCENT: i64 = 10;

/// The thresholds of [`assess`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// Consecutive failed runs, newest first, that make a schedule failing (1 to
    /// [`RECENT_RUNS`]).
    pub failing_runs: usize,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            failing_runs: DEFAULT_FAILING_RUNS,
        }
    }
}

impl Rules {
    /// The rules from configuration variables (`JOBS_SCHEDULE_FAILING_RUNS`, 1 to 10).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Rules, ConfigError> {
        let mut vars = Vars::new(lookup);
        let failing_runs = vars.number(FAILING_RUNS_VAR, 1..=RECENT_RUNS, DEFAULT_FAILING_RUNS);
        vars.finish(Rules { failing_runs })
    }
}

/// A scheduled function as far as [`assess`] needs it (from `GET /v1/functions`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionInfo {
    pub id: String,
    pub name: String,
    /// The CRON expression, as Appwrite stores it.
    pub schedule: String,
    pub enabled: bool,
    /// The active deployment; Appwrite schedules nothing without one (Appwrite 1.9.6
    /// `Functions/Update.php`: the schedule is active only with a schedule and a deployment).
    pub deployment_id: String,
    /// `$updatedAt`: expected runs before the last change of the function do not count, since
    /// Appwrite's scheduler reads the new settings from then on.
    pub updated_at: Option<Timestamp>,
}

/// One execution as far as [`assess`] needs it (from `GET /v1/functions/{id}/executions`).
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionInfo {
    pub id: String,
    /// `waiting`, `scheduled`, `processing`, `completed` or `failed`.
    pub status: String,
    /// `http`, `schedule` or `event`.
    pub trigger: String,
    /// `$createdAt`: when Appwrite started (queued) the execution.
    pub started_at: Timestamp,
    pub duration_seconds: f64,
    pub status_code: u16,
}

impl ExecutionInfo {
    fn finished(&self) -> bool {
        matches!(self.status.as_str(), "completed" | "failed")
    }

    fn failed(&self) -> bool {
        self.status == "failed"
    }

    /// The run as the API answers it (docs/schedules.md); `consoleUrl` is left to the
    /// dashboard, which builds it from its `consoleExecutionUrl` template.
    pub fn view(&self) -> Value {
        json!({
            "executionId": self.id,
            "status": self.status,
            "trigger": self.trigger,
            "startedAt": format_timestamp(&self.started_at),
            "durationSeconds": self.duration_seconds,
            "statusCode": self.status_code,
            "consoleUrl": Value::Null,
        })
    }
}

/// Runs and failures over the last 24 hours, as Appwrite counted them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Totals {
    pub runs_24h: u64,
    pub failures_24h: u64,
}

/// A schedule's health, strongest first: the first rule that holds wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    Disabled,
    Failing,
    Late,
    Ok,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Disabled => "disabled",
            Health::Failing => "failing",
            Health::Late => "late",
            Health::Ok => "ok",
        }
    }
}

/// One scheduled function, assessed.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub function_id: String,
    pub name: String,
    pub schedule: String,
    pub schedule_text: String,
    pub enabled: bool,
    pub next_run_at: Option<Timestamp>,
    pub health: Health,
    pub health_reason: String,
    /// Newest first, at most [`RECENT_RUNS`].
    pub recent: Vec<ExecutionInfo>,
    pub totals: Totals,
}

impl Schedule {
    pub fn last_run(&self) -> Option<&ExecutionInfo> {
        self.recent.first()
    }

    /// The schedule as `GET /v1/schedules` answers it, with its audit entries (newest first).
    pub fn view(&self, audit: &[AuditEntry]) -> Value {
        json!({
            "functionId": self.function_id,
            "name": self.name,
            "schedule": self.schedule,
            "scheduleText": self.schedule_text,
            "enabled": self.enabled,
            "nextRunAt": self.next_run_at.as_ref().map(format_timestamp),
            "health": self.health,
            "healthReason": self.health_reason,
            "lastRun": self.last_run().map(ExecutionInfo::view),
            "recent": self.recent.iter().map(ExecutionInfo::view).collect::<Vec<_>>(),
            "runs24h": self.totals.runs_24h,
            "failures24h": self.totals.failures_24h,
            "audit": audit.iter().map(AuditEntry::view).collect::<Vec<_>>(),
        })
    }
}

/// The grace a schedule whose runs are `interval` apart gets before it is late:
/// max(60 s, 10 % of the interval).
pub fn grace(interval: Duration) -> Duration {
    Duration::seconds(MIN_GRACE_SECONDS).max(interval * GRACE_PERCENT as i32 / 100)
}

/// Judges one scheduled function at `now` from its newest executions (`recent`, newest first,
/// any trigger) and its 24-hour counts. The rules, first match wins (docs/schedules.md):
///
/// 1. **disabled**: the function's `enabled` is false;
/// 2. **failing**: its newest `rules.failing_runs` finished executions (completed or failed,
///    any trigger) all failed, or half or more of its newest [`RECENT_RUNS`] did;
/// 3. **late**: `E` is the newest expected run with `E + grace <= now` (grace: [`grace`] of the
///    interval from `E` to the run after it), `E` is not before the function's last update,
///    and no execution (any trigger) started at or after `E`;
/// 4. **ok** otherwise, and for a schedule that cannot be read (Appwrite validates schedules,
///    so only a stand-in could hold one).
pub fn assess(
    function: &FunctionInfo,
    recent: &[ExecutionInfo],
    totals: Totals,
    rules: &Rules,
    now: Timestamp,
) -> Schedule {
    let cron = Cron::parse(&function.schedule);
    let mut recent: Vec<ExecutionInfo> = recent.to_vec();
    recent.sort_by_key(|e| std::cmp::Reverse(e.started_at));
    recent.truncate(RECENT_RUNS);
    let (health, reason) = judge(function, cron.as_ref(), &recent, rules, now);
    Schedule {
        function_id: function.id.clone(),
        name: function.name.clone(),
        schedule: function.schedule.clone(),
        schedule_text: cron
            .as_ref()
            .map_or_else(|| function.schedule.clone(), Cron::words),
        enabled: function.enabled,
        next_run_at: cron.as_ref().and_then(|c| c.next_after(now)),
        health,
        health_reason: reason,
        recent,
        totals,
    }
}

fn judge(
    function: &FunctionInfo,
    cron: Option<&Cron>,
    recent: &[ExecutionInfo],
    rules: &Rules,
    now: Timestamp,
) -> (Health, String) {
    if !function.enabled {
        return (
            Health::Disabled,
            "the function is disabled (its `enabled` flag is off)".into(),
        );
    }
    let n = rules.failing_runs.clamp(1, RECENT_RUNS);
    let finished: Vec<&ExecutionInfo> = recent.iter().filter(|e| e.finished()).take(n).collect();
    if finished.len() == n && finished.iter().all(|e| e.failed()) {
        let last = finished[0];
        let runs = if n == 1 {
            "the last run".to_owned()
        } else {
            format!("the last {n} runs")
        };
        return (
            Health::Failing,
            format!(
                "{runs} failed (last at {}, status code {})",
                format_timestamp(&last.started_at),
                last.status_code
            ),
        );
    }
    // A schedule that fails every other run never fails N times in a row, yet is as broken.
    let window: Vec<&ExecutionInfo> = recent.iter().filter(|e| e.finished()).collect();
    let failed = window.iter().filter(|e| e.failed()).count();
    if window.len() == RECENT_RUNS && failed * 2 >= RECENT_RUNS {
        return (
            Health::Failing,
            format!("{failed} of the last {RECENT_RUNS} runs failed"),
        );
    }
    let Some(cron) = cron else {
        return (
            Health::Ok,
            format!("the schedule {:?} cannot be read", function.schedule),
        );
    };
    if let Some(expected) = overdue_run(cron, now) {
        let counts = function.updated_at.is_none_or(|u| expected >= u);
        let ran = recent.iter().any(|e| e.started_at >= expected);
        if counts && !ran {
            let mut reason = format!(
                "no run started since {} (expected then; grace {} s)",
                format_timestamp(&expected),
                cron.interval_after(expected)
                    .map_or(MIN_GRACE_SECONDS, |i| grace(i).num_seconds())
            );
            if function.deployment_id.is_empty() {
                reason.push_str(
                    ": the function has no active deployment, so Appwrite does not schedule it",
                );
            }
            return (Health::Late, reason);
        }
    }
    let reason = match recent.first() {
        Some(last) => format!(
            "last run {} at {}",
            last.status,
            format_timestamp(&last.started_at)
        ),
        None => "no runs yet".to_owned(),
    };
    (Health::Ok, reason)
}

/// The newest expected run whose grace is over at `now`: walk back from the last expected run
/// until one's grace has passed (a run's grace depends on its own interval). Bounded: grace
/// never exceeds the interval, so the second candidate back always qualifies.
fn overdue_run(cron: &Cron, now: Timestamp) -> Option<Timestamp> {
    let mut candidate = cron.last_at_or_before(now)?;
    for _ in 0..3 {
        let interval = cron.interval_after(candidate)?;
        if candidate + grace(interval) <= now {
            return Some(candidate);
        }
        candidate = cron.last_at_or_before(candidate - Duration::seconds(1))?;
    }
    None
}

#[cfg(test)]
mod tests;
