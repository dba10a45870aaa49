//! Randomness from the operating system, for ids, secrets and retry jitter. `getrandom` is the
//! crate made for exactly this, and it is already in Appwrite's Rust runtime lock.
//!
//! Secrets (`secret_hex`) come only from the OS source and fail when it does; ids and jitter
//! (`u64`, `hex`) need no secrecy and fall back to the clock.

/// 64 random bits, for ids and jitter, never for secrets. Falls back to the clock (ids stay
/// unique through their counter and time prefix) in the unlikely case the OS source is
/// unavailable.
pub(crate) fn u64() -> u64 {
    let mut bytes = [0u8; 8];
    if getrandom::getrandom(&mut bytes).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        bytes = (nanos ^ u64::from(std::process::id()).rotate_left(32)).to_le_bytes();
    }
    u64::from_le_bytes(bytes)
}

/// `n` random bytes as lowercase hex, for values that must differ but need not be secret
/// (a multipart boundary): falls back like `u64`. Secrets use `secret_hex`.
pub fn hex(n: usize) -> String {
    (0..n.div_ceil(8))
        .flat_map(|_| u64().to_le_bytes())
        .take(n)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The OS random source failed, so no secret was made (there is no weaker fallback).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unavailable(String);

impl std::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the operating system's random source is unavailable ({}), so no secret can be made",
            self.0
        )
    }
}

impl std::error::Error for Unavailable {}

/// `n` bytes from the OS random source as lowercase hex, for keys, sessions and signing
/// secrets; an error, never a guessable value, when the source fails.
pub fn secret_hex(n: usize) -> Result<String, Unavailable> {
    secret_hex_from(n, getrandom::getrandom)
}

fn secret_hex_from(
    n: usize,
    fill: impl FnOnce(&mut [u8]) -> Result<(), getrandom::Error>,
) -> Result<String, Unavailable> {
    let mut bytes = vec![0u8; n];
    fill(&mut bytes).map_err(|e| Unavailable(e.to_string()))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_hex_of_the_asked_length_and_differs_each_time() {
        let (a, b) = (secret_hex(32).unwrap(), secret_hex(32).unwrap());
        assert_eq!(a.len(), 64);
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_ne!(a, b);
    }

    #[test]
    fn a_failing_source_gives_an_error_not_a_secret() {
        let err = secret_hex_from(16, |_| Err(getrandom::Error::UNSUPPORTED)).unwrap_err();
        let message = err.to_string();
        assert!(
            message.starts_with("the operating system's random source is unavailable (")
                && message.ends_with("), so no secret can be made"),
            "{message}"
        );
    }
}
