//! Text-to-speech with Piper (piper-rs 0.2 on ONNX Runtime, loaded at run time).
//!
//! ONNX Runtime is not linked: the library (>= 1.24) is opened at run time from a path
//! (`voice.onnxruntime` / `DICEBARD_ONNXRUNTIME` / `ORT_DYLIB_PATH`). A missing or
//! too-old library would make `ort` hang, so [`check_onnxruntime`] opens it first and
//! reads its version.
//!
//! espeak-ng (Piper's phonemizer) needs its `espeak-ng-data` folder: the build's copy is
//! used by default; set `PIPER_ESPEAKNG_DATA_DIRECTORY` to the folder *containing*
//! `espeak-ng-data` elsewhere (Debian's `espeak-ng-data` package:
//! `/usr/lib/x86_64-linux-gnu`).

use crate::error::{Result, VoiceError};
use std::ffi::{CStr, c_char};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

/// Piper voices speak at this rate (all "medium" voices do; the voice's JSON decides).
pub const PIPER_RATE: u32 = 22_050;

/// Synthesized audio: mono f32 samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Audio {
    pub samples_f32: Vec<f32>,
    pub sample_rate: u32,
}

impl Audio {
    /// Duration in seconds.
    pub fn seconds(&self) -> f64 {
        self.samples_f32.len() as f64 / self.sample_rate.max(1) as f64
    }
}

/// The version of an ONNX Runtime library, read without initialising `ort`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrtVersion {
    pub major: u32,
    pub minor: u32,
    pub text: String,
}

/// `OrtApiBase` from onnxruntime_c_api.h: the only struct whose layout is stable
/// across ONNX Runtime versions.
#[repr(C)]
struct OrtApiBase {
    get_api: unsafe extern "C" fn(version: u32) -> *const std::ffi::c_void,
    get_version_string: unsafe extern "C" fn() -> *const c_char,
}

/// The oldest ONNX Runtime minor version (1.x) that `ort` accepts (piper-rs turns on
/// ort's `api-24`).
pub fn min_onnxruntime_minor() -> u32 {
    ort::MINOR_VERSION
}

/// Opens the ONNX Runtime library at `path`, reads its version with
/// `OrtGetApiBase()->GetVersionString()` and refuses a missing, unloadable or too old
/// (< 1.24) library with a clear error. Does not touch `ort`.
pub fn check_onnxruntime(path: &Path) -> Result<OrtVersion> {
    let fail = |reason: String| VoiceError::OnnxRuntime {
        path: path.to_path_buf(),
        reason,
    };
    if !path.exists() {
        return Err(VoiceError::Missing {
            what: "ONNX Runtime library",
            path: path.to_path_buf(),
            hint: crate::models::missing_hint(crate::models::Kind::OnnxRuntime),
        });
    }
    // SAFETY: loading a shared library runs its initialisers; this is the library the
    // operator configured as ONNX Runtime, which ort would load anyway.
    let lib = unsafe { libloading::Library::new(path) }
        .map_err(|e| fail(format!("cannot load it as a shared library ({e})")))?;
    let text = {
        // SAFETY: the symbol's type is the one declared in onnxruntime_c_api.h.
        let get_base: libloading::Symbol<unsafe extern "C" fn() -> *const OrtApiBase> =
            unsafe { lib.get(b"OrtGetApiBase\0") }
                .map_err(|_| fail("no OrtGetApiBase symbol: not an ONNX Runtime library".into()))?;
        // SAFETY: OrtGetApiBase takes no arguments and returns a static struct.
        let base = unsafe { get_base() };
        if base.is_null() {
            return Err(fail("OrtGetApiBase returned null".into()));
        }
        // SAFETY: base points to a static OrtApiBase; GetVersionString returns a static
        // NUL-terminated string.
        let s = unsafe { ((*base).get_version_string)() };
        if s.is_null() {
            return Err(fail("GetVersionString returned null".into()));
        }
        unsafe { CStr::from_ptr(s) }.to_string_lossy().into_owned()
    };
    drop(lib);
    let mut parts = text.trim().split('.').map(|p| p.parse::<u32>().ok());
    let (Some(Some(major)), Some(Some(minor))) = (parts.next(), parts.next()) else {
        return Err(fail(format!("unrecognised version string {text:?}")));
    };
    let min = min_onnxruntime_minor();
    if major != 1 || minor < min {
        return Err(fail(format!(
            "version {text} is too old: Piper needs ONNX Runtime 1.{min} or newer \
             (run scripts/models.sh to fetch onnxruntime 1.24.4 from PyPI)"
        )));
    }
    Ok(OrtVersion { major, minor, text })
}

