//! The rules of class features and racial traits (the list and which are automated is
//! [`crate::features`]): features used by name (`use second wind`), and the hooks the
//! attack, damage and d20 paths call.

use super::{Emitter, resolve};
use crate::ability::Advantage;
use crate::creature::{Attack, Creature, Effect};
use crate::data::{DamagePart, DamageType, Reach, to_index};
use crate::effect::{Active, Mark, Until};
use crate::error::RuleError;
use crate::event::{ActionCost, AttackOutcome, EventKind};
use crate::features::{Automation, class_features, rage_damage, uses};
use crate::ids::CreatureId;

/// How many uses of a limited feature are left.
fn left(c: &Creature, feature: &str) -> Option<u32> {
    let (max, _) = uses(c, feature)?;
    let spent =
        c.pc.as_ref()
            .and_then(|p| p.uses.get(feature))
            .copied()
            .unwrap_or(0);
    Some(max.saturating_sub(spent))
}

/// `use FEATURE`: Second Wind, Action Surge, Rage.
pub(crate) fn use_feature(
    em: &mut Emitter,
    me: CreatureId,
    name: &str,
    target: Option<&str>,
    amount: Option<u32>,
) -> Result<(), RuleError> {
    let c = em.creature(me).clone();
    let Some(pc) = c.pc.clone() else {
        return Err(RuleError::invalid(
            "Only player characters have class features.",
        ));
    };
    let want = to_index(name);
    let want = want.strip_prefix("use-").unwrap_or(&want).to_string();
    if c.is_down() || c.conditions.keys().any(|k| k.incapacitates()) {
        return Err(RuleError::CannotAct {
            who: c.name.clone(),
            why: "incapacitated".into(),
        });
    }
    if let Some(r) = super::class_actions::try_use(em, me, &want, target, amount) {
        return r;
    }
    if let Some(r) = super::class_options::try_use(em, me, &want, target, amount) {
        return r;
    }
    let known = class_features(&pc.class, pc.level).find(|f| to_index(f.name) == want);
    let spent_msg = |what: &str, rest: &str| {
        RuleError::invalid(format!(
            "{} has no {what} left — it comes back after a {rest} rest.",
            c.name
        ))
    };
    match want.as_str() {
        "second-wind" | "action-surge" | "rage" | "lay-on-hands" | "wild-shape"
        | "channel-divinity" | "bardic-inspiration" => {}
        _ => {
            return Err(RuleError::invalid(match known {
                Some(f) if f.automation == Automation::Narrative => format!(
                    "{} is told by the narrator, not used as a command — say what you do \
                     (`do …`).",
                    f.name
                ),
                Some(f) => format!("{} applies by itself.", f.name),
                None => format!(
                    "{} has no feature called \"{}\" (features used by name: second wind, \
                     action surge, rage, lay on hands, wild shape, channel divinity, bardic \
                     inspiration, {}).",
                    c.name,
                    crate::error::echo(name),
                    super::class_actions::NAMES.join(", ")
                ),
            }));
        }
    }
    let known = known.or_else(|| {
        // Channel Divinity is listed under its uses (Turn Undead, Sacred Weapon).
        (want == "channel-divinity")
            .then(|| {
                class_features(&pc.class, pc.level)
                    .find(|f| f.note.contains("Channel Divinity") || f.name == "Channel Divinity")
            })
            .flatten()
    });
    let Some(feature) = known else {
        return Err(RuleError::invalid(format!(
            "A level {} {} doesn't have {}.",
            pc.level,
            pc.class,
            want.replace('-', " ")
        )));
    };
    let in_combat = em.state.in_combat();
    match want.as_str() {
        "second-wind" => {
            if left(&c, &want) == Some(0) {
                return Err(spent_msg("Second Wind", "short"));
            }
            super::combat::require_turn_part(em, me, ActionCost::BonusAction)?;
            let roll = crate::dice::roll(&format!("1d10+{}", pc.level), em.dice)?;
            em.public(EventKind::FeatureUsed {
                creature: me,
                feature: want.clone(),
                note: String::new(),
                spent: 0,
            });
            let missing = (c.effective_max_hp() - c.hp.max(0)).max(0);
            let amount = (roll.total.clamp(0, 1_000) as i32).min(missing);
            let was_down = c.hp <= 0;
            em.public(EventKind::HealingReceived {
                target: me,
                source: Some(me),
                breakdown: roll.breakdown,
                amount,
            });
            if was_down && amount > 0 {
                resolve::wake_up(em, me);
            }
        }
        "action-surge" => {
            if !in_combat {
                return Err(RuleError::WrongMode(
                    "Action Surge only matters in a fight.".into(),
                ));
            }
            if left(&c, &want) == Some(0) {
                return Err(spent_msg("Action Surge", "short"));
            }
            let b = em.state.combat.as_ref().map(|k| k.budget);
            if b.is_some_and(|b| !b.action_used) {
                return Err(RuleError::invalid(format!(
                    "{} still has this turn's action — Action Surge gives one more after it.",
                    c.name
                )));
            }
            super::combat::require_turn_part(em, me, ActionCost::Free)?;
            em.public(EventKind::FeatureUsed {
                creature: me,
                feature: want.clone(),
                note: "one more action this turn".into(),
                spent: 0,
            });
        }
        "rage" => {
            if !in_combat {
                return Err(RuleError::WrongMode("Rage only matters in a fight.".into()));
            }
            if raging(&c) {
                return Err(RuleError::invalid(format!("{} is already raging.", c.name)));
            }
            if left(&c, &want) == Some(0) {
                return Err(spent_msg("Rage", "long"));
            }
            super::combat::require_turn_part(em, me, ActionCost::BonusAction)?;
            let round = em.state.combat.as_ref().map_or(0, |k| k.round);
            em.public(EventKind::FeatureUsed {
                creature: me,
                feature: want.clone(),
                note: format!("+{} melee damage", rage_damage(pc.level)),
                spent: 0,
            });
            // Mindless Rage (6th): no charm or fear while raging.
            let mindless = if pc.level >= 6 {
                vec![
                    Mark::ImmuneTo {
                        condition: crate::condition::Condition::Charmed,
                    },
                    Mark::ImmuneTo {
                        condition: crate::condition::Condition::Frightened,
                    },
                ]
            } else {
                vec![]
            };
            for mark in [
                DamageType::Bludgeoning,
                DamageType::Piercing,
                DamageType::Slashing,
            ]
            .map(|damage_type| Mark::Resist { damage_type })
            .into_iter()
            .chain(mindless)
            {
                em.public(EventKind::EffectStarted {
                    creature: me,
                    effect: Effect::Spell(Active {
                        by: me,
                        mark,
                        // One minute: ten rounds.
                        until: Until::TurnStart {
                            who: me,
                            round: round.saturating_add(10),
                        },
                        concentration: false,
                        save_ends: None,
                        ends_on: None,
                    }),
                });
            }
        }
        "lay-on-hands" => {
            let pool = left(&c, &want).unwrap_or(0);
            if pool == 0 {
                return Err(spent_msg("Lay on Hands", "long"));
            }
            let t = match target {
                Some(t) => super::find_creature(&em.state, t, |x| !x.dead)?,
                None => me,
            };
            let tc = em.creature(t).clone();
            if tc.monster.as_ref().is_some_and(|m| {
                em.state
                    .catalog
                    .monsters
                    .get(m)
                    .is_some_and(|d| matches!(d.kind.as_str(), "undead" | "construct"))
            }) {
                return Err(RuleError::invalid(format!(
                    "Lay on Hands does nothing to undead and constructs like {}.",
                    tc.name
                )));
            }
            let missing = (tc.effective_max_hp() - tc.hp.max(0)).max(0) as u32;
            let want_hp = amount.unwrap_or(missing.min(pool));
            if want_hp == 0 {
                return Err(RuleError::invalid(format!(
                    "{} is not missing any hit points.",
                    tc.name
                )));
            }
            if want_hp > pool {
                return Err(RuleError::invalid(format!(
                    "{}'s Lay on Hands pool has {pool} hit points left.",
                    c.name
                )));
            }
            super::combat::require_turn_part(em, me, ActionCost::Action)?;
            em.public(EventKind::FeatureUsed {
                creature: me,
                feature: want.clone(),
                note: format!("{want_hp} of {pool} hit points"),
                spent: want_hp,
            });
            let amount = (want_hp.min(missing)) as i32;
            em.public(EventKind::HealingReceived {
                target: t,
                source: Some(me),
                breakdown: format!("Lay on Hands {want_hp}"),
                amount,
            });
            if tc.hp <= 0 && amount > 0 {
                resolve::wake_up(em, t);
            }
        }
        "bardic-inspiration" => bardic_inspiration(em, &c, &pc, target)?,
        // Tracked uses; what they do is told by the narrator and ruled by the GM.
        "channel-divinity" => {
            let label = if want == "channel-divinity" {
                "Channel Divinity"
            } else {
                feature.name
            };
            match left(&c, &want) {
                None => {
                    return Err(RuleError::invalid(format!(
                        "A level {} {} doesn't have {}.",
                        pc.level,
                        pc.class,
                        want.replace('-', " ")
                    )));
                }
                Some(0) => {
                    let rest = match crate::features::recharge(&pc.class, pc.level, &want) {
                        Some(crate::event::RestKind::Short) => "short",
                        _ => "long",
                    };
                    return Err(spent_msg(label, rest));
                }
                Some(_) => {}
            }
            super::combat::require_turn_part(em, me, ActionCost::Action)?;
            em.public(EventKind::FeatureUsed {
                creature: me,
                feature: want.clone(),
                note: target.map(crate::error::echo).unwrap_or_default(),
                spent: 0,
            });
        }
        _ => unreachable!("checked above: {}", feature.name),
    }
    Ok(())
}

