//! Events as factual one-line accounts for the LLM's prompts and summaries: every
//! number included, player-written text fenced; and which events are told as story
//! and which may be told to the whole table at all.

use super::BuiltinNarrator;
use super::memory::{MAX_LINE_CHARS, MAX_PLAYER_TEXT_CHARS};
use crate::coordinator::Committed;
use crate::llm::text::{clip, fence};
use dicebard_engine::event::{AttackOutcome, CheckKind, DamageModifier};
use dicebard_engine::{CampaignState, CreatureId, EventKind, Visibility};

/// Whether players may see an event (and so whether it may enter prose for the table).
pub fn is_table_visible(v: &Visibility) -> bool {
    matches!(v, Visibility::Public | Visibility::Party)
}

pub(super) fn name_of(state: &CampaignState, id: CreatureId) -> String {
    state
        .creature(id)
        .map_or_else(|| "someone".into(), |c| fence(&c.name, 64))
}

fn signed(n: i32) -> String {
    if n >= 0 {
        format!("+{n}")
    } else {
        n.to_string()
    }
}

/// A factual one-line account of an event, every number included, for prompts and
/// the summary. Player-written text is fenced. `None` for pure bookkeeping.
pub fn event_line(state: &CampaignState, c: &Committed) -> Option<String> {
    use EventKind::*;
    let n = |id: CreatureId| name_of(state, id);
    let hp_after = |id: CreatureId| -> String {
        match state.creature(id) {
            Some(cr) if cr.is_pc() => {
                format!(" ({} now has {} of {} HP)", n(id), cr.hp.max(0), cr.max_hp)
            }
            Some(cr) => format!(" ({} is now {})", n(id), cr.health().describe()),
            None => String::new(),
        }
    };
    let line = match &c.event.kind {
        ActionDeclared { creature, text, .. } => format!(
            "{} declares: <player_text>{}</player_text>",
            creature.map(n).unwrap_or_else(|| "The GM".into()),
            fence(text, MAX_PLAYER_TEXT_CHARS)
        ),
        AttackRolled {
            attacker,
            target,
            with,
            d20,
            kept,
            bonus,
            bonus_dice,
            total,
            target_ac,
            outcome,
            ..
        } => {
            let dice = if d20.len() > 1 {
                format!("d20s {:?} keep {kept}", d20)
            } else {
                format!("d20 {kept}")
            };
            let extra = if *bonus_dice != 0 {
                format!(" {} (bless)", signed(*bonus_dice))
            } else {
                String::new()
            };
            let result = match outcome {
                AttackOutcome::CriticalHit => "critical hit",
                AttackOutcome::Hit => "hit",
                AttackOutcome::Miss => "miss",
                AttackOutcome::CriticalMiss => "natural 1, miss",
            };
            format!(
                "{} attacks {} with {}: {dice} {}{extra} = {total} against AC {target_ac}: {result}.",
                n(*attacker),
                n(*target),
                fence(with, 60),
                signed(*bonus)
            )
        }
        DamageDealt {
            target,
            damage_type,
            breakdown,
            modifier,
            amount,
            ..
        } => {
            let how = match modifier {
                DamageModifier::None => String::new(),
                DamageModifier::Resisted => " (resisted: halved)".into(),
                DamageModifier::Vulnerable => " (vulnerable: doubled)".into(),
                DamageModifier::Immune => " (immune)".into(),
            };
            format!(
                "{} takes {amount} {damage_type} damage{how}; roll {breakdown}.{}",
                n(*target),
                hp_after(*target)
            )
        }
        HealingReceived { target, amount, .. } => {
            format!(
                "{} regains {amount} hit points.{}",
                n(*target),
                hp_after(*target)
            )
        }
        CheckRolled {
            creature,
            check,
            kept,
            modifier,
            total,
            dc,
            success,
            ..
        } => {
            let what = match check {
                CheckKind::Skill(s) => format!("{s}"),
                CheckKind::Ability(a) => format!("{a}"),
            };
            let outcome = match (dc, success) {
                (Some(dc), Some(true)) => format!(" against DC {dc}: success"),
                (Some(dc), Some(false)) => format!(" against DC {dc}: failure"),
                _ => " (no DC set: the GM judges the result)".into(),
            };
            format!(
                "{} makes a {what} check: d20 {kept} {} = {total}{outcome}.",
                n(*creature),
                signed(*modifier)
            )
        }
        SaveRolled {
            creature,
            ability,
            kept,
            modifier,
            total,
            dc,
            success,
            auto_fail,
            ..
        } => {
            if *auto_fail {
                format!(
                    "{} fails a {ability} saving throw automatically.",
                    n(*creature)
                )
            } else {
                let outcome = match (dc, success) {
                    (Some(dc), Some(true)) => format!(" against DC {dc}: saved"),
                    (Some(dc), Some(false)) => format!(" against DC {dc}: failed"),
                    _ => String::new(),
                };
                format!(
                    "{} makes a {ability} saving throw: d20 {kept} {} = {total}{outcome}.",
                    n(*creature),
                    signed(*modifier)
                )
            }
        }
        ConcentrationStarted { .. }
        | EffectStarted { .. }
        | EffectEnded { .. }
        | TurnEnded { .. } => return None,
        _ => BuiltinNarrator::line(state, c).map(|l| fence(&l, MAX_LINE_CHARS))?,
    };
    Some(clip(&line, MAX_LINE_CHARS))
}

/// Events the LLM tells as a story. The others (turn announcements, initiative, free
/// dice rolls, settings) are table talk: the built-in narrator says them crisply.
pub fn is_story_event(kind: &EventKind) -> bool {
    use EventKind::*;
    !matches!(
        kind,
        SettingsChanged { .. }
            | PlayerJoined { .. }
            | DiceRolled { .. }
            | InitiativeRolled { .. }
            | CombatStarted { .. }
            | CombatantsJoined { .. }
            | TurnStarted { .. }
            | TurnWarning { .. }
            | TurnTimedOut { .. }
            | TurnClockResumed { .. }
            | TurnEnded { .. }
            | ConcentrationStarted { .. }
            | EffectStarted { .. }
            | EffectEnded { .. }
            | Whispered { .. }
            | CharacterRetired { .. }
    )
}
