//! The test-facing handle: start the fake, drive it like Discord users would (slash commands,
//! clicks, modals, messages, voice joins, connection trouble) and read back what the bot did.
//! Test helpers panic with a description of what the fake saw when the *test's* request makes
//! no sense (unknown command, no such button); waits return [`WaitError`] so a test can also
//! assert that something does *not* happen.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::net::{TcpListener, UdpSocket};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::config::FakeConfig;
use crate::error::WaitError;
use crate::interactions::Invocation;
use crate::model::{Callback, Choice, GatewayCommand, LoggedRequest, Message, Modal};
use crate::rate::{self, RateWindow};
use crate::snowflake::{ChannelId, GuildId, InteractionId, MessageId, UserId};
use crate::state::{NewMessage, Outgoing, Shared, State};
use crate::voice::{VoiceError, VoiceNet, VoiceStats};
use crate::{audio, gateway, rest, tls, voice_gateway, voice_udp};

/// A running fake Discord. Cheap to clone; the servers stop when the last clone (and every
/// [`InteractionHandle`]) is dropped, or on [`FakeDiscord::shutdown`].
#[derive(Clone)]
pub struct FakeDiscord {
    shared: Arc<Shared>,
    servers: Arc<Servers>,
    api_base: String,
    gateway_url: String,
    token: String,
    setup_timeout: Duration,
    reaction_time: Duration,
}

struct Servers {
    tasks: Vec<JoinHandle<()>>,
    voice_udp: Arc<UdpSocket>,
    /// The voice gateway's test CA (PEM); removed with the fake.
    ca_file: PathBuf,
}

impl Drop for Servers {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
        let _ = std::fs::remove_file(&self.ca_file);
    }
}

impl FakeDiscord {
    /// Binds REST, gateway, voice gateway (TLS) and voice UDP on `127.0.0.1:0` and starts serving.
    pub async fn start(config: FakeConfig) -> FakeDiscord {
        let rest_listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake REST port");
        let gateway_listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake gateway port");
        let voice_listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake voice gateway port");
        let voice_udp = Arc::new(
            UdpSocket::bind("127.0.0.1:0")
                .await
                .expect("bind fake voice UDP port"),
        );
        let api_base = format!("http://{}", rest_listener.local_addr().expect("local addr"));
        let gateway_url = format!(
            "ws://{}",
            gateway_listener.local_addr().expect("local addr")
        );
        let voice_endpoint = voice_listener.local_addr().expect("local addr").to_string();
        let udp_port = voice_udp.local_addr().expect("local addr").port();
        let tls = tls::generate();
        let ca_file = tls::write_ca_file(&tls.ca_pem);
        let token = config.token.clone();
        let setup_timeout = config.setup_timeout;
        let reaction_time = config.reaction_time;
        let shared = Arc::new(Shared::new(State::new(
            config,
            api_base.clone(),
            gateway_url.clone(),
            VoiceNet::new(voice_endpoint, udp_port),
        )));
        let app = rest::router(shared.clone());
        let rest_task = tokio::spawn(async move {
            // Only fails if the listener breaks; the test then sees connection errors.
            let _ = axum::serve(rest_listener, app).await;
        });
        let gateway_task = tokio::spawn(gateway::serve(gateway_listener, shared.clone()));
        let voice_task = tokio::spawn(voice_gateway::serve(
            voice_listener,
            tls.acceptor,
            shared.clone(),
        ));
        let udp_task = tokio::spawn(voice_udp::serve(voice_udp.clone(), shared.clone()));
        FakeDiscord {
            shared,
            servers: Arc::new(Servers {
                tasks: vec![rest_task, gateway_task, voice_task, udp_task],
                voice_udp,
                ca_file,
            }),
            api_base,
            gateway_url,
            token,
            setup_timeout,
            reaction_time,
        }
    }

    /// The value for the bot's REST base-URL setting, e.g. `http://127.0.0.1:41234`
    /// (serenity's `HttpBuilder::proxy` replaces `https://discord.com` with it; routes are
    /// then `{api_base}/api/v10/...`).
    pub fn api_base(&self) -> &str {
        &self.api_base
    }

    /// `ws://127.0.0.1:P` (what `GET /gateway` returns).
    pub fn gateway_url(&self) -> &str {
        &self.gateway_url
    }

    /// The bot token the fake accepts (without `Bot `).
    pub fn token(&self) -> &str {
        &self.token
    }

    pub fn bot_id(&self) -> UserId {
        self.read(State::bot_id)
    }

