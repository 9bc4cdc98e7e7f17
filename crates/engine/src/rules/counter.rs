//! Counterspell through the reaction window.
//!
//! When a creature in a fight casts a spell, a foe within Counterspell's 60 ft (in the
//! position model: engaged or near, not far) that has Counterspell prepared, a slot of
//! 3rd level or higher and its reaction may stop it — before anything of the spell
//! happens:
//!
//! * a player character is offered the reaction (`ReactionOffered` with
//!   [`crate::event::Reaction::Counterspell`] and the pending cast, deadline as
//!   Shield's; reaction windows off — 0 — means no offer); the cast waits;
//! * a monster decides by the built-in policy at once: it counters a spell of 1st
//!   level or higher (not cantrips).
//!
//! Taking it spends the reactor's reaction and its lowest slot that stops the spell
//! outright (its level or higher, 3rd at least), else its lowest 3rd+ slot; a spell
//! cast at a level above that slot's needs a spellcasting ability check, DC 10 + the
//! spell's level. A stopped spell spends its caster's slot and action
//! (`SpellCountered`) and does nothing; otherwise it is cast as asked. Every foe able
//! to counter is asked in turn, in creature order: a monster that lets it pass (a
//! cantrip) or fails its check, or a player who lets it pass or times out, hands the
//! question to the next one (a window holds the cast while a player decides), until
//! one stops the spell or nobody is left.
//!
//! Chains: before a Counterspell takes effect, the reactor's foes that can counter it
//! (not the creature whose spell it is aimed at) may counter it in turn, up to
//! [`MAX_CHAIN`] Counterspells in all; a countered Counterspell spends its slot and
//! reaction and stops nothing. A monster counters by the built-in policy (a
//! Counterspell aimed at an ally's spell). When a monster is about to counter a spell,
//! a player able to counter the monster's Counterspell gets the usual window (the
//! window's cast is the monster's Counterspell, [`PendingCast::against`] the spell it
//! is aimed at, both waiting); letting it pass or timing out asks the next one.
//! Deeper in a chain (a player's Counterspell countered by a monster), players are
//! not asked again.

use super::{Emitter, position};
use crate::data::SpellData;
use crate::error::RuleError;
use crate::event::{ActionCost, CheckKind, EventKind, PendingCast, Reaction, ReactionWindow};
use crate::ids::CreatureId;

/// What came of a spell being cast in front of the caster's foes.
pub(crate) enum Countered {
    /// Nobody countered it (or the check failed): cast it.
    No,
    /// A player character's window opened: the cast waits in it.
    Waiting,
    /// Stopped: nothing more to do.
    Stopped,
}

/// The lowest 3rd+ slot `who` has left, preferring one of `level` or higher.
fn counter_slot(c: &crate::creature::Creature, level: u8) -> Option<u8> {
    let sc = c.spellcasting.as_ref()?;
    (level.max(3)..=9)
        .find(|l| sc.available(*l) > 0)
        .or_else(|| (3..=9).find(|l| sc.available(*l) > 0))
}

/// The foes of `caster` that can counter its spell now, in creature order, after
/// `after` (one already asked) when given.
fn counterers(em: &Emitter, caster: CreatureId, after: Option<CreatureId>) -> Vec<CreatureId> {
    let me = em.creature(caster);
    let mut passed = after.is_none();
    em.state
        .combatants()
        .filter(|c| {
            if !passed {
                passed = Some(c.id) == after;
                return false;
            }
            c.id != caster
                && position::hostile(c, me)
                && !c.dead
                && c.can_act()
                && c.spellcasting
                    .as_ref()
                    .is_some_and(|sc| sc.knows("counterspell"))
                && counter_slot(c, 3).is_some()
                && position::range(&em.state, c.id, caster) != position::Range::Far
                && super::combat::require_turn_part(em, c.id, ActionCost::Reaction).is_ok()
        })
        .map(|c| c.id)
        .collect()
}

/// Before `caster`'s spell (cast at `level`) takes effect: a foe's Counterspell.
/// Nothing is emitted when nobody can counter it.
pub(crate) fn before_cast(
    em: &mut Emitter,
    caster: CreatureId,
    spell: &SpellData,
    level: u8,
    targets: &[String],
    slot: Option<u8>,
    cost: ActionCost,
) -> Result<Countered, RuleError> {
    if !em.state.in_combat()
        || spell.index == "counterspell"
        || super::spells::cost_of(spell) == ActionCost::Reaction
    {
        return Ok(Countered::No);
    }
    let asked = Asked {
        spell,
        level,
        targets,
        slot,
        cost,
    };
    ask(em, caster, &asked, None)
}

