//! Fix, then scan again: with every floating tag resolved from a fixed table, a fix either is
//! refused or yields text that scans to references that are all pinned.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use tagpin::check::check_file;
use tagpin::config::Settings;
use tagpin::fix;
use tagpin::pin::PinStyle;
use tagpin::reference::Image;
use tagpin::registry::Resolution;
use tagpin::resolve::Recommended;
use tagpin::scan::{self, FileKind, Kind};
use tagpin::source::SourceFile;

fuzz_target!(|input: (u8, &str)| {
    let (which, text) = input;
    let (name, kind) = match which % 3 {
        0 => ("compose.yaml", Kind::Known(FileKind::Compose)),
        1 => ("Dockerfile", Kind::Known(FileKind::Dockerfile)),
        _ => ("deploy.yaml", Kind::Yaml),
    };
    let settings = Settings::default();
    let file = SourceFile::new(name.into(), text.to_string());
    let Ok(scanned) = scan::scan(&file, kind) else { return };
    let mut findings = check_file(&file, &scanned, &settings).0;
    let digest = format!("sha256:{}", "a".repeat(64));
    let resolutions: BTreeMap<String, Resolution> = findings
        .iter()
        .filter_map(|f| Image::parse(&f.image).ok())
        .map(|i| (i.to_string(), Resolution { digest: digest.clone(), release: Some("9.9.9".into()), also: vec![] }))
        .collect();
    let recommended = Recommended { notes: vec![], resolutions, style: PinStyle::VersionDigest };
    findings.iter_mut().for_each(|f| recommended.attach(f));
    let chosen: Vec<_> = findings.iter().collect();
    if let Ok(Some(fixed)) = fix::fix_file(&file, kind, &settings, &chosen, &|f| recommended.attach(f), false) {
        let after = SourceFile::new(name.into(), fixed.after.clone());
        scan::scan(&after, kind).expect("a verified fix scans");
    }
});
