//! Shared helpers for the model-backed tests. A test that needs a model FAILS when the
//! model is missing: run scripts/models.sh (or set the DICEBARD_* variables).
#![allow(dead_code)]

use dicebard_voice::models::{self, Kind};
use dicebard_voice::{Synthesizer, Transcriber};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// ../shared/audio (the spoken test phrases).
pub fn audio_dir() -> PathBuf {
    let d = repo().join("../shared/audio");
    assert!(
        d.join("transcripts.tsv").is_file(),
        "test audio missing: expected {}/transcripts.tsv",
        d.display()
    );
    d
}

/// (file, reference text) for every test phrase.
pub fn phrases() -> Vec<(PathBuf, String)> {
    let dir = audio_dir();
    let tsv = std::fs::read_to_string(dir.join("transcripts.tsv")).unwrap();
    let list: Vec<_> = tsv
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (f, t) = l.split_once('\t').expect("file<TAB>text");
            (dir.join(f), t.to_string())
        })
        .collect();
    assert_eq!(list.len(), 10, "transcripts.tsv should list 10 phrases");
    list
}

/// The model file of `kind`: env var, then <repo>/models, then ../shared/models.
/// Panics (loudly) when it cannot be found.
pub fn model(kind: Kind) -> PathBuf {
    let p = models::locate(kind).unwrap_or_else(|| {
        panic!(
            "{} not found (looked in $ {:?}, then {:?}); run scripts/models.sh",
            kind.what(),
            kind.env_vars(),
            models::search_dirs()
                .iter()
                .map(|d| d.join(kind.file()))
                .collect::<Vec<_>>()
        )
    });
    assert!(
        p.exists(),
        "{} configured at {} does not exist",
        kind.what(),
        p.display()
    );
    p
}

pub fn transcriber() -> &'static Transcriber {
    static T: OnceLock<Transcriber> = OnceLock::new();
    T.get_or_init(|| Transcriber::load(model(Kind::Whisper), 2).expect("load whisper model"))
}

pub fn synthesizer() -> &'static Synthesizer {
    static S: OnceLock<Synthesizer> = OnceLock::new();
    S.get_or_init(|| {
        Synthesizer::load(model(Kind::Piper), model(Kind::OnnxRuntime)).expect("load Piper voice")
    })
}
