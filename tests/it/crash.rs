//! Crash safety of the real binary: `dicebard play --json` is fed a stream of commands
//! and killed with SIGKILL at random moments, then restarted on the same data
//! directory, over and over. Every event it printed (it prints only committed events)
//! must be in the log afterwards, exactly as printed; the log must have no gaps; and
//! replaying the log from scratch must give the state the coordinator loads (from its
//! snapshots plus the log).
//!
//! `DICEBARD_CRASH_TRIALS` sets the number of kills (default 20) and
//! `DICEBARD_CRASH_SEED` the seed that picks the moments (default 1).

use dicebard::clock::Clock;
use dicebard::coordinator::{Coordinator, CoordinatorOptions};
use dicebard::store::{DbLocation, Store};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

/// Lines fed to one run; more than any run lives to process.
const LINES_PER_RUN: usize = 400;
/// The most acknowledged events before a kill.
const MAX_ACKS_BEFORE_KILL: u64 = 200;

/// splitmix64: a tiny seeded PRNG, so a failing schedule can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `1..=n`.
    fn one_to(&mut self, n: u64) -> u64 {
        1 + self.next() % n
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a number, not {v:?}")),
        Err(_) => default,
    }
}

fn play(dir: &Path, trial: u64) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dicebard"));
    cmd.args(["play", "--json", "--campaign", "crash", "--player", "p"])
        .args(["--seed", "1", "--data-dir"])
        .arg(dir.join("data"))
        .current_dir(dir);
    for (k, _) in std::env::vars() {
        if k.starts_with("DICEBARD_") || k == "RUST_LOG" {
            cmd.env_remove(k);
        }
    }
    let log = std::fs::File::create(dir.join(format!("stderr-{trial}.log"))).unwrap();
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .expect("spawn dicebard play")
}

/// The commands of one run: a character first, then rolls with some actions.
fn script(trial: u64) -> String {
    let mut s = String::new();
    if trial == 0 {
        s.push_str("create Thorin fighter dwarf\n");
    }
    for i in 0..LINES_PER_RUN {
        match i % 10 {
            3 => s.push_str(&format!("do I keep watch ({trial}/{i})\n")),
            7 => s.push_str("secret 1d4+1\n"),
            _ => s.push_str("roll 1d20\n"),
        }
    }
    s
}

/// Runs the binary until it has acknowledged `kill_after` events, then kills it.
/// Returns the acknowledged events as printed, by seq.
fn run_and_kill(dir: &Path, trial: u64, kill_after: u64) -> BTreeMap<u64, Value> {
    let mut child = play(dir, trial);
    let mut stdin = child.stdin.take().unwrap();
    let input = script(trial);
    // A writer thread: the pipe may fill up, and it breaks when the process dies.
    // It keeps stdin open until this run is over: end of input would end the session
    // cleanly instead.
    let (done, wait) = std::sync::mpsc::channel::<()>();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(input.as_bytes());
        let _ = wait.recv();
    });
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut acked = BTreeMap::new();
    let mut killed = false;
    for line in stdout.lines() {
        let line = line.expect("read stdout");
        let v: Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        if let Some(err) = v.get("error") {
            panic!("trial {trial}: a command failed: {err}");
        }
        if let Some(seq) = v.get("seq").and_then(Value::as_u64) {
            acked.insert(seq, v);
            if acked.len() as u64 >= kill_after {
                child.kill().expect("kill -9");
                killed = true;
                break;
            }
        }
    }
    let status = child.wait().unwrap();
    drop(done);
    writer.join().unwrap();
    assert!(
        killed,
        "trial {trial}: the process ended by itself ({status}) after {} events; see stderr-{trial}.log",
        acked.len()
    );
    acked
}

