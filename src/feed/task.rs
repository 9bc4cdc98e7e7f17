//! The feed task: batches a campaign's committed events, files each batch's lines and
//! prose in the store, then publishes them.

use super::{
    FeedCursor, FeedError, FeedItem, FeedKind, FeedOptions, Live, clamp_text, stored_from_item,
};
use crate::clock::probe::{self, Stage};
use crate::coordinator::{CampaignId, Committed, Coordinator, Subscription};
use crate::gm::GameMaster;
use crate::narrator::{BuiltinNarrator, NarrationEvent};
use crate::store::Store;
use crate::store::feed::StoredFeedItem;
use dicebard_engine::Visibility;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, watch};
use tokio::time::Instant;

/// How often a failed write is tried before the item is dropped (never published
/// unstored).
const WRITE_TRIES: u32 = 8;

pub(super) struct Teller {
    coordinator: Coordinator,
    store: Store,
    gm: GameMaster,
    campaign_id: CampaignId,
    options: FeedOptions,
    live: broadcast::Sender<Live>,
    told: watch::Sender<u64>,
    /// The last item published (or stored before this task started).
    prev: FeedCursor,
    /// Whether the LLM tells this campaign's story (as of the last batch): only then
    /// does a batch wait for more events (one prompt for what one command set off);
    /// otherwise it takes what has come and is told at once.
    narrating: bool,
}

type Started = (
    tokio::task::JoinHandle<()>,
    broadcast::WeakSender<Live>,
    watch::Receiver<u64>,
);

impl Teller {
    pub(super) async fn start(
        coordinator: Coordinator,
        gm: GameMaster,
        campaign_id: CampaignId,
        options: FeedOptions,
    ) -> Result<Started, FeedError> {
        let store = coordinator.store().clone();
        let through = store.feed_cursor(campaign_id).await?;
        let mut prev = if through > 0 {
            FeedCursor::new(through, 0)
        } else {
            FeedCursor::START
        };
        if let Some(last) = store.last_feed_item(campaign_id).await? {
            prev = prev.max(FeedCursor::new(last.seq, last.part));
            if last.part >= 2 && last.kind != "prose_end" {
                // A telling cut off (the bot stopped mid-prose): closed as it stands,
                // never told a second time.
                let end = StoredFeedItem {
                    seq: last.seq,
                    part: last.part.saturating_add(1),
                    kind: "prose_end".into(),
                    visibility: Visibility::Public.key(),
                    told_seq: last.seq,
                    source: None,
                    text: String::new(),
                };
                store.put_feed_item(campaign_id, &end).await?;
                prev = FeedCursor::new(end.seq, end.part);
            }
        }
        let sub = coordinator.subscribe(campaign_id, through).await?;
        let (live, _) = broadcast::channel(options.live_buffer.clamp(1, 1 << 16));
        let weak = live.downgrade();
        let (told, told_rx) = watch::channel(through);
        let narrating = gm.llm_narrator.is_some();
        let teller = Teller {
            coordinator,
            store,
            gm,
            campaign_id,
            options,
            live,
            told,
            prev,
            narrating,
        };
        let span = tracing::info_span!("feed", campaign = campaign_id.get());
        let task = tokio::spawn(tracing::Instrument::instrument(teller.run(sub), span));
        Ok((task, weak, told_rx))
    }

    async fn run(mut self, mut sub: Subscription) {
        let max_batch = self.options.max_batch.max(1);
        while let Some(first) = sub.next().await {
            probe::stage(self.campaign_id.get(), first.seq, Stage::Received);
            let mut batch = vec![first];
            let window = if self.narrating {
                self.options.window
            } else {
                Duration::ZERO
            };
            let until = Instant::now() + window;
            while batch.len() < max_batch {
                match tokio::time::timeout_at(until, sub.next()).await {
                    Ok(Some(e)) => {
                        probe::stage(self.campaign_id.get(), e.seq, Stage::Received);
                        batch.push(e);
                    }
                    _ => break,
                }
            }
            self.tell(&batch).await;
            if batch
                .iter()
                .any(|c| matches!(c.event.kind, dicebard_engine::EventKind::CampaignEnded))
            {
                // Nothing follows the end: the task (and its hold on the campaign's
                // actor) ends; subscribers drain what is stored. `Feeds::feed` starts it
                // again if it is asked for.
                break;
            }
        }
    }

