//! Spells' zones in a fight (Moonbeam, Cloudkill, Web, Spike Growth...): the rule is
//! documented on [`crate::effect::Zone`]. The zone's membership follows the creatures'
//! moves in `apply` (a pure fold of `Moved` and approaching attacks); here are the
//! strikes: at the start of a turn in it, after a command that moved a creature in (or
//! out), and the end of a zone whose duration ran out.

use super::{Emitter, position};
use crate::command::NpcOption;
use crate::data::Reach;
use crate::effect::{Until, Zone};
use crate::error::RuleError;
use crate::event::EventKind;
use crate::ids::CreatureId;
use crate::state::CampaignState;

/// At the start of `who`'s turn (after its `TurnStarted`): zones whose time is up end;
/// each zone with `turn_start` that holds `who` strikes it. True if it was struck.
pub(crate) fn turn_start(em: &mut Emitter, who: CreatureId, round: u32) -> bool {
    let Some(c) = em.state.combat.as_ref() else {
        return false;
    };
    let ended: Vec<u32> = c
        .zones
        .iter()
        .filter(
            |z| matches!(z.until, Until::TurnStart { who: w, round: r } if w == who && r <= round),
        )
        .map(|z| z.id)
        .collect();
    for zone in ended {
        em.public(EventKind::ZoneEnded { zone });
    }
    let zones: Vec<Zone> = em
        .state
        .combat
        .as_ref()
        .map(|c| {
            c.zones
                .iter()
                .filter(|z| z.when.turn_start && z.inside.contains(&who))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let mut struck = false;
    for z in zones {
        if !em.state.in_combat() {
            break;
        }
        struck |= strike(em, &z, who);
    }
    struck
}

/// After a command: the creatures that moved into (or out of) a zone this command are
/// struck by it, in creature order.
pub(crate) fn settle(em: &mut Emitter) -> Result<(), RuleError> {
    strike_movers(em);
    end_outside(em);
    Ok(())
}

/// What lasts only while inside a zone (Darkness's blindness) ends for a creature no
/// zone of that caster holds any more (it moved away, or the zone ended).
fn end_outside(em: &mut Emitter) {
    // Out of a fight, the zones waiting for one hold their creatures too.
    let zones: &[Zone] = em.state.zones();
    let stale: Vec<(CreatureId, crate::effect::Active)> = em
        .state
        .creatures
        .values()
        .flat_map(|c| c.marks().map(move |a| (c.id, *a)))
        .filter(|(c, a)| {
            a.ends_on == Some(crate::effect::EndsOn::LeaveZone)
                && !zones
                    .iter()
                    .any(|z| z.by == a.by && z.when.while_inside && z.inside.contains(c))
        })
        .collect();
    for (c, a) in stale {
        super::resolve::end_mark(em, c, a);
    }
}

fn strike_movers(em: &mut Emitter) {
    // Not struck (dead, gone, already held, an ally in an aura): passed over this
    // command (the pending move is forgotten when the next turn starts).
    let mut passed: Vec<(u32, CreatureId)> = Vec::new();
    for _ in 0..crate::rules::MAX_COMBATANTS * 4 {
        let next = em.state.combat.as_ref().and_then(|c| {
            c.zones.iter().find_map(|z| {
                z.moving
                    .iter()
                    .find(|t| !passed.contains(&(z.id, **t)))
                    .map(|t| (z.clone(), *t))
            })
        });
        let Some((z, t)) = next else {
            return;
        };
        if !strike(em, &z, t) {
            passed.push((z.id, t));
            continue;
        }
        super::combat::check_end(em);
    }
}

/// The zone's steps against `t`, unless `t` is dead or a felled monster. True if it
/// was struck.
fn strike(em: &mut Emitter, z: &Zone, t: CreatureId) -> bool {
    let c = em.creature(t);
    if c.dead || (c.is_down() && !c.is_pc()) || super::resolve::ethereal(c) {
        return false;
    }
    // Already held by what the zone puts on it (Web's restraint): no second save and
    // no second mark; it stays caught until it breaks free or leaves.
    if held(em, z, t) {
        return false;
    }
    // An aura strikes only its caster's foes.
    if z.when.aura
        && !em
            .state
            .creatures
            .get(&z.by)
            .is_some_and(|by| super::position::hostile(by, em.creature(t)))
    {
        return false;
    }
    em.public(EventKind::ZoneStruck {
        zone: z.id,
        creature: t,
    });
    // The steps are the catalog's, checked when the spell was cast: a bad one is
    // skipped rather than failing a turn.
    let _ = super::spells::run_zone(em, z, t);
    true
}

/// Whether `t` bears every mark the zone's steps put on a creature, from the zone's
/// caster (false for a zone that deals damage: Moonbeam strikes every turn).
fn held(em: &Emitter, z: &Zone, t: CreatureId) -> bool {
    fn marks(steps: &[crate::effect::Step], out: &mut Vec<crate::effect::Mark>) {
        for s in steps {
            if let crate::effect::Step::Apply { mark, .. } = s {
                out.push(*mark);
            }
            for inner in super::spells::inner_steps(s).unwrap_or_default() {
                marks(inner, out);
            }
        }
    }
    let Some(steps) = em
        .state
        .catalog
        .spell(&z.spell)
        .and_then(|s| s.effect.as_ref())
        .and_then(|e| e.zone.as_ref())
        .map(|z| &z.steps)
    else {
        return false;
    };
    // A zone that deals damage strikes every time.
    fn damages(steps: &[crate::effect::Step]) -> bool {
        steps.iter().any(|s| {
            matches!(s, crate::effect::Step::Damage { .. })
                || super::spells::inner_steps(s).is_some_and(|l| l.iter().any(|l| damages(l)))
        })
    }
    if damages(steps) {
        return false;
    }
    let mut want = Vec::new();
    marks(steps, &mut want);
    let c = em.creature(t);
    !want.is_empty()
        && want
            .iter()
            .all(|m| c.marks().any(|a| a.by == z.by && a.mark == *m))
}

/// Whether `who` stands in a zone (every zone here is harmful to whoever is in it).
pub fn in_zone(state: &CampaignState, who: CreatureId) -> bool {
    state
        .combat
        .as_ref()
        .is_some_and(|c| c.zones.iter().any(|z| z.inside.contains(&who)))
}

/// The built-in policy's way out of a zone for the active monster, if it stands in
/// one and can move: an attack on a foe outside its zones that it must close on (the
/// move takes it out), else stepping away to shoot (`withdraw`), else Disengage.
pub fn escape(state: &CampaignState, options: &[NpcOption]) -> Option<NpcOption> {
    let npc = state.active_creature()?;
    if !in_zone(state, npc.id) || position::moves_left(state, npc.id) == 0 {
        return None;
    }
    let zones: Vec<&Zone> = state
        .combat
        .as_ref()?
        .zones
        .iter()
        .filter(|z| z.inside.contains(&npc.id))
        .collect();
    // A foe to close on: not in melee with it, and not in any of its zones.
    let outside = |name: &str| {
        state
            .creatures
            .values()
            .find(|c| c.name == name)
            .is_some_and(|t| {
                position::range(state, npc.id, t.id) != position::Range::Engaged
                    && !zones.iter().any(|z| z.inside.contains(&t.id))
            })
    };
    let melee = |attack: &str| {
        npc.find_attack(attack)
            .is_some_and(|a| a.reach == Reach::Melee && a.is_attack_roll())
    };
    let closing = options.iter().find(|o| match o {
        NpcOption::Multiattack { target, targets } => {
            targets.is_empty()
                && outside(target)
                && npc
                    .multiattack
                    .as_ref()
                    .is_some_and(|p| p.iter().any(|(n, _)| melee(n)))
        }
        _ => false,
    });
    let closing = closing.or_else(|| {
        options
            .iter()
            .filter(|o| matches!(o, NpcOption::Attack { attack, target } if melee(attack) && outside(target)))
            .max_by_key(|o| match o {
                NpcOption::Attack { attack, .. } => npc
                    .find_attack(attack)
                    .map_or(0, |a| a.damage.iter().map(|d| super::combat::average(&d.dice)).sum::<i64>()),
                _ => 0,
            })
    });
    closing
        .or_else(|| {
            options
                .iter()
                .find(|o| matches!(o, NpcOption::Withdraw { .. }))
        })
        .or_else(|| options.iter().find(|o| **o == NpcOption::Disengage))
        .cloned()
}
