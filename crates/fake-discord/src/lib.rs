//! A local stand-in for Discord for dicebard's end-to-end tests.
//!
//! The real bot binary (serenity + poise) talks to this fake instead of discord.com: REST on
//! `http://127.0.0.1:P/api/v10` and the gateway on `ws://127.0.0.1:G`. The fake enforces the
//! parts of Discord's contract the bot can get wrong (3 s to acknowledge an interaction, one
//! acknowledgement, 15-minute tokens, message/embed/component/pin limits, command definition
//! rules, auth, gateway close codes) and records everything so tests can assert on it,
//! including request rates against budgets.
//!
//! ```no_run
//! # async fn demo() {
//! use std::time::Duration;
//! use fake_discord::{FakeConfig, FakeDiscord, ids::{ALICE, GENERAL}};
//!
//! let fake = FakeDiscord::start(FakeConfig::default()).await;
//! // start the bot with DISCORD_API_BASE = fake.api_base(), token = fake.token() ...
//! let roll = fake.slash(ALICE, GENERAL, "roll", &[("dice", "1d20+5")]).await;
//! let reply = roll.reply(Duration::from_secs(5)).await.unwrap();
//! assert!(reply.text().contains("1d20+5"));
//! fake.assert_rate_at_most("POST|PATCH /channels/{c}/messages/**", 5, Duration::from_secs(5));
//! fake.assert_clean();
//! # }
//! ```
//!
//! Code map: `config` (what a test declares), `fake` (the test API), `state` (the one
//! mutex-guarded world), `payloads` (JSON on the wire), `rest`, `gateway`, `interactions`
//! (lifecycle), `limits` (Discord's size rules), `rate` (budgets), `voice` (voice state and
//! the voice server's session; the whole voice flow is documented there), `voice_gateway`
//! (`wss://` voice gateway), `voice_udp` (IP discovery, RTP in and out), `rtp` (packet format
//! and transport encryption), `audio` (WAV, resampling, Opus), `tls` (the test CA).
//!
//! Voice: the bot (songbird) must trust the fake's CA: run it with `SSL_CERT_FILE` =
//! [`FakeDiscord::voice_ca_pem`]. Then `fake.user_joins_voice(user, ids::VOICE)`, let the bot
//! join, `fake.wait_for_bot_voice(..)`, `fake.speak(user, wav)`, and
//! `fake.wait_for_bot_audio(..)` for what the bot said.
//!
//! Invariants: no lock is held across `.await`; every gateway dispatch goes through
//! `State::dispatch` (sequence numbers and the resume buffer); every payload builder has a
//! contract test parsing it with serenity's own types (`tests/contract.rs`); the clock is
//! tokio's, so a test may pause time when the bot runs in-process.

mod audio;
mod config;
mod error;
mod fake;
mod gateway;
mod interactions;
mod limits;
mod model;
mod payloads;
mod rate;
mod rest;
mod rtp;
mod snowflake;
mod state;
mod tls;
mod voice;
mod voice_gateway;
mod voice_udp;

pub use config::{
    ALL_PERMISSIONS, ChannelKind, ChannelSpec, FakeConfig, GuildSpec, MEMBER_PERMISSIONS,
    PRIVILEGED_INTENTS, RoleSpec, UserSpec, ids, perms,
};
pub use error::WaitError;
pub use fake::{FakeDiscord, InteractionHandle};
pub use model::{
    Attachment, Callback, Choice, EPHEMERAL, GatewayCommand, LOADING, LoggedRequest, Message,
    Modal, ModalField, User,
};
pub use rate::RateWindow;
pub use snowflake::{
    AttachmentId, ChannelId, CommandId, GuildId, InteractionId, MessageId, RoleId, UserId,
};
pub use voice::{VoiceError, VoiceStats};

/// Discord's limits as the fake enforces them.
pub mod discord_limits {
    pub use crate::limits::{
        ACTION_ROWS_MAX, CHOICES_MAX, CONTENT_MAX, EMBED_AUTHOR_MAX, EMBED_DESCRIPTION_MAX,
        EMBED_FIELD_NAME_MAX, EMBED_FIELD_VALUE_MAX, EMBED_FIELDS_MAX, EMBED_FOOTER_MAX,
        EMBED_TITLE_MAX, EMBED_TOTAL_MAX, EMBEDS_MAX, PINS_MAX, ROW_ITEMS_MAX,
    };
}
