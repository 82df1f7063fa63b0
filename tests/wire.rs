//! The registry client against wire behaviours the real registry lacks, reproduced by the
//! in-process fake server: Docker Hub's token flow and `Link` paging, servers that ignore `n`,
//! 429 with `Retry-After`, 5xx, slow and truncated answers, cross-host redirects, huge tag lists.

#[path = "support/fake.rs"]
mod fake;

use std::time::{Duration, Instant};

use fake::{Behaviour, FakeRegistry};
use tagpin::reference::Image;
use tagpin::registry::{Cache, Credentials, ErrorKind, Network, Options, Registry};
use tagpin::rules::data::RuleData;

/// Kestra-like tags: `latest` shares v2.0.5's seed, `latest-lts` v1.3.30's.
fn kestra() -> Vec<(&'static str, &'static str)> {
    vec![
        ("develop", "dev"),
        ("latest", "2.0.5"),
        ("latest-lts", "1.3.30"),
        ("v1.3", "1.3.30"),
        ("v1.3.29", "1.3.29"),
        ("v1.3.30", "1.3.30"),
        ("v2.0", "2.0.5"),
        ("v2.0.4", "2.0.4"),
        ("v2.0.5", "2.0.5"),
    ]
}

/// The registry the test images name: a closed loopback port, so that a fallback from the fake
/// (its mirror) fails at once and never leaves the machine.
const UPSTREAM: &str = "127.0.0.1:1";

fn registry_for(fake: &FakeRegistry, tweak: impl FnOnce(&mut Options)) -> Registry {
    let mut network = Network::default();
    network.mirrors.insert(UPSTREAM.into(), fake.url.clone());
    network.timeout = Duration::from_secs(2);
    let mut options = Options {
        network,
        ..Options::default()
    };
    tweak(&mut options);
    Registry::new(options, Credentials::default()).unwrap()
}

/// A client for `fake` (as [`UPSTREAM`]'s mirror) whose Docker config holds `kestra:s3cret` for it.
fn logged_in(fake: &FakeRegistry) -> Registry {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.json");
    let auths = format!(
        r#"{{"auths": {{"{}": {{"username": "kestra", "password": "s3cret"}}}}}}"#,
        fake.host
    );
    std::fs::write(&config, auths).unwrap();
    let mut network = Network::default();
    network.mirrors.insert(UPSTREAM.into(), fake.url.clone());
    Registry::new(
        Options {
            network,
            ..Options::default()
        },
        Credentials::from_files([config.as_path()]),
    )
    .unwrap()
}

fn image(text: &str) -> Image {
    Image::parse(&format!("{UPSTREAM}/{text}")).unwrap()
}

