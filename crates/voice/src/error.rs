//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong in the speech pipeline. Messages name the file involved
/// and, where it helps, what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum VoiceError {
    /// A model / voice / library file does not exist.
    #[error("{what} not found at {path}: {hint}")]
    Missing {
        what: &'static str,
        path: PathBuf,
        hint: String,
    },
    /// A file exists but is not what it should be.
    #[error("{what} at {path} is not usable: {reason}")]
    Invalid {
        what: &'static str,
        path: PathBuf,
        reason: String,
    },
    /// The ONNX Runtime library is missing, unloadable, or too old.
    #[error("ONNX Runtime at {path}: {reason}")]
    OnnxRuntime { path: PathBuf, reason: String },
    /// whisper.cpp failed while transcribing.
    #[error("speech-to-text failed: {0}")]
    Transcribe(String),
    /// Piper failed while synthesizing.
    #[error("text-to-speech failed: {0}")]
    Synthesize(String),
    /// Reading or writing audio failed.
    #[error("audio {path}: {reason}")]
    Audio { path: PathBuf, reason: String },
    /// Resampling failed (bad rates).
    #[error("resampling {from} Hz -> {to} Hz failed: {reason}")]
    Resample { from: u32, to: u32, reason: String },
    /// The Opus codec reported an error.
    #[error("opus: {0}")]
    Opus(String),
}

impl VoiceError {
    pub(crate) fn audio(path: impl Into<PathBuf>, reason: impl ToString) -> Self {
        VoiceError::Audio {
            path: path.into(),
            reason: reason.to_string(),
        }
    }
}

pub type Result<T, E = VoiceError> = std::result::Result<T, E>;
