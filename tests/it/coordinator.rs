//! The coordinator end to end on a real SQLite file, with tokio's clock paused.
//!
//! # Time in these tests
//! Each test runs on a paused clock and moves it only with [`advance`]. The store's
//! SQLite connections do their IO on their own threads, which tokio cannot see: with
//! plain auto-advance the runtime would think it is idle while a commit is in flight
//! and jump the clock to the next timer (firing a turn warning "early"). So every test
//! holds a [`FrozenClock`] (a parked blocking task, which stops auto-advance) and
//! advances time explicitly. Waits are guarded by a wall-clock watchdog so a broken
//! coordinator fails the test instead of hanging it; no test asserts how long
//! anything took.

use dicebard::clock::Clock;
use dicebard::coordinator::CampaignId;
use dicebard::coordinator::{
    BoxFuture, Committed, Coordinator, CoordinatorOptions, NpcChoice, NpcPolicy, Origin, Snapshot,
    Source, SubmitError, Subscription,
};
use dicebard::store::{DbLocation, Store, StoreOptions};
use dicebard_engine::character::CharacterSpec;
use dicebard_engine::data::Catalog;
use dicebard_engine::{
    Action, CampaignState, Command, CreatureId, EventKind, MonsterGroup, NpcOption, PlayerId,
    RuleError, Settings, Timestamp, Visibility, apply,
};
use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::{Notify, Semaphore};

const START_MS: u64 = 1_700_000_000_000;
const TIMEOUT_MS: u64 = 60_000;
const WARNING_MS: u64 = 15_000;
/// How long any single wait may take in real time before the test is declared hung.
const WATCHDOG: Duration = Duration::from_secs(60);

// ---- time ------------------------------------------------------------------------------

/// Keeps tokio's paused clock from auto-advancing while it lives (see the module docs).
struct FrozenClock {
    release: Option<std::sync::mpsc::Sender<()>>,
}

impl FrozenClock {
    fn hold() -> FrozenClock {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        // A blocking task inhibits auto-advance until it returns.
        tokio::task::spawn_blocking(move || {
            let _ = rx.recv();
        });
        FrozenClock { release: Some(tx) }
    }
}

impl Drop for FrozenClock {
    fn drop(&mut self) {
        // Let the blocking task end, or the runtime would wait for it forever.
        self.release.take();
    }
}

/// Moves the paused clock forward and lets the tasks whose timers fired run.
async fn advance(ms: u64) {
    tokio::time::advance(Duration::from_millis(ms)).await;
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
}

/// Awaits `f`, failing the test (instead of hanging) if it takes more than
/// [`WATCHDOG`] of real time.
async fn within<F: Future>(what: &str, f: F) -> F::Output {
    let (alive, rx) = std::sync::mpsc::channel::<()>();
    let dog = tokio::task::spawn_blocking(move || rx.recv_timeout(WATCHDOG).is_err());
    tokio::select! {
        biased;
        v = f => {
            drop(alive);
            v
        }
        _ = dog => panic!("hung waiting for {what}"),
    }
}

// ---- fixture ---------------------------------------------------------------------------

fn catalog() -> Arc<Catalog> {
    Arc::new(dicebard_srd::catalog().clone())
}

fn options() -> CoordinatorOptions {
    CoordinatorOptions {
        settings: Settings {
            turn_timeout_ms: TIMEOUT_MS,
            turn_warning_ms: WARNING_MS,
            ..Settings::default()
        },
        ..Default::default()
    }
}

async fn open_store(path: &Path) -> Store {
    within(
        "the store to open",
        Store::open(&DbLocation::File(path.to_path_buf())),
    )
    .await
    .expect("open store")
}

fn player(name: &str) -> PlayerId {
    PlayerId::new(format!("test:{name}"))
}

fn origin(p: &PlayerId) -> Origin {
    Origin::new(Source::Terminal, p)
}

fn cmd(p: &PlayerId, action: Action) -> Command {
    Command {
        by: dicebard_engine::Actor::Player(p.clone()),
        action,
    }
}

fn roll() -> Action {
    Action::Roll {
        expr: "1d20".into(),
        secret: false,
    }
}

/// One database file, one coordinator, and the people at the table.
struct Table {
    _dir: tempfile::TempDir,
    path: PathBuf,
    clock: Clock,
    store: Store,
    coord: Coordinator,
    gm: PlayerId,
}

impl Table {
    async fn new(options: CoordinatorOptions) -> Table {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dicebard.sqlite3");
        let store = open_store(&path).await;
        let clock = Clock::starting_at(START_MS);
        let coord = Coordinator::new(store.clone(), catalog(), clock, options);
        Table {
            _dir: dir,
            path,
            clock,
            store,
            coord,
            gm: player("gm"),
        }
    }

    async fn submit(
        &self,
        id: i64,
        by: &PlayerId,
        action: Action,
    ) -> Result<Vec<Arc<Committed>>, SubmitError> {
        within(
            "a command",
            self.coord
                .submit(CampaignId(id), cmd(by, action), origin(by)),
        )
        .await
    }

    /// A started campaign with one fighter per player.
    async fn campaign(&self, name: &str, seed: u64, players: &[(&PlayerId, &str)]) -> i64 {
        let id = within(
            "a new campaign",
            self.coord
                .create_campaign(name, &self.gm, Some(seed), origin(&self.gm)),
        )
        .await
        .expect("create campaign");
        for (p, character) in players {
            self.submit(
                id.get(),
                p,
                Action::CreateCharacter {
                    spec: CharacterSpec::quick(character, "fighter", "human"),
                },
            )
            .await
            .expect("create character");
        }
        id.get()
    }

    /// The campaign's state once everything queued (NPC turns included) is done.
    async fn snapshot(&self, id: i64) -> Snapshot {
        within("a snapshot", self.coord.snapshot(CampaignId(id)))
            .await
            .expect("snapshot")
    }

    async fn last_seq(&self, id: i64) -> u64 {
        self.store
            .last_seq(dicebard::store::CampaignId(id))
            .await
            .expect("last_seq")
    }
}

/// Events from `sub` up to and including `seq`.
async fn drain_to(sub: &mut Subscription, seq: u64) -> Vec<Arc<Committed>> {
    let mut out = Vec::new();
    while sub.last_seq() < seq {
        let e = within("an event", sub.next())
            .await
            .expect("subscription ended");
        out.push(e);
    }
    out
}

/// Settles the campaign and returns its state with the events since the last call.
async fn settle(t: &Table, id: i64, sub: &mut Subscription) -> (Snapshot, Vec<Arc<Committed>>) {
    let snap = t.snapshot(id).await;
    let events = drain_to(sub, snap.seq).await;
    (snap, events)
}

fn kinds(events: &[Arc<Committed>]) -> Vec<&'static str> {
    events.iter().map(|e| e.event.kind_name()).collect()
}