/// The library `ort` was initialised with in this process (it is process-global).
static ORT_INIT: OnceLock<std::result::Result<PathBuf, String>> = OnceLock::new();

fn init_ort(path: &Path) -> Result<()> {
    let result = ORT_INIT.get_or_init(|| {
        let env = ort::init_from(path).map_err(|e| e.to_string())?;
        // ONNX Runtime is chatty at its info level: that goes to debug.
        let logger: ort::logging::LoggerFunction = std::sync::Arc::new(
            |level, category: &str, _id: &str, _at: &str, message: &str| {
                use ort::logging::LogLevel;
                match level {
                    LogLevel::Verbose => {
                        tracing::trace!(target: "onnxruntime", category, "{message}")
                    }
                    LogLevel::Info => tracing::debug!(target: "onnxruntime", category, "{message}"),
                    LogLevel::Warning => {
                        tracing::warn!(target: "onnxruntime", category, "{message}")
                    }
                    LogLevel::Error | LogLevel::Fatal => {
                        tracing::error!(target: "onnxruntime", category, "{message}")
                    }
                }
            },
        );
        env.with_name("dicebard").with_logger(logger).commit();
        Ok(path.to_path_buf())
    });
    match result {
        Ok(first) if first == path => Ok(()),
        Ok(first) => {
            tracing::warn!(
                requested = %path.display(),
                in_use = %first.display(),
                "ONNX Runtime is already loaded from another path; using that one"
            );
            Ok(())
        }
        Err(e) => Err(VoiceError::OnnxRuntime {
            path: path.to_path_buf(),
            reason: e.clone(),
        }),
    }
}

/// The `.onnx` model and `.onnx.json` config of a Piper voice, from either path.
pub fn voice_files(path: &Path) -> (PathBuf, PathBuf) {
    let s = path.to_string_lossy();
    if let Some(stem) = s.strip_suffix(".json") {
        (PathBuf::from(stem), path.to_path_buf())
    } else {
        (path.to_path_buf(), PathBuf::from(format!("{s}.json")))
    }
}

/// A loaded Piper voice. Load it once at start-up (about a second); `synthesize` calls
/// are serialised.
pub struct Synthesizer {
    piper: Mutex<piper_rs::Piper>,
    sample_rate: u32,
    /// The voice's own `length_scale` (its normal speed).
    length_scale: f32,
    voice: PathBuf,
    ort_version: String,
    /// Piper's `noise_scale` and `noise_w` (`None`: the voice's own). Piper draws random
    /// noise inside the model on every call, so the same sentence never sounds quite the
    /// same twice; 0 and 0 make it speak identically every time (tests, comparisons).
    noise_scale: Option<f32>,
    noise_w: Option<f32>,
}

/// The largest `noise_scale` / `noise_w` accepted (Piper's voices use 0.667 and 0.8).
pub const MAX_NOISE: f32 = 2.0;

impl std::fmt::Debug for Synthesizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Synthesizer")
            .field("voice", &self.voice)
            .field("sample_rate", &self.sample_rate)
            .field("ort_version", &self.ort_version)
            .finish_non_exhaustive()
    }
}

