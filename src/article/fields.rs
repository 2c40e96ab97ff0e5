//! The fields of an article that come straight from its entry: categories
//! in the order of the reference post, the link a person reads, the author,
//! the image, and text constructs read as text or HTML.

use std::borrow::Cow;

use feed_rs::model::{Entry, Link, Text};
use url::Url;

use crate::text::{collapse_whitespace, html_to_text};

/// The order of the reference article: category, source name, channel, then
/// the entry's own, each once.
pub(super) fn categories<'a>(
    entry: &'a Entry,
    source: impl IntoIterator<Item = &'a str>,
) -> Vec<String> {
    let own = entry
        .categories
        .iter()
        .map(|c| c.label.as_deref().unwrap_or(&c.term));
    let mut out: Vec<String> = Vec::new();
    for label in source.into_iter().chain(own) {
        let label = collapse_whitespace(label);
        if !label.is_empty() && !out.contains(&label) {
            out.push(label);
        }
    }
    out
}

/// The link a person reads, as feedparser picks it: of the `rel="alternate"`
/// links (or those without a rel), the HTML one, else one without a type,
/// else the first; without any, the first link that is not an enclosure
/// (a podcast's audio, a PDF attached) or the feed's own address.
pub(super) fn reader_link(links: &[Link]) -> Option<&Link> {
    let alternates = || {
        links.iter().filter(|l| {
            l.rel
                .as_deref()
                .is_none_or(|r| r.eq_ignore_ascii_case("alternate"))
        })
    };
    let is_html = |l: &&Link| {
        l.media_type.as_deref().is_some_and(|t| {
            let t = t.trim().to_ascii_lowercase();
            t.starts_with("text/html") || t.starts_with("application/xhtml+xml")
        })
    };
    alternates()
        .find(is_html)
        .or_else(|| alternates().find(|l| l.media_type.is_none()))
        .or_else(|| alternates().next())
        .or_else(|| {
            links.iter().find(|l| {
                !l.rel
                    .as_deref()
                    .is_some_and(|r| matches!(r, "enclosure" | "self" | "hub" | "edit"))
            })
        })
}

/// Plain text of a feed text construct, HTML or not.
pub(super) fn text_of(text: &Text) -> String {
    html_to_text(&text.content)
}

/// A feed text construct as HTML: plain text is escaped, HTML kept.
pub(super) fn html_of(text: &Text) -> Cow<'_, str> {
    if text.content_type.essence().to_string() == "text/plain" && !text.content.contains('<') {
        html_escape::encode_text(&text.content)
    } else {
        Cow::Borrowed(&text.content)
    }
}

/// An author name as feeds write it: `"editor@site.cn (张三)"` reaches us as
/// `(张三)`, sometimes with markup or entities.
pub(super) fn author_name(raw: &str) -> String {
    let raw = raw.trim();
    let name = raw
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .unwrap_or(raw);
    html_to_text(name)
}

/// The image a feed attaches to the entry (Media RSS, enclosure, JSON Feed image).
pub(super) fn media_image(entry: &Entry, base: &Url) -> Option<String> {
    let is_image = |mime: Option<String>, url: &str| {
        mime.is_some_and(|m| m.starts_with("image/"))
            || [".jpg", ".jpeg", ".png", ".gif", ".webp"]
                .iter()
                .any(|ext| {
                    url.to_ascii_lowercase()
                        .split('?')
                        .next()
                        .unwrap_or("")
                        .ends_with(ext)
                })
    };
    let contents = entry.media.iter().flat_map(|m| &m.content).filter_map(|c| {
        let url = c.url.as_ref()?;
        is_image(c.content_type.as_ref().map(|t| t.to_string()), url.as_str())
            .then(|| url.to_string())
    });
    let thumbnails = entry
        .media
        .iter()
        .flat_map(|m| &m.thumbnails)
        .map(|t| t.image.uri.clone());
    let enclosures = entry
        .links
        .iter()
        .filter(|l| l.rel.as_deref() == Some("enclosure"))
        .filter(|l| is_image(l.media_type.clone(), &l.href))
        .map(|l| l.href.clone());
    contents
        .chain(thumbnails)
        .chain(enclosures)
        .filter_map(|u| base.join(u.trim()).ok())
        .find(|u| matches!(u.scheme(), "http" | "https"))
        .map(String::from)
}
