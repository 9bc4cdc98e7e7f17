//! Speech-to-text with whisper.cpp (whisper-rs 0.16).
//!
//! [`Transcriber::transcribe`] runs on the caller's thread and blocks for a fraction of
//! a second per utterance: call it from a dedicated worker thread, never from an async
//! runtime. Decoding is greedy with no temperature fallback, so the same audio always
//! gives the same text.

use crate::error::{Result, VoiceError};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;
use whisper_rs::{
    FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters, WhisperState,
};

/// whisper's encoder sees 30 s as 1500 positions.
const CTX_PER_30S: f64 = 1500.0;
/// Smallest `audio_ctx` used: much shorter contexts make the tiny models ramble.
pub const MIN_AUDIO_CTX: i32 = 256;

/// The text of one utterance.
#[derive(Debug, Clone, PartialEq)]
pub struct Transcript {
    /// The recognised text, trimmed; empty when nothing was said.
    pub text: String,
    /// Length of the audio, in seconds.
    pub audio_seconds: f64,
    /// How long transcription took, in seconds.
    pub wall_seconds: f64,
}

/// A loaded whisper model. Load it once and reuse it; `transcribe` may be called from
/// several threads. The model weights are shared; each whisper *state* (the decoding
/// buffers) serves one transcription at a time, so as many calls run in parallel as
/// the transcriber has states ([`Transcriber::load_with_states`]; [`Transcriber::load`]
/// makes one).
pub struct Transcriber {
    ctx: WhisperContext,
    states: Vec<Mutex<WhisperState>>,
    next: std::sync::atomic::AtomicUsize,
    threads: usize,
    path: PathBuf,
}

impl std::fmt::Debug for Transcriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transcriber")
            .field("path", &self.path)
            .field("threads", &self.threads)
            .finish_non_exhaustive()
    }
}

/// `audio_ctx` for a clip of `samples` at 16 kHz: proportional to its length (1500 per
/// 30 s), rounded up to a multiple of 64, at least [`MIN_AUDIO_CTX`], at most 1500.
pub fn audio_ctx_for(samples: usize) -> i32 {
    let secs = samples as f64 / crate::audio::WHISPER_RATE as f64;
    let ctx = (secs / 30.0 * CTX_PER_30S).ceil() as i32;
    let ctx = (ctx + 63) / 64 * 64;
    ctx.clamp(MIN_AUDIO_CTX, CTX_PER_30S as i32)
}

/// Checks that `path` is a whisper.cpp ggml model before handing it to whisper.cpp.
fn check_model_file(path: &Path) -> Result<()> {
    if !path.is_file() {
        return Err(VoiceError::Missing {
            what: "whisper model",
            path: path.to_path_buf(),
            hint: crate::models::missing_hint(crate::models::Kind::Whisper),
        });
    }
    let invalid = |reason: String| VoiceError::Invalid {
        what: "whisper model",
        path: path.to_path_buf(),
        reason,
    };
    let mut magic = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .map_err(|e| invalid(format!("cannot read it ({e})")))?;
    // whisper.cpp's legacy ggml files start with 0x67676d6c ("ggml") little-endian.
    if u32::from_le_bytes(magic) != 0x6767_6d6c {
        return Err(invalid(
            "not a whisper.cpp ggml model (expected a ggml-*.bin file, e.g. ggml-tiny.en.bin)"
                .into(),
        ));
    }
    Ok(())
}

impl Transcriber {
    /// Loads a whisper.cpp model (ggml `.bin`). `threads` = 0 picks the number of CPUs
    /// (at most 4). whisper.cpp's own log lines go to `tracing` instead of stderr.
    pub fn load(model_path: impl AsRef<Path>, threads: usize) -> Result<Transcriber> {
        Self::load_with_states(model_path, threads, 1)
    }

