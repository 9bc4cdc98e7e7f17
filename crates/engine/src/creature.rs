//! A creature at the table: a player character or a monster, with everything the rules
//! read and change (hit points, conditions, slots, effects, death saves).

use crate::ability::{Abilities, Ability, Proficiency, Skill, proficiency_bonus_for_level};
use crate::condition::Condition;
use crate::data::{DamagePart, DamageType, MonsterAction, Reach, SaveDc};
use crate::effect::Mark;
use crate::ids::{CreatureId, PlayerId};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Who controls a creature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Controller {
    /// A player character, owned by one player.
    Player { player: PlayerId },
    /// A monster or NPC, run by the engine's policy (or the LLM, choosing among options).
    Npc,
}

/// Player-character details that monsters lack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PcInfo {
    /// SRD class index ("fighter").
    pub class: String,
    /// SRD race index ("dwarf").
    pub race: String,
    pub level: u8,
    /// How many attacks one Attack action makes (2 with Extra Attack).
    pub attacks_per_action: u8,
    /// A wizard's spellbook: the spells it may prepare from (empty for other classes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spellbook: Vec<String>,
    /// A prepared caster (cleric, druid, paladin, wizard) may change its prepared
    /// spells: after a long rest, and once when created.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub may_prepare: bool,
    /// SRD subrace index ("hill-dwarf"), if one was chosen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subrace: Option<String>,
    /// Uses spent of limited class features and racial traits since they last came
    /// back ("second-wind": 1), and the round Sneak Attack was last dealt in
    /// ("sneak-attack-round"). See [`crate::features`].
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub uses: BTreeMap<String, u32>,
    /// The fighting style chosen (fighter, paladin, ranger), by index ("archery").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fighting_style: Option<String>,
    /// A Bardic Inspiration die held (its sides: 6 to 12), spent on the next failed
    /// attack roll, check or save it could turn (see [`crate::features`]); gone after
    /// a rest (ten minutes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inspiration: Option<u8>,
    /// Who gave the held Bardic Inspiration die (the bard's name then; old logs: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inspired_by: Option<String>,
    /// Class options chosen at creation and level up, by index: a warlock's Eldritch
    /// Invocations and Pact Boon, a sorcerer's Metamagic ("agonizing-blast",
    /// "pact-of-the-blade", "quickened-spell"). See [`crate::features::CLASS_OPTIONS`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    /// A druid in a beast's shape (Wild Shape): its own form, kept until it reverts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wild_shape: Option<Box<WildForm>>,
}

/// A druid's own form, kept while it wears a beast's (Wild Shape): what the beast's
/// statistics replace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WildForm {
    /// The beast's SRD index.
    pub beast: String,
    pub hp: i32,
    pub max_hp: i32,
    pub armor_class: i32,
    pub abilities: crate::ability::Abilities,
    pub attacks: Vec<Attack>,
    pub speed: u32,
    pub attacks_per_action: u8,
}

/// An attack a creature can make (a wielded weapon or a stat-block action).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attack {
    pub name: String,
    pub to_hit: i32,
    pub reach: Reach,
    /// Damage on a hit; the first part's type names the attack's damage.
    pub damage: Vec<DamagePart>,
    /// A save the target makes instead of (or after) an attack roll, for stat-block
    /// actions such as breath weapons.
    pub save: Option<SaveDc>,
    /// A usage limit from the stat block ("Recharge 5-6", "3/Day"): offered while a use
    /// is left (see [`Creature::spent`]).
    pub usage: Option<String>,
    /// What a hit does besides damage (prone, paralysis, grapple), with its save.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rider: Option<crate::effect::Rider>,
    /// Hits every standing foe (a breath weapon's cone or line: there are no positions).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub area: bool,
}