/// The cast a foe's Counterspell is asked about.
#[derive(Clone, Copy)]
struct Asked<'a> {
    spell: &'a SpellData,
    /// The level it is cast at.
    level: u8,
    targets: &'a [String],
    slot: Option<u8>,
    /// What casting it took (a bonus action when quickened).
    cost: ActionCost,
}

/// Asks each foe able to counter `caster`'s spell, in turn after `after`: a player's
/// window (the cast waits in it), or a monster's choice at once; the first that stops
/// it ends the asking.
fn ask(
    em: &mut Emitter,
    caster: CreatureId,
    asked: &Asked,
    after: Option<CreatureId>,
) -> Result<Countered, RuleError> {
    for reactor in counterers(em, caster, after) {
        if let Some(w) = offer(em, caster, reactor, asked)? {
            return Ok(w);
        }
    }
    Ok(Countered::No)
}

/// One foe asked: `None` when it lets the spell pass (ask the next).
fn offer(
    em: &mut Emitter,
    caster: CreatureId,
    reactor: CreatureId,
    asked: &Asked,
) -> Result<Option<Countered>, RuleError> {
    let Asked {
        spell,
        level,
        targets,
        slot,
        cost,
    } = *asked;
    let npc_turn = !em.creature(caster).is_pc()
        && em.state.combat.as_ref().and_then(|c| c.active_creature()) == Some(caster);
    let cast = PendingCast {
        caster,
        spell: spell.index.clone(),
        name: spell.name.clone(),
        level,
        targets: targets.to_vec(),
        slot,
        npc_turn,
        against: None,
    };
    if em.creature(reactor).is_pc() {
        return Ok(open_window(em, reactor, cast).then_some(Countered::Waiting));
    }
    // A monster's choice: any spell of 1st level or higher.
    if spell.level == 0 {
        return Ok(None);
    }
    let Some(counter_with) = counter_slot(em.creature(reactor), level) else {
        return Ok(None);
    };
    // Before its Counterspell takes effect, the monster's foes may counter it: a
    // player among them is asked (a window holds both casts).
    match counter_the_counter(em, reactor, caster, counter_with, 1, None, Some(&cast))? {
        Chain::Waiting => return Ok(Some(Countered::Waiting)),
        Chain::Countered => return Ok(None),
        Chain::Stands => {}
    }
    if cast_counter(em, reactor, caster, level, counter_with)? {
        countered(em, caster, reactor, spell, slot, cost)?;
        return Ok(Some(Countered::Stopped));
    }
    Ok(None)
}

/// Opens a player's Counterspell window on `cast` (reaction windows on): false when
/// they are off (0).
fn open_window(em: &mut Emitter, reactor: CreatureId, cast: PendingCast) -> bool {
    let ms = em.state.settings.reaction_timeout_ms;
    if ms == 0 {
        return false;
    }
    em.public(EventKind::ReactionOffered {
        window: ReactionWindow {
            reactor,
            reaction: Reaction::Counterspell,
            deadline: em.now.plus_ms(ms.min(super::combat::MAX_REACTION_MS)),
            pending: crate::event::PendingHit {
                attacker: cast.caster,
                target: reactor,
                attack: cast.name.clone(),
                total: i32::from(cast.level),
                outcome: crate::event::AttackOutcome::Hit,
                rest: vec![],
                then: Default::default(),
            },
            cast: Some(cast),
        },
    });
    true
}

/// How deep a chain of Counterspells goes: a spell, its counter, a counter of that
/// counter, … at most this many Counterspells in all.
pub const MAX_CHAIN: u8 = 3;

/// What came of asking a Counterspell's foes before it takes effect.
enum Chain {
    /// Nobody countered it: it takes effect.
    Stands,
    /// Countered (its slot and reaction spent, `SpellCountered` emitted).
    Countered,
    /// A player's window holds it.
    Waiting,
}

/// `reactor` casts Counterspell at `caster`'s spell of `level`: true if it stops it.
fn counter(
    em: &mut Emitter,
    reactor: CreatureId,
    caster: CreatureId,
    level: u8,
) -> Result<bool, RuleError> {
    counter_in_chain(em, reactor, caster, level, 1)
}

/// [`counter`], the `depth`th Counterspell of a chain: before it takes effect, a
/// monster among the reactor's foes that can counter it does so by the built-in
/// policy (see [`counter_the_counter`]; no player window this deep), up to
/// [`MAX_CHAIN`] Counterspells; a countered Counterspell spends its slot and reaction
/// and stops nothing.
fn counter_in_chain(
    em: &mut Emitter,
    reactor: CreatureId,
    caster: CreatureId,
    level: u8,
    depth: u8,
) -> Result<bool, RuleError> {
    let Some(slot) = counter_slot(em.creature(reactor), level) else {
        return Ok(false);
    };
    match counter_the_counter(em, reactor, caster, slot, depth, None, None)? {
        Chain::Stands => cast_counter(em, reactor, caster, level, slot),
        Chain::Countered | Chain::Waiting => Ok(false),
    }
}

