//! The Discord voice receive path, designed around songbird 0.6.1's DAVE bug.
//!
//! Under DAVE (end-to-end encryption, required by Discord since March 2026) songbird's
//! own decoder is fed the Opus frame *plus* DAVE's trailer and garbles the audio. So the
//! bot asks songbird only to decrypt (`DecodeMode::Decrypt`), takes each packet's Opus
//! payload and RTP sequence number from the `RtpPacket` event, and decodes it here:
//!
//! 1. [`strip_dave_trailer`] removes a DAVE trailer if one is present;
//! 2. a small reorder buffer ([`OpusReceiver`], one per SSRC) puts packets back in
//!    sequence order, drops duplicates and late packets;
//! 3. a missing packet is concealed with exactly one 20 ms frame: Opus in-band FEC from
//!    the next packet when it has it, else packet-loss concealment; at most
//!    [`MAX_CONCEALED_FRAMES`] in a row: a longer gap (a sequence jump, a stream restart,
//!    a long outage) resets the decoder and resumes at the next packet, so one hostile
//!    sequence number cannot buy hundreds of decodes;
//! 4. decoding is 48 kHz stereo (asking libopus for 16 kHz mono would conceal 120 ms per
//!    loss), then downmixed and resampled to 16 kHz mono for the segmenter and whisper.

use crate::audio::{DISCORD_FRAME, DISCORD_RATE, WHISPER_RATE};
use crate::error::{Result, VoiceError};
use opus2::{Channels, Decoder};
use rubato::{FftFixedIn, Resampler};
use std::collections::{BTreeMap, HashMap};

/// DAVE's magic marker, the last two bytes of a DAVE-encrypted frame.
pub const DAVE_MARKER: [u8; 2] = [0xFA, 0xFA];
/// Smallest DAVE trailer: 8-byte truncated tag + 1 supplemental-size byte + 2 marker
/// bytes (the nonce adds at least one more).
pub const DAVE_MIN_SUPPLEMENTAL: usize = 8 + 1 + 2;

/// Removes DAVE's trailer (truncated AES-GCM tag, ULEB128 nonce, unencrypted ranges,
/// supplemental-size byte, 0xFAFA marker) from the end of a decrypted frame. The
/// supplemental-size byte just before the marker counts the whole trailer. Payloads
/// without a well-formed trailer are returned unchanged.
pub fn strip_dave_trailer(payload: &[u8]) -> &[u8] {
    let n = payload.len();
    if n < DAVE_MIN_SUPPLEMENTAL + 1 || payload[n - 2..] != DAVE_MARKER {
        return payload;
    }
    let size = payload[n - 3] as usize;
    if size <= DAVE_MIN_SUPPLEMENTAL || size > n {
        return payload;
    }
    let start = n - size;
    // The nonce (ULEB128, at most 5 bytes for a u32) must fit before the size byte.
    let mut i = start + 8;
    let nonce_start = i;
    loop {
        if i >= n - 3 || i - nonce_start >= 5 {
            return payload;
        }
        let b = payload[i];
        i += 1;
        if b & 0x80 == 0 {
            break;
        }
    }
    &payload[..start]
}

/// Counters for one stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RxStats {
    pub packets: u64,
    pub decoded: u64,
    /// Lost packets concealed (FEC or PLC), one 20 ms frame each.
    pub concealed: u64,
    /// ... of which recovered from in-band FEC.
    pub fec: u64,
    pub duplicates: u64,
    /// Packets that arrived after their slot was concealed.
    pub late: u64,
    pub dave_trailers: u64,
    pub decode_errors: u64,
    /// Gaps longer than [`MAX_CONCEALED_FRAMES`]: the decoder was reset instead.
    pub resets: u64,
}

/// Most lost packets concealed in a row (100 ms). A longer gap is not concealed: the
/// decoder is reset and decoding resumes at the next packet that arrived.
pub const MAX_CONCEALED_FRAMES: u64 = 5;

/// How far (in packets, 20 s) a sequence number may lie from the expected one and still
/// be reordering; beyond it, ahead or behind, the stream is taken up afresh there.
pub const MAX_REORDER: u64 = 1000;