impl Attack {
    /// Builds an attack from a monster stat-block action.
    pub fn from_monster_action(a: &MonsterAction) -> Attack {
        // A save action's own damage (a breath) is not a rider.
        let rider = if a.attack_bonus.is_none() && !a.damage.is_empty() {
            None
        } else {
            monster_rider(a)
        };
        let mut damage = a.damage.clone();
        // Damage behind the rider's save is the rider's, not the hit's (the data lists
        // it among the hit's parts for some attacks).
        if a.attack_bonus.is_some()
            && let Some(r) = &rider
        {
            for step in &r.steps {
                if let crate::effect::Step::Save { on_fail, .. } = step {
                    for s in on_fail {
                        if let crate::effect::Step::Damage {
                            amount,
                            damage_type,
                            ..
                        } = s
                        {
                            damage.retain(|p| {
                                !(p.damage_type == *damage_type
                                    && p.dice.replace(' ', "") == amount.dice)
                            });
                        }
                    }
                }
            }
        }
        // A save action the data gives no save for (a harpy's Luring Song, a mummy's
        // Dreadful Glare): the save its rider reads.
        let save = a.save.clone().or_else(|| {
            if a.attack_bonus.is_some() {
                return None;
            }
            rider.as_ref().and_then(|r| match r.steps.first() {
                Some(crate::effect::Step::Save { ability, .. }) => Some(SaveDc {
                    ability: *ability,
                    dc: r.dc,
                    on_success: crate::data::SaveEffect::None,
                }),
                _ => None,
            })
        });
        Attack {
            name: a.name.clone(),
            to_hit: a.attack_bonus.unwrap_or(0),
            reach: a.reach.unwrap_or(Reach::Melee),
            damage,
            save,
            usage: a.usage.clone(),
            rider,
            area: a.save.is_some() && {
                let d = a.desc.to_ascii_lowercase();
                d.contains("each creature in")
                    || d.contains("each creature of")
                    || d.contains("-foot cone")
                    || d.contains("-foot line")
            },
        }
    }

    /// The usage limit, if the stat block gives one.
    pub fn limit(&self) -> Option<crate::effect::Limit> {
        self.usage.as_deref().and_then(crate::effect::Limit::parse)
    }

    /// True if this is an attack roll (not only a save effect).
    pub fn is_attack_roll(&self) -> bool {
        self.save.is_none() || self.to_hit != 0
    }
}

/// The on-hit or on-failed-save rider of a stat-block action, read from its text as
/// [`crate::effect::Rider::from_text`] reads it, with the stat blocks' wordings that
/// reader does not know made plain first ("saving throw against this magic or be",
/// "or be magically charmed", "Hit: The creature is restrained", "If the target is
/// Medium or smaller, it is grappled"); a condition that
/// lasts "until the end of the mummy's next turn" ends then.
pub fn monster_rider(a: &MonsterAction) -> Option<crate::effect::Rider> {
    let plain = a
        .desc
        .replace(" against this magic or", " or")
        .replace(" or be magically ", " or be ")
        .replace("Hit: The creature is ", "Hit: The target is ")
        .replace(", it is grappled", ", the target is grappled");
    let lower = plain.to_ascii_lowercase();
    // A lamia's Intoxicating Touch: "Hit: The target is magically cursed for 1 hour.
    // Until the curse ends, the target has disadvantage on Wisdom saving throws and
    // all ability checks" (an hour: until a long rest, as the engine's long marks).
    if lower.contains("magically cursed")
        && lower.contains("disadvantage on wisdom saving throws and all ability checks")
    {
        return Some(crate::effect::Rider {
            dc: 10,
            steps: vec![crate::effect::Step::Apply {
                mark: crate::effect::Mark::Cursed,
                duration: crate::effect::Duration::Long,
                save_ends: None,
            }],
        });
    }
    let mut rider = crate::effect::Rider::from_text(&plain)?;
    let own_turn = lower.split("until the end of the ").skip(1).any(|r| {
        r.split_whitespace()
            .next()
            .is_some_and(|w| w.ends_with("'s"))
            && r.contains("next turn")
    });
    if own_turn {
        for step in &mut rider.steps {
            if let crate::effect::Step::Save { on_fail, .. } = step {
                for s in on_fail {
                    if let crate::effect::Step::Apply { duration, .. } = s
                        && *duration == crate::effect::Duration::Long
                    {
                        *duration = crate::effect::Duration::EndOfCastersNextTurn;
                    }
                }
            }
        }
    }
    Some(rider)
}

/// A legendary action a monster can take at the end of another creature's turn.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Legendary {
    pub name: String,
    /// Legendary actions it costs (of three a round).
    pub cost: u8,
    /// The stat-block attack it makes ("The dragon makes a tail attack"); `None`: the
    /// GM narrates it (Detect, Wing Attack).
    pub attack: Option<String>,
}

