//! The feed publishes a batch's events and lines before it stores them (they are made
//! from committed events alone, so nothing waits for the feed's own fsync): live
//! subscribers get them at once, a subscriber that starts before the store has them
//! reads them from the feed's memory, and a crash between the publish and the store
//! leaves the feed's cursor before the batch, so a restarted feed tells it again under
//! the same cursors: a client resuming from what it got sees nothing twice, one that
//! got nothing sees everything once.
//!
//! The store is held back by a trigger that refuses every feed item (the event log is
//! untouched), from a second connection to the same file. Real time (the store's
//! SQLite worker runs on its own thread); waits are bounded by a watchdog only.

use dicebard::clock::Clock;
use dicebard::coordinator::{CampaignId, Coordinator, CoordinatorOptions, Origin, Source};
use dicebard::feed::{Feed, FeedCursor, FeedItem, FeedKind, FeedOptions, FeedSubscription};
use dicebard::gm::GameMaster;
use dicebard::store::{DbLocation, Store};
use dicebard_engine::{Action, Actor, Command, PlayerId, Viewer};
use sqlx::Connection as _;
use std::sync::Arc;
use std::time::Duration;

/// Only "it must finish eventually": never an assertion about speed.
const WATCHDOG: Duration = Duration::from_secs(60);

async fn within<F: std::future::Future>(what: &str, f: F) -> F::Output {
    tokio::time::timeout(WATCHDOG, f)
        .await
        .unwrap_or_else(|_| panic!("hung waiting for {what}"))
}

async fn roll(coord: &Coordinator, campaign: CampaignId, gm: &PlayerId) -> u64 {
    coord
        .submit(
            campaign,
            Command {
                by: Actor::Player(gm.clone()),
                action: Action::Roll {
                    expr: "1d20".into(),
                    secret: false,
                },
            },
            Origin::new(Source::Terminal, gm),
        )
        .await
        .expect("the roll is committed")
        .last()
        .unwrap()
        .seq
}

async fn next(sub: &mut FeedSubscription) -> Arc<FeedItem> {
    within("a feed item", sub.next())
        .await
        .expect("the subscription ended")
}

/// The event `seq` and its line, in that order, as the next two items.
async fn event_and_line(sub: &mut FeedSubscription, seq: u64) -> String {
    let e = next(sub).await;
    assert_eq!(e.cursor(), FeedCursor::new(seq, 0), "{e:?}");
    assert!(matches!(e.kind, FeedKind::Event { .. }), "{e:?}");
    let l = next(sub).await;
    assert_eq!(l.cursor(), FeedCursor::new(seq, 1), "{l:?}");
    match &l.kind {
        FeedKind::Line { text } => text.clone(),
        other => panic!("a line, not {other:?}"),
    }
}

