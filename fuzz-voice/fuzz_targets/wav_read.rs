//! WAV files as `dicebard transcribe` reads them: the header (rate, channels, bits,
//! length) and data, then the conversion to 16 kHz mono for whisper. No input may panic
//! or allocate beyond the bounds (8–192 kHz, ≤ 8 channels, ≤ 10 minutes).
#![no_main]

use dicebard_fuzz_voice::audio::{WAV_MAX_CHANNELS, WAV_RATES, downmix, read_wav_bytes, resample};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(pcm) = read_wav_bytes(Path::new("fuzz.wav"), data) else {
        return;
    };
    assert!(WAV_RATES.contains(&pcm.sample_rate));
    assert!((1..=WAV_MAX_CHANNELS).contains(&pcm.channels));
    assert!(pcm.samples.len() <= data.len());
    let mono = downmix(&pcm.samples, pcm.channels);
    let out = resample(&mono, pcm.sample_rate, 16_000).expect("accepted rates resample");
    let want = (mono.len() as u64 * 16_000).div_ceil(u64::from(pcm.sample_rate)) as usize;
    assert!(out.len() <= want + 1);
});
