//! Class features and racial traits used as commands that change a fight (`use
//! FEATURE`): Divine Smite, Reckless Attack, Cunning Action, the ki features (Flurry of
//! Blows, Patient Defense, Step of the Wind), a dragonborn's Breath Weapon and Arcane
//! Recovery. Each is checked here (class, level, resource, the part of the turn it
//! costs) and told as a `FeatureUsed` event followed by the usual events (attack
//! rolls, saves, damage, Dash / Disengage / Hide / Dodge); `apply` spends the uses,
//! the slot and the turn's parts from those events.

use super::combat::in_fight;
use super::{Emitter, combat, resolve};
use crate::creature::{Attack, Creature, PcInfo};
use crate::data::{DamagePart, DamageType, Reach};
use crate::error::RuleError;
use crate::event::{ActionCost, EventKind};
use crate::ids::CreatureId;

/// The features this module handles, by index (for the refusal that lists them).
pub const NAMES: &[&str] = &[
    "divine smite",
    "reckless attack",
    "cunning action dash|disengage|hide",
    "flurry of blows",
    "patient defense",
    "step of the wind [dash|disengage]",
    "breath weapon",
    "arcane recovery",
    "turn undead",
    "preserve life",
    "martial arts [on TARGET]",
    "sacred weapon",
    "wild shape BEAST",
];

/// Handles `use FEATURE` when `want` (an index, "divine-smite") is one of this
/// module's features; `None` otherwise.
pub(crate) fn try_use(
    em: &mut Emitter,
    me: CreatureId,
    want: &str,
    target: Option<&str>,
    amount: Option<u32>,
) -> Option<Result<(), RuleError>> {
    let c = em.creature(me).clone();
    let pc = c.pc.clone()?;
    // "cunning action dash" / "step of the wind disengage": the sub-choice in the name.
    let split = |base: &str| -> Option<Option<String>> {
        if want == base {
            Some(target.map(crate::data::to_index))
        } else {
            want.strip_prefix(base)
                .and_then(|r| r.strip_prefix('-'))
                .map(|r| Some(r.to_string()))
        }
    };
    let r = if matches!(want, "divine-smite" | "smite") {
        divine_smite(em, &c, &pc, amount)
    } else if matches!(want, "reckless-attack" | "reckless") {
        reckless_attack(em, &c, &pc)
    } else if let Some(sub) = split("cunning-action") {
        cunning_action(em, &c, &pc, sub.as_deref())
    } else if matches!(want, "flurry-of-blows" | "flurry") {
        flurry_of_blows(em, &c, &pc, target)
    } else if want == "patient-defense" {
        ki_feature(em, &c, &pc, "patient-defense")
            .and_then(|()| combat::dodge(em, me, Some(("patient-defense", 1))))
    } else if let Some(sub) = split("step-of-the-wind") {
        step_of_the_wind(em, &c, &pc, sub.as_deref())
    } else if matches!(want, "breath-weapon" | "breath") {
        breath_weapon(em, &c, &pc, target)
    } else if want == "arcane-recovery" {
        arcane_recovery(em, &c, &pc, amount)
    } else if matches!(want, "turn-undead" | "channel-divinity-turn-undead") {
        turn_undead(em, &c, &pc)
    } else if matches!(
        want,
        "turn-the-unholy" | "turn-unholy" | "channel-divinity-turn-the-unholy"
    ) {
        turn_the_unholy(em, &c, &pc)
    } else if matches!(want, "wholeness-of-body" | "wholeness") {
        wholeness_of_body(em, &c, &pc)
    } else if matches!(want, "hurl-through-hell" | "hurl") {
        hurl_through_hell(em, &c, &pc)
    } else if matches!(want, "intimidating-presence" | "intimidate") {
        intimidating_presence(em, &c, &pc, target)
    } else if want == "natural-recovery" {
        arcane_recovery(em, &c, &pc, amount)
    } else if matches!(want, "preserve-life" | "channel-divinity-preserve-life") {
        preserve_life(em, &c, &pc)
    } else if matches!(
        want,
        "martial-arts" | "martial-arts-strike" | "bonus-strike"
    ) {
        martial_arts(em, &c, &pc, target)
    } else if matches!(want, "sacred-weapon" | "channel-divinity-sacred-weapon") {
        sacred_weapon(em, &c, &pc)
    } else if matches!(want, "stunning-strike" | "stun") {
        stunning_strike(em, &c, &pc)
    } else if let Some(sub) = split("wild-shape") {
        wild_shape(em, &c, &pc, sub.as_deref())
    } else {
        return None;
    };
    Some(r)
}

fn needs(c: &Creature, pc: &PcInfo, class: &str, level: u8, what: &str) -> Result<(), RuleError> {
    if pc.class == class && pc.level >= level {
        Ok(())
    } else {
        Err(RuleError::invalid(format!(
            "{what} is a level {level} {class}'s feature, and {} is a level {} {}.",
            c.name, pc.level, pc.class
        )))
    }
}

fn uses_left(c: &Creature, pool: &str) -> u32 {
    let max = crate::features::uses(c, pool).map_or(0, |(m, _)| m);
    let spent =
        c.pc.as_ref()
            .and_then(|p| p.uses.get(pool))
            .copied()
            .unwrap_or(0);
    max.saturating_sub(spent)
}

fn spent_msg(c: &Creature, what: &str, rest: &str) -> RuleError {
    RuleError::invalid(format!(
        "{} has no {what} left — it comes back after a {rest} rest.",
        c.name
    ))
}

