//! Audio for the fake voice server: WAV files to 48 kHz stereo PCM, Opus framing for what users
//! say, Opus decoding of what the bot says. Discord's audio is always 48 kHz stereo Opus in
//! 20 ms frames (960 samples per channel).

use std::path::Path;

use opus2::{Application, Bitrate, Channels, Decoder, Encoder};

pub(crate) const SAMPLE_RATE: u32 = 48_000;
/// Interleaved i16 samples in one 20 ms stereo frame.
pub(crate) const FRAME_SAMPLES: usize = 960 * 2;
/// The Opus frame real clients (and songbird) send around speech: signals silence.
pub(crate) const SILENCE_FRAME: [u8; 3] = [0xF8, 0xFF, 0xFE];
/// Discord's default voice bitrate.
const BITRATE: i32 = 64_000;

/// Reads a WAV file (8/16/24/32-bit integer or 32-bit float, any rate, any channel count) as
/// 48 kHz stereo interleaved i16. Mono is duplicated to both channels; channels beyond two are
/// dropped.
pub(crate) fn read_wav(path: &Path) -> Result<Vec<i16>, String> {
    let mut reader =
        hound::WavReader::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let spec = reader.spec();
    let bad = |e: hound::Error| format!("{}: {e}", path.display());
    // Bounded like dicebard's own WAV reader: 8–192 kHz, 1–8 channels, ≤ 10 minutes.
    if !(8_000..=192_000).contains(&spec.sample_rate)
        || !(1..=8).contains(&spec.channels)
        || u64::from(reader.duration()) > 600 * u64::from(spec.sample_rate)
        || (spec.sample_format == hound::SampleFormat::Int
            && !(1..=32).contains(&spec.bits_per_sample))
    {
        return Err(format!(
            "{}: unsupported WAV ({} Hz, {} channels, {}-bit, {} frames)",
            path.display(),
            spec.sample_rate,
            spec.channels,
            spec.bits_per_sample,
            reader.duration()
        ));
    }
    let samples: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => reader
            .samples::<f32>()
            .collect::<Result<_, _>>()
            .map_err(bad)?,
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1u64 << (spec.bits_per_sample - 1)) as f32;
            reader
                .samples::<i32>()
                .map(|s| s.map(|v| v as f32 * scale))
                .collect::<Result<_, _>>()
                .map_err(bad)?
        }
    };
    let channels = usize::from(spec.channels.max(1));
    let stereo: Vec<[f32; 2]> = samples
        .chunks_exact(channels)
        .map(|c| [c[0], if channels > 1 { c[1] } else { c[0] }])
        .collect();
    let resampled = resample_linear(&stereo, spec.sample_rate, SAMPLE_RATE);
    Ok(resampled
        .iter()
        .flat_map(|f| f.map(|v| (v.clamp(-1.0, 1.0) * 32767.0).round() as i16))
        .collect())
}

/// Linear-interpolation resampling of stereo frames (good enough for speech in tests).
pub(crate) fn resample_linear(input: &[[f32; 2]], from: u32, to: u32) -> Vec<[f32; 2]> {
    if from == to || input.is_empty() {
        return input.to_vec();
    }
    let out_len = (input.len() as u64 * u64::from(to) / u64::from(from)) as usize;
    let step = f64::from(from) / f64::from(to);
    (0..out_len)
        .map(|i| {
            let pos = i as f64 * step;
            let j = pos.floor() as usize;
            let frac = (pos - j as f64) as f32;
            let a = input[j.min(input.len() - 1)];
            let b = input[(j + 1).min(input.len() - 1)];
            [a[0] + (b[0] - a[0]) * frac, a[1] + (b[1] - a[1]) * frac]
        })
        .collect()
}

/// Encodes 48 kHz stereo interleaved PCM as 20 ms Opus frames (the last one zero-padded),
/// followed by five silence frames, as Discord clients end a burst of speech.
pub(crate) fn encode_speech(pcm: &[i16]) -> Result<Vec<Vec<u8>>, String> {
    let mut encoder = Encoder::new(SAMPLE_RATE, Channels::Stereo, Application::Voip)
        .map_err(|e| format!("opus encoder: {e}"))?;
    encoder
        .set_bitrate(Bitrate::Bits(BITRATE))
        .map_err(|e| format!("opus bitrate: {e}"))?;
    let mut frames = Vec::with_capacity(pcm.len() / FRAME_SAMPLES + 6);
    let mut frame = [0i16; FRAME_SAMPLES];
    for chunk in pcm.chunks(FRAME_SAMPLES) {
        frame.fill(0);
        frame[..chunk.len()].copy_from_slice(chunk);
        frames.push(
            encoder
                .encode_vec(&frame, 4000)
                .map_err(|e| format!("opus encode: {e}"))?,
        );
    }
    frames.extend(std::iter::repeat_n(SILENCE_FRAME.to_vec(), 5));
    Ok(frames)
}

/// A 48 kHz stereo Opus decoder.
pub(crate) struct OpusDecoder {
    decoder: Decoder,
    buf: Vec<i16>,
}

impl OpusDecoder {
    pub fn new() -> Result<Self, String> {
        Ok(Self {
            decoder: Decoder::new(SAMPLE_RATE, Channels::Stereo)
                .map_err(|e| format!("opus decoder: {e}"))?,
            // 120 ms, Opus's longest frame.
            buf: vec![0; 5760 * 2],
        })
    }

    /// Decodes one Opus frame to interleaved stereo i16.
    pub fn decode(&mut self, frame: &[u8]) -> Result<&[i16], String> {
        let per_channel = self
            .decoder
            .decode(frame, &mut self.buf, false)
            .map_err(|e| format!("opus decode: {e}"))?;
        Ok(&self.buf[..per_channel * 2])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(hz: f32, seconds: f32) -> Vec<i16> {
        let n = (SAMPLE_RATE as f32 * seconds) as usize;
        (0..n)
            .flat_map(|i| {
                let v = (i as f32 * hz * std::f32::consts::TAU / SAMPLE_RATE as f32).sin();
                let s = (v * 12_000.0) as i16;
                [s, s]
            })
            .collect()
    }

    #[test]
    fn opus_round_trip_keeps_length_and_pitch() {
        let pcm = sine(440.0, 0.5);
        let frames = encode_speech(&pcm).unwrap();
        assert_eq!(frames.len(), 25 + 5);
        assert_eq!(frames[25..], vec![SILENCE_FRAME.to_vec(); 5][..]);
        let mut dec = OpusDecoder::new().unwrap();
        let mut out = Vec::new();
        for f in &frames {
            out.extend_from_slice(dec.decode(f).unwrap());
        }
        assert_eq!(out.len(), 30 * FRAME_SAMPLES);
        let left: Vec<i16> = out[..pcm.len()].iter().step_by(2).copied().collect();
        let crossings = left.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
        // 440 Hz for 0.5 s: ~440 zero crossings.
        assert!((400..480).contains(&crossings), "{crossings} crossings");
    }

    #[test]
    fn resampling_changes_length_by_the_rate_ratio() {
        let input = vec![[0.5, -0.5]; 16_000];
        let out = resample_linear(&input, 16_000, 48_000);
        assert_eq!(out.len(), 48_000);
        assert!(out.iter().all(|f| *f == [0.5, -0.5]));
    }
}
