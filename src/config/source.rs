//! One `[[sources]]` table: what the user wrote, completed by a recipe.
//!
//! Every key of a table is optional as written, so that a recipe (a named
//! source shipped for a known site, see `recipes`) can give what the table
//! leaves out; the user's keys always win, `url` included. What neither
//! gives and a source needs (a name, a URL, a category) is an error with
//! the table's line.

use std::ops::Range;
use std::path::Path;

use chrono_tz::Tz;
use serde::Deserialize;
use url::Url;

use super::{Interval, optional_encoding, optional_timezone};
use crate::article::filter::Rule;
use crate::article::rewrite::Rewrite;
use crate::read::css::Css;
use crate::read::scrape::{JsonPaths, ListSelectors, Reading};

/// A configured source, with its recipe's keys filled in.
#[derive(Debug, Clone)]
pub struct SourceConfig {
    pub name: String,
    /// The feed (or page, or API) URL: http(s), `file:///absolute/path`, or
    /// `file:relative/path` (read from the config file's folder).
    pub url: Url,
    pub category: String,
    pub channel: Option<String>,
    pub interval: Option<Interval>,
    pub timezone: Option<Tz>,
    /// Forces the charset, for feeds that declare the wrong one.
    pub encoding: Option<&'static encoding_rs::Encoding>,
    /// Whether new articles take their content from their page (see `pages`).
    pub full_content: FullContent,
    /// Where the article is on its pages, when Readability guesses wrong.
    pub content_selector: Option<Css>,
    /// Lets this source's pages be fetched from private addresses: for a
    /// feed on an intranet whose articles link to other intranet hosts.
    pub allow_private_pages: bool,
    /// The user's edits to this source's articles, before sanitizing.
    pub rewrite: Rewrite,
    /// Whether this source's articles join stories with other outlets'
    /// reprints (`false`: each stands alone, in the feeds and the database).
    pub cluster: bool,
    /// Request headers the source's own URL is fetched with (an API that
    /// answers only `X-Requested-With: XMLHttpRequest`).
    pub headers: Vec<(String, String)>,
    /// A feed, a list page or a JSON API.
    pub reading: Reading,
    /// The recipe the source was made from.
    pub recipe: Option<String>,
    /// Rules its entries pass, besides `[poll] filter` (see
    /// `article::filter`).
    pub filter: Vec<Rule>,
    /// Where the table is in the config file, for messages.
    pub(super) span: Range<usize>,
}

/// When a source's new articles take their content from their page: feeds
/// that carry a title and a sentence leave the story on the site.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FullContent {
    /// Every new article.
    Always,
    /// New articles whose feed content is shorter than
    /// [`FullContent::SHORT_CHARS`] characters of text.
    IfShort,
    /// Never: the feed's content is the article.
    #[default]
    Never,
}

impl FullContent {
    /// Under this many characters of text, an article is a summary: a
    /// Chinese news story runs to many hundreds.
    pub const SHORT_CHARS: usize = 300;

    /// Whether a new article with this plain text should be read from its page.
    pub fn wants_page(self, text: &str) -> bool {
        match self {
            FullContent::Always => true,
            FullContent::IfShort => text.chars().nth(Self::SHORT_CHARS).is_none(),
            FullContent::Never => false,
        }
    }
}

impl SourceConfig {
    /// A feed source with every optional key at its default (OPML outlines).
    pub fn feed(name: String, url: Url, category: String, channel: Option<String>) -> Self {
        SourceConfig {
            name,
            url,
            category,
            channel,
            interval: None,
            timezone: None,
            encoding: None,
            full_content: FullContent::Never,
            content_selector: None,
            allow_private_pages: false,
            rewrite: Rewrite::default(),
            cluster: true,
            headers: Vec::new(),
            reading: Reading::Feed,
            recipe: None,
            filter: Vec::new(),
            span: 0..0,
        }
    }

    /// Changes whenever the user edits this source's table (or its recipe
    /// changes).
    pub fn fingerprint(&self) -> String {
        let mut text = format!(
            "{}\n{}\n{}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{}\n{}\n{}\n{:?}\n{}",
            self.name,
            self.url,
            self.category,
            self.channel,
            self.interval,
            self.timezone,
            self.encoding.map(|e| e.name()),
            self.full_content,
            self.content_selector.as_ref().map(Css::as_str),
            self.allow_private_pages,
            self.rewrite.fingerprint(),
            self.cluster,
            self.headers,
            self.reading.written(),
        );
        // Written only when there are rules, so that sources without any
        // keep the fingerprint they had before filters existed.
        for rule in &self.filter {
            text.push('\n');
            text.push_str(&rule.written());
        }
        blake3::hash(text.as_bytes()).to_hex()[..16].to_string()
    }
}

/// A source table as written (in the config or a recipe): every key optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct WrittenSource {
    recipe: Option<String>,
    name: Option<String>,
    url: Option<toml::Spanned<String>>,
    category: Option<String>,
    channel: Option<String>,
    interval: Option<Interval>,
    #[serde(default, deserialize_with = "optional_timezone")]
    timezone: Option<Tz>,
    #[serde(default, deserialize_with = "optional_encoding")]
    encoding: Option<&'static encoding_rs::Encoding>,
    full_content: Option<FullContent>,
    content_selector: Option<Css>,
    allow_private_pages: Option<bool>,
    rewrite: Option<Rewrite>,
    cluster: Option<bool>,
    #[serde(default, deserialize_with = "headers")]
    headers: Option<Vec<(String, String)>>,
    list: Option<ListSelectors>,
    json: Option<JsonPaths>,
    date_format: Option<String>,
    filter: Option<Vec<Rule>>,
}

