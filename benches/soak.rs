//! Soak benchmark (a plain binary: `cargo bench --bench soak`; issue #13, "Soak").
//!
//! Runs, all at once and for a bounded time (`DICEBARD_SOAK_SECS`, default 1800 s = 30
//! min, at most 4 h):
//! - 20 campaigns on one Coordinator over a real SQLite file (WAL, synchronous=FULL),
//!   each with a GM and 4 players fighting goblins at a human-ish pace (a command every
//!   1.5–4 s per player): the GM starts fights and heals the party between them, the
//!   active player attacks and ends the turn, the others roll, check and describe.
//! - A slow, flaky LLM (the local fake server: 100–600 ms per streamed piece, 5xx, 429
//!   with Retry-After, dropped connections and stalls) as narrator for every 4th
//!   campaign: a narrator task per campaign follows the campaign's events like a
//!   presenter and narrates each batch through the real `LlmNarrator`.
//! - 6 synthetic speakers at a 21st (voice) table: real WAVs from ../shared/audio,
//!   Opus-encoded like a Discord client, sent at the real 20 ms pace into the bot's voice
//!   receive worker (`VoiceHub::attach_local`, the entry point songbird's RTP events
//!   use), then Opus decoding, end-of-utterance detection, the whisper pool and the
//!   free-text reader into the same Coordinator. NOT through the fake Discord's UDP
//!   voice server (songbird's transport is left out).
//!
//! Every interval (`DICEBARD_SOAK_INTERVAL_SECS`, default 30 s) it records the process
//! RSS (/proc/self/status), p50/p99 of command latency (submit → committed), commands,
//! refusals and failures, narrations (by the LLM / fallen back), the narration backlog
//! (events committed but not yet narrated), voice packets dropped, utterances heard /
//! dropped, the STT queue and loaded actors. At the end it prints the table and the
//! verdict against the aims: RSS growth after warm-up < 10%, p99 drift < 20%.
//!
//! Columns (per interval unless marked): cmds, p50/p99 ms (submit → committed or
//! refused), refus(ed), fail(ed: internal/store errors), fight(s started), n.llm / n.fb
//! (narrations told by the LLM / by the built-in fallback), n.p50ms, n.lag (events
//! committed in the narrated campaigns but not narrated yet, now), llmrq (requests to the
//! LLM), clips (said), heard (utterances handled), u.drp (cumulative: utterances cut by
//! the receiver neither handled nor queued: dropped, or one in transcription per whisper
//! worker), p.drop (cumulative: packets dropped by the receive queue), sttq (utterances
//! waiting for whisper, now), v.p50ms (speech end → handled), act(ors loaded), creat(ures
//! in all campaign states, now: dead monsters are never pruned). The
//! coordinator's per-campaign actor queues are not exposed, so they are not shown; the
//! command latency is their symptom.
//!
//! It stops by itself (a watchdog aborts the process if shutdown hangs). Under
//! `cargo test --all-targets` (no `--bench`) it only runs when DICEBARD_SOAK_SECS is set,
//! so CI does not run it. The voice models are required (see benches/voice_pipeline.rs).

#[path = "../tests/it/support/mod.rs"]
mod support;

use dicebard::clock::Clock;
use dicebard::config::VoiceConfig;
use dicebard::coordinator::CampaignId;
use dicebard::coordinator::{Coordinator, CoordinatorOptions, Origin, Source};
use dicebard::discord::voice::heard::NoPost;
use dicebard::discord::voice::{RxInput, RxMsg, VoiceHub};
use dicebard::intent::IntentResolver;
use dicebard::llm::ProviderKind;
use dicebard::narrator::{LlmNarrator, NarrationEvent};
use dicebard::store::{DbLocation, Store};
use dicebard_engine::character::CharacterSpec;
use dicebard_engine::{Action, Actor, Command, MonsterGroup, PlayerId};
use dicebard_voice::audio::{read_wav_16k_mono, resample};
use dicebard_voice::models::{self, Kind};
use dicebard_voice::segment::level_db;
use opus2::{Application, Bitrate, Channels, Encoder};
use poise::serenity_prelude as serenity;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::fake_llm::{FakeLlm, Reply, openai, status};

