//! The cost model (`benches/day`) on a reduced day: the same drivers as `scripts/bench-cost`,
//! so the benchmark cannot rot, and ours must be below the naive integration where the design
//! says it is.

#[path = "../../benches/day/mod.rs"]
mod day;

#[test]
fn a_reduced_day_costs_less_than_the_naive_integration_and_a_campaign_about_a_hundred_executions() {
    let reduced = day::Day {
        campaigns: 2,
        emails: 2_000,
        verifications: 1,
        leads: 5_000,
        sqs_runs: 5,
        metrics_runs: 2,
        tabs: 1,
        polls_per_tab: 10,
        retention_runs: 2,
        ..day::Day::full()
    };
    let parts = day::run(reduced);
    println!("{}", day::table(&parts));
    assert_eq!(parts.len(), 6);
    for part in &parts {
        assert!(part.executions <= part.naive_executions, "{part:?}");
        assert!(part.requests <= part.naive_requests, "{part:?}");
    }
    // A campaign: start, one report per percent (20 reports of 5 %), complete.
    let campaigns = &parts[0];
    assert_eq!(campaigns.executions, 2 * (1 + 20 + 1), "{campaigns:?}");
    // Two requests per report, plus the outbox cut of the log (one per ~10 entries): each report
    // brings a new message, which joins the log in the report's own write (issue 18).
    assert!(
        campaigns.requests <= 2 * campaigns.executions + campaigns.executions / 10,
        "{campaigns:?}"
    );
    // The dashboard's summary is one request where the naive one is 24.
    let dashboard = &parts[4];
    assert!(
        dashboard.requests * 5 < dashboard.naive_requests,
        "{dashboard:?}"
    );
}