/// The Bardic Inspiration die at a bard level: d6, d8 at 5th, d10 at 10th, d12 at 15th.
pub fn inspiration_die(level: u8) -> u8 {
    match level {
        0..=4 => 6,
        5..=9 => 8,
        10..=14 => 10,
        _ => 12,
    }
}

/// Bardic Inspiration (bard 1st, a bonus action, Cha modifier uses a long rest — a
/// short rest from 5th): another party member gets the bard's die; it is added by
/// itself to that creature's next attack roll, check against a DC or save that fails
/// by no more than the die's size (see [`inspiration_roll`]). One die at a time; it is
/// gone after a rest (ten minutes).
fn bardic_inspiration(
    em: &mut Emitter,
    c: &Creature,
    pc: &crate::creature::PcInfo,
    target: Option<&str>,
) -> Result<(), RuleError> {
    if left(c, "bardic-inspiration") == Some(0) {
        return Err(RuleError::invalid(format!(
            "{} has no Bardic Inspiration left — it comes back after a {} rest.",
            c.name,
            if pc.level >= 5 { "short" } else { "long" }
        )));
    }
    let Some(target) = target else {
        return Err(RuleError::invalid(
            "Name whom to inspire: `use bardic inspiration on NAME`.",
        ));
    };
    let t = super::find_creature(&em.state, target, |x| !x.dead)?;
    let tc = em.creature(t).clone();
    if tc.id == c.id {
        return Err(RuleError::invalid(
            "Bardic Inspiration is for another creature, not the bard.",
        ));
    }
    let Some(tp) = tc.pc.as_ref() else {
        return Err(RuleError::invalid(format!(
            "Bardic Inspiration is given to a party member, and {} is not one.",
            tc.name
        )));
    };
    if let Some(d) = tp.inspiration {
        return Err(RuleError::invalid(format!(
            "{} already holds a Bardic Inspiration die (d{d}).",
            tc.name
        )));
    }
    super::combat::require_in_this_fight(em, t)?;
    super::combat::require_turn_part(em, c.id, ActionCost::BonusAction)?;
    let die = inspiration_die(pc.level);
    em.public(EventKind::FeatureUsed {
        creature: c.id,
        feature: "bardic-inspiration".into(),
        note: format!("d{die} to {}", tc.name),
        spent: 0,
    });
    em.public(EventKind::FeatureUsed {
        creature: t,
        feature: "inspired".into(),
        note: format!("holds a d{die} from {}", c.name),
        spent: u32::from(die),
    });
    Ok(())
}

