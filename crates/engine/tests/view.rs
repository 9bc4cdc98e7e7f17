//! The viewer-safe read models (`dicebard_engine::view`): a player never sees a
//! monster's hit points or stat block, a GM does; the scene knows who asks.
#![allow(clippy::disallowed_methods)]

mod common;

use dicebard_engine::state::CampaignState;
use dicebard_engine::view::*;
use dicebard_engine::{PlayerId, Viewer};

use dicebard_engine::character::CharacterSpec;
use dicebard_engine::command::{Action, Actor, Command, MonsterGroup};
use dicebard_engine::dice::SeededDice;
use dicebard_engine::ids::Timestamp;

fn run(state: &mut CampaignState, by: &PlayerId, action: Action, seed: u64) {
    let mut dice = SeededDice::new(seed);
    let cmd = Command {
        by: Actor::Player(by.clone()),
        action,
    };
    let events = dicebard_engine::decide(state, cmd.clone(), &mut dice, Timestamp(1_000))
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    for e in &events {
        dicebard_engine::apply(state, e);
    }
}

/// A table: GM "gm", player "ana" with Thorin, in a fight with two goblins.
fn fight() -> (CampaignState, PlayerId, PlayerId) {
    let mut s = common::new_state();
    let gm = PlayerId::new("gm");
    let ana = PlayerId::new("ana");
    run(
        &mut s,
        &gm,
        Action::StartCampaign {
            name: "t".into(),
            settings: Default::default(),
        },
        1,
    );
    run(&mut s, &ana, Action::Join { name: "Ana".into() }, 2);
    run(
        &mut s,
        &ana,
        Action::CreateCharacter {
            spec: CharacterSpec::quick("Thorin", "fighter", "dwarf"),
        },
        3,
    );
    run(
        &mut s,
        &gm,
        Action::StartCombat {
            monsters: vec![MonsterGroup {
                monster: "goblin".into(),
                count: 2,
            }],
        },
        4,
    );
    (s, gm, ana)
}

#[test]
fn a_player_never_sees_a_monsters_hp_the_gm_does() {
    let (s, gm, ana) = fight();
    assert_eq!(viewer_of(&s, &gm), Viewer::Gm);
    assert_eq!(viewer_of(&s, &ana), Viewer::Player(ana.clone()));
    for viewer in [Viewer::Player(ana.clone()), Viewer::Observer] {
        let init = initiative(&s, &viewer).expect("in combat");
        assert_eq!(init.rows.len(), 3);
        for r in &init.rows {
            assert_eq!(r.hp.is_some(), r.pc, "{viewer:?} {r:?}");
        }
        let sc = scene(&s, &viewer);
        assert_eq!(sc.monsters.len(), 2);
        assert!(sc.monsters.iter().all(|m| m.hp.is_none()));
        assert!(
            sc.combat
                .unwrap()
                .rows
                .iter()
                .all(|r| r.pc || r.hp.is_none())
        );
        // A monster's sheet is the GM's.
        let goblin = sc.monsters[0].id;
        assert_eq!(sheet(&s, &viewer, goblin), None);
        // Nothing of the hidden numbers leaks through serialisation either.
        let json = serde_json::to_string(&scene(&s, &viewer)).unwrap();
        assert!(!json.contains("\"max_hp\":7"), "{json}");
    }
    let init = initiative(&s, &Viewer::Gm).unwrap();
    assert!(init.rows.iter().all(|r| r.hp.is_some()));
    let sc = scene(&s, &Viewer::Gm);
    assert!(sc.gm);
    assert!(sc.monsters.iter().all(|m| m.hp.is_some()));
    let goblin = sc.monsters[0].id;
    assert!(sheet(&s, &Viewer::Gm, goblin).is_some());
}

#[test]
fn the_scene_knows_who_is_asking() {
    let (s, _gm, ana) = fight();
    let thorin = s.character_of(&ana).unwrap().id;
    let sc = scene(&s, &Viewer::Player(ana.clone()));
    assert_eq!(sc.you, Some(thorin));
    assert!(!sc.gm);
    assert_eq!(sc.party.len(), 1);
    assert_eq!(sc.party[0].name, "Thorin");
    assert_eq!(scene(&s, &Viewer::Observer).you, None);
    assert_eq!(
        scene(&s, &Viewer::Player(PlayerId::new("nobody"))).you,
        None
    );
    // One row is active, and it is the turn's creature.
    let init = sc.combat.unwrap();
    let active: Vec<_> = init.rows.iter().filter(|r| r.active).collect();
    assert_eq!(active.len(), 1);
    assert_eq!(Some(active[0].id), init.turn.map(|t| t.id));
}