const CAMPAIGNS: usize = 20;
const PLAYERS: usize = 4;
const SPEAKERS: usize = 6;
const MAX_SECS: u64 = 4 * 3600;

// ---- small helpers -----------------------------------------------------------------------

/// xorshift64*: no dependency, deterministic per task.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in `lo..hi` (hi > lo).
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo).max(1)
    }
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * q).round() as usize]
}

fn env_secs(name: &str, default: u64, lo: u64, hi: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(default)
        .clamp(lo, hi)
}

/// Sleeps `d` unless the soak stops first; false when it stopped.
async fn pause(stop: &AtomicBool, d: Duration) -> bool {
    let end = Instant::now() + d;
    while Instant::now() < end {
        if stop.load(Ordering::Relaxed) {
            return false;
        }
        tokio::time::sleep((end - Instant::now()).min(Duration::from_millis(250))).await;
    }
    !stop.load(Ordering::Relaxed)
}

// ---- shared metrics ----------------------------------------------------------------------

#[derive(Default)]
struct Metrics {
    /// Command latencies of the current interval.
    latencies: Mutex<Vec<Duration>>,
    commands: AtomicU64,
    refused: AtomicU64,
    failed: AtomicU64,
    fights: AtomicU64,
    narrations_llm: AtomicU64,
    narrations_fallback: AtomicU64,
    narration_lat: Mutex<Vec<Duration>>,
    /// Per narrated campaign: (campaign id, last narrated seq).
    narrated_seq: Mutex<Vec<(i64, u64)>>,
    clips_sent: AtomicU64,
    heard: AtomicU64,
    voice_lat: Mutex<Vec<Duration>>,
    /// When each speaker's last clip ended (speech end), by speaker.
    speech_end: Mutex<Vec<Option<Instant>>>,
    llm_requests: AtomicU64,
}

