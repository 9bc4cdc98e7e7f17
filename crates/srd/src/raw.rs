//! The shapes of the 5e-database JSON objects, as far as the conversion reads them.
//!
//! Unknown fields are ignored, so the exporter may keep more than this reads. Fields that
//! every object of a collection has are required; the rest default.

use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// The whole asset: `{"metadata": {...}, "monsters": [...], ...}`.
#[derive(Debug, Deserialize)]
pub(crate) struct RawSrd {
    #[serde(default)]
    pub monsters: Vec<RawMonster>,
    #[serde(default)]
    pub spells: Vec<RawSpell>,
    /// Kept loose: only weapon and armour rows are read (see [`RawWeapon`], [`RawArmor`]).
    #[serde(default)]
    pub equipment: Vec<Value>,
    #[serde(default)]
    pub classes: Vec<RawClass>,
    #[serde(default)]
    pub levels: Vec<RawLevel>,
    #[serde(default)]
    pub races: Vec<RawRace>,
    #[serde(default)]
    pub conditions: Vec<RawCondition>,
}

/// An API reference: `{"index": "fire", "name": "Fire"}`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Ref {
    pub index: String,
    #[serde(default)]
    pub name: String,
}

/// `{"choose": 1, "from": {"options": [...]}}`.
#[derive(Debug, Deserialize)]
pub(crate) struct Choice<T> {
    pub from: OptionSet<T>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct OptionSet<T> {
    #[serde(default = "Vec::new")]
    pub options: Vec<T>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct NameDesc {
    pub name: String,
    #[serde(default)]
    pub desc: String,
    /// A monster's Spellcasting / Innate Spellcasting trait, structured.
    #[serde(default)]
    pub spellcasting: Option<RawSpellcasting>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RawSpellcasting {
    pub ability: Ref,
    pub dc: Option<i32>,
    /// Spell attack bonus.
    pub modifier: Option<i32>,
    /// "a 9th-level spellcaster" (absent for innate spellcasting).
    #[serde(default)]
    pub level: Option<u32>,
    /// Slots by level ("1": 4).
    #[serde(default)]
    pub slots: BTreeMap<String, u32>,
    #[serde(default)]
    pub spells: Vec<RawMonsterSpell>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RawMonsterSpell {
    pub name: String,
    pub usage: Option<RawSpellUsage>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RawSpellUsage {
    #[serde(rename = "type")]
    pub kind: String,
    pub times: Option<u32>,
}

// ---------------------------------------------------------------------------------------
// Monsters

#[derive(Debug, Deserialize)]
pub(crate) struct RawMonster {
    pub index: String,
    pub name: String,
    pub size: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub alignment: String,
    pub armor_class: Vec<RawMonsterAc>,
    pub hit_points: i32,
    pub hit_dice: String,
    /// `{"walk": "30 ft.", "fly": "60 ft.", "hover": true}`.
    #[serde(default)]
    pub speed: BTreeMap<String, Value>,
    pub strength: i32,
    pub dexterity: i32,
    pub constitution: i32,
    pub intelligence: i32,
    pub wisdom: i32,
    pub charisma: i32,
    pub proficiency_bonus: i32,
    #[serde(default)]
    pub proficiencies: Vec<RawMonsterProficiency>,
    #[serde(default)]
    pub damage_vulnerabilities: Vec<String>,
    #[serde(default)]
    pub damage_resistances: Vec<String>,
    #[serde(default)]
    pub damage_immunities: Vec<String>,
    #[serde(default)]
    pub condition_immunities: Vec<Ref>,
    pub challenge_rating: f64,
    pub xp: u32,
    #[serde(default)]
    pub actions: Vec<RawAction>,
    #[serde(default)]
    pub special_abilities: Vec<NameDesc>,
    #[serde(default)]
    pub legendary_actions: Vec<NameDesc>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RawMonsterAc {
    pub value: i32,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RawMonsterProficiency {
    pub value: i32,
    pub proficiency: Ref,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RawAction {
    pub name: String,
    #[serde(default)]
    pub desc: String,
    pub attack_bonus: Option<i32>,
    #[serde(default)]
    pub damage: Vec<RawDamage>,
    pub dc: Option<RawDc>,
    pub usage: Option<RawUsage>,
    /// Multiattack, `multiattack_type: "actions"`.
    #[serde(default)]
    pub actions: Vec<RawMultiattackItem>,
    /// Multiattack, `multiattack_type: "action_options"`: choose one of several sets.
    pub action_options: Option<Choice<RawMultiattackOption>>,
    /// "Breath Weapons" of the metallic dragons: choose one of several effects.
    pub options: Option<Choice<RawActionOption>>,
}

/// `{"damage_dice": "1d6+2", "damage_type": {...}}`, possibly with a rider save, or
/// `{"choose": 1, "from": {"options": [damage, damage]}}` (versatile weapons).
#[derive(Debug, Deserialize)]
pub(crate) struct RawDamage {
    pub damage_dice: Option<String>,
    pub damage_type: Option<Ref>,
    pub dc: Option<RawDc>,
    pub from: Option<OptionSet<RawDamage>>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RawDc {
    pub dc_type: Ref,
    pub dc_value: i32,
    #[serde(default)]
    pub success_type: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RawUsage {
    #[serde(rename = "type")]
    pub kind: String,
    pub times: Option<u32>,
    pub min_value: Option<u32>,
    #[serde(default)]
    pub rest_types: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RawMultiattackItem {
    pub action_name: String,
    /// A number, or a string: "2", "1d4", "Number of Heads".
    pub count: Value,
}

/// One option of a multiattack choice: a single action or `"multiple"` items.
#[derive(Debug, Deserialize)]
pub(crate) struct RawMultiattackOption {
    #[serde(default)]
    pub items: Vec<RawMultiattackItem>,
    pub action_name: Option<String>,
    pub count: Option<Value>,
}

/// One option of an action with `options` (a breath weapon).
#[derive(Debug, Deserialize)]
pub(crate) struct RawActionOption {
    pub dc: Option<RawDc>,
    #[serde(default)]
    pub damage: Vec<RawDamage>,
}

// ---------------------------------------------------------------------------------------
// Spells

#[derive(Debug, Deserialize)]
pub(crate) struct RawSpell {
    pub index: String,
    pub name: String,
    #[serde(default)]
    pub desc: Vec<String>,
    pub range: String,
    pub duration: String,
    #[serde(default)]
    pub concentration: bool,
    #[serde(default)]
    pub ritual: bool,
    /// "V", "S", "M".
    #[serde(default)]
    pub components: Vec<String>,
    pub casting_time: String,
    pub level: u8,
    pub school: Ref,
    pub attack_type: Option<String>,
    pub dc: Option<RawSpellDc>,
    pub damage: Option<RawSpellDamage>,
    #[serde(default)]
    pub heal_at_slot_level: BTreeMap<String, String>,
    pub area_of_effect: Option<RawArea>,
    #[serde(default)]
    pub classes: Vec<Ref>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RawSpellDc {
    pub dc_type: Ref,
    #[serde(default)]
    pub dc_success: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RawSpellDamage {
    pub damage_type: Option<Ref>,
    #[serde(default)]
    pub damage_at_slot_level: BTreeMap<String, String>,
    #[serde(default)]
    pub damage_at_character_level: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RawArea {
    #[serde(rename = "type")]
    pub kind: String,
    pub size: u32,
}

// ---------------------------------------------------------------------------------------
// Equipment

#[derive(Debug, Deserialize)]
pub(crate) struct RawWeapon {
    pub index: String,
    pub name: String,
    pub weapon_category: String,
    pub weapon_range: String,
    pub damage: Option<RawDamage>,
    pub two_handed_damage: Option<RawDamage>,
    #[serde(default)]
    pub properties: Vec<Ref>,
    pub range: Option<RawRange>,
    pub throw_range: Option<RawRange>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RawRange {
    pub normal: u32,
    pub long: Option<u32>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RawArmor {
    pub index: String,
    pub name: String,
    pub armor_category: String,
    pub armor_class: RawArmorClass,
    #[serde(default)]
    pub stealth_disadvantage: bool,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RawArmorClass {
    pub base: i32,
    #[serde(default)]
    pub dex_bonus: bool,
    pub max_bonus: Option<i32>,
}

// ---------------------------------------------------------------------------------------
// Classes, levels, races, conditions

#[derive(Debug, Deserialize)]
pub(crate) struct RawClass {
    pub index: String,
    pub name: String,
    pub hit_die: u32,
    #[serde(default)]
    pub saving_throws: Vec<Ref>,
    #[serde(default)]
    pub proficiency_choices: Vec<RawProficiencyChoice>,
    pub spellcasting: Option<RawClassSpellcasting>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RawProficiencyChoice {
    pub choose: u32,
    pub from: OptionSet<RawProficiencyOption>,
}

/// `{"option_type": "reference", "item": {...}}`; nested choices have no `item`.
#[derive(Debug, Deserialize)]
pub(crate) struct RawProficiencyOption {
    pub item: Option<Ref>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RawClassSpellcasting {
    pub spellcasting_ability: Ref,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RawLevel {
    pub level: u8,
    pub class: Ref,
    /// Present on subclass rows, which the conversion skips.
    pub subclass: Option<Value>,
    /// Ability score improvements granted up to this level.
    #[serde(default)]
    pub ability_score_bonuses: Option<u8>,
    /// `{"cantrips_known": 3, "spell_slots_level_1": 4, ...}`.
    #[serde(default)]
    pub spellcasting: BTreeMap<String, Value>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RawRace {
    pub index: String,
    pub name: String,
    pub speed: u32,
    pub size: String,
    #[serde(default)]
    pub ability_bonuses: Vec<RawAbilityBonus>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RawAbilityBonus {
    pub ability_score: Ref,
    pub bonus: i32,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RawCondition {
    pub index: String,
    pub name: String,
    #[serde(default)]
    pub desc: Vec<String>,
}
