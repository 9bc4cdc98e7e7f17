//! Free text (a `/act` line, a spoken sentence, a terminal line) → committed events,
//! the same way for every front end: read it with the [`IntentResolver`], submit each
//! action as the player through the coordinator (where the engine checks turn order and
//! permissions), stop at the first refusal.

use super::{IntentOutcome, IntentResolver, IntentSource};
use crate::coordinator::CampaignId;
use crate::coordinator::{Committed, Coordinator, Origin, SubmitError};
use dicebard_engine::{Action, Actor, Command, PlayerId};
use std::sync::Arc;

/// What came of a piece of free text.
#[derive(Debug)]
pub enum ActOutcome {
    /// Every action was committed; these are the events, in order.
    Done {
        events: Vec<Arc<Committed>>,
        actions: Vec<Action>,
        source: IntentSource,
        /// Something to tell the player as well (the per-minute LLM limit was hit).
        notice: Option<String>,
    },
    /// Some actions were committed, then one was refused (`refused` is for the player).
    Partial {
        events: Vec<Arc<Committed>>,
        refused: SubmitError,
    },
    /// The first action was refused; nothing changed.
    Refused(SubmitError),
    /// Ask the player this (nothing changed).
    Clarify(String),
    /// Not understood (nothing changed); the message says how to phrase it.
    NotUnderstood(String),
}

impl ActOutcome {
    /// The committed events, if any.
    pub fn events(&self) -> &[Arc<Committed>] {
        match self {
            ActOutcome::Done { events, .. } | ActOutcome::Partial { events, .. } => events,
            _ => &[],
        }
    }

    /// A line for the player when nothing (or not everything) happened.
    pub fn message(&self) -> Option<String> {
        match self {
            ActOutcome::Done { notice, .. } => notice.clone(),
            ActOutcome::Partial { refused, .. } | ActOutcome::Refused(refused) => {
                Some(refused.user_message())
            }
            ActOutcome::Clarify(q) | ActOutcome::NotUnderstood(q) => Some(q.clone()),
        }
    }
}

/// Reads `text` from `player` in `campaign` and submits what it means.
///
/// Text the reader does not turn into mechanics becomes an in-character
/// [`Action::Act`] only when `fallback_to_act` (a typed `/act`); speech that is not
/// understood is not turned into anything.
pub async fn act_free_text(
    coord: &Coordinator,
    resolver: &IntentResolver,
    campaign: CampaignId,
    player: &PlayerId,
    text: &str,
    origin: Origin,
    fallback_to_act: bool,
) -> ActOutcome {
    let state = match coord.snapshot(campaign).await {
        Ok(s) => s.state,
        Err(e) => return ActOutcome::Refused(e),
    };
    let resolution = resolver.resolve(campaign, &state, player, text).await;
    let notice = resolution.notice;
    let with_notice = |m: String| match &notice {
        Some(n) => format!("{n} {m}"),
        None => m,
    };
    let (actions, source) = match resolution.outcome {
        IntentOutcome::Commands(a) if !a.is_empty() => (a, resolution.source),
        IntentOutcome::Clarify(q) => return ActOutcome::Clarify(with_notice(q)),
        IntentOutcome::NotUnderstood(_) | IntentOutcome::Commands(_) if fallback_to_act => (
            vec![Action::Act {
                text: text.trim().to_string(),
            }],
            IntentSource::Parser,
        ),
        IntentOutcome::NotUnderstood(m) => return ActOutcome::NotUnderstood(with_notice(m)),
        IntentOutcome::Commands(_) => {
            return ActOutcome::NotUnderstood(with_notice(super::nothing_happens(
                &super::Scene::new(&state, player),
            )));
        }
    };
    let mut events = Vec::new();
    for action in &actions {
        let cmd = Command {
            by: Actor::Player(player.clone()),
            action: action.clone(),
        };
        match coord.submit(campaign, cmd, origin.clone()).await {
            Ok(ev) => events.extend(ev),
            Err(e) if events.is_empty() => return ActOutcome::Refused(e),
            Err(e) => return ActOutcome::Partial { events, refused: e },
        }
    }
    ActOutcome::Done {
        events,
        actions,
        source,
        notice,
    }
}
