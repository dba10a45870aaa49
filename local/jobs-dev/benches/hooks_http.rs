//! Hook throughput through the open-runtimes shim over real HTTP on the SQLite store, for
//! BENCHMARKS.md: progress calls per second and latency at 1 and 16 keep-alive connections,
//! with Appwrite's default of logging enabled, against a baseline handler answering a fixed
//! JSON body through the same shim in the same run.
//! Run: `cargo bench -p jobs-dev --bench hooks_http [-- <calls per connection>]`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use shared::platform::Platform;
use shared::store::JobStore;
use sqlite_store::SqliteStore;

/// Sends one POST over a kept-alive connection and returns the status code.
fn post(reader: &mut BufReader<TcpStream>, addr: SocketAddr, body: &str) -> u16 {
    let request = format!(
        "POST / HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\nx-appwrite-trigger: http\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    reader
        .get_mut()
        .write_all(request.as_bytes())
        .expect("write");
    let mut status_line = String::new();
    reader.read_line(&mut status_line).expect("status line");
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).expect("header");
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().expect("length");
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).expect("body");
    status
}

fn connect(addr: SocketAddr) -> BufReader<TcpStream> {
    let stream = TcpStream::connect(addr).expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    BufReader::new(stream)
}

struct Figures {
    calls: usize,
    per_second: f64,
    p50: Duration,
    p99: Duration,
}

/// Runs `connections` clients, each sending `calls` bodies made by `body(connection, i)`.
fn load(
    addr: SocketAddr,
    connections: usize,
    calls: usize,
    body: impl Fn(usize, usize) -> String + Sync,
) -> Figures {
    let begin = Instant::now();
    let mut latencies: Vec<Duration> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..connections)
            .map(|c| {
                let body = &body;
                s.spawn(move || {
                    let mut conn = connect(addr);
                    let mut own = Vec::with_capacity(calls);
                    for i in 0..calls {
                        let payload = body(c, i);
                        let t = Instant::now();
                        let status = post(&mut conn, addr, &payload);
                        own.push(t.elapsed());
                        assert!(status < 300, "status {status} for {payload}");
                    }
                    own
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("client"))
            .collect()
    });
    let elapsed = begin.elapsed();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p) as usize];
    Figures {
        calls: latencies.len(),
        per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: pct(0.50),
        p99: pct(0.99),
    }
}

fn main() {
    let calls: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(20_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(SqliteStore::open(dir.path().join("bench.sqlite")).expect("store"));
    let platform = Platform::new(store.clone(), Arc::new(|_| None));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let config = |logs: &str| {
        let logs = dir.path().join(logs);
        std::fs::create_dir_all(&logs).expect("logs dir");
        let vars = [
            ("OPEN_RUNTIMES_PORT", "0".to_owned()),
            ("OPEN_RUNTIMES_LISTEN_ADDR", "127.0.0.1".to_owned()),
            ("OPEN_RUNTIMES_LOGS_DIR", logs.display().to_string()),
            (
                "OPEN_RUNTIMES_TELEMETRY_DIR",
                dir.path().display().to_string(),
            ),
        ];
        runtime_shim::Config::from_lookup(|k| {
            vars.iter()
                .find(|(name, _)| *name == k)
                .map(|(_, v)| v.clone())
        })
        .expect("shim config")
    };
    let (hook, baseline) = rt.block_on(async {
        let hook = runtime_shim::Server::bind(config("hook-logs"), move |ctx| {
            hook_campaign_run::handle(ctx, &platform)
        })
        .await
        .expect("hook server");
        let baseline =
            runtime_shim::Server::bind(config("baseline-logs"), |ctx: openruntimes::Context| {
                ctx.res
                    .json(json!({"control": "continue"}), Some(200), None)
            })
            .await
            .expect("baseline server");
        (hook, baseline)
    });
    let (hook_addr, base_addr) = (hook.local_addr(), baseline.local_addr());

    // One job per connection, as each worker reports its own job.
    let mut jobs = Vec::new();
    let mut conn = connect(hook_addr);
    for c in 0..16 {
        let body =
            json!({"event": "start", "referenceId": format!("bench-{c}"), "total": calls * 4})
                .to_string();
        let request = format!(
            "POST / HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\nx-appwrite-trigger: http\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        let mut s = TcpStream::connect(hook_addr).expect("connect");
        s.write_all(request.as_bytes()).expect("write");
        let mut answer = String::new();
        s.read_to_string(&mut answer).expect("read");
        let json_start = answer.find("\r\n\r\n").expect("body") + 4;
        let v: serde_json::Value = serde_json::from_str(&answer[json_start..]).expect("json");
        jobs.push(v["job"]["$id"].as_str().expect("id").to_owned());
    }
    let _ = post(&mut conn, hook_addr, "{}");

    let progress = |jobs: &Vec<String>, offset: usize| {
        let jobs = jobs.clone();
        move |c: usize, i: usize| {
            let done = offset + i + 1;
            json!({"event": "progress", "jobId": jobs[c], "done": done,
                   "message": format!("{done} emails sent")})
            .to_string()
        }
    };
    let base_body = |_: usize, _: usize| "{}".to_owned();
    let runs = [
        (
            "hook progress, 1 connection",
            load(hook_addr, 1, calls, progress(&jobs, 0)),
        ),
        (
            "baseline handler, 1 connection",
            load(base_addr, 1, calls, base_body),
        ),
        (
            "hook progress, 16 connections",
            load(hook_addr, 16, calls / 4, progress(&jobs, calls)),
        ),
        (
            "baseline handler, 16 connections",
            load(base_addr, 16, calls / 4, base_body),
        ),
    ];
    let writes: u64 = jobs
        .iter()
        .map(|id| store.get(id).expect("job").rev - 1)
        .sum();

    println!("## Hooks through the shim (HTTP, SQLite)\n");
    println!("Command: `cargo bench -p jobs-dev --bench hooks_http -- {calls}`. Each connection reports progress on its own CAMPAIGN_RUN job through `hook-campaign-run` served by the runtime shim, logging enabled (Appwrite's default), keep-alive HTTP/1.1 on loopback; the client shares the 2 cores. Baseline: a handler answering a fixed JSON body through the same shim, same run.\n");
    println!("| run | calls | calls/s | p50 | p99 |");
    println!("|---|---|---|---|---|");
    for (name, f) in &runs {
        println!(
            "| {name} | {} | {:.0} | {:.3} ms | {:.3} ms |",
            f.calls,
            f.per_second,
            f.p50.as_secs_f64() * 1e3,
            f.p99.as_secs_f64() * 1e3
        );
    }
    println!(
        "\nHook throughput is {:.2}x the baseline at 1 connection and {:.2}x at 16. Store writes for all {} progress calls: {writes} (coalescing: a write when the percent moves or a second has passed). Targets: >= 5,000 progress calls/s, p99 < 5 ms.",
        runs[0].1.per_second / runs[1].1.per_second,
        runs[2].1.per_second / runs[3].1.per_second,
        runs[0].1.calls + runs[2].1.calls,
    );
    rt.block_on(async {
        hook.shutdown_handle().shutdown();
        baseline.shutdown_handle().shutdown();
    });
}