/// Streaming 48 kHz stereo -> 16 kHz mono converter.
struct Downsampler {
    resampler: FftFixedIn<f32>,
    input: Vec<f32>,
}

impl Downsampler {
    fn new() -> Result<Self> {
        let resampler = FftFixedIn::<f32>::new(
            DISCORD_RATE as usize,
            WHISPER_RATE as usize,
            DISCORD_FRAME,
            1,
            1,
        )
        .map_err(|e| VoiceError::Resample {
            from: DISCORD_RATE,
            to: WHISPER_RATE,
            reason: e.to_string(),
        })?;
        Ok(Downsampler {
            resampler,
            input: Vec::with_capacity(DISCORD_FRAME * 6),
        })
    }

    fn push_stereo(&mut self, stereo: &[f32], out: &mut Vec<f32>) -> Result<()> {
        self.input
            .extend(stereo.chunks_exact(2).map(|f| (f[0] + f[1]) * 0.5));
        let mut pos = 0;
        loop {
            let need = self.resampler.input_frames_next();
            if self.input.len() - pos < need {
                break;
            }
            let res = self
                .resampler
                .process(&[&self.input[pos..pos + need]], None)
                .map_err(|e| VoiceError::Resample {
                    from: DISCORD_RATE,
                    to: WHISPER_RATE,
                    reason: e.to_string(),
                })?;
            out.extend_from_slice(&res[0]);
            pos += need;
        }
        self.input.drain(..pos);
        Ok(())
    }
}

/// Decodes one speaker's (one SSRC's) Opus packets into 16 kHz mono audio.
pub struct OpusReceiver {
    decoder: Decoder,
    down: Downsampler,
    /// Packets waiting for an earlier one, by sequence number.
    waiting: BTreeMap<u64, Vec<u8>>,
    /// Extended (unwrapped) sequence number of the next packet to decode.
    next: Option<u64>,
    /// Last extended sequence number seen, for unwrapping.
    last_ext: u64,
    depth: usize,
    pcm: Vec<f32>,
    stats: RxStats,
}

