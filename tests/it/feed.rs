//! The table feed (`dicebard::feed`): one telling per batch shared by every viewer, the
//! prose stored and replayed after a restart instead of asked again, resuming from any
//! cursor without duplicates or gaps, and nothing reaching a viewer it must not.
//!
//! Real time, not paused: the store's SQLite worker runs on its own thread, so tokio's
//! auto-advance would fire sqlx's timeouts while a query is in flight. No assertion
//! depends on timing; waits are bounded by a watchdog only.

use crate::support::fake_llm::{FakeLlm, Reply, openai};
use crate::support::{llm_with, test_settings};
use dicebard::clock::Clock;
use dicebard::coordinator::CampaignId;
use dicebard::coordinator::{BuiltinPolicy, Coordinator, CoordinatorOptions, Origin, Source};
use dicebard::feed::{Feed, FeedCursor, FeedItem, FeedKind, FeedOptions, FeedSubscription};
use dicebard::gm::GameMaster;
use dicebard::intent::IntentResolver;
use dicebard::llm::ProviderKind;
use dicebard::narrator::{LlmNarrator, NarrationSource};
use dicebard::store::{DbLocation, Store};
use dicebard_engine::ability::Advantage;
use dicebard_engine::ability::Skill;
use dicebard_engine::character::CharacterSpec;
use dicebard_engine::{Action, Actor, Command, PlayerId, Viewer, Visibility};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Only "it must finish eventually": never an assertion about speed.
const WATCHDOG: Duration = Duration::from_secs(120);

async fn within<F: std::future::Future>(what: &str, f: F) -> F::Output {
    tokio::time::timeout(WATCHDOG, f)
        .await
        .unwrap_or_else(|_| panic!("hung waiting for {what}"))
}

fn catalog() -> Arc<dicebard_engine::data::Catalog> {
    Arc::new(dicebard_srd::catalog().clone())
}

fn player(p: &str) -> PlayerId {
    PlayerId::new(p)
}

/// A coordinator over a SQLite file (opened again after a "restart").
struct Table {
    path: PathBuf,
    store: Store,
    coord: Coordinator,
}

impl Table {
    async fn open(path: &Path) -> Table {
        let store = Store::open(&DbLocation::File(path.to_path_buf()))
            .await
            .unwrap();
        let coord = Coordinator::new(
            store.clone(),
            catalog(),
            Clock::system(),
            CoordinatorOptions::default(),
        );
        Table {
            path: path.to_path_buf(),
            store,
            coord,
        }
    }

    async fn create(&self, name: &str, seed: u64) -> i64 {
        let gm = player("gm");
        self.coord
            .create_campaign(name, &gm, Some(seed), Origin::new(Source::Terminal, &gm))
            .await
            .unwrap()
            .get()
    }

    async fn run(&self, id: i64, who: &str, action: Action) {
        let p = player(who);
        self.coord
            .submit(
                CampaignId(id),
                Command {
                    by: Actor::Player(p.clone()),
                    action,
                },
                Origin::new(Source::Terminal, &p),
            )
            .await
            .unwrap_or_else(|e| panic!("{who}'s command was refused: {e}"));
    }

    async fn last_seq(&self, id: i64) -> u64 {
        self.coord.snapshot(CampaignId(id)).await.unwrap().seq
    }

    async fn close(self) -> PathBuf {
        self.coord.shutdown().await;
        self.store.close().await;
        self.path
    }
}

/// A game master whose narrator is the LLM on `server`.
fn llm_gm(server: &FakeLlm, store: &Store) -> GameMaster {
    let llm = llm_with(
        ProviderKind::OpenAi,
        &server.base_url(),
        test_settings(),
        Some(store.clone()),
    );
    let narrator = LlmNarrator::new(llm.clone(), Some(store.clone()), Clock::system());
    GameMaster {
        llm: Some(llm),
        narrator: Arc::new(narrator.clone()),
        llm_narrator: Some(narrator),
        npc_policy: Arc::new(BuiltinPolicy),
        intent: Arc::new(IntentResolver::new(None)),
    }
}

