//! HTTP to registries: authentication challenges, retries and limits, for the endpoints
//! `endpoint` chooses.
//!
//! oci-client's `Client` hides response headers, so it cannot follow `Link` pages or honour
//! `Retry-After`; this layer speaks the distribution API on reqwest (the HTTP stack oci-client
//! is built on) and takes media types and manifest types from oci-client.
//!
//! Credentials go only to the host they were saved for (a mirror gets the mirror's, never the
//! registry's), and never over plain HTTP except to a loopback address. A password written in
//! a mirror URL is taken out of the URL before anything can print it.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, RETRY_AFTER, WWW_AUTHENTICATE};
use reqwest::{Method, StatusCode};
use tokio::sync::{Mutex, Semaphore};

use super::auth::{Challenge, Credential, Credentials};
use super::endpoint::{Endpoint, Network, host_of, is_loopback};
use super::{ErrorKind, RegistryError};

const ATTEMPTS: u32 = 4;
/// A `Retry-After` longer than this is not waited for: the run reports the limit instead.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);
const MAX_BODY: usize = 32 * 1024 * 1024;
/// The OAuth2 client id sent with a refresh-token grant (docker/distribution sends its own).
const CLIENT_ID: &str = "tagpin";

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
    credentials: Arc<Credentials>,
    /// Logins by (host, repository), looked up once per run.
    logins: Mutex<HashMap<(String, String), Option<Credential>>>,
    /// `Authorization` values by (host, repository).
    tokens: Mutex<HashMap<(String, String), String>>,
    /// Hosts that challenged with Basic: later requests send it up front.
    basic: std::sync::Mutex<HashSet<String>>,
    limits: std::sync::Mutex<HashMap<String, Arc<Semaphore>>>,
    /// Hosts that could not be connected to in this run, with the error: not asked again.
    down: std::sync::Mutex<HashMap<String, RegistryError>>,
    requests: AtomicU64,
}

impl Transport {
    pub fn new(network: Network, credentials: Credentials) -> Transport {
        Transport {
            http: std::sync::OnceLock::new(),
            network,
            credentials: Arc::new(credentials),
            logins: Mutex::new(HashMap::new()),
            tokens: Mutex::new(HashMap::new()),
            basic: std::sync::Mutex::new(HashSet::new()),
            limits: std::sync::Mutex::new(HashMap::new()),
            down: std::sync::Mutex::new(HashMap::new()),
            requests: AtomicU64::new(0),
        }
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

    /// Notes from the credential stores (a broken auth file, a missing helper).
    pub fn take_notes(&self) -> Vec<String> {
        self.credentials.take_notes()
    }

    /// Send a request to `endpoint` for `repository` (as the endpoint names it), answering
    /// authentication challenges, waiting out 429s and retrying 5xx and network failures,
    /// all bounded.
    pub async fn send(
        &self,
        method: Method,
        endpoint: &Endpoint,
        repository: &str,
        url: &str,
        accept: &[&str],
    ) -> Result<Answer, RegistryError> {
        let host = host_of(url);
        let _permit = self.limit(&host).acquire_owned().await;
        if let Some(error) = self.down_error(&host) {
            return Err(error);
        }
        let http = self.http()?;
        let mut login = self.login_for(endpoint, &host, repository).await;
        let mut challenged = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let answer = match self.attempt(http, &method, url, accept, &login).await {
                Ok(answer) => answer,
                Err(error) => {
                    let wait = self.after_failure(&host, &error, attempt)?;
                    tracing::debug!("{method} {url}: {error}; retrying");
                    tokio::time::sleep(wait).await;
                    continue;
                }
            };
            // URLs carry no secrets (a mirror's are taken out); headers are never logged.
            tracing::debug!("{method} {url} -> {}", answer.status);
            if answer.status == StatusCode::UNAUTHORIZED && !challenged {
                challenged = true;
                let authorization = self
                    .answer_challenge(&answer, endpoint, &host, repository, &login)
                    .await?;
                login.authorization = Some(authorization);
                // Answering a challenge is not a failed attempt.
                attempt -= 1;
                continue;
            }
            match verdict(answer, &host, repository, attempt)? {
                Verdict::Done(answer) => return Ok(answer),
                Verdict::Retry(wait) => tokio::time::sleep(wait).await,
            }
        }
    }

