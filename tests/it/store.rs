//! Store tests against real SQLite files in temporary directories.

use dicebard::store::{
    CampaignId, CampaignRow, DbLocation, MessageRef, NewCampaign, NewEvent, Store, StoreError,
    StoreOptions,
};
use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn db_path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path()
        .join("nested")
        .join("dir")
        .join("dicebard.sqlite3")
}

fn campaign(name: &str, channel: Option<u64>) -> NewCampaign {
    NewCampaign {
        name: name.to_string(),
        guild_id: Some(1_234_567_890_123_456_789),
        channel_id: channel,
        seed: u64::MAX - 7, // does not fit an i64: must round-trip anyway
        created_at_ms: 1_700_000_000_000,
    }
}

fn ev(n: u64) -> NewEvent {
    NewEvent {
        at_ms: 1_700_000_000_000 + n as i64,
        visibility: if n.is_multiple_of(2) {
            "public"
        } else {
            "player:p1"
        }
        .to_string(),
        kind: "rolled".to_string(),
        body: format!(r#"{{"n":{n}}}"#),
        origin: r#"{"terminal":"alice"}"#.to_string(),
    }
}

fn evs(range: std::ops::RangeInclusive<u64>) -> Vec<NewEvent> {
    range.map(ev).collect()
}

async fn open(path: &Path) -> Store {
    Store::open(&DbLocation::File(path.to_path_buf()))
        .await
        .expect("open store")
}

async fn raw(path: &Path) -> SqliteConnection {
    SqliteConnection::connect_with(&SqliteConnectOptions::new().filename(path))
        .await
        .expect("raw connection")
}

#[tokio::test]
async fn append_and_read_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let store = open(&path).await;
    assert!(path.exists(), "parent dirs and file are created");

    let c = store
        .create_campaign(campaign("Lost Mine", Some(42)))
        .await
        .unwrap();
    assert_eq!(c.seed, u64::MAX - 7);
    assert_eq!(c.guild_id, Some(1_234_567_890_123_456_789));
    assert_eq!(store.last_seq(c.id).await.unwrap(), 0);
    assert!(store.events(c.id, 0).await.unwrap().is_empty());

    store.append(c.id, 1, &evs(1..=3)).await.unwrap();
    store.append(c.id, 4, &evs(4..=4)).await.unwrap();
    assert_eq!(store.last_seq(c.id).await.unwrap(), 4);

    let all = store.events(c.id, 0).await.unwrap();
    assert_eq!(all.len(), 4);
    for (i, e) in all.iter().enumerate() {
        let want = ev(i as u64 + 1);
        assert_eq!(e.seq, i as u64 + 1);
        assert_eq!(
            (e.at_ms, &e.visibility, &e.kind, &e.body, &e.origin),
            (
                want.at_ms,
                &want.visibility,
                &want.kind,
                &want.body,
                &want.origin
            )
        );
    }
    let tail = store.events(c.id, 2).await.unwrap();
    assert_eq!(tail.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![3, 4]);

    // Lookups.
    assert_eq!(store.campaign(c.id).await.unwrap().as_ref(), Some(&c));
    assert_eq!(
        store.campaign_by_name("Lost Mine").await.unwrap().as_ref(),
        Some(&c)
    );
    assert_eq!(
        store.campaign_by_channel(42).await.unwrap().as_ref(),
        Some(&c)
    );
    assert_eq!(store.campaign_by_channel(43).await.unwrap(), None);
    assert_eq!(store.campaigns().await.unwrap(), vec![c.clone()]);
}

#[tokio::test]
async fn campaign_uniqueness_and_ending() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&db_path(&dir)).await;
    let a = store.create_campaign(campaign("A", Some(7))).await.unwrap();

    let err = store
        .create_campaign(campaign("A", None))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::DuplicateCampaignName(ref n) if n == "A"));
    assert!(err.to_string().contains("\"A\" already exists"), "{err}");

    let err = store
        .create_campaign(campaign("B", Some(7)))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::ChannelInUse { channel_id: 7, .. }),
        "{err}"
    );

    store.end_campaign(a.id, 1_800_000_000_000).await.unwrap();
    store.end_campaign(a.id, 1_900_000_000_000).await.unwrap();
    let ended = store.campaign(a.id).await.unwrap().unwrap();
    assert_eq!(ended.ended_at_ms, Some(1_800_000_000_000));
    assert!(store.campaigns().await.unwrap().is_empty());
    assert_eq!(store.campaign_by_channel(7).await.unwrap(), None);

    // The channel is free again once its campaign ended.
    let b = store.create_campaign(campaign("B", Some(7))).await.unwrap();
    assert_eq!(
        store.campaign_by_channel(7).await.unwrap().map(|c| c.id),
        Some(b.id)
    );
    assert!(matches!(
        store.end_campaign(CampaignId(999), 0).await,
        Err(StoreError::NoSuchCampaign(CampaignId(999)))
    ));
    assert!(matches!(
        store.append(CampaignId(999), 1, &evs(1..=1)).await,
        Err(StoreError::NoSuchCampaign(CampaignId(999)))
    ));
}

