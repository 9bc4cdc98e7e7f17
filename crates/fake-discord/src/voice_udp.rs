//! The voice UDP server on `127.0.0.1:PORT`: answers IP discovery, decrypts and decodes the
//! bot's RTP (what the bot says), and sends users' speech to the bot's address from the same
//! socket, as Discord's voice server does.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::time::{Instant, MissedTickBehavior};

use crate::audio::{OpusDecoder, SAMPLE_RATE};
use crate::rtp::{self, Datagram, RtpHeader};
use crate::snowflake::UserId;
use crate::state::{Shared, State};
use crate::voice::{SendStream, VoiceError};

/// One-byte-header RTP extension body (id 1, audio level) like on Discord's forwarded packets.
const AUDIO_LEVEL_EXTENSION: [u8; 4] = [0x10, 0x00, 0x00, 0x00];

pub(crate) async fn serve(socket: Arc<UdpSocket>, shared: Arc<Shared>) {
    let mut decoders: HashMap<u32, OpusDecoder> = HashMap::new();
    let mut buf = vec![0u8; 65_536];
    loop {
        let Ok((n, from)) = socket.recv_from(&mut buf).await else {
            tokio::time::sleep(Duration::from_millis(5)).await;
            continue;
        };
        let packet = &buf[..n];
        match rtp::classify(packet) {
            Datagram::Discovery(ssrc) => {
                let _ = socket
                    .send_to(&rtp::discovery_response(ssrc, from), from)
                    .await;
                shared.with(|st| {
                    st.voice_net.stats.discoveries += 1;
                    st.voice_net.discovered = Some(from);
                });
            }
            Datagram::Rtp => {
                let cipher =
                    shared.read(|st| st.voice_net.session.as_ref().and_then(|s| s.cipher.clone()));
                let opened = cipher.map(|c| c.open_rtp(packet));
                let pcm = match opened {
                    Some(Ok(frame)) => {
                        let decoder = match decoders.entry(frame.ssrc) {
                            std::collections::hash_map::Entry::Occupied(e) => Some(e.into_mut()),
                            std::collections::hash_map::Entry::Vacant(e) => {
                                OpusDecoder::new().ok().map(|d| e.insert(d))
                            }
                        };
                        Some(decoder.and_then(|d| {
                            d.decode(&frame.payload)
                                .ok()
                                .map(|pcm| (frame.ssrc, frame.timestamp, pcm.to_vec()))
                        }))
                    }
                    _ => None,
                };
                shared.with(|st| {
                    let net = &mut st.voice_net;
                    net.stats.rtp_packets += 1;
                    match pcm {
                        None => net.stats.decrypt_failures += 1,
                        Some(None) => net.stats.decode_failures += 1,
                        Some(Some((ssrc, ts, samples))) => net.hear(ssrc, ts, &samples),
                    }
                });
            }
            Datagram::Rtcp => shared.with(|st| st.voice_net.stats.rtcp_packets += 1),
            Datagram::Other => shared.with(|st| st.voice_net.stats.other_datagrams += 1),
        }
    }
}

/// Sends already-encoded Opus `frames` as `user`, one every 20 ms, after op 5 Speaking. The
/// caller has checked that the user may speak and that the session is ready.
pub(crate) async fn send_speech(
    shared: &Shared,
    socket: &UdpSocket,
    user: UserId,
    frames: Vec<Vec<u8>>,
) -> Result<(), VoiceError> {
    let started = shared.with(|st| {
        st.check_can_speak(user)?;
        let ssrc = st.user_ssrc(user).expect("checked by check_can_speak");
        let frame = serde_json::json!({"op": 5, "d": {
            "user_id": user.to_json(), "ssrc": ssrc, "speaking": 1,
        }});
        if !st.voice_net.ready() || !st.voice_net.send_to_session(frame) {
            return Err(VoiceError::BotLeft);
        }
        Ok(ssrc)
    });
    let ssrc = started?;
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    tick.set_missed_tick_behavior(MissedTickBehavior::Burst);
    for (i, opus) in frames.into_iter().enumerate() {
        tick.tick().await;
        let next = shared.with(|st| next_packet(st, user, ssrc, i == 0));
        let Some((cipher, header, nonce, to)) = next else {
            return Err(VoiceError::BotLeft);
        };
        let packet = cipher.seal_rtp(header, Some(&AUDIO_LEVEL_EXTENSION), &opus, nonce);
        socket
            .send_to(&packet, to)
            .await
            .map_err(|e| VoiceError::Io(e.to_string()))?;
    }
    Ok(())
}