    /// The error a host gave when it could not be connected to earlier in this run.
    fn down_error(&self, host: &str) -> Option<RegistryError> {
        let down = self.down.lock().unwrap_or_else(|e| e.into_inner());
        down.get(host).cloned()
    }

    /// What a request may carry: credentials only for the endpoint's own host (a `Link` may
    /// point elsewhere) over a connection that may carry them, and the authorization known
    /// before any challenge.
    async fn login_for(&self, endpoint: &Endpoint, host: &str, repository: &str) -> Login {
        if host != endpoint.host || !endpoint.may_authenticate() {
            return Login::default();
        }
        let credential = self.login(endpoint, repository).await;
        let authorization = self
            .cached_authorization(host, repository, credential.as_ref())
            .await;
        Login {
            trusted: true,
            credential,
            authorization,
        }
    }

    /// One request and its whole answer.
    async fn attempt(
        &self,
        http: &reqwest::Client,
        method: &Method,
        url: &str,
        accept: &[&str],
        login: &Login,
    ) -> Result<Answer, reqwest::Error> {
        let mut request = http.request(method.clone(), url);
        if !accept.is_empty() {
            request = request.header(ACCEPT, accept.join(", "));
        }
        if let Some(value) = &login.authorization {
            request = request.header(AUTHORIZATION, value);
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        read(request.send().await?).await
    }

    /// After a request that got no answer: how long to wait before the next attempt, or the
    /// error that ends the request. A refused connection, an unknown host or a host that let
    /// the time run out will not do better in a second: the run stops asking it.
    fn after_failure(
        &self,
        host: &str,
        error: &reqwest::Error,
        attempt: u32,
    ) -> Result<Duration, RegistryError> {
        let failed = RegistryError::network(host, error);
        if error.is_connect() || error.is_timeout() {
            self.down
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(host.to_string(), failed.clone());
            return Err(failed);
        }
        if attempt >= ATTEMPTS {
            return Err(failed);
        }
        Ok(backoff(attempt))
    }

    /// The authorization that answers a 401's challenge: a bearer token from the realm, or
    /// Basic with the login (remembered for the host, so later requests send it up front).
    async fn answer_challenge(
        &self,
        answer: &Answer,
        endpoint: &Endpoint,
        host: &str,
        repository: &str,
        login: &Login,
    ) -> Result<String, RegistryError> {
        if !login.trusted {
            return Err(refused(host, repository, !endpoint.may_authenticate()));
        }
        let challenge = answer
            .headers
            .get(WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .and_then(Challenge::parse);
        let credential = login.credential.as_ref();
        match (challenge, credential) {
            (
                Some(Challenge::Bearer {
                    realm,
                    service,
                    scope,
                }),
                _,
            ) => {
                let scope = scope.unwrap_or_else(|| format!("repository:{repository}:pull"));
                let token = self
                    .token(&realm, service.as_deref(), &scope, credential)
                    .await
                    .map_err(|e| match e.kind {
                        ErrorKind::Auth if credential.is_none() => refused(host, repository, false),
                        _ => e,
                    })?;
                self.tokens
                    .lock()
                    .await
                    .insert((host.to_string(), repository.to_string()), token.clone());
                Ok(token)
            }
            (Some(Challenge::Basic), Some(credential)) => {
                self.basic
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(host.to_string());
                Ok(credential.basic_header())
            }
            _ => Err(refused(host, repository, false)),
        }
    }

    fn limit(&self, host: &str) -> Arc<Semaphore> {
        let mut limits = self.limits.lock().unwrap_or_else(|e| e.into_inner());
        limits
            .entry(host.to_string())
            .or_insert_with(|| Arc::new(Semaphore::new(self.network.per_host.max(1))))
            .clone()
    }

    /// The login for `endpoint`: a mirror's URL credentials or the mirror host's own login,
    /// never the registry's; looked up once per (host, repository), off the async workers
    /// (a credential helper is a process that may take seconds).
    async fn login(&self, endpoint: &Endpoint, repository: &str) -> Option<Credential> {
        if let Some(login) = &endpoint.login {
            return Some(login.clone());
        }
        let key = (endpoint.host.clone(), repository.to_string());
        let mut logins = self.logins.lock().await;
        if let Some(found) = logins.get(&key) {
            return found.clone();
        }
        let credentials = self.credentials.clone();
        let (host, repo) = key.clone();
        let found = tokio::task::spawn_blocking(move || credentials.lookup(&host, &repo))
            .await
            .ok()
            .flatten();
        logins.insert(key, found.clone());
        found
    }

    /// What to send before any challenge: a token for this repository, or Basic once the host
    /// asked for Basic (one request per call instead of two).
    async fn cached_authorization(
        &self,
        host: &str,
        repository: &str,
        credential: Option<&Credential>,
    ) -> Option<String> {
        if let Some(token) = self
            .tokens
            .lock()
            .await
            .get(&(host.to_string(), repository.to_string()))
        {
            return Some(token.clone());
        }
        let basic = self
            .basic
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(host);
        credential.filter(|_| basic).map(Credential::basic_header)
    }

    /// A bearer token from the realm: an identity token is exchanged with an OAuth2 POST
    /// (`grant_type=refresh_token`, docker/distribution `registry/client/auth/session.go`,
    /// go-containerregistry `pkg/v1/remote/transport/bearer.go`); a password goes as Basic on
    /// a GET (Docker Hub's flow). Credentials go to the realm only over HTTPS or to loopback.
    async fn token(
        &self,
        realm: &str,
        service: Option<&str>,
        scope: &str,
        credential: Option<&Credential>,
    ) -> Result<String, RegistryError> {
        let realm_host = host_of(realm);
        let credential =
            credential.filter(|_| realm.starts_with("https://") || is_loopback(&realm_host));
        let request = match credential {
            Some(login) if login.is_identity_token() => {
                let mut form = vec![
                    ("grant_type", "refresh_token"),
                    ("refresh_token", login.password.expose()),
                    ("client_id", CLIENT_ID),
                    ("scope", scope),
                ];
                if let Some(service) = service {
                    form.push(("service", service));
                }
                tracing::debug!("POST {realm} (refresh-token grant for {scope})");
                self.http()?.post(realm).form(&form)
            }
            _ => {
                let mut request = self.http()?.get(realm).query(&[("scope", scope)]);
                if let Some(service) = service {
                    request = request.query(&[("service", service)]);
                }
                if let Some(login) = credential {
                    request = request.header(AUTHORIZATION, login.basic_header());
                }
                tracing::debug!("GET {realm} (token for {scope})");
                request
            }
        };
        self.requests.fetch_add(1, Ordering::Relaxed);
        let response = request
            .send()
            .await
            .map_err(|e| RegistryError::network(&realm_host, &e))?;
        let answer = read(response)
            .await
            .map_err(|e| RegistryError::network(&realm_host, &e))?;
        bearer(&answer, &realm_host)
    }
}

/// The `Authorization` value a token service's answer gives.
fn bearer(answer: &Answer, realm_host: &str) -> Result<String, RegistryError> {
    let status = answer.status;
    if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
        return Err(RegistryError {
            kind: ErrorKind::Auth,
            message: format!(
                "token service {realm_host} refused the login ({status}); log in again with `docker login`"
            ),
        });
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
    let token = parsed
        .token
        .filter(|t| !t.is_empty())
        .or(parsed.access_token)
        .ok_or_else(|| RegistryError::other(format!("token service {realm_host} sent no token")))?;
    Ok(format!("Bearer {token}"))
}

/// What a request to one host may carry (see [`Transport::login_for`]).
#[derive(Default)]
struct Login {
    /// The request goes to the endpoint's own host over a connection that may carry
    /// credentials.
    trusted: bool,
    credential: Option<Credential>,
    /// The `Authorization` value to send.
    authorization: Option<String>,
}

/// What to do with an answer, challenges aside.
enum Verdict {
    Done(Answer),
    /// Ask again after this wait.
    Retry(Duration),
}

/// The answer's status decides: a refusal ends the request, a 429 is waited out (unless the
/// wait is too long), a 5xx is retried, bounded by [`ATTEMPTS`]; anything else is the answer.
fn verdict(
    answer: Answer,
    host: &str,
    repository: &str,
    attempt: u32,
) -> Result<Verdict, RegistryError> {
    match answer.status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Err(refused(host, repository, false)),
        StatusCode::TOO_MANY_REQUESTS => {
            let wait = retry_after(&answer.headers, SystemTime::now());
            if wait > MAX_RETRY_AFTER || attempt >= ATTEMPTS {
                return Err(RegistryError::other(format!(
                    "{host} is rate limiting requests (429, retry after {} s); try again later",
                    wait.as_secs()
                )));
            }
            Ok(Verdict::Retry(wait))
        }
        status if status.is_server_error() && attempt < ATTEMPTS => {
            Ok(Verdict::Retry(backoff(attempt)))
        }
        status if status.is_server_error() => Err(RegistryError::other(format!(
            "{host} answered {status} {ATTEMPTS} times"
        ))),
        _ => Ok(Verdict::Done(answer)),
    }
}

/// A 401 or 403 that logging in may or may not cure: registries (Docker Hub first) answer 401
/// for a repository that does not exist, so both are said.
fn refused(host: &str, repository: &str, plain_http: bool) -> RegistryError {
    let message = if plain_http {
        format!(
            "{host} asks for a login over plain HTTP; tagpin sends credentials only over HTTPS or to a loopback address"
        )
    } else {
        let login = if host == "registry-1.docker.io" {
            String::new()
        } else {
            format!(" {host}")
        };
        format!(
            "{host} refused access to {repository}: it does not exist or needs a login (`docker login{login}` or podman login)"
        )
    };
    RegistryError {
        kind: ErrorKind::Auth,
        message,
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

/// `Retry-After` as seconds or as an HTTP date (RFC 9110 §10.2.3); one second without one.
fn retry_after(headers: &HeaderMap, now: SystemTime) -> Duration {
    let Some(value) = headers.get(RETRY_AFTER).and_then(|v| v.to_str().ok()) else {
        return Duration::from_secs(1);
    };
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Duration::from_secs(seconds);
    }
    match httpdate::parse_http_date(value) {
        Ok(when) => when.duration_since(now).unwrap_or(Duration::ZERO),
        Err(_) => Duration::from_secs(1),
    }
}

/// 250 ms, 500 ms, 1 s… with up to half again of jitter.
fn backoff(attempt: u32) -> Duration {
    let base = 250u64 << (attempt - 1).min(4);
    let jitter = fastrand::u64(0..=base / 2);
    Duration::from_millis(base + jitter)
}

/// A header's value, trimmed; `None` when missing or not text.
pub(super) fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777);
        let headers = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(RETRY_AFTER, value.parse().unwrap());
            headers
        };
        assert_eq!(retry_after(&headers("3"), now), Duration::from_secs(3));
        // RFC 9110's example date, 10 seconds after `now`.
        assert_eq!(
            retry_after(&headers("Sun, 06 Nov 1994 08:49:47 GMT"), now),
            Duration::from_secs(10)
        );
        assert_eq!(
            retry_after(&headers("Sun, 06 Nov 1994 08:49:30 GMT"), now),
            Duration::ZERO
        );
        assert_eq!(retry_after(&HeaderMap::new(), now), Duration::from_secs(1));
    }
}
