//! What a test declares about its Discord: the bot, one guild, its users and channels, and the
//! protocol timings the fake enforces. Plain data; nothing here talks to sockets.

use std::time::Duration;

use crate::snowflake::{ChannelId, GuildId, RoleId, UserId};

/// Well-known ids used by [`FakeConfig::default`]. They match the payloads in
/// `shared/design/discord-payloads/`.
pub mod ids {
    use super::{ChannelId, GuildId, UserId};

    /// The bot user; also the application id.
    pub const BOT: UserId = UserId(100_000_000_000_000_001);
    /// The guild.
    pub const GUILD: GuildId = GuildId(200_000_000_000_000_001);
    /// Text channel `#general`.
    pub const GENERAL: ChannelId = ChannelId(300_000_000_000_000_001);
    /// Voice channel `Voice`.
    pub const VOICE: ChannelId = ChannelId(300_000_000_000_000_002);
    /// Text channel `#table`.
    pub const TABLE: ChannelId = ChannelId(300_000_000_000_000_003);
    /// User `alice` (the guild owner and application owner).
    pub const ALICE: UserId = UserId(400_000_000_000_000_001);
    /// User `bob`.
    pub const BOB: UserId = UserId(400_000_000_000_000_002);
    /// User `carol`.
    pub const CAROL: UserId = UserId(400_000_000_000_000_003);
}

/// Every bit of Discord's permission set the fake knows of (what `@everyone` with
/// ADMINISTRATOR effectively grants).
pub const ALL_PERMISSIONS: u64 = 2_251_799_813_685_247;

/// What an ordinary member may do: view channels, send messages, read history, use
/// application commands, connect and speak in voice (no MANAGE_* bits, no ADMINISTRATOR).
pub const MEMBER_PERMISSIONS: u64 =
    (1 << 10) | (1 << 11) | (1 << 16) | (1 << 31) | (1 << 20) | (1 << 21);

/// Discord permission bits the fake's tests use.
pub mod perms {
    pub const ADMINISTRATOR: u64 = 1 << 3;
    pub const MANAGE_CHANNELS: u64 = 1 << 4;
    pub const MANAGE_GUILD: u64 = 1 << 5;
}

/// Privileged gateway intents: GUILD_MEMBERS, GUILD_PRESENCES, MESSAGE_CONTENT.
pub const PRIVILEGED_INTENTS: u64 = (1 << 1) | (1 << 8) | (1 << 15);

/// The whole fake Discord a test runs against.
#[derive(Clone, Debug)]
pub struct FakeConfig {
    /// The bot token, without the `Bot ` prefix. REST calls must carry `Authorization: Bot <token>`.
    pub token: String,
    /// The bot user. Its id is also the application id.
    pub bot: UserSpec,
    /// The single guild the bot is in.
    pub guild: GuildSpec,
    /// Human (or other bot) users; all are members of the guild.
    pub users: Vec<UserSpec>,
    /// Guild channels, in display order.
    pub channels: Vec<ChannelSpec>,
    /// Extra roles besides `@everyone` (whose id is the guild id and whose permissions are
    /// ADMINISTRATOR, so serenity's cached permission checks pass).
    pub roles: Vec<RoleSpec>,
    /// What every member may do through `@everyone`, as Discord computes it for the
    /// `member.permissions` of an interaction (the cached `@everyone` role stays
    /// ADMINISTRATOR for serenity's own checks). A member's interaction permissions are this
    /// plus their roles' permissions; ADMINISTRATOR and the guild owner get everything.
    /// Default: [`ALL_PERMISSIONS`] (every member may do anything); set
    /// [`MEMBER_PERMISSIONS`] to model ordinary members.
    pub member_permissions: u64,
    /// Privileged intents enabled "in the developer portal". IDENTIFY asking for others is
    /// closed with 4014, as Discord does. Default: none.
    pub privileged_intents: u64,
    /// HELLO's `heartbeat_interval`.
    pub heartbeat_interval: Duration,
    /// Time allowed between dispatching an interaction and its first callback (Discord: 3 s).
    pub ack_deadline: Duration,
    /// How long an interaction token works for webhook follow-ups and edits (Discord: 15 min).
    pub token_lifetime: Duration,
    /// How long `slash`/`click`/... wait for the bot's session and command registration before
    /// failing the test.
    pub setup_timeout: Duration,
    /// The fastest a person reacts: `click`/`select` wait until this long after the message last
    /// changed, `submit_modal` until this long after the modal opened. Without it a test would
    /// race the bot's collector, which serenity/poise register only after the HTTP call that
    /// showed the button or modal returns (a real user cannot click within milliseconds).
    pub reaction_time: Duration,
}

