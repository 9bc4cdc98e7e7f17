//! Voice activity detection and end-of-utterance detection, one [`Segmenter`] per
//! speaker.
//!
//! A pure state machine fed 20 ms frames of 16 kHz mono audio. A frame is speech when its
//! RMS level is clearly above an adaptive noise floor (and above an absolute minimum).
//! An utterance starts at the first speech frame (with a short pre-roll kept so word
//! onsets are not clipped) and ends after `silence_ms` of non-speech; utterances with
//! less than `min_utterance_ms` of speech are dropped as noise; at `max_utterance_ms`
//! the utterance is force-cut and a new one starts.
//!
//! Discord stops sending packets while a user is silent: the receive loop must call
//! [`Segmenter::push_silence_frame`] every 20 ms for a speaker who sent nothing, or
//! utterances never end.

use std::collections::VecDeque;

/// Segmenter settings. Times are in milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmenterConfig {
    /// Input rate (whisper: 16,000).
    pub sample_rate: u32,
    /// Frame length (20 ms).
    pub frame_ms: u32,
    /// Silence that ends an utterance (500-800; default 700).
    pub silence_ms: u32,
    /// Utterances with less speech than this are dropped (default 300).
    pub min_utterance_ms: u32,
    /// Longer utterances are cut here (default 15,000).
    pub max_utterance_ms: u32,
    /// Audio kept from before the first speech frame (default 200).
    pub pre_roll_ms: u32,
    /// Silence kept after the last speech frame (default 200).
    pub tail_ms: u32,
    /// A frame is speech when it is this many dB above the noise floor (default 10).
    pub threshold_db: f32,
    /// ... and above this absolute level, dBFS (default -50).
    pub min_speech_dbfs: f32,
}

impl Default for SegmenterConfig {
    fn default() -> Self {
        SegmenterConfig {
            sample_rate: 16_000,
            frame_ms: 20,
            silence_ms: 700,
            min_utterance_ms: 300,
            max_utterance_ms: 15_000,
            pre_roll_ms: 200,
            tail_ms: 200,
            threshold_db: 10.0,
            min_speech_dbfs: -50.0,
        }
    }
}

/// Range allowed for `silence_ms`.
pub const SILENCE_MS_RANGE: std::ops::RangeInclusive<u32> = 500..=800;

impl SegmenterConfig {
    /// The defaults with `silence_ms` set, clamped to 500-800 ms (a warning is logged
    /// when clamped).
    pub fn with_silence_ms(silence_ms: u64) -> Self {
        let lo = *SILENCE_MS_RANGE.start() as u64;
        let hi = *SILENCE_MS_RANGE.end() as u64;
        let clamped = silence_ms.clamp(lo, hi) as u32;
        if clamped as u64 != silence_ms {
            tracing::warn!(
                silence_ms,
                used = clamped,
                "voice.silence_ms clamped to 500..=800"
            );
        }
        SegmenterConfig {
            silence_ms: clamped,
            ..Self::default()
        }
    }

    /// Samples per frame.
    pub fn frame_len(&self) -> usize {
        (self.sample_rate as usize * self.frame_ms as usize / 1000).max(1)
    }

    fn frames(&self, ms: u32) -> usize {
        (ms as usize).div_ceil(self.frame_ms.max(1) as usize)
    }
}

/// Why an utterance ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// `silence_ms` of silence.
    Silence,
    /// It reached `max_utterance_ms` and was cut.
    MaxLength,
    /// [`Segmenter::flush`] (the stream ended).
    Flush,
}

/// One utterance: audio ready for transcription.
#[derive(Debug, Clone, PartialEq)]
pub struct Utterance {
    /// 16 kHz mono samples (with pre-roll and a short tail).
    pub samples: Vec<f32>,
    /// Position in the speaker's stream where the audio starts, ms.
    pub start_ms: u64,
    /// Milliseconds of frames classified as speech.
    pub speech_ms: u64,
    pub reason: EndReason,
}

impl Utterance {
    /// Duration of `samples` in ms at `rate`.
    pub fn duration_ms(&self, rate: u32) -> u64 {
        self.samples.len() as u64 * 1000 / rate.max(1) as u64
    }
}

#[derive(Debug)]
enum State {
    Idle,
    Speaking {
        buf: Vec<f32>,
        start_frame: u64,
        speech_frames: usize,
        /// Non-speech frames since the last speech frame.
        silence_run: usize,
        /// Length of `buf` just after the last speech frame.
        last_speech_len: usize,
    },
}

