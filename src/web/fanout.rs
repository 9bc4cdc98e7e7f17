//! The live fan-out: a few tasks per campaign (one per worker thread, [`tasks`]; each
//! socket always in the same one) write each batch the feed publishes to every socket
//! of the campaign that is caught up with the feed, without a task wake-up per socket
//! and without awaiting any socket.
//!
//! A socket ([`Conn`]) has a bounded queue of whole messages in front of its sink. The
//! fan-out filters each batch for the socket's viewer ([`FeedItem::visible_to`], the
//! engine's `Visibility::allows`: nothing reaches a socket its viewer may not see),
//! queues the items (each serialised once for every socket), and writes what is queued
//! with [`Conn::pump`]: the sink is polled with the socket writer's waker, so a socket
//! that would block keeps its queue and its writer task is woken to write the rest when
//! the socket takes more; the fan-out goes on to the next socket. A socket whose queue
//! passes its bound is handed back to its writer for a resync snapshot, as is one whose
//! position the fan-out cannot continue from (a gap, the feed lagged or ended): its
//! writer then follows the feed with its own subscription until it has caught up, and
//! hands the socket back to the fan-out ([`Fanouts::join`]).
//!
//! Exactly once, in order: a socket's `pos` is the last item of the feed it has passed
//! (shown or filtered out); the fan-out skips what is at or before it and gives up a
//! socket whose position is before a message's `prev` (as `FeedSubscription` does).

use crate::coordinator::CampaignId;
use crate::coordinator::probe;
use crate::feed::{Feed, FeedCursor, FeedItem};
use axum::extract::ws::{Message, Utf8Bytes};
use dicebard_engine::Viewer;
use futures_util::Sink;
use std::collections::{HashMap, VecDeque};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::task::{Context, Poll, Wake, Waker};
use tokio::sync::{Notify, broadcast};

/// The environment variable that sets how many fan-out tasks a campaign's sockets are
/// spread over (1 to 16; by default as many as the runtime has worker threads, so a
/// big table's writes use every core).
pub const TASKS_ENV: &str = "DICEBARD_WEB_FANOUT_TASKS";

/// Fan-out tasks per campaign (each socket is written by one of them, always the same).
pub fn tasks() -> usize {
    static TASKS: OnceLock<usize> = OnceLock::new();
    *TASKS.get_or_init(|| {
        std::env::var(TASKS_ENV)
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or_else(|| {
                tokio::runtime::Handle::try_current().map_or(1, |h| h.metrics().num_workers())
            })
            .clamp(1, 16)
    })
}

/// Queue slots an idle socket keeps allocated.
const QUEUE_KEPT: usize = 8;

/// A socket's sink, its errors reduced to "the socket is gone".
pub(crate) type BoxSink = Pin<Box<dyn Sink<Message, Error = ()> + Send>>;

/// Who writes a socket's feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Its writer task, from its own subscription (replay, resync, catching up).
    Own,
    /// The campaign's fan-out.
    Live,
    /// Nobody: the socket is closing.
    Closed,
}

/// A whole message waiting for the sink.
pub(crate) struct Queued {
    msg: Message,
    /// The feed item it is (for the resync's cursor), `None` for anything else.
    cursor: Option<FeedCursor>,
    /// An event the fan-out probe follows.
    probe: bool,
}

impl Queued {
    pub(crate) fn control(msg: Message) -> Queued {
        Queued {
            msg,
            cursor: None,
            probe: false,
        }
    }

    pub(crate) fn item(msg: Message, cursor: FeedCursor, probe: bool) -> Queued {
        Queued {
            msg,
            cursor: Some(cursor),
            probe,
        }
    }
}

pub(crate) struct ConnState {
    /// `None` once the writer has taken it to close it.
    sink: Option<BoxSink>,
    pub mode: Mode,
    /// The fan-out dropped this socket's unsent items (its queue passed the bound): the
    /// writer sends a snapshot and follows the feed from there.
    pub resync: bool,
    /// The last item of the feed passed (shown or filtered out).
    pub pos: FeedCursor,
    /// The last item (or snapshot) handed to the sink.
    pub sent: FeedCursor,
    queue: VecDeque<Queued>,
    /// Something was handed to the sink and not flushed yet.
    unflushed: bool,
    /// The sink could not take or flush everything: the writer is woken when it can.
    pub blocked: bool,
    /// A write failed: the socket is gone.
    pub failed: bool,
    /// Probed events handed to the sink, not flushed yet (only while the probe is on).
    probed: Vec<u64>,
}

