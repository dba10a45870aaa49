//! Deployments of a function: multipart uploads, whole or in chunks, the build moved one step
//! on at each read, and activation (`Deployments/Create.php`, `Functions/Deployment/Update.php`).
//! Also the test-side control of builds.

use serde_json::{json, Value};

use super::{find_mut, function_not_found, Upload, CHUNK_SIZE};
use crate::wire::Answer;
use crate::State;

pub(super) fn activate(state: &mut State, id: &str, body: &Value) -> Answer {
    let Some(deployment_id) = body["deploymentId"].as_str() else {
        return Answer::missing_param("deploymentId");
    };
    let Some(deployment) = state
        .deployments
        .iter()
        .find(|d| d["$id"] == deployment_id && d["resourceId"] == id)
    else {
        return deployment_not_found();
    };
    if deployment["status"] != "ready" {
        return Answer::error(
            400,
            "build_not_ready",
            "Build with the requested ID is building and not ready for execution.",
        );
    }
    let Some(function) = find_mut(state, id) else {
        return function_not_found();
    };
    function["deploymentId"] = json!(deployment_id);
    Answer::json(200, function.clone())
}

/// One multipart part: its field name, file name and bytes.
struct Part<'a> {
    name: String,
    filename: Option<String>,
    data: &'a [u8],
}

fn find_bytes(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A small `multipart/form-data` reader (RFC 7578), enough for what clients send.
fn multipart<'a>(content_type: &str, raw: &'a [u8]) -> Option<Vec<Part<'a>>> {
    let boundary = content_type
        .split(';')
        .filter_map(|p| p.trim().strip_prefix("boundary="))
        .next()?
        .trim_matches('"');
    let delimiter = format!("--{boundary}");
    let mut parts = Vec::new();
    let mut rest = &raw[find_bytes(raw, delimiter.as_bytes())? + delimiter.len()..];
    loop {
        if rest.starts_with(b"--") {
            return Some(parts);
        }
        rest = rest.strip_prefix(b"\r\n")?;
        let head_end = find_bytes(rest, b"\r\n\r\n")?;
        let head = String::from_utf8_lossy(&rest[..head_end]).into_owned();
        let after = &rest[head_end + 4..];
        let end = find_bytes(after, format!("\r\n{delimiter}").as_bytes())?;
        let attribute = |key: &str| {
            let marker = format!("{key}=\"");
            let start = head.find(&marker)? + marker.len();
            let len = head[start..].find('"')?;
            Some(head[start..start + len].to_owned())
        };
        parts.push(Part {
            name: attribute(" name").or_else(|| attribute(";name"))?,
            filename: attribute("filename"),
            data: &after[..end],
        });
        rest = &after[end + 2 + delimiter.len()..];
    }
}

/// `bytes start-end/size`.
fn content_range(raw: &str) -> Option<(usize, usize, usize)> {
    let range = raw.trim().strip_prefix("bytes ")?;
    let (span, size) = range.split_once('/')?;
    let (start, end) = span.split_once('-')?;
    Some((start.parse().ok()?, end.parse().ok()?, size.parse().ok()?))
}

/// `POST /v1/functions/{id}/deployments`: a multipart upload, whole or one chunk of it.
pub(super) fn create_deployment(
    state: &mut State,
    function: &Value,
    upload: &Upload<'_>,
    raw: &[u8],
    now: &str,
) -> Answer {
    let id = function["$id"].as_str().unwrap_or_default().to_owned();
    let parts = upload
        .content_type
        .filter(|t| t.starts_with("multipart/form-data"))
        .and_then(|t| multipart(t, raw))
        .unwrap_or_default();
    let field = |name: &str| {
        parts
            .iter()
            .find(|p| p.name == name && p.filename.is_none())
            .map(|p| String::from_utf8_lossy(p.data).into_owned())
    };
    let entrypoint = field("entrypoint")
        .or_else(|| function["entrypoint"].as_str().map(str::to_owned))
        .unwrap_or_default();
    if entrypoint.is_empty() {
        return Answer::error(400, "function_entrypoint_missing", "Entrypoint for your Appwrite Function is missing. Please specify it when making deployment or update the entrypoint under your function's \"Settings\" > \"Configuration\" > \"Entrypoint\".");
    }
    let Some(code) = parts
        .iter()
        .find(|p| p.name == "code" && p.filename.is_some())
    else {
        return Answer::error(400, "storage_file_empty", "No file sent");
    };
    if !code
        .filename
        .as_deref()
        .unwrap_or_default()
        .ends_with(".gz")
    {
        return Answer::error(
            400,
            "storage_file_type_unsupported",
            "The given file extension is not supported.",
        );
    }
    let activate = matches!(field("activate").as_deref(), Some("true" | "1"));
    let (deployment_id, complete) = match receive(state, upload, code.data) {
        Ok(received) => received,
        Err(refused) => return refused,
    };
    let chunks_total = content_range(upload.content_range.unwrap_or(""))
        .map_or(1, |(_, _, size)| size.div_ceil(CHUNK_SIZE));
    let existing = state
        .deployments
        .iter()
        .position(|d| d["$id"] == deployment_id);
    let deployment = json!({"$id": deployment_id, "$createdAt": now, "$updatedAt": now,
        "type": "manual", "resourceId": id, "resourceType": "functions",
        "entrypoint": entrypoint, "buildCommands": field("commands").unwrap_or_default(),
        "sourceSize": complete.as_ref().map_or(0, Vec::len), "activate": activate,
        "status": "waiting", "buildLogs": "", "sourceChunksTotal": chunks_total,
        "sourceChunksUploaded": if complete.is_some() { chunks_total } else { 0 },
        "source": complete.as_ref().map_or(json!(null), |b| json!(b.len()))});
    match existing {
        Some(i) => state.deployments[i] = deployment.clone(),
        None => state.deployments.push(deployment.clone()),
    }
    if complete.is_some() {
        state.functions.uploads.remove(&deployment_id);
        state.sequence += 1;
        if let Some(f) = find_mut(state, &id) {
            f["latestDeploymentId"] = json!(deployment_id);
            f["latestDeploymentStatus"] = json!("waiting");
        }
    }
    Answer::json(202, deployment)
}

