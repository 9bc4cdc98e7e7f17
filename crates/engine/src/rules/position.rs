//! Range without a grid: a theatre-of-the-mind position model.
//!
//! In a fight every pair of creatures is *engaged* (in melee, within 5 ft), *near*
//! (one move apart: up to 30 ft) or *far* (two moves). The state keeps only the engaged
//! pairs and the set of creatures that keep their distance ([`crate::state::Combat`]):
//! two creatures not engaged are near, unless one of them is far (two far creatures of
//! the same side are near each other). A fight starts with everyone near and nobody
//! engaged.
//!
//! A turn has one move (two after Dash; none at speed 0). Closing into melee with a
//! near creature costs one move, with a far one two; an attack in melee makes that
//! move itself when the attacker has it ("attack the goblin" just works). Stepping out
//! of melee or backing off costs one move and provokes an opportunity attack from each
//! foe left behind that has its reaction, unless the mover took the Disengage action.
//! Ranged attacks made while engaged with a foe that can act have disadvantage; an area
//! spell aimed at a creature also catches everyone engaged with it.
//!
//! Reach (10 or 15 ft, a reach weapon or a stat block's "reach 10 ft."): *engaged*
//! means "within each other's melee reach", so a reach attack is an ordinary melee
//! attack on an engaged creature, and a creature near (beyond reach) must still close
//! in. The model has no band between 5 ft and reach, so reach gives no extra
//! opportunity attacks or free hits; that is the GM's to narrate.
//!
//! Monsters move too: a monster in melee may Disengage (then step out), or step out
//! (provoking) and make a ranged attack — the NPC options `disengage` and `withdraw`.

use super::{Emitter, resolve};
use crate::creature::Creature;
use crate::data::Reach;
use crate::effect::Mark;
use crate::error::RuleError;
use crate::event::{EventKind, Place};
use crate::ids::CreatureId;
use crate::state::CampaignState;

/// How far apart two creatures are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Range {
    Engaged,
    Near,
    Far,
}

impl Range {
    /// Moves needed to close into melee.
    pub fn moves_to_engage(self) -> u8 {
        match self {
            Range::Engaged => 0,
            Range::Near => 1,
            Range::Far => 2,
        }
    }
}

/// The pair key: lower id first.
pub fn pair(a: CreatureId, b: CreatureId) -> (CreatureId, CreatureId) {
    if a <= b { (a, b) } else { (b, a) }
}

/// How far apart `a` and `b` are (outside a fight: near).
pub fn range(state: &CampaignState, a: CreatureId, b: CreatureId) -> Range {
    let Some(c) = state.combat.as_ref() else {
        return Range::Near;
    };
    if a == b || c.engaged.contains(&pair(a, b)) {
        return Range::Engaged;
    }
    let (ca, cb) = (state.creatures.get(&a), state.creatures.get(&b));
    // A swallowed creature is inside its swallower, wherever that goes.
    let inside = |x: Option<&Creature>, y: CreatureId| {
        x.and_then(super::monster_actions::swallower) == Some(y)
    };
    if inside(ca, b) || inside(cb, a) {
        return Range::Engaged;
    }
    let (fa, fb) = (c.far.contains(&a), c.far.contains(&b));
    let same_side = match (ca, cb) {
        (Some(x), Some(y)) => x.on_party_side() == y.on_party_side(),
        _ => false,
    };
    if (!fa && !fb) || (fa && fb && same_side) {
        Range::Near
    } else {
        Range::Far
    }
}

/// Whether `c` is hostile to `other` (player characters and what they conjured on one
/// side, monsters on the other).
pub fn hostile(c: &Creature, other: &Creature) -> bool {
    c.on_party_side() != other.on_party_side()
}

/// The standing creatures engaged with `who` (in any order, each once).
pub fn engaged_with(state: &CampaignState, who: CreatureId) -> Vec<CreatureId> {
    let Some(c) = state.combat.as_ref() else {
        return vec![];
    };
    c.engaged
        .iter()
        .filter_map(|&(a, b)| {
            if a == who {
                Some(b)
            } else if b == who {
                Some(a)
            } else {
                None
            }
        })
        .filter(|id| state.creatures.get(id).is_some_and(|o| !o.is_down()))
        .collect()
}

