//! The real `dicebard run` binary serving the web table (no Discord token), and small
//! HTTP / WebSocket clients for it.

use futures_util::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// A running web table; killed (SIGKILL) when dropped.
pub struct WebTable {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// The GM link it printed.
    pub gm_link: String,
    pub data: PathBuf,
}

impl WebTable {
    /// Starts `dicebard run` with its data in `dir/data`, listening on a free port.
    pub fn start(dir: &Path) -> WebTable {
        Self::start_logging(dir, None)
    }

    /// As [`WebTable::start`], with the server's logs (stderr, at `debug`) in `log`.
    pub fn start_logging(dir: &Path, log: Option<&Path>) -> WebTable {
        Self::start_with(dir, log, &[])
    }

    /// As [`WebTable::start_logging`], with `env` added (e.g. a Discord token: then
    /// Discord and the web table run in one process).
    pub fn start_with(dir: &Path, log: Option<&Path>, env: &[(&str, String)]) -> WebTable {
        let data = dir.join("data");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_dicebard"));
        cmd.arg("--data-dir").arg(&data).arg("run").current_dir(dir);
        for (k, _) in std::env::vars() {
            if k.starts_with("DICEBARD_") || k == "RUST_LOG" {
                cmd.env_remove(k);
            }
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.env("DICEBARD_WEB_LISTEN", "127.0.0.1:0")
            .env("RUST_LOG", if log.is_some() { "debug" } else { "warn" })
            .stdin(Stdio::null())
            .stdout(Stdio::piped());
        match log {
            Some(p) => cmd.stderr(std::fs::File::create(p).unwrap()),
            None => cmd.stderr(Stdio::inherit()),
        };
        let mut child = cmd.spawn().expect("start dicebard run");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        // Watchdog only: start-up on a busy machine may take a while.
        let mut gm_link = None;
        while gm_link.is_none() {
            let line = rx
                .recv_timeout(Duration::from_secs(120))
                .expect("dicebard run printed no GM link");
            if let Some(url) = line.strip_prefix("GM link (works once): ") {
                gm_link = Some(url.trim().to_string());
            }
        }
        let gm_link = gm_link.unwrap();
        let base = gm_link.split("/join/").next().unwrap().to_string();
        WebTable {
            child,
            base,
            gm_link,
            data,
        }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// kill -9.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn client(&self) -> Web {
        Web {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: self.base.clone(),
        }
    }
}

impl Drop for WebTable {
    fn drop(&mut self) {
        self.kill();
    }
}

/// An HTTP client of one web table (no cookie jar: sessions are passed explicitly).
#[derive(Clone)]
pub struct Web {
    pub http: reqwest::Client,
    pub base: String,
}

/// A session cookie (`dicebard_session=…`).
#[derive(Clone, Debug)]
pub struct Cookie(pub String);

impl Web {
    pub fn origin(&self) -> &str {
        &self.base
    }

    /// Opens a join link as a browser does and taps Join: the `GET` (a page with the
    /// button; a refused link stops here), then the page's same-origin `POST`.
    /// (status, cookie, Location, the raw Set-Cookie).
    pub async fn open_link(
        &self,
        url: &str,
    ) -> (StatusCode, Option<Cookie>, Option<String>, String) {
        let page = self.http.get(url).send().await.expect("GET join link");
        if page.status() != StatusCode::OK {
            return (page.status(), None, None, String::new());
        }
        let html = page.text().await.expect("the join page");
        assert!(html.contains("id=\"join\""), "no Join button: {html}");
        let res = self
            .http
            .post(url)
            .header("origin", self.origin())
            .send()
            .await
            .expect("POST join link");
        let status = res.status();
        let set = res
            .headers()
            .get("set-cookie")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let cookie = set
            .split(';')
            .next()
            .filter(|c| c.starts_with("dicebard_session="))
            .map(|c| Cookie(c.to_string()));
        let loc = res
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_string());
        (status, cookie, loc, set)
    }

