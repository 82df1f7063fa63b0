//! YAML documents with exact byte spans, for the scanners and the config file.
//!
//! serde-based YAML loses positions, and tagpin's findings and fixes need the exact bytes of a
//! value, so documents are built from saphyr-parser's events (whose positions count characters)
//! into a small arena. Plain block YAML, most of what is read, gets the same events from the
//! [`block`] fast path at a fraction of the cost; saphyr reads everything else. Aliases share
//! the anchored node instead of copying it: a value reached through an alias reports the
//! anchored location, and alias bombs stay as small as their text.

use saphyr_parser::{Event, Parser, ScalarStyle};
use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::{Deref, Range};

use crate::source::{FileError, Span};

mod block;

/// Deeper nesting than this is refused: no real manifest comes close, and walkers recurse.
pub const MAX_DEPTH: usize = 256;

pub type NodeId = usize;

#[derive(Debug)]
pub struct Node {
    pub span: Span,
    pub kind: NodeKind,
}

#[derive(Debug)]
pub enum NodeKind {
    /// `value` is where the scalar's string is in the stream's buffer of them (one allocation
    /// for all, not one per scalar): [`Stream::scalar`] reads it.
    Scalar {
        value: Range<usize>,
        style: ScalarStyle,
    },
    /// Where its pairs are in the stream's arena of them ([`Stream::pairs`]).
    Mapping(Range<usize>),
    /// Where its items are in the stream's arena of them ([`Stream::items`]).
    Sequence(Range<usize>),
}

/// One YAML document of a stream; nodes live in the stream's arena.
#[derive(Debug, Clone, Copy)]
pub struct Document {
    pub root: NodeId,
}

/// Every document of a file, sharing one arena.
#[derive(Debug, Default)]
pub struct Stream {
    nodes: Vec<Node>,
    pub documents: Vec<Document>,
    aliases: bool,
    values: String,
    pairs: Vec<(NodeId, NodeId)>,
    items: Vec<NodeId>,
}

/// The entries of a mapping (see [`Stream::entries`]).
pub struct Entries<'s>(Cow<'s, [(NodeId, NodeId)]>);

impl Deref for Entries<'_> {
    type Target = [(NodeId, NodeId)];

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl<'s> IntoIterator for Entries<'s> {
    type Item = (NodeId, NodeId);
    type IntoIter = EntriesIter<'s>;

    fn into_iter(self) -> EntriesIter<'s> {
        EntriesIter {
            entries: self.0,
            next: 0,
        }
    }
}

pub struct EntriesIter<'s> {
    entries: Cow<'s, [(NodeId, NodeId)]>,
    next: usize,
}

impl Iterator for EntriesIter<'_> {
    type Item = (NodeId, NodeId);

    fn next(&mut self) -> Option<Self::Item> {
        let entry = self.entries.get(self.next).copied();
        self.next += 1;
        entry
    }
}

impl Stream {
    /// The documents of `text`, or its YAML syntax error (at a line and column).
    pub fn parse(text: &str) -> Result<Stream, FileError> {
        let mut builder = Builder::new(text);
        builder.parse(0..text.len())?;
        Ok(builder.finish())
    }

    /// [`Stream::parse`] by saphyr-parser alone, to prove the [`block`] fast path builds what
    /// saphyr builds (tests, the `yaml_block` fuzz target).
    #[doc(hidden)]
    pub fn parse_by_saphyr(text: &str) -> Result<Stream, FileError> {
        let mut builder = Builder::new(text);
        builder.fast = false;
        builder.parse(0..text.len())?;
        Ok(builder.finish())
    }

    /// The documents of `text` whose own text is `wanted`; the others are not parsed, so a
    /// syntax error in them goes unseen. Documents are cut at their `---` lines, which YAML
    /// keeps out of content; a stream with directives (`%YAML`, `%TAG`) is parsed whole.
    pub fn parse_wanted(text: &str, wanted: impl Fn(&str) -> bool) -> Result<Stream, FileError> {
        let parts = documents(text);
        let keep: Vec<bool> = parts
            .iter()
            .map(|part| wanted(&text[part.clone()]))
            .collect();
        if keep.iter().all(|&k| k) {
            return Self::parse(text);
        }
        Self::parse_parts(text, parts.into_iter().zip(keep))
    }

    /// Each part of `text` parsed on its own as a stream, into one arena.
    fn parse_parts(
        text: &str,
        parts: impl IntoIterator<Item = (Span, bool)>,
    ) -> Result<Stream, FileError> {
        let mut builder = Builder::new(text);
        for (part, keep) in parts {
            if keep {
                builder.parse(part)?;
            }
        }
        Ok(builder.finish())
    }