fn narration_requests(server: &FakeLlm) -> usize {
    server
        .requests()
        .iter()
        .filter(|r| r.purpose() == "narration")
        .count()
}

/// Waits until the feed has told every event up to `seq` (prose included).
async fn told(feed: &Feed, seq: u64) {
    let mut rx = feed.told();
    within("the feed's telling", rx.wait_for(|t| *t >= seq))
        .await
        .expect("the feed task ended");
}

/// Everything a subscription gives until the feed has stopped and the store is drained.
async fn drain(mut sub: FeedSubscription) -> Vec<Arc<FeedItem>> {
    let mut out = Vec::new();
    while let Some(item) = within("a feed item", sub.next()).await {
        out.push(item);
    }
    out
}

fn llm_prose(items: &[Arc<FeedItem>]) -> Vec<String> {
    items
        .iter()
        .filter_map(|i| match &i.kind {
            FeedKind::ProseChunk {
                text,
                source: NarrationSource::Llm,
            } => Some(text.clone()),
            _ => None,
        })
        .collect()
}

fn check(skill: Skill) -> Action {
    Action::Check {
        skill: Some(skill),
        ability: None,
        advantage: Advantage::Normal,
        dc: None,
    }
}

fn assert_ordered(items: &[Arc<FeedItem>]) {
    for w in items.windows(2) {
        assert!(
            w[0].cursor() < w[1].cursor(),
            "out of order or duplicated: {:?} then {:?}",
            w[0].cursor(),
            w[1].cursor()
        );
    }
}

#[tokio::test]
async fn one_telling_for_every_viewer_and_a_restart_replays_it_without_asking_again() {
    let server = FakeLlm::start().await;
    server.always(openai::text_stream(
        &["The torches gutter. ", "Thorin squints into the dark."],
        Duration::from_millis(5),
        Some((100, 20)),
    ));
    let dir = tempfile::tempdir().unwrap();
    let t = Table::open(&dir.path().join("feed.sqlite3")).await;
    let id = t.create("Feed Tale", 3).await;
    let feed = Feed::start(
        t.coord.clone(),
        llm_gm(&server, &t.store),
        CampaignId(id),
        FeedOptions::default(),
    )
    .await
    .unwrap();
    // Two front ends: the GM's and a player's.
    let gm_sub = feed.subscribe(Viewer::Gm, FeedCursor::START);
    let alice_sub = feed.subscribe(Viewer::Player(player("alice")), FeedCursor::START);

    // Three commands, each told as a batch of its own.
    told(&feed, t.last_seq(id).await).await;
    t.run(
        id,
        "alice",
        Action::CreateCharacter {
            spec: CharacterSpec::quick("Thorin", "fighter", "dwarf"),
        },
    )
    .await;
    told(&feed, t.last_seq(id).await).await;
    t.run(id, "alice", check(Skill::Perception)).await;
    told(&feed, t.last_seq(id).await).await;
    let asked = narration_requests(&server);
    assert_eq!(asked, 3, "one LLM call per batch, whoever watches");

    feed.stop().await;
    let gm_items = drain(gm_sub).await;
    let alice_items = drain(alice_sub).await;
    assert_ordered(&gm_items);
    assert_ordered(&alice_items);
    let prose = llm_prose(&gm_items);
    assert_eq!(prose.len(), 6, "two sentences per batch: {prose:?}");
    assert_eq!(prose[0], "The torches gutter.");
    assert_eq!(
        llm_prose(&alice_items),
        prose,
        "both viewers read the same prose"
    );
    let starts = gm_items
        .iter()
        .filter(|i| matches!(i.kind, FeedKind::ProseStart))
        .count();
    let ends = gm_items
        .iter()
        .filter(|i| matches!(i.kind, FeedKind::ProseEnd))
        .count();
    assert_eq!((starts, ends), (3, 3));
    // Every event came with its line, before the batch's prose.
    let events = gm_items
        .iter()
        .filter(|i| matches!(i.kind, FeedKind::Event { .. }))
        .count() as u64;
    assert_eq!(events, t.last_seq(id).await);

    // Restart: a new coordinator and a new feed on the same file.
    drop(feed);
    let path = t.close().await;
    let t = Table::open(&path).await;
    let feed = Feed::start(
        t.coord.clone(),
        llm_gm(&server, &t.store),
        CampaignId(id),
        FeedOptions::default(),
    )
    .await
    .unwrap();
    let replay = feed.subscribe(Viewer::Gm, FeedCursor::START);
    // The campaign goes on: a new command is told once, after the stored items.
    t.run(id, "alice", check(Skill::Stealth)).await;
    told(&feed, t.last_seq(id).await).await;
    feed.stop().await;
    let after = drain(replay).await;
    assert_eq!(
        narration_requests(&server),
        asked + 1,
        "the stored batches were not told again"
    );
    assert_eq!(
        after[..gm_items.len()]
            .iter()
            .map(|i| i.as_ref().clone())
            .collect::<Vec<_>>(),
        gm_items
            .iter()
            .map(|i| i.as_ref().clone())
            .collect::<Vec<_>>(),
        "the restarted feed replays exactly what was told"
    );
    assert_eq!(llm_prose(&after).len(), 8);
    assert_ordered(&after);
    t.close().await;
}

