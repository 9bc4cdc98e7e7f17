//! Events: what happened, in the past tense. The log of events is the source of truth;
//! state is rebuilt by replaying them through [`crate::apply`].
//!
//! Events are stored forever, so they are versioned serde types: every event carries
//! `v` ([`EVENT_VERSION`]); a host refuses logs written by a newer version. New variants
//! and new optional fields (with `#[serde(default)]`) do not need a version bump; a
//! change of meaning does, together with an upcaster.

use crate::ability::{Ability, Advantage, Skill};
use crate::condition::Condition;
use crate::creature::{Creature, Effect};
use crate::data::DamageType;
use crate::dice::Roll;
use crate::ids::{CreatureId, PlayerId, Timestamp};
use crate::state::Settings;
use serde::{Deserialize, Serialize};

/// The version of the event schema this engine writes and reads.
pub const EVENT_VERSION: u16 = 1;

/// Who may see an event.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "to", content = "player")]
pub enum Visibility {
    /// Everyone, observers included.
    Public,
    /// Everyone who plays in the campaign (players and GM), not observers.
    Party,
    /// One player (and the GM).
    Player(PlayerId),
    /// The GM only.
    Gm,
}

/// What a viewer is, for visibility filtering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Viewer {
    Observer,
    Player(PlayerId),
    Gm,
}

impl Visibility {
    /// Whether `viewer` may see an event with this visibility. The GM sees everything.
    pub fn allows(&self, viewer: &Viewer) -> bool {
        match (self, viewer) {
            (_, Viewer::Gm) => true,
            (Visibility::Public, _) => true,
            (Visibility::Party, Viewer::Player(_)) => true,
            (Visibility::Player(p), Viewer::Player(v)) => p == v,
            _ => false,
        }
    }

    /// Compact form for storage and indexes: "public", "party", "gm", "player:<id>".
    pub fn key(&self) -> String {
        match self {
            Visibility::Public => "public".into(),
            Visibility::Party => "party".into(),
            Visibility::Gm => "gm".into(),
            Visibility::Player(p) => format!("player:{p}"),
        }
    }
}

/// One event with its envelope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub v: u16,
    pub at: Timestamp,
    pub visibility: Visibility,
    #[serde(flatten)]
    pub kind: EventKind,
}

impl Event {
    pub fn new(at: Timestamp, visibility: Visibility, kind: EventKind) -> Event {
        Event {
            v: EVENT_VERSION,
            at,
            visibility,
            kind,
        }
    }

    pub fn public(at: Timestamp, kind: EventKind) -> Event {
        Event::new(at, Visibility::Public, kind)
    }

    /// The variant name, e.g. "AttackRolled" (for storage and logs).
    pub fn kind_name(&self) -> &'static str {
        self.kind.name()
    }
}

/// What a check was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "name")]
pub enum CheckKind {
    Skill(Skill),
    Ability(Ability),
}

/// The outcome of an attack roll.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttackOutcome {
    Hit,
    CriticalHit,
    Miss,
    /// A natural 1: always misses.
    CriticalMiss,
}

impl AttackOutcome {
    pub fn is_hit(self) -> bool {
        matches!(self, AttackOutcome::Hit | AttackOutcome::CriticalHit)
    }
}

/// How damage was changed by the target's defences.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DamageModifier {
    #[default]
    None,
    Resisted,
    Vulnerable,
    Immune,
}

/// What part of a turn an action spends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionCost {
    Action,
    BonusAction,
    Reaction,
    /// Outside the action economy (rituals, long casting times outside combat).
    Free,
}

/// Short or long rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RestKind {
    Short,
    Long,
}

/// How a fight ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CombatOutcome {
    /// Every foe is down.
    Victory,
    /// Every player character is down.
    Defeat,
    /// The GM ended it.
    Ended,
}

/// One combatant's place in the initiative order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct InitiativeEntry {
    pub creature: CreatureId,
    pub total: i32,
    /// Dexterity score, the tie-breaker.
    pub dex: i32,
}

fn is_zero(n: &u8) -> bool {
    *n == 0
}

/// Where a creature moved to (theatre of the mind).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Place {
    /// In melee with `with`.
    Engaged { with: CreatureId },
    /// Out of melee, within a move of the fray.
    Near,
    /// Keeping its distance: two moves from the fray.
    Far,
}

