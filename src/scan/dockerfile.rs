//! Dockerfiles: the images named by `FROM`, `COPY --from` and `RUN --mount=…,from=…`.
//!
//! Lines are joined as BuildKit joins them (continuations, comments, heredocs), but each piece
//! keeps its offset in the file, and global `ARG` defaults are values with their own offsets, so
//! a tag written in `ARG TAG=latest` is reported there, not in the `FROM` that uses it.

use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::ops::Range;

use super::interpolate::{Syntax, interpolate};
use super::{FileKind, Plugin, Reference, Value};
use crate::source::Span;

/// ARG expansion copies at most four times the file's size plus this (`ARG A=$A$A` doubles).
const SPARE_EXPANSION: usize = 1 << 20;
/// Deeper `${…}` nesting is not expanded: BuildKit files never need it, and it would cost time.
const MAX_NESTING: usize = 16;

pub(super) fn scan(text: &str) -> (Vec<Reference>, Vec<Plugin>) {
    let start = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let mut scanner = Scanner {
        escape: escape_directive(&text[start..]),
        args: HashMap::new(),
        stages: HashSet::new(),
        in_stage: false,
        spent: Cell::new(0),
        budget: text.len().saturating_mul(4).saturating_add(SPARE_EXPANSION),
        out: Vec::new(),
        plugins: Vec::new(),
        image: None,
        stage_images: HashMap::new(),
    };
    let mut current: Option<Line> = None;
    let mut heredocs: Vec<Heredoc> = Vec::new(); // pending, the next one last
    let mut offset = start;
    for raw in text[start..].split_inclusive('\n') {
        let at = offset;
        offset += raw.len();
        let line = raw.strip_suffix('\n').unwrap_or(raw);
        let line = line.strip_suffix('\r').unwrap_or(line);
        if let Some(doc) = heredocs.last() {
            let candidate = if doc.chomp {
                line.trim_start_matches('\t')
            } else {
                line
            };
            if candidate == doc.name {
                heredocs.pop();
            }
            continue;
        }
        let stripped = line.trim_ascii_start();
        if stripped.starts_with('#') || (current.is_some() && stripped.is_empty()) {
            continue;
        }
        // The first line of an instruction loses its indentation; continuation lines keep theirs.
        let (piece, from) = match current {
            Some(_) => (line, at),
            None => (stripped, at + line.len() - stripped.len()),
        };
        let (piece, more) = continued(piece, scanner.escape);
        if current.is_none() && piece.is_empty() && !more {
            continue;
        }
        let mut logical = current.take().unwrap_or_default();
        logical.push(piece, from);
        if more {
            current = Some(logical);
        } else {
            heredocs = scanner.instruction(&logical);
        }
    }
    if let Some(logical) = current {
        scanner.instruction(&logical);
    }
    (scanner.out, scanner.plugins)
}

/// The escape character set by a `# escape=` parser directive at the top of the file.
fn escape_directive(text: &str) -> char {
    let mut escape = '\\';
    for line in text.lines() {
        let Some((key, value)) = directive(line) else {
            break;
        };
        match key.to_ascii_lowercase().as_str() {
            "escape" if value == "`" => escape = '`',
            "escape" if value == "\\" => escape = '\\',
            "escape" | "syntax" | "check" => {}
            _ => break,
        }
    }
    escape
}

/// `# key=value`: a parser directive, if the line is one.
fn directive(line: &str) -> Option<(&str, &str)> {
    let rest = line
        .trim_ascii_start()
        .strip_prefix('#')?
        .trim_ascii_start();
    let key_len = rest
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(rest.len());
    let key = &rest[..key_len];
    let value = rest[key_len..]
        .trim_ascii_start()
        .strip_prefix('=')?
        .trim_ascii();
    (key.starts_with(|c: char| c.is_ascii_alphabetic()) && !value.is_empty())
        .then_some((key, value))
}

/// A line without the escape character that continues it (and blanks after it), and whether it did.
fn continued(line: &str, escape: char) -> (&str, bool) {
    match line.trim_end_matches([' ', '\t']).strip_suffix(escape) {
        Some(piece) => (piece, true),
        None => (line, false),
    }
}

/// An instruction joined from its physical lines.
#[derive(Default)]
struct Line {
    text: String,
    /// Where each physical piece starts in `text`, and its offset in the file.
    pieces: Vec<(usize, usize)>,
}

