//! Issue #13 holes on the engine side: each test fails without its fix.
// Tests may read files; clippy.toml's IO ban is for the engine's own code.
#![allow(clippy::disallowed_methods)]

mod common;

use dicebard_engine::character::CharacterSpec;
use dicebard_engine::command::{Action, Command, MonsterGroup};
use dicebard_engine::dice::ScriptedDice;
use dicebard_engine::event::EventKind;
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
        for action in [
            Action::StartCombat {
                monsters: groups.clone(),
            },
        ] {
            let mut s = s0.clone();
            let err = run(&mut s, "gm", action, &[]).unwrap_err();
            assert_eq!(err.to_string(), "At most 20 monsters at once.");
        }
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
