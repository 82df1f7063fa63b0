//! The command line. [`args`] holds the clap definitions; this module turns them into the plain
//! data the layers below take (settings overrides, command options), builds the
//! [`Context`] once, runs the command, and maps what it returns to the exit code in one place
//! ([`exit_code`], as ripgrep's `main.rs` does). Nothing below `cli` imports clap.

pub mod args;

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

use crate::commands::{self, Access, Context, Error, Inputs, Output, Status};
use crate::config::{self, Overrides, Settings};
use crate::escape;
use crate::render::Style;
use crate::rules::data::RuleData;
use args::{Cli, Color, Command, ConfigArgs, RegistryArgs};

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
    let result = dispatch(&cli);
    exit_code(subcommand_name(&cli.command), result)
}

/// Run the command the arguments name.
fn dispatch(cli: &Cli) -> commands::Result<Status> {
    let output = Output {
        style: style(cli.color, cli.quiet),
        verbose: cli.verbose,
    };
    match &cli.command {
        Command::Check(args) => {
            let overrides = Overrides {
                select: args.select.clone(),
                ignore: args.ignore.clone(),
                fail_on: args.fail_on.map(Into::into),
                ..inputs_overrides(&args.inputs, registry_overrides(&args.registry))
            };
            let ctx = context(&args.inputs.config, overrides, output, &args.registry)?;
            let options = commands::check::Options {
                inputs: inputs(&args.inputs),
                format: args.format.into(),
                fix: args.fix,
                unsafe_fixes: args.unsafe_fixes,
                diff: args.diff,
            };
            commands::check::check(&ctx, &options)
        }
        Command::Images(args) => {
            let overrides = inputs_overrides(&args.inputs, Overrides::default());
            let settings = settings(&args.inputs.config, overrides)?;
            let ctx = Context::new(settings, output, Access::default());
            commands::images::images(&ctx, &inputs(&args.inputs), args.format.into())
        }
        Command::Resolve(args) => {
            let overrides = registry_overrides(&args.registry);
            let ctx = context(&args.config, overrides, output, &args.registry)?;
            let options = commands::resolve::Options {
                items: args.images.clone(),
                kestra: args.kestra.clone(),
                format: args.format.into(),
            };
            commands::resolve::resolve(&ctx, &options)
        }
        Command::Releases(args) => {
            let overrides = registry_overrides(&args.registry);
            let ctx = context(&args.config, overrides, output, &args.registry)?;
            commands::releases::releases(&ctx, &args.image, args.format.into())
        }
        Command::Explain { rule } => commands::explain::explain(rule.as_deref()),
        Command::Completions { shell } => {
            clap_complete::generate(*shell, &mut Cli::command(), "tagpin", &mut io::stdout());
            Ok(Status::Clean)
        }
        Command::Man => {
            clap_mangen::Man::new(Cli::command()).render(&mut io::stdout())?;
            Ok(Status::Clean)
        }
    }
}

/// The one place a command's end becomes an exit code: 0 clean, 1 findings, 2 anything that
/// kept tagpin from checking (reported here unless the command already did).
fn exit_code(subcommand: &str, result: commands::Result<Status>) -> ExitCode {
    match result {
        Ok(Status::Clean) => ExitCode::SUCCESS,
        Ok(Status::Findings) => ExitCode::from(1),
        Ok(Status::Failed) => ExitCode::from(2),
        // A closed pipe (`tagpin check | head`) is the reader's choice, not a failure.
        Err(Error::Io(e)) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(Error::Usage(message)) => {
            let mut command = Cli::command();
            command.build();
            let error = match command.find_subcommand_mut(subcommand) {
                Some(sub) => sub.error(clap::error::ErrorKind::ArgumentConflict, message),
                None => command.error(clap::error::ErrorKind::ArgumentConflict, message),
            };
            let _ = error.print();
            ExitCode::from(2)
        }
        Err(Error::Config(errors)) => {
            let mut err = io::stderr().lock();
            for error in errors.0 {
                let _ = writeln!(err, "{:?}", miette::Report::new(error.escaped()));
            }
            ExitCode::from(2)
        }
        Err(e @ (Error::Io(_) | Error::Input(_))) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn subcommand_name(command: &Command) -> &'static str {
    match command {
        Command::Check(_) => "check",
        Command::Images(_) => "images",
        Command::Resolve(_) => "resolve",
        Command::Releases(_) => "releases",
        Command::Explain { .. } => "explain",
        Command::Completions { .. } => "completions",
        Command::Man => "man",
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

fn style(color: Color, quiet: bool) -> Style {
    let terminal = io::stdout().is_terminal();
    let color = match color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    };
    Style {
        color,
        unicode: terminal || color,
        quiet,
    }
}

fn context(
    config_args: &ConfigArgs,
    overrides: Overrides,
    output: Output,
    registry: &RegistryArgs,
) -> commands::Result<Context> {
    let access = Access {
        offline: registry.offline,
        refresh: registry.refresh,
    };
    Ok(Context::new(
        settings(config_args, overrides)?,
        output,
        access,
    ))
}

/// The settings from the config file that applies (`--config`, or the nearest `.tagpin.yaml`)
/// and the command line.
fn settings(config_args: &ConfigArgs, overrides: Overrides) -> commands::Result<Settings> {
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
    Ok(Settings::load(path.as_deref(), &overrides)?)
}

fn registry_overrides(args: &RegistryArgs) -> Overrides {
    Overrides {
        today: args.today,
        mirrors: args.registry_mirror.clone(),
        pin: args.pin.map(Into::into),
        timeout: args.timeout,
        maven_mirror: args.maven_mirror.clone(),
        ..Overrides::default()
    }
}

fn inputs_overrides(inputs: &args::Inputs, overrides: Overrides) -> Overrides {
    Overrides {
        exclude: inputs.exclude.clone(),
        force_exclude: inputs.force_exclude,
        follow: inputs.follow,
        ..overrides
    }
}

fn inputs(inputs: &args::Inputs) -> Inputs {
    Inputs {
        paths: inputs.paths.clone(),
        stdin_filename: inputs.stdin_filename.clone(),
    }
}
