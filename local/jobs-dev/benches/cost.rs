//! The cost model of a day at Pivotr Mailer for BENCHMARKS.md: the full day (`day::Day::full`)
//! through `jobs-dev` on the fake Appwrite, executions and Appwrite requests per part, ours
//! next to the naive integration's. `docs/cost.md` explains it.
//! Run: `scripts/bench-cost` (`cargo bench -p jobs-dev --bench cost`).

mod day;

fn main() {
    let started = std::time::Instant::now();
    let day = day::Day::full();
    let parts = day::run(day);
    println!("## A day at Pivotr Mailer: executions and Appwrite requests");
    println!();
    println!(
        "Command: `scripts/bench-cost` (`cargo bench -p jobs-dev --bench cost`). The whole day, \
         not extrapolated: every execution is sent through `jobs-dev`'s executions endpoint to \
         the deployed handlers, each on a new Appwrite store over the fake Appwrite, whose \
         counters count every request; the clock is simulated. Naive: a hook call and a store \
         write per item (its per-call price measured in the same run), the dashboard's summary \
         as one counted list per (type, status). How the model is built: `docs/cost.md`. \
         Run time {:.0} s.",
        started.elapsed().as_secs_f64()
    );
    println!();
    print!("{}", day::table(&parts));
}
