//! Where the speech models and ONNX Runtime are looked for.
//!
//! The bot takes explicit paths from its configuration ([voice] keys / environment).
//! When none is configured, [`locate`] tries, in order: the environment variable, then
//! `./models/` (where `scripts/models.sh` puts them), then the repository's `models/` and
//! `../shared/models/` (a development checkout / CI).

use std::path::{Path, PathBuf};

/// Default whisper.cpp model file name (English-only tiny model).
pub const WHISPER_FILE: &str = "ggml-tiny.en.bin";
/// Default Piper voice, relative to a models folder.
pub const PIPER_FILE: &str = "piper/en_US-joe-medium.onnx";
/// ONNX Runtime library, relative to a models folder (scripts/models.sh links it here).
pub const ONNXRUNTIME_FILE: &str = "onnxruntime/libonnxruntime.so";

/// What to look for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Whisper,
    Piper,
    OnnxRuntime,
}

impl Kind {
    /// Environment variables that name the file, first match wins.
    pub fn env_vars(self) -> &'static [&'static str] {
        match self {
            Kind::Whisper => &["DICEBARD_WHISPER_MODEL"],
            Kind::Piper => &["DICEBARD_PIPER_VOICE"],
            Kind::OnnxRuntime => &["DICEBARD_ONNXRUNTIME", "ORT_DYLIB_PATH"],
        }
    }

    /// File name relative to a models folder.
    pub fn file(self) -> &'static str {
        match self {
            Kind::Whisper => WHISPER_FILE,
            Kind::Piper => PIPER_FILE,
            Kind::OnnxRuntime => ONNXRUNTIME_FILE,
        }
    }

    /// Human name for messages.
    pub fn what(self) -> &'static str {
        match self {
            Kind::Whisper => "whisper model",
            Kind::Piper => "Piper voice",
            Kind::OnnxRuntime => "ONNX Runtime library",
        }
    }
}

/// Folders searched after the environment: ./models, then the source checkout's
/// models/ and ../shared/models.
pub fn search_dirs() -> Vec<PathBuf> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut dirs = vec![
        PathBuf::from("models"),
        repo.join("models"),
        repo.join("../shared/models"),
    ];
    dirs.dedup();
    dirs
}

/// The configured path from the environment, if set (not checked for existence).
pub fn from_env(kind: Kind) -> Option<PathBuf> {
    kind.env_vars()
        .iter()
        .filter_map(std::env::var_os)
        .find(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// The environment's path if set (even if it does not exist, so the error names it),
/// else the first existing file in [`search_dirs`].
pub fn locate(kind: Kind) -> Option<PathBuf> {
    if let Some(p) = from_env(kind) {
        return Some(p);
    }
    search_dirs()
        .into_iter()
        .map(|d| d.join(kind.file()))
        .find(|p| p.exists())
}

/// What to tell a user whose `kind` file is missing.
pub fn missing_hint(kind: Kind) -> String {
    let var = kind.env_vars()[0];
    let key = match kind {
        Kind::Whisper => "voice.whisper_model",
        Kind::Piper => "voice.piper_voice",
        Kind::OnnxRuntime => "voice.onnxruntime",
    };
    format!(
        "put it at models/{} (run scripts/models.sh to download it), or set {var} / [{}] {} \
         to its path",
        kind.file(),
        key.split('.').next().unwrap_or("voice"),
        key.split('.').nth(1).unwrap_or(key),
    )
}