/// Energy VAD + end-of-utterance state machine for one speaker.
#[derive(Debug)]
pub struct Segmenter {
    cfg: SegmenterConfig,
    frame_len: usize,
    state: State,
    pre_roll: VecDeque<Vec<f32>>,
    noise_floor_db: f32,
    frames_seen: u64,
    /// Partial frame from `push`.
    pending: Vec<f32>,
}

/// Level of a frame in dBFS.
pub fn level_db(frame: &[f32]) -> f32 {
    20.0 * (crate::audio::rms(frame) + 1e-9).log10()
}

impl Segmenter {
    pub fn new(cfg: SegmenterConfig) -> Self {
        let frame_len = cfg.frame_len();
        Segmenter {
            frame_len,
            state: State::Idle,
            pre_roll: VecDeque::new(),
            noise_floor_db: -60.0,
            frames_seen: 0,
            pending: Vec::new(),
            cfg,
        }
    }

    pub fn config(&self) -> &SegmenterConfig {
        &self.cfg
    }

    /// Samples per frame expected by [`push_frame`](Self::push_frame).
    pub fn frame_len(&self) -> usize {
        self.frame_len
    }

    /// The current noise-floor estimate, dBFS.
    pub fn noise_floor_db(&self) -> f32 {
        self.noise_floor_db
    }

    /// True while inside an utterance.
    pub fn is_speaking(&self) -> bool {
        matches!(self.state, State::Speaking { .. })
    }

    /// Classifies a frame and updates the noise floor.
    fn classify(&mut self, frame: &[f32]) -> bool {
        let db = level_db(frame);
        let speech =
            db > self.noise_floor_db + self.cfg.threshold_db && db > self.cfg.min_speech_dbfs;
        // Falls fast, rises slowly; during "speech" it still creeps up, so a steady loud
        // background (a fan) stops counting as speech after a few seconds.
        let alpha = if db < self.noise_floor_db {
            0.3
        } else if speech {
            0.007
        } else {
            0.03
        };
        self.noise_floor_db += alpha * (db - self.noise_floor_db);
        self.noise_floor_db = self.noise_floor_db.clamp(-90.0, -10.0);
        speech
    }

    /// Feeds one frame of exactly [`frame_len`](Self::frame_len) samples (a shorter
    /// one is zero-padded, a longer one truncated). Returns an utterance when one ends.
    pub fn push_frame(&mut self, frame: &[f32]) -> Option<Utterance> {
        let frame: std::borrow::Cow<[f32]> = if frame.len() == self.frame_len {
            frame.into()
        } else {
            let mut v = frame[..frame.len().min(self.frame_len)].to_vec();
            v.resize(self.frame_len, 0.0);
            v.into()
        };
        let speech = self.classify(&frame);
        let index = self.frames_seen;
        self.frames_seen += 1;
        let silence_frames = self.cfg.frames(self.cfg.silence_ms);
        let max_len = self.cfg.max_utterance_ms as usize * self.cfg.sample_rate as usize / 1000;
        match &mut self.state {
            State::Idle => {
                if speech {
                    let mut buf = Vec::with_capacity(self.frame_len * 100);
                    let pre = self.pre_roll.len() as u64;
                    for f in self.pre_roll.drain(..) {
                        buf.extend_from_slice(&f);
                    }
                    buf.extend_from_slice(&frame);
                    self.state = State::Speaking {
                        last_speech_len: buf.len(),
                        buf,
                        start_frame: index - pre,
                        speech_frames: 1,
                        silence_run: 0,
                    };
                } else {
                    self.pre_roll.push_back(frame.into_owned());
                    while self.pre_roll.len() > self.cfg.frames(self.cfg.pre_roll_ms) {
                        self.pre_roll.pop_front();
                    }
                }
                None
            }
            State::Speaking {
                buf,
                speech_frames,
                silence_run,
                last_speech_len,
                ..
            } => {
                buf.extend_from_slice(&frame);
                if speech {
                    *speech_frames += 1;
                    *silence_run = 0;
                    *last_speech_len = buf.len();
                } else {
                    *silence_run += 1;
                }
                if *silence_run >= silence_frames {
                    return self.finish(EndReason::Silence);
                }
                if buf.len() >= max_len {
                    let cut = self.finish(EndReason::MaxLength);
                    // Keep listening: the speaker is still talking.
                    self.state = State::Speaking {
                        buf: Vec::with_capacity(self.frame_len * 100),
                        start_frame: self.frames_seen,
                        speech_frames: 0,
                        silence_run: 0,
                        last_speech_len: 0,
                    };
                    return cut;
                }
                None
            }
        }
    }