    /// Like [`load`](Self::load), with `states` (at least 1) whisper states over the one
    /// copy of the model, so that `states` transcriptions can run at the same time (one
    /// per worker thread; each uses `threads` CPU threads).
    pub fn load_with_states(
        model_path: impl AsRef<Path>,
        threads: usize,
        states: usize,
    ) -> Result<Transcriber> {
        let path = model_path.as_ref();
        whisper_rs::install_logging_hooks();
        check_model_file(path)?;
        let started = Instant::now();
        let ctx = WhisperContext::new_with_params(path, WhisperContextParameters::default())
            .map_err(|e| VoiceError::Invalid {
                what: "whisper model",
                path: path.to_path_buf(),
                reason: format!("whisper.cpp could not load it ({e})"),
            })?;
        let states = (0..states.max(1))
            .map(|_| {
                ctx.create_state()
                    .map(Mutex::new)
                    .map_err(|e| VoiceError::Invalid {
                        what: "whisper model",
                        path: path.to_path_buf(),
                        reason: format!("could not create a whisper state ({e})"),
                    })
            })
            .collect::<Result<Vec<_>>>()?;
        let threads = if threads == 0 {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
                .min(4)
        } else {
            threads
        };
        tracing::info!(
            model = %path.display(),
            threads,
            states = states.len(),
            load_ms = started.elapsed().as_millis() as u64,
            "whisper model loaded"
        );
        Ok(Transcriber {
            ctx,
            states,
            next: std::sync::atomic::AtomicUsize::new(0),
            threads,
            path: path.to_path_buf(),
        })
    }

    /// The model file this transcriber was loaded from.
    pub fn model_path(&self) -> &Path {
        &self.path
    }

    /// Transcribes 16 kHz mono f32 audio (English). Blocks the calling thread.
    pub fn transcribe(&self, pcm_16k_mono: &[f32]) -> Result<Transcript> {
        let audio_seconds = pcm_16k_mono.len() as f64 / crate::audio::WHISPER_RATE as f64;
        if pcm_16k_mono.is_empty() {
            return Err(VoiceError::Transcribe("no audio samples".into()));
        }
        let started = Instant::now();
        // whisper.cpp needs at least ~1 s of input; pad short clips with silence.
        let min_len =
            crate::audio::WHISPER_RATE as usize + crate::audio::WHISPER_RATE as usize / 10;
        let padded;
        let pcm = if pcm_16k_mono.len() < min_len {
            let mut v = pcm_16k_mono.to_vec();
            v.resize(min_len, 0.0);
            padded = v;
            &padded[..]
        } else {
            pcm_16k_mono
        };

        let mut params = FullParams::new(SamplingStrategy::Greedy { best_of: 1 });
        params.set_n_threads(self.threads as i32);
        params.set_language(Some("en"));
        params.set_translate(false);
        params.set_no_context(true);
        // With timestamp tokens whisper ends its segments properly; without them the
        // tiny models sometimes loop on a short clip ("I attack the goblin. I attack
        // the goblin. ..."), seen with Opus-decoded speech.
        params.set_no_timestamps(false);
        params.set_single_segment(false);
        params.set_temperature(0.0);
        params.set_temperature_inc(0.0);
        params.set_audio_ctx(audio_ctx_for(pcm.len()));
        params.set_suppress_blank(true);
        params.set_suppress_nst(true);
        params.set_print_special(false);
        params.set_print_progress(false);
        params.set_print_realtime(false);
        params.set_print_timestamps(false);

        let mut state = self.free_state()?;
        state
            .full(params, pcm)
            .map_err(|e| VoiceError::Transcribe(e.to_string()))?;
        let mut text = String::new();
        for seg in state.as_iter() {
            let s = seg
                .to_str_lossy()
                .map_err(|e| VoiceError::Transcribe(e.to_string()))?;
            text.push_str(&s);
        }
        drop(state);
        let text = collapse_repeats(&clean_text(&text));
        let wall_seconds = started.elapsed().as_secs_f64();
        tracing::debug!(audio_seconds, wall_seconds, %text, "transcribed");
        Ok(Transcript {
            text,
            audio_seconds,
            wall_seconds,
        })
    }

