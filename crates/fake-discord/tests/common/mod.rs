//! Test helpers: a raw "bot" (plain websocket + HTTP client) that drives the fake without
//! serenity's client, and the serenity-based parser every gateway frame must pass.

#![allow(dead_code)]

use std::time::Duration;

use fake_discord::FakeDiscord;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use serenity::model::event::{Event, GatewayEvent};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as Ws;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const GUILDS: u64 = 1;
pub const GUILD_MEMBERS: u64 = 1 << 1;
pub const GUILD_VOICE_STATES: u64 = 1 << 7;
pub const GUILD_MESSAGES: u64 = 1 << 9;
pub const DIRECT_MESSAGES: u64 = 1 << 12;

pub const SECOND: Duration = Duration::from_secs(1);

/// Parses a gateway frame with serenity's `GatewayEvent`; panics if it fails or becomes
/// `Event::Unknown` (which serenity would drop silently). Returns the parsed event.
pub fn parse_frame(text: &str) -> GatewayEvent {
    let event: GatewayEvent = serde_json::from_str(text)
        .unwrap_or_else(|e| panic!("serenity cannot parse gateway frame: {e}\n{text}"));
    if let GatewayEvent::Dispatch(_, Event::Unknown(u)) = &event {
        let v: Value = serde_json::from_str(text).unwrap();
        let why = typed_error(v["t"].as_str().unwrap_or(""), &v["d"]);
        panic!(
            "serenity turned {} into Event::Unknown: {why}\n{text}",
            u.kind
        );
    }
    event
}

/// Why serenity's type for `t` rejects `d` (serenity hides this behind `Event::Unknown`).
fn typed_error(t: &str, d: &Value) -> String {
    use serenity::all::*;
    fn err<T: serde::de::DeserializeOwned>(d: &Value) -> String {
        match serde_json::from_value::<T>(d.clone()) {
            Ok(_) => "parses as the inner type; check the event wrapper".to_owned(),
            Err(e) => e.to_string(),
        }
    }
    match t {
        "READY" => err::<Ready>(d),
        "GUILD_CREATE" => err::<Guild>(d),
        "INTERACTION_CREATE" => err::<Interaction>(d),
        "MESSAGE_CREATE" => err::<Message>(d),
        "MESSAGE_UPDATE" => err::<MessageUpdateEvent>(d),
        "VOICE_STATE_UPDATE" => err::<VoiceState>(d),
        "VOICE_SERVER_UPDATE" => err::<VoiceServerUpdateEvent>(d),
        "GUILD_MEMBER_UPDATE" => err::<GuildMemberUpdateEvent>(d),
        "GUILD_MEMBERS_CHUNK" => err::<GuildMembersChunkEvent>(d),
        "GUILD_ROLE_CREATE" => err::<GuildRoleCreateEvent>(d),
        "CHANNEL_PINS_UPDATE" => err::<ChannelPinsUpdateEvent>(d),
        "MESSAGE_DELETE" => err::<MessageDeleteEvent>(d),
        _ => format!("no typed check for {t}"),
    }
}

/// Every frame the fake sent so far must parse (the catch-all contract check).
pub fn assert_all_frames_parse(fake: &FakeDiscord) -> usize {
    let frames = fake.gateway_frames();
    for f in &frames {
        parse_frame(f);
    }
    frames.len()
}

/// A bot written by hand: raw websocket + raw HTTP, to see exactly what the fake sends.
pub struct RawBot {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub http: reqwest::Client,
    pub api: String,
    pub auth: String,
    pub session_id: String,
    pub seq: u64,
}

impl RawBot {
    pub async fn connect_only(fake: &FakeDiscord) -> WebSocketStream<MaybeTlsStream<TcpStream>> {
        // serenity parses with `url::Url`, which adds the `/` path; a bare `?v=10` is no HTTP target.
        let url = format!("{}/?v=10&encoding=json", fake.gateway_url());
        tokio_tungstenite::connect_async(url)
            .await
            .expect("connect to fake gateway")
            .0
    }

    /// Connects, reads HELLO, identifies with `intents`, reads READY and GUILD_CREATE.
    pub async fn identify(fake: &FakeDiscord, intents: u64) -> (RawBot, Vec<String>) {
        let mut ws = Self::connect_only(fake).await;
        let hello = next_text(&mut ws).await;
        let identify = json!({"op": 2, "d": {
            "token": format!("Bot {}", fake.token()), "intents": intents,
            "properties": {"os": "linux", "browser": "raw", "device": "raw"},
            "compress": false, "large_threshold": 250, "shard": [0, 1]}});
        ws.send(Ws::Text(identify.to_string())).await.unwrap();
        let ready = next_text(&mut ws).await;
        let guild = next_text(&mut ws).await;
        let r: Value = serde_json::from_str(&ready).unwrap();
        let bot = RawBot {
            ws,
            http: reqwest::Client::new(),
            api: format!("{}/api/v10", fake.api_base()),
            auth: format!("Bot {}", fake.token()),
            session_id: r["d"]["session_id"].as_str().unwrap().to_owned(),
            seq: 2,
        };
        (bot, vec![hello, ready, guild])
    }

