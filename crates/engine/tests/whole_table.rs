//! The whole-table property test (issue #13): random campaigns with random players and
//! GMs, monsters (huge counts, hostile names: unicode, empty, 10 KB), character imports
//! (good and hostile), and random commands from any actor at any time. On every step:
//! no panic, a refused command leaves the state unchanged, the invariants hold, and
//! every event's visibility reaches only who it may. At the end replaying the log
//! (also through JSON) gives the same state.
//!
//! The default run is a few seconds. For a longer one:
//! `WHOLE_TABLE_SEEDS=20 WHOLE_TABLE_STEPS=10000 cargo test -p dicebard-engine --release
//! --test whole_table`.
// Tests may read files; clippy.toml's IO ban is for the engine's own code.
#![allow(clippy::disallowed_methods)]

mod common;

use dicebard_engine::ability::{Abilities, Ability, Advantage, Skill};
use dicebard_engine::character::{AbilityMethod, CharacterSpec, export_character};
use dicebard_engine::command::{Action, Actor, Command, MonsterGroup, NpcOption};
use dicebard_engine::condition::Condition;
use dicebard_engine::creature::Item;
use dicebard_engine::data::{DamagePart, DamageType};
use dicebard_engine::dice::{Dice, SeededDice};
use dicebard_engine::event::{Event, EventKind, RestKind};
use dicebard_engine::ids::{PlayerId, Timestamp};
use dicebard_engine::rules::{MAX_COMBATANTS, MAX_MONSTERS_PER_COMMAND};
use dicebard_engine::state::{CampaignState, NarratorMode, Settings};
use dicebard_engine::{
    Viewer, Visibility, apply, choose_npc_option, decide, next_deadline, npc_options,
    parse_monster_list, replay,
};

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The driver's own randomness (separate from the dice handed to `decide`).
struct Rng(SeededDice);

impl Rng {
    fn n(&mut self, n: u32) -> u32 {
        self.0.roll(n.max(1)) - 1
    }
    fn chance(&mut self, one_in: u32) -> bool {
        self.n(one_in) == 0
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.n(xs.len() as u32) as usize]
    }
    fn u64(&mut self) -> u64 {
        self.0.next_u64()
    }
}

fn hostile_text(r: &mut Rng) -> String {
    match r.n(12) {
        0 => String::new(),
        1 => " ".into(),
        2 => "x".repeat(10_240),
        3 => "ゴブリン王".into(),
        4 => "@everyone <@&123> `code` **bold**".into(),
        5 => "\u{0}\u{7}\n\r\t".into(),
        6 => "é".repeat(3_000),
        7 => "👹".repeat(50),
        8 => "4294967295".into(),
        9 => "-1".into(),
        10 => "goblin 0".into(),
        _ => "the second goblin".into(),
    }
}

const NAMES: [&str; 10] = [
    "goblin", "Goblin 2", "wolf", "owlbear", "Thorin", "Elara", "Mira", "Pip", "skeleton", "nobody",
];
const MONSTERS: [&str; 8] = [
    "goblin",
    "orc",
    "wolf",
    "owlbear",
    "skeleton",
    "adult-red-dragon",
    "bugbear",
    "zombie",
];
const CLASSES: [&str; 13] = [
    "barbarian",
    "bard",
    "cleric",
    "druid",
    "fighter",
    "monk",
    "paladin",
    "ranger",
    "rogue",
    "sorcerer",
    "warlock",
    "wizard",
    "god",
];
const RACES: [&str; 10] = [
    "dwarf",
    "elf",
    "halfling",
    "human",
    "dragonborn",
    "gnome",
    "half-elf",
    "half-orc",
    "tiefling",
    "dragon",
];
const EXPRS: [&str; 16] = [
    "1d20+5",
    "4d6kh3kl1",
    "((10d6kh5)kl2)kh1",
    "(1d20)kh1",
    "1000d10000",
    "1001d6",
    "1d6e1",
    "1d6rr<4rr>3",
    "9223372036854775807 + 1",
    "1/0",
    "(((((((((((((((((((((((((((((((((((((((((((((((((((1)))))))))))))))))))))))))))))))))))))))))))))))))))",
    "adv",
    "1d20 adv dis",
    "",
    "2d6[fire] + 1d8[cold]",
    "d%",
];

