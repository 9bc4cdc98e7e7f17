//! Shared state of the web front end that is not in the store: who is connected
//! (presence messages), the serialised feed items, and rate limits. Kicks come from the
//! table's door ([`crate::table::Table::kicks`]), whichever front end made them.

use super::auth::{Role, Session};
use crate::feed::FeedItem;
use crate::store::CampaignId;
use crate::table::{Seat, SeatChange, Table};
use axum::extract::ws::Utf8Bytes;
use dicebard_engine::PlayerId;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;
use tokio::time::{Duration, Instant};

/// Actions a session may send in a burst, and how many more a second.
pub const ACTION_BURST: f64 = 10.0;
pub const ACTIONS_PER_SEC: f64 = 2.0;
/// Join attempts per IP address per minute.
pub const JOINS_PER_MINUTE: u32 = 20;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct PresenceKey {
    role: &'static str,
    player: Option<String>,
    /// The front end: "web" (this server's sockets) or another that reports into the
    /// table's presence ("voice": the bot's Discord voice call).
    via: &'static str,
}

#[derive(Debug)]
struct PresenceEntry {
    name: Option<String>,
    connections: u32,
}

/// A token bucket.
struct Bucket {
    tokens: f64,
    at: Instant,
}

#[derive(Default)]
struct Limits {
    actions: HashMap<i64, Bucket>,
    joins: HashMap<IpAddr, (Instant, u32)>,
}

pub struct Hub {
    /// Presence messages (serialised once: every socket of the campaign sends the same
    /// bytes), by campaign.
    presence_tx: broadcast::Sender<(CampaignId, Utf8Bytes)>,
    presence: Mutex<HashMap<CampaignId, HashMap<PresenceKey, PresenceEntry>>>,
    limits: Mutex<Limits>,
    /// Set when the server is shutting down: sockets close.
    pub closing: tokio::sync::watch::Sender<bool>,
    /// Feed items as protocol text, serialised once for all the sockets that show them
    /// (an item's content is the same for every viewer allowed to see it).
    texts: Mutex<HashMap<(CampaignId, u64, u32), Utf8Bytes>>,
    /// Each campaign's live fan-out to its caught-up sockets.
    pub fanouts: super::fanout::Fanouts,
}

/// Seats up to which every presence change carries the whole `online` list.
pub const PRESENCE_LIST_MAX: usize = 32;
/// Seats per `here` / `here_more` message past [`PRESENCE_LIST_MAX`]: small, as a
/// socket's write buffer keeps the size of its largest message (~1.3 KiB here).
pub const HERE_PAGE: usize = 16;

/// Items kept serialised (the live tail of busy campaigns).
const TEXT_CACHE: usize = 4096;

impl Default for Hub {
    fn default() -> Self {
        Hub {
            presence_tx: broadcast::channel(256).0,
            presence: Mutex::default(),
            limits: Mutex::default(),
            closing: tokio::sync::watch::channel(false).0,
            texts: Mutex::default(),
            fanouts: Default::default(),
        }
    }
}

impl Hub {
    /// The protocol message for a feed item of `campaign`, serialised once.
    pub fn item_text(&self, campaign: CampaignId, item: &FeedItem) -> Utf8Bytes {
        let key = (campaign, item.seq, item.part);
        if let Some(t) = self.texts.lock().expect("texts poisoned").get(&key) {
            return t.clone();
        }
        let t: Utf8Bytes = super::view::item_message(item).to_string().into();
        let mut texts = self.texts.lock().expect("texts poisoned");
        if texts.len() >= TEXT_CACHE {
            texts.clear();
        }
        texts.insert(key, t.clone());
        t
    }

    pub fn presence(&self) -> broadcast::Receiver<(CampaignId, Utf8Bytes)> {
        self.presence_tx.subscribe()
    }

    fn key(s: &Session) -> PresenceKey {
        PresenceKey {
            role: s.role.key(),
            player: s.player.as_ref().map(|p| p.as_str().to_string()),
            via: "web",
        }
    }

    fn who(s: &Session, connections: u32) -> Value {
        json!({
            "role": s.role.key(),
            "player": s.player.as_ref().map(|p| p.as_str()),
            "name": s.name,
            "connections": connections,
            "via": "web",
        })
    }

    fn online(map: &HashMap<PresenceKey, PresenceEntry>) -> Vec<Value> {
        let mut v: Vec<(&PresenceKey, &PresenceEntry)> = map.iter().collect();
        v.sort_by(|a, b| (a.0.role, &a.0.player, a.0.via).cmp(&(b.0.role, &b.0.player, b.0.via)));
        v.into_iter()
            .map(|(k, e)| {
                json!({"role": k.role, "player": k.player, "name": e.name,
                       "connections": e.connections, "via": k.via})
            })
            .collect()
    }