    /// Files and publishes one batch: its events and lines, then its prose.
    async fn tell(&mut self, batch: &[Arc<Committed>]) {
        let Some(last) = batch.last().map(|c| c.seq) else {
            return;
        };
        let state = match self.coordinator.snapshot(self.campaign_id).await {
            Ok(s) => {
                self.narrating = self.gm.narrates(&s.state);
                Some(s.state)
            }
            Err(e) => {
                tracing::warn!(error = %e, "no snapshot: this batch is told without lines or prose");
                None
            }
        };
        let max_chars = self.options.max_text_chars.max(1);
        let mut items = Vec::with_capacity(batch.len() * 2);
        for c in batch {
            items.push(FeedItem {
                seq: c.seq,
                part: 0,
                visibility: c.event.visibility.clone(),
                kind: FeedKind::Event { event: c.clone() },
            });
            if let Some(text) = state.as_ref().and_then(|s| BuiltinNarrator::line(s, c)) {
                items.push(FeedItem {
                    seq: c.seq,
                    part: 1,
                    visibility: c.event.visibility.clone(),
                    kind: FeedKind::Line {
                        text: clamp_text(text, max_chars),
                    },
                });
            }
        }
        self.stamp(batch, Stage::Built);
        let rows: Vec<StoredFeedItem> = items
            .iter()
            .filter_map(|i| stored_from_item(i, i.seq))
            .collect();
        if !self.write(&rows, Some(last)).await {
            // Not stored, so not published (a restart tells it again); the feed moves
            // on, and whoever waits for it is not left waiting.
            self.told.send_replace(last);
            return;
        }
        self.stamp(batch, Stage::Stored);
        for item in items {
            self.publish(item);
        }
        self.stamp(batch, Stage::Published);

        if let Some(state) = &state
            && let Some(mut stream) = self.gm.story(state, batch).await
        {
            let mut part: u32 = 2;
            self.file(last, part, Visibility::Public, FeedKind::ProseStart, last)
                .await;
            let mut kept: u32 = 0;
            while let Some(ev) = stream.next().await {
                let (visibility, kind, told_seq) = match ev {
                    NarrationEvent::Sentence {
                        seq,
                        visibility,
                        text,
                        source,
                    } => (
                        visibility,
                        FeedKind::ProseChunk {
                            text: clamp_text(text, max_chars),
                            source,
                        },
                        seq,
                    ),
                    // Notices are for the GM, whatever the narrator says.
                    NarrationEvent::Notice(n) => (
                        Visibility::Gm,
                        FeedKind::Notice {
                            text: clamp_text(n.text, max_chars),
                        },
                        n.seq,
                    ),
                    NarrationEvent::Done(_) => break,
                };
                let empty = match &kind {
                    FeedKind::ProseChunk { text, .. } | FeedKind::Notice { text } => {
                        text.trim().is_empty()
                    }
                    _ => false,
                };
                // Beyond the bound the rest is read (so the narrator finishes) but dropped.
                if empty || kept >= self.options.max_prose_items {
                    continue;
                }
                kept += 1;
                part += 1;
                self.file(last, part, visibility, kind, told_seq.min(last))
                    .await;
            }
            part += 1;
            self.file(last, part, Visibility::Public, FeedKind::ProseEnd, last)
                .await;
        }
        self.told.send_replace(last);
    }

    /// Stamps `stage` of the fan-out probe for each event of `batch`.
    fn stamp(&self, batch: &[Arc<Committed>], stage: Stage) {
        if probe::enabled() {
            for c in batch {
                probe::stage(self.campaign_id.get(), c.seq, stage);
            }
        }
    }

    /// Stores one prose item, then publishes it.
    async fn file(
        &mut self,
        seq: u64,
        part: u32,
        visibility: Visibility,
        kind: FeedKind,
        told_seq: u64,
    ) {
        let item = FeedItem {
            seq,
            part,
            visibility,
            kind,
        };
        let Some(row) = stored_from_item(&item, told_seq) else {
            return;
        };
        if self.write(std::slice::from_ref(&row), None).await {
            self.publish(item);
        }
    }

    fn publish(&mut self, item: FeedItem) {
        let cursor = item.cursor();
        // No subscriber is fine: the store has it.
        let _ = self.live.send(Live {
            prev: self.prev,
            item: Arc::new(item),
        });
        self.prev = cursor;
    }

    /// Writes rows (with the cursor moved to `through`, when given), trying again a few
    /// times with backoff. `false`: not stored, so not to be published.
    async fn write(&self, rows: &[StoredFeedItem], through: Option<u64>) -> bool {
        let mut wait = Duration::from_millis(50);
        for attempt in 1..=WRITE_TRIES {
            let r = match (through, rows) {
                (Some(t), _) => self.store.put_feed_batch(self.campaign_id, t, rows).await,
                (None, [row]) => self.store.put_feed_item(self.campaign_id, row).await,
                (None, _) => self.store.put_feed_batch(self.campaign_id, 0, rows).await,
            };
            match r {
                Ok(()) => return true,
                Err(e) if attempt == WRITE_TRIES => {
                    tracing::error!(error = %e, "storing the feed failed: these items are dropped");
                }
                Err(e) => {
                    tracing::warn!(error = %e, attempt, "storing the feed failed; trying again");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(5));
                }
            }
        }
        false
    }
}
