//! The composition root: the only place that wires the store, the coordinator and the
//! front ends together.

use crate::clock::Clock;
use crate::config::Config;
use crate::coordinator::{Coordinator, CoordinatorOptions};
use crate::feed::{FeedOptions, Feeds};
use crate::gm::GameMaster;
use crate::store::Store;
use anyhow::Context;
use dicebard_engine::Settings;
use std::sync::Arc;

/// Opens the store and builds the game master (LLM or built-in, per the config) and
/// the coordinator that uses its NPC policy.
pub async fn game(config: &Config) -> anyhow::Result<(Coordinator, GameMaster)> {
    let store = Store::open(&config.database_location())
        .await
        .context("opening the database")?;
    let clock = Clock::system();
    let gm = GameMaster::from_config(config, Some(store.clone()), clock)
        .map_err(|e| anyhow::anyhow!("the LLM game master: {e}"))?;
    let options = CoordinatorOptions {
        settings: default_settings(config),
        npc_policy: gm.npc_policy.clone(),
        ..Default::default()
    };
    let catalog = Arc::new(dicebard_srd::catalog().clone());
    Ok((Coordinator::new(store, catalog, clock, options), gm))
}

/// The table settings a new campaign starts with.
pub fn default_settings(config: &Config) -> Settings {
    Settings {
        turn_timeout_ms: config.turns.timeout_secs.saturating_mul(1000),
        turn_warning_ms: config.turns.warning_secs.saturating_mul(1000),
        reaction_timeout_ms: config.turns.reaction_secs.saturating_mul(1000),
        ..Settings::default()
    }
}

/// The table feeds every front end renders: one per campaign, started on first use and
/// stopped with [`Feeds::stop_all`] at shutdown.
pub fn feeds(coord: &Coordinator, gm: &GameMaster) -> Feeds {
    Feeds::new(coord.clone(), gm.clone(), FeedOptions::default())
}

/// The web table served beside another front end (the terminal's `--web`): bound
/// before this returns, so links made through the returned table lead somewhere; it
/// prints nothing (the terminal owns stdout) and stops when the trigger fires.
pub async fn web_beside(
    config: &Config,
    lan: bool,
    coord: &Coordinator,
    feeds: &Feeds,
    gm: &GameMaster,
) -> anyhow::Result<(
    crate::table::Table,
    (
        crate::shutdown::ShutdownTrigger,
        tokio::task::JoinHandle<()>,
    ),
)> {
    let table = crate::table::Table::new(coord.clone());
    let bound = crate::web::bind(config, lan).await?;
    table.set_base_url(&bound.base);
    let (trigger, stop) = crate::shutdown::channel();
    let options = crate::web::ServeOptions {
        create_campaign: false,
        quiet: true,
    };
    let task = tokio::spawn({
        let (table, feeds, gm) = (table.clone(), feeds.clone(), gm.clone());
        async move {
            if let Err(e) = crate::web::serve_bound(bound, table, feeds, gm, options, async move {
                stop.wait().await
            })
            .await
            {
                tracing::warn!(error = %e, "the web table stopped");
            }
        }
    });
    Ok((table, (trigger, task)))
}

/// `dicebard run`: every campaign resumed, then the front ends on one coordinator and
/// one set of table feeds: the web table alone when no Discord token is configured,
/// else Discord and the web table side by side (a web table that cannot listen then
/// only warns). One shutdown signal (ctrl-c or SIGTERM) stops them all.
pub async fn run_bot(config: &Config, lan: bool) -> anyhow::Result<()> {
    let (coord, gm) = game(config).await?;
    let resumed = coord
        .resume_all()
        .await
        .map_err(|e| anyhow::anyhow!("resuming campaigns: {e}"))?;
    for (row, e) in &resumed.failed {
        tracing::error!(
            campaign = row.id.get(),
            name = %row.name,
            error = %e,
            "campaign not loaded; the other campaigns run"
        );
    }
    tracing::info!(
        campaigns = resumed.ok.len(),
        failed = resumed.failed.len(),
        "campaigns resumed"
    );
    let (trigger, shutdown) = crate::shutdown::channel();
    let signals = trigger.on_os_signals();
    let feeds = feeds(&coord, &gm);
    // Links, kicks and presence: one door for every front end.
    let table = crate::table::Table::new(coord.clone());
    if config.discord.token.is_none() {
        let stop = shutdown.clone();
        let res = crate::web::serve(
            config,
            lan,
            table,
            feeds.clone(),
            gm,
            crate::web::ServeOptions {
                create_campaign: true,
                quiet: false,
            },
            async move { stop.wait().await },
        )
        .await;
        signals.abort();
        feeds.stop_all().await;
        coord.shutdown().await;
        return res;
    }
    let web = {
        let (config, table, feeds, gm) = (config.clone(), table.clone(), feeds.clone(), gm.clone());
        let stop = shutdown.clone();
        tokio::spawn(async move {
            let options = crate::web::ServeOptions::default();
            if let Err(e) = crate::web::serve(&config, lan, table, feeds, gm, options, async move {
                stop.wait().await
            })
            .await
            {
                tracing::warn!(error = %e, "the web table is not running; Discord runs");
            }
        })
    };
    let unloadable = resumed
        .failed
        .iter()
        .map(|(row, e)| crate::discord::Unloadable {
            campaign_id: row.id,
            name: row.name.clone(),
            channel_id: row.channel_id.and_then(crate::discord::channel_id),
            reason: e.to_string(),
        })
        .collect();
    let res = crate::discord::run(
        config,
        coord.clone(),
        gm,
        feeds.clone(),
        table,
        unloadable,
        shutdown,
    )
    .await;
    signals.abort();
    web.abort();
    feeds.stop_all().await;
    coord.shutdown().await;
    res
}
