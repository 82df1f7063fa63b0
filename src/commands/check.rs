//! `tagpin check`: findings, pins from the registry, and `--fix` / `--diff`.

use std::io::{self, IsTerminal, Write};

use clap::CommandFactory;

use crate::cli::{
    CheckArgs, Cli, maven, registry, registry_notes, registry_overrides, run_inputs, runtime,
    stdout,
};
use crate::config::{Overrides, Settings};
use crate::finding::Finding;
use crate::fix;
use crate::maven::Maven;
use crate::plugin_pins::{self, PluginPins};
use crate::registry::Registry;
use crate::render::{self, Format, Style};
use crate::resolve;
use crate::run::{Keep, Outcome};

pub fn check(args: &CheckArgs, cli: &Cli, style: Style) -> io::Result<u8> {
    if args.diff && !matches!(args.format, Format::Human | Format::Concise | Format::Json) {
        return usage_error(
            "`--diff` prints a unified diff (`--format human` or `concise`) or the fixes as JSON (`--format json`); it has no `sarif`, `github` or `gitlab` form",
        );
    }
    if (args.fix || args.diff) && args.inputs.paths.iter().any(|p| p.as_os_str() == "-") {
        return usage_error(
            "`--fix` and `--diff` rewrite files, and stdin (`-`) is none: check it without them",
        );
    }
    let overrides = Overrides {
        select: args.select.clone(),
        ignore: args.ignore.clone(),
        fail_on: args.fail_on,
        ..registry_overrides(&args.registry)
    };
    // Source lines are shown by the human format and SARIF fixes, and rewritten by fixes.
    let keep_sources =
        matches!(args.format, Format::Human | Format::Sarif) || args.fix || args.diff;
    let keep = Keep {
        sources: keep_sources,
        references: false,
    };
    let (settings, mut outcome) = match run_inputs(&args.inputs, overrides, cli, keep)? {
        Ok(done) => done,
        Err(code) => return Ok(code),
    };
    let registry = registry(&settings, &args.registry)?;
    let runtime = runtime()?;
    let mut recommended = ask_registry(&runtime, &registry, &settings, &mut outcome);
    let maven = maven(&settings, &args.registry)?;
    let plugin_pins = ask_maven(&runtime, &maven, &mut outcome);
    recommended.notes.extend(plugin_pins.notes.iter().cloned());
    let mut err = io::stderr().lock();
    for warning in outcome.warnings.iter().filter(|_| !cli.quiet) {
        let line = warning.line.map(|l| format!(":{l}")).unwrap_or_default();
        writeln!(err, "warning: {}{line}: {}", warning.path, warning.message)?;
    }
    registry_notes(&registry, cli, &mut err)?;
    maven_notes(&maven, cli, &mut err)?;
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
            (&recommended, &plugin_pins),
            &runtime,
            (&registry, &maven),
        );
    }
    let (mut out, mut err) = (stdout(), io::stderr().lock());
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

/// Ask Maven for the plugin versions' pins (TP012) and compatibility (TP015).
fn ask_maven(
    runtime: &tokio::runtime::Runtime,
    maven: &Maven,
    outcome: &mut Outcome,
) -> PluginPins {
    let mut findings = std::mem::take(&mut outcome.findings);
    let pins = runtime.block_on(plugin_pins::pin_plugins(
        maven,
        &mut findings,
        &outcome.plugins,
    ));
    outcome.findings = Vec::new();
    outcome.add_findings(findings);
    pins
}

fn maven_notes(maven: &Maven, cli: &Cli, err: &mut dyn Write) -> io::Result<()> {
    if cli.quiet {
        return Ok(());
    }
    for note in maven.take_notes() {
        writeln!(err, "note: {note}")?;
    }
    if cli.verbose {
        writeln!(err, "note: {} Maven requests", maven.requests())?;
    }
    Ok(())
}

