//! Heard speech → a table action, for every voice front end (Discord's voice calls
//! today, a phone's microphone later): the wake word, turn gating (in a fight only the
//! active player's speech is an action; the rest is table talk), the echo of what was
//! heard, then [`act_free_text`] as the speaker. Committed events are narrated like any
//! other; refusals and questions are answered to the speaker. What to show is handed to
//! the front end as a [`VoiceReply`]; how it looks is the front end's business.

use super::settings::VoiceSettings;
use crate::coordinator::CampaignId;
use crate::coordinator::{Coordinator, Origin, Source};
use crate::intent::{ActOutcome, IntentResolver, act_free_text};
use dicebard_engine::{CampaignState, PlayerId};
use std::time::Instant;
use tracing::Instrument;

/// One transcribed utterance of a known player.
#[derive(Debug, Clone)]
pub struct HeardSpeech {
    pub player: PlayerId,
    pub text: String,
    /// When the speaker stopped talking.
    pub speech_end: Instant,
}

/// What the table is shown about heard speech.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VoiceReply {
    /// What the speaker said, taken as their action. `name`: their character's or
    /// table name, when they have one.
    Echo { name: Option<String>, text: String },
    /// Out-of-turn words in a fight, shown as table talk (when the GM turned it on).
    TableTalk { name: String, text: String },
    /// A refusal, a question or a notice for the speaker.
    ToSpeaker { text: String },
}

/// Where a front end shows [`VoiceReply`]s for one utterance.
#[async_trait::async_trait]
pub trait VoiceOut: Send + Sync {
    async fn show(&self, reply: VoiceReply);
}

/// The wake phrases ("game master, …"), longest first, as word lists.
const WAKE: &[&[&str]] = &[
    &["hey", "game", "master"],
    &["ok", "game", "master"],
    &["okay", "game", "master"],
    &["game", "master"],
    &["hey", "gamemaster"],
    &["gamemaster"],
];

/// The command after a wake phrase at the start of `text` ("Game master, I attack the
/// goblin." → "I attack the goblin."), or `None` when it does not start with one (or
/// nothing follows it).
pub fn strip_wake_word(text: &str) -> Option<String> {
    let words: Vec<(usize, usize)> = word_spans(text);
    for phrase in WAKE {
        if words.len() < phrase.len() {
            continue;
        }
        let matches = phrase.iter().zip(&words).all(|(want, &(s, e))| {
            text[s..e]
                .chars()
                .filter(|c| c.is_alphanumeric())
                .flat_map(char::to_lowercase)
                .collect::<String>()
                == *want
        });
        if matches {
            let end = words[phrase.len() - 1].1;
            let rest = text[end..]
                .trim_start_matches(|c: char| {
                    c.is_whitespace() || matches!(c, ',' | '.' | ':' | ';' | '!' | '-' | '—')
                })
                .trim_end();
            return (!rest.is_empty()).then(|| rest.to_string());
        }
    }
    None
}

/// Byte spans of whitespace- or hyphen-separated words ("game-master" is two words).
fn word_spans(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        let sep = c.is_whitespace() || c == '-' || c == ',';
        match (sep, start) {
            (true, Some(s)) => {
                out.push((s, i));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, text.len()));
    }
    out
}

/// Whether a speaker's words are an action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    /// Take it as the speaker's action.
    Act,
    /// A fight is on and it is someone else's turn: table talk.
    NotTheirTurn,
    /// The speaker has not joined this campaign.
    NotAtTable,
}

/// In combat only the player who owns the active creature acts by voice; out of combat
/// every player at the table does.
pub fn gate(state: &CampaignState, player: &PlayerId) -> Gate {
    if !state.players.contains_key(player) && !state.is_gm(player) {
        return Gate::NotAtTable;
    }
    if state.in_combat() {
        let theirs = state
            .active_creature()
            .and_then(|c| c.owner())
            .is_some_and(|owner| owner == player);
        if !theirs {
            return Gate::NotTheirTurn;
        }
    }
    Gate::Act
}

/// The name shown for a speaker: their character's, else their table name.
pub fn speaker_name(state: &CampaignState, player: &PlayerId) -> Option<String> {
    state
        .character_of(player)
        .map(|c| c.name.clone())
        .or_else(|| state.players.get(player).map(|p| p.name.clone()))
}

/// What became of one heard utterance.
#[derive(Debug)]
pub enum HeardResult {
    /// Voice input is off in this campaign.
    InputOff,
    /// The wake word is on and was not said.
    NoWakeWord,
    /// Not an action (see [`Gate`]).
    Ignored(Gate),
    /// Submitted; the outcome.
    Acted(ActOutcome),
    /// The campaign could not be read.
    Failed(String),
}

/// Everything [`handle_heard`] needs.
pub struct HeardEnv<'a> {
    pub coord: &'a Coordinator,
    pub intent: &'a IntentResolver,
    pub out: &'a dyn VoiceOut,
}

