//! Barriers against spells ([`Mark::SpellWard`]: Globe of Invulnerability, Antimagic
//! Field).
//!
//! The theatre-of-the-mind ruling: the creatures named when the globe is raised are
//! inside it. A spell of the ward's level or lower (cantrips included) cast by a
//! creature that is not inside a ward itself can't target them or catch them in its
//! area: they are dropped from its targets, and a cast left with none is refused with
//! the rule (no slot spent). Spells already on them, zones and auras are narrated.

use super::Emitter;
use crate::data::SpellData;
use crate::effect::Mark;
use crate::error::RuleError;
use crate::ids::CreatureId;

fn ward(c: &crate::creature::Creature) -> Option<u8> {
    c.marks()
        .filter_map(|a| match a.mark {
            Mark::SpellWard { max_level } => Some(max_level),
            _ => None,
        })
        .max()
}

/// Whether `t`'s ward keeps off `caster`'s spell of `level` (0 for a cantrip).
pub(crate) fn wards_off(
    caster: &crate::creature::Creature,
    t: &crate::creature::Creature,
    level: u8,
) -> bool {
    ward(caster).is_none() && ward(t).is_some_and(|max| level <= max)
}

/// `targets` without the creatures warded against this casting; refused when every
/// one of them is.
pub(crate) fn spell_ward(
    em: &Emitter,
    me: CreatureId,
    spell: &SpellData,
    slot: u8,
    targets: Vec<CreatureId>,
) -> Result<Vec<CreatureId>, RuleError> {
    if targets.is_empty() {
        return Ok(targets);
    }
    let level = if spell.level == 0 { 0 } else { slot };
    let (warded, kept): (Vec<CreatureId>, Vec<CreatureId>) = targets
        .into_iter()
        .partition(|t| wards_off(em.creature(me), em.creature(*t), level));
    if kept.is_empty()
        && let Some(t) = warded.first()
    {
        return Err(RuleError::invalid(format!(
            "{} can't reach {}: a spell of level {level} can't pass the barrier around them.",
            spell.name,
            em.creature(*t).name
        )));
    }
    Ok(kept)
}
