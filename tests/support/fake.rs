//! A scriptable fake OCI registry for tests.
//!
//! The real registry used in integration tests (CNCF distribution) is too well behaved:
//! it has no bearer-token flow, no opaque paging, never rate-limits, never fails and never
//! redirects. This in-process server reproduces those wire behaviours on demand so the
//! registry client can be tested against them. It runs on its own Tokio runtime in a
//! background thread, so both synchronous tests and async code under test can talk to it.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use futures_util::StreamExt;
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::sync::oneshot;

pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";

#[derive(Clone, Default)]
pub struct Behaviour {
    /// repository -> (tag, seed); the seed determines the manifest (see [`manifest`]).
    pub repositories: BTreeMap<String, Vec<(String, String)>>,
    /// Docker Hub style bearer challenge; the token for `<repo>` is `tok-<repo>`.
    pub token_auth: bool,
    /// Basic credentials the `/token` endpoint demands.
    pub token_credentials: Option<(String, String)>,
    /// Plain basic auth on `/v2/…`.
    pub basic_auth: Option<(String, String)>,
    /// Default tags/list page size; pages link to the next one with `last=`.
    pub page_size: Option<usize>,
    /// Quay style: links carry an opaque `next_page=` token and `last` is ignored.
    pub opaque_paging: bool,
    /// The page size is `page_size` (or everything) whatever `n` says.
    pub ignore_n: bool,
    /// Every page links to a next one: `last=` paging repeats the final URL, opaque paging
    /// hands out new tokens forever.
    pub endless_links: bool,
    /// The next N requests (except `/token`) get 429.
    pub too_many_requests: usize,
    /// `Retry-After` value sent with 429; `None` means `1`.
    pub retry_after: Option<String>,
    /// The next N requests (except `/token`) get 500, after any 429s.
    pub server_errors: usize,
    /// Every response waits this long before answering.
    pub delay: Option<Duration>,
    /// Successful GET bodies (except `/token`) declare the full length, send half, then break.
    pub truncate_body: bool,
    /// Successful GET bodies (except `/token`) are sent one byte per interval.
    pub drip: Option<Duration>,
    /// Manifest and tags/list requests answer 307 to this base URL, same path and query.
    pub redirect_to: Option<String>,
    /// Every manifest answer claims a digest never seen before.
    pub shifting_digests: bool,
    /// `tags/list` answers this status (401/403/404) while manifests are served: ECR accounts
    /// and Harbor robot accounts that may pull but not list.
    pub refuse_listing: Option<u16>,
    /// How `Link` headers point at the next page.
    pub links: LinkStyle,
    /// Basic auth per namespace: (repository prefix, user, password); a repository under no
    /// prefix is open.
    pub basic_by_namespace: Vec<(String, String, String)>,
    /// `/token` also answers an OAuth2 POST `grant_type=refresh_token` carrying this token
    /// (ACR's identity tokens; docker/distribution `registry/client/auth/session.go`).
    pub refresh_token: Option<String>,
    /// The URL the fake names in its challenges: that of a host a client reaches through the
    /// fake acting as its HTTP proxy (absolute-form requests), never this machine's address.
    pub public_url: Option<String>,
}

/// Where a `Link` points, as registries write it.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub enum LinkStyle {
    /// `</v2/<name>/tags/list?…>` (distribution, Docker Hub).
    #[default]
    Root,
    /// `<list?…>`: relative to the request URL's folder.
    Relative,
    /// `<http://host/v2/<name>/tags/list?…>` (Quay's `next_page`).
    Absolute,
    /// Artifactory (RTFACT-18971): the link drops the repository's first segment (the virtual
    /// repository) and answers carry `X-JFrog-Version`.
    Artifactory,
}