fn actor(r: &mut Rng, s: &CampaignState, players: &[PlayerId]) -> Actor {
    // On an NPC's turn, usually let it act (below); otherwise the active player, a
    // random one, the GM, or someone new.
    let active = s
        .active_creature()
        .and_then(|c| c.owner())
        .cloned()
        .filter(|_| r.n(4) > 0);
    match (active, r.n(10)) {
        (Some(p), _) => Actor::Player(p),
        (None, 0) => Actor::System,
        (None, 1) => Actor::Player(PlayerId::new(hostile_text(r))),
        (None, 2..=3) => Actor::Player(PlayerId::new("gm")),
        (None, _) => Actor::Player(r.pick(players).clone()),
    }
}

fn groups(r: &mut Rng, s: &CampaignState) -> Vec<MonsterGroup> {
    if r.chance(3) {
        // Through the shared parser, as a front end would.
        let text = match r.n(6) {
            0 => "3 goblins & 2 wolves".to_string(),
            1 => "4294967295 goblin, 2 goblin".to_string(),
            2 => "an owlbear and two skeletons".to_string(),
            3 => hostile_text(r),
            4 => "20 zombies".to_string(),
            _ => "1 orc".to_string(),
        };
        return parse_monster_list(&text, &s.catalog).unwrap_or_default();
    }
    let n = match r.n(10) {
        0 => 0,
        1 => 100_000,
        _ => 1 + r.n(3),
    };
    (0..n)
        .map(|_| MonsterGroup {
            monster: if r.chance(6) {
                hostile_text(r)
            } else {
                r.pick(&MONSTERS).to_string()
            },
            count: match r.n(12) {
                0 => 0,
                1 => u32::MAX,
                2 => u32::MAX / 2 + 1,
                3 => MAX_MONSTERS_PER_COMMAND + 1,
                _ => 1 + r.n(3),
            },
        })
        .take(if n == 100_000 { 100_000 } else { 5 })
        .collect()
}

fn import(r: &mut Rng, s: &CampaignState) -> Action {
    let pcs: Vec<_> = s.party().collect();
    let Some(base) = pcs.get(r.n(pcs.len() as u32 + 1) as usize) else {
        return Action::Join {
            name: hostile_text(r),
        };
    };
    let mut ex = export_character(base);
    ex.character.name = format!("Copy{}", r.n(1000));
    let c = &mut ex.character;
    match r.n(14) {
        0 => c.immunities = DamageType::ALL.into_iter().collect(),
        1 => c.death_saves.failures = 255,
        2 => c.max_hp = i32::MAX,
        3 => c.hp = -5,
        4 => c.attacks.push(dicebard_engine::creature::Attack {
            name: "Nuke".into(),
            to_hit: 5,
            reach: dicebard_engine::data::Reach::Melee,
            damage: vec![
                DamagePart {
                    dice: "500d10000".into(),
                    damage_type: DamageType::Force,
                };
                5_000
            ],
            save: None,
            usage: None,
            rider: None,
            area: false,
        }),
        5 => {
            c.inventory = vec![
                Item {
                    name: "Rock".into(),
                    quantity: u32::MAX,
                };
                10_000
            ]
        }
        6 => c.name = hostile_text(r),
        7 => {
            if let Some(sc) = c.spellcasting.as_mut() {
                sc.max_slots = [255; 9];
            }
        }
        8 => c.abilities = Abilities::new(i32::MIN, 0, 31, 30, 1, i32::MAX),
        9 => c.hit_dice.remaining = u32::MAX,
        10 => c.exhaustion = 255,
        11 => {
            if let Some(pc) = c.pc.as_mut() {
                pc.attacks_per_action = 255;
            }
        }
        12 => {
            c.resistances.insert(DamageType::Fire);
        }
        _ => {} // a clean copy
    }
    Action::ImportCharacter {
        export: Box::new(ex),
    }
}

