//! `jobs-dev`'s Realtime events and webhook deliveries held against what a real Appwrite 1.9.6
//! sent for the same calls (`tests/fixtures/appwrite-1.9.6/README.md`), field by field: the same
//! members at every level (JSON text such as `pendingLog` compared by what it holds), the same
//! JSON types, times with `+00:00`, the same values wherever the calls decide them, the same
//! `channels[]` and `events[]` once row ids are written alike, the same webhook headers.
//!
//! What may differ is what the run decides, not the server: ids (rows, events, executions,
//! subscriptions, users), times, `$sequence` numbers and the rig's names. The `jobs` table has
//! had a `claims` column since the capture; it is checked to be there and then set aside.
//! Every wait is for a message or a delivery, with a generous timeout against a hang.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::{self, Message, WebSocket};

use super::{spawn_app, spawn_app_with, App, KEY};

/// How long a wait for one message or delivery may take before the test calls it a hang.
const HANG: Duration = Duration::from_secs(60);

/// The channels the captured socket was opened with.
const CHANNELS: [&str; 2] = [
    "tablesdb.jobmanager.tables.jobs.rows",
    "tablesdb.jobmanager.tables.job_events.rows",
];

/// Members whose value is an id the run chose, a sequence number, or how the rig's user holds
/// its role: compared by type only.
const RUN_VALUES: [&str; 11] = [
    "$id",
    "functionId",
    "jobId",
    "eventId",
    "$sequence",
    "$collection",
    "actor",
    "lastActor",
    "subscriptions",
    "deploymentId",
    "roleSource",
];

fn captured(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/appwrite-1.9.6/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Whether `text` is a datetime as Appwrite answers it (`2026-12-07T00:37:46.474+00:00`).
fn is_time(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 29
        && text.ends_with("+00:00")
        && b[10] == b'T'
        && chrono::DateTime::parse_from_rfc3339(text).is_ok()
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "integer",
        Value::String(s) if is_time(s) => "time",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// JSON text inside a string (a JSON column, `pendingLog`), if the string holds some.
fn json_text(v: &Value) -> Option<Value> {
    let s = v.as_str()?;
    if !(s.starts_with('{') || s.starts_with('[')) {
        return None;
    }
    serde_json::from_str(s).ok()
}

/// Every way `ours` differs from `theirs` at `path`, ids and times aside.
fn differences(path: &str, ours: &Value, theirs: &Value, out: &mut Vec<String>) {
    let leaf = path.rsplit('.').next().unwrap_or("");
    if let (Some(o), Some(t)) = (json_text(ours), json_text(theirs)) {
        return differences(&format!("{path}(json)"), &o, &t, out);
    }
    if kind(ours) != kind(theirs) {
        out.push(format!(
            "{path}: {} {ours} where Appwrite sent {} {theirs}",
            kind(ours),
            kind(theirs)
        ));
        return;
    }
    match (ours, theirs) {
        (Value::Object(o), Value::Object(t)) => {
            let (ok, tk): (BTreeSet<_>, BTreeSet<_>) = (o.keys().collect(), t.keys().collect());
            for k in ok.difference(&tk) {
                out.push(format!("{path}.{k}: not sent by Appwrite"));
            }
            for k in tk.difference(&ok) {
                out.push(format!("{path}.{k}: missing"));
            }
            for k in ok.intersection(&tk) {
                differences(&format!("{path}.{k}"), &o[*k], &t[*k], out);
            }
        }
        (Value::Array(o), Value::Array(t)) => {
            if RUN_VALUES.contains(&leaf) {
                return;
            }
            if o.len() != t.len() {
                out.push(format!(
                    "{path}: {} items where Appwrite sent {}",
                    o.len(),
                    t.len()
                ));
            }
            for (i, (a, b)) in o.iter().zip(t).enumerate() {
                differences(&format!("{path}[{i}]"), a, b, out);
            }
        }
        _ if kind(ours) == "time" || RUN_VALUES.contains(&leaf) => {}
        _ if ours != theirs => out.push(format!("{path}: {ours} where Appwrite sent {theirs}")),
        _ => {}
    }
}

#[track_caller]
fn assert_same_shape(what: &str, ours: &Value, theirs: &Value) {
    let mut out = Vec::new();
    differences(what, ours, theirs, &mut out);
    assert!(
        out.is_empty(),
        "{what} differs from Appwrite's:\n{}",
        out.join("\n")
    );
}

/// A captured list of names with `ids` written as `<id>`, as a set.
fn names(list: &Value, ids: &[&str]) -> BTreeSet<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|n| {
            ids.iter().fold(n.as_str().unwrap().to_owned(), |n, id| {
                n.replace(id, "<id>")
            })
        })
        .collect()
}

/// A Realtime socket on the dev server, opened as the development user.
struct Socket(WebSocket<TcpStream>);

