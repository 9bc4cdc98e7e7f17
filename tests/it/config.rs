//! Config loading: defaults, file, environment overrides, errors that name the key,
//! and secrets that never print.

use dicebard::config::{Config, LogFormat, NarratorKind};
use dicebard::store::DbLocation;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

const TOKEN: &str = "MTIzNDU2Nzg5MDEyMzQ1Njc4OQ.GhIjKl.super-secret-token-value";
const API_KEY: &str = "sk-live-very-secret-api-key";

fn no_env(_: &str) -> Option<String> {
    None
}

fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| map.get(k).cloned()
}

fn write(dir: &tempfile::TempDir, text: &str) -> PathBuf {
    let path = dir.path().join("dicebard.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn load_str(text: &str) -> Result<Config, String> {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, text);
    Config::load_with_env(Some(&path), &no_env).map_err(|e| e.to_string())
}

fn example_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config.example.toml")
}

#[test]
fn defaults_are_valid_and_documented() {
    let c = Config::default();
    c.validate().unwrap();
    assert_eq!(c.turns.timeout_secs, 120);
    assert_eq!(c.turns.warning_secs, 30);
    assert_eq!(c.storage.data_dir, PathBuf::from("./data"));
    assert_eq!(c.narrator.kind, NarratorKind::Builtin);
    assert_eq!(c.web.listen.to_string(), "127.0.0.1:8787");
    assert_eq!(c.log.format, LogFormat::Pretty);
    assert!(c.discord.token.is_none());
    assert_eq!(
        c.database_location(),
        DbLocation::File(PathBuf::from("./data").join("dicebard.sqlite3"))
    );
}

#[test]
fn example_file_parses_to_the_defaults() {
    let c = Config::load_with_env(Some(&example_path()), &no_env).unwrap();
    assert_eq!(c, Config::default());
}

#[test]
fn example_file_mentions_every_key() {
    let text = std::fs::read_to_string(example_path()).unwrap();
    for key in [
        "[discord]",
        "token",
        "application_id",
        "guild_id",
        "gm_role",
        "api_base",
        "[storage]",
        "data_dir",
        "database_url",
        "[turns]",
        "timeout_secs",
        "warning_secs",
        "reaction_secs",
        "[narrator]",
        "kind",
        "[llm]",
        "base_url",
        "model",
        "api_key_env",
        "max_retries",
        "token_budget",
        "[voice]",
        "whisper_model",
        "piper_voice",
        "onnxruntime",
        "silence_ms",
        "piper_noise_scale",
        "piper_noise_w",
        "[web]",
        "listen",
        "public_url",
        "[log]",
        "filter",
        "format",
    ] {
        assert!(
            text.contains(key),
            "config.example.toml does not mention {key}"
        );
    }
    for var in [
        "DICEBARD_CONFIG",
        "DICEBARD_DISCORD_TOKEN",
        "DICEBARD_DATA_DIR",
        "DICEBARD_DATABASE_URL",
        "DICEBARD_DISCORD_API_BASE",
        "DICEBARD_LLM_API_KEY",
    ] {
        assert!(
            text.contains(var),
            "config.example.toml does not mention {var}"
        );
    }
}

#[test]
fn file_values_are_read() {
    let c = load_str(
        r#"
        [discord]
        token = "file-token"
        guild_id = 123456789012345678
        gm_role = "Dungeon Master"
        api_base = "http://127.0.0.1:9999/api/v10"

        [storage]
        data_dir = "/var/lib/dicebard"

        [turns]
        timeout_secs = 60
        warning_secs = 10

        [narrator]
        kind = "openai"

        [llm]
        base_url = "http://localhost:8080/v1"
        model = "llama-3.1-8b"
        max_retries = 0

        [web]
        listen = "0.0.0.0:8080"
        public_url = "https://table.example.org"

        [log]
        format = "json"
        filter = "debug,sqlx=warn"
        "#,
    )
    .unwrap();
    assert_eq!(c.discord.token.as_ref().unwrap().expose(), "file-token");
    assert_eq!(c.discord.guild_id, Some(123456789012345678));
    assert_eq!(c.discord.gm_role, "Dungeon Master");
    assert_eq!(c.turns.timeout_secs, 60);
    assert_eq!(c.narrator.kind, NarratorKind::Openai);
    assert_eq!(c.llm.model.as_deref(), Some("llama-3.1-8b"));
    assert_eq!(c.llm.max_retries, 0);
    assert_eq!(c.web.listen.port(), 8080);
    assert_eq!(c.log.format, LogFormat::Json);
    // Unset keys keep their defaults.
    assert_eq!(c.voice.silence_ms, 700);
    assert_eq!(
        c.database_location(),
        DbLocation::File(PathBuf::from("/var/lib/dicebard/dicebard.sqlite3"))
    );
}