impl Legendary {
    /// Reads one from its name and text: "Tail Attack" / "The dragon makes a tail
    /// attack.", "Wing Attack (Costs 2 Actions)".
    pub fn from_text(name: &str, desc: &str, attacks: &[Attack]) -> Legendary {
        let lower = name.to_ascii_lowercase();
        let cost = lower
            .split_once("(costs ")
            .and_then(|(_, r)| r.split_whitespace().next())
            .and_then(|n| n.parse::<u8>().ok())
            .unwrap_or(1)
            .clamp(1, 3);
        let d = desc.to_ascii_lowercase();
        let attack = ["makes one ", "makes a ", "makes an "]
            .iter()
            .find_map(|w| {
                let rest = &d[d.find(w)? + w.len()..];
                let words: Vec<&str> = rest.split_whitespace().collect();
                let at = words.iter().position(|x| x.starts_with("attack"))?;
                let wanted = crate::data::to_index(&words[..at].join(" "));
                attacks
                    .iter()
                    .find(|a| crate::data::to_index(&a.name) == wanted)
                    .map(|a| a.name.clone())
            })
            // "The vampire makes one unarmed strike." (its "Unarmed Strike (Vampire
            // Form Only)"), "The lich uses its Paralyzing Touch.", "The kraken uses
            // Lightning Storm.": a stat-block action named by the sentence.
            // "The unicorn makes one attack with its hooves."
            .or_else(|| {
                let rest = &d[d.find("attack with its ")? + "attack with its ".len()..];
                let named = crate::data::to_index(rest.split(['.', ' ']).next()?);
                attacks
                    .iter()
                    .find(|a| !named.is_empty() && crate::data::to_index(&a.name) == named)
                    .map(|a| a.name.clone())
            })
            .or_else(|| {
                ["makes one ", "uses its ", "uses "].iter().find_map(|w| {
                    let rest = &d[d.find(w)? + w.len()..];
                    let named = crate::data::to_index(rest.split('.').next()?);
                    if named.is_empty() {
                        return None;
                    }
                    attacks
                        .iter()
                        .find(|a| crate::data::to_index(&a.name).starts_with(&named))
                        .map(|a| a.name.clone())
                })
            });
        Legendary {
            name: name.to_string(),
            cost,
            attack,
        }
    }
}

/// A spellcaster's slots and spells.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spellcasting {
    pub ability: Ability,
    /// Maximum slots per level: `max_slots[level - 1]`.
    pub max_slots: [u8; 9],
    /// Slots used since the last long rest.
    pub used_slots: [u8; 9],
    /// SRD indexes of cantrips and spells the creature can cast.
    pub spells: Vec<String>,
    /// A monster's spellcaster level from its stat block (its cantrips scale by it);
    /// 0 for a player character (whose character level counts) or when not stated.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub caster_level: u8,
}

fn is_zero(n: &u8) -> bool {
    *n == 0
}

impl Spellcasting {
    pub fn available(&self, level: u8) -> u8 {
        if !(1..=9).contains(&level) {
            return 0;
        }
        let i = usize::from(level - 1);
        self.max_slots[i].saturating_sub(self.used_slots[i])
    }

    pub fn knows(&self, index: &str) -> bool {
        self.spells.iter().any(|s| s == index)
    }

    /// Marks one slot of `level` used (a level outside 1–9 is no slot: nothing).
    pub fn expend(&mut self, level: u8) {
        if (1..=9).contains(&level) {
            let i = usize::from(level - 1);
            self.used_slots[i] = self.used_slots[i].saturating_add(1);
        }
    }

    /// One used slot of `level` comes back (a level outside 1–9: nothing).
    pub fn regain(&mut self, level: u8) {
        if (1..=9).contains(&level) {
            let i = usize::from(level - 1);
            self.used_slots[i] = self.used_slots[i].saturating_sub(1);
        }
    }
}

/// Death-save track for a dying player character.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DeathSaves {
    pub successes: u8,
    pub failures: u8,
    pub stable: bool,
}

/// Hit dice: the die size and how many remain to spend on short rests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HitDice {
    pub die: u32,
    pub total: u32,
    pub remaining: u32,
}

