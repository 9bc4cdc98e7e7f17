//! Discord's voice packets on the wire: RTP with "rtpsize" AEAD transport encryption, the
//! 74-byte IP-discovery packets, and telling RTP from RTCP and keepalives. Pure functions, no
//! sockets.
//!
//! An encrypted RTP packet is `header (12 bytes + 4 per CSRC) | [extension preamble (4)] |
//! ciphertext | tag (16) | nonce counter (4, big-endian)`. The AEAD nonce is the counter followed
//! by zero bytes (12 for AES-256-GCM, 24 for XChaCha20-Poly1305); the additional data is the
//! plaintext header plus, when the X bit is set, the 4-byte extension preamble. The extension
//! *body* is encrypted with the payload (Discord's deviation from SRTP). Checked against
//! songbird 0.6.1 `src/driver/crypto.rs`.

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::XChaCha20Poly1305;

/// Discord's RTP payload type for Opus.
pub(crate) const PAYLOAD_TYPE: u8 = 120;
/// AEAD tag length of both modes.
const TAG_LEN: usize = 16;
/// The nonce counter appended to each packet.
const NONCE_LEN: usize = 4;
/// IP discovery packet: type, length, ssrc, 64-byte address, port.
pub(crate) const DISCOVERY_LEN: usize = 74;

/// Transport encryption modes the fake offers, in Discord's order of preference.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    Aes256Gcm,
    XChaCha20Poly1305,
}

impl Mode {
    pub const ALL: [Mode; 2] = [Mode::Aes256Gcm, Mode::XChaCha20Poly1305];

    pub fn name(self) -> &'static str {
        match self {
            Mode::Aes256Gcm => "aead_aes256_gcm_rtpsize",
            Mode::XChaCha20Poly1305 => "aead_xchacha20_poly1305_rtpsize",
        }
    }

    pub fn parse(s: &str) -> Option<Mode> {
        Mode::ALL.into_iter().find(|m| m.name() == s)
    }
}

/// A keyed cipher for one voice session.
#[derive(Clone)]
pub(crate) enum Cipher {
    Aes(Box<Aes256Gcm>),
    XChaCha(Box<XChaCha20Poly1305>),
}

/// Why a packet did not decrypt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RtpError {
    /// Shorter than header + tag + nonce, or an inconsistent extension/padding length.
    Malformed,
    /// The tag did not verify (wrong key, mode, nonce or additional data).
    Auth,
}

/// A decrypted RTP packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RtpFrame {
    pub sequence: u16,
    pub timestamp: u32,
    pub ssrc: u32,
    /// The Opus frame (extension body and padding removed).
    pub payload: Vec<u8>,
}

impl Cipher {
    pub fn new(mode: Mode, key: &[u8; 32]) -> Cipher {
        match mode {
            Mode::Aes256Gcm => Cipher::Aes(Box::new(
                Aes256Gcm::new_from_slice(key).expect("32-byte key"),
            )),
            Mode::XChaCha20Poly1305 => Cipher::XChaCha(Box::new(
                XChaCha20Poly1305::new_from_slice(key).expect("32-byte key"),
            )),
        }
    }

    fn seal(&self, nonce: u32, aad: &[u8], body: &mut [u8]) -> [u8; TAG_LEN] {
        let n = nonce.to_be_bytes();
        let tag = match self {
            Cipher::Aes(c) => {
                let mut full = aes_gcm::Nonce::default();
                full[..NONCE_LEN].copy_from_slice(&n);
                c.encrypt_in_place_detached(&full, aad, body)
            }
            Cipher::XChaCha(c) => {
                let mut full = chacha20poly1305::XNonce::default();
                full[..NONCE_LEN].copy_from_slice(&n);
                c.encrypt_in_place_detached(&full, aad, body)
            }
        }
        .expect("in-memory AEAD encryption does not fail");
        let mut out = [0; TAG_LEN];
        out.copy_from_slice(&tag);
        out
    }

    fn open(&self, nonce: [u8; NONCE_LEN], aad: &[u8], body: &mut [u8], tag: &[u8]) -> bool {
        let Ok(tag) = <[u8; TAG_LEN]>::try_from(tag) else {
            return false;
        };
        match self {
            Cipher::Aes(c) => {
                let mut full = aes_gcm::Nonce::default();
                full[..NONCE_LEN].copy_from_slice(&nonce);
                c.decrypt_in_place_detached(&full, aad, body, &tag.into())
            }
            Cipher::XChaCha(c) => {
                let mut full = chacha20poly1305::XNonce::default();
                full[..NONCE_LEN].copy_from_slice(&nonce);
                c.decrypt_in_place_detached(&full, aad, body, &tag.into())
            }
        }
        .is_ok()
    }

