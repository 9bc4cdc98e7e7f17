//! The web table under load, against the real binary (`dicebard run`, no Discord):
//! N WebSocket clients on one campaign; for each of many public rolls, the time from
//! the action being sent (`POST /api/v1/actions`) to the LAST client receiving its
//! event; and the server's memory per idle connected client (its RSS before and after
//! the clients connect). Run with `cargo bench --bench web` (1,000 clients, 200 rolls;
//! DICEBARD_WEB_CLIENTS / DICEBARD_WEB_ROLLS change them); under `cargo test
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
    let table = WebTable::start(dir.path());
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
            while let Some(m) = sock.next().await {
                if m["type"] == "event" && m["data"]["kind"] == "DiceRolled" {
                    let _ = done.send((m["seq"].as_u64().unwrap(), Instant::now()));
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss_kib(table.pid());
    drop(seq_tx);
    let mut lat = Vec::with_capacity(rolls);
    for i in 0..rolls {
        let who = &actors[i % actors.len()];
        let t0 = Instant::now();
        let v = web.act(who, json!({"kind": "roll", "dice": "1d20"})).await;
        let seq = v["seq"][0].as_u64().unwrap();
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
    println!(
        "web: server RSS {before} KiB before, {after} KiB with {clients} idle clients connected: {:.1} KiB per client",
        after.saturating_sub(before) as f64 / clients as f64
    );
    for r in readers {
        r.abort();
    }
}