/// Divine Smite (paladin 2nd): after a melee weapon hit this turn, a spell slot (the
/// lowest left, or the level asked) adds 2d8 radiant, +1d8 a slot level above 1st (at
/// most 5d8), +1d8 against undead and fiends; doubled on a critical hit. The hit's own
/// damage has been dealt: a target it dropped is not smitten (the slot is kept).
fn divine_smite(
    em: &mut Emitter,
    c: &Creature,
    pc: &PcInfo,
    amount: Option<u32>,
) -> Result<(), RuleError> {
    needs(c, pc, "paladin", 2, "Divine Smite")?;
    in_fight(em, "Divine Smite")?;
    let hit = em.state.combat.as_ref().and_then(|k| k.budget.last_hit);
    let Some(hit) = hit.filter(|h| h.melee) else {
        return Err(RuleError::invalid(format!(
            "Divine Smite follows a melee weapon hit: {} has not hit with a melee \
             weapon since the last smite this turn.",
            c.name
        )));
    };
    let t = em.creature(hit.target).clone();
    if t.dead || (t.is_down() && !t.is_pc()) {
        return Err(RuleError::invalid(format!(
            "{} is already down — the slot is kept.",
            t.name
        )));
    }
    let Some(sc) = c.spellcasting.as_ref() else {
        return Err(RuleError::invalid(format!(
            "{} has no spell slots to smite with.",
            c.name
        )));
    };
    let slot = match amount {
        Some(l) => {
            let l = u8::try_from(l.clamp(0, 10)).unwrap_or(10);
            if !(1..=9).contains(&l) || sc.available(l) == 0 {
                return Err(RuleError::invalid(format!(
                    "{} has no level {} spell slot left.",
                    c.name,
                    l.min(10)
                )));
            }
            l
        }
        None => (1..=9u8)
            .find(|l| sc.available(*l) > 0)
            .ok_or_else(|| RuleError::invalid(format!("{} has no spell slots left.", c.name)))?,
    };
    combat::require_turn_part(em, c.id, ActionCost::Free)?;
    let kind = t
        .monster
        .as_ref()
        .and_then(|m| em.state.catalog.monsters.get(m))
        .map(|d| d.kind.clone())
        .unwrap_or_default();
    let extra = u8::from(matches!(kind.as_str(), "undead" | "fiend"));
    let dice = (1 + slot).min(5) + extra;
    em.public(EventKind::FeatureUsed {
        creature: c.id,
        feature: "divine-smite".into(),
        note: format!("level {slot} slot: +{dice}d8 radiant"),
        spent: u32::from(slot),
    });
    resolve::deal_damage(
        em,
        t.id,
        Some(c.id),
        &[DamagePart {
            dice: format!("{dice}d8"),
            damage_type: DamageType::Radiant,
        }],
        hit.critical,
    )?;
    combat::check_end(em);
    Ok(())
}

/// Wholeness of Body (Way of the Open Hand, monk 6th; an action, once a long rest):
/// three times the monk's level in hit points.
fn wholeness_of_body(em: &mut Emitter, c: &Creature, pc: &PcInfo) -> Result<(), RuleError> {
    needs(c, pc, "monk", 6, "Wholeness of Body")?;
    if uses_left(c, "wholeness-of-body") == 0 {
        return Err(spent_msg(c, "Wholeness of Body", "long"));
    }
    if em.state.in_combat() {
        combat::require_turn_part(em, c.id, ActionCost::Action)?;
    }
    let hp = 3 * u32::from(pc.level);
    em.public(EventKind::FeatureUsed {
        creature: c.id,
        feature: "wholeness-of-body".into(),
        note: format!("{hp} hit points"),
        spent: 0,
    });
    resolve::heal(em, c.id, Some(c.id), &hp.to_string())?;
    Ok(())
}

/// Hurl Through Hell (the Fiend, warlock 14th; once a long rest): after a hit this
/// turn, its target vanishes through the lower planes and comes back at the end of
/// the warlock's turn — told as 10d10 psychic damage to a creature that is not a
/// fiend (the vanishing itself is narrated).
fn hurl_through_hell(em: &mut Emitter, c: &Creature, pc: &PcInfo) -> Result<(), RuleError> {
    needs(c, pc, "warlock", 14, "Hurl Through Hell")?;
    in_fight(em, "Hurl Through Hell")?;
    if uses_left(c, "hurl-through-hell") == 0 {
        return Err(spent_msg(c, "Hurl Through Hell", "long"));
    }
    let Some(hit) = em.state.combat.as_ref().and_then(|k| k.budget.last_hit) else {
        return Err(RuleError::invalid(format!(
            "Hurl Through Hell follows a hit: {} has not hit a creature with an attack \
             this turn.",
            c.name
        )));
    };
    let t = em.creature(hit.target).clone();
    if t.is_down() {
        return Err(RuleError::invalid(format!(
            "{} is already down — Hurl Through Hell is kept.",
            t.name
        )));
    }
    combat::require_turn_part(em, c.id, ActionCost::Free)?;
    let fiend = t
        .monster
        .as_ref()
        .and_then(|m| em.state.catalog.monsters.get(m))
        .is_some_and(|d| d.kind == "fiend");
    em.public(EventKind::FeatureUsed {
        creature: c.id,
        feature: "hurl-through-hell".into(),
        note: if fiend {
            format!("{} is a fiend: no damage", t.name)
        } else {
            format!("{}: 10d10 psychic", t.name)
        },
        spent: 0,
    });
    if !fiend {
        resolve::deal_damage(
            em,
            t.id,
            Some(c.id),
            &[DamagePart {
                dice: "10d10".into(),
                damage_type: DamageType::Psychic,
            }],
            false,
        )?;
        combat::check_end(em);
    }
    Ok(())
}

