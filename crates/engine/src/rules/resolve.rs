//! Resolution of rolls: checks, saves, attack rolls, damage with resistances, healing,
//! death saves, concentration and rests.

use super::Emitter;
use crate::ability::{Ability, Advantage};
use crate::condition::Condition;
use crate::creature::Effect;
use crate::data::{DamagePart, Reach};
use crate::effect::{Active, Mark, SaveEnds, Until};
use crate::error::RuleError;
use crate::event::{AttackOutcome, CheckKind, DamageModifier, EventKind, RestKind, Visibility};
use crate::ids::CreatureId;

/// Rolls a d20 with advantage/disadvantage: (all dice, kept die).
/// A d20 rolled by a creature: as [`d20`], with a halfling's Lucky reroll of a 1.
pub(crate) fn d20_by(em: &mut Emitter, who: CreatureId, adv: Advantage) -> (Vec<u32>, u32) {
    let (mut d20s, _) = d20(em, adv);
    super::features::lucky_reroll(em, Some(who), &mut d20s);
    let kept = match adv {
        Advantage::Advantage => d20s.iter().copied().max(),
        Advantage::Disadvantage => d20s.iter().copied().min(),
        Advantage::Normal => d20s.first().copied(),
    }
    .unwrap_or(1);
    (d20s, kept)
}

pub(crate) fn d20(em: &mut Emitter, adv: Advantage) -> (Vec<u32>, u32) {
    let a = em.dice.roll(20);
    match adv {
        Advantage::Normal => (vec![a], a),
        Advantage::Advantage => {
            let b = em.dice.roll(20);
            (vec![a, b], a.max(b))
        }
        Advantage::Disadvantage => {
            let b = em.dice.roll(20);
            (vec![a, b], a.min(b))
        }
    }
}

/// Dice added to (or taken from) a roll: Bless (old logs' effect and the mark), Bane,
/// Resistance. `attack`: an attack roll, else a save.
fn bless_die(em: &mut Emitter, who: CreatureId, attack: bool) -> i32 {
    let c = em.creature(who);
    let mut dice: Vec<i32> = c
        .marks()
        .filter_map(|a| match a.mark {
            Mark::RollDie {
                sides,
                attacks,
                saves,
            } if (attack && attacks) || (!attack && saves) => Some(sides.clamp(-100, 100)),
            _ => None,
        })
        .collect();
    if c.is_blessed() {
        dice.push(4);
    }
    // Two castings of one spell don't stack: one die per size and sign.
    dice.sort_unstable();
    dice.dedup();
    let mut total = 0i32;
    for d in dice {
        if d == 0 {
            continue;
        }
        let v = em.dice.roll(d.unsigned_abs()) as i32;
        total += if d > 0 { v } else { -v };
    }
    total
}

/// Enlarge: advantage on Strength checks and saves; Reduce: disadvantage.
fn strength_size(c: &crate::creature::Creature, ability: Ability) -> Advantage {
    if ability != Ability::Str {
        return Advantage::Normal;
    }
    Advantage::combine([
        if c.has_mark(|m| *m == Mark::Enlarged) {
            Advantage::Advantage
        } else {
            Advantage::Normal
        },
        if c.has_mark(|m| *m == Mark::Reduced) {
            Advantage::Disadvantage
        } else {
            Advantage::Normal
        },
    ])
}

/// Magic Weapon's bonus to the creature's weapon attack and damage rolls (the largest
/// one: two castings don't stack).
pub(crate) fn weapon_bonus(c: &crate::creature::Creature) -> i32 {
    c.marks()
        .filter_map(|a| match a.mark {
            Mark::WeaponBonus { amount } => Some(amount.clamp(0, 20)),
            _ => None,
        })
        .max()
        .unwrap_or(0)
}

/// An ability or skill check.
pub(crate) fn check(
    em: &mut Emitter,
    who: CreatureId,
    kind: CheckKind,
    asked: Advantage,
    dc: Option<i32>,
) -> bool {
    let c = em.creature(who);
    let (proficient, ability) = match kind {
        CheckKind::Skill(s) => (c.skill_proficiencies.contains_key(&s), s.ability()),
        CheckKind::Ability(a) => (false, a),
    };
    // Jack of All Trades, Remarkable Athlete.
    let feature_bonus = crate::features::check_bonus(c, ability, proficient);
    let modifier = match kind {
        CheckKind::Skill(s) => c.skill_modifier(s),
        CheckKind::Ability(a) => c.modifier(a),
    } + feature_bonus;
    let mut sources = vec![asked];
    if c.has(Condition::Poisoned)
        || c.has(Condition::Frightened)
        || c.exhaustion >= 1
        || c.has_mark(|m| *m == Mark::Cursed)
    {
        sources.push(Advantage::Disadvantage);
    }
    sources.push(strength_size(c, ability));
    // Hex on the checker; Hunter's Mark's hunter.
    if c.has_mark(|m| *m == Mark::CheckDisadvantage { ability } || *m == Mark::Hampered) {
        sources.push(Advantage::Disadvantage);
    }
    if let CheckKind::Skill(skill) = kind
        && c.has_mark(|m| *m == Mark::SkillAdvantage { skill })
    {
        sources.push(Advantage::Advantage);
    }
    let advantage = Advantage::combine(sources);
    let (d20s, mut kept) = d20_by(em, who, advantage);
    // Reliable Talent: a proficient skill check's d20 counts as at least 10.
    if proficient && kept < 10 && crate::features::reliable_talent(em.creature(who)) {
        kept = 10;
    }
    let mut modifier = modifier;
    // A held Bardic Inspiration die on a check that falls short of its DC.
    if let Some(dc) = dc {
        let short = dc.saturating_sub((kept as i32).saturating_add(modifier));
        modifier = modifier.saturating_add(super::features::inspiration_roll(em, who, short));
        let short = dc.saturating_sub((kept as i32).saturating_add(modifier));
        modifier = modifier.saturating_add(super::features::own_luck(em, who, short));
        let short = dc.saturating_sub((kept as i32).saturating_add(modifier));
        modifier = modifier.saturating_add(super::features::peerless_skill(em, who, short));
    }
    // Indomitable Might: a Strength check's total is at least the Strength score.
    if ability == Ability::Str {
        modifier = super::features::indomitable_might(em, who, kept, modifier);
    }
    let total = kept as i32 + modifier;
    let success = dc.map(|dc| total >= dc);
    em.public(EventKind::CheckRolled {
        creature: who,
        check: kind,
        advantage,
        d20: d20s,
        kept,
        modifier,
        total,
        dc,
        success,
    });
    success.unwrap_or(true)
}

