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