#[tokio::test]
async fn resuming_from_any_cursor_gives_no_duplicate_and_no_gap() {
    let server = FakeLlm::start().await;
    server.always(openai::text_stream(
        &["One. ", "Two. ", "Three."],
        Duration::from_millis(2),
        Some((100, 20)),
    ));
    let dir = tempfile::tempdir().unwrap();
    let t = Table::open(&dir.path().join("feed.sqlite3")).await;
    let id = t.create("Resume Tale", 5).await;
    // A small replay page, so resuming crosses pages.
    let options = FeedOptions {
        replay_page: 2,
        ..FeedOptions::default()
    };
    let feed = Feed::start(
        t.coord.clone(),
        llm_gm(&server, &t.store),
        CampaignId(id),
        options,
    )
    .await
    .unwrap();
    for (who, name) in [("alice", "Thorin"), ("bob", "Brisa")] {
        t.run(
            id,
            who,
            Action::CreateCharacter {
                spec: CharacterSpec::quick(name, "fighter", "dwarf"),
            },
        )
        .await;
        told(&feed, t.last_seq(id).await).await;
    }
    t.run(id, "bob", check(Skill::Athletics)).await;
    told(&feed, t.last_seq(id).await).await;

    // Live subscribers resuming mid-stream see the next items as they come too.
    let all_live = feed.subscribe(Viewer::Gm, FeedCursor::START);
    feed.stop().await;
    let all = drain(all_live).await;
    assert!(
        all.iter()
            .any(|i| matches!(i.kind, FeedKind::ProseChunk { .. }) && i.part > 3),
        "mid-prose cursors are exercised"
    );
    assert_ordered(&all);
    for (i, item) in all.iter().enumerate() {
        let rest = drain(feed.subscribe(Viewer::Gm, item.cursor())).await;
        assert_eq!(
            rest.iter().map(|i| i.cursor()).collect::<Vec<_>>(),
            all[i + 1..].iter().map(|i| i.cursor()).collect::<Vec<_>>(),
            "resumed after {:?}",
            item.cursor()
        );
    }
    t.close().await;
}

/// A tiny deterministic generator (no extra dependency for one property test).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[(self.next() % xs.len() as u64) as usize]
    }
}

