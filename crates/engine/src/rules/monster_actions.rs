//! Stat-block actions that make no attack ("special actions"), read from the SRD text
//! and resolved by the engine, and offered in the NPC options like attacks (so the
//! built-in policy and the LLM can both choose them):
//!
//! - **Swallow** (behir, giant frog and toad, remorhaz, tarrasque): one bite at a
//!   creature the monster grapples; a hit swallows it. **Engulf** (shambling mound):
//!   no bite. Swallowed: the grapple ends; blinded and restrained (from the monster);
//!   out of reach of everything outside ([`super::resolve::ethereal`]: no attack,
//!   spell, area or monster option reaches it); the stat block's damage at the start
//!   of each of the monster's turns (Engulf: a save avoids it). Out, prone, when the
//!   monster dies or, where the stat block says so, when the creature deals it enough
//!   damage in one turn and the monster fails its Constitution save at that turn's
//!   end. One creature inside at a time.
//! - **Invisibility** (imp, quasit, sprite, will-o'-wisp, duergar): the invisible
//!   condition until it attacks or casts a spell (the mark Invisibility uses).
//! - **Enlarge** (duergar): the Enlarged mark for a minute.
//! - **Teleport** (balor, blink dog, marilith, nalfeshnee, unicorn): out of melee, far
//!   from the fray, with no opportunity attack; its grapples end.
//! - **Etherealness** (ghost, night hag, succubus/incubus; a nightmare's Ethereal
//!   Stride): the Ethereal mark (nothing targets it, it is offered nothing but coming
//!   back); the same action brings it back.
//! - **Healing Touch** (deva, planetar, solar, unicorn): heals another creature of its
//!   side and ends blindness, deafness and poison.
//! - **Change Shape** (ancient metallic dragons, couatl, deva, night hag, oni): resolved
//!   as narration — the form changes, its statistics here do not (the event's note
//!   says so).
//! - **Ink Cloud** (octopus, giant octopus): the foes in melee with it are blinded
//!   (heavily obscured) for a minute, and it dashes away (far). Underwater only: the
//!   GM says whether there is water. **Darkness Aura** (darkmantle): the same, without
//!   the dash.
//! - **Phantasms** (cloaker): three duplicates (the Mirror Image mark). **Haste** (clay
//!   golem): +2 AC, advantage on Dexterity saves until the end of its next turn.
//!   **Slow** (stone golem): the foes in melee with it save or are slowed for a minute.
//! - Resolved as narration: Illusory Appearance, Read Thoughts, Heart Sight, Nightmare
//!   Haunting. A green hag's Invisible Passage is Invisibility.
//!
//! - **Children of the Night** (vampire: 2d4 swarms of bats, at once), **Animate
//!   Trees** (treant: two trees with a treant's statistics), **Create Specter** (wraith:
//!   a specter, while a humanoid lies dead in the fight): the creatures join the fight
//!   on its side, with their own initiative.
//! - **Leadership** (knight): the other creatures of its side add a d4 to attack rolls
//!   and saves for a minute (the mark Bless uses).
//! - **Tentacle Slam** (otyugh: the creatures it grapples), **Whirlwind** (air
//!   elemental: those in melee with it), **Deadly Leap** (bulette: the foe it lands
//!   on): a save each, the damage (half on a success) and prone or stunned.
//!
//! Legendary actions that make no attack: **Detect** (a Wisdom (Perception) check),
//! **Wing Attack** (each foe in melee with the dragon: a Dexterity save or the damage
//! and prone; then it flies out of melee), **Move** (out of melee, no opportunity
//! attack), **Teleport** (far), **Heal Self**.

use super::{Emitter, find_creature, resolve};
use crate::ability::Ability;
use crate::command::NpcOption;
use crate::condition::Condition;
use crate::creature::{Creature, Effect};
use crate::data::DamageType;
use crate::effect::{Active, EndsOn, Limit, Mark, Until};
use crate::error::RuleError;
use crate::event::{EventKind, Place};
use crate::ids::CreatureId;
use crate::state::CampaignState;

/// What a special action does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Special {
    /// Swallow (with the named bite) or Engulf (`bite` none): a grappled foe goes
    /// inside.
    Swallow {
        bite: Option<String>,
        inside: Inside,
    },
    Invisibility,
    Enlarge,
    Teleport,
    Etherealness,
    HealingTouch {
        dice: String,
    },
    ChangeShape,
    /// Resolved as narration (Illusory Appearance, Read Thoughts, Heart Sight,
    /// Nightmare Haunting): nothing the rules track changes; `note` says what happens.
    Narration {
        note: &'static str,
    },
    /// Ink Cloud (`dash`: then it dashes away) and Darkness Aura: the foes in melee
    /// with it are blinded (heavily obscured) for a minute.
    InkCloudLike {
        dash: bool,
    },
    /// Phantasms: three illusory duplicates (the Mirror Image mark).
    Phantasms,
    /// A clay golem's Haste: +2 AC and advantage on Dexterity saves until the end of its
    /// next turn (the bonus-action slam is the GM's).
    Haste,
    /// A stone golem's Slow: each foe in melee with it makes a Wisdom save (`dc`) or is
    /// slowed for a minute (speed halved, no reactions, one attack, an action or a
    /// bonus action), repeating the save at the end of each of its turns.
    Slow {
        dc: i32,
    },
    /// Creatures called or raised to fight on its side (Children of the Night: 2d4
    /// swarms of bats; Animate Trees: two trees with a treant's statistics; Create
    /// Specter: a specter, from a humanoid dead in this fight).
    Summon {
        monster: &'static str,
        count: &'static str,
        /// Only with a dead humanoid in the fight (Create Specter).
        needs_corpse: bool,
    },
    /// Leadership: the other creatures of its side add a d4 to attack rolls and saves
    /// for a minute.
    Leadership,
    /// A save for each creature it grapples (Tentacle Slam), is in melee with
    /// (Whirlwind), or lands on (Deadly Leap, at a target): the damage (half on a
    /// success, when the text says so) and, on a failure, prone or stunned until the end
    /// of its next turn.
    Burst(Burst),
}

