//! The Discord front end (poise + serenity): the only module that knows Discord types.
//!
//! Slash commands (`commands.rs`) become engine actions submitted through the
//! coordinator as the calling user; a presenter per campaign (`presenter.rs`) turns
//! committed events into channel messages, pinned embeds and DMs; `render.rs` builds
//! embeds within Discord's limits. Turn order, permissions and visibility are decided by
//! the engine, never here.

pub(crate) mod commands;
pub mod dm;
pub mod presenter;
pub mod render;
mod story;
pub mod table;
pub mod voice;

use crate::config::Config;
use crate::coordinator::CampaignId;
use crate::coordinator::{Coordinator, Origin, Source};
use crate::feed::Feeds;
use crate::gm::GameMaster;
use crate::shutdown::Shutdown;
use crate::store::Binding;
use anyhow::Context as _;
use dicebard_engine::{Action, Command, EventKind, PlayerId};
use poise::serenity_prelude as serenity;
use songbird::SerenityInit as _;
use std::collections::HashSet;
use std::num::NonZeroU64;
use std::sync::{Arc, Mutex};

pub type Error = Box<dyn std::error::Error + Send + Sync>;
pub type Context<'a> = poise::Context<'a, Data, Error>;

/// Shared state for commands and event handlers.
pub struct Data {
    pub coord: Coordinator,
    /// Members with a role of this name are GMs of every campaign in the server.
    pub gm_role: String,
    /// Narrator, NPC policy, free-text reader and LLM usage.
    pub gm: GameMaster,
    /// Voice channels: listening and speaking (`voice.speak(campaign, text)`).
    pub voice: voice::VoiceHub,
    /// The campaigns' table feeds, which the presenters render.
    pub feeds: Feeds,
    /// Links to the phone table, kicks and presence (`/table`).
    pub table: crate::table::Table,
    http: Arc<serenity::Http>,
    presenters: Mutex<HashSet<CampaignId>>,
}

impl Data {
    /// Starts the presenter for a campaign channel (once). `from`: where a campaign with
    /// no stored cursor starts — `Some(0)` for one just created (everything since its
    /// start, however late the task runs), `None` for an existing one (the present).
    pub fn start_presenter(
        &self,
        campaign_id: CampaignId,
        channel: serenity::ChannelId,
        from: Option<u64>,
    ) {
        let mut running = self.presenters.lock().expect("presenter set poisoned");
        if running.insert(campaign_id) {
            let http = self.http.clone();
            let coord = self.coord.clone();
            let voice = Some(self.voice.clone());
            let feeds = self.feeds.clone();
            tokio::spawn(presenter::run(
                http,
                coord,
                feeds,
                campaign_id,
                channel,
                voice,
                from,
            ));
        }
    }
}

/// The engine player id of a Discord user.
pub fn player_id(user: serenity::UserId) -> PlayerId {
    PlayerId::new(format!("discord:{}", user.get()))
}

/// The Discord user behind a player id, if it is one.
pub fn player_user_id(p: &PlayerId) -> Option<serenity::UserId> {
    user_id(p.as_str().strip_prefix("discord:")?.parse().ok()?)
}

/// serenity's typed ids from numbers read from the store, the configuration or a
/// player id: `None` for 0, which no Discord id is (serenity's `new` panics on it).
pub fn user_id(raw: u64) -> Option<serenity::UserId> {
    NonZeroU64::new(raw).map(Into::into)
}

/// See [`user_id`].
pub fn channel_id(raw: u64) -> Option<serenity::ChannelId> {
    NonZeroU64::new(raw).map(Into::into)
}

/// See [`user_id`].
pub fn guild_id(raw: u64) -> Option<serenity::GuildId> {
    NonZeroU64::new(raw).map(Into::into)
}

/// A campaign's seat in a Discord text channel, for
/// [`Coordinator::create_campaign_at`]: the store writes it with the campaign's row, in
/// one transaction (a channel hosts one active campaign).
pub fn channel_binding(guild: serenity::GuildId, channel: serenity::ChannelId) -> Binding {
    Binding::DiscordChannel {
        guild: guild.get(),
        channel: channel.get(),
    }
}

