//! The registry side: what a tag points to now, and which release shares that digest.
//!
//! The registry is the source of truth: the tag list decides which tags are releases, rule data
//! only orders the search (see [`candidates`]), and every tag named exists. Requests are HEADs
//! wherever a digest is all that is needed (Docker Hub does not count them against pull
//! limits); tag lists follow `Link` pages as a URL resolver would. A mirror is asked first and
//! the registry after it, as Docker does. Answers are cached on disk by the endpoint that gave
//! them (see [`cache`]) and shared within a run, so identical references cost one resolution.

pub mod auth;
pub mod cache;
pub(crate) mod transport;

use std::collections::HashMap;
use std::sync::Arc;

use oci_client::manifest::{
    IMAGE_MANIFEST_LIST_MEDIA_TYPE, IMAGE_MANIFEST_MEDIA_TYPE, OCI_IMAGE_INDEX_MEDIA_TYPE,
    OCI_IMAGE_MEDIA_TYPE, OciImageIndex,
};
use reqwest::{Method, StatusCode, Url};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::{Mutex, OnceCell};

use crate::reference::Image;
use crate::rules::data::RuleData;
use crate::version::TagVersion;
pub use auth::Credentials;
pub use cache::Cache;
pub use transport::Network;
use transport::{Endpoint, Transport};

/// Every manifest type, so that the distribution server (which answers 404, not 406, when the
/// stored type is missing from `Accept`) finds indexes, single manifests and old schema 1
/// manifests alike (the list containers/image `manifest.DefaultRequestedManifestMIMETypes`
/// sends).
const MANIFEST_TYPES: [&str; 6] = [
    OCI_IMAGE_INDEX_MEDIA_TYPE,
    IMAGE_MANIFEST_LIST_MEDIA_TYPE,
    OCI_IMAGE_MEDIA_TYPE,
    IMAGE_MANIFEST_MEDIA_TYPE,
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
    "application/vnd.docker.distribution.manifest.v1+json",
];
const MAX_TAG_PAGES: usize = 1000;
const MAX_TAGS: usize = 200_000;
const PAGE_SIZE: usize = 1000;
/// At most this many releases are asked whether they share one floating tag's digest.
const MAX_ASKED: usize = 256;

/// Why the registry could not answer; the message says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("{message}")]
pub struct RegistryError {
    pub kind: ErrorKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    Unreachable,
    Auth,
    NotFound,
    Offline,
    Other,
}

impl RegistryError {
    pub fn other(message: String) -> Self {
        RegistryError {
            kind: ErrorKind::Other,
            message,
        }
    }

    pub(crate) fn network(host: &str, error: &reqwest::Error) -> Self {
        let what = if error.is_timeout() {
            "timed out".to_string()
        } else if error.is_connect() {
            "cannot connect".to_string()
        } else if error.is_body() || error.is_decode() {
            "the answer was cut short".to_string()
        } else {
            "request failed".to_string()
        };
        let mut deepest: Option<&dyn std::error::Error> = std::error::Error::source(error);
        while let Some(next) = deepest.and_then(std::error::Error::source) {
            deepest = Some(next);
        }
        let cause = deepest.map(|s| format!(" ({s})")).unwrap_or_default();
        RegistryError {
            kind: ErrorKind::Unreachable,
            message: format!("registry {host} could not be reached: {what}{cause}"),
        }
    }
}

/// What a floating reference points to now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolution {
    /// The index digest (or single manifest digest) the tag has now.
    pub digest: String,
    /// The most specific release tag with the same digest, if one exists.
    pub release: Option<String>,
    /// Other tags seen with that digest.
    pub also: Vec<String>,
    /// Why there is no release where one may exist (the tag list was refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A manifest as a HEAD shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub digest: String,
    pub media_type: String,
}

impl Manifest {
    /// An index or manifest list: the multi-arch entry point.
    pub fn is_index(&self) -> bool {
        self.media_type == OCI_IMAGE_INDEX_MEDIA_TYPE
            || self.media_type == IMAGE_MANIFEST_LIST_MEDIA_TYPE
    }
}

/// How a run uses the registry.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub network: Network,
    pub cache: Option<Cache>,
    /// No network: the cache only.
    pub offline: bool,
    /// Ignore cached answers (and replace them).
    pub refresh: bool,
}

