//! Crash safety of the real binary: `dicebard play --json` is fed a stream of commands
//! and killed with SIGKILL at random moments, then restarted on the same data
//! directory, over and over. Every event it printed (it prints only committed events)
//! must be in the log afterwards, exactly as printed; the log must have no gaps; and
//! replaying the log from scratch must give the state the coordinator loads (from its
//! snapshots plus the log).
//!
//! The crash matrix: the same checks after kill -9 of
//! - a stream of rolls, secrets and free text (`acknowledged_events_survive_kill_9`);
//! - a fight with turn clocks that time out during the runs, monsters choosing their
//!   moves through the LLM, the LLM reading free text and narrating (a local fake
//!   server) (`a_fight_with_clocks_npcs_and_the_llm_survives_kill_9`);
//! - the real bot against the fake Discord with slash commands in flight, killed before
//!   its answer, between its deferral and its follow-up, or after it; unanswered
//!   interactions are delivered again after the restart
//!   (`discord_interactions_in_flight_survive_kill_9`);
//! - a turn deadline that passes while the host is down (`kill_past_a_turn_deadline`).
//!
//! `DICEBARD_CRASH_TRIALS` sets the number of kills per test and `DICEBARD_CRASH_SEED`
//! the seed that picks the moments (default 1). The defaults keep CI short (rolls 20,
//! fight 8, Discord 10 kills); the full matrix is `DICEBARD_CRASH_TRIALS=100`:
//!
//! ```text
//! DICEBARD_CRASH_TRIALS=100 cargo test --test it crash:: -- --nocapture
//! ```
//!
//! Each test prints a summary line (trials, acknowledged events, interactions) with
//! `--nocapture`.

use crate::support;

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
    play_with(dir, trial, &[])
}

