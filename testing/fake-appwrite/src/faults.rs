//! Fault injection: faults armed on a route for a number of requests, a seeded schedule that
//! fails every n-th request, and what each fault answers before the request is applied. Faults
//! are counted in requests, never in time, so a test's verdict does not depend on its speed.

use std::time::Duration;

use chrono::Utc;

use crate::wire::Answer;
use crate::State;

/// A fault to inject into the next matching requests.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// `429 general_rate_limit_exceeded` with `X-RateLimit-*` headers, reset `reset_in` s ahead
    /// (appwrite-notes: Rate limits).
    RateLimited { reset_in: u64 },
    /// A 5xx with Appwrite's `general_server_error` body, nothing applied.
    ServerError(u16),
    /// Answers normally after the delay (for client timeouts).
    Slow(Duration),
    /// Closes the connection without answering; nothing applied.
    Drop,
    /// Applies the request, then closes the connection without answering: the client cannot
    /// know whether its write happened.
    DropAfterApply,
    /// `200` with a body that is not JSON; nothing applied.
    InvalidJson,
}

/// A fault armed for the next `left` requests on `route`.
pub(crate) struct Armed {
    route: String,
    fault: Fault,
    left: usize,
}

/// Every `every`-th request fails with one of `kinds`.
pub(crate) struct Schedule {
    every: u64,
    kinds: Vec<Fault>,
    seen: u64,
    rng: fastrand::Rng,
    injected: u64,
}

/// The fault for this request, if any: the schedule's first, then the first fault armed on
/// `label` or on every route.
pub(crate) fn take(state: &mut State, label: &str) -> Option<Fault> {
    if let Some(s) = state.schedule.as_mut() {
        s.seen += 1;
        if s.seen % s.every == 0 {
            s.injected += 1;
            return Some(s.kinds[s.rng.usize(..s.kinds.len())].clone());
        }
    }
    let armed = state
        .faults
        .iter_mut()
        .find(|a| a.left > 0 && (a.route == "*" || a.route == label))?;
    armed.left -= 1;
    let fault = armed.fault.clone();
    state.faults.retain(|a| a.left > 0);
    Some(fault)
}

/// What a fault does before the request is applied.
pub(crate) enum Before {
    /// Go on with the request.
    Proceed,
    /// Answer this instead, applying nothing.
    Answer(Answer),
    /// Close the connection without answering.
    Hangup,
}

/// What `fault` does before the request is applied (a delay is the server's to wait).
pub(crate) fn before(fault: Option<&Fault>) -> Before {
    match fault {
        Some(Fault::Drop) => Before::Hangup,
        Some(Fault::RateLimited { reset_in }) => {
            let reset = Utc::now().timestamp() as u64 + reset_in;
            let mut a = Answer::error(
                429,
                "general_rate_limit_exceeded",
                "Rate limit for the current endpoint has been exceeded. Please try again after some time.",
            );
            a.headers = vec![
                ("X-RateLimit-Limit", "60".into()),
                ("X-RateLimit-Remaining", "0".into()),
                ("X-RateLimit-Reset", reset.to_string()),
            ];
            Before::Answer(a)
        }
        Some(Fault::ServerError(status)) => Before::Answer(Answer::error(
            *status,
            "general_server_error",
            "Server Error",
        )),
        Some(Fault::InvalidJson) => Before::Answer(Answer {
            status: 200,
            body: b"{\"rows\": [".to_vec(),
            headers: Vec::new(),
        }),
        _ => Before::Proceed,
    }
}

impl crate::FakeAppwrite {
    /// Makes the next `times` requests on `route` (a label as in [`requests`](Self::requests),
    /// or `*` for any) fail with `fault`.
    pub fn inject(&self, route: &str, fault: Fault, times: usize) {
        self.shared.lock().faults.push(Armed {
            route: route.into(),
            fault,
            left: times,
        });
    }

    /// Fails every `every`-th request (any route) from now on with one of `kinds`, picked by a
    /// generator seeded with `seed`. The schedule counts requests, never time, so a test sees
    /// the same share of faults however fast or loaded the machine is.
    pub fn schedule_faults(&self, every: u64, kinds: Vec<Fault>, seed: u64) {
        assert!(
            every > 0 && !kinds.is_empty(),
            "a fault schedule needs a period and kinds"
        );
        self.shared.lock().schedule = Some(Schedule {
            every,
            kinds,
            seen: 0,
            rng: fastrand::Rng::with_seed(seed),
            injected: 0,
        });
    }

    /// Faults the schedule has injected so far.
    pub fn scheduled_faults(&self) -> u64 {
        self.shared
            .lock()
            .schedule
            .as_ref()
            .map_or(0, |s| s.injected)
    }

    /// Clears armed faults and the schedule.
    pub fn clear_faults(&self) {
        let mut state = self.shared.lock();
        state.faults.clear();
        state.schedule = None;
    }
}
