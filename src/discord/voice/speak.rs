//! Voice out: narration text → sentences → Piper (one dedicated thread, voices loaded
//! once and kept warm) → 48 kHz stereo f32 → songbird, one track per sentence through a
//! [`TrackQueue`], so the first sentence plays while the next ones are synthesized.
//!
//! Back-pressure: each call has a bound on sentences waiting (to synthesize or to
//! play). Beyond it narration continues in text only, and the channel is told once.
//! `/voice skip` bumps the call's generation (stale sentences are dropped wherever they
//! are) and stops the queue.

use dicebard_voice::audio::{DISCORD_RATE, resample};
use dicebard_voice::{Synthesizer, sentences};
use songbird::input::{Input, RawAdapter};
use songbird::tracks::TrackQueue;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::time::Instant;
use tokio::sync::mpsc;

/// A synthesized sentence, ready to be handed to songbird.
#[derive(Debug)]
pub struct SpokenSentence {
    pub generation: u64,
    pub text: String,
    /// 48 kHz stereo, interleaved f32.
    pub pcm: Vec<f32>,
    /// When `speak` was called with it.
    pub queued: Instant,
    /// When synthesis started and ended.
    pub synth_started: Instant,
    pub ready: Instant,
    /// Seconds of audio.
    pub audio_seconds: f64,
}

impl SpokenSentence {
    /// The sentence as a songbird input (raw f32 LE, 48 kHz stereo).
    pub fn into_input(self) -> Input {
        let bytes = pcm_bytes(&self.pcm);
        RawAdapter::new(std::io::Cursor::new(bytes), DISCORD_RATE, 2).into()
    }
}

/// What of a Discord line a voice should read: mentions, channel links, timestamps and
/// custom emoji are dropped, markdown markers and emoji removed, whitespace collapsed.
pub fn speakable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        // <@123>, <@!123>, <#123>, <@&123>, <t:123:R>, <:name:123>, <a:name:123>
        if c == '<'
            && let Some(len) = chars[i..].iter().position(|&c| c == '>')
        {
            let inner: String = chars[i + 1..i + len].iter().collect();
            let tagged = inner.starts_with('@')
                || inner.starts_with('#')
                || inner.starts_with("t:")
                || inner.starts_with(':')
                || inner.starts_with("a:");
            if tagged && !inner.contains(char::is_whitespace) {
                i += len + 1;
                continue;
            }
        }
        let keep = c.is_alphanumeric()
            || c.is_whitespace()
            || matches!(
                c,
                '.' | ','
                    | '!'
                    | '?'
                    | ';'
                    | ':'
                    | '\''
                    | '"'
                    | '('
                    | ')'
                    | '-'
                    | '%'
                    | '/'
                    | '+'
                    | '&'
                    | '\u{2018}'
                    | '\u{2019}'
                    | '\u{201c}'
                    | '\u{201d}'
                    | '\u{2013}'
                    | '\u{2014}'
                    | '\u{2026}'
            );
        if keep {
            out.push(c);
        } else if c == '\n' {
            out.push('\n');
        } else {
            out.push(' ');
        }
        i += 1;
    }
    // Keep blank lines (they end sentences); collapse the rest.
    out.split("\n\n")
        .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// Interleaved f32 samples as little-endian bytes (songbird's raw format).
pub fn pcm_bytes(pcm: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(pcm.len() * 4);
    for s in pcm {
        out.extend_from_slice(&s.to_le_bytes());
    }
    out
}

/// Mono audio at `rate` → 48 kHz stereo f32, interleaved.
pub fn to_stereo_48k(mono: &[f32], rate: u32) -> dicebard_voice::Result<Vec<f32>> {
    let up = resample(mono, rate, DISCORD_RATE)?;
    let mut out = Vec::with_capacity(up.len() * 2);
    for s in up {
        let s = s.clamp(-1.0, 1.0);
        out.push(s);
        out.push(s);
    }
    Ok(out)
}

/// Sentences of one call's narration: how many are waiting, the generation (bumped by
/// skip), and where finished sentences go.
pub struct Outlet {
    generation: AtomicU64,
    /// Sentences handed to the synthesizer and not yet out of it.
    synthesizing: AtomicUsize,
    /// The bound on waiting sentences.
    limit: usize,
    /// The backlog notice was posted (reset when the backlog clears).
    backlog_said: AtomicBool,
    /// Tracks queued in songbird (playing or waiting).
    queue: TrackQueue,
    to_player: mpsc::UnboundedSender<SpokenSentence>,
}

