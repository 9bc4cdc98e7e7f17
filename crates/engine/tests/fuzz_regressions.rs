//! Inputs the fuzzers (`fuzz/`, `cargo +nightly fuzz`) found failing, replayed through
//! the same checks as the fuzz targets on every `cargo test`. Each file under
//! `tests/fuzz_regressions/<target>/` is one input, named for what it broke.
// Tests may read files; clippy.toml's IO ban is for the engine's own code.
#![allow(clippy::disallowed_methods)]

mod common;

use dicebard_engine::character::CharacterExport;
use dicebard_engine::command::{Action, Command};
use dicebard_engine::dice::expr::{MAX_BREAKDOWN_CHARS, MAX_DICE};
use dicebard_engine::dice::{Expr, SeededDice, parse};
use dicebard_engine::ids::Timestamp;
use dicebard_engine::rules::MAX_MONSTERS_PER_COMMAND;
use dicebard_engine::state::Settings;
use dicebard_engine::{apply, decide, parse_monster_list};
use std::path::PathBuf;

/// The reproducers of `target`, then its committed fuzz corpus (`fuzz/corpus/<target>`):
/// every `cargo test` replays the whole corpus through the target's checks, a short,
/// deterministic run of each fuzz target that needs no nightly toolchain.
fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let corpus = root.join("../../fuzz/corpus").join(target);
    assert!(
        corpus.is_dir(),
        "the {target} fuzz corpus is missing at {}",
        corpus.display()
    );
    let mut out = Vec::new();
    for dir in [root.join("tests/fuzz_regressions").join(target), corpus] {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut here: Vec<(String, Vec<u8>)> = rd
            .map(|e| {
                let p = e.unwrap().path();
                (
                    p.file_name().unwrap().to_string_lossy().into_owned(),
                    std::fs::read(&p).unwrap(),
                )
            })
            .collect();
        here.sort();
        out.extend(here);
    }
    out
}

/// The dice_expr target's checks.
fn dice_expr(name: &str, data: &[u8]) {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(e) = parse(src) else {
        return;
    };
    let text = e.to_string();
    let back = Expr::from_normalised(&text).unwrap_or_else(|err| panic!("{name}: {err}"));
    assert_eq!(back, e, "{name}");
    let json = serde_json::to_string(&e).unwrap();
    assert_eq!(serde_json::from_str::<Expr>(&json).unwrap(), e, "{name}");
    let seed = data
        .iter()
        .fold(0u64, |a, b| a.rotate_left(5) ^ u64::from(*b));
    for variant in [e.clone(), e.doubled()] {
        let (lo, hi) = variant.bounds();
        if let Ok(r) = variant.roll(&mut SeededDice::new(seed)) {
            assert!((lo..=hi).contains(&r.total), "{name}: out of bounds");
            assert!(r.dice.len() <= MAX_DICE as usize, "{name}");
            assert!(r.breakdown.chars().count() <= MAX_BREAKDOWN_CHARS, "{name}");
        }
    }
}

#[test]
fn dice_expr_regressions() {
    let all = inputs("dice_expr");
    assert!(!all.is_empty(), "the dice_expr reproducers are missing");
    for (name, data) in all {
        dice_expr(&name, &data);
    }
}

#[test]
fn monster_list_regressions() {
    let s0 = {
        let mut s = common::new_state();
        let cmds = [
            Command::player(
                "gm",
                Action::StartCampaign {
                    name: "Fuzz".into(),
                    settings: Settings::default(),
                },
            ),
            Command::player(
                "alice",
                Action::CreateCharacter {
                    spec: dicebard_engine::character::CharacterSpec::quick(
                        "Thorin", "fighter", "dwarf",
                    ),
                },
            ),
        ];
        for cmd in cmds {
            for e in decide(&s, cmd, &mut SeededDice::new(1), Timestamp(0)).unwrap() {
                apply(&mut s, &e);
            }
        }
        s
    };
    for (name, data) in inputs("monster_list") {
        let Ok(src) = std::str::from_utf8(&data) else {
            continue;
        };
        let Ok(groups) = parse_monster_list(src, &s0.catalog) else {
            continue;
        };
        let total: u32 = groups.iter().map(|g| g.count).sum();
        assert!((1..=MAX_MONSTERS_PER_COMMAND).contains(&total), "{name}");
        let cmd = Command::player("gm", Action::StartCombat { monsters: groups });
        decide(&s0, cmd, &mut SeededDice::new(2), Timestamp(1))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn character_import_regressions() {
    let mut s0 = common::new_state();
    let cmd = Command::player(
        "gm",
        Action::StartCampaign {
            name: "Fuzz".into(),
            settings: Settings::default(),
        },
    );
    for e in decide(&s0, cmd, &mut SeededDice::new(1), Timestamp(0)).unwrap() {
        apply(&mut s0, &e);
    }
    for (name, data) in inputs("character_import") {
        let Ok(ex) = serde_json::from_slice::<CharacterExport>(&data) else {
            continue;
        };
        let cmd = Command::player(
            "alice",
            Action::ImportCharacter {
                export: Box::new(ex),
            },
        );
        if let Ok(events) = decide(&s0, cmd, &mut SeededDice::new(3), Timestamp(1)) {
            let mut s = s0.clone();
            for e in &events {
                apply(&mut s, e);
            }
            for c in s.creatures.values() {
                assert!(c.hp >= 0 && c.hp <= c.effective_max_hp(), "{name}");
            }
        }
    }
}
