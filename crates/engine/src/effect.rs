//! The effect language: what a spell (and, later, a monster action or class feature)
//! does, written as data.
//!
//! A [`SpellEffect`] says whom it picks ([`Target`]), how many times it strikes
//! ([`Repeat`]) and a tree of [`Step`]s run against each target: attack rolls and saving
//! throws branch, damage / healing / temporary hit points resolve, and [`Mark`]s (buffs,
//! debuffs, conditions) are put on creatures for a [`Duration`]. `decide` interprets it
//! (`rules::spells`); what it leaves on creatures is an [`crate::creature::Effect::Spell`]
//! carrying an [`Active`] record, so `apply` stays a pure fold and every roll stays in
//! the events.
//!
//! Lasting spells: a mark may also end on an event ([`EndsOn`]: damage, an attack or a
//! spell, a save); an aura ([`Mark::Aura`]) hurts foes engaged with its bearer when
//! their turns start; a spell with an [`Again`] part leaves a [`Mark::Recast`] on its
//! caster, and casting it again while that lasts runs the part with no slot
//! (`SpellCast.again`).
//!
//! The SRD data set's entries are built by `dicebard-srd` (generated from the data where
//! the data says enough, written by hand otherwise); [`generate`] is the generator for
//! catalogs built without one.

use crate::ability::Ability;
use crate::condition::Condition;
use crate::data::{DamageType, Reach, SaveEffect, SpellAttack, SpellData};
use crate::ids::CreatureId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How much of a spell's text the engine resolves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Coverage {
    /// Everything the spell does in a fight is resolved.
    Automated,
    /// The core is resolved; `note` says what the narrator / GM adds.
    Partial,
    /// No mechanical effect the engine tracks: the slot is spent and the narrator
    /// describes it (out-of-combat utility).
    Narrative,
}

/// A spell's effect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpellEffect {
    pub coverage: Coverage,
    /// What is left to the narrator (partial and narrative entries).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
    pub target: Target,
    /// Harmful: with no named target, an area picks every standing foe and a creature
    /// spell asks who; a helpful spell with no named target picks its caster.
    #[serde(default)]
    pub hostile: bool,
    #[serde(default)]
    pub repeat: Repeat,
    #[serde(default)]
    pub steps: Vec<Step>,
    /// What the caster can do again on later turns while the spell lasts, without a
    /// slot (Spiritual Weapon's bonus-action attack, Call Lightning's bolt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub again: Option<Box<Again>>,
    /// A zone the spell leaves where it was cast (Moonbeam, Cloudkill, Web): in a
    /// fight, the creatures it caught are inside it, and its steps strike whoever
    /// starts a turn in it or enters it (see [`Zone`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<Box<ZoneSpec>>,
}

/// What a spell's zone does, and when (see [`Zone`] for the rule).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoneSpec {
    /// Run against a creature the zone strikes (a save, damage, a condition).
    pub steps: Vec<Step>,
    pub when: ZoneTriggers,
    pub duration: Duration,
}

/// When a zone strikes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoneTriggers {
    /// A creature inside it when that creature's turn starts.
    #[serde(default)]
    pub turn_start: bool,
    /// A creature that moves into it.
    #[serde(default)]
    pub enter: bool,
    /// A creature that moves out of it (Spike Growth's thorns).
    #[serde(default)]
    pub leave: bool,
    /// On every move in or out, not only the first time on a turn.
    #[serde(default)]
    pub each_move: bool,
    /// What its steps put on a creature lasts while the creature is inside (Darkness:
    /// blinded): the marks end when it leaves, or the zone does.
    #[serde(default)]
    pub while_inside: bool,
    /// An aura around its caster (Spirit Guardians): it holds the caster and every
    /// creature engaged with it, moves with the caster, and strikes only the
    /// caster's foes. A creature that closes on the caster enters it; the caster
    /// closing on a creature brings the aura to it (no strike until its turn starts).
    #[serde(default)]
    pub aura: bool,
}

/// A spell's zone in a fight, in the theatre-of-the-mind position model
/// ([`crate::rules::position`]): the zone is where the creatures it caught stand, so
/// it is the set of creatures `inside` it.
///
/// * Cast in a fight, it holds the creatures the spell caught (its targets and, for an
///   area, everyone engaged with them); they took the spell's effect at casting, which
///   counts as their first time in it on that turn.
/// * A creature inside it when its turn starts is struck (`turn_start`): the zone's
///   steps run against it (a save against the caster's DC...). The text's "ends its
///   turn there" is counted at the start of the next turn, like every lingering effect
///   here.
/// * Moving: a creature that moves near or far leaves every zone; one that closes on
///   a creature stands where that creature stands, so it is inside exactly the zones
///   that creature is in (it enters those, leaves the others). Entering strikes it
///   (`enter`) at once, once per turn (any creature's turn); leaving strikes with
///   `leave` (Spike Growth). Both happen after the command that moved it.
/// * The zone ends when the caster's concentration ends, when its duration runs out
///   or when the fight ends. Casting it again where the spell allows (Moonbeam's
///   "move the beam") moves it: the new targets are inside, the old ones are not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Zone {
    pub id: u32,
    /// The caster.
    pub by: CreatureId,
    /// The spell's index and name.
    pub spell: String,
    pub name: String,
    /// When it strikes; what it does is the spell's [`ZoneSpec`] in the catalog.
    pub when: ZoneTriggers,
    pub cast: ZoneCast,
    pub until: Until,
    /// Ends with `by`'s concentration.
    #[serde(default)]
    pub concentration: bool,
    #[serde(default)]
    pub inside: std::collections::BTreeSet<CreatureId>,
    /// Struck this turn (cleared when any turn starts).
    #[serde(default)]
    pub struck: std::collections::BTreeSet<CreatureId>,
    /// Moved in (or out, with `leave`) and to be struck after the command.
    #[serde(default)]
    pub moving: std::collections::BTreeSet<CreatureId>,
}

