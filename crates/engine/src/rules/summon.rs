//! Summoned creatures ([`Step::Summon`]: Conjure Animals, Conjure Fey, Conjure
//! Elemental, Conjure Celestial, Conjure Minor Elementals, Conjure Woodland Beings,
//! Giant Insect, Animate Objects).
//!
//! The theatre-of-the-mind ruling:
//!
//! * The caster names the creature among the cast's words ("cast conjure animals
//!   wolf"): an SRD creature of the types and challenge rating the spell allows, or
//!   one of the spell's own words (Giant Insect's "spider"). How many come follows
//!   from the creature's challenge rating and the slot (the text's "one of CR 2, two
//!   of CR 1..." is read as the most of the named creature the text allows). No word,
//!   two words, an unknown creature, a wrong type or too high a rating is refused with
//!   the rule before anything is cast.
//! * They appear (`MonstersAppeared`, each [`Creature::summoned`] by the caster) and,
//!   in a fight, join it with their own initiative (`CombatantsJoined`), on the
//!   caster's side ([`Creature::on_party_side`]): the monsters attack them, they
//!   attack the monsters. Out of a fight they stand in the scene and join the next.
//! * They are run like every NPC: the engine's policy (or the LLM choosing among the
//!   options, or the GM) against the caster's foes; the caster's spoken commands are
//!   narration.
//! * When the caster's concentration ends (at will, by damage, at 0 hit points, by a
//!   new concentration spell) they vanish ([`EventKind::Vanished`]: gone from the
//!   fight, no death to tell or undo).

use super::{Emitter, MAX_COMBATANTS};
use crate::command::MonsterGroup;
use crate::creature::Summoned;
use crate::data::SpellData;
use crate::effect::{SpellEffect, Step};
use crate::error::RuleError;
use crate::event::EventKind;
use crate::ids::CreatureId;

/// Most creatures one casting may bring (Animate Objects' ten, Conjure Animals' eight
/// at 9th level is 32: bounded by the fight's size too).
const MAX_SUMMONED: u32 = 32;

/// Fills a [`Step::Summon`]'s `chosen` from the cast's words: the word naming the
/// creature is no target. Refused with the rule when no creature (or two) is named, or
/// the one named is not allowed. Effects without the step pass unchanged.
pub(crate) fn pick(
    em: &Emitter,
    spell: &SpellData,
    mut effect: SpellEffect,
    targets: &[String],
    slot: u8,
) -> Result<(SpellEffect, Vec<String>), RuleError> {
    let Some(Step::Summon {
        types,
        by_cr,
        multiply,
        cr_per_slot,
        named,
        chosen,
        ..
    }) = effect
        .steps
        .iter_mut()
        .find(|s| matches!(s, Step::Summon { .. }))
    else {
        return Ok((effect, targets.to_vec()));
    };
    let bump = if *cr_per_slot {
        u16::from(slot.saturating_sub(spell.level)) * 8
    } else {
        0
    };
    let factor = multiply
        .iter()
        .filter(|(s, _)| *s <= slot)
        .map(|(_, f)| u32::from(*f))
        .max()
        .unwrap_or(1);
    let limit = by_cr.iter().map(|(cr, _)| cr + bump).max().unwrap_or(0);
    let allowed = || {
        let mut out: Vec<String> = named.keys().cloned().collect();
        if !types.is_empty() {
            out.push(format!(
                "a {} of challenge rating {} or lower",
                types.join(" or "),
                rating(limit)
            ));
        }
        out.join(", ")
    };
    let mut picked: Option<(String, u32)> = None;
    let mut rest = Vec::new();
    for t in targets {
        let word = t.trim();
        let found = if let Some((_, (monster, count))) =
            named.iter().find(|(k, _)| k.eq_ignore_ascii_case(word))
        {
            Some((monster.clone(), u32::from(*count)))
        } else if types.is_empty() {
            None
        } else if let Some(m) = em.state.catalog.monster(word) {
            let kind = m.kind.to_ascii_lowercase();
            if !types.iter().any(|ty| kind.starts_with(ty.as_str())) {
                return Err(RuleError::invalid(format!(
                    "{}: {} is {}; name {}.",
                    spell.name,
                    m.name,
                    m.kind,
                    allowed()
                )));
            }
            // Ratings are 0, 1/8, 1/4, 1/2, 1..30: in eighths they are whole.
            let cr = (m.challenge_rating.clamp(0.0, 30.0) * 8.0).round() as u16;
            let Some(count) = by_cr
                .iter()
                .filter(|(max, _)| cr <= max + bump)
                .map(|(_, n)| u32::from(*n))
                .max()
            else {
                return Err(RuleError::invalid(format!(
                    "{}: {} has challenge rating {}; name {}.",
                    spell.name,
                    m.name,
                    rating(cr),
                    allowed()
                )));
            };
            Some((m.index.clone(), count))
        } else {
            None
        };
        match (found, &picked) {
            (Some(f), None) => picked = Some(f),
            (Some(f), Some(p)) if f.0 != p.0 => {
                return Err(RuleError::invalid(format!(
                    "{}: name one kind of creature, not two.",
                    spell.name
                )));
            }
            (Some(_), Some(_)) => {}
            (None, _) => rest.push(t.clone()),
        }
    }
    let Some((monster, count)) = picked else {
        return Err(RuleError::invalid(format!(
            "{}: name the creature among the targets: {}.",
            spell.name,
            allowed()
        )));
    };
    let count = count.saturating_mul(factor).clamp(1, MAX_SUMMONED);
    if let Some(c) = em.state.combat.as_ref()
        && c.order.len() + count as usize > MAX_COMBATANTS
    {
        return Err(RuleError::invalid(format!(
            "A fight can hold at most {MAX_COMBATANTS} combatants."
        )));
    }
    *chosen = Some((monster, count as u8));
    Ok((effect, rest))
}

