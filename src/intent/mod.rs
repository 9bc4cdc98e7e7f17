//! Intent: a player's free text or speech ("I swing my axe at the big one and then hide
//! behind the cart") → engine commands. The LLM reads it when one is configured
//! ([`llm`]: a tool call validated against the scene); the deterministic parser
//! ([`parse`]) answers when there is no LLM, or it is slow, failing, or proposes
//! anything invalid. Either may instead ask the player a clarifying question.
//!
//! This module only proposes: it produces [`Action`]s a player may issue (never
//! GM-only or system ones such as `SetHp`, `Damage`, `StartCombat`, `Tick`, `NpcAct`),
//! with names resolved against the [`Scene`], and the front end submits them to the
//! coordinator, where the engine checks everything again. It does no IO itself beyond
//! the LLM request.

pub mod act;
pub mod fuzzy;
pub mod llm;
pub mod parse;
pub mod scene;

pub use act::{ActOutcome, act_free_text};
pub use scene::{Found, Prefer, Scene};

use crate::clock::Clock;
use crate::llm::{Breaker, Llm};
use crate::store::CampaignId;
use dicebard_engine::{Action, CampaignState, PlayerId};
use serde::Serialize;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use tracing::Instrument;

/// What a piece of free text means.
#[derive(Debug, Clone, PartialEq)]
pub enum IntentOutcome {
    /// Submit these, in order (stop at the first refusal).
    Commands(Vec<Action>),
    /// Ask the player this.
    Clarify(String),
    /// Nothing to do; the message says how to phrase it.
    NotUnderstood(String),
}

/// Who understood the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IntentSource {
    Llm,
    Parser,
}

/// The reading of a piece of text.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolution {
    pub outcome: IntentOutcome,
    pub source: IntentSource,
    /// Why the LLM's reading was not used, when it was tried.
    pub llm_error: Option<String>,
    /// Something the player should be told (they hit the per-minute limit).
    pub notice: Option<String>,
}

/// At most `per_minute` LLM readings per player in any 60 s (`llm.user_requests_per_minute`),
/// on the one clock (so tests run it on paused time).
pub struct RateLimiter {
    per_minute: u32,
    clock: Clock,
    recent: Mutex<HashMap<String, VecDeque<u64>>>,
}

/// Players remembered by the limiter before idle ones are forgotten.
const MAX_TRACKED_PLAYERS: usize = 10_000;
const WINDOW_MS: u64 = 60_000;

