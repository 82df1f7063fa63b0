//! The argument definitions (clap derives live here and nowhere else). Each value enum maps to
//! a plain domain type (`PinStyle`, `Severity`, `Format`) that the layers below use.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::units;
use crate::config::validate::url_problem;
use crate::pin::PinStyle;
use crate::render::{Format, ListFormat};
use crate::rules::Severity;

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
    #[arg(long, value_name = "HOST=URL", value_parser = Unrepeated(parse_mirror))]
    pub registry_mirror: Vec<(String, String)>,
    /// What a pin writes [default: version].
    #[arg(long, value_enum)]
    pub pin: Option<PinArg>,
    /// Judge support windows as of this day (YYYY-MM-DD) instead of today.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub today: Option<jiff::civil::Date>,
    /// Time limit for one registry request, e.g. `20s` [default: 20s].
    #[arg(long, value_name = "DURATION", value_parser = parse_timeout)]
    pub timeout: Option<Duration>,
    /// Look Kestra plugin versions up in this Maven repository (a Nexus or Artifactory proxy)
    /// instead of the configured ones.
    #[arg(long, value_name = "URL", value_parser = Unrepeated(parse_url))]
    pub maven_mirror: Option<String>,
}

/// A parser for a value that may hold a password (a URL's user info): where clap's error would
/// repeat a value it turns down, this one says what is wrong without it, as a config file's
/// errors do.
#[derive(Clone)]
struct Unrepeated<T>(fn(&str) -> Result<T, String>);

impl<T: Clone + Send + Sync + 'static> clap::builder::TypedValueParser for Unrepeated<T> {
    type Value = T;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<T, clap::Error> {
        let problem = match value.to_str().map(self.0) {
            Some(Ok(parsed)) => return Ok(parsed),
            Some(Err(problem)) => problem,
            None => "is not UTF-8".to_string(),
        };
        let name = arg.map(ToString::to_string).unwrap_or_default();
        let message = format!(
            "invalid value for '{name}': {problem}\n\nFor more information, try '--help'.\n"
        );
        Err(clap::Error::raw(clap::error::ErrorKind::ValueValidation, message).with_cmd(cmd))
    }
}

fn parse_url(text: &str) -> Result<String, String> {
    match url_problem(text) {
        None => Ok(text.to_string()),
        Some(problem) => Err(format!("the URL {problem}")),
    }
}

fn parse_mirror(text: &str) -> Result<(String, String), String> {
    let (host, url) = text
        .split_once('=')
        .filter(|(host, _)| !host.trim().is_empty())
        .ok_or("expected HOST=URL, e.g. docker.io=https://mirror.example.com")?;
    if let Some(problem) = url_problem(url) {
        return Err(format!("the mirror URL {problem}"));
    }
    Ok((host.to_string(), url.to_string()))
}

fn parse_timeout(text: &str) -> Result<Duration, String> {
    match units::parse_duration(text) {
        Some(Duration::ZERO) => Err("a timeout of 0 fails every request; give e.g. `20s`".into()),
        Some(duration) => Ok(duration),
        None => Err(format!("`{text}` is not a duration such as `20s` or `1m`")),
    }
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub inputs: Inputs,
    #[arg(long, value_enum, default_value_t = FormatArg::Human)]
    pub format: FormatArg,
    /// Only these rules (codes or names, comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "CODE")]
    pub select: Vec<String>,
    /// Not these rules (codes or names, comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "CODE")]
    pub ignore: Vec<String>,
    /// Exit 1 when a finding is at least this severe [default: error].
    #[arg(long, value_enum)]
    pub fail_on: Option<SeverityArg>,
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
    #[arg(long, value_enum, default_value_t = ListFormatArg::Human)]
    pub format: ListFormatArg,
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
    #[arg(long, value_enum, default_value_t = ListFormatArg::Human)]
    pub format: ListFormatArg,
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Args)]
pub struct ImagesArgs {
    #[command(flatten)]
    pub inputs: Inputs,
    #[arg(long, value_enum, default_value_t = ListFormatArg::Human)]
    pub format: ListFormatArg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormatArg {
    Human,
    Json,
}

impl From<ListFormatArg> for ListFormat {
    fn from(arg: ListFormatArg) -> ListFormat {
        match arg {
            ListFormatArg::Human => ListFormat::Human,
            ListFormatArg::Json => ListFormat::Json,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Human,
    Concise,
    Json,
    Sarif,
    Github,
    /// GitLab Code Quality.
    Gitlab,
}

impl From<FormatArg> for Format {
    fn from(arg: FormatArg) -> Format {
        match arg {
            FormatArg::Human => Format::Human,
            FormatArg::Concise => Format::Concise,
            FormatArg::Json => Format::Json,
            FormatArg::Sarif => Format::Sarif,
            FormatArg::Github => Format::Github,
            FormatArg::Gitlab => Format::Gitlab,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SeverityArg {
    Info,
    Warning,
    Error,
}

impl From<SeverityArg> for Severity {
    fn from(arg: SeverityArg) -> Severity {
        match arg {
            SeverityArg::Info => Severity::Info,
            SeverityArg::Warning => Severity::Warning,
            SeverityArg::Error => Severity::Error,
        }
    }
}

/// What a pin writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PinArg {
    /// The release tag: `kestra/kestra:v2.0.5` (what Kestra recommends).
    Version,
    /// The tag and the digest it has now: `kestra/kestra:latest@sha256:…`.
    Digest,
    /// Both: `kestra/kestra:v2.0.5@sha256:…`.
    #[value(name = "version+digest")]
    VersionDigest,
}

impl From<PinArg> for PinStyle {
    fn from(arg: PinArg) -> PinStyle {
        match arg {
            PinArg::Version => PinStyle::Version,
            PinArg::Digest => PinStyle::Digest,
            PinArg::VersionDigest => PinStyle::VersionDigest,
        }
    }
}