impl Line {
    fn push(&mut self, piece: &str, at: usize) {
        self.pieces.push((self.text.len(), at));
        self.text.push_str(piece);
    }

    /// The piece holding byte `at` of `text`, and where that piece ends.
    fn piece(&self, at: usize) -> (usize, usize) {
        let i = self.pieces.partition_point(|p| p.0 <= at).saturating_sub(1);
        (i, self.pieces.get(i + 1).map_or(self.text.len(), |p| p.0))
    }

    fn file_offset(&self, at: usize) -> usize {
        let (start, origin) = self.pieces[self.piece(at).0];
        origin + at - start
    }

    /// The file offset of `range` when it lies within one physical line.
    fn origin(&self, range: &Range<usize>) -> Option<usize> {
        let (_, end) = self.piece(range.start);
        (range.end <= end).then(|| self.file_offset(range.start))
    }

    /// The file bytes from the start of `range` to its end, across continuations.
    fn span(&self, range: &Range<usize>) -> Span {
        let start = self.file_offset(range.start);
        if range.is_empty() {
            return start..start;
        }
        start..self.file_offset(range.end - 1) + 1
    }

    /// `range` as written, piece by piece.
    fn value(&self, range: Range<usize>) -> Value {
        let mut value = Value::default();
        let mut at = range.start;
        while at < range.end {
            let (i, end) = self.piece(at);
            let end = end.min(range.end);
            let (start, origin) = self.pieces[i];
            value.push(&self.text[at..end], Some(origin + at - start));
            at = end;
        }
        value
    }
}

struct Heredoc {
    name: String,
    chomp: bool,
}

struct Scanner {
    escape: char,
    /// Global `ARG`s (those before the first `FROM`): their default, `None` without one.
    args: HashMap<String, Option<Value>>,
    /// Stage names so far, lowercase.
    stages: HashSet<String>,
    in_stage: bool,
    spent: Cell<usize>,
    budget: usize,
    out: Vec<Reference>,
    plugins: Vec<Plugin>,
    /// The span of the current stage's base image, and of each named stage's.
    image: Option<Span>,
    stage_images: HashMap<String, Option<Span>>,
}

impl Scanner {
    /// Read one instruction; returns the heredocs whose bodies follow it, the first one last.
    fn instruction(&mut self, line: &Line) -> Vec<Heredoc> {
        let words = words(&line.text, self.escape);
        let Some((keyword, args)) = words.split_first() else {
            return Vec::new();
        };
        let word = |r: &Range<usize>| &line.text[r.clone()];
        let flags = args.iter().take_while(|w| word(w).starts_with("--"));
        match word(keyword).to_ascii_lowercase().as_str() {
            "arg" if !self.in_stage => self.arg(line, args),
            "from" => self.from(line, args),
            "copy" => {
                for w in flags.filter(|w| word(w).starts_with("--from=")) {
                    self.reference(line, w.start + 7..w.end, "COPY --from".into(), true);
                }
            }
            "run" => {
                self.plugins(line);
                for w in flags {
                    let Some(spec) = word(w).strip_prefix("--mount=") else {
                        continue;
                    };
                    let mut at = w.start + 8;
                    for field in spec.split(',') {
                        if let Some((key, _)) = field.split_once('=')
                            && key.eq_ignore_ascii_case("from")
                        {
                            let value = at + key.len() + 1..at + field.len();
                            self.reference(line, value, "RUN --mount from".into(), true);
                        }
                        at += field.len() + 1;
                    }
                }
            }
            _ => {}
        }
        heredocs(words.iter().map(word))
    }

    /// `kestra plugins install group:artifact[:version]…` (shell or exec form), installed into
    /// the stage's image.
    fn plugins(&mut self, line: &Line) {
        let value = line.value(0..line.text.len());
        let fallback = line.span(&(0..line.text.len()));
        self.plugins.extend(super::plugins::install_commands(
            &value,
            FileKind::Dockerfile,
            self.image.as_ref(),
            &fallback,
        ));
    }

    fn arg(&mut self, line: &Line, args: &[Range<usize>]) {
        for w in args {
            let text = &line.text[w.clone()];
            let (name, default) = match text.find('=') {
                Some(eq) => (&text[..eq], self.word(line, w.start + eq + 1..w.end).ok()),
                None => (text, None),
            };
            self.args.insert(name.to_string(), default);
        }
    }