impl ConnState {
    /// Nothing queued, nothing unflushed.
    pub fn idle(&self) -> bool {
        self.queue.is_empty() && !self.unflushed
    }

    pub fn push(&mut self, q: Queued) {
        self.queue.push_back(q);
    }

    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// The sink, taken out for the end of the socket.
    pub fn take_sink(&mut self) -> Option<BoxSink> {
        self.sink.take()
    }

    /// Drops the queued feed items (messages of the socket's own stay) and asks the
    /// writer for a resync from what was sent.
    fn fall_behind(&mut self) {
        self.queue.retain(|q| q.cursor.is_none());
        self.resync = true;
        self.mode = Mode::Own;
        self.pos = self.sent;
    }
}

/// A sink whose every error is `()` (futures' `sink_map_err` maps only the first one
/// and panics at a second: a socket that failed is polled again to close it).
pub(crate) struct Unit<S>(pub Pin<Box<S>>);

impl<S: Sink<Message>> Sink<Message> for Unit<S> {
    type Error = ();

    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), ()>> {
        self.0.as_mut().poll_ready(cx).map_err(|_| ())
    }

    fn start_send(mut self: Pin<&mut Self>, item: Message) -> Result<(), ()> {
        self.0.as_mut().start_send(item).map_err(|_| ())
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), ()>> {
        self.0.as_mut().poll_flush(cx).map_err(|_| ())
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), ()>> {
        self.0.as_mut().poll_close(cx).map_err(|_| ())
    }
}

/// Wakes a socket's writer task (the waker its sink is polled with).
pub(crate) struct Wakeup(pub Notify);

impl Wake for Wakeup {
    fn wake(self: Arc<Self>) {
        self.0.notify_one();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.notify_one();
    }
}

/// One socket, as its writer task and its campaign's fan-out share it.
pub(crate) struct Conn {
    pub campaign: CampaignId,
    /// Which of the campaign's fan-out tasks writes it.
    shard: usize,
    pub viewer: Viewer,
    /// Queued items past which the socket is resynced instead.
    pub max_queue: usize,
    pub wakeup: Arc<Wakeup>,
    waker: Waker,
    state: Mutex<ConnState>,
}

