//! The REST half of the protocol (docs/web-protocol.md, section 3) and the join route.
//!
//! Actions go to the coordinator exactly as Discord's and the terminal's do: the same
//! engine [`Command`]s for the session's player, the same free-text reading
//! ([`act_free_text`]); the engine decides, and its refusal is passed on verbatim.

use super::WebState;
use super::auth::{self, Role, Session};
use super::hub::may_act;
use super::view::{self, now_ms};
use crate::coordinator::CampaignId;
use crate::coordinator::{Committed, Origin, Source, SubmitError};
use crate::feed::FeedCursor;
use crate::intent::{ActOutcome, act_free_text};
use crate::table::{By, Invite, InviteRequest, TableError};
use axum::Json;
use axum::body::Bytes;
use axum::extract::connect_info::ConnectInfo;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use dicebard_engine::ability::{Abilities, Ability, Advantage, Skill};
use dicebard_engine::character::{AbilityMethod, CharacterSpec};
use dicebard_engine::condition::Condition;
use dicebard_engine::{Action, Actor, Command, PlayerId};
use serde::Deserialize;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;

/// The longest free text, name or target accepted (characters).
const MAX_TEXT: usize = 2000;
const MAX_NAME: usize = 40;

/// An API error: `{"error": {"code", "message"}}` with its status.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub retry_after_ms: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after_ms: None,
        }
    }
    pub fn bad_request(m: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", m)
    }
    pub fn forbidden(m: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", m)
    }
    pub fn not_found(m: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", m)
    }
    fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "No session: open your join link again, or ask the GM for a new one.",
        )
    }
    fn internal(e: impl std::fmt::Display) -> Self {
        tracing::warn!(error = %e, "web request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Sorry — something went wrong on our side.",
        )
    }
    fn gm_only() -> Self {
        Self::forbidden("This needs the GM's link.")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut err = json!({"code": self.code, "message": self.message});
        if let Some(ms) = self.retry_after_ms {
            err["retry_after_ms"] = json!(ms);
        }
        (self.status, Json(json!({ "error": err }))).into_response()
    }
}

impl From<TableError> for ApiError {
    fn from(e: TableError) -> Self {
        match e {
            TableError::Forbidden(m) => ApiError::forbidden(m),
            TableError::BadRequest(m) => ApiError::bad_request(m),
            TableError::NotFound(m) => ApiError::not_found(m),
            e @ (TableError::NotServing | TableError::Store(_) | TableError::Internal(_)) => {
                ApiError::internal(e)
            }
        }
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        ApiError::internal(e)
    }
}

type ApiResult<T> = Result<T, ApiError>;

/// The request's live session (cookie), or 401.
pub async fn session(state: &WebState, headers: &HeaderMap) -> ApiResult<Session> {
    let secret = auth::session_cookie(headers).ok_or_else(ApiError::unauthorized)?;
    let row = state
        .store()
        .web_session(&auth::hash(&secret), now_ms() as i64)
        .await?
        .ok_or_else(ApiError::unauthorized)?;
    Session::from_row(row).ok_or_else(ApiError::unauthorized)
}

/// A state-changing request's session: cookie AND same-origin `Origin`.
async fn write_session(state: &WebState, headers: &HeaderMap) -> ApiResult<Session> {
    if !auth::same_origin(headers, state.public_origin.as_deref()) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "bad_origin",
            "This request must come from the table's own page.",
        ));
    }
    session(state, headers).await
}

fn gm(s: &Session) -> ApiResult<()> {
    (s.role == Role::Gm)
        .then_some(())
        .ok_or_else(ApiError::gm_only)
}

/// A JSON body, with the protocol's errors for a bad or oversized one.
fn body<T: serde::de::DeserializeOwned>(b: Result<Bytes, BytesRejection>) -> ApiResult<T> {
    let b = b.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                "The request is over 64 KiB.",
            )
        } else {
            ApiError::bad_request(r.body_text())
        }
    })?;
    serde_json::from_slice(&b).map_err(|e| {
        let mut m = e.to_string();
        m.truncate(200);
        ApiError::bad_request(format!("Malformed request: {m}"))
    })
}

fn text(s: &str, what: &str, max: usize) -> ApiResult<String> {
    let t = s.trim();
    if t.is_empty() {
        return Err(ApiError::bad_request(format!("{what} is empty.")));
    }
    if t.chars().count() > max {
        return Err(ApiError::bad_request(format!(
            "{what} is longer than {max} characters."
        )));
    }
    Ok(t.to_string())
}

