//! The LLM narrator's memory of a campaign: a rolling summary (refreshed every N
//! events), key facts (names, places, quests, promises) retrieved by keyword relevance,
//! and the last few events verbatim. Every part has a hard size cap, so a prompt stays
//! the same size whether the campaign has fifty events or fifty thousand. The prompts
//! built from it are in `prompt.rs`, the event lines in `events.rs`.
//!
//! Only events every player may see (public or party) ever enter memory or a prompt,
//! so a whisper or a secret roll cannot leak into the prose read to the whole table.

use super::events::{event_line, is_table_visible, name_of};
use crate::coordinator::Committed;
use crate::llm::text::{clip, extract_json_object, fence};
use dicebard_engine::{CampaignState, EventKind};
use serde::{Deserialize, Serialize};
use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

/// Longest rolling summary, in characters.
pub const MAX_SUMMARY_CHARS: usize = 1_500;
/// Longest single event line.
pub const MAX_LINE_CHARS: usize = 240;
/// Most new-event lines in one prompt (the first few and the last ones are kept).
pub const MAX_NEW_EVENT_LINES: usize = 24;
/// Longest fact body.
pub const MAX_FACT_CHARS: usize = 200;
/// Facts kept in memory per campaign (older ones stay in the store).
pub const MAX_FACTS_KEPT: usize = 2_000;
/// Longest piece of a player's own words quoted in a prompt.
pub const MAX_PLAYER_TEXT_CHARS: usize = 300;
/// Lines kept for the next summary refresh.
const MAX_PENDING_LINES: usize = 80;

/// What a fact is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FactKind {
    Person,
    Creature,
    Place,
    Quest,
    Promise,
    Item,
    Other,
}

impl FactKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FactKind::Person => "person",
            FactKind::Creature => "creature",
            FactKind::Place => "place",
            FactKind::Quest => "quest",
            FactKind::Promise => "promise",
            FactKind::Item => "item",
            FactKind::Other => "other",
        }
    }

    pub fn parse(s: &str) -> FactKind {
        match s.trim().to_ascii_lowercase().as_str() {
            "person" | "npc" | "character" => FactKind::Person,
            "creature" | "monster" => FactKind::Creature,
            "place" | "location" => FactKind::Place,
            "quest" => FactKind::Quest,
            "promise" | "oath" | "deal" => FactKind::Promise,
            "item" | "object" => FactKind::Item,
            _ => FactKind::Other,
        }
    }
}

/// A remembered fact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact {
    pub kind: FactKind,
    pub name: String,
    pub text: String,
    /// The event it was learnt from.
    pub seq: u64,
}

/// How much memory goes into a prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryLimits {
    pub summary_every: u64,
    pub recent_events: usize,
    pub facts_in_prompt: usize,
}

impl Default for MemoryLimits {
    fn default() -> Self {
        MemoryLimits {
            summary_every: 40,
            recent_events: 12,
            facts_in_prompt: 8,
        }
    }
}

/// One campaign's memory.
#[derive(Debug, Clone, Default)]
pub struct CampaignMemory {
    pub summary: String,
    /// The last event the summary covers.
    pub summary_through: u64,
    pub(super) facts: Vec<Fact>,
    pub(super) recent: VecDeque<(u64, String)>,
    pub(super) pending: VecDeque<String>,
    pub(super) events_since_summary: u64,
    /// The last event observed.
    pub last_seq: u64,
}

const STOPWORDS: &[&str] = &[
    "the",
    "and",
    "for",
    "with",
    "that",
    "this",
    "from",
    "into",
    "onto",
    "their",
    "there",
    "then",
    "than",
    "what",
    "when",
    "where",
    "which",
    "while",
    "have",
    "has",
    "had",
    "was",
    "were",
    "are",
    "but",
    "not",
    "you",
    "your",
    "his",
    "her",
    "its",
    "our",
    "they",
    "them",
    "him",
    "she",
    "who",
    "now",
    "takes",
    "damage",
    "makes",
    "check",
    "against",
    "roll",
    "attacks",
    "declares",
    "player_text",
    "turn",
    "round",
    "hit",
    "points",
    "all",
    "any",
];

