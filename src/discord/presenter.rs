//! One presenter per campaign channel: a renderer of the campaign's table feed
//! ([`crate::feed`]) that keeps Discord in step — the feed's lines posted in the channel
//! (coalesced), its prose streamed into one message per batch (`story.rs`), pinned
//! character embeds and the initiative embed edited in place, DMs to the active player,
//! private items to their player only, GM notices to the GM. It never narrates: the
//! feed tells each batch once for every front end. Every channel write goes through a
//! per-channel budget (5 creates/edits per 5 s) so bursts become fewer, larger edits
//! instead of 429s.
//!
//! Where an item goes is decided with the engine's visibility rule only
//! ([`FeedItem::visible_to`]): the channel and the voice call get what an onlooker may
//! see; a DM goes to a player only if that player may see the item.

use super::dm::DmRouter;
use super::story::{Prose, Storyteller};
use super::{player_user_id, render};
use crate::coordinator::CampaignId;
use crate::coordinator::{Committed, Coordinator, Source};
use crate::feed::{FeedCursor, FeedItem, FeedKind, Feeds};
use crate::narrator::NarrationSource;
use crate::store::MessageRef;
use dicebard_engine::view;
use dicebard_engine::{CampaignState, CreatureId, EventKind, Viewer};
use poise::serenity_prelude as serenity;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// Message-ref kinds stored for a campaign.
const CHARACTER_EMBED: &str = "character_embed";
const INITIATIVE_EMBED: &str = "initiative_embed";
/// The last event presented, kept in the message-ref table (message_id = seq).
const CURSOR: &str = "presenter_cursor";

/// Sliding-window budget for one channel, shared by everything that writes there (the
/// presenter and its storyteller). The lock is never held across an await.
pub(super) struct Budget {
    window: Duration,
    max: usize,
    sent: std::sync::Mutex<Vec<Sent>>,
    next: std::sync::atomic::AtomicU64,
}

/// A write counted in the window: while in flight it counts whatever its age; once its
/// answer came back it counts from then (Discord saw it no later), so a request that
/// was slow to leave a busy machine cannot land in the same window as five later ones.
struct Sent {
    id: u64,
    at: Instant,
    done: bool,
}

/// One write's place in the budget: dropped once the write's answer came back.
pub(super) struct Ticket<'a> {
    budget: &'a Budget,
    id: u64,
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        let mut sent = self.budget.sent.lock().expect("budget poisoned");
        if let Some(s) = sent.iter_mut().find(|s| s.id == self.id) {
            s.at = Instant::now();
            s.done = true;
        }
    }
}

