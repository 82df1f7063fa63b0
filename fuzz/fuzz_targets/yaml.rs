//! Every YAML scanner on arbitrary text: no panic, every span on character boundaries, and a
//! tag that maps back to the file maps to the bytes that spell it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tagpin::reference::Image;
use tagpin::scan::{self, FileKind, Kind};
use tagpin::source::SourceFile;

fuzz_target!(|text: &str| {
    let file = SourceFile::new("fuzz.yaml".into(), text.to_string());
    for kind in [
        Kind::Yaml,
        Kind::Known(FileKind::Compose),
        Kind::Known(FileKind::Helm),
        Kind::Known(FileKind::Kustomize),
        Kind::Known(FileKind::GithubActions),
        Kind::Known(FileKind::GitlabCi),
        Kind::Known(FileKind::Bitbucket),
        Kind::Known(FileKind::Circleci),
        Kind::Known(FileKind::AzurePipelines),
        Kind::Known(FileKind::Woodpecker),
        Kind::Json,
        Kind::Unnamed,
    ] {
        let Ok(scanned) = scan::scan(&file, kind) else { continue };
        for reference in &scanned.references {
            assert!(text.get(reference.span.clone()).is_some());
            if let Ok(image) = Image::parse(&reference.value.text)
                && let Some(range) = image.tag_range.clone()
                && let Some(span) = reference.value.span_of(range.clone())
            {
                assert_eq!(&text[span], &reference.value.text[range]);
            }
        }
    }
});
