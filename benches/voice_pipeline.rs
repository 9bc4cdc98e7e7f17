//! Voice pipeline figures (a plain binary: `cargo bench --bench voice_pipeline`).
//!
//! (a) Speech end → action committed: real WAVs from ../shared/audio, encoded to 20 ms
//!     Opus packets like a Discord client's (48 kHz stereo), pushed in real time into
//!     the bot's receive worker (the same entry point songbird's RTP events use), through
//!     Opus decoding, end-of-utterance detection (the silence window is part of the
//!     figure), the whisper pool, wake word / turn gating and the free-text reader, into a
//!     real Coordinator on a temporary SQLite file. No Discord. One speaker, then five
//!     speaking at once. "Speech end" is when the last voiced packet was sent.
//! (b) Narration: sentence handed to `speak` → its first PCM frame ready for songbird
//!     (synthesis + resampling + input creation) and → its first Opus frame; and the
//!     text-to-speech real-time factor.
//! (c) Narration on the wire: a real serenity + songbird client in a voice call with the
//!     fake Discord; narration handed to the bot's `Speaker` → the first audible Opus
//!     frame received (and decrypted, decoded) by the fake: synthesis, songbird's track
//!     queue and 20 ms mixer tick, Opus encoding, transport encryption, UDP.
//!
//! Under `cargo test --all-targets` (no `--bench`) it does one round of each as a smoke
//! test. The models are required (DICEBARD_WHISPER_MODEL, DICEBARD_PIPER_VOICE,
//! ORT_DYLIB_PATH / DICEBARD_ONNXRUNTIME, or models/): a missing one is a failure.

use dicebard::clock::Clock;
use dicebard::config::VoiceConfig;
use dicebard::coordinator::{Coordinator, CoordinatorOptions, Origin, Source};
use dicebard::discord::voice::heard::NoPost;
use dicebard::discord::voice::speak::{Outlet, Speaker};
use dicebard::discord::voice::{HeardReport, HeardResult, RxInput, RxMsg, VoiceHub};
use dicebard::intent::{ActOutcome, IntentResolver};
use dicebard::store::{DbLocation, Store};
use dicebard_engine::character::CharacterSpec;
use dicebard_engine::{Action, Command, PlayerId};
use dicebard_voice::audio::{read_wav_16k_mono, resample};
use dicebard_voice::models::{self, Kind};
use dicebard_voice::segment::level_db;
use dicebard_voice::{Synthesizer, sentences};
use opus2::{Application, Bitrate, Channels, Encoder};
use poise::serenity_prelude as serenity;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

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

fn audio_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/audio")
}

/// A clip as a client sends it: 20 ms Opus packets, and which of them carry voice.
struct Clip {
    name: String,
    packets: Vec<Vec<u8>>,
    /// Index of the last packet with speech in it.
    last_voiced: usize,
}

fn encode(file: &str) -> Clip {
    let path = audio_dir().join(file);
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
    // A client's five silence frames after the user stops talking, then nothing.
    for _ in 0..5 {
        packets.push(vec![0xF8, 0xFF, 0xFE]);
    }
    Clip {
        name: file.to_string(),
        packets,
        last_voiced,
    }
}

/// Sends `clip` on `ssrc` at the real 20 ms pace; returns when the last voiced packet
/// went out.
fn play(input: &RxInput, ssrc: u32, seq: &mut u16, clip: &Clip) -> Instant {
    let start = Instant::now();
    let mut speech_end = start;
    for (i, p) in clip.packets.iter().enumerate() {
        let due = start + Duration::from_millis(20 * i as u64);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        input.send(RxMsg::Packet {
            ssrc,
            seq: *seq,
            payload: bytes::Bytes::from(p.clone()),
        });
        *seq = seq.wrapping_add(1);
        if i == clip.last_voiced {
            speech_end = Instant::now();
        }
    }
    speech_end
}

fn percentile(v: &[Duration], q: f64) -> Duration {
    let mut v = v.to_vec();
    v.sort();
    v[((v.len() as f64 - 1.0) * q).round() as usize]
}

fn show(label: &str, v: &[Duration]) {
    println!(
        "{label:<58} n={:<3} p50 {:>7.0} ms  p95 {:>7.0} ms  max {:>7.0} ms",
        v.len(),
        percentile(v, 0.5).as_secs_f64() * 1e3,
        percentile(v, 0.95).as_secs_f64() * 1e3,
        percentile(v, 1.0).as_secs_f64() * 1e3,
    );
}

const GUILD: u64 = 4242;
/// Users 1..=5 are the players.
fn user(i: usize) -> u64 {
    1 + i as u64
}

struct Table {
    _dir: tempfile::TempDir,
    hub: VoiceHub,
    input: RxInput,
    reports: mpsc::UnboundedReceiver<Arc<HeardReport>>,
    seqs: Vec<u16>,
}

