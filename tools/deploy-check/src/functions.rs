//! The functions of `appwrite.json`, deployed through Appwrite's REST API with the API key.
//!
//! CLI 12.0.1's `push functions` cannot run on a key: for a function it creates, it reads the
//! console's variables through `sdkForConsole()`, which throws `Session not found. Please run
//! appwrite login` without a console session, and it still exits 0 (`lib/commands/push.js`
//! `pushFunction`, `lib/sdks.js`). So the deploy does what `push functions` would, with calls a
//! key may make (Appwrite 1.9.6, `src/Appwrite/Platform/Modules/Functions/Http/`):
//!
//! 1. `GET /v1/functions/{id}`; `POST /v1/functions` when missing, `PUT /v1/functions/{id}`
//!    otherwise, with every setting of the function's `appwrite.json` entry
//!    (`Functions/Create.php`, `Update.php`; `specification` becomes both
//!    `buildSpecification` and `runtimeSpecification`, as request filter V21 does for the CLI);
//! 2. `POST /v1/functions/{id}/deployments`, multipart: `entrypoint`, `commands`,
//!    `activate=true` and `code`, the packaged bundle as a `.tar.gz`; above 5 MiB in chunks with
//!    `Content-Range: bytes start-end/size` and, after the first, `x-appwrite-id` naming the
//!    deployment (`Deployments/Create.php`, `APP_LIMIT_UPLOAD_CHUNK_SIZE`);
//! 3. `GET /v1/functions/{id}/deployments/{deploymentId}` until `ready` (`failed`, or the
//!    timeout, fails the deploy naming the function);
//! 4. `GET /v1/functions/{id}`: when its `deploymentId` is not the new deployment,
//!    `PATCH /v1/functions/{id}/deployment` activates it (`Functions/Deployment/Update.php`).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use shared::appwrite::{segment, AppwriteClient, Method};

use crate::remote::{send, Settings};

/// Appwrite's upload chunk (`app/init/constants.php` `APP_LIMIT_UPLOAD_CHUNK_SIZE`).
pub const CHUNK_SIZE: usize = 5 * 1024 * 1024;

/// How long a build may take before the deploy gives up: Appwrite's default
/// `_APP_COMPUTE_BUILD_TIMEOUT` (900 s) plus a minute in the queue. `JOBS_DEPLOY_BUILD_TIMEOUT_SECONDS`
/// overrides it.
pub const BUILD_TIMEOUT: Duration = Duration::from_secs(960);

/// The body of `POST /v1/functions` for one `appwrite.json` function entry (`PUT` takes the same
/// without `functionId`).
pub fn create_body(function: &Value) -> Value {
    let mut body = json!({
        "functionId": function["$id"],
        "name": function.get("name").unwrap_or(&function["$id"]),
        "runtime": function["runtime"],
    });
    for key in [
        "execute",
        "events",
        "schedule",
        "timeout",
        "enabled",
        "logging",
        "entrypoint",
        "commands",
        "scopes",
    ] {
        if let Some(value) = function.get(key) {
            body[key] = value.clone();
        }
    }
    if let Some(spec) = function.get("specification").filter(|s| s.is_string()) {
        body["buildSpecification"] = spec.clone();
        body["runtimeSpecification"] = spec.clone();
    }
    body
}

/// Creates the function or updates its settings. Returns `created` or `updated`.
pub fn upsert(api: &AppwriteClient, function: &Value) -> Result<&'static str, String> {
    let id = function["$id"].as_str().unwrap_or_default();
    let path = format!("/functions/{}", segment(id));
    let body = create_body(function);
    match send(api, Method::GET, &path, None) {
        Ok(remote) => {
            if remote["runtime"] != function["runtime"] {
                return Err(format!(
                    "{id}: runtime mismatch (appwrite.json {}, Appwrite {}): delete the function in the console or change appwrite.json",
                    function["runtime"], remote["runtime"]
                ));
            }
            let mut update = body;
            if let Some(map) = update.as_object_mut() {
                map.remove("functionId");
            }
            send(api, Method::PUT, &path, Some(update))
                .map_err(|e| format!("{id}: cannot update the function: {e}"))?;
            Ok("updated")
        }
        Err(e) if e.status() == Some(404) => {
            send(api, Method::POST, "/functions", Some(body))
                .map_err(|e| format!("{id}: cannot create the function: {e}"))?;
            Ok("created")
        }
        Err(e) => Err(format!("{id}: cannot read the function: {e}")),
    }
}