    /// `FROM [--flag…] IMAGE [AS name]`.
    fn from(&mut self, line: &Line, args: &[Range<usize>]) {
        let mut rest = args
            .iter()
            .skip_while(|w| line.text[(*w).clone()].starts_with("--"));
        let Some(image) = rest.next() else { return };
        let stage = match (rest.next(), rest.next()) {
            (Some(a), Some(name)) if line.text[a.clone()].eq_ignore_ascii_case("as") => {
                Some(&line.text[name.clone()])
            }
            _ => None,
        };
        let context = stage.map_or("FROM".into(), |name| format!("FROM (stage {name})"));
        let before = self.out.len();
        self.reference(line, image.clone(), context, false);
        self.image = match self.out.get(before) {
            Some(reference) => Some(reference.span.clone()),
            None => self
                .stage_images
                .get(&line.text[image.clone()].to_ascii_lowercase())
                .cloned()
                .flatten(),
        };
        self.in_stage = true;
        if let Some(name) = stage {
            self.stages.insert(name.to_ascii_lowercase());
            self.stage_images
                .insert(name.to_ascii_lowercase(), self.image.clone());
        }
    }

    /// Emit the image reference at `range`, unless it names `scratch` or a stage.
    fn reference(&mut self, line: &Line, range: Range<usize>, context: String, index_ok: bool) {
        if range.is_empty() {
            return;
        }
        let span = line.span(&range);
        let (value, unresolved) = match self.word(line, range.clone()) {
            Ok(value) => {
                let text = value.text.to_ascii_lowercase();
                let index =
                    index_ok && !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
                if text == "scratch" || index || self.stages.contains(&text) {
                    return;
                }
                (value, None)
            }
            Err(mut variable) => {
                if line.origin(&range).is_none() {
                    variable.span = span.clone();
                }
                (Value::synthetic(&line.text[range]), Some(variable))
            }
        };
        let mut reference = Reference::new(FileKind::Dockerfile, span, value, context);
        reference.unresolved = unresolved;
        self.out.push(reference);
    }

    /// A word as BuildKit evaluates it: surrounding quotes removed, global `ARG`s expanded.
    fn word(&self, line: &Line, range: Range<usize>) -> Result<Value, super::Variable> {
        let (inner, quote) = match line.text[range.clone()].as_bytes() {
            [q @ (b'"' | b'\''), .., last] if last == q => {
                (range.start + 1..range.end - 1, Some(*q))
            }
            _ => (range, None),
        };
        let text = &line.text[inner.clone()];
        let escape = self.escape;
        if quote == Some(b'\'') || !text.contains(['$', escape]) || !nesting_ok(text) {
            return Ok(line.value(inner));
        }
        let lookup = |name: &str| {
            let value = match self.args.get(name) {
                Some(Some(value)) => value.clone(),
                _ => Value::synthetic(platform_arg(name)?),
            };
            self.spent.set(self.spent.get() + value.text.len());
            (self.spent.get() <= self.budget).then_some(value)
        };
        let value = interpolate(
            text,
            line.origin(&inner),
            Syntax::Dockerfile { escape },
            &lookup,
        )?;
        if text.contains(escape) && value.text.contains(escape) {
            let unescaped = unescape(&value.text, escape, quote.is_some());
            return Ok(Value::synthetic(&unescaped));
        }
        Ok(value)
    }
}

/// BuildKit's automatic platform `ARG`s, defined in the global scope for `FROM` without a
/// declaration (<https://docs.docker.com/build/building/variables/#pre-defined-build-arguments>).
/// Their value is the build's platform; a scan takes the common `linux/amd64` so that
/// `FROM base-$TARGETARCH` finds its stage and a floating tag beside them is still flagged.
fn platform_arg(name: &str) -> Option<&'static str> {
    Some(match name {
        "TARGETPLATFORM" | "BUILDPLATFORM" => "linux/amd64",
        "TARGETOS" | "BUILDOS" => "linux",
        "TARGETARCH" | "BUILDARCH" => "amd64",
        "TARGETVARIANT" | "BUILDVARIANT" => "",
        _ => return None,
    })
}