    /// An encrypted RTP packet as a Discord client would send it: version 2, payload type 120,
    /// and, if `extension` is given, the X bit with a one-byte-header (`0xBEDE`) extension whose
    /// body (a multiple of 4 bytes) is encrypted along with the Opus frame.
    pub fn seal_rtp(
        &self,
        header: RtpHeader,
        extension: Option<&[u8]>,
        opus: &[u8],
        nonce: u32,
    ) -> Vec<u8> {
        let mut packet = Vec::with_capacity(32 + opus.len() + TAG_LEN + NONCE_LEN);
        let x_bit = if extension.is_some() { 0x10 } else { 0 };
        packet.push(0x80 | x_bit);
        packet.push(PAYLOAD_TYPE);
        packet.extend_from_slice(&header.sequence.to_be_bytes());
        packet.extend_from_slice(&header.timestamp.to_be_bytes());
        packet.extend_from_slice(&header.ssrc.to_be_bytes());
        let mut body = Vec::with_capacity(opus.len() + 8);
        if let Some(ext) = extension {
            assert!(ext.len() % 4 == 0, "RTP extension bodies are 32-bit words");
            let words = u16::try_from(ext.len() / 4).expect("short extension");
            packet.extend_from_slice(&[0xBE, 0xDE]);
            packet.extend_from_slice(&words.to_be_bytes());
            body.extend_from_slice(ext);
        }
        body.extend_from_slice(opus);
        let tag = self.seal(nonce, &packet, &mut body);
        packet.extend_from_slice(&body);
        packet.extend_from_slice(&tag);
        packet.extend_from_slice(&nonce.to_be_bytes());
        packet
    }

    /// Seals an arbitrary datagram in place of its own tag, keeping every header field as
    /// given (CSRC count, X bit and extension length, P bit and padding byte): a hostile
    /// packet that authenticates, for tests and the `fuzz-voice` targets. The first byte's
    /// version is set to 2. `None` if too short for header, tag and nonce.
    pub(crate) fn reseal_for_fuzzing(&self, packet: &[u8]) -> Option<Vec<u8>> {
        if packet.len() < 12 {
            return None;
        }
        let csrcs = usize::from(packet[0] & 0x0F);
        let has_ext = packet[0] & 0x10 != 0;
        let aad_len = 12 + 4 * csrcs + if has_ext { 4 } else { 0 };
        if packet.len() < aad_len + TAG_LEN + NONCE_LEN {
            return None;
        }
        let mut out = packet.to_vec();
        out[0] = (out[0] & 0x3F) | 0x80;
        let n = out.len();
        let nonce = u32::from_be_bytes([out[n - 4], out[n - 3], out[n - 2], out[n - 1]]);
        let body_end = n - TAG_LEN - NONCE_LEN;
        let (aad, rest) = out.split_at_mut(aad_len);
        let (body, tail) = rest.split_at_mut(body_end - aad_len);
        let tag = self.seal(nonce, aad, body);
        tail[..TAG_LEN].copy_from_slice(&tag);
        Some(out)
    }

    /// Decrypts an RTP packet (any CSRC count, optional extension, optional padding).
    pub fn open_rtp(&self, packet: &[u8]) -> Result<RtpFrame, RtpError> {
        if packet.len() < 12 || packet[0] >> 6 != 2 {
            return Err(RtpError::Malformed);
        }
        let csrcs = usize::from(packet[0] & 0x0F);
        let has_ext = packet[0] & 0x10 != 0;
        let has_padding = packet[0] & 0x20 != 0;
        let header_len = 12 + 4 * csrcs;
        let aad_len = header_len + if has_ext { 4 } else { 0 };
        if packet.len() < aad_len + TAG_LEN + NONCE_LEN {
            return Err(RtpError::Malformed);
        }
        let (aad, rest) = packet.split_at(aad_len);
        let (sealed, nonce) = rest.split_at(rest.len() - NONCE_LEN);
        let (ciphertext, tag) = sealed.split_at(sealed.len() - TAG_LEN);
        let mut body = ciphertext.to_vec();
        let nonce: [u8; NONCE_LEN] = nonce.try_into().expect("split at NONCE_LEN");
        if !self.open(nonce, aad, &mut body, tag) {
            return Err(RtpError::Auth);
        }
        let mut start = 0;
        if has_ext {
            let words = u16::from_be_bytes([aad[header_len + 2], aad[header_len + 3]]);
            start = 4 * usize::from(words);
        }
        let mut end = body.len();
        if has_padding {
            let pad = usize::from(*body.last().ok_or(RtpError::Malformed)?);
            end = end.checked_sub(pad).ok_or(RtpError::Malformed)?;
        }
        if start > end {
            return Err(RtpError::Malformed);
        }
        Ok(RtpFrame {
            sequence: u16::from_be_bytes([packet[2], packet[3]]),
            timestamp: u32::from_be_bytes([packet[4], packet[5], packet[6], packet[7]]),
            ssrc: u32::from_be_bytes([packet[8], packet[9], packet[10], packet[11]]),
            payload: body[start..end].to_vec(),
        })
    }
}

