//! Shared by the character import targets: a started campaign, and what an imported
//! character goes through after import.

use dicebard_engine::character::{CharacterExport, export_character};
use dicebard_engine::command::{Action, Command, MonsterGroup};
use dicebard_engine::data::DamageType;
use dicebard_engine::dice::SeededDice;
use dicebard_engine::event::RestKind;
use dicebard_engine::ids::{PlayerId, Timestamp};
use dicebard_engine::state::{CampaignState, Settings};
use dicebard_engine::{apply, choose_npc_option, decide, npc_options};
use std::sync::{Arc, OnceLock};

pub fn table() -> &'static CampaignState {
    static S: OnceLock<CampaignState> = OnceLock::new();
    S.get_or_init(|| {
        let mut s = CampaignState::new(Arc::new(dicebard_srd::catalog().clone()));
        let cmd = Command::player(
            "gm",
            Action::StartCampaign {
                name: "Fuzz".into(),
                settings: Settings::default(),
            },
        );
        for e in decide(&s, cmd, &mut SeededDice::new(1), Timestamp(0)).unwrap() {
            apply(&mut s, &e);
        }
        s
    })
}

pub fn step(s: &mut CampaignState, cmd: Command, seed: u64) {
    let t = Timestamp(s.clock.0 + 1_000);
    if let Ok(events) = decide(s, cmd, &mut SeededDice::new(seed), t) {
        for e in &events {
            apply(s, e);
        }
    }
    for c in s.creatures.values() {
        assert!(
            c.hp >= 0 && c.hp <= c.effective_max_hp(),
            "{}: {}/{}",
            c.name,
            c.hp,
            c.max_hp
        );
        assert!(c.death_saves.failures <= 3 && c.death_saves.successes <= 3);
    }
}

/// Imports `ex` for "alice"; if accepted, plays rests, spells and a fight with it.
pub fn import_and_play(ex: CharacterExport, seed: u64) {
    let mut s = table().clone();
    let import = Command::player(
        "alice",
        Action::ImportCharacter {
            export: Box::new(ex),
        },
    );
    let Ok(events) = decide(&s, import, &mut SeededDice::new(3), Timestamp(1)) else {
        return;
    };
    for e in &events {
        apply(&mut s, e);
    }
    play(&mut s, seed);
}

fn play(s: &mut CampaignState, seed: u64) {
    let me = s
        .character_of(&PlayerId::new("alice"))
        .expect("imported")
        .clone();
    // Out of combat: rests, damage, healing, spells.
    for action in [
        Action::Rest {
            kind: RestKind::Short,
            hit_dice: 3,
        },
        Action::UseItem {
            item: "potion of healing".into(),
        },
    ] {
        step(s, Command::player("alice", action), seed);
    }
    if let Some(sc) = &me.spellcasting {
        for spell in sc.spells.iter().take(4) {
            step(
                s,
                Command::player(
                    "alice",
                    Action::Cast {
                        spell: spell.clone(),
                        targets: vec![me.name.clone()],
                        slot: None,
                    },
                ),
                seed,
            );
        }
    }
    // A fight: every attack it has, the goblins' turns, down to 0 and death saves.
    step(
        s,
        Command::player(
            "gm",
            Action::StartCombat {
                monsters: vec![MonsterGroup {
                    monster: "goblin".into(),
                    count: 2,
                }],
            },
        ),
        seed,
    );
    for round in 0..6u64 {
        for a in me.attacks.iter().take(4) {
            step(
                s,
                Command::player(
                    "alice",
                    Action::Attack {
                        target: "goblin".into(),
                        weapon: Some(a.name.clone()),
                    },
                ),
                seed + round,
            );
        }
        step(s, Command::player("alice", Action::EndTurn), seed);
        for _ in 0..3 {
            let opts = npc_options(s);
            if opts.is_empty() {
                break;
            }
            let o = choose_npc_option(s, &opts);
            step(s, Command::system(Action::NpcAct {
                option: o,
                intent: None,
            }), seed);
        }
        step(
            s,
            Command::player(
                "gm",
                Action::Damage {
                    target: me.name.clone(),
                    dice: "1d8".into(),
                    damage_type: DamageType::Fire,
                },
            ),
            seed + round,
        );
    }
    if let Some(c) = s.character_of(&PlayerId::new("alice")) {
        let again = export_character(c);
        let _ = serde_json::to_string(&again).expect("exports");
    }
}
