//! Shapes a spell gives ([`Step::Shape`]: Polymorph, True Polymorph, Animal Shapes,
//! Shapechange).
//!
//! The theatre-of-the-mind ruling:
//!
//! * The caster names the shape among the cast's words ("cast polymorph on Goblin 1
//!   toad", "cast animal shapes on Thorin, Mira brown bear"): the word that names an
//!   SRD creature and no creature present. No shape, two shapes, or a shape the spell
//!   does not allow (its type, its challenge rating against the target's rating or
//!   level, or the caster's level) is refused with the rule before anything is cast.
//! * A foe (a creature of the other side) makes a Wisdom save against the caster's
//!   DC: on a success nothing happens. A shapechanger, or a creature at 0 hit points,
//!   is unaffected. A willing creature (the caster's side) makes none; Animal Shapes
//!   takes only those.
//! * A player character takes the shape as a druid's Wild Shape does (the same
//!   event, [`EventKind::WildShape`]): the form's hit points a pool over its own, its
//!   armour class, Strength, Dexterity, Constitution, speed and attacks; no spells;
//!   at 0 the form drops and the rest carries over. (The text replaces the mental
//!   scores too, and Shapechange keeps spellcasting: both narrated.)
//! * A monster's statistics are replaced whole by the form's stat block (attacks,
//!   multiattack, defences; no spells or legendary actions), its own kept
//!   ([`crate::creature::Creature::own_form`]) until it returns: at 0 hit points of the
//!   form (the rest carries over), or when [`crate::effect::Mark::Polymorphed`] ends (the caster's
//!   concentration, the duration).

use super::Emitter;
use crate::ability::{Ability, Advantage};
use crate::creature::Creature;
use crate::data::{MonsterData, SpellData};
use crate::effect::{Duration, SpellEffect, Step};
use crate::error::RuleError;
use crate::event::EventKind;
use crate::ids::CreatureId;

/// Whether `c` wears a shape (Wild Shape or a spell's).
pub(crate) fn in_shape(c: &Creature) -> bool {
    c.own_form.is_some() || c.pc.as_ref().is_some_and(|p| p.wild_shape.is_some())
}

/// Fills a [`Step::Shape`]'s `chosen` from the cast's words (the word naming an SRD
/// creature and no creature present); that word is no target. Effects without the
/// step pass unchanged.
pub(crate) fn pick(
    em: &Emitter,
    spell: &SpellData,
    mut effect: SpellEffect,
    targets: &[String],
) -> Result<(SpellEffect, Vec<String>), RuleError> {
    let Some(Step::Shape {
        types,
        except,
        max_size,
        chosen,
        ..
    }) = effect
        .steps
        .iter_mut()
        .find(|s| matches!(s, Step::Shape { .. }))
    else {
        return Ok((effect, targets.to_vec()));
    };
    let mut form: Option<&MonsterData> = None;
    let mut rest = Vec::new();
    for t in targets {
        let word = t.trim();
        let present = em.state.creatures.values().any(|c| {
            !c.dead
                && (c.name.eq_ignore_ascii_case(word)
                    || c.monster.as_deref() == Some(crate::data::to_index(word).as_str()))
        });
        match em.state.catalog.monster(word).filter(|_| !present) {
            Some(m) => {
                if form.is_some_and(|f| f.index != m.index) {
                    return Err(RuleError::invalid(format!(
                        "{}: name one shape, not two.",
                        spell.name
                    )));
                }
                form = Some(m);
            }
            None => rest.push(t.clone()),
        }
    }
    let kinds = || {
        if types.is_empty() {
            "a creature".to_string()
        } else if *except {
            format!("a creature that is not {}", types.join(" or "))
        } else {
            format!("a {}", types.join(" or "))
        }
    };
    let Some(m) = form else {
        return Err(RuleError::invalid(format!(
            "{}: name the shape among the targets: {} (e.g. 'giant ape').",
            spell.name,
            kinds()
        )));
    };
    let kind = m.kind.to_ascii_lowercase();
    let listed = types.iter().any(|t| kind.starts_with(t.as_str()));
    if !types.is_empty() && listed == *except {
        return Err(RuleError::invalid(format!(
            "{}: {} is {}; name {}.",
            spell.name,
            m.name,
            m.kind,
            kinds()
        )));
    }
    if let Some(max) = max_size.as_deref()
        && size_rank(&m.size) > size_rank(max)
    {
        return Err(RuleError::invalid(format!(
            "{}: {} is {}; the shape may be {} or smaller.",
            spell.name, m.name, m.size, max
        )));
    }
    *chosen = Some(m.index.clone());
    Ok((effect, rest))
}

/// Tiny 0 … Gargantuan 5 (an unknown size counts as Gargantuan).
fn size_rank(size: &str) -> u8 {
    match size.trim().to_ascii_lowercase().as_str() {
        "tiny" => 0,
        "small" => 1,
        "medium" => 2,
        "large" => 3,
        "huge" => 4,
        _ => 5,
    }
}

