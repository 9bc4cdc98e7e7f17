//! The WebSocket half of the protocol (docs/web-protocol.md, section 4).
//!
//! One socket = a reader loop (client messages, kicks, presence, shutdown) and a writer
//! task ([`write`]: the reader's bounded queue, pings and, after `hello`, the feed for
//! the session's viewer, written straight to the socket). A client that falls behind
//! the feed is resynced with a snapshot; it never slows the feed, the campaign or other
//! clients.

use super::WebState;
use super::api::{self, ApiError};
use super::auth::{self, Session};
use super::fanout::{Conn, Mode, Queued};
use super::view;
use crate::coordinator::probe;
use crate::feed::{Feed, FeedCursor, FeedItem, FeedSubscription};
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::{Sink, SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Messages (welcome, snapshot, presence, pongs, errors) queued for one client's
/// writer; past it, presence messages are dropped.
pub const QUEUE: usize = 256;
/// A client whose next feed item is this many events behind what the feed has told
/// gets a snapshot instead of the items in between.
pub const MAX_BEHIND: u64 = 128;
/// A client this many events behind gets a snapshot instead of a replay.
pub const MAX_REPLAY_EVENTS: u64 = 5000;
/// How long a new socket may take to say `hello`.
const HELLO_TIMEOUT: Duration = Duration::from_secs(30);
const PING_EVERY: Duration = Duration::from_secs(20);
/// A write that takes longer ends the socket (the client reconnects with its cursor).
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// `GET /api/v1/ws`
pub async fn upgrade(
    State(state): State<WebState>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if !auth::same_origin(&headers, state.public_origin.as_deref()) {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "bad_origin",
            "This socket must come from the table's own page.",
        )
        .into_response();
    }
    let s = match api::session(&state, &headers).await {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    // Small buffers: an idle client costs little (tungstenite's defaults are 128 KiB
    // each way, and it zero-fills its whole read buffer on every read); clients send
    // small messages (hello, ping: actions go by REST), and a bigger frame grows it
    // for that frame. Messages are written once 1 KiB is buffered or the writer flushes
    // (after what the feed published together: an event and its line in one write).
    ws.max_message_size(super::MAX_BODY)
        .max_frame_size(super::MAX_BODY)
        .read_buffer_size(256)
        .write_buffer_size(1024)
        .on_upgrade(move |socket| run(state, s, socket))
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum ClientMsg {
    Hello {
        v: u32,
        #[serde(default)]
        last: Option<FeedCursor>,
    },
    Ping {
        #[serde(default)]
        nonce: Value,
    },
}

/// A client's text frame as a protocol message; `None` for anything else (answered
/// with `bad_message`).
pub(crate) fn parse_client(text: &str) -> Option<ClientMsg> {
    serde_json::from_str(text).ok()
}

fn msg(v: &Value) -> Message {
    Message::Text(v.to_string().into())
}

fn error(code: &str, message: &str) -> Message {
    msg(&json!({"type": "error", "code": code, "message": message}))
}

fn close(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }))
}

/// What a socket's reader hands its writer, in order. Boxed: a queue keeps a few
/// blocks of 32 slots each, per socket, for as long as it is open; a slot of a pointer
/// rather than of a message makes an idle socket ~4 KiB smaller.
pub(crate) enum Out {
    /// A message to send as it is.
    Msg(Box<Message>),
    /// From now on, also the feed for the session's viewer, after this cursor.
    Follow(Box<(Feed, FeedCursor)>),
}

/// How a socket's writer runs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WriterOptions {
    /// A ping this often (real sockets; `None` in tests).
    pub ping: Option<Duration>,
    /// A client whose next item is this many events behind what the feed has told is
    /// resynced with a snapshot instead.
    pub max_behind: u64,
}

impl WriterOptions {
    pub(crate) fn socket() -> Self {
        WriterOptions {
            ping: Some(PING_EVERY),
            max_behind: MAX_BEHIND,
        }
    }
}

