//! The bot's Opus receive path: DAVE-trailer stripping, per-SSRC reordering, loss
//! concealment and decoding, fed a stream of (SSRC, sequence number, payload) records.
//! No input may panic or make concealment unbounded: at most MAX_CONCEALED_FRAMES per
//! packet, at most 120 ms of audio per packet otherwise, and the reorder buffer stays
//! within its depth.
#![no_main]

use dicebard_fuzz_voice::opus_rx::{MAX_CONCEALED_FRAMES, OpusMux, strip_dave_trailer};
use libfuzzer_sys::fuzz_target;

/// 16 kHz samples in 20 ms.
const FRAME_16K: usize = 320;

fuzz_target!(|data: &[u8]| {
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
    assert!(produced <= bound, "{produced} samples from {packets} packets");
});
