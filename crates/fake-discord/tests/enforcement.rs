//! The Discord rules the fake enforces, answered the way Discord answers them.

mod common;

use std::time::Duration;

use common::*;
use fake_discord::ids::{ALICE, BOB, GENERAL, TABLE};
use fake_discord::{ChannelSpec, FakeConfig, FakeDiscord, UserSpec};
use serde_json::{Value, json};

async fn fake_with_bot(config: FakeConfig) -> (FakeDiscord, RawBot) {
    let fake = FakeDiscord::start(config).await;
    let (bot, _) = RawBot::identify(&fake, GUILDS).await;
    bot.register_guild_commands(&fake, sample_commands()).await;
    (fake, bot)
}

fn post(c: impl std::fmt::Display) -> String {
    format!("/channels/{c}/messages")
}

#[tokio::test]
async fn auth_and_unknown_routes() {
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    let http = reqwest::Client::new();
    let url = |p: &str| format!("{}{p}", fake.api_base());
    let status = |r: reqwest::Response| r.status().as_u16();

    let r = http.get(url("/api/v10/users/@me")).send().await.unwrap();
    assert_eq!(status(r), 401);
    let r = http
        .get(url("/api/v10/users/@me"))
        .header("Authorization", "Bot nope")
        .send()
        .await
        .unwrap();
    assert_eq!(status(r), 401);
    let r = http
        .get(url("/api/v10/users/@me"))
        .header("Authorization", fake.token()) // missing "Bot "
        .send()
        .await
        .unwrap();
    assert_eq!(status(r), 401);
    let ok = http
        .get(url("/api/v10/users/@me"))
        .header("Authorization", format!("Bot {}", fake.token()))
        .send()
        .await
        .unwrap();
    assert_eq!(status(ok), 200);
    assert!(fake.unexpected_requests().is_empty());

    let r = http
        .get(url("/api/v10/voice/regions"))
        .header("Authorization", format!("Bot {}", fake.token()))
        .send()
        .await
        .unwrap();
    assert_eq!(status(r), 404);
    http.get(url("/api/v9/gateway")).send().await.unwrap();
    let unexpected = fake.unexpected_requests();
    assert_eq!(unexpected.len(), 2);
    assert_eq!(unexpected[0].path, "/voice/regions");
    assert_eq!(fake.refused_requests().len(), 5);
    let clean = std::panic::catch_unwind(|| fake.assert_clean());
    assert!(clean.is_err(), "assert_clean fails on unexpected requests");
}

