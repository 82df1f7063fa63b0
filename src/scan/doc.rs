//! The helpers every YAML scanner walks a document with: scalars as [`Value`]s, keys, the path
//! to a mapping, variables in a value.

use std::collections::HashSet;

use super::interpolate::{Syntax, interpolate};
use super::{FileKind, Reference, Value, Variable};
use crate::source::Span;
use crate::yaml::{NodeId, Stream};

/// A YAML document and the text it came from, with the helpers every YAML scanner needs.
pub(crate) struct Doc<'a> {
    pub stream: &'a Stream,
    pub text: &'a str,
}

impl Doc<'_> {
    /// A scalar as a [`Value`]: verbatim when the file holds it as such.
    pub fn value(&self, id: NodeId) -> Option<Value> {
        let text = self.stream.scalar(id)?;
        Some(match self.stream.verbatim_span(id, self.text) {
            Some(span) => Value::verbatim(text, span.start),
            None => Value::synthetic(text),
        })
    }

    /// A reference from a scalar holding a whole image reference (`image: app:1`).
    pub fn image(&self, kind: FileKind, id: NodeId, context: String) -> Option<Reference> {
        if self.stream.is_null(id) || self.stream.scalar(id)?.trim().is_empty() {
            return None;
        }
        self.assembled(kind, id, context, &[("", id)])
    }

    /// A reference assembled from scalars, each after its separator (Helm's `registry`,
    /// `repository` and `tag` keys), located at `anchor`. `${VAR:-default}` is taken at its
    /// default in every kind of YAML (compose does it, and manifests are often run through
    /// envsubst-like tools); a variable without default or a template expression (`{{ … }}`,
    /// Helm's or Kestra's Pebble) leaves the reference unresolved.
    pub fn assembled(
        &self,
        kind: FileKind,
        anchor: NodeId,
        context: String,
        parts: &[(&str, NodeId)],
    ) -> Option<Reference> {
        let parts = parts
            .iter()
            .map(|&(separator, id)| Some((separator, self.value(id)?, id)))
            .collect::<Option<Vec<_>>>()?;
        Some(self.evaluated(kind, anchor, context, parts, &|_| None))
    }

    /// A reference from a scalar that holds an image after `prefix` (`docker://alpine:3`).
    pub fn image_after(
        &self,
        kind: FileKind,
        id: NodeId,
        prefix: &str,
        context: String,
    ) -> Option<Reference> {
        let value = self.value(id)?;
        let rest = value.text.strip_prefix(prefix)?;
        if rest.trim().is_empty() {
            return None;
        }
        let value = value.from(prefix.len());
        Some(self.evaluated(kind, id, context, vec![("", value, id)], &|_| None))
    }

    /// A reference from a scalar whose `$VAR`s the file itself may define (GitLab's
    /// `variables:`): `lookup` gives their values.
    pub fn image_with(
        &self,
        kind: FileKind,
        id: NodeId,
        context: String,
        lookup: &dyn Fn(&str) -> Option<Value>,
    ) -> Option<Reference> {
        if self.stream.is_null(id) || self.stream.scalar(id)?.trim().is_empty() {
            return None;
        }
        let value = self.value(id)?;
        Some(self.evaluated(kind, id, context, vec![("", value, id)], lookup))
    }

    fn evaluated(
        &self,
        kind: FileKind,
        anchor: NodeId,
        context: String,
        parts: Vec<(&str, Value, NodeId)>,
        lookup: &dyn Fn(&str) -> Option<Value>,
    ) -> Reference {
        let mut raw = Value::default();
        let mut evaluated = Ok(Value::default());
        for (separator, part, id) in parts {
            raw.push(separator, None);
            raw.append(&part);
            let at = part.span_of(0..part.text.len()).map(|s| s.start);
            let span = self.stream.node(id).span.clone();
            let value = match template_expression(&part, &span) {
                Some(template) => Err(template),
                None => interpolate(&part.text, at, Syntax::Compose, lookup),
            };
            evaluated = evaluated.and_then(|mut whole: Value| {
                whole.push(separator, None);
                whole.append(&value?);
                Ok(whole)
            });
        }
        let mut reference =
            Reference::new(kind, self.stream.node(anchor).span.clone(), raw, context);
        match evaluated {
            Ok(value) => reference.set_value(value),
            Err(variable) => reference.unresolved = Some(variable),
        }
        reference
    }

    /// The mappings of a document, each once; the dotted path that reached each is built
    /// only when a reference needs it.
    pub fn mappings(&self, root: NodeId) -> Mappings {
        let mut mappings = Mappings {
            frames: Vec::new(),
            found: Vec::new(),
        };
        // Only an alias can lead to a node twice.
        let mut seen = self.stream.has_aliases().then(HashSet::new);
        self.collect_mappings(root, None, Step::Root, &mut seen, &mut mappings);
        mappings
    }

    fn collect_mappings(
        &self,
        id: NodeId,
        parent: Option<usize>,
        step: Step,
        seen: &mut Option<HashSet<NodeId>>,
        out: &mut Mappings,
    ) {
        let mapping = self.stream.is_mapping(id);
        if (!mapping && self.stream.items(id).is_empty())
            || seen.as_mut().is_some_and(|seen| !seen.insert(id))
        {
            return;
        }
        let frame = out.frames.len();
        out.frames.push(Frame { parent, step });
        if mapping {
            for (key, value) in self.stream.entries(id) {
                self.collect_mappings(value, Some(frame), Step::Key(key), seen, out);
            }
            out.found.push((frame, id));
        } else {
            for (i, &item) in self.stream.items(id).iter().enumerate() {
                self.collect_mappings(item, Some(frame), Step::Index(i), seen, out);
            }
        }
    }
}

