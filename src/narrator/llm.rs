//! The LLM narrator: the game master's prose from an LLM, streamed sentence by
//! sentence, with the built-in narrator as the safety net for every event.
//!
//! For each batch of committed events:
//! - events only some may see (whispers, secret rolls, a player's turn warning) get the
//!   built-in narrator's lines with their own visibility; they never reach the LLM;
//! - table talk (whose turn it is, initiative, free dice rolls) gets the built-in lines,
//!   which are crisp and exact;
//! - the story events go to the LLM with a bounded prompt ([`super::memory`]); its
//!   answer is cut into sentences as it streams in, each checked for numbers the events
//!   do not contain, and handed out at once (for TTS, and for editing the live chat
//!   message — see [`EditPacer`]).
//!
//! When the LLM is slow (nothing within `llm.stall_timeout_secs`), down, rate-limited,
//! over budget or talking nonsense, the built-in narrator tells that event instead, and
//! a circuit breaker keeps the next events from waiting on it. The GM gets one
//! GM-only notice when it starts failing and one when it is back — never one per event.
//! This module changes no state: the narrator only reads committed events.

use super::events::{is_story_event, is_table_visible};
use super::memory::{CampaignMemory, MemoryLimits};
use super::prompt::NarrationPrompt;
use super::{BuiltinNarrator, Narration, Narrator};
use crate::coordinator::CampaignId;
use crate::coordinator::Committed;
use crate::llm::text::check_numbers;
use crate::llm::{Breaker, ChatDelta, Llm, LlmError, UsageReport};
use crate::store::{Store, StoredFact};
use dicebard_engine::{CampaignState, CreatureId, EventKind, Visibility};
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::Instrument;

/// Longest LLM narration kept (Discord messages hold 2,000 characters).
pub const MAX_NARRATION_CHARS: usize = 1_500;

/// Cuts streamed text into complete sentences.
#[derive(Debug, Default, Clone)]
pub struct SentenceSplitter {
    buf: String,
}

const ABBREVIATIONS: &[&str] = &[
    "mr", "mrs", "ms", "dr", "st", "vs", "etc", "e.g", "i.e", "mt", "lt", "sgt", "capt",
];
/// A sentence longer than this is cut at a space so speech does not wait for it.
const FORCE_SPLIT: usize = 320;

impl SentenceSplitter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds text; returns the sentences it completed.
    pub fn push(&mut self, text: &str) -> Vec<String> {
        self.buf.push_str(text);
        let mut out = Vec::new();
        while let Some(end) = boundary(&self.buf) {
            let s: String = self.buf.drain(..end).collect();
            let s = tidy(&s);
            if !s.is_empty() {
                out.push(s);
            }
        }
        while self.buf.len() > FORCE_SPLIT {
            // Cut at the last space within FORCE_SPLIT bytes, else at the last character
            // boundary there: the text is anyone's (Japanese, accented prose), so never
            // slice inside a character.
            let mut limit = FORCE_SPLIT;
            while !self.buf.is_char_boundary(limit) {
                limit -= 1;
            }
            let cut = match self.buf[..limit].rfind(char::is_whitespace) {
                Some(i) if i > 0 => i,
                _ => limit,
            };
            let s: String = self.buf.drain(..cut).collect();
            let s = tidy(&s);
            if !s.is_empty() {
                out.push(s);
            }
        }
        out
    }

    /// The unfinished last sentence, at the end of the stream.
    pub fn finish(&mut self) -> Option<String> {
        let s = tidy(&std::mem::take(&mut self.buf));
        (!s.is_empty()).then_some(s)
    }
}

/// Byte index just past the first complete sentence in `buf`, if any.
fn boundary(buf: &str) -> Option<usize> {
    let chars: Vec<(usize, char)> = buf.char_indices().collect();
    for (k, &(i, c)) in chars.iter().enumerate() {
        if c == '\n' {
            if !buf[..i].trim().is_empty() {
                return Some(i + 1);
            }
            continue;
        }
        if is_wide_stop(c) {
            // 。！？ and kin end a sentence with no space after them; closing brackets
            // and quotes that follow belong to it.
            let mut m = k + 1;
            while m < chars.len() && (is_wide_stop(chars[m].1) || is_closer(chars[m].1)) {
                m += 1;
            }
            // At the end of the buffer, wait: a closing quote may still come.
            return chars.get(m).map(|&(j, _)| j);
        }
        if !matches!(c, '.' | '!' | '?' | '…' | '‼' | '⁇' | '⁈' | '⁉' | '؟' | '۔') {
            continue;
        }
        // Swallow closing quotes, brackets and more terminal marks ("?!", "...").
        let mut m = k + 1;
        while m < chars.len()
            && matches!(
                chars[m].1,
                '.' | '!' | '?' | '…' | '"' | '\'' | '\u{201d}' | '\u{2019}' | ')' | ']' | '*'
            )
        {
            m += 1;
        }
        let Some(&(j, next)) = chars.get(m) else {
            return None; // wait: the next chunk may continue the sentence ("3." → "3.5")
        };
        if !next.is_whitespace() {
            continue;
        }
        // "“Mercy!” it cries": a lower-case word after the mark continues the sentence.
        match chars[m..].iter().find(|(_, c)| !c.is_whitespace()) {
            None => return None,
            Some((_, c)) if c.is_lowercase() => continue,
            Some(_) => {}
        }
        if c == '.' {
            let word: String = buf[..i]
                .chars()
                .rev()
                .take_while(|c| !c.is_whitespace())
                .collect::<String>()
                .chars()
                .rev()
                .collect::<String>()
                .to_lowercase();
            let word = word.trim_start_matches(['"', '\u{201c}', '(']);
            if ABBREVIATIONS.contains(&word)
                || word.chars().count() == 1 && word.chars().all(char::is_alphabetic)
            {
                continue;
            }
        }
        return Some(j);
    }
    None
}