/// Why a writer stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ended {
    /// The reader is gone, or a close frame was sent.
    Closed,
    /// A write failed or timed out (the client is gone).
    Socket,
    /// The feed ended or cannot be read (the client was told so).
    Feed,
}

async fn run(state: WebState, s: Session, socket: WebSocket) {
    let (sink, mut stream) = socket.split();
    let (out, out_rx) = mpsc::channel::<Out>(QUEUE);
    let mut writer = tokio::spawn(write(
        state.clone(),
        s.clone(),
        sink,
        out_rx,
        WriterOptions::socket(),
    ));
    let mut writer_done = false;
    let mut kicks = state.table.kicks();
    let mut presence = state.hub.presence();
    let mut closing = state.hub.closing.subscribe();
    // Boxed: an idle socket's task would otherwise keep the timer inline after hello.
    let mut hello_deadline = Some(Box::pin(tokio::time::sleep(HELLO_TIMEOUT)));
    let mut following = false;
    // A closing message for the client, if the server ends the socket.
    let mut farewell: Option<(Message, Message)> = None;
    loop {
        tokio::select! {
            m = stream.next() => {
                let m = match m {
                    None | Some(Ok(Message::Close(_))) => break,
                    Some(Err(e)) => {
                        if e.to_string().contains("too long") || e.to_string().contains("too big") {
                            farewell = Some((
                                error("too_large", "A frame or message over 64 KiB; reconnect with your last cursor."),
                                close(1009, "message too large"),
                            ));
                        }
                        break;
                    }
                    Some(Ok(m)) => m,
                };
                let text = match &m {
                    Message::Text(t) => t.as_str(),
                    Message::Binary(_) => {
                        let _ = out.try_send(out_msg(error("bad_message", "Text frames only: one JSON message each.")));
                        continue;
                    }
                    _ => continue,
                };
                match parse_client(text) {
                    Some(ClientMsg::Ping { nonce }) => {
                        let _ = out.try_send(out_msg(msg(&json!({"type": "pong", "nonce": nonce}))));
                    }
                    Some(ClientMsg::Hello { v, .. }) if v != 1 => {
                        farewell = Some((
                            error("unsupported_version", "This server speaks protocol version 1."),
                            close(1002, "unsupported version"),
                        ));
                        break;
                    }
                    Some(ClientMsg::Hello { last, .. }) => {
                        if following {
                            let _ = out.try_send(out_msg(error("bad_message", "hello was already said.")));
                            continue;
                        }
                        // Boxed: an idle socket's task would otherwise carry the
                        // state of this once-only call (snapshot, store reads) inline.
                        match Box::pin(start(&state, &s, last, &out)).await {
                            Ok(()) => {
                                following = true;
                                hello_deadline = None;
                            }
                            Err(()) => {
                                farewell = Some((
                                    error("unavailable", "The campaign's story cannot be read now; try again."),
                                    close(1011, "unavailable"),
                                ));
                                break;
                            }
                        }
                    }
                    None => {
                        let _ = out.try_send(out_msg(error(
                            "bad_message",
                            "Expected a JSON message with a \"type\": hello or ping.",
                        )));
                    }
                }
            }
            k = kicks.recv() => {
                let gone = match k {
                    Ok(id) => id == s.id,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => !Box::pin(
                        state
                            .store()
                            .web_session_live(s.id, view::now_ms() as i64),
                    )
                    .await
                    .unwrap_or(true),
                    Err(_) => false,
                };
                if gone {
                    farewell = Some((
                        error("kicked", "The GM ended this session."),
                        close(4001, "kicked"),
                    ));
                    break;
                }
            }
            p = presence.recv(), if following => {
                if let Ok((campaign, m)) = p
                    && campaign == s.campaign_id
                {
                    let _ = out.try_send(out_msg(Message::Text(m)));
                }
            }
            _ = closing.changed() => {
                farewell = Some((error("unavailable", "The server is shutting down."), close(1001, "shutting down")));
                break;
            }
            _ = async { hello_deadline.as_mut().unwrap().await }, if hello_deadline.is_some() => {
                farewell = Some((error("bad_message", "No hello."), close(1008, "no hello")));
                break;
            }
            _ = &mut writer => {
                // The socket is gone, or the feed ended (the writer said so).
                writer_done = true;
                break;
            }
        }
    }
    if following {
        state.hub.leave(&s);
        state
            .table
            .disconnected(s.campaign_id, "web", s.role, s.player.as_ref());
    }
    if let Some((e, c)) = farewell.filter(|_| !writer_done) {
        // Past a full queue: these two must go out, so wait (briefly) for room.
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            let _ = out.send(out_msg(e)).await;
            let _ = out.send(out_msg(c)).await;
        })
        .await;
    }
    drop(out);
    if !writer_done
        && tokio::time::timeout(Duration::from_secs(2), &mut writer)
            .await
            .is_err()
    {
        writer.abort();
    }
}

