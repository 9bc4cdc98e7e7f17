//! The coordinator: one async actor per active campaign. It alone owns a campaign's
//! state; front ends talk to it through a cheap [`Coordinator`] handle (commands in over
//! a bounded channel, committed events out over a broadcast channel).
//!
//! For every command: `engine::decide` → append the events to the store in one
//! transaction (group-committed across campaigns) → `apply` → publish. The sender's
//! reply comes only after the commit, so an acknowledged action is never lost. The
//! actor sleeps until `engine::next_deadline` and ticks the turn clock itself, and it
//! plays NPC turns through an [`NpcPolicy`]. This module must not know about Discord,
//! voice or the web: it speaks engine commands and events only.

mod actor;
mod commit;

pub use actor::Committed;
use actor::{ActorMsg, spawn_actor};
pub use commit::Committer;

use crate::clock::Clock;
use crate::store::{NewCampaign, Store, StoreError};
use dicebard_engine::data::Catalog;
use dicebard_engine::{Action, CampaignState, Command, NpcOption, PlayerId, RuleError, Settings};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, oneshot};

/// Where a command came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Discord,
    Voice,
    Web,
    Terminal,
    System,
}

/// Who sent a command and from where, stored with its events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    pub source: Source,
    pub player: Option<PlayerId>,
    /// The front end's id for the request (a Discord interaction id, a web request id).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub interaction: Option<String>,
}

impl Origin {
    pub fn new(source: Source, player: &PlayerId) -> Origin {
        Origin {
            source,
            player: Some(player.clone()),
            interaction: None,
        }
    }

    pub fn system() -> Origin {
        Origin {
            source: Source::System,
            player: None,
            interaction: None,
        }
    }
}

/// Why a command did not go through.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// The rules refused it; the message is for the player.
    #[error("{0}")]
    Rule(#[from] RuleError),
    /// The campaign does not exist.
    #[error("no campaign {0}")]
    NoCampaign(String),
    /// The campaign is too busy (its queue is full); try again.
    #[error("the table is busy — try again in a moment")]
    Busy,
    /// Storage failed: nothing was committed.
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    /// Something else went wrong inside.
    #[error("{0}")]
    Internal(String),
}

impl SubmitError {
    /// A message fit for the user: rule errors verbatim, internal ones as an apology.
    pub fn user_message(&self) -> String {
        match self {
            SubmitError::Rule(e) => e.to_string(),
            SubmitError::NoCampaign(_) => "There is no campaign here.".into(),
            SubmitError::Busy => self.to_string(),
            _ => "Sorry — something went wrong on our side. Nothing was changed.".into(),
        }
    }
}

/// A boxed future, for object-safe async hooks.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Chooses what an NPC does among the engine's legal options.
pub trait NpcPolicy: Send + Sync + 'static {
    fn choose<'a>(
        &'a self,
        state: &'a CampaignState,
        options: &'a [NpcOption],
    ) -> BoxFuture<'a, NpcOption>;
}

/// The engine's built-in tactical policy.
pub struct BuiltinPolicy;

impl NpcPolicy for BuiltinPolicy {
    fn choose<'a>(
        &'a self,
        state: &'a CampaignState,
        options: &'a [NpcOption],
    ) -> BoxFuture<'a, NpcOption> {
        Box::pin(async move { dicebard_engine::choose_npc_option(state, options) })
    }
}

/// Tunables.
#[derive(Clone)]
pub struct CoordinatorOptions {
    /// Default settings for new campaigns.
    pub settings: Settings,
    /// Unload a campaign's actor after this long with no commands, no subscribers and no
    /// running turn clock.
    pub idle_unload: Duration,
    /// Write a state snapshot every this many events.
    pub snapshot_every: u64,
    /// Queue length per campaign.
    pub queue: usize,
    pub npc_policy: Arc<dyn NpcPolicy>,
}

impl Default for CoordinatorOptions {
    fn default() -> Self {
        CoordinatorOptions {
            settings: Settings::default(),
            idle_unload: Duration::from_secs(600),
            snapshot_every: 1_000,
            queue: 256,
            npc_policy: Arc::new(BuiltinPolicy),
        }
    }
}

pub(crate) struct Shared {
    pub store: Store,
    pub catalog: Arc<Catalog>,
    pub clock: Clock,
    pub options: CoordinatorOptions,
    pub committer: Committer,
    actors: Mutex<HashMap<i64, CampaignHandle>>,
}

/// The cheap, cloneable entry point for every front end.
#[derive(Clone)]
pub struct Coordinator {
    shared: Arc<Shared>,
}

