//! The bundle check: each generated bundle is built the way Appwrite's rust-1.83 image builds it
//! (appwrite-notes: How a Rust function is built), in a replica of the runtime's build workspace —
//! root package `rust_runtime` with the runtime's dependencies, the official `Cargo.lock`
//! (committed here as `replica/runtime.Cargo.lock`; appwrite-notes: The runtime's lock), our own
//! small `main.rs` server, and the bundle in `src/function/`. Then, for each bundle:
//! 1. `cargo metadata`: every package the release build compiles must declare `rust-version`
//!    at most 1.83 (cargo 1.83 refuses newer ones); failures name the crate and its chain; and
//!    every registry package the resolution added to the official lock must be pinned to that
//!    exact version by the bundle (`package::RESOLVED_PINS`), or a later deployment could
//!    resolve another one;
//! 2. `cargo build --release` (the lock is reset to the official one first, and not
//!    `--locked`: like Appwrite, new crates resolve on top of it and locked ones stay);
//! 3. clippy's `incompatible_msrv` on the bundle's crates, for std APIs newer than 1.83;
//! 4. the built server is started and must answer a real request through `handler::main`.
//!
//! One replica and one target dir serve every bundle, so dependencies compile once.

use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::cargo;
use crate::package::Bundle;

/// The official runtime's lock (open-runtimes `runtimes/rust/versions/latest/Cargo.lock`).
pub const OFFICIAL_LOCK: &str = include_str!("../replica/runtime.Cargo.lock");
/// The replica's server.
pub const REPLICA_MAIN: &str = include_str!("../replica/main.rs");
/// The toolchain Appwrite builds with.
pub const MSRV: (u64, u64) = (1, 83);
/// Appwrite's build image is `rust:1.83-alpine`: resolve for its target.
pub const TARGET: &str = "x86_64-unknown-linux-musl";

/// The runtime's root manifest, as the README beside the official lock lists it.
pub const REPLICA_MANIFEST: &str = r#"# Replica of Appwrite's rust-1.83 build workspace (written by deploy-check; never deployed).
[package]
name = "rust_runtime"
version = "1.0.0"
edition = "2021"
rust-version = "1.83"
publish = false

[workspace]
members = [".", "src/function"]
resolver = "2"

[dependencies]
openruntimes = { version = "1.0", package = "openruntimes-types-for-rust" }
handler = { path = "src/function" }
tokio = { version = "1", features = ["full"] }
hyper = { version = "1", features = ["full", "http1", "http2", "server"] }
hyper-util = { version = "0.1", features = ["tokio", "server", "server-auto"] }
http-body-util = "0.1"
serde = { version = "1", features = ["derive"] }
serde_json = "1"
urlencoding = "2.1"
libc = "0.2"
indexmap = "=2.13.0"
"#;

/// What one bundle's check measured.
#[derive(Debug, Clone)]
pub struct Report {
    pub id: String,
    pub packages: usize,
    pub build: Duration,
    pub clippy: Duration,
    pub status: u16,
    pub body: String,
}

/// A request that exercises `handler::main` as Appwrite would call it (a per-execution key
/// header; the server gets the variables Appwrite injects, with an endpoint where nothing
/// listens) but with a body that is not JSON. Functions refuse it (4xx) or say Appwrite is
/// unreachable (5xx); either way the answer is the shared HTTP edge's JSON, which only the
/// function's code produces.
pub fn smoke_request() -> &'static str {
    "POST / HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n\
     x-appwrite-trigger: http\r\nx-appwrite-key: bundle-check\r\n\
     content-length: 8\r\nconnection: close\r\n\r\nnot json"
}

/// The variables Appwrite injects (appwrite-notes: Execution environment); port 9 (discard) has no
/// listener here, so any call to Appwrite fails at once.
pub const SMOKE_ENV: &[(&str, &str)] = &[
    ("APPWRITE_FUNCTION_API_ENDPOINT", "http://127.0.0.1:9/v1"),
    ("APPWRITE_FUNCTION_PROJECT_ID", "bundle-check"),
    ("APPWRITE_FUNCTION_ID", "bundle-check"),
];

/// The replica: `<dir>/Cargo.toml`, `<dir>/src/main.rs`, `<dir>/src/function/`.
pub struct Replica {
    pub dir: PathBuf,
    pub target_dir: PathBuf,
}

