//! Reliability suite, bounded for `scripts/test`: race torture on SQLite and on the fake
//! Appwrite (with and without injected faults). `TORTURE_SEED` replays a run; `TORTURE_OPS`
//! makes it longer (see RELIABILITY.md).

mod torture;