#[tokio::test]
async fn message_limits_answer_like_discord() {
    let (_fake, bot) = fake_with_bot(FakeConfig::default()).await;
    let field = |v: usize| json!({"name": "n", "value": "v".repeat(v)});
    let embed_desc = |n: usize| json!({"description": "d".repeat(n)});
    let row = |ids: &[&str]| json!({"type": 1, "components": ids.iter().map(|id| json!({"type": 2, "style": 1, "label": "b", "custom_id": id})).collect::<Vec<_>>()});
    // (body, accepted?, error path when refused)
    let cases: Vec<(Value, bool, &str)> = vec![
        (json!({"content": "x".repeat(2000)}), true, ""),
        (
            json!({"content": "x".repeat(2001)}),
            false,
            "/errors/content",
        ),
        (json!({"embeds": [{"title": "t".repeat(256)}]}), true, ""),
        (
            json!({"embeds": [{"title": "t".repeat(257)}]}),
            false,
            "/errors/embeds/0/title",
        ),
        (json!({"embeds": [embed_desc(4096)]}), true, ""),
        (
            json!({"embeds": [embed_desc(4097)]}),
            false,
            "/errors/embeds/0/description",
        ),
        (
            json!({"embeds": [{"fields": (0..25).map(|_| field(1)).collect::<Vec<_>>()}]}),
            true,
            "",
        ),
        (
            json!({"embeds": [{"fields": (0..26).map(|_| field(1)).collect::<Vec<_>>()}]}),
            false,
            "/errors/embeds/0/fields",
        ),
        (json!({"embeds": [{"fields": [field(1024)]}]}), true, ""),
        (
            json!({"embeds": [{"fields": [field(1025)]}]}),
            false,
            "/errors/embeds/0/fields/0/value",
        ),
        (
            json!({"embeds": [{"fields": [{"name": "", "value": "v"}]}]}),
            false,
            "/errors/embeds/0/fields/0/name",
        ),
        (
            json!({"embeds": [{"footer": {"text": "f".repeat(2049)}}]}),
            false,
            "/errors/embeds/0/footer/text",
        ),
        (
            json!({"embeds": [embed_desc(3000), embed_desc(3000)]}),
            true,
            "",
        ),
        (
            json!({"embeds": [embed_desc(3000), embed_desc(3001)]}),
            false,
            "/errors/embeds",
        ),
        (
            json!({"embeds": (0..10).map(|_| json!({"title": "t"})).collect::<Vec<_>>()}),
            true,
            "",
        ),
        (
            json!({"embeds": (0..11).map(|_| json!({"title": "t"})).collect::<Vec<_>>()}),
            false,
            "/errors/embeds",
        ),
        (
            json!({"content": "c", "components": (0..6).map(|i| row(&[&format!("b{i}")])).collect::<Vec<_>>()}),
            false,
            "/errors/components",
        ),
        (
            json!({"content": "c", "components": [row(&["a", "b", "c", "d", "e", "f"])]}),
            false,
            "/errors/components/0/components",
        ),
        (
            json!({"content": "c", "components": [row(&["same"]), row(&["same"])]}),
            false,
            "/errors/components/1/components/0/custom_id",
        ),
    ];
    for (i, (body, accepted, path)) in cases.into_iter().enumerate() {
        let (status, resp) = bot.rest("POST", &post(GENERAL), Some(body)).await;
        if accepted {
            assert_eq!(status, 200, "case {i}: {resp}");
        } else {
            assert_eq!(
                (status, resp["code"].as_i64()),
                (400, Some(50035)),
                "case {i}: {resp}"
            );
            assert!(
                resp.pointer(path).is_some(),
                "case {i}: no {path} in {resp}"
            );
        }
    }
    let (status, resp) = bot
        .rest("POST", &post(GENERAL), Some(json!({"content": ""})))
        .await;
    assert_eq!((status, resp["code"].as_i64()), (400, Some(50006)));

    // Edits are held to the same limits.
    let (_, m) = bot
        .rest("POST", &post(GENERAL), Some(json!({"content": "short"})))
        .await;
    let edit = format!("/channels/{GENERAL}/messages/{}", m["id"].as_str().unwrap());
    let (status, _) = bot
        .rest("PATCH", &edit, Some(json!({"content": "x".repeat(2001)})))
        .await;
    assert_eq!(status, 400);
    let (status, _) = bot.rest("PATCH", &edit, Some(json!({"content": ""}))).await;
    assert_eq!(status, 400, "an edit may not leave the message empty");
}

