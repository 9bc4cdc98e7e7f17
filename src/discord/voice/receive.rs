//! Voice in: songbird's RTP packets → per-speaker utterances → whisper → [`Heard`].
//!
//! - [`RxHandler`] is the songbird event handler. It never blocks: each packet's Opus
//!   payload is `try_send`-ed to the call's receive worker (a full queue drops the packet
//!   and counts it). Songbird runs with `DecodeMode::Decrypt`: its own decoder garbles
//!   DAVE audio (see docs/build notes), so decoding happens here.
//! - The receive worker ([`ReceiveWorker`], one OS thread per call) keeps its own SSRC →
//!   user map ([`SsrcMap`], fed by speaking updates; songbird's may be late), decodes
//!   each SSRC with [`OpusMux`] (reordering, loss concealment, DAVE trailers stripped;
//!   48 kHz stereo → 16 kHz mono) and runs a [`Segmenter`] per SSRC. Clients stop
//!   sending packets when their user stops talking, so a 20 ms timer feeds silence to a
//!   speaker who went quiet: that is what ends an utterance.
//! - Utterances go to the process-wide [`SttPool`] (shared by every voice front end: a
//!   bounded queue per speaker, served round-robin by worker threads that share one
//!   whisper model). Each transcript becomes a [`Heard`] on a tokio channel.

use crate::voice::{SpokenAudio, SttPool, Transcript};
use dicebard_voice::opus_rx::{DEFAULT_REORDER_DEPTH, OpusMux};
use dicebard_voice::segment::EndReason;
use dicebard_voice::{Segmenter, SegmenterConfig, Utterance};
use poise::serenity_prelude as serenity;
use songbird::events::{Event, EventContext, EventHandler};
use songbird::packet::Packet as _;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::time::{Duration, Instant};

/// Something a player said, transcribed.
#[derive(Debug, Clone)]
pub struct Heard {
    pub guild: serenity::GuildId,
    pub user: serenity::UserId,
    pub text: String,
    /// When the speaker stopped talking (estimated from the audio stream).
    pub speech_end: Instant,
    /// Length of the utterance.
    pub audio_seconds: f64,
}

impl From<Transcript> for Heard {
    fn from(t: Transcript) -> Heard {
        Heard {
            guild: serenity::GuildId::new(t.call.max(1)),
            user: serenity::UserId::new(t.user.max(1)),
            text: t.text,
            speech_end: t.speech_end,
            audio_seconds: t.audio_seconds,
        }
    }
}

/// One message to the receive worker.
#[derive(Debug)]
pub enum RxMsg {
    /// An RTP packet's Opus payload.
    Packet {
        ssrc: u32,
        seq: u16,
        payload: bytes::Bytes,
    },
    /// SSRC → user, from a speaking-state update.
    Speaking { ssrc: u32, user: u64 },
    /// The user left the call.
    Disconnect { user: u64 },
}

/// Packets queued between songbird's event task and the worker (about 4 s of 5 speakers).
pub const RX_QUEUE: usize = 1024;
/// Frame length.
const FRAME: Duration = Duration::from_millis(20);
/// A speaker who sent nothing for this long is treated as silent (reordering slack).
const QUIET_AFTER: Duration = Duration::from_millis(60);
/// An utterance whose speaker is not known yet waits this long for a speaking update.
const UNKNOWN_HOLD: Duration = Duration::from_secs(2);
/// Streams idle this long are forgotten (their decoder freed).
const STREAM_IDLE: Duration = Duration::from_secs(300);
/// At most this many SSRCs are decoded per call.
const MAX_STREAMS: usize = 64;

/// Counters of one call's receive path.
#[derive(Debug, Default)]
pub struct RxCounters {
    /// Packets handed to the worker.
    pub packets: AtomicU64,
    /// Packets dropped because the worker's queue was full.
    pub dropped: AtomicU64,
    /// Utterances sent for transcription.
    pub utterances: AtomicU64,
    /// Utterances dropped because their speaker never became known.
    pub unknown_dropped: AtomicU64,
}

