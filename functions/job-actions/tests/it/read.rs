//! The read routes: list (filters, pages, delta), summary, export and detail.

use serde_json::{json, Value};
use shared::job::{JobStatus, JobType};
use shared::store::JobStore;

use crate::support::{spawn_app, TestApp, OPERATOR, VIEWER};

/// Six jobs, one per status, alternating types; returned newest first.
fn seeded() -> (TestApp, Vec<String>) {
    let app = spawn_app(&[]);
    let mut ids = Vec::new();
    for (i, status) in JobStatus::ALL.iter().enumerate() {
        let job_type = if i % 2 == 0 {
            JobType::CampaignRun
        } else {
            JobType::BulkVerify
        };
        ids.push(app.seed(job_type, *status, &format!("ref-{i}")).id);
    }
    ids.reverse();
    (app, ids)
}

#[test]
fn list_returns_every_job_newest_first_with_derived_fields() {
    let (app, ids) = seeded();
    app.advance(10);
    let res = app.get("/v1/jobs").user(OPERATOR).send();
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.job_ids(), ids);
    assert_eq!(res.json["nextCursor"], Value::Null);
    assert_eq!(res.json["serverTime"], "2026-11-29T10:00:22.000Z");
    let running = res.json["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["status"] == "RUNNING")
        .unwrap();
    for field in [
        "$id",
        "type",
        "status",
        "referenceId",
        "progress",
        "progressMessage",
        "startedAt",
        "updatedAt",
        "completedAt",
        "errorMessage",
        "metadata",
        "createdAt",
        "heartbeatAt",
        "done",
        "total",
        "checkpoint",
        "result",
        "idempotencyKey",
        "lastActor",
        "lastReason",
        "retryOf",
        "rev",
        "run",
        "executionId",
        "durationMs",
        "etaMs",
        "control",
        "actions",
    ] {
        assert!(running.get(field).is_some(), "JobView lacks {field}");
    }
    assert_eq!(running["progress"], 25);
    assert_eq!(running["control"], "continue");
    assert_eq!(running["actions"], json!(["pause", "cancel"]));
    // Started at 10:00:03, 19 s before serverTime, and 25 % done: 57 s to go at that pace.
    assert_eq!(running["durationMs"], 19_000);
    assert_eq!(running["etaMs"], 57_000);
    assert!(running["startedAt"].as_str().unwrap().ends_with(".000Z"));
}

#[test]
fn actions_offered_follow_the_state_machine_and_viewers_get_none() {
    let (app, _) = seeded();
    let by_status = |user: &str| -> Vec<(String, Value)> {
        let res = app.get("/v1/jobs").user(user).send();
        res.json["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|j| {
                (
                    j["status"].as_str().unwrap().to_owned(),
                    j["actions"].clone(),
                )
            })
            .collect()
    };
    let mut operator = by_status(OPERATOR);
    operator.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        operator,
        vec![
            ("CANCELLED".into(), json!(["retry"])),
            ("COMPLETED".into(), json!([])),
            ("FAILED".into(), json!(["retry"])),
            ("PAUSED".into(), json!(["resume", "cancel"])),
            ("QUEUED".into(), json!(["pause", "cancel"])),
            ("RUNNING".into(), json!(["pause", "cancel"])),
        ]
    );
    assert!(by_status(VIEWER).iter().all(|(_, a)| a == &json!([])));
}

