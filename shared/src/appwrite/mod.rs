//! A small blocking client for the few Appwrite REST endpoints Job Manager uses: TablesDB rows
//! (`docs/appwrite-notes.md`: Row endpoints), function executions (Creating an execution),
//! users and team memberships (Users and memberships).
//! It owns configuration, headers, retries and error decoding, so the store and the action API
//! never touch HTTP details. Not the official SDK: that needs rustc 1.85, is async-only and
//! shares header state between clones (appwrite-notes: The official Rust SDK).
//!
//! One room per concern, every public item re-exported here so callers name
//! `shared::appwrite::X` whatever file holds it: `config` (where and as whom, from variables),
//! `error` (what went wrong), `retry` (when to try again), `client` (one request: headers,
//! retries, decoding), `rows`, `functions` and `users` (the endpoints) and `wire`
//! (Appwrite's value formats: queries, datetimes, ids).

mod client;
mod config;
mod error;
mod functions;
mod retry;
mod rows;
mod users;
mod wire;

pub use client::{AppwriteClient, Call, Method, Reply};
pub use config::{var, AppwriteConfig, ConfigError, Secret};
pub use error::AppwriteError;
pub use functions::{update_body, Execution, Listed, FUNCTIONS_PAGE};
pub use retry::{Retry, RetryPolicy};
pub use users::{Membership, User};
pub use wire::{datetime, query, segment};

pub(crate) use config::endpoint_from;
pub(crate) use wire::{total_param, valid_id};
