//! Which private items reach whom by DM. One feed subscription per recipient
//! (`Feed::subscribe_stored(viewer, …)`, the viewer being the recipient's own: the GM's
//! view for a GM, the player's otherwise), so what may reach a recipient is decided by
//! the feed's one visibility check and nowhere here. This module only chooses, among
//! the items a recipient's subscription yields, those worth a DM: not what the channel
//! shows already, not what a slash command's private reply showed, and the GM's copy
//! of a secret roll.
//!
//! No serenity types: recipients are player ids (the presenter keeps those it can DM).

use crate::coordinator::{Committed, Source};
use crate::feed::{Feed, FeedCursor, FeedItem, FeedKind, FeedSubscription};
use dicebard_engine::view::viewer_of;
use dicebard_engine::{CampaignState, EventKind, PlayerId, Viewer, Visibility};
use std::collections::BTreeMap;
use std::sync::Arc;

/// One recipient's subscription and where it is.
struct Recipient {
    viewer: Viewer,
    sub: FeedSubscription,
    /// An item read past the step being routed, kept for the next step.
    held: Option<Arc<FeedItem>>,
    /// The last event taken, waiting for its line.
    event: Option<Arc<Committed>>,
    /// The last item routed (where a new subscription for a changed viewer resumes).
    done: FeedCursor,
}

/// The DMs of one campaign's private items, routed per recipient.
pub struct DmRouter {
    feed: Feed,
    /// Which players can be sent a DM at all (Discord users).
    reachable: fn(&PlayerId) -> bool,
    recipients: BTreeMap<PlayerId, Recipient>,
    /// Everything up to this seq was routed (a recipient found later starts here).
    through: u64,
}

impl DmRouter {
    /// A router for `feed` that has routed everything up to event `from`.
    pub fn new(feed: Feed, from: u64, reachable: fn(&PlayerId) -> bool) -> DmRouter {
        DmRouter {
            feed,
            reachable,
            recipients: BTreeMap::new(),
            through: from,
        }
    }

    /// The DMs for every item filed under events up to `through`, in feed order per
    /// recipient: (recipient, text). The recipients are the table's players and GMs in
    /// `state`, and whoever `taken` (the events since the last call, as the caller's
    /// own subscription gave them) names: the player an item is for, or who sent it,
    /// even if not (yet) at the table. `state` is read for that and for wording only.
    pub async fn route(
        &mut self,
        state: &CampaignState,
        taken: &[Arc<Committed>],
        through: u64,
    ) -> Vec<(PlayerId, String)> {
        let named = taken.iter().flat_map(|c| {
            let to = match &c.event.visibility {
                Visibility::Player(p) => Some(p),
                _ => None,
            };
            to.into_iter().chain(c.origin.player.as_ref())
        });
        let mut members: Vec<&PlayerId> = state
            .players
            .keys()
            .chain(state.gm.iter())
            .chain(state.co_gms.iter())
            .chain(named)
            .filter(|p| (self.reachable)(p))
            .collect();
        members.sort();
        members.dedup();
        for p in members {
            let viewer = viewer_of(state, p);
            match self.recipients.get_mut(p) {
                Some(r) if r.viewer == viewer => {}
                Some(r) => {
                    // Made (or no longer) a GM: the same place, seen as the new viewer.
                    r.sub = self.feed.subscribe_stored(viewer.clone(), r.done);
                    r.held = None;
                    r.viewer = viewer;
                }
                None => {
                    let start = FeedCursor::new(self.through, u32::MAX);
                    self.recipients.insert(
                        p.clone(),
                        Recipient {
                            sub: self.feed.subscribe_stored(viewer.clone(), start),
                            viewer,
                            held: None,
                            event: None,
                            done: start,
                        },
                    );
                }
            }
        }
        let mut out = Vec::new();
        for (me, r) in &mut self.recipients {
            r.sub.rescan();
            loop {
                let item = match r.held.take() {
                    Some(i) => i,
                    None => match r.sub.next_stored().await {
                        Ok(Some(i)) => i,
                        Ok(None) => break,
                        Err(e) => {
                            tracing::warn!(campaign = self.feed.campaign_id().get(), error = %e, "reading the feed for DMs failed; they follow with the next batch");
                            break;
                        }
                    },
                };
                if item.seq > through {
                    r.held = Some(item);
                    break;
                }
                r.done = item.cursor();
                match &item.kind {
                    FeedKind::Event { event } => r.event = Some(event.clone()),
                    FeedKind::Line { text } => {
                        if let Some(c) = r.event.take().filter(|c| c.seq == item.seq)
                            && let Some(dm) = dm_text(state, me, &c, text)
                        {
                            out.push((me.clone(), dm));
                        }
                    }
                    _ => {}
                }
            }
        }
        self.through = self.through.max(through);
        out
    }
}

/// The DM `me` gets for event `c` told as `line`, given that `me`'s subscription
/// yielded it (so `me` may see it). `None`: the channel shows it, a private reply
/// showed it, or it is not addressed to `me`.
pub fn dm_text(state: &CampaignState, me: &PlayerId, c: &Committed, line: &str) -> Option<String> {
    use EventKind::*;
    // The channel (and the voice call) has what any onlooker may see.
    if c.event.visibility.allows(&Viewer::Observer) {
        return None;
    }
    // A slash command's caller saw its own events in the command's private reply.
    let replied = c.origin.source == Source::Discord && c.origin.interaction.is_some();
    match &c.event.visibility {
        // Party-only: the player who spoke it in voice gets it; after a restart, the
        // player whose turn clock resumed.
        Visibility::Public | Visibility::Party => {
            if replied {
                return None;
            }
            let to = match (&c.origin.player, &c.event.kind) {
                (Some(p), _) => Some(p),
                (None, TurnClockResumed { creature, .. }) => {
                    state.creature(*creature).and_then(|cr| cr.owner())
                }
                (None, _) => None,
            };
            (to == Some(me)).then(|| line.to_string())
        }
        Visibility::Player(p) if p == me => {
            let already_shown = replied && c.origin.player.as_ref() == Some(p);
            // A turn warning comes with its own wording (the presenter's).
            (!already_shown && !matches!(c.event.kind, TurnWarning { .. }))
                .then(|| line.to_string())
        }
        // Another player's: only a secret roll, and only to a GM (secret from the
        // table, not from the GM).
        Visibility::Player(p) => {
            if !matches!(c.event.kind, DiceRolled { secret: true, .. }) {
                return None;
            }
            let roller = state
                .players
                .get(p)
                .map(|pl| super::render::escape(&pl.name))
                .unwrap_or_else(|| "A player".into());
            Some(format!("(secret roll by {roller}) {line}"))
        }
        // GM-only items go to the campaign's GM (co-GMs read them at the table).
        Visibility::Gm => (state.gm.as_ref() == Some(me)).then(|| format!("(GM only) {line}")),
    }
}