    /// Joins by link; panics if refused.
    pub async fn join(&self, url: &str) -> Cookie {
        let (status, cookie, _, _) = self.open_link(url).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "join {url}");
        cookie.expect("a session cookie")
    }

    pub async fn get(&self, path: &str, cookie: Option<&Cookie>) -> (StatusCode, Value) {
        let mut req = self.http.get(format!("{}{path}", self.base));
        if let Some(c) = cookie {
            req = req.header("cookie", &c.0);
        }
        let res = req.send().await.expect("GET");
        let status = res.status();
        let body = res.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&body).unwrap_or(Value::String(body)),
        )
    }

    /// POST with a same-origin `Origin` (or `origin` when given; "" for none).
    pub async fn post_with(
        &self,
        path: &str,
        cookie: Option<&Cookie>,
        origin: Option<&str>,
        body: String,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body);
        match origin {
            Some("") => {}
            Some(o) => req = req.header("origin", o),
            None => req = req.header("origin", self.origin()),
        }
        if let Some(c) = cookie {
            req = req.header("cookie", &c.0);
        }
        let res = req.send().await.expect("POST");
        let status = res.status();
        let body = res.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&body).unwrap_or(Value::String(body)),
        )
    }

    pub async fn post(&self, path: &str, cookie: &Cookie, body: Value) -> (StatusCode, Value) {
        self.post_with(path, Some(cookie), None, body.to_string())
            .await
    }

    /// A new invite (GM): its answer.
    pub async fn invite(&self, gm: &Cookie, body: Value) -> Value {
        let (s, v) = self.post("/api/v1/invites", gm, body).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v
    }

    /// A new player (joined by link): cookie and player id.
    pub async fn new_player(&self, gm: &Cookie, name: &str) -> (Cookie, String) {
        let inv = self
            .invite(gm, json!({"role": "player", "name": name}))
            .await;
        let c = self.join(inv["url"].as_str().unwrap()).await;
        (c, inv["player"].as_str().unwrap().to_string())
    }

    /// An action; the answer. Like a good client, it waits `retry_after_ms` and tries
    /// again when the session's action limit says so.
    pub async fn act(&self, cookie: &Cookie, body: Value) -> Value {
        loop {
            let (s, v) = self.post("/api/v1/actions", cookie, body.clone()).await;
            if s == StatusCode::TOO_MANY_REQUESTS {
                let ms = v["error"]["retry_after_ms"]
                    .as_u64()
                    .unwrap_or(500)
                    .min(5000);
                tokio::time::sleep(Duration::from_millis(ms)).await;
                continue;
            }
            assert_eq!(s, StatusCode::OK, "{v}");
            return v;
        }
    }

    /// Opens the WebSocket; `origin` None: same-origin.
    pub async fn ws(
        &self,
        cookie: Option<&Cookie>,
        origin: Option<&str>,
    ) -> Result<Sock, tokio_tungstenite::tungstenite::Error> {
        let url = format!("{}/api/v1/ws", self.base.replacen("http", "ws", 1));
        let mut req = url.into_client_request().unwrap();
        let h = req.headers_mut();
        h.insert("origin", origin.unwrap_or(&self.base).parse().unwrap());
        if let Some(c) = cookie {
            h.insert("cookie", c.0.parse().unwrap());
        }
        let (ws, _) = tokio_tungstenite::connect_async(req).await?;
        Ok(Sock { ws })
    }

    /// Every feed item after `after` this session may see, through `GET /events`.
    pub async fn all_events(&self, cookie: &Cookie, after: (u64, u32)) -> Vec<Value> {
        let mut out = Vec::new();
        let mut after = after;
        loop {
            let (s, v) = self
                .get(
                    &format!("/api/v1/events?after={}.{}&limit=1000", after.0, after.1),
                    Some(cookie),
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{v}");
            out.extend(v["items"].as_array().unwrap().iter().cloned());
            after = (
                v["cursor"]["seq"].as_u64().unwrap(),
                v["cursor"]["part"].as_u64().unwrap() as u32,
            );
            if !v["more"].as_bool().unwrap() {
                return out;
            }
        }
    }
}

/// A client's WebSocket.
pub struct Sock {
    pub ws: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
}

impl Sock {
    pub async fn send(&mut self, v: Value) {
        self.ws.send(Message::text(v.to_string())).await.unwrap();
    }

    /// The next JSON message; `None` when the socket closed. Watchdog: 60 s.
    pub async fn next(&mut self) -> Option<Value> {
        loop {
            let m = tokio::time::timeout(Duration::from_secs(60), self.ws.next())
                .await
                .expect("watchdog: no WebSocket message in 60 s");
            match m {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return None,
                Some(Ok(Message::Text(t))) => {
                    return Some(serde_json::from_str(t.as_str()).unwrap());
                }
                Some(Ok(_)) => continue,
            }
        }
    }

    /// `hello`, then everything up to and including the `welcome` (and `snapshot`).
    /// Returns the cursor the stream continues after.
    pub async fn hello(&mut self, last: Option<(u64, u32)>) -> ((u64, u32), Value) {
        let last = last.map(|(s, p)| json!({"seq": s, "part": p}));
        self.send(json!({"type": "hello", "v": 1, "last": last}))
            .await;
        let w = self.next().await.expect("welcome");
        assert_eq!(w["type"], "welcome", "{w}");
        if w["resume"] == "snapshot" {
            let s = self.next().await.expect("snapshot");
            assert_eq!(s["type"], "snapshot", "{s}");
            let c = (
                s["cursor"]["seq"].as_u64().unwrap(),
                s["cursor"]["part"].as_u64().unwrap() as u32,
            );
            return (c, w);
        }
        (last_cursor(&last), w)
    }

    /// Reads feed items until `stop` returns true for one (included); other messages
    /// (presence, pong) are skipped.
    pub async fn items_until(&mut self, mut stop: impl FnMut(&Value) -> bool) -> Vec<Value> {
        let mut out = Vec::new();
        loop {
            let m = self
                .next()
                .await
                .expect("socket closed before the awaited item");
            if m.get("seq").is_none() {
                assert_ne!(m["type"], "error", "{m}");
                continue;
            }
            let done = stop(&m);
            out.push(m);
            if done {
                return out;
            }
        }
    }
}

fn last_cursor(last: &Option<Value>) -> (u64, u32) {
    match last {
        Some(v) => (
            v["seq"].as_u64().unwrap(),
            v["part"].as_u64().unwrap() as u32,
        ),
        None => (0, 0),
    }
}

/// An item's cursor.
pub fn cursor(m: &Value) -> (u64, u32) {
    (
        m["seq"].as_u64().unwrap(),
        m["part"].as_u64().unwrap() as u32,
    )
}
