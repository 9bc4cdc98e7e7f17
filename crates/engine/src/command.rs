//! Commands: what someone asks the table to do, in the imperative. A command names who
//! sends it; [`crate::decide`] checks that they may, and either refuses with a
//! [`crate::RuleError`] or returns the events that follow.

use crate::ability::{Ability, Advantage, Skill};
use crate::character::CharacterSpec;
use crate::ids::PlayerId;
use crate::state::Settings;
use serde::{Deserialize, Serialize};

/// Who sends a command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "id")]
pub enum Actor {
    /// A person at the table (the engine works out whether they are the GM).
    Player(PlayerId),
    /// The host itself: turn clock ticks, NPC turns, clock resumption.
    System,
}

/// A command and its sender.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Command {
    pub by: Actor,
    pub action: Action,
}

impl Command {
    pub fn player(p: impl Into<String>, action: Action) -> Command {
        Command {
            by: Actor::Player(PlayerId::new(p)),
            action,
        }
    }

    pub fn system(action: Action) -> Command {
        Command {
            by: Actor::System,
            action,
        }
    }
}

/// A monster group for `/combat start`: an SRD monster and how many.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonsterGroup {
    pub monster: String,
    pub count: u32,
}

/// What an NPC does on its turn: one of the options the engine lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum NpcOption {
    /// Use the Multiattack action against `target`; `targets`, when given, names the
    /// target of each of its attack rolls in order (missing ones: `target`). An attack
    /// whose target has dropped goes to another standing foe within reach.
    Multiattack {
        target: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        targets: Vec<String>,
    },
    /// One attack with a named stat-block action.
    Attack { attack: String, target: String },
    /// Cast a spell from its stat block's Spellcasting (a slot of `slot` level, or
    /// the spell's own; innate spells use a use per day).
    Cast {
        spell: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        targets: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        slot: Option<u8>,
    },
    /// An opportunity attack on a creature leaving the monster's reach (offered only
    /// then; `Pass` lets it go).
    OpportunityAttack { target: String },
    /// A legendary action at the end of another creature's turn (offered only then);
    /// `target` is empty for one aimed at no one (Detect, Wing Attack, Move).
    Legendary {
        action: String,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        target: String,
    },
    /// A stat-block action that makes no attack (Swallow, Engulf, Invisibility,
    /// Teleport, Etherealness, Healing Touch, Change Shape, Ink Cloud), at `target`
    /// when it names one (the swallowed foe, the healed ally).
    Special {
        action: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        target: Option<String>,
    },
    /// Take the Dodge action.
    Dodge,
    /// Break free of a spell's hold (Web, Entangle): a check as the action.
    BreakFree,
    /// Take the Disengage action and step out of melee (no attack this turn).
    Disengage,
    /// Step out of melee (provoking opportunity attacks), then make a ranged attack:
    /// a ranged monster caught in melee gets away from it.
    Withdraw { attack: String, target: String },
    /// Do nothing this turn.
    Pass,
}

/// Where a [`Action::Move`] goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum MoveTo {
    /// Into melee with a creature.
    Engage { target: String },
    /// Out of melee, staying near.
    Near,
    /// Away from the fray.
    Far,
}

