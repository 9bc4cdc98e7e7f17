//! The embedded SRD catalog converts, and known stat blocks come out right.

use dicebard_engine::ability::{Ability, Skill};
use dicebard_engine::data::{
    ArmorCategory, DamagePart, DamageType, Reach, SaveDc, SaveEffect, SaveSpell, SpellAttack,
};
use dicebard_srd::{SRD_JSON, catalog, load_catalog};

fn part(dice: &str, damage_type: DamageType) -> DamagePart {
    DamagePart {
        dice: dice.to_string(),
        damage_type,
    }
}

#[test]
fn embedded_catalog_parses() {
    // `catalog()` panics on a bad asset; `load_catalog` shows the error instead.
    let fresh = load_catalog(SRD_JSON).expect("embedded SRD asset converts");
    assert_eq!(&fresh, catalog());
}

#[test]
fn collection_counts() {
    let c = catalog();
    assert_eq!(c.monsters.len(), 334);
    assert_eq!(c.spells.len(), 319);
    assert_eq!(c.classes.len(), 12);
    assert_eq!(c.races.len(), 9);
    assert_eq!(c.conditions.len(), 15);
    assert_eq!(c.weapons.len(), 37);
    assert_eq!(c.armor.len(), 13);
}

#[test]
fn goblin() {
    let g = catalog().monster("goblin").expect("goblin");
    assert_eq!(g.name, "Goblin");
    assert_eq!(g.armor_class, 15);
    assert_eq!(g.hit_points, 7);
    assert_eq!(g.hit_dice, "2d6");
    assert_eq!(g.speed, 30);
    assert_eq!(g.size, "Small");
    assert_eq!(g.kind, "humanoid");
    assert_eq!(g.abilities.dex, 14);
    assert_eq!(g.proficiency_bonus, 2);
    assert_eq!(g.challenge_rating, 0.25);
    assert_eq!(g.xp, 50);
    assert_eq!(g.skill_bonuses.get(&Skill::Stealth), Some(&6));
    assert_eq!(g.skill_bonuses.len(), 1);
    assert!(g.save_bonuses.is_empty());
    assert_eq!(g.multiattack, None);
    let scimitar = g.actions.iter().find(|a| a.name == "Scimitar").unwrap();
    assert_eq!(scimitar.attack_bonus, Some(4));
    assert_eq!(scimitar.reach, Some(Reach::Melee));
    assert_eq!(scimitar.damage, vec![part("1d6+2", DamageType::Slashing)]);
    assert_eq!(scimitar.save, None);
    assert_eq!(scimitar.usage, None);
    let shortbow = g.actions.iter().find(|a| a.name == "Shortbow").unwrap();
    assert_eq!(shortbow.reach, Some(Reach::Ranged));
    assert_eq!(g.special_abilities[0].0, "Nimble Escape");
}

#[test]
fn adult_red_dragon() {
    let d = catalog()
        .monster("Adult Red Dragon")
        .expect("adult red dragon");
    assert_eq!(
        d.multiattack,
        Some(vec![
            ("Frightful Presence".to_string(), 1),
            ("Bite".to_string(), 1),
            ("Claw".to_string(), 2),
        ])
    );
    // Multiattack is kept out of the actions; its content is in `multiattack`.
    assert!(d.actions.iter().all(|a| a.name != "Multiattack"));
    assert_eq!(d.speed, 40);
    assert_eq!(d.armor_class, 19);
    assert_eq!(d.save_bonuses.get(&Ability::Con), Some(&13));
    assert_eq!(d.skill_bonuses.get(&Skill::Perception), Some(&13));
    assert_eq!(d.damage_immunities, vec![DamageType::Fire]);
    let bite = d.actions.iter().find(|a| a.name == "Bite").unwrap();
    assert_eq!(
        bite.damage,
        vec![
            part("2d10+8", DamageType::Piercing),
            part("2d6", DamageType::Fire)
        ]
    );
    let breath = d.actions.iter().find(|a| a.name == "Fire Breath").unwrap();
    assert_eq!(breath.usage.as_deref(), Some("Recharge 5-6"));
    assert_eq!(breath.damage, vec![part("18d6", DamageType::Fire)]);
    // The data says "none"; the text says half, and half is the rule.
    assert_eq!(
        breath.save,
        Some(SaveDc {
            ability: Ability::Dex,
            dc: 21,
            on_success: SaveEffect::Half
        })
    );
    assert_eq!(breath.attack_bonus, None);
    assert_eq!(breath.reach, None);
    let fear = d
        .actions
        .iter()
        .find(|a| a.name == "Frightful Presence")
        .unwrap();
    assert_eq!(
        fear.save,
        Some(SaveDc {
            ability: Ability::Wis,
            dc: 19,
            on_success: SaveEffect::None
        })
    );
    let resistance = d
        .special_abilities
        .iter()
        .find(|(n, _)| n == "Legendary Resistance");
    assert!(resistance.is_some());
}

