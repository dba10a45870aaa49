//! The functions of `appwrite.json`: one entry per function crate, each built by the rust-1.83
//! runtime from its packaged bundle (`dist/<id>`, `target` ignored), with a sane timeout, a
//! schedule only for the sweeper, least-privilege scopes and the `execute` roles its kind
//! needs (API keys only for hooks and retention, anyone for the observer's webhook, declared
//! teams and labels for the action API).

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use super::{str_of, strings, Problems, FUNCTION_KEYS};
use crate::config::AppwriteConfig;
use crate::cron;

/// The `specification` values a function may name.
pub const SPECIFICATIONS: &[&str] = &[
    "s-0.5vcpu-512mb",
    "s-1vcpu-512mb",
    "s-1vcpu-1gb",
    "s-2vcpu-2gb",
    "s-2vcpu-4gb",
    "s-4vcpu-4gb",
    "s-4vcpu-8gb",
    "s-8vcpu-4gb",
    "s-8vcpu-8gb",
];
/// Appwrite's default upper bound for a function timeout (`_APP_FUNCTIONS_TIMEOUT`), lowered to
/// what the polling delta reaches back over: a write commits within its execution's timeout plus
/// one store request (`shared::store::DELTA_OVERLAP_SECONDS`, docs/actions.md § Polling).
pub const MAX_TIMEOUT: u64 = {
    let overlap = shared::store::DELTA_OVERLAP_SECONDS as u64;
    // The execution's key lives `timeout` + 60 s (appwrite-notes: Execution key lifetime).
    let bound = overlap - 60;
    if bound < 900 {
        bound
    } else {
        900
    }
};

/// Scopes each function needs, no more (appwrite-notes: Scopes).
pub fn expected_scopes(id: &str) -> &'static [&'static str] {
    match id {
        // The Schedules routes read functions and executions, switch `enabled` and run now
        // (docs/schedules.md § Scopes).
        "job-actions" => &[
            "rows.read",
            "rows.write",
            "functions.read",
            "functions.write",
            "executions.read",
            "executions.write",
            "users.read",
            "teams.read",
        ],
        // Alerts: the email through Messaging, and the Schedules board for schedule alerts
        // (docs/alerts.md § Scopes).
        "job-retention" => &[
            "rows.read",
            "rows.write",
            "messages.write",
            "functions.read",
            "executions.read",
        ],
        _ => &["rows.read", "rows.write"],
    }
}

/// The webhook target: executable by anyone, authenticated by Appwrite's webhook signature.
pub const OBSERVER: &str = "job-observer";

/// Functions only API keys (other functions, the scheduler) may execute.
pub fn is_server_only(id: &str) -> bool {
    id.starts_with("hook-") || id == "job-retention"
}

/// Every function entry, and every function crate has one.
pub(super) fn check(
    config: &AppwriteConfig,
    base: &Path,
    crates: &[String],
    teams: &BTreeSet<String>,
    v: &mut Problems,
) {
    let mut ids = BTreeSet::new();
    for f in config.entries("functions") {
        let id = str_of(f, "$id");
        let at = format!("function `{id}`");
        v.keys(&at, f, FUNCTION_KEYS);
        if !ids.insert(id.to_owned()) {
            v.push(format!("{at}: duplicate id"));
        }
        if !crates.iter().any(|c| c == id) {
            v.push(format!(
                "{at}: no crate functions/{id} (function id = crate name)"
            ));
        }
        settings(&at, id, f, v);
        schedule(&at, id, f, v);
        execute(&at, id, f, teams, v);
        scopes(&at, id, f, v);
        bundle(&at, base, f, v);
    }
    for c in crates {
        if !ids.contains(c) {
            v.push(format!(
                "function crate `{c}` has no entry in appwrite.json"
            ));
        }
    }
}

