//! Owns where an invocation's log files go and how they are written.
//!
//! Handlers log through `openruntimes::Logger`, whose entries are private: the only way out is
//! `Logger::end()`, which writes `{id}_logs.log` / `{id}_errors.log` (JSON lines, 8000-char
//! truncation) under the hard-coded `/mnt/logs`. Reusing it keeps our files byte-identical to
//! the official runtime's. To honour a configurable logs directory, `end()` is given an id
//! that walks from `/mnt/logs` up to `/` (`../..`, computed from the canonical path so a
//! symlinked `/mnt/logs` still works) and down into the configured directory. The id part is
//! always sanitised first (see `protocol::sanitize_log_id`), so the walk is ours alone.
//!
//! `end()` does synchronous file IO; it runs on the handler's pool thread (`pool.rs`), never on
//! an async worker. An earlier design funnelled every `end()` through one writer thread, on the
//! theory that file creation in one directory is serialised by the kernel anyway; measured, the
//! handoff to and from that thread cost two futex calls and two context switches per request
//! and the shim fell behind the official runtime with logging on (docs/runtime.md).

use openruntimes::Logger;
use std::io;
use std::path::{Path, PathBuf};

/// The directory `openruntimes::Logger::end` always writes under.
const LOGGER_ROOT: &str = "/mnt/logs";

/// Writes finished loggers into the configured logs directory.
#[derive(Debug, Clone)]
pub struct LogSink {
    /// Prepended to the sanitised id so `/mnt/logs/{prefix}{id}_logs.log` lands in `logs_dir`.
    prefix: String,
    /// False when `/mnt/logs` cannot exist here (a laptop without root): log files are then
    /// skipped.
    enabled: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum LogsDirError {
    #[error("cannot create the logs directory {path}: {source}")]
    Create { path: PathBuf, source: io::Error },
    #[error(
        "cannot create /mnt/logs ({source}): the openruntimes Logger writes every log file \
         relative to it, whatever the logs directory; create it once (`sudo mkdir -p /mnt/logs`)"
    )]
    LoggerRoot { source: io::Error },
    #[error("the logs directory {path} is not valid UTF-8")]
    NotUtf8 { path: PathBuf },
}

impl LogSink {
    /// Creates `logs_dir` and `/mnt/logs` (the latter only when they differ and it is missing:
    /// `Logger::end` needs it to exist as the starting point of its path).
    pub fn new(logs_dir: &Path) -> Result<LogSink, LogsDirError> {
        let create = |path: &Path| {
            std::fs::create_dir_all(path).map_err(|source| LogsDirError::Create {
                path: path.to_owned(),
                source,
            })
        };
        create(logs_dir)?;
        if let Err(source) = std::fs::create_dir_all(LOGGER_ROOT) {
            // Serving matters more than log files: without root on a laptop, keep answering
            // and say once why the files are missing.
            eprintln!(
                "{}; log files are not written",
                LogsDirError::LoggerRoot { source }
            );
            return Ok(LogSink {
                prefix: String::new(),
                enabled: false,
            });
        }
        let canonical = |path: &Path| {
            std::fs::canonicalize(path).map_err(|source| LogsDirError::Create {
                path: path.to_owned(),
                source,
            })
        };
        let target = canonical(logs_dir)?;
        let root = canonical(Path::new(LOGGER_ROOT))?;
        let prefix = if target == root {
            String::new()
        } else {
            let up = "../".repeat(root.components().count().saturating_sub(1));
            let down = target
                .to_str()
                .ok_or_else(|| LogsDirError::NotUtf8 {
                    path: target.clone(),
                })?
                .trim_start_matches('/');
            format!("{up}{down}/")
        };
        Ok(LogSink {
            prefix,
            enabled: true,
        })
    }

    /// Writes the logger's entries to `{id}_logs.log` / `{id}_errors.log` in the logs
    /// directory (both files are created even when empty, as the executor reads both).
    /// `id` must already be sanitised.
    pub fn end(&self, logger: &Logger, id: &str) {
        if !self.enabled {
            return;
        }
        let mut writer = logger.clone();
        writer.id = format!("{}{}", self.prefix, id);
        writer.end();
    }
}
