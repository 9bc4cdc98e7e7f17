//! The segmenter on the real spoken phrases, padded with silence (no model needed).

mod common;

use dicebard_voice::audio::read_wav_16k_mono;
use dicebard_voice::segment::EndReason;
use dicebard_voice::{Segmenter, SegmenterConfig};

fn silence(ms: usize) -> Vec<f32> {
    vec![0.0; ms * 16]
}

#[test]
fn each_phrase_is_one_utterance() {
    for (file, _) in common::phrases() {
        let speech = read_wav_16k_mono(&file).unwrap();
        let mut x = silence(1_000);
        x.extend_from_slice(&speech);
        x.extend(silence(1_500));
        let mut seg = Segmenter::new(SegmenterConfig::default());
        let utts = seg.push(&x);
        assert!(seg.flush().is_none());
        assert_eq!(utts.len(), 1, "{}: {:?}", file.display(), utts.len());
        let u = &utts[0];
        assert_eq!(u.reason, EndReason::Silence);
        // It covers the speech and not much more.
        let speech_ms = speech.len() as u64 / 16;
        assert!(
            u.start_ms >= 700 && u.start_ms <= 1_200,
            "{}: start {}",
            file.display(),
            u.start_ms
        );
        let dur = u.duration_ms(16_000);
        assert!(
            dur + 400 >= speech_ms && dur <= speech_ms + 600,
            "{}: {dur} ms for {speech_ms} ms of audio",
            file.display()
        );
    }
}

#[test]
fn two_phrases_with_a_pause_are_two_utterances() {
    let p = common::phrases();
    let a = read_wav_16k_mono(&p[2].0).unwrap();
    let b = read_wav_16k_mono(&p[4].0).unwrap();
    let mut x = silence(500);
    x.extend_from_slice(&a);
    x.extend(silence(1_200));
    x.extend_from_slice(&b);
    x.extend(silence(1_000));
    let mut seg = Segmenter::new(SegmenterConfig::with_silence_ms(700));
    let utts = seg.push(&x);
    assert_eq!(utts.len(), 2);
}