#[test]
fn multiattack_options_take_the_first_set() {
    let c = catalog();
    let captain = c.monster("bandit captain").unwrap();
    assert_eq!(
        captain.multiattack,
        Some(vec![("Scimitar".to_string(), 2), ("Dagger".to_string(), 1)])
    );
    let hydra = c.monster("hydra").unwrap();
    assert_eq!(hydra.multiattack, Some(vec![("Bite".to_string(), 5)]));
    let turtle = c.monster("dragon turtle").unwrap();
    assert_eq!(
        turtle.multiattack,
        Some(vec![("Bite".to_string(), 1), ("Claw".to_string(), 2)])
    );
    let fungus = c.monster("violet fungus").unwrap();
    assert_eq!(
        fungus.multiattack,
        Some(vec![("Rotting Touch".to_string(), 2)])
    );
}

#[test]
fn every_multiattack_action_converts() {
    // Every stat block with a "Multiattack" action gets a non-empty multiattack.
    let raw: serde_json::Value = serde_json::from_str(SRD_JSON).unwrap();
    for m in raw["monsters"].as_array().unwrap() {
        let has = m["actions"]
            .as_array()
            .is_some_and(|a| a.iter().any(|a| a["name"] == "Multiattack"));
        let index = m["index"].as_str().unwrap();
        let converted = &catalog().monsters[index];
        assert_eq!(has, converted.multiattack.is_some(), "{index}");
        if let Some(list) = &converted.multiattack {
            assert!(list.iter().all(|(_, n)| *n >= 1), "{index}");
            // Every name is an action or a special ability of the same monster.
            for (name, _) in list {
                let known = converted.actions.iter().any(|a| &a.name == name)
                    || converted.special_abilities.iter().any(|(n, _)| n == name);
                assert!(known, "{index}: multiattack names {name:?}");
            }
        }
    }
}

#[test]
fn damage_choices_and_riders() {
    let c = catalog();
    // Versatile: the first (one-handed) option.
    let hob = c.monster("hobgoblin").unwrap();
    let longsword = hob.actions.iter().find(|a| a.name == "Longsword").unwrap();
    assert_eq!(longsword.damage, vec![part("1d8+1", DamageType::Slashing)]);
    // A rider save on a damage entry becomes the action's save.
    let assassin = c.monster("assassin").unwrap();
    let shortsword = assassin
        .actions
        .iter()
        .find(|a| a.name == "Shortsword")
        .unwrap();
    assert_eq!(
        shortsword.damage,
        vec![
            part("1d6+3", DamageType::Piercing),
            part("7d6", DamageType::Poison)
        ]
    );
    assert_eq!(
        shortsword.save,
        Some(SaveDc {
            ability: Ability::Con,
            dc: 15,
            on_success: SaveEffect::Half
        })
    );
    // Options (metallic dragon breath weapons): the first option.
    let brass = c.monster("adult brass dragon").unwrap();
    let breath = brass
        .actions
        .iter()
        .find(|a| a.name == "Breath Weapons")
        .unwrap();
    assert_eq!(breath.damage, vec![part("13d6", DamageType::Fire)]);
    assert_eq!(
        breath.save,
        Some(SaveDc {
            ability: Ability::Dex,
            dc: 18,
            on_success: SaveEffect::Half
        })
    );
    // Flat damage stays a number.
    let cat = c.monster("cat").unwrap();
    assert_eq!(cat.actions[0].damage, vec![part("1", DamageType::Slashing)]);
}