/// Sends `text` (clamped to Discord's limit) to `user` by DM, with `components`.
/// Failures are logged for `campaign` and otherwise dropped: a DM is never worth
/// stopping the table for.
pub(crate) async fn send_dm(
    http: &serenity::Http,
    campaign: CampaignId,
    user: serenity::UserId,
    text: &str,
    components: Vec<serenity::CreateActionRow>,
) {
    let dm = match user.create_dm_channel(http).await {
        Ok(ch) => ch,
        Err(e) => {
            tracing::warn!(campaign = campaign.get(), error = %e, "opening a DM failed");
            return;
        }
    };
    let mut msg = serenity::CreateMessage::new().content(render::clamp(text, render::MAX_CONTENT));
    if !components.is_empty() {
        msg = msg.components(components);
    }
    if let Err(e) = dm.id.send_message(http, msg).await {
        tracing::warn!(campaign = campaign.get(), error = %e, "sending a DM failed");
    }
}

async fn on_error(error: poise::FrameworkError<'_, Data, Error>) {
    match error {
        poise::FrameworkError::Command { error, ctx, .. } => {
            tracing::error!(interaction = %ctx.id(), command = %ctx.command().qualified_name, error = %error, "command failed");
            let _ = commands::ephemeral(
                ctx,
                "Sorry — something went wrong on our side. Nothing was changed.",
            )
            .await;
        }
        other => {
            if let Err(e) = poise::builtins::on_error(other).await {
                tracing::error!(error = %e, "error while handling an error");
            }
        }
    }
}

/// Voice states: who is in the bot's voice call, for the table's presence
/// ([`voice::VoiceHub::voice_state`]).
///
/// Buttons: End turn and Dodge, from the initiative embed or a DM. Each is bound to
/// the turn it was issued for; a click is acknowledged at once (privately), then checked.
async fn on_event(
    framework: poise::FrameworkContext<'_, Data, Error>,
    event: &serenity::FullEvent,
) -> Result<(), Error> {
    if let serenity::FullEvent::VoiceStateUpdate { new, .. } = event {
        if let Some(guild) = new.guild_id {
            let name = new.member.as_ref().map(|m| m.display_name().to_string());
            framework.user_data.voice.voice_state(
                guild,
                new.user_id,
                new.channel_id,
                name.as_deref(),
            );
        }
        return Ok(());
    }
    let serenity::FullEvent::InteractionCreate {
        interaction: serenity::Interaction::Component(ci),
    } = event
    else {
        return Ok(());
    };
    let button = render::parse_turn_button(&ci.data.custom_id);
    if button == render::TurnButton::Invalid
        && !ci.data.custom_id.starts_with("end_turn:")
        && !ci.data.custom_id.starts_with("dodge:")
        && !ci.data.custom_id.starts_with("react_use:")
        && !ci.data.custom_id.starts_with("react_skip:")
    {
        // Not one of ours (a collector may want it).
        return Ok(());
    }
    let http = &framework.serenity_context.http;
    // Acknowledge first: the campaign may be busy with a slow NPC turn. A click that
    // is delivered again (after a restart, or a duplicate gateway delivery) was
    // acknowledged before: carry on, and answer in place only if that run died before
    // answering (its "thinking…" is still there); else as a private follow-up, so the
    // answer the player saw stays.
    let mut answer_in_place = true;
    if let Err(e) = ci.defer_ephemeral(http).await {
        if !already_acknowledged(&e) {
            return Err(e.into());
        }
        answer_in_place = ci.get_response(http).await.is_ok_and(|m| {
            m.flags
                .is_some_and(|f| f.contains(serenity::MessageFlags::LOADING))
        });
        tracing::info!(interaction = %ci.id, thinking = answer_in_place, "button acknowledged before; answering it now");
    }
    let text = press_turn_button(framework.user_data, ci, button).await;
    let text = render::clamp(&text, render::MAX_CONTENT);
    if answer_in_place {
        ci.edit_response(
            http,
            serenity::EditInteractionResponse::new()
                .content(text)
                .allowed_mentions(no_pings()),
        )
        .await?;
    } else {
        ci.create_followup(
            http,
            serenity::CreateInteractionResponseFollowup::new()
                .content(text)
                .allowed_mentions(no_pings())
                .ephemeral(true),
        )
        .await?;
    }
    Ok(())
}

