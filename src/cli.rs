//! The command line: argument definitions (clap) and what each subcommand does at the
//! binary's edge. It turns errors into messages and exit statuses; the work itself
//! belongs to the engine, the store and the front ends.
//!
//! Exit statuses: 0 success; 1 a failure while running; 2 a usage or configuration
//! error (bad flags, bad config, an invalid dice expression).

use crate::config::{Config, ConfigError};
use crate::coordinator::random_seed;
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
    /// Run the table: the web table (phones and a TV, on `web.listen`), and the Discord
    /// bot too when a Discord token is configured.
    Run(RunArgs),
    /// Play at the terminal: a local table with the built-in narrator, no Discord needed.
    Play(PlayArgs),
    /// Roll dice, e.g. `dicebard roll 1d20+5` or `dicebard roll 4d6kh3`.
    Roll(RollArgs),
    /// Transcribe WAV files with the local speech-to-text model (whisper.cpp).
    Transcribe(TranscribeArgs),
    /// Speak text with the local Piper voice into a WAV file.
    Say(SayArgs),
    /// The SRD data set: `dicebard srd coverage` lists every spell as automated /
    /// partial / narrative.
    Srd {
        #[command(subcommand)]
        what: SrdCommand,
    },
}

/// `dicebard srd …`.
#[derive(Debug, Subcommand)]
pub enum SrdCommand {
    /// How each SRD spell resolves: automated, partial or narrative.
    Coverage,
}

/// Arguments of `dicebard run`.
#[derive(Debug, Clone, Default, Args)]
pub struct RunArgs {
    /// Serve the web table on the local network: listen on every interface (0.0.0.0,
    /// `web.listen`'s port) and put this machine's LAN address in join links
    /// (the same as `web.lan = true`).
    #[arg(long)]
    pub lan: bool,
}

/// Arguments of `dicebard transcribe`.
#[derive(Debug, Clone, Args)]
pub struct TranscribeArgs {
    /// whisper.cpp model (ggml .bin). Default: [voice] whisper_model / DICEBARD_WHISPER_MODEL,
    /// else models/ggml-tiny.en.bin.
    #[arg(long, value_name = "PATH")]
    pub model: Option<PathBuf>,
    /// Print one JSON object per file: {"file", "text", "audio_seconds", "wall_seconds"}.
    #[arg(long)]
    pub json: bool,
    /// CPU threads for whisper (default: number of CPUs, at most 4).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub threads: usize,
    /// WAV files (any common sample rate and channel count).
    #[arg(required = true, num_args = 1.., value_name = "FILE.wav")]
    pub files: Vec<PathBuf>,
}

/// Arguments of `dicebard say`.
#[derive(Debug, Clone, Args)]
pub struct SayArgs {
    /// Piper voice (.onnx with its .onnx.json beside it). Default: [voice] piper_voice /
    /// DICEBARD_PIPER_VOICE, else models/piper/en_US-joe-medium.onnx.
    #[arg(long, value_name = "PATH")]
    pub voice: Option<PathBuf>,
    /// ONNX Runtime library (>= 1.24). Default: [voice] onnxruntime / DICEBARD_ONNXRUNTIME.
    #[arg(long, value_name = "PATH")]
    pub onnxruntime: Option<PathBuf>,
    /// Output WAV file.
    #[arg(
        short = 'o',
        long = "out",
        value_name = "OUT.wav",
        default_value = "say.wav"
    )]
    pub out: PathBuf,
    /// The text; several arguments are joined with spaces.
    #[arg(required = true, num_args = 1.., value_name = "TEXT")]
    pub text: Vec<String>,
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
    /// Serve the web table beside the terminal (on `web.listen`), so that `invite`,
    /// `display` and `kick` can bring phones and a TV to this table.
    #[arg(long)]
    pub web: bool,
    /// With `--web`: listen on every interface and put the LAN address in links.
    #[arg(long)]
    pub lan: bool,
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
        Command::Run(args) => run(&config, &args).await,
        Command::Play(args) => match play(&config, args).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("dicebard: {e:#}");
                ExitCode::FAILURE
            }
        },
        Command::Roll(args) => roll_command(&args),
        Command::Srd {
            what: SrdCommand::Coverage,
        } => {
            print!(
                "{}",
                dicebard_srd::effects::coverage_report(dicebard_srd::catalog())
            );
            println!(
                "\nClass features and racial traits (levels 1-20, SRD subclasses):\n{}",
                dicebard_engine::features::coverage_report()
            );
            println!(
                "\nMonsters (stat-block actions the NPC options offer and the engine resolves):\n{}",
                dicebard_engine::monster_coverage::report(dicebard_srd::catalog())
            );
            ExitCode::SUCCESS
        }
        // Speech models block for a while: run them off the async runtime's threads.
        Command::Transcribe(args) => {
            let voice = config.voice.clone();
            tokio::task::spawn_blocking(move || transcribe_command(&args, &voice))
                .await
                .unwrap_or(ExitCode::FAILURE)
        }
        Command::Say(args) => {
            let voice = config.voice.clone();
            tokio::task::spawn_blocking(move || say_command(&args, &voice))
                .await
                .unwrap_or(ExitCode::FAILURE)
        }
    }
}

