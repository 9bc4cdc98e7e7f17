//! Bad input at the edges: malformed commands at the terminal, a database file that is
//! not SQLite, and a database locked by another program. Each must give a clear,
//! one-line answer, write nothing, and never hang.

use dicebard::store::{DbLocation, Store};
use serde_json::Value;
use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// A run that takes longer than this (real time) is a hang.
const HANG: Duration = Duration::from_secs(90);

struct Run {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

/// Runs `dicebard play --json` for player `p` in campaign `campaign`, feeding `input`.
fn play(dir: &Path, campaign: &str, input: &[u8]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dicebard"));
    cmd.args(["play", "--json", "--campaign", campaign, "--player", "p"])
        .args(["--seed", "9", "--data-dir"])
        .arg(dir.join("data"))
        .current_dir(dir);
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
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        s
    });
    // A watchdog rather than a timing assertion: a hang fails instead of blocking CI.
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > HANG {
            let _ = child.kill();
            panic!("dicebard play did not finish within {HANG:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    writer.join().unwrap();
    Run {
        status,
        stdout: String::from_utf8(reader.join().unwrap()).expect("UTF-8 stdout"),
        stderr: String::from_utf8_lossy(&err_reader.join().unwrap()).into_owned(),
    }
}

/// The JSON lines printed, without the `{"done": N}` markers (see [`done_markers`]).
fn json_lines(run: &Run) -> Vec<Value> {
    all_json_lines(run)
        .into_iter()
        .filter(|v| v.get("done").is_none())
        .collect()
}

fn all_json_lines(run: &Run) -> Vec<Value> {
    run.stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// The line numbers of the `{"done": N}` markers, in order.
fn done_markers(run: &Run) -> Vec<u64> {
    all_json_lines(run)
        .iter()
        .filter_map(|v| v["done"].as_u64())
        .collect()
}

fn db_path(dir: &Path) -> PathBuf {
    dir.join("data").join("dicebard.sqlite3")
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The last seq of every campaign in the database (opened after dicebard exited).
fn last_seqs(dir: &Path) -> Vec<(String, u64)> {
    rt().block_on(async {
        let store = Store::open(&DbLocation::File(db_path(dir))).await.unwrap();
        let mut out = Vec::new();
        for c in store.campaigns().await.unwrap() {
            out.push((c.name.clone(), store.last_seq(c.id).await.unwrap()));
        }
        store.close().await;
        out
    })
}

/// A table with one character, out of combat.
fn setup(dir: &Path) {
    let run = play(dir, "table", b"create Thorin fighter dwarf\nquit\n");
    assert!(run.status.success(), "{}", run.stderr);
    assert!(run.stdout.contains("CharacterCreated"), "{}", run.stdout);
}

#[test]
fn malformed_commands_each_get_one_line_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    let before = last_seqs(dir.path());

    let long = |prefix: &str, c: char| format!("{prefix}{}", c.to_string().repeat(10_000));
    let bad: Vec<Vec<u8>> = vec![
        b"dance wildly".to_vec(),
        b"x".repeat(10_000),
        long("roll ", '9').into_bytes(),
        long("roll 1d20+", '1').into_bytes(),
        long("do ", 'a').into_bytes(),
        long("attack ", 'g').into_bytes(),
        long("cast ", 'z').into_bytes(),
        b"\xff\xfe\x00\x01garbage\x80\xc3".to_vec(),
        b"\x00\x07\x1b[31mred\x1b[0m".to_vec(),
        b"roll \xf0\x28\x8c\x28".to_vec(),
        "rôll 1d20 🎲".as_bytes().to_vec(),
        b"attack nobody".to_vec(),
        b"attack".to_vec(),
        b"hp nobody 5".to_vec(),
        b"fight 2 dragonzillas".to_vec(),
        b"fight".to_vec(),
        b"cast fireballz at nobody".to_vec(),
        b"cast fireball".to_vec(),
        b"use banana".to_vec(),
        b"check juggling".to_vec(),
        b"save luck".to_vec(),
        b"roll".to_vec(),
        b"roll 1d".to_vec(),
        b"roll banana".to_vec(),
        b"rest sideways".to_vec(),
        b"create".to_vec(),
        b"settings 1 0".to_vec(),
        b"whisper nobody psst".to_vec(),
        b"as".to_vec(),
        b"end".to_vec(),
        b"endfight".to_vec(),
        b"dodge".to_vec(),
    ];
    let mut input = Vec::new();
    let mut expect_error_on = Vec::new();
    let mut line_no = 0u64;
    for b in &bad {
        // Blank lines and comments between them are skipped silently.
        input.extend_from_slice(b"\n   \n# a comment\n");
        line_no += 3;
        input.extend_from_slice(b);
        input.push(b'\n');
        line_no += 1;
        expect_error_on.push(line_no);
    }
    input.extend_from_slice(b"\r\n\t\nquit\n");

    let run = play(dir.path(), "table", &input);
    assert!(run.status.success(), "exit {}: {}", run.status, run.stderr);
    let lines = json_lines(&run);
    // Each command line is closed by its marker (blank lines and comments get none).
    assert_eq!(done_markers(&run), expect_error_on, "{}", run.stdout);
    // Exactly one line per bad command, each an error for that line, and no events.
    assert_eq!(
        lines.len(),
        bad.len(),
        "one line per bad command:\n{}",
        run.stdout
    );
    for (line, want) in lines.iter().zip(&expect_error_on) {
        let msg = line["error"]
            .as_str()
            .unwrap_or_else(|| panic!("not an error: {line}"));
        assert_eq!(line["line"].as_u64(), Some(*want), "{line}");
        assert!(!msg.trim().is_empty());
        assert!(!msg.contains('\n') && !msg.contains('\r'), "{msg:?}");
        assert!(
            msg.chars().count() <= 300,
            "a short message, not an echo: {} chars",
            msg.len()
        );
        assert!(line.get("seq").is_none());
    }
    let msgs: Vec<&str> = lines.iter().map(|l| l["error"].as_str().unwrap()).collect();
    let says = |i: usize, what: &str| {
        assert!(
            msgs[i].to_lowercase().contains(&what.to_lowercase()),
            "line for {:?} says {:?}, expected it to mention {what:?}",
            String::from_utf8_lossy(&bad[i][..bad[i].len().min(40)]),
            msgs[i]
        )
    };
    says(0, "unknown command");
    says(1, "unknown command");
    says(2, "too long");
    says(3, "too long");
    says(4, "too long");
    says(7, "unknown command");
    says(11, "nobody");
    says(14, "dragonzilla");
    says(16, "fireballz");
    says(17, "fireball");
    says(18, "banana");
    says(19, "juggling");

    assert_eq!(last_seqs(dir.path()), before, "nothing was written");
}

#[test]
fn a_file_that_is_not_sqlite_is_refused_and_left_alone() {
    for (name, content) in [
        ("text", b"milk\neggs\nthe dice I lent to Bob\n".repeat(20)),
        ("sqlite header, garbage after", {
            let mut v = b"SQLite format 3\0".to_vec();
            v.extend((0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8));
            v
        }),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let path = db_path(dir.path());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &content).unwrap();
        let run = play(dir.path(), "table", b"create Thorin fighter dwarf\nquit\n");
        assert!(!run.status.success(), "{name}: must not start");
        assert!(run.stdout.is_empty(), "{name}: {}", run.stdout);
        let stderr = run.stderr.to_lowercase();
        assert!(
            stderr.contains("not a usable sqlite database"),
            "{name}: {}",
            run.stderr
        );
        assert!(
            stderr.contains(&path.display().to_string().to_lowercase()),
            "{name}: {}",
            run.stderr
        );
        assert_eq!(
            std::fs::read(&path).unwrap(),
            content,
            "{name}: the file was modified"
        );
        let mut names: Vec<String> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            vec!["dicebard.sqlite3".to_string()],
            "{name}: nothing created beside it"
        );
    }
}