#[tokio::test]
async fn pins_cap_at_250() {
    let (fake, bot) = fake_with_bot(FakeConfig::default()).await;
    for i in 0..251 {
        let (status, m) = bot
            .rest(
                "POST",
                &post(TABLE),
                Some(json!({"content": format!("#{i}")})),
            )
            .await;
        assert_eq!(status, 200);
        let (status, resp) = bot
            .rest(
                "PUT",
                &format!("/channels/{TABLE}/pins/{}", m["id"].as_str().unwrap()),
                None,
            )
            .await;
        if i < 250 {
            assert_eq!(status, 204, "{resp}");
        } else {
            assert_eq!(
                (status, resp["code"].as_i64()),
                (400, Some(30003)),
                "{resp}"
            );
        }
    }
    assert_eq!(fake.pins(TABLE).len(), 250);
    assert_eq!(
        fake.pins(TABLE)[0].content,
        "#249",
        "most recently pinned first"
    );
    let (status, _) = bot
        .rest("PUT", &format!("/channels/{TABLE}/pins/1"), None)
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn interaction_acknowledgement_rules() {
    let config = FakeConfig {
        ack_deadline: Duration::from_millis(500),
        token_lifetime: Duration::from_millis(1500),
        ..FakeConfig::default()
    };
    let (fake, mut bot) = fake_with_bot(config).await;

    // Twice: 40060.
    fake.slash(ALICE, GENERAL, "form", &[]).await;
    let (v, _) = bot.next_dispatch("INTERACTION_CREATE").await;
    let d = &v["d"];
    assert_eq!(bot.callback(d, json!({"type": 5})).await.0, 204);
    let (status, resp) = bot
        .callback(d, json!({"type": 4, "data": {"content": "again"}}))
        .await;
    assert_eq!((status, resp["code"].as_i64()), (400, Some(40060)));

    // Late: 10062, and the interaction stays unanswered.
    let late = fake.slash(ALICE, GENERAL, "form", &[]).await;
    let (v, _) = bot.next_dispatch("INTERACTION_CREATE").await;
    let wh = format!(
        "/webhooks/{}/{}",
        fake.application_id(),
        v["d"]["token"].as_str().unwrap()
    );
    let (status, resp) = bot
        .rest("POST", &wh, Some(json!({"content": "too early"})))
        .await;
    assert_eq!(
        (status, resp["code"].as_i64()),
        (404, Some(10015)),
        "follow-up before the ack"
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    let (status, resp) = bot
        .callback(&v["d"], json!({"type": 4, "data": {"content": "slow"}}))
        .await;
    assert_eq!((status, resp["code"].as_i64()), (404, Some(10062)));
    assert!(late.callback_now().is_none());
    let err = late.callback(Duration::from_millis(50)).await.unwrap_err();
    assert!(err.to_string().contains("POST /interactions/"), "{err}");

    // Wrong response types and invalid payloads are refused without consuming the ack.
    fake.slash(ALICE, GENERAL, "form", &[]).await;
    let (v, _) = bot.next_dispatch("INTERACTION_CREATE").await;
    let d = &v["d"];
    assert_eq!(
        bot.callback(d, json!({"type": 8, "data": {"choices": []}}))
            .await
            .0,
        400
    );
    let long_title = json!({"type": 9, "data": {"custom_id": "m", "title": "t".repeat(46),
        "components": [{"type": 1, "components": [{"type": 4, "custom_id": "a", "label": "A", "style": 1}]}]}});
    assert_eq!(bot.callback(d, long_title).await.0, 400);
    let too_long = json!({"type": 4, "data": {"content": "x".repeat(2001)}});
    let (status, resp) = bot.callback(d, too_long).await;
    assert!(
        resp.pointer("/errors/data/content").is_some(),
        "{status} {resp}"
    );
    let ok = json!({"type": 4, "data": {"content": "fine", "flags": 64}});
    assert_eq!(bot.callback(d, ok).await.0, 204);
    let original = format!(
        "/webhooks/{}/{}/messages/@original",
        fake.application_id(),
        d["token"].as_str().unwrap()
    );
    let (status, m) = bot.rest("GET", &original, None).await;
    assert_eq!((status, m["flags"].as_u64()), (200, Some(64)));

    // Autocomplete with 26 choices.
    let f2 = fake.clone();
    let ac = tokio::spawn(async move { f2.autocomplete(BOB, GENERAL, "roll", &[], "dice").await });
    let (v, _) = bot.next_dispatch("INTERACTION_CREATE").await;
    let many: Vec<Value> = (0..26)
        .map(|i| json!({"name": i.to_string(), "value": i.to_string()}))
        .collect();
    assert_eq!(
        bot.callback(&v["d"], json!({"type": 8, "data": {"choices": many}}))
            .await
            .0,
        400
    );
    assert!(ac.await.unwrap().is_err(), "no valid choices arrived");

    // The token expires after 15 min (1.5 s here).
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let (status, resp) = bot
        .rest("PATCH", &original, Some(json!({"content": "late edit"})))
        .await;
    assert_eq!((status, resp["code"].as_i64()), (401, Some(50027)));
}

#[tokio::test]
async fn deferred_responses_and_followups() {
    let (fake, mut bot) = fake_with_bot(FakeConfig::default()).await;
    let h = fake.slash(ALICE, GENERAL, "roll", &[("dice", "1d4")]).await;
    let (v, _) = bot.next_dispatch("INTERACTION_CREATE").await;
    let d = &v["d"];
    assert_eq!(
        bot.callback(d, json!({"type": 5, "data": {"flags": 64}}))
            .await
            .0,
        204
    );
    let thinking = h.original().unwrap();
    assert!(thinking.is_loading() && thinking.is_ephemeral());
    assert!(
        h.reply(Duration::from_millis(100)).await.is_err(),
        "still thinking"
    );
    let wh = format!(
        "/webhooks/{}/{}",
        fake.application_id(),
        d["token"].as_str().unwrap()
    );
    let (_, first) = bot.rest("POST", &wh, Some(json!({"content": "3"}))).await;
    assert_eq!(
        first["id"].as_str().unwrap(),
        thinking.id.to_string(),
        "replaces the loading message"
    );
    let reply = h.reply(SECOND).await.unwrap();
    assert!(reply.is_ephemeral() && !reply.is_loading());
    assert_eq!(reply.content, "3");
    let (_, second) = bot
        .rest("POST", &wh, Some(json!({"content": "public follow-up"})))
        .await;
    assert_eq!(
        h.followup(0, SECOND).await.unwrap().id.to_string(),
        second["id"].as_str().unwrap()
    );
    let visible: Vec<_> = fake
        .messages(GENERAL)
        .into_iter()
        .map(|m| m.content)
        .collect();
    assert_eq!(
        visible,
        ["public follow-up"],
        "ephemeral messages stay private"
    );

    // Streaming narration: edits of the original, waited for with a predicate.
    let h = fake.slash(BOB, GENERAL, "roll", &[("dice", "1d8")]).await;
    let (v, _) = bot.next_dispatch("INTERACTION_CREATE").await;
    bot.callback(
        &v["d"],
        json!({"type": 4, "data": {"content": "The goblin"}}),
    )
    .await;
    let original = format!(
        "/webhooks/{}/{}/messages/@original",
        fake.application_id(),
        v["d"]["token"].as_str().unwrap()
    );
    for text in ["The goblin lunges", "The goblin lunges and misses."] {
        assert_eq!(
            bot.rest("PATCH", &original, Some(json!({"content": text})))
                .await
                .0,
            200
        );
    }
    let done = h
        .reply_matching(|m| m.content.ends_with('.'), SECOND)
        .await
        .unwrap();
    assert_eq!(done.edits, 2);
    assert_eq!(
        fake.max_rate(
            "PATCH /webhooks/*/{token}/messages/{m}",
            Duration::from_secs(5)
        ),
        2
    );
}

#[tokio::test]
async fn dms_permissions_and_authorship() {
    let mut config = FakeConfig::default();
    config.users[1] = UserSpec::new(BOB, "bob").dms_closed();
    config.channels[2] = ChannelSpec::text(TABLE, "table").read_only();
    let (fake, bot) = fake_with_bot(config).await;

    let (status, dm) = bot
        .rest(
            "POST",
            "/users/@me/channels",
            Some(json!({"recipient_id": ALICE.to_string()})),
        )
        .await;
    assert_eq!((status, dm["type"].as_u64()), (200, Some(1)));
    let dm_id = dm["id"].as_str().unwrap();
    assert_eq!(
        bot.rest("POST", &post(dm_id), Some(json!({"content": "your turn"})))
            .await
            .0,
        200
    );
    assert_eq!(fake.dms(ALICE)[0].content, "your turn");
    let got = fake
        .wait_for_dm(ALICE, |m| m.content.contains("turn"), SECOND)
        .await
        .unwrap();
    assert_eq!(got.guild_id, None);

    let (_, dm) = bot
        .rest(
            "POST",
            "/users/@me/channels",
            Some(json!({"recipient_id": BOB.to_string()})),
        )
        .await;
    let (status, resp) = bot
        .rest(
            "POST",
            &post(dm["id"].as_str().unwrap()),
            Some(json!({"content": "hi"})),
        )
        .await;
    assert_eq!((status, resp["code"].as_i64()), (403, Some(50007)));
    let (status, resp) = bot
        .rest(
            "POST",
            "/users/@me/channels",
            Some(json!({"recipient_id": "1"})),
        )
        .await;
    assert_eq!((status, resp["code"].as_i64()), (404, Some(10013)));

    let (status, resp) = bot
        .rest("POST", &post(TABLE), Some(json!({"content": "hi"})))
        .await;
    assert_eq!((status, resp["code"].as_i64()), (403, Some(50013)));
    let (status, resp) = bot
        .rest("POST", &post(1), Some(json!({"content": "hi"})))
        .await;
    assert_eq!((status, resp["code"].as_i64()), (404, Some(10003)));

    let theirs = fake.user_says(ALICE, GENERAL, "my message");
    let (status, resp) = bot
        .rest(
            "PATCH",
            &format!("/channels/{GENERAL}/messages/{}", theirs.id),
            Some(json!({"content": "x"})),
        )
        .await;
    assert_eq!((status, resp["code"].as_i64()), (403, Some(50005)));

    let (status, resp) = bot
        .rest(
            "POST",
            &post(GENERAL),
            Some(json!({"content": "re", "message_reference": {"message_id": "1"}})),
        )
        .await;
    assert_eq!(status, 400, "{resp}");
    let (_, reply) = bot
        .rest("POST", &post(GENERAL), Some(json!({"content": "re", "message_reference": {"message_id": theirs.id.to_string()}})))
        .await;
    assert_eq!(reply["type"].as_u64(), Some(19));
}

#[tokio::test]
async fn command_definitions_are_validated() {
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    let (bot, _) = RawBot::identify(&fake, GUILDS).await;
    let path = format!("/applications/{}/commands", fake.application_id());
    let bad = json!([
        {"name": "Roll", "description": "Uppercase name"},
        {"name": "nodesc", "description": ""},
        {"name": "order", "description": "Required after optional", "options": [
            {"type": 3, "name": "a", "description": "a"},
            {"type": 3, "name": "b", "description": "b", "required": true}]},
        {"name": "x".repeat(33), "description": "too long"}
    ]);
    let (status, resp) = bot.rest("PUT", &path, Some(bad)).await;
    assert_eq!((status, resp["code"].as_i64()), (400, Some(50035)));
    for p in [
        "/errors/0/name",
        "/errors/1/description",
        "/errors/2/options/1",
        "/errors/3/name",
    ] {
        assert!(resp.pointer(p).is_some(), "{p} missing in {resp}");
    }
    assert!(
        fake.global_commands().is_empty(),
        "a refused overwrite changes nothing"
    );
    let (status, _) = bot
        .rest(
            "PUT",
            &path,
            Some(json!([{"type": 2, "name": "Inspect User"}])),
        )
        .await;
    assert_eq!(status, 200, "user commands may have spaces and capitals");
}

#[tokio::test]
async fn rate_accounting_per_route_and_channel() {
    let (fake, bot) = fake_with_bot(FakeConfig::default()).await;
    for i in 0..7 {
        bot.rest(
            "POST",
            &post(GENERAL),
            Some(json!({"content": i.to_string()})),
        )
        .await;
    }
    let (_, m) = bot
        .rest("POST", &post(TABLE), Some(json!({"content": "t"})))
        .await;
    bot.rest(
        "PATCH",
        &format!("/channels/{TABLE}/messages/{}", m["id"].as_str().unwrap()),
        Some(json!({"content": "u"})),
    )
    .await;
    let window = Duration::from_secs(5);
    let w = fake.busiest_window("POST|PATCH /channels/{channel}/messages/**", window);
    assert_eq!(w.count, 7);
    assert_eq!(w.group, [GENERAL.to_string()]);
    assert_eq!(fake.max_rate("PATCH /channels/{c}/messages/{m}", window), 1);
    assert!(
        fake.max_rate("**", Duration::from_secs(1)) >= 10,
        "everything incl. setup"
    );
    fake.assert_rate_at_most("POST /channels/{c}/messages", 7, window);
    let over = std::panic::catch_unwind(|| {
        fake.assert_rate_at_most("POST|PATCH /channels/{c}/messages/**", 5, window)
    });
    let msg = *over.unwrap_err().downcast::<String>().unwrap();
    assert!(
        msg.contains("7 requests") && msg.contains("budget 5"),
        "{msg}"
    );
    let found = fake
        .wait_for_request("PATCH /channels/*/messages/*", SECOND)
        .await
        .unwrap();
    assert_eq!(found.status, 200);
}

#[tokio::test]
async fn gateway_close_codes() {
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    let identify = |token: String, intents: u64| {
        json!({"op": 2, "d": {"token": token, "intents": intents, "properties": {}}}).to_string()
    };
    use futures_util::SinkExt;
    use tokio_tungstenite::tungstenite::Message as Ws;

    let mut ws = RawBot::connect_only(&fake).await;
    next_text(&mut ws).await;
    ws.send(Ws::Text(identify("Bot wrong".into(), GUILDS)))
        .await
        .unwrap();
    assert_eq!(close_code(&mut ws).await, Some(4004));

    let mut ws = RawBot::connect_only(&fake).await;
    next_text(&mut ws).await;
    ws.send(Ws::Text(identify(fake.token().into(), GUILDS | (1 << 15))))
        .await
        .unwrap();
    assert_eq!(
        close_code(&mut ws).await,
        Some(4014),
        "MESSAGE_CONTENT is privileged"
    );

    let mut ws = RawBot::connect_only(&fake).await;
    next_text(&mut ws).await;
    ws.send(Ws::Text(json!({"op": 4, "d": {}}).to_string()))
        .await
        .unwrap();
    assert_eq!(
        close_code(&mut ws).await,
        Some(4003),
        "op 4 before identify"
    );

    let (mut bot, _) = RawBot::identify(&fake, GUILDS).await;
    bot.ws
        .send(Ws::Text(identify(fake.token().into(), GUILDS)))
        .await
        .unwrap();
    assert_eq!(close_code(&mut bot.ws).await, Some(4005));

    let (mut bot, _) = RawBot::identify(&fake, GUILDS).await;
    bot.send(json!({"op": 42, "d": null})).await;
    assert_eq!(close_code(&mut bot.ws).await, Some(4001));

    let (mut bot, _) = RawBot::identify(&fake, GUILDS).await;
    assert!(fake.close_gateway(4009));
    assert_eq!(close_code(&mut bot.ws).await, Some(4009));
    let mut ws = RawBot::connect_only(&fake).await;
    next_text(&mut ws).await;
    let resume = json!({"op": 6, "d": {"session_id": bot.session_id, "token": fake.token(), "seq": bot.seq}});
    ws.send(Ws::Text(resume.to_string())).await.unwrap();
    let f = next_text(&mut ws).await;
    assert_eq!(
        serde_json::from_str::<Value>(&f).unwrap()["op"],
        9,
        "4009 ends the session"
    );
    assert_eq!(fake.identify_count(), 3);
}

#[tokio::test]
#[should_panic(expected = "has not registered /nope")]
async fn slash_fails_the_test_for_unregistered_commands() {
    let config = FakeConfig {
        setup_timeout: Duration::from_millis(200),
        ..FakeConfig::default()
    };
    let (fake, _bot) = fake_with_bot(config).await;
    fake.slash(ALICE, GENERAL, "nope", &[]).await;
}

#[tokio::test]
#[should_panic(expected = "no option \"dicee\"")]
async fn slash_fails_the_test_for_unknown_options() {
    let (fake, _bot) = fake_with_bot(FakeConfig::default()).await;
    fake.slash(ALICE, GENERAL, "roll", &[("dicee", "1d20")])
        .await;
}

#[tokio::test]
#[should_panic(expected = "requires option \"dice\"")]
async fn slash_fails_the_test_for_missing_required_options() {
    let (fake, _bot) = fake_with_bot(FakeConfig::default()).await;
    fake.slash(ALICE, GENERAL, "roll", &[("times", "2")]).await;
}

#[tokio::test]
async fn wait_errors_say_what_the_fake_saw() {
    let (fake, bot) = fake_with_bot(FakeConfig::default()).await;
    bot.rest(
        "POST",
        &post(GENERAL),
        Some(json!({"content": "something else"})),
    )
    .await;
    let err = fake
        .wait_for_message(GENERAL, |m| m.content == "never", Duration::from_millis(50))
        .await
        .unwrap_err();
    let text = format!("{err:?}");
    assert!(
        text.contains("timed out waiting for a matching message"),
        "{text}"
    );
    assert!(text.contains("something else"), "{text}");
    assert!(text.contains("POST /channels/"), "{text}");
}

#[tokio::test]
async fn multipart_uploads_and_attachment_edits() {
    let (fake, bot) = fake_with_bot(FakeConfig::default()).await;
    let form = reqwest::multipart::Form::new()
        .text(
            "payload_json",
            json!({"content": "maps", "attachments": [{"id": 0, "description": "the map"}]})
                .to_string(),
        )
        .part(
            "files[0]",
            reqwest::multipart::Part::bytes(b"PNGDATA".to_vec())
                .file_name("map.png")
                .mime_str("image/png")
                .unwrap(),
        )
        .part(
            "files[1]",
            reqwest::multipart::Part::bytes(b"notes".to_vec()).file_name("notes.txt"),
        );
    let resp = bot
        .http
        .post(format!("{}{}", bot.api, post(GENERAL)))
        .header("Authorization", &bot.auth)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let m: Value = resp.json_value().await;
    assert_eq!(m["attachments"][0]["description"], "the map");
    let stored = fake
        .message(fake_discord::MessageId(
            m["id"].as_str().unwrap().parse().unwrap(),
        ))
        .unwrap();
    assert_eq!(stored.attachments[0].data, b"PNGDATA");
    assert_eq!(stored.attachments[1].filename, "notes.txt");
    let url = m["attachments"][0]["url"].as_str().unwrap();
    assert_eq!(
        reqwest::get(url)
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
            .as_ref(),
        b"PNGDATA"
    );

    let keep = m["attachments"][1]["id"].clone();
    let edit = format!("/channels/{GENERAL}/messages/{}", m["id"].as_str().unwrap());
    let (_, edited) = bot
        .rest("PATCH", &edit, Some(json!({"attachments": [{"id": keep}]})))
        .await;
    assert_eq!(edited["attachments"].as_array().unwrap().len(), 1);
    assert_eq!(edited["attachments"][0]["filename"], "notes.txt");
    assert_eq!(
        fake.request_log()
            .iter()
            .filter(|r| !r.files.is_empty())
            .count(),
        1
    );
}

trait JsonValue {
    async fn json_value(self) -> Value;
}

impl JsonValue for reqwest::Response {
    async fn json_value(self) -> Value {
        serde_json::from_slice(&self.bytes().await.unwrap()).unwrap()
    }
}