/// Every mapping of a document with the frame (path step) that reached it.
pub(crate) struct Mappings {
    frames: Vec<Frame>,
    pub found: Vec<(usize, NodeId)>,
}

struct Frame {
    parent: Option<usize>,
    step: Step,
}

enum Step {
    Root,
    Key(NodeId),
    Index(usize),
}

impl Mappings {
    /// `spec.template.spec.containers[0]` for a frame.
    pub fn path(&self, doc: &Doc<'_>, frame: usize) -> String {
        let mut steps = Vec::new();
        let mut at = Some(frame);
        while let Some(i) = at {
            steps.push(&self.frames[i].step);
            at = self.frames[i].parent;
        }
        let mut path = String::new();
        for step in steps.into_iter().rev() {
            match step {
                Step::Root => {}
                Step::Key(key) => path = join(&path, doc.stream.scalar(*key).unwrap_or("?")),
                Step::Index(i) => path.push_str(&format!("[{i}]")),
            }
        }
        path
    }

    /// The keys on the way from a frame up to the root, nearest first (list indexes skipped).
    pub fn keys_above<'d>(&self, doc: &Doc<'d>, frame: usize) -> impl Iterator<Item = &'d str> {
        let stream = doc.stream;
        std::iter::successors(Some(frame), |&i| self.frames[i].parent).filter_map(move |i| {
            match self.frames[i].step {
                Step::Key(key) => stream.scalar(key),
                _ => None,
            }
        })
    }

    /// The key that reached a frame, if a key did.
    pub fn key<'d>(&self, doc: &Doc<'d>, frame: usize) -> Option<&'d str> {
        match self.frames[frame].step {
            Step::Key(key) => doc.stream.scalar(key),
            _ => None,
        }
    }
}

/// `a.b` from `a` and `b`; the root's children have no leading dot.
pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// The first `{{ … }}` (or GitHub's `${{ … }}`) in a value: a template the file's consumer
/// renders, not an image.
fn template_expression(value: &Value, span: &Span) -> Option<Variable> {
    let start = value.text.find("{{")?;
    let start = start - usize::from(value.text[..start].ends_with('$'));
    let end = value.text[start..]
        .find("}}")
        .map_or(value.text.len(), |e| start + e + 2);
    let name = value.text[start..end]
        .trim_matches(['$', '{', '}', ' '])
        .to_string();
    let span = value.span_of(start..end).unwrap_or_else(|| span.clone());
    Some(Variable { name, span })
}
