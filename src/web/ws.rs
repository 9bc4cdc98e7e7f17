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

/// The feed as one socket follows it.
struct Following {
    feed: Feed,
    sub: FeedSubscription,
    /// What the feed has told (the last event of its last batch).
    told: tokio::sync::watch::Receiver<u64>,
    /// The last item (or snapshot) sent.
    sent: FeedCursor,
    /// What the feed had told when the socket began to follow it: up to there the
    /// client is being replayed what it missed (at most [`MAX_REPLAY_EVENTS`]), not
    /// falling behind.
    replay_until: u64,
}

async fn next_item(f: &mut Option<Following>) -> Option<Arc<FeedItem>> {
    match f {
        Some(f) => f.sub.next().await,
        None => std::future::pending().await,
    }
}

/// Sends `m` without flushing, unless it is the first of a write (then waits for room).
async fn put<S: Sink<Message> + Unpin>(sink: &mut S, m: Message) -> bool {
    matches!(
        tokio::time::timeout(WRITE_TIMEOUT, sink.feed(m)).await,
        Ok(Ok(()))
    )
}

async fn flush<S: Sink<Message> + Unpin>(sink: &mut S) -> bool {
    matches!(
        tokio::time::timeout(WRITE_TIMEOUT, sink.flush()).await,
        Ok(Ok(()))
    )
}

/// Items of the feed written together (one write for what the feed published at once:
/// an event and its line).
const BATCH: usize = 32;

/// A socket's writer: the reader's messages in order and, once it says `Follow`, the
/// feed for the session's viewer, written straight to the socket (one task per socket:
/// an item costs one wake-up and one write per client, and its text is serialised once
/// for all of them, [`super::hub::Hub::item_text`]). Items the feed published together
/// go out in one write. A client that falls more than `max_behind` events behind the
/// feed (a slow reader: its writes wait, the feed does not) is resynced with a
/// snapshot, then followed from there; it never slows the feed or other clients.
pub(crate) async fn write<S: Sink<Message> + Unpin>(
    state: WebState,
    s: Session,
    mut sink: S,
    mut rx: mpsc::Receiver<Out>,
    options: WriterOptions,
) -> Ended {
    let viewer = s.viewer();
    let mut ping = options.ping.map(|every| {
        Box::pin(tokio::time::interval_at(
            tokio::time::Instant::now() + every,
            every,
        ))
    });
    let mut follow: Option<Following> = None;
    let ended = loop {
        tokio::select! {
            biased;
            m = rx.recv() => match m {
                None => break Ended::Closed,
                Some(Out::Msg(m)) => {
                    let last = matches!(*m, Message::Close(_));
                    if !(put(&mut sink, *m).await && flush(&mut sink).await) {
                        break Ended::Socket;
                    }
                    if last {
                        break Ended::Closed;
                    }
                }
                Some(Out::Follow(f)) => {
                    let (feed, from) = *f;
                    let told = feed.told();
                    let replay_until = *told.borrow();
                    follow = Some(Following {
                        sub: feed.subscribe(viewer.clone(), from),
                        told,
                        feed,
                        sent: from,
                        replay_until,
                    });
                }
            },
            item = next_item(&mut follow), if follow.is_some() => {
                let Some(item) = item else {
                    break Ended::Feed;
                };
                let Some(f) = follow.as_mut() else { break Ended::Feed };
                let told = *f.told.borrow();
                if item.seq > f.replay_until && told.saturating_sub(item.seq) > options.max_behind {
                    // Fallen behind: a snapshot, then on from there (never from before
                    // what the client already has).
                    let Ok((cursor, scene)) = Box::pin(api::scene(&state, s.campaign_id)).await
                    else {
                        break Ended::Feed;
                    };
                    let cursor = cursor.max(f.sent);
                    if !(put(&mut sink, snapshot_msg(cursor, scene)).await && flush(&mut sink).await) {
                        break Ended::Socket;
                    }
                    f.sent = cursor;
                    f.sub = f.feed.subscribe(viewer.clone(), cursor);
                    continue;
                }
                // The fan-out probe's events in this write (only while it is on).
                let mut probed = [0u64; 4];
                let mut n_probed = 0;
                let probing = probe::enabled();
                let mut stamp = |item: &FeedItem| {
                    if probing && item.part == 0 && n_probed < probed.len() {
                        probe::woken(s.campaign_id, item.seq);
                        probed[n_probed] = item.seq;
                        n_probed += 1;
                    }
                };
                stamp(&item);
                if !put(&mut sink, Message::Text(state.hub.item_text(s.campaign_id, &item))).await {
                    break Ended::Socket;
                }
                f.sent = item.cursor();
                // What else the feed has published already goes in the same write.
                let mut n = 1;
                while n < BATCH {
                    let Some(item) = f.sub.try_next() else { break };
                    stamp(&item);
                    if !put(&mut sink, Message::Text(state.hub.item_text(s.campaign_id, &item))).await {
                        break;
                    }
                    f.sent = item.cursor();
                    n += 1;
                }
                if !flush(&mut sink).await {
                    break Ended::Socket;
                }
                for seq in &probed[..n_probed] {
                    probe::written(s.campaign_id, *seq);
                }
            },
            _ = async { ping.as_mut().unwrap().tick().await }, if ping.is_some() => {
                if !(put(&mut sink, Message::Ping(Default::default())).await && flush(&mut sink).await) {
                    break Ended::Socket;
                }
            }
        }
    };
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
    ended
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

    /// A client that stops reading gets a snapshot once it reads again, then the items
    /// after it: nothing twice, nothing out of order, and the feed never waited for it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_client_that_falls_behind_is_resynced_with_a_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = crate::config::Config::default();
        config.storage.data_dir = dir.path().to_path_buf();
        // Built here as the composition root would (a front end never imports it).
        let store = crate::store::Store::open(&config.database_location())
            .await
            .unwrap();
        let clock = crate::clock::Clock::system();
        let gm = crate::gm::GameMaster::from_config(&config, Some(store.clone()), clock).unwrap();
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
            .create_campaign("Lag", &me, Some(1), Origin::new(Source::Web, &me))
            .await
            .unwrap();
        let s = Session {
            id: 1,
            campaign_id: campaign,
            role: Role::Gm,
            player: Some(me.clone()),
            name: None,
        };
        let feed = feeds.feed(campaign).await.unwrap();
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
}
