//! One campaign's actor task: the only owner of that campaign's state.

use super::{
    CampaignHandle, NpcChoice, Origin, RECENT_REQUESTS, RecentRequests, Shared, Snapshot,
    SubmitError,
};
use crate::store::{CampaignId, CampaignRow, NewEvent, StoreError, StoredEvent};
use dicebard_engine::dice::SeededDice;
use dicebard_engine::{
    Action, Actor as By, CampaignState, Command, CreatureId, EVENT_VERSION, Event, EventKind,
    NpcOption, apply, decide, next_deadline, npc_options,
};
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::time::{Instant, sleep_until};
use tracing::Instrument;

/// An event as committed to a campaign's log.
#[derive(Debug, Clone, PartialEq)]
pub struct Committed {
    pub campaign_id: CampaignId,
    pub seq: u64,
    pub event: Event,
    pub origin: Origin,
}

impl Committed {
    pub(crate) fn from_stored(
        campaign_id: CampaignId,
        r: StoredEvent,
    ) -> Result<Committed, SubmitError> {
        let event = parse_event(campaign_id, r.seq, &r.body)?;
        let origin = serde_json::from_str(&r.origin).unwrap_or_else(|_| Origin::system());
        Ok(Committed {
            campaign_id,
            seq: r.seq,
            event,
            origin,
        })
    }
}

fn parse_event(campaign_id: CampaignId, seq: u64, body: &str) -> Result<Event, SubmitError> {
    // Check the version before the shape, so a newer log gets the right message.
    let v = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|j| j.get("v").and_then(|v| v.as_u64()))
        .unwrap_or(0);
    if v > u64::from(EVENT_VERSION) {
        return Err(SubmitError::Internal(format!(
            "campaign {campaign_id} event {seq} was written by a newer dicebard (event version {v}, this one reads up to {EVENT_VERSION}); upgrade dicebard"
        )));
    }
    serde_json::from_str(body).map_err(|e| {
        SubmitError::Internal(format!(
            "campaign {campaign_id} event {seq} is unreadable: {e}"
        ))
    })
}

/// What a submitted command comes to: its committed events, or why not.
pub(crate) type Outcome = Result<Vec<Arc<Committed>>, SubmitError>;

pub(crate) enum ActorMsg {
    Submit {
        // Boxed: commands are far larger than the other messages.
        cmd: Box<Command>,
        origin: Origin,
        reply: oneshot::Sender<Outcome>,
    },
    Snapshot {
        reply: oneshot::Sender<Snapshot>,
    },
    Stop {
        done: oneshot::Sender<()>,
    },
}

struct Actor {
    shared: Arc<Shared>,
    id: CampaignId,
    generation: u64,
    seed: u64,
    /// Applying an event copies it only while someone else holds it: the staged
    /// undo, and `committed` (the committed state shared with readers).
    state: Arc<CampaignState>,
    /// The last committed seq and state, for [`crate::coordinator::Coordinator::state`].
    committed: Arc<Mutex<(u64, Arc<CampaignState>)>>,
    next_seq: u64,
    since_snapshot: u64,
    events: broadcast::Sender<Arc<Committed>>,
    staged: Staged,
    /// Request ids of committed commands (shared with the handle's claims).
    recent: Arc<Mutex<RecentRequests>>,
    /// The NPC decision being made on a task of its own, if any.
    npc: Option<NpcAsk>,
    /// Where NPC decisions come back (the receiving end is the actor loop's).
    npc_tx: mpsc::Sender<NpcAnswer>,
    /// Numbers the NPC decisions asked for, so an old answer is never taken for a new one.
    npc_asked: u64,
    /// NPC turns played since the last command: a bound against a fight that never
    /// comes back to a player.
    npc_steps: u32,
    /// The NPC could not act (nor pass) at this seq: not asked again until the log moves.
    npc_stuck_at: Option<u64>,
    /// Players' commands that came while an NPC's decision was being made: handled, in
    /// order, once the monster has acted (as if it had acted at once).
    deferred: VecDeque<ActorMsg>,
    /// Stopping: no more NPC decisions are asked for.
    stopping: bool,
}

/// The turn an NPC decision was asked for: the answer is played only on that turn.
type TurnKey = (u32, usize, CreatureId);

/// An NPC decision in progress.
struct NpcAsk {
    id: u64,
    task: tokio::task::JoinHandle<()>,
}

/// An NPC decision, back from its task.
struct NpcAnswer {
    id: u64,
    turn: TurnKey,
    choice: NpcChoice,
}