/// `dicebard play`: the composition root builds the coordinator and the game master;
/// the terminal table plays on them.
async fn play(config: &Config, args: PlayArgs) -> anyhow::Result<()> {
    let (coord, gm) = crate::app::game(config).await?;
    let feeds = crate::app::feeds(&coord, &gm);
    let (table, web) = if args.web {
        let (table, web) = crate::app::web_beside(config, args.lan, &coord, &feeds, &gm).await?;
        (Some(table), Some(web))
    } else {
        (None, None)
    };
    let options = crate::terminal::PlayOptions {
        campaign: args.campaign,
        player: args.player,
        seed: args.seed,
        json: args.json,
        settings: crate::app::default_settings(config),
        table,
    };
    let res = crate::terminal::play(coord, gm, feeds, options).await;
    if let Some((trigger, task)) = web {
        trigger.trigger();
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), task).await;
    }
    res
}

async fn run(config: &Config, args: &RunArgs) -> ExitCode {
    match crate::app::run_bot(config, args.lan).await {
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

/// The model file to use: the flag, else the config ([voice] keys / environment), else
/// the first one found by dicebard-voice (models/, ...). `None` when there is none.
fn voice_path(
    flag: Option<&PathBuf>,
    configured: Option<&PathBuf>,
    kind: dicebard_voice::models::Kind,
) -> Option<PathBuf> {
    flag.or(configured)
        .cloned()
        .or_else(|| dicebard_voice::models::locate(kind))
}

/// Prints a voice error; a missing or unusable model is a configuration error (2).
fn voice_failure(e: &dicebard_voice::VoiceError) -> ExitCode {
    eprintln!("dicebard: {e}");
    match e {
        dicebard_voice::VoiceError::Missing { .. }
        | dicebard_voice::VoiceError::Invalid { .. }
        | dicebard_voice::VoiceError::OnnxRuntime { .. } => ExitCode::from(EXIT_USAGE),
        _ => ExitCode::FAILURE,
    }
}

fn no_model(kind: dicebard_voice::models::Kind, flag: &str) -> ExitCode {
    eprintln!(
        "dicebard: no {} configured: pass {flag} PATH, or {}",
        kind.what(),
        dicebard_voice::models::missing_hint(kind)
    );
    ExitCode::from(EXIT_USAGE)
}

/// The `--json` output of `dicebard transcribe`, one object per file.
#[derive(Debug, Serialize)]
struct TranscriptJson<'a> {
    file: &'a str,
    text: &'a str,
    audio_seconds: f64,
    wall_seconds: f64,
}

fn transcribe_command(args: &TranscribeArgs, voice: &crate::config::VoiceConfig) -> ExitCode {
    use dicebard_voice::models::Kind;
    let Some(model) = voice_path(
        args.model.as_ref(),
        voice.whisper_model.as_ref(),
        Kind::Whisper,
    ) else {
        return no_model(Kind::Whisper, "--model");
    };
    let transcriber = match dicebard_voice::Transcriber::load(&model, args.threads) {
        Ok(t) => t,
        Err(e) => return voice_failure(&e),
    };
    let mut status = ExitCode::SUCCESS;
    for file in &args.files {
        let result = dicebard_voice::audio::read_wav_16k_mono(file)
            .and_then(|pcm| transcriber.transcribe(&pcm));
        match result {
            Ok(t) => {
                let name = file.display().to_string();
                if args.json {
                    let json = TranscriptJson {
                        file: &name,
                        text: &t.text,
                        audio_seconds: t.audio_seconds,
                        wall_seconds: t.wall_seconds,
                    };
                    match serde_json::to_string(&json) {
                        Ok(line) => println!("{line}"),
                        Err(e) => {
                            eprintln!("dicebard: {e}");
                            status = ExitCode::FAILURE;
                        }
                    }
                } else if args.files.len() == 1 {
                    println!("{}", t.text);
                } else {
                    println!("{name}: {}", t.text);
                }
            }
            Err(e) => {
                eprintln!("dicebard: {e}");
                status = ExitCode::FAILURE;
            }
        }
    }
    status
}

fn say_command(args: &SayArgs, voice: &crate::config::VoiceConfig) -> ExitCode {
    use dicebard_voice::models::Kind;
    let Some(voice_file) = voice_path(args.voice.as_ref(), voice.piper_voice.as_ref(), Kind::Piper)
    else {
        return no_model(Kind::Piper, "--voice");
    };
    let Some(ort) = voice_path(
        args.onnxruntime.as_ref(),
        voice.onnxruntime.as_ref(),
        Kind::OnnxRuntime,
    ) else {
        return no_model(Kind::OnnxRuntime, "--onnxruntime");
    };
    let mut synth = match dicebard_voice::Synthesizer::load(&voice_file, &ort) {
        Ok(s) => s,
        Err(e) => return voice_failure(&e),
    };
    synth.set_noise(voice.piper_noise_scale, voice.piper_noise_w);
    let text = args.text.join(" ");
    let mut samples = Vec::new();
    for sentence in dicebard_voice::sentences(&text) {
        match synth.synthesize(&sentence) {
            Ok(audio) => samples.extend_from_slice(&audio.samples_f32),
            Err(e) => return voice_failure(&e),
        }
    }
    let rate = synth.sample_rate();
    if let Err(e) = dicebard_voice::audio::write_wav(&args.out, &samples, rate, 1) {
        return voice_failure(&e);
    }
    println!(
        "{} ({:.1} s of speech)",
        args.out.display(),
        samples.len() as f64 / rate as f64
    );
    ExitCode::SUCCESS
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
    fn transcribe_and_say_parse() {
        let cli =
            Cli::try_parse_from(["dicebard", "transcribe", "--json", "a.wav", "b.wav"]).unwrap();
        match cli.command {
            Command::Transcribe(args) => {
                assert!(args.json);
                assert_eq!(
                    args.files,
                    vec![PathBuf::from("a.wav"), PathBuf::from("b.wav")]
                );
                assert_eq!(args.model, None);
            }
            other => panic!("{other:?}"),
        }
        let cli =
            Cli::try_parse_from(["dicebard", "say", "-o", "x.wav", "Roll", "initiative!"]).unwrap();
        match cli.command {
            Command::Say(args) => {
                assert_eq!(args.out, PathBuf::from("x.wav"));
                assert_eq!(args.text.join(" "), "Roll initiative!");
            }
            other => panic!("{other:?}"),
        }
        let cli = Cli::try_parse_from(["dicebard", "say", "Hello"]).unwrap();
        match cli.command {
            Command::Say(args) => assert_eq!(args.out, PathBuf::from("say.wav")),
            other => panic!("{other:?}"),
        }
        assert!(Cli::try_parse_from(["dicebard", "transcribe"]).is_err());
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