/// The sending side of a receive worker: what the songbird handler (or a benchmark)
/// feeds. Never blocks.
#[derive(Clone)]
pub struct RxInput {
    tx: SyncSender<RxMsg>,
    counters: Arc<RxCounters>,
}

impl RxInput {
    /// Queues a message; a full queue drops it (counted, logged once per 2^n drops).
    pub fn send(&self, msg: RxMsg) {
        let is_packet = matches!(msg, RxMsg::Packet { .. });
        match self.tx.try_send(msg) {
            Ok(()) => {
                if is_packet {
                    self.counters.packets.fetch_add(1, Ordering::Relaxed);
                }
            }
            Err(TrySendError::Full(_)) => {
                let n = self.counters.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                if n.is_power_of_two() {
                    tracing::warn!(
                        dropped_total = n,
                        "voice receive queue full: dropped incoming audio"
                    );
                }
            }
            Err(TrySendError::Disconnected(_)) => {}
        }
    }

    pub fn counters(&self) -> &Arc<RxCounters> {
        &self.counters
    }
}

/// The songbird event handler of one call (register it for `RtpPacket`,
/// `SpeakingStateUpdate` and `ClientDisconnect`).
#[derive(Clone)]
pub struct RxHandler {
    input: RxInput,
}

impl RxHandler {
    pub fn new(input: RxInput) -> Self {
        RxHandler { input }
    }
}

/// The Opus payload of a decrypted RTP packet: `payload()[payload_offset .. len -
/// payload_end_pad]`, as a zero-copy slice of the packet. `None` if malformed.
pub fn opus_payload(
    packet: &bytes::Bytes,
    payload_offset: usize,
    payload_end_pad: usize,
) -> Option<(u32, u16, bytes::Bytes)> {
    let rtp = songbird::packet::rtp::RtpPacket::new(packet)?;
    let ssrc = rtp.get_ssrc();
    let seq = rtp.get_sequence().0.0;
    let body_len = rtp.payload().len();
    let header = packet.len().checked_sub(body_len)?;
    let start = header.checked_add(payload_offset)?;
    let end = packet.len().checked_sub(payload_end_pad)?;
    if start >= end {
        return None;
    }
    Some((ssrc, seq, packet.slice(start..end)))
}

#[async_trait::async_trait]
impl EventHandler for RxHandler {
    async fn act(&self, ctx: &EventContext<'_>) -> Option<Event> {
        match ctx {
            EventContext::RtpPacket(p) => {
                match opus_payload(&p.packet, p.payload_offset, p.payload_end_pad) {
                    Some((ssrc, seq, payload)) => {
                        self.input.send(RxMsg::Packet { ssrc, seq, payload })
                    }
                    None => tracing::trace!("ignored a malformed RTP packet"),
                }
            }
            EventContext::SpeakingStateUpdate(s) => {
                if let Some(user) = s.user_id {
                    self.input.send(RxMsg::Speaking {
                        ssrc: s.ssrc,
                        user: user.0,
                    });
                }
            }
            EventContext::ClientDisconnect(d) => {
                self.input.send(RxMsg::Disconnect { user: d.user_id.0 });
            }
            EventContext::DriverDisconnect(d) => {
                tracing::warn!(kind = ?d.kind, reason = ?d.reason, "voice connection lost");
            }
            _ => {}
        }
        None
    }
}

/// Which user sends on which SSRC. A user has one audio SSRC at a time: a new one (after
/// a reconnect) replaces the old.
#[derive(Debug, Default, Clone)]
pub struct SsrcMap {
    by_ssrc: HashMap<u32, u64>,
}

