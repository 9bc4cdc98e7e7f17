//! Slash commands: one `async fn` per command (poise). Each translates its options into
//! an engine `Action`, submits it through the coordinator as the calling user, and
//! replies: rule errors ephemerally, results with the narration of the command's own
//! public events (the presenter posts everything else).

use super::{Context, Error, player_id, render};
use crate::coordinator::CampaignId;
use crate::coordinator::{Committed, Origin, Source, SubmitError};
use crate::intent::{ActOutcome, act_free_text};
use crate::narrator::BuiltinNarrator;
use dicebard_engine::ability::{Ability, Advantage, Skill};
use dicebard_engine::character::{AbilityMethod, CharacterSpec};
use dicebard_engine::event::RestKind;
use dicebard_engine::view;
use dicebard_engine::{Action, Command, MonsterGroup, NarratorMode, PlayerId, Viewer};
use poise::serenity_prelude as serenity;
use std::sync::Arc;

/// Advantage choice for checks and saves.
#[derive(Debug, Clone, Copy, poise::ChoiceParameter)]
pub enum Mode {
    #[name = "normal"]
    Normal,
    #[name = "advantage"]
    Adv,
    #[name = "disadvantage"]
    Dis,
}

fn advantage(m: Option<Mode>) -> Advantage {
    {
        match m {
            Some(Mode::Adv) => Advantage::Advantage,
            Some(Mode::Dis) => Advantage::Disadvantage,
            _ => Advantage::Normal,
        }
    }
}

/// Short or long rest.
#[derive(Debug, Clone, Copy, poise::ChoiceParameter)]
pub enum RestChoice {
    #[name = "short"]
    Short,
    #[name = "long"]
    Long,
}

fn origin(ctx: Context<'_>) -> Origin {
    Origin {
        source: Source::Discord,
        player: Some(player_id(ctx.author().id)),
        interaction: Some(ctx.id().to_string()),
    }
}

/// What this invocation has done so far (poise invocation data).
#[derive(Default)]
struct Progress {
    /// A public "thinking…" response is waiting for the answer.
    thinking: bool,
    /// The interaction id is claimed with the coordinator (see [`claim`]).
    claimed: bool,
}

async fn progress<R>(ctx: Context<'_>, f: impl FnOnce(&mut Progress) -> R) -> R {
    if ctx.invocation_data::<Progress>().await.is_none() {
        ctx.set_invocation_data(Progress::default()).await;
    }
    match ctx.invocation_data::<Progress>().await {
        Some(mut p) => f(&mut p),
        None => f(&mut Progress::default()),
    }
}

/// Whether the interaction has been answered or deferred already.
fn acknowledged(ctx: Context<'_>) -> bool {
    match ctx {
        poise::Context::Application(a) => a
            .has_sent_initial_response
            .load(std::sync::atomic::Ordering::SeqCst),
        poise::Context::Prefix(_) => true,
    }
}

/// Acknowledges the interaction at once with a public "thinking…" (Discord wants a first
/// response within 3 s), before anything waits on the coordinator: a campaign busy with a
/// slow NPC turn must not make the user retry. A private answer later replaces it (see
/// [`ephemeral`]).
pub(crate) async fn defer_first(ctx: Context<'_>) -> Result<(), Error> {
    if acknowledged(ctx) {
        return Ok(());
    }
    let thinking = match ctx.defer().await {
        Ok(()) => true,
        Err(e) => acknowledged_before(ctx, e).await?,
    };
    progress(ctx, |p| p.thinking = thinking).await;
    Ok(())
}

/// A deferral refused because the interaction was acknowledged already: it is delivered
/// again, after an earlier run of the bot (or this one) acknowledged it. Carry on as if
/// this run had sent that first response, instead of failing: when it is still a
/// "thinking…" (the run that deferred died before answering), the answer replaces it;
/// when it is an answer, that stays and what follows comes as a follow-up. Returns
/// whether a "thinking…" is waiting.
async fn acknowledged_before(ctx: Context<'_>, e: serenity::Error) -> Result<bool, Error> {
    match ctx {
        poise::Context::Application(a) if super::already_acknowledged(&e) => {
            a.has_sent_initial_response
                .store(true, std::sync::atomic::Ordering::SeqCst);
            let thinking = a.interaction.get_response(ctx.http()).await.is_ok_and(|m| {
                m.flags
                    .is_some_and(|f| f.contains(serenity::MessageFlags::LOADING))
            });
            tracing::info!(interaction = %ctx.id(), thinking, "acknowledged before; answering it now");
            Ok(thinking)
        }
        _ => Err(e.into()),
    }
}

/// Acknowledges at once with a private "thinking…", for commands that only answer the
/// caller.
pub(crate) async fn defer_private(ctx: Context<'_>) -> Result<(), Error> {
    if acknowledged(ctx) {
        return Ok(());
    }
    if let Err(e) = ctx.defer_ephemeral().await {
        acknowledged_before(ctx, e).await?;
    }
    Ok(())
}

/// A private answer. After a public "thinking…", that message is deleted first: Discord
/// would otherwise turn the first follow-up into the public message.
pub(crate) async fn ephemeral(ctx: Context<'_>, text: impl Into<String>) -> Result<(), Error> {
    ephemeral_reply(
        ctx,
        poise::CreateReply::default().content(render::clamp(&text.into(), render::MAX_CONTENT)),
    )
    .await
}

/// A private reply (embeds, files), see [`ephemeral`].
pub(crate) async fn ephemeral_reply(
    ctx: Context<'_>,
    reply: poise::CreateReply,
) -> Result<(), Error> {
    let thinking = progress(ctx, |p| std::mem::take(&mut p.thinking)).await;
    if thinking
        && let poise::Context::Application(a) = ctx
        && let Err(e) = a.interaction.delete_response(ctx.http()).await
    {
        tracing::warn!(interaction = %ctx.id(), error = %e, "could not remove the thinking message");
    }
    ctx.send(reply.ephemeral(true)).await?;
    Ok(())
}

/// A public answer in the channel.
pub(crate) async fn say(ctx: Context<'_>, text: impl Into<String>) -> Result<(), Error> {
    progress(ctx, |p| p.thinking = false).await;
    ctx.say(text).await?;
    Ok(())
}

/// Claims this interaction with the campaign's coordinator, once per invocation:
/// `false` when the same interaction was handled before (a duplicate delivery, or a retry
/// after a restart), in which case nothing must be submitted again.
async fn claim(ctx: Context<'_>, campaign: CampaignId) -> Result<bool, Error> {
    if progress(ctx, |p| p.claimed).await {
        return Ok(true);
    }
    let first = ctx
        .data()
        .coord
        .claim_request(campaign, &ctx.id().to_string())
        .await?;
    progress(ctx, |p| p.claimed = true).await;
    Ok(first)
}

