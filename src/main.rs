//! The `dicebard` binary: parse arguments, load the configuration, set up logging,
//! dispatch. Everything else lives in the library (src/lib.rs).

use clap::Parser;
use dicebard::cli::{self, Cli, EXIT_USAGE};
use dicebard::config::{LogConfig, LogFormat};
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match cli::load_config(&cli) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("dicebard: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    // At the terminal table, log lines would interleave with the game: only warnings,
    // unless the user asked for more.
    let mut log = config.log.clone();
    if matches!(cli.command, cli::Command::Play(_)) && log.filter == "info" {
        log.filter = "warn".into();
    }
    init_tracing(&log);
    // Safe to log: secrets in Config print as [redacted].
    tracing::debug!(?config, "configuration loaded");
    cli::dispatch(cli, config).await
}

/// Logs go to stderr (stdout is for command output such as `roll --json`). The filter
/// is RUST_LOG when set and valid, else `log.filter`.
fn init_tracing(log: &LogConfig) {
    let filter = match std::env::var("RUST_LOG") {
        Ok(v) if !v.trim().is_empty() => EnvFilter::try_new(&v).unwrap_or_else(|e| {
            eprintln!("dicebard: ignoring invalid RUST_LOG ({e}); using log.filter");
            EnvFilter::new(&log.filter)
        }),
        _ => EnvFilter::new(&log.filter),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = match log.format {
        LogFormat::Pretty => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    if let Err(e) = result {
        eprintln!("dicebard: could not set up logging: {e}");
    }
}
