//! The scheduled retention and stall sweeper: a thin adapter over `shared::retention`. Each run
//! marks stalled jobs FAILED, prunes finished jobs beyond the newest N in bounded batches
//! within a time budget, and answers (and logs) `{deleted, markedStalled, remainingBacklog,
//! durationMs}`. Configuration and defaults: `docs/retention.md`. Then, when alerts are
//! configured, it delivers the alerts of recent failures (`shared::alerts`, docs/alerts.md) and
//! adds `alerts` to the answer: alerts never ride on the hook call that failed a job.

use openruntimes::{Context, Response};
use serde_json::json;
use shared::alerts::{self, AlertConfig};
use shared::appwrite::{AppwriteClient, AppwriteConfig};
use shared::config::ConfigError;
use shared::http::{self, ApiError};
use shared::platform::{self, Platform};
use shared::retention::{self, RetentionConfig};
use shared::schedules::{self, Rules};

/// The Appwrite entry point: builds this execution's platform, then sweeps.
pub fn main(context: Context) -> Response {
    match platform::appwrite_platform(&context) {
        Ok(platform) => handle(context, &platform),
        Err(err) => http::error(&context, &err),
    }
}

/// One sweep on an injected platform (the local dev server and tests use SQLite).
pub fn handle(context: Context, platform: &Platform) -> Response {
    match sweep(&context, platform) {
        Ok(report) => http::json(&context, 200, &report),
        Err(err) => http::error(&context, &err),
    }
}

fn sweep(context: &Context, platform: &Platform) -> Result<serde_json::Value, ApiError> {
    // Scheduled runs, plus manual runs by a server (API key or another function); never users.
    shared::hooks::require_server_caller(context, &["schedule", "http"])?;
    // Read before any store call, so a bad variable deletes nothing.
    let retention = RetentionConfig::from_lookup(|name| platform.var(name));
    let alerts = AlertConfig::from_lookup(|name| platform.var(name));
    let rules = Rules::from_lookup(|name| platform.var(name));
    let (config, alerts, rules) = match (retention, alerts, rules) {
        (Ok(config), Ok(alerts), Ok(rules)) => (config, alerts, rules),
        (retention, alerts, rules) => {
            // Every unusable variable at once, the sweep's and the alerts'.
            let problems = [retention.err(), alerts.err(), rules.err()]
                .into_iter()
                .flatten()
                .flat_map(|e| e.problems)
                .collect();
            let e = ConfigError { problems };
            return Err(ApiError::new(500, "invalid_config", e.to_string())
                .with_extra(json!({ "variables": e.variables() })));
        }
    };
    let clock = || platform.now();
    let report = retention::sweep(&*platform.store, &config, &clock).map_err(ApiError::from)?;
    context.log(json!({"retention": report}));
    if alerts.enabled() {
        // After the sweep, so jobs it marked stalled are alerted in this run; an alert problem
        // never fails the sweep (the next run retries), it is logged and answered.
        let outcome = alert(context, platform, &alerts, &rules);
        context.log(json!({"alerts": outcome}));
        let mut answer = serde_json::to_value(report).unwrap_or_default();
        answer["alerts"] = outcome;
        return Ok(answer);
    }
    Ok(serde_json::to_value(report).unwrap_or_default())
}

/// The alerts step (docs/alerts.md): Messaging and the schedules' health through this
/// execution's key, the webhook directly.
fn alert(
    context: &Context,
    platform: &Platform,
    config: &AlertConfig,
    rules: &Rules,
) -> serde_json::Value {
    let client = AppwriteConfig::from_context(context, &platform.lookup)
        .map(AppwriteClient::new)
        .ok();
    let now = platform.now();
    let live = alerts::Live {
        messaging: client.clone(),
    };
    let mut report = match alerts::sweep(&*platform.store, config, &live, now) {
        Ok(report) => report,
        Err(e) => return json!({"error": e.to_string()}),
    };
    if config.schedules {
        let board = client
            .ok_or_else(|| "no Appwrite client to read the schedules".to_owned())
            .and_then(|c| schedules::list(&c, rules, now).map_err(|e| e.to_string()));
        match board {
            Ok(board) => {
                let assessed: Vec<_> = board.schedules.into_iter().map(|(s, _)| s).collect();
                let store = &*platform.store;
                if let Err(e) =
                    alerts::sweep_schedules(store, config, &live, &assessed, now, &mut report)
                {
                    report.errors.push(format!("schedules: {e}"));
                }
            }
            Err(e) => report.errors.push(format!("schedules: {e}")),
        }
    }
    serde_json::to_value(report).unwrap_or_default()
}
