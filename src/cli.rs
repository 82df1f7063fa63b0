//! The command line: argument definitions and the dispatch of each command.
//! `main` only calls [`run`]; errors that stop a command are printed here, once.

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

use std::time::Duration;

use serde::Serialize;

use crate::config::{self, Overrides, Settings};
use crate::finding::Finding;
use crate::fix;
use crate::policy;
use crate::reference::Image;
use crate::registry::{self, Cache, Credentials, Registry};
use crate::render::{self, Format, Style};
use crate::resolve::{self, PinStyle};
use crate::rules::data::RuleData;
use crate::rules::{self, Severity};
use crate::run::Outcome;

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
    /// Files or folders to check (folders are walked, respecting .gitignore).
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Skip files and folders matching this gitignore-style glob (repeatable).
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
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
    /// Image references, e.g. `kestra/kestra:latest-lts` or `postgres`.
    #[arg(required = true)]
    pub images: Vec<String>,
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
            .with_ansi(io::stderr().is_terminal())
            .with_target(false)
            .without_time()
            .init();
    }
    let mut style = style(cli.color);
    style.quiet = cli.quiet;
    let result = match &cli.command {
        Command::Check(args) => check(args, &cli, style),
        Command::Images(args) => images(args, &cli),
        Command::Resolve(args) => resolve(args, &cli),
        Command::Releases(args) => releases(args, &cli),
        Command::Explain { rule } => explain(rule.as_deref()),
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
fn version() -> String {
    let data = RuleData::builtin();
    match data.updated {
        Some(updated) => format!("{} (rule data {updated})", env!("CARGO_PKG_VERSION")),
        None => env!("CARGO_PKG_VERSION").to_string(),
    }
}

fn style(color: Color) -> Style {
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

fn settings(config_args: &ConfigArgs, overrides: Overrides) -> Result<Settings, u8> {
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
            let _ = writeln!(err, "{:?}", miette::Report::new(error));
        }
        2
    })
}

fn registry_overrides(args: &RegistryArgs) -> Overrides {
    Overrides {
        today: args.today,
        mirrors: args.registry_mirror.clone(),
        pin: args.pin,
        timeout: args.timeout,
        ..Overrides::default()
    }
}

/// The registry client for a run, with the user's cache and credentials.
fn registry(settings: &Settings, args: &RegistryArgs) -> io::Result<Registry> {
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
fn registry_notes(registry: &Registry, cli: &Cli, err: &mut dyn Write) -> io::Result<()> {
    if cli.quiet {
        return Ok(());
    }
    let verbose = cli.verbose;
    for note in registry.take_notes() {
        writeln!(err, "note: {note}")?;
    }
    if verbose {
        writeln!(err, "note: {} registry requests", registry.requests())?;
    }
    Ok(())
}

fn runtime() -> io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
}

/// Load the settings, run over the inputs and print the notes `--verbose` asks for; `Err` is
/// the exit code of a configuration that could not be read (already reported).
fn run_inputs(
    inputs: &Inputs,
    overrides: Overrides,
    verbose: bool,
) -> io::Result<Result<(Settings, Outcome), u8>> {
    let overrides = Overrides {
        exclude: inputs.exclude.clone(),
        ..overrides
    };
    let settings = match settings(&inputs.config, overrides) {
        Ok(settings) => settings,
        Err(code) => return Ok(Err(code)),
    };
    let outcome = crate::run::run(&inputs.paths, &settings);
    if verbose {
        let mut err = io::stderr().lock();
        for note in &outcome.notes {
            writeln!(err, "note: {note}")?;
        }
    }
    Ok(Ok((settings, outcome)))
}

