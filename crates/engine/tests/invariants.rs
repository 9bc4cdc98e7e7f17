//! Random campaigns with seeded dice: whatever players, the GM and the clock send, the
//! engine never panics, a refused command changes nothing, and replaying the log (also
//! from JSON) rebuilds the state exactly.
// Tests may read files; clippy.toml's IO ban is for the engine's own code.
#![allow(clippy::disallowed_methods)]

mod common;

use dicebard_engine::character::CharacterSpec;
use dicebard_engine::command::{Action, Command, MonsterGroup, NpcOption};
use dicebard_engine::condition::Condition;
use dicebard_engine::data::DamageType;
use dicebard_engine::dice::{Dice, SeededDice};
use dicebard_engine::event::{Event, RestKind};
use dicebard_engine::ids::Timestamp;
use dicebard_engine::state::{CampaignState, Settings};
use dicebard_engine::{apply, choose_npc_option, decide, next_deadline, npc_options, replay};

const PLAYERS: [&str; 4] = ["alice", "bob", "carol", "dave"];
const TARGETS: [&str; 10] = [
    "goblin", "Goblin 2", "orc", "owlbear", "Thorin", "Elara", "Mira", "Pip", "skeleton", "nobody",
];
const SPELLS: [&str; 16] = [
    "hold-person",
    "sleep",
    "faerie-fire",
    "spirit-guardians",
    "guiding-bolt",
    "hunters-mark",
    "fire-bolt",
    "magic-missile",
    "shield",
    "burning-hands",
    "cure-wounds",
    "healing-word",
    "bless",
    "sacred-flame",
    "fireball",
    "wish",
];

fn pick<'a, T>(d: &mut SeededDice, xs: &'a [T]) -> &'a T {
    &xs[d.roll(xs.len() as u32) as usize - 1]
}

fn random_command(d: &mut SeededDice, s: &CampaignState) -> Command {
    let p = pick(d, &PLAYERS).to_string();
    // On a monster's turn, mostly let it act.
    if s.in_combat() && !npc_options(s).is_empty() && d.roll(3) > 1 {
        let opts = npc_options(s);
        let o = if d.roll(2) == 1 {
            choose_npc_option(s, &opts)
        } else {
            pick(d, &opts).clone()
        };
        return Command::system(Action::NpcAct {
            option: o,
            intent: None,
        });
    }
    // Most of the time the active player acts.
    let active = s
        .active_creature()
        .and_then(|c| c.owner())
        .map(|p| p.to_string());
    let p = match active {
        Some(a) if d.roll(4) > 1 => a,
        _ => p,
    };
    let target = pick(d, &TARGETS).to_string();
    let action = match d.roll(20) {
        1..=5 => Action::Attack {
            target,
            weapon: None,
        },
        6..=8 => Action::Cast {
            spell: pick(d, &SPELLS).to_string(),
            targets: if d.roll(2) == 1 { vec![] } else { vec![target] },
            slot: if d.roll(4) == 1 {
                Some(d.roll(4) as u8)
            } else {
                None
            },
        },
        9..=10 => Action::EndTurn,
        11 => Action::Dodge,
        12 => Action::UseItem {
            item: "potion of healing".into(),
        },
        13 => return Command::system(Action::Tick),
        14 => Action::Rest {
            kind: if d.roll(2) == 1 {
                RestKind::Short
            } else {
                RestKind::Long
            },
            hit_dice: d.roll(3),
        },
        15 => {
            return Command::player(
                "gm",
                Action::Damage {
                    target,
                    dice: "2d6".into(),
                    damage_type: DamageType::Fire,
                },
            );
        }
        16 => {
            let c = *pick(d, &Condition::ALL);
            return Command::player(
                "gm",
                Action::SetCondition {
                    target,
                    condition: c,
                    on: d.roll(2) == 1,
                },
            );
        }
        17 => {
            let monsters = vec![MonsterGroup {
                monster: pick(
                    d,
                    &[
                        "goblin",
                        "orc",
                        "owlbear",
                        "skeleton",
                        // Riders, recharge, save-only actions, legendary actions.
                        "wolf",
                        "ghoul",
                        "giant-spider",
                        "red-dragon-wyrmling",
                        "young-green-dragon",
                        "adult-white-dragon",
                    ],
                )
                .to_string(),
                count: d.roll(3),
            }];
            return Command::player(
                "gm",
                if s.in_combat() {
                    Action::AddToCombat { monsters }
                } else {
                    Action::StartCombat { monsters }
                },
            );
        }
        18 => {
            return Command::player(
                "gm",
                Action::SetHp {
                    target,
                    hp: d.roll(20) as i32 - 1,
                },
            );
        }
        19 => Action::Save {
            ability: dicebard_engine::ability::Ability::Dex,
            advantage: Default::default(),
            dc: Some(12),
        },
        _ => {
            return Command::system(if d.roll(2) == 1 {
                Action::ResumeClock
            } else {
                Action::NpcAct {
                    option: NpcOption::Pass,
                    intent: None,
                }
            });
        }
    };
    Command::player(p, action)
}