fn active(state: &CampaignState) -> CreatureId {
    state
        .combat
        .as_ref()
        .and_then(|c| c.active_creature())
        .expect("a fight with an active creature")
}

fn deadline(state: &CampaignState) -> Timestamp {
    state
        .combat
        .as_ref()
        .and_then(|c| c.deadline)
        .expect("a running turn clock")
}

fn owner(state: &CampaignState, id: CreatureId) -> PlayerId {
    state.creatures[&id]
        .owner()
        .cloned()
        .expect("a player character")
}

fn is_goblin(state: &CampaignState, id: CreatureId) -> bool {
    state.creatures[&id].monster.as_deref() == Some("goblin")
}

fn hit_points(state: &CampaignState) -> Vec<(CreatureId, i32)> {
    state.creatures.values().map(|c| (c.id, c.hp)).collect()
}

/// Every event in the log: seqs 1..=n without a gap, and equal to `seen` where seen.
async fn check_log(t: &Table, id: i64, seen: &[Arc<Committed>]) -> Vec<Arc<Committed>> {
    let log = t
        .coord
        .events_since(CampaignId(id), 0)
        .await
        .expect("read the log");
    for (i, e) in log.iter().enumerate() {
        assert_eq!(e.seq, i as u64 + 1, "the log has a gap or is out of order");
    }
    for s in seen {
        let stored = &log[s.seq as usize - 1];
        assert_eq!(
            **stored, **s,
            "acknowledged event {} differs in the log",
            s.seq
        );
    }
    log
}

// ---- the turn clock, NPCs and turn order ------------------------------------------------

#[tokio::test(start_paused = true)]
async fn turn_clock_warns_times_out_and_monsters_act_on_their_own() {
    let _frozen = FrozenClock::hold();
    let t = Table::new(options()).await;
    let (alice, bob) = (player("alice"), player("bob"));
    let id = t
        .campaign("Goblin Ambush", 7, &[(&alice, "Alia"), (&bob, "Bram")])
        .await;
    let mut seen: Vec<Arc<Committed>> = Vec::new();
    let mut sub = t
        .coord
        .subscribe(CampaignId(id), t.last_seq(id).await)
        .await
        .unwrap();

    t.submit(
        id,
        &t.gm.clone(),
        Action::StartCombat {
            monsters: vec![MonsterGroup {
                monster: "goblin".into(),
                count: 2,
            }],
        },
    )
    .await
    .expect("start the fight");
    let (snap, events) = settle(&t, id, &mut sub).await;
    seen.extend(events.iter().cloned());
    assert!(
        kinds(&events).contains(&"CombatStarted"),
        "{:?}",
        kinds(&events)
    );
    // Monsters who won initiative have already had their turn: a player is up.
    let state = &snap.state;
    let pc = active(state);
    assert!(state.creatures[&pc].is_pc());
    let due = deadline(state);
    assert_eq!(due, t.clock.now().plus_ms(TIMEOUT_MS));

    // Before the warning nothing happens.
    advance(TIMEOUT_MS - WARNING_MS - 1).await;
    assert_eq!(t.snapshot(id).await.seq, snap.seq);
    assert_eq!(t.last_seq(id).await, snap.seq);

    // At the warning: a TurnWarning only the active player (and the GM) may see.
    advance(1).await;
    let warning = within("the turn warning", sub.next()).await.unwrap();
    seen.push(warning.clone());
    assert_eq!(
        warning.event.kind,
        EventKind::TurnWarning {
            creature: pc,
            deadline: due
        }
    );
    assert_eq!(
        warning.event.visibility,
        Visibility::Player(owner(state, pc))
    );
    assert_eq!(warning.origin.source, Source::System);
    let (snap, events) = settle(&t, id, &mut sub).await;
    assert!(events.is_empty(), "only the warning: {:?}", kinds(&events));

    // At the deadline: timed out, dodges, and the next combatant's turn starts.
    advance(WARNING_MS).await;
    let first = within("the time-out", sub.next()).await.unwrap();
    seen.push(first.clone());
    assert_eq!(first.event.kind, EventKind::TurnTimedOut { creature: pc });
    let (snap2, events) = settle(&t, id, &mut sub).await;
    seen.extend(events.iter().cloned());
    assert_eq!(events[0].event.kind, EventKind::Dodged { creature: pc });
    assert!(
        events.iter().any(
            |e| matches!(e.event.kind, EventKind::TurnStarted { creature, .. } if creature != pc)
        ),
        "the next turn starts: {:?}",
        kinds(&events)
    );
    assert!(snap2.seq > snap.seq);

    // Keep letting turns run out until a goblin attacks: nobody sends a command for it.
    let mut state = snap2.state;
    let mut goblin_attacked = events.iter().any(|e| {
        matches!(e.event.kind, EventKind::AttackRolled { attacker, .. } if is_goblin(&state, attacker))
    });
    for _ in 0..8 {
        if goblin_attacked {
            break;
        }
        assert!(state.in_combat(), "the fight ended before a goblin acted");
        let wait = t.clock.now().until(deadline(&state));
        advance(wait).await;
        let e = within("a time-out", sub.next()).await.unwrap();
        seen.push(e);
        let (snap, events) = settle(&t, id, &mut sub).await;
        seen.extend(events.iter().cloned());
        state = snap.state;
        for e in &events {
            if let EventKind::AttackRolled { attacker, .. } = e.event.kind
                && is_goblin(&state, attacker)
            {
                assert_eq!(
                    e.origin,
                    Origin::system(),
                    "monsters act on the system's behalf"
                );
                goblin_attacked = true;
            }
        }
    }
    assert!(goblin_attacked, "no goblin attacked on its own turn");

    // Out of turn: refused with the engine's message, and nothing is written.
    let snap = t.snapshot(id).await;
    if snap.state.in_combat() {
        let up = active(&snap.state);
        let up_name = snap.state.creatures[&up].name.clone();
        let other = if owner(&snap.state, up) == alice {
            &bob
        } else {
            &alice
        };
        let before = t.last_seq(id).await;
        let err = t
            .submit(
                id,
                other,
                Action::Attack {
                    target: "goblin".into(),
                    weapon: None,
                },
            )
            .await
            .expect_err("not their turn");
        assert!(
            matches!(&err, SubmitError::Rule(RuleError::NotYourTurn { active }) if *active == up_name),
            "{err:?}"
        );
        assert_eq!(
            err.user_message(),
            format!("It's {up_name}'s turn — wait for yours.")
        );
        assert_eq!(t.last_seq(id).await, before);
        assert_eq!(t.snapshot(id).await.seq, before);
    }

    let log = check_log(&t, id, &seen).await;
    let replayed = dicebard_engine::replay(catalog(), log.iter().map(|c| &c.event));
    assert_eq!(
        replayed,
        t.snapshot(id).await.state,
        "replaying the log gives the same state"
    );
    drop(sub);
    t.coord.shutdown().await;
}