/// The campaign bound to the command's channel.
pub(crate) async fn campaign_here(ctx: Context<'_>) -> Result<Option<CampaignId>, Error> {
    let store = ctx.data().coord.store();
    Ok(store
        .campaign_by_channel(ctx.channel_id().get())
        .await?
        .map(|r| r.id))
}

/// Newcomers join the table under their display name before their first action.
async fn ensure_joined(ctx: Context<'_>, campaign: CampaignId, me: &PlayerId) {
    let coord = &ctx.data().coord;
    let joined = coord
        .snapshot(campaign)
        .await
        .map(|s| s.state.players.contains_key(me))
        .unwrap_or(true);
    if joined {
        return;
    }
    let name = ctx
        .author_member()
        .await
        .map(|m| m.display_name().to_string())
        .unwrap_or_else(|| ctx.author().name.clone());
    let join = Command {
        by: dicebard_engine::Actor::Player(me.clone()),
        action: Action::Join { name },
    };
    if let Err(e) = coord.submit(campaign, join, origin(ctx)).await {
        tracing::warn!(interaction = %ctx.id(), error = %e, "join failed");
    }
}

/// The campaign in this channel and the caller as its player, joined to the table (and
/// made a GM when they hold the server's GM role). `None` when there is no campaign
/// here; the caller has been told.
async fn seat(ctx: Context<'_>) -> Result<Option<(CampaignId, PlayerId)>, Error> {
    let Some(campaign) = campaign_here(ctx).await? else {
        ephemeral(
            ctx,
            "There is no campaign in this channel — start one with `/campaign start`.",
        )
        .await?;
        return Ok(None);
    };
    if !claim(ctx, campaign).await? {
        tracing::info!(interaction = %ctx.id(), "interaction delivered again; not repeated");
        ephemeral(ctx, "That was already done.").await?;
        return Ok(None);
    }
    let coord = &ctx.data().coord;
    let me = player_id(ctx.author().id);
    ensure_joined(ctx, campaign, &me).await;
    // The server's GM role makes its members GMs here: the host attests it.
    if has_gm_role(ctx).await {
        let is_gm = coord
            .snapshot(campaign)
            .await
            .map(|s| s.state.is_gm(&me))
            .unwrap_or(true);
        if !is_gm {
            let grant = Command::system(Action::GrantGm { player: me.clone() });
            if let Err(e) = coord.submit(campaign, grant, origin(ctx)).await {
                tracing::warn!(interaction = %ctx.id(), error = %e, "could not grant the GM role");
            }
        }
    }
    Ok(Some((campaign, me)))
}

/// Submits an action as the calling user and replies with what happened.
async fn act(ctx: Context<'_>, action: Action) -> Result<(), Error> {
    defer_first(ctx).await?;
    let Some((campaign, me)) = seat(ctx).await? else {
        return Ok(());
    };
    let cmd = Command {
        by: dicebard_engine::Actor::Player(me.clone()),
        action,
    };
    let res = ctx.data().coord.submit(campaign, cmd, origin(ctx)).await;
    match res {
        Ok(events) => reply_events(ctx, campaign, &me, &events).await,
        Err(e) => refusal(ctx, campaign, e).await,
    }
}

/// A refused or failed submission, told to the caller: rule errors as they are,
/// internal errors logged with the interaction id and answered with an apology.
async fn refusal(ctx: Context<'_>, campaign: CampaignId, e: SubmitError) -> Result<(), Error> {
    match e {
        SubmitError::Rule(e) => ephemeral(ctx, e.to_string()).await,
        e => {
            tracing::error!(interaction = %ctx.id(), campaign = campaign.get(), error = %e, "command failed");
            ephemeral(ctx, e.user_message()).await
        }
    }
}

/// Free text from the caller (`/act`): read into engine actions (the LLM when the host
/// has one, else the phrase parser; whatever is not mechanics is an in-character
/// action), each submitted as the caller and checked by the engine like any command.
async fn act_text(ctx: Context<'_>, text: String) -> Result<(), Error> {
    defer_first(ctx).await?;
    let Some((campaign, me)) = seat(ctx).await? else {
        return Ok(());
    };
    let data = ctx.data();
    let outcome = act_free_text(
        &data.coord,
        &data.gm.intent,
        campaign,
        &me,
        &text,
        origin(ctx),
        true,
    )
    .await;
    match outcome {
        ActOutcome::Done { events, notice, .. } => {
            reply_events(ctx, campaign, &me, &events).await?;
            match notice {
                Some(n) => ephemeral(ctx, n).await,
                None => Ok(()),
            }
        }
        ActOutcome::Partial { events, refused } => {
            reply_events(ctx, campaign, &me, &events).await?;
            ephemeral(ctx, format!("Then: {}", refused.user_message())).await
        }
        ActOutcome::Refused(e) => refusal(ctx, campaign, e).await,
        ActOutcome::Clarify(q) | ActOutcome::NotUnderstood(q) => ephemeral(ctx, q).await,
    }
}

/// Whether the caller has the configured GM role in this server.
pub(crate) async fn has_gm_role(ctx: Context<'_>) -> bool {
    let want = ctx.data().gm_role.trim();
    if want.is_empty() {
        return false;
    }
    let Some(member) = ctx.author_member().await else {
        return false;
    };
    let Some(guild) = ctx.guild() else {
        return false;
    };
    member.roles.iter().any(|r| {
        guild
            .roles
            .get(r)
            .is_some_and(|role| role.name.eq_ignore_ascii_case(want))
    })
}

/// Replies with the narration of a command's events: public ones in the channel,
/// private ones (secret rolls) ephemerally to the caller.
async fn reply_events(
    ctx: Context<'_>,
    campaign: CampaignId,
    me: &PlayerId,
    events: &[Arc<Committed>],
) -> Result<(), Error> {
    let Ok(snap) = ctx.data().coord.snapshot(campaign).await else {
        return ephemeral(ctx, "Done.").await;
    };
    let mut public = Vec::new();
    let mut private = Vec::new();
    for c in events {
        let Some(text) = BuiltinNarrator::line(&snap.state, c) else {
            continue;
        };
        // Only what any onlooker may see goes to the channel; party-only and private
        // events go to the caller alone.
        if c.event.visibility.allows(&Viewer::Observer) {
            public.push(text);
        } else if c.event.visibility.allows(&Viewer::Player(me.clone())) {
            private.push(text);
        }
    }
    if public.is_empty() && private.is_empty() {
        return ephemeral(ctx, "Done.").await;
    }
    if !public.is_empty() {
        for msg in render::pack_lines(&public) {
            say(ctx, msg).await?;
        }
    }
    if !private.is_empty() {
        for msg in render::pack_lines(&private) {
            ephemeral(ctx, msg).await?;
        }
    }
    Ok(())
}