/// The cipher, header, nonce and destination of `user`'s next packet.
fn next_packet(
    st: &mut State,
    user: UserId,
    ssrc: u32,
    first: bool,
) -> Option<(rtp::Cipher, RtpHeader, u32, SocketAddr)> {
    let net = &mut st.voice_net;
    let session = net.session.as_ref().filter(|s| s.ready())?;
    let cipher = session.cipher.clone()?;
    let to = session.bot_udp?;
    let now = Instant::now();
    let stream = net.streams.entry(user).or_insert_with(|| SendStream {
        // Arbitrary but distinct starting points, as RTP asks for random ones.
        sequence: (ssrc.wrapping_mul(7919) & 0xFFFF) as u16,
        timestamp: ssrc.wrapping_mul(104_729),
        last: now,
    });
    stream.sequence = stream.sequence.wrapping_add(1);
    // +960 per 20 ms frame; between utterances the RTP clock keeps running (48 per ms).
    let ticks = if first {
        let elapsed = now.duration_since(stream.last).as_millis() as u64;
        (elapsed * u64::from(SAMPLE_RATE) / 1000).max(960)
    } else {
        960
    };
    stream.timestamp = stream.timestamp.wrapping_add(ticks as u32);
    stream.last = now;
    let header = RtpHeader {
        sequence: stream.sequence,
        timestamp: stream.timestamp,
        ssrc,
    };
    let nonce = net.send_nonce;
    net.send_nonce = net.send_nonce.wrapping_add(1);
    net.stats.packets_sent += 1;
    Some((cipher, header, nonce, to))
}

/// Authenticated RTP packets from `user` with hostile header fields, as a modified client
/// (or a forwarding server) could send them: extension length past the end of the packet,
/// padding longer than the payload, 15 CSRCs and nothing after them, a sequence number
/// and timestamp half the space away, an empty and an oversized Opus payload. Each is
/// sealed with the session's key, so the bot's parser behind the transport decryption
/// sees it. Returns how many were sent.
pub(crate) async fn send_hostile(
    shared: &Shared,
    socket: &UdpSocket,
    user: UserId,
) -> Result<usize, VoiceError> {
    let (ssrc, cipher, to) = shared.with(|st| {
        st.check_can_speak(user)?;
        let ssrc = st.user_ssrc(user).expect("checked by check_can_speak");
        let session = st.voice_net.session.as_ref().filter(|s| s.ready());
        match session.and_then(|s| Some((s.cipher.clone()?, s.bot_udp?))) {
            Some((cipher, to)) => Ok((ssrc, cipher, to)),
            None => Err(VoiceError::BotLeft),
        }
    })?;
    let header = |first: u8, seq: u16, ts: u32| {
        let mut p = vec![first, rtp::PAYLOAD_TYPE];
        p.extend_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(&ts.to_be_bytes());
        p.extend_from_slice(&ssrc.to_be_bytes());
        p
    };
    let tail = [0u8; 20];
    let mut shapes: Vec<Vec<u8>> = Vec::new();
    // Extension length 0xFFFF words over a 3-byte body.
    let mut p = header(0x90, 10, 9_600);
    p.extend_from_slice(&[0xBE, 0xDE, 0xFF, 0xFF, 0xF8, 0xFF, 0xFE]);
    shapes.push(p);
    // Padding byte 255 on a 3-byte payload.
    let mut p = header(0xA0, 11, 10_560);
    p.extend_from_slice(&[0xF8, 0xFF, 255]);
    shapes.push(p);
    // Both, with 15 CSRCs.
    let mut p = header(0xBF, 12, 11_520);
    p.extend(std::iter::repeat_n(0xCC, 60));
    p.extend_from_slice(&[0xBE, 0xDE, 0x40, 0x00, 0xF8, 0xFF, 255]);
    shapes.push(p);
    // 15 CSRCs and nothing after them.
    let mut p = header(0x8F, 13, 12_480);
    p.extend(std::iter::repeat_n(0xCC, 60));
    shapes.push(p);
    // A sequence number and timestamp half the space away, then back.
    for (seq, ts) in [(32_781u16, 2_147_493_000u32), (14, 13_440)] {
        let mut p = header(0x80, seq, ts);
        p.extend_from_slice(&[0xF8, 0xFF, 0xFE]);
        shapes.push(p);
    }
    // Empty Opus payload; 1,200 bytes of junk.
    shapes.push(header(0x80, 15, 14_400));
    let mut p = header(0x80, 16, 15_360);
    p.extend(std::iter::repeat_n(0x7F, 1_200));
    shapes.push(p);
    let mut sent = 0;
    for mut p in shapes {
        p.extend_from_slice(&tail);
        let nonce = shared.with(|st| {
            let n = st.voice_net.send_nonce;
            st.voice_net.send_nonce = n.wrapping_add(1);
            n
        });
        let n = p.len();
        p[n - 4..].copy_from_slice(&nonce.to_be_bytes());
        let Some(sealed) = cipher.reseal_for_fuzzing(&p) else {
            continue;
        };
        socket
            .send_to(&sealed, to)
            .await
            .map_err(|e| VoiceError::Io(e.to_string()))?;
        sent += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(sent)
}