/// The NPC turns played in a row, without a command in between, before the actor stops
/// driving them until the next command.
const MAX_NPC_STEPS: u32 = 200;

/// The store rows for a command's events.
pub(crate) fn event_rows(events: &[Event], origin: &Origin) -> Result<Vec<NewEvent>, SubmitError> {
    let origin_json = serde_json::to_string(origin).unwrap_or_else(|_| "{}".into());
    events
        .iter()
        .map(|e| {
            Ok(NewEvent {
                at_ms: e.at.0 as i64,
                visibility: e.visibility.key(),
                kind: e.kind_name().to_string(),
                body: serde_json::to_string(e)
                    .map_err(|err| SubmitError::Internal(format!("event encoding: {err}")))?,
                origin: origin_json.clone(),
            })
        })
        .collect()
}

/// Splits a campaign seed into a per-command seed: deterministic, restart-safe.
pub(crate) fn mix(seed: u64, seq: u64) -> u64 {
    let mut z = seed ^ seq.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Rebuilds a campaign's state from its latest snapshot and the events after it.
pub(crate) async fn load_state(
    shared: &Shared,
    campaign_id: CampaignId,
) -> Result<(CampaignState, u64), SubmitError> {
    let mut state = CampaignState::new(shared.catalog.clone());
    let mut seq = 0;
    if let Some(snap) = shared.store.latest_snapshot(campaign_id).await? {
        match serde_json::from_str::<CampaignState>(&snap.state_json) {
            Ok(mut s) => {
                s.catalog = shared.catalog.clone();
                state = s;
                seq = snap.seq;
            }
            Err(e) => {
                tracing::warn!(campaign = campaign_id.get(), error = %e, "snapshot unreadable; replaying the whole log");
            }
        }
    }
    for r in shared.store.events(campaign_id, seq).await? {
        if r.seq != seq + 1 {
            return Err(SubmitError::Internal(format!(
                "campaign {campaign_id}: event log has a gap after {seq}"
            )));
        }
        let e = parse_event(campaign_id, r.seq, &r.body)?;
        apply(&mut state, &e);
        seq = r.seq;
    }
    Ok((state, seq))
}

/// A campaign read from the log, ready to become an actor.
pub(crate) struct Loaded {
    row: CampaignRow,
    state: CampaignState,
    last_seq: u64,
    recent: RecentRequests,
}

/// Rebuilds a campaign's state for a new actor (without starting it).
pub(crate) async fn load_actor(shared: &Shared, row: CampaignRow) -> Result<Loaded, SubmitError> {
    let started = Instant::now();
    let (state, last_seq) = load_state(shared, row.id).await?;
    // The request ids of the latest commands, so a request delivered again after a
    // restart is still recognised.
    let mut recent = RecentRequests::default();
    let from = last_seq.saturating_sub(RECENT_REQUESTS as u64);
    for r in shared.store.events(row.id, from).await? {
        if let Ok(origin) = serde_json::from_str::<Origin>(&r.origin)
            && let Some(id) = origin.interaction.as_deref()
            && id.len() <= 100
        {
            recent.insert(id);
        }
    }
    tracing::info!(
        campaign = row.id.get(),
        events = last_seq,
        load_ms = started.elapsed().as_millis() as u64,
        "campaign loaded"
    );
    Ok(Loaded {
        row,
        state,
        last_seq,
        recent,
    })
}

/// Starts the actor task for a loaded campaign.
pub(crate) fn start_actor(shared: Arc<Shared>, loaded: Loaded, generation: u64) -> CampaignHandle {
    let Loaded {
        row,
        state,
        last_seq,
        recent,
    } = loaded;
    let recent = Arc::new(Mutex::new(recent));
    let state = Arc::new(state);
    let committed = Arc::new(Mutex::new((last_seq, state.clone())));
    let (tx, rx) = mpsc::channel(shared.options.queue);
    let (events, _) = broadcast::channel(1024);
    let (stopped_tx, stopped) = watch::channel(());
    let (npc_tx, npc_rx) = mpsc::channel(4);
    let actor = Actor {
        shared,
        id: row.id,
        generation,
        seed: row.seed,
        state,
        committed: committed.clone(),
        next_seq: last_seq + 1,
        since_snapshot: 0,
        events: events.clone(),
        staged: Staged::default(),
        recent: recent.clone(),
        npc: None,
        npc_tx,
        npc_asked: 0,
        npc_steps: 0,
        npc_stuck_at: None,
        deferred: VecDeque::new(),
        stopping: false,
    };
    let span = tracing::info_span!("campaign", campaign = row.id.get());
    tokio::spawn(
        async move {
            actor.run(rx, npc_rx).await;
            // Dropped last, when everything the actor accepted is done.
            drop(stopped_tx);
        }
        .instrument(span),
    );
    CampaignHandle {
        id: row.id,
        generation,
        tx,
        events,
        stopped,
        recent,
        committed,
    }
}

/// The most commands of one campaign folded into one commit.
const MAX_STAGED_COMMANDS: usize = 64;

/// Events decided and applied to the actor's state but not yet committed. Only
/// [`Actor::flush`] publishes them (or rolls the state back); nothing outside the actor
/// ever sees staged state.
#[derive(Default)]
struct Staged {
    first_seq: u64,
    rows: Vec<NewEvent>,
    events: Vec<Arc<Committed>>,
    ended: bool,
    /// The state and next seq before the first staged command.
    undo: Option<(Arc<CampaignState>, u64)>,
}

impl Actor {
    async fn run(
        mut self,
        mut rx: mpsc::Receiver<ActorMsg>,
        mut npc_rx: mpsc::Receiver<NpcAnswer>,
    ) {
        // Coming back after a restart: give the active player the time they had left,
        // and let a monster whose turn it was act.
        if self
            .state
            .combat
            .as_ref()
            .is_some_and(|c| c.deadline.is_some())
            && let Err(e) = self
                .execute(Command::system(Action::ResumeClock), Origin::system())
                .await
        {
            tracing::error!(error = %e, "could not resume the turn clock");
        }
        self.ask_npc();

        let idle = self.shared.options.idle_unload;
        let mut last_activity = Instant::now();
        let mut tick_backoff: Option<Instant> = None;
        loop {
            let wake = next_deadline(&self.state).map(|t| {
                let at = self.shared.clock.instant_at(t);
                tick_backoff.map_or(at, |b| at.max(b))
            });
            let room = self.deferred.len() < self.shared.options.queue.max(1);
            tokio::select! {
                biased;
                Some(answer) = npc_rx.recv() => {
                    last_activity = Instant::now();
                    self.npc_answered(answer).await;
                    if let Some(done) = self.run_deferred(&mut rx).await {
                        self.stop(&mut rx, done).await;
                        return;
                    }
                }
                msg = rx.recv(), if room => {
                    last_activity = Instant::now();
                    let Some(msg) = msg else { break };
                    if let Some(done) = self.process(msg, &mut rx).await {
                        self.stop(&mut rx, done).await;
                        return;
                    }
                }
                _ = sleep_until(wake.unwrap_or_else(Instant::now)), if wake.is_some() => {
                    match self.execute(Command::system(Action::Tick), Origin::system()).await {
                        Ok(evs) if evs.is_empty() => {
                            // Nothing was due after all (clock rounding): don't spin.
                            tick_backoff = Some(Instant::now() + Duration::from_millis(50));
                        }
                        Ok(_) => tick_backoff = None,
                        Err(e) => {
                            tracing::error!(error = %e, "turn clock tick failed");
                            tick_backoff = Some(Instant::now() + Duration::from_secs(1));
                        }
                    }
                    self.ask_npc();
                }
                _ = sleep_until(last_activity + idle) => {
                    let busy = self.events.receiver_count() > 0
                        || next_deadline(&self.state).is_some()
                        || self.npc.is_some()
                        || !self.deferred.is_empty();
                    if busy {
                        last_activity = Instant::now();
                        continue;
                    }
                    // Unload: refuse new messages, finish the queued ones, exit.
                    self.drain(&mut rx).await;
                    // Forget our handle (and its buffered events) unless a successor
                    // has already taken our place.
                    let mut actors = self.shared.actors.lock().expect("actor map poisoned");
                    if actors.get(&self.id).is_some_and(|h| h.generation == self.generation) {
                        actors.remove(&self.id);
                    }
                    drop(actors);
                    tracing::info!("campaign idle; unloaded");
                    return;
                }
            }
        }
    }

    /// Stops: the NPC decision in progress is dropped (the monster acts when the
    /// campaign is loaded again), the commands waiting are handled, then `done`.
    async fn stop(&mut self, rx: &mut mpsc::Receiver<ActorMsg>, done: oneshot::Sender<()>) {
        self.drain(rx).await;
        let _ = done.send(());
    }

    /// Refuses new messages and handles the ones already queued (and deferred).
    async fn drain(&mut self, rx: &mut mpsc::Receiver<ActorMsg>) {
        self.stopping = true;
        if let Some(ask) = self.npc.take() {
            ask.task.abort();
        }
        rx.close();
        loop {
            let m = match self.deferred.pop_front() {
                Some(m) => m,
                None => match rx.try_recv() {
                    Ok(m) => m,
                    Err(_) => break,
                },
            };
            if let Some(done) = self.process(m, rx).await {
                let _ = done.send(());
            }
        }
    }

    /// Handles the commands deferred behind an NPC decision, while no decision is being
    /// made. Returns the sender to answer if a `Stop` came up.
    async fn run_deferred(
        &mut self,
        rx: &mut mpsc::Receiver<ActorMsg>,
    ) -> Option<oneshot::Sender<()>> {
        while self.npc.is_none() {
            let m = self.deferred.pop_front()?;
            if let Some(done) = self.process(m, rx).await {
                return Some(done);
            }
        }
        None
    }

    /// Whether `cmd` goes ahead of an NPC decision in progress: the GM's and the
    /// system's commands do (a slow LLM never blocks the GM); a player's waits for the
    /// monster to act, as it would have if the monster had acted at once.
    fn jumps_npc_queue(&self, cmd: &Command) -> bool {
        match &cmd.by {
            By::Player(p) => self.state.is_gm(p),
            _ => true,
        }
    }

    /// Handles `msg` (and the commands queued behind it, see [`Actor::submit_batch`]).
    /// Returns the sender to answer if a `Stop` came up.
    async fn process(
        &mut self,
        mut msg: ActorMsg,
        rx: &mut mpsc::Receiver<ActorMsg>,
    ) -> Option<oneshot::Sender<()>> {
        loop {
            match msg {
                ActorMsg::Stop { done } => return Some(done),
                ActorMsg::Snapshot { reply } => {
                    let _ = reply.send(Snapshot {
                        campaign_id: self.id,
                        seq: self.next_seq - 1,
                        state: (*self.state).clone(),
                    });
                    return None;
                }
                ActorMsg::Submit { cmd, origin, reply }
                    if self.npc.is_some() && !self.jumps_npc_queue(&cmd) =>
                {
                    self.deferred
                        .push_back(ActorMsg::Submit { cmd, origin, reply });
                    return None;
                }
                ActorMsg::Submit { cmd, origin, reply } => {
                    self.npc_steps = 0;
                    let next = self.submit_batch(cmd, origin, reply, rx).await;
                    self.ask_npc();
                    match next {
                        Some(m) => msg = m,
                        None => return None,
                    }
                }
            }
        }
    }

    /// Group commit within a campaign: decides this command and the commands already
    /// queued behind it one after another (each against the state the previous ones
    /// left), commits all their events in one append, then answers each sender. The
    /// outcome is the same as handling them one by one, but one fsync covers them all.
    ///
    /// The batch stops where handling one by one would have done something in
    /// between: when an NPC is up (its turn is played before the next command), when
    /// the campaign ended, or at a message that is not a command (returned, to be
    /// handled after the commit).
    async fn submit_batch(
        &mut self,
        cmd: Box<Command>,
        origin: Origin,
        reply: oneshot::Sender<Outcome>,
        rx: &mut mpsc::Receiver<ActorMsg>,
    ) -> Option<ActorMsg> {
        let mut answers: Vec<(oneshot::Sender<Outcome>, Outcome)> = Vec::new();
        let mut next = Some((cmd, origin, reply));
        let mut deferred = None;
        while let Some((cmd, origin, reply)) = next.take() {
            let span = tracing::info_span!(
                "command",
                player = origin.player.as_ref().map(|p| p.as_str()).unwrap_or("system"),
                interaction = origin.interaction.as_deref().unwrap_or(""),
                source = ?origin.source,
            );
            let res = span.in_scope(|| self.stage(*cmd, origin));
            answers.push((reply, res));
            if answers.len() >= MAX_STAGED_COMMANDS
                || self.staged.ended
                || !npc_options(&self.state).is_empty()
            {
                break;
            }
            if self.npc.is_some() {
                // A player's command behind it would wait for the monster: one at a time.
                break;
            }
            match rx.try_recv() {
                Ok(ActorMsg::Submit { cmd, origin, reply }) => next = Some((cmd, origin, reply)),
                Ok(other) => deferred = Some(other),
                Err(_) => {}
            }
        }
        match self.flush().await {
            Ok(()) => {
                for (reply, res) in answers {
                    let _ = reply.send(res);
                }
            }
            Err(e) => {
                // Nothing was committed: every command that had events fails with the
                // storage error. Refusals stand (they wrote nothing either way).
                let mut first = Some(e);
                let again = first.as_ref().map(same_failure);
                for (reply, res) in answers {
                    let res = match res {
                        Ok(evs) if !evs.is_empty() => Err(first
                            .take()
                            .or_else(|| again.as_ref().map(|f| f()))
                            .expect("an error")),
                        other => other,
                    };
                    let _ = reply.send(res);
                }
            }
        }
        deferred
    }

    /// decide → commit → apply → publish, for one command.
    async fn execute(
        &mut self,
        cmd: Command,
        origin: Origin,
    ) -> Result<Vec<Arc<Committed>>, SubmitError> {
        let out = self.stage(cmd, origin)?;
        self.flush().await?;
        Ok(out)
    }

    /// Decides a command against the current (possibly staged) state and applies its
    /// events, staging them for [`Actor::flush`]. A refused command changes nothing.
    fn stage(&mut self, cmd: Command, origin: Origin) -> Result<Vec<Arc<Committed>>, SubmitError> {
        let now = self.shared.clock.now();
        let mut dice = SeededDice::new(mix(self.seed, self.next_seq));
        let events = decide(&self.state, cmd, &mut dice, now)?;
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let rows = event_rows(&events, &origin)?;
        if self.staged.undo.is_none() {
            self.staged.undo = Some((self.state.clone(), self.next_seq));
            self.staged.first_seq = self.next_seq;
        }
        let first = self.next_seq;
        let mut out = Vec::with_capacity(events.len());
        for (i, e) in events.into_iter().enumerate() {
            apply(Arc::make_mut(&mut self.state), &e);
            self.staged.ended |= matches!(e.kind, EventKind::CampaignEnded);
            out.push(Arc::new(Committed {
                campaign_id: self.id,
                seq: first + i as u64,
                event: e,
                origin: origin.clone(),
            }));
        }
        self.next_seq += out.len() as u64;
        self.staged.rows.extend(rows);
        self.staged.events.extend(out.iter().cloned());
        Ok(out)
    }

    /// Commits the staged events in one append, then publishes them. If the commit
    /// fails the state goes back to what it was before them.
    async fn flush(&mut self) -> Result<(), SubmitError> {
        let Staged {
            first_seq,
            rows,
            events,
            ended: _,
            undo,
        } = std::mem::take(&mut self.staged);
        let Some((undo_state, undo_seq)) = undo else {
            return Ok(());
        };
        if let Err(e) = self.shared.committer.append(self.id, first_seq, rows).await {
            self.state = undo_state;
            self.next_seq = undo_seq;
            if matches!(e, SubmitError::Store(StoreError::SeqConflict { .. })) {
                // Someone else wrote to this campaign's log (another process on the same
                // database): our state is stale. Reload it so the next command works.
                tracing::warn!(error = %e, "event log changed under us; reloading the campaign");
                match load_state(&self.shared, self.id).await {
                    Ok((state, last)) => {
                        self.state = Arc::new(state);
                        self.next_seq = last + 1;
                        *self.committed.lock().unwrap_or_else(|e| e.into_inner()) =
                            (last, self.state.clone());
                    }
                    Err(e) => tracing::error!(error = %e, "reloading the campaign failed"),
                }
            }
            return Err(e);
        }
        // Committed: now it is real. Readers of the committed state see it before
        // anyone hears of its events.
        *self.committed.lock().unwrap_or_else(|e| e.into_inner()) =
            (self.next_seq - 1, self.state.clone());
        {
            let mut recent = self.recent.lock().expect("recent requests poisoned");
            for id in events
                .iter()
                .filter_map(|c| c.origin.interaction.as_deref())
            {
                if id.len() <= 100 {
                    recent.insert(id);
                }
            }
        }
        for c in &events {
            // No receivers is fine; a lagging one resyncs from the log.
            let _ = self.events.send(c.clone());
        }
        tracing::debug!(first_seq, count = events.len(), "committed");
        self.since_snapshot += events.len() as u64;
        if self.since_snapshot >= self.shared.options.snapshot_every {
            self.since_snapshot = 0;
            self.snapshot().await;
        }
        // (An ended campaign's row was marked in the same transaction as its
        // `CampaignEnded` event, by the store.)
        Ok(())
    }

    async fn snapshot(&self) {
        match serde_json::to_string(&*self.state) {
            Ok(json) => {
                if let Err(e) = self
                    .shared
                    .store
                    .put_snapshot(self.id, self.next_seq - 1, &json)
                    .await
                {
                    tracing::warn!(error = %e, "snapshot failed");
                }
            }
            Err(e) => tracing::warn!(error = %e, "snapshot encoding failed"),
        }
    }

    /// The turn the state is on, when an NPC is up.
    fn npc_turn(&self) -> Option<TurnKey> {
        let c = self.state.combat.as_ref()?;
        Some((c.round, c.active, c.active_creature()?))
    }

    /// When an NPC is up and no decision is being made for it, asks the policy on a
    /// task of its own; the answer comes back to the loop as a message.
    fn ask_npc(&mut self) {
        if self.stopping || self.npc.is_some() || self.npc_stuck_at == Some(self.next_seq) {
            return;
        }
        let options = npc_options(&self.state);
        if options.is_empty() {
            self.npc_steps = 0;
            return;
        }
        let Some(turn) = self.npc_turn() else {
            return;
        };
        if self.npc_steps >= MAX_NPC_STEPS {
            tracing::error!(
                "NPC turns did not settle after {MAX_NPC_STEPS} steps; waiting for a command"
            );
            self.npc_stuck_at = Some(self.next_seq);
            self.npc_steps = 0;
            return;
        }
        self.npc_asked += 1;
        let id = self.npc_asked;
        let policy = self.shared.options.npc_policy.clone();
        let state = self.state.clone();
        let campaign_id = self.id;
        let tx = self.npc_tx.clone();
        let task = tokio::spawn(
            async move {
                let choice = match tokio::time::timeout(
                    policy.decision_timeout(),
                    policy.choose(campaign_id, &state, &options),
                )
                .await
                {
                    Ok(c) => c,
                    Err(_) => {
                        tracing::warn!("NPC policy gave no choice in time; using the built-in one");
                        NpcChoice::plain(dicebard_engine::choose_npc_option(&state, &options))
                    }
                };
                let _ = tx.send(NpcAnswer { id, turn, choice }).await;
            }
            .in_current_span(),
        );
        self.npc = Some(NpcAsk { id, task });
    }

    /// Plays an NPC decision if it is for the turn in progress (a stale one is dropped),
    /// then asks for the next NPC's.
    async fn npc_answered(&mut self, answer: NpcAnswer) {
        if self.npc.as_ref().is_none_or(|a| a.id != answer.id) {
            return;
        }
        self.npc = None;
        let options = npc_options(&self.state);
        if options.is_empty() || self.npc_turn() != Some(answer.turn) {
            tracing::debug!("NPC decision for a turn that is over; dropped");
            self.ask_npc();
            return;
        }
        let NpcChoice { option, intent } = answer.choice;
        let (option, intent) = if options.contains(&option) {
            (option, intent)
        } else {
            tracing::warn!("NPC policy gave no legal choice; using the built-in one");
            (
                dicebard_engine::choose_npc_option(&self.state, &options),
                None,
            )
        };
        self.npc_steps += 1;
        let res = self
            .execute(
                Command::system(Action::NpcAct { option, intent }),
                Origin::system(),
            )
            .await;
        if let Err(e) = res {
            tracing::error!(error = %e, "NPC turn failed; passing");
            if self
                .execute(
                    Command::system(Action::NpcAct {
                        option: NpcOption::Pass,
                        intent: None,
                    }),
                    Origin::system(),
                )
                .await
                .is_err()
            {
                self.npc_stuck_at = Some(self.next_seq);
                return;
            }
        }
        self.ask_npc();
    }
}

/// A way to make more errors like `e`, for the other commands of a batch whose commit
/// failed (errors are not `Clone`).
fn same_failure(e: &SubmitError) -> impl Fn() -> SubmitError + use<> {
    let busy = match e {
        SubmitError::Store(StoreError::Busy { location, waited }) => {
            Some((location.clone(), *waited))
        }
        _ => None,
    };
    let full = match e {
        SubmitError::Store(StoreError::Full { location }) => Some(location.clone()),
        _ => None,
    };
    let text = e.to_string();
    move || match (&busy, &full) {
        (Some((location, waited)), _) => SubmitError::Store(StoreError::Busy {
            location: location.clone(),
            waited: *waited,
        }),
        (_, Some(location)) => SubmitError::Store(StoreError::Full {
            location: location.clone(),
        }),
        _ => SubmitError::Internal(text.clone()),
    }
}