impl Budget {
    pub(super) fn new() -> Self {
        Budget {
            window: Duration::from_secs(5),
            max: 5,
            sent: std::sync::Mutex::new(Vec::new()),
            next: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Waits until one more write fits in the window, and counts it; keep the ticket
    /// until the write's answer came back.
    pub(super) async fn take(&self) -> Ticket<'_> {
        loop {
            let wait = {
                let mut sent = self.sent.lock().expect("budget poisoned");
                let now = Instant::now();
                sent.retain(|s| !s.done || now.duration_since(s.at) < self.window);
                if sent.len() < self.max {
                    let id = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    sent.push(Sent {
                        id,
                        at: now,
                        done: false,
                    });
                    return Ticket { budget: self, id };
                }
                sent.iter()
                    .filter(|s| s.done)
                    .map(|s| self.window.saturating_sub(now.duration_since(s.at)))
                    .min()
                    .unwrap_or(Duration::from_millis(50))
            };
            tokio::time::sleep(wait + Duration::from_millis(5)).await;
        }
    }
}

/// How long the presenter waits for more of the feed before it posts what it has (the
/// feed publishes a batch's events and lines back to back; this only coalesces them).
const COALESCE: Duration = Duration::from_millis(150);

/// The most events held before they are posted, whatever comes next.
const MAX_PENDING: usize = 256;

/// Where a presenter starts reading its feed: the stored cursor if there is one; for a
/// campaign just created, `from` (its start: starting at "the present" when the task
/// happened to run lost the sheets of characters made before it, on a busy machine);
/// otherwise, for an existing campaign with no cursor, the present.
fn start_cursor(stored: u64, from: Option<u64>, present: u64) -> u64 {
    match (stored, from) {
        (0, Some(from)) => from,
        (0, None) => present,
        (stored, _) => stored,
    }
}

/// Runs a campaign's presenter until the campaign ends or its feed stops.
pub async fn run(
    http: Arc<serenity::Http>,
    coord: Coordinator,
    feeds: Feeds,
    campaign_id: CampaignId,
    channel: serenity::ChannelId,
    voice: Option<super::voice::VoiceHub>,
    from: Option<u64>,
) {
    let store = coord.store().clone();
    let feed = match feeds.feed(campaign_id).await {
        Ok(f) => f,
        Err(e) => {
            tracing::error!(campaign = campaign_id.get(), error = %e, "presenter could not start the campaign's feed");
            return;
        }
    };
    let cursor = store
        .message_ref(campaign_id, CURSOR, "seq")
        .await
        .ok()
        .flatten()
        .map_or(0, |r| r.message_id);
    let present = if cursor == 0 && from.is_none() {
        coord
            .snapshot(campaign_id)
            .await
            .map(|s| s.seq)
            .unwrap_or(0)
    } else {
        0
    };
    let cursor = start_cursor(cursor, from, present);
    // Everything filed under `cursor` (its lines and its batch's prose) was presented.
    // This subscription follows the whole feed for the channel, the sheets and the
    // tracker; private items reach their recipients through their own subscriptions
    // (`DmRouter`).
    let mut sub = feed.subscribe(Viewer::Gm, FeedCursor::new(cursor, u32::MAX));
    let budget = Arc::new(Budget::new());
    let stories = Storyteller::start(
        http.clone(),
        campaign_id,
        channel,
        budget.clone(),
        voice.clone(),
    );
    let mut p = Presenter {
        http,
        coord,
        campaign_id,
        channel,
        budget,
        stories,
        pending: Vec::new(),
        notices: Vec::new(),
        spoken: Vec::new(),
        lines: Vec::new(),
        dirty_chars: BTreeSet::new(),
        initiative_dirty: false,
        dms: Vec::new(),
        refs: HashMap::new(),
        last_seq: cursor,
        saved_seq: cursor,
        in_prose: false,
        ended: false,
        turn_seq: None,
        voice,
        private: DmRouter::new(feed.clone(), cursor, |p| player_user_id(p).is_some()),
    };
    // The turn in progress (its buttons name it): the latest TurnStarted in the recent log.
    if let Ok(recent) = p
        .coord
        .events_since(campaign_id, cursor.saturating_sub(2_000))
        .await
    {
        p.turn_seq = recent
            .iter()
            .rev()
            .find(|c| matches!(c.event.kind, EventKind::TurnStarted { .. }))
            .map(|c| c.seq);
    }
    if let Ok(refs) = store.message_refs(campaign_id).await {
        for r in refs {
            p.refs.insert((r.kind.clone(), r.key.clone()), r.message_id);
        }
    }
    tracing::info!(
        campaign = campaign_id.get(),
        channel = channel.get(),
        from_seq = cursor,
        "presenter started"
    );
    loop {
        let waiting = !p.pending.is_empty() || !p.notices.is_empty();
        let item = if waiting {
            match tokio::time::timeout(COALESCE, sub.next()).await {
                Ok(item) => item,
                Err(_) => {
                    p.flush().await;
                    if p.ended && !p.in_prose {
                        break;
                    }
                    continue;
                }
            }
        } else {
            sub.next().await
        };
        let Some(item) = item else { break };
        p.take(&item).await;
        if p.ended && !p.in_prose && matches!(item.kind, FeedKind::ProseEnd) {
            break;
        }
    }
    p.flush().await;
    p.stories.tell(Prose::End);
}

struct Presenter {
    http: Arc<serenity::Http>,
    coord: Coordinator,
    campaign_id: CampaignId,
    channel: serenity::ChannelId,
    budget: Arc<Budget>,
    /// Posts and speaks the feed's prose, batch after batch, without holding up the
    /// sheets, the tracker and the DMs.
    stories: Storyteller,
    /// Events taken from the feed and not yet presented, each with its line.
    pending: Vec<(Arc<Committed>, Option<String>)>,
    /// GM notices not yet sent.
    notices: Vec<String>,
    /// Public lines to speak in voice (replies to commands included).
    spoken: Vec<String>,
    lines: Vec<String>,
    dirty_chars: BTreeSet<CreatureId>,
    initiative_dirty: bool,
    /// DMs to send: user, text, and the turn whose buttons to attach.
    dms: Vec<(serenity::UserId, String, Option<render::DmButtons>)>,
    refs: HashMap<(String, String), u64>,
    /// The last event taken from the feed, and the last one saved as presented.
    last_seq: u64,
    saved_seq: u64,
    /// Between a batch's ProseStart and its ProseEnd.
    in_prose: bool,
    /// The campaign ended: stop once its telling is done.
    ended: bool,
    /// The seq of the latest `TurnStarted`: the turn the tracker's buttons act on.
    turn_seq: Option<u64>,
    /// Speaks the public narration when the bot is in voice for the campaign.
    voice: Option<super::voice::VoiceHub>,
    /// The DMs of private items: one feed subscription per recipient.
    private: DmRouter,
}

impl Presenter {
    /// Takes one item of the feed.
    async fn take(&mut self, item: &FeedItem) {
        match &item.kind {
            FeedKind::Event { event } => {
                if self.pending.len() >= MAX_PENDING {
                    self.flush().await;
                }
                self.ended |= matches!(event.event.kind, EventKind::CampaignEnded);
                self.last_seq = self.last_seq.max(event.seq);
                self.pending.push((event.clone(), None));
            }
            FeedKind::Line { text } => {
                if let Some((c, line)) = self.pending.last_mut()
                    && c.seq == item.seq
                {
                    *line = Some(text.clone());
                }
            }
            FeedKind::ProseStart => {
                // The batch's lines go out before its prose.
                self.flush().await;
                self.in_prose = true;
                self.stories.tell(Prose::Start);
            }
            FeedKind::ProseChunk { text, source } => {
                // The channel and the voice call are public: only what an onlooker may
                // see, and only the LLM's prose (the lines are posted already).
                if *source == NarrationSource::Llm && item.visible_to(&Viewer::Observer) {
                    self.stories.tell(Prose::Sentence(text.clone()));
                }
            }
            FeedKind::ProseEnd => {
                self.in_prose = false;
                self.stories.tell(Prose::End);
                self.save_cursor().await;
            }
            FeedKind::Notice { text } => {
                if item.visible_to(&Viewer::Gm) {
                    self.notices.push(text.clone());
                }
            }
        }
    }