impl WrittenSource {
    /// The channel it names, if any.
    pub(super) fn channel(&self) -> Option<&str> {
        self.channel.as_deref()
    }

    /// The URL it names, if any.
    pub(super) fn url(&self) -> Option<&str> {
        self.url.as_ref().map(|url| url.get_ref().as_str())
    }

    /// How it reads its body: `list`, `json` or `feed`.
    pub(super) fn kind(&self) -> &'static str {
        match (&self.list, &self.json) {
            (Some(_), _) => "list",
            (_, Some(_)) => "json",
            _ => "feed",
        }
    }

    /// This table's keys over `under`'s: each key this table sets wins. A
    /// table that says how it is read (`list` or `json`) drops both of
    /// `under`'s, so a recipe's list page can be swapped for an API.
    pub(super) fn over(self, under: WrittenSource) -> WrittenSource {
        let reads = self.list.is_some() || self.json.is_some();
        WrittenSource {
            recipe: self.recipe.or(under.recipe),
            name: self.name.or(under.name),
            url: self.url.or(under.url),
            category: self.category.or(under.category),
            channel: self.channel.or(under.channel),
            interval: self.interval.or(under.interval),
            timezone: self.timezone.or(under.timezone),
            encoding: self.encoding.or(under.encoding),
            full_content: self.full_content.or(under.full_content),
            content_selector: self.content_selector.or(under.content_selector),
            allow_private_pages: self.allow_private_pages.or(under.allow_private_pages),
            rewrite: self.rewrite.or(under.rewrite),
            cluster: self.cluster.or(under.cluster),
            headers: self.headers.or(under.headers),
            list: if reads { self.list } else { under.list },
            json: if reads { self.json } else { under.json },
            date_format: self.date_format.or(under.date_format),
            filter: self.filter.or(under.filter),
        }
    }

    /// The recipe it names, if any.
    pub(super) fn recipe(&self) -> Option<&str> {
        self.recipe.as_deref()
    }

    /// The source this table (with its recipe's keys under it) makes;
    /// `table` is where it is in the config text, `line` turns that into a
    /// line number.
    pub(super) fn resolve(
        self,
        table: Range<usize>,
        base: &Path,
        line: &dyn Fn(Range<usize>) -> usize,
    ) -> Result<SourceConfig, String> {
        let at = || format!("line {}", line(table.clone()));
        let written = self;
        let missing = |key: &str| {
            format!(
                "{}: the source needs a `{key}`{}",
                at(),
                if written.recipe.is_some() {
                    ""
                } else {
                    " (or a `recipe` that gives one)"
                }
            )
        };
        let name = written.name.clone().ok_or_else(|| missing("name"))?;
        let category = written
            .category
            .clone()
            .ok_or_else(|| missing("category"))?;
        let url_written = written.url.clone().ok_or_else(|| missing("url"))?;
        // A URL the recipe gave has no place in the config text.
        let url_span = match url_written.span() {
            span if span.end <= span.start => table.clone(),
            span => span,
        };
        let url = super::feed_url(url_written.get_ref(), base)
            .map_err(|e| format!("line {}, key sources.url: {e}", line(url_span.clone())))?;
        let reading = match (written.list, written.json) {
            (Some(_), Some(_)) => {
                return Err(format!(
                    "{}: a source reads a `list` page or a `json` API, not both",
                    at()
                ));
            }
            (Some(mut list), None) => {
                list.date_format = list.date_format.or(written.date_format);
                Reading::List(list.into())
            }
            (None, Some(mut json)) => {
                json.date_format = json.date_format.or(written.date_format);
                Reading::Json(json.into())
            }
            (None, None) if written.date_format.is_some() => {
                return Err(format!(
                    "{}: `date_format` is for sources with a `list` or `json` table",
                    at()
                ));
            }
            (None, None) => Reading::Feed,
        };
        Ok(SourceConfig {
            name,
            url,
            category,
            channel: written.channel,
            interval: written.interval,
            timezone: written.timezone,
            encoding: written.encoding,
            full_content: written.full_content.unwrap_or_default(),
            content_selector: written.content_selector,
            allow_private_pages: written.allow_private_pages.unwrap_or(false),
            rewrite: written.rewrite.unwrap_or_default(),
            cluster: written.cluster.unwrap_or(true),
            headers: written.headers.unwrap_or_default(),
            reading,
            recipe: written.recipe,
            filter: written.filter.unwrap_or_default(),
            span: url_span,
        })
    }
}

/// Request headers, checked as HTTP allows them.
fn headers<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Vec<(String, String)>>, D::Error> {
    let table = std::collections::BTreeMap::<String, String>::deserialize(d)?;
    for (name, value) in &table {
        reqwest::header::HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| serde::de::Error::custom(format!("`{name}` is not a header name")))?;
        reqwest::header::HeaderValue::from_str(value).map_err(|_| {
            serde::de::Error::custom(format!("the value of header `{name}` is not allowed"))
        })?;
    }
    Ok(Some(table.into_iter().collect()))
}