fn check(args: &CheckArgs, cli: &Cli, style: Style) -> io::Result<u8> {
    let overrides = Overrides {
        select: args.select.clone(),
        ignore: args.ignore.clone(),
        fail_on: args.fail_on,
        ..registry_overrides(&args.registry)
    };
    let (settings, mut outcome) = match run_inputs(&args.inputs, overrides, cli.verbose)? {
        Ok(done) => done,
        Err(code) => return Ok(code),
    };
    let registry = registry(&settings, &args.registry)?;
    let runtime = runtime()?;
    let recommended = ask_registry(&runtime, &registry, &settings, &mut outcome);
    let mut err = io::stderr().lock();
    registry_notes(&registry, cli, &mut err)?;
    for note in recommended.notes.iter().filter(|_| !cli.quiet) {
        writeln!(err, "note: {note}")?;
    }
    let unpinned = unpinned(&outcome);
    if !cli.quiet && !recommended.notes.is_empty() && unpinned > 0 {
        let s = if unpinned == 1 { " is" } else { "s are" };
        writeln!(
            err,
            "note: {unpinned} finding{s} shown without a pin recommendation"
        )?;
    }
    drop(err);
    if args.fix || args.diff {
        return fix(
            args,
            style,
            &settings,
            outcome,
            &recommended,
            &runtime,
            &registry,
        );
    }
    let (mut out, mut err) = (io::stdout().lock(), io::stderr().lock());
    render::reporter(args.format, style).report(&outcome, &mut out, &mut err)?;
    out.flush()?;
    Ok(outcome.exit_code(settings.fail_on))
}

/// Ask the registry about the outcome's digest pins (TP008, TP009) and give the floating
/// references their pins.
fn ask_registry(
    runtime: &tokio::runtime::Runtime,
    registry: &Registry,
    settings: &Settings,
    outcome: &mut Outcome,
) -> resolve::Recommended {
    let (pin_findings, problems) = runtime.block_on(resolve::verify_pins(
        registry,
        &settings.data,
        settings.today,
        &outcome.pinned,
    ));
    outcome.add_findings(pin_findings);
    let progress = io::stderr().is_terminal();
    let mut recommended = runtime.block_on(resolve::recommend(
        registry,
        &settings.data,
        settings.pin,
        &mut outcome.findings,
        progress,
    ));
    recommended.notes.extend(problems);
    recommended.notes.sort();
    recommended.notes.dedup();
    recommended
}

/// Findings a pin would fix that got none (registry unreachable, offline without cache).
fn unpinned(outcome: &Outcome) -> usize {
    outcome
        .findings
        .iter()
        .filter(|f| resolve::is_pinnable(f.rule.code) && f.recommendation.is_none())
        .count()
}

/// `--diff` and `--fix`: plan every file's fixes, then show them or write them and check again.
fn fix(
    args: &CheckArgs,
    style: Style,
    settings: &Settings,
    outcome: Outcome,
    recommended: &resolve::Recommended,
    runtime: &tokio::runtime::Runtime,
    registry: &Registry,
) -> io::Result<u8> {
    let mut fixes = Vec::new();
    let mut errors = Vec::new();
    for (path, file) in &outcome.sources {
        let findings: Vec<&Finding> = outcome
            .findings
            .iter()
            .filter(|f| &f.path == path)
            .collect();
        if !findings.iter().any(|f| fix::allowed(f, args.unsafe_fixes)) {
            continue;
        }
        let kind = outcome.kinds[path];
        match fix::fix_file(
            file,
            kind,
            settings,
            &findings,
            &|f| recommended.attach(f),
            args.unsafe_fixes,
        ) {
            Ok(Some(fixed)) => fixes.push((file.path.clone(), fixed)),
            Ok(None) => {}
            Err(error) => errors.push(error),
        }
    }
    let (mut out, mut err) = (io::stdout().lock(), io::stderr().lock());
    let fixed: usize = fixes.iter().map(|(_, f)| f.fixed).sum();
    let files = |n: usize| format!("{n} file{}", if n == 1 { "" } else { "s" });
    if args.diff {
        for (_, fixed) in &fixes {
            write!(out, "{}", fix::diff(fixed))?;
        }
        for error in &errors {
            writeln!(err, "error: {}: {}", error.path, error.message)?;
        }
        writeln!(
            err,
            "{fixed} fix{} in {} would be applied",
            if fixed == 1 { "" } else { "es" },
            files(fixes.len())
        )?;
        out.flush()?;
        return Ok(if !errors.is_empty() {
            2
        } else if fixes.is_empty() {
            0
        } else {
            1
        });
    }
    let mut written = 0;
    for (path, fixed) in &fixes {
        match fix::write(path, fixed) {
            Ok(()) => written += 1,
            Err(error) => errors.push(error),
        }
    }
    let mut after = crate::run::run(&args.inputs.paths, settings);
    let again = ask_registry(runtime, registry, settings, &mut after);
    let could_not_pin = unpinned(&after) > 0 && !again.notes.is_empty();
    after.errors.extend(errors);
    writeln!(
        err,
        "Fixed {fixed} finding{} in {}",
        if fixed == 1 { "" } else { "s" },
        files(written)
    )?;
    render::reporter(args.format, style).report(&after, &mut out, &mut err)?;
    out.flush()?;
    Ok(if could_not_pin {
        2
    } else {
        after.exit_code(settings.fail_on)
    })
}