    /// Whether an alias shares a node: without one, every node has one parent.
    pub fn has_aliases(&self) -> bool {
        self.aliases
    }

    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id]
    }

    /// The string of a scalar node.
    pub fn scalar(&self, id: NodeId) -> Option<&str> {
        match &self.nodes[id].kind {
            NodeKind::Scalar { value, .. } => Some(&self.values[value.clone()]),
            _ => None,
        }
    }

    /// A scalar that YAML reads as null: empty, `~` or `null` unquoted.
    pub fn is_null(&self, id: NodeId) -> bool {
        matches!(
            &self.nodes[id].kind,
            NodeKind::Scalar {
                style: ScalarStyle::Plain,
                ..
            }
        ) && matches!(self.scalar(id), Some("" | "~" | "null" | "Null" | "NULL"))
    }

    /// The entries of a mapping node, `<<` merge keys expanded (explicit keys win); borrowed
    /// from the arena when the mapping merges nothing, as nearly every mapping does.
    pub fn entries(&self, id: NodeId) -> Entries<'_> {
        let Some(pairs) = self.pairs(id) else {
            return Entries(Cow::Borrowed(&[]));
        };
        if !self.merges(pairs) {
            return Entries(Cow::Borrowed(pairs));
        }
        let mut out = Vec::new();
        self.collect_entries(id, &mut out, &mut Vec::new());
        Entries(Cow::Owned(out))
    }

    fn merges(&self, pairs: &[(NodeId, NodeId)]) -> bool {
        pairs.iter().any(|&(key, _)| self.scalar(key) == Some("<<"))
    }

    /// Each merge source is visited once, so shared anchors (`<<: [*a, *a]`, nested) cannot
    /// multiply the work.
    fn collect_entries(&self, id: NodeId, out: &mut Vec<(NodeId, NodeId)>, seen: &mut Vec<NodeId>) {
        let Some(pairs) = self.pairs(id) else {
            return;
        };
        if seen.contains(&id) || seen.len() > MAX_DEPTH {
            return;
        }
        seen.push(id);
        let explicit = out.len();
        let mut merged = Vec::new();
        for &(key, value) in pairs {
            if self.scalar(key) == Some("<<") {
                for source in self.merge_sources(value) {
                    self.collect_entries(source, &mut merged, seen);
                }
            } else {
                out.push((key, value));
            }
        }
        for (key, value) in merged {
            let name = self.scalar(key);
            if name.is_none() || !out[explicit..].iter().any(|&(k, _)| self.scalar(k) == name) {
                out.push((key, value));
            }
        }
    }

    /// What a `<<` merges: one mapping or a sequence of them.
    fn merge_sources(&self, value: NodeId) -> Vec<NodeId> {
        match &self.nodes[value].kind {
            NodeKind::Sequence(items) => self.items[items.clone()].to_vec(),
            _ => vec![value],
        }
    }

    /// The value of a key in a mapping (merge keys followed; explicit keys win).
    pub fn get(&self, id: NodeId, key: &str) -> Option<NodeId> {
        let pairs = self.pairs(id)?;
        let mut merges = false;
        for &(k, v) in pairs {
            match self.scalar(k) {
                Some(name) if name == key => return Some(v),
                Some("<<") => merges = true,
                _ => {}
            }
        }
        if merges {
            self.get_in(id, key, &mut Vec::new())
        } else {
            None
        }
    }

    fn get_in(&self, id: NodeId, key: &str, seen: &mut Vec<NodeId>) -> Option<NodeId> {
        let pairs = self.pairs(id)?;
        if seen.contains(&id) || seen.len() > MAX_DEPTH {
            return None;
        }
        seen.push(id);
        let mut merge = None;
        for &(k, v) in pairs {
            match self.scalar(k) {
                Some(name) if name == key => return Some(v),
                Some("<<") => merge = merge.or(Some(v)),
                _ => {}
            }
        }
        self.merge_sources(merge?)
            .into_iter()
            .find_map(|source| self.get_in(source, key, seen))
    }

    pub fn is_mapping(&self, id: NodeId) -> bool {
        matches!(self.nodes[id].kind, NodeKind::Mapping(_))
    }

    /// The pairs of a mapping node as written (`<<` merge keys not expanded).
    pub fn pairs(&self, id: NodeId) -> Option<&[(NodeId, NodeId)]> {
        match &self.nodes[id].kind {
            NodeKind::Mapping(pairs) => Some(&self.pairs[pairs.clone()]),
            _ => None,
        }
    }

    pub fn items(&self, id: NodeId) -> &[NodeId] {
        match &self.nodes[id].kind {
            NodeKind::Sequence(items) => &self.items[items.clone()],
            _ => &[],
        }
    }

    /// The span of a scalar's content in the file when the file holds it verbatim (plain or
    /// quoted, on one line, without escapes), so that offsets into the value are offsets into
    /// the file.
    pub fn verbatim_span(&self, id: NodeId, text: &str) -> Option<Span> {
        let node = &self.nodes[id];
        let NodeKind::Scalar { value, style } = &node.kind else {
            return None;
        };
        let raw = text.get(node.span.clone())?;
        let inner = match style {
            ScalarStyle::Plain => node.span.clone(),
            ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted if raw.len() >= 2 => {
                node.span.start + 1..node.span.end - 1
            }
            _ => return None,
        };
        (text.get(inner.clone())? == &self.values[value.clone()]).then_some(inner)
    }
}

/// Maps saphyr's character offsets to byte offsets, walking forward from the last answer.
struct Offsets<'a> {
    text: &'a str,
    ascii: bool,
    char_pos: usize,
    byte_pos: usize,
}

impl<'a> Offsets<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            text,
            ascii: text.is_ascii(),
            char_pos: 0,
            byte_pos: 0,
        }
    }

    fn byte(&mut self, char_index: usize) -> usize {
        if self.ascii {
            return char_index.min(self.text.len());
        }
        if char_index < self.char_pos {
            self.char_pos = 0;
            self.byte_pos = 0;
        }
        let rest = &self.text[self.byte_pos..];
        let step = char_index - self.char_pos;
        let advance = rest.char_indices().nth(step).map_or(rest.len(), |(i, _)| i);
        self.char_pos = char_index;
        self.byte_pos += advance;
        self.byte_pos
    }
}

/// A collection being built: its pairs or items so far are those of the builder's open ones
/// from `first` on.
enum Open {
    Mapping {
        start: usize,
        anchor: usize,
        first: usize,
        key: Option<NodeId>,
    },
    Sequence {
        start: usize,
        anchor: usize,
        first: usize,
    },
}