#[test]
fn a_player_characters_sheet_is_the_tables() {
    let (s, _gm, ana) = fight();
    let mine = sheet_of(&s, &Viewer::Player(ana.clone()), &ana).unwrap();
    assert_eq!(mine.class_name(), "Fighter");
    assert_eq!(mine.race_name(), "Dwarf");
    assert_eq!(mine.player.as_ref(), Some(&ana));
    assert_eq!(mine.abilities.len(), 6);
    assert!(!mine.attacks.is_empty());
    // Another player and an onlooker see the same sheet.
    assert_eq!(
        sheet_of(&s, &Viewer::Player(PlayerId::new("bo")), &ana),
        Some(mine.clone())
    );
    assert_eq!(sheet_of(&s, &Viewer::Observer, &ana), Some(mine));
    assert_eq!(
        sheet_of(&s, &Viewer::Observer, &PlayerId::new("nobody")),
        None
    );
    assert!(initiative(&CampaignState::new(s.catalog.clone()), &Viewer::Gm).is_none());
}

#[test]
fn a_gm_who_plays_sees_as_the_gm_and_has_a_character() {
    let (mut s, gm, _ana) = fight();
    let sc = scene_of(&s, &gm);
    assert!(sc.gm);
    assert_eq!(sc.you, None, "the GM has no character yet");
    assert!(sc.monsters.iter().all(|m| m.hp.is_some()));
    // Out of the fight, then the GM makes one.
    run(&mut s, &gm, dicebard_engine::Action::EndCombat, 5);
    run(
        &mut s,
        &gm,
        dicebard_engine::Action::CreateCharacter {
            spec: dicebard_engine::character::CharacterSpec::quick("Mira", "wizard", "elf"),
        },
        6,
    );
    let sc = scene_of(&s, &gm);
    assert!(sc.gm);
    assert_eq!(sc.you, s.character_of(&gm).map(|c| c.id));
    assert!(sc.you.is_some());
}

/// A table with GM "gm" and player "ana" playing `spec` (no fight).
fn table_with(spec: CharacterSpec) -> (CampaignState, PlayerId) {
    let mut s = common::new_state();
    let gm = PlayerId::new("gm");
    let ana = PlayerId::new("ana");
    run(
        &mut s,
        &gm,
        Action::StartCampaign {
            name: "t".into(),
            settings: Default::default(),
        },
        1,
    );
    run(&mut s, &ana, Action::Join { name: "Ana".into() }, 2);
    run(&mut s, &ana, Action::CreateCharacter { spec }, 3);
    (s, ana)
}

fn my_id(s: &CampaignState, p: &PlayerId) -> dicebard_engine::ids::CreatureId {
    s.players[p].character.expect("a character")
}

#[test]
fn the_sheet_shows_wild_shape_over_the_druids_own_hit_points() {
    let mut spec = CharacterSpec::quick("Mira", "druid", "human");
    spec.level = 2;
    let (mut s, ana) = table_with(spec);
    let id = my_id(&s, &ana);
    let own = s.creature(id).unwrap().max_hp;
    let before = sheet_of(&s, &Viewer::Observer, &ana).unwrap().class_state;
    assert_eq!(before.wild_shape, None);
    assert_eq!(before.resources_line().as_deref(), Some("Wild Shape 2/2"));
    let wolf = common::catalog().monster("wolf").cloned().expect("wolf");
    {
        let c = s.creatures.get_mut(&id).unwrap();
        dicebard_engine::features::wild_shape(c, Some(&wolf));
        c.hp -= 2;
        c.pc.as_mut().unwrap().uses.insert("wild-shape".into(), 1);
    }
    let beast = wolf.hit_points;
    let want = format!(
        "Wild Shape: Wolf {}/{} HP (druid {own}/{own})",
        beast - 2,
        beast
    );
    let cs = sheet_of(&s, &Viewer::Observer, &ana).unwrap().class_state;
    assert_eq!(cs.wild_shape_line().as_deref(), Some(want.as_str()));
    assert_eq!(cs.lines()[0], want);
    assert_eq!(cs.resources_line().as_deref(), Some("Wild Shape 1/2"));
    // The scene's party (the web card, the terminal status) carries the same state.
    let sc = scene(&s, &Viewer::Observer);
    assert_eq!(sc.party[0].class_state, cs);
}

