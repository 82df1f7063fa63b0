//! The machine formats CI consumes: SARIF 2.1.0 validated against the official schema (with
//! rule metadata and fixes), GitHub workflow annotations that parse, GitLab Code Quality.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::registry::TestRegistry;

fn tagpin(dir: &Path, args: &[&str]) -> String {
    let cache = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_tagpin"))
        .args(args)
        .current_dir(dir)
        .env("XDG_CACHE_HOME", cache.path())
        .output()
        .unwrap();
    String::from_utf8(output.stdout).unwrap()
}

fn demo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata")
}

fn validate_sarif(text: &str) -> serde_json::Value {
    let schema_path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/schemas/sarif-schema-2.1.0.json");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(schema_path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let document: serde_json::Value = serde_json::from_str(text).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&document)
        .map(|e| format!("{} at instance_path {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    document
}

#[test]
#[should_panic(expected = "instance_path")]
fn the_schema_check_can_fail() {
    validate_sarif(r#"{"version": "2.1.0", "runs": [{"tool": {"driver": {}}, "results": 5}]}"#);
}

#[test]
fn sarif_is_valid_with_rules_help_and_fixes() {
    let offline = tagpin(
        &demo(),
        &[
            "check",
            "--offline",
            "--today",
            "2026-11-24",
            "--no-config",
            "--format",
            "sarif",
            "demo",
        ],
    );
    let document = validate_sarif(&offline);
    let run = &document["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), tagpin::rules::RULES.len());
    assert!(rules.iter().all(|r| {
        r["helpUri"]
            .as_str()
            .unwrap()
            .ends_with(&format!("rules/docs/{}.md", r["id"].as_str().unwrap()))
    }));
    assert!(run["results"].as_array().unwrap().len() > 10);

    let registry = TestRegistry::start(None);
    registry.seed_kestra("kestra/kestra");
    let work = tempfile::tempdir().unwrap();
    std::fs::write(
        work.path().join("compose.yaml"),
        "services:\n  a:\n    image: kestra/kestra:latest\n",
    )
    .unwrap();
    let mirror = format!("docker.io={}", registry.url);
    let online = tagpin(
        work.path(),
        &[
            "check",
            "--no-config",
            "--format",
            "sarif",
            "--registry-mirror",
            &mirror,
            ".",
        ],
    );
    let document = validate_sarif(&online);
    let fix = &document["runs"][0]["results"][0]["fixes"][0];
    assert_eq!(fix["description"]["text"], "Pin to `kestra/kestra:v2.0.5`");
    let replacement = &fix["artifactChanges"][0]["replacements"][0];
    assert_eq!(replacement["insertedContent"]["text"], "v2.0.5");
    assert_eq!(replacement["deletedRegion"]["startColumn"], 26);
    assert_eq!(replacement["deletedRegion"]["endColumn"], 32);
}

#[test]
fn github_annotations_parse() {
    let output = tagpin(
        &demo(),
        &[
            "check",
            "--offline",
            "--today",
            "2026-11-24",
            "--no-config",
            "--format",
            "github",
            "demo",
        ],
    );
    let lines: Vec<&str> = output.lines().collect();
    assert!(lines.len() > 10);
    for line in lines {
        let rest = line.strip_prefix("::").unwrap_or_else(|| panic!("{line}"));
        let (command, message) = rest.split_once("::").unwrap_or_else(|| panic!("{line}"));
        let (level, properties) = command.split_once(' ').unwrap();
        assert!(["error", "warning", "notice"].contains(&level), "{line}");
        let keys: Vec<&str> = properties
            .split(',')
            .map(|p| p.split_once('=').unwrap().0)
            .collect();
        assert_eq!(
            keys,
            ["file", "line", "col", "endLine", "endColumn", "title"],
            "{line}"
        );
        assert!(!message.is_empty() && !message.contains('\n'));
    }
}

#[test]
fn gitlab_code_quality() {
    let output = tagpin(
        &demo(),
        &[
            "check",
            "--offline",
            "--today",
            "2026-11-24",
            "--no-config",
            "--format",
            "gitlab",
            "demo",
        ],
    );
    let issues: Vec<serde_json::Value> = serde_json::from_str(&output).unwrap();
    assert!(issues.len() > 10);
    for issue in &issues {
        for key in ["description", "check_name", "fingerprint", "severity"] {
            assert!(issue[key].is_string(), "{key}: {issue}");
        }
        assert!(issue["location"]["lines"]["begin"].is_u64());
    }
    let fingerprints: std::collections::HashSet<&str> = issues
        .iter()
        .map(|i| i["fingerprint"].as_str().unwrap())
        .collect();
    assert_eq!(fingerprints.len(), issues.len());
}
