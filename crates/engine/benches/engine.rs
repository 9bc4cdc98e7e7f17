//! Engine benchmarks:
//! * `combat_round`: decide + apply for every command of one round of a 4 PC vs
//!   6 monster fight (players attack, monsters act via `choose_npc_option`), seeded dice;
//!   throughput is in commands, so the time per element is the cost of one action.
//! * `replay_10k`: rebuilding a state from a 10,000-event campaign log (events/s).
//!
//! Run: `cargo bench -p dicebard-engine --bench engine` (add `-- --quick` for a rough run).

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use dicebard_engine::character::CharacterSpec;
use dicebard_engine::command::{Action, Command, MonsterGroup};
use dicebard_engine::data::Catalog;
use dicebard_engine::dice::SeededDice;
use dicebard_engine::event::{Event, RestKind};
use dicebard_engine::ids::Timestamp;
use dicebard_engine::state::{CampaignState, Settings};
use dicebard_engine::{apply, choose_npc_option, decide, npc_options, replay};
use std::hint::black_box;
use std::sync::Arc;

fn catalog() -> Arc<Catalog> {
    Arc::new(dicebard_srd::catalog().clone())
}

const PARTY: [(&str, &str, &str, &str); 4] = [
    ("alice", "Thorin", "fighter", "dwarf"),
    ("bob", "Elara", "wizard", "elf"),
    ("carol", "Mira", "cleric", "human"),
    ("dave", "Pip", "rogue", "halfling"),
];

/// Runs a command, applying its events; returns them (empty when refused).
fn exec(s: &mut CampaignState, cmd: Command, dice: &mut SeededDice, now: &mut u64) -> Vec<Event> {
    *now += 1_000;
    match decide(s, cmd, dice, Timestamp(*now)) {
        Ok(events) => {
            for e in &events {
                apply(s, e);
            }
            events
        }
        Err(_) => Vec::new(),
    }
}

fn party_state(dice: &mut SeededDice, now: &mut u64) -> (CampaignState, Vec<Event>) {
    let mut s = CampaignState::new(catalog());
    let mut log = Vec::new();
    log.extend(exec(
        &mut s,
        Command::player(
            "gm",
            Action::StartCampaign {
                name: "Bench".into(),
                settings: Settings::default(),
            },
        ),
        dice,
        now,
    ));
    for (p, n, class, race) in PARTY {
        let mut spec = CharacterSpec::quick(n, class, race);
        spec.level = 5;
        log.extend(exec(
            &mut s,
            Command::player(p, Action::CreateCharacter { spec }),
            dice,
            now,
        ));
    }
    (s, log)
}

fn start_fight(s: &mut CampaignState, dice: &mut SeededDice, now: &mut u64) -> Vec<Event> {
    let monsters = vec![
        MonsterGroup {
            monster: "goblin".into(),
            count: 3,
        },
        MonsterGroup {
            monster: "orc".into(),
            count: 3,
        },
    ];
    exec(
        s,
        Command::player("gm", Action::StartCombat { monsters }),
        dice,
        now,
    )
}

/// The next command of the fight: a monster acts by the built-in policy; a character
/// attacks the first standing monster in reach (Extra Attack: twice), then ends the
/// turn; a Shield window is taken.
fn next_command(s: &CampaignState) -> Command {
    let opts = npc_options(s);
    if !opts.is_empty() {
        return Command::system(Action::NpcAct {
            option: choose_npc_option(s, &opts),
            intent: None,
        });
    }
    // A reaction window (Shield): the reactor's player takes it.
    if let Some(w) = s.combat.as_ref().and_then(|c| c.reaction.as_ref()) {
        let owner = s
            .creature(w.reactor)
            .and_then(|c| c.owner())
            .expect("a player character reacts")
            .to_string();
        return Command::player(owner, Action::React { take: true });
    }
    let me = s.active_creature().expect("someone's turn");
    let owner = me.owner().expect("a player character").to_string();
    let c = s.combat.as_ref().unwrap();
    let per = me.pc.as_ref().map_or(1, |p| p.attacks_per_action);
    if me.can_act()
        && (!c.budget.action_used || (c.budget.attacks_made > 0 && c.budget.attacks_made < per))
        && let Some(t) = s.combatants().find(|m| {
            !m.is_pc()
                && !m.is_down()
                && dicebard_engine::rules::position::can_reach(s, me.id, m.id)
        })
    {
        return Command::player(
            owner,
            Action::Attack {
                target: t.name.clone(),
                weapon: None,
            },
        );
    }
    Command::player(owner, Action::EndTurn)
}

