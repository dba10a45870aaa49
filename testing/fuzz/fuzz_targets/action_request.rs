//! Fuzzes the job actions API end to end: `job_actions::handle_with` with arbitrary methods,
//! paths, query strings, bodies, callers and configurations, on a fresh seeded in-memory store
//! (which may fail from its n-th call) and fake Appwrite services (which may be down). Also
//! checks the query-string decoder against a reference decoder.
//!
//! Input: byte 0 picks method, user and trigger, byte 1 the store fault, byte 2 the
//! configuration and outages (see below); the rest is `path?query`, a newline, then the body.

#![no_main]

use std::collections::HashMap;
use std::sync::Arc;

use job_actions::auth::RoleCache;
use job_actions::query::Params;
use job_actions::upstream::{Directory, Executions, Rows, UpstreamError};
use job_actions::{handle_with, Services};
use job_manager_fuzz::{check_json_answer, check_store, context, now, Fault, MemStore};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use shared::platform::Platform;

const METHODS: [&str; 8] = ["GET", "POST", "OPTIONS", "DELETE", "get", "PUT", "HEAD", ""];
const USERS: [Option<&str>; 8] = [
    Some("alice"),
    Some("victor"),
    Some("nora"),
    None,
    Some(""),
    Some("olga"),
    Some("  alice "),
    Some("a-user-id-far-longer-than-thirty-six-chars"),
];

/// Appwrite as the API sees it: alice has the operator label, victor the viewer label, olga
/// is in the operators' team; every call fails when `down`.
struct Fake {
    directory_down: bool,
    executions_down: bool,
}

impl Directory for Fake {
    fn user_labels(&self, user_id: &str) -> Result<Vec<String>, UpstreamError> {
        if self.directory_down {
            return Err(UpstreamError::Unavailable("down".into()));
        }
        Ok(match user_id {
            "alice" => vec!["jobsoperator".into()],
            "victor" => vec!["jobsviewer".into()],
            _ => Vec::new(),
        })
    }
    fn is_team_member(&self, team_id: &str, user_id: &str) -> Result<bool, UpstreamError> {
        if self.directory_down {
            return Err(UpstreamError::Unavailable("down".into()));
        }
        Ok(team_id == "ops" && user_id == "olga")
    }
}

impl Executions for Fake {
    fn create_execution(&self, _: &str, body: &str) -> Result<String, UpstreamError> {
        serde_json::from_str::<Value>(body).expect("execution bodies are JSON");
        if self.executions_down {
            return Err(UpstreamError::Unavailable("down".into()));
        }
        Ok("exec1".into())
    }
}

impl Rows for Fake {
    fn update_row(&self, _: &str, _: &str, _: &str, _: &Value) -> Result<(), UpstreamError> {
        if self.executions_down {
            return Err(UpstreamError::Refused {
                status: 404,
                message: "row not found".into(),
            });
        }
        Ok(())
    }
}

