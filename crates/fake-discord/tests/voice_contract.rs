//! Voice contract tests with a hand-written voice client: every voice gateway payload the fake
//! sends parses with `serenity_voice_model::Event` (songbird's own model), the UDP IP discovery
//! and RTP packets have Discord's layout, and the transport encryption is checked with an
//! independent AES-256-GCM implementation (nonce = 4-byte counter + zeros, AAD = RTP header +
//! extension preamble).

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use common::*;
use fake_discord::ids::{ALICE, BOB, VOICE};
use fake_discord::{FakeConfig, FakeDiscord};
use futures_util::{SinkExt, StreamExt};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use serde_json::{Value, json};
use serenity_voice_model::Event as VoiceEvent;
use serenity_voice_model::ProtocolData;
use serenity_voice_model::id::{GuildId as VGuildId, UserId as VUserId};
use serenity_voice_model::payload::{Heartbeat, Identify, Resume, SelectProtocol};
use tokio::net::{TcpStream, UdpSocket};
use tokio_tungstenite_026::tungstenite::Message as Ws;
use tokio_tungstenite_026::{Connector, MaybeTlsStream, WebSocketStream};

type VoiceWs = WebSocketStream<MaybeTlsStream<TcpStream>>;

const AES: &str = "aead_aes256_gcm_rtpsize";

/// Parses a voice gateway frame with songbird's model; panics if it does not parse.
fn parse_voice(text: &str) -> VoiceEvent {
    serde_json::from_str(text)
        .unwrap_or_else(|e| panic!("serenity-voice-model cannot parse voice frame: {e}\n{text}"))
}

/// A TLS websocket to the fake's voice gateway, trusting only the fake's CA file.
async fn connect_voice(fake: &FakeDiscord) -> VoiceWs {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(fake.voice_ca_pem()).expect("CA file readable") {
        roots
            .add(cert.expect("CA PEM parses"))
            .expect("CA accepted");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let url = format!("wss://{}/?v=4", fake.voice_endpoint());
    tokio_tungstenite_026::connect_async_tls_with_config(
        url,
        None,
        true,
        Some(Connector::Rustls(Arc::new(config))),
    )
    .await
    .expect("TLS websocket to the voice gateway")
    .0
}

async fn send(ws: &mut VoiceWs, event: VoiceEvent) {
    let text = serde_json::to_string(&event).unwrap();
    ws.send(Ws::text(text)).await.unwrap();
}

async fn send_raw(ws: &mut VoiceWs, frame: Value) {
    ws.send(Ws::text(frame.to_string())).await.unwrap();
}

/// The next text frame within 5 s, parsed by serenity-voice-model (and the raw JSON).
async fn recv(ws: &mut VoiceWs) -> (VoiceEvent, Value) {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("a voice frame within 5 s")
            .expect("voice gateway open")
            .expect("voice frame ok");
        match msg {
            Ws::Text(t) => return (parse_voice(t.as_str()), serde_json::from_str(&t).unwrap()),
            Ws::Close(c) => panic!("voice gateway closed: {c:?}"),
            _ => {}
        }
    }
}

async fn close_code_of(ws: &mut VoiceWs) -> Option<u16> {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("close within 5 s")
        {
            Some(Ok(Ws::Close(c))) => return c.map(|c| u16::from(c.code)),
            Some(Ok(_)) => {}
            _ => return None,
        }
    }
}

/// What the bot learns on the main gateway when it joins `VOICE`.
struct Join {
    session_id: String,
    token: String,
}

async fn join_voice(bot: &mut RawBot, fake: &FakeDiscord) -> Join {
    bot.send(
        json!({"op": 4, "d": {"guild_id": fake.guild_id().0, "channel_id": VOICE.0,
        "self_mute": false, "self_deaf": false}}),
    )
    .await;
    let (state, text) = bot.next_dispatch("VOICE_STATE_UPDATE").await;
    parse_frame(&text);
    let (server, text) = bot.next_dispatch("VOICE_SERVER_UPDATE").await;
    parse_frame(&text);
    assert_eq!(server["d"]["endpoint"], fake.voice_endpoint());
    Join {
        session_id: state["d"]["session_id"].as_str().unwrap().to_owned(),
        token: server["d"]["token"].as_str().unwrap().to_owned(),
    }
}

fn identify(fake: &FakeDiscord, join: &Join, token: &str) -> VoiceEvent {
    VoiceEvent::from(Identify {
        server_id: VGuildId(fake.guild_id().0),
        session_id: join.session_id.clone(),
        token: token.to_owned(),
        user_id: VUserId(fake.bot_id().0),
        max_dave_protocol_version: Some(1),
    })
}

