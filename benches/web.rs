//! The web table under load, against the real binary (`dicebard run`, no Discord):
//! N WebSocket clients on one campaign; for each of many public rolls, the time from
//! the action being sent (`POST /api/v1/actions`) to the LAST client receiving its
//! event; and the server's memory per idle connected client (its RSS before and after
//! the clients connect). Then the same number of clients spread over campaigns of 10
//! (1,000 clients: 100 campaigns; a roll in one campaign → the last of its 10 sockets),
//! and for each of those clients the time from opening its join link to its first
//! snapshot (link → cookie → WebSocket → hello → snapshot).
//!
//! Beside each end-to-end figure, the issue's own: from the instant the event is
//! committed to the instant the last socket's write of it completed, both in the
//! server, read from its fan-out probe (`dicebard::coordinator::probe`, turned on with
//! `DICEBARD_PROBE_FANOUT`), with the time each stage between took. Run with
//! `cargo test --bench web -- --bench` (a debug build, like the tests; `cargo bench`
//! would build the whole bot optimised) for 1,000 clients and 200 rolls
//! (DICEBARD_WEB_CLIENTS / DICEBARD_WEB_ROLLS change them); under `cargo test
//! --all-targets` it runs 20 clients and 5 rolls as a smoke test.

#[path = "../tests/it/support/mod.rs"]
mod support;

use serde_json::json;
use std::time::{Duration, Instant};
use support::web::WebTable;

