//! A real headless Chromium driven over the DevTools protocol (CDP), for the web table's
//! browser test.
//!
//! `Browser::launch()` starts `/usr/bin/chromium --headless --no-sandbox --disable-gpu
//! --window-size=390,844 --remote-debugging-port=0` with a fresh profile in a temporary
//! directory, reads the DevTools WebSocket URL from its stderr ("DevTools listening on
//! ws://..."), opens one page target and drives it with plain CDP messages over
//! tokio-tungstenite: `navigate`, `eval` (Runtime.evaluate), `wait_for` (poll a JS
//! condition until it holds, with a watchdog), `screenshot` (Page.captureScreenshot, saved
//! under `target/web-screenshots/`). Chromium missing is a loud failure, never a skip.

use serde_json::{Value, json};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

use futures_util::{SinkExt, StreamExt};

/// Where Debian's chromium package puts the browser.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// The phone-sized viewport (a common modern phone, CSS pixels).
pub const PHONE: (u32, u32) = (390, 844);

/// A running headless Chromium with one page attached.
pub struct Browser {
    child: Child,
    ws: WebSocketStream<TcpStream>,
    session: String,
    next_id: u64,
    /// Console messages and uncaught exceptions from the page (for failure reports).
    pub console: Vec<String>,
    stderr: Arc<Mutex<VecDeque<String>>>,
    _profile: tempfile::TempDir,
}

/// Fails the test unless Chromium is installed, saying how to get it.
pub fn require_chromium() {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: the web table's browser test needs Debian's chromium \
         package. Run scripts/test (it installs chromium and fonts-dejavu-core), or \
         `apt-get install -y chromium fonts-dejavu-core`."
    );
}

/// The directory screenshots are written to: `target/web-screenshots/`.
pub fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("web-screenshots")
}

impl Browser {
    /// Launches Chromium at phone size and attaches to a fresh blank page.
    pub async fn launch() -> Browser {
        Browser::launch_sized(PHONE).await
    }

