//! Voice at the table (songbird): players speak their actions in a voice channel and
//! the bot speaks its narration there.
//!
//! - `receive.rs`: songbird RTP packets (decrypt only) → per-SSRC Opus decoding and
//!   end-of-utterance detection on a worker thread per call → the shared whisper pool
//!   ([`crate::voice::SttPool`]) → [`Heard`].
//! - `heard.rs`: a Discord speaker's words into the shared heard-speech path
//!   ([`crate::voice::heard`]: wake word, turn gating, then the same free-text path as
//!   `/act`); the "🎙" echo and replies posted in the campaign's channel.
//! - `speak.rs`: narration → sentences → Piper on a dedicated thread → songbird's track
//!   queue, bounded (beyond it: text only, said once).
//! - `settings` ([`crate::voice::settings`]): per-campaign settings (input, output,
//!   wake word, voice, speed) kept in the store; model paths.
//! - `commands.rs`: `/voice join | leave | settings | skip`.
//!
//! [`VoiceHub`] ties them together: one per process, cloneable, shared by the commands
//! and the presenters (which call [`VoiceHub::speak`] for public narration).

pub mod commands;
pub mod heard;
pub mod receive;
pub mod speak;

pub use crate::voice::settings;

pub use heard::{HeardResult, TablePost};
pub use receive::{Heard, RxInput, RxMsg};
pub use settings::VoiceSettings;
pub use speak::SpokenSentence;

use crate::config::VoiceConfig;
use crate::coordinator::{CampaignId, Coordinator};
use crate::intent::IntentResolver;
use crate::table::{Role, Table};
use crate::voice::SttPool;
use dicebard_voice::{Synthesizer, Transcriber};
use poise::serenity_prelude as serenity;
use receive::ReceiveWorker;
use songbird::{CoreEvent, Songbird};
use speak::{Outlet, Speaker};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::Instant;
use tokio::sync::mpsc;

/// The songbird driver configuration dicebard uses: decrypt only (Opus is decoded by
/// dicebard-voice, which strips DAVE trailers that songbird's own decoder would play as
/// noise).
pub fn songbird_config() -> songbird::Config {
    songbird::Config::default().decode_mode(songbird::driver::DecodeMode::Decrypt)
}

/// The speech models, loaded once (at the first join) and kept warm.
pub struct Engines {
    pub stt: Arc<SttPool>,
    pub speaker: Arc<Speaker>,
    pub default_voice: Arc<Synthesizer>,
    ort: PathBuf,
    /// Piper's noise settings (`voice.piper_noise_*`), for every voice loaded.
    noise: (Option<f32>, Option<f32>),
    voices: Mutex<HashMap<PathBuf, Arc<Synthesizer>>>,
}

impl Engines {
    /// The synthesizer for `voice` (`None`: the configured one), loading it once.
    pub async fn voice(&self, voice: Option<&Path>) -> Result<Arc<Synthesizer>, String> {
        let Some(path) = voice else {
            return Ok(self.default_voice.clone());
        };
        if path == self.default_voice.voice_path() {
            return Ok(self.default_voice.clone());
        }
        if let Some(s) = self.voices.lock().expect("voices poisoned").get(path) {
            return Ok(s.clone());
        }
        let (p, ort, noise) = (path.to_path_buf(), self.ort.clone(), self.noise);
        let synth = run_low_priority("voice-load", move || {
            Synthesizer::load(&p, &ort).map(|mut s| {
                s.set_noise(noise.0, noise.1);
                s
            })
        })
        .await?
        .map_err(|e| e.to_string())?;
        let synth = Arc::new(synth);
        self.voices
            .lock()
            .expect("voices poisoned")
            .insert(path.to_path_buf(), synth.clone());
        Ok(synth)
    }
}

/// The bot's presence in one voice channel, for one campaign.
struct Session {
    guild: serenity::GuildId,
    campaign: CampaignId,
    text_channel: serenity::ChannelId,
    voice_channel: Option<serenity::ChannelId>,
    settings: Arc<RwLock<VoiceSettings>>,
    synth: RwLock<Arc<Synthesizer>>,
    outlet: Arc<Outlet>,
    heard_tx: mpsc::Sender<Heard>,
    _rx: ReceiveWorker,
    call: Option<Arc<tokio::sync::Mutex<songbird::Call>>>,
    /// Members in the call with the bot (as reported to the table's presence).
    members: Mutex<HashSet<serenity::UserId>>,
}

