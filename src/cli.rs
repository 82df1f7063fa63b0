//! The command line: argument definitions, the dispatch to `commands`, and what the commands
//! share (settings, the registry client, notes). `main` only calls [`run`]; errors that stop a
//! command are printed here, once.

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

use std::time::Duration;

use crate::commands;
use crate::config::{self, Overrides, Settings};
use crate::escape;
use crate::registry::{self, Cache, Credentials, Registry};
use crate::render::{Format, Style};
use crate::resolve::PinStyle;
use crate::rules::Severity;
use crate::rules::data::RuleData;
use crate::run::{Keep, Outcome};

#[derive(Debug, Parser)]
#[command(
    name = "tagpin",
    version,
    about = "Find floating container image tags and pin them"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Print notes (files skipped on purpose, registry requests) and a debug log to stderr.
    #[arg(short, long, global = true, conflicts_with = "quiet")]
    pub verbose: bool,
    /// Print findings and errors only: no notes, no summary.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// When to color output.
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check files for floating image references.
    Check(CheckArgs),
    /// List every image reference found, with file, line and kind.
    Images(ImagesArgs),
    /// Print what floating references point to now: the release tag and the index digest.
    Resolve(ResolveArgs),
    /// The release lines of an image and their support on a day (from the rule data, completed
    /// by the registry).
    Releases(ReleasesArgs),
    /// Show a rule's documentation, or list the rules.
    Explain {
        /// A rule code (`TP002`) or name (`floating-tag`).
        rule: Option<String>,
    },
    /// Print a shell completion script (e.g. `tagpin completions bash > ~/.local/share/bash-completion/completions/tagpin`).
    Completions { shell: clap_complete::Shell },
    /// Print the man page (roff), e.g. `tagpin man > tagpin.1`.
    Man,
}

/// Options shared by the commands that read files.
#[derive(Debug, Args)]
pub struct Inputs {
    /// Files or folders to check (folders are walked, respecting .gitignore); `-` reads stdin.
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// The name stdin (`-`) is shown under, which also decides its kind (`values.yaml`,
    /// `Dockerfile`); without it, the content decides.
    #[arg(long, value_name = "NAME")]
    pub stdin_filename: Option<PathBuf>,
    /// Skip files and folders matching this gitignore-style glob (repeatable).
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// Apply excludes to files named on the command line too (for pre-commit).
    #[arg(long)]
    pub force_exclude: bool,
    /// Follow symlinks that lead out of the folders walked (files named on the command line
    /// are always read).
    #[arg(short = 'L', long)]
    pub follow: bool,
    #[command(flatten)]
    pub config: ConfigArgs,
}

/// Where the configuration and rule data come from.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Config file (default: `.tagpin.yaml` in the working folder or a parent).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Ignore every config file.
    #[arg(long, conflicts_with = "config")]
    pub no_config: bool,
    /// Extra rule data (added to the built-in rules).
    #[arg(long, value_name = "FILE")]
    pub rules: Vec<PathBuf>,
}

/// How the registry is asked.
#[derive(Debug, Args)]
pub struct RegistryArgs {
    /// No network: use cached registry answers only.
    #[arg(long)]
    pub offline: bool,
    /// Ignore cached registry answers (and replace them).
    #[arg(long, conflicts_with = "offline")]
    pub refresh: bool,
    /// Send a registry's requests to a mirror, e.g. `docker.io=https://mirror.example.com`.
    #[arg(long, value_name = "HOST=URL", value_parser = parse_mirror)]
    pub registry_mirror: Vec<(String, String)>,
    /// What a pin writes [default: version].
    #[arg(long, value_enum)]
    pub pin: Option<PinStyle>,
    /// Judge support windows as of this day (YYYY-MM-DD) instead of today.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub today: Option<jiff::civil::Date>,
    /// Time limit for one registry request, e.g. `20s` [default: 20s].
    #[arg(long, value_name = "DURATION", value_parser = parse_timeout)]
    pub timeout: Option<Duration>,
    /// Look Kestra plugin versions up in this Maven repository (a Nexus or Artifactory proxy)
    /// instead of the configured ones.
    #[arg(long, value_name = "URL", value_parser = parse_url)]
    pub maven_mirror: Option<String>,
}

fn parse_url(text: &str) -> Result<String, String> {
    if text.starts_with("http://") || text.starts_with("https://") {
        Ok(text.to_string())
    } else {
        Err("the URL must start with http:// or https://".to_string())
    }
}

