//! Discord's DMs of private items (`dicebard::discord::dm`): each recipient's DMs come
//! from that recipient's own feed subscription, so what a player's DMs carry is exactly
//! what `feed.subscribe(player)` yields that is theirs to be told privately — never
//! another player's whisper or secret roll, and the GM's copy of secret rolls.
//!
//! Real time (the store's SQLite worker runs on its own thread); waits are bounded by a
//! watchdog only, never asserted on.

use dicebard::clock::Clock;
use dicebard::coordinator::{Committed, Coordinator, CoordinatorOptions, Origin, Source};
use dicebard::discord::dm::{DmRouter, dm_text};
use dicebard::feed::{Feed, FeedCursor, FeedItem, FeedKind, FeedOptions, FeedSubscription};
use dicebard::gm::GameMaster;
use dicebard::store::{DbLocation, Store};
use dicebard_engine::character::CharacterSpec;
use dicebard_engine::{Action, Actor, CampaignState, Command, PlayerId, Viewer, Visibility};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

const WATCHDOG: Duration = Duration::from_secs(120);

async fn within<F: std::future::Future>(what: &str, f: F) -> F::Output {
    tokio::time::timeout(WATCHDOG, f)
        .await
        .unwrap_or_else(|_| panic!("hung waiting for {what}"))
}

