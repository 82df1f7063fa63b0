//! Every kind of file from issue 12, as a user runs tagpin on it: the findings of
//! `testdata/kinds/` as a reviewed snapshot, `--fix` against the real registry rewriting each
//! kind at the bytes of the reference (TP013 `unversioned-tag` pinned to the release of the same
//! variant with the same digest), and files named on the command line always read.

mod support;

use std::fs;
use std::path::{Path, PathBuf};

use support::cli::tagpin;
use support::registry::TestRegistry;

fn kinds() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/kinds")
}

/// Every file below `dir`, relative, sorted.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(at) = stack.pop() {
        for entry in fs::read_dir(&at).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn findings_of_every_kind() {
    let cache = tempfile::tempdir().unwrap();
    let run = tagpin(
        cache.path(),
        &kinds(),
        &[
            "check",
            "--offline",
            "--no-config",
            "--format",
            "concise",
            ".",
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    insta::assert_snapshot!("findings_of_every_kind", run.stdout);
    let images = tagpin(cache.path(), &kinds(), &["images", "--no-config", "."]);
    assert_eq!(images.code, 0, "{}", images.stderr);
    insta::assert_snapshot!("images_of_every_kind", images.stdout);
}

/// (file, the bytes after `--fix`) for every file of `testdata/kinds/`.
const FIXED: &[(&str, &str)] = &[
    (
        ".circleci/config.yml",
        "version: 2.1\njobs:\n  test:\n    docker:\n      - image: redis:7.4.1-alpine\n    machine:\n      image: ubuntu-2204:current\n",
    ),
    (
        ".github/workflows/ci.yml",
        "name: ci\non: [push]\njobs:\n  test:\n    runs-on: ubuntu-latest\n    container: node:22.11.0-alpine\n    services:\n      redis:\n        image: redis:7.4.1-alpine\n    steps:\n      - uses: actions/checkout@v4\n      - uses: docker://kestra/kestra:v2.0.5\n",
    ),
    (
        ".gitlab-ci.yml",
        "variables:\n  KESTRA_TAG: v2.0.5\nimage: kestra/kestra:$KESTRA_TAG\nservices:\n  - name: redis:7.4.1-alpine\n    alias: cache\ntest:\n  stage: test\n  image: node:22.11.0-alpine\n  script: npm test\n",
    ),
    (
        ".woodpecker.yml",
        "steps:\n  test:\n    image: node:22.11.0-alpine\n    commands: [npm test]\n",
    ),
    (
        "Dockerfile-dev",
        "FROM --platform=$BUILDPLATFORM node:22.11.0-alpine AS build\nFROM redis:7.4.1-alpine\n",
    ),
    (
        "action.yml",
        "name: lint\nruns:\n  using: docker\n  image: docker://kestra/kestra:v1.3.30\n",
    ),
    (
        "azure-pipelines.yml",
        "resources:\n  containers:\n    - container: app\n      image: kestra/kestra:v2.0.5\npool:\n  vmImage: ubuntu-latest\ncontainer: app\n",
    ),
    (
        "bitbucket-pipelines.yml",
        "image: node:22.11.0-alpine\npipelines:\n  default:\n    - step:\n        image: kestra/kestra:v2.0.5\n        script: [make]\n",
    ),
    (
        "env/.env",
        "# read by compose for ${VAR}\nKESTRA_VERSION=v2.0.5\nCACHE_IMAGE=\"redis:7.4.1-alpine\" # quoted\n",
    ),
    (
        "env/compose.yaml",
        "services:\n  kestra:\n    image: kestra/kestra:${KESTRA_VERSION:-v1.3.30}\n  cache:\n    image: ${CACHE_IMAGE}\n",
    ),
    (
        "pod-flow.yaml",
        "id: pod\nnamespace: company.team\ntasks:\n  - id: pod\n    type: io.kestra.plugin.kubernetes.core.PodCreate\n    spec:\n      containers:\n        - name: main\n          image: kestra/kestra:v2.0.5-slim\n",
    ),
    (
        "pod.json",
        "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"Pod\",\n  \"spec\": {\"containers\": [{\"name\": \"a\", \"image\": \"kestra/kestra:v2.0.5\"}]}\n}\n",
    ),
    (
        "task.yaml",
        "apiVersion: tekton.dev/v1\nkind: Task\nspec:\n  steps:\n    - name: build\n      image: node:22.11.0-alpine\n  sidecars:\n    - name: cache\n      image: redis:7.4.1-alpine\n",
    ),
    (
        "workflow.yaml",
        "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nspec:\n  templates:\n    - name: main\n      container:\n        image: kestra/kestra:v2.0.5\n    - name: py\n      script:\n        image: redis:7.4.1-alpine\n        source: print(1)\n",
    ),
];

#[test]
fn every_kind_is_fixed_at_the_reference_bytes() {
    let registry = TestRegistry::start(None);
    registry.seed_kestra("kestra/kestra");
    // `alpine` is the newest release's Alpine variant; `7.4-alpine` is a moving alias.
    registry.push_index(
        "library/redis",
        "redis-7.4.1-alpine",
        &["7.4.1-alpine", "7.4-alpine", "alpine"],
    );
    registry.push_index("library/redis", "redis-7.4.0-alpine", &["7.4.0-alpine"]);
    registry.push_index("library/redis", "redis-7.4.1", &["7.4.1", "latest"]);
    registry.push_index(
        "library/node",
        "node-22-alpine",
        &["22.11.0-alpine", "alpine"],
    );
    registry.push_index("library/node", "node-22", &["22.11.0", "latest"]);

    let cache = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let names = files(&kinds());
    assert_eq!(
        names
            .iter()
            .map(|p| p.to_str().unwrap())
            .collect::<Vec<_>>(),
        FIXED.iter().map(|(name, _)| *name).collect::<Vec<_>>(),
        "every file of testdata/kinds has its expected fix"
    );
    for name in &names {
        let target = work.path().join(name);
        fs::create_dir_all(target.parent().unwrap()).unwrap();
        fs::copy(kinds().join(name), target).unwrap();
    }
    let mirror = format!("docker.io={}", registry.url);
    let args = [
        "check",
        "--fix",
        "--format",
        "concise",
        "--no-config",
        "--registry-mirror",
        &mirror,
        ".",
    ];
    let fix = tagpin(cache.path(), work.path(), &args);
    assert_eq!(fix.code, 0, "{}\n{}", fix.stdout, fix.stderr);
    for (name, after) in FIXED {
        assert_eq!(
            fs::read_to_string(work.path().join(name)).unwrap(),
            *after,
            "{name}"
        );
    }
    assert!(
        fix.stderr.contains("Fixed 22 findings in 13 files"),
        "{}",
        fix.stderr
    );
    let again = tagpin(cache.path(), work.path(), &args);
    assert!(
        again.stderr.contains("Fixed 0 findings in 0 files"),
        "{}",
        again.stderr
    );
}

#[test]
fn named_files_are_always_read() {
    let cache = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    fs::write(
        work.path().join("Dockerfile-chroot"),
        "FROM debian:bookworm\n",
    )
    .unwrap();
    fs::write(
        work.path().join("build.txt"),
        "FROM rust:bookworm AS build\n",
    )
    .unwrap();
    fs::write(work.path().join("notes.txt"), "nothing here\n").unwrap();
    let run = tagpin(
        cache.path(),
        work.path(),
        &[
            "check",
            "--offline",
            "--no-config",
            "--format",
            "concise",
            "Dockerfile-chroot",
            "build.txt",
            "notes.txt",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "Dockerfile-chroot:1:13 TP013 `debian:bookworm` names no version: it moves with every release\n\
         build.txt:1:11 TP013 `rust:bookworm` names no version: it moves with every release\n\
         2 findings (2 warnings) in 3 files\n"
    );
    assert!(
        run.stderr
            .contains("note: notes.txt: skipped: not a kind of file tagpin reads"),
        "{}",
        run.stderr
    );
    let quiet = tagpin(
        cache.path(),
        work.path(),
        &["check", "--offline", "--no-config", "-q", "notes.txt"],
    );
    assert_eq!((quiet.code, quiet.stderr.as_str()), (0, ""));
}

/// `tagpin` with `input` on stdin.
fn piped(args: &[&str], input: &str) -> (i32, String, String) {
    use std::io::Write;
    use std::process::Stdio;
    let cache = tempfile::tempdir().unwrap();
    let mut child = support::cli::command(cache.path(), Path::new("."))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A run refused before it reads stdin (a usage error) closes the pipe: not a failure here.
    let written = child.stdin.take().unwrap().write_all(input.as_bytes());
    if let Err(e) = written {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    let output = child.wait_with_output().unwrap();
    (
        output.status.code().unwrap(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[test]
fn stdin_is_checked_by_content_or_by_the_name_given() {
    let rendered = "---\n# Source: app/templates/deploy.yaml\napiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n        - image: \"redis:alpine\"\n---\napiVersion: v1\nkind: Service\n";
    let (code, stdout, stderr) = piped(
        &[
            "check",
            "--offline",
            "--no-config",
            "--format",
            "concise",
            "-",
        ],
        rendered,
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout,
        "-:9:25 TP013 `redis:alpine` names no version: it moves with every release\n1 finding (1 warning) in 1 file\n"
    );
    let values = "image:\n  repository: kestra/kestra\n  tag: latest\n";
    let (code, stdout, _) = piped(
        &[
            "check",
            "--offline",
            "--no-config",
            "--format",
            "json",
            "--stdin-filename",
            "chart/values.yaml",
            "-",
        ],
        values,
    );
    assert_eq!(code, 1);
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let finding = &json["findings"][0];
    assert_eq!(finding["path"], "chart/values.yaml");
    assert_eq!(finding["kind"], "helm");
    assert_eq!(finding["code"], "TP002");
    assert_eq!(finding["fix"], serde_json::Value::Null);
    let (code, _, stderr) = piped(&["check", "--no-config", "--diff", "-"], values);
    assert_eq!(code, 2);
    assert!(stderr.contains("stdin (`-`)"), "{stderr}");
}

#[test]
fn kustomizations_pin_the_images_of_the_manifests_they_build() {
    let cache = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let deploy = "apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n      - image: app\n      - image: nginx:latest\n      - image: redis:alpine\n---\napiVersion: example.com/v1\nkind: Runner\nspec:\n  container:\n    image: runner\n";
    for dir in ["base", "overlays/prod", "components/runner", "other"] {
        fs::create_dir_all(work.path().join(dir)).unwrap();
    }
    fs::write(work.path().join("base/deploy.yaml"), deploy).unwrap();
    fs::write(work.path().join("other/deploy.yaml"), deploy).unwrap();
    fs::write(
        work.path().join("base/kustomization.yaml"),
        "resources:\n- deploy.yaml\nimages:\n- name: redis\n  newTag: 7.4.1-alpine\n",
    )
    .unwrap();
    fs::write(
        work.path().join("overlays/prod/kustomization.yaml"),
        "resources:\n- ../../base\ncomponents:\n- ../../components/runner\nimages:\n- name: app\n  newTag: \"1.2.3\"\n- name: nginx\n  newName: my/nginx\n",
    )
    .unwrap();
    fs::write(
        work.path().join("components/runner/kustomization.yaml"),
        "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nimages:\n- name: runner\n  digest: sha256:24a0c4b4a4c0eb97a1aabb8e29f18e917d05abfe1b7a7c07857230879ce7d3d3\n",
    )
    .unwrap();
    let run = tagpin(
        cache.path(),
        work.path(),
        &[
            "check",
            "--offline",
            "--no-config",
            "--format",
            "concise",
            ".",
        ],
    );
    // In base/, only `nginx:latest` floats: the overlay renames nginx but pins no tag.
    assert_eq!(
        run.stdout,
        "base/deploy.yaml:8:22 TP002 `nginx:latest` floats\n\
         other/deploy.yaml:7:16 TP001 `app` has no tag and pulls whatever `latest` is\n\
         other/deploy.yaml:8:22 TP002 `nginx:latest` floats\n\
         other/deploy.yaml:9:22 TP013 `redis:alpine` names no version: it moves with every release\n\
         other/deploy.yaml:15:12 TP001 `runner` has no tag and pulls whatever `latest` is\n\
         5 findings (4 errors, 1 warning) in 5 files\n",
        "{}",
        run.stderr
    );
}

/// A folder holding `files` (path, text), with the folders they are in.
fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let path = dir.path().join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }
    dir
}

/// A Pod with a container for each image.
fn pod(images: &[&str]) -> String {
    let containers: String = images.iter().map(|i| format!("  - image: {i}\n")).collect();
    format!("apiVersion: v1\nkind: Pod\nspec:\n  containers:\n{containers}")
}

/// `tagpin check --offline --no-config --format concise`, then `more`, run in `work`.
fn concise(work: &Path, more: &[&str]) -> support::cli::Run {
    let cache = tempfile::tempdir().unwrap();
    let args = ["check", "--offline", "--no-config", "--format", "concise"];
    tagpin(cache.path(), work, &[&args[..], more].concat())
}

const FLOATING_APP: &str = "base/pod.yaml:5:12 TP001 `app` has no tag and pulls whatever `latest` is\n\
                            1 finding (1 error) in 2 files\n";

/// `--fix` rewrites a manifest more than once when one fix leads to another: each pass reads
/// the file as the check did, so an image its kustomization pins stays as it is, even where the
/// same image elsewhere is pinned.
#[test]
fn a_fix_leaves_the_images_a_kustomization_pins() {
    let registry = TestRegistry::start(None);
    registry.push_index("library/nginx", "nginx-1.27.3", &["1.27.3", "latest"]);
    registry.push_index(
        "library/redis",
        "redis-7.4.1-alpine",
        &["7.4.1-alpine", "alpine"],
    );
    let cache = tempfile::tempdir().unwrap();
    let work = folder(&[
        (
            "base/kustomization.yaml",
            "resources:\n- pod.yaml\nimages:\n- name: redis\n  newTag: 7.4.1-alpine\n",
        ),
        ("base/pod.yaml", &pod(&["nginx:latest", "redis:alpine"])),
        ("other/pod.yaml", &pod(&["redis:alpine"])),
    ]);
    let mirror = format!("docker.io={}", registry.url);
    let args = [
        "check",
        "--fix",
        "--no-config",
        "--registry-mirror",
        &mirror,
        ".",
    ];
    let fix = tagpin(cache.path(), work.path(), &args);
    assert_eq!(fix.code, 0, "{}\n{}", fix.stdout, fix.stderr);
    let read = |name: &str| fs::read_to_string(work.path().join(name)).unwrap();
    assert_eq!(
        read("base/pod.yaml"),
        pod(&["nginx:1.27.3", "redis:alpine"])
    );
    assert_eq!(read("other/pod.yaml"), pod(&["redis:7.4.1-alpine"]));
}

/// The kustomization of a folder pins the files below it however the walk reaches them: a
/// folder's kustomization is met before its subfolders, and a file named alone in a walked
/// folder waits for the walk. Each run is repeated: a race would show as a finding.
#[test]
fn a_kustomization_is_known_before_the_files_below_it() {
    let work = folder(&[
        (
            "app/kustomization.yaml",
            "resources:\n- deploy/pod.yaml\nimages:\n- name: app\n  newTag: \"1.2.3\"\n",
        ),
        ("app/deploy/pod.yaml", &pod(&["app"])),
    ]);
    // Folders the walk goes through after the manifest, in the name order, before the
    // kustomization were it not read first.
    for i in 0..300 {
        fs::create_dir(work.path().join(format!("app/deploy/z{i}"))).unwrap();
    }
    for _ in 0..5 {
        for paths in [&["."][..], &["app/deploy/pod.yaml", "."]] {
            let run = concise(work.path(), paths);
            assert_eq!(
                run.stdout, "No findings in 2 files\n",
                "{paths:?}: {}",
                run.stderr
            );
        }
    }
}

/// Kustomizations are looked for up to a repository's root (a folder with `.git`), not past it:
/// a repository checked out inside another is its own.
#[test]
fn kustomizations_are_looked_for_up_to_the_repository_root() {
    let work = folder(&[
        ("base/pod.yaml", &pod(&["app"])),
        (
            "kustomization.yaml",
            "resources:\n- base/pod.yaml\nimages:\n- name: app\n  newTag: \"1.2.3\"\n",
        ),
    ]);
    fs::create_dir(work.path().join("base/.git")).unwrap();
    let run = concise(work.path(), &[]);
    assert_eq!(run.stdout, FLOATING_APP, "{}", run.stderr);
    fs::remove_dir(work.path().join("base/.git")).unwrap();
    let run = concise(work.path(), &[]);
    assert_eq!(run.stdout, "No findings in 2 files\n", "{}", run.stderr);
}

const BASE: &str = "resources:\n- pod.yaml\n";
const OVERLAY: &str = "resources:\n- ../../base\nimages:\n- name: app\n  newTag: \"1.2.3\"\n";

/// Inside the folders walked, the kustomizations are the ones tagpin reads: an overlay left out
/// (excluded, or ignored by git) pins nothing.
#[test]
fn an_overlay_left_out_of_the_walk_pins_nothing() {
    let work = folder(&[
        ("base/pod.yaml", &pod(&["app"])),
        ("base/kustomization.yaml", BASE),
        ("overlays/prod/kustomization.yaml", OVERLAY),
    ]);
    let run = concise(work.path(), &[]);
    assert_eq!(run.stdout, "No findings in 3 files\n", "{}", run.stderr);
    let excluded = concise(work.path(), &["--exclude", "overlays"]);
    assert_eq!(excluded.stdout, FLOATING_APP, "{}", excluded.stderr);
    // Walked from `base` alone, the overlay beside it is outside the walk, and read.
    let base = concise(work.path(), &["base"]);
    assert_eq!(base.stdout, "No findings in 2 files\n", "{}", base.stderr);
}

/// Kustomize refuses a file outside the kustomization's folder ("security; file … is not in or
/// below …"), so an overlay that lists one pins nothing in it.
#[test]
fn an_overlay_pins_no_file_outside_its_folder() {
    let overlay = OVERLAY.replace("../../base", "../../base/pod.yaml");
    let work = folder(&[
        ("base/pod.yaml", &pod(&["app"])),
        ("overlays/prod/kustomization.yaml", &overlay),
    ]);
    let run = concise(work.path(), &[]);
    assert_eq!(run.stdout, FLOATING_APP, "{}", run.stderr);
    // With the file in a base of its own, the overlay builds it and pins `app`.
    fs::write(work.path().join("base/kustomization.yaml"), BASE).unwrap();
    fs::write(
        work.path().join("overlays/prod/kustomization.yaml"),
        OVERLAY,
    )
    .unwrap();
    let run = concise(work.path(), &[]);
    assert_eq!(run.stdout, "No findings in 3 files\n", "{}", run.stderr);
}

/// A chart's `templates/` (its `Chart.yaml` beside the folder) holds Go templates: one with
/// template actions is skipped whatever the actions call; one without is YAML that Helm renders
/// as it is, so it is checked.
#[test]
fn a_charts_templates_are_skipped_unless_they_are_plain_yaml() {
    let pod = pod(&["app:latest"]);
    let capable = format!(
        "{{{{- if .Capabilities.APIVersions.Has \"v1\" }}}}\n{}{{{{- end }}}}\n",
        pod.replace("app:latest", "{{ printf \"app:%s\" \"latest\" }}")
    );
    let work = folder(&[
        (
            "chart/Chart.yaml",
            "apiVersion: v2\nname: app\nversion: 1.0.0\n",
        ),
        ("chart/templates/pod.yaml", &pod),
        ("chart/templates/capable.yaml", &capable),
    ]);
    // The folder walked, and the files named alone.
    let named = ["chart/templates/capable.yaml", "chart/templates/pod.yaml"];
    for paths in [&["."][..], &named] {
        let run = concise(work.path(), paths);
        assert_eq!(
            (run.code, run.stdout.as_str()),
            (
                1,
                "chart/templates/pod.yaml:5:16 TP002 `app:latest` floats\n\
                 1 finding (1 error) in 2 files\n"
            ),
            "{paths:?}: {}",
            run.stderr
        );
    }
}

/// The real files of the new kinds (testdata/corpus/SOURCES.md): each scans without error,
/// and the findings are the reviewed ones.
#[test]
fn real_files_of_the_new_kinds() {
    let cache = tempfile::tempdir().unwrap();
    let real = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/corpus/real");
    let folders = [
        "actions__starter-workflows",
        "argoproj__argo-workflows",
        "firecow__gitlab-ci-local",
        "tektoncd__catalog",
    ];
    let mut args = vec!["check", "--offline", "--no-config", "--format", "concise"];
    args.extend(folders);
    let run = tagpin(cache.path(), &real, &args);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(!run.stderr.contains("error"), "{}", run.stderr);
    insta::assert_snapshot!("real_files_of_the_new_kinds", run.stdout);
}

/// A compose file named alone (as pre-commit names the one that changed) brings the `.env`
/// beside it: the floating value there is found at its `.env` line, and the inventory says
/// where the compose reference's value came from.
#[test]
fn a_compose_file_named_alone_brings_its_env() {
    let cache = tempfile::tempdir().unwrap();
    let dir = kinds().join("env");
    let check = tagpin(
        cache.path(),
        &dir,
        &[
            "check",
            "--offline",
            "--no-config",
            "--format",
            "concise",
            "compose.yaml",
        ],
    );
    assert_eq!(check.code, 1, "{}", check.stderr);
    assert!(
        check.stdout.starts_with(".env:"),
        "the finding is at the .env line: {}",
        check.stdout
    );
    let images = tagpin(
        cache.path(),
        &dir,
        &["images", "--no-config", "--format", "json", "compose.yaml"],
    );
    let json: serde_json::Value = serde_json::from_str(&images.stdout).unwrap();
    let compose = json["references"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["path"] == "compose.yaml")
        .expect("the compose reference");
    assert!(
        compose["context"].as_str().unwrap().contains("from .env:"),
        "{compose}"
    );
}