fn random_action(r: &mut Rng, s: &CampaignState, players: &[PlayerId]) -> Action {
    let target = if r.chance(8) {
        hostile_text(r)
    } else {
        r.pick(&NAMES).to_string()
    };
    match r.n(42) {
        0..=5 => Action::Attack {
            target,
            weapon: if r.chance(4) {
                Some(r.pick(&["longsword", "my axe", "", "dagger"]).to_string())
            } else {
                None
            },
        },
        6..=8 => {
            let spells: Vec<&String> = s.catalog.spells.keys().collect();
            Action::Cast {
                spell: if r.chance(10) {
                    hostile_text(r)
                } else {
                    r.pick(&spells).to_string()
                },
                targets: (0..r.n(4)).map(|_| r.pick(&NAMES).to_string()).collect(),
                slot: match r.n(6) {
                    0 => Some(0),
                    1 => Some(255),
                    2 => Some(r.n(10) as u8),
                    _ => None,
                },
            }
        }
        9..=10 => Action::EndTurn,
        11 => Action::Dodge,
        12 => Action::UseItem {
            item: r
                .pick(&["potion of healing", "Potion of Healing", "rope", ""])
                .to_string(),
        },
        13 => Action::Rest {
            kind: if r.chance(2) {
                RestKind::Short
            } else {
                RestKind::Long
            },
            hit_dice: *r.pick(&[0, 1, 3, u32::MAX]),
        },
        14 => Action::Damage {
            target,
            dice: r.pick(&EXPRS).to_string(),
            damage_type: *r.pick(&DamageType::ALL),
        },
        15 => Action::SetCondition {
            target,
            condition: *r.pick(&Condition::ALL),
            on: r.chance(2),
        },
        16..=17 => {
            let monsters = groups(r, s);
            if s.in_combat() {
                Action::AddToCombat { monsters }
            } else {
                Action::StartCombat { monsters }
            }
        }
        18 => Action::SetHp {
            target,
            hp: *r.pick(&[i32::MIN, -1, 0, 1, 7, 9_999, 10_000, i32::MAX]),
        },
        19 => Action::Save {
            ability: *r.pick(&Ability::ALL),
            advantage: *r.pick(&[
                Advantage::Normal,
                Advantage::Advantage,
                Advantage::Disadvantage,
            ]),
            dc: *r.pick(&[None, Some(12), Some(i32::MIN), Some(i32::MAX)]),
        },
        20 => Action::Check {
            skill: if r.chance(2) {
                Some(*r.pick(&Skill::ALL))
            } else {
                None
            },
            ability: if r.chance(2) {
                Some(*r.pick(&Ability::ALL))
            } else {
                None
            },
            advantage: Advantage::Normal,
            dc: *r.pick(&[None, Some(15), Some(i32::MAX)]),
        },
        21 => Action::Roll {
            expr: if r.chance(5) {
                hostile_text(r)
            } else {
                r.pick(&EXPRS).to_string()
            },
            secret: r.chance(2),
        },
        22 => Action::Act {
            text: hostile_text(r),
        },
        23 => Action::Whisper {
            to: r.pick(players).clone(),
            text: hostile_text(r),
        },
        24 => Action::GrantGm {
            player: r.pick(players).clone(),
        },
        25 => Action::Join {
            name: hostile_text(r),
        },
        26 => {
            let (class, race) = (*r.pick(&CLASSES), *r.pick(&RACES));
            let mut spec = CharacterSpec::quick(&format!("Hero{}", r.n(50)), class, race);
            spec.level = *r.pick(&[0, 1, 3, 5, 11, 20, 21, 255]);
            if r.chance(4) {
                spec.method = AbilityMethod::Roll;
            }
            if r.chance(8) {
                spec.name = hostile_text(r);
            }
            Action::CreateCharacter { spec }
        }
        27 => import(r, s),
        28 => Action::EndCombat,
        29 => Action::ChangeSettings {
            settings: Settings {
                turn_timeout_ms: *r.pick(&[0, 5_000, 60_000, u64::MAX]),
                turn_warning_ms: *r.pick(&[0, 1_000, u64::MAX]),
                narrator: NarratorMode::Auto,
                reaction_timeout_ms: *r.pick(&[0, 15_000, u64::MAX]),
            },
        },
        30 => Action::NpcAct {
            option: NpcOption::Attack {
                attack: hostile_text(r),
                target,
            },
            intent: Some(hostile_text(r)),
        },
        // Positions, the new actions, reactions, and the new NPC options with hostile
        // names.
        31..=32 => Action::Move {
            to: match r.n(3) {
                0 => dicebard_engine::command::MoveTo::Near,
                1 => dicebard_engine::command::MoveTo::Far,
                _ => dicebard_engine::command::MoveTo::Engage { target },
            },
        },
        33 => r
            .pick(&[Action::Dash, Action::Disengage, Action::Hide])
            .clone(),
        34 => Action::Help { target },
        35 => Action::Ready {
            text: hostile_text(r),
        },
        36..=37 => Action::React { take: r.chance(2) },
        38 => Action::NpcAct {
            option: NpcOption::Multiattack {
                target: target.clone(),
                targets: (0..r.n(12)).map(|_| r.pick(&NAMES).to_string()).collect(),
            },
            intent: None,
        },
        39 => Action::NpcAct {
            option: match r.n(2) {
                0 => NpcOption::Cast {
                    spell: r
                        .pick(&["fireball", "fire-bolt", "shield", "zzz"])
                        .to_string(),
                    targets: vec![target],
                    slot: *r.pick(&[None, Some(0), Some(3), Some(9), Some(255)]),
                },
                _ => NpcOption::Legendary {
                    action: hostile_text(r),
                    target,
                },
            },
            intent: None,
        },
        _ => {
            if r.chance(2) {
                Action::Tick
            } else {
                Action::ResumeClock
            }
        }
    }
}