fn images(args: &ImagesArgs, cli: &Cli) -> io::Result<u8> {
    let (_, outcome) = match run_inputs(&args.inputs, Overrides::default(), cli.verbose)? {
        Ok(done) => done,
        Err(code) => return Ok(code),
    };
    let (mut out, mut err) = (io::stdout().lock(), io::stderr().lock());
    match args.format {
        ImagesFormat::Human => {
            render::images::table(&outcome, &mut out)?;
            render::write_errors(&outcome, &mut err)?;
        }
        ImagesFormat::Json => render::images::json(&outcome, &mut out)?,
    }
    out.flush()?;
    Ok(if outcome.errors.is_empty() { 0 } else { 2 })
}

fn resolve(args: &ResolveArgs, cli: &Cli) -> io::Result<u8> {
    let settings = match settings(&args.config, registry_overrides(&args.registry)) {
        Ok(settings) => settings,
        Err(code) => return Ok(code),
    };
    let mut images = Vec::new();
    let mut invalid = Vec::new();
    for text in &args.images {
        match Image::parse(text) {
            Ok(image) => images.push(image),
            Err(e) => invalid.push(format!("`{text}` is not a valid image reference: {e}")),
        }
    }
    let registry = registry(&settings, &args.registry)?;
    let answers = runtime()?.block_on(resolve::resolve_all(
        &registry,
        &settings.data,
        &images,
        io::stderr().is_terminal(),
    ));
    let (mut out, mut err) = (io::stdout().lock(), io::stderr().lock());
    registry_notes(&registry, cli, &mut err)?;
    for message in &invalid {
        writeln!(err, "error: {message}")?;
    }
    let rows: Vec<ResolveRow> = args
        .images
        .iter()
        .zip(args.images.iter().map(|t| Image::parse(t).ok()))
        .filter_map(|(text, image)| {
            let image = image?;
            let answer = answers.get(&image.to_string())?;
            Some(ResolveRow {
                image: text.clone(),
                recommendation: answer
                    .as_ref()
                    .ok()
                    .map(|r| resolve::pin(text, &image, r, settings.pin)),
                release: answer.as_ref().ok().and_then(|r| r.release.clone()),
                digest: answer.as_ref().ok().map(|r| r.digest.clone()),
                also: answer.as_ref().map(|r| r.also.clone()).unwrap_or_default(),
                error: answer.as_ref().err().map(|e| e.message.clone()),
            })
        })
        .collect();
    match args.format {
        ImagesFormat::Json => {
            serde_json::to_writer_pretty(
                &mut out,
                &serde_json::json!({"version": 1, "resolutions": rows}),
            )?;
            writeln!(out)?;
        }
        ImagesFormat::Human => {
            let width = rows
                .iter()
                .map(|r| r.image.chars().count())
                .max()
                .unwrap_or(0);
            let pin_width = rows
                .iter()
                .filter_map(|r| r.recommendation.as_ref())
                .map(|p| p.chars().count())
                .max()
                .unwrap_or(0);
            for row in &rows {
                match (&row.recommendation, &row.error) {
                    (Some(pin), _) => {
                        let also = if row.also.is_empty() {
                            String::new()
                        } else {
                            format!("  (also: {})", row.also.join(", "))
                        };
                        let digest = row.digest.as_deref().unwrap_or("");
                        writeln!(
                            out,
                            "{:width$} -> {pin:pin_width$}  {digest}{also}",
                            row.image
                        )?;
                    }
                    (None, error) => writeln!(
                        err,
                        "error: {}: {}",
                        row.image,
                        error.as_deref().unwrap_or("no answer")
                    )?,
                }
            }
        }
    }
    out.flush()?;
    let failed = !invalid.is_empty() || rows.iter().any(|r| r.error.is_some());
    Ok(if failed { 2 } else { 0 })
}