/// Who a [`Special::Burst`] catches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BurstTargets {
    Grappled,
    Engaged,
    /// One foe it lands on (and closes in with).
    Target,
}

/// A [`Special::Burst`]'s save and what failing it does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Burst {
    pub targets: BurstTargets,
    pub ability: Ability,
    /// "A Strength or Dexterity saving throw (target's choice)": the better of the two.
    pub or_dex: bool,
    pub dc: i32,
    pub damage: Vec<(String, DamageType)>,
    pub half: bool,
    pub prone: bool,
    pub stunned: bool,
}

/// Reads a save burst from its text (the failure's damage before "on a successful
/// save" / "if the saving throw is successful").
fn read_burst(d: &str) -> Option<Burst> {
    let (dc, ability) = dc_after(d, 0)?;
    let fail_end = ["on a successful save", "if the saving throw is successful"]
        .iter()
        .filter_map(|w| d.find(w))
        .min()
        .unwrap_or(d.len());
    let fail = &d[..fail_end];
    let mut damage = Vec::new();
    let mut from = 0;
    while let Some(i) = fail[from..].find(" damage") {
        let at = from + i;
        if let Some(p) = dice_before(fail, at)
            && !damage.contains(&p)
            && fail[..at].rfind('(').is_some_and(|o| o + 40 > at)
        {
            damage.push(p);
        }
        from = at + 1;
    }
    if damage.is_empty() {
        return None;
    }
    let targets = if d.contains("grappled by it") {
        BurstTargets::Grappled
    } else if d.contains("space that contains") {
        BurstTargets::Target
    } else {
        BurstTargets::Engaged
    };
    // The first sentence's damage only (a thrown creature's extra d6s are the GM's).
    damage.truncate(2);
    Some(Burst {
        targets,
        ability,
        or_dex: d.contains("strength or dexterity saving throw"),
        dc,
        damage,
        half: d.contains("half"),
        prone: fail.contains("prone"),
        stunned: fail.contains("stunned until the end of"),
    })
}

/// What being inside a monster does, from its stat block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inside {
    /// The damage at the start of each of the monster's turns.
    pub dice: String,
    pub damage_type: DamageType,
    /// Engulf: a save against this DC avoids it.
    pub save: Option<(Ability, i32)>,
    /// (damage in one turn, DC): dealt that much by the creature inside, the monster
    /// makes a Constitution save at the end of that turn or regurgitates it.
    pub escape: Option<(i32, i32)>,
}

/// A legendary action that makes no attack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LegendarySpecial {
    Detect,
    WingAttack {
        dc: i32,
        dice: String,
        damage_type: DamageType,
    },
    Move,
    Teleport,
    HealSelf {
        dice: String,
    },
}

/// "… 21 (6d6) acid damage …": the dice in the last parentheses before `at` and the
/// damage type named after them.
fn dice_before(text: &str, at: usize) -> Option<(String, DamageType)> {
    let head = &text[..at];
    let open = head.rfind('(')?;
    let close = open + text[open..].find(')')?;
    let dice: String = text
        .get(open + 1..close)?
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    crate::dice::parse(&dice).ok()?;
    let damage_type = DamageType::parse(text[close + 1..].split_whitespace().next()?)?;
    Some((dice, damage_type))
}

/// "… regains 20 (4d8 + 2) hit points": the dice.
fn healing_dice(d: &str) -> Option<String> {
    let at = d.find(" hit points")?;
    let open = d[..at].rfind('(')?;
    let close = open + d[open..].find(')')?;
    let dice: String = d
        .get(open + 1..close)?
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    crate::dice::parse(&dice).ok()?;
    Some(dice)
}

/// "DC 14 Constitution saving throw" at or after `from`.
fn dc_after(text: &str, from: usize) -> Option<(i32, Ability)> {
    let rest = &text[from..];
    let at = rest.find("dc ")?;
    let mut words = rest[at + 3..].split_whitespace();
    let dc: i32 = words.next()?.parse().ok()?;
    let ability = Ability::parse(words.next()?)?;
    Some((dc.clamp(0, 40), ability))
}

/// The number before `word` ("takes 30 damage or more": 30).
fn number_before(text: &str, word: &str) -> Option<i32> {
    let at = text.find(word)?;
    text[..at]
        .split_whitespace()
        .next_back()?
        .parse::<i32>()
        .ok()
        .map(|n| n.clamp(1, 10_000))
}