/// A held Bardic Inspiration die used on a roll that falls `short` of its DC or AC
/// (1 or more): when the die could make up the difference it is rolled, told
/// (`inspiration-die`) and its value returned; otherwise 0 and it is kept.
pub(crate) fn inspiration_roll(em: &mut Emitter, who: CreatureId, short: i32) -> i32 {
    let Some(die) = em
        .state
        .creatures
        .get(&who)
        .and_then(|c| c.pc.as_ref())
        .and_then(|p| p.inspiration)
    else {
        return 0;
    };
    let die = die.clamp(1, 20);
    if short < 1 || short > i32::from(die) {
        return 0;
    }
    let v = em.dice.roll(u32::from(die)) as i32;
    em.public(EventKind::FeatureUsed {
        creature: who,
        feature: "inspiration-die".into(),
        note: format!("+{v} (d{die}, {short} short)"),
        spent: 0,
    });
    v
}

/// Dark One's Own Luck (warlock 6th, the Fiend; once a short rest): a d10 added to an
/// ability check or save that falls `short` of its DC by no more than 10 — by itself,
/// after a Bardic Inspiration die. Told as `dark-ones-own-luck`; returns the d10.
pub(crate) fn own_luck(em: &mut Emitter, who: CreatureId, short: i32) -> i32 {
    let Some(c) = em.state.creatures.get(&who) else {
        return 0;
    };
    if c.pc
        .as_ref()
        .is_none_or(|p| p.class != "warlock" || p.level < 6)
        || left(c, "dark-ones-own-luck").unwrap_or(0) == 0
        || !(1..=10).contains(&short)
    {
        return 0;
    }
    let v = em.dice.roll(10) as i32;
    em.public(EventKind::FeatureUsed {
        creature: who,
        feature: "dark-ones-own-luck".into(),
        note: format!("+{v} (d10, {short} short)"),
        spent: 0,
    });
    v
}