/// What became of one heard utterance (for tests and benchmarks: [`VoiceHub::observe`]).
#[derive(Debug)]
pub struct HeardReport {
    pub heard: Heard,
    pub campaign: CampaignId,
    pub result: HeardResult,
    /// When handling finished (the action committed, or refused).
    pub done: Instant,
}

struct Inner {
    coord: Coordinator,
    intent: Arc<IntentResolver>,
    config: VoiceConfig,
    post: Arc<dyn TablePost>,
    songbird: Option<Arc<Songbird>>,
    engines: tokio::sync::OnceCell<Arc<Engines>>,
    sessions: Mutex<HashMap<serenity::GuildId, Arc<Session>>>,
    heard_tx: mpsc::Sender<Heard>,
    observers: Arc<Mutex<Vec<mpsc::UnboundedSender<Arc<HeardReport>>>>>,
    /// Where who is in the call is reported (`/table status`, the web table's
    /// presence), and the gateway cache that says who was there when the bot came.
    presence: std::sync::OnceLock<(Table, Arc<serenity::Cache>)>,
}

/// Voice for every campaign in this process. Cheap to clone.
#[derive(Clone)]
pub struct VoiceHub {
    inner: Arc<Inner>,
}

/// The campaign setting that remembers the voice channel the bot is in.
const VOICE_CHANNEL_KEY: &str = "voice_channel";

/// Utterances transcribed and waiting to be routed to their call.
const HEARD_QUEUE: usize = 256;

impl VoiceHub {
    /// A hub. `songbird` is `None` where there is no Discord connection (benchmarks):
    /// then only [`attach_local`](Self::attach_local) sessions exist. Must be called
    /// inside a tokio runtime.
    pub fn new(
        coord: Coordinator,
        intent: Arc<IntentResolver>,
        config: VoiceConfig,
        post: Arc<dyn TablePost>,
        songbird: Option<Arc<Songbird>>,
    ) -> VoiceHub {
        let (heard_tx, heard_rx) = mpsc::channel(HEARD_QUEUE);
        let inner = Arc::new(Inner {
            coord,
            intent,
            config,
            post,
            songbird,
            engines: tokio::sync::OnceCell::new(),
            sessions: Mutex::new(HashMap::new()),
            heard_tx,
            observers: Arc::new(Mutex::new(Vec::new())),
            presence: std::sync::OnceLock::new(),
        });
        tokio::spawn(route_heard(Arc::downgrade(&inner), heard_rx));
        VoiceHub { inner }
    }

    /// Loads the speech models (once; later calls return the same engines).
    pub async fn engines(&self) -> Result<Arc<Engines>, String> {
        let inner = self.inner.clone();
        self.inner
            .engines
            .get_or_try_init(|| async move { load_engines(&inner).await })
            .await
            .cloned()
    }

    /// From now on, who is in the bot's voice call is reported to `table`'s presence
    /// (through the front end `voice`), from the gateway's voice states (`cache` holds
    /// them for members who were in the channel before the bot came).
    pub fn report_presence(&self, table: Table, cache: Arc<serenity::Cache>) {
        let _ = self.inner.presence.set((table, cache));
    }

    /// A member's voice state changed (VOICE_STATE_UPDATE): in the bot's channel of
    /// `guild` or not. Changes within the channel (mute, deafen) change nothing.
    pub fn voice_state(
        &self,
        guild: serenity::GuildId,
        user: serenity::UserId,
        channel: Option<serenity::ChannelId>,
        name: Option<&str>,
    ) {
        let Some((table, cache)) = self.inner.presence.get() else {
            return;
        };
        if user == cache.current_user().id {
            return;
        }
        let Some(s) = self.sessions().get(&guild).cloned() else {
            return;
        };
        let here = s.voice_channel.is_some() && channel == s.voice_channel;
        let mut members = s.members.lock().expect("members poisoned");
        let player = crate::discord::player_id(user);
        if here && members.insert(user) {
            table.connected(s.campaign, "voice", Role::Player, Some(&player), name);
        } else if !here && members.remove(&user) {
            table.disconnected(s.campaign, "voice", Role::Player, Some(&player));
        }
    }