/// A non-active player cannot act even before any time has passed, and the refusal
/// leaves no trace.
#[tokio::test(start_paused = true)]
async fn out_of_turn_action_is_refused_and_writes_nothing() {
    let _frozen = FrozenClock::hold();
    let t = Table::new(options()).await;
    let (alice, bob) = (player("alice"), player("bob"));
    let id = t
        .campaign("Turn Order", 11, &[(&alice, "Alia"), (&bob, "Bram")])
        .await;
    t.submit(
        id,
        &t.gm.clone(),
        Action::StartCombat {
            monsters: vec![MonsterGroup {
                monster: "goblin".into(),
                count: 1,
            }],
        },
    )
    .await
    .unwrap();
    let snap = t.snapshot(id).await;
    let up = active(&snap.state);
    let up_name = snap.state.creatures[&up].name.clone();
    let other = if owner(&snap.state, up) == alice {
        bob
    } else {
        alice
    };
    let before = t.last_seq(id).await;
    assert_eq!(before, snap.seq);
    for action in [
        Action::Attack {
            target: "goblin".into(),
            weapon: None,
        },
        Action::Dodge,
        Action::EndTurn,
    ] {
        let err = t.submit(id, &other, action).await.unwrap_err();
        assert_eq!(
            err.user_message(),
            format!("It's {up_name}'s turn — wait for yours.")
        );
    }
    assert_eq!(t.last_seq(id).await, before);
    let after = t.snapshot(id).await;
    assert_eq!(after.seq, before);
    assert_eq!(after.state, snap.state);
    t.coord.shutdown().await;
}

// ---- restart -----------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn restart_mid_turn_keeps_the_absolute_deadline() {
    let _frozen = FrozenClock::hold();
    let t = Table::new(options()).await;
    let (alice, bob) = (player("alice"), player("bob"));
    let id = t
        .campaign("Crash Mid Turn", 3, &[(&alice, "Alia"), (&bob, "Bram")])
        .await;
    let mut acked: Vec<Arc<Committed>> = Vec::new();
    acked.extend(
        t.submit(
            id,
            &t.gm.clone(),
            Action::StartCombat {
                monsters: vec![MonsterGroup {
                    monster: "goblin".into(),
                    count: 2,
                }],
            },
        )
        .await
        .unwrap(),
    );
    let snap = t.snapshot(id).await;
    let pc = active(&snap.state);
    let due = deadline(&snap.state);
    assert_eq!(t.clock.now().until(due), TIMEOUT_MS);

    // 20 s into the 60 s turn the player does something (recorded at that time).
    advance(20_000).await;
    let who = owner(&snap.state, pc);
    acked.extend(
        t.submit(
            id,
            &who,
            Action::Act {
                text: "I look for cover.".into(),
            },
        )
        .await
        .unwrap(),
    );
    let before = t.snapshot(id).await;
    assert_eq!(active(&before.state), pc);
    assert_eq!(before.state.clock.until(deadline(&before.state)), 40_000);
    assert_eq!(t.last_seq(id).await, before.seq);

    // The process goes away (and stays down for ten seconds).
    t.coord.shutdown().await;
    t.store.close().await;
    advance(DOWNTIME_MS).await;

    let store = open_store(&t.path).await;
    let coord = Coordinator::new(store.clone(), catalog(), t.clock, options());
    // Several front ends hit the campaign at once as it loads: it must load once, with
    // one resumed clock, and every command must go through.
    let submits = (0..6).map(|i| {
        let who = if i % 2 == 0 { &alice } else { &bob };
        coord.submit(CampaignId(id), cmd(who, roll()), origin(who))
    });
    let results = within("commands during the load", futures_join_all(submits)).await;
    for r in &results {
        assert!(r.is_ok(), "{r:?}");
    }
    let log = coord
        .events_since(CampaignId(id), before.seq)
        .await
        .unwrap();
    let resumed = &log[0];
    assert_eq!(
        resumed.event.kind,
        EventKind::TurnClockResumed {
            creature: pc,
            deadline: deadline(&before.state),
        },
        "deadlines are absolute: the downtime counts against the turn"
    );
    assert_eq!(resumed.seq, before.seq + 1);
    assert_eq!(
        log.iter()
            .filter(|e| matches!(e.event.kind, EventKind::TurnClockResumed { .. }))
            .count(),
        1,
        "loaded exactly once: {:?}",
        kinds(&log)
    );
    assert_eq!(log.len(), 1 + results.len());

    // Apart from the resumed clock (and the rolls) the state is the one we left.
    let mut expect = before.state.clone();
    for e in &log {
        apply(&mut expect, &e.event);
    }
    let after = within("a snapshot", coord.snapshot(CampaignId(id)))
        .await
        .unwrap();
    assert_eq!(after.state, expect);
    assert_eq!(after.seq, before.seq + log.len() as u64);
    assert_eq!(
        after.state.combat.as_ref().unwrap().round,
        before.state.combat.as_ref().unwrap().round
    );
    assert_eq!(active(&after.state), pc);
    assert_eq!(hit_points(&after.state), hit_points(&before.state));

    // The acknowledged events survived, without gaps.
    let all = coord.events_since(CampaignId(id), 0).await.unwrap();
    for (i, e) in all.iter().enumerate() {
        assert_eq!(e.seq, i as u64 + 1);
    }
    for a in &acked {
        assert_eq!(*all[a.seq as usize - 1], **a);
    }

    // And the resumed clock runs: the 30 s left after the downtime bring the warning at
    // 15 s and the time-out at 30 s after the restart.
    let left = 40_000 - DOWNTIME_MS;
    let mut sub = coord.subscribe(CampaignId(id), after.seq).await.unwrap();
    advance(left - WARNING_MS - 1).await;
    assert_eq!(
        store
            .last_seq(dicebard::store::CampaignId(id))
            .await
            .unwrap(),
        after.seq
    );
    advance(1).await;
    let w = within("the warning", sub.next()).await.unwrap();
    assert!(matches!(w.event.kind, EventKind::TurnWarning { creature, .. } if creature == pc));
    advance(WARNING_MS).await;
    let w = within("the time-out", sub.next()).await.unwrap();
    assert_eq!(w.event.kind, EventKind::TurnTimedOut { creature: pc });
    drop(sub);
    coord.shutdown().await;
}

/// How long the host is down in the restart test (less than the time left).
const DOWNTIME_MS: u64 = 10_000;