/// Reads a stat-block action that makes no attack, by its name and text.
pub fn read(name: &str, desc: &str) -> Option<Special> {
    let n = name.to_ascii_lowercase();
    let d = desc.to_ascii_lowercase();
    if n.starts_with("swallow") || n.starts_with("engulf") {
        let bite = if n.starts_with("swallow") {
            let at = d.find("makes one ")? + "makes one ".len();
            let words: Vec<&str> = d[at..].split_whitespace().collect();
            let end = words.iter().position(|w| w.starts_with("attack"))?;
            Some(crate::data::from_index(&crate::data::to_index(
                &words[..end].join(" "),
            )))
        } else {
            None
        };
        // Swallow: "… takes 21 (6d6) acid damage at the start of each of …"; Engulf:
        // "… must succeed on a DC 14 Constitution saving throw at the start of each of
        // the mound's turns or take 13 (2d8 + 4) bludgeoning damage".
        let (dice, damage_type, save) = if let Some(at) = d.find(" damage at the start of each") {
            let (dice, t) = dice_before(&d, at)?;
            (dice, t, None)
        } else {
            let start = d.find("at the start of each")?;
            let (dc, ability) = dc_after(&d[..start], d[..start].rfind("dc ")?)?;
            let take = start + d[start..].find(" damage")?;
            let (dice, t) = dice_before(&d, take)?;
            (dice, t, Some((ability, dc)))
        };
        let escape = number_before(&d, "damage or more on a single turn").and_then(|n| {
            let at = d.find("damage or more on a single turn")?;
            let (dc, _) = dc_after(&d, at)?;
            Some((n, dc))
        });
        return Some(Special::Swallow {
            bite,
            inside: Inside {
                dice,
                damage_type,
                save,
                escape,
            },
        });
    }
    Some(match n.as_str() {
        "invisibility" => Special::Invisibility,
        "enlarge" => Special::Enlarge,
        "teleport" => Special::Teleport,
        "etherealness" | "ethereal stride" => Special::Etherealness,
        "healing touch" => Special::HealingTouch {
            dice: healing_dice(&d)?,
        },
        "change shape" => Special::ChangeShape,
        "ink cloud" => Special::InkCloudLike { dash: true },
        "darkness aura" => Special::InkCloudLike { dash: false },
        "invisible passage" => Special::Invisibility,
        "illusory appearance" => Special::Narration {
            note: "an illusion changes how it looks (narrated: its statistics are unchanged)",
        },
        "read thoughts" => Special::Narration {
            note: "reads the surface thoughts of a creature near it (narrated)",
        },
        "heart sight" => Special::Narration {
            note: "touches a creature and learns its emotional state and alignment (narrated)",
        },
        "nightmare haunting" => Special::Narration {
            note: "haunts a sleeping creature's dreams (narrated: outside a fight)",
        },
        "phantasms" => Special::Phantasms,
        "haste" => Special::Haste,
        "slow" => Special::Slow {
            dc: dc_after(&d, 0)?.0,
        },
        "children of the night" => Special::Summon {
            monster: "swarm-of-bats",
            count: "2d4",
            needs_corpse: false,
        },
        "animate trees" => Special::Summon {
            monster: "treant",
            count: "2",
            needs_corpse: false,
        },
        "create specter" => Special::Summon {
            monster: "specter",
            count: "1",
            needs_corpse: true,
        },
        "leadership" => Special::Leadership,
        "tentacle slam" | "whirlwind" | "deadly leap" => Special::Burst(read_burst(&d)?),
        _ => return None,
    })
}

/// Reads a legendary action that makes no attack, by its name and text.
pub fn read_legendary(name: &str, desc: &str) -> Option<LegendarySpecial> {
    let n = name.to_ascii_lowercase();
    let n = n.split(" (").next().unwrap_or(&n).trim();
    let d = desc.to_ascii_lowercase();
    Some(match n {
        "detect" => LegendarySpecial::Detect,
        "wing attack" => {
            let (dc, _) = dc_after(&d, 0)?;
            let at = d.find(" damage")?;
            let (dice, damage_type) = dice_before(&d, at)?;
            LegendarySpecial::WingAttack {
                dc,
                dice,
                damage_type,
            }
        }
        "move" => LegendarySpecial::Move,
        "teleport" => LegendarySpecial::Teleport,
        "heal self" => LegendarySpecial::HealSelf {
            dice: healing_dice(&d)?,
        },
        _ => return None,
    })
}

/// A monster's special actions: (name, usage limit, what it does), from its stat
/// block in the catalog (an action that became an attack is not one).
pub fn specials(state: &CampaignState, c: &Creature) -> Vec<(String, Option<String>, Special)> {
    let Some(m) = c.monster.as_deref().and_then(|m| state.catalog.monster(m)) else {
        return vec![];
    };
    m.actions
        .iter()
        .filter(|a| a.name != "Multiattack" && c.find_attack(&a.name).is_none())
        .filter_map(|a| read(&a.name, &a.desc).map(|s| (a.name.clone(), a.usage.clone(), s)))
        .collect()
}

