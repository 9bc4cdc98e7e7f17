//! The table's door, for every front end: join links (invites) for the phone table,
//! revoking them, kicking a player's web sessions, and who is connected through which
//! front end.
//!
//! The permission rule lives here and only here ([`may_invite`], [`may_manage`]): the
//! campaign's GM (or the host) may invite anyone, make display links and kick; a player
//! may invite only themselves (a link to move to another device). Discord's `/table`,
//! the terminal's `invite` / `display` / `kick` and the web API all call [`Table`], so
//! the same request gets the same answer from each.
//!
//! A kick revokes the player's sessions in the store and announces their ids on
//! [`Table::kicks`]; the web server closes every open socket of those sessions when it
//! hears it (within a second). Presence ([`Table::presence`]) is filled by the front
//! ends that hold connections (the web server's sockets, the members in Discord voice's
//! call) and read by any of them, or followed as it changes ([`Table::seat_changes`]).
//!
//! This module knows no front end: links are built from the base URL the web server
//! sets when it listens ([`Table::set_base_url`]); without it, invites say the web
//! table is not running.

pub mod qr;
pub mod secret;

use crate::coordinator::{CampaignId, Coordinator};
use crate::store::StoreError;
use dicebard_engine::{CampaignState, PlayerId};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock};
use tokio::sync::broadcast;

/// A link's lifetime: default and bounds, in seconds.
pub const INVITE_DEFAULT_S: u64 = 86_400;
pub const INVITE_MIN_S: u64 = 60;
pub const INVITE_MAX_S: u64 = 7 * 86_400;
/// The longest name a link may carry.
pub const MAX_NAME: usize = 40;

/// A role at the web table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Bound to one player of one campaign; acts for their character only.
    Player,
    /// Read-only, public events only (a TV at the head of the table).
    Display,
    /// Sees everything, including GM-only events.
    Gm,
}

impl Role {
    pub fn key(self) -> &'static str {
        match self {
            Role::Player => "player",
            Role::Display => "display",
            Role::Gm => "gm",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "player" => Some(Role::Player),
            "display" => Some(Role::Display),
            "gm" => Some(Role::Gm),
            _ => None,
        }
    }
}

/// Who asks for a link or a kick.
#[derive(Debug, Clone, Copy)]
pub enum By<'a> {
    /// The host running dicebard (the start-up GM link): may do anything.
    Host,
    /// A player of the campaign (its GM included), as the engine knows them.
    Player(&'a PlayerId),
}

/// What a link is for.
#[derive(Debug, Clone)]
pub struct InviteRequest {
    pub role: Role,
    /// The player the link seats. `None`: for a GM link the GM, for a player link
    /// from a player themselves, from the GM a new player called `name`.
    pub player: Option<PlayerId>,
    /// The name a new player joins under (also shown in the GM's list of links).
    pub name: Option<String>,
    /// Lifetime in seconds (clamped to a minute .. a week; default a day).
    pub expires_in_s: Option<u64>,
}

impl InviteRequest {
    pub fn new(role: Role) -> Self {
        InviteRequest {
            role,
            player: None,
            name: None,
            expires_in_s: None,
        }
    }
}

/// A new join link. `url` holds the secret: show it to whoever asked, never log it.
#[derive(Clone)]
pub struct Invite {
    pub id: i64,
    pub campaign_id: CampaignId,
    pub role: Role,
    pub player: Option<PlayerId>,
    pub name: Option<String>,
    pub url: String,
    pub expires_at_ms: i64,
}

impl std::fmt::Debug for Invite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Invite")
            .field("id", &self.id)
            .field("campaign_id", &self.campaign_id.get())
            .field("role", &self.role)
            .field("player", &self.player)
            .field("url", &"<secret>")
            .finish()
    }
}

/// Why a table request was not done. The messages are for the user.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// Not allowed for who asked.
    #[error("{0}")]
    Forbidden(String),
    /// Asked wrongly (no such player, a name missing or too long).
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    /// No web table listens in this process, so a link would lead nowhere.
    #[error(
        "The web table is not running here, so a link would lead nowhere \
         (`dicebard run` serves it; `dicebard play --web` beside the terminal)."
    )]
    NotServing,
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Internal(String),
}

impl TableError {
    /// A message fit for the user: everything but internal failures verbatim.
    pub fn user_message(&self) -> String {
        match self {
            TableError::Store(_) | TableError::Internal(_) => {
                "Sorry — something went wrong on our side.".into()
            }
            e => e.to_string(),
        }
    }
}

