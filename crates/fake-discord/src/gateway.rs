//! The main gateway: plain `ws://`, JSON text frames, no compression. One session at a time
//! (the bot runs one shard). HELLO on connect; IDENTIFY → READY + GUILD_CREATE; RESUME →
//! replay of missed dispatches + RESUMED; heartbeats acknowledged; close codes as Discord's.
//! Owns the websocket tasks only; what a dispatch contains is decided in `state`/`payloads`.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::config::PRIVILEGED_INTENTS;
use crate::model::GatewayCommand;
use crate::state::{Outgoing, Session, Shared, State};

/// Discord closes a connection that sends more than 120 frames in 60 s.
const SENDS_PER_MINUTE: usize = 120;

pub(crate) async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            // A failed handshake or a broken socket only ends that connection.
            let _ = connection(stream, shared).await;
        });
    }
}

struct Conn {
    id: u64,
    authenticated: bool,
    sends: VecDeque<Instant>,
}

async fn connection(
    stream: TcpStream,
    shared: Arc<Shared>,
) -> Result<(), tokio_tungstenite::tungstenite::Error> {
    let ws = tokio_tungstenite::accept_async(stream).await?;
    let (mut sink, mut source) = ws.split();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let id = shared.with(|st| {
        st.gateway.next_conn += 1;
        let id = st.gateway.next_conn;
        st.gateway.connections.insert(id, tx);
        let interval = st.config.heartbeat_interval.as_millis() as u64;
        let hello = json!({"op": 10, "s": null, "t": null, "d": {"heartbeat_interval": interval}});
        st.send_frame(id, hello.to_string());
        id
    });
    let mut conn = Conn {
        id,
        authenticated: false,
        sends: VecDeque::new(),
    };
    let result = loop {
        tokio::select! {
            out = rx.recv() => match out {
                Some(Outgoing::Text(text)) => {
                    if let Err(e) = sink.send(WsMessage::Text(text)).await {
                        break Err(e);
                    }
                }
                Some(Outgoing::Close(code, reason)) => {
                    let frame = CloseFrame { code: CloseCode::from(code), reason: reason.into() };
                    let _ = sink.send(WsMessage::Close(Some(frame))).await;
                    break Ok(());
                }
                Some(Outgoing::Drop) | None => break Ok(()),
            },
            incoming = source.next() => match incoming {
                Some(Ok(WsMessage::Text(text))) => {
                    shared.with(|st| on_frame(st, &mut conn, &text));
                }
                Some(Ok(WsMessage::Binary(_))) => {
                    shared.with(|st| close(st, id, 4002, "Error while decoding payload."));
                }
                Some(Ok(WsMessage::Close(_))) | None => break Ok(()),
                Some(Ok(_)) => {}
                Some(Err(e)) => break Err(e),
            },
        }
    };
    shared.with(|st| {
        st.gateway.connections.remove(&id);
        if let Some(s) = st.gateway.session.as_mut().filter(|s| s.conn == Some(id)) {
            s.conn = None;
        }
    });
    result
}

fn close(st: &mut State, conn: u64, code: u16, reason: &str) {
    if let Some(tx) = st.gateway.connections.get(&conn) {
        let _ = tx.send(Outgoing::Close(code, reason.to_owned()));
    }
}

fn token_ok(st: &State, d: &Value) -> bool {
    let token = d["token"].as_str().unwrap_or("");
    token.strip_prefix("Bot ").unwrap_or(token) == st.config.token
}

fn on_frame(st: &mut State, conn: &mut Conn, text: &str) {
    let now = Instant::now();
    conn.sends.push_back(now);
    while conn
        .sends
        .front()
        .is_some_and(|t| now.duration_since(*t) > Duration::from_secs(60))
    {
        conn.sends.pop_front();
    }
    if conn.sends.len() > SENDS_PER_MINUTE {
        return close(st, conn.id, 4008, "Rate limited.");
    }
    let Ok(frame) = serde_json::from_str::<Value>(text) else {
        return close(st, conn.id, 4002, "Error while decoding payload.");
    };
    let op = frame["op"].as_u64().unwrap_or(u64::MAX);
    let d = frame.get("d").cloned().unwrap_or(Value::Null);
    let mut logged = d.clone();
    if logged.get("token").is_some() {
        logged["token"] = json!("[redacted]");
    }
    st.gateway.commands.push(GatewayCommand {
        at: now,
        connection: conn.id,
        op,
        d: logged,
    });

    match op {
        1 => st.send_frame(
            conn.id,
            json!({"op": 11, "s": null, "t": null, "d": null}).to_string(),
        ),
        2 => identify(st, conn, &d),
        6 => resume(st, conn, &d),
        3 | 4 | 8 if !conn.authenticated => close(st, conn.id, 4003, "Not authenticated."),
        3 => {}
        4 => st.bot_voice_request(&d),
        8 => {
            let members: Vec<Value> = st.users.keys().map(|u| st.member_json(*u, false)).collect();
            let chunk = json!({
                "guild_id": st.guild_id().to_json(),
                "members": members,
                "chunk_index": 0,
                "chunk_count": 1,
                "nonce": d.get("nonce").cloned().unwrap_or(Value::Null),
            });
            st.dispatch("GUILD_MEMBERS_CHUNK", chunk, None);
        }
        _ => close(st, conn.id, 4001, "Unknown opcode."),
    }
}