    /// Presents what was taken: lines, sheets, the tracker, DMs.
    async fn flush(&mut self) {
        if self.pending.is_empty() && self.notices.is_empty() {
            return;
        }
        let Ok(snap) = self.coord.snapshot(self.campaign_id).await else {
            self.pending.clear();
            self.notices.clear();
            return;
        };
        let state = &snap.state;
        let pending = std::mem::take(&mut self.pending);
        let taken: Vec<Arc<Committed>> = pending.iter().map(|(c, _)| c.clone()).collect();
        for (c, line) in pending {
            self.collect(state, &c, line);
        }
        // Private items: each recipient's own subscription decides what reaches them.
        for (player, text) in self.private.route(state, &taken, self.last_seq).await {
            if let Some(user) = player_user_id(&player) {
                self.dms.push((user, text, None));
            }
        }
        if let Some(user) = state.gm.as_ref().and_then(player_user_id) {
            for text in std::mem::take(&mut self.notices) {
                self.dms.push((user, format!("(GM only) {text}"), None));
            }
        }
        self.notices.clear();
        self.post(state).await;
        if !self.in_prose {
            self.save_cursor().await;
        }
    }

    /// Remembers that everything up to the last event taken was presented.
    async fn save_cursor(&mut self) {
        if self.last_seq <= self.saved_seq {
            return;
        }
        self.saved_seq = self.last_seq;
        let _ = self
            .coord
            .store()
            .put_message_ref(&MessageRef {
                campaign_id: self.campaign_id,
                kind: CURSOR.into(),
                key: "seq".into(),
                channel_id: self.channel.get(),
                message_id: self.last_seq,
            })
            .await;
    }

