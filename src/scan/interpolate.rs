//! Variable interpolation as compose and Dockerfiles do it, evaluated without an environment.
//!
//! tagpin checks what a file says, not what one shell had exported: `${VAR:-default}` is taken
//! at its default (that is what runs wherever `VAR` is unset), and a variable with no default
//! leaves the reference unresolved (TP011).

use super::{Value, Variable};
use crate::source::Span;

/// Which language's rules apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// Compose: `$$` is a literal `$`.
    Compose,
    /// Dockerfile: the escape character before `$` makes it literal.
    Dockerfile { escape: char },
}

/// Evaluate `text` (found in the file at `at` when verbatim). `lookup` gives the value a name
/// has where the file itself defines it (a Dockerfile `ARG` default).
pub fn interpolate(
    text: &str,
    at: Option<usize>,
    syntax: Syntax,
    lookup: &dyn Fn(&str) -> Option<Value>,
) -> Result<Value, Variable> {
    let origin = |i: usize| at.map(|a| a + i);
    let mut out = Value::default();
    let mut literal_start = 0;
    let mut i = 0;
    let bytes = text.as_bytes();
    while i < text.len() {
        let escaped_dollar = match syntax {
            Syntax::Compose => text[i..].starts_with("$$"),
            Syntax::Dockerfile { escape } => {
                text[i..].starts_with(escape) && text[i + escape.len_utf8()..].starts_with('$')
            }
        };
        if escaped_dollar {
            out.push(&text[literal_start..i], origin(literal_start));
            out.push("$", None);
            i += match syntax {
                Syntax::Compose => 2,
                Syntax::Dockerfile { escape } => escape.len_utf8() + 1,
            };
            literal_start = i;
            continue;
        }
        if bytes[i] != b'$' {
            i += text[i..].chars().next().map_or(1, char::len_utf8);
            continue;
        }
        let Some((expression, end)) = expression_at(text, i) else {
            i += 1;
            continue;
        };
        out.push(&text[literal_start..i], origin(literal_start));
        let span = match at {
            Some(a) => a + i..a + end,
            None => 0..0,
        };
        let inner_at = expression.word_at.and_then(origin);
        let value = evaluate(&expression, inner_at, span, syntax, lookup)?;
        out.append(&value);
        i = end;
        literal_start = i;
    }
    out.push(&text[literal_start..], origin(literal_start));
    Ok(out)
}

struct Expression<'a> {
    name: &'a str,
    operator: &'a str,
    word: &'a str,
    /// Offset of `word` in the interpolated text.
    word_at: Option<usize>,
}

/// `$NAME`, `${NAME}` or `${NAME<op>word}` starting at `start` (a `$`); returns its end.
fn expression_at(text: &str, start: usize) -> Option<(Expression<'_>, usize)> {
    let rest = &text[start + 1..];
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_';
    if let Some(body) = rest.strip_prefix('{') {
        let mut depth = 1;
        let mut close = None;
        for (j, c) in body.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        close = Some(j);
                        break;
                    }
                }
                _ => {}
            }
        }
        let close = close?;
        let inner = &body[..close];
        let name_len = inner.find(|c: char| !is_name(c)).unwrap_or(inner.len());
        let name = &inner[..name_len];
        let after = &inner[name_len..];
        let operator_len = [":-", ":?", ":+", "-", "?", "+"]
            .iter()
            .find(|op| after.starts_with(**op))
            .map_or(after.len(), |op| op.len());
        let operator = &after[..operator_len];
        let word = &after[operator_len..];
        let word_offset = start + 2 + name_len + operator_len;
        let end = start + 2 + close + 1;
        Some((
            Expression {
                name,
                operator,
                word,
                word_at: Some(word_offset),
            },
            end,
        ))
    } else {
        let len = rest.find(|c: char| !is_name(c)).unwrap_or(rest.len());
        if len == 0 || rest.as_bytes()[0].is_ascii_digit() {
            return None;
        }
        Some((
            Expression {
                name: &rest[..len],
                operator: "",
                word: "",
                word_at: None,
            },
            start + 1 + len,
        ))
    }
}

fn evaluate(
    expression: &Expression<'_>,
    word_at: Option<usize>,
    span: Span,
    syntax: Syntax,
    lookup: &dyn Fn(&str) -> Option<Value>,
) -> Result<Value, Variable> {
    let unresolved = || Variable {
        name: expression.name.to_string(),
        span: span.clone(),
    };
    let known = lookup(expression.name);
    let word = || interpolate(expression.word, word_at, syntax, lookup);
    match (expression.operator, known) {
        ("", Some(value)) | ("-", Some(value)) => Ok(value),
        (":-", Some(value)) if !value.text.is_empty() => Ok(value),
        (":-", Some(_)) | (":-", None) | ("-", None) => word(),
        (":+", Some(value)) if value.text.is_empty() => Ok(Value::default()),
        (":+", Some(_)) | ("+", Some(_)) => word(),
        ("?" | ":?", Some(value)) => Ok(value),
        _ => Err(unresolved()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compose(text: &str) -> Result<Value, Variable> {
        interpolate(text, Some(100), Syntax::Compose, &|_| None)
    }

    #[test]
    fn compose_defaults_are_taken_where_they_are_written() {
        let text = "kestra/kestra:${KESTRA_VERSION:-latest}";
        let value = compose(text).unwrap();
        assert_eq!(value.text, "kestra/kestra:latest");
        let tag = value.span_of(14..20).unwrap();
        assert_eq!(&text[tag.start - 100..tag.end - 100], "latest");
        assert_eq!(compose("a:${V-1.0}").unwrap().text, "a:1.0");
        assert_eq!(
            compose("${REG:-docker.io}/a:${T:-${U:-2}}").unwrap().text,
            "docker.io/a:2"
        );
        assert_eq!(compose("a:$$x").unwrap().text, "a:$x");
    }

    #[test]
    fn variables_without_default_are_unresolved() {
        for (text, name, span) in [
            ("kestra/kestra:${TAG}", "TAG", 114..120),
            ("kestra/kestra:$TAG", "TAG", 114..118),
            ("a:${TAG:?set TAG}", "TAG", 102..117),
            ("a:${TAG:+x}", "TAG", 102..111),
        ] {
            let error = compose(text).unwrap_err();
            assert_eq!(
                error,
                Variable {
                    name: name.into(),
                    span
                },
                "{text}"
            );
        }
    }

    #[test]
    fn dockerfile_args_supply_values() {
        let lookup = |name: &str| (name == "TAG").then(|| Value::verbatim("latest", 7));
        let syntax = Syntax::Dockerfile { escape: '\\' };
        let value = interpolate("kestra/kestra:$TAG", Some(50), syntax, &lookup).unwrap();
        assert_eq!(value.text, "kestra/kestra:latest");
        assert_eq!(value.span_of(14..20), Some(7..13));
        let value = interpolate("app:${TAG:-x}", Some(0), syntax, &lookup).unwrap();
        assert_eq!(value.text, "app:latest");
        let value = interpolate("app:${NONE:-1.2}", Some(0), syntax, &lookup).unwrap();
        assert_eq!(value.span_of(4..7), Some(12..15));
        assert_eq!(
            interpolate("a\\$b", Some(0), syntax, &lookup).unwrap().text,
            "a$b"
        );
        assert!(interpolate("app:$NONE", Some(0), syntax, &lookup).is_err());
    }
}
