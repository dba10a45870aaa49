//! Job Manager core, shared by every function: the job model and its state machine ([`job`]),
//! the storage port and the Appwrite adapter ([`store`]), the use cases ([`usecase`]), the
//! execution observer's rules ([`observer`]), the HTTP edge ([`http`]) and what a function needs from where it runs ([`platform`]).
//!
//! This crate is copied into every deployed bundle and built there by rustc 1.83: it must not
//! depend on anything local-only (SQLite, the runtime shim).
//!
//! The surface is what its users need, nothing more: an item is `pub` only when another crate
//! of the workspace uses it (the functions, `local/`, `testing/` with the fuzz targets,
//! `tools/`, their tests and benches) or a doc names it as API (the worker client [`tracker`],
//! the Appwrite client in docs/appwrite-store.md, the conformance suite in docs/storage.md).
//! Everything else is `pub(crate)` or private, so the dead-code lint sees what nothing calls.

pub mod alerts;
pub mod appwrite;
pub mod config;
pub mod hooks;
pub mod http;
pub mod job;
pub mod observer;
pub mod platform;
pub mod random;
pub mod retention;
pub mod schedules;
pub mod store;
pub mod tracker;
pub mod url;
pub mod usecase;
