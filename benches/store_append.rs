//! Durable append throughput: one transaction (one fsync) per action versus group
//! commit (`append_many`). Run with `cargo bench --bench store_append`; under
//! `cargo test --all-targets` it does a few iterations only, as a smoke test.
//! The database goes in $DICEBARD_BENCH_DIR if set (to measure a particular disk),
//! else in a temporary directory.

use dicebard::store::{DbLocation, NewCampaign, NewEvent, Store};
use std::time::Instant;

fn event(n: u64) -> NewEvent {
    NewEvent {
        at_ms: n as i64,
        visibility: "public".into(),
        kind: "attacked".into(),
        body: format!(
            r#"{{"attacker":"pc-1","target":"goblin-{n}","roll":{{"total":17}},"hit":true,"damage":6}}"#
        ),
        origin: r#"{"discord":{"user":123456789012345678,"interaction":987654321}}"#.into(),
    }
}

#[tokio::main]
async fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (singles, batches, per_batch) = if full { (1000, 200, 25) } else { (20, 4, 5) };

    let tmp = tempfile::tempdir_in(
        std::env::var("DICEBARD_BENCH_DIR")
            .unwrap_or_else(|_| std::env::temp_dir().display().to_string()),
    )
    .unwrap();
    let store = Store::open(&DbLocation::File(tmp.path().join("bench.sqlite3")))
        .await
        .unwrap();
    let mut ids = Vec::new();
    for i in 0..per_batch {
        let c = store
            .create_campaign(NewCampaign {
                name: format!("c{i}"),
                guild_id: None,
                channel_id: Some(i as u64),
                seed: i as u64,
                created_at_ms: 0,
            })
            .await
            .unwrap();
        ids.push(c.id);
    }

    let start = Instant::now();
    for n in 1..=singles {
        store.append(ids[0], n, &[event(n)]).await.unwrap();
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "append (1 action per commit):      {singles} actions in {secs:.3}s = {:.0} actions/s",
        singles as f64 / secs
    );

    let mut next: Vec<u64> = ids.iter().map(|_| 1).collect();
    next[0] = singles + 1;
    let start = Instant::now();
    for _ in 0..batches {
        let batch: Vec<(dicebard::store::CampaignId, u64, Vec<NewEvent>)> = ids
            .iter()
            .zip(next.iter_mut())
            .map(|(id, seq)| {
                let b = (*id, *seq, vec![event(*seq)]);
                *seq += 1;
                b
            })
            .collect();
        store.append_many(&batch).await.unwrap();
    }
    let secs = start.elapsed().as_secs_f64();
    let actions = batches * per_batch;
    println!(
        "append_many ({per_batch} campaigns per commit): {actions} actions in {secs:.3}s = {:.0} actions/s",
        actions as f64 / secs
    );
    store.close().await;
}