struct Builder<'a> {
    text: &'a str,
    nodes: Vec<Node>,
    documents: Vec<Document>,
    anchors: HashMap<usize, NodeId>,
    aliases: bool,
    values: String,
    pairs: Vec<(NodeId, NodeId)>,
    items: Vec<NodeId>,
    /// The pairs and items of the collections on `stack`, innermost last: one buffer for all,
    /// moved to `pairs` and `items` when a collection ends.
    open_pairs: Vec<(NodeId, NodeId)>,
    open_items: Vec<NodeId>,
    stack: Vec<Open>,
    /// The fast path's events, kept to be reused part after part.
    events: block::Events<'a>,
    fast: bool,
}

impl<'a> Builder<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            text,
            // Sized from the text (a node per 20 to 30 bytes is usual) to spare most regrowth.
            nodes: Vec::with_capacity(text.len() / 32),
            documents: Vec::new(),
            anchors: HashMap::new(),
            aliases: false,
            values: String::with_capacity(text.len() / 3),
            pairs: Vec::with_capacity(text.len() / 80),
            items: Vec::new(),
            open_pairs: Vec::new(),
            open_items: Vec::new(),
            stack: Vec::new(),
            events: Vec::with_capacity(text.len() / 32),
            fast: true,
        }
    }

    /// Parse `part` of the text (whole lines) as a stream: by the
    /// [`block`] fast path when it takes the text, else by saphyr-parser.
    fn parse(&mut self, part: Span) -> Result<(), FileError> {
        let text = self.text;
        let base = part.start;
        let mut events = std::mem::take(&mut self.events);
        if self.fast && block::events(&text[part.clone()], base, &mut events) {
            for (event, start, end) in events.drain(..) {
                self.event(event, start..end, true, || line_column(text, start))?;
            }
            self.events = events;
            return Ok(());
        }
        events.clear();
        self.events = events;
        let upto = &text[..part.end];
        let mut offsets = Offsets::new(&text[part]);
        for event in Parser::new_from_str(offsets.text) {
            let (event, span) = event.map_err(|e| {
                let at = (
                    lines_before(text, base) + e.marker().line(),
                    e.marker().col() + 1,
                );
                let (line, column) = on_a_line(upto, at);
                FileError::at(Some(line), Some(column), e.info())
            })?;
            let start = base + offsets.byte(span.start.index());
            let end = (base + offsets.byte(span.end.index())).max(start);
            self.event(event, start..end, false, || {
                (
                    lines_before(text, base) + span.start.line(),
                    span.start.col() + 1,
                )
            })?;
        }
        Ok(())
    }

    /// Add one event whose bytes are `span`; `at` is its line and column for an error. The
    /// [`block`] fast path marks a one-line scalar's own bytes (`exact`), saphyr more.
    fn event(
        &mut self,
        event: Event<'_>,
        span: Span,
        exact: bool,
        at: impl Fn() -> (usize, usize),
    ) -> Result<(), FileError> {
        let (start, end) = (span.start, span.end);
        let error = |message: &str| {
            let (line, column) = at();
            FileError::at(Some(line), Some(column), message)
        };
        match event {
            Event::Scalar(value, style, anchor, _) => {
                let at = self.values.len();
                self.values.push_str(&value);
                let one_line = matches!(
                    style,
                    ScalarStyle::Plain | ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted
                );
                let span = if exact && one_line {
                    span
                } else {
                    scalar_span(self.text, span, style, &value)
                };
                let id = self.push(
                    span,
                    NodeKind::Scalar {
                        value: at..self.values.len(),
                        style,
                    },
                    anchor,
                );
                self.attach(id);
            }
            Event::Alias(anchor) => {
                let id = *self
                    .anchors
                    .get(&anchor)
                    .ok_or_else(|| error("alias to an unknown anchor"))?;
                self.aliases = true;
                self.attach(id);
            }
            Event::MappingStart(anchor, _) | Event::SequenceStart(anchor, _) => {
                if self.stack.len() >= MAX_DEPTH {
                    return Err(error(&format!("nesting deeper than {MAX_DEPTH} levels")));
                }
                self.stack
                    .push(if matches!(event, Event::MappingStart(..)) {
                        Open::Mapping {
                            start,
                            anchor,
                            first: self.open_pairs.len(),
                            key: None,
                        }
                    } else {
                        Open::Sequence {
                            start,
                            anchor,
                            first: self.open_items.len(),
                        }
                    });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                let (node_start, anchor, kind) = match self.stack.pop() {
                    Some(Open::Mapping {
                        start,
                        anchor,
                        first,
                        ..
                    }) => {
                        self.unique_keys(&self.open_pairs[first..])?;
                        let at = self.pairs.len();
                        self.pairs.extend(self.open_pairs.drain(first..));
                        (start, anchor, NodeKind::Mapping(at..self.pairs.len()))
                    }
                    Some(Open::Sequence {
                        start,
                        anchor,
                        first,
                    }) => {
                        let at = self.items.len();
                        self.items.extend(self.open_items.drain(first..));
                        (start, anchor, NodeKind::Sequence(at..self.items.len()))
                    }
                    None => return Err(error("unbalanced collection end")),
                };
                let id = self.push(node_start..end.max(node_start), kind, anchor);
                self.attach(id);
            }
            Event::DocumentStart(_) => self.anchors.clear(),
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => {}
        }
        Ok(())
    }

    fn finish(self) -> Stream {
        Stream {
            nodes: self.nodes,
            documents: self.documents,
            aliases: self.aliases,
            values: self.values,
            pairs: self.pairs,
            items: self.items,
        }
    }

    /// Compose and Kubernetes' strict decoding reject a key written twice; taking either value
    /// silently would check something other than what runs.
    fn unique_keys(&self, pairs: &[(NodeId, NodeId)]) -> Result<(), FileError> {
        if pairs.len() < 2 {
            return Ok(());
        }
        let key = |i: usize| match &self.nodes[pairs[i].0].kind {
            NodeKind::Scalar { value, .. } => Some(&self.values[value.clone()]),
            _ => None,
        };
        // The first key written again, in document order. Most mappings are small: comparing
        // each pair finds it without allocating; larger ones remember the keys seen.
        let repeat = if pairs.len() <= 8 {
            (1..pairs.len()).find_map(|i| {
                let k = key(i)?;
                (0..i).find(|&j| key(j) == Some(k)).map(|j| [j, i])
            })
        } else {
            let mut seen =
                rustc_hash::FxHashMap::with_capacity_and_hasher(pairs.len(), Default::default());
            (0..pairs.len()).find_map(|i| {
                let k = key(i)?;
                seen.insert(k, i).map(|j| [j, i])
            })
        };
        let Some(pair) = repeat else {
            return Ok(());
        };
        let (first, second) = (
            self.position(pairs[pair[0]].0),
            self.position(pairs[pair[1]].0),
        );
        Err(FileError::at(
            Some(second.0),
            Some(second.1),
            format!(
                "duplicate key `{}` on lines {} and {}: keep one",
                key(pair[0]).unwrap_or_default(),
                first.0,
                second.0
            ),
        ))
    }

    /// The 1-based line and character column of a node.
    fn position(&self, id: NodeId) -> (usize, usize) {
        line_column(self.text, self.nodes[id].span.start)
    }

    fn push(&mut self, span: Span, kind: NodeKind, anchor: usize) -> NodeId {
        let id = self.nodes.len();
        self.nodes.push(Node { span, kind });
        if anchor > 0 {
            self.anchors.insert(anchor, id);
        }
        id
    }

    fn attach(&mut self, id: NodeId) {
        match self.stack.last_mut() {
            Some(Open::Mapping { key, .. }) => match key.take() {
                Some(k) => self.open_pairs.push((k, id)),
                None => *key = Some(id),
            },
            Some(Open::Sequence { .. }) => self.open_items.push(id),
            None => self.documents.push(Document { root: id }),
        }
    }
}