/// A monster's legendary actions that make no attack: (name, cost, what it does).
pub fn legendary_specials(
    state: &CampaignState,
    c: &Creature,
) -> Vec<(String, u8, LegendarySpecial)> {
    let Some(m) = c.monster.as_deref().and_then(|m| state.catalog.monster(m)) else {
        return vec![];
    };
    c.legendary
        .iter()
        .filter(|l| l.attack.is_none())
        .filter_map(|l| {
            let (_, desc) = m.legendary_actions.iter().find(|(n, _)| *n == l.name)?;
            read_legendary(&l.name, desc).map(|s| (l.name.clone(), l.cost, s))
        })
        .collect()
}

/// Whether a limited special action has a use left.
fn usable(c: &Creature, name: &str, usage: Option<&str>) -> bool {
    let spent = c.spent.get(name).copied().unwrap_or(0);
    match usage.and_then(Limit::parse) {
        None => true,
        Some(Limit::Recharge { .. }) => spent == 0,
        Some(Limit::Uses(n)) => spent < n,
    }
}

/// Whether `c` is gone to the Ethereal Plane by its own action.
fn own_ethereal(c: &Creature) -> Option<Active> {
    c.marks()
        .find(|a| a.mark == Mark::Ethereal && a.by == c.id)
        .copied()
}

/// Who `me` has swallowed (at most one).
fn inside_of(state: &CampaignState, me: CreatureId) -> Option<CreatureId> {
    state
        .creatures
        .values()
        .find(|c| !c.dead && swallower(c) == Some(me))
        .map(|c| c.id)
}

/// The monster that has swallowed `c`.
pub fn swallower(c: &Creature) -> Option<CreatureId> {
    c.effects.iter().find_map(|e| match e {
        Effect::Swallowed { by, .. } => Some(*by),
        _ => None,
    })
}

/// The active monster's special actions it can use now, as NPC options. An ethereal
/// monster is offered only its way back.
pub(crate) fn options(state: &CampaignState, npc: &Creature, foes: &[&Creature]) -> Vec<NpcOption> {
    let mut out = Vec::new();
    let ethereal = own_ethereal(npc).is_some();
    for (name, usage, s) in specials(state, npc) {
        if !usable(npc, &name, usage.as_deref()) {
            continue;
        }
        let plain = |out: &mut Vec<NpcOption>| {
            out.push(NpcOption::Special {
                action: name.clone(),
                target: None,
            })
        };
        if ethereal {
            if s == Special::Etherealness {
                plain(&mut out);
            }
            continue;
        }
        match &s {
            Special::Swallow { .. } => {
                if inside_of(state, npc.id).is_some() {
                    continue;
                }
                for t in foes {
                    if t.conditions.get(&Condition::Grappled) == Some(&Some(npc.id)) {
                        out.push(NpcOption::Special {
                            action: name.clone(),
                            target: Some(t.name.clone()),
                        });
                    }
                }
            }
            Special::Invisibility if npc.has(Condition::Invisible) => {}
            Special::Slow { .. }
                if !foes.iter().any(|t| {
                    super::position::range(state, npc.id, t.id) == super::position::Range::Engaged
                }) => {}
            Special::Summon {
                needs_corpse: true, ..
            } if !corpse(state) => {}
            Special::Burst(b) => match b.targets {
                BurstTargets::Grappled => {
                    if foes
                        .iter()
                        .any(|t| t.conditions.get(&Condition::Grappled) == Some(&Some(npc.id)))
                    {
                        plain(&mut out);
                    }
                }
                BurstTargets::Engaged => {
                    if foes.iter().any(|t| {
                        super::position::range(state, npc.id, t.id)
                            == super::position::Range::Engaged
                    }) {
                        plain(&mut out);
                    }
                }
                BurstTargets::Target => {
                    for t in foes {
                        if super::position::can_reach(state, npc.id, t.id) {
                            out.push(NpcOption::Special {
                                action: name.clone(),
                                target: Some(t.name.clone()),
                            });
                        }
                    }
                }
            },
            Special::Enlarge if npc.has_mark(|m| *m == Mark::Enlarged) => {}
            Special::HealingTouch { .. } => {
                for a in state.combatants().filter(|a| {
                    a.on_party_side() == npc.on_party_side()
                        && a.id != npc.id
                        && !a.dead
                        && a.hp < a.effective_max_hp()
                        && !resolve::ethereal(a)
                }) {
                    out.push(NpcOption::Special {
                        action: name.clone(),
                        target: Some(a.name.clone()),
                    });
                }
            }
            _ => plain(&mut out),
        }
    }
    out
}

/// The built-in policy's pick among the special actions: a swallow or engulf when it
/// can, a healing touch on a bloodied ally, coming back from the Ethereal Plane.
pub(crate) fn policy_pick(
    state: &CampaignState,
    npc: &Creature,
    options: &[NpcOption],
) -> Option<NpcOption> {
    let specials = specials(state, npc);
    let kind = |action: &str| {
        specials
            .iter()
            .find(|(n, _, _)| n == action)
            .map(|(_, _, s)| s)
    };
    options
        .iter()
        .find(|o| match o {
            NpcOption::Special { action, target } => match kind(action) {
                Some(Special::Swallow { .. }) => true,
                Some(Special::Etherealness) => own_ethereal(npc).is_some(),
                Some(Special::HealingTouch { .. }) => target
                    .as_deref()
                    .and_then(|t| state.combatants().find(|c| c.name == t))
                    .is_some_and(|a| a.hp.saturating_mul(2) <= a.effective_max_hp()),
                _ => false,
            },
            _ => false,
        })
        .cloned()
}