fn out_msg(m: Message) -> Out {
    Out::Msg(Box::new(m))
}

/// Answers `hello`: `welcome`, a snapshot when needed, presence; then tells the writer
/// to follow the feed.
pub(crate) async fn start(
    state: &WebState,
    s: &Session,
    last: Option<FeedCursor>,
    out: &mpsc::Sender<Out>,
) -> Result<(), ()> {
    let feed = state.feeds.feed(s.campaign_id).await.map_err(|e| {
        tracing::warn!(campaign = s.campaign_id.get(), error = %e, "the feed could not start");
    })?;
    let (snap_cursor, scene) = api::scene(state, s.campaign_id).await.map_err(|_| ())?;
    let replay =
        last.filter(|l| l.seq <= snap_cursor.seq && snap_cursor.seq - l.seq <= MAX_REPLAY_EVENTS);
    let name = scene["campaign"]["name"].clone();
    let welcome = json!({
        "type": "welcome",
        "v": 1,
        "role": s.role.key(),
        "campaign": {"id": s.campaign_id, "name": name},
        "player": s.player.as_ref().map(|p| p.as_str()),
        "resume": if replay.is_some() { "replay" } else { "snapshot" },
    });
    let _ = out.try_send(out_msg(msg(&welcome)));
    let from = match replay {
        Some(l) => l,
        None => {
            let _ = out.try_send(out_msg(snapshot_msg(snap_cursor, scene)));
            snap_cursor
        }
    };
    let here = state.hub.join(s);
    state.table.connected(
        s.campaign_id,
        "web",
        s.role,
        s.player.as_ref(),
        s.name.as_deref(),
    );
    for m in &here {
        let _ = out.try_send(out_msg(msg(m)));
    }
    if out.try_send(Out::Follow(Box::new((feed, from)))).is_err() {
        state.hub.leave(s);
        state
            .table
            .disconnected(s.campaign_id, "web", s.role, s.player.as_ref());
        return Err(());
    }
    Ok(())
}

fn snapshot_msg(cursor: FeedCursor, scene: Value) -> Message {
    msg(&json!({"type": "snapshot", "cursor": view::cursor_json(cursor), "data": scene}))
}

/// The feed as one socket's writer follows it.
struct Following {
    feed: Feed,
    /// Its own subscription while it writes the feed itself ([`Mode::Own`]); `None`
    /// while the campaign's fan-out does.
    sub: Option<FeedSubscription>,
    /// What the feed has told (the last event of its last batch).
    told: tokio::sync::watch::Receiver<u64>,
    /// What the feed had told when the socket began to follow it: up to there the
    /// client is being replayed what it missed (at most [`MAX_REPLAY_EVENTS`]), not
    /// falling behind.
    replay_until: u64,
    /// Whether the subscription, once caught up, hands the socket to the fan-out (off
    /// after the fan-out said it was ahead, until the subscription gives an item).
    hand_over: bool,
}

