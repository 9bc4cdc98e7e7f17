//! Campaign state: everything the rules need to decide the next command. It is only
//! ever changed by [`crate::apply`]ing events, so replaying a log rebuilds it exactly.

use crate::creature::Creature;
use crate::data::Catalog;
use crate::event::InitiativeEntry;
use crate::ids::{CreatureId, PlayerId, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The reaction window of a new campaign.
pub const DEFAULT_REACTION_TIMEOUT_MS: u64 = 15_000;

fn default_reaction_timeout_ms() -> u64 {
    DEFAULT_REACTION_TIMEOUT_MS
}

fn is_default_reaction_timeout(ms: &u64) -> bool {
    *ms == DEFAULT_REACTION_TIMEOUT_MS
}

/// Table settings the GM can change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// How long a player character's turn lasts, in milliseconds.
    pub turn_timeout_ms: u64,
    /// How long before the deadline the warning fires, in milliseconds.
    pub turn_warning_ms: u64,
    /// Who tells the story at this table (campaigns from before this setting: `Auto`).
    #[serde(default, skip_serializing_if = "NarratorMode::is_auto")]
    pub narrator: NarratorMode,
    /// How long a player has to take a reaction (Shield when hit) before the action
    /// goes on without it, in milliseconds; 0: no reaction windows. Campaigns from
    /// before this setting get the default.
    #[serde(
        default = "default_reaction_timeout_ms",
        skip_serializing_if = "is_default_reaction_timeout"
    )]
    pub reaction_timeout_ms: u64,
}

/// Who narrates a campaign. The engine only records the GM's choice; the front ends
/// pick the narrator from it. Mechanics never depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NarratorMode {
    /// The host's LLM when one is configured, else the built-in narrator.
    #[default]
    Auto,
    /// Always the built-in narrator (no LLM calls for this campaign).
    Builtin,
}

impl NarratorMode {
    pub fn is_auto(&self) -> bool {
        *self == NarratorMode::Auto
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            turn_timeout_ms: 120_000,
            turn_warning_ms: 30_000,
            narrator: NarratorMode::Auto,
            reaction_timeout_ms: DEFAULT_REACTION_TIMEOUT_MS,
        }
    }
}

/// A person at the table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlayerInfo {
    pub name: String,
    pub character: Option<CreatureId>,
}

/// What a combatant has spent this turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TurnBudget {
    /// Attacks made with the Attack action (Extra Attack allows more than one).
    pub attacks_made: u8,
    pub action_used: bool,
    pub bonus_action_used: bool,
    /// Whether a spell was cast with a bonus action this turn (then the only other
    /// spell allowed this turn is a cantrip cast with the action).
    pub bonus_spell_cast: bool,
    /// Whether a spell other than a cantrip cast with the action (a levelled spell, or
    /// a reaction spell) was cast this turn (then no bonus-action spell may follow).
    #[serde(default)]
    pub other_spell_cast: bool,
    /// Moves spent this turn (one move: into or out of melee, or between near and
    /// far; see [`crate::rules::position`]).
    #[serde(default)]
    pub moves_used: u8,
    /// Took the Dash action: one more move this turn.
    #[serde(default)]
    pub dashed: bool,
    /// Took the Disengage action: leaving melee provokes no opportunity attack.
    #[serde(default)]
    pub disengaged: bool,
    /// A feature turned the next action-costing event (Dash, Disengage, Hide, Dodge)
    /// into a bonus action (Cunning Action, Step of the Wind, Patient Defense): that
    /// event spends no action; the feature's own event spent the bonus action.
    #[serde(default)]
    pub as_bonus: bool,
    /// The active creature's last attack this turn that hit: its target, whether it
    /// was a critical hit and a melee attack (Divine Smite follows such a hit).
    #[serde(default)]
    pub last_hit: Option<LastHit>,
    /// Reckless Attack this turn: melee Strength attacks with advantage.
    #[serde(default)]
    pub reckless: bool,
}

/// An attack that hit, as [`TurnBudget::last_hit`] remembers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastHit {
    pub target: CreatureId,
    pub critical: bool,
    pub melee: bool,
}

/// A running fight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Combat {
    pub round: u32,
    pub order: Vec<InitiativeEntry>,
    /// Index into `order` of the active combatant.
    pub active: usize,
    /// When the active player character's turn times out.
    pub deadline: Option<Timestamp>,
    pub warned: bool,
    pub budget: TurnBudget,
    /// Theatre-of-the-mind positions: pairs of creatures engaged in melee (lower id
    /// first). Creatures not engaged are near one another unless one is far.
    #[serde(default, skip_serializing_if = "std::collections::BTreeSet::is_empty")]
    pub engaged: std::collections::BTreeSet<(CreatureId, CreatureId)>,
    /// Creatures that keep their distance (30 ft or more from the melee).
    #[serde(default, skip_serializing_if = "std::collections::BTreeSet::is_empty")]
    pub far: std::collections::BTreeSet<CreatureId>,
    /// An open reaction window: the action that triggered it waits for the reactor's
    /// choice or the deadline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reaction: Option<crate::event::ReactionWindow>,
    /// A legendary monster choosing its legendary action at the end of another
    /// creature's turn: (the monster, the creature whose turn ended). The next turn
    /// waits for its choice (NPC options list the legendary actions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legendary: Option<(CreatureId, CreatureId)>,
    /// A monster choosing whether to make an opportunity attack on a creature leaving
    /// its reach; the move waits for its choice (NPC options).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opportunity: Option<crate::event::Opportunity>,
    /// Spells' zones in this fight (Moonbeam, Cloudkill, Web): see
    /// [`crate::effect::Zone`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub zones: Vec<crate::effect::Zone>,
}