/// A live campaign actor.
#[derive(Clone)]
pub struct CampaignHandle {
    pub id: i64,
    tx: mpsc::Sender<ActorMsg>,
    events: broadcast::Sender<Arc<Committed>>,
}

impl CampaignHandle {
    fn alive(&self) -> bool {
        !self.tx.is_closed()
    }
}

/// A point-in-time copy of a campaign's state, for presenters.
#[derive(Clone)]
pub struct Snapshot {
    pub campaign_id: i64,
    /// The last committed sequence number.
    pub seq: u64,
    pub state: CampaignState,
}

impl Coordinator {
    pub fn new(
        store: Store,
        catalog: Arc<Catalog>,
        clock: Clock,
        options: CoordinatorOptions,
    ) -> Self {
        let committer = Committer::spawn(store.clone());
        Coordinator {
            shared: Arc::new(Shared {
                store,
                catalog,
                clock,
                options,
                committer,
                actors: Mutex::new(HashMap::new()),
            }),
        }
    }

    pub fn store(&self) -> &Store {
        &self.shared.store
    }

    pub fn clock(&self) -> Clock {
        self.shared.clock
    }

    pub fn catalog(&self) -> &Arc<Catalog> {
        &self.shared.catalog
    }

    /// Creates a campaign and starts it with `gm` as its GM.
    pub async fn create_campaign(
        &self,
        name: &str,
        gm: &PlayerId,
        place: Option<(u64, u64)>,
        seed: Option<u64>,
        origin: Origin,
    ) -> Result<i64, SubmitError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(RuleError::invalid("Campaign names must be 1 to 100 characters.").into());
        }
        let row = self
            .shared
            .store
            .create_campaign(NewCampaign {
                name: name.to_string(),
                guild_id: place.map(|p| p.0),
                channel_id: place.map(|p| p.1),
                seed: seed.unwrap_or_else(crate::cli::random_seed),
                created_at_ms: self.shared.clock.now().0 as i64,
            })
            .await?;
        self.submit(
            row.id,
            Command {
                by: dicebard_engine::Actor::Player(gm.clone()),
                action: Action::StartCampaign {
                    name: name.to_string(),
                    settings: self.shared.options.settings,
                },
            },
            origin,
        )
        .await?;
        Ok(row.id)
    }

    /// The actor for a campaign, loading it from the log if needed.
    pub async fn open(&self, campaign_id: i64) -> Result<CampaignHandle, SubmitError> {
        if let Some(h) = self.live(campaign_id) {
            return Ok(h);
        }
        let row = self
            .shared
            .store
            .campaign(campaign_id)
            .await?
            .ok_or_else(|| SubmitError::NoCampaign(campaign_id.to_string()))?;
        let handle = spawn_actor(self.shared.clone(), row).await?;
        let mut actors = self.shared.actors.lock().expect("actor map poisoned");
        // Another task may have loaded it meanwhile: keep the first.
        if let Some(h) = actors.get(&campaign_id).filter(|h| h.alive()) {
            return Ok(h.clone());
        }
        actors.insert(campaign_id, handle.clone());
        Ok(handle)
    }

    fn live(&self, campaign_id: i64) -> Option<CampaignHandle> {
        let actors = self.shared.actors.lock().expect("actor map poisoned");
        actors.get(&campaign_id).filter(|h| h.alive()).cloned()
    }

    /// Loads every active campaign so their turn clocks run (used at start-up).
    pub async fn resume_all(&self) -> Result<Vec<i64>, SubmitError> {
        let mut ids = Vec::new();
        for row in self.shared.store.campaigns().await? {
            self.open(row.id).await?;
            ids.push(row.id);
        }
        Ok(ids)
    }

    /// Submits a command and waits until its events are committed.
    pub async fn submit(
        &self,
        campaign_id: i64,
        cmd: Command,
        origin: Origin,
    ) -> Result<Vec<Arc<Committed>>, SubmitError> {
        // An actor may unload between lookup and send: retry once with a fresh one.
        for _ in 0..2 {
            let h = self.open(campaign_id).await?;
            let (tx, rx) = oneshot::channel();
            let msg = ActorMsg::Submit {
                cmd: cmd.clone(),
                origin: origin.clone(),
                reply: tx,
            };
            match h.tx.try_send(msg) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(msg)) => {
                    // Wait for room rather than fail: the queue is bounded, so this is
                    // back-pressure, not unbounded growth.
                    if h.tx.send(msg).await.is_err() {
                        continue;
                    }
                }
                Err(mpsc::error::TrySendError::Closed(_)) => continue,
            }
            return match rx.await {
                Ok(r) => r,
                Err(_) => Err(SubmitError::Internal("the campaign stopped".into())),
            };
        }
        Err(SubmitError::Internal(
            "the campaign could not be loaded".into(),
        ))
    }

    /// A copy of the campaign's current state.
    pub async fn snapshot(&self, campaign_id: i64) -> Result<Snapshot, SubmitError> {
        for _ in 0..2 {
            let h = self.open(campaign_id).await?;
            let (tx, rx) = oneshot::channel();
            if h.tx.send(ActorMsg::Snapshot { reply: tx }).await.is_err() {
                continue;
            }
            if let Ok(s) = rx.await {
                return Ok(s);
            }
        }
        Err(SubmitError::Internal(
            "the campaign could not be loaded".into(),
        ))
    }

    /// Follows a campaign's committed events, starting after `after_seq`. Events
    /// already in the log are read from the store first; a subscriber that falls behind
    /// the live channel resyncs from the log too, so it never misses one and never
    /// slows the actor.
    pub async fn subscribe(
        &self,
        campaign_id: i64,
        after_seq: u64,
    ) -> Result<Subscription, SubmitError> {
        let h = self.open(campaign_id).await?;
        let rx = h.events.subscribe();
        Ok(Subscription {
            coordinator: self.clone(),
            campaign_id,
            rx,
            last_seq: after_seq,
            backlog: std::collections::VecDeque::new(),
            caught_up: false,
        })
    }

    /// Committed events after `after_seq`, from the log.
    pub async fn events_since(
        &self,
        campaign_id: i64,
        after_seq: u64,
    ) -> Result<Vec<Arc<Committed>>, SubmitError> {
        let rows = self.shared.store.events(campaign_id, after_seq).await?;
        rows.into_iter()
            .map(|r| Committed::from_stored(campaign_id, r).map(Arc::new))
            .collect()
    }

    /// Stops every actor (they finish the command in hand first).
    pub async fn shutdown(&self) {
        let handles: Vec<CampaignHandle> = {
            let mut actors = self.shared.actors.lock().expect("actor map poisoned");
            actors.drain().map(|(_, h)| h).collect()
        };
        for h in handles {
            let (tx, rx) = oneshot::channel();
            if h.tx.send(ActorMsg::Stop { done: tx }).await.is_ok() {
                let _ = rx.await;
            }
        }
    }

    /// How many campaign actors are loaded.
    pub fn loaded(&self) -> usize {
        let actors = self.shared.actors.lock().expect("actor map poisoned");
        actors.values().filter(|h| h.alive()).count()
    }
}

