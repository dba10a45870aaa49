//! The protocol model in `scripts/test`: every interleaving up to the bounds below, then seeded
//! random walks over larger campaigns. docs/hooks.md § Exactly once states what is checked.

use protocol_model::{explore, simulate, Bounds, Coverage};

fn bounds(items: u32, batch: u32, pauses: u8, resumes: u8, cancels: u8, faults: u8) -> Bounds {
    Bounds::new(items, batch, (pauses, resumes, cancels), faults, 1)
}

/// Explores every interleaving within `b` and checks the size of the state graph: the search
/// is deterministic, so a different count means the model or the protocol changed (update the
/// table in docs/hooks.md § Exactly once with it).
fn every_interleaving(b: Bounds, states: usize, steps: usize, ends: usize) -> Coverage {
    let coverage = explore(b).unwrap_or_else(|v| panic!("{v}"));
    eprintln!("{coverage:?}");
    assert_eq!(
        (coverage.states, coverage.steps, coverage.ends),
        (states, steps, ends),
        "{coverage:?}"
    );
    coverage
}

#[test]
fn pause_and_resume_twice_every_interleaving() {
    every_interleaving(bounds(4, 2, 2, 2, 0, 0), 962, 1_402, 124);
}

#[test]
fn with_one_network_fault_every_interleaving() {
    let c = every_interleaving(bounds(4, 2, 2, 2, 0, 1), 22_549, 52_413, 1_645);
    assert!(c.paused > 0 && c.completed > 0, "{c:?}");
}

#[test]
fn with_cancel_and_a_doubled_trigger_every_interleaving() {
    let mut b = bounds(3, 1, 1, 1, 1, 1);
    b.triggers = 2;
    let c = every_interleaving(b, 136_728, 371_125, 8_512);
    assert!(c.cancelled > 0 && c.completed > 0, "{c:?}");
}

#[test]
fn seeded_walks() {
    let walks = simulate(bounds(40, 3, 8, 8, 0, 6), 24, 200).unwrap_or_else(|v| panic!("{v}"));
    eprintln!("{walks:?}");
}
