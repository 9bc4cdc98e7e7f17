//! Heard speech in a Discord call → the shared heard-speech path
//! ([`crate::voice::heard`]): the speaker's Discord id becomes their player id, and
//! what the table is shown is posted in the campaign's text channel ("🎙 name: text",
//! "💬 name: text" table talk, replies that mention the speaker).

use super::receive::Heard;
use super::settings::VoiceSettings;
use crate::coordinator::{CampaignId, Coordinator};
use crate::discord::render;
use crate::intent::IntentResolver;
pub use crate::voice::heard::{Gate, HeardResult, gate, speaker_name, strip_wake_word};
use crate::voice::heard::{HeardSpeech, VoiceOut, VoiceReply};
use poise::serenity_prelude as serenity;

/// Where the bot writes in a campaign's text channel (Discord, or nothing in benchmarks).
#[async_trait::async_trait]
pub trait TablePost: Send + Sync {
    async fn post(&self, channel: serenity::ChannelId, text: String);
}

/// Posts nowhere.
pub struct NoPost;

#[async_trait::async_trait]
impl TablePost for NoPost {
    async fn post(&self, _channel: serenity::ChannelId, _text: String) {}
}

#[async_trait::async_trait]
impl TablePost for std::sync::Arc<serenity::Http> {
    async fn post(&self, channel: serenity::ChannelId, text: String) {
        if let Err(e) = channel
            .say(self.as_ref(), render::clamp(&text, render::MAX_CONTENT))
            .await
        {
            tracing::warn!(channel = channel.get(), error = %e, "posting in the campaign channel failed");
        }
    }
}

/// Everything [`handle_heard`] needs.
pub struct HeardEnv<'a> {
    pub coord: &'a Coordinator,
    pub intent: &'a IntentResolver,
    pub post: &'a dyn TablePost,
}

/// Shows [`VoiceReply`]s in a campaign's text channel, in Discord's markdown.
struct ChannelOut<'a> {
    post: &'a dyn TablePost,
    channel: serenity::ChannelId,
    /// The speaker.
    user: serenity::UserId,
}

#[async_trait::async_trait]
impl VoiceOut for ChannelOut<'_> {
    async fn show(&self, reply: VoiceReply) {
        let text = match reply {
            VoiceReply::Echo { name, text } => {
                let name = name.unwrap_or_else(|| format!("<@{}>", self.user));
                format!("🎙 **{}**: {}", render::escape(&name), render::escape(&text))
            }
            VoiceReply::TableTalk { name, text } => {
                format!("💬 *{}: {}*", render::escape(&name), render::escape(&text))
            }
            VoiceReply::ToSpeaker { text } => format!("<@{}> {}", self.user, text),
        };
        self.post.post(self.channel, text).await;
    }
}

/// Takes one heard utterance in `campaign` (whose text channel is `channel`).
pub async fn handle_heard(
    env: &HeardEnv<'_>,
    campaign: CampaignId,
    channel: serenity::ChannelId,
    settings: &VoiceSettings,
    heard: &Heard,
) -> HeardResult {
    let speech = HeardSpeech {
        player: crate::discord::player_id(heard.user),
        text: heard.text.clone(),
        speech_end: heard.speech_end,
    };
    let out = ChannelOut {
        post: env.post,
        channel,
        user: heard.user,
    };
    let env = crate::voice::heard::HeardEnv {
        coord: env.coord,
        intent: env.intent,
        out: &out,
    };
    crate::voice::heard::handle_heard(&env, campaign, settings, &speech).await
}
