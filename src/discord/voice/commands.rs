//! `/voice join | leave | settings | skip`.

use super::settings::{SPEED_RANGE, VoiceSettings, known_voices, voice_name};
use crate::coordinator::CampaignId;
use crate::discord::commands::{campaign_here, defer_first, defer_private, ephemeral, say};
use crate::discord::{Context, Error, player_id, render};
use poise::serenity_prelude as serenity;

const NO_CAMPAIGN: &str = "There is no campaign in this channel: start one with `/campaign start`, or use `/voice` in the campaign's channel.";

/// The caller's voice channel, from the guild cache's voice states.
fn caller_voice_channel(ctx: Context<'_>) -> Option<serenity::ChannelId> {
    let guild = ctx.guild()?;
    guild
        .voice_states
        .get(&ctx.author().id)
        .and_then(|v| v.channel_id)
}

/// Whether the caller is a GM of `campaign` (in the engine, or by the server's GM role).
async fn caller_is_gm(ctx: Context<'_>, campaign: CampaignId) -> bool {
    let me = player_id(ctx.author().id);
    if ctx
        .data()
        .coord
        .snapshot(campaign)
        .await
        .is_ok_and(|s| s.state.is_gm(&me))
    {
        return true;
    }
    crate::discord::commands::has_gm_role(ctx).await
}

/// Whether the caller plays in `campaign` (has joined its table) or is one of its GMs.
async fn caller_at_table(ctx: Context<'_>, campaign: CampaignId) -> bool {
    let me = player_id(ctx.author().id);
    if ctx
        .data()
        .coord
        .snapshot(campaign)
        .await
        .is_ok_and(|s| s.state.is_gm(&me) || s.state.players.contains_key(&me))
    {
        return true;
    }
    crate::discord::commands::has_gm_role(ctx).await
}

