//! An open-runtimes v5 server (tokio + hyper, HTTP/1.1) hosting handlers with the official
//! Rust signature `fn(openruntimes::Context) -> openruntimes::Response`. Function code never
//! sees the protocol: this crate owns it (see `docs/runtime.md` and the protocol in
//! `docs/appwrite-notes.md`: Runtime protocol).
//!
//! Standalone: `fn main() -> ExitCode { runtime_shim::serve(my_fn::main) }`.
//! Embedded (tests, the local dev server): [`Server::bind`] on port 0, [`Server::local_addr`],
//! [`Server::shutdown`]. Embedding leaves the host program's panic hook alone; only [`serve`],
//! which owns its process, sets one.

mod capture;
pub mod config;
mod logs;
mod pool;
pub mod protocol;
mod server;

/// Locks `mutex`, taking over a poisoned one: every value guarded in this crate stays valid
/// when a holder panics (they are replaced or read whole, never left half-written).
pub(crate) fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub use config::{Config, ConfigError, InvalidVariable};
pub use logs::LogsDirError;
pub use server::{
    serve, serve_handler, shutdown_signal, Handler, ServeError, Server, ShutdownHandle,
    STARTUP_LINE,
};
