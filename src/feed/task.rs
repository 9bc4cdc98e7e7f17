//! The feed task: batches a campaign's committed events, publishes each batch's events
//! and lines and then files them in the store, then files and publishes its prose.

use super::{
    FeedCursor, FeedError, FeedItem, FeedKind, FeedOptions, Live, Unstored, clamp_text,
    stored_from_item,
};
use crate::clock::probe::{self, Stage};
use crate::coordinator::{CampaignId, Committed, Coordinator, Subscription};
use crate::gm::GameMaster;
use crate::narrator::{BuiltinNarrator, NarrationEvent};
use crate::store::Store;
use crate::store::feed::StoredFeedItem;
use dicebard_engine::Visibility;
use futures_util::FutureExt;
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
    /// Published items not stored yet (shared with the subscriptions).
    unstored: Arc<Unstored>,
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
    Arc<Unstored>,
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
        let unstored = Arc::new(Unstored::default());
        let teller = Teller {
            unstored: unstored.clone(),
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
        Ok((task, weak, told_rx, unstored))
    }

    async fn run(mut self, mut sub: Subscription) {
        let max_batch = self.options.max_batch.max(1);
        while let Some(first) = sub.next().await {
            probe::stage(self.campaign_id.get(), first.seq, Stage::Received);
            let mut batch = vec![first];
            if self.narrating {
                let until = Instant::now() + self.options.window;
                while batch.len() < max_batch {
                    match tokio::time::timeout_at(until, sub.next()).await {
                        Ok(Some(e)) => {
                            probe::stage(self.campaign_id.get(), e.seq, Stage::Received);
                            batch.push(e);
                        }
                        _ => break,
                    }
                }
            } else {
                // No window: what has come already, without a timer (a timer, even one
                // already due, fires on the timer wheel's next millisecond tick: that
                // was a millisecond or two of every event's way to the table).
                while batch.len() < max_batch {
                    match sub.next().now_or_never() {
                        Some(Some(e)) => {
                            probe::stage(self.campaign_id.get(), e.seq, Stage::Received);
                            batch.push(e);
                        }
                        _ => break,
                    }
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
        // Shared, not copied: a copy of a big campaign's state per batch was most of
        // the time between an event's commit and its line.
        let state = match self.coordinator.state(self.campaign_id).await {
            Ok((_, s)) => {
                self.narrating = self.gm.narrates(&s);
                Some(s)
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
        // Published first, stored after: the events are in the log already and their
        // lines are made from them, so a crash before the store leaves the feed's
        // cursor before this batch and a restart tells it again (same cursors: a client
        // that got an item skips it, one that did not gets it). Until they are stored
        // the items wait in `unstored`, where a subscriber that replays reads them
        // beside the store (no gap for a late or lagging one).
        let items: Vec<Arc<FeedItem>> = items.into_iter().map(Arc::new).collect();
        self.unstored.hold(&items);
        for item in items {
            self.publish(item);
        }
        self.stamp(batch, Stage::Published);
        if !self.write(&rows, Some(last)).await {
            // Not stored: no prose for it either (a restart tells the batch again from
            // the cursor, prose and all); the feed moves on, and whoever waits for it
            // is not left waiting. Its items stay in `unstored` until a later batch is
            // stored (its events are then in the log's replay, past the cursor).
            self.told.send_replace(last);
            return;
        }
        self.unstored.stored_through(last);
        self.stamp(batch, Stage::Stored);

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
            self.publish(Arc::new(item));
        }
    }

    fn publish(&mut self, item: Arc<FeedItem>) {
        let cursor = item.cursor();
        // No subscriber is fine: the store (or `unstored`) has it.
        let _ = self.live.send(Live {
            prev: self.prev,
            item,
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