impl std::fmt::Debug for OpusReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpusReceiver")
            .field("next", &self.next)
            .field("waiting", &self.waiting.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

/// Default reorder depth: packets held while waiting for a missing one (60 ms).
pub const DEFAULT_REORDER_DEPTH: usize = 3;

impl OpusReceiver {
    /// A receiver that holds up to `reorder_depth` packets while waiting for a missing
    /// one before declaring it lost.
    pub fn new(reorder_depth: usize) -> Result<Self> {
        let decoder = Decoder::new(DISCORD_RATE, Channels::Stereo)
            .map_err(|e| VoiceError::Opus(e.to_string()))?;
        Ok(OpusReceiver {
            decoder,
            down: Downsampler::new()?,
            waiting: BTreeMap::new(),
            next: None,
            last_ext: 0,
            depth: reorder_depth,
            pcm: vec![0.0; DISCORD_FRAME * 2 * 6],
            stats: RxStats::default(),
        })
    }

    pub fn stats(&self) -> &RxStats {
        &self.stats
    }

    /// Unwraps a 16-bit RTP sequence number to the one nearest the last seen.
    fn extend_seq(&mut self, seq: u16) -> u64 {
        if self.next.is_none() {
            // Start high enough that earlier (reordered) packets stay positive.
            self.last_ext = (1 << 32) + seq as u64;
            return self.last_ext;
        }
        let last16 = self.last_ext as u16;
        let delta = seq.wrapping_sub(last16) as i16 as i64;
        let ext = (self.last_ext as i64 + delta) as u64;
        if ext > self.last_ext {
            self.last_ext = ext;
        }
        ext
    }

    /// Feeds one RTP packet's Opus payload (a DAVE trailer is removed if present) and its
    /// RTP sequence number; returns the 16 kHz mono audio that became ready (none while
    /// waiting for a missing packet).
    pub fn push(&mut self, seq: u16, payload: &[u8]) -> Result<Vec<f32>> {
        self.stats.packets += 1;
        let clean = strip_dave_trailer(payload);
        if clean.len() != payload.len() {
            self.stats.dave_trailers += 1;
        }
        let ext = self.extend_seq(seq);
        let next = *self.next.get_or_insert(ext);
        let mut out = Vec::new();
        if ext < next {
            if next - ext <= MAX_REORDER {
                self.stats.late += 1;
                return Ok(out);
            }
            // Far behind anything a network reorders: the sender restarted its numbering
            // (or an earlier packet had jumped the count far ahead). Follow the new
            // numbering instead of calling every packet from now on late.
            self.drain_all(&mut out)?;
            self.waiting.clear();
            self.restart_at(ext);
            self.last_ext = ext;
        }
        let next = self.next.unwrap_or(ext);
        if ext - next > MAX_REORDER {
            // A jump (stream restarted): play what is waiting, then start over here.
            self.drain_all(&mut out)?;
            if self.next != Some(ext) {
                self.restart_at(ext);
            }
        }
        if self.waiting.insert(ext, clean.to_vec()).is_some() {
            self.stats.duplicates += 1;
        }
        self.drain(&mut out, false)?;
        Ok(out)
    }

    /// Decodes everything buffered, concealing gaps (call when a speaker stops).
    pub fn flush(&mut self) -> Result<Vec<f32>> {
        let mut out = Vec::new();
        self.drain_all(&mut out)?;
        Ok(out)
    }

    fn drain_all(&mut self, out: &mut Vec<f32>) -> Result<()> {
        self.drain(out, true)
    }

    /// Decodes in order: present packets immediately; a missing one once more than
    /// `depth` packets wait behind it (or always when `force`).
    fn drain(&mut self, out: &mut Vec<f32>, force: bool) -> Result<()> {
        while let Some(next) = self.next {
            if let Some(pkt) = self.waiting.remove(&next) {
                self.decode(&pkt, false, out)?;
                self.next = Some(next + 1);
            } else if !self.waiting.is_empty() && (force || self.waiting.len() > self.depth) {
                let first = *self.waiting.keys().next().expect("not empty");
                if first - next > MAX_CONCEALED_FRAMES {
                    // Too long a gap to conceal: start over at the next packet we have.
                    self.restart_at(first);
                    continue;
                }
                // `next` is lost: conceal one 20 ms frame, from FEC in the following
                // packet when it is here.
                self.stats.concealed += 1;
                match self.waiting.get(&(next + 1)).cloned() {
                    Some(following) if has_fec(&following) => {
                        self.stats.fec += 1;
                        self.decode(&following, true, out)?;
                    }
                    _ => self.decode(&[], false, out)?,
                }
                self.next = Some(next + 1);
            } else {
                break;
            }
        }
        Ok(())
    }

    /// Forgets the decoder's state and resumes decoding at `ext` (packets before it that
    /// are still waiting are dropped as late).
    fn restart_at(&mut self, ext: u64) {
        self.stats.resets += 1;
        let stale = self.waiting.range(..ext).count() as u64;
        self.stats.late += stale;
        self.waiting = self.waiting.split_off(&ext);
        if let Err(e) = self.decoder.reset_state() {
            tracing::debug!(error = %e, "opus decoder reset failed");
        }
        self.next = Some(ext);
    }

    fn decode(&mut self, packet: &[u8], fec: bool, out: &mut Vec<f32>) -> Result<()> {
        // Concealment and FEC produce exactly one 20 ms frame.
        let len = if packet.is_empty() || fec {
            DISCORD_FRAME * 2
        } else {
            self.pcm.len()
        };
        let n = match self.decoder.decode_float(packet, &mut self.pcm[..len], fec) {
            Ok(n) => {
                self.stats.decoded += u64::from(!packet.is_empty() && !fec);
                n
            }
            Err(e) => {
                // A corrupt packet: conceal it rather than dropping time.
                self.stats.decode_errors += 1;
                tracing::debug!(error = %e, "opus decode failed; concealing");
                self.decoder
                    .decode_float(&[], &mut self.pcm[..DISCORD_FRAME * 2], false)
                    .map_err(|e| VoiceError::Opus(e.to_string()))?
            }
        };
        let stereo = &self.pcm[..n * 2];
        let mut tmp = Vec::with_capacity(n / 3 + 1);
        self.down.push_stereo(stereo, &mut tmp)?;
        out.extend_from_slice(&tmp);
        Ok(())
    }
}

/// True when an Opus packet carries in-band FEC (LBRR) data for the previous frame.
fn has_fec(packet: &[u8]) -> bool {
    // opus_packet_has_lbrr is not exposed by opus2; SILK/hybrid packets may carry FEC,
    // CELT-only ones never do (config 16-31 in the TOC byte).
    match packet.first() {
        Some(toc) => (toc >> 3) < 16,
        None => false,
    }
}

/// Decoders for every speaker in a call, by SSRC.
#[derive(Debug, Default)]
pub struct OpusMux {
    streams: HashMap<u32, OpusReceiver>,
    depth: usize,
}

impl OpusMux {
    pub fn new(reorder_depth: usize) -> Self {
        OpusMux {
            streams: HashMap::new(),
            depth: reorder_depth,
        }
    }

    /// Feeds one packet of `ssrc`; returns that speaker's newly ready 16 kHz audio.
    pub fn push(&mut self, ssrc: u32, seq: u16, payload: &[u8]) -> Result<Vec<f32>> {
        let rx = match self.streams.entry(ssrc) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(OpusReceiver::new(self.depth)?)
            }
        };
        rx.push(seq, payload)
    }

    /// Flushes and forgets a speaker (they left, or their SSRC changed).
    pub fn remove(&mut self, ssrc: u32) -> Result<Vec<f32>> {
        match self.streams.remove(&ssrc) {
            Some(mut rx) => rx.flush(),
            None => Ok(Vec::new()),
        }
    }

    pub fn stream(&self, ssrc: u32) -> Option<&OpusReceiver> {
        self.streams.get(&ssrc)
    }
}