/// Sentence ends written without a following space: CJK full stops and marks, the
/// Devanagari danda, the Armenian and Ethiopic full stops.
fn is_wide_stop(c: char) -> bool {
    matches!(
        c,
        '。' | '！' | '？' | '｡' | '．' | '।' | '॥' | '։' | '።' | '︒' | '﹒' | '﹗' | '﹖'
    )
}

/// Closing quotes and brackets that stay with the sentence they end.
fn is_closer(c: char) -> bool {
    matches!(
        c,
        '」' | '』' | '）' | '】' | '〕' | '〉' | '》' | '”' | '’' | '"' | '\'' | ')' | ']' | '»'
    )
}

/// One line of plain text: markdown emphasis and headings removed, spaces collapsed.
fn tidy(s: &str) -> String {
    let s: String = s
        .chars()
        .filter(|c| !matches!(c, '*' | '`' | '#' | '_'))
        .collect();
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// What [`DegenerationGuard::check`] says about one sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Tell it.
    Tell,
    /// Leave it out (said already) and read on.
    Skip,
    /// The model is talking nonsense: stop reading; the reason, for the GM.
    Stop(String),
}

/// Watches LLM narration as it streams for the ways small models fail (issue #13,
/// hole 14): the prompt's markup echoed (`<campaign>…`), the system prompt recited
/// ("Rules:", "- Narrate only the events…"), one sentence over and over, far more
/// sentences than the events call for, and text that is mostly not words. Every
/// sentence passes [`DegenerationGuard::check`] before anyone hears it.
#[derive(Debug, Clone)]
pub struct DegenerationGuard {
    /// The system prompt, normalised (see [`normalise`]).
    instructions: String,
    seen: HashMap<String, u32>,
    told: usize,
    max_sentences: usize,
    story_events: usize,
}

/// Most sentences told for a batch, whatever its size (the prompt asks for 1 to 4).
pub const MAX_SENTENCES: usize = 12;

impl DegenerationGuard {
    /// For a narration whose system prompt is `system`, telling `story_events` events.
    pub fn new(system: &str, story_events: usize) -> Self {
        DegenerationGuard {
            instructions: normalise(system),
            seen: HashMap::new(),
            told: 0,
            max_sentences: (6 + story_events).min(MAX_SENTENCES),
            story_events,
        }
    }

    pub fn check(&mut self, sentence: &str) -> Verdict {
        if has_markup(sentence) {
            return Verdict::Stop("it echoed the prompt's markup".into());
        }
        let norm = normalise(sentence);
        let head = sentence.trim_start_matches(['-', ' ']).to_lowercase();
        if head.starts_with("rules:")
            || head.starts_with("narrate the new events")
            || norm.len() >= 16 && self.instructions.contains(&norm)
        {
            return Verdict::Stop("it recited its instructions".into());
        }
        // Letters count whole, digits half ("17 vs 15." is fine, "0x3f ;;;; ----" not).
        let visible = sentence.chars().filter(|c| !c.is_whitespace()).count();
        let letters = sentence.chars().filter(|c| c.is_alphabetic()).count();
        let digits = sentence.chars().filter(|c| c.is_numeric()).count();
        if visible >= 4 && letters * 2 + digits < visible {
            return Verdict::Stop("it was mostly symbols, not words".into());
        }
        let n = self.seen.entry(norm).or_insert(0);
        *n += 1;
        match *n {
            1 => {}
            2 => return Verdict::Skip,
            _ => return Verdict::Stop("it repeated one sentence over and over".into()),
        }
        self.told += 1;
        if self.told > self.max_sentences {
            return Verdict::Stop(format!(
                "it ran on past {} sentences for {} event(s)",
                self.max_sentences, self.story_events
            ));
        }
        Verdict::Tell
    }
}

/// Lower-case letters and digits, every other run of characters one space.
fn normalise(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.chars() {
        if c.is_alphanumeric() {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.extend(c.to_lowercase());
        } else {
            space = true;
        }
    }
    out
}

