//! Raw 5e-database objects to engine values. The choices are listed in the crate docs.

use crate::SrdError;
use crate::raw::*;
use dicebard_engine::ability::{Abilities, Ability, Skill};
use dicebard_engine::data::{
    ArmorCategory, ArmorData, Catalog, ClassData, ConditionData, DamagePart, DamageType,
    MonsterAction, MonsterData, RaceData, Reach, SaveDc, SaveEffect, SaveSpell, SpellAttack,
    SpellData, WeaponData,
};
use serde_json::Value;
use std::collections::BTreeMap;

/// What a new character of a class carries: SRD equipment indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StartingKit {
    pub weapons: &'static [&'static str],
    pub armor: Option<&'static str>,
    pub shield: bool,
}

/// A simplified starting kit per SRD class, mostly the "(a)" options of the class's
/// starting equipment. `None` for a class that is not one of the 12 SRD classes.
pub fn starting_kit(class_index: &str) -> Option<StartingKit> {
    let kit = |weapons, armor, shield| {
        Some(StartingKit {
            weapons,
            armor,
            shield,
        })
    };
    match class_index {
        "barbarian" => kit(&["greataxe", "handaxe"], None, false),
        "bard" => kit(&["rapier", "dagger"], Some("leather-armor"), false),
        "cleric" => kit(&["mace", "crossbow-light"], Some("scale-mail"), true),
        // The druid's wooden shield is the SRD's generic shield.
        "druid" => kit(&["scimitar"], Some("leather-armor"), true),
        "fighter" => kit(&["longsword", "crossbow-light"], Some("chain-mail"), true),
        "monk" => kit(&["shortsword", "dart"], None, false),
        "paladin" => kit(&["longsword", "javelin"], Some("chain-mail"), true),
        "ranger" => kit(&["shortsword", "longbow"], Some("scale-mail"), false),
        "rogue" => kit(
            &["shortsword", "shortbow", "dagger"],
            Some("leather-armor"),
            false,
        ),
        "sorcerer" => kit(&["crossbow-light", "dagger"], None, false),
        "warlock" => kit(&["crossbow-light", "dagger"], Some("leather-armor"), false),
        "wizard" => kit(&["quarterstaff", "dagger"], None, false),
        _ => None,
    }
}

fn invalid(collection: &'static str, index: &str, reason: impl Into<String>) -> SrdError {
    SrdError::Invalid {
        collection,
        index: index.to_string(),
        reason: reason.into(),
    }
}

pub(crate) fn catalog(raw: RawSrd) -> Result<Catalog, SrdError> {
    let mut cat = Catalog::default();
    for m in &raw.monsters {
        cat.monsters.insert(m.index.clone(), monster(m)?);
    }
    for s in &raw.spells {
        let mut sp = spell(s)?;
        sp.effect = crate::effects::for_spell(&sp);
        cat.spells.insert(s.index.clone(), sp);
    }
    for e in &raw.equipment {
        let category = e
            .pointer("/equipment_category/index")
            .and_then(Value::as_str);
        if category == Some("weapon") {
            let w: RawWeapon = serde_json::from_value(e.clone())?;
            cat.weapons.insert(w.index.clone(), weapon(&w)?);
        }
        if e.get("armor_category").is_some() {
            let a: RawArmor = serde_json::from_value(e.clone())?;
            cat.armor.insert(a.index.clone(), armor(&a)?);
        }
    }
    for c in &raw.classes {
        cat.classes.insert(c.index.clone(), class(c, &raw.levels)?);
    }
    for r in &raw.races {
        cat.races.insert(r.index.clone(), race(r)?);
    }
    for c in &raw.conditions {
        cat.conditions.insert(
            c.index.clone(),
            ConditionData {
                index: c.index.clone(),
                name: c.name.clone(),
                desc: c.desc.join("\n"),
            },
        );
    }
    Ok(cat)
}

// ---------------------------------------------------------------------------------------
// Shared helpers

