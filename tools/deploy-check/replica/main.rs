//! The `src/main.rs` of the bundle check's replica of Appwrite's rust-1.83 build workspace.
//!
//! It is not the official server (that one speaks the whole open-runtimes protocol); it only
//! proves what a deployment needs: the bundle links as `handler`, builds together with the
//! runtime's own dependencies and answers a real HTTP request through `handler::main`. It
//! binds 127.0.0.1 on the port in `PORT` (0 = any free one), prints `listening on <addr>`,
//! and serves until killed. Written into the replica by `deploy-check`; never deployed.

use std::collections::HashMap;
use std::convert::Infallible;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use openruntimes::{Context, Logger};

#[tokio::main]
async fn main() {
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("bind");
    println!("listening on {}", listener.local_addr().expect("local addr"));
    loop {
        let (stream, _) = listener.accept().await.expect("accept");
        tokio::spawn(async move {
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service_fn(execute))
                .await;
        });
    }
}

/// One execution: the request becomes a `Context`, `handler::main` runs on a blocking thread
/// (as in the official runtime), its `Response` becomes the HTTP answer.
async fn execute(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();

    let logger = Logger::new("disabled", None).expect("logger");
    let mut context = Context::new(logger);
    context.req.method = parts.method.to_string();
    context.req.path = parts.uri.path().to_string();
    context.req.query_string = parts.uri.query().unwrap_or_default().to_string();
    context.req.query = context
        .req
        .query_string
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (k.to_string(), v.to_string())
        })
        .collect();
    context.req.headers = parts
        .headers
        .iter()
        .map(|(k, v)| {
            let value = v.to_str().unwrap_or_default().to_string();
            (k.as_str().to_lowercase(), value)
        })
        .collect::<HashMap<_, _>>();
    context.req.scheme = "http".to_string();
    context.req.host = "localhost".to_string();
    context.req.port = 3000;
    context.req.url = format!("http://localhost:3000{}", parts.uri);
    context.req.set_body_binary(body.to_vec());

    let answer = tokio::task::spawn_blocking(move || handler::main(context)).await;
    let response = match answer {
        Ok(res) => {
            let mut builder = Response::builder().status(res.status_code);
            for (k, v) in &res.headers {
                builder = builder.header(k.as_str(), v.as_str());
            }
            builder.body(Full::new(Bytes::from(res.body)))
        }
        Err(_) => Response::builder()
            .status(500)
            .body(Full::new(Bytes::from_static(b"handler panicked"))),
    };
    Ok(response.expect("valid response"))
}
