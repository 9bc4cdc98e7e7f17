//! The web front end's input paths, for the fuzzer (`fuzz-bot`'s `web_frames`) and the
//! test suite's replay of its corpus (`tests/it/fuzz_replay.rs`): whatever a client
//! sends — WebSocket text frames, REST bodies, query strings, join links, cookies —
//! goes through the server's own parsing and dispatch on a real coordinator (its
//! store a SQLite file in the temp directory, made once per process) and must never
//! panic, stall, or come back as an internal error.
//!
//! An input's first byte picks the path (`'0'` + n, n mod 10), the rest is what the
//! client sends: 0 a socket frame from a player, 1 from a TV display, 2 an action body
//! from the player, 3 from the GM, 4 a character form, 5 a character export, 6 an
//! invite body (GM), 7 a kick body (GM), 8 the events query string, 9 a join link's
//! secret and a cookie header. Actions skip the per-session rate limit (it would
//! refuse nearly every input and hide the paths behind it).

use super::auth::Session;
use super::{WebState, api, auth, ws};
use crate::store::CampaignId;
use crate::table::{By, InviteRequest, Role};
use axum::body::Bytes;
use axum::extract::ws::Message;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::IntoResponse;
use dicebard_engine::PlayerId;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

const BASE: &str = "http://127.0.0.1:1";
/// The fuzz store's directory in the temp dir: this prefix and the process id.
const PREFIX: &str = "dicebard-web-fuzz-";

/// Removes the stores of earlier processes that have ended (each is under a MiB, but
/// every test run would leave one).
fn remove_stale_dirs() {
    if !std::path::Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix(PREFIX)) else {
            continue;
        };
        if pid.parse::<u32>().is_ok() && !std::path::Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

struct World {
    rt: tokio::runtime::Runtime,
    state: WebState,
    gm_headers: HeaderMap,
    player_headers: HeaderMap,
    gm: Session,
    player: Session,
    display: Session,
}

fn headers(cookie: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        header::COOKIE,
        HeaderValue::from_str(cookie).expect("a cookie"),
    );
    h.insert(header::ORIGIN, HeaderValue::from_static(BASE));
    h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:1"));
    h
}

/// A same-site browser request's headers with no cookie (the join page's POST).
fn same_site() -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(header::ORIGIN, HeaderValue::from_static(BASE));
    h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:1"));
    h
}

fn peer() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 40_000))
}

/// A joined session of `role` on the campaign: its request headers and itself.
async fn join(
    state: &WebState,
    campaign: CampaignId,
    role: Role,
    name: &str,
) -> (HeaderMap, Session) {
    let req = InviteRequest {
        name: Some(name.into()),
        ..InviteRequest::new(role)
    };
    let inv = state
        .table
        .invite(campaign, By::Host, req)
        .await
        .expect("an invite");
    let secret = inv.url.rsplit('/').next().expect("a secret").to_string();
    let res = api::join(
        State(state.clone()),
        ConnectInfo(peer()),
        same_site(),
        Path(secret),
    )
    .await;
    let cookie = res
        .headers()
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .expect("a session cookie")
        .to_string();
    let h = headers(&cookie);
    let s = api::session(state, &h).await.expect("a live session");
    (h, s)
}

fn world() -> &'static World {
    static W: OnceLock<World> = OnceLock::new();
    W.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime");
        let dir = std::env::temp_dir().join(format!("{PREFIX}{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        remove_stale_dirs();
        let (state, gm_headers, player_headers, gm, player, display) = rt.block_on(async {
            let mut config = crate::config::Config::default();
            config.storage.data_dir = dir;
            let store = crate::store::Store::open(&config.database_location())
                .await
                .expect("the fuzz store");
            let clock = crate::clock::Clock::system();
            let gm = crate::gm::GameMaster::from_config(&config, Some(store.clone()), clock)
                .expect("the built-in game master");
            let options = crate::coordinator::CoordinatorOptions {
                npc_policy: gm.npc_policy.clone(),
                ..Default::default()
            };
            let catalog = Arc::new(dicebard_srd::catalog().clone());
            let coord = crate::coordinator::Coordinator::new(store, catalog, clock, options);
            let feeds = crate::feed::Feeds::new(coord.clone(), gm.clone(), Default::default());
            let state = WebState::new(coord.clone(), feeds, gm, BASE);
            let me = PlayerId::new("web:gm");
            let origin = crate::coordinator::Origin::new(crate::coordinator::Source::Web, &me);
            let campaign = coord
                .create_campaign("Fuzz", &me, Some(7), origin)
                .await
                .expect("the fuzz campaign");
            let (gm_headers, gm) = join(&state, campaign, Role::Gm, "GM").await;
            let (player_headers, player) = join(&state, campaign, Role::Player, "Ana").await;
            let (_, display) = join(&state, campaign, Role::Display, "TV").await;
            let ana = player.player.clone().expect("Ana's id");
            let body = br#"{"name":"Thorin","class":"fighter","race":"dwarf","level":3}"#;
            let _ =
                api::create_character(&state, &player, &ana, Ok(Bytes::from_static(body))).await;
            let gm_id = gm.player.clone().expect("the GM's id");
            let fight = br#"{"kind":"fight","monsters":"2 goblin"}"#;
            let _ = api::act_on(&state, &gm, &gm_id, Ok(Bytes::from_static(fight))).await;
            (state, gm_headers, player_headers, gm, player, display)
        });
        World {
            rt,
            state,
            gm_headers,
            player_headers,
            gm,
            player,
            display,
        }
    })
}

