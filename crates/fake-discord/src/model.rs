//! What the fake remembers and shows to tests: users, messages, interaction callbacks, modals,
//! autocomplete choices, the request log. Plain data with small query helpers; the JSON the
//! fake puts on the wire is built in `payloads`.

use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use crate::snowflake::{AttachmentId, ChannelId, GuildId, InteractionId, MessageId, UserId};

/// Message flag: only the invoking user sees the message.
pub const EPHEMERAL: u64 = 1 << 6;
/// Message flag: a deferred interaction response still "thinking".
pub const LOADING: u64 = 1 << 7;

/// A user account as the fake knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub name: String,
    pub bot: bool,
}

/// A message as stored by the fake (the bot's, a user's, or an interaction response).
#[derive(Clone, Debug)]
pub struct Message {
    pub id: MessageId,
    pub channel_id: ChannelId,
    pub guild_id: Option<GuildId>,
    pub author: UserId,
    pub content: String,
    /// Embeds exactly as the bot sent them (plus `"type":"rich"`).
    pub embeds: Vec<Value>,
    /// Component rows exactly as the bot sent them.
    pub components: Vec<Value>,
    pub attachments: Vec<Attachment>,
    pub flags: u64,
    pub tts: bool,
    pub pinned: bool,
    /// Discord's message type: 0 default, 19 reply, 20 slash-command response.
    pub kind: u8,
    pub mentions: Vec<UserId>,
    /// Emoji the bot reacted with.
    pub reactions: Vec<String>,
    pub message_reference: Option<Value>,
    /// The `allowed_mentions` the bot sent with the message (or its latest edit that carried
    /// content), as sent; `None` when it sent none, in which case Discord pings whatever the
    /// content mentions, `@everyone` included.
    pub allowed_mentions: Option<Value>,
    /// The interaction whose response (original or follow-up) this message is.
    pub interaction: Option<InteractionId>,
    /// Set for interaction responses (the application id), as Discord does.
    pub webhook_id: Option<u64>,
    pub timestamp: String,
    pub edited_timestamp: Option<String>,
    pub created_at: Instant,
    /// When it was created or last edited.
    pub changed_at: Instant,
    /// How many times it was edited.
    pub edits: u32,
    pub deleted: bool,
}

impl Message {
    /// Whether Discord would ping `@everyone`/`@here` or a role for this message: the
    /// content mentions one and `allowed_mentions` does not rule it out.
    pub fn may_ping_many(&self) -> bool {
        let mentions_many = self.content.contains("@everyone")
            || self.content.contains("@here")
            || self.content.contains("<@&");
        mentions_many && !self.allowed_mentions_block_many()
    }

    /// Whether `allowed_mentions` rules out `@everyone`/`@here` and role pings, whatever the
    /// content says.
    pub fn allowed_mentions_block_many(&self) -> bool {
        let Some(am) = &self.allowed_mentions else {
            return false;
        };
        let parse: Vec<&str> = am
            .get("parse")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let roles_listed = am
            .get("roles")
            .and_then(Value::as_array)
            .is_some_and(|r| !r.is_empty());
        !parse.contains(&"everyone") && !parse.contains(&"roles") && !roles_listed
    }

    pub fn is_ephemeral(&self) -> bool {
        self.flags & EPHEMERAL != 0
    }

    /// A deferred response that has not been edited yet ("Bot is thinking...").
    pub fn is_loading(&self) -> bool {
        self.flags & LOADING != 0
    }