/// Whether `who` is in melee with a foe that can act (ranged attacks at disadvantage).
pub fn threatened(state: &CampaignState, who: CreatureId) -> bool {
    let Some(me) = state.creatures.get(&who) else {
        return false;
    };
    engaged_with(state, who).into_iter().any(|o| {
        state
            .creatures
            .get(&o)
            .is_some_and(|o| hostile(me, o) && o.can_act())
    })
}

/// Moves `who` has left this turn (outside a fight, or off its turn: unlimited).
pub fn moves_left(state: &CampaignState, who: CreatureId) -> u8 {
    let Some(c) = state.combat.as_ref() else {
        return u8::MAX;
    };
    if c.active_creature() != Some(who) {
        return u8::MAX;
    }
    let Some(me) = state.creatures.get(&who) else {
        return 0;
    };
    if me.effective_speed() == 0 {
        return 0;
    }
    (1 + u8::from(c.budget.dashed)).saturating_sub(c.budget.moves_used)
}

/// The moves an attack with `reach` on `target` must spend first, or why it cannot be
/// made. Ranged attacks never move.
pub(crate) fn approach(
    em: &Emitter,
    me: CreatureId,
    target: CreatureId,
    reach: Reach,
) -> Result<u8, RuleError> {
    if reach != Reach::Melee || !em.state.in_combat() {
        return Ok(0);
    }
    let need = range(&em.state, me, target).moves_to_engage();
    if need == 0 {
        return Ok(0);
    }
    if let Some(why) = kept_off(&em.state, me, target) {
        return Err(RuleError::invalid(why));
    }
    let left = moves_left(&em.state, me);
    if need > left {
        let c = em.creature(me);
        let t = em.creature(target);
        return Err(RuleError::invalid(
            if left == 0 && c.effective_speed() == 0 {
                format!("{} can't move to reach {}.", c.name, t.name)
            } else if left == 0 {
                format!(
                    "{} is out of reach and {} has no movement left this turn.",
                    t.name, c.name
                )
            } else {
                format!(
                    "{} is too far away to reach this turn — Dash, or attack at range.",
                    t.name
                )
            },
        ));
    }
    Ok(need)
}

/// Whether an NPC's melee attack can reach `target` now.
pub fn can_reach(state: &CampaignState, me: CreatureId, target: CreatureId) -> bool {
    let need = range(state, me, target).moves_to_engage();
    need <= moves_left(state, me) && (need == 0 || kept_off(state, me, target).is_none())
}

/// Why `me` can't close on `target` in melee (Fly: it does not fly; Antilife Shell:
/// it is alive), if it can't.
pub(crate) fn kept_off(
    state: &CampaignState,
    me: CreatureId,
    target: CreatureId,
) -> Option<String> {
    let (c, t) = (state.creature(me)?, state.creature(target)?);
    if t.has_mark(|m| *m == Mark::Flying) && !c.has_mark(|m| *m == Mark::Flying) {
        return Some(format!(
            "{} is flying, out of {}'s reach in melee — attack at range.",
            t.name, c.name
        ));
    }
    if t.has_mark(|m| *m == Mark::Shell) {
        let kind = c
            .monster
            .as_deref()
            .and_then(|m| state.catalog.monsters.get(m))
            .map_or_else(String::new, |d| d.kind.to_ascii_lowercase());
        if !kind.starts_with("undead") && !kind.starts_with("construct") {
            return Some(format!(
                "{}'s antilife shell keeps {} out of melee — attack at range.",
                t.name, c.name
            ));
        }
    }
    None
}

