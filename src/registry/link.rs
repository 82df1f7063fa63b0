//! Tag list paging: the `Link` header's `rel="next"` target and the URL it resolves to. Kept
//! apart because registries disagree on it (relative, absolute, Quay's `next_page`,
//! Artifactory's prefix-less `last`) and each case has its test here.

use reqwest::Url;
use reqwest::header::HeaderMap;

use super::transport::header;

/// The URL of the page after the one `asked` answered with `headers`, if there is one.
pub(super) fn next_page(asked: &str, headers: &HeaderMap) -> Option<String> {
    let artifactory = headers.contains_key("x-jfrog-version");
    let target = next_link(&header(headers, "link")?)?;
    next_url(asked, &target, artifactory)
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
}