/// Before `reactor`'s Counterspell (with a `slot` slot, the `depth`th of the chain) at
/// `caster`'s spell takes effect: its foes able to counter it are asked in creature
/// order after `after` (not `caster`, whose spell it is aimed at; the built-in policy
/// spends no monster's reaction on a counter at its own spell): a monster counters it
/// by the built-in policy; a player is offered the reaction when `held` (the spell the
/// Counterspell is aimed at, which the window holds too) is given and windows are
/// on, else is not asked.
fn counter_the_counter(
    em: &mut Emitter,
    reactor: CreatureId,
    caster: CreatureId,
    slot: u8,
    depth: u8,
    after: Option<CreatureId>,
    held: Option<&PendingCast>,
) -> Result<Chain, RuleError> {
    if depth >= MAX_CHAIN {
        return Ok(Chain::Stands);
    }
    let name = counterspell_name(em);
    for r2 in counterers(em, reactor, after) {
        if r2 == caster {
            continue;
        }
        if em.creature(r2).is_pc() {
            let Some(held) = held else {
                continue;
            };
            let cast = PendingCast {
                caster: reactor,
                spell: "counterspell".into(),
                name: name.clone(),
                level: slot,
                targets: vec![em.creature(caster).name.clone()],
                slot: Some(slot),
                npc_turn: false,
                against: Some(Box::new(held.clone())),
            };
            if open_window(em, r2, cast) {
                return Ok(Chain::Waiting);
            }
            continue;
        }
        if counter_in_chain(em, r2, reactor, slot, depth + 1)? {
            countered_counter(em, reactor, r2, slot);
            return Ok(Chain::Countered);
        }
    }
    Ok(Chain::Stands)
}

fn counterspell_name(em: &Emitter) -> String {
    em.state
        .catalog
        .spell("counterspell")
        .map_or_else(|| "Counterspell".to_string(), |s| s.name.clone())
}

/// `reactor`'s Counterspell (its `slot` slot) stopped by `by`: the slot and reaction
/// are spent.
fn countered_counter(em: &mut Emitter, reactor: CreatureId, by: CreatureId, slot: u8) {
    let name = counterspell_name(em);
    em.public(EventKind::SpellCountered {
        caster: reactor,
        by,
        spell: "counterspell".into(),
        name,
        slot: Some(slot),
        cost: ActionCost::Reaction,
    });
}

/// `reactor`'s Counterspell (its `slot` slot) takes effect on `caster`'s spell of
/// `level`: true if it stops it (at once, or by the check: DC 10 + the level).
fn cast_counter(
    em: &mut Emitter,
    reactor: CreatureId,
    caster: CreatureId,
    level: u8,
    slot: u8,
) -> Result<bool, RuleError> {
    let Some(ability) = em
        .creature(reactor)
        .spellcasting
        .as_ref()
        .map(|sc| sc.ability)
    else {
        return Ok(false);
    };
    let name = counterspell_name(em);
    em.public(EventKind::SpellCast {
        caster: reactor,
        spell: "counterspell".into(),
        name,
        slot: Some(slot),
        cost: ActionCost::Reaction,
        targets: vec![caster],
        again: false,
    });
    if level <= slot {
        return Ok(true);
    }
    let dc = 10 + i32::from(level);
    Ok(super::resolve::check(
        em,
        reactor,
        CheckKind::Ability(ability),
        crate::ability::Advantage::Normal,
        Some(dc),
    ))
}

/// The stopped spell: its slot (or innate use) and the action it took (`cost`: a
/// bonus action when quickened) are spent.
fn countered(
    em: &mut Emitter,
    caster: CreatureId,
    by: CreatureId,
    spell: &SpellData,
    slot: Option<u8>,
    cost: ActionCost,
) -> Result<(), RuleError> {
    let c = em.creature(caster);
    let innate = super::spells::innate_uses(em, c, &spell.index);
    let slot = if spell.level == 0 || innate.is_some() {
        None
    } else {
        Some(slot.unwrap_or(spell.level))
    };
    em.public(EventKind::SpellCountered {
        caster,
        by,
        spell: spell.index.clone(),
        name: spell.name.clone(),
        slot,
        cost,
    });
    if innate.is_some_and(|u| u > 0) {
        em.public(EventKind::LimitedActionUsed {
            creature: caster,
            action: super::spells::innate_key(&spell.index),
        });
    }
    Ok(())
}

