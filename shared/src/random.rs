//! Randomness from the operating system, for ids, secrets and retry jitter. `getrandom` is the
//! crate made for exactly this, and it is already in Appwrite's Rust runtime lock.

/// 64 random bits. Falls back to the clock (ids stay unique through their counter and time
/// prefix) in the unlikely case the OS source is unavailable.
pub fn u64() -> u64 {
    let mut bytes = [0u8; 8];
    if getrandom::getrandom(&mut bytes).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        bytes = (nanos ^ u64::from(std::process::id()).rotate_left(32)).to_le_bytes();
    }
    u64::from_le_bytes(bytes)
}

/// `n` random bytes as lowercase hex, for secrets.
pub fn hex(n: usize) -> String {
    (0..n.div_ceil(8))
        .flat_map(|_| u64().to_le_bytes())
        .take(n)
        .map(|b| format!("{b:02x}"))
        .collect()
}
