//! Row ids. They must be valid Appwrite ids (at most 36 characters of `[a-zA-Z0-9._-]`, not
//! starting with a special character) so every backend can use them as primary keys.

use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};

use crate::job::Timestamp;

/// A fresh id: creation time in hex (so ids sort roughly by age) plus 64 random bits, mixed
/// with a process counter so two ids of one process never collide even without an OS source.
pub(crate) fn fresh(prefix: char, now: Timestamp) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let random = crate::random::u64() ^ COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(
        "{prefix}{:011x}{random:016x}",
        now.timestamp_millis().max(0)
    )
}

/// The id a job created under `key` always gets, so a retried create finds the first one:
/// `k` + 35 hex digits of SHA-256 over the key (140 bits: collisions are not a concern).
pub(crate) fn for_idempotency_key(key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("k{}", &hex[..35])
}

/// Whether `id` is a valid Appwrite row id (Appwrite's rule lives with the client,
/// `appwrite::valid_id`).
pub fn is_valid(id: &str) -> bool {
    crate::appwrite::valid_id(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    #[test]
    fn fresh_ids_are_valid_and_distinct() {
        let now = Utc::now();
        let a = fresh('j', now);
        let b = fresh('j', now);
        assert!(is_valid(&a), "{a}");
        assert_ne!(a, b);
        assert_eq!(a.len(), 28);
    }

    #[test]
    fn idempotency_ids_are_deterministic_valid_and_36_long() {
        let a = for_idempotency_key("campaign-42:run-1");
        assert_eq!(a, for_idempotency_key("campaign-42:run-1"));
        assert_ne!(a, for_idempotency_key("campaign-42:run-2"));
        assert_eq!(a.len(), 36);
        assert!(is_valid(&a));
    }

    #[test]
    fn invalid_ids_are_recognised() {
        for bad in ["", "_x", "a/b", &"a".repeat(37), "é"] {
            assert!(!is_valid(bad), "{bad}");
        }
    }
}
