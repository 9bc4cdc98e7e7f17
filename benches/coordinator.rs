//! Coordinator benchmarks (a plain binary: `cargo bench --bench coordinator`).
//!
//! (a) Durable actions per second through the coordinator, commit before acknowledge:
//!     K campaigns, each with its own submitting task(s), on a real SQLite file with the
//!     store's durability settings (WAL, synchronous=FULL). Reports actions/s and the
//!     per-action latency (submit → acknowledged) p50/p95/p99.
//! (b) Restart time: a campaign with 10,000 events, loaded by a fresh coordinator with
//!     no snapshot, with a snapshot ~1,000 events back (the worst case with the default
//!     `snapshot_every`), and with a snapshot at the last event.
//!
//! Under `cargo test --all-targets` (no `--bench` argument) it runs tiny sizes as a
//! smoke test. The database goes in $DICEBARD_BENCH_DIR if set (to measure a particular
//! disk), else in a temporary directory.

use dicebard::clock::Clock;
use dicebard::coordinator::CampaignId;
use dicebard::coordinator::{Coordinator, CoordinatorOptions, Origin, Source};
use dicebard::store::{DbLocation, NewCampaign, NewEvent, Store};
use dicebard_engine::character::CharacterSpec;
use dicebard_engine::dice::SeededDice;
use dicebard_engine::{Action, CampaignState, Command, PlayerId, Timestamp, apply, decide};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn catalog() -> Arc<dicebard_engine::data::Catalog> {
    Arc::new(dicebard_srd::catalog().clone())
}

fn bench_dir() -> tempfile::TempDir {
    match std::env::var("DICEBARD_BENCH_DIR") {
        Ok(d) => tempfile::tempdir_in(d).unwrap(),
        Err(_) => tempfile::tempdir().unwrap(),
    }
}

fn thousands(n: f64) -> String {
    let s = format!("{:.0}", n);
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

// ---- (a) durable throughput ----------------------------------------------------------------

/// Runs [`throughput_once`] `runs` times and prints each result and the median: fsync
/// latency on shared or virtual disks varies a lot from one second to the next.
async fn throughput(campaigns: usize, per_campaign: usize, actions: usize, runs: usize) {
    let mut rates = Vec::new();
    for _ in 0..runs {
        rates.push(throughput_once(campaigns, per_campaign, actions).await);
    }
    rates.sort_by(f64::total_cmp);
    if runs > 1 {
        println!(
            "  => durable actions/s ({campaigns} campaign{}, {per_campaign} submitter{} each), median of {runs}: {}",
            if campaigns == 1 { "" } else { "s" },
            if per_campaign == 1 { "" } else { "s" },
            thousands(rates[runs / 2]),
        );
    }
}

/// K campaigns × `per_campaign` submitters, each submitting `actions` commands in a row.
/// Returns actions per second.
async fn throughput_once(campaigns: usize, per_campaign: usize, actions: usize) -> f64 {
    let dir = bench_dir();
    let store = Store::open(&DbLocation::File(dir.path().join("bench.sqlite3")))
        .await
        .unwrap();
    let coord = Coordinator::new(
        store.clone(),
        catalog(),
        Clock::system(),
        CoordinatorOptions::default(),
    );
    let gm = PlayerId::new("bench:gm");
    let mut ids = Vec::new();
    for c in 0..campaigns {
        let id = coord
            .create_campaign(
                &format!("bench {c}"),
                &gm,
                Some(c as u64),
                Origin::new(Source::System, &gm),
            )
            .await
            .unwrap();
        for p in 0..per_campaign {
            let who = PlayerId::new(format!("bench:p{p}"));
            coord
                .submit(
                    id,
                    Command {
                        by: dicebard_engine::Actor::Player(who.clone()),
                        action: Action::CreateCharacter {
                            spec: CharacterSpec::quick(&format!("Hero{p}"), "fighter", "human"),
                        },
                    },
                    Origin::new(Source::Terminal, &who),
                )
                .await
                .unwrap();
        }
        ids.push(id);
    }

    let started = Instant::now();
    let mut tasks = Vec::new();
    for &id in &ids {
        for p in 0..per_campaign {
            let coord = coord.clone();
            tasks.push(tokio::spawn(async move {
                let who = PlayerId::new(format!("bench:p{p}"));
                let origin = Origin::new(Source::Terminal, &who);
                let mut latencies = Vec::with_capacity(actions);
                for n in 0..actions {
                    let action = if n % 4 == 3 {
                        Action::Act {
                            text: format!("I keep watch ({n})"),
                        }
                    } else {
                        Action::Roll {
                            expr: "1d20+5".into(),
                            secret: false,
                        }
                    };
                    let cmd = Command {
                        by: dicebard_engine::Actor::Player(who.clone()),
                        action,
                    };
                    let t = Instant::now();
                    let evs = coord.submit(id, cmd, origin.clone()).await.unwrap();
                    latencies.push(t.elapsed());
                    assert_eq!(evs.len(), 1);
                }
                latencies
            }));
        }
    }
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await.unwrap());
    }
    let secs = started.elapsed().as_secs_f64();
    latencies.sort();
    let total = latencies.len();
    // Every acknowledged action is in the log.
    for &id in &ids {
        let last = store.last_seq(id).await.unwrap();
        assert_eq!(last as usize, 1 + 2 * per_campaign + actions * per_campaign);
    }
    println!(
        "durable actions/s ({campaigns} campaign{}, {per_campaign} submitter{} each): {} \
         ({total} actions in {secs:.2} s; latency p50 {}, p95 {}, p99 {})",
        if campaigns == 1 { "" } else { "s" },
        if per_campaign == 1 { "" } else { "s" },
        thousands(total as f64 / secs),
        ms(percentile(&latencies, 0.50)),
        ms(percentile(&latencies, 0.95)),
        ms(percentile(&latencies, 0.99)),
    );
    coord.shutdown().await;
    store.close().await;
    total as f64 / secs
}