/// Discord's "Interaction has already been acknowledged" (40060).
pub(crate) fn already_acknowledged(e: &serenity::Error) -> bool {
    use serenity::http::HttpError;
    const INTERACTION_ALREADY_ACKNOWLEDGED: isize = 40060;
    matches!(e, serenity::Error::Http(HttpError::UnsuccessfulRequest(r))
        if r.error.code == INTERACTION_ALREADY_ACKNOWLEDGED)
}

const TURN_OVER: &str = "That turn is over — use the buttons of your current turn.";

/// The most events a turn may have seen before its buttons are considered stale without
/// reading them (a forged, very old seq would otherwise make us read the whole log).
const MAX_TURN_EVENTS: u64 = 5_000;

/// What a turn or reaction button is bound to: the event at the button's seq that
/// opened its moment, the events that end that moment, and whether the state still has
/// such a moment open. The turn buttons and the reaction buttons differ only in these.
struct Moment {
    /// The event at the button's seq must be one of these.
    opened: fn(&EventKind) -> bool,
    /// Any of these after it ends the moment.
    closed: fn(&EventKind) -> bool,
    /// Whether the campaign's state may still hold the moment.
    open_now: fn(&dicebard_engine::CampaignState) -> bool,
    /// The answer when the moment has passed.
    over: &'static str,
    /// For the log: whose events were read.
    what: &'static str,
}

const TURN_MOMENT: Moment = Moment {
    opened: |k| matches!(k, EventKind::TurnStarted { .. }),
    closed: |k| {
        matches!(
            k,
            EventKind::TurnStarted { .. }
                | EventKind::CombatEnded { .. }
                | EventKind::CampaignEnded
        )
    },
    open_now: |s| s.combat.is_some(),
    over: TURN_OVER,
    what: "the turn's",
};

const REACTION_MOMENT: Moment = Moment {
    opened: |k| matches!(k, EventKind::ReactionOffered { .. }),
    closed: |k| {
        matches!(
            k,
            EventKind::ReactionOffered { .. }
                | EventKind::ReactionResolved { .. }
                | EventKind::CombatEnded { .. }
                | EventKind::CampaignEnded
        )
    },
    open_now: |s| s.combat.as_ref().is_some_and(|c| c.reaction.is_some()),
    over: WINDOW_CLOSED,
    what: "the window's",
};

/// A turn or reaction button's click: claims the interaction (a click delivered twice
/// is answered as such, before its moment is checked: by then its own effect has ended
/// it), checks that the moment opened at `seq` is still the open one (the events since
/// `seq`: the first one opened it, none after it closed it), then submits `action` for
/// the clicker. `Err` is the answer to give instead.
async fn press_in_moment(
    data: &Data,
    ci: &serenity::ComponentInteraction,
    campaign: CampaignId,
    seq: u64,
    moment: &Moment,
    action: Action,
) -> Result<(), String> {
    let coord = &data.coord;
    let Ok(snap) = coord.snapshot(campaign).await else {
        return Err("That campaign is not running.".into());
    };
    match coord.claim_request(campaign, &ci.id.to_string()).await {
        Ok(true) => {}
        Ok(false) => return Err("That was already done.".into()),
        Err(e) => return Err(e.user_message()),
    }
    if seq > snap.seq {
        return Err("That button is not valid.".into());
    }
    if snap.seq - seq > MAX_TURN_EVENTS || !(moment.open_now)(&snap.state) {
        return Err(moment.over.into());
    }
    let events = match coord.events_since(campaign, seq - 1).await {
        Ok(e) => e,
        Err(e) => {
            tracing::error!(campaign = campaign.get(), error = %e, "reading {} events failed", moment.what);
            return Err(e.user_message());
        }
    };
    let opened_here = events
        .first()
        .is_some_and(|c| c.seq == seq && (moment.opened)(&c.event.kind));
    if !opened_here {
        return Err("That button is not valid.".into());
    }
    if events
        .iter()
        .skip(1)
        .any(|c| (moment.closed)(&c.event.kind))
    {
        return Err(moment.over.into());
    }
    let me = player_id(ci.user.id);
    let origin = Origin {
        source: Source::Discord,
        player: Some(me.clone()),
        interaction: Some(ci.id.to_string()),
    };
    let cmd = Command {
        by: dicebard_engine::Actor::Player(me),
        action,
    };
    coord
        .submit(campaign, cmd, origin)
        .await
        .map(|_| ())
        .map_err(|e| e.user_message())
}