/// A humanoid dead in this fight (a wraith's Create Specter).
fn corpse(state: &CampaignState) -> bool {
    state.combatants().any(|c| {
        c.dead
            && (c.is_pc()
                || c.monster
                    .as_deref()
                    .and_then(|m| state.catalog.monster(m))
                    .is_some_and(|m| m.kind.eq_ignore_ascii_case("humanoid")))
    })
}

/// A condition `c` can be given (no immunity, no Freedom of Movement).
fn can_get(c: &Creature, condition: Condition) -> bool {
    !c.condition_immunities.contains(&condition)
        && !c.has_mark(|m| *m == Mark::ImmuneTo { condition })
}

/// Puts a mark from `by` on `t` (and its condition, when it is one).
fn put(
    em: &mut Emitter,
    by: CreatureId,
    t: CreatureId,
    mark: Mark,
    until: Until,
    ends_on: Option<EndsOn>,
) {
    if let Mark::Condition { condition } = mark {
        if !can_get(em.creature(t), condition) {
            return;
        }
        if !em.creature(t).has(condition) {
            em.public(EventKind::ConditionApplied {
                creature: t,
                condition,
                source: Some(by),
            });
        }
    }
    em.public(EventKind::EffectStarted {
        creature: t,
        effect: Effect::Spell(Active {
            by,
            mark,
            until,
            concentration: false,
            save_ends: None,
            ends_on,
        }),
    });
    // Incapacitated (stunned): concentration ends.
    if let Mark::Condition { condition } = mark
        && condition.incapacitates()
        && em.creature(t).concentration.is_some()
    {
        resolve::end_concentration(em, t);
    }
}

/// Ends the grapples `me` holds (it teleports or slips away).
fn let_go(em: &mut Emitter, me: CreatureId) {
    let held: Vec<CreatureId> = em
        .state
        .creatures
        .values()
        .filter(|c| c.conditions.get(&Condition::Grappled) == Some(&Some(me)))
        .map(|c| c.id)
        .collect();
    for t in held {
        em.public(EventKind::ConditionRemoved {
            creature: t,
            condition: Condition::Grappled,
        });
    }
}

/// Out of every melee (no move spent, no opportunity attack), to `to`.
fn step_away(em: &mut Emitter, me: CreatureId, to: Place) {
    if !em.state.in_combat() {
        return;
    }
    let engaged = !super::position::engaged_with(&em.state, me).is_empty();
    let far = em
        .state
        .combat
        .as_ref()
        .is_some_and(|c| c.far.contains(&me));
    if engaged || (to == Place::Far && !far) || (to == Place::Near && far) {
        em.public(EventKind::Moved {
            creature: me,
            to,
            moves: 0,
        });
    }
}

