//! Benchmark driver only (used by scripts/bench-runtime), with two jobs wrk cannot do:
//!
//! * `load ADDR CONNECTIONS REQUESTS [HEADER: VALUE]...` sends exactly REQUESTS keep-alive
//!   `POST /` requests over CONNECTIONS connections and counts the answers; a request without
//!   an answer within 10 s counts as hung. Prints `answered=N hung=N errors=N secs=F`.
//! * `coldstart PORT RUNS -- COMMAND [ARGS]...` execs COMMAND RUNS times and measures the time
//!   from exec to the first `200` from `GET /__opr/health` (polled every 0.5 ms). Prints
//!   `median_ms=F min_ms=F max_ms=F`. It refuses a port that answers before the command runs
//!   or after it exited: that server is not the one being measured.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

const HANG: Duration = Duration::from_secs(10);

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("load") => load(&args[1..]),
        Some("coldstart") => coldstart(&args[1..]),
        _ => Err("usage: opr-bench load ADDR CONNECTIONS REQUESTS [HEADER: VALUE]... | coldstart PORT RUNS -- COMMAND [ARGS]...".to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

fn load(args: &[String]) -> Result<(), String> {
    let [addr, connections, requests, headers @ ..] = args else {
        return Err("load ADDR CONNECTIONS REQUESTS [HEADER: VALUE]...".to_owned());
    };
    let addr: SocketAddr = addr.parse().map_err(|e| format!("address: {e}"))?;
    let connections: usize = connections
        .parse()
        .map_err(|e| format!("connections: {e}"))?;
    let requests: usize = requests.parse().map_err(|e| format!("requests: {e}"))?;
    let mut request = format!("POST / HTTP/1.1\r\nhost: {addr}\r\ncontent-length: 0\r\n");
    for header in headers {
        request.push_str(header);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    let started = Instant::now();
    let outcomes: Vec<(usize, usize, usize)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..connections)
            .map(|worker| {
                let request = request.as_bytes();
                let share = (worker..requests).step_by(connections).count();
                scope.spawn(move || run_connection(addr, request, share))
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or((0, 0, 0)))
            .collect()
    });
    let secs = started.elapsed().as_secs_f64();
    let (answered, hung, errors) = outcomes
        .iter()
        .fold((0, 0, 0), |acc, o| (acc.0 + o.0, acc.1 + o.1, acc.2 + o.2));
    println!("answered={answered} hung={hung} errors={errors} secs={secs:.2}");
    Ok(())
}

/// Returns (answered, hung, errors); after a failure the connection is reopened.
fn run_connection(addr: SocketAddr, request: &[u8], count: usize) -> (usize, usize, usize) {
    let (mut answered, mut hung, mut errors) = (0, 0, 0);
    let mut conn: Option<(TcpStream, Vec<u8>)> = None;
    for _ in 0..count {
        if conn.is_none() {
            conn = TcpStream::connect(addr).ok().map(|s| {
                let _ = s.set_read_timeout(Some(HANG));
                let _ = s.set_nodelay(true);
                (s, Vec::new())
            });
        }
        let Some((stream, buffer)) = conn.as_mut() else {
            errors += 1;
            continue;
        };
        match stream
            .write_all(request)
            .and_then(|_| read_reply(stream, buffer))
        {
            Ok(_) => answered += 1,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                hung += 1;
                conn = None;
            }
            Err(_) => {
                errors += 1;
                conn = None;
            }
        }
    }
    (answered, hung, errors)
}

/// Reads one response (content-length framed, as the servers under test always send) and
/// returns its status.
fn read_reply(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> std::io::Result<u16> {
    let mut chunk = [0u8; 16 * 1024];
    loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buffer[..end]).to_ascii_lowercase();
            let status = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if buffer.len() >= end + 4 + length {
                buffer.drain(..end + 4 + length);
                return Ok(status);
            }
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
}

fn coldstart(args: &[String]) -> Result<(), String> {
    let [port, runs, dashdash, command, rest @ ..] = args else {
        return Err("coldstart PORT RUNS -- COMMAND [ARGS]...".to_owned());
    };
    if dashdash != "--" {
        return Err("expected -- before the command".to_owned());
    }
    let port: u16 = port.parse().map_err(|e| format!("port: {e}"))?;
    let runs: usize = runs.parse().map_err(|e| format!("runs: {e}"))?;
    if runs == 0 {
        return Err("runs must be at least 1".to_owned());
    }
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    if healthy(addr) {
        return Err(format!(
            "port {port} already answers: not measuring another process"
        ));
    }
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        let mut child = Command::new(command)
            .args(rest)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("{command}: {e}"))?;
        let healthy = loop {
            if healthy(addr) {
                break true;
            }
            if started.elapsed() > HANG {
                break false;
            }
            std::thread::sleep(Duration::from_micros(500));
        };
        let elapsed = started.elapsed();
        // A command that failed to bind has exited; whatever answered is not ours to time.
        let exited = matches!(child.try_wait(), Ok(Some(_)));
        let _ = child.kill();
        let _ = child.wait();
        if !healthy {
            return Err(format!("{command} never became healthy"));
        }
        if exited {
            return Err(format!(
                "{command} exited, yet port {port} answered: another process holds it"
            ));
        }
        samples.push(elapsed.as_secs_f64() * 1000.0);
        // Let the port be released before the next start.
        std::thread::sleep(Duration::from_millis(50));
    }
    samples.sort_by(f64::total_cmp);
    println!(
        "median_ms={:.2} min_ms={:.2} max_ms={:.2}",
        samples[samples.len() / 2],
        samples[0],
        samples[samples.len() - 1]
    );
    Ok(())
}

fn healthy(addr: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect(addr) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let request = format!("GET /__opr/health HTTP/1.1\r\nhost: {addr}\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    matches!(read_reply(&mut stream, &mut Vec::new()), Ok(200))
}
