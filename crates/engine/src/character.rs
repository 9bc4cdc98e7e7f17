//! Making player characters: from class + race + ability scores (standard array, point
//! buy or 4d6kh3), and JSON import / export with a versioned schema.

use crate::ability::{Abilities, Ability, Proficiency, Skill, proficiency_bonus_for_level};
use crate::condition::Condition;
use crate::creature::{
    Attack, Controller, Creature, DeathSaves, HitDice, Item, PcInfo, Spellcasting,
};
use crate::data::{ArmorCategory, Catalog, ClassData, DamagePart, DamageType, Reach, WeaponData};
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
    /// Cantrips and spells (defaults to a sensible set for the class), within the
    /// class's counts (see [`crate::spell_choice`]).
    #[serde(default)]
    pub spells: Vec<String>,
    /// Skills with expertise (double proficiency): rogues choose two at level 1 (four
    /// from 6th), bards two at 3rd (four from 10th). Each must be a proficient skill.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expertise: Vec<Skill>,
    /// An SRD subrace ("hill dwarf", "high elf", "lightfoot halfling", "rock gnome"):
    /// its ability bonus and traits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subrace: Option<String>,
    /// A dragonborn's draconic ancestry, by colour or damage type ("red", "fire"): its
    /// damage resistance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ancestry: Option<String>,
    /// A fighting style (fighter 1st, paladin and ranger 2nd): archery, defense,
    /// dueling, great weapon fighting, protection, two-weapon fighting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fighting_style: Option<String>,
    /// Class options: a warlock's Eldritch Invocations (2nd) and Pact Boon (3rd), a
    /// sorcerer's Metamagic (3rd), by name (see [`crate::class_options`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
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
            expertise: vec![],
            subrace: None,
            ancestry: None,
            fighting_style: None,
            options: Vec::new(),
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
    let subrace = match spec
        .subrace
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => None,
        Some(name) => {
            let Some(sub) = crate::features::subrace(&race.index, name) else {
                let options: Vec<&str> = crate::features::SUBRACES
                    .iter()
                    .filter(|s| s.race == race.index)
                    .map(|s| s.name)
                    .collect();
                return Err(RuleError::invalid(if options.is_empty() {
                    format!("The SRD gives {}s no subrace.", race.name)
                } else {
                    format!(
                        "\"{}\" is not a {} subrace (the SRD has {}).",
                        crate::error::echo(name),
                        race.name,
                        options.join(", ")
                    )
                }));
            };
            let s = abilities.score_mut(sub.bonus.0);
            *s = (*s + sub.bonus.1).min(20);
            Some(sub)
        }
    };
    let ancestry = match spec
        .ancestry
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => None,
        Some(_) if race.index != "dragonborn" => {
            return Err(RuleError::invalid(
                "Only dragonborn choose a draconic ancestry.",
            ));
        }
        Some(a) => Some(crate::features::ancestry(a).ok_or_else(|| {
            RuleError::invalid(format!(
                "\"{}\" is not a draconic ancestry (a dragon colour such as red or \
                 silver, or its damage type: acid, cold, fire, lightning, poison).",
                crate::error::echo(a)
            ))
        })?),
    };
    if level == 20 {
        crate::features::primal_champion(&class.index, &mut abilities);
    }
    let prof = proficiency_bonus_for_level(level);
    let con = crate::ability::modifier(abilities.con);
    let die = class.hit_die as i32;
    let max_hp = (die + con + (i32::from(level) - 1) * (die / 2 + 1 + con)).max(1)
        + subrace.map_or(0, |s| s.hp_per_level) * i32::from(level)
        + crate::features::class_hp_per_level(&class.index) * i32::from(level);

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
    let mut skill_proficiencies: BTreeMap<Skill, Proficiency> = skills
        .into_iter()
        .map(|s| (s, Proficiency::Proficient))
        .collect();
    add_expertise(
        &mut skill_proficiencies,
        &class.name,
        &class.index,
        level,
        &spec.expertise,
    )?;

    // Armour class.
    let kit_armor = class
        .starting_armor
        .as_deref()
        .and_then(|a| catalog.armor(a));
    let ac = kit_armor_class(class, &abilities, catalog);

    // Weapons.
    let attacks_per_action = attacks_per_action_for(&class.index, level);
    let mut attacks = Vec::new();
    let mut inventory = Vec::new();
    for w in &class.starting_weapons {
        let Some(w) = catalog.weapon(w) else { continue };
        let Some(a) = weapon_attack(w, &abilities, prof) else {
            continue;
        };
        attacks.push(a);
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
    let mut spellbook = Vec::new();
    let spellcasting = match class.spellcasting_ability {
        Some(ability) => {
            let slots = class
                .spell_slots
                .get(usize::from(level) - 1)
                .copied()
                .unwrap_or([0; 9]);
            let chosen = crate::spell_choice::choose_at_creation(
                class,
                level,
                &abilities,
                catalog,
                &spec.spells,
            )?;
            spellbook = chosen.spellbook;
            let spells = chosen.spells;
            if slots.iter().all(|s| *s == 0) && spells.is_empty() {
                None
            } else {
                Some(Spellcasting {
                    ability,
                    max_slots: slots,
                    used_slots: [0; 9],
                    spells,
                    caster_level: 0,
                })
            }
        }
        None => None,
    };

    let mut c = Creature {
        id,
        name: name.to_string(),
        controller: Controller::Player { player: owner },
        pc: Some(PcInfo {
            class: class.index.clone(),
            race: race.index.clone(),
            level,
            attacks_per_action,
            may_prepare: crate::spell_choice::caster_kind(&class.index)
                .is_some_and(|k| k != crate::spell_choice::CasterKind::Known),
            spellbook,
            subrace: subrace.map(|s| s.index.to_string()),
            uses: BTreeMap::new(),
            fighting_style: None,
            inspiration: None,
            inspired_by: None,
            options: Vec::new(),
            wild_shape: None,
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
        // Dwarven Resilience (poison), Hellish Resistance (fire). A dragonborn's
        // resistance depends on an ancestry the spec does not choose yet.
        resistances: if race.index == "dragonborn" {
            ancestry.into_iter().collect()
        } else {
            racial_resistances(&race.index).iter().copied().collect()
        },
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
        spent: Default::default(),
        legendary: Vec::new(),
        legendary_used: 0,
        died_round: None,
        summoned: None,
        own_form: None,
    };
    crate::features::apply_level_features(&mut c, race.speed);
    // A fighting style, when the class has one at this level.
    if let Some(name) = spec
        .fighting_style
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let style = crate::features::choose_fighting_style(&class.index, &class.name, level, name)?;
        if style == "defense" {
            c.armor_class += crate::features::defense_bonus(class, catalog);
        }
        if let Some(pc) = c.pc.as_mut() {
            pc.fighting_style = Some(style);
        }
        crate::features::apply_fighting_style(&mut c, catalog);
    }
    // Class options (invocations, pact boon, metamagic).
    if !spec.options.is_empty() {
        let all = crate::class_options::choose_for(
            &c,
            &class.index,
            &class.name,
            level,
            &[],
            &spec.options,
        )?;
        if let Some(pc) = c.pc.as_mut() {
            pc.options = all;
        }
        crate::class_options::apply_to_sheet(&mut c);
    }
    Ok(c)
}

/// How many skills a class has expertise in at a level (rogue: 2 at 1st, 4 at 6th;
/// bard: 2 at 3rd, 4 at 10th).
pub fn expertise_allowed(class: &str, level: u8) -> usize {
    match class {
        "rogue" if level >= 6 => 4,
        "rogue" => 2,
        "bard" if level >= 10 => 4,
        "bard" if level >= 3 => 2,
        _ => 0,
    }
}

/// Grants expertise in `wanted` skills, refusing what the class and level don't allow.
pub fn add_expertise(
    skills: &mut BTreeMap<Skill, Proficiency>,
    class_name: &str,
    class: &str,
    level: u8,
    wanted: &[Skill],
) -> Result<(), RuleError> {
    let allowed = expertise_allowed(class, level);
    if allowed == 0 && !wanted.is_empty() {
        return Err(RuleError::invalid(format!(
            "A level {level} {class_name} has no expertise to choose."
        )));
    }
    for s in wanted {
        match skills.get(s) {
            None => {
                return Err(RuleError::invalid(format!(
                    "Expertise is for a skill you are proficient in, and you aren't in {}.",
                    s.name()
                )));
            }
            Some(Proficiency::Expertise) => {}
            Some(Proficiency::Proficient) => {
                skills.insert(*s, Proficiency::Expertise);
            }
        }
    }
    let have = skills
        .values()
        .filter(|p| **p == Proficiency::Expertise)
        .count();
    if have > allowed {
        return Err(RuleError::invalid(if allowed == 0 {
            format!("A level {level} {class_name} has no expertise to choose.")
        } else {
            format!("A level {level} {class_name} has expertise in {allowed} skills, not {have}.")
        }));
    }
    Ok(())
}

/// The armour class a class's starting kit gives (armour and Dexterity, or unarmoured
/// defence; +2 with a shield).
pub fn kit_armor_class(class: &ClassData, abilities: &Abilities, catalog: &Catalog) -> i32 {
    let dex = crate::ability::modifier(abilities.dex);
    let con = crate::ability::modifier(abilities.con);
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
            // Draconic Resilience: 13 + Dex without armour.
            "sorcerer" => 13 + dex,
            _ => 10 + dex,
        },
    };
    if class.starting_shield {
        ac += 2;
    }
    ac
}

