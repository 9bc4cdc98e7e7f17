//! Voice: who sits in which voice channel (main gateway), and the voice server's state (voice
//! gateway session, keys, what users said and what the bot said).
//!
//! Join flow, as on Discord: the bot sends op 4 `{guild_id, channel_id, self_mute, self_deaf}`
//! on the main gateway; the fake dispatches VOICE_STATE_UPDATE (the bot's voice `session_id`)
//! and VOICE_SERVER_UPDATE `{token, guild_id, endpoint: "127.0.0.1:PORT"}`. The bot then dials
//! `wss://127.0.0.1:PORT/?v=4` (`voice_gateway`, TLS with the fake's own CA: `tls`):
//!
//! 1. fake → op 8 Hello `{heartbeat_interval: 13750}` on connect;
//! 2. bot → op 0 Identify `{server_id, session_id, token, user_id, max_dave_protocol_version}`,
//!    checked against the join (4004 otherwise); fake → op 2 Ready
//!    `{ssrc: 1111, ip: "127.0.0.1", port: UDP, modes: [aes256-gcm, xchacha20]}`;
//! 3. UDP IP discovery on the voice UDP port (`voice_udp`, 74-byte request/response);
//! 4. bot → op 1 Select Protocol `{protocol: "udp", data: {address, port, mode}}`; fake → op 4
//!    Session Description `{mode, secret_key: [32 bytes], dave_protocol_version: 0}` (DAVE, the
//!    end-to-end layer, switched off) and op 11 Clients Connect with the users in the channel;
//! 5. heartbeats op 3 are answered with op 6 (same nonce; v8 `{t, seq_ack}` objects with `{t}`);
//!    op 7 Resume on a new connection answers op 9 Resumed.
//!
//! A user speaking ([`crate::FakeDiscord::speak_pcm`]): op 5 Speaking `{user_id, ssrc, speaking:
//! 1}` to the bot, then one encrypted RTP packet every 20 ms from the voice UDP port (SSRC
//! 2000 + the user's index in `FakeConfig::users`, RTP header extension `0xBEDE` like Discord's
//! forwarded packets), ending with five Opus silence frames. A user joining or leaving the bot's
//! channel also sends op 11 / op 13 Client Disconnect on the voice gateway, as Discord does.
//! Everything the bot sends over UDP is decrypted (`rtp`), Opus-decoded (`audio`) and kept as
//! 48 kHz stereo PCM; keepalives, RTCP and discovery packets are counted and ignored.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;

use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::error::WaitError;
use crate::model::GatewayCommand;
use crate::rtp::{Cipher, Mode};
use crate::snowflake::{ChannelId, UserId};
use crate::state::{Outgoing, State, VoiceState};

/// GUILD_VOICE_STATES.
const VOICE_INTENT: u64 = 1 << 7;
/// The SSRC the fake assigns to the bot (Ready).
pub(crate) const BOT_SSRC: u32 = 1111;
/// Users speak with SSRC `USER_SSRC_BASE + index in FakeConfig::users`.
pub(crate) const USER_SSRC_BASE: u32 = 2000;
/// Hello's heartbeat interval (ms), as Discord sends it.
pub(crate) const VOICE_HEARTBEAT_MS: u64 = 13_750;

/// Counters of the voice UDP traffic.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VoiceStats {
    /// RTP packets received from the bot.
    pub rtp_packets: u64,
    /// Of those, how many failed transport decryption (a healthy bot: 0).
    pub decrypt_failures: u64,
    /// Decrypted packets whose payload was no valid Opus frame.
    pub decode_failures: u64,
    /// RTCP packets from the bot (ignored).
    pub rtcp_packets: u64,
    /// Keepalives and other datagrams (ignored).
    pub other_datagrams: u64,
    /// IP discovery requests answered.
    pub discoveries: u64,
    /// RTP packets the fake sent to the bot as speaking users.
    pub packets_sent: u64,
    /// Frames of the bot's audio that arrived after later ones and were put back in their
    /// place by RTP timestamp.
    pub late_frames: u64,
    /// Frames dropped: beyond the [`MAX_HEARD_SECONDS`] of audio the fake keeps.
    pub dropped_frames: u64,
    /// 20 ms frames of silence inserted for gaps in the bot's RTP timestamps.
    pub gap_frames: u64,
    /// Timestamp jumps beyond [`MAX_GAP_SECONDS`] ahead or [`MAX_LATE_FRAMES`] behind:
    /// the stream is re-anchored at the end (after at most `MAX_GAP_SECONDS` of silence).
    pub resyncs: u64,
}