async fn table(players: usize, silence_ms: u64) -> Table {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&DbLocation::File(dir.path().join("bench.sqlite3")))
        .await
        .unwrap();
    let coord = Coordinator::new(
        store,
        Arc::new(dicebard_srd::catalog().clone()),
        Clock::system(),
        CoordinatorOptions::default(),
    );
    let gm = PlayerId::new("discord:999");
    let campaign = coord
        .create_campaign(
            "Voice bench",
            &gm,
            Some(7),
            Origin::new(Source::System, &gm),
        )
        .await
        .unwrap();
    for i in 0..players {
        let who = dicebard::discord::player_id(serenity::UserId::new(user(i)));
        coord
            .submit(
                campaign,
                Command {
                    by: dicebard_engine::Actor::Player(who.clone()),
                    action: Action::CreateCharacter {
                        spec: CharacterSpec::quick(&format!("Hero{i}"), "rogue", "human"),
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
        silence_ms,
        ..VoiceConfig::default()
    };
    let hub = VoiceHub::new(
        coord,
        Arc::new(IntentResolver::new(None)),
        config,
        Arc::new(NoPost),
        None,
    );
    let t = Instant::now();
    let (input, _spoken) = hub
        .attach_local(
            serenity::GuildId::new(GUILD),
            campaign,
            serenity::ChannelId::new(1),
        )
        .await
        .expect("voice models load");
    println!("models loaded in {:.2} s", t.elapsed().as_secs_f64());
    for i in 0..players {
        input.send(RxMsg::Speaking {
            ssrc: 100 + i as u32,
            user: user(i),
        });
    }
    let reports = hub.observe();
    Table {
        _dir: dir,
        hub,
        input,
        reports,
        seqs: vec![0; players],
    }
}

/// Each of the first `speakers` players says a clip at the same time; returns speech
/// end → committed for each.
async fn round(
    t: &mut Table,
    clips: &[Arc<Clip>],
    speakers: usize,
    offset: usize,
) -> Vec<Duration> {
    let mut threads = Vec::new();
    for i in 0..speakers {
        let input = t.input.clone();
        let clip = clips[(i + offset) % clips.len()].clone();
        let mut seq = t.seqs[i];
        threads.push(std::thread::spawn(move || {
            let end = play(&input, 100 + i as u32, &mut seq, &clip);
            (end, seq, clip)
        }));
    }
    let mut ends = vec![None; speakers];
    let mut names = vec![String::new(); speakers];
    for (i, th) in threads.into_iter().enumerate() {
        let (end, seq, clip) = tokio::task::spawn_blocking(move || th.join().unwrap())
            .await
            .unwrap();
        t.seqs[i] = seq;
        ends[i] = Some(end);
        names[i] = clip.name.clone();
    }
    let mut out = Vec::new();
    let mut pending = speakers;
    while pending > 0 {
        let r = tokio::time::timeout(Duration::from_secs(60), t.reports.recv())
            .await
            .expect("a heard utterance within 60 s")
            .expect("reports");
        let i = (r.heard.user.get() - 1) as usize;
        let Some(end) = ends.get_mut(i).and_then(Option::take) else {
            panic!("an unexpected utterance: {:?}", r.heard);
        };
        match &r.result {
            HeardResult::Acted(ActOutcome::Done { events, .. }) if !events.is_empty() => {}
            other => panic!(
                "{}: heard {:?}, not committed: {other:?}",
                names[i], r.heard.text
            ),
        }
        out.push(r.done.saturating_duration_since(end));
        pending -= 1;
    }
    out
}

async fn speech_to_action(full: bool) {
    let clips: Vec<Arc<Clip>> = ["dnd_04_search.wav", "dnd_08_stealth.wav"]
        .into_iter()
        .map(|f| Arc::new(encode(f)))
        .collect();
    let silence_ms = 700;
    let mut t = table(5, silence_ms).await;
    println!(
        "speech end → action committed (includes the {silence_ms} ms end-of-utterance silence; {} CPUs)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    // Warm-up (first whisper run allocates).
    round(&mut t, &clips, 1, 0).await;
    let rounds = if full { 12 } else { 1 };
    let mut one = Vec::new();
    for r in 0..rounds {
        one.extend(round(&mut t, &clips, 1, r).await);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    show("  1 speaker", &one);
    let rounds = if full { 6 } else { 1 };
    let mut five = Vec::new();
    for r in 0..rounds {
        five.extend(round(&mut t, &clips, 5, r).await);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    show("  5 speakers at once", &five);
    let c = t.input.counters();
    println!(
        "  receive: {} packets, {} dropped, {} utterances; {} waiting for STT",
        c.packets.load(std::sync::atomic::Ordering::Relaxed),
        c.dropped.load(std::sync::atomic::Ordering::Relaxed),
        c.utterances.load(std::sync::atomic::Ordering::Relaxed),
        t.hub.engines().await.unwrap().stt.waiting(),
    );
}

fn narration(full: bool) {
    let synth = Arc::new(
        Synthesizer::load(model(Kind::Piper), model(Kind::OnnxRuntime)).expect("load piper"),
    );
    let speaker = Speaker::start().unwrap();
    let text = "The goblin lunges from the shadows, blade flashing. Thorin raises his shield just in time. The blow glances off with a ringing crash.";
    let n_sentences = sentences(text).len();
    let rounds = if full { 10 } else { 1 };
    let mut first_pcm = Vec::new();
    let mut first_opus = Vec::new();
    let (mut audio, mut synth_s) = (0.0, 0.0);
    let mut enc = Encoder::new(48_000, Channels::Stereo, Application::Audio).unwrap();
    // Warm-up.
    synth.synthesize("Ready.").unwrap();
    for _ in 0..rounds {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let outlet = Outlet::new(64, tx);
        let t0 = Instant::now();
        speaker.speak(&synth, &outlet, text, 1.0);
        for k in 0..n_sentences {
            let s = rx.blocking_recv().expect("a sentence");
            audio += s.audio_seconds;
            synth_s += (s.ready - s.synth_started).as_secs_f64();
            if k == 0 {
                let frame: Vec<f32> = s.pcm[..1920.min(s.pcm.len())].to_vec();
                let _input = s.into_input();
                first_pcm.push(t0.elapsed());
                let mut f = frame;
                f.resize(1920, 0.0);
                enc.encode_vec_float(&f, 4000).unwrap();
                first_opus.push(t0.elapsed());
            }
        }
    }
    println!("narration ({n_sentences} sentences per text)");
    show(
        "  sentence → first PCM frame handed to songbird",
        &first_pcm,
    );
    show("  sentence → first Opus frame", &first_opus);
    println!(
        "  TTS: {:.1} s audio in {:.2} s, real-time factor {:.3}",
        audio,
        synth_s,
        synth_s / audio
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    println!(
        "voice pipeline bench ({} pass)",
        if full { "full" } else { "smoke" }
    );
    speech_to_action(full).await;
    tokio::task::spawn_blocking(move || narration(full))
        .await
        .unwrap();
    narration_on_the_wire(full).await;
}

async fn narration_on_the_wire(full: bool) {
    use dicebard::discord::voice::speak::play_into_call;
    use fake_discord::ids::{ALICE, VOICE};
    use fake_discord::{FakeConfig, FakeDiscord};
    use songbird::SerenityInit as _;

    let fake = FakeDiscord::start(FakeConfig::default()).await;
    // SAFETY: the only client that reads it is created below; the other sections are done
    // and nothing else reads the environment at this point.
    unsafe { std::env::set_var("SSL_CERT_FILE", fake.voice_ca_pem()) };
    let http = serenity::HttpBuilder::new(fake.token())
        .proxy(fake.api_base())
        .ratelimiter_disabled(true)
        .build();
    let songbird =
        songbird::Songbird::serenity_from_config(dicebard::discord::voice::songbird_config());
    let intents = serenity::GatewayIntents::GUILDS | serenity::GatewayIntents::GUILD_VOICE_STATES;
    let mut client = serenity::ClientBuilder::new_with_http(http, intents)
        .register_songbird_with(songbird.clone())
        .await
        .expect("client builds");
    let shards = client.shard_manager.clone();
    tokio::spawn(async move { client.start().await });
    fake.wait_for_ready(Duration::from_secs(20))
        .await
        .expect("ready");
    fake.user_joins_voice(ALICE, VOICE);
    let call = songbird
        .join(
            serenity::GuildId::new(fake.guild_id().0),
            serenity::ChannelId::new(VOICE.0),
        )
        .await
        .expect("songbird joins the fake's voice channel");
    fake.wait_for_bot_voice(Duration::from_secs(20))
        .await
        .expect("voice handshake");

    let synth = tokio::task::spawn_blocking(|| {
        let s =
            Synthesizer::load(model(Kind::Piper), model(Kind::OnnxRuntime)).expect("load piper");
        s.synthesize("Ready.").unwrap();
        Arc::new(s)
    })
    .await
    .unwrap();
    let speaker = Speaker::start().unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    let outlet = Outlet::new(64, tx);
    tokio::spawn(play_into_call(outlet.clone(), call.clone(), rx));
    let text = "The goblin lunges from the shadows, blade flashing. Thorin raises his shield just in time.";
    let rounds = if full { 10 } else { 1 };
    let mut first = Vec::new();
    for _ in 0..rounds {
        fake.clear_heard();
        let t0 = Instant::now();
        speaker.speak(&synth, &outlet, text, 1.0);
        loop {
            if fake.heard_pcm().iter().any(|x| x.unsigned_abs() > 300) {
                first.push(t0.elapsed());
                break;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(30),
                "the fake never heard the narration"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        // Stop it and let the call fall quiet before the next round.
        outlet.skip();
        call.lock().await.stop();
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    println!("narration on the wire (songbird → fake Discord, 2 ms polling)");
    show(
        "  text handed to speak → first audible Opus frame received",
        &first,
    );
    let _ = songbird
        .remove(serenity::GuildId::new(fake.guild_id().0))
        .await;
    shards.shutdown_all().await;
}
