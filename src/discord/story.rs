//! The storyteller: posts the LLM game master's prose in a campaign channel as it
//! streams in, and speaks each sentence in voice as soon as it is complete.
//!
//! The engine's own lines (every number, every outcome) are posted by the presenter and
//! the command replies; this adds only the LLM's prose ([`NarrationSource::Llm`]
//! sentences). One message per batch, created with the first sentence and edited as
//! more arrive — at most one edit per [`EditPacer`] interval, inside the channel's
//! shared write budget. Batches are told strictly in order, one after another, on a
//! task of their own so a slow LLM never holds up sheets, the initiative tracker or
//! turn DMs. GM notices (the LLM stopped or started working again) go to the GM by DM.

use super::presenter::Budget;
use super::render;
use crate::narrator::{EditPacer, NarrationEvent, NarrationSource, NarrationStream};
use dicebard_engine::Visibility;
use poise::serenity_prelude as serenity;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Batches waiting to be told; beyond this a batch's prose is dropped (its mechanics
/// were posted already) rather than letting the queue grow without bound.
const QUEUE: usize = 32;

struct Job {
    stream: NarrationStream,
    gm_user: Option<u64>,
}

/// Hands batches to the campaign's storyteller task. Cheap to clone.
#[derive(Clone)]
pub struct Storyteller {
    tx: mpsc::Sender<Job>,
    campaign_id: i64,
}

impl Storyteller {
    /// Starts the storyteller for one campaign channel.
    pub fn start(
        http: Arc<serenity::Http>,
        campaign_id: i64,
        channel: serenity::ChannelId,
        budget: Arc<Budget>,
        voice: Option<super::voice::VoiceHub>,
    ) -> Storyteller {
        let (tx, rx) = mpsc::channel(QUEUE);
        let teller = Teller {
            http,
            campaign_id,
            channel,
            budget,
            voice,
        };
        tokio::spawn(teller.run(rx));
        Storyteller { tx, campaign_id }
    }

    /// Tells `stream` after the batches before it. Never waits.
    pub fn tell(&self, stream: NarrationStream, gm_user: Option<u64>) {
        if self.tx.try_send(Job { stream, gm_user }).is_err() {
            tracing::warn!(
                campaign = self.campaign_id,
                "the storyteller is backed up: this batch gets no prose"
            );
        }
    }
}

struct Teller {
    http: Arc<serenity::Http>,
    campaign_id: i64,
    channel: serenity::ChannelId,
    budget: Arc<Budget>,
    voice: Option<super::voice::VoiceHub>,
}

impl Teller {
    async fn run(self, mut rx: mpsc::Receiver<Job>) {
        while let Some(job) = rx.recv().await {
            self.tell(job).await;
        }
    }

    async fn tell(&self, mut job: Job) {
        let mut text = String::new();
        let mut message: Option<serenity::MessageId> = None;
        let mut pacer = EditPacer::default();
        loop {
            let next = match pacer.next_at() {
                Some(at) => match tokio::time::timeout_at(at, job.stream.next()).await {
                    Ok(n) => n,
                    Err(_) => {
                        // A held-back edit is due.
                        if pacer.flush(Instant::now()) {
                            self.show(&mut message, &text).await;
                        }
                        continue;
                    }
                },
                None => job.stream.next().await,
            };
            match next {
                // The channel and the voice call are public: party-only prose stays out.
                Some(NarrationEvent::Sentence {
                    visibility: Visibility::Public,
                    text: sentence,
                    source: NarrationSource::Llm,
                    ..
                }) => {
                    if let Some(voice) = &self.voice {
                        voice.speak(self.campaign_id, &sentence);
                    }
                    if !text.is_empty() {
                        text.push(' ');
                    }
                    text.push_str(&sentence);
                    if message.is_none() || pacer.ready(Instant::now()) {
                        if message.is_none() {
                            // The first sentence opens the message and starts the pacing.
                            pacer.ready(Instant::now());
                        }
                        self.show(&mut message, &text).await;
                    }
                }
                // The engine's lines were posted by the presenter already.
                Some(NarrationEvent::Sentence { .. }) => {}
                Some(NarrationEvent::Notice(n)) => self.notify_gm(job.gm_user, &n.text).await,
                Some(NarrationEvent::Done(_)) | None => break,
            }
        }
        if pacer.flush(Instant::now()) {
            self.show(&mut message, &text).await;
        }
    }

    /// Posts the prose so far, or edits the message that holds it.
    async fn show(&self, message: &mut Option<serenity::MessageId>, text: &str) {
        let content = render::clamp(&render::escape(text), render::MAX_CONTENT);
        self.budget.take().await;
        match message {
            Some(id) => {
                let edit = serenity::EditMessage::new().content(content);
                if let Err(e) = self.channel.edit_message(&self.http, *id, edit).await {
                    tracing::warn!(campaign = self.campaign_id, error = %e, "editing the narration failed");
                }
            }
            None => {
                let msg = serenity::CreateMessage::new().content(content);
                match self.channel.send_message(&self.http, msg).await {
                    Ok(m) => *message = Some(m.id),
                    Err(e) => {
                        tracing::warn!(campaign = self.campaign_id, error = %e, "posting the narration failed")
                    }
                }
            }
        }
    }

    async fn notify_gm(&self, gm_user: Option<u64>, text: &str) {
        if let Some(user) = gm_user {
            let text = format!("(GM only) {text}");
            super::send_dm(&self.http, self.campaign_id, user, &text, Vec::new()).await;
        }
    }
}
