//! The fake's single source of truth: everything Discord would know (users, channels,
//! messages, commands, interactions, the gateway session) behind one `std::sync::Mutex`,
//! never held across an `.await`. REST handlers, the gateway and the test API all mutate it
//! through [`Shared::with`], which also wakes every waiter. Every gateway dispatch goes through
//! [`State::dispatch`] so sequence numbers and the resume buffer stay consistent.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};
use std::time::SystemTime;

use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::config::{ChannelKind, FakeConfig};
use crate::error::DiscordError;
use crate::limits;
use crate::model::{
    Attachment, Callback, Choice, EPHEMERAL, GatewayCommand, LOADING, LoggedRequest, Message,
    Modal, User,
};
use crate::snowflake::{
    AttachmentId, ChannelId, CommandId, GuildId, InteractionId, MessageId, RoleId, Snowflakes,
    UserId, iso8601,
};
use crate::voice::VoiceNet;

/// Everything shared between the servers and the test handles.
pub(crate) struct Shared {
    state: Mutex<State>,
    changes: watch::Sender<u64>,
}

impl Shared {
    pub fn new(state: State) -> Self {
        Self {
            state: Mutex::new(state),
            changes: watch::channel(0).0,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock is a bug in the fake; keep serving so the test can
        // report its own failure instead of cascading poison errors.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Mutates the state and wakes every waiter.
    pub fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let r = f(&mut self.lock());
        self.changes.send_modify(|n| *n += 1);
        r
    }

    /// Reads the state.
    pub fn read<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        f(&self.lock())
    }

    /// Waits until `f` returns `Some`, re-checking after every state change, up to `deadline`.
    pub async fn wait_for<R>(
        &self,
        deadline: Instant,
        mut f: impl FnMut(&State) -> Option<R>,
    ) -> Option<R> {
        let mut rx = self.changes.subscribe();
        loop {
            rx.borrow_and_update();
            if let Some(r) = self.read(&mut f) {
                return Some(r);
            }
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) | Err(_) => return self.read(&mut f),
            }
        }
    }
}

/// A frame queued for one websocket connection.
#[derive(Debug)]
pub(crate) enum Outgoing {
    Text(String),
    /// Send a close frame with this code, then end the connection.
    Close(u16, String),
    /// End the TCP connection without a close frame.
    Drop,
}

pub(crate) struct UserEntry {
    pub user: User,
    pub dms_open: bool,
    pub roles: Vec<RoleId>,
    pub joined_at: String,
}