/// The casting a zone's steps resolve with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoneCast {
    pub dc: i32,
    pub spell_level: u8,
    pub slot: u8,
    pub caster_level: u8,
    pub modifier: i32,
    pub attack_bonus: i32,
}

/// A lasting spell's repeatable part: casting the spell again while it lasts runs
/// these steps for `cost`, with no slot and no new concentration (the first casting
/// puts a [`Mark::Recast`] on its caster for `duration`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Again {
    pub cost: crate::event::ActionCost,
    pub target: Target,
    #[serde(default)]
    pub hostile: bool,
    pub steps: Vec<Step>,
    pub duration: Duration,
}

/// The key a [`Mark::Recast`] names its spell by: FNV-1a of the spell's index (a mark
/// is `Copy`, so it cannot hold the name).
pub fn spell_key(index: &str) -> u32 {
    index.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

impl SpellEffect {
    /// A narrative entry: the slot is spent and the narrator describes the rest.
    pub fn narrative(note: impl Into<String>) -> SpellEffect {
        SpellEffect {
            coverage: Coverage::Narrative,
            note: note.into(),
            target: Target::Any,
            hostile: false,
            repeat: Repeat::Once,
            steps: Vec::new(),
            again: None,
            zone: None,
        }
    }

    /// True when casting it would change nothing the engine tracks while claiming to
    /// (an automated or partial entry with no steps).
    pub fn does_nothing(&self) -> bool {
        self.coverage != Coverage::Narrative
            && self.steps.is_empty()
            && self.again.is_none()
            && self.zone.is_none()
    }
}

/// Whom a spell affects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Target {
    /// The caster only.
    SelfOnly,
    /// Up to `max` creatures, one more per slot level above the spell's.
    Creatures {
        max: u8,
        #[serde(default)]
        per_slot_above: u8,
    },
    /// Up to as many creatures as the spell makes strikes ([`Repeat`]): beams, rays,
    /// darts spread over the named targets in turn.
    Spread,
    /// An area: the creatures named (allies too, when the caster names them), or every
    /// standing foe when none is named.
    Area,
    /// Narrative spells: any creatures named, or none.
    Any,
}

/// How many strikes one casting makes; each runs the steps against the next target in
/// turn (and every target gets at least one).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Repeat {
    #[default]
    Once,
    /// By character level: the highest entry not above it (Eldritch Blast beams).
    ByCharacterLevel { counts: BTreeMap<u8, u8> },
    /// `base` at the spell's level, `per_slot_above` more per slot level above it
    /// (Scorching Ray rays, Magic Missile darts).
    BySlot { base: u8, per_slot_above: u8 },
}

/// A dice amount that may scale with slot level or character level. `MOD` in the text
/// is the caster's spellcasting modifier.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Amount {
    /// The amount at the spell's own level.
    pub dice: String,
    /// By slot level: the highest entry not above the slot replaces `dice`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub by_slot: BTreeMap<u8, String>,
    /// By character level (cantrips): the highest entry not above it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub by_character_level: BTreeMap<u8, String>,
    /// Added once per slot level above the level the amount is for ("1d6", "5").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_slot_above: Option<String>,
}

impl Amount {
    pub fn fixed(dice: &str) -> Amount {
        Amount {
            dice: dice.into(),
            ..Amount::default()
        }
    }

    pub fn scaling(dice: &str, per_slot_above: &str) -> Amount {
        Amount {
            dice: dice.into(),
            per_slot_above: Some(per_slot_above.into()),
            ..Amount::default()
        }
    }

    /// The dice expression for a casting: `spell_level` is the spell's level, `slot`
    /// the slot spent (the spell's level for cantrips), `character_level` the caster's
    /// level, `modifier` its spellcasting modifier.
    pub fn resolve(&self, spell_level: u8, slot: u8, character_level: u8, modifier: i32) -> String {
        let (base_level, mut dice) = if let Some((_, d)) = self
            .by_character_level
            .range(..=character_level)
            .next_back()
        {
            (slot, d.clone())
        } else if let Some((l, d)) = self.by_slot.range(..=slot).next_back() {
            (*l, d.clone())
        } else {
            (spell_level, self.dice.clone())
        };
        let above = u32::from(slot.saturating_sub(base_level));
        if let (Some(per), true) = (&self.per_slot_above, above > 0) {
            dice = format!("{dice} + {}", times(per, above));
        }
        // As the SRD converter writes it: "1d8+MOD" (no spaces).
        dice.replace("+MOD", &crate::character::with_modifier("", modifier))
            .replace("MOD", &modifier.to_string())
    }
}

/// "1d6" × 3 = "3d6"; "5" × 3 = "15"; anything else is repeated with `+`.
fn times(per: &str, n: u32) -> String {
    let p = per.trim();
    if let Some((c, s)) = p.split_once('d')
        && let (Ok(c), Ok(s)) = (c.parse::<u32>(), s.parse::<u32>())
    {
        return format!("{}d{s}", c.saturating_mul(n));
    }
    if let Ok(v) = p.parse::<i64>() {
        return (v.saturating_mul(i64::from(n))).to_string();
    }
    vec![p; n as usize].join(" + ")
}

