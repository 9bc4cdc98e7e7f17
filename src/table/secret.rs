//! The secrets of join links and sessions: 32 random bytes from the OS, base64url in a
//! link or cookie; only their SHA-256 is stored and looked up, so no secret is compared
//! byte by byte and a copy of the database lets nobody in. Nothing here logs a secret:
//! at most the first bytes of a hash ([`hash_prefix`]).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// A secret's length in base64url without padding (32 bytes).
pub const SECRET_CHARS: usize = 43;

/// 32 random bytes from the OS.
pub fn random_secret() -> Result<[u8; 32], getrandom::Error> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b)?;
    Ok(b)
}

/// A secret as it appears in a link or cookie.
pub fn encode(secret: &[u8; 32]) -> String {
    URL_SAFE_NO_PAD.encode(secret)
}

/// A secret from a link or cookie: exactly 32 bytes in base64url, else `None`.
pub fn decode(s: &str) -> Option<[u8; 32]> {
    if s.len() != SECRET_CHARS {
        return None;
    }
    let v = URL_SAFE_NO_PAD.decode(s).ok()?;
    v.try_into().ok()
}

/// SHA-256 of a secret (what is stored).
pub fn hash(secret: &[u8; 32]) -> [u8; 32] {
    Sha256::digest(secret).into()
}

/// The first bytes of a hash, in hex: enough to tell links apart in a log line.
pub fn hash_prefix(h: &[u8; 32]) -> String {
    h[..4].iter().map(|b| format!("{b:02x}")).collect()
}