impl SsrcMap {
    /// Maps `ssrc` to `user`; returns the SSRCs this replaced for the user.
    pub fn set(&mut self, ssrc: u32, user: u64) -> Vec<u32> {
        let old: Vec<u32> = self
            .by_ssrc
            .iter()
            .filter(|(s, u)| **u == user && **s != ssrc)
            .map(|(s, _)| *s)
            .collect();
        for s in &old {
            self.by_ssrc.remove(s);
        }
        self.by_ssrc.insert(ssrc, user);
        old
    }

    pub fn user(&self, ssrc: u32) -> Option<u64> {
        self.by_ssrc.get(&ssrc).copied()
    }

    /// Forgets a user; returns their SSRCs.
    pub fn remove_user(&mut self, user: u64) -> Vec<u32> {
        let gone: Vec<u32> = self
            .by_ssrc
            .iter()
            .filter(|(_, u)| **u == user)
            .map(|(s, _)| *s)
            .collect();
        for s in &gone {
            self.by_ssrc.remove(s);
        }
        gone
    }

    pub fn len(&self) -> usize {
        self.by_ssrc.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_ssrc.is_empty()
    }
}

/// One SSRC's decode and segmentation state.
struct Stream {
    seg: Segmenter,
    /// Milliseconds of audio fed to the segmenter (its stream position).
    fed_ms: f64,
    last_packet: Instant,
    /// Silence frames fed since the last packet.
    silence_fed: u64,
    /// The decoder was flushed since the last packet.
    flushed: bool,
    /// An utterance waiting for its speaker to become known.
    orphan: Option<(SpokenAudio, Instant)>,
}

/// The receive worker's logic, without the thread: packets, speaking updates and timer
/// ticks in, utterances out. Time is passed in, so it is testable.
pub struct RxState {
    mux: OpusMux,
    streams: HashMap<u32, Stream>,
    map: SsrcMap,
    seg_cfg: SegmenterConfig,
    counters: Arc<RxCounters>,
}

impl RxState {
    pub fn new(seg_cfg: SegmenterConfig, counters: Arc<RxCounters>) -> Self {
        RxState {
            mux: OpusMux::new(DEFAULT_REORDER_DEPTH),
            streams: HashMap::new(),
            map: SsrcMap::default(),
            seg_cfg,
            counters,
        }
    }

    pub fn ssrc_map(&self) -> &SsrcMap {
        &self.map
    }

    /// Handles one message at `now`; returns the utterances that ended.
    pub fn on_msg(&mut self, msg: RxMsg, now: Instant) -> Vec<SpokenAudio> {
        let mut out = Vec::new();
        match msg {
            RxMsg::Packet { ssrc, seq, payload } => {
                self.on_packet(ssrc, seq, &payload, now, &mut out)
            }
            RxMsg::Speaking { ssrc, user } => {
                for old in self.map.set(ssrc, user) {
                    self.finish_stream(old, Some(user), now, &mut out);
                }
                if let Some(s) = self.streams.get_mut(&ssrc)
                    && let Some((mut a, _)) = s.orphan.take()
                {
                    a.user = user;
                    out.push(a);
                }
            }
            RxMsg::Disconnect { user } => {
                for ssrc in self.map.remove_user(user) {
                    self.finish_stream(ssrc, Some(user), now, &mut out);
                }
            }
        }
        out
    }

    fn on_packet(
        &mut self,
        ssrc: u32,
        seq: u16,
        payload: &[u8],
        now: Instant,
        out: &mut Vec<SpokenAudio>,
    ) {
        if !self.streams.contains_key(&ssrc) {
            if self.streams.len() >= MAX_STREAMS {
                tracing::debug!(ssrc, "too many voice streams: ignored a new one");
                return;
            }
            if self.map.user(ssrc).is_none() {
                tracing::debug!(
                    ssrc,
                    "audio from an SSRC with no known user yet: decoding it while waiting for a speaking update"
                );
            }
            self.streams.insert(
                ssrc,
                Stream {
                    seg: Segmenter::new(self.seg_cfg.clone()),
                    fed_ms: 0.0,
                    last_packet: now,
                    silence_fed: 0,
                    flushed: true,
                    orphan: None,
                },
            );
        }
        let pcm = match self.mux.push(ssrc, seq, payload) {
            Ok(p) => p,
            Err(e) => {
                tracing::debug!(ssrc, error = %e, "undecodable voice packet");
                Vec::new()
            }
        };
        let user = self.map.user(ssrc);
        let s = self.streams.get_mut(&ssrc).expect("inserted above");
        s.last_packet = now;
        s.silence_fed = 0;
        s.flushed = false;
        feed(s, &pcm, user, now, &self.counters, out);
    }

