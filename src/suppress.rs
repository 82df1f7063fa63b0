//! Inline suppressions: `# tagpin: ignore` or `# tagpin: ignore[TP002,floating-tag]` on the
//! line of a finding or on the line above (ruff's `noqa`, in the comment syntax of YAML and
//! Dockerfiles). Spaces around the colon and before the list are optional; codes and rule names
//! both work. Each
//! suppression remembers what it suppressed, so that one that suppresses nothing is reported
//! (TP014, ruff's RUF100), and a name that is no rule is a warning naming the comment.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::rules;
use crate::source::FileError;
use crate::source::{SourceFile, Span};

/// The word every suppression holds: a file without it has none.
pub const MARKER: &str = "tagpin";

/// One `tagpin: ignore` comment.
#[derive(Debug)]
struct Suppression {
    /// 0-based line of the comment.
    line: usize,
    /// The directive's bytes, from `tagpin` to the end of the list.
    span: Span,
    /// The directive as written.
    comment: String,
    /// `None` for every rule; otherwise the rules named, each with whether it was used.
    codes: Option<Vec<(&'static str, AtomicBool)>>,
    /// Used flags are set by whichever check finds what a suppression hides: the file's own
    /// rules, or the registry's and Maven's later.
    used: AtomicBool,
    /// Names in the list that are no rule.
    unknown: Vec<String>,
}

/// A suppression that suppressed nothing (all of it, or some of its codes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unused {
    pub span: Span,
    pub message: String,
}

/// The suppressions of one file.
#[derive(Debug, Default)]
pub struct Suppressions {
    all: Vec<Suppression>,
}

impl Suppressions {
    pub fn parse(file: &SourceFile) -> Self {
        let mut all = Vec::new();
        if memchr::memmem::find(file.text.as_bytes(), MARKER.as_bytes()).is_none() {
            return Self { all };
        }
        for line in 0..file.line_count() {
            let text = file.line_text(line);
            let offset = file.line_start(line);
            if let Some((span, list)) = directive(text) {
                let span = offset + span.start..offset + span.end;
                let mut unknown = Vec::new();
                let codes = list.map(|list| {
                    list.split(',')
                        .map(str::trim)
                        .filter(|name| !name.is_empty())
                        .filter_map(|name| {
                            let rule = rules::find(name);
                            if rule.is_none() {
                                unknown.push(name.to_string());
                            }
                            rule.map(|r| (r.code(), AtomicBool::new(false)))
                        })
                        .collect()
                });
                all.push(Suppression {
                    line,
                    comment: file.text[span.clone()].to_string(),
                    span,
                    codes,
                    used: AtomicBool::new(false),
                    unknown,
                });
            }
        }
        Self { all }
    }

    pub fn is_empty(&self) -> bool {
        self.all.is_empty()
    }

    /// Whether a suppression sits on one of the 0-based `lines` or on the line above.
    pub fn any_on(&self, lines: &[usize]) -> bool {
        self.all.iter().any(|s| s.on(lines))
    }

    /// The span of every suppression, in file order.
    pub fn spans(&self) -> impl Iterator<Item = &Span> {
        self.all.iter().map(|s| &s.span)
    }

    /// Whether a finding of `code` on any of the 0-based `lines` is suppressed (by a comment on
    /// one of them or on the line above); the suppressions that cover it count as used.
    pub fn covers(&self, lines: &[usize], code: &str) -> bool {
        let mut covered = false;
        for s in self.all.iter().filter(|s| s.on(lines)) {
            let hit = match &s.codes {
                None => true,
                Some(codes) => codes.iter().fold(false, |hit, (c, used)| {
                    if *c == code {
                        used.store(true, Ordering::Relaxed);
                    }
                    hit || *c == code
                }),
            };
            if hit {
                s.used.store(true, Ordering::Relaxed);
                covered = true;
            }
        }
        covered
    }

    /// The suppressions (or codes of one) that suppressed nothing.
    pub fn unused(&self) -> Vec<Unused> {
        let mut out = Vec::new();
        for s in &self.all {
            let comment = &s.comment;
            let idle: Vec<&str> = match &s.codes {
                None if !s.used.load(Ordering::Relaxed) => {
                    out.push(Unused {
                        span: s.span.clone(),
                        message: format!("`# {comment}` suppresses nothing here"),
                    });
                    continue;
                }
                None => continue,
                Some(codes) => codes
                    .iter()
                    .filter(|(_, used)| !used.load(Ordering::Relaxed))
                    .map(|(code, _)| *code)
                    .collect(),
            };
            if idle.is_empty() {
                continue;
            }
            let list = idle
                .iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", ");
            let verb = if idle.len() == 1 {
                "suppresses"
            } else {
                "suppress"
            };
            out.push(Unused {
                span: s.span.clone(),
                message: format!("{list} in `# {comment}` {verb} nothing here"),
            });
        }
        out
    }

    /// A warning for every name in a list that is no rule.
    pub fn unknown(&self, file: &SourceFile) -> Vec<FileError> {
        self.all
            .iter()
            .flat_map(|s| {
                let comment = &s.comment;
                s.unknown.iter().map(move |name| FileError {
                    path: file.display_path(),
                    line: Some(s.line + 1),
                    column: None,
                    message: format!(
                        "unknown rule `{name}` in `# {comment}` (`tagpin explain` lists the rules)"
                    ),
                })
            })
            .collect()
    }
}

