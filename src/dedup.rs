//! Identity: which entries are the same story.
//!
//! One story is one row however many feeds carry it, so the key must come out
//! the same from every feed and on every poll. In order of preference:
//! 1. the canonical link (`https://host/path?sorted&params`, tracking parameters
//!    and the fragment dropped, http and https alike);
//! 2. the guid, scoped to its source, when there is no usable link;
//! 3. a hash of source, title and date, when there is neither.
//!
//! Never a random id: a random id would make the entry new on every poll.

use url::Url;

/// Query parameters that never change what a link points at (`utm_*` style
/// patterns match by prefix).
#[derive(Debug, Clone)]
pub struct TrackingParams(Vec<String>);

impl TrackingParams {
    pub fn new(patterns: &[String]) -> Self {
        Self(patterns.iter().map(|p| p.to_ascii_lowercase()).collect())
    }

    fn is_tracking(&self, name: &str) -> bool {
        let name = name.to_ascii_lowercase();
        self.0
            .iter()
            .any(|pattern| match pattern.strip_suffix('*') {
                Some(prefix) => name.starts_with(prefix),
                None => name == *pattern,
            })
    }
}

/// The link users should follow: absolute http(s), no fragment, no tracking
/// parameters, remaining parameters sorted. `None` for anything else.
pub fn canonical_link(link: &str, base: Option<&Url>, tracking: &TrackingParams) -> Option<Url> {
    let link = link.trim();
    if link.is_empty() {
        return None;
    }
    let mut url = match base {
        Some(base) => base.join(link).ok()?,
        None => Url::parse(link).ok()?,
    };
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return None;
    }
    url.set_fragment(None);
    let mut params: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(name, _)| !tracking.is_tracking(name))
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect();
    params.sort();
    if params.is_empty() {
        url.set_query(None);
    } else {
        url.query_pairs_mut().clear().extend_pairs(params);
    }
    Some(url)
}

/// The key of an entry that has a usable link: http and https are one story.
pub fn link_key(canonical: &Url) -> String {
    let mut key = canonical.clone();
    // Both schemes are special with a host, so switching never fails.
    let _ = key.set_scheme("https");
    key.into()
}

/// The key of an entry without a link but with a guid: a guid is only unique
/// within the feed that minted it.
pub fn guid_key(source_url: &str, guid: &str) -> String {
    format!("guid:{source_url}#{}", guid.trim())
}

/// The key of an entry with neither link nor guid.
pub fn content_key(source_url: &str, title: &str, date: Option<&str>) -> String {
    let mut hasher = blake3::Hasher::new();
    for part in [source_url, title, date.unwrap_or("")] {
        hasher.update(part.as_bytes());
        hasher.update(&[0]);
    }
    format!("hash:{}", &hasher.finalize().to_hex()[..32])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tracking() -> TrackingParams {
        TrackingParams::new(&crate::config::PollDefaults::default().tracking_params)
    }

    fn key(link: &str) -> String {
        link_key(&canonical_link(link, None, &tracking()).unwrap())
    }

    #[test]
    fn decorated_copies_of_one_link_share_a_key() {
        let plain = "https://news.stcn.com/news/202201/t20220126_4094127.html";
        for copy in [
            "https://news.stcn.com/news/202201/t20220126_4094127.html?utm_source=rss&utm_medium=feed",
            "https://news.stcn.com/news/202201/t20220126_4094127.html#comments",
            "http://news.stcn.com/news/202201/t20220126_4094127.html",
            "HTTPS://NEWS.STCN.COM:443/news/202201/t20220126_4094127.html?spm=a.b.c&from=timeline",
            " https://news.stcn.com/news/202201/t20220126_4094127.html?fbclid=x&gclid=y ",
        ] {
            assert_eq!(key(copy), plain, "{copy}");
        }
    }

    #[test]
    fn meaningful_parameters_stay_and_are_sorted() {
        assert_eq!(
            key("https://a.example/article?id=7&utm_campaign=x&page=2"),
            "https://a.example/article?id=7&page=2"
        );
        assert_eq!(
            key("https://a.example/a?b=2&a=1"),
            key("https://a.example/a?a=1&b=2")
        );
        assert_ne!(
            key("https://a.example/a?id=1"),
            key("https://a.example/a?id=2")
        );
    }

    #[test]
    fn relative_links_resolve_and_non_web_links_are_unusable() {
        let base = Url::parse("https://news.stcn.com/feeds/yw.xml").unwrap();
        let resolved = canonical_link("/news/1.html", Some(&base), &tracking()).unwrap();
        assert_eq!(resolved.as_str(), "https://news.stcn.com/news/1.html");
        for bad in [
            "",
            "javascript:alert(1)",
            "mailto:a@b.c",
            "not a url",
            "data:text/html,x",
        ] {
            assert_eq!(canonical_link(bad, None, &tracking()), None, "{bad}");
        }
    }

    #[test]
    fn fallback_keys_are_stable_and_scoped() {
        assert_eq!(guid_key("https://a/f", "42"), guid_key("https://a/f", "42"));
        assert_ne!(guid_key("https://a/f", "42"), guid_key("https://b/f", "42"));
        let one = content_key("https://a/f", "标题", Some("2022-01-26T07:54:00Z"));
        assert_eq!(
            one,
            content_key("https://a/f", "标题", Some("2022-01-26T07:54:00Z"))
        );
        assert_ne!(one, content_key("https://a/f", "标题", None));
    }
}