#[tokio::test]
async fn seq_conflict_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&db_path(&dir)).await;
    let c = store.create_campaign(campaign("C", None)).await.unwrap();
    store.append(c.id, 1, &evs(1..=2)).await.unwrap();

    // Collides with seq 2.
    let err = store.append(c.id, 2, &evs(2..=5)).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::SeqConflict {
                expected: 3,
                got: 2,
                ..
            }
        ),
        "{err}"
    );
    // A gap is refused too.
    let err = store.append(c.id, 5, &evs(5..=5)).await.unwrap_err();
    assert!(matches!(err, StoreError::SeqConflict { expected: 3, .. }));
    // Seqs start at 1.
    let fresh = store.create_campaign(campaign("D", None)).await.unwrap();
    assert!(matches!(
        store.append(fresh.id, 0, &evs(0..=0)).await,
        Err(StoreError::SeqConflict { expected: 1, .. })
    ));

    assert_eq!(store.last_seq(c.id).await.unwrap(), 2);
    assert_eq!(store.events(c.id, 0).await.unwrap().len(), 2);
    assert_eq!(store.last_seq(fresh.id).await.unwrap(), 0);
    // The log still accepts the right next seq.
    store.append(c.id, 3, &evs(3..=3)).await.unwrap();
}

#[tokio::test]
async fn append_many_is_atomic() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&db_path(&dir)).await;
    let a = store.create_campaign(campaign("A", None)).await.unwrap();
    let b = store.create_campaign(campaign("B", None)).await.unwrap();
    store.append(b.id, 1, &evs(1..=1)).await.unwrap();

    // Second part conflicts (b is at seq 1): the first part must not be written.
    let err = store
        .append_many(&[(a.id, 1, evs(1..=3)), (b.id, 1, evs(1..=1))])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::SeqConflict { .. }), "{err}");
    assert_eq!(store.last_seq(a.id).await.unwrap(), 0);
    assert_eq!(store.last_seq(b.id).await.unwrap(), 1);

    // A good batch, including two consecutive parts for the same campaign.
    store
        .append_many(&[
            (a.id, 1, evs(1..=3)),
            (b.id, 2, evs(2..=2)),
            (a.id, 4, evs(4..=5)),
        ])
        .await
        .unwrap();
    assert_eq!(store.last_seq(a.id).await.unwrap(), 5);
    assert_eq!(store.last_seq(b.id).await.unwrap(), 2);
    let seqs: Vec<u64> = store
        .events(a.id, 0)
        .await
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(seqs, vec![1, 2, 3, 4, 5]);
}