/// A timed or concentration effect on a creature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Effect {
    /// Dodge: attacks against have disadvantage, Dex saves have advantage,
    /// until the start of the creature's next turn.
    Dodging,
    /// Shield: +5 AC until the start of the creature's next turn.
    Shielded,
    /// Bless: +1d4 on attack rolls and saves while the caster concentrates.
    Blessed { by: CreatureId },
    /// Aid: the hit point maximum (and current hit points) up by `amount` for 8 hours
    /// (until a long rest). Several Aids don't stack: the largest counts.
    Aided { by: CreatureId, amount: i32 },
    /// A mark from the effect language (a spell's buff, debuff or condition), with
    /// who put it there and when it ends. New castings of Bless, Shield and Aid use
    /// this; the three variants above stay so that older logs replay.
    Spell(crate::effect::Active),
    /// The Hide action succeeded: attacks by it have advantage, attacks against it
    /// disadvantage, until it attacks or casts a spell (or the fight ends).
    Hidden,
    /// Swallowed (or engulfed) by `by`: blinded and restrained inside it (the
    /// conditions are on the creature too, from `by`), out of reach of everything
    /// outside; `taken`: the damage it has dealt `by` this turn (enough of it may make
    /// `by` regurgitate it, [`crate::rules::monster_actions`]).
    Swallowed {
        by: CreatureId,
        #[serde(default)]
        taken: i32,
    },
}

/// An item carried, by name and quantity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    pub name: String,
    pub quantity: u32,
}

/// A creature: player character or monster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Creature {
    pub id: CreatureId,
    pub name: String,
    pub controller: Controller,
    pub pc: Option<PcInfo>,
    /// SRD monster index when this came from a stat block.
    pub monster: Option<String>,
    pub abilities: Abilities,
    pub proficiency_bonus: i32,
    pub save_proficiencies: BTreeSet<Ability>,
    pub skill_proficiencies: BTreeMap<Skill, Proficiency>,
    /// Total bonuses from a stat block, overriding the computed ones.
    pub save_bonus_overrides: BTreeMap<Ability, i32>,
    pub skill_bonus_overrides: BTreeMap<Skill, i32>,
    pub max_hp: i32,
    pub hp: i32,
    pub temp_hp: i32,
    pub hit_dice: HitDice,
    pub armor_class: i32,
    pub speed: u32,
    pub attacks: Vec<Attack>,
    /// (attack name, count) per Multiattack action.
    pub multiattack: Option<Vec<(String, u32)>>,
    pub resistances: BTreeSet<DamageType>,
    pub vulnerabilities: BTreeSet<DamageType>,
    pub immunities: BTreeSet<DamageType>,
    pub condition_immunities: BTreeSet<Condition>,
    /// Active conditions, with the creature that caused each when known.
    pub conditions: BTreeMap<Condition, Option<CreatureId>>,
    /// Exhaustion level 0..=6.
    pub exhaustion: u8,
    pub spellcasting: Option<Spellcasting>,
    /// The spell being concentrated on (SRD index).
    pub concentration: Option<String>,
    pub effects: BTreeSet<Effect>,
    pub death_saves: DeathSaves,
    pub dead: bool,
    pub inventory: Vec<Item>,
    /// Uses spent of limited stat-block actions (recharge, per day), by action name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub spent: BTreeMap<String, u32>,
    /// Legendary actions (three a round, back at the start of its turn).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub legendary: Vec<Legendary>,
    /// Legendary actions spent since its last turn began.
    #[serde(default)]
    pub legendary_used: u8,
    /// When it died, for Revivify ("within the last minute"): the fight's round, or 0
    /// for a death outside a fight; forgotten when a rest is taken or a new fight
    /// starts (more than a minute has passed). None for the living.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub died_round: Option<u32>,
    /// Conjured by a spell (Conjure Animals, Animate Objects...): it fights on its
    /// caster's side and vanishes when the caster's concentration ends (see
    /// [`crate::rules::summon`]). None for every other creature (old logs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summoned: Option<Summoned>,
    /// A monster in a shape a spell gave (Polymorph): its own statistics, kept until
    /// it returns (see [`crate::rules::shapes`]; a player character's are in
    /// [`PcInfo::wild_shape`]). None otherwise (old logs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub own_form: Option<Box<Creature>>,
}

