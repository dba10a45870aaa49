//! A `jobs-dev` process whose whole stdout and stderr are kept (for the secrets scan) and whose
//! pid is known (for the memory samples of the load test), on a free port and a temp data dir.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

pub struct Captured {
    pub child: Child,
    pub url: String,
    pub http: reqwest::blocking::Client,
    pub key: String,
    pub stdout: Arc<Mutex<String>>,
    pub stderr: Arc<Mutex<String>>,
    pub data: tempfile::TempDir,
    /// The stdout and stderr readers: joined after the process exits, so the kept output is
    /// complete when a scan reads it.
    readers: Vec<std::thread::JoinHandle<()>>,
}

impl Captured {
    pub fn start(key: &str, vars: &[(&str, &str)]) -> Captured {
        let data = tempfile::tempdir().unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_jobs-dev"));
        for (k, v) in vars {
            command.env(k, v);
        }
        let mut child = command
            .env("JOBS_DEV_PORT", "0")
            .env("JOBS_DEV_DATA_DIR", data.path())
            .env("JOBS_DEV_KEY", key)
            .env("JOBS_DEV_ROLE", "operator")
            .env("JOBS_DEV_DEMO", "0")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("jobs-dev starts");
        let (stdout, stderr) = (
            Arc::new(Mutex::new(String::new())),
            Arc::new(Mutex::new(String::new())),
        );
        let (tx, rx) = std::sync::mpsc::channel();
        let out = child.stdout.take().unwrap();
        let kept = stdout.clone();
        let out_reader = std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if let Some(url) = line.split("ready at ").nth(1) {
                    let url = url.trim_end_matches(" (Ctrl-C to stop)");
                    let _ = tx.send(url.trim_end_matches("/jobs").to_owned());
                }
                let mut kept = kept.lock().unwrap();
                kept.push_str(&line);
                kept.push('\n');
            }
        });
        let mut err = child.stderr.take().unwrap();
        let kept = stderr.clone();
        let err_reader = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                kept.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("jobs-dev prints its URL");
        Captured {
            child,
            url,
            // A generous per-request timeout: it only tells a hung request from a slow one.
            http: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
            key: key.to_owned(),
            readers: vec![out_reader, err_reader],
            stdout,
            stderr,
            data,
        }
    }

    /// `POST /v1/functions/{id}/executions` with `key` (or as the dev identity when `None`);
    /// answers the HTTP status and the raw body.
    pub fn execute(
        &self,
        function: &str,
        key: Option<&str>,
        method: &str,
        path: &str,
        body: &str,
    ) -> reqwest::Result<(u16, String)> {
        let mut req = self
            .http
            .post(format!("{}/v1/functions/{function}/executions", self.url))
            .header("x-appwrite-project", "jobmanager")
            .json(&json!({
                "body": body, "async": false, "path": path, "method": method,
                "headers": {"content-type": "application/json"},
            }));
        if let Some(key) = key {
            req = req.header("x-appwrite-key", key);
        }
        let res = req.send()?;
        let status = res.status().as_u16();
        Ok((status, res.text()?))
    }

    /// A sync execution with the server key that must be accepted; answers the function's
    /// status and JSON body.
    pub fn run(&self, function: &str, method: &str, path: &str, body: &str) -> (u16, Value) {
        let (status, text) = self
            .execute(function, Some(&self.key.clone()), method, path, body)
            .expect("the dev server answers");
        assert_eq!(status, 201, "execution refused: {text}");
        let doc: Value = serde_json::from_str(&text).unwrap();
        let code = doc["responseStatusCode"].as_u64().unwrap() as u16;
        let body = doc["responseBody"].as_str().unwrap_or("");
        (code, serde_json::from_str(body).unwrap_or(Value::Null))
    }

    /// The server process's resident set size, from `/proc`.
    pub fn rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()
    }

    /// Stops the server with SIGTERM and waits for it, so its output is complete.
    pub fn stop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
        // The readers reach end-of-file once the process is gone; after the join every byte it
        // wrote is kept.
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
    }
}

impl Drop for Captured {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.stop();
        }
    }
}