    /// All visible text: content, then every embed's title, description, field names and
    /// values, footer and author. Handy for `contains` checks.
    pub fn text(&self) -> String {
        let mut out = self.content.clone();
        for e in &self.embeds {
            let mut push = |v: Option<&Value>| {
                if let Some(s) = v.and_then(Value::as_str) {
                    out.push('\n');
                    out.push_str(s);
                }
            };
            push(e.pointer("/author/name"));
            push(e.get("title"));
            push(e.get("description"));
            for f in e
                .get("fields")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                push(f.get("name"));
                push(f.get("value"));
            }
            push(e.pointer("/footer/text"));
        }
        out
    }

    /// `custom_id`s of every component (buttons, selects) on the message, in order.
    pub fn custom_ids(&self) -> Vec<String> {
        self.components()
            .filter_map(|c| {
                c.get("custom_id")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .collect()
    }

    /// The component (button or select menu) with this `custom_id`.
    pub fn component(&self, custom_id: &str) -> Option<&Value> {
        self.components()
            .find(|c| c.get("custom_id").and_then(Value::as_str) == Some(custom_id))
    }

    fn components(&self) -> impl Iterator<Item = &Value> {
        self.components
            .iter()
            .filter_map(|row| row.get("components").and_then(Value::as_array))
            .flatten()
    }
}

/// A file uploaded with a message (multipart `files[n]`).
#[derive(Clone, Debug)]
pub struct Attachment {
    pub id: AttachmentId,
    pub filename: String,
    pub content_type: Option<String>,
    pub description: Option<String>,
    pub data: Vec<u8>,
}

/// The first response to an interaction (`POST /interactions/{id}/{token}/callback`).
#[derive(Clone, Debug)]
pub struct Callback {
    /// 4 message, 5 deferred message, 6 deferred update, 7 update message, 8 autocomplete
    /// result, 9 modal.
    pub kind: u8,
    /// The callback's `data` object (`Null` when absent).
    pub data: Value,
    /// Time from dispatching the interaction to this callback.
    pub latency: Duration,
}

impl Callback {
    pub fn content(&self) -> Option<&str> {
        self.data.get("content").and_then(Value::as_str)
    }

    pub fn embeds(&self) -> &[Value] {
        self.data
            .get("embeds")
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice)
    }

    pub fn flags(&self) -> u64 {
        self.data.get("flags").and_then(Value::as_u64).unwrap_or(0)
    }

    pub fn is_ephemeral(&self) -> bool {
        self.flags() & EPHEMERAL != 0
    }

    pub fn is_deferred(&self) -> bool {
        matches!(self.kind, 5 | 6)
    }
}

/// One autocomplete suggestion (callback type 8).
#[derive(Clone, Debug, PartialEq)]
pub struct Choice {
    pub name: String,
    pub value: Value,
}

/// A modal the bot opened (callback type 9).
#[derive(Clone, Debug)]
pub struct Modal {
    /// The interaction the modal answered.
    pub interaction: InteractionId,
    /// When the bot opened it.
    pub opened_at: Instant,
    /// Who sees it (the user of that interaction).
    pub user: UserId,
    pub channel: ChannelId,
    pub custom_id: String,
    pub title: String,
    pub fields: Vec<ModalField>,
}

/// A text input of a modal.
#[derive(Clone, Debug)]
pub struct ModalField {
    pub custom_id: String,
    pub label: String,
    /// 1 short, 2 paragraph.
    pub style: u8,
    pub required: bool,
    /// Pre-filled value.
    pub value: Option<String>,
    pub min_length: Option<u64>,
    pub max_length: Option<u64>,
}

/// One REST request the bot made, with the fake's answer.
#[derive(Clone, Debug)]
pub struct LoggedRequest {
    pub at: Instant,
    pub method: String,
    /// Path after `/api/v10`, e.g. `/channels/3/messages`; the full path for requests outside it.
    pub path: String,
    pub query: Option<String>,
    /// JSON body (for multipart: the parsed `payload_json`).
    pub body: Option<Value>,
    /// Names of uploaded files.
    pub files: Vec<String>,
    pub status: u16,
    pub response: Option<Value>,
    /// The route is not one the fake knows: the test should fail.
    pub unexpected: bool,
}

impl LoggedRequest {
    /// `"POST /channels/3/messages"`.
    pub fn line(&self) -> String {
        format!("{} {} -> {}", self.method, self.path, self.status)
    }

    /// Discord's JSON error code when the fake refused the request.
    pub fn error_code(&self) -> Option<i64> {
        if self.status < 400 {
            return None;
        }
        self.response.as_ref()?.get("code")?.as_i64()
    }
}

/// One frame the bot sent on the gateway.
#[derive(Clone, Debug)]
pub struct GatewayCommand {
    pub at: Instant,
    /// Which websocket connection (1, 2, ...).
    pub connection: u64,
    pub op: u64,
    /// `d` with the token redacted.
    pub d: Value,
}
