//! The webhook's signature, so a receiver can check that an alert came from this deployment and
//! was not replayed long after: `X-JobManager-Signature: t=<unix seconds>,v1=<hex>`, where
//! `v1` is HMAC-SHA256 over `<t>.<body>` with the shared secret (the scheme Stripe and Slack use,
//! so receivers have code for it). docs/alerts.md § Webhook.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header carrying the signature.
pub const HEADER: &str = "X-JobManager-Signature";

fn mac(secret: &str, timestamp: i64, body: &str) -> Hmac<Sha256> {
    // HMAC takes a key of any length, so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    mac
}

/// The header value for `body` sent at `timestamp` (unix seconds).
pub fn sign(secret: &str, timestamp: i64, body: &str) -> String {
    let tag = mac(secret, timestamp, body).finalize().into_bytes();
    let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
    format!("t={timestamp},v1={hex}")
}

/// Whether `header` signs `body` with `secret` and its time is within `tolerance_seconds` of
/// `now` (unix seconds): what a receiver does. The tag is compared in constant time.
pub fn verify(secret: &str, header: &str, body: &str, now: i64, tolerance_seconds: i64) -> bool {
    let mut timestamp = None;
    let mut tags = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", v)) => tags.push(v),
            _ => {}
        }
    }
    let Some(timestamp) = timestamp else {
        return false;
    };
    if (now - timestamp).abs() > tolerance_seconds {
        return false;
    }
    tags.into_iter().any(|tag| {
        let Some(bytes) = decode_hex(tag) else {
            return false;
        };
        mac(secret, timestamp, body).verify_slice(&bytes).is_ok()
    })
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_with_its_secret_and_body_only() {
        let header = sign("s3cret-value", 1_700_000_000, r#"{"text":"x"}"#);
        assert!(header.starts_with("t=1700000000,v1="), "{header}");
        assert!(verify(
            "s3cret-value",
            &header,
            r#"{"text":"x"}"#,
            1_700_000_010,
            300
        ));
        assert!(!verify(
            "other",
            &header,
            r#"{"text":"x"}"#,
            1_700_000_010,
            300
        ));
        assert!(!verify(
            "s3cret-value",
            &header,
            r#"{"text":"y"}"#,
            1_700_000_010,
            300
        ));
    }

    #[test]
    fn a_signature_older_than_the_tolerance_is_refused() {
        let header = sign("k", 1_000, "b");
        assert!(verify("k", &header, "b", 1_300, 300));
        assert!(!verify("k", &header, "b", 1_301, 300));
    }

    #[test]
    fn a_malformed_header_is_refused_without_panicking() {
        for header in ["", "t=x,v1=00", "t=1", "t=1,v1=zz", "t=1,v1=abc", "v1=00"] {
            assert!(!verify("k", header, "b", 1, 300), "{header}");
        }
    }

    #[test]
    fn the_tag_is_hmac_sha256_over_timestamp_dot_body_in_lowercase_hex() {
        // Computed independently (Python's hmac module) over `12.what do ya want for nothing?`.
        assert_eq!(
            sign("Jefe", 12, "what do ya want for nothing?"),
            "t=12,v1=884f387af4fab053210fff358c2ae1ceb946a70c677f05c2b731ca65c7769498"
        );
    }
}