/// Who conjured a creature, and on which side it fights.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summoned {
    /// The caster.
    pub by: CreatureId,
    /// The spell's name.
    pub spell: String,
    /// On the player characters' side (the caster is one, or fights with them).
    pub party: bool,
}

impl Creature {
    pub fn owner(&self) -> Option<&PlayerId> {
        match &self.controller {
            Controller::Player { player } => Some(player),
            Controller::Npc => None,
        }
    }

    pub fn is_pc(&self) -> bool {
        matches!(self.controller, Controller::Player { .. })
    }

    /// Fights on the player characters' side: a player character, or a creature one
    /// of them (or an ally of theirs) conjured. Sides decide who is hostile to whom.
    pub fn on_party_side(&self) -> bool {
        self.is_pc() || self.summoned.as_ref().is_some_and(|s| s.party)
    }

    pub fn modifier(&self, a: Ability) -> i32 {
        self.abilities.modifier(a)
    }

    pub fn has(&self, c: Condition) -> bool {
        self.conditions.contains_key(&c) || (c == Condition::Exhaustion && self.exhaustion > 0)
    }

    pub fn has_effect(&self, e: &Effect) -> bool {
        self.effects.contains(e)
    }

    /// Whether the Dodge action protects this creature now: it took it, and is neither
    /// incapacitated nor at speed 0 (the SRD: "You lose this benefit if you are
    /// incapacitated or if your speed drops to 0").
    pub fn dodging(&self) -> bool {
        self.has_effect(&Effect::Dodging) && self.can_act() && self.effective_speed() > 0
    }

    pub fn is_blessed(&self) -> bool {
        self.effects
            .iter()
            .any(|e| matches!(e, Effect::Blessed { .. }))
    }

    /// The effect-language marks on this creature.
    pub fn marks(&self) -> impl Iterator<Item = &crate::effect::Active> {
        self.effects.iter().filter_map(|e| match e {
            Effect::Spell(a) => Some(a),
            _ => None,
        })
    }

    /// Whether any mark on this creature matches.
    pub fn has_mark(&self, f: impl Fn(&Mark) -> bool) -> bool {
        self.marks().any(|a| f(&a.mark))
    }

    /// Resistant to a damage type, by nature or by a mark.
    pub fn resists(&self, t: DamageType) -> bool {
        self.resistances.contains(&t)
            || self.has_mark(|m| matches!(m, Mark::Resist { damage_type } if *damage_type == t))
    }

    /// Flat save bonus from marks (Slow −2 Dex).
    pub fn mark_save_bonus(&self, a: Ability) -> i32 {
        self.marks()
            .filter_map(|x| match x.mark {
                Mark::SaveBonus { ability, amount } if ability.is_none_or(|b| b == a) => {
                    Some(amount.clamp(-20, 20))
                }
                _ => None,
            })
            .sum()
    }

    /// Able to take actions: alive, conscious, not incapacitated.
    pub fn can_act(&self) -> bool {
        !self.dead && self.hp > 0 && !self.conditions.keys().any(|c| c.incapacitates())
    }

    /// At 0 HP, neither dead nor stable: rolls death saves.
    pub fn is_dying(&self) -> bool {
        self.is_pc() && !self.dead && self.hp <= 0 && !self.death_saves.stable
    }

    /// Out of the fight: dead, or at 0 HP.
    pub fn is_down(&self) -> bool {
        self.dead || self.hp <= 0
    }

    pub fn save_modifier(&self, a: Ability) -> i32 {
        if let Some(b) = self.save_bonus_overrides.get(&a) {
            return *b;
        }
        let prof = if self.save_proficiencies.contains(&a) {
            self.proficiency_bonus
        } else {
            0
        };
        self.modifier(a) + prof
    }

    pub fn skill_modifier(&self, s: Skill) -> i32 {
        if let Some(b) = self.skill_bonus_overrides.get(&s) {
            return *b;
        }
        let prof = match self.skill_proficiencies.get(&s) {
            Some(Proficiency::Proficient) => self.proficiency_bonus,
            Some(Proficiency::Expertise) => 2 * self.proficiency_bonus,
            None => 0,
        };
        self.modifier(s.ability()) + prof
    }

