//! `.env` beside a compose file: compose reads it for `${VAR}` (it wins over a `${VAR:-…}`
//! default, and loses only to the shell's environment,
//! <https://docs.docker.com/compose/how-tos/environment-variables/variable-interpolation/>).
//! `KESTRA_VERSION=latest` there is the floating tag, so the finding and its fix are at the
//! `.env` line; the compose reference says where its value came from and gives no finding of
//! its own.
//!
//! Syntax as compose reads it (<https://docs.docker.com/compose/how-tos/environment-variables/variable-interpolation/#env-file-syntax>):
//! `VAR=value`, an optional `export `, `#` comments, quoted values, and ` #` starting a comment
//! after an unquoted value.

use std::path::Path;

use super::{Doc, FileKind, Kind, Reference, Value, classify, compose};
use crate::source::{SourceFile, display_path};
use crate::yaml::Stream;

/// The variables of a `.env` text, each with its value as found in the text.
pub(super) fn parse(text: &str) -> Vec<(&str, Value)> {
    let mut out = Vec::new();
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        let start = at;
        at += line.len();
        let body = line.trim_end_matches(['\n', '\r']);
        let trimmed = body.trim_start();
        let offset = start + body.len() - trimmed.len();
        let (trimmed, offset) = match trimmed.strip_prefix("export ") {
            Some(rest) => (
                rest.trim_start(),
                offset + trimmed.len() - rest.trim_start().len(),
            ),
            None => (trimmed, offset),
        };
        if trimmed.starts_with('#') {
            continue;
        }
        let Some((name, raw)) = trimmed.split_once('=') else {
            continue;
        };
        let name = name.trim();
        if name.is_empty() {
            continue;
        }
        let raw_at = offset + trimmed.len() - raw.len();
        let lead = raw.len() - raw.trim_start().len();
        let (raw, raw_at) = (raw.trim_start(), raw_at + lead);
        let value = match raw.chars().next() {
            Some(quote @ ('"' | '\'')) => match raw[1..].find(quote) {
                Some(end) if quote == '\'' || !raw[1..1 + end].contains('\\') => {
                    Value::verbatim(&raw[1..1 + end], raw_at + 1)
                }
                _ => Value::synthetic(raw.trim_matches(quote)),
            },
            _ => {
                let value = raw.find(" #").map_or(raw, |c| &raw[..c]).trim_end();
                Value::verbatim(value, raw_at)
            }
        };
        out.push((name, value));
    }
    out
}

/// The `.env` beside a compose file, as the compose scan sees it.
pub(super) struct Beside {
    /// Its display path.
    pub path: String,
    /// Each variable: name, value (synthetic: its bytes are in another file) and line.
    pub variables: Vec<(String, Value, usize)>,
}

impl Beside {
    pub fn read(compose: &Path) -> Option<Beside> {
        let env = compose.parent()?.join(".env");
        let text = std::fs::read_to_string(&env).ok()?;
        let line = |at: usize| text[..at].matches('\n').count() + 1;
        let variables = parse(&text)
            .into_iter()
            .map(|(name, value)| {
                let at = value.origins().next().map_or(0, |s| s.start);
                (name.to_string(), Value::synthetic(&value.text), line(at))
            })
            .collect();
        Some(Beside {
            path: display_path(&env),
            variables,
        })
    }

    /// The last definition of a variable wins, as in compose.
    pub fn get(&self, name: &str) -> Option<&(String, Value, usize)> {
        self.variables.iter().rev().find(|(n, _, _)| n == name)
    }
}

/// The references of the compose files beside a `.env` that take a value from it, located at
/// the `.env` bytes they take.
pub(super) fn scan(file: &SourceFile, out: &mut Vec<Reference>) {
    let variables = parse(&file.text);
    if variables.is_empty() {
        return;
    }
    let Some(dir) = file.path.parent() else {
        return;
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut composes: Vec<_> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| classify(p) == Some(Kind::Known(FileKind::Compose)) && p.is_file())
        .collect();
    composes.sort();
    for path in composes {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let Ok(stream) = Stream::parse(&text) else {
            continue;
        };
        // `.env` offsets are moved past the compose text, so that after evaluation the pieces
        // from `.env` can be told from the compose file's own.
        let shift = text.len() + 1;
        let lookup = |name: &str| {
            let (_, value) = variables.iter().rev().find(|(n, _)| *n == name)?;
            let mut shifted = Value::default();
            shifted.push(
                &value.text,
                value.span_of(0..value.text.len()).map(|s| s.start + shift),
            );
            if shifted.text.is_empty() {
                return Some(Value::default());
            }
            Some(shifted)
        };
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("compose");
        for document in &stream.documents {
            let doc = Doc {
                stream: &stream,
                text: &text,
            };
            let mut found = Vec::new();
            compose::scan(&doc, document.root, &lookup, &mut found);
            for mut reference in found {
                if reference.unresolved.is_some() {
                    continue;
                }
                let value = reference.value.rebase(|origin| origin.checked_sub(shift));
                let Some(span) = value
                    .origins()
                    .reduce(|a, b| a.start.min(b.start)..a.end.max(b.end))
                else {
                    continue;
                };
                reference.kind = FileKind::Compose;
                reference.span = span;
                reference.set_value(value);
                reference.context = format!("{name}: {}", reference.context);
                reference.from_env = Vec::new();
                out.push(reference);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_syntax() {
        let text = "# c\nA=1\nexport B = two # note\nC=\"kestra/kestra:latest\"\nD='x'\nE=\"a\\nb\"\nbad line\n";
        let vars = parse(text);
        let names: Vec<&str> = vars.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, ["A", "B", "C", "D", "E"]);
        let at = |i: usize| {
            let v: &Value = &vars[i].1;
            v.span_of(0..v.text.len()).map(|s| &text[s])
        };
        assert_eq!(at(0), Some("1"));
        assert_eq!(at(1), Some("two"));
        assert_eq!(at(2), Some("kestra/kestra:latest"));
        assert_eq!(at(3), Some("x"));
        assert_eq!(at(4), None);
    }
}
