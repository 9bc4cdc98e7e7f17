//! The table's door from Discord, against the real binary (fake Discord + the web table
//! in one process): `/table invite` answers privately with a link and a QR code PNG; a
//! Rust HTTP/WebSocket client joins with that link; `/table status` lists the phone;
//! `/table kick` closes its socket; a player inviting someone else (or making a TV
//! link) is refused.

use crate::support::bot::{Bot, reply_text};
use crate::support::web::Web;
use fake_discord::ids::{ALICE, BOB, TABLE};
use fake_discord::{FakeConfig, FakeDiscord};
use reqwest::StatusCode;
use std::time::Duration;

/// Watchdog for each Discord reply (a busy machine), never a timing assertion.
const T: Duration = Duration::from_secs(60);

/// The first `http://…` in a reply.
fn link_in(text: &str) -> String {
    let at = text
        .find("http://")
        .unwrap_or_else(|| panic!("no link in {text:?}"));
    text[at..]
        .split(|c: char| c.is_whitespace() || c == '>' || c == ')')
        .next()
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discord_table_commands_invite_list_and_kick_phones() {
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let _bot = Bot::start(
        &fake,
        dir.path(),
        "[turns]\ntimeout_secs = 600\nwarning_secs = 60\n",
        &[("DICEBARD_WEB_LISTEN", "127.0.0.1:0")],
        None,
    );
    fake.wait_for_ready(T).await.expect("the bot connects");
    let r = reply_text(
        &fake,
        ALICE,
        TABLE,
        "campaign start",
        &[("name", "Phones")],
        T,
    )
    .await;
    assert!(r.text().contains("Phones"), "{}", r.text());
    let alice = ALICE.0.to_string();
    let bob = BOB.0.to_string();

    // A player may not invite someone else, nor make a TV link.
    let r = reply_text(&fake, BOB, TABLE, "table invite", &[("player", &alice)], T).await;
    assert!(r.is_ephemeral(), "refusals are private");
    assert!(r.text().contains("Only the GM"), "{}", r.text());
    assert!(!r.text().contains("/join/"), "{}", r.text());
    let r = reply_text(&fake, BOB, TABLE, "table display", &[], T).await;
    assert!(r.text().contains("Only the GM"), "{}", r.text());
    // … but may invite themselves.
    let r = reply_text(&fake, BOB, TABLE, "table invite", &[], T).await;
    assert!(r.is_ephemeral());
    assert!(r.text().contains("/join/"), "{}", r.text());

    // The GM invites Bob: a private link and its QR code as a PNG.
    let r = reply_text(&fake, ALICE, TABLE, "table invite", &[("player", &bob)], T).await;
    assert!(r.is_ephemeral(), "a link is a secret: the reply is private");
    let url = link_in(&r.text());
    assert!(url.contains("/join/"), "{url}");
    let png = r
        .attachments
        .iter()
        .find(|a| a.filename.ends_with(".png"))
        .unwrap_or_else(|| panic!("a QR code attachment: {:?}", r.attachments));
    assert!(
        png.data.starts_with(b"\x89PNG\r\n\x1a\n") && png.data.len() > 100,
        "a PNG image"
    );
    assert!(
        fake.messages(TABLE)
            .iter()
            .all(|m| !m.text().contains(&url)),
        "the link never reaches the channel"
    );

    // A phone joins with it: Bob's session, his socket.
    let base = url.split("/join/").next().unwrap().to_string();
    let web = Web {
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        base,
    };
    let phone = web.join(&url).await;
    let (s, me) = web.get("/api/v1/me", Some(&phone)).await;
    assert_eq!(s, StatusCode::OK, "{me}");
    assert_eq!(me["role"], "player");
    assert_eq!(me["player"], format!("discord:{bob}"));
    let mut sock = web.ws(Some(&phone), None).await.unwrap();
    sock.hello(None).await;

    // Status lists the phone, through the web.
    let r = reply_text(&fake, ALICE, TABLE, "table status", &[], T).await;
    assert!(r.is_ephemeral());
    let status = r.text();
    let line = status
        .lines()
        .find(|l| l.to_lowercase().contains("bob") && l.contains("web"))
        .unwrap_or_else(|| panic!("Bob's phone in the status: {status}"));
    assert!(line.starts_with('•'), "{status}");

    // A player may not kick.
    let r = reply_text(
        &fake,
        BOB,
        TABLE,
        "table kick",
        &[("player", &format!("<@{bob}>"))],
        T,
    )
    .await;
    assert!(r.text().contains("Only the GM"), "{}", r.text());

    // The GM kicks Bob: his socket is told and closed (watchdog only).
    let r = reply_text(
        &fake,
        ALICE,
        TABLE,
        "table kick",
        &[("player", &format!("<@{bob}>"))],
        T,
    )
    .await;
    assert!(r.text().contains("1 session"), "{}", r.text());
    let kicked = tokio::time::timeout(Duration::from_secs(30), async {
        let mut kicked = false;
        while let Some(m) = sock.next().await {
            kicked |= m["code"] == "kicked";
        }
        kicked
    })
    .await
    .expect("watchdog: the kicked socket was not closed");
    assert!(kicked, "the socket was told why it closed");
    assert_eq!(
        web.get("/api/v1/me", Some(&phone)).await.0,
        StatusCode::UNAUTHORIZED
    );
    let r = reply_text(&fake, ALICE, TABLE, "table status", &[], T).await;
    assert!(
        r.text().contains("Connected: nobody"),
        "the kicked phone is gone: {}",
        r.text()
    );
}

fn model(kind: dicebard_voice::models::Kind) -> std::path::PathBuf {
    let p = dicebard_voice::models::locate(kind).unwrap_or_else(|| {
        panic!(
            "{} not found: {}",
            kind.what(),
            dicebard_voice::models::missing_hint(kind)
        )
    });
    std::fs::canonicalize(&p).unwrap()
}

/// The next `presence` message on `sock` about `player` through the voice call
/// (watchdog only: pings keep the socket's own one from firing).
async fn voice_presence(sock: &mut crate::support::web::Sock, player: &str) -> serde_json::Value {
    let wait = async {
        loop {
            let m = sock.next().await.expect("the socket stays open");
            if m["type"] == "presence" && m["who"]["via"] == "voice" && m["who"]["player"] == player
            {
                return m;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(90), wait)
        .await
        .unwrap_or_else(|_| panic!("watchdog: no voice presence for {player} on the phone"))
}

/// Who is in the bot's voice call is part of the table's presence: `/table status`
/// shows, per person, each front end they are here through (Bob: his phone and the
/// voice call; Alice: the voice call), and a phone's presence list hears members join
/// and leave the call (`via: "voice"`). No speech: members only sit in the channel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn table_status_and_the_web_table_show_who_is_in_the_voice_call() {
    use dicebard_voice::models::Kind;
    use fake_discord::ids::VOICE;
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let (whisper, piper, ort) = (
        model(Kind::Whisper),
        model(Kind::Piper),
        model(Kind::OnnxRuntime),
    );
    let ca = fake.voice_ca_pem();
    let _bot = Bot::start(
        &fake,
        dir.path(),
        "[turns]\ntimeout_secs = 600\nwarning_secs = 60\n",
        &[
            ("DICEBARD_WEB_LISTEN", "127.0.0.1:0"),
            ("DICEBARD_WHISPER_MODEL", whisper.to_str().unwrap()),
            ("DICEBARD_PIPER_VOICE", piper.to_str().unwrap()),
            ("DICEBARD_ONNXRUNTIME", ort.to_str().unwrap()),
            ("ORT_DYLIB_PATH", ort.to_str().unwrap()),
            // songbird's voice gateway client trusts the fake's CA through the native roots.
            ("SSL_CERT_FILE", ca.to_str().unwrap()),
        ],
        None,
    );
    fake.wait_for_ready(T).await.expect("the bot connects");
    let r = reply_text(
        &fake,
        ALICE,
        TABLE,
        "campaign start",
        &[("name", "Call")],
        T,
    )
    .await;
    assert!(r.text().contains("Call"), "{}", r.text());
    let (alice, bob) = (format!("discord:{}", ALICE.0), format!("discord:{}", BOB.0));

    // Bob's phone is at the table.
    let r = reply_text(
        &fake,
        ALICE,
        TABLE,
        "table invite",
        &[("player", &BOB.0.to_string())],
        T,
    )
    .await;
    let url = link_in(&r.text());
    let web = Web {
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        base: url.split("/join/").next().unwrap().to_string(),
    };
    let phone = web.join(&url).await;
    let mut sock = web.ws(Some(&phone), None).await.unwrap();
    sock.hello(None).await;

    // Alice is in the channel before the bot comes; Bob after.
    fake.user_joins_voice(ALICE, VOICE);
    let joined = reply_text(
        &fake,
        ALICE,
        TABLE,
        "voice join",
        &[],
        Duration::from_secs(180),
    )
    .await;
    assert!(joined.text().contains("Listening"), "{}", joined.text());
    fake.wait_for_bot_voice(T).await.expect("voice handshake");
    let m = voice_presence(&mut sock, &alice).await;
    assert_eq!(m["event"], "join", "{m}");
    fake.user_joins_voice(BOB, VOICE);
    let m = voice_presence(&mut sock, &bob).await;
    assert_eq!(m["event"], "join", "{m}");
    let online = m["online"].as_array().expect("a table's list");
    assert!(
        online
            .iter()
            .any(|o| o["player"] == bob.as_str() && o["via"] == "web"),
        "Bob's phone is still listed beside his voice seat: {m}"
    );

    let status = reply_text(&fake, ALICE, TABLE, "table status", &[], T)
        .await
        .text();
    let line_of = |status: &str, who: &str| {
        status
            .lines()
            .find(|l| l.starts_with('•') && l.to_lowercase().contains(who))
            .unwrap_or_else(|| panic!("{who} in the status: {status}"))
            .to_string()
    };
    let bob_line = line_of(&status, "bob");
    assert!(
        bob_line.contains("web phone") && bob_line.contains("Discord voice"),
        "Bob is here through his phone and the call: {status}"
    );
    let alice_line = line_of(&status, "alice");
    assert!(alice_line.contains("Discord voice"), "{status}");
    assert!(!alice_line.contains("web"), "{status}");

    // Bob leaves the call: his phone stays.
    fake.user_leaves_voice(BOB);
    let m = voice_presence(&mut sock, &bob).await;
    assert_eq!(m["event"], "leave", "{m}");
    assert_eq!(m["who"]["connections"], 0, "{m}");
    let status = reply_text(&fake, ALICE, TABLE, "table status", &[], T)
        .await
        .text();
    let bob_line = line_of(&status, "bob");
    assert!(
        bob_line.contains("web phone") && !bob_line.contains("voice"),
        "{status}"
    );

    // The bot leaves: nobody is in its call any more.
    let r = reply_text(&fake, ALICE, TABLE, "voice leave", &[], T).await;
    assert!(!r.text().is_empty());
    let m = voice_presence(&mut sock, &alice).await;
    assert_eq!(m["event"], "leave", "{m}");
    let status = reply_text(&fake, ALICE, TABLE, "table status", &[], T)
        .await
        .text();
    assert!(!status.contains("Discord voice"), "{status}");
}