    /// Reports the members already in the new session's channel (from the cache).
    fn seed_members(&self, s: &Session) {
        let Some((_, cache)) = self.inner.presence.get() else {
            return;
        };
        let Some(channel) = s.voice_channel else {
            return;
        };
        let present: Vec<(serenity::UserId, Option<String>)> = match cache.guild(s.guild) {
            Some(g) => g
                .voice_states
                .values()
                .filter(|v| v.channel_id == Some(channel))
                .map(|v| {
                    let name = g
                        .members
                        .get(&v.user_id)
                        .map(|m| m.display_name().to_string());
                    (v.user_id, name)
                })
                .collect(),
            None => Vec::new(),
        };
        for (user, name) in present {
            self.voice_state(s.guild, user, Some(channel), name.as_deref());
        }
    }

    /// Whether the model files exist (a quick check before deferring a command).
    pub fn check_models(&self) -> Result<(), String> {
        settings::check_models(&self.inner.config).map(|_| ())
    }

    pub fn config(&self) -> &VoiceConfig {
        &self.inner.config
    }

    /// The campaign the bot is in voice for in `guild`, and the voice channel.
    pub fn session_in(
        &self,
        guild: serenity::GuildId,
    ) -> Option<(CampaignId, Option<serenity::ChannelId>)> {
        self.sessions()
            .get(&guild)
            .map(|s| (s.campaign, s.voice_channel))
    }

    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<serenity::GuildId, Arc<Session>>> {
        self.inner.sessions.lock().expect("voice sessions poisoned")
    }

    fn session_for(&self, campaign: CampaignId) -> Option<Arc<Session>> {
        self.sessions()
            .values()
            .find(|s| s.campaign == campaign)
            .cloned()
    }

    /// Joins `voice_channel` for `campaign` (whose text channel is `text_channel`):
    /// loads the models if needed, connects, and starts listening and speaking. A
    /// session this guild already had is closed first.
    pub async fn join(
        &self,
        guild: serenity::GuildId,
        voice_channel: serenity::ChannelId,
        campaign: CampaignId,
        text_channel: serenity::ChannelId,
    ) -> Result<(), String> {
        let songbird = self
            .inner
            .songbird
            .clone()
            .ok_or_else(|| "voice is not available in this process".to_string())?;
        let engines = self.engines().await?;
        let settings = VoiceSettings::load(self.inner.coord.store(), campaign)
            .await
            .map_err(|e| e.to_string())?;
        let synth = engines.voice(settings.voice.as_deref()).await?;
        self.close_session(guild).await;

        let worker = ReceiveWorker::start(guild, self.inner.config.silence_ms, engines.stt.clone())
            .map_err(|e| format!("could not start the voice receiver: {e}"))?;
        let call = songbird.get_or_insert(guild);
        {
            let mut c = call.lock().await;
            c.remove_all_global_events();
            let h = worker.handler();
            for ev in [
                CoreEvent::RtpPacket,
                CoreEvent::SpeakingStateUpdate,
                CoreEvent::ClientDisconnect,
                CoreEvent::DriverDisconnect,
            ] {
                c.add_global_event(ev.into(), h.clone());
            }
        }
        let stage = {
            let mut c = call.lock().await;
            c.join(voice_channel).await
        };
        let joined = match stage {
            Ok(j) => j.await,
            Err(e) => Err(e),
        };
        if let Err(e) = joined {
            let _ = songbird.remove(guild).await;
            tracing::warn!(guild = guild.get(), campaign = campaign.get(), error = %e, "joining voice failed");
            return Err(format!("could not join the voice channel ({e})"));
        }
        let (spoken_tx, spoken_rx) = mpsc::unbounded_channel();
        let outlet = Outlet::new(self.inner.config.max_queued_sentences, spoken_tx);
        tokio::spawn(speak::play_into_call(
            outlet.clone(),
            call.clone(),
            spoken_rx,
        ));
        self.open_session(
            guild,
            campaign,
            text_channel,
            Some(voice_channel),
            settings,
            synth,
            outlet,
            worker,
            Some(call),
        );
        tracing::info!(
            guild = guild.get(),
            campaign = campaign.get(),
            channel = voice_channel.get(),
            "joined voice"
        );
        // Remembered so a restarted bot comes back to this channel.
        if let Err(e) = self
            .inner
            .coord
            .store()
            .set_campaign_setting(
                campaign,
                VOICE_CHANNEL_KEY,
                &serde_json::json!(voice_channel.get()),
            )
            .await
        {
            tracing::warn!(campaign = campaign.get(), error = %e, "could not remember the voice channel");
        }
        Ok(())
    }