impl Replica {
    pub fn new(work: &Path) -> Result<Self, String> {
        let dir = work.join("replica");
        std::fs::create_dir_all(dir.join("src"))
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        write(&dir.join("Cargo.toml"), REPLICA_MANIFEST)?;
        write(&dir.join("src/main.rs"), REPLICA_MAIN)?;
        Ok(Replica {
            dir,
            target_dir: work.join("target"),
        })
    }

    /// Puts `bundle` in `src/function/` and the official lock back in place. Files whose
    /// content is unchanged keep their modification time, so crates every bundle shares
    /// (`shared`) are not rebuilt from one bundle to the next.
    fn load(&self, bundle: &Bundle) -> Result<(), String> {
        sync_tree(&bundle.dir, &self.dir.join("src/function"))?;
        write(&self.dir.join("Cargo.lock"), OFFICIAL_LOCK)
    }

    fn cargo(&self, args: &[&str]) -> Command {
        let mut command = cargo::cargo();
        // `--manifest-path` right after the subcommand: after `--` it would go to clippy.
        command
            .args(&args[..1])
            .arg("--manifest-path")
            .arg(self.dir.join("Cargo.toml"))
            .args(&args[1..])
            .env("CARGO_TARGET_DIR", &self.target_dir)
            // Like Appwrite's cargo 1.83, which is not MSRV-aware: the check below judges.
            .env("CARGO_RESOLVER_INCOMPATIBLE_RUST_VERSIONS", "allow");
        command
    }

    /// The registry packages a fresh resolution of `bundle` adds to the official lock, with the
    /// bundle's resolution-only pins removed: what `package::RESOLVED_PINS` must hold.
    pub fn outside_lock(&self, bundle: &Bundle) -> Result<Vec<(String, String)>, String> {
        self.load(bundle)?;
        let manifest = self.dir.join("src/function/Cargo.toml");
        let text = std::fs::read_to_string(&manifest).map_err(|e| e.to_string())?;
        let unpinned = text
            .split(crate::package::PINS_SECTION)
            .next()
            .unwrap_or_default();
        write(&manifest, unpinned)?;
        cargo::metadata(&self.dir.join("Cargo.toml"), &["--filter-platform", TARGET])?;
        let resolved =
            std::fs::read_to_string(self.dir.join("Cargo.lock")).map_err(|e| e.to_string())?;
        let official = lock_packages(OFFICIAL_LOCK);
        Ok(lock_packages(&resolved)
            .into_iter()
            .filter(|p| !official.contains(p))
            .collect())
    }

    /// Runs every step for one bundle.
    pub fn check(&self, bundle: &Bundle) -> Result<Report, String> {
        let id = &bundle.id;
        let fail = |step: &str, e: String| format!("bundle `{id}`: {step}: {e}");
        self.load(bundle).map_err(|e| fail("copy", e))?;

        // Resolution writes the lock; metadata shows what the release build will compile.
        let meta = cargo::metadata(&self.dir.join("Cargo.toml"), &["--filter-platform", TARGET])
            .map_err(|e| fail("resolve", e))?;
        let packages = msrv_violations(&meta).map_err(|e| fail("rust-version", e))?;
        let resolved = std::fs::read_to_string(self.dir.join("Cargo.lock"))
            .map_err(|e| fail("resolve", e.to_string()))?;
        let loose = unpinned(OFFICIAL_LOCK, &resolved, &meta);
        if !loose.is_empty() {
            return Err(fail(
                "determinism",
                format!(
                    "left to resolution at build time (not in the runtime's lock, not pinned \
                     exactly by the bundle): {}; run `deploy-check pins`",
                    loose.join(", ")
                ),
            ));
        }

        let started = Instant::now();
        let mut build = self.cargo(&["build", "--release", "--quiet"]);
        build.env_remove("RUSTFLAGS");
        cargo::run(build, "cargo build --release").map_err(|e| fail("build", e))?;
        let build_time = started.elapsed();

        let started = Instant::now();
        let crate_name = id.as_str();
        let clippy = self.cargo(&[
            "clippy",
            "--release",
            "--quiet",
            "-p",
            "handler",
            "-p",
            crate_name,
            "-p",
            "shared",
            "--",
            "-A",
            "clippy::all",
            "-D",
            "clippy::incompatible_msrv",
        ]);
        cargo::run(clippy, "cargo clippy (incompatible_msrv)").map_err(|e| fail("clippy", e))?;
        let clippy_time = started.elapsed();

        let binary = self.target_dir.join("release/rust_runtime");
        let (status, body) = serve_once(&binary).map_err(|e| fail("request", e))?;
        if !answered_by_handler(status, &body) {
            return Err(fail(
                "request",
                format!("expected handler::main's JSON answer, got {status}: {body}"),
            ));
        }
        Ok(Report {
            id: id.clone(),
            packages,
            build: build_time,
            clippy: clippy_time,
            status,
            body,
        })
    }
}