/// A saving throw; returns whether it succeeded (true when there is no DC).
pub(crate) fn saving_throw(
    em: &mut Emitter,
    who: CreatureId,
    ability: Ability,
    asked: Advantage,
    dc: Option<i32>,
) -> bool {
    let ok = saving_throw_once(em, who, ability, asked, dc);
    let auto_fail = em
        .creature(who)
        .conditions
        .keys()
        .any(|k| k.auto_fails_save(ability));
    // Indomitable: a fighter's failed save is rolled again.
    if !ok && dc.is_some() && !auto_fail && super::class_actions::indomitable(em, who) {
        em.public(EventKind::FeatureUsed {
            creature: who,
            feature: "indomitable".into(),
            note: "rolls the failed save again".into(),
            spent: 0,
        });
        return saving_throw_once(em, who, ability, asked, dc);
    }
    ok
}

fn saving_throw_once(
    em: &mut Emitter,
    who: CreatureId,
    ability: Ability,
    asked: Advantage,
    dc: Option<i32>,
) -> bool {
    let c = em.creature(who);
    let modifier = c
        .save_modifier(ability)
        .saturating_add(c.mark_save_bonus(ability))
        .saturating_add(super::class_actions::aura_of_protection(&em.state, who));
    let auto_fail = c.conditions.keys().any(|k| k.auto_fails_save(ability));
    let mut sources = vec![asked];
    sources.push(strength_size(c, ability));
    if c.has_mark(
        |m| matches!(m, Mark::SaveAdvantage { ability: a } if a.is_none_or(|a| a == ability)),
    ) {
        sources.push(Advantage::Advantage);
    }
    if ability == Ability::Dex && c.dodging() {
        sources.push(Advantage::Advantage);
    }
    if crate::features::danger_sense(c, ability) {
        sources.push(Advantage::Advantage);
    }
    if ability == Ability::Dex && c.has(Condition::Restrained) {
        sources.push(Advantage::Disadvantage);
    }
    if c.exhaustion >= 3 {
        sources.push(Advantage::Disadvantage);
    }
    if ability == Ability::Wis && c.has_mark(|m| *m == Mark::Cursed) {
        sources.push(Advantage::Disadvantage);
    }
    let advantage = Advantage::combine(sources);
    let (d20s, kept) = if auto_fail {
        (vec![], 0)
    } else {
        d20_by(em, who, advantage)
    };
    let mut bonus_dice = if auto_fail {
        0
    } else {
        bless_die(em, who, false)
    };
    // A held Bardic Inspiration die on a save that falls short of its DC.
    if let Some(dc) = dc
        && !auto_fail
    {
        let short = dc.saturating_sub(
            (kept as i32)
                .saturating_add(modifier)
                .saturating_add(bonus_dice),
        );
        bonus_dice = bonus_dice.saturating_add(super::features::inspiration_roll(em, who, short));
        let short = dc.saturating_sub(
            (kept as i32)
                .saturating_add(modifier)
                .saturating_add(bonus_dice),
        );
        bonus_dice = bonus_dice.saturating_add(super::features::own_luck(em, who, short));
    }
    let total = kept as i32 + modifier + bonus_dice;
    let success = dc.map(|dc| !auto_fail && total >= dc);
    em.public(EventKind::SaveRolled {
        creature: who,
        ability,
        advantage,
        d20: d20s,
        kept,
        modifier,
        bonus_dice,
        total,
        dc,
        success,
        auto_fail,
    });
    end_marks_on(em, who, crate::effect::EndsOn::Save);
    success.unwrap_or(!auto_fail)
}

/// Advantage on an attack from both sides' conditions and effects.
/// Whether `t` is warded (Protection from Evil and Good) against `from`'s type (with
/// `charm`: a ward that also stops its charms and frights).
pub(crate) fn warded_from(em: &Emitter, t: CreatureId, from: CreatureId, charm: bool) -> bool {
    let Some(kind) = em
        .state
        .creature(from)
        .and_then(|c| c.monster.as_ref())
        .and_then(|m| em.state.catalog.monsters.get(m))
        .map(|d| crate::effect::ward_bit(&d.kind))
    else {
        return false;
    };
    kind != 0
        && em
            .creature(t)
            .has_mark(|m| matches!(m, Mark::Warded { types, charm: c } if types & kind != 0 && (*c || !charm)))
}

pub(crate) fn attack_advantage(
    em: &Emitter,
    attacker: CreatureId,
    target: CreatureId,
    reach: Reach,
) -> Advantage {
    let a = em.creature(attacker);
    let t = em.creature(target);
    let mut s = Vec::new();
    // The attacker's own state.
    for c in [
        Condition::Blinded,
        Condition::Frightened,
        Condition::Poisoned,
        Condition::Prone,
        Condition::Restrained,
    ] {
        if a.has(c) {
            s.push(Advantage::Disadvantage);
        }
    }
    if a.exhaustion >= 3 {
        s.push(Advantage::Disadvantage);
    }
    if a.has(Condition::Invisible) || a.has_effect(&Effect::Hidden) {
        s.push(Advantage::Advantage);
    }
    if super::class_actions::reckless(em, attacker, reach) {
        s.push(Advantage::Advantage);
    }
    // A ranged attack made in melee with a foe that can act.
    if reach == Reach::Ranged && super::position::threatened(&em.state, attacker) {
        s.push(Advantage::Disadvantage);
    }
    // The target's state.
    for c in [
        Condition::Blinded,
        Condition::Restrained,
        Condition::Paralyzed,
        Condition::Petrified,
        Condition::Stunned,
        Condition::Unconscious,
    ] {
        if t.has(c) {
            s.push(Advantage::Advantage);
        }
    }
    if t.has(Condition::Invisible) || t.has_effect(&Effect::Hidden) {
        s.push(Advantage::Disadvantage);
    }
    // In a heavily obscured zone (Darkness, Fog Cloud: blinded while inside) the
    // target can't be seen either: its blindness's advantage is cancelled.
    if t.marks().any(|m| {
        m.mark
            == (Mark::Condition {
                condition: Condition::Blinded,
            })
            && m.ends_on == Some(crate::effect::EndsOn::LeaveZone)
    }) {
        s.push(Advantage::Disadvantage);
    }
    if a.has_mark(|m| {
        *m == Mark::NextAttackDisadvantage
            || *m == Mark::DisadvantageAgainst { who: target }
            || *m == Mark::Hampered
    }) {
        s.push(Advantage::Disadvantage);
    }
    if t.has_mark(|m| {
        matches!(
            m,
            Mark::AttackedWithAdvantage | Mark::NextAttackedWithAdvantage
        )
    }) {
        s.push(Advantage::Advantage);
    }
    if t.has_mark(|m| *m == Mark::AttackedWithDisadvantage) {
        s.push(Advantage::Disadvantage);
    }
    // Protection from Evil and Good: the warded-against types attack at disadvantage.
    if warded_from(em, target, attacker, false) {
        s.push(Advantage::Disadvantage);
    }
    if t.has(Condition::Prone) {
        s.push(if reach == Reach::Melee {
            Advantage::Advantage
        } else {
            Advantage::Disadvantage
        });
    }
    // Dodge: only against an attacker the dodger can see.
    if t.dodging() && !a.has(Condition::Invisible) && !t.has(Condition::Blinded) {
        s.push(Advantage::Disadvantage);
    }
    // Elusive (rogue 18th): no attack roll has advantage against it.
    if crate::features::elusive(t) {
        s.retain(|a| *a != Advantage::Advantage);
    }
    Advantage::combine(s)
}