pub(crate) struct RoleEntry {
    pub id: RoleId,
    pub name: String,
    pub permissions: u64,
    pub position: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ChannelPlace {
    Guild(ChannelKind),
    Dm(UserId),
}

pub(crate) struct ChannelEntry {
    pub id: ChannelId,
    pub name: String,
    pub place: ChannelPlace,
    pub bot_can_send: bool,
    pub position: usize,
    /// Pinned messages, oldest pin first.
    pub pins: Vec<MessageId>,
}

pub(crate) struct Session {
    pub id: String,
    pub seq: u64,
    /// Every dispatch of this session, for RESUME replays.
    pub buffer: Vec<(u64, String)>,
    pub conn: Option<u64>,
    pub intents: u64,
    pub resumable: bool,
}

#[derive(Default)]
pub(crate) struct Gateway {
    pub session: Option<Session>,
    pub connections: HashMap<u64, mpsc::UnboundedSender<Outgoing>>,
    pub next_conn: u64,
    pub next_session: u64,
    pub identifies: u32,
    pub resumes: u32,
    /// Every frame the fake queued for the bot, in order.
    pub frames: Vec<String>,
    /// Every frame the bot sent (token redacted).
    pub commands: Vec<GatewayCommand>,
}

pub(crate) struct InteractionRecord {
    pub id: InteractionId,
    pub token: String,
    /// 2 command, 3 component, 4 autocomplete, 5 modal submit.
    pub kind: u8,
    pub user: UserId,
    pub channel: ChannelId,
    pub guild: Option<GuildId>,
    pub created: Instant,
    /// For diagnostics: `/roll dice:1d20`, `click end_turn`...
    pub label: String,
    /// The message a component (or a modal opened from one) sits on.
    pub source_message: Option<MessageId>,
    pub callback: Option<Callback>,
    pub original: Option<MessageId>,
    pub followups: Vec<MessageId>,
    pub modal: Option<Modal>,
    pub modal_submitted: bool,
    pub choices: Option<Vec<Choice>>,
    /// Edits of the original message when the callback arrived (a type-6 response is
    /// "answered" once the message is edited after that).
    pub edits_at_callback: u32,
    /// The INTERACTION_CREATE `d` as dispatched (for redelivery).
    pub payload: Value,
}

/// A voice state (who is in which voice channel).
#[derive(Clone, Debug)]
pub(crate) struct VoiceState {
    pub channel: Option<ChannelId>,
    pub session_id: String,
    pub self_mute: bool,
    pub self_deaf: bool,
}

pub(crate) struct State {
    pub config: FakeConfig,
    pub rest_url: String,
    pub gateway_url: String,
    pub snowflakes: Snowflakes,
    pub users: BTreeMap<UserId, UserEntry>,
    pub roles: Vec<RoleEntry>,
    pub channels: BTreeMap<ChannelId, ChannelEntry>,
    pub dm_channels: HashMap<UserId, ChannelId>,
    pub messages: BTreeMap<MessageId, Message>,
    /// Registered commands as Discord returns them; `None` scope = global.
    pub commands: BTreeMap<Option<GuildId>, Vec<Value>>,
    pub command_ids: HashMap<(Option<GuildId>, u64, String), CommandId>,
    pub interactions: BTreeMap<InteractionId, InteractionRecord>,
    pub tokens: HashMap<String, InteractionId>,
    pub voice: BTreeMap<UserId, VoiceState>,
    /// The voice gateway/UDP server's state.
    pub voice_net: VoiceNet,
    pub gateway: Gateway,
    pub requests: Vec<LoggedRequest>,
}

impl State {
    pub fn new(
        config: FakeConfig,
        rest_url: String,
        gateway_url: String,
        voice_net: VoiceNet,
    ) -> Self {
        let joined_at = "2024-01-01T00:00:00.000000+00:00".to_owned();
        let mut users = BTreeMap::new();
        let mut voice = BTreeMap::new();
        for spec in std::iter::once(&config.bot).chain(&config.users) {
            users.insert(
                spec.id,
                UserEntry {
                    user: User {
                        id: spec.id,
                        name: spec.name.clone(),
                        bot: spec.bot,
                    },
                    dms_open: spec.dms_open,
                    roles: spec.roles.clone(),
                    joined_at: joined_at.clone(),
                },
            );
            if let Some(channel) = spec.voice_channel {
                voice.insert(
                    spec.id,
                    VoiceState {
                        channel: Some(channel),
                        session_id: format!("voice-session-{}", spec.id),
                        self_mute: false,
                        self_deaf: false,
                    },
                );
            }
        }
        let mut roles = vec![RoleEntry {
            id: RoleId(config.guild.id.0),
            name: "@everyone".to_owned(),
            permissions: 8,
            position: 0,
        }];
        for (i, r) in config.roles.iter().enumerate() {
            roles.push(RoleEntry {
                id: r.id,
                name: r.name.clone(),
                permissions: r.permissions,
                position: i as u64 + 1,
            });
        }
        let channels = config
            .channels
            .iter()
            .enumerate()
            .map(|(i, c)| {
                (
                    c.id,
                    ChannelEntry {
                        id: c.id,
                        name: c.name.clone(),
                        place: ChannelPlace::Guild(c.kind),
                        bot_can_send: c.bot_can_send,
                        position: i,
                        pins: Vec::new(),
                    },
                )
            })
            .collect();
        Self {
            config,
            rest_url,
            gateway_url,
            snowflakes: Snowflakes::default(),
            users,
            roles,
            channels,
            dm_channels: HashMap::new(),
            messages: BTreeMap::new(),
            commands: BTreeMap::new(),
            command_ids: HashMap::new(),
            interactions: BTreeMap::new(),
            tokens: HashMap::new(),
            voice,
            voice_net,
            gateway: Gateway::default(),
            requests: Vec::new(),
        }
    }

    pub fn bot_id(&self) -> UserId {
        self.config.bot.id
    }

    pub fn guild_id(&self) -> GuildId {
        self.config.guild.id
    }

    pub fn user(&self, id: UserId) -> Option<&User> {
        self.users.get(&id).map(|u| &u.user)
    }

    pub fn next_id(&mut self) -> u64 {
        self.snowflakes.next()
    }

    /// The guild a channel belongs to (`None` for DMs).
    pub fn channel_guild(&self, channel: ChannelId) -> Option<GuildId> {
        match self.channels.get(&channel)?.place {
            ChannelPlace::Guild(_) => Some(self.guild_id()),
            ChannelPlace::Dm(_) => None,
        }
    }