/// Whether every `{` closes and nesting stays shallow, so expansion takes linear time.
fn nesting_ok(text: &str) -> bool {
    let mut depth = 0;
    for b in text.bytes() {
        match b {
            b'{' if depth == MAX_NESTING => return false,
            b'{' => depth += 1,
            b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    depth == 0
}

/// Drop escape characters: before any character, or in double quotes before `"` and itself.
fn unescape(text: &str, escape: char, double_quoted: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match chars.peek() {
            Some(&next) if c == escape && (!double_quoted || next == '"' || next == escape) => {
                out.push(next);
                chars.next();
            }
            _ => out.push(c),
        }
    }
    out
}

/// Whitespace-separated words as ranges of `text`; quotes and the escape character hold
/// whitespace inside a word.
fn words(text: &str, escape: char) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    let escape = escape as u8;
    let space = |b: u8| matches!(b, b' ' | b'\t' | b'\r' | b'\x0b' | b'\x0c');
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if space(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        let mut quote = None;
        while i < bytes.len() && (quote.is_some() || !space(bytes[i])) {
            match (quote, bytes[i]) {
                (Some(q), b) if b == q => quote = None,
                (Some(b'\''), _) => {}
                (_, b) if b == escape => i += 1,
                (None, b @ (b'"' | b'\'')) => quote = Some(b),
                _ => {}
            }
            i += 1;
        }
        out.push(start..i.min(bytes.len()));
    }
    out
}