impl Default for FakeConfig {
    fn default() -> Self {
        Self {
            token: "fake-bot-token".to_owned(),
            bot: UserSpec::bot(ids::BOT, "testbot"),
            guild: GuildSpec {
                id: ids::GUILD,
                name: "Test Guild".to_owned(),
                owner: ids::ALICE,
            },
            users: vec![
                UserSpec::new(ids::ALICE, "alice"),
                UserSpec::new(ids::BOB, "bob"),
                UserSpec::new(ids::CAROL, "carol"),
            ],
            channels: vec![
                ChannelSpec::text(ids::GENERAL, "general"),
                ChannelSpec::voice(ids::VOICE, "Voice"),
                ChannelSpec::text(ids::TABLE, "table"),
            ],
            roles: Vec::new(),
            member_permissions: ALL_PERMISSIONS,
            privileged_intents: 0,
            heartbeat_interval: Duration::from_millis(41_250),
            ack_deadline: Duration::from_secs(3),
            token_lifetime: Duration::from_secs(15 * 60),
            setup_timeout: Duration::from_secs(10),
            reaction_time: Duration::from_millis(100),
        }
    }
}

/// A user account.
#[derive(Clone, Debug)]
pub struct UserSpec {
    pub id: UserId,
    pub name: String,
    pub bot: bool,
    /// `false`: the user blocks DMs from server members; sending to their DM channel answers
    /// 403 code 50007, as Discord does.
    pub dms_open: bool,
    /// Voice channel the user is in when the bot connects (sent in GUILD_CREATE `voice_states`).
    pub voice_channel: Option<ChannelId>,
    /// Extra roles (the user always has `@everyone`).
    pub roles: Vec<RoleId>,
}

impl UserSpec {
    pub fn new(id: UserId, name: &str) -> Self {
        Self {
            id,
            name: name.to_owned(),
            bot: false,
            dms_open: true,
            voice_channel: None,
            roles: Vec::new(),
        }
    }

    pub fn bot(id: UserId, name: &str) -> Self {
        Self {
            bot: true,
            ..Self::new(id, name)
        }
    }

    /// The user does not accept DMs.
    pub fn dms_closed(mut self) -> Self {
        self.dms_open = false;
        self
    }

    /// The user sits in `channel` when the bot connects.
    pub fn in_voice(mut self, channel: ChannelId) -> Self {
        self.voice_channel = Some(channel);
        self
    }

    pub fn with_role(mut self, role: RoleId) -> Self {
        self.roles.push(role);
        self
    }
}

/// The guild.
#[derive(Clone, Debug)]
pub struct GuildSpec {
    pub id: GuildId,
    pub name: String,
    pub owner: UserId,
}

/// Kinds of guild channel the fake models.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChannelKind {
    /// `GUILD_TEXT` (0).
    Text,
    /// `GUILD_VOICE` (2); accepts messages too (text-in-voice).
    Voice,
}

impl ChannelKind {
    pub(crate) fn code(self) -> u8 {
        match self {
            ChannelKind::Text => 0,
            ChannelKind::Voice => 2,
        }
    }
}

/// A guild channel.
#[derive(Clone, Debug)]
pub struct ChannelSpec {
    pub id: ChannelId,
    pub name: String,
    pub kind: ChannelKind,
    /// `false`: the bot lacks SEND_MESSAGES here at Discord's end (REST answers 403 code 50013),
    /// although serenity's cache believes it may (the bot is administrator in the cache), so the
    /// bot's handling of a refused send is tested.
    pub bot_can_send: bool,
}

impl ChannelSpec {
    pub fn text(id: ChannelId, name: &str) -> Self {
        Self {
            id,
            name: name.to_owned(),
            kind: ChannelKind::Text,
            bot_can_send: true,
        }
    }

    pub fn voice(id: ChannelId, name: &str) -> Self {
        Self {
            id,
            name: name.to_owned(),
            kind: ChannelKind::Voice,
            bot_can_send: true,
        }
    }

    /// Discord refuses the bot's messages in this channel (403, code 50013).
    pub fn read_only(mut self) -> Self {
        self.bot_can_send = false;
        self
    }
}

/// A guild role besides `@everyone`.
#[derive(Clone, Debug)]
pub struct RoleSpec {
    pub id: RoleId,
    pub name: String,
    pub permissions: u64,
}