/// The active monster's special action. Returns true when a reaction window opened
/// (a swallow's bite that hit; the swallow waits in it).
pub(crate) fn act(
    em: &mut Emitter,
    me: CreatureId,
    action: &str,
    target: Option<&str>,
) -> Result<bool, RuleError> {
    let (name, usage, special) = specials(&em.state, em.creature(me))
        .into_iter()
        .find(|(n, _, _)| n.eq_ignore_ascii_case(action))
        .ok_or_else(|| RuleError::invalid("Unknown action."))?;
    let t = match target {
        Some(t) => Some(find_creature(&em.state, t, |c| !c.dead)?),
        None => None,
    };
    if usage.is_some() {
        em.public(EventKind::LimitedActionUsed {
            creature: me,
            action: name.clone(),
        });
    }
    let note = |s: &str| s.to_string();
    match special {
        Special::Swallow { bite, .. } => {
            let t = t.ok_or_else(|| RuleError::invalid("Swallow whom?"))?;
            match bite {
                Some(bite) => {
                    em.public(EventKind::SpecialAction {
                        creature: me,
                        action: name,
                        target: Some(t),
                        note: note("a bite at the creature it grapples: a hit swallows it"),
                    });
                    let atk = em
                        .creature(me)
                        .find_attack(&bite)
                        .cloned()
                        .ok_or_else(|| RuleError::invalid("It has no bite."))?;
                    if super::combat::npc_attack_then(
                        em,
                        me,
                        t,
                        &atk,
                        Some(vec![]),
                        crate::event::AfterHit::Swallow,
                    )? {
                        return Ok(true);
                    }
                    let hit = em.events.iter().rev().find_map(|e| match &e.kind {
                        EventKind::AttackRolled {
                            attacker, outcome, ..
                        } if *attacker == me => Some(outcome.is_hit()),
                        _ => None,
                    });
                    if hit == Some(true) {
                        swallow(em, me, t);
                    }
                }
                None => {
                    em.public(EventKind::SpecialAction {
                        creature: me,
                        action: name,
                        target: Some(t),
                        note: note("engulfs the creature it grapples"),
                    });
                    swallow(em, me, t);
                }
            }
        }
        Special::Invisibility => {
            em.public(EventKind::SpecialAction {
                creature: me,
                action: name,
                target: None,
                note: note("invisible until it attacks or casts a spell"),
            });
            put(
                em,
                me,
                me,
                Mark::Condition {
                    condition: Condition::Invisible,
                },
                Until::LongRest,
                Some(EndsOn::AttackOrCast),
            );
        }
        Special::Enlarge => {
            em.public(EventKind::SpecialAction {
                creature: me,
                action: name,
                target: None,
                note: note("larger for a minute: more weapon damage, Strength advantage"),
            });
            let until = super::spells::until_of(em, me, me, crate::effect::Duration::Rounds(10));
            put(em, me, me, Mark::Enlarged, until, None);
        }
        Special::Teleport => {
            em.public(EventKind::SpecialAction {
                creature: me,
                action: name,
                target: None,
                note: note("teleports away from the fray (no opportunity attack)"),
            });
            let_go(em, me);
            step_away(em, me, Place::Far);
        }
        Special::Etherealness => {
            if let Some(a) = own_ethereal(em.creature(me)) {
                em.public(EventKind::SpecialAction {
                    creature: me,
                    action: name,
                    target: None,
                    note: note("comes back from the Ethereal Plane"),
                });
                resolve::end_mark(em, me, a);
            } else {
                em.public(EventKind::SpecialAction {
                    creature: me,
                    action: name,
                    target: None,
                    note: note(
                        "goes to the Ethereal Plane: it can neither affect nor be affected until it comes back",
                    ),
                });
                let_go(em, me);
                step_away(em, me, Place::Near);
                put(em, me, me, Mark::Ethereal, Until::LongRest, None);
            }
        }
        Special::HealingTouch { dice } => {
            let t = t.ok_or_else(|| RuleError::invalid("Heal whom?"))?;
            em.public(EventKind::SpecialAction {
                creature: me,
                action: name,
                target: Some(t),
                note: note("a healing touch; blindness, deafness and poison end"),
            });
            resolve::heal(em, t, Some(me), &dice)?;
            for c in [Condition::Blinded, Condition::Deafened, Condition::Poisoned] {
                if em.creature(t).has(c) {
                    resolve::end_condition(em, t, c);
                }
            }
        }
        Special::ChangeShape => {
            em.public(EventKind::SpecialAction {
                creature: me,
                action: name,
                target: None,
                note: note("takes another form (narrated: its statistics here are unchanged)"),
            });
        }
        Special::Summon {
            monster,
            count,
            needs_corpse,
        } => {
            if needs_corpse && !corpse(&em.state) {
                return Err(RuleError::invalid("There is no fallen humanoid to raise."));
            }
            let n = crate::dice::roll(count, em.dice)?.total.clamp(1, 20) as u32;
            em.public(EventKind::SpecialAction {
                creature: me,
                action: name,
                target: None,
                note: format!(
                    "calls {n} {} to fight on its side",
                    crate::data::from_index(monster).to_lowercase()
                ),
            });
            super::combat::add(
                em,
                &[crate::command::MonsterGroup {
                    monster: monster.to_string(),
                    count: n,
                }],
            )?;
        }
        Special::Leadership => {
            em.public(EventKind::SpecialAction {
                creature: me,
                action: name,
                target: None,
                note: note("its side adds a d4 to attack rolls and saves for a minute"),
            });
            let allies: Vec<CreatureId> = em
                .state
                .combatants()
                .filter(|c| {
                    c.on_party_side() == em.creature(me).on_party_side()
                        && !c.is_down()
                        && c.id != me
                })
                .map(|c| c.id)
                .collect();
            for a in allies {
                let until = super::spells::until_of(em, me, a, crate::effect::Duration::Rounds(10));
                put(
                    em,
                    me,
                    a,
                    Mark::RollDie {
                        sides: 4,
                        attacks: true,
                        saves: true,
                    },
                    until,
                    None,
                );
            }
        }
        Special::Burst(b) => {
            let mine = em.creature(me).clone();
            let caught: Vec<CreatureId> = match b.targets {
                BurstTargets::Grappled => em
                    .state
                    .combatants()
                    .filter(|c| c.conditions.get(&Condition::Grappled) == Some(&Some(me)))
                    .map(|c| c.id)
                    .collect(),
                BurstTargets::Engaged => super::position::engaged_with(&em.state, me)
                    .into_iter()
                    .filter(|o| super::position::hostile(&mine, em.creature(*o)))
                    .collect(),
                BurstTargets::Target => {
                    let t = t.ok_or_else(|| RuleError::invalid("Leap at whom?"))?;
                    resolve::targetable(em, t)?;
                    let need = super::position::approach(em, me, t, crate::data::Reach::Melee)?;
                    if need > 0 {
                        em.public(EventKind::Moved {
                            creature: me,
                            to: Place::Engaged { with: t },
                            moves: need,
                        });
                    }
                    vec![t]
                }
            };
            em.public(EventKind::SpecialAction {
                creature: me,
                action: name.clone(),
                target: t,
                note: note("a save for each creature it catches"),
            });
            let mut rolls = Vec::with_capacity(b.damage.len());
            for (dice, ty) in &b.damage {
                rolls.push((*ty, crate::dice::roll(dice, em.dice)?));
            }
            for c in caught {
                let tc = em.creature(c);
                if tc.is_down() || resolve::ethereal(tc) {
                    continue;
                }
                let ability =
                    if b.or_dex && tc.save_modifier(Ability::Dex) > tc.save_modifier(b.ability) {
                        Ability::Dex
                    } else {
                        b.ability
                    };
                if resolve::saving_throw(em, c, ability, Default::default(), Some(b.dc)) {
                    if b.half {
                        resolve::deal_rolled(em, c, Some(me), &rolls, false, true);
                    }
                    continue;
                }
                resolve::deal_rolled(em, c, Some(me), &rolls, false, false);
                let tc = em.creature(c);
                if tc.dead {
                    continue;
                }
                if b.prone && !tc.has(Condition::Prone) && can_get(tc, Condition::Prone) {
                    em.public(EventKind::ConditionApplied {
                        creature: c,
                        condition: Condition::Prone,
                        source: Some(me),
                    });
                }
                if b.stunned {
                    let until = super::spells::until_of(
                        em,
                        me,
                        c,
                        crate::effect::Duration::EndOfCastersNextTurn,
                    );
                    put(
                        em,
                        me,
                        c,
                        Mark::Condition {
                            condition: Condition::Stunned,
                        },
                        until,
                        None,
                    );
                }
            }
        }
        Special::InkCloudLike { dash } => {
            em.public(EventKind::SpecialAction {
                creature: me,
                action: name,
                target: None,
                note: note(if dash {
                    "a cloud of ink (underwater): those in melee with it are blinded for a minute; it dashes away"
                } else {
                    "magical darkness around it: those in melee with it are blinded for a minute"
                }),
            });
            let foes: Vec<CreatureId> = super::position::engaged_with(&em.state, me)
                .into_iter()
                .filter(|o| super::position::hostile(em.creature(me), em.creature(*o)))
                .collect();
            for f in foes {
                let until = super::spells::until_of(em, me, f, crate::effect::Duration::Rounds(10));
                put(
                    em,
                    me,
                    f,
                    Mark::Condition {
                        condition: Condition::Blinded,
                    },
                    until,
                    None,
                );
            }
            if dash {
                step_away(em, me, Place::Far);
            }
        }
        Special::Narration { note: n } => {
            em.public(EventKind::SpecialAction {
                creature: me,
                action: name,
                target: None,
                note: note(n),
            });
        }
        Special::Phantasms => {
            em.public(EventKind::SpecialAction {
                creature: me,
                action: name,
                target: None,
                note: note("three illusory duplicates: an attack may strike one instead"),
            });
            put(
                em,
                me,
                me,
                Mark::MirrorImage { images: 3 },
                Until::LongRest,
                None,
            );
        }
        Special::Haste => {
            em.public(EventKind::SpecialAction {
                creature: me,
                action: name,
                target: None,
                note: note("+2 AC and advantage on Dexterity saves until the end of its next turn"),
            });
            let until =
                super::spells::until_of(em, me, me, crate::effect::Duration::EndOfCastersNextTurn);
            put(em, me, me, Mark::AcBonus { amount: 2 }, until, None);
            put(
                em,
                me,
                me,
                Mark::SaveAdvantage {
                    ability: Some(Ability::Dex),
                },
                until,
                None,
            );
        }
        Special::Slow { dc } => {
            em.public(EventKind::SpecialAction {
                creature: me,
                action: name.clone(),
                target: None,
                note: note("those in melee with it: a Wisdom save or slowed for a minute"),
            });
            use crate::effect::{Duration, Step};
            let apply = |mark| Step::Apply {
                mark,
                duration: Duration::Rounds(10),
                save_ends: Some(Ability::Wis),
            };
            let rider = crate::effect::Rider {
                dc,
                steps: vec![Step::Save {
                    ability: Ability::Wis,
                    half: false,
                    on_fail: vec![
                        apply(Mark::SpeedHalved),
                        apply(Mark::NoReactions),
                        apply(Mark::Slowed),
                    ],
                }],
            };
            let foes: Vec<CreatureId> = super::position::engaged_with(&em.state, me)
                .into_iter()
                .filter(|o| super::position::hostile(em.creature(me), em.creature(*o)))
                .collect();
            for f in foes {
                if !em.creature(f).is_down() {
                    super::spells::run_rider(em, me, f, &name, &rider)?;
                }
            }
        }
    }
    super::combat::check_end(em);
    Ok(false)
}

