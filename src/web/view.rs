//! What the web API sends: the viewer's scene (snapshot) and feed items as protocol
//! messages (docs/web-protocol.md). Visibility is never decided here: the scene holds
//! only what every seat of the table sees (as Discord's status does: the party's HP,
//! monsters as health words), and feed items arrive already filtered by the feed.

use crate::feed::{FeedCursor, FeedItem, FeedKind};
use crate::narrator::NarrationSource;
use dicebard_engine::CampaignState;
use dicebard_engine::creature::Creature;
use serde_json::{Value, json};

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

pub fn cursor_json(c: FeedCursor) -> Value {
    json!({"seq": c.seq, "part": c.part})
}

fn player_of(c: &Creature) -> Option<&str> {
    match &c.controller {
        dicebard_engine::creature::Controller::Player { player } => Some(player.as_str()),
        _ => None,
    }
}

fn conditions(c: &Creature) -> Vec<String> {
    c.conditions.keys().map(|k| k.to_string()).collect()
}

/// The body of `GET /api/v1/snapshot` for a campaign at `cursor`.
pub fn scene(campaign_id: i64, state: &CampaignState, cursor: FeedCursor) -> Value {
    let party: Vec<Value> = state
        .party()
        .map(|c| {
            let pc = c.pc.as_ref();
            json!({
                "id": c.id.0,
                "name": c.name,
                "player": player_of(c),
                "level": pc.map(|p| p.level),
                "class": pc.map(|p| p.class.as_str()),
                "race": pc.map(|p| p.race.as_str()),
                "hp": c.hp,
                "max_hp": c.max_hp,
                "temp_hp": c.temp_hp,
                "ac": c.effective_ac(),
                "conditions": conditions(c),
            })
        })
        .collect();
    let combat = state.combat.as_ref().map(|cb| {
        let turn = state
            .active_creature()
            .map(|a| json!({"id": a.id.0, "name": a.name, "player": player_of(a)}));
        let initiative: Vec<Value> = cb
            .order
            .iter()
            .filter_map(|e| state.creature(e.creature).map(|c| (e, c)))
            .map(|(e, c)| {
                let pc = c.is_pc();
                json!({
                    "id": c.id.0,
                    "name": c.name,
                    "pc": pc,
                    "initiative": e.total,
                    "hp": pc.then_some(c.hp),
                    "max_hp": pc.then_some(c.max_hp),
                    "health": c.health().describe(),
                })
            })
            .collect();
        // An open reaction window: whose it is and until when.
        let reaction = cb.reaction.as_ref().and_then(|w| {
            state.creature(w.reactor).map(|r| {
                json!({"id": r.id.0, "name": r.name, "player": player_of(r), "deadline": w.deadline.0})
            })
        });
        json!({
            "round": cb.round,
            "turn": turn,
            "deadline": cb.deadline.map(|d| d.0),
            "initiative": initiative,
            "reaction": reaction,
        })
    });
    json!({
        "cursor": cursor_json(cursor),
        "campaign": {"id": campaign_id, "name": state.name, "ended": state.ended},
        "party": party,
        "combat": combat,
    })
}

/// A feed item as a protocol message (`event`, `line`, `narration.*`, `notice`).
pub fn item_message(item: &FeedItem) -> Value {
    let vis = item.visibility.key();
    let (ty, at, data) = match &item.kind {
        FeedKind::Event { event } => (
            "event",
            event.event.at.0,
            json!({
                "visibility": vis,
                "kind": event.event.kind_name(),
                "event": event.event,
                "origin": event.origin,
            }),
        ),
        FeedKind::Line { text } => ("line", now_ms(), json!({"visibility": vis, "text": text})),
        FeedKind::ProseStart => ("narration.start", now_ms(), json!({})),
        FeedKind::ProseChunk { text, source } => (
            "narration.chunk",
            now_ms(),
            json!({
                "visibility": vis,
                "text": text,
                "source": match source {
                    NarrationSource::Llm => "llm",
                    NarrationSource::Builtin => "builtin",
                },
            }),
        ),
        FeedKind::ProseEnd => ("narration.end", now_ms(), json!({})),
        FeedKind::Notice { text } => ("notice", now_ms(), json!({"text": text})),
    };
    json!({"type": ty, "seq": item.seq, "part": item.part, "at": at, "data": data})
}
