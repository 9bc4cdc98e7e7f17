//! The table feed: one campaign's story as a single, durable, ordered stream of items
//! that every front end renders for its viewer.
//!
//! # What it owns
//! One feed task per campaign ([`Feed::start`], or [`Feeds`] for the composition root)
//! does, once for every front end: it follows the coordinator's committed events from
//! its durable cursor, batches them (one telling per command's fallout: a short
//! coalescing window, [`FeedOptions::window`]), takes one snapshot per batch and emits,
//! in order:
//!
//! * for each event, a [`FeedKind::Event`] item and the built-in narrator's
//!   [`FeedKind::Line`] for it (if it has one);
//! * then the batch's prose from ONE [`GameMaster::story`] call, streamed as
//!   [`FeedKind::ProseStart`], [`FeedKind::ProseChunk`] (one per sentence, with its own
//!   visibility and [`NarrationSource`]) and [`FeedKind::ProseEnd`], with the LLM's
//!   GM-only [`FeedKind::Notice`]s where they come.
//!
//! Everything but the events themselves (which the log holds) is stored
//! (`src/store/feed.rs`, migration 0003), and the feed's cursor moves with each batch's
//! lines in one transaction, so a restarted bot or a reconnecting client replays
//! exactly the words that were told: the LLM is never asked twice for a batch. The
//! prose is stored *before* it is published. A batch's events and lines are published
//! first and stored right after (they are made from the committed events alone, so
//! nothing waits for a second fsync): until the store has them they are kept in memory
//! ([`Unstored`]) and a replaying subscriber reads them there, and a crash before the
//! store leaves the cursor before the batch, so a restart tells it again under the same
//! cursors (a client that got an item skips it; none is lost). A batch whose prose was
//! cut off by a crash is closed with a `ProseEnd` on restart, not told again.
//!
//! # Order and cursors
//! Items are ordered by [`FeedCursor`] `(seq, part)`: part 0 is event `seq`, part 1 its
//! line, parts 2.. the prose told after event `seq` (the last event of its batch). A
//! client resumes with the cursor of the last item it got ([`Feed::subscribe`]), even
//! in the middle of a batch's prose, and gets no duplicate and no gap.
//!
//! # Visibility
//! [`FeedSubscription`] is the ONE place where items are filtered for a viewer, with the
//! engine's [`Visibility::allows`]: events and lines carry the event's visibility, prose
//! sentences the narration's, notices are GM-only, prose start/end markers are public.
//!
//! # What it must not touch
//! It never decides anything (the engine does) and never writes the event log; it reads
//! committed events through the coordinator and the store's read side only. It knows no
//! front end: the texts are plain (no Markdown; a renderer escapes them for its medium),
//! and Discord, terminal, voice and web turn items into their own IO. It does not batch
//! for a front end's rate limits (the Discord presenter paces its own edits).

mod subscribe;
mod task;

pub use subscribe::FeedSubscription;

use crate::coordinator::{CampaignId, Committed, Coordinator, SubmitError};
use crate::gm::GameMaster;
use crate::narrator::NarrationSource;
use crate::store::feed::StoredFeedItem;
use crate::store::{Store, StoreError};
use dicebard_engine::{PlayerId, Viewer, Visibility};
use serde::{Serialize, Serializer};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{broadcast, watch};

/// A position in a campaign's feed: part 0 is event `seq`, part 1 its line, parts 2..
/// the prose told after it. Ordered; [`FeedCursor::START`] is before everything.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
pub struct FeedCursor {
    pub seq: u64,
    pub part: u32,
}

impl FeedCursor {
    /// Before the first item.
    pub const START: FeedCursor = FeedCursor { seq: 0, part: 0 };

    pub fn new(seq: u64, part: u32) -> FeedCursor {
        FeedCursor { seq, part }
    }
}

/// One item of the feed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeedItem {
    /// The event it is filed under.
    pub seq: u64,
    /// Its place under `seq` (see [`FeedCursor`]).
    pub part: u32,
    /// Who may see it.
    pub visibility: Visibility,
    #[serde(flatten)]
    pub kind: FeedKind,
}

impl FeedItem {
    pub fn cursor(&self) -> FeedCursor {
        FeedCursor::new(self.seq, self.part)
    }

    /// Whether `viewer` may see this item (the engine's rule, nothing added).
    pub fn visible_to(&self, viewer: &Viewer) -> bool {
        self.visibility.allows(viewer)
    }
}