    /// The voice channel `campaign` was in when the bot last stopped, if any.
    pub async fn remembered_channel(&self, campaign: CampaignId) -> Option<serenity::ChannelId> {
        let v = self
            .inner
            .coord
            .store()
            .campaign_setting(campaign, VOICE_CHANNEL_KEY)
            .await
            .ok()
            .flatten()?;
        v.as_u64()
            .filter(|id| *id != 0)
            .map(serenity::ChannelId::new)
    }

    /// After a restart: joins the voice channel `campaign` was in, if it was in one.
    /// Returns whether it rejoined.
    pub async fn rejoin(
        &self,
        guild: serenity::GuildId,
        campaign: CampaignId,
        text_channel: serenity::ChannelId,
    ) -> bool {
        let Some(voice_channel) = self.remembered_channel(campaign).await else {
            return false;
        };
        if self.check_models().is_err() {
            return false;
        }
        match self
            .join(guild, voice_channel, campaign, text_channel)
            .await
        {
            Ok(()) => {
                self.inner
                    .post
                    .post(
                        text_channel,
                        format!(
                            "🎙 Back in <#{}> after a restart: speak when you are ready.",
                            voice_channel.get()
                        ),
                    )
                    .await;
                true
            }
            Err(e) => {
                tracing::warn!(campaign = campaign.get(), error = %e, "could not rejoin voice after a restart");
                false
            }
        }
    }

    /// A session with no Discord call, for benchmarks and tests: feed it RTP payloads
    /// through the returned [`RxInput`]; spoken narration comes out of the receiver
    /// instead of going to songbird.
    pub async fn attach_local(
        &self,
        guild: serenity::GuildId,
        campaign: CampaignId,
        text_channel: serenity::ChannelId,
    ) -> Result<(RxInput, mpsc::UnboundedReceiver<SpokenSentence>), String> {
        let engines = self.engines().await?;
        let settings = VoiceSettings::load(self.inner.coord.store(), campaign)
            .await
            .map_err(|e| e.to_string())?;
        let synth = engines.voice(settings.voice.as_deref()).await?;
        self.close_session(guild).await;
        let worker = ReceiveWorker::start(guild, self.inner.config.silence_ms, engines.stt.clone())
            .map_err(|e| e.to_string())?;
        let input = worker.input();
        let (spoken_tx, spoken_rx) = mpsc::unbounded_channel();
        let outlet = Outlet::new(self.inner.config.max_queued_sentences, spoken_tx);
        self.open_session(
            guild,
            campaign,
            text_channel,
            None,
            settings,
            synth,
            outlet,
            worker,
            None,
        );
        Ok((input, spoken_rx))
    }

    #[allow(clippy::too_many_arguments)]
    fn open_session(
        &self,
        guild: serenity::GuildId,
        campaign: CampaignId,
        text_channel: serenity::ChannelId,
        voice_channel: Option<serenity::ChannelId>,
        settings: VoiceSettings,
        synth: Arc<Synthesizer>,
        outlet: Arc<Outlet>,
        worker: ReceiveWorker,
        call: Option<Arc<tokio::sync::Mutex<songbird::Call>>>,
    ) {
        let (heard_tx, heard_rx) = mpsc::channel(HEARD_QUEUE);
        let settings = Arc::new(RwLock::new(settings));
        tokio::spawn(session_loop(
            self.inner.coord.clone(),
            self.inner.intent.clone(),
            self.inner.post.clone(),
            self.inner.observers.clone(),
            campaign,
            text_channel,
            settings.clone(),
            heard_rx,
        ));
        let session = Arc::new(Session {
            guild,
            campaign,
            text_channel,
            voice_channel,
            settings,
            synth: RwLock::new(synth),
            outlet,
            heard_tx,
            _rx: worker,
            call,
            members: Mutex::new(HashSet::new()),
        });
        self.sessions().insert(guild, session.clone());
        self.seed_members(&session);
    }

