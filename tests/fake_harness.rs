//! Checks that the fake registry in `support/fake.rs` speaks the wire behaviours it promises.

#[path = "support/fake.rs"]
mod fake;

use std::time::{Duration, Instant};

use fake::{Behaviour, FakeRegistry, OCI_INDEX, OCI_MANIFEST, basic, index, manifest, many_tags};

const ACCEPT_ALL: &str =
    "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json";

struct Answer {
    status: u16,
    headers: ureq::http::HeaderMap,
    body: Result<String, ureq::Error>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.body.as_ref().unwrap()).unwrap()
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

fn send(agent: &ureq::Agent, method: &str, url: &str, headers: &[(&str, &str)]) -> Answer {
    let mut request = ureq::http::Request::builder().method(method).uri(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let mut response = agent.run(request.body(()).unwrap()).unwrap();
    let body = response.body_mut().read_to_string();
    Answer {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body,
    }
}

fn get(url: &str, headers: &[(&str, &str)]) -> Answer {
    send(&agent(), "GET", url, headers)
}

fn kestra() -> Behaviour {
    Behaviour::default().with_repo(
        "kestra/kestra",
        [("latest", "a"), ("0.20.0", "b"), ("0.19.0", "image:c")],
    )
}

/// Follows `Link` headers from `first`, returning every tag and every Link seen.
fn walk(fake: &FakeRegistry, first: &str, max_pages: usize) -> (Vec<String>, Vec<String>) {
    let agent = agent();
    let (mut tags, mut links, mut next) = (Vec::new(), Vec::new(), Some(first.to_owned()));
    while let Some(path) = next.take().filter(|_| links.len() < max_pages) {
        let answer = send(&agent, "GET", &format!("{}{path}", fake.url), &[]);
        assert_eq!(answer.status, 200);
        let page = answer.json()["tags"].as_array().unwrap().clone();
        tags.extend(page.iter().map(|t| t.as_str().unwrap().to_owned()));
        next = answer
            .header("link")
            .map(|l| l[1..l.find('>').unwrap()].to_owned());
        links.extend(answer.header("link").map(str::to_owned));
    }
    (tags, links)
}

#[test]
fn base_endpoint_answers_with_api_version() {
    let fake = FakeRegistry::start(Behaviour::default());
    let answer = get(&format!("{}/v2/", fake.url), &[]);
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.header("docker-distribution-api-version"),
        Some("registry/2.0")
    );
    assert_eq!(fake.url, format!("http://{}", fake.host));
}

#[test]
fn manifests_answer_head_and_get_with_matching_digest() {
    let fake = FakeRegistry::start(kestra());
    let url = format!("{}/v2/kestra/kestra/manifests/latest", fake.url);
    let got = get(&url, &[("Accept", ACCEPT_ALL)]);
    let (body, digest) = index("a");
    assert_eq!(got.status, 200);
    assert_eq!(got.body.as_ref().unwrap().as_bytes(), body);
    assert_eq!(got.header("docker-content-digest"), Some(digest.as_str()));
    assert_eq!(fake::sha256(&body), digest);
    assert_eq!(got.header("content-type"), Some(OCI_INDEX));
    assert_eq!(
        got.header("content-length"),
        Some(body.len().to_string().as_str())
    );

    let head = send(&agent(), "HEAD", &url, &[("Accept", ACCEPT_ALL)]);
    assert_eq!(head.status, 200);
    assert_eq!(head.body.as_deref().unwrap(), "");
    for name in ["docker-content-digest", "content-type", "content-length"] {
        assert_eq!(head.header(name), got.header(name), "{name}");
    }

    let by_digest = get(
        &format!("{}/v2/kestra/kestra/manifests/{digest}", fake.url),
        &[("Accept", OCI_INDEX)],
    );
    assert_eq!(by_digest.body.unwrap().as_bytes(), body);
    let image = get(
        &format!("{}/v2/kestra/kestra/manifests/0.19.0", fake.url),
        &[("Accept", ACCEPT_ALL)],
    );
    assert_eq!(image.header("content-type"), Some(OCI_MANIFEST));
    assert_eq!(
        image.header("docker-content-digest"),
        Some(manifest("image:c").digest.as_str())
    );
}

