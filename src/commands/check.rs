//! `tagpin check`: findings, pins from the registry, and `--fix` / `--diff`.

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;

use super::{Context, Error, Inputs, Result, Status, stdout};
use crate::check;
use crate::config::Settings;
use crate::escape;
use crate::finding::{Applied, FileError, Finding};
use crate::fix;
use crate::maven::Maven;
use crate::plugin_pins::{self, PluginPins};
use crate::registry::Registry;
use crate::render::{self, Diagnostics, Format, Summary};
use crate::resolve;
use crate::run::{Keep, Outcome};

/// What `check` was asked for besides the settings.
#[derive(Debug, Clone)]
pub struct Options {
    pub inputs: Inputs,
    pub format: Format,
    /// Rewrite files to the recommended pins.
    pub fix: bool,
    /// Also apply fixes that change what runs.
    pub unsafe_fixes: bool,
    /// Show the fixes; write nothing.
    pub diff: bool,
}

pub fn check(ctx: &Context, options: &Options) -> Result<Status> {
    if options.diff
        && !matches!(
            options.format,
            Format::Human | Format::Concise | Format::Json
        )
    {
        return Err(Error::Usage(
            "`--diff` prints a unified diff (`--format human` or `concise`) or the fixes as JSON (`--format json`); it has no `sarif`, `github` or `gitlab` form".into(),
        ));
    }
    if (options.fix || options.diff) && options.inputs.paths.iter().any(|p| p.as_os_str() == "-") {
        return Err(Error::Usage(
            "`--fix` and `--diff` rewrite files, and stdin (`-`) is none: check it without them"
                .into(),
        ));
    }
    let quiet = ctx.output.quiet();
    // Source lines are shown by the human format and SARIF fixes, and rewritten by fixes.
    let keep_sources =
        matches!(options.format, Format::Human | Format::Sarif) || options.fix || options.diff;
    let keep = Keep {
        sources: keep_sources,
        references: false,
    };
    let settings = &ctx.settings;
    let mut outcome = ctx.scan(&options.inputs, keep)?;
    let registry = ctx.registry()?;
    let runtime = ctx.runtime()?;
    let mut recommended = ask_registry(runtime, registry, settings, &mut outcome);
    let maven = ctx.maven()?;
    let plugin_pins = ask_maven(runtime, maven, &mut outcome);
    recommended.notes.extend(plugin_pins.notes.iter().cloned());
    let mut err = io::stderr().lock();
    if !quiet {
        render::write_warnings(&outcome.warnings, &mut err)?;
    }
    ctx.registry_notes(&mut err)?;
    ctx.maven_notes(&mut err)?;
    if !quiet {
        render::write_notes(&recommended.notes, &mut err)?;
    }
    let unpinned = unpinned(&outcome);
    if !quiet && !recommended.notes.is_empty() && unpinned > 0 {
        let s = if unpinned == 1 { " is" } else { "s are" };
        writeln!(
            err,
            "note: {unpinned} finding{s} shown without a pin recommendation"
        )?;
    }
    drop(err);
    if options.fix || options.diff {
        return fix(ctx, options, outcome, (&recommended, &plugin_pins));
    }
    let (mut out, mut err) = (stdout(), io::stderr().lock());
    render::reporter(options.format, ctx.output.style).report(
        &diagnostics(&outcome, None),
        &mut out,
        &mut err,
    )?;
    out.flush()?;
    Ok(Status::of(&outcome, settings.fail_on))
}

/// Ask the registry about the outcome's pins (TP005 to TP009) and give the floating references
/// their pins.
fn ask_registry(
    runtime: &tokio::runtime::Runtime,
    registry: &Registry,
    settings: &Settings,
    outcome: &mut Outcome,
) -> resolve::Recommended {
    let verified = runtime.block_on(resolve::verify_pins(
        registry,
        &settings.data,
        settings.today,
        &outcome.pinned,
    ));
    outcome.add_findings(verified.findings);
    let progress = io::stderr().is_terminal();
    let mut recommended = runtime.block_on(resolve::recommend(
        registry,
        &settings.data,
        settings.pin,
        &mut outcome.findings,
        verified.known,
        progress,
    ));
    recommended.notes.extend(verified.notes);
    recommended.notes.sort();
    recommended.notes.dedup();
    recommended
}

/// Ask Maven for the plugin versions' pins (TP012) and compatibility (TP015); the registry has
/// answered already, so the suppressions that waited on both get their TP014.
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
    findings.extend(check::unused_suppressions(
        &outcome.pinned,
        &outcome.plugins.sites,
    ));
    outcome.add_findings(findings);
    pins
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
    ctx: &Context,
    options: &Options,
    mut outcome: Outcome,
    answers: (&resolve::Recommended, &PluginPins),
) -> Result<Status> {
    let (fixes, errors) = plan(ctx, options, &outcome, answers);
    if options.diff {
        outcome.errors.extend(errors);
        return show(ctx, options, &outcome, &fixes);
    }
    write_and_check(ctx, options, &fixes, errors)
}