/// Checks that the button's turn is still the current one, then acts for the clicker.
async fn press_turn_button(
    data: &Data,
    ci: &serenity::ComponentInteraction,
    button: render::TurnButton,
) -> String {
    let (end_turn, campaign, turn_seq) = match button {
        render::TurnButton::Turn {
            end_turn,
            campaign,
            turn_seq,
        } => (end_turn, campaign, turn_seq),
        render::TurnButton::React {
            take,
            campaign,
            window_seq,
        } => return press_reaction_button(data, ci, take, campaign, window_seq).await,
        render::TurnButton::Unbound => return TURN_OVER.into(),
        render::TurnButton::Invalid => return "That button is not valid.".into(),
    };
    let action = if end_turn {
        Action::EndTurn
    } else {
        Action::Dodge
    };
    match press_in_moment(data, ci, campaign, turn_seq, &TURN_MOMENT, action).await {
        Ok(()) => "Done.".to_string(),
        Err(answer) => answer,
    }
}

const WINDOW_CLOSED: &str = "That reaction's moment has passed.";

/// Checks that the button's reaction window is still the open one, then answers it
/// for the clicker (the engine checks that the reaction is theirs).
async fn press_reaction_button(
    data: &Data,
    ci: &serenity::ComponentInteraction,
    take: bool,
    campaign: CampaignId,
    window_seq: u64,
) -> String {
    let action = Action::React { take };
    match press_in_moment(data, ci, campaign, window_seq, &REACTION_MOMENT, action).await {
        Ok(()) if take => "Done — you react!".to_string(),
        Ok(()) => "You let it pass.".to_string(),
        Err(answer) => answer,
    }
}

/// The longest one Discord REST call may take (connecting included). A stalled connection
/// fails the call instead of freezing the presenter or command that made it.
pub const REST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The REST base for serenity's `proxy`: scheme and host, without a trailing `/api/vN`
/// (serenity appends `/api/v10` itself), so both `http://host:3000` and
/// `http://host:3000/api/v10` work.
pub fn normalize_api_base(base: &str) -> String {
    let mut b = base.trim().trim_end_matches('/');
    if let Some((head, tail)) = b.rsplit_once("/api/v")
        && !tail.is_empty()
        && tail.len() <= 3
        && tail.bytes().all(|c| c.is_ascii_digit())
    {
        b = head.trim_end_matches('/');
    } else if let Some(head) = b.strip_suffix("/api") {
        b = head.trim_end_matches('/');
    }
    b.to_string()
}

/// Nothing the bot posts pings anyone: no `@everyone`, `@here`, roles or users, whatever
/// a transcript, a name or a dice annotation contains.
pub fn no_pings() -> serenity::CreateAllowedMentions {
    serenity::CreateAllowedMentions::new()
        .empty_users()
        .empty_roles()
        .everyone(false)
        .all_users(false)
        .all_roles(false)
        .replied_user(false)
}

