//! The storyteller: renders the table feed's prose in a campaign channel as it streams
//! in, and speaks each sentence in voice as soon as it is complete.
//!
//! The feed tells each batch once ([`crate::feed`]: one `GameMaster::story` call per
//! batch, stored before it is published); this only renders what the presenter's feed
//! subscription hands it. The engine's own lines (every number, every outcome) are
//! posted by the presenter and the command replies; this adds only the LLM's public
//! prose ([`NarrationSource::Llm`] sentences the channel may see). One message per
//! batch, created with the first sentence and edited as more arrive — at most one edit
//! per [`EditPacer`] interval, inside the channel's shared write budget. Batches are
//! rendered strictly in order on a task of their own, so Discord's pacing never holds
//! up sheets, the initiative tracker or turn DMs.

use super::presenter::Budget;
use super::render;
use crate::coordinator::CampaignId;
use crate::narrator::EditPacer;
use poise::serenity_prelude as serenity;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Prose items waiting to be rendered; beyond this a sentence is dropped from the
/// channel (it stays in the feed) rather than letting the queue grow without bound.
const QUEUE: usize = 1024;

/// One step of a batch's prose, as the feed told it.
#[derive(Debug)]
pub enum Prose {
    /// A batch's prose begins: the next sentence opens a new message.
    Start,
    /// A sentence the channel may see, written by the LLM.
    Sentence(String),
    /// The batch's prose is complete.
    End,
}

/// Hands prose to the campaign's storyteller task. Cheap to clone.
#[derive(Clone)]
pub struct Storyteller {
    tx: mpsc::Sender<Prose>,
    campaign_id: CampaignId,
}

impl Storyteller {
    /// Starts the storyteller for one campaign channel.
    pub fn start(
        http: Arc<serenity::Http>,
        campaign_id: CampaignId,
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

    /// Renders `prose` after what came before it. Never waits.
    pub fn tell(&self, prose: Prose) {
        if self.tx.try_send(prose).is_err() {
            tracing::warn!(
                campaign = self.campaign_id.get(),
                "the storyteller is backed up: prose left out of the channel"
            );
        }
    }
}

struct Teller {
    http: Arc<serenity::Http>,
    campaign_id: CampaignId,
    channel: serenity::ChannelId,
    budget: Arc<Budget>,
    voice: Option<super::voice::VoiceHub>,
}

/// The message of the batch being told.
#[derive(Default)]
struct Telling {
    text: String,
    message: Option<serenity::MessageId>,
    pacer: EditPacer,
}

impl Teller {
    async fn run(self, mut rx: mpsc::Receiver<Prose>) {
        let mut t = Telling::default();
        loop {
            let next = match t.pacer.next_at() {
                Some(at) => match tokio::time::timeout_at(at, rx.recv()).await {
                    Ok(n) => n,
                    Err(_) => {
                        // A held-back edit is due.
                        if t.pacer.flush(Instant::now()) {
                            self.show(&mut t.message, &t.text).await;
                        }
                        continue;
                    }
                },
                None => rx.recv().await,
            };
            match next {
                Some(Prose::Sentence(sentence)) => {
                    if let Some(voice) = &self.voice {
                        voice.speak(self.campaign_id, &sentence);
                    }
                    if !t.text.is_empty() {
                        t.text.push(' ');
                    }
                    t.text.push_str(&sentence);
                    if t.message.is_none() || t.pacer.ready(Instant::now()) {
                        if t.message.is_none() {
                            // The first sentence opens the message and starts the pacing.
                            t.pacer.ready(Instant::now());
                        }
                        self.show(&mut t.message, &t.text).await;
                    }
                }
                // A batch ends (or a new one starts without its end: a restart cut it
                // off): what is owed goes out, the next sentence opens a new message.
                Some(Prose::Start) | Some(Prose::End) => {
                    if t.pacer.flush(Instant::now()) {
                        self.show(&mut t.message, &t.text).await;
                    }
                    t = Telling::default();
                }
                None => {
                    if t.pacer.flush(Instant::now()) {
                        self.show(&mut t.message, &t.text).await;
                    }
                    return;
                }
            }
        }
    }

    /// Posts the prose so far, or edits the message that holds it.
    async fn show(&self, message: &mut Option<serenity::MessageId>, text: &str) {
        let content = render::clamp(&render::escape(text), render::MAX_CONTENT);
        let _sent = self.budget.take().await;
        match message {
            Some(id) => {
                let edit = serenity::EditMessage::new().content(content);
                if let Err(e) = self.channel.edit_message(&self.http, *id, edit).await {
                    tracing::warn!(campaign = self.campaign_id.get(), error = %e, "editing the narration failed");
                }
            }
            None => {
                let msg = serenity::CreateMessage::new().content(content);
                match self.channel.send_message(&self.http, msg).await {
                    Ok(m) => *message = Some(m.id),
                    Err(e) => {
                        tracing::warn!(campaign = self.campaign_id.get(), error = %e, "posting the narration failed")
                    }
                }
            }
        }
    }
}
