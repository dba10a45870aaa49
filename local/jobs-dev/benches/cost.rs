//! The cost model of a day at Pivotr Mailer for BENCHMARKS.md: the day as the docs deploy Job
//! Manager, the levers that make it cheaper, the fair baseline and how it all grows, from one
//! run of `day::measure` (`jobs-dev` on the fake Appwrite). `docs/cost.md` explains it.
//! Run: `scripts/bench-cost` (`cargo bench -p jobs-dev --bench cost`).

mod day;

use day::ledger;

fn main() {
    let started = std::time::Instant::now();
    let full = day::Day::full();
    let measured = day::measure(full, &[1_000, 100_000]);
    println!("## A day at Pivotr Mailer: executions and Appwrite requests");
    println!();
    println!(
        "Command: `scripts/bench-cost` (`cargo bench -p jobs-dev --bench cost`); the model and \
         every rule it counts by: `docs/cost.md`. Driven through `jobs-dev`'s executions \
         endpoint to the deployed handlers, each execution on a new Appwrite store over the fake \
         Appwrite, whose counters count every request; the clock is simulated. Campaigns, \
         verifications, poller and metrics runs, pauses, the retry, observer deliveries and \
         retention sweeps are driven one by one for the whole day; one tab is driven for its \
         {} hours and multiplied by the tabs; the Schedules view, alerts, role lookups and \
         re-trigger calls that `jobs-dev` cannot make are counted by the rules in \
         `docs/cost.md`. Run time {:.0} s.",
        full.tab_hours,
        started.elapsed().as_secs_f64()
    );
    println!();
    print!("{}", ledger::day_table(&measured));
    println!();
    let settings: Vec<String> = ledger::SETTINGS
        .iter()
        .map(|(setting, part)| format!("`{setting}` ({part})"))
        .collect();
    println!(
        "Settings docs/adopting.md recommends, and the rows that price them: {}.",
        settings.join(", ")
    );
    println!();
    println!("### The levers");
    println!();
    print!("{}", ledger::lever_table(&measured));
    println!();
    let redone: Vec<String> = ledger::redone(&measured)
        .into_iter()
        .map(|(window, leads)| {
            let name = match window {
                day::Window::OneSecond => "1 s window",
                day::Window::Interval => "the interval (2 s)",
                day::Window::EveryReport => "every report (baseline)",
            };
            format!("{name}: {leads}")
        })
        .collect();
    println!(
        "Leads verified again by the retry of the verification that died (100 leads a report, a \
         report a second), by checkpoint window: {}.",
        redone.join(", ")
    );
    println!();
    println!("### Growth");
    println!();
    println!(
        "One change at a time from the day. Each campaign size is one campaign driven in the \
         same run, times the campaigns; tabs are the driven tab times the tabs."
    );
    println!();
    print!("{}", ledger::growth_table(&measured));
}