    /// The 20 ms timer: speakers who went quiet get silence (which ends their
    /// utterance); orphan utterances expire; idle streams are forgotten.
    pub fn on_tick(&mut self, now: Instant) -> Vec<SpokenAudio> {
        let mut out = Vec::new();
        let mut idle = Vec::new();
        for (&ssrc, s) in self.streams.iter_mut() {
            let user = self.map.user(ssrc);
            let gap = now.saturating_duration_since(s.last_packet);
            if gap >= QUIET_AFTER {
                if !s.flushed {
                    s.flushed = true;
                    match self.mux.remove(ssrc) {
                        Ok(pcm) => feed(s, &pcm, user, now, &self.counters, &mut out),
                        Err(e) => tracing::debug!(ssrc, error = %e, "flushing a voice stream"),
                    }
                }
                if s.seg.is_speaking() {
                    // The last packet covered the first 20 ms of the gap.
                    let due = (gap.as_millis() / FRAME.as_millis()) as u64;
                    let due = due.saturating_sub(1);
                    while s.silence_fed < due && s.seg.is_speaking() {
                        s.silence_fed += 1;
                        s.fed_ms += FRAME.as_millis() as f64;
                        if let Some(u) = s.seg.push_silence_frame() {
                            emit(s, u, user, now, &self.counters, &mut out);
                        }
                    }
                }
            }
            if let Some((_, since)) = &s.orphan
                && now.saturating_duration_since(*since) > UNKNOWN_HOLD
            {
                s.orphan = None;
                self.counters
                    .unknown_dropped
                    .fetch_add(1, Ordering::Relaxed);
                tracing::debug!(
                    ssrc,
                    "dropped an utterance from a speaker who never became known"
                );
            }
            if gap > STREAM_IDLE && !s.seg.is_speaking() && s.orphan.is_none() {
                idle.push(ssrc);
            }
        }
        for ssrc in idle {
            self.streams.remove(&ssrc);
            let _ = self.mux.remove(ssrc);
        }
        out
    }

    /// Ends a stream (its user left or changed SSRC): the utterance in progress is kept
    /// for `user`.
    fn finish_stream(
        &mut self,
        ssrc: u32,
        user: Option<u64>,
        now: Instant,
        out: &mut Vec<SpokenAudio>,
    ) {
        let tail = self.mux.remove(ssrc).unwrap_or_default();
        if let Some(mut s) = self.streams.remove(&ssrc) {
            feed(&mut s, &tail, user, now, &self.counters, out);
            if let Some(u) = s.seg.flush() {
                emit(&mut s, u, user, now, &self.counters, out);
            }
            if let (Some((mut a, _)), Some(user)) = (s.orphan.take(), user) {
                a.user = user;
                out.push(a);
            }
        }
    }

    /// Ends every stream (the call is over).
    pub fn finish_all(&mut self, now: Instant) -> Vec<SpokenAudio> {
        let mut out = Vec::new();
        let ssrcs: Vec<u32> = self.streams.keys().copied().collect();
        for ssrc in ssrcs {
            let user = self.map.user(ssrc);
            self.finish_stream(ssrc, user, now, &mut out);
        }
        out
    }
}

