//! Schedule alerts: one alert each time a scheduled function's health (`schedules::assess`)
//! turns late or failing, and one when it is back, none while it stays. Disabled counts as ok
//! here: an operator chose it, and it is on the Schedules view.
//!
//! What was last alerted is kept durably as notes (`JobStore::note`) in a synthetic log per
//! function ([`log_id`]), and found by id alone (`JobStore::noted`), since an adapter may read
//! a log only through its job: the n-th change of a function to state `s` is the alert with key
//! `schedule:<functionId>:<n>:<s>`, its notes carry that alert's ids, and the last change is
//! the highest `n` noted, probed in windows of doubling size (one request for every function
//! while each has had fewer than [`FIRST_WINDOW`] changes).

use std::collections::HashMap;

use serde_json::json;
use sha2::{Digest, Sha256};

use super::message::{id_of, Alert, Channel};
use crate::schedules::{Health, Schedule};
use crate::store::{JobStore, StoreResult};

/// What a schedule alert tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Watch {
    Ok,
    Late,
    Failing,
}

const WATCHES: [Watch; 3] = [Watch::Ok, Watch::Late, Watch::Failing];

/// Changes probed for at first; later windows double.
pub const FIRST_WINDOW: u64 = 8;
/// Changes per function beyond which probing stops (a change every sweep for 30 years).
const MAX_CHANGES: u64 = 1 << 22;

impl Watch {
    pub fn of(health: Health) -> Watch {
        match health {
            Health::Late => Watch::Late,
            Health::Failing => Watch::Failing,
            Health::Ok | Health::Disabled => Watch::Ok,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Watch::Ok => "ok",
            Watch::Late => "late",
            Watch::Failing => "failing",
        }
    }
}

/// The synthetic log of a function's schedule alerts: `alerts-` and 29 hex digits of the
/// SHA-256 of its id (36 characters, the `jobId` column's size; no job id has that shape).
pub fn log_id(function_id: &str) -> String {
    let digest = Sha256::digest(format!("schedule-alerts:{function_id}").as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("alerts-{}", &hex[..29])
}

fn key(function_id: &str, n: u64, watch: Watch) -> String {
    format!("schedule:{function_id}:{n}:{}", watch.as_str())
}

/// The alert for a function's `n`-th change, to `watch` (from `from`).
pub fn schedule_alert(schedule: &Schedule, n: u64, watch: Watch, from: Watch) -> Alert {
    let name = schedule
        .name
        .lines()
        .next()
        .unwrap_or("")
        .chars()
        .take(120)
        .collect::<String>();
    let subject = match watch {
        Watch::Late => format!("Schedule late: {name}"),
        Watch::Failing => format!("Schedule failing: {name}"),
        Watch::Ok => format!("Schedule back to normal: {name}"),
    };
    let reason = schedule
        .health_reason
        .lines()
        .next()
        .unwrap_or("")
        .to_owned();
    let text = format!(
        "Scheduled function {} ({}, {}) is {} (was {}): {}.",
        schedule.function_id,
        name,
        schedule.schedule_text,
        schedule.health.as_str(),
        from.as_str(),
        reason
    );
    Alert {
        key: key(&schedule.function_id, n, watch),
        log_id: log_id(&schedule.function_id),
        rev: 0,
        subject,
        text,
        fields: json!({
            "kind": "schedule",
            "functionId": schedule.function_id,
            "name": name,
            "schedule": schedule.schedule,
            "health": schedule.health.as_str(),
            "was": from.as_str(),
            "reason": reason,
        }),
    }
}

/// A function's last alerted change: its index, its state and the channels it was noted on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Last {
    n: u64,
    watch: Watch,
    channels: Vec<Channel>,
}

/// The last alerted change of each function; absent for a function never alerted.
pub(super) fn latest(
    store: &dyn JobStore,
    function_ids: &[&str],
    channels: &[Channel],
) -> StoreResult<HashMap<String, Last>> {
    let mut found: HashMap<String, Last> = HashMap::new();
    let mut pending: Vec<&str> = function_ids.to_vec();
    let (mut start, mut size) = (0, FIRST_WINDOW);
    while !pending.is_empty() && start < MAX_CHANGES {
        let mut probes: HashMap<String, (&str, u64, Watch, Channel)> = HashMap::new();
        for f in &pending {
            for n in start..start + size {
                for w in WATCHES {
                    for c in channels {
                        probes.insert(id_of(&key(f, n, w), *c), (f, n, w, *c));
                    }
                }
            }
        }
        let ids: Vec<&str> = probes.keys().map(String::as_str).collect();
        for id in store.noted(&ids)? {
            let Some(&(f, n, w, c)) = probes.get(&id) else {
                continue;
            };
            let fresh = || Last {
                n,
                watch: w,
                channels: Vec::new(),
            };
            let last = found.entry(f.to_owned()).or_insert_with(fresh);
            if n > last.n {
                *last = fresh();
            }
            if n == last.n && w == last.watch && !last.channels.contains(&c) {
                last.channels.push(c);
            }
        }
        // A function whose window was full may have later changes; the others are settled.
        let end = start + size - 1;
        pending.retain(|f| found.get(*f).is_some_and(|last| last.n == end));
        start += size;
        size *= 2;
    }
    Ok(found)
}

/// What to send for one schedule, given its last alerted change: a new change, the missing
/// channels of the current one, or nothing.
pub(super) fn due(
    schedule: &Schedule,
    last: Option<&Last>,
    channels: &[Channel],
) -> Option<(Alert, Vec<Channel>)> {
    let now = Watch::of(schedule.health);
    match last {
        // A schedule first seen healthy is the normal case: nothing to say.
        None if now == Watch::Ok => None,
        None => Some((
            schedule_alert(schedule, 0, now, Watch::Ok),
            channels.to_vec(),
        )),
        Some(last) if last.watch == now => {
            let missing: Vec<Channel> = channels
                .iter()
                .copied()
                .filter(|c| !last.channels.contains(c))
                .collect();
            // Unchanged: only a channel that missed this change is tried again.
            (!missing.is_empty()).then(|| (schedule_alert(schedule, last.n, now, now), missing))
        }
        Some(last) => Some((
            schedule_alert(schedule, last.n + 1, now, last.watch),
            channels.to_vec(),
        )),
    }
}