    fn collect(&mut self, state: &CampaignState, c: &Committed, line: Option<String>) {
        use EventKind::*;
        // Sheet and tracker bookkeeping.
        match &c.event.kind {
            CharacterCreated { creature } => {
                self.dirty_chars.insert(creature.id);
            }
            DamageDealt { target, .. }
            | HealingReceived { target, .. }
            | TempHpGained { target, .. }
            | HitPointsSet { target, .. } => {
                self.dirty_chars.insert(*target);
                self.initiative_dirty = true;
            }
            ConditionApplied { creature, .. }
            | ConditionRemoved { creature, .. }
            | ExhaustionChanged { creature, .. }
            | Died { creature }
            | FellUnconscious { creature }
            | DeathSaveRolled { creature, .. }
            | DeathSaveFailedByDamage { creature, .. }
            | Stabilised { creature }
            | Revived { creature }
            | ConcentrationStarted { creature, .. }
            | ConcentrationEnded { creature, .. }
            | Rested { creature, .. }
            | ItemUsed { creature, .. } => {
                self.dirty_chars.insert(*creature);
                self.initiative_dirty = true;
            }
            SpellCast { caster, .. } | SpellCountered { caster, .. } => {
                self.dirty_chars.insert(*caster);
            }
            // The class state on the sheet: uses spent, a die held, a beast's shape
            // (its hit points in the tracker too), a new level, prepared spells.
            k @ (FeatureUsed { .. }
            | WildShape { .. }
            | LeveledUp { .. }
            | SpellsPrepared { .. }) => {
                if let Some(id) = class_state_changed(k) {
                    self.dirty_chars.insert(id);
                    self.initiative_dirty |= matches!(k, WildShape { .. } | LeveledUp { .. });
                }
            }
            CombatStarted { .. }
            | CombatantsJoined { .. }
            | TurnStarted { .. }
            | CombatEnded { .. }
            | TurnClockResumed { .. }
            | MonstersAppeared { .. }
            | Vanished { .. } => {
                self.initiative_dirty = true;
            }
            _ => {}
        }
        // DMs to the active player.
        match &c.event.kind {
            TurnStarted {
                creature,
                round,
                deadline,
            } => {
                self.turn_seq = Some(c.seq);
                if let Some(cr) = state.creature(*creature)
                    && let Some(user) = cr.owner().and_then(player_user_id)
                {
                    let until = deadline
                        .map(|d| format!(" — your turn ends <t:{}:R>", d.0 / 1000))
                        .unwrap_or_default();
                    // A lasting spell's repeat (Moonbeam's beam): no slot.
                    let again: Vec<String> =
                        dicebard_engine::rules::spells::recasts(state, *creature)
                            .iter()
                            .filter_map(|i| state.catalog.spell(i))
                            .map(|s| format!("**{}**", render::escape(&s.name)))
                            .collect();
                    let until = if again.is_empty() {
                        until
                    } else {
                        format!("{until}\nCast again with no slot: {}", again.join(", "))
                    };
                    self.dms.push((
                        user,
                        format!(
                            "⚔️ **{}**, it's your turn (round {round}){until}.\nUse `/attack`, `/cast`, `/act`, or the buttons below.",
                            render::escape(&cr.name)
                        ),
                        Some(render::DmButtons::Turn(c.seq)),
                    ));
                }
            }
            ReactionOffered { window } => {
                if let Some(cr) = state.creature(window.reactor)
                    && let Some(user) = cr.owner().and_then(player_user_id)
                {
                    let by = state
                        .creature(window.pending.attacker)
                        .map(|a| a.name.as_str())
                        .unwrap_or("A foe");
                    let text = reaction_dm(window, &cr.name, cr.effective_ac(), by);
                    self.dms
                        .push((user, text, Some(render::DmButtons::Reaction(c.seq))));
                }
            }
            TurnWarning { creature, deadline } => {
                if let Some(cr) = state.creature(*creature)
                    && let Some(user) = cr.owner().and_then(player_user_id)
                {
                    self.dms.push((
                        user,
                        format!(
                            "⏳ {}, your turn ends <t:{}:R> — act now or you will take the Dodge action.",
                            render::escape(&cr.name),
                            deadline.0 / 1000
                        ),
                        None,
                    ));
                }
            }
            _ => {}
        }
        let replied = c.origin.source == Source::Discord && c.origin.interaction.is_some();
        let Some(text) = line else {
            return;
        };
        // The channel and the voice call are public: only what any onlooker may see.
        if c.event.visibility.allows(&Viewer::Observer) {
            self.spoken.push(text.clone());
            if !replied {
                self.lines.push(text);
            }
        }
        // Not for the channel: DMs, routed per recipient by `dm.rs` (in `flush`).
    }

