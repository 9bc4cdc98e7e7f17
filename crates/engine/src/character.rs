//! Making player characters: from class + race + ability scores (standard array, point
//! buy or 4d6kh3), and JSON import / export with a versioned schema.

use crate::ability::{Abilities, Ability, Proficiency, Skill, proficiency_bonus_for_level};
use crate::creature::{
    Attack, Controller, Creature, DeathSaves, HitDice, Item, PcInfo, Spellcasting,
};
use crate::data::{ArmorCategory, Catalog, DamagePart, Reach, to_index};
use crate::dice::Dice;
use crate::error::RuleError;
use crate::ids::{CreatureId, PlayerId};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The standard array.
pub const STANDARD_ARRAY: [i32; 6] = [15, 14, 13, 12, 10, 8];
/// Point-buy budget.
pub const POINT_BUY_BUDGET: i32 = 27;
/// The longest character name accepted.
pub const MAX_NAME_LEN: usize = 48;

/// How ability scores are generated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "method")]
pub enum AbilityMethod {
    /// The standard array (15, 14, 13, 12, 10, 8). Without `scores` it is assigned by
    /// the class's priorities; with them they must be a permutation of the array.
    StandardArray { scores: Option<Abilities> },
    /// 27-point buy, each score 8..=15 before racial bonuses.
    PointBuy { scores: Abilities },
    /// 4d6, drop the lowest, six times, assigned by the class's priorities.
    Roll,
}

/// What a player asks for when creating a character.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CharacterSpec {
    pub name: String,
    pub class: String,
    pub race: String,
    pub method: AbilityMethod,
    #[serde(default = "one")]
    pub level: u8,
    /// Skills to be proficient in (defaults to the first choices the class offers).
    #[serde(default)]
    pub skills: Vec<Skill>,
    /// Cantrips and spells (defaults to a sensible set for the class).
    #[serde(default)]
    pub spells: Vec<String>,
}

fn one() -> u8 {
    1
}

impl CharacterSpec {
    /// A level-1 character with the standard array assigned by class priorities.
    pub fn quick(name: &str, class: &str, race: &str) -> Self {
        CharacterSpec {
            name: name.into(),
            class: class.into(),
            race: race.into(),
            method: AbilityMethod::StandardArray { scores: None },
            level: 1,
            skills: vec![],
            spells: vec![],
        }
    }
}

/// Ability priorities per class, highest first.
fn priorities(class: &str) -> [Ability; 6] {
    use Ability::*;
    match class {
        "barbarian" => [Str, Con, Dex, Wis, Cha, Int],
        "bard" => [Cha, Dex, Con, Wis, Int, Str],
        "cleric" => [Wis, Con, Str, Dex, Cha, Int],
        "druid" => [Wis, Con, Dex, Int, Cha, Str],
        "fighter" => [Str, Con, Dex, Wis, Cha, Int],
        "monk" => [Dex, Wis, Con, Str, Int, Cha],
        "paladin" => [Str, Cha, Con, Wis, Dex, Int],
        "ranger" => [Dex, Wis, Con, Str, Int, Cha],
        "rogue" => [Dex, Int, Con, Wis, Cha, Str],
        "sorcerer" => [Cha, Con, Dex, Wis, Int, Str],
        "warlock" => [Cha, Con, Dex, Wis, Int, Str],
        "wizard" => [Int, Con, Dex, Wis, Cha, Str],
        _ => [Str, Dex, Con, Int, Wis, Cha],
    }
}

/// A sensible default spell list per class and level (SRD indexes).
fn default_spells(class: &str, level: u8) -> Vec<&'static str> {
    let mut v: Vec<&'static str> = match class {
        "wizard" | "sorcerer" => vec!["fire-bolt", "magic-missile", "shield", "burning-hands"],
        "cleric" => vec!["sacred-flame", "cure-wounds", "healing-word", "bless"],
        "bard" => vec!["vicious-mockery", "healing-word", "cure-wounds"],
        "druid" => vec!["produce-flame", "cure-wounds", "healing-word"],
        "warlock" => vec!["eldritch-blast"],
        "paladin" if level >= 2 => vec!["bless", "cure-wounds"],
        "ranger" if level >= 2 => vec!["cure-wounds"],
        _ => vec![],
    };
    if level >= 5 && matches!(class, "wizard" | "sorcerer") {
        v.push("fireball");
    }
    v
}