    /// The whole list in every join / leave while the table is small; past
    /// [`PRESENCE_LIST_MAX`] seats `null` (clients apply `who` as a diff): sending the
    /// whole list to everyone on every change would cost the square of the table.
    fn online_if_small(map: &HashMap<PresenceKey, PresenceEntry>) -> Value {
        if map.len() <= PRESENCE_LIST_MAX {
            Value::Array(Self::online(map))
        } else {
            Value::Null
        }
    }

    /// A socket of `s` is connected; returns the `here` message(s) for it: one while
    /// the table has at most [`PRESENCE_LIST_MAX`] seats, else pages of [`HERE_PAGE`]
    /// (the first `here`, then `here_more`, to be appended). A socket's write buffer
    /// keeps the size of the largest message it ever sent, so one `here` of a thousand
    /// seats would cost every socket of a crowd that much for as long as it is open.
    pub fn join(&self, s: &Session) -> Vec<Value> {
        let mut p = self.presence.lock().expect("presence poisoned");
        let map = p.entry(s.campaign_id).or_default();
        let e = map.entry(Self::key(s)).or_insert(PresenceEntry {
            name: s.name.clone(),
            connections: 0,
        });
        e.connections += 1;
        let who = Self::who(s, e.connections);
        let msg = json!({"type": "presence", "event": "join", "who": who,
                         "online": Self::online_if_small(map)});
        let _ = self
            .presence_tx
            .send((s.campaign_id, msg.to_string().into()));
        let online = Self::online(map);
        let page = if online.len() <= PRESENCE_LIST_MAX {
            PRESENCE_LIST_MAX
        } else {
            HERE_PAGE
        };
        let pages = online.len().div_ceil(page).max(1);
        let mut chunks = online.chunks(page);
        (0..pages)
            .map(|i| {
                let page = chunks.next().unwrap_or_default();
                let mut m = json!({
                    "type": "presence",
                    "event": if i == 0 { "here" } else { "here_more" },
                    "who": null,
                    "online": page,
                });
                if pages > 1 {
                    m["more"] = json!(i + 1 < pages);
                }
                m
            })
            .collect()
    }

    /// A socket of `s` has gone.
    pub fn leave(&self, s: &Session) {
        let mut p = self.presence.lock().expect("presence poisoned");
        let Some(map) = p.get_mut(&s.campaign_id) else {
            return;
        };
        let key = Self::key(s);
        let mut left = 0;
        if let Some(e) = map.get_mut(&key) {
            e.connections = e.connections.saturating_sub(1);
            left = e.connections;
            if e.connections == 0 {
                map.remove(&key);
            }
        }
        let msg = json!({"type": "presence", "event": "leave", "who": Self::who(s, left),
                         "online": Self::online_if_small(map)});
        if map.is_empty() {
            p.remove(&s.campaign_id);
        }
        let _ = self
            .presence_tx
            .send((s.campaign_id, msg.to_string().into()));
    }

    /// A seat's connections through another front end (not this server's sockets)
    /// changed, as the table's presence says: kept in the list and announced like a
    /// socket's join or leave (`who.via` says which front end).
    pub fn seat_change(&self, change: &SeatChange) {
        let seat = &change.seat;
        if seat.via == "web" {
            return;
        }
        let key = PresenceKey {
            role: seat.role.key(),
            player: seat.player.as_ref().map(|p| p.as_str().to_string()),
            via: seat.via,
        };
        let mut p = self.presence.lock().expect("presence poisoned");
        let map = p.entry(change.campaign).or_default();
        let before = map.get(&key).map_or(0, |e| e.connections);
        if before == seat.connections {
            return;
        }
        if seat.connections == 0 {
            map.remove(&key);
        } else {
            map.insert(
                key.clone(),
                PresenceEntry {
                    name: seat.name.clone(),
                    connections: seat.connections,
                },
            );
        }
        let who = json!({"role": key.role, "player": key.player, "name": seat.name,
                         "connections": seat.connections, "via": key.via});
        let event = if seat.connections > before {
            "join"
        } else {
            "leave"
        };
        let msg = json!({"type": "presence", "event": event, "who": who,
                         "online": Self::online_if_small(map)});
        if map.is_empty() {
            p.remove(&change.campaign);
        }
        let _ = self
            .presence_tx
            .send((change.campaign, msg.to_string().into()));
    }