/// Opens an RTP packet the way Discord's rtpsize AES-GCM mode defines it, independently of the
/// fake's code. Returns (header, opus payload).
fn open_aes(key: &[u8], packet: &[u8]) -> (Vec<u8>, Vec<u8>) {
    assert_eq!(packet[0] >> 6, 2, "RTP version 2");
    let has_ext = packet[0] & 0x10 != 0;
    let aad_len = 12 + if has_ext { 4 } else { 0 };
    let (aad, rest) = packet.split_at(aad_len);
    let (sealed, nonce) = rest.split_at(rest.len() - 4);
    let (ct, tag) = sealed.split_at(sealed.len() - 16);
    let mut n = Nonce::default();
    n[..4].copy_from_slice(nonce);
    let mut body = ct.to_vec();
    Aes256Gcm::new_from_slice(key)
        .unwrap()
        .decrypt_in_place_detached(
            &n,
            aad,
            &mut body,
            <&[u8; 16]>::try_from(tag).unwrap().into(),
        )
        .expect("the fake's packet decrypts with the session key");
    let skip = if has_ext {
        4 * usize::from(u16::from_be_bytes([aad[14], aad[15]]))
    } else {
        0
    };
    (aad[..12].to_vec(), body[skip..].to_vec())
}

fn seal_aes(key: &[u8], header: [u8; 12], opus: &[u8], nonce: u32) -> Vec<u8> {
    let mut n = Nonce::default();
    n[..4].copy_from_slice(&nonce.to_be_bytes());
    let mut body = opus.to_vec();
    let tag = Aes256Gcm::new_from_slice(key)
        .unwrap()
        .encrypt_in_place_detached(&n, &header, &mut body)
        .unwrap();
    let mut p = header.to_vec();
    p.extend_from_slice(&body);
    p.extend_from_slice(&tag);
    p.extend_from_slice(&nonce.to_be_bytes());
    p
}

fn sine(hz: f32, seconds: f32) -> Vec<i16> {
    let n = (48_000.0 * seconds) as usize;
    (0..n)
        .flat_map(|i| {
            let s = ((i as f32 * hz * std::f32::consts::TAU / 48_000.0).sin() * 10_000.0) as i16;
            [s, s]
        })
        .collect()
}