/// Takes one heard utterance in `campaign`.
pub async fn handle_heard(
    env: &HeardEnv<'_>,
    campaign: CampaignId,
    settings: &VoiceSettings,
    heard: &HeardSpeech,
) -> HeardResult {
    let player = &heard.player;
    let span = tracing::info_span!("voice_heard", campaign = campaign.get(), player = %player);
    async move {
        if !settings.input {
            return HeardResult::InputOff;
        }
        let text = if settings.wake_word {
            match strip_wake_word(&heard.text) {
                Some(t) => t,
                None => {
                    tracing::debug!(text = %heard.text, "no wake word: not for the game master");
                    return HeardResult::NoWakeWord;
                }
            }
        } else {
            heard.text.trim().to_string()
        };
        let state = match env.coord.snapshot(campaign).await {
            Ok(s) => s.state,
            Err(e) => return HeardResult::Failed(e.to_string()),
        };
        let g = gate(&state, player);
        if g != Gate::Act {
            tracing::debug!(gate = ?g, text = %text, "table talk, not an action");
            if settings.table_talk
                && g == Gate::NotTheirTurn
                && let Some(name) = speaker_name(&state, player)
            {
                env.out.show(VoiceReply::TableTalk { name, text }).await;
            }
            return HeardResult::Ignored(g);
        }
        env.out
            .show(VoiceReply::Echo {
                name: speaker_name(&state, player),
                text: text.clone(),
            })
            .await;
        let origin = Origin {
            source: Source::Voice,
            player: Some(player.clone()),
            interaction: None,
        };
        let outcome = act_free_text(
            env.coord, env.intent, campaign, player, &text, origin, false,
        )
        .await;
        match &outcome {
            ActOutcome::Done { events, notice, .. } => {
                tracing::info!(
                    events = events.len(),
                    latency_ms = heard.speech_end.elapsed().as_millis() as u64,
                    "voice action committed"
                );
                if let Some(n) = notice {
                    env.out
                        .show(VoiceReply::ToSpeaker { text: n.clone() })
                        .await;
                }
            }
            other => {
                if let Some(msg) = other.message() {
                    tracing::info!(reply = %msg, "voice action not taken");
                    env.out.show(VoiceReply::ToSpeaker { text: msg }).await;
                }
            }
        }
        HeardResult::Acted(outcome)
    }
    .instrument(span)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use dicebard_engine::character::CharacterSpec;
    use dicebard_engine::dice::SeededDice;
    use dicebard_engine::{Action, Actor, Command, MonsterGroup, Timestamp, apply, decide};
    use std::sync::Arc;

    #[test]
    fn wake_word_is_stripped_or_required() {
        assert_eq!(
            strip_wake_word("Game master, I attack the goblin.").as_deref(),
            Some("I attack the goblin.")
        );
        assert_eq!(
            strip_wake_word("game master I search the room").as_deref(),
            Some("I search the room")
        );
        assert_eq!(
            strip_wake_word("Hey, Game Master: roll for initiative!").as_deref(),
            Some("roll for initiative!")
        );
        assert_eq!(
            strip_wake_word("Gamemaster. I drink a potion.").as_deref(),
            Some("I drink a potion.")
        );
        assert_eq!(
            strip_wake_word("Game-master, I hide.").as_deref(),
            Some("I hide.")
        );
        assert_eq!(strip_wake_word("I attack the goblin."), None);
        assert_eq!(strip_wake_word("The game master is slow."), None);
        assert_eq!(strip_wake_word("Game master."), None, "nothing after it");
        assert_eq!(strip_wake_word(""), None);
        assert_eq!(strip_wake_word("game"), None);
    }

    fn run(state: &mut CampaignState, by: Actor, action: Action) {
        let mut dice = SeededDice::new(3);
        let events = decide(state, Command { by, action }, &mut dice, Timestamp(1))
            .unwrap_or_else(|e| panic!("{e}"));
        for e in &events {
            apply(state, e);
        }
    }

    #[test]
    fn only_the_active_player_acts_in_combat() {
        let alice = PlayerId::new("discord:1");
        let bob = PlayerId::new("discord:2");
        let stranger = PlayerId::new("discord:3");
        let mut s = CampaignState::new(Arc::new(dicebard_srd::catalog().clone()));
        run(
            &mut s,
            Actor::Player(alice.clone()),
            Action::StartCampaign {
                name: "t".into(),
                settings: Default::default(),
            },
        );
        for (p, n) in [(&alice, "Thorin"), (&bob, "Mira")] {
            run(
                &mut s,
                Actor::Player(p.clone()),
                Action::CreateCharacter {
                    spec: CharacterSpec::quick(n, "fighter", "human"),
                },
            );
        }
        assert_eq!(gate(&s, &alice), Gate::Act);
        assert_eq!(gate(&s, &bob), Gate::Act);
        assert_eq!(gate(&s, &stranger), Gate::NotAtTable);
        assert_eq!(speaker_name(&s, &bob).as_deref(), Some("Mira"));

        run(
            &mut s,
            Actor::Player(alice.clone()),
            Action::StartCombat {
                monsters: vec![MonsterGroup {
                    monster: "goblin".into(),
                    count: 1,
                }],
            },
        );
        let active = s.active_creature().unwrap();
        let owner = active.owner().cloned();
        for p in [&alice, &bob] {
            let want = if Some(p) == owner.as_ref() {
                Gate::Act
            } else {
                Gate::NotTheirTurn
            };
            assert_eq!(gate(&s, p), want, "{p:?}, active {}", active.name);
        }
        assert_eq!(gate(&s, &stranger), Gate::NotAtTable);
    }
}
