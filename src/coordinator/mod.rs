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
pub mod probe;
mod seed;

pub use actor::Committed;
use actor::{ActorMsg, load_actor, start_actor};
pub use commit::Committer;
pub use seed::random_seed;

use crate::clock::Clock;
pub use crate::store::CampaignId;
use crate::store::{Binding, NewCampaign, Store, StoreError};
use dicebard_engine::data::Catalog;
use dicebard_engine::{Action, CampaignState, Command, NpcOption, PlayerId, RuleError, Settings};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, oneshot, watch};

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
            SubmitError::Store(StoreError::Busy { .. }) => {
                "The database is locked by another program (is another dicebard using the same \
                 data directory?). Nothing was changed."
                    .into()
            }
            SubmitError::Store(StoreError::Full { .. }) => {
                "The game's database is full (the host's disk has no room left). Nothing was \
                 changed; try again once the host has freed some space."
                    .into()
            }
            _ => "Sorry — something went wrong on our side. Nothing was changed.".into(),
        }
    }
}

/// A boxed future, for object-safe async hooks.
pub use futures_util::future::BoxFuture;

/// What an NPC policy chose: one of the engine's options, and what the monster means
/// by it (an LLM's stated intent), which the engine records in the log for the narrator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpcChoice {
    pub option: NpcOption,
    pub intent: Option<String>,
}

impl NpcChoice {
    /// A choice with no stated intent.
    pub fn plain(option: NpcOption) -> NpcChoice {
        NpcChoice {
            option,
            intent: None,
        }
    }
}

/// Chooses what an NPC does among the engine's legal options. The campaign actor runs
/// it on a task of its own (never inside its loop) and checks the answer against the
/// turn it was asked for: a slow policy delays only that monster's turn.
pub trait NpcPolicy: Send + Sync + 'static {
    fn choose<'a>(
        &'a self,
        campaign_id: CampaignId,
        state: &'a CampaignState,
        options: &'a [NpcOption],
    ) -> BoxFuture<'a, NpcChoice>;

    /// How long the campaign actor waits for [`NpcPolicy::choose`] before playing the
    /// built-in choice. A policy with its own deadline (the LLM's
    /// `llm.decision_timeout_secs`) says so here, so the actor never cuts it shorter.
    fn decision_timeout(&self) -> Duration {
        Duration::from_secs(15)
    }
}

/// The engine's built-in tactical policy.
pub struct BuiltinPolicy;

impl NpcPolicy for BuiltinPolicy {
    fn choose<'a>(
        &'a self,
        _campaign_id: CampaignId,
        state: &'a CampaignState,
        options: &'a [NpcOption],
    ) -> BoxFuture<'a, NpcChoice> {
        Box::pin(
            async move { NpcChoice::plain(dicebard_engine::choose_npc_option(state, options)) },
        )
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
    actors: Mutex<HashMap<CampaignId, CampaignHandle>>,
    /// Set by [`Coordinator::shutdown`]: no campaign is loaded after that.
    closed: AtomicBool,
    /// Tells actor generations apart (an unloaded campaign's actor vs its successor).
    next_generation: AtomicU64,
}

/// The cheap, cloneable entry point for every front end.
/// What [`Coordinator::resume_all`] did.
#[derive(Debug, Default)]
pub struct Resumed {
    /// The campaigns now running.
    pub ok: Vec<CampaignId>,
    /// The campaigns that could not be loaded, with why; the others run regardless.
    pub failed: Vec<(crate::store::CampaignRow, SubmitError)>,
}

#[derive(Clone)]
pub struct Coordinator {
    shared: Arc<Shared>,
}

/// A live campaign actor.
#[derive(Clone)]
pub struct CampaignHandle {
    pub id: CampaignId,
    /// Which actor this is: a campaign that unloads and loads again gets a new one.
    generation: u64,
    tx: mpsc::Sender<ActorMsg>,
    events: broadcast::Sender<Arc<Committed>>,
    /// Closed (its sender dropped) when the actor task has finished.
    stopped: watch::Receiver<()>,
    /// Front-end request ids (Discord interaction ids) recently claimed or committed.
    recent: Arc<Mutex<RecentRequests>>,
    /// The last committed seq and the state after it, shared (set by the actor after
    /// each commit; read by [`Coordinator::state`] without a round trip to the actor).
    committed: Arc<Mutex<(u64, Arc<CampaignState>)>>,
}