/// The `opus_rx` fuzz target (`fuzz-voice/`, which compiles this file) and its corpus
/// replay in this crate's tests: a stream of (SSRC, sequence number, payload) records
/// through DAVE-trailer stripping, reordering, concealment and decoding. No input may
/// panic or make concealment unbounded: at most [`MAX_CONCEALED_FRAMES`] per packet, at
/// most 120 ms of audio per packet otherwise. Not an API.
#[doc(hidden)]
pub fn fuzz_records(data: &[u8]) {
    /// 16 kHz samples in 20 ms.
    const FRAME_16K: usize = 320;
    let mut mux = OpusMux::new(3);
    let mut rest = data;
    let mut packets = 0usize;
    let mut produced = 0usize;
    // Record: ssrc (1 byte, 4 speakers), sequence (2), payload length (1), payload.
    while rest.len() >= 4 && packets < 256 {
        let ssrc = u32::from(rest[0] & 3);
        let seq = u16::from_be_bytes([rest[1], rest[2]]);
        let len = usize::from(rest[3]).min(rest.len() - 4);
        let payload = &rest[4..4 + len];
        rest = &rest[4 + len..];
        let clean = strip_dave_trailer(payload);
        assert!(clean.len() <= payload.len());
        packets += 1;
        if let Ok(pcm) = mux.push(ssrc, seq, payload) {
            produced += pcm.len();
        }
        if rest.first() == Some(&0xFF) {
            rest = &rest[1..];
            if let Ok(pcm) = mux.remove(ssrc) {
                produced += pcm.len();
            }
        }
    }
    for ssrc in 0..4 {
        if let Ok(pcm) = mux.remove(ssrc) {
            produced += pcm.len();
        }
    }
    // Each packet: at most 120 ms of audio (6 frames) plus bounded concealment before it.
    let bound = packets * (6 + MAX_CONCEALED_FRAMES as usize) * FRAME_16K + FRAME_16K;
    assert!(
        produced <= bound,
        "{produced} samples from {packets} packets"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use opus2::{Application, Bitrate, Encoder};

    /// A 440 Hz tone at 48 kHz stereo, split into 20 ms Opus packets.
    fn packets(frames: usize) -> Vec<Vec<u8>> {
        let mut enc = Encoder::new(48_000, Channels::Stereo, Application::Audio).unwrap();
        enc.set_bitrate(Bitrate::Bits(64_000)).unwrap();
        (0..frames)
            .map(|f| {
                let pcm: Vec<f32> = (0..DISCORD_FRAME)
                    .flat_map(|i| {
                        let t = (f * DISCORD_FRAME + i) as f32 / 48_000.0;
                        let s = 0.3 * (2.0 * std::f32::consts::PI * 440.0 * t).sin();
                        [s, s]
                    })
                    .collect();
                enc.encode_vec_float(&pcm, 4000).unwrap()
            })
            .collect()
    }

    fn run(order: &[(u16, &[u8])]) -> (Vec<f32>, RxStats) {
        let mut rx = OpusReceiver::new(3).unwrap();
        let mut out = Vec::new();
        for (seq, p) in order {
            out.extend(rx.push(*seq, p).unwrap());
        }
        out.extend(rx.flush().unwrap());
        (out, rx.stats().clone())
    }

    #[test]
    fn strip_recognises_only_dave_trailers() {
        let opus = [0xFCu8, 1, 2, 3, 4, 5];
        let mut framed = opus.to_vec();
        framed.extend_from_slice(&[9; 8]); // tag
        framed.push(0x05); // nonce
        framed.push(12); // supplemental size
        framed.extend_from_slice(&DAVE_MARKER);
        assert_eq!(strip_dave_trailer(&framed), &opus);
        // Two-byte nonce: a 13-byte trailer.
        let mut framed = opus.to_vec();
        framed.extend_from_slice(&[9; 8]);
        framed.extend_from_slice(&[0x80 | 0x10, 0x02]);
        framed.push(13);
        framed.extend_from_slice(&DAVE_MARKER);
        assert_eq!(strip_dave_trailer(&framed), &opus);
        // No marker, a bad size, or a too-short packet: unchanged.
        assert_eq!(strip_dave_trailer(&opus), &opus);
        let fake = [1u8, 2, 3, 200, 0xFA, 0xFA];
        assert_eq!(strip_dave_trailer(&fake), &fake);
        let silence = [0xF8u8, 0xFF, 0xFE];
        assert_eq!(strip_dave_trailer(&silence), &silence);
    }

    #[test]
    fn sequence_wraps_and_reordering_give_the_same_audio() {
        let pk = packets(20);
        let base: u16 = 65_530; // wraps during the stream
        let in_order: Vec<(u16, &[u8])> = pk
            .iter()
            .enumerate()
            .map(|(i, p)| (base.wrapping_add(i as u16), p.as_slice()))
            .collect();
        let (a, sa) = run(&in_order);
        assert_eq!(a.len(), 20 * 320);
        assert_eq!(sa.concealed, 0);
        // Swap neighbours and delay one packet by two slots.
        let mut shuffled = in_order.clone();
        shuffled.swap(3, 4);
        shuffled.swap(10, 12);
        let (b, sb) = run(&shuffled);
        assert_eq!(sb.concealed, 0, "{sb:?}");
        assert_eq!(a, b);
    }

    #[test]
    fn a_lost_packet_is_concealed_with_one_frame() {
        let pk = packets(20);
        let with_gap: Vec<(u16, &[u8])> = pk
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != 7)
            .map(|(i, p)| (i as u16, p.as_slice()))
            .collect();
        let (out, stats) = run(&with_gap);
        assert_eq!(stats.concealed, 1);
        assert_eq!(out.len(), 20 * 320, "one 20 ms frame per lost packet");
    }

    #[test]
    fn a_sequence_jump_is_not_concealed_frame_by_frame() {
        // Hole 12: one packet numbered ~1,000 ahead used to cost ~1,000 PLC decodes.
        let pk = packets(20);
        for jump in [999u16, 30_000, 6] {
            let order: Vec<(u16, &[u8])> = pk
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    let seq = if i < 10 { i as u16 } else { i as u16 + jump };
                    (seq, p.as_slice())
                })
                .collect();
            let (out, stats) = run(&order);
            assert!(stats.concealed <= MAX_CONCEALED_FRAMES, "{jump}: {stats:?}");
            assert_eq!(stats.resets, 1, "{jump}: {stats:?}");
            assert_eq!(stats.decoded, 20, "{jump}: {stats:?}");
            assert_eq!(out.len(), 20 * 320, "{jump}: no audio for the jump");
        }
        // A short gap is still concealed, one frame per lost packet.
        let order: Vec<(u16, &[u8])> = pk
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let seq = if i < 10 { i as u16 } else { i as u16 + 5 };
                (seq, p.as_slice())
            })
            .collect();
        let (out, stats) = run(&order);
        assert_eq!((stats.concealed, stats.resets), (5, 0), "{stats:?}");
        assert_eq!(out.len(), 25 * 320);
    }

    #[test]
    fn a_stream_whose_numbering_falls_far_behind_is_followed() {
        // A packet numbered ~14 after the stream had been at ~43,800 (or a restarted
        // sender): what follows it must be heard, not dropped as late forever.
        let pk = packets(30);
        let order: Vec<(u16, &[u8])> = pk
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let seq = if i < 10 {
                    14 + i as u16
                } else {
                    43_824 + i as u16
                };
                (seq, p.as_slice())
            })
            .collect();
        let (out, stats) = run(&order);
        assert_eq!(stats.decoded, 30, "{stats:?}");
        assert_eq!(out.len(), 30 * 320, "{stats:?}");
        // A packet a little late is still just late.
        let mut order: Vec<(u16, &[u8])> = pk
            .iter()
            .enumerate()
            .map(|(i, p)| (i as u16, p.as_slice()))
            .collect();
        let straggler = order.remove(3);
        order.push(straggler);
        let (_, stats) = run(&order);
        assert_eq!(stats.resets, 0, "{stats:?}");
    }

    #[test]
    fn hostile_sequences_stay_bounded() {
        // Every packet jumps half the sequence space, back and forth.
        let pk = packets(4);
        let mut rx = OpusReceiver::new(3).unwrap();
        let mut produced = 0;
        for i in 0..2_000u32 {
            let seq = (i.wrapping_mul(32_771) & 0xFFFF) as u16;
            produced += rx.push(seq, &pk[i as usize % 4]).unwrap().len();
            assert!(rx.waiting.len() <= 4, "{:?}", rx.stats());
        }
        produced += rx.flush().unwrap().len();
        let s = rx.stats();
        assert!(s.concealed <= MAX_CONCEALED_FRAMES * s.packets, "{s:?}");
        // Never more audio than packets, plus bounded concealment.
        assert!(
            produced <= (s.packets + s.concealed) as usize * 320,
            "{s:?}"
        );
    }

    #[test]
    fn duplicates_and_late_packets_are_ignored() {
        let pk = packets(10);
        let mut order: Vec<(u16, &[u8])> = pk
            .iter()
            .enumerate()
            .map(|(i, p)| (i as u16, p.as_slice()))
            .collect();
        order.insert(5, (4, pk[4].as_slice())); // duplicate
        order.remove(2); // packet 2 arrives much too late ...
        order.push((2, pk[2].as_slice()));
        let (out, stats) = run(&order);
        assert_eq!(out.len(), 10 * 320);
        assert_eq!(stats.late, 1);
        assert_eq!(stats.concealed, 1);
    }

    #[test]
    fn mux_keeps_speakers_apart() {
        let pk = packets(5);
        let mut mux = OpusMux::new(3);
        let mut a = Vec::new();
        let mut b = Vec::new();
        for (i, p) in pk.iter().enumerate() {
            a.extend(mux.push(1, i as u16, p).unwrap());
            b.extend(mux.push(2, 1000 + i as u16, p).unwrap());
        }
        assert_eq!(a, b);
        assert_eq!(mux.stream(1).unwrap().stats().decoded, 5);
        assert!(mux.remove(1).unwrap().is_empty());
        assert!(mux.stream(1).is_none());
    }
}