/// What a feed item is. Serialised as `{"type": "line", "text": …}` and so on; an event
/// as `{"type": "event", "event": {"seq", "event", "origin"}}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FeedKind {
    /// A committed event.
    Event {
        #[serde(serialize_with = "committed_json")]
        event: Arc<Committed>,
    },
    /// The built-in narrator's line for the event (the mechanics, every number).
    Line { text: String },
    /// The batch's prose begins.
    ProseStart,
    /// One sentence of the batch's prose. `source` says whether the LLM wrote it or the
    /// built-in narrator stood in (a renderer that shows the lines already may skip
    /// built-in sentences).
    ProseChunk {
        text: String,
        source: NarrationSource,
    },
    /// The batch's prose is complete.
    ProseEnd,
    /// A notice for the GM (the LLM stopped working, or works again).
    Notice { text: String },
}

fn committed_json<S: Serializer>(c: &Arc<Committed>, s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct View<'a> {
        seq: u64,
        event: &'a dicebard_engine::Event,
        origin: &'a crate::coordinator::Origin,
    }
    View {
        seq: c.seq,
        event: &c.event,
        origin: &c.origin,
    }
    .serialize(s)
}

/// Tunables.
#[derive(Debug, Clone)]
pub struct FeedOptions {
    /// How long the feed waits for more events after the first of a batch (one telling
    /// for what one command set off, monster turns included).
    pub window: Duration,
    /// The most events told in one batch (one LLM prompt).
    pub max_batch: usize,
    /// Messages a live subscriber may fall behind before it resyncs from the store (a
    /// batch's events and lines are one message, each prose item another).
    pub live_buffer: usize,
    /// Events read per page when a subscriber replays from the store.
    pub replay_page: u32,
    /// The most prose items (sentences and notices) kept of one batch.
    pub max_prose_items: u32,
    /// The longest text of one item, in characters (longer is cut).
    pub max_text_chars: usize,
}

impl Default for FeedOptions {
    fn default() -> Self {
        FeedOptions {
            window: Duration::from_millis(300),
            max_batch: 64,
            live_buffer: 1024,
            replay_page: 256,
            max_prose_items: 400,
            max_text_chars: 4000,
        }
    }
}

/// Why a feed could not start or read.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Coordinator(#[from] SubmitError),
}

/// What the feed task publishes: items in feed order (a batch's events and lines in
/// one message, so each subscriber wakes once for them), and the item before the first
/// of them in the feed, so a subscriber sees a gap at once.
#[derive(Clone)]
pub(crate) struct Live {
    pub prev: FeedCursor,
    pub items: Arc<[Arc<FeedItem>]>,
}

/// How many published-but-unstored items are kept at most (only a store that keeps
/// failing gets near it; past it the oldest go, their events still in the log).
const MAX_UNSTORED: usize = 4096;

/// A batch's events and lines between being published and being stored (the feed
/// task publishes them first): a subscriber that replays reads them beside the store,
/// so the order of the two leaves it no gap.
#[derive(Default)]
pub(crate) struct Unstored(Mutex<Vec<Arc<FeedItem>>>);

impl Unstored {
    /// Keeps `items` (about to be published) until they are stored.
    pub(crate) fn hold(&self, items: &[Arc<FeedItem>]) {
        let mut v = self.0.lock().unwrap_or_else(|e| e.into_inner());
        v.extend(items.iter().cloned());
        if v.len() > MAX_UNSTORED {
            let cut = v.len() - MAX_UNSTORED;
            v.drain(..cut);
        }
    }

    /// The store has everything filed under events up to `seq`.
    pub(crate) fn stored_through(&self, seq: u64) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|i| i.seq > seq);
    }

    /// The items after `pos`, in order.
    pub(crate) fn after(&self, pos: FeedCursor) -> Vec<Arc<FeedItem>> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|i| i.cursor() > pos)
            .cloned()
            .collect()
    }
}

struct Inner {
    campaign_id: CampaignId,
    coordinator: Coordinator,
    options: FeedOptions,
    /// The task holds the only strong sender: when it ends, subscribers see `Closed`.
    live: broadcast::WeakSender<Live>,
    /// The last event whose batch has been told completely (prose included).
    told: watch::Receiver<u64>,
    /// Published items the store does not have yet.
    unstored: Arc<Unstored>,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Ok(mut t) = self.task.lock()
            && let Some(t) = t.take()
        {
            t.abort();
        }
    }
}

/// One campaign's feed. Cheap to clone; the task stops with [`Feed::stop`] or when the
/// last handle (and subscription) is dropped.
#[derive(Clone)]
pub struct Feed {
    inner: Arc<Inner>,
}