    async fn post(&mut self, state: &CampaignState) {
        let lines = std::mem::take(&mut self.lines);
        let spoken = std::mem::take(&mut self.spoken);
        if let Some(voice) = &self.voice
            && !spoken.is_empty()
        {
            voice.speak(self.campaign_id, &spoken.join("\n\n"));
        }
        for msg in render::pack_lines(&lines) {
            let _sent = self.budget.take().await;
            if let Err(e) = self
                .channel
                .send_message(&self.http, serenity::CreateMessage::new().content(msg))
                .await
            {
                tracing::warn!(campaign = self.campaign_id.get(), error = %e, "posting narration failed");
            }
        }
        for id in std::mem::take(&mut self.dirty_chars) {
            // The channel is public: an onlooker's sheet (player characters only).
            if let Some(sheet) = view::sheet(state, &Viewer::Observer, id) {
                let embed = render::character_embed(&sheet);
                self.upsert(CHARACTER_EMBED, &id.0.to_string(), embed, vec![], true)
                    .await;
            }
        }
        if std::mem::take(&mut self.initiative_dirty) {
            match view::initiative(state, &Viewer::Observer) {
                Some(init) => {
                    let embed = render::initiative_embed(&init);
                    let buttons = self
                        .turn_seq
                        .map(|t| render::turn_buttons(self.campaign_id, t))
                        .unwrap_or_default();
                    self.upsert(INITIATIVE_EMBED, "current", embed, buttons, false)
                        .await;
                }
                None => {
                    // The fight is over: a new one gets a new tracker.
                    if self
                        .refs
                        .remove(&(INITIATIVE_EMBED.into(), "current".into()))
                        .is_some()
                    {
                        let _ = self
                            .coord
                            .store()
                            .delete_message_ref(self.campaign_id, INITIATIVE_EMBED, "current")
                            .await;
                    }
                }
            }
        }
        for (user, text, turn) in std::mem::take(&mut self.dms) {
            let components = turn.map(|t| t.rows(self.campaign_id)).unwrap_or_default();
            super::send_dm(&self.http, self.campaign_id, user, &text, components).await;
        }
    }

    /// Edits the remembered message, or posts (and optionally pins) a new one.
    async fn upsert(
        &mut self,
        kind: &str,
        key: &str,
        embed: serenity::CreateEmbed,
        components: Vec<serenity::CreateActionRow>,
        pin: bool,
    ) {
        let k = (kind.to_string(), key.to_string());
        if let Some(mid) = self.refs.get(&k).copied() {
            let _sent = self.budget.take().await;
            let edit = serenity::EditMessage::new()
                .embed(embed.clone())
                .components(components.clone());
            match self
                .channel
                .edit_message(&self.http, serenity::MessageId::new(mid), edit)
                .await
            {
                Ok(_) => return,
                Err(e) => {
                    tracing::warn!(campaign = self.campaign_id.get(), error = %e, kind, "editing failed; posting anew")
                }
            }
        }
        let _sent = self.budget.take().await;
        let msg = serenity::CreateMessage::new()
            .embed(embed)
            .components(components);
        match self.channel.send_message(&self.http, msg).await {
            Ok(m) => {
                if pin {
                    let _sent = self.budget.take().await;
                    if let Err(e) = self.channel.pin(&self.http, m.id).await {
                        tracing::warn!(campaign = self.campaign_id.get(), error = %e, "pinning failed");
                    }
                }
                self.refs.insert(k, m.id.get());
                let _ = self
                    .coord
                    .store()
                    .put_message_ref(&MessageRef {
                        campaign_id: self.campaign_id,
                        kind: kind.into(),
                        key: key.into(),
                        channel_id: self.channel.get(),
                        message_id: m.id.get(),
                    })
                    .await;
            }
            Err(e) => {
                tracing::warn!(campaign = self.campaign_id.get(), error = %e, kind, "posting an embed failed")
            }
        }
    }
}

/// The DM offering a reaction to `reactor` (AC `ac`): Shield or Uncanny Dodge against
/// `by`'s blow, or Counterspell against `by`'s spell being cast.
fn reaction_dm(
    window: &dicebard_engine::event::ReactionWindow,
    reactor: &str,
    ac: i32,
    by: &str,
) -> String {
    let by = render::escape(by);
    // Counterspell: a spell being cast waits, not a blow.
    if let Some(p) = &window.cast {
        return format!(
            "✨ **{}**, {by} is casting **{}** (level {}). Cast **{}** ({})? Answer <t:{}:R>, or the spell goes off.",
            render::escape(reactor),
            render::escape(&p.name),
            p.level,
            window.reaction.name(),
            window.reaction.effect(),
            window.deadline.0 / 1000
        );
    }
    format!(
        "🛡️ **{}**, {by}'s {} hits you ({} against your AC {ac}). {} **{}** ({})? Answer <t:{}:R>, or the blow lands.",
        render::escape(reactor),
        render::escape(&window.pending.attack),
        window.pending.total,
        if window.reaction.is_spell() {
            "Cast"
        } else {
            "Use"
        },
        window.reaction.name(),
        window.reaction.effect(),
        window.deadline.0 / 1000
    )
}

#[cfg(test)]
mod reaction_tests {
    use super::reaction_dm;
    use dicebard_engine::event::{
        AttackOutcome, PendingCast, PendingHit, Reaction, ReactionWindow,
    };
    use dicebard_engine::ids::{CreatureId, Timestamp};