/// Song of Rest (bard 2nd): a party member who spends hit dice in a short rest gets
/// the bard's die more (d6, d8 at 9th, d10 at 13th, d12 at 17th), rolled by the best
/// such bard standing in the party. Returns the hit points, told as `song-of-rest`.
pub(crate) fn song_of_rest(em: &mut Emitter, who: CreatureId) -> i32 {
    let bard = em
        .state
        .creatures
        .values()
        .filter(|b| !b.dead && b.hp > 0)
        .filter_map(|b| {
            let p = b.pc.as_ref()?;
            (p.class == "bard" && p.level >= 2).then_some((p.level, b.id))
        })
        .max_by_key(|(l, id)| (*l, std::cmp::Reverse(*id)));
    let Some((level, bard)) = bard else {
        return 0;
    };
    let die = match level {
        0..=8 => 6,
        9..=12 => 8,
        13..=16 => 10,
        _ => 12,
    };
    let v = em.dice.roll(die) as i32;
    em.public(EventKind::FeatureUsed {
        creature: bard,
        feature: "song-of-rest".into(),
        note: format!("+{v} hit points (d{die}) for {}", em.creature(who).name),
        spent: 0,
    });
    v
}

/// Raging: the barbarian's own resistance to bludgeoning from Rage.
pub(crate) fn raging(c: &Creature) -> bool {
    c.pc.as_ref().is_some_and(|p| p.class == "barbarian")
        && c.effects.iter().any(|e| {
            matches!(e, Effect::Spell(a) if a.by == c.id
                && a.mark == Mark::Resist { damage_type: DamageType::Bludgeoning })
        })
}

