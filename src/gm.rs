//! Everything the LLM game master brings, built from the configuration in one call,
//! for the composition root: the narrator (LLM with built-in fallback, or built-in
//! only), the NPC policy for [`crate::coordinator::CoordinatorOptions`], the free-text
//! reader, and the usage report for `/campaign status`.

use crate::clock::Clock;
use crate::config::Config;
use crate::coordinator::Committed;
use crate::coordinator::{BuiltinPolicy, NpcPolicy};
use crate::intent::IntentResolver;
use crate::llm::{Llm, LlmError, LlmNpcPolicy, UsageReport};
use crate::narrator::{BuiltinNarrator, LlmNarrator, NarrationStream, Narrator};
use crate::store::{CampaignId, Store};
use dicebard_engine::{CampaignState, NarratorMode};
use std::sync::Arc;

/// The game master's parts.
#[derive(Clone)]
pub struct GameMaster {
    /// The LLM, when one is configured.
    pub llm: Option<Arc<Llm>>,
    /// The LLM narrator, for streaming ([`LlmNarrator::narrate_stream`]).
    pub llm_narrator: Option<LlmNarrator>,
    /// The narrator to use through the [`Narrator`] trait (the LLM one, or built-in).
    pub narrator: Arc<dyn Narrator>,
    /// Put this in `CoordinatorOptions::npc_policy`.
    pub npc_policy: Arc<dyn NpcPolicy>,
    /// Reads players' free text and speech.
    pub intent: Arc<IntentResolver>,
}

impl GameMaster {
    /// No LLM: the built-in narrator, policy and phrase parser.
    pub fn builtin() -> Self {
        GameMaster {
            llm: None,
            llm_narrator: None,
            narrator: Arc::new(BuiltinNarrator),
            npc_policy: Arc::new(BuiltinPolicy),
            intent: Arc::new(IntentResolver::new(None)),
        }
    }

    /// What `config` asks for (`narrator.kind` and `[llm]`). `store` keeps summaries,
    /// facts and usage across restarts.
    pub fn from_config(
        config: &Config,
        store: Option<Store>,
        clock: Clock,
    ) -> Result<Self, LlmError> {
        let Some(llm) = Llm::from_config(config, store.clone(), clock)? else {
            return Ok(Self::builtin());
        };
        let narrator = LlmNarrator::new(llm.clone(), store.clone(), clock);
        let npc_policy: Arc<dyn NpcPolicy> = if llm.settings().npc_decisions {
            Arc::new(LlmNpcPolicy::new(llm.clone()))
        } else {
            Arc::new(BuiltinPolicy)
        };
        Ok(GameMaster {
            llm: Some(llm.clone()),
            narrator: Arc::new(narrator.clone()),
            llm_narrator: Some(narrator),
            npc_policy,
            intent: Arc::new(IntentResolver::new(Some(llm))),
        })
    }

    /// Whether the LLM tells this campaign's story (configured, and not turned off by
    /// the GM with the built-in narrator setting).
    pub fn narrates(&self, state: &CampaignState) -> bool {
        self.llm_narrator.is_some() && state.settings.narrator != NarratorMode::Builtin
    }

    /// Starts the LLM's telling of a batch of committed events (`state` is the state
    /// after them), when [`GameMaster::narrates`] this campaign; `None` otherwise. Front
    /// ends show the engine's own lines for the mechanics and add the stream's
    /// [`NarrationSource::Llm`](crate::narrator::NarrationSource) sentences as prose;
    /// its notices are for the GM. Every batch goes through, story or not, so the
    /// narrator's memory sees the whole campaign; the LLM is only asked when there is a
    /// story to tell.
    pub async fn story(
        &self,
        state: &CampaignState,
        batch: &[Arc<Committed>],
    ) -> Option<NarrationStream> {
        if !self.narrates(state) || batch.is_empty() {
            return None;
        }
        let n = self.llm_narrator.as_ref()?;
        Some(n.narrate_stream(state, batch).await)
    }

    /// The campaign's LLM spend (`None` without an LLM).
    pub async fn usage(&self, campaign_id: CampaignId) -> Option<UsageReport> {
        match &self.llm_narrator {
            Some(n) => Some(n.usage(campaign_id).await),
            None => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::NarratorKind;

    #[tokio::test]
    async fn built_from_the_config() {
        let mut c = Config::default();
        let gm = GameMaster::from_config(&c, None, Clock::system()).unwrap();
        assert!(gm.llm.is_none() && gm.usage(CampaignId(1)).await.is_none());
        c.narrator.kind = NarratorKind::Openai;
        c.llm.base_url = Some("http://127.0.0.1:9/v1".into());
        let gm = GameMaster::from_config(&c, None, Clock::system()).unwrap();
        assert!(gm.llm_narrator.is_some());
        let usage = gm.usage(CampaignId(1)).await.unwrap();
        assert_eq!((usage.provider.as_str(), usage.tokens_today), ("openai", 0));
    }
}