fn parse_mirror(text: &str) -> Result<(String, String), String> {
    let (host, url) = text
        .split_once('=')
        .ok_or("expected HOST=URL, e.g. docker.io=https://mirror.example.com")?;
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(format!(
            "the mirror URL `{url}` must start with http:// or https://"
        ));
    }
    Ok((host.to_string(), url.to_string()))
}

fn parse_timeout(text: &str) -> Result<Duration, String> {
    config::parse_duration(text)
        .ok_or_else(|| format!("`{text}` is not a duration such as `20s` or `1m`"))
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub inputs: Inputs,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Only these rules (codes or names, comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "CODE")]
    pub select: Vec<String>,
    /// Not these rules (codes or names, comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "CODE")]
    pub ignore: Vec<String>,
    /// Exit 1 when a finding is at least this severe [default: error].
    #[arg(long, value_enum)]
    pub fail_on: Option<Severity>,
    /// Rewrite files to the recommended pins (safe fixes only).
    #[arg(long)]
    pub fix: bool,
    /// Also apply fixes that change what runs (e.g. re-pin a digest the tag left).
    #[arg(long)]
    pub unsafe_fixes: bool,
    /// Print the unified diff `--fix` would apply; write nothing.
    #[arg(long, conflicts_with = "fix")]
    pub diff: bool,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Args)]
pub struct ReleasesArgs {
    /// An image with release data, e.g. `kestra/kestra`.
    pub image: String,
    #[arg(long, value_enum, default_value_t = ImagesFormat::Human)]
    pub format: ImagesFormat,
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Args)]
pub struct ResolveArgs {
    /// Image references, e.g. `kestra/kestra:latest-lts` or `postgres`, or Kestra plugins,
    /// e.g. `io.kestra.plugin:plugin-aws:LATEST`.
    #[arg(required = true)]
    pub images: Vec<String>,
    /// The Kestra version plugins must support, e.g. `v1.3.30`.
    #[arg(long, value_name = "VERSION")]
    pub kestra: Option<String>,
    #[arg(long, value_enum, default_value_t = ImagesFormat::Human)]
    pub format: ImagesFormat,
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Args)]
pub struct ImagesArgs {
    #[command(flatten)]
    pub inputs: Inputs,
    #[arg(long, value_enum, default_value_t = ImagesFormat::Human)]
    pub format: ImagesFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImagesFormat {
    Human,
    Json,
}

pub fn run() -> ExitCode {
    let command = Cli::command().version(version()).long_version(version());
    let cli = match command
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m))
    {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    if cli.verbose {
        tracing_subscriber::fmt()
            .with_writer(io::stderr)
            .with_env_filter(tracing_subscriber::EnvFilter::new("tagpin=debug"))
            .with_ansi(match cli.color {
                Color::Always => true,
                Color::Never => false,
                Color::Auto => {
                    io::stderr().is_terminal()
                        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                }
            })
            // A URL or path in a log line comes from a repository's files.
            .fmt_fields(tracing_subscriber::fmt::format::debug_fn(
                |out, field, value| {
                    let value = escape::text(&format!("{value:?}")).into_owned();
                    match field.name() {
                        "message" => write!(out, "{value}"),
                        name => write!(out, "{name}={value}"),
                    }
                },
            ))
            .with_target(false)
            .without_time()
            .init();
    }
    if cli.color != Color::Auto {
        let color = cli.color == Color::Always;
        let _ = miette::set_hook(Box::new(move |_| {
            Box::new(
                miette::MietteHandlerOpts::new()
                    .color(color)
                    .terminal_links(color)
                    .build(),
            )
        }));
    }
    let mut style = style(cli.color);
    style.quiet = cli.quiet;
    let result = match &cli.command {
        Command::Check(args) => commands::check::check(args, &cli, style),
        Command::Images(args) => commands::images::images(args, &cli),
        Command::Resolve(args) => commands::resolve::resolve(args, &cli),
        Command::Releases(args) => commands::releases::releases(args, &cli),
        Command::Explain { rule } => commands::explain::explain(rule.as_deref()),
        Command::Completions { shell } => {
            clap_complete::generate(*shell, &mut Cli::command(), "tagpin", &mut io::stdout());
            Ok(0)
        }
        Command::Man => clap_mangen::Man::new(Cli::command())
            .render(&mut io::stdout())
            .map(|()| 0),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        // A closed pipe (`tagpin check | head`) is the reader's choice, not a failure.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// The version, with the date of the built-in rule data (Kestra's release table).
pub(crate) fn version() -> String {
    let data = RuleData::builtin();
    match data.updated {
        Some(updated) => format!("{} (rule data {updated})", env!("CARGO_PKG_VERSION")),
        None => env!("CARGO_PKG_VERSION").to_string(),
    }
}

pub(crate) fn style(color: Color) -> Style {
    let terminal = io::stdout().is_terminal();
    let color = match color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    };
    Style {
        color,
        unicode: terminal || color,
        quiet: false,
    }
}

pub(crate) fn settings(config_args: &ConfigArgs, overrides: Overrides) -> Result<Settings, u8> {
    let overrides = Overrides {
        rules: config_args.rules.clone(),
        ..overrides
    };
    let path = match (&config_args.config, config_args.no_config) {
        (Some(path), _) => Some(path.clone()),
        (None, true) => None,
        (None, false) => std::env::current_dir().ok().and_then(|dir| {
            let found = config::discover(&dir)?;
            Some(found.strip_prefix(&dir).map(PathBuf::from).unwrap_or(found))
        }),
    };
    Settings::load(path.as_deref(), &overrides).map_err(|errors| {
        let mut err = io::stderr().lock();
        for error in errors.0 {
            let _ = writeln!(err, "{:?}", miette::Report::new(error.escaped()));
        }
        2
    })
}

pub(crate) fn registry_overrides(args: &RegistryArgs) -> Overrides {
    Overrides {
        today: args.today,
        mirrors: args.registry_mirror.clone(),
        pin: args.pin,
        timeout: args.timeout,
        maven_mirror: args.maven_mirror.clone(),
        ..Overrides::default()
    }
}

/// The Maven client for a run: the registry's network settings and cache.
pub(crate) fn maven(settings: &Settings, args: &RegistryArgs) -> io::Result<crate::maven::Maven> {
    crate::maven::Maven::new(
        &settings.maven,
        settings.network.clone(),
        Cache::default_dir().map(|dir| Cache::new(dir, settings.cache_ttl)),
        args.offline,
        args.refresh,
    )
    .map_err(io::Error::other)
}

/// The registry client for a run, with the user's cache and credentials.
pub(crate) fn registry(settings: &Settings, args: &RegistryArgs) -> io::Result<Registry> {
    let options = registry::Options {
        network: settings.network.clone(),
        cache: Cache::default_dir().map(|dir| Cache::new(dir, settings.cache_ttl)),
        offline: args.offline,
        refresh: args.refresh,
    };
    Registry::new(options, Credentials::from_environment()).map_err(io::Error::other)
}

/// Notes from the registry client, and with `--verbose` how many requests it sent; nothing
/// with `--quiet`.
pub(crate) fn registry_notes(
    registry: &Registry,
    cli: &Cli,
    err: &mut dyn Write,
) -> io::Result<()> {
    if cli.quiet {
        return Ok(());
    }
    let verbose = cli.verbose;
    for note in registry.take_notes() {
        writeln!(err, "note: {}", escape::text(&note))?;
    }
    if verbose {
        writeln!(err, "note: {} registry requests", registry.requests())?;
    }
    Ok(())
}

/// Standard output, buffered: findings are written in many small pieces.
pub(crate) fn stdout() -> io::BufWriter<io::StdoutLock<'static>> {
    io::BufWriter::with_capacity(64 * 1024, io::stdout().lock())
}