/// A deadline that passed while the host was down gives the
/// player the warning period from the restart, with a fresh warning: not a whole new
/// turn, and not an instant time-out they could not see coming.
#[tokio::test(start_paused = true)]
async fn a_deadline_that_passed_while_down_gives_the_warning_period() {
    let _frozen = FrozenClock::hold();
    let t = Table::new(options()).await;
    let (alice, bob) = (player("alice"), player("bob"));
    let id = t
        .campaign("Down Past Deadline", 3, &[(&alice, "Alia"), (&bob, "Bram")])
        .await;
    t.submit(
        id,
        &t.gm.clone(),
        Action::StartCombat {
            monsters: vec![MonsterGroup {
                monster: "goblin".into(),
                count: 2,
            }],
        },
    )
    .await
    .unwrap();
    let snap = t.snapshot(id).await;
    let pc = active(&snap.state);
    let first_deadline = deadline(&snap.state);
    let seq = snap.seq;

    // The host goes away and stays down well past the deadline (the same rule holds
    // after a kill -9: see `crash::kill_past_a_turn_deadline`).
    t.coord.shutdown().await;
    t.store.close().await;
    advance(TIMEOUT_MS * 5).await;

    let store = open_store(&t.path).await;
    let coord = Coordinator::new(store.clone(), catalog(), t.clock, options());
    let mut sub = coord.subscribe(CampaignId(id), seq).await.unwrap();
    let restart_now = t.clock.now();
    assert!(restart_now > first_deadline);
    let resumed = within("the resumed clock", sub.next()).await.unwrap();
    assert_eq!(
        resumed.event.kind,
        EventKind::TurnClockResumed {
            creature: pc,
            deadline: restart_now.plus_ms(WARNING_MS),
        }
    );
    let w = within("a fresh warning", sub.next()).await.unwrap();
    assert!(matches!(w.event.kind, EventKind::TurnWarning { creature, .. } if creature == pc));
    advance(WARNING_MS - 1).await;
    assert_eq!(
        store
            .last_seq(dicebard::store::CampaignId(id))
            .await
            .unwrap(),
        w.seq
    );
    advance(1).await;
    let out = within("the time-out", sub.next()).await.unwrap();
    assert_eq!(out.event.kind, EventKind::TurnTimedOut { creature: pc });
    drop(sub);
    coord.shutdown().await;
}

/// `join_all` without a futures dependency: polls the futures concurrently.
async fn futures_join_all<F: Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut set = Vec::new();
    for f in futures {
        set.push(Box::pin(f));
    }
    let mut out: Vec<Option<F::Output>> = set.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, o) in set.iter_mut().zip(out.iter_mut()) {
            if o.is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *o = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().map(|o| o.unwrap()).collect()
}

// ---- subscriptions ----------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn lagging_subscriber_gets_every_event_in_order() {
    const ROLLS: usize = 2_000;
    let _frozen = FrozenClock::hold();
    let t = Table::new(options()).await;
    let alice = player("alice");
    let id = t.campaign("Many Rolls", 5, &[(&alice, "Alia")]).await;
    let start = t.last_seq(id).await;
    // Subscribed, but not read while far more than the live channel holds goes by.
    let mut sub = t.coord.subscribe(CampaignId(id), start).await.unwrap();
    let mut acked = Vec::with_capacity(ROLLS);
    // Four players' worth of concurrent submitters.
    let mut tasks = Vec::new();
    for k in 0..4 {
        let coord = t.coord.clone();
        let who = player(&format!("p{k}"));
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            for _ in 0..ROLLS / 4 {
                got.extend(
                    coord
                        .submit(CampaignId(id), cmd(&who, roll()), origin(&who))
                        .await
                        .unwrap(),
                );
            }
            got
        }));
    }
    for task in tasks {
        acked.extend(within("the rolls", task).await.unwrap());
    }
    assert_eq!(acked.len(), ROLLS);
    acked.sort_by_key(|c| c.seq);

    let got = drain_to(&mut sub, start + ROLLS as u64).await;
    assert_eq!(got.len(), ROLLS);
    for (i, (g, a)) in got.iter().zip(&acked).enumerate() {
        assert_eq!(g.seq, start + 1 + i as u64, "in order, without gaps");
        assert_eq!(**g, **a);
        assert!(matches!(g.event.kind, EventKind::DiceRolled { .. }));
    }
    check_log(&t, id, &acked).await;
    drop(sub);
    t.coord.shutdown().await;
}

/// A subscription that starts in the past reads the log first, then follows live.
#[tokio::test(start_paused = true)]
async fn subscription_from_the_start_replays_then_follows() {
    let _frozen = FrozenClock::hold();
    let t = Table::new(options()).await;
    let alice = player("alice");
    let id = t.campaign("Catch Up", 1, &[(&alice, "Alia")]).await;
    for _ in 0..5 {
        t.submit(id, &alice, roll()).await.unwrap();
    }
    let mut sub = t.coord.subscribe(CampaignId(id), 0).await.unwrap();
    let first = within("the first event", sub.next()).await.unwrap();
    assert_eq!(first.seq, 1);
    assert!(matches!(
        first.event.kind,
        EventKind::CampaignStarted { .. }
    ));
    let now = t.last_seq(id).await;
    drain_to(&mut sub, now).await;
    let live = t.submit(id, &alice, roll()).await.unwrap();
    let next = within("a live event", sub.next()).await.unwrap();
    assert_eq!(*next, *live[0]);
    drop(sub);
    t.coord.shutdown().await;
}

/// `next` may be cancelled (it sits in a `select!`) without losing events.
#[tokio::test(start_paused = true)]
async fn cancelled_next_loses_nothing() {
    let _frozen = FrozenClock::hold();
    let t = Table::new(options()).await;
    let alice = player("alice");
    let id = t.campaign("Cancelled", 1, &[(&alice, "Alia")]).await;
    for _ in 0..50 {
        t.submit(id, &alice, roll()).await.unwrap();
    }
    let mut sub = t.coord.subscribe(CampaignId(id), 0).await.unwrap();
    let mut all = Vec::new();
    // Poll once (it starts reading the backlog from the log) and drop it.
    {
        let next = sub.next();
        tokio::pin!(next);
        let polled =
            std::future::poll_fn(|cx| std::task::Poll::Ready(next.as_mut().poll(cx))).await;
        if let std::task::Poll::Ready(e) = polled {
            all.push(e.unwrap());
        }
    }
    let live = t.submit(id, &alice, roll()).await.unwrap();
    all.extend(drain_to(&mut sub, live[0].seq).await);
    let seqs: Vec<u64> = all.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=live[0].seq).collect::<Vec<_>>());
    t.coord.shutdown().await;
}

// ---- commands queued together ---------------------------------------------------------------