/// serenity's REST client: every call bounded by `timeout`, no pings by default on any
/// message the bot creates or edits, and (for tests) pointed at `api_base`.
pub fn rest_http(
    token: &str,
    api_base: Option<&str>,
    timeout: std::time::Duration,
) -> serenity::Http {
    let client = reqwest::Client::builder()
        .use_rustls_tls()
        .connect_timeout(timeout.min(std::time::Duration::from_secs(10)))
        .timeout(timeout)
        .build()
        .expect("a reqwest client with timeouts");
    let mut builder = serenity::HttpBuilder::new(token)
        .client(client)
        .default_allowed_mentions(no_pings());
    if let Some(base) = api_base {
        // Tests point the REST client at a local fake Discord. serenity's rate limiter
        // ignores the proxy (serenity#1739), so it is disabled in that mode only.
        builder = builder
            .proxy(normalize_api_base(base))
            .ratelimiter_disabled(true);
    }
    builder.build()
}

/// A campaign that could not be loaded at start-up, for a notice in its channel.
#[derive(Debug, Clone)]
pub struct Unloadable {
    pub campaign_id: CampaignId,
    pub name: String,
    pub channel_id: Option<serenity::ChannelId>,
    /// Why, in words (no secrets: it names the campaign, an event and the cause).
    pub reason: String,
}

/// Connects to Discord and serves every campaign until `shutdown` fires.
pub async fn run(
    config: &Config,
    coord: Coordinator,
    gm: GameMaster,
    feeds: Feeds,
    table: crate::table::Table,
    unloadable: Vec<Unloadable>,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let token = config
        .discord
        .token
        .as_ref()
        .context("no Discord token configured")?
        .expose()
        .to_string();
    let http = rest_http(&token, config.discord.api_base.as_deref(), REST_TIMEOUT);
    // Fail fast with a clear message when Discord (or the configured base URL) cannot be
    // reached or the token is refused; serenity itself would retry forever.
    match tokio::time::timeout(std::time::Duration::from_secs(20), http.get_current_user()).await {
        Ok(Ok(me)) => tracing::info!(bot = %me.name, "Discord token accepted"),
        Ok(Err(e)) => anyhow::bail!("could not reach Discord or the token was refused: {e}"),
        Err(_) => anyhow::bail!("could not reach Discord within 20 s"),
    }
    // (0 is no guild: commands are registered globally.)
    let guild = config.discord.guild_id.and_then(guild_id);
    let gm_role = config.discord.gm_role.clone();
    let setup_coord = coord.clone();
    let songbird = songbird::Songbird::serenity_from_config(voice::songbird_config());
    let setup_songbird = songbird.clone();
    let voice_config = config.voice.clone();
    let framework = poise::Framework::builder()
        .options(poise::FrameworkOptions {
            commands: commands::all(),
            on_error: |e| Box::pin(on_error(e)),
            allowed_mentions: Some(no_pings()),
            event_handler: |f, e| Box::pin(on_event(f, e)),
            ..Default::default()
        })
        .setup(move |ctx, ready, framework| {
            Box::pin(async move {
                tracing::info!(user = %ready.user.name, guilds = ready.guilds.len(), "connected to Discord");
                let cmds = &framework.options().commands;
                match guild {
                    Some(g) => poise::builtins::register_in_guild(ctx, cmds, g).await?,
                    None => poise::builtins::register_globally(ctx, cmds).await?,
                }
                let data = Data {
                    coord: setup_coord.clone(),
                    gm_role: gm_role.clone(),
                    gm: gm.clone(),
                    voice: voice::VoiceHub::new(
                        setup_coord.clone(),
                        gm.intent.clone(),
                        voice_config.clone(),
                        Arc::new(ctx.http.clone()),
                        Some(setup_songbird.clone()),
                    ),
                    feeds: feeds.clone(),
                    table: table.clone(),
                    http: ctx.http.clone(),
                    presenters: Mutex::new(HashSet::new()),
                };
                // Who is in the bot's voice call shows in the table's presence.
                data.voice.report_presence(table.clone(), ctx.cache.clone());
                // A campaign that could not be loaded says so in its channel (its GM and
                // players are there); the others run.
                for u in &unloadable {
                    let Some(ch) = u.channel_id else { continue };
                    let reason: String = u.reason.chars().take(300).collect();
                    let msg = serenity::CreateMessage::new()
                        .content(format!(
                            "⚠️ The campaign **{}** could not be loaded after a restart: {}. \
                             Nothing was changed; the host's log has the details.",
                            render::escape(&u.name),
                            render::escape(&reason)
                        ))
                        .allowed_mentions(no_pings());
                    if let Err(e) = ch.send_message(&ctx.http, msg).await {
                        tracing::warn!(campaign = u.campaign_id.get(), error = %e, "could not post the load failure");
                    }
                }
                // Resume every campaign bound to a channel: presenters pick up where they were.
                for row in setup_coord.store().campaigns().await? {
                    if unloadable.iter().any(|u| u.campaign_id == row.id) {
                        continue;
                    }
                    let channel = row.channel_id.and_then(channel_id);
                    if let Some(ch) = channel {
                        data.start_presenter(row.id, ch, None);
                    }
                    // The table was in voice: come back (in the background — loading the
                    // models and connecting take seconds, and poise waits for setup).
                    if let (Some(g), Some(ch), None) = (row.guild_id.and_then(guild_id), channel, row.ended_at_ms) {
                        let hub = data.voice.clone();
                        tokio::spawn(async move {
                            hub.rejoin(g, row.id, ch).await;
                        });
                    }
                }
                Ok(data)
            })
        })
        .build();
    let intents = serenity::GatewayIntents::GUILDS | serenity::GatewayIntents::GUILD_VOICE_STATES;
    let mut client = serenity::ClientBuilder::new_with_http(http, intents)
        .framework(framework)
        .register_songbird_with(songbird)
        .await
        .context("building the Discord client")?;
    let shards = client.shard_manager.clone();
    tokio::spawn(async move {
        shutdown.wait().await;
        shards.shutdown_all().await;
    });
    client.start().await.context("Discord connection")?;
    Ok(())
}

