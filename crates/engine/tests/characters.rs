//! Character export / import: the round trip, expertise, and rejected files.
// Tests may read files; clippy.toml's IO ban is for the engine's own code.
#![allow(clippy::disallowed_methods)]

mod common;

use dicebard_engine::ability::{Proficiency, Skill};
use dicebard_engine::character::{CharacterExport, CharacterSpec, export_character};
use dicebard_engine::command::{Action, Command};
use dicebard_engine::creature::Effect;
use dicebard_engine::dice::ScriptedDice;
use dicebard_engine::event::{CheckKind, EventKind};
use dicebard_engine::ids::{CreatureId, PlayerId, Timestamp};
use dicebard_engine::state::{CampaignState, Settings};
use dicebard_engine::{RuleError, apply, decide};

fn run(
    state: &mut CampaignState,
    who: &str,
    action: Action,
    dice: &[u32],
) -> Result<Vec<EventKind>, RuleError> {
    let mut d = ScriptedDice::new(dice.iter().copied()).with_fallback(10);
    let before = state.clone();
    let cmd = if who == "system" {
        Command::system(action)
    } else {
        Command::player(who, action)
    };
    match decide(state, cmd, &mut d, Timestamp(state.clock.0 + 1000)) {
        Ok(events) => {
            for e in &events {
                apply(state, e);
            }
            Ok(events.into_iter().map(|e| e.kind).collect())
        }
        Err(e) => {
            assert!(*state == before);
            Err(e)
        }
    }
}

fn campaign() -> CampaignState {
    let mut s = common::new_state();
    run(
        &mut s,
        "gm",
        Action::StartCampaign {
            name: "T".into(),
            settings: Settings::default(),
        },
        &[],
    )
    .unwrap();
    run(
        &mut s,
        "alice",
        Action::CreateCharacter {
            spec: CharacterSpec::quick("Thorin", "fighter", "dwarf"),
        },
        &[],
    )
    .unwrap();
    s
}

fn import(
    state: &mut CampaignState,
    who: &str,
    ex: CharacterExport,
) -> Result<Vec<EventKind>, RuleError> {
    run(
        state,
        who,
        Action::ImportCharacter {
            export: Box::new(ex),
        },
        &[],
    )
}

#[test]
fn export_import_round_trip_through_json() {
    let mut s = campaign();
    let thorin = s.character_of(&PlayerId::new("alice")).unwrap().clone();
    let ex = export_character(&thorin);
    assert_eq!(ex.schema, "dicebard.character");
    assert_eq!(ex.version, 1);
    assert_eq!(ex.character.id, CreatureId(0));
    let json = serde_json::to_string_pretty(&ex).unwrap();
    let back: CharacterExport = serde_json::from_str(&json).unwrap();
    assert_eq!(back, ex);
    // Bob imports a copy under another name.
    let mut copy = back.clone();
    copy.character.name = "Thorin II".into();
    let events = import(&mut s, "bob", copy).unwrap();
    let EventKind::CharacterCreated { creature } = events.last().unwrap() else {
        panic!("{events:?}")
    };
    let mut expect = thorin.clone();
    expect.id = creature.id;
    expect.name = "Thorin II".into();
    expect.controller = creature.controller.clone();
    assert_eq!(
        **creature, expect,
        "everything but id, name and owner survives the trip"
    );
    assert_eq!(creature.owner().map(|p| p.as_str()), Some("bob"));
    // The same name as another player's character is refused.
    let err = import(&mut s, "carol", back).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Someone already plays a character called Thorin."
    );
}

#[test]
fn imported_expertise_doubles_proficiency() {
    let mut s = campaign();
    let mut ex = export_character(s.character_of(&PlayerId::new("alice")).unwrap());
    ex.character.name = "Vex".into();
    ex.character
        .skill_proficiencies
        .insert(Skill::Stealth, Proficiency::Expertise);
    import(&mut s, "bob", ex).unwrap();
    // DEX 13 (+1), proficiency +2, expertise: +1 + 4 = +5.
    let events = run(
        &mut s,
        "bob",
        Action::Check {
            skill: Some(Skill::Stealth),
            ability: None,
            advantage: Default::default(),
            dc: Some(15),
        },
        &[10],
    )
    .unwrap();
    let EventKind::CheckRolled {
        check,
        modifier,
        total,
        success,
        ..
    } = &events[0]
    else {
        panic!()
    };
    assert_eq!(
        (*check, *modifier, *total, *success),
        (CheckKind::Skill(Skill::Stealth), 5, 15, Some(true))
    );
}

