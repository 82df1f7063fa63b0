use super::Reference;

pub(super) fn scan(_text: &str) -> Vec<Reference> {
    Vec::new()
}
