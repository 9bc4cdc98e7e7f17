//! Smoke test: a real serenity `Client`, built the way the bot builds it (`HttpBuilder::proxy`
//! and `ClientBuilder::new_with_http`), connects to the fake, receives READY and interactions,
//! answers them, and survives connection loss by resuming.

mod common;

use std::time::Duration;

use common::assert_all_frames_parse;
use fake_discord::ids::{ALICE, BOB, GENERAL};
use fake_discord::{EPHEMERAL, FakeConfig, FakeDiscord, MessageId};
use serenity::all as s;
use serenity::async_trait;
use tokio::sync::mpsc;

struct Handler {
    events: mpsc::UnboundedSender<String>,
}

#[async_trait]
impl s::EventHandler for Handler {
    async fn ready(&self, ctx: s::Context, ready: s::Ready) {
        let guild = ready.guilds[0].id;
        let cmds = vec![
            s::CreateCommand::new("ping").description("Ping the bot"),
            s::CreateCommand::new("board").description("Post a board with a button"),
        ];
        guild
            .set_commands(&ctx.http, cmds)
            .await
            .expect("register commands");
        let _ = self.events.send("ready".to_owned());
    }

    async fn interaction_create(&self, ctx: s::Context, interaction: s::Interaction) {
        match interaction {
            s::Interaction::Command(c) if c.data.name == "ping" => {
                let _ = self.events.send("command ping".to_owned());
                let msg = s::CreateInteractionResponseMessage::new()
                    .content("pong")
                    .ephemeral(true);
                c.create_response(&ctx.http, s::CreateInteractionResponse::Message(msg))
                    .await
                    .expect("callback accepted");
            }
            s::Interaction::Command(c) => {
                // Serenity checks the cached permissions before sending and pinning.
                assert!(
                    ctx.cache.guild(c.guild_id.unwrap()).is_some(),
                    "guild cached"
                );
                c.defer(&ctx.http).await.expect("defer accepted");
                let button = s::CreateButton::new("reveal").label("Reveal");
                let board = s::CreateMessage::new()
                    .content("The board")
                    .components(vec![s::CreateActionRow::Buttons(vec![button])]);
                let m = c.channel_id.send_message(&ctx, board).await.expect("send");
                m.pin(&ctx).await.expect("pin");
                c.edit_response(
                    &ctx.http,
                    s::EditInteractionResponse::new().content("posted"),
                )
                .await
                .expect("edit original");
            }
            s::Interaction::Component(c) => {
                let _ = self.events.send(format!("click {}", c.data.custom_id));
                let update = s::CreateInteractionResponseMessage::new()
                    .content("Revealed!")
                    .components(vec![]);
                c.create_response(
                    &ctx.http,
                    s::CreateInteractionResponse::UpdateMessage(update),
                )
                .await
                .expect("update accepted");
            }
            _ => {}
        }
    }
}

async fn start_bot(fake: &FakeDiscord) -> (s::Client, mpsc::UnboundedReceiver<String>) {
    let http = s::HttpBuilder::new(fake.token())
        .proxy(fake.api_base())
        .ratelimiter_disabled(true)
        .build();
    let (tx, rx) = mpsc::unbounded_channel();
    let intents = s::GatewayIntents::GUILDS | s::GatewayIntents::GUILD_VOICE_STATES;
    // Not `.token(...)` afterwards: it would replace the Http and lose the proxy.
    let client = s::ClientBuilder::new_with_http(http, intents)
        .event_handler(Handler { events: tx })
        .await
        .expect("client builds");
    (client, rx)
}

async fn expect_event(rx: &mut mpsc::UnboundedReceiver<String>, want: &str) {
    let got = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .unwrap_or_else(|_| panic!("no {want:?} event within 10 s"))
        .expect("handler alive");
    assert_eq!(got, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serenity_client_end_to_end() {
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    let (mut client, mut events) = start_bot(&fake).await;
    let shards = client.shard_manager.clone();
    let run = tokio::spawn(async move { client.start().await });

    expect_event(&mut events, "ready").await;
    let first = &fake.request_log()[0];
    assert_eq!(
        (first.method.as_str(), first.path.as_str()),
        ("GET", "/gateway")
    );

    let ping = fake.slash(ALICE, GENERAL, "ping", &[]).await;
    expect_event(&mut events, "command ping").await;
    let cb = ping.callback(Duration::from_secs(5)).await.unwrap();
    assert_eq!(
        (cb.kind, cb.content(), cb.flags() & EPHEMERAL),
        (4, Some("pong"), EPHEMERAL)
    );
    assert!(cb.latency < Duration::from_secs(3));
    assert!(
        fake.messages(GENERAL).is_empty(),
        "ephemeral replies are not in the channel"
    );

    let board = fake.slash(BOB, GENERAL, "board", &[]).await;
    assert_eq!(
        board.reply(Duration::from_secs(5)).await.unwrap().content,
        "posted"
    );
    let posted = fake
        .wait_for_message(
            GENERAL,
            |m| m.content == "The board",
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    assert_eq!(fake.pins(GENERAL)[0].id, posted.id);

    // Network loss: serenity resumes and keeps working.
    assert!(fake.drop_connection());
    fake.wait_for_resumes(1, Duration::from_secs(10))
        .await
        .unwrap();
    let click = fake.click(ALICE, MessageId(posted.id.0), "reveal").await;
    expect_event(&mut events, "click reveal").await;
    let updated = click.reply(Duration::from_secs(5)).await.unwrap();
    assert_eq!(updated.content, "Revealed!");
    assert!(updated.components.is_empty());

    // Op 7: reconnect and resume again.
    assert!(fake.send_reconnect());
    fake.wait_for_resumes(2, Duration::from_secs(10))
        .await
        .unwrap();
    fake.slash(ALICE, GENERAL, "ping", &[]).await;
    expect_event(&mut events, "command ping").await;

    assert_eq!(fake.identify_count(), 1);
    fake.assert_clean();
    assert_all_frames_parse(&fake);
    shards.shutdown_all().await;
    let _ = tokio::time::timeout(Duration::from_secs(5), run).await;
}
