//! Speech-to-text on the real whisper model and the spoken test phrases.

mod common;

use dicebard_voice::audio::{read_wav_16k_mono, write_wav};
use dicebard_voice::models::Kind;
use dicebard_voice::{Transcriber, VoiceError, wer};

#[test]
fn attack_phrase_mentions_attack_and_goblin() {
    let (file, _) = &common::phrases()[0];
    assert!(file.ends_with("dnd_01_attack.wav"));
    let pcm = read_wav_16k_mono(file).unwrap();
    let t = common::transcriber().transcribe(&pcm).unwrap();
    let text = t.text.to_lowercase();
    assert!(
        text.contains("attack") && text.contains("goblin"),
        "got {:?}",
        t.text
    );
    assert!((t.audio_seconds - pcm.len() as f64 / 16_000.0).abs() < 1e-9);
    assert!(t.wall_seconds > 0.0);
}

#[test]
fn word_error_rate_over_all_phrases() {
    let tr = common::transcriber();
    let mut pairs = Vec::new();
    let (mut audio, mut wall) = (0.0, 0.0);
    for (file, reference) in common::phrases() {
        let pcm = read_wav_16k_mono(&file).unwrap();
        let t = tr.transcribe(&pcm).unwrap();
        println!(
            "{:<24} wer {:>5.1}%  {:?}",
            file.file_name().unwrap().to_string_lossy(),
            100.0 * wer::wer(&reference, &t.text),
            t.text
        );
        audio += t.audio_seconds;
        wall += t.wall_seconds;
        pairs.push((reference, t.text));
    }
    let total = wer::corpus_wer(pairs.iter().map(|(r, h)| (r.as_str(), h.as_str())));
    println!(
        "corpus WER {:.1}% over {} phrases; real-time factor {:.3}",
        100.0 * total,
        pairs.len(),
        wall / audio
    );
    assert!(
        total < 0.5,
        "WER {:.1}% is far worse than expected",
        100.0 * total
    );
}

#[test]
fn same_audio_gives_the_same_transcript() {
    let tr = common::transcriber();
    for (file, _) in common::phrases().iter().skip(1).take(2) {
        let pcm = read_wav_16k_mono(file).unwrap();
        let a = tr.transcribe(&pcm).unwrap();
        let b = tr.transcribe(&pcm).unwrap();
        assert_eq!(a.text, b.text, "{}", file.display());
    }
}

#[test]
fn other_rates_and_channel_counts_transcribe_too() {
    let (file, _) = &common::phrases()[2];
    let pcm = read_wav_16k_mono(file).unwrap();
    // Make a 44.1 kHz stereo copy and read it back through the same path.
    let up = dicebard_voice::audio::resample(&pcm, 16_000, 44_100).unwrap();
    let stereo: Vec<f32> = up.iter().flat_map(|&s| [s, s]).collect();
    let p = std::env::temp_dir().join(format!("initiative-44k-{}.wav", std::process::id()));
    write_wav(&p, &stereo, 44_100, 2).unwrap();
    let back = read_wav_16k_mono(&p).unwrap();
    std::fs::remove_file(&p).ok();
    let t = common::transcriber().transcribe(&back).unwrap();
    assert!(
        t.text.to_lowercase().contains("initiative"),
        "got {:?}",
        t.text
    );
}

#[test]
fn bad_inputs_are_clear_errors() {
    let dir = std::env::temp_dir().join(format!("dicebard-voice-bad-stt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // Not a WAV file.
    let txt = dir.join("spell.wav");
    std::fs::write(&txt, "Fireball! 8d6 fire damage.").unwrap();
    let e = read_wav_16k_mono(&txt).unwrap_err().to_string();
    assert!(
        e.contains("spell.wav") && e.contains("not a readable WAV"),
        "{e}"
    );
    // An empty WAV.
    let empty = dir.join("empty.wav");
    write_wav(&empty, &[], 16_000, 1).unwrap();
    let e = read_wav_16k_mono(&empty).unwrap_err().to_string();
    assert!(e.contains("empty.wav") && e.contains("no audio"), "{e}");
    // A wrong path.
    let e = read_wav_16k_mono(&dir.join("nope.wav"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("nope.wav") && e.contains("no such file"), "{e}");
    // No samples at all.
    let e = common::transcriber().transcribe(&[]).unwrap_err();
    assert!(matches!(e, VoiceError::Transcribe(_)), "{e}");
    // A wrong model path, and a file that is not a model.
    let e = Transcriber::load(dir.join("ggml-missing.bin"), 1)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("ggml-missing.bin") && e.contains("not found"),
        "{e}"
    );
    let e = Transcriber::load(&txt, 1).unwrap_err().to_string();
    assert!(e.contains("not a whisper.cpp ggml model"), "{e}");
    std::fs::remove_dir_all(&dir).ok();
    // And the real one is found.
    assert!(common::model(Kind::Whisper).exists());
}

#[test]
fn silence_transcribes_to_nothing_much() {
    let t = common::transcriber()
        .transcribe(&vec![0.0; 16_000 * 2])
        .unwrap();
    assert!(t.text.split_whitespace().count() <= 2, "got {:?}", t.text);
}