/// The bundle folder as a gzipped tar (what `POST …/deployments` accepts), without `target/`
/// (appwrite.json's `ignore`). Uses the system `tar`, as no archive crate is in the lock.
pub fn archive(dir: &Path) -> Result<Vec<u8>, String> {
    let out = Command::new("tar")
        .args(["-czf", "-", "--exclude=./target", "-C"])
        .arg(dir)
        .arg(".")
        .output()
        .map_err(|e| format!("cannot run tar: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "tar of {} failed: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(out.stdout)
}

/// A `multipart/form-data` body (RFC 7578): text fields, then the file as `code`.
fn multipart(boundary: &str, fields: &[(&str, &str)], file_name: &str, file: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(file.len() + 512);
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"code\"; filename=\"{file_name}\"\r\nContent-Type: application/gzip\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    body
}

/// The `Content-Range` of each chunk of a `size`-byte upload, or none when it fits in one.
pub fn chunks(size: usize) -> Vec<(usize, usize)> {
    if size <= CHUNK_SIZE {
        return vec![(0, size)];
    }
    (0..size)
        .step_by(CHUNK_SIZE)
        .map(|start| (start, (start + CHUNK_SIZE).min(size)))
        .collect()
}

/// Uploads `code` as a new deployment of `function`, activated once built. Returns its id.
pub fn upload(settings: &Settings, function: &Value, code: &[u8]) -> Result<String, String> {
    let id = function["$id"].as_str().unwrap_or_default();
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(300))
        .build()
        .map_err(|e| format!("{id}: no HTTP client: {e}"))?;
    let url = format!(
        "{}/functions/{}/deployments",
        settings.endpoint,
        segment(id)
    );
    let boundary = format!("jobmanager-{}", shared::random::hex(12));
    let entrypoint = function["entrypoint"].as_str().unwrap_or_default();
    let commands = function["commands"].as_str().unwrap_or_default();
    let fields = [
        ("entrypoint", entrypoint),
        ("commands", commands),
        ("activate", "true"),
    ];
    let file_name = format!("{id}.tar.gz");
    let ranges = chunks(code.len());
    let mut deployment: Option<String> = None;
    for (start, end) in &ranges {
        let mut req = http
            .post(&url)
            .header("X-Appwrite-Project", &settings.project_id)
            .header("X-Appwrite-Key", &settings.api_key)
            .header("Accept", "application/json")
            .header(
                "Content-Type",
                format!("multipart/form-data; boundary={boundary}"),
            );
        if ranges.len() > 1 {
            req = req.header(
                "Content-Range",
                format!("bytes {start}-{}/{}", end - 1, code.len()),
            );
        }
        if let Some(d) = &deployment {
            req = req.header("x-appwrite-id", d);
        }
        let body = multipart(&boundary, &fields, &file_name, &code[*start..*end]);
        let resp = req
            .body(body)
            .send()
            .map_err(|e| format!("{id}: upload failed: {}", e.without_url()))?;
        let status = resp.status().as_u16();
        let answer: Value = resp.json().unwrap_or(Value::Null);
        if !(200..300).contains(&status) {
            return Err(format!(
                "{id}: Appwrite refused the deployment upload: {status} `{}`: {}",
                answer["type"].as_str().unwrap_or_default(),
                answer["message"].as_str().unwrap_or_default()
            ));
        }
        if deployment.is_none() {
            deployment = answer["$id"].as_str().map(str::to_owned);
        }
    }
    deployment.ok_or_else(|| format!("{id}: Appwrite answered the upload without a deployment id"))
}

/// The build timeout: `JOBS_DEPLOY_BUILD_TIMEOUT_SECONDS`, or [`BUILD_TIMEOUT`].
pub fn build_timeout() -> Duration {
    std::env::var("JOBS_DEPLOY_BUILD_TIMEOUT_SECONDS")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .map_or(BUILD_TIMEOUT, Duration::from_secs)
}

/// Waits until every `(function, deployment)` is `ready`, polling them all in rounds. Fails
/// naming every function whose build failed or did not finish within `timeout`.
pub fn wait_ready(
    api: &AppwriteClient,
    pending: &[(String, String)],
    timeout: Duration,
) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    let mut waiting: Vec<&(String, String)> = pending.iter().collect();
    let mut failed = Vec::new();
    let mut pause = Duration::from_millis(200);
    let mut last_status = std::collections::HashMap::new();
    while !waiting.is_empty() {
        let mut still = Vec::new();
        for pair in waiting {
            let (function, deployment) = pair;
            let path = format!(
                "/functions/{}/deployments/{}",
                segment(function),
                segment(deployment)
            );
            let answer = send(api, Method::GET, &path, None)
                .map_err(|e| format!("cannot read deployment {deployment} of {function}: {e}"))?;
            let status = answer["status"].as_str().unwrap_or_default().to_owned();
            match status.as_str() {
                "ready" => println!("ready: {function} deployment {deployment}"),
                "failed" | "canceled" => {
                    let logs = answer["buildLogs"].as_str().unwrap_or_default();
                    let tail: String = logs.lines().rev().take(3).collect::<Vec<_>>().join(" | ");
                    failed.push(format!(
                        "{function}: deployment {deployment} is `{status}` (build log ends: {tail})"
                    ));
                }
                _ => {
                    if last_status.insert(function.clone(), status.clone()) != Some(status.clone())
                    {
                        println!("waiting: {function} deployment {deployment} is {status}");
                    }
                    still.push(pair);
                }
            }
        }
        waiting = still;
        if waiting.is_empty() {
            break;
        }
        if Instant::now() >= deadline {
            for (function, deployment) in &waiting {
                failed.push(format!(
                    "{function}: deployment {deployment} still `{}` after {} s",
                    last_status.get(function).map_or("", String::as_str),
                    timeout.as_secs()
                ));
            }
            break;
        }
        std::thread::sleep(pause.min(deadline.saturating_duration_since(Instant::now())));
        pause = (pause * 2).min(Duration::from_secs(5));
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("not deployed: {}", failed.join("; ")))
    }
}