#[test]
fn usage_text() {
    let c = catalog();
    let sphinx = c.monster("androsphinx").unwrap();
    let roar = sphinx.actions.iter().find(|a| a.name == "Roar").unwrap();
    assert_eq!(roar.usage.as_deref(), Some("3/Day"));
}

#[test]
fn resistances_immunities_vulnerabilities() {
    let c = catalog();
    let skeleton = c.monster("skeleton").unwrap();
    assert_eq!(
        skeleton.damage_vulnerabilities,
        vec![DamageType::Bludgeoning]
    );
    assert_eq!(skeleton.damage_immunities, vec![DamageType::Poison]);
    assert!(skeleton.damage_resistances.is_empty());
    let mut conds = skeleton.condition_immunities.clone();
    conds.sort();
    assert_eq!(conds, vec!["exhaustion", "poisoned"]);

    // "bludgeoning, piercing, and slashing from nonmagical weapons that aren't
    // silvered": treated as unconditional.
    let werewolf = &c.monsters["werewolf-hybrid"];
    assert_eq!(
        werewolf.damage_immunities,
        vec![
            DamageType::Bludgeoning,
            DamageType::Piercing,
            DamageType::Slashing
        ]
    );

    // "piercing from magic weapons wielded by good creatures" is dropped.
    let rakshasa = c.monster("rakshasa").unwrap();
    assert!(rakshasa.damage_vulnerabilities.is_empty());
    assert_eq!(
        rakshasa.damage_immunities,
        vec![
            DamageType::Bludgeoning,
            DamageType::Piercing,
            DamageType::Slashing
        ]
    );

    let lich = c.monster("lich").unwrap();
    // Sorted by the enum's order.
    assert_eq!(
        lich.damage_immunities,
        vec![
            DamageType::Bludgeoning,
            DamageType::Piercing,
            DamageType::Poison,
            DamageType::Slashing
        ]
    );
    assert_eq!(
        lich.damage_resistances,
        vec![
            DamageType::Cold,
            DamageType::Lightning,
            DamageType::Necrotic
        ]
    );
}

#[test]
fn speeds_without_walking() {
    let c = catalog();
    assert_eq!(c.monster("giant shark").unwrap().speed, 50);
    assert_eq!(c.monsters["air-elemental"].speed, 90);
    assert_eq!(c.monsters["vampire-mist"].speed, 20);
}

#[test]
fn fireball() {
    let f = catalog().spell("Fireball").unwrap();
    assert_eq!(f.level, 3);
    assert_eq!(f.school, "Evocation");
    assert_eq!(f.range, "150 feet");
    assert_eq!(f.casting_time, "1 action");
    assert!(!f.concentration && !f.ritual);
    assert_eq!(
        f.attack,
        SpellAttack::Save(SaveSpell {
            ability: Ability::Dex,
            on_success: SaveEffect::Half
        })
    );
    assert_eq!(f.damage_type, Some(DamageType::Fire));
    assert_eq!(
        f.damage_at_slot_level.get(&3).map(String::as_str),
        Some("8d6")
    );
    assert_eq!(
        f.damage_at_slot_level.get(&9).map(String::as_str),
        Some("14d6")
    );
    assert_eq!(f.area, Some(("sphere".to_string(), 20)));
    assert_eq!(f.classes, vec!["sorcerer", "wizard"]);
    assert!(f.desc.contains("\nThe fire spreads around corners."));
}

