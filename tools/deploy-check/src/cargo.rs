//! Running cargo: `cargo metadata` (JSON, so no manifest is parsed by hand) and the builds of
//! the bundle check. Every failure names the command and carries cargo's own message.

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

/// The cargo that runs us (`$CARGO` under `cargo run`/`cargo test`), else the one on `PATH`.
pub fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// `cargo metadata --format-version 1` for `manifest`, with extra arguments.
pub fn metadata(manifest: &Path, extra: &[&str]) -> Result<Value, String> {
    let out = cargo()
        .args(["metadata", "--format-version", "1", "--manifest-path"])
        .arg(manifest)
        .args(extra)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run cargo metadata: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo metadata --manifest-path {} failed:\n{}",
            manifest.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("cargo metadata printed bad JSON: {e}"))
}

/// The packages of a metadata document.
pub fn packages(meta: &Value) -> &[Value] {
    meta["packages"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// The package named `name` among those of `meta`.
pub fn package<'a>(meta: &'a Value, name: &str) -> Option<&'a Value> {
    packages(meta).iter().find(|p| p["name"] == name)
}

/// Runs a cargo command to completion, its output going to our stderr (so CI shows compiler
/// errors as they come); fails naming the command.
pub fn run(mut command: Command, what: &str) -> Result<(), String> {
    let status = command
        .stdin(Stdio::null())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .status()
        .map_err(|e| format!("cannot run {what}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({status})"))
    }
}
