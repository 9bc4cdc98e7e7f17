//! Reference data the rules read: monsters, spells, weapons, armour, classes, races.
//!
//! These are plain values. The engine never loads them from anywhere: the `dicebard-srd`
//! crate converts the SRD 5.1 data set into a [`Catalog`], and the host hands it to
//! [`crate::CampaignState::new`]. Events that create creatures carry full copies of the
//! stats, so replaying a log never depends on the catalog staying the same.

use crate::ability::{Abilities, Ability, Skill};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// The 13 SRD damage types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DamageType {
    Acid,
    Bludgeoning,
    Cold,
    Fire,
    Force,
    Lightning,
    Necrotic,
    Piercing,
    Poison,
    Psychic,
    Radiant,
    Slashing,
    Thunder,
}

impl DamageType {
    pub const ALL: [DamageType; 13] = [
        DamageType::Acid,
        DamageType::Bludgeoning,
        DamageType::Cold,
        DamageType::Fire,
        DamageType::Force,
        DamageType::Lightning,
        DamageType::Necrotic,
        DamageType::Piercing,
        DamageType::Poison,
        DamageType::Psychic,
        DamageType::Radiant,
        DamageType::Slashing,
        DamageType::Thunder,
    ];

    pub fn name(self) -> &'static str {
        match self {
            DamageType::Acid => "acid",
            DamageType::Bludgeoning => "bludgeoning",
            DamageType::Cold => "cold",
            DamageType::Fire => "fire",
            DamageType::Force => "force",
            DamageType::Lightning => "lightning",
            DamageType::Necrotic => "necrotic",
            DamageType::Piercing => "piercing",
            DamageType::Poison => "poison",
            DamageType::Psychic => "psychic",
            DamageType::Radiant => "radiant",
            DamageType::Slashing => "slashing",
            DamageType::Thunder => "thunder",
        }
    }

    pub fn parse(s: &str) -> Option<DamageType> {
        let s = s.trim().to_ascii_lowercase();
        DamageType::ALL.into_iter().find(|d| d.name() == s)
    }
}

impl fmt::Display for DamageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A dice expression plus a damage type: "1d6+2 slashing".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DamagePart {
    /// A dice expression in the engine's dice language, e.g. "1d6+2".
    pub dice: String,
    pub damage_type: DamageType,
}

/// What a successful save does to a save-for-damage effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SaveEffect {
    /// Half damage on a success.
    Half,
    /// No damage (or no effect) on a success.
    None,
}

/// A saving throw an effect forces: "DC 13 Dexterity, half on success".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaveDc {
    pub ability: Ability,
    pub dc: i32,
    pub on_success: SaveEffect,
}

/// Melee or ranged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Reach {
    Melee,
    Ranged,
}

/// One action from a monster's stat block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonsterAction {
    pub name: String,
    pub desc: String,
    /// To-hit bonus when this is an attack.
    pub attack_bonus: Option<i32>,
    /// Melee or ranged, when this is an attack (from the description).
    pub reach: Option<Reach>,
    /// Damage parts rolled on a hit (or on a failed save).
    pub damage: Vec<DamagePart>,
    /// A save the action forces, if any.
    pub save: Option<SaveDc>,
    /// "Recharge 5-6" style limits are kept as text; the built-in policy avoids them.
    pub usage: Option<String>,
}

/// A monster's stat block, from the SRD.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonsterData {
    /// SRD index, e.g. "goblin".
    pub index: String,
    pub name: String,
    pub size: String,
    /// Creature type ("humanoid").
    pub kind: String,
    pub alignment: String,
    pub armor_class: i32,
    pub hit_points: i32,
    pub hit_dice: String,
    /// Walking speed in feet.
    pub speed: u32,
    pub abilities: Abilities,
    pub proficiency_bonus: i32,
    /// Total save bonuses the stat block lists (others use the ability modifier).
    pub save_bonuses: BTreeMap<Ability, i32>,
    /// Total skill bonuses the stat block lists.
    pub skill_bonuses: BTreeMap<Skill, i32>,
    pub damage_vulnerabilities: Vec<DamageType>,
    pub damage_resistances: Vec<DamageType>,
    pub damage_immunities: Vec<DamageType>,
    /// Condition indexes ("poisoned").
    pub condition_immunities: Vec<String>,
    pub challenge_rating: f64,
    pub xp: u32,
    pub actions: Vec<MonsterAction>,
    /// Multiattack as (action name, count) pairs, when the block has one.
    pub multiattack: Option<Vec<(String, u32)>>,
    /// Special abilities as (name, description), for narration and the GM.
    pub special_abilities: Vec<(String, String)>,
    /// Legendary actions as (name, description).
    #[serde(default)]
    pub legendary_actions: Vec<(String, String)>,
    /// The Spellcasting (or Innate Spellcasting) trait, when the block has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spellcasting: Option<MonsterSpellcasting>,
}

