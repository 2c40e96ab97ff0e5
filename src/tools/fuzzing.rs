//! The properties the fuzz targets (`fuzz/`) check, kept in the library so the
//! regression inputs they found run as ordinary tests (`tests/fuzz_regressions.rs`)
//! on the stable toolchain. Each function panics when a property fails, and
//! says in a line what it read: `fuzz/inputs.txt` records that line for every
//! kept input, so an input that stops reading as it did is noticed.

use std::sync::LazyLock;

use url::Url;

use crate::article::dedup::{self, TrackingParams};
use crate::article::normalize::{self, SourceContext};
use crate::read::parse::ParseHints;
use crate::read::scrape::Reading;

static SOURCE: LazyLock<SourceContext> = LazyLock::new(|| SourceContext {
    name: "证券时报网".into(),
    url: Url::parse("https://rsshub.app/stcn/yw").expect("valid"),
    category: "金融".into(),
    channel: Some("要闻".into()),
    timezone: chrono_tz::Asia::Shanghai,
    tracking: TrackingParams::new(&crate::config::PollDefaults::default().tracking_params),
    rewrite: Default::default(),
    now: chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
        .expect("valid")
        .to_utc(),
    last_reading: Default::default(),
});

/// Any bytes: parsing never panics, and what it yields is normalized into
/// articles whose HTML is sanitized and whose text is valid in XML.
pub fn feed(bytes: &[u8]) -> String {
    let hints = ParseHints::bytes_only(chrono_tz::Asia::Shanghai, usize::MAX);
    let read = match normalize::read_body(bytes, hints, &Reading::Feed, &SOURCE.url, &SOURCE) {
        Ok(read) => read,
        Err(_) => return "unreadable".into(),
    };
    for article in &read.feed.articles {
        assert!(!article.key.is_empty());
        assert!(article.published.is_none_or(|d| d <= SOURCE.now));
        assert_eq!(crate::text::xml_safe(&article.title), article.title);
        assert_safe_html(&article.content.html);
    }
    format!("{} articles", read.feed.articles.len())
}

/// Any text: the date reader never panics, and a date it reads round-trips
/// through the stored form.
pub fn date(bytes: &[u8]) -> String {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return "not UTF-8".into();
    };
    let Some(date) = crate::read::dates::parse_date(text, chrono_tz::Asia::Shanghai) else {
        return "no date".into();
    };
    let stored = crate::read::dates::to_db(date);
    assert_eq!(
        crate::read::dates::from_db(&stored).map(crate::read::dates::to_db),
        Some(stored.clone())
    );
    stored
}

/// Any text: a canonical link is an http(s) URL without tracking parameters
/// or a fragment other than a route (`#/`, `#!`), and canonicalizing it again
/// changes nothing.
pub fn link(bytes: &[u8]) -> String {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return "not UTF-8".into();
    };
    let Some(link) = dedup::canonical_link(text, Some(&SOURCE.url), &SOURCE.tracking) else {
        return "no link".into();
    };
    assert!(matches!(link.scheme(), "http" | "https"));
    assert!(
        link.fragment()
            .is_none_or(|route| route.starts_with('/') || route.starts_with('!'))
    );
    assert!(!link.query_pairs().any(|(name, _)| name.starts_with("utm_")));
    let again = dedup::canonical_link(link.as_str(), None, &SOURCE.tracking).expect("still a link");
    assert_eq!(dedup::link_key(&again), dedup::link_key(&link));
    link.into()
}

/// Any text as content HTML: nothing executable survives sanitizing.
pub fn sanitize(bytes: &[u8]) -> String {
    let html = String::from_utf8_lossy(bytes);
    assert_safe_html(&crate::article::sanitize::sanitize(&html, &SOURCE.url));
    "sanitized".into()
}

/// Sanitized HTML: no executable element, event handler or script URL in any
/// tag, and valid in XML. Text may say anything: its `<` is escaped, so only real
/// tags start with `<`; and the sanitizer quotes every attribute value with `"`
/// (escaping `"` inside), so outside quotes a tag holds only names. Only values
/// of attributes that hold URLs are URLs: `alt="data: ..."` is text.
fn assert_safe_html(html: &str) {
    const URL_ATTRIBUTES: [&str; 8] = [
        "href",
        "src",
        "srcset",
        "action",
        "formaction",
        "poster",
        "cite",
        "background",
    ];
    let tags = html
        .split('<')
        .skip(1)
        .map(|t| t.split('>').next().unwrap_or(t).to_ascii_lowercase());
    for tag in tags {
        for bad in [
            "script", "iframe", "style", "svg", "object", "embed", "math",
        ] {
            assert!(!tag.starts_with(bad), "<{tag}> in {html}");
        }
        let mut attribute = "";
        for (i, part) in tag.split('"').enumerate() {
            if i % 2 == 0 {
                let names = part
                    .split(|c: char| c.is_whitespace() || c == '=')
                    .skip(usize::from(i == 0));
                for name in names.filter(|n| !n.is_empty()) {
                    assert!(!name.starts_with("on"), "event handler {name} in {html}");
                    attribute = name;
                }
            } else if URL_ATTRIBUTES.contains(&attribute) {
                for scheme in ["javascript:", "vbscript:", "data:"] {
                    assert!(
                        !part.trim_start().starts_with(scheme),
                        "{scheme} in <{tag}> of {html}"
                    );
                }
            }
        }
    }
    assert_eq!(crate::text::xml_safe(html), html);
}
