//! Everything between the workspace and a deployed Appwrite function, checked offline:
//! [`package`] generates one self-contained bundle per function (`dist/<id>/`), [`bundle`]
//! builds each inside a replica of Appwrite's rust-1.83 build workspace and sends it a real
//! request, [`validate`] checks `appwrite.json` against the CLI 12 format and the job model,
//! [`deploy`] plans (and runs) the deploy (the Appwrite CLI for teams and tables), [`functions`]
//! deploys the functions through the REST API, [`cli`] ports the CLI's schema comparison,
//! [`webhook`] creates the observer's domain and webhook; [`remote`] is the project they talk to
//! (settings and REST calls). [`cargo`] reads `cargo metadata`.

pub mod bundle;
pub mod cargo;
pub mod cli;
pub mod config;
pub mod cron;
pub mod deploy;
pub mod functions;
pub mod package;
pub mod remote;
pub mod validate;
pub mod webhook;

use std::path::{Path, PathBuf};

/// The repository root: this crate lives in `<root>/tools/deploy-check`.
pub fn repo_root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// The function crates of the workspace: the folders under `functions/` with a manifest.
pub fn function_crates(root: &Path) -> Result<Vec<String>, String> {
    let dir = root.join("functions");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let entry = entry.map_err(|e| e.to_string())?;
        if entry.path().join("Cargo.toml").is_file() {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    names.sort();
    Ok(names)
}