fn check_visibility(seed: u64, step: usize, e: &Event, players: &[PlayerId]) {
    let vis = &e.visibility;
    assert!(
        vis.allows(&Viewer::Gm),
        "seed {seed} step {step}: GM can't see {e:?}"
    );
    for p in players {
        let v = Viewer::Player(p.clone());
        let want = match vis {
            Visibility::Public | Visibility::Party => true,
            Visibility::Player(x) => x == p,
            Visibility::Gm => false,
        };
        assert_eq!(
            vis.allows(&v),
            want,
            "seed {seed} step {step}: {vis:?} to {p}"
        );
    }
    assert_eq!(
        vis.allows(&Viewer::Observer),
        *vis == Visibility::Public,
        "seed {seed} step {step}: {vis:?} to an observer"
    );
    // What must stay private does.
    match &e.kind {
        EventKind::DiceRolled {
            player,
            secret: true,
            ..
        } => assert_eq!(
            vis,
            &Visibility::Player(player.clone()),
            "secret roll leaked"
        ),
        EventKind::Whispered { to, .. } => {
            assert_eq!(vis, &Visibility::Player(to.clone()), "whisper leaked")
        }
        _ => {}
    }
}

fn check_state(seed: u64, step: usize, s: &CampaignState) {
    let at = format!("seed {seed} step {step}");
    for c in s.creatures.values() {
        assert!(
            c.hp >= 0 && c.hp <= c.effective_max_hp(),
            "{at}: {} has {}/{} HP",
            c.name,
            c.hp,
            c.max_hp
        );
        assert!((1..=100_000).contains(&c.max_hp), "{at}: {} max HP", c.name);
        assert!(
            (0..=100_000).contains(&c.temp_hp),
            "{at}: {} temp HP",
            c.name
        );
        assert!(c.exhaustion <= 6, "{at}: exhaustion");
        assert!(
            c.death_saves.successes <= 3 && c.death_saves.failures <= 3,
            "{at}"
        );
        assert!(c.hit_dice.remaining <= c.hit_dice.total, "{at}: hit dice");
        assert!(c.name.chars().count() <= 64, "{at}: a long name got in");
        assert!(c.inventory.len() <= 200, "{at}: inventory");
        if let Some(sc) = &c.spellcasting {
            for l in 0..9 {
                assert!(sc.used_slots[l] <= sc.max_slots[l], "{at}: slots");
            }
        }
        if c.is_pc() {
            let pc = c.pc.as_ref().unwrap();
            assert!((1..=20).contains(&pc.level), "{at}: level");
            assert!((1..=4).contains(&pc.attacks_per_action), "{at}: attacks");
            assert!(c.immunities.len() <= 1, "{at}: {} immunities", c.name);
        }
    }
    if let Some(cb) = &s.combat {
        assert!(cb.active < cb.order.len(), "{at}: active index");
        assert!(
            cb.order.len() <= MAX_COMBATANTS,
            "{at}: too many combatants"
        );
        for e in &cb.order {
            assert!(
                s.creatures.contains_key(&e.creature),
                "{at}: ghost combatant"
            );
        }
    }
    for p in s.players.values() {
        if let Some(id) = p.character {
            assert!(s.creatures.contains_key(&id), "{at}: ghost character");
        }
    }
}