fn feed(
    s: &mut Stream,
    pcm: &[f32],
    user: Option<u64>,
    now: Instant,
    counters: &RxCounters,
    out: &mut Vec<SpokenAudio>,
) {
    if pcm.is_empty() {
        return;
    }
    s.fed_ms += pcm.len() as f64 * 1000.0 / s.seg.config().sample_rate as f64;
    for u in s.seg.push(pcm) {
        emit(s, u, user, now, counters, out);
    }
}

/// When the speech in `u` ended, given that the stream is at `fed_ms` at `now`.
fn speech_end(u: &Utterance, cfg: &SegmenterConfig, fed_ms: f64, now: Instant) -> Instant {
    let len_ms = u.samples.len() as f64 * 1000.0 / cfg.sample_rate as f64;
    let tail = if u.reason == EndReason::MaxLength {
        0.0
    } else {
        cfg.tail_ms as f64
    };
    let end_pos = u.start_ms as f64 + (len_ms - tail).max(0.0);
    let behind = (fed_ms - end_pos).max(0.0);
    now.checked_sub(Duration::from_secs_f64(behind / 1000.0))
        .unwrap_or(now)
}

fn emit(
    s: &mut Stream,
    u: Utterance,
    user: Option<u64>,
    now: Instant,
    counters: &RxCounters,
    out: &mut Vec<SpokenAudio>,
) {
    let end = speech_end(&u, s.seg.config(), s.fed_ms, now);
    let audio = SpokenAudio {
        user: user.unwrap_or(0),
        samples: u.samples,
        speech_end: end,
    };
    counters.utterances.fetch_add(1, Ordering::Relaxed);
    match user {
        Some(_) => out.push(audio),
        None => {
            tracing::debug!("an utterance from an SSRC with no known user: holding it briefly");
            s.orphan = Some((audio, now));
        }
    }
}

/// One call's receive worker thread.
pub struct ReceiveWorker {
    input: RxInput,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ReceiveWorker {
    /// Starts the worker for `guild`; utterances go to `stt`.
    pub fn start(
        guild: serenity::GuildId,
        silence_ms: u64,
        stt: Arc<SttPool>,
    ) -> std::io::Result<Self> {
        let (tx, rx) = std::sync::mpsc::sync_channel(RX_QUEUE);
        let counters = Arc::new(RxCounters::default());
        let input = RxInput {
            tx,
            counters: counters.clone(),
        };
        let stop = Arc::new(AtomicBool::new(false));
        let state = RxState::new(SegmenterConfig::with_silence_ms(silence_ms), counters);
        let stop2 = stop.clone();
        let thread = std::thread::Builder::new()
            .name(format!("voice-rx-{}", guild.get()))
            .spawn(move || run_worker(guild, state, rx, stt, stop2))?;
        Ok(ReceiveWorker {
            input,
            stop,
            thread: Some(thread),
        })
    }

    /// What to feed it.
    pub fn input(&self) -> RxInput {
        self.input.clone()
    }

    /// The songbird event handler feeding it.
    pub fn handler(&self) -> RxHandler {
        RxHandler::new(self.input.clone())
    }
}

impl Drop for ReceiveWorker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // The thread notices within one tick; not joined, so dropping never blocks.
        self.thread.take();
    }
}