/// Commands that arrive together are committed together, but decided exactly as if one
/// by one: a command queued behind the one that hands the turn to a monster is decided
/// after the monster's turn.
#[tokio::test(start_paused = true)]
async fn queued_commands_wait_for_the_monster_turn_between_them() {
    let _frozen = FrozenClock::hold();
    let t = Table::new(options()).await;
    let (alice, bob) = (player("alice"), player("bob"));
    let id = t
        .campaign("Queued", 21, &[(&alice, "Alia"), (&bob, "Bram")])
        .await;
    t.submit(
        id,
        &t.gm.clone(),
        Action::StartCombat {
            monsters: vec![MonsterGroup {
                monster: "goblin".into(),
                count: 1,
            }],
        },
    )
    .await
    .unwrap();
    // Pass turns until the goblin comes right after the active player.
    let mut snap = t.snapshot(id).await;
    let next_is_goblin = |s: &CampaignState| {
        let c = s.combat.as_ref().unwrap();
        let next = c.order[(c.active + 1) % c.order.len()].creature;
        is_goblin(s, next)
    };
    if !next_is_goblin(&snap.state) {
        let up = owner(&snap.state, active(&snap.state));
        t.submit(id, &up, Action::EndTurn).await.unwrap();
        snap = t.snapshot(id).await;
    }
    assert!(next_is_goblin(&snap.state));
    let first = active(&snap.state);
    let (up, other) = if owner(&snap.state, first) == alice {
        (alice.clone(), bob.clone())
    } else {
        (bob.clone(), alice.clone())
    };

    // Both commands are queued before the actor looks at either.
    let end = t
        .coord
        .submit(CampaignId(id), cmd(&up, Action::EndTurn), origin(&up));
    let attack = t.coord.submit(
        CampaignId(id),
        cmd(
            &other,
            Action::Attack {
                target: "goblin".into(),
                weapon: None,
            },
        ),
        origin(&other),
    );
    let results = within(
        "the two commands",
        futures_join_all([
            Box::pin(end) as std::pin::Pin<Box<dyn Future<Output = _>>>,
            Box::pin(attack),
        ]),
    )
    .await;
    let ended = results[0].as_ref().expect("end turn");
    let attacked = results[1]
        .as_ref()
        .expect("the attack comes after the goblin's turn, on the attacker's turn");
    assert!(matches!(ended[0].event.kind, EventKind::TurnEnded { creature } if creature == first));
    let goblin_turn = attacked[0].seq - ended.last().unwrap().seq - 1;
    assert!(goblin_turn > 0, "the goblin acted in between");
    let log = check_log(&t, id, &[ended.clone(), attacked.clone()].concat()).await;
    let between = &log[ended.last().unwrap().seq as usize..attacked[0].seq as usize - 1];
    assert!(
        between.iter().all(|e| e.origin == Origin::system()),
        "{:?}",
        kinds(between)
    );
    assert!(matches!(
        attacked[0].event.kind,
        EventKind::AttackRolled { .. }
    ));
    let replayed = dicebard_engine::replay(catalog(), log.iter().map(|c| &c.event));
    assert_eq!(replayed, t.snapshot(id).await.state);
    t.coord.shutdown().await;
}

/// When the commit fails, the commands fail, the state is as before them, and the
/// campaign carries on once storage works again.
#[tokio::test(start_paused = true)]
async fn a_failed_commit_leaves_no_trace() {
    let _frozen = FrozenClock::hold();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dicebard.sqlite3");
    let store = within(
        "the store",
        Store::open_with(
            &DbLocation::File(path.clone()),
            StoreOptions {
                busy_timeout: Duration::from_millis(200),
                ..Default::default()
            },
        ),
    )
    .await
    .unwrap();
    let t = Table {
        _dir: dir,
        path: path.clone(),
        clock: Clock::starting_at(START_MS),
        store: store.clone(),
        coord: Coordinator::new(store, catalog(), Clock::starting_at(START_MS), options()),
        gm: player("gm"),
    };
    let alice = player("alice");
    let id = t.campaign("Locked Out", 8, &[(&alice, "Alia")]).await;
    let before = t.snapshot(id).await;

    // Another program takes the write lock.
    let mut other = within(
        "a second connection",
        SqliteConnection::connect_with(&SqliteConnectOptions::new().filename(&path)),
    )
    .await
    .unwrap();
    sqlx::query("BEGIN EXCLUSIVE")
        .execute(&mut other)
        .await
        .unwrap();
    sqlx::query("UPDATE campaigns SET settings_json = settings_json")
        .execute(&mut other)
        .await
        .unwrap();

    let results = within(
        "commands against a locked database",
        futures_join_all((0..5).map(|_| {
            t.coord
                .submit(CampaignId(id), cmd(&alice, roll()), origin(&alice))
        })),
    )
    .await;
    for r in &results {
        let e = r.as_ref().expect_err("nothing can be committed");
        assert!(e.user_message().contains("locked"), "{}", e.user_message());
    }
    let during = t.snapshot(id).await;
    assert_eq!(during.seq, before.seq);
    assert_eq!(during.state, before.state);

    sqlx::query("ROLLBACK").execute(&mut other).await.unwrap();
    let evs = t.submit(id, &alice, roll()).await.unwrap();
    assert_eq!(evs[0].seq, before.seq + 1);
    check_log(&t, id, &evs).await;
    t.coord.shutdown().await;
}

// ---- campaigns are independent -------------------------------------------------------------

/// An NPC policy that stalls on one campaign until released (a slow LLM, say).
struct StallingPolicy {
    campaign: String,
    gate: Arc<Semaphore>,
    stalled: Arc<Notify>,
    entered: AtomicBool,
}

impl NpcPolicy for StallingPolicy {
    fn choose<'a>(
        &'a self,
        _campaign_id: CampaignId,
        state: &'a CampaignState,
        options: &'a [NpcOption],
    ) -> BoxFuture<'a, NpcChoice> {
        Box::pin(async move {
            if state.name == self.campaign {
                if !self.entered.swap(true, Ordering::SeqCst) {
                    self.stalled.notify_one();
                }
                let _permit = self.gate.acquire().await.unwrap();
            }
            NpcChoice::plain(dicebard_engine::choose_npc_option(state, options))
        })
    }
}