impl Synthesizer {
    /// Loads a Piper voice (`.onnx` or `.onnx.json` path; the other file must sit beside
    /// it) on the ONNX Runtime library at `onnxruntime_path` (checked first, see
    /// [`check_onnxruntime`]). Runs one tiny synthesis so espeak-ng problems show now.
    pub fn load(voice_path: impl AsRef<Path>, onnxruntime_path: impl AsRef<Path>) -> Result<Self> {
        let voice_path = voice_path.as_ref();
        let ort_path = onnxruntime_path.as_ref();
        let (onnx, json) = voice_files(voice_path);
        for (p, what) in [(&onnx, "Piper voice"), (&json, "Piper voice config")] {
            if !p.is_file() {
                return Err(VoiceError::Missing {
                    what,
                    path: p.clone(),
                    hint: crate::models::missing_hint(crate::models::Kind::Piper),
                });
            }
        }
        let (sample_rate, length_scale) = read_voice_config(&json)?;
        let version = check_onnxruntime(ort_path)?;
        init_ort(ort_path)?;
        let started = Instant::now();
        let piper = piper_rs::Piper::new(&onnx, &json).map_err(|e| VoiceError::Invalid {
            what: "Piper voice",
            path: onnx.clone(),
            reason: e.to_string(),
        })?;
        let synth = Synthesizer {
            piper: Mutex::new(piper),
            sample_rate,
            length_scale,
            voice: onnx,
            ort_version: version.text,
            noise_scale: None,
            noise_w: None,
        };
        synth.synthesize("Hi.")?;
        tracing::info!(
            voice = %synth.voice.display(),
            onnxruntime = %synth.ort_version,
            load_ms = started.elapsed().as_millis() as u64,
            "Piper voice loaded"
        );
        Ok(synth)
    }

    /// Sets Piper's variation: `noise_scale` (intonation) and `noise_w` (phoneme lengths),
    /// each `None` for the voice's own value, else clamped to `0.0..=MAX_NOISE` (a
    /// non-finite value counts as `None`). `Some(0.0), Some(0.0)`: the same text gives
    /// the same audio on every call.
    pub fn set_noise(&mut self, noise_scale: Option<f32>, noise_w: Option<f32>) {
        let bound = |v: Option<f32>| v.filter(|v| v.is_finite()).map(|v| v.clamp(0.0, MAX_NOISE));
        self.noise_scale = bound(noise_scale);
        self.noise_w = bound(noise_w);
    }

    /// The voice's output rate (22,050 Hz for medium voices).
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// The ONNX Runtime version in use.
    pub fn onnxruntime_version(&self) -> &str {
        &self.ort_version
    }

    /// The voice file (`.onnx`).
    pub fn voice_path(&self) -> &Path {
        &self.voice
    }

    /// Speaks `text` (any length; split it with [`sentences`] to start playing sooner).
    /// Blocks the calling thread.
    pub fn synthesize(&self, text: &str) -> Result<Audio> {
        self.synthesize_at(text, 1.0)
    }

    /// Like [`synthesize`](Self::synthesize) at `speed` times the voice's normal rate
    /// (clamped to 0.5..=2.0; Piper's `length_scale` is divided by it).
    pub fn synthesize_at(&self, text: &str, speed: f32) -> Result<Audio> {
        let speed = if speed.is_finite() {
            speed.clamp(0.5, 2.0)
        } else {
            1.0
        };
        let length_scale = self.length_scale / speed;
        let text = text.trim();
        if text.is_empty() {
            return Ok(Audio {
                samples_f32: Vec::new(),
                sample_rate: self.sample_rate,
            });
        }
        let mut piper = self
            .piper
            .lock()
            .map_err(|_| VoiceError::Synthesize("a previous synthesis panicked".into()))?;
        let (samples, rate) = piper
            .create(
                text,
                false,
                None,
                Some(length_scale),
                self.noise_scale,
                self.noise_w,
            )
            .map_err(|e| {
                let msg = e.to_string();
                if msg.contains("eSpeak") {
                    VoiceError::Synthesize(format!(
                        "{msg} (espeak-ng needs its data: set PIPER_ESPEAKNG_DATA_DIRECTORY to \
                         the folder containing espeak-ng-data, e.g. /usr/lib/x86_64-linux-gnu \
                         with Debian's espeak-ng-data package)"
                    ))
                } else {
                    VoiceError::Synthesize(msg)
                }
            })?;
        Ok(Audio {
            samples_f32: samples,
            sample_rate: rate,
        })
    }
}