    /// Leaves voice in `guild` (and forgets the channel: a restart does not come back).
    /// Returns whether the bot was there.
    pub async fn leave(&self, guild: serenity::GuildId) -> bool {
        if let Some((campaign, _)) = self.session_in(guild)
            && let Err(e) = self
                .inner
                .coord
                .store()
                .set_campaign_setting(campaign, VOICE_CHANNEL_KEY, &serde_json::Value::Null)
                .await
        {
            tracing::warn!(campaign = campaign.get(), error = %e, "could not forget the voice channel");
        }
        let had = self.close_session(guild).await;
        if let Some(sb) = &self.inner.songbird
            && sb.get(guild).is_some()
        {
            if let Err(e) = sb.remove(guild).await {
                tracing::debug!(guild = guild.get(), error = %e, "leaving voice");
            }
            return true;
        }
        had
    }

    async fn close_session(&self, guild: serenity::GuildId) -> bool {
        let old = self.sessions().remove(&guild);
        match old {
            Some(s) => {
                s.outlet.skip();
                let members: Vec<serenity::UserId> = s
                    .members
                    .lock()
                    .expect("members poisoned")
                    .drain()
                    .collect();
                if let Some((table, _)) = self.inner.presence.get() {
                    for user in members {
                        let player = crate::discord::player_id(user);
                        table.disconnected(s.campaign, "voice", Role::Player, Some(&player));
                    }
                }
                if let Some(call) = &s.call {
                    call.lock().await.remove_all_global_events();
                }
                tracing::info!(
                    guild = s.guild.get(),
                    campaign = s.campaign.get(),
                    "left voice"
                );
                true
            }
            None => false,
        }
    }

    /// Speaks `text` in `campaign_id`'s voice channel: split into sentences, synthesized
    /// on the speech thread and queued in songbird. Never blocks; does nothing when the
    /// bot is not in voice for the campaign or spoken narration is off.
    pub fn speak(&self, campaign_id: CampaignId, text: &str) {
        let Some(s) = self.session_for(campaign_id) else {
            return;
        };
        let settings = s.settings.read().expect("settings poisoned").clone();
        let text = speak::speakable(text);
        if !settings.output || text.is_empty() {
            return;
        }
        let Some(engines) = self.inner.engines.get() else {
            return;
        };
        let synth = s.synth.read().expect("synth poisoned").clone();
        if engines
            .speaker
            .speak(&synth, &s.outlet, &text, settings.speed)
        {
            let post = self.inner.post.clone();
            let channel = s.text_channel;
            tokio::spawn(async move {
                post.post(
                    channel,
                    "🔇 The narration is running ahead of my voice: the rest is in text only until I catch up.".into(),
                )
                .await;
            });
        }
    }

    /// Stops the current speech in `campaign_id` and drops what was waiting. Returns
    /// whether the bot is in voice there.
    pub fn skip(&self, campaign_id: CampaignId) -> bool {
        match self.session_for(campaign_id) {
            Some(s) => {
                s.outlet.skip();
                true
            }
            None => false,
        }
    }

    /// Applies new settings to a live session (the caller has saved them). Loads a newly
    /// chosen voice.
    pub async fn apply_settings(
        &self,
        campaign_id: CampaignId,
        settings: VoiceSettings,
    ) -> Result<(), String> {
        let Some(s) = self.session_for(campaign_id) else {
            return Ok(());
        };
        if let Some(engines) = self.inner.engines.get() {
            let synth = engines.voice(settings.voice.as_deref()).await?;
            *s.synth.write().expect("synth poisoned") = synth;
        }
        if !settings.output {
            s.outlet.skip();
        }
        *s.settings.write().expect("settings poisoned") = settings;
        Ok(())
    }

    /// Every heard utterance and what became of it, from now on.
    pub fn observe(&self) -> mpsc::UnboundedReceiver<Arc<HeardReport>> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.inner
            .observers
            .lock()
            .expect("observers poisoned")
            .push(tx);
        rx
    }
}