/// Rolls an attack and emits `AttackRolled`; returns the outcome.
pub(crate) fn attack_roll(
    em: &mut Emitter,
    attacker: CreatureId,
    target: CreatureId,
    with: &str,
    bonus: i32,
    reach: Reach,
    approach: u8,
) -> AttackOutcome {
    // Mirror Image: a d20 says whether the attack goes to a duplicate.
    let image = mirror_image(em, target);
    let advantage = attack_advantage(em, attacker, target, reach);
    let (d20s, kept) = d20_by(em, attacker, advantage);
    let mut bonus_dice = bless_die(em, attacker, true);
    let t = em.creature(target);
    let target_ac = if image.is_some() {
        10i32.saturating_add(t.modifier(Ability::Dex))
    } else {
        t.effective_ac()
    };
    // A held Bardic Inspiration die on an attack roll that would miss (not a 1 or a
    // critical hit).
    if kept > 1 && kept < crate::features::crit_min(em.creature(attacker)) {
        let short = target_ac.saturating_sub(
            (kept as i32)
                .saturating_add(bonus)
                .saturating_add(bonus_dice),
        );
        bonus_dice =
            bonus_dice.saturating_add(super::features::inspiration_roll(em, attacker, short));
    }
    let total = kept as i32 + bonus + bonus_dice;
    let t = em.creature(target);
    let auto_crit = image.is_none()
        && reach == Reach::Melee
        && t.conditions.keys().any(|c| c.melee_hits_are_crits());
    let with = if image.is_some() {
        format!("{with}, at a mirror image")
    } else {
        with.to_string()
    };
    let outcome = if kept == 1 {
        AttackOutcome::CriticalMiss
    } else if kept >= crate::features::crit_min(em.creature(attacker)) {
        AttackOutcome::CriticalHit
    } else if total >= target_ac {
        if auto_crit {
            AttackOutcome::CriticalHit
        } else {
            AttackOutcome::Hit
        }
    } else {
        AttackOutcome::Miss
    };
    em.public(EventKind::AttackRolled {
        attacker,
        target,
        with,
        advantage,
        d20: d20s,
        kept,
        bonus,
        bonus_dice,
        total,
        target_ac,
        outcome,
        approach,
    });
    // One-shot marks are spent by this roll.
    let spent: Vec<(CreatureId, Active)> = em
        .creature(attacker)
        .marks()
        .filter(|a| a.mark == Mark::NextAttackDisadvantage)
        .map(|a| (attacker, *a))
        .chain(
            em.creature(target)
                .marks()
                .filter(|a| a.mark == Mark::NextAttackedWithAdvantage)
                .map(|a| (target, *a)),
        )
        .collect();
    for (c, a) in spent {
        end_mark(em, c, a);
    }
    end_marks_on(em, attacker, crate::effect::EndsOn::AttackOrCast);
    end_marks_on(em, attacker, crate::effect::EndsOn::AttackOrHarm);
    if let Some(images) = image {
        // A hit destroys the duplicate; the creature itself is not hit.
        if outcome.is_hit() {
            end_mark(em, target, images);
            if let Mark::MirrorImage { images: n } = images.mark
                && n > 1
            {
                let left = Active {
                    mark: Mark::MirrorImage { images: n - 1 },
                    ..images
                };
                em.public(EventKind::EffectStarted {
                    creature: target,
                    effect: Effect::Spell(left),
                });
            }
        }
        return AttackOutcome::Miss;
    }
    outcome
}

/// Mirror Image on `target`: the d20 that picks a duplicate (shown as the target's
/// roll, the GM's for a monster); the mark when a duplicate is attacked instead.
fn mirror_image(em: &mut Emitter, target: CreatureId) -> Option<Active> {
    let c = em.creature(target);
    let (active, images) = c.marks().find_map(|a| match a.mark {
        Mark::MirrorImage { images } if images > 0 => Some((*a, images)),
        _ => None,
    })?;
    let need = match images {
        3.. => 6,
        2 => 8,
        _ => 11,
    };
    (shown_d20(em, target) >= need).then_some(active)
}

/// A d20 a spell rolls for `who` (Mirror Image, Blink), shown as its roll (the GM's
/// for a monster).
fn shown_d20(em: &mut Emitter, who: CreatureId) -> u32 {
    let player = em
        .creature(who)
        .owner()
        .cloned()
        .or_else(|| em.state.gm.clone());
    let Ok(roll) = crate::dice::roll("1d20", em.dice) else {
        return 1;
    };
    let value = roll.total.clamp(1, 20) as u32;
    if let Some(player) = player {
        em.public(EventKind::DiceRolled {
            player,
            roll,
            secret: false,
        });
    }
    value
}

