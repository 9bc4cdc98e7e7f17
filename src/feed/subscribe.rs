//! A viewer's subscription to a feed: replay from the store while behind, then live;
//! the one place where feed items are filtered for a viewer.

use super::{Feed, FeedCursor, FeedError, FeedItem, FeedKind, Live, item_from_stored};
use crate::coordinator::Committed;
use dicebard_engine::Viewer;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

/// Store reads that fail in a row before the subscription gives up (the client can
/// subscribe again from its cursor).
const READ_TRIES: u32 = 5;

/// The items of one feed that one viewer may see, after a cursor, in order, with no
/// duplicate and no gap. Get one with [`Feed::subscribe`].
pub struct FeedSubscription {
    feed: Feed,
    viewer: Viewer,
    rx: Option<broadcast::Receiver<Live>>,
    /// The last item of the whole feed this subscription has passed (shown or not).
    pos: FeedCursor,
    backlog: VecDeque<Arc<FeedItem>>,
    caught_up: bool,
    /// The feed task has ended: drain the store, then end.
    closed: bool,
    failures: u32,
}

impl FeedSubscription {
    pub(super) fn new(
        feed: Feed,
        viewer: Viewer,
        after: FeedCursor,
        live: bool,
    ) -> FeedSubscription {
        let rx = if live {
            feed.inner.live.upgrade().map(|tx| tx.subscribe())
        } else {
            None
        };
        FeedSubscription {
            closed: rx.is_none(),
            feed,
            viewer,
            rx,
            pos: after,
            backlog: VecDeque::new(),
            caught_up: false,
            failures: 0,
        }
    }

    /// Where the subscription is: pass it to [`Feed::subscribe`] to resume.
    pub fn cursor(&self) -> FeedCursor {
        self.pos
    }

    /// The last event whose whole telling (its lines, and its batch's prose) this
    /// subscription has gone past, shown or filtered out. A front end that must know
    /// when everything up to an event has been rendered (the terminal, before it says a
    /// command is done) waits for this to reach it, checking again when
    /// [`Feed::told`] moves or the subscription gives an item.
    pub fn passed(&self) -> u64 {
        // `told` is moved after the batch's items are published: read it first, then
        // whether anything published is still waiting here.
        let told = *self.feed.inner.told.borrow();
        let drained = self.caught_up
            && self.backlog.is_empty()
            && self.rx.as_ref().is_none_or(|rx| rx.is_empty());
        if drained {
            told
        } else {
            // Everything filed under an earlier event than the current one was passed.
            told.min(self.pos.seq.saturating_sub(1))
        }
    }

    /// The next item this viewer may see. `None` when the feed has stopped and all it
    /// stored was delivered (or the store cannot be read).
    pub async fn next(&mut self) -> Option<Arc<FeedItem>> {
        loop {
            if let Some(item) = self.backlog.pop_front() {
                if let Some(item) = self.pass(item) {
                    return Some(item);
                }
                continue;
            }
            if !self.caught_up {
                if !self.read_page().await {
                    return None;
                }
                continue;
            }
            if self.closed {
                return None;
            }
            let rx = self.rx.as_mut()?;
            let r = rx.recv().await;
            self.take_live(r);
        }
    }

    /// Like [`FeedSubscription::next`], but `Some(None)` instead of waiting once the
    /// subscription has caught up with the feed and nothing published is waiting here
    /// (everything so far passed, at [`FeedSubscription::cursor`]): a socket's writer
    /// then hands its client to the campaign's fan-out.
    pub async fn next_until_live(&mut self) -> Option<Option<Arc<FeedItem>>> {
        loop {
            if let Some(item) = self.backlog.pop_front() {
                if let Some(item) = self.pass(item) {
                    return Some(Some(item));
                }
                continue;
            }
            if !self.caught_up {
                if !self.read_page().await {
                    return None;
                }
                continue;
            }
            if self.closed {
                return None;
            }
            let r = match self.rx.as_mut()?.try_recv() {
                Ok(live) => Ok(live),
                Err(broadcast::error::TryRecvError::Empty) => return Some(None),
                Err(broadcast::error::TryRecvError::Lagged(n)) => {
                    Err(broadcast::error::RecvError::Lagged(n))
                }
                Err(broadcast::error::TryRecvError::Closed) => {
                    Err(broadcast::error::RecvError::Closed)
                }
            };
            self.take_live(r);
        }
    }

    /// Reads the next page from the store into the backlog, waiting a little after a
    /// failed read; `false` once reads have failed [`READ_TRIES`] times in a row.
    async fn read_page(&mut self) -> bool {
        // Cancel-safe: the backlog changes only once a page has been read.
        // Boxed: a subscriber that waits for live items (a web socket's writer)
        // would otherwise carry the store reads' state inline all the time.
        match Box::pin(self.page()).await {
            Ok(more) => {
                self.failures = 0;
                self.caught_up = !more;
            }
            Err(e) => {
                self.failures += 1;
                if self.failures >= READ_TRIES {
                    tracing::warn!(campaign = self.feed.campaign_id().get(), error = %e, "feed replay failed; ending the subscription");
                    return false;
                }
                tokio::time::sleep(Duration::from_millis(100) * self.failures).await;
            }
        }
        true
    }