/// Whether `s` holds a tag such as `<campaign>`, `</new_events>` or `<|im_end|>`.
fn has_markup(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while let Some(off) = s[i..].find('<') {
        let start = i + off + 1;
        let mut j = start;
        while j < b.len() && matches!(b[j], b'/' | b'|') {
            j += 1;
        }
        let name_start = j;
        while j < b.len() && j - name_start <= 40 && (b[j].is_ascii_alphanumeric() || b[j] == b'_')
        {
            j += 1;
        }
        while j < b.len() && b[j] == b'|' {
            j += 1;
        }
        if j > name_start && j < b.len() && b[j] == b'>' {
            return true;
        }
        i = start;
    }
    false
}

/// Paces edits of a live chat message as narration streams in: at most one edit per
/// `min_interval` (Discord tolerates about one per 1–1.5 s per message), and a final
/// edit when the text is complete.
#[derive(Debug, Clone)]
pub struct EditPacer {
    min_interval: Duration,
    last: Option<Instant>,
    pending: bool,
}

impl Default for EditPacer {
    fn default() -> Self {
        EditPacer::new(Duration::from_millis(1_200))
    }
}

impl EditPacer {
    pub fn new(min_interval: Duration) -> Self {
        EditPacer {
            min_interval,
            last: None,
            pending: false,
        }
    }

    /// The text grew at `now`: true if the message should be edited now. If not, call
    /// again (or [`EditPacer::flush`]) at [`EditPacer::next_at`].
    pub fn ready(&mut self, now: Instant) -> bool {
        match self.last {
            Some(t) if now < t + self.min_interval => {
                self.pending = true;
                false
            }
            _ => {
                self.last = Some(now);
                self.pending = false;
                true
            }
        }
    }

    /// When a held-back edit may go out.
    pub fn next_at(&self) -> Option<Instant> {
        if self.pending {
            self.last.map(|t| t + self.min_interval)
        } else {
            None
        }
    }

    /// At the end: true if an edit is still owed.
    pub fn flush(&mut self, now: Instant) -> bool {
        let owed = self.pending;
        self.pending = false;
        if owed {
            self.last = Some(now);
        }
        owed
    }
}

/// Who wrote the story prose of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NarrationSource {
    Llm,
    Builtin,
}

/// What a [`NarrationStream`] yields.
#[derive(Debug, Clone, PartialEq)]
pub enum NarrationEvent {
    /// A complete sentence, ready to speak and to append to the message for `visibility`.
    Sentence {
        /// The last event it tells of.
        seq: u64,
        visibility: Visibility,
        text: String,
        source: NarrationSource,
    },
    /// A GM-only notice (the LLM stopped working, or works again).
    Notice(Narration),
    /// The end: the whole narration, grouped by visibility.
    Done(NarrationOutcome),
}

/// The whole narration of a batch.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NarrationOutcome {
    pub narrations: Vec<Narration>,
    /// Who told the story events (`None` when there were none).
    pub source: Option<NarrationSource>,
    /// Numbers the LLM stated that the events did not contain; the sentences holding
    /// them were withheld and the built-in lines added.
    pub flagged_numbers: Vec<i64>,
    /// Why the built-in narrator told the story, if it did.
    pub error: Option<LlmError>,
}

/// A narration in progress.
pub struct NarrationStream {
    rx: mpsc::Receiver<NarrationEvent>,
}

impl NarrationStream {
    pub async fn next(&mut self) -> Option<NarrationEvent> {
        self.rx.recv().await
    }

    /// Waits for the end and returns the whole narration.
    pub async fn finish(mut self) -> NarrationOutcome {
        while let Some(e) = self.rx.recv().await {
            if let NarrationEvent::Done(o) = e {
                return o;
            }
        }
        NarrationOutcome::default()
    }
}

/// Tunables beyond `[llm]`.
#[derive(Debug, Clone)]
pub struct NarratorOptions {
    pub limits: MemoryLimits,
    /// First cool-down after a failure (doubles while it keeps failing).
    pub cooldown: Duration,
    pub cooldown_max: Duration,
}

impl NarratorOptions {
    pub fn from_llm(llm: &Llm) -> Self {
        let s = llm.settings();
        NarratorOptions {
            limits: MemoryLimits {
                summary_every: s.summary_every,
                recent_events: s.recent_events,
                facts_in_prompt: s.facts_in_prompt,
            },
            cooldown: Duration::from_secs(10),
            cooldown_max: Duration::from_secs(300),
        }
    }
}

/// The LLM narrator. Cheap to clone.
#[derive(Clone)]
pub struct LlmNarrator {
    inner: Arc<Inner>,
}

struct Inner {
    llm: Arc<Llm>,
    store: Option<Store>,
    clock: crate::clock::Clock,
    limits: MemoryLimits,
    memories: Mutex<HashMap<CampaignId, Arc<tokio::sync::Mutex<CampaignMemory>>>>,
    breaker: Breaker,
    summarising: Mutex<HashSet<CampaignId>>,
}