#[tokio::test]
async fn reopen_sees_everything() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let (c, refs);
    {
        let store = open(&path).await;
        c = store
            .create_campaign(campaign("Keep", Some(99)))
            .await
            .unwrap();
        store.append(c.id, 1, &evs(1..=10)).await.unwrap();
        store.put_snapshot(c.id, 5, r#"{"state":5}"#).await.unwrap();
        store
            .put_snapshot(c.id, 10, r#"{"state":10}"#)
            .await
            .unwrap();
        refs = vec![
            MessageRef {
                campaign_id: c.id,
                kind: "character_embed".into(),
                key: "p1".into(),
                channel_id: 99,
                message_id: 1,
            },
            MessageRef {
                campaign_id: c.id,
                kind: "initiative_embed".into(),
                key: "".into(),
                channel_id: 99,
                message_id: u64::MAX - 1,
            },
        ];
        for r in &refs {
            store.put_message_ref(r).await.unwrap();
        }
        store.close().await;
    }

    let store = open(&path).await;
    assert_eq!(store.campaign(c.id).await.unwrap(), Some(c.clone()));
    assert_eq!(store.campaigns().await.unwrap(), vec![c.clone()]);
    assert_eq!(store.last_seq(c.id).await.unwrap(), 10);
    assert_eq!(store.events(c.id, 0).await.unwrap().len(), 10);
    let snap = store.latest_snapshot(c.id).await.unwrap().unwrap();
    assert_eq!(
        (snap.seq, snap.state_json.as_str()),
        (10, r#"{"state":10}"#)
    );
    assert_eq!(store.message_refs(c.id).await.unwrap(), refs);
    assert_eq!(
        store
            .message_ref(c.id, "character_embed", "p1")
            .await
            .unwrap(),
        Some(refs[0].clone())
    );
    store
        .delete_message_ref(c.id, "character_embed", "p1")
        .await
        .unwrap();
    assert_eq!(
        store
            .message_ref(c.id, "character_embed", "p1")
            .await
            .unwrap(),
        None
    );
    // And the log continues where it left off.
    store.append(c.id, 11, &evs(11..=11)).await.unwrap();
}

#[tokio::test]
async fn sqlite_url_and_memory_locations_work() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("url.sqlite3");
    let url = format!("sqlite://{}", path.display());
    let store = Store::open(&DbLocation::parse(&url)).await.unwrap();
    let c: CampaignRow = store.create_campaign(campaign("U", None)).await.unwrap();
    store.append(c.id, 1, &evs(1..=2)).await.unwrap();
    store.close().await;
    assert!(path.exists());

    let mem = Store::open(&DbLocation::parse("sqlite::memory:"))
        .await
        .unwrap();
    let c = mem.create_campaign(campaign("M", None)).await.unwrap();
    mem.append(c.id, 1, &evs(1..=2)).await.unwrap();
    assert_eq!(mem.events(c.id, 0).await.unwrap().len(), 2);

    let err = Store::open(&DbLocation::parse("postgres://u:secret@db/dicebard"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unsupported(_)), "{err}");
    assert!(!format!("{err} {err:?}").contains("secret"));
}

#[tokio::test]
async fn not_a_database_is_refused_and_left_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.sqlite3");
    let bytes: Vec<u8> = b"These are my campaign notes, not a database.\n"
        .iter()
        .cycle()
        .take(8192)
        .copied()
        .collect();
    std::fs::write(&path, &bytes).unwrap();

    let err = Store::open(&DbLocation::File(path.clone()))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotADatabase { .. }), "{err:?}");
    let msg = err.to_string();
    eprintln!("{msg}");
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(msg.contains("not a usable SQLite database"), "{msg}");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        bytes,
        "file must be untouched"
    );
    assert!(!dir.path().join("notes.sqlite3-wal").exists());
}

#[tokio::test]
async fn corrupt_database_behind_a_valid_header_is_refused_and_left_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.sqlite3");
    let mut bytes = b"SQLite format 3\0".to_vec();
    bytes.extend((0..8176u32).map(|i| (i * 7 + 13) as u8));
    std::fs::write(&path, &bytes).unwrap();

    let err = Store::open(&DbLocation::File(path.clone()))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotADatabase { .. }), "{err:?}");
    eprintln!("{err}");
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        bytes,
        "file must be untouched"
    );
}

#[tokio::test]
async fn future_migration_version_is_refused_and_nothing_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("future.sqlite3");
    let c = {
        let store = open(&path).await;
        let c = store.create_campaign(campaign("F", None)).await.unwrap();
        store.append(c.id, 1, &evs(1..=1)).await.unwrap();
        store.close().await;
        c
    };
    {
        // What a newer dicebard would have recorded.
        let mut conn = raw(&path).await;
        sqlx::query(
            "INSERT INTO _sqlx_migrations \
             (version, description, success, checksum, execution_time) \
             VALUES (20991231000000, 'from the future', TRUE, X'00', 0)",
        )
        .execute(&mut conn)
        .await
        .unwrap();
        conn.close().await.unwrap();
    }
    let before = std::fs::read(&path).unwrap();

    let err = Store::open(&DbLocation::File(path.clone()))
        .await
        .unwrap_err();
    match &err {
        StoreError::FutureSchema { version, known, .. } => {
            assert_eq!(*version, 20991231000000);
            assert_eq!(*known, 5);
        }
        other => panic!("expected FutureSchema, got {other:?}"),
    }
    eprintln!("{err}");
    assert!(err.to_string().contains("newer"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), before, "nothing written");

    let mut conn = raw(&path).await;
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE campaign_id = $1")
        .bind(c.id)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(n, 1);
}

