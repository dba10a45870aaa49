//! The packager behind `scripts/package`: for every function of `appwrite.json`, a generated,
//! self-contained folder `dist/<id>/` that Appwrite's Rust build accepts (appwrite-notes:
//! How a Rust function is built). Layout:
//!
//! ```text
//! dist/<id>/Cargo.toml              package and lib `handler`, no [workspace], pins
//! dist/<id>/main.rs                 pub fn main(context) -> <crate>::main(context)
//! dist/<id>/functions/<id>/         the function crate, copied as is
//! dist/<id>/shared/                 every crate it reaches by path, at its repository path
//! ```
//!
//! Crates keep their repository-relative places, so their sibling path dependencies
//! (`shared = { path = "../../shared" }`) resolve unchanged and the same source serves the
//! workspace. The one generated change: test-only parts are left out (`tests/`, `benches/`,
//! `examples/`, and the manifest sections `[dev-dependencies]`, `[[test]]`, `[[bench]]`,
//! `[[example]]`), because Appwrite's workspace resolves the dev-dependencies of every member
//! and a test-only dependency (`shared` with its `conformance` feature) has no place there.
//! What Appwrite would reject, or what must never ship, stops the packaging with a message naming the
//! manifest: a `[workspace]` table or `workspace = true` inheritance, a normal or build path
//! dependency leading outside the bundle, a dependency on a local-only or server crate.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::cargo;
use crate::config::AppwriteConfig;

/// Exact versions the bundle requires on top of the official runtime's lock so that nothing
/// needs rustc above 1.83 (cargo 1.83 resolves new crates without looking at `rust-version`).
/// The lock's `icu_*` 2.2.0 (newer than rustc 1.83) is reached through reqwest -> url -> idna ->
/// idna_adapter; open-runtimes' own test function pins the same (appwrite-notes: MSRV pins).
/// The bundle check fails, naming the crate and its chain, whenever another one is needed.
pub const PINS: &[(&str, &str)] = &[
    ("icu_collections", "=2.1.1"),
    ("icu_normalizer", "=2.1.1"),
    ("icu_properties", "=2.1.1"),
    ("icu_locale_core", "=2.1.1"),
    ("icu_provider", "=2.1.1"),
    ("indexmap", "=2.13.0"),
];

/// Every registry crate the bundles need that the runtime's lock does not hold, as `name
/// version` lines: the versions the bundle check resolved and built. Appwrite's build runs
/// `cargo build` without `--locked` (cargo 1.83, MSRV-unaware), so anything not fixed here would
/// be resolved afresh at every deployment and could break a later build. Regenerate with
/// `deploy-check pins`; the bundle check fails when a crate outside the lock is not pinned.
pub const RESOLVED_PINS: &str = include_str!("../replica/pins.txt");

/// The line that opens the resolution-only pins in a bundle's manifest.
pub const PINS_SECTION: &str = "[target.'cfg(any())'.dependencies]";

/// [`RESOLVED_PINS`] as (name, version).
pub fn resolved_pins() -> Vec<(&'static str, &'static str)> {
    RESOLVED_PINS
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(n, v)| (n.trim(), v.trim()))
        .collect()
}

/// The `openruntimes` requirement every function crate uses; the handler names it too.
pub const OPENRUNTIMES: &str =
    r#"openruntimes = { version = "=1.0.2", package = "openruntimes-types-for-rust" }"#;

/// Dependencies a deployed crate must not have (normal or build), and why.
pub const FORBIDDEN: &[(&str, &str)] = &[
    ("rusqlite", "SQLite is local-only"),
    ("libsqlite3-sys", "SQLite is local-only"),
    ("r2d2", "the SQLite pool is local-only"),
    ("r2d2_sqlite", "SQLite is local-only"),
    ("sqlite-store", "the SQLite store is local-only"),
    (
        "runtime-shim",
        "the local open-runtimes shim; Appwrite brings its own server",
    ),
    ("jobs-dev", "the local dev server is local-only"),
    ("fake-appwrite", "the fake Appwrite is test-only"),
    ("deploy-check", "tooling is local-only"),
    (
        "tokio",
        "the runtime owns the async server; handlers are synchronous",
    ),
    ("hyper", "the runtime owns the HTTP server"),
    ("hyper-util", "the runtime owns the HTTP server"),
    ("axum", "the runtime owns the HTTP server"),
];