/// What the LLM told of a batch.
struct Told {
    /// Numbers it stated that the events do not hold (those sentences were withheld).
    flagged: Vec<i64>,
    /// Why it stopped early, after some prose had gone out.
    cut: Option<LlmError>,
}

/// One line to hand out: (seq, visibility, text).
type Line = (u64, Visibility, String);

struct Job {
    campaign: CampaignId,
    campaign_name: String,
    private: Vec<Line>,
    before: Vec<Line>,
    story: Vec<Line>,
    after: Vec<Line>,
    story_visibility: Visibility,
    story_seq: u64,
    prompt: Option<NarrationPrompt>,
    cooling: bool,
    learnt: Vec<super::memory::Fact>,
    summarise: bool,
    first_seq: u64,
}

impl LlmNarrator {
    pub fn new(llm: Arc<Llm>, store: Option<Store>, clock: crate::clock::Clock) -> Self {
        let options = NarratorOptions::from_llm(&llm);
        Self::with_options(llm, store, clock, options)
    }

    pub fn with_options(
        llm: Arc<Llm>,
        store: Option<Store>,
        clock: crate::clock::Clock,
        options: NarratorOptions,
    ) -> Self {
        LlmNarrator {
            inner: Arc::new(Inner {
                llm,
                store,
                clock,
                limits: options.limits,
                memories: Mutex::new(HashMap::new()),
                breaker: Breaker::new(options.cooldown, options.cooldown_max),
                summarising: Mutex::new(HashSet::new()),
            }),
        }
    }

    pub fn llm(&self) -> &Arc<Llm> {
        &self.inner.llm
    }

    /// The campaign's spend, with `degraded` set while the built-in narrator stands in.
    pub async fn usage(&self, campaign_id: CampaignId) -> UsageReport {
        let mut r = self.inner.llm.usage(campaign_id).await;
        r.degraded = self.inner.breaker.is_failing(campaign_id);
        r
    }

    /// The campaign's rolling summary and the event it covers up to.
    pub async fn summary(&self, campaign_id: CampaignId) -> Option<(u64, String)> {
        let m = self
            .inner
            .memories
            .lock()
            .expect("memories poisoned")
            .get(&campaign_id)
            .cloned()?;
        let m = m.lock().await;
        (!m.summary.is_empty()).then(|| (m.summary_through, m.summary.clone()))
    }

    /// The prompt that narrating `events` now would send (without sending it or
    /// remembering the events): for inspection, tests and benchmarks.
    pub async fn prompt(
        &self,
        state: &CampaignState,
        events: &[Arc<Committed>],
    ) -> Option<NarrationPrompt> {
        let first = events.first()?;
        let mem = self.inner.memory(first.campaign_id, first.seq, state).await;
        let m = mem.lock().await;
        Some(m.narration_prompt(
            state,
            events,
            &[],
            self.inner.limits,
            self.inner.llm.settings().max_tokens,
        ))
    }

    /// Starts narrating `events` (committed, in order, one campaign); `state` is the
    /// state after them. Sentences arrive on the returned stream as they are written.
    pub async fn narrate_stream(
        &self,
        state: &CampaignState,
        events: &[Arc<Committed>],
    ) -> NarrationStream {
        let (tx, rx) = mpsc::channel(128);
        let stream = NarrationStream { rx };
        let Some(first) = events.first() else {
            let _ = tx
                .send(NarrationEvent::Done(NarrationOutcome::default()))
                .await;
            return stream;
        };
        let campaign = first.campaign_id;
        let last_seq = events.last().map_or(first.seq, |e| e.seq);
        let span = tracing::info_span!(
            "narration",
            campaign = campaign.get(),
            first_seq = first.seq,
            last_seq
        );
        let job = self.prepare(state, events).instrument(span.clone()).await;
        let inner = self.inner.clone();
        tokio::spawn(inner.pump(job, tx).instrument(span));
        stream
    }