/// A gap-free stream of one campaign's committed events.
pub struct Subscription {
    coordinator: Coordinator,
    campaign_id: i64,
    rx: broadcast::Receiver<Arc<Committed>>,
    last_seq: u64,
    backlog: std::collections::VecDeque<Arc<Committed>>,
    caught_up: bool,
}

impl Subscription {
    /// The next event, in sequence order. `None` when the campaign's actor stopped.
    pub async fn next(&mut self) -> Option<Arc<Committed>> {
        loop {
            if let Some(e) = self.backlog.pop_front() {
                if e.seq > self.last_seq {
                    self.last_seq = e.seq;
                    return Some(e);
                }
                continue;
            }
            if !self.caught_up {
                self.caught_up = true;
                if let Ok(evs) = self
                    .coordinator
                    .events_since(self.campaign_id, self.last_seq)
                    .await
                {
                    self.backlog.extend(evs);
                    continue;
                }
            }
            match self.rx.recv().await {
                Ok(e) => {
                    if e.seq <= self.last_seq {
                        continue;
                    }
                    if e.seq > self.last_seq + 1 {
                        // A gap: read the missing part from the log.
                        self.backlog.push_back(e);
                        self.caught_up = false;
                        continue;
                    }
                    self.last_seq = e.seq;
                    return Some(e);
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::debug!(
                        campaign = self.campaign_id,
                        skipped = n,
                        "subscriber lagged; resyncing from the log"
                    );
                    self.caught_up = false;
                }
                Err(broadcast::error::RecvError::Closed) => {
                    // The actor unloaded; reattach (loading it again) and carry on.
                    match self.coordinator.open(self.campaign_id).await {
                        Ok(h) => {
                            self.rx = h.events.subscribe();
                            self.caught_up = false;
                        }
                        Err(_) => return None,
                    }
                }
            }
        }
    }

    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }
}