/// One step of an effect, run against one target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "do")]
pub enum Step {
    /// A spell attack roll against the target.
    Attack {
        reach: Reach,
        on_hit: Vec<Step>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        on_miss: Vec<Step>,
    },
    /// The target makes a saving throw against the caster's spell save DC. Damage in
    /// `on_fail` is rolled once for the whole casting (every target takes the same
    /// roll); `half` deals half of it on a success (and nothing else of `on_fail`).
    Save {
        ability: Ability,
        #[serde(default)]
        half: bool,
        on_fail: Vec<Step>,
    },
    /// Damage. Several damage steps in one list are one hit (resistances per type).
    Damage {
        amount: Amount,
        damage_type: DamageType,
        /// Half of the rolled damage (Acid Arrow on a miss).
        #[serde(default)]
        half: bool,
    },
    Heal {
        amount: Amount,
    },
    /// Temporary hit points (the larger of old and new stays).
    TempHp {
        amount: Amount,
    },
    /// Hit point maximum and current hit points up by the amount (Aid).
    MaxHp {
        amount: Amount,
        duration: Duration,
    },
    /// A mark (buff, debuff, condition) for a duration; with `save_ends` the target
    /// repeats the save at the end of each of its turns and a success ends it.
    Apply {
        mark: Mark,
        duration: Duration,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        save_ends: Option<Ability>,
    },
    /// Damage at the start of each of the target's turns while it lasts, with an
    /// optional save against the caster's DC (half or none).
    Ongoing {
        amount: Amount,
        damage_type: DamageType,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        save: Option<(Ability, SaveEffect)>,
        duration: Duration,
    },
    /// A condition with no set end (Prone: the creature stands up itself).
    Condition {
        condition: Condition,
    },
    /// Sleep / Color Spray: roll a pool of hit points; the targets, lowest current hit
    /// points first, are affected while the pool covers them. Runs once per casting.
    HpPool {
        amount: Amount,
        mark: Mark,
        duration: Duration,
        /// Creatures the pool passes over: of these types, or immune to this condition
        /// (Sleep: undead, and creatures that can't be charmed).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        spare: Option<Spare>,
    },
    /// Only for a target with at most this many hit points (Power Word Kill / Stun).
    IfHpAtMost {
        hp: i32,
        then: Vec<Step>,
    },
    /// Only for targets of these creature types ("humanoid"), or with `except`, for
    /// every type but these (Hold Person: humanoids; Hold Monster: not undead). A cast
    /// naming a target of another type is refused with the rule.
    IfType {
        types: Vec<String>,
        #[serde(default)]
        except: bool,
        then: Vec<Step>,
    },
    /// The target dies.
    Kill,
    /// A dying target becomes stable.
    Stabilize,
    /// The marks the inner steps put on a creature also end early on an event (Sleep
    /// and Hypnotic Pattern: when it takes damage; Invisibility: when it attacks or
    /// casts a spell). An [`Step::HpPool`] inside is run once per casting as usual.
    EndsOn {
        on: EndsOn,
        then: Vec<Step>,
    },
    /// The inner attacks come from something the spell conjured (Spiritual Weapon,
    /// Arcane Sword), not from the caster: the caster does not move to reach the
    /// target, and its own melee does not hinder them.
    Detached {
        then: Vec<Step>,
    },
    /// The marks put inside with `save_ends` end not on a save at the end of each turn
    /// but on a check of that ability against the caster's DC, made as an action
    /// (`break free`: Web, Entangle).
    BreakFree {
        then: Vec<Step>,
    },
    /// Temporary hit points equal to the amount at the start of each of the target's
    /// turns while it lasts (Heroism: the caster's spellcasting modifier).
    TurnTempHp {
        amount: Amount,
        duration: Duration,
    },
    /// In a fight, the target steps out of melee to near the fray with no move spent
    /// and no opportunity attack (Misty Step); a grapple on it ends.
    Teleport,
    /// Ends every spell mark on the target (Dispel Magic: the spells on it end).
    Dispel,
    /// The caster regains hit points equal to `percent`% of the damage the damage
    /// steps before it in the same list dealt to this target (Vampiric Touch: 50).
    Drain {
        percent: u8,
    },
    /// A harmful aura around the target (Spirit Guardians on its caster): each hostile
    /// creature engaged with it when that creature's turn starts takes the damage (a
    /// save against the caster's DC for half or none), while it lasts.
    Aura {
        amount: Amount,
        damage_type: DamageType,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        save: Option<(Ability, SaveEffect)>,
        duration: Duration,
    },
    /// A bonus to the target's weapon attack and damage rolls: the amount (rolled once,
    /// by slot) while it lasts (Magic Weapon: +1, +2 at slot 4, +3 at slot 6).
    WeaponBonus {
        amount: Amount,
        duration: Duration,
    },
    /// The caster chooses one of these branches by a word of the cast (Protection
    /// from Energy: `fire`; Enlarge/Reduce: `enlarge` or `reduce`), named among the
    /// cast's targets; a cast naming none (or several) is refused with the choices.
    Choose {
        options: BTreeMap<String, Vec<Step>>,
    },
    /// A creature that died within the last minute (ten rounds of the fight it died
    /// in, or after that fight with no rest or new fight since) returns to life with
    /// 1 hit point (Revivify). A cast naming a living creature, or one dead too long,
    /// is refused with the rule. A top-level step (the cast checks its targets).
    Revive,
    /// Counterspell: a top-level marker. The spell is cast only as a reaction to a
    /// foe's spell, through the reaction window ([`crate::rules::counter`]); a cast
    /// asked for directly is refused with how to use it.
    Counter,
    /// Ends these conditions on the target (Lesser Restoration: the first one it has).
    Cure {
        conditions: Vec<Condition>,
        #[serde(default)]
        all: bool,
    },
    /// Damage at the end of the target's next turn (Acid Arrow's later acid): a
    /// [`Mark::Burst`] that deals it as it ends.
    Later {
        amount: Amount,
        damage_type: DamageType,
    },
    /// A [`Mark::WeaponRider`] whose dice scale with the slot (Branding Smite: 2d6,
    /// 1d6 more a slot above).
    WeaponRider {
        amount: Amount,
        damage_type: DamageType,
        #[serde(default)]
        once: bool,
        duration: Duration,
    },
    /// Healing from one pool for the whole casting (Mass Heal: 700): each target, in
    /// the order named, regains what it is missing while the pool lasts.
    HealPool {
        amount: Amount,
    },
    /// The target's hit point maximum drops by the damage the damage steps of the same
    /// list dealt it (half on a save too), for the duration; and that damage can't take
    /// it below 1 hit point (Harm).
    LowerMaxHp {
        duration: Duration,
    },
    /// Ends the target's marks equal to `mark` (with `same_kind`: of its kind, whatever
    /// their numbers): Greater Restoration ending a lowered maximum or a curse.
    EndMark {
        mark: Mark,
        #[serde(default)]
        same_kind: bool,
    },
    /// Only for a target not immune to this damage type (for poison, not immune to
    /// being poisoned either): Stinking Cloud's retching spares the poison-immune.
    UnlessImmune {
        damage_type: DamageType,
        then: Vec<Step>,
    },
    /// The inner steps act on the caster instead of the target (Hunter's Mark: the
    /// hunter's advantage on finding its quarry).
    Caster {
        then: Vec<Step>,
    },
    /// SRD creatures join on the caster's side (Conjure Animals, Animate Objects, Giant
    /// Insect): the caster names the creature among the cast's words ("conjure animals
    /// wolf"); how many come follows from its challenge rating. A top-level step, run
    /// once on the caster; the rule is in [`crate::rules::summon`].
    Summon {
        /// SRD creature types the caster may name ("beast"); empty: only `named`.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        types: Vec<String>,
        /// How many come of a creature whose challenge rating is at most so many
        /// eighths: (CR × 8, count), e.g. Conjure Animals' [(16, 1), (8, 2), (4, 4),
        /// (2, 8)]: the largest count whose rating covers the creature's.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        by_cr: Vec<(u16, u8)>,
        /// The count is multiplied by the highest entry whose slot is not above the
        /// slot spent: (slot, factor) (Conjure Animals: 5th ×2, 7th ×3, 9th ×4).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        multiply: Vec<(u8, u8)>,
        /// The challenge rating allowed rises by one per slot level above the spell's
        /// (Conjure Elemental, Conjure Fey).
        #[serde(default)]
        cr_per_slot: bool,
        /// Words that name a set creature and how many (Giant Insect: "spider": three
        /// giant spiders).
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        named: BTreeMap<String, (String, u8)>,
        /// Initiative is rolled once for them all ("as a group": Conjure Animals,
        /// Woodland Beings, Minor Elementals): they take their turns one after another.
        #[serde(default)]
        group_initiative: bool,
        /// Filled by the cast: the creature's SRD index and how many come.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        chosen: Option<(String, u8)>,
    },
    /// The target takes an SRD creature's shape (Polymorph, True Polymorph, Animal
    /// Shapes, Shapechange), named among the cast's words ("polymorph goblin into
    /// giant ape": the word naming no creature present). A foe makes a Wisdom save
    /// first. The rule is in [`crate::rules::shapes`].
    Shape {
        /// SRD creature types the shape may be of ("beast"); empty: any. With
        /// `except`, any type but these (Shapechange: no construct or undead).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        types: Vec<String>,
        #[serde(default)]
        except: bool,
        /// A challenge rating cap in eighths (Animal Shapes: 4 = 32).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_cr: Option<u16>,
        /// The largest size the shape may be ("Large": Animal Shapes); none: any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_size: Option<String>,
        /// At most the target's challenge rating or level (Polymorph).
        #[serde(default)]
        up_to_target: bool,
        /// At most the caster's level (Shapechange).
        #[serde(default)]
        up_to_caster: bool,
        /// Only on the caster's side (Animal Shapes: willing creatures).
        #[serde(default)]
        willing_only: bool,
        /// How long the shape lasts (the caster's concentration ends it too).
        duration: Duration,
        /// Filled by the cast: the shape's SRD index.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        chosen: Option<String>,
    },
}

