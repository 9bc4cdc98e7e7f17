//! Fresh seeds for new campaigns (and one-off rolls).

/// A seed from the OS: std's `RandomState` keys come from the OS's random source; the
/// clock and process id are mixed in for good measure. Fine for a one-off roll; games
/// store their campaign seed.
pub fn random_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    h.write_u128(nanos);
    h.write_u32(std::process::id());
    h.finish()
}