/// Intimidating Presence (Path of the Berserker, barbarian 10th; an action): a foe
/// not far away makes a Wisdom save against 8 + proficiency + Cha or is frightened
/// until the end of the barbarian's next turn.
fn intimidating_presence(
    em: &mut Emitter,
    c: &Creature,
    pc: &PcInfo,
    target: Option<&str>,
) -> Result<(), RuleError> {
    needs(c, pc, "barbarian", 10, "Intimidating Presence")?;
    in_fight(em, "Intimidating Presence")?;
    let Some(target) = target else {
        return Err(RuleError::invalid(
            "Name whom to frighten: `use intimidating presence on NAME`.",
        ));
    };
    let t = super::find_creature(&em.state, target, |x| !x.dead)?;
    combat::require_in_this_fight(em, t)?;
    if super::position::range(&em.state, c.id, t) == super::position::Range::Far {
        return Err(RuleError::invalid(format!(
            "{} is too far away to be frightened.",
            em.creature(t).name
        )));
    }
    combat::require_turn_part(em, c.id, ActionCost::Action)?;
    let dc = 8 + c.proficiency_bonus + c.modifier(crate::ability::Ability::Cha);
    em.public(EventKind::FeatureUsed {
        creature: c.id,
        feature: "intimidating-presence".into(),
        note: format!("{}: Wisdom save DC {dc}", em.creature(t).name),
        spent: 0,
    });
    if resolve::saving_throw(
        em,
        t,
        crate::ability::Ability::Wis,
        crate::ability::Advantage::Normal,
        Some(dc),
    ) {
        return Ok(());
    }
    let cond = crate::condition::Condition::Frightened;
    let tc = em.creature(t);
    if tc.condition_immunities.contains(&cond)
        || tc.has_mark(|m| *m == crate::effect::Mark::ImmuneTo { condition: cond })
    {
        return Ok(());
    }
    let until = super::spells::until_of(em, c.id, t, crate::effect::Duration::EndOfCastersNextTurn);
    if !em.creature(t).has(cond) {
        em.public(EventKind::ConditionApplied {
            creature: t,
            condition: cond,
            source: Some(c.id),
        });
    }
    em.public(EventKind::EffectStarted {
        creature: t,
        effect: crate::creature::Effect::Spell(crate::effect::Active {
            by: c.id,
            mark: crate::effect::Mark::Condition { condition: cond },
            until,
            concentration: false,
            save_ends: None,
            ends_on: None,
        }),
    });
    Ok(())
}

/// Stunning Strike (monk 5th, 1 ki): after a melee hit this turn, its target makes a
/// Constitution save against the ki DC (8 + proficiency + Wis) or is stunned until
/// the end of the monk's next turn. One try a hit.
fn stunning_strike(em: &mut Emitter, c: &Creature, pc: &PcInfo) -> Result<(), RuleError> {
    needs(c, pc, "monk", 5, "Stunning Strike")?;
    ki_feature(em, c, pc, "stunning-strike")?;
    let hit = em.state.combat.as_ref().and_then(|k| k.budget.last_hit);
    let Some(hit) = hit.filter(|h| h.melee) else {
        return Err(RuleError::invalid(format!(
            "Stunning Strike follows a melee hit: {} has not hit in melee since its last \
             try this turn.",
            c.name
        )));
    };
    let t = em.creature(hit.target).clone();
    if t.is_down() {
        return Err(RuleError::invalid(format!(
            "{} is already down — the ki is kept.",
            t.name
        )));
    }
    combat::require_turn_part(em, c.id, ActionCost::Free)?;
    let dc = 8 + c.proficiency_bonus + c.modifier(crate::ability::Ability::Wis);
    em.public(EventKind::FeatureUsed {
        creature: c.id,
        feature: "stunning-strike".into(),
        note: format!("{}: Constitution save DC {dc}", t.name),
        spent: 1,
    });
    if resolve::saving_throw(
        em,
        t.id,
        crate::ability::Ability::Con,
        crate::ability::Advantage::Normal,
        Some(dc),
    ) {
        return Ok(());
    }
    let cond = crate::condition::Condition::Stunned;
    let immune = em.creature(t.id).condition_immunities.contains(&cond)
        || em
            .creature(t.id)
            .has_mark(|m| *m == crate::effect::Mark::ImmuneTo { condition: cond });
    if immune {
        return Ok(());
    }
    let until = super::spells::until_of(
        em,
        c.id,
        t.id,
        crate::effect::Duration::EndOfCastersNextTurn,
    );
    if !em.creature(t.id).has(cond) {
        em.public(EventKind::ConditionApplied {
            creature: t.id,
            condition: cond,
            source: Some(c.id),
        });
    }
    em.public(EventKind::EffectStarted {
        creature: t.id,
        effect: crate::creature::Effect::Spell(crate::effect::Active {
            by: c.id,
            mark: crate::effect::Mark::Condition { condition: cond },
            until,
            concentration: false,
            save_ends: None,
            ends_on: None,
        }),
    });
    if em.creature(t.id).concentration.is_some() {
        resolve::end_concentration(em, t.id);
    }
    Ok(())
}