/// One repository's tag list, fetched once however many references ask for it.
type SharedTags = Arc<OnceCell<Result<Vec<String>, RegistryError>>>;

pub struct Registry {
    transport: Transport,
    options: Options,
    tags: Mutex<HashMap<String, SharedTags>>,
    notes: std::sync::Mutex<Vec<String>>,
    /// Resolutions made in this run, reused however the disk cache is set.
    resolved: std::sync::Mutex<HashMap<String, Resolution>>,
}

impl Registry {
    /// A client for a run; `Err` when a mirror URL is not a URL (the message does not repeat
    /// it: it may hold a password).
    pub fn new(options: Options, credentials: Credentials) -> Result<Registry, RegistryError> {
        if let Some(registry) = options
            .network
            .mirrors
            .iter()
            .find(|(_, url)| Endpoint::from_url(url).is_none())
            .map(|(registry, _)| registry)
        {
            return Err(RegistryError::other(format!(
                "the mirror URL for {registry} is not a valid http:// or https:// URL"
            )));
        }
        Ok(Registry {
            transport: Transport::new(options.network.clone(), credentials),
            options,
            tags: Mutex::new(HashMap::new()),
            notes: std::sync::Mutex::new(Vec::new()),
            resolved: std::sync::Mutex::new(HashMap::new()),
        })
    }

    /// No network in this run: the cache only.
    pub fn is_offline(&self) -> bool {
        self.options.offline
    }

    /// Requests sent so far.
    pub fn requests(&self) -> u64 {
        self.transport.requests()
    }

    /// Notes for the user (a discarded cache file, a mirror that failed, a broken auth file),
    /// each once.
    pub fn take_notes(&self) -> Vec<String> {
        let mut notes = self.transport.take_notes();
        notes.append(&mut self.notes.lock().unwrap_or_else(|e| e.into_inner()));
        let mut seen = std::collections::HashSet::new();
        notes.retain(|n| seen.insert(n.clone()));
        notes
    }

    fn note(&self, note: String) {
        let mut notes = self.notes.lock().unwrap_or_else(|e| e.into_inner());
        if !notes.contains(&note) {
            notes.push(note);
        }
    }

    fn cached<T: serde::de::DeserializeOwned>(&self, key: &str) -> Option<T> {
        let cache = self
            .options
            .cache
            .as_ref()
            .filter(|_| !self.options.refresh)?;
        match cache.get(key) {
            Ok(value) => value,
            Err(note) => {
                self.note(note);
                None
            }
        }
    }

    fn store<T: Serialize>(&self, key: &str, value: &T) {
        if let Some(cache) = &self.options.cache {
            cache.put(key, value);
        }
    }

    /// Cache keys name the endpoint that answered: the same question put to a mirror and to
    /// the registry are two entries.
    fn key(endpoint: &Endpoint, what: &str, image: &Image, rest: &str) -> String {
        format!(
            "{what} {} {}{rest}",
            endpoint.cache_label(),
            image.full_name()
        )
    }

    /// A cached answer from any of `image`'s endpoints, or `Err` when offline without one
    /// (`what` names it); `Ok(None)` means: ask the registry.
    fn lookup<T: serde::de::DeserializeOwned>(
        &self,
        kind: &str,
        image: &Image,
        rest: &str,
        what: impl FnOnce() -> String,
    ) -> Result<Option<T>, RegistryError> {
        let found = self
            .transport
            .endpoints(&image.registry)
            .iter()
            .find_map(|endpoint| self.cached::<T>(&Self::key(endpoint, kind, image, rest)));
        match found {
            Some(found) => Ok(Some(found)),
            None if self.options.offline => Err(RegistryError {
                kind: ErrorKind::Offline,
                message: format!("offline: no cached answer for {}", what()),
            }),
            None => Ok(None),
        }
    }

