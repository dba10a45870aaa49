//! The health rules of `assess`, at their boundaries (docs/schedules.md § Health).

use chrono::{Duration, TimeZone, Utc};

use super::*;

fn at(h: u32, m: u32, s: u32) -> Timestamp {
    Utc.with_ymd_and_hms(2026, 12, 7, h, m, s).unwrap()
}

fn function(schedule: &str) -> FunctionInfo {
    FunctionInfo {
        id: "fetch-aws-metrics".into(),
        name: "fetch-aws-metrics".into(),
        schedule: schedule.into(),
        enabled: true,
        deployment_id: "d1".into(),
        updated_at: Some(at(0, 0, 0)),
    }
}

fn run(id: &str, started: Timestamp, status: &str) -> ExecutionInfo {
    ExecutionInfo {
        id: id.into(),
        status: status.into(),
        trigger: "schedule".into(),
        started_at: started,
        duration_seconds: 1.5,
        status_code: if status == "failed" { 500 } else { 200 },
    }
}

fn health(f: &FunctionInfo, runs: &[ExecutionInfo], now: Timestamp) -> Health {
    assess(f, runs, Totals::default(), &Rules::default(), now).health
}

#[test]
fn grace_is_a_minute_or_a_tenth_of_the_interval_whichever_is_longer() {
    assert_eq!(grace(Duration::minutes(1)), Duration::seconds(60));
    assert_eq!(grace(Duration::minutes(5)), Duration::seconds(60));
    assert_eq!(grace(Duration::minutes(15)), Duration::seconds(90));
    assert_eq!(grace(Duration::hours(24)), Duration::minutes(144));
}

#[test]
fn a_schedule_is_late_exactly_when_the_grace_after_a_missed_run_is_over() {
    // Every 15 minutes: grace 90 s. The 10:15 run never started; the 10:00 one did.
    let f = function("*/15 * * * *");
    let runs = [run("e1", at(10, 0, 1), "completed")];
    assert_eq!(health(&f, &runs, at(10, 16, 29)), Health::Ok);
    assert_eq!(health(&f, &runs, at(10, 16, 30)), Health::Late);
    let s = assess(
        &f,
        &runs,
        Totals::default(),
        &Rules::default(),
        at(10, 16, 30),
    );
    assert!(
        s.health_reason.contains("2026-12-07T10:15:00.000Z"),
        "{}",
        s.health_reason
    );
    // A run that started at the expected minute is on time.
    let on_time = [run("e2", at(10, 15, 0), "completed")];
    assert_eq!(health(&f, &on_time, at(10, 29, 0)), Health::Ok);
}

#[test]
fn a_run_started_before_the_expected_time_does_not_count_for_it() {
    let f = function("0 3 * * *");
    let runs = [run("e1", at(2, 59, 59), "completed")];
    // Daily: grace 144 min after 03:00.
    assert_eq!(health(&f, &runs, at(5, 23, 59)), Health::Ok);
    assert_eq!(health(&f, &runs, at(5, 24, 0)), Health::Late);
}

#[test]
fn any_trigger_counts_as_a_run_for_lateness() {
    let f = function("*/5 * * * *");
    let mut manual = run("e1", at(10, 5, 30), "completed");
    manual.trigger = "http".into();
    assert_eq!(health(&f, &[manual], at(10, 6, 30)), Health::Ok);
}

#[test]
fn expected_runs_before_the_last_update_of_the_function_do_not_make_it_late() {
    let mut f = function("*/5 * * * *");
    f.updated_at = Some(at(10, 3, 0));
    // The 10:00 run was expected before the update; the 10:05 one is not due until 10:06.
    assert_eq!(health(&f, &[], at(10, 5, 59)), Health::Ok);
    assert_eq!(health(&f, &[], at(10, 6, 0)), Health::Late);
}

#[test]
fn a_late_schedule_without_a_deployment_says_why() {
    let mut f = function("* * * * *");
    f.deployment_id.clear();
    let s = assess(&f, &[], Totals::default(), &Rules::default(), at(10, 0, 0));
    assert_eq!(s.health, Health::Late);
    assert!(s.health_reason.contains("no active deployment"));
}

