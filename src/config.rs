//! Configuration: built-in defaults, overridden by a TOML file, overridden by
//! `DICEBARD_*` environment variables, overridden by command-line flags (applied by
//! the CLI). Every key is documented in `config.example.toml`.
//!
//! This module only reads files and the environment it is handed; it opens no
//! connections. Errors name the offending key or variable and never panic. Secrets (the
//! Discord token, the LLM API key) are wrapped in [`Secret`], whose `Debug` prints
//! `[redacted]`, so `{:?}` of a `Config` is safe to log.
//!
//! Environment variables (an empty value counts as unset):
//!
//! | variable                        | overrides                                   |
//! |---------------------------------|---------------------------------------------|
//! | `DICEBARD_CONFIG`               | the config file path (read by the CLI)      |
//! | `DICEBARD_DISCORD_TOKEN`        | `discord.token`                             |
//! | `DICEBARD_DISCORD_APPLICATION_ID` | `discord.application_id`                  |
//! | `DICEBARD_DISCORD_GUILD_ID`     | `discord.guild_id`                          |
//! | `DICEBARD_DISCORD_GM_ROLE`      | `discord.gm_role`                           |
//! | `DICEBARD_DISCORD_API_BASE`     | `discord.api_base`                          |
//! | `DICEBARD_DATA_DIR`             | `storage.data_dir`                          |
//! | `DICEBARD_DATABASE_URL`         | `storage.database_url`                      |
//! | `DICEBARD_NARRATOR`             | `narrator.kind`                             |
//! | `DICEBARD_LLM_BASE_URL`         | `llm.base_url`                              |
//! | `DICEBARD_LLM_MODEL`            | `llm.model`                                 |
//! | `DICEBARD_LLM_API_KEY`          | the LLM API key (or the variable named by `llm.api_key_env`) |
//! | `DICEBARD_WHISPER_MODEL`        | `voice.whisper_model`                       |
//! | `DICEBARD_PIPER_VOICE`          | `voice.piper_voice`                         |
//! | `DICEBARD_ONNXRUNTIME`          | `voice.onnxruntime`                         |
//! | `DICEBARD_PIPER_NOISE_SCALE`    | `voice.piper_noise_scale`                   |
//! | `DICEBARD_PIPER_NOISE_W`        | `voice.piper_noise_w`                       |
//! | `DICEBARD_WEB_LISTEN`           | `web.listen`                                |
//! | `DICEBARD_PUBLIC_URL`           | `web.public_url`                            |
//! | `DICEBARD_LOG`                  | `log.filter` (`RUST_LOG`, if set, wins)     |
//! | `DICEBARD_LOG_FORMAT`           | `log.format`                                |

use serde::Deserialize;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The file read when neither `--config` nor `DICEBARD_CONFIG` is given (if it exists).
pub const DEFAULT_CONFIG_FILE: &str = "dicebard.toml";

/// The database file name under `storage.data_dir` when `storage.database_url` is unset.
pub const DEFAULT_DB_FILE: &str = "dicebard.sqlite3";

/// The environment variable holding the LLM API key unless `llm.api_key_env` says otherwise.
pub const DEFAULT_LLM_API_KEY_ENV: &str = "DICEBARD_LLM_API_KEY";

/// A configuration error; the message names the key, file or variable at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("config: {0}")]
pub struct ConfigError(pub String);

impl ConfigError {
    fn new(msg: impl Into<String>) -> Self {
        ConfigError(msg.into())
    }
}

/// A string that must never be printed: `Debug` and `Display` show `[redacted]`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    /// The secret itself; call only where it is sent to the service it belongs to.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// The whole configuration.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub discord: DiscordConfig,
    pub storage: StorageConfig,
    pub turns: TurnsConfig,
    pub narrator: NarratorConfig,
    pub llm: LlmConfig,
    pub voice: VoiceConfig,
    pub web: WebConfig,
    pub log: LogConfig,
}

/// `[discord]`
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DiscordConfig {
    /// Bot token. Prefer the `DICEBARD_DISCORD_TOKEN` variable to writing it in a file.
    pub token: Option<Secret>,
    /// The application (client) id; learnt from Discord at start-up when unset.
    pub application_id: Option<u64>,
    /// Register slash commands in this guild only (instant; for testing). Unset: global.
    pub guild_id: Option<u64>,
    /// Name of the Discord role whose members may use game-master commands.
    pub gm_role: String,
    /// Discord REST base URL override (tests point it at the fake Discord).
    pub api_base: Option<String>,
}