/// The voice's sample rate and `length_scale` from its `.onnx.json`.
fn read_voice_config(json: &Path) -> Result<(u32, f32)> {
    let invalid = |reason: String| VoiceError::Invalid {
        what: "Piper voice config",
        path: json.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(json).map_err(|e| invalid(e.to_string()))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| invalid(format!("not JSON ({e})")))?;
    let rate = v
        .pointer("/audio/sample_rate")
        .and_then(|r| r.as_u64())
        .map(|r| r as u32)
        .unwrap_or(PIPER_RATE);
    let length_scale = v
        .pointer("/inference/length_scale")
        .and_then(|r| r.as_f64())
        .filter(|l| l.is_finite() && *l > 0.0)
        .unwrap_or(1.0) as f32;
    Ok((rate, length_scale))
}

/// Abbreviations whose full stop does not end a sentence.
const ABBREVIATIONS: &[&str] = &[
    "mr", "mrs", "ms", "dr", "st", "mt", "sr", "jr", "prof", "capt", "sgt", "lt", "gen", "col",
    "rev", "vs", "etc", "e.g", "i.e", "no", "vol", "ft", "lb", "lbs", "approx",
];

const CLOSERS: &[char] = &['"', '\'', '\u{201d}', '\u{2019}', ')', ']', '\u{bb}'];