#[test]
fn list_filters_by_type_status_scope_search_and_dates() {
    let (app, ids) = seeded();
    let statuses = |path: &str| -> Vec<String> {
        let res = app.get(path).user(VIEWER).send();
        assert_eq!(res.status, 200, "{path}: {}", res.body);
        let mut s: Vec<String> = res.json["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|j| j["status"].as_str().unwrap().to_owned())
            .collect();
        s.sort();
        s
    };
    assert_eq!(
        statuses("/v1/jobs?type=BULK_VERIFY"),
        ["CANCELLED", "COMPLETED", "RUNNING"]
    );
    assert_eq!(
        statuses("/v1/jobs?status=FAILED,PAUSED&type=CAMPAIGN_RUN&type=BULK_VERIFY"),
        ["FAILED", "PAUSED"]
    );
    assert_eq!(
        statuses("/v1/jobs?scope=active"),
        ["PAUSED", "QUEUED", "RUNNING"]
    );
    assert_eq!(
        statuses("/v1/jobs?scope=finished&order=completed"),
        ["CANCELLED", "COMPLETED", "FAILED"]
    );
    assert_eq!(statuses("/v1/jobs?q=ref-3"), ["COMPLETED"]);
    // `q` finds a reference containing it, whatever the case, or a job by its whole id.
    assert_eq!(statuses("/v1/jobs?q=EF-3"), ["COMPLETED"]);
    assert_eq!(statuses("/v1/jobs?q=ref-").len(), 6);
    assert_eq!(statuses(&format!("/v1/jobs?q={}", ids[5])), ["QUEUED"]);
    assert_eq!(statuses("/v1/jobs?q=nope"), Vec::<String>::new());
    // Jobs were seeded 2 s apart from 10:00:01; the 4th, 5th and 6th completed after 10:00:07.
    assert_eq!(
        statuses(
            "/v1/jobs?dateField=completedAt&from=2026-11-29T10:00:07Z&to=2026-11-29T11:00:00Z"
        ),
        ["CANCELLED", "COMPLETED", "FAILED"]
    );
}

#[test]
fn pages_follow_the_cursor_without_gaps_or_repeats() {
    let (app, ids) = seeded();
    let mut seen = Vec::new();
    let mut path = "/v1/jobs?limit=4".to_owned();
    loop {
        let res = app.get(&path).user(VIEWER).send();
        assert_eq!(res.status, 200, "{}", res.body);
        seen.extend(res.job_ids());
        match res.json["nextCursor"].as_str() {
            Some(cursor) => path = format!("/v1/jobs?limit=4&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, ids);
}

#[test]
fn updated_since_returns_only_jobs_changed_at_or_after_it() {
    let (app, ids) = seeded();
    app.advance(60);
    let since = "2026-11-29T10:01:00Z";
    let res = app
        .get(&format!("/v1/jobs?updatedSince={since}"))
        .user(OPERATOR)
        .send();
    assert!(res.job_ids().is_empty());
    let paused = &ids[ids.len() - 3];
    let res = app
        .post(&format!("/v1/jobs/{paused}/resume"))
        .user(OPERATOR)
        .send();
    assert_eq!(res.status, 200, "{}", res.body);
    let res = app
        .get(&format!("/v1/jobs?updatedSince={since}"))
        .user(OPERATOR)
        .send();
    assert_eq!(res.job_ids(), std::slice::from_ref(paused));
}

#[test]
fn a_list_costs_one_store_call_and_a_next_page_two() {
    let (app, _) = seeded();
    let before = app.store_calls();
    let res = app
        .get("/v1/jobs?type=CAMPAIGN_RUN&scope=all&limit=2")
        .user(OPERATOR)
        .send();
    assert_eq!(app.store_calls() - before, 1);
    let cursor = res.json["nextCursor"].as_str().unwrap().to_owned();
    let before = app.store_calls();
    app.get(&format!(
        "/v1/jobs?type=CAMPAIGN_RUN&limit=2&cursor={cursor}"
    ))
    .user(OPERATOR)
    .send();
    assert_eq!(app.store_calls() - before, 2, "cursor check plus the page");
}

#[test]
fn summary_counts_jobs_per_type_and_status() {
    let (app, _) = seeded();
    let res = app.get("/v1/jobs/summary").user(VIEWER).send();
    assert_eq!(res.status, 200);
    let mut counts: Vec<(String, String, u64)> = res.json["counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["type"].as_str().unwrap().into(),
                c["status"].as_str().unwrap().into(),
                c["count"].as_u64().unwrap(),
            )
        })
        .collect();
    counts.sort();
    assert_eq!(counts.len(), 6);
    assert!(counts.contains(&("BULK_VERIFY".into(), "RUNNING".into(), 1)));
    assert!(res.json["serverTime"].is_string());
}

#[test]
fn export_as_csv_has_a_header_and_one_row_per_matching_job() {
    let (app, _) = seeded();
    let res = app
        .get("/v1/jobs/export?format=csv&scope=finished")
        .user(VIEWER)
        .send();
    assert_eq!(res.status, 200);
    assert_eq!(res.headers["content-type"], "text/csv; charset=utf-8");
    assert!(res.headers["content-disposition"].starts_with("attachment; filename=\"jobs-"));
    assert_eq!(res.headers["x-jobs-truncated"], "false");
    let lines: Vec<&str> = res.body.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 4, "{}", res.body);
    assert!(lines[0].starts_with("$id,type,status,referenceId,progress"));
    assert!(lines.iter().any(|l| l.contains("SES throttled")));
    assert!(
        lines.iter().any(|l| l.contains(r#""{""sent"":200}""#)),
        "{}",
        res.body
    );
}

#[test]
fn export_as_json_is_an_array_of_job_views_capped_by_limit() {
    let (app, ids) = seeded();
    let res = app.get("/v1/jobs/export?limit=4").user(VIEWER).send();
    assert_eq!(res.status, 200);
    assert_eq!(res.headers["content-type"], "application/json");
    assert_eq!(res.headers["x-jobs-truncated"], "true");
    let rows = res.json.as_array().unwrap();
    let got: Vec<&str> = rows.iter().map(|r| r["$id"].as_str().unwrap()).collect();
    assert_eq!(got, ids[..4].iter().map(String::as_str).collect::<Vec<_>>());
    assert!(rows[0].get("durationMs").is_some());
}

#[test]
fn export_pages_through_the_store_up_to_the_configured_cap() {
    let app = spawn_app(&[("JOBS_EXPORT_MAX_ROWS", "700")]);
    let jobs: Vec<shared::job::Job> = {
        let template = app.seed(JobType::SqsPoll, JobStatus::Completed, "poll");
        (0..750)
            .map(|i| {
                let mut j = template.clone();
                j.id = format!("bulk{i:04}");
                j.created_at = template.created_at + chrono::Duration::milliseconds(i);
                j
            })
            .collect()
    };
    app.store
        .inner
        .bulk_load(jobs.into_iter().map(|j| (j, Vec::new())))
        .unwrap();
    let res = app.get("/v1/jobs/export?limit=100000").user(VIEWER).send();
    assert_eq!(res.status, 200);
    assert_eq!(res.json.as_array().unwrap().len(), 700);
    assert_eq!(res.headers["x-jobs-truncated"], "true");
}

#[test]
fn detail_has_the_job_its_full_log_and_the_audit_link() {
    let app = spawn_app(&[(
        "JOBS_AUDIT_LOG_URL",
        "https://mailer.example/audit?job={jobId}&ref={referenceId}",
    )]);
    let job = app.seed(JobType::CampaignRun, JobStatus::Paused, "camp 7");
    let res = app.get(&format!("/v1/jobs/{}", job.id)).user(VIEWER).send();
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.json["job"]["$id"], job.id.as_str());
    assert_eq!(res.json["job"]["control"], "pause");
    let kinds: Vec<&str> = res.json["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["created", "pauseRequested"]);
    let event = &res.json["events"][1];
    for field in [
        "$id",
        "jobId",
        "at",
        "kind",
        "actor",
        "message",
        "fromStatus",
        "toStatus",
        "details",
    ] {
        assert!(event.get(field).is_some(), "JobEvent lacks {field}");
    }
    assert_eq!(res.json["eventsTruncated"], false);
    assert_eq!(
        res.json["auditLogUrl"],
        format!("https://mailer.example/audit?job={}&ref=camp%207", job.id)
    );
    let app = spawn_app(&[]);
    let job = app.seed(JobType::CampaignRun, JobStatus::Paused, "c");
    let res = app.get(&format!("/v1/jobs/{}", job.id)).user(VIEWER).send();
    assert_eq!(res.json["auditLogUrl"], Value::Null);
}

#[test]
fn a_write_stamped_before_a_list_but_committed_after_it_reaches_the_next_delta() {
    let (app, ids) = seeded();
    let running = ids
        .iter()
        .find(|id| app.store.inner.get(id).unwrap().status == JobStatus::Running)
        .unwrap()
        .clone();
    app.advance(60);
    // A hook stamps its write now…
    let stamped = app.now();
    app.advance(2);
    // …a dashboard list starts after the stamp, while the write is still in flight…
    let page = app.get("/v1/jobs").user(VIEWER).send();
    assert_eq!(page.status, 200, "{}", page.body);
    // …and the write commits after the list read it.
    let act = shared::usecase::Act::new(app.store.as_ref(), "function:orchestrator", stamped);
    shared::usecase::complete(&act, &running, serde_json::Map::new(), None, None).unwrap();
    app.advance(5);
    // Following the answer as documented picks the completion up.
    let since = page.json["updatedSince"].as_str().unwrap();
    let delta = app
        .get(&format!(
            "/v1/jobs?updatedSince={}",
            since.replace('+', "%2B")
        ))
        .user(VIEWER)
        .send();
    assert_eq!(delta.status, 200, "{}", delta.body);
    let job = delta.json["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["$id"] == running.as_str())
        .unwrap_or_else(|| panic!("{running} missing from the delta: {}", delta.body));
    assert_eq!(job["status"], "COMPLETED");
}