/// Extra damage a hit gets from the attacker's features: Rage (melee), Sneak Attack
/// (once per turn; a finesse or ranged weapon; advantage on the roll or another party
/// member standing in the fight — there are no positions, so "an ally next to the
/// target" is read as "an ally in the fight"; never with disadvantage).
pub(crate) fn on_hit(
    em: &mut Emitter,
    me: CreatureId,
    atk: &Attack,
    outcome: AttackOutcome,
) -> Vec<DamagePart> {
    let c = em.creature(me).clone();
    let Some(pc) = c.pc.as_ref() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let weapon_type = atk
        .damage
        .first()
        .map_or(DamageType::Bludgeoning, |d| d.damage_type);
    let weapon = em.state.catalog.weapon(&to_index(&atk.name)).cloned();
    if raging(&c) && atk.reach == Reach::Melee {
        out.push(DamagePart {
            dice: rage_damage(pc.level).to_string(),
            damage_type: weapon_type,
        });
    }
    // Improved Divine Smite (paladin 11th): every melee weapon hit deals 1d8 radiant more.
    if pc.class == "paladin"
        && pc.level >= 11
        && weapon.is_some()
        && atk.reach == Reach::Melee
        && outcome.is_hit()
    {
        em.public(EventKind::FeatureUsed {
            creature: me,
            feature: "improved-divine-smite".into(),
            note: "+1d8 radiant".into(),
            spent: 0,
        });
        out.push(DamagePart {
            dice: "1d8".into(),
            damage_type: DamageType::Radiant,
        });
    }
    // Divine Strike (Life Domain, cleric 8th): once on each of its turns, a weapon hit
    // deals 1d8 radiant more (2d8 from 14th).
    if pc.class == "cleric" && pc.level >= 8 && weapon.is_some() && outcome.is_hit() {
        let round = em.state.combat.as_ref().map_or(0, |k| k.round);
        let my_turn = em.state.combat.as_ref().and_then(|k| k.active_creature()) == Some(me);
        let used = em.state.in_combat() && pc.uses.get("divine-strike-round") == Some(&round);
        if my_turn && !used {
            let n = if pc.level >= 14 { 2 } else { 1 };
            em.public(EventKind::FeatureUsed {
                creature: me,
                feature: "divine-strike".into(),
                note: format!("+{n}d8 radiant"),
                spent: 0,
            });
            out.push(DamagePart {
                dice: format!("{n}d8"),
                damage_type: DamageType::Radiant,
            });
        }
    }
    if pc.class == "rogue"
        && let Some(w) = &weapon
        && (w.has_property("finesse") || w.reach == Reach::Ranged)
        && outcome.is_hit()
    {
        let round = em.state.combat.as_ref().map_or(0, |k| k.round);
        let used_this_turn = em.state.in_combat()
            && pc.uses.get("sneak-attack-round") == Some(&round)
            && em.state.combat.as_ref().and_then(|k| k.active_creature()) == Some(me);
        let adv = em.events.iter().rev().find_map(|e| match &e.kind {
            EventKind::AttackRolled {
                attacker,
                advantage,
                ..
            } if *attacker == me => Some(*advantage),
            _ => None,
        });
        let ally = em.state.combat.as_ref().is_some_and(|k| {
            k.order.iter().any(|e| {
                e.creature != me
                    && em
                        .state
                        .creatures
                        .get(&e.creature)
                        .is_some_and(|o| o.is_pc() && !o.is_down())
            })
        });
        let ok = match adv {
            Some(Advantage::Advantage) => true,
            Some(Advantage::Disadvantage) => false,
            _ => ally,
        };
        if ok && !used_this_turn {
            let dice = u32::from(pc.level).div_ceil(2);
            em.public(EventKind::FeatureUsed {
                creature: me,
                feature: "sneak-attack".into(),
                note: format!("+{dice}d6"),
                spent: 0,
            });
            out.push(DamagePart {
                dice: format!("{dice}d6"),
                damage_type: weapon_type,
            });
        }
    }
    out
}