/// Everything the table can be asked to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum Action {
    /// Start a campaign; the sender becomes its GM.
    StartCampaign {
        name: String,
        settings: Settings,
    },
    EndCampaign,
    /// GM: change turn timeout / warning.
    ChangeSettings {
        settings: Settings,
    },
    /// Join the table as a player.
    Join {
        name: String,
    },
    /// Make a character for the sender.
    CreateCharacter {
        spec: CharacterSpec,
    },
    /// Import a character from its JSON export.
    ImportCharacter {
        export: Box<crate::character::CharacterExport>,
    },
    /// Change the sender's prepared spells (cleric, druid, paladin, wizard), after a
    /// long rest: the levelled spells to prepare (cantrips stay known).
    PrepareSpells {
        spells: Vec<String>,
    },
    /// Level the sender's character up by one level, outside a fight: `asi` names two
    /// abilities (the same one twice for +2) at the class's ability score improvement
    /// levels; `spells` are new spells learned (known casters, a wizard's spellbook, new
    /// cantrips); `expertise` new expertise skills (rogue 6th, bard 3rd and 10th).
    LevelUp {
        #[serde(default)]
        asi: Vec<Ability>,
        #[serde(default)]
        spells: Vec<String>,
        #[serde(default)]
        expertise: Vec<Skill>,
        /// The fighting style a paladin or ranger gains at 2nd level.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fighting_style: Option<String>,
        /// Class options chosen at this level: Eldritch Invocations and a Pact Boon
        /// (warlock), Metamagic (sorcerer), by name ("agonizing blast").
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        options: Vec<String>,
    },
    /// Use a class feature or racial trait by name ("second wind", "action surge",
    /// "rage"); the others apply by themselves (see [`crate::features`]).
    UseFeature {
        feature: String,
        /// Whom it is used on (Lay on Hands; default: the user).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        target: Option<String>,
        /// How much of a pool to spend (Lay on Hands: hit points; default: what the
        /// target is missing, within the pool).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        amount: Option<u32>,
    },
    /// Roll a free dice expression.
    Roll {
        expr: String,
        #[serde(default)]
        secret: bool,
    },
    Check {
        skill: Option<Skill>,
        ability: Option<Ability>,
        #[serde(default)]
        advantage: Advantage,
        dc: Option<i32>,
    },
    Save {
        ability: Ability,
        #[serde(default)]
        advantage: Advantage,
        dc: Option<i32>,
    },
    /// Free-form in-character action, for the narrator.
    Act {
        text: String,
    },
    Attack {
        target: String,
        weapon: Option<String>,
    },
    Cast {
        spell: String,
        #[serde(default)]
        targets: Vec<String>,
        /// Slot level to spend (defaults to the spell's level).
        slot: Option<u8>,
    },
    UseItem {
        item: String,
    },
    Dodge,
    /// Move (theatre of the mind): into melee with a creature, out of melee, or away.
    Move {
        to: MoveTo,
    },
    Dash,
    Disengage,
    /// Break free of a spell's hold (Web, Entangle): a Strength check against the
    /// caster's DC, as the action.
    BreakFree,
    /// Help an ally: the next attack against `target` has advantage.
    Help {
        target: String,
    },
    Hide,
    /// Ready an action (narrative: the trigger and the response, for the GM).
    Ready {
        text: String,
    },
    EndTurn,
    /// Answer an open reaction window: take the reaction or let it pass.
    React {
        #[serde(rename = "use")]
        take: bool,
    },
    Rest {
        kind: crate::event::RestKind,
        /// Hit dice to spend on a short rest.
        #[serde(default)]
        hit_dice: u32,
    },
    /// GM: start a fight with SRD monsters.
    StartCombat {
        monsters: Vec<MonsterGroup>,
    },
    /// GM: add monsters to a running fight.
    AddToCombat {
        monsters: Vec<MonsterGroup>,
    },
    /// GM: end the fight.
    EndCombat,
    /// GM: set a creature's hit points.
    SetHp {
        target: String,
        hp: i32,
    },
    /// GM: damage a creature directly (traps, falls).
    Damage {
        target: String,
        dice: String,
        damage_type: crate::data::DamageType,
    },
    /// GM: apply or remove a condition.
    SetCondition {
        target: String,
        condition: crate::condition::Condition,
        on: bool,
    },
    /// GM (or the host, attesting e.g. a Discord GM role): make a player a GM too.
    GrantGm {
        player: PlayerId,
    },
    /// GM: a private message to one player.
    Whisper {
        to: PlayerId,
        text: String,
    },
    /// System: the host's clock reached [`crate::next_deadline`].
    Tick,
    /// System: after a restart, give the active player the time they had left.
    ResumeClock,
    /// System (or GM): the active NPC acts. `intent`, when the NPC policy stated one,
    /// is recorded before the action as a GM-only [`crate::EventKind::NpcIntent`].
    NpcAct {
        option: NpcOption,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        intent: Option<String>,
    },
}

impl Action {
    /// Actions that count as taking a turn in combat (refused from non-active players).
    pub fn is_turn_action(&self) -> bool {
        matches!(
            self,
            Action::Attack { .. }
                | Action::Cast { .. }
                | Action::UseItem { .. }
                | Action::UseFeature { .. }
                | Action::Dodge
                | Action::Move { .. }
                | Action::Dash
                | Action::Disengage
                | Action::BreakFree
                | Action::Help { .. }
                | Action::Hide
                | Action::Ready { .. }
                | Action::EndTurn
        )
    }
}