fn paths(fake: &FakeRegistry) -> Vec<String> {
    fake.requests()
        .into_iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

#[tokio::test]
async fn docker_hub_token_flow_and_link_paging() {
    let fake = FakeRegistry::start(
        Behaviour {
            token_auth: true,
            page_size: Some(3),
            ignore_n: true,
            ..Behaviour::default()
        }
        .with_repo("kestra/kestra", kestra()),
    );
    let registry = registry_for(&fake, |_| {});
    let rules = RuleData::builtin();
    let latest = registry
        .resolve(&image("kestra/kestra:latest"), &rules)
        .await
        .unwrap();
    assert_eq!(latest.release.as_deref(), Some("v2.0.5"));
    let lts = registry
        .resolve(&image("kestra/kestra:latest-lts"), &rules)
        .await
        .unwrap();
    assert_eq!(lts.release.as_deref(), Some("v1.3.30"));
    let requests = fake.requests();
    let tokens = requests
        .iter()
        .filter(|r| r.path.starts_with("/token"))
        .count();
    assert_eq!(tokens, 1, "one token per repository: {:#?}", paths(&fake));
    let pages: Vec<&str> = requests
        .iter()
        .filter(|r| r.path.contains("/tags/list"))
        .map(|r| r.path.as_str())
        .collect();
    assert_eq!(
        pages.len(),
        3,
        "9 tags in pages of 3, each asked once: {pages:#?}"
    );
    assert_eq!(pages[0], "/v2/kestra/kestra/tags/list?n=1000");
    assert!(
        pages[1..].iter().all(|p| p.contains("last=")),
        "Link followed verbatim: {pages:#?}"
    );
    let heads: Vec<&fake::Request> = requests.iter().filter(|r| r.method == "HEAD").collect();
    assert!(
        heads
            .iter()
            .skip(1)
            .all(|r| r.authorization.as_deref() == Some("Bearer tok-kestra/kestra"))
    );
    for media_type in [
        fake::OCI_INDEX,
        fake::DOCKER_LIST,
        fake::OCI_MANIFEST,
        fake::DOCKER_MANIFEST,
    ] {
        assert!(
            heads[0].accept.as_deref().unwrap().contains(media_type),
            "{media_type}"
        );
    }
}

#[tokio::test]
async fn servers_that_ignore_n_or_page_opaquely() {
    for behaviour in [
        Behaviour {
            page_size: Some(2),
            ignore_n: true,
            ..Behaviour::default()
        },
        Behaviour {
            page_size: Some(2),
            opaque_paging: true,
            ..Behaviour::default()
        },
    ] {
        let fake = FakeRegistry::start(behaviour.with_repo("kestra/kestra", kestra()));
        let registry = registry_for(&fake, |_| {});
        let tags = registry.tags(&image("kestra/kestra")).await.unwrap();
        assert_eq!(tags.len(), kestra().len());
    }
}

#[tokio::test]
async fn endless_link_chains_end() {
    for opaque in [false, true] {
        let fake = FakeRegistry::start(
            Behaviour {
                page_size: Some(2),
                endless_links: true,
                opaque_paging: opaque,
                ..Behaviour::default()
            }
            .with_repo("kestra/kestra", kestra()),
        );
        let registry = registry_for(&fake, |_| {});
        let error = registry.tags(&image("kestra/kestra")).await.unwrap_err();
        assert!(
            error.message.contains("loop back") || error.message.contains("pages of tags"),
            "{error}"
        );
        assert!(fake.request_count() <= 1001);
    }
}

#[tokio::test]
async fn rate_limits_and_server_errors_are_retried_within_bounds() {
    let fake = FakeRegistry::start(
        Behaviour {
            too_many_requests: 1,
            server_errors: 2,
            ..Behaviour::default()
        }
        .with_repo("kestra/kestra", kestra()),
    );
    let registry = registry_for(&fake, |_| {});
    let started = Instant::now();
    let manifest = registry
        .manifest(&image("kestra/kestra"), "v2.0.5")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(manifest.digest, fake::index("2.0.5").1);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After: 1 was honoured"
    );
    assert_eq!(fake.request_count(), 4);

    fake.set_behaviour(|b| {
        b.too_many_requests = 5;
        b.retry_after = Some("3600".into());
    });
    let error = registry
        .manifest(&image("kestra/kestra"), "v2.0.4")
        .await
        .unwrap_err();
    assert!(
        error.message.contains("rate limiting") && error.message.contains("3600"),
        "{error}"
    );

    fake.set_behaviour(|b| {
        b.too_many_requests = 0;
        b.server_errors = 10;
    });
    let error = registry
        .manifest(&image("kestra/kestra"), "v1.3.29")
        .await
        .unwrap_err();
    assert!(error.message.contains("500"), "{error}");
}

#[tokio::test]
async fn slow_and_truncated_answers_fail_clearly() {
    let fake = FakeRegistry::start(
        Behaviour {
            delay: Some(Duration::from_secs(5)),
            ..Behaviour::default()
        }
        .with_repo("kestra/kestra", kestra()),
    );
    let registry = registry_for(&fake, |o| o.network.timeout = Duration::from_millis(300));
    let started = Instant::now();
    let error = registry
        .manifest(&image("kestra/kestra"), "latest")
        .await
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::Unreachable);
    assert!(error.message.contains("timed out"), "{error}");
    assert!(started.elapsed() < Duration::from_secs(10));

    let fake = FakeRegistry::start(
        Behaviour {
            truncate_body: true,
            ..Behaviour::default()
        }
        .with_repo("kestra/kestra", kestra()),
    );
    let registry = registry_for(&fake, |_| {});
    let error = registry.tags(&image("kestra/kestra")).await.unwrap_err();
    assert!(
        error.message.contains("cut short") || error.message.contains("could not be reached"),
        "{error}"
    );
}

#[tokio::test]
async fn credentials_never_follow_a_redirect_to_another_host() {
    let other = FakeRegistry::start(Behaviour::default().with_repo("kestra/kestra", kestra()));
    let fake = FakeRegistry::start(
        Behaviour {
            basic_auth: Some(("kestra".into(), "s3cret".into())),
            redirect_to: Some(other.url.clone()),
            ..Behaviour::default()
        }
        .with_repo("kestra/kestra", kestra()),
    );
    let registry = logged_in(&fake);
    let manifest = registry
        .manifest(&image("kestra/kestra"), "v2.0.5")
        .await
        .unwrap();
    assert_eq!(manifest.unwrap().digest, fake::index("2.0.5").1);
    assert!(
        fake.requests()
            .iter()
            .any(|r| r.authorization.as_deref() == Some(fake::basic("kestra", "s3cret").as_str()))
    );
    let redirected = other.requests();
    assert!(!redirected.is_empty(), "the redirect was followed");
    assert!(
        redirected.iter().all(|r| r.authorization.is_none()),
        "{redirected:#?}"
    );
}