#[test]
fn fire_bolt() {
    let f = catalog().spell("Fire Bolt").unwrap();
    assert_eq!(f.index, "fire-bolt");
    assert_eq!(f.level, 0);
    assert_eq!(
        f.attack,
        SpellAttack::Attack {
            reach: Reach::Ranged
        }
    );
    assert_eq!(f.damage_type, Some(DamageType::Fire));
    assert_eq!(
        f.damage_at_character_level.get(&1).map(String::as_str),
        Some("1d10")
    );
    assert_eq!(
        f.damage_at_character_level.get(&17).map(String::as_str),
        Some("4d10")
    );
    assert!(f.damage_at_slot_level.is_empty());
}

#[test]
fn cure_wounds_and_magic_missile() {
    let c = catalog();
    let cure = c.spell("cure wounds").unwrap();
    assert_eq!(
        cure.heal_at_slot_level.get(&1).map(String::as_str),
        Some("1d8+MOD")
    );
    assert_eq!(cure.attack, SpellAttack::None);
    assert_eq!(cure.damage_type, None);
    let mm = c.spell("Magic Missile").unwrap();
    // The data says "3d4 + 3": three darts of 1d4+1.
    assert_eq!(
        mm.damage_at_slot_level.get(&1).map(String::as_str),
        Some("3d4+3")
    );
    assert_eq!(
        mm.damage_at_slot_level.get(&2).map(String::as_str),
        Some("4d4+4")
    );
    assert_eq!(mm.damage_type, Some(DamageType::Force));
    assert_eq!(mm.attack, SpellAttack::None);
}

#[test]
fn melee_spell_attack_and_odd_saves() {
    let c = catalog();
    let grasp = c.spell("shocking grasp").unwrap();
    assert_eq!(
        grasp.attack,
        SpellAttack::Attack {
            reach: Reach::Melee
        }
    );
    // "other" on success counts as no effect.
    let heat = c.spell("heat metal").unwrap();
    assert_eq!(
        heat.attack,
        SpellAttack::Save(SaveSpell {
            ability: Ability::Con,
            on_success: SaveEffect::None
        })
    );
    let sleep = c.spell("sleep").unwrap();
    assert_eq!(sleep.damage_type, None);
    assert_eq!(
        sleep.damage_at_slot_level.get(&1).map(String::as_str),
        Some("5d8")
    );
}

#[test]
fn weapons_and_armor() {
    let c = catalog();
    let ls = c.weapon("longsword").unwrap();
    assert_eq!(ls.category, "Martial");
    assert_eq!(ls.reach, Reach::Melee);
    assert_eq!(ls.damage, Some(part("1d8", DamageType::Slashing)));
    assert_eq!(
        ls.two_handed_damage,
        Some(part("1d10", DamageType::Slashing))
    );
    assert!(ls.has_property("versatile"));
    assert_eq!(ls.range, (5, None));
    let bow = c.weapon("longbow").unwrap();
    assert_eq!(bow.reach, Reach::Ranged);
    assert_eq!(bow.range, (150, Some(600)));
    assert!(bow.has_property("ammunition"));
    let dagger = c.weapon("dagger").unwrap();
    assert!(dagger.has_property("finesse") && dagger.has_property("thrown"));
    assert_eq!(dagger.range, (20, Some(60)));
    assert_eq!(c.weapon("glaive").unwrap().range, (10, None));
    let net = c.weapon("net").unwrap();
    assert_eq!(net.damage, None);
    assert_eq!(c.weapons["crossbow-light"].category, "Simple");

    let chain = c.armor("chain mail").unwrap();
    assert_eq!(chain.category, ArmorCategory::Heavy);
    assert_eq!(chain.base_ac, 16);
    assert!(!chain.dex_bonus);
    assert!(chain.stealth_disadvantage);
    let scale = c.armor("scale mail").unwrap();
    assert_eq!(scale.category, ArmorCategory::Medium);
    assert!(scale.dex_bonus);
    assert_eq!(scale.max_dex_bonus, Some(2));
    let leather = c.armor("leather armor").unwrap();
    assert_eq!(
        (leather.category, leather.base_ac),
        (ArmorCategory::Light, 11)
    );
    assert_eq!(leather.max_dex_bonus, None);
    let shield = c.armor("shield").unwrap();
    assert_eq!(
        (shield.category, shield.base_ac),
        (ArmorCategory::Shield, 2)
    );
}