/// Most audio the fake keeps of what the bot said (since the last clear).
pub const MAX_HEARD_SECONDS: u64 = 600;
/// The longest silence inserted for one gap in the bot's RTP timestamps; a longer jump
/// (a new stream, a long pause or a hostile timestamp) is capped at this much silence.
pub const MAX_GAP_SECONDS: u64 = 3;
/// How far behind the newest audio (in 20 ms frames) a late frame may still be placed.
pub const MAX_LATE_FRAMES: u64 = 50;

/// Why a user could not speak.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VoiceError {
    /// The user is not in the voice channel the bot joined (or the bot joined none).
    NotInBotChannel {
        user: UserId,
        user_channel: Option<ChannelId>,
        bot_channel: Option<ChannelId>,
    },
    /// The bot completed no voice handshake within `FakeConfig::setup_timeout`.
    NoBotVoice(WaitError),
    /// The bot's voice session ended while the user was speaking.
    BotLeft,
    /// The audio could not be read or encoded.
    Audio(String),
    /// Sending on the voice UDP socket failed.
    Io(String),
}

impl fmt::Display for VoiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VoiceError::NotInBotChannel {
                user,
                user_channel,
                bot_channel,
            } => write!(
                f,
                "user {user} (in voice channel {user_channel:?}) is not in the bot's voice \
                 channel {bot_channel:?}; call user_joins_voice first"
            ),
            VoiceError::NoBotVoice(e) => write!(f, "the bot has no voice connection: {e}"),
            VoiceError::BotLeft => write!(f, "the bot's voice session ended mid-speech"),
            VoiceError::Audio(e) => write!(f, "audio: {e}"),
            VoiceError::Io(e) => write!(f, "voice UDP: {e}"),
        }
    }
}

impl std::error::Error for VoiceError {}

/// The voice server's state (one bot, one voice session at a time).
pub(crate) struct VoiceNet {
    /// `127.0.0.1:PORT` of the voice gateway (VOICE_SERVER_UPDATE's `endpoint`).
    pub endpoint: String,
    pub udp_port: u16,
    /// The token of the bot's latest join (VOICE_SERVER_UPDATE), until it leaves.
    pub token: Option<String>,
    pub tokens_issued: u64,
    pub connections: HashMap<u64, mpsc::UnboundedSender<Outgoing>>,
    pub next_conn: u64,
    pub session: Option<VoiceSession>,
    /// Every frame the fake sent on the voice gateway.
    pub frames: Vec<String>,
    /// Every frame the bot sent on the voice gateway (token redacted; binary frames as op 0xFFFF).
    pub commands: Vec<GatewayCommand>,
    /// RTP send state per speaking user.
    pub streams: HashMap<UserId, SendStream>,
    /// Nonce counter for packets to the bot (one per key, across all SSRCs).
    pub send_nonce: u32,
    /// What the bot said, decoded, placed by RTP timestamp (48 kHz stereo).
    pub heard: Vec<i16>,
    /// Per SSRC of the bot: where its RTP clock sits in `heard` (the jitter buffer).
    pub heard_streams: HashMap<u32, HeardStream>,
    pub last_heard: Option<Instant>,
    pub stats: VoiceStats,
    /// Where IP discovery requests came from.
    pub discovered: Option<SocketAddr>,
}

/// An identified voice gateway session.
pub(crate) struct VoiceSession {
    /// The live connection, if any (`None` after a disconnect, until op 7 resumes it).
    pub conn: Option<u64>,
    pub session_id: String,
    pub token: String,
    pub mode: Option<Mode>,
    pub cipher: Option<Cipher>,
    /// The bot's UDP address from Select Protocol.
    pub bot_udp: Option<SocketAddr>,
}

impl VoiceSession {
    /// Session description sent and the bot's address known: audio can flow.
    pub fn ready(&self) -> bool {
        self.conn.is_some() && self.cipher.is_some() && self.bot_udp.is_some()
    }
}