/// The Move action's resolution.
pub(crate) fn move_to(
    em: &mut Emitter,
    me: CreatureId,
    to: &crate::command::MoveTo,
) -> Result<(), RuleError> {
    use crate::command::MoveTo;
    if !em.state.in_combat() {
        return Err(RuleError::WrongMode(
            "Outside a fight, just say where you go.".into(),
        ));
    }
    super::combat::require_turn_part(em, me, crate::event::ActionCost::Free)?;
    let far = em
        .state
        .combat
        .as_ref()
        .is_some_and(|c| c.far.contains(&me));
    let engaged = !engaged_with(&em.state, me).is_empty();
    let (place, need) = match to {
        MoveTo::Engage { target } => {
            let t = super::find_creature(&em.state, target, |c| c.id != me && !c.dead)?;
            super::combat::require_in_this_fight(em, t)?;
            let need = range(&em.state, me, t).moves_to_engage();
            if let Some(why) = kept_off(&em.state, me, t).filter(|_| need > 0) {
                return Err(RuleError::invalid(why));
            }
            if need == 0 {
                return Err(RuleError::invalid(format!(
                    "{} is already in melee with {}.",
                    em.creature(me).name,
                    em.creature(t).name
                )));
            }
            (Place::Engaged { with: t }, need)
        }
        MoveTo::Near => {
            if !engaged && !far {
                return Err(RuleError::invalid(format!(
                    "{} is already out of melee.",
                    em.creature(me).name
                )));
            }
            (Place::Near, 1)
        }
        MoveTo::Far => {
            if far && !engaged {
                return Err(RuleError::invalid(format!(
                    "{} is already keeping their distance.",
                    em.creature(me).name
                )));
            }
            (Place::Far, 1)
        }
    };
    let left = moves_left(&em.state, me);
    if need > left {
        let c = em.creature(me);
        return Err(RuleError::invalid(if c.effective_speed() == 0 {
            format!("{} can't move.", c.name)
        } else if left == 0 {
            format!("{} has no movement left this turn — Dash for more.", c.name)
        } else {
            "That is too far for one move — Dash first.".to_string()
        }));
    }
    // Leaving melee (not just closing on another creature) provokes.
    if !matches!(place, Place::Engaged { .. }) {
        let foes = provoked(em, me);
        return offer_or_move(em, me, place, need, foes);
    }
    em.public(EventKind::Moved {
        creature: me,
        to: place,
        moves: need,
    });
    Ok(())
}

/// The foes engaged with `mover` that may make an opportunity attack as it leaves:
/// hostile, able to act, reaction unused, a melee attack at hand; none after Disengage.
fn provoked(em: &Emitter, mover: CreatureId) -> Vec<CreatureId> {
    let disengaged = em
        .state
        .combat
        .as_ref()
        .is_some_and(|c| c.active_creature() == Some(mover) && c.budget.disengaged);
    if disengaged {
        return vec![];
    }
    engaged_with(&em.state, mover)
        .into_iter()
        .filter(|&foe| {
            let f = em.creature(foe);
            hostile(f, em.creature(mover))
                && f.can_act()
                && super::combat::require_turn_part(em, foe, crate::event::ActionCost::Reaction)
                    .is_ok()
                && oa_attack(f).is_some()
        })
        .collect()
}

fn oa_attack(f: &Creature) -> Option<&crate::creature::Attack> {
    f.attacks
        .iter()
        .find(|a| a.reach == Reach::Melee && a.is_attack_roll() && a.usage.is_none())
}

/// Works through the provoked foes in order: a player character's opportunity attack
/// is made at once; a monster's choice is asked for (`OpportunityOffered`: the move
/// waits). When every foe has chosen and the mover still stands, it moves.
fn offer_or_move(
    em: &mut Emitter,
    mover: CreatureId,
    to: Place,
    moves: u8,
    mut foes: Vec<CreatureId>,
) -> Result<(), RuleError> {
    while !foes.is_empty() {
        if em.creature(mover).is_down() || !em.state.in_combat() {
            return Ok(());
        }
        let foe = foes.remove(0);
        if em.creature(foe).is_pc() {
            let o = crate::event::Opportunity {
                foe,
                mover,
                to,
                moves,
                rest: foes.clone(),
            };
            if opportunity_attack(em, o)? {
                return Ok(());
            }
        } else {
            em.public(EventKind::OpportunityOffered {
                opportunity: crate::event::Opportunity {
                    foe,
                    mover,
                    to,
                    moves,
                    rest: foes,
                },
            });
            return Ok(());
        }
    }
    if em.creature(mover).is_down() || !em.state.in_combat() {
        return Ok(());
    }
    em.public(EventKind::Moved {
        creature: mover,
        to,
        moves,
    });
    Ok(())
}

