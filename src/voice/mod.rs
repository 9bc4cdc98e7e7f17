//! Voice at the table that is not tied to one front end: speech-to-text workers
//! ([`stt`]), heard speech → table actions ([`heard`]) and each campaign's voice
//! settings and model files ([`settings`]). The Discord front end (`discord::voice`)
//! feeds it from its calls; another source (a phone's microphone) can feed it the same
//! way, with player ids and plain numbers, no Discord types.

pub mod heard;
pub mod settings;
pub mod stt;

pub use heard::{Gate, HeardResult, HeardSpeech, VoiceOut, VoiceReply};
pub use settings::VoiceSettings;
pub use stt::{SpokenAudio, SttPool, Transcript};