fn campaign(seed: u64, steps: usize) {
    let mut d = SeededDice::new(seed);
    let mut s = common::new_state();
    let mut log: Vec<Event> = Vec::new();
    let mut now = 0u64;
    let mut setup = vec![Command::player(
        "gm",
        Action::StartCampaign {
            name: "Fuzz".into(),
            settings: Settings {
                turn_timeout_ms: 10_000,
                turn_warning_ms: 3_000,
                ..Settings::default()
            },
        },
    )];
    for (p, (n, class, race, level)) in PLAYERS.iter().zip([
        ("Thorin", "fighter", "dwarf", 5u8),
        ("Elara", "wizard", "elf", 5),
        ("Mira", "cleric", "human", 3),
        ("Pip", "rogue", "halfling", 1),
    ]) {
        let mut spec = CharacterSpec::quick(n, class, race);
        spec.level = level;
        setup.push(Command::player(*p, Action::CreateCharacter { spec }));
    }
    let (mut ok, mut refused) = (0, 0);
    for i in 0..steps + setup.len() {
        let cmd = if i < setup.len() {
            setup[i].clone()
        } else {
            random_command(&mut d, &s)
        };
        now += d.roll(5_000) as u64;
        if d.roll(10) == 1
            && let Some(t) = next_deadline(&s)
        {
            now = now.max(t.0);
        }
        let before = s.clone();
        let mut dice = SeededDice::new(d.next_u64());
        match decide(&s, cmd.clone(), &mut dice, Timestamp(now)) {
            Ok(events) => {
                ok += 1;
                for e in &events {
                    let back: Event =
                        serde_json::from_str(&serde_json::to_string(e).unwrap()).unwrap();
                    assert_eq!(&back, e);
                    apply(&mut s, e);
                }
                log.extend(events);
            }
            Err(_) => {
                refused += 1;
                assert!(
                    s == before,
                    "seed {seed} step {i}: a refusal changed the state ({cmd:?})"
                );
            }
        }
        // Structural sanity.
        for c in s.creatures.values() {
            assert!(
                c.hp >= 0 && c.hp <= c.max_hp,
                "seed {seed} step {i}: {} has {} HP",
                c.name,
                c.hp
            );
            assert!(c.temp_hp >= 0 && c.exhaustion <= 6);
            assert!(c.death_saves.successes <= 3 && c.death_saves.failures <= 3);
        }
        if let Some(cb) = &s.combat {
            assert!(
                cb.active < cb.order.len(),
                "seed {seed} step {i}: active index out of range"
            );
            // Liveness: a fight always waits on something that ends by itself — a
            // clock (a player's turn, a reaction window) or a monster's choice (its turn,
            // a legendary pause, an opportunity attack). Otherwise it stalls until a GM
            // steps in.
            assert!(
                next_deadline(&s).is_some() || !npc_options(&s).is_empty(),
                "seed {seed} step {i}: the fight waits on nothing after {cmd:?}: active {:?}, \
                 reaction {:?}, opportunity {:?}, legendary {:?}, deadline {:?}",
                cb.active_creature()
                    .and_then(|a| s.creature(a))
                    .map(|c| &c.name),
                cb.reaction,
                cb.opportunity,
                cb.legendary,
                cb.deadline
            );
        }
    }
    assert!(
        ok > steps / 10 && refused > 0,
        "seed {seed}: {ok} accepted, {refused} refused"
    );
    assert!(
        replay(common::catalog(), &log) == s,
        "seed {seed}: replay differs"
    );
}

#[test]
fn random_campaigns_keep_the_invariants() {
    for seed in 0..40 {
        campaign(seed, 400);
    }
}
