//! Casting spells: slots, action cost, concentration, and the interpreter of the effect
//! language ([`crate::effect`]) every spell resolves through.

use super::{Emitter, find_creature, resolve};
use crate::creature::Effect;
use crate::data::{SaveEffect, SpellData};
use crate::effect::{
    Active, Amount, Duration, EndsOn, Mark, Repeat, SaveEnds, SpellEffect, Step, Target, Until,
};
use crate::error::RuleError;
use crate::event::{ActionCost, AttackOutcome, EventKind};
use crate::ids::CreatureId;
use std::collections::BTreeMap;

/// The most targets one spell may name.
const MAX_TARGETS: usize = 12;

/// A monster caster's stat-block spellcasting (its DC and attack bonus as stated, its
/// innate uses), from the catalog.
pub(crate) fn monster_casting<'a>(
    em: &'a Emitter,
    c: &crate::creature::Creature,
) -> Option<&'a crate::data::MonsterSpellcasting> {
    em.state
        .catalog
        .monster(c.monster.as_deref()?)?
        .spellcasting
        .as_ref()
}

/// Uses per day of a monster's innate spell (`Some(0)`: at will; `None`: not innate).
pub(crate) fn innate_uses(em: &Emitter, c: &crate::creature::Creature, index: &str) -> Option<u32> {
    monster_casting(em, c)?
        .spells
        .iter()
        .find(|(i, _)| i == index)
        .and_then(|(_, u)| *u)
}

/// The `spent` key counting an innate spell's uses.
pub(crate) fn innate_key(index: &str) -> String {
    format!("spell:{index}")
}