#[test]
fn acknowledged_events_survive_kill_9() {
    let trials = env_u64("DICEBARD_CRASH_TRIALS", 20);
    let mut rng = Rng(env_u64("DICEBARD_CRASH_SEED", 1));
    let dir = tempfile::tempdir().unwrap();
    let db = DbLocation::File(dir.path().join("data").join("dicebard.sqlite3"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let catalog = Arc::new(dicebard_srd::catalog().clone());

    let mut all_acked: BTreeMap<u64, Value> = BTreeMap::new();
    for trial in 0..trials {
        let kill_after = rng.one_to(MAX_ACKS_BEFORE_KILL);
        let acked = run_and_kill(dir.path(), trial, kill_after);
        assert_eq!(acked.len() as u64, kill_after);
        if let (Some(first), Some(prev)) = (acked.keys().next(), all_acked.keys().last()) {
            assert!(first > prev, "trial {trial}: seqs went backwards");
        }
        all_acked.extend(acked);

        // After the crash: the log holds every acknowledged event, without gaps, and
        // the loaded state is the replayed state.
        rt.block_on(async {
            let store = Store::open(&db).await.expect("reopen after kill -9");
            let row = store
                .campaign_by_name("crash")
                .await
                .unwrap()
                .expect("the campaign exists");
            let log = store.events(row.id, 0).await.unwrap();
            for (i, e) in log.iter().enumerate() {
                assert_eq!(e.seq, i as u64 + 1, "trial {trial}: the log has a gap");
            }
            let last = log.last().map_or(0, |e| e.seq);
            for (seq, printed) in &all_acked {
                assert!(
                    *seq <= last,
                    "trial {trial}: acknowledged event {seq} is lost (log ends at {last})"
                );
                let stored = &log[*seq as usize - 1];
                assert_eq!(printed["type"].as_str(), Some(stored.kind.as_str()));
                let body: Value = serde_json::from_str(&stored.body).unwrap();
                assert_eq!(
                    printed["event"], body,
                    "trial {trial}: event {seq} differs from what was printed"
                );
            }

            let events: Vec<dicebard_engine::Event> = log
                .iter()
                .map(|e| serde_json::from_str(&e.body).expect("a readable event"))
                .collect();
            let replayed = dicebard_engine::replay(catalog.clone(), events.iter());
            let coord = Coordinator::new(
                store.clone(),
                catalog.clone(),
                Clock::system(),
                CoordinatorOptions::default(),
            );
            let loaded = coord.snapshot(row.id).await.expect("load the campaign");
            assert_eq!(loaded.seq, last, "trial {trial}: loading wrote events");
            assert_eq!(
                loaded.state, replayed,
                "trial {trial}: loaded state differs from a full replay"
            );
            coord.shutdown().await;
            store.close().await;
        });
    }
    assert!(all_acked.len() as u64 >= trials);
}

/// The turn clock after a kill -9: deadlines are absolute, so a deadline that passed
/// while the host was down is not given back whole. The player gets the warning period
/// (at least 10 s, at most a turn) from the restart.
#[test]
fn kill_past_a_turn_deadline() {
    let dir = tempfile::tempdir().unwrap();
    // 12 s turns with a 3 s warning: the grace after downtime is 10 s (the floor).
    std::fs::write(
        dir.path().join("dicebard.toml"),
        "[turns]\ntimeout_secs = 12\nwarning_secs = 3\n",
    )
    .unwrap();
    let mut child = play(dir.path(), 0);
    let mut stdin = child.stdin.take().unwrap();
    let (done, wait) = std::sync::mpsc::channel::<()>();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(b"create Thorin fighter dwarf\nfight 1 rat\n");
        let _ = wait.recv();
    });
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut turn: Option<(u64, u64)> = None;
    for line in stdout.lines() {
        let v: Value = serde_json::from_str(&line.expect("read stdout")).unwrap();
        assert!(v.get("error").is_none(), "a command failed: {v}");
        if v["type"] == "TurnStarted" {
            let e: dicebard_engine::Event = serde_json::from_value(v["event"].clone()).unwrap();
            if let dicebard_engine::EventKind::TurnStarted {
                deadline: Some(d), ..
            } = e.kind
            {
                turn = Some((v["seq"].as_u64().unwrap(), d.0));
                break;
            }
        }
    }
    let (seq, deadline) = turn.expect("Thorin's turn starts");
    child.kill().expect("kill -9");
    child.wait().unwrap();
    drop(done);
    writer.join().unwrap();

    // Stay down until the deadline has passed (by the wall clock the next run reads).
    loop {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        if now > deadline + 200 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(deadline + 250 - now));
    }

    // Come back: loading the campaign resumes its clock.
    let mut child = play(dir.path(), 1);
    child.stdin.take().unwrap().write_all(b"status\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let db = DbLocation::File(dir.path().join("data").join("dicebard.sqlite3"));
        let store = Store::open(&db).await.unwrap();
        let row = store.campaign_by_name("crash").await.unwrap().unwrap();
        let resumed: Vec<dicebard_engine::Event> = store
            .events(row.id, seq)
            .await
            .unwrap()
            .iter()
            .map(|e| serde_json::from_str(&e.body).unwrap())
            .filter(|e: &dicebard_engine::Event| {
                matches!(e.kind, dicebard_engine::EventKind::TurnClockResumed { .. })
            })
            .collect();
        assert_eq!(resumed.len(), 1, "one resumed clock");
        let dicebard_engine::EventKind::TurnClockResumed { deadline: new, .. } = resumed[0].kind
        else {
            unreachable!()
        };
        assert!(resumed[0].at.0 > deadline, "resumed after the old deadline");
        assert_eq!(
            new.0,
            resumed[0].at.0 + 10_000,
            "the warning period from the restart, not the old deadline nor a whole turn"
        );
        store.close().await;
    });
}