/// Lower-case keywords of a text (3+ letters, no stopwords).
pub fn keywords(text: &str) -> HashSet<String> {
    text.split(|c: char| !c.is_alphanumeric() && c != '\'')
        .map(|w| w.trim_matches('\'').to_lowercase())
        .filter(|w| w.chars().count() >= 3 && !w.chars().all(|c| c.is_ascii_digit()))
        .filter(|w| !STOPWORDS.contains(&w.as_str()))
        .collect()
}

const PROMISE_WORDS: &[&str] = &[
    "promise", "promised", "swear", "sworn", "vow", "oath", "pledge", "deal", "owe",
];
const QUEST_WORDS: &[&str] = &[
    "quest", "rescue", "retrieve", "deliver", "find", "hunt", "escort", "bounty", "mission",
];

impl CampaignMemory {
    pub fn new() -> Self {
        Self::default()
    }

    /// Restores a stored summary.
    pub fn set_summary(&mut self, text: &str, through_seq: u64) {
        self.summary = clip(text, MAX_SUMMARY_CHARS);
        self.summary_through = through_seq;
        self.last_seq = self.last_seq.max(through_seq);
    }

    pub fn facts(&self) -> &[Fact] {
        &self.facts
    }

    /// Adds or replaces (same kind and name) a fact. Returns true if it changed.
    pub fn remember(&mut self, fact: Fact) -> bool {
        let fact = Fact {
            kind: fact.kind,
            name: clip(&fact.name, 60),
            text: clip(&fact.text, MAX_FACT_CHARS),
            seq: fact.seq,
        };
        if fact.name.is_empty() || fact.text.is_empty() {
            return false;
        }
        if let Some(f) = self
            .facts
            .iter_mut()
            .find(|f| f.kind == fact.kind && f.name.eq_ignore_ascii_case(&fact.name))
        {
            if f.text == fact.text {
                return false;
            }
            *f = fact;
            return true;
        }
        self.facts.push(fact);
        if self.facts.len() > MAX_FACTS_KEPT {
            let oldest = self
                .facts
                .iter()
                .enumerate()
                .min_by_key(|(_, f)| f.seq)
                .map(|(i, _)| i)
                .unwrap_or(0);
            self.facts.swap_remove(oldest);
        }
        true
    }

    /// Events seen so far, in the verbatim window.
    pub fn recent(&self) -> impl Iterator<Item = &(u64, String)> {
        self.recent.iter()
    }

    /// Whether `every` events have passed since the last summary.
    pub fn needs_summary(&self, every: u64) -> bool {
        self.events_since_summary >= every.max(1)
    }

    /// Takes in committed events (after they were narrated): the verbatim window, the
    /// lines for the next summary, and facts learnt from them. Returns the facts that
    /// are new or changed (to store). Events players may not see are ignored.
    pub fn observe(
        &mut self,
        state: &CampaignState,
        events: &[Arc<Committed>],
        recent_cap: usize,
    ) -> Vec<Fact> {
        let mut learnt = Vec::new();
        for c in events {
            if c.seq <= self.last_seq || !is_table_visible(&c.event.visibility) {
                continue;
            }
            self.last_seq = c.seq;
            let Some(line) = event_line(state, c) else {
                continue;
            };
            self.recent.push_back((c.seq, line.clone()));
            while self.recent.len() > recent_cap {
                self.recent.pop_front();
            }
            self.pending.push_back(format!("#{} {line}", c.seq));
            while self.pending.len() > MAX_PENDING_LINES {
                self.pending.pop_front();
            }
            self.events_since_summary += 1;
            for f in facts_from_event(state, c) {
                if self.remember(f.clone()) {
                    learnt.push(f);
                }
            }
        }
        learnt
    }

    /// Re-fills the verbatim window from the log after a restart (no facts, no summary
    /// counting: those were stored).
    pub fn warm_recent(
        &mut self,
        state: &CampaignState,
        events: &[Arc<Committed>],
        recent_cap: usize,
    ) {
        for c in events {
            if !is_table_visible(&c.event.visibility) {
                continue;
            }
            if let Some(line) = event_line(state, c) {
                self.recent.push_back((c.seq, line));
                while self.recent.len() > recent_cap {
                    self.recent.pop_front();
                }
            }
            self.last_seq = self.last_seq.max(c.seq);
        }
    }

