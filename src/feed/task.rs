//! The feed task: batches a campaign's committed events, publishes each batch's events
//! and lines and then files them in the store, then files and publishes its prose.

use super::{
    FeedCursor, FeedError, FeedItem, FeedKind, FeedOptions, Live, Unstored, clamp_text,
    stored_from_item,
};
use crate::coordinator::probe::{self, Stage};
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
            let campaign = self.campaign_id;
            probe::stage(campaign, first.seq, Stage::Received);
            let window = self.narrating.then_some(self.options.window);
            let batch = gather(&mut sub, first, window, max_batch, |e| {
                probe::stage(campaign, e.seq, Stage::Received)
            })
            .await;
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
        let items: Arc<[Arc<FeedItem>]> = items.into_iter().map(Arc::new).collect();
        self.unstored.hold(&items);
        self.publish(items);
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
                probe::stage(self.campaign_id, c.seq, stage);
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
            self.publish(Arc::new([Arc::new(item)]));
        }
    }

    /// Publishes `items` (in feed order) in one message.
    fn publish(&mut self, items: Arc<[Arc<FeedItem>]>) {
        let Some(cursor) = items.last().map(|i| i.cursor()) else {
            return;
        };
        // No subscriber is fine: the store (or `unstored`) has them.
        let _ = self.live.send(Live {
            prev: self.prev,
            items,
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

/// Where the feed task takes committed events from (the coordinator's subscription;
/// a channel in tests).
pub(super) trait Source<T> {
    fn next(&mut self) -> impl Future<Output = Option<T>> + Send;
}

impl Source<Arc<Committed>> for Subscription {
    fn next(&mut self) -> impl Future<Output = Option<Arc<Committed>>> + Send {
        Subscription::next(self)
    }
}

/// A batch: `first`, and what follows it within `window` (one telling for what one
/// command set off), up to `max`. Without a window, what has come already, taken
/// without a timer: a timer, even one already due, fires on the timer wheel's next
/// millisecond tick, which was a millisecond or two of every event's way to the table.
pub(super) async fn gather<T, S: Source<T>>(
    sub: &mut S,
    first: T,
    window: Option<Duration>,
    max: usize,
    mut received: impl FnMut(&T),
) -> Vec<T> {
    let mut batch = vec![first];
    match window {
        Some(window) => {
            let until = Instant::now() + window;
            while batch.len() < max {
                match tokio::time::timeout_at(until, sub.next()).await {
                    Ok(Some(e)) => {
                        received(&e);
                        batch.push(e);
                    }
                    _ => break,
                }
            }
        }
        None => {
            while batch.len() < max {
                match sub.next().now_or_never() {
                    Some(Some(e)) => {
                        received(&e);
                        batch.push(e);
                    }
                    _ => break,
                }
            }
        }
    }
    batch
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::mpsc;

    impl<T: Send> Source<T> for mpsc::UnboundedReceiver<T> {
        fn next(&mut self) -> impl Future<Output = Option<T>> + Send {
            self.recv()
        }
    }

    /// Without an LLM window a batch is what has come, gathered without waiting on the
    /// clock at all (paused time: any timer, even a zero one, would move it).
    #[tokio::test(start_paused = true)]
    async fn a_batch_without_a_window_waits_for_no_timer() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        tx.send(2).unwrap();
        tx.send(3).unwrap();
        // Off the millisecond (as real time always is): a timer due now would wait for
        // the wheel's next tick.
        tokio::time::advance(Duration::from_micros(300)).await;
        let t0 = Instant::now();
        let mut seen = Vec::new();
        let batch = gather(&mut rx, 1, None, 64, |e| seen.push(*e)).await;
        assert_eq!(batch, [1, 2, 3]);
        assert_eq!(seen, [2, 3]);
        assert_eq!(Instant::now(), t0, "the batch waited on a timer");
        // At most `max`, the rest left for the next batch.
        tx.send(5).unwrap();
        tx.send(6).unwrap();
        assert_eq!(gather(&mut rx, 4, None, 2, |_| {}).await, [4, 5]);
        assert_eq!(rx.recv().await, Some(6));
    }

    /// With a window, what comes within it joins the batch.
    #[tokio::test(start_paused = true)]
    async fn a_window_gathers_what_comes_within_it() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let sender = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            tx.send(2).unwrap();
            tokio::time::sleep(Duration::from_millis(500)).await;
            tx.send(3).unwrap();
        });
        let batch = gather(&mut rx, 1, Some(Duration::from_millis(300)), 64, |_| {}).await;
        assert_eq!(batch, [1, 2]);
        sender.await.unwrap();
        assert_eq!(rx.recv().await, Some(3));
    }
}
