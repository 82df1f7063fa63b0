//! The hooks of `.pre-commit-hooks.yaml`, run by the real pre-commit in a throwaway repository
//! against the seeded registry: `tagpin` blocks a commit with floating tags and says what to pin
//! them to, `tagpin-fix` pins them in place without touching any other byte, and then both pass;
//! an excluded file that pre-commit names is left alone (`--force-exclude`).
//! pre-commit builds the hooks itself (`language: rust`: `cargo install --path .` of this
//! repository at its committed HEAD), so this is what a user of the hooks gets: the manifest's
//! ids, entries and `files` pattern, and a release build of the committed code.
//!
//! pre-commit is driven through a `.pre-commit-config.yaml` and `pre-commit run`, not
//! `try-repo`: only a config passes hook `args` (the local registry, `--today`), and a fixed
//! `rev` lets pre-commit reuse its build, which lives in `PRE_COMMIT_HOME` under `target/tmp`.
//! The first run after each new commit compiles tagpin in release mode (minutes); later runs take
//! seconds. pre-commit comes from PyPI; `scripts/test` installs it when missing.

mod support;

use std::fs::{self, File};
use std::io::{Read, Seek};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use serde_json::json;
use support::registry::TestRegistry;
use tempfile::TempDir;

/// Room for the first run, which builds tagpin in release mode (`cargo install`).
const PRE_COMMIT_TIMEOUT: Duration = Duration::from_secs(15 * 60);
const GIT_TIMEOUT: Duration = Duration::from_secs(60);

const COMPOSE: &str = "services:\n  kestra:\n    image: kestra/kestra:latest # moving\n    \
                       command: server standalone\n";
const VALUES: &str = "# Helm values\nimage:\n  repository: kestra/kestra\n  tag: latest-lts\n  \
                      pullPolicy: IfNotPresent\n";

struct Run {
    code: Option<i32>,
    output: String,
}

/// Runs `command` to the end (in its own process group, killed whole after `timeout`);
/// stdout and stderr go to files, so a chatty child cannot block on a full pipe.
fn run(command: &mut Command, timeout: Duration) -> Run {
    let what = format!("{command:?}");
    let mut out = tempfile::tempfile().expect("temp file");
    let mut err = tempfile::tempfile().expect("temp file");
    let mut child = command
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(err.try_clone().unwrap())
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {what}: {e}"));
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().expect("poll child") {
            break status;
        }
        if Instant::now() > deadline {
            // The group: pre-commit's cargo and rustc children go too.
            let group = format!("-{}", child.id());
            let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
            let _ = child.wait();
            panic!(
                "{what} did not finish within {timeout:?}:\n{}{}",
                read_all(&mut out),
                read_all(&mut err)
            );
        }
        sleep(Duration::from_millis(100));
    };
    Run {
        code: status.code(),
        output: read_all(&mut out) + &read_all(&mut err),
    }
}

fn read_all(file: &mut File) -> String {
    let mut bytes = Vec::new();
    let _ = file.rewind().and_then(|_| file.read_to_end(&mut bytes));
    String::from_utf8_lossy(&bytes).into_owned()
}

/// `git` in `dir`, which must succeed; returns its output.
fn git(dir: &Path, args: &[&str]) -> String {
    let result = run(
        Command::new("git").arg("-C").arg(dir).args(args),
        GIT_TIMEOUT,
    );
    assert_eq!(result.code, Some(0), "git {args:?}:\n{}", result.output);
    result.output
}

/// Fails (never skips) when pre-commit is missing: CI must run these hooks.
fn require_pre_commit() {
    let version = Command::new("python3")
        .args(["-m", "pre_commit", "--version"])
        .output();
    match version {
        Ok(output) if output.status.success() => {}
        Ok(output) => panic!(
            "pre-commit is not installed for python3 ({}): run scripts/test, which installs it, \
             or `python3 -m pip install pre-commit`",
            String::from_utf8_lossy(&output.stderr).trim()
        ),
        Err(e) => panic!("python3 could not be run ({e}): pre-commit needs it; see scripts/test"),
    }
}

/// A git repository holding the two files to check and a pre-commit config that uses this
/// repository's hooks at HEAD, pointed at `registry`.
struct Throwaway {
    repo: TempDir,
    cache: TempDir,
}

