//! Fixes: byte-range edits applied in one pass per file (overlaps skipped), repeated on the
//! result until nothing changes, verified by scanning the new text again, and written
//! atomically. tagpin changes the bytes of a reference and nothing else; a fix that cannot be
//! verified is not written.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use crate::check::check_file;
use crate::config::Settings;
use crate::finding::{Applied, Edit, FileError, Finding, Subject};
use crate::kustomizations::KustomizePins;
use crate::pin::Applicability;
use crate::resolve::Known;
use crate::scan::{self, Kind, Place, Scan};
use crate::source::{SourceFile, Span};

/// Passes over one file before giving up on converging.
const MAX_PASSES: usize = 4;

/// A file's text before and after its fixes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileFix {
    pub path: String,
    pub before: String,
    pub after: String,
    /// Findings fixed.
    pub fixed: usize,
    /// The edits of the first pass, into `before`.
    pub edits: Vec<Edit>,
    /// The findings the fix resolves, in the order they were fixed.
    pub applied: Vec<Applied>,
}

/// Which fixes may be applied.
pub fn allowed(finding: &Finding, unsafe_fixes: bool) -> bool {
    finding
        .fix
        .as_ref()
        .is_some_and(|fix| fix.applicability == Applicability::Safe || unsafe_fixes)
}

/// Apply edits in order of position, skipping any that overlaps one already applied (an
/// identical edit twice counts once). Returns the new text and the edits applied.
pub fn apply(text: &str, edits: &[Edit]) -> (String, Vec<Edit>) {
    let mut sorted: Vec<&Edit> = edits.iter().collect();
    sorted.sort_by_key(|e| (e.span.start, e.span.end));
    let mut out = String::with_capacity(text.len());
    let mut applied: Vec<Edit> = Vec::new();
    let mut at = 0;
    for edit in sorted {
        if let Some(last) = applied.last() {
            if *last == *edit {
                continue;
            }
            if edit.span.start < last.span.end
                || (edit.span.start == last.span.start && last.span.is_empty())
            {
                continue;
            }
        }
        out.push_str(&text[at..edit.span.start]);
        out.push_str(&edit.text);
        at = edit.span.end;
        applied.push(edit.clone());
    }
    out.push_str(&text[at..]);
    (out, applied)
}

/// What the registry and Maven answered, for the findings on a text a fix wrote.
pub struct Answers<'a> {
    /// What the registry said about the pinned tags (the tag rules read it).
    pub known: &'a Known,
    /// Gives a finding found again the pin its answer gave.
    pub attach: &'a dyn Fn(&mut Finding),
}

/// Fix one file: the first pass applies `findings`' fixes; later passes check the new text
/// again with the same `answers`, until no edit is left. The result must scan to the same
/// references, each unchanged or exactly its recommendation.
pub fn fix_file(
    file: &SourceFile,
    kind: Kind,
    kustomize_pins: &KustomizePins,
    settings: &Settings,
    findings: &[&Finding],
    answers: &Answers,
    unsafe_fixes: bool,
) -> Result<Option<FileFix>, FileError> {
    let error = |message: String| FileError {
        path: file.display_path(),
        line: None,
        column: None,
        message,
    };
    let original = rescan(file, kind, kustomize_pins).map_err(|e| error(e.message))?;
    let mut text = file.text.clone();
    let mut becomes: HashMap<Subject, String> = HashMap::new();
    let mut first_edits = None;
    let mut applied_fixes = Vec::new();
    let mut current: Vec<Finding> = findings.iter().map(|f| (*f).clone()).collect();
    for _ in 0..MAX_PASSES {
        let chosen: Vec<&Finding> = current
            .iter()
            .filter(|f| allowed(f, unsafe_fixes))
            .collect();
        let edits: Vec<Edit> = chosen
            .iter()
            .flat_map(|f| f.fix.iter().flat_map(|fix| fix.edits.clone()))
            .collect();
        if edits.is_empty() {
            break;
        }
        let (next, applied) = apply(&text, &edits);
        let first_pass = first_edits.is_none();
        first_edits.get_or_insert_with(|| applied.clone());
        for finding in chosen {
            let edits = &finding
                .fix
                .as_ref()
                .expect("chosen findings have fixes")
                .edits;
            if edits.iter().all(|e| applied.contains(e))
                && let Some(recommendation) = &finding.recommendation
            {
                if let Some(subject) = finding.subject {
                    becomes.insert(subject, recommendation.clone());
                }
                // Later passes see a rewritten text: their positions come from the original.
                let at = match span_of(&original, finding.subject) {
                    Some(span) if !first_pass => file.position(span.start),
                    _ => finding.start,
                };
                applied_fixes.push(Applied {
                    path: file.display_path(),
                    line: at.line,
                    column: at.column,
                    code: finding.rule.code(),
                    old: finding.image.clone(),
                    new: recommendation.clone(),
                });
            }
        }
        if next == text {
            break;
        }
        text = next;
        let rescanned = SourceFile::new(file.path.clone(), text.clone());
        let scanned = rescan(&rescanned, kind, kustomize_pins).map_err(|e| {
            error(format!(
                "a fix would break the file ({}); nothing written",
                e.message
            ))
        })?;
        let (found, pinned) = check_file(&rescanned, &scanned, settings);
        current = found;
        current.extend(pinned.iter().filter_map(|pin| {
            let facts = answers.known.facts(&pin.image);
            pin.tag_finding(&settings.data, settings.today, &facts)
        }));
        current.iter_mut().for_each(answers.attach);
    }
    if text == file.text {
        return Ok(None);
    }
    verify(file, kind, kustomize_pins, &original, &text, &becomes)
        .map_err(|why| error(format!("{why}; nothing written")))?;
    let edits = first_edits.unwrap_or_default();
    Ok(Some(FileFix {
        path: file.display_path(),
        before: file.text.clone(),
        after: text,
        // Per reference: two findings fixed by one edit (TP003 and TP006 on `v1.0`) are one fix.
        fixed: becomes.len(),
        edits,
        applied: applied_fixes,
    }))
}

