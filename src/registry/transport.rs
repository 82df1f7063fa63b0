//! HTTP to registries: where a registry's requests go (Docker Hub, mirrors, plain HTTP only
//! where allowed), authentication challenges, retries and limits.
//!
//! oci-client's `Client` hides response headers, so it cannot follow `Link` pages or honour
//! `Retry-After`; this layer speaks the distribution API on reqwest (the HTTP stack oci-client
//! is built on) and takes media types and manifest types from oci-client.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, RETRY_AFTER, WWW_AUTHENTICATE};
use reqwest::{Method, StatusCode};
use tokio::sync::{Mutex, Semaphore};

use super::RegistryError;
use super::auth::{Challenge, Credential, Credentials};
use crate::reference::DOCKER_HUB;

const ATTEMPTS: u32 = 4;
/// A `Retry-After` longer than this is not waited for: the run reports the limit instead.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);
const MAX_BODY: usize = 32 * 1024 * 1024;

/// Where requests go and how long they may take.
#[derive(Debug, Clone)]
pub struct Network {
    /// Registry host → base URL of a mirror that answers for it.
    pub mirrors: BTreeMap<String, String>,
    /// Registries reached over plain HTTP.
    pub insecure: BTreeSet<String>,
    pub connect_timeout: Duration,
    pub timeout: Duration,
    /// Concurrent requests per registry host.
    pub per_host: usize,
}

impl Default for Network {
    fn default() -> Self {
        Network {
            mirrors: BTreeMap::new(),
            insecure: BTreeSet::new(),
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(20),
            per_host: 8,
        }
    }
}

/// An answer: status, headers and the whole body.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

pub struct Transport {
    /// Built on the first request: loading the system's certificates is most of the start-up
    /// cost of a run that asks nothing (`--offline`, a warm cache).
    http: std::sync::OnceLock<Result<reqwest::Client, RegistryError>>,
    network: Network,
    credentials: Credentials,
    tokens: Mutex<HashMap<(String, String), String>>,
    limits: std::sync::Mutex<HashMap<String, Arc<Semaphore>>>,
    /// Hosts that could not be connected to in this run, with the error: not asked again.
    down: std::sync::Mutex<HashMap<String, RegistryError>>,
    requests: AtomicU64,
}

impl Transport {
    pub fn new(network: Network, credentials: Credentials) -> Result<Transport, RegistryError> {
        Ok(Transport {
            http: std::sync::OnceLock::new(),
            network,
            credentials,
            tokens: Mutex::new(HashMap::new()),
            limits: std::sync::Mutex::new(HashMap::new()),
            down: std::sync::Mutex::new(HashMap::new()),
            requests: AtomicU64::new(0),
        })
    }