/// A monster's spellcasting, from its stat block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonsterSpellcasting {
    pub ability: Ability,
    /// Spell save DC and attack bonus as the block states them.
    pub dc: Option<i32>,
    pub attack: Option<i32>,
    /// Slots per level: `slots[level - 1]`.
    pub slots: [u8; 9],
    /// Spell SRD indexes with, for innate spells, their uses per day (`Some(0)`: at
    /// will); `None`: cast with a slot (cantrips at will).
    pub spells: Vec<(String, Option<u32>)>,
    /// The block's spellcaster level ("a 9th-level spellcaster"): what its cantrips
    /// scale by. 0: not stated (innate spellcasting), read as 1.
    #[serde(default)]
    pub level: u8,
}

/// How a spell resolves against its targets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum SpellAttack {
    /// A spell attack roll (fire bolt).
    Attack { reach: Reach },
    /// Each target makes a save (fireball, burning hands).
    Save(SaveSpell),
    /// No roll (magic missile, cure wounds, bless, shield).
    None,
}

/// The save a spell forces; the DC comes from the caster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaveSpell {
    pub ability: Ability,
    pub on_success: SaveEffect,
}

/// A spell, from the SRD.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpellData {
    /// SRD index, e.g. "fire-bolt".
    pub index: String,
    pub name: String,
    /// 0 for cantrips.
    pub level: u8,
    pub school: String,
    pub casting_time: String,
    pub range: String,
    pub duration: String,
    pub concentration: bool,
    pub ritual: bool,
    /// Has a verbal component (Silence stops it).
    #[serde(default)]
    pub verbal: bool,
    pub attack: SpellAttack,
    pub damage_type: Option<DamageType>,
    /// Damage dice by slot level (levelled spells), e.g. {3: "8d6", 4: "9d6"}.
    pub damage_at_slot_level: BTreeMap<u8, String>,
    /// Damage dice by character level (cantrips), e.g. {1: "1d10", 5: "2d10"}.
    pub damage_at_character_level: BTreeMap<u8, String>,
    /// Healing by slot level; "MOD" in the SRD text is written as `+MOD` and
    /// replaced by the caster's spellcasting modifier.
    pub heal_at_slot_level: BTreeMap<u8, String>,
    /// Area of effect as (shape, size in feet), if any.
    pub area: Option<(String, u32)>,
    /// Class indexes that have this spell on their list.
    pub classes: Vec<String>,
    pub desc: String,
    /// What the spell does, in the effect language (`None`: generated from the fields
    /// above by [`crate::effect::generate`]).
    #[serde(default)]
    pub effect: Option<crate::effect::SpellEffect>,
}

/// Weapon category and properties, from the SRD equipment list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeaponData {
    pub index: String,
    pub name: String,
    /// "Simple" or "Martial".
    pub category: String,
    pub reach: Reach,
    pub damage: Option<DamagePart>,
    pub two_handed_damage: Option<DamagePart>,
    /// Property indexes: "finesse", "light", "versatile", "thrown", "ammunition", ...
    pub properties: Vec<String>,
    /// Normal / long range in feet.
    pub range: (u32, Option<u32>),
}

impl WeaponData {
    pub fn has_property(&self, p: &str) -> bool {
        self.properties.iter().any(|x| x == p)
    }
}

/// Armour category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ArmorCategory {
    Light,
    Medium,
    Heavy,
    Shield,
}

/// Armour, from the SRD equipment list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArmorData {
    pub index: String,
    pub name: String,
    pub category: ArmorCategory,
    pub base_ac: i32,
    pub dex_bonus: bool,
    pub max_dex_bonus: Option<i32>,
    pub stealth_disadvantage: bool,
}

