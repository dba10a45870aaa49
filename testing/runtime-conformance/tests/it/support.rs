//! Starts the conformance binary (the shim serving `runtime_conformance::main`) as a child process on
//! port 0 with its own logs and telemetry directories, the way the public suite runs a
//! container. A real process is used because native stdout capture works on fds 1/2, which the
//! test harness would otherwise share with every test.

use crate::client::{Conn, Reply};
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

pub const SECRET: &str = "test-secret-key";
pub const ENFORCED_HEADERS: &str =
    r#"{"x-custom":"value","X-CUSTOM-UPPERCASE":"Value2","x-open-runtimes-custom":248}"#;

pub struct App {
    pub addr: SocketAddr,
    pub root: tempfile::TempDir,
    pub logs_dir: PathBuf,
    /// The secret the helpers send; tests change it to send wrong ones.
    pub secret: String,
    child: Child,
    stdout: Arc<Mutex<String>>,
}

/// The suite's main server (`serve`): a secret, enforced headers, `CUSTOM_ENV_VAR`.
pub fn spawn_app() -> App {
    spawn_app_with(&[
        ("OPEN_RUNTIMES_SECRET", SECRET),
        ("OPEN_RUNTIMES_HEADERS", ENFORCED_HEADERS),
        ("OPEN_RUNTIMES_ENV", "production"),
        ("CUSTOM_ENV_VAR", "customValue"),
    ])
}

/// The suite's secondary server: no secret, no enforced headers, development mode.
pub fn spawn_secondary_app() -> App {
    spawn_app_with(&[
        ("OPEN_RUNTIMES_SECRET", ""),
        ("OPEN_RUNTIMES_HEADERS", ""),
        ("OPEN_RUNTIMES_ENV", "development"),
    ])
}

pub fn spawn_app_with(env: &[(&str, &str)]) -> App {
    let root = tempfile::tempdir().expect("temp dir");
    let logs_dir = root.path().join("logs");
    let telemetry_dir = root.path().join("telemetry");
    std::fs::create_dir_all(&telemetry_dir).unwrap();
    std::fs::write(
        telemetry_dir.join("timings.txt"),
        "local_download=0.012\nremote_download=1.5\nextract=0.25\n",
    )
    .unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_conformance"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("OPEN_RUNTIMES_LISTEN_ADDR", "127.0.0.1")
        .env("OPEN_RUNTIMES_PORT", "0")
        .env("OPEN_RUNTIMES_LOGS_DIR", &logs_dir)
        .env("OPEN_RUNTIMES_TELEMETRY_DIR", &telemetry_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command.spawn().expect("conformance binary starts");

    let stdout = Arc::new(Mutex::new(String::new()));
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let addr = loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            let mut err = String::new();
            let _ = child.stderr.take().unwrap().read_to_string(&mut err);
            panic!("server exited before listening: {err}");
        }
        stdout.lock().unwrap().push_str(&line);
        if let Some(addr) = line.trim().strip_prefix("Listening on http://") {
            break addr.parse().expect("listen address");
        }
    };
    // Keep both pipes drained so uncaptured output can never block the server.
    let sink = Arc::clone(&stdout);
    std::thread::spawn(move || {
        let mut rest = String::new();
        for line in reader.lines().map_while(Result::ok) {
            rest.push_str(&line);
            rest.push('\n');
            sink.lock().unwrap().push_str(&rest);
            rest.clear();
        }
    });
    let mut stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));

    App {
        addr,
        root,
        logs_dir,
        secret: SECRET.to_owned(),
        child,
        stdout,
    }
}

impl App {
    /// Like the suite's `Client::execute`: `content-type: text/plain` unless given, the secret
    /// and its Basic auth header when a secret is set, then the test's headers.
    pub fn execute(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Reply {
        let mut all: Vec<(&str, &str)> = Vec::new();
        if !headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        {
            all.push(("content-type", "text/plain"));
        }
        let basic;
        if !self.secret.is_empty() {
            all.push(("x-open-runtimes-secret", &self.secret));
            basic = format!("Basic {}", base64_opr(&self.secret));
            all.push(("authorization", &basic));
        }
        all.retain(|(n, _)| !headers.iter().any(|(h, _)| h.eq_ignore_ascii_case(n)));
        all.extend_from_slice(headers);
        self.conn()
            .send(method, path, &all, body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// POST / with the given headers and an empty body, the suite's most common call.
    pub fn action(&self, headers: &[(&str, &str)]) -> Reply {
        self.execute("POST", "/", headers, b"")
    }

    pub fn conn(&self) -> Conn {
        Conn::connect(self.addr).expect("connect")
    }

    pub fn logs(&self, id: &str) -> String {
        read_or_empty(&self.logs_dir.join(format!("{id}_logs.log")))
    }

    pub fn errors(&self, id: &str) -> String {
        read_or_empty(&self.logs_dir.join(format!("{id}_errors.log")))
    }

    pub fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub fn wait_for_exit(&mut self) -> std::process::ExitStatus {
        self.child.wait().expect("wait")
    }

    pub fn assert_healthy(&self) {
        let reply = self.execute("GET", "/__opr/health", &[], b"");
        assert_eq!((reply.status, reply.text().as_str()), (200, "OK"));
    }
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read_or_empty(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// base64("opr:" + secret), as the suite's client sends it.
fn base64_opr(secret: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(format!("opr:{secret}"))
}
