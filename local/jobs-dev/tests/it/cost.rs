//! The cost model (`benches/day`) on a reduced day: the same drivers as `scripts/bench-cost`, so
//! the benchmark cannot rot; the levers must make the day cheaper than both the deployed day
//! and the fair baseline; and the model must exercise every function `appwrite.json` deploys
//! and price every setting docs/adopting.md recommends.

#[path = "../../benches/day/mod.rs"]
mod day;

use std::sync::OnceLock;

use day::ledger::{self, Scenario};
use day::{Cost, Window};

fn reduced() -> day::Day {
    day::Day {
        campaigns: 2,
        emails: 2_000,
        // A whole verification: 0.2 % a report, so coalescing has reports to skip.
        verifications: 1,
        pauses: 1,
        retries: 1,
        sqs_runs: 5,
        metrics_runs: 2,
        tabs: 1,
        tab_hours: 1,
        schedules_minutes: 2,
        day_minutes: 30,
        ..day::Day::full()
    }
}

/// One measured reduced day for every test of this file.
fn measured() -> &'static day::Measured {
    static MEASURED: OnceLock<day::Measured> = OnceLock::new();
    MEASURED.get_or_init(|| day::measure(reduced(), &[1_000]))
}

fn repo_file(path: &str) -> String {
    let full = format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

#[test]
fn every_lever_makes_the_day_cheaper_than_as_deployed_and_than_the_fair_baseline() {
    let m = measured();
    println!("{}", ledger::day_table(m));
    println!("{}", ledger::lever_table(m));
    println!("{}", ledger::growth_table(m));
    let deployed = ledger::day_total(m, &Scenario::deployed());
    let levers = ledger::day_total(m, &Scenario::levers());
    let baseline = ledger::day_total(m, &Scenario::baseline());
    assert!(
        levers.executions < deployed.executions,
        "{levers:?} {deployed:?}"
    );
    assert!(
        levers.executions < baseline.executions,
        "{levers:?} {baseline:?}"
    );
    assert!(
        levers.requests < baseline.requests,
        "{levers:?} {baseline:?}"
    );
}

#[test]
fn a_campaign_is_a_start_a_claim_per_percent_and_a_complete() {
    // 2,000 emails in 1 % batches of 20; the paused campaign's extra calls are priced apart.
    assert_eq!(measured().campaigns.executions, 2 * (1 + 100 + 1));
}

#[test]
fn the_interval_window_sends_fewer_checkpoints_and_redoes_at_most_an_interval_of_work() {
    let m = measured();
    let of = |window| {
        m.verifications
            .iter()
            .find(|(w, _, _)| *w == window)
            .map(|(_, c, r)| (*c, *r))
            .expect("measured")
    };
    let (one, _) = of(Window::OneSecond);
    let (interval, _) = of(Window::Interval);
    let (every, _) = of(Window::EveryReport);
    let redone = ledger::redone(m)
        .into_iter()
        .find(|(w, _)| *w == Window::Interval)
        .map(|(_, leads)| leads)
        .expect("measured");
    assert!(interval.executions < one.executions, "{interval:?} {one:?}");
    assert!(one.executions <= every.executions, "{one:?} {every:?}");
    // 100 leads a second, a 2 s interval: at most two reports' worth verified again.
    assert!(redone <= 200, "{redone} leads redone");
}

#[test]
fn the_lean_observer_gets_one_delivery_per_execution_of_the_two_workers() {
    let m = measured();
    let parts = ledger::price(m, &Scenario::levers(), ledger::Variation::of(&reduced()));
    let observer = parts
        .iter()
        .find(|p| p.name == "execution observer")
        .expect("observer part");
    let workers = m
        .executions
        .iter()
        .filter(|e| matches!(e.function, "orchestrator" | "bulk-verify-leads"))
        .count() as u64;
    assert_eq!(observer.cost.executions, workers);
    let none = parts
        .iter()
        .find(|p| p.name == "SQS poller")
        .map(|p| p.cost)
        .expect("poller part");
    assert_eq!(none, Cost::default());
}

#[test]
fn every_function_appwrite_json_deploys_is_exercised_by_the_model() {
    let config: serde_json::Value = serde_json::from_str(&repo_file("appwrite.json")).unwrap();
    let functions: Vec<String> = config["functions"]
        .as_array()
        .expect("functions")
        .iter()
        .map(|f| f["$id"].as_str().expect("$id").to_owned())
        .collect();
    assert!(!functions.is_empty());
    let exercised = &measured().exercised;
    let missing: Vec<_> = functions
        .iter()
        .filter(|f| !exercised.contains(*f))
        .collect();
    assert!(
        missing.is_empty(),
        "appwrite.json functions the cost model (benches/day) does not exercise: {missing:?}"
    );
}

/// The first cells of docs/adopting.md § Recommended settings' table, unquoted.
fn recommended_settings() -> Vec<String> {
    let doc = repo_file("docs/adopting.md");
    let section = doc
        .split("\n## ")
        .find(|s| s.starts_with("Recommended settings"))
        .expect("docs/adopting.md has a `## Recommended settings` section");
    section
        .lines()
        .filter(|l| l.starts_with('|') && !l.starts_with("|---"))
        .skip(1)
        .map(|l| {
            l.split('|')
                .nth(1)
                .unwrap_or("")
                .trim()
                .trim_matches('`')
                .to_owned()
        })
        .collect()
}

#[test]
fn every_setting_docs_adopting_md_recommends_is_priced_by_the_model_and_no_other() {
    let recommended = recommended_settings();
    assert!(!recommended.is_empty());
    let priced: Vec<&str> = ledger::SETTINGS.iter().map(|(s, _)| *s).collect();
    let unpriced: Vec<_> = recommended
        .iter()
        .filter(|s| !priced.contains(&s.as_str()))
        .collect();
    assert!(
        unpriced.is_empty(),
        "recommended in docs/adopting.md but not priced by benches/day/ledger.rs SETTINGS: {unpriced:?}"
    );
    let stale: Vec<_> = priced
        .iter()
        .filter(|s| !recommended.iter().any(|r| r == *s))
        .collect();
    assert!(
        stale.is_empty(),
        "priced but no longer recommended: {stale:?}"
    );
}
