//! The command line: argument definitions (clap) and what each subcommand does at the
//! binary's edge. It turns errors into messages and exit statuses; the work itself
//! belongs to the engine, the store and the front ends.
//!
//! Exit statuses: 0 success; 1 a failure while running; 2 a usage or configuration
//! error (bad flags, bad config, an invalid dice expression, no Discord token).

use crate::config::{Config, ConfigError};
use clap::{Args, Parser, Subcommand};
use dicebard_engine::dice::{Crit, Roll, SeededDice, roll};
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit status for usage and configuration errors (the same as clap's).
pub const EXIT_USAGE: u8 = 2;

/// A self-hosted Discord bot that runs a D&D 5e table with an AI game master.
#[derive(Debug, Parser)]
#[command(name = "dicebard", version, about, propagate_version = true)]
pub struct Cli {
    /// Config file (TOML). Default: ./dicebard.toml if it exists, else built-in defaults.
    #[arg(long, global = true, value_name = "PATH", env = "DICEBARD_CONFIG")]
    pub config: Option<PathBuf>,

    /// Data directory (overrides storage.data_dir and DICEBARD_DATA_DIR).
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the Discord bot.
    Run,
    /// Play at the terminal: a local table with the built-in narrator, no Discord needed.
    Play(PlayArgs),
    /// Roll dice, e.g. `dicebard roll 1d20+5` or `dicebard roll 4d6kh3`.
    Roll(RollArgs),
}

/// Arguments of `dicebard play`.
#[derive(Debug, Clone, Default, Args)]
pub struct PlayArgs {
    /// Campaign to create or continue.
    #[arg(long, value_name = "NAME")]
    pub campaign: Option<String>,
    /// Your player name.
    #[arg(long, value_name = "NAME")]
    pub player: Option<String>,
    /// RNG seed for a new campaign (default: random).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Print events as JSON lines instead of prose.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `dicebard roll`.
#[derive(Debug, Clone, Args)]
pub struct RollArgs {
    /// RNG seed: the same seed and expression give the same roll (default: random).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Print {"expr", "total", "breakdown", "crit"} as one JSON line.
    #[arg(long)]
    pub json: bool,
    /// The dice expression; several arguments are joined with spaces.
    #[arg(required = true, num_args = 1.., allow_negative_numbers = true, value_name = "EXPR")]
    pub expr: Vec<String>,
}

/// Loads the configuration the command line points at and applies its flags.
pub fn load_config(cli: &Cli) -> Result<Config, ConfigError> {
    let mut config = Config::load(cli.config.as_deref())?;
    if let Some(dir) = &cli.data_dir {
        config.storage.data_dir = dir.clone();
    }
    Ok(config)
}

/// Runs the chosen subcommand and returns the process's exit status.
pub async fn dispatch(cli: Cli, config: Config) -> ExitCode {
    match cli.command {
        Command::Run => run(&config).await,
        Command::Play(args) => match crate::terminal::play(&config, args).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("dicebard: {e:#}");
                ExitCode::FAILURE
            }
        },
        Command::Roll(args) => roll_command(&args),
    }
}

async fn run(config: &Config) -> ExitCode {
    if config.discord.token.is_none() {
        eprintln!(
            "No Discord token configured (set DICEBARD_DISCORD_TOKEN or [discord].token in \
             dicebard.toml). To try dicebard locally, run: dicebard play"
        );
        return ExitCode::from(EXIT_USAGE);
    }
    match crate::app::run_bot(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dicebard: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The `--json` output of `dicebard roll`: exactly these keys, in this order.
#[derive(Debug, Serialize)]
struct RollJson<'a> {
    expr: &'a str,
    total: i64,
    breakdown: &'a str,
    crit: Crit,
}

/// Rolls `args`' expression and formats the output line (without a newline).
pub fn roll_line(args: &RollArgs, seed: u64) -> Result<String, String> {
    let expr = args.expr.join(" ");
    let mut dice = SeededDice::new(seed);
    let result: Roll = roll(&expr, &mut dice).map_err(|e| {
        let msg = e.to_string().replace(['\n', '\r'], " ");
        format!("dicebard: invalid dice expression {expr:?}: {msg}")
    })?;
    if args.json {
        let json = RollJson {
            expr: &result.expr,
            total: result.total,
            breakdown: &result.breakdown,
            crit: result.crit,
        };
        serde_json::to_string(&json).map_err(|e| format!("dicebard: {e}"))
    } else {
        Ok(result.breakdown.replace(['\n', '\r'], " "))
    }
}

fn roll_command(args: &RollArgs) -> ExitCode {
    let seed = args.seed.unwrap_or_else(random_seed);
    match roll_line(args, seed) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(line) => {
            eprintln!("{line}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

/// A seed from the OS: std's `RandomState` keys come from the OS's random source; the
/// clock and process id are mixed in for good measure. Fine for a one-off roll; games
/// store their campaign seed.
pub fn random_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    h.write_u128(nanos);
    h.write_u32(std::process::id());
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn roll_joins_arguments_and_accepts_negative_numbers() {
        let cli =
            Cli::try_parse_from(["dicebard", "roll", "--seed", "7", "1d20", "+", "-1"]).unwrap();
        match cli.command {
            Command::Roll(args) => {
                assert_eq!(args.seed, Some(7));
                assert_eq!(args.expr.join(" "), "1d20 + -1");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn global_flags_work_after_the_subcommand() {
        let cli = Cli::try_parse_from([
            "dicebard",
            "play",
            "--campaign",
            "Lost Mine",
            "--data-dir",
            "/tmp/x",
        ])
        .unwrap();
        assert_eq!(cli.data_dir, Some(PathBuf::from("/tmp/x")));
        match cli.command {
            Command::Play(args) => assert_eq!(args.campaign.as_deref(), Some("Lost Mine")),
            other => panic!("{other:?}"),
        }
    }
}