/// Findings a pin would fix that got none (registry unreachable, offline without cache).
fn unpinned(outcome: &Outcome) -> usize {
    outcome
        .findings
        .iter()
        .filter(|f| f.rule.pinned_by_registry_answer() && f.recommendation.is_none())
        .count()
}

/// `--diff` and `--fix`: plan every file's fixes, then show them or write them and check again.
fn fix(
    args: &CheckArgs,
    style: Style,
    settings: &Settings,
    mut outcome: Outcome,
    (recommended, plugin_pins): (&resolve::Recommended, &PluginPins),
    runtime: &tokio::runtime::Runtime,
    (registry, maven): (&Registry, &Maven),
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
            &|f| {
                recommended.attach(f);
                plugin_pins.attach(f);
            },
            args.unsafe_fixes,
        ) {
            Ok(Some(fixed)) => fixes.push((file.path.clone(), fixed)),
            Ok(None) => {}
            Err(error) => errors.push(error),
        }
    }
    let (mut out, mut err) = (stdout(), io::stderr().lock());
    let fixed: usize = fixes.iter().map(|(_, f)| f.fixed).sum();
    let plural = |n: usize, word: &str, plural: &str| {
        format!("{n} {word}{}", if n == 1 { "" } else { plural })
    };
    if args.diff {
        outcome.errors.extend(errors);
        if args.format == Format::Json {
            outcome.fixes = Some(applied(fixes.iter().map(|(_, f)| f)));
            render::reporter(args.format, style).report(&outcome, &mut out, &mut err)?;
        } else {
            for (_, fixed) in &fixes {
                write!(out, "{}", fix::diff(fixed))?;
            }
            render::write_errors(&outcome, &mut err)?;
        }
        let failing = outcome
            .findings
            .iter()
            .filter(|f| f.severity() >= settings.fail_on)
            .count();
        write!(
            err,
            "{} in {} would be applied",
            plural(fixed, "fix", "es"),
            plural(fixes.len(), "file", "s")
        )?;
        if failing > 0 {
            let at = settings.fail_on.as_str();
            write!(
                err,
                "; {} at or above {at}",
                plural(failing, "finding", "s")
            )?;
        }
        writeln!(err)?;
        out.flush()?;
        // Nothing is written: every finding remains, and a diff is a change CI should see.
        let code = outcome.exit_code(settings.fail_on);
        return Ok(if fixes.is_empty() { code } else { code.max(1) });
    }
    let mut written = Vec::new();
    for (path, fixed) in &fixes {
        match fix::write(path, fixed) {
            Ok(()) => written.push(fixed),
            Err(error) => errors.push(error),
        }
    }
    let mut after = crate::run::run(
        &args.inputs.paths,
        settings,
        Keep {
            sources: true,
            references: false,
        },
    );
    let again = ask_registry(runtime, registry, settings, &mut after);
    ask_maven(runtime, maven, &mut after);
    let could_not_pin = unpinned(&after) > 0 && !again.notes.is_empty();
    after.errors.extend(errors);
    after.fixes = Some(applied(written.iter().copied()));
    let fixed: usize = written.iter().map(|f| f.fixed).sum();
    writeln!(
        err,
        "Fixed {} in {}",
        plural(fixed, "finding", "s"),
        plural(written.len(), "file", "s")
    )?;
    render::reporter(args.format, style).report(&after, &mut out, &mut err)?;
    out.flush()?;
    Ok(if could_not_pin {
        2
    } else {
        after.exit_code(settings.fail_on)
    })
}

fn applied<'a>(fixes: impl Iterator<Item = &'a fix::FileFix>) -> Vec<fix::Applied> {
    fixes.flat_map(|f| f.applied.iter().cloned()).collect()
}

/// An argument error in clap's words, exit 2.
fn usage_error(message: &str) -> io::Result<u8> {
    let mut command = Cli::command();
    command.build();
    command
        .find_subcommand_mut("check")
        .expect("`check` is a subcommand")
        .error(clap::error::ErrorKind::ArgumentConflict, message)
        .print()?;
    Ok(2)
}