#[test]
fn import_drops_links_to_the_old_campaign() {
    let mut s = campaign();
    let mut c = s.character_of(&PlayerId::new("alice")).unwrap().clone();
    // As if exported while blessed by creature #2 of another campaign.
    c.effects.insert(Effect::Blessed { by: CreatureId(2) });
    c.concentration = Some("bless".into());
    c.conditions.insert(
        dicebard_engine::condition::Condition::Prone,
        Some(CreatureId(7)),
    );
    let mut ex = CharacterExport {
        schema: "dicebard.character".into(),
        version: 1,
        character: c,
    };
    ex.character.name = "Vex".into();
    import(&mut s, "bob", ex).unwrap();
    let vex = s.character_of(&PlayerId::new("bob")).unwrap();
    assert!(vex.effects.is_empty() && vex.concentration.is_none());
    assert_eq!(
        vex.conditions
            .get(&dicebard_engine::condition::Condition::Prone),
        Some(&None)
    );
}

#[test]
fn rejected_imports() {
    let s0 = campaign();
    let good = {
        let mut ex = export_character(s0.character_of(&PlayerId::new("alice")).unwrap());
        ex.character.name = "Vex".into();
        ex
    };
    type Edit = Box<dyn Fn(&mut CharacterExport)>;
    let cases: Vec<(&str, Edit)> = vec![
        (
            "That is not a dicebard character",
            Box::new(|e| e.schema = "other".into()),
        ),
        (
            "version 2; this dicebard reads version 1",
            Box::new(|e| e.version = 2),
        ),
        (
            "Strength must be between 1 and 30.",
            Box::new(|e| e.character.abilities.str = 31),
        ),
        (
            "Level must be between 1 and 20.",
            Box::new(|e| e.character.pc.as_mut().unwrap().level = 21),
        ),
        (
            "That file holds a monster",
            Box::new(|e| e.character.pc = None),
        ),
        (
            "Hit points are out of range",
            Box::new(|e| e.character.hp = e.character.max_hp + 1),
        ),
        (
            "Hit points are out of range",
            Box::new(|e| e.character.max_hp = 5000),
        ),
        (
            "Hit points are out of range",
            Box::new(|e| e.character.temp_hp = -1),
        ),
        ("out of range", Box::new(|e| e.character.armor_class = 99)),
        (
            "to-hit bonus is out of range",
            Box::new(|e| e.character.attacks[0].to_hit = 99),
        ),
        (
            "Character names can't contain",
            Box::new(|e| e.character.name = "@here".into()),
        ),
        (
            "Your character needs a name.",
            Box::new(|e| e.character.name = " ".into()),
        ),
        (
            "Import refused — pc.attacks_per_action: a level 1 Fighter makes 1 to 1 attacks per action.",
            Box::new(|e| e.character.pc.as_mut().unwrap().attacks_per_action = 200),
        ),
        (
            "Exhaustion must be between 0 and 5.",
            Box::new(|e| e.character.exhaustion = 6),
        ),
        (
            "Hit dice are out of range",
            Box::new(|e| e.character.hit_dice.total = 9),
        ),
        (
            "Hit dice are out of range",
            Box::new(|e| e.character.hit_dice.die = 0),
        ),
        (
            "Save or skill bonuses are out of range.",
            Box::new(|e| {
                e.character
                    .save_bonus_overrides
                    .insert(dicebard_engine::ability::Ability::Str, 99);
            }),
        ),
        (
            "",
            Box::new(|e| e.character.attacks[0].damage[0].dice = "1d".into()),
        ),
    ];
    for (want, f) in cases {
        let mut s = s0.clone();
        let mut ex = good.clone();
        f(&mut ex);
        let err = import(&mut s, "bob", ex).expect_err(want).to_string();
        assert!(err.contains(want), "{err:?} should contain {want:?}");
    }
    // Spell slots of a caster.
    let mut s = s0.clone();
    run(
        &mut s,
        "bob",
        Action::CreateCharacter {
            spec: CharacterSpec::quick("Elara", "wizard", "elf"),
        },
        &[],
    )
    .unwrap();
    let mut ex = export_character(s.character_of(&PlayerId::new("bob")).unwrap());
    ex.character.name = "Mage".into();
    ex.character.spellcasting.as_mut().unwrap().max_slots = [9; 9];
    let err = import(&mut s, "carol", ex).unwrap_err().to_string();
    assert_eq!(
        err,
        "Import refused — spellcasting.max_slots: a level 1 Wizard has 2 level 1 slots, not 9."
    );
    // And the good one imports.
    let mut s = s0.clone();
    import(&mut s, "bob", good).unwrap();
}