fn name(s: &str) -> ApiResult<String> {
    let n = text(s, "The name", MAX_NAME)?;
    if n.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "Names cannot hold control characters.",
        ));
    }
    Ok(n)
}

// ---- join ----------------------------------------------------------------------------

fn join_refused(status: StatusCode, msg: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        msg,
    )
        .into_response()
}

/// `GET /join/{secret}`: a page with one button that joins (a `POST` to the same URL).
/// Opening a link uses nothing: chat apps and mail scanners fetch links to preview them,
/// and would otherwise spend a one-time link before its player taps it. A used, revoked,
/// expired or made-up link is refused here already, and counts against the address.
pub async fn join_page(
    State(state): State<WebState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(secret): Path<String>,
) -> Response {
    let token = match link_token(&state, peer, &secret) {
        Ok(t) => t,
        Err(refused) => return *refused,
    };
    let invite = match state
        .store()
        .live_invite(&auth::hash(&token), now_ms() as i64)
        .await
    {
        Ok(Some(i)) => i,
        Ok(None) => {
            state.hub.join_refused(peer.ip());
            return join_refused(StatusCode::FORBIDDEN, LINK_USED);
        }
        Err(e) => return ApiError::from(e).into_response(),
    };
    let campaign = match state.store().campaign(invite.campaign_id).await {
        Ok(Some(c)) => c.name,
        _ => "a dicebard table".to_string(),
    };
    let who = match (invite.role.as_str(), invite.name.as_deref()) {
        ("gm", _) => "as its game master".to_string(),
        ("display", _) => "as the table's shared screen".to_string(),
        (_, Some(name)) => format!("as {name}"),
        _ => "as a player".to_string(),
    };
    let html = JOIN_PAGE
        .replace("{campaign}", &html_escape(&campaign))
        .replace("{who}", &html_escape(&who))
        .replace("{secret}", &html_escape(&secret));
    let mut res = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response();
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // Its Join button's POST must carry this site's Origin (a no-referrer page's form
    // sends `Origin: null`); nothing leaves for another site either way.
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    res
}

/// A join link's secret from its URL, within the address's join attempts: or the
/// refusal to send (too many attempts; a malformed secret counts as one).
fn link_token(state: &WebState, peer: SocketAddr, secret: &str) -> Result<[u8; 32], Box<Response>> {
    if !state.hub.may_join(peer.ip()) {
        return Err(Box::new(join_refused(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many join attempts from this address. Wait a minute and try again.",
        )));
    }
    auth::decode(secret).ok_or_else(|| {
        state.hub.join_refused(peer.ip());
        tracing::info!("a malformed join link was refused");
        Box::new(join_refused(StatusCode::FORBIDDEN, LINK_USED))
    })
}

const LINK_USED: &str = "This link has been used or has expired. Ask the GM for a new one.";

const JOIN_PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>Join {campaign}</title><link rel="stylesheet" href="/static/app.css"></head>
<body class="join"><main>
<h1>{campaign}</h1>
<p>You are invited to join {who}. The link works once: after this, this phone stays in.</p>
<form method="post" action="/join/{secret}">
<button id="join" class="primary" type="submit" autofocus>Join the table</button>
</form>
</main></body></html>
"#;