#[tokio::test]
async fn locked_database_fails_after_busy_timeout_instead_of_hanging() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("locked.sqlite3");
    let timeout = Duration::from_millis(300);
    let store = Store::open_with(
        &DbLocation::File(path.clone()),
        StoreOptions {
            busy_timeout: timeout,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let c = store.create_campaign(campaign("L", None)).await.unwrap();

    // Another process's connection holds the write lock.
    let mut other = raw(&path).await;
    sqlx::query("BEGIN EXCLUSIVE")
        .execute(&mut other)
        .await
        .unwrap();
    sqlx::query("INSERT INTO events VALUES ($1, 1, 0, 'public', 'x', '{}', '{}')")
        .bind(c.id)
        .execute(&mut other)
        .await
        .unwrap();

    let started = Instant::now();
    let res = tokio::time::timeout(Duration::from_secs(20), store.append(c.id, 1, &evs(1..=1)))
        .await
        .expect("append must not hang on a locked database");
    let err = res.unwrap_err();
    assert!(matches!(err, StoreError::Busy { .. }), "{err:?}");
    eprintln!("{err}");
    assert!(err.to_string().contains("locked"), "{err}");
    eprintln!(
        "gave up after {:?} (busy timeout {timeout:?})",
        started.elapsed()
    );

    // Opening a second store on the locked file also fails (or succeeds) promptly.
    let second = tokio::time::timeout(
        Duration::from_secs(20),
        Store::open_with(
            &DbLocation::File(path.clone()),
            StoreOptions {
                busy_timeout: timeout,
                ..Default::default()
            },
        ),
    )
    .await
    .expect("open must not hang on a locked database");
    eprintln!("second open while locked: {second:?}");
    if let Err(e) = second {
        assert!(matches!(e, StoreError::Busy { .. }), "{e:?}");
    }

    // Once the lock is gone the store works again; the other writer won seq 1.
    sqlx::query("COMMIT").execute(&mut other).await.unwrap();
    assert!(matches!(
        store.append(c.id, 1, &evs(1..=1)).await,
        Err(StoreError::SeqConflict { expected: 2, .. })
    ));
    store.append(c.id, 2, &evs(2..=2)).await.unwrap();
}

#[tokio::test]
async fn opening_a_database_locked_by_another_process_fails_cleanly() {
    // A rollback-journal database (not yet WAL) that another process is writing to.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("busy.sqlite3");
    let mut other = SqliteConnection::connect_with(
        &SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true),
    )
    .await
    .unwrap();
    sqlx::query("CREATE TABLE t (x INTEGER)")
        .execute(&mut other)
        .await
        .unwrap();
    sqlx::query("BEGIN EXCLUSIVE")
        .execute(&mut other)
        .await
        .unwrap();
    sqlx::query("INSERT INTO t VALUES (1)")
        .execute(&mut other)
        .await
        .unwrap();

    let res = tokio::time::timeout(
        Duration::from_secs(20),
        Store::open_with(
            &DbLocation::File(path.clone()),
            StoreOptions {
                busy_timeout: Duration::from_millis(300),
                ..Default::default()
            },
        ),
    )
    .await
    .expect("open must not hang on a locked database");
    let err = res.unwrap_err();
    eprintln!("{err}");
    assert!(matches!(err, StoreError::Busy { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );

    // After the other process is done, the same file opens and migrates.
    sqlx::query("COMMIT").execute(&mut other).await.unwrap();
    other.close().await.unwrap();
    let store = open(&path).await;
    store
        .create_campaign(campaign("after", None))
        .await
        .unwrap();
}

#[tokio::test]
async fn campaign_settings_keys_are_set_atomically_and_kept_apart() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&DbLocation::File(dir.path().join("s.db")))
        .await
        .unwrap();
    let row = store
        .create_campaign(NewCampaign {
            name: "settings".into(),
            guild_id: None,
            channel_id: None,
            seed: 1,
            created_at_ms: 0,
        })
        .await
        .unwrap();
    assert_eq!(
        store.campaign_setting(row.id, "narrator").await.unwrap(),
        None
    );
    store
        .set_campaign_setting(row.id, "narrator", &serde_json::json!("builtin"))
        .await
        .unwrap();
    store
        .set_campaign_setting(row.id, "voice", &serde_json::json!({"input": false}))
        .await
        .unwrap();
    assert_eq!(
        store.campaign_setting(row.id, "narrator").await.unwrap(),
        Some(serde_json::json!("builtin"))
    );
    assert_eq!(
        store.campaign_setting(row.id, "voice").await.unwrap(),
        Some(serde_json::json!({"input": false}))
    );
    // Keys that could escape the JSON path are refused; unknown campaigns are errors.
    assert!(
        store
            .set_campaign_setting(row.id, "a.b", &serde_json::json!(1))
            .await
            .is_err()
    );
    assert!(
        store
            .set_campaign_setting(
                CampaignId(row.id.get() + 99),
                "narrator",
                &serde_json::json!("x")
            )
            .await
            .is_err()
    );
}