/// The subscription's next item, or `Some(None)` when it has caught up (and the socket
/// is to be handed over).
async fn next_item(f: &mut Option<Following>) -> Option<Option<Arc<FeedItem>>> {
    match f {
        Some(Following {
            sub: Some(sub),
            hand_over,
            ..
        }) => {
            if *hand_over {
                sub.next_until_live().await
            } else {
                sub.next().await.map(Some)
            }
        }
        _ => std::future::pending().await,
    }
}

/// Items of the feed taken from the writer's own subscription per write.
const BATCH: usize = 32;

/// A socket's writer: the reader's messages in order and, once it says `Follow`, the
/// feed for the session's viewer. While the client catches up (a reconnect's replay,
/// a resync) the writer follows the feed itself; once it has caught up it hands the
/// socket to the campaign's fan-out ([`super::fanout`]), which writes each new batch to
/// every caught-up socket of the campaign from one task, and the writer only wakes when
/// the socket would block, the fan-out gives it back, or the reader has something.
/// All writes go through the socket's bounded queue and [`Conn::pump`], never awaiting
/// the socket: a socket that cannot take more within [`WRITE_TIMEOUT`] ends. A client
/// that falls behind (more than `max_behind` events behind the feed, or that many
/// items queued) is resynced with a snapshot, then followed from there; it never slows
/// the feed or other clients.
pub(crate) async fn write<S>(
    state: WebState,
    s: Session,
    sink: S,
    mut rx: mpsc::Receiver<Out>,
    options: WriterOptions,
) -> Ended
where
    S: Sink<Message> + Send + 'static,
{
    let viewer = s.viewer();
    let max_queue = usize::try_from(options.max_behind).unwrap_or(usize::MAX);
    let conn = Arc::new(Conn::new(
        s.campaign_id,
        viewer.clone(),
        Box::pin(super::fanout::Unit(Box::pin(sink))),
        max_queue,
    ));
    let _member = super::fanout::Member {
        hub: state.hub.clone(),
        conn: conn.clone(),
    };
    let mut ping = options.ping.map(|every| {
        Box::pin(tokio::time::interval_at(
            tokio::time::Instant::now() + every,
            every,
        ))
    });
    let mut follow: Option<Following> = None;
    // A close frame is queued: nothing more is taken, and the writer ends once it is out.
    let mut closing = false;
    let mut blocked_since: Option<tokio::time::Instant> = None;
    let ended = loop {
        let (blocked, mode, resync) = {
            let st = conn.lock();
            if st.failed {
                break Ended::Socket;
            }
            if closing && st.idle() {
                break Ended::Closed;
            }
            (st.blocked, st.mode, st.resync)
        };
        if blocked {
            blocked_since.get_or_insert_with(tokio::time::Instant::now);
        } else {
            blocked_since = None;
        }
        if let Some(f) = follow.as_mut()
            && mode == Mode::Own
            && !closing
        {
            if resync {
                // Fallen behind: a snapshot, then on from there (never from before what
                // the client already has).
                let Ok((cursor, scene)) = Box::pin(api::scene(&state, s.campaign_id)).await else {
                    break Ended::Feed;
                };
                let mut st = conn.lock();
                let cursor = cursor.max(st.sent);
                st.push(Queued::control(snapshot_msg(cursor, scene)));
                st.sent = cursor;
                st.pos = cursor;
                st.resync = false;
                conn.pump(&mut st);
                drop(st);
                f.sub = Some(f.feed.subscribe(viewer.clone(), cursor));
                f.hand_over = true;
                continue;
            }
            if f.sub.is_none() {
                // The fan-out gave the socket back (a gap, or the feed lagged or
                // ended): on from where it is, by the writer's own subscription.
                let pos = conn.lock().pos;
                f.sub = Some(f.feed.subscribe(viewer.clone(), pos));
                f.hand_over = true;
            }
        }
        let own = mode == Mode::Own && !closing && follow.as_ref().is_some_and(|f| f.sub.is_some());
        tokio::select! {
            biased;
            _ = conn.wakeup.0.notified() => {
                // The socket takes more, or the fan-out handed it back (seen above).
                let mut st = conn.lock();
                if !st.idle() {
                    conn.pump(&mut st);
                }
            }
            m = rx.recv(), if !blocked && !closing => match m {
                None => break Ended::Closed,
                Some(Out::Msg(m)) => {
                    let mut st = conn.lock();
                    if matches!(*m, Message::Close(_)) {
                        // Nothing of the feed after the close frame.
                        closing = true;
                        st.mode = Mode::Closed;
                    }
                    st.push(Queued::control(*m));
                    conn.pump(&mut st);
                }
                Some(Out::Follow(f)) => {
                    let (feed, from) = *f;
                    let told = feed.told();
                    let replay_until = *told.borrow();
                    {
                        let mut st = conn.lock();
                        st.pos = from;
                        st.sent = from;
                    }
                    follow = Some(Following {
                        sub: Some(feed.subscribe(viewer.clone(), from)),
                        told,
                        feed,
                        replay_until,
                        hand_over: true,
                    });
                }
            },
            item = next_item(&mut follow), if own && !blocked => {
                let Some(item) = item else {
                    break Ended::Feed;
                };
                let Some(f) = follow.as_mut() else { break Ended::Feed };
                let Some(sub) = f.sub.as_mut() else { continue };
                let Some(item) = item else {
                    // Caught up: the campaign's fan-out writes this socket's feed from
                    // here, unless it is already past this point (then the items in
                    // between come by the subscription, and the writer tries again).
                    if state.hub.fanouts.join(&f.feed, &conn, sub.cursor()) {
                        f.sub = None;
                    } else {
                        f.hand_over = false;
                    }
                    continue;
                };
                f.hand_over = true;
                let told = *f.told.borrow();
                if item.seq > f.replay_until && told.saturating_sub(item.seq) > options.max_behind {
                    conn.lock().resync = true;
                    continue;
                }
                // The fan-out probe's events (only while it is on).
                let probing = probe::enabled();
                let mut st = conn.lock();
                let take = |item: &FeedItem, st: &mut super::fanout::ConnState| {
                    let probed = probing && item.part == 0;
                    if probed {
                        probe::woken(s.campaign_id, item.seq);
                    }
                    st.push(Queued::item(
                        Message::Text(state.hub.item_text(s.campaign_id, item)),
                        item.cursor(),
                        probed,
                    ));
                };
                take(&item, &mut st);
                // What else the feed has published already goes in the same write.
                let mut n = 1;
                while n < BATCH {
                    let Some(item) = sub.try_next() else { break };
                    take(&item, &mut st);
                    n += 1;
                }
                st.pos = sub.cursor();
                conn.pump(&mut st);
            },
            _ = async { ping.as_mut().unwrap().tick().await }, if ping.is_some() && !closing => {
                let mut st = conn.lock();
                st.push(Queued::control(Message::Ping(Default::default())));
                conn.pump(&mut st);
            }
            _ = async { tokio::time::sleep_until(blocked_since.unwrap() + WRITE_TIMEOUT).await }, if blocked_since.is_some() => {
                break Ended::Socket;
            }
        }
    };
    let sink = {
        let mut st = conn.lock();
        st.mode = Mode::Closed;
        st.take_sink()
    };
    drop(_member);
    if let Some(mut sink) = sink {
        if ended == Ended::Feed {
            let _ = put(
                &mut sink,
                error(
                    "unavailable",
                    "The campaign's story cannot be read now; reconnect with your last cursor.",
                ),
            )
            .await;
            let _ = put(&mut sink, close(1011, "unavailable")).await;
        }
        let _ = tokio::time::timeout(Duration::from_secs(2), sink.close()).await;
    }
    ended
}