/// Makes `deployment` the function's active one (Appwrite activates it itself after a `ready`
/// build uploaded with `activate=true`; this covers a build that finished while another
/// deployment was activated by hand, and proves it).
pub fn ensure_active(api: &AppwriteClient, function: &str, deployment: &str) -> Result<(), String> {
    let path = format!("/functions/{}", segment(function));
    let remote = send(api, Method::GET, &path, None)
        .map_err(|e| format!("{function}: cannot read the function: {e}"))?;
    if remote["deploymentId"] == deployment {
        return Ok(());
    }
    send(
        api,
        Method::PATCH,
        &format!("{path}/deployment"),
        Some(json!({"deploymentId": deployment})),
    )
    .map_err(|e| format!("{function}: cannot activate deployment {deployment}: {e}"))?;
    println!("activated: {function} deployment {deployment}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uploads_above_five_mebibytes_go_in_chunks_that_cover_every_byte_once() {
        assert_eq!(chunks(10), [(0, 10)]);
        assert_eq!(chunks(CHUNK_SIZE), [(0, CHUNK_SIZE)]);
        let size = 2 * CHUNK_SIZE + 7;
        assert_eq!(
            chunks(size),
            [
                (0, CHUNK_SIZE),
                (CHUNK_SIZE, 2 * CHUNK_SIZE),
                (2 * CHUNK_SIZE, size)
            ]
        );
    }

    #[test]
    fn the_create_body_carries_every_setting_and_both_specifications() {
        let function = json!({"$id": "job-actions", "name": "job-actions", "runtime": "rust-1.83",
            "specification": "s-2vcpu-2gb", "execute": ["any"], "events": [], "scopes": ["rows.read"],
            "schedule": "", "timeout": 30, "enabled": true, "logging": true,
            "entrypoint": "main.rs", "commands": "", "path": "dist/job-actions", "ignore": ["target"]});
        let body = create_body(&function);
        assert_eq!(body["functionId"], "job-actions");
        assert_eq!(body["buildSpecification"], "s-2vcpu-2gb");
        assert_eq!(body["runtimeSpecification"], "s-2vcpu-2gb");
        assert_eq!(body["timeout"], 30);
        assert!(body.get("path").is_none() && body.get("ignore").is_none());
    }

    #[test]
    fn the_multipart_body_names_the_file_and_ends_with_the_closing_boundary() {
        let body = multipart("b0", &[("activate", "true")], "f.tar.gz", b"\x1f\x8b");
        let text = String::from_utf8_lossy(&body);
        assert!(text.starts_with(
            "--b0\r\nContent-Disposition: form-data; name=\"activate\"\r\n\r\ntrue\r\n"
        ));
        assert!(text.contains("name=\"code\"; filename=\"f.tar.gz\""));
        assert!(text.ends_with("\r\n--b0--\r\n"));
    }
}
