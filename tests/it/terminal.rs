//! The terminal table end to end: the built binary driven through stdin, as a script
//! (or a person) would. Each run gets an empty working directory and an environment
//! without DICEBARD_* variables.

use serde_json::Value;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn dicebard(dir: &Path, args: &[&str], input: &str) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dicebard"));
    cmd.args(args).current_dir(dir);
    for (k, _) in std::env::vars() {
        if k.starts_with("DICEBARD_") || k == "RUST_LOG" {
            cmd.env_remove(k);
        }
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn dicebard");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_string();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(input.as_bytes());
    });
    let out = child.wait_with_output().expect("wait for dicebard");
    writer.join().unwrap();
    out
}

/// `dicebard play --json` on `dir`'s data directory as player `p`.
fn play(dir: &Path, input: &str) -> (Vec<Value>, Output) {
    let data = dir.join("data");
    let out = dicebard(
        dir,
        &[
            "play",
            "--json",
            "--campaign",
            "scene",
            "--player",
            "p",
            "--seed",
            "42",
            "--data-dir",
            data.to_str().unwrap(),
        ],
        input,
    );
    let stdout = String::from_utf8(out.stdout.clone()).expect("UTF-8 output");
    let lines = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    (lines, out)
}

fn types(lines: &[Value]) -> Vec<&str> {
    lines.iter().filter_map(|l| l["type"].as_str()).collect()
}

fn statuses(lines: &[Value]) -> Vec<&Value> {
    lines.iter().filter_map(|l| l.get("status")).collect()
}

fn errors(lines: &[Value]) -> Vec<&str> {
    lines.iter().filter_map(|l| l["error"].as_str()).collect()
}

#[test]
fn a_short_scene_then_the_same_table_later() {
    let dir = tempfile::tempdir().unwrap();
    // Two goblins, so one lucky blow does not end the fight before `end`.
    let (lines, out) = play(
        dir.path(),
        "create Thorin fighter dwarf\n\
         roll 1d20\n\
         check perception\n\
         fight 2 goblins\n\
         attack goblin\n\
         end\n\
         status\n\
         quit\n\
         roll 1d20\n",
    );
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(errors(&lines), Vec::<&str>::new());
    let t = types(&lines);
    for want in [
        "PlayerJoined",
        "CharacterCreated",
        "DiceRolled",
        "CheckRolled",
        "MonstersAppeared",
        "InitiativeRolled",
        "CombatStarted",
        "TurnStarted",
        "AttackRolled",
        "TurnEnded",
    ] {
        assert!(t.contains(&want), "no {want} in {t:?}");
    }
    // Nothing after `quit` ran.
    assert_eq!(t.iter().filter(|k| **k == "DiceRolled").count(), 1);
    // Seqs are printed in order, without repeats.
    let seqs: Vec<u64> = lines.iter().filter_map(|l| l["seq"].as_u64()).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
    // Thorin attacked, and after his turn ended the goblins had theirs.
    let thorin = lines
        .iter()
        .find(|l| l["type"] == "CharacterCreated")
        .map(|l| l["event"]["creature"]["id"].clone())
        .unwrap();
    let attacks: Vec<&Value> = lines
        .iter()
        .filter(|l| l["type"] == "AttackRolled")
        .collect();
    assert!(
        attacks.iter().any(|a| a["event"]["attacker"] == thorin),
        "Thorin attacked"
    );
    assert!(
        attacks.iter().any(|a| a["event"]["attacker"] != thorin),
        "a goblin attacked"
    );
    let before = statuses(&lines);
    assert_eq!(before.len(), 1);
    let before = before[0].clone();
    assert_eq!(before["campaign"], "scene");
    assert!(before["combat"]["round"].as_u64().unwrap() >= 1);
    assert_eq!(
        before["combat"]["active"], "Thorin",
        "it is Thorin's turn again"
    );
    assert!(before["party"][0]["hp"].as_i64().is_some());

    // Quit and come back later: the same table, the same fight, the same wounds.
    let (lines, out) = play(dir.path(), "status\nquit\n");
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(errors(&lines), Vec::<&str>::new());
    assert_eq!(
        types(&lines),
        Vec::<&str>::new(),
        "coming back changes nothing"
    );
    let after = statuses(&lines);
    assert_eq!(after, vec![&before]);
}

#[test]
fn prose_mode_prints_narration() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = dicebard(
        dir.path(),
        &[
            "play",
            "--player",
            "Ann",
            "--seed",
            "3",
            "--data-dir",
            data.to_str().unwrap(),
        ],
        "create Mira wizard elf\ndo I light a lantern\nbogus\nquit\n",
    );
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("Type `help`"), "{stdout}");
    assert!(stdout.contains("I light a lantern"), "{stdout}");
    assert!(stdout.contains("! unknown command \"bogus\""), "{stdout}");
}

#[test]
fn roll_with_a_seed_is_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let a = dicebard(dir.path(), &["roll", "--json", "--seed", "5", "1d20"], "");
    let b = dicebard(dir.path(), &["roll", "--json", "--seed", "5", "1d20"], "");
    assert_eq!(
        a.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&a.stderr)
    );
    assert_eq!(a.stdout, b.stdout);
    let v: Value = serde_json::from_slice(&a.stdout).unwrap();
    assert!((1..=20).contains(&v["total"].as_i64().unwrap()), "{v}");
    assert_eq!(
        v["expr"].as_str().map(|s| s.replace(' ', "")),
        Some("1d20".into())
    );
}