#[test]
fn import_in_combat_is_refused() {
    let mut s = campaign();
    run(
        &mut s,
        "gm",
        Action::StartCombat {
            monsters: vec![dicebard_engine::MonsterGroup {
                monster: "goblin".into(),
                count: 1,
            }],
        },
        &[],
    )
    .unwrap();
    let mut ex = export_character(s.character_of(&PlayerId::new("alice")).unwrap());
    ex.character.name = "Vex".into();
    let err = import(&mut s, "bob", ex).unwrap_err();
    assert_eq!(
        err.to_string(),
        "You can't make a new character in the middle of a fight."
    );
}

/// The class feature and racial trait coverage report: every SRD class and race (and
/// subrace) has its features listed, each automated or narrative with a note saying how
/// or why, and the counts are printed (CI shows them).
#[test]
fn feature_coverage_report() {
    use dicebard_engine::features::{
        CLASS_FEATURES, RACIAL_TRAITS, SUBRACES, coverage_lines, coverage_report,
    };
    let cat = common::catalog();
    let report = coverage_report();
    println!("{report}");
    for l in coverage_lines() {
        println!("  {l}");
    }
    for class in cat.classes.keys() {
        let n = CLASS_FEATURES.iter().filter(|f| f.owner == class).count();
        assert!(n >= 5, "{class} lists only {n} features");
        assert!(
            CLASS_FEATURES
                .iter()
                .any(|f| f.owner == class && f.level == 1),
            "{class} has no level 1 feature"
        );
    }
    for race in cat.races.keys() {
        assert!(
            RACIAL_TRAITS.iter().any(|f| f.owner == race),
            "{race} lists no traits"
        );
    }
    for s in SUBRACES {
        assert!(
            cat.races.contains_key(s.race),
            "{} is not an SRD race",
            s.race
        );
        assert!(
            RACIAL_TRAITS.iter().any(|f| f.owner == s.index),
            "{} lists no traits",
            s.index
        );
    }
    let mut seen = std::collections::BTreeSet::new();
    for f in CLASS_FEATURES.iter().chain(RACIAL_TRAITS) {
        assert!(
            cat.classes.contains_key(f.owner)
                || cat.races.contains_key(f.owner)
                || SUBRACES.iter().any(|s| s.index == f.owner),
            "{} is neither a class nor a race",
            f.owner
        );
        assert!((1..=20).contains(&f.level), "{} level {}", f.name, f.level);
        assert!(
            !f.note.trim().is_empty(),
            "{} {} has no note",
            f.owner,
            f.name
        );
        assert!(
            seen.insert((f.owner, f.level, f.name)),
            "{} {} is listed twice",
            f.owner,
            f.name
        );
    }
    assert!(report.contains("total: "), "{report}");
}

/// A wizard with a subrace, a spellbook, prepared spells, a level gained and a feature
/// use survives export and import; an export from before these fields (no spellbook,
/// subrace, uses or may_prepare in the JSON) still imports.
#[test]
fn spellbook_subrace_and_uses_survive_export_and_old_exports_import() {
    let mut s = campaign();
    let mut spec = CharacterSpec::quick("Elara", "wizard", "elf");
    spec.level = 4;
    spec.subrace = Some("high elf".into());
    run(&mut s, "bob", Action::CreateCharacter { spec }, &[]).unwrap();
    run(
        &mut s,
        "bob",
        Action::LevelUp {
            asi: vec![],
            spells: vec!["wish".into()],
            expertise: vec![],
            fighting_style: None,
            options: vec![],
        },
        &[],
    )
    .unwrap_err();
    run(
        &mut s,
        "bob",
        Action::LevelUp {
            asi: vec![],
            spells: vec!["fireball".into()],
            expertise: vec![],
            fighting_style: None,
            options: vec![],
        },
        &[],
    )
    .unwrap();
    let elara = s.character_of(&PlayerId::new("bob")).unwrap().clone();
    let pc = elara.pc.as_ref().unwrap();
    assert_eq!(pc.level, 5);
    assert_eq!(pc.subrace.as_deref(), Some("high-elf"));
    assert!(pc.spellbook.iter().any(|x| x == "fireball"), "{pc:?}");
    let mut ex = export_character(&elara);
    ex.character.name = "Elara II".into();
    let json = serde_json::to_value(&ex).unwrap();
    let back: CharacterExport = serde_json::from_value(json.clone()).unwrap();
    let events = import(&mut s, "carol", back).unwrap();
    let EventKind::CharacterCreated { creature } = events.last().unwrap() else {
        panic!("{events:?}")
    };
    assert_eq!(creature.pc.as_ref().unwrap().spellbook, pc.spellbook);
    // The same file as an older dicebard wrote it.
    let mut old = json;
    let pcj = old["character"]["pc"].as_object_mut().unwrap();
    for k in ["spellbook", "subrace", "uses", "may_prepare"] {
        pcj.remove(k);
    }
    old["character"]["name"] = "Elara III".into();
    let old: CharacterExport = serde_json::from_value(old).unwrap();
    import(&mut s, "dave", old).unwrap();
    // A forged spellbook is refused.
    let mut forged = export_character(&elara);
    forged.character.name = "Elara IV".into();
    forged
        .character
        .pc
        .as_mut()
        .unwrap()
        .spellbook
        .push("wish".into());
    let err = import(&mut s, "erin", forged).unwrap_err();
    assert!(err.to_string().contains("pc.spellbook"), "{err}");
}