    /// The `k` facts most relevant to `query`: keyword overlap (a name match counts
    /// three times), newest first among equals; open quests and promises fill any room
    /// left.
    pub fn relevant_facts(&self, query: &str, k: usize) -> Vec<&Fact> {
        if k == 0 {
            return Vec::new();
        }
        let q = keywords(query);
        let mut scored: Vec<(usize, &Fact)> = self
            .facts
            .iter()
            .map(|f| {
                let name = keywords(&f.name).intersection(&q).count();
                let body = keywords(&f.text).intersection(&q).count();
                (name * 3 + body, f)
            })
            .filter(|(s, _)| *s > 0)
            .collect();
        scored.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.seq.cmp(&a.1.seq)));
        let mut out: Vec<&Fact> = scored.into_iter().take(k).map(|(_, f)| f).collect();
        if out.len() < k {
            let mut open: Vec<&Fact> = self
                .facts
                .iter()
                .filter(|f| matches!(f.kind, FactKind::Quest | FactKind::Promise))
                .filter(|f| !out.iter().any(|o| std::ptr::eq(*o, *f)))
                .collect();
            open.sort_by_key(|f| std::cmp::Reverse(f.seq));
            let room = k - out.len();
            out.extend(open.into_iter().take(room));
        }
        out
    }

    /// Applies the summariser's reply (JSON `{"summary", "facts"}`, or plain text).
    /// Returns the facts it added. Errs when the reply is unusable (then the caller
    /// uses [`CampaignMemory::summarise_without_llm`]).
    pub fn apply_summary_reply(
        &mut self,
        reply: &str,
        through_seq: u64,
    ) -> Result<Vec<Fact>, String> {
        #[derive(Deserialize)]
        struct Reply {
            summary: String,
            #[serde(default)]
            facts: Vec<ReplyFact>,
        }
        #[derive(Deserialize)]
        struct ReplyFact {
            #[serde(default)]
            kind: String,
            name: String,
            text: String,
        }
        let json = extract_json_object(reply).ok_or("the summary reply holds no JSON object")?;
        let r: Reply = serde_json::from_str(json)
            .map_err(|e| format!("the summary reply is malformed: {e}"))?;
        let summary = clip(&r.summary, MAX_SUMMARY_CHARS);
        if summary.is_empty() {
            return Err("the summary is empty".into());
        }
        self.summary = summary;
        self.summary_through = through_seq;
        self.pending.clear();
        self.events_since_summary = 0;
        let mut learnt = Vec::new();
        for f in r.facts.into_iter().take(8) {
            let fact = Fact {
                kind: FactKind::parse(&f.kind),
                name: fence(&f.name, 60),
                text: fence(&f.text, MAX_FACT_CHARS),
                seq: through_seq,
            };
            if self.remember(fact.clone()) {
                learnt.push(fact);
            }
        }
        Ok(learnt)
    }

    /// A summary without an LLM: the old one followed by the new lines, trimmed from
    /// the front to the size cap.
    pub fn summarise_without_llm(&mut self, through_seq: u64) {
        let mut text = self.summary.clone();
        for l in &self.pending {
            let l = l.split_once(' ').map_or(l.as_str(), |(_, rest)| rest);
            let l = l
                .replace("<player_text>", "\u{201c}")
                .replace("</player_text>", "\u{201d}");
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(&l);
        }
        let chars: Vec<char> = text.chars().collect();
        if chars.len() > MAX_SUMMARY_CHARS {
            let tail: String = chars[chars.len() - MAX_SUMMARY_CHARS + 1..]
                .iter()
                .collect();
            let start = tail.find(". ").map_or(0, |i| i + 2);
            text = format!("…{}", &tail[start..]);
        }
        self.summary = clip(&text, MAX_SUMMARY_CHARS);
        self.summary_through = through_seq;
        self.pending.clear();
        self.events_since_summary = 0;
    }
}