impl Combat {
    pub fn active_creature(&self) -> Option<CreatureId> {
        self.order.get(self.active).map(|e| e.creature)
    }
}

/// A campaign's state.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CampaignState {
    /// Reference data: not part of the state proper, never serialised.
    #[serde(skip)]
    pub catalog: Arc<Catalog>,
    pub started: bool,
    pub ended: bool,
    pub name: String,
    pub gm: Option<PlayerId>,
    /// Further GMs: granted by a GM, or by the host (e.g. a Discord GM role).
    #[serde(default)]
    pub co_gms: std::collections::BTreeSet<PlayerId>,
    pub settings: Settings,
    pub players: BTreeMap<PlayerId, PlayerInfo>,
    pub creatures: BTreeMap<CreatureId, Creature>,
    pub next_creature: u32,
    pub combat: Option<Combat>,
    /// Reactions spent this round, by creature (cleared when their turn starts).
    pub reactions_used: BTreeMap<CreatureId, bool>,
    /// Time of the last applied event: the engine's idea of "now" during replay.
    pub clock: Timestamp,
    /// Events applied so far.
    pub events_applied: u64,
    /// How many monsters of each SRD kind have appeared in this campaign, so the slain
    /// of earlier fights can be forgotten while numbering carries on ("Goblin 4").
    #[serde(default)]
    pub monsters_seen: BTreeMap<String, u32>,
    /// Spells' zones cast out of a fight (Fog Cloud on the party before an ambush):
    /// they wait, holding the creatures they caught, and the next fight starts with
    /// them (its creatures inside); a rest ends them, as does their caster's
    /// concentration. In a fight, zones live in [`Combat::zones`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waiting_zones: Vec<crate::effect::Zone>,
}

impl PartialEq for CampaignState {
    fn eq(&self, other: &Self) -> bool {
        // The catalog is reference data, not state.
        self.started == other.started
            && self.ended == other.ended
            && self.name == other.name
            && self.gm == other.gm
            && self.co_gms == other.co_gms
            && self.settings == other.settings
            && self.players == other.players
            && self.creatures == other.creatures
            && self.next_creature == other.next_creature
            && self.combat == other.combat
            && self.reactions_used == other.reactions_used
            && self.clock == other.clock
            && self.events_applied == other.events_applied
            && self.monsters_seen == other.monsters_seen
            && self.waiting_zones == other.waiting_zones
    }
}

impl CampaignState {
    /// An empty campaign that will read `catalog` for rules look-ups.
    pub fn new(catalog: Arc<Catalog>) -> Self {
        CampaignState {
            catalog,
            started: false,
            ended: false,
            name: String::new(),
            gm: None,
            co_gms: Default::default(),
            settings: Settings::default(),
            players: BTreeMap::new(),
            creatures: BTreeMap::new(),
            next_creature: 1,
            combat: None,
            reactions_used: BTreeMap::new(),
            clock: Timestamp(0),
            events_applied: 0,
            monsters_seen: BTreeMap::new(),
            waiting_zones: Vec::new(),
        }
    }

    /// The spells' zones now: the fight's, or out of a fight those waiting for one.
    pub fn zones(&self) -> &[crate::effect::Zone] {
        match &self.combat {
            Some(c) => &c.zones,
            None => &self.waiting_zones,
        }
    }

    /// The zones now, to change (see [`CampaignState::zones`]).
    pub fn zones_mut(&mut self) -> &mut Vec<crate::effect::Zone> {
        match &mut self.combat {
            Some(c) => &mut c.zones,
            None => &mut self.waiting_zones,
        }
    }

    pub fn is_gm(&self, p: &PlayerId) -> bool {
        self.gm.as_ref() == Some(p) || self.co_gms.contains(p)
    }

    pub fn creature(&self, id: CreatureId) -> Option<&Creature> {
        self.creatures.get(&id)
    }

    /// The character a player plays, if any.
    pub fn character_of(&self, p: &PlayerId) -> Option<&Creature> {
        self.players
            .get(p)
            .and_then(|i| i.character)
            .and_then(|id| self.creatures.get(&id))
    }

    pub fn in_combat(&self) -> bool {
        self.combat.is_some()
    }

    /// The creature whose turn it is, in combat.
    pub fn active_creature(&self) -> Option<&Creature> {
        self.combat
            .as_ref()
            .and_then(|c| c.active_creature())
            .and_then(|id| self.creatures.get(&id))
    }

    /// Creatures that are in the current fight.
    pub fn combatants(&self) -> impl Iterator<Item = &Creature> {
        self.combat
            .iter()
            .flat_map(|c| c.order.iter())
            .filter_map(|e| self.creatures.get(&e.creature))
    }

    /// Player characters (the party).
    pub fn party(&self) -> impl Iterator<Item = &Creature> {
        self.players
            .values()
            .filter_map(|p| p.character)
            .filter_map(|id| self.creatures.get(&id))
    }

    /// Monsters present in the scene and not dead.
    pub fn monsters(&self) -> impl Iterator<Item = &Creature> {
        self.creatures.values().filter(|c| !c.is_pc() && !c.dead)
    }
}