#[test]
fn the_sheet_shows_a_held_inspiration_die_options_and_points() {
    let mut spec = CharacterSpec::quick("Vex", "sorcerer", "human");
    spec.level = 3;
    spec.options = vec!["quickened".into(), "twinned".into()];
    let (mut s, ana) = table_with(spec);
    let id = my_id(&s, &ana);
    {
        let pc = s.creatures.get_mut(&id).unwrap().pc.as_mut().unwrap();
        pc.inspiration = Some(8);
        pc.uses.insert("sorcery-points".into(), 1);
    }
    let cs = sheet_of(&s, &Viewer::Player(ana.clone()), &ana)
        .unwrap()
        .class_state;
    assert_eq!(cs.inspiration_line().as_deref(), Some("Inspired: d8"));
    assert_eq!(
        cs.options_line().as_deref(),
        Some("Options: Quickened Spell, Twinned Spell")
    );
    assert_eq!(cs.resources_line().as_deref(), Some("Sorcery points 2/3"));
    assert_eq!(
        cs.lines(),
        vec![
            "Inspired: d8".to_string(),
            "Sorcery points 2/3".to_string(),
            "Options: Quickened Spell, Twinned Spell".to_string(),
        ]
    );
}

/// A held inspiration die names its giver on every sheet ("Inspired: d6 from Lira"),
/// from the `inspired` event itself (apply keeps the bard's name); a rest takes both.
#[test]
fn a_held_inspiration_die_names_the_bard_who_gave_it() {
    let (mut s, ana) = table_with(CharacterSpec::quick("Thorin", "fighter", "dwarf"));
    let lira = PlayerId::new("lira");
    run(
        &mut s,
        &lira,
        Action::Join {
            name: "Lira".into(),
        },
        4,
    );
    run(
        &mut s,
        &lira,
        Action::CreateCharacter {
            spec: CharacterSpec::quick("Lira", "bard", "human"),
        },
        5,
    );
    run(
        &mut s,
        &lira,
        Action::UseFeature {
            feature: "bardic inspiration".into(),
            target: Some("Thorin".into()),
            amount: None,
        },
        6,
    );
    let cs = sheet_of(&s, &Viewer::Player(ana.clone()), &ana)
        .unwrap()
        .class_state;
    assert_eq!(cs.inspired_by.as_deref(), Some("Lira"));
    assert_eq!(
        cs.inspiration_line().as_deref(),
        Some("Inspired: d6 from Lira")
    );
    // The scene's party (web card and GM page, terminal status, TV) shows the same.
    let sc = scene(&s, &Viewer::Observer);
    let thorin = sc.party.iter().find(|c| c.name == "Thorin").unwrap();
    assert!(
        thorin
            .class_state
            .lines()
            .contains(&"Inspired: d6 from Lira".to_string()),
        "{:?}",
        thorin.class_state
    );
    // A state from before the giver was kept (no `inspired_by`) still loads and shows
    // the die alone.
    let id = my_id(&s, &ana);
    let mut json = serde_json::to_value(s.creature(id).unwrap()).unwrap();
    json["pc"].as_object_mut().unwrap().remove("inspired_by");
    let old: dicebard_engine::creature::Creature = serde_json::from_value(json).unwrap();
    assert_eq!(old.pc.as_ref().unwrap().inspiration, Some(6));
    assert_eq!(
        ClassState::of(&old).inspiration_line().as_deref(),
        Some("Inspired: d6")
    );
    // A rest takes the die and its giver.
    run(
        &mut s,
        &PlayerId::new("gm"),
        Action::Rest {
            kind: dicebard_engine::event::RestKind::Short,
            hit_dice: 0,
        },
        7,
    );
    let pc = s.creature(id).unwrap().pc.clone().unwrap();
    assert_eq!((pc.inspiration, pc.inspired_by), (None, None));
}