/// A monster's answer to `OpportunityOffered`: the attack (`take`) or not; then the
/// next foe's choice, or the move.
pub(crate) fn opportunity_answer(em: &mut Emitter, take: bool) -> Result<(), RuleError> {
    let Some(o) = em.state.combat.as_ref().and_then(|c| c.opportunity.clone()) else {
        return Ok(());
    };
    if take {
        // A hit on a player character may open its reaction window (Shield, Uncanny
        // Dodge): the rest of the move waits in it.
        if opportunity_attack(em, o.clone())? {
            return Ok(());
        }
    } else {
        em.public(EventKind::OpportunityPassed { creature: o.foe });
    }
    opportunity_goes_on(em, o)
}

/// After `o.foe` has chosen (and its attack is over): the foes still to choose, if
/// they still may, then the move.
pub(crate) fn opportunity_goes_on(
    em: &mut Emitter,
    o: crate::event::Opportunity,
) -> Result<(), RuleError> {
    if !em.state.in_combat() {
        return Ok(());
    }
    let still = provoked(em, o.mover);
    let rest: Vec<CreatureId> = o.rest.into_iter().filter(|f| still.contains(f)).collect();
    offer_or_move(em, o.mover, o.to, o.moves, rest)
}

/// One opportunity attack: `o.foe` spends its reaction on a melee attack at `o.mover`.
/// Returns true when its hit opened the mover's reaction window (the move waits in it,
/// [`crate::event::AfterHit::Opportunity`]).
fn opportunity_attack(em: &mut Emitter, o: crate::event::Opportunity) -> Result<bool, RuleError> {
    let (foe, mover) = (o.foe, o.mover);
    let Some(atk) = oa_attack(em.creature(foe)).cloned() else {
        return Ok(false);
    };
    em.public(EventKind::OpportunityAttack {
        creature: foe,
        target: mover,
    });
    if resolve::sanctuary(em, foe, mover)? {
        return Ok(false);
    }
    let to_hit = atk
        .to_hit
        .saturating_add(resolve::weapon_bonus(em.creature(foe)))
        .saturating_add(super::class_actions::sacred_weapon_bonus(em.creature(foe)));
    let outcome = resolve::attack_roll(em, foe, mover, &atk.name, to_hit, atk.reach, 0);
    if outcome.is_hit() {
        let total = match em.events.last().map(|e| &e.kind) {
            Some(EventKind::AttackRolled { total, .. }) => *total,
            _ => i32::MAX,
        };
        let then = crate::event::AfterHit::Opportunity { opportunity: o };
        if let Some(window) =
            super::combat::shield_window(em, foe, mover, &atk, outcome, total, vec![], then)
        {
            em.public(EventKind::ReactionOffered { window });
            return Ok(true);
        }
        super::combat::hit_with(em, foe, mover, &atk, outcome)?;
        if let Some(rider) = &atk.rider
            && !em.creature(mover).is_down()
        {
            super::spells::run_rider(em, foe, mover, &atk.name, rider)?;
        }
    }
    super::combat::check_end(em);
    Ok(false)
}

/// Everyone an area aimed at `targets` catches: the targets and every creature
/// engaged with one of them, except the caster (who shapes the area around itself).
pub(crate) fn caught_by_area(
    state: &CampaignState,
    caster: CreatureId,
    targets: &[CreatureId],
) -> Vec<CreatureId> {
    let mut out = targets.to_vec();
    for &t in targets {
        for o in engaged_with(state, t) {
            // Not what is out of reach (swallowed, ethereal).
            if state.creatures.get(&o).is_some_and(resolve::ethereal) {
                continue;
            }
            if o != caster && !out.contains(&o) {
                out.push(o);
            }
        }
    }
    out
}