/// Point-buy cost of one score (8..=15).
pub fn point_buy_cost(score: i32) -> Option<i32> {
    match score {
        8..=13 => Some(score - 8),
        14 => Some(7),
        15 => Some(9),
        _ => None,
    }
}

fn assign(class: &str, mut values: Vec<i32>) -> Abilities {
    values.sort_unstable_by(|a, b| b.cmp(a));
    let mut ab = Abilities::new(10, 10, 10, 10, 10, 10);
    for (a, v) in priorities(class).into_iter().zip(values) {
        *ab.score_mut(a) = v;
    }
    ab
}

fn base_scores(
    spec: &CharacterSpec,
    class: &str,
    dice: &mut dyn Dice,
) -> Result<Abilities, RuleError> {
    match &spec.method {
        AbilityMethod::StandardArray { scores: None } => Ok(assign(class, STANDARD_ARRAY.to_vec())),
        AbilityMethod::StandardArray { scores: Some(s) } => {
            let mut got: Vec<i32> = Ability::ALL.iter().map(|a| s.score(*a)).collect();
            got.sort_unstable_by(|a, b| b.cmp(a));
            if got != STANDARD_ARRAY {
                return Err(RuleError::invalid(
                    "The standard array is 15, 14, 13, 12, 10 and 8 — use each exactly once.",
                ));
            }
            Ok(*s)
        }
        AbilityMethod::PointBuy { scores } => {
            let mut total = 0;
            for a in Ability::ALL {
                let v = scores.score(a);
                let c = point_buy_cost(v).ok_or_else(|| {
                    RuleError::invalid(format!(
                        "Point buy scores must be between 8 and 15 ({} is {v}).",
                        a.name()
                    ))
                })?;
                total += c;
            }
            if total > POINT_BUY_BUDGET {
                return Err(RuleError::invalid(format!(
                    "Those scores cost {total} points; point buy allows {POINT_BUY_BUDGET}."
                )));
            }
            Ok(*scores)
        }
        AbilityMethod::Roll => {
            let mut vals = Vec::with_capacity(6);
            for _ in 0..6 {
                let r = crate::dice::roll("4d6kh3", dice)?;
                vals.push(r.total as i32);
            }
            Ok(assign(class, vals))
        }
    }
}

