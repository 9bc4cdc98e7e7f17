//! Audio plumbing: WAV in and out, channel mixing, sample-rate conversion, and the
//! formats the pipeline speaks: 16 kHz mono f32 for whisper, Piper's 22,050 Hz mono,
//! Discord's 48 kHz stereo i16.

use crate::error::{Result, VoiceError};
use rubato::{FftFixedIn, Resampler};
use std::path::Path;

/// whisper's input rate.
pub const WHISPER_RATE: u32 = 16_000;
/// Discord voice: 48 kHz, stereo, 20 ms frames.
pub const DISCORD_RATE: u32 = 48_000;
/// Samples per channel in one 20 ms Discord frame.
pub const DISCORD_FRAME: usize = 960;

/// Decoded PCM: interleaved samples in [-1, 1].
#[derive(Debug, Clone, PartialEq)]
pub struct Pcm {
    pub samples: Vec<f32>,
    pub sample_rate: u32,
    pub channels: u16,
}

impl Pcm {
    /// Duration in seconds.
    pub fn seconds(&self) -> f64 {
        if self.sample_rate == 0 || self.channels == 0 {
            return 0.0;
        }
        self.samples.len() as f64 / self.channels as f64 / self.sample_rate as f64
    }
}

/// Sample rates a WAV file may have: telephone quality to studio quality. Outside this
/// range resampling cost grows with the rate (a large prime rate made the resampler
/// allocate gigabytes).
pub const WAV_RATES: std::ops::RangeInclusive<u32> = 8_000..=192_000;
/// Most channels a WAV file may have.
pub const WAV_MAX_CHANNELS: u16 = 8;
/// Longest WAV file accepted, in seconds (a spoken clip, not an album).
pub const WAV_MAX_SECONDS: u32 = 600;

/// Reads a WAV file: 8/16/24/32-bit integer or 32-bit float PCM, 8 to 192 kHz, up to 8
/// channels and 10 minutes. An unreadable, non-WAV, empty or out-of-bounds file is an
/// error naming the path.
pub fn read_wav(path: &Path) -> Result<Pcm> {
    if !path.exists() {
        return Err(VoiceError::audio(path, "no such file"));
    }
    let reader = hound::WavReader::open(path)
        .map_err(|e| VoiceError::audio(path, format!("not a readable WAV file ({e})")))?;
    read_wav_from(path, reader)
}

/// Reads WAV data from any reader (`what` names it in errors), with [`read_wav`]'s bounds.
pub fn read_wav_bytes(what: &Path, bytes: &[u8]) -> Result<Pcm> {
    let reader = hound::WavReader::new(std::io::Cursor::new(bytes))
        .map_err(|e| VoiceError::audio(what, format!("not a readable WAV file ({e})")))?;
    read_wav_from(what, reader)
}

