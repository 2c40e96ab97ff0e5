//! Sites without feeds: a list page read with CSS selectors, or a JSON API
//! read with dot paths, as a feed.
//!
//! Pure, like `parse`: decoded text in, the same feed-rs entries a feed gives
//! out, so that everything after reading (normalize, dedup, stories, full
//! content, the outputs) is the same for every kind of source. What reading
//! took is said as for feeds: a field that matches fewer than half of the
//! items, an item without a link, a date that reads as none are warnings; a
//! selector or path that finds no item at all is an error that names it,
//! because a site that changed its layout must never look like a quiet one.

mod dates;
pub mod discover;
mod json;
mod list;
mod selectors;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use feed_rs::model::{Category, Content, Entry, Feed, FeedType, Link, Person, Text};
use serde::Serialize;
use url::Url;

pub use selectors::{Field, JsonPath, JsonPaths, ListSelectors, Reading};

/// Why a page gave no items.
#[derive(Debug, thiserror::Error)]
pub enum ScrapeError {
    #[error(
        "the {what} `{selector}` matches nothing on the page: the page's layout may have changed"
    )]
    NoItems {
        what: &'static str,
        selector: String,
    },
    #[error(
        "the `in` selector `{0}` matches nothing on the page: the page's layout may have changed"
    )]
    NoElement(String),
    #[error("not JSON: {0}")]
    NotJson(String),
}

/// What the source's settings and the poll's clock say about reading a page.
#[derive(Debug, Clone, Copy)]
pub struct PageContext<'a> {
    /// Where the page was fetched from: links are resolved against it (or
    /// against the page's `<base href>`).
    pub url: &'a Url,
    /// The zone of dates written without one.
    pub timezone: Tz,
    /// The time of reading: `10:32` is today's, `5分钟前` five minutes before it.
    pub now: DateTime<Utc>,
}

/// A page read as a feed, and what reading it took.
#[derive(Debug)]
pub struct Scraped {
    pub feed: Feed,
    pub warnings: Vec<String>,
    /// How many items each field matched, for `tidings parse`.
    pub matches: Matches,
    /// The entries whose date is counted back from the time of reading
    /// (`5分钟前`): roughly known, so they must not make an item look edited.
    pub rough_dates: Vec<usize>,
}

/// How many items the page had, and how many of them each field matched:
/// what a person writing selectors needs to see.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Matches {
    pub items: usize,
    /// Each configured field, in the order of the config's keys, with the
    /// items it found a value in.
    pub fields: Vec<FieldMatch>,
}

/// One field's share of the items.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldMatch {
    pub field: &'static str,
    /// The selector or path, as written.
    pub selector: String,
    pub matched: usize,
}

/// Reads a decoded body as the source's `list` or `json` table says.
pub fn read(text: &str, reading: &Reading, page: PageContext<'_>) -> Result<Scraped, ScrapeError> {
    let listing = match reading {
        Reading::Feed => unreachable!("feeds are read by `parse`"),
        Reading::List(selectors) => list::read(text, page.url, selectors)?,
        Reading::Json(paths) => json::read(text, page.url, paths)?,
    };
    Ok(finish(listing, reading.date_format(), page))
}