fn forbidden(m: &str) -> TableError {
    TableError::Forbidden(m.into())
}

/// The permission rule for links: the GM (or the host) may make any link; a player
/// only a player link for themselves (theirs by id, or no player and no name: a new
/// player's name is someone else).
pub fn may_invite(
    state: &CampaignState,
    by: By<'_>,
    req: &InviteRequest,
) -> Result<(), TableError> {
    match by {
        By::Host => Ok(()),
        By::Player(p) if state.is_gm(p) => Ok(()),
        By::Player(p) => match (req.role, &req.player) {
            (Role::Player, None) if req.name.is_none() => Ok(()),
            (Role::Player, Some(q)) if q == p => Ok(()),
            (Role::Player, _) => Err(forbidden(
                "Only the GM can invite someone else; you can invite yourself.",
            )),
            (Role::Display, _) => Err(forbidden("Only the GM can make a display link.")),
            (Role::Gm, _) => Err(forbidden("Only the GM can make a GM link.")),
        },
    }
}

/// The permission rule for kicks and revoking links: the GM (or the host) only.
pub fn may_manage(state: &CampaignState, by: By<'_>) -> Result<(), TableError> {
    match by {
        By::Host => Ok(()),
        By::Player(p) if state.is_gm(p) => Ok(()),
        By::Player(_) => Err(forbidden("Only the GM can do that.")),
    }
}

/// The player of the campaign that `text` names: their id, their name or their
/// character's name (case-insensitive). `None` when nobody or more than one matches.
pub fn find_player(state: &CampaignState, text: &str) -> Option<PlayerId> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    let id = PlayerId::new(t);
    if state.players.contains_key(&id) {
        return Some(id);
    }
    let mut found = state.players.iter().filter(|(p, info)| {
        info.name.eq_ignore_ascii_case(t)
            || state
                .character_of(p)
                .is_some_and(|c| c.name.eq_ignore_ascii_case(t))
    });
    let first = found.next()?;
    found.next().is_none().then(|| first.0.clone())
}

/// Which front end a player id came in through (by the id's prefix).
pub fn front_end_of(p: &PlayerId) -> &'static str {
    match p.as_str().split_once(':').map(|(a, _)| a) {
        Some("discord") => "discord",
        Some("web") => "web",
        Some("local") => "terminal",
        _ => "other",
    }
}

/// One seat with open connections: a role (and player) through one front end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seat {
    /// "web" (a phone, TV or GM page), "voice", …
    pub via: &'static str,
    pub role: Role,
    pub player: Option<PlayerId>,
    pub name: Option<String>,
    pub connections: u32,
}

/// A seat's connections through one front end changed: `seat.connections` is how many
/// there are now (0: gone). See [`Table::seat_changes`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeatChange {
    pub campaign: CampaignId,
    pub seat: Seat,
}

/// The front ends a connection can come through, for people: a phone, the TV, the
/// GM page (all `web`), the bot's voice call (`voice`).
pub fn connection_label(via: &str, role: Role) -> &'static str {
    match (via, role) {
        ("web", Role::Player) => "web phone",
        ("web", Role::Display) => "TV",
        ("web", Role::Gm) => "GM page",
        ("voice", _) => "Discord voice",
        ("terminal", _) => "terminal",
        _ => "other",
    }
}