#[test]
fn environment_overrides_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        &dir,
        r#"
        [discord]
        token = "file-token"
        [storage]
        data_dir = "/from/file"
        [llm]
        api_key_env = "MY_LLM_KEY"
        "#,
    );
    let env = env_of(&[
        ("DICEBARD_DISCORD_TOKEN", TOKEN),
        ("DICEBARD_DATA_DIR", "/from/env"),
        ("DICEBARD_DATABASE_URL", "sqlite:///db/x.sqlite3"),
        ("DICEBARD_DISCORD_API_BASE", "http://127.0.0.1:4000/api/v10"),
        ("DICEBARD_NARRATOR", "anthropic"),
        ("MY_LLM_KEY", API_KEY),
        (
            "DICEBARD_LLM_API_KEY",
            "ignored: api_key_env names another variable",
        ),
        ("DICEBARD_DISCORD_GUILD_ID", "42"),
        ("DICEBARD_WEB_LISTEN", "0.0.0.0:9000"),
        ("DICEBARD_LOG_FORMAT", "json"),
        ("DICEBARD_PUBLIC_URL", ""), // empty counts as unset
    ]);
    let c = Config::load_with_env(Some(&path), &env).unwrap();
    assert_eq!(c.discord.token.as_ref().unwrap().expose(), TOKEN);
    assert_eq!(c.storage.data_dir, PathBuf::from("/from/env"));
    assert_eq!(
        c.database_location(),
        DbLocation::SqliteUrl("sqlite:///db/x.sqlite3".into())
    );
    assert_eq!(
        c.discord.api_base.as_deref(),
        Some("http://127.0.0.1:4000/api/v10")
    );
    assert_eq!(c.narrator.kind, NarratorKind::Anthropic);
    assert_eq!(c.llm.api_key.as_ref().unwrap().expose(), API_KEY);
    assert_eq!(c.discord.guild_id, Some(42));
    assert_eq!(c.web.listen.port(), 9000);
    assert_eq!(c.log.format, LogFormat::Json);
    assert_eq!(c.web.public_url, None);
}

#[test]
fn default_llm_key_variable() {
    let env = env_of(&[("DICEBARD_LLM_API_KEY", API_KEY)]);
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "");
    let c = Config::load_with_env(Some(&path), &env).unwrap();
    assert_eq!(c.llm.api_key.as_ref().unwrap().expose(), API_KEY);
}

#[test]
fn the_api_key_cannot_be_written_in_the_file() {
    let err = load_str("[llm]\napi_key = \"sk-in-file\"\n").unwrap_err();
    assert!(err.contains("llm.api_key"), "{err}");
    assert!(err.contains("unknown field"), "{err}");
}