    async fn prepare(&self, state: &CampaignState, events: &[Arc<Committed>]) -> Job {
        let inner = &self.inner;
        let campaign = events[0].campaign_id;
        let mut job = Job {
            campaign,
            campaign_name: state.name.clone(),
            private: Vec::new(),
            before: Vec::new(),
            story: Vec::new(),
            after: Vec::new(),
            story_visibility: Visibility::Public,
            story_seq: events[0].seq,
            prompt: None,
            cooling: false,
            learnt: Vec::new(),
            summarise: false,
            first_seq: events[0].seq,
        };
        let mut story_events = Vec::new();
        for c in events {
            let vis = c.event.visibility.clone();
            let line = BuiltinNarrator::line(state, c);
            if !is_table_visible(&vis) {
                if let Some(l) = line {
                    job.private.push((c.seq, vis, l));
                }
                continue;
            }
            if is_story_event(&c.event.kind) {
                if vis == Visibility::Party {
                    job.story_visibility = Visibility::Party;
                }
                job.story_seq = c.seq;
                story_events.push(c.clone());
                if let Some(l) = line {
                    job.story.push((c.seq, vis, l));
                }
            } else if let Some(l) = line {
                if story_events.is_empty() {
                    job.before.push((c.seq, vis, l));
                } else {
                    job.after.push((c.seq, vis, l));
                }
            }
        }
        let mem = inner.memory(campaign, events[0].seq, state).await;
        let mut m = mem.lock().await;
        if !job.story.is_empty() {
            if inner.breaker.allow(campaign) {
                let npcs: Vec<CreatureId> = story_events
                    .iter()
                    .filter_map(|c| match &c.event.kind {
                        EventKind::AttackRolled { attacker, .. } => Some(*attacker),
                        EventKind::Dodged { creature } => Some(*creature),
                        _ => None,
                    })
                    .filter(|id| state.creature(*id).is_some_and(|c| !c.is_pc()))
                    .collect();
                // The monsters' stated intents, as the log recorded them before their
                // actions in this batch.
                let intents: Vec<(String, String)> = events
                    .iter()
                    .filter_map(|c| match &c.event.kind {
                        EventKind::NpcIntent { creature, intent } if npcs.contains(creature) => {
                            Some((*creature, intent.clone()))
                        }
                        _ => None,
                    })
                    .map(|(id, why)| {
                        (
                            state
                                .creature(id)
                                .map_or_else(String::new, |c| c.name.clone()),
                            why,
                        )
                    })
                    .collect();
                job.prompt = Some(m.narration_prompt(
                    state,
                    &story_events,
                    &intents,
                    inner.limits,
                    inner.llm.settings().max_tokens,
                ));
            } else {
                job.cooling = true;
            }
        }
        job.learnt = m.observe(state, events, inner.limits.recent_events);
        job.summarise = m.needs_summary(inner.limits.summary_every);
        job
    }
}

/// Hands out lines and sentences and assembles the final narrations.
struct Collector {
    tx: mpsc::Sender<NarrationEvent>,
    narrations: Vec<Narration>,
    merge: bool,
}

impl Collector {
    async fn sentence(
        &mut self,
        seq: u64,
        visibility: Visibility,
        text: String,
        source: NarrationSource,
    ) {
        match self.narrations.last_mut() {
            Some(n) if self.merge && n.visibility == visibility => {
                n.text.push(' ');
                n.text.push_str(&text);
                n.seq = n.seq.max(seq);
            }
            _ => self.narrations.push(Narration {
                seq,
                visibility: visibility.clone(),
                text: text.clone(),
            }),
        }
        self.merge = true;
        let _ = self
            .tx
            .send(NarrationEvent::Sentence {
                seq,
                visibility,
                text,
                source,
            })
            .await;
    }

    async fn lines(&mut self, lines: Vec<Line>) {
        for (seq, vis, text) in lines {
            self.sentence(seq, vis, text, NarrationSource::Builtin)
                .await;
        }
    }

    async fn notice(&mut self, seq: u64, text: String) {
        let n = Narration {
            seq,
            visibility: Visibility::Gm,
            text,
        };
        self.narrations.push(n.clone());
        self.merge = false;
        let _ = self.tx.send(NarrationEvent::Notice(n)).await;
    }
}