/// What Command orders (its word), obeyed at the start of the target's next turn;
/// `Fear` is Fear's flight (only while the bearer is frightened).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Order {
    Approach,
    Drop,
    Flee,
    Grovel,
    Halt,
    Fear,
}

/// Who a hit point pool passes over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spare {
    #[serde(default)]
    pub types: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub immune_to: Option<Condition>,
}

/// How long a mark lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "n")]
pub enum Duration {
    /// Up to `n` rounds (1 minute = 10): until the start of the caster's turn `n`
    /// rounds on; it ends when the fight does.
    Rounds(u32),
    /// Until the start of the caster's next turn (Shield, Ray of Frost).
    StartOfCastersNextTurn,
    /// Until the end of the caster's next turn (Guiding Bolt, Color Spray).
    EndOfCastersNextTurn,
    /// Until the end of the target's next turn (Vicious Mockery).
    EndOfTargetsNextTurn,
    /// Until the start of the target's next turn (Shocking Grasp).
    StartOfTargetsNextTurn,
    /// Until the end of the target's turn: the one under way when it is the target's,
    /// else its next (Stinking Cloud's retching, put at the start of a turn).
    EndOfTargetsTurn,
    /// Ten minutes or more: until a long rest (or concentration ends).
    Long,
    /// Until the end of the caster's `n`th turn from now (its next is the first): Time
    /// Stop's turns, once rolled.
    CastersTurns(u32),
    /// `count`d`sides` + `plus` of the caster's turns, rolled once per casting (the
    /// roll in the events) and then [`Duration::CastersTurns`] (Time Stop: 1d4 + 1).
    RolledTurns { count: u8, sides: u8, plus: u8 },
}