fn play_with(dir: &Path, trial: u64, env: &[(&str, String)]) -> Child {
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
    for (k, v) in env {
        cmd.env(k, v);
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

/// How to find the campaign in the store.
#[derive(Clone, Copy)]
enum Lookup<'a> {
    Name(&'a str),
    Channel(u64),
}

/// The checks after a crash (the process is down): the log has no gaps, holds every
/// acknowledged event exactly as printed, and loading the campaign (snapshots plus the
/// log) gives the state a full replay gives, without writing. Returns the log.
fn check_log(
    rt: &tokio::runtime::Runtime,
    db: &DbLocation,
    campaign: Lookup<'_>,
    trial: u64,
    all_acked: &BTreeMap<u64, Value>,
) -> Vec<dicebard::store::StoredEvent> {
    rt.block_on(check_log_async(db, campaign, trial, all_acked))
}

async fn check_log_async(
    db: &DbLocation,
    campaign: Lookup<'_>,
    trial: u64,
    all_acked: &BTreeMap<u64, Value>,
) -> Vec<dicebard::store::StoredEvent> {
    let catalog = Arc::new(dicebard_srd::catalog().clone());
    {
        let store = Store::open(db).await.expect("reopen after kill -9");
        let row = match campaign {
            Lookup::Name(n) => store.campaign_by_name(n).await,
            Lookup::Channel(c) => store.campaign_by_channel(c).await,
        }
        .unwrap()
        .expect("the campaign exists");
        let log = store.events(row.id, 0).await.unwrap();
        for (i, e) in log.iter().enumerate() {
            assert_eq!(e.seq, i as u64 + 1, "trial {trial}: the log has a gap");
        }
        let last = log.last().map_or(0, |e| e.seq);
        for (seq, printed) in all_acked {
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

        let coord = Coordinator::new(
            store.clone(),
            catalog.clone(),
            Clock::system(),
            CoordinatorOptions::default(),
        );
        let loaded = coord.snapshot(row.id).await.expect("load the campaign");
        // Loading may write what a host writes when a campaign comes back (a turn clock
        // resumed, a monster's turn played); it never changes what was there.
        let after = store.events(row.id, 0).await.unwrap();
        assert!(loaded.seq >= last, "trial {trial}: loading lost events");
        assert_eq!(
            after[..log.len()],
            log[..],
            "trial {trial}: loading changed the log"
        );
        let events: Vec<dicebard_engine::Event> = after[..loaded.seq as usize]
            .iter()
            .map(|e| serde_json::from_str(&e.body).expect("a readable event"))
            .collect();
        let replayed = dicebard_engine::replay(catalog.clone(), events.iter());
        assert_eq!(
            loaded.state, replayed,
            "trial {trial}: loaded state differs from a full replay"
        );
        coord.shutdown().await;
        store.close().await;
        log
    }
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

    let started = std::time::Instant::now();
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
        check_log(&rt, &db, Lookup::Name("crash"), trial, &all_acked);
    }
    assert!(all_acked.len() as u64 >= trials);
    eprintln!(
        "crash matrix (rolls): {trials} trials/kills in {:.0?}, {} acknowledged events \
         (lost 0, duplicates 0)",
        started.elapsed(),
        all_acked.len()
    );
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

/// The fight's script, cycled: two players (p, the GM, and q) against goblins that come
/// back when they are gone; typed commands, free text the LLM reads, the GM keeping the
/// party alive, and once a cycle a fresh party. Commands out of turn are refused; that
/// is part of the game.
const COMBAT_LINES: &[&str] = &[
    "fight 2 goblin",
    "attack goblin",
    "I swing my axe at the nearest goblin",
    "end",
    "as q attack goblin",
    "as q I look around for more goblins",
    "as q end",
    "roll 1d20",
    "hp Thorin 10",
    "as q hp Mira 6",
    "as q dodge",
    "dodge",
    "secret 1d4+1",
    "end",
    "as q end",
    // The GM ends the fight and the party comes back fresh (the fallen too).
    "endfight",
    "create Thorin fighter dwarf",
    "as q create Mira wizard elf",
];

/// The most acknowledged events before a kill in the fight.
const MAX_COMBAT_ACKS: u64 = 120;
/// The latest kill in a fight trial, in ms after the start (turn clocks time out
/// within it).
const MAX_COMBAT_KILL_MS: u64 = 12_000;

/// What one fight trial saw.
#[derive(Default)]
struct FightRun {
    acked: BTreeMap<u64, Value>,
    lines_done: u64,
    refusals: u64,
    narrations: u64,
    kinds: BTreeMap<String, u64>,
}

/// Runs the fight in lockstep (the next line goes when the last is done, now and then
/// after an idle pause long enough for a turn clock to run out) until `kill_after` events
/// are acknowledged or `kill_at_ms` has passed, then kills the process.
fn run_fight_and_kill(
    dir: &Path,
    env: &[(&str, String)],
    trial: u64,
    rng: &mut Rng,
    kill_after: u64,
    kill_at_ms: u64,
) -> FightRun {
    let start = std::time::Instant::now();
    let mut child = play_with(dir, trial, env);
    let mut stdin = child.stdin.take().unwrap();
    // The writer sleeps for the pauses, so the reader sees what the clocks do meanwhile.
    let (tx, rx) = std::sync::mpsc::channel::<(String, u64)>();
    let (over_tx, over_rx) = std::sync::mpsc::channel::<()>();
    let writer = std::thread::spawn(move || {
        while let Ok((line, pause_ms)) = rx.recv() {
            let pause = std::time::Duration::from_millis(pause_ms);
            if pause_ms > 0
                && over_rx.recv_timeout(pause) != Err(std::sync::mpsc::RecvTimeoutError::Timeout)
            {
                break;
            }
            if stdin.write_all(line.as_bytes()).is_err() {
                break;
            }
        }
    });
    let mut lines: Vec<String> = Vec::new();
    if trial == 0 {
        lines.push("create Thorin fighter dwarf\n".into());
        lines.push("as q create Mira wizard elf\n".into());
    }
    // Every tenth run (the second included) starts a fight and then idles past a turn,
    // so a clock runs out while it is up.
    let idle_early = trial % 10 == 1;
    if idle_early {
        lines.push("fight 2 goblin\n".into());
    }
    let offset = rng.next() as usize;
    for i in 0..LINES_PER_RUN {
        lines.push(format!(
            "{}\n",
            COMBAT_LINES[(offset + i) % COMBAT_LINES.len()]
        ));
    }
    let mut next = lines.into_iter().enumerate();
    let mut send_next = |rng: &mut Rng| {
        if let Some((i, l)) = next.next() {
            // About one line in 40 waits longer than a turn (5 s) plus its warning.
            let pause = if rng.one_to(40) == 1 || (idle_early && i == 1) {
                6_500
            } else {
                0
            };
            let _ = tx.send((l, pause));
        }
    };
    send_next(rng);

    // A watchdog kills at `kill_at_ms` whatever the reader is waiting for.
    let pid = child.id();
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        let wait = std::time::Duration::from_millis(kill_at_ms).saturating_sub(start.elapsed());
        if stop_rx.recv_timeout(wait) == Err(std::sync::mpsc::RecvTimeoutError::Timeout) {
            // SIGKILL by pid: the process is still ours (the reader has not reaped it).
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        }
    });

    let mut run = FightRun::default();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    for line in stdout.lines() {
        let Ok(line) = line else { break };
        let v: Value = match serde_json::from_str(&line) {
            Ok(v) => v,
            // Killed mid-line by the watchdog: only a last, partial line can be cut.
            Err(_) => continue,
        };
        if let Some(err) = v.get("error").and_then(Value::as_str) {
            let lower = err.to_lowercase();
            assert!(
                !lower.contains("went wrong")
                    && !lower.contains("database")
                    && !lower.contains("busy"),
                "trial {trial}: a command failed on the host's side: {err}"
            );
            run.refusals += 1;
        }
        if v.get("narration").is_some() {
            run.narrations += 1;
        }
        if v.get("done").is_some() {
            run.lines_done += 1;
            send_next(rng);
        }
        if let (Some(seq), Some(kind)) = (
            v.get("seq").and_then(Value::as_u64),
            v.get("type").and_then(Value::as_str),
        ) {
            *run.kinds.entry(kind.to_string()).or_default() += 1;
            run.acked.insert(seq, v);
            if run.acked.len() as u64 >= kill_after {
                child.kill().expect("kill -9");
                break;
            }
        }
    }
    let _ = child.kill();
    // The watchdog stops before the process is reaped: its pid stays ours until then.
    drop(stop_tx);
    watchdog.join().unwrap();
    let status = child.wait().unwrap();
    drop(over_tx);
    drop(tx);
    writer.join().unwrap();
    assert!(
        status.code().is_none(),
        "trial {trial}: the process ended by itself ({status}); see stderr-{trial}.log"
    );
    run
}

/// The crash matrix's fight: combat with turn clocks that time out during the runs,
/// monsters choosing their moves through the LLM, the LLM reading free text and
/// narrating (a local fake server), all killed with SIGKILL at random moments. The same
/// checks as for rolls after every kill, and the campaign resumes at the end.
///
/// `DICEBARD_CRASH_TRIALS` sets the kills (default 8; 100 for the full matrix) and
/// `DICEBARD_CRASH_SEED` the seed.
#[test]
fn a_fight_with_clocks_npcs_and_the_llm_survives_kill_9() {
    use std::sync::atomic::{AtomicU64, Ordering};
    use support::fake_llm::{FakeLlm, openai};

    let trials = env_u64("DICEBARD_CRASH_TRIALS", 8);
    let mut rng = Rng(env_u64("DICEBARD_CRASH_SEED", 1) ^ 0xF16);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("dicebard.toml"),
        "[turns]\ntimeout_secs = 5\nwarning_secs = 2\n",
    )
    .unwrap();
    let db = DbLocation::File(dir.path().join("data").join("dicebard.sqlite3"));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let llm = rt.block_on(FakeLlm::start());
    let readings = AtomicU64::new(0);
    llm.route(move |r| {
        Some(match r.purpose() {
            "intent" => {
                let commands = if readings.fetch_add(1, Ordering::Relaxed).is_multiple_of(2) {
                    serde_json::json!([{"type": "attack", "target": "goblin"}])
                } else {
                    serde_json::json!([{"type": "check", "skill": "perception"}])
                };
                openai::tool(
                    "submit_commands",
                    &serde_json::json!({ "commands": commands }),
                )
            }
            "npc" => openai::tool(
                "choose_option",
                &serde_json::json!({"option": 1, "intent": "It snarls and lunges."}),
            ),
            "summary" => openai::text("{\"summary\": \"A fight with goblins.\", \"facts\": []}"),
            _ => openai::text_stream(
                &["Steel rings ", "on steel as the goblins ", "press in."],
                std::time::Duration::from_millis(15),
                Some((60, 12)),
            ),
        })
    });
    let env = [
        ("DICEBARD_NARRATOR", "openai".to_string()),
        ("DICEBARD_LLM_BASE_URL", llm.base_url()),
        ("DICEBARD_LLM_MODEL", "test-model".to_string()),
        ("DICEBARD_LLM_API_KEY", support::KEY.to_string()),
    ];

    let started = std::time::Instant::now();
    let mut all_acked: BTreeMap<u64, Value> = BTreeMap::new();
    let mut kinds: BTreeMap<String, u64> = BTreeMap::new();
    let (mut lines, mut refusals, mut narrations) = (0, 0, 0);
    for trial in 0..trials {
        let mut kill_after = rng.one_to(MAX_COMBAT_ACKS);
        let mut kill_at_ms = 500 + rng.one_to(MAX_COMBAT_KILL_MS);
        if trial % 10 == 1 {
            // The run that idles past a turn lives through it.
            kill_after = kill_after.max(40);
            kill_at_ms = kill_at_ms.max(9_000);
        }
        let run = run_fight_and_kill(dir.path(), &env, trial, &mut rng, kill_after, kill_at_ms);
        if let (Some(first), Some(prev)) = (run.acked.keys().next(), all_acked.keys().last()) {
            assert!(first > prev, "trial {trial}: seqs went backwards");
        }
        all_acked.extend(run.acked);
        for (k, n) in run.kinds {
            *kinds.entry(k).or_default() += n;
        }
        lines += run.lines_done;
        refusals += run.refusals;
        narrations += run.narrations;
        check_log(&rt, &db, Lookup::Name("crash"), trial, &all_acked);
    }

    // The campaign resumes: a last run plays on and ends cleanly.
    let mut child = play_with(dir.path(), trials, &env);
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"roll 1d20\nstatus\nquit\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "the campaign resumes: {out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.lines().any(|l| l.contains("\"DiceRolled\"")),
        "the campaign resumes: {stdout}"
    );
    check_log(&rt, &db, Lookup::Name("crash"), trials, &all_acked);

    let requests = llm.requests();
    let count = |p: &str| requests.iter().filter(|r| r.purpose() == p).count();
    eprintln!(
        "crash matrix (fight): {trials} trials/kills in {:.0?}, {} acknowledged events \
         (lost 0, duplicates 0), {lines} lines done, {refusals} refusals, {narrations} \
         narrated sentences; LLM requests: {} intent, {} npc, {} narration; events: {kinds:?}",
        started.elapsed(),
        all_acked.len(),
        count("intent"),
        count("npc"),
        count("narration"),
    );
    // The matrix covered what it claims to.
    for kind in ["AttackRolled", "TurnStarted"] {
        assert!(kinds.contains_key(kind), "no {kind} in {kinds:?}");
    }
    if trials >= 2 {
        assert!(
            kinds.contains_key("TurnTimedOut"),
            "no turn clock ran out: {kinds:?}"
        );
    }
    assert!(
        count("npc") > 0 && count("narration") > 0,
        "the LLM took part"
    );
}

