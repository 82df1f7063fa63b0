//! The command line: argument definitions and the dispatch of each command.
//! `main` only calls [`run`]; errors that stop a command are printed here, once.

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::{self, Overrides, Settings};
use crate::render::{self, Format, Style};
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
    /// Print notes (files skipped on purpose) to stderr.
    #[arg(short, long, global = true)]
    pub verbose: bool,
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
    /// Show a rule's documentation, or list the rules.
    Explain {
        /// A rule code (`TP002`) or name (`floating-tag`).
        rule: Option<String>,
    },
}

/// Options shared by the commands that read files.
#[derive(Debug, Args)]
pub struct Inputs {
    /// Files or folders to check (folders are walked, respecting .gitignore).
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Config file (default: `.tagpin.yaml` in the working folder or a parent).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Ignore every config file.
    #[arg(long, conflicts_with = "config")]
    pub no_config: bool,
    /// Extra rule data (added to the built-in rules).
    #[arg(long, value_name = "FILE")]
    pub rules: Vec<PathBuf>,
    /// Skip files and folders matching this gitignore-style glob (repeatable).
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
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
    let cli = Cli::parse();
    let style = style(cli.color);
    let result = match &cli.command {
        Command::Check(args) => check(args, &cli, style),
        Command::Images(args) => images(args, &cli),
        Command::Explain { rule } => explain(rule.as_deref()),
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
    }
}

fn settings(inputs: &Inputs, overrides: Overrides) -> Result<Settings, u8> {
    let overrides = Overrides {
        exclude: inputs.exclude.clone(),
        rules: inputs.rules.clone(),
        ..overrides
    };
    let path = match (&inputs.config, inputs.no_config) {
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

/// Load the settings, run over the inputs and print the notes `--verbose` asks for; `Err` is
/// the exit code of a configuration that could not be read (already reported).
fn run_inputs(
    inputs: &Inputs,
    overrides: Overrides,
    verbose: bool,
) -> io::Result<Result<(Settings, Outcome), u8>> {
    let settings = match settings(inputs, overrides) {
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
        ..Overrides::default()
    };
    let (settings, outcome) = match run_inputs(&args.inputs, overrides, cli.verbose)? {
        Ok(done) => done,
        Err(code) => return Ok(code),
    };
    let (mut out, mut err) = (io::stdout().lock(), io::stderr().lock());
    render::reporter(args.format, style).report(&outcome, &mut out, &mut err)?;
    out.flush()?;
    Ok(outcome.exit_code(settings.fail_on))
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