/// Fails naming every compiled package whose `rust-version` is above 1.83, with the chain of
/// dependencies from `rust_runtime` that pulls it in. Returns how many packages were checked.
pub fn msrv_violations(meta: &Value) -> Result<usize, String> {
    let packages: BTreeMap<&str, &Value> = cargo::packages(meta)
        .iter()
        .filter_map(|p| Some((p["id"].as_str()?, p)))
        .collect();
    let nodes: BTreeMap<&str, &Value> = meta["resolve"]["nodes"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|n| Some((n["id"].as_str()?, n)))
        .collect();
    let root = meta["resolve"]["root"]
        .as_str()
        .ok_or("cargo metadata has no resolve root")?;

    // Breadth-first over normal and build edges (dev-dependencies are not compiled by a
    // release build), remembering how each package was reached.
    let mut parent: BTreeMap<&str, Option<&str>> = BTreeMap::from([(root, None)]);
    let mut queue = VecDeque::from([root]);
    while let Some(id) = queue.pop_front() {
        let deps = nodes
            .get(id)
            .and_then(|n| n["deps"].as_array())
            .map(Vec::as_slice)
            .unwrap_or_default();
        for dep in deps {
            let compiled = dep["dep_kinds"]
                .as_array()
                .is_some_and(|kinds| kinds.iter().any(|k| k["kind"] != "dev"));
            let Some(pkg) = dep["pkg"].as_str() else {
                continue;
            };
            if compiled && !parent.contains_key(pkg) {
                parent.insert(pkg, Some(id));
                queue.push_back(pkg);
            }
        }
    }

    let name = |id: &str| {
        packages
            .get(id)
            .map(|p| format!("{} {}", str_of(p, "name"), str_of(p, "version")))
            .unwrap_or_else(|| id.to_owned())
    };
    let mut problems = Vec::new();
    for id in parent.keys() {
        let Some(p) = packages.get(id) else { continue };
        let Some(rv) = p["rust_version"].as_str() else {
            continue;
        };
        if !fits_msrv(rv) {
            let mut chain = vec![name(id)];
            let mut at = parent[id];
            while let Some(up) = at {
                chain.push(name(up));
                at = parent[up];
            }
            chain.reverse();
            problems.push(format!(
                "{} requires rustc {rv} (> 1.83), pulled in by {}; pin an older version in \
                 package::PINS",
                name(id),
                chain.join(" -> ")
            ));
        }
    }
    if problems.is_empty() {
        Ok(parent.len())
    } else {
        Err(problems.join("\n"))
    }
}

/// The registry packages (`name version`) of a `Cargo.lock` text.
pub fn lock_packages(lock: &str) -> std::collections::BTreeSet<(String, String)> {
    let mut out = std::collections::BTreeSet::new();
    for block in lock.split("[[package]]").skip(1) {
        let field = |key: &str| {
            block.lines().find_map(|l| {
                let (k, v) = l.split_once(" = ")?;
                (k.trim() == key).then(|| v.trim().trim_matches('"').to_owned())
            })
        };
        if let (Some(name), Some(version), Some(source)) =
            (field("name"), field("version"), field("source"))
        {
            if source.starts_with("registry+") {
                out.insert((name, version));
            }
        }
    }
    out
}

/// The packages `resolved` holds beyond `official` that the `handler` package of `meta` does not
/// require at exactly their version (`=x.y.z`, under any name): what a build without
/// `--locked` would resolve afresh.
pub fn unpinned(official: &str, resolved: &str, meta: &Value) -> Vec<String> {
    let official = lock_packages(official);
    let pinned: std::collections::BTreeSet<(String, String)> = cargo::package(meta, "handler")
        .and_then(|h| h["dependencies"].as_array())
        .into_iter()
        .flatten()
        .filter_map(|d| {
            let version = d["req"].as_str()?.strip_prefix('=')?;
            Some((d["name"].as_str()?.to_owned(), version.trim().to_owned()))
        })
        .collect();
    lock_packages(resolved)
        .into_iter()
        .filter(|p| !official.contains(p) && !pinned.contains(p))
        .map(|(n, v)| format!("{n} {v}"))
        .collect()
}

