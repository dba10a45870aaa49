//! Reliability suite, bounded for `scripts/test`: race torture on SQLite and on the fake
//! Appwrite (with and without injected faults), the bad-input and authorization matrices over
//! every function's handler, and the secrets scan of answers, logs and errors. `TORTURE_SEED`
//! replays a run; `TORTURE_OPS` makes it longer (see RELIABILITY.md).

mod authorization;
mod bad_input;
mod runs;
mod secrets;
mod server_errors;
mod torture;
mod world;