/// Hole 12: snapshots are pruned as new ones come — a long campaign keeps a couple, not
/// one per batch of events for ever — and the newest is the one read.
#[tokio::test]
async fn old_snapshots_are_pruned() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let store = open(&path).await;
    let c = store
        .create_campaign(campaign("Long", Some(7)))
        .await
        .unwrap();
    let other = store
        .create_campaign(campaign("Other", Some(8)))
        .await
        .unwrap();
    store.append(other.id, 1, &evs(1..=1)).await.unwrap();
    store
        .put_snapshot(other.id, 1, r#"{"other":1}"#)
        .await
        .unwrap();
    store.append(c.id, 1, &evs(1..=60)).await.unwrap();
    for seq in 1..=60 {
        store
            .put_snapshot(c.id, seq, &format!(r#"{{"state":{seq}}}"#))
            .await
            .unwrap();
    }
    let snap = store.latest_snapshot(c.id).await.unwrap().unwrap();
    assert_eq!(
        (snap.seq, snap.state_json.as_str()),
        (60, r#"{"state":60}"#)
    );
    store.close().await;

    let mut raw = raw(&path).await;
    let rows: Vec<(CampaignId, i64)> =
        sqlx::query_as("SELECT campaign_id, seq FROM snapshots ORDER BY campaign_id, seq")
            .fetch_all(&mut raw)
            .await
            .unwrap();
    assert_eq!(
        rows,
        vec![(c.id, 59), (c.id, 60), (other.id, 1)],
        "only the newest {} snapshots of a campaign are kept; other campaigns' untouched",
        dicebard::store::SNAPSHOTS_KEPT
    );
}

/// A campaign id is typed (`CampaignId`) in every signature, but what leaves the bot is
/// unchanged: the column is an INTEGER, JSON and `Display` show the plain number. Text
/// from outside becomes one only when it is a positive number.
#[tokio::test]
async fn campaign_ids_are_plain_numbers_outside() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let store = open(&path).await;
    let row = store
        .create_campaign(campaign("Typed", None))
        .await
        .unwrap();
    store.append(row.id, 1, &evs(1..=2)).await.unwrap();
    assert_eq!(store.last_seq(row.id).await.unwrap(), 2);
    assert_eq!(
        store.campaign(row.id).await.unwrap().map(|c| c.id),
        Some(row.id)
    );
    store.close().await;

    let mut raw = raw(&path).await;
    let (id_type, events_type, n): (String, String, i64) = sqlx::query_as(
        "SELECT (SELECT typeof(id) FROM campaigns WHERE name = 'Typed'), \
         (SELECT typeof(campaign_id) FROM events LIMIT 1), \
         (SELECT COUNT(*) FROM events WHERE campaign_id = $1)",
    )
    .bind(row.id.get())
    .fetch_one(&mut raw)
    .await
    .unwrap();
    assert_eq!(
        (id_type.as_str(), events_type.as_str(), n),
        ("integer", "integer", 2)
    );

    let id = CampaignId(42);
    assert_eq!(id.to_string(), "42");
    assert_eq!(serde_json::to_string(&id).unwrap(), "42");
    assert_eq!(serde_json::from_str::<CampaignId>("42").unwrap(), id);
    assert_eq!(
        serde_json::json!({ "campaign": { "id": id } }).to_string(),
        r#"{"campaign":{"id":42}}"#
    );
    assert_eq!("42".parse::<CampaignId>(), Ok(id));
    for bad in [
        "",
        "0",
        "-3",
        "4.0",
        "x",
        " 4",
        "99999999999999999999",
        "4\u{0}",
    ] {
        assert!(
            bad.parse::<CampaignId>().is_err(),
            "{bad:?} is no campaign id"
        );
    }
}