/// Stores the code of a whole upload or of one chunk: the deployment's id, and all its bytes
/// once every chunk has come.
fn receive(
    state: &mut State,
    upload: &Upload<'_>,
    data: &[u8],
) -> Result<(String, Option<Vec<u8>>), Answer> {
    let invalid_range = || {
        Answer::error(
            416,
            "storage_invalid_content_range",
            "The content range is invalid. Please check the value of the Content-Range header.",
        )
    };
    let Some(range) = upload.content_range else {
        state.sequence += 1;
        return Ok((format!("dep{}", state.sequence), Some(data.to_vec())));
    };
    let Some((start, end, size)) = content_range(range).filter(|(s, e, n)| s <= e && e < n) else {
        return Err(invalid_range());
    };
    let deployment_id = match upload.upload_id {
        Some(id) => id.to_owned(),
        None => {
            state.sequence += 1;
            format!("dep{}", state.sequence)
        }
    };
    let entry = state
        .functions
        .uploads
        .entry(deployment_id.clone())
        .or_insert_with(|| (vec![0; size], 0));
    if data.len() != end - start + 1 || entry.0.len() != size {
        return Err(invalid_range());
    }
    entry.0[start..=end].copy_from_slice(data);
    entry.1 += data.len();
    let done = (entry.1 >= size).then(|| entry.0.clone());
    Ok((deployment_id, done))
}

/// Reading a deployment moves its build one step on.
pub(super) fn build_step(state: &mut State, function: &str, deployment_id: &str) -> Answer {
    let fails = state.failing_builds.iter().any(|f| f == function);
    let stalls = state.functions.stalled.iter().any(|f| f == function);
    let Some(deployment) = state
        .deployments
        .iter_mut()
        .find(|d| d["$id"] == deployment_id && d["resourceId"] == function)
    else {
        return deployment_not_found();
    };
    let uploaded = deployment["sourceChunksUploaded"] == deployment["sourceChunksTotal"];
    let next = match deployment["status"].as_str().unwrap_or_default() {
        _ if !uploaded => "waiting",
        "waiting" => "processing",
        "processing" => "building",
        "building" if stalls => "building",
        "building" if fails => "failed",
        "building" => "ready",
        other => other,
    }
    .to_owned();
    deployment["status"] = json!(next);
    if next == "failed" {
        deployment["buildLogs"] = json!("error[E0308]: mismatched types (fake build failure)");
    }
    let activate = deployment["activate"] == true;
    let answer = deployment.clone();
    if let Some(f) = find_mut(state, function) {
        if f["latestDeploymentId"] == deployment_id {
            f["latestDeploymentStatus"] = json!(next);
        }
        if next == "ready" && activate {
            f["deploymentId"] = json!(deployment_id);
        }
    }
    Answer::json(200, answer)
}

/// Appwrite's answer for a deployment id the function does not have.
fn deployment_not_found() -> Answer {
    Answer::error(
        404,
        "deployment_not_found",
        "Deployment with the requested ID could not be found.",
    )
}

impl crate::FakeAppwrite {
    /// Makes every later deployment of `function` end its build as `failed`.
    pub fn fail_builds_of(&self, function: &str) {
        self.shared.lock().failing_builds.push(function.to_owned());
    }

    /// Makes every later build of `function` stay `building`.
    pub fn stall_builds_of(&self, function: &str) {
        self.shared
            .lock()
            .functions
            .stalled
            .push(function.to_owned());
    }

    /// The deployments of `function`, newest last.
    pub fn deployments(&self, function: &str) -> Vec<Value> {
        self.shared
            .lock()
            .deployments
            .iter()
            .filter(|d| d["resourceId"] == function)
            .cloned()
            .collect()
    }
}