pub(crate) fn runtime() -> io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
}

/// Load the settings, run over the inputs and print the notes `--verbose` asks for (and,
/// unless `--quiet`, those about files named on the command line); `Err` is the exit code of a
/// configuration that could not be read (already reported).
pub(crate) fn run_inputs(
    inputs: &Inputs,
    overrides: Overrides,
    cli: &Cli,
    keep: Keep,
) -> io::Result<Result<(Settings, Outcome), u8>> {
    let overrides = Overrides {
        exclude: inputs.exclude.clone(),
        force_exclude: inputs.force_exclude,
        follow: inputs.follow,
        ..overrides
    };
    let settings = match settings(&inputs.config, overrides) {
        Ok(settings) => settings,
        Err(code) => return Ok(Err(code)),
    };
    let stdin = crate::run::Stdin {
        name: inputs.stdin_filename.clone(),
    };
    let outcome = crate::run::run_with_stdin(&inputs.paths, &stdin, &settings, keep);
    let mut err = io::stderr().lock();
    let notes = outcome.notes.iter().filter(|_| cli.verbose);
    for note in outcome.notices.iter().filter(|_| !cli.quiet).chain(notes) {
        writeln!(err, "note: {}", escape::text(note))?;
    }
    Ok(Ok((settings, outcome)))
}