#[tokio::test]
async fn lines_are_published_before_they_are_stored_and_a_crash_in_between_loses_and_repeats_nothing()
 {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("feed.sqlite3");
    let store = Store::open(&DbLocation::File(path.clone())).await.unwrap();
    let catalog = Arc::new(dicebard_srd::catalog().clone());
    let coord = Coordinator::new(
        store.clone(),
        catalog,
        Clock::system(),
        CoordinatorOptions::default(),
    );
    let gm = PlayerId::new("gm");
    let campaign = coord
        .create_campaign("Order", &gm, Some(7), Origin::new(Source::Terminal, &gm))
        .await
        .unwrap();
    let feed = Feed::start(
        coord.clone(),
        GameMaster::builtin(),
        campaign,
        FeedOptions::default(),
    )
    .await
    .unwrap();
    let start = coord.snapshot(campaign).await.unwrap().seq;
    let mut told = feed.told();
    within("the campaign's start told", told.wait_for(|t| *t >= start))
        .await
        .unwrap();
    let before = store.feed_cursor(campaign).await.unwrap();

    // The feed's store refuses every item from now on (the event log still works).
    let mut other = sqlx::sqlite::SqliteConnection::connect_with(
        &sqlx::sqlite::SqliteConnectOptions::new().filename(&path),
    )
    .await
    .unwrap();
    sqlx::query(
        "CREATE TRIGGER hold_the_feed BEFORE INSERT ON feed_items \
         BEGIN SELECT RAISE(ABORT, 'held for the test'); END",
    )
    .execute(&mut other)
    .await
    .unwrap();

    let mut live = feed.subscribe(Viewer::Gm, FeedCursor::new(start, u32::MAX));
    let r1 = roll(&coord, campaign, &gm).await;
    // Published though the store refuses it (the old order stored first: nothing came).
    let line = event_and_line(&mut live, r1).await;
    assert_eq!(
        store.feed_cursor(campaign).await.unwrap(),
        before,
        "the store has not got the batch"
    );
    // A subscriber that starts now reads it beside the store.
    let mut late = feed.subscribe(Viewer::Gm, FeedCursor::new(start, u32::MAX));
    assert_eq!(event_and_line(&mut late, r1).await, line);

    // The process dies before the store took the batch (the feed is still trying).
    feed.stop().await;
    drop((live, late));
    sqlx::query("DROP TRIGGER hold_the_feed")
        .execute(&mut other)
        .await
        .unwrap();
    other.close().await.unwrap();
    assert_eq!(store.feed_cursor(campaign).await.unwrap(), before);

    // Restarted: the batch is told again from the cursor, under the same cursors.
    let feed = Feed::start(
        coord.clone(),
        GameMaster::builtin(),
        campaign,
        FeedOptions::default(),
    )
    .await
    .unwrap();
    let mut told = feed.told();
    within("the batch told again", told.wait_for(|t| *t >= r1))
        .await
        .unwrap();
    assert!(store.feed_cursor(campaign).await.unwrap() >= r1);
    // The client that had the event and its line resumes from there: nothing twice.
    let mut resumed = feed.subscribe(Viewer::Gm, FeedCursor::new(r1, 1));
    // One that had nothing gets each once, the same words.
    let mut fresh = feed.subscribe(Viewer::Gm, FeedCursor::new(start, u32::MAX));
    let r2 = roll(&coord, campaign, &gm).await;
    event_and_line(&mut resumed, r2).await;
    assert_eq!(event_and_line(&mut fresh, r1).await, line);
    event_and_line(&mut fresh, r2).await;
    feed.stop().await;
    coord.shutdown().await;
    store.close().await;
}

/// The feed reads a campaign's state shared, not copied (a copy of a big campaign per
/// batch was most of the time before its line): the committed state, the same
/// allocation until the next commit, and always what a snapshot copies.
#[tokio::test]
async fn the_committed_state_is_shared_not_copied() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&DbLocation::File(dir.path().join("state.sqlite3")))
        .await
        .unwrap();
    let catalog = Arc::new(dicebard_srd::catalog().clone());
    let coord = Coordinator::new(
        store.clone(),
        catalog,
        Clock::system(),
        CoordinatorOptions::default(),
    );
    let gm = PlayerId::new("gm");
    let campaign = coord
        .create_campaign("Shared", &gm, Some(3), Origin::new(Source::Terminal, &gm))
        .await
        .unwrap();
    let (seq, a) = coord.state(campaign).await.unwrap();
    let (_, b) = coord.state(campaign).await.unwrap();
    assert!(Arc::ptr_eq(&a, &b), "two reads share one state");
    let snap = coord.snapshot(campaign).await.unwrap();
    assert_eq!((snap.seq, &snap.state), (seq, &*a));
    let r = roll(&coord, campaign, &gm).await;
    let (seq2, c) = coord.state(campaign).await.unwrap();
    assert_eq!(seq2, r);
    assert!(!Arc::ptr_eq(&a, &c), "a commit makes a new state");
    assert_eq!(coord.snapshot(campaign).await.unwrap().state, *c);
    assert_eq!(*a, snap.state, "what a reader held is unchanged");
    coord.shutdown().await;
}