    fn http(&self) -> Result<&reqwest::Client, RegistryError> {
        self.http
            .get_or_init(|| {
                reqwest::Client::builder()
                    .connect_timeout(self.network.connect_timeout)
                    .timeout(self.network.timeout)
                    .user_agent(concat!("tagpin/", env!("CARGO_PKG_VERSION")))
                    .build()
                    .map_err(|e| RegistryError::other(format!("cannot set up HTTP: {e}")))
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Requests sent so far (token requests included).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// The base URL requests for `registry` go to.
    pub fn base_url(&self, registry: &str) -> String {
        if let Some(mirror) = self.network.mirrors.get(registry) {
            return mirror.trim_end_matches('/').to_string();
        }
        if registry == DOCKER_HUB {
            return "https://registry-1.docker.io".into();
        }
        let scheme = if self.network.insecure.contains(registry) || is_loopback(registry) {
            "http"
        } else {
            "https"
        };
        format!("{scheme}://{registry}")
    }

    /// Send a request to `registry` for `repository`, answering authentication challenges,
    /// waiting out 429s and retrying 5xx and network failures, all bounded.
    pub async fn send(
        &self,
        method: Method,
        registry: &str,
        repository: &str,
        url: &str,
        accept: &[&str],
    ) -> Result<Answer, RegistryError> {
        let host = host_of(url);
        let _permit = self.limit(&host).acquire_owned().await;
        if let Some(error) = self
            .down
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&host)
        {
            return Err(error.clone());
        }
        let credential = self.credential_for(registry, &host);
        let mut authorization = self.cached_token(&host, repository).await;
        let mut answered_challenge = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut request = self.http()?.request(method.clone(), url);
            if !accept.is_empty() {
                request = request.header(ACCEPT, accept.join(", "));
            }
            if let Some(value) = &authorization {
                request = request.header(AUTHORIZATION, value);
            }
            self.requests.fetch_add(1, Ordering::Relaxed);
            let outcome = match request.send().await {
                Ok(response) => read(response).await,
                Err(e) => Err(e),
            };
            let answer = match outcome {
                Ok(answer) => answer,
                // A refused connection, an unknown host or a host that let the time run out
                // will not do better in a second: the run stops asking it.
                Err(e) if e.is_connect() || e.is_timeout() => {
                    let error = RegistryError::network(&host, &e);
                    self.down
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(host.clone(), error.clone());
                    return Err(error);
                }
                Err(e) if attempt < ATTEMPTS => {
                    tracing::debug!("{method} {url}: {e}; retrying");
                    backoff(attempt).await;
                    continue;
                }
                Err(e) => return Err(RegistryError::network(&host, &e)),
            };
            // URLs carry no secrets; headers (where credentials are) are never logged.
            tracing::debug!("{method} {url} -> {}", answer.status);
            match answer.status {
                StatusCode::UNAUTHORIZED if !answered_challenge => {
                    answered_challenge = true;
                    let challenge = answer
                        .headers
                        .get(WWW_AUTHENTICATE)
                        .and_then(|v| v.to_str().ok())
                        .and_then(Challenge::parse);
                    authorization = match challenge {
                        Some(Challenge::Bearer {
                            realm,
                            service,
                            scope,
                        }) => {
                            let scope =
                                scope.unwrap_or_else(|| format!("repository:{repository}:pull"));
                            Some(
                                self.token(
                                    &host,
                                    repository,
                                    &realm,
                                    service.as_deref(),
                                    &scope,
                                    credential.as_ref(),
                                )
                                .await?,
                            )
                        }
                        Some(Challenge::Basic) => match &credential {
                            Some(credential) => Some(credential.basic_header()),
                            None => return Err(RegistryError::auth(registry)),
                        },
                        None => return Err(RegistryError::auth(registry)),
                    };
                    attempt -= 1;
                }
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                    return Err(RegistryError::auth(registry));
                }
                StatusCode::TOO_MANY_REQUESTS => {
                    let wait = retry_after(&answer.headers);
                    if wait > MAX_RETRY_AFTER || attempt >= ATTEMPTS {
                        return Err(RegistryError::other(format!(
                            "{host} is rate limiting requests (429, retry after {} s); try again later",
                            wait.as_secs()
                        )));
                    }
                    tokio::time::sleep(wait).await;
                }
                status if status.is_server_error() && attempt < ATTEMPTS => backoff(attempt).await,
                status if status.is_server_error() => {
                    return Err(RegistryError::other(format!(
                        "{host} answered {status} {ATTEMPTS} times"
                    )));
                }
                _ => return Ok(answer),
            }
        }
    }

    fn limit(&self, host: &str) -> Arc<Semaphore> {
        let mut limits = self.limits.lock().unwrap_or_else(|e| e.into_inner());
        limits
            .entry(host.to_string())
            .or_insert_with(|| Arc::new(Semaphore::new(self.network.per_host.max(1))))
            .clone()
    }

    /// The credential for the host requests go to: a mirror's own, else the registry's.
    fn credential_for(&self, registry: &str, host: &str) -> Option<Credential> {
        self.credentials.lookup(host).or_else(|| {
            if host_of(&self.base_url(registry)) == host {
                self.credentials.lookup(registry)
            } else {
                None
            }
        })
    }

    async fn cached_token(&self, host: &str, repository: &str) -> Option<String> {
        self.tokens
            .lock()
            .await
            .get(&(host.to_string(), repository.to_string()))
            .cloned()
    }