/// Sends `m` without flushing, unless it is the first of a write (then waits for room).
async fn put<S: Sink<Message> + Unpin>(sink: &mut S, m: Message) -> bool {
    matches!(
        tokio::time::timeout(WRITE_TIMEOUT, sink.feed(m)).await,
        Ok(Ok(()))
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coordinator::{Origin, Source};
    use crate::web::auth::Role;
    use dicebard_engine::{Action, Actor, Command, PlayerId};

    fn parse(m: &Message) -> Value {
        match m {
            Message::Text(t) => serde_json::from_str(t.as_str()).unwrap(),
            other => panic!("{other:?}"),
        }
    }

    /// A campaign with its feed and a web front end on it (as the composition root
    /// would build them: a front end never imports it).
    struct Table {
        state: WebState,
        coord: crate::coordinator::Coordinator,
        feeds: crate::feed::Feeds,
        feed: Feed,
        campaign: crate::coordinator::CampaignId,
        me: PlayerId,
    }

    impl Table {
        async fn new(dir: &std::path::Path) -> Table {
            let mut config = crate::config::Config::default();
            config.storage.data_dir = dir.to_path_buf();
            let store = crate::store::Store::open(&config.database_location())
                .await
                .unwrap();
            let clock = crate::clock::Clock::system();
            let gm =
                crate::gm::GameMaster::from_config(&config, Some(store.clone()), clock).unwrap();
            let options = crate::coordinator::CoordinatorOptions {
                npc_policy: gm.npc_policy.clone(),
                ..Default::default()
            };
            let catalog = std::sync::Arc::new(dicebard_srd::catalog().clone());
            let coord = crate::coordinator::Coordinator::new(store, catalog, clock, options);
            let feeds = crate::feed::Feeds::new(coord.clone(), gm.clone(), Default::default());
            let state = WebState::new(coord.clone(), feeds.clone(), gm, "http://127.0.0.1:1");
            let me = PlayerId::new("web:gm");
            let campaign = coord
                .create_campaign("Fan", &me, Some(1), Origin::new(Source::Web, &me))
                .await
                .unwrap();
            let feed = feeds.feed(campaign).await.unwrap();
            Table {
                state,
                coord,
                feeds,
                feed,
                campaign,
                me,
            }
        }

        /// A roll by the GM (a secret one is for the GM alone); its event's seq.
        async fn roll(&self, secret: bool) -> u64 {
            let cmd = Command {
                by: Actor::Player(self.me.clone()),
                action: Action::Roll {
                    expr: "1d20".into(),
                    secret,
                },
            };
            self.coord
                .submit(self.campaign, cmd, Origin::new(Source::Web, &self.me))
                .await
                .unwrap()
                .last()
                .unwrap()
                .seq
        }

        async fn stop(self) {
            self.feeds.stop_all().await;
            self.coord.shutdown().await;
        }
    }

    /// A client that stops reading gets a snapshot once it reads again, then the items
    /// after it: nothing twice, nothing out of order, and the feed never waited for it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_client_that_falls_behind_is_resynced_with_a_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let Table {
            state,
            coord,
            feeds,
            feed,
            campaign,
            me,
        } = Table::new(dir.path()).await;
        let s = Session {
            id: 1,
            campaign_id: campaign,
            role: Role::Gm,
            player: Some(me.clone()),
            name: None,
        };
        // A client that reads slowly: the writer's writes wait once 4 are unread.
        let (tx, mut rx) = mpsc::channel::<Message>(4);
        let sink = Box::pin(futures_util::sink::unfold(
            tx,
            |tx, m: Message| async move { tx.send(m).await.map(|()| tx) },
        ));
        let (out, out_rx) = mpsc::channel::<Out>(QUEUE);
        out.try_send(Out::Follow(Box::new((feed.clone(), FeedCursor::START))))
            .unwrap();
        let options = WriterOptions {
            ping: None,
            max_behind: 4,
        };
        let task = tokio::spawn(write(state.clone(), s, sink, out_rx, options));
        let mut last = 0;
        for i in 0..30 {
            let cmd = Command {
                by: Actor::Player(me.clone()),
                action: Action::Roll {
                    expr: format!("1d20+{i}"),
                    secret: false,
                },
            };
            last = coord
                .submit(campaign, cmd, Origin::new(Source::Web, &me))
                .await
                .unwrap()
                .last()
                .unwrap()
                .seq;
        }
        // The feed told everything while this client read nothing.
        let mut told = feed.told();
        tokio::time::timeout(Duration::from_secs(60), told.wait_for(|t| *t >= last))
            .await
            .expect("watchdog: the feed waited for a slow client")
            .unwrap();
        let mut seen = Vec::new();
        let mut snapshots = 0;
        loop {
            let m = tokio::time::timeout(Duration::from_secs(60), rx.recv())
                .await
                .expect("watchdog")
                .unwrap();
            let v = parse(&m);
            let c = if v["type"] == "snapshot" {
                snapshots += 1;
                (
                    v["cursor"]["seq"].as_u64().unwrap(),
                    v["cursor"]["part"].as_u64().unwrap(),
                )
            } else {
                (v["seq"].as_u64().unwrap(), v["part"].as_u64().unwrap())
            };
            if let Some(prev) = seen.last() {
                assert!(c >= *prev, "out of order or repeated: {prev:?} then {c:?}");
                if v["type"] != "snapshot" {
                    assert!(c > *prev, "repeated: {c:?}");
                }
            }
            seen.push(c);
            if v["type"] == "event" && c.0 == last || v["type"] == "snapshot" && c.0 >= last {
                break;
            }
        }
        assert!(snapshots >= 1, "the lagging client was resynced: {seen:?}");
        task.abort();
        feeds.stop_all().await;
        coord.shutdown().await;
    }

    /// Once its sockets have caught up, a campaign's live batch is written to every one
    /// of them by the campaign's fan-out (one task per worker thread), not by a task of
    /// each socket woken in turn; each gets it once, filtered for its viewer (a GM-only roll reaches the
    /// GM's socket alone).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_live_batch_is_written_to_every_caught_up_socket_by_the_campaigns_fan_out() {
        let dir = tempfile::tempdir().unwrap();
        let t = Table::new(dir.path()).await;
        // More sockets per fan-out task than tokio's budget of resource polls a task's
        // turn (128).
        const N: usize = 400;
        let mut writers = Vec::new();
        let mut seen = Vec::new();
        for i in 0..N {
            // Socket 0 is the GM's; the others are a TV's (the public story only).
            let s = Session {
                id: i as i64 + 1,
                campaign_id: t.campaign,
                role: if i == 0 { Role::Gm } else { Role::Display },
                player: (i == 0).then(|| t.me.clone()),
                name: None,
            };
            // The socket: what was written, and by which task. Each write takes a unit of
            // the task's cooperative budget, as a real socket's does.
            let (tx, rx) = mpsc::unbounded_channel::<(Option<tokio::task::Id>, Message)>();
            let sink = Box::pin(futures_util::sink::unfold(
                tx,
                |tx, m: Message| async move {
                    tokio::task::coop::consume_budget().await;
                    tx.send((tokio::task::try_id(), m)).map(|()| tx)
                },
            ));
            let (out, out_rx) = mpsc::channel::<Out>(QUEUE);
            out.try_send(Out::Follow(Box::new((t.feed.clone(), FeedCursor::START))))
                .unwrap();
            let options = WriterOptions {
                ping: None,
                max_behind: MAX_BEHIND,
            };
            let task = tokio::spawn(write(t.state.clone(), s, sink, out_rx, options));
            writers.push((task, out));
            seen.push(rx);
        }
        // Every socket caught up and handed to the fan-out (watchdog only).
        tokio::time::timeout(Duration::from_secs(60), async {
            while t.state.hub.fanouts.sockets(t.campaign) < N {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .expect("watchdog: the sockets never joined the fan-out");
        let public = t.roll(false).await;
        let secret = t.roll(true).await;
        // A public roll after them marks the end of what each socket reads.
        let end = t.roll(false).await;
        let writer_ids: Vec<tokio::task::Id> = writers.iter().map(|(w, _)| w.id()).collect();
        let mut by = std::collections::HashSet::new();
        for (i, rx) in seen.iter_mut().enumerate() {
            let mut got = Vec::new();
            loop {
                let (id, m) = tokio::time::timeout(Duration::from_secs(60), rx.recv())
                    .await
                    .expect("watchdog")
                    .unwrap();
                let v = parse(&m);
                if v["type"] != "event" {
                    continue;
                }
                let seq = v["seq"].as_u64().unwrap();
                if seq == public || seq == secret || seq == end {
                    by.insert(id.expect("written in a task"));
                }
                got.push(seq);
                if seq >= end {
                    break;
                }
            }
            let want: Vec<u64> = if i == 0 {
                vec![public, secret]
            } else {
                vec![public]
            };
            let mine: Vec<u64> = got
                .iter()
                .copied()
                .filter(|s| *s == public || *s == secret)
                .collect();
            assert_eq!(
                mine, want,
                "socket {i}: each once, in order, filtered: {got:?}"
            );
        }
        // The campaign's fan-out tasks (one per worker thread) wrote it, no socket's own.
        assert!(
            by.len() <= super::super::fanout::tasks(),
            "the fan-out wrote the batch to every socket: {} tasks",
            by.len()
        );
        assert!(
            by.iter().all(|id| !writer_ids.contains(id)),
            "not a socket's own writer"
        );
        for (w, out) in writers {
            drop(out);
            let _ = tokio::time::timeout(Duration::from_secs(60), w).await;
        }
        assert_eq!(
            t.state.hub.fanouts.running(),
            0,
            "the fan-out ends with its last socket"
        );
        t.stop().await;
    }

    /// A socket whose every write fails ends its writer as gone, however often it is
    /// polled after the first failure (to close it): no panic.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_socket_that_fails_ends_its_writer_quietly() {
        struct Broken;
        impl Sink<Message> for Broken {
            type Error = std::io::Error;
            fn poll_ready(
                self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<Result<(), Self::Error>> {
                std::task::Poll::Ready(Err(std::io::Error::other("gone")))
            }
            fn start_send(self: std::pin::Pin<&mut Self>, _: Message) -> Result<(), Self::Error> {
                Err(std::io::Error::other("gone"))
            }
            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<Result<(), Self::Error>> {
                std::task::Poll::Ready(Err(std::io::Error::other("gone")))
            }
            fn poll_close(
                self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<Result<(), Self::Error>> {
                std::task::Poll::Ready(Err(std::io::Error::other("gone")))
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let t = Table::new(dir.path()).await;
        let s = Session {
            id: 1,
            campaign_id: t.campaign,
            role: Role::Gm,
            player: Some(t.me.clone()),
            name: None,
        };
        let (out, out_rx) = mpsc::channel::<Out>(QUEUE);
        out.try_send(out_msg(msg(&json!({"type": "pong", "nonce": 1}))))
            .unwrap();
        let options = WriterOptions {
            ping: None,
            max_behind: MAX_BEHIND,
        };
        let writer = tokio::spawn(write(t.state.clone(), s, Broken, out_rx, options));
        let ended = tokio::time::timeout(Duration::from_secs(60), writer)
            .await
            .expect("watchdog")
            .expect("the writer panicked");
        assert_eq!(ended, Ended::Socket);
        drop(out);
        t.stop().await;
    }
}
