//! A real serenity 0.12.5 + songbird 0.6.1 client against the fake's voice server: it joins the
//! voice channel over `wss://` (trusting the fake's CA through `SSL_CERT_FILE`), receives a user
//! speaking a WAV (RTP events whose Opus payloads decode to the right length, SSRC mapped to the
//! user by op 5), and plays a tone that the fake hears at the right pitch.
//!
//! One test in this binary: it sets `SSL_CERT_FILE` for the whole process.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::time::Duration;

use fake_discord::ids::{ALICE, VOICE};
use fake_discord::{FakeConfig, FakeDiscord};
use serenity::all as s;
use serenity::async_trait;
use songbird::driver::DecodeMode;
use songbird::events::{CoreEvent, Event, EventContext, EventHandler as VoiceEventHandler};
use songbird::input::{Input, RawAdapter};
use songbird::packet::Packet;
use songbird::{Config, SerenityInit, Songbird};
use tokio::sync::mpsc;

const OPUS_SILENCE: [u8; 3] = [0xF8, 0xFF, 0xFE];

#[derive(Debug)]
enum Heard {
    Speaking {
        ssrc: u32,
        user: Option<u64>,
    },
    Rtp {
        ssrc: u32,
        sequence: u16,
        opus: Vec<u8>,
    },
}

struct Receiver(mpsc::UnboundedSender<Heard>);

#[async_trait]
impl VoiceEventHandler for Receiver {
    async fn act(&self, ctx: &EventContext<'_>) -> Option<Event> {
        match ctx {
            EventContext::SpeakingStateUpdate(sp) => {
                let _ = self.0.send(Heard::Speaking {
                    ssrc: sp.ssrc,
                    user: sp.user_id.map(|u| u.0),
                });
            }
            EventContext::RtpPacket(data) => {
                let rtp = data.rtp();
                let payload = rtp.payload();
                let opus = &payload[data.payload_offset..payload.len() - data.payload_end_pad];
                let _ = self.0.send(Heard::Rtp {
                    ssrc: rtp.get_ssrc(),
                    sequence: rtp.get_sequence().into(),
                    opus: opus.to_vec(),
                });
            }
            _ => {}
        }
        None
    }
}

fn attack_wav() -> PathBuf {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/audio/dnd_01_attack.wav");
    assert!(
        path.is_file(),
        "test audio missing: {} (the shared/ folder beside the repository)",
        path.display()
    );
    path
}