impl Inner {
    /// The campaign's memory, loaded from the store on first use.
    async fn memory(
        &self,
        campaign: CampaignId,
        first_seq: u64,
        state: &CampaignState,
    ) -> Arc<tokio::sync::Mutex<CampaignMemory>> {
        if let Some(m) = self
            .memories
            .lock()
            .expect("memories poisoned")
            .get(&campaign)
        {
            return m.clone();
        }
        let mut mem = CampaignMemory::new();
        if let Some(store) = &self.store {
            match store.llm_summary(campaign).await {
                Ok(Some(s)) => mem.set_summary(&s.text, s.through_seq),
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(campaign = campaign.get(), error = %e, "could not read the stored summary")
                }
            }
            match store
                .llm_facts(campaign, super::memory::MAX_FACTS_KEPT as u32)
                .await
            {
                Ok(facts) => {
                    for f in facts.into_iter().rev() {
                        mem.remember(super::memory::Fact {
                            kind: super::memory::FactKind::parse(&f.kind),
                            name: f.name,
                            text: f.body,
                            seq: f.seq,
                        });
                    }
                }
                Err(e) => {
                    tracing::warn!(campaign = campaign.get(), error = %e, "could not read stored facts")
                }
            }
            let window = self.limits.recent_events as u64 * 2 + 4;
            let after = first_seq.saturating_sub(window + 1);
            match store.events(campaign, after).await {
                Ok(rows) => {
                    let earlier: Vec<Arc<Committed>> = rows
                        .into_iter()
                        .filter(|r| r.seq < first_seq)
                        .filter_map(|r| Committed::from_stored(campaign, r).ok().map(Arc::new))
                        .collect();
                    mem.warm_recent(state, &earlier, self.limits.recent_events);
                }
                Err(e) => {
                    tracing::warn!(campaign = campaign.get(), error = %e, "could not read recent events")
                }
            }
        }
        let mut map = self.memories.lock().expect("memories poisoned");
        map.entry(campaign)
            .or_insert_with(|| Arc::new(tokio::sync::Mutex::new(mem)))
            .clone()
    }

    async fn pump(self: Arc<Self>, job: Job, tx: mpsc::Sender<NarrationEvent>) {
        let mut out = Collector {
            tx,
            narrations: Vec::new(),
            merge: false,
        };
        let campaign = job.campaign;
        out.lines(job.private).await;
        out.lines(job.before).await;
        let mut outcome = NarrationOutcome::default();
        if let Some(prompt) = &job.prompt {
            match self
                .tell(
                    campaign,
                    prompt,
                    job.story.len().max(1),
                    &job.story_visibility,
                    job.story_seq,
                    &mut out,
                )
                .await
            {
                Ok(Told { flagged, cut }) => {
                    outcome.source = Some(NarrationSource::Llm);
                    if let Some(e) = cut {
                        // Prose already went out: the events are told; cut the rest,
                        // add nothing (each event is told once), and tell the GM once.
                        if self.breaker.failure(campaign) {
                            tracing::warn!(error = %e, kind = e.kind(), "LLM narration cut short; the built-in narrator takes over from the next event");
                            out.notice(
                                job.story_seq,
                                format!("The LLM narrator's answer was cut short ({e}). The built-in narrator is speaking until it recovers; the game goes on."),
                            )
                            .await;
                        } else {
                            tracing::debug!(error = %e, "LLM narration cut short again");
                        }
                        outcome.error = Some(e);
                    } else if self.breaker.success(campaign) {
                        tracing::info!("the LLM narrator works again");
                        out.notice(job.story_seq, "The LLM narrator is working again.".into())
                            .await;
                    }
                    if !flagged.is_empty() {
                        tracing::warn!(
                            ?flagged,
                            "narration stated numbers that are not in the events; withheld those sentences"
                        );
                        out.lines(job.story).await;
                    }
                    outcome.flagged_numbers = flagged;
                }
                Err(e) => {
                    outcome.source = Some(NarrationSource::Builtin);
                    if self.breaker.failure(campaign) {
                        tracing::warn!(error = %e, kind = e.kind(), "LLM narration failed; the built-in narrator takes over");
                        out.notice(
                            job.story_seq,
                            format!("The LLM narrator is not working ({e}). The built-in narrator is speaking until it recovers; the game goes on."),
                        )
                        .await;
                    } else {
                        tracing::debug!(error = %e, "LLM narration failed again");
                    }
                    out.lines(job.story).await;
                    outcome.error = Some(e);
                }
            }
        } else if !job.story.is_empty() {
            outcome.source = Some(NarrationSource::Builtin);
            if job.cooling {
                outcome.error = Some(LlmError::CoolingDown);
            }
            out.lines(job.story).await;
        }
        out.lines(job.after).await;
        outcome.narrations = std::mem::take(&mut out.narrations);
        let _ = out.tx.send(NarrationEvent::Done(outcome)).await;
        drop(out);

        self.persist_facts(campaign, &job.learnt).await;
        if job.summarise {
            self.refresh_summary(campaign, &job.campaign_name, job.first_seq)
                .await;
        }
    }

    /// Streams the LLM's story prose into `out`, each sentence checked by a
    /// [`DegenerationGuard`] before it is told. Errs only when nothing was told (the
    /// built-in narrator then tells the events); once prose has gone out, a failure
    /// cuts the telling short instead, so no event is told twice.
    async fn tell(
        &self,
        campaign: CampaignId,
        prompt: &NarrationPrompt,
        story_events: usize,
        vis: &Visibility,
        seq: u64,
        out: &mut Collector,
    ) -> Result<Told, LlmError> {
        let stall = self.llm.settings().http.stall_timeout;
        let first_deadline = Instant::now() + stall;
        let timeout = || {
            let e = LlmError::Timeout(stall);
            self.llm.record_failure(campaign, &e);
            e
        };
        let mut stream =
            tokio::time::timeout_at(first_deadline, self.llm.stream(campaign, &prompt.request))
                .await
                .map_err(|_| timeout())??;
        let mut splitter = SentenceSplitter::new();
        let mut guard = DegenerationGuard::new(&prompt.request.system, story_events);
        let mut started = false;
        let mut flagged = Vec::new();
        let mut sent = 0usize;
        let mut chars = 0usize;
        let mut finish: Option<String> = None;
        let mut cut: Option<LlmError> = None;
        let mut degenerate: Option<String> = None;
        // Tells one sentence; false when the telling must stop.
        let mut emit = async |s: String,
                              out: &mut Collector,
                              flagged: &mut Vec<i64>,
                              degenerate: &mut Option<String>|
               -> bool {
            match guard.check(&s) {
                Verdict::Tell => {}
                Verdict::Skip => return true,
                Verdict::Stop(why) => {
                    *degenerate = Some(why);
                    return false;
                }
            }
            let bad = check_numbers(&s, &prompt.allowed);
            if !bad.is_empty() {
                flagged.extend(bad);
                return true;
            }
            chars += s.len();
            if chars > MAX_NARRATION_CHARS {
                return false;
            }
            sent += 1;
            out.sentence(seq, vis.clone(), s, NarrationSource::Llm)
                .await;
            true
        };
        'read: loop {
            let next = if started {
                stream.next().await
            } else {
                tokio::time::timeout_at(first_deadline, stream.next())
                    .await
                    .map_err(|_| timeout())?
            };
            match next {
                None => break,
                Some(Err(e)) => {
                    cut = Some(e);
                    break;
                }
                Some(Ok(ChatDelta::Text(t))) => {
                    started |= !t.trim().is_empty();
                    for s in splitter.push(&t) {
                        if !emit(s, out, &mut flagged, &mut degenerate).await {
                            break 'read;
                        }
                    }
                }
                Some(Ok(ChatDelta::Finish(f))) => finish = f,
                Some(Ok(_)) => {}
            }
        }
        let ended_well = cut.is_none() && degenerate.is_none();
        let rest = splitter.finish();
        if let Some(s) = rest
            .as_ref()
            .filter(|_| cut.is_some() && degenerate.is_none())
        {
            // Broken off (a timeout, a dropped connection): a last sentence that was
            // complete is still told; a fragment is not.
            if s.ends_with(['.', '!', '?', '…', '"', '\u{201d}', '。', '！', '？', '」']) {
                emit(s.clone(), out, &mut flagged, &mut degenerate).await;
            }
        }
        if let Some(s) = rest.filter(|_| ended_well) {
            if matches!(finish.as_deref(), Some("length" | "max_tokens")) {
                // Cut at the token limit mid-sentence: leave the fragment out.
                tracing::debug!(fragment = %s, "narration hit the token limit; dropped its last, unfinished sentence");
            } else {
                emit(s, out, &mut flagged, &mut degenerate).await;
            }
        }
        drop(stream);
        if let Some(why) = degenerate {
            let e = LlmError::Degenerate(why);
            self.llm.record_failure(campaign, &e);
            cut = Some(e);
        }
        let told_nothing = sent == 0 && flagged.is_empty();
        if let Some(e) = cut {
            if told_nothing {
                return Err(e);
            }
            flagged.sort_unstable();
            flagged.dedup();
            return Ok(Told {
                flagged,
                cut: Some(e),
            });
        }
        if told_nothing {
            let e = if matches!(finish.as_deref(), Some("length" | "max_tokens")) {
                LlmError::BadResponse(
                    "the narration hit the token limit (llm.max_tokens) before its first sentence ended".into(),
                )
            } else {
                LlmError::BadResponse("the narration was empty".into())
            };
            self.llm.record_failure(campaign, &e);
            return Err(e);
        }
        flagged.sort_unstable();
        flagged.dedup();
        Ok(Told { flagged, cut: None })
    }

    async fn persist_facts(&self, campaign: CampaignId, facts: &[super::memory::Fact]) {
        let Some(store) = &self.store else { return };
        for f in facts {
            let row = StoredFact {
                kind: f.kind.as_str().to_string(),
                name: f.name.clone(),
                body: f.text.clone(),
                seq: f.seq,
            };
            if let Err(e) = store.put_llm_fact(campaign, &row).await {
                tracing::warn!(error = %e, "could not store a fact");
                return;
            }
        }
    }

    /// Refreshes the rolling summary (with the LLM when it is healthy, else without).
    async fn refresh_summary(&self, campaign: CampaignId, campaign_name: &str, first_seq: u64) {
        if !self
            .summarising
            .lock()
            .expect("summarising poisoned")
            .insert(campaign)
        {
            return;
        }
        let Some(mem) = self
            .memories
            .lock()
            .expect("memories poisoned")
            .get(&campaign)
            .cloned()
        else {
            self.summarising
                .lock()
                .expect("summarising poisoned")
                .remove(&campaign);
            return;
        };
        let (req, through) = {
            let m = mem.lock().await;
            (m.summary_request(campaign_name), m.last_seq.max(first_seq))
        };
        let reply = if self.breaker.allow(campaign) {
            match self
                .llm
                .complete(campaign, &req, self.llm.settings().http.timeout)
                .await
            {
                Ok(r) => Some(r.text),
                Err(e) => {
                    tracing::debug!(error = %e, "summary refresh failed; summarising without the LLM");
                    None
                }
            }
        } else {
            None
        };
        let (summary, learnt) = {
            let mut m = mem.lock().await;
            let learnt = match reply.as_deref().map(|r| m.apply_summary_reply(r, through)) {
                Some(Ok(learnt)) => learnt,
                Some(Err(e)) => {
                    tracing::debug!(error = %e, "unusable summary; summarising without the LLM");
                    m.summarise_without_llm(through);
                    Vec::new()
                }
                None => {
                    m.summarise_without_llm(through);
                    Vec::new()
                }
            };
            (m.summary.clone(), learnt)
        };
        if let Some(store) = &self.store
            && let Err(e) = store
                .put_llm_summary(campaign, through, &summary, self.clock.now().0 as i64)
                .await
        {
            tracing::warn!(error = %e, "could not store the summary");
        }
        self.persist_facts(campaign, &learnt).await;
        self.summarising
            .lock()
            .expect("summarising poisoned")
            .remove(&campaign);
    }
}