#[tokio::test(start_paused = true)]
async fn a_stalled_campaign_does_not_hold_up_another() {
    let _frozen = FrozenClock::hold();
    let gate = Arc::new(Semaphore::new(0));
    let stalled = Arc::new(Notify::new());
    let policy = Arc::new(StallingPolicy {
        campaign: "Slow Table".into(),
        gate: gate.clone(),
        stalled: stalled.clone(),
        entered: AtomicBool::new(false),
    });
    let t = Table::new(CoordinatorOptions {
        npc_policy: policy,
        ..options()
    })
    .await;
    let (alice, bob) = (player("alice"), player("bob"));
    let slow = t.campaign("Slow Table", 2, &[(&alice, "Alia")]).await;
    let fast = t.campaign("Fast Table", 2, &[(&bob, "Bram")]).await;

    // Start a fight at the slow table and pass turns until a goblin is up: its actor
    // then waits on the stalled policy.
    t.submit(
        slow,
        &t.gm.clone(),
        Action::StartCombat {
            monsters: vec![MonsterGroup {
                monster: "goblin".into(),
                count: 1,
            }],
        },
    )
    .await
    .unwrap();
    let notified = stalled.notified();
    tokio::pin!(notified);
    let mut passes = 0;
    loop {
        tokio::select! {
            biased;
            _ = &mut notified => break,
            snap = t.coord.snapshot(CampaignId(slow)) => {
                let snap = snap.unwrap();
                assert!(snap.state.in_combat());
                passes += 1;
                assert!(passes < 5, "the goblin never got a turn");
                t.submit(slow, &alice, Action::EndTurn).await.unwrap();
            }
        }
    }
    let slow_seq = t.last_seq(slow).await;

    // A command for the slow table waits behind the stalled NPC turn…
    let coord = t.coord.clone();
    let a = alice.clone();
    let slow_cmd = tokio::spawn(async move {
        coord
            .submit(CampaignId(slow), cmd(&a, roll()), origin(&a))
            .await
    });
    // …while the other table goes on as usual.
    for _ in 0..20 {
        let evs = t.submit(fast, &bob, roll()).await.unwrap();
        assert_eq!(evs.len(), 1);
    }
    let fast_snap = t.snapshot(fast).await;
    assert_eq!(fast_snap.seq, t.last_seq(fast).await);
    assert!(
        !slow_cmd.is_finished(),
        "the slow table's command waits its turn"
    );
    assert_eq!(t.last_seq(slow).await, slow_seq);

    // Once the policy answers, the slow table catches up.
    gate.add_permits(1_000);
    let evs = within("the slow command", slow_cmd).await.unwrap().unwrap();
    assert!(matches!(evs[0].event.kind, EventKind::DiceRolled { .. }));
    assert!(
        t.last_seq(slow).await > slow_seq + 1,
        "the goblin acted, then the roll"
    );
    t.coord.shutdown().await;
}

/// A slow NPC decision (an LLM thinking) holds up only that monster's turn: the policy
/// runs off the campaign's loop, so the campaign's snapshots and its GM's commands are
/// answered meanwhile; a player's command waits for the monster, as before; and an
/// answer for a turn that is over by the time it comes is dropped, not played.
#[tokio::test(start_paused = true)]
async fn a_slow_npc_decision_does_not_hold_up_snapshots_or_the_gm() {
    let _frozen = FrozenClock::hold();
    let gate = Arc::new(Semaphore::new(0));
    let stalled = Arc::new(Notify::new());
    let policy = Arc::new(StallingPolicy {
        campaign: "Slow Table".into(),
        gate: gate.clone(),
        stalled: stalled.clone(),
        entered: AtomicBool::new(false),
    });
    let t = Table::new(CoordinatorOptions {
        npc_policy: policy,
        ..options()
    })
    .await;
    let alice = player("alice");
    let slow = t.campaign("Slow Table", 2, &[(&alice, "Alia")]).await;
    let gm = t.gm.clone();
    t.submit(
        slow,
        &gm,
        Action::StartCombat {
            monsters: vec![MonsterGroup {
                monster: "goblin".into(),
                count: 1,
            }],
        },
    )
    .await
    .unwrap();
    // Pass Alia's turns until the goblin is up and its policy is thinking.
    let notified = stalled.notified();
    tokio::pin!(notified);
    let mut passes = 0;
    loop {
        tokio::select! {
            biased;
            _ = &mut notified => break,
            snap = t.coord.snapshot(CampaignId(slow)) => {
                let snap = snap.unwrap();
                if dicebard_engine::npc_options(&snap.state).is_empty() {
                    passes += 1;
                    assert!(passes < 5, "the goblin never got a turn");
                    t.submit(slow, &alice, Action::EndTurn).await.unwrap();
                } else {
                    tokio::task::yield_now().await;
                }
            }
        }
    }
    let before = t.last_seq(slow).await;

    // The snapshot is answered while the goblin decides (it used to wait for it).
    let snap = within(
        "a snapshot while the monster decides",
        t.coord.snapshot(CampaignId(slow)),
    )
    .await
    .unwrap();
    assert_eq!(snap.seq, before);
    assert!(
        !dicebard_engine::npc_options(&snap.state).is_empty(),
        "the goblin is still up, deciding"
    );
    // So is the GM's command.
    let rolled = t.submit(slow, &gm, roll()).await.unwrap();
    assert!(matches!(rolled[0].event.kind, EventKind::DiceRolled { .. }));
    // A player's command waits for the monster.
    let coord = t.coord.clone();
    let a = alice.clone();
    let waiting = tokio::spawn(async move {
        coord
            .submit(CampaignId(slow), cmd(&a, roll()), origin(&a))
            .await
    });
    advance(10).await;
    assert!(
        !waiting.is_finished(),
        "the player's command waits its turn"
    );

    // The GM ends the fight before the goblin's answer comes: the answer is dropped.
    let ended = t.submit(slow, &gm, Action::EndCombat).await.unwrap();
    assert!(
        ended
            .iter()
            .any(|c| matches!(c.event.kind, EventKind::CombatEnded { .. })),
        "{:?}",
        kinds(&ended)
    );
    gate.add_permits(1_000);
    let evs = within("the waiting command", waiting)
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(evs[0].event.kind, EventKind::DiceRolled { .. }));
    let log = t
        .store
        .events(dicebard::store::CampaignId(slow), before)
        .await
        .unwrap();
    let kinds: Vec<&str> = log.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "DiceRolled").count(),
        2,
        "{kinds:?}"
    );
    assert!(
        !kinds
            .iter()
            .any(|k| matches!(*k, "AttackRolled" | "Dodged" | "NpcIntent")),
        "a stale NPC answer was played: {kinds:?}"
    );
    t.coord.shutdown().await;
}

/// A policy that states an intent (as the LLM's does) with its choice.
struct StatingPolicy;

impl NpcPolicy for StatingPolicy {
    fn choose<'a>(
        &'a self,
        _campaign_id: CampaignId,
        state: &'a CampaignState,
        options: &'a [NpcOption],
    ) -> BoxFuture<'a, NpcChoice> {
        Box::pin(async move {
            NpcChoice {
                option: dicebard_engine::choose_npc_option(state, options),
                intent: Some("Snarling,\n\tit lunges at the weakest.".into()),
            }
        })
    }
}

