//! `scripts/bench-protocol-model`: the protocol model at larger bounds than `scripts/test`
//! affords (release build), printed as the "Exactly once: the protocol model" section of
//! BENCHMARKS.md. Counts, not timings, are the result; the time is for planning only.

use std::time::Instant;

use protocol_model::{explore, simulate, Bounds};

fn main() {
    let walks_per_shape: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2_000);
    println!("## Exactly once: the protocol model");
    println!();
    println!("`scripts/bench-protocol-model` (`cargo bench -p protocol-model --bench model -- {walks_per_shape}`): the real hook handler driven by the model of docs/hooks.md § Exactly once, in release mode. Every row ended with no violation (the command fails otherwise).");
    println!();
    println!("| exhaustive search | states | steps | end states (completed / cancelled / left paused) | time |");
    println!("|---|---:|---:|---|---:|");
    let shapes = [
        (
            "4 emails, batches of 2, 2 pauses, 2 resumes, 1 network fault",
            b(4, 2, 2, 2, 0, 1, 1),
        ),
        (
            "4 emails, batches of 2, 2 pauses, 2 resumes, 1 cancel, 2 network faults",
            b(4, 2, 2, 2, 1, 2, 1),
        ),
        (
            "3 emails, batches of 1, 1 pause, 1 resume, 1 cancel, 1 fault, trigger delivered twice",
            b(3, 1, 1, 1, 1, 1, 2),
        ),
        (
            "6 emails, batches of 2, 3 pauses, 3 resumes, 1 network fault",
            b(6, 2, 3, 3, 0, 1, 1),
        ),
    ];
    for (name, bounds) in shapes {
        let started = Instant::now();
        let c = explore(bounds).unwrap_or_else(|v| panic!("{name}: {v}"));
        println!(
            "| {name} | {} | {} | {} ({} / {} / {}) | {:.1} s |",
            c.states,
            c.steps,
            c.ends,
            c.completed,
            c.cancelled,
            c.paused,
            started.elapsed().as_secs_f64()
        );
    }
    println!();
    println!("| seeded random walks | campaigns | steps | pauses | resumes | network faults | completed | time |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let walks = [
        ("1,000 emails, batches of 10, ≤ 10 pauses / resumes, ≤ 8 faults, seed 7", b(1_000, 10, 10, 10, 0, 8, 1), 7),
        ("40 emails, batches of 3, ≤ 8 pauses / resumes, 1 cancel, ≤ 6 faults, 2 triggers, seed 11", b(40, 3, 8, 8, 1, 6, 2), 11),
    ];
    for (name, bounds, seed) in walks {
        let started = Instant::now();
        let w = simulate(bounds, seed, walks_per_shape).unwrap_or_else(|v| panic!("{name}: {v}"));
        println!(
            "| {name} | {} | {} | {} | {} | {} | {} | {:.1} s |",
            w.campaigns,
            w.steps,
            w.pauses,
            w.resumes,
            w.faults,
            w.completed,
            started.elapsed().as_secs_f64()
        );
    }
}

fn b(
    items: u32,
    batch: u32,
    pauses: u8,
    resumes: u8,
    cancels: u8,
    faults: u8,
    triggers: u8,
) -> Bounds {
    Bounds::new(items, batch, (pauses, resumes, cancels), faults, triggers)
}
