//! Issue #13 holes on the engine side: each test fails without its fix.
// Tests may read files; clippy.toml's IO ban is for the engine's own code.
#![allow(clippy::disallowed_methods)]

mod common;

use dicebard_engine::character::{CharacterExport, CharacterSpec, export_character};
use dicebard_engine::command::{Action, Command, MonsterGroup};
use dicebard_engine::condition::Condition;
use dicebard_engine::creature::Item;
use dicebard_engine::data::{DamagePart, DamageType};
use dicebard_engine::dice::ScriptedDice;
use dicebard_engine::event::{EventKind, RestKind};
use dicebard_engine::ids::{PlayerId, Timestamp};
use dicebard_engine::state::{CampaignState, Settings};
use dicebard_engine::{RuleError, apply, decide, parse_monster_list};

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
            assert!(*state == before, "a refused command changed the state");
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

fn g(m: &str, count: u32) -> MonsterGroup {
    MonsterGroup {
        monster: m.into(),
        count,
    }
}

/// Hole 1: "4294967295 goblin, 2 goblin" wrapped the u32 sum past the 20-monster cap
/// (panicked in debug, allocated 4 billion creatures in release).
#[test]
fn monster_counts_cannot_wrap_past_the_cap() {
    let s0 = campaign();
    for groups in [
        vec![g("goblin", u32::MAX), g("goblin", 2)],
        vec![g("goblin", u32::MAX), g("goblin", 1)],
        vec![g("goblin", u32::MAX / 2 + 1), g("goblin", u32::MAX / 2 + 1)],
        vec![g("goblin", 21)],
        vec![g("goblin", 0); 100_000],
    ] {
        let mut s = s0.clone();
        let err = run(&mut s, "gm", Action::StartCombat { monsters: groups }, &[]).unwrap_err();
        assert_eq!(err.to_string(), "At most 20 monsters at once.");
    }
    // And in a running fight.
    let mut s = s0.clone();
    run(
        &mut s,
        "gm",
        Action::StartCombat {
            monsters: vec![g("goblin", 1)],
        },
        &[],
    )
    .unwrap();
    let err = run(
        &mut s,
        "gm",
        Action::AddToCombat {
            monsters: vec![g("goblin", u32::MAX), g("goblin", 2)],
        },
        &[],
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "At most 20 monsters at once.");
}