/// The NPC's stated intent travels in the log: a GM-only `NpcIntent` event (one line,
/// no control characters) right before the monster's own action.
#[tokio::test(start_paused = true)]
async fn an_npcs_stated_intent_is_recorded_in_the_log() {
    let _frozen = FrozenClock::hold();
    let t = Table::new(CoordinatorOptions {
        npc_policy: Arc::new(StatingPolicy),
        ..options()
    })
    .await;
    let alice = player("alice");
    let id = t.campaign("Stated Intent", 3, &[(&alice, "Alia")]).await;
    t.submit(
        id,
        &t.gm.clone(),
        Action::StartCombat {
            monsters: vec![MonsterGroup {
                monster: "goblin".into(),
                count: 1,
            }],
        },
    )
    .await
    .unwrap();
    let mut found = None;
    for _ in 0..50 {
        let log = t
            .store
            .events(dicebard::store::CampaignId(id), 0)
            .await
            .unwrap();
        if let Some(i) = log.iter().position(|e| e.kind == "NpcIntent") {
            found = Some((log, i));
            break;
        }
        let snap = t.snapshot(id).await;
        if dicebard_engine::npc_options(&snap.state).is_empty() && snap.state.in_combat() {
            t.submit(id, &alice, Action::EndTurn).await.unwrap();
        } else {
            advance(1).await;
        }
    }
    let (log, i) = found.expect("the goblin acted with a stated intent");
    let intent = &log[i];
    assert_eq!(intent.visibility, "gm", "the intent is for the GM's eyes");
    let event: dicebard_engine::Event = serde_json::from_str(&intent.body).unwrap();
    let EventKind::NpcIntent {
        creature,
        intent: text,
    } = event.kind
    else {
        panic!("{event:?}")
    };
    assert_eq!(text, "Snarling, it lunges at the weakest.");
    let next: dicebard_engine::Event = serde_json::from_str(
        &log.get(i + 1)
            .expect("the monster's action follows its intent")
            .body,
    )
    .unwrap();
    match next.kind {
        EventKind::AttackRolled { attacker, .. } => assert_eq!(attacker, creature),
        EventKind::Dodged { creature: c } => assert_eq!(c, creature),
        other => panic!("not the monster's action: {other:?}"),
    }
    t.coord.shutdown().await;
}