/// Sanctuary on `t` against `me`'s attack or harmful spell: `me` makes a Wisdom save
/// against the ward's DC; on a failure it is turned away from `t` for the rest of its
/// turn (true: the attack or spell at `t` is not made). Refused when `me` was already
/// turned away from `t` this turn.
pub(crate) fn sanctuary(
    em: &mut Emitter,
    me: CreatureId,
    t: CreatureId,
) -> Result<bool, RuleError> {
    if me == t {
        return Ok(false);
    }
    let (attacker, target) = (em.creature(me), em.creature(t));
    if attacker.has_mark(|m| *m == Mark::TurnedAway { from: t }) {
        return Err(RuleError::invalid(format!(
            "{} can't bring themselves to harm {} this turn (Sanctuary): choose another target.",
            attacker.name, target.name
        )));
    }
    let Some(ward) = target
        .marks()
        .filter(|a| matches!(a.mark, Mark::Sanctuary { .. }))
        .max_by_key(|a| match a.mark {
            Mark::Sanctuary { dc } => dc,
            _ => 0,
        })
        .copied()
    else {
        return Ok(false);
    };
    let Mark::Sanctuary { dc } = ward.mark else {
        return Ok(false);
    };
    if saving_throw(
        em,
        me,
        Ability::Wis,
        Advantage::Normal,
        Some(dc.clamp(0, 40)),
    ) {
        return Ok(false);
    }
    let round = em.state.combat.as_ref().map_or(0, |c| c.round);
    let turned = Active {
        by: ward.by,
        mark: Mark::TurnedAway { from: t },
        until: Until::TurnEnd { who: me, round },
        concentration: false,
        save_ends: None,
        ends_on: None,
    };
    em.public(EventKind::EffectStarted {
        creature: me,
        effect: Effect::Spell(turned),
    });
    Ok(true)
}

/// Blink has taken the creature to the Ethereal Plane: it can't be targeted.
pub(crate) fn ethereal(c: &crate::creature::Creature) -> bool {
    c.has_mark(|m| *m == Mark::Ethereal || *m == Mark::Sealed)
        || c.effects
            .iter()
            .any(|e| matches!(e, Effect::Swallowed { .. }))
}

/// Refuses a creature that has blinked away as a target.
pub(crate) fn targetable(em: &Emitter, t: CreatureId) -> Result<(), RuleError> {
    let c = em.creature(t);
    if let Some(by) = super::monster_actions::swallower(c) {
        return Err(RuleError::invalid(format!(
            "{} is inside {}, out of reach.",
            c.name,
            em.creature(by).name
        )));
    }
    if c.has_mark(|m| *m == Mark::Sealed) {
        return Err(RuleError::invalid(format!(
            "{} is sealed away by a spell, out of reach until it ends.",
            c.name
        )));
    }
    if ethereal(c) {
        // Blink's vanishing lasts until its next turn; a monster's own Etherealness
        // until it comes back.
        let blinked = c.marks().any(|a| {
            a.mark == Mark::Ethereal && matches!(a.until, Until::TurnStart { who, .. } if who == t)
        });
        // Banishment: gone while its caster concentrates.
        let banished = c
            .marks()
            .any(|a| a.mark == Mark::Ethereal && a.by != t && a.concentration);
        return Err(RuleError::invalid(if banished {
            format!(
                "{} is banished, out of reach while the spell lasts.",
                c.name
            )
        } else if blinked {
            format!(
                "{} has blinked away to the Ethereal Plane until the start of their next turn.",
                c.name
            )
        } else {
            format!("{} is on the Ethereal Plane, out of reach.", c.name)
        }));
    }
    Ok(())
}

/// Blink at the end of `who`'s turn: 11 or more on a d20 and it is gone until the start
/// of its next turn.
fn blink(em: &mut Emitter, who: CreatureId, round: u32) {
    let c = em.creature(who);
    if c.dead || ethereal(c) {
        return;
    }
    let Some(by) = c.marks().find(|a| a.mark == Mark::Blink).map(|a| a.by) else {
        return;
    };
    if shown_d20(em, who) >= 11 {
        let gone = Active {
            by,
            mark: Mark::Ethereal,
            until: Until::TurnStart {
                who,
                round: round.saturating_add(1),
            },
            concentration: false,
            save_ends: None,
            ends_on: None,
        };
        em.public(EventKind::EffectStarted {
            creature: who,
            effect: Effect::Spell(gone),
        });
    }
}

/// Hideous Laughter: damage lets the bearer repeat the save, with advantage (one save
/// per spell that asks for it); a success ends that spell's marks on it.
fn save_on_damage(em: &mut Emitter, who: CreatureId) {
    repeat_saves(
        em,
        who,
        |a| a.ends_on == Some(crate::effect::EndsOn::SaveOnDamage),
        Advantage::Advantage,
    );
}

/// Repeats the saves that end marks on `who` (one save per spell that asks for it,
/// among the marks `which` picks); a success ends that spell's marks on it.
fn repeat_saves(
    em: &mut Emitter,
    who: CreatureId,
    which: impl Fn(&Active) -> bool,
    advantage: Advantage,
) {
    let mut groups: Vec<(CreatureId, SaveEnds, Until)> = em
        .creature(who)
        .marks()
        .filter(|a| which(a))
        .filter_map(|a| a.save_ends.map(|s| (a.by, s, a.until)))
        // Broken free of by an action, not saved against.
        .filter(|(_, s, _)| !s.action)
        .collect();
    groups.sort();
    groups.dedup();
    for (by, s, until) in groups {
        if em.creature(who).dead {
            break;
        }
        if saving_throw(em, who, s.ability, advantage, Some(s.dc)) {
            let ending: Vec<Active> = em
                .creature(who)
                .marks()
                .filter(|a| a.by == by && a.save_ends == Some(s) && a.until == until)
                .copied()
                .collect();
            for a in ending {
                end_mark(em, who, a);
            }
        }
    }
}

/// Ends the marks on `who` that end on this event (Sleep on damage, Invisibility on an
/// attack or a spell).
pub(crate) fn end_marks_on(em: &mut Emitter, who: CreatureId, on: crate::effect::EndsOn) {
    let ending: Vec<Active> = em
        .creature(who)
        .marks()
        .filter(|a| a.ends_on == Some(on))
        .copied()
        .collect();
    for a in ending {
        end_mark(em, who, a);
    }
}