    /// Ask `image`'s endpoints in turn, as Docker does with mirrors: any error or 404 from a
    /// mirror falls back to the registry itself. When the registry cannot be reached either,
    /// the mirror's answer stands (an air-gapped mirror's 404 is still an answer). `rest`
    /// follows `/v2/<repository>`.
    async fn ask(
        &self,
        method: Method,
        image: &Image,
        rest: &str,
        accept: &[&str],
    ) -> Result<(transport::Answer, Endpoint), RegistryError> {
        let mut endpoints = self.transport.endpoints(&image.registry);
        let own = endpoints.pop().expect("a registry has its own endpoint");
        let mut from_mirror = None;
        if let Some(mirror) = endpoints.pop() {
            let answer = self
                .send_to(&mirror, method.clone(), image, rest, accept)
                .await;
            let failed = match &answer {
                Ok(answer) if answer.status.is_success() => None,
                Ok(answer) if answer.status == StatusCode::NOT_FOUND => None,
                Ok(answer) => Some(format!("answered {}", answer.status)),
                Err(error) => Some(error.message.clone()),
            };
            if answer.as_ref().is_ok_and(|a| a.status.is_success()) {
                return answer.map(|answer| (answer, mirror));
            }
            if let Some(failed) = failed {
                self.note(format!(
                    "mirror {} failed ({failed}); asked {} instead",
                    mirror.host, image.registry
                ));
            }
            tracing::debug!(
                "{method} {rest}: mirror {} did not answer; asking {}",
                mirror.host,
                own.host
            );
            from_mirror = Some((answer, mirror));
        }
        let answer = self.send_to(&own, method, image, rest, accept).await;
        match (answer, from_mirror) {
            (Err(error), Some((mirrored, mirror))) if error.kind == ErrorKind::Unreachable => {
                match mirrored {
                    Ok(answer) => Ok((answer, mirror)),
                    Err(mirror_error) => Err(RegistryError {
                        message: format!(
                            "{}; {} could not be reached either",
                            mirror_error.message, own.host
                        ),
                        ..mirror_error
                    }),
                }
            }
            (answer, _) => answer.map(|answer| (answer, own)),
        }
    }

    async fn send_to(
        &self,
        endpoint: &Endpoint,
        method: Method,
        image: &Image,
        rest: &str,
        accept: &[&str],
    ) -> Result<transport::Answer, RegistryError> {
        let url = endpoint.url(&image.repository, rest);
        let repository = endpoint.repository(&image.repository);
        self.transport
            .send(method, endpoint, &repository, &url, accept)
            .await
    }

    /// What `reference` (a tag or a digest) of `image`'s repository points to, by HEAD; `None`
    /// when the registry does not know it.
    pub async fn manifest(
        &self,
        image: &Image,
        reference: &str,
    ) -> Result<Option<Manifest>, RegistryError> {
        Ok(self.manifest_at(image, reference).await?.0)
    }

    /// [`Registry::manifest`] and the cache label of the endpoint that answered.
    async fn manifest_at(
        &self,
        image: &Image,
        reference: &str,
    ) -> Result<(Option<Manifest>, String), RegistryError> {
        let rest = format!(":{reference}");
        let endpoints = self.transport.endpoints(&image.registry);
        for endpoint in &endpoints {
            let key = Self::key(endpoint, "manifest", image, &rest);
            if let Some(found) = self.cached::<Option<Manifest>>(&key) {
                return Ok((found, endpoint.cache_label()));
            }
        }
        if self.options.offline {
            return Err(RegistryError {
                kind: ErrorKind::Offline,
                message: format!(
                    "offline: no cached answer for {}:{reference}",
                    image.short_name()
                ),
            });
        }
        let path = format!("/manifests/{reference}");
        let (head, endpoint) = self
            .ask(Method::HEAD, image, &path, &MANIFEST_TYPES)
            .await?;
        let found = match head.status.as_u16() {
            404 => None,
            200 => {
                let media_type = header(&head.headers, "content-type").unwrap_or_default();
                let digest = match header(&head.headers, "docker-content-digest") {
                    Some(digest) => digest,
                    None => self.digest_by_get(image, &endpoint, &path).await?,
                };
                Some(Manifest { digest, media_type })
            }
            status => {
                return Err(RegistryError::other(format!(
                    "{} answered {status} for {}:{reference}",
                    endpoint.host,
                    image.short_name()
                )));
            }
        };
        self.store(&Self::key(&endpoint, "manifest", image, &rest), &found);
        Ok((found, endpoint.cache_label()))
    }