impl Feed {
    /// Starts the feed task for `campaign_id`: it tells every committed event after its
    /// stored cursor (a new campaign's from the first), then follows the campaign live.
    pub async fn start(
        coordinator: Coordinator,
        gm: GameMaster,
        campaign_id: CampaignId,
        options: FeedOptions,
    ) -> Result<Feed, FeedError> {
        let (task, live, told, unstored) =
            task::Teller::start(coordinator.clone(), gm, campaign_id, options.clone()).await?;
        Ok(Feed {
            inner: Arc::new(Inner {
                campaign_id,
                coordinator,
                options,
                live,
                told,
                unstored,
                task: Mutex::new(Some(task)),
            }),
        })
    }

    pub fn campaign_id(&self) -> CampaignId {
        self.inner.campaign_id
    }

    /// Whether `other` is a handle of this very feed (not a later one of the campaign).
    pub(crate) fn same_as(&self, other: &Feed) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// The feed's live messages, unfiltered, from now on (`None` once the task has
    /// ended): for a fan-out that filters each message for many viewers with
    /// [`FeedItem::visible_to`] and checks [`Live::prev`] against each one's position,
    /// as [`FeedSubscription`] does.
    pub(crate) fn live_receiver(&self) -> Option<broadcast::Receiver<Live>> {
        self.inner.live.upgrade().map(|tx| tx.subscribe())
    }

    /// The items after `after` that `viewer` may see, in order: from the store while
    /// the subscriber is behind (or lagged), then live.
    pub fn subscribe(&self, viewer: Viewer, after: FeedCursor) -> FeedSubscription {
        FeedSubscription::new(self.clone(), viewer, after, true)
    }

    /// Like [`Feed::subscribe`], read from the store only (no live part): drained with
    /// [`FeedSubscription::next_stored`] and [`FeedSubscription::rescan`] by a front end
    /// that follows the feed through another subscription and catches this one up to it
    /// (Discord's DMs, one per recipient). Filtered by the same one check.
    pub fn subscribe_stored(&self, viewer: Viewer, after: FeedCursor) -> FeedSubscription {
        FeedSubscription::new(self.clone(), viewer, after, false)
    }

    /// The last event whose batch has been told completely (its prose ended). Tests and
    /// front ends that must wait for a telling watch this.
    pub fn told(&self) -> watch::Receiver<u64> {
        self.inner.told.clone()
    }

    /// Stops the task (a batch in progress stays as stored; a restarted feed closes
    /// its prose). Subscriptions drain what is stored, then end.
    pub async fn stop(&self) {
        let task = self.inner.task.lock().ok().and_then(|mut t| t.take());
        if let Some(task) = task {
            task.abort();
            let _ = task.await;
        }
    }

    fn store(&self) -> &Store {
        self.inner.coordinator.store()
    }
}

/// Every campaign's feed, started on first use; owned by the composition root.
#[derive(Clone)]
pub struct Feeds {
    coordinator: Coordinator,
    gm: GameMaster,
    options: FeedOptions,
    feeds: Arc<tokio::sync::Mutex<HashMap<CampaignId, Feed>>>,
}

impl Feeds {
    pub fn new(coordinator: Coordinator, gm: GameMaster, options: FeedOptions) -> Feeds {
        Feeds {
            coordinator,
            gm,
            options,
            feeds: Arc::default(),
        }
    }

    /// The campaign's feed, started if it is not running.
    pub async fn feed(&self, campaign_id: CampaignId) -> Result<Feed, FeedError> {
        let mut feeds = self.feeds.lock().await;
        if let Some(f) = feeds.get(&campaign_id)
            && f.inner.live.upgrade().is_some()
        {
            return Ok(f.clone());
        }
        let f = Feed::start(
            self.coordinator.clone(),
            self.gm.clone(),
            campaign_id,
            self.options.clone(),
        )
        .await?;
        feeds.insert(campaign_id, f.clone());
        Ok(f)
    }

    /// Stops every feed.
    pub async fn stop_all(&self) {
        let feeds: Vec<Feed> = self.feeds.lock().await.drain().map(|(_, f)| f).collect();
        for f in feeds {
            f.stop().await;
        }
    }
}

/// The storage form of a visibility (as in the event log).
fn visibility_key(v: &Visibility) -> String {
    v.key()
}

/// Reads a stored visibility; anything unreadable is GM-only (never shown too widely).
fn visibility_from_key(k: &str) -> Visibility {
    match k {
        "public" => Visibility::Public,
        "party" => Visibility::Party,
        "gm" => Visibility::Gm,
        _ => match k.strip_prefix("player:") {
            Some(p) if !p.is_empty() => Visibility::Player(PlayerId::new(p)),
            _ => Visibility::Gm,
        },
    }
}