impl Default for DiscordConfig {
    fn default() -> Self {
        DiscordConfig {
            token: None,
            application_id: None,
            guild_id: None,
            gm_role: "GM".to_string(),
            api_base: None,
        }
    }
}

/// `[storage]`
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// Directory for the database and other state.
    pub data_dir: PathBuf,
    /// A `sqlite:` URL or a file path; default `<data_dir>/dicebard.sqlite3`.
    pub database_url: Option<String>,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            data_dir: PathBuf::from("./data"),
            database_url: None,
        }
    }
}

impl fmt::Debug for StorageConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A database URL can carry a password; DbLocation's Display drops it.
        f.debug_struct("StorageConfig")
            .field("data_dir", &self.data_dir)
            .field(
                "database_url",
                &self
                    .database_url
                    .as_deref()
                    .map(|u| DbLocation::parse(u).to_string()),
            )
            .finish()
    }
}

/// `[turns]`
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TurnsConfig {
    /// Seconds a player has to act before their turn is skipped (Dodge).
    pub timeout_secs: u64,
    /// Seconds before the timeout at which the player is warned.
    pub warning_secs: u64,
    /// Seconds a player has to take a reaction (Shield when hit) before the action goes
    /// on without it; 0: no reaction windows. A new campaign's default (`/settings`).
    pub reaction_secs: u64,
}

impl Default for TurnsConfig {
    fn default() -> Self {
        TurnsConfig {
            timeout_secs: 120,
            warning_secs: 30,
            reaction_secs: 15,
        }
    }
}

/// Which narrator writes the prose.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NarratorKind {
    /// Deterministic templates; needs nothing.
    #[default]
    Builtin,
    /// An OpenAI-compatible chat completions API (OpenAI, llama.cpp server, Ollama, vLLM…).
    Openai,
    /// Anthropic's Messages API.
    Anthropic,
}

impl NarratorKind {
    fn parse(s: &str) -> Option<NarratorKind> {
        match s {
            "builtin" => Some(NarratorKind::Builtin),
            "openai" => Some(NarratorKind::Openai),
            "anthropic" => Some(NarratorKind::Anthropic),
            _ => None,
        }
    }
}

/// `[narrator]`
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NarratorConfig {
    pub kind: NarratorKind,
}

/// `[llm]`
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LlmConfig {
    /// API base URL; unset: the provider's public endpoint for `narrator.kind`.
    pub base_url: Option<String>,
    /// Model name, e.g. "gpt-4o-mini" or "claude-sonnet-4-5".
    pub model: Option<String>,
    /// Name of the environment variable holding the API key.
    pub api_key_env: String,
    /// Seconds before one LLM request is abandoned.
    pub timeout_secs: u64,
    /// Retries after a failed or timed-out request (then the built-in narrator speaks).
    pub max_retries: u32,
    /// Most LLM tokens (prompt + completion) one campaign may use per day; 0 = no cap.
    pub token_budget: u64,
    /// Most LLM tokens all campaigns together may use per day (UTC) on this host, so
    /// ending and restarting a campaign does not buy a fresh budget; 0 = no cap.
    pub daily_token_budget: u64,
    /// Free-text readings by the LLM (/act, speech, the terminal) one player may ask
    /// for per minute; past it the phrase parser reads their text. 0 = no limit.
    pub user_requests_per_minute: u32,
    /// Seconds to wait for the TCP/TLS connection.
    pub connect_timeout_secs: u64,
    /// Seconds of silence in a streamed answer (or before its first words) after which
    /// the built-in narrator speaks instead.
    pub stall_timeout_secs: u64,
    /// First retry delay in milliseconds (doubled for each further retry).
    pub retry_backoff_ms: u64,
    /// Longest narration, in tokens.
    pub max_tokens: u32,
    /// Price per 1,000 prompt tokens in US dollars, for the cost estimate.
    pub cost_per_1k_input: Usd,
    /// Price per 1,000 completion tokens in US dollars, for the cost estimate.
    pub cost_per_1k_output: Usd,
    /// Refresh the campaign's rolling summary every this many events.
    pub summary_every: u64,
    /// How many recent events each prompt quotes verbatim.
    pub recent_events: usize,
    /// How many remembered facts (names, places, quests, promises) each prompt carries.
    pub facts_in_prompt: usize,
    /// Seconds an NPC decision or a reading of free text may take before the
    /// deterministic fallback decides.
    pub decision_timeout_secs: u64,
    /// Let the LLM choose monsters' actions (among the engine's legal options).
    pub npc_decisions: bool,
    /// The API key, read from the variable named by `api_key_env`; never from the file.
    #[serde(skip)]
    pub api_key: Option<Secret>,
}

