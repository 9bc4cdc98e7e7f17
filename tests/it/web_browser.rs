//! The phone table in a real browser: the real `dicebard run` binary (no Discord token,
//! a temporary data directory) serving the web table, and a real headless Chromium at
//! phone size (390×844) driven over the DevTools protocol (`support::browser`).
//!
//! A player opens their join link, makes a character, watches the story arrive; the GM
//! (plain HTTP with their session cookie) starts a fight; on the player's turn the phone
//! sends "I attack the goblin", sees the result in the story and its sheet follow the
//! GM's changes; then the server is killed (SIGKILL) and started again on the same port
//! and data, and the page reconnects by itself, shows what happens next and shows
//! nothing twice; the page fits a 360×640 phone. On the same table the TV display
//! (1280×720: party HP bars, health words, whose turn, public items only) and the GM page
//! (private items marked, a whisper and an invite with its QR code, the fight ended, a
//! new campaign, a kick the phone is told of) are driven too. A second test runs the
//! binary with an LLM narrator (the fake OpenAI server) and sees its prose stream onto
//! the phone. Screenshots of every step go to `target/web-screenshots/{phone,tv,gm,
//! narration}/` (paths printed). Only watchdogs here: the page is polled until a
//! condition holds; nothing measures time (the first-scene time is printed, not checked).