/// Every file's fixes, and the files whose fixes could not be verified.
fn plan(
    ctx: &Context,
    options: &Options,
    outcome: &Outcome,
    (recommended, plugin_pins): (&resolve::Recommended, &PluginPins),
) -> (Vec<(PathBuf, fix::FileFix)>, Vec<FileError>) {
    let answers = fix::Answers {
        known: &recommended.known,
        attach: &|f| {
            recommended.attach(f);
            plugin_pins.attach(f);
        },
    };
    let mut fixes = Vec::new();
    let mut errors = Vec::new();
    for (path, file) in &outcome.sources {
        let findings: Vec<&Finding> = outcome
            .findings
            .iter()
            .filter(|f| &f.path == path)
            .collect();
        if !findings
            .iter()
            .any(|f| fix::allowed(f, options.unsafe_fixes))
        {
            continue;
        }
        let kind = outcome.kinds[path];
        let settings = &ctx.settings;
        match fix::fix_file(
            file,
            kind,
            outcome.kustomize_pins_of(path),
            settings,
            &findings,
            &answers,
            options.unsafe_fixes,
        ) {
            Ok(Some(fixed)) => fixes.push((file.path.clone(), fixed)),
            Ok(None) => {}
            Err(error) => errors.push(error),
        }
    }
    (fixes, errors)
}

/// `--diff`: the fixes as a unified diff (or JSON), nothing written; a diff is a change CI
/// should see, so it exits 1 like a finding.
fn show(
    ctx: &Context,
    options: &Options,
    outcome: &Outcome,
    fixes: &[(PathBuf, fix::FileFix)],
) -> Result<Status> {
    let settings = &ctx.settings;
    let (mut out, mut err) = (stdout(), io::stderr().lock());
    if options.format == Format::Json {
        let would = applied(fixes.iter().map(|(_, f)| f));
        let report = diagnostics(outcome, Some(&would));
        render::reporter(options.format, ctx.output.style).report(&report, &mut out, &mut err)?;
    } else {
        for (_, fixed) in fixes {
            // For reading: a control character in a changed line would act on the terminal.
            write!(out, "{}", escape::lines(&fix::diff(fixed)))?;
        }
        render::write_errors(&outcome.errors, &mut err)?;
    }
    if !ctx.output.quiet() {
        let fixed: usize = fixes.iter().map(|(_, f)| f.fixed).sum();
        write!(
            err,
            "{} in {} would be applied",
            plural(fixed, "fix", "es"),
            plural(fixes.len(), "file", "s")
        )?;
        let failing = outcome
            .findings
            .iter()
            .filter(|f| f.severity() >= settings.fail_on)
            .count();
        if failing > 0 {
            let at = settings.fail_on.as_str();
            write!(
                err,
                "; {} at or above {at}",
                plural(failing, "finding", "s")
            )?;
        }
        writeln!(err)?;
    }
    out.flush()?;
    Ok(match Status::of(outcome, settings.fail_on) {
        Status::Clean if !fixes.is_empty() => Status::Findings,
        status => status,
    })
}

/// `--fix`: write the fixes, then check the files again and report what remains.
fn write_and_check(
    ctx: &Context,
    options: &Options,
    fixes: &[(PathBuf, fix::FileFix)],
    mut errors: Vec<FileError>,
) -> Result<Status> {
    let settings = &ctx.settings;
    let mut written = Vec::new();
    for (path, fixed) in fixes {
        match fix::write(path, fixed) {
            Ok(()) => written.push(fixed),
            Err(error) => errors.push(error),
        }
    }
    let keep = Keep {
        sources: true,
        references: false,
    };
    let mut after = crate::run::run(&options.inputs.paths, settings, keep);
    let runtime = ctx.runtime()?;
    let again = ask_registry(runtime, ctx.registry()?, settings, &mut after);
    ask_maven(runtime, ctx.maven()?, &mut after);
    let unfixed = unpinned(&after);
    after.errors.extend(errors);
    let (mut out, mut err) = (stdout(), io::stderr().lock());
    if !ctx.output.quiet() {
        let fixed: usize = written.iter().map(|f| f.fixed).sum();
        writeln!(
            err,
            "Fixed {} in {}",
            plural(fixed, "finding", "s"),
            plural(written.len(), "file", "s")
        )?;
    }
    let done = applied(written.iter().copied());
    let report = diagnostics(&after, Some(&done));
    render::reporter(options.format, ctx.output.style).report(&report, &mut out, &mut err)?;
    out.flush()?;
    if unfixed > 0 && !again.notes.is_empty() {
        // Exit 2 says the fix was not complete; the log says why, even with `-q`.
        let why: Vec<String> = again
            .notes
            .iter()
            .map(|n| escape::text(n).into_owned())
            .collect();
        writeln!(
            err,
            "error: {} got no pin and could not be fixed: {}",
            plural(unfixed, "finding", "s"),
            why.join("; ")
        )?;
        return Ok(Status::Failed);
    }
    Ok(Status::of(&after, settings.fail_on))
}

/// `3 files`, `1 file`.
fn plural(n: usize, word: &str, plural: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { plural })
}

fn applied<'a>(fixes: impl Iterator<Item = &'a fix::FileFix>) -> Vec<Applied> {
    fixes.flat_map(|f| f.applied.iter().cloned()).collect()
}

/// What the renderers see of a run.
fn diagnostics<'a>(outcome: &'a Outcome, fixes: Option<&'a [Applied]>) -> Diagnostics<'a> {
    Diagnostics {
        findings: &outcome.findings,
        errors: &outcome.errors,
        sources: &outcome.sources,
        fixes,
        summary: Summary {
            files: outcome.files,
            references: outcome.reference_count,
        },
    }
}