/// An amount in US dollars. [`Config::validate`] refuses NaN, infinities and negative
/// amounts, which is why equality is total.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize)]
#[serde(transparent)]
pub struct Usd(pub f64);

impl Eq for Usd {}

impl Default for LlmConfig {
    fn default() -> Self {
        LlmConfig {
            base_url: None,
            model: None,
            api_key_env: DEFAULT_LLM_API_KEY_ENV.to_string(),
            timeout_secs: 60,
            max_retries: 2,
            token_budget: 200_000,
            daily_token_budget: 2_000_000,
            user_requests_per_minute: 6,
            connect_timeout_secs: 10,
            stall_timeout_secs: 15,
            retry_backoff_ms: 500,
            max_tokens: 160,
            cost_per_1k_input: Usd(0.0),
            cost_per_1k_output: Usd(0.0),
            summary_every: 40,
            recent_events: 12,
            facts_in_prompt: 8,
            decision_timeout_secs: 8,
            npc_decisions: true,
            api_key: None,
        }
    }
}

/// `[voice]` (voice is off until the model paths are set)
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VoiceConfig {
    /// whisper.cpp model file (ggml), e.g. models/ggml-base.en.bin.
    pub whisper_model: Option<PathBuf>,
    /// Piper voice (.onnx, with its .onnx.json beside it).
    pub piper_voice: Option<PathBuf>,
    /// ONNX Runtime shared library (libonnxruntime.so, version >= 1.24).
    pub onnxruntime: Option<PathBuf>,
    /// Silence (ms) that ends an utterance.
    pub silence_ms: u64,
    /// Speech-to-text worker threads (0: one per 4 CPUs, at least 1).
    pub stt_workers: usize,
    /// Utterances waiting for transcription per speaker; the oldest is dropped beyond.
    pub speaker_queue: usize,
    /// Narration sentences waiting to be spoken per call; beyond it, text only.
    pub max_queued_sentences: usize,
    /// Piper's `noise_scale` (variation in intonation; unset: the voice's own, 0.667 for
    /// most). 0 with `piper_noise_w = 0` speaks a sentence the same way every time.
    pub piper_noise_scale: Option<f32>,
    /// Piper's `noise_w` (variation in phoneme lengths; unset: the voice's own).
    pub piper_noise_w: Option<f32>,
}

impl Default for VoiceConfig {
    fn default() -> Self {
        VoiceConfig {
            whisper_model: None,
            piper_voice: None,
            onnxruntime: None,
            silence_ms: 700,
            stt_workers: 0,
            speaker_queue: 3,
            max_queued_sentences: 8,
            piper_noise_scale: None,
            piper_noise_w: None,
        }
    }
}

/// `[web]`
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebConfig {
    /// Address the phone side-port listens on.
    pub listen: SocketAddr,
    /// The URL players' phones reach it at (used in join links/QR codes).
    pub public_url: Option<String>,
    /// Listen on every interface (0.0.0.0, `web.listen`'s port) and put the machine's
    /// LAN address in links (as `dicebard run --lan`).
    pub lan: bool,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8787)),
            public_url: None,
            lan: false,
        }
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Pretty,
    Json,
}

/// `[log]`
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// tracing-subscriber EnvFilter directives, e.g. "info,dicebard=debug".
    pub filter: String,
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            filter: "info".to_string(),
            format: LogFormat::Pretty,
        }
    }
}

impl Config {
    /// Loads the configuration using the process environment. `explicit` is the path
    /// from `--config`/`DICEBARD_CONFIG`; it must exist. Without it, `./dicebard.toml`
    /// is read if present, else the built-in defaults are used.
    pub fn load(explicit: Option<&Path>) -> Result<Config, ConfigError> {
        Config::load_with_env(explicit, &|name| std::env::var(name).ok())
    }