/// Hole 1: the shared parser refuses huge counts instead of wrapping, and its output
/// starts a fight.
#[test]
fn the_shared_monster_list_parser_feeds_combat() {
    let s0 = campaign();
    let cat = common::catalog();
    let err = parse_monster_list("4294967295 goblin, 2 goblin", &cat).unwrap_err();
    assert_eq!(err.to_string(), "At most 20 monsters at once.");
    let groups = parse_monster_list("3 goblins & 2 wolves, an owlbear", &cat).unwrap();
    assert_eq!(groups, vec![g("goblin", 3), g("wolf", 2), g("owlbear", 1)]);
    let mut s = s0.clone();
    run(&mut s, "gm", Action::StartCombat { monsters: groups }, &[]).unwrap();
    assert_eq!(s.monsters().count(), 6);
    assert_eq!(
        parse_monster_list("2 swarms of rats, erinyes, 2 giant wolf spiders", &cat).unwrap(),
        vec![
            g("swarm-of-rats", 2),
            g("erinyes", 1),
            g("giant-wolf-spider", 2)
        ]
    );
    assert!(matches!(
        parse_monster_list("2 tarrasques of doom", &cat),
        Err(RuleError::UnknownTarget { .. })
    ));
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

fn create(s: &mut CampaignState, who: &str, name: &str, class: &str, race: &str, level: u8) {
    let mut spec = CharacterSpec::quick(name, class, race);
    spec.level = level;
    run(s, who, Action::CreateCharacter { spec }, &[]).unwrap();
}

fn export_of(s: &CampaignState, who: &str, name: &str) -> CharacterExport {
    let mut ex = export_character(s.character_of(&PlayerId::new(who)).unwrap());
    ex.character.name = name.into();
    ex
}

/// Hole 7: an imported sheet is checked against the rules and the catalog, and every
/// refusal names the field.
#[test]
fn imports_are_checked_against_the_rules() {
    let mut s0 = campaign();
    create(&mut s0, "bob", "Elara", "wizard", "elf", 1);
    create(&mut s0, "carol", "Kai", "monk", "human", 10);
    let fighter = export_of(&s0, "alice", "Vex");
    let wizard = export_of(&s0, "bob", "Mage");
    let monk = export_of(&s0, "carol", "Ren");
    type Edit = Box<dyn Fn(&mut CharacterExport)>;
    let cases: Vec<(&CharacterExport, &str, Edit)> = vec![
        (
            &fighter,
            "immunities: a level 1 Dwarf Fighter is not immune to acid",
            Box::new(|e| e.character.immunities = DamageType::ALL.into_iter().collect()),
        ),
        (
            &fighter,
            "resistances: a Dwarf Fighter has no fire resistance",
            Box::new(|e| {
                e.character.resistances.insert(DamageType::Fire);
            }),
        ),
        (
            &fighter,
            "condition_immunities: a level 1 Dwarf Fighter is not immune to being stunned",
            Box::new(|e| {
                e.character.condition_immunities.insert(Condition::Stunned);
            }),
        ),
        (
            &fighter,
            "attacks.damage.dice: \"100000\" can deal more than 100",
            Box::new(|e| e.character.attacks[0].damage[0].dice = "100000".into()),
        ),
        (
            &fighter,
            "attacks.damage.dice: \"500d10000\" rolls more than 20 dice",
            Box::new(|e| e.character.attacks[0].damage[0].dice = "500d10000".into()),
        ),
        (
            &fighter,
            "attacks.damage: Longsword has more than 4 damage parts",
            Box::new(|e| {
                let part = e.character.attacks[0].damage[0].clone();
                e.character.attacks[0].damage = vec![
                    DamagePart {
                        dice: "500d10000".into(),
                        ..part
                    };
                    5_000
                ];
            }),
        ),
        (
            &fighter,
            "inventory: more than 100 items",
            Box::new(|e| {
                e.character.inventory = vec![
                    Item {
                        name: "Rock".into(),
                        quantity: 1
                    };
                    100_000
                ]
            }),
        ),
        (
            &fighter,
            "inventory.quantity: Rock must be between 1 and 9999",
            Box::new(|e| {
                e.character.inventory.push(Item {
                    name: "Rock".into(),
                    quantity: u32::MAX,
                })
            }),
        ),
        (
            &fighter,
            "inventory.name: longer than 64 characters",
            Box::new(|e| {
                e.character.inventory.push(Item {
                    name: "x".repeat(10_000),
                    quantity: 1,
                })
            }),
        ),
        (
            &fighter,
            "attacks.name: longer than 64 characters",
            Box::new(|e| e.character.attacks[0].name = "ö".repeat(10_000)),
        ),
        (
            &fighter,
            "death_saves: at most 3 successes and 3 failures",
            Box::new(|e| {
                e.character.hp = 0;
                e.character.death_saves.failures = 255;
            }),
        ),
        (
            &fighter,
            "Hit points are out of range: max_hp must be between 1 and",
            Box::new(|e| {
                e.character.max_hp = 999;
                e.character.hp = 999;
            }),
        ),
        (
            &fighter,
            "Hit dice are out of range (a level 1 Fighter has 1d10)",
            Box::new(|e| e.character.hit_dice.die = 12),
        ),
        (
            &fighter,
            "class: not an SRD class",
            Box::new(|e| e.character.pc.as_mut().unwrap().class = "god".into()),
        ),
        (
            &fighter,
            "race: not an SRD race",
            Box::new(|e| e.character.pc.as_mut().unwrap().race = "x".repeat(100_000)),
        ),
        (
            &fighter,
            "spellcasting: a Fighter casts no spells",
            Box::new(|e| e.character.spellcasting = wizard_sc()),
        ),
        (
            &wizard,
            "spellcasting.max_slots: a level 1 Wizard has 0 level 2 slots, not 1",
            Box::new(|e| e.character.spellcasting.as_mut().unwrap().max_slots[1] = 1),
        ),
        (
            &wizard,
            "spellcasting.spells: a level 1 Wizard can't cast level 9 spells like Wish",
            Box::new(|e| {
                e.character
                    .spellcasting
                    .as_mut()
                    .unwrap()
                    .spells
                    .push("wish".into())
            }),
        ),
        (
            &wizard,
            "spellcasting.spells: Cure Wounds is not on the Wizard spell list",
            Box::new(|e| {
                e.character
                    .spellcasting
                    .as_mut()
                    .unwrap()
                    .spells
                    .push("cure-wounds".into())
            }),
        ),
        (
            &monk,
            "immunities: a level 10 Human Monk is not immune to fire",
            Box::new(|e| {
                e.character.immunities.insert(DamageType::Fire);
            }),
        ),
    ];
    for (base, want, edit) in cases {
        let mut s = s0.clone();
        let mut ex = base.clone();
        edit(&mut ex);
        let err = import(&mut s, "dave", ex).expect_err(want).to_string();
        assert!(err.contains(want), "{err:?} should contain {want:?}");
    }
    // What the race and class do grant imports: dwarven poison resistance, a level-10
    // monk's poison immunity, and each export as it is.
    let mut ex = fighter.clone();
    ex.character.resistances.insert(DamageType::Poison);
    import(&mut s0.clone(), "dave", ex).unwrap();
    let mut ex = monk.clone();
    ex.character.immunities.insert(DamageType::Poison);
    ex.character
        .condition_immunities
        .insert(Condition::Poisoned);
    import(&mut s0.clone(), "dave", ex).unwrap();
    for ex in [fighter, wizard, monk] {
        import(&mut s0.clone(), "dave", ex).unwrap();
    }
}

fn wizard_sc() -> Option<dicebard_engine::creature::Spellcasting> {
    Some(dicebard_engine::creature::Spellcasting {
        ability: dicebard_engine::ability::Ability::Int,
        max_slots: [2, 0, 0, 0, 0, 0, 0, 0, 0],
        used_slots: [0; 9],
        spells: vec!["fire-bolt".into()],
        caster_level: 0,
    })
}

/// Hole 12: an imported `death_saves.failures = 255` overflowed the death-save
/// arithmetic. Refused on import; and the arithmetic saturates anyway.
#[test]
fn dying_character_with_bad_death_saves_is_refused_and_saturates() {
    let mut s = campaign();
    let mut ex = export_of(&s, "alice", "Vex");
    ex.character.hp = 0;
    for failures in [255, 4, 3] {
        ex.character.death_saves.failures = failures;
        let err = import(&mut s, "bob", ex.clone()).unwrap_err().to_string();
        assert!(err.starts_with("Import refused — death_saves:"), "{err}");
    }
    ex.character.death_saves.failures = 2;
    import(&mut s, "bob", ex).unwrap();
    // Two failures, then damage while dying: a third failure kills.
    let ev = run(
        &mut s,
        "gm",
        Action::Damage {
            target: "Vex".into(),
            dice: "1".into(),
            damage_type: DamageType::Fire,
        },
        &[],
    )
    .unwrap();
    assert!(ev.iter().any(|e| matches!(e, EventKind::Died { .. })));
}

/// Hole 12: `/rest short` at full hit points spent a hit die for nothing.
#[test]
fn short_rest_at_full_hp_spends_no_hit_die() {
    let mut s = campaign();
    let before = s.character_of(&PlayerId::new("alice")).unwrap().hit_dice;
    let err = run(
        &mut s,
        "alice",
        Action::Rest {
            kind: RestKind::Short,
            hit_dice: 1,
        },
        &[],
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Thorin is already at full hit points — no hit dice spent."
    );
    assert_eq!(
        s.character_of(&PlayerId::new("alice")).unwrap().hit_dice,
        before
    );
    // Hurt by 3, with 3 hit dice asked for: one die (d10 = 8, +2 Con) heals it all, so
    // only one is spent.
    let mut s = campaign();
    create(&mut s, "alice", "Thorin", "fighter", "dwarf", 3);
    run(
        &mut s,
        "gm",
        Action::Damage {
            target: "Thorin".into(),
            dice: "3".into(),
            damage_type: DamageType::Fire,
        },
        &[],
    )
    .unwrap();
    let ev = run(
        &mut s,
        "alice",
        Action::Rest {
            kind: RestKind::Short,
            hit_dice: 3,
        },
        &[8, 8, 8],
    )
    .unwrap();
    assert!(
        ev.iter().any(|e| matches!(
            e,
            EventKind::Rested {
                hit_dice_spent: 1,
                hp_regained: 3,
                ..
            }
        )),
        "{ev:?}"
    );
    let c = s.character_of(&PlayerId::new("alice")).unwrap();
    assert_eq!((c.hp, c.hit_dice.remaining), (c.max_hp, 2));
}

/// Hole 12: `attack goblin 0` and huge ordinals are refused, never overflow.
#[test]
fn odd_targets_are_refused_cleanly() {
    let mut s = campaign();
    run(
        &mut s,
        "gm",
        Action::StartCombat {
            monsters: vec![g("goblin", 2)],
        },
        &[],
    )
    .unwrap();
    for t in [
        "goblin 0",
        "goblin 18446744073709551616",
        "goblin -1",
        "",
        "\u{0}",
        &"ゴブリン".repeat(3_000),
    ] {
        let _ = run(
            &mut s,
            "alice",
            Action::Attack {
                target: t.into(),
                weapon: None,
            },
            &[],
        );
        let _ = run(
            &mut s,
            "gm",
            Action::SetHp {
                target: t.into(),
                hp: i32::MAX,
            },
            &[],
        );
    }
}

/// Refusals repeat user text bounded: a 10 KB name makes a short message (the whole
/// table test found a 10 KB monster name echoed back in full).
#[test]
fn refusals_echo_user_text_bounded() {
    let mut s = campaign();
    let long = "é".repeat(10_000);
    let actions = [
        Action::Attack {
            target: long.clone(),
            weapon: None,
        },
        Action::Attack {
            target: "Thorin".into(),
            weapon: Some(long.clone()),
        },
        Action::Cast {
            spell: long.clone(),
            targets: vec![],
            slot: None,
        },
        Action::UseItem { item: long.clone() },
        Action::StartCombat {
            monsters: vec![g(&long, 1)],
        },
        Action::SetHp {
            target: long.clone(),
            hp: 1,
        },
        Action::Whisper {
            to: PlayerId::new(long.clone()),
            text: "hi".into(),
        },
    ];
    for a in actions {
        let who = if matches!(
            a,
            Action::Attack { .. } | Action::Cast { .. } | Action::UseItem { .. }
        ) {
            "alice"
        } else {
            "gm"
        };
        let m = run(&mut s, who, a.clone(), &[]).unwrap_err().to_string();
        let head: String = m.chars().take(80).collect();
        assert!(
            m.chars().count() < 200,
            "{} chars: {head}…",
            m.chars().count()
        );
    }
    let m = parse_monster_list(&format!("2 {}", "x".repeat(400)), &common::catalog())
        .unwrap_err()
        .to_string();
    assert!(m.chars().count() < 200, "{m}");
}

/// Hole 12: the slain monsters of earlier fights are forgotten when the next fight
/// starts (a long campaign used to carry every goblin it ever slew in its state and in
/// every snapshot), while numbering carries on.
#[test]
fn slain_monsters_are_forgotten_by_the_next_fight() {
    let mut s = campaign();
    for fight in 0..30u32 {
        run(
            &mut s,
            "gm",
            Action::StartCombat {
                monsters: vec![g("goblin", 2)],
            },
            &[],
        )
        .unwrap();
        // The GM drops both goblins, then ends the fight.
        let names: Vec<String> = s
            .creatures
            .values()
            .filter(|c| !c.is_pc() && !c.dead)
            .map(|c| c.name.clone())
            .collect();
        assert_eq!(
            names,
            vec![
                format!("Goblin {}", 2 * fight + 1),
                format!("Goblin {}", 2 * fight + 2)
            ],
            "numbering carries on"
        );
        for n in names {
            run(
                &mut s,
                "gm",
                Action::Damage {
                    target: n,
                    dice: "100".into(),
                    damage_type: DamageType::Fire,
                },
                &[],
            )
            .unwrap();
        }
        if s.combat.is_some() {
            run(&mut s, "gm", Action::EndCombat, &[]).unwrap();
        }
    }
    // Alice's fighter and the last fight's two goblins; not sixty.
    assert!(s.creatures.len() <= 3, "{} creatures", s.creatures.len());
}
