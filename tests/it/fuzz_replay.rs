//! The short run of the bot crate's fuzz targets that CI does (issue #13): every input
//! of each committed corpus (`fuzz-bot/corpus/<target>/`, grown by the coverage-guided
//! runs, see `fuzz-bot/Cargo.toml`) and seeded mutations of them, through the same
//! entry points the targets call. A corpus that is missing fails the test.

use std::path::Path;

/// A small deterministic PRNG (xorshift): the mutations are the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz-bot/corpus")
        .join(target);
    let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus missing at {}: {e}", dir.display()))
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    seeds.sort();
    assert!(!seeds.is_empty(), "empty corpus at {}", dir.display());
    seeds
}

/// Each corpus input as is, then `mutations` seeded mutants (bytes flipped, cut,
/// inserted from `alphabet`, huge numbers and multi-byte characters spliced in), each
/// given to `f` as text when it is UTF-8 (as the targets do).
fn replay(target: &str, mutations: usize, alphabet: &[u8], f: impl Fn(&str)) {
    replay_bytes(target, mutations, alphabet, |b| {
        if let Ok(t) = std::str::from_utf8(b) {
            f(t);
        }
    });
}

/// As `replay`, for targets that take any bytes.
fn replay_bytes(target: &str, mutations: usize, alphabet: &[u8], f: impl Fn(&[u8])) {
    let seeds = corpus(target);
    for s in &seeds {
        f(s);
    }
    let mut rng = Rng(0x2545_f491_4f6c_dd1d ^ target.len() as u64);
    let splices: [&[u8]; 6] = [
        b"18446744073709551616",
        b"-9223372036854775808",
        "é".as_bytes(),
        "ゴブリン。".as_bytes(),
        b"\n---\n",
        b"|",
    ];
    for i in 0..mutations {
        let mut b = seeds[i % seeds.len()].clone();
        for _ in 0..1 + rng.next() % 6 {
            let at = (rng.next() as usize) % (b.len() + 1);
            match rng.next() % 5 {
                0 if at < b.len() => b[at] = rng.next() as u8,
                1 if at < b.len() => {
                    b.truncate(at);
                }
                2 => b.insert(at, alphabet[rng.next() as usize % alphabet.len()]),
                3 => {
                    let s = splices[rng.next() as usize % splices.len()];
                    b.splice(at..at, s.iter().copied());
                }
                _ => {
                    let other = &seeds[rng.next() as usize % seeds.len()];
                    b.extend_from_slice(other);
                }
            }
        }
        f(&b);
    }
}

#[test]
fn intent_text_corpus() {
    replay(
        "intent_text",
        1_500,
        b" abcdegiklmnorstuvw0123456789,.'!?",
        dicebard::intent::fuzzing::intent_text,
    );
}

#[test]
fn discord_inputs_corpus() {
    replay(
        "discord_inputs",
        1_500,
        b"|:0123456789 abcdefgorw@*_`&,-",
        dicebard::discord::fuzzing::inputs,
    );
}

#[test]
fn config_toml_corpus() {
    replay(
        "config_toml",
        3_000,
        b"[]=\"'{}.,\n#0123456789-_abcdefgiklnorstuw",
        dicebard::config::fuzzing::toml,
    );
}

#[test]
fn web_frames_corpus() {
    let before = dicebard::web::fuzzing::events_committed();
    replay(
        "web_frames",
        1_500,
        b"{}[]\":,0123456789 abcdefghiklmnoprstuvy_.&=",
        |t| dicebard::web::fuzzing::frames(t.as_bytes()),
    );
    let after = dicebard::web::fuzzing::events_committed();
    assert!(
        after >= before + 20,
        "the inputs reached the rules: {before} → {after} events"
    );
    println!("web_frames: {before} → {after} events committed");
}

#[test]
fn llm_tool_call_corpus() {
    replay_bytes(
        "llm_tool_call",
        3_000,
        b"{}[]\":,\0 abcdefghiklmnoprstuvy_0123456789",
        dicebard::intent::fuzzing::llm_tool_call,
    );
}

/// `fuzz-bot/llm_sse`'s check (it compiles `src/llm/sse.rs` alone): the first byte picks
/// a chunk size; the events must not depend on how the body was cut.
#[test]
fn llm_sse_corpus() {
    use dicebard::llm::sse::{SseEvent, SseParser};
    fn events(chunks: &[&[u8]]) -> Result<Vec<SseEvent>, String> {
        let mut p = SseParser::new();
        let mut out = Vec::new();
        for c in chunks {
            out.extend(p.push(c)?);
        }
        out.extend(p.finish());
        Ok(out)
    }
    replay_bytes(
        "llm_sse",
        3_000,
        b"data: {}\"\n\r:event id,0123456789abc",
        |data| {
            let Some((&first, body)) = data.split_first() else {
                return;
            };
            let cut: Vec<&[u8]> = body.chunks(usize::from(first % 64) + 1).collect();
            if let (Ok(a), Ok(b)) = (events(&[body]), events(&cut)) {
                assert_eq!(a, b, "the events depend on how the body was cut");
            }
        },
    );
}