    /// [`Config::load`] with an explicit environment (tests).
    pub fn load_with_env(
        explicit: Option<&Path>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let mut config = match explicit {
            Some(path) => Config::from_file(path)?,
            None => {
                let default = Path::new(DEFAULT_CONFIG_FILE);
                if default.is_file() {
                    Config::from_file(default)?
                } else {
                    Config::default()
                }
            }
        };
        config.apply_env(env)?;
        config.validate()?;
        Ok(config)
    }

    /// Reads and parses a TOML file (no environment, not validated).
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::new(format!("cannot read {}: {e}", path.display())))?;
        Config::parse_toml(&text)
            .map_err(|e| ConfigError::new(format!("{}: {}", path.display(), e.0)))
    }

    fn parse_toml(text: &str) -> Result<Config, ConfigError> {
        let locate = |span: Option<std::ops::Range<usize>>| -> String {
            span.map(|s| {
                let before = &text[..s.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
                format!(" (line {line}, column {column})")
            })
            .unwrap_or_default()
        };
        let de = toml::Deserializer::parse(text).map_err(|e| {
            ConfigError::new(format!(
                "invalid TOML: {}{}",
                e.message().trim(),
                locate(e.span())
            ))
        })?;
        serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.inner();
            let key = if path == "." {
                String::new()
            } else {
                format!("{path}: ")
            };
            ConfigError::new(format!(
                "{key}{}{}",
                inner.message().trim(),
                locate(inner.span())
            ))
        })
    }

    /// Applies `DICEBARD_*` overrides (see the module docs).
    pub fn apply_env(&mut self, env: &dyn Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        let get = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        let int = |name: &str| -> Result<Option<u64>, ConfigError> {
            get(name)
                .map(|v| {
                    v.trim().parse::<u64>().map_err(|_| {
                        ConfigError::new(format!(
                            "{name} must be a non-negative integer (got {v:?})"
                        ))
                    })
                })
                .transpose()
        };
        if let Some(v) = get("DICEBARD_DISCORD_TOKEN") {
            self.discord.token = Some(Secret(v.trim().to_string()));
        }
        if let Some(v) = int("DICEBARD_DISCORD_APPLICATION_ID")? {
            self.discord.application_id = Some(v);
        }
        if let Some(v) = int("DICEBARD_DISCORD_GUILD_ID")? {
            self.discord.guild_id = Some(v);
        }
        if let Some(v) = get("DICEBARD_DISCORD_GM_ROLE") {
            self.discord.gm_role = v;
        }
        if let Some(v) = get("DICEBARD_DISCORD_API_BASE") {
            self.discord.api_base = Some(v);
        }
        if let Some(v) = get("DICEBARD_DATA_DIR") {
            self.storage.data_dir = PathBuf::from(v);
        }
        if let Some(v) = get("DICEBARD_DATABASE_URL") {
            self.storage.database_url = Some(v);
        }
        if let Some(v) = get("DICEBARD_NARRATOR") {
            self.narrator.kind = NarratorKind::parse(v.trim()).ok_or_else(|| {
                ConfigError::new(format!(
                    "DICEBARD_NARRATOR must be one of builtin, openai, anthropic (got {v:?})"
                ))
            })?;
        }
        if let Some(v) = get("DICEBARD_LLM_BASE_URL") {
            self.llm.base_url = Some(v);
        }
        if let Some(v) = get("DICEBARD_LLM_MODEL") {
            self.llm.model = Some(v);
        }
        if let Some(v) = get(&self.llm.api_key_env) {
            self.llm.api_key = Some(Secret(v.trim().to_string()));
        }
        if let Some(v) = get("DICEBARD_WHISPER_MODEL") {
            self.voice.whisper_model = Some(PathBuf::from(v));
        }
        if let Some(v) = get("DICEBARD_PIPER_VOICE") {
            self.voice.piper_voice = Some(PathBuf::from(v));
        }
        if let Some(v) = get("DICEBARD_ONNXRUNTIME") {
            self.voice.onnxruntime = Some(PathBuf::from(v));
        }
        for (var, slot) in [
            (
                "DICEBARD_PIPER_NOISE_SCALE",
                &mut self.voice.piper_noise_scale,
            ),
            ("DICEBARD_PIPER_NOISE_W", &mut self.voice.piper_noise_w),
        ] {
            if let Some(v) = get(var) {
                *slot = Some(v.trim().parse().map_err(|_| {
                    ConfigError::new(format!("{var} must be a number from 0 to 2 (got {v:?})"))
                })?);
            }
        }
        if let Some(v) = get("DICEBARD_WEB_LISTEN") {
            self.web.listen = v.trim().parse().map_err(|_| {
                ConfigError::new(format!(
                    "DICEBARD_WEB_LISTEN must be an address like 127.0.0.1:8787 (got {v:?})"
                ))
            })?;
        }
        if let Some(v) = get("DICEBARD_PUBLIC_URL") {
            self.web.public_url = Some(v);
        }
        if let Some(v) = get("DICEBARD_LOG") {
            self.log.filter = v;
        }
        if let Some(v) = get("DICEBARD_LOG_FORMAT") {
            self.log.format = match v.trim() {
                "pretty" => LogFormat::Pretty,
                "json" => LogFormat::Json,
                _ => {
                    return Err(ConfigError::new(format!(
                        "DICEBARD_LOG_FORMAT must be pretty or json (got {v:?})"
                    )));
                }
            };
        }
        Ok(())
    }

    /// Checks the relations between keys that the types cannot express.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let t = &self.turns;
        if t.timeout_secs == 0 {
            return Err(ConfigError::new(
                "turns.timeout_secs must be greater than 0",
            ));
        }
        if t.warning_secs >= t.timeout_secs {
            return Err(ConfigError::new(format!(
                "turns.timeout_secs must be greater than turns.warning_secs (got {} and {})",
                t.timeout_secs, t.warning_secs
            )));
        }
        if t.reaction_secs > 600 {
            return Err(ConfigError::new(format!(
                "turns.reaction_secs must be at most 600 (got {})",
                t.reaction_secs
            )));
        }
        if self.llm.timeout_secs == 0 {
            return Err(ConfigError::new("llm.timeout_secs must be greater than 0"));
        }
        let llm = &self.llm;
        for (key, v) in [
            ("llm.connect_timeout_secs", llm.connect_timeout_secs),
            ("llm.stall_timeout_secs", llm.stall_timeout_secs),
            ("llm.decision_timeout_secs", llm.decision_timeout_secs),
            ("llm.summary_every", llm.summary_every),
            ("llm.max_tokens", u64::from(llm.max_tokens)),
        ] {
            if v == 0 {
                return Err(ConfigError::new(format!("{key} must be greater than 0")));
            }
        }
        for (key, v) in [
            ("llm.cost_per_1k_input", llm.cost_per_1k_input.0),
            ("llm.cost_per_1k_output", llm.cost_per_1k_output.0),
        ] {
            if !v.is_finite() || v < 0.0 {
                return Err(ConfigError::new(format!(
                    "{key} must be a non-negative number of dollars (got {v})"
                )));
            }
        }
        if llm.recent_events > 100 || llm.facts_in_prompt > 100 {
            return Err(ConfigError::new(
                "llm.recent_events and llm.facts_in_prompt must be at most 100",
            ));
        }
        if self.llm.api_key_env.trim().is_empty() {
            return Err(ConfigError::new(
                "llm.api_key_env must name an environment variable",
            ));
        }
        if self.voice.silence_ms == 0 {
            return Err(ConfigError::new("voice.silence_ms must be greater than 0"));
        }
        if self.voice.speaker_queue == 0 || self.voice.max_queued_sentences == 0 {
            return Err(ConfigError::new(
                "voice.speaker_queue and voice.max_queued_sentences must be at least 1",
            ));
        }
        for (name, v) in [
            ("voice.piper_noise_scale", self.voice.piper_noise_scale),
            ("voice.piper_noise_w", self.voice.piper_noise_w),
        ] {
            if let Some(v) = v
                && !(0.0..=dicebard_voice::tts::MAX_NOISE).contains(&v)
            {
                return Err(ConfigError::new(format!(
                    "{name} must be a number from 0 to 2 (got {v})"
                )));
            }
        }
        if self.voice.stt_workers > 64 {
            return Err(ConfigError::new("voice.stt_workers must be at most 64"));
        }
        if self.storage.data_dir.as_os_str().is_empty() {
            return Err(ConfigError::new("storage.data_dir must not be empty"));
        }
        if matches!(&self.storage.database_url, Some(u) if u.trim().is_empty()) {
            return Err(ConfigError::new(
                "storage.database_url must not be empty (leave it out for the default)",
            ));
        }
        if let Some(token) = &self.discord.token
            && token.expose().trim().is_empty()
        {
            return Err(ConfigError::new(
                "discord.token must not be empty (leave it out when not using Discord)",
            ));
        }
        for (key, url) in [
            ("discord.api_base", &self.discord.api_base),
            ("llm.base_url", &self.llm.base_url),
            ("web.public_url", &self.web.public_url),
        ] {
            if let Some(url) = url
                && !(url.starts_with("http://") || url.starts_with("https://"))
            {
                return Err(ConfigError::new(format!(
                    "{key} must be an http:// or https:// URL (got {url:?})"
                )));
            }
        }
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&self.log.filter) {
            return Err(ConfigError::new(format!(
                "log.filter is not a valid filter ({e}): {:?}",
                self.log.filter
            )));
        }
        Ok(())
    }

    /// Where the database lives: `storage.database_url`, else
    /// `<storage.data_dir>/dicebard.sqlite3`.
    pub fn database_location(&self) -> DbLocation {
        match &self.storage.database_url {
            Some(url) => DbLocation::parse(url),
            None => DbLocation::File(self.storage.data_dir.join(DEFAULT_DB_FILE)),
        }
    }
}