/// The varying fields of an RTP header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RtpHeader {
    pub sequence: u16,
    pub timestamp: u32,
    pub ssrc: u32,
}

/// What a datagram from the bot is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Datagram {
    /// IP discovery request carrying the sender's SSRC.
    Discovery(u32),
    /// RTP version 2 with Discord's payload type.
    Rtp,
    /// RTCP (packet types 200–207): sender/receiver reports, ignored.
    Rtcp,
    /// Anything else: keepalives (songbird sends its SSRC every 5 s) and noise.
    Other,
}

pub(crate) fn classify(packet: &[u8]) -> Datagram {
    if packet.len() == DISCOVERY_LEN && packet[..4] == [0, 1, 0, 70] {
        return Datagram::Discovery(u32::from_be_bytes([
            packet[4], packet[5], packet[6], packet[7],
        ]));
    }
    if packet.len() < 12 || packet[0] >> 6 != 2 {
        return Datagram::Other;
    }
    match packet[1] {
        200..=207 => Datagram::Rtcp,
        b if b & 0x7F == PAYLOAD_TYPE => Datagram::Rtp,
        _ => Datagram::Other,
    }
}

/// The answer to an IP discovery request: type 2, length 70, the SSRC, the address the request
/// came from (NUL-padded ASCII) and its port.
pub(crate) fn discovery_response(ssrc: u32, from: std::net::SocketAddr) -> [u8; DISCOVERY_LEN] {
    let mut out = [0u8; DISCOVERY_LEN];
    out[..2].copy_from_slice(&2u16.to_be_bytes());
    out[2..4].copy_from_slice(&70u16.to_be_bytes());
    out[4..8].copy_from_slice(&ssrc.to_be_bytes());
    let ip = from.ip().to_string();
    out[8..8 + ip.len()].copy_from_slice(ip.as_bytes());
    out[72..74].copy_from_slice(&from.port().to_be_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: RtpHeader = RtpHeader {
        sequence: 65_535,
        timestamp: 123_456,
        ssrc: 2000,
    };

    #[test]
    fn round_trips_in_both_modes_with_and_without_extension() {
        for mode in Mode::ALL {
            let cipher = Cipher::new(mode, &[7; 32]);
            for ext in [None, Some(&[0x10, 0x7F, 0, 0][..])] {
                let packet = cipher.seal_rtp(HEADER, ext, b"opus!", 0xFFFF_FFFF);
                assert_eq!(classify(&packet), Datagram::Rtp);
                assert_eq!(&packet[packet.len() - 4..], &[0xFF; 4]);
                let frame = cipher.open_rtp(&packet).unwrap();
                assert_eq!(frame.payload, b"opus!");
                assert_eq!(
                    (frame.sequence, frame.timestamp, frame.ssrc),
                    (65_535, 123_456, 2000)
                );
            }
        }
    }

    #[test]
    fn header_is_authenticated_and_wrong_keys_fail() {
        let cipher = Cipher::new(Mode::Aes256Gcm, &[1; 32]);
        let mut packet = cipher.seal_rtp(HEADER, Some(&[0; 4]), b"abc", 5);
        assert_eq!(
            Cipher::new(Mode::Aes256Gcm, &[2; 32]).open_rtp(&packet),
            Err(RtpError::Auth)
        );
        assert_eq!(
            Cipher::new(Mode::XChaCha20Poly1305, &[1; 32]).open_rtp(&packet),
            Err(RtpError::Auth)
        );
        packet[3] ^= 1; // sequence number
        assert_eq!(cipher.open_rtp(&packet), Err(RtpError::Auth));
        assert_eq!(cipher.open_rtp(&packet[..20]), Err(RtpError::Malformed));
    }

    #[test]
    fn hostile_header_fields_are_malformed_not_a_panic() {
        let cipher = Cipher::new(Mode::Aes256Gcm, &[3; 32]);
        let body = |first: u8, ext_words: u16, pad: u8| {
            let mut p = vec![first, PAYLOAD_TYPE, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9];
            p.extend(std::iter::repeat_n(0xAB, 4 * usize::from(first & 0x0F)));
            if first & 0x10 != 0 {
                p.extend_from_slice(&[0xBE, 0xDE]);
                p.extend_from_slice(&ext_words.to_be_bytes());
            }
            p.extend_from_slice(&[1, 2, 3, pad]);
            p.extend_from_slice(&[0; TAG_LEN + NONCE_LEN]);
            cipher.reseal_for_fuzzing(&p).unwrap()
        };
        // Extension longer than the packet; padding longer than the payload; both.
        for (first, words, pad) in [(0x90, 0xFFFF, 0), (0xA0, 0, 200), (0xBF, 0xFFFF, 255)] {
            assert_eq!(
                cipher.open_rtp(&body(first, words, pad)),
                Err(RtpError::Malformed),
                "{first:#x} {words} {pad}"
            );
        }
        // The same fields within bounds open.
        let ok = cipher.open_rtp(&body(0x91, 0, 9)).unwrap();
        assert_eq!(ok.payload, vec![1, 2, 3, 9]);
        let ok = cipher.open_rtp(&body(0xA2, 0, 1)).unwrap();
        assert_eq!(ok.payload, vec![1, 2, 3]);
        let ok = cipher.open_rtp(&body(0x8F, 0, 4)).unwrap();
        assert_eq!(ok.payload, vec![1, 2, 3, 4]);
        // 15 CSRCs claimed, none present: too short for them.
        let mut p = vec![0x8F, PAYLOAD_TYPE, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9];
        p.extend_from_slice(&[0; TAG_LEN + NONCE_LEN]);
        assert!(cipher.reseal_for_fuzzing(&p).is_none());
        assert_eq!(cipher.open_rtp(&p), Err(RtpError::Malformed));
    }

    #[test]
    fn aes_nonce_is_the_counter_then_zeros() {
        // Independent of seal_rtp: encrypt by hand the way songbird does.
        let key = [9u8; 32];
        let aes = Aes256Gcm::new_from_slice(&key).unwrap();
        let header = [0x80, 120, 0, 1, 0, 0, 0, 2, 0, 0, 4, 87];
        let mut body = b"frame".to_vec();
        let mut nonce = aes_gcm::Nonce::default();
        nonce[..4].copy_from_slice(&42u32.to_be_bytes());
        let tag = aes
            .encrypt_in_place_detached(&nonce, &header, &mut body)
            .unwrap();
        let mut packet = header.to_vec();
        packet.extend_from_slice(&body);
        packet.extend_from_slice(&tag);
        packet.extend_from_slice(&42u32.to_be_bytes());
        let frame = Cipher::new(Mode::Aes256Gcm, &key)
            .open_rtp(&packet)
            .unwrap();
        assert_eq!(frame.payload, b"frame");
        assert_eq!(frame.ssrc, 1111);
    }

    #[test]
    fn classifies_datagrams() {
        let mut discovery = [0u8; DISCOVERY_LEN];
        discovery[..8].copy_from_slice(&[0, 1, 0, 70, 0, 0, 4, 87]);
        assert_eq!(classify(&discovery), Datagram::Discovery(1111));
        assert_eq!(classify(&[0, 0, 4, 87]), Datagram::Other);
        assert_eq!(classify(&[0; 8]), Datagram::Other);
        let rtcp = [0x80, 201, 0, 7, 0, 0, 4, 87, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(classify(&rtcp), Datagram::Rtcp);
    }

    #[test]
    fn discovery_response_layout() {
        let r = discovery_response(1111, "127.0.0.1:50000".parse().unwrap());
        assert_eq!(&r[..8], &[0, 2, 0, 70, 0, 0, 4, 87]);
        assert_eq!(&r[8..17], b"127.0.0.1");
        assert!(r[17..72].iter().all(|b| *b == 0));
        assert_eq!(u16::from_be_bytes([r[72], r[73]]), 50000);
    }
}