/// Heredocs opened by an instruction's words (`<<EOF`, `<<-"EOF"`); only `RUN`, `COPY` and `ADD`
/// have them, also after `ONBUILD`.
fn heredocs<'a>(mut words: impl Iterator<Item = &'a str>) -> Vec<Heredoc> {
    let mut keyword = words.next().unwrap_or_default().to_ascii_lowercase();
    if keyword == "onbuild" {
        keyword = words.next().unwrap_or_default().to_ascii_lowercase();
    }
    if !matches!(keyword.as_str(), "run" | "copy" | "add") {
        return Vec::new();
    }
    let mut docs: Vec<Heredoc> = words
        .filter_map(|word| {
            let rest = word
                .trim_start_matches(|c: char| c.is_ascii_digit())
                .strip_prefix("<<")?;
            let (chomp, rest) = rest.strip_prefix('-').map_or((false, rest), |r| (true, r));
            let name = rest.chars().filter(|c| !matches!(c, '"' | '\'')).collect();
            (!rest.is_empty() && !rest.contains('<')).then_some(Heredoc { name, chomp })
        })
        .collect();
    docs.reverse();
    docs
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{images, scan_named};
    use super::*;
    use crate::reference::Image;

    /// Every span lies in `text`, and every tag maps back to bytes that spell it.
    fn check(text: &str) -> Vec<Reference> {
        let (references, plugins) = scan(text);
        for plugin in &plugins {
            assert!(
                text.get(plugin.span.clone()).is_some(),
                "plugin span {:?} in {text:?}",
                plugin.span
            );
        }
        for r in &references {
            assert!(
                text.get(r.span.clone()).is_some(),
                "span {:?} in {text:?}",
                r.span
            );
            if let Some(variable) = &r.unresolved {
                assert!(text.get(variable.span.clone()).is_some());
            }
            let Ok(image) = Image::parse(&r.value.text) else {
                continue;
            };
            let Some(tag) = image.tag_range else { continue };
            if let Some(span) = r.value.span_of(tag.clone()) {
                assert_eq!(&text[span], &r.value.text[tag], "tag of {:?}", r.value.text);
            }
        }
        references
    }

    /// The file bytes that spell the reference's tag.
    fn tag_text<'a>(text: &'a str, r: &Reference) -> &'a str {
        let tag = Image::parse(&r.value.text).unwrap().tag_range.unwrap();
        &text[r.value.span_of(tag).expect("tag is verbatim")]
    }

    fn contexts(references: &[Reference]) -> Vec<&str> {
        references.iter().map(|r| r.context.as_str()).collect()
    }

    #[test]
    fn stages_and_stage_references() {
        let text = "FROM golang:1.22 AS build\nRUN go build\nFROM Build AS test\n\
                    FROM alpine:3.19\nCOPY --from=build /app /app\nCOPY --from=0 /a /a\n\
                    COPY --from=nginx:latest /etc/nginx /etc/nginx\n";
        let references = check(text);
        assert_eq!(
            images(&references),
            ["golang:1.22", "alpine:3.19", "nginx:latest"]
        );
        assert_eq!(
            contexts(&references),
            ["FROM (stage build)", "FROM", "COPY --from"]
        );
        assert_eq!(&text[references[0].span.clone()], "golang:1.22");
        assert_eq!(&text[references[2].span.clone()], "nginx:latest");
        assert_eq!(tag_text(text, &references[2]), "latest");
    }

    #[test]
    fn a_stage_is_known_only_after_it_is_named() {
        let references = check("COPY --from=build /a /a\nFROM build AS build\nFROM build\n");
        assert_eq!(images(&references), ["build", "build"]);
        assert_eq!(contexts(&references), ["COPY --from", "FROM (stage build)"]);
    }

    #[test]
    fn scratch_is_no_image() {
        assert!(check("FROM scratch\nFROM SCRATCH AS x\nCOPY --from=scratch / /\n").is_empty());
    }

    #[test]
    fn flags_before_the_image_are_skipped() {
        let text = "FROM --platform=$BUILDPLATFORM node:20-alpine AS deps\n";
        let references = check(text);
        assert_eq!(images(&references), ["node:20-alpine"]);
        assert_eq!(references[0].span, 31..45);
        assert_eq!(references[0].context, "FROM (stage deps)");
        assert_eq!(references[0].unresolved, None);
    }

    #[test]
    fn keywords_are_case_insensitive() {
        let text = "from alpine:3 as Base\nfRoM base\nArG T=1\n";
        let references = check(text);
        assert_eq!(images(&references), ["alpine:3"]);
        assert_eq!(references[0].context, "FROM (stage Base)");
    }

    #[test]
    fn arg_defaults_are_where_the_tag_is() {
        let text = "ARG TAG=latest\nFROM kestra/kestra:$TAG\n";
        let references = check(text);
        assert_eq!(images(&references), ["kestra/kestra:latest"]);
        assert_eq!(&text[references[0].span.clone()], "kestra/kestra:$TAG");
        let tag = references[0].value.span_of(14..20).unwrap();
        assert_eq!(tag, 8..14);
    }

    #[test]
    fn arg_forms() {
        let text = "ARG A=1.0 B=\"2.0\" C='3.0'\nARG REG=ghcr.io\n\
                    FROM $REG/a:${A}\nFROM b:$B\nFROM c:${C}\n";
        let references = check(text);
        assert_eq!(images(&references), ["ghcr.io/a:1.0", "b:2.0", "c:3.0"]);
        let tags: Vec<_> = references.iter().map(|r| tag_text(text, r)).collect();
        assert_eq!(tags, ["1.0", "2.0", "3.0"]);
        assert_eq!(
            text.find("2.0"),
            references[1].value.span_of(2..5).map(|s| s.start)
        );
    }

    #[test]
    fn defaults_in_the_from_line() {
        let text =
            "ARG TAG\nARG SET=9\nFROM app:${TAG:-1.2}\nFROM app:${SET:-1}\nFROM app:${NONE:-3}\n";
        let references = check(text);
        assert_eq!(images(&references), ["app:1.2", "app:9", "app:3"]);
        assert_eq!(
            references[0].value.span_of(4..7),
            Some(text.find("1.2").unwrap()..text.find("1.2").unwrap() + 3)
        );
        assert_eq!(tag_text(text, &references[1]), "9");
        assert_eq!(references[1].value.span_of(4..5).unwrap().start, 16);
        assert!(references.iter().all(|r| r.unresolved.is_none()));
    }

    #[test]
    fn args_build_on_earlier_args() {
        let text = "ARG V=1.2\nARG IMAGE=\"kestra/kestra:${V}\"\nFROM ${IMAGE}\n";
        let references = check(text);
        assert_eq!(images(&references), ["kestra/kestra:1.2"]);
        assert_eq!(references[0].value.span_of(14..17), Some(6..9));
        assert_eq!(references[0].value.span_of(0..13), Some(21..34));
    }

    #[test]
    fn args_without_default_leave_the_reference_unresolved() {
        let text = "ARG TAG\nFROM kestra/kestra:$TAG AS app\nFROM x:${UNDECLARED}\n";
        let references = check(text);
        assert_eq!(
            images(&references),
            ["kestra/kestra:$TAG", "x:${UNDECLARED}"]
        );
        let variable = references[0].unresolved.as_ref().unwrap();
        assert_eq!(variable.name, "TAG");
        assert_eq!(&text[variable.span.clone()], "$TAG");
        assert_eq!(&text[references[0].span.clone()], "kestra/kestra:$TAG");
        assert_eq!(references[0].value.span_of(0..3), None);
        let variable = references[1].unresolved.as_ref().unwrap();
        assert_eq!(&text[variable.span.clone()], "${UNDECLARED}");
    }

    #[test]
    fn buildkit_platform_args_are_known() {
        let text = "FROM alpine:3.20 AS base-amd64\nFROM base-${TARGETARCH}\n\
FROM --platform=$BUILDPLATFORM golang:latest-$TARGETOS AS build\n";
        let references = check(text);
        assert_eq!(images(&references), ["alpine:3.20", "golang:latest-linux"]);
        assert!(references.iter().all(|r| r.unresolved.is_none()));
    }

    #[test]
    fn only_global_args_reach_from() {
        let text = "ARG T=1\nFROM a:$T\nARG T=2\nARG U=3\nARG T\nFROM b:$T\nFROM c:$U\n";
        let references = check(text);
        assert_eq!(images(&references), ["a:1", "b:1", "c:$U"]);
        assert_eq!(tag_text(text, &references[1]), "1");
        assert_eq!(references[1].value.span_of(2..3), Some(6..7));
        assert_eq!(references[2].unresolved.as_ref().unwrap().name, "U");
    }

    #[test]
    fn stage_names_are_compared_after_expansion() {
        let text =
            "ARG BASE=builder\nFROM alpine:3 AS builder\nFROM ${BASE}\nCOPY --from=$BASE / /\n";
        assert_eq!(images(&check(text)), ["alpine:3"]);
    }

    #[test]
    fn line_continuations() {
        let text = "FROM \\\n  kestra/kestra:latest AS \\\n# a comment\n\n   \n  base\nRUN a \\  \n  b\nFROM c:1\n";
        let references = check(text);
        assert_eq!(images(&references), ["kestra/kestra:latest", "c:1"]);
        assert_eq!(&text[references[0].span.clone()], "kestra/kestra:latest");
        assert_eq!(references[0].context, "FROM (stage base)");
        assert_eq!(tag_text(text, &references[0]), "latest");
    }

    #[test]
    fn an_operand_split_across_lines() {
        let text = "ARG TAG=2\nFROM kestra/\\\n# note\nkestra:1.0\nFROM kes\\\ntra:$TAG\n";
        let references = check(text);
        assert_eq!(images(&references), ["kestra/kestra:1.0", "kestra:2"]);
        assert_eq!(
            &text[references[0].span.clone()],
            "kestra/\\\n# note\nkestra:1.0"
        );
        assert_eq!(tag_text(text, &references[0]), "1.0");
        assert_eq!(references[0].value.span_of(0..7), Some(15..22));
        assert_eq!(tag_text(text, &references[1]), "2");
        let text = "FROM kes\\\ntra:$TAG\n";
        let variable = check(text)[0].unresolved.clone().unwrap();
        assert_eq!(&text[variable.span], "kes\\\ntra:$TAG");
    }

    #[test]
    fn escape_directive() {
        let text = "# syntax=docker/dockerfile:1\n# Escape = `\nFROM `\n  mcr.microsoft.com/windows/servercore:ltsc2022\nRUN dir C:\\\nFROM b:1\n";
        let references = check(text);
        assert_eq!(
            images(&references),
            ["mcr.microsoft.com/windows/servercore:ltsc2022", "b:1"]
        );
        assert_eq!(tag_text(text, &references[0]), "ltsc2022");
        // With the backtick as escape, it continues the line: `b:2` is no operand of its own.
        assert_eq!(
            images(&check("# escape=`\nFROM a:1 `\nFROM b:2\n")),
            ["a:1"]
        );
        assert_eq!(images(&check("#escape=`\nARG T=1\nFROM a:`$T\n")), ["a:$T"]);
    }

    #[test]
    fn directives_only_at_the_top() {
        for text in [
            "# comment\n# escape=`\nFROM a:1 `\nFROM b:2\n",
            "\n# escape=`\nFROM a:1 `\nFROM b:2\n",
            "# unknown=x\n# escape=`\nFROM a:1 `\nFROM b:2\n",
            "FROM a:1 `\n# escape=`\nFROM b:2\n",
        ] {
            assert_eq!(images(&check(text)), ["a:1", "b:2"], "{text:?}");
        }
    }

    #[test]
    fn heredoc_bodies_are_not_instructions() {
        let text = "FROM a:1\nRUN <<EOF\nFROM evil:latest\nEOF\nRUN cat <<-\"EOT\" > x\n\tFROM evil:2\n\tEOT\n\
                    COPY <<A <<'B' /dst/\nFROM evil:3\nA\nFROM evil:4\nB\nFROM b:2\n";
        assert_eq!(images(&check(text)), ["a:1", "b:2"]);
        // `<<EOF` not at a word's start, or in another instruction, opens nothing.
        let text = "FROM a:1\nRUN echo a<<EOF\nFROM b:2\nENV X=<<EOF\nFROM c:3\n";
        assert_eq!(images(&check(text)), ["a:1", "b:2", "c:3"]);
        assert_eq!(
            images(&check("ONBUILD RUN <<EOF\nFROM evil\nEOF\nFROM d:4\n")),
            ["d:4"]
        );
        assert_eq!(
            images(&check("RUN <<EOF\nFROM evil:1\n")),
            Vec::<&str>::new()
        );
    }

    #[test]
    fn run_mount_from() {
        let text = "FROM golang:1 AS build\n\
                    RUN --mount=type=cache,target=/root/.cache --mount=type=bind,FROM=ghcr.io/x/tools:1,source=/bin \\\n    --mount=from=build,target=/b make\n";
        let references = check(text);
        assert_eq!(images(&references), ["golang:1", "ghcr.io/x/tools:1"]);
        assert_eq!(references[1].context, "RUN --mount from");
        assert_eq!(&text[references[1].span.clone()], "ghcr.io/x/tools:1");
    }

    #[test]
    fn copy_from_uses_global_args() {
        let text = "ARG TOOLS=tools:1.0\nFROM a:1\nARG TOOLS=local:2\nCOPY --chown=1 --from=${TOOLS} /t /t\nCOPY --from=\"q:3\" /q /q\n";
        let references = check(text);
        assert_eq!(images(&references), ["a:1", "tools:1.0", "q:3"]);
        assert_eq!(&text[references[1].span.clone()], "${TOOLS}");
        assert_eq!(tag_text(text, &references[1]), "1.0");
        assert_eq!(&text[references[2].span.clone()], "\"q:3\"");
        assert_eq!(tag_text(text, &references[2]), "3");
    }

    #[test]
    fn crlf_line_endings() {
        let text = "# escape=\\\r\nARG TAG=1.0\r\nFROM \\\r\n  app:$TAG AS a\r\nFROM b:2\r\nRUN <<EOF\r\nFROM c\r\nEOF\r\nFROM d\r\n";
        let references = check(text);
        assert_eq!(images(&references), ["app:1.0", "b:2", "d"]);
        assert_eq!(&text[references[0].span.clone()], "app:$TAG");
        assert_eq!(tag_text(text, &references[0]), "1.0");
        assert_eq!(&text[references[1].span.clone()], "b:2");
        assert_eq!(&text[references[2].span.clone()], "d");
    }

    #[test]
    fn comments_and_indentation() {
        let text =
            "\u{feff}# FROM commented:1\n  # FROM indented:2\n\t FROM real:3 # not a comment\n";
        let references = check(text);
        assert_eq!(images(&references), ["real:3"]);
        assert_eq!(&text[references[0].span.clone()], "real:3");
        assert_eq!(images(&scan_named("Dockerfile", text)), ["real:3"]);
    }

    #[test]
    fn quoted_values_with_escapes_are_synthetic() {
        let text = "ARG T=\"1.\\\"0\" U=a\\\\b\nFROM x:$T\nFROM y:$U\nFROM \"z:\\$T\"\n";
        let references = check(text);
        assert_eq!(images(&references), ["x:1.\"0", "y:a\\b", "z:$T"]);
        assert_eq!(references[0].value.span_of(2..6), None);
        assert_eq!(references[1].value.span_of(2..5), None);
    }

    #[test]
    fn odd_input_does_not_panic() {
        for text in [
            "",
            "\n",
            "\r\n",
            "\\",
            "`",
            "FROM",
            "FROM ",
            "FROM \\",
            "FROM --platform=x",
            "FROM a AS",
            "ARG",
            "ARG =",
            "ARG A=",
            "ARG A=\"x",
            "FROM \"a",
            "FROM 'a'",
            "FROM ${",
            "FROM ${A:-${B",
            "FROM $",
            "FROM a\\",
            "# escape=`\nFROM a`",
            "# escape=x\nFROM a",
            "COPY --from=",
            "RUN --mount=from",
            "RUN --mount=from=",
            "RUN <<",
            "RUN <<-",
            "RUN <<\"\"\n\nFROM a",
            "\u{feff}",
            "FROM é:ü\\é",
            "FROM \\é\nFROM a:\\é",
            "ARG A=\\\nFROM x:$A",
            "FROM \r\r\nFROM\ra",
            "\\\n\\\n\\",
            "FROM {{{}}}",
        ] {
            check(text);
        }
        let sample = "# escape=\\\r\nARG T=\"1\"\nFROM --platform=$P a:${T:-x} AS s \\\n # c\n\nRUN --mount=from=b:2 <<-E\n\tx\n\tE\nCOPY --from=s . .\nFROM s\n";
        for end in (0..=sample.len()).filter(|&i| sample.is_char_boundary(i)) {
            check(&sample[..end]);
            check(&sample[end..]);
        }
    }

    #[test]
    fn large_inputs_stay_linear() {
        let long = format!("FROM a:{}\n", "x".repeat(5_000_000));
        assert_eq!(check(&long)[0].value.text.len(), 5_000_002);
        let lines = format!("FROM {}a:1\n", "\\\n".repeat(100_000));
        assert_eq!(images(&check(&lines)), ["a:1"]);
        let words = format!("RUN {}c\nFROM a:1", "b \\\n".repeat(100_000));
        assert_eq!(images(&check(&words)), ["a:1"]);
        let unclosed = format!("FROM a:{}", "${".repeat(1_000_000));
        assert_eq!(check(&unclosed).len(), 1);
        let nested = format!("FROM a:{}1{}", "${A:-".repeat(100_000), "}".repeat(100_000));
        assert_eq!(check(&nested).len(), 1);
        let doubling = format!(
            "ARG A=xy\n{}FROM a:$A\nFROM b:{}",
            "ARG A=$A$A\n".repeat(200),
            "$A".repeat(500_000)
        );
        assert_eq!(check(&doubling).len(), 2);
        let stages: String = (0..50_000)
            .map(|i| format!("FROM a:1 AS s{i}\nCOPY --from=s{i} / /\n"))
            .collect();
        assert_eq!(check(&stages).len(), 50_000);
        let heredocs = format!(
            "RUN {}\nFROM x\n{}FROM a:1",
            "<<E ".repeat(100_000),
            "E\n".repeat(100_000)
        );
        assert_eq!(images(&check(&heredocs)), ["a:1"]);
    }

    #[test]
    fn kestra_plugins_with_floating_versions() {
        let text = "FROM kestra/kestra:v1.3.30\nRUN /app/kestra plugins install \\\n    io.kestra.plugin:plugin-aws:LATEST \\\n    io.kestra.plugin:plugin-gcp:0.24.0 \\\n    io.kestra.plugin:plugin-git && echo done\nRUN [\"/app/kestra\", \"plugins\", \"install\", \"io.kestra.plugin:plugin-jdbc:latest\"]\nRUN echo io.kestra.plugin:plugin-x:LATEST\n";
        let (_, plugins) = scan(text);
        let found: Vec<(&str, Option<&str>, &str)> = plugins
            .iter()
            .map(|p| {
                (
                    p.coordinate.as_str(),
                    p.version.as_deref(),
                    &text[p.span.clone()],
                )
            })
            .collect();
        assert_eq!(
            found,
            [
                (
                    "io.kestra.plugin:plugin-aws:LATEST",
                    Some("LATEST"),
                    "LATEST"
                ),
                (
                    "io.kestra.plugin:plugin-gcp:0.24.0",
                    Some("0.24.0"),
                    "0.24.0"
                ),
                (
                    "io.kestra.plugin:plugin-git",
                    None,
                    "io.kestra.plugin:plugin-git"
                ),
                (
                    "io.kestra.plugin:plugin-jdbc:latest",
                    Some("latest"),
                    "latest"
                ),
            ]
        );
    }
}