impl Behaviour {
    pub fn with_repo<T: Into<String>, S: Into<String>>(
        mut self,
        name: &str,
        tags: impl IntoIterator<Item = (T, S)>,
    ) -> Self {
        let tags = tags.into_iter().map(|(t, s)| (t.into(), s.into()));
        self.repositories.insert(name.to_owned(), tags.collect());
        self
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    /// Path and query, as received.
    pub path: String,
    pub authorization: Option<String>,
    pub accept: Option<String>,
    /// The body of a POST (the token form).
    pub body: String,
}

pub struct FakeRegistry {
    /// `http://127.0.0.1:PORT`
    pub url: String,
    /// `127.0.0.1:PORT`
    pub host: String,
    shared: Arc<Mutex<Inner>>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl FakeRegistry {
    pub fn start(behaviour: Behaviour) -> FakeRegistry {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind fake registry");
        listener.set_nonblocking(true).unwrap();
        let host = listener.local_addr().unwrap().to_string();
        let url = format!("http://{host}");
        let shared = Arc::new(Mutex::new(Inner::new(url.clone(), behaviour)));
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            runtime.unwrap().block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                tokio::select! {
                    served = axum::serve(listener, app).into_future() => served.unwrap(),
                    _ = stopped => {}
                }
            });
        });
        FakeRegistry {
            url,
            host,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Every request received so far (`/token` included), oldest first.
    pub fn requests(&self) -> Vec<Request> {
        self.lock().requests.clone()
    }

    pub fn request_count(&self) -> usize {
        self.lock().requests.len()
    }

    pub fn reset_counts(&self) {
        self.lock().requests.clear();
    }

    pub fn set_behaviour(&self, f: impl FnOnce(&mut Behaviour)) {
        let mut inner = self.lock();
        f(&mut inner.behaviour);
        inner.reindex();
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for FakeRegistry {
    fn drop(&mut self) {
        let _ = self.stop.take().map(|stop| stop.send(()));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A manifest generated from a seed: `digest` is the sha256 of `body`. The seed prefix picks
/// the media type: `image:` OCI image manifest, `docker:` Docker manifest, `docker-list:`
/// Docker manifest list, anything else an OCI index.
pub struct Manifest {
    pub media_type: &'static str,
    pub body: Vec<u8>,
    pub digest: String,
}

pub fn manifest(seed: &str) -> Manifest {
    let media_type = [
        ("image:", OCI_MANIFEST),
        ("schema1:", DOCKER_SCHEMA1),
        ("docker:", DOCKER_MANIFEST),
        ("docker-list:", DOCKER_LIST),
    ]
    .into_iter()
    .find_map(|(prefix, media_type)| seed.starts_with(prefix).then_some(media_type))
    .unwrap_or(OCI_INDEX);
    let descriptor = |what: &str, media_type: &str| {
        let digest = sha256(format!("{seed}/{what}").as_bytes());
        json!({"mediaType": media_type, "digest": digest, "size": 1234})
    };
    let body = if media_type == DOCKER_SCHEMA1 {
        json!({"schemaVersion": 1, "name": "old", "tag": seed, "architecture": "amd64",
            "fsLayers": [], "history": []})
    } else if media_type == OCI_MANIFEST || media_type == DOCKER_MANIFEST {
        let layer = "application/vnd.oci.image.layer.v1.tar+gzip";
        json!({"schemaVersion": 2, "mediaType": media_type,
            "config": descriptor("config", "application/vnd.oci.image.config.v1+json"),
            "layers": [descriptor("layer", layer)], "annotations": {"seed": seed}})
    } else {
        let child = if media_type == DOCKER_LIST {
            DOCKER_MANIFEST
        } else {
            OCI_MANIFEST
        };
        let platform = |arch: &str| {
            let mut d = descriptor(arch, child);
            d["platform"] = json!({"architecture": arch, "os": "linux"});
            d
        };
        json!({"schemaVersion": 2, "mediaType": media_type,
            "manifests": [platform("amd64"), platform("arm64")], "annotations": {"seed": seed}})
    };
    let body = serde_json::to_vec(&body).unwrap();
    Manifest {
        media_type,
        digest: sha256(&body),
        body,
    }
}

/// Body and digest of the manifest for `seed` (an OCI index for unprefixed seeds).
pub fn index(seed: &str) -> (Vec<u8>, String) {
    let m = manifest(seed);
    (m.body, m.digest)
}

/// `n` distinct semver-like tags sharing 16 seeds, cheap even for 100,000 tags.
pub fn many_tags(n: usize) -> Vec<(String, String)> {
    let tag = |i: usize| format!("{}.{}.{}", i / 10_000, i / 100 % 100, i % 100);
    (0..n)
        .map(|i| (tag(i), format!("seed-{}", i % 16)))
        .collect()
}

/// The `Authorization` value for basic credentials.
pub fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", BASE64.encode(format!("{user}:{password}")))
}

pub fn sha256(bytes: &[u8]) -> String {
    let hex: String = Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256:{hex}")
}

struct Inner {
    url: String,
    behaviour: Behaviour,
    /// repository -> (tag, seed) sorted by tag.
    sorted: HashMap<String, Vec<(String, String)>>,
    requests: Vec<Request>,
}

#[derive(Default)]
struct Reply {
    status: StatusCode,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
    delay: Option<Duration>,
    truncate: bool,
    drip: Option<Duration>,
}

impl Reply {
    fn new(status: StatusCode) -> Reply {
        Reply {
            status,
            ..Reply::default()
        }
    }

    fn json(status: StatusCode, body: serde_json::Value, content_type: &str) -> Reply {
        let reply = Reply {
            body: serde_json::to_vec(&body).unwrap(),
            ..Reply::new(status)
        };
        reply.header("Content-Type", content_type)
    }

    fn error(status: StatusCode, code: &str, message: &str) -> Reply {
        let errors = json!({"errors": [{"code": code, "message": message}]});
        Reply::json(status, errors, "application/json")
    }

    fn header(mut self, name: &'static str, value: impl Into<String>) -> Reply {
        self.headers.push((name, value.into()));
        self
    }
}

impl Inner {
    fn new(url: String, behaviour: Behaviour) -> Inner {
        let mut inner = Inner {
            url,
            behaviour,
            sorted: HashMap::new(),
            requests: Vec::new(),
        };
        inner.reindex();
        inner
    }

    fn reindex(&mut self) {
        self.sorted = (self.behaviour.repositories.iter())
            .map(|(name, tags)| {
                let mut tags = tags.clone();
                tags.sort_by(|a, b| a.0.cmp(&b.0));
                tags.dedup_by(|a, b| a.0 == b.0);
                (name.clone(), tags)
            })
            .collect();
    }

    fn answer(
        &mut self,
        method: &Method,
        uri: &Uri,
        query: &HashMap<String, String>,
        headers: &HeaderMap,
        body: String,
    ) -> Reply {
        let joined = |name| {
            let values: Vec<_> = headers
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect();
            (!values.is_empty()).then(|| values.join(", "))
        };
        let request = Request {
            method: method.to_string(),
            path: uri
                .path_and_query()
                .map_or(uri.path(), |p| p.as_str())
                .to_owned(),
            authorization: joined(header::AUTHORIZATION),
            accept: joined(header::ACCEPT),
            body,
        };
        let is_token = uri.path() == "/token";
        let mut reply = self.route(method, uri.path(), query, &request);
        if self.behaviour.links == LinkStyle::Artifactory {
            reply = reply.header("X-JFrog-Version", "Artifactory/7.77.5");
        }
        let b = &self.behaviour;
        reply.delay = b.delay;
        if reply.status == StatusCode::OK && method == Method::GET && !is_token {
            reply.truncate = b.truncate_body;
            reply.drip = b.drip;
        }
        self.requests.push(request);
        reply.header("Docker-Distribution-API-Version", "registry/2.0")
    }

    fn route(
        &mut self,
        method: &Method,
        path: &str,
        query: &HashMap<String, String>,
        request: &Request,
    ) -> Reply {
        let auth = request.authorization.as_deref();
        if path == "/token" {
            if request.method == "POST" {
                return self.refresh(&request.body);
            }
            return self.token(query, auth);
        }
        let b = &mut self.behaviour;
        if b.too_many_requests > 0 {
            b.too_many_requests -= 1;
            let retry_after = b.retry_after.clone().unwrap_or_else(|| "1".into());
            let error = Reply::error(
                StatusCode::TOO_MANY_REQUESTS,
                "TOOMANYREQUESTS",
                "slow down",
            );
            return error.header("Retry-After", retry_after);
        }
        if b.server_errors > 0 {
            b.server_errors -= 1;
            return Reply::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "UNKNOWN",
                "unknown error",
            );
        }
        if path == "/v2/" || path == "/v2" {
            return self
                .authorize(None, auth)
                .unwrap_or_else(|| Reply::json(StatusCode::OK, json!({}), "application/json"));
        }
        let rest = path.strip_prefix("/v2/").unwrap_or("");
        let (name, reference) = match rest.strip_suffix("/tags/list") {
            Some(name) => (name, None),
            None => match rest.rsplit_once("/manifests/") {
                Some((name, reference)) => (name, Some(reference)),
                None => return Reply::error(StatusCode::NOT_FOUND, "NOT_FOUND", "not found"),
            },
        };
        if let Some(challenge) = self.authorize(Some(name), auth) {
            return challenge;
        }
        if let (Some(status), None) = (self.behaviour.refuse_listing, reference) {
            let status = StatusCode::from_u16(status).unwrap();
            return Reply::error(
                status,
                "DENIED",
                "requested access to the resource is denied",
            );
        }
        if let Some(base) = &self.behaviour.redirect_to {
            return Reply::new(StatusCode::TEMPORARY_REDIRECT)
                .header("Location", format!("{base}{}", request.path));
        }
        match (method.clone(), reference) {
            (Method::GET | Method::HEAD, Some(reference)) => {
                self.manifest(name, reference, request.accept.as_deref())
            }
            (Method::GET, None) => self.tags(name, query),
            _ => Reply::error(StatusCode::METHOD_NOT_ALLOWED, "UNSUPPORTED", "unsupported"),
        }
    }

    /// `None` when the request may go on, otherwise the 401 challenge.
    fn authorize(&self, repo: Option<&str>, auth: Option<&str>) -> Option<Reply> {
        let b = &self.behaviour;
        let (ok, challenge) = if b.token_auth {
            let ok = match repo {
                Some(repo) => auth == Some(&format!("Bearer tok-{repo}")),
                None => auth.is_some_and(|a| a.starts_with("Bearer tok-")),
            };
            let scope = repo.map_or(String::new(), |r| format!(",scope=\"repository:{r}:pull\""));
            (
                ok,
                format!(
                    "Bearer realm=\"{}/token\",service=\"fake\"{scope}",
                    b.public_url.as_deref().unwrap_or(&self.url)
                ),
            )
        } else if let Some((user, password)) = &b.basic_auth {
            (
                auth == Some(&basic(user, password)),
                "Basic realm=\"fake\"".to_owned(),
            )
        } else if let Some((_, user, password)) = repo.and_then(|repo| {
            b.basic_by_namespace
                .iter()
                .find(|(prefix, _, _)| repo.starts_with(&format!("{prefix}/")))
        }) {
            (
                auth == Some(&basic(user, password)),
                "Basic realm=\"fake\"".to_owned(),
            )
        } else {
            return None;
        };
        let error = Reply::error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "authentication required",
        );
        (!ok).then(|| error.header("WWW-Authenticate", challenge))
    }

    fn token(&self, query: &HashMap<String, String>, auth: Option<&str>) -> Reply {
        if let Some((user, password)) = &self.behaviour.token_credentials
            && auth != Some(&basic(user, password))
        {
            let details = json!({"details": "incorrect username or password"});
            return Reply::json(StatusCode::UNAUTHORIZED, details, "application/json");
        }
        let scope = query.get("scope").map(String::as_str).unwrap_or("");
        let repo = scope
            .strip_prefix("repository:")
            .and_then(|s| s.rsplit_once(':'))
            .map_or("", |(r, _)| r);
        let token = format!("tok-{repo}");
        let body = json!({"token": token, "access_token": token, "expires_in": 300});
        Reply::json(StatusCode::OK, body, "application/json")
    }

    /// OAuth2 refresh-token grant: `grant_type=refresh_token&refresh_token=…&scope=…`.
    fn refresh(&self, body: &str) -> Reply {
        let form: HashMap<String, String> = body
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .map(|(k, v)| (decode(k), decode(v)))
            .collect();
        let granted = form.get("grant_type").map(String::as_str) == Some("refresh_token")
            && self.behaviour.refresh_token.is_some()
            && form.get("refresh_token") == self.behaviour.refresh_token.as_ref();
        if !granted {
            let details = json!({"details": "invalid refresh token"});
            return Reply::json(StatusCode::UNAUTHORIZED, details, "application/json");
        }
        let scope = form.get("scope").map(String::as_str).unwrap_or("");
        let repo = scope
            .strip_prefix("repository:")
            .and_then(|s| s.rsplit_once(':'))
            .map_or("", |(r, _)| r);
        let body = json!({"access_token": format!("tok-{repo}"), "expires_in": 300});
        Reply::json(StatusCode::OK, body, "application/json")
    }

    fn manifest(&self, name: &str, reference: &str, accept: Option<&str>) -> Reply {
        let tags = self.sorted.get(name).map_or(&[][..], Vec::as_slice);
        let seed = if reference.starts_with("sha256:") {
            let mut seen = HashSet::new();
            let mut seeds = tags
                .iter()
                .map(|(_, seed)| seed)
                .filter(|s| seen.insert(*s));
            seeds.find(|seed| manifest(seed).digest == reference)
        } else {
            let found = tags.binary_search_by(|(tag, _)| tag.as_str().cmp(reference));
            found.ok().map(|i| &tags[i].1)
        };
        let accepted = |m: &Manifest| {
            accept.is_some_and(|a| {
                a.split(',')
                    .any(|t| t.split(';').next().unwrap().trim() == m.media_type)
            })
        };
        match seed.map(|seed| manifest(seed)).filter(accepted) {
            None => Reply::error(
                StatusCode::NOT_FOUND,
                "MANIFEST_UNKNOWN",
                "manifest unknown",
            ),
            Some(m) => {
                static SHIFT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
                let digest = if self.behaviour.shifting_digests {
                    let n = SHIFT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    sha256(format!("{}{n}", m.digest).as_bytes())
                } else {
                    m.digest
                };
                Reply {
                    body: m.body,
                    ..Reply::new(StatusCode::OK)
                }
                .header("Content-Type", m.media_type)
                .header("Docker-Content-Digest", digest)
            }
        }
    }

    fn tags(&self, name: &str, query: &HashMap<String, String>) -> Reply {
        let Some(tags) = self.sorted.get(name) else {
            return Reply::error(
                StatusCode::NOT_FOUND,
                "NAME_UNKNOWN",
                "repository name not known to registry",
            );
        };
        let b = &self.behaviour;
        let n = query
            .get("n")
            .and_then(|n| n.parse().ok())
            .filter(|_| !b.ignore_n);
        let size = n.or(b.page_size).unwrap_or(tags.len());
        let last = query.get("last").filter(|_| !b.opaque_paging);
        let start = match (b.opaque_paging, last) {
            (true, _) => query
                .get("next_page")
                .and_then(|p| decode_page(p))
                .unwrap_or(0),
            (false, Some(last)) => tags.partition_point(|(tag, _)| tag <= last),
            (false, None) => 0,
        };
        let next_start = start.saturating_add(size);
        let end = next_start.min(tags.len());
        let page: Vec<&str> = tags[start.min(end)..end]
            .iter()
            .map(|(tag, _)| tag.as_str())
            .collect();
        let reply = Reply::json(
            StatusCode::OK,
            json!({"name": name, "tags": page}),
            "application/json",
        );
        if end == tags.len() && !b.endless_links {
            return reply;
        }
        let next = if b.opaque_paging {
            format!("next_page={}", encode_page(next_start))
        } else {
            let last_seen = page.last().copied().or(last.map(String::as_str));
            format!("last={}", last_seen.unwrap_or(""))
        };
        let target = match b.links {
            LinkStyle::Root => format!("/v2/{name}/tags/list?{next}&n={size}"),
            LinkStyle::Relative => format!("list?{next}&n={size}"),
            LinkStyle::Absolute => format!("{}/v2/{name}/tags/list?{next}&n={size}", self.url),
            LinkStyle::Artifactory => {
                let image = name.split_once('/').map_or(name, |(_, image)| image);
                format!("/v2/{image}/tags/list?{next}&n={size}")
            }
        };
        reply.header("Link", format!("<{target}>; rel=\"next\""))
    }
}

fn decode(text: &str) -> String {
    let text = text.replace('+', " ");
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(byte) = text
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn encode_page(offset: usize) -> String {
    format!("opaque{:x}", offset ^ 0x5eed)
}

fn decode_page(token: &str) -> Option<usize> {
    usize::from_str_radix(token.strip_prefix("opaque")?, 16)
        .ok()
        .map(|o| o ^ 0x5eed)
}

async fn handle(
    State(shared): State<Arc<Mutex<Inner>>>,
    method: Method,
    uri: Uri,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body = String::from_utf8_lossy(&body).into_owned();
    let reply = shared
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .answer(&method, &uri, &query, &headers, body);
    if let Some(delay) = reply.delay {
        tokio::time::sleep(delay).await;
    }
    let mut response = Response::builder().status(reply.status);
    for (name, value) in &reply.headers {
        response = response.header(*name, value);
    }
    let response = response.header(header::CONTENT_LENGTH, reply.body.len());
    let body = if method == Method::HEAD {
        Body::empty()
    } else if !reply.truncate && reply.drip.is_none() {
        Body::from(reply.body)
    } else {
        stream_body(reply.body, reply.truncate, reply.drip)
    };
    response.body(body).unwrap()
}

fn stream_body(mut body: Vec<u8>, truncate: bool, drip: Option<Duration>) -> Body {
    if truncate {
        body.truncate(body.len() / 2);
    }
    let chunks = match drip {
        Some(_) => body.chunks(1).map(<[u8]>::to_vec).collect(),
        None => vec![body],
    };
    let mut items: Vec<std::io::Result<Bytes>> = chunks.into_iter().map(|c| Ok(c.into())).collect();
    if truncate {
        items.push(Err(std::io::Error::other("truncated on purpose")));
    }
    Body::from_stream(
        futures_util::stream::iter(items).then(move |item| async move {
            // Drip paces every chunk; the pause before the error lets the half body reach the client.
            if let Some(pause) = if item.is_ok() {
                drip
            } else {
                Some(Duration::from_millis(20))
            } {
                tokio::time::sleep(pause).await;
            }
            item
        }),
    )
}