#[tokio::test]
async fn voice_gateway_udp_and_rtp_contract() {
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    assert!(fake.voice_ca_pem().exists());
    let (mut bot, _) = RawBot::identify(&fake, GUILDS | GUILD_VOICE_STATES).await;
    let join = join_voice(&mut bot, &fake).await;

    // A wrong token is refused (4004), as Discord does.
    let mut ws = connect_voice(&fake).await;
    let (hello, _) = recv(&mut ws).await;
    assert!(matches!(hello, VoiceEvent::Hello(h) if h.heartbeat_interval == 13_750.0));
    send(&mut ws, identify(&fake, &join, "wrong")).await;
    assert_eq!(close_code_of(&mut ws).await, Some(4004));

    // Hello on connect; Identify -> Ready.
    let mut ws = connect_voice(&fake).await;
    let (hello, _) = recv(&mut ws).await;
    assert!(matches!(hello, VoiceEvent::Hello(_)));
    send(&mut ws, identify(&fake, &join, &join.token)).await;
    let (VoiceEvent::Ready(ready), _) = recv(&mut ws).await else {
        panic!("Ready expected")
    };
    assert_eq!(ready.ssrc, 1111);
    assert_eq!(SocketAddr::new(ready.ip, ready.port), fake.voice_udp_addr());
    assert_eq!(
        ready.modes,
        [AES, "aead_xchacha20_poly1305_rtpsize"].map(String::from)
    );

    // UDP IP discovery: 74 bytes each way.
    let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    udp.connect((ready.ip, ready.port)).await.unwrap();
    let mut request = [0u8; 74];
    request[..4].copy_from_slice(&[0, 1, 0, 70]);
    request[4..8].copy_from_slice(&ready.ssrc.to_be_bytes());
    udp.send(&request).await.unwrap();
    let mut buf = [0u8; 2048];
    let n = tokio::time::timeout(Duration::from_secs(5), udp.recv(&mut buf))
        .await
        .expect("discovery answer")
        .unwrap();
    assert_eq!(n, 74);
    assert_eq!(&buf[..8], &[0, 2, 0, 70, 0, 0, 4, 87]);
    let nul = buf[8..72].iter().position(|b| *b == 0).unwrap();
    let address = std::str::from_utf8(&buf[8..8 + nul]).unwrap();
    let port = u16::from_be_bytes([buf[72], buf[73]]);
    let local = udp.local_addr().unwrap();
    assert_eq!((address, port), ("127.0.0.1", local.port()));

    // Select Protocol -> Session Description with DAVE off.
    send(
        &mut ws,
        VoiceEvent::from(SelectProtocol {
            protocol: "udp".into(),
            data: ProtocolData {
                address: local.ip(),
                port: local.port(),
                mode: AES.into(),
            },
        }),
    )
    .await;
    let (VoiceEvent::SessionDescription(desc), _) = recv(&mut ws).await else {
        panic!("Session Description expected")
    };
    assert_eq!(desc.mode, AES);
    assert_eq!(desc.secret_key.len(), 32);
    assert_eq!(desc.dave_protocol_version, 0);
    let key = desc.secret_key;
    fake.wait_for_bot_voice(Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(fake.voice_mode(), Some(AES));

    // Heartbeats (songbird: the nonce as `d`) are acknowledged with the same nonce.
    send(&mut ws, VoiceEvent::from(Heartbeat { nonce: 1_234_567 })).await;
    let (VoiceEvent::HeartbeatAck(ack), _) = recv(&mut ws).await else {
        panic!("Heartbeat ACK expected")
    };
    assert_eq!(ack.nonce, 1_234_567);

    // A user joining the channel: op 11.
    fake.user_joins_voice(ALICE, VOICE);
    let (VoiceEvent::ClientsConnect(cc), _) = recv(&mut ws).await else {
        panic!("Clients Connect expected")
    };
    assert_eq!(cc.user_ids, vec![VUserId(ALICE.0)]);

    // The user speaks 0.2 s: op 5, then 10 + 5 silence packets, 20 ms apart.
    assert_eq!(fake.user_ssrc(ALICE), Some(2000));
    let speaker = {
        let fake = fake.clone();
        tokio::spawn(async move { fake.speak_pcm(ALICE, &sine(440.0, 0.2)).await })
    };
    let (VoiceEvent::Speaking(sp), _) = recv(&mut ws).await else {
        panic!("Speaking expected")
    };
    assert_eq!(
        (sp.user_id, sp.ssrc, sp.speaking.microphone()),
        (Some(VUserId(ALICE.0)), 2000, true)
    );
    let mut decoder = opus2::Decoder::new(48_000, opus2::Channels::Stereo).unwrap();
    let mut pcm = vec![0i16; 5760 * 2];
    let mut last: Option<(u16, u32, u32)> = None;
    let mut payloads = Vec::new();
    for _ in 0..15 {
        let n = tokio::time::timeout(Duration::from_secs(5), udp.recv(&mut buf))
            .await
            .expect("an RTP packet")
            .unwrap();
        let (header, opus) = open_aes(&key, &buf[..n]);
        assert_eq!(header[1], 120, "payload type 120, no marker");
        let seq = u16::from_be_bytes([header[2], header[3]]);
        let ts = u32::from_be_bytes(header[4..8].try_into().unwrap());
        let ssrc = u32::from_be_bytes(header[8..12].try_into().unwrap());
        let nonce = u32::from_be_bytes(buf[n - 4..n].try_into().unwrap());
        assert_eq!(ssrc, 2000);
        if let Some((s, t, nc)) = last {
            assert_eq!(seq, s.wrapping_add(1));
            assert_eq!(ts, t.wrapping_add(960));
            assert_eq!(nonce, nc.wrapping_add(1));
        }
        last = Some((seq, ts, nonce));
        assert_eq!(decoder.decode(&opus, &mut pcm, false).unwrap(), 960);
        payloads.push(opus);
    }
    speaker.await.unwrap().unwrap();
    assert!(payloads[10..].iter().all(|p| p == &[0xF8, 0xFF, 0xFE]));
    assert!(payloads[..10].iter().all(|p| p.len() > 3));
    assert_eq!(fake.voice_stats().packets_sent, 15);

    // Someone outside the bot's channel cannot speak.
    let err = fake.speak_pcm(BOB, &sine(440.0, 0.02)).await.unwrap_err();
    assert!(
        matches!(err, fake_discord::VoiceError::NotInBotChannel { .. }),
        "{err}"
    );

    // The bot speaks: keepalives and a corrupt packet are counted, audio decoded and kept.
    udp.send(&[0, 0, 4, 87, 0, 0, 0, 0]).await.unwrap();
    let mut encoder =
        opus2::Encoder::new(48_000, opus2::Channels::Stereo, opus2::Application::Audio).unwrap();
    let tone = sine(440.0, 0.4);
    for (i, frame) in tone.chunks(1920).enumerate() {
        let opus = encoder.encode_vec(frame, 4000).unwrap();
        let mut header = [0x80, 120, 0, 0, 0, 0, 0, 0, 0, 0, 4, 87];
        header[2..4].copy_from_slice(&(i as u16).to_be_bytes());
        header[4..8].copy_from_slice(&(i as u32 * 960).to_be_bytes());
        udp.send(&seal_aes(&key, header, &opus, 77 + i as u32))
            .await
            .unwrap();
    }
    let mut bad = seal_aes(&key, [0x80, 120, 0, 99, 0, 0, 0, 0, 0, 0, 4, 87], b"xyz", 3);
    bad[13] ^= 0xFF;
    udp.send(&bad).await.unwrap();
    let heard = fake
        .wait_for_bot_audio(0.4, Duration::from_millis(100), Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(heard.len(), tone.len());
    let stats = fake.voice_stats();
    assert_eq!(
        (
            stats.rtp_packets,
            stats.decrypt_failures,
            stats.other_datagrams
        ),
        (21, 1, 1)
    );
    let left: Vec<i16> = heard.iter().step_by(2).copied().collect();
    let crossings = left.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
    assert!(
        (300..400).contains(&crossings),
        "{crossings} zero crossings"
    );
    fake.clear_heard();
    assert!(fake.heard_pcm().is_empty());

    // The user leaves: op 13.
    fake.user_leaves_voice(ALICE);
    let (VoiceEvent::ClientDisconnect(cd), _) = recv(&mut ws).await else {
        panic!("Client Disconnect expected")
    };
    assert_eq!(cd.user_id, VUserId(ALICE.0));

    // Every frame the fake sent so far is songbird-parseable.
    let frames = fake.voice_gateway_frames();
    assert_eq!(frames.len(), 8, "{frames:?}");
    for f in &frames {
        parse_voice(f);
    }
    // v8 heartbeats carry `{t, seq_ack}`; Discord acks with `{t}`.
    send_raw(&mut ws, json!({"op": 3, "d": {"t": 99, "seq_ack": -1}})).await;
    let text = loop {
        let msg = ws.next().await.unwrap().unwrap();
        if let Ws::Text(t) = msg {
            break t;
        }
    };
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v, json!({"op": 6, "d": {"t": 99}}));

    // Network loss: a new connection resumes the session with op 7 -> op 9.
    assert!(fake.drop_voice_connection());
    let mut ws2 = connect_voice(&fake).await;
    let (hello, _) = recv(&mut ws2).await;
    assert!(matches!(hello, VoiceEvent::Hello(_)));
    send(
        &mut ws2,
        VoiceEvent::from(Resume {
            server_id: VGuildId(fake.guild_id().0),
            session_id: join.session_id.clone(),
            token: join.token.clone(),
        }),
    )
    .await;
    let (resumed, _) = recv(&mut ws2).await;
    assert!(matches!(resumed, VoiceEvent::Resumed));
    fake.wait_for_bot_voice(Duration::from_secs(1))
        .await
        .unwrap();

    // The bot leaves: Discord closes the voice gateway with 4014.
    bot.send(
        json!({"op": 4, "d": {"guild_id": fake.guild_id().0, "channel_id": null,
        "self_mute": false, "self_deaf": false}}),
    )
    .await;
    assert_eq!(close_code_of(&mut ws2).await, Some(4014));
    assert!(fake.bot_voice_channel().is_none());
    assert!(
        fake.voice_gateway_commands()
            .iter()
            .all(|c| c.d.get("token").is_none_or(|t| t == "[redacted]"))
    );
    assert_all_frames_parse(&fake);
}

#[tokio::test]
async fn speaking_needs_a_bot_voice_connection() {
    let config = FakeConfig {
        setup_timeout: Duration::from_millis(200),
        ..FakeConfig::default()
    };
    let fake = FakeDiscord::start(config).await;
    let (mut bot, _) = RawBot::identify(&fake, GUILDS | GUILD_VOICE_STATES).await;
    fake.user_joins_voice(ALICE, VOICE);
    let err = fake.speak_pcm(ALICE, &[0; 1920]).await.unwrap_err();
    assert!(
        matches!(err, fake_discord::VoiceError::NotInBotChannel { .. }),
        "{err}"
    );
    join_voice(&mut bot, &fake).await;
    // The bot joined on the main gateway but never dialled the voice gateway.
    let err = fake.speak_pcm(ALICE, &[0; 1920]).await.unwrap_err();
    assert!(
        matches!(err, fake_discord::VoiceError::NoBotVoice(_)),
        "{err}"
    );
    assert!(
        fake.wait_for_bot_voice(Duration::from_millis(50))
            .await
            .is_err()
    );
}