/// What a mark does while it lasts. Copy-sized: dice are (count, sides).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "mark")]
pub enum Mark {
    /// An SRD condition (also shown in the creature's conditions while it lasts).
    Condition {
        condition: Condition,
    },
    /// AC up (or down, negative).
    AcBonus {
        amount: i32,
    },
    /// AC at least `base` (+ Dex modifier when `dex`): Mage Armor 13 + Dex, Barkskin 16.
    AcAtLeast {
        base: i32,
        dex: bool,
    },
    /// A die added to (negative sides: taken from) attack rolls and/or saves: Bless +1d4,
    /// Bane −1d4, Resistance +1d4 to saves.
    RollDie {
        sides: i32,
        attacks: bool,
        saves: bool,
    },
    /// A flat bonus to saves of one ability (all when `ability` is none).
    SaveBonus {
        ability: Option<Ability>,
        amount: i32,
    },
    /// Advantage on saves of one ability (all when none).
    SaveAdvantage {
        ability: Option<Ability>,
    },
    /// Attack rolls against the creature have advantage (Faerie Fire).
    AttackedWithAdvantage,
    /// Attack rolls against the creature have disadvantage (Blur).
    AttackedWithDisadvantage,
    /// The next attack roll against the creature has advantage (Guiding Bolt); spent
    /// when used.
    NextAttackedWithAdvantage,
    /// The creature's next attack roll has disadvantage (Vicious Mockery); spent when
    /// used.
    NextAttackDisadvantage,
    /// Speed changed by `delta` feet (Ray of Frost −10, Longstrider +10).
    Speed {
        delta: i32,
    },
    /// Speed halved (Slow) or doubled (Haste).
    SpeedHalved,
    SpeedDoubled,
    /// Resistance to one damage type.
    Resist {
        damage_type: DamageType,
    },
    /// The caster's attacks that hit this creature deal extra damage (Hex, Hunter's
    /// Mark); no damage type means the weapon's.
    BonusDamage {
        count: u8,
        sides: u8,
        damage_type: Option<DamageType>,
    },
    /// This creature's weapon hits deal extra damage (Divine Favor); `once`: only the
    /// next hit (Branding Smite).
    WeaponRider {
        count: u8,
        sides: u8,
        damage_type: DamageType,
        once: bool,
    },
    /// Damage at the start of each of the creature's turns; with a save against `dc`.
    Ongoing {
        count: u8,
        sides: u8,
        damage_type: DamageType,
        save: Option<Ability>,
        half: bool,
        dc: i32,
    },
    /// The creature can't regain hit points (Chill Touch).
    NoHealing,
    /// The creature can't take reactions (Shocking Grasp).
    NoReactions,
    /// Hit point maximum up by `amount` (Aid).
    MaxHp {
        amount: i32,
    },
    /// Damage to hostile creatures engaged with the bearer at the start of their turns
    /// ([`Step::Aura`]; the caster is the mark's `by`), with a save against `dc`.
    Aura {
        count: u8,
        sides: u8,
        damage_type: DamageType,
        save: Option<Ability>,
        half: bool,
        dc: i32,
    },
    /// The bearer may cast the spell whose [`spell_key`] this is again, as its
    /// [`Again`] part, at this slot level.
    Recast {
        spell: u32,
        slot: u8,
    },
    /// The bearer cannot be given this condition by spells, riders or monster actions
    /// (Heroism: frightened; Freedom of Movement: paralyzed, restrained).
    ImmuneTo {
        condition: Condition,
    },
    /// Temporary hit points at the start of each of the bearer's turns (Heroism).
    TurnTempHp {
        amount: i32,
    },
    /// Haste: one more weapon attack with the Attack action.
    Hasted,
    /// Slow: an action or a bonus action on its turn, not both; one attack a turn (no
    /// Extra Attack, no multiattack).
    Slowed,
    /// Beacon of Hope: advantage on death saves, and healing the bearer regains is the
    /// most its dice can give (its Wisdom-save advantage is a
    /// [`Mark::SaveAdvantage`] beside it).
    Hopeful,
    /// The bearer is not hit by Magic Missile (Shield).
    MagicMissileWard,
    /// The first time the bearer would drop to 0 hit points it drops to 1 instead, and
    /// the ward ends (Death Ward).
    DeathWard,
    /// The bearer's weapon attack and damage rolls get `amount` (Magic Weapon).
    WeaponBonus {
        amount: i32,
    },
    /// Enlarge: the bearer's weapon hits deal 1d4 more damage; advantage on Strength
    /// checks and saves.
    Enlarged,
    /// Reduce: the bearer's weapon hits deal 1d4 less damage (at least 1);
    /// disadvantage on Strength checks and saves.
    Reduced,
    /// Ray of Enfeeblement: the bearer's weapon attacks that use Strength deal half
    /// damage (every melee weapon or stat-block attack counts as one).
    Enfeebled,
    /// Mirror Image: `images` duplicates. Each attack roll against the bearer first
    /// rolls a d20 (6+ with three, 8+ with two, 11+ with one): on that the attack is
    /// made against a duplicate (AC 10 + the bearer's Dex modifier), which a hit
    /// destroys; the bearer is not hit.
    MirrorImage {
        images: u8,
    },
    /// Blink: at the end of each of the bearer's turns a d20 (shown as its roll): 11 or
    /// more and it vanishes ([`Mark::Ethereal`]) until the start of its next turn.
    Blink,
    /// Gone to the Ethereal Plane: it can't be attacked, targeted by spells, caught in
    /// an area or offered to a monster as a target, until the mark ends.
    Ethereal,
    /// Sanctuary: a creature that targets the bearer with an attack or a harmful spell
    /// first makes a Wisdom save against `dc` (the caster's, set when cast).
    Sanctuary {
        dc: i32,
    },
    /// In Silence: the bearer can't cast a spell with a verbal component.
    Silenced,
    /// Protection from Evil and Good: creatures of the types in `types` (bits of
    /// [`ward_bit`]: aberrations, celestials, elementals, fey, fiends, undead) attack
    /// the bearer with disadvantage and, with `charm`, cannot charm or frighten it
    /// (Dispel Evil and Good's ward has no `charm`).
    Warded {
        types: u8,
        #[serde(default)]
        charm: bool,
    },
    /// Sanctuary turned the bearer away from `from`: it can't target that creature
    /// with an attack or a harmful spell for the rest of its turn (it chooses another
    /// target, or loses the attack).
    TurnedAway {
        from: CreatureId,
    },
    /// The bearer's weapon attack rolls get `amount` (Sacred Weapon).
    AttackBonus {
        amount: i32,
    },
    /// A lamia's Intoxicating Touch: disadvantage on Wisdom saving throws and on all
    /// ability checks.
    Cursed,
    /// Under an order (Command's word; Fear's flight): at the start of each of the
    /// bearer's turns while it lasts it obeys and its turn ends (`approach`: it closes
    /// on the mark's caster; `flee` and `fear`: it moves far away; `grovel`: it falls
    /// prone; `drop`, `halt`: it stays where it is). `fear` holds only while the bearer
    /// is frightened. Theatre of the mind: the forced move provokes no opportunity
    /// attack.
    Commanded {
        order: Order,
    },
    /// The bearer's attack rolls against `who` have disadvantage (Chill Touch on an
    /// undead: `who` is the caster, set when cast).
    DisadvantageAgainst {
        who: CreatureId,
    },
    /// Immunity to a damage type (Silence: thunder, while inside).
    ImmuneDamage {
        damage_type: DamageType,
    },
    /// Damage dealt as the mark ends at the end of the bearer's turn (Acid Arrow).
    Burst {
        count: u8,
        sides: u8,
        damage_type: DamageType,
    },
    /// The bearer's next weapon hit that spends a once-only rider (Branding Smite)
    /// makes its target visible, and the target can't turn invisible while the spell
    /// lasts.
    Reveal,
    /// The bearer's ability checks with this ability have disadvantage (Hex).
    CheckDisadvantage {
        ability: Ability,
    },
    /// The bearer's checks with this skill have advantage (Hunter's Mark: Perception
    /// and Survival, the checks that find its quarry).
    SkillAdvantage {
        skill: crate::ability::Skill,
    },
    /// Hit point maximum down by `amount`, never below 1 (Harm; the largest counts).
    MaxHpReduced {
        amount: i32,
    },
    /// Sealed away by a spell (Resilient Sphere, Forcecage, Wall of Force's dome, Wall
    /// of Stone's enclosure, Maze): like [`Mark::Ethereal`] it can't be attacked,
    /// targeted by spells, caught in an area or offered to a monster as a target until
    /// the mark ends. The spells pair it with incapacitated: nothing it does inside
    /// reaches the fight (theatre of the mind: no walls, only who is sealed).
    Sealed,
    /// In a shape a spell gave (Polymorph, Animal Shapes): when the mark ends (the
    /// caster's concentration, the duration) the bearer returns to its own form. See
    /// [`crate::rules::shapes`].
    Polymorphed,
    /// Flying (Fly): a creature that does not fly can't close on it in melee (one
    /// already engaged with it stays so until one of them moves). The SRD data has no
    /// flying speeds: every monster counts as one that does not fly.
    Flying,
    /// Antilife Shell: creatures other than undead and constructs can't close on the
    /// bearer in melee (those engaged with it when it is cast are pushed back).
    Shell,
    /// Globe of Invulnerability / Antimagic Field: a spell of `max_level` or lower
    /// (cantrips included) cast by a creature without this ward can't target the
    /// bearer or catch it in its area; with every target warded, the cast is refused
    /// (no slot spent).
    SpellWard {
        max_level: u8,
    },
    /// The bearer's attack rolls and ability checks have disadvantage (Heat Metal's
    /// searing grip).
    Hampered,
}

