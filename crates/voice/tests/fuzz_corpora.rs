//! The short run of the voice fuzz targets that CI does (issue #13): every input of the
//! committed corpora (`fuzz-voice/corpus/{opus_rx,wav_read}`, grown by the
//! coverage-guided runs) and the crash reproducers in `fuzz-voice/regressions/`, plus
//! seeded mutations, through the targets' own bodies. A missing corpus fails the test.

use std::path::Path;

fn files(dir: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(dir);
    let mut v: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus missing at {}: {e}", dir.display()))
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    v.sort();
    assert!(!v.is_empty(), "empty corpus at {}", dir.display());
    v
}

/// Each input, then `n` mutants (bytes flipped, cut, repeated) of them.
fn replay(inputs: &[Vec<u8>], n: usize, f: impl Fn(&[u8])) {
    for i in inputs {
        f(i);
    }
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for k in 0..n {
        let mut b = inputs[k % inputs.len()].clone();
        for _ in 0..1 + next() % 4 {
            let at = (next() as usize) % (b.len() + 1);
            match next() % 3 {
                0 if at < b.len() => b[at] = next() as u8,
                1 => b.truncate(at),
                _ => {
                    let tail = b[at..].to_vec();
                    b.extend_from_slice(&tail);
                }
            }
        }
        f(&b);
    }
}

#[test]
fn opus_rx_corpus() {
    replay(
        &files("fuzz-voice/corpus/opus_rx"),
        500,
        dicebard_voice::opus_rx::fuzz_records,
    );
}

#[test]
fn wav_read_corpus_and_regressions() {
    let mut inputs = files("fuzz-voice/corpus/wav_read");
    inputs.extend(files("fuzz-voice/regressions"));
    replay(&inputs, 100, dicebard_voice::audio::fuzz_wav);
}