/// Reckless Attack (barbarian 2nd): before the first attack of the turn; melee
/// attacks this turn have advantage, and attacks against the barbarian have advantage
/// until its next turn.
fn reckless_attack(em: &mut Emitter, c: &Creature, pc: &PcInfo) -> Result<(), RuleError> {
    needs(c, pc, "barbarian", 2, "Reckless Attack")?;
    in_fight(em, "Reckless Attack")?;
    let b = em
        .state
        .combat
        .as_ref()
        .map(|k| k.budget)
        .unwrap_or_default();
    if b.reckless {
        return Err(RuleError::invalid(format!(
            "{} is already attacking recklessly this turn.",
            c.name
        )));
    }
    if b.attacks_made > 0 || b.action_used {
        return Err(RuleError::invalid(format!(
            "Reckless Attack is chosen before the first attack of the turn, and {} has \
             already attacked or acted.",
            c.name
        )));
    }
    combat::require_turn_part(em, c.id, ActionCost::Free)?;
    em.public(EventKind::FeatureUsed {
        creature: c.id,
        feature: "reckless-attack".into(),
        note: "advantage on melee attacks; attacks against have advantage".into(),
        spent: 0,
    });
    let until = super::spells::until_of(
        em,
        c.id,
        c.id,
        crate::effect::Duration::StartOfCastersNextTurn,
    );
    em.public(EventKind::EffectStarted {
        creature: c.id,
        effect: crate::creature::Effect::Spell(crate::effect::Active {
            by: c.id,
            mark: crate::effect::Mark::AttackedWithAdvantage,
            until,
            concentration: false,
            save_ends: None,
            ends_on: None,
        }),
    });
    Ok(())
}

/// Whether `attacker`'s melee attack now has Reckless Attack's advantage.
pub(crate) fn reckless(em: &Emitter, attacker: CreatureId, reach: Reach) -> bool {
    reach == Reach::Melee
        && em
            .state
            .combat
            .as_ref()
            .is_some_and(|k| k.budget.reckless && k.active_creature() == Some(attacker))
}

/// Cunning Action (rogue 2nd): Dash, Disengage or Hide as a bonus action.
fn cunning_action(
    em: &mut Emitter,
    c: &Creature,
    pc: &PcInfo,
    sub: Option<&str>,
) -> Result<(), RuleError> {
    needs(c, pc, "rogue", 2, "Cunning Action")?;
    let via = Some(("cunning-action", 0));
    match sub {
        Some("dash") => combat::dash(em, c.id, via),
        Some("disengage") => combat::disengage(em, c.id, via),
        Some("hide") => combat::hide(em, c.id, via),
        _ => Err(RuleError::invalid(
            "Cunning Action is a Dash, a Disengage or a Hide: `use cunning action dash`.",
        )),
    }
}

/// A ki feature's common checks: a monk of 2nd level with a ki point left.
fn ki_feature(em: &Emitter, c: &Creature, pc: &PcInfo, what: &str) -> Result<(), RuleError> {
    let name = what.replace('-', " ");
    needs(c, pc, "monk", 2, &name)?;
    in_fight(em, &name)?;
    if uses_left(c, "ki") == 0 {
        return Err(spent_msg(c, "ki points", "short"));
    }
    Ok(())
}

/// Step of the Wind (monk 2nd, 1 ki): Disengage or Dash as a bonus action (Dash when
/// not named).
fn step_of_the_wind(
    em: &mut Emitter,
    c: &Creature,
    pc: &PcInfo,
    sub: Option<&str>,
) -> Result<(), RuleError> {
    ki_feature(em, c, pc, "step-of-the-wind")?;
    let via = Some(("step-of-the-wind", 1));
    match sub {
        None | Some("dash") => combat::dash(em, c.id, via),
        Some("disengage") => combat::disengage(em, c.id, via),
        Some(_) => Err(RuleError::invalid(
            "Step of the Wind is a Dash or a Disengage: `use step of the wind disengage`.",
        )),
    }
}

/// The monk's unarmed strike: the Martial Arts die + the better of Str and Dex.
pub fn unarmed_strike(c: &Creature, level: u8) -> Attack {
    let m =
        crate::ability::modifier(c.abilities.str).max(crate::ability::modifier(c.abilities.dex));
    Attack {
        name: "Unarmed Strike".into(),
        to_hit: m + c.proficiency_bonus,
        reach: Reach::Melee,
        damage: vec![DamagePart {
            dice: crate::character::with_modifier(
                &format!("1d{}", crate::features::martial_arts_die(level)),
                m,
            ),
            damage_type: DamageType::Bludgeoning,
        }],
        save: None,
        usage: None,
        rider: None,
        area: false,
    }
}

/// Flurry of Blows (monk 2nd, 1 ki): after the Attack action, two unarmed strikes as a
/// bonus action (at the named foe, or the one last hit this turn). It ends the Attack
/// action (an attack of it not yet made is given up).
fn flurry_of_blows(
    em: &mut Emitter,
    c: &Creature,
    pc: &PcInfo,
    target: Option<&str>,
) -> Result<(), RuleError> {
    ki_feature(em, c, pc, "flurry-of-blows")?;
    unarmed_strikes(em, c, pc, target, "flurry-of-blows", 2)
}

/// Martial Arts (monk 1st): after the Attack action, one unarmed strike as a bonus
/// action, no ki (at the named foe, or the one last hit this turn).
fn martial_arts(
    em: &mut Emitter,
    c: &Creature,
    pc: &PcInfo,
    target: Option<&str>,
) -> Result<(), RuleError> {
    needs(c, pc, "monk", 1, "Martial Arts")?;
    in_fight(em, "Martial Arts' bonus strike")?;
    unarmed_strikes(em, c, pc, target, "martial-arts", 1)
}