/// Extra damage the attacker's marks add to a hit on `target`: Hex and Hunter's Mark
/// on the target, Divine Favor and Branding Smite on the attacker (weapon hits only;
/// `weapon_type` is the weapon's damage type). One-shot riders are spent.
pub(crate) fn riders(
    em: &mut Emitter,
    attacker: CreatureId,
    target: CreatureId,
    weapon_type: Option<crate::data::DamageType>,
    weapon: bool,
) -> Vec<DamagePart> {
    let mut out = Vec::new();
    let mut spent = Vec::new();
    for a in em.creature(target).marks() {
        if let Mark::BonusDamage {
            count,
            sides,
            damage_type,
        } = a.mark
            && a.by == attacker
            && let Some(t) = damage_type.or(if weapon { weapon_type } else { None })
        {
            out.push(DamagePart {
                dice: format!("{}d{}", count.max(1), sides.max(1)),
                damage_type: t,
            });
        }
    }
    if weapon {
        // Enlarge: 1d4 more of the weapon's damage.
        if let Some(t) = weapon_type
            && em.creature(attacker).has_mark(|m| *m == Mark::Enlarged)
        {
            out.push(DamagePart {
                dice: "1d4".into(),
                damage_type: t,
            });
        }
        for a in em.creature(attacker).marks() {
            if let Mark::WeaponRider {
                count,
                sides,
                damage_type,
                once,
            } = a.mark
            {
                out.push(DamagePart {
                    dice: format!("{}d{}", count.max(1), sides.max(1)),
                    damage_type,
                });
                if once {
                    spent.push(*a);
                }
            }
        }
    }
    out.sort_by(|a, b| (&a.dice, a.damage_type).cmp(&(&b.dice, b.damage_type)));
    out.dedup();
    // Branding Smite: the hit that spends its rider shows an invisible target, which
    // can't turn invisible again while the spell lasts.
    let reveal = em
        .creature(attacker)
        .marks()
        .find(|a| a.mark == Mark::Reveal)
        .copied();
    if let Some(r) = reveal.filter(|r| spent.iter().any(|a| a.by == r.by)) {
        if em.creature(target).has(Condition::Invisible) {
            end_condition(em, target, Condition::Invisible);
        }
        em.public(EventKind::EffectStarted {
            creature: target,
            effect: Effect::Spell(Active {
                mark: Mark::ImmuneTo {
                    condition: Condition::Invisible,
                },
                ..r
            }),
        });
        end_mark(em, attacker, r);
    }
    for a in spent {
        end_mark(em, attacker, a);
    }
    out
}

/// Ends one mark: `EffectEnded`, and the condition it held unless another mark still
/// holds it.
pub(crate) fn end_mark(em: &mut Emitter, who: CreatureId, active: Active) {
    if !em.creature(who).effects.contains(&Effect::Spell(active)) {
        return;
    }
    em.public(EventKind::EffectEnded {
        creature: who,
        effect: Effect::Spell(active),
    });
    // Polymorph ends: the bearer returns to its own form.
    if active.mark == Mark::Polymorphed {
        super::shapes::revert(em, who);
    }
    // Haste's end: a wave of lethargy — it can't move or act until after its next
    // turn (that turn is spent, as a Command to halt is).
    if active.mark == Mark::Hasted && em.state.in_combat() && !em.creature(who).dead {
        let lethargy = Active {
            mark: Mark::Commanded {
                order: crate::effect::Order::Halt,
            },
            until: super::spells::until_of(
                em,
                active.by,
                who,
                crate::effect::Duration::EndOfTargetsNextTurn,
            ),
            concentration: false,
            save_ends: None,
            ends_on: None,
            ..active
        };
        em.public(EventKind::EffectStarted {
            creature: who,
            effect: Effect::Spell(lethargy),
        });
    }
    if let Mark::Condition { condition } = active.mark {
        let c = em.creature(who);
        let held = c.has_mark(|m| *m == Mark::Condition { condition });
        if !held && c.conditions.contains_key(&condition) {
            em.public(EventKind::ConditionRemoved {
                creature: who,
                condition,
            });
        }
    }
}

/// Ends a condition and every mark holding it (Lesser Restoration).
pub(crate) fn end_condition(em: &mut Emitter, who: CreatureId, condition: Condition) {
    let holding: Vec<Active> = em
        .creature(who)
        .marks()
        .filter(|a| a.mark == Mark::Condition { condition })
        .copied()
        .collect();
    for a in holding {
        end_mark(em, who, a);
    }
    if em.creature(who).conditions.contains_key(&condition) {
        em.public(EventKind::ConditionRemoved {
            creature: who,
            condition,
        });
    }
}

/// Ends every mark (on any creature) that matches; a mark tied to concentration that
/// runs out ends its caster's concentration (and with it the spell's other marks).
pub(crate) fn end_marks_where(em: &mut Emitter, f: impl Fn(CreatureId, &Active) -> bool) {
    let ending: Vec<(CreatureId, Active)> = em
        .state
        .creatures
        .values()
        .flat_map(|c| c.marks().map(move |a| (c.id, *a)))
        .filter(|(c, a)| f(*c, a))
        .collect();
    for (c, a) in ending {
        end_mark(em, c, a);
        // The caster may have left the table (a retired character). The spell lasts
        // while anything else it holds lasts: a zone (Stinking Cloud's retching, a turn
        // long, is not the spell's end) or another of its marks (Heat Metal's
        // hampering ends before the spell's repeat does).
        if a.concentration
            && em
                .state
                .creatures
                .get(&a.by)
                .is_some_and(|c| c.concentration.is_some())
            && !em
                .state
                .zones()
                .iter()
                .any(|z| z.by == a.by && z.concentration)
            && !em
                .state
                .creatures
                .values()
                .any(|c| c.marks().any(|m| m.by == a.by && m.concentration))
        {
            end_concentration(em, a.by);
        }
    }
}

/// The start of `who`'s turn in `round`: marks that last until then end.
pub(crate) fn turn_start_marks(em: &mut Emitter, who: CreatureId, round: u32) {
    end_marks_where(
        em,
        |_, a| matches!(a.until, Until::TurnStart { who: w, round: r } if w == who && r <= round),
    );
}