/// Entry points for the coverage-guided fuzz targets (`fuzz-bot/`) and their corpus
/// replay in the test suite. Not an API.
#[doc(hidden)]
pub mod fuzzing {
    use dicebard_engine::dice::SeededDice;
    use dicebard_engine::{Action, CampaignState, Command, Settings, Timestamp, apply, decide};
    use std::sync::Arc;

    /// What a member types into slash-command options and the character form (a
    /// modal), and what a client sends as a button's custom id: `input` is split at
    /// `|` into the fields (name, class, race, abilities, level, monsters, custom id).
    /// Parsing, the rules they reach, and rendering them back within Discord's limits
    /// must never panic.
    pub fn inputs(input: &str) {
        let mut f = input.split('|');
        let mut next = || f.next().unwrap_or("");
        let (name, class, race, abilities) = (next(), next(), next(), next());
        let level = next().trim().parse::<u8>().unwrap_or(1);
        let monsters = next();
        let custom_id = next();
        let rest = next();

        let mut s = CampaignState::new(Arc::new(dicebard_srd::catalog().clone()));
        let run = |s: &mut CampaignState, who: &str, action: Action, t: u64| {
            if let Ok(events) = decide(
                s,
                Command::player(who, action),
                &mut SeededDice::new(t),
                Timestamp(t),
            ) {
                events.iter().for_each(|e| apply(s, e));
            }
        };
        run(
            &mut s,
            "gm",
            Action::StartCampaign {
                name: name.into(),
                settings: Settings::default(),
            },
            1,
        );
        run(&mut s, "alice", Action::Join { name: name.into() }, 2);
        if let Ok(mut spec) =
            super::commands::character_spec(name, class, race, Some(abilities), level)
        {
            // The `options` option (invocations, pact boon, metamagic).
            spec.options = super::commands::class_options(Some(rest));
            assert!(spec.options.len() <= 16 && spec.options.iter().all(|o| o.len() <= 64));
            run(&mut s, "alice", Action::CreateCharacter { spec }, 3);
        }
        if let Ok(monsters) = super::commands::groups(monsters) {
            run(&mut s, "gm", Action::StartCombat { monsters }, 4);
        }
        let _ = super::render::parse_turn_button(custom_id);
        let _ = super::player_user_id(&dicebard_engine::PlayerId::new(rest));
        for text in [
            name, class, race, abilities, monsters, custom_id, rest, input,
        ] {
            let clamped =
                super::render::clamp(&super::render::escape(text), super::render::MAX_CONTENT);
            assert!(clamped.chars().count() <= super::render::MAX_CONTENT);
            for page in super::render::pack_lines(&[text.to_string(), clamped]) {
                assert!(
                    page.chars().count() <= super::render::MAX_CONTENT,
                    "a page over Discord's limit"
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Discord refuses the whole registration (every command) when one name or
    /// description is over its limit; the fake Discord checks the same limits, but only
    /// the end-to-end tests would see it. Limits: platform-facts.md.
    #[test]
    fn every_command_fits_discords_registration_limits() {
        fn walk(v: &serde_json::Value, path: &str, total: &mut usize) {
            let name = v["name"].as_str().unwrap_or_default();
            let desc = v["description"].as_str().unwrap_or_default();
            assert!(
                (1..=32).contains(&name.chars().count()),
                "{path}: name {name:?} must be 1-32 characters"
            );
            let d = desc.chars().count();
            assert!(
                (1..=100).contains(&d),
                "{path}.{name}: description is {d} characters (1-100): {desc:?}"
            );
            *total += name.chars().count() + d;
            let opts = v["options"].as_array().cloned().unwrap_or_default();
            assert!(opts.len() <= 25, "{path}.{name}: {} options", opts.len());
            for o in &opts {
                walk(o, &format!("{path}.{name}"), total);
            }
            let choices = v["choices"].as_array().cloned().unwrap_or_default();
            assert!(
                choices.len() <= 25,
                "{path}.{name}: {} choices",
                choices.len()
            );
            for c in &choices {
                let n = c["name"].as_str().unwrap_or_default();
                assert!(
                    (1..=100).contains(&n.chars().count()),
                    "{path}.{name}: choice {n:?}"
                );
                *total += n.chars().count();
            }
        }
        let cmds = poise::builtins::create_application_commands(&commands::all());
        assert!(!cmds.is_empty());
        for c in &cmds {
            let v = serde_json::to_value(c).expect("a command serializes");
            let mut total = 0;
            walk(&v, "", &mut total);
            assert!(total <= 4000, "{}: {total} characters in all", v["name"]);
        }
    }

    #[test]
    fn ids_from_outside_never_panic_and_zero_is_no_id() {
        // serenity's `UserId::new(0)` panics: a player id "discord:0" (or a stored 0)
        // must be no user at all, not a crash when a DM is sent.
        assert_eq!(player_user_id(&PlayerId::new("discord:0")), None);
        assert_eq!(player_user_id(&PlayerId::new("discord:-1")), None);
        assert_eq!(player_user_id(&PlayerId::new("discord:")), None);
        assert_eq!(player_user_id(&PlayerId::new("web:7")), None);
        assert_eq!(
            player_user_id(&PlayerId::new("discord:18446744073709551615")),
            Some(serenity::UserId::new(u64::MAX))
        );
        assert_eq!(
            player_user_id(&PlayerId::new("discord:18446744073709551616")),
            None
        );
        let u = serenity::UserId::new(42);
        assert_eq!(player_user_id(&player_id(u)), Some(u));
        assert_eq!(channel_id(0), None);
        assert_eq!(guild_id(0), None);
        assert_eq!(channel_id(9), Some(serenity::ChannelId::new(9)));
        assert_eq!(
            channel_binding(serenity::GuildId::new(1), serenity::ChannelId::new(9)),
            Binding::DiscordChannel {
                guild: 1,
                channel: 9
            }
        );
    }
}