use crate::support::browser::{Browser, require_chromium, screenshot_dir};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The real binary, serving the web table.
struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`
    base: String,
    /// The address it listens on (reused by the restart).
    listen: String,
    /// The one-use GM link it printed.
    gm_link: String,
    log: Arc<Mutex<VecDeque<String>>>,
}

impl Server {
    /// Starts `dicebard run` on `listen` with `data` as its data directory and waits for
    /// the GM link it prints (watchdog 120 s: a cold start on a busy machine).
    async fn start(data: &Path, listen: &str) -> Server {
        Server::start_with(data, listen, &[]).await
    }

    async fn start_with(data: &Path, listen: &str, env: &[(&str, String)]) -> Server {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_dicebard"));
        for (k, _) in std::env::vars() {
            if k.starts_with("DICEBARD_") || k == "RUST_LOG" {
                cmd.env_remove(k);
            }
        }
        cmd.arg("--data-dir")
            .arg(data)
            .arg("run")
            .current_dir(data)
            .env("DICEBARD_WEB_LISTEN", listen)
            .env("RUST_LOG", "info")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn().expect("start dicebard run");
        let log = Arc::new(Mutex::new(VecDeque::new()));
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        for (out, tag) in [
            (
                Box::new(stdout) as Box<dyn tokio::io::AsyncRead + Unpin + Send>,
                "out",
            ),
            (Box::new(stderr), "err"),
        ] {
            let log = log.clone();
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(out).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    if tag == "out" {
                        let _ = tx.send(line.clone());
                    }
                    let mut l = log.lock().unwrap();
                    if l.len() >= 300 {
                        l.pop_front();
                    }
                    l.push_back(format!("[{tag}] {line}"));
                }
            });
        }
        drop(tx);
        let (mut bound, mut gm_link) = (None, None);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
        while bound.is_none() || gm_link.is_none() {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(line)) => {
                    if let Some(rest) = line.strip_prefix("Web table listening on ") {
                        bound = rest.split_whitespace().next().map(str::to_string);
                    }
                    if let Some(i) = line.find("GM link")
                        && let Some(j) = line[i..].find("http")
                    {
                        gm_link = Some(line[i + j..].trim().to_string());
                    }
                }
                other => {
                    let status = child.try_wait().ok().flatten();
                    let l: Vec<String> = log.lock().unwrap().iter().cloned().collect();
                    panic!(
                        "dicebard run printed no listening address and GM link ({}; exit \
                         status {status:?}); its output:\n{}",
                        if other.is_ok() {
                            "output closed"
                        } else {
                            "120 s watchdog"
                        },
                        l.join("\n")
                    );
                }
            }
        }
        let listen = bound.unwrap();
        Server {
            child,
            base: format!("http://{listen}"),
            listen,
            gm_link: gm_link.unwrap(),
            log,
        }
    }

    /// kill -9, as a crash would.
    async fn kill(mut self) -> String {
        self.child.kill().await.expect("kill dicebard");
        let _ = self.child.wait().await;
        self.listen.clone()
    }

    fn output(&self) -> String {
        self.log
            .lock()
            .unwrap()
            .iter()
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// The GM's side: plain HTTP with the session cookie the join link gave.
struct Gm {
    http: reqwest::Client,
    base: String,
    cookie: String,
}

impl Gm {
    /// Opens the one-use GM link: a 303 with the session cookie.
    async fn join(base: &str, link: &str) -> Gm {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        // The link's page, then its Join button (a same-origin POST).
        let page = http.get(link).send().await.expect("open the GM link");
        assert_eq!(page.status(), reqwest::StatusCode::OK, "the GM link's page");
        let res = http
            .post(link)
            .header("origin", base)
            .send()
            .await
            .expect("join with the GM link");
        assert!(
            res.status().is_redirection(),
            "the GM link answered {}",
            res.status()
        );
        let cookie = res
            .headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("dicebard_session="))
            .and_then(|v| v.split(';').next())
            .expect("a session cookie from the GM link")
            .to_string();
        Gm {
            http,
            base: base.to_string(),
            cookie,
        }
    }

    async fn get(&self, path: &str) -> Value {
        self.http
            .get(format!("{}/api/v1{path}", self.base))
            .header(reqwest::header::COOKIE, &self.cookie)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
            .json::<Value>()
            .await
            .unwrap_or(Value::Null)
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let res = self
            .http
            .post(format!("{}/api/v1{path}", self.base))
            .header(reqwest::header::COOKIE, &self.cookie)
            .header(reqwest::header::ORIGIN, &self.base)
            .json(&body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"));
        let status = res.status().as_u16();
        let v = res.json::<Value>().await.unwrap_or(Value::Null);
        (status, v)
    }

    /// A GM action that must be accepted.
    async fn act(&self, body: Value) {
        let (status, v) = self.post("/actions", body.clone()).await;
        assert!(
            status == 200 && v["ok"] == json!(true),
            "the GM's {body} was not accepted: {status} {v}"
        );
    }
}

/// Every form control on the page has an accessible name (a label or aria-label).
async fn assert_labelled(b: &mut Browser, page: &str) {
    let unlabelled = b
        .eval(
            "Array.from(document.querySelectorAll('input, select, textarea')).filter(e => \
             e.type !== 'hidden' && !(e.labels && e.labels.length) && !e.getAttribute('aria-label')).map(e => e.id || e.name)",
        )
        .await;
    assert_eq!(
        unlabelled,
        json!([]),
        "form controls without a label on {page}"
    );
}

/// JS: the texts of a feed list.
fn texts(list: &str) -> String {
    format!("Array.from(document.querySelectorAll('#{list} li')).map(li => li.textContent)")
}

/// JS: whether an element is shown.
fn shown(id: &str) -> String {
    format!(
        "(() => {{ const e = document.getElementById('{id}'); return !!e && !e.hidden && e.offsetParent !== null; }})()"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_joins_fights_and_survives_a_server_restart() {
    require_chromium();
    for d in ["phone", "tv", "gm"] {
        let _ = std::fs::remove_dir_all(screenshot_dir().join(d));
    }
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), "127.0.0.1:0").await;
    println!("server at {} (GM link printed)", server.base);

    let gm = Gm::join(&server.base, &server.gm_link).await;
    // The player's name is hostile markup: it must show as text, never run.
    let (status, invite) = gm
        .post(
            "/invites",
            json!({"role": "player", "name": "Ana<img src=x onerror=\"window.pwned=1\">"}),
        )
        .await;
    assert_eq!(status, 201, "player invite: {invite}\n{}", server.output());
    let link = invite["url"].as_str().expect("invite url").to_string();
    let player = invite["player"]
        .as_str()
        .expect("invite player")
        .to_string();

    let mut b = Browser::launch().await;
    let shot = |n: &str| format!("phone/{n}");

    // 1. The link: exchanged for a cookie, the secret gone from the address bar.
    b.join(&link).await;
    b.wait_for(&shown("create-form"), "the character form")
        .await;
    let path = b.eval("location.pathname + location.search").await;
    assert_eq!(path, json!("/play"), "the page the link leads to");
    b.wait_for(
        "document.getElementById('conn').dataset.state === 'live'",
        "the live connection",
    )
    .await;
    b.screenshot(&shot("01-joined-character-form")).await;
    let first = b
        .wait_for("window.dicebardFirstScene", "the first scene")
        .await;
    println!("link opened → first snapshot rendered: {first} ms (headless Chromium, this machine)");
    assert_labelled(&mut b, "the player page").await;

    // 2. Character creation on the phone: a level 5 dwarf fighter (enough hit points
    // that one goblin cannot drop him before his turn, whatever the dice).
    b.type_into("#cc-name", "Thorin").await;
    b.eval("document.getElementById('cc-class').value = 'fighter'; document.getElementById('cc-race').value = 'dwarf'; true")
        .await;
    b.type_into("#cc-level", "5").await;
    b.click("#cc-submit").await;
    b.wait_for(
        "document.getElementById('card-name').textContent === 'Thorin' && document.getElementById('card-level').textContent === '5'",
        "the character card (Thorin, level 5)",
    )
    .await;
    // The story arrives: the line for the new character.
    b.wait_for(
        &format!("{}.some(t => t.includes('Thorin'))", texts("feed")),
        "the story to tell of Thorin",
    )
    .await;
    b.screenshot(&shot("02-character-made")).await;
    b.wait_for(
        &format!("{}.some(t => t.includes('Ana<img'))", texts("feed")),
        "the player's name shown as text",
    )
    .await;
    let markup = b
        .eval("[document.querySelectorAll('img').length, window.pwned === undefined]")
        .await;
    assert_eq!(markup, json!([0, true]), "a player's name became markup");

    // 3. The GM starts a fight; the phone shows the initiative and, in time, the turn.
    gm.act(json!({"kind": "fight", "monsters": "goblin"})).await;
    b.wait_for(
        "Array.from(document.querySelectorAll('#initiative li')).some(li => li.textContent.includes('Goblin'))",
        "the goblin in the initiative list",
    )
    .await;
    b.screenshot(&shot("03-fight-started")).await;
    b.wait_for(&shown("turn-banner"), "the YOUR TURN banner")
        .await;
    b.screenshot(&shot("04-your-turn")).await;

    // 4. On their turn: "I attack the goblin", typed and sent.
    let before = b
        .eval(&format!("{}.length", texts("feed")))
        .await
        .as_u64()
        .unwrap_or(0);
    b.type_into("#act-text", "I attack the goblin").await;
    b.click("#act-send").await;
    let state = b
        .wait_for(
            "(() => { const li = document.querySelector('#pending li:last-child'); return li && li.dataset.state !== 'sending' ? li.dataset.state + ': ' + li.textContent : null; })()",
            "the action's answer",
        )
        .await;
    assert!(
        state.as_str().unwrap_or("").starts_with("done"),
        "the attack was not accepted: {state}"
    );
    let result = b
        .wait_for(
            &format!(
                // Thorin's own attack (Thorin named before the goblin, or "Goblin turns
                // aside Thorin's …"; not "Thorin turns aside Goblin's …", the goblin's
                // miss); not the initiative lines.
                "{}.slice({before}).find(t => {{ const i = t.indexOf('Thorin'), j = t.indexOf('Goblin'); \
                 return i >= 0 && j >= 0 && ((i < j && !t.includes('turns aside')) || t.includes('turns aside Thorin')) && !/initiative|'s turn/i.test(t); }})",
                texts("feed")
            ),
            "the attack's result in the story",
        )
        .await;
    println!("the attack, as the phone shows it: {result}");
    b.screenshot(&shot("05-attack-result")).await;

    // 5. The sheet is live: the GM sets Thorin's hit points and the card follows (20 and
    // later 40: still more than a goblin's best blow, so the fight goes on).
    gm.act(json!({"kind": "hp", "target": "Thorin", "hp": 20}))
        .await;
    b.wait_for(
        "document.getElementById('card-hp').textContent.startsWith('20/')",
        "the card to show 20 HP",
    )
    .await;
    b.click_until(
        "#card",
        "document.getElementById('sheet').textContent.includes('Hit points')",
        "the full sheet",
    )
    .await;
    // The engine's class state is on the full sheet: a fighter's Second Wind.
    b.wait_for(
        "document.getElementById('sheet').textContent.includes('Class features') && \
         document.getElementById('sheet').textContent.includes('Second Wind')",
        "the class features on the sheet",
    )
    .await;
    b.screenshot(&shot("06-sheet-updated")).await;
    b.click("#card").await;

    // 6. The server dies (kill -9) and comes back on the same port and data.
    let items_before = b
        .eval("document.querySelectorAll('#feed li, #private li').length")
        .await
        .as_u64()
        .unwrap_or(0);
    let listen = server.kill().await;
    b.wait_for(
        "document.getElementById('conn').dataset.state === 'down'",
        "the page to notice the server is gone",
    )
    .await;
    b.screenshot(&shot("07-server-down")).await;
    let server = Server::start(data.path(), &listen).await;
    b.wait_for(
        "document.getElementById('conn').dataset.state === 'live'",
        "the page to reconnect by itself",
    )
    .await;
    // The GM's session survives the restart too; what happens next reaches the phone.
    gm.act(
        json!({"kind": "whisper", "to": player, "text": "You hear scratching behind the wall."}),
    )
    .await;
    gm.act(json!({"kind": "hp", "target": "Thorin", "hp": 40}))
        .await;
    b.wait_for(
        &format!(
            "{}.some(t => t.includes('scratching behind the wall'))",
            texts("private")
        ),
        "the whisper after the restart, in the private section",
    )
    .await;
    b.wait_for(
        "document.getElementById('card-hp').textContent.startsWith('40/')",
        "the card to show 40 HP after the restart",
    )
    .await;
    let whispers_in_story = b
        .eval(&format!(
            "{}.filter(t => t.includes('scratching')).length",
            texts("feed")
        ))
        .await;
    assert_eq!(
        whispers_in_story,
        json!(0),
        "a whisper leaked into the shared story"
    );
    // Nothing lost and nothing told twice by the replay: every item on the page is a
    // distinct (seq, part) of the feed.
    let cursors = b
        .eval("Array.from(document.querySelectorAll('#feed li, #private li')).map(li => li.dataset.cursor)")
        .await;
    let cursors: Vec<String> = cursors
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap_or("none").to_string())
        .collect();
    assert!(
        cursors.len() as u64 > items_before,
        "the story after the restart ({} items) should extend the one before ({items_before})",
        cursors.len()
    );
    let unique: std::collections::BTreeSet<&String> = cursors.iter().collect();
    assert_eq!(
        unique.len(),
        cursors.len(),
        "the replay after the restart showed items twice: {cursors:?}"
    );
    b.screenshot(&shot("08-after-restart")).await;
    // The smallest phone the page is made for: nothing wider than the screen.
    b.resize((360, 640)).await;
    b.wait_for("window.innerWidth === 360", "the 360 px viewport")
        .await;
    let overflow = b
        .eval("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        .await;
    assert_eq!(
        overflow,
        json!(0),
        "the player page is wider than a 360 px phone"
    );
    b.screenshot(&shot("08b-360x640")).await;
    b.resize(crate::support::browser::PHONE).await;
    b.wait_for(&shown("private-badge"), "the new-whisper badge")
        .await;
    b.click("#private-badge").await;
    b.screenshot(&shot("09-whisper-after-restart")).await;

    // 7. The TV display (public items only, HP bars, health words, whose turn) and the
    // GM page (everything, invites with QR codes) on the same table, at their sizes.
    // (Thorin's blow may have ended the fight: the TV is shown one in progress.)
    if gm.get("/snapshot").await["combat"].is_null() {
        gm.act(json!({"kind": "fight", "monsters": "goblin"})).await;
    }
    let (status, tv) = gm.post("/invites", json!({"role": "display"})).await;
    assert_eq!(status, 201, "display invite: {tv}");
    let mut tvb = Browser::launch_sized((1280, 720)).await;
    tvb.join(tv["url"].as_str().expect("display url")).await;
    assert_eq!(tvb.eval("location.pathname").await, json!("/tv"));
    tvb.wait_for(
        "document.getElementById('party').textContent.includes('Thorin')",
        "Thorin in the TV's party",
    )
    .await;
    tvb.wait_for(
        "Array.from(document.querySelectorAll('#initiative li')).some(li => li.textContent.includes('Goblin') && /unhurt|hurt|bloodied|down|dead/.test(li.textContent))",
        "the goblin with a health word on the TV",
    )
    .await;
    tvb.wait_for(
        "document.getElementById('turn-now').textContent.includes(\"'s turn\")",
        "whose turn it is, on the TV",
    )
    .await;
    tvb.wait_for(
        "document.getElementById('narration').textContent.length > 0",
        "the TV's current narration",
    )
    .await;
    let tv_text = tvb.eval("document.body.innerText").await;
    assert!(
        !tv_text.as_str().unwrap_or("").contains("scratching"),
        "the whisper reached the TV display"
    );
    tvb.screenshot("tv/01-table").await;
    // The phone sees who else is at the table.
    b.wait_for(
        "document.getElementById('online').textContent.includes('the TV display')",
        "the TV display among those at the table, on the phone",
    )
    .await;
    let tv_errors: Vec<String> = tvb
        .console
        .iter()
        .filter(|l| l.starts_with("exception"))
        .cloned()
        .collect();
    tvb.close().await;
    assert!(tv_errors.is_empty(), "the TV page threw: {tv_errors:?}");

    let (status, gmi) = gm.post("/invites", json!({"role": "gm"})).await;
    assert_eq!(status, 201, "GM invite: {gmi}");
    let mut gmb = Browser::launch_sized((1280, 900)).await;
    gmb.join(gmi["url"].as_str().expect("GM url")).await;
    assert_eq!(gmb.eval("location.pathname").await, json!("/gm"));
    gmb.wait_for(
        "Array.from(document.querySelectorAll('#feed li.to-player')).some(li => li.textContent.includes('scratching'))",
        "the whisper, marked private, in the GM's feed",
    )
    .await;
    assert_labelled(&mut gmb, "the GM page").await;
    // The GM page's own controls: a whisper (reaching the phone only) and an invite.
    gmb.wait_for(
        "Array.from(document.querySelectorAll('#whisper-to option')).some(o => o.textContent === 'Thorin')",
        "Thorin among the GM's whisper targets",
    )
    .await;
    // The GM page's party: the same class lines as the player card and the TV.
    gmb.wait_for(
        "Array.from(document.querySelectorAll('#gm-party li')).some(li => li.textContent.includes('Thorin') && li.textContent.includes('Second Wind') && li.textContent.includes('HP'))",
        "Thorin's class state on the GM page's party list",
    )
    .await;
    gmb.eval("document.getElementById('whisper-to').value = Array.from(document.querySelectorAll('#whisper-to option')).find(o => o.textContent === 'Thorin').value; true")
        .await;
    gmb.type_into("#whisper-text", "The torch gutters.").await;
    gmb.click("#whisper-form button[type=submit]").await;
    gmb.wait_for(
        "document.getElementById('whisper-status').textContent === 'Whispered.'",
        "the GM page's whisper to be accepted",
    )
    .await;
    b.wait_for(
        &format!(
            "{}.some(t => t.includes('The torch gutters.'))",
            texts("private")
        ),
        "the GM page's whisper on the phone",
    )
    .await;
    gmb.type_into("#inv-name", "Bo").await;
    gmb.click("#inv-form button[type=submit]").await;
    gmb.wait_for(
        "!!document.querySelector('#inv-qr svg') && document.getElementById('inv-link').textContent.includes('/join/')",
        "the new invite's link and QR code on the GM page",
    )
    .await;
    gmb.wait_for(
        "document.getElementById('inv-list').textContent.includes('Bo')",
        "Bo's invite in the open invites",
    )
    .await;
    gmb.screenshot("gm/01-invite-and-feed").await;

    // The fight ends from the GM page; the phone's initiative goes away.
    gmb.click("#fight-end").await;
    gmb.wait_for(
        "document.getElementById('fight-status').textContent === 'The fight is over.'",
        "the GM page's end of the fight",
    )
    .await;
    b.wait_for(
        "document.getElementById('combat-section').hidden",
        "the phone to leave the fight",
    )
    .await;

    // A new campaign from the GM page: its own GM link and QR code.
    gmb.type_into("#camp-new", "The Sunless Citadel").await;
    gmb.click("#camp-form button[type=submit]").await;
    gmb.wait_for(
        "document.getElementById('inv-link').textContent.startsWith('GM link for The Sunless Citadel') && !!document.querySelector('#inv-qr svg')",
        "the new campaign's GM link",
    )
    .await;
    gmb.screenshot("gm/02-new-campaign").await;

    // The GM kicks Thorin's player from the GM page: the phone says so and stops acting.
    gmb.eval("window.confirm = () => true; true").await;
    gmb.wait_for(
        "!!document.querySelector('#who button[aria-label=\"Kick Thorin\"]')",
        "Thorin's kick button",
    )
    .await;
    gmb.click("#who button[aria-label=\"Kick Thorin\"]").await;
    b.wait_for(
        "!!document.getElementById('kicked') && document.getElementById('action-bar').hidden",
        "the kicked phone to say so",
    )
    .await;
    b.screenshot(&shot("10-kicked")).await;
    let gm_errors: Vec<String> = gmb
        .console
        .iter()
        .filter(|l| l.starts_with("exception"))
        .cloned()
        .collect();
    gmb.close().await;
    assert!(gm_errors.is_empty(), "the GM page threw: {gm_errors:?}");

    if !b.console.is_empty() {
        println!("page console:\n{}", b.console.join("\n"));
    }
    let errors: Vec<&String> = b
        .console
        .iter()
        .filter(|l| l.starts_with("exception"))
        .collect();
    assert!(errors.is_empty(), "the page threw: {errors:?}");
    println!("screenshots in {}", screenshot_dir().display());
    b.close().await;
    drop(server);
}

/// With an LLM narrator (the fake OpenAI-compatible server), the story's prose streams
/// onto the phone as `narration.*` items: shown as prose, beside the built-in lines.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn llm_narration_streams_onto_the_phone() {
    use crate::support::fake_llm::{FakeLlm, openai};
    require_chromium();
    let _ = std::fs::remove_dir_all(screenshot_dir().join("narration"));
    let llm = FakeLlm::start().await;
    llm.route(|r| {
        Some(match r.purpose() {
            "summary" => openai::text("{\"summary\": \"Thorin arrived.\", \"facts\": []}"),
            _ => openai::text_stream(
                &[
                    "Lamplight catches ",
                    "the newcomer's travel cloak. ",
                    "The road north waits.",
                ],
                Duration::from_millis(20),
                Some((60, 12)),
            ),
        })
    });
    let env = [
        ("DICEBARD_NARRATOR", "openai".to_string()),
        ("DICEBARD_LLM_BASE_URL", llm.base_url()),
        ("DICEBARD_LLM_MODEL", "test-model".to_string()),
        ("DICEBARD_LLM_API_KEY", crate::support::KEY.to_string()),
    ];
    let data = tempfile::tempdir().unwrap();
    let server = Server::start_with(data.path(), "127.0.0.1:0", &env).await;
    let gm = Gm::join(&server.base, &server.gm_link).await;
    let (status, invite) = gm
        .post("/invites", json!({"role": "player", "name": "Ana"}))
        .await;
    assert_eq!(status, 201, "player invite: {invite}");

    let mut b = Browser::launch().await;
    b.join(invite["url"].as_str().unwrap()).await;
    b.wait_for(&shown("create-form"), "the character form")
        .await;
    b.type_into("#cc-name", "Thorin").await;
    b.click("#cc-submit").await;
    b.wait_for(
        "Array.from(document.querySelectorAll('#feed li.prose')).some(li => li.textContent.includes('The road north waits.'))",
        "the LLM's prose in the story",
    )
    .await;
    b.wait_for(
        "document.querySelectorAll('#feed li.streaming').length === 0",
        "the narration to end",
    )
    .await;
    b.screenshot("narration/01-llm-prose").await;
    let page = b.eval("document.body.innerText").await;
    assert!(
        !page.as_str().unwrap_or("").contains(crate::support::KEY),
        "the API key reached the page"
    );
    b.close().await;
    drop(server);
}

/// The quick buttons on a wizard's turn: Cast (spell and target from the sheet and the
/// scene) is done, a second action (Attack) is refused with the rules' reason, shown on
/// the phone, and End turn is done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wizard_casts_from_the_quick_buttons_and_sees_a_refusal() {
    require_chromium();
    let _ = std::fs::remove_dir_all(screenshot_dir().join("wizard"));
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), "127.0.0.1:0").await;
    let gm = Gm::join(&server.base, &server.gm_link).await;
    let (status, invite) = gm
        .post("/invites", json!({"role": "player", "name": "Bo"}))
        .await;
    assert_eq!(status, 201, "player invite: {invite}");

    let mut b = Browser::launch().await;
    b.join(invite["url"].as_str().unwrap()).await;
    b.wait_for(&shown("create-form"), "the character form")
        .await;
    // Level 10: more hit points than an ogre can take in one turn, whatever the dice.
    b.type_into("#cc-name", "Mira").await;
    b.eval("document.getElementById('cc-class').value = 'wizard'; document.getElementById('cc-race').value = 'elf'; true")
        .await;
    b.type_into("#cc-level", "10").await;
    b.click("#cc-submit").await;
    b.wait_for(
        "document.getElementById('card-level').textContent === '10'",
        "Mira's card",
    )
    .await;

    gm.act(json!({"kind": "fight", "monsters": "ogre"})).await;
    b.wait_for(&shown("turn-banner"), "Mira's turn").await;
    b.wait_for(
        "Array.from(document.querySelectorAll('#spell option')).some(o => o.value === 'fire bolt') && Array.from(document.querySelectorAll('#target option')).some(o => o.value === 'Ogre')",
        "fire bolt and the ogre in the quick controls",
    )
    .await;
    b.eval("document.getElementById('target').value = 'Ogre'; true")
        .await;
    b.click("#q-cast").await;
    b.wait_for(&shown("cast-row"), "the spell row").await;
    b.eval("document.getElementById('spell').value = 'fire bolt'; true")
        .await;
    b.click("#cast-go").await;
    let last = "document.querySelector('#pending li:last-child')";
    let cast = b
        .wait_for(
            &format!("(() => {{ const li = {last}; return li && li.dataset.state !== 'sending' ? li.dataset.state + ': ' + li.textContent : null; }})()"),
            "the cast's answer",
        )
        .await;
    assert!(
        cast.as_str().unwrap_or("").starts_with("done"),
        "fire bolt was not cast: {cast}"
    );
    b.wait_for(
        &format!(
            "{}.some(t => /fire bolt/i.test(t) && t.includes('Mira'))",
            texts("feed")
        ),
        "the fire bolt in the story",
    )
    .await;

    // The action is spent: Attack is refused, with the rules' reason on the phone.
    b.click("#q-attack").await;
    let refused = b
        .wait_for(
            &format!("(() => {{ const li = {last}; return li && li.textContent.startsWith('Attack') && li.dataset.state !== 'sending' ? li.dataset.state + '|' + (li.querySelector('.reason') || {{}}).textContent : null; }})()"),
            "the attack's answer",
        )
        .await;
    let refused = refused.as_str().unwrap_or("").to_string();
    assert!(
        refused.starts_with("refused|") && refused.len() > "refused|".len() + 5,
        "a second action should be refused with a reason: {refused}"
    );
    println!("the refusal, as the phone shows it: {refused}");
    b.screenshot("wizard/01-cast-and-refusal").await;

    b.click("#q-end").await;
    let ended = b
        .wait_for(
            &format!("(() => {{ const li = {last}; return li && li.textContent.startsWith('End turn') && li.dataset.state !== 'sending' ? li.dataset.state : null; }})()"),
            "the end of the turn",
        )
        .await;
    assert_eq!(ended, json!("done"), "End turn");
    b.screenshot("wizard/02-turn-ended").await;
    b.close().await;
    drop(server);
}

/// A character export (as Discord's `/character export` writes it), made by the engine
/// itself: a level 2 elf wizard called `name`.
fn export_json(name: &str) -> String {
    use dicebard_engine::character::{CharacterSpec, export_character};
    use dicebard_engine::dice::SeededDice;
    use dicebard_engine::{Action, CampaignState, Command, PlayerId, Settings, Timestamp};
    let mut s = CampaignState::new(std::sync::Arc::new(dicebard_srd::catalog().clone()));
    let mut spec = CharacterSpec::quick(name, "wizard", "elf");
    spec.level = 2;
    for (t, (who, action)) in [
        (
            "gm",
            Action::StartCampaign {
                name: "Elsewhere".into(),
                settings: Settings::default(),
            },
        ),
        ("p", Action::Join { name: "P".into() }),
        ("p", Action::CreateCharacter { spec }),
    ]
    .into_iter()
    .enumerate()
    {
        let events = dicebard_engine::decide(
            &s,
            Command::player(who, action),
            &mut SeededDice::new(t as u64 + 1),
            Timestamp(t as u64 + 1),
        )
        .expect("a valid character");
        events
            .iter()
            .for_each(|e| dicebard_engine::apply(&mut s, e));
    }
    let c = s.character_of(&PlayerId::new("p")).expect("the character");
    serde_json::to_string_pretty(&export_character(c)).unwrap()
}

/// Character import on the phone: the import form (opened from "…or import a
/// character") takes a pasted JSON export; the page says so and shows the imported
/// character's card. Text that is not JSON is refused in the page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_imports_a_pasted_character_export() {
    require_chromium();
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), "127.0.0.1:0").await;
    let gm = Gm::join(&server.base, &server.gm_link).await;
    let (status, invite) = gm
        .post("/invites", json!({"role": "player", "name": "Ana"}))
        .await;
    assert_eq!(status, 201, "player invite: {invite}");
    let mut b = Browser::launch().await;
    b.join(invite["url"].as_str().unwrap()).await;
    b.wait_for(&shown("create-form"), "the character form")
        .await;
    b.click("details.import summary").await;
    b.type_into("#imp-text", "{not json").await;
    b.click("#imp-submit").await;
    b.wait_for(
        "document.getElementById('imp-status').textContent.includes('not a character export')",
        "the page refuses text that is not JSON",
    )
    .await;
    b.type_into("#imp-text", &export_json("Elowen")).await;
    b.click("#imp-submit").await;
    b.wait_for(
        "document.getElementById('imp-status').textContent === 'Imported!'",
        "the import is done",
    )
    .await;
    b.wait_for(
        "document.getElementById('card-name').textContent.includes('Elowen')",
        "the imported character's card",
    )
    .await;
    b.screenshot("phone/import-done").await;
    b.close().await;
}
