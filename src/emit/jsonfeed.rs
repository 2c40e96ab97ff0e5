//! JSON Feed 1.1 (<https://www.jsonfeed.org/version/1.1/>): the merged feeds
//! for scripts and the readers that prefer JSON, item for item the Atom
//! feed's entries, with the same ids.
//!
//! As with Atom, the bytes depend only on the articles, so an unchanged feed
//! keeps its ETag.

use serde::Serialize;

use super::{Head, also_in, copies, entry_id, entry_updated};
use crate::article::StoredArticle;
use crate::read::dates::to_db;

/// The version URL every JSON Feed 1.1 starts with.
const VERSION: &str = "https://jsonfeed.org/version/1.1";

#[derive(Serialize)]
struct Feed<'a> {
    version: &'static str,
    title: &'a str,
    home_page_url: &'a str,
    feed_url: &'a str,
    items: Vec<Item<'a>>,
}

#[derive(Serialize)]
struct Item<'a> {
    id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
    /// Where a story has copies, the next outlet's: the first is `url`.
    #[serde(skip_serializing_if = "Option::is_none")]
    external_url: Option<&'a str>,
    title: &'a str,
    content_html: String,
    #[serde(skip_serializing_if = "str::is_empty")]
    summary: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<&'a str>,
    date_published: String,
    date_modified: String,
    authors: [Author<'a>; 1],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    tags: &'a [String],
    /// The extension (JSON Feed allows keys starting with `_`) that names
    /// every other outlet's copy, which `external_url` has no room for.
    #[serde(rename = "_tidings", skip_serializing_if = "Option::is_none")]
    tidings: Option<Extension<'a>>,
}

#[derive(Serialize)]
struct Author<'a> {
    name: &'a str,
}

#[derive(Serialize)]
struct Extension<'a> {
    also_in: Vec<Copy<'a>>,
}

#[derive(Serialize)]
struct Copy<'a> {
    outlet: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
    date_published: String,
}

/// Renders a feed of `articles` (a merged feed, or a search's).
pub fn render(head: &Head<'_>, articles: &[StoredArticle]) -> String {
    let items = articles.iter().map(|article| item(article, head)).collect();
    let feed = Feed {
        version: VERSION,
        title: &head.title,
        home_page_url: &head.page_url,
        feed_url: head.self_url,
        items,
    };
    let mut json = serde_json::to_string_pretty(&feed).expect("a feed serializes");
    json.push('\n');
    json
}

fn item<'a>(article: &'a StoredArticle, head: &Head<'_>) -> Item<'a> {
    let copies = copies(article);
    Item {
        id: entry_id(&article.key),
        url: copies.first().copied(),
        external_url: copies.get(1).copied(),
        title: &article.title,
        content_html: article.content_html.clone() + &also_in(article, head.zone, None),
        summary: &article.summary,
        image: article.image.as_deref(),
        date_published: to_db(article.published),
        date_modified: to_db(entry_updated(article)),
        authors: [Author {
            name: &article.author,
        }],
        tags: &article.categories,
        tidings: (!article.reprints.is_empty()).then(|| Extension {
            also_in: article
                .reprints
                .iter()
                .map(|reprint| Copy {
                    outlet: &reprint.outlet,
                    url: reprint.link.as_deref(),
                    date_published: to_db(reprint.published),
                })
                .collect(),
        }),
    }
}
