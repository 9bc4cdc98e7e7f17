//! Casting spells: slots, action cost, concentration, and the resolution of attack,
//! save, healing and special spells (magic missile, shield, bless).

use super::{Emitter, find_creature, resolve};
use crate::creature::Effect;
use crate::data::{DamagePart, SpellAttack, SpellData};
use crate::error::RuleError;
use crate::event::{ActionCost, AttackOutcome, EventKind};
use crate::ids::CreatureId;

/// The most targets one spell may name.
const MAX_TARGETS: usize = 12;

fn cost_of(spell: &SpellData) -> ActionCost {
    let t = spell.casting_time.to_ascii_lowercase();
    if t.contains("bonus") {
        ActionCost::BonusAction
    } else if t.contains("reaction") {
        ActionCost::Reaction
    } else if t.contains("action") {
        ActionCost::Action
    } else {
        ActionCost::Free
    }
}

/// Damage dice for a cantrip at a character level: the highest step not above it.
fn cantrip_dice(spell: &SpellData, level: u8) -> Option<String> {
    spell
        .damage_at_character_level
        .range(..=level)
        .next_back()
        .map(|(_, d)| d.clone())
}

/// Damage dice for a levelled spell cast with a slot: the SRD's entry for the highest
/// slot level not above it, plus the per-level increase the spell's text gives where
/// the SRD data lists only the base level. Upcasting never loses the damage.
fn slot_dice(spell: &SpellData, slot: u8) -> Option<String> {
    let (&base_level, dice) = spell.damage_at_slot_level.range(..=slot).next_back()?;
    let per_level = match spell.index.as_str() {
        "disintegrate" => Some((3, 6)),
        "freezing-sphere" => Some((1, 6)),
        "phantasmal-killer" => Some((1, 10)),
        "wall-of-fire" => Some((1, 8)),
        "sleep" => Some((2, 8)),
        _ => None,
    };
    let above = u32::from(slot.saturating_sub(base_level));
    Some(match per_level {
        Some((n, d)) if above > 0 => format!("{dice} + {}d{d}", n * above),
        _ => dice.clone(),
    })
}

/// Separate attacks one casting makes: Eldritch Blast's beams by character level,
/// Scorching Ray's rays by slot level.
fn beams(spell: &SpellData, caster_level: u8, slot: u8) -> usize {
    match spell.index.as_str() {
        "eldritch-blast" => match caster_level {
            17.. => 4,
            11.. => 3,
            5.. => 2,
            _ => 1,
        },
        "scorching-ray" => 3 + usize::from(slot.saturating_sub(2)),
        _ => 1,
    }
}

/// Healing-style dice by slot level (False Life, Aid): the highest entry not above it.
fn slot_heal(spell: &SpellData, slot: u8) -> Option<&String> {
    spell
        .heal_at_slot_level
        .range(..=slot)
        .next_back()
        .map(|(_, d)| d)
}

