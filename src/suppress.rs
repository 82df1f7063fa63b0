//! Inline suppressions: `# tagpin: ignore` or `# tagpin: ignore[TP002,TP003]` on the line of a
//! finding or on the line above (ruff's `noqa`, in the comment syntax of YAML and Dockerfiles).

use crate::source::SourceFile;

const MARKER: &str = "tagpin: ignore";

/// The suppressions of one file, by 0-based line.
#[derive(Debug, Default)]
pub struct Suppressions {
    lines: Vec<(usize, Option<Vec<String>>)>,
}

impl Suppressions {
    pub fn parse(file: &SourceFile) -> Self {
        let mut lines = Vec::new();
        if !file.text.contains(MARKER) {
            return Self { lines };
        }
        for line in 0..file.line_count() {
            let text = file.line_text(line);
            let Some(hash) = text.find('#') else { continue };
            let Some(at) = text[hash..].find(MARKER) else {
                continue;
            };
            let rest = &text[hash + at + MARKER.len()..];
            let codes = rest
                .strip_prefix('[')
                .and_then(|r| r.split_once(']'))
                .map(|(list, _)| {
                    list.split(',')
                        .map(|c| c.trim().to_ascii_uppercase())
                        .filter(|c| !c.is_empty())
                        .collect()
                });
            lines.push((line, codes));
        }
        Self { lines }
    }

    /// Whether a finding of `code` on 0-based `line` is suppressed.
    pub fn covers(&self, line: usize, code: &str) -> bool {
        self.lines.iter().any(|(at, codes)| {
            (*at == line || *at + 1 == line)
                && codes
                    .as_ref()
                    .is_none_or(|codes| codes.iter().any(|c| c == code))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_line_line_above_and_code_lists() {
        let text = "\
a: x:latest # tagpin: ignore
# tagpin: ignore[TP002, tp003]
b: x:latest
c: x:latest
d: y # tagpin: ignore[TP001]
";
        let s = Suppressions::parse(&SourceFile::new("f".into(), text.into()));
        assert!(s.covers(0, "TP002"));
        assert!(s.covers(2, "TP002"));
        assert!(s.covers(2, "TP003"));
        assert!(!s.covers(2, "TP001"));
        assert!(!s.covers(3, "TP002"));
        assert!(s.covers(4, "TP001"));
        assert!(!s.covers(4, "TP002"));
    }
}