impl Throwaway {
    fn new(registry: &TestRegistry) -> Throwaway {
        let repo = tempfile::tempdir().unwrap();
        let dir = repo.path();
        git(dir, &["init", "-q"]);
        git(dir, &["config", "user.name", "tagpin tests"]);
        git(dir, &["config", "user.email", "tests@tagpin.invalid"]);
        fs::write(dir.join("compose.yaml"), COMPOSE).unwrap();
        fs::write(dir.join("values.yaml"), VALUES).unwrap();
        // Excluded: pre-commit names it, and the hooks' `--force-exclude` keeps it out.
        fs::create_dir(dir.join("vendor")).unwrap();
        fs::write(dir.join("vendor/compose.yaml"), COMPOSE).unwrap();
        let tagpin = env!("CARGO_MANIFEST_DIR");
        let head = git(Path::new(tagpin), &["rev-parse", "HEAD"]);
        let mirror = format!("docker.io={}", registry.url);
        let args = [
            "--no-config",
            "--exclude",
            "vendor/",
            "--registry-mirror",
            &mirror,
            "--today",
            "2026-11-24",
        ];
        // JSON is YAML, and quotes any path or URL correctly.
        let config = json!({"repos": [{
            "repo": tagpin,
            "rev": head.trim(),
            "hooks": [{"id": "tagpin", "args": args}, {"id": "tagpin-fix", "args": args}],
        }]});
        let config = serde_json::to_string_pretty(&config).unwrap();
        fs::write(dir.join(".pre-commit-config.yaml"), config).unwrap();
        git(dir, &["add", "."]);
        Throwaway {
            repo,
            cache: tempfile::tempdir().unwrap(),
        }
    }

    /// `pre-commit run HOOK --all-files`, as at commit time.
    fn pre_commit(&self, hook: &str) -> Run {
        let mut command = Command::new("python3");
        command
            .args([
                "-m",
                "pre_commit",
                "run",
                hook,
                "--all-files",
                "--color=never",
            ])
            .current_dir(self.repo.path())
            .env("PRE_COMMIT_HOME", pre_commit_home())
            .env("XDG_CACHE_HOME", self.cache.path())
            .env("DOCKER_CONFIG", self.cache.path().join("no-docker-config"))
            .env_remove("REGISTRY_AUTH_FILE")
            .env_remove("XDG_RUNTIME_DIR")
            // `cargo install --path .` builds in the clone's `target/` unless told otherwise: one
            // shared folder instead reuses the dependencies when HEAD moves and bounds the disk.
            .env("CARGO_TARGET_DIR", pre_commit_home().join("cargo-target"))
            .env_remove("CARGO_BUILD_TARGET_DIR")
            // Set when the suite itself runs from a git hook; they would point at our repository.
            .env_remove("GIT_DIR")
            .env_remove("GIT_INDEX_FILE")
            .env_remove("GIT_WORK_TREE");
        run(&mut command, PRE_COMMIT_TIMEOUT)
    }

    fn read(&self, name: &str) -> String {
        fs::read_to_string(self.repo.path().join(name)).unwrap()
    }
}

/// pre-commit's store (clones, the installed hook, and cargo's build), kept across runs.
fn pre_commit_home() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("pre-commit-home")
}

#[test]
fn the_hooks_block_floating_tags_and_pin_them() {
    require_pre_commit();
    let registry = TestRegistry::start(None);
    registry.seed_kestra("kestra/kestra");
    let repo = Throwaway::new(&registry);

    let check = repo.pre_commit("tagpin");
    assert_eq!(
        check.code,
        Some(1),
        "the commit goes through:\n{}",
        check.output
    );
    for expected in ["TP002", "kestra/kestra:latest", "kestra/kestra:v2.0.5"] {
        assert!(
            check.output.contains(expected),
            "no {expected}:\n{}",
            check.output
        );
    }
    assert_eq!(repo.read("compose.yaml"), COMPOSE, "`tagpin` wrote");
    assert_eq!(repo.read("values.yaml"), VALUES, "`tagpin` wrote");

    let fix = repo.pre_commit("tagpin-fix");
    assert_eq!(fix.code, Some(1), "{}", fix.output);
    assert!(
        fix.output.contains("files were modified by this hook"),
        "{}",
        fix.output
    );
    assert_eq!(
        repo.read("compose.yaml"),
        COMPOSE.replace("kestra/kestra:latest", "kestra/kestra:v2.0.5")
    );
    assert_eq!(
        repo.read("values.yaml"),
        VALUES.replace("tag: latest-lts", "tag: v1.3.30")
    );
    assert_eq!(
        repo.read("vendor/compose.yaml"),
        COMPOSE,
        "an excluded file was fixed"
    );

    for hook in ["tagpin-fix", "tagpin"] {
        let again = repo.pre_commit(hook);
        assert_eq!(
            again.code,
            Some(0),
            "{hook} after the fix:\n{}",
            again.output
        );
    }
}
