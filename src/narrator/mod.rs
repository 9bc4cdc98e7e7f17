//! Narration: committed events → the game master's prose.
//!
//! The [`Narrator`] boundary takes events that are already committed and returns text.
//! It never decides anything: every number in the prose comes from the events. This
//! module has the deterministic built-in narrator and the LLM narrator ([`llm`]: its
//! memory of a campaign in [`memory`], the prompts built from it in [`prompt`], events
//! as prompt lines in [`events`]), which plugs in behind the same trait and falls back
//! to the built-in one event by event.

mod builtin;
pub mod events;
pub mod llm;
pub mod memory;
pub mod prompt;

pub use builtin::BuiltinNarrator;
pub use llm::{
    EditPacer, LlmNarrator, NarrationEvent, NarrationOutcome, NarrationSource, NarrationStream,
    SentenceSplitter,
};

use crate::coordinator::Committed;
use dicebard_engine::{CampaignState, Visibility};
use futures_util::future::BoxFuture;
use std::sync::Arc;

/// A piece of narration and who may read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Narration {
    /// The sequence number of the event it tells of.
    pub seq: u64,
    pub visibility: Visibility,
    pub text: String,
}

/// Turns committed events into prose. `state` is the campaign state after the events.
pub trait Narrator: Send + Sync + 'static {
    fn narrate<'a>(
        &'a self,
        state: &'a CampaignState,
        events: &'a [Arc<Committed>],
    ) -> BoxFuture<'a, Vec<Narration>>;
}
