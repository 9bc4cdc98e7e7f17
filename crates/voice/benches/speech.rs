//! Speech pipeline figures: transcription real-time factor and WER on ../shared/audio,
//! TTS real-time factor and time to first audio, VAD and Opus receive cost per 20 ms
//! frame.
//!
//! `cargo bench -p dicebard-voice --bench speech` runs the full set; without `--bench`
//! (as under `cargo test --all-targets`) it does a quick smoke pass.
//! Models are found like the tests do (DICEBARD_* variables, models/, ../shared/models).

use dicebard_voice::audio::{read_wav_16k_mono, resample};
use dicebard_voice::models::{self, Kind};
use dicebard_voice::opus_rx::OpusReceiver;
use dicebard_voice::{Segmenter, SegmenterConfig, Synthesizer, Transcriber, sentences, wer};
use std::path::{Path, PathBuf};
use std::time::Instant;

fn model(kind: Kind) -> PathBuf {
    let p = models::locate(kind)
        .unwrap_or_else(|| panic!("{} not found: run scripts/models.sh", kind.what()));
    assert!(p.exists(), "{} not found at {}", kind.what(), p.display());
    p
}

fn phrases() -> Vec<(PathBuf, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/audio");
    let tsv = std::fs::read_to_string(dir.join("transcripts.tsv"))
        .unwrap_or_else(|e| panic!("{}: {e}", dir.join("transcripts.tsv").display()));
    tsv.lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(f, t)| (dir.join(f), t.to_string()))
        .collect()
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let mode = if full { "full" } else { "smoke" };
    println!("speech bench ({mode} pass)");
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .min(4);

    // Speech-to-text.
    let t0 = Instant::now();
    let stt = Transcriber::load(model(Kind::Whisper), threads).expect("load whisper");
    println!(
        "stt: model load {:.2} s ({threads} threads)",
        t0.elapsed().as_secs_f64()
    );
    let list = phrases();
    let take = if full { list.len() } else { 1 };
    let mut pairs = Vec::new();
    let (mut audio, mut wall) = (0.0, 0.0);
    for (file, reference) in list.iter().take(take) {
        let pcm = read_wav_16k_mono(file).expect("read wav");
        let t = stt.transcribe(&pcm).expect("transcribe");
        audio += t.audio_seconds;
        wall += t.wall_seconds;
        println!(
            "stt: {:<24} {:.2} s audio in {:.3} s  {:?}",
            file.file_name().unwrap().to_string_lossy(),
            t.audio_seconds,
            t.wall_seconds,
            t.text
        );
        pairs.push((reference.clone(), t.text));
    }
    let w = wer::corpus_wer(pairs.iter().map(|(r, h)| (r.as_str(), h.as_str())));
    println!(
        "stt: {} clips, {:.1} s audio, {:.2} s wall, real-time factor {:.3}, mean {:.3} s/clip, WER {:.1}%",
        pairs.len(),
        audio,
        wall,
        wall / audio,
        wall / pairs.len() as f64,
        100.0 * w
    );

    // Text-to-speech.
    let t0 = Instant::now();
    let tts = Synthesizer::load(model(Kind::Piper), model(Kind::OnnxRuntime)).expect("load piper");
    println!(
        "tts: voice load {:.2} s (ONNX Runtime {})",
        t0.elapsed().as_secs_f64(),
        tts.onnxruntime_version()
    );
    let narration = "The goblin shrieks and lunges at Thorin with a rusty blade. \
        Thorin raises his shield just in time, and the blow glances off with a ringing clang. \
        Behind them, the torches gutter as something large stirs in the dark.";
    let first = sentences(narration).into_iter().next().unwrap();
    let t0 = Instant::now();
    let a = tts.synthesize(&first).expect("synthesize");
    println!(
        "tts: time to first audio {:.3} s (first sentence, {:.2} s of speech)",
        t0.elapsed().as_secs_f64(),
        a.seconds()
    );
    let rounds = if full { 3 } else { 1 };
    let (mut speech, mut spent) = (0.0, 0.0);
    for _ in 0..rounds {
        let t0 = Instant::now();
        let a = tts.synthesize(narration).expect("synthesize");
        spent += t0.elapsed().as_secs_f64();
        speech += a.seconds();
    }
    println!(
        "tts: {:.1} s of speech in {:.2} s, real-time factor {:.3}",
        speech,
        spent,
        spent / speech
    );

    // VAD: cost per 20 ms frame on real speech padded with silence.
    let pcm = read_wav_16k_mono(&list[0].0).expect("read wav");
    let mut stream = vec![0.0f32; 16_000];
    stream.extend_from_slice(&pcm);
    stream.extend(vec![0.0f32; 16_000]);
    let reps = if full { 200 } else { 5 };
    let mut seg = Segmenter::new(SegmenterConfig::default());
    let frames = stream.len() / seg.frame_len() * reps;
    let t0 = Instant::now();
    let mut utterances = 0;
    for _ in 0..reps {
        utterances += seg.push(&stream).len();
    }
    let per_frame = t0.elapsed().as_secs_f64() / frames as f64;
    println!(
        "vad: {:.2} us per 20 ms frame ({frames} frames, {utterances} utterances)",
        per_frame * 1e6
    );

    // Opus receive: decode 48 kHz stereo + downmix + resample, per 20 ms frame.
    let pcm48 = resample(&pcm, 16_000, 48_000).expect("resample");
    let mut enc = opus2::Encoder::new(48_000, opus2::Channels::Stereo, opus2::Application::Audio)
        .expect("encoder");
    enc.set_bitrate(opus2::Bitrate::Bits(64_000))
        .expect("bitrate");
    let packets: Vec<Vec<u8>> = pcm48
        .chunks(960)
        .map(|c| {
            let mut f: Vec<f32> = c.iter().flat_map(|&s| [s, s]).collect();
            f.resize(1920, 0.0);
            enc.encode_vec_float(&f, 4000).expect("encode")
        })
        .collect();
    let reps = if full { 20 } else { 1 };
    let t0 = Instant::now();
    let mut n = 0;
    for _ in 0..reps {
        let mut rx = OpusReceiver::new(3).expect("receiver");
        for (i, p) in packets.iter().enumerate() {
            rx.push(i as u16, p).expect("push");
            n += 1;
        }
    }
    println!(
        "opus rx: {:.1} us per 20 ms frame",
        t0.elapsed().as_secs_f64() / n as f64 * 1e6
    );
}