/// What a list page or an API gave, before its items are entries.
struct Listing {
    items: Vec<Item>,
    /// What relative links are relative to.
    base: Url,
    /// The page's own title, as the feed's.
    title: Option<String>,
    /// Each configured field with its selector or path, in the config's order.
    fields: Vec<(&'static str, String)>,
}

/// One item as a page or an API gives it, before it is an entry.
#[derive(Debug, Default)]
struct Item {
    /// HTML (a page's text comes escaped).
    title: Option<String>,
    link: Option<String>,
    date: Option<String>,
    /// HTML.
    summary: Option<String>,
    /// HTML.
    content: Option<String>,
    author: Option<String>,
    image: Option<String>,
    categories: Vec<String>,
    id: Option<String>,
}

impl Item {
    /// Whether the item has a value for the field of that name.
    fn has(&self, field: &str) -> bool {
        match field {
            "title" => self.title.is_some(),
            "link" => self.link.is_some(),
            "date" => self.date.is_some(),
            "summary" => self.summary.is_some(),
            "content" => self.content.is_some(),
            "author" => self.author.is_some(),
            "image" => self.image.is_some(),
            "categories" => !self.categories.is_empty(),
            "id" => self.id.is_some(),
            _ => false,
        }
    }
}

/// The items as feed entries, with the warnings and counts of reading them.
fn finish(listing: Listing, date_format: Option<&str>, page: PageContext<'_>) -> Scraped {
    let Listing {
        items,
        base,
        title,
        fields,
    } = listing;
    let total = items.len();
    let matches = matches_of(&items, &fields);
    let mut warnings = thin_fields(&matches);
    let resolve = |text: &str| {
        base.join(text.trim())
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https"))
    };
    let mut entries = Vec::with_capacity(total);
    let mut rough_dates = Vec::new();
    let (mut without_link, mut undated) = (0, Vec::new());
    for item in items {
        let link = item.link.as_deref().and_then(resolve);
        if link.is_none() && item.id.is_none() {
            without_link += 1;
            continue;
        }
        let published = item.date.as_deref().and_then(|text| {
            let listed = dates::parse_listed(text, page.timezone, page.now, date_format);
            if listed.is_none() {
                undated.push(text.to_string());
            }
            listed
        });
        if published.is_some_and(|date| date.rough) {
            rough_dates.push(entries.len());
        }
        let image = item.image.as_deref().and_then(resolve);
        entries.push(entry_of(item, link, image, published.map(|date| date.at)));
    }
    if without_link > 0 {
        let selector = fields
            .iter()
            .find(|(field, _)| *field == "link")
            .map_or("", |(_, selector)| selector.as_str());
        warnings.push(format!(
            "skipped {without_link} of {total} items without a link (`{selector}`)"
        ));
    }
    if let Some(example) = undated.first() {
        warnings.push(format!(
            "could not read the date of {} of {total} items (such as `{example}`): set date_format",
            undated.len()
        ));
    }
    Scraped {
        feed: feed_of(&base, title, entries),
        warnings,
        matches,
        rough_dates,
    }
}

/// How many of `items` each configured field found a value in.
fn matches_of(items: &[Item], fields: &[(&'static str, String)]) -> Matches {
    Matches {
        items: items.len(),
        fields: fields
            .iter()
            .map(|(field, selector)| FieldMatch {
                field,
                selector: selector.clone(),
                matched: items.iter().filter(|item| item.has(field)).count(),
            })
            .collect(),
    }
}

/// A warning for each field that matched fewer than half of the items (an
/// item without a link is warned about as it is skipped).
fn thin_fields(matches: &Matches) -> Vec<String> {
    matches
        .fields
        .iter()
        .filter(|found| found.matched * 2 < matches.items && found.field != "link")
        .map(|found| {
            format!(
                "`{}` (`{}`) matched {} of {} items: the page's layout may have changed",
                found.field, found.selector, found.matched, matches.items
            )
        })
        .collect()
}

/// An item as the entry feed-rs would have read from a feed: its link, its
/// image as an enclosure, its summary or content as HTML.
fn entry_of(
    item: Item,
    link: Option<Url>,
    image: Option<Url>,
    published: Option<DateTime<Utc>>,
) -> Entry {
    let links = link
        .map(|url| link_to(url, None, None))
        .into_iter()
        .chain(image.map(|url| link_to(url, Some("enclosure"), Some("image/*"))))
        .collect();
    Entry {
        id: item.id.unwrap_or_default(),
        title: item.title.map(html_text),
        links,
        summary: item
            .summary
            .clone()
            .filter(|_| item.content.is_some())
            .map(html_text),
        content: item.content.or(item.summary).map(|html| Content {
            body: Some(html),
            ..Content::default()
        }),
        published,
        authors: item
            .author
            .map(|name| Person {
                name: Some(name),
                uri: None,
                email: None,
                role: None,
            })
            .into_iter()
            .collect(),
        categories: item.categories.iter().map(|c| Category::new(c)).collect(),
        ..Entry::default()
    }
}

/// The feed a page makes: its title, its address as the site's link.
fn feed_of(base: &Url, title: Option<String>, entries: Vec<Entry>) -> Feed {
    Feed {
        feed_type: FeedType::RSS2,
        id: String::new(),
        title: title.map(|title| html_text(html_escape::encode_text(&title).into_owned())),
        updated: None,
        authors: Vec::new(),
        description: None,
        links: vec![link_to(base.clone(), Some("alternate"), Some("text/html"))],
        categories: Vec::new(),
        contributors: Vec::new(),
        generator: None,
        icon: None,
        language: None,
        logo: None,
        published: None,
        rating: None,
        rights: None,
        ttl: None,
        people: Vec::new(),
        entries,
    }
}

/// A feed-rs link.
fn link_to(url: Url, rel: Option<&str>, media_type: Option<&str>) -> Link {
    Link {
        href: url.into(),
        target: None,
        rel: rel.map(String::from),
        media_type: media_type.map(String::from),
        href_lang: None,
        title: None,
        length: None,
    }
}

/// HTML as a feed-rs text construct.
fn html_text(html: String) -> Text {
    Text {
        content_type: mediatype::MediaTypeBuf::new(mediatype::names::TEXT, mediatype::names::HTML),
        src: None,
        content: html,
    }
}

/// Where a page's relative links point: its `<base href>`, else its own URL.
fn base_of(document: &dom_query::Document, url: &Url) -> Url {
    document
        .select("base[href]")
        .attr("href")
        .and_then(|href| url.join(href.trim()).ok())
        .filter(|base| matches!(base.scheme(), "http" | "https" | "file"))
        .unwrap_or_else(|| url.clone())
}
