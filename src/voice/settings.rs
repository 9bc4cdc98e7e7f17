//! Per-campaign voice settings, stored as the `voice` key of the campaign's front-end
//! settings, and the model files voice uses.

use crate::config::VoiceConfig;
use crate::store::{CampaignId, Store, StoreError};
use dicebard_voice::models::{self, Kind};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// A campaign's voice settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VoiceSettings {
    /// Players' speech becomes actions.
    pub input: bool,
    /// The bot speaks narration in the voice channel.
    pub output: bool,
    /// Only speech that starts with "game master" is for the bot.
    pub wake_word: bool,
    /// In a fight, show what players say out of turn in the channel ("💬 Mira: …") as
    /// table talk (never as an action).
    pub table_talk: bool,
    /// The Piper voice (`.onnx`); `None`: the configured one.
    pub voice: Option<PathBuf>,
    /// Speaking rate, 0.5–2.0 times the voice's normal speed.
    pub speed: f32,
}

impl Default for VoiceSettings {
    fn default() -> Self {
        VoiceSettings {
            input: true,
            output: true,
            wake_word: false,
            table_talk: false,
            voice: None,
            speed: 1.0,
        }
    }
}

pub const SPEED_RANGE: std::ops::RangeInclusive<f32> = 0.5..=2.0;

impl VoiceSettings {
    /// The campaign's settings (defaults when none were saved or they do not parse).
    pub async fn load(store: &Store, campaign: CampaignId) -> Result<Self, StoreError> {
        Ok(store
            .campaign_setting(campaign, "voice")
            .await?
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default())
    }

    pub async fn save(&self, store: &Store, campaign: CampaignId) -> Result<(), StoreError> {
        let v = serde_json::to_value(self).unwrap_or_default();
        store.set_campaign_setting(campaign, "voice", &v).await
    }

    /// One line for Discord.
    pub fn describe(&self) -> String {
        let on = |b: bool| if b { "on" } else { "off" };
        format!(
            "Voice input **{}**, spoken narration **{}**, wake word (\"game master, …\") **{}**, table talk shown **{}**, voice `{}`, speed **{:.2}×**",
            on(self.input),
            on(self.output),
            on(self.wake_word),
            on(self.table_talk),
            self.voice.as_deref().and_then(Path::file_stem).map_or_else(
                || "default".to_string(),
                |s| s.to_string_lossy().into_owned()
            ),
            self.speed
        )
    }
}

/// The model file for `kind`: configured, else found by dicebard-voice (env, models/).
pub fn model_path(config: &VoiceConfig, kind: Kind) -> Option<PathBuf> {
    let configured = match kind {
        Kind::Whisper => config.whisper_model.clone(),
        Kind::Piper => config.piper_voice.clone(),
        Kind::OnnxRuntime => config.onnxruntime.clone(),
    };
    configured.or_else(|| models::locate(kind))
}

/// The model files voice needs, or a message naming each missing one and how to get it.
pub fn check_models(config: &VoiceConfig) -> Result<(PathBuf, PathBuf, PathBuf), String> {
    let mut missing = Vec::new();
    let mut get = |kind: Kind| match model_path(config, kind) {
        Some(p) if p.exists() => Some(p),
        Some(p) => {
            missing.push(format!("{} not found at {}", kind.what(), p.display()));
            None
        }
        None => {
            missing.push(format!(
                "no {}: {}",
                kind.what(),
                models::missing_hint(kind)
            ));
            None
        }
    };
    let w = get(Kind::Whisper);
    let p = get(Kind::Piper);
    let o = get(Kind::OnnxRuntime);
    match (w, p, o) {
        (Some(w), Some(p), Some(o)) => Ok((w, p, o)),
        _ => Err(missing.join("; ")),
    }
}

/// Piper voices the host has installed: the configured one, and every `.onnx` with its
/// `.onnx.json` beside it in the same folder and in the models folders. Users can only
/// pick among these (never an arbitrary path).
pub fn known_voices(config: &VoiceConfig) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    let mut out = Vec::new();
    if let Some(p) = model_path(config, Kind::Piper) {
        if let Some(d) = p.parent() {
            dirs.push(d.to_path_buf());
        }
        if p.exists() {
            out.push(p);
        }
    }
    for d in models::search_dirs() {
        dirs.push(d.join("piper"));
    }
    for d in dirs {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        let mut found: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "onnx"))
            .filter(|p| dicebard_voice::tts::voice_files(p).1.is_file())
            .collect();
        found.sort();
        for p in found {
            let canon = p.canonicalize().unwrap_or_else(|_| p.clone());
            if !out
                .iter()
                .any(|q| q.canonicalize().unwrap_or_else(|_| q.clone()) == canon)
            {
                out.push(p);
            }
        }
    }
    out
}

/// The voice's display name (file stem).
pub fn voice_name(p: &Path) -> String {
    p.file_stem()
        .map_or_else(String::new, |s| s.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_and_default_missing_keys() {
        let s = VoiceSettings {
            wake_word: true,
            speed: 1.25,
            ..Default::default()
        };
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(serde_json::from_value::<VoiceSettings>(v).unwrap(), s);
        let partial: VoiceSettings =
            serde_json::from_value(serde_json::json!({"output": false})).unwrap();
        assert!(partial.input && !partial.output && !partial.wake_word);
        assert_eq!(partial.speed, 1.0);
        assert!(s.describe().contains("wake word"));
    }
}