impl Socket {
    fn open(app: &App, channels: &[&str]) -> Socket {
        let authority = app.url.trim_start_matches("http://");
        let stream = TcpStream::connect(authority).unwrap();
        stream.set_read_timeout(Some(HANG)).unwrap();
        let mut url = format!("ws://{authority}/v1/realtime?project=jobmanager");
        for c in channels {
            url.push_str(&format!("&channels%5B%5D={c}"));
        }
        let (ws, _) = tungstenite::client::client(url.as_str(), stream).unwrap();
        Socket(ws)
    }

    /// The next message (a read past `HANG` fails the test).
    fn next(&mut self) -> Value {
        loop {
            match self.0.read().expect("a Realtime message") {
                Message::Text(t) => return serde_json::from_str(t.as_str()).unwrap(),
                Message::Close(_) => panic!("the socket closed"),
                _ => continue,
            }
        }
    }

    fn send(&mut self, message: Value) {
        self.0.send(Message::text(message.to_string())).unwrap();
    }

    /// The next `event` message, its `payload`'s table and action checked.
    fn event(&mut self, table: &str, action: &str) -> Value {
        let message = self.next();
        assert_eq!(message["type"], "event", "{message}");
        let data = &message["data"];
        assert_eq!(data["payload"]["$tableId"], table, "{message}");
        let first = data["events"][0].as_str().unwrap();
        assert!(first.ends_with(&format!(".{action}")), "{first}");
        message
    }
}

/// `ours` against the captured event `file`: the message's members, the payload field by
/// field, and `channels[]` / `events[]` with each side's row id as `<id>`.
#[track_caller]
fn assert_like_captured(ours: &Value, file: &str) {
    let theirs = captured(file);
    let mut ours = ours.clone();
    let payload = &mut ours["data"]["payload"];
    if payload["$tableId"] == "jobs" {
        let claims = payload
            .as_object_mut()
            .unwrap()
            .remove("claims")
            .expect("the claims column");
        assert!(claims.is_null() || claims.is_string(), "{claims}");
    }
    let (our_id, their_id) = (
        ours["data"]["payload"]["$id"].as_str().unwrap().to_owned(),
        theirs["data"]["payload"]["$id"].as_str().unwrap(),
    );
    // Sets: Appwrite's own order of event names varies from one event to the next.
    for list in ["channels", "events"] {
        assert_eq!(
            names(&ours["data"][list], &[&our_id]),
            names(&theirs["data"][list], &[their_id]),
            "{file}: {list}"
        );
        assert_eq!(
            ours["data"][list].as_array().unwrap().len(),
            theirs["data"][list].as_array().unwrap().len(),
            "{file}: {list} without repeats"
        );
        ours["data"][list] = theirs["data"][list].clone();
    }
    assert_same_shape(file, &ours, &theirs);
}

fn pending_log(message: &Value) -> Vec<Value> {
    let text = message["data"]["payload"]["pendingLog"].as_str().unwrap();
    let wrapped: Value = serde_json::from_str(text).unwrap();
    wrapped["data"].as_array().unwrap().clone()
}

/// The message of the captured run's progress report: text Appwrite would read as an operator.
const OPERATOR_TEXT: &str = r#"{"method":"increment","values":[1]}"#;