/// What [`Outlet::offer`] decided for a sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offer {
    /// Queued for speech.
    Queued,
    /// Dropped: too much is waiting; `notify` is true the first time (tell the table).
    Backlogged { notify: bool },
}

impl Outlet {
    /// An outlet whose finished sentences go to `to_player` (the call's player task, or a
    /// benchmark).
    pub fn new(limit: usize, to_player: mpsc::UnboundedSender<SpokenSentence>) -> Arc<Outlet> {
        Arc::new(Outlet {
            generation: AtomicU64::new(0),
            synthesizing: AtomicUsize::new(0),
            limit: limit.max(1),
            backlog_said: AtomicBool::new(false),
            queue: TrackQueue::new(),
            to_player,
        })
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Sentences waiting: being synthesized or queued in songbird (the playing one too).
    pub fn waiting(&self) -> usize {
        self.synthesizing.load(Ordering::Acquire) + self.queue.len()
    }

    /// Decides whether one more sentence may wait (and counts it if so).
    pub fn offer(&self) -> Offer {
        let waiting = self.waiting();
        if waiting == 0 {
            self.backlog_said.store(false, Ordering::Release);
        }
        decide_offer(waiting, self.limit, &self.backlog_said)
    }

    /// Stops the current sentence and drops every waiting one.
    pub fn skip(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.queue.stop();
    }

    pub fn queue(&self) -> &TrackQueue {
        &self.queue
    }
}

/// The pure back-pressure rule: below `limit` a sentence is queued; at or above it the
/// sentence is dropped, and the first drop since the backlog last cleared is announced.
pub fn decide_offer(waiting: usize, limit: usize, said: &AtomicBool) -> Offer {
    if waiting < limit {
        Offer::Queued
    } else {
        Offer::Backlogged {
            notify: !said.swap(true, Ordering::AcqRel),
        }
    }
}

/// One sentence to synthesize.
pub struct SpeakJob {
    pub synth: Arc<Synthesizer>,
    pub text: String,
    pub speed: f32,
    pub generation: u64,
    pub outlet: Arc<Outlet>,
    pub queued: Instant,
}

/// The text-to-speech thread (one per process; Piper runs one synthesis at a time).
pub struct Speaker {
    tx: Sender<SpeakJob>,
}

impl Speaker {
    pub fn start() -> std::io::Result<Arc<Speaker>> {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("voice-tts".into())
            .spawn(move || tts_worker(rx))?;
        Ok(Arc::new(Speaker { tx }))
    }