/// Where one of the bot's RTP streams sits in [`VoiceNet::heard`]: the RTP timestamp
/// `ts` is stereo frame `frame` (a timestamp counts 48 kHz sample frames).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HeardStream {
    pub ts: u32,
    pub frame: u64,
}

/// Per-user RTP stream state.
pub(crate) struct SendStream {
    pub sequence: u16,
    pub timestamp: u32,
    pub last: Instant,
}

impl VoiceNet {
    pub fn new(endpoint: String, udp_port: u16) -> Self {
        Self {
            endpoint,
            udp_port,
            token: None,
            tokens_issued: 0,
            connections: HashMap::new(),
            next_conn: 0,
            session: None,
            frames: Vec::new(),
            commands: Vec::new(),
            streams: HashMap::new(),
            send_nonce: 0,
            heard: Vec::new(),
            heard_streams: HashMap::new(),
            last_heard: None,
            stats: VoiceStats::default(),
            discovered: None,
        }
    }

    /// Forgets what the bot said (and where its streams sat in it).
    pub fn clear_heard(&mut self) {
        self.heard.clear();
        self.heard_streams.clear();
        self.last_heard = None;
    }

    /// Places one decoded frame of the bot's audio (interleaved stereo) by its RTP
    /// timestamp: the receiving side's jitter buffer. A frame goes where its timestamp
    /// says, so a late frame fills the slot left for it and a real gap (the bot paused)
    /// becomes silence; nothing is compressed or dropped for being late. Gaps, lateness and
    /// the total are bounded ([`MAX_GAP_SECONDS`], [`MAX_LATE_FRAMES`],
    /// [`MAX_HEARD_SECONDS`]), whatever the timestamps say.
    pub fn hear(&mut self, ssrc: u32, ts: u32, samples: &[i16]) {
        const RATE: u64 = crate::audio::SAMPLE_RATE as u64;
        let frames = (samples.len() / 2) as u64;
        if frames == 0 {
            return;
        }
        let end = (self.heard.len() / 2) as u64;
        let max_total = MAX_HEARD_SECONDS * RATE;
        // The position of `ts`, relative to the stream's anchor (signed: late frames).
        let anchored = self
            .heard_streams
            .get(&ssrc)
            .map(|a| a.frame as i64 + i64::from(ts.wrapping_sub(a.ts) as i32));
        let pos = match anchored {
            // First frame of this stream (or since a clear): it starts at the end.
            None => {
                self.heard_streams
                    .insert(ssrc, HeardStream { ts, frame: end });
                end
            }
            // Its place: up to MAX_LATE_FRAMES before the end (a late frame fills the
            // slot left for it), up to MAX_GAP_SECONDS after it (silence for the gap).
            Some(p)
                if p + (MAX_LATE_FRAMES * 960) as i64 >= end as i64
                    && p as u64 <= end + MAX_GAP_SECONDS * RATE =>
            {
                p as u64
            }
            // A jump forward: at most MAX_GAP_SECONDS of silence, then re-anchored.
            Some(p) if p > end as i64 => {
                self.stats.resyncs += 1;
                let pos = end + MAX_GAP_SECONDS * RATE;
                self.heard_streams
                    .insert(ssrc, HeardStream { ts, frame: pos });
                pos
            }
            // Far behind: a restarted RTP clock (or a hostile timestamp). Re-anchored at
            // the end.
            Some(_) => {
                self.stats.resyncs += 1;
                self.heard_streams
                    .insert(ssrc, HeardStream { ts, frame: end });
                end
            }
        };
        let late = pos + frames <= end;
        if pos + frames > max_total {
            self.stats.dropped_frames += 1;
            return;
        }
        if pos > end {
            self.stats.gap_frames += (pos - end).div_ceil(960);
        }
        if late {
            self.stats.late_frames += 1;
        }
        let need = ((pos + frames) * 2) as usize;
        if self.heard.len() < need {
            self.heard.resize(need, 0);
        }
        let at = (pos * 2) as usize;
        self.heard[at..at + samples.len()].copy_from_slice(samples);
        self.last_heard = Some(Instant::now());
    }