/// A hit with a swallow's bite (or an engulf): `t` goes inside `me`.
pub(crate) fn swallow(em: &mut Emitter, me: CreatureId, t: CreatureId) {
    let c = em.creature(t);
    if c.dead || swallower(c).is_some() || !em.state.in_combat() {
        return;
    }
    if c.has(Condition::Grappled) {
        em.public(EventKind::ConditionRemoved {
            creature: t,
            condition: Condition::Grappled,
        });
    }
    for condition in [Condition::Blinded, Condition::Restrained] {
        let c = em.creature(t);
        if !c.has(condition) && can_get(c, condition) {
            em.public(EventKind::ConditionApplied {
                creature: t,
                condition,
                source: Some(me),
            });
        }
    }
    if super::position::range(&em.state, me, t) != super::position::Range::Engaged {
        em.public(EventKind::Moved {
            creature: t,
            to: Place::Engaged { with: me },
            moves: 0,
        });
    }
    em.public(EventKind::EffectStarted {
        creature: t,
        effect: Effect::Swallowed { by: me, taken: 0 },
    });
}

/// `t` comes out of `by` (prone, unless dead).
fn release(em: &mut Emitter, t: CreatureId, by: CreatureId) {
    let Some(e) = em
        .creature(t)
        .effects
        .iter()
        .find(|e| matches!(e, Effect::Swallowed { by: b, .. } if *b == by))
        .copied()
    else {
        return;
    };
    em.public(EventKind::EffectEnded {
        creature: t,
        effect: e,
    });
    for condition in [Condition::Blinded, Condition::Restrained] {
        let c = em.creature(t);
        if c.conditions.get(&condition) == Some(&Some(by))
            && !c.has_mark(|m| *m == Mark::Condition { condition })
        {
            em.public(EventKind::ConditionRemoved {
                creature: t,
                condition,
            });
        }
    }
    let c = em.creature(t);
    if !c.dead && !c.has(Condition::Prone) && can_get(c, Condition::Prone) {
        em.public(EventKind::ConditionApplied {
            creature: t,
            condition: Condition::Prone,
            source: Some(by),
        });
    }
}