fn identify(st: &mut State, conn: &mut Conn, d: &Value) {
    if conn.authenticated {
        return close(st, conn.id, 4005, "Already authenticated.");
    }
    if !token_ok(st, d) {
        return close(st, conn.id, 4004, "Authentication failed.");
    }
    let intents = d["intents"].as_u64().unwrap_or(0);
    if intents & PRIVILEGED_INTENTS & !st.config.privileged_intents != 0 {
        return close(st, conn.id, 4014, "Disallowed intent(s).");
    }
    conn.authenticated = true;
    st.gateway.identifies += 1;
    st.gateway.next_session += 1;
    let session_id = format!("fake-session-{}", st.gateway.next_session);
    st.gateway.session = Some(Session {
        id: session_id.clone(),
        seq: 0,
        buffer: Vec::new(),
        conn: Some(conn.id),
        intents,
        resumable: true,
    });
    let ready = st.ready_json(&session_id);
    st.dispatch("READY", ready, None);
    let guild = st.guild_create_json();
    st.dispatch("GUILD_CREATE", guild, None);
}

fn resume(st: &mut State, conn: &mut Conn, d: &Value) {
    if !token_ok(st, d) {
        return close(st, conn.id, 4004, "Authentication failed.");
    }
    let seq = d["seq"].as_u64().unwrap_or(0);
    let ok = st.gateway.session.as_ref().is_some_and(|s| {
        s.resumable && Some(s.id.as_str()) == d["session_id"].as_str() && seq <= s.seq
    });
    if !ok {
        let frame = json!({"op": 9, "s": null, "t": null, "d": false}).to_string();
        return st.send_frame(conn.id, frame);
    }
    conn.authenticated = true;
    st.gateway.resumes += 1;
    let session = st.gateway.session.as_mut().expect("checked above");
    session.conn = Some(conn.id);
    let missed: Vec<String> = session
        .buffer
        .iter()
        .filter(|(s, _)| *s > seq)
        .map(|(_, f)| f.clone())
        .collect();
    for frame in missed {
        st.send_frame(conn.id, frame);
    }
    st.dispatch("RESUMED", json!({}), None);
}

/// Test hooks on the live connection.
impl State {
    fn live_conn(&self) -> Option<u64> {
        self.gateway.session.as_ref().and_then(|s| s.conn)
    }

    /// Ends the TCP connection without a close frame.
    pub fn gateway_drop(&mut self) -> bool {
        match self
            .live_conn()
            .and_then(|c| self.gateway.connections.get(&c))
        {
            Some(tx) => tx.send(Outgoing::Drop).is_ok(),
            None => false,
        }
    }

    /// Sends op 7 RECONNECT.
    pub fn gateway_reconnect(&mut self) -> bool {
        let Some(c) = self.live_conn() else {
            return false;
        };
        self.send_frame(
            c,
            json!({"op": 7, "s": null, "t": null, "d": null}).to_string(),
        );
        true
    }

    /// Sends op 9 INVALID SESSION; a non-resumable one also forgets the session.
    pub fn gateway_invalidate(&mut self, resumable: bool) -> bool {
        let Some(c) = self.live_conn() else {
            return false;
        };
        if !resumable && let Some(s) = self.gateway.session.as_mut() {
            s.resumable = false;
        }
        self.send_frame(
            c,
            json!({"op": 9, "s": null, "t": null, "d": resumable}).to_string(),
        );
        true
    }

    /// Closes with a close code. 4007 (invalid seq) and 4009 (session timed out) also end the
    /// session, as on Discord.
    pub fn gateway_close(&mut self, code: u16) -> bool {
        let Some(c) = self.live_conn() else {
            return false;
        };
        if matches!(code, 4007 | 4009)
            && let Some(s) = self.gateway.session.as_mut()
        {
            s.resumable = false;
        }
        close(self, c, code, "closed by the test");
        true
    }

    /// Sends op 1: Discord asking for an immediate heartbeat.
    pub fn gateway_request_heartbeat(&mut self) -> bool {
        let Some(c) = self.live_conn() else {
            return false;
        };
        self.send_frame(
            c,
            json!({"op": 1, "s": null, "t": null, "d": null}).to_string(),
        );
        true
    }
}