fn rss_kib(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn env_or(k: &str, d: usize) -> usize {
    std::env::var(k)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(d)
}

#[tokio::main]
async fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let clients = env_or("DICEBARD_WEB_CLIENTS", if bench { 1000 } else { 20 });
    let rolls = env_or("DICEBARD_WEB_ROLLS", if bench { 200 } else { 5 });
    let dir = tempfile::tempdir().unwrap();
    let mut probe = Probe::new(dir.path());
    let table = WebTable::start_with(dir.path(), None, &probe.env());
    let web = table.client();
    let gm = web.join(&table.gm_link).await;
    // Actors: several GM sessions (the per-session action limit is 2 a second).
    let mut actors = Vec::new();
    for _ in 0..20 {
        let inv = web.invite(&gm, json!({"role": "gm"})).await;
        actors.push(web.join(inv["url"].as_str().unwrap()).await);
    }
    let mut cookies = Vec::new();
    for i in 0..clients {
        let body = if i % 10 == 0 {
            json!({"role": "display"})
        } else {
            json!({"role": "player", "name": format!("P{i}")})
        };
        let inv = web.invite(&gm, body).await;
        cookies.push(web.join(inv["url"].as_str().unwrap()).await);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = rss_kib(table.pid());
    let (seq_tx, _) = tokio::sync::broadcast::channel::<u64>(16);
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel::<(u64, Instant)>();
    let mut readers = Vec::new();
    for c in &cookies {
        let mut sock = web.ws(Some(c), None).await.expect("connect");
        sock.hello(None).await;
        let done = done_tx.clone();
        readers.push(tokio::spawn(async move {
            while let Some(seq) = next_roll(&mut sock).await {
                let _ = done.send((seq, Instant::now()));
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss_kib(table.pid());
    drop(seq_tx);
    probe.skip_past().await;
    let mut seqs = std::collections::HashSet::new();
    let mut lat = Vec::with_capacity(rolls);
    for i in 0..rolls {
        let who = &actors[i % actors.len()];
        let t0 = Instant::now();
        let v = web.act(who, json!({"kind": "roll", "dice": "1d20"})).await;
        let seq = v["seq"][0].as_u64().unwrap();
        seqs.insert(seq);
        let mut got = 0;
        let mut last = t0;
        while got < clients {
            let (s, at) = tokio::time::timeout(Duration::from_secs(60), done_rx.recv())
                .await
                .expect("watchdog: a client missed a roll")
                .unwrap();
            if s == seq {
                got += 1;
                last = last.max(at);
            }
        }
        lat.push(last - t0);
        // Paced like a table (and under the per-session limit): a roll every 50 ms.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    lat.sort();
    let at = |q: f64| lat[((lat.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "web: {clients} clients on one campaign, {rolls} public rolls: action sent → last client has its event: p50 {:.1} ms  p99 {:.1} ms  max {:.1} ms",
        at(0.5).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        lat[lat.len() - 1].as_secs_f64() * 1e3
    );
    probe
        .report(
            &format!("{clients} clients on one campaign"),
            clients,
            |_, seq| seqs.contains(&seq),
        )
        .await;
    println!(
        "web: server RSS {before} KiB before, {after} KiB with {clients} idle clients connected: {:.1} KiB per client",
        after.saturating_sub(before) as f64 / clients as f64
    );
    for r in readers {
        r.abort();
    }
    drop(table);
    // A server of its own: memory freed by the sockets above would otherwise be
    // reused and the per-client figure come out too low.
    let dir = tempfile::tempdir().unwrap();
    let mut probe = Probe::new(dir.path());
    let table = WebTable::start_with(dir.path(), None, &probe.env());
    let gm = table.client().join(&table.gm_link).await;
    spread(&table, &gm, clients, rolls, &mut probe).await;
}

/// The server's fan-out probe: its file, and how far it has been read.
struct Probe {
    path: std::path::PathBuf,
    read: usize,
}

/// One event's line from the probe: campaign, seq, then the stages in microseconds
/// after its commit (received, built, stored, published, first / last woken, first /
/// last written) and the number of sockets that wrote it.
struct ProbeLine {
    campaign: i64,
    seq: u64,
    stages: [Option<f64>; 8],
    writes: usize,
}

const STAGES: [&str; 8] = [
    "feed received",
    "lines built",
    "stored",
    "published",
    "first writer woken",
    "last writer woken",
    "first write done",
    "last write done",
];

impl Probe {
    fn new(dir: &std::path::Path) -> Probe {
        Probe {
            path: dir.join("fanout-probe.txt"),
            read: 0,
        }
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        let mut env = vec![(
            "DICEBARD_PROBE_FANOUT",
            self.path.to_string_lossy().into_owned(),
        )];
        // The server's fan-out tasks per campaign, when the bench is told a number.
        if let Ok(n) = std::env::var("DICEBARD_WEB_FANOUT_TASKS") {
            env.push(("DICEBARD_WEB_FANOUT_TASKS", n));
        }
        env
    }

    /// The lines written since the last read (after the probe's quiet second).
    async fn take(&mut self) -> Vec<ProbeLine> {
        tokio::time::sleep(Duration::from_millis(1600)).await;
        let text = std::fs::read_to_string(&self.path).unwrap_or_default();
        let new = &text[self.read.min(text.len())..];
        let upto = new.rfind('\n').map_or(0, |i| i + 1);
        self.read += upto;
        new[..upto]
            .lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                if f.len() != 11 {
                    return None;
                }
                let mut stages = [None; 8];
                for (i, v) in f[2..10].iter().enumerate() {
                    stages[i] = v.parse().ok();
                }
                Some(ProbeLine {
                    campaign: f[0].parse().ok()?,
                    seq: f[1].parse().ok()?,
                    stages,
                    writes: f[10].parse().ok()?,
                })
            })
            .collect()
    }

    /// Everything the probe has told so far is not part of the measurement.
    async fn skip_past(&mut self) {
        self.take().await;
    }

    /// Prints committed → last socket written (p50 / p99 / max) for the events `keep`
    /// picks that `sockets` sockets wrote, and each stage's p50 / p99.
    async fn report(&mut self, what: &str, sockets: usize, keep: impl Fn(i64, u64) -> bool) {
        let lines: Vec<ProbeLine> = self
            .take()
            .await
            .into_iter()
            .filter(|l| keep(l.campaign, l.seq))
            .collect();
        let complete: Vec<&ProbeLine> = lines
            .iter()
            .filter(|l| l.writes >= sockets && l.stages[7].is_some())
            .collect();
        if complete.is_empty() {
            println!("web: probe ({what}): no event written to all {sockets} sockets was reported");
            return;
        }
        let q = |mut v: Vec<f64>, p: f64| -> f64 {
            v.sort_by(f64::total_cmp);
            v[((v.len() as f64 - 1.0) * p).round() as usize] / 1e3
        };
        let last: Vec<f64> = complete.iter().filter_map(|l| l.stages[7]).collect();
        println!(
            "web: {what}, {} events (server side, probe): committed → last socket written: p50 {:.1} ms  p99 {:.1} ms  max {:.1} ms",
            complete.len(),
            q(last.clone(), 0.5),
            q(last.clone(), 0.99),
            q(last, 1.0),
        );
        let mut stages = String::new();
        for (i, name) in STAGES.iter().enumerate() {
            let v: Vec<f64> = complete.iter().filter_map(|l| l.stages[i]).collect();
            if v.is_empty() {
                continue;
            }
            stages.push_str(&format!(
                "\n    {name:<20} p50 {:7.2} ms  p99 {:7.2} ms",
                q(v.clone(), 0.5),
                q(v, 0.99)
            ));
        }
        println!("web: {what}: stages after the commit (p50 / p99 of each):{stages}");
    }
}

/// The seq of the next dice roll event on the socket; `None` when it closes. The
/// clients share the machine with the server: a message is only scanned for the
/// event's kind and its seq read off the end (the server writes a message's keys in
/// order: `…,"seq":N,"type":"event"}`; anything else is parsed), so that the figures
/// are the server's rather than the bench's (a debug build's) JSON parsing of every
/// roll on 1,000 sockets, which took more of the machine than the server did.
async fn next_roll(sock: &mut support::web::Sock) -> Option<u64> {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    loop {
        match sock.ws.next().await? {
            Ok(Message::Text(t)) if t.as_str().contains("\"DiceRolled\"") => {
                let t = t.as_str();
                let quick = t.strip_suffix("\"type\":\"event\"}").and_then(|rest| {
                    let at = rest.rfind("\"seq\":")?;
                    rest[at + 6..]
                        .split(|c: char| !c.is_ascii_digit())
                        .next()?
                        .parse()
                        .ok()
                });
                if quick.is_some() {
                    return quick;
                }
                let m: serde_json::Value = serde_json::from_str(t).ok()?;
                if m["type"] == "event" {
                    return m["seq"].as_u64();
                }
            }
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

fn quantiles(mut v: Vec<Duration>) -> (f64, f64, f64) {
    v.sort();
    let at = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize].as_secs_f64() * 1e3;
    (at(0.5), at(0.99), v[v.len() - 1].as_secs_f64() * 1e3)
}

/// `clients` clients in campaigns of 10 (a GM-made campaign each, one TV and nine
/// phones): link opened → first snapshot for each, then `rolls` public rolls round
/// the campaigns, each timed to the last socket of its campaign.
async fn spread(
    table: &WebTable,
    gm: &support::web::Cookie,
    clients: usize,
    rolls: usize,
    probe: &mut Probe,
) {
    const PER: usize = 10;
    let campaigns = clients.div_ceil(PER).max(1);
    let web = table.client();
    let rss_before = rss_kib(table.pid());
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel::<(usize, u64, Instant)>();
    let mut gms = Vec::new();
    let mut first_snapshot = Vec::new();
    let mut readers = Vec::new();
    for c in 0..campaigns {
        let (s, v) = web
            .post(
                "/api/v1/campaigns",
                gm,
                json!({"name": format!("Table {c}")}),
            )
            .await;
        assert_eq!(s, reqwest::StatusCode::CREATED, "{v}");
        let room_gm = web.join(v["url"].as_str().unwrap()).await;
        for i in 0..PER {
            let body = if i == 0 {
                json!({"role": "display"})
            } else {
                json!({"role": "player", "name": format!("P{c}-{i}")})
            };
            let inv = web.invite(&room_gm, body).await;
            let t0 = Instant::now();
            let cookie = web.join(inv["url"].as_str().unwrap()).await;
            let mut sock = web.ws(Some(&cookie), None).await.expect("connect");
            sock.hello(None).await;
            first_snapshot.push(t0.elapsed());
            let done = done_tx.clone();
            readers.push(tokio::spawn(async move {
                while let Some(seq) = next_roll(&mut sock).await {
                    let _ = done.send((c, seq, Instant::now()));
                }
            }));
        }
        gms.push(room_gm);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_after = rss_kib(table.pid());
    println!(
        "web: server RSS {rss_before} KiB before, {rss_after} KiB with {campaigns} campaigns and their {} idle clients: {:.1} KiB per client (its campaign's share included)",
        campaigns * PER,
        rss_after.saturating_sub(rss_before) as f64 / (campaigns * PER) as f64
    );
    let (p50, p99, max) = quantiles(first_snapshot);
    println!(
        "web: join link opened → first snapshot on the socket ({} clients): p50 {p50:.1} ms  p99 {p99:.1} ms  max {max:.1} ms",
        campaigns * PER
    );
    probe.skip_past().await;
    let mut lat = Vec::with_capacity(rolls);
    for i in 0..rolls {
        let c = i % campaigns;
        let t0 = Instant::now();
        let v = web
            .act(&gms[c], json!({"kind": "roll", "dice": "1d20"}))
            .await;
        let seq = v["seq"][0].as_u64().unwrap();
        let mut got = 0;
        let mut last = t0;
        while got < PER {
            let (room, s, at) = tokio::time::timeout(Duration::from_secs(60), done_rx.recv())
                .await
                .expect("watchdog: a client missed a roll")
                .unwrap();
            if room == c && s == seq {
                got += 1;
                last = last.max(at);
            }
        }
        lat.push(last - t0);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (p50, p99, max) = quantiles(lat);
    println!(
        "web: {} clients over {campaigns} campaigns, {rolls} public rolls: action sent → last client of its campaign has its event: p50 {p50:.1} ms  p99 {p99:.1} ms  max {max:.1} ms",
        campaigns * PER
    );
    probe
        .report(
            &format!("{} clients over {campaigns} campaigns", campaigns * PER),
            PER,
            |_, _| true,
        )
        .await;
    for r in readers {
        r.abort();
    }
}