/// A reaction a creature is offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Reaction {
    /// Cast Shield (the lowest slot left): +5 AC against the attack that hit, until
    /// the start of the reactor's next turn.
    Shield,
    /// Uncanny Dodge (rogue 5th): halve the damage of the attack that hit.
    UncannyDodge,
    /// Cast Counterspell (a slot of 3rd level or higher) on a foe's spell being cast
    /// ([`ReactionWindow::cast`]): a spell of the slot's level or lower is stopped; a
    /// higher one needs a spellcasting ability check, DC 10 + its level.
    Counterspell,
}

impl Reaction {
    /// Its name, as the table says it.
    pub fn name(self) -> &'static str {
        match self {
            Reaction::Shield => "Shield",
            Reaction::UncannyDodge => "Uncanny Dodge",
            Reaction::Counterspell => "Counterspell",
        }
    }

    /// What taking it does to the blow, for the offer.
    pub fn effect(self) -> &'static str {
        match self {
            Reaction::Shield => "+5 AC: it misses",
            Reaction::UncannyDodge => "half the damage",
            Reaction::Counterspell => "stop the spell",
        }
    }

    /// Whether taking it is casting a spell (the offer says "Cast").
    pub fn is_spell(self) -> bool {
        matches!(self, Reaction::Shield | Reaction::Counterspell)
    }
}

/// A monster's attack that hit and waits for the target's reaction, with the rest of
/// the monster's action (its remaining multiattack), to be resolved afterwards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingHit {
    pub attacker: CreatureId,
    pub target: CreatureId,
    /// The stat-block attack's name.
    pub attack: String,
    pub total: i32,
    pub outcome: AttackOutcome,
    /// Multiattack entries still to make: (attack, intended target), in order.
    #[serde(default)]
    pub rest: Vec<(String, CreatureId)>,
    /// What the hit interrupted, to go on with once the window closes (old logs: the
    /// monster's own turn or legendary action).
    #[serde(default, skip_serializing_if = "AfterHit::is_turn")]
    pub then: AfterHit,
}

/// What a hit that opened a reaction window interrupted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum AfterHit {
    /// The attacker's own turn (then `rest`, and the end of its turn) or its legendary
    /// action (then the end of the legendary turn).
    #[default]
    Turn,
    /// An opportunity attack on a creature leaving melee: the other foes' choices,
    /// then the move, as [`Opportunity`] says (its `foe` is the attacker).
    Opportunity { opportunity: Opportunity },
    /// A swallow's bite: a hit swallows the target (then the end of the turn).
    Swallow,
    /// A monster's spell attack: the spell's hit (or miss, after Shield), its strikes
    /// still to come, then the end of the caster's turn.
    Spell { spell: PendingSpellHit },
}

/// A monster's spell being cast whose attack roll hit a player character, waiting for
/// the target's reaction (Shield, Uncanny Dodge).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingSpellHit {
    /// The spell's index.
    pub spell: String,
    /// The level it was cast at (its own for cantrips and innate spells).
    pub level: u8,
    /// Its targets, one per strike in turn (as the cast resolved them).
    #[serde(default)]
    pub targets: Vec<CreatureId>,
    /// The strike that hit (Scorching Ray's ray); the later ones follow.
    #[serde(default)]
    pub strike: u8,
    /// Cast on the caster's own turn: the turn ends when the cast is done.
    #[serde(default)]
    pub npc_turn: bool,
}

impl AfterHit {
    pub fn is_turn(&self) -> bool {
        *self == AfterHit::Turn
    }
}

/// A creature leaving melee, waiting for a monster's choice of opportunity attack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Opportunity {
    /// The monster choosing.
    pub foe: CreatureId,
    pub mover: CreatureId,
    /// Where the mover goes, and the moves it spends, once the foes have chosen.
    pub to: Place,
    pub moves: u8,
    /// Other foes it leaves, to choose after this one.
    #[serde(default)]
    pub rest: Vec<CreatureId>,
}

/// A spell being cast that waits for a foe's Counterspell: the cast as it was asked
/// for, run again (without another window) if it is not stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingCast {
    pub caster: CreatureId,
    /// The spell's index and name.
    pub spell: String,
    pub name: String,
    /// The slot level it is cast with (its own level for cantrips and innate spells).
    pub level: u8,
    pub targets: Vec<String>,
    pub slot: Option<u8>,
    /// A monster's cast on its own turn: the turn ends when the cast is done.
    #[serde(default)]
    pub npc_turn: bool,
    /// Mid-chain: this cast is a monster's Counterspell, aimed at this cast (which
    /// waits too); the window asks a player whether to counter the Counterspell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub against: Option<Box<PendingCast>>,
}

