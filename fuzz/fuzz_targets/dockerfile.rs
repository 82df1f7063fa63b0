//! The Dockerfile scanner on arbitrary text: no panic, spans on character boundaries, tags that
//! map back to the file spelled by those bytes, plugin spans inside the text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tagpin::reference::Image;
use tagpin::scan::{self, FileKind, Kind};
use tagpin::source::SourceFile;

fuzz_target!(|text: &str| {
    let file = SourceFile::new("Dockerfile".into(), text.to_string());
    let scanned = scan::scan(&file, Kind::Known(FileKind::Dockerfile)).expect("Dockerfiles always scan");
    for reference in &scanned.references {
        assert!(text.get(reference.span.clone()).is_some());
        if let Ok(image) = Image::parse(&reference.value.text)
            && let Some(range) = image.tag_range.clone()
            && let Some(span) = reference.value.span_of(range.clone())
        {
            assert_eq!(&text[span], &reference.value.text[range]);
        }
    }
    for plugin in &scanned.plugins {
        assert!(text.get(plugin.span.clone()).is_some());
    }
});