// ---- (b) restart time ------------------------------------------------------------------------

/// Writes a genuine campaign log of `n` events straight to the store (decided by the
/// engine, appended in large transactions) and returns the campaign id and the state
/// after each event that may get a snapshot.
async fn build_log(store: &Store, n: u64, snapshot_at: &[u64]) -> (CampaignId, Vec<(u64, String)>) {
    let row = store
        .create_campaign(NewCampaign {
            name: "restart".into(),
            guild_id: None,
            channel_id: None,
            seed: 7,
            created_at_ms: 1_700_000_000_000,
        })
        .await
        .unwrap();
    let mut state = CampaignState::new(catalog());
    let gm = PlayerId::new("bench:gm");
    let players: Vec<PlayerId> = (0..4)
        .map(|p| PlayerId::new(format!("bench:p{p}")))
        .collect();
    let origin = serde_json::to_string(&Origin::new(Source::Terminal, &gm)).unwrap();
    let mut seq = 0u64;
    let mut pending: Vec<NewEvent> = Vec::new();
    let mut snapshots = Vec::new();
    let mut k = 0u64;
    let mut now = 1_700_000_000_000u64;
    while seq < n {
        let (by, action) = match k {
            0 => (
                &gm,
                Action::StartCampaign {
                    name: "restart".into(),
                    settings: Default::default(),
                },
            ),
            1..=4 => (
                &players[k as usize - 1],
                Action::CreateCharacter {
                    spec: CharacterSpec::quick(&format!("Hero{k}"), "fighter", "human"),
                },
            ),
            _ if k.is_multiple_of(3) => (
                &players[(k % 4) as usize],
                Action::Act {
                    text: format!("I search the room, inch by inch ({k})"),
                },
            ),
            _ => (
                &players[(k % 4) as usize],
                Action::Roll {
                    expr: "2d20kh1+5".into(),
                    secret: k.is_multiple_of(5),
                },
            ),
        };
        k += 1;
        now += 1_000;
        let mut dice = SeededDice::new(k);
        let events = decide(
            &state,
            Command {
                by: dicebard_engine::Actor::Player(by.clone()),
                action,
            },
            &mut dice,
            Timestamp(now),
        )
        .unwrap();
        for e in events {
            if seq == n {
                break;
            }
            apply(&mut state, &e);
            seq += 1;
            pending.push(NewEvent {
                at_ms: e.at.0 as i64,
                visibility: e.visibility.key(),
                kind: e.kind_name().into(),
                body: serde_json::to_string(&e).unwrap(),
                origin: origin.clone(),
            });
            if snapshot_at.contains(&seq) {
                snapshots.push((seq, serde_json::to_string(&state).unwrap()));
            }
        }
        if pending.len() >= 1_000 || seq == n {
            let start = seq + 1 - pending.len() as u64;
            store
                .append(row.id, start, &std::mem::take(&mut pending))
                .await
                .unwrap();
        }
    }
    (row.id, snapshots)
}