#[test]
fn realtime_events_for_a_hooked_job_are_shaped_like_appwrites() {
    let app = spawn_app("operator");
    let mut socket = Socket::open(&app, &CHANNELS);
    let connected = socket.next();
    let real = captured("realtime-connected.json");
    assert_eq!(connected["type"], "connected");
    assert_eq!(connected["data"]["channels"], real["data"]["channels"]);
    let members = |m: &Value| {
        m["data"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(members(&connected), members(&real));

    // The captured run, call by call: a hook start, a progress report with a checkpoint, a pause
    // and a resume by the operator, the worker's new start and its completion.
    let started = app.hook(
        json!({"event": "start", "referenceId": "rt-q3", "total": 200,
        "message": "starting", "idempotencyKey": "rt:q3", "metadata": {"note": OPERATOR_TEXT}}),
    );
    let id = started["job"]["$id"].as_str().unwrap().to_owned();
    let created = socket.event("jobs", "create");
    assert_like_captured(&created, "realtime-jobs-row-create.json");

    app.hook(
        json!({"event": "progress", "jobId": id, "run": started["run"], "done": 50,
        "message": OPERATOR_TEXT, "checkpoint": {"sent": 50}}),
    );
    let first = socket.event("jobs", "update");
    assert_like_captured(&first, "realtime-jobs-row-update-first.json");

    let (code, _) = app.action(
        "POST",
        &format!("/v1/jobs/{id}/pause"),
        json!({"reason": "rt pause"}),
    );
    assert_eq!(code, 200);
    assert_eq!(pending_log(&socket.event("jobs", "update")).len(), 3);
    let (code, _) = app.action("POST", &format!("/v1/jobs/{id}/resume"), json!({}));
    assert_eq!(code, 200);
    assert_eq!(pending_log(&socket.event("jobs", "update")).len(), 4);
    let restarted = app.hook(json!({"event": "start", "referenceId": "rt-q3", "jobId": id}));
    assert_eq!(pending_log(&socket.event("jobs", "update")).len(), 5);
    app.hook(
        json!({"event": "complete", "jobId": id, "run": restarted["run"],
        "result": {"sent": 200}}),
    );
    let accumulated = socket.event("jobs", "update");
    assert_like_captured(
        &accumulated,
        "realtime-jobs-row-update-accumulated-pendingLog.json",
    );

    // A second job that logs past the outbox's 20 entries: no job_events event until the cut,
    // then the 11 oldest entries as upserts, before the row that keeps the newest 10.
    let second = app.hook(json!({"event": "start", "referenceId": "rt-cut", "total": 200}));
    let second_id = second["job"]["$id"].as_str().unwrap().to_owned();
    assert_eq!(pending_log(&socket.event("jobs", "create")).len(), 1);
    for i in 1..=19u64 {
        app.hook(
            json!({"event": "progress", "jobId": second_id, "run": second["run"],
            "done": i * 8, "message": format!("batch {i}")}),
        );
        let update = socket.event("jobs", "update");
        assert_eq!(pending_log(&update).len(), i as usize + 1, "{update}");
    }
    app.hook(
        json!({"event": "progress", "jobId": second_id, "run": second["run"],
        "done": 160, "message": "batch 20"}),
    );
    let upserted: Vec<Value> = (0..11)
        .map(|_| socket.event("job_events", "upsert"))
        .collect();
    assert_like_captured(&upserted[0], "realtime-job_events-row-upsert.json");
    assert_eq!(upserted[0]["data"]["payload"]["jobId"], second_id.as_str());
    for (n, e) in upserted.iter().enumerate().skip(1) {
        assert_eq!(e["data"]["payload"]["kind"], "progress", "{e}");
        assert_eq!(e["data"]["payload"]["message"], format!("batch {n}"));
    }
    let kept = pending_log(&socket.event("jobs", "update"));
    assert_eq!(kept.len(), 10);
    assert_eq!(kept[0]["message"], "batch 11");

    // Appwrite's answers to a ping and to a later subscribe.
    socket.send(json!({"type": "ping"}));
    assert_eq!(socket.next(), captured("realtime-pong.json"));
    let channel = format!("tablesdb.jobmanager.tables.jobs.rows.{id}");
    socket.send(json!({"type": "subscribe", "data": [
        {"subscriptionId": "sub-late", "channels": [channel], "queries": []}]}));
    let real = captured("realtime-subscribe-response.json");
    let real_channel = real["data"]["subscriptions"][0]["channels"][0]
        .as_str()
        .unwrap();
    let expected = real.to_string().replace(real_channel, &channel);
    assert_eq!(
        socket.next(),
        serde_json::from_str::<Value>(&expected).unwrap()
    );
}

/// One request the recorder received.
struct Delivery {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Delivery {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn body(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// A webhook target on a free port that keeps every request and answers 200; its URL (with the
/// captured rig's path and query) and the requests as they come.
fn recorder() -> (String, mpsc::Receiver<Delivery>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook?x=1", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let tx = tx.clone();
            std::thread::spawn(move || record(stream, &tx));
        }
    });
    (url, rx)
}

/// Reads requests off one connection (kept alive or not) until it closes.
fn record(stream: TcpStream, tx: &mpsc::Sender<Delivery>) {
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let (method, path) = (
            parts.next().unwrap_or("").to_owned(),
            parts.next().unwrap_or("").to_owned(),
        );
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            reader.read_line(&mut h).unwrap();
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            let (name, value) = h.split_once(':').unwrap();
            headers.push((name.to_owned(), value.trim().to_owned()));
        }
        let length = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .map_or(0, |(_, v)| v.parse().unwrap());
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let _ = writer.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        let _ = tx.send(Delivery {
            method,
            path,
            headers,
            body,
        });
    }
}