    #[test]
    fn the_reaction_dm_names_the_blow_or_the_spell_being_cast() {
        let mut w = ReactionWindow {
            reactor: CreatureId(1),
            reaction: Reaction::Shield,
            deadline: Timestamp(20_000),
            pending: PendingHit {
                attacker: CreatureId(2),
                target: CreatureId(1),
                attack: "Bite".into(),
                total: 14,
                outcome: AttackOutcome::Hit,
                rest: vec![],
                then: Default::default(),
            },
            cast: None,
        };
        let shield = reaction_dm(&w, "Gina", 12, "Wolf");
        assert!(
            shield.contains("Wolf's Bite hits you (14 against your AC 12). Cast **Shield**"),
            "{shield}"
        );
        w.reaction = Reaction::Counterspell;
        w.cast = Some(PendingCast {
            caster: CreatureId(2),
            spell: "fireball".into(),
            name: "Fireball".into(),
            level: 3,
            targets: vec!["Gina".into()],
            slot: None,
            npc_turn: true,
            against: None,
        });
        let counter = reaction_dm(&w, "Gina", 12, "Mage");
        assert!(
            counter.contains("Mage is casting **Fireball** (level 3). Cast **Counterspell** (stop the spell)? Answer <t:20:R>"),
            "{counter}"
        );
        assert!(!counter.contains("hits you"), "{counter}");
    }
}

/// The creature whose sheet's class state (uses, inspiration, beast form, level,
/// spells) an event changes, if any.
fn class_state_changed(kind: &EventKind) -> Option<CreatureId> {
    match kind {
        EventKind::FeatureUsed { creature, .. }
        | EventKind::WildShape { creature, .. }
        | EventKind::SpellsPrepared { creature, .. } => Some(*creature),
        EventKind::LeveledUp { creature, .. } => Some(creature.id),
        _ => None,
    }
}

#[cfg(test)]
mod sheet_refresh_tests {
    use super::*;

    #[test]
    fn a_feature_used_a_beast_form_or_a_level_refreshes_the_pinned_sheet() {
        let id = CreatureId(4);
        let used = EventKind::FeatureUsed {
            creature: id,
            feature: "inspired".into(),
            note: String::new(),
            spent: 8,
        };
        assert_eq!(class_state_changed(&used), Some(id));
        let wolf = EventKind::WildShape {
            creature: id,
            beast: Some("wolf".into()),
        };
        assert_eq!(class_state_changed(&wolf), Some(id));
        let prepared = EventKind::SpellsPrepared {
            creature: id,
            spells: Vec::new(),
        };
        assert_eq!(class_state_changed(&prepared), Some(id));
        assert_eq!(class_state_changed(&EventKind::CampaignEnded), None);
    }
}

#[cfg(test)]
mod start_tests {
    use super::start_cursor;

    #[test]
    fn a_new_campaigns_presenter_starts_at_its_beginning_however_late_it_runs() {
        // Created, then two characters made before the presenter's task ran: the
        // campaign is at seq 3 by then, and both sheets must still be presented.
        assert_eq!(start_cursor(0, Some(0), 3), 0);
        // An existing campaign with no cursor (an older bot's) starts at the present.
        assert_eq!(start_cursor(0, None, 3), 3);
        // A stored cursor always wins.
        assert_eq!(start_cursor(7, Some(0), 9), 7);
        assert_eq!(start_cursor(7, None, 9), 7);
    }
}