impl Conn {
    pub(crate) fn new(
        campaign: CampaignId,
        viewer: Viewer,
        sink: BoxSink,
        max_queue: usize,
    ) -> Conn {
        let wakeup = Arc::new(Wakeup(Notify::new()));
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        Conn {
            campaign,
            shard: NEXT.fetch_add(1, Ordering::Relaxed) % tasks(),
            viewer,
            max_queue: max_queue.max(1),
            waker: Waker::from(wakeup.clone()),
            wakeup,
            state: Mutex::new(ConnState {
                sink: Some(sink),
                mode: Mode::Own,
                resync: false,
                pos: FeedCursor::START,
                sent: FeedCursor::START,
                queue: VecDeque::new(),
                unflushed: false,
                blocked: false,
                failed: false,
                probed: Vec::new(),
            }),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, ConnState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes what is queued as far as the sink takes it now, never waiting: a sink
    /// that would block (or a write half another task holds a moment) keeps the rest,
    /// and wakes this socket's writer when it can take more. Flushes at the end: the
    /// items queued together go out in one write.
    pub(crate) fn pump(&self, st: &mut ConnState) {
        let ConnState {
            sink,
            queue,
            unflushed,
            blocked,
            failed,
            sent,
            probed,
            ..
        } = st;
        if *failed {
            return;
        }
        let Some(sink) = sink.as_mut() else {
            return;
        };
        let mut cx = Context::from_waker(&self.waker);
        while !queue.is_empty() {
            match sink.as_mut().poll_ready(&mut cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(())) => {
                    *failed = true;
                    return;
                }
                Poll::Pending => {
                    *blocked = true;
                    return;
                }
            }
            let Some(q) = queue.pop_front() else { break };
            if sink.as_mut().start_send(q.msg).is_err() {
                *failed = true;
                return;
            }
            if let Some(c) = q.cursor {
                *sent = c;
                if q.probe {
                    probed.push(c.seq);
                }
            }
            *unflushed = true;
        }
        if queue.capacity() > QUEUE_KEPT {
            // An idle socket keeps a small queue (a crowd's `here` pages grew it).
            *queue = VecDeque::new();
        }
        if *unflushed {
            match sink.as_mut().poll_flush(&mut cx) {
                Poll::Ready(Ok(())) => {
                    *unflushed = false;
                    for seq in probed.drain(..) {
                        probe::written(self.campaign, seq);
                    }
                }
                Poll::Ready(Err(())) => {
                    *failed = true;
                    return;
                }
                Poll::Pending => {
                    *blocked = true;
                    return;
                }
            }
        }
        *blocked = false;
    }

    fn key(&self) -> Key {
        (self.campaign, self.shard)
    }

    fn wake_writer(&self) {
        self.wakeup.0.notify_one();
    }
}

/// A campaign's fan-out, as the registry and its task share it.
struct Fanout {
    key: Key,
    feed: Feed,
    shared: Mutex<Shared>,
    stop: Notify,
}

struct Shared {
    /// The last item of the last message the task took off the feed (`None` before
    /// the first): a socket that has not passed it cannot join.
    pos: Option<FeedCursor>,
    /// The sockets it writes (copied on change; the task writes from a copy).
    conns: Arc<Vec<Arc<Conn>>>,
    stopped: bool,
}

impl Fanout {
    fn shared(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A campaign's fan-out task, one of [`tasks`] per campaign.
type Key = (CampaignId, usize);

type Registry = Arc<Mutex<HashMap<Key, Arc<Fanout>>>>;

/// Every campaign's fan-out (in the hub): started when a socket first joins, ended when
/// the last one leaves or the feed ends.
#[derive(Default)]
pub struct Fanouts {
    map: Registry,
}

impl Fanouts {
    fn map(&self) -> MutexGuard<'_, HashMap<Key, Arc<Fanout>>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Hands `conn`, whose writer has passed everything of `feed` up to `pos` and has
    /// nothing more from it waiting, to the campaign's fan-out. `true`: from now on the
    /// fan-out writes its feed (its mode is [`Mode::Live`]); `false`: the fan-out has
    /// already written past `pos`, so the writer goes on with its own subscription
    /// (which has what came since) and tries again.
    pub(crate) fn join(&self, feed: &Feed, conn: &Arc<Conn>, pos: FeedCursor) -> bool {
        let mut map = self.map();
        let existing = map
            .get(&conn.key())
            .filter(|f| f.feed.same_as(feed) && !f.shared().stopped)
            .cloned();
        let f = match existing {
            Some(f) => f,
            None => {
                let Some(rx) = feed.live_receiver() else {
                    return false;
                };
                let f = Arc::new(Fanout {
                    key: conn.key(),
                    feed: feed.clone(),
                    shared: Mutex::new(Shared {
                        pos: None,
                        conns: Arc::default(),
                        stopped: false,
                    }),
                    stop: Notify::new(),
                });
                if let Some(old) = map.insert(conn.key(), f.clone()) {
                    stop(&old);
                }
                tokio::spawn(run(f.clone(), rx, self.map.clone()));
                f
            }
        };
        let mut sh = f.shared();
        if sh.pos.is_some_and(|p| p > pos) {
            return false;
        }
        {
            let mut st = conn.lock();
            if st.mode == Mode::Closed {
                return false;
            }
            st.mode = Mode::Live;
            st.pos = pos;
        }
        Arc::make_mut(&mut sh.conns).push(conn.clone());
        true
    }

    /// `conn` is gone (or its writer follows the feed itself again): the fan-out
    /// forgets it, and ends with its last socket.
    pub(crate) fn leave(&self, conn: &Arc<Conn>) {
        let mut map = self.map();
        let Some(f) = map.get(&conn.key()).cloned() else {
            return;
        };
        let mut sh = f.shared();
        if sh.conns.iter().any(|c| Arc::ptr_eq(c, conn)) {
            Arc::make_mut(&mut sh.conns).retain(|c| !Arc::ptr_eq(c, conn));
        }
        if sh.conns.is_empty() {
            sh.stopped = true;
            drop(sh);
            f.stop.notify_one();
            map.remove(&conn.key());
        }
    }

    /// Campaigns with a fan-out running (tests).
    pub fn running(&self) -> usize {
        self.map().len()
    }

    /// The sockets `campaign`'s fan-out writes (tests).
    pub fn sockets(&self, campaign: CampaignId) -> usize {
        self.map()
            .iter()
            .filter(|(k, _)| k.0 == campaign)
            .map(|(_, f)| f.shared().conns.len())
            .sum()
    }
}

/// Leaves the fan-out when a socket's writer ends, however it ends (aborted included):
/// the fan-out never keeps a socket whose writer is gone.
pub(crate) struct Member {
    pub hub: Arc<super::hub::Hub>,
    pub conn: Arc<Conn>,
}

impl Drop for Member {
    fn drop(&mut self) {
        self.conn.lock().mode = Mode::Closed;
        self.hub.fanouts.leave(&self.conn);
    }
}

fn stop(f: &Fanout) {
    f.shared().stopped = true;
    f.stop.notify_one();
}

/// The fan-out task: each message of the feed to every socket that joined.
async fn run(f: Arc<Fanout>, mut rx: broadcast::Receiver<crate::feed::Live>, registry: Registry) {
    loop {
        let r = tokio::select! {
            biased;
            _ = f.stop.notified() => break,
            r = rx.recv() => r,
        };
        match r {
            // Outside tokio's cooperative budget: a task's budget is 128 resource polls
            // a turn, after which every socket's write would answer "not now" (and wake
            // its writer to do it instead): the storm this task exists to avoid.
            Ok(live) => {
                tokio::task::coop::unconstrained(async { deliver(&f, &live) }).await;
                // A turn per message: a busy feed never holds the worker for long.
                tokio::task::yield_now().await;
            }
            Err(broadcast::error::RecvError::Lagged(_)) => {
                // Messages went by unseen: every socket catches up by itself (from the
                // store), then joins again.
                hand_back_all(&f);
            }
            Err(broadcast::error::RecvError::Closed) => {
                hand_back_all(&f);
                break;
            }
        }
    }
    stop(&f);
    hand_back_all(&f);
    let mut map = registry.lock().unwrap_or_else(|e| e.into_inner());
    if map.get(&f.key).is_some_and(|g| Arc::ptr_eq(g, &f)) {
        map.remove(&f.key);
    }
}

/// Every socket back to its writer (which follows the feed from its position).
fn hand_back_all(f: &Fanout) {
    let conns = std::mem::take(&mut f.shared().conns);
    for c in conns.iter() {
        let mut st = c.lock();
        if st.mode == Mode::Live {
            st.mode = Mode::Own;
        }
        drop(st);
        c.wake_writer();
    }
}

/// One message of the feed to every socket of the fan-out: filtered for its viewer,
/// queued, written as far as the socket takes it now.
fn deliver(f: &Fanout, live: &crate::feed::Live) {
    let Some(last) = live.items.last().map(|i| i.cursor()) else {
        return;
    };
    let conns = {
        let mut sh = f.shared();
        sh.pos = Some(sh.pos.map_or(last, |p| p.max(last)));
        sh.conns.clone()
    };
    let campaign = f.feed.campaign_id();
    let probing = probe::enabled();
    let mut texts: Vec<Option<Utf8Bytes>> = vec![None; live.items.len()];
    let mut gone: Vec<&Arc<Conn>> = Vec::new();
    for conn in conns.iter() {
        let mut st = conn.lock();
        if st.mode != Mode::Live || st.failed {
            gone.push(conn);
            continue;
        }
        if live.prev > st.pos {
            // Something before this message went by this socket unseen.
            st.mode = Mode::Own;
            drop(st);
            conn.wake_writer();
            gone.push(conn);
            continue;
        }
        for (item, text) in live.items.iter().zip(texts.iter_mut()) {
            let c = item.cursor();
            if c <= st.pos {
                continue;
            }
            st.pos = c;
            if !item.visible_to(&conn.viewer) {
                continue;
            }
            let text = text.get_or_insert_with(|| serialise(item)).clone();
            let probed = probing && item.part == 0;
            if probed {
                probe::woken(campaign, item.seq);
            }
            st.push(Queued::item(Message::Text(text), c, probed));
        }
        if st.queued() > conn.max_queue {
            // A client that does not read: a snapshot when it does, never a wait here.
            st.fall_behind();
            drop(st);
            conn.wake_writer();
            gone.push(conn);
            continue;
        }
        if !st.blocked {
            conn.pump(&mut st);
            if st.blocked || st.failed {
                // Its writer takes it from here (and times a write that never ends).
                drop(st);
                conn.wake_writer();
            }
        }
    }
    if !gone.is_empty() {
        let mut sh = f.shared();
        Arc::make_mut(&mut sh.conns).retain(|c| !gone.iter().any(|g| Arc::ptr_eq(c, g)));
    }
}

/// A feed item's protocol message (the same bytes for every viewer allowed to see it).
pub(crate) fn serialise(item: &FeedItem) -> Utf8Bytes {
    super::view::item_message(item).to_string().into()
}