/// Savage Attacks and Brutal Critical: a half-orc's melee weapon critical hit rolls one
/// more weapon die, a barbarian's one more from 9th (two from 13th, three from 17th),
/// dealt after the hit's own damage (not doubled again).
pub(crate) fn savage_attacks(
    em: &mut Emitter,
    me: CreatureId,
    t: CreatureId,
    atk: &Attack,
    outcome: AttackOutcome,
) -> Result<(), RuleError> {
    let c = em.creature(me);
    let savage = c.pc.as_ref().is_some_and(|p| p.race == "half-orc");
    let brutal =
        c.pc.as_ref()
            .map_or(0, |p| match (p.class.as_str(), p.level) {
                ("barbarian", 9..=12) => 1,
                ("barbarian", 13..=16) => 2,
                ("barbarian", 17..) => 3,
                _ => 0,
            });
    if outcome != AttackOutcome::CriticalHit
        || atk.reach != Reach::Melee
        || !savage && brutal == 0
        || em.creature(t).dead
        || em.creature(t).is_down() && !em.creature(t).is_pc()
    {
        return Ok(());
    }
    let Some(w) = em.state.catalog.weapon(&to_index(&atk.name)).cloned() else {
        return Ok(());
    };
    let Some(d) = w.damage.as_ref() else {
        return Ok(());
    };
    // "2d6" -> "1d6": one of the weapon's dice (per feature).
    let Some((_, sides)) = d.dice.split_once('d') else {
        return Ok(());
    };
    let mut n = 0;
    for (feature, count) in [
        ("savage-attacks", u32::from(savage)),
        ("brutal-critical", brutal),
    ] {
        if count > 0 {
            em.public(EventKind::FeatureUsed {
                creature: me,
                feature: feature.into(),
                note: format!("+{count}d{sides}"),
                spent: 0,
            });
            n += count;
        }
    }
    let die = format!("{n}d{sides}");
    resolve::deal_damage(
        em,
        t,
        Some(me),
        &[DamagePart {
            dice: die,
            damage_type: d.damage_type,
        }],
        false,
    )?;
    Ok(())
}

/// Relentless Endurance: a half-orc dropped to 0 hit points but not killed outright
/// drops to 1 instead, once a long rest. Returns whether it did.
pub(crate) fn relentless_endurance(em: &mut Emitter, who: CreatureId) -> bool {
    let c = em.creature(who);
    if c.pc.as_ref().is_none_or(|p| p.race != "half-orc")
        || left(c, "relentless-endurance") == Some(0)
        || c.dead
    {
        return false;
    }
    em.public(EventKind::FeatureUsed {
        creature: who,
        feature: "relentless-endurance".into(),
        note: "drops to 1 hit point instead".into(),
        spent: 0,
    });
    em.public(EventKind::HitPointsSet { target: who, hp: 1 });
    true
}

/// Relentless Rage (barbarian 11th): a raging barbarian dropped to 0 hit points but
/// not killed outright makes a Constitution save, DC 10 and 5 more for each earlier
/// try since its last rest; on a success it drops to 1 hit point instead.
pub(crate) fn relentless_rage(em: &mut Emitter, who: CreatureId) -> bool {
    let c = em.creature(who);
    let Some(pc) = c.pc.as_ref() else {
        return false;
    };
    if pc.class != "barbarian" || pc.level < 11 || c.dead || !raging(c) {
        return false;
    }
    let tries = pc.uses.get("relentless-rage").copied().unwrap_or(0).min(20);
    let dc = 10 + 5 * tries as i32;
    em.public(EventKind::FeatureUsed {
        creature: who,
        feature: "relentless-rage".into(),
        note: format!("Constitution save DC {dc} to stay at 1 hit point"),
        spent: 0,
    });
    if resolve::saving_throw(
        em,
        who,
        crate::ability::Ability::Con,
        Advantage::Normal,
        Some(dc),
    ) {
        em.public(EventKind::HitPointsSet { target: who, hp: 1 });
        true
    } else {
        false
    }
}