/// One generated bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle {
    /// The Appwrite function id (= the function crate's folder and package name).
    pub id: String,
    /// Where it was written: `<out>/<id>`.
    pub dir: PathBuf,
    /// The crates copied in, as paths relative to the repository root (function crate first).
    pub crates: Vec<String>,
}

/// Packages every function of `appwrite.json` (at `root`) into `<out>/<id>/`.
pub fn package_all(root: &Path, out: &Path) -> Result<Vec<Bundle>, String> {
    let root = &root
        .canonicalize()
        .map_err(|e| format!("{}: {e}", root.display()))?;
    let config = AppwriteConfig::load(&root.join("appwrite.json")).map_err(|e| e.to_string())?;
    let functions = config.functions().map_err(|e| e.to_string())?;
    let meta = cargo::metadata(&root.join("Cargo.toml"), &["--no-deps"])?;
    functions
        .iter()
        .map(|f| package_one(root, &meta, &f.id, &out.join(&f.id)))
        .collect()
}

/// Packages the function crate `functions/<id>` into `dir`, replacing what was there.
/// `root` must be canonical and `meta` its `cargo metadata --no-deps`.
pub fn package_one(root: &Path, meta: &Value, id: &str, dir: &Path) -> Result<Bundle, String> {
    let manifest = root.join("functions").join(id).join("Cargo.toml");
    let entry = package_at(meta, &manifest).ok_or_else(|| {
        format!(
            "function `{id}` of appwrite.json has no workspace crate at functions/{id}/Cargo.toml"
        )
    })?;
    if entry["name"] != id {
        return Err(format!(
            "functions/{id}/Cargo.toml names its package `{}`; it must be `{id}` (function id = crate name)",
            entry["name"].as_str().unwrap_or_default()
        ));
    }
    let crates = reachable_crates(root, meta, entry)?;
    for rel in &crates {
        check_manifest_text(&root.join(rel).join("Cargo.toml"))?;
        let package = package_at(meta, &root.join(rel).join("Cargo.toml")).expect("found above");
        check_dependencies(root, package, &crates)?;
    }

    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(|e| format!("cannot clear {}: {e}", dir.display()))?;
    }
    for rel in &crates {
        copy_tree(&root.join(rel), &dir.join(rel))?;
        let manifest = root.join(rel).join("Cargo.toml");
        let text = std::fs::read_to_string(&manifest)
            .map_err(|e| format!("cannot read {}: {e}", manifest.display()))?;
        write(
            &dir.join(rel).join("Cargo.toml"),
            &without_test_sections(&text, rel),
        )?;
    }
    write(&dir.join("Cargo.toml"), &handler_manifest(id))?;
    write(&dir.join("main.rs"), &handler_main(id))?;
    write(&dir.join(".gitignore"), "target/\n")?;
    Ok(Bundle {
        id: id.to_owned(),
        dir: dir.to_path_buf(),
        crates,
    })
}