/// What is inside `me`, from its stat block.
fn inside_rule(state: &CampaignState, me: &Creature) -> Option<Inside> {
    specials(state, me)
        .into_iter()
        .find_map(|(_, _, s)| match s {
            Special::Swallow { inside, .. } => Some(inside),
            _ => None,
        })
}

/// At the start of `id`'s turn: what it has swallowed takes its damage.
pub(crate) fn digest(em: &mut Emitter, id: CreatureId) -> Result<(), RuleError> {
    let Some(t) = inside_of(&em.state, id) else {
        return Ok(());
    };
    let Some(inside) = inside_rule(&em.state, em.creature(id)) else {
        return Ok(());
    };
    if let Some((ability, dc)) = inside.save
        && resolve::saving_throw(em, t, ability, Default::default(), Some(dc))
    {
        return Ok(());
    }
    let roll = crate::dice::roll(&inside.dice, em.dice)?;
    resolve::deal_rolled(em, t, Some(id), &[(inside.damage_type, roll)], false, false);
    Ok(())
}

/// At the end of `who`'s turn: swallowed, and it dealt its swallower enough damage this
/// turn, the swallower makes its Constitution save or regurgitates it.
pub(crate) fn turn_end(em: &mut Emitter, who: CreatureId) {
    let Some((by, taken)) = em.creature(who).effects.iter().find_map(|e| match e {
        Effect::Swallowed { by, taken } => Some((*by, *taken)),
        _ => None,
    }) else {
        return;
    };
    let Some((need, dc)) = inside_rule(&em.state, em.creature(by)).and_then(|i| i.escape) else {
        return;
    };
    if taken < need || em.creature(by).is_down() {
        return;
    }
    if !resolve::saving_throw(em, by, Ability::Con, Default::default(), Some(dc)) {
        release(em, who, by);
    }
}

/// Creatures inside a monster that has dropped come out.
pub(crate) fn release_from_fallen(em: &mut Emitter) {
    let out: Vec<(CreatureId, CreatureId)> = em
        .state
        .creatures
        .values()
        .filter_map(|c| swallower(c).map(|by| (c.id, by)))
        .filter(|(_, by)| em.state.creatures.get(by).is_none_or(|m| m.is_down()))
        .collect();
    for (t, by) in out {
        release(em, t, by);
    }
}

/// A legendary action that makes no attack, by monster `m`.
pub(crate) fn legendary(
    em: &mut Emitter,
    m: CreatureId,
    special: LegendarySpecial,
) -> Result<(), RuleError> {
    match special {
        LegendarySpecial::Detect => {
            resolve::check(
                em,
                m,
                crate::event::CheckKind::Skill(crate::ability::Skill::Perception),
                Default::default(),
                None,
            );
        }
        LegendarySpecial::WingAttack {
            dc,
            dice,
            damage_type,
        } => {
            let foes: Vec<CreatureId> = super::position::engaged_with(&em.state, m)
                .into_iter()
                .filter(|o| {
                    let o = em.creature(*o);
                    super::position::hostile(em.creature(m), o) && !resolve::ethereal(o)
                })
                .collect();
            if !foes.is_empty() {
                let roll = crate::dice::roll(&dice, em.dice)?;
                for f in foes {
                    if em.creature(f).is_down()
                        || resolve::saving_throw(em, f, Ability::Dex, Default::default(), Some(dc))
                    {
                        continue;
                    }
                    resolve::deal_rolled(
                        em,
                        f,
                        Some(m),
                        &[(damage_type, roll.clone())],
                        false,
                        false,
                    );
                    let c = em.creature(f);
                    if !c.dead && !c.has(Condition::Prone) && can_get(c, Condition::Prone) {
                        em.public(EventKind::ConditionApplied {
                            creature: f,
                            condition: Condition::Prone,
                            source: Some(m),
                        });
                    }
                }
            }
            if em.state.in_combat() && !em.creature(m).is_down() {
                step_away(em, m, Place::Near);
            }
        }
        LegendarySpecial::Move => step_away(em, m, Place::Near),
        LegendarySpecial::Teleport => {
            let_go(em, m);
            step_away(em, m, Place::Far);
        }
        LegendarySpecial::HealSelf { dice } => {
            resolve::heal(em, m, Some(m), &dice)?;
        }
    }
    super::combat::check_end(em);
    Ok(())
}
