use super::{Doc, Reference};
use crate::yaml::NodeId;

pub(super) fn scan(_doc: &Doc<'_>, _root: NodeId, _out: &mut Vec<Reference>) {}
pub(super) fn is_flow(_doc: &Doc<'_>, _root: NodeId) -> bool { false }