/// How many request ids a campaign remembers (claimed in this process or found in the
/// log's latest events' origins).
pub const RECENT_REQUESTS: usize = 1024;

/// A bounded set of recent front-end request ids, oldest forgotten first.
#[derive(Default)]
pub(crate) struct RecentRequests {
    order: std::collections::VecDeque<String>,
    set: std::collections::HashSet<String>,
}

impl RecentRequests {
    /// Adds `id`; `false` if it was already there.
    pub(crate) fn insert(&mut self, id: &str) -> bool {
        if self.set.contains(id) {
            return false;
        }
        if self.order.len() >= RECENT_REQUESTS
            && let Some(old) = self.order.pop_front()
        {
            self.set.remove(&old);
        }
        self.order.push_back(id.to_string());
        self.set.insert(id.to_string());
        true
    }
}

impl CampaignHandle {
    fn alive(&self) -> bool {
        !self.tx.is_closed()
    }

    /// Waits until the actor task has finished everything it accepted.
    async fn finished(&self) {
        let mut rx = self.stopped.clone();
        while rx.changed().await.is_ok() {}
    }
}

/// A point-in-time copy of a campaign's state, for presenters.
#[derive(Clone)]
pub struct Snapshot {
    pub campaign_id: CampaignId,
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
                closed: AtomicBool::new(false),
                next_generation: AtomicU64::new(1),
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
        seed: Option<u64>,
        origin: Origin,
    ) -> Result<CampaignId, SubmitError> {
        self.create_campaign_bound(name, gm, None, seed, origin)
            .await
    }

    /// Creates a campaign seated where a front end's `binding` says (a Discord channel),
    /// written with the campaign's row in its one transaction: a seat already taken
    /// refuses the campaign and leaves nothing behind. The coordinator carries the
    /// binding to the store without reading it.
    pub async fn create_campaign_at(
        &self,
        name: &str,
        gm: &PlayerId,
        binding: Binding,
        seed: Option<u64>,
        origin: Origin,
    ) -> Result<CampaignId, SubmitError> {
        self.create_campaign_bound(name, gm, Some(binding), seed, origin)
            .await
    }

    async fn create_campaign_bound(
        &self,
        name: &str,
        gm: &PlayerId,
        binding: Option<Binding>,
        seed: Option<u64>,
        origin: Origin,
    ) -> Result<CampaignId, SubmitError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(RuleError::invalid("Campaign names must be 1 to 100 characters.").into());
        }
        let start = Command {
            by: dicebard_engine::Actor::Player(gm.clone()),
            action: Action::StartCampaign {
                name: name.to_string(),
                settings: self.shared.options.settings,
            },
        };
        // The start is decided here, exactly as the actor would decide the first command
        // (same per-command dice), and written with the campaign's row in one
        // transaction: a refused start leaves no row, and a crash or a locked database
        // never leaves a row that holds the name and channel but never started.
        let seed = seed.unwrap_or_else(random_seed);
        let events = dicebard_engine::decide(
            &CampaignState::new(self.shared.catalog.clone()),
            start,
            &mut dicebard_engine::dice::SeededDice::new(actor::mix(seed, 1)),
            self.shared.clock.now(),
        )?;
        let rows = actor::event_rows(&events, &origin)?;
        let row = self
            .shared
            .store
            .create_campaign_with(
                NewCampaign {
                    name: name.to_string(),
                    guild_id: None,
                    channel_id: None,
                    seed,
                    created_at_ms: self.shared.clock.now().0 as i64,
                }
                .bound(binding),
                &rows,
            )
            .await?;
        // Its actor starts now, so subscribers and clocks see it at once.
        self.open(row.id).await?;
        Ok(row.id)
    }

    /// The actor for a campaign, loading it from the log if needed.
    ///
    /// At most one actor runs per campaign: concurrent callers get the same one, and a
    /// campaign whose actor is unloading is loaded again only after that actor has
    /// committed everything it accepted (so the new one starts from the whole log).
    pub async fn open(&self, campaign_id: CampaignId) -> Result<CampaignHandle, SubmitError> {
        loop {
            let seen = {
                let actors = self.actors()?;
                match actors.get(&campaign_id) {
                    Some(h) if h.alive() => return Ok(h.clone()),
                    other => other.cloned(),
                }
            };
            if let Some(old) = &seen {
                old.finished().await;
            }
            let row = self
                .shared
                .store
                .campaign(campaign_id)
                .await?
                .ok_or_else(|| SubmitError::NoCampaign(campaign_id.to_string()))?;
            let loaded = load_actor(&self.shared, row).await?;
            let mut actors = self.actors()?;
            match actors.get(&campaign_id) {
                // Another task loaded it meanwhile: use that one and drop ours unstarted.
                Some(h) if h.alive() => return Ok(h.clone()),
                current if current.map(|h| h.generation) != seen.as_ref().map(|h| h.generation) => {
                    // It was loaded and unloaded again meanwhile: our copy may be stale.
                    continue;
                }
                _ => {}
            }
            let generation = self.shared.next_generation.fetch_add(1, Ordering::Relaxed);
            let handle = start_actor(self.shared.clone(), loaded, generation);
            actors.insert(campaign_id, handle.clone());
            return Ok(handle);
        }
    }

    /// The actor map, unless the coordinator has shut down.
    fn actors(
        &self,
    ) -> Result<std::sync::MutexGuard<'_, HashMap<CampaignId, CampaignHandle>>, SubmitError> {
        let actors = self.shared.actors.lock().expect("actor map poisoned");
        if self.shared.closed.load(Ordering::Acquire) {
            return Err(SubmitError::Internal(
                "the coordinator has shut down".into(),
            ));
        }
        Ok(actors)
    }

    /// Loads every active campaign so their turn clocks run (used at start-up).
    ///
    /// Each campaign is loaded on its own: one that cannot be loaded (a log written by a
    /// newer dicebard, an unreadable event, a gap) is reported in
    /// [`Resumed::failed`] and the others run. Leftovers of interrupted writes by older
    /// versions are repaired: a campaign with no events (its creation was cut short) is
    /// removed, and one whose log ends with `CampaignEnded` is marked ended. Only an
    /// unreadable campaign list is an error.
    pub async fn resume_all(&self) -> Result<Resumed, SubmitError> {
        let mut out = Resumed::default();
        for row in self.shared.store.campaigns().await? {
            let id = row.id;
            match self.shared.store.last_seq(id).await {
                Ok(0) => {
                    match self.shared.store.remove_unstarted_campaign(id).await {
                        Ok(true) => tracing::warn!(
                            campaign = id.get(),
                            "removed a campaign whose creation was interrupted (it had no events)"
                        ),
                        Ok(false) => {}
                        Err(e) => out.failed.push((row, e.into())),
                    }
                    continue;
                }
                Ok(_) => {}
                Err(e) => {
                    out.failed.push((row, e.into()));
                    continue;
                }
            }
            match self.snapshot(id).await {
                Ok(snap) => {
                    if snap.state.ended {
                        // Ended in its log but not in its row (an older dicebard wrote
                        // the two separately): finish the job.
                        let at = self.shared.clock.now().0 as i64;
                        if let Err(e) = self.shared.store.end_campaign(id, at).await {
                            out.failed.push((row, e.into()));
                        } else {
                            tracing::warn!(
                                campaign = id.get(),
                                "marked an ended campaign as ended"
                            );
                        }
                        continue;
                    }
                    out.ok.push(id);
                }
                Err(e) => {
                    tracing::error!(
                        campaign = id.get(),
                        error = %e,
                        "this campaign could not be loaded; the others run"
                    );
                    out.failed.push((row, e));
                }
            }
        }
        Ok(out)
    }

    /// Submits a command and waits until its events are committed.
    pub async fn submit(
        &self,
        campaign_id: CampaignId,
        cmd: Command,
        origin: Origin,
    ) -> Result<Vec<Arc<Committed>>, SubmitError> {
        // An actor may unload between lookup and send: retry once with a fresh one.
        for _ in 0..2 {
            let h = self.open(campaign_id).await?;
            let (tx, rx) = oneshot::channel();
            let msg = ActorMsg::Submit {
                cmd: Box::new(cmd.clone()),
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

    /// Claims a front-end request id (a Discord interaction id) for `campaign_id`:
    /// `Ok(true)` the first time, `Ok(false)` when the same request was claimed before or
    /// already committed events (found in the log's origins, so this holds across
    /// restarts). A front end claims once per request, before submitting its commands, so a
    /// request delivered twice commits once. Does not wait for the campaign's queue.
    pub async fn claim_request(
        &self,
        campaign_id: CampaignId,
        id: &str,
    ) -> Result<bool, SubmitError> {
        // Ids come from outside: bound them (Discord's are 17–20 digits).
        if id.is_empty() || id.len() > 100 {
            return Ok(true);
        }
        let h = self.open(campaign_id).await?;
        let mut recent = h.recent.lock().expect("recent requests poisoned");
        Ok(recent.insert(id))
    }

    /// A copy of the campaign's current state.
    pub async fn snapshot(&self, campaign_id: CampaignId) -> Result<Snapshot, SubmitError> {
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

    /// The campaign's last committed seq and the state after it, shared rather than
    /// copied and without waiting for the campaign's actor (which may be busy with the
    /// next command): the actor keeps one copy per command anyway (its undo), so a
    /// reader that holds this briefly (the feed, per batch) costs no copy of a big
    /// campaign. Its events up to that seq have all been published. Read-only.
    pub async fn state(
        &self,
        campaign_id: CampaignId,
    ) -> Result<(u64, Arc<CampaignState>), SubmitError> {
        let h = self.open(campaign_id).await?;
        let s = h
            .committed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        Ok(s)
    }

    /// Follows a campaign's committed events, starting after `after_seq`. Events
    /// already in the log are read from the store first; a subscriber that falls behind
    /// the live channel resyncs from the log too, so it never misses one and never
    /// slows the actor.
    pub async fn subscribe(
        &self,
        campaign_id: CampaignId,
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
        campaign_id: CampaignId,
        after_seq: u64,
    ) -> Result<Vec<Arc<Committed>>, SubmitError> {
        let rows = self.shared.store.events(campaign_id, after_seq).await?;
        rows.into_iter()
            .map(|r| Committed::from_stored(campaign_id, r).map(Arc::new))
            .collect()
    }

    /// Stops every actor (each finishes the commands it has already accepted) and
    /// refuses to load campaigns from then on. Call it before dropping the last
    /// `Coordinator`: actors hold the coordinator's shared state, so dropping the
    /// handles alone does not stop them.
    pub async fn shutdown(&self) {
        let handles: Vec<CampaignHandle> = {
            let mut actors = self.shared.actors.lock().expect("actor map poisoned");
            self.shared.closed.store(true, Ordering::Release);
            actors.drain().map(|(_, h)| h).collect()
        };
        for h in handles {
            let (tx, rx) = oneshot::channel();
            if h.tx.send(ActorMsg::Stop { done: tx }).await.is_ok() {
                let _ = rx.await;
            }
            h.finished().await;
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
    campaign_id: CampaignId,
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
                // Marked caught up only once the read is done, so a `next` cancelled
                // mid-read (in a `select!`) reads again instead of skipping events.
                if let Ok(evs) = self
                    .coordinator
                    .events_since(self.campaign_id, self.last_seq)
                    .await
                {
                    self.caught_up = true;
                    self.backlog.extend(evs);
                    continue;
                }
                self.caught_up = true;
            }
            match self.rx.recv().await {
                Ok(e) => {
                    if e.seq <= self.last_seq {
                        continue;
                    }
                    if e.seq > self.last_seq + 1 {
                        // A gap: read the missing part from the log. `e` is committed
                        // (events are published after the commit), so the read includes
                        // it; returning it first would skip the gap.
                        self.caught_up = false;
                        continue;
                    }
                    self.last_seq = e.seq;
                    return Some(e);
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::debug!(
                        campaign = self.campaign_id.get(),
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