/// Splits narration into sentences for sentence-by-sentence speech: ends at `.`, `!`,
/// `?`, `…` or `...` (with any closing quotes) followed by a space and a word that does
/// not start in lower case; not after abbreviations ("Mr.", "e.g.") or initials, and
/// not inside numbers ("1.5"). Blank lines always end a sentence.
pub fn sentences(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    let push = |out: &mut Vec<String>, from: usize, to: usize| {
        let s: String = chars[from..to].iter().collect();
        let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
        if !s.is_empty() {
            out.push(s);
        }
    };
    while i < chars.len() {
        let c = chars[i];
        // A blank line.
        if c == '\n' {
            let mut j = i + 1;
            while j < chars.len() && chars[j] != '\n' && chars[j].is_whitespace() {
                j += 1;
            }
            if j < chars.len() && chars[j] == '\n' {
                push(&mut out, start, i);
                start = j + 1;
                i = j + 1;
                continue;
            }
        }
        if matches!(c, '.' | '!' | '?' | '\u{2026}') {
            let punct_start = i;
            let mut j = i;
            while j < chars.len() && matches!(chars[j], '.' | '!' | '?' | '\u{2026}') {
                j += 1;
            }
            let punct: String = chars[punct_start..j].iter().collect();
            while j < chars.len() && CLOSERS.contains(&chars[j]) {
                j += 1;
            }
            let at_end = j >= chars.len();
            let followed_by_space = !at_end && chars[j].is_whitespace();
            if !at_end && !followed_by_space {
                // "1.5", "e.g.x", "..." glued to a word: not a boundary.
                i = j;
                continue;
            }
            let mut split = true;
            if punct == "." {
                let mut w = punct_start;
                while w > start && !chars[w - 1].is_whitespace() {
                    w -= 1;
                }
                let word: String = chars[w..punct_start]
                    .iter()
                    .filter(|c| !matches!(c, '"' | '\'' | '(' | '\u{201c}' | '\u{2018}'))
                    .collect::<String>()
                    .to_lowercase();
                let single_letter =
                    word.chars().count() == 1 && word.chars().all(char::is_alphabetic);
                if single_letter || ABBREVIATIONS.contains(&word.as_str()) {
                    split = false;
                }
            }
            if split && !at_end {
                let mut k = j;
                while k < chars.len() && chars[k].is_whitespace() {
                    k += 1;
                }
                if k < chars.len() && chars[k].is_lowercase() {
                    split = false;
                }
            }
            if split {
                push(&mut out, start, j);
                start = j;
            }
            i = j;
            continue;
        }
        i += 1;
    }
    push(&mut out, start, chars.len());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_plain_sentences() {
        assert_eq!(
            sentences("The door creaks open. A goblin leaps out! Do you fight?"),
            vec![
                "The door creaks open.",
                "A goblin leaps out!",
                "Do you fight?"
            ]
        );
    }

    #[test]
    fn keeps_abbreviations_numbers_and_initials() {
        assert_eq!(
            sentences("Mr. Grimsby paid 1.5 gold pieces to Dr. Vex. J. R. Tolkien smiles."),
            vec![
                "Mr. Grimsby paid 1.5 gold pieces to Dr. Vex.",
                "J. R. Tolkien smiles."
            ]
        );
        assert_eq!(
            sentences("Bring tools, e.g. a rope. Then go."),
            vec!["Bring tools, e.g. a rope.", "Then go."]
        );
    }

    #[test]
    fn handles_ellipses_and_quotes() {
        assert_eq!(
            sentences("\"Run!\" she cries. The torch gutters... Then darkness."),
            vec![
                "\"Run!\" she cries.",
                "The torch gutters...",
                "Then darkness."
            ]
        );
        assert_eq!(
            sentences("He waits\u{2026} and waits. \u{201c}Enough.\u{201d} He leaves."),
            vec![
                "He waits\u{2026} and waits.",
                "\u{201c}Enough.\u{201d}",
                "He leaves."
            ]
        );
        assert_eq!(
            sentences("\"Who goes there?\" The guard squints."),
            vec!["\"Who goes there?\"", "The guard squints."]
        );
    }

    #[test]
    fn blank_lines_and_edges() {
        assert_eq!(
            sentences("First part\n\nSecond part"),
            vec!["First part", "Second part"]
        );
        assert!(sentences("   ").is_empty());
        assert_eq!(sentences("No punctuation"), vec!["No punctuation"]);
        assert_eq!(sentences("Wait..."), vec!["Wait..."]);
    }

    #[test]
    fn voice_files_from_either_path() {
        let (o, j) = voice_files(Path::new("/m/v.onnx"));
        assert_eq!(
            (o.to_str().unwrap(), j.to_str().unwrap()),
            ("/m/v.onnx", "/m/v.onnx.json")
        );
        let (o, j) = voice_files(Path::new("/m/v.onnx.json"));
        assert_eq!(
            (o.to_str().unwrap(), j.to_str().unwrap()),
            ("/m/v.onnx", "/m/v.onnx.json")
        );
    }

    #[test]
    fn onnxruntime_check_refuses_missing_and_non_ort_libraries() {
        let e = check_onnxruntime(Path::new("/nonexistent/libonnxruntime.so")).unwrap_err();
        assert!(e.to_string().contains("not found"), "{e}");
        // A real shared library that is not ONNX Runtime.
        let libm = [
            "/lib/x86_64-linux-gnu/libm.so.6",
            "/usr/lib/x86_64-linux-gnu/libm.so.6",
        ]
        .into_iter()
        .map(Path::new)
        .find(|p| p.exists());
        if let Some(libm) = libm {
            let e = check_onnxruntime(libm).unwrap_err().to_string();
            assert!(e.contains("not an ONNX Runtime library"), "{e}");
        }
        let p = std::env::temp_dir().join(format!("fake-ort-{}.so", std::process::id()));
        std::fs::write(&p, b"not a library").unwrap();
        let e = check_onnxruntime(&p).unwrap_err().to_string();
        assert!(e.contains("cannot load it"), "{e}");
        std::fs::remove_file(&p).ok();
    }
}