#[test]
fn unknown_or_unaccepted_manifests_are_404() {
    let fake = FakeRegistry::start(kestra());
    let unknown = serde_json::json!({"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown"}]});
    for (path, accept) in [
        ("kestra/kestra/manifests/nope", ACCEPT_ALL),
        ("nobody/here/manifests/latest", ACCEPT_ALL),
        ("kestra/kestra/manifests/latest", OCI_MANIFEST),
        ("kestra/kestra/manifests/latest", "*/*"),
    ] {
        let answer = get(&format!("{}/v2/{path}", fake.url), &[("Accept", accept)]);
        assert_eq!(
            (answer.status, answer.json()),
            (404, unknown.clone()),
            "{path} {accept}"
        );
    }
    let no_accept = get(
        &format!("{}/v2/kestra/kestra/manifests/latest", fake.url),
        &[],
    );
    assert_eq!(no_accept.status, 404);
    let tags = get(&format!("{}/v2/nobody/tags/list", fake.url), &[]);
    assert_eq!(
        (tags.status, tags.json()["errors"][0]["code"].as_str()),
        (404, Some("NAME_UNKNOWN"))
    );
}

#[test]
fn token_flow_works_end_to_end() {
    let fake = FakeRegistry::start(Behaviour {
        token_auth: true,
        token_credentials: Some(("me".into(), "secret".into())),
        ..kestra()
    });
    let url = format!("{}/v2/kestra/kestra/manifests/latest", fake.url);
    let challenge = get(&url, &[("Accept", ACCEPT_ALL)]);
    assert_eq!(challenge.status, 401);
    let expected = format!(
        "Bearer realm=\"{}/token\",service=\"fake\",scope=\"repository:kestra/kestra:pull\"",
        fake.url
    );
    assert_eq!(
        challenge.header("www-authenticate"),
        Some(expected.as_str())
    );
    let base = get(&format!("{}/v2/", fake.url), &[]);
    assert_eq!(base.status, 401);
    assert_eq!(
        base.header("docker-distribution-api-version"),
        Some("registry/2.0")
    );

    let token_url = format!(
        "{}/token?service=fake&scope=repository%3Akestra%2Fkestra%3Apull",
        fake.url
    );
    assert_eq!(get(&token_url, &[]).status, 401);
    assert_eq!(
        get(&token_url, &[("Authorization", &basic("me", "wrong"))]).status,
        401
    );
    let token = get(&token_url, &[("Authorization", &basic("me", "secret"))]).json();
    assert_eq!(token["token"], "tok-kestra/kestra");
    assert_eq!(token["access_token"], "tok-kestra/kestra");
    assert_eq!(token["expires_in"], 300);

    let bearer = format!("Bearer {}", token["token"].as_str().unwrap());
    let ok = get(&url, &[("Accept", ACCEPT_ALL), ("Authorization", &bearer)]);
    assert_eq!(ok.status, 200);
    assert_eq!(
        ok.header("docker-content-digest"),
        Some(index("a").1.as_str())
    );
    let other = get(
        &format!("{}/v2/other/repo/tags/list", fake.url),
        &[("Authorization", &bearer)],
    );
    assert_eq!(other.status, 401);
    assert_eq!(
        fake.requests().last().unwrap().authorization.as_deref(),
        Some(bearer.as_str())
    );
}

#[test]
fn basic_auth_challenges_and_accepts_credentials() {
    assert_eq!(
        basic("Aladdin", "open sesame"),
        "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
    );
    assert_eq!(basic("a", "b"), "Basic YTpi");
    let fake = FakeRegistry::start(Behaviour {
        basic_auth: Some(("u".into(), "p".into())),
        ..kestra()
    });
    let url = format!("{}/v2/kestra/kestra/tags/list", fake.url);
    let denied = get(&url, &[]);
    assert_eq!(
        (denied.status, denied.header("www-authenticate")),
        (401, Some("Basic realm=\"fake\""))
    );
    assert_eq!(
        get(&url, &[("Authorization", &basic("u", "p"))]).status,
        200
    );
}