/// Escapes text for HTML element content and quoted attributes.
fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `POST /join/{secret}` (the join page's button, same origin only): the link's secret,
/// once, for a session cookie.
pub async fn join(
    State(state): State<WebState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(secret): Path<String>,
) -> Response {
    // Same origin only: another site's form must not sign a visitor into a session of
    // its choosing.
    if !auth::same_origin(&headers, state.public_origin.as_deref()) {
        return join_refused(
            StatusCode::FORBIDDEN,
            "Open the join link itself and tap Join.",
        );
    }
    let token = match link_token(&state, peer, &secret) {
        Ok(t) => t,
        Err(refused) => return *refused,
    };
    let token_hash = auth::hash(&token);
    let Ok(session_secret) = auth::random_secret() else {
        return ApiError::internal("no OS randomness").into_response();
    };
    let now = now_ms() as i64;
    let redeemed = state
        .store()
        .redeem_invite(
            &token_hash,
            &auth::hash(&session_secret),
            now,
            now.saturating_add(auth::SESSION_MS),
        )
        .await;
    let (invite, row) = match redeemed {
        Ok(Some(r)) => r,
        Ok(None) => {
            state.hub.join_refused(peer.ip());
            tracing::info!(link = %auth::hash_prefix(&token_hash), "a used, expired or unknown join link was refused");
            return join_refused(StatusCode::FORBIDDEN, LINK_USED);
        }
        Err(e) => return ApiError::from(e).into_response(),
    };
    let Some(session) = Session::from_row(row) else {
        return ApiError::internal("a stored session has no player").into_response();
    };
    tracing::info!(link = %auth::hash_prefix(&token_hash), invite = invite.id, campaign = session.campaign_id.get(), role = session.role.key(), "join link exchanged for a session");
    if session.role == Role::Player
        && let Some(p) = &session.player
    {
        seat(&state, session.campaign_id, p, session.name.as_deref()).await;
    }
    let mut res = (StatusCode::SEE_OTHER, "").into_response();
    let h = res.headers_mut();
    h.insert(
        header::LOCATION,
        HeaderValue::from_static(session.role.page()),
    );
    if let Ok(v) = HeaderValue::from_str(&auth::set_cookie(&session_secret, state.secure)) {
        h.insert(header::SET_COOKIE, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// Joins `player` to the campaign (as the engine's `Join`) if they are not in it.
async fn seat(state: &WebState, campaign: CampaignId, player: &PlayerId, name: Option<&str>) {
    let Ok(snap) = state.coordinator.snapshot(campaign).await else {
        return;
    };
    if snap.state.players.contains_key(player) {
        return;
    }
    let cmd = Command {
        by: Actor::Player(player.clone()),
        action: Action::Join {
            name: name.unwrap_or("Player").to_string(),
        },
    };
    if let Err(e) = state
        .coordinator
        .submit(campaign, cmd, Origin::new(Source::Web, player))
        .await
    {
        tracing::warn!(campaign = campaign.get(), error = %e, "a web player could not join the campaign");
    }
}

// ---- reading -------------------------------------------------------------------------

/// `GET /api/v1/me`
pub async fn me(State(state): State<WebState>, headers: HeaderMap) -> ApiResult<Json<Value>> {
    let s = session(&state, &headers).await?;
    let snap = state
        .coordinator
        .snapshot(s.campaign_id)
        .await
        .map_err(ApiError::internal)?;
    let character = s
        .player
        .as_ref()
        .and_then(|p| snap.state.character_of(p))
        .map(|c| json!({"id": c.id.0, "name": c.name}));
    let name = s.name.clone().or_else(|| {
        s.player
            .as_ref()
            .and_then(|p| snap.state.players.get(p))
            .map(|i| i.name.clone())
    });
    Ok(Json(json!({
        "v": 1,
        "role": s.role.key(),
        "campaign": {"id": s.campaign_id, "name": snap.state.name},
        "player": s.player.as_ref().map(|p| p.as_str()),
        "name": name,
        "character": character,
    })))
}

/// The scene for a session and the cursor it is current to.
pub async fn scene(state: &WebState, campaign: CampaignId) -> ApiResult<(FeedCursor, Value)> {
    let snap = state
        .coordinator
        .snapshot(campaign)
        .await
        .map_err(ApiError::internal)?;
    let cursor = FeedCursor::new(snap.seq, 1);
    Ok((cursor, view::scene(campaign, &snap.state, cursor)))
}

/// `GET /api/v1/snapshot`
pub async fn snapshot(State(state): State<WebState>, headers: HeaderMap) -> ApiResult<Json<Value>> {
    let s = session(&state, &headers).await?;
    Ok(Json(scene(&state, s.campaign_id).await?.1))
}

#[derive(Deserialize)]
pub struct SheetQuery {
    name: Option<String>,
}

/// `GET /api/v1/sheet`
pub async fn sheet(
    State(state): State<WebState>,
    headers: HeaderMap,
    Query(q): Query<SheetQuery>,
) -> ApiResult<Json<Value>> {
    let s = session(&state, &headers).await?;
    let snap = state
        .coordinator
        .snapshot(s.campaign_id)
        .await
        .map_err(ApiError::internal)?;
    let st = &snap.state;
    let c = match (s.role, q.name.as_deref().map(str::trim)) {
        (Role::Gm, Some(n)) if !n.is_empty() => {
            dicebard_engine::find_creature(st, &n.chars().take(MAX_NAME).collect::<String>(), |c| {
                c.is_pc()
            })
            .ok()
            .and_then(|id| st.creature(id))
        }
        _ => s.player.as_ref().and_then(|p| st.character_of(p)),
    };
    let c = c.ok_or_else(|| ApiError::not_found("No character."))?;
    Ok(Json(json!({ "character": c })))
}

#[derive(Deserialize)]
pub struct EventsQuery {
    after: Option<String>,
    limit: Option<String>,
}

/// `SEQ.PART` (or `SEQ`) into a cursor.
pub fn parse_cursor(s: &str) -> Option<FeedCursor> {
    let (seq, part) = s.split_once('.').unwrap_or((s, "0"));
    Some(FeedCursor::new(seq.parse().ok()?, part.parse().ok()?))
}

/// `GET /api/v1/events?after=SEQ.PART&limit=N`
pub async fn events(
    State(state): State<WebState>,
    headers: HeaderMap,
    Query(q): Query<EventsQuery>,
) -> ApiResult<Json<Value>> {
    let s = session(&state, &headers).await?;
    let after = match q.after.as_deref() {
        None | Some("") => FeedCursor::START,
        Some(a) => parse_cursor(a)
            .ok_or_else(|| ApiError::bad_request("after must be SEQ.PART, e.g. 12.3"))?,
    };
    let limit = match q.limit.as_deref() {
        None | Some("") => 200,
        Some(l) => l
            .parse::<u32>()
            .map_err(|_| ApiError::bad_request("limit is a number from 1 to 1000"))?
            .clamp(1, 1000) as usize,
    };
    let feed = state
        .feeds
        .feed(s.campaign_id)
        .await
        .map_err(ApiError::internal)?;
    let mut sub = feed.subscribe(s.viewer(), after);
    let mut items = Vec::new();
    let mut more = false;
    loop {
        if items.len() >= limit {
            more = true;
            break;
        }
        match sub.next_stored().await.map_err(ApiError::internal)? {
            Some(item) => items.push(view::item_message(&item)),
            None => break,
        }
    }
    Ok(Json(json!({
        "items": items,
        "cursor": view::cursor_json(sub.cursor()),
        "more": more,
    })))
}

// ---- acting --------------------------------------------------------------------------

/// A structured action (or free text) from a client.
#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum ActionReq {
    Attack {
        target: String,
        weapon: Option<String>,
    },
    Cast {
        spell: String,
        #[serde(default)]
        targets: Vec<String>,
        slot: Option<u8>,
    },
    Check {
        skill: Option<String>,
        ability: Option<String>,
        advantage: Option<String>,
        dc: Option<i32>,
    },
    Save {
        ability: String,
        advantage: Option<String>,
        dc: Option<i32>,
    },
    Dodge,
    EndTurn,
    Move {
        to: String,
        target: Option<String>,
    },
    Dash,
    Disengage,
    BreakFree,
    Help {
        target: String,
    },
    Hide,
    Ready {
        text: String,
    },
    React {
        #[serde(rename = "use")]
        take: bool,
    },
    Use {
        item: String,
    },
    Roll {
        dice: String,
        #[serde(default)]
        secret: bool,
    },
    Say {
        text: String,
    },
    Whisper {
        to: String,
        text: String,
    },
    Fight {
        monsters: String,
    },
    EndFight,
    AddToFight {
        monsters: String,
    },
    Damage {
        target: String,
        dice: String,
        damage_type: String,
    },
    EndCampaign,
    Hp {
        target: String,
        hp: i32,
    },
    Condition {
        target: String,
        condition: String,
        on: bool,
    },
}

fn advantage(a: Option<&str>) -> ApiResult<Advantage> {
    match a.map(str::to_ascii_lowercase).as_deref() {
        None | Some("" | "normal") => Ok(Advantage::Normal),
        Some("advantage" | "adv") => Ok(Advantage::Advantage),
        Some("disadvantage" | "dis") => Ok(Advantage::Disadvantage),
        Some(_) => Err(ApiError::bad_request(
            "advantage is normal, advantage or disadvantage.",
        )),
    }
}

fn dc(dc: Option<i32>) -> ApiResult<Option<i32>> {
    match dc {
        Some(d) if !(0..=100).contains(&d) => Err(ApiError::bad_request("dc is 0 to 100.")),
        d => Ok(d),
    }
}

/// A structured request into the engine's action (`None`: free text to read).
fn to_action(req: ActionReq) -> ApiResult<Result<Action, String>> {
    Ok(Ok(match req {
        ActionReq::Attack { target, weapon } => Action::Attack {
            target: text(&target, "The target", MAX_NAME * 2)?,
            weapon: weapon
                .map(|w| text(&w, "The weapon", MAX_NAME * 2))
                .transpose()?,
        },
        ActionReq::Cast {
            spell,
            targets,
            slot,
        } => {
            if targets.len() > 20 {
                return Err(ApiError::bad_request("At most 20 targets."));
            }
            Action::Cast {
                spell: text(&spell, "The spell", MAX_NAME * 2)?,
                targets: targets
                    .iter()
                    .map(|t| text(t, "A target", MAX_NAME * 2))
                    .collect::<ApiResult<_>>()?,
                slot,
            }
        }
        ActionReq::Check {
            skill,
            ability,
            advantage: adv,
            dc: d,
        } => {
            let skill = match skill.as_deref().map(str::trim) {
                Some(s) if !s.is_empty() => {
                    Some(Skill::parse(s).ok_or_else(|| ApiError::bad_request("Unknown skill."))?)
                }
                _ => None,
            };
            let ability = match (skill, ability.as_deref().map(str::trim)) {
                (None, Some(a)) if !a.is_empty() => Some(
                    Ability::parse(a).ok_or_else(|| ApiError::bad_request("Unknown ability."))?,
                ),
                (None, _) => {
                    return Err(ApiError::bad_request(
                        "A check needs a skill or an ability.",
                    ));
                }
                _ => None,
            };
            Action::Check {
                skill,
                ability,
                advantage: advantage(adv.as_deref())?,
                dc: dc(d)?,
            }
        }
        ActionReq::Save {
            ability,
            advantage: adv,
            dc: d,
        } => Action::Save {
            ability: Ability::parse(ability.trim())
                .ok_or_else(|| ApiError::bad_request("Unknown ability."))?,
            advantage: advantage(adv.as_deref())?,
            dc: dc(d)?,
        },
        ActionReq::Dodge => Action::Dodge,
        ActionReq::EndTurn => Action::EndTurn,
        ActionReq::Move { to, target } => Action::Move {
            to: match to.trim() {
                "near" => dicebard_engine::command::MoveTo::Near,
                "far" => dicebard_engine::command::MoveTo::Far,
                "engage" => dicebard_engine::command::MoveTo::Engage {
                    target: text(target.as_deref().unwrap_or(""), "The target", MAX_NAME * 2)?,
                },
                _ => return Err(ApiError::bad_request("move goes to engage, near or far.")),
            },
        },
        ActionReq::Dash => Action::Dash,
        ActionReq::Disengage => Action::Disengage,
        ActionReq::BreakFree => Action::BreakFree,
        ActionReq::Help { target } => Action::Help {
            target: text(&target, "The target", MAX_NAME * 2)?,
        },
        ActionReq::Hide => Action::Hide,
        ActionReq::Ready { text: t } => Action::Ready {
            text: text(&t, "The text", MAX_TEXT)?,
        },
        ActionReq::React { take } => Action::React { take },
        ActionReq::Use { item } => Action::UseItem {
            item: text(&item, "The item", MAX_NAME * 2)?,
        },
        ActionReq::Roll { dice, secret } => Action::Roll {
            expr: text(&dice, "The dice", 200)?,
            secret,
        },
        ActionReq::Say { text: t } => return Ok(Err(text(&t, "The text", MAX_TEXT)?)),
        ActionReq::Whisper { to, text: t } => Action::Whisper {
            to: PlayerId::new(text(&to, "The player", 100)?),
            text: text(&t, "The text", MAX_TEXT)?,
        },
        ActionReq::Fight { monsters } => Action::StartCombat {
            monsters: dicebard_engine::parse_monster_list(
                &text(&monsters, "The monsters", 500)?,
                dicebard_srd::catalog(),
            )
            .map_err(|e| ApiError::bad_request(e.to_string()))?,
        },
        ActionReq::EndFight => Action::EndCombat,
        ActionReq::AddToFight { monsters } => Action::AddToCombat {
            monsters: dicebard_engine::parse_monster_list(
                &text(&monsters, "The monsters", 500)?,
                dicebard_srd::catalog(),
            )
            .map_err(|e| ApiError::bad_request(e.to_string()))?,
        },
        ActionReq::Damage {
            target,
            dice,
            damage_type,
        } => Action::Damage {
            target: text(&target, "The target", MAX_NAME * 2)?,
            dice: text(&dice, "The dice", 200)?,
            damage_type: dicebard_engine::data::DamageType::parse(damage_type.trim())
                .ok_or_else(|| ApiError::bad_request("Unknown damage type."))?,
        },
        ActionReq::EndCampaign => Action::EndCampaign,
        ActionReq::Hp { target, hp } => Action::SetHp {
            target: text(&target, "The target", MAX_NAME * 2)?,
            hp: hp.clamp(-1000, 100_000),
        },
        ActionReq::Condition {
            target,
            condition,
            on,
        } => Action::SetCondition {
            target: text(&target, "The target", MAX_NAME * 2)?,
            condition: Condition::parse(condition.trim())
                .ok_or_else(|| ApiError::bad_request("Unknown condition."))?,
            on,
        },
    }))
}

fn committed(events: &[Arc<Committed>]) -> Vec<u64> {
    events.iter().map(|c| c.seq).collect()
}

fn refused(reason: String) -> Json<Value> {
    Json(json!({"ok": false, "refused": {"reason": reason}}))
}

/// An acting session: may act, and within its rate limit.
async fn actor(state: &WebState, headers: &HeaderMap) -> ApiResult<(Session, PlayerId)> {
    let s = write_session(state, headers).await?;
    let player = match (&s.player, may_act(s.role)) {
        (Some(p), true) => p.clone(),
        _ => return Err(ApiError::forbidden("The display cannot act.")),
    };
    if let Err(wait) = state.hub.take_action(s.id) {
        let mut e = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "Too many actions: wait a moment.",
        );
        e.retry_after_ms = Some(wait.as_millis().max(1) as u64);
        return Err(e);
    }
    Ok((s, player))
}

async fn submit(state: &WebState, s: &Session, player: &PlayerId, action: Action) -> Json<Value> {
    let cmd = Command {
        by: Actor::Player(player.clone()),
        action,
    };
    match state
        .coordinator
        .submit(s.campaign_id, cmd, Origin::new(Source::Web, player))
        .await
    {
        Ok(events) => Json(json!({"ok": true, "seq": committed(&events)})),
        Err(e) => {
            if !matches!(e, SubmitError::Rule(_)) {
                tracing::warn!(campaign = s.campaign_id.get(), error = %e, "a web action failed");
            }
            refused(e.user_message())
        }
    }
}

/// `POST /api/v1/actions`
pub async fn actions(
    State(state): State<WebState>,
    headers: HeaderMap,
    b: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<Value>> {
    let (s, player) = actor(&state, &headers).await?;
    act_on(&state, &s, &player, b).await
}

/// An action's body, read and done for `player` of session `s` (who may act and is
/// within the rate limit).
pub(crate) async fn act_on(
    state: &WebState,
    s: &Session,
    player: &PlayerId,
    b: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<Value>> {
    let req: ActionReq = body(b)?;
    match to_action(req)? {
        Ok(action) => Ok(submit(state, s, player, action).await),
        Err(free) => {
            let outcome = act_free_text(
                &state.coordinator,
                &state.gm.intent,
                s.campaign_id,
                player,
                &free,
                Origin::new(Source::Web, player),
                true,
            )
            .await;
            Ok(match outcome {
                ActOutcome::Done { events, notice, .. } => {
                    let mut v = json!({"ok": true, "seq": committed(&events)});
                    if let Some(n) = notice {
                        v["notice"] = json!(n);
                    }
                    Json(v)
                }
                ActOutcome::Partial { events, refused } => Json(json!({
                    "ok": false,
                    "seq": committed(&events),
                    "refused": {"reason": refused.user_message()},
                })),
                other => refused(
                    other
                        .message()
                        .unwrap_or_else(|| "Nothing happened.".into()),
                ),
            })
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum MethodReq {
    Standard,
    Roll,
    PointBuy([i32; 6]),
}

#[derive(Deserialize)]
struct CharacterReq {
    name: String,
    class: String,
    race: String,
    #[serde(default)]
    method: Option<MethodReq>,
    #[serde(default)]
    level: Option<u8>,
}

/// `POST /api/v1/characters`
pub async fn characters(
    State(state): State<WebState>,
    headers: HeaderMap,
    b: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<Value>> {
    let (s, player) = actor(&state, &headers).await?;
    create_character(&state, &s, &player, b).await
}

/// A character form's body, made into `player`'s character.
pub(crate) async fn create_character(
    state: &WebState,
    s: &Session,
    player: &PlayerId,
    b: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<Value>> {
    let req: CharacterReq = body(b)?;
    let mut spec = CharacterSpec::quick(
        &name(&req.name)?,
        &text(&req.class, "The class", MAX_NAME)?.to_ascii_lowercase(),
        &text(&req.race, "The race", MAX_NAME)?.to_ascii_lowercase(),
    );
    spec.method = match req.method {
        None | Some(MethodReq::Standard) => AbilityMethod::StandardArray { scores: None },
        Some(MethodReq::Roll) => AbilityMethod::Roll,
        Some(MethodReq::PointBuy(v)) => {
            if v.iter().any(|s| !(1..=30).contains(s)) {
                return Err(ApiError::bad_request("Scores are 1 to 30."));
            }
            AbilityMethod::PointBuy {
                scores: Abilities::new(v[0], v[1], v[2], v[3], v[4], v[5]),
            }
        }
    };
    spec.level = req.level.unwrap_or(1);
    Ok(submit(state, s, player, Action::CreateCharacter { spec }).await)
}

/// `POST /api/v1/characters/import`: the body is a character export (Discord's
/// `/character export` file), read and checked exactly as `/character import` reads
/// it; the engine decides whether it may be played here.
pub async fn import_character(
    State(state): State<WebState>,
    headers: HeaderMap,
    b: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<Value>> {
    let (s, player) = actor(&state, &headers).await?;
    import_body(&state, &s, &player, b).await
}

/// A character export's body, imported as `player`'s character.
pub(crate) async fn import_body(
    state: &WebState,
    s: &Session,
    player: &PlayerId,
    b: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<Value>> {
    let b = body::<Value>(b)?;
    let export: dicebard_engine::character::CharacterExport =
        serde_json::from_value(b).map_err(|e| {
            let mut m = e.to_string();
            m.truncate(200);
            ApiError::bad_request(format!("That is not a dicebard character file: {m}"))
        })?;
    Ok(submit(
        state,
        s,
        player,
        Action::ImportCharacter {
            export: Box::new(export),
        },
    )
    .await)
}

// ---- GM ------------------------------------------------------------------------------

/// A new link as the answer of `POST /invites` (with the secret's URL and QR code;
/// the secret itself is not kept).
pub fn invite_json(i: &Invite) -> Value {
    json!({
        "id": i.id,
        "role": i.role.key(),
        "player": i.player.as_ref().map(|p| p.as_str()),
        "name": i.name,
        "url": i.url,
        "expires_at": i.expires_at_ms,
        "qr_svg": super::qr::svg(&i.url),
    })
}

/// Makes a join link through the table's door (its permission rule); the answer of
/// `POST /invites`.
pub async fn make_invite(
    state: &WebState,
    campaign: CampaignId,
    by: By<'_>,
    req: InviteRequest,
) -> ApiResult<Value> {
    Ok(invite_json(&state.table.invite(campaign, by, req).await?))
}

#[derive(Deserialize)]
struct InviteReq {
    role: String,
    player: Option<String>,
    name: Option<String>,
    expires_in_s: Option<u64>,
}

/// The session's player, as whom it asks the table for links and kicks.
fn asker(s: &Session) -> ApiResult<&PlayerId> {
    s.player.as_ref().ok_or_else(ApiError::gm_only)
}

/// `POST /api/v1/invites`: the GM any link; a player a player link for themselves.
pub async fn create_invite(
    State(state): State<WebState>,
    headers: HeaderMap,
    b: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let s = write_session(&state, &headers).await?;
    let me = asker(&s)?;
    let req: InviteReq = body(b)?;
    let role = Role::parse(&req.role)
        .ok_or_else(|| ApiError::bad_request("role is player, display or gm."))?;
    let name = req.name.as_deref().map(name).transpose()?;
    let player = match req.player.as_deref().map(str::trim) {
        Some(p) if !p.is_empty() => Some(PlayerId::new(text(p, "The player", 100)?)),
        _ => None,
    };
    let v = make_invite(
        &state,
        s.campaign_id,
        By::Player(me),
        InviteRequest {
            role,
            player,
            name,
            expires_in_s: req.expires_in_s,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

/// `GET /api/v1/invites`
pub async fn list_invites(
    State(state): State<WebState>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    let s = session(&state, &headers).await?;
    gm(&s)?;
    let rows = state
        .store()
        .open_invites(s.campaign_id, now_ms() as i64)
        .await?;
    let invites: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({"id": r.id, "role": r.role, "player": r.player_id, "name": r.name,
                   "expires_at": r.expires_at_ms})
        })
        .collect();
    Ok(Json(json!({ "invites": invites })))
}

/// `DELETE /api/v1/invites/{id}`
pub async fn revoke_invite(
    State(state): State<WebState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let s = write_session(&state, &headers).await?;
    gm(&s)?;
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::not_found("No such invite."))?;
    state
        .table
        .revoke(s.campaign_id, By::Player(asker(&s)?), id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct KickReq {
    player: String,
}

/// `POST /api/v1/kick`
pub async fn kick(
    State(state): State<WebState>,
    headers: HeaderMap,
    b: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<Value>> {
    let s = write_session(&state, &headers).await?;
    gm(&s)?;
    let req: KickReq = body(b)?;
    let player = PlayerId::new(text(&req.player, "The player", 100)?);
    let n = state
        .table
        .kick(s.campaign_id, By::Player(asker(&s)?), &player)
        .await?;
    Ok(Json(json!({"ok": true, "sessions": n})))
}

#[derive(Deserialize)]
struct CampaignReq {
    name: String,
}

/// `POST /api/v1/campaigns`
pub async fn create_campaign(
    State(state): State<WebState>,
    headers: HeaderMap,
    b: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let s = write_session(&state, &headers).await?;
    gm(&s)?;
    let req: CampaignReq = body(b)?;
    let Some(me) = s.player.clone() else {
        return Err(ApiError::gm_only());
    };
    let cname = text(&req.name, "The name", 100)?;
    let id = match state
        .coordinator
        .create_campaign(&cname, &me, None, Origin::new(Source::Web, &me))
        .await
    {
        Ok(id) => id,
        Err(e) => return Ok(refused(e.user_message()).into_response()),
    };
    let mut v = make_invite(
        &state,
        id,
        By::Player(&me),
        InviteRequest {
            player: Some(me.clone()),
            ..InviteRequest::new(Role::Gm)
        },
    )
    .await?;
    v["campaign"] = json!({"id": id, "name": cname});
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

/// The campaign the web table starts on: the oldest active one, or (with `create`) a
/// new one with the web GM (`web:gm`) when there is none.
pub async fn startup_campaign(state: &WebState, create: bool) -> ApiResult<Option<CampaignId>> {
    let rows = state.store().campaigns().await?;
    for row in rows {
        if let Ok(snap) = state.coordinator.snapshot(row.id).await
            && snap.state.started
            && !snap.state.ended
            && snap.state.gm.is_some()
        {
            return Ok(Some(row.id));
        }
    }
    if !create {
        return Ok(None);
    }
    let gm = PlayerId::new("web:gm");
    state
        .coordinator
        .create_campaign("The table", &gm, None, Origin::new(Source::Web, &gm))
        .await
        .map(Some)
        .map_err(|e| ApiError::internal(e.user_message()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_parse() {
        assert_eq!(parse_cursor("12.3"), Some(FeedCursor::new(12, 3)));
        assert_eq!(parse_cursor("12"), Some(FeedCursor::new(12, 0)));
        assert_eq!(parse_cursor("x.1"), None);
        assert_eq!(parse_cursor("-1.0"), None);
        assert_eq!(parse_cursor("99999999999999999999999.0"), None);
    }

    #[test]
    fn actions_parse_into_engine_actions() {
        let a: ActionReq = serde_json::from_str(r#"{"kind":"attack","target":"goblin"}"#).unwrap();
        assert!(matches!(
            to_action(a).unwrap(),
            Ok(Action::Attack { target, weapon: None }) if target == "goblin"
        ));
        let a: ActionReq = serde_json::from_str(r#"{"kind":"say","text":"I attack"}"#).unwrap();
        assert!(matches!(to_action(a).unwrap(), Err(t) if t == "I attack"));
        let a: ActionReq =
            serde_json::from_str(r#"{"kind":"check","skill":"perception","dc":15}"#).unwrap();
        assert!(matches!(to_action(a).unwrap(), Ok(Action::Check { .. })));
        let a: ActionReq = serde_json::from_str(r#"{"kind":"check"}"#).unwrap();
        assert!(to_action(a).is_err());
        assert!(serde_json::from_str::<ActionReq>(r#"{"kind":"fly"}"#).is_err());
        assert!(
            serde_json::from_str::<ActionReq>(r#"{"kind":"cast","spell":"x","slot":300}"#).is_err()
        );
        let a: ActionReq = serde_json::from_str(r#"{"kind":"end_turn"}"#).unwrap();
        assert!(matches!(to_action(a).unwrap(), Ok(Action::EndTurn)));
        let a: ActionReq = serde_json::from_str(r#"{"kind":"react","use":true}"#).unwrap();
        assert!(matches!(
            to_action(a).unwrap(),
            Ok(Action::React { take: true })
        ));
        let a: ActionReq =
            serde_json::from_str(r#"{"kind":"move","to":"engage","target":"goblin"}"#).unwrap();
        assert!(matches!(
            to_action(a).unwrap(),
            Ok(Action::Move { to: dicebard_engine::command::MoveTo::Engage { target } }) if target == "goblin"
        ));
        let a: ActionReq = serde_json::from_str(r#"{"kind":"move","to":"engage"}"#).unwrap();
        assert!(to_action(a).is_err());
        let a: ActionReq = serde_json::from_str(r#"{"kind":"move","to":"up"}"#).unwrap();
        assert!(to_action(a).is_err());
        let a: ActionReq = serde_json::from_str(r#"{"kind":"hide"}"#).unwrap();
        assert!(matches!(to_action(a).unwrap(), Ok(Action::Hide)));
    }
}