/// Halfling Lucky: a natural 1 is rerolled (the new roll must be used); the 1 is told
/// in a FeatureUsed event before the roll's own event.
pub(crate) fn lucky_reroll(em: &mut Emitter, who: Option<CreatureId>, d20s: &mut [u32]) {
    let Some(who) = who else { return };
    if !em
        .state
        .creatures
        .get(&who)
        .is_some_and(crate::features::is_lucky)
    {
        return;
    }
    for d in d20s.iter_mut() {
        if *d == 1 {
            let new = em.dice.roll(20);
            em.public(EventKind::FeatureUsed {
                creature: who,
                feature: "lucky".into(),
                note: format!("rerolls a 1: {new}"),
                spent: 0,
            });
            *d = new;
        }
    }
}

/// A Life Domain cleric's healing spell of 1st level or higher (`slot`: the level it
/// is cast at): Supreme Healing (17th) heals the dice's highest total instead of
/// rolling; Disciple of Life (1st) adds 2 + the spell's level. Returns the dice to heal.
pub(crate) fn life_heal(
    em: &mut Emitter,
    me: CreatureId,
    slot: u8,
    dice: String,
) -> Result<String, RuleError> {
    let Some(level) = em
        .creature(me)
        .pc
        .as_ref()
        .filter(|p| p.class == "cleric")
        .map(|p| p.level)
    else {
        return Ok(dice);
    };
    if slot == 0 {
        return Ok(dice);
    }
    let mut dice = dice;
    if level >= 17 {
        let (_, max) = crate::dice::parse(&dice)?.bounds();
        let max = max.clamp(0, 100_000);
        em.public(EventKind::FeatureUsed {
            creature: me,
            feature: "supreme-healing".into(),
            note: format!("{dice} at its highest: {max}"),
            spent: 0,
        });
        dice = max.to_string();
    }
    let extra = 2 + u32::from(slot);
    em.public(EventKind::FeatureUsed {
        creature: me,
        feature: "disciple-of-life".into(),
        note: format!("+{extra} hit points"),
        spent: 0,
    });
    Ok(format!("{dice} + {extra}"))
}

/// Blessed Healer (Life Domain 6th): a cleric's healing spell of 1st level or higher
/// that heals another creature heals the cleric 2 + the spell's level too, once a
/// casting (after the first creature healed).
pub(crate) fn blessed_healer(
    em: &mut Emitter,
    me: CreatureId,
    t: CreatureId,
    slot: u8,
) -> Result<(), RuleError> {
    let c = em.creature(me);
    if t == me
        || slot == 0
        || c.is_down()
        || c.pc
            .as_ref()
            .is_none_or(|p| p.class != "cleric" || p.level < 6)
    {
        return Ok(());
    }
    // Once a casting: not again since this caster's last SpellCast.
    let done = em
        .events
        .iter()
        .rev()
        .take_while(|e| !matches!(&e.kind, EventKind::SpellCast { caster, .. } if *caster == me))
        .any(|e| {
            matches!(&e.kind, EventKind::FeatureUsed { creature, feature, .. }
                if *creature == me && feature == "blessed-healer")
        });
    if done {
        return Ok(());
    }
    let extra = 2 + u32::from(slot);
    em.public(EventKind::FeatureUsed {
        creature: me,
        feature: "blessed-healer".into(),
        note: format!("+{extra} hit points for the healer"),
        spent: 0,
    });
    resolve::heal(em, me, Some(me), &extra.to_string())?;
    Ok(())
}