/// Start, end or inspect the campaign in this channel.
#[poise::command(
    slash_command,
    guild_only,
    subcommands(
        "campaign_start",
        "campaign_end",
        "campaign_status",
        "campaign_settings"
    ),
    subcommand_required
)]
pub async fn campaign(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// Who may start a campaign: Discord's computed permissions for the caller in this
/// channel (sent with the interaction, so they include the owner, Administrator and channel
/// overwrites) with Manage Channels or Manage Server, or the server's GM role.
async fn may_start_campaign(ctx: Context<'_>) -> bool {
    let perms = ctx.author_member().await.and_then(|m| m.permissions);
    if perms.is_some_and(|p| p.administrator() || p.manage_channels() || p.manage_guild()) {
        return true;
    }
    if ctx.guild().is_some_and(|g| g.owner_id == ctx.author().id) {
        return true;
    }
    has_gm_role(ctx).await
}

/// Bind this channel to a new campaign; you become its GM (needs Manage Channels or the GM role).
#[poise::command(slash_command, rename = "start")]
pub async fn campaign_start(
    ctx: Context<'_>,
    #[description = "Campaign name"] name: Option<String>,
) -> Result<(), Error> {
    let (Some(guild), channel) = (ctx.guild_id(), ctx.channel_id()) else {
        return ephemeral(ctx, "Campaigns live in server text channels.").await;
    };
    // Binding a channel to a campaign (and becoming its GM) is a moderator's call.
    if !may_start_campaign(ctx).await {
        return ephemeral(
            ctx,
            format!(
                "Only members who may manage this channel (Manage Channels or Manage Server), \
                 the server owner, or members with the `{}` role can start a campaign here.",
                render::escape(ctx.data().gm_role.trim())
            ),
        )
        .await;
    }
    defer_first(ctx).await?;
    if campaign_here(ctx).await?.is_some() {
        return ephemeral(
            ctx,
            "This channel already has a campaign. End it first with `/campaign end`.",
        )
        .await;
    }
    let name = name.unwrap_or_else(|| format!("Campaign in #{}", channel.get()));
    let data = ctx.data();
    let me = player_id(ctx.author().id);
    match data
        .coord
        .create_campaign_at(
            &name,
            &me,
            super::channel_binding(guild, channel),
            None,
            origin(ctx),
        )
        .await
    {
        Ok(id) => {
            data.start_presenter(id, channel, Some(0));
            say(ctx, format!(
                "📜 **{}** begins in this channel. {} is the GM.\nPlayers: `/character create` to join, then `/act`, `/attack`, `/cast`, `/check`.",
                render::escape(name.trim()),
                serenity::Mentionable::mention(ctx.author())
            ))
            .await?;
            Ok(())
        }
        Err(SubmitError::Store(crate::store::StoreError::DuplicateCampaignName(_))) => {
            ephemeral(
                ctx,
                "A campaign with that name already exists — pick another name.",
            )
            .await
        }
        Err(e) => ephemeral(ctx, e.user_message()).await,
    }
}

/// End the campaign in this channel (GM).
#[poise::command(slash_command, rename = "end")]
pub async fn campaign_end(ctx: Context<'_>) -> Result<(), Error> {
    act(ctx, Action::EndCampaign).await
}

/// Show the campaign's state.
#[poise::command(slash_command, rename = "status")]
pub async fn campaign_status(ctx: Context<'_>) -> Result<(), Error> {
    defer_private(ctx).await?;
    let Some(campaign) = campaign_here(ctx).await? else {
        return ephemeral(ctx, "There is no campaign in this channel.").await;
    };
    let snap = ctx.data().coord.snapshot(campaign).await?;
    let s = &snap.state;
    let gm =
        s.gm.as_ref()
            .and_then(super::player_user_id)
            .map(|u| format!("<@{u}>"))
            .unwrap_or_default();
    let mut lines = vec![
        format!(
            "**{}** — {} events, GM {gm}",
            render::escape(&s.name),
            snap.seq
        ),
        format!(
            "Turn timeout {} s, warning {} s before",
            s.settings.turn_timeout_ms / 1000,
            s.settings.turn_warning_ms / 1000
        ),
    ];
    let scene = view::scene(s, &view::viewer_of(s, &player_id(ctx.author().id)));
    for c in &scene.party {
        lines.push(format!(
            "• {} — {}/{} HP, AC {}",
            render::escape(&c.name),
            c.hp.hp,
            c.hp.max_hp,
            c.ac
        ));
    }
    if let Some(cb) = &scene.combat {
        lines.push(format!(
            "In combat: round {}, {}'s turn",
            cb.round,
            cb.turn.as_ref().map_or("?", |t| t.name.as_str())
        ));
    }
    let gm = &ctx.data().gm;
    lines.push(match (gm.llm.is_some(), s.settings.narrator) {
        (false, _) => "Narrator: built-in (the host configured no LLM)".into(),
        (true, NarratorMode::Builtin) => {
            "Narrator: built-in (chosen by the GM; the host's LLM is not used here)".into()
        }
        (true, NarratorMode::Auto) => "Narrator: the host's LLM".into(),
    });
    // What the LLM costs is the GM's business.
    if s.is_gm(&player_id(ctx.author().id))
        && let Some(usage) = gm.usage(campaign).await
    {
        lines.push(usage.to_string());
    }
    ephemeral(ctx, lines.join("\n")).await
}

/// Who tells the story (`/campaign settings narrator`).
#[derive(Debug, Clone, Copy, poise::ChoiceParameter)]
pub enum NarratorChoice {
    #[name = "llm"]
    Llm,
    #[name = "built-in"]
    Builtin,
}

/// Change the turn timer or the narrator, or add a GM (GM).
#[poise::command(slash_command, rename = "settings")]
pub async fn campaign_settings(
    ctx: Context<'_>,
    #[description = "Seconds per turn"]
    #[min = 10]
    #[max = 86400]
    turn_timeout: Option<u64>,
    #[description = "Warn this many seconds before the end"]
    #[min = 0]
    #[max = 86400]
    warning: Option<u64>,
    #[description = "Who tells the story: the host's LLM or the built-in narrator"]
    narrator: Option<NarratorChoice>,
    #[description = "Seconds a player has to take a reaction (Shield); 0: none"]
    #[min = 0]
    #[max = 600]
    reactions: Option<u64>,
    #[description = "Make this player a GM too"] gm: Option<serenity::User>,
) -> Result<(), Error> {
    defer_first(ctx).await?;
    if let Some(user) = &gm {
        act(
            ctx,
            Action::GrantGm {
                player: player_id(user.id),
            },
        )
        .await?;
    }
    if turn_timeout.is_none() && warning.is_none() && narrator.is_none() && reactions.is_none() {
        if gm.is_none() {
            return ephemeral(
                ctx,
                "Give a turn timeout or warning in seconds, a narrator, or a player to make GM.",
            )
            .await;
        }
        return Ok(());
    }
    let Some(campaign) = campaign_here(ctx).await? else {
        return ephemeral(ctx, "There is no campaign in this channel.").await;
    };
    // Only what was given changes; the rest stays as it is.
    let current = ctx.data().coord.snapshot(campaign).await?.state.settings;
    let mut settings = current;
    if let Some(t) = turn_timeout {
        settings.turn_timeout_ms = t.saturating_mul(1000);
        if warning.is_none() {
            settings.turn_warning_ms = (t / 4).saturating_mul(1000);
        }
    }
    if let Some(w) = warning {
        settings.turn_warning_ms = w.saturating_mul(1000);
    }
    if let Some(r) = reactions {
        settings.reaction_timeout_ms = r.saturating_mul(1000);
    }
    if let Some(n) = narrator {
        settings.narrator = match n {
            NarratorChoice::Llm => NarratorMode::Auto,
            NarratorChoice::Builtin => NarratorMode::Builtin,
        };
    }
    act(ctx, Action::ChangeSettings { settings }).await
}

async fn ac_class(_ctx: Context<'_>, partial: &str) -> serenity::CreateAutocompleteResponse {
    let cat = dicebard_srd::catalog();
    choices(cat.classes.values().map(|c| c.name.clone()), partial)
}

async fn ac_race(_ctx: Context<'_>, partial: &str) -> serenity::CreateAutocompleteResponse {
    let cat = dicebard_srd::catalog();
    choices(cat.races.values().map(|c| c.name.clone()), partial)
}

async fn ac_skill(_ctx: Context<'_>, partial: &str) -> serenity::CreateAutocompleteResponse {
    choices(
        Skill::ALL
            .iter()
            .map(|s| s.name().to_string())
            .chain(Ability::ALL.iter().map(|a| a.name().to_string())),
        partial,
    )
}

async fn ac_monster(_ctx: Context<'_>, partial: &str) -> serenity::CreateAutocompleteResponse {
    // The last comma-separated part is what's being typed.
    let (head, last) = match partial.rsplit_once(',') {
        Some((h, l)) => (format!("{h}, "), l.trim_start()),
        None => (String::new(), partial),
    };
    let (count, name) = match last.split_once(' ') {
        Some((n, rest)) if n.parse::<u32>().is_ok() => (format!("{n} "), rest),
        _ => (String::new(), last),
    };
    let cat = dicebard_srd::catalog();
    let want = name.to_lowercase();
    let list: Vec<String> = cat
        .monsters
        .values()
        .filter(|m| m.name.to_lowercase().contains(&want))
        .take(25)
        .map(|m| format!("{head}{count}{}", m.name))
        .collect();
    serenity::CreateAutocompleteResponse::new().set_choices(
        list.into_iter()
            .map(serenity::AutocompleteChoice::from)
            .collect(),
    )
}

async fn ac_target(ctx: Context<'_>, partial: &str) -> serenity::CreateAutocompleteResponse {
    let names = ac_scene(ctx).await.map(|s| {
        s.creatures
            .values()
            .filter(|c| !c.dead)
            .map(|c| c.name.clone())
            .collect::<Vec<_>>()
    });
    choices(names.unwrap_or_default().into_iter(), partial)
}

async fn ac_weapon(ctx: Context<'_>, partial: &str) -> serenity::CreateAutocompleteResponse {
    let me = player_id(ctx.author().id);
    let names = ac_scene(ctx).await.and_then(|s| {
        s.character_of(&me)
            .map(|c| c.attacks.iter().map(|a| a.name.clone()).collect::<Vec<_>>())
    });
    choices(names.unwrap_or_default().into_iter(), partial)
}

async fn ac_spell(ctx: Context<'_>, partial: &str) -> serenity::CreateAutocompleteResponse {
    let me = player_id(ctx.author().id);
    let cat = dicebard_srd::catalog();
    let known: Vec<String> = ac_scene(ctx)
        .await
        .and_then(|s| {
            s.character_of(&me)
                .and_then(|c| c.spellcasting.as_ref().map(|sc| sc.spells.clone()))
        })
        .unwrap_or_default()
        .iter()
        .filter_map(|i| cat.spells.get(i).map(|s| s.name.clone()))
        .collect();
    // The character's own spells first, then the SRD.
    let all = known.clone().into_iter().chain(
        cat.spells
            .values()
            .map(|s| s.name.clone())
            .filter(|n| !known.contains(n)),
    );
    choices(all, partial)
}

async fn scene(ctx: Context<'_>) -> Option<dicebard_engine::CampaignState> {
    let id = campaign_here(ctx).await.ok().flatten()?;
    ctx.data().coord.snapshot(id).await.ok().map(|s| s.state)
}

/// The scene for autocomplete, which cannot be deferred: no suggestions rather than a
/// missed 3 s deadline when the campaign is busy (a slow NPC turn).
async fn ac_scene(ctx: Context<'_>) -> Option<dicebard_engine::CampaignState> {
    tokio::time::timeout(std::time::Duration::from_millis(1500), scene(ctx))
        .await
        .ok()
        .flatten()
}

fn choices(
    all: impl Iterator<Item = String>,
    partial: &str,
) -> serenity::CreateAutocompleteResponse {
    let want = partial.to_lowercase();
    let mut list: Vec<String> = all.filter(|n| n.to_lowercase().contains(&want)).collect();
    list.sort_by_key(|n| !n.to_lowercase().starts_with(&want));
    list.truncate(25);
    serenity::CreateAutocompleteResponse::new().set_choices(
        list.into_iter()
            .map(serenity::AutocompleteChoice::from)
            .collect(),
    )
}

/// Your character.
#[poise::command(
    slash_command,
    guild_only,
    subcommands(
        "character_create",
        "character_show",
        "character_export",
        "character_import",
        "character_hp",
        "character_prepare",
        "character_levelup"
    ),
    subcommand_required
)]
pub async fn character(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// Create your character (its sheet is pinned in the channel). Without options, a form
/// opens.
#[poise::command(slash_command, rename = "create")]
#[allow(clippy::too_many_arguments)] // one per slash-command option
pub async fn character_create(
    ctx: Context<'_>,
    #[description = "Character name"] name: Option<String>,
    #[description = "Class"]
    #[autocomplete = "ac_class"]
    class: Option<String>,
    #[description = "Race"]
    #[autocomplete = "ac_race"]
    race: Option<String>,
    #[description = "Ability scores: standard (default), roll, or point buy as six numbers (STR DEX CON INT WIS CHA)"]
    abilities: Option<String>,
    #[description = "Level (default 1)"]
    #[min = 1]
    #[max = 20]
    level: Option<u8>,
    #[description = "Cantrips and spells, separated by commas (default: a sensible set)"]
    spells: Option<String>,
    #[description = "Expertise skills (rogue, bard 3+), separated by commas"] expertise: Option<
        String,
    >,
    #[description = "SRD subrace: hill dwarf, high elf, lightfoot halfling, rock gnome"]
    subrace: Option<String>,
    #[description = "Dragonborn ancestry: a dragon colour (red, silver…) or damage type"]
    ancestry: Option<String>,
    #[description = "Fighting style (fighter; paladin, ranger from 2nd): archery, defense, dueling, great weapon…"]
    style: Option<String>,
    #[description = "Invocations, pact boon, metamagic, separated by commas"] options: Option<
        String,
    >,
) -> Result<(), Error> {
    let (Some(name), Some(class), Some(race)) = (name.clone(), class.clone(), race.clone()) else {
        return character_form(ctx, name, class, race, abilities).await;
    };
    let extra = spells_and_expertise(spells.as_deref(), expertise.as_deref());
    match character_spec(
        &name,
        &class,
        &race,
        abilities.as_deref(),
        level.unwrap_or(1),
    )
    .and_then(|spec| extra.map(|(spells, expertise)| (spec, spells, expertise)))
    {
        Ok((mut spec, spells, expertise)) => {
            spec.spells = spells;
            spec.expertise = expertise;
            spec.subrace = subrace.filter(|s| s.len() <= 64);
            spec.ancestry = ancestry.filter(|s| s.len() <= 64);
            spec.fighting_style = style.filter(|s| s.len() <= 64);
            spec.options = class_options(options.as_deref());
            act(ctx, Action::CreateCharacter { spec }).await
        }
        Err(msg) => ephemeral(ctx, msg).await,
    }
}

/// Class options (invocations, pact boon, metamagic) from a comma-separated option:
/// at most 16, each at most 64 characters (the engine checks them).
pub(crate) fn class_options(s: Option<&str>) -> Vec<String> {
    s.unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|w| !w.is_empty() && w.len() <= 64)
        .take(16)
        .map(String::from)
        .collect()
}