/// One full round from the first turn; returns the number of commands.
fn play_round(
    s: &mut CampaignState,
    dice: &mut SeededDice,
    now: &mut u64,
    log: &mut Vec<Event>,
) -> u64 {
    let round = s.combat.as_ref().map_or(0, |c| c.round);
    let mut n = 0;
    while s.combat.as_ref().is_some_and(|c| c.round == round) {
        let cmd = next_command(s);
        log.extend(exec(s, cmd, dice, now));
        n += 1;
        assert!(n < 1_000, "the round does not end");
    }
    n
}

fn bench_combat_round(c: &mut Criterion) {
    let mut dice = SeededDice::new(7);
    let mut now = 0;
    let (mut start, _) = party_state(&mut dice, &mut now);
    start_fight(&mut start, &mut dice, &mut now);
    // Count the commands of the measured round once (it is deterministic).
    let commands = {
        let mut s = start.clone();
        let (mut d, mut t, mut log) = (SeededDice::new(42), now, Vec::new());
        play_round(&mut s, &mut d, &mut t, &mut log)
    };
    let mut g = c.benchmark_group("combat_round_4v6");
    g.sample_size(20);
    g.throughput(Throughput::Elements(commands));
    g.bench_function("decide_apply_per_command", |b| {
        b.iter_batched(
            || {
                (
                    start.clone(),
                    SeededDice::new(42),
                    now,
                    Vec::with_capacity(256),
                )
            },
            |(mut s, mut d, mut t, mut log)| {
                black_box(play_round(&mut s, &mut d, &mut t, &mut log));
                s
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

/// A campaign of fights and rests until the log holds `n` events.
fn campaign_log(n: usize) -> Vec<Event> {
    let mut dice = SeededDice::new(1);
    let mut now = 0;
    let (mut s, mut log) = party_state(&mut dice, &mut now);
    while log.len() < n {
        if !s.in_combat() {
            log.extend(exec(
                &mut s,
                Command::player(
                    "gm",
                    Action::Rest {
                        kind: RestKind::Long,
                        hit_dice: 0,
                    },
                ),
                &mut dice,
                &mut now,
            ));
            // Bring the fallen back for the next fight.
            for (p, name, _, _) in PARTY {
                if s.character_of(&p.into_player())
                    .is_none_or(|c| c.dead || c.hp == 0)
                {
                    log.extend(exec(
                        &mut s,
                        Command::player(
                            "gm",
                            Action::SetHp {
                                target: name.into(),
                                hp: 999,
                            },
                        ),
                        &mut dice,
                        &mut now,
                    ));
                }
            }
            log.extend(start_fight(&mut s, &mut dice, &mut now));
            continue;
        }
        play_round(&mut s, &mut dice, &mut now, &mut log);
    }
    log.truncate(n);
    log
}

trait IntoPlayer {
    fn into_player(self) -> dicebard_engine::ids::PlayerId;
}
impl IntoPlayer for &str {
    fn into_player(self) -> dicebard_engine::ids::PlayerId {
        dicebard_engine::ids::PlayerId::new(self)
    }
}

fn bench_replay(c: &mut Criterion) {
    let log = campaign_log(10_000);
    let cat = catalog();
    let mut g = c.benchmark_group("replay");
    g.sample_size(20);
    g.throughput(Throughput::Elements(log.len() as u64));
    g.bench_function("replay_10k_events", |b| {
        b.iter(|| black_box(replay(cat.clone(), &log)))
    });
    g.finish();
}

criterion_group!(benches, bench_combat_round, bench_replay);
criterion_main!(benches);
