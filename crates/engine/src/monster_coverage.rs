//! The monster coverage report (`dicebard srd coverage`): how many SRD monsters have
//! every stat-block action offered to the NPC policy and resolved by the engine.
//!
//! An action is *offered* when it becomes an attack the NPC options list (an attack
//! roll, or a save action such as a breath weapon; limited ones while a use is left),
//! and *resolved* when the engine does what it says: an attack roll, damage, or an
//! on-hit / on-failed-save rider. Multiattack counts when its entries were read.
//! Actions that make no attack (Swallow, Teleport, Invisibility…) count when
//! [`crate::rules::monster_actions`] reads and resolves them; Change Shape, Illusory
//! Appearance, Read Thoughts, Heart Sight, Nightmare Haunting, Animate Chains and
//! Flying Sword are offered and resolved as narration (nothing the rules track changes), counted apart too.
//! Legendary actions count as resolved when they are an attack or one of the special
//! legendary actions (Detect, Wing Attack, Move, Teleport, Heal Self). Spells the
//! effect interpreter leaves to the narrator are not counted against "every action".

use crate::creature::Creature;
use crate::data::Catalog;
use crate::ids::CreatureId;

/// The counts behind [`report`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MonsterCoverage {
    pub monsters: usize,
    /// Monsters with every action offered and resolved.
    pub complete: usize,
    pub actions: usize,
    pub offered: usize,
    pub resolved: usize,
    /// (monster index, the actions not offered or not resolved).
    pub missing: Vec<(String, Vec<String>)>,
    pub legendary_monsters: usize,
    pub legendary: usize,
    pub legendary_resolved: usize,
    /// Legendary actions naming an attack this form of the monster lacks (a vampire's
    /// Unarmed Strike in bat or mist form): never offered, nothing to resolve.
    pub legendary_not_in_form: usize,
    /// (monster index, its legendary actions left to the narrator).
    pub legendary_missing: Vec<(String, Vec<String>)>,
    /// Actions offered and resolved as narration only (Change Shape, Read Thoughts…).
    pub narration_only: usize,
}

/// Counts every SRD monster's actions.
pub fn coverage(cat: &Catalog) -> MonsterCoverage {
    let mut out = MonsterCoverage::default();
    for m in cat.monsters.values() {
        out.monsters += 1;
        let c = Creature::from_monster(m, CreatureId(1), m.name.clone());
        let mut missing = Vec::new();
        for a in &m.actions {
            out.actions += 1;
            if a.name == "Multiattack" {
                if c.multiattack.is_some() {
                    out.offered += 1;
                    out.resolved += 1;
                } else {
                    missing.push(a.name.clone());
                }
                continue;
            }
            if c.find_attack(&a.name).is_none()
                && let Some(special) = crate::rules::monster_actions::read(&a.name, &a.desc)
            {
                out.offered += 1;
                out.resolved += 1;
                if matches!(
                    special,
                    crate::rules::monster_actions::Special::ChangeShape
                        | crate::rules::monster_actions::Special::Narration { .. }
                ) {
                    out.narration_only += 1;
                }
                continue;
            }
            match c.find_attack(&a.name) {
                Some(atk) => {
                    out.offered += 1;
                    if atk.is_attack_roll() || !atk.damage.is_empty() || atk.rider.is_some() {
                        out.resolved += 1;
                    } else {
                        missing.push(a.name.clone());
                    }
                }
                None => missing.push(a.name.clone()),
            }
        }
        if !c.legendary.is_empty() {
            out.legendary_monsters += 1;
            out.legendary += c.legendary.len();
            let (resolved, left): (Vec<_>, Vec<_>) = c.legendary.iter().partition(|l| {
                l.attack.is_some()
                    || m.legendary_actions.iter().any(|(n, d)| {
                        *n == l.name
                            && crate::rules::monster_actions::read_legendary(n, d).is_some()
                    })
            });
            out.legendary_resolved += resolved.len();
            // "The vampire makes one unarmed strike." in a form with no such action.
            let (not_in_form, left): (Vec<_>, Vec<_>) = left.into_iter().partition(|l| {
                m.legendary_actions.iter().any(|(n, d)| {
                    let d = d.to_ascii_lowercase();
                    *n == l.name
                        && d.split_once("makes one ").is_some_and(|(_, r)| {
                            let named = crate::data::to_index(r.split('.').next().unwrap_or(""));
                            !named.is_empty()
                                && !m
                                    .actions
                                    .iter()
                                    .any(|a| crate::data::to_index(&a.name).starts_with(&named))
                        })
                })
            });
            out.legendary_not_in_form += not_in_form.len();
            if !left.is_empty() {
                out.legendary_missing.push((
                    m.index.clone(),
                    left.iter().map(|l| l.name.clone()).collect(),
                ));
            }
        }
        if missing.is_empty() {
            out.complete += 1;
        } else {
            out.missing.push((m.index.clone(), missing));
        }
    }
    out
}

/// The report: counts, then each monster with an action left to the narrator.
pub fn report(cat: &Catalog) -> String {
    use std::fmt::Write;
    let c = coverage(cat);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "SRD monsters: {} ({} with every action offered and resolved)",
        c.monsters, c.complete
    );
    let _ = writeln!(
        s,
        "actions: {}, offered {}, resolved {} (the rest narrated; {} of the resolved are resolved as narration: Change Shape, Illusory Appearance, Read Thoughts, Heart Sight, Nightmare Haunting, Animate Chains, Flying Sword)",
        c.actions, c.offered, c.resolved, c.narration_only
    );
    let _ = writeln!(
        s,
        "legendary monsters: {}; legendary actions: {}, {} resolved (attacks, Detect, Wing Attack, Move, Teleport, Heal Self, saves and gazes, Psychic Drain, Shimmering Shield, Channel Negative Energy, Cast a Spell; {} name an attack this form lacks; the rest narrated)",
        c.legendary_monsters, c.legendary, c.legendary_resolved, c.legendary_not_in_form
    );
    for (m, v) in &c.missing {
        let _ = writeln!(s, "  narrated: {m}: {}", v.join(", "));
    }
    for (m, v) in &c.legendary_missing {
        let _ = writeln!(s, "  legendary narrated: {m}: {}", v.join(", "));
    }
    s
}