/// A character's attack with a weapon: finesse takes the better of Strength and
/// Dexterity, ranged weapons Dexterity, others Strength.
pub fn weapon_attack(w: &WeaponData, abilities: &Abilities, prof: i32) -> Option<Attack> {
    let dmg = w.damage.as_ref()?;
    let str_ = crate::ability::modifier(abilities.str);
    let dex = crate::ability::modifier(abilities.dex);
    let m = if w.has_property("finesse") {
        str_.max(dex)
    } else if w.reach == Reach::Ranged {
        dex
    } else {
        str_
    };
    Some(Attack {
        name: w.name.clone(),
        to_hit: m + prof,
        reach: w.reach,
        damage: vec![DamagePart {
            dice: with_modifier(&dmg.dice, m),
            damage_type: dmg.damage_type,
        }],
        save: None,
        usage: None,
        rider: None,
        area: false,
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

/// The most attacks one Attack action makes for a class at a level: Extra Attack at 5
/// for the martial classes, and the fighter's third and fourth attacks at 11 and 20.
pub fn attacks_per_action_for(class: &str, level: u8) -> u8 {
    match class {
        "fighter" if level >= 20 => 4,
        "fighter" if level >= 11 => 3,
        "fighter" | "paladin" | "ranger" | "barbarian" | "monk" if level >= 5 => 2,
        _ => 1,
    }
}

/// The most items (distinct entries) an imported inventory may hold.
pub const MAX_IMPORT_ITEMS: usize = 100;
/// The most of one item an imported inventory may hold.
pub const MAX_ITEM_QUANTITY: u32 = 9_999;
/// The most attacks an imported character may list.
pub const MAX_IMPORT_ATTACKS: usize = 20;
/// The most damage parts one imported attack may have.
pub const MAX_DAMAGE_PARTS: usize = 4;
/// The most dice one imported damage part may roll (a greatsword is 2d6).
pub const MAX_DAMAGE_PART_DICE: u32 = 20;
/// The highest total one imported damage part may reach.
pub const MAX_DAMAGE_PART_TOTAL: i64 = 100;
/// The longest attack or item name accepted.
pub const MAX_LABEL_LEN: usize = 64;

/// Damage resistances a race grants (a dragonborn chooses one by ancestry).
fn racial_resistances(race: &str) -> &'static [DamageType] {
    use DamageType::*;
    match race {
        "dwarf" => &[Poison],
        "tiefling" => &[Fire],
        "dragonborn" => &[Acid, Cold, Fire, Lightning, Poison],
        _ => &[],
    }
}

fn refuse(field: &str, why: impl std::fmt::Display) -> RuleError {
    RuleError::invalid(format!("Import refused — {field}: {why}."))
}

fn check_label(field: &str, s: &str) -> Result<(), RuleError> {
    if s.trim().is_empty() {
        return Err(refuse(field, "empty"));
    }
    if s.chars().count() > MAX_LABEL_LEN {
        return Err(refuse(
            field,
            format_args!("longer than {MAX_LABEL_LEN} characters"),
        ));
    }
    if s.chars().any(char::is_control) {
        return Err(refuse(field, "contains control characters"));
    }
    Ok(())
}

/// An imported damage part: a dice expression within the typed-dice limits, and
/// within what a character's weapon can do.
fn check_damage(field: &str, dice: &str) -> Result<(), RuleError> {
    if dice.chars().count() > MAX_LABEL_LEN {
        return Err(refuse(field, "the dice expression is too long"));
    }
    let e = crate::dice::parse(dice).map_err(|e| refuse(field, e))?;
    if e.dice_count() > MAX_DAMAGE_PART_DICE {
        return Err(refuse(
            field,
            format_args!("\"{dice}\" rolls more than {MAX_DAMAGE_PART_DICE} dice"),
        ));
    }
    let (lo, hi) = e.bounds();
    if hi > MAX_DAMAGE_PART_TOTAL || lo < -MAX_DAMAGE_PART_TOTAL {
        return Err(refuse(
            field,
            format_args!("\"{dice}\" can deal more than {MAX_DAMAGE_PART_TOTAL}"),
        ));
    }
    Ok(())
}

/// Imports a character exported by [`export_character`], checking it against the rules
/// and the catalog: a sheet cannot grant what its class, race and level do not. Every
/// refusal names the field.
pub fn import_character(
    ex: &CharacterExport,
    catalog: &Catalog,
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
    // A druid exported in a beast's shape comes back in its own form (then checked).
    crate::features::wild_shape(&mut c, None);
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
    let Some(pc) = c.pc.clone() else {
        return Err(RuleError::invalid(
            "That file holds a monster, not a character.",
        ));
    };
    if c.monster.is_some() {
        return Err(refuse("monster", "a character is not a monster"));
    }
    if !(1..=20).contains(&pc.level) {
        return Err(RuleError::invalid("Level must be between 1 and 20."));
    }
    let level = pc.level;
    let class = catalog
        .class(&pc.class)
        .filter(|_| pc.class.len() <= MAX_LABEL_LEN)
        .ok_or_else(|| refuse("class", "not an SRD class"))?;
    let race = catalog
        .race(&pc.race)
        .filter(|_| pc.race.len() <= MAX_LABEL_LEN)
        .ok_or_else(|| refuse("race", "not an SRD race"))?;
    // Hit points: at most every hit die rolled at its maximum, plus the Constitution
    // modifier and one more per level (hill dwarf, draconic sorcerer).
    let con = crate::ability::modifier(c.abilities.con).max(0);
    let hp_cap = i32::from(level) * (class.hit_die as i32 + con + 1);
    if !(1..=hp_cap).contains(&c.max_hp) {
        return Err(RuleError::invalid(format!(
            "Hit points are out of range: max_hp must be between 1 and {hp_cap} for a level \
             {level} {} with that Constitution.",
            class.name
        )));
    }
    if c.hp < 0 || c.hp > c.max_hp {
        return Err(RuleError::invalid(
            "Hit points are out of range: hp must be between 0 and max_hp.",
        ));
    }
    if !(0..=999).contains(&c.temp_hp) {
        return Err(RuleError::invalid(
            "Hit points are out of range: temp_hp must be between 0 and 999.",
        ));
    }
    if !(1..=40).contains(&c.armor_class) {
        return Err(refuse("armor_class", "out of range (1 to 40)"));
    }
    if c.speed > 200 {
        return Err(refuse("speed", "out of range (0 to 200)"));
    }
    if c.attacks.len() > MAX_IMPORT_ATTACKS {
        return Err(refuse(
            "attacks",
            format_args!("more than {MAX_IMPORT_ATTACKS}"),
        ));
    }
    for a in &c.attacks {
        check_label("attacks.name", &a.name)?;
        if a.to_hit.abs() > 30 {
            return Err(RuleError::invalid(format!(
                "{}'s to-hit bonus is out of range.",
                a.name
            )));
        }
        if a.damage.len() > MAX_DAMAGE_PARTS {
            return Err(refuse(
                "attacks.damage",
                format_args!("{} has more than {MAX_DAMAGE_PARTS} damage parts", a.name),
            ));
        }
        for d in &a.damage {
            check_damage("attacks.damage.dice", &d.dice)?;
        }
        if let Some(save) = &a.save
            && !(1..=30).contains(&save.dc)
        {
            return Err(refuse("attacks.save.dc", "out of range (1 to 30)"));
        }
        if let Some(u) = &a.usage {
            check_label("attacks.usage", u)?;
        }
    }
    // Class options (invocations, pact boon, metamagic): checked as when chosen.
    if pc.options.len() > 16 || pc.options.iter().any(|o| o.len() > MAX_LABEL_LEN) {
        return Err(refuse("pc.options", "out of range"));
    }
    if !pc.options.is_empty() {
        let all = crate::class_options::choose_for(
            &c,
            &class.index,
            &class.name,
            level,
            &[],
            &pc.options,
        )
        .map_err(|e| refuse("pc.options", e))?;
        if let Some(p) = c.pc.as_mut() {
            p.options = all;
        }
    }
    if pc.inspiration.is_some_and(|d| !(4..=12).contains(&d)) {
        return Err(refuse("pc.inspiration", "not a d6 to d12"));
    }
    let max_attacks = attacks_per_action_for(&class.index, level).max(
        if pc.options.iter().any(|o| o == "thirsting-blade") {
            2
        } else {
            1
        },
    );
    if !(1..=max_attacks).contains(&pc.attacks_per_action) {
        return Err(refuse(
            "pc.attacks_per_action",
            format_args!(
                "a level {level} {} makes 1 to {max_attacks} attacks per action",
                class.name
            ),
        ));
    }
    if c.exhaustion > 5 {
        return Err(RuleError::invalid("Exhaustion must be between 0 and 5."));
    }
    if c.exhaustion >= 4 && c.hp > c.max_hp / 2 {
        // Exhaustion 4 halves the hit point maximum (found by fuzzing).
        return Err(RuleError::invalid(format!(
            "Hit points are out of range: hp {} is above the maximum of {} at exhaustion \
             level {}.",
            c.hp,
            c.max_hp / 2,
            c.exhaustion
        )));
    }
    let hd = c.hit_dice;
    if hd.die != class.hit_die || hd.total != u32::from(level) || hd.remaining > hd.total {
        return Err(RuleError::invalid(format!(
            "Hit dice are out of range (a level {level} {} has {level}d{}).",
            class.name, class.hit_die
        )));
    }
    let ds = c.death_saves;
    if ds.successes > 3 || ds.failures > 3 {
        return Err(refuse("death_saves", "at most 3 successes and 3 failures"));
    }
    if ds.failures >= 3 {
        return Err(refuse(
            "death_saves",
            "three failures: that character is dead",
        ));
    }
    if c.hp > 0 {
        // Death saves only matter at 0 hit points.
        c.death_saves = DeathSaves::default();
    }
    // Spellcasting: slots no beyond the class table, spells from the class list.
    if let Some(sc) = &c.spellcasting {
        let table = class
            .spell_slots
            .get(usize::from(level) - 1)
            .copied()
            .unwrap_or([0; 9]);
        if class.spellcasting_ability.is_none() {
            return Err(refuse(
                "spellcasting",
                format_args!("a {} casts no spells", class.name),
            ));
        }
        if let Some(l) = (0..9).find(|l| sc.max_slots[*l] > table[*l]) {
            return Err(refuse(
                "spellcasting.max_slots",
                format_args!(
                    "a level {level} {} has {} level {} slots, not {}",
                    class.name,
                    table[l],
                    l + 1,
                    sc.max_slots[l]
                ),
            ));
        }
        if sc.used_slots.iter().zip(sc.max_slots).any(|(u, m)| *u > m) {
            return Err(refuse(
                "spellcasting.used_slots",
                "more used than there are",
            ));
        }
        if sc.spells.len() > 100 {
            return Err(refuse("spellcasting.spells", "more than 100"));
        }
        let max_level = table.iter().rposition(|s| *s > 0).map_or(0, |i| i + 1);
        for sp in &sc.spells {
            let Some(sd) = catalog.spell(sp).filter(|_| sp.len() <= MAX_LABEL_LEN) else {
                return Err(refuse("spellcasting.spells", "not an SRD spell"));
            };
            if !sd.classes.iter().any(|k| k == &class.index) {
                return Err(refuse(
                    "spellcasting.spells",
                    format_args!("{} is not on the {} spell list", sd.name, class.name),
                ));
            }
            if usize::from(sd.level) > max_level {
                return Err(refuse(
                    "spellcasting.spells",
                    format_args!(
                        "a level {level} {} can't cast level {} spells like {}",
                        class.name, sd.level, sd.name
                    ),
                ));
            }
        }
        if pc.spellbook.len() > 100 {
            return Err(refuse("pc.spellbook", "more than 100"));
        }
        for sp in &pc.spellbook {
            let ok = class.index == "wizard"
                && sp.len() <= MAX_LABEL_LEN
                && catalog.spell(sp).is_some_and(|sd| {
                    sd.classes.iter().any(|k| k == &class.index)
                        && usize::from(sd.level) <= max_level
                        && sd.level > 0
                });
            if !ok {
                return Err(refuse(
                    "pc.spellbook",
                    format_args!(
                        "a level {level} {} can't have {} in a spellbook",
                        class.name,
                        crate::error::echo(sp)
                    ),
                ));
            }
        }
        if sc.ability != class.spellcasting_ability.unwrap_or(sc.ability) {
            return Err(refuse(
                "spellcasting.ability",
                format_args!("{}s cast with another ability", class.name),
            ));
        }
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
    // Resistances and immunities: only what the race and class grant.
    let allowed_res = racial_resistances(&race.index);
    if let Some(d) = c.resistances.iter().find(|d| !allowed_res.contains(d)) {
        return Err(refuse(
            "resistances",
            format_args!("a {} {} has no {d} resistance", race.name, class.name),
        ));
    }
    if race.index == "dragonborn" && c.resistances.len() > 1 {
        return Err(refuse(
            "resistances",
            "a dragonborn resists one damage type, by ancestry",
        ));
    }
    // Monks (Purity of Body) and druids (Nature's Ward) are immune to poison from 10th.
    let late_poison = matches!(class.index.as_str(), "monk" | "druid") && level >= 10;
    if let Some(d) = c
        .immunities
        .iter()
        .find(|d| !(late_poison && **d == DamageType::Poison))
    {
        return Err(refuse(
            "immunities",
            format_args!(
                "a level {level} {} {} is not immune to {d}",
                race.name, class.name
            ),
        ));
    }
    if let Some(k) = c.condition_immunities.iter().find(|k| {
        !((late_poison && **k == Condition::Poisoned)
            || (class.index == "paladin" && level >= 10 && **k == Condition::Frightened))
    }) {
        return Err(refuse(
            "condition_immunities",
            format_args!(
                "a level {level} {} {} is not immune to being {k}",
                race.name, class.name
            ),
        ));
    }
    // Inventory.
    if c.inventory.len() > MAX_IMPORT_ITEMS {
        return Err(refuse(
            "inventory",
            format_args!("more than {MAX_IMPORT_ITEMS} items"),
        ));
    }
    for i in &c.inventory {
        check_label("inventory.name", &i.name)?;
        if !(1..=MAX_ITEM_QUANTITY).contains(&i.quantity) {
            return Err(refuse(
                "inventory.quantity",
                format_args!("{} must be between 1 and {MAX_ITEM_QUANTITY}", i.name),
            ));
        }
    }
    if let Some(s) = &pc.subrace
        && crate::features::subrace(&race.index, s).is_none_or(|sub| sub.index != s.as_str())
    {
        return Err(refuse(
            "pc.subrace",
            format_args!("not an SRD {} subrace", race.name),
        ));
    }
    if pc.uses.len() > 20
        || pc
            .uses
            .iter()
            .any(|(k, v)| k.len() > MAX_LABEL_LEN || *v > 10_000)
    {
        return Err(refuse("pc.uses", "out of range"));
    }
    c.id = id;
    c.controller = Controller::Player { player: owner };
    c.proficiency_bonus = proficiency_bonus_for_level(level);
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