#[test]
fn webhook_deliveries_for_a_failed_async_execution_are_shaped_like_appwrites() {
    let (url, deliveries) = recorder();
    let secret = "e2e-webhook-secret-0123456789";
    let (app, _) = spawn_app_with(
        "operator",
        &[
            ("JOBS_DEV_WEBHOOK_URL", url.as_str()),
            (
                "JOBS_DEV_WEBHOOK_EVENTS",
                "functions.job-retention.executions.*",
            ),
            ("JOBS_DEV_WEBHOOK_SECRET", secret),
            // An invalid setting makes the retention run answer 500: a failed execution.
            ("JOBS_RETENTION_KEEP", "many"),
        ],
    );
    let res = app
        .http
        .post(format!("{}/v1/functions/job-retention/executions", app.url))
        .header("x-appwrite-key", KEY)
        .json(
            &json!({"async": true, "body": "", "path": "/", "method": "POST",
            "headers": {"content-type": "application/json"}}),
        )
        .send()
        .unwrap();
    assert_eq!(res.status().as_u16(), 202);
    let execution = res.json::<Value>().unwrap()["$id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut got: Vec<Delivery> = (0..2)
        .map(|_| deliveries.recv_timeout(HANG).expect("a delivery"))
        .collect();
    // Each delivery is its own request: ordered here by its action, not by arrival.
    got.sort_by_key(|d| {
        d.header("X-Appwrite-Webhook-Events")
            .unwrap_or("")
            .contains(".update")
    });
    for (ours, file) in got.iter().zip([
        "webhook-execution-1-create-waiting.json",
        "webhook-execution-2-update-failed.json",
    ]) {
        let theirs = captured(file);
        assert_eq!(ours.method, theirs["method"], "{file}");
        assert_eq!(ours.path, theirs["path"], "{file}");
        let header = |name: &str| {
            theirs["headers"]
                .as_array()
                .unwrap()
                .iter()
                .find_map(|h| (h[0] == name).then(|| h[1].as_str().unwrap().to_owned()))
        };
        let our_names: BTreeSet<&str> = ours.headers.iter().map(|(n, _)| n.as_str()).collect();
        let their_names: BTreeSet<&str> = theirs["headers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h[0].as_str().unwrap())
            .collect();
        assert_eq!(our_names, their_names, "{file}: header names as sent");
        for name in ["Accept", "Content-Type"] {
            assert_eq!(ours.header(name), header(name).as_deref(), "{file}: {name}");
        }
        let agent = |a: &str| a.split_once(". ").map(|(_, rest)| rest.to_owned());
        assert_eq!(
            ours.header("User-Agent").and_then(agent),
            header("User-Agent").as_deref().and_then(agent),
            "{file}: User-Agent apart from the version"
        );
        assert!(ours
            .header("User-Agent")
            .unwrap()
            .starts_with("Appwrite-Server v"));
        assert_eq!(
            ours.header("Content-Length"),
            Some(ours.body.len().to_string().as_str())
        );
        let their_body = &theirs["body"];
        let their_ids = [
            their_body["$id"].as_str().unwrap(),
            their_body["functionId"].as_str().unwrap(),
        ];
        let events = |text: &str, ids: &[&str]| -> Vec<String> {
            text.split(',')
                .map(|n| ids.iter().fold(n.to_owned(), |n, id| n.replace(id, "<id>")))
                .collect()
        };
        assert_eq!(
            events(
                ours.header("X-Appwrite-Webhook-Events").unwrap(),
                &[&execution, "job-retention"]
            ),
            events(&header("X-Appwrite-Webhook-Events").unwrap(), &their_ids),
            "{file}: event names, in Appwrite's order"
        );
        assert_eq!(
            ours.header("X-Appwrite-Webhook-Project-Id"),
            Some("jobmanager")
        );
        let signature = ours.header("X-Appwrite-Webhook-Signature").unwrap();
        assert_eq!(
            signature.len(),
            header("X-Appwrite-Webhook-Signature").unwrap().len()
        );
        assert!(job_observer::signature::verify(
            &url, &ours.body, secret, signature
        ));
        // The body as PHP's json_encode writes it: `/` escaped.
        let raw = String::from_utf8(ours.body.clone()).unwrap();
        assert!(raw.contains(r#""requestPath":"\/""#), "{raw}");

        let mut body = ours.body();
        assert_eq!(body["$id"], execution.as_str());
        // The run's values, not the server's: what the function answered and logged, and the
        // request's headers; their types are Appwrite's.
        for member in [
            "logs",
            "errors",
            "responseHeaders",
            "requestHeaders",
            "duration",
        ] {
            assert_eq!(
                kind(&body[member]),
                kind(&their_body[member]),
                "{file}: {member}"
            );
            for item in body[member].as_array().into_iter().flatten() {
                let keys: Vec<&String> = item.as_object().unwrap().keys().collect();
                assert_eq!(keys, ["name", "value"], "{file}: {member}");
            }
            body[member] = their_body[member].clone();
        }
        assert_same_shape(file, &body, their_body);
    }
    let update = got[1].body();
    assert!(update["duration"].is_f64(), "{update}");
    assert!(update["responseHeaders"].is_array(), "{update}");
    assert!(
        update["errors"].is_string() && update["logs"].is_string(),
        "{update}"
    );
}