fn campaign(seed: u64, steps: usize) {
    let mut r = Rng(SeededDice::new(seed ^ 0x5eed_7ab1e));
    let mut s = common::new_state();
    let mut log: Vec<Event> = Vec::new();
    let mut now = 0u64;
    let mut players: Vec<PlayerId> = ["alice", "bob", "carol", "dave", "eve"]
        .into_iter()
        .map(PlayerId::new)
        .collect();
    players.push(PlayerId::new("gm"));
    players.push(PlayerId::new("discord:18446744073709551615"));
    players.push(PlayerId::new("ゴブリン"));
    let mut setup = vec![Command::player(
        "gm",
        Action::StartCampaign {
            name: "Whole table".into(),
            settings: Settings {
                turn_timeout_ms: 10_000,
                turn_warning_ms: 3_000,
                ..Settings::default()
            },
        },
    )];
    for (p, (n, class, race, level)) in players.iter().zip([
        ("Thorin", "fighter", "dwarf", 11u8),
        ("Elara", "wizard", "elf", 5),
        ("Mira", "cleric", "human", 3),
        ("Pip", "rogue", "halfling", 1),
        ("Hex", "warlock", "tiefling", 5),
    ]) {
        let mut spec = CharacterSpec::quick(n, class, race);
        spec.level = level;
        setup.push(Command {
            by: Actor::Player(p.clone()),
            action: Action::CreateCharacter { spec },
        });
    }
    let (mut ok, mut refused) = (0usize, 0usize);
    for i in 0..steps + setup.len() {
        let cmd = if i < setup.len() {
            setup[i].clone()
        } else if s.in_combat() && !npc_options(&s).is_empty() && r.n(3) > 0 {
            let opts = npc_options(&s);
            let o = if r.chance(2) {
                choose_npc_option(&s, &opts)
            } else {
                r.pick(&opts).clone()
            };
            Command::system(Action::NpcAct {
                option: o,
                intent: None,
            })
        } else if i > steps * 9 / 10 && r.chance(1_000) {
            // Rarely, near the end, the end.
            Command::player("gm", Action::EndCampaign)
        } else {
            let by = actor(&mut r, &s, &players);
            Command {
                by,
                action: random_action(&mut r, &s, &players),
            }
        };
        // Time: usually forward, sometimes to the next deadline, sometimes backwards.
        now = match r.n(20) {
            0 => now.saturating_sub(5_000),
            1 => next_deadline(&s).map_or(now, |t| t.0.max(now)),
            2 => now.saturating_add(u64::from(u32::MAX)),
            _ => now + u64::from(r.n(5_000)),
        };
        let before = s.clone();
        let mut dice = SeededDice::new(r.u64());
        match decide(&s, cmd.clone(), &mut dice, Timestamp(now)) {
            Ok(events) => {
                ok += 1;
                for e in &events {
                    check_visibility(seed, i, e, &players);
                    apply(&mut s, e);
                }
                log.extend(events);
            }
            Err(e) => {
                refused += 1;
                assert!(s == before, "seed {seed} step {i}: a refusal changed state");
                let m = e.to_string();
                assert!(
                    !m.is_empty() && m.chars().count() <= 2_000,
                    "seed {seed} step {i}: refusal message of {} chars: {}…",
                    m.chars().count(),
                    m.chars().take(80).collect::<String>()
                );
            }
        }
        check_state(seed, i, &s);
        if std::env::var("WT_DEBUG").is_ok() && s.ended != before.ended {
            eprintln!("seed {seed} step {i}: ended by {cmd:?}");
        }
    }
    assert!(
        ok > steps / 20 && refused > 0,
        "seed {seed}: {ok} ok, {refused} refused"
    );
    if std::env::var("WT_DEBUG").is_ok() {
        eprintln!(
            "seed {seed}: {ok} accepted, {refused} refused, {} events, {} creatures",
            log.len(),
            s.creatures.len()
        );
    }
    let json = serde_json::to_string(&log).unwrap();
    let back: Vec<Event> = serde_json::from_str(&json).unwrap();
    assert!(
        back == log,
        "seed {seed}: the log does not round-trip through JSON"
    );
    assert!(
        replay(common::catalog(), &back) == s,
        "seed {seed}: replay differs from the state"
    );
}

#[test]
fn whole_table_never_panics_and_keeps_its_invariants() {
    let seeds = env_num("WHOLE_TABLE_SEEDS", 3);
    let steps = env_num("WHOLE_TABLE_STEPS", 1_000) as usize;
    for seed in 0..seeds {
        campaign(seed, steps);
    }
}
