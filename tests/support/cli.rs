//! Running the `tagpin` binary the way a user would, with its cache and credentials isolated:
//! `XDG_CACHE_HOME` is `cache`, and `DOCKER_CONFIG` points into it (empty unless a test writes
//! `cache/no-docker-config/config.json`).
//!
//! Tests name Docker Hub images and send them to a local mirror; a mirror's 404 falls back to
//! the registry itself, as Docker's does. So that no test ever reaches (or even looks up) a
//! host off this machine, every request that is not to a loopback address goes to a proxy
//! that refuses it: the registry is then unreachable and the mirror's answer stands.

use std::path::Path;
use std::process::Command;

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// A closed port on loopback: the proxy that refuses whatever is not local.
pub const CLOSED_PROXY: &str = "http://127.0.0.1:9";

/// The `tagpin` binary, isolated as above, to be given arguments and run.
pub fn command(cache: &Path, dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tagpin"));
    command
        .current_dir(dir)
        .env("XDG_CACHE_HOME", cache)
        .env("DOCKER_CONFIG", cache.join("no-docker-config"))
        .env_remove("REGISTRY_AUTH_FILE")
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("http_proxy")
        .env_remove("https_proxy")
        .env_remove("all_proxy")
        .env_remove("no_proxy")
        .env("HTTP_PROXY", CLOSED_PROXY)
        .env("HTTPS_PROXY", CLOSED_PROXY)
        .env("NO_PROXY", "127.0.0.1,localhost,::1");
    command
}

pub fn tagpin(cache: &Path, dir: &Path, args: &[&str]) -> Run {
    let output = command(cache, dir).args(args).output().unwrap();
    Run {
        code: output.status.code().unwrap(),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}