fn ability(collection: &'static str, index: &str, code: &str) -> Result<Ability, SrdError> {
    Ability::parse(code)
        .ok_or_else(|| invalid(collection, index, format!("unknown ability {code:?}")))
}

fn damage_type(collection: &'static str, index: &str, r: &Ref) -> Result<DamageType, SrdError> {
    DamageType::parse(&r.index).ok_or_else(|| {
        invalid(
            collection,
            index,
            format!("unknown damage type {:?}", r.index),
        )
    })
}

/// Removes all whitespace: "3d4 + 3" -> "3d4+3", "1d8 + MOD" -> "1d8+MOD".
pub(crate) fn normalise_dice(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// One damage entry as a part: dice + type, or the first option of a choice.
/// `None` when it has no dice (or no type).
fn damage_part(
    collection: &'static str,
    index: &str,
    d: &RawDamage,
) -> Result<Option<DamagePart>, SrdError> {
    if let (Some(dice), Some(ty)) = (&d.damage_dice, &d.damage_type) {
        let dice = normalise_dice(dice);
        if dice.is_empty() {
            return Ok(None);
        }
        return Ok(Some(DamagePart {
            dice,
            damage_type: damage_type(collection, index, ty)?,
        }));
    }
    if let Some(from) = &d.from {
        for option in &from.options {
            if let Some(part) = damage_part(collection, index, option)? {
                return Ok(Some(part));
            }
        }
    }
    Ok(None)
}

/// A "30 ft." style distance in feet.
fn feet(s: &str) -> Option<u32> {
    let digits: String = s
        .trim()
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().ok()
}

// ---------------------------------------------------------------------------------------
// Monsters

fn monster(m: &RawMonster) -> Result<MonsterData, SrdError> {
    const C: &str = "monster";
    let idx = m.index.as_str();
    let armor_class = m
        .armor_class
        .first()
        .ok_or_else(|| invalid(C, idx, "no armor_class entry"))?
        .value;

    let mut save_bonuses = BTreeMap::new();
    let mut skill_bonuses = BTreeMap::new();
    for p in &m.proficiencies {
        let name = p.proficiency.name.as_str();
        if let Some(code) = name.strip_prefix("Saving Throw: ") {
            save_bonuses.insert(ability(C, idx, code)?, p.value);
        } else if let Some(skill) = name.strip_prefix("Skill: ") {
            let skill = Skill::parse(skill)
                .ok_or_else(|| invalid(C, idx, format!("unknown skill {skill:?}")))?;
            skill_bonuses.insert(skill, p.value);
        } else {
            return Err(invalid(C, idx, format!("unknown proficiency {name:?}")));
        }
    }

    let mut actions = Vec::new();
    let mut multiattack = None;
    for a in &m.actions {
        if a.name == "Multiattack" {
            let attacks = multiattack_of(idx, a)?;
            if !attacks.is_empty() {
                multiattack = Some(attacks);
            }
        } else {
            actions.push(action(idx, a)?);
        }
    }

    if let Some(list) = &mut multiattack {
        for (name, _) in list.iter_mut() {
            *name = resolve_action_name(name, &actions, &m.special_abilities);
        }
    }

    Ok(MonsterData {
        index: m.index.clone(),
        name: m.name.clone(),
        size: m.size.clone(),
        kind: m.kind.clone(),
        alignment: m.alignment.clone(),
        armor_class,
        hit_points: m.hit_points,
        hit_dice: m.hit_dice.clone(),
        speed: walking_speed(&m.speed),
        abilities: Abilities::new(
            m.strength,
            m.dexterity,
            m.constitution,
            m.intelligence,
            m.wisdom,
            m.charisma,
        ),
        proficiency_bonus: m.proficiency_bonus,
        save_bonuses,
        skill_bonuses,
        damage_vulnerabilities: damage_types_in(&m.damage_vulnerabilities),
        damage_resistances: damage_types_in(&m.damage_resistances),
        damage_immunities: damage_types_in(&m.damage_immunities),
        condition_immunities: m
            .condition_immunities
            .iter()
            .map(|c| c.index.clone())
            .collect(),
        challenge_rating: m.challenge_rating,
        xp: m.xp,
        actions,
        multiattack,
        special_abilities: m
            .special_abilities
            .iter()
            .map(|s| (s.name.clone(), s.desc.clone()))
            .collect(),
        legendary_actions: m
            .legendary_actions
            .iter()
            .map(|s| (s.name.clone(), s.desc.clone()))
            .collect(),
        spellcasting: m
            .special_abilities
            .iter()
            .find_map(|s| s.spellcasting.as_ref())
            .and_then(monster_spellcasting),
    })
}

/// A stat block's structured spellcasting (slots bounded to 9 a level).
fn monster_spellcasting(
    r: &crate::raw::RawSpellcasting,
) -> Option<dicebard_engine::data::MonsterSpellcasting> {
    let ability = dicebard_engine::ability::Ability::parse(&r.ability.index)?;
    let mut slots = [0u8; 9];
    for (l, n) in &r.slots {
        if let Ok(l) = l.parse::<usize>()
            && (1..=9).contains(&l)
        {
            slots[l - 1] = (*n).min(9) as u8;
        }
    }
    let spells = r
        .spells
        .iter()
        .map(|s| {
            let uses = s.usage.as_ref().map(|u| match u.kind.as_str() {
                "per day" => u.times.unwrap_or(1).min(9),
                _ => 0,
            });
            (dicebard_engine::data::to_index(&s.name), uses)
        })
        .collect();
    Some(dicebard_engine::data::MonsterSpellcasting {
        ability,
        dc: r.dc,
        attack: r.modifier,
        slots,
        spells,
        level: r.level.unwrap_or(0).min(20) as u8,
    })
}

/// Walking speed, or the fastest other speed when the creature cannot walk.
fn walking_speed(speed: &BTreeMap<String, Value>) -> u32 {
    let of = |v: &Value| v.as_str().and_then(feet);
    if let Some(walk) = speed.get("walk").and_then(of) {
        return walk;
    }
    speed.values().filter_map(of).max().unwrap_or(0)
}

/// Damage types named in resistance/immunity/vulnerability text. Qualifiers about
/// nonmagical weapons are ignored; entries that only concern magic weapons are dropped.
pub(crate) fn damage_types_in(entries: &[String]) -> Vec<DamageType> {
    let mut out = Vec::new();
    for entry in entries {
        let lower = entry.to_ascii_lowercase();
        if lower.contains("from magic weapons") {
            continue;
        }
        for word in lower.split(|c: char| !c.is_ascii_alphabetic()) {
            if let Some(t) = DamageType::ALL.into_iter().find(|t| t.name() == word) {
                out.push(t);
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The data's multiattack names sometimes differ from the action names ("Claws" for
/// "Claw", "Unarmed Strike (Vampire Form Only)" for "Unarmed Strike"): map such a name
/// to the one action it loosely matches, so the engine can look it up.
fn resolve_action_name(name: &str, actions: &[MonsterAction], special: &[NameDesc]) -> String {
    if actions.iter().any(|a| a.name == name) || special.iter().any(|s| s.name == name) {
        return name.to_string();
    }
    fn key(s: &str) -> String {
        let s = s
            .split(" (")
            .next()
            .unwrap_or(s)
            .trim()
            .to_ascii_lowercase();
        s.strip_suffix('s').map(str::to_string).unwrap_or(s)
    }
    let wanted = key(name);
    let mut matches = actions.iter().filter(|a| key(&a.name) == wanted);
    match (matches.next(), matches.next()) {
        (Some(a), None) => a.name.clone(),
        _ => name.to_string(),
    }
}

fn multiattack_count(monster: &str, count: &Value) -> Result<u32, SrdError> {
    if let Some(n) = count.as_u64() {
        return u32::try_from(n).map_err(|_| invalid("monster", monster, "multiattack count"));
    }
    let s = count.as_str().unwrap_or_default().trim();
    if let Ok(n) = s.parse::<u32>() {
        return Ok(n);
    }
    // "1d4": the average, rounded down.
    if let Some((n, m)) = s.split_once('d')
        && let (Ok(n), Ok(m)) = (n.parse::<u32>(), m.parse::<u32>())
    {
        return Ok((n * (m + 1) / 2).max(1));
    }
    // The hydra: "as many bite attacks as it has heads"; it starts with five.
    if s.eq_ignore_ascii_case("Number of Heads") {
        return Ok(5);
    }
    Err(invalid(
        "monster",
        monster,
        format!("unreadable multiattack count {count}"),
    ))
}

fn multiattack_of(monster: &str, a: &RawAction) -> Result<Vec<(String, u32)>, SrdError> {
    let mut out = Vec::new();
    if !a.actions.is_empty() {
        for item in &a.actions {
            out.push((
                item.action_name.clone(),
                multiattack_count(monster, &item.count)?,
            ));
        }
    } else if let Some(first) = a
        .action_options
        .as_ref()
        .and_then(|o| o.from.options.first())
    {
        if let (Some(name), Some(count)) = (&first.action_name, &first.count) {
            out.push((name.clone(), multiattack_count(monster, count)?));
        }
        for item in &first.items {
            out.push((
                item.action_name.clone(),
                multiattack_count(monster, &item.count)?,
            ));
        }
    }
    Ok(out)
}

fn save_dc(monster: &str, dc: &RawDc, half_hint: bool) -> Result<SaveDc, SrdError> {
    Ok(SaveDc {
        ability: ability("monster", monster, &dc.dc_type.index)?,
        dc: dc.dc_value,
        on_success: if dc.success_type == "half" || half_hint {
            SaveEffect::Half
        } else {
            SaveEffect::None
        },
    })
}

pub(crate) fn reach_of(desc: &str) -> Option<Reach> {
    let d = desc.trim_start();
    if d.starts_with("Melee") {
        Some(Reach::Melee)
    } else if d.starts_with("Ranged") {
        Some(Reach::Ranged)
    } else {
        None
    }
}

fn usage_text(u: &RawUsage) -> String {
    match u.kind.as_str() {
        "recharge on roll" => match u.min_value {
            Some(6) => "Recharge 6".to_string(),
            Some(n) => format!("Recharge {n}-6"),
            None => "Recharge".to_string(),
        },
        "per day" => format!("{}/Day", u.times.unwrap_or(1)),
        "recharge after rest" => {
            let short = u.rest_types.iter().any(|r| r == "short");
            let long = u.rest_types.iter().any(|r| r == "long");
            match (short, long) {
                (true, true) => "Recharges after a Short or Long Rest".to_string(),
                (true, false) => "Recharges after a Short Rest".to_string(),
                _ => "Recharges after a Long Rest".to_string(),
            }
        }
        other => other.to_string(),
    }
}

fn action(monster: &str, a: &RawAction) -> Result<MonsterAction, SrdError> {
    const C: &str = "monster";
    let mut damage = Vec::new();
    let mut rider_save = None;
    for d in &a.damage {
        if let Some(part) = damage_part(C, monster, d)? {
            damage.push(part);
        }
        if rider_save.is_none()
            && let Some(dc) = &d.dc
        {
            rider_save = Some(save_dc(monster, dc, false)?);
        }
    }
    let mut option_dc = None;
    if let Some(first) = a.options.as_ref().and_then(|o| o.from.options.first()) {
        for d in &first.damage {
            if let Some(part) = damage_part(C, monster, d)? {
                damage.push(part);
            }
        }
        option_dc = first.dc.as_ref();
    }
    let half_hint =
        !damage.is_empty() && a.desc.to_ascii_lowercase().contains("half as much damage");
    let save = match (&a.dc, option_dc) {
        (Some(dc), _) => Some(save_dc(monster, dc, half_hint)?),
        (None, Some(dc)) => Some(save_dc(monster, dc, false)?),
        (None, None) => rider_save,
    };
    Ok(MonsterAction {
        name: a.name.clone(),
        desc: a.desc.clone(),
        attack_bonus: a.attack_bonus,
        reach: reach_of(&a.desc),
        damage,
        save,
        usage: a.usage.as_ref().map(usage_text),
    })
}

// ---------------------------------------------------------------------------------------
// Spells

fn dice_by_level(
    spell: &str,
    map: &BTreeMap<String, String>,
) -> Result<BTreeMap<u8, String>, SrdError> {
    map.iter()
        .map(|(k, v)| {
            let level = k
                .trim()
                .parse::<u8>()
                .map_err(|_| invalid("spell", spell, format!("level key {k:?}")))?;
            Ok((level, normalise_dice(v)))
        })
        .collect()
}

fn spell(s: &RawSpell) -> Result<SpellData, SrdError> {
    const C: &str = "spell";
    let idx = s.index.as_str();
    let attack = match (s.attack_type.as_deref(), &s.dc) {
        (Some("ranged"), _) => SpellAttack::Attack {
            reach: Reach::Ranged,
        },
        (Some("melee"), _) => SpellAttack::Attack {
            reach: Reach::Melee,
        },
        (Some(other), _) => return Err(invalid(C, idx, format!("attack_type {other:?}"))),
        (None, Some(dc)) => SpellAttack::Save(SaveSpell {
            ability: ability(C, idx, &dc.dc_type.index)?,
            on_success: if dc.dc_success == "half" {
                SaveEffect::Half
            } else {
                SaveEffect::None
            },
        }),
        (None, None) => SpellAttack::None,
    };
    let (damage_type, at_slot, at_char) = match &s.damage {
        Some(d) => (
            d.damage_type
                .as_ref()
                .map(|t| damage_type(C, idx, t))
                .transpose()?,
            dice_by_level(idx, &d.damage_at_slot_level)?,
            dice_by_level(idx, &d.damage_at_character_level)?,
        ),
        None => (None, BTreeMap::new(), BTreeMap::new()),
    };
    Ok(SpellData {
        index: s.index.clone(),
        name: s.name.clone(),
        level: s.level,
        school: s.school.name.clone(),
        casting_time: s.casting_time.clone(),
        range: s.range.clone(),
        duration: s.duration.clone(),
        concentration: s.concentration,
        ritual: s.ritual,
        verbal: s.components.iter().any(|c| c == "V"),
        attack,
        damage_type,
        damage_at_slot_level: at_slot,
        damage_at_character_level: at_char,
        heal_at_slot_level: dice_by_level(idx, &s.heal_at_slot_level)?,
        area: s.area_of_effect.as_ref().map(|a| (a.kind.clone(), a.size)),
        classes: s.classes.iter().map(|c| c.index.clone()).collect(),
        desc: s.desc.join("\n"),
        effect: None,
    })
}

// ---------------------------------------------------------------------------------------
// Equipment

fn weapon(w: &RawWeapon) -> Result<WeaponData, SrdError> {
    const C: &str = "weapon";
    let idx = w.index.as_str();
    let reach = match w.weapon_range.as_str() {
        "Melee" => Reach::Melee,
        "Ranged" => Reach::Ranged,
        other => return Err(invalid(C, idx, format!("weapon_range {other:?}"))),
    };
    let properties: Vec<String> = w.properties.iter().map(|p| p.index.clone()).collect();
    let thrown = properties.iter().any(|p| p == "thrown");
    let range = match (&w.range, &w.throw_range) {
        (_, Some(t)) if reach == Reach::Melee && thrown => (t.normal, t.long),
        (Some(r), _) => (r.normal, r.long),
        (None, _) => (5, None),
    };
    // The data gives reach weapons (glaive, whip, ...) a range of 5 ft.; they reach 10.
    let range = if reach == Reach::Melee && properties.iter().any(|p| p == "reach") {
        (range.0.max(10), range.1)
    } else {
        range
    };
    let part = |d: &Option<RawDamage>| -> Result<Option<DamagePart>, SrdError> {
        match d {
            Some(d) => damage_part(C, idx, d),
            None => Ok(None),
        }
    };
    Ok(WeaponData {
        index: w.index.clone(),
        name: w.name.clone(),
        category: w.weapon_category.clone(),
        reach,
        damage: part(&w.damage)?,
        two_handed_damage: part(&w.two_handed_damage)?,
        properties,
        range,
    })
}

fn armor(a: &RawArmor) -> Result<ArmorData, SrdError> {
    let category = match a.armor_category.as_str() {
        "Light" => ArmorCategory::Light,
        "Medium" => ArmorCategory::Medium,
        "Heavy" => ArmorCategory::Heavy,
        "Shield" => ArmorCategory::Shield,
        other => {
            return Err(invalid(
                "armor",
                &a.index,
                format!("armor_category {other:?}"),
            ));
        }
    };
    Ok(ArmorData {
        index: a.index.clone(),
        name: a.name.clone(),
        category,
        base_ac: a.armor_class.base,
        dex_bonus: a.armor_class.dex_bonus,
        max_dex_bonus: a.armor_class.max_bonus,
        stealth_disadvantage: a.stealth_disadvantage,
    })
}

// ---------------------------------------------------------------------------------------
// Classes, races

fn class(c: &RawClass, levels: &[RawLevel]) -> Result<ClassData, SrdError> {
    const C: &str = "class";
    let idx = c.index.as_str();
    let saving_throws = c
        .saving_throws
        .iter()
        .map(|s| ability(C, idx, &s.index))
        .collect::<Result<Vec<_>, _>>()?;

    // The proficiency choice whose options are all skills.
    let mut skill_choices = (0, Vec::new());
    for choice in &c.proficiency_choices {
        let skills: Option<Vec<Skill>> = choice
            .from
            .options
            .iter()
            .map(|o| {
                o.item
                    .as_ref()
                    .and_then(|i| i.index.strip_prefix("skill-"))
                    .and_then(Skill::parse)
            })
            .collect();
        if let Some(skills) = skills
            && !skills.is_empty()
        {
            skill_choices = (choice.choose, skills);
            break;
        }
    }

    let spellcasting_ability = c
        .spellcasting
        .as_ref()
        .map(|s| ability(C, idx, &s.spellcasting_ability.index))
        .transpose()?;

    let mut spell_slots = Vec::with_capacity(20);
    let mut cantrips_known = Vec::with_capacity(20);
    let mut spells_known = Vec::with_capacity(20);
    let mut asi_levels = Vec::new();
    let mut asi_before = 0u8;
    for level in 1..=20u8 {
        let row = levels
            .iter()
            .find(|l| l.class.index == c.index && l.subclass.is_none() && l.level == level)
            .ok_or_else(|| invalid(C, idx, format!("no levels row for level {level}")))?;
        let get = |key: &str| -> Result<u8, SrdError> {
            match row.spellcasting.get(key) {
                None => Ok(0),
                Some(v) => v
                    .as_u64()
                    .and_then(|n| u8::try_from(n).ok())
                    .ok_or_else(|| invalid(C, idx, format!("level {level} {key} = {v}"))),
            }
        };
        let mut slots = [0u8; 9];
        for (i, slot) in slots.iter_mut().enumerate() {
            *slot = get(&format!("spell_slots_level_{}", i + 1))?;
        }
        spell_slots.push(slots);
        cantrips_known.push(get("cantrips_known")?);
        if row.spellcasting.contains_key("spells_known") {
            spells_known.push(get("spells_known")?);
        }
        let asi = row.ability_score_bonuses.unwrap_or(asi_before);
        if asi > asi_before {
            asi_levels.push(level);
        }
        asi_before = asi;
    }
    if spells_known.len() != 20 {
        spells_known.clear();
    }

    let kit = starting_kit(idx).unwrap_or(StartingKit {
        weapons: &[],
        armor: None,
        shield: false,
    });
    Ok(ClassData {
        index: c.index.clone(),
        name: c.name.clone(),
        hit_die: c.hit_die,
        saving_throws,
        skill_choices,
        spellcasting_ability,
        spell_slots,
        cantrips_known,
        spells_known,
        asi_levels,
        starting_weapons: kit.weapons.iter().map(|w| w.to_string()).collect(),
        starting_armor: kit.armor.map(str::to_string),
        starting_shield: kit.shield,
    })
}

fn race(r: &RawRace) -> Result<RaceData, SrdError> {
    let ability_bonuses = r
        .ability_bonuses
        .iter()
        .map(|b| Ok((ability("race", &r.index, &b.ability_score.index)?, b.bonus)))
        .collect::<Result<Vec<_>, SrdError>>()?;
    Ok(RaceData {
        index: r.index.clone(),
        name: r.name.clone(),
        speed: r.speed,
        size: r.size.clone(),
        ability_bonuses,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn damage_type_text() {
        let v = |s: &[&str]| damage_types_in(&s.iter().map(|x| x.to_string()).collect::<Vec<_>>());
        assert_eq!(
            v(&[
                "bludgeoning, piercing, and slashing from nonmagical weapons that aren't silvered"
            ]),
            vec![
                DamageType::Bludgeoning,
                DamageType::Piercing,
                DamageType::Slashing
            ]
        );
        assert_eq!(
            v(&["fire", "cold", "fire"]),
            vec![DamageType::Cold, DamageType::Fire]
        );
        assert_eq!(v(&["damage from spells"]), vec![]);
        assert_eq!(
            v(&["piercing from magic weapons wielded by good creatures"]),
            vec![]
        );
    }

    #[test]
    fn usage_and_reach() {
        let u = |kind: &str, times, min_value, rest: &[&str]| RawUsage {
            kind: kind.into(),
            times,
            min_value,
            rest_types: rest.iter().map(|s| s.to_string()).collect(),
        };
        assert_eq!(
            usage_text(&u("recharge on roll", None, Some(5), &[])),
            "Recharge 5-6"
        );
        assert_eq!(
            usage_text(&u("recharge on roll", None, Some(6), &[])),
            "Recharge 6"
        );
        assert_eq!(usage_text(&u("per day", Some(3), None, &[])), "3/Day");
        assert_eq!(
            usage_text(&u("recharge after rest", None, None, &["short", "long"])),
            "Recharges after a Short or Long Rest"
        );
        assert_eq!(
            reach_of("Melee or Ranged Weapon Attack: +4"),
            Some(Reach::Melee)
        );
        assert_eq!(reach_of(" Melee Weapon Attack: +4"), Some(Reach::Melee));
        assert_eq!(reach_of("Ranged Spell Attack: +4"), Some(Reach::Ranged));
        assert_eq!(reach_of("The dragon exhales"), None);
    }

    #[test]
    fn counts_and_dice() {
        assert_eq!(multiattack_count("x", &serde_json::json!(2)).unwrap(), 2);
        assert_eq!(multiattack_count("x", &serde_json::json!("3")).unwrap(), 3);
        assert_eq!(
            multiattack_count("x", &serde_json::json!("1d4")).unwrap(),
            2
        );
        assert_eq!(
            multiattack_count("hydra", &serde_json::json!("Number of Heads")).unwrap(),
            5
        );
        assert!(multiattack_count("x", &serde_json::json!("lots")).is_err());
        assert_eq!(normalise_dice(" 1d8 + MOD "), "1d8+MOD");
        assert_eq!(feet("30 ft."), Some(30));
        assert_eq!(feet("ft."), None);
    }
}
