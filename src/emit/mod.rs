//! Outputs built from stored articles: merged Atom feeds, JSON Feeds, the
//! news pages and Hexo posts.
//!
//! Pure: articles in, bytes out. Serving and writing files is `serve` and
//! `daemon`. What every output says the same way (an entry's id, a story's
//! copies, the line naming the other outlets) is here, so that the Atom
//! entry, the JSON Feed item and the page of one story agree.

pub mod atom;
pub mod hexo;
pub mod jsonfeed;
pub mod page;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC};

use crate::article::StoredArticle;

/// Characters a label or a query keeps in a URL path segment.
pub const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// What a feed says of itself, in either format.
pub struct Head<'a> {
    pub id: String,
    pub title: String,
    /// Where the feed is served.
    pub self_url: &'a str,
    /// Where a person reads the same entries (the news page).
    pub page_url: String,
    /// The zone the times of the other outlets' copies are given in.
    pub zone: Tz,
}

impl<'a> Head<'a> {
    /// The head of the merged feed of a label (`None`: everything).
    pub fn of_label(label: Option<&str>, self_url: &'a str, page_url: String, zone: Tz) -> Self {
        Head {
            id: feed_id(label),
            title: match label {
                Some(label) => format!("tidings: {label}"),
                None => "tidings: all articles".to_string(),
            },
            self_url,
            page_url,
            zone,
        }
    }

    /// The head of the feed of a search: its id is the query's, so a reader
    /// subscribed to a search keeps it across restarts.
    pub fn of_search(query: &str, self_url: &'a str, page_url: String, zone: Tz) -> Self {
        Head {
            id: format!(
                "urn:tidings:search:{}",
                &blake3::hash(query.as_bytes()).to_hex()[..32]
            ),
            title: format!("tidings: search {query}"),
            self_url,
            page_url,
            zone,
        }
    }
}

/// The id of an article's entry: derived from its identity key, so it never
/// changes across polls, restarts or database rebuilds.
pub fn entry_id(key: &str) -> String {
    format!(
        "urn:tidings:entry:{}",
        &blake3::hash(key.as_bytes()).to_hex()[..32]
    )
}

/// The id of a merged feed (`None` is the feed of everything).
pub fn feed_id(label: Option<&str>) -> String {
    match label {
        Some(label) => format!(
            "urn:tidings:feed:{}",
            blake3::hash(label.as_bytes()).to_hex()
        ),
        None => "urn:tidings:feed:all".to_string(),
    }
}

/// The newest time of any entry, which is when the feed last changed.
pub fn last_changed<'a>(articles: impl IntoIterator<Item = &'a StoredArticle>) -> DateTime<Utc> {
    articles
        .into_iter()
        .map(entry_updated)
        .max()
        .unwrap_or(DateTime::UNIX_EPOCH)
}

/// When an entry last changed: its update, never before its publication.
fn entry_updated(article: &StoredArticle) -> DateTime<Utc> {
    article
        .updated
        .unwrap_or(article.published)
        .max(article.published)
}

/// The links of a story's copies, earliest first: the first is where the
/// story is read, the others where other outlets carry it.
fn copies(article: &StoredArticle) -> Vec<&str> {
    let mut copies: Vec<(DateTime<Utc>, &str)> =
        std::iter::once((article.published, article.link.as_deref()))
            .chain(
                article
                    .reprints
                    .iter()
                    .map(|r| (r.published, r.link.as_deref())),
            )
            .filter_map(|(published, link)| Some((published, link?)))
            .collect();
    copies.sort_by_key(|(published, _)| *published);
    copies.into_iter().map(|(_, link)| link).collect()
}

/// The paragraph a story's entry ends with, naming the other outlets that
/// carry it and when (in `zone`, Beijing time by default, as they publish):
/// `亦见于：新浪财经 10:32 · 东方财富网 10:41`, each linked to its copy;
/// empty for an article alone. `class` is the paragraph's, for the pages.
fn also_in(article: &StoredArticle, zone: Tz, class: Option<&str>) -> String {
    if article.reprints.is_empty() {
        return String::new();
    }
    let copies: Vec<String> = article
        .reprints
        .iter()
        .map(|reprint| {
            let when = reprint.published.with_timezone(&zone).format("%H:%M");
            let outlet = html_escape::encode_text(&reprint.outlet);
            match reprint.link.as_deref().and_then(web_address) {
                Some(link) => format!(
                    "<a href=\"{}\">{outlet}</a> {when}",
                    html_escape::encode_double_quoted_attribute(link)
                ),
                None => format!("{outlet} {when}"),
            }
        })
        .collect();
    let class = class.map_or(String::new(), |class| format!(" class=\"{class}\""));
    format!("<p{class}>亦见于：{}</p>", copies.join(" · "))
}

/// `url` when it may be followed from a page (http or https): anything else
/// (`javascript:`, `data:`) never becomes a link, whatever a feed says.
fn web_address(url: &str) -> Option<&str> {
    let scheme = url.split_once(':')?.0;
    (scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")).then_some(url)
}
