//! The protocol model in `scripts/test`: every interleaving up to the bounds below, then seeded
//! random walks over larger campaigns. docs/hooks.md § Exactly once states what is checked.

use protocol_model::{explore, simulate, Bounds};

fn bounds(items: u32, batch: u32, pauses: u8, resumes: u8, cancels: u8, faults: u8) -> Bounds {
    Bounds {
        items,
        batch,
        pauses,
        resumes,
        cancels,
        faults,
        triggers: 1,
    }
}

#[test]
fn pause_and_resume_twice_every_interleaving() {
    let coverage = explore(bounds(4, 2, 2, 2, 0, 0)).unwrap_or_else(|v| panic!("{v}"));
    eprintln!("{coverage:?}");
}

#[test]
fn with_one_network_fault_every_interleaving() {
    let coverage = explore(bounds(4, 2, 2, 2, 0, 1)).unwrap_or_else(|v| panic!("{v}"));
    eprintln!("{coverage:?}");
}

#[test]
fn with_cancel_and_a_doubled_trigger_every_interleaving() {
    let mut b = bounds(3, 1, 1, 1, 1, 1);
    b.triggers = 2;
    let coverage = explore(b).unwrap_or_else(|v| panic!("{v}"));
    eprintln!("{coverage:?}");
}

#[test]
fn seeded_walks() {
    let walks = simulate(bounds(40, 3, 8, 8, 0, 6), 24, 200).unwrap_or_else(|v| panic!("{v}"));
    eprintln!("{walks:?}");
}