type SeatKey = (&'static str, Role, Option<PlayerId>);
/// A campaign's seats with open connections: name and how many connections.
type Seats = BTreeMap<SeatKey, (Option<String>, u32)>;

struct Inner {
    coordinator: Coordinator,
    base_url: RwLock<Option<Arc<str>>>,
    kicks: broadcast::Sender<i64>,
    presence: Mutex<HashMap<CampaignId, Seats>>,
    seat_changes: broadcast::Sender<SeatChange>,
}

/// The table's door (see the module doc). Cheap to clone; one per process.
#[derive(Clone)]
pub struct Table(Arc<Inner>);

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table")
            .field("base_url", &self.base_url())
            .finish()
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl Table {
    pub fn new(coordinator: Coordinator) -> Table {
        Table(Arc::new(Inner {
            coordinator,
            base_url: RwLock::new(None),
            kicks: broadcast::channel(256).0,
            presence: Mutex::default(),
            seat_changes: broadcast::channel(256).0,
        }))
    }

    pub fn coordinator(&self) -> &Coordinator {
        &self.0.coordinator
    }

    /// Where links lead: the web server's base URL (`http://host:port`), once it
    /// listens.
    pub fn set_base_url(&self, url: &str) {
        *self.0.base_url.write().expect("base url poisoned") =
            Some(url.trim_end_matches('/').into());
    }

    pub fn base_url(&self) -> Option<Arc<str>> {
        self.0.base_url.read().expect("base url poisoned").clone()
    }

    async fn state(&self, campaign: CampaignId) -> Result<CampaignState, TableError> {
        let snap = self
            .0
            .coordinator
            .snapshot(campaign)
            .await
            .map_err(|e| TableError::Internal(e.to_string()))?;
        Ok(snap.state)
    }

    /// Makes a join link for `campaign` if `by` may (see [`may_invite`]).
    pub async fn invite(
        &self,
        campaign: CampaignId,
        by: By<'_>,
        req: InviteRequest,
    ) -> Result<Invite, TableError> {
        let state = self.state(campaign).await?;
        if state.ended {
            return Err(TableError::BadRequest("This campaign has ended.".into()));
        }
        may_invite(&state, by, &req)?;
        let name = match req.name.as_deref().map(str::trim) {
            Some(n) if n.chars().count() > MAX_NAME => {
                return Err(TableError::BadRequest(format!(
                    "A name is at most {MAX_NAME} characters."
                )));
            }
            Some(n) if n.chars().any(char::is_control) => {
                return Err(TableError::BadRequest(
                    "Names cannot hold control characters.".into(),
                ));
            }
            Some("") | None => None,
            Some(n) => Some(n.to_string()),
        };
        let by_gm = match by {
            By::Host => true,
            By::Player(p) => state.is_gm(p),
        };
        // Who the link seats; `None` for a display, and for a new player (named after
        // the link's id below).
        let player =
            match (req.role, req.player) {
                (Role::Display, _) => None,
                (Role::Gm, Some(p)) => Some(p),
                (Role::Gm, None) => match by {
                    By::Player(p) if by_gm => Some(p.clone()),
                    _ => Some(state.gm.clone().ok_or_else(|| {
                        TableError::BadRequest("This campaign has no GM.".into())
                    })?),
                },
                (Role::Player, Some(p)) => {
                    if !state.players.contains_key(&p) && name.is_none() {
                        return Err(TableError::BadRequest(
                            "No such player in this campaign.".into(),
                        ));
                    }
                    Some(p)
                }
                (Role::Player, None) => match by {
                    By::Player(p) if !by_gm => Some(p.clone()),
                    _ if name.is_none() => {
                        return Err(TableError::BadRequest(
                            "A player's link needs a name (a new player) or a player.".into(),
                        ));
                    }
                    _ => None,
                },
            };
        let base = self.base_url().ok_or(TableError::NotServing)?;
        let secret = secret::random_secret().map_err(|e| TableError::Internal(e.to_string()))?;
        let now = now_ms();
        let ttl = req
            .expires_in_s
            .unwrap_or(INVITE_DEFAULT_S)
            .clamp(INVITE_MIN_S, INVITE_MAX_S) as i64;
        let expires_at_ms = now.saturating_add(ttl * 1000);
        let store = self.0.coordinator.store();
        let id = store
            .create_invite(&crate::store::web::NewInvite {
                campaign_id: campaign,
                token_hash: secret::hash(&secret),
                role: req.role.key(),
                player_id: player.as_ref().map(|p| p.as_str().to_string()),
                name: name.clone(),
                created_at_ms: now,
                expires_at_ms,
            })
            .await?;
        let player = match (req.role, player) {
            (Role::Player, None) => {
                let p = format!("web:{id}");
                store.set_invite_player(id, &p).await?;
                Some(PlayerId::new(p))
            }
            (_, p) => p,
        };
        tracing::info!(campaign = campaign.get(), invite = id, role = req.role.key(),
            link = %secret::hash_prefix(&secret::hash(&secret)), "join link made");
        Ok(Invite {
            id,
            campaign_id: campaign,
            role: req.role,
            player,
            name,
            url: format!("{base}/join/{}", secret::encode(&secret)),
            expires_at_ms,
        })
    }

    /// Revokes an unused link of the campaign (GM); `NotFound` when there is none.
    pub async fn revoke(
        &self,
        campaign: CampaignId,
        by: By<'_>,
        id: i64,
    ) -> Result<(), TableError> {
        let state = self.state(campaign).await?;
        may_manage(&state, by)?;
        if self
            .0
            .coordinator
            .store()
            .revoke_invite(campaign, id, now_ms())
            .await?
        {
            Ok(())
        } else {
            Err(TableError::NotFound("No such invite.".into()))
        }
    }

    /// Ends every web session and unused link of `player` in the campaign (GM) and
    /// closes their open sockets; returns how many sessions were ended.
    pub async fn kick(
        &self,
        campaign: CampaignId,
        by: By<'_>,
        player: &PlayerId,
    ) -> Result<usize, TableError> {
        let state = self.state(campaign).await?;
        may_manage(&state, by)?;
        let ids = self
            .0
            .coordinator
            .store()
            .kick_web_player(campaign, player.as_str(), now_ms())
            .await?;
        for id in &ids {
            let _ = self.0.kicks.send(*id);
        }
        tracing::info!(
            campaign = campaign.get(),
            sessions = ids.len(),
            "player kicked from the web table"
        );
        Ok(ids.len())
    }

    /// Ids of web sessions ended by a kick, as they happen: every open socket listens
    /// and closes if it is one of them. A receiver that lags must check its session in
    /// the store.
    pub fn kicks(&self) -> broadcast::Receiver<i64> {
        self.0.kicks.subscribe()
    }

    /// A connection of this seat opened (through the front end `via`).
    pub fn connected(
        &self,
        campaign: CampaignId,
        via: &'static str,
        role: Role,
        player: Option<&PlayerId>,
        name: Option<&str>,
    ) {
        let mut p = self.0.presence.lock().expect("presence poisoned");
        let e = p
            .entry(campaign)
            .or_default()
            .entry((via, role, player.cloned()))
            .or_insert((name.map(str::to_string), 0));
        e.1 = e.1.saturating_add(1);
        let seat = Seat {
            via,
            role,
            player: player.cloned(),
            name: e.0.clone(),
            connections: e.1,
        };
        // Sent under the lock: changes are heard in the order they were made.
        let _ = self.0.seat_changes.send(SeatChange { campaign, seat });
    }

    /// A connection of this seat closed.
    pub fn disconnected(
        &self,
        campaign: CampaignId,
        via: &'static str,
        role: Role,
        player: Option<&PlayerId>,
    ) {
        let mut p = self.0.presence.lock().expect("presence poisoned");
        let Some(map) = p.get_mut(&campaign) else {
            return;
        };
        let key = (via, role, player.cloned());
        let Some(e) = map.get_mut(&key) else {
            return;
        };
        e.1 = e.1.saturating_sub(1);
        let seat = Seat {
            via,
            role,
            player: player.cloned(),
            name: e.0.clone(),
            connections: e.1,
        };
        if e.1 == 0 {
            map.remove(&key);
        }
        if map.is_empty() {
            p.remove(&campaign);
        }
        let _ = self.0.seat_changes.send(SeatChange { campaign, seat });
    }

    /// Every change of [`Table::presence`], as it happens (a front end that shows who
    /// is here through the others: the web table's presence list shows who is in the
    /// bot's voice call). A receiver that lags reads [`Table::presence`] again.
    pub fn seat_changes(&self) -> broadcast::Receiver<SeatChange> {
        self.0.seat_changes.subscribe()
    }

    /// Campaigns with anyone connected now.
    pub fn campaigns_present(&self) -> Vec<CampaignId> {
        let p = self.0.presence.lock().expect("presence poisoned");
        p.keys().copied().collect()
    }

    /// Who is connected to the campaign now, through which front end.
    pub fn presence(&self, campaign: CampaignId) -> Vec<Seat> {
        let p = self.0.presence.lock().expect("presence poisoned");
        p.get(&campaign)
            .map(|m| {
                m.iter()
                    .map(|((via, role, player), (name, n))| Seat {
                        via,
                        role: *role,
                        player: player.clone(),
                        name: name.clone(),
                        connections: *n,
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The status of the table in words (for `/table status` and the terminal's
    /// `table`): who is connected to the web table, and who is seated through which
    /// front end.
    pub async fn status_text(&self, campaign: CampaignId) -> Result<String, TableError> {
        let state = self.state(campaign).await?;
        let mut lines = Vec::new();
        lines.push(match self.base_url() {
            Some(u) => format!("Web table: {u}"),
            None => "Web table: not running here.".into(),
        });
        let name_of = |p: &Option<PlayerId>, n: &Option<String>| {
            p.as_ref()
                .and_then(|p| state.players.get(p).map(|i| i.name.clone()))
                .or_else(|| n.clone())
                .unwrap_or_else(|| "?".into())
        };
        let seats = self.presence(campaign);
        if seats.is_empty() {
            lines.push("Connected: nobody.".into());
        } else {
            lines.push("Connected:".into());
            // One line per person (or TV), with each front end they are here through:
            // "Alice — web phone, Discord voice".
            let mut people: BTreeMap<(bool, Option<PlayerId>), (String, Vec<String>)> =
                BTreeMap::new();
            for s in &seats {
                let display = s.role == Role::Display;
                let who = if display {
                    "TV display".to_string()
                } else {
                    name_of(&s.player, &s.name)
                };
                let n = if s.connections > 1 {
                    format!(" ×{}", s.connections)
                } else {
                    String::new()
                };
                let e = people
                    .entry((display, s.player.clone()))
                    .or_insert_with(|| (who, Vec::new()));
                e.1.push(format!("{}{n}", connection_label(s.via, s.role)));
            }
            for (who, via) in people.into_values() {
                lines.push(format!("• {who} — {}", via.join(", ")));
            }
        }
        let mut by_front: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (p, info) in &state.players {
            by_front
                .entry(front_end_of(p))
                .or_default()
                .push(&info.name);
        }
        for (front, names) in by_front {
            lines.push(format!("Seated through {front}: {}", names.join(", ")));
        }
        Ok(lines.join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> CampaignState {
        let mut s = CampaignState::new(Arc::new(dicebard_srd::catalog().clone()));
        s.gm = Some(PlayerId::new("discord:1"));
        for (id, name) in [
            ("discord:1", "Alice"),
            ("discord:2", "Bob"),
            ("web:3", "Ana"),
        ] {
            s.players.insert(
                PlayerId::new(id),
                dicebard_engine::state::PlayerInfo {
                    name: name.into(),
                    character: None,
                },
            );
        }
        s
    }

    #[test]
    fn the_gm_may_invite_anyone_a_player_only_themselves() {
        let s = state();
        let (gm, bob, ana) = (
            PlayerId::new("discord:1"),
            PlayerId::new("discord:2"),
            PlayerId::new("web:3"),
        );
        let req = |role, player: Option<&PlayerId>, name: Option<&str>| InviteRequest {
            role,
            player: player.cloned(),
            name: name.map(str::to_string),
            expires_in_s: None,
        };
        for role in [Role::Player, Role::Display, Role::Gm] {
            assert!(may_invite(&s, By::Player(&gm), &req(role, Some(&bob), None)).is_ok());
            assert!(may_invite(&s, By::Host, &req(role, None, Some("Zed"))).is_ok());
        }
        let bob_asks = |r: InviteRequest| may_invite(&s, By::Player(&bob), &r);
        assert!(bob_asks(req(Role::Player, None, None)).is_ok());
        assert!(bob_asks(req(Role::Player, Some(&bob), Some("Bob"))).is_ok());
        assert!(matches!(
            bob_asks(req(Role::Player, Some(&ana), None)),
            Err(TableError::Forbidden(_))
        ));
        assert!(
            bob_asks(req(Role::Player, None, Some("Zed"))).is_err(),
            "a new player is someone else"
        );
        assert!(bob_asks(req(Role::Display, None, None)).is_err());
        assert!(bob_asks(req(Role::Gm, Some(&bob), None)).is_err());
        assert!(may_manage(&s, By::Player(&gm)).is_ok());
        assert!(may_manage(&s, By::Player(&bob)).is_err());
    }

    #[test]
    fn players_are_found_by_id_or_name() {
        let s = state();
        assert_eq!(find_player(&s, "bob"), Some(PlayerId::new("discord:2")));
        assert_eq!(find_player(&s, "web:3"), Some(PlayerId::new("web:3")));
        assert_eq!(find_player(&s, "nobody"), None);
        assert_eq!(find_player(&s, " "), None);
        assert_eq!(front_end_of(&PlayerId::new("local:x")), "terminal");
    }
}