fn releases(args: &ReleasesArgs, cli: &Cli) -> io::Result<u8> {
    let settings = match settings(&args.config, registry_overrides(&args.registry)) {
        Ok(settings) => settings,
        Err(code) => return Ok(code),
    };
    let image = match Image::parse(&args.image) {
        Ok(image) => image,
        Err(e) => {
            eprintln!(
                "error: `{}` is not a valid image reference: {e}",
                args.image
            );
            return Ok(2);
        }
    };
    let Some((rules, releases)) = settings
        .data
        .image_rules(&image)
        .and_then(|r| Some((r, r.releases.as_ref()?)))
    else {
        eprintln!(
            "error: no release data for {}; describe its lines in a rules file (see the README)",
            image.short_name()
        );
        return Ok(2);
    };
    let registry = registry(&settings, &args.registry)?;
    let completed =
        runtime()?.block_on(resolve::completed_table(&registry, &settings.data, &image));
    let from_registry = completed.is_some();
    let table = completed.unwrap_or_else(|| policy::ReleaseTable::new(rules, releases));
    let mut err = io::stderr().lock();
    registry_notes(&registry, cli, &mut err)?;
    if !from_registry && !args.registry.offline {
        writeln!(
            err,
            "note: the registry could not be asked; the table is the rule data's alone"
        )?;
    }
    let today = settings.today;
    let supported = table.supported(today);
    let rows: Vec<serde_json::Value> = table
        .lines
        .iter()
        .map(|l| {
            let status = match table.support(&l.line, today) {
                policy::Support::Supported { .. } if supported.iter().any(|s| s.line == l.line) => {
                    "supported"
                }
                policy::Support::Supported { .. } => "superseded",
                policy::Support::Ended { .. } | policy::Support::Unlisted => "ended",
            };
            let last_day = l.last_day.filter(|d| *d != jiff::civil::Date::MIN);
            serde_json::json!({
                "line": l.line, "kind": l.kind, "released": l.released, "supported_until": last_day,
                "newest": l.newest, "requires": l.requires, "status": status,
            })
        })
        .collect();
    let mut out = io::stdout().lock();
    match args.format {
        ImagesFormat::Json => {
            let document = serde_json::json!({"version": 1, "image": image.short_name(), "today": today, "lines": rows});
            serde_json::to_writer_pretty(&mut out, &document)?;
            writeln!(out)?;
        }
        ImagesFormat::Human => {
            writeln!(out, "{} release lines on {today}", image.short_name())?;
            writeln!(
                out,
                "{:6} {:8} {:11} {:16} {:10} status",
                "line", "kind", "released", "supported until", "newest"
            )?;
            for row in &rows {
                let text = |key: &str| row[key].as_str().unwrap_or("-").to_string();
                let kind = if text("kind") == "lts" {
                    "LTS".to_string()
                } else {
                    text("kind")
                };
                writeln!(
                    out,
                    "{:6} {:8} {:11} {:16} {:10} {}",
                    text("line"),
                    kind,
                    text("released"),
                    text("supported_until"),
                    text("newest"),
                    text("status")
                )?;
            }
        }
    }
    out.flush()?;
    Ok(0)
}

#[derive(Serialize)]
struct ResolveRow {
    image: String,
    recommendation: Option<String>,
    release: Option<String>,
    digest: Option<String>,
    also: Vec<String>,
    error: Option<String>,
}

fn explain(code: Option<&str>) -> io::Result<u8> {
    let mut out = io::stdout().lock();
    let Some(code) = code else {
        for rule in rules::RULES {
            writeln!(
                out,
                "{}  {:20}  {:7}  {}",
                rule.code,
                rule.name,
                rule.severity.as_str(),
                rule.summary
            )?;
        }
        return Ok(0);
    };
    match rules::find(code) {
        Some(rule) => {
            write!(out, "{}", rule.docs)?;
            writeln!(
                out,
                "\nSeverity: {} · needs the registry: {} · fixable: {}",
                rule.severity.as_str(),
                if rule.registry { "yes" } else { "no" },
                if rule.fixable { "yes" } else { "no" }
            )?;
            Ok(0)
        }
        None => {
            eprintln!("error: unknown rule `{code}`; `tagpin explain` lists the rules");
            Ok(2)
        }
    }
}