/// The bundle's root manifest: a package and lib named `handler`, as the runtime requires.
pub fn handler_manifest(id: &str) -> String {
    let mut toml = format!(
        "# Generated by scripts/package from functions/{id}: do not edit (docs/deploy.md).\n\
         # Appwrite copies this folder into src/function of its rust-1.83 build workspace.\n\
         [package]\n\
         name = \"handler\"\n\
         version = \"0.1.0\"\n\
         edition = \"2021\"\n\
         rust-version = \"1.83\"\n\
         publish = false\n\
         \n\
         [lib]\n\
         name = \"handler\"\n\
         path = \"main.rs\"\n\
         \n\
         [dependencies]\n\
         {OPENRUNTIMES}\n\
         {id} = {{ path = \"functions/{id}\" }}\n\
         # Pins on top of the official runtime's lock: later versions need rustc above 1.83.\n"
    );
    for (name, version) in PINS {
        let _ = writeln!(toml, "{name} = \"{version}\"");
    }
    toml.push_str(
        "\n# Every crate outside the runtime's lock, at the version the bundle check resolved and\n\
         # built: Appwrite builds without --locked, so these would otherwise be resolved afresh at\n\
         # every deployment. Under a cfg that is never true they only fix versions: no code, no\n\
         # features.\n",
    );
    toml.push_str(PINS_SECTION);
    toml.push('\n');
    for (name, version) in resolved_pins() {
        if PINS.iter().any(|(pinned, _)| *pinned == name) {
            continue;
        }
        let key = format!("pin-{name}-{}", version.replace(['.', '+'], "_"));
        let _ = writeln!(
            toml,
            "{key} = {{ package = \"{name}\", version = \"={version}\", default-features = false }}"
        );
    }
    toml
}

/// The bundle's entrypoint (`main.rs`, appwrite.json `entrypoint`).
pub fn handler_main(id: &str) -> String {
    let ident = id.replace('-', "_");
    format!(
        "//! Generated by scripts/package: the Appwrite entrypoint of `{id}`, which owns the code.\n\
         \n\
         pub fn main(context: openruntimes::Context) -> openruntimes::Response {{\n    \
         {ident}::main(context)\n\
         }}\n"
    )
}

/// The workspace package whose manifest is `manifest`.
fn package_at<'a>(meta: &'a Value, manifest: &Path) -> Option<&'a Value> {
    cargo::packages(meta)
        .iter()
        .find(|p| p["manifest_path"].as_str().map(Path::new) == Some(manifest))
}

/// The function crate and every crate it reaches through normal or build path dependencies,
/// as repository-relative folders (function crate first).
fn reachable_crates(root: &Path, meta: &Value, entry: &Value) -> Result<Vec<String>, String> {
    let mut order = Vec::new();
    let mut seen = BTreeSet::new();
    let mut stack = vec![entry.clone()];
    while let Some(package) = stack.pop() {
        let manifest = PathBuf::from(package["manifest_path"].as_str().unwrap_or_default());
        let dir = manifest.parent().unwrap_or(root).to_path_buf();
        let rel = relative_inside(root, &dir).ok_or_else(|| {
            format!(
                "{} is outside the repository; a bundle can only hold repository crates",
                dir.display()
            )
        })?;
        if !seen.insert(rel.clone()) {
            continue;
        }
        order.push(rel);
        for dep in deps(&package).filter(|d| !is_dev(d)) {
            let Some(path) = dep["path"].as_str() else {
                continue;
            };
            let target = package_at(meta, &Path::new(path).join("Cargo.toml")).ok_or_else(|| {
                format!(
                    "{}: path dependency `{}` ({path}) leads outside the workspace, so outside the bundle",
                    manifest.display(),
                    dep["name"].as_str().unwrap_or_default()
                )
            })?;
            stack.push(target.clone());
        }
    }
    Ok(order)
}

/// Path dependencies must stay inside the bundle; forbidden crates must not be dependencies.
fn check_dependencies(root: &Path, package: &Value, crates: &[String]) -> Result<(), String> {
    let manifest = package["manifest_path"].as_str().unwrap_or_default();
    for dep in deps(package) {
        let name = dep["name"].as_str().unwrap_or_default();
        if is_dev(dep) {
            continue; // Left out of the bundle's manifests.
        }
        if let Some(path) = dep["path"].as_str() {
            let inside = relative_inside(root, Path::new(path));
            if !inside.as_ref().is_some_and(|rel| crates.contains(rel)) {
                return Err(format!(
                    "{manifest}: path dependency `{name}` ({path}) leads outside the bundle"
                ));
            }
        }
        if let Some((_, why)) = FORBIDDEN.iter().find(|(n, _)| *n == name) {
            return Err(format!(
                "{manifest}: depends on `{name}`, which must not be deployed ({why})"
            ));
        }
    }
    Ok(())
}