/// The bit of [`Mark::Warded`]'s `types` a creature type ("undead", "fiend (devil)")
/// has: 0 for a type no ward names.
pub fn ward_bit(kind: &str) -> u8 {
    let k = kind.trim().to_ascii_lowercase();
    [
        ("aberration", 1),
        ("celestial", 2),
        ("elemental", 4),
        ("fey", 8),
        ("fiend", 16),
        ("undead", 32),
    ]
    .into_iter()
    .find(|(t, _)| k.starts_with(t))
    .map_or(0, |(_, b)| b)
}

/// Every type a ward names.
pub const WARD_ALL: u8 = 63;

/// What ends a mark early besides its duration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndsOn {
    /// The bearer takes damage.
    Damage,
    /// The bearer makes an attack roll or casts a spell.
    AttackOrCast,
    /// The bearer makes a saving throw (Resistance's d4 is for one save).
    Save,
    /// When the bearer takes damage it repeats the mark's end-of-turn save (its
    /// `save_ends`), with advantage, and a success ends it (Hideous Laughter).
    SaveOnDamage,
    /// The bearer makes an attack roll or casts a harmful spell (Sanctuary).
    AttackOrHarm,
    /// The bearer is no longer inside a zone of the mark's caster (Darkness: blinded
    /// while in it; see [`ZoneTriggers::while_inside`]).
    LeaveZone,
}

/// When an active mark ends by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Until {
    /// At the start of `who`'s turn in round `round` (or when the fight ends).
    TurnStart { who: CreatureId, round: u32 },
    /// At the end of `who`'s turn in round `round` (or when the fight ends).
    TurnEnd { who: CreatureId, round: u32 },
    /// At the bearer's next long rest.
    LongRest,
    /// Never by itself (a plain mark removed by other means).
    Removed,
}

impl Until {
    /// Lasts only within a fight (round-counted).
    pub fn is_round_bound(self) -> bool {
        matches!(self, Until::TurnStart { .. } | Until::TurnEnd { .. })
    }
}

/// A save repeated at the end of each of the bearer's turns; a success ends the mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SaveEnds {
    pub ability: Ability,
    pub dc: i32,
    /// Not a save at the end of each turn but a check of `ability` against `dc` that
    /// the bearer makes as its action (`break free`: Web, Entangle).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub action: bool,
}

/// A mark on a creature: who put it there, what it does, when it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Active {
    pub by: CreatureId,
    pub mark: Mark,
    pub until: Until,
    /// Ends when `by`'s concentration does.
    #[serde(default)]
    pub concentration: bool,
    #[serde(default)]
    pub save_ends: Option<SaveEnds>,
    /// Also ends on this event (old logs: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_on: Option<EndsOn>,
}

/// What a stat-block attack does to a creature it hits besides damage (a wolf's bite
/// knocking prone, a ghoul's claws paralysing), with the DC its saves use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rider {
    pub dc: i32,
    pub steps: Vec<Step>,
}