    /// Splits `text` into sentences and queues them on `outlet` (non-blocking). Returns
    /// true when the backlog notice should be posted.
    pub fn speak(
        &self,
        synth: &Arc<Synthesizer>,
        outlet: &Arc<Outlet>,
        text: &str,
        speed: f32,
    ) -> bool {
        let mut notify = false;
        let generation = outlet.generation();
        for sentence in sentences(text) {
            match outlet.offer() {
                Offer::Queued => {
                    outlet.synthesizing.fetch_add(1, Ordering::AcqRel);
                    let job = SpeakJob {
                        synth: synth.clone(),
                        text: sentence,
                        speed,
                        generation,
                        outlet: outlet.clone(),
                        queued: Instant::now(),
                    };
                    if self.tx.send(job).is_err() {
                        outlet.synthesizing.fetch_sub(1, Ordering::AcqRel);
                        tracing::warn!("the speech thread has stopped");
                        return notify;
                    }
                }
                Offer::Backlogged { notify: n } => {
                    tracing::debug!(sentence = %sentence, "narration backlog: sentence left to text");
                    notify |= n;
                }
            }
        }
        notify
    }
}

fn tts_worker(rx: Receiver<SpeakJob>) {
    // Synthesis is bulk work: below songbird's mixer, which must send a frame every 20 ms.
    let nice = dicebard_voice::priority::lower_current_thread();
    tracing::debug!(?nice, "text-to-speech worker started");
    while let Ok(job) = rx.recv() {
        let outlet = job.outlet.clone();
        if job.generation == outlet.generation() {
            let started = Instant::now();
            match job
                .synth
                .synthesize_at(&job.text, job.speed)
                .and_then(|a| Ok((a.seconds(), to_stereo_48k(&a.samples_f32, a.sample_rate)?)))
            {
                Ok((audio_seconds, pcm)) if !pcm.is_empty() => {
                    let ready = Instant::now();
                    tracing::debug!(
                        synth_ms = (ready - started).as_millis() as u64,
                        waited_ms = (started - job.queued).as_millis() as u64,
                        audio_seconds,
                        "sentence synthesized"
                    );
                    let _ = outlet.to_player.send(SpokenSentence {
                        generation: job.generation,
                        text: job.text,
                        pcm,
                        queued: job.queued,
                        synth_started: started,
                        ready,
                        audio_seconds,
                    });
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "speech synthesis failed"),
            }
        }
        outlet.synthesizing.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The call's player task: hands each finished sentence to songbird's queue, in order,
/// unless it was skipped meanwhile.
pub async fn play_into_call(
    outlet: Arc<Outlet>,
    call: Arc<tokio::sync::Mutex<songbird::Call>>,
    mut rx: mpsc::UnboundedReceiver<SpokenSentence>,
) {
    while let Some(s) = rx.recv().await {
        if s.generation != outlet.generation() {
            continue;
        }
        let since_ready = s.ready.elapsed();
        let latency = s.ready.duration_since(s.queued);
        let mut c = call.lock().await;
        if s.generation != outlet.generation() {
            continue;
        }
        outlet.queue.add_source(s.into_input(), &mut c).await;
        drop(c);
        tracing::debug!(
            text_to_audio_ms = latency.as_millis() as u64,
            handoff_ms = since_ready.as_millis() as u64,
            queued = outlet.queue.len(),
            "narration sentence queued for playback"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backlog_bound_drops_and_says_so_once() {
        let said = AtomicBool::new(false);
        assert_eq!(decide_offer(0, 3, &said), Offer::Queued);
        assert_eq!(decide_offer(2, 3, &said), Offer::Queued);
        assert_eq!(
            decide_offer(3, 3, &said),
            Offer::Backlogged { notify: true }
        );
        assert_eq!(
            decide_offer(5, 3, &said),
            Offer::Backlogged { notify: false }
        );
        // Still announced only once while the backlog lasts.
        assert_eq!(decide_offer(2, 3, &said), Offer::Queued);
        assert_eq!(
            decide_offer(3, 3, &said),
            Offer::Backlogged { notify: false }
        );
    }

    #[test]
    fn outlet_counts_and_resets_the_notice_when_drained() {
        let (tx, _rx) = mpsc::unbounded_channel();
        let o = Outlet::new(2, tx);
        assert_eq!(o.offer(), Offer::Queued);
        o.synthesizing.store(2, Ordering::Release);
        assert_eq!(o.offer(), Offer::Backlogged { notify: true });
        assert_eq!(o.offer(), Offer::Backlogged { notify: false });
        o.synthesizing.store(0, Ordering::Release);
        assert_eq!(o.offer(), Offer::Queued);
        o.synthesizing.store(2, Ordering::Release);
        assert_eq!(
            o.offer(),
            Offer::Backlogged { notify: true },
            "a new backlog is announced again"
        );
        let g = o.generation();
        o.skip();
        assert_eq!(o.generation(), g + 1);
    }

    #[test]
    fn only_speakable_text_is_read() {
        assert_eq!(
            speakable("⚔️ **Thorin** strikes <@123>'s goblin — a hit! See <#456> <t:1700:R>."),
            "Thorin strikes 's goblin — a hit! See ."
        );
        assert_eq!(
            speakable("First line.\n\n_Second_ `line` <:smile:99> ~~x~~"),
            "First line.\n\nSecond line x"
        );
        assert_eq!(speakable("1d20+5 = 17 (a < b > c)"), "1d20+5 17 (a b c)");
    }

    #[test]
    fn pcm_is_48k_stereo_little_endian() {
        let mono = vec![0.5f32; 22_050];
        let st = to_stereo_48k(&mono, 22_050).unwrap();
        assert_eq!(st.len(), 96_000);
        assert!(st.chunks_exact(2).all(|f| f[0] == f[1]));
        let b = pcm_bytes(&[1.0, -0.5]);
        assert_eq!(b.len(), 8);
        assert_eq!(f32::from_le_bytes(b[4..8].try_into().unwrap()), -0.5);
    }
}