/// What a Discord interaction asked for, and the event kind that shows it was done.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Asked {
    Roll,
    Attack,
    Fight,
}

impl Asked {
    fn kind(self) -> &'static str {
        match self {
            Asked::Roll => "DiceRolled",
            Asked::Attack => "AttackRolled",
            Asked::Fight => "CombatStarted",
        }
    }
}

struct Sent {
    handle: fake_discord::InteractionHandle,
    asked: Asked,
    /// The answer the user ended up seeing.
    answer: Option<fake_discord::Message>,
    redelivered: bool,
}

/// Every answered interaction against the log (read while the bot is down): a success
/// shows its event exactly once, "already done" exactly once, a refusal none; nothing is
/// ever committed twice.
fn check_interactions(log: &[dicebard::store::StoredEvent], sent: &[Sent], trial: u64) {
    for s in sent {
        let id = s.handle.id().to_string();
        let n = log
            .iter()
            .filter(|e| e.kind == s.asked.kind())
            .filter(|e| {
                serde_json::from_str::<dicebard::coordinator::Origin>(&e.origin)
                    .ok()
                    .and_then(|o| o.interaction)
                    .as_deref()
                    == Some(id.as_str())
            })
            .count();
        assert!(
            n <= 1,
            "trial {trial}: interaction {id} ({:?}) committed {n} times",
            s.asked
        );
        let Some(answer) = &s.answer else { continue };
        let text = answer.text();
        let expected = if text.contains("already done") || !answer.is_ephemeral() {
            1
        } else {
            0
        };
        assert_eq!(
            n, expected,
            "trial {trial}: interaction {id} ({:?}, redelivered: {}) was answered {text:?} \
             but is in the log {n} times",
            s.asked, s.redelivered
        );
    }
}