/// A scan of the file's text as the run scanned it: with its kustomization pins.
fn rescan(
    file: &SourceFile,
    kind: Kind,
    kustomize_pins: &KustomizePins,
) -> Result<Scan, FileError> {
    let mut scanned = scan::scan(file, kind)?;
    kustomize_pins.apply(&mut scanned.references);
    Ok(scanned)
}

/// Where a finding on a subject of a scan is: at a reference's tag (or the whole reference
/// when it has none), at a plugin's version.
fn span_of(scan: &Scan, subject: Option<Subject>) -> Option<Span> {
    match subject? {
        Subject::Reference(i) => scan.references.get(i).map(|r| {
            let tag = r.image.as_ref().ok().and_then(|i| i.tag_range.clone());
            tag.and_then(|range| r.value.span_of(range))
                .unwrap_or_else(|| r.span.clone())
        }),
        Subject::Plugin(i) => scan.plugins.get(i).map(|p| p.span.clone()),
    }
}

/// The fixed text scans to the same references and plugin versions, each unchanged or become
/// its recommendation.
fn verify(
    file: &SourceFile,
    kind: Kind,
    kustomize_pins: &KustomizePins,
    original: &Scan,
    text: &str,
    becomes: &HashMap<Subject, String>,
) -> Result<(), String> {
    let fixed = SourceFile::new(file.path.clone(), text.to_string());
    let scanned = rescan(&fixed, kind, kustomize_pins)
        .map_err(|e| format!("a fix would break the file ({})", e.message))?;
    let counts = |scan: &Scan| (scan.references.len(), scan.plugins.len());
    if counts(&scanned) != counts(original) {
        return Err(format!(
            "a fix would change the number of references and plugins from {:?} to {:?}",
            counts(original),
            counts(&scanned)
        ));
    }
    let references = original.references.iter().zip(&scanned.references);
    for (index, (old, new)) in references.enumerate() {
        let want = becomes.get(&Subject::Reference(index));
        let want = want.unwrap_or(&old.value.text);
        if new.value.text != *want {
            let line = fixed.position(new.span.start).line;
            return Err(format!(
                "line {line}: `{}` would become `{}`, not `{want}`",
                old.value.text, new.value.text
            ));
        }
    }
    for (index, (old, new)) in original.plugins.iter().zip(&scanned.plugins).enumerate() {
        let unchanged = new.coordinate == old.coordinate && new.version == old.version;
        let fine = match becomes.get(&Subject::Plugin(index)) {
            // An install names the whole coordinate; a flow, a default, its version.
            Some(want) => match new.place {
                Place::Install => new.coordinate == *want,
                _ => new.version.as_deref() == Some(want),
            },
            None => unchanged,
        };
        if !fine {
            let line = fixed.position(new.span.start).line;
            return Err(format!(
                "line {line}: plugin `{}` would not become its recommendation",
                old.coordinate
            ));
        }
    }
    Ok(())
}