/// The settings every function shares: runtime, entrypoint, build, logging, size and timeout.
fn settings(at: &str, id: &str, f: &Value, v: &mut Problems) {
    let expect = |v: &mut Problems, key: &str, want: Value| {
        if f.get(key) != Some(&want) {
            v.push(format!(
                "{at}: `{key}` must be {want}, is {}",
                f.get(key).unwrap_or(&Value::Null)
            ));
        }
    };
    expect(v, "runtime", "rust-1.83".into());
    expect(v, "entrypoint", "main.rs".into());
    // `cargo install` (what `init function` writes) fails the build; the runtime compiles.
    expect(v, "commands", "".into());
    expect(v, "path", format!("dist/{id}").into());
    expect(v, "logging", true.into());
    expect(v, "enabled", true.into());
    if str_of(f, "name").is_empty() {
        v.push(format!("{at}: `name` must be a non-empty string"));
    }
    if !strings(f, "ignore").is_some_and(|i| i.iter().any(|p| p == "target")) {
        v.push(format!(
            "{at}: `ignore` must list `target` (upload limit 30 MB)"
        ));
    }
    if !SPECIFICATIONS.contains(&str_of(f, "specification")) {
        v.push(format!(
            "{at}: `specification` must be one of {}",
            SPECIFICATIONS.join(", ")
        ));
    }
    match f.get("timeout").and_then(Value::as_u64) {
        Some(t) if (1..=MAX_TIMEOUT).contains(&t) => {}
        _ => v.push(format!(
            "{at}: `timeout` must be an integer in 1..={MAX_TIMEOUT} (the polling delta's reach)"
        )),
    }
}

/// What starts a function besides a call: no events, and a valid schedule for the sweeper only.
fn schedule(at: &str, id: &str, f: &Value, v: &mut Problems) {
    if strings(f, "events").is_none_or(|e| !e.is_empty()) {
        v.push(format!(
            "{at}: `events` must be an empty list (no function is event-driven)"
        ));
    }
    let schedule = str_of(f, "schedule");
    if !schedule.is_empty() {
        if let Err(e) = cron::validate(schedule) {
            v.push(format!("{at}: `schedule`: {e}"));
        }
    }
    if id == "job-retention" && schedule.is_empty() {
        v.push(format!("{at}: needs a `schedule`"));
    }
    if id != "job-retention" && !schedule.is_empty() {
        v.push(format!("{at}: only job-retention runs on a schedule"));
    }
}

/// Who may execute the function, by its kind.
fn execute(at: &str, id: &str, f: &Value, teams: &BTreeSet<String>, v: &mut Problems) {
    match strings(f, "execute") {
        None => v.push(format!("{at}: `execute` must be a list of roles")),
        // A webhook reaches a function's domain only when `execute` lets anyone in
        // (docs/appwrite-notes.md § Webhooks and execution events); its signature is the gate.
        Some(roles) if id == OBSERVER => {
            if roles != ["any"] {
                v.push(format!("{at}: `execute` must be [\"any\"], is {roles:?}"));
            }
        }
        Some(roles) if is_server_only(id) => {
            if !roles.is_empty() {
                v.push(format!(
                    "{at}: `execute` must be [] (API keys only), is {roles:?}"
                ));
            }
        }
        Some(roles) => {
            if roles.is_empty() {
                v.push(format!("{at}: `execute` must name the dashboard's team(s)"));
            }
            for role in roles {
                match role.strip_prefix("team:") {
                    Some(team) if teams.contains(team.split('/').next().unwrap_or(team)) => {}
                    Some(team) => v.push(format!("{at}: execute role `{role}` names team `{team}`, not declared in `teams`")),
                    None if role.starts_with("label:") => {}
                    None => v.push(format!("{at}: execute role `{role}` is not a team or a label; only the configured roles may call it")),
                }
            }
        }
    }
}

/// The function's scopes are exactly those it needs.
fn scopes(at: &str, id: &str, f: &Value, v: &mut Problems) {
    let want: BTreeSet<&str> = expected_scopes(id).iter().copied().collect();
    match strings(f, "scopes") {
        Some(scopes) => {
            let got: BTreeSet<&str> = scopes.iter().map(String::as_str).collect();
            if got != want {
                v.push(format!(
                    "{at}: `scopes` must be exactly {want:?} (least privilege), is {got:?}"
                ));
            }
        }
        None => v.push(format!("{at}: `scopes` must be a list")),
    }
}

/// The packaged bundle is where `path` points, holding the manifest and the entrypoint.
fn bundle(at: &str, base: &Path, f: &Value, v: &mut Problems) {
    let dir = base.join(str_of(f, "path"));
    let entry = dir.join(str_of(f, "entrypoint"));
    if !entry.is_file() || !dir.join("Cargo.toml").is_file() {
        v.push(format!(
            "{at}: {} does not hold Cargo.toml and {} (run scripts/package)",
            dir.display(),
            str_of(f, "entrypoint")
        ));
    }
}