/// The crash matrix's Discord side: the real bot against the fake Discord, slash
/// commands in flight (rolls, attacks in a fight with turn clocks and monsters, new
/// fights), the bot killed with SIGKILL at random moments — before it answers, between
/// its deferral and its follow-up, after its answer — and restarted; interactions left
/// unanswered are delivered again (same id and token; the fake's acknowledgement
/// deadline is stretched so the restarted bot may still answer them). Every interaction
/// the user saw answered is in the log exactly once (by the interaction id its events'
/// origin carries), none is committed twice, the log has no gaps, the loaded state is
/// the replayed state, and the campaign plays on.
///
/// `DICEBARD_CRASH_TRIALS` sets the kills (default 10; 100 for the full matrix) and
/// `DICEBARD_CRASH_SEED` the seed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discord_interactions_in_flight_survive_kill_9() {
    use fake_discord::ids::{ALICE, BOB, TABLE};
    use fake_discord::{FakeConfig, FakeDiscord};
    use std::time::Duration;
    use support::bot::{Bot, reply_text};

    const T: Duration = Duration::from_secs(30);
    const CONFIG: &str =
        "[turns]\ntimeout_secs = 8\nwarning_secs = 4\n[log]\nfilter = \"info,serenity=warn\"\n";
    let trials = env_u64("DICEBARD_CRASH_TRIALS", 10);
    let mut rng = Rng(env_u64("DICEBARD_CRASH_SEED", 1) ^ 0xD15C);
    let fake = FakeDiscord::start(FakeConfig {
        ack_deadline: Duration::from_secs(600),
        setup_timeout: Duration::from_secs(60),
        ..FakeConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let db = DbLocation::File(dir.path().join("data").join("dicebard.sqlite3"));
    let log_path = |n: u64| dir.path().join(format!("bot-{n}.log"));
    let mut bot = Bot::start(&fake, dir.path(), CONFIG, &[], Some(&log_path(0)));
    fake.wait_for_identifies(1, Duration::from_secs(60))
        .await
        .expect("the bot connects");
    let r = reply_text(
        &fake,
        ALICE,
        TABLE,
        "campaign start",
        &[("name", "Crash")],
        T,
    )
    .await;
    assert!(r.text().contains("Crash"), "{}", r.text());
    for (user, name, class, race) in [
        (ALICE, "Thorin", "Fighter", "Dwarf"),
        (BOB, "Mira", "Wizard", "Elf"),
    ] {
        let opts = [("name", name), ("class", class), ("race", race)];
        let r = reply_text(&fake, user, TABLE, "character create", &opts, T).await;
        assert!(r.text().contains(name), "{}", r.text());
    }
    let started = std::time::Instant::now();
    let mut sent: Vec<Sent> = Vec::new();
    let (mut before_answer, mut after_defer, mut after_answer) = (0, 0, 0);
    let mut duplicates_sent = 0;
    for trial in 0..=trials {
        if trial > 0 {
            // Restarted: what was left unanswered is delivered again.
            fake.wait_for_identifies(trial as u32 + 1, Duration::from_secs(60))
                .await
                .expect("the bot reconnects");
            fake.wait_for_ready(Duration::from_secs(60))
                .await
                .expect("the bot is back");
            for s in sent.iter_mut().filter(|s| s.answer.is_none()) {
                s.handle.redeliver();
                s.redelivered = true;
            }
            for s in sent.iter_mut().filter(|s| s.answer.is_none()) {
                let m = s.handle.reply(T).await.unwrap_or_else(|e| {
                    let log = std::fs::read_to_string(log_path(trial)).unwrap_or_default();
                    let tail: Vec<&str> = log.lines().rev().take(40).collect();
                    panic!(
                        "trial {trial}: the redelivered {:?} is never answered: {e:?}\n\
                         the bot's log ends:\n{}",
                        s.asked,
                        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                    )
                });
                s.answer = Some(m);
            }
            // And one that was answered before, delivered again (a duplicate delivery
            // after a restart): "already done", and the answer the user saw stays.
            // (Only one that was done: a refusal commits nothing, so after a restart
            // nothing marks it as handled, and it is simply tried again.)
            let answered: Vec<usize> = (0..sent.len())
                .filter(|i| {
                    sent[*i]
                        .answer
                        .as_ref()
                        .is_some_and(|m| !m.is_ephemeral() || m.text().contains("already done"))
                })
                .collect();
            if !answered.is_empty() {
                let s = &mut sent[answered[rng.next() as usize % answered.len()]];
                let before = s.handle.followups().len();
                s.handle.redeliver();
                s.redelivered = true;
                duplicates_sent += 1;
                tokio::time::timeout(T, async {
                    while s.handle.followups().len() <= before {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                })
                .await
                .unwrap_or_else(|_| {
                    panic!(
                        "trial {trial}: the duplicate {:?} is not answered\n{}",
                        s.asked,
                        fake.describe()
                    )
                });
                let dup = s.handle.followups().pop().unwrap();
                assert!(
                    dup.is_ephemeral() && dup.text().contains("already done"),
                    "trial {trial}: the duplicate {:?} got {:?}",
                    s.asked,
                    dup.text()
                );
                let seen = s.answer.as_ref().unwrap().id;
                assert!(
                    fake.message(seen).is_some_and(|m| !m.deleted),
                    "trial {trial}: answering the duplicate {:?} deleted the answer",
                    s.asked
                );
            }
        }
        if trial == trials {
            break;
        }
        // One to three interactions in flight.
        for _ in 0..rng.one_to(3) {
            let user = if rng.one_to(2) == 1 { ALICE } else { BOB };
            let (asked, cmd, opts): (Asked, &str, Vec<(&str, &str)>) = match rng.one_to(6) {
                1..=3 => (Asked::Roll, "roll", vec![("dice", "1d20")]),
                4..=5 => (Asked::Attack, "attack", vec![("target", "goblin")]),
                _ => (Asked::Fight, "combat start", vec![("monsters", "2 goblin")]),
            };
            // The fight's GM is alice.
            let user = if asked == Asked::Fight { ALICE } else { user };
            let handle = fake.slash(user, TABLE, cmd, &opts).await;
            sent.push(Sent {
                handle,
                asked,
                answer: None,
                redelivered: false,
            });
        }
        let last = sent.last().unwrap().handle.clone();
        match rng.one_to(3) {
            // Anywhere: often before the bot has even acknowledged it.
            1 => {
                tokio::time::sleep(Duration::from_millis(rng.next() % 300)).await;
                before_answer += 1;
            }
            // Right after the deferral ("thinking…"), before the follow-up.
            2 => {
                let _ = last.callback(T).await;
                after_defer += 1;
            }
            // After the answer.
            _ => {
                let _ = last.reply(T).await;
                tokio::time::sleep(Duration::from_millis(rng.next() % 200)).await;
                after_answer += 1;
            }
        }
        bot.kill();
        // What the user has seen answered so far.
        for s in sent.iter_mut().filter(|s| s.answer.is_none()) {
            if let Ok(m) = s.handle.reply(Duration::from_millis(1)).await {
                s.answer = Some(m);
            }
        }
        let log = check_log_async(&db, Lookup::Channel(TABLE.0), trial, &BTreeMap::new()).await;
        check_interactions(&log, &sent, trial);
        bot = Bot::start(&fake, dir.path(), CONFIG, &[], Some(&log_path(trial + 1)));
    }

    // Everything was answered, and the campaign plays on.
    let r = reply_text(&fake, BOB, TABLE, "roll", &[("dice", "1d6")], T).await;
    assert!(
        r.text().contains("1d6"),
        "the campaign resumes: {}",
        r.text()
    );
    bot.kill();
    let log = check_log_async(&db, Lookup::Channel(TABLE.0), trials, &BTreeMap::new()).await;
    check_interactions(&log, &sent, trials);
    assert!(sent.iter().all(|s| s.answer.is_some()));
    let done = sent
        .iter()
        .filter(|s| {
            s.answer
                .as_ref()
                .is_some_and(|m| !m.is_ephemeral() || m.text().contains("already done"))
        })
        .count();
    eprintln!(
        "crash matrix (Discord): {trials} kills in {:.0?} ({before_answer} anywhere, \
         {after_defer} after the deferral, {after_answer} after the answer); {} \
         interactions, {} redelivered, {duplicates_sent} answered ones delivered twice, {done} \
         done (each in the log once), {} refused; duplicates 0, {} events in the log",
        started.elapsed(),
        sent.len(),
        sent.iter().filter(|s| s.redelivered).count(),
        sent.len() - done,
        log.len(),
    );
}
