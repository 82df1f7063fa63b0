//! The registry client against wire behaviours the real registry lacks, reproduced by the
//! in-process fake server: Docker Hub's token flow and `Link` paging, servers that ignore `n`,
//! 429 with `Retry-After`, 5xx, slow and truncated answers, cross-host redirects, huge tag lists.

#[path = "support/cli.rs"]
mod cli;
#[path = "support/fake.rs"]
mod fake;

use std::time::{Duration, Instant};

use fake::{Behaviour, FakeRegistry, LinkStyle};
use tagpin::reference::Image;
use tagpin::registry::{Cache, Candidates, Credentials, ErrorKind, Network, Options, Registry};
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
    // Docker Hub answers 401 for a repository that does not exist: both are said.
    assert!(
        error.message.contains("does not exist or needs a login"),
        "{error}"
    );
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

/// A client whose auth file is `auth` (JSON), with `mirrors` (registry → URL).
fn client(auth: &str, mirrors: &[(&str, &str)], tweak: impl FnOnce(&mut Network)) -> Registry {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.json");
    std::fs::write(&config, auth).unwrap();
    let mut network = Network {
        timeout: Duration::from_secs(5),
        ..Network::default()
    };
    for (registry, url) in mirrors {
        network
            .mirrors
            .insert(registry.to_string(), url.to_string());
    }
    tweak(&mut network);
    Registry::new(
        Options {
            network,
            ..Options::default()
        },
        Credentials::from_files([config.as_path()]),
    )
    .unwrap()
}

