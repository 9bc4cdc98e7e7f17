//! The WebSocket half of the protocol (docs/web-protocol.md, section 4).
//!
//! One socket = a reader loop (client messages, kicks, presence, shutdown), a writer
//! task (the bounded send queue, pings) and, after `hello`, a pump task that follows
//! the feed for the session's viewer. A client whose queue fills up is resynced with
//! a snapshot; it never slows the feed, the campaign or other clients.

use super::WebState;
use super::api::{self, ApiError};
use super::auth::{self, Session};
use super::view;
use crate::feed::{Feed, FeedCursor};
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;

/// Messages queued for one client before it is resynced with a snapshot.
pub const QUEUE: usize = 256;
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
    // for that frame. Messages are written as they come.
    ws.max_message_size(super::MAX_BODY)
        .max_frame_size(super::MAX_BODY)
        .read_buffer_size(1024)
        .write_buffer_size(0)
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

async fn run(state: WebState, s: Session, socket: WebSocket) {
    let (mut sink, mut stream) = socket.split();
    let (out, mut out_rx) = mpsc::channel::<Message>(QUEUE);
    let writer = tokio::spawn(async move {
        let mut ping = tokio::time::interval(PING_EVERY);
        ping.tick().await;
        loop {
            tokio::select! {
                m = out_rx.recv() => {
                    let Some(m) = m else { break };
                    let last = matches!(m, Message::Close(_));
                    // A client that takes nothing for this long is gone.
                    match tokio::time::timeout(WRITE_TIMEOUT, sink.send(m)).await {
                        Ok(Ok(())) if !last => {}
                        _ => break,
                    }
                }
                _ = ping.tick() => {
                    let ping = sink.send(Message::Ping(Default::default()));
                    if !matches!(tokio::time::timeout(WRITE_TIMEOUT, ping).await, Ok(Ok(()))) {
                        break;
                    }
                }
            }
        }
        let _ = sink.close().await;
    });
    let mut kicks = state.table.kicks();
    let mut presence = state.hub.presence();
    let mut closing = state.hub.closing.subscribe();
    let hello_deadline = tokio::time::sleep(HELLO_TIMEOUT);
    tokio::pin!(hello_deadline);
    let mut pump: Option<tokio::task::JoinHandle<()>> = None;
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
                        let _ = out.try_send(error("bad_message", "Text frames only: one JSON message each."));
                        continue;
                    }
                    _ => continue,
                };
                match parse_client(text) {
                    Some(ClientMsg::Ping { nonce }) => {
                        let _ = out.try_send(msg(&json!({"type": "pong", "nonce": nonce})));
                    }
                    Some(ClientMsg::Hello { v, .. }) if v != 1 => {
                        farewell = Some((
                            error("unsupported_version", "This server speaks protocol version 1."),
                            close(1002, "unsupported version"),
                        ));
                        break;
                    }
                    Some(ClientMsg::Hello { last, .. }) => {
                        if pump.is_some() {
                            let _ = out.try_send(error("bad_message", "hello was already said."));
                            continue;
                        }
                        // Boxed: an idle socket's task would otherwise carry the
                        // state of this once-only call (snapshot, store reads) inline.
                        match Box::pin(start(&state, &s, last, &out)).await {
                            Ok(task) => pump = Some(task),
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
                        let _ = out.try_send(error(
                            "bad_message",
                            "Expected a JSON message with a \"type\": hello or ping.",
                        ));
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
            p = presence.recv(), if pump.is_some() => {
                if let Ok((campaign, m)) = p
                    && campaign == s.campaign_id
                {
                    let _ = out.try_send(Message::Text(m.to_string().into()));
                }
            }
            _ = closing.changed() => {
                farewell = Some((error("unavailable", "The server is shutting down."), close(1001, "shutting down")));
                break;
            }
            _ = &mut hello_deadline, if pump.is_none() => {
                farewell = Some((error("bad_message", "No hello."), close(1008, "no hello")));
                break;
            }
            _ = async { pump.as_mut().unwrap().await }, if pump.as_ref().is_some_and(|p| !p.is_finished()) => {
                farewell = Some((
                    error("unavailable", "The campaign's story cannot be read now; reconnect with your last cursor."),
                    close(1011, "unavailable"),
                ));
                break;
            }
        }
    }
    if let Some(p) = pump.take() {
        p.abort();
        state.hub.leave(&s);
        state
            .table
            .disconnected(s.campaign_id, "web", s.role, s.player.as_ref());
    }
    if let Some((e, c)) = farewell {
        // Past a full queue: these two must go out, so wait (briefly) for room.
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            let _ = out.send(e).await;
            let _ = out.send(c).await;
        })
        .await;
    }
    drop(out);
    let _ = tokio::time::timeout(Duration::from_secs(2), writer).await;
}

/// Answers `hello`: `welcome`, a snapshot when needed, presence; then starts the pump.
pub(crate) async fn start(
    state: &WebState,
    s: &Session,
    last: Option<FeedCursor>,
    out: &mpsc::Sender<Message>,
) -> Result<tokio::task::JoinHandle<()>, ()> {
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
    let _ = out.try_send(msg(&welcome));
    let from = match replay {
        Some(l) => l,
        None => {
            let _ = out.try_send(snapshot_msg(snap_cursor, scene));
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
        let _ = out.try_send(msg(m));
    }
    Ok(tokio::spawn(pump(
        state.clone(),
        s.clone(),
        feed,
        from,
        out.clone(),
    )))
}

fn snapshot_msg(cursor: FeedCursor, scene: Value) -> Message {
    msg(&json!({"type": "snapshot", "cursor": view::cursor_json(cursor), "data": scene}))
}

/// Follows the feed for the session's viewer, into the client's queue. Ends when the
/// feed does (or the socket is gone).
async fn pump(
    state: WebState,
    s: Session,
    feed: Feed,
    from: FeedCursor,
    out: mpsc::Sender<Message>,
) {
    let viewer = s.viewer();
    let mut sub = feed.subscribe(viewer.clone(), from);
    let mut sent = from;
    while let Some(item) = sub.next().await {
        match out.try_send(Message::Text(state.hub.item_text(s.campaign_id, &item))) {
            Ok(()) => sent = item.cursor(),
            Err(TrySendError::Closed(_)) => return,
            Err(TrySendError::Full(_)) => {
                // Fallen behind: wait until the client has taken everything queued,
                // then resync it with a snapshot and carry on from there (never from
                // before what it already has).
                let Ok(mut permits) = out.reserve_many(out.max_capacity()).await else {
                    return;
                };
                let Ok((cursor, scene)) = Box::pin(api::scene(&state, s.campaign_id)).await else {
                    return;
                };
                let cursor = cursor.max(sent);
                if let Some(p) = permits.next() {
                    p.send(snapshot_msg(cursor, scene));
                }
                drop(permits);
                sent = cursor;
                sub = feed.subscribe(viewer.clone(), cursor);
            }
        }
    }
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
        let (out, mut rx) = mpsc::channel::<Message>(4);
        let task = tokio::spawn(pump(state.clone(), s, feed.clone(), FeedCursor::START, out));
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
