//! A fast path for the YAML nearly every manifest, chart and compose file is written in: block
//! mappings and sequences of one-line plain or quoted scalars, one-line flow lists of them and
//! `{}` (after their key or on the line below it), literal and folded block scalars, with
//! comments.
//!
//! saphyr-parser is the parser of record, and most of a run's time. This lexer gives the events
//! saphyr gives, at the bytes saphyr marks, for that subset only, and gives up (the caller then
//! runs saphyr) on anything else: other flow collections, anchors, aliases, tags, multi-line
//! plain or quoted scalars, block scalars with indicators or odd indentation, escapes, complex
//! or empty keys and entries, directives, `...`, tabs, carriage returns, control or special
//! characters, and any indentation it does not expect. Giving up
//! costs the lines read so far; reading what YAML forbids never gets here, so errors stay
//! saphyr's. Tests build every fixture both ways and compare the arenas.

use saphyr_parser::{Event, ScalarStyle};
use std::borrow::Cow;

/// Events with the bytes each covers, as the builder takes them.
pub(super) type Events<'t> = Vec<(Event<'t>, usize, usize)>;

/// Deeper nesting is left to saphyr (and the builder's limit).
const DEPTH: usize = 64;

/// Longer keys, plain or quoted, are left to saphyr (YAML bounds implicit keys at 1024
/// characters).
const KEY_LIMIT: usize = 512;

/// The events of `text` (the bytes of the file from `base` on), or `false` with `out` left
/// empty when the text is not in the subset.
pub(super) fn events<'t>(text: &'t str, base: usize, out: &mut Events<'t>) -> bool {
    let taken = plain_characters(text) && {
        let mut lexer = Lexer {
            text,
            bytes: text.as_bytes(),
            base,
            line: 0,
            indent: 0,
            eol: 0,
            out: &mut *out,
        };
        lexer.stream().is_some()
    };
    if !taken {
        out.clear();
    }
    taken
}

/// No tab, carriage return, control character, byte-order mark or character saphyr reads as a
/// line break or refuses.
fn plain_characters(text: &str) -> bool {
    // Folded without a branch per byte, the test runs on whole vectors.
    let plain = |ok: bool, &b: &u8| ok & (((b >= 0x20) & (b != 0x7f)) | (b == b'\n'));
    text.as_bytes()
        .chunks(256)
        .all(|chunk| chunk.iter().fold(true, plain))
        && (text.is_ascii()
            || !text.chars().any(|c| {
                matches!(
                    c,
                    '\u{7f}'..='\u{9f}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
                ) || matches!(c, '\u{2028}' | '\u{2029}')
            }))
}

struct Lexer<'t, 'o> {
    text: &'t str,
    bytes: &'t [u8],
    base: usize,
    /// Start of the current line: the next content line once [`Lexer::skip_blank`] ran.
    line: usize,
    /// Spaces before the current line's content.
    indent: usize,
    /// The end of the current line (its `\n` or the end of the text).
    eol: usize,
    out: &'o mut Events<'t>,
}

struct Scalar<'t> {
    value: Cow<'t, str>,
    style: ScalarStyle,
    start: usize,
    end: usize,
}

