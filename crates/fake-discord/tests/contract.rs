//! Contract tests: everything the fake puts on the wire must parse with serenity 0.12.5's own
//! types — gateway frames through `GatewayEvent` (never `Event::Unknown`, which serenity drops
//! silently), REST bodies through serenity's `Http` client into its model structs.

mod common;

use std::sync::Arc;

use common::*;
use fake_discord::ids::{ALICE, BOB, GENERAL, TABLE, VOICE};
use fake_discord::{FakeConfig, FakeDiscord, PRIVILEGED_INTENTS, UserSpec};
use serde_json::{Value, json};
use serenity::all as s;
use serenity::model::event::{Event, GatewayEvent};

fn sid(id: u64) -> String {
    id.to_string()
}

#[tokio::test]
async fn gateway_handshake_frames_parse() {
    let mut config = FakeConfig::default();
    config.users[0] = UserSpec::new(ALICE, "alice").in_voice(VOICE);
    let fake = FakeDiscord::start(config).await;
    let (mut bot, frames) = RawBot::identify(&fake, GUILDS | GUILD_VOICE_STATES).await;

    assert!(matches!(
        parse_frame(&frames[0]),
        GatewayEvent::Hello(41_250)
    ));
    let GatewayEvent::Dispatch(1, Event::Ready(ready)) = parse_frame(&frames[1]) else {
        panic!("READY with s=1 expected: {}", frames[1]);
    };
    assert_eq!(ready.ready.user.id.get(), fake.bot_id().0);
    assert!(ready.ready.user.bot);
    assert_eq!(ready.ready.application.id.get(), fake.application_id());
    assert_eq!(ready.ready.resume_gateway_url, fake.gateway_url());
    assert_eq!(ready.ready.guilds[0].id.get(), fake.guild_id().0);

    let GatewayEvent::Dispatch(2, Event::GuildCreate(gc)) = parse_frame(&frames[2]) else {
        panic!("GUILD_CREATE with s=2 expected: {}", frames[2]);
    };
    let g = gc.guild;
    assert_eq!(g.channels.len(), 3);
    assert_eq!(g.members.len(), 4, "bot + 3 users");
    let everyone = &g.roles[&s::RoleId::new(fake.guild_id().0)];
    assert!(
        everyone.permissions.administrator(),
        "@everyone must be admin for serenity's checks"
    );
    let alice_voice = &g.voice_states[&s::UserId::new(ALICE.0)];
    assert_eq!(alice_voice.channel_id.map(|c| c.get()), Some(VOICE.0));
    assert_eq!(
        g.channels[&s::ChannelId::new(VOICE.0)].kind,
        s::ChannelType::Voice
    );
    assert_eq!(
        g.channels[&s::ChannelId::new(GENERAL.0)].guild_id.get(),
        fake.guild_id().0
    );

    bot.send(json!({"op": 1, "d": 2})).await;
    assert!(matches!(
        parse_frame(&bot.next().await),
        GatewayEvent::HeartbeatAck
    ));
    assert!(fake.request_heartbeat());
    assert!(matches!(
        parse_frame(&bot.next().await),
        GatewayEvent::Heartbeat { .. }
    ));
    assert!(fake.send_reconnect());
    assert!(matches!(
        parse_frame(&bot.next().await),
        GatewayEvent::Reconnect
    ));
    assert!(fake.invalidate_session(true));
    assert!(matches!(
        parse_frame(&bot.next().await),
        GatewayEvent::InvalidateSession(true)
    ));
    assert_all_frames_parse(&fake);
}

