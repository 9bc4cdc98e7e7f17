//! The whole stack before the real bot exists: a poise `Framework` registers its commands
//! through the fake (PUT guild commands) and answers slash commands, autocomplete, a deferred
//! command, a subcommand and a modal end to end.

mod common;

use std::time::Duration;

use common::assert_all_frames_parse;
use fake_discord::ids::{ALICE, BOB, GENERAL};
use fake_discord::{FakeConfig, FakeDiscord};
use poise::serenity_prelude as s;

type Error = Box<dyn std::error::Error + Send + Sync>;
type Context<'a> = poise::Context<'a, (), Error>;

async fn dice_suggestions(_ctx: Context<'_>, partial: &str) -> s::CreateAutocompleteResponse {
    let choices = ["1d20", "1d6", "2d6", "1d8"]
        .into_iter()
        .filter(|d| d.starts_with(partial))
        .map(|d| s::AutocompleteChoice::new(d, d))
        .collect();
    s::CreateAutocompleteResponse::new().set_choices(choices)
}

/// Roll dice
#[poise::command(slash_command)]
async fn roll(
    ctx: Context<'_>,
    #[description = "Dice expression"]
    #[autocomplete = "dice_suggestions"]
    dice: String,
    #[description = "How many times"] times: Option<u32>,
) -> Result<(), Error> {
    ctx.say(format!("rolled {dice} x{}", times.unwrap_or(1)))
        .await?;
    Ok(())
}

/// Something slow that defers first
#[poise::command(slash_command)]
async fn slow(ctx: Context<'_>) -> Result<(), Error> {
    ctx.defer().await?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    ctx.say("done").await?;
    Ok(())
}

/// Character commands
#[poise::command(slash_command, subcommands("show"))]
async fn character(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// Show a character sheet
#[poise::command(slash_command)]
async fn show(
    ctx: Context<'_>,
    #[description = "Character name"] name: String,
) -> Result<(), Error> {
    ctx.send(
        poise::CreateReply::default()
            .content(format!("sheet of {name}"))
            .ephemeral(true),
    )
    .await?;
    Ok(())
}

#[derive(Debug, poise::Modal)]
#[name = "New character"]
struct NewCharacter {
    #[name = "Name"]
    name: String,
    #[name = "Backstory"]
    #[paragraph]
    backstory: Option<String>,
}

/// Create a character with a form
#[poise::command(slash_command)]
async fn newchar(ctx: poise::ApplicationContext<'_, (), Error>) -> Result<(), Error> {
    use poise::Modal as _;
    let Some(form) = NewCharacter::execute(ctx).await? else {
        return Ok(());
    };
    let backstory = form.backstory.unwrap_or_default();
    ctx.say(format!(
        "created {} ({} chars of backstory)",
        form.name,
        backstory.len()
    ))
    .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poise_registers_and_answers_end_to_end() {
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    let guild = s::GuildId::new(fake.guild_id().0);
    let framework = poise::Framework::builder()
        .options(poise::FrameworkOptions {
            commands: vec![roll(), slow(), character(), newchar()],
            ..Default::default()
        })
        .setup(move |ctx, _ready, framework| {
            Box::pin(async move {
                poise::builtins::register_in_guild(ctx, &framework.options().commands, guild)
                    .await?;
                Ok(())
            })
        })
        .build();
    let http = s::HttpBuilder::new(fake.token())
        .proxy(fake.api_base())
        .ratelimiter_disabled(true)
        .build();
    let intents = s::GatewayIntents::GUILDS | s::GatewayIntents::GUILD_VOICE_STATES;
    let mut client = s::ClientBuilder::new_with_http(http, intents)
        .framework(framework)
        .await
        .expect("client builds");
    let shards = client.shard_manager.clone();
    let run = tokio::spawn(async move { client.start().await });

    let t = Duration::from_secs(5);
    fake.wait_for_command("roll", Duration::from_secs(10))
        .await
        .unwrap();
    let names: Vec<_> = fake
        .guild_commands()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["roll", "slow", "character", "newchar"]);
    let log = fake.request_log();
    assert!(
        log.iter().any(|r| r.path == "/oauth2/applications/@me"),
        "poise fetched owners"
    );
    assert!(
        log.iter()
            .any(|r| r.method == "PUT" && r.path.ends_with(&format!("/guilds/{guild}/commands")))
    );

    let h = fake
        .slash(ALICE, GENERAL, "roll", &[("dice", "1d20"), ("times", "2")])
        .await;
    assert_eq!(h.reply(t).await.unwrap().content, "rolled 1d20 x2");
    assert!(
        fake.messages(GENERAL)
            .iter()
            .any(|m| m.content == "rolled 1d20 x2")
    );

    let choices = fake
        .autocomplete(ALICE, GENERAL, "roll", &[("dice", "1d")], "dice")
        .await
        .unwrap();
    let names: Vec<_> = choices.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["1d20", "1d6", "1d8"]);

    let slow = fake.slash(BOB, GENERAL, "slow", &[]).await;
    assert_eq!(slow.callback(t).await.unwrap().kind, 5);
    assert_eq!(slow.reply(t).await.unwrap().content, "done");
    assert!(
        slow.followups().is_empty(),
        "the first follow-up replaced the deferred message"
    );

    let sheet = fake
        .slash(BOB, GENERAL, "character show", &[("name", "Thorin")])
        .await;
    let cb = sheet.callback(t).await.unwrap();
    assert!(cb.is_ephemeral());
    assert_eq!(cb.content(), Some("sheet of Thorin"));

    let form = fake.slash(ALICE, GENERAL, "newchar", &[]).await;
    let modal = form.modal(t).await.unwrap();
    assert_eq!(modal.title, "New character");
    let submit = form
        .submit_modal(&[("Name", "Mira"), ("Backstory", "Raised by owls")])
        .await;
    assert_eq!(
        submit.callback(t).await.unwrap().kind,
        6,
        "poise closes the modal with type 6"
    );
    let done = form.followup(0, t).await.unwrap();
    assert_eq!(done.content, "created Mira (14 chars of backstory)");

    fake.assert_clean();
    assert_all_frames_parse(&fake);
    shards.shutdown_all().await;
    let _ = tokio::time::timeout(Duration::from_secs(5), run).await;
}