/// For scripts: `--json` closes each command line with `{"done": N}` once everything it
/// set off is printed, says who read free text, and shows temporary HP in `status`.
#[test]
fn json_marks_each_command_done_and_says_who_read_free_text() {
    let dir = tempfile::tempdir().unwrap();
    let (lines, out) = play(
        dir.path(),
        "create Thorin fighter dwarf\n\
         # a comment is no command\n\
         roll 1d20\n\
         status\n\
         frobnicate the moon\n\
         I look around the room for traps\n",
    );
    assert!(out.status.success(), "{out:?}");
    let done: Vec<u64> = lines.iter().filter_map(|l| l["done"].as_u64()).collect();
    assert_eq!(
        done,
        vec![1, 3, 4, 5, 6],
        "one marker per command line: {lines:?}"
    );
    // Each marker comes after that line's own output.
    let pos = |pred: &dyn Fn(&Value) -> bool| lines.iter().position(pred).unwrap();
    let created = pos(&|l| l["type"] == "CharacterCreated");
    let done1 = pos(&|l| l["done"] == 1);
    let rolled = pos(&|l| l["type"] == "DiceRolled");
    let done3 = pos(&|l| l["done"] == 3);
    assert!(
        created < done1 && done1 < rolled && rolled < done3,
        "{lines:?}"
    );
    let status = statuses(&lines)[0];
    assert_eq!(status["party"][0]["temp_hp"], 0, "{status}");
    let read: Vec<&Value> = lines
        .iter()
        .filter(|l| l.get("read_by").is_some())
        .collect();
    assert_eq!(read.len(), 1, "{lines:?}");
    assert_eq!(read[0]["read_by"], "parser");
    assert_eq!(read[0]["line"], 6);
}

/// Spell choice and levelling up from the terminal: `create … spells …`, `prepare`,
/// `levelup [ABILITY ABILITY]`, each refused with the rule when illegal.
#[test]
fn spells_chosen_prepared_and_a_level_gained_from_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let (lines, out) = play(
        dir.path(),
        "create Gina wizard human level 5 spells fire bolt, hold person, sleep\n\
         prepare wish\n\
         prepare hold person, magic missile, sleep\n\
         levelup str dex\n\
         levelup\n\
         levelup\n\
         levelup int int\n\
         create Pip rogue halfling expertise acrobatics deception\n\
         create Thorin fighter dwarf subrace hill dwarf\n\
         use second wind\n\
         quit\n",
    );
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let created = lines
        .iter()
        .find(|l| l["type"] == "CharacterCreated")
        .expect("Gina is created");
    let spells = &created["event"]["creature"]["spellcasting"]["spells"];
    assert_eq!(
        spells,
        &serde_json::json!(["fire-bolt", "hold-person", "sleep"]),
        "{created}"
    );
    let errs = errors(&lines);
    assert!(
        errs.iter()
            .any(|e| e.contains("can't cast level 9 spells like Wish")),
        "{errs:?}"
    );
    assert!(
        errs.iter()
            .any(|e| e.contains("Level 6 brings a Wizard no ability score improvement")),
        "{errs:?}"
    );
    let t = types(&lines);
    assert_eq!(
        t.iter().filter(|k| **k == "SpellsPrepared").count(),
        1,
        "{t:?}"
    );
    let ups: Vec<&Value> = lines.iter().filter(|l| l["type"] == "LeveledUp").collect();
    assert_eq!(ups.len(), 3, "{t:?}");
    assert_eq!(ups[2]["event"]["level"], 8);
    assert_eq!(ups[2]["event"]["creature"]["abilities"]["int"], 18);
    let pip = lines
        .iter()
        .filter(|l| l["type"] == "CharacterCreated")
        .nth(1)
        .unwrap_or_else(|| panic!("Pip is created: {errs:?}"));
    assert_eq!(
        pip["event"]["creature"]["skill_proficiencies"]["acrobatics"], "expertise",
        "{pip}"
    );
}

/// The class state a session changes is on the sheet and in `status`: a druid's beast
/// form over its own hit points, and the Wild Shape uses left.
#[test]
fn the_sheet_and_status_show_a_beast_form_and_uses_left() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = dicebard(
        dir.path(),
        &[
            "play",
            "--player",
            "Ann",
            "--seed",
            "3",
            "--data-dir",
            data.to_str().unwrap(),
        ],
        "create Mira druid elf level 2\nsheet\nuse wild shape wolf\nsheet\nstatus\nquit\n",
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{stdout}");
    // Before: the uses; after: the wolf's hit points over the druid's, and one use gone.
    assert!(stdout.contains("  Wild Shape 2/2"), "{stdout}");
    assert!(stdout.contains("  Wild Shape 1/2"), "{stdout}");
    let form = "Wild Shape: Wolf 11/11 HP (druid ";
    assert_eq!(
        stdout.matches(form).count(),
        2,
        "sheet and status: {stdout}"
    );
}
