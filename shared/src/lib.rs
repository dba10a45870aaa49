//! Job Manager core, shared by every function: the job model and its state machine ([`job`]),
//! the storage port and the Appwrite adapter ([`store`]), the use cases ([`usecase`]), the
//! HTTP edge ([`http`]) and what a function needs from where it runs ([`platform`]).
//!
//! This crate is copied into every deployed bundle and built there by rustc 1.83: it must not
//! depend on anything local-only (SQLite, the runtime shim).

pub mod appwrite;
pub mod config;
pub mod hooks;
pub mod http;
pub mod job;
pub mod platform;
pub mod random;
pub mod retention;
pub mod store;
pub mod tracker;
pub mod url;
pub mod usecase;
