//! The voice gateway: `wss://127.0.0.1:PORT` (any path and query; songbird asks for `/?v=4`),
//! JSON text frames. Owns the TLS/websocket tasks; the protocol steps are in `on_frame` and the
//! session state in `voice::VoiceNet` (see `voice` for the whole flow).

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::model::GatewayCommand;
use crate::rtp::{Cipher, Mode};
use crate::state::{Outgoing, Shared, State};
use crate::voice::{BOT_SSRC, VOICE_HEARTBEAT_MS, VoiceSession};

/// `GatewayCommand::op` recorded for a binary (DAVE) frame from the bot.
const BINARY_OP: u64 = 0xFFFF;

pub(crate) async fn serve(listener: TcpListener, acceptor: TlsAcceptor, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let shared = shared.clone();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            // A failed TLS or websocket handshake, or a broken socket, only ends that connection.
            let _ = connection(stream, acceptor, shared).await;
        });
    }
}

async fn connection(
    stream: TcpStream,
    acceptor: TlsAcceptor,
    shared: Arc<Shared>,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let _ = stream.set_nodelay(true);
    let tls = acceptor.accept(stream).await?;
    let ws = tokio_tungstenite::accept_async(tls).await?;
    let (mut sink, mut source) = ws.split();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let id = shared.with(|st| {
        let net = &mut st.voice_net;
        net.next_conn += 1;
        let id = net.next_conn;
        net.connections.insert(id, tx);
        let hello = json!({"op": 8, "d": {"heartbeat_interval": VOICE_HEARTBEAT_MS}});
        net.send(id, hello);
        id
    });
    let result = loop {
        tokio::select! {
            out = rx.recv() => match out {
                Some(Outgoing::Text(text)) => {
                    if let Err(e) = sink.send(WsMessage::Text(text)).await {
                        break Err(e.into());
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
                    shared.with(|st| on_frame(st, id, &text));
                }
                Some(Ok(WsMessage::Binary(bytes))) => {
                    // DAVE's binary opcodes; the fake negotiates DAVE off, so only record them.
                    shared.with(|st| st.voice_net.commands.push(GatewayCommand {
                        at: Instant::now(),
                        connection: id,
                        op: BINARY_OP,
                        d: json!({"binary_len": bytes.len()}),
                    }));
                }
                Some(Ok(WsMessage::Close(_))) | None => break Ok(()),
                Some(Ok(_)) => {}
                Some(Err(e)) => break Err(e.into()),
            },
        }
    };
    shared.with(|st| {
        let net = &mut st.voice_net;
        net.connections.remove(&id);
        if let Some(s) = net.session.as_mut().filter(|s| s.conn == Some(id)) {
            s.conn = None;
        }
    });
    result
}

fn on_frame(st: &mut State, conn: u64, text: &str) {
    let Ok(frame) = serde_json::from_str::<Value>(text) else {
        return st.voice_net.close(conn, 4002, "Failed to decode payload.");
    };
    let op = frame["op"].as_u64().unwrap_or(u64::MAX);
    let d = frame.get("d").cloned().unwrap_or(Value::Null);
    let mut logged = d.clone();
    if logged.get("token").is_some() {
        logged["token"] = json!("[redacted]");
    }
    st.voice_net.commands.push(GatewayCommand {
        at: Instant::now(),
        connection: conn,
        op,
        d: logged,
    });
    let identified = st
        .voice_net
        .session
        .as_ref()
        .is_some_and(|s| s.conn == Some(conn));
    match op {
        0 if identified => st.voice_net.close(conn, 4005, "Already authenticated."),
        0 => identify(st, conn, &d),
        7 => resume(st, conn, &d),
        1 | 3 | 5 if !identified => st.voice_net.close(conn, 4003, "Not authenticated."),
        1 => select_protocol(st, conn, &d),
        3 => {
            // v4 sends the nonce as `d`; v8 sends `{t, seq_ack}` and Discord acks `{t}`.
            let ack = match d.get("t") {
                Some(t) => json!({"t": t}),
                None => d,
            };
            st.voice_net.send(conn, json!({"op": 6, "d": ack}));
        }
        5 => {} // the bot's own speaking state; recorded above
        // DAVE transition/commit opcodes: only meaningful with DAVE on.
        23 | 28 | 31 => {}
        _ => st.voice_net.close(conn, 4001, "Unknown opcode."),
    }
}

fn id_of(v: &Value) -> Option<u64> {
    match v {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

/// The join the bot's Identify/Resume refers to must be the current one.
fn join_matches(st: &State, d: &Value) -> bool {
    let bot = st.bot_id();
    let session_ok = st
        .voice
        .get(&bot)
        .is_some_and(|v| v.channel.is_some() && d["session_id"].as_str() == Some(&v.session_id));
    let token_ok =
        st.voice_net.token.is_some() && d["token"].as_str() == st.voice_net.token.as_deref();
    id_of(&d["server_id"]) == Some(st.guild_id().0) && session_ok && token_ok
}

fn identify(st: &mut State, conn: u64, d: &Value) {
    if !join_matches(st, d) || id_of(&d["user_id"]) != Some(st.bot_id().0) {
        return st.voice_net.close(conn, 4004, "Authentication failed.");
    }
    // A new identify replaces any earlier session (Discord: the old one is disconnected).
    if let Some(old) = st.voice_net.session.as_ref().and_then(|s| s.conn)
        && old != conn
    {
        st.voice_net.close(old, 4006, "Session no longer valid.");
    }
    let session_id = d["session_id"].as_str().unwrap_or_default().to_owned();
    let token = d["token"].as_str().unwrap_or_default().to_owned();
    st.voice_net.session = Some(VoiceSession {
        conn: Some(conn),
        session_id,
        token,
        mode: None,
        cipher: None,
        bot_udp: None,
    });
    let modes: Vec<&str> = Mode::ALL.iter().map(|m| m.name()).collect();
    let ready = json!({"op": 2, "d": {
        "ssrc": BOT_SSRC,
        "ip": "127.0.0.1",
        "port": st.voice_net.udp_port,
        "modes": modes,
    }});
    st.voice_net.send(conn, ready);
}

fn resume(st: &mut State, conn: u64, d: &Value) {
    let ok = join_matches(st, d)
        && st.voice_net.session.as_ref().is_some_and(|s| {
            d["session_id"].as_str() == Some(&s.session_id) && d["token"].as_str() == Some(&s.token)
        });
    if !ok {
        return st.voice_net.close(conn, 4006, "Session no longer valid.");
    }
    let session = st.voice_net.session.as_mut().expect("checked above");
    if let Some(old) = session.conn.replace(conn)
        && old != conn
    {
        st.voice_net.close(old, 4006, "Session no longer valid.");
    }
    st.voice_net.send(conn, json!({"op": 9, "d": null}));
}

fn select_protocol(st: &mut State, conn: u64, d: &Value) {
    if d["protocol"] != "udp" {
        return st.voice_net.close(conn, 4012, "Unknown protocol.");
    }
    let data = &d["data"];
    let Some(mode) = data["mode"].as_str().and_then(Mode::parse) else {
        return st.voice_net.close(conn, 4016, "Unknown encryption mode.");
    };
    let addr = data["address"]
        .as_str()
        .and_then(|a| a.parse::<std::net::IpAddr>().ok())
        .zip(data["port"].as_u64().and_then(|p| u16::try_from(p).ok()))
        .map(std::net::SocketAddr::from);
    let Some(addr) = addr else {
        return st.voice_net.close(conn, 4002, "Failed to decode payload.");
    };
    let key = secret_key();
    let session = st.voice_net.session.as_mut().expect("identified");
    session.mode = Some(mode);
    session.cipher = Some(Cipher::new(mode, &key));
    session.bot_udp = Some(addr);
    // A new key: nonces may start over.
    st.voice_net.send_nonce = 0;
    let description = json!({"op": 4, "d": {
        "mode": mode.name(),
        "secret_key": key,
        "dave_protocol_version": 0,
        "audio_codec": "opus",
    }});
    st.voice_net.send(conn, description);
    // Who else is in the channel (Discord sends op 11 after the session description).
    let bot = st.bot_id();
    let users: Vec<Value> = st
        .bot_voice_channel()
        .map(|c| st.voice_members(c))
        .unwrap_or_default()
        .into_iter()
        .filter(|u| *u != bot)
        .map(|u| u.to_json())
        .collect();
    if !users.is_empty() {
        st.voice_net
            .send(conn, json!({"op": 11, "d": {"user_ids": users}}));
    }
}

/// 32 random bytes from the standard library's per-process random hasher keys.
fn secret_key() -> [u8; 32] {
    use std::hash::{BuildHasher, Hasher};
    let mut key = [0u8; 32];
    for chunk in key.chunks_mut(8) {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(0x5EC2E7);
        chunk.copy_from_slice(&h.finish().to_le_bytes());
    }
    key
}