#[test]
fn secrets_never_appear_in_debug_output() {
    let env = env_of(&[
        ("DICEBARD_DISCORD_TOKEN", TOKEN),
        ("DICEBARD_LLM_API_KEY", API_KEY),
        (
            "DICEBARD_DATABASE_URL",
            "postgres://dicebard:db-password@db.internal/dicebard",
        ),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "");
    let c = Config::load_with_env(Some(&path), &env).unwrap();
    let debug = format!("{c:?}");
    let pretty = format!("{c:#?}");
    for out in [&debug, &pretty] {
        assert!(!out.contains(TOKEN), "token leaked: {out}");
        assert!(!out.contains("super-secret"), "token leaked: {out}");
        assert!(!out.contains(API_KEY), "API key leaked: {out}");
        assert!(!out.contains("db-password"), "db password leaked: {out}");
        assert!(out.contains("[redacted]"), "{out}");
    }
    assert_eq!(
        format!("{}", c.discord.token.as_ref().unwrap()),
        "[redacted]"
    );
}

#[test]
fn timeout_must_exceed_warning() {
    let err = load_str("[turns]\ntimeout_secs = 30\nwarning_secs = 30\n").unwrap_err();
    assert_eq!(
        err,
        "config: turns.timeout_secs must be greater than turns.warning_secs (got 30 and 30)"
    );
    let err = load_str("[turns]\ntimeout_secs = 10\n").unwrap_err();
    assert!(err.contains("(got 10 and 30)"), "{err}");
}

#[test]
fn zero_timeout_is_refused() {
    let err = load_str("[turns]\nreaction_secs = 601\n").unwrap_err();
    assert!(err.contains("turns.reaction_secs"), "{err}");
    assert_eq!(
        load_str("[turns]\nreaction_secs = 0\n")
            .unwrap()
            .turns
            .reaction_secs,
        0
    );
    let err = load_str("[turns]\ntimeout_secs = 0\nwarning_secs = 0\n").unwrap_err();
    assert!(
        err.contains("turns.timeout_secs must be greater than 0"),
        "{err}"
    );
}

#[test]
fn wrong_type_names_the_key() {
    let err = load_str("[turns]\ntimeout_secs = \"two minutes\"\n").unwrap_err();
    assert!(err.starts_with("config: "), "{err}");
    assert!(err.contains("turns.timeout_secs"), "{err}");
    assert!(err.contains("line 2"), "{err}");

    let err = load_str("[web]\nlisten = \"not an address\"\n").unwrap_err();
    assert!(err.contains("web.listen"), "{err}");

    let err = load_str("[narrator]\nkind = \"gpt\"\n").unwrap_err();
    assert!(err.contains("narrator.kind"), "{err}");
    assert!(err.contains("builtin"), "{err}");

    let err = load_str("[turns]\nwarning_secs = -5\n").unwrap_err();
    assert!(err.contains("turns.warning_secs"), "{err}");
}

#[test]
fn unknown_keys_are_refused_with_their_name() {
    let err = load_str("[discord]\ntokn = \"x\"\n").unwrap_err();
    assert!(err.contains("discord.tokn"), "{err}");
    assert!(err.contains("unknown field"), "{err}");

    let err = load_str("[dicord]\ntoken = \"x\"\n").unwrap_err();
    assert!(err.contains("dicord"), "{err}");
}

#[test]
fn bad_toml_is_an_error_with_a_location() {
    let err = load_str("[discord\ntoken = \"x\"\n").unwrap_err();
    assert!(err.starts_with("config: "), "{err}");
    assert!(err.contains("dicebard.toml"), "names the file: {err}");
    assert!(err.contains("invalid TOML"), "{err}");
    assert!(err.contains("line 1"), "{err}");
}

#[test]
fn invalid_urls_and_env_values_name_their_source() {
    let err = load_str("[discord]\napi_base = \"localhost:3000\"\n").unwrap_err();
    assert!(err.contains("discord.api_base"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "");
    let env = env_of(&[("DICEBARD_DISCORD_GUILD_ID", "my-guild")]);
    let err = Config::load_with_env(Some(&path), &env)
        .unwrap_err()
        .to_string();
    assert!(err.contains("DICEBARD_DISCORD_GUILD_ID"), "{err}");

    let env = env_of(&[("DICEBARD_NARRATOR", "gpt")]);
    let err = Config::load_with_env(Some(&path), &env)
        .unwrap_err()
        .to_string();
    assert!(err.contains("DICEBARD_NARRATOR"), "{err}");

    // Piper's noise: a number from 0 to 2, from the file or the environment.
    for bad in ["-1", "2.5", "nan", "inf"] {
        let err = load_str(&format!("[voice]\npiper_noise_scale = {bad}\n")).unwrap_err();
        assert!(err.contains("voice.piper_noise_scale"), "{bad}: {err}");
    }
    let env = env_of(&[("DICEBARD_PIPER_NOISE_W", "loud")]);
    let err = Config::load_with_env(Some(&path), &env)
        .unwrap_err()
        .to_string();
    assert!(err.contains("DICEBARD_PIPER_NOISE_W"), "{err}");
    let env = env_of(&[
        ("DICEBARD_PIPER_NOISE_SCALE", "0"),
        ("DICEBARD_PIPER_NOISE_W", " 0.5 "),
    ]);
    let c = Config::load_with_env(Some(&path), &env).unwrap();
    assert_eq!(
        (c.voice.piper_noise_scale, c.voice.piper_noise_w),
        (Some(0.0), Some(0.5))
    );
}

#[test]
fn missing_explicit_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.toml");
    let err = Config::load_with_env(Some(&path), &no_env)
        .unwrap_err()
        .to_string();
    assert!(err.contains("nope.toml"), "{err}");
}
