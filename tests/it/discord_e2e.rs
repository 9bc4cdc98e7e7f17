//! End to end: the real `dicebard run` binary against the local fake Discord.
//!
//! A campaign in #table; two players make characters (pinned sheets appear and change
//! when HP changes); a fight with SRD goblins (initiative embed posted and edited, a DM
//! to each active player, a non-active player's attack refused, a turn that times out
//! makes the character Dodge, monsters act on their own); bad dice input; a whisper
//! reaches only its player; the bot is killed mid-combat and carries on after a
//! restart; the REST budget is never exceeded.

use crate::support;

use fake_discord::ids::{ALICE, BOB, TABLE};
use fake_discord::{FakeConfig, FakeDiscord, Message};
use std::path::Path;
use std::time::Duration;
use support::bot::Bot;

const T: Duration = Duration::from_secs(15);

/// Turns long enough that a player's three commands fit in one even on a machine busy
/// with other work (CI): an 8 s turn ran out between the turn DM and `/turn end` there.
/// No reaction windows (a Shield window would hold a monster's turn up to 15 s) except
/// in [`CONFIG_REACTIONS`].
const CONFIG: &str = "[turns]\ntimeout_secs = 25\nwarning_secs = 10\nreaction_secs = 0\n[log]\nfilter = \"info,serenity=warn,dicebard::coordinator=debug\"\n";

/// [`CONFIG`] with the default reaction windows (15 s).
const CONFIG_REACTIONS: &str =
    "[turns]\ntimeout_secs = 25\nwarning_secs = 10\n[log]\nfilter = \"info,serenity=warn\"\n";

fn start_bot(fake: &FakeDiscord, dir: &Path) -> Bot {
    Bot::start(fake, dir, CONFIG, &[], None)
}

async fn reply_text(
    fake: &FakeDiscord,
    user: fake_discord::UserId,
    cmd: &str,
    opts: &[(&str, &str)],
) -> Message {
    support::bot::reply_text(fake, user, TABLE, cmd, opts, T).await
}

fn initiative(fake: &FakeDiscord) -> Option<Message> {
    fake.messages(TABLE).into_iter().rev().find(|m| {
        m.embeds.iter().any(|e| {
            e["title"]
                .as_str()
                .is_some_and(|t| t.starts_with("Initiative"))
        })
    })
}