fn run_worker(
    guild: serenity::GuildId,
    mut state: RxState,
    rx: Receiver<RxMsg>,
    stt: Arc<SttPool>,
    stop: Arc<AtomicBool>,
) {
    tracing::debug!(guild = guild.get(), "voice receive worker started");
    let mut next_tick = Instant::now() + FRAME;
    loop {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let wait = next_tick.saturating_duration_since(Instant::now());
        let got = match rx.recv_timeout(wait) {
            Ok(msg) => Some(msg),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        let now = Instant::now();
        let mut done = match got {
            Some(msg) => state.on_msg(msg, now),
            None => Vec::new(),
        };
        if now >= next_tick {
            done.extend(state.on_tick(now));
            next_tick += FRAME;
            if next_tick < now {
                next_tick = now + FRAME;
            }
        }
        for a in done {
            stt.submit(guild.get(), a);
        }
    }
    for a in state.finish_all(Instant::now()) {
        stt.submit(guild.get(), a);
    }
    tracing::debug!(guild = guild.get(), "voice receive worker stopped");
}

#[cfg(test)]
mod tests {
    use super::*;
    use opus2::{Application, Channels, Encoder};

    /// `secs` of a 220 Hz tone (speech-like level) then nothing, as 20 ms Opus packets.
    fn tone_packets(secs: f32) -> Vec<Vec<u8>> {
        let mut enc = Encoder::new(48_000, Channels::Stereo, Application::Voip).unwrap();
        let frames = (secs * 50.0) as usize;
        (0..frames)
            .map(|f| {
                let pcm: Vec<f32> = (0..960)
                    .flat_map(|i| {
                        let t = (f * 960 + i) as f32 / 48_000.0;
                        let s = 0.3 * (2.0 * std::f32::consts::PI * 220.0 * t).sin();
                        [s, s]
                    })
                    .collect();
                enc.encode_vec_float(&pcm, 4000).unwrap()
            })
            .collect()
    }

    fn state() -> RxState {
        RxState::new(
            SegmenterConfig::with_silence_ms(600),
            Arc::new(RxCounters::default()),
        )
    }

    /// Plays packets on `ssrc` at 20 ms intervals from `t0`, then ticks for 1.5 s.
    fn play(
        st: &mut RxState,
        ssrc: u32,
        t0: Instant,
        packets: &[Vec<u8>],
    ) -> (Vec<SpokenAudio>, Instant) {
        let mut out = Vec::new();
        let mut t = t0;
        for (i, p) in packets.iter().enumerate() {
            out.extend(st.on_msg(
                RxMsg::Packet {
                    ssrc,
                    seq: i as u16,
                    payload: bytes::Bytes::from(p.clone()),
                },
                t,
            ));
            out.extend(st.on_tick(t));
            t += FRAME;
        }
        let last = t - FRAME;
        for _ in 0..75 {
            out.extend(st.on_tick(t));
            t += FRAME;
        }
        (out, last)
    }

    #[test]
    fn ssrc_map_keeps_one_ssrc_per_user() {
        let mut m = SsrcMap::default();
        assert!(m.set(10, 1).is_empty());
        assert!(m.set(20, 2).is_empty());
        assert_eq!(m.user(10), Some(1));
        // User 1 reconnects with a new SSRC: the old one is returned and forgotten.
        assert_eq!(m.set(11, 1), vec![10]);
        assert_eq!(m.user(10), None);
        assert_eq!(m.user(11), Some(1));
        // Re-announcing the same pair changes nothing.
        assert!(m.set(11, 1).is_empty());
        assert_eq!(m.remove_user(2), vec![20]);
        assert_eq!(m.len(), 1);
        assert!(m.remove_user(2).is_empty());
    }

    #[test]
    fn silence_after_the_last_packet_ends_the_utterance() {
        let mut st = state();
        let t0 = Instant::now();
        st.on_msg(RxMsg::Speaking { ssrc: 7, user: 42 }, t0);
        let (out, last) = play(&mut st, 7, t0, &tone_packets(1.0));
        assert_eq!(out.len(), 1, "one utterance, ended by the timer");
        let u = &out[0];
        assert_eq!(u.user, 42);
        let secs = u.samples.len() as f64 / 16_000.0;
        assert!((0.9..1.6).contains(&secs), "{secs} s");
        // The estimated end of speech is near the last packet.
        let off = if u.speech_end > last {
            u.speech_end - last
        } else {
            last - u.speech_end
        };
        assert!(off < Duration::from_millis(120), "{off:?}");
    }

    #[test]
    fn unknown_speakers_wait_for_their_mapping_or_are_dropped() {
        let mut st = state();
        let t0 = Instant::now();
        let (out, last) = play(&mut st, 9, t0, &tone_packets(0.8));
        assert!(out.is_empty(), "held until the speaker is known");
        // The speaking update arrives late: the utterance is released with the user.
        let out = st.on_msg(
            RxMsg::Speaking { ssrc: 9, user: 5 },
            last + Duration::from_millis(1600),
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].user, 5);

        // Another SSRC never gets a user: its utterance expires.
        let mut st = state();
        let (out, last) = play(&mut st, 3, t0, &tone_packets(0.8));
        assert!(out.is_empty());
        assert!(st.on_tick(last + Duration::from_secs(5)).is_empty());
        assert_eq!(st.counters.unknown_dropped.load(Ordering::Relaxed), 1);
        assert!(
            st.on_msg(
                RxMsg::Speaking { ssrc: 3, user: 1 },
                last + Duration::from_secs(6)
            )
            .is_empty()
        );
    }

    #[test]
    fn a_disconnect_keeps_what_was_being_said() {
        let mut st = state();
        let t0 = Instant::now();
        st.on_msg(RxMsg::Speaking { ssrc: 1, user: 8 }, t0);
        let mut out = Vec::new();
        for (i, p) in tone_packets(0.8).iter().enumerate() {
            out.extend(st.on_msg(
                RxMsg::Packet {
                    ssrc: 1,
                    seq: i as u16,
                    payload: bytes::Bytes::from(p.clone()),
                },
                t0 + FRAME * i as u32,
            ));
        }
        assert!(out.is_empty());
        let out = st.on_msg(RxMsg::Disconnect { user: 8 }, t0 + Duration::from_secs(1));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].user, 8);
        assert!(st.ssrc_map().is_empty());
    }

    #[test]
    fn the_songbird_payload_slice_skips_header_and_padding() {
        // 12-byte RTP header (v2, PT 120, seq 0x0102, ts, ssrc 0x0A0B0C0D) + 3 prefix
        // bytes + opus + 2 bytes to discard.
        let mut p = vec![0x80, 0x78, 0x01, 0x02, 0, 0, 0, 1, 0x0A, 0x0B, 0x0C, 0x0D];
        p.extend_from_slice(&[9, 9, 9]);
        p.extend_from_slice(&[0xFC, 1, 2, 3]);
        p.extend_from_slice(&[7, 7]);
        let (ssrc, seq, opus) = opus_payload(&bytes::Bytes::from(p), 3, 2).unwrap();
        assert_eq!((ssrc, seq), (0x0A0B0C0D, 0x0102));
        assert_eq!(&opus[..], &[0xFC, 1, 2, 3]);
        assert!(opus_payload(&bytes::Bytes::from(vec![0x80; 12]), 3, 2).is_none());
    }

    #[test]
    fn hostile_rtp_headers_and_offsets_are_ignored() {
        // 15 CSRCs and an extension bit on a packet too short for them; offsets and
        // padding beyond the packet, up to usize::MAX: never a panic, never a slice
        // beyond the packet.
        let mut shapes: Vec<Vec<u8>> = vec![
            vec![0x8F, 0x78, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9],
            vec![
                0x9F, 0x78, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9, 0xBE, 0xDE, 0xFF, 0xFF,
            ],
            vec![0xBF, 0x78, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9, 1, 2, 3, 255],
        ];
        let mut long = vec![
            0xB0, 0x78, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9, 0xBE, 0xDE, 0xFF, 0xFF,
        ];
        long.extend(std::iter::repeat_n(0xAA, 200));
        shapes.push(long);
        for p in shapes {
            let len = p.len();
            let b = bytes::Bytes::from(p);
            for (off, pad) in [
                (0, 0),
                (len, 0),
                (0, len),
                (len / 2, len / 2),
                (usize::MAX, 0),
                (0, usize::MAX),
                (usize::MAX, usize::MAX),
            ] {
                if let Some((_, _, opus)) = opus_payload(&b, off, pad) {
                    assert!(!opus.is_empty() && opus.len() <= len);
                }
            }
        }
    }
}
