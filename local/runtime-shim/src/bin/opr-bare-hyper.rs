//! Benchmark baseline only: a bare hyper 1 HTTP/1.1 server with the official runtime's accept
//! loop, answering every request with the same 16-byte body as `plaintextResponse`. It is the
//! practical upper bound the shim is compared against in the same run.

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::net::SocketAddr;

fn main() -> std::process::ExitCode {
    let port = std::env::var("OPEN_RUNTIMES_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000u16);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start tokio: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let listener =
            match tokio::net::TcpListener::bind(SocketAddr::from(([0, 0, 0, 0], port))).await {
                Ok(l) => l,
                Err(e) => {
                    eprintln!("cannot listen on port {port}: {e}");
                    return std::process::ExitCode::FAILURE;
                }
            };
        println!("HTTP server successfully started!");
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                let service = service_fn(|_req| async {
                    Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from_static(
                        "Hello World 👋".as_bytes(),
                    ))))
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    })
}
