//! A cheap test before a YAML parse: a file whose bytes hold none of the words the scanners of
//! its kind look for cannot give a reference or a plugin, so it is not parsed at all.
//!
//! Parsing is most of the time of a run, and many YAML files in a repository hold no image (CRDs,
//! configuration, docs). Each scanner declares its words next to its code (`WORDS`); the lists
//! here only pick which scanners run on a kind, as `scan_yaml` does. The words are keys and
//! markers as written in the file (case-sensitive): a key spelled with escapes (`"ima\x67e"`) is
//! not seen, which no real file does. A file passed over this way reports no YAML syntax error
//! either: it holds nothing tagpin reads. The same test picks the documents of a
//! multi-document file that are parsed ([`crate::yaml::Stream::parse_wanted`]).

use std::sync::OnceLock;

use memchr::memmem::Finder;

use super::{
    FileKind, Kind, ci, compose, flow, github, gitlab, helm, kubernetes, kustomize, plugins,
};

/// Whether a file of `kind` may hold something a scanner finds; `true` for kinds that are not
/// parsed as YAML (their scanners are as cheap as this test).
pub(super) fn may_match(kind: Kind, text: &str) -> bool {
    let Some(group) = group(kind) else {
        return true;
    };
    // A few words, most files holding the first: a SIMD finder per word (cheap to build for a
    // five-file run) beats a multi-word automaton, and `str::contains` by a few times.
    static WORDS: [OnceLock<Vec<Finder>>; GROUPS] = [const { OnceLock::new() }; GROUPS];
    WORDS[group as usize]
        .get_or_init(|| words(group).into_iter().map(Finder::new).collect())
        .iter()
        .any(|word| word.find(text.as_bytes()).is_some())
}

/// The sets of scanners that run on a YAML file, by its kind.
#[derive(Debug, Clone, Copy)]
enum Group {
    /// Content decides (`scan_yaml` without a kind): manifests, compose, flows, GitLab CI.
    Content,
    Compose,
    Helm,
    Kustomize,
    Github,
    Gitlab,
    Ci,
}

const GROUPS: usize = 7;

fn group(kind: Kind) -> Option<Group> {
    Some(match kind {
        Kind::Yaml | Kind::Json => Group::Content,
        Kind::Known(kind) => match kind {
            FileKind::Compose => Group::Compose,
            FileKind::Helm => Group::Helm,
            FileKind::Kustomize => Group::Kustomize,
            FileKind::GithubActions => Group::Github,
            FileKind::GitlabCi => Group::Gitlab,
            FileKind::Bitbucket
            | FileKind::Circleci
            | FileKind::AzurePipelines
            | FileKind::Woodpecker => Group::Ci,
            FileKind::Kubernetes | FileKind::Flow | FileKind::Config => Group::Content,
            FileKind::Dockerfile | FileKind::Shell => return None,
        },
        Kind::HelmTemplate | Kind::Env | Kind::Unnamed => return None,
    })
}

fn words(group: Group) -> Vec<&'static str> {
    let references: &[&[&'static str]] = match group {
        Group::Content => &[
            &kubernetes::WORDS,
            &compose::WORDS,
            &flow::WORDS,
            &gitlab::WORDS,
        ],
        Group::Compose => &[&compose::WORDS],
        Group::Helm => &[&helm::WORDS],
        Group::Kustomize => &[&kustomize::WORDS],
        Group::Github => &[&github::WORDS],
        Group::Gitlab => &[&gitlab::WORDS],
        Group::Ci => &[&ci::WORDS],
    };
    // Every YAML file is looked at for plugins. (Suppressions need no parse: their warnings
    // are read from the text, and TP014 only speaks in files that have references.)
    let mut words: Vec<&str> = references.iter().copied().flatten().copied().collect();
    words.extend(plugins::WORDS);
    let mut seen = Vec::new();
    words.retain(|word| {
        !seen.contains(word) && {
            seen.push(*word);
            true
        }
    });
    words
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::{Scan, classify, scan, scan_with};
    use crate::source::SourceFile;
    use std::path::Path;

    fn fingerprint(scan: &Scan) -> String {
        format!(
            "{:?} {:?} {:?}",
            scan.references, scan.plugins, scan.skipped
        )
    }

    /// Every file under testdata/ (the corpus, the demo, each kind's fixtures, the cases) gives
    /// the same references and plugins with the pre-filter as without it.
    #[test]
    fn every_fixture_gives_the_same_scan_with_the_prefilter() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
        let (mut checked, mut passed, mut found) = (0, 0, 0);
        for entry in ignore::WalkBuilder::new(&root)
            .standard_filters(false)
            .build()
            .flatten()
        {
            let path = entry.path();
            let Some(kind) = path.is_file().then(|| classify(path)).flatten() else {
                continue;
            };
            let Ok(text) = std::fs::read_to_string(path) else {
                continue;
            };
            let file = SourceFile::new(path.to_path_buf(), text);
            let (Ok(all), Ok(filtered)) = (scan_with(&file, kind, false), scan(&file, kind)) else {
                continue;
            };
            checked += 1;
            found += all.references.len() + all.plugins.len();
            passed += usize::from(!may_match(kind, &file.text));
            assert_eq!(
                fingerprint(&filtered),
                fingerprint(&all),
                "{}",
                path.display()
            );
        }
        // The fixtures exercise both sides of the filter.
        assert!(
            checked > 400 && found > 500,
            "{checked} files, {found} found"
        );
        assert!(passed > 10, "{passed} files passed over");
    }

    #[test]
    fn files_without_the_words_are_passed_over() {
        let yaml = Kind::Yaml;
        assert!(!may_match(
            yaml,
            "apiVersion: v1\nkind: ConfigMap\ndata: {a: b}\n"
        ));
        assert!(may_match(yaml, "spec:\n  containers:\n  - image: x\n"));
        assert!(may_match(
            yaml,
            "tasks:\n- type: io.kestra.plugin.x.Y\n  version: LATEST\n"
        ));
        // A suppression alone gives nothing to parse for: its warnings come from the text.
        assert!(!may_match(yaml, "a: 1 # tagpin: ignore\n"));
        let helm = Kind::Known(FileKind::Helm);
        assert!(may_match(helm, "server:\n  repository: nginx\n"));
        assert!(!may_match(helm, "replicas: 2\n"));
        let gitlab = Kind::Known(FileKind::GitlabCi);
        assert!(may_match(gitlab, "test:\n  services: [postgres:16]\n"));
        let github = Kind::Known(FileKind::GithubActions);
        assert!(may_match(github, "jobs:\n  a:\n    container: node:22\n"));
        assert!(may_match(Kind::Known(FileKind::Dockerfile), ""));
    }
}