    /// Queues a frame on one voice connection and records it.
    pub fn send(&mut self, conn: u64, frame: Value) {
        let text = frame.to_string();
        if let Some(tx) = self.connections.get(&conn)
            && tx.send(Outgoing::Text(text.clone())).is_ok()
        {
            self.frames.push(text);
        }
    }

    /// Sends to the live, identified connection, if any.
    pub fn send_to_session(&mut self, frame: Value) -> bool {
        match self.session.as_ref().and_then(|s| s.conn) {
            Some(conn) => {
                self.send(conn, frame);
                true
            }
            None => false,
        }
    }

    pub fn close(&mut self, conn: u64, code: u16, reason: &str) {
        if let Some(tx) = self.connections.get(&conn) {
            let _ = tx.send(Outgoing::Close(code, reason.to_owned()));
        }
    }

    /// The session is usable for audio.
    pub fn ready(&self) -> bool {
        self.session.as_ref().is_some_and(VoiceSession::ready)
    }

    pub fn describe(&self) -> String {
        let idle = self.session.is_none()
            && self.commands.is_empty()
            && self.heard.is_empty()
            && self.stats == VoiceStats::default();
        if idle {
            return String::new();
        }
        let session = match &self.session {
            None => "no voice session".to_owned(),
            Some(s) => format!(
                "voice session {} ({}), mode {}, bot UDP {}",
                s.session_id,
                if s.conn.is_some() {
                    "connected"
                } else {
                    "disconnected"
                },
                s.mode.map_or("not selected", Mode::name),
                s.bot_udp.map_or("unknown".to_owned(), |a| a.to_string()),
            ),
        };
        format!(
            "voice: {session}; {} voice gateway frames from the bot; heard {:.2} s; {:?}\n",
            self.commands.len(),
            self.heard.len() as f64 / 96_000.0,
            self.stats
        )
    }
}

impl State {
    /// Op 4 from the bot: `{guild_id, channel_id (null to leave), self_mute, self_deaf}`.
    pub fn bot_voice_request(&mut self, d: &Value) {
        let channel = match &d["channel_id"] {
            Value::String(s) => s.parse().ok().map(ChannelId),
            Value::Number(n) => n.as_u64().map(ChannelId),
            _ => None,
        };
        let bot = self.bot_id();
        let previous = self.voice.get(&bot).and_then(|v| v.channel);
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
        let Some(c) = channel else {
            self.voice.remove(&bot);
            self.end_voice_session();
            return;
        };
        // A new token for a new channel; a repeated op 4 (songbird's join while connected, a
        // mute toggle) gets the same token again, which songbird treats as no change.
        let token = match &self.voice_net.token {
            Some(t) if previous == Some(c) => t.clone(),
            _ => {
                self.voice_net.tokens_issued += 1;
                let t = format!("voice-token-{}", self.voice_net.tokens_issued);
                self.voice_net.token = Some(t.clone());
                t
            }
        };
        let d = json!({
            "token": token,
            "guild_id": self.guild_id().to_json(),
            "endpoint": self.voice_net.endpoint,
        });
        // Not gated by an intent on Discord.
        self.dispatch("VOICE_SERVER_UPDATE", d, None);
    }

    /// The bot left voice: Discord closes its voice gateway with 4014 (disconnected).
    fn end_voice_session(&mut self) {
        let net = &mut self.voice_net;
        net.token = None;
        net.session = None;
        let conns: Vec<u64> = net.connections.keys().copied().collect();
        for c in conns {
            net.close(c, 4014, "Disconnected.");
        }
    }