/// Potent Cantrip (evocation wizard 6th): a creature that succeeds on the save of the
/// wizard's damaging cantrip takes half its damage and nothing else. Returns whether
/// it applies (and tells it).
pub(crate) fn potent_cantrip(
    em: &mut Emitter,
    me: CreatureId,
    spell_level: u8,
    on_fail: &[crate::effect::Step],
) -> bool {
    let ok = spell_level == 0
        && em
            .creature(me)
            .pc
            .as_ref()
            .is_some_and(|p| p.class == "wizard" && p.level >= 6)
        && on_fail
            .iter()
            .any(|d| matches!(d, crate::effect::Step::Damage { .. }));
    if ok {
        em.public(EventKind::FeatureUsed {
            creature: me,
            feature: "potent-cantrip".into(),
            note: "half damage on a success".into(),
            spent: 0,
        });
    }
    ok
}

/// Survivor (Champion, fighter 18th): at the start of its turn, a fighter with hit
/// points left but no more than half its maximum regains 5 + its Con modifier.
pub(crate) fn survivor(em: &mut Emitter, who: CreatureId) {
    let c = em.creature(who);
    if c.pc
        .as_ref()
        .is_none_or(|p| p.class != "fighter" || p.level < 18)
        || c.dead
        || c.hp <= 0
        || c.hp > c.max_hp / 2
    {
        return;
    }
    let hp = (5 + c.modifier(crate::ability::Ability::Con)).max(0);
    em.public(EventKind::FeatureUsed {
        creature: who,
        feature: "survivor".into(),
        note: format!("+{hp} hit points"),
        spent: 0,
    });
    let _ = resolve::heal(em, who, Some(who), &hp.to_string());
}

/// Peerless Skill (College of Lore, bard 14th): a check of the bard's own that falls
/// `short` of its DC by no more than its Bardic Inspiration die spends a use of
/// Bardic Inspiration on itself (after a held die and Dark One's Own Luck). Returns
/// the die rolled, or 0.
pub(crate) fn peerless_skill(em: &mut Emitter, who: CreatureId, short: i32) -> i32 {
    let Some(c) = em.state.creatures.get(&who) else {
        return 0;
    };
    let Some(level) =
        c.pc.as_ref()
            .filter(|p| p.class == "bard" && p.level >= 14)
            .map(|p| p.level)
    else {
        return 0;
    };
    let die = inspiration_die(level);
    if left(c, "bardic-inspiration").unwrap_or(0) == 0 || short < 1 || short > i32::from(die) {
        return 0;
    }
    let v = em.dice.roll(u32::from(die)) as i32;
    em.public(EventKind::FeatureUsed {
        creature: who,
        feature: "peerless-skill".into(),
        note: format!("+{v} (d{die}, {short} short)"),
        spent: 0,
    });
    v
}

/// Indomitable Might (barbarian 18th): a Strength check's total below the Strength
/// score counts as the score. Returns the check's modifier (raised to make it so).
pub(crate) fn indomitable_might(
    em: &mut Emitter,
    who: CreatureId,
    kept: u32,
    modifier: i32,
) -> i32 {
    let c = em.creature(who);
    if c.pc
        .as_ref()
        .is_none_or(|p| p.class != "barbarian" || p.level < 18)
    {
        return modifier;
    }
    let score = c.abilities.str.clamp(1, 30);
    let total = (kept as i32).saturating_add(modifier);
    if total >= score {
        return modifier;
    }
    em.public(EventKind::FeatureUsed {
        creature: who,
        feature: "indomitable-might".into(),
        note: format!("{total} counts as {score}"),
        spent: 0,
    });
    score - kept as i32
}

/// Superior Inspiration (bard 20th): rolling initiative with no Bardic Inspiration
/// left gives one use back.
pub(crate) fn superior_inspiration(em: &mut Emitter, who: CreatureId) {
    let c = em.creature(who);
    if c.pc
        .as_ref()
        .is_none_or(|p| p.class != "bard" || p.level < 20)
        || left(c, "bardic-inspiration").unwrap_or(1) > 0
    {
        return;
    }
    em.public(EventKind::FeatureUsed {
        creature: who,
        feature: "superior-inspiration".into(),
        note: "one use of Bardic Inspiration back".into(),
        spent: 0,
    });
}