#[test]
fn tags_are_sorted_and_paged_with_link_headers() {
    let tags: Vec<_> = (0..25).map(|i| (format!("t{i}"), "s".to_owned())).collect();
    let mut sorted: Vec<_> = tags.iter().map(|t| t.0.clone()).collect();
    sorted.sort();
    let fake = FakeRegistry::start(Behaviour {
        page_size: Some(10),
        ..Behaviour::default().with_repo("r/x", tags)
    });

    let (all, links) = walk(&fake, "/v2/r/x/tags/list", 100);
    assert_eq!(all, sorted);
    assert_eq!(
        links,
        [
            format!("</v2/r/x/tags/list?last={}&n=10>; rel=\"next\"", sorted[9]),
            format!("</v2/r/x/tags/list?last={}&n=10>; rel=\"next\"", sorted[19]),
        ]
    );
    let first = get(&format!("{}/v2/r/x/tags/list?n=3&last=t1", fake.url), &[]);
    assert_eq!(
        first.json(),
        serde_json::json!({"name": "r/x", "tags": ["t10", "t11", "t12"]})
    );
    assert_eq!(
        first.header("link"),
        Some("</v2/r/x/tags/list?last=t12&n=3>; rel=\"next\"")
    );

    fake.set_behaviour(|b| b.ignore_n = true);
    let ignored = get(&format!("{}/v2/r/x/tags/list?n=3", fake.url), &[]);
    assert_eq!(ignored.json()["tags"].as_array().unwrap().len(), 10);
    assert_eq!(walk(&fake, "/v2/r/x/tags/list?n=3", 100).0, sorted);
}

#[test]
fn opaque_paging_ignores_last() {
    let fake = FakeRegistry::start(Behaviour {
        page_size: Some(2),
        opaque_paging: true,
        ..kestra()
    });
    let first = get(
        &format!("{}/v2/kestra/kestra/tags/list?last=0.20.0", fake.url),
        &[],
    );
    assert_eq!(
        first.json()["tags"],
        serde_json::json!(["0.19.0", "0.20.0"])
    );
    let link = first.header("link").unwrap();
    assert!(
        link.starts_with("</v2/kestra/kestra/tags/list?next_page=")
            && link.ends_with("&n=2>; rel=\"next\""),
        "{link}"
    );
    assert!(!link.contains("last="));
    let (all, links) = walk(&fake, "/v2/kestra/kestra/tags/list", 100);
    assert_eq!(
        (all, links.len()),
        (
            vec!["0.19.0".to_owned(), "0.20.0".into(), "latest".into()],
            1
        )
    );
}

#[test]
fn endless_links_never_stop() {
    let fake = FakeRegistry::start(Behaviour {
        page_size: Some(2),
        endless_links: true,
        ..kestra()
    });
    let (tags, links) = walk(&fake, "/v2/kestra/kestra/tags/list", 5);
    assert_eq!((tags.len(), links.len()), (3, 5));
    assert_eq!(links[1], links[4], "last= paging repeats the final URL");

    fake.set_behaviour(|b| b.opaque_paging = true);
    let (_, links) = walk(&fake, "/v2/kestra/kestra/tags/list", 5);
    let distinct: std::collections::HashSet<_> = links.iter().collect();
    assert_eq!(distinct.len(), 5, "opaque paging hands out new tokens");
}

#[test]
fn rate_limits_and_server_errors_come_first_then_success() {
    let fake = FakeRegistry::start(Behaviour {
        too_many_requests: 2,
        server_errors: 1,
        token_auth: true,
        ..kestra()
    });
    let url = format!("{}/v2/", fake.url);
    let token = get(&format!("{}/token?service=fake", fake.url), &[]);
    assert_eq!(token.status, 200, "/token is never rate limited");
    for _ in 0..2 {
        let limited = get(&url, &[]);
        assert_eq!(
            (limited.status, limited.header("retry-after")),
            (429, Some("1"))
        );
        assert_eq!(limited.json()["errors"][0]["code"], "TOOMANYREQUESTS");
    }
    assert_eq!(get(&url, &[]).status, 500);
    assert_eq!(get(&url, &[("Authorization", "Bearer tok-")]).status, 200);

    fake.set_behaviour(|b| (b.too_many_requests, b.retry_after) = (1, Some("7".into())));
    assert_eq!(get(&url, &[]).header("retry-after"), Some("7"));
}

#[test]
fn slow_server_trips_client_timeouts() {
    let fake = FakeRegistry::start(Behaviour {
        delay: Some(Duration::from_millis(300)),
        ..kestra()
    });
    let url = format!("{}/v2/", fake.url);
    let started = Instant::now();
    assert_eq!(get(&url, &[]).status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
    let impatient: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_millis(50)))
        .build()
        .into();
    assert!(impatient.get(&url).call().is_err());
}