pub(crate) fn cost_of(spell: &SpellData) -> ActionCost {
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

pub(crate) fn cast(
    em: &mut Emitter,
    me: CreatureId,
    spell_name: &str,
    targets: &[String],
    slot: Option<u8>,
) -> Result<(), RuleError> {
    cast_inner(em, me, spell_name, targets, slot, true)
}

/// A cast that a foe's Counterspell let through (or did not stop): no new window.
pub(crate) fn cast_unopposed(
    em: &mut Emitter,
    me: CreatureId,
    spell_name: &str,
    targets: &[String],
    slot: Option<u8>,
) -> Result<(), RuleError> {
    cast_inner(em, me, spell_name, targets, slot, false)
}

fn cast_inner(
    em: &mut Emitter,
    me: CreatureId,
    spell_name: &str,
    targets: &[String],
    slot: Option<u8>,
    counterable: bool,
) -> Result<(), RuleError> {
    // The targets as asked (with any choice word), for a cast that waits.
    let asked = targets;
    let caster = em.creature(me).clone();
    // A Metamagic word said with the name ("quickened fire bolt") joins the words.
    let mut named = targets.to_vec();
    let spell_name = match super::class_options::split_spell_name(spell_name) {
        Some((name, word)) if em.state.catalog.spell(spell_name).is_none() => {
            named.push(word);
            name
        }
        _ => spell_name.to_string(),
    };
    let (spell_name, targets) = (spell_name.as_str(), &named[..]);
    // Wild Shape: a beast casts no spells.
    if caster.pc.as_ref().is_some_and(|p| p.wild_shape.is_some()) {
        return Err(RuleError::invalid(format!(
            "{} can't cast spells in a beast's shape (`use wild shape` to return).",
            caster.name
        )));
    }
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
    // An Eldritch Invocation's spell at will (no slot named): no slot, known or not.
    let at_will = crate::class_options::at_will(&caster, &spell.index).filter(|_| slot.is_none());
    if !sc.knows(&spell.index) && at_will.is_none() {
        return Err(super::character::why_not_ready(&caster, &spell));
    }
    if effect_of(&spell)
        .steps
        .iter()
        .any(|s| matches!(s, Step::Counter))
    {
        return Err(RuleError::invalid(format!(
            "{} is cast as a reaction when a foe within 60 feet casts a spell: the \
             offer comes then (react use).",
            spell.name
        )));
    }
    if targets.len() > MAX_TARGETS {
        return Err(RuleError::invalid(format!(
            "A spell can name at most {MAX_TARGETS} targets."
        )));
    }
    if spell.verbal && caster.has_mark(|m| *m == Mark::Silenced) {
        return Err(RuleError::invalid(format!(
            "{} can't speak the words of {} in the silence.",
            caster.name, spell.name
        )));
    }
    let effect = spell
        .effect
        .clone()
        .unwrap_or_else(|| crate::effect::generate(&spell));
    // A lasting spell already running (Spiritual Weapon): its repeated part.
    let key = crate::effect::spell_key(&spell.index);
    if let Some(again) = &effect.again
        && let Some(slot) = caster.marks().find_map(|a| match a.mark {
            Mark::Recast { spell: k, slot } if k == key && a.by == me => Some(slot),
            _ => None,
        })
    {
        return cast_again(em, me, &spell, sc.ability, again, slot, targets);
    }
    // A monster's innate spell: no slot; uses per day (0: at will).
    let innate = innate_uses(em, &caster, &spell.index);
    if let Some(uses) = innate
        && uses > 0
        && caster
            .spent
            .get(&innate_key(&spell.index))
            .copied()
            .unwrap_or(0)
            >= uses
    {
        return Err(RuleError::invalid(format!(
            "{} has no use of {} left today.",
            caster.name, spell.name
        )));
    }
    let slot = if spell.level == 0 || innate.is_some() || at_will.is_some() {
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
    // Metamagic named among the words ("quickened"), checked before anything is told.
    let mut words = targets.to_vec();
    let meta = super::class_options::metamagic(
        em,
        &caster,
        &spell,
        &effect,
        slot.unwrap_or(spell.level),
        &mut words,
    )?;
    let targets = &words[..];
    let mut cost = cost_of(&spell);
    if meta.is_some_and(|m| m.is("quickened-spell")) {
        cost = ActionCost::BonusAction;
    }
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

    let slot_level = slot.unwrap_or(spell.level);
    let caster_level = caster.caster_level();
    let strikes = strikes(&effect.repeat, spell.level, slot_level, caster_level);

    // A choice the caster makes (Protection from Energy's type): its word is no target.
    let (effect, targets) = choose(&spell, effect, targets)?;
    // A summons' creature named among the words (Conjure Animals wolf): no target.
    let (effect, targets) = super::summon::pick(em, &spell, effect, &targets, slot_level)?;
    // A shape named among the words (Polymorph ... giant ape): no target.
    let (mut effect, targets) = super::shapes::pick(em, &spell, effect, &targets)?;
    if meta.is_some_and(|m| m.is("twinned-spell")) {
        super::class_options::twin(&mut effect);
    }
    // Resolve targets before anything is emitted.
    let target_ids = resolve_targets(em, me, &spell, &effect, &targets, slot_level, strikes)?;
    if let Some(o) = at_will {
        super::class_options::check_at_will_targets(&caster, o, &spell, &target_ids)?;
    }
    // Spells for some creature types only (Hold Person: humanoids) refuse the others.
    for step in &effect.steps {
        if let Step::IfType { types, except, .. } = step
            && let Some(t) = target_ids
                .iter()
                .find(|t| !type_ok(em, **t, types, *except))
        {
            let who = em.creature(*t);
            return Err(RuleError::invalid(format!(
                "{} {} {}; {} is {}.",
                spell.name,
                if *except {
                    "has no effect on"
                } else {
                    "affects only"
                },
                types.join(" or "),
                who.name,
                creature_type(em, *t)
            )));
        }
    }

    // Globe of Invulnerability: warded creatures are beyond a low enough spell.
    let target_ids = super::barriers::spell_ward(em, me, &spell, slot_level, target_ids)?;
    // Revivify: only the dead, within the last minute.
    let revive = effect.steps.iter().any(|s| matches!(s, Step::Revive));
    if revive && let Some(why) = target_ids.iter().find_map(|t| too_late(em, *t)) {
        return Err(RuleError::invalid(format!("{}: {why}", spell.name)));
    }
    // A foe's Counterspell, before anything of the spell happens.
    if counterable {
        match super::counter::before_cast(em, me, &spell, slot_level, asked, slot, cost)? {
            super::counter::Countered::No => {}
            super::counter::Countered::Waiting => return Ok(()),
            // A stopped spell was still cast: its Metamagic's points are spent.
            super::counter::Countered::Stopped => {
                if let Some(m) = &meta {
                    super::class_options::tell_metamagic(em, me, m);
                }
                return Ok(());
            }
        }
    }
    // Sanctuary: a harmful spell aimed at a warded creature (not an area) needs a
    // Wisdom save; turned away, that target is dropped, and with none left the spell
    // is not cast (another target may be chosen).
    let mut target_ids = target_ids;
    if effect.hostile && effect.target != Target::Area {
        let mut kept = Vec::with_capacity(target_ids.len());
        for t in target_ids {
            if !resolve::sanctuary(em, me, t)? {
                kept.push(t);
            }
        }
        if kept.is_empty() {
            return Ok(());
        }
        target_ids = kept;
    }
    if spell.concentration && caster.concentration.is_some() {
        resolve::end_concentration(em, me);
    }
    if let Some(m) = &meta {
        super::class_options::tell_metamagic(em, me, m);
    }
    em.public(EventKind::SpellCast {
        caster: me,
        spell: spell.index.clone(),
        name: spell.name.clone(),
        slot,
        cost,
        targets: target_ids.clone(),
        again: false,
    });
    if innate.is_some_and(|u| u > 0) {
        em.public(EventKind::LimitedActionUsed {
            creature: me,
            action: innate_key(&spell.index),
        });
    }
    if spell.concentration {
        em.public(EventKind::ConcentrationStarted {
            creature: me,
            spell: spell.index.clone(),
        });
    }
    let mut cx = context(em, me, &spell, sc.ability, slot_level);
    cx.mods = super::class_options::CastMods::new(em, me, &spell, meta.as_ref(), &target_ids);
    // Sculpt Spells spares the allies the area caught, not those named.
    cx.mods.sculpted.retain(|t| {
        !targets
            .iter()
            .any(|n| find_creature(&em.state, n, |_| true).is_ok_and(|id| id == *t))
    });
    // Casting a spell ends what ends on an attack or a spell (Invisibility).
    resolve::end_marks_on(em, me, EndsOn::AttackOrCast);
    if effect.hostile {
        resolve::end_marks_on(em, me, EndsOn::AttackOrHarm);
    }
    // Turns rolled once for the casting (Time Stop's 1d4 + 1).
    roll_turns(em, me, &mut effect.steps)?;
    // Steps that act on the whole group once (Sleep's pool), then the rest per strike.
    let mut pools = Vec::new();
    group_steps(&effect.steps, None, &mut pools);
    for (on, amount, mark, duration, spare) in pools {
        cx.ends_on = on;
        let spared: Vec<CreatureId> = target_ids
            .iter()
            .copied()
            .filter(|t| {
                spare.as_ref().is_none_or(|s| {
                    type_ok(em, *t, &s.types, true)
                        && s.immune_to.is_none_or(|c| !immune(em.creature(*t), c))
                })
            })
            .collect();
        hp_pool(em, &mut cx, &spared, &amount, mark, duration)?;
    }
    // A zone whose effect lasts while inside (Darkness): in a fight, what the
    // casting puts on the creatures it caught ends when they leave it.
    cx.ends_on = effect
        .zone
        .as_ref()
        .filter(|z| z.when.while_inside)
        .map(|_| EndsOn::LeaveZone);
    let per_target = without_group_steps(&effect.steps);
    if !per_target.is_empty() && !target_ids.is_empty() {
        // Damage behind a saving throw is rolled once, before the saves, for every
        // target (as the rules say for area spells).
        preroll(em, &mut cx, &per_target)?;
        let n = strikes.max(target_ids.len());
        // A monster's lone spell attack may wait for its target's reaction.
        let pause = meta.is_none() && pausable(em, me, &effect, &per_target);
        if strike_loop(
            em,
            &mut cx,
            &spell,
            &effect,
            &per_target,
            &target_ids,
            0..n,
            pause,
        )? {
            return Ok(());
        }
    }
    // A zone stays where it was cast, holding the creatures it caught (out of a
    // fight it waits for the next one: `CampaignState::waiting_zones`).
    if let Some(spec) = &effect.zone
        && !em.creature(me).dead
        && (!spell.concentration || em.creature(me).concentration.is_some())
    {
        place_zone(em, &cx, &spell, spec, &target_ids);
    }
    // A lasting spell with a repeated part: its caster may use it on later turns.
    if let Some(again) = &effect.again
        && !em.creature(me).dead
    {
        let mark = Mark::Recast {
            spell: key,
            slot: slot_level,
        };
        put_mark(em, &cx, me, mark, again.duration, None);
    }
    // Casting gives a hidden caster away (an attack roll already did).
    if em.creature(me).has_effect(&Effect::Hidden) {
        em.public(EventKind::EffectEnded {
            creature: me,
            effect: Effect::Hidden,
        });
    }
    super::combat::check_end(em);
    Ok(())
}

/// Whether `me`'s casting of `effect` may pause at its attack roll for the target's
/// reaction: a monster's, in a fight, whose every strike is one attack roll and
/// nothing else (Fire Bolt, Ray of Frost, Scorching Ray, Guiding Bolt), with nothing
/// to do after the strikes (no zone, no repeated part).
fn pausable(em: &Emitter, me: CreatureId, effect: &SpellEffect, per_target: &[Step]) -> bool {
    em.state.in_combat()
        && !em.creature(me).is_pc()
        && effect.zone.is_none()
        && effect.again.is_none()
        && matches!(per_target, [Step::Attack { .. }])
}

/// Runs strikes `range` of a casting on `target_ids` (in turn). With `pause`, a strike
/// whose attack roll hits a player character that can react opens the reaction window
/// and the rest waits in it: returns true.
#[allow(clippy::too_many_arguments)]
fn strike_loop(
    em: &mut Emitter,
    cx: &mut Cx,
    spell: &SpellData,
    effect: &SpellEffect,
    per_target: &[Step],
    target_ids: &[CreatureId],
    range: std::ops::Range<usize>,
    pause: bool,
) -> Result<bool, RuleError> {
    if target_ids.is_empty() {
        return Ok(false);
    }
    let revive = effect.steps.iter().any(|s| matches!(s, Step::Revive));
    for i in range {
        let t = target_ids[i % target_ids.len()];
        let c = em.creature(t);
        let raise = c.dead && revive;
        if (c.dead && !raise) || (effect.hostile && c.is_down() && !c.is_pc()) {
            continue;
        }
        // Shield: Magic Missile's darts do not reach its caster.
        if spell.index == "magic-missile" && c.has_mark(|m| *m == Mark::MagicMissileWard) {
            continue;
        }
        if pause
            && let [
                Step::Attack {
                    reach,
                    on_hit,
                    on_miss,
                },
            ] = per_target
        {
            let approach = super::position::approach(em, cx.me, t, *reach)?;
            let outcome =
                resolve::attack_roll(em, cx.me, t, &cx.name, cx.attack_bonus, *reach, approach);
            let total = match em.events.last().map(|e| &e.kind) {
                Some(EventKind::AttackRolled { total, .. }) => *total,
                _ => i32::MAX,
            };
            if outcome.is_hit()
                && let Some(reaction) = super::combat::reaction_for(em, t, outcome, total, true)
            {
                let ms = em.state.settings.reaction_timeout_ms;
                let npc_turn =
                    em.state.combat.as_ref().and_then(|c| c.active_creature()) == Some(cx.me);
                let window = crate::event::ReactionWindow {
                    reactor: t,
                    reaction,
                    deadline: em.now.plus_ms(ms.min(super::combat::MAX_REACTION_MS)),
                    pending: crate::event::PendingHit {
                        attacker: cx.me,
                        target: t,
                        attack: spell.name.clone(),
                        total,
                        outcome,
                        rest: vec![],
                        then: crate::event::AfterHit::Spell {
                            spell: crate::event::PendingSpellHit {
                                spell: spell.index.clone(),
                                level: cx.slot,
                                targets: target_ids.to_vec(),
                                strike: u8::try_from(i).unwrap_or(u8::MAX),
                                npc_turn,
                            },
                        },
                    },
                    cast: None,
                };
                em.public(EventKind::ReactionOffered { window });
                return Ok(true);
            }
            spell_hit(em, cx, t, outcome, on_hit, on_miss, false)?;
            continue;
        }
        run(em, cx, t, per_target, Hit::default())?;
    }
    Ok(false)
}

/// A spell attack's outcome on `t`: the steps on a hit (halved by Uncanny Dodge with
/// `dodge`) or on a miss.
fn spell_hit(
    em: &mut Emitter,
    cx: &mut Cx,
    t: CreatureId,
    outcome: AttackOutcome,
    on_hit: &[Step],
    on_miss: &[Step],
    dodge: bool,
) -> Result<(), RuleError> {
    let next = if outcome.is_hit() { on_hit } else { on_miss };
    let h = Hit {
        crit: outcome == AttackOutcome::CriticalHit,
        riders: outcome.is_hit(),
        dodge,
        ..Hit::default()
    };
    run(em, cx, t, next, h)?;
    if outcome.is_hit() {
        super::class_options::repel(em, &cx.mods, cx.me, t);
    }
    Ok(())
}

/// Closes a monster's spell attack window (`dodge`: Uncanny Dodge taken): the hit
/// against the target's AC now (Shield may have made it a miss), then the casting's
/// later strikes (which may open another window: then true).
pub(crate) fn resume_attack(
    em: &mut Emitter,
    hit: &crate::event::PendingHit,
    p: &crate::event::PendingSpellHit,
    dodge: bool,
) -> Result<bool, RuleError> {
    let me = hit.attacker;
    let Some(spell) = em.state.catalog.spell(&p.spell).cloned() else {
        return Ok(false);
    };
    let Some(ability) = em.creature(me).spellcasting.as_ref().map(|sc| sc.ability) else {
        return Ok(false);
    };
    if !em.state.in_combat() || em.creature(me).is_down() {
        return Ok(false);
    }
    let effect = effect_of(&spell);
    let per_target = without_group_steps(&effect.steps);
    let [
        Step::Attack {
            on_hit, on_miss, ..
        },
    ] = &per_target[..]
    else {
        return Ok(false);
    };
    let level = p.level.clamp(spell.level, 9);
    let targets: Vec<CreatureId> = p
        .targets
        .iter()
        .copied()
        .filter(|t| em.state.creatures.contains_key(t))
        .take(MAX_TARGETS)
        .collect();
    let mut cx = context(em, me, &spell, ability, level);
    cx.mods = super::class_options::CastMods::new(em, me, &spell, None, &targets);
    let t = hit.target;
    if !em.creature(t).dead {
        let outcome = if hit.outcome == AttackOutcome::CriticalHit
            || hit.total >= em.creature(t).effective_ac()
        {
            hit.outcome
        } else {
            AttackOutcome::Miss
        };
        spell_hit(em, &mut cx, t, outcome, on_hit, on_miss, dodge)?;
    }
    let caster_level = em.creature(me).caster_level();
    let n = strikes(&effect.repeat, spell.level, level, caster_level).max(targets.len());
    let from = usize::from(p.strike).saturating_add(1).min(n);
    let paused = strike_loop(
        em,
        &mut cx,
        &spell,
        &effect,
        &per_target,
        &targets,
        from..n,
        true,
    )?;
    if !paused {
        super::combat::check_end(em);
    }
    Ok(paused)
}

fn effect_of(spell: &SpellData) -> SpellEffect {
    spell
        .effect
        .clone()
        .unwrap_or_else(|| crate::effect::generate(spell))
}

/// The spells `who` can cast again now with no slot (a lasting spell's repeated part:
/// Moonbeam's beam, Spiritual Weapon's attack, Hunter's Mark moved), by SRD index, in
/// the order it knows them. The turn's options list them (NPC options, the front
/// ends' turn prompts).
pub fn recasts(state: &crate::state::CampaignState, who: CreatureId) -> Vec<String> {
    let Some(c) = state.creature(who) else {
        return vec![];
    };
    let Some(sc) = c.spellcasting.as_ref() else {
        return vec![];
    };
    let keys: Vec<u32> = c
        .marks()
        .filter(|a| a.by == who)
        .filter_map(|a| match a.mark {
            Mark::Recast { spell, .. } => Some(spell),
            _ => None,
        })
        .collect();
    if keys.is_empty() {
        return vec![];
    }
    sc.spells
        .iter()
        .filter(|i| keys.contains(&crate::effect::spell_key(i)))
        .filter(|i| {
            state.catalog.spell(i).is_some_and(|s| {
                s.effect
                    .as_ref()
                    .and_then(|e| e.again.as_ref())
                    .is_some_and(|a| marked_by(state, who, a).is_none())
            })
        })
        .cloned()
        .collect()
}

/// NPC options for casting `spell`'s repeated part again: at each standing foe it can
/// reach (harmful), or on itself.
/// The creature still standing that bears `me`'s mark which `again` moves (Hex,
/// Hunter's Mark: a mark of extra damage from its caster), by name.
fn marked_by(
    state: &crate::state::CampaignState,
    me: CreatureId,
    again: &crate::effect::Again,
) -> Option<String> {
    fn moved(steps: &[Step], out: &mut Vec<Mark>) {
        for s in steps {
            if let Step::Apply {
                mark: m @ Mark::BonusDamage { .. },
                ..
            } = s
            {
                out.push(*m);
            }
            for inner in inner_steps(s).unwrap_or_default() {
                moved(inner, out);
            }
        }
    }
    let mut marks = Vec::new();
    moved(&again.steps, &mut marks);
    if marks.is_empty() {
        return None;
    }
    state
        .creatures
        .values()
        .find(|c| !c.dead && c.hp > 0 && c.marks().any(|a| a.by == me && marks.contains(&a.mark)))
        .map(|c| c.name.clone())
}

pub(crate) fn again_options(
    state: &crate::state::CampaignState,
    npc: &crate::creature::Creature,
    spell: &SpellData,
    foes: &[&crate::creature::Creature],
) -> Vec<crate::command::NpcOption> {
    let Some(again) = spell.effect.as_ref().and_then(|e| e.again.as_ref()) else {
        return vec![];
    };
    if marked_by(state, npc.id, again).is_some() {
        return vec![];
    }
    let mut words = Vec::new();
    choice_words(&again.steps, &mut words);
    let cast = |targets: Vec<String>| crate::command::NpcOption::Cast {
        spell: spell.index.clone(),
        targets,
        slot: None,
    };
    if !again.hostile {
        return vec![cast(vec![])];
    }
    let melee = again.steps.iter().any(|s| {
        matches!(
            s,
            Step::Attack {
                reach: crate::data::Reach::Melee,
                ..
            }
        )
    });
    foes.iter()
        .filter(|t| !melee || super::position::can_reach(state, npc.id, t.id))
        .map(|t| {
            cast(
                std::iter::once(t.name.clone())
                    .chain(words.first().cloned())
                    .collect(),
            )
        })
        .collect()
}

/// Why Revivify can't bring `t` back: alive, or dead for more than a minute.
fn too_late(em: &Emitter, t: CreatureId) -> Option<String> {
    let c = em.creature(t);
    if !c.dead {
        return Some(format!("{} is not dead.", c.name));
    }
    let now = em.state.combat.as_ref().map(|c| c.round);
    let in_time = match (c.died_round, now) {
        // In the fight it died in: ten rounds are a minute.
        (Some(r), Some(now)) => now.saturating_sub(r) <= 10,
        // Right after the fight (no rest, no new fight since).
        (Some(_), None) => true,
        (None, _) => false,
    };
    (!in_time).then(|| format!("{} died more than a minute ago.", c.name))
}

/// [`Step::Choose`]: the word among the cast's targets that names one of the choices
/// picks it (case-insensitive); the effect keeps only that branch and the word is no
/// target. No word, or two different ones, is refused with the choices.
fn choose(
    spell: &SpellData,
    mut effect: crate::effect::SpellEffect,
    targets: &[String],
) -> Result<(crate::effect::SpellEffect, Vec<String>), RuleError> {
    let mut words = Vec::new();
    choice_words(&effect.steps, &mut words);
    if words.is_empty() {
        return Ok((effect, targets.to_vec()));
    }
    let mut picked: Vec<String> = Vec::new();
    let mut rest = Vec::new();
    for t in targets {
        match words.iter().find(|w| w.eq_ignore_ascii_case(t.trim())) {
            Some(w) => {
                if !picked.contains(w) {
                    picked.push(w.clone());
                }
            }
            None => rest.push(t.clone()),
        }
    }
    let [word] = picked.as_slice() else {
        return Err(RuleError::invalid(format!(
            "{}: name one choice among the targets: {}.",
            spell.name,
            words.join(", ")
        )));
    };
    keep_choice(&mut effect.steps, word);
    Ok((effect, rest))
}

/// The words of every [`Step::Choose`] in the steps (NPC options offer one each).
pub fn choice_words(steps: &[Step], out: &mut Vec<String>) {
    for s in steps {
        match s {
            Step::Choose { options } => {
                for (k, then) in options {
                    if !out.contains(k) {
                        out.push(k.clone());
                    }
                    choice_words(then, out);
                }
            }
            _ => {
                if let Some(inner) = inner_steps(s) {
                    for list in inner {
                        choice_words(list, out);
                    }
                }
            }
        }
    }
}

fn keep_choice(steps: &mut [Step], word: &str) {
    for s in steps {
        match s {
            Step::Choose { options } => {
                options.retain(|k, _| k == word);
                for then in options.values_mut() {
                    keep_choice(then, word);
                }
            }
            Step::Attack {
                on_hit, on_miss, ..
            } => {
                keep_choice(on_hit, word);
                keep_choice(on_miss, word);
            }
            Step::Save { on_fail, .. } => keep_choice(on_fail, word),
            Step::IfHpAtMost { then, .. }
            | Step::IfType { then, .. }
            | Step::EndsOn { then, .. }
            | Step::UnlessImmune { then, .. }
            | Step::Caster { then }
            | Step::Detached { then }
            | Step::BreakFree { then } => keep_choice(then, word),
            _ => {}
        }
    }
}

/// The step lists inside a step (its branches).
pub(crate) fn inner_steps(s: &Step) -> Option<Vec<&Vec<Step>>> {
    Some(match s {
        Step::Attack {
            on_hit, on_miss, ..
        } => vec![on_hit, on_miss],
        Step::Save { on_fail, .. } => vec![on_fail],
        Step::IfHpAtMost { then, .. }
        | Step::IfType { then, .. }
        | Step::EndsOn { then, .. }
        | Step::UnlessImmune { then, .. }
        | Step::Caster { then }
        | Step::Detached { then }
        | Step::BreakFree { then } => vec![then],
        Step::Choose { options } => options.values().collect(),
        _ => return None,
    })
}

/// The steps run once per casting (Sleep's pool), with what ends their marks early.
type GroupStep = (
    Option<EndsOn>,
    Amount,
    Mark,
    Duration,
    Option<crate::effect::Spare>,
);

fn group_steps(steps: &[Step], on: Option<EndsOn>, out: &mut Vec<GroupStep>) {
    for s in steps {
        match s {
            Step::HpPool {
                amount,
                mark,
                duration,
                spare,
            } => out.push((on, amount.clone(), *mark, *duration, spare.clone())),
            Step::EndsOn { on, then } => group_steps(then, Some(*on), out),
            _ => {}
        }
    }
}

/// The steps run per target: all but the group steps.
fn without_group_steps(steps: &[Step]) -> Vec<Step> {
    steps
        .iter()
        .filter_map(|s| match s {
            Step::HpPool { .. } => None,
            Step::EndsOn { on, then } => {
                let then = without_group_steps(then);
                (!then.is_empty()).then_some(Step::EndsOn { on: *on, then })
            }
            other => Some(other.clone()),
        })
        .collect()
}

/// The casting's context: the caster's DC, attack bonus and modifier.
fn context(
    em: &Emitter,
    me: CreatureId,
    spell: &SpellData,
    ability: crate::ability::Ability,
    slot_level: u8,
) -> Cx {
    let caster = em.creature(me);
    Cx {
        me,
        spell_level: spell.level,
        slot: slot_level,
        caster_level: caster.caster_level(),
        modifier: caster.modifier(ability),
        dc: monster_casting(em, caster)
            .and_then(|m| m.dc)
            .or(caster.spell_save_dc())
            .unwrap_or(10),
        attack_bonus: monster_casting(em, caster)
            .and_then(|m| m.attack)
            .or(caster.spell_attack_bonus())
            .unwrap_or(0),
        name: spell.name.clone(),
        concentration: spell.concentration,
        shared: BTreeMap::new(),
        ends_on: None,
        detached: false,
        break_free: false,
        mods: Default::default(),
        pool: None,
    }
}

/// A lasting spell's repeated part ([`crate::effect::Again`]): no slot, no new
/// concentration, its own action cost; not a spell cast for the bonus-action spell
/// rule or for what ends on casting.
fn cast_again(
    em: &mut Emitter,
    me: CreatureId,
    spell: &SpellData,
    ability: crate::ability::Ability,
    again: &crate::effect::Again,
    slot_level: u8,
    targets: &[String],
) -> Result<(), RuleError> {
    let cost = again.cost;
    // Hex, Hunter's Mark: the mark moves only once its creature has dropped.
    if let Some(holder) = marked_by(&em.state, me, again) {
        return Err(RuleError::invalid(format!(
            "{} moves to a new creature only when {holder} drops to 0 hit points.",
            spell.name
        )));
    }
    let in_combat = em.state.in_combat();
    super::combat::require_turn_part(em, me, if in_combat { cost } else { ActionCost::Free })?;
    let shape = SpellEffect {
        coverage: crate::effect::Coverage::Automated,
        note: String::new(),
        target: again.target.clone(),
        hostile: again.hostile,
        repeat: Repeat::Once,
        steps: again.steps.clone(),
        again: None,
        zone: None,
    };
    // A choice the repeat makes again (Hex's ability).
    let (shape, targets) = choose(spell, shape, targets)?;
    let target_ids = resolve_targets(em, me, spell, &shape, &targets, slot_level, 1)?;
    em.public(EventKind::SpellCast {
        caster: me,
        spell: spell.index.clone(),
        name: spell.name.clone(),
        slot: None,
        cost,
        targets: target_ids.clone(),
        again: true,
    });
    let mut cx = context(em, me, spell, ability, slot_level);
    // What the repeated part leaves (a moved Hex) lasts as long as the spell.
    cx.concentration = spell.concentration
        && em.creature(me).concentration.as_deref() == Some(spell.index.as_str());
    let steps = without_group_steps(&shape.steps);
    if !steps.is_empty() {
        preroll(em, &mut cx, &steps)?;
        for &t in &target_ids {
            let c = em.creature(t);
            if c.dead || (shape.hostile && c.is_down() && !c.is_pc()) {
                continue;
            }
            run(em, &mut cx, t, &steps, Hit::default())?;
        }
    }
    // Moving the spell's zone (Moonbeam's beam) onto the new targets.
    if let Some(spec) = spell.effect.as_ref().and_then(|e| e.zone.as_ref())
        && em
            .state
            .zones()
            .iter()
            .any(|z| z.by == me && z.spell == spell.index)
    {
        place_zone(em, &cx, spell, spec, &target_ids);
    }
    super::combat::check_end(em);
    Ok(())
}

fn preroll(em: &mut Emitter, cx: &mut Cx, steps: &[Step]) -> Result<(), RuleError> {
    for step in steps {
        if let Step::Save { on_fail, .. } = step {
            for d in on_fail {
                if let Step::Damage { amount, .. } = d {
                    let dice = cx.mods.damage_dice(cx.dice(amount));
                    let r = crate::dice::roll(&dice, em.dice)?;
                    let r = super::class_options::empower(em, &mut cx.mods, cx.me, r);
                    cx.shared.insert(d as *const Step as usize, r);
                }
            }
        }
    }
    Ok(())
}

/// A stat-block attack's rider on a creature it hit (its saves use the rider's DC).
pub(crate) fn run_rider(
    em: &mut Emitter,
    me: CreatureId,
    t: CreatureId,
    name: &str,
    rider: &crate::effect::Rider,
) -> Result<(), RuleError> {
    let mut cx = Cx {
        me,
        spell_level: 0,
        slot: 0,
        caster_level: 1,
        modifier: 0,
        dc: rider.dc,
        attack_bonus: 0,
        name: name.to_string(),
        concentration: false,
        shared: BTreeMap::new(),
        ends_on: None,
        detached: false,
        break_free: false,
        mods: Default::default(),
        pool: None,
    };
    run(em, &mut cx, t, &rider.steps, Hit::default())
}

/// How many strikes (beams, rays, darts) one casting makes.
fn strikes(repeat: &Repeat, spell_level: u8, slot: u8, caster_level: u8) -> usize {
    match repeat {
        Repeat::Once => 1,
        Repeat::ByCharacterLevel { counts } => counts
            .range(..=caster_level)
            .next_back()
            .map_or(1, |(_, n)| usize::from(*n).max(1)),
        Repeat::BySlot {
            base,
            per_slot_above,
        } => {
            usize::from(*base).max(1)
                + usize::from(*per_slot_above) * usize::from(slot.saturating_sub(spell_level))
        }
    }
}

/// The casting's context while its steps run.
struct Cx {
    me: CreatureId,
    spell_level: u8,
    slot: u8,
    caster_level: u8,
    modifier: i32,
    dc: i32,
    attack_bonus: i32,
    name: String,
    concentration: bool,
    /// Damage under a saving throw is rolled once for the whole casting, keyed by the
    /// step's place in the effect.
    shared: BTreeMap<usize, crate::dice::Roll>,
    /// Inside [`Step::EndsOn`]: what ends the marks put now early.
    ends_on: Option<EndsOn>,
    /// Inside [`Step::Detached`]: attacks come from a conjured thing.
    detached: bool,
    /// Inside [`Step::BreakFree`]: the marks' way out is a check as an action.
    break_free: bool,
    /// What the caster's invocations and Metamagic change (Agonizing Blast, Careful…).
    mods: super::class_options::CastMods,
    /// What is left of a [`Step::HealPool`]'s pool (rolled at its first target).
    pool: Option<i64>,
}

impl Cx {
    fn dice(&self, a: &Amount) -> String {
        a.resolve(
            self.spell_level,
            self.slot,
            self.caster_level,
            self.modifier,
        )
    }
}

/// How the current list of steps was reached.
#[derive(Clone, Copy, Default)]
struct Hit {
    crit: bool,
    /// A successful save for half: only damage, halved.
    half: bool,
    /// Under a saving throw: damage is shared by every target.
    shared: bool,
    /// The caster's riders (Hex) add to this hit.
    riders: bool,
    /// Uncanny Dodge: the hit's damage is halved (its other effects stay).
    dodge: bool,
}

fn run(
    em: &mut Emitter,
    cx: &mut Cx,
    t: CreatureId,
    steps: &[Step],
    hit: Hit,
) -> Result<(), RuleError> {
    // Every damage step of a list is one hit.
    let mut rolls = Vec::new();
    let mut half = hit.half;
    for step in steps {
        if let Step::Damage {
            amount,
            damage_type,
            half: h,
        } = step
        {
            half |= *h;
            let dice = cx.mods.damage_dice(cx.dice(amount));
            let roll = if hit.shared {
                let key = step as *const Step as usize;
                match cx.shared.get(&key) {
                    Some(r) => r.clone(),
                    None => {
                        let r = crate::dice::roll(&dice, em.dice)?;
                        let r = super::class_options::empower(em, &mut cx.mods, cx.me, r);
                        cx.shared.insert(key, r.clone());
                        r
                    }
                }
            } else {
                let expr = crate::dice::parse(&dice)?;
                let expr = if hit.crit { expr.doubled() } else { expr };
                let r = expr.roll(em.dice)?;
                super::class_options::empower(em, &mut cx.mods, cx.me, r)
            };
            rolls.push((*damage_type, roll));
        }
    }
    if hit.riders {
        for part in resolve::riders(em, cx.me, t, None, false) {
            let expr = crate::dice::parse(&part.dice)?;
            let expr = if hit.crit { expr.doubled() } else { expr };
            rolls.push((part.damage_type, expr.roll(em.dice)?));
        }
    }
    let mut dealt = 0;
    // Harm: its damage leaves at least 1 hit point and lowers the maximum by itself,
    // on a save too.
    let lower = steps.iter().find_map(|s| match s {
        Step::LowerMaxHp { duration } => Some(*duration),
        _ => None,
    });
    if !rolls.is_empty() {
        dealt = resolve::deal_rolled_above(
            em,
            t,
            Some(cx.me),
            &rolls,
            hit.crit,
            half || hit.dodge,
            lower.map(|_| 1),
        );
    }
    if let Some(duration) = lower
        && dealt > 0
        && !em.creature(t).dead
    {
        put_mark(
            em,
            cx,
            t,
            Mark::MaxHpReduced { amount: dealt },
            duration,
            None,
        );
    }
    if hit.half {
        return Ok(());
    }
    for step in steps {
        // A dead target takes nothing more; the caster's drain still counts it.
        if em.creature(t).dead && !matches!(step, Step::Drain { .. } | Step::Revive) {
            continue;
        }
        match step {
            Step::Damage { .. } | Step::HpPool { .. } | Step::Counter | Step::LowerMaxHp { .. } => {
            }
            Step::Attack {
                reach,
                on_hit,
                on_miss,
            } => {
                let c = em.creature(t);
                if c.is_down() && !c.is_pc() {
                    continue;
                }
                let (reach, approach) = if cx.detached {
                    (crate::data::Reach::Melee, 0)
                } else {
                    (*reach, super::position::approach(em, cx.me, t, *reach)?)
                };
                let outcome =
                    resolve::attack_roll(em, cx.me, t, &cx.name, cx.attack_bonus, reach, approach);
                let next = if outcome.is_hit() { on_hit } else { on_miss };
                let h = Hit {
                    crit: outcome == AttackOutcome::CriticalHit,
                    riders: outcome.is_hit(),
                    ..Hit::default()
                };
                run(em, cx, t, next, h)?;
                if outcome.is_hit() {
                    super::class_options::repel(em, &cx.mods, cx.me, t);
                }
            }
            Step::Save {
                ability,
                half,
                on_fail,
            } => {
                // Sculpt Spells: a spared ally neither saves nor takes anything.
                if super::class_options::sculpted(em, &cx.mods, cx.me, t) {
                    continue;
                }
                // Racial advantage against what failing does (Brave, Fey Ancestry,
                // Dwarven Resilience).
                let adv = save_advantage(em.creature(t), *ability, on_fail);
                // Careful Spell: a spared ally succeeds; Heightened: disadvantage.
                let adv = super::class_options::heighten(&mut cx.mods, t, adv);
                let ok = super::class_options::careful(em, &cx.mods, cx.me, t)
                    || resolve::saving_throw(em, t, *ability, adv, Some(cx.dc));
                // Evasion: no damage on a success, half on a failure.
                let evade = *ability == crate::ability::Ability::Dex
                    && *half
                    && crate::features::evasion(em.creature(t));
                let h = Hit {
                    shared: true,
                    half: ok || evade,
                    ..Hit::default()
                };
                if !ok || *half && !evade {
                    run(em, cx, t, on_fail, h)?;
                } else if !(*half
                    || *ability == crate::ability::Ability::Dex
                        && crate::features::evasion(em.creature(t)))
                    && super::features::potent_cantrip(em, cx.me, cx.spell_level, on_fail)
                {
                    // Potent Cantrip: half the cantrip's damage on a success, nothing else.
                    for d in on_fail.iter().filter(|d| matches!(d, Step::Damage { .. })) {
                        run(em, cx, t, std::slice::from_ref(d), h)?;
                    }
                }
            }
            Step::Heal { amount } => {
                let dice = cx.dice(amount);
                // Life Domain: Supreme Healing, Disciple of Life, Blessed Healer.
                let dice = super::features::life_heal(em, cx.me, cx.slot, dice)?;
                resolve::heal(em, t, Some(cx.me), &dice)?;
                super::features::blessed_healer(em, cx.me, t, cx.slot)?;
            }
            Step::TempHp { amount } => {
                let dice = cx.dice(amount);
                let roll = crate::dice::roll(&dice, em.dice)?;
                let amount = (roll.total.clamp(0, 1_000) as i32).max(0);
                show_roll(em, cx.me, roll);
                em.public(EventKind::TempHpGained { target: t, amount });
            }
            Step::MaxHp { amount, duration } => {
                let dice = cx.dice(amount);
                let roll = crate::dice::roll(&dice, em.dice)?;
                let amount = (roll.total.clamp(0, 1_000) as i32).max(0);
                put_mark(em, cx, t, Mark::MaxHp { amount }, *duration, None);
                resolve::heal(em, t, Some(cx.me), &amount.to_string())?;
            }
            Step::Apply {
                mark,
                duration,
                save_ends,
            } => put_mark(em, cx, t, *mark, *duration, *save_ends),
            Step::Ongoing {
                amount,
                damage_type,
                save,
                duration,
            } => {
                let dice = cx.dice(amount);
                let (count, sides) = count_sides(&dice);
                let mark = Mark::Ongoing {
                    count,
                    sides,
                    damage_type: *damage_type,
                    save: save.map(|s| s.0),
                    half: save.is_some_and(|s| s.1 == SaveEffect::Half),
                    dc: cx.dc,
                };
                put_mark(em, cx, t, mark, *duration, None);
            }
            Step::Condition { condition } => {
                let c = em.creature(t);
                if !c.has(*condition)
                    && !immune(c, *condition)
                    && !ward_stops(em, t, cx.me, *condition)
                {
                    em.public(EventKind::ConditionApplied {
                        creature: t,
                        condition: *condition,
                        source: Some(cx.me),
                    });
                    lose_concentration_if_incapacitated(em, t, *condition);
                }
            }
            Step::IfHpAtMost { hp, then } => {
                if em.creature(t).hp <= *hp {
                    run(em, cx, t, then, Hit::default())?;
                }
            }
            Step::IfType {
                types,
                except,
                then,
            } => {
                if type_ok(em, t, types, *except) {
                    run(em, cx, t, then, hit)?;
                }
            }
            Step::Kill => {
                resolve::end_concentration(em, t);
                em.public(EventKind::Died { creature: t });
            }
            Step::Stabilize => {
                if em.creature(t).is_dying() {
                    em.public(EventKind::Stabilised { creature: t });
                }
            }
            Step::EndsOn { on, then } => {
                let outer = cx.ends_on.replace(*on);
                let r = run(em, cx, t, then, hit);
                cx.ends_on = outer;
                r?;
            }
            Step::TurnTempHp { amount, duration } => {
                let dice = cx.dice(amount);
                let roll = crate::dice::roll(&dice, em.dice)?;
                let amount = (roll.total.clamp(0, 1_000) as i32).max(0);
                put_mark(em, cx, t, Mark::TurnTempHp { amount }, *duration, None);
            }
            Step::Teleport => {
                if em.state.in_combat() {
                    em.public(EventKind::Moved {
                        creature: t,
                        to: crate::event::Place::Near,
                        moves: 0,
                    });
                }
                if em.creature(t).has(crate::condition::Condition::Grappled) {
                    resolve::end_condition(em, t, crate::condition::Condition::Grappled);
                }
            }
            Step::Dispel => {
                // An aura it bears (Spirit Guardians) is a spell on it too.
                let auras: Vec<(u32, bool)> = em
                    .state
                    .zones()
                    .iter()
                    .filter(|z| z.when.aura && z.by == t)
                    .map(|z| (z.id, z.concentration))
                    .collect();
                for (zone, concentration) in auras {
                    if concentration && em.creature(t).concentration.is_some() {
                        resolve::end_concentration(em, t);
                    } else {
                        em.public(EventKind::ZoneEnded { zone });
                    }
                }
                let marks: Vec<Active> = em.creature(t).marks().copied().collect();
                for a in marks {
                    resolve::end_mark(em, t, a);
                    // A concentration spell dispelled ends: its caster's concentration
                    // and its marks elsewhere.
                    if a.concentration
                        && em
                            .state
                            .creatures
                            .get(&a.by)
                            .is_some_and(|c| c.concentration.is_some())
                    {
                        resolve::end_concentration(em, a.by);
                    }
                }
            }
            Step::BreakFree { then } => {
                let outer = std::mem::replace(&mut cx.break_free, true);
                let r = run(em, cx, t, then, hit);
                cx.break_free = outer;
                r?;
            }
            Step::Detached { then } => {
                let outer = std::mem::replace(&mut cx.detached, true);
                let r = run(em, cx, t, then, hit);
                cx.detached = outer;
                r?;
            }
            Step::Drain { percent } => {
                let back = i64::from(dealt.max(0)) * i64::from((*percent).min(100)) / 100;
                let me = em.creature(cx.me);
                if back > 0 && !me.dead && me.hp < me.effective_max_hp() {
                    resolve::heal(em, cx.me, Some(cx.me), &back.to_string())?;
                }
            }
            Step::Aura {
                amount,
                damage_type,
                save,
                duration,
            } => {
                let dice = cx.dice(amount);
                let (count, sides) = count_sides(&dice);
                let mark = Mark::Aura {
                    count,
                    sides,
                    damage_type: *damage_type,
                    save: save.map(|s| s.0),
                    half: save.is_some_and(|s| s.1 == SaveEffect::Half),
                    dc: cx.dc,
                };
                put_mark(em, cx, t, mark, *duration, None);
            }
            Step::WeaponBonus { amount, duration } => {
                let dice = cx.dice(amount);
                let roll = crate::dice::roll(&dice, em.dice)?;
                let amount = roll.total.clamp(0, 20) as i32;
                put_mark(em, cx, t, Mark::WeaponBonus { amount }, *duration, None);
            }
            // The cast kept only the branch its word chose (see `choose`).
            Step::Choose { options } => {
                if let Some(then) = options.values().next() {
                    run(em, cx, t, then, hit)?;
                }
            }
            Step::Revive => {
                if em.creature(t).dead {
                    em.public(EventKind::RaisedFromDead { creature: t });
                    resolve::wake_up(em, t);
                }
            }
            Step::Later {
                amount,
                damage_type,
            } => {
                let (count, sides) = count_sides(&cx.dice(amount));
                let mark = Mark::Burst {
                    count,
                    sides,
                    damage_type: *damage_type,
                };
                put_mark(em, cx, t, mark, Duration::EndOfTargetsNextTurn, None);
            }
            Step::WeaponRider {
                amount,
                damage_type,
                once,
                duration,
            } => {
                let (count, sides) = count_sides(&cx.dice(amount));
                let mark = Mark::WeaponRider {
                    count,
                    sides,
                    damage_type: *damage_type,
                    once: *once,
                };
                put_mark(em, cx, t, mark, *duration, None);
            }
            Step::HealPool { amount } => {
                let pool = match cx.pool {
                    Some(p) => p,
                    None => {
                        let roll = crate::dice::roll(&cx.dice(amount), em.dice)?;
                        let p = roll.total.clamp(0, 100_000);
                        show_roll(em, cx.me, roll);
                        p
                    }
                };
                let c = em.creature(t);
                let missing = i64::from(c.effective_max_hp().saturating_sub(c.hp.max(0)).max(0));
                let given = missing.min(pool);
                cx.pool = Some(pool - given);
                if given > 0 {
                    resolve::heal(em, t, Some(cx.me), &given.to_string())?;
                }
            }
            Step::EndMark { mark, same_kind } => {
                let ending: Vec<Active> = em
                    .creature(t)
                    .marks()
                    .filter(|a| {
                        a.mark == *mark
                            || (*same_kind
                                && std::mem::discriminant(&a.mark) == std::mem::discriminant(mark))
                    })
                    .copied()
                    .collect();
                for a in ending {
                    resolve::end_mark(em, t, a);
                }
            }
            Step::Caster { then } => {
                let me = cx.me;
                if !em.creature(me).dead {
                    run(em, cx, me, then, Hit::default())?;
                }
            }
            Step::UnlessImmune { damage_type, then } => {
                let c = em.creature(t);
                let spared = c.immunities.contains(damage_type)
                    || (*damage_type == crate::data::DamageType::Poison
                        && immune(c, crate::condition::Condition::Poisoned));
                if !spared {
                    run(em, cx, t, then, hit)?;
                }
            }
            Step::Cure { conditions, all } => {
                for c in conditions {
                    // Exhaustion: one level (Greater Restoration).
                    if *c == crate::condition::Condition::Exhaustion {
                        let level = em.creature(t).exhaustion;
                        if level > 0 {
                            em.public(EventKind::ExhaustionChanged {
                                creature: t,
                                level: level - 1,
                            });
                            if !*all {
                                break;
                            }
                        }
                        continue;
                    }
                    if em.creature(t).has(*c) {
                        resolve::end_condition(em, t, *c);
                        if !*all {
                            break;
                        }
                    }
                }
            }
            // Run once, on the caster (the spell's target is itself).
            Step::Summon {
                chosen,
                group_initiative,
                ..
            } => {
                super::summon::run(em, cx.me, &cx.name, chosen, *group_initiative)?;
            }
            Step::Shape { .. } => {
                if let Some((form, duration)) = super::shapes::check(em, cx.me, t, &cx.name, step)?
                {
                    let dc = cx.dc;
                    if super::shapes::resists(em, cx.me, t, dc) {
                        continue;
                    }
                    super::shapes::take(em, t, &form);
                    put_mark(em, cx, t, Mark::Polymorphed, duration, None);
                }
            }
        }
    }
    Ok(())
}

/// "3d6" → (3, 6), "2d10 + 1d10" → (3, 10); a flat amount counts as that many d1s.
/// At most 255 dice.
fn count_sides(dice: &str) -> (u8, u8) {
    let d = dice.replace(' ', "");
    let (mut count, mut sides) = (0u32, 0u32);
    for term in d.split('+') {
        if let Some((c, s)) = term.split_once('d')
            && let (Ok(c), Ok(s)) = (c.parse::<u32>(), s.parse::<u32>())
        {
            count = count.saturating_add(c);
            sides = sides.max(s);
        } else if let Ok(v) = term.parse::<u32>()
            && sides == 0
        {
            count = count.saturating_add(v);
        }
    }
    (count.clamp(1, 255) as u8, sides.clamp(1, 255) as u8)
}

/// A roll the casting made that no other event shows (temporary hit points, Sleep's
/// pool), shown to everyone as its caster's roll (the GM's for a monster).
fn show_roll(em: &mut Emitter, caster: CreatureId, roll: crate::dice::Roll) {
    let owner = em
        .creature(caster)
        .owner()
        .cloned()
        .or_else(|| em.state.gm.clone());
    if let Some(player) = owner {
        em.public(EventKind::DiceRolled {
            player,
            roll,
            secret: false,
        });
    }
}

/// The round of `who`'s next turn (1 outside a fight: the coming fight's first).
fn next_turn_round(em: &Emitter, who: CreatureId) -> u32 {
    let Some(c) = em.state.combat.as_ref() else {
        return 1;
    };
    match c.order.iter().position(|e| e.creature == who) {
        Some(p) if p > c.active => c.round.max(1),
        _ => c.round.saturating_add(1),
    }
}

pub(crate) fn until_of(em: &Emitter, me: CreatureId, t: CreatureId, d: Duration) -> Until {
    match d {
        Duration::Rounds(n) => Until::TurnStart {
            who: me,
            round: next_turn_round(em, me)
                .saturating_add(n.clamp(1, 100))
                .saturating_sub(1),
        },
        Duration::StartOfCastersNextTurn => Until::TurnStart {
            who: me,
            round: next_turn_round(em, me),
        },
        Duration::EndOfCastersNextTurn => Until::TurnEnd {
            who: me,
            round: next_turn_round(em, me),
        },
        Duration::EndOfTargetsNextTurn => Until::TurnEnd {
            who: t,
            round: next_turn_round(em, t),
        },
        Duration::StartOfTargetsNextTurn => Until::TurnStart {
            who: t,
            round: next_turn_round(em, t),
        },
        Duration::EndOfTargetsTurn => {
            let active = em
                .state
                .combat
                .as_ref()
                .filter(|c| c.active_creature() == Some(t))
                .map(|c| c.round);
            Until::TurnEnd {
                who: t,
                round: active.unwrap_or_else(|| next_turn_round(em, t)),
            }
        }
        Duration::Long => Until::LongRest,
        Duration::CastersTurns(n) => Until::TurnEnd {
            who: me,
            round: next_turn_round(em, me)
                .saturating_add(n.clamp(1, 100))
                .saturating_sub(1),
        },
        // Rolled by the cast ([`roll_turns`]); never here but at its least.
        Duration::RolledTurns { count, plus, .. } => until_of(
            em,
            me,
            t,
            Duration::CastersTurns(u32::from(count) + u32::from(plus)),
        ),
    }
}

/// Rolls the cast's [`Duration::RolledTurns`] once (the roll shown as the caster's)
/// and makes each of them that many [`Duration::CastersTurns`].
fn roll_turns(em: &mut Emitter, me: CreatureId, steps: &mut [Step]) -> Result<(), RuleError> {
    fn visit(steps: &mut [Step], f: &mut dyn FnMut(&mut Duration)) {
        for s in steps {
            match s {
                Step::Apply { duration, .. }
                | Step::MaxHp { duration, .. }
                | Step::Ongoing { duration, .. }
                | Step::HpPool { duration, .. }
                | Step::TurnTempHp { duration, .. }
                | Step::Aura { duration, .. }
                | Step::WeaponBonus { duration, .. }
                | Step::Shape { duration, .. } => f(duration),
                Step::Attack {
                    on_hit, on_miss, ..
                } => {
                    visit(on_hit, f);
                    visit(on_miss, f);
                }
                Step::Save { on_fail: v, .. }
                | Step::IfHpAtMost { then: v, .. }
                | Step::IfType { then: v, .. }
                | Step::EndsOn { then: v, .. }
                | Step::Detached { then: v } => visit(v, f),
                Step::Choose { options } => {
                    for v in options.values_mut() {
                        visit(v, f);
                    }
                }
                _ => {}
            }
        }
    }
    let mut dice = None;
    visit(steps, &mut |d| {
        if let Duration::RolledTurns { count, sides, plus } = *d {
            dice.get_or_insert((count.clamp(1, 20), sides.clamp(1, 100), plus));
        }
    });
    let Some((count, sides, plus)) = dice else {
        return Ok(());
    };
    let roll = crate::dice::roll(&format!("{count}d{sides}+{plus}"), em.dice)?;
    let n = roll.total.clamp(1, 100) as u32;
    show_roll(em, me, roll);
    visit(steps, &mut |d| {
        if matches!(d, Duration::RolledTurns { .. }) {
            *d = Duration::CastersTurns(n);
        }
    });
    Ok(())
}

/// A zone's steps against `t` (it starts its turn in the zone, or moved in or out),
/// with the casting the zone keeps.
pub(crate) fn run_zone(
    em: &mut Emitter,
    zone: &crate::effect::Zone,
    t: CreatureId,
) -> Result<(), RuleError> {
    let mut cx = Cx {
        me: zone.by,
        spell_level: zone.cast.spell_level,
        slot: zone.cast.slot,
        caster_level: zone.cast.caster_level,
        modifier: zone.cast.modifier,
        dc: zone.cast.dc,
        attack_bonus: zone.cast.attack_bonus,
        name: zone.name.clone(),
        concentration: zone.concentration,
        shared: BTreeMap::new(),
        // Metamagic shapes the casting, not a zone's later strikes.
        mods: Default::default(),
        // Darkness: what it puts on a creature lasts while the creature is inside.
        ends_on: zone
            .when
            .while_inside
            .then_some(crate::effect::EndsOn::LeaveZone),
        detached: true,
        break_free: false,
        pool: None,
    };
    let Some(steps) = em
        .state
        .catalog
        .spell(&zone.spell)
        .and_then(|s| s.effect.as_ref())
        .and_then(|e| e.zone.as_ref())
        .map(|z| z.steps.clone())
    else {
        return Ok(());
    };
    run(em, &mut cx, t, &steps, Hit::default())
}

/// Places (or, `moved`, moves) the zone of `spell` cast by `me` on the creatures the
/// casting caught (see [`crate::effect::Zone`]); out of a fight it waits for the
/// next one.
fn place_zone(
    em: &mut Emitter,
    cx: &Cx,
    spell: &SpellData,
    spec: &crate::effect::ZoneSpec,
    caught: &[CreatureId],
) {
    let zones = em.state.zones();
    let me = cx.me;
    let old = zones
        .iter()
        .find(|z| z.by == me && z.spell == spell.index)
        .cloned();
    let mut inside: std::collections::BTreeSet<CreatureId> = caught
        .iter()
        .copied()
        .filter(|t| !em.creature(*t).dead)
        .collect();
    // An aura: its caster and whoever is engaged with it.
    if spec.when.aura {
        inside = std::iter::once(me)
            .chain(super::position::engaged_with(&em.state, me))
            .collect();
    }
    let zone = match old {
        // Moved: the same zone, on the new creatures.
        Some(z) => crate::effect::Zone {
            struck: inside.clone(),
            inside,
            moving: Default::default(),
            ..z
        },
        None => {
            let id = zones
                .iter()
                .map(|z| z.id)
                .max()
                .map_or(1, |m| m.saturating_add(1));
            crate::effect::Zone {
                id,
                by: me,
                spell: spell.index.clone(),
                name: spell.name.clone(),
                when: spec.when,
                cast: crate::effect::ZoneCast {
                    dc: cx.dc,
                    spell_level: cx.spell_level,
                    slot: cx.slot,
                    caster_level: cx.caster_level,
                    modifier: cx.modifier,
                    attack_bonus: cx.attack_bonus,
                },
                until: until_of(em, me, me, spec.duration),
                concentration: cx.concentration,
                struck: inside.clone(),
                inside,
                moving: Default::default(),
            }
        }
    };
    em.public(EventKind::ZonePlaced {
        zone: Box::new(zone),
    });
}

fn put_mark(
    em: &mut Emitter,
    cx: &Cx,
    t: CreatureId,
    mark: Mark,
    duration: Duration,
    save_ends: Option<crate::ability::Ability>,
) {
    let until = until_of(em, cx.me, t, duration);
    // Sanctuary's ward holds its caster's DC.
    let mark = match mark {
        Mark::Sanctuary { .. } => Mark::Sanctuary { dc: cx.dc },
        Mark::DisadvantageAgainst { .. } => Mark::DisadvantageAgainst { who: cx.me },
        // Globe of Invulnerability: one level more per slot level above the spell's.
        Mark::SpellWard { max_level } => Mark::SpellWard {
            max_level: max_level
                .saturating_add(cx.slot.saturating_sub(cx.spell_level))
                .min(9),
        },
        m => m,
    };
    let active = Active {
        by: cx.me,
        mark,
        until,
        concentration: cx.concentration,
        save_ends: save_ends.map(|ability| SaveEnds {
            ability,
            dc: cx.dc,
            action: cx.break_free,
        }),
        ends_on: cx.ends_on,
    };
    // The very same mark again (a zone striking a creature still blinded by it): no
    // second telling.
    if em.creature(t).effects.contains(&Effect::Spell(active)) {
        return;
    }
    if let Mark::Condition { condition } = mark {
        let c = em.creature(t);
        if immune(c, condition) || ward_stops(em, t, cx.me, condition) {
            return;
        }
        if !c.has(condition) {
            em.public(EventKind::ConditionApplied {
                creature: t,
                condition,
                source: Some(cx.me),
            });
        }
    }
    em.public(EventKind::EffectStarted {
        creature: t,
        effect: Effect::Spell(active),
    });
    if let Mark::Condition { condition } = mark {
        lose_concentration_if_incapacitated(em, t, condition);
    }
}

/// An incapacitated creature loses concentration.
fn lose_concentration_if_incapacitated(
    em: &mut Emitter,
    t: CreatureId,
    condition: crate::condition::Condition,
) {
    if condition.incapacitates() && em.creature(t).concentration.is_some() {
        resolve::end_concentration(em, t);
    }
}

/// Sleep, Color Spray: a rolled pool of hit points covers the targets, lowest current
/// hit points first.
fn hp_pool(
    em: &mut Emitter,
    cx: &mut Cx,
    targets: &[CreatureId],
    amount: &Amount,
    mark: Mark,
    duration: Duration,
) -> Result<(), RuleError> {
    let dice = cx.dice(amount);
    let roll = crate::dice::roll(&dice, em.dice)?;
    let mut pool = roll.total.clamp(0, 100_000);
    show_roll(em, cx.me, roll);
    let mut order: Vec<(i32, CreatureId)> = targets
        .iter()
        .map(|t| (em.creature(*t).hp, *t))
        .filter(|(hp, t)| {
            let c = em.creature(*t);
            *hp > 0 && !c.dead && !matches!(mark, Mark::Condition { condition } if c.has(condition))
        })
        .collect();
    order.sort();
    for (hp, t) in order {
        let hp = i64::from(hp);
        if hp > pool {
            break;
        }
        pool -= hp;
        put_mark(em, cx, t, mark, duration, None);
    }
    Ok(())
}

/// Who a spell affects: the named creatures, or by default the caster (helpful spells)
/// or every standing foe (harmful area spells in a fight).
fn resolve_targets(
    em: &Emitter,
    me: CreatureId,
    spell: &SpellData,
    effect: &SpellEffect,
    targets: &[String],
    slot: u8,
    strikes: usize,
) -> Result<Vec<CreatureId>, RuleError> {
    let mut ids = Vec::new();
    // Revivify names the dead.
    let revive = effect.steps.iter().any(|s| matches!(s, Step::Revive));
    for t in targets {
        let id = find_creature(&em.state, t, |c| !c.dead || revive)?;
        if id != me {
            resolve::targetable(em, id)?;
        }
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    if ids.is_empty() {
        match effect.target {
            Target::Any => {}
            Target::SelfOnly => ids.push(me),
            Target::Area if effect.hostile && em.state.in_combat() => {
                let pc = em.creature(me).on_party_side();
                ids.extend(
                    em.state
                        .combatants()
                        .filter(|c| {
                            c.on_party_side() != pc && !c.is_down() && !resolve::ethereal(c)
                        })
                        .map(|c| c.id),
                );
            }
            Target::Area if effect.hostile => {}
            _ if !effect.hostile => ids.push(me),
            _ => {}
        }
    }
    if ids.is_empty() && effect.target != Target::Any {
        return Err(RuleError::invalid(format!(
            "Who is the target of {}?",
            spell.name
        )));
    }
    let above = usize::from(slot.saturating_sub(spell.level));
    let max = match &effect.target {
        Target::SelfOnly => 1,
        Target::Creatures {
            max,
            per_slot_above,
        } => usize::from(*max).max(1) + usize::from(*per_slot_above) * above,
        Target::Spread => strikes,
        Target::Area | Target::Any => MAX_TARGETS,
    }
    .min(MAX_TARGETS);
    if ids.len() > max {
        return Err(RuleError::invalid(format!(
            "{} can affect at most {max} target{}.",
            spell.name,
            if max == 1 { "" } else { "s" }
        )));
    }
    if effect.target == Target::SelfOnly && ids != [me] {
        return Err(RuleError::invalid(format!(
            "{} only protects its caster.",
            spell.name
        )));
    }
    // A harmful area also catches whoever is in melee with the creatures it is aimed
    // at, allies included.
    if effect.target == Target::Area && effect.hostile && em.state.in_combat() {
        let mut all = super::position::caught_by_area(&em.state, me, &ids);
        all.truncate(MAX_TARGETS);
        return Ok(all);
    }
    Ok(ids)
}

/// Advantage from racial traits on a save whose failure does `on_fail`.
fn save_advantage(
    c: &crate::creature::Creature,
    ability: crate::ability::Ability,
    on_fail: &[Step],
) -> crate::ability::Advantage {
    let mut conditions = Vec::new();
    let mut poison = false;
    fn walk(steps: &[Step], conditions: &mut Vec<crate::condition::Condition>, poison: &mut bool) {
        for s in steps {
            match s {
                Step::Condition { condition } => conditions.push(*condition),
                Step::Apply {
                    mark: Mark::Condition { condition },
                    ..
                } => conditions.push(*condition),
                Step::Damage { damage_type, .. } | Step::Ongoing { damage_type, .. } => {
                    *poison |= *damage_type == crate::data::DamageType::Poison;
                }
                Step::Save { on_fail, .. } => walk(on_fail, conditions, poison),
                _ => {}
            }
        }
    }
    walk(on_fail, &mut conditions, &mut poison);
    // Gnome Cunning: Int, Wis and Cha saves against magic (every spell is).
    if crate::features::save_advantage_against(c, &conditions, poison)
        || crate::features::gnome_cunning(c, ability)
    {
        crate::ability::Advantage::Advantage
    } else {
        crate::ability::Advantage::Normal
    }
}

/// A creature's type: a monster's from its stat block, "humanoid" for characters (every
/// SRD race is).
fn creature_type(em: &Emitter, t: CreatureId) -> String {
    em.creature(t)
        .monster
        .as_ref()
        .and_then(|m| em.state.catalog.monsters.get(m))
        .map_or_else(|| "humanoid".to_string(), |d| d.kind.to_ascii_lowercase())
}

/// Whether a target's type passes an [`Step::IfType`] filter.
fn type_ok(em: &Emitter, t: CreatureId, types: &[String], except: bool) -> bool {
    let kind = creature_type(em, t);
    types.iter().any(|x| kind.starts_with(x.as_str())) != except
}

/// Auras (Spirit Guardians) at the start of `who`'s turn: each standing bearer of an
/// aura hostile to `who` and engaged with it deals the aura's damage (a save against
/// its caster's DC). Returns true if any damage was dealt.
pub(crate) fn aura_damage(em: &mut Emitter, who: CreatureId) -> bool {
    let auras: Vec<(CreatureId, Active)> = em
        .state
        .creatures
        .values()
        .filter(|b| b.id != who && !b.dead && !b.is_down())
        .flat_map(|b| b.marks().map(move |a| (b.id, *a)))
        .filter(|(_, a)| matches!(a.mark, Mark::Aura { .. }))
        .collect();
    let mut dealt = false;
    for (bearer, a) in auras {
        let Mark::Aura {
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
        let target = em.creature(who);
        if target.dead || target.is_down() {
            break;
        }
        let hostile = em
            .state
            .creatures
            .get(&a.by)
            .is_some_and(|caster| super::position::hostile(caster, target));
        if !hostile
            || super::position::range(&em.state, bearer, who) != super::position::Range::Engaged
        {
            continue;
        }
        let ok = save.is_some_and(|ab| {
            resolve::saving_throw(em, who, ab, crate::ability::Advantage::Normal, Some(dc))
        });
        if ok && !half {
            continue;
        }
        let part = crate::data::DamagePart {
            dice: format!("{}d{}", count.max(1), sides.max(1)),
            damage_type,
        };
        let _ = resolve::deal_damage_scaled(em, who, Some(a.by), &[part], false, ok);
        dealt = true;
    }
    dealt
}

/// Protection from Evil and Good: the warded-against types can't charm or frighten.
fn ward_stops(
    em: &Emitter,
    t: CreatureId,
    by: CreatureId,
    condition: crate::condition::Condition,
) -> bool {
    matches!(
        condition,
        crate::condition::Condition::Charmed | crate::condition::Condition::Frightened
    ) && resolve::warded_from(em, t, by, true)
}

/// Whether `c` cannot be given `condition` (its own immunities, or a spell's).
fn immune(c: &crate::creature::Creature, condition: crate::condition::Condition) -> bool {
    c.condition_immunities.contains(&condition)
        || c.has_mark(|m| *m == Mark::ImmuneTo { condition })
}

/// Boons at the start of `who`'s turn: Heroism's temporary hit points.
pub(crate) fn turn_start_boons(em: &mut Emitter, who: CreatureId) {
    let c = em.creature(who);
    if c.dead || c.is_down() {
        return;
    }
    let best = c
        .marks()
        .filter_map(|a| match a.mark {
            Mark::TurnTempHp { amount } => Some(amount.clamp(0, 1_000)),
            _ => None,
        })
        .max();
    if let Some(amount) = best
        && amount > c.temp_hp
    {
        em.public(EventKind::TempHpGained {
            target: who,
            amount,
        });
    }
}

/// Command and Fear ([`Mark::Commanded`]): at the start of its turn a creature under
/// an order obeys it, and its turn is spent (the caller ends it). True when it obeyed.
/// Theatre of the mind: `approach` closes on the caster, `flee` (and Fear's flight)
/// moves far away, with no move counted and no opportunity attack; a creature that
/// can't move (speed 0) stays.
pub(crate) fn obey(em: &mut Emitter, who: CreatureId) -> bool {
    use crate::condition::Condition;
    use crate::effect::Order;
    let c = em.creature(who);
    if c.dead || c.is_down() || !c.can_act() || !em.state.in_combat() {
        return false;
    }
    let frightened = c.has(Condition::Frightened);
    let orders: Vec<(CreatureId, Order)> = c
        .marks()
        .filter_map(|a| match a.mark {
            Mark::Commanded { order } if order != Order::Fear || frightened => Some((a.by, order)),
            _ => None,
        })
        .collect();
    let Some(&(by, order)) = orders.iter().min_by_key(|(_, o)| *o) else {
        return false;
    };
    let stuck = [Condition::Grappled, Condition::Restrained]
        .into_iter()
        .any(|k| c.has(k));
    match order {
        Order::Approach => {
            let there = em
                .state
                .creatures
                .get(&by)
                .is_some_and(|b| !b.dead && em.state.combatants().any(|x| x.id == by));
            if there
                && !stuck
                && super::position::range(&em.state, who, by) != super::position::Range::Engaged
            {
                em.public(EventKind::Moved {
                    creature: who,
                    to: crate::event::Place::Engaged { with: by },
                    moves: 0,
                });
            }
        }
        Order::Flee | Order::Fear => {
            if !stuck {
                em.public(EventKind::Moved {
                    creature: who,
                    to: crate::event::Place::Far,
                    moves: 0,
                });
            }
        }
        Order::Grovel => {
            if !c.has(Condition::Prone) {
                em.public(EventKind::ConditionApplied {
                    creature: who,
                    condition: Condition::Prone,
                    source: Some(by),
                });
            }
        }
        Order::Drop | Order::Halt => {}
    }
    true
}