/// "1/4", "2".
fn rating(eighths: u16) -> String {
    match eighths {
        0 => "0".into(),
        1 => "1/8".into(),
        2 => "1/4".into(),
        4 => "1/2".into(),
        e => format!("{}", e / 8),
    }
}

/// Runs a chosen [`Step::Summon`] for `me`'s casting of `spell`: the creatures
/// appear on `me`'s side and, in a fight, join it.
pub(crate) fn run(
    em: &mut Emitter,
    me: CreatureId,
    spell: &str,
    chosen: &Option<(String, u8)>,
    group: bool,
) -> Result<(), RuleError> {
    let Some((monster, count)) = chosen else {
        return Err(RuleError::invalid("Name the creature to conjure."));
    };
    let mut creatures = super::combat::monster_names(
        em,
        &[MonsterGroup {
            monster: monster.clone(),
            count: u32::from(*count).clamp(1, MAX_SUMMONED),
        }],
    )?;
    let party = em.creature(me).on_party_side();
    for c in &mut creatures {
        c.summoned = Some(Summoned {
            by: me,
            spell: spell.to_string(),
            party,
        });
    }
    let ids: Vec<CreatureId> = creatures.iter().map(|c| c.id).collect();
    em.public(EventKind::MonstersAppeared { creatures });
    if em.state.in_combat() {
        let entries = if group {
            group_initiative(em, &ids)
        } else {
            super::combat::roll_initiative(em, &ids)
        };
        em.public(EventKind::CombatantsJoined { entries });
    }
    Ok(())
}

/// One d20 for the whole group (the same creature, so the same modifier): their
/// turns come one after another.
fn group_initiative(em: &mut Emitter, ids: &[CreatureId]) -> Vec<crate::event::InitiativeEntry> {
    let d20 = em.dice.roll(20);
    let mut entries = Vec::new();
    for id in ids {
        let c = em.creature(*id);
        let modifier = c.modifier(crate::ability::Ability::Dex);
        let dex = c.abilities.dex;
        let total = d20 as i32 + modifier;
        em.public(EventKind::InitiativeRolled {
            creature: *id,
            d20,
            modifier,
            total,
        });
        entries.push(crate::event::InitiativeEntry {
            creature: *id,
            total,
            dex,
        });
    }
    super::combat::sort_order(&mut entries);
    entries
}

/// The creatures `who` conjured vanish (its concentration is ending).
pub(crate) fn dismiss(em: &mut Emitter, who: CreatureId) {
    let mut gone: Vec<(String, CreatureId)> = em
        .state
        .creatures
        .values()
        .filter(|c| !c.dead)
        .filter_map(|c| {
            c.summoned
                .as_ref()
                .filter(|s| s.by == who)
                .map(|s| (s.spell.clone(), c.id))
        })
        .collect();
    gone.sort();
    let mut spells: Vec<String> = gone.iter().map(|(s, _)| s.clone()).collect();
    spells.dedup();
    for spell in spells {
        let creatures = gone
            .iter()
            .filter(|(s, _)| *s == spell)
            .map(|(_, c)| *c)
            .collect();
        em.public(EventKind::Vanished {
            by: who,
            spell,
            creatures,
        });
    }
}