#[test]
fn truncated_bodies_are_detectable() {
    let fake = FakeRegistry::start(Behaviour {
        truncate_body: true,
        ..kestra()
    });
    let answer = get(
        &format!("{}/v2/kestra/kestra/manifests/latest", fake.url),
        &[("Accept", ACCEPT_ALL)],
    );
    let (full, _) = index("a");
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.header("content-length"),
        Some(full.len().to_string().as_str())
    );
    assert!(answer.body.is_err(), "the client notices the short body");
    assert!(
        get(&format!("{}/v2/kestra/kestra/tags/list", fake.url), &[])
            .body
            .is_err()
    );
}

#[test]
fn dripped_bodies_arrive_whole() {
    let fake = FakeRegistry::start(Behaviour {
        drip: Some(Duration::from_millis(1)),
        ..kestra()
    });
    let answer = get(&format!("{}/v2/kestra/kestra/tags/list", fake.url), &[]);
    assert_eq!(
        answer.json()["tags"],
        serde_json::json!(["0.19.0", "0.20.0", "latest"])
    );
}

#[test]
fn redirects_land_on_the_other_server() {
    let target = FakeRegistry::start(kestra());
    let origin = FakeRegistry::start(Behaviour {
        redirect_to: Some(target.url.clone()),
        ..Behaviour::default()
    });
    let path = "/v2/kestra/kestra/manifests/latest";
    let answer = get(&format!("{}{path}", origin.url), &[("Accept", ACCEPT_ALL)]);
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.header("docker-content-digest"),
        Some(index("a").1.as_str())
    );
    assert_eq!(origin.requests().len(), 1);
    assert_eq!(target.requests()[0].path, path);
    assert_eq!(target.requests()[0].accept.as_deref(), Some(ACCEPT_ALL));

    let no_follow: ureq::Agent = ureq::Agent::config_builder()
        .max_redirects(0)
        .build()
        .into();
    let tags = no_follow
        .get(format!("{}/v2/kestra/kestra/tags/list?n=1", origin.url))
        .call()
        .unwrap();
    assert_eq!(tags.status(), 307);
    let location = format!("{}/v2/kestra/kestra/tags/list?n=1", target.url);
    assert_eq!(tags.headers()["location"].to_str().unwrap(), location);
}

#[test]
fn a_hundred_thousand_tags_page_quickly() {
    let tags = many_tags(100_000);
    let fake = FakeRegistry::start(Behaviour::default().with_repo("big", tags));
    let (all, links) = walk(&fake, "/v2/big/tags/list?n=1000", 1000);
    assert_eq!(
        (all.len(), links.len(), fake.request_count()),
        (100_000, 99, 100)
    );
    assert!(all.windows(2).all(|w| w[0] < w[1]), "sorted and unique");
    let answer = get(
        &format!("{}/v2/big/manifests/9.99.99", fake.url),
        &[("Accept", OCI_INDEX)],
    );
    assert_eq!(
        answer.header("docker-content-digest"),
        Some(index("seed-15").1.as_str())
    );
}

#[test]
fn requests_are_recorded_and_counts_reset() {
    let fake = FakeRegistry::start(kestra());
    get(&format!("{}/v2/", fake.url), &[]);
    get(
        &format!("{}/v2/kestra/kestra/tags/list?n=1", fake.url),
        &[("Authorization", "Bearer x")],
    );
    let requests = fake.requests();
    assert_eq!(fake.request_count(), 2);
    assert_eq!(
        (requests[0].method.as_str(), requests[0].path.as_str()),
        ("GET", "/v2/")
    );
    assert_eq!(requests[1].path, "/v2/kestra/kestra/tags/list?n=1");
    assert_eq!(requests[1].authorization.as_deref(), Some("Bearer x"));
    fake.reset_counts();
    assert_eq!(fake.request_count(), 0);
    get(&format!("{}/v2/", fake.url), &[]);
    assert_eq!(fake.request_count(), 1);
}

#[tokio::test]
async fn usable_and_droppable_from_async_code() {
    let fake = FakeRegistry::start(kestra());
    let url = format!("{}/v2/kestra/kestra/tags/list", fake.url);
    let answer = tokio::task::spawn_blocking(move || get(&url, &[]))
        .await
        .unwrap();
    assert_eq!(answer.status, 200);
    drop(fake);
}