impl<'t> Lexer<'t, '_> {
    fn stream(&mut self) -> Option<()> {
        self.skip_blank();
        let mut first = true;
        while !self.eof() {
            if self.at_marker() {
                let rest = self.line + 3;
                if self.comment_or_end(rest) != Some(true) {
                    return None;
                }
                self.emit(Event::DocumentStart(true), self.line, rest);
                self.next_line();
                self.skip_blank();
                if self.eof() || self.at_marker() {
                    return None;
                }
            } else if first {
                self.emit(Event::DocumentStart(false), self.line, self.line);
            } else {
                return None;
            }
            first = false;
            let content = self.content();
            if self.is_entry(content) {
                self.sequence(self.indent, content, false, 0)?;
            } else {
                self.mapping(self.indent, content, 0)?;
            }
            if !self.eof() && !self.at_marker() {
                return None;
            }
        }
        Some(())
    }

    /// A block mapping whose keys stand at column `indent`, the first at `at` on this line.
    fn mapping(&mut self, indent: usize, at: usize, depth: usize) -> Option<()> {
        if depth >= DEPTH {
            return None;
        }
        self.emit(Event::MappingStart(0, None), at, at);
        let mut at = at;
        loop {
            let (key, colon) = self.key(at)?;
            self.scalar(key);
            let value = self.skip_spaces(colon + 1);
            if self.comment_or_end(value)? {
                self.next_line();
                self.skip_blank();
                let next = self.content();
                if self.in_document() && self.indent > indent {
                    if matches!(self.bytes[next], b'[' | b'{') {
                        self.inline(next, indent)?;
                    } else if self.is_entry(next) {
                        self.sequence(self.indent, next, false, depth + 1)?;
                    } else {
                        self.mapping(self.indent, next, depth + 1)?;
                    }
                } else if self.in_document() && self.indent == indent && self.is_entry(next) {
                    self.sequence(indent, next, true, depth + 1)?;
                } else {
                    self.emit(
                        Event::Scalar("".into(), ScalarStyle::Plain, 0, None),
                        colon,
                        colon,
                    );
                }
            } else {
                self.inline(value, indent)?;
            }
            if !self.in_document() || self.indent < indent {
                break;
            }
            at = self.content();
            if self.indent > indent || self.is_entry(at) {
                return None;
            }
        }
        self.emit(Event::MappingEnd, self.next_token(), self.next_token());
        Some(())
    }

    /// A block sequence whose `-` stand at column `indent`, the first at `dash`; an indentless
    /// one (`key:` above at the same column) starts at its first entry's content.
    fn sequence(
        &mut self,
        indent: usize,
        dash: usize,
        indentless: bool,
        depth: usize,
    ) -> Option<()> {
        if depth >= DEPTH {
            return None;
        }
        let mut dash = dash;
        let mut first = true;
        loop {
            let entry = self.skip_spaces(dash + 1);
            if self.comment_or_end(entry) != Some(false) || self.is_entry(entry) {
                return None;
            }
            if first {
                let start = if indentless { entry } else { dash };
                self.emit(Event::SequenceStart(0, None), start, start);
                first = false;
            }
            if self.key(entry).is_some() {
                self.mapping(entry - self.line, entry, depth + 1)?;
            } else {
                self.inline(entry, indent)?;
            }
            if !self.in_document() || self.indent < indent {
                break;
            }
            dash = self.content();
            if self.indent > indent {
                return None;
            }
            if !self.is_entry(dash) {
                break;
            }
        }
        self.emit(Event::SequenceEnd, self.next_token(), self.next_token());
        Some(())
    }

    /// A value written after its key or `-` at `at`, in a collection at column `indent`; on to
    /// the next content line.
    fn inline(&mut self, at: usize, indent: usize) -> Option<()> {
        match self.bytes[at] {
            b'[' | b'{' => self.flow(at)?,
            b'|' | b'>' => return self.block_scalar(at, indent),
            _ => {
                let value = self.value(at)?;
                self.scalar(value);
            }
        }
        self.next_line();
        self.skip_blank();
        Some(())
    }

    /// A flow sequence of scalars, or an empty flow mapping, closed on its line.
    fn flow(&mut self, at: usize) -> Option<()> {
        let end = self.eol;
        let (open, close) = match self.bytes[at] {
            b'[' => (Event::SequenceStart(0, None), Event::SequenceEnd),
            _ => (Event::MappingStart(0, None), Event::MappingEnd),
        };
        let sequence = self.bytes[at] == b'[';
        self.emit(open, at, at + 1);
        let mut i = self.skip_spaces(at + 1);
        if self.bytes.get(i) != Some(&if sequence { b']' } else { b'}' }) {
            if !sequence {
                return None;
            }
            loop {
                let item = if matches!(self.bytes.get(i), Some(b'"' | b'\'')) {
                    self.quoted(i)?
                } else {
                    let stop = self.text[i..end]
                        .find([',', ']', '[', '{', '}', '#', ':', '"', '\''])
                        .map_or(end, |n| i + n);
                    let trimmed = i + self.text[i..stop].trim_end_matches(' ').len();
                    if trimmed == i || !self.plain_start(i) || matches!(self.bytes[i], b'-' | b'?')
                    {
                        return None;
                    }
                    self.plain(i, trimmed)
                };
                i = self.skip_spaces(item.end);
                self.scalar(item);
                match self.bytes.get(i) {
                    Some(b',') => {
                        i = self.skip_spaces(i + 1);
                        if matches!(self.bytes.get(i), Some(b']')) {
                            return None;
                        }
                    }
                    Some(b']') => break,
                    _ => return None,
                }
            }
        }
        // saphyr's mark runs on over the spaces and comment after the bracket.
        if self.comment_or_end(i + 1) != Some(true) {
            return None;
        }
        self.emit(close, i, end);
        Some(())
    }

    /// A literal or folded block scalar (`|`, `|-`, `>`, `>-`) whose header is at `at`, in a
    /// collection at column `indent`; on to the next content line. Folded ones are taken only
    /// with every line at the block's indentation and no empty line before the first.
    fn block_scalar(&mut self, at: usize, indent: usize) -> Option<()> {
        let folded = self.bytes[at] == b'>';
        let strip = self.bytes.get(at + 1) == Some(&b'-');
        let header_end = at + 1 + usize::from(strip);
        if self.skip_spaces(header_end) != self.eol {
            return None;
        }
        self.next_line();
        // Leading empty lines, then the first line with content sets the indentation.
        let mut lines = 0;
        loop {
            if self.eof() {
                return None;
            }
            let content = self.skip_spaces(self.line);
            match self.bytes.get(content) {
                Some(b'\n') => {}
                Some(_) => break,
                None => return None,
            }
            if content > self.line {
                return None;
            }
            lines += 1;
            self.line = content + 1;
        }
        let columns = self.skip_spaces(self.line) - self.line;
        if columns <= indent || (folded && lines > 0) {
            return None;
        }
        let start = self.line + columns;
        let mut value = "\n".repeat(lines);
        let mut kept = value.len();
        // Folded: lines of a paragraph join with a space, empty lines between them are breaks.
        let mut empty = None;
        loop {
            let end = self.line_end(self.line);
            let spaces = self.skip_spaces(self.line) - self.line;
            if self.line + spaces < end && spaces < columns {
                break;
            }
            if self.line + spaces == end && spaces > columns {
                return None;
            }
            let blank = self.line + spaces == end;
            // saphyr counts a last line of spaces without a line break as one more break.
            if blank && end == self.text.len() {
                return None;
            }
            if folded {
                if blank {
                    empty = empty.map(|n| n + 1);
                } else if spaces > columns {
                    return None;
                } else {
                    match empty {
                        Some(0) => value.push(' '),
                        Some(n) => value.push_str(&"\n".repeat(n)),
                        None => {}
                    }
                    value.push_str(&self.text[self.line + columns..end]);
                    kept = value.len();
                    empty = Some(0);
                }
            } else {
                if self.line + columns <= end {
                    value.push_str(&self.text[self.line + columns..end]);
                }
                if !blank {
                    kept = value.len();
                }
                value.push('\n');
            }
            if end == self.text.len() {
                self.line = end;
                break;
            }
            self.line = end + 1;
            if self.eof() {
                break;
            }
        }
        value.truncate(kept);
        if !strip {
            value.push('\n');
        }
        // saphyr's mark stops after the indentation of the line that ends the scalar.
        let end = self.skip_spaces(self.line);
        self.skip_blank();
        let style = match folded {
            true => ScalarStyle::Folded,
            false => ScalarStyle::Literal,
        };
        self.emit(Event::Scalar(value.into(), style, 0, None), start, end);
        Some(())
    }

    /// A key at `at` and the position of its `:` (followed by a space or the line end).
    fn key(&self, at: usize) -> Option<(Scalar<'t>, usize)> {
        let end = self.eol;
        if matches!(self.bytes[at], b'"' | b'\'') {
            let key = self.quoted(at)?;
            let colon = key.end;
            return (self.bytes.get(colon) == Some(&b':')
                && self.separated(colon + 1, end)
                && colon - at <= KEY_LIMIT)
                .then_some((key, colon));
        }
        if !self.plain_start(at) || self.at_end_marker(at) {
            return None;
        }
        let mut i = at;
        while i < end {
            match self.bytes[i] {
                b':' if self.separated(i + 1, end) => break,
                b'#' if self.bytes[i - 1] == b' ' => return None,
                _ => i += 1,
            }
        }
        if i == end || self.bytes[i - 1] == b' ' || i - at > KEY_LIMIT {
            return None;
        }
        Some((self.plain(at, i), i))
    }

    /// A one-line value at `at`, nothing but a comment after it.
    fn value(&self, at: usize) -> Option<Scalar<'t>> {
        let end = self.eol;
        if matches!(self.bytes[at], b'"' | b'\'') {
            let value = self.quoted(at)?;
            let rest = self.skip_spaces(value.end);
            let after = rest == end || (self.bytes[rest] == b'#' && rest > value.end);
            return after.then_some(value);
        }
        if !self.plain_start(at) {
            return None;
        }
        let mut stop = end;
        for i in at..end {
            match self.bytes[i] {
                b':' if self.separated(i + 1, end) => return None,
                b'#' if self.bytes[i - 1] == b' ' => {
                    stop = i;
                    break;
                }
                _ => {}
            }
        }
        let trimmed = at + self.text[at..stop].trim_end_matches(' ').len();
        Some(self.plain(at, trimmed))
    }

    fn plain(&self, start: usize, end: usize) -> Scalar<'t> {
        Scalar {
            value: Cow::Borrowed(&self.text[start..end]),
            style: ScalarStyle::Plain,
            start,
            end,
        }
    }

    /// A quoted scalar closed on its line, without escapes in a double-quoted one.
    fn quoted(&self, at: usize) -> Option<Scalar<'t>> {
        let quote = self.bytes[at];
        let end = self.eol;
        let mut i = at + 1;
        let mut doubled = false;
        loop {
            if i >= end || (quote == b'"' && self.bytes[i] == b'\\') {
                return None;
            }
            if self.bytes[i] == quote {
                if quote == b'\'' && self.bytes.get(i + 1) == Some(&b'\'') {
                    doubled = true;
                    i += 2;
                    continue;
                }
                break;
            }
            i += 1;
        }
        let inner = &self.text[at + 1..i];
        Some(Scalar {
            value: match doubled {
                true => Cow::Owned(inner.replace("''", "'")),
                false => Cow::Borrowed(inner),
            },
            style: match quote {
                b'"' => ScalarStyle::DoubleQuoted,
                _ => ScalarStyle::SingleQuoted,
            },
            start: at,
            end: i + 1,
        })
    }

    /// A plain scalar may start here: no indicator, or `-?:` before a character that is not
    /// a space.
    fn plain_start(&self, at: usize) -> bool {
        match self.bytes[at] {
            b'-' | b'?' | b':' => self
                .bytes
                .get(at + 1)
                .is_some_and(|&b| b != b' ' && b != b'\n'),
            b'[' | b']' | b'{' | b'}' | b',' | b'#' | b'&' | b'*' | b'!' | b'|' | b'>' | b'\''
            | b'"' | b'%' | b'@' | b'`' | b' ' | b'\n' => false,
            _ => true,
        }
    }

    /// `Some(true)` when only spaces and a comment (or nothing) remain on the line from `at`,
    /// `Some(false)` when something else does; `None` for a `#` glued to what precedes it.
    fn comment_or_end(&self, at: usize) -> Option<bool> {
        let rest = self.skip_spaces(at);
        if rest == self.eol {
            return Some(true);
        }
        if self.bytes[rest] == b'#' {
            return (rest > at || self.bytes.get(at.wrapping_sub(1)) == Some(&b' '))
                .then_some(true);
        }
        Some(false)
    }

    /// Whether `at` is the line end or a space.
    fn separated(&self, at: usize, end: usize) -> bool {
        at == end || self.bytes[at] == b' '
    }

    fn is_entry(&self, at: usize) -> bool {
        self.bytes.get(at) == Some(&b'-')
            && self
                .bytes
                .get(at + 1)
                .is_none_or(|&b| b == b' ' || b == b'\n')
    }

    fn skip_spaces(&self, mut at: usize) -> usize {
        while self.bytes.get(at) == Some(&b' ') {
            at += 1;
        }
        at
    }

    fn line_end(&self, at: usize) -> usize {
        memchr::memchr(b'\n', &self.bytes[at..]).map_or(self.text.len(), |i| at + i)
    }

    fn next_line(&mut self) {
        self.line = (self.eol + 1).min(self.text.len());
        self.indent = 0;
    }

    /// Move to the next line that is neither blank nor a comment, and measure its indentation.
    fn skip_blank(&mut self) {
        loop {
            let content = self.skip_spaces(self.line);
            self.indent = content - self.line;
            match self.bytes.get(content) {
                Some(b'\n') | Some(b'#') => {
                    self.line = self.line_end(content) + 1;
                    self.line = self.line.min(self.text.len());
                }
                None => {
                    self.line = self.text.len();
                    self.indent = 0;
                    self.eol = self.line;
                    return;
                }
                Some(_) => {
                    self.eol = self.line_end(content);
                    return;
                }
            }
        }
    }

    fn eof(&self) -> bool {
        self.line >= self.text.len()
    }

    /// A `---` line.
    fn at_marker(&self) -> bool {
        self.indent == 0
            && self.text[self.line..].starts_with("---")
            && self
                .bytes
                .get(self.line + 3)
                .is_none_or(|&b| b == b' ' || b == b'\n')
    }

    /// A `...` line (document end, which saphyr reads even before `a: b`) starting at `at`.
    fn at_end_marker(&self, at: usize) -> bool {
        at == self.line && self.text[at..].starts_with("...") && self.separated(at + 3, self.eol)
    }

    fn in_document(&self) -> bool {
        !self.eof() && !self.at_marker()
    }

    fn content(&self) -> usize {
        self.line + self.indent
    }

    /// Where saphyr marks the end of collections closed here: the next token, or the end.
    fn next_token(&self) -> usize {
        match self.eof() {
            true => self.text.len(),
            false => self.content(),
        }
    }

    fn scalar(&mut self, scalar: Scalar<'t>) {
        let event = Event::Scalar(scalar.value, scalar.style, 0, None);
        self.emit(event, scalar.start, scalar.end);
    }

    fn emit(&mut self, event: Event<'t>, start: usize, end: usize) {
        self.out.push((event, self.base + start, self.base + end));
    }
}