    /// The application id (the bot's user id).
    pub fn application_id(&self) -> u64 {
        self.bot_id().0
    }

    pub fn guild_id(&self) -> GuildId {
        self.read(State::guild_id)
    }

    /// A configured user by name. Panics if there is none.
    pub fn user_id(&self, name: &str) -> UserId {
        self.read(|st| {
            st.users
                .values()
                .find(|u| u.user.name == name)
                .map(|u| u.user.id)
        })
        .unwrap_or_else(|| panic!("the fake has no user named {name:?}"))
    }

    /// A configured guild channel by name. Panics if there is none.
    pub fn channel_id(&self, name: &str) -> ChannelId {
        self.read(|st| st.channels.values().find(|c| c.name == name).map(|c| c.id))
            .unwrap_or_else(|| panic!("the fake has no channel named {name:?}"))
    }

    /// Drops every gateway and voice gateway connection and stops the listeners.
    pub fn shutdown(&self) {
        self.shared.with(|st| {
            let main = st.gateway.connections.values();
            for tx in main.chain(st.voice_net.connections.values()) {
                let _ = tx.send(Outgoing::Drop);
            }
        });
        for t in &self.servers.tasks {
            t.abort();
        }
    }

    fn read<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        self.shared.read(f)
    }

    async fn wait<R>(
        &self,
        timeout: Duration,
        what: impl FnOnce() -> String,
        f: impl FnMut(&State) -> Option<R>,
    ) -> Result<R, WaitError> {
        let deadline = Instant::now() + timeout;
        match self.shared.wait_for(deadline, f).await {
            Some(r) => Ok(r),
            None => Err(WaitError::new(what(), self.read(describe))),
        }
    }

    // ----- session and registration ------------------------------------------------------------

    /// Waits until the bot has a live gateway session (IDENTIFY answered with READY, or resumed).
    pub async fn wait_for_ready(&self, timeout: Duration) -> Result<(), WaitError> {
        self.wait(
            timeout,
            || "a live gateway session".into(),
            |st| st.session_live().then_some(()),
        )
        .await
    }

    /// Waits until the bot has registered the chat-input command `name` (guild or global).
    pub async fn wait_for_command(
        &self,
        name: &str,
        timeout: Duration,
    ) -> Result<Value, WaitError> {
        let guild_channel = self.read(|st| {
            st.channels
                .values()
                .find(|c| st.channel_guild(c.id).is_some())
                .map(|c| c.id)
        });
        let channel = guild_channel.unwrap_or(ChannelId(0));
        self.wait(
            timeout,
            || format!("the bot to register /{name}"),
            |st| st.find_command(name, channel).ok(),
        )
        .await
    }

    /// Registered global commands, as the fake returned them (with ids).
    pub fn global_commands(&self) -> Vec<Value> {
        self.read(|st| st.commands.get(&None).cloned().unwrap_or_default())
    }

    /// Registered guild commands.
    pub fn guild_commands(&self) -> Vec<Value> {
        self.read(|st| {
            st.commands
                .get(&Some(st.guild_id()))
                .cloned()
                .unwrap_or_default()
        })
    }

    async fn ready_for(&self, command: &str, channel: ChannelId) {
        let deadline = Instant::now() + self.setup_timeout;
        let ok = self
            .shared
            .wait_for(deadline, |st| {
                (st.session_live() && st.find_command(command, channel).is_ok()).then_some(())
            })
            .await;
        if ok.is_none() {
            let why = self.read(|st| match st.find_command(command, channel) {
                Err(e) => e,
                Ok(_) => "the bot has no live gateway session".to_owned(),
            });
            panic!("cannot invoke /{command}: {why}\n{}", self.read(describe));
        }
    }

    async fn ready_session(&self) {
        if self.wait_for_ready(self.setup_timeout).await.is_err() {
            panic!(
                "the bot has no live gateway session\n{}",
                self.read(describe)
            );
        }
    }

    // ----- interactions ------------------------------------------------------------------------

    /// `user` runs `/command` in `channel` with `options` typed as strings (converted to the
    /// registered option types; choices by name or value; users/channels/roles by name or id).
    /// `command` may name subcommands: `"character show"`. Waits (up to
    /// `FakeConfig::setup_timeout`) for the bot's session and the command's registration;
    /// panics if the command or an option does not exist.
    pub async fn slash(
        &self,
        user: UserId,
        channel: ChannelId,
        command: &str,
        options: &[(&str, &str)],
    ) -> InteractionHandle {
        let name = command.split_whitespace().next().unwrap_or("");
        self.ready_for(name, channel).await;
        let inv = Invocation::Slash { command, options };
        match self.shared.with(|st| st.invoke(user, channel, inv)) {
            Ok(id) => self.handle(id),
            Err(e) => panic!("cannot invoke /{command}: {e}"),
        }
    }

    /// `user` is typing `focused` in `/command`: an autocomplete interaction (type 4) with the
    /// focused value as a string. Returns the bot's choices (callback type 8, within the ack
    /// deadline).
    pub async fn autocomplete(
        &self,
        user: UserId,
        channel: ChannelId,
        command: &str,
        options: &[(&str, &str)],
        focused: &str,
    ) -> Result<Vec<Choice>, WaitError> {
        let name = command.split_whitespace().next().unwrap_or("");
        self.ready_for(name, channel).await;
        let inv = Invocation::Autocomplete {
            command,
            options,
            focused,
        };
        let id = match self.shared.with(|st| st.invoke(user, channel, inv)) {
            Ok(id) => id,
            Err(e) => panic!("cannot autocomplete /{command}: {e}"),
        };
        let timeout = self.read(|st| st.config.ack_deadline) + Duration::from_millis(500);
        self.handle(id).choices(timeout).await
    }

    /// `user` clicks the button `custom_id` on `message` (type 3, carrying the full message).
    pub async fn click(
        &self,
        user: UserId,
        message: MessageId,
        custom_id: &str,
    ) -> InteractionHandle {
        self.component(user, message, custom_id, None).await
    }

    /// `user` picks `values` in the string select `custom_id` on `message`.
    pub async fn select(
        &self,
        user: UserId,
        message: MessageId,
        custom_id: &str,
        values: &[&str],
    ) -> InteractionHandle {
        self.component(user, message, custom_id, Some(values)).await
    }

    /// `user` clicks a button on `message` whose custom id they made up (a modified client):
    /// `custom_id` need not be one of the message's components.
    pub async fn click_forged(
        &self,
        user: UserId,
        message: MessageId,
        custom_id: &str,
    ) -> InteractionHandle {
        self.component_inner(user, message, custom_id, None, true)
            .await
    }

    async fn component(
        &self,
        user: UserId,
        message: MessageId,
        custom_id: &str,
        values: Option<&[&str]>,
    ) -> InteractionHandle {
        self.component_inner(user, message, custom_id, values, false)
            .await
    }

    async fn component_inner(
        &self,
        user: UserId,
        message: MessageId,
        custom_id: &str,
        values: Option<&[&str]>,
        forged: bool,
    ) -> InteractionHandle {
        self.ready_session().await;
        let shown = self.read(|st| st.messages.get(&message).map(|m| m.changed_at));
        if let Some(shown) = shown {
            tokio::time::sleep_until(shown + self.reaction_time).await;
        }
        match self
            .shared
            .with(|st| st.component_interaction(user, message, custom_id, values, forged))
        {
            Ok(id) => self.handle(id),
            Err(e) => panic!("cannot use component {custom_id:?}: {e}"),
        }
    }

    /// `user` submits the modal `custom_id` the bot opened for them (callback type 9), with
    /// `fields` as `(text input custom_id, value)`; unlisted fields keep their pre-filled value.
    pub async fn submit_modal(
        &self,
        user: UserId,
        custom_id: &str,
        fields: &[(&str, &str)],
    ) -> InteractionHandle {
        self.ready_session().await;
        let opened = self.read(|st| {
            st.interactions
                .values()
                .filter_map(|r| r.modal.as_ref())
                .filter(|m| m.custom_id == custom_id)
                .map(|m| m.opened_at)
                .max()
        });
        if let Some(opened) = opened {
            tokio::time::sleep_until(opened + self.reaction_time).await;
        }
        match self
            .shared
            .with(|st| st.modal_submit(user, custom_id, fields))
        {
            Ok(id) => self.handle(id),
            Err(e) => panic!("cannot submit modal: {e}"),
        }
    }

    fn handle(&self, id: InteractionId) -> InteractionHandle {
        InteractionHandle {
            fake: self.clone(),
            id,
        }
    }

    // ----- messages ----------------------------------------------------------------------------

    /// Messages everyone sees in `channel` (not deleted, not ephemeral), oldest first.
    pub fn messages(&self, channel: ChannelId) -> Vec<Message> {
        self.read(|st| st.visible_messages(channel))
    }

    /// Any message by id, including deleted and ephemeral ones.
    pub fn message(&self, id: MessageId) -> Option<Message> {
        self.read(|st| st.messages.get(&id).cloned())
    }

    /// Pinned messages, most recently pinned first (as `GET /channels/{c}/pins`).
    pub fn pins(&self, channel: ChannelId) -> Vec<Message> {
        self.read(|st| {
            st.channels.get(&channel).map_or_else(Vec::new, |c| {
                c.pins
                    .iter()
                    .rev()
                    .map(|m| st.messages[m].clone())
                    .collect()
            })
        })
    }

    /// The DM channel between the bot and `user`, if the bot opened one.
    pub fn dm_channel(&self, user: UserId) -> Option<ChannelId> {
        self.read(|st| st.dm_channels.get(&user).copied())
    }

    /// Messages in the DM channel with `user`, oldest first.
    pub fn dms(&self, user: UserId) -> Vec<Message> {
        self.dm_channel(user)
            .map_or_else(Vec::new, |c| self.messages(c))
    }

    /// Waits for a visible message in `channel` satisfying `pred` (checked again after every
    /// change, so an edit that makes it match counts).
    pub async fn wait_for_message(
        &self,
        channel: ChannelId,
        pred: impl Fn(&Message) -> bool,
        timeout: Duration,
    ) -> Result<Message, WaitError> {
        self.wait(
            timeout,
            || format!("a matching message in channel {channel}"),
            |st| st.visible_messages(channel).into_iter().find(|m| pred(m)),
        )
        .await
    }

    /// Waits for a DM to `user` satisfying `pred`.
    pub async fn wait_for_dm(
        &self,
        user: UserId,
        pred: impl Fn(&Message) -> bool,
        timeout: Duration,
    ) -> Result<Message, WaitError> {
        self.wait(
            timeout,
            || format!("a matching DM to user {user}"),
            |st| {
                let c = st.dm_channels.get(&user)?;
                st.visible_messages(*c).into_iter().find(|m| pred(m))
            },
        )
        .await
    }

    /// `user` posts `content` in `channel` (a MESSAGE_CREATE reaches the bot if it asked for
    /// GUILD_MESSAGES / DIRECT_MESSAGES; content is blanked without MESSAGE_CONTENT unless
    /// the bot is mentioned). For a DM, pass the DM channel (see [`Self::open_dm`]).
    pub fn user_says(&self, user: UserId, channel: ChannelId, content: &str) -> Message {
        self.shared.with(|st| {
            if let Err(e) = st.check_user_in_channel(user, channel) {
                panic!("user {user} cannot post in {channel}: {e}");
            }
            let body = serde_json::json!({"content": content});
            let id = st.insert_message(NewMessage {
                channel,
                author: user,
                body: &body,
                files: Vec::new(),
                flags: 0,
                kind: 0,
                interaction: None,
            });
            st.messages[&id].clone()
        })
    }

    /// The DM channel with `user`, creating it (as if the user opened a DM).
    pub fn open_dm(&self, user: UserId) -> ChannelId {
        self.shared.with(|st| st.dm_channel(user))
    }

    // ----- voice state -------------------------------------------------------------------------

    /// `user` joins (or moves to) a voice channel: VOICE_STATE_UPDATE to the bot.
    pub fn user_joins_voice(&self, user: UserId, channel: ChannelId) {
        self.shared
            .with(|st| st.set_user_voice(user, Some(channel)));
    }

    /// `user` leaves voice: VOICE_STATE_UPDATE with `channel_id: null`.
    pub fn user_leaves_voice(&self, user: UserId) {
        self.shared.with(|st| st.set_user_voice(user, None));
    }

    /// Users (and the bot) in a voice channel.
    pub fn voice_members(&self, channel: ChannelId) -> Vec<UserId> {
        self.read(|st| st.voice_members(channel))
    }

    /// The voice channel the bot asked to join with op 4, if any.
    pub fn bot_voice_channel(&self) -> Option<ChannelId> {
        self.read(|st| st.voice.get(&st.bot_id()).and_then(|v| v.channel))
    }

    // ----- voice server ------------------------------------------------------------------------

    /// PEM file of the fake's test CA (it signed the voice gateway's certificate for
    /// `127.0.0.1`). Run the bot with `SSL_CERT_FILE` set to this path; its songbird must trust
    /// native roots (`tokio-tungstenite` 0.26 feature `rustls-tls-native-roots`). The file is
    /// removed when the fake is dropped.
    pub fn voice_ca_pem(&self) -> PathBuf {
        self.servers.ca_file.clone()
    }

    /// `127.0.0.1:PORT`: the voice gateway (VOICE_SERVER_UPDATE's `endpoint`; `wss://`).
    pub fn voice_endpoint(&self) -> String {
        self.read(|st| st.voice_net.endpoint.clone())
    }

    /// The voice UDP server's address (`ip`/`port` of the voice Ready).
    pub fn voice_udp_addr(&self) -> std::net::SocketAddr {
        self.servers.voice_udp.local_addr().expect("bound socket")
    }

    /// Waits until the bot has completed the voice handshake: identified on the voice gateway,
    /// selected a protocol (so its UDP address is known) and been sent the session description.
    pub async fn wait_for_bot_voice(&self, timeout: Duration) -> Result<(), WaitError> {
        self.wait(
            timeout,
            || "the bot's voice connection (identify, select protocol, session description)".into(),
            |st| st.voice_net.ready().then_some(()),
        )
        .await
    }

    /// `user` (who must be in the bot's voice channel: [`Self::user_joins_voice`]) speaks a
    /// WAV file (8–32-bit integer or float, any rate, any channel count; resampled to 48 kHz
    /// stereo), paced in real time. Waits up to `FakeConfig::setup_timeout` for the bot's voice
    /// connection first. Returns when the last packet has been sent.
    pub async fn speak(&self, user: UserId, wav: &Path) -> Result<(), VoiceError> {
        let pcm = audio::read_wav(wav).map_err(VoiceError::Audio)?;
        self.speak_pcm(user, &pcm).await
    }

    /// Like [`Self::speak`] with 48 kHz stereo interleaved i16 PCM: op 5 Speaking, then one
    /// 20 ms Opus frame every 20 ms (the last one zero-padded), then five silence frames.
    pub async fn speak_pcm(&self, user: UserId, pcm: &[i16]) -> Result<(), VoiceError> {
        self.read(|st| st.check_can_speak(user))?;
        self.wait_for_bot_voice(self.setup_timeout)
            .await
            .map_err(VoiceError::NoBotVoice)?;
        let frames = audio::encode_speech(pcm).map_err(VoiceError::Audio)?;
        voice_udp::send_speech(&self.shared, &self.servers.voice_udp, user, frames).await
    }

    /// `user` sends the bot a burst of authenticated RTP packets with hostile header
    /// fields (extension and padding lengths past the packet, 15 CSRCs, sequence and
    /// timestamp jumps, empty and junk payloads); returns how many were sent.
    pub async fn send_hostile_voice_packets(&self, user: UserId) -> Result<usize, VoiceError> {
        voice_udp::send_hostile(&self.shared, &self.servers.voice_udp, user).await
    }

    /// The SSRC `user` speaks with (2000 + their index in `FakeConfig::users`).
    pub fn user_ssrc(&self, user: UserId) -> Option<u32> {
        self.read(|st| st.user_ssrc(user))
    }

    /// Everything the bot has said since start / [`Self::clear_heard`], decoded to 48 kHz
    /// stereo interleaved i16, each frame placed by its RTP timestamp (gaps are silence).
    pub fn heard_pcm(&self) -> Vec<i16> {
        self.read(|st| st.voice_net.heard.clone())
    }

    pub fn clear_heard(&self) {
        self.shared.with(|st| st.voice_net.clear_heard());
    }

    /// Waits until the bot has said at least `min_seconds` (since start / last clear) and then
    /// nothing for `quiet`; returns [`Self::heard_pcm`].
    pub async fn wait_for_bot_audio(
        &self,
        min_seconds: f64,
        quiet: Duration,
        timeout: Duration,
    ) -> Result<Vec<i16>, WaitError> {
        let min_samples = (min_seconds * f64::from(audio::SAMPLE_RATE) * 2.0).ceil() as usize;
        let deadline = Instant::now() + timeout;
        loop {
            let done = self.read(|st| {
                let net = &st.voice_net;
                let quiet_now = net.last_heard.is_some_and(|t| t.elapsed() >= quiet);
                (net.heard.len() >= min_samples && quiet_now).then(|| net.heard.clone())
            });
            if let Some(pcm) = done {
                return Ok(pcm);
            }
            if Instant::now() >= deadline {
                return Err(WaitError::new(
                    format!("{min_seconds} s of audio from the bot followed by {quiet:?} of quiet"),
                    self.describe(),
                ));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Counters of the voice UDP traffic (a test asserts `decrypt_failures == 0`).
    pub fn voice_stats(&self) -> VoiceStats {
        self.read(|st| st.voice_net.stats)
    }

    /// The transport encryption mode the bot selected, e.g. `"aead_aes256_gcm_rtpsize"`.
    pub fn voice_mode(&self) -> Option<&'static str> {
        self.read(|st| {
            st.voice_net
                .session
                .as_ref()
                .and_then(|s| s.mode)
                .map(|m| m.name())
        })
    }

    /// Every frame the fake sent on the voice gateway (all connections, in order).
    pub fn voice_gateway_frames(&self) -> Vec<String> {
        self.read(|st| st.voice_net.frames.clone())
    }

    /// Every frame the bot sent on the voice gateway (token redacted; a binary frame is
    /// recorded as op 0xFFFF).
    pub fn voice_gateway_commands(&self) -> Vec<GatewayCommand> {
        self.read(|st| st.voice_net.commands.clone())
    }

    /// Ends the bot's voice gateway connection without a close frame (network loss); songbird
    /// then reconnects with op 7 Resume. Returns false when none was live.
    pub fn drop_voice_connection(&self) -> bool {
        self.shared.with(|st| {
            let net = &st.voice_net;
            let conn = net.session.as_ref().and_then(|s| s.conn);
            conn.and_then(|c| net.connections.get(&c))
                .is_some_and(|tx| tx.send(Outgoing::Drop).is_ok())
        })
    }

    // ----- gateway -----------------------------------------------------------------------------

    /// Ends the live gateway connection without a close frame (network loss). The bot should
    /// RESUME. Returns false when no connection was live.
    pub fn drop_connection(&self) -> bool {
        self.shared.with(State::gateway_drop)
    }

    /// Sends op 7 RECONNECT.
    pub fn send_reconnect(&self) -> bool {
        self.shared.with(State::gateway_reconnect)
    }

    /// Sends op 9 INVALID SESSION (`resumable = false` also forgets the session).
    pub fn invalidate_session(&self, resumable: bool) -> bool {
        self.shared.with(|st| st.gateway_invalidate(resumable))
    }

    /// Closes the gateway connection with `code` (4004, 4013, 4014 are fatal for serenity).
    pub fn close_gateway(&self, code: u16) -> bool {
        self.shared.with(|st| st.gateway_close(code))
    }

    /// Sends op 1 (the server asking for an immediate heartbeat).
    pub fn request_heartbeat(&self) -> bool {
        self.shared.with(State::gateway_request_heartbeat)
    }

    /// How many IDENTIFYs the fake accepted.
    pub fn identify_count(&self) -> u32 {
        self.read(|st| st.gateway.identifies)
    }

    /// How many RESUMEs the fake accepted.
    pub fn resume_count(&self) -> u32 {
        self.read(|st| st.gateway.resumes)
    }

    /// Waits until at least `n` RESUMEs were accepted and the session is live again.
    pub async fn wait_for_resumes(&self, n: u32, timeout: Duration) -> Result<(), WaitError> {
        self.wait(
            timeout,
            || format!("{n} successful RESUME(s)"),
            |st| (st.gateway.resumes >= n && st.session_live()).then_some(()),
        )
        .await
    }

    /// Waits until at least `n` IDENTIFYs were accepted and the session is live.
    pub async fn wait_for_identifies(&self, n: u32, timeout: Duration) -> Result<(), WaitError> {
        self.wait(
            timeout,
            || format!("{n} IDENTIFY(s)"),
            |st| (st.gateway.identifies >= n && st.session_live()).then_some(()),
        )
        .await
    }

    /// The intents the bot identified with.
    pub fn intents(&self) -> Option<u64> {
        self.read(|st| st.gateway.session.as_ref().map(|s| s.intents))
    }

    /// Every frame the fake sent on the gateway (all connections, in order), as JSON text.
    pub fn gateway_frames(&self) -> Vec<String> {
        self.read(|st| st.gateway.frames.clone())
    }

    /// Every frame the bot sent on the gateway (tokens redacted).
    pub fn gateway_commands(&self) -> Vec<GatewayCommand> {
        self.read(|st| st.gateway.commands.clone())
    }

    // ----- requests and budgets ----------------------------------------------------------------

    /// Every REST request so far, with the fake's answer.
    pub fn request_log(&self) -> Vec<LoggedRequest> {
        self.read(|st| st.requests.clone())
    }

    /// Requests to routes the fake does not know (answered 404). A test should fail on any.
    pub fn unexpected_requests(&self) -> Vec<LoggedRequest> {
        self.read(|st| {
            st.requests
                .iter()
                .filter(|r| r.unexpected)
                .cloned()
                .collect()
        })
    }

    /// Requests the fake refused (status ≥ 400): the bot broke a Discord rule.
    pub fn refused_requests(&self) -> Vec<LoggedRequest> {
        self.read(|st| {
            st.requests
                .iter()
                .filter(|r| r.status >= 400)
                .cloned()
                .collect()
        })
    }

    /// Waits for a request matching a rate pattern (see [`Self::max_rate`]).
    pub async fn wait_for_request(
        &self,
        pattern: &str,
        timeout: Duration,
    ) -> Result<LoggedRequest, WaitError> {
        let p = rate::Pattern::parse(pattern);
        self.wait(
            timeout,
            || format!("a request matching {pattern:?}"),
            |st| {
                st.requests
                    .iter()
                    .find(|r| p.matches(&r.method, &r.path).is_some())
                    .cloned()
            },
        )
        .await
    }

    /// The most requests matching `pattern` within any `window`, per group of `{…}` segments.
    /// Pattern: `[METHODS ]PATH`, e.g. `"POST|PATCH /channels/{c}/messages/**"` (creates and
    /// edits per channel) or `"**"` (everything). `{x}` groups, `*` matches one segment,
    /// a trailing `**` any rest.
    pub fn max_rate(&self, pattern: &str, window: Duration) -> usize {
        self.busiest_window(pattern, window).count
    }

    /// Like [`Self::max_rate`] but also says which group and which requests.
    pub fn busiest_window(&self, pattern: &str, window: Duration) -> RateWindow {
        self.read(|st| rate::busiest(&st.requests, pattern, window))
    }

    /// Panics if more than `limit` requests matching `pattern` fell in any `window`.
    pub fn assert_rate_at_most(&self, pattern: &str, limit: usize, window: Duration) {
        let w = self.busiest_window(pattern, window);
        assert!(
            w.count <= limit,
            "{} requests matching {pattern:?} within {window:?} (budget {limit}), group {:?}:\n  {}",
            w.count,
            w.group,
            w.requests.join("\n  ")
        );
    }

    /// Panics if the bot made a request to an unknown route or one the fake refused.
    pub fn assert_clean(&self) {
        let bad: Vec<String> = self
            .request_log()
            .iter()
            .filter(|r| r.unexpected || r.status >= 400)
            .map(|r| {
                let why = r
                    .response
                    .as_ref()
                    .map(Value::to_string)
                    .unwrap_or_default();
                format!(
                    "  {}{} {why}",
                    r.line(),
                    if r.unexpected { " (unknown route)" } else { "" }
                )
            })
            .collect();
        assert!(
            bad.is_empty(),
            "the bot made bad Discord requests:\n{}",
            bad.join("\n")
        );
    }

    /// Everything the fake knows, for a failure message.
    pub fn describe(&self) -> String {
        self.read(describe)
    }
}

fn describe(st: &State) -> String {
    let mut out = String::new();
    let session = match &st.gateway.session {
        Some(s) => format!(
            "session {} seq {} {}",
            s.id,
            s.seq,
            if s.conn.is_some() {
                "connected"
            } else {
                "disconnected"
            }
        ),
        None => "no gateway session".to_owned(),
    };
    out.push_str(&format!(
        "gateway: {session}; {} identify, {} resume\n",
        st.gateway.identifies, st.gateway.resumes
    ));
    let cmds: Vec<String> = st
        .commands
        .values()
        .flatten()
        .filter_map(|c| c["name"].as_str().map(|n| format!("/{n}")))
        .collect();
    out.push_str(&format!("commands: {cmds:?}\n"));
    if !st.interactions.is_empty() {
        out.push_str("interactions:\n");
        out.push_str(&st.describe_interactions());
    }
    for c in st.channels.values() {
        if st.messages.values().any(|m| m.channel_id == c.id) {
            out.push_str(&format!("channel {} ({}):\n", c.name, c.id));
            out.push_str(&st.describe_channel(c.id));
        }
    }
    out.push_str(&st.voice_net.describe());
    out.push_str("last requests:\n");
    out.push_str(&st.describe_requests(15));
    out
}

/// One interaction the fake dispatched; await the bot's answers through it.
#[derive(Clone)]
pub struct InteractionHandle {
    fake: FakeDiscord,
    id: InteractionId,
}

impl InteractionHandle {
    pub fn id(&self) -> InteractionId {
        self.id
    }

    pub fn token(&self) -> String {
        self.fake.read(|st| st.interactions[&self.id].token.clone())
    }

    fn label(&self) -> String {
        self.fake.read(|st| st.interactions[&self.id].label.clone())
    }

    /// Delivers this interaction to the bot again (same id and token), as a duplicate
    /// gateway delivery would.
    pub fn redeliver(&self) {
        if let Err(e) = self
            .fake
            .shared
            .with(|st| st.redeliver_interaction(self.id))
        {
            panic!("cannot redeliver: {e}");
        }
    }

    /// The first callback, if the bot has sent one.
    pub fn callback_now(&self) -> Option<Callback> {
        self.fake
            .read(|st| st.interactions[&self.id].callback.clone())
    }

    /// Waits for the first callback (any type).
    pub async fn callback(&self, timeout: Duration) -> Result<Callback, WaitError> {
        let label = self.label();
        self.fake
            .wait(
                timeout,
                || format!("the bot's callback to {label}"),
                |st| st.interactions[&self.id].callback.clone(),
            )
            .await
    }

    /// The original response message now (type 4/5 response, or the component's message for
    /// 6/7).
    pub fn original(&self) -> Option<Message> {
        self.fake.read(|st| {
            st.interactions[&self.id]
                .original
                .and_then(|m| st.messages.get(&m).cloned())
        })
    }

    /// Waits for the response the user ends up seeing: a type-4 message; a deferred (type 5)
    /// response once edited or replaced by the first follow-up (or, when the bot deleted the
    /// deferred response, its first follow-up); for 6/7 the component's message once updated.
    pub async fn reply(&self, timeout: Duration) -> Result<Message, WaitError> {
        self.reply_matching(|_| true, timeout).await
    }

    /// Waits until the original response satisfies `pred` (e.g. streamed narration finished).
    pub async fn reply_matching(
        &self,
        pred: impl Fn(&Message) -> bool,
        timeout: Duration,
    ) -> Result<Message, WaitError> {
        let label = self.label();
        self.fake
            .wait(
                timeout,
                || format!("the bot's reply to {label}"),
                |st| {
                    let r = &st.interactions[&self.id];
                    let cb = r.callback.as_ref()?;
                    let m = st.messages.get(&r.original?)?;
                    if m.deleted {
                        // The deferred response was deleted: the answer is a follow-up.
                        let f = r.followups.first().and_then(|f| st.messages.get(f))?;
                        return pred(f).then(|| f.clone());
                    }
                    let settled = match cb.kind {
                        4 => true,
                        5 => !m.is_loading(),
                        6 => m.edits > r.edits_at_callback,
                        _ => true,
                    };
                    (settled && pred(m)).then(|| m.clone())
                },
            )
            .await
    }

    /// Follow-up messages so far (not counting the one that replaced a deferred response).
    pub fn followups(&self) -> Vec<Message> {
        self.fake.read(|st| {
            st.interactions[&self.id]
                .followups
                .iter()
                .map(|m| st.messages[m].clone())
                .collect()
        })
    }

    /// Waits for the `index`-th (0-based) follow-up.
    pub async fn followup(&self, index: usize, timeout: Duration) -> Result<Message, WaitError> {
        let label = self.label();
        self.fake
            .wait(
                timeout,
                || format!("follow-up #{index} to {label}"),
                |st| {
                    let m = st.interactions[&self.id].followups.get(index)?;
                    st.messages.get(m).cloned()
                },
            )
            .await
    }

    /// Waits for autocomplete choices (callback type 8).
    pub async fn choices(&self, timeout: Duration) -> Result<Vec<Choice>, WaitError> {
        let label = self.label();
        self.fake
            .wait(
                timeout,
                || format!("autocomplete choices for {label}"),
                |st| st.interactions[&self.id].choices.clone(),
            )
            .await
    }

    /// Waits for the modal the bot opened in answer (callback type 9).
    pub async fn modal(&self, timeout: Duration) -> Result<Modal, WaitError> {
        let label = self.label();
        self.fake
            .wait(
                timeout,
                || format!("a modal in answer to {label}"),
                |st| st.interactions[&self.id].modal.clone(),
            )
            .await
    }

    /// Submits the modal this interaction opened (waits up to 5 s for it).
    pub async fn submit_modal(&self, fields: &[(&str, &str)]) -> InteractionHandle {
        let modal = self
            .modal(Duration::from_secs(5))
            .await
            .expect("the bot opened no modal");
        self.fake
            .submit_modal(modal.user, &modal.custom_id, fields)
            .await
    }
}