    /// The DM channel with `user`, created on first use.
    pub fn dm_channel(&mut self, user: UserId) -> ChannelId {
        if let Some(c) = self.dm_channels.get(&user) {
            return *c;
        }
        let id = ChannelId(self.next_id());
        self.channels.insert(
            id,
            ChannelEntry {
                id,
                name: String::new(),
                place: ChannelPlace::Dm(user),
                bot_can_send: true,
                position: 0,
                pins: Vec::new(),
            },
        );
        self.dm_channels.insert(user, id);
        id
    }

    // ----- gateway ---------------------------------------------------------------------------

    /// Queues a frame on one connection and records it.
    pub fn send_frame(&mut self, conn: u64, frame: String) {
        if let Some(tx) = self.gateway.connections.get(&conn)
            && tx.send(Outgoing::Text(frame.clone())).is_ok()
        {
            self.gateway.frames.push(frame);
        }
    }

    /// Dispatches an op-0 event to the bot's session (buffered for RESUME). Events whose intent
    /// the bot did not ask for are not sent, as on Discord. Returns the sequence number.
    pub fn dispatch(&mut self, t: &str, d: Value, intent: Option<u64>) -> Option<u64> {
        let session = self.gateway.session.as_mut()?;
        if intent.is_some_and(|bit| session.intents & bit == 0) {
            return None;
        }
        session.seq += 1;
        let seq = session.seq;
        let frame = json!({"op": 0, "s": seq, "t": t, "d": d}).to_string();
        session.buffer.push((seq, frame.clone()));
        if let Some(conn) = session.conn {
            self.send_frame(conn, frame);
        }
        Some(seq)
    }

    /// A live, identified (or resumed) session exists: dispatches reach the bot now.
    pub fn session_live(&self) -> bool {
        self.gateway
            .session
            .as_ref()
            .is_some_and(|s| s.conn.is_some())
    }

    // ----- messages --------------------------------------------------------------------------

    /// Creates a message from a create-message style body. No validation here.
    pub fn insert_message(&mut self, new: NewMessage<'_>) -> MessageId {
        let id = MessageId(self.next_id());
        let body = new.body;
        let now = SystemTime::now();
        let content = body
            .get("content")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let mentions = self.mentions_in(&content);
        let attachments = self.new_attachments(body, new.files);
        let message = Message {
            id,
            channel_id: new.channel,
            guild_id: self.channel_guild(new.channel),
            author: new.author,
            content,
            embeds: embeds_of(body),
            components: array_of(body, "components"),
            attachments,
            flags: new.flags,
            tts: body.get("tts").and_then(Value::as_bool).unwrap_or(false),
            pinned: false,
            kind: new.kind,
            mentions,
            reactions: Vec::new(),
            message_reference: body
                .get("message_reference")
                .filter(|v| !v.is_null())
                .cloned(),
            allowed_mentions: body
                .get("allowed_mentions")
                .filter(|v| !v.is_null())
                .cloned(),
            interaction: new.interaction,
            webhook_id: new.interaction.map(|_| self.config.bot.id.0),
            timestamp: iso8601(now),
            edited_timestamp: None,
            created_at: Instant::now(),
            changed_at: Instant::now(),
            edits: 0,
            deleted: false,
        };
        self.messages.insert(id, message);
        self.announce_message(id, "MESSAGE_CREATE");
        id
    }

    /// Applies an edit body (content/embeds/components/attachments/flags) to a message.
    pub fn apply_edit(
        &mut self,
        id: MessageId,
        body: &Value,
        files: Vec<UploadedFile>,
    ) -> Result<(), DiscordError> {
        let new_attachments = self.new_attachments(body, files);
        let mentions = body
            .get("content")
            .and_then(Value::as_str)
            .map(|c| self.mentions_in(c));
        let m = self
            .messages
            .get_mut(&id)
            .ok_or_else(DiscordError::unknown_message)?;
        let mut edited = m.clone();
        if let Some(c) = body.get("content") {
            edited.content = c.as_str().unwrap_or("").to_owned();
            edited.mentions = mentions.unwrap_or_default();
            edited.allowed_mentions = body
                .get("allowed_mentions")
                .filter(|v| !v.is_null())
                .cloned();
        }
        if body.get("embeds").is_some() {
            edited.embeds = embeds_of(body);
        }
        if body.get("components").is_some() {
            edited.components = array_of(body, "components");
        }
        if let Some(keep) = body.get("attachments").and_then(Value::as_array) {
            let keep: Vec<String> = keep
                .iter()
                .filter_map(|a| a.get("id"))
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                .collect();
            edited
                .attachments
                .retain(|a| keep.contains(&a.id.0.to_string()));
        }
        edited.attachments.extend(new_attachments);
        if let Some(flags) = body.get("flags").and_then(Value::as_u64) {
            // Only SUPPRESS_EMBEDS may change on an existing message.
            edited.flags = (edited.flags & !4) | (flags & 4);
        }
        edited.flags &= !LOADING;
        if !limits::has_payload(&message_body(&edited), edited.attachments.len()) {
            return Err(DiscordError::empty_message());
        }
        edited.edits += 1;
        edited.changed_at = Instant::now();
        edited.edited_timestamp = Some(iso8601(SystemTime::now()));
        *m = edited;
        self.announce_message(id, "MESSAGE_UPDATE");
        Ok(())
    }