/// Not a server failure: every answer to a client's input is its own fault or a
/// refusal, never `500`.
fn check(status: StatusCode, what: &str) {
    assert_ne!(
        status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "{what}: an input made the server fail"
    );
}

fn checked<T: IntoResponse>(r: Result<T, api::ApiError>, what: &str) {
    match r {
        Ok(v) => check(v.into_response().status(), what),
        Err(e) => check(e.status, what),
    }
}

/// A socket's text frame from session `s`: read as the socket reads it; a `hello`
/// answered as the socket answers it (welcome, snapshot or replay, presence), every
/// message it queues valid JSON.
async fn frame(w: &World, s: &Session, text: &str) {
    let Some(m) = ws::parse_client(text) else {
        return;
    };
    let ws::ClientMsg::Hello { v: 1, last } = m else {
        return;
    };
    let (out, out_rx) = tokio::sync::mpsc::channel(ws::QUEUE);
    // The socket: what the writer writes, unbounded.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Message>();
    let sink = Box::pin(futures_util::sink::unfold(
        tx,
        |tx, m: Message| async move { tx.send(m).map(|()| tx) },
    ));
    let options = ws::WriterOptions {
        ping: None,
        max_behind: ws::MAX_BEHIND,
    };
    let writer = tokio::spawn(ws::write(w.state.clone(), s.clone(), sink, out_rx, options));
    if ws::start(&w.state, s, last, &out).await.is_ok() {
        // What the writer sends at once (a replay) is read below; it follows the feed
        // for as long as the socket would, so it is stopped here.
        tokio::time::sleep(Duration::from_millis(1)).await;
        w.state.hub.leave(s);
        w.state
            .table
            .disconnected(s.campaign_id, "web", s.role, s.player.as_ref());
    }
    drop(out);
    writer.abort();
    let _ = writer.await;
    while let Ok(m) = rx.try_recv() {
        if let Message::Text(t) = m {
            let v: serde_json::Value =
                serde_json::from_str(t.as_str()).expect("the server sends JSON");
            assert!(v.get("type").is_some(), "every message has a type: {v}");
        }
    }
}

/// Events in the fuzz campaign's log so far: a replay checks that its inputs reached
/// the rules (a target whose every input bounced off a parser would test little).
pub fn events_committed() -> u64 {
    let w = world();
    w.rt.block_on(async {
        w.state
            .coordinator
            .snapshot(w.gm.campaign_id)
            .await
            .map(|s| s.seq)
            .unwrap_or(0)
    })
}

/// One fuzz input (see the module doc).
pub fn frames(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let w = world();
    let text = std::str::from_utf8(rest).ok();
    let body = || Ok(Bytes::copy_from_slice(rest));
    let ana = w.player.player.clone().expect("Ana");
    let gm = w.gm.player.clone().expect("the GM");
    w.rt.block_on(async {
        match sel.wrapping_sub(b'0') % 10 {
            0 => {
                if let Some(t) = text {
                    frame(w, &w.player, t).await;
                }
            }
            1 => {
                if let Some(t) = text {
                    frame(w, &w.display, t).await;
                }
            }
            2 => checked(
                api::act_on(&w.state, &w.player, &ana, body()).await,
                "action",
            ),
            3 => checked(api::act_on(&w.state, &w.gm, &gm, body()).await, "GM action"),
            4 => checked(
                api::create_character(&w.state, &w.player, &ana, body()).await,
                "character",
            ),
            5 => checked(
                api::import_body(&w.state, &w.player, &ana, body()).await,
                "import",
            ),
            6 => checked(
                api::create_invite(State(w.state.clone()), w.gm_headers.clone(), body()).await,
                "invite",
            ),
            7 => checked(
                api::kick(State(w.state.clone()), w.gm_headers.clone(), body()).await,
                "kick",
            ),
            8 => {
                let Some(t) = text else { return };
                let Ok(uri) = format!("/api/v1/events?{t}").parse::<Uri>() else {
                    return;
                };
                if let Ok(q) = Query::try_from_uri(&uri) {
                    let r = api::events(State(w.state.clone()), w.player_headers.clone(), q).await;
                    checked(r, "events");
                }
            }
            _ => {
                let Some(t) = text else { return };
                let r = api::join_page(State(w.state.clone()), ConnectInfo(peer()), Path(t.into()))
                    .await;
                check(r.status(), "join page");
                let r = api::join(
                    State(w.state.clone()),
                    ConnectInfo(peer()),
                    same_site(),
                    Path(t.into()),
                )
                .await;
                check(r.status(), "join");
                if let Ok(v) = HeaderValue::from_str(t) {
                    let mut h = HeaderMap::new();
                    h.insert(header::COOKIE, v);
                    let _ = auth::session_cookie(&h);
                }
            }
        }
    });
}