/// Another connection holds the write lock: commands fail with a message that says so
/// (after the store's busy timeout), nothing is written, and the session goes on.
#[test]
fn a_locked_database_gives_a_clear_error_not_a_hang() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    let before = last_seqs(dir.path());
    let rt = rt();
    let mut other = rt.block_on(async {
        let mut c = SqliteConnection::connect_with(
            &SqliteConnectOptions::new().filename(db_path(dir.path())),
        )
        .await
        .unwrap();
        sqlx::query("BEGIN EXCLUSIVE")
            .execute(&mut c)
            .await
            .unwrap();
        sqlx::query("UPDATE campaigns SET settings_json = settings_json")
            .execute(&mut c)
            .await
            .unwrap();
        c
    });

    // An existing table: the command is refused, the session carries on.
    let run = play(dir.path(), "table", b"roll 1d20\nstatus\nquit\n");
    assert!(run.status.success(), "{}", run.stderr);
    let lines = json_lines(&run);
    assert_eq!(lines.len(), 2, "{}", run.stdout);
    let msg = lines[0]["error"]
        .as_str()
        .unwrap_or_else(|| panic!("{}", run.stdout));
    assert!(msg.contains("locked"), "{msg}");
    assert!(msg.contains("Nothing was changed"), "{msg}");
    assert!(
        lines[1].get("status").is_some(),
        "reading still works: {}",
        run.stdout
    );

    // A new table cannot be created: dicebard exits with the reason.
    let run = play(dir.path(), "new table", b"roll 1d20\nquit\n");
    assert!(!run.status.success());
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert!(run.stderr.contains("locked"), "{}", run.stderr);

    rt.block_on(async {
        sqlx::query("ROLLBACK").execute(&mut other).await.unwrap();
        other.close().await.unwrap();
    });
    assert_eq!(last_seqs(dir.path()), before, "nothing was written");
    // And once the lock is gone the same table plays on.
    let run = play(dir.path(), "table", b"roll 1d20\nquit\n");
    assert!(run.stdout.contains("DiceRolled"), "{}", run.stdout);
}