    /// How many transcriptions can run at the same time.
    pub fn parallelism(&self) -> usize {
        self.states.len()
    }

    /// A whisper state nobody is using, else (all busy) the next one in turn, waited for.
    fn free_state(&self) -> Result<std::sync::MutexGuard<'_, WhisperState>> {
        let poisoned = |_| VoiceError::Transcribe("a previous transcription panicked".into());
        for m in &self.states {
            match m.try_lock() {
                Ok(g) => return Ok(g),
                Err(std::sync::TryLockError::WouldBlock) => {}
                Err(std::sync::TryLockError::Poisoned(p)) => return Err(poisoned(p)),
            }
        }
        let i = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % self.states.len();
        self.states[i].lock().map_err(poisoned)
    }

    /// The underlying whisper context (for tools that need more than `transcribe`).
    pub fn context(&self) -> &WhisperContext {
        &self.ctx
    }
}

/// Trims whisper's output and drops non-speech annotations such as `[BLANK_AUDIO]` or
/// `(wind blowing)`.
pub fn clean_text(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut depth = 0usize;
    for c in raw.chars() {
        match c {
            '[' | '(' => depth += 1,
            ']' | ')' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Drops a sentence that repeats the one before it (whisper's repetition loop).
pub fn collapse_repeats(text: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let mut start = 0;
    let bytes: Vec<(usize, char)> = text.char_indices().collect();
    for (k, &(i, c)) in bytes.iter().enumerate() {
        let end_of_sentence = matches!(c, '.' | '!' | '?')
            && bytes.get(k + 1).is_none_or(|&(_, n)| n.is_whitespace());
        if end_of_sentence {
            out.push(text[start..i + c.len_utf8()].trim());
            start = i + c.len_utf8();
        }
    }
    if !text[start..].trim().is_empty() {
        out.push(text[start..].trim());
    }
    let mut kept: Vec<&str> = Vec::new();
    for s in out {
        if kept.last().is_some_and(|p| p.eq_ignore_ascii_case(s)) {
            continue;
        }
        kept.push(s);
    }
    kept.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_sentences_are_collapsed() {
        assert_eq!(
            collapse_repeats("I attack the goblin. I attack the goblin. i attack the goblin."),
            "I attack the goblin."
        );
        assert_eq!(
            collapse_repeats("Roll 1.5 dice. Then stop! Then stop! Again"),
            "Roll 1.5 dice. Then stop! Again"
        );
        assert_eq!(collapse_repeats("No. Yes. No."), "No. Yes. No.");
        assert_eq!(collapse_repeats(""), "");
    }

    #[test]
    fn audio_ctx_is_proportional_with_a_floor_and_a_cap() {
        assert_eq!(audio_ctx_for(16_000), MIN_AUDIO_CTX); // 1 s -> 50, floored
        assert_eq!(audio_ctx_for(16_000 * 8), 448); // 8 s -> 400 -> 448
        assert_eq!(audio_ctx_for(16_000 * 30), 1500);
        assert_eq!(audio_ctx_for(16_000 * 90), 1500);
    }

    #[test]
    fn clean_text_drops_annotations() {
        assert_eq!(clean_text(" [BLANK_AUDIO]"), "");
        assert_eq!(
            clean_text(" I attack (grunts) the goblin. "),
            "I attack the goblin."
        );
    }

    #[test]
    fn missing_and_bogus_models_are_clear_errors() {
        let e = Transcriber::load("/nonexistent/ggml-x.bin", 1)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("/nonexistent/ggml-x.bin") && e.contains("not found"),
            "{e}"
        );
        assert!(e.contains("scripts/models.sh"), "{e}");
        let p = std::env::temp_dir().join(format!("bogus-model-{}.bin", std::process::id()));
        std::fs::write(&p, b"not a model at all").unwrap();
        let e = Transcriber::load(&p, 1).unwrap_err().to_string();
        assert!(e.contains("not a whisper.cpp ggml model"), "{e}");
        std::fs::remove_file(&p).ok();
    }
}