fn read_wav_from<R: std::io::Read>(path: &Path, reader: hound::WavReader<R>) -> Result<Pcm> {
    let spec = reader.spec();
    if spec.channels == 0 || spec.sample_rate == 0 {
        return Err(VoiceError::audio(path, "WAV header has 0 channels or 0 Hz"));
    }
    if !WAV_RATES.contains(&spec.sample_rate) {
        return Err(VoiceError::audio(
            path,
            format!(
                "unsupported sample rate {} Hz (accepted: {} to {} Hz)",
                spec.sample_rate,
                WAV_RATES.start(),
                WAV_RATES.end()
            ),
        ));
    }
    if spec.channels > WAV_MAX_CHANNELS {
        return Err(VoiceError::audio(
            path,
            format!(
                "{} channels (at most {WAV_MAX_CHANNELS} accepted)",
                spec.channels
            ),
        ));
    }
    // The header's length (frames per channel); the data is read no further than it.
    let frames = u64::from(reader.duration());
    let max_frames = u64::from(WAV_MAX_SECONDS) * u64::from(spec.sample_rate);
    if frames > max_frames {
        return Err(VoiceError::audio(
            path,
            format!(
                "{:.0} s of audio is too long (at most {WAV_MAX_SECONDS} s accepted)",
                frames as f64 / f64::from(spec.sample_rate)
            ),
        ));
    }
    let samples: Vec<f32> = match spec.sample_format {
        // NaN and infinities (legal bit patterns in a float WAV) become silence: they
        // would poison the resampler's FFT (found by fuzz-voice's wav_read target).
        hound::SampleFormat::Float => reader
            .into_samples::<f32>()
            .map(|s| s.map(|v| if v.is_finite() { v } else { 0.0 }))
            .collect::<Result<_, _>>()
            .map_err(|e| VoiceError::audio(path, format!("bad WAV data ({e})")))?,
        hound::SampleFormat::Int => {
            let bits = spec.bits_per_sample;
            if bits == 0 || bits > 32 {
                return Err(VoiceError::audio(path, format!("{bits}-bit samples")));
            }
            let scale = 1.0 / (1u64 << (bits - 1)) as f32;
            reader
                .into_samples::<i32>()
                .map(|s| s.map(|v| v as f32 * scale))
                .collect::<Result<_, _>>()
                .map_err(|e| VoiceError::audio(path, format!("bad WAV data ({e})")))?
        }
    };
    if samples.len() < spec.channels as usize {
        return Err(VoiceError::audio(path, "the WAV file contains no audio"));
    }
    Ok(Pcm {
        samples,
        sample_rate: spec.sample_rate,
        channels: spec.channels,
    })
}

/// Reads any common WAV file and returns it as 16 kHz mono f32, ready for whisper.
pub fn read_wav_16k_mono(path: &Path) -> Result<Vec<f32>> {
    let pcm = read_wav(path)?;
    let mono = downmix(&pcm.samples, pcm.channels);
    resample(&mono, pcm.sample_rate, WHISPER_RATE)
}

/// Averages interleaved channels into mono.
pub fn downmix(interleaved: &[f32], channels: u16) -> Vec<f32> {
    let ch = channels.max(1) as usize;
    if ch == 1 {
        return interleaved.to_vec();
    }
    let inv = 1.0 / ch as f32;
    interleaved
        .chunks_exact(ch)
        .map(|frame| frame.iter().sum::<f32>() * inv)
        .collect()
}

/// Rates [`resample`] accepts.
pub const RESAMPLE_RATES: std::ops::RangeInclusive<u32> = 4_000..=384_000;

/// Resamples mono audio from `from` Hz to `to` Hz with a band-limited FFT resampler
/// (rubato). The output is aligned with the input (the resampler's delay is removed)
/// and has `round(len * to / from)` samples.
pub fn resample(input: &[f32], from: u32, to: u32) -> Result<Vec<f32>> {
    if from == to {
        return Ok(input.to_vec());
    }
    let err = |reason: String| VoiceError::Resample { from, to, reason };
    if !RESAMPLE_RATES.contains(&from) || !RESAMPLE_RATES.contains(&to) {
        // The FFT block grows with `rate / gcd(from, to)`: a large prime rate would
        // allocate gigabytes.
        return Err(err(format!(
            "rates must be {} to {} Hz",
            RESAMPLE_RATES.start(),
            RESAMPLE_RATES.end()
        )));
    }
    if input.is_empty() {
        return Ok(Vec::new());
    }
    // A NaN or an infinity makes rubato's FFT panic: resample silence in its place.
    let sanitized: Vec<f32>;
    let input = if input.iter().all(|s| s.is_finite()) {
        input
    } else {
        sanitized = input
            .iter()
            .map(|&s| if s.is_finite() { s } else { 0.0 })
            .collect();
        &sanitized
    };
    let expected = ((input.len() as u64 * to as u64 + from as u64 / 2) / from as u64) as usize;
    // FFT blocks of about 1024 input samples, both block sizes even so that the
    // resampler's delay (half a block) is a whole number of samples.
    let g = gcd(from, to);
    let a = (from / g) as usize;
    let k = 1024usize.div_ceil(a).next_multiple_of(2);
    let mut r = FftFixedIn::<f32>::new(from as usize, to as usize, k * a, 1, 1)
        .map_err(|e| err(e.to_string()))?;
    let delay = r.output_delay();
    let mut out = Vec::with_capacity(expected + delay + 4096);
    let mut pos = 0;
    loop {
        let need = r.input_frames_next();
        if pos + need > input.len() {
            break;
        }
        let chunk = r
            .process(&[&input[pos..pos + need]], None)
            .map_err(|e| err(e.to_string()))?;
        out.extend_from_slice(&chunk[0]);
        pos += need;
    }
    if pos < input.len() {
        let chunk = r
            .process_partial(Some(&[&input[pos..]]), None)
            .map_err(|e| err(e.to_string()))?;
        out.extend_from_slice(&chunk[0]);
    }
    while out.len() < expected + delay {
        let chunk = r
            .process_partial(None::<&[&[f32]]>, None)
            .map_err(|e| err(e.to_string()))?;
        if chunk[0].is_empty() {
            break;
        }
        out.extend_from_slice(&chunk[0]);
    }
    out.drain(..delay.min(out.len()));
    out.resize(expected, 0.0);
    Ok(out)
}

fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a.max(1)
}

/// Converts mono audio at `rate` (Piper: 22,050 Hz) into what Discord plays: 48 kHz
/// stereo, interleaved i16.
pub fn to_discord_stereo(mono: &[f32], rate: u32) -> Result<Vec<i16>> {
    let up = resample(mono, rate, DISCORD_RATE)?;
    let mut out = Vec::with_capacity(up.len() * 2);
    for s in up {
        let v = f32_to_i16(s);
        out.push(v);
        out.push(v);
    }
    Ok(out)
}

/// Clamps and converts one sample.
pub fn f32_to_i16(s: f32) -> i16 {
    (s.clamp(-1.0, 1.0) * i16::MAX as f32).round() as i16
}

/// Writes interleaved f32 samples as a 16-bit PCM WAV file.
pub fn write_wav(path: &Path, samples: &[f32], sample_rate: u32, channels: u16) -> Result<()> {
    let ints: Vec<i16> = samples.iter().copied().map(f32_to_i16).collect();
    write_wav_i16(path, &ints, sample_rate, channels)
}

/// Writes interleaved i16 samples as a 16-bit PCM WAV file.
pub fn write_wav_i16(path: &Path, samples: &[i16], sample_rate: u32, channels: u16) -> Result<()> {
    let spec = hound::WavSpec {
        channels,
        sample_rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let io = |e: hound::Error| VoiceError::audio(path, format!("cannot write WAV ({e})"));
    // hound computes the byte rate in u32 (and panics on overflow).
    let byte_rate = u32::from(channels)
        .checked_mul(2)
        .and_then(|b| b.checked_mul(sample_rate));
    if channels == 0 || sample_rate == 0 || byte_rate.is_none() {
        return Err(VoiceError::audio(
            path,
            format!("cannot write {channels} channels at {sample_rate} Hz"),
        ));
    }
    let mut w = hound::WavWriter::create(path, spec).map_err(io)?;
    for &s in samples {
        w.write_sample(s).map_err(io)?;
    }
    w.finalize().map_err(io)
}

/// Root-mean-square level of a block.
pub fn rms(block: &[f32]) -> f32 {
    if block.is_empty() {
        return 0.0;
    }
    (block.iter().map(|s| s * s).sum::<f32>() / block.len() as f32).sqrt()
}

/// Signal-to-noise ratio in dB of `test` against `reference` (over their common
/// length): how far a decode or a conversion is from the reference. Identical input
/// gives +inf.
pub fn snr_db(reference: &[f32], test: &[f32]) -> f64 {
    let n = reference.len().min(test.len());
    let (mut sig, mut noise) = (0f64, 0f64);
    for i in 0..n {
        sig += (reference[i] as f64).powi(2);
        noise += (reference[i] as f64 - test[i] as f64).powi(2);
    }
    if noise == 0.0 {
        return f64::INFINITY;
    }
    10.0 * (sig / noise).log10()
}

/// The `wav_read` fuzz target (`fuzz-voice/`, which compiles this file) and its corpus
/// replay in this crate's tests: any bytes as a WAV file are refused or read within the
/// accepted rates and channels, and resample to a bounded length. Not an API.
#[doc(hidden)]
pub fn fuzz_wav(data: &[u8]) {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(freq: f32, rate: u32, secs: f32) -> Vec<f32> {
        (0..(rate as f32 * secs) as usize)
            .map(|i| 0.5 * (2.0 * std::f32::consts::PI * freq * i as f32 / rate as f32).sin())
            .collect()
    }

    fn snr(want: &[f32], got: &[f32]) -> f64 {
        snr_db(want, got)
    }

    #[test]
    fn resample_keeps_length_and_phase() {
        for (from, to) in [
            (48_000, 16_000),
            (44_100, 16_000),
            (8_000, 16_000),
            (22_050, 48_000),
        ] {
            let x = sine(440.0, from, 1.0);
            let y = resample(&x, from, to).unwrap();
            assert_eq!(y.len(), to as usize, "{from}->{to}");
            let want = sine(440.0, to, 1.0);
            // Ignore the edges, where the filter sees zeros.
            let m = to as usize / 20;
            let s = snr(&want[m..want.len() - m], &y[m..y.len() - m]);
            assert!(s > 60.0, "{from}->{to}: SNR {s:.1} dB");
        }
    }

    #[test]
    fn downmix_averages() {
        assert_eq!(downmix(&[1.0, 0.0, 0.5, 0.5], 2), vec![0.5, 0.5]);
        assert_eq!(downmix(&[0.25], 1), vec![0.25]);
    }

    #[test]
    fn discord_format_is_48k_stereo() {
        let x = sine(220.0, 22_050, 0.5);
        let y = to_discord_stereo(&x, 22_050).unwrap();
        assert_eq!(y.len(), 48_000); // 0.5 s * 48k * 2 channels
        assert!(y.chunks_exact(2).all(|f| f[0] == f[1]));
    }

    #[test]
    fn wav_round_trip_any_rate_and_channels() {
        let dir = std::env::temp_dir().join(format!("dicebard-voice-audio-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let x = sine(300.0, 44_100, 0.5);
        let stereo: Vec<f32> = x.iter().flat_map(|&s| [s, s]).collect();
        let p = dir.join("stereo44k.wav");
        write_wav(&p, &stereo, 44_100, 2).unwrap();
        let pcm = read_wav(&p).unwrap();
        assert_eq!((pcm.sample_rate, pcm.channels), (44_100, 2));
        assert!((pcm.seconds() - 0.5).abs() < 1e-3);
        let m = read_wav_16k_mono(&p).unwrap();
        assert_eq!(m.len(), 8_000);
        // Float WAVs too.
        let pf = dir.join("float.wav");
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 8_000,
            bits_per_sample: 32,
            sample_format: hound::SampleFormat::Float,
        };
        let mut w = hound::WavWriter::create(&pf, spec).unwrap();
        for s in sine(300.0, 8_000, 0.25) {
            w.write_sample(s).unwrap();
        }
        w.finalize().unwrap();
        assert_eq!(read_wav_16k_mono(&pf).unwrap().len(), 4_000);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn bad_wavs_are_clear_errors() {
        let dir = std::env::temp_dir().join(format!("dicebard-voice-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let txt = dir.join("notes.wav");
        std::fs::write(&txt, "this is not audio").unwrap();
        let e = read_wav(&txt).unwrap_err().to_string();
        assert!(
            e.contains("notes.wav") && e.contains("not a readable WAV"),
            "{e}"
        );
        let empty = dir.join("empty.wav");
        write_wav(&empty, &[], 16_000, 1).unwrap();
        let e = read_wav(&empty).unwrap_err().to_string();
        assert!(e.contains("no audio"), "{e}");
        // Hole 12: a large prime sample rate made resampling allocate gigabytes.
        for rate in [1_000_003u32, 7_919, 192_001, 2_000_000_011] {
            let odd = dir.join(format!("rate{rate}.wav"));
            write_wav(&odd, &[0.0; 64], 16_000, 1).unwrap();
            let mut bytes = std::fs::read(&odd).unwrap();
            bytes[24..28].copy_from_slice(&rate.to_le_bytes());
            bytes[28..32].copy_from_slice(&(rate * 2).to_le_bytes());
            std::fs::write(&odd, &bytes).unwrap();
            let e = read_wav(&odd).unwrap_err().to_string();
            assert!(
                e.contains("sample rate") && e.contains(&rate.to_string()),
                "{e}"
            );
            assert!(read_wav_16k_mono(&odd).is_err());
        }
        let e = resample(&[0.0; 64], 1_000_003, 16_000)
            .unwrap_err()
            .to_string();
        assert!(e.contains("rates must be"), "{e}");
        // Fuzz crash (fuzz-voice/regressions/wav_read-nan.wav): a float WAV holding NaN
        // and infinities panicked the resampler.
        let nan = dir.join("nan.wav");
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 22_050,
            bits_per_sample: 32,
            sample_format: hound::SampleFormat::Float,
        };
        let mut w = hound::WavWriter::create(&nan, spec).unwrap();
        for i in 0..3_000 {
            let v = match i % 4 {
                0 => f32::NAN,
                1 => f32::INFINITY,
                2 => f32::NEG_INFINITY,
                _ => 0.25,
            };
            w.write_sample(v).unwrap();
        }
        w.finalize().unwrap();
        let m = read_wav_16k_mono(&nan).unwrap();
        assert!(!m.is_empty() && m.iter().all(|s| s.is_finite()));
        let r = resample(&[f32::NAN, 1.0, f32::INFINITY, 0.0], 48_000, 16_000).unwrap();
        assert!(r.iter().all(|s| s.is_finite()));
        let fuzzed = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fuzz-voice/regressions/wav_read-nan.wav");
        let bytes = std::fs::read(&fuzzed).unwrap();
        let pcm = read_wav_bytes(&fuzzed, &bytes).unwrap();
        let mono = downmix(&pcm.samples, pcm.channels);
        resample(&mono, pcm.sample_rate, WHISPER_RATE).unwrap();
        // Too many channels.
        let wide = dir.join("wide.wav");
        write_wav(&wide, &[0.0; 64], 16_000, 16).unwrap();
        let e = read_wav(&wide).unwrap_err().to_string();
        assert!(e.contains("16 channels"), "{e}");
        // A header claiming hours of audio (data chunk size patched): refused before reading.
        let long = dir.join("long.wav");
        write_wav(&long, &[0.0; 64], 8_000, 1).unwrap();
        let mut bytes = std::fs::read(&long).unwrap();
        assert_eq!(&bytes[36..40], b"data");
        bytes[40..44].copy_from_slice(&(2 * 8_000 * 601u32).to_le_bytes());
        let e = read_wav_bytes(&long, &bytes).unwrap_err().to_string();
        assert!(e.contains("too long"), "{e}");
        // Just within the bound is read (and the short data is an error, not a hang).
        bytes[40..44].copy_from_slice(&(2 * 8_000 * 600u32).to_le_bytes());
        let e = read_wav_bytes(&long, &bytes).unwrap_err().to_string();
        assert!(e.contains("bad WAV data"), "{e}");
        let e = read_wav(&dir.join("missing.wav")).unwrap_err().to_string();
        assert!(
            e.contains("missing.wav") && e.contains("no such file"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}