    /// Armour class including Shield.
    pub fn effective_ac(&self) -> i32 {
        let floor = self
            .marks()
            .filter_map(|x| match x.mark {
                Mark::AcAtLeast { base, dex } => {
                    Some(base.clamp(0, 30) + if dex { self.modifier(Ability::Dex) } else { 0 })
                }
                _ => None,
            })
            .max()
            .unwrap_or(i32::MIN);
        let bonus: i32 = self
            .marks()
            .filter_map(|x| match x.mark {
                Mark::AcBonus { amount } => Some(amount.clamp(-10, 10)),
                _ => None,
            })
            .sum();
        self.armor_class.max(floor)
            + bonus
            + if self.has_effect(&Effect::Shielded) {
                5
            } else {
                0
            }
    }

    /// Speed after conditions and exhaustion.
    pub fn effective_speed(&self) -> u32 {
        if self.conditions.keys().any(|c| c.zero_speed()) || self.exhaustion >= 5 {
            return 0;
        }
        let delta: i64 = self
            .marks()
            .filter_map(|x| match x.mark {
                Mark::Speed { delta } => Some(i64::from(delta.clamp(-1_000, 1_000))),
                _ => None,
            })
            .sum();
        let mut speed = (i64::from(self.speed.min(10_000)) + delta).max(0);
        if self.has_mark(|m| *m == Mark::SpeedDoubled) {
            speed *= 2;
        }
        if self.has_mark(|m| *m == Mark::SpeedHalved) {
            speed /= 2;
        }
        if self.exhaustion >= 2 {
            speed /= 2;
        }
        speed as u32
    }

    /// Maximum HP after exhaustion (level 4 halves it).
    pub fn effective_max_hp(&self) -> i32 {
        let base = if self.exhaustion >= 4 {
            self.max_hp / 2
        } else {
            self.max_hp
        };
        let raised = base.saturating_add(self.aid_bonus());
        // Harm: lowered, never below 1.
        let lowered = self
            .effects
            .iter()
            .filter_map(|e| match e {
                Effect::Spell(crate::effect::Active {
                    mark: Mark::MaxHpReduced { amount },
                    ..
                }) => Some((*amount).clamp(0, 100_000)),
                _ => None,
            })
            .max()
            .unwrap_or(0);
        if lowered > 0 {
            raised.saturating_sub(lowered).max(1)
        } else {
            raised
        }
    }

    /// The hit point maximum Aid adds (the largest Aid on the creature).
    pub fn aid_bonus(&self) -> i32 {
        self.effects
            .iter()
            .filter_map(|e| match e {
                Effect::Aided { amount, .. } => Some((*amount).clamp(0, 1_000)),
                Effect::Spell(crate::effect::Active {
                    mark: Mark::MaxHp { amount },
                    ..
                }) => Some((*amount).clamp(0, 1_000)),
                _ => None,
            })
            .max()
            .unwrap_or(0)
    }

    /// The level its cantrips scale by: a character's level, a monster's stated
    /// spellcaster level (1 when the block states none).
    pub fn caster_level(&self) -> u8 {
        match &self.pc {
            Some(p) => p.level,
            None => self
                .spellcasting
                .as_ref()
                .map_or(1, |s| s.caster_level.clamp(1, 20)),
        }
    }

    /// Spell save DC: 8 + proficiency + spellcasting modifier.
    pub fn spell_save_dc(&self) -> Option<i32> {
        self.spellcasting
            .as_ref()
            .map(|s| 8 + self.proficiency_bonus + self.modifier(s.ability))
    }

    /// Spell attack bonus: proficiency + spellcasting modifier.
    pub fn spell_attack_bonus(&self) -> Option<i32> {
        self.spellcasting
            .as_ref()
            .map(|s| self.proficiency_bonus + self.modifier(s.ability))
    }

    /// Whether a limited action has a use left (always, for unlimited ones).
    pub fn can_use(&self, a: &Attack) -> bool {
        let spent = self.spent.get(&a.name).copied().unwrap_or(0);
        match a.limit() {
            None => true,
            Some(crate::effect::Limit::Recharge { .. }) => spent == 0,
            Some(crate::effect::Limit::Uses(n)) => spent < n,
        }
    }

    pub fn find_attack(&self, name: &str) -> Option<&Attack> {
        let want = crate::data::to_index(name);
        self.attacks
            .iter()
            .find(|a| crate::data::to_index(&a.name) == want)
    }

