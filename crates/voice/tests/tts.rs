//! Text-to-speech on the real Piper voice and ONNX Runtime, checked by whisper.

mod common;

use dicebard_voice::audio::{resample, to_discord_stereo};
use dicebard_voice::models::Kind;
use dicebard_voice::tts::{check_onnxruntime, min_onnxruntime_minor};
use dicebard_voice::{Synthesizer, VoiceError, sentences, wer};

#[test]
fn onnxruntime_version_is_checked_before_ort() {
    let v = check_onnxruntime(&common::model(Kind::OnnxRuntime)).unwrap();
    assert_eq!(v.major, 1);
    assert!(v.minor >= min_onnxruntime_minor(), "{v:?}");
}

#[test]
fn say_then_transcribe_round_trip() {
    let text = "The dragon breathes fire across the bridge.";
    let audio = common::synthesizer().synthesize(text).unwrap();
    assert_eq!(audio.sample_rate, 22_050);
    assert!(
        (1.0..8.0).contains(&audio.seconds()),
        "{} s",
        audio.seconds()
    );
    let pcm16 = resample(&audio.samples_f32, audio.sample_rate, 16_000).unwrap();
    let heard = common::transcriber().transcribe(&pcm16).unwrap();
    let overlap = wer::word_overlap(text, &heard.text);
    println!(
        "said {text:?}, heard {:?}: overlap {:.0}%",
        heard.text,
        overlap * 100.0
    );
    assert!(overlap >= 0.6, "said {text:?}, heard {:?}", heard.text);
}

#[test]
fn narration_is_spoken_sentence_by_sentence_and_fits_discord() {
    let narration = "Mr. Grimsby counts 1.5 gold pieces... He frowns. \"Not enough!\"";
    let parts = sentences(narration);
    assert_eq!(parts.len(), 3, "{parts:?}");
    let synth = common::synthesizer();
    for part in &parts {
        let a = synth.synthesize(part).unwrap();
        assert!(a.seconds() > 0.3, "{part:?}: {} s", a.seconds());
        let discord = to_discord_stereo(&a.samples_f32, a.sample_rate).unwrap();
        let expect =
            (a.samples_f32.len() as f64 * 48_000.0 / a.sample_rate as f64).round() as usize;
        assert_eq!(discord.len(), expect * 2);
    }
    assert!(synth.synthesize("   ").unwrap().samples_f32.is_empty());
}

#[test]
fn missing_voice_or_runtime_is_a_clear_error() {
    let ort = common::model(Kind::OnnxRuntime);
    let e = Synthesizer::load("/nonexistent/voice.onnx", &ort).unwrap_err();
    assert!(matches!(e, VoiceError::Missing { .. }), "{e}");
    assert!(e.to_string().contains("/nonexistent/voice.onnx"), "{e}");
    let e = Synthesizer::load(common::model(Kind::Piper), "/nonexistent/libonnxruntime.so")
        .unwrap_err();
    assert!(
        e.to_string().contains("/nonexistent/libonnxruntime.so"),
        "{e}"
    );
}

/// Piper draws noise inside the model on every call: by default the same sentence comes
/// out different each time (its length too). With no noise it is the same audio every
/// time, which is what lets a test compare the bot's speech with a file of the same words.
#[test]
fn without_noise_the_same_text_gives_the_same_audio() {
    let text = "Thorin attacks Goblin with the Longsword (10) but misses.";
    let mut synth =
        Synthesizer::load(common::model(Kind::Piper), common::model(Kind::OnnxRuntime)).unwrap();
    synth.set_noise(Some(0.0), Some(0.0));
    let a = synth.synthesize(text).unwrap();
    let b = synth.synthesize(text).unwrap();
    assert!(a.seconds() > 1.0, "{} s", a.seconds());
    assert_eq!(a.samples_f32.len(), b.samples_f32.len());
    let worst = a
        .samples_f32
        .iter()
        .zip(&b.samples_f32)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max);
    assert!(worst < 1e-3, "largest sample difference {worst}");
    // Out-of-range settings are bounded, not passed to the model.
    synth.set_noise(Some(f32::INFINITY), Some(1e9));
    assert!(synth.synthesize("Hi.").unwrap().seconds() > 0.1);
}