fuzz_target!(|data: &[u8]| {
    let (who, fault, conf, rest) = match data {
        [who, fault, conf, rest @ ..] => (*who, *fault, *conf, rest),
        _ => return,
    };
    let Ok(rest) = std::str::from_utf8(rest) else {
        // Paths and query strings reach handlers as Rust strings; bodies as bytes (below).
        return;
    };
    let (target, body) = rest.split_once('\n').unwrap_or((rest, ""));
    let method = METHODS[usize::from(who & 0b111)];
    let user = USERS[usize::from((who >> 3) & 0b111)];
    let trigger = match who >> 6 {
        0 => Some("http"),
        1 => Some("schedule"),
        2 => Some("event"),
        _ => None,
    };

    let mut vars = vec![
        ("JOBS_OPERATOR_LABELS", "jobsoperator"),
        ("JOBS_VIEWER_LABELS", "jobsviewer"),
        ("JOBS_OPERATOR_TEAMS", "ops"),
        ("JOBS_EXPORT_MAX_ROWS", "7"),
    ];
    if conf & 0x01 != 0 {
        vars.push(("JOBS_CORS_ORIGINS", "*"));
    } else if conf & 0x02 != 0 {
        vars.push(("JOBS_CORS_ORIGINS", "https://a.example"));
    }
    if conf & 0x04 != 0 {
        vars.push(("JOBS_WORKER_CAMPAIGN_RUN", "orchestrator"));
    }
    if conf & 0x08 != 0 {
        vars.push(("JOBS_CAMPAIGN_DATABASE", "db"));
        vars.push(("JOBS_CAMPAIGN_TABLE", "campaigns"));
        vars.push(("JOBS_CAMPAIGN_STATUS_FIELD", "status"));
        vars.push(("JOBS_CAMPAIGN_STATUS_ON_PAUSE", "PAUSED"));
        vars.push(("JOBS_CAMPAIGN_STATUS_ON_CANCEL", "CANCELLED"));
    }
    if conf & 0x10 != 0 {
        vars.push((
            "JOBS_AUDIT_LOG_URL",
            "https://audit.example/?job={jobId}&ref={referenceId}",
        ));
    }
    let fake = Fake {
        directory_down: conf & 0x20 != 0,
        executions_down: conf & 0x40 != 0,
    };
    let vars: HashMap<String, String> = vars
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();

    let fail_from = usize::from(fault & 0x3f);
    let fault = match fault >> 6 {
        0 | 3 => Fault::Unavailable,
        1 => Fault::Backend,
        _ => Fault::Conflict,
    };
    let store = Arc::new(MemStore::seeded(fail_from, fault));
    let mut platform = Platform::new(store.clone(), Arc::new(move |k| vars.get(k).cloned()));
    platform.clock = Arc::new(now);

    let mut headers = vec![
        ("content-type", "application/json".to_owned()),
        ("origin", "https://a.example".to_owned()),
    ];
    if let Some(trigger) = trigger {
        headers.push(("x-appwrite-trigger", trigger.to_owned()));
    }
    if let Some(user) = user {
        headers.push(("x-appwrite-user-id", user.to_owned()));
    }
    let mut ctx = context(method, headers, body.as_bytes());
    // The runtime splits the target; bit 7 also tries a query left inside the path.
    match target.split_once('?') {
        Some((path, query)) if conf & 0x80 == 0 => {
            ctx.req.path = path.to_owned();
            ctx.req.query_string = query.to_owned();
        }
        _ => ctx.req.path = target.to_owned(),
    }
    let raw_query = target.split_once('?').map_or("", |(_, q)| q);

    let roles = RoleCache::new();
    let services = Services {
        directory: &fake,
        executions: &fake,
        rows: &fake,
        roles: &roles,
    };
    let response = handle_with(ctx, &platform, &services);
    let status = response.status_code;
    let content_type = response
        .headers
        .get("content-type")
        .cloned()
        .unwrap_or_default();

    if status == 204 {
        assert!(response.body.is_empty(), "a preflight with a body");
        assert!(response.headers.contains_key("allow"));
    } else if status == 200 && content_type.starts_with("text/csv") {
        String::from_utf8(response.body.clone()).expect("CSV exports are UTF-8");
    } else {
        let answer = check_json_answer(&response, store.failed() || fake.directory_down);
        if status >= 500 && !store.failed() {
            assert_eq!(answer["error"]["code"], "roles_unavailable", "{answer}");
        }
        if status == 405 {
            assert!(response.headers.contains_key("allow"), "405 without allow");
        }
        if (400..500).contains(&status) {
            assert_eq!(store.writes(), 0, "a {status} wrote to the store: {answer}");
        }
    }
    if matches!(trigger, Some("schedule" | "event")) {
        assert!(
            matches!(status, 403 | 404 | 405 | 204),
            "a {trigger:?} trigger got {status}"
        );
    }
    if !matches!(method.to_ascii_uppercase().as_str(), "POST") || !(200..300).contains(&status) {
        assert_eq!(
            store.writes(),
            0,
            "{method} {target} wrote with status {status}"
        );
    }
    check_store(&store);

    // The query decoder agrees with a strict reference decoder.
    match (Params::parse(raw_query), reference_pairs(raw_query)) {
        (Ok(params), Some(pairs)) => {
            for (key, _) in &pairs {
                let first = pairs
                    .iter()
                    .find(|(k, v)| k == key && !v.is_empty())
                    .map(|(_, v)| v.as_str());
                assert_eq!(params.get(key), first, "key {key:?} of {raw_query:?}");
            }
        }
        (Err(_), None) => {}
        (ours, reference) => panic!(
            "query {raw_query:?}: decoded {:?}, the reference says {reference:?}",
            ours.map(|_| "ok")
        ),
    }
});

/// `application/x-www-form-urlencoded` decoding by the book: `+` is a space, `%` must be
/// followed by two hex digits, the result must be UTF-8; `None` otherwise.
fn reference_pairs(raw: &str) -> Option<Vec<(String, String)>> {
    fn decode(s: &str) -> Option<String> {
        let b = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'%' => {
                    let hi = (*b.get(i + 1)? as char).to_digit(16)?;
                    let lo = (*b.get(i + 2)? as char).to_digit(16)?;
                    out.push((hi * 16 + lo) as u8);
                    i += 3;
                }
                b'+' => {
                    out.push(b' ');
                    i += 1;
                }
                c => {
                    out.push(c);
                    i += 1;
                }
            }
        }
        String::from_utf8(out).ok()
    }
    raw.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            Some((decode(k)?, decode(v)?))
        })
        .collect()
}