    /// The digest of a manifest whose HEAD had no `Docker-Content-Digest`: the body's sha256,
    /// checked against the header when the GET has one.
    async fn digest_by_get(
        &self,
        image: &Image,
        endpoint: &Endpoint,
        path: &str,
    ) -> Result<String, RegistryError> {
        let url = endpoint.url(&image.repository, path);
        let repository = endpoint.repository(&image.repository);
        let get = self
            .transport
            .send(Method::GET, endpoint, &repository, &url, &MANIFEST_TYPES)
            .await?;
        if !get.status.is_success() {
            return Err(RegistryError::other(format!(
                "{} answered {} for {url}",
                endpoint.host, get.status
            )));
        }
        let computed = format!("sha256:{:x}", Sha256::digest(&get.body));
        match header(&get.headers, "docker-content-digest") {
            Some(claimed) if claimed != computed => Err(RegistryError::other(format!(
                "{} sent a manifest whose digest {computed} is not the {claimed} it claims",
                endpoint.host
            ))),
            _ => Ok(computed),
        }
    }

    /// The manifests an index lists, as (digest, `os/architecture`).
    pub async fn index_entries(
        &self,
        image: &Image,
        digest: &str,
    ) -> Result<Vec<(String, String)>, RegistryError> {
        let rest = format!("@{digest}");
        if let Some(found) = self.lookup::<Vec<(String, String)>>("index", image, &rest, || {
            format!("{}@{digest}", image.short_name())
        })? {
            return Ok(found);
        }
        let (answer, endpoint) = self
            .ask(
                Method::GET,
                image,
                &format!("/manifests/{digest}"),
                &MANIFEST_TYPES[..2],
            )
            .await?;
        if !answer.status.is_success() {
            return Err(RegistryError::other(format!(
                "{} answered {} for {}@{digest}",
                endpoint.host,
                answer.status,
                image.short_name()
            )));
        }
        let computed = format!("sha256:{:x}", Sha256::digest(&answer.body));
        if computed != digest {
            return Err(RegistryError::other(format!(
                "{} sent an index whose digest is {computed}, not {digest}",
                endpoint.host
            )));
        }
        let index: OciImageIndex = serde_json::from_slice(&answer.body).map_err(|e| {
            RegistryError::other(format!("{} sent an unreadable index: {e}", endpoint.host))
        })?;
        let entries: Vec<(String, String)> = index
            .manifests
            .into_iter()
            .map(|entry| {
                let platform = entry
                    .platform
                    .map(|p| format!("{}/{}", p.os, p.architecture))
                    .unwrap_or_default();
                (entry.digest, platform)
            })
            .collect();
        self.store(&Self::key(&endpoint, "index", image, &rest), &entries);
        Ok(entries)
    }

    /// Every tag of `image`'s repository, once per run and repository.
    pub async fn tags(&self, image: &Image) -> Result<Vec<String>, RegistryError> {
        let cell = {
            let mut tags = self.tags.lock().await;
            tags.entry(image.full_name()).or_default().clone()
        };
        cell.get_or_init(|| self.fetch_tags(image)).await.clone()
    }

