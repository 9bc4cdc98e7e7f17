//! The bot's Opus receive path: DAVE-trailer stripping, per-SSRC reordering, loss
//! concealment and decoding, fed a stream of (SSRC, sequence number, payload) records.
//! No input may panic or make concealment unbounded (the checks are in
//! `crates/voice/src/opus_rx.rs` `fuzz_records`, also replayed by the voice crate's tests).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    dicebard_fuzz_voice::opus_rx::fuzz_records(data);
});
