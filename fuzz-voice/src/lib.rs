//! The voice crates' input parsers, compiled from their own source files (not copies) so
//! the fuzz targets need neither whisper.cpp nor Piper nor tokio:
//! - `audio`, `error`, `opus_rx`: `crates/voice/src/` (WAV reading, the per-SSRC Opus
//!   receive path);
//! - `rtp`: `crates/fake-discord/src/rtp.rs` (the fake voice server's RTP parsing).
#![allow(dead_code, unreachable_pub)]

#[path = "../../crates/voice/src/audio.rs"]
pub mod audio;
#[path = "../../crates/voice/src/error.rs"]
pub mod error;
#[path = "../../crates/voice/src/opus_rx.rs"]
pub mod opus_rx;
#[path = "../../crates/fake-discord/src/rtp.rs"]
mod rtp;

pub use error::{Result, VoiceError};

/// The RTP surface of the fake voice server, for the fuzz targets.
pub mod fake_rtp {
    use super::rtp::{Cipher, Mode};

    /// What kind of datagram `packet` is (discovery, RTP, RTCP, other).
    pub fn classify(packet: &[u8]) {
        std::hint::black_box(super::rtp::classify(packet));
    }

    /// Transport key of the fuzzed session.
    pub const KEY: [u8; 32] = [7; 32];

    /// A keyed session cipher.
    pub struct FuzzCipher(Cipher);

    pub fn cipher(xchacha: bool) -> FuzzCipher {
        FuzzCipher(Cipher::new(
            if xchacha {
                Mode::XChaCha20Poly1305
            } else {
                Mode::Aes256Gcm
            },
            &KEY,
        ))
    }

    /// Opens `packet`; returns the payload length on success. Never panics (the property
    /// fuzzed).
    pub fn open(cipher: &FuzzCipher, packet: &[u8]) -> Option<usize> {
        let frame = cipher.0.open_rtp(packet).ok()?;
        assert!(frame.payload.len() <= packet.len());
        Some(frame.payload.len())
    }

    /// Re-seals an arbitrary datagram so its tag verifies, keeping whatever header fields
    /// (CSRC count, extension length, padding bit and byte) the fuzzer chose: that way
    /// the parser behind the authentication is reached. `None` when the datagram is too
    /// short to carry a header, tag and nonce.
    pub fn reseal(cipher: &FuzzCipher, packet: &[u8]) -> Option<Vec<u8>> {
        cipher.0.reseal_for_fuzzing(packet)
    }
}