    pub fn delete_message(&mut self, id: MessageId) {
        let Some(m) = self.messages.get_mut(&id) else {
            return;
        };
        m.deleted = true;
        let (channel, guild, ephemeral) = (m.channel_id, m.guild_id, m.is_ephemeral());
        if let Some(c) = self.channels.get_mut(&channel) {
            c.pins.retain(|p| *p != id);
        }
        if !ephemeral {
            let mut d = json!({"id": id.to_json(), "channel_id": channel.to_json()});
            if let Some(g) = guild {
                d["guild_id"] = g.to_json();
            }
            self.dispatch("MESSAGE_DELETE", d, Some(message_intent(guild)));
        }
    }

    /// MESSAGE_CREATE/UPDATE to the bot, when it subscribed (GUILD_MESSAGES / DIRECT_MESSAGES).
    /// Without MESSAGE_CONTENT, other users' message content arrives empty unless the bot is
    /// mentioned, as on Discord.
    fn announce_message(&mut self, id: MessageId, t: &str) {
        let Some(m) = self.messages.get(&id) else {
            return;
        };
        if m.is_ephemeral() {
            return;
        }
        let intent = message_intent(m.guild_id);
        let mut d = self.message_json(m);
        let has_content_intent = self
            .gateway
            .session
            .as_ref()
            .is_some_and(|s| s.intents & (1 << 15) != 0);
        let bot = self.bot_id();
        if m.author != bot
            && m.guild_id.is_some()
            && !has_content_intent
            && !m.mentions.contains(&bot)
        {
            d["content"] = json!("");
            d["embeds"] = json!([]);
            d["attachments"] = json!([]);
            d["components"] = json!([]);
        }
        if let Some(g) = m.guild_id {
            let member = self.member_json(m.author, false);
            d["member"] = member;
            d["guild_id"] = g.to_json();
        }
        self.dispatch(t, d, Some(intent));
    }

    fn mentions_in(&self, content: &str) -> Vec<UserId> {
        let mut out = Vec::new();
        let mut rest = content;
        while let Some(start) = rest.find("<@") {
            rest = &rest[start + 2..];
            let digits = rest.strip_prefix('!').unwrap_or(rest);
            if let Some(end) = digits.find('>')
                && let Ok(id) = digits[..end].parse::<u64>()
            {
                let id = UserId(id);
                if self.users.contains_key(&id) && !out.contains(&id) {
                    out.push(id);
                }
            }
        }
        out
    }

    fn new_attachments(&mut self, body: &Value, files: Vec<UploadedFile>) -> Vec<Attachment> {
        let described = array_of(body, "attachments");
        files
            .into_iter()
            .map(|f| {
                let meta = described.iter().find(|a| {
                    a.get("id").is_some_and(|id| {
                        id.as_u64() == Some(f.index)
                            || id.as_str() == Some(f.index.to_string().as_str())
                    })
                });
                Attachment {
                    id: AttachmentId(self.next_id()),
                    filename: meta
                        .and_then(|m| m.get("filename"))
                        .and_then(Value::as_str)
                        .map_or_else(|| f.filename.clone(), str::to_owned),
                    content_type: f.content_type,
                    description: meta
                        .and_then(|m| m.get("description"))
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                    data: f.data,
                }
            })
            .collect()
    }

    /// Messages a user would see in a channel, oldest first.
    pub fn visible_messages(&self, channel: ChannelId) -> Vec<Message> {
        self.messages
            .values()
            .filter(|m| m.channel_id == channel && !m.deleted && !m.is_ephemeral())
            .cloned()
            .collect()
    }

    // ----- interactions ----------------------------------------------------------------------

