//! Where a registry's requests go: its mirror first (a URL the user gave, its login taken out
//! so that nothing prints it), then the registry itself, as Docker does; and which of them may
//! receive credentials (HTTPS, or plain HTTP to a loopback address only).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use reqwest::Url;

use super::auth::{Credential, Secret};
use crate::reference::DOCKER_HUB;

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

/// One place a registry's requests can go: its mirror or the registry itself.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Scheme, host and any path before `/v2`, without credentials or a trailing slash.
    origin: String,
    /// `host[:port]`: what messages name and credentials are looked up by.
    pub host: String,
    /// A repository prefix (a Harbor proxy project: `https://harbor.lan/dockerhub`).
    prefix: String,
    plain_http: bool,
    /// Credentials written into the mirror URL (`https://user:pass@mirror`).
    pub(super) login: Option<Credential>,
}

impl Endpoint {
    /// An endpoint from a URL the user gave (a mirror, a Maven repository), its login taken
    /// out so that it is never printed. For a registry mirror, a path ending in `/v2` is where
    /// the API lives (containerd's `override_path`), any other path is a repository prefix
    /// (Harbor's proxy projects).
    pub(crate) fn from_url(text: &str) -> Option<Endpoint> {
        let url = Url::parse(text)
            .ok()
            .filter(|u| u.scheme() == "http" || u.scheme() == "https")?;
        let host = match url.port() {
            Some(port) => format!("{}:{port}", url.host_str()?),
            None => url.host_str()?.to_string(),
        };
        let login = (!url.username().is_empty()).then(|| Credential {
            username: decode(url.username()),
            password: Secret::new(decode(url.password().unwrap_or(""))),
        });
        let path = url.path().trim_matches('/');
        let (origin_path, prefix) = match path.strip_suffix("v2") {
            Some(before) if before.is_empty() || before.ends_with('/') => {
                (before.trim_end_matches('/'), "")
            }
            _ => ("", path),
        };
        let origin_path = if origin_path.is_empty() {
            String::new()
        } else {
            format!("/{origin_path}")
        };
        Some(Endpoint {
            origin: format!("{}://{host}{origin_path}", url.scheme()),
            plain_http: url.scheme() == "http",
            host,
            prefix: prefix.to_string(),
            login,
        })
    }

    /// The URL without its login: a Maven repository's base.
    pub(crate) fn base(&self) -> String {
        match self.prefix.as_str() {
            "" => self.origin.clone(),
            prefix => format!("{}/{prefix}", self.origin),
        }
    }

    /// The repository as this endpoint names it.
    pub fn repository(&self, repository: &str) -> String {
        if self.prefix.is_empty() {
            repository.to_string()
        } else {
            format!("{}/{repository}", self.prefix)
        }
    }

    /// `<origin>/v2/<repository><rest>`.
    pub fn url(&self, repository: &str, rest: &str) -> String {
        format!("{}/v2/{}{rest}", self.origin, self.repository(repository))
    }

    /// Where this endpoint's answers are cached: the same question asked of a mirror and of
    /// the registry are different entries.
    pub fn cache_label(&self) -> String {
        format!("{}/{}", self.origin, self.prefix)
    }

    /// Credentials may go to this endpoint: HTTPS, or plain HTTP to a loopback address.
    pub(super) fn may_authenticate(&self) -> bool {
        !self.plain_http || is_loopback(&self.host)
    }
}

fn decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

impl Network {
    /// Where `registry`'s requests go, in order: its mirror (if one is set and its URL is
    /// valid), then the registry itself.
    pub fn endpoints(&self, registry: &str) -> Vec<Endpoint> {
        let mirror = self
            .mirrors
            .get(registry)
            .and_then(|url| Endpoint::from_url(url));
        let (origin, plain_http) = if registry == DOCKER_HUB {
            ("https://registry-1.docker.io".to_string(), false)
        } else if self.insecure.contains(registry) || is_loopback(registry) {
            (format!("http://{registry}"), true)
        } else {
            (format!("https://{registry}"), false)
        };
        let own = Endpoint {
            host: host_of(&origin),
            origin,
            prefix: String::new(),
            plain_http,
            login: None,
        };
        mirror.into_iter().chain([own]).collect()
    }
}

/// `host[:port]` of a URL, without any credentials in it.
pub fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host)
        .to_string()
}

pub(super) fn is_loopback(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(rest),
        None => host
            .rsplit_once(':')
            .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
            .map_or(host, |(h, _)| h),
    };
    name == "localhost"
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bases(network: &Network, registry: &str) -> Vec<String> {
        network
            .endpoints(registry)
            .iter()
            .map(|e| e.url("app", "/tags/list"))
            .collect()
    }

    #[test]
    fn where_requests_go() {
        let mut network = Network::default();
        network
            .mirrors
            .insert("docker.io".into(), "http://127.0.0.1:5000/".into());
        network.mirrors.insert(
            "quay.io".into(),
            "https://robot:pa%40ss@harbor.lan/quay-proxy".into(),
        );
        network
            .mirrors
            .insert("ghcr.io".into(), "https://cache.lan/ghcr/v2/".into());
        network.insecure.insert("registry.lan:5000".into());
        assert_eq!(
            bases(&network, "docker.io"),
            [
                "http://127.0.0.1:5000/v2/app/tags/list",
                "https://registry-1.docker.io/v2/app/tags/list"
            ]
        );
        assert_eq!(
            bases(&network, "quay.io"),
            [
                "https://harbor.lan/v2/quay-proxy/app/tags/list",
                "https://quay.io/v2/app/tags/list"
            ]
        );
        let harbor = &network.endpoints("quay.io")[0];
        assert_eq!(harbor.host, "harbor.lan");
        assert_eq!(harbor.login.as_ref().unwrap().password.expose(), "pa@ss");
        assert!(!format!("{harbor:?}").contains("pa@ss"));
        assert_eq!(
            bases(&network, "ghcr.io")[0],
            "https://cache.lan/ghcr/v2/app/tags/list"
        );
        assert_eq!(
            bases(&network, "registry.lan:5000"),
            ["http://registry.lan:5000/v2/app/tags/list"]
        );
        assert_eq!(
            bases(&network, "localhost:5000"),
            ["http://localhost:5000/v2/app/tags/list"]
        );
        assert_eq!(bases(&network, "ghcr.io").len(), 2);
        assert_eq!(
            host_of("https://auth.docker.io/token?x=1"),
            "auth.docker.io"
        );
        assert_eq!(host_of("http://u:p@mirror.lan:8080/x"), "mirror.lan:8080");
    }

    #[test]
    fn plain_http_carries_credentials_to_loopback_only() {
        for (host, loopback) in [
            ("127.0.0.1:5000", true),
            ("127.8.0.1", true),
            ("localhost:80", true),
            ("[::1]:5000", true),
            ("192.168.1.20:5000", false),
            ("registry.lan", false),
        ] {
            assert_eq!(is_loopback(host), loopback, "{host}");
        }
    }
}