    /// Docker Hub's token flow: GET the realm with service and scope (credentials, if any, go
    /// to the realm only when it is the registry's own host or HTTPS), reuse it per repository.
    async fn token(
        &self,
        host: &str,
        repository: &str,
        realm: &str,
        service: Option<&str>,
        scope: &str,
        credential: Option<&Credential>,
    ) -> Result<String, RegistryError> {
        let mut request = self.http()?.get(realm).query(&[("scope", scope)]);
        if let Some(service) = service {
            request = request.query(&[("service", service)]);
        }
        if let Some(credential) =
            credential.filter(|_| realm.starts_with("https://") || host_of(realm) == host)
        {
            request = request.header(AUTHORIZATION, credential.basic_header());
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        let realm_host = host_of(realm);
        tracing::debug!("GET {realm} (token for {scope})");
        let response = request
            .send()
            .await
            .map_err(|e| RegistryError::network(&realm_host, &e))?;
        let status = response.status();
        let answer = read(response)
            .await
            .map_err(|e| RegistryError::network(&realm_host, &e))?;
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(RegistryError::auth(host));
        }
        if !status.is_success() {
            return Err(RegistryError::other(format!(
                "token service {realm_host} answered {status}"
            )));
        }
        #[derive(serde::Deserialize)]
        struct TokenAnswer {
            token: Option<String>,
            access_token: Option<String>,
        }
        let parsed: TokenAnswer = serde_json::from_slice(&answer.body).map_err(|e| {
            RegistryError::other(format!(
                "token service {realm_host} sent an unreadable answer: {e}"
            ))
        })?;
        let token = parsed.token.or(parsed.access_token).ok_or_else(|| {
            RegistryError::other(format!("token service {realm_host} sent no token"))
        })?;
        let value = format!("Bearer {token}");
        self.tokens
            .lock()
            .await
            .insert((host.to_string(), repository.to_string()), value.clone());
        Ok(value)
    }
}

async fn read(response: reqwest::Response) -> Result<Answer, reqwest::Error> {
    let status = response.status();
    let headers = response.headers().clone();
    let mut body = Vec::new();
    let mut response = response;
    while let Some(chunk) = response.chunk().await? {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_BODY {
            break;
        }
    }
    Ok(Answer {
        status,
        headers,
        body,
    })
}

fn retry_after(headers: &HeaderMap) -> Duration {
    let seconds = headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    Duration::from_secs(seconds.unwrap_or(1))
}

/// 250 ms, 500 ms, 1 s… with up to half again of jitter.
async fn backoff(attempt: u32) {
    let base = 250u64 << (attempt - 1).min(4);
    let jitter = fastrand::u64(0..=base / 2);
    tokio::time::sleep(Duration::from_millis(base + jitter)).await;
}

/// `host[:port]` of a URL.
pub fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.split(['/', '?', '#'])
        .next()
        .unwrap_or(rest)
        .to_string()
}

fn is_loopback(registry: &str) -> bool {
    let host = registry
        .rsplit_once(':')
        .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
        .map_or(registry, |(h, _)| h);
    host == "localhost"
        || host == "[::1]"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn where_requests_go() {
        let mut network = Network::default();
        network
            .mirrors
            .insert("docker.io".into(), "http://127.0.0.1:5000/".into());
        network.insecure.insert("registry.lan:5000".into());
        let transport = Transport::new(network, Credentials::default()).unwrap();
        assert_eq!(transport.base_url("docker.io"), "http://127.0.0.1:5000");
        assert_eq!(
            transport.base_url("registry.lan:5000"),
            "http://registry.lan:5000"
        );
        assert_eq!(
            transport.base_url("localhost:5000"),
            "http://localhost:5000"
        );
        assert_eq!(
            transport.base_url("127.0.0.1:41000"),
            "http://127.0.0.1:41000"
        );
        assert_eq!(transport.base_url("ghcr.io"), "https://ghcr.io");
        let plain = Transport::new(Network::default(), Credentials::default()).unwrap();
        assert_eq!(plain.base_url("docker.io"), "https://registry-1.docker.io");
        assert_eq!(
            host_of("https://auth.docker.io/token?x=1"),
            "auth.docker.io"
        );
    }
}
