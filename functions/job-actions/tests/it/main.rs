//! Handler tests for the job actions API: one binary, every route, every role, every bad input,
//! on the in-memory store through `handle_with` (fakes for Appwrite) and, for the wire format,
//! through `handle` against canned Appwrite answers on a local socket. The production wiring on
//! the full fake Appwrite is tested in `testing/fake-appwrite` (`tests/it/job_actions.rs`).

mod actions;
mod auth;
mod bad_input;
mod batch;
mod openapi;
mod read;
mod support;
mod wire;