#[test]
fn class_spell_slots() {
    let c = catalog();
    let wizard = c.class("wizard").unwrap();
    assert_eq!(wizard.hit_die, 6);
    assert_eq!(wizard.spellcasting_ability, Some(Ability::Int));
    assert_eq!(wizard.saving_throws, vec![Ability::Int, Ability::Wis]);
    assert_eq!(wizard.spell_slots.len(), 20);
    assert_eq!(wizard.spell_slots[0], [2, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(wizard.spell_slots[2], [4, 2, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(wizard.spell_slots[4], [4, 3, 2, 0, 0, 0, 0, 0, 0]);
    assert_eq!(wizard.spell_slots[19], [4, 3, 3, 3, 3, 2, 2, 1, 1]);
    assert_eq!(wizard.cantrips_known[0], 3);
    assert_eq!(wizard.cantrips_known[9], 5);

    let fighter = c.class("fighter").unwrap();
    assert_eq!(fighter.spellcasting_ability, None);
    assert_eq!(fighter.spell_slots.len(), 20);
    assert!(fighter.spell_slots.iter().all(|s| *s == [0; 9]));
    assert_eq!(fighter.cantrips_known, vec![0; 20]);

    let warlock = c.class("warlock").unwrap();
    assert_eq!(warlock.spell_slots[0], [1, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(warlock.spell_slots[2], [0, 2, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(warlock.cantrips_known[0], 2);

    let paladin = c.class("paladin").unwrap();
    assert_eq!(paladin.spell_slots[0], [0; 9]);
    assert_eq!(paladin.spell_slots[1], [2, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(paladin.cantrips_known[1], 0);
}

#[test]
fn class_skills_and_saves() {
    let c = catalog();
    let rogue = c.class("rogue").unwrap();
    assert_eq!(rogue.skill_choices.0, 4);
    assert_eq!(rogue.skill_choices.1.len(), 11);
    assert!(rogue.skill_choices.1.contains(&Skill::SleightOfHand));
    let bard = c.class("bard").unwrap();
    assert_eq!(bard.skill_choices, (3, Skill::ALL.to_vec()));
    let monk = c.class("monk").unwrap();
    assert_eq!(monk.skill_choices.0, 2);
    assert_eq!(monk.skill_choices.1.len(), 6);
    for class in c.classes.values() {
        assert_eq!(class.saving_throws.len(), 2, "{}", class.index);
        assert!(class.skill_choices.0 >= 2, "{}", class.index);
        assert_eq!(class.spell_slots.len(), 20, "{}", class.index);
        assert_eq!(class.cantrips_known.len(), 20, "{}", class.index);
    }
}

#[test]
fn starting_equipment_exists() {
    let c = catalog();
    for class in c.classes.values() {
        assert!(!class.starting_weapons.is_empty(), "{}", class.index);
        for w in &class.starting_weapons {
            assert!(c.weapons.contains_key(w), "{}: weapon {w}", class.index);
        }
        if let Some(a) = &class.starting_armor {
            let armor = c
                .armor
                .get(a)
                .unwrap_or_else(|| panic!("{}: armor {a}", class.index));
            assert_ne!(armor.category, ArmorCategory::Shield);
        }
    }
    assert!(c.armor.contains_key("shield"));
    let fighter = c.class("fighter").unwrap();
    assert_eq!(fighter.starting_armor.as_deref(), Some("chain-mail"));
    assert!(fighter.starting_shield);
    assert!(fighter.starting_weapons.contains(&"longsword".to_string()));
    let barbarian = c.class("barbarian").unwrap();
    assert_eq!(barbarian.starting_armor, None);
    assert!(!barbarian.starting_shield);
}

#[test]
fn races_and_conditions() {
    let c = catalog();
    let dwarf = c.race("dwarf").unwrap();
    assert_eq!(dwarf.speed, 25);
    assert_eq!(dwarf.size, "Medium");
    assert_eq!(dwarf.ability_bonuses, vec![(Ability::Con, 2)]);
    let human = c.race("Human").unwrap();
    assert_eq!(human.ability_bonuses.len(), 6);
    assert_eq!(c.race("halfling").unwrap().size, "Small");
    let half_orc = c.race("half-orc").unwrap();
    assert_eq!(
        half_orc.ability_bonuses,
        vec![(Ability::Str, 2), (Ability::Con, 1)]
    );

    let blinded = &c.conditions["blinded"];
    assert_eq!(blinded.name, "Blinded");
    assert!(blinded.desc.contains("can't see"));
    assert_eq!(blinded.desc.lines().count(), 2);
    for condition in [
        "blinded",
        "charmed",
        "deafened",
        "exhaustion",
        "frightened",
        "grappled",
        "incapacitated",
        "invisible",
        "paralyzed",
        "petrified",
        "poisoned",
        "prone",
        "restrained",
        "stunned",
        "unconscious",
    ] {
        assert!(c.conditions.contains_key(condition), "{condition}");
    }
}

#[test]
fn monster_condition_immunities_are_conditions() {
    let c = catalog();
    for m in c.monsters.values() {
        for ci in &m.condition_immunities {
            assert!(c.conditions.contains_key(ci), "{}: {ci}", m.index);
        }
    }
}

#[test]
fn lookups_by_typed_name() {
    let c = catalog();
    assert_eq!(c.monster("goblin").unwrap().index, "goblin");
    assert_eq!(c.monster("  GOBLIN ").unwrap().index, "goblin");
    assert_eq!(c.spell("Fire Bolt").unwrap().index, "fire-bolt");
    assert_eq!(c.spell("fire bolt").unwrap().index, "fire-bolt");
    assert_eq!(c.weapon("Light Crossbow"), None); // SRD index is "crossbow-light"
    assert_eq!(c.weapon("crossbow, light").unwrap().index, "crossbow-light");
    assert_eq!(c.class("Wizard").unwrap().index, "wizard");
    assert_eq!(c.race("Half-Elf").unwrap().index, "half-elf");
    assert_eq!(
        c.armor("Studded Leather Armor").unwrap().index,
        "studded-leather-armor"
    );
    assert!(c.monster("not a monster").is_none());
}

#[test]
fn every_monster_is_sane() {
    for m in catalog().monsters.values() {
        assert!(m.armor_class >= 5, "{}", m.index);
        assert!(m.hit_points >= 1, "{}", m.index);
        assert!(m.proficiency_bonus >= 2, "{}", m.index);
        for a in &m.actions {
            if a.attack_bonus.is_some() && a.reach.is_some() {
                assert!(
                    !a.damage.is_empty() || a.desc.contains("Hit:"),
                    "{} {}",
                    m.index,
                    a.name
                );
            }
        }
    }
}

/// A stat block's spellcaster level is kept (its cantrips scale by it): the mage is a
/// 9th-level spellcaster, the lich 18th; innate spellcasting states none.
#[test]
fn monster_spellcaster_levels_come_from_the_block() {
    let c = catalog();
    let level = |m: &str| {
        c.monsters
            .get(m)
            .and_then(|m| m.spellcasting.as_ref())
            .map(|s| s.level)
    };
    assert_eq!(level("mage"), Some(9));
    assert_eq!(level("lich"), Some(18));
    assert_eq!(level("acolyte"), Some(1));
    assert_eq!(level("djinni"), Some(0), "innate: no level stated");
}