/// Write a fixed file atomically (a temporary file in the same folder, synced, renamed over
/// it), keeping its permissions, and only if it still holds what was read.
pub fn write(path: &Path, fix: &FileFix) -> Result<(), FileError> {
    let error = |message: String| FileError {
        path: fix.path.clone(),
        line: None,
        column: None,
        message,
    };
    let target = std::fs::canonicalize(path).map_err(|e| error(format!("cannot write: {e}")))?;
    let permissions = std::fs::metadata(&target)
        .map_err(|e| error(format!("cannot write: {e}")))?
        .permissions();
    let on_disk = std::fs::read(&target).map_err(|e| error(format!("cannot write: {e}")))?;
    if on_disk != fix.before.as_bytes() {
        return Err(error(
            "changed since tagpin read it; not overwritten (run again)".into(),
        ));
    }
    let dir = target.parent().unwrap_or(Path::new("."));
    let mut temporary =
        tempfile::NamedTempFile::new_in(dir).map_err(|e| error(format!("cannot write: {e}")))?;
    temporary
        .write_all(fix.after.as_bytes())
        .map_err(|e| error(format!("cannot write: {e}")))?;
    temporary
        .as_file()
        .sync_all()
        .map_err(|e| error(format!("cannot write: {e}")))?;
    std::fs::set_permissions(temporary.path(), permissions)
        .map_err(|e| error(format!("cannot write: {e}")))?;
    temporary
        .persist(&target)
        .map_err(|e| error(format!("cannot write: {}", e.error)))?;
    if let Ok(folder) = std::fs::File::open(dir) {
        let _ = folder.sync_all();
    }
    Ok(())
}

/// A unified diff of one file's fix, with `a/` and `b/` names relative to the working folder
/// (as `git diff` writes them, so that `git apply` and `patch -p1` take it).
pub fn diff(fix: &FileFix) -> String {
    let name = diff_name(
        Path::new(&fix.path),
        std::env::current_dir().ok().as_deref(),
    );
    similar::TextDiff::from_lines(&fix.before, &fix.after)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{name}"), &format!("b/{name}"))
        .to_string()
}

/// A path relative to `cwd` when it lies inside it; an absolute path elsewhere loses its root.
fn diff_name(path: &Path, cwd: Option<&Path>) -> String {
    let relative = cwd
        .and_then(|cwd| path.strip_prefix(cwd).ok())
        .unwrap_or(path);
    let parts: Vec<_> = relative
        .components()
        .filter_map(|c| match c {
            std::path::Component::Normal(part) => Some(part.to_string_lossy()),
            std::path::Component::ParentDir => Some("..".into()),
            _ => None,
        })
        .collect();
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(span: std::ops::Range<usize>, text: &str) -> Edit {
        Edit {
            span,
            text: text.to_string(),
        }
    }

    #[test]
    fn plugin_versions_are_verified_too() {
        let before = "FROM kestra/kestra:v1.3.30\nRUN kestra plugins install io.kestra.plugin:plugin-aws:LATEST\n";
        let file = SourceFile::new("Dockerfile".into(), before.into());
        let kind = Kind::Known(scan::FileKind::Dockerfile);
        let original = scan::scan(&file, kind).unwrap();
        let after = before.replace("LATEST", "1.3.4");
        let want = |version: &str| {
            let coordinate = format!("io.kestra.plugin:plugin-aws:{version}");
            HashMap::from([(Subject::Plugin(0), coordinate)])
        };
        assert_eq!(
            verify(
                &file,
                kind,
                &KustomizePins::default(),
                &original,
                &after,
                &want("1.3.4")
            ),
            Ok(())
        );
        let wrong = verify(
            &file,
            kind,
            &KustomizePins::default(),
            &original,
            &after,
            &want("1.3.5"),
        );
        assert!(
            wrong
                .unwrap_err()
                .contains("plugin `io.kestra.plugin:plugin-aws:LATEST`")
        );
        let unasked = verify(
            &file,
            kind,
            &KustomizePins::default(),
            &original,
            &after,
            &HashMap::new(),
        );
        assert!(unasked.is_err(), "a plugin no fix was for changed");
    }

    #[test]
    fn diff_names_are_relative() {
        let cwd = Path::new("/work/repo");
        let name = |p: &str| diff_name(Path::new(p), Some(cwd));
        assert_eq!(
            name("/work/repo/deploy/compose.yaml"),
            "deploy/compose.yaml"
        );
        assert_eq!(name("/elsewhere/compose.yaml"), "elsewhere/compose.yaml");
        assert_eq!(name("./deploy/./compose.yaml"), "deploy/compose.yaml");
        assert_eq!(name("../other/compose.yaml"), "../other/compose.yaml");
    }

    #[test]
    fn edits_apply_in_order_and_overlaps_are_skipped() {
        let text = "image: a:latest\nimage: b\n";
        let (out, applied) = apply(
            text,
            &[
                edit(24..24, ":1"),
                edit(9..15, "v2"),
                edit(9..15, "v2"),
                edit(10..12, "x"),
            ],
        );
        assert_eq!(out, "image: a:v2\nimage: b:1\n");
        assert_eq!(applied.len(), 2);
    }
}