#[tokio::test]
async fn a_hundred_thousand_tags() {
    let fake = FakeRegistry::start(
        Behaviour {
            page_size: Some(1000),
            ..Behaviour::default()
        }
        .with_repo("big/repo", fake::many_tags(100_000)),
    );
    let registry = registry_for(&fake, |_| {});
    let tags = registry.tags(&image("big/repo")).await.unwrap();
    assert_eq!(tags.len(), 100_000);
    assert_eq!(fake.request_count(), 100);
}

#[tokio::test]
async fn a_warm_cache_makes_no_request() {
    let fake = FakeRegistry::start(Behaviour::default().with_repo("kestra/kestra", kestra()));
    let dir = tempfile::tempdir().unwrap();
    let cache = || {
        Some(Cache::new(
            dir.path().to_path_buf(),
            Duration::from_secs(3600),
        ))
    };
    let rules = RuleData::builtin();
    let cold = registry_for(&fake, |o| o.cache = cache());
    let first = cold
        .resolve(&image("kestra/kestra:latest"), &rules)
        .await
        .unwrap();
    assert_eq!(
        paths(&fake),
        [
            "HEAD /v2/kestra/kestra/manifests/latest",
            "GET /v2/kestra/kestra/tags/list?n=1000",
            "HEAD /v2/kestra/kestra/manifests/v2.0.5"
        ]
    );
    fake.reset_counts();
    let warm = registry_for(&fake, |o| o.cache = cache());
    assert_eq!(
        warm.resolve(&image("kestra/kestra:latest"), &rules)
            .await
            .unwrap(),
        first
    );
    assert_eq!(fake.request_count(), 0);
    let refresh = registry_for(&fake, |o| {
        o.cache = cache();
        o.refresh = true;
    });
    refresh
        .resolve(&image("kestra/kestra:latest"), &rules)
        .await
        .unwrap();
    assert_eq!(fake.request_count(), 3);
    let offline = registry_for(&fake, |o| o.offline = true);
    assert_eq!(
        offline
            .resolve(&image("kestra/kestra:latest"), &rules)
            .await
            .unwrap_err()
            .kind,
        ErrorKind::Offline
    );
}

#[tokio::test]
async fn token_service_gets_the_credentials_and_the_registry_only_the_token() {
    let fake = FakeRegistry::start(
        Behaviour {
            token_auth: true,
            token_credentials: Some(("kestra".into(), "s3cret".into())),
            ..Behaviour::default()
        }
        .with_repo("kestra/kestra", kestra()),
    );
    let registry = logged_in(&fake);
    let resolution = registry
        .resolve(&image("kestra/kestra:latest"), &RuleData::builtin())
        .await
        .unwrap();
    assert_eq!(resolution.release.as_deref(), Some("v2.0.5"));
    let basic = fake::basic("kestra", "s3cret");
    for request in fake.requests() {
        let sent_basic = request.authorization.as_deref() == Some(basic.as_str());
        assert_eq!(
            sent_basic,
            request.path.starts_with("/token"),
            "{request:?}"
        );
    }

    let anonymous = registry_for(&fake, |_| {});
    let error = anonymous
        .manifest(&image("kestra/kestra"), "latest")
        .await
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::Auth, "{error}");
    assert!(error.message.contains("docker login"), "{error}");
}

#[tokio::test]
async fn a_server_that_drips_bytes_is_cut_off() {
    let fake = FakeRegistry::start(
        Behaviour {
            drip: Some(Duration::from_millis(200)),
            ..Behaviour::default()
        }
        .with_repo("kestra/kestra", kestra()),
    );
    let registry = registry_for(&fake, |o| o.network.timeout = Duration::from_secs(1));
    let started = Instant::now();
    let error = registry.tags(&image("kestra/kestra")).await.unwrap_err();
    assert!(
        error.message.contains("timed out") || error.message.contains("could not be reached"),
        "{error}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "bounded: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_digest_that_changes_on_every_head_ends_in_a_digest_pin() {
    let fake = FakeRegistry::start(
        Behaviour {
            shifting_digests: true,
            ..Behaviour::default()
        }
        .with_repo("kestra/kestra", kestra()),
    );
    let registry = registry_for(&fake, |_| {});
    let resolution = registry
        .resolve(&image("kestra/kestra:latest"), &RuleData::builtin())
        .await
        .unwrap();
    assert_eq!(
        resolution.release, None,
        "no release can match a moving answer"
    );
    assert!(
        fake.request_count() < 60,
        "bounded: {} requests",
        fake.request_count()
    );
}