fn basic_login(user: &str, password: &str) -> String {
    format!(r#"{{"username": "{user}", "password": "{password}"}}"#)
}

#[tokio::test]
async fn a_refused_tag_list_still_pins_the_digest() {
    for status in [401, 403, 404] {
        let fake = FakeRegistry::start(
            Behaviour {
                refuse_listing: Some(status),
                ..Behaviour::default()
            }
            .with_repo("kestra/kestra", kestra()),
        );
        let registry = registry_for(&fake, |_| {});
        let resolution = registry
            .resolve(&image("kestra/kestra:latest"), &RuleData::builtin())
            .await
            .unwrap_or_else(|e| panic!("{status}: {e}"));
        assert_eq!(resolution.digest, fake::index("2.0.5").1, "{status}");
        assert_eq!(resolution.release, None, "{status}");
        let note = resolution.note.unwrap_or_default();
        assert!(
            note.contains("the tag list could not be read") && note.contains("pinned the digest"),
            "{status}: {note}"
        );
    }
}

#[tokio::test]
async fn links_resolve_like_urls_and_artifactory_loses_its_prefix() {
    let mut expected: Vec<String> = kestra().iter().map(|(t, _)| t.to_string()).collect();
    expected.sort();
    for (links, opaque, repository) in [
        (LinkStyle::Relative, false, "kestra/kestra"),
        (LinkStyle::Absolute, false, "kestra/kestra"),
        // Quay: an absolute link with an opaque `next_page`.
        (LinkStyle::Absolute, true, "kestra/kestra"),
        (
            LinkStyle::Artifactory,
            false,
            "docker-virtual/kestra/kestra",
        ),
    ] {
        let fake = FakeRegistry::start(
            Behaviour {
                page_size: Some(2),
                ignore_n: true,
                opaque_paging: opaque,
                links,
                ..Behaviour::default()
            }
            .with_repo(repository, kestra()),
        );
        let registry = registry_for(&fake, |_| {});
        let mut tags = registry
            .tags(&image(repository))
            .await
            .unwrap_or_else(|e| panic!("{links:?}: {e}"));
        tags.sort();
        assert_eq!(tags, expected, "{links:?} opaque={opaque}");
        let pages = paths(&fake);
        assert_eq!(pages.len(), 5, "{links:?}: {pages:#?}");
        assert!(
            pages
                .iter()
                .all(|p| p.starts_with(&format!("GET /v2/{repository}/tags/list"))),
            "{links:?}: {pages:#?}"
        );
    }
}

#[tokio::test]
async fn identity_tokens_are_exchanged_with_a_refresh_token_grant() {
    let fake = FakeRegistry::start(
        Behaviour {
            token_auth: true,
            // A password login at the realm is refused: only the OAuth2 grant works.
            token_credentials: Some(("nobody".into(), "nothing".into())),
            refresh_token: Some("rt-123".into()),
            ..Behaviour::default()
        }
        .with_repo("kestra/kestra", kestra()),
    );
    let auth = format!(
        r#"{{"auths": {{"{}": {{"identitytoken": "rt-123"}}}}}}"#,
        fake.host
    );
    let registry = client(&auth, &[(UPSTREAM, &fake.url)], |_| {});
    let resolution = registry
        .resolve(&image("kestra/kestra:latest"), &RuleData::builtin())
        .await
        .unwrap();
    assert_eq!(resolution.release.as_deref(), Some("v2.0.5"));
    let requests = fake.requests();
    let grants: Vec<&fake::Request> = requests
        .iter()
        .filter(|r| r.method == "POST" && r.path == "/token")
        .collect();
    assert_eq!(grants.len(), 1, "{:#?}", paths(&fake));
    for field in [
        "grant_type=refresh_token",
        "refresh_token=rt-123",
        "scope=repository%3Akestra%2Fkestra%3Apull",
    ] {
        assert!(
            grants[0].body.contains(field),
            "{field} in {}",
            grants[0].body
        );
    }
    assert!(
        requests
            .iter()
            .all(|r| !r.authorization.as_deref().unwrap_or("").contains("rt-123")),
        "the refresh token never goes in a header"
    );
}

#[tokio::test]
async fn per_namespace_logins_go_to_their_own_repositories() {
    let fake = FakeRegistry::start(
        Behaviour {
            basic_by_namespace: vec![
                ("org-a".into(), "alice".into(), "pa".into()),
                ("org-b".into(), "bob".into(), "pb".into()),
            ],
            ..Behaviour::default()
        }
        .with_repo("org-a/app", kestra())
        .with_repo("org-b/app", kestra()),
    );
    let host = &fake.host;
    let auth = format!(
        r#"{{"auths": {{"{host}": {}, "{host}/org-a": {}, "{host}/org-b": {}}}}}"#,
        basic_login("mallory", "pm"),
        basic_login("alice", "pa"),
        basic_login("bob", "pb")
    );
    let registry = client(&auth, &[(UPSTREAM, &fake.url)], |_| {});
    for repository in ["org-a/app", "org-b/app"] {
        let found = registry.manifest(&image(repository), "v2.0.5").await;
        assert!(found.unwrap().is_some(), "{repository}");
    }
    for request in fake.requests() {
        let expected = if request.path.starts_with("/v2/org-a/") {
            fake::basic("alice", "pa")
        } else {
            fake::basic("bob", "pb")
        };
        assert!(
            request.authorization.is_none() || request.authorization == Some(expected),
            "{request:?}"
        );
    }
}

#[tokio::test]
async fn basic_auth_is_sent_up_front_after_the_first_challenge() {
    let fake = FakeRegistry::start(
        Behaviour {
            basic_auth: Some(("kestra".into(), "s3cret".into())),
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
    // HEAD latest (401, then with Basic), the tag list, HEAD v2.0.5: one challenge in all
    // (answering every call's challenge would cost 6).
    assert_eq!(registry.requests(), 4, "{:#?}", paths(&fake));
    let challenged = fake
        .requests()
        .iter()
        .filter(|r| r.authorization.is_none())
        .count();
    assert_eq!(challenged, 1);
}

#[tokio::test]
async fn a_credential_helper_runs_once_per_registry_and_its_token_is_exchanged() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let helper = dir.path().join("docker-credential-tagpin-wire-test");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\ncat > /dev/null\necho run >> {}\necho '{{\"Username\": \"<token>\", \"Secret\": \"rt-helper\"}}'\n",
            runs.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        dir.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // SAFETY: no other test in this binary runs a process that reads PATH.
    unsafe { std::env::set_var("PATH", path) };
    let fake = FakeRegistry::start(
        Behaviour {
            token_auth: true,
            refresh_token: Some("rt-helper".into()),
            ..Behaviour::default()
        }
        .with_repo("kestra/kestra", kestra())
        .with_repo("kestra/other", kestra()),
    );
    let auth = format!(
        r#"{{"credHelpers": {{"{}": "tagpin-wire-test"}}}}"#,
        fake.host
    );
    let registry = client(&auth, &[(UPSTREAM, &fake.url)], |_| {});
    let rules = RuleData::builtin();
    let images = [
        image("kestra/kestra:latest"),
        image("kestra/kestra:latest-lts"),
        image("kestra/other:latest"),
    ];
    let answers =
        futures::future::join_all(images.iter().map(|i| registry.resolve(i, &rules))).await;
    for answer in answers {
        assert!(answer.unwrap().release.is_some());
    }
    let ran = std::fs::read_to_string(&runs).unwrap_or_default();
    assert_eq!(
        ran.lines().count(),
        1,
        "the helper ran {} times",
        ran.lines().count()
    );
}

#[tokio::test]
async fn mirrors_fall_back_to_the_registry_on_404_and_errors() {
    let registry_server = FakeRegistry::start(
        Behaviour {
            basic_auth: Some(("reg".into(), "rp".into())),
            ..Behaviour::default()
        }
        .with_repo("kestra/kestra", kestra()),
    );
    let empty = FakeRegistry::start(Behaviour::default());
    let failing = FakeRegistry::start(Behaviour {
        server_errors: 1000,
        ..Behaviour::default()
    });
    for mirror in [&empty, &failing] {
        registry_server.reset_counts();
        let auth = format!(
            r#"{{"auths": {{"{}": {}}}}}"#,
            registry_server.host,
            basic_login("reg", "rp")
        );
        let registry = client(&auth, &[(&registry_server.host, &mirror.url)], |_| {});
        let image =
            Image::parse(&format!("{}/kestra/kestra:latest", registry_server.host)).unwrap();
        let resolution = registry
            .resolve(&image, &RuleData::builtin())
            .await
            .unwrap();
        assert_eq!(resolution.release.as_deref(), Some("v2.0.5"));
        assert!(registry_server.request_count() > 0);
        assert!(
            mirror.requests().iter().all(|r| r.authorization.is_none()),
            "the registry's login never goes to its mirror"
        );
        let notes = registry.take_notes();
        if std::ptr::eq(mirror, &failing) {
            assert!(
                notes
                    .iter()
                    .any(|n| n.contains(&format!("mirror {} failed", failing.host))
                        && n.contains(&registry_server.host)),
                "{notes:?}"
            );
        } else {
            assert!(notes.is_empty(), "a 404 is no failure: {notes:?}");
        }
    }
}

#[tokio::test]
async fn a_mirror_with_a_path_prefix_gets_its_own_login_only() {
    let mirror = FakeRegistry::start(
        Behaviour {
            basic_auth: Some(("m".into(), "mp".into())),
            ..Behaviour::default()
        }
        .with_repo("proxy/kestra/kestra", kestra()),
    );
    let upstream = FakeRegistry::start(
        Behaviour {
            basic_auth: Some(("r".into(), "rp".into())),
            ..Behaviour::default()
        }
        .with_repo("kestra/kestra", kestra())
        .with_repo("kestra/only-upstream", kestra()),
    );
    let auth = format!(
        r#"{{"auths": {{"{}": {}, "{}": {}}}}}"#,
        mirror.host,
        basic_login("m", "mp"),
        upstream.host,
        basic_login("r", "rp")
    );
    let url = format!("{}/proxy", mirror.url);
    let registry = client(&auth, &[(&upstream.host, &url)], |_| {});
    let rules = RuleData::builtin();
    let at =
        |repository: &str| Image::parse(&format!("{}/{repository}:latest", upstream.host)).unwrap();
    let proxied = registry
        .resolve(&at("kestra/kestra"), &rules)
        .await
        .unwrap();
    assert_eq!(proxied.release.as_deref(), Some("v2.0.5"));
    assert_eq!(upstream.request_count(), 0, "the mirror answered");
    let direct = registry
        .resolve(&at("kestra/only-upstream"), &rules)
        .await
        .unwrap();
    assert_eq!(direct.release.as_deref(), Some("v2.0.5"));
    for request in mirror.requests() {
        assert!(request.path.starts_with("/v2/proxy/kestra/"), "{request:?}");
        assert!(
            request.authorization.is_none()
                || request.authorization == Some(fake::basic("m", "mp")),
            "{request:?}"
        );
    }
    assert!(upstream.request_count() > 0);
    for request in upstream.requests() {
        assert!(
            request.authorization.is_none()
                || request.authorization == Some(fake::basic("r", "rp")),
            "{request:?}"
        );
    }
}

/// A registry on another machine, reached over plain HTTP: tagpin sends it neither Basic
/// credentials nor the token service's. The "other machine" is a name that resolves nowhere,
/// reached through the fake acting as tagpin's HTTP proxy, so nothing leaves this machine.
#[test]
fn no_credential_goes_over_plain_http_to_a_non_loopback_address() {
    const HOST: &str = "registry.tagpin.test";
    for behaviour in [
        Behaviour {
            basic_auth: Some(("kestra".into(), "s3cret".into())),
            ..Behaviour::default()
        },
        Behaviour {
            token_auth: true,
            token_credentials: Some(("kestra".into(), "s3cret".into())),
            public_url: Some(format!("http://{HOST}")),
            ..Behaviour::default()
        },
    ] {
        let fake = FakeRegistry::start(behaviour.with_repo("kestra/kestra", kestra()));
        let work = tempfile::tempdir().unwrap();
        let docker = work.path().join("no-docker-config");
        std::fs::create_dir(&docker).unwrap();
        let auth = format!(
            r#"{{"auths": {{"{HOST}": {}}}}}"#,
            basic_login("kestra", "s3cret")
        );
        std::fs::write(docker.join("config.json"), auth).unwrap();
        let config = format!("registries:\n  {HOST}: {{insecure: true}}\n");
        std::fs::write(work.path().join(".tagpin.yaml"), config).unwrap();
        let output = cli::command(work.path(), work.path())
            .env("HTTP_PROXY", &fake.url)
            .args(["resolve", &format!("{HOST}/kestra/kestra:latest")])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("plain HTTP"), "{stderr}");
        assert!(!fake.requests().is_empty(), "the proxy was not used");
        for request in fake.requests() {
            assert_eq!(request.authorization, None, "{request:?}");
            assert!(!request.path.starts_with("/token"), "{request:?}");
        }
    }
}

#[tokio::test]
async fn old_schema_1_manifests_are_found() {
    let fake = FakeRegistry::start(
        Behaviour::default().with_repo("old/app", [("v1.0.0", "schema1:1.0.0")]),
    );
    let registry = registry_for(&fake, |_| {});
    let manifest = registry
        .manifest(&image("old/app"), "v1.0.0")
        .await
        .unwrap();
    assert_eq!(manifest.unwrap().media_type, fake::DOCKER_SCHEMA1);
}

#[test]
fn a_password_in_a_mirror_url_is_never_printed() {
    let fake = FakeRegistry::start(
        Behaviour {
            basic_auth: Some(("robot".into(), "hunter2".into())),
            ..Behaviour::default()
        }
        .with_repo("kestra/kestra", kestra()),
    );
    let cache = tempfile::tempdir().unwrap();
    let answering = format!("{UPSTREAM}=http://robot:hunter2@{}", fake.host);
    // A second mirror that is down, and a third whose registry does not exist: notes and errors.
    let down = "127.0.0.2:1=http://robot:hunter2@127.0.0.1:1/proxy";
    let image = format!("{UPSTREAM}/kestra/kestra:latest");
    for format in ["json", "human"] {
        let run = cli::tagpin(
            cache.path(),
            cache.path(),
            &[
                "-v",
                "resolve",
                "--refresh",
                "--format",
                format,
                "--no-config",
                "--registry-mirror",
                &answering,
                "--registry-mirror",
                down,
                &image,
                "127.0.0.2:1/kestra/kestra:latest",
            ],
        );
        assert!(
            run.stdout
                .contains(&format!("{UPSTREAM}/kestra/kestra:v2.0.5")),
            "the URL's login was used for the mirror: {}{}",
            run.stdout,
            run.stderr
        );
        assert_eq!(
            run.code, 2,
            "the second image has no answer: {}",
            run.stderr
        );
        assert!(run.stderr.contains("127.0.0.1:1"), "{}", run.stderr);
        assert!(run.stderr.contains("DEBUG"), "-v logs: {}", run.stderr);
        assert!(
            !run.stdout.contains("hunter2") && !run.stderr.contains("hunter2"),
            "{}{}",
            run.stdout,
            run.stderr
        );
    }
}

#[tokio::test]
async fn retry_after_as_an_http_date_is_honoured() {
    let fake = FakeRegistry::start(
        Behaviour {
            too_many_requests: 1,
            retry_after: Some(httpdate::fmt_http_date(
                std::time::SystemTime::now() + Duration::from_secs(3),
            )),
            ..Behaviour::default()
        }
        .with_repo("kestra/kestra", kestra()),
    );
    let registry = registry_for(&fake, |_| {});
    let started = Instant::now();
    let manifest = registry
        .manifest(&image("kestra/kestra"), "v2.0.5")
        .await
        .unwrap();
    assert_eq!(manifest.unwrap().digest, fake::index("2.0.5").1);
    // The date has one-second resolution: two seconds or more, not the one-second default.
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(fake.request_count(), 2);
}

#[tokio::test]
async fn the_cache_keeps_each_endpoints_answers_apart() {
    let dir = tempfile::tempdir().unwrap();
    let cache = || {
        Some(Cache::new(
            dir.path().to_path_buf(),
            Duration::from_secs(3600),
        ))
    };
    let rules = RuleData::builtin();
    let first = FakeRegistry::start(Behaviour::default().with_repo("kestra/kestra", kestra()));
    // Another mirror, where `latest` is still v2.0.4.
    let mut older = kestra();
    older.retain(|(tag, _)| *tag != "latest");
    older.push(("latest", "2.0.4"));
    let second = FakeRegistry::start(Behaviour::default().with_repo("kestra/kestra", older));
    let answers = [(&first, "v2.0.5"), (&second, "v2.0.4"), (&first, "v2.0.5")];
    for (mirror, release) in answers {
        mirror.reset_counts();
        let registry = registry_for(mirror, |o| o.cache = cache());
        let resolution = registry
            .resolve(&image("kestra/kestra:latest"), &rules)
            .await
            .unwrap();
        assert_eq!(
            resolution.release.as_deref(),
            Some(release),
            "{}",
            mirror.host
        );
    }
    assert_eq!(
        first.request_count(),
        0,
        "the third answer came from the cache"
    );
}

/// A caller's candidate policy: the tags it names, in its order, whatever the rules would say.
struct Only(&'static [&'static str], bool);