/// Property: random secret and public rolls, whispers and GM grants, watched by the GM,
/// the players, an observer and a stranger: each viewer gets exactly the items the
/// engine's visibility allows it, live and replayed, and never another player's.
#[tokio::test]
async fn nobody_receives_what_is_not_theirs() {
    let server = FakeLlm::start().await;
    // The LLM is down: the GM gets notices; nobody else may.
    server.always(Reply::Hang);
    for case in 0..3u64 {
        let dir = tempfile::tempdir().unwrap();
        let t = Table::open(&dir.path().join("feed.sqlite3")).await;
        let id = t.create(&format!("Secret Tale {case}"), 11 + case).await;
        let mut s = test_settings();
        s.http.stall_timeout = Duration::from_millis(200);
        s.http.timeout = Duration::from_millis(400);
        let llm = llm_with(
            ProviderKind::OpenAi,
            &server.base_url(),
            s,
            Some(t.store.clone()),
        );
        let narrator = LlmNarrator::new(llm.clone(), Some(t.store.clone()), Clock::system());
        let gm = GameMaster {
            llm: Some(llm),
            narrator: Arc::new(narrator.clone()),
            llm_narrator: Some(narrator),
            npc_policy: Arc::new(BuiltinPolicy),
            intent: Arc::new(IntentResolver::new(None)),
        };
        let feed = Feed::start(
            t.coord.clone(),
            gm,
            CampaignId(id),
            FeedOptions {
                window: Duration::from_millis(20),
                // Unread subscribers lag behind a small live buffer: they resync from
                // the store.
                live_buffer: [1024, 4, 1][case as usize],
                ..FeedOptions::default()
            },
        )
        .await
        .unwrap();
        let players = ["alice", "bob", "cara"];
        let viewers = [
            Viewer::Gm,
            Viewer::Observer,
            Viewer::Player(player("alice")),
            Viewer::Player(player("bob")),
            Viewer::Player(player("cara")),
            Viewer::Player(player("dave")),
        ];
        let live: Vec<FeedSubscription> = viewers
            .iter()
            .map(|v| feed.subscribe(v.clone(), FeedCursor::START))
            .collect();
        for (p, name) in players.iter().zip(["Ari", "Bram", "Cyd"]) {
            t.run(
                id,
                p,
                Action::CreateCharacter {
                    spec: CharacterSpec::quick(name, "fighter", "human"),
                },
            )
            .await;
        }
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (case + 1));
        for n in 0..25 {
            let who = *rng.pick(&["gm", "alice", "bob", "cara"]);
            let action = match rng.next() % 3 {
                0 if who == "gm" => Action::Whisper {
                    to: player(rng.pick::<&str>(&players)),
                    text: format!("secret {n}"),
                },
                _ => Action::Roll {
                    expr: "1d20+1".into(),
                    secret: rng.next().is_multiple_of(2),
                },
            };
            t.run(id, who, action).await;
            if rng.next().is_multiple_of(4) {
                // Sometimes let a batch be told before the next command.
                told(&feed, t.last_seq(id).await).await;
            }
        }
        told(&feed, t.last_seq(id).await).await;
        feed.stop().await;

        let mut got = Vec::new();
        for sub in live {
            got.push(drain(sub).await);
        }
        let everything = &got[0];
        assert!(
            everything.iter().any(
                |i| i.visibility == Visibility::Gm && matches!(i.kind, FeedKind::Notice { .. })
            ),
            "the GM was told the LLM is down"
        );
        assert!(
            everything
                .iter()
                .any(|i| matches!(i.visibility, Visibility::Player(_))),
            "private items were exercised"
        );
        for (viewer, items) in viewers.iter().zip(&got) {
            assert_ordered(items);
            for i in items {
                assert!(
                    i.visibility.allows(viewer),
                    "{viewer:?} received {:?}",
                    i.as_ref()
                );
                if let (Visibility::Player(owner), Viewer::Player(me)) = (&i.visibility, viewer) {
                    assert_eq!(owner, me);
                }
            }
            let allowed: Vec<FeedCursor> = everything
                .iter()
                .filter(|i| i.visibility.allows(viewer))
                .map(|i| i.cursor())
                .collect();
            let received: Vec<FeedCursor> = items.iter().map(|i| i.cursor()).collect();
            assert_eq!(received, allowed, "{viewer:?} missed items it may see");
            // Replayed from the store: the same.
            let replayed = drain(feed.subscribe(viewer.clone(), FeedCursor::START)).await;
            assert_eq!(
                replayed.iter().map(|i| i.cursor()).collect::<Vec<_>>(),
                allowed
            );
        }
        t.close().await;
    }
}

