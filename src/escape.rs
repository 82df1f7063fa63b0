//! The one way text from a repository (file contents, file names, parser messages quoting them)
//! is made safe to print: a terminal or a CI log never receives a control character it would
//! act on (an escape sequence that sets the title, clears the screen, moves the cursor over a
//! finding, or a carriage return that overwrites a line).
//!
//! Escaped are C0 controls (below 0x20), DEL, the C1 range (0x80–0x9f: `\u{9b}` is a CSI to
//! some terminals) and the bidirectional overrides that reorder what a line shows ("Trojan
//! Source"). Escapes read like Rust's: `\e`, `\t`, `\x07`, `\u{9b}`. Backslashes are left as
//! they are: paths and messages keep their shape, and an escape is never a control character.
//!
//! JSON documents go through [`json`]: serde_json escapes what RFC 8259 requires (below 0x20);
//! DEL, C1 and the overrides are valid raw in JSON but reach a terminal raw when a document is
//! printed, so they are written as `\u00XX` escapes, which every parser reads back as the same
//! character.

use std::borrow::Cow;
use std::io::{self, Write};

/// Whether a character is one a terminal may act on.
fn unsafe_char(c: char) -> bool {
    matches!(c, '\0'..='\x1f' | '\x7f'..='\u{9f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// The first bytes of the UTF-8 of every unsafe character above C0 (DEL; C1; the overrides):
/// a byte scan finds where to look.
const UNSAFE_ABOVE_C0_START: [u8; 3] = [0x7f, 0xc2, 0xe2];

fn push_escape(out: &mut String, c: char) {
    use std::fmt::Write as _;
    let _ = match c {
        '\t' => write!(out, "\\t"),
        '\n' => write!(out, "\\n"),
        '\r' => write!(out, "\\r"),
        '\x1b' => write!(out, "\\e"),
        '\0'..='\x7f' => write!(out, "\\x{:02x}", c as u32),
        _ => write!(out, "\\u{{{:x}}}", c as u32),
    };
}

/// Text for one line of output (a message, a path, a reference): every unsafe character,
/// newlines included, as an escape.
pub fn text(text: &str) -> Cow<'_, str> {
    escape_where(text, |_, _| true)
}

fn escape_where(text: &str, mut escape: impl FnMut(&str, usize) -> bool) -> Cow<'_, str> {
    if !text.contains(unsafe_char) {
        return text.into();
    }
    let mut out = String::with_capacity(text.len() + 16);
    for (at, c) in text.char_indices() {
        if unsafe_char(c) && escape(text, at) {
            push_escape(&mut out, c);
        } else {
            out.push(c);
        }
    }
    out.into()
}

/// A file's text as a snippet shows it: line breaks (`\n`, `\r\n`) and tabs kept, every other
/// unsafe character escaped; byte offsets into the original map onto the copy with [`Self::offset`].
#[derive(Debug)]
pub struct Snippet {
    pub text: String,
    /// Original start offset of each escaped character and how many bytes longer its escape is.
    shifts: Vec<(usize, usize)>,
}

/// Whether the character at `at` is a line break or tab a multi-line text keeps.
fn kept(text: &str, at: usize) -> bool {
    match text.as_bytes()[at] {
        b'\n' | b'\t' => true,
        b'\r' => text.as_bytes().get(at + 1) == Some(&b'\n'),
        _ => false,
    }
}

/// Text of several lines (a diff): line breaks and tabs kept, every other unsafe character
/// escaped.
pub fn lines(text: &str) -> Cow<'_, str> {
    escape_where(text, |text, at| !kept(text, at))
}

impl Snippet {
    pub fn new(original: &str) -> Snippet {
        let text = lines(original).into_owned();
        let mut shifts = Vec::new();
        let mut grown = 0;
        let mut scratch = String::new();
        for (at, c) in original.char_indices() {
            if unsafe_char(c) && !kept(original, at) {
                scratch.clear();
                push_escape(&mut scratch, c);
                grown += scratch.len() - c.len_utf8();
                shifts.push((at, grown));
            }
        }
        Snippet { text, shifts }
    }

    /// Where a byte offset of the original text is in the escaped copy: an escaped character
    /// at the offset starts there, one ending there is wholly before it.
    pub fn offset(&self, original: usize) -> usize {
        let before = self.shifts.partition_point(|&(at, _)| at < original);
        original + before.checked_sub(1).map_or(0, |i| self.shifts[i].1)
    }
}

/// A JSON document, pretty-printed, with DEL, C1 and the bidirectional overrides escaped as
/// `\u00XX` (outside strings JSON has none of them, so every one is inside a string).
pub fn json(out: &mut dyn Write, value: &impl serde::Serialize) -> io::Result<()> {
    let mut escaped = JsonOut {
        out,
        pending: Vec::with_capacity(JSON_CHUNK + 1024),
    };
    serde_json::to_writer_pretty(&mut escaped, value)?;
    escaped.pending.push(b'\n');
    escaped.drain(true)
}

/// How much of a JSON document is held before it is escaped and written: a large report is
/// streamed, never built whole in memory.
const JSON_CHUNK: usize = 64 * 1024;