fn source_key(s: NarrationSource) -> &'static str {
    match s {
        NarrationSource::Llm => "llm",
        NarrationSource::Builtin => "builtin",
    }
}

/// A stored row back into an item (`None` for a row this version does not know).
fn item_from_stored(r: StoredFeedItem) -> Option<FeedItem> {
    let kind = match r.kind.as_str() {
        "line" => FeedKind::Line { text: r.text },
        "prose_start" => FeedKind::ProseStart,
        "prose_chunk" => FeedKind::ProseChunk {
            text: r.text,
            source: match r.source.as_deref() {
                Some("llm") => NarrationSource::Llm,
                _ => NarrationSource::Builtin,
            },
        },
        "prose_end" => FeedKind::ProseEnd,
        "notice" => FeedKind::Notice { text: r.text },
        _ => return None,
    };
    Some(FeedItem {
        seq: r.seq,
        part: r.part,
        visibility: visibility_from_key(&r.visibility),
        kind,
    })
}

/// An item (not an event) into its stored row.
fn stored_from_item(item: &FeedItem, told_seq: u64) -> Option<StoredFeedItem> {
    let (kind, text, source) = match &item.kind {
        FeedKind::Event { .. } => return None,
        FeedKind::Line { text } => ("line", text.clone(), None),
        FeedKind::ProseStart => ("prose_start", String::new(), None),
        FeedKind::ProseChunk { text, source } => {
            ("prose_chunk", text.clone(), Some(source_key(*source)))
        }
        FeedKind::ProseEnd => ("prose_end", String::new(), None),
        FeedKind::Notice { text } => ("notice", text.clone(), None),
    };
    Some(StoredFeedItem {
        seq: item.seq,
        part: item.part,
        kind: kind.into(),
        visibility: visibility_key(&item.visibility),
        told_seq,
        source: source.map(str::to_string),
        text,
    })
}

/// Cuts `text` to at most `max` characters (on a character boundary).
fn clamp_text(text: String, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => text[..i].to_string(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_order_events_lines_then_prose() {
        let a = FeedCursor::new(3, 0);
        assert!(FeedCursor::START < a);
        assert!(a < FeedCursor::new(3, 1));
        assert!(FeedCursor::new(3, 7) < FeedCursor::new(4, 0));
    }

    #[test]
    fn unreadable_visibility_is_gm_only() {
        assert_eq!(visibility_from_key("player:"), Visibility::Gm);
        assert_eq!(visibility_from_key("nonsense"), Visibility::Gm);
        assert_eq!(
            visibility_from_key("player:alice"),
            Visibility::Player(PlayerId::new("alice"))
        );
        for v in [Visibility::Public, Visibility::Party, Visibility::Gm] {
            assert_eq!(visibility_from_key(&v.key()), v);
        }
    }

    #[test]
    fn items_round_trip_through_storage() {
        let items = [
            FeedKind::Line { text: "A.".into() },
            FeedKind::ProseStart,
            FeedKind::ProseChunk {
                text: "B.".into(),
                source: NarrationSource::Llm,
            },
            FeedKind::ProseChunk {
                text: "C.".into(),
                source: NarrationSource::Builtin,
            },
            FeedKind::ProseEnd,
            FeedKind::Notice { text: "D".into() },
        ];
        for (i, kind) in items.into_iter().enumerate() {
            let item = FeedItem {
                seq: 9,
                part: i as u32 + 1,
                visibility: Visibility::Player(PlayerId::new("bo")),
                kind,
            };
            let back = item_from_stored(stored_from_item(&item, 8).unwrap()).unwrap();
            assert_eq!(back, item);
        }
    }

    #[test]
    fn texts_are_cut_on_a_character_boundary() {
        assert_eq!(clamp_text("héllo".into(), 2), "hé");
        assert_eq!(clamp_text("hi".into(), 5), "hi");
    }

    #[test]
    fn items_serialise_for_a_web_client() {
        let item = FeedItem {
            seq: 4,
            part: 3,
            visibility: Visibility::Party,
            kind: FeedKind::ProseChunk {
                text: "The torch gutters.".into(),
                source: NarrationSource::Llm,
            },
        };
        let v = serde_json::to_value(&item).unwrap();
        assert_eq!(v["type"], "prose_chunk");
        assert_eq!(v["text"], "The torch gutters.");
        assert_eq!(v["source"], "llm");
        assert_eq!(v["seq"], 4);
        assert_eq!(v["part"], 3);
        assert_eq!(v["visibility"]["to"], "party");
    }
}