// ---- idle unload ------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn idle_campaign_unloads_and_reloads_transparently() {
    let _frozen = FrozenClock::hold();
    let idle = 30_000;
    let t = Table::new(CoordinatorOptions {
        idle_unload: Duration::from_millis(idle),
        ..options()
    })
    .await;
    let (alice, bob) = (player("alice"), player("bob"));
    let quiet = t.campaign("Quiet Table", 4, &[(&alice, "Alia")]).await;
    t.submit(quiet, &alice, roll()).await.unwrap();
    // A table in a fight keeps its actor: its turn clock is running.
    let busy = t.campaign("Busy Table", 4, &[(&bob, "Bram")]).await;
    t.submit(
        busy,
        &t.gm.clone(),
        Action::StartCombat {
            monsters: vec![MonsterGroup {
                monster: "goblin".into(),
                count: 1,
            }],
        },
    )
    .await
    .unwrap();
    let before = t.snapshot(quiet).await;
    let busy_before = t.snapshot(busy).await;
    assert_eq!(t.coord.loaded(), 2);

    advance(idle - 1).await;
    assert_eq!(t.coord.loaded(), 2, "not idle long enough yet");
    advance(1).await;
    for _ in 0..100 {
        if t.coord.loaded() == 1 {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(
        t.coord.loaded(),
        1,
        "the quiet table unloaded; the fight did not"
    );

    // The next command loads it again, from where it was.
    let after = t.snapshot(quiet).await;
    assert_eq!(t.coord.loaded(), 2);
    assert_eq!(after.seq, before.seq);
    assert_eq!(after.state, before.state);
    let evs = t.submit(quiet, &alice, roll()).await.unwrap();
    assert_eq!(evs[0].seq, before.seq + 1);
    check_log(&t, quiet, &evs).await;
    // The busy table did not lose its place either.
    assert_eq!(t.snapshot(busy).await.state, busy_before.state);

    // Unloaded again, then a submit (not a snapshot) brings it back.
    advance(idle).await;
    for _ in 0..100 {
        if t.coord.loaded() < 2 {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(t.coord.loaded() < 2);
    let evs = t.submit(quiet, &alice, roll()).await.unwrap();
    assert_eq!(evs[0].seq, before.seq + 2);
    t.coord.shutdown().await;
}

/// After `shutdown` nothing loads again (a lingering subscription ends instead).
#[tokio::test(start_paused = true)]
async fn shutdown_stops_everything() {
    let _frozen = FrozenClock::hold();
    let t = Table::new(options()).await;
    let alice = player("alice");
    let id = t.campaign("Closing Time", 9, &[(&alice, "Alia")]).await;
    let mut sub = t
        .coord
        .subscribe(CampaignId(id), t.last_seq(id).await)
        .await
        .unwrap();
    t.coord.shutdown().await;
    assert_eq!(t.coord.loaded(), 0);
    assert!(
        within("the subscription to end", sub.next())
            .await
            .is_none()
    );
    assert!(
        t.coord
            .submit(CampaignId(id), cmd(&alice, roll()), origin(&alice))
            .await
            .is_err()
    );
    assert_eq!(t.coord.loaded(), 0);
}

// ---- start-up is per campaign -----------------------------------------------------------

/// One campaign that cannot be loaded must not keep the others from running; leftovers
/// of interrupted writes (a campaign row with no events, a campaign ended in its log but
/// not in its row) are repaired.
#[tokio::test(start_paused = true)]
async fn resume_all_loads_each_campaign_on_its_own() {
    let _frozen = FrozenClock::hold();
    let t = Table::new(options()).await;
    let alice = player("alice");
    let good = t.campaign("Good", 1, &[(&alice, "Alia")]).await;
    let broken = t.campaign("Broken", 2, &[(&alice, "Bria")]).await;
    let half_ended = t.campaign("Half Ended", 3, &[(&alice, "Cira")]).await;
    t.submit(half_ended, &t.gm.clone(), Action::EndCampaign)
        .await
        .unwrap();
    assert!(
        t.store
            .campaign(dicebard::store::CampaignId(half_ended))
            .await
            .unwrap()
            .unwrap()
            .ended_at_ms
            .is_some(),
        "ending a campaign marks its row in the same transaction"
    );
    // An orphan row as an older dicebard could leave it (created, never started).
    let orphan = t
        .store
        .create_campaign(dicebard::store::NewCampaign {
            name: "Orphan".into(),
            guild_id: Some(1),
            channel_id: Some(2),
            seed: 4,
            created_at_ms: 0,
        })
        .await
        .unwrap()
        .id;
    t.coord.shutdown().await;
    t.store.close().await;

    // Damage the database behind dicebard's back: a newer event version in one log, and
    // the other campaign's end forgotten by its row.
    let mut conn = SqliteConnection::connect_with(&SqliteConnectOptions::new().filename(&t.path))
        .await
        .unwrap();
    sqlx::query("UPDATE events SET body = '{\"v\":999}' WHERE campaign_id = $1 AND seq = 2")
        .bind(broken)
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query("UPDATE campaigns SET ended_at = NULL WHERE id = $1")
        .bind(half_ended)
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();

    let store = open_store(&t.path).await;
    let coord = Coordinator::new(store.clone(), catalog(), t.clock, options());
    let resumed = within("resume_all", coord.resume_all()).await.unwrap();
    assert_eq!(resumed.ok, vec![CampaignId(good)]);
    assert_eq!(resumed.failed.len(), 1, "{:?}", resumed.failed);
    assert_eq!(resumed.failed[0].0.id, dicebard::store::CampaignId(broken));
    assert!(
        resumed.failed[0].1.to_string().contains("newer dicebard"),
        "{}",
        resumed.failed[0].1
    );
    // The good campaign plays on.
    within(
        "a roll",
        coord.submit(CampaignId(good), cmd(&alice, roll()), origin(&alice)),
    )
    .await
    .unwrap();
    // The repairs: the orphan is gone (its channel free), the ended one marked ended.
    assert!(store.campaign(orphan).await.unwrap().is_none());
    assert!(store.campaign_by_channel(2).await.unwrap().is_none());
    assert!(
        store
            .campaign(dicebard::store::CampaignId(half_ended))
            .await
            .unwrap()
            .unwrap()
            .ended_at_ms
            .is_some()
    );
    coord.shutdown().await;
}

/// Creating a campaign writes its row and its first events together: when the write
/// fails, nothing is left behind to hold the name.
#[tokio::test(start_paused = true)]
async fn a_campaign_is_created_with_its_first_events_or_not_at_all() {
    let _frozen = FrozenClock::hold();
    let t = Table::new(options()).await;
    let id = t.campaign("Whole", 1, &[]).await;
    let log = t
        .store
        .events(dicebard::store::CampaignId(id), 0)
        .await
        .unwrap();
    assert!(!log.is_empty());
    assert_eq!(log[0].kind, "CampaignStarted");
    // A start the rules refuse leaves no row.
    let bad = CoordinatorOptions {
        settings: Settings {
            turn_timeout_ms: 1,
            ..Settings::default()
        },
        ..Default::default()
    };
    let coord = Coordinator::new(t.store.clone(), catalog(), t.clock, bad);
    let err = within(
        "a refused start",
        coord.create_campaign_at(
            "Refused",
            &t.gm,
            dicebard::store::Binding::DiscordChannel {
                guild: 1,
                channel: 9,
            },
            Some(1),
            origin(&t.gm),
        ),
    )
    .await;
    assert!(err.is_err());
    assert!(t.store.campaign_by_name("Refused").await.unwrap().is_none());
    assert!(t.store.campaign_by_channel(9).await.unwrap().is_none());
    coord.shutdown().await;
    t.coord.shutdown().await;
}

/// A full disk (here: the database's size limit) fails the commands with a clear error,
/// loses no acknowledged event, and the campaign carries on when room returns.
#[tokio::test(start_paused = true)]
async fn a_full_disk_loses_nothing_and_play_resumes_when_room_returns() {
    let _frozen = FrozenClock::hold();
    let t = Table::new(options()).await;
    let alice = player("alice");
    let id = t.campaign("Full Disk", 9, &[(&alice, "Alia")]).await;
    // No room beyond what the database holds now (plus a page or two).
    let pages = t.store.page_count().await.unwrap() as u32;
    t.store.set_max_pages(Some(pages + 1)).await.unwrap();
    let mut acked = Vec::new();
    let err = loop {
        match t
            .submit(
                id,
                &alice,
                Action::Act {
                    text: "x".repeat(1000),
                },
            )
            .await
        {
            Ok(events) => {
                acked.extend(events);
                assert!(acked.len() < 10_000, "the size limit never bit");
            }
            Err(e) => break e,
        }
    };
    assert!(
        matches!(
            err,
            SubmitError::Store(dicebard::store::StoreError::Full { .. })
        ),
        "{err:?}"
    );
    assert!(
        err.user_message().contains("full"),
        "{}",
        err.user_message()
    );
    let during = t.snapshot(id).await;
    // Every acknowledged event is in the log, and the state is the log's.
    let log = t.coord.events_since(CampaignId(id), 0).await.unwrap();
    for a in &acked {
        assert_eq!(*log[a.seq as usize - 1], **a);
    }
    assert_eq!(during.seq, log.len() as u64);
    let replayed = dicebard_engine::replay(catalog(), log.iter().map(|c| &c.event));
    assert_eq!(replayed, during.state);

    // Room again: the same campaign carries on, with no gap.
    t.store.set_max_pages(None).await.unwrap();
    let more = t.submit(id, &alice, roll()).await.expect("works again");
    assert_eq!(more[0].seq, during.seq + 1);
    t.coord.shutdown().await;
}

/// A Shield reaction window (a wizard hit by an ape) holds the ape's action until its
/// deadline, which the actor ticks like a turn timeout; then the blow lands and the
/// fight goes on without anyone answering.
#[tokio::test(start_paused = true)]
async fn a_reaction_window_closes_at_its_deadline_and_the_monster_goes_on() {
    let _frozen = FrozenClock::hold();
    let t = Table::new(options()).await;
    let alice = player("alice");
    let id = t.campaign("Apes", 11, &[]).await;
    t.submit(
        id,
        &alice,
        Action::CreateCharacter {
            spec: CharacterSpec::quick("Elara", "wizard", "gnome"),
        },
    )
    .await
    .expect("create the wizard");
    t.submit(
        id,
        &t.gm.clone(),
        Action::StartCombat {
            monsters: vec![MonsterGroup {
                monster: "ape".into(),
                count: 4,
            }],
        },
    )
    .await
    .expect("start the fight");
    let reaction_ms = Settings::default().reaction_timeout_ms;
    for _ in 0..2_000 {
        let snap = t.snapshot(id).await;
        let Some(c) = snap.state.combat.as_ref() else {
            panic!("the fight ended before any window opened");
        };
        if let Some(w) = &c.reaction {
            assert_eq!(
                dicebard_engine::next_deadline(&snap.state),
                Some(w.deadline)
            );
            let left = w.deadline.0 - t.clock.now().0;
            assert!(left > 0 && left <= reaction_ms, "{left}");
            // Before the deadline the window stays open and nothing is written.
            advance(left - 1).await;
            let before = t.snapshot(id).await;
            assert_eq!(before.seq, snap.seq);
            assert!(before.state.combat.as_ref().unwrap().reaction.is_some());
            // At the deadline: skipped, the hit lands, the monster's turn goes on.
            advance(1).await;
            let after = within("the window to close", async {
                loop {
                    let s = t.snapshot(id).await;
                    if s.seq > snap.seq {
                        return s;
                    }
                    advance(10).await;
                }
            })
            .await;
            assert!(
                after
                    .state
                    .combat
                    .as_ref()
                    .is_none_or(|c| c.reaction.as_ref() != Some(w))
            );
            let events = t
                .coord
                .events_since(CampaignId(id), snap.seq)
                .await
                .unwrap();
            let kinds = kinds(&events);
            assert_eq!(kinds.first(), Some(&"ReactionResolved"), "{kinds:?}");
            assert!(matches!(
                events[0].event.kind,
                dicebard_engine::EventKind::ReactionResolved {
                    used: false,
                    timed_out: true,
                    ..
                }
            ));
            assert!(kinds.contains(&"DamageDealt"), "{kinds:?}");
            return;
        }
        advance(1_000).await;
    }
    panic!("no reaction window opened");
}
