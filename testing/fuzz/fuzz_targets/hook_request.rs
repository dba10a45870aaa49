//! Fuzzes the hook protocol end to end: `shared::hooks::handle` with arbitrary bodies, callers,
//! triggers and methods, on a fresh seeded in-memory store that may fail from its n-th call.
//!
//! Input: byte 0 chooses the hook and headers (see [`Flags`]), byte 1 the store fault, the rest
//! is the request body. The committed corpus holds the bodies of docs/hooks.md with `\0\0`
//! in front.

#![no_main]

use std::sync::Arc;

use job_manager_fuzz::{check_json_answer, check_store, context, now, Fault, MemStore};
use libfuzzer_sys::fuzz_target;
use shared::hooks::{self, Hook, CALLER_HEADER};
use shared::job::JobType;
use shared::platform::Platform;

const HOOKS: [Hook; 4] = [
    Hook {
        job_type: JobType::CampaignRun,
        function_id: "hook-campaign-run",
    },
    Hook {
        job_type: JobType::BulkVerify,
        function_id: "hook-bulk-verify",
    },
    Hook {
        job_type: JobType::SqsPoll,
        function_id: "hook-sqs-poll",
    },
    Hook {
        job_type: JobType::MetricsFetch,
        function_id: "hook-metrics-fetch",
    },
];

fuzz_target!(|data: &[u8]| {
    let (flags, fault, body) = match data {
        [flags, fault, body @ ..] => (*flags, *fault, body),
        _ => return,
    };
    let hook = HOOKS[usize::from(flags & 0b11)];
    let trigger = match (flags >> 2) & 0b11 {
        0 => Some("http"),
        1 => Some("schedule"),
        2 => None,
        _ => Some("event"),
    };
    let user = flags & 0x10 != 0;
    let method = if flags & 0x20 == 0 { "POST" } else { "GET" };
    let caller = match flags >> 6 {
        0 => None,
        1 => Some("orchestrator"),
        2 => Some("../bad caller"),
        _ => Some(""),
    };

    let mut headers = vec![("content-type", "application/json".to_owned())];
    if let Some(trigger) = trigger {
        headers.push(("x-appwrite-trigger", trigger.to_owned()));
    }
    headers.push((
        "x-appwrite-user-id",
        if user { "u1" } else { "" }.to_owned(),
    ));
    if let Some(caller) = caller {
        headers.push((CALLER_HEADER, caller.to_owned()));
    }

    let fail_from = usize::from(fault & 0x3f);
    let fault = match fault >> 6 {
        0 | 3 => Fault::Unavailable,
        1 => Fault::Backend,
        _ => Fault::Conflict,
    };
    let store = Arc::new(MemStore::seeded(fail_from, fault));
    let mut platform = Platform::new(store.clone(), Arc::new(|_| None));
    platform.clock = Arc::new(now);

    let response = hooks::handle(&hook, context(method, headers, body), &platform);
    let status = response.status_code;
    let answer = check_json_answer(&response, store.failed());

    // The gate comes first: no server trigger or a user session is a 403, then a 405.
    if trigger != Some("http") || user {
        assert_eq!(status, 403, "{answer}");
    } else if method != "POST" {
        assert_eq!(status, 405, "{answer}");
    }
    if (200..300).contains(&status) {
        assert_eq!(
            answer["job"]["type"].as_str(),
            Some(hook.job_type.to_string().as_str()),
            "a hook answered with another type's job: {answer}"
        );
        assert!(
            matches!(
                answer["control"].as_str(),
                Some("continue" | "pause" | "cancel")
            ),
            "{answer}"
        );
    }
    // Every input check comes before the first write: a rejected request leaves no trace.
    if (400..500).contains(&status) {
        assert_eq!(store.writes(), 0, "a {status} wrote to the store: {answer}");
    }
    check_store(&store);
});