    /// The tag list, page by page: `Link` targets resolved against the request URL as a URL
    /// resolver does (relative, absolute, Quay's absolute `next_page`); for Artifactory, whose
    /// `next` link drops the virtual repository's prefix (RTFACT-18971), only its `last` is
    /// taken, as Renovate's docker datasource does.
    async fn fetch_tags(&self, image: &Image) -> Result<Vec<String>, RegistryError> {
        let first = format!("/tags/list?n={PAGE_SIZE}");
        if let Some(tags) = self.lookup::<Vec<String>>("tags", image, "", || {
            format!("the tags of {}", image.short_name())
        })? {
            return Ok(tags);
        }
        let (mut page, endpoint) = self
            .ask(Method::GET, image, &first, &["application/json"])
            .await?;
        let repository = endpoint.repository(&image.repository);
        let mut url = endpoint.url(&image.repository, &first);
        let mut tags = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..MAX_TAG_PAGES {
            if !page.status.is_success() {
                let kind = match page.status {
                    StatusCode::NOT_FOUND => ErrorKind::NotFound,
                    _ => ErrorKind::Other,
                };
                return Err(RegistryError {
                    kind,
                    message: format!(
                        "{} answered {} for the tag list of {}",
                        endpoint.host,
                        page.status,
                        image.short_name()
                    ),
                });
            }
            #[derive(Deserialize)]
            struct TagList {
                tags: Option<Vec<String>>,
            }
            let list: TagList = serde_json::from_slice(&page.body).map_err(|e| {
                RegistryError::other(format!(
                    "{} sent an unreadable tag list: {e}",
                    endpoint.host
                ))
            })?;
            tags.extend(list.tags.unwrap_or_default());
            if tags.len() > MAX_TAGS {
                return Err(RegistryError::other(format!(
                    "{} has more than {MAX_TAGS} tags; stopped listing",
                    image.short_name()
                )));
            }
            let artifactory = page.headers.contains_key("x-jfrog-version");
            let next = header(&page.headers, "link")
                .and_then(|link| next_link(&link))
                .and_then(|next| next_url(&url, &next, artifactory));
            match next {
                Some(next) => url = next,
                None => {
                    self.store(&Self::key(&endpoint, "tags", image, ""), &tags);
                    return Ok(tags);
                }
            }
            if !seen.insert(url.clone()) {
                return Err(RegistryError::other(format!(
                    "{}: the tag list pages loop back to {url}",
                    endpoint.host
                )));
            }
            page = self
                .transport
                .send(
                    Method::GET,
                    &endpoint,
                    &repository,
                    &url,
                    &["application/json"],
                )
                .await?;
        }
        Err(RegistryError::other(format!(
            "{}: more than {MAX_TAG_PAGES} pages of tags; stopped",
            endpoint.host
        )))
    }

    /// What a floating tag (or a digest) of `image` points to now, and the release that shares
    /// its digest. The tag list orders the search, the rules only order it further: the
    /// release with the digest is found wherever it is (within [`MAX_ASKED`] HEADs).
    pub async fn resolve(
        &self,
        image: &Image,
        rules: &RuleData,
    ) -> Result<Resolution, RegistryError> {
        let tag = image.tag.as_deref().unwrap_or("latest");
        let (reference, rest) = match &image.digest {
            Some(digest) => (digest.as_str(), format!("@{digest}")),
            None => (tag, format!(":{tag}")),
        };
        let run_key = format!("{}{rest}", image.full_name());
        if let Some(found) = self
            .resolved
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&run_key)
        {
            return Ok(found.clone());
        }
        if let Some(found) = self.lookup_resolution(image, &rest) {
            return Ok(found);
        }
        let (current, endpoint) = self.manifest_at(image, reference).await?;
        let current = current.ok_or_else(|| RegistryError {
            kind: ErrorKind::NotFound,
            message: format!(
                "{}{rest} does not exist in {}",
                image.short_name(),
                image.registry
            ),
        })?;
        let mut resolution = Resolution {
            digest: current.digest.clone(),
            release: None,
            also: Vec::new(),
            note: None,
        };
        let floating = image.digest.is_none().then_some(tag);
        if floating.is_none_or(|tag| !rules.is_build_channel(tag)) {
            match self.tags(image).await {
                Ok(tags) => {
                    let candidates = candidates(floating, &tags, image, rules);
                    let (release, also) = self
                        .first_match(image, &candidates, &current.digest)
                        .await?;
                    resolution.release = release;
                    resolution.also = also;
                }
                Err(error) if error.kind == ErrorKind::Offline => return Err(error),
                // ECR accounts and Harbor robots may pull but not list: the digest is known,
                // the release is not (the pin is still true).
                Err(error) => {
                    resolution.note = Some(format!(
                        "{}: the tag list could not be read ({error}); pinned the digest",
                        image.short_name()
                    ));
                }
            }
        }
        if resolution.note.is_none() {
            self.store(
                &format!("resolution {endpoint} {}{rest}", image.full_name()),
                &resolution,
            );
        }
        self.resolved
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(run_key, resolution.clone());
        Ok(resolution)
    }

    fn lookup_resolution(&self, image: &Image, rest: &str) -> Option<Resolution> {
        self.transport
            .endpoints(&image.registry)
            .iter()
            .find_map(|endpoint| {
                self.cached(&format!(
                    "resolution {} {}{rest}",
                    endpoint.cache_label(),
                    image.full_name()
                ))
            })
    }

    /// HEAD candidates in order, a few at a time (1, 2, 4, then `per_host`), until one shares
    /// `digest`; the first match in candidate order wins.
    async fn first_match(
        &self,
        image: &Image,
        candidates: &[String],
        digest: &str,
    ) -> Result<(Option<String>, Vec<String>), RegistryError> {
        let mut start = 0;
        let mut batch = 1;
        while start < candidates.len() {
            let end = (start + batch).min(candidates.len());
            let heads = futures::future::join_all(
                candidates[start..end]
                    .iter()
                    .map(|tag| self.manifest(image, tag)),
            )
            .await;
            let mut matches = Vec::new();
            for (tag, head) in candidates[start..end].iter().zip(heads) {
                if head?.is_some_and(|m| m.digest == digest) {
                    matches.push(tag.clone());
                }
            }
            if !matches.is_empty() {
                let best = matches.remove(0);
                return Ok((Some(best), matches));
            }
            start = end;
            batch = (batch * 2).min(self.options.network.per_host.max(1));
        }
        Ok((None, Vec::new()))
    }
}