/// The lines before a part of `text` that starts at `at` (counted only for an error in it).
fn lines_before(text: &str, at: usize) -> usize {
    text[..at].matches('\n').count()
}

/// `at` (a 1-based line and column), or the end of the last line for the end of a text that
/// ends with a line break: saphyr puts it on the line after, which the text does not have (or
/// which is the next document's).
fn on_a_line(text: &str, at: (usize, usize)) -> (usize, usize) {
    let lines = text.lines().count().max(1);
    if at.0 <= lines {
        return at;
    }
    line_column(text, text.trim_end_matches(['\n', '\r']).len())
}

/// The 1-based line and character column of a byte of `text`.
fn line_column(text: &str, at: usize) -> (usize, usize) {
    let before = &text[..at.min(text.len())];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (
        before.matches('\n').count() + 1,
        before[line_start..].chars().count() + 1,
    )
}

/// The parts of a stream that begin at its `---` lines (the first part is what comes before
/// the first), or the whole text if a directive may tie a document to the one before it.
fn documents(text: &str) -> Vec<Span> {
    let mut starts = vec![0];
    let bytes = text.as_bytes();
    if !text.starts_with('%') && memchr::memmem::find(bytes, b"\n%").is_none() {
        starts.extend(
            memchr::memmem::find_iter(bytes, b"\n---")
                .map(|at| at + 1)
                .filter(|&at| {
                    text[at + 3..]
                        .bytes()
                        .next()
                        .is_none_or(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
                }),
        );
    }
    starts.push(text.len());
    starts.windows(2).map(|w| w[0]..w[1]).collect()
}

/// The bytes of a scalar itself: saphyr's span can start at an `&anchor` or `!tag` and, for
/// quoted scalars, run on past the closing quote. A block scalar's span starts at its first
/// line, which may itself begin with `&` or `!`, unless it has properties.
fn scalar_span(text: &str, span: Span, style: ScalarStyle, value: &str) -> Span {
    let Some(raw) = text.get(span.clone()) else {
        return span;
    };
    let block = matches!(style, ScalarStyle::Literal | ScalarStyle::Folded);
    let at_content = block && value.starts_with(raw.split('\n').next().unwrap_or_default());
    let mut start = 0;
    while !at_content && raw[start..].starts_with(['&', '!']) {
        let token = raw[start..]
            .find(char::is_whitespace)
            .unwrap_or(raw.len() - start);
        start += token;
        start += raw[start..].len() - raw[start..].trim_start().len();
    }
    let body = &raw[start..];
    let len = match style {
        ScalarStyle::SingleQuoted => closing_quote(body, '\'', None),
        ScalarStyle::DoubleQuoted => closing_quote(body, '"', Some('\\')),
        ScalarStyle::Plain => Some(body.trim_end_matches([' ', '\t']).len()),
        _ => None,
    };
    match len {
        Some(len) => span.start + start..span.start + start + len,
        None => span.start + start..span.end,
    }
}

/// The length of a quoted scalar up to and including its closing quote (`''` is an escaped
/// quote in single-quoted scalars).
fn closing_quote(body: &str, quote: char, escape: Option<char>) -> Option<usize> {
    let mut chars = body.char_indices().skip(1).peekable();
    if !body.starts_with(quote) {
        return None;
    }
    while let Some((i, c)) = chars.next() {
        if Some(c) == escape {
            chars.next();
        } else if c == quote {
            if escape.is_none() && chars.peek().is_some_and(|&(_, next)| next == quote) {
                chars.next();
                continue;
            }
            return Some(i + c.len_utf8());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(text: &str) -> Stream {
        Stream::parse(text).unwrap()
    }

    #[test]
    fn scalar_spans_are_bytes_of_the_value() {
        let text = "é: 1\nimage: kestra/kestra:latest\nq: 'ü/x:1'\nd: \"a:b\"\n";
        let s = stream(text);
        let root = s.documents[0].root;
        for (key, expected) in [
            ("image", "kestra/kestra:latest"),
            ("q", "ü/x:1"),
            ("d", "a:b"),
        ] {
            let value = s.get(root, key).unwrap();
            let span = s.verbatim_span(value, text).unwrap();
            assert_eq!(&text[span], expected);
        }
    }

    /// A no-break space is no white space to YAML: it ends the value, and its span.
    #[test]
    fn a_plain_scalar_ending_in_a_no_break_space_keeps_it() {
        let text = "n: x\u{a0}\n";
        for s in [Stream::parse(text), Stream::parse_by_saphyr(text)] {
            let s = s.unwrap();
            let value = s.get(s.documents[0].root, "n").unwrap();
            assert_eq!(
                s.verbatim_span(value, text).map(|v| &text[v]),
                Some("x\u{a0}")
            );
        }
    }

    #[test]
    fn spans_leave_out_anchors_tags_and_trailing_comments() {
        let text = "a: &x nginx:latest\nb: !!str \"q:1\"   # c\nc: 'it''s'  \nd: plain   # c\n\
                    e: |\n  !x y\nf: >\n  &x\ng: !t |\n  z\n";
        let s = stream(text);
        let root = s.documents[0].root;
        for (key, expected) in [
            ("a", "nginx:latest"),
            ("b", "\"q:1\""),
            ("c", "'it''s'"),
            ("d", "plain"),
            ("e", "!x y\n"),
            ("f", "&x\n"),
            ("g", "|\n  z\n"),
        ] {
            let node = s.node(s.get(root, key).unwrap());
            assert_eq!(&text[node.span.clone()], expected, "{key}");
        }
    }

    #[test]
    fn escaped_and_folded_scalars_are_not_verbatim() {
        let text = "a: \"x\\u003a1\"\nb: >\n  x:1\nc: 'it''s'\n";
        let s = stream(text);
        let root = s.documents[0].root;
        for key in ["a", "b", "c"] {
            assert_eq!(
                s.verbatim_span(s.get(root, key).unwrap(), text),
                None,
                "{key}"
            );
        }
    }

    #[test]
    fn merge_keys_and_aliases_share_the_anchored_node() {
        let text = "x-base: &base\n  image: app:1\n  ports: [1]\nsvc:\n  <<: *base\n  ports: [2]\n";
        let s = stream(text);
        let root = s.documents[0].root;
        let svc = s.get(root, "svc").unwrap();
        let image = s.get(svc, "image").unwrap();
        assert_eq!(&text[s.node(image).span.clone()], "app:1");
        let ports = s.get(svc, "ports").unwrap();
        assert_eq!(&text[s.node(ports).span.clone()], "[2]");
    }

    #[test]
    fn multi_documents_and_errors() {
        assert_eq!(stream("a: 1\n---\nb: 2\n---\n").documents.len(), 3);
        let error = Stream::parse("a: 1\n  b: [\n").unwrap_err();
        assert!(error.line >= Some(2), "{error:?}");
    }

    #[test]
    fn an_error_at_the_end_of_the_text_is_on_its_last_line() {
        for text in ["a:\n  b: [c\n", "a:\n  b: [c\n\n", "a:\n  b: [c"] {
            let error = Stream::parse(text).unwrap_err();
            assert_eq!((error.line, error.column), (Some(2), Some(8)), "{text:?}");
        }
        let text = "a:\n  b: [c\n---\nd: 1\n";
        let next = Stream::parse_wanted(text, |doc| doc.contains('b')).unwrap_err();
        assert_eq!((next.line, next.column), (Some(2), Some(8)));
    }

    #[test]
    fn documents_are_cut_at_their_marker_lines() {
        let text = "a: 1\n---\nb: |\n  ---\n--- # c\n---x: 2\n ---\n---";
        let parts: Vec<&str> = documents(text).into_iter().map(|p| &text[p]).collect();
        assert_eq!(
            parts,
            [
                "a: 1\n",
                "---\nb: |\n  ---\n",
                "--- # c\n---x: 2\n ---\n",
                "---"
            ]
        );
        assert_eq!(documents("%YAML 1.2\n---\na: 1\n---\nb: 2\n").len(), 1);
    }

    #[test]
    fn documents_left_out_are_not_parsed_and_the_rest_keep_file_positions() {
        let text = "a: [\n---\nimage: é:1\n---\nb: 1\n  c: 2\n";
        let s = Stream::parse_wanted(text, |doc| doc.contains("image")).unwrap();
        assert_eq!(s.documents.len(), 1);
        let image = s.get(s.documents[0].root, "image").unwrap();
        assert_eq!(&text[s.verbatim_span(image, text).unwrap()], "é:1");
        let error = Stream::parse_wanted(text, |doc| doc.contains('c')).unwrap_err();
        let alone = Stream::parse("---\nb: 1\n  c: 2\n").unwrap_err();
        assert_eq!(
            (error.line, error.column, error.message),
            (alone.line.map(|line| line + 3), alone.column, alone.message)
        );
        assert!(Stream::parse(text).is_err());
    }

    /// Every YAML file under testdata/: the corpus, each kind's fixtures, the cases.
    fn testdata() -> Vec<(String, String)> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
        let mut out = Vec::new();
        for entry in ignore::WalkBuilder::new(&root)
            .standard_filters(false)
            .build()
            .flatten()
        {
            let path = entry.path();
            let yaml = path
                .extension()
                .is_some_and(|e| e == "yaml" || e == "yml" || e == "json");
            if let Some(text) = yaml.then(|| std::fs::read_to_string(path).ok()).flatten() {
                out.push((path.display().to_string(), text));
            }
        }
        assert!(out.len() > 400, "{} files", out.len());
        out
    }

    fn same(what: &str, one: Result<Stream, FileError>, other: Result<Stream, FileError>) {
        if let Some(difference) = difference(one, other) {
            panic!("{what}:\n{difference}");
        }
    }

    /// What differs between two builds of one text, if anything.
    fn difference(
        one: Result<Stream, FileError>,
        other: Result<Stream, FileError>,
    ) -> Option<String> {
        match (one, other) {
            (Ok(one), Ok(other)) => {
                let (one, other) = (format!("{one:?}"), format!("{other:?}"));
                (one != other).then(|| format!("{one}\n{other}"))
            }
            (Err(one), Err(other)) => (one != other).then(|| format!("{one:?} / {other:?}")),
            (one, other) => Some(format!("{one:?} / {other:?}")),
        }
    }

    /// Each file builds the same arena, or fails at the same place, parsed document by document
    /// as parsed whole.
    #[test]
    fn documents_parsed_apart_build_what_the_whole_stream_builds() {
        let mut split = 0;
        for (path, text) in testdata() {
            let parts = documents(&text);
            split += usize::from(parts.len() > 1);
            let apart = Stream::parse_parts(&text, parts.into_iter().map(|p| (p, true)));
            same(&path, Stream::parse(&text), apart);
        }
        assert!(split > 20, "{split} split");
    }

    /// Does the fast path take `text`, and does it build what saphyr builds?
    fn fast_path_agrees(what: &str, text: &str) -> bool {
        same(what, Stream::parse(text), Stream::parse_by_saphyr(text));
        block::events(text, 0, &mut Vec::new())
    }

    #[test]
    fn block_scalars_and_flow_lists_are_taken_by_the_fast_path() {
        for text in [
            "a: >\n  one\n  two\n\n  three\n\n\n  four\nb: 1\n",
            "a: >-\n  x\n  y\n\n",
            "- >\n  p q\n  r\n- |\n  s\n\n   t\n  # u\n",
            "a: |-\n  x\n\n  y\n\n\nb: |\n  z",
            "a: [x, 'y', \"z\"]  # c\nb: []\nc: {}\n",
            "a:\n  {}\nb:\n    [x, y]  # c\n\nc: 1\n",
        ] {
            assert!(fast_path_agrees(text, text), "{text:?}");
        }
    }

    /// Each file, and thousands of small edits of them that reach the edges of the fast path's
    /// subset (indentation, indicators, quotes, comments, markers), build the same arena or
    /// error with the [`block`] fast path as by saphyr alone.
    #[test]
    fn the_fast_path_builds_what_saphyr_builds() {
        let files = testdata();
        let taken = files
            .iter()
            .filter(|(path, text)| fast_path_agrees(path, text))
            .count();
        assert!(
            taken * 2 > files.len(),
            "{taken} of {} files taken",
            files.len()
        );
        let small: Vec<&str> = files
            .iter()
            .map(|(_, text)| text.as_str())
            .filter(|text| text.len() < 3000)
            .collect();
        const EDITS: [&str; 27] = [
            " ", "  ", "-", "- ", ":", ": ", "#", " #", "\n", "\n  ", "\"", "'", "''", "a", "[",
            "]", ",", "{}", "[a, 'b']", "&a ", "*a", "!t ", "|", "|-\n", ">", "---\n", "\n\n",
        ];
        let mut rng = fastrand::Rng::with_seed(14);
        let mut edited_taken = 0;
        for round in 0..10000 {
            let mut text = small[rng.usize(..small.len())].to_string();
            for _ in 0..rng.usize(1..4) {
                let mut at = rng.usize(..=text.len());
                while !text.is_char_boundary(at) {
                    at -= 1;
                }
                if rng.bool() {
                    text.insert_str(at, EDITS[rng.usize(..EDITS.len())]);
                } else {
                    let mut end = (at + rng.usize(1..4)).min(text.len());
                    while !text.is_char_boundary(end) {
                        end += 1;
                    }
                    text.replace_range(at..end, "");
                }
            }
            edited_taken +=
                usize::from(fast_path_agrees(&format!("edit {round}: {text:?}"), &text));
        }
        assert!(edited_taken > 3000, "{edited_taken} edited texts taken");
    }

    /// YAML written from a small grammar that reaches the edges of the fast path's subset:
    /// nesting and indentation, compact and indentless sequences, every indicator at the
    /// start of a key or value, comments glued or spaced, quotes, flow lists, block scalars
    /// with each header, blank and space-only lines, markers, and a missing final newline.
    struct Writer {
        rng: fastrand::Rng,
        out: String,
        /// How much rarer than their base rate the odd choices are in this stream.
        calm: u32,
    }

    impl Writer {
        const PIECES: [&'static str; 47] = [
            "\u{a0}",
            "\u{3000}",
            "\u{200b}",
            "e\u{301}",
            "\u{10ffff}",
            "a",
            "b",
            "image",
            "x1",
            "é",
            "日本",
            "😀",
            " ",
            "  ",
            "#",
            " #",
            " # c",
            ":",
            ": ",
            "::",
            "-",
            "- ",
            "?",
            "? ",
            "'",
            "''",
            "\"",
            "[",
            "]",
            ",",
            "{",
            "}",
            "*",
            "&",
            "!",
            "%",
            "@",
            "`",
            "|",
            ">",
            "...",
            "---",
            "~",
            "null",
            "1",
            "-1",
            "a b",
        ];

        fn pick<'p>(&mut self, from: &[&'p str]) -> &'p str {
            from[self.rng.usize(..from.len())]
        }

        /// True once in `n` times the stream's calm.
        fn odd(&mut self, n: u32) -> bool {
            self.rng.u32(..n * self.calm) == 0
        }

        /// One of `usual`, or now and then one of `odd`.
        fn edge<'p>(&mut self, usual: &[&'p str], odd: &[&'p str]) -> &'p str {
            match self.odd(4) {
                true => self.pick(odd),
                false => self.pick(usual),
            }
        }

        fn word(&mut self) -> String {
            if self.odd(40) {
                return "x".repeat(self.rng.usize(500..1100));
            }
            let mut word = String::new();
            for _ in 0..self.rng.usize(1..4) {
                word.push_str(if self.odd(4) {
                    self.pick(&Self::PIECES)
                } else {
                    self.pick(&["a", "b", "image", "x1", "é", "v2"])
                });
            }
            word
        }

        fn scalar(&mut self) -> String {
            match self.rng.u8(..8) {
                0 => format!("'{}'", self.word().replace('\'', "''")),
                1 => format!("\"{}\"", self.word().replace(['"', '\\'], "")),
                2 => format!("'{}'", self.word()),
                3 => format!("\"{}\"", self.word()),
                _ => self.word(),
            }
        }

        fn flow(&mut self) -> String {
            let open = self.edge(&["[", "[ "], &["{", "{ "]);
            let mut flow = String::from(open);
            for i in 0..self.rng.usize(..4) {
                if i > 0 {
                    let comma = self.edge(&[", ", ","], &[" , ", ",  "]);
                    flow.push_str(comma);
                }
                let item = if self.odd(6) {
                    self.flow()
                } else {
                    self.scalar()
                };
                flow.push_str(&item);
            }
            let close = match open.starts_with('{') {
                true => self.edge(&["}"], &["]", " }", ""]),
                false => self.edge(&["]"], &[" ]", ",]", "}", ""]),
            };
            flow.push_str(close);
            flow
        }

        fn comment(&mut self) -> &'static str {
            self.edge(&["", "", " # c"], &["  #c", "#c", " #", "   "])
        }

        fn line(&mut self, indent: usize, text: &str) {
            self.out.push_str(&" ".repeat(indent));
            self.out.push_str(text);
            let comment = self.comment();
            self.out.push_str(comment);
            self.out.push('\n');
            self.noise(indent);
        }

        /// Blank, space-only and comment lines between content lines.
        fn noise(&mut self, indent: usize) {
            if self.rng.u8(..6) == 0 {
                let spaces = indent + self.rng.usize(..4) - self.rng.usize(..=indent.min(3));
                let text = self.pick(&["", "# c", " # c", "#"]);
                self.out.push_str(&" ".repeat(spaces));
                self.out.push_str(text);
                self.out.push('\n');
            }
        }

        /// An indentation near `indent`: usually it, sometimes one off.
        fn near(&mut self, indent: usize) -> usize {
            match self.rng.u32(..10 * self.calm) {
                0 => indent + 1,
                1 => indent.saturating_sub(1),
                _ => indent,
            }
        }

        fn block_scalar(&mut self, indent: usize) {
            let header = self.edge(
                &["|", ">", "|-", ">-"],
                &["|+", ">+", "|2", ">1", "|-2", "| # c"],
            );
            self.out.push_str(header);
            self.out.push('\n');
            let columns = indent + self.rng.usize(..4);
            for _ in 0..self.rng.usize(..5) {
                let spaces = match self.rng.u32(..6 * self.calm) {
                    0 => columns + self.rng.usize(1..3),
                    1 => columns.saturating_sub(1),
                    _ => columns,
                };
                let text = match self.rng.u8(..5) {
                    0 => String::new(),
                    1 => "# c".to_string(),
                    _ => self.word(),
                };
                self.out.push_str(&" ".repeat(spaces));
                self.out.push_str(&text);
                self.out.push('\n');
            }
        }

        /// What follows a key's `:` or an entry's `-`, for a collection at `indent`.
        fn value(&mut self, indent: usize, depth: usize, entry: bool) {
            let nested = depth < 5
                && if entry {
                    self.odd(8)
                } else {
                    self.rng.u8(..3) == 0
                };
            if nested {
                let comment = self.comment();
                self.out.push_str(comment);
                self.out.push('\n');
                self.noise(indent);
                let step = self.rng.usize(..4);
                match self.rng.u8(..5) {
                    0 => {
                        let flow = self.flow();
                        self.line(indent + step, &flow);
                    }
                    1 | 2 => self.sequence(indent + step, depth + 1),
                    _ => self.mapping(indent + step.max(1), depth + 1, None),
                }
                return;
            }
            let space = self.edge(&[" "], &["", "  "]);
            self.out.push_str(space);
            match self.rng.u8(..8) {
                0 => self.block_scalar(indent + 1),
                1 => {
                    let flow = self.flow();
                    self.line(0, &flow);
                }
                2 => {
                    let comment = self.comment();
                    self.out.push_str(comment);
                    self.out.push('\n');
                    self.noise(indent);
                }
                _ => {
                    let scalar = self.scalar();
                    self.line(0, &scalar);
                }
            }
        }

        fn mapping(&mut self, indent: usize, depth: usize, first: Option<usize>) {
            for i in 0..self.rng.usize(1..4) {
                let key = if self.odd(5) {
                    self.scalar()
                } else {
                    self.edge(
                        &["a", "b", "image", "k", "é"],
                        &[
                            "-k", "a:b", "a#b", "...", "[a, b]", "? a", "&a k", "*a", "!t k", "<<",
                        ],
                    )
                    .to_string()
                };
                let at = match (i, first) {
                    (0, Some(_)) => 0,
                    _ => self.near(indent),
                };
                self.out.push_str(&" ".repeat(at));
                self.out.push_str(&key);
                let colon = self.edge(&[":"], &[" :", "::"]);
                self.out.push_str(colon);
                self.value(indent, depth, false);
            }
        }

        fn sequence(&mut self, indent: usize, depth: usize) {
            for _ in 0..self.rng.usize(1..4) {
                let at = self.near(indent);
                self.out.push_str(&" ".repeat(at));
                self.out.push('-');
                if depth < 5 && self.rng.u8(..4) == 0 {
                    let gap = self.rng.usize(1..4);
                    self.out.push_str(&" ".repeat(gap));
                    self.mapping(indent + 1 + gap, depth + 1, Some(gap));
                } else if depth < 5 && self.odd(8) {
                    self.out.push(' ');
                    self.sequence(0, depth + 1);
                } else {
                    self.value(indent, depth, true);
                }
            }
        }

        /// Collections nested `depth` deep, around the fast path's limit.
        fn deep(&mut self, depth: usize) {
            let mut indent = 0;
            for _ in 0..depth {
                self.out.push_str(&" ".repeat(indent));
                if self.rng.bool() {
                    self.out.push_str("- ");
                    indent += 2;
                    if self.rng.bool() {
                        self.out.push_str("k:\n");
                        indent += 1;
                    } else {
                        self.out.push_str("k:\n");
                        self.out.push_str(&" ".repeat(indent));
                        self.out.push_str("- k:\n");
                        indent += 3;
                    }
                } else {
                    self.out.push_str("k:\n");
                    indent += 1;
                }
            }
            self.mapping(indent, 0, None);
        }

        fn stream(seed: u64) -> String {
            let mut writer = Writer {
                rng: fastrand::Rng::with_seed(seed),
                out: String::new(),
                calm: 1,
            };
            writer.calm = *writer.rng.choice(&[1, 3, 10, 30]).unwrap();
            writer.noise(0);
            for i in 0..writer.rng.usize(1..3) {
                if i > 0 || writer.rng.u8(..3) == 0 {
                    let marker = writer.edge(
                        &["---", "--- ", "--- # c"],
                        &[
                            "--- a", "--- |", "...", "... a: b", "---a", "--- - a", "--- [a]",
                        ],
                    );
                    writer.out.push_str(marker);
                    writer.out.push('\n');
                    writer.noise(0);
                }
                let indent = writer.rng.usize(..2);
                if writer.odd(20) {
                    let depth = writer.rng.usize(28..40);
                    writer.deep(depth);
                } else if writer.rng.bool() {
                    writer.sequence(indent, 0);
                } else {
                    writer.mapping(indent, 0, None);
                }
            }
            if writer.rng.u8(..4) == 0 {
                writer.out.pop();
            }
            writer.out
        }
    }

    /// Streams written from [`Writer`]'s grammar build the same with the fast path as by
    /// saphyr alone. `TAGPIN_YAML_CASES=2000000 cargo test --release --lib generated_yaml`
    /// looks further.
    #[test]
    fn generated_yaml_builds_what_saphyr_builds() {
        let cases: u64 = std::env::var("TAGPIN_YAML_CASES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(20_000);
        let mut taken = 0;
        let mut found: Vec<String> = (0..cases)
            .map(Writer::stream)
            .filter_map(|text| {
                taken += usize::from(block::events(&text, 0, &mut Vec::new()));
                difference(Stream::parse(&text), Stream::parse_by_saphyr(&text))
                    .map(|d| format!("{text:?}\n{d}"))
            })
            .collect();
        found.sort_by_key(String::len);
        assert!(
            found.is_empty(),
            "{} disagree, e.g.\n{}",
            found.len(),
            found[..found.len().min(3)].join("\n\n")
        );
        assert!(taken as u64 * 4 > cases, "{taken} of {cases} taken");
    }

    /// Disagreements [`Writer`]'s streams found, each now given up on by the fast path.
    #[test]
    fn the_fast_path_gives_up_where_it_disagreed() {
        for text in [
            // `...` then a space ends the document, even before `a: b`.
            "... a: b\n",
            "b: 1\n... a: b\nc: 2\n",
            // A block scalar's last line of spaces, unended: an empty one, or one more break.
            "- |-\n ",
            "- |\n a\n ",
            "- >\n a\n\n ",
        ] {
            assert!(!fast_path_agrees(text, text), "{text:?}");
        }
        // A quoted key longer than saphyr's bound on implicit keys.
        for quote in ["\"", "'"] {
            let text = format!("- {quote}{}{quote}: b\n", "x".repeat(1100));
            assert!(!fast_path_agrees(&text, &text), "{quote} key");
        }
    }

    #[test]
    fn duplicate_keys_name_both_lines() {
        let error =
            Stream::parse("services:\n  web:\n    image: a:1\n    ports: [1]\n    image: a:2\n")
                .unwrap_err();
        assert_eq!((error.line, error.column), (Some(5), Some(5)));
        assert_eq!(
            error.message,
            "duplicate key `image` on lines 3 and 5: keep one"
        );
        assert!(Stream::parse("a: {b: 1, b: 2}\n").is_err());
        assert!(Stream::parse("a: {b: 1}\nc: {b: 1}\n<<: {a: 2}\n").is_ok());
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let text = "[".repeat(100_000);
        assert!(Stream::parse(&text).is_err());
        let mut block = String::new();
        for depth in 0..10_000 {
            block.push_str(&" ".repeat(depth));
            block.push_str("a:\n");
        }
        let error = Stream::parse(&block).unwrap_err();
        assert!(error.message.contains("nesting deeper"), "{error:?}");
    }

    #[test]
    fn merge_key_bombs_are_walked_once() {
        let mut text = String::from("a0: &a0 {image: x:1}\n");
        for i in 1..60 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} {{<<: [*a{p}, *a{p}, *a{p}, *a{p}], k{i}: v}}\n"
            ));
        }
        let s = stream(&text);
        let root = s.documents[0].root;
        let last = s.get(root, "a59").unwrap();
        assert!(s.get(last, "image").is_some());
        assert_eq!(s.entries(last).len(), 60);
    }

    #[test]
    fn alias_bombs_stay_small() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..30 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let s = stream(&text);
        assert!(s.nodes.len() < 200);
    }
}
