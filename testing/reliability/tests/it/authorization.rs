//! The authorization matrix at the handlers: every action route × {anonymous, viewer,
//! operator, schedule trigger, event trigger} gets exactly the status of the table in
//! `docs/actions.md`, and every hook and the sweeper refuse every caller that is not a server
//! (`docs/hooks.md` § Security, `docs/retention.md`). Refusals write nothing.

use job_actions::routes::{Op, ROUTES};
use serde_json::json;
use shared::job::{JobStatus, JobType};

use crate::world::{Endpoint, Req, World, OPERATOR, VIEWER};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Anonymous,
    Viewer,
    Operator,
    /// A scheduled execution (even one carrying an operator's id).
    Schedule,
    /// An event-triggered execution (even one carrying an operator's id).
    Event,
}

const CALLERS: [Caller; 5] = [
    Caller::Anonymous,
    Caller::Viewer,
    Caller::Schedule,
    Caller::Event,
    // Last: operators change jobs, the others must find them as seeded.
    Caller::Operator,
];

/// The documented outcome of `op` for `caller`: status and error code.
fn expected(op: Op, caller: Caller) -> (u16, &'static str) {
    match caller {
        Caller::Schedule | Caller::Event => (403, "trigger_not_allowed"),
        Caller::Anonymous => (401, "unauthenticated"),
        Caller::Viewer if op.is_action() => (403, "forbidden"),
        Caller::Viewer => (200, ""),
        Caller::Operator if op == Op::Retry => (201, ""),
        Caller::Operator => (200, ""),
    }
}

fn request(caller: Caller, method: &str, path: &str, job_id: &str) -> Req {
    // The batch route acts on the ids its body names (docs/actions.md § Batch).
    let body = if path.ends_with("/batch") {
        json!({"action": "cancel", "ids": [job_id], "reason": "matrix"})
            .to_string()
            .into_bytes()
    } else if method == "POST" {
        json!({"reason": "matrix"}).to_string().into_bytes()
    } else {
        Vec::new()
    };
    let user = |u: &str| Req::user(u, method, path, body.clone());
    match caller {
        Caller::Anonymous => Req::server(method, path, body.clone()),
        Caller::Viewer => user(VIEWER),
        Caller::Operator => user(OPERATOR),
        Caller::Schedule => user(OPERATOR).header("x-appwrite-trigger", "schedule"),
        Caller::Event => user(OPERATOR).header("x-appwrite-trigger", "event"),
    }
}

#[test]
fn every_action_route_for_every_caller_gets_exactly_the_documented_status() {
    let world = World::new();
    // Each action route gets a job on which the operator's call is legal.
    let target = |op: Op| match op {
        Op::Pause | Op::Cancel | Op::Detail => JobStatus::Running,
        Op::Resume => JobStatus::Paused,
        Op::Retry => JobStatus::Failed,
        _ => JobStatus::Running,
    };
    let mut rows = Vec::new();
    for route in ROUTES {
        let reference = format!("authz-{}", route.operation_id);
        let job = world.seed(JobType::CampaignRun, target(route.op), &reference);
        rows.push((route, route.path.replace("{id}", &job.id), job.id));
    }
    let mut table = Vec::new();
    let mut failures = Vec::new();
    for caller in CALLERS {
        for (route, path, job_id) in &rows {
            let before = world.snapshot();
            let res = world.call(
                Endpoint::Actions,
                &request(caller, route.method, path, job_id),
            );
            let want = expected(route.op, caller);
            table.push(format!(
                "{caller:?} {} {} → {}",
                route.method, route.path, res.status
            ));
            if (res.status, res.code()) != want {
                failures.push(format!(
                    "{caller:?} {} {path}: expected {want:?}, got {} {}",
                    route.method, res.status, res.body
                ));
            }
            let may_write = caller == Caller::Operator && route.op.is_action();
            if !may_write && world.snapshot() != before {
                failures.push(format!("{caller:?} {} {path}: wrote", route.method));
            }
        }
    }
    // Only the operator's resume and retry re-trigger a worker: two executions.
    assert_eq!(world.upstream.executions.lock().unwrap().len(), 2);
    println!(
        "authorization matrix (actions): {} routes × {} callers = {} cells; failures: {}",
        ROUTES.len(),
        CALLERS.len(),
        table.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn hooks_and_the_sweeper_refuse_every_caller_that_is_not_a_server() {
    let world = World::new();
    let jobs: Vec<(JobType, String)> = JobType::ALL
        .iter()
        .map(|t| (*t, world.seed(*t, JobStatus::Running, "authz").id))
        .collect();
    let non_servers: Vec<(&str, Req)> = vec![
        (
            "no trigger",
            Req::server("POST", "/", Vec::new()).without("x-appwrite-trigger"),
        ),
        (
            "event trigger",
            Req::server("POST", "/", Vec::new()).header("x-appwrite-trigger", "event"),
        ),
        (
            "unknown trigger",
            Req::server("POST", "/", Vec::new()).header("x-appwrite-trigger", "cron"),
        ),
        (
            "user session",
            Req::server("POST", "/", Vec::new()).header("x-appwrite-user-id", OPERATOR),
        ),
        (
            "user session + jwt",
            Req::server("POST", "/", Vec::new())
                .header("x-appwrite-user-id", VIEWER)
                .header("x-appwrite-user-jwt", "eyJhbGciOi.user.jwt"),
        ),
        (
            "scheduled user session",
            Req::server("POST", "/", Vec::new())
                .header("x-appwrite-trigger", "schedule")
                .header("x-appwrite-user-id", OPERATOR),
        ),
    ];
    let mut cells = 0;
    let before = world.snapshot();
    for endpoint in Endpoint::HOOKS {
        let Endpoint::Hook(t) = endpoint else {
            unreachable!()
        };
        let job = &jobs.iter().find(|(k, _)| *k == t).unwrap().1;
        let body = json!({"event": "complete", "jobId": job}).to_string();
        // A scheduled hook execution is a misconfiguration: refused like the rest.
        let scheduled =
            Req::server("POST", "/", Vec::new()).header("x-appwrite-trigger", "schedule");
        for (who, req) in non_servers
            .iter()
            .chain([("schedule trigger", scheduled)].iter())
        {
            let mut req = req.clone();
            req.body = body.clone().into_bytes();
            let res = world.call(endpoint, &req);
            cells += 1;
            assert_eq!(
                (res.status, res.code()),
                (403, "forbidden"),
                "{} as {who}: {}",
                endpoint.name(),
                res.body
            );
        }
    }
    for (who, req) in &non_servers {
        let res = world.call(Endpoint::Retention, req);
        cells += 1;
        assert_eq!(
            (res.status, res.code()),
            (403, "forbidden"),
            "job-retention as {who}: {}",
            res.body
        );
    }
    assert_eq!(world.snapshot(), before, "a refused call wrote");
    // And the servers themselves are let in (the cells above are refusals, not breakage).
    let res = world.call(
        Endpoint::Hook(JobType::SqsPoll),
        &Req::server(
            "POST",
            "/",
            json!({"event": "start", "referenceId": "srv"}).to_string(),
        ),
    );
    assert_eq!(res.status, 201, "{}", res.body);
    for trigger in ["http", "schedule"] {
        let res = world.call(
            Endpoint::Retention,
            &Req::server("POST", "/", Vec::new()).header("x-appwrite-trigger", trigger),
        );
        assert_eq!(res.status, 200, "{trigger}: {}", res.body);
        cells += 1;
    }
    println!("authorization matrix (hooks + sweeper at the handler): {cells} cells");
}
