//! Fuzzes the execution observer: `job_observer::handle` with arbitrary webhook bodies, signed
//! correctly or not, for a mapped (un-adopted) function or a worker, on a fresh seeded in-memory
//! store that may fail from its n-th call; and its body parser, `Execution::parse`, alone.
//!
//! Input: byte 0 chooses signing (bit 0), mapping (bit 1) and method (bit 2), byte 1 the store
//! fault, the rest is the body. The committed corpus holds execution documents as Appwrite's
//! webhook sends them, most with `\x03\0` in front (signed, mapped, POST, no fault).

#![no_main]

use std::sync::Arc;

use job_manager_fuzz::{check_json_answer, check_store, context, now, Fault, MemStore};
use libfuzzer_sys::fuzz_target;
use shared::job::JobStatus;
use shared::observer::{observe_var, Execution};
use shared::platform::Platform;
use shared::store::id;

const URL: &str = "https://observer.fuzz.test/";
const SECRET: &str = "fuzz-webhook-secret";

fuzz_target!(|data: &[u8]| {
    let (flags, fault, body) = match data {
        [flags, fault, body @ ..] => (*flags, *fault, body),
        _ => return,
    };
    let signed = flags & 0b1 != 0;
    let mapped = flags & 0b10 != 0;
    let method = if flags & 0b100 == 0 { "POST" } else { "GET" };

    // The parser alone: never panics; what it accepts is what the observer relies on.
    if let Ok(exec) = Execution::parse(body) {
        assert!(id::is_valid(&exec.id) && id::is_valid(&exec.function_id));
        assert!(exec.duration.is_finite() && exec.duration >= 0.0);
        assert!(exec.errors.chars().count() <= shared::job::MAX_TEXT_CHARS);
    }

    let mut headers = vec![
        ("content-type", "application/json".to_owned()),
        ("x-appwrite-trigger", "http".to_owned()),
    ];
    if signed {
        headers.push((
            "x-appwrite-webhook-signature",
            job_observer::signature::sign(URL, body, SECRET),
        ));
    }
    let fail_from = usize::from(fault & 0x3f);
    let fault = match fault >> 6 {
        0 | 3 => Fault::Unavailable,
        1 => Fault::Backend,
        _ => Fault::Conflict,
    };
    let store = Arc::new(MemStore::seeded(fail_from, fault));
    // Every function id the body may name is mapped (or none is), to a valid type.
    let mut platform = Platform::new(
        store.clone(),
        Arc::new(move |name: &str| match name {
            "JOBS_OBSERVER_URL" => Some(URL.to_owned()),
            "JOBS_OBSERVER_SECRET" => Some(SECRET.to_owned()),
            _ if mapped && name.starts_with("JOBS_OBSERVE_") => Some("SQS_POLL".to_owned()),
            _ => None,
        }),
    );
    platform.clock = Arc::new(now);
    let before = store.all();

    let response = job_observer::handle(context(method, headers, body), &platform);
    let status = response.status_code;
    let answer = check_json_answer(&response, store.failed());

    if method != "POST" {
        assert_eq!(status, 405, "{answer}");
    } else if !signed {
        assert_eq!(status, 401, "an unsigned delivery got {status}: {answer}");
    }
    if (400..500).contains(&status) {
        assert_eq!(store.writes(), 0, "a {status} wrote to the store: {answer}");
    }
    if (200..300).contains(&status) {
        let exec = Execution::parse(body).expect("an accepted body parses");
        assert!(signed && method == "POST");
        if !mapped {
            // A worker's execution never creates a job.
            assert_eq!(store.all().len(), before.len(), "{answer}");
        } else {
            assert!(observe_var(&exec.function_id).starts_with("JOBS_OBSERVE_"));
            let job_id = answer["jobId"]
                .as_str()
                .expect("a mirrored execution names its job");
            let job = store.job(job_id).expect("the mirror job exists");
            if exec.status.is_final() {
                assert!(job.status.is_final(), "{answer}");
            }
            if job.status == JobStatus::Completed {
                assert_eq!(job.progress, 100);
            }
        }
    }
    check_store(&store);
});