    /// The next item this viewer may see if one is here already (published, or read
    /// before), without waiting and without registering to be woken: a writer that
    /// has taken one item takes what came with it this way.
    pub fn try_next(&mut self) -> Option<Arc<FeedItem>> {
        loop {
            if let Some(item) = self.backlog.pop_front() {
                if let Some(item) = self.pass(item) {
                    return Some(item);
                }
                continue;
            }
            if !self.caught_up || self.closed {
                return None;
            }
            let r = match self.rx.as_mut()?.try_recv() {
                Ok(live) => Ok(live),
                Err(broadcast::error::TryRecvError::Empty) => return None,
                Err(broadcast::error::TryRecvError::Lagged(n)) => {
                    Err(broadcast::error::RecvError::Lagged(n))
                }
                Err(broadcast::error::TryRecvError::Closed) => {
                    Err(broadcast::error::RecvError::Closed)
                }
            };
            self.take_live(r);
        }
    }

    /// Files what the live channel gave into the backlog (or notes a gap, a lag or the
    /// end, to be read from the store).
    fn take_live(&mut self, r: Result<Live, broadcast::error::RecvError>) {
        match r {
            Ok(live) => {
                let Some(last) = live.items.last() else {
                    return;
                };
                if last.cursor() <= self.pos {
                    return;
                }
                if live.prev > self.pos {
                    // Something between went by unseen: read it from the store (which
                    // has these items too, or the feed's unstored items do: they are
                    // kept there before they are published).
                    self.caught_up = false;
                    return;
                }
                self.backlog.extend(live.items.iter().cloned());
            }
            Err(broadcast::error::RecvError::Lagged(_)) => self.caught_up = false,
            Err(broadcast::error::RecvError::Closed) => {
                self.closed = true;
                self.caught_up = false;
            }
        }
    }

    /// The next stored item this viewer may see, without waiting for live ones:
    /// `Ok(None)` once everything stored so far has been passed (a page of replay, e.g.
    /// the web's `GET /events`). [`FeedSubscription::next`] may follow it.
    pub async fn next_stored(&mut self) -> Result<Option<Arc<FeedItem>>, FeedError> {
        loop {
            if let Some(item) = self.backlog.pop_front() {
                if let Some(item) = self.pass(item) {
                    return Ok(Some(item));
                }
                continue;
            }
            if self.caught_up {
                return Ok(None);
            }
            self.caught_up = !self.page().await?;
        }
    }

    /// Reads the store again on the next [`FeedSubscription::next_stored`], for what was
    /// stored since it last returned `Ok(None)` (a front end that drains a subscription
    /// step by step, e.g. up to the batch it has just presented).
    pub fn rescan(&mut self) {
        self.caught_up = false;
    }

    /// Moves past `item`; returns it if this viewer may see it. The ONE visibility check.
    fn pass(&mut self, item: Arc<FeedItem>) -> Option<Arc<FeedItem>> {
        let c = item.cursor();
        if c <= self.pos {
            return None;
        }
        self.pos = c;
        item.visible_to(&self.viewer).then_some(item)
    }

    /// Reads the next page after `pos` from the log and the feed's table into the
    /// backlog. `true` when there is more to read.
    async fn page(&mut self) -> Result<bool, FeedError> {
        // Read before the store: an item leaves `unstored` only once it is stored, so
        // whatever is published is in one of the two reads (both, at worst).
        let unstored = self.feed.inner.unstored.after(self.pos);
        let store = self.feed.store();
        let campaign = self.feed.campaign_id();
        let limit = self.feed.inner.options.replay_page.max(1);
        let through = store.feed_cursor(campaign).await?;
        let events = store
            .events_between(campaign, self.pos.seq, through, limit)
            .await?;
        let more = events.len() as u64 >= u64::from(limit);
        let page_through = match events.last() {
            Some(e) if more => e.seq,
            _ => through,
        };
        let rows = store
            .feed_items(campaign, (self.pos.seq, self.pos.part), page_through)
            .await?;
        let mut items: Vec<FeedItem> = Vec::with_capacity(events.len() + rows.len());
        for e in events {
            let seq = e.seq;
            match Committed::from_stored(campaign, e) {
                Ok(c) => items.push(FeedItem {
                    seq,
                    part: 0,
                    visibility: c.event.visibility.clone(),
                    kind: FeedKind::Event { event: Arc::new(c) },
                }),
                Err(err) => {
                    tracing::warn!(campaign = campaign.get(), seq, error = %err, "unreadable event left out of the feed")
                }
            }
        }
        items.extend(rows.into_iter().filter_map(item_from_stored));
        let mut items: Vec<Arc<FeedItem>> = items.into_iter().map(Arc::new).collect();
        if !more {
            // The last page: what the feed has published and not stored yet follows.
            items.extend(unstored);
        }
        items.sort_by_key(|i| i.cursor());
        items.dedup_by_key(|i| i.cursor());
        self.backlog.extend(items);
        Ok(more)
    }
}