/// Sorcerous Restoration (sorcerer 20th): a short rest gives 4 sorcery points back;
/// Archdruid (druid 20th): Wild Shape without limit.
#[test]
fn sorcerous_restoration_and_archdruid_show_on_the_sheet() {
    let mut spec = CharacterSpec::quick("Vex", "sorcerer", "human");
    spec.level = 20;
    let (mut s, ana) = table_with(spec);
    let id = my_id(&s, &ana);
    s.creatures
        .get_mut(&id)
        .unwrap()
        .pc
        .as_mut()
        .unwrap()
        .uses
        .insert("sorcery-points".into(), 10);
    run(
        &mut s,
        &PlayerId::new("gm"),
        Action::Rest {
            kind: dicebard_engine::event::RestKind::Short,
            hit_dice: 0,
        },
        7,
    );
    let cs = sheet_of(&s, &Viewer::Observer, &ana).unwrap().class_state;
    assert_eq!(cs.resources_line().as_deref(), Some("Sorcery points 14/20"));

    let mut spec = CharacterSpec::quick("Mira", "druid", "human");
    spec.level = 20;
    let (s, ana) = table_with(spec);
    let cs = sheet_of(&s, &Viewer::Observer, &ana).unwrap().class_state;
    assert!(
        cs.resources_line()
            .is_some_and(|l| l.contains("Wild Shape unlimited")),
        "{cs:?}"
    );
}

#[test]
fn a_monster_or_a_plain_character_has_no_class_state_lines() {
    let (s, gm, _ana) = fight();
    let goblin = s.monsters().next().unwrap().id;
    let cs = sheet(&s, &viewer_of(&s, &gm), goblin).unwrap().class_state;
    assert!(cs.is_empty() && cs.lines().is_empty(), "{cs:?}");
    // A level-1 fighter: only Second Wind.
    let ana = PlayerId::new("ana");
    let cs = sheet_of(&s, &Viewer::Observer, &ana).unwrap().class_state;
    assert_eq!(cs.lines(), vec!["Second Wind 1/1".to_string()]);
}

/// Conjured creatures are listed in the fight with the caster they fight for, and are
/// left out once they vanish (every front end reads this list).
#[test]
fn conjured_creatures_show_their_caster_and_vanish_from_the_list() {
    let mut spec = CharacterSpec::quick("Dru", "druid", "human");
    spec.level = 5;
    spec.spells = vec!["conjure-animals".into()];
    let (mut s, ana) = table_with(spec);
    let gm = PlayerId::new("gm");
    let bo = PlayerId::new("bo");
    run(&mut s, &bo, Action::Join { name: "Bo".into() }, 4);
    run(
        &mut s,
        &bo,
        Action::CreateCharacter {
            spec: CharacterSpec::quick("Thorin", "fighter", "dwarf"),
        },
        5,
    );
    // Out of a fight: the wolves stand in the scene and join the next fight.
    run(
        &mut s,
        &ana,
        Action::Cast {
            spell: "conjure-animals".into(),
            targets: vec!["wolf".into()],
            slot: None,
        },
        6,
    );
    run(
        &mut s,
        &gm,
        Action::StartCombat {
            monsters: vec![MonsterGroup {
                monster: "ogre".into(),
                count: 1,
            }],
        },
        7,
    );
    let init = initiative(&s, &Viewer::Gm).expect("a fight");
    let wolves: Vec<&InitiativeRow> = init
        .rows
        .iter()
        .filter(|r| r.name.starts_with("Wolf"))
        .collect();
    assert_eq!(wolves.len(), 8, "{:?}", init.rows);
    assert!(
        wolves
            .iter()
            .all(|r| r.ally_of.as_deref() == Some("Dru") && !r.pc)
    );
    assert!(
        init.rows
            .iter()
            .filter(|r| !r.name.starts_with("Wolf"))
            .all(|r| r.ally_of.is_none())
    );
    // Dru drops: her concentration ends and the wolves vanish from the list.
    run(
        &mut s,
        &gm,
        Action::Damage {
            target: "Dru".into(),
            dice: "100".into(),
            damage_type: dicebard_engine::data::DamageType::Bludgeoning,
        },
        8,
    );
    let init = initiative(&s, &Viewer::Gm).expect("the fight goes on: Thorin stands");
    assert!(
        init.rows.iter().all(|r| !r.name.starts_with("Wolf")),
        "{:?}",
        init.rows
    );
    assert_eq!(init.rows.len(), 3);
}
