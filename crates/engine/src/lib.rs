//! dicebard's rules engine: dice, 5e characters and rules, and the turn state machine.
//!
//! This crate owns every mechanical outcome at the table and nothing else. It does no
//! IO, has no async, reads no clock and has no ambient randomness: callers hand it the
//! time (`now`) and a [`dice::Dice`]. See ARCHITECTURE.md for the API and invariants.

pub mod ability;
pub mod character;
pub mod class_options;
pub mod command;
pub mod condition;
pub mod creature;
pub mod data;
pub mod dice;
pub mod effect;
pub mod error;
pub mod event;
pub mod features;
pub mod ids;
pub mod monster_coverage;
pub mod monster_list;
pub mod rules;
pub mod spell_choice;
pub mod state;
pub mod view;

pub use command::{Action, Actor, Command, MonsterGroup, NpcOption};
pub use error::RuleError;
pub use event::{EVENT_VERSION, Event, EventKind, Viewer, Visibility};
pub use ids::{CreatureId, PlayerId, Timestamp};
pub use monster_list::parse_monster_list;
pub use rules::apply::apply;
pub use rules::combat::{choose_npc_option, next_deadline, npc_options};
pub use rules::{decide, find_creature};
pub use state::{CampaignState, NarratorMode, Settings};

/// Rebuilds a state by replaying events from the start.
pub fn replay<'a>(
    catalog: std::sync::Arc<data::Catalog>,
    events: impl IntoIterator<Item = &'a Event>,
) -> CampaignState {
    let mut s = CampaignState::new(catalog);
    for e in events {
        apply(&mut s, e);
    }
    s
}