    /// Brings the other front ends' seats in line with the table's presence (at start,
    /// and after missing changes): each campaign's seats through them, as they are now.
    pub fn sync_seats(&self, table: &Table) {
        let mut campaigns: Vec<CampaignId> = table.campaigns_present();
        campaigns.extend(self.presence.lock().expect("presence poisoned").keys());
        campaigns.sort_unstable();
        campaigns.dedup();
        for campaign in campaigns {
            let now: Vec<Seat> = table
                .presence(campaign)
                .into_iter()
                .filter(|s| s.via != "web")
                .collect();
            let gone: Vec<SeatChange> = {
                let p = self.presence.lock().expect("presence poisoned");
                p.get(&campaign)
                    .map(|m| {
                        m.iter()
                            .filter(|(k, _)| k.via != "web")
                            .filter(|(k, _)| {
                                !now.iter().any(|s| {
                                    s.via == k.via
                                        && s.role.key() == k.role
                                        && s.player.as_ref().map(|p| p.as_str())
                                            == k.player.as_deref()
                                })
                            })
                            .filter_map(|(k, e)| {
                                Some(SeatChange {
                                    campaign,
                                    seat: Seat {
                                        via: k.via,
                                        role: Role::parse(k.role)?,
                                        player: k.player.clone().map(PlayerId::new),
                                        name: e.name.clone(),
                                        connections: 0,
                                    },
                                })
                            })
                            .collect()
                    })
                    .unwrap_or_default()
            };
            for c in gone {
                self.seat_change(&c);
            }
            for seat in now {
                self.seat_change(&SeatChange { campaign, seat });
            }
        }
    }

    /// Takes one action from session `id`'s bucket; `Err(retry_after)` when empty.
    pub fn take_action(&self, id: i64) -> Result<(), Duration> {
        let now = Instant::now();
        let mut l = self.limits.lock().expect("limits poisoned");
        if l.actions.len() > 100_000 {
            // Forget full buckets (idle sessions) rather than grow without bound.
            l.actions.retain(|_, b| {
                b.tokens + now.duration_since(b.at).as_secs_f64() * ACTIONS_PER_SEC < ACTION_BURST
            });
        }
        let b = l.actions.entry(id).or_insert(Bucket {
            tokens: ACTION_BURST,
            at: now,
        });
        b.tokens =
            (b.tokens + now.duration_since(b.at).as_secs_f64() * ACTIONS_PER_SEC).min(ACTION_BURST);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - b.tokens) / ACTIONS_PER_SEC))
        }
    }

    /// Whether `ip` may try a join link now: `false` after [`JOINS_PER_MINUTE`] refused
    /// attempts within a minute (guessing links is pointless with 256-bit secrets, but
    /// it is cut short all the same).
    pub fn may_join(&self, ip: IpAddr) -> bool {
        let now = Instant::now();
        let l = self.limits.lock().expect("limits poisoned");
        match l.joins.get(&ip) {
            Some((t, n)) => {
                now.duration_since(*t) >= Duration::from_secs(60) || *n < JOINS_PER_MINUTE
            }
            None => true,
        }
    }

    /// Counts a refused join attempt from `ip`.
    pub fn join_refused(&self, ip: IpAddr) {
        let now = Instant::now();
        let mut l = self.limits.lock().expect("limits poisoned");
        if l.joins.len() > 100_000 {
            l.joins
                .retain(|_, (t, _)| now.duration_since(*t) < Duration::from_secs(60));
        }
        let e = l.joins.entry(ip).or_insert((now, 0));
        if now.duration_since(e.0) >= Duration::from_secs(60) {
            *e = (now, 0);
        }
        e.1 = e.1.saturating_add(1);
    }
}

/// Keeps `hub`'s presence list in line with the seats the other front ends report
/// into `table` (who is in the bot's voice call), until the server closes.
pub async fn follow_seats(hub: Arc<Hub>, table: Table) {
    let mut changes = table.seat_changes();
    let mut closing = hub.closing.subscribe();
    hub.sync_seats(&table);
    loop {
        tokio::select! {
            c = changes.recv() => match c {
                Ok(c) => hub.seat_change(&c),
                Err(broadcast::error::RecvError::Lagged(_)) => hub.sync_seats(&table),
                Err(broadcast::error::RecvError::Closed) => return,
            },
            r = closing.changed() => {
                if r.is_err() || *closing.borrow() {
                    return;
                }
            }
        }
    }
}