/// An open reaction window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReactionWindow {
    pub reactor: CreatureId,
    pub reaction: Reaction,
    pub deadline: Timestamp,
    /// The hit that waits (for a cast window: the caster as `attacker`, the reactor as
    /// `target`, the spell's name as `attack`, its level as `total`).
    pub pending: PendingHit,
    /// Counterspell's window: the spell being cast, which waits instead of a hit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cast: Option<PendingCast>,
}

/// Everything that can happen at the table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum EventKind {
    /// A campaign began, run by `gm`.
    CampaignStarted {
        name: String,
        gm: PlayerId,
        settings: Settings,
    },
    CampaignEnded,
    SettingsChanged {
        settings: Settings,
    },
    PlayerJoined {
        player: PlayerId,
        name: String,
    },
    /// A player character entered the campaign (created or imported).
    CharacterCreated {
        creature: Box<Creature>,
    },
    /// A prepared caster changed its prepared spells: `spells` is everything it can
    /// cast now (cantrips first).
    SpellsPrepared {
        creature: CreatureId,
        spells: Vec<String>,
    },
    /// A character gained a level: `creature` is its whole new sheet (hit points,
    /// abilities, attacks, slots, spells), replacing the old one; `hp_gained` and
    /// `asi` say what changed.
    LeveledUp {
        creature: Box<Creature>,
        level: u8,
        #[serde(default)]
        hp_gained: i32,
        #[serde(default)]
        asi: Vec<crate::ability::Ability>,
        /// Spells learned (known spells, a wizard's book, cantrips).
        #[serde(default)]
        learned: Vec<String>,
    },
    /// A class feature or racial trait was used (Second Wind, Action Surge, Rage,
    /// Lucky, Relentless Endurance, Sneak Attack): a limited one spends a use; Action
    /// Surge gives the turn's action back. What it does besides is in the events that
    /// follow (healing, marks, damage).
    FeatureUsed {
        creature: CreatureId,
        feature: String,
        #[serde(default)]
        note: String,
        /// Uses spent (hit points from a Lay on Hands pool; 0 reads as 1).
        #[serde(default, skip_serializing_if = "is_zero_u32")]
        spent: u32,
    },
    /// A player's character left the campaign (replaced by a new one).
    CharacterRetired {
        creature: CreatureId,
    },
    /// Monsters joined the scene (before or during a fight).
    MonstersAppeared {
        creatures: Vec<Creature>,
    },
    /// A free-form roll (`/roll`).
    DiceRolled {
        player: PlayerId,
        roll: Roll,
        secret: bool,
    },
    /// A free-form in-character action or line (`/act`), for narration.
    ActionDeclared {
        creature: Option<CreatureId>,
        player: PlayerId,
        text: String,
    },
    CheckRolled {
        creature: CreatureId,
        check: CheckKind,
        advantage: Advantage,
        d20: Vec<u32>,
        kept: u32,
        modifier: i32,
        total: i32,
        dc: Option<i32>,
        success: Option<bool>,
    },
    SaveRolled {
        creature: CreatureId,
        ability: Ability,
        advantage: Advantage,
        d20: Vec<u32>,
        kept: u32,
        modifier: i32,
        /// Bless and similar dice added to the save.
        bonus_dice: i32,
        total: i32,
        dc: Option<i32>,
        success: Option<bool>,
        /// The creature's conditions made it fail automatically.
        auto_fail: bool,
    },
    AttackRolled {
        attacker: CreatureId,
        target: CreatureId,
        /// Weapon, stat-block action or spell name.
        with: String,
        advantage: Advantage,
        d20: Vec<u32>,
        kept: u32,
        bonus: i32,
        bonus_dice: i32,
        total: i32,
        target_ac: i32,
        outcome: AttackOutcome,
        /// Moves the attacker spent to close into melee with the target first (0: it
        /// was already engaged, or the attack is ranged); when above 0 the two are
        /// engaged from now on.
        #[serde(default, skip_serializing_if = "is_zero")]
        approach: u8,
    },
    /// Damage after resistance / vulnerability / immunity. Temporary hit points absorb
    /// it first; the rest comes off hit points (never below 0).
    DamageDealt {
        target: CreatureId,
        source: Option<CreatureId>,
        damage_type: DamageType,
        /// The dice as rolled, e.g. "2d6 (3, 5) + 3 = 11".
        breakdown: String,
        rolled: i32,
        modifier: DamageModifier,
        amount: i32,
    },
    HealingReceived {
        target: CreatureId,
        source: Option<CreatureId>,
        breakdown: String,
        amount: i32,
    },
    TempHpGained {
        target: CreatureId,
        amount: i32,
    },
    /// The GM set a creature's hit points.
    HitPointsSet {
        target: CreatureId,
        hp: i32,
    },
    /// A player character dropped to 0 hit points and fell unconscious.
    FellUnconscious {
        creature: CreatureId,
    },
    Died {
        creature: CreatureId,
    },
    DeathSaveRolled {
        creature: CreatureId,
        roll: u32,
        successes: u8,
        failures: u8,
    },
    /// Damage to a dying character counts as death-save failures (two on a crit).
    DeathSaveFailedByDamage {
        creature: CreatureId,
        failures: u8,
    },
    /// Three death-save successes.
    Stabilised {
        creature: CreatureId,
    },
    /// A natural 20 on a death save: back on their feet with 1 HP.
    Revived {
        creature: CreatureId,
    },
    /// A dead creature returns to life with 1 hit point (Revivify).
    RaisedFromDead {
        creature: CreatureId,
    },
    /// A druid takes a beast's shape (Wild Shape: its hit points, armour class,
    /// Strength, Dexterity, Constitution, speed and attacks), or, with no beast, returns
    /// to its own form and hit points.
    WildShape {
        creature: CreatureId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        beast: Option<String>,
    },
    ConditionApplied {
        creature: CreatureId,
        condition: Condition,
        source: Option<CreatureId>,
    },
    ConditionRemoved {
        creature: CreatureId,
        condition: Condition,
    },
    ExhaustionChanged {
        creature: CreatureId,
        level: u8,
    },
    SpellCast {
        caster: CreatureId,
        spell: String,
        name: String,
        /// The slot spent (None for cantrips).
        slot: Option<u8>,
        cost: ActionCost,
        targets: Vec<CreatureId>,
        /// A lasting spell's repeated part ([`crate::effect::Again`]): no slot, and not
        /// a spell cast for the bonus-action spell rule (old logs: false).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        again: bool,
    },
    ConcentrationStarted {
        creature: CreatureId,
        spell: String,
    },
    ConcentrationEnded {
        creature: CreatureId,
        spell: String,
    },
    EffectStarted {
        creature: CreatureId,
        effect: Effect,
    },
    EffectEnded {
        creature: CreatureId,
        effect: Effect,
    },
    ItemUsed {
        creature: CreatureId,
        item: String,
    },
    /// A monster used a limited stat-block action (recharge or per day).
    LimitedActionUsed {
        creature: CreatureId,
        action: String,
    },
    /// A monster used a stat-block action that makes no attack (Swallow, Engulf,
    /// Invisibility, Teleport, Etherealness, Healing Touch, Change Shape, Ink Cloud):
    /// what it does follows as the usual events; `note` says it in a few words for the
    /// narrator (Change Shape changes nothing the rules track: the note says so).
    SpecialAction {
        creature: CreatureId,
        action: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        target: Option<CreatureId>,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        note: String,
    },
    /// Creatures a spell conjured vanish: their caster's concentration on it ended
    /// (see [`crate::rules::summon`]). They are gone from the fight (dead, without a
    /// death to tell or undo).
    Vanished {
        by: CreatureId,
        /// The spell's name.
        spell: String,
        creatures: Vec<CreatureId>,
    },
    /// A monster took a legendary action at the end of another creature's turn (its
    /// attack, if any, follows as the usual events).
    LegendaryActionUsed {
        creature: CreatureId,
        action: String,
        cost: u8,
    },
    /// A legendary monster may take a legendary action now, at the end of `ended`'s
    /// turn: the next turn waits for its choice (`LegendaryTurnEnded`).
    LegendaryTurn {
        creature: CreatureId,
        ended: CreatureId,
    },
    LegendaryTurnEnded {
        creature: CreatureId,
    },
    /// The recharge roll for a spent action at the start of the monster's turn.
    RechargeRolled {
        creature: CreatureId,
        action: String,
        d6: u32,
        /// The lowest roll that recharges it (5 for "Recharge 5-6").
        min: u32,
        recharged: bool,
    },
    /// The creature took the Dodge action.
    Dodged {
        creature: CreatureId,
    },
    /// A creature moved (theatre of the mind): into melee with another, out of melee
    /// (near), or away (far). `moves`: how much of its movement it spent.
    Moved {
        creature: CreatureId,
        to: Place,
        #[serde(default)]
        moves: u8,
    },
    /// The Dash action: one more move this turn.
    Dashed {
        creature: CreatureId,
    },
    /// The Disengage action: leaving melee this turn provokes no opportunity attack.
    Disengaged {
        creature: CreatureId,
    },
    /// The Help action: the next attack against `target` (before the helper's next
    /// turn) has advantage (the mark follows as `EffectStarted`).
    Helped {
        creature: CreatureId,
        target: CreatureId,
    },
    /// The Hide action: `hidden` when the Stealth check (just before) beat every
    /// foe's passive Perception.
    HideAttempted {
        creature: CreatureId,
        hidden: bool,
    },
    /// A creature held by a spell (Web, Entangle) tried to break free with its action:
    /// the check is told before; `freed` ends the spell's hold (its marks end after).
    BreakFreeAttempted {
        creature: CreatureId,
        freed: bool,
    },
    /// The Ready action: narrative (the trigger and what it does are for the GM and
    /// the narrator); it spends the action.
    Readied {
        creature: CreatureId,
        text: String,
    },
    /// A reaction window opened: `reactor` may react (to its player, `Use` / `Skip`)
    /// until `deadline`; the triggering action waits.
    ReactionOffered {
        window: ReactionWindow,
    },
    /// The window closed: `used` when the reactor took the reaction (its events
    /// follow), else skipped or timed out (`timed_out`).
    ReactionResolved {
        reactor: CreatureId,
        reaction: Reaction,
        used: bool,
        #[serde(default)]
        timed_out: bool,
    },
    /// A monster may make an opportunity attack on a creature leaving its reach: the
    /// move waits for its choice (NPC options), closed by `OpportunityPassed` or by
    /// `OpportunityAttack`.
    OpportunityOffered {
        opportunity: Opportunity,
    },
    OpportunityPassed {
        creature: CreatureId,
    },
    /// A creature spends its reaction on an opportunity attack against `target`, who
    /// left its reach (the attack follows as the usual events).
    OpportunityAttack {
        creature: CreatureId,
        target: CreatureId,
    },
    Rested {
        creature: CreatureId,
        kind: RestKind,
        hit_dice_spent: u32,
        hp_regained: i32,
    },
    /// Initiative for one combatant.
    InitiativeRolled {
        creature: CreatureId,
        d20: u32,
        modifier: i32,
        total: i32,
    },
    /// A fight began with this order.
    CombatStarted {
        order: Vec<InitiativeEntry>,
    },
    /// Combatants joined a running fight, inserted by initiative.
    CombatantsJoined {
        entries: Vec<InitiativeEntry>,
    },
    TurnStarted {
        creature: CreatureId,
        round: u32,
        /// When the turn times out (player characters only).
        deadline: Option<Timestamp>,
    },
    /// The turn clock is nearly out.
    TurnWarning {
        creature: CreatureId,
        deadline: Timestamp,
    },
    /// The turn clock ran out: the character takes the Dodge action.
    TurnTimedOut {
        creature: CreatureId,
    },
    /// The turn clock was rewound after a restart so the active player keeps the time
    /// they had left.
    TurnClockResumed {
        creature: CreatureId,
        deadline: Timestamp,
    },
    TurnEnded {
        creature: CreatureId,
    },
    CombatEnded {
        outcome: CombatOutcome,
    },
    /// A player became a GM of the campaign.
    GmGranted {
        player: PlayerId,
    },
    /// A private message from the GM to one player.
    Whispered {
        from: PlayerId,
        to: PlayerId,
        text: String,
    },
    /// A spell's zone was placed (or moved: the same id replaces it) with the
    /// creatures inside it (see [`crate::effect::Zone`]).
    ZonePlaced {
        zone: Box<crate::effect::Zone>,
    },
    /// A zone strikes a creature (it started its turn in it, or moved in or out): what
    /// the zone does follows as the usual events.
    ZoneStruck {
        zone: u32,
        creature: CreatureId,
    },
    /// A zone ended (its duration ran out).
    ZoneEnded {
        zone: u32,
    },
    /// `caster`'s spell was stopped by `by`'s Counterspell: the slot (and the action)
    /// is spent, and the spell does nothing.
    SpellCountered {
        caster: CreatureId,
        by: CreatureId,
        spell: String,
        name: String,
        slot: Option<u8>,
        cost: ActionCost,
    },
    /// What a monster meant by the action that follows it, as the NPC policy (an LLM)
    /// stated it: narration material, GM-only, no rules effect. Bounded and stripped of
    /// control characters by the engine.
    NpcIntent {
        creature: CreatureId,
        #[serde(default)]
        intent: String,
    },
}