/// Closes a Counterspell window: the reaction taken (and whether it stops the spell),
/// then the cast as asked if it was not stopped; a monster's turn then ends.
pub(crate) fn resolve(
    em: &mut Emitter,
    w: ReactionWindow,
    p: PendingCast,
    take: bool,
    timed_out: bool,
) -> Result<(), RuleError> {
    em.public(EventKind::ReactionResolved {
        reactor: w.reactor,
        reaction: w.reaction,
        used: take,
        timed_out,
    });
    // Mid-chain: the window held a monster's Counterspell (`p`) at a spell (`held`).
    if let Some(held) = p.against.clone() {
        let monster = p.caster;
        let slot = p.level;
        let chain = if take && counter_in_chain(em, w.reactor, monster, slot, 2)? {
            countered_counter(em, monster, w.reactor, slot);
            Chain::Countered
        } else if take {
            Chain::Stands
        } else {
            // The next of the monster's foes able to counter it.
            counter_the_counter(
                em,
                monster,
                held.caster,
                slot,
                1,
                Some(w.reactor),
                Some(&held),
            )?
        };
        let stopped = match chain {
            Chain::Waiting => return Ok(()),
            Chain::Countered => false,
            // Its slot may be gone (nothing but reactions happened: it should not).
            Chain::Stands => {
                em.state.in_combat()
                    && !em.creature(monster).is_down()
                    && counter_slot(em.creature(monster), held.level) == Some(slot)
                    && cast_counter(em, monster, held.caster, held.level, slot)?
            }
        };
        return finish(em, *held, monster, stopped);
    }
    let stopped = take && counter(em, w.reactor, p.caster, p.level)?;
    finish(em, p, w.reactor, stopped)
}

/// The held cast `p` after `by` (the foe last asked) countered it (`stopped`) or not:
/// stopped, its cost is spent; else the foes after `by` are asked, and if none stops
/// it, it is cast as asked; a monster's turn or legendary turn then ends.
fn finish(
    em: &mut Emitter,
    p: PendingCast,
    by: CreatureId,
    stopped: bool,
) -> Result<(), RuleError> {
    let spell = em.state.catalog.spell(&p.spell).cloned();
    // The cast as asked: a Metamagic word among its words (Quickened: a bonus action;
    // its sorcery points are spent even when the spell is stopped).
    let meta = spell.as_ref().and_then(|spell| {
        let caster = em.creature(p.caster).clone();
        let effect = spell
            .effect
            .clone()
            .unwrap_or_else(|| crate::effect::generate(spell));
        let mut words = p.targets.clone();
        super::class_options::metamagic(em, &caster, spell, &effect, p.level, &mut words)
            .ok()
            .flatten()
    });
    let cost = match &spell {
        Some(_) if meta.as_ref().is_some_and(|m| m.is("quickened-spell")) => {
            ActionCost::BonusAction
        }
        Some(spell) => super::spells::cost_of(spell),
        None => ActionCost::Action,
    };
    let tell = |em: &mut Emitter| {
        if let Some(m) = &meta {
            super::class_options::tell_metamagic(em, p.caster, m);
        }
    };
    if stopped {
        if let Some(spell) = &spell {
            countered(em, p.caster, by, spell, p.slot, cost)?;
            tell(em);
        }
    } else if em.state.in_combat()
        && !em.creature(p.caster).is_down()
        && let Some(spell) = &spell
        && match ask(
            em,
            p.caster,
            &Asked {
                spell,
                level: p.level,
                targets: &p.targets,
                slot: p.slot,
                cost,
            },
            Some(by),
        )? {
            // The next foe's window holds the cast now.
            Countered::Waiting => return Ok(()),
            Countered::Stopped => {
                tell(em);
                true
            }
            Countered::No => false,
        }
    {
        // Stopped by a foe asked after this one.
    } else if em.state.in_combat() && !em.creature(p.caster).is_down() {
        // Checked when it was asked for and nothing but the reaction happened since;
        // should it be refused now, it fizzles rather than stall the turn.
        let _ = super::spells::cast_unopposed(em, p.caster, &p.spell, &p.targets, p.slot);
    }
    super::combat::check_end(em);
    // A legendary action's cast: the legendary turn ends with it.
    if let Some((m, ended)) = em.state.combat.as_ref().and_then(|c| c.legendary)
        && m == p.caster
        && em
            .state
            .combat
            .as_ref()
            .is_some_and(|c| c.reaction.is_none())
    {
        super::combat::end_legendary_turn(em, m, ended);
        return Ok(());
    }
    if p.npc_turn
        && em.state.in_combat()
        && em.state.combat.as_ref().and_then(|c| c.active_creature()) == Some(p.caster)
        && em
            .state
            .combat
            .as_ref()
            .is_some_and(|c| c.reaction.is_none())
    {
        super::combat::advance(em);
    }
    Ok(())
}