/// Loads the campaign on a fresh store and coordinator; returns the load time.
async fn time_open(path: &std::path::Path, id: CampaignId, expect_seq: u64) -> Duration {
    let store = Store::open(&DbLocation::File(path.to_path_buf()))
        .await
        .unwrap();
    let coord = Coordinator::new(
        store.clone(),
        catalog(),
        Clock::system(),
        CoordinatorOptions::default(),
    );
    let t = Instant::now();
    coord.open(id).await.unwrap();
    let elapsed = t.elapsed();
    assert_eq!(coord.snapshot(id).await.unwrap().seq, expect_seq);
    coord.shutdown().await;
    store.close().await;
    elapsed
}

async fn restart(n: u64, runs: usize) {
    let dir = bench_dir();
    let path = dir.path().join("restart.sqlite3");
    let store = Store::open(&DbLocation::File(path.clone())).await.unwrap();
    let near = n.saturating_sub(999).max(1);
    let (id, snapshots) = build_log(&store, n, &[near, n]).await;
    store.close().await;

    let best = |v: Vec<Duration>| v.into_iter().min().unwrap();
    let mut cold = Vec::new();
    for _ in 0..runs {
        cold.push(time_open(&path, id, n).await);
    }
    let no_snapshot = best(cold);

    let put = |seq: u64, json: String| {
        let path = path.clone();
        async move {
            let store = Store::open(&DbLocation::File(path)).await.unwrap();
            store.put_snapshot(id, seq, &json).await.unwrap();
            store.close().await;
        }
    };
    let (near_seq, near_json) = snapshots[0].clone();
    put(near_seq, near_json).await;
    let mut v = Vec::new();
    for _ in 0..runs {
        v.push(time_open(&path, id, n).await);
    }
    let near_snapshot = best(v);
    let (last_seq, last_json) = snapshots[1].clone();
    put(last_seq, last_json).await;
    let mut v = Vec::new();
    for _ in 0..runs {
        v.push(time_open(&path, id, n).await);
    }
    let at_end = best(v);
    println!(
        "restart ({} events): no snapshot {}, snapshot {} events back {}, snapshot at the end {}",
        thousands(n as f64),
        ms(no_snapshot),
        n - near_seq,
        ms(near_snapshot),
        ms(at_end),
    );
    if n >= 10_000 {
        println!(
            "restart time per 10,000 events (full replay): {}",
            ms(no_snapshot.mul_f64(10_000.0 / n as f64))
        );
    }
}

#[tokio::main]
async fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    if full {
        for (campaigns, actions) in [(1, 2_000), (8, 500), (32, 200)] {
            throughput(campaigns, 1, actions, 3).await;
        }
        for (campaigns, actions) in [(1, 500), (8, 125)] {
            throughput(campaigns, 4, actions, 3).await;
        }
        restart(10_000, 5).await;
    } else {
        throughput(1, 1, 20, 1).await;
        throughput(4, 2, 10, 1).await;
        restart(300, 1).await;
    }
}