/// Where the database lives.
#[derive(Clone, PartialEq, Eq)]
pub enum DbLocation {
    /// A SQLite file; it and its parent directories are created if missing.
    File(PathBuf),
    /// A `sqlite:` URL (e.g. `sqlite:///var/lib/dicebard/db.sqlite3`, `sqlite::memory:`).
    SqliteUrl(String),
    /// A `postgres://` URL: recognised so the error is clear; not supported yet.
    PostgresUrl(String),
}

impl DbLocation {
    /// `sqlite:…` and `postgres(ql)://…` are URLs; anything else is a file path.
    pub fn parse(s: &str) -> DbLocation {
        if s.starts_with("sqlite:") {
            DbLocation::SqliteUrl(s.to_string())
        } else if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            DbLocation::PostgresUrl(s.to_string())
        } else {
            DbLocation::File(PathBuf::from(s))
        }
    }
}

impl fmt::Display for DbLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DbLocation::File(p) => write!(f, "{}", p.display()),
            DbLocation::SqliteUrl(u) => f.write_str(u),
            // A Postgres URL may carry a password: show only the scheme and host part.
            DbLocation::PostgresUrl(u) => {
                let rest = u.split_once("://").map(|(_, r)| r).unwrap_or("");
                let host = rest.rsplit_once('@').map(|(_, h)| h).unwrap_or(rest);
                write!(f, "postgres://{host}")
            }
        }
    }
}