/// Makes a player character from a spec, reading classes, races, weapons, armour and
/// spells from the catalog.
pub fn create_character(
    spec: &CharacterSpec,
    catalog: &Catalog,
    id: CreatureId,
    owner: PlayerId,
    dice: &mut dyn Dice,
) -> Result<Creature, RuleError> {
    let name = spec.name.trim();
    validate_name(name)?;
    let class = catalog.class(&spec.class).ok_or_else(|| {
        RuleError::invalid(format!(
            "There is no class called \"{}\". Try one of: {}.",
            spec.class,
            catalog
                .classes
                .values()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })?;
    let race = catalog.race(&spec.race).ok_or_else(|| {
        RuleError::invalid(format!(
            "There is no race called \"{}\". Try one of: {}.",
            spec.race,
            catalog
                .races
                .values()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })?;
    if !(1..=20).contains(&spec.level) {
        return Err(RuleError::invalid("Level must be between 1 and 20."));
    }
    let level = spec.level;
    let mut abilities = base_scores(spec, &class.index, dice)?;
    for (a, b) in &race.ability_bonuses {
        let s = abilities.score_mut(*a);
        *s = (*s + b).min(20);
    }
    let prof = proficiency_bonus_for_level(level);
    let con = crate::ability::modifier(abilities.con);
    let dex = crate::ability::modifier(abilities.dex);
    let str_ = crate::ability::modifier(abilities.str);
    let die = class.hit_die as i32;
    let max_hp = (die + con + (i32::from(level) - 1) * (die / 2 + 1 + con)).max(1);

    // Skills.
    let (count, options) = &class.skill_choices;
    let skills: Vec<Skill> = if spec.skills.is_empty() {
        options.iter().take(*count as usize).copied().collect()
    } else {
        for s in &spec.skills {
            if !options.contains(s) {
                return Err(RuleError::invalid(format!(
                    "{}s can't choose {} (choose from {}).",
                    class.name,
                    s.name(),
                    options
                        .iter()
                        .map(|s| s.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
        if spec.skills.len() > *count as usize {
            return Err(RuleError::invalid(format!(
                "{}s choose {} skills.",
                class.name, count
            )));
        }
        spec.skills.clone()
    };
    let skill_proficiencies: BTreeMap<Skill, Proficiency> = skills
        .into_iter()
        .map(|s| (s, Proficiency::Proficient))
        .collect();

    // Armour class.
    let kit_armor = class
        .starting_armor
        .as_deref()
        .and_then(|a| catalog.armor(a));
    let mut ac = match kit_armor {
        Some(a) if a.category != ArmorCategory::Shield => {
            let d = if a.dex_bonus {
                a.max_dex_bonus.map_or(dex, |m| dex.min(m))
            } else {
                0
            };
            a.base_ac + d
        }
        _ => match class.index.as_str() {
            "barbarian" => 10 + dex + con,
            "monk" => 10 + dex + crate::ability::modifier(abilities.wis),
            _ => 10 + dex,
        },
    };
    if class.starting_shield {
        ac += 2;
    }

    // Weapons.
    let attacks_per_action = if level >= 5
        && matches!(
            class.index.as_str(),
            "fighter" | "paladin" | "ranger" | "barbarian" | "monk"
        ) {
        2
    } else {
        1
    };
    let mut attacks = Vec::new();
    let mut inventory = Vec::new();
    for w in &class.starting_weapons {
        let Some(w) = catalog.weapon(w) else { continue };
        let Some(dmg) = &w.damage else { continue };
        let m = if w.has_property("finesse") {
            str_.max(dex)
        } else if w.reach == Reach::Ranged {
            dex
        } else {
            str_
        };
        attacks.push(Attack {
            name: w.name.clone(),
            to_hit: m + prof,
            reach: w.reach,
            damage: vec![DamagePart {
                dice: with_modifier(&dmg.dice, m),
                damage_type: dmg.damage_type,
            }],
            save: None,
            usage: None,
        });
        inventory.push(Item {
            name: w.name.clone(),
            quantity: 1,
        });
    }
    if let Some(a) = kit_armor {
        inventory.push(Item {
            name: a.name.clone(),
            quantity: 1,
        });
    }
    if class.starting_shield {
        inventory.push(Item {
            name: "Shield".into(),
            quantity: 1,
        });
    }
    inventory.push(Item {
        name: "Potion of Healing".into(),
        quantity: 2,
    });

    // Spells.
    let spellcasting = match class.spellcasting_ability {
        Some(ability) => {
            let slots = class
                .spell_slots
                .get(usize::from(level) - 1)
                .copied()
                .unwrap_or([0; 9]);
            let max_level = slots
                .iter()
                .rposition(|s| *s > 0)
                .map_or(0, |i| i as u8 + 1);
            let wanted: Vec<String> = if spec.spells.is_empty() {
                default_spells(&class.index, level)
                    .into_iter()
                    .map(String::from)
                    .collect()
            } else {
                spec.spells.iter().map(|s| to_index(s)).collect()
            };
            let mut spells = Vec::new();
            for s in wanted {
                let Some(sd) = catalog.spell(&s) else {
                    return Err(RuleError::invalid(format!(
                        "There is no spell called \"{s}\"."
                    )));
                };
                if !sd.classes.iter().any(|c| c == &class.index) {
                    return Err(RuleError::invalid(format!(
                        "{} is not on the {} spell list.",
                        sd.name, class.name
                    )));
                }
                if sd.level > max_level {
                    return Err(RuleError::invalid(format!(
                        "A level {level} {} can't cast level {} spells like {} yet.",
                        class.name, sd.level, sd.name
                    )));
                }
                if !spells.contains(&sd.index) {
                    spells.push(sd.index.clone());
                }
            }
            if slots.iter().all(|s| *s == 0) && spells.is_empty() {
                None
            } else {
                Some(Spellcasting {
                    ability,
                    max_slots: slots,
                    used_slots: [0; 9],
                    spells,
                })
            }
        }
        None => None,
    };

    Ok(Creature {
        id,
        name: name.to_string(),
        controller: Controller::Player { player: owner },
        pc: Some(PcInfo {
            class: class.index.clone(),
            race: race.index.clone(),
            level,
            attacks_per_action,
        }),
        monster: None,
        abilities,
        proficiency_bonus: prof,
        save_proficiencies: class.saving_throws.iter().copied().collect(),
        skill_proficiencies,
        save_bonus_overrides: BTreeMap::new(),
        skill_bonus_overrides: BTreeMap::new(),
        max_hp,
        hp: max_hp,
        temp_hp: 0,
        hit_dice: HitDice {
            die: class.hit_die,
            total: u32::from(level),
            remaining: u32::from(level),
        },
        armor_class: ac,
        speed: race.speed,
        attacks,
        multiattack: None,
        resistances: BTreeSet::new(),
        vulnerabilities: BTreeSet::new(),
        immunities: BTreeSet::new(),
        condition_immunities: BTreeSet::new(),
        conditions: BTreeMap::new(),
        exhaustion: 0,
        spellcasting,
        concentration: None,
        effects: BTreeSet::new(),
        death_saves: DeathSaves::default(),
        dead: false,
        inventory,
    })
}

/// "1d8" with modifier 3 -> "1d8+3".
pub fn with_modifier(dice: &str, m: i32) -> String {
    match m {
        0 => dice.to_string(),
        m if m > 0 => format!("{dice}+{m}"),
        m => format!("{dice}{m}"),
    }
}

fn validate_name(name: &str) -> Result<(), RuleError> {
    if name.is_empty() {
        return Err(RuleError::invalid("Your character needs a name."));
    }
    if name.chars().count() > MAX_NAME_LEN {
        return Err(RuleError::invalid(format!(
            "Character names can be at most {MAX_NAME_LEN} characters."
        )));
    }
    if name
        .chars()
        .any(|c| c.is_control() || matches!(c, '@' | '#' | '`' | '*' | '_' | '~' | '|'))
    {
        return Err(RuleError::invalid(
            "Character names can't contain control characters or Discord formatting (@ # ` * _ ~ |).",
        ));
    }
    Ok(())
}

/// The schema name in exported character JSON.
pub const EXPORT_SCHEMA: &str = "dicebard.character";
/// The version of the exported character JSON.
pub const EXPORT_VERSION: u32 = 1;

/// A character as exported: versioned, with no campaign-specific ids. The host turns
/// it into JSON text (the engine itself does no parsing of text formats).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CharacterExport {
    pub schema: String,
    pub version: u32,
    pub character: Creature,
}

/// Exports a character. What only makes sense inside its campaign (its id, who controls
/// it, spell effects and concentration, which creature caused a condition) is left out.
pub fn export_character(c: &Creature) -> CharacterExport {
    let mut c = c.clone();
    c.id = CreatureId(0);
    c.controller = Controller::Npc;
    strip_campaign_links(&mut c);
    CharacterExport {
        schema: EXPORT_SCHEMA.into(),
        version: EXPORT_VERSION,
        character: c,
    }
}

/// Imports a character exported by [`export_character`], checking that it is sane.
pub fn import_character(
    ex: &CharacterExport,
    id: CreatureId,
    owner: PlayerId,
) -> Result<Creature, RuleError> {
    if ex.schema != EXPORT_SCHEMA {
        return Err(RuleError::invalid(format!(
            "That is not a dicebard character (expected \"schema\": \"{EXPORT_SCHEMA}\")."
        )));
    }
    if ex.version != EXPORT_VERSION {
        return Err(RuleError::invalid(format!(
            "That character file is version {}; this dicebard reads version {EXPORT_VERSION}.",
            ex.version
        )));
    }
    let mut c = ex.character.clone();
    validate_name(c.name.trim())?;
    c.name = c.name.trim().to_string();
    for a in Ability::ALL {
        let s = c.abilities.score(a);
        if !(1..=30).contains(&s) {
            return Err(RuleError::invalid(format!(
                "{} must be between 1 and 30.",
                a.name()
            )));
        }
    }
    let Some(pc) = &c.pc else {
        return Err(RuleError::invalid(
            "That file holds a monster, not a character.",
        ));
    };
    if !(1..=20).contains(&pc.level) {
        return Err(RuleError::invalid("Level must be between 1 and 20."));
    }
    if !(1..=999).contains(&c.max_hp)
        || c.hp < 0
        || c.hp > c.max_hp
        || !(0..=999).contains(&c.temp_hp)
    {
        return Err(RuleError::invalid("Hit points are out of range."));
    }
    if !(0..=40).contains(&c.armor_class)
        || c.speed > 200
        || c.attacks.len() > 20
        || c.inventory.len() > 200
    {
        return Err(RuleError::invalid(
            "Armour class, speed, attacks or inventory are out of range.",
        ));
    }
    for a in &c.attacks {
        if a.to_hit.abs() > 30 {
            return Err(RuleError::invalid(format!(
                "{}'s to-hit bonus is out of range.",
                a.name
            )));
        }
        for d in &a.damage {
            crate::dice::parse(&d.dice)?;
        }
    }
    if !(1..=4).contains(&pc.attacks_per_action) {
        return Err(RuleError::invalid(
            "Attacks per action must be between 1 and 4.",
        ));
    }
    if c.exhaustion > 5 {
        return Err(RuleError::invalid("Exhaustion must be between 0 and 5."));
    }
    let hd = c.hit_dice;
    if !matches!(hd.die, 6 | 8 | 10 | 12)
        || hd.total != u32::from(pc.level)
        || hd.remaining > hd.total
    {
        return Err(RuleError::invalid(
            "Hit dice are out of range (a d6, d8, d10 or d12, one per level).",
        ));
    }
    if let Some(sc) = &c.spellcasting
        && (sc.max_slots.iter().any(|m| *m > 4)
            || sc.used_slots.iter().zip(sc.max_slots).any(|(u, m)| *u > m)
            || sc.spells.len() > 100)
    {
        return Err(RuleError::invalid(
            "Spell slots or spells are out of range.",
        ));
    }
    if c.save_bonus_overrides
        .values()
        .chain(c.skill_bonus_overrides.values())
        .any(|b| b.abs() > 30)
        || c.multiattack.is_some()
    {
        return Err(RuleError::invalid(
            "Save or skill bonuses are out of range.",
        ));
    }
    c.id = id;
    c.controller = Controller::Player { player: owner };
    c.proficiency_bonus = proficiency_bonus_for_level(pc.level);
    c.dead = false;
    // Ids in another campaign's effects would point at this campaign's creatures
    // (an exported Bless would never end).
    strip_campaign_links(&mut c);
    Ok(c)
}

/// Drops what refers to other creatures of a campaign: effects, concentration, the
/// sources of conditions.
fn strip_campaign_links(c: &mut Creature) {
    c.effects.clear();
    c.concentration = None;
    for source in c.conditions.values_mut() {
        *source = None;
    }
}