/// Ongoing damage at the start of `who`'s turn (after its `TurnStarted`).
pub(crate) fn ongoing_damage(em: &mut Emitter, who: CreatureId) -> bool {
    let mut dealt = false;
    let ongoing: Vec<Active> = em
        .creature(who)
        .marks()
        .filter(|a| matches!(a.mark, Mark::Ongoing { .. }))
        .copied()
        .collect();
    for a in ongoing {
        let Mark::Ongoing {
            count,
            sides,
            damage_type,
            save,
            half,
            dc,
        } = a.mark
        else {
            continue;
        };
        if em.creature(who).is_down() {
            break;
        }
        let ok = save.is_some_and(|ab| saving_throw(em, who, ab, Advantage::Normal, Some(dc)));
        if ok && !half {
            continue;
        }
        let part = DamagePart {
            dice: format!("{}d{}", count.max(1), sides.max(1)),
            damage_type,
        };
        let _ = deal_damage_scaled(em, who, Some(a.by), &[part], false, ok);
        dealt = true;
    }
    dealt
}

/// The end of `who`'s turn in `round`: marks that last until then end, and saves that
/// end marks are repeated (one save per spell that asks for it).
pub(crate) fn turn_end_marks(em: &mut Emitter, who: CreatureId, round: u32) {
    // Damage that comes as its mark ends (Acid Arrow's later acid).
    let bursts: Vec<Active> = em
        .creature(who)
        .marks()
        .filter(|a| {
            matches!(a.mark, Mark::Burst { .. })
                && matches!(a.until, Until::TurnEnd { who: w, round: r } if w == who && r <= round)
        })
        .copied()
        .collect();
    for a in bursts {
        if let Mark::Burst {
            count,
            sides,
            damage_type,
        } = a.mark
            && !em.creature(who).dead
        {
            let part = DamagePart {
                dice: format!("{}d{}", count.max(1), sides.max(1)),
                damage_type,
            };
            let _ = deal_damage_scaled(em, who, Some(a.by), &[part], false, false);
        }
    }
    end_marks_where(
        em,
        |_, a| matches!(a.until, Until::TurnEnd { who: w, round: r } if w == who && r <= round),
    );
    blink(em, who, round);
    repeat_saves(em, who, |_| true, Advantage::Normal);
}

/// Rolls damage parts (dice doubled on a crit), applies resistance, vulnerability and
/// immunity, and everything that follows from the hit points lost.
pub(crate) fn deal_damage(
    em: &mut Emitter,
    target: CreatureId,
    source: Option<CreatureId>,
    parts: &[DamagePart],
    crit: bool,
) -> Result<i32, RuleError> {
    deal_damage_scaled(em, target, source, parts, crit, false)
}

/// As [`deal_damage`], halving the rolled damage first (a successful save for half).
///
/// Each part is rolled and shown as its own `DamageDealt` (resistances differ by
/// type), but the hit is one source of damage: what follows from it (dropping to 0,
/// massive damage, one death-save failure — two on a crit — and one concentration
/// save against half the total) is worked out once, from the total.
pub(crate) fn deal_damage_scaled(
    em: &mut Emitter,
    target: CreatureId,
    source: Option<CreatureId>,
    parts: &[DamagePart],
    crit: bool,
    half: bool,
) -> Result<i32, RuleError> {
    let mut rolls = Vec::with_capacity(parts.len());
    for p in parts {
        let expr = crate::dice::parse(&p.dice)?;
        let expr = if crit { expr.doubled() } else { expr };
        rolls.push((p.damage_type, expr.roll(em.dice)?));
    }
    Ok(deal_rolled(em, target, source, &rolls, crit, half))
}

/// Deals damage already rolled (an area spell rolls once for every target), applying
/// resistance, vulnerability and immunity per part and what follows from the total.
pub(crate) fn deal_rolled(
    em: &mut Emitter,
    target: CreatureId,
    source: Option<CreatureId>,
    rolls: &[(crate::data::DamageType, crate::dice::Roll)],
    crit: bool,
    half: bool,
) -> i32 {
    deal_rolled_above(em, target, source, rolls, crit, half, None)
}

/// [`deal_rolled`], with the damage unable to take the target below `keep` hit
/// points when given (Harm: 1).
pub(crate) fn deal_rolled_above(
    em: &mut Emitter,
    target: CreatureId,
    source: Option<CreatureId>,
    rolls: &[(crate::data::DamageType, crate::dice::Roll)],
    crit: bool,
    half: bool,
    keep: Option<i32>,
) -> i32 {
    let before = em.creature(target).clone();
    if before.dead {
        return 0;
    }
    let mut total: i32 = 0;
    for (damage_type, roll) in rolls {
        let damage_type = *damage_type;
        let rolled = (roll.total.clamp(0, 100_000) as i32).max(0);
        let base = if half { rolled / 2 } else { rolled };
        let t = em.creature(target);
        let (modifier, amount) = if t.immunities.contains(&damage_type)
            || t.has_mark(|m| *m == Mark::ImmuneDamage { damage_type })
        {
            (DamageModifier::Immune, 0)
        } else if t.resists(damage_type) || t.has(Condition::Petrified) {
            (DamageModifier::Resisted, base / 2)
        } else if t.vulnerabilities.contains(&damage_type) {
            (DamageModifier::Vulnerable, base * 2)
        } else {
            (DamageModifier::None, base)
        };
        let amount = match keep {
            Some(k) => amount.min(
                before
                    .hp
                    .saturating_add(before.temp_hp.max(0))
                    .saturating_sub(k)
                    .saturating_sub(total)
                    .max(0),
            ),
            None => amount,
        };
        let breakdown = if half {
            format!("{} (halved)", roll.breakdown)
        } else {
            roll.breakdown.clone()
        };
        em.public(EventKind::DamageDealt {
            target,
            source,
            damage_type,
            breakdown,
            rolled,
            modifier,
            amount,
        });
        total = total.saturating_add(amount);
    }
    if total > 0 {
        end_marks_on(em, target, crate::effect::EndsOn::Damage);
        save_on_damage(em, target);
    }
    after_damage(em, target, source, &before, total, crit);
    total
}

