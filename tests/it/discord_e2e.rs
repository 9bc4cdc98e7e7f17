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

const CONFIG: &str =
    "[turns]\ntimeout_secs = 8\nwarning_secs = 4\n[log]\nfilter = \"info,serenity=warn\"\n";

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
    assert!(
        fake.pins(TABLE)
            .iter()
            .any(|m| m.text().contains("Thorin — Dwarf Fighter 1"))
    );

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

    // A fight.
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
            Duration::from_secs(40),
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
    let _bot = start_bot(&fake, dir.path());
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

    // Mira's turn comes with a DM and buttons; clicking End turn ends it.
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
    let click = fake.click(ALICE, dm.id, &campaign_button).await;
    let cb = click.callback(T).await.expect("button answered");
    assert!(
        cb.content().unwrap_or_default().contains("turn"),
        "{:?}",
        cb.content()
    );
    let click = fake.click(BOB, dm.id, &campaign_button).await;
    let cb = click.callback(T).await.expect("button answered");
    assert_eq!(cb.content(), Some("Done."));

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