/// Checks a chosen shape against target `t`: `Some((form, duration))` when it may take
/// it, `None` when the spell passes it by (a shapechanger, 0 hit points); refused with
/// the rule when the shape is too mighty or the target unwilling where it must be.
pub(crate) fn check(
    em: &Emitter,
    me: CreatureId,
    t: CreatureId,
    spell: &str,
    step: &Step,
) -> Result<Option<(String, Duration)>, RuleError> {
    let Step::Shape {
        max_cr,
        up_to_target,
        up_to_caster,
        willing_only,
        duration,
        chosen: Some(form),
        ..
    } = step
    else {
        return Err(RuleError::invalid("Name the shape to take."));
    };
    let Some(m) = em.state.catalog.monster(form) else {
        return Err(RuleError::invalid("Name the shape to take."));
    };
    let c = em.creature(t);
    let foe = super::position::hostile(em.creature(me), c);
    if *willing_only && foe {
        return Err(RuleError::invalid(format!(
            "{spell} takes only willing creatures; {} is a foe.",
            c.name
        )));
    }
    if in_shape(c) {
        return Err(RuleError::invalid(format!(
            "{} already wears another shape.",
            c.name
        )));
    }
    let own = c
        .monster
        .as_deref()
        .and_then(|i| em.state.catalog.monster(i));
    if c.hp <= 0
        || own.is_some_and(|o| {
            o.special_abilities
                .iter()
                .any(|(n, _)| n.to_ascii_lowercase().starts_with("shapechanger"))
        })
    {
        return Ok(None);
    }
    // In eighths: ratings 1/8, 1/4, 1/2 are whole.
    let eighths = |cr: f64| (cr.clamp(0.0, 30.0) * 8.0).round() as u32;
    let level_or_cr = |x: &Creature| match &x.pc {
        Some(p) => u32::from(p.level) * 8,
        None => x
            .monster
            .as_deref()
            .and_then(|i| em.state.catalog.monster(i))
            .map_or(0, |o| eighths(o.challenge_rating)),
    };
    let mut cap = max_cr.map_or(u32::MAX, u32::from);
    if *up_to_target {
        cap = cap.min(level_or_cr(c));
    }
    if *up_to_caster {
        cap = cap.min(u32::from(em.creature(me).caster_level()) * 8);
    }
    let need = eighths(m.challenge_rating);
    if need > cap {
        return Err(RuleError::invalid(format!(
            "{} (challenge rating {}) is too mighty a shape for {}: at most {}.",
            m.name,
            rating(need),
            c.name,
            rating(cap)
        )));
    }
    Ok(Some((m.index.clone(), *duration)))
}

fn rating(eighths: u32) -> String {
    match eighths {
        1 => "1/8".into(),
        2 => "1/4".into(),
        4 => "1/2".into(),
        e => (e / 8).to_string(),
    }
}

/// A foe's Wisdom save against the shape: true when it resists.
pub(crate) fn resists(em: &mut Emitter, me: CreatureId, t: CreatureId, dc: i32) -> bool {
    super::position::hostile(em.creature(me), em.creature(t))
        && super::resolve::saving_throw(em, t, Ability::Wis, Advantage::Normal, Some(dc))
}

/// `t` takes the shape `form` (an SRD index).
pub(crate) fn take(em: &mut Emitter, t: CreatureId, form: &str) {
    em.public(EventKind::WildShape {
        creature: t,
        beast: Some(form.to_string()),
    });
}

/// `who` returns to its own form, if it wears a shape.
pub(crate) fn revert(em: &mut Emitter, who: CreatureId) {
    if in_shape(em.creature(who)) {
        em.public(EventKind::WildShape {
            creature: who,
            beast: None,
        });
    }
}

/// `apply`'s fold of [`EventKind::WildShape`] for a monster: into `form` (its stat
/// block replaces the monster's, which is kept), or back (`None`: the kept one
/// returns, with the hit points it had; conditions and marks stay).
pub fn monster_shape(c: &mut Creature, form: Option<&MonsterData>) {
    match form {
        Some(m) => {
            if c.own_form.is_some() {
                return;
            }
            let own = c.clone();
            let mut f = Creature::from_monster(m, c.id, c.name.clone());
            f.controller = c.controller.clone();
            f.conditions = std::mem::take(&mut c.conditions);
            f.effects = std::mem::take(&mut c.effects);
            f.summoned = c.summoned.take();
            f.spent = Default::default();
            f.exhaustion = c.exhaustion;
            f.died_round = c.died_round;
            f.own_form = Some(Box::new(own));
            *c = f;
        }
        None => {
            let Some(own) = c.own_form.take() else {
                return;
            };
            let mut o = *own;
            o.conditions = std::mem::take(&mut c.conditions);
            o.effects = std::mem::take(&mut c.effects);
            o.summoned = c.summoned.take();
            o.exhaustion = c.exhaustion;
            o.dead = c.dead;
            o.died_round = c.died_round;
            o.own_form = None;
            *c = o;
        }
    }
}
