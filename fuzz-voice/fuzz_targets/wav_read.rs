//! Any bytes as a WAV file (the checks are in `crates/voice/src/audio.rs` `fuzz_wav`,
//! also replayed by the voice crate's tests).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    dicebard_fuzz_voice::audio::fuzz_wav(data);
});
