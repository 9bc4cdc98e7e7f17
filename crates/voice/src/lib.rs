//! dicebard's local speech pipeline, kept out of the rules engine:
//!
//! - [`stt`]: speech-to-text with whisper.cpp (whisper-rs).
//! - [`tts`]: text-to-speech with Piper (piper-rs on ONNX Runtime, loaded at run time).
//! - [`audio`]: WAV in/out, resampling (rubato), Discord's 48 kHz stereo format.
//! - [`segment`]: energy voice-activity detection and end-of-utterance per speaker.
//! - [`opus_rx`]: the Discord receive path: per-SSRC Opus decoding with reordering,
//!   loss concealment and DAVE-trailer stripping.
//! - [`priority`]: speech workers run below the audio path's priority.
//! - [`queue`]: a bounded utterance queue for transcription back-pressure.
//! - [`models`]: where model files are looked for.
//!
//! Everything here is synchronous and CPU-bound: call it from worker threads, never
//! from an async runtime's threads.

pub mod audio;
pub mod error;
pub mod models;
pub mod opus_rx;
pub mod priority;
pub mod queue;
pub mod segment;
pub mod stt;
pub mod tts;
pub mod wer;

pub use error::{Result, VoiceError};
pub use queue::UtteranceQueue;
pub use segment::{Segmenter, SegmenterConfig, Utterance};
pub use stt::{Transcriber, Transcript};
pub use tts::{Audio, Synthesizer, sentences};