#[test]
fn the_last_n_finished_runs_all_failed_makes_a_schedule_failing() {
    let f = function("* * * * *");
    let now = at(10, 3, 10);
    let failed = |id, m| run(id, at(10, m, 0), "failed");
    let three = [failed("e3", 3), failed("e2", 2), failed("e1", 1)];
    assert_eq!(health(&f, &three, now), Health::Failing);
    // Only two of the last three failed.
    let mixed = [
        failed("e3", 3),
        failed("e2", 2),
        run("e1", at(10, 1, 0), "completed"),
    ];
    assert_eq!(health(&f, &mixed, now), Health::Ok);
    // Runs still in progress are not judged yet.
    let pending = [
        run("e4", at(10, 3, 5), "processing"),
        failed("e3", 3),
        failed("e2", 2),
        failed("e1", 1),
    ];
    assert_eq!(health(&f, &pending, now), Health::Failing);
    // Fewer finished runs than N: not failing.
    assert_eq!(health(&f, &three[..2], now), Health::Ok);
    let one = Rules { failing_runs: 1 };
    assert_eq!(
        assess(&f, &three[..1], Totals::default(), &one, now).health,
        Health::Failing
    );
}

#[test]
fn half_of_the_last_ten_runs_failed_makes_a_schedule_failing_even_when_alternating() {
    let f = function("* * * * *");
    let now = at(10, 10, 10);
    let alternating = |fails_on: u32| -> Vec<ExecutionInfo> {
        (1..=10)
            .rev()
            .map(|m| {
                let status = if m % 2 == fails_on {
                    "failed"
                } else {
                    "completed"
                };
                run(&format!("e{m}"), at(10, m, 0), status)
            })
            .collect()
    };
    // Five of ten failed, never two in a row.
    assert_eq!(health(&f, &alternating(0), now), Health::Failing);
    assert_eq!(health(&f, &alternating(1), now), Health::Failing);
    // Four of ten: ok.
    let mut four = alternating(0);
    four[0] = run("e10", at(10, 10, 0), "completed");
    assert_eq!(health(&f, &four, now), Health::Ok);
    // Five of nine finished runs: not judged by the ratio yet.
    assert_eq!(health(&f, &alternating(0)[1..], now), Health::Ok);
}

#[test]
fn failing_wins_over_late_and_disabled_wins_over_everything() {
    let mut f = function("* * * * *");
    let old = [
        run("e3", at(9, 3, 0), "failed"),
        run("e2", at(9, 2, 0), "failed"),
        run("e1", at(9, 1, 0), "failed"),
    ];
    assert_eq!(health(&f, &old, at(10, 0, 0)), Health::Failing);
    f.enabled = false;
    assert_eq!(health(&f, &old, at(10, 0, 0)), Health::Disabled);
    assert_eq!(health(&f, &[], at(10, 0, 0)), Health::Disabled);
}

#[test]
fn the_assessment_carries_next_run_words_and_the_newest_runs_first() {
    let f = function("*/5 * * * *");
    let runs = [
        run("old", at(10, 0, 0), "completed"),
        run("new", at(10, 5, 0), "failed"),
    ];
    let totals = Totals {
        runs_24h: 288,
        failures_24h: 3,
    };
    let s = assess(&f, &runs, totals, &Rules::default(), at(10, 7, 0));
    assert_eq!(s.schedule_text, "every 5 minutes");
    assert_eq!(s.next_run_at, Some(at(10, 10, 0)));
    assert_eq!(s.last_run().unwrap().id, "new");
    let view = s.view(&[]);
    assert_eq!(view["health"], "ok");
    assert_eq!(view["lastRun"]["executionId"], "new");
    assert_eq!(view["lastRun"]["statusCode"], 500);
    assert_eq!(view["lastRun"]["consoleUrl"], serde_json::Value::Null);
    assert_eq!(view["runs24h"], 288);
    assert_eq!(view["nextRunAt"], "2026-12-07T10:10:00.000Z");
}

#[test]
fn the_failing_threshold_is_read_from_its_variable_within_bounds() {
    assert_eq!(Rules::from_lookup(|_| None).unwrap().failing_runs, 3);
    let five = Rules::from_lookup(|k| (k == FAILING_RUNS_VAR).then(|| "5".to_owned()));
    assert_eq!(five.unwrap().failing_runs, 5);
    assert!(Rules::from_lookup(|_| Some("0".into())).is_err());
    assert!(Rules::from_lookup(|_| Some("11".into())).is_err());
}