/// Every class option's spell at will and prerequisite spell is an SRD spell, and
/// every option belongs to a class of the catalog.
#[test]
fn class_options_name_srd_spells_and_classes() {
    let cat = common::catalog();
    for o in dicebard_engine::class_options::CLASS_OPTIONS {
        assert!(
            cat.class(o.class).is_some(),
            "{}: class {}",
            o.index,
            o.class
        );
        if let Some(s) = o.at_will {
            assert!(cat.spell(s).is_some(), "{}: at-will spell {s}", o.index);
        }
        if let Some(r) = o.requires
            && !r.starts_with("pact-of-the-")
        {
            assert!(cat.spell(r).is_some(), "{}: prerequisite {r}", o.index);
        }
    }
}

/// A warlock's invocations and pact boon survive export (Thirsting Blade's second
/// attack too); forged options are refused on import.
#[test]
fn class_options_survive_export_and_forged_ones_are_refused() {
    let mut s = campaign();
    let mut spec = CharacterSpec::quick("Vex", "warlock", "tiefling");
    spec.level = 5;
    spec.spells = vec!["eldritch-blast".into()];
    spec.options = vec![
        "pact of the blade".into(),
        "thirsting blade".into(),
        "agonizing blast".into(),
    ];
    run(&mut s, "bob", Action::CreateCharacter { spec }, &[]).unwrap();
    let vex = s.character_of(&PlayerId::new("bob")).unwrap().clone();
    let pc = vex.pc.as_ref().unwrap();
    assert_eq!(pc.attacks_per_action, 2);
    let mut ex = export_character(&vex);
    ex.character.name = "Vex II".into();
    let events = import(&mut s, "carol", ex).unwrap();
    let EventKind::CharacterCreated { creature } = events.last().unwrap() else {
        panic!("{events:?}")
    };
    assert_eq!(creature.pc.as_ref().unwrap().options, pc.options);
    for forged in [
        vec!["devils-sight", "witch-sight", "agonizing-blast"],
        vec!["quickened-spell"],
        vec!["lifedrinker"],
    ] {
        let mut ex = export_character(&vex);
        ex.character.name = "Vex III".into();
        ex.character.pc.as_mut().unwrap().options = forged.iter().map(|s| s.to_string()).collect();
        let err = import(&mut s, "dave", ex).unwrap_err();
        assert!(err.to_string().contains("pc.options"), "{forged:?}: {err}");
    }
}

/// A druid exported in a beast's shape is imported in its own form, and the kept form
/// is checked like any sheet (a forged one is refused).
#[test]
fn a_wild_shaped_druid_imports_in_its_own_form() {
    let mut s = campaign();
    let mut spec = CharacterSpec::quick("Dru", "druid", "human");
    spec.level = 2;
    run(&mut s, "bob", Action::CreateCharacter { spec }, &[]).unwrap();
    run(
        &mut s,
        "bob",
        Action::UseFeature {
            feature: "wild shape".into(),
            target: Some("wolf".into()),
            amount: None,
        },
        &[],
    )
    .unwrap();
    let dru = s.character_of(&PlayerId::new("bob")).unwrap().clone();
    assert_eq!(dru.max_hp, 11, "a wolf");
    let mut ex = export_character(&dru);
    ex.character.name = "Dru II".into();
    let events = import(&mut s, "carol", ex).unwrap();
    let EventKind::CharacterCreated { creature } = events.last().unwrap() else {
        panic!("{events:?}")
    };
    assert!(creature.pc.as_ref().unwrap().wild_shape.is_none());
    assert_eq!(creature.max_hp, 17);
    let mut forged = export_character(&dru);
    forged.character.name = "Dru III".into();
    forged
        .character
        .pc
        .as_mut()
        .unwrap()
        .wild_shape
        .as_mut()
        .unwrap()
        .max_hp = 500;
    let err = import(&mut s, "dave", forged).unwrap_err();
    assert!(
        err.to_string().contains("hit points") || err.to_string().contains("max_hp"),
        "{err}"
    );
}
