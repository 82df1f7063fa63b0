//! Checks the real-registry test harness itself (tests/support/registry.rs).

mod support;

use std::net::TcpStream;
use std::time::Duration;

use support::registry::TestRegistry;

#[test]
fn seeds_kestra_scheme_and_skopeo_agrees() {
    let registry = TestRegistry::start(None);
    let tags = registry.seed_kestra("kestra/kestra");
    assert_eq!(tags["latest"], tags["v2.0.5"]);
    assert_eq!(tags["latest-slim"], tags["v2.0.5-slim"]);
    assert_eq!(tags["latest-lts"], tags["v1.3.30"]);
    assert_eq!(tags["latest-lts-no-plugins"], tags["v1.3.30-no-plugins"]);
    assert_eq!(tags["v1.3"], tags["v1.3.30"]);
    assert_eq!(tags["v2.0-slim"], tags["v2.0.5-slim"]);
    assert_ne!(tags["v2.0.5"], tags["v2.0.5-slim"]);
    assert_ne!(tags["v1.3.29"], tags["v1.3.30"]);
    assert!(!tags.contains_key("latest-no-plugins"));
    for (tag, digest) in &tags {
        if tag != "develop" {
            assert_ne!(
                digest, &tags["develop"],
                "develop shares its digest with {tag}"
            );
        }
    }
    for tag in ["latest", "latest-lts", "v2.0.5-slim"] {
        assert_eq!(
            registry.skopeo_digest("kestra/kestra", tag),
            tags[tag],
            "{tag}"
        );
    }
    let ee = registry.seed_kestra("docker/kestra-ee");
    assert_ne!(ee["latest"], tags["latest"], "seeds differ per repository");
    assert_eq!(
        registry.skopeo_digest("docker/kestra-ee", "latest-lts"),
        ee["v1.3.30"]
    );
}

#[test]
fn basic_auth_and_shutdown() {
    let registry = TestRegistry::start(Some(("tester", "s3cret")));
    let pushed = registry.push_index("team/app", "auth", &["v1", "stable"]);
    assert_eq!(pushed.platforms.len(), 2);
    assert_eq!(
        pushed.index,
        registry.push_index("team/app", "auth", &[]).index,
        "deterministic"
    );
    let single = registry.push_manifest("team/app", "single", &["amd64-only"]);
    assert_ne!(single, pushed.index);

    let anonymous = ureq::get(format!("{}/v2/", registry.url))
        .config()
        .http_status_as_error(false)
        .build()
        .call();
    assert_eq!(anonymous.unwrap().status().as_u16(), 401);
    assert_eq!(registry.skopeo_digest("team/app", "stable"), pushed.index);
    assert_eq!(registry.skopeo_digest("team/app", "amd64-only"), single);

    let host = registry.host.clone();
    drop(registry);
    let addr = host.parse().unwrap();
    assert!(
        TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err(),
        "{host} still answers"
    );
}