#[tokio::test]
async fn interaction_payloads_parse() {
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    let (mut bot, _) = RawBot::identify(&fake, GUILDS).await;
    bot.register_guild_commands(&fake, sample_commands()).await;

    // Command with every option type.
    let opts = [
        ("dice", "1d20+5"),
        ("times", "3"),
        ("bonus", "1.5"),
        ("secret", "true"),
        ("target", "bob"),
        ("where", "table"),
        ("role", "@everyone"),
        ("anyone", "alice"),
        ("sheet", "sheet.pdf"),
        ("mode", "Advantage"),
    ];
    let h = fake.slash(ALICE, GENERAL, "roll", &opts).await;
    let (_, text) = bot.next_dispatch("INTERACTION_CREATE").await;
    let GatewayEvent::Dispatch(_, Event::InteractionCreate(ic)) = parse_frame(&text) else {
        unreachable!()
    };
    let s::Interaction::Command(cmd) = ic.interaction else {
        panic!("command expected: {text}")
    };
    assert_eq!(cmd.id.get(), h.id().0);
    assert_eq!(cmd.data.name, "roll");
    assert_eq!(cmd.member.as_ref().unwrap().user.id.get(), ALICE.0);
    assert!(cmd.app_permissions.unwrap().administrator());
    let resolved = cmd.data.options();
    let by_name = |n: &str| &resolved.iter().find(|o| o.name == n).unwrap().value;
    assert!(matches!(
        by_name("dice"),
        s::ResolvedValue::String("1d20+5")
    ));
    assert!(matches!(by_name("times"), s::ResolvedValue::Integer(3)));
    assert!(matches!(by_name("bonus"), s::ResolvedValue::Number(x) if *x == 1.5));
    assert!(matches!(by_name("secret"), s::ResolvedValue::Boolean(true)));
    assert!(
        matches!(by_name("target"), s::ResolvedValue::User(u, Some(_)) if u.id.get() == BOB.0),
        "{:?}",
        by_name("target")
    );
    assert!(matches!(by_name("where"), s::ResolvedValue::Channel(c) if c.id.get() == TABLE.0));
    assert!(matches!(by_name("role"), s::ResolvedValue::Role(r) if r.name == "@everyone"));
    assert!(matches!(by_name("anyone"), s::ResolvedValue::User(u, _) if u.id.get() == ALICE.0));
    assert!(
        matches!(by_name("sheet"), s::ResolvedValue::Attachment(a) if a.filename == "sheet.pdf")
    );
    assert!(matches!(by_name("mode"), s::ResolvedValue::String("adv")));

    // Subcommand group with an integer choice.
    fake.slash(BOB, GENERAL, "character spell cast", &[("level", "second")])
        .await;
    let (_, text) = bot.next_dispatch("INTERACTION_CREATE").await;
    let GatewayEvent::Dispatch(_, Event::InteractionCreate(ic)) = parse_frame(&text) else {
        unreachable!()
    };
    let s::Interaction::Command(cmd) = ic.interaction else {
        panic!("{text}")
    };
    let s::ResolvedValue::SubCommandGroup(group) = &cmd.data.options()[0].value else {
        panic!("{text}")
    };
    let s::ResolvedValue::SubCommand(sub) = &group[0].value else {
        panic!("{text}")
    };
    assert!(matches!(sub[0].value, s::ResolvedValue::Integer(2)));

    // Autocomplete: the fake waits for the choices, so run it beside the raw bot.
    let f2 = fake.clone();
    let ac = tokio::spawn(async move {
        f2.autocomplete(
            ALICE,
            GENERAL,
            "roll",
            &[("dice", "1d"), ("times", "2")],
            "dice",
        )
        .await
    });
    let (v, text) = bot.next_dispatch("INTERACTION_CREATE").await;
    let GatewayEvent::Dispatch(_, Event::InteractionCreate(ic)) = parse_frame(&text) else {
        unreachable!()
    };
    let s::Interaction::Autocomplete(a) = ic.interaction else {
        panic!("{text}")
    };
    let focused = a.data.autocomplete().expect("a focused option");
    assert_eq!((focused.name, focused.value), ("dice", "1d"));
    let (status, _) = bot
        .callback(
            &v["d"],
            json!({"type": 8, "data": {"choices": [
            {"name": "1d20", "value": "1d20"}, {"name": "1d6", "value": "1d6"}]}}),
        )
        .await;
    assert_eq!(status, 204);
    let choices = ac.await.unwrap().unwrap();
    assert_eq!(choices.len(), 2);
    assert_eq!(choices[0].name, "1d20");

    // Button and select on a bot message.
    let (status, msg) = bot
        .rest("POST", &format!("/channels/{GENERAL}/messages"), Some(json!({
            "content": "Your turn",
            "components": [
                {"type": 1, "components": [{"type": 2, "style": 1, "label": "End turn", "custom_id": "end_turn"}]},
                {"type": 1, "components": [{"type": 3, "custom_id": "target", "options": [
                    {"label": "Goblin", "value": "g1"}, {"label": "Orc", "value": "o1"}]}]}
            ]})))
        .await;
    assert_eq!(status, 200, "{msg}");
    let mid = fake_discord::MessageId(msg["id"].as_str().unwrap().parse().unwrap());
    let click = fake.click(ALICE, mid, "end_turn").await;
    let (v, text) = bot.next_dispatch("INTERACTION_CREATE").await;
    let GatewayEvent::Dispatch(_, Event::InteractionCreate(ic)) = parse_frame(&text) else {
        unreachable!()
    };
    let s::Interaction::Component(c) = ic.interaction else {
        panic!("{text}")
    };
    assert_eq!(c.data.custom_id, "end_turn");
    assert!(matches!(
        c.data.kind,
        s::ComponentInteractionDataKind::Button
    ));
    assert_eq!(c.message.id.get(), mid.0);
    assert_eq!(c.message.components.len(), 2);
    let (status, _) = bot
        .callback(
            &v["d"],
            json!({"type": 7, "data": {"content": "Turn ended", "components": []}}),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(click.reply(SECOND).await.unwrap().content, "Turn ended");

    // Components were removed by the update; post a fresh select.
    let (_, msg) = bot
        .rest("POST", &format!("/channels/{GENERAL}/messages"), Some(json!({
            "content": "Pick",
            "components": [{"type": 1, "components": [{"type": 3, "custom_id": "target", "options": [
                {"label": "Goblin", "value": "g1"}, {"label": "Orc", "value": "o1"}]}]}]})))
        .await;
    let mid = fake_discord::MessageId(msg["id"].as_str().unwrap().parse().unwrap());
    fake.select(BOB, mid, "target", &["o1"]).await;
    let (_, text) = bot.next_dispatch("INTERACTION_CREATE").await;
    let GatewayEvent::Dispatch(_, Event::InteractionCreate(ic)) = parse_frame(&text) else {
        unreachable!()
    };
    let s::Interaction::Component(c) = ic.interaction else {
        panic!("{text}")
    };
    assert!(
        matches!(&c.data.kind, s::ComponentInteractionDataKind::StringSelect { values } if values == &["o1"])
    );

    // Modal opened by the bot, submitted by the user.
    let form = fake.slash(ALICE, GENERAL, "form", &[]).await;
    let (v, _) = bot.next_dispatch("INTERACTION_CREATE").await;
    let (status, body) = bot
        .callback(&v["d"], json!({"type": 9, "data": {"custom_id": "char-form", "title": "New character",
            "components": [
                {"type": 1, "components": [{"type": 4, "custom_id": "name", "label": "Name", "style": 1}]},
                {"type": 1, "components": [{"type": 4, "custom_id": "backstory", "label": "Backstory", "style": 2, "required": false}]}
            ]}}))
        .await;
    assert_eq!(status, 204, "{body}");
    let modal = form.modal(SECOND).await.unwrap();
    assert_eq!(modal.fields.len(), 2);
    fake.submit_modal(ALICE, &modal.custom_id, &[("name", "Thorin")])
        .await;
    let (_, text) = bot.next_dispatch("INTERACTION_CREATE").await;
    let GatewayEvent::Dispatch(_, Event::InteractionCreate(ic)) = parse_frame(&text) else {
        unreachable!()
    };
    let s::Interaction::Modal(m) = ic.interaction else {
        panic!("{text}")
    };
    assert_eq!(m.data.custom_id, "char-form");
    let s::ActionRowComponent::InputText(name) = &m.data.components[0].components[0] else {
        panic!("{text}")
    };
    assert_eq!(name.value.as_deref(), Some("Thorin"));

    // A global command used in a DM: `user` instead of `member`, no guild.
    let path = format!("/applications/{}/commands", fake.application_id());
    let (status, _) = bot
        .rest(
            "PUT",
            &path,
            Some(json!([{"name": "ping", "description": "Ping"}])),
        )
        .await;
    assert_eq!(status, 200);
    let dm = fake.open_dm(ALICE);
    fake.slash(ALICE, dm, "ping", &[]).await;
    let (_, text) = bot.next_dispatch("INTERACTION_CREATE").await;
    let GatewayEvent::Dispatch(_, Event::InteractionCreate(ic)) = parse_frame(&text) else {
        unreachable!()
    };
    let s::Interaction::Command(cmd) = ic.interaction else {
        panic!("{text}")
    };
    assert!(cmd.guild_id.is_none() && cmd.member.is_none());
    assert_eq!(cmd.user.id.get(), ALICE.0);

    assert!(assert_all_frames_parse(&fake) >= 10);
}

#[tokio::test]
async fn message_voice_and_guild_events_parse() {
    let config = FakeConfig {
        privileged_intents: PRIVILEGED_INTENTS,
        ..FakeConfig::default()
    };
    let fake = FakeDiscord::start(config).await;
    let intents = GUILDS | GUILD_MEMBERS | GUILD_VOICE_STATES | GUILD_MESSAGES | DIRECT_MESSAGES;
    let (mut bot, _) = RawBot::identify(&fake, intents).await;

    let said = fake.user_says(ALICE, GENERAL, &format!("hi <@{}>", fake.bot_id()));
    let (_, text) = bot.next_dispatch("MESSAGE_CREATE").await;
    let GatewayEvent::Dispatch(_, Event::MessageCreate(mc)) = parse_frame(&text) else {
        unreachable!()
    };
    assert_eq!(mc.message.id.get(), said.id.0);
    assert!(
        mc.message.content.starts_with("hi"),
        "mentioned: content kept"
    );
    assert_eq!(mc.message.mentions[0].id.get(), fake.bot_id().0);
    assert!(mc.message.member.is_some());

    let (_, posted) = bot
        .rest(
            "POST",
            &format!("/channels/{GENERAL}/messages"),
            Some(json!({"content": "hello",
            "embeds": [{"title": "Goblin", "description": "HP 7", "color": 5_763_719,
                        "fields": [{"name": "AC", "value": "15", "inline": true}],
                        "footer": {"text": "Round 1"}}]})),
        )
        .await;
    let (_, text) = bot.next_dispatch("MESSAGE_CREATE").await;
    let GatewayEvent::Dispatch(_, Event::MessageCreate(mc)) = parse_frame(&text) else {
        unreachable!()
    };
    assert_eq!(mc.message.embeds[0].title.as_deref(), Some("Goblin"));
    let mid = posted["id"].as_str().unwrap();

    bot.rest(
        "PATCH",
        &format!("/channels/{GENERAL}/messages/{mid}"),
        Some(json!({"content": "edited"})),
    )
    .await;
    let (_, text) = bot.next_dispatch("MESSAGE_UPDATE").await;
    assert!(matches!(
        parse_frame(&text),
        GatewayEvent::Dispatch(_, Event::MessageUpdate(_))
    ));

    bot.rest("PUT", &format!("/channels/{GENERAL}/pins/{mid}"), None)
        .await;
    let (_, text) = bot.next_dispatch("CHANNEL_PINS_UPDATE").await;
    assert!(matches!(
        parse_frame(&text),
        GatewayEvent::Dispatch(_, Event::ChannelPinsUpdate(_))
    ));

    bot.rest(
        "DELETE",
        &format!("/channels/{GENERAL}/messages/{mid}"),
        None,
    )
    .await;
    let (_, text) = bot.next_dispatch("MESSAGE_DELETE").await;
    assert!(matches!(
        parse_frame(&text),
        GatewayEvent::Dispatch(_, Event::MessageDelete(_))
    ));

    let dm = fake.open_dm(BOB);
    fake.user_says(BOB, dm, "psst");
    let (_, text) = bot.next_dispatch("MESSAGE_CREATE").await;
    let GatewayEvent::Dispatch(_, Event::MessageCreate(mc)) = parse_frame(&text) else {
        unreachable!()
    };
    assert!(mc.message.guild_id.is_none());
    assert_eq!(mc.message.content, "psst");

    fake.user_joins_voice(BOB, VOICE);
    let (_, text) = bot.next_dispatch("VOICE_STATE_UPDATE").await;
    let GatewayEvent::Dispatch(_, Event::VoiceStateUpdate(vs)) = parse_frame(&text) else {
        unreachable!()
    };
    assert_eq!(vs.voice_state.channel_id.map(|c| c.get()), Some(VOICE.0));
    assert_eq!(
        vs.voice_state.guild_id.map(|g| g.get()),
        Some(fake.guild_id().0)
    );
    fake.user_leaves_voice(BOB);
    let (_, text) = bot.next_dispatch("VOICE_STATE_UPDATE").await;
    let GatewayEvent::Dispatch(_, Event::VoiceStateUpdate(vs)) = parse_frame(&text) else {
        unreachable!()
    };
    assert!(vs.voice_state.channel_id.is_none());

    // The bot's own op 4 (ids as JSON numbers, as serenity/songbird send them).
    bot.send(
        json!({"op": 4, "d": {"guild_id": fake.guild_id().0, "channel_id": VOICE.0,
        "self_mute": false, "self_deaf": true}}),
    )
    .await;
    let (_, text) = bot.next_dispatch("VOICE_STATE_UPDATE").await;
    let GatewayEvent::Dispatch(_, Event::VoiceStateUpdate(vs)) = parse_frame(&text) else {
        unreachable!()
    };
    assert_eq!(vs.voice_state.user_id.get(), fake.bot_id().0);
    assert!(vs.voice_state.self_deaf);
    assert_eq!(fake.bot_voice_channel(), Some(VOICE));
    let (_, text) = bot.next_dispatch("VOICE_SERVER_UPDATE").await;
    let GatewayEvent::Dispatch(_, Event::VoiceServerUpdate(vsu)) = parse_frame(&text) else {
        unreachable!()
    };
    assert_eq!(vsu.guild_id.map(|g| g.get()), Some(fake.guild_id().0));
    assert_eq!(
        vsu.endpoint.as_deref(),
        Some(fake.voice_endpoint().as_str())
    );
    assert!(!vsu.token.is_empty());

    bot.send(json!({"op": 8, "d": {"guild_id": sid(fake.guild_id().0), "query": "", "limit": 0, "nonce": "n1"}}))
        .await;
    let (_, text) = bot.next_dispatch("GUILD_MEMBERS_CHUNK").await;
    let GatewayEvent::Dispatch(_, Event::GuildMembersChunk(chunk)) = parse_frame(&text) else {
        unreachable!()
    };
    assert_eq!(chunk.members.len(), 4);

    let (_, role) = bot
        .rest(
            "POST",
            &format!("/guilds/{}/roles", fake.guild_id()),
            Some(json!({"name": "GM", "permissions": "0"})),
        )
        .await;
    let (_, text) = bot.next_dispatch("GUILD_ROLE_CREATE").await;
    assert!(matches!(
        parse_frame(&text),
        GatewayEvent::Dispatch(_, Event::GuildRoleCreate(_))
    ));
    let rid = role["id"].as_str().unwrap();
    let (status, _) = bot
        .rest(
            "PUT",
            &format!("/guilds/{}/members/{ALICE}/roles/{rid}", fake.guild_id()),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (_, text) = bot.next_dispatch("GUILD_MEMBER_UPDATE").await;
    let GatewayEvent::Dispatch(_, Event::GuildMemberUpdate(mu)) = parse_frame(&text) else {
        unreachable!()
    };
    assert_eq!(mu.roles.len(), 1);

    assert_all_frames_parse(&fake);
}

#[tokio::test]
async fn resume_replays_missed_dispatches_then_resumed() {
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    let (mut bot, _) = RawBot::identify(&fake, GUILDS | GUILD_MESSAGES).await;
    let seq = bot.seq;
    assert!(fake.drop_connection());
    // Wait for the socket to go away, then miss two events.
    while let Ok(Some(Ok(_))) =
        tokio::time::timeout(SECOND, futures_util::StreamExt::next(&mut bot.ws)).await
    {}
    fake.user_says(ALICE, GENERAL, "one");
    fake.user_says(BOB, GENERAL, "two");

    let mut ws = RawBot::connect_only(&fake).await;
    assert!(matches!(
        parse_frame(&next_text(&mut ws).await),
        GatewayEvent::Hello(_)
    ));
    let resume = json!({"op": 6, "d": {"session_id": bot.session_id,
        "token": format!("Bot {}", fake.token()), "seq": seq}});
    futures_util::SinkExt::send(
        &mut ws,
        tokio_tungstenite::tungstenite::Message::Text(resume.to_string()),
    )
    .await
    .unwrap();
    for expected in [seq + 1, seq + 2] {
        let f = next_text(&mut ws).await;
        let GatewayEvent::Dispatch(s, Event::MessageCreate(_)) = parse_frame(&f) else {
            panic!("{f}")
        };
        assert_eq!(s, expected);
    }
    let f = next_text(&mut ws).await;
    assert!(
        matches!(parse_frame(&f), GatewayEvent::Dispatch(s, Event::Resumed(_)) if s == seq + 3),
        "{f}"
    );
    assert_eq!(fake.resume_count(), 1);

    // A resume with an unknown session is refused with op 9 d:false.
    let mut ws = RawBot::connect_only(&fake).await;
    next_text(&mut ws).await;
    let resume = json!({"op": 6, "d": {"session_id": "nope", "token": fake.token(), "seq": 1}});
    futures_util::SinkExt::send(
        &mut ws,
        tokio_tungstenite::tungstenite::Message::Text(resume.to_string()),
    )
    .await
    .unwrap();
    assert!(matches!(
        parse_frame(&next_text(&mut ws).await),
        GatewayEvent::InvalidateSession(false)
    ));
}

fn http_for(fake: &FakeDiscord) -> Arc<s::Http> {
    let http = s::HttpBuilder::new(fake.token())
        .proxy(fake.api_base())
        .ratelimiter_disabled(true)
        .build();
    http.set_application_id(s::ApplicationId::new(fake.application_id()));
    Arc::new(http)
}

/// On failure, show what the fake answered (serenity's error hides the body).
fn ok<T>(fake: &FakeDiscord, what: &str, r: serenity::Result<T>) -> T {
    r.unwrap_or_else(|e| {
        let last = fake
            .request_log()
            .pop()
            .map(|r| format!("{} {:?}", r.line(), r.response));
        panic!("{what}: {e:?}\nlast request: {last:?}")
    })
}

#[tokio::test]
async fn rest_bodies_parse_with_serenity_http() {
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    let http = http_for(&fake);
    let (_bot, _) = RawBot::identify(&fake, GUILDS).await; // a live session for interactions
    let guild = s::GuildId::new(fake.guild_id().0);
    let general = s::ChannelId::new(GENERAL.0);
    let alice = s::UserId::new(ALICE.0);

    let gw = ok(&fake, "gateway", http.get_gateway().await);
    assert_eq!(gw.url, fake.gateway_url());
    assert_eq!(
        ok(&fake, "gateway/bot", http.get_bot_gateway().await).shards,
        1
    );
    let app = ok(
        &fake,
        "application",
        http.get_current_application_info().await,
    );
    assert_eq!(app.owner.unwrap().id, alice);
    let me = ok(&fake, "users/@me", http.get_current_user().await);
    assert_eq!(me.id.get(), fake.bot_id().0);
    assert_eq!(ok(&fake, "user", http.get_user(alice).await).name, "alice");

    let cmds = ok(
        &fake,
        "guild commands",
        http.create_guild_commands(guild, &sample_commands()).await,
    );
    assert_eq!(cmds.len(), 3);
    assert_eq!(cmds[1].options[1].options[0].options[0].choices.len(), 2);
    let again = ok(
        &fake,
        "guild commands",
        http.create_guild_commands(guild, &sample_commands()).await,
    );
    assert_eq!(cmds[0].id, again[0].id, "ids are stable across overwrites");
    let global = json!([{"name": "ping", "description": "Ping"}]);
    ok(
        &fake,
        "global commands",
        http.create_global_commands(&global).await,
    );
    assert_eq!(
        ok(&fake, "get global", http.get_global_commands().await)[0].name,
        "ping"
    );
    // Built by serenity's own builder, as poise does.
    let built = vec![
        s::CreateCommand::new("hp")
            .description("Hit points")
            .add_option(
                s::CreateCommandOption::new(s::CommandOptionType::Integer, "amount", "How many")
                    .required(true),
            ),
    ];
    let reg = ok(
        &fake,
        "builder",
        s::Command::set_global_commands(&http, built).await,
    );
    assert_eq!(reg[0].options[0].kind, s::CommandOptionType::Integer);

    let body = json!({"content": "hi", "embeds": [{"title": "T", "fields": [{"name": "a", "value": "b"}]}],
        "components": [{"type": 1, "components": [{"type": 2, "style": 1, "label": "OK", "custom_id": "ok"}]}]});
    let m = ok(
        &fake,
        "send",
        http.send_message(general, vec![], &body).await,
    );
    assert_eq!(m.embeds[0].fields[0].value, "b");
    assert_eq!(m.components[0].components.len(), 1);
    let file = s::CreateAttachment::bytes(b"char sheet".to_vec(), "sheet.txt");
    let with_file = ok(
        &fake,
        "send multipart",
        http.send_message(general, vec![file], &json!({"content": "see file"}))
            .await,
    );
    assert_eq!(with_file.attachments[0].filename, "sheet.txt");
    assert_eq!(with_file.attachments[0].size, 10);
    let fetched = ok(&fake, "get message", http.get_message(general, m.id).await);
    assert_eq!(fetched.content, "hi");
    let edited = ok(
        &fake,
        "edit",
        http.edit_message(general, m.id, &json!({"content": "hey"}), vec![])
            .await,
    );
    assert_eq!(edited.content, "hey");
    assert!(edited.edited_timestamp.is_some());
    // serenity's own builder path (checks cached permissions? no cache here: plain http).
    let via_builder = ok(
        &fake,
        "builder send",
        general
            .send_message(
                &http,
                s::CreateMessage::new()
                    .content("built")
                    .embed(s::CreateEmbed::new().title("E")),
            )
            .await,
    );
    assert_eq!(via_builder.embeds[0].title.as_deref(), Some("E"));
    assert_eq!(
        ok(
            &fake,
            "messages",
            http.get_messages(general, None, Some(10)).await
        )
        .len(),
        3
    );
    ok(&fake, "pin", http.pin_message(general, m.id, None).await);
    assert!(ok(&fake, "pins", http.get_pins(general).await)[0].pinned);
    ok(
        &fake,
        "react",
        http.create_reaction(general, m.id, &s::ReactionType::Unicode("🎲".into()))
            .await,
    );
    assert_eq!(
        fake.message(fake_discord::MessageId(m.id.get()))
            .unwrap()
            .reactions,
        vec!["🎲"]
    );
    ok(&fake, "typing", http.broadcast_typing(general).await);
    ok(
        &fake,
        "unpin",
        http.unpin_message(general, m.id, None).await,
    );
    ok(
        &fake,
        "delete",
        http.delete_message(general, m.id, None).await,
    );

    let dm = ok(
        &fake,
        "dm",
        http.create_private_channel(&json!({"recipient_id": sid(ALICE.0)}))
            .await,
    );
    assert_eq!(dm.recipient.id, alice);
    let again = ok(&fake, "dm again", alice.create_dm_channel(&http).await);
    assert_eq!(dm.id, again.id, "one DM channel per user");
    let s::Channel::Private(p) = ok(&fake, "get dm", http.get_channel(dm.id).await) else {
        panic!()
    };
    assert_eq!(p.recipient.id, alice);
    let s::Channel::Guild(gc) = ok(&fake, "get channel", http.get_channel(general).await) else {
        panic!()
    };
    assert_eq!(gc.name, "general");
    let s::Channel::Guild(vc) = ok(
        &fake,
        "voice channel",
        http.get_channel(s::ChannelId::new(VOICE.0)).await,
    ) else {
        panic!()
    };
    assert_eq!(vc.kind, s::ChannelType::Voice);
    let pg = ok(&fake, "guild", http.get_guild(guild).await);
    assert_eq!(pg.name, "Test Guild");
    assert!(
        ok(
            &fake,
            "guild counts",
            http.get_guild_with_counts(guild).await
        )
        .approximate_member_count
        .is_some()
    );
    assert_eq!(
        ok(&fake, "channels", http.get_channels(guild).await).len(),
        3
    );
    let member = ok(&fake, "member", http.get_member(guild, alice).await);
    assert_eq!(member.user.id, alice);
    assert_eq!(
        ok(
            &fake,
            "members",
            http.get_guild_members(guild, Some(100), None).await
        )
        .len(),
        4
    );
    assert_eq!(
        ok(&fake, "roles", http.get_guild_roles(guild).await).len(),
        1
    );
    let role = ok(
        &fake,
        "create role",
        guild
            .create_role(&http, s::EditRole::new().name("GM"))
            .await,
    );
    ok(
        &fake,
        "add role",
        http.add_member_role(guild, alice, role.id, None).await,
    );
    assert_eq!(
        ok(&fake, "member", http.get_member(guild, alice).await).roles,
        vec![role.id]
    );
    ok(
        &fake,
        "remove role",
        http.remove_member_role(guild, alice, role.id, None).await,
    );

    // The interaction webhook family, driven through serenity's model methods.
    let h = fake.slash(ALICE, GENERAL, "roll", &[("dice", "2d6")]).await;
    let token = h.token();
    let iid = s::InteractionId::new(h.id().0);
    ok(
        &fake,
        "defer",
        http.create_interaction_response(iid, &token, &json!({"type": 5}), vec![])
            .await,
    );
    let original = ok(
        &fake,
        "get original",
        http.get_original_interaction_response(&token).await,
    );
    assert!(original.flags.unwrap().contains(s::MessageFlags::LOADING));
    let edited = ok(
        &fake,
        "edit original",
        http.edit_original_interaction_response(&token, &json!({"content": "7"}), vec![])
            .await,
    );
    assert_eq!(edited.content, "7");
    assert_eq!(h.reply(SECOND).await.unwrap().content, "7");
    let fu = ok(
        &fake,
        "follow-up",
        http.create_followup_message(&token, &json!({"content": "more", "flags": 64}), vec![])
            .await,
    );
    assert!(fu.flags.unwrap().contains(s::MessageFlags::EPHEMERAL));
    ok(
        &fake,
        "get follow-up",
        http.get_followup_message(&token, fu.id).await,
    );
    ok(
        &fake,
        "edit follow-up",
        http.edit_followup_message(&token, fu.id, &json!({"content": "less"}), vec![])
            .await,
    );
    ok(
        &fake,
        "delete follow-up",
        http.delete_followup_message(&token, fu.id).await,
    );
    ok(
        &fake,
        "delete original",
        http.delete_original_interaction_response(&token).await,
    );

    fake.assert_clean();
    assert_all_frames_parse(&fake);
}

#[tokio::test]
async fn discord_error_bodies_parse_with_serenity() {
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    let http = http_for(&fake);
    let general = s::ChannelId::new(GENERAL.0);
    let err = http
        .send_message(general, vec![], &json!({"content": "x".repeat(2001)}))
        .await
        .unwrap_err();
    let s::Error::Http(s::HttpError::UnsuccessfulRequest(resp)) = err else {
        panic!("{err:?}")
    };
    assert_eq!(resp.status_code.as_u16(), 400);
    assert_eq!(resp.error.code, 50035);
    assert_eq!(resp.error.errors[0].path, "content");
    assert_eq!(resp.error.errors[0].code, "BASE_TYPE_MAX_LENGTH");

    let err = http
        .create_interaction_response(
            s::InteractionId::new(1),
            "nope",
            &json!({"type": 4}),
            vec![],
        )
        .await
        .unwrap_err();
    let s::Error::Http(s::HttpError::UnsuccessfulRequest(resp)) = err else {
        panic!("{err:?}")
    };
    assert_eq!((resp.status_code.as_u16(), resp.error.code), (404, 10062));

    let wrong = s::HttpBuilder::new("wrong-token")
        .proxy(fake.api_base())
        .ratelimiter_disabled(true)
        .build();
    let err = wrong.get_current_user().await.unwrap_err();
    let s::Error::Http(s::HttpError::UnsuccessfulRequest(resp)) = err else {
        panic!("{err:?}")
    };
    assert_eq!(resp.status_code.as_u16(), 401);
    let _: Value = json!(null);
}
