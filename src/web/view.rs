//! What the web API sends: the viewer's scene (snapshot) and feed items as protocol
//! messages (docs/web-protocol.md). Visibility is never decided here: the scene holds
//! only what every seat of the table sees (as Discord's status does: the party's HP,
//! monsters as health words), and feed items arrive already filtered by the feed.

use crate::feed::{FeedCursor, FeedItem, FeedKind};
use crate::narrator::NarrationSource;
use crate::store::CampaignId;
use dicebard_engine::view;
use dicebard_engine::{CampaignState, Viewer};
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

/// The body of `GET /api/v1/snapshot` for a campaign at `cursor`: the engine's scene
/// for an onlooker ([`view::scene`]), which every seat of the table may see.
pub fn scene(campaign_id: CampaignId, state: &CampaignState, cursor: FeedCursor) -> Value {
    let scene = view::scene(state, &Viewer::Observer);
    let party: Vec<Value> = scene
        .party
        .iter()
        .map(|c| {
            let pc = c.level > 0;
            json!({
                "id": c.id.0,
                "name": c.name,
                "player": c.player,
                "level": pc.then_some(c.level),
                "class": pc.then_some(c.class.as_str()),
                "race": pc.then_some(c.race.as_str()),
                "hp": c.hp.hp,
                "max_hp": c.hp.max_hp,
                "temp_hp": c.hp.temp_hp,
                "ac": c.ac,
                "conditions": c.conditions,
                // Class options, inspiration die, beast form, resources: structured,
                // and the lines every front end shows.
                "class_state": c.class_state,
                "class_lines": c.class_state.lines(),
            })
        })
        .collect();
    let combat = scene.combat.as_ref().map(|cb| {
        let initiative: Vec<Value> = cb
            .rows
            .iter()
            .map(|r| {
                let mut row = json!({
                    "id": r.id.0,
                    "name": r.name,
                    "pc": r.pc,
                    "initiative": r.initiative,
                    "hp": r.hp.map(|h| h.hp),
                    "max_hp": r.hp.map(|h| h.max_hp),
                    "health": r.health.describe(),
                });
                // Only on a conjured creature: whose side it fights on.
                if let Some(by) = &r.ally_of {
                    row["ally_of"] = by.clone().into();
                }
                row
            })
            .collect();
        // An open reaction window: whose it is and until when.
        let reaction = cb.reaction.as_ref().map(|w| {
            json!({"id": w.reactor.0, "name": w.name, "player": w.player, "deadline": w.deadline.0, "reaction": w.reaction, "spell": w.spell, "caster": w.caster})
        });
        json!({
            "round": cb.round,
            "turn": cb.turn.as_ref().map(|t| json!({"id": t.id.0, "name": t.name, "player": t.player, "again": t.again})),
            "deadline": cb.deadline.map(|d| d.0),
            "initiative": initiative,
            "reaction": reaction,
        })
    });
    json!({
        "cursor": cursor_json(cursor),
        "campaign": {"id": campaign_id, "name": scene.name, "ended": scene.ended},
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
