//! A real OCI registry for integration tests: Debian's `docker-registry` (CNCF distribution 2.8)
//! on a free loopback port, seeded over the distribution API. A real server catches what a mock
//! would agree with us on (media types, digests of the exact bytes, auth challenges, retags).

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{Read, Seek};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::prelude::BASE64_STANDARD;
use serde_json::json;
use sha2::{Digest, Sha256};
use tempfile::TempDir;
use ureq::http::{Request, Response};
use ureq::{Agent, Body};

pub const INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
const TIMEOUT: Duration = Duration::from_secs(10);
const SKOPEO_TIMEOUT: Duration = Duration::from_secs(30);
const PLATFORMS: [&str; 2] = ["amd64", "arm64"];

pub struct TestRegistry {
    pub host: String,
    pub url: String,
    pub credentials: Option<(String, String)>,
    agent: Agent,
    child: Child,
    _dir: TempDir,
}

pub struct Pushed {
    pub index: String,
    pub platforms: Vec<String>,
}

/// `sha256:<hex>` of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

impl TestRegistry {
    /// Starts the registry (htpasswd basic auth when `auth` is given) and waits until it answers.
    pub fn start(auth: Option<(&str, &str)>) -> TestRegistry {
        // Storage on tmpfs when there is one: the registry writes many small files.
        let dir = tempfile::tempdir_in("/dev/shm").or_else(|_| tempfile::tempdir());
        let dir = dir.expect("temp dir for the registry");
        let root = dir.path();
        let mut base = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n\
             storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n",
            root.join("data").display()
        );
        if let Some((user, password)) = auth {
            // Cost 4: the registry checks the hash on every request.
            let hash = bcrypt::hash_with_result(password, 4).expect("bcrypt");
            let line = format!(
                "{user}:{}\n",
                hash.format_for_version(bcrypt::Version::TwoY)
            );
            fs::write(root.join("htpasswd"), line).expect("write htpasswd");
            base += &format!(
                "auth:\n  htpasswd:\n    realm: test\n    path: {}\n",
                root.join("htpasswd").display()
            );
        }
        let agent: Agent = Agent::config_builder()
            .timeout_global(Some(TIMEOUT))
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .into();
        let ready = if auth.is_some() { 401 } else { 200 };
        for _ in 0..5 {
            if let Some((host, child)) = launch(root, &base, &agent, ready) {
                return TestRegistry {
                    url: format!("http://{host}"),
                    host,
                    credentials: auth.map(|(u, p)| (u.to_owned(), p.to_owned())),
                    agent,
                    child,
                    _dir: dir,
                };
            }
        }
        panic!("docker-registry could not bind a free port in 5 tries");
    }

    /// Pushes a linux/amd64 + linux/arm64 index under every tag (same bytes each time).
    pub fn push_index(&self, repository: &str, seed: &str, tags: &[&str]) -> Pushed {
        let mut platforms = Vec::new();
        let mut entries = Vec::new();
        for arch in PLATFORMS {
            let manifest = self.image(repository, seed, arch);
            let digest = sha256(&manifest);
            entries.push(json!({
                "mediaType": MANIFEST, "digest": digest, "size": manifest.len(),
                "platform": {"architecture": arch, "os": "linux"},
            }));
            self.put_manifest(repository, &digest, MANIFEST, &manifest);
            platforms.push(digest);
        }
        let index = json!({"schemaVersion": 2, "mediaType": INDEX, "manifests": entries});
        let index = serde_json::to_vec_pretty(&index).unwrap();
        for tag in tags {
            self.put_manifest(repository, tag, INDEX, &index);
        }
        Pushed {
            index: sha256(&index),
            platforms,
        }
    }

    /// Pushes a single-platform (linux/amd64) image manifest under every tag; returns its digest.
    pub fn push_manifest(&self, repository: &str, seed: &str, tags: &[&str]) -> String {
        let manifest = self.image(repository, seed, "amd64");
        for tag in tags {
            self.put_manifest(repository, tag, MANIFEST, &manifest);
        }
        sha256(&manifest)
    }

    /// Seeds Kestra's tag scheme (shared/KESTRA.md); returns tag → index digest.
    pub fn seed_kestra(&self, repository: &str) -> BTreeMap<String, String> {
        let releases: [(&str, &[&str]); 5] = [
            ("v1.0.60", &["v1.0"]),
            ("v1.3.29", &[]),
            ("v1.3.30", &["v1.3", "latest-lts"]),
            ("v2.0.4", &[]),
            ("v2.0.5", &["v2.0", "latest"]),
        ];
        let mut digests = BTreeMap::new();
        let mut push = |seed: String, tags: Vec<String>| {
            let tags: Vec<&str> = tags.iter().map(String::as_str).collect();
            let digest = self.push_index(repository, &seed, &tags).index;
            for tag in tags {
                digests.insert(tag.to_owned(), digest.clone());
            }
        };
        for (release, moving) in releases {
            let twin = if release.starts_with("v1.") {
                "-no-plugins"
            } else {
                "-slim"
            };
            for suffix in ["", twin] {
                let tags = std::iter::once(&release).chain(moving);
                push(
                    format!("{repository}:{release}{suffix}"),
                    tags.map(|t| format!("{t}{suffix}")).collect(),
                );
            }
        }
        for tag in ["develop", "v2.0.0-rc7"] {
            push(format!("{repository}:{tag}"), vec![tag.to_owned()]);
        }
        digests
    }

    /// Digest of the raw manifest that skopeo (an independent client) fetches for `repository:tag`.
    pub fn skopeo_digest(&self, repository: &str, tag: &str) -> String {
        let reference = format!("docker://{}/{repository}:{tag}", self.host);
        sha256(&self.skopeo(&["inspect", "--raw"], &reference))
    }

    /// The tag list as skopeo (an independent client) reads it.
    pub fn skopeo_tags(&self, repository: &str) -> Vec<String> {
        let reference = format!("docker://{}/{repository}", self.host);
        let out = self.skopeo(&["list-tags"], &reference);
        let list: serde_json::Value = serde_json::from_slice(&out).expect("skopeo list-tags JSON");
        list["Tags"]
            .as_array()
            .expect("Tags")
            .iter()
            .map(|t| t.as_str().unwrap().to_owned())
            .collect()
    }

    /// Runs `skopeo <args> --tls-verify=false [--creds] <reference>`; returns stdout.
    fn skopeo(&self, args: &[&str], reference: &str) -> Vec<u8> {
        let mut out = tempfile::tempfile().expect("temp file");
        let mut err = tempfile::tempfile().expect("temp file");
        let mut cmd = Command::new("skopeo");
        cmd.args(args).arg("--tls-verify=false");
        if let Some((user, password)) = &self.credentials {
            cmd.arg(format!("--creds={user}:{password}"));
        }
        let mut child = cmd
            .arg(reference)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(err.try_clone().unwrap())
            .spawn()
            .expect("spawn skopeo (apt-get install skopeo)");
        let deadline = Instant::now() + SKOPEO_TIMEOUT;
        let status = loop {
            if let Some(status) = child.try_wait().expect("poll skopeo") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "skopeo {args:?} {reference} timed out: {}",
                    read_all(&mut err)
                );
            }
            sleep(Duration::from_millis(20));
        };
        assert!(
            status.success(),
            "skopeo {args:?} {reference} failed ({status}): {}",
            read_all(&mut err)
        );
        out.rewind().unwrap();
        let mut raw = Vec::new();
        out.read_to_end(&mut raw).unwrap();
        raw
    }

    /// Sends a request (a path, or a full URL) with the registry's credentials; any status is Ok.
    pub fn request(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response<Body> {
        let url = match url.starts_with('/') {
            true => format!("{}{url}", self.url),
            false => url.to_owned(),
        };
        let mut request = Request::builder().method(method).uri(&url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some((user, password)) = &self.credentials {
            let token = BASE64_STANDARD.encode(format!("{user}:{password}"));
            request = request.header("Authorization", format!("Basic {token}"));
        }
        let request = request.body(body).expect("valid request");
        let response = self.agent.run(request);
        response.unwrap_or_else(|e| panic!("{method} {url}: {e}"))
    }

    /// Builds and pushes (blobs only) one image manifest for `arch`; returns the manifest bytes.
    fn image(&self, repository: &str, seed: &str, arch: &str) -> Vec<u8> {
        let layer = format!("tagpin test layer {seed} linux/{arch}").into_bytes();
        let config = json!({
            "architecture": arch, "os": "linux",
            "config": {"Labels": {"tagpin.test.seed": seed}},
            "rootfs": {"type": "layers", "diff_ids": [sha256(&layer)]},
        });
        let config = serde_json::to_vec(&config).unwrap();
        let descriptor = |media_type, bytes: &[u8]| {
            let digest = self.put_blob(repository, bytes);
            json!({"mediaType": media_type, "digest": digest, "size": bytes.len()})
        };
        let manifest = json!({
            "schemaVersion": 2, "mediaType": MANIFEST,
            "config": descriptor(CONFIG, &config),
            "layers": [descriptor(LAYER, &layer)],
        });
        serde_json::to_vec_pretty(&manifest).unwrap()
    }

    /// Monolithic blob upload: POST an upload session, then PUT the bytes with `digest=`.
    fn put_blob(&self, repository: &str, bytes: &[u8]) -> String {
        let digest = sha256(bytes);
        let start = self.request(
            "POST",
            &format!("/v2/{repository}/blobs/uploads/"),
            &[],
            &[],
        );
        let start = expect(start, 202, "start blob upload");
        let location = header(&start, "Location").expect("Location of the blob upload");
        let separator = if location.contains('?') { '&' } else { '?' };
        let url = format!("{location}{separator}digest={}", digest.replace(':', "%3A"));
        let put = self.request(
            "PUT",
            &url,
            &[("Content-Type", "application/octet-stream")],
            bytes,
        );
        check_digest(put, &digest, "PUT blob");
        digest
    }

    fn put_manifest(&self, repository: &str, reference: &str, media_type: &str, bytes: &[u8]) {
        let url = format!("/v2/{repository}/manifests/{reference}");
        let response = self.request("PUT", &url, &[("Content-Type", media_type)], bytes);
        check_digest(
            response,
            &sha256(bytes),
            &format!("PUT {repository}:{reference}"),
        );
    }
}

/// Runs the registry on a free port; `None` if another process took the port first.
fn launch(root: &Path, config: &str, agent: &Agent, ready: u16) -> Option<(String, Child)> {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    let host = listener.local_addr().unwrap().to_string();
    drop(listener);
    let path = root.join("config.yml");
    let http = format!(
        "http:\n  addr: {host}\n  secret: {}\n",
        sha256(path.to_string_lossy().as_bytes())
    );
    fs::write(&path, format!("{config}{http}")).expect("write registry config");
    let log = |name| File::create(root.join(name)).expect("registry log file");
    let mut child = Command::new("docker-registry")
        .arg("serve")
        .arg(&path)
        .stdin(Stdio::null())
        .stdout(log("stdout.log"))
        .stderr(log("stderr.log"))
        .spawn()
        .expect("spawn docker-registry (apt-get install docker-registry)");
    let stderr = || fs::read_to_string(root.join("stderr.log")).unwrap_or_default();
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if let Some(status) = child.try_wait().expect("poll docker-registry") {
            let stderr = stderr();
            if stderr.contains("address already in use") {
                return None;
            }
            panic!("docker-registry exited ({status}):\n{stderr}");
        }
        let probe = agent.get(format!("http://{host}/v2/")).call();
        if probe.is_ok_and(|r| r.status().as_u16() == ready) {
            return Some((host, child));
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "docker-registry did not answer on {host} within {TIMEOUT:?}:\n{}",
                stderr()
            );
        }
        sleep(Duration::from_millis(50));
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Panics with the registry's error body unless `response` has `status`.
fn expect(mut response: Response<Body>, status: u16, what: &str) -> Response<Body> {
    if response.status().as_u16() != status {
        let body = response.body_mut().read_to_string().unwrap_or_default();
        panic!(
            "{what}: expected {status}, got {}: {body}",
            response.status()
        );
    }
    response
}

fn header(response: &Response<Body>, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)?
        .to_str()
        .ok()
        .map(str::to_owned)
}

fn check_digest(response: Response<Body>, digest: &str, what: &str) {
    let response = expect(response, 201, what);
    assert_eq!(
        header(&response, "Docker-Content-Digest").as_deref(),
        Some(digest),
        "{what}"
    );
}

fn read_all(file: &mut File) -> String {
    let mut text = String::new();
    let _ = file.rewind().and_then(|_| file.read_to_string(&mut text));
    text
}