/// Fails on a `[workspace]` table or `workspace = true` inheritance: Appwrite's build copies the
/// crate into its own workspace, where neither works (appwrite-notes: How a Rust function is
/// built).
pub fn check_manifest_text(manifest: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(manifest)
        .map_err(|e| format!("cannot read {}: {e}", manifest.display()))?;
    for (n, line) in text.lines().enumerate() {
        let code: String = strip_comment(line)
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        if code.starts_with("[workspace") {
            return Err(format!(
                "{}:{}: has a [workspace] table; Appwrite's build would find two workspace roots",
                manifest.display(),
                n + 1
            ));
        }
        if code.contains("workspace=true") {
            return Err(format!(
                "{}:{}: inherits from the workspace (`workspace = true`); spell the value out, \
                 Appwrite builds this crate outside our workspace",
                manifest.display(),
                n + 1
            ));
        }
    }
    Ok(())
}

/// Test-only manifest sections, left out of bundles (with `tests/`, `benches/`, `examples/`).
const TEST_SECTIONS: &[&str] = &["[dev-dependencies", "[[test]]", "[[bench]]", "[[example]]"];

/// `text` (the manifest of the crate at `rel`) without its test-only sections, for the bundle.
pub fn without_test_sections(text: &str, rel: &str) -> String {
    let mut out = format!(
        "# Copied by scripts/package from {rel}/Cargo.toml without its test-only sections.\n"
    );
    let mut skipping = false;
    for line in text.lines() {
        let code: String = strip_comment(line)
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        if code.starts_with('[') {
            let target_dev = code.starts_with("[target.") && code.contains(".dev-dependencies");
            skipping = target_dev || TEST_SECTIONS.iter().any(|s| code.starts_with(s));
        }
        if !skipping {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// The part of a TOML line before a comment (a `#` outside a string).
fn strip_comment(line: &str) -> &str {
    let mut in_string = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' => in_string = !in_string,
            '#' if !in_string => return &line[..i],
            _ => {}
        }
    }
    line
}

fn deps(package: &Value) -> impl Iterator<Item = &Value> {
    package["dependencies"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
}

fn is_dev(dep: &Value) -> bool {
    dep["kind"] == "dev"
}

/// `path` relative to `root` with `/` separators, if it lies inside it.
fn relative_inside(root: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(root).ok()?;
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.iter().any(|p| p == "..") {
        return None;
    }
    Some(parts.join("/"))
}

/// Copies a crate folder, leaving out build output and its top-level test-only folders.
fn copy_tree(from: &Path, to: &Path) -> Result<(), String> {
    copy_dir(
        from,
        to,
        &["target", "Cargo.lock", "tests", "benches", "examples"],
    )
}

fn copy_dir(from: &Path, to: &Path, skip: &[&str]) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|e| format!("cannot create {}: {e}", to.display()))?;
    let entries =
        std::fs::read_dir(from).map_err(|e| format!("cannot read {}: {e}", from.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot read {}: {e}", from.display()))?;
        let name = entry.file_name();
        if skip.iter().any(|n| name == *n) {
            continue;
        }
        let kind = entry
            .file_type()
            .map_err(|e| format!("{}: {e}", entry.path().display()))?;
        if kind.is_dir() {
            copy_dir(&entry.path(), &to.join(&name), &["target"])?;
        } else {
            std::fs::copy(entry.path(), to.join(&name))
                .map_err(|e| format!("cannot copy {}: {e}", entry.path().display()))?;
        }
    }
    Ok(())
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