impl Suppression {
    fn on(&self, lines: &[usize]) -> bool {
        lines.iter().any(|&l| self.line == l || self.line + 1 == l)
    }
}

/// The `tagpin: ignore[…]` directive in a line's comment: its byte range in the line and the
/// text of its list, if any.
fn directive(line: &str) -> Option<(Span, Option<&str>)> {
    for (hash, _) in line.match_indices('#') {
        let after = &line[hash + 1..];
        let rest = after.trim_start();
        let at = hash + 1 + (after.len() - rest.len());
        let Some(rest) = rest.strip_prefix(MARKER) else {
            continue;
        };
        let Some(rest) = rest.trim_start().strip_prefix(':') else {
            continue;
        };
        let Some(rest) = rest.trim_start().strip_prefix("ignore") else {
            continue;
        };
        let end = line.len() - rest.len();
        let spaced = rest.trim_start();
        if let Some(list) = spaced.strip_prefix('[')
            && let Some((list, _)) = list.split_once(']')
        {
            let end = line.len() - spaced.len() + list.len() + 2;
            return Some((at..end, Some(list)));
        }
        // `ignore` must end there: `# tagpin: ignored` is prose.
        if rest.starts_with(|c: char| c.is_alphanumeric() || c == '-' || c == '_') {
            continue;
        }
        return Some((at..end, None));
    }
    None
}

/// The 0-based line of the key that opens the YAML block holding `line` (`image:` above
/// `repository:`), if `line` is indented under one: a comment above the block covers its keys.
pub fn block_start(file: &SourceFile, line: usize) -> Option<usize> {
    let indent = |text: &str| text.len() - text.trim_start_matches([' ', '-']).len();
    let own = indent(file.line_text(line));
    let parent = (0..line).rev().find(|&above| {
        let text = file.line_text(above);
        let body = text.trim_start();
        !body.is_empty() && !body.starts_with('#') && indent(text) < own
    })?;
    let body = file.line_text(parent).trim_start();
    let key = body.split(" #").next().unwrap_or(body).trim_end();
    key.ends_with(':').then_some(parent)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> (SourceFile, Suppressions) {
        let file = SourceFile::new("f".into(), text.into());
        let s = Suppressions::parse(&file);
        (file, s)
    }

    #[test]
    fn same_line_line_above_and_code_lists() {
        let (_, s) = parse(
            "\
a: x:latest # tagpin: ignore
# tagpin: ignore[TP002, tp003]
b: x:latest
c: x:latest
d: y # tagpin:ignore[missing-tag]
e: y #tagpin : ignore
",
        );
        assert!(s.covers(&[0], "TP002"));
        assert!(s.covers(&[2], "TP002"));
        assert!(s.covers(&[2], "TP003"));
        assert!(!s.covers(&[2], "TP001"));
        assert!(!s.covers(&[3], "TP002"));
        assert!(s.covers(&[4], "TP001"));
        assert!(!s.covers(&[4], "TP002"));
        assert!(s.covers(&[5], "TP010"));
        assert!(s.covers(&[9, 2], "TP002"), "any of the lines");
        let (_, prose) = parse("# tagpin: ignored, see below\nf: y\n");
        assert!(!prose.covers(&[0, 1], "TP010"), "`ignored` is no directive");
        let (file, spaced) = parse("g: x:stable # tagpin: ignore [TP001]\n");
        assert!(
            !spaced.covers(&[0], "TP002"),
            "a list after a space is still a list"
        );
        assert!(spaced.covers(&[0], "TP001"));
        let span = spaced.all[0].span.clone();
        assert_eq!(&file.text[span], "tagpin: ignore [TP001]");
    }

    #[test]
    fn unused_suppressions_and_codes_are_reported() {
        let text = "\
a: x:latest # tagpin: ignore[TP002,TP003]
b: y:1 # tagpin: ignore

c: z # tagpin: ignore[TP001]
";
        let (_, s) = parse(text);
        assert!(s.covers(&[0], "TP002"));
        assert!(s.covers(&[3], "TP001"));
        let unused = s.unused();
        let messages: Vec<&str> = unused.iter().map(|u| u.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "`TP003` in `# tagpin: ignore[TP002,TP003]` suppresses nothing here",
                "`# tagpin: ignore` suppresses nothing here",
            ]
        );
        assert_eq!(&text[unused[0].span.clone()], "tagpin: ignore[TP002,TP003]");
    }

    #[test]
    fn unknown_names_are_warnings_naming_the_comment() {
        let (file, s) = parse("a: x:latest\r\n# tagpin: ignore[TP02, floating-tag]\r\nb: y\r\n");
        let warnings = s.unknown(&file);
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].line, Some(2));
        assert_eq!(
            warnings[0].message,
            "unknown rule `TP02` in `# tagpin: ignore[TP02, floating-tag]` (`tagpin explain` lists the rules)"
        );
        assert!(s.covers(&[2], "TP002"));
    }

    #[test]
    fn the_block_of_a_key() {
        let file = SourceFile::new(
            "f".into(),
            "# tagpin: ignore\nimage:\n  # about the repository\n  repository: x\n\n  tag: latest # t\ntop: 1\n"
                .into(),
        );
        assert_eq!(block_start(&file, 5), Some(1));
        assert_eq!(block_start(&file, 3), Some(1));
        assert_eq!(block_start(&file, 1), None);
        assert_eq!(block_start(&file, 6), None);
    }
}