/// serde_json's output on its way to `out`, held until a chunk is full so that a character is
/// never cut between two writes.
struct JsonOut<'a> {
    out: &'a mut dyn Write,
    pending: Vec<u8>,
}

impl JsonOut<'_> {
    /// Escape and write what is held: at the `end` all of it, else up to the last whole
    /// character.
    fn drain(&mut self, end: bool) -> io::Result<()> {
        let invalid = |e| io::Error::new(io::ErrorKind::InvalidData, e);
        let JsonOut { out, pending } = self;
        let mut rest = match std::str::from_utf8(pending) {
            Ok(text) => text,
            Err(e) if !end && e.error_len().is_none() => {
                std::str::from_utf8(&pending[..e.valid_up_to()]).map_err(invalid)?
            }
            Err(e) => return Err(invalid(e)),
        };
        let whole = rest.len();
        // serde_json escaped every C0 control inside strings; the ones left are its line breaks.
        let mut from = 0;
        let [a, b, c] = UNSAFE_ABOVE_C0_START;
        while let Some(at) = memchr::memchr3(a, b, c, &rest.as_bytes()[from..]).map(|i| from + i) {
            let c = rest[at..].chars().next().unwrap_or_default();
            if unsafe_char(c) {
                write!(out, "{}\\u{:04x}", &rest[..at], c as u32)?;
                rest = &rest[at + c.len_utf8()..];
                from = 0;
            } else {
                from = at + c.len_utf8();
            }
        }
        out.write_all(rest.as_bytes())?;
        pending.drain(..whole);
        Ok(())
    }
}

impl Write for JsonOut<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        if self.pending.len() >= JSON_CHUNK {
            self.drain(false)?;
        }
        Ok(buf.len())
    }

    /// serde_json writes token by token: one call each, without the default's loop.
    #[inline]
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.write(buf).map(drop)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_escapes_every_control_character() {
        assert_eq!(
            text("a\x1b]0;pwned\x07\x1b[2Jb\n\r\t\x7f\u{9b}\u{202e}é\\e"),
            "a\\e]0;pwned\\x07\\e[2Jb\\n\\r\\t\\x7f\\u{9b}\\u{202e}é\\e"
        );
        assert!(matches!(text("plain é/ü"), Cow::Borrowed(_)));
    }

    #[test]
    fn snippets_keep_lines_and_map_offsets() {
        let original = "a: \x1b[2Jx:latest\r\nb:\ty\rz \u{9b}w\n";
        let snippet = Snippet::new(original);
        assert_eq!(snippet.text, "a: \\e[2Jx:latest\r\nb:\ty\\rz \\u{9b}w\n");
        for word in ["x:latest", "b:", "z", "w"] {
            let start = original.find(word).unwrap();
            let end = start + word.len();
            let (start, end) = (snippet.offset(start), snippet.offset(end));
            assert_eq!(&snippet.text[start..end], word);
        }
        let esc = original.find('\x1b').unwrap();
        assert_eq!(
            &snippet.text[snippet.offset(esc)..snippet.offset(esc + 1)],
            "\\e"
        );
        assert_eq!(snippet.offset(original.len()), snippet.text.len());
    }

    #[test]
    fn json_escapes_what_a_terminal_acts_on_and_reads_back_the_same() {
        let value = serde_json::json!({"image": "x:\x1b[2J\x7f\u{9b}\u{202e}é"});
        let mut out = Vec::new();
        json(&mut out, &value).unwrap();
        let printed = String::from_utf8(out).unwrap();
        assert!(
            !printed.contains(|c| c != '\n' && unsafe_char(c)),
            "{printed:?}"
        );
        assert!(
            printed.contains(r"\u001b[2J\u007f\u009b\u202eé"),
            "{printed}"
        );
        let back: serde_json::Value = serde_json::from_str(&printed).unwrap();
        assert_eq!(back, value);
    }

    #[test]
    fn json_streams_a_large_document_without_cutting_a_character() {
        // Characters of 1, 2 and 3 bytes fall on every chunk boundary somewhere.
        let items: Vec<String> = (0..20_000)
            .map(|i| format!("{}é\u{9b}\u{202e}€", "a".repeat(i % 5)))
            .collect();
        let value = serde_json::json!({ "items": items });
        let mut out = Vec::new();
        json(&mut out, &value).unwrap();
        assert!(out.len() > 3 * JSON_CHUNK, "{}", out.len());
        let printed = String::from_utf8(out).unwrap();
        assert!(printed.ends_with("}\n"));
        assert!(!printed.contains(|c| c != '\n' && unsafe_char(c)));
        let back: serde_json::Value = serde_json::from_str(&printed).unwrap();
        assert_eq!(back, value);
    }

    #[test]
    fn every_unsafe_character_above_c0_starts_with_a_byte_the_json_scan_looks_for() {
        for c in ('\x20'..=char::MAX).filter(|&c| unsafe_char(c)) {
            let mut utf8 = [0; 4];
            let first = c.encode_utf8(&mut utf8).as_bytes()[0];
            assert!(UNSAFE_ABOVE_C0_START.contains(&first), "{c:?}");
        }
    }
}
