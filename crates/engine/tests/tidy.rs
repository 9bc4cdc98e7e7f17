//! The engine's architecture invariant: it is pure. Its [dependencies] are serde,
//! thiserror and a seedable PRNG only, and its source names no IO, clock, async runtime
//! or ambient randomness. A failure names the file and line. Test-only code (`tests.rs`
//! files and the trailing `#[cfg(test)]` module of a file) is not scanned.
// Tests may read files; clippy.toml's IO ban is for the engine's own code.
#![allow(clippy::disallowed_methods)]

use std::path::{Path, PathBuf};

const ALLOWED_DEPENDENCIES: [&str; 4] = ["serde", "thiserror", "rand_chacha", "rand_core"];

const FORBIDDEN: [&str; 12] = [
    "tokio",
    "serenity",
    "sqlx",
    "reqwest",
    "std::time::SystemTime",
    "SystemTime::now",
    "Instant::now",
    "std::fs",
    "std::net",
    "thread_rng",
    "rand::random",
    "println!",
];

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The keys of the `[dependencies]` table (a small TOML reader: tables and `key = ...`
/// lines, enough for a Cargo manifest).
fn dependencies(manifest: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut in_deps = false;
    for (i, line) in manifest.lines().enumerate() {
        let t = line.trim();
        if t.starts_with('[') {
            in_deps = t == "[dependencies]";
            // `[dependencies.foo]` tables name a dependency too.
            if let Some(name) = t
                .strip_prefix("[dependencies.")
                .and_then(|r| r.strip_suffix(']'))
            {
                out.push((i + 1, name.trim().to_string()));
            }
            continue;
        }
        if in_deps
            && !t.is_empty()
            && !t.starts_with('#')
            && let Some((key, _)) = t.split_once('=')
        {
            let key = key.trim().trim_matches('"');
            let name = key.split('.').next().unwrap_or(key);
            out.push((i + 1, name.to_string()));
        }
    }
    out
}

#[test]
fn dependencies_are_serde_thiserror_and_a_prng() {
    let path = manifest_dir().join("Cargo.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let deps = dependencies(&text);
    assert!(
        !deps.is_empty(),
        "found no [dependencies] in {}",
        path.display()
    );
    let bad: Vec<String> = deps
        .iter()
        .filter(|(_, d)| !ALLOWED_DEPENDENCIES.contains(&d.as_str()))
        .map(|(l, d)| {
            format!(
                "{}:{l}: dependency `{d}` is not allowed (only {ALLOWED_DEPENDENCIES:?})",
                path.display()
            )
        })
        .collect();
    assert!(
        bad.is_empty(),
        "the engine must stay pure:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_toml_reader_reads_tables() {
    let m = "[package]\nname = \"x\"\n[dependencies]\nserde = \"1\"\ntokio.workspace = true\n# c\n[dependencies.reqwest]\nversion = \"1\"\n[dev-dependencies]\nproptest = \"1\"\n";
    let names: Vec<String> = dependencies(m).into_iter().map(|(_, n)| n).collect();
    assert_eq!(names, ["serde", "tokio", "reqwest"]);
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn source_names_no_io_clock_or_ambient_randomness() {
    let mut files = Vec::new();
    rust_files(&manifest_dir().join("src"), &mut files);
    files.sort();
    assert!(
        files.len() > 10,
        "expected the engine's sources, found {files:?}"
    );
    let mut bad = Vec::new();
    for f in &files {
        // Test-only code (a `tests.rs` module, or the `#[cfg(test)]` module at the end
        // of a file) may time itself; the rule is about what the engine runs.
        if f.file_name().is_some_and(|n| n == "tests.rs") {
            continue;
        }
        let text = std::fs::read_to_string(f).unwrap();
        for (i, line) in text.lines().enumerate() {
            if line.trim() == "#[cfg(test)]" {
                break;
            }
            for word in FORBIDDEN {
                if line.contains(word) {
                    bad.push(format!(
                        "{}:{}: `{word}` is forbidden in the engine: {}",
                        f.strip_prefix(manifest_dir()).unwrap_or(f).display(),
                        i + 1,
                        line.trim()
                    ));
                }
            }
        }
    }
    assert!(
        bad.is_empty(),
        "the engine must stay pure (no IO, clock, async or ambient randomness):\n{}",
        bad.join("\n")
    );
}