/// The tags that are releases: versions with the full number of components (the rules'
/// `release-components`, else the most any tag of the same major has), so `v2.0` beside
/// `v2.0.5` (an alias that moves) never is one; with a `version-prefix`, prefixed tags only.
fn releases<'t>(
    tags: &'t [String],
    variants: &[String],
    prefix: Option<&str>,
    components: Option<usize>,
) -> Vec<(TagVersion, &'t String)> {
    let versions: Vec<(TagVersion, &String)> = tags
        .iter()
        .filter_map(|t| Some((TagVersion::parse(t, variants)?, t)))
        .filter(|(v, _)| v.is_release() && prefix.is_none_or(|p| v.prefix == p))
        .collect();
    let mut longest: HashMap<u64, usize> = HashMap::new();
    for (v, _) in &versions {
        let most = longest.entry(v.components[0]).or_default();
        *most = (*most).max(v.components.len());
    }
    versions
        .into_iter()
        .filter(|(v, _)| {
            Some(v.components.len()) == components.or(longest.get(&v.components[0]).copied())
        })
        .collect()
}

/// A release's line as the group its newest patch heads: prefix, all components but the last,
/// variant.
fn group(v: &TagVersion) -> (String, Vec<u64>, String) {
    let line = v.components[..v.components.len() - 1].to_vec();
    (v.prefix.clone(), line, v.variant.clone())
}

/// A release tag read as a version.
type Release<'t> = (TagVersion, &'t String);

/// Split into the newest release of each group (in the given order) and the rest.
fn heads_first(list: Vec<Release<'_>>) -> (Vec<Release<'_>>, Vec<Release<'_>>) {
    let mut seen = std::collections::HashSet::new();
    list.into_iter().partition(|(v, _)| seen.insert(group(v)))
}