/// Whether a session of this role may act.
pub fn may_act(role: Role) -> bool {
    role != Role::Display
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn actions_are_limited_per_session_and_refill() {
        let hub = Hub::default();
        for _ in 0..10 {
            assert!(hub.take_action(1).is_ok());
        }
        let wait = hub.take_action(1).unwrap_err();
        assert!(wait <= Duration::from_millis(500));
        assert!(hub.take_action(2).is_ok(), "another session is not limited");
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(hub.take_action(1).is_ok());
        assert!(hub.take_action(1).is_ok());
        assert!(hub.take_action(1).is_err());
    }

    /// A crowd's `here` comes in pages (a socket's write buffer keeps its largest
    /// message's size); a table's in one message, as before.
    #[test]
    fn here_comes_in_pages_past_the_list_limit() {
        let hub = Hub::default();
        let seat = |i: usize| Session {
            id: i as i64,
            campaign_id: CampaignId(1),
            role: Role::Player,
            player: Some(dicebard_engine::PlayerId::new(format!("web:{i}"))),
            name: Some(format!("P{i}")),
        };
        for i in 0..PRESENCE_LIST_MAX - 1 {
            hub.join(&seat(i));
        }
        let here = hub.join(&seat(PRESENCE_LIST_MAX));
        assert_eq!(here.len(), 1);
        assert_eq!(
            here[0]["online"].as_array().unwrap().len(),
            PRESENCE_LIST_MAX
        );
        assert!(here[0].get("more").is_none());
        for i in PRESENCE_LIST_MAX + 1..70 {
            hub.join(&seat(i));
        }
        let here = hub.join(&seat(70));
        let sizes: Vec<usize> = here
            .iter()
            .map(|m| m["online"].as_array().unwrap().len())
            .collect();
        assert_eq!(sizes, [16, 16, 16, 16, 6]);
        let events: Vec<&str> = here.iter().map(|m| m["event"].as_str().unwrap()).collect();
        assert_eq!(
            events,
            ["here", "here_more", "here_more", "here_more", "here_more"]
        );
        let more: Vec<bool> = here.iter().map(|m| m["more"].as_bool().unwrap()).collect();
        assert_eq!(more, [true, true, true, true, false]);
        let mut all: Vec<String> = here
            .iter()
            .flat_map(|m| m["online"].as_array().unwrap().clone())
            .map(|o| o["player"].as_str().unwrap().to_string())
            .collect();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 70, "every seat once");
    }

    /// A seat in another front end (the voice call) joins the list with its `via`
    /// beside the same player's phone, is announced once per change, and leaves it.
    #[test]
    fn other_front_ends_seats_are_listed_with_their_via() {
        let hub = Hub::default();
        let mut rx = hub.presence();
        let phone = Session {
            id: 1,
            campaign_id: CampaignId(7),
            role: Role::Player,
            player: Some(PlayerId::new("discord:2")),
            name: Some("Bob".into()),
        };
        hub.join(&phone);
        let _ = rx.try_recv().unwrap();
        let voice = |connections| SeatChange {
            campaign: CampaignId(7),
            seat: Seat {
                via: "voice",
                role: Role::Player,
                player: Some(PlayerId::new("discord:2")),
                name: Some("Bob".into()),
                connections,
            },
        };
        hub.seat_change(&voice(1));
        hub.seat_change(&voice(1));
        let (c, m) = rx.try_recv().unwrap();
        assert_eq!(c, CampaignId(7));
        let m: Value = serde_json::from_str(m.as_str()).unwrap();
        assert_eq!(m["event"], "join");
        assert_eq!(m["who"]["via"], "voice");
        let vias: Vec<&str> = m["online"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["via"].as_str().unwrap())
            .collect();
        assert_eq!(vias, ["voice", "web"], "the phone and the call: {m}");
        assert!(rx.try_recv().is_err(), "no change, no message");
        hub.seat_change(&voice(0));
        let m: Value = serde_json::from_str(rx.try_recv().unwrap().1.as_str()).unwrap();
        assert_eq!(m["event"], "leave");
        assert_eq!(m["online"].as_array().unwrap().len(), 1, "{m}");
        // A web seat reported by the table is this server's own: not doubled.
        let mut web = voice(1);
        web.seat.via = "web";
        hub.seat_change(&web);
        assert!(rx.try_recv().is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn joins_are_limited_per_ip() {
        let hub = Hub::default();
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        for _ in 0..JOINS_PER_MINUTE {
            assert!(hub.may_join(ip));
            hub.join_refused(ip);
        }
        assert!(!hub.may_join(ip));
        assert!(hub.may_join("10.0.0.2".parse().unwrap()));
        tokio::time::advance(Duration::from_secs(61)).await;
        assert!(hub.may_join(ip));
    }
}