    pub async fn launch_sized((w, h): (u32, u32)) -> Browser {
        require_chromium();
        let profile = tempfile::tempdir().expect("profile dir");
        let mut child = Command::new(CHROMIUM)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-extensions",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                "--mute-audio",
                &format!("--window-size={w},{h}"),
                "--remote-debugging-port=0",
                &format!("--user-data-dir={}", profile.path().display()),
                "about:blank",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {CHROMIUM}: {e}"));

        // Read stderr until the DevTools line, then keep draining it (a full pipe would
        // block the browser) into a short ring for failure reports.
        let stderr = child.stderr.take().expect("chromium stderr");
        let ring = Arc::new(Mutex::new(VecDeque::new()));
        let (tx, rx) = tokio::sync::oneshot::channel::<String>();
        {
            let ring = ring.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(stderr).lines();
                let mut tx = Some(tx);
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(i) = line.find("ws://")
                        && line.contains("DevTools listening on")
                        && let Some(tx) = tx.take()
                    {
                        let _ = tx.send(line[i..].trim().to_string());
                    }
                    let mut r = ring.lock().unwrap();
                    if r.len() >= 200 {
                        r.pop_front();
                    }
                    r.push_back(line);
                }
            });
        }
        let url = match tokio::time::timeout(Duration::from_secs(60), rx).await {
            Ok(Ok(url)) => url,
            other => {
                let status = child.try_wait().ok().flatten();
                let log: Vec<String> = ring.lock().unwrap().iter().cloned().collect();
                panic!(
                    "chromium printed no DevTools URL ({other:?}; exit status {status:?}); \
                     its stderr:\n{}",
                    log.join("\n")
                );
            }
        };
        let ws = connect(&url).await;
        let mut b = Browser {
            child,
            ws,
            session: String::new(),
            next_id: 0,
            console: Vec::new(),
            stderr: ring,
            _profile: profile,
        };
        let target = b
            .call_browser("Target.createTarget", json!({"url": "about:blank"}))
            .await;
        let target_id = target["targetId"].as_str().expect("targetId").to_string();
        let attached = b
            .call_browser(
                "Target.attachToTarget",
                json!({"targetId": target_id, "flatten": true}),
            )
            .await;
        b.session = attached["sessionId"]
            .as_str()
            .expect("sessionId")
            .to_string();
        b.call("Page.enable", json!({})).await;
        b.call("Runtime.enable", json!({})).await;
        b.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": w, "height": h, "deviceScaleFactor": 1, "mobile": true}),
        )
        .await;
        b
    }

    /// Sends a browser-level command (no session).
    async fn call_browser(&mut self, method: &str, params: Value) -> Value {
        self.send(method, params, None).await
    }

    /// Sends a command to the page and waits for its answer; a protocol error fails the
    /// test with the error.
    pub async fn call(&mut self, method: &str, params: Value) -> Value {
        let session = self.session.clone();
        self.send(method, params, Some(session)).await
    }

    async fn send(&mut self, method: &str, params: Value, session: Option<String>) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        self.ws
            .send(Message::Text(msg.to_string().into()))
            .await
            .unwrap_or_else(|e| panic!("CDP send {method}: {e}"));
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let next = tokio::time::timeout_at(deadline, self.ws.next()).await;
            let frame = match next {
                Ok(Some(Ok(f))) => f,
                Ok(Some(Err(e))) => panic!("CDP socket error waiting for {method}: {e}"),
                Ok(None) => panic!("CDP socket closed waiting for {method}"),
                Err(_) => panic!("no CDP answer to {method} within 60 s"),
            };
            let Message::Text(text) = frame else { continue };
            let Ok(v) = serde_json::from_str::<Value>(&text) else {
                continue;
            };
            if v["id"].as_u64() == Some(id) {
                if let Some(err) = v.get("error") {
                    panic!("CDP {method} failed: {err}");
                }
                return v["result"].clone();
            }
            self.note_event(&v);
        }
    }

    /// Keeps the page's console output and exceptions for failure reports.
    fn note_event(&mut self, v: &Value) {
        match v["method"].as_str() {
            Some("Runtime.consoleAPICalled") => {
                let args: Vec<String> = v["params"]["args"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|x| match &x["value"] {
                                Value::String(s) => s.clone(),
                                Value::Null => x["description"].as_str().unwrap_or("").into(),
                                other => other.to_string(),
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let kind = v["params"]["type"].as_str().unwrap_or("log");
                self.push_console(format!("console.{kind}: {}", args.join(" ")));
            }
            Some("Runtime.exceptionThrown") => {
                let d = &v["params"]["exceptionDetails"];
                let text = d["exception"]["description"]
                    .as_str()
                    .or(d["text"].as_str())
                    .unwrap_or("?");
                self.push_console(format!("exception: {text}"));
            }
            _ => {}
        }
    }

    fn push_console(&mut self, line: String) {
        if self.console.len() >= 500 {
            self.console.remove(0);
        }
        self.console.push(line);
    }

    /// Opens `url` in the page and waits for its load event (watchdog 60 s).
    pub async fn navigate(&mut self, url: &str) {
        let r = self.call("Page.navigate", json!({"url": url})).await;
        if let Some(err) = r.get("errorText") {
            panic!("navigating to the page failed: {err}");
        }
        self.wait_for("document.readyState === 'complete'", "the page to load")
            .await;
    }

    /// Opens a join link and taps Join, as a person does; waits until the page it leads to
    /// has loaded.
    pub async fn join(&mut self, link: &str) {
        self.navigate(link).await;
        self.wait_for("!!document.getElementById('join')", "the Join button")
            .await;
        self.eval("document.getElementById('join').click(), true")
            .await;
        self.wait_for(
            "!location.pathname.startsWith('/join') && document.readyState === 'complete'",
            "the page the link leads to",
        )
        .await;
    }

    /// Evaluates a JS expression in the page (promises awaited) and returns its value.
    /// An exception fails the test with the page's message.
    pub async fn eval(&mut self, expr: &str) -> Value {
        let r = self
            .call(
                "Runtime.evaluate",
                json!({"expression": expr, "returnByValue": true, "awaitPromise": true}),
            )
            .await;
        if let Some(ex) = r.get("exceptionDetails") {
            panic!(
                "JS failed: {}\n  in: {expr}",
                ex["exception"]["description"]
                    .as_str()
                    .or(ex["text"].as_str())
                    .unwrap_or("?")
            );
        }
        r["result"]["value"].clone()
    }

    /// Polls a JS expression until it is truthy and returns its value. A watchdog (90 s,
    /// generous for a busy 2-core machine) fails the test with `what`, the page's text
    /// and console; nothing here measures time.
    pub async fn wait_for(&mut self, cond: &str, what: &str) -> Value {
        self.wait_for_within(cond, what, Duration::from_secs(90))
            .await
    }

    pub async fn wait_for_within(&mut self, cond: &str, what: &str, limit: Duration) -> Value {
        if let Some(v) = self.poll(cond, limit).await {
            return v;
        }
        let shot = self.screenshot("timeout").await;
        let text = self
            .eval("document.body ? document.body.innerText : ''")
            .await;
        panic!(
            "waited {limit:?} for {what} ({cond}); screenshot {}\n--- page text ---\n{}\n--- console ---\n{}",
            shot.display(),
            text.as_str().unwrap_or(""),
            self.console.join("\n")
        );
    }

    /// Polls a JS expression until it is truthy (its value) or `limit` passes (`None`).
    pub async fn poll(&mut self, cond: &str, limit: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + limit;
        let expr =
            format!("(() => {{ try {{ return ({cond}); }} catch (e) {{ return null; }} }})()");
        loop {
            let v = self.eval(&expr).await;
            let truthy = match &v {
                Value::Null => false,
                Value::Bool(b) => *b,
                Value::Number(n) => n.as_f64() != Some(0.0),
                Value::String(s) => !s.is_empty(),
                _ => true,
            };
            if truthy {
                return Some(v);
            }
            if tokio::time::Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    /// Clicks `selector` until `cond` holds (at most 3 clicks, 10 s apart): for an
    /// idempotent control whose effect shows at once, in case the page moved under the
    /// pointer between aiming and clicking. Fails the test with `what` otherwise.
    pub async fn click_until(&mut self, selector: &str, cond: &str, what: &str) -> Value {
        for _ in 0..2 {
            self.click(selector).await;
            if let Some(v) = self.poll(cond, Duration::from_secs(10)).await {
                return v;
            }
        }
        self.click(selector).await;
        self.wait_for(cond, what).await
    }

    /// Saves a PNG of the viewport as `target/web-screenshots/<name>.png` (`name` may be
    /// `folder/file`), prints its path and returns it.
    pub async fn screenshot(&mut self, name: &str) -> PathBuf {
        let r = self
            .call("Page.captureScreenshot", json!({"format": "png"}))
            .await;
        let data = r["data"].as_str().expect("screenshot data");
        let png = base64_decode(data).expect("screenshot is base64");
        // `name` may hold a sub-folder ("phone/01-joined"); each part is kept plain.
        let mut path = screenshot_dir();
        for part in name.split('/').filter(|p| !p.is_empty()) {
            let safe: String = part
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            path.push(safe);
        }
        path.set_extension("png");
        std::fs::create_dir_all(path.parent().unwrap()).expect("screenshot dir");
        std::fs::write(&path, png).expect("write screenshot");
        println!("screenshot: {}", path.display());
        path
    }

    /// The last lines Chromium wrote to stderr.
    pub fn stderr_tail(&self) -> String {
        let r = self.stderr.lock().unwrap();
        r.iter().cloned().collect::<Vec<_>>().join("\n")
    }

    /// Types text into a field the way a user would (focus, insertText, input event).
    pub async fn type_into(&mut self, selector: &str, text: &str) {
        let sel = serde_json::to_string(selector).unwrap();
        let focused = self
            .eval(&format!(
                "(() => {{ const e = document.querySelector({sel}); if (!e) return false; e.focus(); e.value = ''; return true; }})()"
            ))
            .await;
        assert_eq!(focused, json!(true), "no field {selector} to type into");
        self.call("Input.insertText", json!({"text": text})).await;
    }

    /// Clicks the element `selector` with a real mouse event at its centre (so disabled
    /// buttons behave as they would for a user); an element covered by another one at
    /// that point fails the test.
    pub async fn click(&mut self, selector: &str) {
        let sel = serde_json::to_string(selector).unwrap();
        let r = self
            .eval(&format!(
                "(() => {{ const e = document.querySelector({sel}); if (!e) return null; \
                 e.scrollIntoView({{block: 'center'}}); const r = e.getBoundingClientRect(); \
                 const x = r.left + r.width / 2, y = r.top + r.height / 2; \
                 const hit = document.elementFromPoint(x, y); \
                 if (!hit || !(hit === e || e.contains(hit))) return 'covered by ' + (hit ? hit.tagName + '#' + hit.id : 'nothing'); \
                 return [x, y]; }})()"
            ))
            .await;
        if let Some(why) = r.as_str() {
            panic!("cannot click {selector}: {why}");
        }
        let Some([x, y]) = r
            .as_array()
            .and_then(|a| Some([a.first()?.as_f64()?, a.get(1)?.as_f64()?]))
        else {
            panic!("no element {selector} to click");
        };
        for kind in ["mousePressed", "mouseReleased"] {
            self.call(
                "Input.dispatchMouseEvent",
                json!({"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1}),
            )
            .await;
        }
    }

    /// Changes the viewport (CSS pixels), as a phone of another size would show it.
    pub async fn resize(&mut self, (w, h): (u32, u32)) {
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": w, "height": h, "deviceScaleFactor": 1, "mobile": true}),
        )
        .await;
    }

    /// Closes the browser.
    pub async fn close(mut self) {
        let _ = self
            .ws
            .send(Message::Text(
                json!({"id": 0, "method": "Browser.close"})
                    .to_string()
                    .into(),
            ))
            .await;
        let _ = tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await;
        let _ = self.child.kill().await;
    }
}

/// Connects a WebSocket client to `ws://host:port/path` over a plain TCP stream.
async fn connect(url: &str) -> WebSocketStream<TcpStream> {
    let rest = url
        .strip_prefix("ws://")
        .unwrap_or_else(|| panic!("not a ws:// URL: {url}"));
    let host = rest.split('/').next().unwrap_or(rest);
    let stream = TcpStream::connect(host)
        .await
        .unwrap_or_else(|e| panic!("cannot reach DevTools at {host}: {e}"));
    let (ws, _) = tokio_tungstenite::client_async(url, stream)
        .await
        .unwrap_or_else(|e| panic!("DevTools handshake failed: {e}"));
    ws
}

/// Standard base64 (with padding) to bytes.
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    fn val(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        } as u32)
    }
    let bytes: Vec<u8> = s
        .bytes()
        .filter(|b| !b.is_ascii_whitespace() && *b != b'=')
        .collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut acc = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            acc |= val(c)? << (18 - 6 * i as u32);
        }
        let n = match chunk.len() {
            4 => 3,
            3 => 2,
            2 => 1,
            _ => return None,
        };
        for i in 0..n {
            out.push((acc >> (16 - 8 * i)) as u8);
        }
    }
    Some(out)
}

#[test]
fn base64_decodes() {
    assert_eq!(base64_decode("aGVsbG8=").unwrap(), b"hello");
    assert_eq!(base64_decode("aGk=").unwrap(), b"hi");
    assert_eq!(base64_decode("YWJj").unwrap(), b"abc");
    assert!(base64_decode("a").is_none());
}