/// What follows from `amount` damage (already dealt) to a creature that looked like
/// `before` when the hit landed.
fn after_damage(
    em: &mut Emitter,
    target: CreatureId,
    source: Option<CreatureId>,
    before: &crate::creature::Creature,
    amount: i32,
    crit: bool,
) {
    if amount <= 0 {
        return;
    }
    let through = amount.saturating_sub(before.temp_hp.clamp(0, amount));
    if before.hp <= 0 && before.is_pc() {
        // Damage while dying: death-save failures, or death from massive damage.
        if through >= before.max_hp {
            em.public(EventKind::Died { creature: target });
            return;
        }
        let failures = before
            .death_saves
            .failures
            .saturating_add(if crit { 2 } else { 1 })
            .min(3);
        em.public(EventKind::DeathSaveFailedByDamage {
            creature: target,
            failures,
        });
        if failures >= 3 {
            em.public(EventKind::Died { creature: target });
        }
        return;
    }
    let after = em.creature(target).clone();
    // Wild Shape: the beast form drops and the rest carries over to the druid.
    if after.hp <= 0
        && super::class_actions::wild_shape_dropped(
            em,
            target,
            source,
            through.saturating_sub(before.hp.max(0)),
        )
    {
        return;
    }
    if after.hp <= 0
        && let Some(ward) = after.marks().find(|a| a.mark == Mark::DeathWard).copied()
    {
        // Death Ward: 1 hit point instead of 0, and the ward is spent.
        end_mark(em, target, ward);
        em.public(EventKind::HitPointsSet { target, hp: 1 });
        return;
    }
    if after.hp <= 0 {
        let overflow = through.saturating_sub(before.hp);
        if after.is_pc() && overflow >= after.max_hp {
            // Massive damage: instant death.
            end_concentration(em, target);
            em.public(EventKind::Died { creature: target });
        } else if !super::features::relentless_rage(em, target)
            && !super::features::relentless_endurance(em, target)
        {
            drop_to_zero(em, target, source);
        }
        return;
    }
    if after.concentration.is_some() {
        let dc = (amount / 2).max(10);
        if !saving_throw(em, target, Ability::Con, Advantage::Normal, Some(dc)) {
            end_concentration(em, target);
        }
    }
}

/// A creature has just reached 0 hit points (and was not killed outright): it loses
/// concentration; a monster dies; a player character falls unconscious and prone and
/// starts making death saves.
pub(crate) fn drop_to_zero(em: &mut Emitter, target: CreatureId, source: Option<CreatureId>) {
    end_concentration(em, target);
    let c = em.creature(target).clone();
    if !c.is_pc() {
        em.public(EventKind::Died { creature: target });
        super::class_options::dark_ones_blessing(em, source, target);
        return;
    }
    super::class_options::dark_ones_blessing(em, source, target);
    em.public(EventKind::FellUnconscious { creature: target });
    if !c.has(Condition::Unconscious) {
        em.public(EventKind::ConditionApplied {
            creature: target,
            condition: Condition::Unconscious,
            source,
        });
    }
    if !c.has(Condition::Prone) {
        em.public(EventKind::ConditionApplied {
            creature: target,
            condition: Condition::Prone,
            source,
        });
    }
}

/// A creature at 0 hit points has just got some back: it wakes up.
pub(crate) fn wake_up(em: &mut Emitter, target: CreatureId) {
    if em.creature(target).has(Condition::Unconscious) {
        em.public(EventKind::ConditionRemoved {
            creature: target,
            condition: Condition::Unconscious,
        });
    }
}

/// A spell's duration in minutes ("Up to 1 minute", "1 hour", "Up to 8 hours",
/// "10 days"); `None` for "Instantaneous", "Until dispelled" and the like.
fn duration_minutes(text: &str) -> Option<u32> {
    let t = text.to_ascii_lowercase();
    let t = t.trim_start_matches("concentration,").trim();
    let t = t.trim_start_matches("up to").trim();
    let mut words = t.split_whitespace();
    let n: u32 = words.next()?.parse().ok()?;
    let unit = words.next()?;
    let per = match unit.trim_end_matches('s') {
        "round" => 1,
        "minute" => 1,
        "hour" => 60,
        "day" => 24 * 60,
        _ => return None,
    };
    Some(n.saturating_mul(per))
}

/// Ends a creature's concentration and every effect that depended on it.
pub(crate) fn end_concentration(em: &mut Emitter, who: CreatureId) {
    let Some(spell) = em.creature(who).concentration.clone() else {
        return;
    };
    let blessed: Vec<CreatureId> = em
        .state
        .creatures
        .values()
        .filter(|c| c.has_effect(&Effect::Blessed { by: who }))
        .map(|c| c.id)
        .collect();
    for c in blessed {
        em.public(EventKind::EffectEnded {
            creature: c,
            effect: Effect::Blessed { by: who },
        });
    }
    let linked: Vec<(CreatureId, Active)> = em
        .state
        .creatures
        .values()
        .flat_map(|c| c.marks().map(move |a| (c.id, *a)))
        .filter(|(_, a)| a.by == who && a.concentration)
        .collect();
    for (c, a) in linked {
        end_mark(em, c, a);
    }
    // Conjured creatures vanish with the concentration that holds them.
    super::summon::dismiss(em, who);
    em.public(EventKind::ConcentrationEnded {
        creature: who,
        spell,
    });
}

/// Heals a creature by a rolled amount (dice already including any modifier).
pub(crate) fn heal(
    em: &mut Emitter,
    target: CreatureId,
    source: Option<CreatureId>,
    dice: &str,
) -> Result<i32, RuleError> {
    let t = em.creature(target);
    if t.dead {
        return Err(RuleError::invalid(format!(
            "{} is dead — healing can't help now.",
            t.name
        )));
    }
    let was_down = t.hp <= 0;
    let blocked = t.has_mark(|m| *m == Mark::NoHealing);
    // Beacon of Hope: the most the dice can give, none rolled.
    let hopeful = t.has_mark(|m| *m == Mark::Hopeful);
    let (total, breakdown) = if hopeful && !blocked {
        let expr = crate::dice::parse(dice)?;
        let most = expr.bounds().1;
        (most, format!("{expr} maximised (Beacon of Hope) = {most}"))
    } else {
        let roll = crate::dice::roll(dice, em.dice)?;
        (roll.total, roll.breakdown)
    };
    let amount = if blocked {
        0
    } else {
        (total.clamp(0, 100_000) as i32).max(0)
    };
    em.public(EventKind::HealingReceived {
        target,
        source,
        breakdown: if blocked {
            format!("{breakdown} (can't regain hit points)")
        } else {
            breakdown
        },
        amount,
    });
    if was_down && em.creature(target).hp > 0 {
        wake_up(em, target);
    }
    Ok(amount)
}