/// A bot stopped in the middle of a batch's prose: the restarted feed closes that
/// telling as it was stored (a `ProseEnd`), and never asks the LLM for it again.
#[tokio::test]
async fn a_telling_cut_off_is_closed_on_restart_not_told_again() {
    let server = FakeLlm::start().await;
    // The first sentence comes at once; the rest would take far longer than the test.
    let Reply::Stream(mut chunks) = openai::text_stream(
        &["The door creaks open. Then ", "silence."],
        Duration::ZERO,
        Some((100, 20)),
    ) else {
        unreachable!()
    };
    // [role, first piece, second piece, …]
    chunks[2].delay = Duration::from_secs(90);
    server.always(Reply::Stream(chunks));
    let dir = tempfile::tempdir().unwrap();
    let t = Table::open(&dir.path().join("feed.sqlite3")).await;
    let id = t.create("Cut Tale", 9).await;
    let mut s = test_settings();
    s.http.stall_timeout = Duration::from_secs(90);
    s.http.timeout = Duration::from_secs(100);
    let llm = llm_with(
        ProviderKind::OpenAi,
        &server.base_url(),
        s,
        Some(t.store.clone()),
    );
    let narrator = LlmNarrator::new(llm.clone(), Some(t.store.clone()), Clock::system());
    let gm = GameMaster {
        llm: Some(llm),
        narrator: Arc::new(narrator.clone()),
        llm_narrator: Some(narrator),
        npc_policy: Arc::new(BuiltinPolicy),
        intent: Arc::new(IntentResolver::new(None)),
    };
    let feed = Feed::start(
        t.coord.clone(),
        gm.clone(),
        CampaignId(id),
        FeedOptions::default(),
    )
    .await
    .unwrap();
    let mut sub = feed.subscribe(Viewer::Gm, FeedCursor::START);
    let first = within("the first sentence", async {
        loop {
            let item = sub.next().await.expect("the feed ended");
            if let FeedKind::ProseChunk { text, .. } = &item.kind {
                break text.clone();
            }
        }
    })
    .await;
    assert_eq!(first, "The door creaks open.");
    feed.stop().await;
    drop(sub);
    assert_eq!(narration_requests(&server), 1);

    let feed = Feed::start(t.coord.clone(), gm, CampaignId(id), FeedOptions::default())
        .await
        .unwrap();
    let replay = feed.subscribe(Viewer::Gm, FeedCursor::START);
    feed.stop().await;
    let items = drain(replay).await;
    assert_ordered(&items);
    let prose: Vec<&FeedKind> = items
        .iter()
        .map(|i| &i.kind)
        .filter(|k| !matches!(k, FeedKind::Event { .. } | FeedKind::Line { .. }))
        .collect();
    assert!(
        matches!(
            prose.as_slice(),
            [FeedKind::ProseStart, FeedKind::ProseChunk { text, .. }, FeedKind::ProseEnd]
                if text == "The door creaks open."
        ),
        "{prose:?}"
    );
    assert_eq!(narration_requests(&server), 1, "not told a second time");
    t.close().await;
}

