//! Functions `jobs-dev` does not host but executes by forwarding (`JOBS_DEV_FORWARD`): a
//! worker of the user's own, typically a Node function served by a test harness or a local
//! open-runtimes container, that job-actions re-triggers on resume and retry exactly as Appwrite
//! re-triggers `orchestrator`.
//!
//! A forwarded function is an ordinary hosted function to the gateway whose runtime listens
//! elsewhere: the gateway sends it the open-runtimes request Appwrite's executor sends (the
//! execution's method, path, body and headers plus `x-appwrite-trigger`,
//! `x-appwrite-execution-id`, `x-appwrite-key`, …; see docs/appwrite-notes.md, "Executions")
//! and turns its answer into the execution document. Like hooks, it may be executed with the
//! server key only.

use std::net::SocketAddr;

use crate::manifest::FunctionSpec;

/// One `functionId=http://ip:port` entry of `JOBS_DEV_FORWARD`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forward {
    pub function_id: String,
    pub addr: SocketAddr,
}

/// Appwrite's default function timeout (`appwrite.json`'s `timeout`, 15 s), as for hosted ones.
const TIMEOUT_SECONDS: u64 = 15;
/// A worker's own function needs `executions.write` to call the hooks (docs/adopting.md § 2),
/// so its execution key carries that, as a worker deployed by that guide would.
const WORKER_SCOPES: [&str; 1] = ["executions.write"];

impl Forward {
    /// The function as the gateway sees it: server key only (`execute: []`), no schedule.
    pub fn spec(&self) -> FunctionSpec {
        FunctionSpec {
            id: self.function_id.clone(),
            execute: Vec::new(),
            schedule: String::new(),
            timeout: TIMEOUT_SECONDS,
            scopes: WORKER_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
        }
    }
}

/// Parses `JOBS_DEV_FORWARD`: comma-separated `functionId=http://<ip>:<port>` entries. The
/// target is an address, not a host name, because the gateway joins it with the execution's path.
pub fn parse(value: &str) -> Result<Vec<Forward>, String> {
    let mut forwards: Vec<Forward> = Vec::new();
    for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (id, url) = entry
            .split_once('=')
            .ok_or_else(|| format!("{entry:?} is not functionId=http://ip:port"))?;
        let valid_id = !id.is_empty()
            && id.len() <= 36
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !valid_id {
            return Err(format!("{id:?} is not an Appwrite function id"));
        }
        let addr = url
            .strip_prefix("http://")
            .map(|a| a.trim_end_matches('/'))
            .and_then(|a| a.parse::<SocketAddr>().ok())
            .ok_or_else(|| format!("{url:?} is not http://ip:port"))?;
        if forwards.iter().any(|f| f.function_id == id) {
            return Err(format!("{id:?} is forwarded twice"));
        }
        forwards.push(Forward {
            function_id: id.to_owned(),
            addr,
        });
    }
    Ok(forwards)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forward_entries_name_a_function_and_an_address() {
        let f = parse("orchestrator=http://127.0.0.1:4000/, sqs-poller=http://[::1]:4001").unwrap();
        assert_eq!(f[0].function_id, "orchestrator");
        assert_eq!(f[0].addr.to_string(), "127.0.0.1:4000");
        assert_eq!(f[1].addr.to_string(), "[::1]:4001");
        assert!(f[0].spec().execute.is_empty());
    }

    #[test]
    fn a_host_name_a_missing_scheme_or_a_duplicate_is_refused() {
        assert!(parse("orchestrator=http://localhost:4000").is_err());
        assert!(parse("orchestrator=127.0.0.1:4000").is_err());
        assert!(parse("orchestrator").is_err());
        assert!(parse("a=http://127.0.0.1:1,a=http://127.0.0.1:2").is_err());
        assert!(parse("bad id=http://127.0.0.1:1").is_err());
    }
}