/// Whether a `rust-version` such as `1.83`, `1.70.0` is at most 1.83.
pub fn fits_msrv(rust_version: &str) -> bool {
    let mut parts = rust_version
        .split('.')
        .map(|p| p.parse::<u64>().unwrap_or(u64::MAX));
    let major = parts.next().unwrap_or(u64::MAX);
    let minor = parts.next().unwrap_or(0);
    (major, minor) <= MSRV
}

/// Whether the answer came from the function: the shared HTTP edge's error shape
/// (`{"error": {"code", …}}`, any status), or a successful JSON answer. The replica's own
/// failure (a panic in the handler) is a plain-text 500.
pub fn answered_by_handler(status: u16, body: &str) -> bool {
    let Ok(json) = serde_json::from_str::<Value>(body) else {
        return false;
    };
    json["error"]["code"].is_string() || (200..300).contains(&status)
}

/// Starts the replica server on a free port, sends [`smoke_request`], stops it.
fn serve_once(binary: &Path) -> Result<(u16, String), String> {
    let mut child = Command::new(binary)
        .env("PORT", "0")
        .envs(SMOKE_ENV.iter().copied())
        .env_remove("APPWRITE_API_KEY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
    let answer = ask(&mut child);
    let _ = child.kill();
    let _ = child.wait();
    answer
}

fn ask(child: &mut Child) -> Result<(u16, String), String> {
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|e| format!("reading the server's first line: {e}"))?;
    let addr = line.trim().strip_prefix("listening on ").ok_or_else(|| {
        format!(
            "the server printed `{}` instead of its address",
            line.trim()
        )
    })?;
    let mut stream = TcpStream::connect(addr).map_err(|e| format!("connect {addr}: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .map_err(|e| e.to_string())?;
    stream
        .write_all(smoke_request().as_bytes())
        .map_err(|e| format!("send: {e}"))?;
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .map_err(|e| format!("read: {e}"))?;
    parse_response(&String::from_utf8_lossy(&raw))
}

/// Status and body of an HTTP/1.1 response (`connection: close`, full or chunked body).
pub fn parse_response(raw: &str) -> Result<(u16, String), String> {
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("not an HTTP response: {raw:?}"))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status in {head:?}"))?;
    let chunked = head
        .lines()
        .any(|l| l.to_ascii_lowercase().replace(' ', "") == "transfer-encoding:chunked");
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_owned()
    };
    Ok((status, body))
}

fn dechunk(mut rest: &str) -> String {
    let mut body = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || after.len() < n {
            break;
        }
        body.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
    body
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_default()
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Makes `to` a copy of `from` (minus `target/`), rewriting only files that differ and
/// removing what `from` lacks.
fn sync_tree(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|e| format!("cannot create {}: {e}", to.display()))?;
    let mut wanted = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))? {
        let entry = entry.map_err(|e| e.to_string())?;
        let (path, name) = (entry.path(), entry.file_name());
        if name == "target" {
            continue;
        }
        wanted.insert(name.clone());
        let dest = to.join(&name);
        if path.is_dir() {
            if dest.is_file() {
                std::fs::remove_file(&dest).map_err(|e| e.to_string())?;
            }
            sync_tree(&path, &dest)?;
        } else {
            let data = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            if dest.is_dir() {
                std::fs::remove_dir_all(&dest).map_err(|e| e.to_string())?;
            }
            if std::fs::read(&dest).ok().as_deref() != Some(data.as_slice()) {
                std::fs::write(&dest, data).map_err(|e| format!("{}: {e}", dest.display()))?;
            }
        }
    }
    for entry in std::fs::read_dir(to).map_err(|e| format!("{}: {e}", to.display()))? {
        let entry = entry.map_err(|e| e.to_string())?;
        if !wanted.contains(&entry.file_name()) {
            let path = entry.path();
            let removed = if path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
            removed.map_err(|e| format!("cannot remove {}: {e}", path.display()))?;
        }
    }
    Ok(())
}
