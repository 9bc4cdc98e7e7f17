//! Shared test helpers: the fake LLM server and small campaigns built through the
//! real engine.

#![allow(dead_code)]

pub mod bot;
pub mod browser;
pub mod fake_llm;
pub mod web;

use dicebard::clock::Clock;
use dicebard::config::Secret;
use dicebard::coordinator::CampaignId;
use dicebard::coordinator::{Committed, Origin};
use dicebard::llm::{Llm, LlmSettings, ProviderConfig, ProviderKind};
use dicebard::store::Store;
use dicebard_engine::character::CharacterSpec;
use dicebard_engine::dice::SeededDice;
use dicebard_engine::{
    Action, CampaignState, Command, MonsterGroup, Settings, Timestamp, apply, decide,
};
use fake_llm::FakeLlm;
use std::sync::Arc;
use std::time::Duration;

/// The API key the tests configure (it must never show up in output).
pub const KEY: &str = "sk-test-SECRET-key-0123456789";

/// A campaign driven through the engine, with its log as committed events.
pub struct World {
    pub campaign_id: i64,
    pub state: CampaignState,
    pub log: Vec<Arc<Committed>>,
    dice: SeededDice,
    now: u64,
}

impl World {
    pub fn new(campaign_id: i64, name: &str) -> World {
        let catalog = Arc::new(dicebard_srd::catalog().clone());
        let mut w = World {
            campaign_id,
            state: CampaignState::new(catalog),
            log: Vec::new(),
            dice: SeededDice::new(7),
            now: 1_700_000_000_000,
        };
        w.run(
            "gm",
            Action::StartCampaign {
                name: name.into(),
                settings: Settings::default(),
            },
        );
        w
    }

    /// Runs a command for `player` (panics if the engine refuses).
    pub fn run(&mut self, player: &str, action: Action) -> Vec<Arc<Committed>> {
        self.try_run(player, action)
            .unwrap_or_else(|e| panic!("refused: {e}"))
    }

    pub fn try_run(
        &mut self,
        player: &str,
        action: Action,
    ) -> Result<Vec<Arc<Committed>>, dicebard_engine::RuleError> {
        self.now += 1_000;
        let cmd = if player == "system" {
            Command::system(action)
        } else {
            Command::player(player, action)
        };
        let events = decide(&self.state, cmd, &mut self.dice, Timestamp(self.now))?;
        let mut out = Vec::new();
        for e in events {
            apply(&mut self.state, &e);
            let c = Arc::new(Committed {
                campaign_id: CampaignId(self.campaign_id),
                seq: self.log.len() as u64 + 1,
                event: e,
                origin: Origin::system(),
            });
            self.log.push(c.clone());
            out.push(c);
        }
        Ok(out)
    }

    /// Thorin (alice, dwarf fighter), Mira (bob, elf wizard), Brakka (carol, half-orc
    /// barbarian).
    pub fn party(campaign_id: i64) -> World {
        let mut w = World::new(campaign_id, &format!("Test campaign {campaign_id}"));
        for (p, name, class, race) in [
            ("alice", "Thorin", "fighter", "dwarf"),
            ("bob", "Mira", "wizard", "elf"),
            ("carol", "Brakka", "barbarian", "half-orc"),
        ] {
            w.run(
                p,
                Action::CreateCharacter {
                    spec: CharacterSpec::quick(name, class, race),
                },
            );
        }
        w
    }

    /// The party against two goblins and an ogre.
    pub fn fight(campaign_id: i64) -> World {
        let mut w = World::party(campaign_id);
        w.run(
            "gm",
            Action::StartCombat {
                monsters: vec![
                    MonsterGroup {
                        monster: "goblin".into(),
                        count: 2,
                    },
                    MonsterGroup {
                        monster: "ogre".into(),
                        count: 1,
                    },
                ],
            },
        );
        w
    }
}

/// Settings suited to tests: quick retries, short timeouts.
pub fn test_settings() -> LlmSettings {
    let mut s = LlmSettings::default();
    s.http.backoff = Duration::from_millis(10);
    s.http.stall_timeout = Duration::from_secs(3);
    s.http.timeout = Duration::from_secs(10);
    s.http.connect_timeout = Duration::from_secs(2);
    s.decision_timeout = Duration::from_secs(3);
    s
}

pub fn llm_with(
    kind: ProviderKind,
    base_url: &str,
    settings: LlmSettings,
    store: Option<Store>,
) -> Arc<Llm> {
    let provider = dicebard::llm::provider(ProviderConfig {
        kind,
        base_url: base_url.to_string(),
        model: "fake-model".into(),
        api_key: Some(Secret::new(KEY)),
        http: settings.http.clone(),
    })
    .unwrap();
    Arc::new(Llm::new(provider, settings, store, Clock::system()))
}

pub fn llm(kind: ProviderKind, server: &FakeLlm) -> Arc<Llm> {
    llm_with(kind, &server.base_url(), test_settings(), None)
}

impl World {
    /// The player whose character is acting, if a player character is up.
    pub fn active_player(&self) -> Option<String> {
        self.state
            .active_creature()
            .and_then(|c| c.owner())
            .map(|p| p.to_string())
    }

    /// Passes monster turns until a player character is up; returns that player.
    pub fn until_pc_turn(&mut self) -> String {
        for _ in 0..20 {
            if let Some(p) = self.active_player() {
                return p;
            }
            self.run(
                "system",
                Action::NpcAct {
                    option: dicebard_engine::NpcOption::Pass,
                    intent: None,
                },
            );
        }
        panic!("no player character's turn came");
    }

    /// Ends player turns until a monster is up.
    pub fn until_npc_turn(&mut self) {
        for _ in 0..20 {
            match self.active_player() {
                Some(p) => {
                    self.run(&p, Action::EndTurn);
                }
                None => return,
            }
        }
        panic!("no monster's turn came");
    }

    /// The acting player attacks Goblin 1: the events of that attack.
    pub fn attack_goblin(&mut self) -> Vec<Arc<Committed>> {
        let p = self.until_pc_turn();
        self.run(
            &p,
            Action::Attack {
                target: "Goblin 1".into(),
                weapon: None,
            },
        )
    }
}