/// Voice at the table: speak your actions, hear the narration.
///
/// Who may: `/voice join` and `/voice skip`, the players and GMs of the channel's
/// campaign (joining away from another campaign's call takes a GM of that campaign);
/// `/voice leave` (which also forgets the channel), a GM of the campaign in the call;
/// `/voice settings` changes, a GM.
#[poise::command(
    slash_command,
    guild_only,
    subcommands("voice_join", "voice_leave", "voice_settings", "voice_skip"),
    subcommand_required
)]
pub async fn voice(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// Bring the bot into your voice channel for this channel's campaign.
#[poise::command(slash_command, rename = "join")]
pub async fn voice_join(ctx: Context<'_>) -> Result<(), Error> {
    let Some(guild) = ctx.guild_id() else {
        return ephemeral(ctx, "Voice works in server channels only.").await;
    };
    // Loading the models and connecting take seconds; the campaign may be busy too.
    defer_first(ctx).await?;
    let Some(campaign) = campaign_here(ctx).await? else {
        return ephemeral(ctx, NO_CAMPAIGN).await;
    };
    if !caller_at_table(ctx, campaign).await {
        return ephemeral(
            ctx,
            "Only the players and GMs of this channel's campaign can bring me into voice: join the table first (`/character create`).",
        )
        .await;
    }
    let hub = &ctx.data().voice;
    if let Some((other, _)) = hub.session_in(guild)
        && other != campaign
        && !caller_is_gm(ctx, other).await
    {
        return ephemeral(
            ctx,
            "I am in voice for another campaign on this server: only its GM can take me away from it (`/voice leave` in its channel).",
        )
        .await;
    }
    let Some(voice_channel) = caller_voice_channel(ctx) else {
        return ephemeral(
            ctx,
            "Join a voice channel first, then use `/voice join` here: I come to the channel you are in.",
        )
        .await;
    };
    if let Err(missing) = hub.check_models() {
        return ephemeral(
            ctx,
            format!("Voice is not set up on this server's bot: {missing}."),
        )
        .await;
    }
    match hub
        .join(guild, voice_channel, campaign, ctx.channel_id())
        .await
    {
        Ok(()) => {
            let settings = VoiceSettings::load(ctx.data().coord.store(), campaign)
                .await
                .unwrap_or_default();
            let how = if settings.wake_word {
                "Start with \"Game master, …\" when you speak to me."
            } else {
                "Just say what you do."
            };
            say(ctx, format!(
                "🎙 Listening in <#{}>. {how} In a fight I only take actions from the player whose turn it is.\n{}",
                voice_channel.get(),
                settings.describe()
            ))
            .await?;
        }
        Err(e) => {
            say(ctx, format!("⚠️ I could not join voice: {e}")).await?;
        }
    }
    Ok(())
}

/// Send the bot out of the voice channel.
#[poise::command(slash_command, rename = "leave")]
pub async fn voice_leave(ctx: Context<'_>) -> Result<(), Error> {
    let Some(guild) = ctx.guild_id() else {
        return ephemeral(ctx, "Voice works in server channels only.").await;
    };
    defer_first(ctx).await?;
    // The campaign whose call this is (else this channel's): only its GMs may end it,
    // since leaving also forgets the channel.
    let in_call = ctx.data().voice.session_in(guild).map(|(c, _)| c);
    let owner = match in_call {
        Some(c) => Some(c),
        None => campaign_here(ctx).await?,
    };
    let allowed = match owner {
        Some(c) => caller_is_gm(ctx, c).await,
        None => crate::discord::commands::has_gm_role(ctx).await,
    };
    if !allowed {
        return ephemeral(
            ctx,
            "Only a GM of the campaign in the call can send me out of voice.",
        )
        .await;
    }
    if ctx.data().voice.leave(guild).await {
        say(ctx, "👋 Left the voice channel.").await?;
        Ok(())
    } else {
        ephemeral(ctx, "I am not in a voice channel here.").await
    }
}

async fn ac_voice(ctx: Context<'_>, partial: &str) -> serenity::CreateAutocompleteResponse {
    let want = partial.to_lowercase();
    let mut names: Vec<String> = known_voices(ctx.data().voice.config())
        .iter()
        .map(|p| voice_name(p))
        .filter(|n| n.to_lowercase().contains(&want))
        .collect();
    names.dedup();
    names.truncate(25);
    serenity::CreateAutocompleteResponse::new().set_choices(
        names
            .into_iter()
            .map(serenity::AutocompleteChoice::from)
            .collect(),
    )
}

/// Voice settings for this campaign (GM): listening, speaking, wake word, table talk,
/// voice, speed.
#[poise::command(slash_command, rename = "settings")]
pub async fn voice_settings(
    ctx: Context<'_>,
    #[description = "Take players' speech as actions"] input: Option<bool>,
    #[description = "Speak the narration in the voice channel"] output: Option<bool>,
    #[description = "Only listen to speech that starts with \"game master\""] wake_word: Option<
        bool,
    >,
    #[description = "In a fight, show what players say out of turn as table talk"]
    table_talk: Option<bool>,
    #[description = "Narrator voice"]
    #[autocomplete = "ac_voice"]
    voice: Option<String>,
    #[description = "Speaking speed, 0.5 to 2.0"] speed: Option<f64>,
) -> Result<(), Error> {
    defer_private(ctx).await?;
    let Some(campaign) = campaign_here(ctx).await? else {
        return ephemeral(ctx, NO_CAMPAIGN).await;
    };
    let store = ctx.data().coord.store();
    let mut settings = VoiceSettings::load(store, campaign).await?;
    let changing = input.is_some()
        || output.is_some()
        || wake_word.is_some()
        || table_talk.is_some()
        || voice.is_some()
        || speed.is_some();
    if !changing {
        return ephemeral(ctx, settings.describe()).await;
    }
    if !caller_is_gm(ctx, campaign).await {
        return ephemeral(ctx, "Only the GM can change the voice settings.").await;
    }
    if let Some(s) = speed {
        let s = s as f32;
        if !s.is_finite() || !SPEED_RANGE.contains(&s) {
            return ephemeral(ctx, "Speed must be between 0.5 and 2.0.").await;
        }
        settings.speed = s;
    }
    if let Some(name) = voice {
        let hub = &ctx.data().voice;
        let known = known_voices(hub.config());
        match known
            .into_iter()
            .find(|p| voice_name(p).eq_ignore_ascii_case(name.trim()))
        {
            Some(p) => settings.voice = Some(p),
            None => {
                return ephemeral(
                    ctx,
                    format!(
                        "I do not know the voice `{}`: pick one from the list.",
                        render::escape(&name)
                    ),
                )
                .await;
            }
        }
    }
    if let Some(b) = input {
        settings.input = b;
    }
    if let Some(b) = output {
        settings.output = b;
    }
    if let Some(b) = wake_word {
        settings.wake_word = b;
    }
    if let Some(b) = table_talk {
        settings.table_talk = b;
    }
    // Loading another voice can take a second.
    ctx.defer_ephemeral().await?;
    if let Err(e) = ctx
        .data()
        .voice
        .apply_settings(campaign, settings.clone())
        .await
    {
        return ephemeral(ctx, format!("That voice could not be loaded: {e}")).await;
    }
    settings.save(store, campaign).await?;
    ephemeral(ctx, format!("Saved. {}", settings.describe())).await
}

/// Stop the bot's current speech (and what it was about to say).
#[poise::command(slash_command, rename = "skip")]
pub async fn voice_skip(ctx: Context<'_>) -> Result<(), Error> {
    defer_private(ctx).await?;
    let Some(campaign) = campaign_here(ctx).await? else {
        return ephemeral(ctx, NO_CAMPAIGN).await;
    };
    if !caller_at_table(ctx, campaign).await {
        return ephemeral(
            ctx,
            "Only the players and GMs of this campaign can skip my speech.",
        )
        .await;
    }
    if ctx.data().voice.skip(campaign) {
        ephemeral(ctx, "⏭ Skipped.").await
    } else {
        ephemeral(ctx, "I am not speaking in voice for this campaign.").await
    }
}