/// 48 kHz stereo f32 little-endian bytes of a sine.
fn sine_f32_bytes(hz: f32, seconds: f32) -> Vec<u8> {
    let n = (48_000.0 * seconds) as usize;
    let mut out = Vec::with_capacity(n * 8);
    for i in 0..n {
        let v = (i as f32 * hz * std::f32::consts::TAU / 48_000.0).sin() * 0.5;
        out.extend_from_slice(&v.to_le_bytes());
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn songbird_joins_hears_users_and_is_heard() {
    let wav = attack_wav();
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    // SAFETY: set before any client exists; this binary has a single test, and nothing else
    // reads the environment concurrently at this point.
    unsafe { std::env::set_var("SSL_CERT_FILE", fake.voice_ca_pem()) };

    let http = s::HttpBuilder::new(fake.token())
        .proxy(fake.api_base())
        .ratelimiter_disabled(true)
        .build();
    let songbird =
        Songbird::serenity_from_config(Config::default().decode_mode(DecodeMode::Decrypt));
    let intents = s::GatewayIntents::GUILDS | s::GatewayIntents::GUILD_VOICE_STATES;
    let mut client = s::ClientBuilder::new_with_http(http, intents)
        .register_songbird_with(songbird.clone())
        .await
        .expect("client builds");
    let shards = client.shard_manager.clone();
    let run = tokio::spawn(async move { client.start().await });
    fake.wait_for_ready(Duration::from_secs(10)).await.unwrap();

    fake.user_joins_voice(ALICE, VOICE);
    let guild = s::GuildId::new(fake.guild_id().0);
    let call = songbird
        .join(guild, s::ChannelId::new(VOICE.0))
        .await
        .unwrap_or_else(|e| panic!("songbird join failed: {e:?}\n{}", fake.describe()));
    fake.wait_for_bot_voice(Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(fake.voice_mode(), Some("aead_aes256_gcm_rtpsize"));
    assert_eq!(fake.bot_voice_channel(), Some(VOICE));

    let (tx, mut rx) = mpsc::unbounded_channel();
    {
        let mut call = call.lock().await;
        call.add_global_event(CoreEvent::SpeakingStateUpdate.into(), Receiver(tx.clone()));
        call.add_global_event(CoreEvent::RtpPacket.into(), Receiver(tx));
    }

    // (a) Alice speaks the WAV; the client receives her packets.
    let spec = hound::WavReader::open(&wav).unwrap().spec();
    let wav_frames = hound::WavReader::open(&wav).unwrap().duration() as u64;
    let resampled = wav_frames * 48_000 / u64::from(spec.sample_rate);
    let speech_frames = resampled.div_ceil(960) as usize;
    fake.speak(ALICE, &wav).await.unwrap();

    let mut speaking = None;
    let mut packets = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while packets.len() < speech_frames + 5 {
        let heard = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "{} of {} packets received; speaking {speaking:?}\n{}",
                    packets.len(),
                    speech_frames + 5,
                    fake.describe()
                )
            })
            .expect("receiver alive");
        match heard {
            Heard::Speaking { ssrc, user } => speaking = Some((ssrc, user)),
            Heard::Rtp {
                ssrc,
                sequence,
                opus,
            } => {
                assert_eq!(ssrc, 2000);
                packets.push((sequence, opus));
            }
        }
    }
    assert_eq!(
        speaking,
        Some((2000, Some(ALICE.0))),
        "SSRC mapped to alice"
    );
    for w in packets.windows(2) {
        assert_eq!(
            w[1].0,
            w[0].0.wrapping_add(1),
            "consecutive sequence numbers"
        );
    }
    assert!(
        packets[speech_frames..]
            .iter()
            .all(|(_, p)| p == &OPUS_SILENCE)
    );
    let mut decoder = opus2::Decoder::new(48_000, opus2::Channels::Stereo).unwrap();
    let mut buf = vec![0i16; 5760 * 2];
    let mut pcm = Vec::new();
    for (_, opus) in &packets {
        let n = decoder
            .decode(opus, &mut buf, false)
            .expect("payload slice is a whole Opus frame");
        assert_eq!(n, 960, "20 ms per packet");
        pcm.extend_from_slice(&buf[..n * 2]);
    }
    assert_eq!(pcm.len(), (speech_frames + 5) * 1920);
    let energy = pcm.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>() / pcm.len() as f64;
    assert!(
        energy.sqrt() > 300.0,
        "speech, not silence: rms {}",
        energy.sqrt()
    );

    // (b) The client plays a 1 s 440 Hz tone; the fake hears it.
    fake.clear_heard();
    let tone = RawAdapter::new(Cursor::new(sine_f32_bytes(440.0, 1.0)), 48_000, 2);
    let track = call.lock().await.play_input(Input::from(tone));
    let heard = match fake
        .wait_for_bot_audio(0.8, Duration::from_millis(300), Duration::from_secs(10))
        .await
    {
        Ok(heard) => heard,
        // e.g. Errored(Parse(DecodeError("no compatible track found"))) without symphonia "pcm".
        Err(e) => panic!("{e}\ntrack: {:?}", track.get_info().await),
    };
    let left: Vec<i16> = heard.iter().step_by(2).copied().collect();
    let loud: Vec<usize> = (0..left.len())
        .filter(|i| left[*i].unsigned_abs() > 2000)
        .collect();
    let (first, last) = (loud[0], loud[loud.len() - 1]);
    assert!(
        last - first >= 38_400,
        "at least 0.8 s of tone, got {} samples",
        last - first
    );
    let crossings = left[first..=last]
        .windows(2)
        .filter(|w| (w[0] < 0) != (w[1] < 0))
        .count();
    let hz = crossings as f64 / 2.0 / ((last - first) as f64 / 48_000.0);
    assert!(
        (420.0..460.0).contains(&hz),
        "dominant frequency {hz:.1} Hz"
    );
    let stats = fake.voice_stats();
    assert_eq!(stats.decrypt_failures, 0, "{stats:?}");
    assert_eq!(stats.decode_failures, 0, "{stats:?}");
    assert!(stats.rtp_packets >= 40, "{stats:?}");

    // Leave: op 4 with no channel; songbird needed GET /users/@me to know its user id.
    songbird.leave(guild).await.expect("leave");
    wait_until(&fake, Duration::from_secs(5), |f| {
        f.bot_voice_channel().is_none()
    })
    .await;
    assert!(
        fake.request_log()
            .iter()
            .any(|r| r.method == "GET" && r.path == "/users/@me")
    );
    fake.assert_clean();
    shards.shutdown_all().await;
    let _ = tokio::time::timeout(Duration::from_secs(5), run).await;
}

async fn wait_until(fake: &FakeDiscord, timeout: Duration, f: impl Fn(&FakeDiscord) -> bool) {
    let deadline = tokio::time::Instant::now() + timeout;
    while !f(fake) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not met\n{}",
            fake.describe()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