impl EventKind {
    pub fn name(&self) -> &'static str {
        use EventKind::*;
        match self {
            CampaignStarted { .. } => "CampaignStarted",
            CampaignEnded => "CampaignEnded",
            SettingsChanged { .. } => "SettingsChanged",
            PlayerJoined { .. } => "PlayerJoined",
            CharacterCreated { .. } => "CharacterCreated",
            CharacterRetired { .. } => "CharacterRetired",
            SpellsPrepared { .. } => "SpellsPrepared",
            FeatureUsed { .. } => "FeatureUsed",
            LeveledUp { .. } => "LeveledUp",
            MonstersAppeared { .. } => "MonstersAppeared",
            DiceRolled { .. } => "DiceRolled",
            ActionDeclared { .. } => "ActionDeclared",
            CheckRolled { .. } => "CheckRolled",
            SaveRolled { .. } => "SaveRolled",
            AttackRolled { .. } => "AttackRolled",
            DamageDealt { .. } => "DamageDealt",
            HealingReceived { .. } => "HealingReceived",
            TempHpGained { .. } => "TempHpGained",
            HitPointsSet { .. } => "HitPointsSet",
            FellUnconscious { .. } => "FellUnconscious",
            Died { .. } => "Died",
            DeathSaveRolled { .. } => "DeathSaveRolled",
            DeathSaveFailedByDamage { .. } => "DeathSaveFailedByDamage",
            Stabilised { .. } => "Stabilised",
            Revived { .. } => "Revived",
            RaisedFromDead { .. } => "RaisedFromDead",
            WildShape { .. } => "WildShape",
            ConditionApplied { .. } => "ConditionApplied",
            ConditionRemoved { .. } => "ConditionRemoved",
            ExhaustionChanged { .. } => "ExhaustionChanged",
            SpellCast { .. } => "SpellCast",
            ConcentrationStarted { .. } => "ConcentrationStarted",
            ConcentrationEnded { .. } => "ConcentrationEnded",
            EffectStarted { .. } => "EffectStarted",
            EffectEnded { .. } => "EffectEnded",
            ItemUsed { .. } => "ItemUsed",
            LimitedActionUsed { .. } => "LimitedActionUsed",
            SpecialAction { .. } => "SpecialAction",
            RechargeRolled { .. } => "RechargeRolled",
            LegendaryActionUsed { .. } => "LegendaryActionUsed",
            Dodged { .. } => "Dodged",
            Moved { .. } => "Moved",
            Dashed { .. } => "Dashed",
            Disengaged { .. } => "Disengaged",
            Helped { .. } => "Helped",
            HideAttempted { .. } => "HideAttempted",
            BreakFreeAttempted { .. } => "BreakFreeAttempted",
            Readied { .. } => "Readied",
            OpportunityAttack { .. } => "OpportunityAttack",
            OpportunityOffered { .. } => "OpportunityOffered",
            OpportunityPassed { .. } => "OpportunityPassed",
            LegendaryTurn { .. } => "LegendaryTurn",
            LegendaryTurnEnded { .. } => "LegendaryTurnEnded",
            ReactionOffered { .. } => "ReactionOffered",
            ReactionResolved { .. } => "ReactionResolved",
            Rested { .. } => "Rested",
            InitiativeRolled { .. } => "InitiativeRolled",
            CombatStarted { .. } => "CombatStarted",
            CombatantsJoined { .. } => "CombatantsJoined",
            TurnStarted { .. } => "TurnStarted",
            TurnWarning { .. } => "TurnWarning",
            TurnTimedOut { .. } => "TurnTimedOut",
            TurnClockResumed { .. } => "TurnClockResumed",
            TurnEnded { .. } => "TurnEnded",
            CombatEnded { .. } => "CombatEnded",
            GmGranted { .. } => "GmGranted",
            Whispered { .. } => "Whispered",
            NpcIntent { .. } => "NpcIntent",
            ZonePlaced { .. } => "ZonePlaced",
            ZoneStruck { .. } => "ZoneStruck",
            ZoneEnded { .. } => "ZoneEnded",
            SpellCountered { .. } => "SpellCountered",
            Vanished { .. } => "Vanished",
        }
    }
}

fn is_zero_u32(n: &u32) -> bool {
    *n == 0
}