/// The name on the ▶ line of the initiative embed.
fn active_name(m: &Message) -> Option<String> {
    let d = m.embeds.first()?["description"].as_str()?.to_string();
    let line = d.lines().find(|l| l.starts_with('▶'))?;
    let name = line
        .split('`')
        .nth(2)?
        .trim()
        .split(" — ")
        .next()?
        .trim()
        .to_string();
    Some(name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_plays_through_discord() {
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut bot = start_bot(&fake, dir.path());
    fake.wait_for_ready(Duration::from_secs(60))
        .await
        .expect("the bot connects");

    // A campaign.
    let r = reply_text(&fake, ALICE, "campaign start", &[("name", "Goblin Cave")]).await;
    assert!(r.text().contains("Goblin Cave"), "{}", r.text());

    // Two characters; their sheets are pinned.
    let r = reply_text(
        &fake,
        ALICE,
        "character create",
        &[("name", "Thorin"), ("class", "Fighter"), ("race", "Dwarf")],
    )
    .await;
    assert!(r.text().contains("Thorin"), "{}", r.text());
    let r = reply_text(
        &fake,
        BOB,
        "character create",
        &[("name", "Mira"), ("class", "Wizard"), ("race", "Elf")],
    )
    .await;
    assert!(r.text().contains("Mira"), "{}", r.text());
    fake.wait_for_message(
        TABLE,
        |m| m.pinned && m.text().contains("Mira — Elf Wizard 1"),
        T,
    )
    .await
    .unwrap_or_else(|e| panic!("Mira's sheet is pinned: {e:?}\n{}", fake.describe()));
    // Each sheet is pinned by its own request: Thorin's may land after Mira's.
    fake.wait_for_message(
        TABLE,
        |m| m.pinned && m.text().contains("Thorin — Dwarf Fighter 1"),
        T,
    )
    .await
    .unwrap_or_else(|e| panic!("Thorin's sheet is pinned: {e:?}\n{}", fake.describe()));
    // The class state is on the pinned sheet: a fighter's Second Wind.
    let thorin = fake
        .messages(TABLE)
        .into_iter()
        .find(|m| m.pinned && m.text().contains("Thorin — Dwarf Fighter 1"))
        .expect("Thorin's sheet");
    assert!(
        thorin.text().contains("Second Wind 1/1"),
        "{}",
        thorin.text()
    );
    // A level gained (no hit point change of its own is needed) refreshes the pinned
    // sheet: the new level and Action Surge's use.
    let r = reply_text(&fake, ALICE, "character levelup", &[]).await;
    assert!(r.text().contains('2'), "{}", r.text());
    fake.wait_for_message(
        TABLE,
        |m| {
            m.pinned
                && m.text().contains("Thorin — Dwarf Fighter 2")
                && m.text().contains("Action Surge 1/1")
        },
        T,
    )
    .await
    .unwrap_or_else(|e| panic!("Thorin's sheet shows level 2: {e:?}\n{}", fake.describe()));

    // Bad dice: a short private error, nothing posted for everyone.
    let r = reply_text(&fake, BOB, "roll", &[("dice", "1d0")]).await;
    assert!(r.is_ephemeral(), "errors are ephemeral");
    assert!(r.text().to_lowercase().contains("side"), "{}", r.text());
    let r = reply_text(&fake, BOB, "roll", &[("dice", "1d20+5")]).await;
    assert!(
        !r.is_ephemeral() && r.text().contains("1d20"),
        "{}",
        r.text()
    );

    // A whisper reaches only its player.
    let r = reply_text(
        &fake,
        ALICE,
        "whisper",
        &[("player", &BOB.to_string()), ("text", "The idol is fake")],
    )
    .await;
    assert!(
        !r.text().contains("idol") || r.is_ephemeral(),
        "the whisper is not public: {}",
        r.text()
    );
    fake.wait_for_dm(BOB, |m| m.text().contains("The idol is fake"), T)
        .await
        .expect("bob gets the whisper");
    assert!(
        fake.messages(TABLE)
            .iter()
            .all(|m| !m.text().contains("The idol is fake"))
    );
    assert!(
        fake.dms(ALICE)
            .iter()
            .all(|m| !m.text().contains("The idol is fake"))
    );

    // A fight. The campaign's dice are random: two goblins can drop both level-1
    // characters within a round, and then nobody's clock runs out (the unconscious roll
    // death saves) — the GM makes them hardy so the steps below always come.
    for who in ["Thorin", "Mira"] {
        let r = reply_text(
            &fake,
            ALICE,
            "character hp",
            &[("target", who), ("hp", "300")],
        )
        .await;
        assert!(
            r.text().contains("300"),
            "the GM sets {who}'s hit points: {}",
            r.text()
        );
    }
    let r = reply_text(&fake, ALICE, "combat start", &[("monsters", "2 goblin")]).await;
    assert!(r.text().contains("initiative"), "{}", r.text());
    let init = fake
        .wait_for_message(
            TABLE,
            |m| {
                m.embeds.iter().any(|e| {
                    e["title"]
                        .as_str()
                        .is_some_and(|t| t.starts_with("Initiative"))
                })
            },
            T,
        )
        .await
        .expect("initiative embed");
    assert!(!init.components.is_empty(), "the tracker has buttons");
    // Monsters that come first act on their own; then a player is up and gets a DM.
    let dm = tokio::time::timeout(T, async {
        loop {
            for (user, name) in [(ALICE, "Thorin"), (BOB, "Mira")] {
                if let Some(m) = fake
                    .dms(user)
                    .into_iter()
                    .find(|m| m.text().contains("it's your turn"))
                {
                    return (user, name, m);
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("the active player gets a DM");
    let (active_user, active_char, _) = dm;
    let (other_user, _) = if active_user == ALICE {
        (BOB, "Mira")
    } else {
        (ALICE, "Thorin")
    };

    // The other player may not act.
    let r = reply_text(&fake, other_user, "attack", &[("target", "goblin")]).await;
    assert!(r.is_ephemeral(), "refusals are ephemeral");
    assert!(
        r.text().contains(&format!("It's {active_char}'s turn")),
        "{}",
        r.text()
    );

    // The active player attacks.
    let r = reply_text(&fake, active_user, "attack", &[("target", "goblin")]).await;
    assert!(r.text().contains("Goblin"), "{}", r.text());

    let r = reply_text(&fake, active_user, "turn end", &[]).await;
    assert!(!r.is_ephemeral(), "ending the turn works: {}", r.text());

    // The next player character up does nothing: the clock runs out, they dodge.
    let timed_out = fake
        .wait_for_message(
            TABLE,
            |m| m.text().contains("Time is up for"),
            Duration::from_secs(90),
        )
        .await
        .unwrap_or_else(|e| panic!("timeout posted: {e:?}\n{}", fake.describe()));
    let who = timed_out
        .text()
        .split("Time is up for ")
        .nth(1)
        .and_then(|r| r.split('.').next())
        .unwrap()
        .to_string();
    fake.wait_for_message(
        TABLE,
        |m| {
            m.text().contains(&format!("{who} takes the Dodge action"))
                || m.text().contains(&format!("{who} ducks and weaves"))
        },
        T,
    )
    .await
    .expect("the timed-out character dodges");
    // The warning came by DM before the timeout.
    let warned_user = if who == "Thorin" { ALICE } else { BOB };
    assert!(
        fake.dms(warned_user)
            .iter()
            .any(|m| m.text().contains("act now")),
        "warning DM"
    );
    // Goblins act without any command.
    fake.wait_for_message(
        TABLE,
        |m| m.text().contains("Goblin") && m.text().contains("Scimitar"),
        Duration::from_secs(30),
    )
    .await
    .expect("monsters act on their turns");
    // The tracker was edited in place, not reposted each turn.
    let trackers = fake
        .messages(TABLE)
        .iter()
        .filter(|m| {
            m.embeds.iter().any(|e| {
                e["title"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("Initiative"))
            })
        })
        .count();
    assert_eq!(trackers, 1, "one initiative embed, edited in place");
    assert!(initiative(&fake).unwrap().edited_timestamp.is_some());

    // Kill the bot mid-combat and bring it back.
    let before = active_name(&initiative(&fake).unwrap());
    bot.kill();
    let mut bot2 = start_bot(&fake, dir.path());
    fake.wait_for_identifies(2, Duration::from_secs(60))
        .await
        .expect("the bot reconnects");
    let r = reply_text(&fake, ALICE, "initiative", &[]).await;
    assert!(
        r.text().contains("Goblin") && r.text().contains("Thorin"),
        "the fight survived the restart: {}",
        r.text()
    );
    let _ = before;
    // The game goes on: whoever is up can end their turn (or the clock does it).
    fake.wait_for_message(
        TABLE,
        |m| m.text().contains("The table is back") || m.text().contains("Round"),
        Duration::from_secs(30),
    )
    .await
    .expect("the fight carries on after the restart");
    // The clock's resumption is party-only: not in the channel (the player gets a DM).
    assert!(
        fake.messages(TABLE)
            .iter()
            .all(|m| !m.text().contains("The table is back")),
        "party-only events stay out of the channel"
    );

    // Budgets.
    fake.assert_rate_at_most(
        "POST|PATCH /channels/{c}/messages/**",
        5,
        Duration::from_secs(5),
    );
    fake.assert_rate_at_most("**", 50, Duration::from_secs(1));
    fake.assert_clean();
    bot2.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gm_role_autocomplete_and_buttons() {
    use fake_discord::ids::CAROL;
    use fake_discord::{RoleId, RoleSpec, UserSpec};
    let gm_role = RoleId(500_000_000_000_000_001);
    let mut config = FakeConfig::default();
    config.roles.push(RoleSpec {
        id: gm_role,
        name: "GM".into(),
        permissions: 0,
    });
    config.users = vec![
        UserSpec::new(ALICE, "alice"),
        UserSpec::new(BOB, "bob"),
        UserSpec::new(CAROL, "carol").with_role(gm_role),
    ];
    let fake = FakeDiscord::start(config).await;
    let dir = tempfile::tempdir().unwrap();
    let _bot = Bot::start(&fake, dir.path(), CONFIG_REACTIONS, &[], None);
    fake.wait_for_ready(Duration::from_secs(60))
        .await
        .expect("the bot connects");

    reply_text(&fake, ALICE, "campaign start", &[("name", "Roles")]).await;
    // Without options, /character create opens a form.
    let h = fake.slash(BOB, TABLE, "character create", &[]).await;
    let modal = h.modal(T).await.expect("a character form");
    let _ = modal;
    let submitted = h
        .submit_modal(&[
            ("name", "Mira"),
            ("class", "Wizard"),
            ("race", "Elf"),
            ("abilities", "standard"),
        ])
        .await;
    let r = submitted.reply(T).await.expect("the form is answered");
    assert!(r.text().contains("Mira"), "{}", r.text());
    // A bad form gets a private error and changes nothing.
    let h = fake.slash(CAROL, TABLE, "character create", &[]).await;
    h.modal(T).await.expect("a character form");
    let bad = h
        .submit_modal(&[("name", "X"), ("class", "Juggler"), ("race", "Elf")])
        .await;
    let r = bad.reply(T).await.expect("the bad form is answered");
    assert!(
        r.is_ephemeral() && r.text().contains("no class called"),
        "{}",
        r.text()
    );

    // Autocomplete offers the SRD and the character's own spells.
    let choices = fake
        .autocomplete(BOB, TABLE, "cast", &[("spell", "fire")], "spell")
        .await
        .expect("spell choices");
    assert!(choices.iter().any(|c| c.name == "Fire Bolt"), "{choices:?}");
    let monsters = fake
        .autocomplete(
            ALICE,
            TABLE,
            "combat start",
            &[("monsters", "2 gobl")],
            "monsters",
        )
        .await
        .expect("monster choices");
    assert!(
        monsters.iter().any(|c| c.name == "2 Goblin"),
        "{monsters:?}"
    );

    // Bob is no GM: refused. Carol has the server's GM role: allowed.
    let r = reply_text(&fake, BOB, "combat start", &[("monsters", "1 goblin")]).await;
    assert!(
        r.is_ephemeral() && r.text().contains("Only the GM"),
        "{}",
        r.text()
    );
    // A rat (1 damage a bite) can't drop Mira before her turn comes.
    let r = reply_text(&fake, CAROL, "combat start", &[("monsters", "1 rat")]).await;
    assert!(
        !r.is_ephemeral() && r.text().contains("initiative"),
        "{}",
        r.text()
    );

    // Mira's turn comes with a DM and buttons; clicking End turn ends it. If the rat
    // acts first and hits her with a roll her Shield would turn, the fight waits for her
    // reaction first: a DM with Use / Skip buttons, and Skip lets the bite land.
    let first = fake
        .wait_for_dm(
            BOB,
            |m| {
                (m.text().contains("it's your turn") || m.text().contains("Shield"))
                    && !m.components.is_empty()
            },
            T,
        )
        .await
        .expect("turn DM (or a reaction DM) with buttons");
    if first.text().contains("Shield") {
        let skip = first.components[0]["components"][1]["custom_id"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(skip.starts_with("react_skip:"), "{skip}");
        let r = fake.click(BOB, first.id, &skip).await.reply(T).await;
        assert_eq!(
            r.expect("reaction button answered").text(),
            "You let it pass."
        );
    }
    let dm = fake
        .wait_for_dm(
            BOB,
            |m| m.text().contains("it's your turn") && !m.components.is_empty(),
            T,
        )
        .await
        .expect("turn DM with buttons");
    let campaign_button = dm.components[0]["components"][0]["custom_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(campaign_button.starts_with("end_turn:"));
    // Alice can't press Bob's button.
    // Clicks are acknowledged at once (privately), then answered.
    let click = fake.click(ALICE, dm.id, &campaign_button).await;
    let r = click.reply(T).await.expect("button answered");
    assert!(
        r.is_ephemeral() && r.text().contains("turn"),
        "{}",
        r.text()
    );
    let click = fake.click(BOB, dm.id, &campaign_button).await;
    let r = click.reply(T).await.expect("button answered");
    assert_eq!(r.text(), "Done.");

    // A dropped gateway connection is resumed, and the table keeps working.
    assert!(fake.drop_connection(), "a gateway session to drop");
    fake.wait_for_resumes(1, Duration::from_secs(60))
        .await
        .expect("the bot resumes");
    let r = reply_text(&fake, BOB, "roll", &[("dice", "2d6")]).await;
    assert!(r.text().contains("2d6"), "{}", r.text());
    fake.assert_rate_at_most(
        "POST|PATCH /channels/{c}/messages/**",
        5,
        Duration::from_secs(5),
    );
    fake.assert_clean();
}

// ----- hardening (issue 13: holes 1, 4, 5, 6, 12) ---------------------------------------

/// A REST base with or without serenity's own `/api/vN` suffix works (the config example
/// used to carry `/api/v10`, which made every call 404).
#[test]
fn api_base_with_or_without_the_api_path() {
    use dicebard::discord::normalize_api_base;
    for (given, want) in [
        ("http://127.0.0.1:3000", "http://127.0.0.1:3000"),
        ("http://127.0.0.1:3000/", "http://127.0.0.1:3000"),
        ("http://127.0.0.1:3000/api/v10", "http://127.0.0.1:3000"),
        ("http://127.0.0.1:3000/api/v10/", "http://127.0.0.1:3000"),
        ("http://127.0.0.1:3000/api/v9", "http://127.0.0.1:3000"),
        ("http://127.0.0.1:3000/api", "http://127.0.0.1:3000"),
        (
            "https://proxy.example/discord",
            "https://proxy.example/discord",
        ),
        (" http://h:1/api/v10 ", "http://h:1"),
    ] {
        assert_eq!(normalize_api_base(given), want, "{given:?}");
    }
    // The example config's value is accepted as it is written.
    let example = std::fs::read_to_string("config.example.toml").unwrap();
    let line = example
        .lines()
        .find(|l| l.trim_start().starts_with("# api_base"))
        .expect("the example documents api_base");
    assert!(!line.contains("/api/v"), "{line}");
}

/// A Discord endpoint that accepts the connection and never answers: a REST call fails
/// after the client's timeout instead of hanging its caller (a presenter) forever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_discord_connection_times_out() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            held.push(sock); // read nothing, answer nothing
        }
    });
    let http = dicebard::discord::rest_http(
        "fake-token",
        Some(&format!("http://{addr}/api/v10")),
        Duration::from_secs(1),
    );
    // The watchdog only guards against a hang; the call itself must give up on its own.
    let res = tokio::time::timeout(Duration::from_secs(60), http.get_current_user())
        .await
        .expect("the REST call gave up on the stalled connection");
    assert!(res.is_err(), "a stalled call fails: {res:?}");
}

/// A request delivered twice commits once, also after the coordinator restarts (the ids
/// are rebuilt from the log's origins).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interaction_is_claimed_once_even_across_restarts() {
    use dicebard::clock::Clock;
    use dicebard::coordinator::{Coordinator, CoordinatorOptions, Origin, Source};
    use dicebard::store::{DbLocation, Store};
    use dicebard_engine::{Action, Command, PlayerId};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("d.sqlite");
    let catalog = || std::sync::Arc::new(dicebard_srd::catalog().clone());
    let gm = PlayerId::new("discord:1");
    let origin = |id: &str| Origin {
        source: Source::Discord,
        player: Some(gm.clone()),
        interaction: Some(id.to_string()),
    };
    let store = Store::open(&DbLocation::File(db.clone())).await.unwrap();
    let coord = Coordinator::new(
        store,
        catalog(),
        Clock::system(),
        CoordinatorOptions::default(),
    );
    let id = coord
        .create_campaign("Dedupe", &gm, Some(7), origin("100"))
        .await
        .unwrap();
    assert!(coord.claim_request(id, "200").await.unwrap());
    let roll = Command {
        by: dicebard_engine::Actor::Player(gm.clone()),
        action: Action::Roll {
            expr: "1d20".into(),
            secret: false,
        },
    };
    coord.submit(id, roll.clone(), origin("200")).await.unwrap();
    // The same interaction again: refused; another one: fine.
    assert!(!coord.claim_request(id, "200").await.unwrap());
    assert!(!coord.claim_request(id, "100").await.unwrap());
    assert!(coord.claim_request(id, "300").await.unwrap());
    // Hostile ids are bounded, never stored.
    assert!(coord.claim_request(id, &"9".repeat(10_000)).await.unwrap());
    coord.shutdown().await;

    let store = Store::open(&DbLocation::File(db)).await.unwrap();
    let coord = Coordinator::new(
        store,
        catalog(),
        Clock::system(),
        CoordinatorOptions::default(),
    );
    assert!(
        !coord.claim_request(id, "200").await.unwrap(),
        "a committed interaction is remembered after a restart"
    );
    assert!(coord.claim_request(id, "400").await.unwrap());
    coord.shutdown().await;
}

/// Every message the bot created or edited carries allowed_mentions that rule out
/// @everyone, @here and role pings.
fn assert_no_mass_pings(fake: &FakeDiscord, channels: &[fake_discord::ChannelId]) {
    let bot = fake.bot_id();
    let mut checked = 0;
    for ch in channels {
        for m in fake.messages(*ch) {
            if m.author != bot || m.content.is_empty() {
                continue;
            }
            checked += 1;
            assert!(
                m.allowed_mentions_block_many() && !m.may_ping_many(),
                "message without safe allowed_mentions: {:?} {:?}",
                m.content,
                m.allowed_mentions
            );
        }
    }
    assert!(checked > 0, "no bot messages to check");
}

fn dm_button(m: &Message, verb: &str) -> String {
    m.components
        .iter()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .filter_map(|c| c["custom_id"].as_str().map(str::to_string))
        .find(|id| id.starts_with(verb))
        .unwrap_or_else(|| panic!("no {verb} button in {:?}", m.components))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permissions_stale_buttons_and_hostile_input() {
    use fake_discord::ids::{CAROL, GENERAL};
    use fake_discord::{MEMBER_PERMISSIONS, RoleId, RoleSpec, UserSpec, perms};
    let moderator = RoleId(500_000_000_000_000_002);
    let config = FakeConfig {
        member_permissions: MEMBER_PERMISSIONS,
        roles: vec![RoleSpec {
            id: moderator,
            name: "Moderator".into(),
            permissions: perms::MANAGE_CHANNELS,
        }],
        users: vec![
            UserSpec::new(ALICE, "alice"),
            UserSpec::new(BOB, "bob"),
            UserSpec::new(CAROL, "carol").with_role(moderator),
        ],
        ..FakeConfig::default()
    };
    let fake = FakeDiscord::start(config).await;
    let dir = tempfile::tempdir().unwrap();
    // Long turns: nothing may happen on its own while the test counts events.
    let _bot = Bot::start(
        &fake,
        dir.path(),
        "[turns]\ntimeout_secs = 900\nwarning_secs = 60\nreaction_secs = 0\n[log]\nfilter = \"info,serenity=warn\"\n",
        &[],
        None,
    );
    fake.wait_for_ready(Duration::from_secs(60))
        .await
        .expect("the bot connects");

    // Hole 1: an ordinary member may not bind a channel to a campaign (and be its GM).
    let r = reply_text(&fake, BOB, "campaign start", &[("name", "Mine")]).await;
    assert!(
        r.is_ephemeral() && r.text().contains("Only members who may manage"),
        "{}",
        r.text()
    );
    let r = reply_text(&fake, BOB, "campaign status", &[]).await;
    assert!(r.text().contains("no campaign"), "{}", r.text());
    // A member with Manage Channels may; so may the owner.
    let r = support::bot::reply_text(
        &fake,
        CAROL,
        GENERAL,
        "campaign start",
        &[("name", "Carol's")],
        T,
    )
    .await;
    assert!(
        !r.is_ephemeral() && r.text().contains("Carol"),
        "{}",
        r.text()
    );
    let r = reply_text(&fake, ALICE, "campaign start", &[("name", "Cave")]).await;
    assert!(
        !r.is_ephemeral() && r.text().contains("Cave"),
        "{}",
        r.text()
    );

    // Hole 6: voice commands check who is asking.
    let r = reply_text(&fake, BOB, "voice leave", &[]).await;
    assert!(
        r.is_ephemeral() && r.text().contains("Only a GM"),
        "{}",
        r.text()
    );
    let r = support::bot::reply_text(&fake, BOB, GENERAL, "voice join", &[], T).await;
    assert!(
        r.is_ephemeral() && r.text().contains("Only the players and GMs"),
        "{}",
        r.text()
    );
    let r = reply_text(&fake, BOB, "voice skip", &[]).await;
    assert!(
        r.is_ephemeral() && r.text().contains("Only the players and GMs"),
        "{}",
        r.text()
    );

    let r = reply_text(
        &fake,
        BOB,
        "character create",
        &[("name", "Mira"), ("class", "Wizard"), ("race", "Elf")],
    )
    .await;
    assert!(r.text().contains("Mira"), "{}", r.text());

    // Hole 12: party-only events stay out of the channel.
    let r = reply_text(&fake, BOB, "rest", &[("kind", "short")]).await;
    assert!(
        r.is_ephemeral(),
        "a party-only rest is private: {}",
        r.text()
    );
    // A secret roll reaches the GM too.
    let r = reply_text(
        &fake,
        BOB,
        "roll",
        &[("dice", "1d20+3"), ("secret", "true")],
    )
    .await;
    assert!(r.is_ephemeral(), "{}", r.text());
    fake.wait_for_dm(ALICE, |m| m.text().contains("secret roll by"), T)
        .await
        .expect("the GM gets the secret roll");
    // /whisper says who, in words.
    let r = reply_text(
        &fake,
        ALICE,
        "whisper",
        &[("player", &fake.bot_id().to_string()), ("text", "hi")],
    )
    .await;
    assert!(
        r.is_ephemeral() && r.text().contains("is a bot") && !r.text().contains("discord:"),
        "{}",
        r.text()
    );
    let r = reply_text(
        &fake,
        ALICE,
        "whisper",
        &[("player", &CAROL.to_string()), ("text", "hi")],
    )
    .await;
    assert!(
        r.text().contains("carol is not playing") && !r.text().contains("discord:"),
        "{}",
        r.text()
    );

    // Hole 4 (Discord's side): the same interaction delivered twice commits once.
    let before = reply_text(&fake, ALICE, "campaign status", &[])
        .await
        .text();
    let h = fake.slash(BOB, TABLE, "roll", &[("dice", "1d4")]).await;
    h.reply(T).await.expect("the roll is answered");
    let after_one = reply_text(&fake, ALICE, "campaign status", &[])
        .await
        .text();
    assert_ne!(before, after_one);
    h.redeliver();
    let path = format!("/interactions/{}/", h.id());
    tokio::time::timeout(T, async {
        while fake
            .request_log()
            .iter()
            .filter(|r| r.path.starts_with(&path))
            .count()
            < 2
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the bot saw the duplicate");
    let r = reply_text(&fake, BOB, "roll", &[("dice", "1d6")]).await;
    assert!(r.text().contains("1d6"), "{}", r.text());
    let events = |s: &str| -> u64 {
        s.split(" events")
            .next()
            .and_then(|h| h.rsplit(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no event count in {s}"))
    };
    let after = reply_text(&fake, ALICE, "campaign status", &[])
        .await
        .text();
    assert_eq!(
        events(&after),
        events(&after_one) + 1,
        "only the 1d6 roll was added: {after_one} / {after}"
    );

    // Hole 5: turn buttons are bound to their turn.
    let r = reply_text(&fake, ALICE, "combat start", &[("monsters", "1 rat")]).await;
    assert!(r.text().contains("initiative"), "{}", r.text());
    let first = fake
        .wait_for_dm(
            BOB,
            |m| m.text().contains("it's your turn") && !m.components.is_empty(),
            Duration::from_secs(30),
        )
        .await
        .expect("Mira's first turn DM");
    let old_end = dm_button(&first, "end_turn:");
    assert_eq!(old_end.split(':').count(), 3, "{old_end}");
    let cb = fake.click(BOB, first.id, &old_end).await;
    let r = cb.reply(T).await.expect("the click is answered");
    assert_eq!(r.text(), "Done.", "{}", r.text());
    // The same click delivered again (acknowledged before: Discord answers 40060 to a
    // second deferral): answered privately as a duplicate, the first answer stays.
    cb.redeliver();
    let click_path = format!("/interactions/{}/", cb.id());
    let dup = cb.followup(0, T).await.unwrap_or_else(|e| {
        panic!(
            "the redelivered click is answered: {e:?}\n{}",
            fake.describe()
        )
    });
    assert!(
        dup.is_ephemeral() && dup.text().contains("already done"),
        "{}",
        dup.text()
    );
    assert_eq!(cb.reply(T).await.unwrap().text(), "Done.");
    // The rat acts; Mira's next turn comes with new buttons.
    let second = fake
        .wait_for_dm(
            BOB,
            |m| m.id != first.id && m.text().contains("it's your turn") && !m.components.is_empty(),
            Duration::from_secs(30),
        )
        .await
        .expect("Mira's second turn DM");
    let new_end = dm_button(&second, "end_turn:");
    assert_ne!(old_end, new_end);
    let ended = |fake: &FakeDiscord| {
        fake.messages(TABLE)
            .iter()
            .filter(|m| m.text().contains("ends their turn") || m.text().contains("ends the turn"))
            .count()
    };
    let status_before = reply_text(&fake, ALICE, "campaign status", &[])
        .await
        .text();
    let ended_before = ended(&fake);
    let r = fake
        .click(BOB, first.id, &old_end)
        .await
        .reply(T)
        .await
        .expect("the stale click is answered");
    assert!(
        r.is_ephemeral() && r.text().contains("That turn is over"),
        "{}",
        r.text()
    );
    // Forged ids: refused, nothing breaks.
    let campaign = old_end.split(':').nth(1).unwrap().to_string();
    for forged in [
        format!("end_turn:{campaign}"),
        format!("end_turn:{campaign}:0"),
        format!("end_turn:{campaign}:99999999999999999999"),
        format!("end_turn:{campaign}:18446744073709551615"),
        format!("end_turn:{campaign}:1"),
        "end_turn:-5:3".to_string(),
        "dodge:abc:def".to_string(),
        format!("end_turn:{campaign}:{}", "9".repeat(90)),
        format!("end_turn:{campaign}:1:2:3"),
    ] {
        let r = fake
            .click_forged(BOB, second.id, &forged)
            .await
            .reply(T)
            .await
            .unwrap_or_else(|e| panic!("{forged}: {e:?}"));
        assert!(
            r.text().contains("not valid") || r.text().contains("turn is over"),
            "{forged}: {}",
            r.text()
        );
    }
    let status_after = reply_text(&fake, ALICE, "campaign status", &[])
        .await
        .text();
    assert_eq!(
        events(&status_before),
        events(&status_after),
        "stale and forged clicks change nothing"
    );
    assert_eq!(ended_before, ended(&fake));
    let r = fake
        .click(BOB, second.id, &new_end)
        .await
        .reply(T)
        .await
        .expect("the current button works");
    assert_eq!(r.text(), "Done.", "{}", r.text());

    // Fuzz-style: hostile option values get a clear answer and the bot keeps serving.
    let long = "x".repeat(6000);
    let unicode = "ドラゴン🐉\u{202e}Ω".repeat(100);
    let hostile: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            "combat add",
            vec![("monsters", "4294967295 goblin, 2 goblin")],
        ),
        (
            "combat add",
            vec![("monsters", "18446744073709551616 goblin")],
        ),
        ("combat add", vec![("monsters", "0 goblin")]),
        ("combat add", vec![("monsters", &long)]),
        ("combat add", vec![("monsters", ", , &&")]),
        ("roll", vec![("dice", "4294967295d4294967295")]),
        ("roll", vec![("dice", &long)]),
        ("roll", vec![("dice", &unicode)]),
        ("check", vec![("skill", &unicode)]),
        ("save", vec![("ability", "@everyone")]),
        ("attack", vec![("target", "@everyone"), ("weapon", &long)]),
        ("cast", vec![("spell", &unicode), ("target", &long)]),
        ("whisper", vec![("player", "bob"), ("text", &long)]),
        (
            "whisper",
            vec![("player", "bob"), ("text", "@everyone <@&1> @here")],
        ),
        ("act", vec![("text", &long)]),
        (
            "act",
            vec![("text", "I shout @everyone and <@&500000000000000002>")],
        ),
        ("character hp", vec![("target", &unicode), ("hp", "10000")]),
    ];
    for (cmd, opts) in &hostile {
        let user = if cmd.starts_with("combat") || cmd.starts_with("whisper") || cmd.contains("hp")
        {
            ALICE
        } else {
            BOB
        };
        let r = reply_text(&fake, user, cmd, opts).await;
        assert!(
            !r.text().is_empty() && !r.text().contains("went wrong on our side"),
            "/{cmd}: {}",
            r.text()
        );
    }
    // Character fields through the form (modal) too.
    for (name, class) in [
        (long.as_str(), "Wizard"),
        ("@everyone", unicode.as_str()),
        ("Ok", "4294967295"),
    ] {
        let name: String = name.chars().take(48).collect();
        let class: String = class.chars().take(48).collect();
        let h = fake.slash(CAROL, GENERAL, "character create", &[]).await;
        h.modal(T).await.expect("a character form");
        let r = h
            .submit_modal(&[("name", &name), ("class", &class), ("race", "Elf")])
            .await
            .reply(T)
            .await
            .expect("the form is answered");
        assert!(!r.text().contains("went wrong on our side"), "{}", r.text());
    }
    // Numeric options are bounded where they are registered: Discord refuses the rest.
    let cmds = fake.guild_commands();
    let text = serde_json::to_string(&cmds).unwrap();
    assert!(text.contains("max_value"), "numeric options carry bounds");
    // Still serving.
    let r = reply_text(&fake, BOB, "roll", &[("dice", "2d6")]).await;
    assert!(r.text().contains("2d6"), "{}", r.text());

    // Nothing the bot posted may ping @everyone or a role.
    let mut chans = vec![TABLE, GENERAL];
    for u in [ALICE, BOB, CAROL] {
        if let Some(dm) = fake.dm_channel(u) {
            chans.push(dm);
        }
    }
    assert_no_mass_pings(&fake, &chans);
    // The only refused requests: the duplicate deliveries' attempts to acknowledge again.
    let bad: Vec<String> = fake
        .refused_requests()
        .iter()
        .chain(fake.unexpected_requests().iter())
        .filter(|r| !r.path.starts_with(&path) && !r.path.starts_with(&click_path))
        .map(|r| format!("{} {} {}", r.method, r.path, r.status))
        .collect();
    assert!(bad.is_empty(), "bad Discord requests: {bad:?}");
}

/// Hole 4: while the campaign's actor is stuck on a slow NPC decision (a hanging LLM),
/// a slash command is still acknowledged within Discord's 3 s, and answered afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_campaign_still_acknowledges_in_time() {
    use support::fake_llm::{FakeLlm, Reply, openai};
    let llm = FakeLlm::start().await;
    llm.route(|r| {
        Some(match r.purpose() {
            "npc" => Reply::Hang,
            _ => openai::text("The cave is quiet."),
        })
    });
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "[turns]\ntimeout_secs = 600\nwarning_secs = 60\nreaction_secs = 0\n\
         [narrator]\nkind = \"openai\"\n\
         [llm]\nbase_url = \"{}\"\nmodel = \"test-model\"\nmax_retries = 0\n\
         retry_backoff_ms = 10\nstall_timeout_secs = 8\ndecision_timeout_secs = 8\n\
         npc_decisions = true\n\
         [log]\nfilter = \"info,serenity=warn\"\n",
        llm.base_url()
    );
    let _bot = Bot::start(
        &fake,
        dir.path(),
        &config,
        &[("DICEBARD_LLM_API_KEY", support::KEY)],
        None,
    );
    fake.wait_for_ready(Duration::from_secs(60))
        .await
        .expect("the bot connects");
    reply_text(&fake, ALICE, "campaign start", &[("name", "Slow")]).await;
    reply_text(
        &fake,
        BOB,
        "character create",
        &[("name", "Mira"), ("class", "Wizard"), ("race", "Elf")],
    )
    .await;
    // Not waiting for the answer: if a goblin is first, the campaign is busy right away.
    let start = fake
        .slash(ALICE, TABLE, "combat start", &[("monsters", "3 goblin")])
        .await;
    // Whoever is up: if Mira, she ends her turn so that the goblins (and the LLM) are up.
    let npc_asked = |llm: &FakeLlm| llm.requests().iter().any(|r| r.purpose() == "npc");
    tokio::time::timeout(Duration::from_secs(40), async {
        let mut ended = false;
        while !npc_asked(&llm) {
            if !ended
                && fake
                    .dms(BOB)
                    .iter()
                    .any(|m| m.text().contains("it's your turn"))
            {
                // Not waiting for the answer: the goblins' turn comes right after.
                fake.slash(BOB, TABLE, "turn end", &[]).await;
                ended = true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("a goblin's turn asks the LLM");
    // The actor now waits on the hanging NPC decision for up to 8 s.
    let h = fake.slash(ALICE, TABLE, "roll", &[("dice", "1d20")]).await;
    let cb = h.callback(T).await.unwrap_or_else(|e| {
        panic!(
            "the roll is acknowledged in time: {e:?}\n{}",
            fake.describe()
        )
    });
    assert_eq!(cb.kind, 5, "deferred first");
    let r = h
        .reply(Duration::from_secs(40))
        .await
        .expect("then answered");
    assert!(r.text().contains("1d20"), "{}", r.text());
    let r = start.reply(T).await.expect("the fight started");
    assert!(r.text().contains("initiative"), "{}", r.text());
    fake.assert_clean();
}

/// Issue #13 hole 9: a campaign that cannot be loaded after a restart (here: a log
/// written by a newer dicebard) says so in its channel, and the bot serves the others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_that_cannot_load_says_so_and_the_others_run() {
    use fake_discord::ids::GENERAL;
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut bot = start_bot(&fake, dir.path());
    fake.wait_for_ready(Duration::from_secs(60))
        .await
        .expect("the bot connects");
    let r = support::bot::reply_text(
        &fake,
        ALICE,
        GENERAL,
        "campaign start",
        &[("name", "Broken Keep")],
        T,
    )
    .await;
    assert!(r.text().contains("Broken Keep"), "{}", r.text());
    let r = reply_text(&fake, ALICE, "campaign start", &[("name", "Fine Hall")]).await;
    assert!(r.text().contains("Fine Hall"), "{}", r.text());
    bot.kill();

    // The first campaign's log now holds an event from the future.
    let db = dir.path().join("data").join("dicebard.sqlite3");
    let mut conn = <sqlx::sqlite::SqliteConnection as sqlx::Connection>::connect_with(
        &sqlx::sqlite::SqliteConnectOptions::new().filename(&db),
    )
    .await
    .unwrap();
    sqlx::query(
        "UPDATE events SET body = '{\"v\":999}' WHERE seq = 1 AND campaign_id = \
         (SELECT id FROM campaigns WHERE name = 'Broken Keep')",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    <sqlx::sqlite::SqliteConnection as sqlx::Connection>::close(conn)
        .await
        .unwrap();

    let _bot = start_bot(&fake, dir.path());
    let notice = fake
        .wait_for_message(
            GENERAL,
            |m| m.text().contains("could not be loaded"),
            Duration::from_secs(60),
        )
        .await
        .unwrap_or_else(|e| panic!("the load failure is told: {e:?}\n{}", fake.describe()));
    assert!(notice.text().contains("Broken Keep"), "{}", notice.text());
    assert!(
        notice.text().contains("newer dicebard"),
        "{}",
        notice.text()
    );
    // The other campaign plays on.
    let r = reply_text(&fake, ALICE, "roll", &[("dice", "1d20")]).await;
    assert!(r.text().contains("1d20"), "{}", r.text());
}