impl Narrator for LlmNarrator {
    fn narrate<'a>(
        &'a self,
        state: &'a CampaignState,
        events: &'a [Arc<Committed>],
    ) -> BoxFuture<'a, Vec<Narration>> {
        Box::pin(async move {
            self.narrate_stream(state, events)
                .await
                .finish()
                .await
                .narrations
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_all(chunks: &[&str]) -> Vec<String> {
        let mut s = SentenceSplitter::new();
        let mut out = Vec::new();
        for c in chunks {
            out.extend(s.push(c));
        }
        out.extend(s.finish());
        out
    }

    #[test]
    fn sentences_come_out_whole_however_the_text_is_cut() {
        let text = "The blade falls. Goblin 1 staggers back, \u{201c}Mercy!\u{201d} it cries? Mr. Vell watches. It costs 3.5 gold…\nDone";
        let expect = vec![
            "The blade falls.",
            "Goblin 1 staggers back, \u{201c}Mercy!\u{201d} it cries?",
            "Mr. Vell watches.",
            "It costs 3.5 gold…",
            "Done",
        ];
        assert_eq!(split_all(&[text]), expect);
        let chars: Vec<char> = text.chars().collect();
        for i in 0..chars.len() {
            let a: String = chars[..i].iter().collect();
            let b: String = chars[i..].iter().collect();
            assert_eq!(split_all(&[&a, &b]), expect, "cut at {i}");
        }
    }

    #[test]
    fn markdown_is_removed_and_long_runs_are_cut() {
        assert_eq!(
            split_all(&["**Boom!** The door "]),
            vec!["Boom!", "The door"]
        );
        let long = "word ".repeat(200);
        let parts = split_all(&[&long]);
        assert!(parts.len() > 1 && parts.iter().all(|p| p.len() <= FORCE_SPLIT));
    }

    #[test]
    fn non_ascii_prose_without_a_period_is_cut_on_character_boundaries() {
        // Hole 2: 320 bytes into these the old splitter sliced inside a character.
        for unit in [
            "竜が咆哮し、炎が洞窟を満たす",
            "éàüñç ",
            "ÉÉÉÉ",
            "🐉",
            "a🐉",
        ] {
            let long = unit.repeat(400);
            for chunk in [1usize, 7, 50, 10_000] {
                let chars: Vec<char> = long.chars().collect();
                let pieces: Vec<String> = chars.chunks(chunk).map(|c| c.iter().collect()).collect();
                let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
                let parts = split_all(&refs);
                assert!(parts.len() > 1, "{unit}");
                assert!(parts.iter().all(|p| p.len() <= FORCE_SPLIT), "{unit}");
                let joined: String = parts.concat();
                let want: String = long.chars().filter(|c| !c.is_whitespace()).collect();
                let got: String = joined.chars().filter(|c| !c.is_whitespace()).collect();
                assert_eq!(got, want, "nothing lost or doubled ({unit})");
            }
        }
    }

    #[test]
    fn wide_sentence_ends_end_sentences() {
        let text = "竜が咆哮した。「逃げろ！」と戦士が叫ぶ？ゴブリンは倒れた。";
        let expect = vec![
            "竜が咆哮した。",
            "「逃げろ！」",
            "と戦士が叫ぶ？",
            "ゴブリンは倒れた。",
        ];
        assert_eq!(split_all(&[text]), expect);
        let chars: Vec<char> = text.chars().collect();
        for i in 0..chars.len() {
            let a: String = chars[..i].iter().collect();
            let b: String = chars[i..].iter().collect();
            assert_eq!(split_all(&[&a, &b]), expect, "cut at {i}");
        }
    }

    #[test]
    fn edits_are_paced() {
        let mut p = EditPacer::new(Duration::from_millis(1_000));
        let t0 = Instant::now();
        assert!(p.ready(t0));
        assert!(!p.ready(t0 + Duration::from_millis(300)));
        assert_eq!(p.next_at(), Some(t0 + Duration::from_millis(1_000)));
        assert!(p.ready(t0 + Duration::from_millis(1_000)));
        assert!(!p.flush(t0 + Duration::from_millis(1_100)));
        assert!(!p.ready(t0 + Duration::from_millis(1_500)));
        assert!(p.flush(t0 + Duration::from_millis(1_600)));
    }
}