/// The order to ask releases in whether they share a floating tag's digest (`tag` is `None`
/// for a digest reference). First what the rules prefer: the same variant (or its new name),
/// the tag's own line (`v1.3`), LTS lines for an LTS channel; then every other release, the
/// same variant before the plain image before other variants, nearest line first, dotted
/// versions before build numbers and dates. Within each part the
/// newest patch of every line comes before older patches: a moving tag almost always points
/// at one, so a typical resolution costs one HEAD.
pub fn candidates(
    tag: Option<&str>,
    tags: &[String],
    image: &Image,
    rules: &RuleData,
) -> Vec<String> {
    let image_rules = rules.image_rules(image);
    let variants: Vec<String> = image_rules.map(|r| r.variants.clone()).unwrap_or_default();
    let prefix = image_rules
        .map(|r| r.version_prefix.as_str())
        .filter(|p| !p.is_empty());
    let (line, variant) = match tag.and_then(|t| TagVersion::parse(t, &variants)) {
        Some(version) => (Some(version.components.clone()), version.variant),
        None => (
            None,
            tag.map(|t| rules.channel_variant(t, &variants))
                .unwrap_or_default(),
        ),
    };
    let lts_lines: Option<Vec<String>> = image_rules
        .and_then(|r| r.releases.as_ref())
        .filter(|releases| tag.is_some_and(|t| releases.is_lts_channel(t)))
        .map(|releases| {
            releases
                .lines
                .iter()
                .filter(|l| l.kind == crate::rules::data::LineKind::Lts)
                .map(|l| l.line.clone())
                .collect()
        });
    let same_variant = |v: &TagVersion| {
        v.variant == variant
            || image_rules.is_some_and(|r| r.variant_on(&variant, &v.line()) == v.variant)
    };
    let components = image_rules.and_then(|r| r.release_components);
    let (mut preferred, mut other): (Vec<_>, Vec<_>) =
        releases(tags, &variants, prefix, components)
            .into_iter()
            .filter(|(_, t)| Some(t.as_str()) != tag)
            .partition(|(v, _)| {
                v.components.len() > 1
                    && same_variant(v)
                    && line.as_ref().is_none_or(|line| {
                        v.components.len() > line.len() && v.components.starts_with(line)
                    })
                    && lts_lines
                        .as_ref()
                        .is_none_or(|lines| lines.contains(&v.line()))
            });
    preferred.sort_by(|(a, _), (b, _)| {
        b.semver()
            .cmp(&a.semver())
            .then_with(|| TagVersion::specific_then_newest(a, b))
    });
    // Lines in order, to measure how far one is from the preferred part's.
    let mut lines: Vec<Vec<u64>> = other
        .iter()
        .chain(&preferred)
        .map(|(v, _)| group(v).1)
        .collect();
    lines.sort();
    lines.dedup();
    let position = |line: &Vec<u64>| lines.binary_search(line).unwrap_or_else(|i| i) as i64;
    let anchor = preferred
        .first()
        .map(|(v, _)| position(&group(v).1))
        .or_else(|| line.as_ref().map(position))
        .unwrap_or(lines.len() as i64);
    other.sort_by_key(|(v, _)| {
        let bare = v.components.len() == 1;
        let distance = (position(&group(v).1) - anchor).abs();
        let variant_rank = if same_variant(v) {
            0
        } else if v.variant.is_empty() {
            1
        } else {
            2
        };
        (
            bare,
            variant_rank,
            distance,
            std::cmp::Reverse(v.semver()),
            std::cmp::Reverse(v.components.get(3).copied()),
        )
    });
    let (preferred_heads, preferred_rest) = heads_first(preferred);
    let (other_heads, other_rest) = heads_first(other);
    preferred_heads
        .into_iter()
        .chain(other_heads)
        .chain(preferred_rest)
        .chain(other_rest)
        .take(MAX_ASKED)
        .map(|(_, t)| t.clone())
        .collect()
}

fn header(headers: &reqwest::header::HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_string())
}

/// The `rel="next"` target of a `Link` header.
fn next_link(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let is_next = params.split(';').any(|p| {
            let p = p.trim().replace(' ', "");
            p == "rel=\"next\"" || p == "rel=next"
        });
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        is_next.then(|| target.to_string())
    })
}

