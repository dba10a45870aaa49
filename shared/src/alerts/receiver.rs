//! A webhook receiver for tests (feature `conformance`), the one the alert tests of `shared`, the
//! fake Appwrite and `jobs-dev` share: one request per connection on a free loopback port,
//! answered with the given statuses in turn; each request's signature header, idempotency header
//! and body go to the test, in that order.

use std::io::{BufRead, BufReader, Read, Write as _};
use std::net::TcpListener;
use std::sync::mpsc;

/// What one delivery carried: `X-JobManager-Signature`, `X-JobManager-Delivery`, the body.
pub type Received = (String, String, String);

/// Starts the receiver; returns its URL and the deliveries as they arrive.
pub fn receiver(statuses: Vec<u16>) -> (String, mpsc::Receiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let url = format!(
        "http://{}/alerts",
        listener.local_addr().expect("the bound address")
    );
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for status in statuses {
            let Ok((stream, _)) = listener.accept() else {
                return;
            };
            let mut reader = BufReader::new(stream);
            let (mut signature, mut delivery, mut length) = (String::new(), String::new(), 0);
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((name, value)) = line.trim_end().split_once(':') {
                    let value = value.trim().to_owned();
                    match name.to_ascii_lowercase().as_str() {
                        "x-jobmanager-signature" => signature = value,
                        "x-jobmanager-delivery" => delivery = value,
                        "content-length" => length = value.parse().unwrap_or(0),
                        _ => {}
                    }
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let answer =
                format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            let _ = reader.get_mut().write_all(answer.as_bytes());
            let _ = tx.send((
                signature,
                delivery,
                String::from_utf8_lossy(&body).into_owned(),
            ));
        }
    });
    (url, rx)
}