    pub fn new_interaction(
        &mut self,
        kind: u8,
        user: UserId,
        channel: ChannelId,
        label: String,
    ) -> (InteractionId, String) {
        let id = InteractionId(self.next_id());
        let token = format!("fake-interaction-token-{id}");
        self.tokens.insert(token.clone(), id);
        self.interactions.insert(
            id,
            InteractionRecord {
                id,
                token: token.clone(),
                kind,
                user,
                channel,
                guild: self.channel_guild(channel),
                created: Instant::now(),
                label,
                source_message: None,
                callback: None,
                original: None,
                followups: Vec::new(),
                modal: None,
                modal_submitted: false,
                choices: None,
                edits_at_callback: 0,
                payload: Value::Null,
            },
        );
        (id, token)
    }

    /// Dispatches an interaction's INTERACTION_CREATE and remembers it for redelivery.
    pub fn dispatch_interaction(&mut self, id: InteractionId, payload: Value) {
        if let Some(r) = self.interactions.get_mut(&id) {
            r.payload = payload.clone();
        }
        self.dispatch("INTERACTION_CREATE", payload, None);
    }

    /// Dispatches an interaction's INTERACTION_CREATE again, same id and token (a duplicate
    /// delivery). `Err` if the interaction was never dispatched.
    pub fn redeliver_interaction(&mut self, id: InteractionId) -> Result<(), String> {
        let payload = self
            .interactions
            .get(&id)
            .map(|r| r.payload.clone())
            .filter(|p| !p.is_null())
            .ok_or_else(|| format!("interaction {id} was never dispatched"))?;
        self.dispatch("INTERACTION_CREATE", payload, None);
        Ok(())
    }

    /// A short description of the interactions so far, for failure messages.
    pub fn describe_interactions(&self) -> String {
        let mut out = String::new();
        for r in self.interactions.values() {
            let cb = r.callback.as_ref().map_or("no callback".to_owned(), |c| {
                format!("callback type {} after {:?}", c.kind, c.latency)
            });
            out.push_str(&format!(
                "  {} ({}): {cb}, {} follow-ups\n",
                r.label,
                r.id,
                r.followups.len()
            ));
        }
        out
    }

    pub fn describe_channel(&self, channel: ChannelId) -> String {
        let mut out = String::new();
        for m in self.messages.values().filter(|m| m.channel_id == channel) {
            let mut flags = String::new();
            if m.deleted {
                flags.push_str(" [deleted]");
            }
            if m.is_ephemeral() {
                flags.push_str(" [ephemeral]");
            }
            if m.is_loading() {
                flags.push_str(" [loading]");
            }
            out.push_str(&format!("  {}{flags}: {:?}\n", m.id, m.text()));
        }
        if out.is_empty() {
            out.push_str("  (no messages)\n");
        }
        out
    }

    pub fn describe_requests(&self, last: usize) -> String {
        let skip = self.requests.len().saturating_sub(last);
        self.requests[skip..]
            .iter()
            .map(|r| format!("  {}\n", r.line()))
            .collect()
    }
}

/// Input for [`State::insert_message`].
pub(crate) struct NewMessage<'a> {
    pub channel: ChannelId,
    pub author: UserId,
    pub body: &'a Value,
    pub files: Vec<UploadedFile>,
    pub flags: u64,
    pub kind: u8,
    pub interaction: Option<InteractionId>,
}

/// A file part of a multipart request.
#[derive(Clone, Debug)]
pub(crate) struct UploadedFile {
    /// `n` of `files[n]`.
    pub index: u64,
    pub filename: String,
    pub content_type: Option<String>,
    pub data: Vec<u8>,
}

fn array_of(body: &Value, key: &str) -> Vec<Value> {
    body.get(key)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn embeds_of(body: &Value) -> Vec<Value> {
    array_of(body, "embeds")
        .into_iter()
        .map(|mut e| {
            if let Some(obj) = e.as_object_mut() {
                obj.retain(|_, v| !v.is_null());
                obj.entry("type").or_insert_with(|| json!("rich"));
            }
            e
        })
        .collect()
}

/// The fields of a stored message that count as "something to show".
fn message_body(m: &Message) -> Value {
    json!({"content": m.content, "embeds": m.embeds, "components": m.components})
}

fn message_intent(guild: Option<GuildId>) -> u64 {
    if guild.is_some() { 1 << 9 } else { 1 << 12 }
}

/// Message flags a sender may set: SUPPRESS_EMBEDS, EPHEMERAL (interactions only),
/// SUPPRESS_NOTIFICATIONS.
pub(crate) fn allowed_flags(body: &Value, allow_ephemeral: bool) -> u64 {
    let flags = body.get("flags").and_then(Value::as_u64).unwrap_or(0);
    let mask = 4 | (1 << 12) | if allow_ephemeral { EPHEMERAL } else { 0 };
    flags & mask
}