    /// The next frame (any op), within 5 s.
    pub async fn next(&mut self) -> String {
        let t = next_text(&mut self.ws).await;
        let v: Value = serde_json::from_str(&t).unwrap();
        if let Some(s) = v["s"].as_u64() {
            self.seq = s;
        }
        t
    }

    /// Skips to the next dispatch named `t`.
    pub async fn next_dispatch(&mut self, t: &str) -> (Value, String) {
        loop {
            let text = self.next().await;
            let v: Value = serde_json::from_str(&text).unwrap();
            if v["t"] == t {
                return (v, text);
            }
        }
    }

    pub async fn send(&mut self, frame: Value) {
        self.ws.send(Ws::Text(frame.to_string())).await.unwrap();
    }

    pub async fn rest(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.api))
            .header("Authorization", &self.auth);
        if let Some(b) = body {
            req = req
                .header("Content-Type", "application/json")
                .body(b.to_string());
        }
        let resp = req.send().await.expect("fake REST reachable");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        let v = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        };
        (status, v)
    }

    /// `PUT /applications/{app}/guilds/{guild}/commands`.
    pub async fn register_guild_commands(&self, fake: &FakeDiscord, cmds: Value) -> Value {
        let path = format!(
            "/applications/{}/guilds/{}/commands",
            fake.application_id(),
            fake.guild_id()
        );
        let (status, body) = self.rest("PUT", &path, Some(cmds)).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Answers an interaction callback.
    pub async fn callback(&self, d: &Value, response: Value) -> (u16, Value) {
        let path = format!(
            "/interactions/{}/{}/callback",
            d["id"].as_str().unwrap(),
            d["token"].as_str().unwrap()
        );
        self.rest("POST", &path, Some(response)).await
    }
}

pub async fn next_text(ws: &mut WebSocketStream<MaybeTlsStream<TcpStream>>) -> String {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("a gateway frame within 5 s")
            .expect("gateway still open")
            .expect("gateway frame ok");
        match msg {
            Ws::Text(t) => return t,
            Ws::Close(c) => panic!("gateway closed: {c:?}"),
            _ => {}
        }
    }
}

/// The close code the fake ends the connection with.
pub async fn close_code(ws: &mut WebSocketStream<MaybeTlsStream<TcpStream>>) -> Option<u16> {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("close within 5 s")
        {
            Some(Ok(Ws::Close(c))) => return c.map(|c| u16::from(c.code)),
            Some(Ok(_)) => {}
            _ => return None,
        }
    }
}

/// Commands covering every option type, subcommands, choices and autocomplete.
pub fn sample_commands() -> Value {
    json!([
        {"name": "roll", "description": "Roll dice", "options": [
            {"type": 3, "name": "dice", "description": "Dice expression", "required": true, "autocomplete": true},
            {"type": 4, "name": "times", "description": "How often", "min_value": 1, "max_value": 10},
            {"type": 10, "name": "bonus", "description": "Flat bonus"},
            {"type": 5, "name": "secret", "description": "Only you see it"},
            {"type": 6, "name": "target", "description": "Who"},
            {"type": 7, "name": "where", "description": "Channel"},
            {"type": 8, "name": "role", "description": "Role"},
            {"type": 9, "name": "anyone", "description": "User or role"},
            {"type": 11, "name": "sheet", "description": "A file"},
            {"type": 3, "name": "mode", "description": "Mode", "choices": [
                {"name": "Advantage", "value": "adv"}, {"name": "Disadvantage", "value": "dis"}]}
        ]},
        {"name": "character", "description": "Characters", "options": [
            {"type": 1, "name": "show", "description": "Show one", "options": [
                {"type": 3, "name": "name", "description": "Name", "required": true}]},
            {"type": 2, "name": "spell", "description": "Spells", "options": [
                {"type": 1, "name": "cast", "description": "Cast", "options": [
                    {"type": 4, "name": "level", "description": "Slot", "choices": [
                        {"name": "first", "value": 1}, {"name": "second", "value": 2}]}]}]}
        ]},
        {"name": "form", "description": "Opens a modal"}
    ])
}