/// The bonus action's unarmed strikes after the Attack action (Flurry of Blows: two
/// for a ki point; Martial Arts: one).
fn unarmed_strikes(
    em: &mut Emitter,
    c: &Creature,
    pc: &PcInfo,
    target: Option<&str>,
    feature: &str,
    n: u8,
) -> Result<(), RuleError> {
    let label = if feature == "flurry-of-blows" {
        "Flurry of Blows"
    } else {
        "Martial Arts' bonus strike"
    };
    let b = em
        .state
        .combat
        .as_ref()
        .map(|k| k.budget)
        .unwrap_or_default();
    if b.attacks_made == 0 {
        return Err(RuleError::invalid(format!(
            "{label} follows the Attack action: {} has not attacked this turn.",
            c.name
        )));
    }
    let t = match target {
        Some(t) => super::find_creature(&em.state, t, |x| x.id != c.id && !x.dead)?,
        None => b.last_hit.map(|h| h.target).ok_or_else(|| {
            RuleError::invalid(format!(
                "Name the target: `use {} on NAME`.",
                feature.replace('-', " ")
            ))
        })?,
    };
    if em.creature(t).is_down() && !em.creature(t).is_pc() {
        return Err(RuleError::invalid(format!(
            "{} is already down.",
            em.creature(t).name
        )));
    }
    combat::require_in_this_fight(em, t)?;
    combat::require_turn_part(em, c.id, ActionCost::BonusAction)?;
    let atk = unarmed_strike(c, pc.level);
    // Refuse an unreachable target before spending the ki.
    super::position::approach(em, c.id, t, Reach::Melee)?;
    em.public(EventKind::FeatureUsed {
        creature: c.id,
        feature: feature.into(),
        note: if n == 1 {
            "an unarmed strike".into()
        } else {
            "two unarmed strikes".into()
        },
        spent: u32::from(feature == "flurry-of-blows"),
    });
    for _ in 0..n {
        if !em.state.in_combat()
            || em.creature(t).dead
            || em.creature(t).is_down() && !em.creature(t).is_pc()
        {
            break;
        }
        let approach = super::position::approach(em, c.id, t, Reach::Melee)?;
        let outcome = resolve::attack_roll(em, c.id, t, &atk.name, atk.to_hit, atk.reach, approach);
        if outcome.is_hit() {
            combat::hit_with(em, c.id, t, &atk, outcome)?;
        }
        combat::check_end(em);
    }
    Ok(())
}

/// Breath Weapon (dragonborn): an action, once a short rest; the ancestry's damage
/// (2d6, 3d6 at 6th level, 4d6 at 11th, 5d6 at 16th) to the creature aimed at and every
/// creature engaged with it (allies too: the area does not choose), a Dexterity save
/// (Constitution for cold and poison) against 8 + Con + proficiency, half on a
/// success; one damage roll for all. Evasion applies to the Dexterity save.
fn breath_weapon(
    em: &mut Emitter,
    c: &Creature,
    pc: &PcInfo,
    target: Option<&str>,
) -> Result<(), RuleError> {
    if pc.race != "dragonborn" {
        return Err(RuleError::invalid(format!(
            "Breath Weapon is a dragonborn's trait, and {} is a {}.",
            c.name, pc.race
        )));
    }
    use DamageType::*;
    let Some(kind) = c
        .resistances
        .iter()
        .copied()
        .find(|d| matches!(d, Acid | Lightning | Fire | Poison | Cold))
    else {
        return Err(RuleError::invalid(format!(
            "{} has no draconic ancestry (chosen at creation) to breathe.",
            c.name
        )));
    };
    if uses_left(c, "breath-weapon") == 0 {
        return Err(spent_msg(c, "Breath Weapon", "short"));
    }
    let Some(target) = target else {
        return Err(RuleError::invalid(
            "Name whom to breathe on: `use breath weapon on NAME`.",
        ));
    };
    let t = super::find_creature(&em.state, target, |x| x.id != c.id && !x.dead)?;
    combat::require_in_this_fight(em, t)?;
    combat::require_turn_part(em, c.id, ActionCost::Action)?;
    let ability = if matches!(kind, Cold | Poison) {
        crate::ability::Ability::Con
    } else {
        crate::ability::Ability::Dex
    };
    let dc = 8 + crate::ability::modifier(c.abilities.con) + c.proficiency_bonus;
    let n = crate::features::breath_dice(pc.level);
    em.public(EventKind::FeatureUsed {
        creature: c.id,
        feature: "breath-weapon".into(),
        note: format!("{n}d6 {kind}, DC {dc} {ability} save"),
        spent: 0,
    });
    let roll = crate::dice::roll(&format!("{n}d6"), em.dice)?;
    let rolls = [(kind, roll)];
    let caught = super::position::caught_by_area(&em.state, c.id, &[t]);
    for x in caught {
        if em.creature(x).dead {
            continue;
        }
        let ok = resolve::saving_throw(em, x, ability, Default::default(), Some(dc));
        let evasion =
            ability == crate::ability::Ability::Dex && crate::features::evasion(em.creature(x));
        match (ok, evasion) {
            (true, true) => {}
            (true, false) | (false, true) => {
                resolve::deal_rolled(em, x, Some(c.id), &rolls, false, true);
            }
            (false, false) => {
                resolve::deal_rolled(em, x, Some(c.id), &rolls, false, false);
            }
        }
    }
    combat::check_end(em);
    Ok(())
}