impl fmt::Debug for DbLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DbLocation({self})")
    }
}

/// Entry points for the coverage-guided fuzz targets (`fuzz-bot/`) and their corpus
/// replay in the test suite. Not an API.
#[doc(hidden)]
pub mod fuzzing {
    use super::Config;

    /// A configuration file an operator wrote, then `DICEBARD_*` variables: the text
    /// before a line `---` is the TOML file, each `NAME=value` line after it an
    /// environment variable. Parsing, the overrides and validation must answer with a
    /// config or an error, never a panic.
    pub fn toml(input: &str) {
        let (file, env) = input.split_once("\n---\n").unwrap_or((input, ""));
        let vars: Vec<(String, String)> = env
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| {
                (
                    format!("DICEBARD_{}", k.trim_start_matches("DICEBARD_")),
                    v.to_string(),
                )
            })
            .collect();
        let lookup = |name: &str| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        match Config::parse_toml(file).and_then(|c| c.validate().map(|()| c)) {
            Ok(mut config) => {
                if config.apply_env(&lookup).is_ok() {
                    let _ = config.validate();
                    let _ = config.database_location();
                }
            }
            Err(e) => assert!(!e.to_string().is_empty()),
        }
        let mut config = Config::default();
        let _ = config.apply_env(&lookup);
    }
}