impl Rider {
    /// Reads the rider from a stat-block action's text: "... must succeed on a DC 11
    /// Strength saving throw or be knocked prone", "... or be paralyzed for 1 minute.
    /// The target can repeat the saving throw at the end of each of its turns", "the
    /// target is grappled (escape DC 13)". `None` when the text has none of these.
    pub fn from_text(desc: &str) -> Option<Rider> {
        let d = desc.to_ascii_lowercase();
        let hit = d.split_once("hit:").map_or(d.as_str(), |(_, h)| h);
        // "... must make a DC 11 Constitution saving throw, taking 9 (2d8) poison damage
        // on a failed save, or half as much damage on a successful one."
        if let Some(i) = hit.find("saving throw, taking ") {
            let before = &hit[..i];
            let after = &hit[i + "saving throw, taking ".len()..];
            let dc_at = before.rfind("dc ")?;
            let mut words = before[dc_at + 3..].split_whitespace();
            let dc: i32 = words.next()?.parse().ok()?;
            let ability = Ability::parse(words.next()?)?;
            let open = after.find('(')?;
            let close = after.find(')')?;
            let dice: String = after
                .get(open + 1..close)?
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect();
            crate::dice::parse(&dice).ok()?;
            let mut rest = after[close + 1..].split_whitespace();
            let damage_type = DamageType::parse(rest.next()?)?;
            if rest.next() != Some("damage") {
                return None;
            }
            let sentence = after.split(". ").next().unwrap_or(after);
            return Some(Rider {
                dc: dc.clamp(0, 40),
                steps: vec![Step::Save {
                    ability,
                    half: sentence.contains("half as much"),
                    on_fail: vec![Step::Damage {
                        amount: Amount::fixed(&dice),
                        damage_type,
                        half: false,
                    }],
                }],
            });
        }
        let found = ["saving throw or be ", "saving throw or become "]
            .into_iter()
            .find_map(|w| hit.find(w).map(|i| (i, w.len())));
        if let Some((i, len)) = found {
            let before = &hit[..i];
            let after = &hit[i + len..];
            let dc_at = before.rfind("dc ")?;
            let mut words = before[dc_at + 3..].split_whitespace();
            let dc: i32 = words.next()?.parse().ok()?;
            let ability = Ability::parse(words.next()?)?;
            let (condition, rest) = [
                ("knocked prone", Condition::Prone),
                ("paralyzed", Condition::Paralyzed),
                ("poisoned", Condition::Poisoned),
                ("frightened", Condition::Frightened),
                ("stunned", Condition::Stunned),
                ("blinded", Condition::Blinded),
                ("restrained", Condition::Restrained),
                ("charmed", Condition::Charmed),
                ("deafened", Condition::Deafened),
                ("incapacitated", Condition::Incapacitated),
            ]
            .into_iter()
            .find_map(|(w, c)| after.strip_prefix(w).map(|r| (c, r)))?;
            let sentence = rest.split(". ").next().unwrap_or(rest);
            let step = if condition == Condition::Prone {
                Step::Condition { condition }
            } else {
                let duration = if sentence.contains("until the end of its next turn") {
                    Duration::EndOfTargetsNextTurn
                } else if sentence.contains("until the start of") {
                    Duration::StartOfTargetsNextTurn
                } else if sentence.contains("for 1 minute") {
                    Duration::Rounds(10)
                } else {
                    Duration::Long
                };
                Step::Apply {
                    mark: Mark::Condition { condition },
                    duration,
                    save_ends: rest
                        .contains("repeat the saving throw at the end of each of its turns")
                        .then_some(ability),
                }
            };
            return Some(Rider {
                dc: dc.clamp(0, 40),
                steps: vec![Step::Save {
                    ability,
                    half: false,
                    on_fail: vec![step],
                }],
            });
        }
        for (w, condition) in [
            ("the target is grappled", Condition::Grappled),
            ("the target is restrained", Condition::Restrained),
        ] {
            if hit.contains(w) {
                return Some(Rider {
                    dc: 10,
                    steps: vec![Step::Condition { condition }],
                });
            }
        }
        None
    }
}

/// A stat-block usage limit, read from its text ("Recharge 5-6", "3/Day").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Usable again when a d6 at the start of the creature's turn rolls `min` or more.
    Recharge { min: u32 },
    /// So many uses (per day, or until a rest).
    Uses(u32),
}

impl Limit {
    pub fn parse(usage: &str) -> Option<Limit> {
        let u = usage.trim().to_ascii_lowercase();
        if let Some(r) = u.strip_prefix("recharge ") {
            let first = r.split(|c: char| !c.is_ascii_digit()).next()?;
            if let Ok(min) = first.parse::<u32>() {
                return Some(Limit::Recharge {
                    min: min.clamp(2, 6),
                });
            }
            // "Recharges after a Short or Long Rest".
            return Some(Limit::Uses(1));
        }
        if u.starts_with("recharges") {
            return Some(Limit::Uses(1));
        }
        if let Some((n, _)) = u.split_once("/day") {
            return n
                .trim()
                .parse::<u32>()
                .ok()
                .map(|n| Limit::Uses(n.clamp(1, 10)));
        }
        None
    }
}