/// Arcane Recovery (wizard 1st): once a day, out of a fight (after a short rest),
/// expended slots of 5th level or lower whose levels add up to at most half the
/// wizard's level (rounded up) come back: the highest expended first, at most `max`
/// level when asked ("arcane recovery 2": slots of 2nd level and below).
fn arcane_recovery(
    em: &mut Emitter,
    c: &Creature,
    pc: &PcInfo,
    max: Option<u32>,
) -> Result<(), RuleError> {
    // Natural Recovery (Circle of the Land, druid 2nd): the druid's Arcane Recovery.
    let (name, key) = if pc.class == "druid" {
        needs(c, pc, "druid", 2, "Natural Recovery")?;
        ("Natural Recovery", "natural-recovery")
    } else {
        needs(c, pc, "wizard", 1, "Arcane Recovery")?;
        ("Arcane Recovery", "arcane-recovery")
    };
    if em.state.in_combat() {
        return Err(RuleError::WrongMode(format!(
            "{name} is used after a short rest, not in a fight."
        )));
    }
    if uses_left(c, key) == 0 {
        return Err(spent_msg(c, name, "long"));
    }
    let Some(sc) = c.spellcasting.as_ref() else {
        return Err(RuleError::invalid(format!(
            "{} has no spell slots.",
            c.name
        )));
    };
    let mut budget = u32::from(pc.level).div_ceil(2);
    let top = max.map_or(5, |m| m.clamp(1, 5)) as u8;
    let mut back = Vec::new();
    let mut used = sc.used_slots;
    for l in (1..=top).rev() {
        let i = usize::from(l - 1);
        while used[i] > 0 && u32::from(l) <= budget {
            used[i] -= 1;
            budget -= u32::from(l);
            back.push(l);
        }
    }
    if back.is_empty() {
        return Err(RuleError::invalid(format!(
            "{} has no expended spell slot that {name} can bring back.",
            c.name
        )));
    }
    let list: Vec<String> = back.iter().map(|l| format!("level {l}")).collect();
    em.public(EventKind::FeatureUsed {
        creature: c.id,
        feature: key.into(),
        note: list.join(", "),
        spent: 0,
    });
    for l in back {
        em.public(EventKind::FeatureUsed {
            creature: c.id,
            feature: format!("{key}-slot"),
            note: format!("a level {l} slot back"),
            spent: u32::from(l),
        });
    }
    Ok(())
}

/// Channel Divinity's common checks: a cleric of 2nd level with a use left.
fn channel(c: &Creature, pc: &PcInfo, what: &str) -> Result<(), RuleError> {
    needs(c, pc, "cleric", 2, what)?;
    if uses_left(c, "channel-divinity") == 0 {
        return Err(spent_msg(c, "Channel Divinity", "short"));
    }
    Ok(())
}

/// The highest challenge rating Destroy Undead destroys at a cleric level.
fn destroy_undead_cr(level: u8) -> Option<f64> {
    match level {
        0..=4 => None,
        5..=7 => Some(0.5),
        8..=10 => Some(1.0),
        11..=13 => Some(2.0),
        14..=16 => Some(3.0),
        _ => Some(4.0),
    }
}

/// Channel Divinity: Turn Undead (cleric 2nd, an action): every undead foe in the fight
/// that is not far away makes a Wisdom save against the cleric's spell DC; on a failure
/// it is turned for a minute (frightened, no reactions; that damage ends it early is
/// left to the GM), and from 5th level (Destroy Undead) one of a low enough challenge
/// rating is destroyed instead.
fn turn_undead(em: &mut Emitter, c: &Creature, pc: &PcInfo) -> Result<(), RuleError> {
    channel(c, pc, "Turn Undead")?;
    turn(em, c, pc, "Turn Undead", &["undead"])
}

/// Turn the Unholy (Oath of Devotion, paladin 3rd; Channel Divinity, an action): as
/// Turn Undead, for fiends and undead, and none destroyed.
fn turn_the_unholy(em: &mut Emitter, c: &Creature, pc: &PcInfo) -> Result<(), RuleError> {
    needs(c, pc, "paladin", 3, "Turn the Unholy")?;
    if uses_left(c, "channel-divinity") == 0 {
        return Err(spent_msg(c, "Channel Divinity", "short"));
    }
    turn(em, c, pc, "Turn the Unholy", &["fiend", "undead"])
}

/// Turning (Turn Undead, Turn the Unholy): each foe of `kinds` not far away makes a
/// Wisdom save against the spell DC or is turned (frightened, no reactions) for a
/// minute; a cleric's Destroy Undead destroys the low ones instead.
fn turn(
    em: &mut Emitter,
    c: &Creature,
    pc: &PcInfo,
    what: &str,
    kinds: &[&str],
) -> Result<(), RuleError> {
    in_fight(em, what)?;
    let dc = c.spell_save_dc().unwrap_or(8 + c.proficiency_bonus);
    let undead: Vec<(CreatureId, f64)> = em
        .state
        .combatants()
        .filter(|x| !x.is_down() && !x.dead && super::position::hostile(c, x))
        .filter(|x| super::position::range(&em.state, c.id, x.id) != super::position::Range::Far)
        .filter_map(|x| {
            let d = em.state.catalog.monsters.get(x.monster.as_ref()?)?;
            kinds
                .contains(&d.kind.as_str())
                .then_some((x.id, d.challenge_rating))
        })
        .collect();
    if undead.is_empty() {
        return Err(RuleError::invalid(format!(
            "No {} foe within reach of {}'s holy symbol.",
            kinds.join(" or "),
            c.name
        )));
    }
    combat::require_turn_part(em, c.id, ActionCost::Action)?;
    em.public(EventKind::FeatureUsed {
        creature: c.id,
        feature: crate::data::to_index(what),
        note: format!("DC {dc} Wisdom save"),
        spent: 0,
    });
    let destroy = if pc.class == "cleric" {
        destroy_undead_cr(pc.level)
    } else {
        None
    };
    for (t, cr) in undead {
        if resolve::saving_throw(
            em,
            t,
            crate::ability::Ability::Wis,
            Default::default(),
            Some(dc),
        ) {
            continue;
        }
        if destroy.is_some_and(|max| cr <= max) {
            em.public(EventKind::FeatureUsed {
                creature: c.id,
                feature: "destroy-undead".into(),
                note: em.creature(t).name.clone(),
                spent: 0,
            });
            em.public(EventKind::HitPointsSet { target: t, hp: 0 });
            em.public(EventKind::Died { creature: t });
            continue;
        }
        let until = super::spells::until_of(em, c.id, t, crate::effect::Duration::Rounds(10));
        let cond = crate::condition::Condition::Frightened;
        if !em.creature(t).condition_immunities.contains(&cond) {
            if !em.creature(t).has(cond) {
                em.public(EventKind::ConditionApplied {
                    creature: t,
                    condition: cond,
                    source: Some(c.id),
                });
            }
            for mark in [
                crate::effect::Mark::Condition { condition: cond },
                crate::effect::Mark::NoReactions,
            ] {
                em.public(EventKind::EffectStarted {
                    creature: t,
                    effect: crate::creature::Effect::Spell(crate::effect::Active {
                        by: c.id,
                        mark,
                        until,
                        concentration: false,
                        save_ends: None,
                        ends_on: None,
                    }),
                });
            }
        }
    }
    combat::check_end(em);
    Ok(())
}