pub(crate) fn cast(
    em: &mut Emitter,
    me: CreatureId,
    spell_name: &str,
    targets: &[String],
    slot: Option<u8>,
) -> Result<(), RuleError> {
    let caster = em.creature(me).clone();
    let spell =
        em.state
            .catalog
            .spell(spell_name)
            .cloned()
            .ok_or_else(|| RuleError::UnknownTarget {
                what: "spell",
                name: crate::error::echo(spell_name),
            })?;
    let Some(sc) = caster.spellcasting.clone() else {
        return Err(RuleError::SpellNotKnown {
            who: caster.name.clone(),
            spell: spell.name.clone(),
        });
    };
    if !sc.knows(&spell.index) {
        return Err(RuleError::SpellNotKnown {
            who: caster.name.clone(),
            spell: spell.name.clone(),
        });
    }
    if targets.len() > MAX_TARGETS {
        return Err(RuleError::invalid(format!(
            "A spell can name at most {MAX_TARGETS} targets."
        )));
    }
    let slot = if spell.level == 0 {
        None
    } else {
        let l = slot.unwrap_or(spell.level);
        if l < spell.level || l > 9 {
            return Err(RuleError::invalid(format!(
                "{} needs a slot of level {} to 9.",
                spell.name, spell.level
            )));
        }
        if sc.available(l) == 0 {
            return Err(RuleError::NoSlot {
                who: caster.name.clone(),
                level: l,
            });
        }
        Some(l)
    };
    let cost = cost_of(&spell);
    if em.state.in_combat() {
        if cost == ActionCost::Free {
            return Err(RuleError::WrongMode(format!(
                "{} takes {} to cast — not in the middle of a fight.",
                spell.name, spell.casting_time
            )));
        }
        // The bonus-action spell rule: on a turn where you cast a spell with a bonus
        // action, the only other spell you may cast is a cantrip with a casting time
        // of one action — whichever order they come in.
        if let Some(c) = em.state.combat.as_ref()
            && c.active_creature() == Some(me)
        {
            let action_cantrip = spell.level == 0 && cost == ActionCost::Action;
            if cost != ActionCost::BonusAction && c.budget.bonus_spell_cast && !action_cantrip {
                return Err(RuleError::invalid(
                    "After a bonus-action spell, only a cantrip can be cast with your action.",
                ));
            }
            if cost == ActionCost::BonusAction && c.budget.other_spell_cast {
                return Err(RuleError::invalid(
                    "You've already cast a spell other than a cantrip this turn, so you can't \
                     cast a bonus-action spell too.",
                ));
            }
        }
        super::combat::require_turn_part(em, me, cost)?;
    } else {
        super::combat::require_turn_part(em, me, ActionCost::Free)?;
    }

    // Resolve targets before anything is emitted.
    let target_ids = resolve_targets(em, me, &spell, targets)?;

    if spell.concentration && caster.concentration.is_some() {
        resolve::end_concentration(em, me);
    }
    em.public(EventKind::SpellCast {
        caster: me,
        spell: spell.index.clone(),
        name: spell.name.clone(),
        slot,
        cost,
        targets: target_ids.clone(),
    });
    let slot_level = slot.unwrap_or(0);
    let modifier = caster.modifier(sc.ability);
    match spell.index.as_str() {
        "magic-missile" => {
            let darts = 3 + usize::from(slot_level.saturating_sub(1));
            for i in 0..darts {
                let t = target_ids[i % target_ids.len()];
                if em.creature(t).dead {
                    continue;
                }
                let part = DamagePart {
                    dice: "1d4+1".into(),
                    damage_type: crate::data::DamageType::Force,
                };
                resolve::deal_damage(em, t, Some(me), &[part], false)?;
            }
        }
        "shield" => {
            em.public(EventKind::EffectStarted {
                creature: me,
                effect: Effect::Shielded,
            });
        }
        "bless" => {
            em.public(EventKind::ConcentrationStarted {
                creature: me,
                spell: spell.index.clone(),
            });
            for t in &target_ids {
                em.public(EventKind::EffectStarted {
                    creature: *t,
                    effect: Effect::Blessed { by: me },
                });
            }
        }
        "false-life" => {
            // Temporary hit points (which don't stack: the larger stays).
            let dice = slot_heal(&spell, slot_level)
                .cloned()
                .unwrap_or_else(|| "1d4+4".into());
            let roll = crate::dice::roll(&dice, em.dice)?;
            let amount = (roll.total.clamp(0, 1_000) as i32).max(0);
            if let Some(owner) = caster.owner().cloned() {
                em.public(EventKind::DiceRolled {
                    player: owner,
                    roll,
                    secret: false,
                });
            }
            em.public(EventKind::TempHpGained { target: me, amount });
        }
        "aid" => {
            // Up to three creatures: hit point maximum and current hit points up by 5
            // (more with a higher slot) until a long rest.
            let amount = slot_heal(&spell, slot_level)
                .and_then(|d| d.trim().parse::<i32>().ok())
                .unwrap_or(5)
                .clamp(0, 1_000);
            for t in &target_ids {
                if em.creature(*t).dead {
                    continue;
                }
                em.public(EventKind::EffectStarted {
                    creature: *t,
                    effect: Effect::Aided { by: me, amount },
                });
                resolve::heal(em, *t, Some(me), &amount.to_string())?;
            }
        }
        _ => {
            if spell.concentration {
                em.public(EventKind::ConcentrationStarted {
                    creature: me,
                    spell: spell.index.clone(),
                });
            }
            let caster_level = caster.pc.as_ref().map_or(1, |p| p.level);
            let damage = if spell.level == 0 {
                cantrip_dice(&spell, caster_level)
            } else {
                slot_dice(&spell, slot_level)
            }
            .map(|d| d.replace("+MOD", &crate::character::with_modifier("", modifier)))
            .and_then(|d| {
                spell.damage_type.map(|t| DamagePart {
                    dice: d,
                    damage_type: t,
                })
            });
            if let Some(heal) = spell.heal_at_slot_level.get(&slot_level) {
                let dice = heal.replace("+MOD", &crate::character::with_modifier("", modifier));
                for t in &target_ids {
                    resolve::heal(em, *t, Some(me), &dice)?;
                }
            } else if let Some(part) = damage {
                // The SRD data lists no attack roll for Scorching Ray; its text has one
                // ranged spell attack per ray.
                let attack = if spell.index == "scorching-ray" {
                    SpellAttack::Attack {
                        reach: crate::data::Reach::Ranged,
                    }
                } else {
                    spell.attack.clone()
                };
                match &attack {
                    SpellAttack::Attack { reach } => {
                        let bonus = caster.spell_attack_bonus().unwrap_or(0);
                        // One attack per target; spells with several beams or rays
                        // spread them over the named targets in turn.
                        let attacks = beams(&spell, caster_level, slot_level).max(target_ids.len());
                        for i in 0..attacks {
                            let t = target_ids[i % target_ids.len()];
                            if em.creature(t).is_down() && !em.creature(t).is_pc() {
                                continue;
                            }
                            let outcome =
                                resolve::attack_roll(em, me, t, &spell.name, bonus, *reach);
                            if outcome.is_hit() {
                                resolve::deal_damage(
                                    em,
                                    t,
                                    Some(me),
                                    std::slice::from_ref(&part),
                                    outcome == AttackOutcome::CriticalHit,
                                )?;
                            }
                        }
                    }
                    SpellAttack::Save(save) => {
                        let dc = caster.spell_save_dc().unwrap_or(10);
                        // One damage roll for every target, as the rules say for area spells.
                        let roll = crate::dice::roll(&part.dice, em.dice)?;
                        let rolled = [(part.damage_type, roll)];
                        for t in &target_ids {
                            let ok = resolve::saving_throw(
                                em,
                                *t,
                                save.ability,
                                Default::default(),
                                Some(dc),
                            );
                            match (ok, save.on_success) {
                                (false, _) => {
                                    resolve::deal_rolled(em, *t, Some(me), &rolled, false, false);
                                }
                                (true, crate::data::SaveEffect::Half) => {
                                    resolve::deal_rolled(em, *t, Some(me), &rolled, false, true);
                                }
                                (true, crate::data::SaveEffect::None) => {}
                            }
                        }
                    }
                    SpellAttack::None => {
                        for t in &target_ids {
                            resolve::deal_damage(
                                em,
                                *t,
                                Some(me),
                                std::slice::from_ref(&part),
                                false,
                            )?;
                        }
                    }
                }
            }
        }
    }
    super::combat::check_end(em);
    Ok(())
}

