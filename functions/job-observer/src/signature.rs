//! Appwrite's webhook signature, both ways: `X-Appwrite-Webhook-Signature` is
//! base64(HMAC-SHA1(url + body, signatureKey)), where `url` is the webhook's URL after PHP's
//! `rawurldecode` (appwrite 1.9.6 `src/Appwrite/Platform/Workers/Webhooks.php`; see
//! `docs/appwrite-notes.md` § Webhooks and execution events). The observer verifies it; the dev
//! server signs its own deliveries with the same function, so both sides cannot drift.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;

/// The header Appwrite puts the signature in (lower case, as the runtime passes headers).
pub const HEADER: &str = "x-appwrite-webhook-signature";

fn mac(url: &str, body: &[u8], secret: &str) -> Hmac<Sha1> {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(&shared::url::raw_decode(url));
    mac.update(body);
    mac
}

/// The signature Appwrite sends for `body` delivered to `url` with `secret`.
pub fn sign(url: &str, body: &[u8], secret: &str) -> String {
    STANDARD.encode(mac(url, body, secret).finalize().into_bytes())
}

/// Whether `signature` is Appwrite's for this delivery. The tags are compared in constant time
/// (`Mac::verify_slice`), so timing tells an attacker nothing about a guess.
pub fn verify(url: &str, body: &[u8], secret: &str, signature: &str) -> bool {
    let Ok(tag) = STANDARD.decode(signature.trim()) else {
        return false;
    };
    mac(url, body, secret).verify_slice(&tag).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_matches_an_independent_hmac_sha1_computation() {
        // RFC 2202 test case 2: HMAC-SHA1("Jefe", "what do ya want for nothing?"), split
        // between url and body as Appwrite concatenates them.
        let signature = sign("what do ya ", b"want for nothing?", "Jefe");
        let hex: String = STANDARD
            .decode(&signature)
            .unwrap()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(hex, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
    }

    #[test]
    fn the_url_is_percent_decoded_before_signing_like_rawurldecode() {
        let body = b"{}";
        assert_eq!(
            sign("https://x.test/a%20b+c", body, "secret-key"),
            sign("https://x.test/a b+c", body, "secret-key")
        );
    }

    #[test]
    fn a_signature_for_another_url_body_or_key_is_refused() {
        let good = sign("https://x.test/", b"{\"a\":1}", "secret-key");
        assert!(verify("https://x.test/", b"{\"a\":1}", "secret-key", &good));
        assert!(!verify(
            "https://y.test/",
            b"{\"a\":1}",
            "secret-key",
            &good
        ));
        assert!(!verify(
            "https://x.test/",
            b"{\"a\":2}",
            "secret-key",
            &good
        ));
        assert!(!verify("https://x.test/", b"{\"a\":1}", "other-key", &good));
        assert!(!verify(
            "https://x.test/",
            b"{\"a\":1}",
            "secret-key",
            "not base64!"
        ));
        assert!(!verify("https://x.test/", b"{\"a\":1}", "secret-key", ""));
    }
}
