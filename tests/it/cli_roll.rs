//! The built binary's `roll` and `run` commands, spawned as a user would.
//!
//! Each run gets an empty working directory (so no ./dicebard.toml is picked up) and an
//! environment without DICEBARD_* variables.

use std::path::Path;
use std::process::{Command, Output};

fn dicebard(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dicebard"));
    cmd.args(args).current_dir(dir);
    for (k, _) in std::env::vars() {
        if k.starts_with("DICEBARD_") || k == "RUST_LOG" {
            cmd.env_remove(k);
        }
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("spawn dicebard")
}

fn roll(args: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let mut full = vec!["roll"];
    full.extend_from_slice(args);
    dicebard(dir.path(), &full, &[])
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

#[test]
fn json_roll_is_in_range_and_repeatable() {
    let a = roll(&["--seed", "1", "--json", "1d20+5"]);
    assert_eq!(a.status.code(), Some(0), "stderr: {}", stderr(&a));
    let out = stdout(&a);
    assert_eq!(out.lines().count(), 1, "{out}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let obj = v.as_object().unwrap();
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["breakdown", "crit", "expr", "total"]);
    let total = obj["total"].as_i64().expect("integer total");
    assert!((6..=25).contains(&total), "total {total}");
    assert!(obj["expr"].is_string());
    assert!(obj["breakdown"].is_string());
    assert!(
        ["none", "success", "failure"].contains(&obj["crit"].as_str().unwrap()),
        "{out}"
    );

    let b = roll(&["--seed", "1", "--json", "1d20+5"]);
    assert_eq!(stdout(&a), stdout(&b), "same seed, same result");
}

#[test]
fn arguments_are_joined_with_spaces() {
    let joined = roll(&["--seed", "9", "--json", "2d6", "+", "3"]);
    let single = roll(&["--seed", "9", "--json", "2d6 + 3"]);
    assert_eq!(joined.status.code(), Some(0), "stderr: {}", stderr(&joined));
    assert_eq!(stdout(&joined), stdout(&single));
}

#[test]
fn plain_roll_prints_the_breakdown() {
    let plain = roll(&["--seed", "1", "1d20+5"]);
    assert_eq!(plain.status.code(), Some(0), "stderr: {}", stderr(&plain));
    let json = roll(&["--seed", "1", "--json", "1d20+5"]);
    let v: serde_json::Value = serde_json::from_str(stdout(&json).trim()).unwrap();
    assert_eq!(stdout(&plain).trim_end(), v["breakdown"].as_str().unwrap());
}

#[test]
fn unseeded_rolls_work() {
    let o = roll(&["--json", "1d20"]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert!((1..=20).contains(&v["total"].as_i64().unwrap()));
}

#[test]
fn invalid_expression_exits_2_with_one_line() {
    for args in [&["1d0"][..], &["--json", "1d0"], &["2d6+"]] {
        let o = roll(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = stderr(&o);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err:?}");
        assert!(stdout(&o).is_empty(), "{args:?}");
    }
}

#[test]
fn missing_expression_is_a_usage_error() {
    let o = roll(&[]);
    assert_eq!(o.status.code(), Some(2));
}

/// Without a Discord token `run` serves the web table alone (tests/it/web.rs plays
/// it); an address it cannot listen on is a clear failure, not a hang.
#[test]
fn run_without_a_token_serves_the_web_table_or_says_why_not() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let o = dicebard(dir.path(), &["run"], &[("DICEBARD_WEB_LISTEN", &addr)]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("web table cannot listen on"), "{err}");
    assert!(err.contains(&addr), "{err}");
}

#[test]
fn run_with_a_token_never_prints_it() {
    let dir = tempfile::tempdir().unwrap();
    let token = "MTIz.secret-token-for-the-test";
    let o = dicebard(
        dir.path(),
        &["run"],
        &[
            ("DICEBARD_DISCORD_TOKEN", token),
            // Nothing listens there: the connection fails at once, with full tracing on.
            ("DICEBARD_DISCORD_API_BASE", "http://127.0.0.1:1"),
            ("RUST_LOG", "trace"),
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    let all = format!("{}{}", stdout(&o), stderr(&o));
    assert!(all.contains("Discord"), "{all}");
    assert!(!all.contains("secret-token"), "{all}");
}

#[test]
fn bad_config_exits_2_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("dicebard.toml"),
        "[turns]\ntimeout_secs = 30\nwarning_secs = 30\n",
    )
    .unwrap();
    let o = dicebard(dir.path(), &["run"], &[]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("turns.timeout_secs must be greater than turns.warning_secs"),
        "{err}"
    );

    let o = dicebard(dir.path(), &["--config", "missing.toml", "run"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("missing.toml"));
}