    /// A user joins (or moves to) a voice channel; `None` leaves.
    pub fn set_user_voice(&mut self, user: UserId, channel: Option<ChannelId>) {
        let before = self.voice.get(&user).and_then(|v| v.channel);
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
        // The voice gateway tells the bot who joins and leaves its channel.
        let bot_channel = self.bot_voice_channel();
        if bot_channel.is_some() && before != channel {
            if channel == bot_channel {
                let frame = json!({"op": 11, "d": {"user_ids": [user.to_json()]}});
                self.voice_net.send_to_session(frame);
            } else if before == bot_channel {
                let frame = json!({"op": 13, "d": {"user_id": user.to_json()}});
                self.voice_net.send_to_session(frame);
                self.voice_net.streams.remove(&user);
            }
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

    pub fn bot_voice_channel(&self) -> Option<ChannelId> {
        self.voice.get(&self.bot_id()).and_then(|v| v.channel)
    }

    /// The SSRC `user` speaks with: 2000 + their index in `FakeConfig::users`.
    pub fn user_ssrc(&self, user: UserId) -> Option<u32> {
        let i = self.config.users.iter().position(|u| u.id == user)?;
        Some(USER_SSRC_BASE + u32::try_from(i).ok()?)
    }

    /// `user` may speak to the bot: both sit in the same voice channel.
    pub fn check_can_speak(&self, user: UserId) -> Result<(), VoiceError> {
        let user_channel = self.voice.get(&user).and_then(|v| v.channel);
        let bot_channel = self.bot_voice_channel();
        if bot_channel.is_some() && user_channel == bot_channel && self.user_ssrc(user).is_some() {
            Ok(())
        } else {
            Err(VoiceError::NotInBotChannel {
                user,
                user_channel,
                bot_channel,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 20 ms stereo frame whose samples all equal `v`.
    fn frame(v: i16) -> Vec<i16> {
        vec![v; 1920]
    }

    fn frames_of(net: &VoiceNet) -> Vec<i16> {
        net.heard.chunks(1920).map(|f| f[0]).collect()
    }

    #[test]
    fn the_bot_is_heard_by_rtp_timestamp_not_arrival() {
        let base = u32::MAX - 2 * 960; // the timestamp wraps mid-stream
        let ts = |i: u32| base.wrapping_add(i * 960);
        // In order.
        let mut a = VoiceNet::new(String::new(), 0);
        for i in 1..=6 {
            a.hear(BOT_SSRC, ts(i), &frame(i as i16));
        }
        assert_eq!(frames_of(&a), [1, 2, 3, 4, 5, 6]);
        // Reordered (3 after 5): the same audio, not compressed or shifted.
        let mut b = VoiceNet::new(String::new(), 0);
        for i in [1, 2, 4, 5, 3, 6] {
            b.hear(BOT_SSRC, ts(i), &frame(i as i16));
        }
        assert_eq!(b.heard, a.heard);
        assert_eq!(b.stats.late_frames, 1);
        // A real gap (the bot paused 3 frames) is silence, as long as the pause.
        let mut c = VoiceNet::new(String::new(), 0);
        for i in [1, 2, 6, 7] {
            c.hear(BOT_SSRC, ts(i), &frame(i as i16));
        }
        assert_eq!(frames_of(&c), [1, 2, 0, 0, 0, 6, 7]);
        assert_eq!(c.stats.gap_frames, 3);
        // A clear starts over.
        c.clear_heard();
        c.hear(BOT_SSRC, ts(100), &frame(9));
        assert_eq!(frames_of(&c), [9]);
    }

    #[test]
    fn hostile_timestamps_stay_bounded() {
        let mut net = VoiceNet::new(String::new(), 0);
        net.hear(BOT_SSRC, 0, &frame(1));
        // Half the RTP clock ahead: capped at MAX_GAP_SECONDS of silence.
        net.hear(BOT_SSRC, 1 << 30, &frame(2));
        let cap = (MAX_GAP_SECONDS * 48_000 / 960) as usize;
        assert_eq!(frames_of(&net).len(), 1 + cap + 1);
        // Far behind (a restarted clock): continues at the end, nothing dropped.
        net.hear(BOT_SSRC, 5, &frame(3));
        net.hear(BOT_SSRC, 965, &frame(4));
        let f = frames_of(&net);
        assert_eq!(&f[f.len() - 2..], &[3, 4]);
        assert_eq!(net.stats.resyncs, 2);
        // Every timestamp jumping: the total stays bounded.
        let mut net = VoiceNet::new(String::new(), 0);
        for i in 0..2_000u32 {
            net.hear(BOT_SSRC, i.wrapping_mul(1 << 30), &frame(1));
        }
        let max = (MAX_HEARD_SECONDS * 48_000 * 2) as usize;
        assert!(net.heard.len() <= max, "{}", net.heard.len());
        assert!(net.stats.dropped_frames > 0);
    }
}
