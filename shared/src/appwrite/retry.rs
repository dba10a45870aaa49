//! When a failed request is tried again: [`Retry`], what an operation allows, and
//! [`RetryPolicy`], the bounded backoff between attempts (its sleep injected, so tests neither
//! wait nor depend on timing).

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How an operation may be retried. Only operations whose repetition is harmless (reads,
/// creates with a deterministic id, writes whose outcome the caller verifies, deletes by id)
/// are `Idempotent`; the rest retry only a 429, which Appwrite answers before doing anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    Idempotent,
    OnlyRateLimit,
}

/// Backoff for transient failures: exponential with full jitter, `X-RateLimit-Reset` honoured,
/// every delay capped. The sleep is injectable so tests neither wait nor depend on timing.
#[derive(Clone)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    pub sleep: Arc<dyn Fn(Duration) + Send + Sync>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 4,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
            sleep: Arc::new(std::thread::sleep),
        }
    }
}

impl fmt::Debug for RetryPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryPolicy")
            .field("attempts", &self.attempts)
            .field("base_delay", &self.base_delay)
            .field("max_delay", &self.max_delay)
            .finish_non_exhaustive()
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (1-based). A rate-limit reset (unix seconds) is
    /// waited for, up to the cap, since retrying earlier would be refused again.
    pub(crate) fn delay(&self, retry: u32, rate_limit_reset: Option<u64>) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << retry.saturating_sub(1).min(16));
        let ceiling = exp.min(self.max_delay);
        // Full jitter in [ceiling/2, ceiling]: spreads retries of concurrent executions.
        let jitter = crate::random::u64() % 1_000;
        let jittered = ceiling / 2 + ceiling.mul_f64(jitter as f64 / 2_000.0);
        let reset_wait = rate_limit_reset.and_then(|reset| {
            let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs();
            Some(Duration::from_secs(reset.saturating_sub(now)))
        });
        jittered
            .max(reset_wait.unwrap_or_default())
            .min(self.max_delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_capped_and_waits_for_the_rate_limit_reset() {
        let policy = RetryPolicy {
            attempts: 3,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
            sleep: Arc::new(|_| {}),
        };
        let first = policy.delay(1, None);
        assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
        assert!(policy.delay(30, None) <= policy.max_delay);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(policy.delay(1, Some(now + 60)) == Duration::from_secs(2));
    }
}