/// A death save at the start of a dying character's turn.
pub(crate) fn death_save(em: &mut Emitter, who: CreatureId) {
    let c = em.creature(who).clone();
    let mut roll = em.dice.roll(20);
    // Beacon of Hope: advantage on death saves.
    if c.has_mark(|m| *m == Mark::Hopeful) {
        roll = roll.max(em.dice.roll(20));
    }
    let (mut s, mut f) = (c.death_saves.successes, c.death_saves.failures);
    match roll {
        20 => {
            em.public(EventKind::DeathSaveRolled {
                creature: who,
                roll,
                successes: s,
                failures: f,
            });
            em.public(EventKind::Revived { creature: who });
            wake_up(em, who);
            return;
        }
        1 => f = f.saturating_add(2).min(3),
        r if r >= 10 => s = s.saturating_add(1).min(3),
        _ => f = f.saturating_add(1).min(3),
    }
    em.public(EventKind::DeathSaveRolled {
        creature: who,
        roll,
        successes: s,
        failures: f,
    });
    if f >= 3 {
        em.public(EventKind::Died { creature: who });
    } else if s >= 3 {
        em.public(EventKind::Stabilised { creature: who });
    }
}

/// A short rest (spending hit dice) or a long rest. Refused for the dead, and a long
/// rest needs at least 1 hit point at its start to do anything.
pub(crate) fn rest(
    em: &mut Emitter,
    who: CreatureId,
    kind: RestKind,
    hit_dice: u32,
) -> Result<(), RuleError> {
    let c = em.creature(who).clone();
    if c.dead {
        return Err(RuleError::CannotAct {
            who: c.name.clone(),
            why: "dead".into(),
        });
    }
    // Wild Shape ends with a rest (the druid rests in its own form).
    if c.pc.as_ref().is_some_and(|p| p.wild_shape.is_some()) {
        em.public(EventKind::WildShape {
            creature: who,
            beast: None,
        });
    }
    // A rest lasts an hour or more: round-long marks are long gone; a long rest ends
    // the 8-hour ones too.
    end_marks_where(em, |c, a| {
        c == who
            && (a.until.is_round_bound() || (kind == RestKind::Long && a.until == Until::LongRest))
    });
    // So is a concentration spell that cannot last the rest (Hold Person's minute), with
    // every effect it sustained on others.
    let rest_minutes = match kind {
        RestKind::Short => 60,
        RestKind::Long => 8 * 60,
    };
    if let Some(spell) = em.creature(who).concentration.clone()
        && em
            .state
            .catalog
            .spell(&spell)
            .is_none_or(|sd| duration_minutes(&sd.duration).is_none_or(|m| m <= rest_minutes))
    {
        end_concentration(em, who);
    }
    let c = em.creature(who).clone();
    match kind {
        RestKind::Short => {
            // Hit dice are spent one at a time, and only while hit points are missing:
            // at full hit points a short rest spends none.
            let missing = c.effective_max_hp().saturating_sub(c.hp.max(0)).max(0);
            let pact_slots_back = c.pc.as_ref().is_some_and(|p| p.class == "warlock")
                && c.spellcasting
                    .as_ref()
                    .is_some_and(|sc| sc.used_slots.iter().any(|u| *u > 0));
            if hit_dice > 0 && missing == 0 && !pact_slots_back {
                return Err(RuleError::invalid(format!(
                    "{} is already at full hit points — no hit dice spent.",
                    c.name
                )));
            }
            let want = hit_dice.min(c.hit_dice.remaining).min(20);
            let die = c.hit_dice.die.clamp(1, 100);
            let con = c.modifier(Ability::Con);
            let mut hp: i32 = 0;
            let mut spend = 0;
            while spend < want && hp < missing {
                hp = hp.saturating_add((em.dice.roll(die) as i32).saturating_add(con).max(0));
                spend += 1;
            }
            // Song of Rest: a bard's die more for spending hit dice.
            if spend > 0 && hp < missing {
                hp = hp.saturating_add(super::features::song_of_rest(em, who));
            }
            let hp = hp.min(missing).max(0);
            em.emit(
                Visibility::Party,
                EventKind::Rested {
                    creature: who,
                    kind,
                    hit_dice_spent: spend,
                    hp_regained: hp,
                },
            );
            if c.hp <= 0 && hp > 0 {
                wake_up(em, who);
            }
        }
        RestKind::Long => {
            if c.hp <= 0 {
                return Err(RuleError::invalid(format!(
                    "{} needs at least 1 hit point to benefit from a long rest.",
                    c.name
                )));
            }
            // The rest takes away a level of exhaustion first, so a character at
            // exhaustion 4 gets its full hit point maximum back with level 3.
            let mut rested = c.clone();
            rested.exhaustion = rested.exhaustion.saturating_sub(1);
            rested
                .effects
                .retain(|e| !matches!(e, crate::creature::Effect::Aided { .. }));
            let hp = (rested.effective_max_hp() - c.hp).max(0);
            em.emit(
                Visibility::Party,
                EventKind::Rested {
                    creature: who,
                    kind,
                    hit_dice_spent: 0,
                    hp_regained: hp,
                },
            );
            for cond in [Condition::Unconscious, Condition::Prone] {
                if em.creature(who).has(cond) {
                    em.public(EventKind::ConditionRemoved {
                        creature: who,
                        condition: cond,
                    });
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod duration_tests {
    use super::duration_minutes;

    #[test]
    fn spell_durations_read_as_minutes() {
        assert_eq!(duration_minutes("Up to 1 minute"), Some(1));
        assert_eq!(duration_minutes("Up to 10 minutes"), Some(10));
        assert_eq!(duration_minutes("1 hour"), Some(60));
        assert_eq!(duration_minutes("Up to 8 hours"), Some(480));
        assert_eq!(duration_minutes("Up to 24 hours"), Some(1440));
        assert_eq!(duration_minutes("1 round"), Some(1));
        assert_eq!(duration_minutes("Instantaneous"), None);
        assert_eq!(duration_minutes("Until dispelled"), None);
        assert_eq!(duration_minutes("4294967296 days"), None);
    }
}