/// A class, from the SRD (the parts the rules need).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassData {
    pub index: String,
    pub name: String,
    pub hit_die: u32,
    pub saving_throws: Vec<Ability>,
    /// How many skills to choose, and from which.
    pub skill_choices: (u32, Vec<Skill>),
    pub spellcasting_ability: Option<Ability>,
    /// Spell slots for levels 1..=20: `spell_slots[level - 1][slot_level - 1]`.
    pub spell_slots: Vec<[u8; 9]>,
    /// Cantrips known for levels 1..=20 (0 for non-casters).
    pub cantrips_known: Vec<u8>,
    /// Spells known for levels 1..=20, for the classes that know rather than prepare
    /// (bard, ranger, sorcerer, warlock); empty for the others.
    #[serde(default)]
    pub spells_known: Vec<u8>,
    /// The levels that grant an ability score improvement (4, 8, 12, 16, 19; fighters
    /// and rogues have more).
    #[serde(default)]
    pub asi_levels: Vec<u8>,
    /// Indexes of weapons a new character of this class carries.
    pub starting_weapons: Vec<String>,
    /// Index of the armour a new character wears, and whether it carries a shield.
    pub starting_armor: Option<String>,
    pub starting_shield: bool,
}

/// A race, from the SRD (the parts the rules need).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RaceData {
    pub index: String,
    pub name: String,
    pub speed: u32,
    pub size: String,
    pub ability_bonuses: Vec<(Ability, i32)>,
}

/// An SRD condition's rules text, for `/help` and narration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConditionData {
    pub index: String,
    pub name: String,
    pub desc: String,
}

/// Everything the rules look up, keyed by SRD index.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Catalog {
    pub monsters: BTreeMap<String, MonsterData>,
    pub spells: BTreeMap<String, SpellData>,
    pub weapons: BTreeMap<String, WeaponData>,
    pub armor: BTreeMap<String, ArmorData>,
    pub classes: BTreeMap<String, ClassData>,
    pub races: BTreeMap<String, RaceData>,
    pub conditions: BTreeMap<String, ConditionData>,
}

/// Normalises a user-typed name to an SRD-style index: "Fire Bolt" -> "fire-bolt".
pub fn to_index(name: &str) -> String {
    let mut out = String::new();
    let mut dash = false;
    for c in name.trim().chars() {
        if c.is_ascii_alphanumeric() {
            if dash && !out.is_empty() {
                out.push('-');
            }
            dash = false;
            out.push(c.to_ascii_lowercase());
        } else if c != '\'' {
            dash = true;
        }
    }
    out
}

/// Turns an SRD-style index back into a display name: "potion-of-healing" ->
/// "Potion of Healing".
pub fn from_index(index: &str) -> String {
    index
        .split('-')
        .map(|w| {
            if matches!(w, "of" | "the" | "and") {
                w.to_string()
            } else {
                let mut cs = w.chars();
                cs.next()
                    .map(|f| f.to_uppercase().collect::<String>() + cs.as_str())
                    .unwrap_or_default()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

impl Catalog {
    fn find<'a, T>(map: &'a BTreeMap<String, T>, name: &str) -> Option<&'a T> {
        map.get(&to_index(name))
    }

    pub fn monster(&self, name: &str) -> Option<&MonsterData> {
        Self::find(&self.monsters, name)
    }
    pub fn spell(&self, name: &str) -> Option<&SpellData> {
        Self::find(&self.spells, name)
    }
    pub fn weapon(&self, name: &str) -> Option<&WeaponData> {
        Self::find(&self.weapons, name)
    }
    pub fn armor(&self, name: &str) -> Option<&ArmorData> {
        Self::find(&self.armor, name)
    }
    pub fn class(&self, name: &str) -> Option<&ClassData> {
        Self::find(&self.classes, name)
    }
    pub fn race(&self, name: &str) -> Option<&RaceData> {
        Self::find(&self.races, name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_normalisation() {
        assert_eq!(to_index("Fire Bolt"), "fire-bolt");
        assert_eq!(to_index("  cure   wounds "), "cure-wounds");
        assert_eq!(to_index("Potion of Healing"), "potion-of-healing");
        assert_eq!(
            to_index("Tasha's Hideous Laughter"),
            "tashas-hideous-laughter"
        );
    }
}