/// Channel Divinity: Preserve Life (Life Domain, cleric 2nd, an action): five hit
/// points a cleric level, shared among the wounded party members (the most hurt
/// first), none raised above half its hit point maximum; undead and constructs get
/// none.
fn preserve_life(em: &mut Emitter, c: &Creature, pc: &PcInfo) -> Result<(), RuleError> {
    channel(c, pc, "Preserve Life")?;
    let mut wounded: Vec<(CreatureId, i32, i32)> = em
        .state
        .creatures
        .values()
        .filter(|x| x.is_pc() && !x.dead)
        // In a fight, those in it.
        .filter(|x| {
            em.state
                .combat
                .as_ref()
                .is_none_or(|k| k.order.iter().any(|e| e.creature == x.id))
        })
        .map(|x| (x.id, x.hp.max(0), x.effective_max_hp() / 2))
        .filter(|(_, hp, half)| hp < half)
        .collect();
    if wounded.is_empty() {
        return Err(RuleError::invalid(
            "Preserve Life heals only creatures below half their hit points, and nobody is.",
        ));
    }
    combat::require_turn_part(em, c.id, ActionCost::Action)?;
    wounded.sort_by_key(|(id, hp, half)| (*hp - *half, *id));
    let mut pool = 5 * i32::from(pc.level);
    em.public(EventKind::FeatureUsed {
        creature: c.id,
        feature: "preserve-life".into(),
        note: format!("{pool} hit points"),
        spent: 0,
    });
    for (t, hp, half) in wounded {
        let amount = (half - hp).min(pool);
        if amount <= 0 {
            break;
        }
        pool -= amount;
        let was_down = em.creature(t).hp <= 0;
        em.public(EventKind::HealingReceived {
            target: t,
            source: Some(c.id),
            breakdown: format!("Preserve Life {amount}"),
            amount,
        });
        if was_down {
            resolve::wake_up(em, t);
        }
    }
    Ok(())
}

/// Channel Divinity: Sacred Weapon (Oath of Devotion, paladin 3rd, an action): for a
/// minute the paladin's weapon attack rolls get its Charisma modifier (at least +1).
fn sacred_weapon(em: &mut Emitter, c: &Creature, pc: &PcInfo) -> Result<(), RuleError> {
    needs(c, pc, "paladin", 3, "Sacred Weapon")?;
    if uses_left(c, "channel-divinity") == 0 {
        return Err(spent_msg(c, "Channel Divinity", "short"));
    }
    in_fight(em, "Sacred Weapon")?;
    combat::require_turn_part(em, c.id, ActionCost::Action)?;
    let amount = crate::ability::modifier(c.abilities.cha).max(1);
    em.public(EventKind::FeatureUsed {
        creature: c.id,
        feature: "sacred-weapon".into(),
        note: format!("+{amount} to weapon attack rolls for a minute"),
        spent: 0,
    });
    let until = super::spells::until_of(em, c.id, c.id, crate::effect::Duration::Rounds(10));
    em.public(EventKind::EffectStarted {
        creature: c.id,
        effect: crate::creature::Effect::Spell(crate::effect::Active {
            by: c.id,
            mark: crate::effect::Mark::AttackBonus { amount },
            until,
            concentration: false,
            save_ends: None,
            ends_on: None,
        }),
    });
    Ok(())
}

/// Sacred Weapon's bonus to a creature's weapon attack rolls (the largest one).
pub(crate) fn sacred_weapon_bonus(c: &Creature) -> i32 {
    c.marks()
        .filter_map(|a| match a.mark {
            crate::effect::Mark::AttackBonus { amount } => Some(amount.clamp(0, 10)),
            _ => None,
        })
        .max()
        .unwrap_or(0)
}

/// Indomitable (fighter 9th: once a long rest, twice from 13th, three times from
/// 17th): a failed saving throw is rolled again, and the new roll used — by itself, on
/// the first failed save while a use is left.
pub(crate) fn indomitable(em: &Emitter, who: CreatureId) -> bool {
    em.state.creatures.get(&who).is_some_and(|c| {
        c.pc.as_ref()
            .is_some_and(|p| p.class == "fighter" && p.level >= 9)
            && uses_left(c, "indomitable") > 0
    })
}