/// The effect a spell has by what the SRD data says alone: damage (attack, save or
/// automatic, scaling by slot or character level), healing. Spells the data says
/// nothing mechanical about come out with no steps (see [`SpellEffect::does_nothing`]).
pub fn generate(spell: &SpellData) -> SpellEffect {
    let mut effect = SpellEffect {
        coverage: Coverage::Automated,
        note: String::new(),
        target: if spell.area.is_some() {
            Target::Area
        } else {
            Target::Creatures {
                max: 1,
                per_slot_above: 0,
            }
        },
        hostile: false,
        repeat: Repeat::Once,
        steps: Vec::new(),
        again: None,
        zone: None,
    };
    if !spell.heal_at_slot_level.is_empty() {
        let amount = Amount {
            dice: spell
                .heal_at_slot_level
                .values()
                .next()
                .cloned()
                .unwrap_or_default(),
            by_slot: spell.heal_at_slot_level.clone(),
            ..Amount::default()
        };
        effect.steps.push(Step::Heal { amount });
        return effect;
    }
    let Some(damage_type) = spell.damage_type else {
        return effect;
    };
    let amount = Amount {
        dice: spell
            .damage_at_slot_level
            .values()
            .next()
            .or(spell.damage_at_character_level.values().next())
            .cloned()
            .unwrap_or_default(),
        by_slot: spell.damage_at_slot_level.clone(),
        by_character_level: spell.damage_at_character_level.clone(),
        per_slot_above: None,
    };
    if amount.dice.is_empty() {
        return effect;
    }
    effect.hostile = true;
    let damage = Step::Damage {
        amount,
        damage_type,
        half: false,
    };
    effect.steps.push(match &spell.attack {
        SpellAttack::Attack { reach } => Step::Attack {
            reach: *reach,
            on_hit: vec![damage],
            on_miss: vec![],
        },
        SpellAttack::Save(s) => Step::Save {
            ability: s.ability,
            half: s.on_success == SaveEffect::Half,
            on_fail: vec![damage],
        },
        SpellAttack::None => damage,
    });
    effect
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn riders_and_limits_from_text() {
        let wolf = "Melee Weapon Attack: +4 to hit, reach 5 ft., one target. Hit: 7 (2d4 + 2) \
                    piercing damage. If the target is a creature, it must succeed on a DC 11 \
                    Strength saving throw or be knocked prone.";
        let r = Rider::from_text(wolf).unwrap();
        assert_eq!(r.dc, 11);
        assert_eq!(
            r.steps,
            vec![Step::Save {
                ability: Ability::Str,
                half: false,
                on_fail: vec![Step::Condition {
                    condition: Condition::Prone
                }]
            }]
        );
        let ghoul = "Hit: 7 (2d4 + 2) slashing damage. If the target is a creature other than \
                     an elf or undead, it must succeed on a DC 10 Constitution saving throw or \
                     be paralyzed for 1 minute. The target can repeat the saving throw at the \
                     end of each of its turns, ending the effect on itself on a success.";
        let r = Rider::from_text(ghoul).unwrap();
        assert_eq!(
            r.steps,
            vec![Step::Save {
                ability: Ability::Con,
                half: false,
                on_fail: vec![Step::Apply {
                    mark: Mark::Condition {
                        condition: Condition::Paralyzed
                    },
                    duration: Duration::Rounds(10),
                    save_ends: Some(Ability::Con)
                }]
            }]
        );
        assert!(Rider::from_text("Hit: 5 (1d6 + 2) slashing damage.").is_none());
        let spider = "Melee Weapon Attack: +5 to hit, reach 5 ft., one creature. Hit: 7 \
                      (1d8 + 3) piercing damage, and the target must make a DC 11 Constitution \
                      saving throw, taking 9 (2d8) poison damage on a failed save, or half as \
                      much damage on a successful one.";
        assert_eq!(
            Rider::from_text(spider),
            Some(Rider {
                dc: 11,
                steps: vec![Step::Save {
                    ability: Ability::Con,
                    half: true,
                    on_fail: vec![Step::Damage {
                        amount: Amount::fixed("2d8"),
                        damage_type: DamageType::Poison,
                        half: false
                    }]
                }]
            })
        );
        let fear = "Each creature of the dragon's choice that is within 120 feet of the dragon \
                    and aware of it must succeed on a DC 16 Wisdom saving throw or become \
                    frightened for 1 minute. A creature can repeat the saving throw at the end \
                    of each of its turns, ending the effect on itself on a success.";
        let r = Rider::from_text(fear).unwrap();
        assert_eq!(r.dc, 16);
        assert!(
            matches!(&r.steps[0], Step::Save { ability: Ability::Wis, on_fail, .. }
            if matches!(on_fail[0], Step::Apply { save_ends: Some(Ability::Wis), .. }))
        );
        assert_eq!(
            Limit::parse("Recharge 5-6"),
            Some(Limit::Recharge { min: 5 })
        );
        assert_eq!(Limit::parse("Recharge 6"), Some(Limit::Recharge { min: 6 }));
        assert_eq!(Limit::parse("3/Day"), Some(Limit::Uses(3)));
        assert_eq!(
            Limit::parse("Recharges after a Short or Long Rest"),
            Some(Limit::Uses(1))
        );
    }

    /// A [`Mark::Recast`] in a stored log names its spell by this key: it must never
    /// change.
    #[test]
    fn spell_keys_are_stable() {
        assert_eq!(spell_key(""), 0x811c_9dc5);
        assert_eq!(spell_key("a"), 0xe40c_292c);
        assert_ne!(spell_key("hex"), spell_key("hunters-mark"));
    }

    #[test]
    fn amounts_scale() {
        let a = Amount::scaling("8d6", "1d6");
        assert_eq!(a.resolve(3, 3, 5, 3), "8d6");
        assert_eq!(a.resolve(3, 5, 5, 3), "8d6 + 2d6");
        let h = Amount::fixed("1d8+MOD");
        assert_eq!(h.resolve(1, 1, 1, 3), "1d8+3");
        assert_eq!(h.resolve(1, 1, 1, -1), "1d8-1");
        let mut c = Amount::fixed("1d10");
        c.by_character_level = [(1, "1d10".into()), (5, "2d10".into())].into();
        assert_eq!(c.resolve(0, 0, 7, 0), "2d10");
        let mut s = Amount::fixed("5");
        s.by_slot = [(2, "5".into()), (3, "10".into())].into();
        assert_eq!(s.resolve(2, 4, 1, 0), "10");
        assert_eq!(Amount::scaling("5", "5").resolve(2, 4, 1, 0), "5 + 10");
    }
}