impl Metrics {
    fn record(
        &self,
        started: Instant,
        r: &Result<Vec<Arc<dicebard::coordinator::Committed>>, dicebard::coordinator::SubmitError>,
    ) {
        self.latencies.lock().unwrap().push(started.elapsed());
        self.commands.fetch_add(1, Ordering::Relaxed);
        match r {
            Ok(_) => {}
            Err(e) => {
                let s = format!("{e:?}");
                if s.starts_with("Internal") || s.starts_with("Store") {
                    self.failed.fetch_add(1, Ordering::Relaxed);
                    eprintln!("soak: command failed: {s}");
                } else {
                    self.refused.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }
}

struct Row {
    t: u64,
    rss_mib: f64,
    commands: u64,
    p50_ms: f64,
    p99_ms: f64,
    refused: u64,
    failed: u64,
    fights: u64,
    narr_llm: u64,
    narr_fallback: u64,
    narr_p50_ms: f64,
    narr_backlog: u64,
    llm_requests: u64,
    clips: u64,
    heard: u64,
    utt_dropped: u64,
    pkt_dropped: u64,
    stt_waiting: usize,
    voice_p50_ms: f64,
    loaded: usize,
    /// Creatures in all campaign states (dead monsters are never pruned: issue #13, 12).
    creatures: usize,
}

// ---- the table players -------------------------------------------------------------------

async fn campaign_setup(coord: &Coordinator, c: usize) -> i64 {
    let gm = PlayerId::new(format!("soak:gm{c}"));
    let id = coord
        .create_campaign(
            &format!("soak {c}"),
            &gm,
            Some(c as u64 + 1),
            Origin::new(Source::System, &gm),
        )
        .await
        .unwrap();
    for p in 0..PLAYERS {
        let who = PlayerId::new(format!("soak:c{c}p{p}"));
        coord
            .submit(
                id,
                Command {
                    by: Actor::Player(who.clone()),
                    action: Action::CreateCharacter {
                        spec: CharacterSpec::quick(&format!("Hero{p}"), "fighter", "human"),
                    },
                },
                Origin::new(Source::Terminal, &who),
            )
            .await
            .unwrap();
    }
    id.get()
}

/// The GM: starts a fight when there is none (after healing the party), else idles.
async fn gm_loop(coord: Coordinator, id: i64, c: usize, m: Arc<Metrics>, stop: Arc<AtomicBool>) {
    let gm = PlayerId::new(format!("soak:gm{c}"));
    let origin = Origin::new(Source::Terminal, &gm);
    let mut rng = Rng::new(1000 + c as u64);
    while pause(&stop, Duration::from_millis(rng.range(2_000, 5_000))).await {
        let Ok(snap) = coord.snapshot(CampaignId(id)).await else {
            continue;
        };
        if snap.state.in_combat() {
            continue;
        }
        let hurt: Vec<(String, i32)> = snap
            .state
            .party()
            .filter(|c| c.hp < c.max_hp)
            .map(|c| (c.name.clone(), c.max_hp))
            .collect();
        for (name, hp) in hurt {
            let t = Instant::now();
            let r = coord
                .submit(
                    CampaignId(id),
                    Command {
                        by: Actor::Player(gm.clone()),
                        action: Action::SetHp { target: name, hp },
                    },
                    origin.clone(),
                )
                .await;
            m.record(t, &r);
        }
        let t = Instant::now();
        let r = coord
            .submit(
                CampaignId(id),
                Command {
                    by: Actor::Player(gm.clone()),
                    action: Action::StartCombat {
                        monsters: vec![MonsterGroup {
                            monster: "goblin".into(),
                            count: 1 + (rng.next() % 3) as u32,
                        }],
                    },
                },
                origin.clone(),
            )
            .await;
        if r.is_ok() {
            m.fights.fetch_add(1, Ordering::Relaxed);
        }
        m.record(t, &r);
    }
}

/// A player: on their turn attacks a goblin and ends the turn; otherwise rolls, checks
/// or describes something now and then.
async fn player_loop(
    coord: Coordinator,
    id: i64,
    c: usize,
    p: usize,
    m: Arc<Metrics>,
    stop: Arc<AtomicBool>,
) {
    let who = PlayerId::new(format!("soak:c{c}p{p}"));
    let origin = Origin::new(Source::Terminal, &who);
    let mut rng = Rng::new((c * 100 + p) as u64 + 7);
    let mut n = 0u64;
    while pause(&stop, Duration::from_millis(rng.range(1_500, 4_000))).await {
        n += 1;
        let Ok(snap) = coord.snapshot(CampaignId(id)).await else {
            continue;
        };
        let st = &snap.state;
        let mine = st.character_of(&who).map(|ch| ch.id);
        let my_turn = mine.is_some() && st.active_creature().map(|a| a.id) == mine;
        let actions: Vec<Action> = if my_turn {
            let target = st
                .combatants()
                .find(|x| x.pc.is_none() && x.hp > 0)
                .map(|x| x.name.clone());
            match target {
                Some(target) => vec![
                    Action::Attack {
                        target,
                        weapon: None,
                    },
                    Action::EndTurn,
                ],
                None => vec![Action::EndTurn],
            }
        } else {
            match rng.next() % 3 {
                0 => vec![Action::Roll {
                    expr: "1d20+3".into(),
                    secret: false,
                }],
                1 => vec![Action::Check {
                    skill: Some(dicebard_engine::ability::Skill::Perception),
                    ability: None,
                    advantage: Default::default(),
                    dc: Some(12),
                }],
                _ => vec![Action::Act {
                    text: format!("I watch the shadows for more goblins ({n})."),
                }],
            }
        };
        for action in actions {
            let t = Instant::now();
            let r = coord
                .submit(
                    CampaignId(id),
                    Command {
                        by: Actor::Player(who.clone()),
                        action,
                    },
                    origin.clone(),
                )
                .await;
            m.record(t, &r);
        }
    }
}

// ---- the slow, flaky LLM -----------------------------------------------------------------

fn flaky_llm(server: &FakeLlm, m: Arc<Metrics>) {
    let counter = AtomicU64::new(0);
    let pieces: Vec<String> = "The goblin snarls and lunges. Steel rings against steel in the torchlight. The fight goes on."
        .split_inclusive(' ')
        .map(str::to_string)
        .collect();
    server.route(move |_req| {
        m.llm_requests.fetch_add(1, Ordering::Relaxed);
        let mut rng = Rng::new(counter.fetch_add(1, Ordering::Relaxed) + 99);
        let roll = rng.next() % 100;
        Some(match roll {
            0..=69 => {
                let parts: Vec<&str> = pieces.iter().map(String::as_str).collect();
                let delay = Duration::from_millis(rng.range(100, 600));
                openai::text_stream(&parts[..], delay / 4, Some((600, 40)))
            }
            70..=79 => openai::error(503, "overloaded", "server_error"),
            80..=84 => openai::error(500, "internal error", "server_error"),
            85..=89 => status(
                429,
                &[("Retry-After", "1")],
                r#"{"error":{"message":"slow down"}}"#,
            ),
            90..=94 => Reply::Drop,
            _ => Reply::Hang,
        })
    });
}

/// Follows a campaign's events and narrates each batch through the LLM narrator, like a
/// presenter would.
async fn narrator_loop(
    coord: Coordinator,
    narrator: Arc<LlmNarrator>,
    id: i64,
    slot: usize,
    m: Arc<Metrics>,
    stop: Arc<AtomicBool>,
) {
    let start = coord
        .snapshot(CampaignId(id))
        .await
        .map(|s| s.seq)
        .unwrap_or(0);
    let Ok(mut sub) = coord.subscribe(CampaignId(id), start).await else {
        return;
    };
    while !stop.load(Ordering::Relaxed) {
        let first = match tokio::time::timeout(Duration::from_millis(500), sub.next()).await {
            Ok(Some(e)) => e,
            Ok(None) => return,
            Err(_) => continue,
        };
        let mut batch = vec![first];
        // What else is already there (a presenter batches the events of one command).
        while batch.len() < 32 {
            match tokio::time::timeout(Duration::from_millis(50), sub.next()).await {
                Ok(Some(e)) => batch.push(e),
                _ => break,
            }
        }
        let Ok(snap) = coord.snapshot(CampaignId(id)).await else {
            continue;
        };
        let t = Instant::now();
        let mut s = narrator.narrate_stream(&snap.state, &batch).await;
        while let Some(e) = s.next().await {
            if let NarrationEvent::Done(o) = e {
                if o.error.is_some() {
                    m.narrations_fallback.fetch_add(1, Ordering::Relaxed);
                } else {
                    m.narrations_llm.fetch_add(1, Ordering::Relaxed);
                }
                break;
            }
        }
        m.narration_lat.lock().unwrap().push(t.elapsed());
        m.narrated_seq.lock().unwrap()[slot].1 = batch.last().map_or(0, |e| e.seq);
    }
}

// ---- the voice table ---------------------------------------------------------------------

fn model(kind: Kind) -> PathBuf {
    let p = models::locate(kind).unwrap_or_else(|| {
        panic!(
            "{} not found: run scripts/models.sh ({})",
            kind.what(),
            models::missing_hint(kind)
        )
    });
    assert!(p.exists(), "{} not found at {}", kind.what(), p.display());
    p
}

struct Clip {
    packets: Vec<Vec<u8>>,
    last_voiced: usize,
}

fn encode(file: &str) -> Clip {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/audio")
        .join(file);
    let mono16 = read_wav_16k_mono(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mono48 = resample(&mono16, 16_000, 48_000).unwrap();
    let mut enc = Encoder::new(48_000, Channels::Stereo, Application::Voip).unwrap();
    enc.set_bitrate(Bitrate::Bits(64_000)).unwrap();
    let mut packets = Vec::new();
    let mut last_voiced = 0;
    for (i, frame) in mono48.chunks(960).enumerate() {
        let mut f = frame.to_vec();
        f.resize(960, 0.0);
        if level_db(&f) > -45.0 {
            last_voiced = i;
        }
        let stereo: Vec<f32> = f.iter().flat_map(|&s| [s, s]).collect();
        packets.push(enc.encode_vec_float(&stereo, 4000).unwrap());
    }
    for _ in 0..5 {
        packets.push(vec![0xF8, 0xFF, 0xFE]);
    }
    Clip {
        packets,
        last_voiced,
    }
}

/// One speaker: says a clip at the real 20 ms pace, pauses 8–25 s (a player at a busy
/// table), again, until stopped.
fn speaker_thread(
    input: RxInput,
    i: usize,
    clips: Arc<Vec<Clip>>,
    m: Arc<Metrics>,
    stop: Arc<AtomicBool>,
) {
    let mut rng = Rng::new(5000 + i as u64);
    let mut seq: u16 = 0;
    let ssrc = 100 + i as u32;
    // Stagger the start.
    std::thread::sleep(Duration::from_millis(rng.range(0, 3_000)));
    while !stop.load(Ordering::Relaxed) {
        let clip = &clips[(rng.next() % clips.len() as u64) as usize];
        let start = Instant::now();
        for (k, p) in clip.packets.iter().enumerate() {
            let due = start + Duration::from_millis(20 * k as u64);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            input.send(RxMsg::Packet {
                ssrc,
                seq,
                payload: bytes::Bytes::from(p.clone()),
            });
            seq = seq.wrapping_add(1);
            if k == clip.last_voiced {
                m.speech_end.lock().unwrap()[i] = Some(Instant::now());
            }
        }
        m.clips_sent.fetch_add(1, Ordering::Relaxed);
        let pause = Duration::from_millis(rng.range(8_000, 25_000));
        let end = Instant::now() + pause;
        while Instant::now() < end && !stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

const GUILD: u64 = 4242;

async fn voice_table(coord: &Coordinator) -> (VoiceHub, RxInput, i64) {
    let gm = PlayerId::new("discord:999");
    let campaign = coord
        .create_campaign(
            "Soak voice table",
            &gm,
            Some(77),
            Origin::new(Source::System, &gm),
        )
        .await
        .unwrap();
    for i in 0..SPEAKERS {
        let who = dicebard::discord::player_id(serenity::UserId::new(1 + i as u64));
        coord
            .submit(
                campaign,
                Command {
                    by: Actor::Player(who.clone()),
                    action: Action::CreateCharacter {
                        spec: CharacterSpec::quick(&format!("Voice{i}"), "rogue", "human"),
                    },
                },
                Origin::new(Source::Terminal, &who),
            )
            .await
            .unwrap();
    }
    let config = VoiceConfig {
        whisper_model: Some(model(Kind::Whisper)),
        piper_voice: Some(model(Kind::Piper)),
        onnxruntime: Some(model(Kind::OnnxRuntime)),
        silence_ms: 700,
        ..VoiceConfig::default()
    };
    let hub = VoiceHub::new(
        coord.clone(),
        Arc::new(IntentResolver::new(None)),
        config,
        Arc::new(NoPost),
        None,
    );
    let (input, _spoken) = hub
        .attach_local(
            serenity::GuildId::new(GUILD),
            campaign,
            serenity::ChannelId::new(1),
        )
        .await
        .expect("voice models load");
    for i in 0..SPEAKERS {
        input.send(RxMsg::Speaking {
            ssrc: 100 + i as u32,
            user: 1 + i as u64,
        });
    }
    (hub, input, campaign.get())
}

// ---- main --------------------------------------------------------------------------------

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    if !full && std::env::var_os("DICEBARD_SOAK_SECS").is_none() {
        println!("soak: skipped (run `cargo bench --bench soak`, or set DICEBARD_SOAK_SECS)");
        return;
    }
    let secs = env_secs("DICEBARD_SOAK_SECS", 1800, 10, MAX_SECS);
    let interval = env_secs("DICEBARD_SOAK_INTERVAL_SECS", 30, 1, 3600).min(secs);
    let total = Duration::from_secs(secs);
    println!(
        "soak: {secs} s, sampling every {interval} s; {CAMPAIGNS} campaigns × {PLAYERS} players + GM, \
         LLM narrator (slow, flaky) for {} of them, {SPEAKERS} speakers at a voice table; {} CPUs",
        CAMPAIGNS.div_ceil(4),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    // It must stop by itself: abort if shutdown hangs.
    std::thread::spawn(move || {
        std::thread::sleep(total + Duration::from_secs(300));
        eprintln!("soak: watchdog: not finished 300 s after the deadline; aborting");
        std::process::abort();
    });

    let dir = match std::env::var("DICEBARD_BENCH_DIR") {
        Ok(d) => tempfile::tempdir_in(d).unwrap(),
        Err(_) => tempfile::tempdir().unwrap(),
    };
    let store = Store::open(&DbLocation::File(dir.path().join("soak.sqlite3")))
        .await
        .unwrap();
    let coord = Coordinator::new(
        store.clone(),
        Arc::new(dicebard_srd::catalog().clone()),
        Clock::system(),
        CoordinatorOptions::default(),
    );
    let m = Arc::new(Metrics::default());
    let stop = Arc::new(AtomicBool::new(false));
    *m.speech_end.lock().unwrap() = vec![None; SPEAKERS];

    // The LLM.
    let server = FakeLlm::start().await;
    // It would keep every request body otherwise: growth that is the bench's, not the bot's.
    server.record_at_most(0);
    flaky_llm(&server, m.clone());
    let mut settings = support::test_settings();
    settings.token_budget = 0;
    settings.daily_token_budget = 0;
    settings.http.backoff = Duration::from_millis(300);
    let llm = support::llm_with(ProviderKind::OpenAi, &server.base_url(), settings, None);
    let narrator = Arc::new(LlmNarrator::new(llm, None, Clock::system()));

    let mut tasks = Vec::new();
    let mut ids = Vec::new();
    let mut narrated = 0;
    for c in 0..CAMPAIGNS {
        let id = campaign_setup(&coord, c).await;
        ids.push(id);
        tasks.push(tokio::spawn(gm_loop(
            coord.clone(),
            id,
            c,
            m.clone(),
            stop.clone(),
        )));
        for p in 0..PLAYERS {
            tasks.push(tokio::spawn(player_loop(
                coord.clone(),
                id,
                c,
                p,
                m.clone(),
                stop.clone(),
            )));
        }
        if c % 4 == 0 {
            let seq = store
                .last_seq(dicebard::store::CampaignId(id))
                .await
                .unwrap_or(0);
            m.narrated_seq.lock().unwrap().push((id, seq));
            tasks.push(tokio::spawn(narrator_loop(
                coord.clone(),
                narrator.clone(),
                id,
                narrated,
                m.clone(),
                stop.clone(),
            )));
            narrated += 1;
        }
    }

    // The voice table.
    let t = Instant::now();
    let (hub, input, voice_campaign) = voice_table(&coord).await;
    ids.push(voice_campaign);
    println!("voice models loaded in {:.1} s", t.elapsed().as_secs_f64());
    let clips: Arc<Vec<Clip>> = Arc::new(
        [
            "dnd_04_search.wav",
            "dnd_08_stealth.wav",
            "dnd_05_potion.wav",
            "dnd_10_rest.wav",
            "dnd_01_attack.wav",
        ]
        .into_iter()
        .map(encode)
        .collect(),
    );
    let mut reports = hub.observe();
    let observer = {
        let m = m.clone();
        tokio::spawn(async move {
            while let Some(r) = reports.recv().await {
                m.heard.fetch_add(1, Ordering::Relaxed);
                let i = (r.heard.user.get().saturating_sub(1)) as usize;
                let end = m.speech_end.lock().unwrap().get(i).copied().flatten();
                if let Some(end) = end {
                    m.voice_lat
                        .lock()
                        .unwrap()
                        .push(r.done.saturating_duration_since(end));
                }
            }
        })
    };
    let mut speakers = Vec::new();
    for i in 0..SPEAKERS {
        let (input, clips, m, stop) = (input.clone(), clips.clone(), m.clone(), stop.clone());
        speakers.push(std::thread::spawn(move || {
            speaker_thread(input, i, clips, m, stop)
        }));
    }

    // Sampling.
    let started = Instant::now();
    let deadline = started + total;
    let mut rows: Vec<Row> = Vec::new();
    let mut next = started + Duration::from_secs(interval);
    let mut last = (0u64, 0u64, 0u64, 0u64, 0u64, 0u64, 0u64, 0u64, 0u64, 0u64);
    println!(
        "{:>6} {:>8} {:>6} {:>8} {:>8} {:>5} {:>4} {:>5} {:>5} {:>5} {:>8} {:>6} {:>5} {:>5} {:>5} {:>5} {:>6} {:>5} {:>8} {:>4} {:>6}",
        "t s",
        "RSS MiB",
        "cmds",
        "p50 ms",
        "p99 ms",
        "refus",
        "fail",
        "fight",
        "n.llm",
        "n.fb",
        "n.p50ms",
        "n.lag",
        "llmrq",
        "clips",
        "heard",
        "u.drp",
        "p.drop",
        "sttq",
        "v.p50ms",
        "act",
        "creat"
    );
    while Instant::now() < deadline {
        let wake = next.min(deadline);
        tokio::time::sleep(wake.saturating_duration_since(Instant::now())).await;
        next += Duration::from_secs(interval);
        let mut lat = std::mem::take(&mut *m.latencies.lock().unwrap());
        lat.sort();
        let mut nlat = std::mem::take(&mut *m.narration_lat.lock().unwrap());
        nlat.sort();
        let mut vlat = std::mem::take(&mut *m.voice_lat.lock().unwrap());
        vlat.sort();
        let c = input.counters();
        let utterances = c.utterances.load(Ordering::Relaxed);
        let stt_waiting = hub.engines().await.map_or(0, |e| e.stt.waiting());
        let heard = m.heard.load(Ordering::Relaxed);
        let now = (
            m.commands.load(Ordering::Relaxed),
            m.refused.load(Ordering::Relaxed),
            m.failed.load(Ordering::Relaxed),
            m.fights.load(Ordering::Relaxed),
            m.narrations_llm.load(Ordering::Relaxed),
            m.narrations_fallback.load(Ordering::Relaxed),
            m.llm_requests.load(Ordering::Relaxed),
            m.clips_sent.load(Ordering::Relaxed),
            heard,
            c.dropped.load(Ordering::Relaxed),
        );
        let narrated = m.narrated_seq.lock().unwrap().clone();
        let mut backlog = 0u64;
        for (id, seq) in narrated {
            backlog += store
                .last_seq(dicebard::store::CampaignId(id))
                .await
                .unwrap_or(0)
                .saturating_sub(seq);
        }
        let mut creatures = 0;
        for id in &ids {
            if let Ok(snap) = coord.snapshot(CampaignId(*id)).await {
                creatures += snap.state.creatures.len();
            }
        }
        let row = Row {
            t: started.elapsed().as_secs(),
            rss_mib: rss_kib() as f64 / 1024.0,
            commands: now.0 - last.0,
            p50_ms: percentile(&lat, 0.5).as_secs_f64() * 1e3,
            p99_ms: percentile(&lat, 0.99).as_secs_f64() * 1e3,
            refused: now.1 - last.1,
            failed: now.2 - last.2,
            fights: now.3 - last.3,
            narr_llm: now.4 - last.4,
            narr_fallback: now.5 - last.5,
            narr_p50_ms: percentile(&nlat, 0.5).as_secs_f64() * 1e3,
            narr_backlog: backlog,
            llm_requests: now.6 - last.6,
            clips: now.7 - last.7,
            heard: now.8 - last.8,
            // Utterances cut by the receiver that were neither handled nor still queued
            // (includes at most one being transcribed per whisper worker).
            utt_dropped: utterances.saturating_sub(heard + stt_waiting as u64),
            pkt_dropped: now.9,
            stt_waiting,
            voice_p50_ms: percentile(&vlat, 0.5).as_secs_f64() * 1e3,
            loaded: coord.loaded(),
            creatures,
        };
        last = now;
        print_row(&row);
        rows.push(row);
    }

    // Stop.
    stop.store(true, Ordering::Relaxed);
    observer.abort();
    for s in speakers {
        let _ = tokio::task::spawn_blocking(move || s.join()).await;
    }
    for t in tasks {
        // Narrations may wait on a stalled LLM for its stall timeout.
        if tokio::time::timeout(Duration::from_secs(60), t)
            .await
            .is_err()
        {
            eprintln!("soak: a task did not stop within 60 s");
        }
    }
    let total_events: u64 = {
        let mut n = 0;
        for id in &ids {
            n += store
                .last_seq(dicebard::store::CampaignId(*id))
                .await
                .unwrap_or(0);
        }
        n
    };
    coord.shutdown().await;
    store.close().await;

    // The table and the verdict.
    println!(
        "\nsoak finished after {:.0} s; {total_events} events in the log",
        started.elapsed().as_secs_f64()
    );
    println!(
        "{:>6} {:>8} {:>6} {:>8} {:>8} {:>5} {:>4} {:>5} {:>5} {:>5} {:>8} {:>6} {:>5} {:>5} {:>5} {:>5} {:>6} {:>5} {:>8} {:>4} {:>6}",
        "t s",
        "RSS MiB",
        "cmds",
        "p50 ms",
        "p99 ms",
        "refus",
        "fail",
        "fight",
        "n.llm",
        "n.fb",
        "n.p50ms",
        "n.lag",
        "llmrq",
        "clips",
        "heard",
        "u.drp",
        "p.drop",
        "sttq",
        "v.p50ms",
        "act",
        "creat"
    );
    for r in &rows {
        print_row(r);
    }
    let sum = |f: fn(&Row) -> u64| rows.iter().map(f).sum::<u64>();
    println!(
        "totals: {} commands ({} refused, {} failed), {} fights, narrations {} by the LLM + {} \
         fallen back ({} LLM requests), voice {} clips said / {} heard, peak RSS {:.1} MiB",
        sum(|r| r.commands),
        sum(|r| r.refused),
        sum(|r| r.failed),
        sum(|r| r.fights),
        sum(|r| r.narr_llm),
        sum(|r| r.narr_fallback),
        sum(|r| r.llm_requests),
        sum(|r| r.clips),
        sum(|r| r.heard),
        rows.iter().map(|r| r.rss_mib).fold(0.0, f64::max),
    );
    verdict(&rows);
}

fn print_row(r: &Row) {
    println!(
        "{:>6} {:>8.1} {:>6} {:>8.1} {:>8.1} {:>5} {:>4} {:>5} {:>5} {:>5} {:>8.0} {:>6} {:>5} {:>5} {:>5} {:>5} {:>6} {:>5} {:>8.0} {:>4} {:>6}",
        r.t,
        r.rss_mib,
        r.commands,
        r.p50_ms,
        r.p99_ms,
        r.refused,
        r.failed,
        r.fights,
        r.narr_llm,
        r.narr_fallback,
        r.narr_p50_ms,
        r.narr_backlog,
        r.llm_requests,
        r.clips,
        r.heard,
        r.utt_dropped,
        r.pkt_dropped,
        r.stt_waiting,
        r.voice_p50_ms,
        r.loaded,
        r.creatures,
    );
}

/// Warm-up is the first fifth of the run (at least one interval). Memory growth: the last
/// interval's RSS against the RSS at the end of warm-up. p99 drift: the mean p99 of the
/// last quarter of the intervals after warm-up against that of the first quarter.
fn verdict(rows: &[Row]) {
    if rows.len() < 3 {
        println!("verdict: too few intervals ({}) to judge", rows.len());
        return;
    }
    let warm = (rows.len() / 5).max(1);
    let after = &rows[warm..];
    let base_rss = rows[warm - 1].rss_mib;
    let end_rss = rows[rows.len() - 1].rss_mib;
    let growth = (end_rss - base_rss) / base_rss.max(1.0) * 100.0;
    let q = (after.len() / 4).max(1);
    let mean = |s: &[Row]| s.iter().map(|r| r.p99_ms).sum::<f64>() / s.len() as f64;
    let (p99_first, p99_last) = (mean(&after[..q]), mean(&after[after.len() - q..]));
    let drift = (p99_last - p99_first) / p99_first.max(0.001) * 100.0;
    let failed: u64 = rows.iter().map(|r| r.failed).sum();
    println!(
        "\nwarm-up: first {warm} interval(s); RSS {base_rss:.1} MiB → {end_rss:.1} MiB: growth {growth:+.1}% (aim < 10%): {}",
        if growth < 10.0 { "PASS" } else { "FAIL" }
    );
    println!(
        "command p99: first {q} interval(s) after warm-up {p99_first:.1} ms, last {q} {p99_last:.1} ms: drift {drift:+.1}% (aim < 20%): {}",
        if drift < 20.0 { "PASS" } else { "FAIL" }
    );
    println!(
        "failed commands (internal/store errors): {failed}: {}",
        if failed == 0 { "PASS" } else { "FAIL" }
    );
}