    pub fn item_count(&self, name: &str) -> u32 {
        let want = crate::data::to_index(name);
        self.inventory
            .iter()
            .filter(|i| crate::data::to_index(&i.name) == want)
            .map(|i| i.quantity)
            .sum()
    }

    /// A coarse health description that does not leak exact monster hit points.
    pub fn health(&self) -> Health {
        if self.dead {
            Health::Dead
        } else if self.hp <= 0 {
            Health::Down
        } else if self.hp * 2 <= self.max_hp {
            Health::Bloodied
        } else if self.hp < self.max_hp {
            Health::Hurt
        } else {
            Health::Unhurt
        }
    }

    /// Sets the level and everything derived from it (proficiency bonus).
    pub fn set_level(&mut self, level: u8) {
        if let Some(pc) = &mut self.pc {
            pc.level = level.clamp(1, 20);
            self.proficiency_bonus = proficiency_bonus_for_level(pc.level);
        }
    }
}

/// Health as shown to players for creatures whose exact HP is hidden.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    Unhurt,
    Hurt,
    Bloodied,
    Down,
    Dead,
}

impl Health {
    pub fn describe(self) -> &'static str {
        match self {
            Health::Unhurt => "unhurt",
            Health::Hurt => "hurt",
            Health::Bloodied => "bloodied",
            Health::Down => "down",
            Health::Dead => "dead",
        }
    }
}

impl Creature {
    /// A monster from its SRD stat block (average hit points, as the stat block lists).
    pub fn from_monster(m: &crate::data::MonsterData, id: CreatureId, name: String) -> Creature {
        let attacks: Vec<Attack> = m
            .actions
            .iter()
            // Damage, or a hit or a save with an effect the engine resolves
            // (Frightful Presence, a spider's Web, a harpy's Luring Song). An action
            // with neither (Teleport, Swallow) is a special action
            // ([`crate::rules::monster_actions`]).
            .filter(|a| {
                (a.attack_bonus.is_some() || a.save.is_some()) && !a.damage.is_empty()
                    || monster_rider(a).is_some_and(|r| {
                        a.attack_bonus.is_some_and(|b| b != 0)
                            || a.save.is_some()
                            || matches!(r.steps.first(), Some(crate::effect::Step::Save { .. }))
                    })
            })
            .map(Attack::from_monster_action)
            .collect();
        let legendary = m
            .legendary_actions
            .iter()
            .map(|(n, d)| Legendary::from_text(n, d, &attacks))
            .collect();
        Creature {
            id,
            name,
            controller: Controller::Npc,
            pc: None,
            monster: Some(m.index.clone()),
            abilities: m.abilities,
            proficiency_bonus: m.proficiency_bonus,
            save_proficiencies: BTreeSet::new(),
            skill_proficiencies: BTreeMap::new(),
            save_bonus_overrides: m.save_bonuses.clone(),
            skill_bonus_overrides: m.skill_bonuses.clone(),
            max_hp: m.hit_points.max(1),
            hp: m.hit_points.max(1),
            temp_hp: 0,
            hit_dice: HitDice {
                die: 8,
                total: 0,
                remaining: 0,
            },
            armor_class: m.armor_class,
            speed: m.speed,
            attacks,
            multiattack: m.multiattack.clone(),
            resistances: m.damage_resistances.iter().copied().collect(),
            vulnerabilities: m.damage_vulnerabilities.iter().copied().collect(),
            immunities: m.damage_immunities.iter().copied().collect(),
            condition_immunities: m
                .condition_immunities
                .iter()
                .filter_map(|c| Condition::parse(c))
                .collect(),
            conditions: BTreeMap::new(),
            exhaustion: 0,
            // A caster's slots and spells from its stat block (innate uses per day
            // are read from the catalog when it casts).
            spellcasting: m.spellcasting.as_ref().map(|sc| Spellcasting {
                ability: sc.ability,
                max_slots: sc.slots,
                used_slots: [0; 9],
                spells: sc.spells.iter().map(|(i, _)| i.clone()).collect(),
                caster_level: sc.level,
            }),
            concentration: None,
            effects: BTreeSet::new(),
            death_saves: DeathSaves::default(),
            dead: false,
            inventory: Vec::new(),
            spent: BTreeMap::new(),
            legendary,
            legendary_used: 0,
            died_round: None,
            summoned: None,
            own_form: None,
        }
    }
}