/// A campaign played before the feed existed (a database from before migration 0004:
/// no feed cursor) is not told again from its first event: its feed starts at the log's
/// end, no line or prose is made for the old history and the LLM is asked only about
/// what happens afterwards.
#[tokio::test]
async fn a_campaign_from_before_the_feed_starts_at_the_logs_end() {
    let server = FakeLlm::start().await;
    server.always(openai::text_stream(
        &["Thorin looks around. ", "Nothing stirs."],
        Duration::from_millis(5),
        Some((100, 20)),
    ));
    let dir = tempfile::tempdir().unwrap();
    let t = Table::open(&dir.path().join("feed.sqlite3")).await;
    let id = t.create("Old Tale", 5).await;
    t.run(
        id,
        "alice",
        Action::CreateCharacter {
            spec: CharacterSpec::quick("Thorin", "fighter", "dwarf"),
        },
    )
    .await;
    t.run(id, "alice", check(Skill::Perception)).await;
    let old_last = t.last_seq(id).await;
    let path = t.close().await;

    // The file as a database from before 0004 was: no cursor, 0004 not applied.
    let mut conn = sqlx::sqlite::SqliteConnection::connect_with(
        &sqlx::sqlite::SqliteConnectOptions::new().filename(&path),
    )
    .await
    .unwrap();
    use sqlx::Connection as _;
    sqlx::query("DELETE FROM feed_cursors")
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query("DELETE FROM _sqlx_migrations WHERE version = 4")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();

    let t = Table::open(&path).await;
    assert_eq!(
        t.store
            .feed_cursor(dicebard::store::CampaignId(id))
            .await
            .unwrap(),
        old_last
    );
    let feed = Feed::start(
        t.coord.clone(),
        llm_gm(&server, &t.store),
        CampaignId(id),
        FeedOptions::default(),
    )
    .await
    .unwrap();
    let sub = feed.subscribe(Viewer::Gm, FeedCursor::new(old_last, u32::MAX));
    let replay = feed.subscribe(Viewer::Gm, FeedCursor::START);
    t.run(id, "alice", check(Skill::Investigation)).await;
    told(&feed, t.last_seq(id).await).await;
    feed.stop().await;
    let items = drain(sub).await;
    assert!(
        items.iter().any(|i| i.seq == old_last + 1),
        "the new event is told: {items:?}"
    );
    assert!(!llm_prose(&items).is_empty(), "{items:?}");
    let replayed = drain(replay).await;
    assert!(
        replayed
            .iter()
            .all(|i| i.seq > old_last || matches!(i.kind, FeedKind::Event { .. })),
        "no line or prose for the old history: {replayed:?}"
    );
    assert_eq!(
        narration_requests(&server),
        1,
        "the LLM is asked about the new batch only"
    );
    t.close().await;
}

/// The composition root's registry: two front ends asking `Feeds` for the same campaign
/// (the terminal's player and Discord's channel, say) share one feed task, so both get
/// the same prose and the LLM is asked once per batch, not once per front end.
#[tokio::test]
async fn two_front_ends_share_one_feed_and_one_llm_call_per_batch() {
    let server = FakeLlm::start().await;
    server.always(openai::text_stream(
        &["The wind howls. ", "Thorin holds his ground."],
        Duration::from_millis(5),
        Some((100, 20)),
    ));
    let dir = tempfile::tempdir().unwrap();
    let t = Table::open(&dir.path().join("feed.sqlite3")).await;
    let id = t.create("Shared Tale", 9).await;
    let feeds = dicebard::feed::Feeds::new(
        t.coord.clone(),
        llm_gm(&server, &t.store),
        FeedOptions::default(),
    );
    let terminal = feeds.feed(CampaignId(id)).await.unwrap();
    let discord = feeds.feed(CampaignId(id)).await.unwrap();
    let player_sub = terminal.subscribe(Viewer::Player(player("alice")), FeedCursor::START);
    let channel_sub = discord.subscribe(Viewer::Observer, FeedCursor::START);
    t.run(
        id,
        "alice",
        Action::CreateCharacter {
            spec: CharacterSpec::quick("Thorin", "fighter", "dwarf"),
        },
    )
    .await;
    told(&terminal, t.last_seq(id).await).await;
    let before = narration_requests(&server);
    t.run(id, "alice", check(Skill::Athletics)).await;
    told(&discord, t.last_seq(id).await).await;
    assert_eq!(
        narration_requests(&server),
        before + 1,
        "one LLM call for the batch, with two front ends watching"
    );
    feeds.stop_all().await;
    let player_items = drain(player_sub).await;
    let channel_items = drain(channel_sub).await;
    let told_player = llm_prose(&player_items);
    assert!(!told_player.is_empty(), "{player_items:?}");
    assert_eq!(
        told_player,
        llm_prose(&channel_items),
        "the same words for both"
    );
    t.close().await;
}