fn facts_from_event(state: &CampaignState, c: &Committed) -> Vec<Fact> {
    use EventKind::*;
    let seq = c.seq;
    let fact = |kind, name: &str, text: String| Fact {
        kind,
        name: fence(name, 60),
        text: fence(&text, MAX_FACT_CHARS),
        seq,
    };
    match &c.event.kind {
        CharacterCreated { creature } => {
            let pc = creature.pc.as_ref();
            vec![fact(
                FactKind::Person,
                &creature.name,
                format!(
                    "a level {} {} {}, one of the party",
                    pc.map_or(1, |p| p.level),
                    pc.map_or("", |p| p.race.as_str()),
                    pc.map_or("", |p| p.class.as_str())
                ),
            )]
        }
        MonstersAppeared { creatures } => creatures
            .iter()
            .take(20)
            .map(|m| {
                let what = m
                    .monster
                    .as_ref()
                    .and_then(|i| state.catalog.monster(i))
                    .map_or_else(
                        || "a creature".to_string(),
                        |d| format!("a {} {} ({})", d.size.to_lowercase(), d.kind, d.name),
                    );
                fact(
                    FactKind::Creature,
                    &m.name,
                    format!("{what}, met in event #{seq}"),
                )
            })
            .collect(),
        Died { creature } => {
            let Some(cr) = state.creature(*creature) else {
                return vec![];
            };
            let kind = if cr.is_pc() {
                FactKind::Person
            } else {
                FactKind::Creature
            };
            vec![fact(kind, &cr.name, format!("died in event #{seq}"))]
        }
        ActionDeclared { creature, text, .. } => {
            let who = creature
                .map(|id| name_of(state, id))
                .unwrap_or_else(|| "The GM".into());
            let lower = text.to_lowercase();
            let words: Vec<&str> = lower.split(|c: char| !c.is_alphanumeric()).collect();
            let mut out = Vec::new();
            let quote = fence(text, 150);
            if words.iter().any(|w| PROMISE_WORDS.contains(w)) {
                out.push(fact(
                    FactKind::Promise,
                    &format!("{who} #{seq}"),
                    format!("{who} said: \u{201c}{quote}\u{201d}"),
                ));
            } else if words.iter().any(|w| QUEST_WORDS.contains(w)) {
                out.push(fact(
                    FactKind::Quest,
                    &format!("{who} #{seq}"),
                    format!("{who} said: \u{201c}{quote}\u{201d}"),
                ));
            }
            for name in proper_nouns(text, state) {
                out.push(fact(
                    FactKind::Other,
                    &name,
                    format!("mentioned by {who}: \u{201c}{quote}\u{201d}"),
                ));
            }
            out
        }
        _ => vec![],
    }
}

/// Capitalised words (or runs of them) not at the start of a sentence and not already
/// known as creatures: likely names of people and places.
fn proper_nouns(text: &str, state: &CampaignState) -> Vec<String> {
    let known: HashSet<String> = state
        .creatures
        .values()
        .map(|c| c.name.to_lowercase())
        .collect();
    let mut out: Vec<String> = Vec::new();
    let mut run: Vec<String> = Vec::new();
    let mut sentence_start = true;
    let flush = |run: &mut Vec<String>, out: &mut Vec<String>| {
        if !run.is_empty() {
            let name = run.join(" ");
            if !known.contains(&name.to_lowercase()) && !out.contains(&name) && out.len() < 4 {
                out.push(name);
            }
            run.clear();
        }
    };
    for raw in text.split_whitespace() {
        let word: String = raw
            .trim_matches(|c: char| !c.is_alphanumeric() && c != '\'')
            .to_string();
        let capital =
            word.chars().next().is_some_and(|c| c.is_uppercase()) && word.chars().count() > 1;
        if capital && !sentence_start && word != "I" && !word.starts_with("I'") {
            run.push(word);
        } else {
            flush(&mut run, &mut out);
        }
        sentence_start = raw.ends_with(['.', '!', '?', ':', '"', '\u{201c}'])
            || raw.starts_with(['"', '\u{201c}']) && !capital;
        if raw.ends_with(['.', '!', '?', ',', ';', ':']) {
            flush(&mut run, &mut out);
        }
    }
    flush(&mut run, &mut out);
    out
}