    /// Feeds one frame of silence: call it for each 20 ms in which a speaker sent
    /// nothing (Discord sends no packets during silence).
    pub fn push_silence_frame(&mut self) -> Option<Utterance> {
        let zeros = vec![0.0; self.frame_len];
        self.push_frame(&zeros)
    }

    /// Feeds any number of samples; returns the utterances that ended.
    pub fn push(&mut self, samples: &[f32]) -> Vec<Utterance> {
        let mut out = Vec::new();
        let mut rest = samples;
        if !self.pending.is_empty() {
            let need = self.frame_len - self.pending.len();
            let take = need.min(rest.len());
            self.pending.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.pending.len() == self.frame_len {
                let frame = std::mem::take(&mut self.pending);
                out.extend(self.push_frame(&frame));
            }
        }
        let mut chunks = rest.chunks_exact(self.frame_len);
        for frame in &mut chunks {
            out.extend(self.push_frame(frame));
        }
        self.pending.extend_from_slice(chunks.remainder());
        out
    }

    /// Ends the stream: returns the utterance in progress if it has enough speech.
    pub fn flush(&mut self) -> Option<Utterance> {
        self.pending.clear();
        self.finish(EndReason::Flush)
    }

    fn finish(&mut self, reason: EndReason) -> Option<Utterance> {
        let state = std::mem::replace(&mut self.state, State::Idle);
        self.pre_roll.clear();
        let State::Speaking {
            mut buf,
            start_frame,
            speech_frames,
            last_speech_len,
            ..
        } = state
        else {
            return None;
        };
        let speech_ms = speech_frames as u64 * self.cfg.frame_ms as u64;
        if speech_ms < self.cfg.min_utterance_ms as u64 {
            tracing::trace!(speech_ms, "dropped a too-short sound");
            return None;
        }
        if reason != EndReason::MaxLength {
            let tail = self.cfg.tail_ms as usize * self.cfg.sample_rate as usize / 1000;
            buf.truncate((last_speech_len + tail).min(buf.len()));
        }
        Some(Utterance {
            samples: buf,
            start_ms: start_frame * self.cfg.frame_ms as u64,
            speech_ms,
            reason,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic pseudo-random noise in [-amp, amp].
    fn noise(n: usize, amp: f32, seed: &mut u64) -> Vec<f32> {
        (0..n)
            .map(|_| {
                *seed ^= *seed << 13;
                *seed ^= *seed >> 7;
                *seed ^= *seed << 17;
                ((*seed >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * amp
            })
            .collect()
    }

    fn tone(n: usize, amp: f32) -> Vec<f32> {
        (0..n)
            .map(|i| amp * (2.0 * std::f32::consts::PI * 220.0 * i as f32 / 16_000.0).sin())
            .collect()
    }

    fn ms(ms: usize) -> usize {
        ms * 16
    }

    /// Background noise with tone "words" at the given (start_ms, len_ms).
    fn signal(total_ms: usize, words: &[(usize, usize)], noise_amp: f32) -> Vec<f32> {
        let mut seed = 0x9e37_79b9_7f4a_7c15;
        let mut x = noise(ms(total_ms), noise_amp, &mut seed);
        for &(start, len) in words {
            for (i, t) in tone(ms(len), 0.3).into_iter().enumerate() {
                x[ms(start) + i] += t;
            }
        }
        x
    }

    #[test]
    fn one_utterance_ends_after_the_silence() {
        let mut s = Segmenter::new(SegmenterConfig::default());
        // Words with short (300 ms) gaps: one utterance.
        let x = signal(4_000, &[(1_000, 400), (1_700, 500), (2_500, 300)], 0.002);
        let utts = s.push(&x);
        assert_eq!(utts.len(), 1, "{utts:?}");
        let u = &utts[0];
        assert_eq!(u.reason, EndReason::Silence);
        // Starts with the pre-roll before 1000 ms, ends 200 ms after the last word.
        assert_eq!(u.start_ms, 800);
        let end_ms = u.start_ms + u.duration_ms(16_000);
        assert!((2_980..=3_060).contains(&end_ms), "end {end_ms}");
        assert!(
            (1_100..=1_300).contains(&u.speech_ms),
            "speech {}",
            u.speech_ms
        );
        assert!(!s.is_speaking());
        assert!(s.flush().is_none());
    }

    #[test]
    fn gap_longer_than_silence_ms_splits() {
        let cfg = SegmenterConfig::with_silence_ms(500);
        let mut s = Segmenter::new(cfg);
        let x = signal(4_000, &[(500, 600), (1_800, 600)], 0.002);
        let utts = s.push(&x);
        assert_eq!(utts.len(), 2, "{utts:?}");
        // With 800 ms the same gap (700 ms) does not split.
        let mut s = Segmenter::new(SegmenterConfig::with_silence_ms(800));
        let utts = s.push(&x);
        assert_eq!(utts.len(), 1, "{utts:?}");
    }

    #[test]
    fn clicks_shorter_than_min_utterance_are_dropped() {
        let mut s = Segmenter::new(SegmenterConfig::default());
        let x = signal(3_000, &[(500, 100), (1_500, 200)], 0.002);
        assert!(s.push(&x).is_empty());
        assert!(s.flush().is_none());
    }

    #[test]
    fn long_speech_is_force_cut_at_max_length() {
        let mut s = Segmenter::new(SegmenterConfig::default());
        // 31 s of talking: 240 ms syllables with 60 ms pauses.
        let words: Vec<(usize, usize)> =
            (0..31_000 / 300).map(|i| (1_000 + i * 300, 240)).collect();
        let x = signal(33_000, &words, 0.002);
        let utts = s.push(&x);
        let reasons: Vec<_> = utts.iter().map(|u| u.reason).collect();
        assert_eq!(
            reasons,
            vec![
                EndReason::MaxLength,
                EndReason::MaxLength,
                EndReason::Silence
            ]
        );
        assert_eq!(utts[0].samples.len(), ms(15_000));
        assert!(utts.iter().all(|u| u.samples.len() <= ms(15_000)));
    }

    #[test]
    fn noise_floor_adapts_to_louder_background() {
        let mut s = Segmenter::new(SegmenterConfig::default());
        // Steady, fairly loud fan noise (about -36 dBFS). At first it sounds like speech
        // (the floor starts at -60 dBFS), but the floor catches up within seconds ...
        let mut seed = 7;
        let fan = noise(ms(8_000), 0.027, &mut seed);
        let early = s.push(&fan);
        assert!(early.len() <= 1, "{early:?}");
        assert!(s.noise_floor_db() > -45.0, "floor {}", s.noise_floor_db());
        // ... after which the fan alone is never speech.
        let fan = noise(ms(5_000), 0.027, &mut seed);
        assert!(s.push(&fan).is_empty());
        assert!(!s.is_speaking());
        // Speech on top of it is still found.
        let mut x = noise(ms(3_000), 0.027, &mut seed);
        for (i, t) in tone(ms(800), 0.3).into_iter().enumerate() {
            x[ms(500) + i] += t;
        }
        let utts = s.push(&x);
        assert_eq!(utts.len(), 1);
    }

    #[test]
    fn silence_frames_end_an_utterance_when_packets_stop() {
        let mut s = Segmenter::new(SegmenterConfig::default());
        let x = signal(1_000, &[(200, 700)], 0.0);
        assert!(s.push(&x).is_empty());
        assert!(s.is_speaking());
        let mut got = None;
        for _ in 0..40 {
            if let Some(u) = s.push_silence_frame() {
                got = Some(u);
                break;
            }
        }
        let u = got.expect("the utterance ends after silence frames");
        assert_eq!(u.reason, EndReason::Silence);
    }

    #[test]
    fn push_handles_odd_chunk_sizes() {
        let x = signal(3_000, &[(1_000, 800)], 0.002);
        let mut a = Segmenter::new(SegmenterConfig::default());
        let whole = a.push(&x);
        let mut b = Segmenter::new(SegmenterConfig::default());
        let mut parts = Vec::new();
        for c in x.chunks(77) {
            parts.extend(b.push(c));
        }
        assert_eq!(whole, parts);
    }

    #[test]
    fn silence_ms_is_clamped() {
        assert_eq!(SegmenterConfig::with_silence_ms(100).silence_ms, 500);
        assert_eq!(SegmenterConfig::with_silence_ms(650).silence_ms, 650);
        assert_eq!(SegmenterConfig::with_silence_ms(5_000).silence_ms, 800);
    }
}