/// "fire bolt, shield" and "stealth, perception" as the engine's lists (at most 40
/// names each).
pub(crate) fn spells_and_expertise(
    spells: Option<&str>,
    expertise: Option<&str>,
) -> Result<(Vec<String>, Vec<dicebard_engine::ability::Skill>), String> {
    let list = |s: Option<&str>| -> Vec<String> {
        s.unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|w| !w.is_empty())
            .take(40)
            .map(String::from)
            .collect()
    };
    let skills = list(expertise)
        .iter()
        .map(|w| {
            dicebard_engine::ability::Skill::parse(w)
                .ok_or_else(|| format!("{} is not a skill.", dicebard_engine::error::echo(w)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((list(spells), skills))
}

/// Change your prepared spells after a long rest (cleric, druid, paladin, wizard).
#[poise::command(slash_command, rename = "prepare")]
pub async fn character_prepare(
    ctx: Context<'_>,
    #[description = "Spells to prepare, separated by commas"] spells: String,
) -> Result<(), Error> {
    match spells_and_expertise(Some(&spells), None) {
        Ok((spells, _)) if !spells.is_empty() => act(ctx, Action::PrepareSpells { spells }).await,
        Ok(_) => ephemeral(ctx, "Name the spells to prepare.").await,
        Err(msg) => ephemeral(ctx, msg).await,
    }
}

/// Level your character up (outside a fight).
#[poise::command(slash_command, rename = "levelup")]
pub async fn character_levelup(
    ctx: Context<'_>,
    #[description = "Ability score improvement: two abilities, e.g. STR DEX or STR STR"]
    asi: Option<String>,
    #[description = "New spells learned (known casters, a wizard's spellbook), separated by commas"]
    spells: Option<String>,
    #[description = "New expertise skills (rogue 6, bard 3 and 10), separated by commas"]
    expertise: Option<String>,
    #[description = "Fighting style (paladin and ranger at 2nd): defense, dueling, archery…"]
    style: Option<String>,
    #[description = "Invocations, pact boon, metamagic, separated by commas"] options: Option<
        String,
    >,
) -> Result<(), Error> {
    let fighting_style = style.filter(|s| s.len() <= 64);
    let options = class_options(options.as_deref());
    let asi: Result<Vec<dicebard_engine::ability::Ability>, String> = asi
        .as_deref()
        .unwrap_or("")
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .take(4)
        .map(|w| {
            dicebard_engine::ability::Ability::parse(w)
                .ok_or_else(|| format!("{} is not an ability.", dicebard_engine::error::echo(w)))
        })
        .collect();
    match asi.and_then(|asi| {
        spells_and_expertise(spells.as_deref(), expertise.as_deref()).map(|(s, e)| (asi, s, e))
    }) {
        Ok((asi, spells, expertise)) => {
            act(
                ctx,
                Action::LevelUp {
                    asi,
                    spells,
                    expertise,
                    fighting_style,
                    options,
                },
            )
            .await
        }
        Err(msg) => ephemeral(ctx, msg).await,
    }
}

pub(crate) fn character_spec(
    name: &str,
    class: &str,
    race: &str,
    abilities: Option<&str>,
    level: u8,
) -> Result<CharacterSpec, String> {
    let mut spec = CharacterSpec::quick(name, class, race);
    spec.level = level;
    match abilities.map(str::trim).map(str::to_lowercase) {
        None => {}
        Some(s) if s.is_empty() || s == "standard" || s == "standard array" => {}
        Some(s) if s == "roll" || s == "4d6kh3" => spec.method = AbilityMethod::Roll,
        Some(s) => {
            let v: Vec<i32> = s
                .split(|c: char| !c.is_ascii_digit())
                .filter_map(|x| x.parse().ok())
                .collect();
            if v.len() != 6 {
                return Err("Ability scores: `standard`, `roll`, or six numbers for point buy (STR DEX CON INT WIS CHA).".into());
            }
            spec.method = AbilityMethod::PointBuy {
                scores: dicebard_engine::ability::Abilities::new(
                    v[0], v[1], v[2], v[3], v[4], v[5],
                ),
            };
        }
    }
    Ok(spec)
}

/// The character form (a Discord modal): name, class, race, ability method. Its submit
/// is answered with the result, like a slash command.
async fn character_form(
    ctx: Context<'_>,
    name: Option<String>,
    class: Option<String>,
    race: Option<String>,
    abilities: Option<String>,
) -> Result<(), Error> {
    let poise::Context::Application(actx) = ctx else {
        return Ok(());
    };
    let Some(campaign) = campaign_here(ctx).await? else {
        return ephemeral(
            ctx,
            "There is no campaign in this channel — start one with `/campaign start`.",
        )
        .await;
    };
    let form_id = format!("character:{}", ctx.id());
    let input =
        |id: &str, label: &str, placeholder: &str, value: Option<String>, required: bool| {
            let mut t = serenity::CreateInputText::new(serenity::InputTextStyle::Short, label, id)
                .placeholder(placeholder)
                .required(required)
                .max_length(if id == "abilities" { 40 } else { 48 });
            if let Some(v) = value {
                t = t.value(v);
            }
            serenity::CreateActionRow::InputText(t)
        };
    let modal = serenity::CreateModal::new(&form_id, "Create your character").components(vec![
        input("name", "Name", "Thorin", name, true),
        input(
            "class",
            "Class",
            "fighter, wizard, cleric, rogue…",
            class,
            true,
        ),
        input("race", "Race", "dwarf, elf, human, halfling…", race, true),
        input(
            "abilities",
            "Ability scores",
            "standard, roll, or point buy: 15 14 13 12 10 8",
            abilities,
            false,
        ),
    ]);
    actx.interaction
        .create_response(
            ctx.http(),
            serenity::CreateInteractionResponse::Modal(modal),
        )
        .await?;
    actx.has_sent_initial_response
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let Some(submit) = serenity::ModalInteractionCollector::new(ctx.serenity_context())
        .author_id(ctx.author().id)
        .custom_ids(vec![form_id])
        .timeout(std::time::Duration::from_secs(900))
        .next()
        .await
    else {
        return Ok(());
    };
    let mut fields = std::collections::HashMap::new();
    for row in &submit.data.components {
        for c in &row.components {
            if let serenity::ActionRowComponent::InputText(t) = c {
                fields.insert(t.custom_id.clone(), t.value.clone().unwrap_or_default());
            }
        }
    }
    let get = |k: &str| fields.get(k).cloned().unwrap_or_default();
    let respond = |text: String, ephemeral: bool| {
        serenity::CreateInteractionResponse::Message(
            serenity::CreateInteractionResponseMessage::new()
                .content(render::clamp(&text, render::MAX_CONTENT))
                .allowed_mentions(super::no_pings())
                .ephemeral(ephemeral),
        )
    };
    let spec = match character_spec(
        &get("name"),
        &get("class"),
        &get("race"),
        Some(&get("abilities")),
        1,
    ) {
        Ok(s) => s,
        Err(msg) => {
            submit
                .create_response(ctx.http(), respond(msg, true))
                .await?;
            return Ok(());
        }
    };
    // Acknowledge before waiting on the campaign (it may be busy with an NPC turn).
    submit
        .create_response(
            ctx.http(),
            serenity::CreateInteractionResponse::Defer(
                serenity::CreateInteractionResponseMessage::new(),
            ),
        )
        .await?;
    let http = ctx.http();
    let submit = &submit;
    let private = |text: String| async move {
        // The public "thinking…" would make the first follow-up public: remove it first.
        if let Err(e) = submit.delete_response(http).await {
            tracing::warn!(error = %e, "could not remove the thinking message");
        }
        submit
            .create_followup(
                http,
                serenity::CreateInteractionResponseFollowup::new()
                    .content(render::clamp(&text, render::MAX_CONTENT))
                    .allowed_mentions(super::no_pings())
                    .ephemeral(true),
            )
            .await
            .map(|_| ())
    };
    let me = player_id(ctx.author().id);
    let coord = &ctx.data().coord;
    if !coord
        .claim_request(campaign, &submit.id.to_string())
        .await?
    {
        private("That was already done.".into()).await?;
        return Ok(());
    }
    let origin = Origin {
        source: Source::Discord,
        player: Some(me.clone()),
        interaction: Some(submit.id.to_string()),
    };
    ensure_joined(ctx, campaign, &me).await;
    let cmd = Command {
        by: dicebard_engine::Actor::Player(me.clone()),
        action: Action::CreateCharacter { spec },
    };
    match coord.submit(campaign, cmd, origin).await {
        Ok(events) => {
            let snap = coord.snapshot(campaign).await?;
            let lines: Vec<String> = events
                .iter()
                .filter(|c| c.event.visibility.allows(&Viewer::Observer))
                .filter_map(|c| BuiltinNarrator::line(&snap.state, c))
                .collect();
            let text = render::pack_lines(&lines)
                .into_iter()
                .next()
                .unwrap_or_else(|| "Done.".into());
            submit
                .edit_response(
                    http,
                    serenity::EditInteractionResponse::new()
                        .content(text)
                        .allowed_mentions(super::no_pings()),
                )
                .await?;
        }
        Err(e) => private(e.user_message()).await?,
    }
    Ok(())
}

/// Show a character sheet.
#[poise::command(slash_command, rename = "show")]
pub async fn character_show(
    ctx: Context<'_>,
    #[description = "Whose character (default: yours)"] user: Option<serenity::User>,
) -> Result<(), Error> {
    defer_private(ctx).await?;
    let who = player_id(user.as_ref().map_or(ctx.author().id, |u| u.id));
    let Some(s) = scene(ctx).await else {
        return ephemeral(ctx, "There is no campaign in this channel.").await;
    };
    let viewer = view::viewer_of(&s, &player_id(ctx.author().id));
    match view::sheet_of(&s, &viewer, &who) {
        Some(sheet) => {
            ephemeral_reply(
                ctx,
                poise::CreateReply::default().embed(render::character_embed(&sheet)),
            )
            .await
        }
        None => ephemeral(ctx, "No character yet — `/character create`.").await,
    }
}

/// Export your character as JSON.
#[poise::command(slash_command, rename = "export")]
pub async fn character_export(ctx: Context<'_>) -> Result<(), Error> {
    defer_private(ctx).await?;
    let me = player_id(ctx.author().id);
    let Some(s) = scene(ctx).await else {
        return ephemeral(ctx, "There is no campaign in this channel.").await;
    };
    let Some(c) = s.character_of(&me) else {
        return ephemeral(ctx, "No character yet — `/character create`.").await;
    };
    let json = serde_json::to_string_pretty(&dicebard_engine::character::export_character(c))?;
    let file = serenity::CreateAttachment::bytes(
        json.into_bytes(),
        format!("{}.json", dicebard_engine::data::to_index(&c.name)),
    );
    ephemeral_reply(
        ctx,
        poise::CreateReply::default()
            .content("Your character:")
            .attachment(file),
    )
    .await
}

/// Import a character from a dicebard JSON export.
#[poise::command(slash_command, rename = "import")]
pub async fn character_import(
    ctx: Context<'_>,
    #[description = "The .json file from /character export"] file: serenity::Attachment,
) -> Result<(), Error> {
    if file.size > 256 * 1024 {
        return ephemeral(ctx, "That file is too large for a character.").await;
    }
    defer_first(ctx).await?;
    let bytes = match tokio::time::timeout(super::REST_TIMEOUT, file.download()).await {
        Ok(Ok(b)) if b.len() <= 256 * 1024 => b,
        Ok(Ok(_)) => return ephemeral(ctx, "That file is too large for a character.").await,
        Ok(Err(_)) | Err(_) => return ephemeral(ctx, "I couldn't download that file.").await,
    };
    let export: dicebard_engine::character::CharacterExport = match serde_json::from_slice(&bytes) {
        Ok(x) => x,
        Err(e) => {
            return ephemeral(ctx, format!("That is not a dicebard character file: {e}")).await;
        }
    };
    act(
        ctx,
        Action::ImportCharacter {
            export: Box::new(export),
        },
    )
    .await
}

/// Set a creature's hit points (GM).
#[poise::command(slash_command, rename = "hp")]
pub async fn character_hp(
    ctx: Context<'_>,
    #[description = "Creature"]
    #[autocomplete = "ac_target"]
    target: String,
    #[description = "Hit points"]
    #[min = 0]
    #[max = 10000]
    hp: i32,
) -> Result<(), Error> {
    act(ctx, Action::SetHp { target, hp }).await
}

/// Take a short or long rest.
#[poise::command(slash_command, guild_only)]
pub async fn rest(
    ctx: Context<'_>,
    #[description = "short or long"] kind: RestChoice,
    #[description = "Hit dice to spend (short rest)"]
    #[min = 0]
    #[max = 20]
    hit_dice: Option<u32>,
) -> Result<(), Error> {
    let kind = match kind {
        RestChoice::Short => RestKind::Short,
        RestChoice::Long => RestKind::Long,
    };
    act(
        ctx,
        Action::Rest {
            kind,
            hit_dice: hit_dice.unwrap_or(1),
        },
    )
    .await
}

/// Roll dice, e.g. 1d20+5, 4d6kh3, 2d20kl1, 8d6[fire].
#[poise::command(slash_command, guild_only)]
pub async fn roll(
    ctx: Context<'_>,
    #[description = "Dice expression"] dice: String,
    #[description = "Only you (and the GM) see it"] secret: Option<bool>,
) -> Result<(), Error> {
    act(
        ctx,
        Action::Roll {
            expr: dice,
            secret: secret.unwrap_or(false),
        },
    )
    .await
}

/// Make an ability or skill check.
#[poise::command(slash_command, guild_only)]
pub async fn check(
    ctx: Context<'_>,
    #[description = "Skill or ability"]
    #[autocomplete = "ac_skill"]
    skill: String,
    #[description = "Advantage"] mode: Option<Mode>,
    #[description = "Difficulty class"]
    #[min = 0]
    #[max = 100]
    dc: Option<i32>,
) -> Result<(), Error> {
    let s = Skill::parse(&skill);
    let a = if s.is_none() {
        Ability::parse(&skill)
    } else {
        None
    };
    if s.is_none() && a.is_none() {
        return ephemeral(
            ctx,
            format!("I don't know the skill \"{}\".", render::escape(&skill)),
        )
        .await;
    }
    act(
        ctx,
        Action::Check {
            skill: s,
            ability: a,
            advantage: advantage(mode),
            dc,
        },
    )
    .await
}

/// Make a saving throw.
#[poise::command(slash_command, guild_only)]
pub async fn save(
    ctx: Context<'_>,
    #[description = "Ability"]
    #[autocomplete = "ac_skill"]
    ability: String,
    #[description = "Advantage"] mode: Option<Mode>,
    #[description = "Difficulty class"]
    #[min = 0]
    #[max = 100]
    dc: Option<i32>,
) -> Result<(), Error> {
    let Some(a) = Ability::parse(&ability) else {
        return ephemeral(
            ctx,
            format!(
                "\"{}\" is not an ability (str, dex, con, int, wis, cha).",
                render::escape(&ability)
            ),
        )
        .await;
    };
    act(
        ctx,
        Action::Save {
            ability: a,
            advantage: advantage(mode),
            dc,
        },
    )
    .await
}

/// Do something in character (free text).
#[poise::command(slash_command, guild_only, rename = "act")]
pub async fn act_cmd(
    ctx: Context<'_>,
    #[description = "What your character does or says"] text: String,
) -> Result<(), Error> {
    act_text(ctx, text).await
}

/// Attack a creature.
#[poise::command(slash_command, guild_only)]
pub async fn attack(
    ctx: Context<'_>,
    #[description = "Target"]
    #[autocomplete = "ac_target"]
    target: String,
    #[description = "Weapon (default: your first melee weapon)"]
    #[autocomplete = "ac_weapon"]
    weapon: Option<String>,
) -> Result<(), Error> {
    act(ctx, Action::Attack { target, weapon }).await
}

/// Cast a spell.
#[poise::command(slash_command, guild_only)]
pub async fn cast(
    ctx: Context<'_>,
    #[description = "Spell"]
    #[autocomplete = "ac_spell"]
    spell: String,
    #[description = "Target(s), comma-separated"]
    #[autocomplete = "ac_target"]
    target: Option<String>,
    #[description = "Slot level"]
    #[min = 0]
    #[max = 9]
    level: Option<u8>,
) -> Result<(), Error> {
    let targets = target
        .map(|t| {
            t.split(',')
                .map(|x| x.trim().to_string())
                .filter(|x| !x.is_empty())
                .collect()
        })
        .unwrap_or_default();
    act(
        ctx,
        Action::Cast {
            spell,
            targets,
            slot: level,
        },
    )
    .await
}

/// Fights.
#[poise::command(
    slash_command,
    guild_only,
    subcommands("combat_start", "combat_add", "combat_end"),
    subcommand_required
)]
pub async fn combat(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// Parses "3 goblin, 1 bugbear". Counts are user text: anything over the cap (or a sum
/// over it) is refused here with a clear message, before any arithmetic on them.
pub(crate) fn groups(s: &str) -> Result<Vec<MonsterGroup>, String> {
    // The engine's one parser for monster lists, shared with the terminal: plurals,
    // counts and the cap are read the same way by every front end.
    dicebard_engine::parse_monster_list(s, dicebard_srd::catalog())
        .map_err(|e| render::escape(&e.to_string()))
}

/// Start a fight with SRD monsters, e.g. "3 goblin, 1 bugbear" (GM).
#[poise::command(slash_command, rename = "start")]
pub async fn combat_start(
    ctx: Context<'_>,
    #[description = "Monsters with counts, e.g. 3 goblin, 1 bugbear"]
    #[autocomplete = "ac_monster"]
    monsters: String,
) -> Result<(), Error> {
    match groups(&monsters) {
        Ok(monsters) => act(ctx, Action::StartCombat { monsters }).await,
        Err(msg) => ephemeral(ctx, msg).await,
    }
}

/// Bring more monsters into the fight (GM).
#[poise::command(slash_command, rename = "add")]
pub async fn combat_add(
    ctx: Context<'_>,
    #[description = "Monsters with counts"]
    #[autocomplete = "ac_monster"]
    monsters: String,
) -> Result<(), Error> {
    match groups(&monsters) {
        Ok(monsters) => act(ctx, Action::AddToCombat { monsters }).await,
        Err(msg) => ephemeral(ctx, msg).await,
    }
}

/// End the fight (GM).
#[poise::command(slash_command, rename = "end")]
pub async fn combat_end(ctx: Context<'_>) -> Result<(), Error> {
    act(ctx, Action::EndCombat).await
}

/// Your turn.
#[poise::command(
    slash_command,
    guild_only,
    subcommands("turn_end"),
    subcommand_required
)]
pub async fn turn(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// End your turn.
#[poise::command(slash_command, rename = "end")]
pub async fn turn_end(ctx: Context<'_>) -> Result<(), Error> {
    act(ctx, Action::EndTurn).await
}

/// Show the initiative order.
#[poise::command(slash_command, guild_only)]
pub async fn initiative(ctx: Context<'_>) -> Result<(), Error> {
    defer_private(ctx).await?;
    let Some(s) = scene(ctx).await else {
        return ephemeral(ctx, "There is no campaign in this channel.").await;
    };
    // An ephemeral reply: as its asker may see it (a GM gets the monsters' hit points).
    let viewer = view::viewer_of(&s, &player_id(ctx.author().id));
    match view::initiative(&s, &viewer) {
        Some(init) => {
            let e = render::initiative_embed(&init);
            ephemeral_reply(ctx, poise::CreateReply::default().embed(e)).await
        }
        None => ephemeral(ctx, "No fight is on.").await,
    }
}

/// Send a private message to one player (GM).
#[poise::command(slash_command, guild_only)]
pub async fn whisper(
    ctx: Context<'_>,
    #[description = "Player"] player: serenity::User,
    #[description = "Message"] text: String,
) -> Result<(), Error> {
    defer_first(ctx).await?;
    if player.bot {
        return ephemeral(
            ctx,
            format!(
                "{} is a bot, not a player: whisper to someone playing in this campaign.",
                render::escape(&player.name)
            ),
        )
        .await;
    }
    if let Some(campaign) = campaign_here(ctx).await?
        && let Ok(snap) = ctx.data().coord.snapshot(campaign).await
        && !snap.state.players.contains_key(&player_id(player.id))
    {
        return ephemeral(
            ctx,
            format!(
                "{} is not playing in this campaign yet (they join with `/character create` or any command here).",
                render::escape(&player.name)
            ),
        )
        .await;
    }
    act(
        ctx,
        Action::Whisper {
            to: player_id(player.id),
            text,
        },
    )
    .await
}

/// How to play.
#[poise::command(slash_command)]
pub async fn help(ctx: Context<'_>) -> Result<(), Error> {
    ephemeral(
        ctx,
        "**dicebard** runs a D&D 5e table here.\n\
         • GM: `/campaign start`, `/combat start 3 goblin`, `/combat end`, `/whisper`, `/character hp`, `/campaign settings`.\n\
         • Players: `/character create`, `/act` (say it in your own words), `/attack`, `/cast`, `/check`, `/save`, `/roll`, `/rest`, `/turn end`.\n\
         • Voice: `/voice join` from your voice channel, then speak your actions and hear the narration; `/voice settings`, `/voice skip`, `/voice leave`.\n\
         • Phones: `/table invite` (a link and QR code for the phone table; the GM can name a player), `/table display` (a TV), `/table kick`, `/table status`.\n\
         In a fight only the active player can act; when time runs out the character takes the Dodge action. The rules engine decides every roll; the narrator (the host's LLM or the built-in one, `/campaign settings narrator`) only tells the story.",
    )
    .await
}

/// About dicebard and the SRD.
#[poise::command(slash_command)]
pub async fn about(ctx: Context<'_>) -> Result<(), Error> {
    ephemeral(
        ctx,
        format!(
            "dicebard {} — a self-hosted AI game master.\n\n{}",
            env!("CARGO_PKG_VERSION"),
            dicebard_srd::ATTRIBUTION
        ),
    )
    .await
}

/// All commands, for registration.
pub fn all() -> Vec<poise::Command<super::Data, Error>> {
    vec![
        campaign(),
        character(),
        rest(),
        roll(),
        check(),
        save(),
        act_cmd(),
        attack(),
        cast(),
        combat(),
        turn(),
        initiative(),
        whisper(),
        super::voice::commands::voice(),
        super::table::table(),
        help(),
        about(),
    ]
}