impl RateLimiter {
    pub fn new(per_minute: u32, clock: Clock) -> Self {
        RateLimiter {
            per_minute,
            clock,
            recent: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one request by `who` now; false (and not counted) when over the limit.
    pub fn allow(&self, who: &str) -> bool {
        if self.per_minute == 0 {
            return true;
        }
        let now = self.clock.now().0;
        let mut map = self.recent.lock().expect("rate limiter poisoned");
        if map.len() >= MAX_TRACKED_PLAYERS && !map.contains_key(who) {
            map.retain(|_, q| q.back().is_some_and(|t| now.saturating_sub(*t) < WINDOW_MS));
            if map.len() >= MAX_TRACKED_PLAYERS {
                return false;
            }
        }
        let q = map.entry(who.to_string()).or_default();
        while q
            .front()
            .is_some_and(|t| now.saturating_sub(*t) >= WINDOW_MS)
        {
            q.pop_front();
        }
        if q.len() >= self.per_minute as usize {
            return false;
        }
        q.push_back(now);
        true
    }
}

/// The game master's answer to free text that sets nothing in motion ("ignore all
/// previous instructions and …"): in character, with things to try in this scene —
/// never a command parser's error.
pub fn nothing_happens(scene: &Scene) -> String {
    let foe = scene
        .foes()
        .find(|c| !c.down && !c.dead)
        .map(|c| c.name.to_lowercase())
        .unwrap_or_else(|| "the goblin".into());
    let spell = scene
        .spells
        .iter()
        .find(|s| s.level == 0)
        .or_else(|| scene.spells.first())
        .map(|s| s.name.to_lowercase())
        .unwrap_or_else(|| "fire bolt".into());
    let weapon = scene
        .weapons
        .first()
        .map(|w| format!(" with my {}", w.name.to_lowercase()))
        .unwrap_or_default();
    let mut tries = vec![
        format!("\"I attack {foe}{weapon}\""),
        format!("\"cast {spell} at {foe}\""),
        "\"roll stealth\"".to_string(),
    ];
    if scene.in_combat {
        tries.push("\"end my turn\"".into());
    } else {
        tries.push("\"I search the room\"".into());
    }
    let last = tries.pop().unwrap_or_default();
    format!(
        "The game master considers that, but nothing happens. Say what your character does — try {} or {last}.",
        tries.join(", ")
    )
}

/// Gives a reading that sets nothing in motion the game master's answer.
fn helpful(outcome: IntentOutcome, scene: &Scene) -> IntentOutcome {
    match outcome {
        IntentOutcome::NotUnderstood(_) => IntentOutcome::NotUnderstood(nothing_happens(scene)),
        IntentOutcome::Commands(a) if a.is_empty() => {
            IntentOutcome::NotUnderstood(nothing_happens(scene))
        }
        other => other,
    }
}

/// Reads free text: LLM first when configured and healthy, the parser otherwise.
pub struct IntentResolver {
    llm: Option<Arc<Llm>>,
    breaker: Breaker,
    limiter: RateLimiter,
}

impl IntentResolver {
    pub fn new(llm: Option<Arc<Llm>>) -> Self {
        Self::with_clock(llm, Clock::system())
    }

    /// With the per-player limit counted on `clock`.
    pub fn with_clock(llm: Option<Arc<Llm>>, clock: Clock) -> Self {
        let per_minute = llm
            .as_ref()
            .map_or(0, |l| l.settings().user_requests_per_minute);
        IntentResolver {
            llm,
            breaker: Breaker::default(),
            limiter: RateLimiter::new(per_minute, clock),
        }
    }

    /// What `text` from `player` means in `campaign_id` now.
    pub async fn resolve(
        &self,
        campaign_id: CampaignId,
        state: &CampaignState,
        player: &PlayerId,
        text: &str,
    ) -> Resolution {
        let scene = Scene::new(state, player);
        let parser = |llm_error: Option<String>| Resolution {
            outcome: helpful(parse::parse(text, &scene), &scene),
            source: IntentSource::Parser,
            llm_error,
            notice: None,
        };
        // The GM may keep the LLM out of a campaign altogether.
        let llm_allowed = state.settings.narrator != dicebard_engine::NarratorMode::Builtin;
        let Some(llm) = self
            .llm
            .as_ref()
            .filter(|_| llm_allowed && !text.trim().is_empty())
        else {
            return parser(None);
        };
        if !self.breaker.allow(campaign_id) {
            return parser(Some("the LLM is resting after a failure".into()));
        }
        if !self.limiter.allow(player.as_str()) {
            let per_minute = llm.settings().user_requests_per_minute;
            tracing::info!(player = %player, per_minute, "LLM reading rate limit hit; using the phrase parser");
            let mut r = parser(Some(format!(
                "over the limit of {per_minute} LLM readings a minute"
            )));
            r.notice = Some(format!(
                "You're acting fast: the game master reads at most {per_minute} free-text actions a minute with the LLM, so the built-in phrase reader took this one."
            ));
            return r;
        }
        let req = llm::request(&scene, text);
        let span = tracing::debug_span!("intent", campaign = campaign_id.get());
        let answer = llm
            .complete(campaign_id, &req, llm.settings().decision_timeout)
            .instrument(span)
            .await;
        match answer {
            Ok(resp) => {
                self.breaker.success(campaign_id);
                let args = resp
                    .tool_calls
                    .iter()
                    .find(|c| c.name == llm::TOOL)
                    .map(|c| c.arguments.as_str());
                match llm::validate(args, &resp.text, &scene, text) {
                    Ok(outcome) => Resolution {
                        outcome: helpful(outcome, &scene),
                        source: IntentSource::Llm,
                        llm_error: None,
                        notice: None,
                    },
                    Err(why) => {
                        tracing::info!(reason = %why, "LLM intent rejected; using the phrase parser");
                        llm.record_failure(
                            campaign_id,
                            &crate::llm::LlmError::BadResponse(why.clone()),
                        );
                        parser(Some(why))
                    }
                }
            }
            Err(e) => {
                if self.breaker.failure(campaign_id) {
                    tracing::warn!(error = %e, "LLM intent failing; using the phrase parser");
                }
                parser(Some(e.to_string()))
            }
        }
    }
}

/// Entry points for the coverage-guided fuzz targets (`fuzz-bot/`) and their corpus
/// replay in the test suite. Not an API.
#[doc(hidden)]
pub mod fuzzing {
    use super::{IntentOutcome, Scene, helpful, parse};
    use dicebard_engine::character::CharacterSpec;
    use dicebard_engine::dice::SeededDice;
    use dicebard_engine::{
        Action, CampaignState, Command, MonsterGroup, PlayerId, Settings, Timestamp, apply, decide,
    };
    use std::sync::{Arc, OnceLock};

    /// A table in a fight: Alice's dwarf fighter, Bob's elf wizard, two goblins and a
    /// wolf, someone's turn.
    fn table() -> &'static CampaignState {
        static S: OnceLock<CampaignState> = OnceLock::new();
        S.get_or_init(|| {
            let mut s = CampaignState::new(Arc::new(dicebard_srd::catalog().clone()));
            let mut t = 0;
            let mut run = |s: &mut CampaignState, who: &str, action: Action| {
                t += 1_000;
                let events = decide(
                    s,
                    Command::player(who, action),
                    &mut SeededDice::new(t),
                    Timestamp(t),
                )
                .expect("the fuzz table is set up by valid commands");
                for e in &events {
                    apply(s, e);
                }
            };
            run(
                &mut s,
                "gm",
                Action::StartCampaign {
                    name: "Fuzz".into(),
                    settings: Settings::default(),
                },
            );
            for (p, name, class, race) in [
                ("alice", "Thorin", "fighter", "dwarf"),
                ("bob", "Mira", "wizard", "elf"),
            ] {
                run(&mut s, p, Action::Join { name: p.into() });
                run(
                    &mut s,
                    p,
                    Action::CreateCharacter {
                        spec: CharacterSpec::quick(name, class, race),
                    },
                );
            }
            run(
                &mut s,
                "gm",
                Action::StartCombat {
                    monsters: vec![
                        MonsterGroup {
                            monster: "goblin".into(),
                            count: 2,
                        },
                        MonsterGroup {
                            monster: "wolf".into(),
                            count: 1,
                        },
                    ],
                },
            );
            s
        })
    }

    /// Free text from a player (typed with `/act`, or heard by speech-to-text): the
    /// deterministic reading, then every action it yields through the rules. Must never
    /// panic, whatever the text; refusals are fine.
    pub fn intent_text(text: &str) {
        let state = table();
        for who in ["alice", "bob", "gm", "carol"] {
            let player = PlayerId::new(who);
            let scene = Scene::new(state, &player);
            match helpful(parse::parse(text, &scene), &scene) {
                IntentOutcome::Commands(actions) => {
                    let mut s = state.clone();
                    for (i, action) in actions.into_iter().enumerate() {
                        let cmd = Command::player(who, action);
                        let t = Timestamp(s.clock.0 + 1_000);
                        match decide(&s, cmd, &mut SeededDice::new(i as u64), t) {
                            Ok(events) => events.iter().for_each(|e| apply(&mut s, e)),
                            Err(_) => break,
                        }
                    }
                }
                IntentOutcome::Clarify(m) | IntentOutcome::NotUnderstood(m) => {
                    assert!(!m.is_empty(), "an empty answer to {text:?}");
                }
            }
        }
    }

    /// An LLM's tool-call JSON (or JSON buried in prose) for the intent reader and the
    /// NPC policy, validated against the same table in a fight: never a panic, only
    /// commands a player may issue, and only an NPC choice that was offered. Before the
    /// first NUL: the tool call's arguments; after it: the reply's prose.
    pub fn llm_tool_call(data: &[u8]) {
        let text = String::from_utf8_lossy(data);
        let (args, prose) = text.split_once('\0').unwrap_or((&text, ""));
        let state = table();
        for who in ["alice", "bob", "gm"] {
            let scene = Scene::new(state, &PlayerId::new(who));
            for r in [
                super::llm::validate(Some(args), prose, &scene, prose),
                super::llm::validate(None, &text, &scene, args),
            ] {
                if let Ok(IntentOutcome::Commands(actions)) = r {
                    assert!(actions.len() <= parse::MAX_COMMANDS);
                    for a in &actions {
                        assert!(
                            !matches!(
                                a,
                                Action::SetHp { .. }
                                    | Action::StartCombat { .. }
                                    | Action::NpcAct { .. }
                                    | Action::StartCampaign { .. }
                            ),
                            "a GM or system action from the LLM: {a:?}"
                        );
                    }
                }
            }
        }
        let mut options = dicebard_engine::npc_options(state);
        if options.is_empty() {
            options = vec![dicebard_engine::NpcOption::Pass];
        }
        if let Some((choice, intent)) =
            crate::llm::LlmNpcPolicy::parse_choice(prose, Some(args), &options)
        {
            assert!(options.contains(&choice));
            assert!(intent.chars().count() <= 400);
        }
    }
}