/// The next page's URL: `target` resolved against the URL that was asked; for Artifactory,
/// the asked URL with `last` set to the link's.
fn next_url(asked: &str, target: &str, artifactory: bool) -> Option<String> {
    let asked = Url::parse(asked).ok()?;
    let next = asked.join(target).ok()?;
    if !artifactory {
        return Some(next.to_string());
    }
    let last = next
        .query_pairs()
        .find(|(k, _)| k == "last")?
        .1
        .into_owned();
    let mut url = asked.clone();
    let kept: Vec<(String, String)> = asked
        .query_pairs()
        .filter(|(k, _)| k != "last")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    url.query_pairs_mut()
        .clear()
        .extend_pairs(kept)
        .append_pair("last", &last);
    Some(url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(list: &[&str]) -> Vec<String> {
        list.iter().map(|t| t.to_string()).collect()
    }

    #[test]
    fn link_headers() {
        assert_eq!(
            next_link(r#"</v2/a/tags/list?last=b&n=2>; rel="next""#).as_deref(),
            Some("/v2/a/tags/list?last=b&n=2")
        );
        assert_eq!(
            next_link(r#"<https://x/y?next_page=abc>;rel=next"#).as_deref(),
            Some("https://x/y?next_page=abc")
        );
        assert_eq!(next_link(r#"</a>; rel="prev""#), None);
        let asked = "https://harbor.lan/v2/proxy/app/tags/list?n=2";
        let next = |target: &str, artifactory| next_url(asked, target, artifactory);
        assert_eq!(
            next("/v2/proxy/app/tags/list?last=b&n=2", false).as_deref(),
            Some("https://harbor.lan/v2/proxy/app/tags/list?last=b&n=2")
        );
        assert_eq!(
            next("list?last=b", false).as_deref(),
            Some("https://harbor.lan/v2/proxy/app/tags/list?last=b")
        );
        assert_eq!(
            next("https://quay.io/v2/app/tags/list?next_page=x", false).as_deref(),
            Some("https://quay.io/v2/app/tags/list?next_page=x")
        );
        // Artifactory drops the virtual repository: only `last` is taken.
        assert_eq!(
            next("/v2/app/tags/list?last=b&n=2", true).as_deref(),
            Some("https://harbor.lan/v2/proxy/app/tags/list?n=2&last=b")
        );
        assert_eq!(next("/v2/app/tags/list?n=2", true), None);
    }

    fn kestra_tags() -> Vec<String> {
        tags(&[
            "latest",
            "latest-lts",
            "develop",
            "v2.0",
            "v2.0.4",
            "v2.0.5",
            "v2.0.5-slim",
            "v2.0.0-rc7",
            "v1.3",
            "v1.3.29",
            "v1.3.30",
            "v1.3.30-no-plugins",
            "v1.0.60",
            "v1.1.13",
            "1234",
        ])
    }

    #[test]
    fn the_rules_order_the_candidates_and_exclude_none() {
        let rules = RuleData::builtin();
        let kestra = Image::parse("kestra/kestra").unwrap();
        let all = kestra_tags();
        let order = |tag| candidates(Some(tag), &all, &kestra, &rules);
        // The newest patch of every preferred line first, then of every other line (nearest
        // first), then older patches; aliases (`v2.0`), pre-releases and unprefixed build
        // numbers never.
        assert_eq!(
            order("latest"),
            [
                "v2.0.5",
                "v1.3.30",
                "v1.1.13",
                "v1.0.60",
                "v2.0.5-slim",
                "v1.3.30-no-plugins",
                "v2.0.4",
                "v1.3.29"
            ]
        );
        assert_eq!(order("latest-slim")[..2], ["v2.0.5-slim", "v2.0.5"]);
        assert_eq!(
            order("latest-lts")[..4],
            ["v1.3.30", "v1.0.60", "v2.0.5", "v1.1.13"]
        );
        assert_eq!(
            order("latest-lts-no-plugins")[..2],
            ["v1.3.30-no-plugins", "v2.0.5-slim"]
        );
        assert_eq!(order("v1.3")[..2], ["v1.3.30", "v2.0.5"]);
        assert_eq!(order("v1.3").len(), 8);
        let postgres = Image::parse("postgres").unwrap();
        let pg = tags(&[
            "17",
            "17.2",
            "17.2-bookworm",
            "16",
            "16.6",
            "9.6.24",
            "latest",
            "bookworm",
            "20240606",
        ]);
        assert_eq!(
            candidates(Some("latest"), &pg, &postgres, &rules),
            ["17.2", "16.6", "9.6.24", "17.2-bookworm", "20240606"]
        );
        assert_eq!(
            candidates(Some("bookworm"), &pg, &postgres, &rules)[0],
            "17.2-bookworm"
        );
        assert_eq!(
            candidates(None, &pg, &postgres, &rules)[..2],
            ["17.2", "16.6"]
        );
    }

    #[test]
    fn build_numbers_only_are_still_releases() {
        let rules = RuleData::builtin();
        let app = Image::parse("app").unwrap();
        assert_eq!(
            candidates(
                Some("latest"),
                &tags(&["latest", "1233", "1234"]),
                &app,
                &rules
            ),
            ["1234", "1233"]
        );
    }
}