/// Aura of Protection (paladin 6th): the paladin and friendly creatures within 10 ft
/// add its Charisma modifier (at least +1) to saves while it is conscious. Without a
/// grid: the paladin itself, and in a fight an ally engaged with a creature the
/// paladin is engaged with (side by side in the melee); out of a fight the whole party
/// (standing together). Auras don't stack: the largest counts.
pub(crate) fn aura_of_protection(state: &crate::state::CampaignState, who: CreatureId) -> i32 {
    let Some(me) = state.creatures.get(&who) else {
        return 0;
    };
    state
        .creatures
        .values()
        .filter(|p| {
            p.pc.as_ref()
                .is_some_and(|pc| pc.class == "paladin" && pc.level >= 6)
                && p.can_act()
                && p.is_pc() == me.is_pc()
        })
        .filter(|p| {
            if p.id == who {
                return true;
            }
            let Some(k) = state.combat.as_ref() else {
                return true;
            };
            let in_fight = |id| k.order.iter().any(|e| e.creature == id);
            if !in_fight(p.id) || !in_fight(who) {
                return false;
            }
            let mine = super::position::engaged_with(state, who);
            super::position::engaged_with(state, p.id)
                .iter()
                .any(|x| mine.contains(x))
        })
        .map(|p| crate::ability::modifier(p.abilities.cha).max(1))
        .max()
        .unwrap_or(0)
}

/// Wild Shape (druid 2nd, two uses a short rest): an action to take the shape of an
/// SRD beast of a low enough challenge rating (1/4, 1/2 at 4th, 1 at 8th; flying and
/// swimming limits are not checked: the data has walking speeds only); `use wild
/// shape` again (a bonus action) returns to the druid's form. At 0 hit points the
/// beast form drops and the rest of the damage carries over; a rest ends it too.
fn wild_shape(
    em: &mut Emitter,
    c: &Creature,
    pc: &PcInfo,
    beast: Option<&str>,
) -> Result<(), RuleError> {
    needs(c, pc, "druid", 2, "Wild Shape")?;
    if pc.wild_shape.is_some() {
        let cost = if em.state.in_combat() {
            ActionCost::BonusAction
        } else {
            ActionCost::Free
        };
        combat::require_turn_part(em, c.id, cost)?;
        em.public(EventKind::FeatureUsed {
            creature: c.id,
            feature: "wild-shape-revert".into(),
            note: "back to druid form".into(),
            spent: 0,
        });
        em.public(EventKind::WildShape {
            creature: c.id,
            beast: None,
        });
        return Ok(());
    }
    if uses_left(c, "wild-shape") == 0 {
        return Err(spent_msg(c, "Wild Shape", "short"));
    }
    let Some(beast) = beast.map(str::trim).filter(|b| !b.is_empty()) else {
        return Err(RuleError::invalid("Name the beast: `use wild shape wolf`."));
    };
    let want = crate::data::to_index(beast);
    let want = want
        .strip_prefix("into-")
        .or_else(|| want.strip_prefix("a-"))
        .unwrap_or(&want)
        .to_string();
    let Some(m) = em
        .state
        .catalog
        .monsters
        .get(&want)
        .or_else(|| {
            em.state
                .catalog
                .monsters
                .values()
                .find(|m| m.name.eq_ignore_ascii_case(beast))
        })
        .cloned()
    else {
        return Err(RuleError::UnknownTarget {
            what: "beast",
            name: crate::error::echo(beast),
        });
    };
    if m.kind != "beast" {
        return Err(RuleError::invalid(format!(
            "Wild Shape takes a beast's shape; a {} is a {}.",
            m.name, m.kind
        )));
    }
    let max = crate::features::wild_shape_max_cr(pc.level);
    if m.challenge_rating > max {
        return Err(RuleError::invalid(format!(
            "A level {} druid's Wild Shape takes beasts of challenge rating {} or lower; a {} is {}.",
            pc.level,
            cr_text(max),
            m.name,
            cr_text(m.challenge_rating)
        )));
    }
    let cost = if em.state.in_combat() {
        ActionCost::Action
    } else {
        ActionCost::Free
    };
    combat::require_turn_part(em, c.id, cost)?;
    if c.concentration.is_some() {
        // Concentration goes on in beast form; no new spells are cast in it.
    }
    em.public(EventKind::FeatureUsed {
        creature: c.id,
        feature: "wild-shape".into(),
        note: m.name.clone(),
        spent: 0,
    });
    em.public(EventKind::WildShape {
        creature: c.id,
        beast: Some(m.index.clone()),
    });
    Ok(())
}

fn cr_text(cr: f64) -> String {
    if cr == 0.25 {
        "1/4".into()
    } else if cr == 0.5 {
        "1/2".into()
    } else if cr == 0.125 {
        "1/8".into()
    } else {
        format!("{cr}")
    }
}

/// The beast form dropped to 0 hit points (Wild Shape): the druid returns to its
/// form, and the damage beyond the beast's hit points (`overflow`) carries over.
/// Returns whether it was in a beast's shape.
pub(crate) fn wild_shape_dropped(
    em: &mut Emitter,
    t: CreatureId,
    source: Option<CreatureId>,
    overflow: i32,
) -> bool {
    if !super::shapes::in_shape(em.creature(t)) {
        return false;
    }
    let damage_type = em
        .events
        .iter()
        .rev()
        .find_map(|e| match &e.kind {
            EventKind::DamageDealt {
                target,
                damage_type,
                ..
            } if *target == t => Some(*damage_type),
            _ => None,
        })
        .unwrap_or(DamageType::Bludgeoning);
    em.public(EventKind::FeatureUsed {
        creature: t,
        feature: "wild-shape-dropped".into(),
        note: format!("the beast form drops; {overflow} damage carries over"),
        spent: 0,
    });
    em.public(EventKind::WildShape {
        creature: t,
        beast: None,
    });
    if overflow > 0 {
        let roll = crate::dice::Roll {
            expr: overflow.to_string(),
            total: i64::from(overflow),
            breakdown: format!("{overflow} carried over = {overflow}"),
            crit: crate::dice::Crit::None,
            dice: Vec::new(),
        };
        resolve::deal_rolled(em, t, source, &[(damage_type, roll)], false, false);
    }
    true
}