/// Who a spell affects. Healing and buffs default to the caster; damaging area spells
/// with no named targets hit every standing foe in the fight.
fn resolve_targets(
    em: &Emitter,
    me: CreatureId,
    spell: &SpellData,
    targets: &[String],
) -> Result<Vec<CreatureId>, RuleError> {
    let mut ids = Vec::new();
    for t in targets {
        let id = find_creature(&em.state, t, |c| !c.dead)?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    let harmful = spell.damage_type.is_some();
    if ids.is_empty() {
        if spell.index == "shield" || !harmful {
            ids.push(me);
        } else if spell.area.is_some() && em.state.in_combat() {
            ids.extend(
                em.state
                    .combatants()
                    .filter(|c| !c.is_pc() && !c.is_down())
                    .map(|c| c.id),
            );
        }
    }
    if ids.is_empty() {
        return Err(RuleError::invalid(format!(
            "Who is the target of {}?",
            spell.name
        )));
    }
    let caster_level = em.creature(me).pc.as_ref().map_or(1, |p| p.level);
    let max = match spell.index.as_str() {
        "bless" | "aid" => 3,
        "eldritch-blast" | "scorching-ray" => beams(spell, caster_level, 9),
        "shield" => 1,
        "magic-missile" => 5,
        _ if spell.area.is_some() => MAX_TARGETS,
        _ => 1,
    };
    if ids.len() > max {
        return Err(RuleError::invalid(format!(
            "{} can affect at most {max} target{}.",
            spell.name,
            if max == 1 { "" } else { "s" }
        )));
    }
    if spell.index == "shield" && ids != [me] {
        return Err(RuleError::invalid("Shield only protects its caster."));
    }
    Ok(ids)
}
