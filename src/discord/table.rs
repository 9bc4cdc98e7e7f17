//! `/table`: links to the phone table (with a QR code), kicks and who is connected.
//!
//! Every reply is private (ephemeral): a link is a secret. The permission rule is the
//! table's ([`crate::table::may_invite`]): the campaign's GM may invite anyone, make a
//! TV display link and kick; a player may invite only themselves. Members with the
//! server's GM role count as GMs, as everywhere in the Discord front end.

use super::commands::{campaign_here, defer_private, ephemeral, ephemeral_reply, has_gm_role};
use super::{Context, Error, player_id, player_user_id, render};
use crate::coordinator::CampaignId;
use crate::table::{By, Invite, InviteRequest, Role};
use dicebard_engine::PlayerId;
use poise::serenity_prelude as serenity;

/// Links to the phone table, kicks and who is connected (replies are private).
#[poise::command(
    slash_command,
    guild_only,
    subcommands("table_invite", "table_display", "table_kick", "table_status"),
    subcommand_required
)]
pub async fn table(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// The campaign here, or the caller is told there is none.
async fn campaign(ctx: Context<'_>) -> Result<Option<CampaignId>, Error> {
    let c = campaign_here(ctx).await?;
    if c.is_none() {
        ephemeral(
            ctx,
            "There is no campaign in this channel — start one with `/campaign start`.",
        )
        .await?;
    }
    Ok(c)
}

/// Who asks: the host's word for members with the server's GM role, else the player.
async fn asker<'a>(ctx: Context<'_>, me: &'a PlayerId) -> By<'a> {
    if has_gm_role(ctx).await {
        By::Host
    } else {
        By::Player(me)
    }
}

/// A user's name at this table.
async fn display_name(ctx: Context<'_>, user: &serenity::User) -> String {
    if let Some(g) = ctx.guild_id()
        && let Ok(m) = g.member(ctx, user.id).await
    {
        return m.display_name().to_string();
    }
    user.global_name
        .clone()
        .unwrap_or_else(|| user.name.clone())
}

/// The link, privately, with its QR code as a PNG attachment.
async fn send_link(ctx: Context<'_>, what: &str, invite: &Invite) -> Result<(), Error> {
    let hours = (invite.expires_at_ms - now_ms()).max(0) / 3_600_000;
    let text = format!(
        "{what} — works once, for {hours} h. Open it on the phone or scan the code:\n{}",
        invite.url
    );
    let mut reply =
        poise::CreateReply::default().content(render::clamp(&text, render::MAX_CONTENT));
    if let Some(png) = crate::table::qr::png(&invite.url) {
        reply = reply.attachment(serenity::CreateAttachment::bytes(png, "table-link.png"));
    }
    ephemeral_reply(ctx, reply).await
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A join link for the phone table: for you, or (GM) for another player.
#[poise::command(slash_command, rename = "invite")]
pub async fn table_invite(
    ctx: Context<'_>,
    #[description = "Who the link is for (GM only; default: you)"] player: Option<serenity::User>,
) -> Result<(), Error> {
    defer_private(ctx).await?;
    let Some(campaign) = campaign(ctx).await? else {
        return Ok(());
    };
    let me = player_id(ctx.author().id);
    let user = player.unwrap_or_else(|| ctx.author().clone());
    let name = display_name(ctx, &user).await;
    let req = InviteRequest {
        player: Some(player_id(user.id)),
        name: Some(name.chars().take(crate::table::MAX_NAME).collect()),
        ..InviteRequest::new(Role::Player)
    };
    let by = asker(ctx, &me).await;
    match ctx.data().table.invite(campaign, by, req).await {
        Ok(i) => {
            let what = format!("Phone link for **{}**", render::escape(&name));
            send_link(ctx, &what, &i).await
        }
        Err(e) => ephemeral(ctx, e.user_message()).await,
    }
}

/// A link for a shared screen (TV or laptop): public events only (GM).
#[poise::command(slash_command, rename = "display")]
pub async fn table_display(ctx: Context<'_>) -> Result<(), Error> {
    defer_private(ctx).await?;
    let Some(campaign) = campaign(ctx).await? else {
        return Ok(());
    };
    let me = player_id(ctx.author().id);
    let by = asker(ctx, &me).await;
    let req = InviteRequest {
        name: Some("TV display".into()),
        ..InviteRequest::new(Role::Display)
    };
    match ctx.data().table.invite(campaign, by, req).await {
        Ok(i) => send_link(ctx, "TV display link", &i).await,
        Err(e) => ephemeral(ctx, e.user_message()).await,
    }
}

/// The player `text` names: a mention or user id (a Discord player), else a player's
/// id, name or character's name in the campaign.
async fn resolve(ctx: Context<'_>, campaign: CampaignId, text: &str) -> Option<PlayerId> {
    let t = text.trim();
    let digits = t
        .strip_prefix("<@")
        .and_then(|r| r.strip_suffix('>'))
        .map(|r| r.trim_start_matches('!'))
        .unwrap_or(t);
    if let Ok(id) = digits.parse::<u64>()
        && id != 0
    {
        return Some(player_id(serenity::UserId::new(id)));
    }
    let snap = ctx.data().coord.snapshot(campaign).await.ok()?;
    crate::table::find_player(&snap.state, t)
}

async fn ac_player(ctx: Context<'_>, partial: &str) -> serenity::CreateAutocompleteResponse {
    let names: Vec<String> = match campaign_here(ctx).await.ok().flatten() {
        Some(c) => tokio::time::timeout(
            std::time::Duration::from_millis(1500),
            ctx.data().coord.snapshot(c),
        )
        .await
        .ok()
        .and_then(Result::ok)
        .map(|s| s.state.players.values().map(|i| i.name.clone()).collect())
        .unwrap_or_default(),
        None => Vec::new(),
    };
    let want = partial.to_lowercase();
    let choices = names
        .into_iter()
        .filter(|n| n.to_lowercase().contains(&want))
        .take(25)
        .map(serenity::AutocompleteChoice::from)
        .collect();
    serenity::CreateAutocompleteResponse::new().set_choices(choices)
}

/// End a player's phone sessions and unused links; their open pages close (GM).
#[poise::command(slash_command, rename = "kick")]
pub async fn table_kick(
    ctx: Context<'_>,
    #[description = "The player (name, or @mention)"]
    #[autocomplete = "ac_player"]
    player: String,
) -> Result<(), Error> {
    defer_private(ctx).await?;
    let Some(campaign) = campaign(ctx).await? else {
        return Ok(());
    };
    let Some(target) = resolve(ctx, campaign, &player).await else {
        return ephemeral(ctx, "No such player in this campaign.").await;
    };
    let me = player_id(ctx.author().id);
    let by = asker(ctx, &me).await;
    match ctx.data().table.kick(campaign, by, &target).await {
        Ok(n) => {
            let who = match player_user_id(&target) {
                Some(u) => format!("<@{u}>"),
                None => render::escape(player.trim()),
            };
            ephemeral(
                ctx,
                format!(
                    "Kicked {who} from the phone table: {n} session(s) ended, unused links revoked."
                ),
            )
            .await
        }
        Err(e) => ephemeral(ctx, e.user_message()).await,
    }
}

/// Who is connected to the table, and through which front end.
#[poise::command(slash_command, rename = "status")]
pub async fn table_status(ctx: Context<'_>) -> Result<(), Error> {
    defer_private(ctx).await?;
    let Some(campaign) = campaign(ctx).await? else {
        return Ok(());
    };
    match ctx.data().table.status_text(campaign).await {
        Ok(t) => ephemeral(ctx, render::escape(&t)).await,
        Err(e) => ephemeral(ctx, e.user_message()).await,
    }
}
