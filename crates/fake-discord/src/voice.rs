//! Voice *state* on the main gateway: who sits in which voice channel, the bot's op-4 join and
//! leave requests, and VOICE_STATE_UPDATE dispatches.
//!
//! Not here yet (a later issue): VOICE_SERVER_UPDATE and the voice gateway / UDP server.
//! The extension point is [`State::bot_voice_request`]: once a voice server exists, it also
//! dispatches VOICE_SERVER_UPDATE `{token, guild_id, endpoint: "127.0.0.1:PORT"}` after the
//! bot's VOICE_STATE_UPDATE. Until then songbird's `join` times out (it waits for both).

use serde_json::Value;

use crate::snowflake::{ChannelId, UserId};
use crate::state::{State, VoiceState};

/// GUILD_VOICE_STATES.
const VOICE_INTENT: u64 = 1 << 7;

impl State {
    /// Op 4 from the bot: `{guild_id, channel_id (null to leave), self_mute, self_deaf}`.
    pub fn bot_voice_request(&mut self, d: &Value) {
        let channel = match &d["channel_id"] {
            Value::String(s) => s.parse().ok().map(ChannelId),
            Value::Number(n) => n.as_u64().map(ChannelId),
            _ => None,
        };
        let bot = self.bot_id();
        let session_id = format!("bot-voice-session-{}", self.gateway.next_session);
        self.voice.insert(
            bot,
            VoiceState {
                channel,
                session_id,
                self_mute: d["self_mute"].as_bool().unwrap_or(false),
                self_deaf: d["self_deaf"].as_bool().unwrap_or(false),
            },
        );
        self.announce_voice_state(bot);
        if channel.is_none() {
            self.voice.remove(&bot);
        }
    }

    /// A user joins (or moves to) a voice channel; `None` leaves.
    pub fn set_user_voice(&mut self, user: UserId, channel: Option<ChannelId>) {
        let session_id = format!("voice-session-{user}");
        self.voice.insert(
            user,
            VoiceState {
                channel,
                session_id,
                self_mute: false,
                self_deaf: false,
            },
        );
        self.announce_voice_state(user);
        if channel.is_none() {
            self.voice.remove(&user);
        }
    }

    fn announce_voice_state(&mut self, user: UserId) {
        if let Some(d) = self.voice_state_json(user, true) {
            self.dispatch("VOICE_STATE_UPDATE", d, Some(VOICE_INTENT));
        }
    }

    /// Who is in `channel` now.
    pub fn voice_members(&self, channel: ChannelId) -> Vec<UserId> {
        self.voice
            .iter()
            .filter(|(_, v)| v.channel == Some(channel))
            .map(|(u, _)| *u)
            .collect()
    }
}