impl Candidates for Only {
    fn may_have_release(&self, _image: &Image, _tag: &str) -> bool {
        self.1
    }

    fn order(&self, _image: &Image, _tag: Option<&str>, _tags: &[String]) -> Vec<String> {
        self.0.iter().map(|t| t.to_string()).collect()
    }
}

#[tokio::test]
async fn the_registry_asks_only_the_candidates_its_caller_orders() {
    let fake = FakeRegistry::start(Behaviour::default().with_repo("kestra/kestra", kestra()));
    let registry = registry_for(&fake, |_| {});
    let policy = Only(&["v2.0.4", "v2.0.5", "v9.9.9"], true);
    let latest = registry
        .resolve(&image("kestra/kestra:latest"), &policy)
        .await
        .unwrap();
    assert_eq!(latest.release.as_deref(), Some("v2.0.5"));
    let mut heads: Vec<String> = paths(&fake)
        .into_iter()
        .filter(|p| p.starts_with("HEAD"))
        .collect();
    // One at a time, then two: the order decides, the registry's answers choose.
    assert_eq!(
        heads[..2],
        [
            "HEAD /v2/kestra/kestra/manifests/latest",
            "HEAD /v2/kestra/kestra/manifests/v2.0.4"
        ]
    );
    heads.sort();
    assert_eq!(
        heads,
        [
            "HEAD /v2/kestra/kestra/manifests/latest",
            "HEAD /v2/kestra/kestra/manifests/v2.0.4",
            "HEAD /v2/kestra/kestra/manifests/v2.0.5",
            "HEAD /v2/kestra/kestra/manifests/v9.9.9",
        ]
    );

    // No release can share a build channel's digest: the tag list is not read.
    let fake = FakeRegistry::start(Behaviour::default().with_repo("kestra/kestra", kestra()));
    let registry = registry_for(&fake, |_| {});
    let develop = registry
        .resolve(&image("kestra/kestra:develop"), &Only(&["v2.0.5"], false))
        .await
        .unwrap();
    assert_eq!(develop.release, None);
    assert_eq!(paths(&fake), ["HEAD /v2/kestra/kestra/manifests/develop"]);
}