async fn load_engines(inner: &Inner) -> Result<Arc<Engines>, String> {
    let (whisper, piper, ort) = settings::check_models(&inner.config)?;
    let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
    let workers = match inner.config.stt_workers {
        0 => (cpus / 4).max(1),
        n => n,
    };
    // whisper's threads leave one core to the audio path (songbird's mixer and Opus
    // encoder, the receive workers), which must run every 20 ms while a sentence plays.
    let threads = (cpus.saturating_sub(1) / workers).clamp(1, 4);
    let started = Instant::now();
    let noise = (inner.config.piper_noise_scale, inner.config.piper_noise_w);
    // Loaded on a low-priority thread: ONNX Runtime starts its compute threads here, and
    // they inherit it (see dicebard_voice::priority).
    let (transcriber, synth) = run_low_priority("voice-load", move || {
        let t =
            Transcriber::load_with_states(&whisper, threads, workers).map_err(|e| e.to_string())?;
        let mut s = Synthesizer::load(&piper, &ort).map_err(|e| e.to_string())?;
        s.set_noise(noise.0, noise.1);
        Ok::<_, String>((t, s))
    })
    .await??;
    let heard_tx = inner.heard_tx.clone();
    let stt = SttPool::start(
        Arc::new(transcriber),
        workers,
        inner.config.speaker_queue,
        move |t| heard_tx.blocking_send(Heard::from(t)).is_ok(),
    )
    .map_err(|e| format!("could not start speech-to-text workers: {e}"))?;
    let speaker =
        Speaker::start().map_err(|e| format!("could not start the speech thread: {e}"))?;
    tracing::info!(
        stt_workers = workers,
        whisper_threads = threads,
        load_ms = started.elapsed().as_millis() as u64,
        "voice models loaded"
    );
    let ort = settings::model_path(&inner.config, dicebard_voice::models::Kind::OnnxRuntime)
        .unwrap_or_default();
    Ok(Arc::new(Engines {
        stt,
        speaker,
        default_voice: Arc::new(synth),
        ort,
        noise,
        voices: Mutex::new(HashMap::new()),
    }))
}

/// Runs blocking model work on a fresh thread below normal priority (never on a tokio
/// blocking-pool thread, whose lowered priority would outlive the job).
async fn run_low_priority<T: Send + 'static>(
    name: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            dicebard_voice::priority::lower_current_thread();
            let _ = tx.send(f());
        })
        .map_err(|e| format!("could not start a thread: {e}"))?;
    rx.await
        .map_err(|_| "the loading thread panicked".to_string())
}

/// Routes transcripts to their guild's session (each session handles its own in order).
async fn route_heard(inner: Weak<Inner>, mut rx: mpsc::Receiver<Heard>) {
    while let Some(h) = rx.recv().await {
        let Some(inner) = inner.upgrade() else {
            return;
        };
        let session = inner
            .sessions
            .lock()
            .expect("voice sessions poisoned")
            .get(&h.guild)
            .cloned();
        match session {
            Some(s) => {
                if s.heard_tx.try_send(h).is_err() {
                    tracing::warn!(
                        guild = s.guild.get(),
                        "voice actions are backed up: dropped one"
                    );
                }
            }
            None => tracing::debug!(guild = h.guild.get(), "heard speech after leaving voice"),
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn session_loop(
    coord: Coordinator,
    intent: Arc<IntentResolver>,
    post: Arc<dyn TablePost>,
    observers: Arc<Mutex<Vec<mpsc::UnboundedSender<Arc<HeardReport>>>>>,
    campaign: CampaignId,
    channel: serenity::ChannelId,
    settings: Arc<RwLock<VoiceSettings>>,
    mut rx: mpsc::Receiver<Heard>,
) {
    while let Some(h) = rx.recv().await {
        let s = settings.read().expect("settings poisoned").clone();
        let env = heard::HeardEnv {
            coord: &coord,
            intent: &intent,
            post: post.as_ref(),
        };
        let result = heard::handle_heard(&env, campaign, channel, &s, &h).await;
        let report = Arc::new(HeardReport {
            heard: h,
            campaign,
            result,
            done: Instant::now(),
        });
        observers
            .lock()
            .expect("observers poisoned")
            .retain(|o| o.send(report.clone()).is_ok());
    }
}