fn player(n: u64) -> PlayerId {
    PlayerId::new(format!("discord:{n}"))
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
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

async fn drain(mut sub: FeedSubscription) -> Vec<Arc<FeedItem>> {
    let mut out = Vec::new();
    while let Some(item) = within("a feed item", sub.next()).await {
        out.push(item);
    }
    out
}

/// Each event a subscription yields, with its line.
fn told(items: &[Arc<FeedItem>]) -> Vec<(Arc<Committed>, String)> {
    let mut out = Vec::new();
    let mut event = None;
    for i in items {
        match &i.kind {
            FeedKind::Event { event: c } => event = Some(c.clone()),
            FeedKind::Line { text } => {
                if let Some(c) = event.take().filter(|c: &Arc<Committed>| c.seq == i.seq) {
                    out.push((c, text.clone()));
                }
            }
            _ => {}
        }
    }
    out
}

/// A GM's copy of a secret roll without the roller's name.
fn unnamed(dm: &str) -> &str {
    match dm.strip_prefix("(secret roll by ") {
        Some(rest) => rest.split_once(") ").map_or(rest, |(_, line)| line),
        None => dm,
    }
}

/// Property: random public and secret rolls, whispers, GM hit-point changes, from slash
/// commands (answered privately), voice and the terminal, a player who joins late and
/// one made a GM midway, routed in random steps: each player's DMs are exactly what
/// their own subscription yields for them to be told privately, in order; nobody gets
/// another player's private item; the GMs get every secret roll.
#[tokio::test]
async fn a_players_dms_are_what_their_own_subscription_yields() {
    for case in 0..3u64 {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&DbLocation::File(dir.path().join("dm.sqlite3")))
            .await
            .unwrap();
        let coord = Coordinator::new(
            store.clone(),
            Arc::new(dicebard_srd::catalog().clone()),
            Clock::system(),
            CoordinatorOptions::default(),
        );
        let gm = player(1);
        let id = coord
            .create_campaign(
                &format!("Whispers {case}"),
                &gm,
                Some(7 + case),
                Origin::new(Source::Terminal, &gm),
            )
            .await
            .unwrap();
        let feed = Feed::start(
            coord.clone(),
            GameMaster::builtin(),
            id,
            FeedOptions {
                live_buffer: [1024, 4, 1][case as usize],
                ..FeedOptions::default()
            },
        )
        .await
        .unwrap();
        let mut interaction = 0u64;
        let mut run = async |who: &PlayerId, action: Action, how: u64| {
            interaction += 1;
            let origin = match how % 3 {
                0 => Origin {
                    source: Source::Discord,
                    player: Some(who.clone()),
                    interaction: Some(interaction.to_string()),
                },
                1 => Origin::new(Source::Voice, who),
                _ => Origin::new(Source::Terminal, who),
            };
            // A refusal (e.g. a roll by someone not at the table) is fine: nothing told.
            let _ = coord
                .submit(
                    id,
                    Command {
                        by: Actor::Player(who.clone()),
                        action,
                    },
                    origin,
                )
                .await;
        };
        let names = ["Gale", "Ari", "Bram", "Cyd"];
        for n in 1..=3u64 {
            run(
                &player(n),
                Action::CreateCharacter {
                    spec: CharacterSpec::quick(names[n as usize - 1], "fighter", "human"),
                },
                2,
            )
            .await;
        }
        // Routed from the start, like a presenter of a new campaign.
        let mut router = DmRouter::new(feed.clone(), 0, |p| {
            p.as_str().strip_prefix("discord:").is_some()
        });
        let mut dms: BTreeMap<PlayerId, Vec<String>> = BTreeMap::new();
        let mut routed = 0;
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (case + 1));
        let mut whispers: Vec<(PlayerId, String)> = Vec::new();
        for n in 0..40u64 {
            if n == 10 {
                // Cyd arrives late.
                run(
                    &player(4),
                    Action::CreateCharacter {
                        spec: CharacterSpec::quick("Cyd", "rogue", "halfling"),
                    },
                    2,
                )
                .await;
            }
            if n == 20 {
                // Bram becomes a co-GM: from now on his subscription is a GM's.
                run(&gm, Action::GrantGm { player: player(3) }, 2).await;
            }
            let who = player(1 + rng.below(4));
            let how = rng.next();
            let action = match rng.below(4) {
                0 if who == gm => {
                    let to = player(2 + rng.below(3));
                    let text = format!("psst-{case}-{n}-end");
                    whispers.push((to.clone(), text.clone()));
                    Action::Whisper { to, text }
                }
                1 if who == gm => Action::SetHp {
                    target: names[1 + rng.below(2) as usize].into(),
                    hp: 5 + rng.below(5) as i32,
                },
                _ => Action::Roll {
                    expr: "1d20+1".into(),
                    secret: rng.below(2) == 0,
                },
            };
            run(&who, action, how).await;
            if rng.below(3) == 0 {
                let snap = coord.snapshot(id).await.unwrap();
                let mut t = feed.told();
                within("the feed's telling", t.wait_for(|t| *t >= snap.seq))
                    .await
                    .unwrap();
                let taken = coord.events_since(id, routed).await.unwrap();
                for (p, text) in router.route(&snap.state, &taken, snap.seq).await {
                    dms.entry(p).or_default().push(text);
                }
                routed = snap.seq;
            }
        }
        let snap = coord.snapshot(id).await.unwrap();
        let mut t = feed.told();
        within("the feed's telling", t.wait_for(|t| *t >= snap.seq))
            .await
            .unwrap();
        let taken = coord.events_since(id, routed).await.unwrap();
        for (p, text) in router.route(&snap.state, &taken, snap.seq).await {
            dms.entry(p).or_default().push(text);
        }
        // Nothing is routed twice.
        assert!(router.route(&snap.state, &[], snap.seq).await.is_empty());
        feed.stop().await;
        let state: &CampaignState = &snap.state;
        assert!(state.is_gm(&player(3)), "the grant went through");

        let mut secret_rolls = 0;
        for n in 1..=4u64 {
            let me = player(n);
            let mine = dms.get(&me).cloned().unwrap_or_default();
            if n == 3 {
                // Bram's view changed midway: his DMs are a player's, then a GM's; each
                // is one the GM's view yields, and a player's never anyone else's.
                let all = told(&drain(feed.subscribe(Viewer::Gm, FeedCursor::START)).await);
                for d in &mine {
                    assert!(
                        all.iter().any(|(c, l)| dm_text(state, &me, c, l)
                            .is_some_and(|x| unnamed(&x) == unnamed(d))),
                        "Bram got {d:?}, which nothing yields"
                    );
                }
                continue;
            }
            let viewer = dicebard_engine::view::viewer_of(state, &me);
            let yielded = told(&drain(feed.subscribe(viewer.clone(), FeedCursor::START)).await);
            let expected: Vec<String> = yielded
                .iter()
                .filter_map(|(c, l)| dm_text(state, &me, c, l))
                .collect();
            // (The roller's name in a GM's copy is read from the state when it is sent:
            // a secret roll by someone who joined later names them only then.)
            assert_eq!(
                mine.iter().map(|d| unnamed(d)).collect::<Vec<_>>(),
                expected.iter().map(|d| unnamed(d)).collect::<Vec<_>>(),
                "{me}'s DMs"
            );
            // Independently of the wording: a player's own private items, except what a
            // slash command's private reply showed, all reached them.
            if viewer != Viewer::Gm {
                let own = yielded
                    .iter()
                    .filter(|(c, _)| {
                        c.event.visibility == Visibility::Player(me.clone())
                            && !(c.origin.source == Source::Discord
                                && c.origin.interaction.is_some()
                                && c.origin.player.as_ref() == Some(&me))
                    })
                    .count();
                assert_eq!(mine.len(), own, "{me}: one DM per private item of theirs");
                for (to, text) in &whispers {
                    if *to != me {
                        assert!(
                            mine.iter().all(|d| !d.contains(text.as_str())),
                            "{me} got {to}'s whisper"
                        );
                    }
                }
            } else {
                secret_rolls = yielded
                    .iter()
                    .filter(|(c, _)| {
                        matches!(&c.event.visibility, Visibility::Player(p) if *p != me)
                            && matches!(
                                c.event.kind,
                                dicebard_engine::EventKind::DiceRolled { secret: true, .. }
                            )
                    })
                    .count();
                assert_eq!(
                    mine.iter()
                        .filter(|d| d.starts_with("(secret roll by"))
                        .count(),
                    secret_rolls,
                    "the GM gets every other player's secret roll"
                );
            }
        }
        assert!(secret_rolls > 0, "secret rolls were exercised");
        assert!(
            whispers.iter().any(|(to, _)| *to != player(3)),
            "whispers were exercised"
        );
        coord.shutdown().await;
        store.close().await;
    }
}
