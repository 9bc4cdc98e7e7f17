//! The web table against the REAL binary (`dicebard run` with no Discord token): join
//! links, sessions, the REST API and the WebSocket protocol of docs/web-protocol.md.
//! Timeouts here are watchdogs ("it must finish"), never timing assertions.

use crate::support::web::{Cookie, Sock, Web, WebTable, cursor};
use futures_util::SinkExt;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;

/// Reads until the `event` item with this seq (included).
async fn until_event(sock: &mut Sock, seq: u64) -> Vec<Value> {
    sock.items_until(|m| m["type"] == "event" && m["seq"].as_u64() == Some(seq))
        .await
}

/// The last event seq an action answer committed.
fn last_seq(answer: &Value) -> u64 {
    assert_eq!(answer["ok"], true, "{answer}");
    answer["seq"]
        .as_array()
        .and_then(|a| a.last())
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("no events: {answer}"))
}

/// The keys that identify an item (its time is not stable across replays).
fn ident(m: &Value) -> (u64, u32, String) {
    let (s, p) = cursor(m);
    (s, p, m["type"].as_str().unwrap().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_works_once_and_forgeries_and_foreign_origins_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let table = WebTable::start_logging(dir.path(), Some(&log));
    let web = table.client();

    // No session: 401.
    let (s, v) = web.get("/api/v1/me", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    assert_eq!(v["error"]["code"], "unauthorized");

    // The printed GM link: a cookie, a redirect to a URL without the secret.
    let (s, cookie, loc, set) = web.open_link(&table.gm_link).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(loc.as_deref(), Some("/gm"));
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.contains("Path=/"),
        "{set}"
    );
    let gm = cookie.unwrap();
    let (s, me) = web.get("/api/v1/me", Some(&gm)).await;
    assert_eq!(s, StatusCode::OK, "{me}");
    assert_eq!(me["role"], "gm");
    assert_eq!(me["v"], 1);

    // Security headers on every response.
    let res = web
        .http
        .get(format!("{}/play", web.base))
        .send()
        .await
        .unwrap();
    let h = res.headers();
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert!(
        h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'self'")
    );

    // Replayed: refused, no cookie.
    let (s, cookie, _, _) = web.open_link(&table.gm_link).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(cookie.is_none());
    // Forged (well formed, random) and malformed: refused.
    let forged = format!("{}/join/{}", web.base, "A".repeat(43));
    assert_eq!(web.open_link(&forged).await.0, StatusCode::FORBIDDEN);
    let bad = format!("{}/join/{}", web.base, "short");
    assert_eq!(web.open_link(&bad).await.0, StatusCode::FORBIDDEN);
    // A forged cookie is no session.
    let fake = Cookie(format!("dicebard_session={}", "B".repeat(43)));
    assert_eq!(
        web.get("/api/v1/me", Some(&fake)).await.0,
        StatusCode::UNAUTHORIZED
    );

    // A player link, once; a player may not make links.
    let inv = web
        .invite(&gm, json!({"role": "player", "name": "Ana"}))
        .await;
    assert!(inv["qr_svg"].as_str().unwrap().contains("<svg"));
    let url = inv["url"].as_str().unwrap();
    let ana_link = url.to_string();
    // A chat app previewing the link (a GET, as Discord's and Slack's unfurlers do) sees
    // the Join page and uses nothing; a POST without this site's Origin joins nothing.
    for _ in 0..2 {
        let res = web
            .http
            .get(url)
            .header("user-agent", "Mozilla/5.0 (compatible; Discordbot/2.0)")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert!(res.headers().get("set-cookie").is_none());
        let html = res.text().await.unwrap();
        assert!(
            html.contains("Join the table") && html.contains("as Ana"),
            "{html}"
        );
    }
    for origin in [None, Some("http://evil.example")] {
        let mut req = web.http.post(url);
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{origin:?}");
        assert!(res.headers().get("set-cookie").is_none());
    }
    // Text from the GM is escaped on the page.
    let (_, odd) = web
        .post(
            "/api/v1/invites",
            &gm,
            json!({"role": "player", "name": "Bo\"><i>x"}),
        )
        .await;
    if let Some(odd_url) = odd["url"].as_str() {
        let html = web
            .http
            .get(odd_url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!html.contains("<i>x"), "{html}");
    }
    let (s, ana, loc, _) = web.open_link(url).await;
    assert_eq!((s, loc.as_deref()), (StatusCode::SEE_OTHER, Some("/play")));
    let ana = ana.unwrap();
    assert_eq!(web.open_link(url).await.0, StatusCode::FORBIDDEN);
    let (s, v) = web
        .post("/api/v1/invites", &ana, json!({"role": "gm"}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    let (_, me) = web.get("/api/v1/me", Some(&ana)).await;
    assert_eq!(me["role"], "player");
    assert_eq!(me["name"], "Ana");
    assert_eq!(me["character"], Value::Null);

    // A revoked link does not work.
    let inv = web.invite(&gm, json!({"role": "display"})).await;
    let del = web
        .http
        .delete(format!("{}/api/v1/invites/{}", web.base, inv["id"]))
        .header("cookie", &gm.0)
        .header("origin", web.origin())
        .send()
        .await
        .unwrap();
    assert_eq!(del.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        web.open_link(inv["url"].as_str().unwrap()).await.0,
        StatusCode::FORBIDDEN
    );

    // Wrong or missing Origin: POST refused even with the cookie.
    let body = json!({"kind": "roll", "dice": "1d20"}).to_string();
    for origin in ["http://evil.example", ""] {
        let (s, v) = web
            .post_with("/api/v1/actions", Some(&ana), Some(origin), body.clone())
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{origin}: {v}");
        assert_eq!(v["error"]["code"], "bad_origin");
    }
    let (s, v) = web
        .post_with("/api/v1/actions", Some(&ana), None, body)
        .await;
    assert_eq!((s, &v["ok"]), (StatusCode::OK, &json!(true)), "{v}");

    // Wrong Origin or no cookie: the WebSocket upgrade is refused.
    let e = web
        .ws(Some(&ana), Some("http://evil.example"))
        .await
        .err()
        .expect("refused");
    assert!(e.to_string().contains("403"), "{e}");
    let e = web.ws(None, None).await.err().expect("refused");
    assert!(e.to_string().contains("401"), "{e}");
    let mut sock = web.ws(Some(&ana), None).await.unwrap();
    let (_, w) = sock.hello(None).await;
    assert_eq!(w["role"], "player");
    assert_eq!(w["resume"], "snapshot");
    let here = sock.next().await.unwrap();
    assert_eq!(
        (&here["type"], &here["event"]),
        (&json!("presence"), &json!("here")),
        "{here}"
    );
    assert!(
        here["online"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["name"] == "Ana"),
        "{here}"
    );

    // The OpenAPI document lists exactly the routes, and each of them exists (none
    // falls through to "No such page").
    let (s, api) = web.get("/api/v1/openapi.json", None).await;
    assert_eq!(s, StatusCode::OK);
    let mut paths: Vec<&str> = api["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    paths.sort();
    let mut want = vec![
        "/join/{secret}",
        "/api/v1/me",
        "/api/v1/snapshot",
        "/api/v1/sheet",
        "/api/v1/events",
        "/api/v1/actions",
        "/api/v1/characters",
        "/api/v1/characters/import",
        "/api/v1/invites",
        "/api/v1/invites/{id}",
        "/api/v1/kick",
        "/api/v1/campaigns",
        "/api/v1/ws",
        "/api/v1/openapi.json",
    ];
    want.sort();
    assert_eq!(paths, want);
    for (path, ops) in api["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            let url = format!(
                "{}{}",
                web.base,
                path.replace("{secret}", "x").replace("{id}", "1")
            );
            let req = web
                .http
                .request(method.to_uppercase().parse().unwrap(), url)
                .header("origin", web.origin());
            let res = req.send().await.unwrap();
            let body = res.text().await.unwrap();
            assert!(
                !body.contains("No such page"),
                "{method} {path} is not served"
            );
        }
    }

    // Guessing links from one address is cut short (20 refused tries a minute).
    let mut limited = false;
    for _ in 0..40 {
        let guess = format!("{}/join/{}", web.base, "C".repeat(43));
        match web.open_link(&guess).await.0 {
            StatusCode::TOO_MANY_REQUESTS => {
                limited = true;
                break;
            }
            s => assert_eq!(s, StatusCode::FORBIDDEN),
        }
    }
    assert!(limited, "40 refused join attempts were not limited");

    // No secret in the server's logs (at debug): not the links' secrets, not the
    // session cookies.
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("join link exchanged"),
        "the log is there: {logged}"
    );
    let gm_secret = table.gm_link.rsplit('/').next().unwrap();
    let ana_secret = ana_link.rsplit('/').next().unwrap();
    for secret in [
        gm_secret,
        ana_secret,
        gm.0.split('=').nth(1).unwrap(),
        ana.0.split('=').nth(1).unwrap(),
    ] {
        assert!(!logged.contains(secret), "a secret was logged");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn players_and_a_display_share_the_story_and_a_whisper_reaches_only_its_player() {
    let dir = tempfile::tempdir().unwrap();
    let table = WebTable::start(dir.path());
    let web = table.client();
    let gm = web.join(&table.gm_link).await;
    let (ana, ana_id) = web.new_player(&gm, "Ana").await;
    let (bo, _) = web.new_player(&gm, "Bo").await;
    let tv = web
        .join(
            web.invite(&gm, json!({"role": "display"})).await["url"]
                .as_str()
                .unwrap(),
        )
        .await;

    for (c, name) in [(&ana, "Thorin"), (&bo, "Mira")] {
        let (s, v) = web
            .post(
                "/api/v1/characters",
                c,
                json!({"name": name, "class": "fighter", "race": "dwarf"}),
            )
            .await;
        assert_eq!((s, &v["ok"]), (StatusCode::OK, &json!(true)), "{v}");
    }
    let (_, me) = web.get("/api/v1/me", Some(&ana)).await;
    assert_eq!(me["character"]["name"], "Thorin");
    let (s, sheet) = web.get("/api/v1/sheet", Some(&ana)).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(sheet["character"]["name"], "Thorin");
    let (s, snap) = web.get("/api/v1/snapshot", Some(&tv)).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(snap["party"].as_array().unwrap().len(), 2, "{snap}");
    // The class state (the engine's read model) rides along: a fighter's Second Wind.
    assert_eq!(
        snap["party"][0]["class_lines"],
        json!(["Second Wind 1/1"]),
        "{snap}"
    );
    assert_eq!(
        snap["party"][0]["class_state"]["resources"][0]["key"], "second-wind",
        "{snap}"
    );

    let mut socks = Vec::new();
    for c in [&gm, &ana, &bo, &tv] {
        let mut s = web.ws(Some(c), None).await.unwrap();
        s.hello(None).await;
        socks.push(s);
    }
    // Presence: the GM's socket hears the others arrive, with the whole (small) table.
    loop {
        let m = socks[0].next().await.expect("presence");
        if m["type"] == "presence" && m["event"] == "join" && m["who"]["role"] == "display" {
            let online = m["online"].as_array().unwrap();
            assert_eq!(online.len(), 4, "{m}");
            assert!(online.iter().any(|o| o["name"] == "Bo"), "{m}");
            break;
        }
    }

    // The display cannot act; a player cannot do the GM's work; the rules refuse
    // with their own words.
    let (s, _) = web
        .post("/api/v1/actions", &tv, json!({"kind": "dodge"}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let v = web
        .act(&bo, json!({"kind": "whisper", "to": ana_id, "text": "hi"}))
        .await;
    assert_eq!(v["ok"], false, "{v}");
    assert!(!v["refused"]["reason"].as_str().unwrap().is_empty());
    let v = web.act(&ana, json!({"kind": "end_turn"})).await;
    assert_eq!(v["ok"], false, "{v}");
    let (s, v) = web
        .post("/api/v1/actions", &ana, json!({"kind": "fly"}))
        .await;
    assert_eq!(
        (s, &v["error"]["code"]),
        (StatusCode::BAD_REQUEST, &json!("bad_request"))
    );

    let secret = "psst-the-idol-is-fake-7b3";
    let w = web
        .act(
            &gm,
            json!({"kind": "whisper", "to": ana_id, "text": secret}),
        )
        .await;
    last_seq(&w);
    let said = web
        .act(&ana, json!({"kind": "say", "text": "I roll 1d20+2"}))
        .await;
    assert_eq!(
        said["ok"], true,
        "free text goes through the intent path: {said}"
    );
    let marker = last_seq(&web.act(&bo, json!({"kind": "roll", "dice": "1d6"})).await);

    let mut seen = Vec::new();
    for s in socks.iter_mut() {
        let items = until_event(s, marker).await;
        seen.push(serde_json::to_string(&items).unwrap());
    }
    let [gm_s, ana_s, bo_s, tv_s] = [&seen[0], &seen[1], &seen[2], &seen[3]];
    assert!(gm_s.contains(secret), "the GM sees the whisper");
    assert!(ana_s.contains(secret), "Ana sees her whisper");
    assert!(!bo_s.contains(secret), "the other phone never sees it");
    assert!(!tv_s.contains(secret), "the display never sees it");
    for s in [gm_s, ana_s, bo_s, tv_s] {
        assert!(
            s.contains("DiceRolled"),
            "everyone sees the public rolls: {s}"
        );
    }

    // A fight: the scene shows the initiative with monsters as health words only.
    let v = web
        .act(&gm, json!({"kind": "fight", "monsters": "2 goblin"}))
        .await;
    assert_eq!(v["ok"], true, "{v}");
    let (_, snap) = web.get("/api/v1/snapshot", Some(&tv)).await;
    let order = snap["combat"]["initiative"].as_array().unwrap();
    assert_eq!(order.len(), 4, "{snap}");
    for c in order {
        if c["pc"] == false {
            assert_eq!(c["hp"], Value::Null, "a monster's HP is never sent: {c}");
            assert_eq!(c["health"], "unhurt");
        }
    }
    assert!(snap["combat"]["turn"]["name"].is_string(), "{snap}");
    let v = web.act(&gm, json!({"kind": "end_fight"})).await;
    assert_eq!(v["ok"], true, "{v}");

    // The rate limit: a burst, then a clear error (malformed bodies count too).
    let mut limited = None;
    for _ in 0..40 {
        let (s, v) = web
            .post_with("/api/v1/actions", Some(&bo), None, "{".into())
            .await;
        if s == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(v);
            break;
        }
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    }
    let v = limited.expect("40 actions in a row were not limited");
    assert_eq!(v["error"]["code"], "rate_limited");
    assert!(v["error"]["retry_after_ms"].as_u64().unwrap() > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnecting_with_last_loses_and_repeats_nothing_also_across_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let mut table = WebTable::start(dir.path());
    let web = table.client();
    let gm = web.join(&table.gm_link).await;
    let (ana, ana_id) = web.new_player(&gm, "Ana").await;

    let mut sock = web.ws(Some(&ana), None).await.unwrap();
    let (start, _) = sock.hello(None).await;
    let mut got: Vec<Value> = Vec::new();
    let mut marker = 0;
    for i in 0..5 {
        marker = last_seq(
            &web.act(&gm, json!({"kind": "roll", "dice": format!("1d20+{i}")}))
                .await,
        );
    }
    got.extend(until_event(&mut sock, marker).await);
    drop(sock);

    // Missed while away: public rolls and a whisper for Ana.
    for i in 0..4 {
        web.act(&gm, json!({"kind": "roll", "dice": format!("2d6+{i}")}))
            .await;
    }
    web.act(
        &gm,
        json!({"kind": "whisper", "to": ana_id, "text": "while you were away"}),
    )
    .await;
    marker = last_seq(&web.act(&gm, json!({"kind": "roll", "dice": "1d4"})).await);
    let mut sock = web.ws(Some(&ana), None).await.unwrap();
    let (_, w) = sock.hello(Some(cursor(got.last().unwrap()))).await;
    assert_eq!(w["resume"], "replay");
    got.extend(until_event(&mut sock, marker).await);
    drop(sock);

    // kill -9, more happens after the restart, Ana comes back with her cursor (her
    // session survives the restart).
    table.kill();
    let table = WebTable::start(dir.path());
    let web = table.client();
    for i in 0..3 {
        marker = last_seq(
            &web.act(&gm, json!({"kind": "roll", "dice": format!("1d8+{i}")}))
                .await,
        );
    }
    let mut sock = web.ws(Some(&ana), None).await.unwrap();
    let (_, w) = sock.hello(Some(cursor(got.last().unwrap()))).await;
    assert_eq!(w["resume"], "replay");
    got.extend(until_event(&mut sock, marker).await);

    let ids: Vec<_> = got.iter().map(ident).collect();
    for pair in ids.windows(2) {
        assert!(
            (pair[0].0, pair[0].1) < (pair[1].0, pair[1].1),
            "duplicate or out of order: {pair:?}"
        );
    }
    // The truth: the stored feed for Ana, up to the same point.
    let end = (ids.last().unwrap().0, ids.last().unwrap().1);
    let truth: Vec<_> = web
        .all_events(&ana, start)
        .await
        .iter()
        .map(ident)
        .filter(|(s, p, _)| (*s, *p) <= end)
        .collect();
    assert_eq!(
        ids, truth,
        "what the socket delivered is exactly the stored feed"
    );
    assert!(
        serde_json::to_string(&got)
            .unwrap()
            .contains("while you were away")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_frames_get_errors_and_a_kicked_session_is_closed() {
    let dir = tempfile::tempdir().unwrap();
    let table = WebTable::start(dir.path());
    let web = table.client();
    let gm = web.join(&table.gm_link).await;
    let (ana, _) = web.new_player(&gm, "Ana").await;
    let (bo, bo_id) = web.new_player(&gm, "Bo").await;

    let mut sock = web.ws(Some(&ana), None).await.unwrap();
    // Malformed JSON before and after hello: an error, the socket stays open.
    sock.ws
        .send(tokio_tungstenite::tungstenite::Message::text("{not json"))
        .await
        .unwrap();
    let e = sock.next().await.unwrap();
    assert_eq!(
        (&e["type"], &e["code"]),
        (&json!("error"), &json!("bad_message")),
        "{e}"
    );
    sock.hello(None).await;
    sock.send(json!({"type": "shout"})).await;
    sock.send(json!({"type": "ping", "nonce": 5})).await;
    let mut got_error = false;
    loop {
        let m = sock.next().await.expect("the socket stays open");
        match m["type"].as_str() {
            Some("error") => got_error = true,
            Some("pong") => {
                assert_eq!(m["nonce"], 5);
                break;
            }
            _ => {}
        }
    }
    assert!(got_error);
    // Over 64 KiB: too_large, closed; the server keeps serving.
    sock.send(json!({"type": "ping", "nonce": "x".repeat(100 * 1024)}))
        .await;
    let mut too_large = false;
    while let Some(m) = sock.next().await {
        too_large |= m["code"] == "too_large";
    }
    assert!(too_large, "an oversized frame is answered with too_large");
    let (s, _) = web.get("/api/v1/me", Some(&ana)).await;
    assert_eq!(s, StatusCode::OK);
    let mut again = web.ws(Some(&ana), None).await.unwrap();
    again.hello(None).await;
    // An oversized POST body.
    let (s, v) = web
        .post_with("/api/v1/actions", Some(&ana), None, "x".repeat(100 * 1024))
        .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{v}");

    // Kick: Bo's open socket gets `kicked` and is closed (watchdog 10 s).
    let mut bs = web.ws(Some(&bo), None).await.unwrap();
    bs.hello(None).await;
    let (s, v) = web
        .post("/api/v1/kick", &gm, json!({"player": bo_id}))
        .await;
    assert_eq!((s, &v["sessions"]), (StatusCode::OK, &json!(1)), "{v}");
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        let mut kicked = false;
        while let Some(m) = bs.next().await {
            kicked |= m["code"] == "kicked";
        }
        kicked
    })
    .await
    .expect("watchdog: the kicked socket was not closed");
    assert!(closed, "the kicked socket was told why");
    assert_eq!(
        web.get("/api/v1/me", Some(&bo)).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert!(web.ws(Some(&bo), None).await.is_err());
    // Ana is untouched.
    let (s, _) = web.get("/api/v1/me", Some(&ana)).await;
    assert_eq!(s, StatusCode::OK);
}

/// Who a socket is, for the test's oracle of the visibility rule.
#[derive(Clone, Debug)]
enum Seat {
    Gm,
    Player(String),
    Display,
}

/// The items after `from` up to `to` that `cookie`'s viewer may see, from `GET /events`
/// (paged).
async fn events_between(
    web: &Web,
    cookie: &Cookie,
    from: (u64, u32),
    to: (u64, u32),
) -> Vec<Value> {
    let mut out = Vec::new();
    let mut after = from;
    loop {
        let (status, v) = web
            .get(
                &format!("/api/v1/events?after={}.{}&limit=1000", after.0, after.1),
                Some(cookie),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{v}");
        let items = v["items"].as_array().cloned().unwrap_or_default();
        out.extend(items.into_iter().filter(|m| cursor(m) <= to));
        let next = (
            v["cursor"]["seq"].as_u64().unwrap(),
            v["cursor"]["part"].as_u64().unwrap() as u32,
        );
        if v["more"] != true || next >= to || next <= after {
            return out;
        }
        after = next;
    }
}

fn allows(vis: Option<&str>, seat: &Seat) -> bool {
    match (vis.unwrap_or("public"), seat) {
        (_, Seat::Gm) => true,
        ("public", _) => true,
        ("party", Seat::Player(_)) => true,
        (v, Seat::Player(p)) => v.strip_prefix("player:") == Some(p.as_str()),
        _ => false,
    }
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Many random (item, viewer) pairs over the real WebSocket: public rolls, secret
/// rolls, whispers, party HP changes and the GM's own secret rolls, each checked
/// against every connected seat: zero leaks and nothing missing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_item_reaches_a_viewer_it_is_not_for() {
    const PLAYERS: usize = 60;
    const DISPLAYS: usize = 15;
    const PLAYER_ACTIONS: usize = 10;
    const GM_SESSIONS: usize = 10;
    const GM_ACTIONS: usize = 10;
    let dir = tempfile::tempdir().unwrap();
    let table = WebTable::start(dir.path());
    let web = table.client();
    let gm = web.join(&table.gm_link).await;
    let mut players: Vec<(Cookie, String)> = Vec::new();
    for i in 0..PLAYERS {
        players.push(web.new_player(&gm, &format!("P{i}")).await);
    }
    for (i, (c, _)) in players.iter().take(4).enumerate() {
        let (s, v) = web
            .post(
                "/api/v1/characters",
                c,
                json!({"name": format!("Hero{i}"), "class": "fighter", "race": "human"}),
            )
            .await;
        assert_eq!((s, &v["ok"]), (StatusCode::OK, &json!(true)), "{v}");
    }
    let mut gms = Vec::new();
    for _ in 0..GM_SESSIONS {
        let inv = web.invite(&gm, json!({"role": "gm"})).await;
        gms.push(web.join(inv["url"].as_str().unwrap()).await);
    }
    let mut seats: Vec<(Seat, Cookie)> = vec![(Seat::Gm, gm.clone())];
    for (c, id) in &players {
        seats.push((Seat::Player(id.clone()), c.clone()));
    }
    for _ in 0..DISPLAYS {
        let inv = web.invite(&gm, json!({"role": "display"})).await;
        seats.push((Seat::Display, web.join(inv["url"].as_str().unwrap()).await));
    }
    let mut socks = Vec::new();
    for (seat, c) in &seats {
        let mut s = web.ws(Some(c), None).await.unwrap();
        let (start, _) = s.hello(None).await;
        socks.push((seat.clone(), start, s));
    }

    // Readers run while the actions go in (a socket must not fall behind).
    let (marker_tx, marker_rx) = tokio::sync::watch::channel(0u64);
    // A socket that falls behind (its send queue full, likely on a busy machine) gets a
    // `snapshot` resync and not the items in between: like a client that wants the
    // whole story, the reader notes each gap and fetches it with `GET /events`.
    let mut readers = Vec::new();
    for ((seat, start, mut sock), (_, cookie)) in socks.into_iter().zip(seats.iter().cloned()) {
        let mut rx = marker_rx.clone();
        readers.push(tokio::spawn(async move {
            let mut items: Vec<Value> = Vec::new();
            let mut gaps: Vec<((u64, u32), (u64, u32))> = Vec::new();
            loop {
                let marker = *rx.borrow_and_update();
                if marker > 0
                    && items
                        .iter()
                        .any(|m| m["type"] == "event" && m["seq"].as_u64() == Some(marker))
                {
                    return (seat, start, items, gaps, cookie);
                }
                tokio::select! {
                    m = sock.next() => {
                        let m = m.expect("socket closed early");
                        if m.get("seq").is_none() {
                            assert_ne!(m["type"], "error", "{m}");
                            if m["type"] == "snapshot" {
                                let from = items.last().map(cursor).unwrap_or(start);
                                let to = (
                                    m["cursor"]["seq"].as_u64().unwrap(),
                                    m["cursor"]["part"].as_u64().unwrap() as u32,
                                );
                                gaps.push((from, to));
                            }
                            continue;
                        }
                        items.push(m);
                    }
                    _ = rx.changed() => {}
                }
            }
        }));
    }

    let ids: Vec<String> = players.iter().map(|(_, id)| id.clone()).collect();
    let mut tasks = Vec::new();
    for (n, (c, _)) in players.iter().enumerate() {
        let (web, c) = (web.clone(), c.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (n as u64 + 1));
            for _ in 0..PLAYER_ACTIONS {
                let secret = rng.below(2) == 0;
                web.act(
                    &c,
                    json!({"kind": "roll", "dice": "1d20", "secret": secret}),
                )
                .await;
            }
        }));
    }
    for (n, c) in gms.iter().enumerate() {
        let (web, c, ids) = (web.clone(), c.clone(), ids.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng(0x2545_f491_4f6c_dd1d ^ (n as u64 + 1));
            for _ in 0..GM_ACTIONS {
                let body = match rng.below(3) {
                    0 => json!({"kind": "whisper", "to": ids[rng.below(ids.len())], "text": "a secret"}),
                    1 => json!({"kind": "hp", "target": format!("Hero{}", rng.below(4)), "hp": 1 + rng.below(9)}),
                    _ => json!({"kind": "roll", "dice": "1d100", "secret": true}),
                };
                let v = web.act(&c, body.clone()).await;
                assert_eq!(v["ok"], true, "{body}: {v}");
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let marker = last_seq(&web.act(&gm, json!({"kind": "roll", "dice": "1d2"})).await);
    marker_tx.send(marker).unwrap();
    let mut results = Vec::new();
    let mut resyncs = 0usize;
    for r in readers {
        let (seat, start, mut items, gaps, cookie) = r.await.unwrap();
        for (from, to) in &gaps {
            resyncs += 1;
            items.extend(
                events_between(&web, &cookie, *from, *to)
                    .await
                    .into_iter()
                    .filter(|m| {
                        let c = cursor(m);
                        c > *from && c <= *to
                    }),
            );
        }
        items.sort_by_key(cursor);
        // A resync's snapshot may be newer than the marker: the check stops at it.
        items.retain(|m| cursor(m) <= (marker, 0));
        results.push((seat, start, items));
    }
    // The truth: everything the GM may see, from the store (`GET /events`).
    let gm_start = results.iter().map(|(_, start, _)| *start).min().unwrap();
    let end = (marker, 0);
    let truth = events_between(&web, &gm, gm_start, end).await;
    let truth = &truth;
    let gm_start = &gm_start;
    let mut pairs = 0usize;
    let mut by_vis: HashMap<String, usize> = HashMap::new();
    for (seat, start, items) in &results {
        assert!(start >= gm_start);
        let got: Vec<_> = items.iter().map(ident).collect();
        let want: Vec<_> = truth
            .iter()
            .filter(|m| cursor(m) > *start && cursor(m) <= end)
            .filter(|m| allows(m["data"]["visibility"].as_str(), seat))
            .map(ident)
            .collect();
        pairs += truth
            .iter()
            .filter(|m| cursor(m) > *start && cursor(m) <= end)
            .count();
        for m in items {
            assert!(
                allows(m["data"]["visibility"].as_str(), seat),
                "LEAK to {seat:?}: {m}"
            );
        }
        assert_eq!(got, want, "{seat:?} got exactly what it may see");
    }
    for m in truth {
        *by_vis
            .entry(
                m["data"]["visibility"]
                    .as_str()
                    .unwrap_or("public")
                    .split(':')
                    .next()
                    .unwrap()
                    .to_string(),
            )
            .or_default() += 1;
    }
    eprintln!(
        "web visibility: {pairs} (item, viewer) pairs over {} sockets ({resyncs} resyncs filled from GET /events), {} items by visibility {by_vis:?}, zero leaks",
        results.len(),
        truth.len()
    );
    for v in ["public", "player", "party"] {
        assert!(
            by_vis.get(v).copied().unwrap_or(0) > 0,
            "no {v} items: {by_vis:?}"
        );
    }
}

/// The store's side of a link: only hashes stored, one session per link even when two
/// browsers race with it, expired and revoked links refused, a kick ends sessions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_is_redeemed_once_even_when_raced() {
    use dicebard::store::web::NewInvite;
    use dicebard::store::{DbLocation, NewCampaign, Store};
    use dicebard::web::auth;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite3");
    let store = Store::open(&DbLocation::File(path.clone())).await.unwrap();
    let c = store
        .create_campaign(NewCampaign {
            name: "R".into(),
            guild_id: None,
            channel_id: None,
            seed: 1,
            created_at_ms: 1,
        })
        .await
        .unwrap();
    let now = 1_000_000i64;
    let invite = |secret: &[u8; 32], expires: i64| NewInvite {
        campaign_id: c.id,
        token_hash: auth::hash(secret),
        role: "player",
        player_id: Some("web:9".into()),
        name: Some("Ana".into()),
        created_at_ms: now,
        expires_at_ms: expires,
    };
    for round in 0..20 {
        let secret = auth::random_secret().unwrap();
        store
            .create_invite(&invite(&secret, now + 1000))
            .await
            .unwrap();
        let tries: Vec<_> = (0..4)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move {
                    let s = auth::random_secret().unwrap();
                    store
                        .redeem_invite(&auth::hash(&secret), &auth::hash(&s), now, now + 10_000)
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut won = 0;
        for t in tries {
            won += usize::from(t.await.unwrap().is_some());
        }
        assert_eq!(won, 1, "round {round}: one session per link");
    }
    // Expired and revoked links.
    let old = auth::random_secret().unwrap();
    store.create_invite(&invite(&old, now)).await.unwrap();
    let s = auth::random_secret().unwrap();
    assert!(
        store
            .redeem_invite(&auth::hash(&old), &auth::hash(&s), now, now + 1)
            .await
            .unwrap()
            .is_none()
    );
    let revoked = auth::random_secret().unwrap();
    let id = store
        .create_invite(&invite(&revoked, now + 1000))
        .await
        .unwrap();
    assert!(store.revoke_invite(c.id, id, now).await.unwrap());
    assert!(
        store
            .redeem_invite(&auth::hash(&revoked), &auth::hash(&s), now, now + 1)
            .await
            .unwrap()
            .is_none()
    );
    // A session, found by its hash only; a kick ends it.
    let fresh = auth::random_secret().unwrap();
    store
        .create_invite(&invite(&fresh, now + 1000))
        .await
        .unwrap();
    let (_, sess) = store
        .redeem_invite(&auth::hash(&fresh), &auth::hash(&s), now, now + 10_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        store.web_session(&auth::hash(&s), now).await.unwrap(),
        Some(sess.clone())
    );
    assert_eq!(
        store.web_session(&s, now).await.unwrap(),
        None,
        "the raw secret is no key"
    );
    let kicked = store.kick_web_player(c.id, "web:9", now).await.unwrap();
    assert!(kicked.contains(&sess.id));
    assert_eq!(store.web_session(&auth::hash(&s), now).await.unwrap(), None);
    store.close().await;
    // Neither secret is in the database file.
    let bytes = std::fs::read(&path).unwrap();
    let wal = std::fs::read(dir.path().join("db.sqlite3-wal")).unwrap_or_default();
    for secret in [fresh, s] {
        for hay in [&bytes, &wal] {
            assert!(
                !hay.windows(32).any(|w| w == secret),
                "a raw secret was stored"
            );
        }
    }
}

/// One game across front ends: a campaign started in Discord, then Discord and the web
/// table in one process. A Discord player's roll reaches the phones, a phone player's
/// roll reaches the Discord channel, and a whisper from the GM's page to one phone never
/// appears in the channel, in the other Discord player's DMs or on the other phone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_discord_player_and_phones_play_one_campaign() {
    use crate::support::bot::{Bot, reply_text};
    use fake_discord::ids::{ALICE, BOB, TABLE};
    use fake_discord::{FakeConfig, FakeDiscord};
    const T: Duration = Duration::from_secs(60);
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();

    // The campaign starts in Discord (Alice is its GM); Bob makes a character there.
    let mut bot = Bot::start(
        &fake,
        dir.path(),
        "[turns]\ntimeout_secs = 600\nwarning_secs = 60\n",
        &[],
        None,
    );
    fake.wait_for_ready(T).await.expect("the bot connects");
    let r = reply_text(
        &fake,
        ALICE,
        TABLE,
        "campaign start",
        &[("name", "Shared Table")],
        T,
    )
    .await;
    assert!(r.text().contains("Shared Table"), "{}", r.text());
    let r = reply_text(
        &fake,
        BOB,
        TABLE,
        "character create",
        &[("name", "Mira"), ("class", "Wizard"), ("race", "Elf")],
        T,
    )
    .await;
    assert!(r.text().contains("Mira"), "{}", r.text());
    bot.kill();

    // Discord and the web table in one process; the GM link is for that campaign.
    let env = [
        ("DICEBARD_DISCORD_TOKEN", fake.token().to_string()),
        ("DICEBARD_DISCORD_API_BASE", fake.api_base().to_string()),
        ("DICEBARD_DISCORD_GUILD_ID", fake.guild_id().to_string()),
    ];
    let table = WebTable::start_with(dir.path(), None, &env);
    fake.wait_for_identifies(2, T)
        .await
        .expect("the bot reconnects to Discord beside the web table");
    let web = table.client();
    let gm = web.join(&table.gm_link).await;
    let (ana, ana_id) = web.new_player(&gm, "Ana").await;
    let (bo, _) = web.new_player(&gm, "Bo").await;
    let (s, v) = web
        .post(
            "/api/v1/characters",
            &ana,
            json!({"name": "Thorin", "class": "fighter", "race": "dwarf"}),
        )
        .await;
    assert_eq!((s, &v["ok"]), (StatusCode::OK, &json!(true)), "{v}");
    let (_, snap) = web.get("/api/v1/snapshot", Some(&bo)).await;
    assert_eq!(
        snap["party"].as_array().map(Vec::len),
        Some(2),
        "the phones see the Discord player's character: {snap}"
    );
    let mut ana_sock = web.ws(Some(&ana), None).await.unwrap();
    ana_sock.hello(None).await;
    let mut bo_sock = web.ws(Some(&bo), None).await.unwrap();
    bo_sock.hello(None).await;

    // Discord → phones.
    let r = reply_text(&fake, BOB, TABLE, "roll", &[("dice", "1d20+17")], T).await;
    assert!(r.text().contains("1d20"), "{}", r.text());
    tokio::time::timeout(
        T,
        ana_sock.items_until(|m| {
            m["type"] == "line"
                && m["data"]["text"]
                    .as_str()
                    .is_some_and(|t| t.contains("1d20") && t.contains("+ 17"))
        }),
    )
    .await
    .expect("the phone sees the Discord player's roll");

    // Phone → Discord.
    last_seq(
        &web.act(&ana, json!({"kind": "roll", "dice": "1d12+13"}))
            .await,
    );
    fake.wait_for_message(
        TABLE,
        |m| m.text().contains("1d12") && m.text().contains("+ 13"),
        T,
    )
    .await
    .unwrap_or_else(|e| {
        panic!(
            "the channel shows the phone's roll: {e:?}\n{}",
            fake.describe()
        )
    });

    // A whisper from the GM's page to Ana only.
    let secret = "cross-table-idol-is-fake-41c";
    last_seq(
        &web.act(
            &gm,
            json!({"kind": "whisper", "to": ana_id, "text": secret}),
        )
        .await,
    );
    let marker = last_seq(&web.act(&bo, json!({"kind": "roll", "dice": "1d4"})).await);
    let ana_saw = tokio::time::timeout(T, until_event(&mut ana_sock, marker))
        .await
        .expect("Ana's socket reaches the marker");
    let bo_saw = tokio::time::timeout(T, until_event(&mut bo_sock, marker))
        .await
        .expect("Bo's socket reaches the marker");
    assert!(
        serde_json::to_string(&ana_saw).unwrap().contains(secret),
        "Ana gets her whisper"
    );
    assert!(
        !serde_json::to_string(&bo_saw).unwrap().contains(secret),
        "the other phone never sees it"
    );
    // The channel has caught up with the marker's roll: the whisper, committed before
    // it, is not there, nor in Bob's DMs.
    fake.wait_for_message(TABLE, |m| m.text().contains("1d4"), T)
        .await
        .expect("the channel shows the marker roll");
    assert!(
        fake.messages(TABLE)
            .iter()
            .all(|m| !m.text().contains(secret)),
        "a whisper to a phone never reaches the Discord channel"
    );
    assert!(
        fake.dms(BOB).iter().all(|m| !m.text().contains(secret)),
        "nor another player's DMs"
    );
}

/// Character import on the phone: a JSON export (Discord's `/character export` file)
/// posted to `/characters/import` becomes the player's character through the engine's
/// import check, as `/character import` does; a file that is not an export, or of
/// another version, is refused with the reason; a display cannot import.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_imports_a_character_export() {
    let dir = tempfile::tempdir().unwrap();
    let table = WebTable::start(dir.path());
    let web = table.client();
    let gm = web.join(&table.gm_link).await;
    let (ana, _) = web.new_player(&gm, "Ana").await;
    let (bo, _) = web.new_player(&gm, "Bo").await;
    let (s, v) = web
        .post(
            "/api/v1/characters",
            &ana,
            json!({"name": "Thorin", "class": "fighter", "race": "dwarf", "level": 3}),
        )
        .await;
    assert_eq!((s, &v["ok"]), (StatusCode::OK, &json!(true)), "{v}");
    // An export of Thorin, renamed, as the file a player would bring.
    let (_, sheet) = web.get("/api/v1/sheet", Some(&ana)).await;
    let thorin: dicebard_engine::creature::Creature =
        serde_json::from_value(sheet["character"].clone()).unwrap();
    let mut export = dicebard_engine::character::export_character(&thorin);
    export.character.name = "Brand".into();
    let export = serde_json::to_value(&export).unwrap();

    let (s, v) = web
        .post("/api/v1/characters/import", &bo, json!({"schema": "x"}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not a dicebard character file"),
        "{v}"
    );
    let mut other = export.clone();
    other["version"] = json!(999);
    let (s, v) = web.post("/api/v1/characters/import", &bo, other).await;
    assert_eq!((s, &v["ok"]), (StatusCode::OK, &json!(false)), "{v}");
    assert!(
        v["refused"]["reason"].as_str().unwrap().contains("version"),
        "{v}"
    );
    let inv = web.invite(&gm, json!({"role": "display"})).await;
    let tv = web.join(inv["url"].as_str().unwrap()).await;
    let (s, _) = web
        .post("/api/v1/characters/import", &tv, export.clone())
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "a display cannot import");

    let (s, v) = web
        .post("/api/v1/characters/import", &bo, export.clone())
        .await;
    assert_eq!((s, &v["ok"]), (StatusCode::OK, &json!(true)), "{v}");
    let (_, me) = web.get("/api/v1/me", Some(&bo)).await;
    assert_eq!(me["character"]["name"], "Brand", "{me}");
    let (_, sheet) = web.get("/api/v1/sheet", Some(&bo)).await;
    assert_eq!(sheet["character"]["name"], "Brand");
    assert_eq!(
        sheet["character"]["pc"]["level"],
        thorin.pc.as_ref().unwrap().level
    );
}
