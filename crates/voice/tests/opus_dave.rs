//! The receive path on real speech: Opus at Discord's settings, with DAVE trailers.

mod common;

use dicebard_voice::audio::{DISCORD_FRAME, read_wav_16k_mono, resample, snr_db};
use dicebard_voice::opus_rx::{OpusReceiver, strip_dave_trailer};
use opus2::{Application, Bitrate, Channels, Decoder, Encoder};

/// A spoken phrase as Discord would send it: 48 kHz stereo, 20 ms Opus frames at 64 kbps.
fn speech_packets() -> Vec<Vec<u8>> {
    let (file, _) = &common::phrases()[0];
    let pcm16 = read_wav_16k_mono(file).unwrap();
    let pcm48 = resample(&pcm16, 16_000, 48_000).unwrap();
    let mut enc = Encoder::new(48_000, Channels::Stereo, Application::Audio).unwrap();
    enc.set_bitrate(Bitrate::Bits(64_000)).unwrap();
    pcm48
        .chunks(DISCORD_FRAME)
        .map(|chunk| {
            let mut frame: Vec<f32> = chunk.iter().flat_map(|&s| [s, s]).collect();
            frame.resize(DISCORD_FRAME * 2, 0.0);
            enc.encode_vec_float(&frame, 4000).unwrap()
        })
        .collect()
}

/// Appends a DAVE-style trailer: 8-byte truncated tag, ULEB128 nonce, size, 0xFAFA.
fn with_dave_trailer(opus: &[u8], nonce: u32) -> Vec<u8> {
    let mut out = opus.to_vec();
    let tag: [u8; 8] = [0x3c, 0x91, 0x5e, 0xd2, 0x07, 0xaa, 0x64, 0x1f];
    out.extend_from_slice(&tag);
    let mut n = nonce;
    let mut nonce_len = 0;
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        nonce_len += 1;
        if n == 0 {
            out.push(b);
            break;
        }
        out.push(b | 0x80);
    }
    out.push((8 + nonce_len + 1 + 2) as u8);
    out.extend_from_slice(&[0xFA, 0xFA]);
    out
}

fn receive(packets: &[Vec<u8>]) -> Vec<f32> {
    let mut rx = OpusReceiver::new(3).unwrap();
    let mut out = Vec::new();
    for (i, p) in packets.iter().enumerate() {
        out.extend(rx.push(i as u16, p).unwrap());
    }
    out.extend(rx.flush().unwrap());
    out
}

#[test]
fn dave_trailer_is_ignored_by_our_decoder_but_garbles_a_naive_one() {
    let clean = speech_packets();
    let framed: Vec<Vec<u8>> = clean
        .iter()
        .enumerate()
        .map(|(i, p)| with_dave_trailer(p, 100 + i as u32)) // nonces cross 128: 12 and 13 bytes
        .collect();
    for (c, f) in clean.iter().zip(&framed) {
        assert!(matches!(f.len() - c.len(), 12 | 13));
        assert_eq!(strip_dave_trailer(f), c.as_slice());
    }

    // Our path: the trailer is stripped, the audio is bit-identical to the clean decode.
    let reference = receive(&clean);
    let ours = receive(&framed);
    assert_eq!(reference.len(), clean.len() * 320);
    let snr_ours = snr_db(&reference, &ours);

    // What songbird does under DAVE: decode the frame with the trailer left in.
    let mut dec_clean = Decoder::new(48_000, Channels::Stereo).unwrap();
    let mut dec_naive = Decoder::new(48_000, Channels::Stereo).unwrap();
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let mut errors = 0;
    let mut buf = vec![0f32; DISCORD_FRAME * 2 * 6];
    for (c, f) in clean.iter().zip(&framed) {
        let n = dec_clean.decode_float(c, &mut buf, false).unwrap();
        a.extend_from_slice(&buf[..n * 2]);
        match dec_naive.decode_float(f, &mut buf, false) {
            Ok(n) => b.extend_from_slice(&buf[..n * 2]),
            Err(_) => {
                errors += 1;
                b.extend(std::iter::repeat_n(0.0, DISCORD_FRAME * 2));
            }
        }
    }
    let snr_naive = snr_db(&a, &b);
    println!(
        "SNR vs clean decode: stripped {snr_ours:.1} dB, trailer left in {snr_naive:.1} dB \
         ({errors} of {} frames failed to decode)",
        clean.len()
    );
    assert!(snr_ours > 30.0, "stripped decode differs: {snr_ours:.1} dB");
    assert!(
        snr_naive < 15.0 || errors > 0,
        "expected the trailer to damage a naive decode (got {snr_naive:.1} dB, {errors} errors)"
    );
}

#[test]
fn received_speech_still_transcribes() {
    let clean = speech_packets();
    let framed: Vec<Vec<u8>> = clean
        .iter()
        .enumerate()
        .map(|(i, p)| with_dave_trailer(p, i as u32))
        .collect();
    // Lose every 25th packet and swap a few neighbours, as a real network might.
    let mut order: Vec<(u16, &[u8])> = framed
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 25 != 24)
        .map(|(i, p)| (i as u16, p.as_slice()))
        .collect();
    for i in (5..order.len() - 1).step_by(17) {
        order.swap(i, i + 1);
    }
    let mut rx = OpusReceiver::new(3).unwrap();
    let mut pcm = Vec::new();
    for (seq, p) in order {
        pcm.extend(rx.push(seq, p).unwrap());
    }
    pcm.extend(rx.flush().unwrap());
    assert_eq!(pcm.len(), framed.len() * 320);
    assert!(rx.stats().concealed > 0 && rx.stats().dave_trailers > 0);
    let t = common::transcriber().transcribe(&pcm).unwrap();
    let text = t.text.to_lowercase();
    assert!(
        text.contains("attack") && text.contains("goblin"),
        "got {:?}",
        t.text
    );
}
