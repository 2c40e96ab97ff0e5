//! The article model every stage agrees on.
//!
//! It is the Hexo post of the reference article (`tests/fixtures/stcn-article.md`)
//! plus what an aggregator needs to keep: the identity key, the original link
//! and guid, a plain-text summary and a fingerprint of the content.

pub mod dedup;
pub mod extract;
mod fields;
pub mod filter;
pub mod normalize;
pub mod pages;
pub mod recall;
pub mod rewrite;
pub mod sanitize;

use std::borrow::Cow;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Serialize, Serializer};

use crate::cluster::Fingerprint;
use sanitize::Cleaned;

/// One normalized entry, ready to be deduplicated and stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Article {
    /// The identity key (see `dedup`): the same story has the same key in every feed.
    pub key: String,
    /// Keys this entry may already be stored under, from before its fragment
    /// told it apart from its feed's other entries (or stopped having to):
    /// the store takes one where this source stored the entry with the same
    /// guid, so that no entry is stored twice (see `dedup::settle`).
    #[serde(skip)]
    pub earlier_keys: Vec<String>,
    /// Entities decoded, tags dropped, whitespace collapsed.
    pub title: String,
    /// The canonical link, when the entry has a usable one.
    pub link: Option<String>,
    /// The entry's own id (RSS guid, Atom id), as the feed wrote it.
    pub guid: Option<String>,
    /// The entry's author, else the source's name.
    pub author: String,
    /// Published time, else updated time; `None` when the feed gives neither,
    /// in which case the store uses the first time it saw the entry.
    #[serde(serialize_with = "optional_date")]
    pub published: Option<DateTime<Utc>>,
    #[serde(serialize_with = "optional_date")]
    pub updated: Option<DateTime<Utc>>,
    /// Source category, source name, channel, then the entry's own; no repeats.
    pub categories: Vec<String>,
    /// A short plain-text summary, for feeds and lists.
    pub summary: Summary,
    /// The content as readers get it: sanitized HTML with absolute URLs and
    /// its plain text (what search indexes, with the title, so a word of the
    /// last paragraph is found; `tidings parse` shows only the HTML). Shared
    /// with the other feeds' copies of the story read while the article waits
    /// for the writer (see `sanitize::cleaned`): at 5,000 feeds the articles
    /// waiting held each copy again.
    #[serde(rename = "content_html", serialize_with = "html_of")]
    pub content: Arc<Cleaned>,
    /// The content before rewrite rules and sanitizing, kept for sources
    /// with rules, so that `tidings reprocess` can apply changed ones.
    #[serde(skip)]
    pub source_html: Option<String>,
    /// Absolute URL of the entry's image.
    pub image: Option<String>,
    /// The signature of its text that finds reprints (see `cluster`); `None`
    /// when the text is too short to tell one story from another.
    #[serde(skip)]
    pub fingerprint: Option<Fingerprint>,
    /// Fingerprint of what a reader sees; a changed entry has a new one.
    #[serde(skip)]
    pub content_hash: String,
    /// The end of the body cut this entry off before its link or id arrived:
    /// `tidings parse` shows it, the store waits for the whole entry (stored
    /// without its identity, it would come back as a second story).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub incomplete: bool,
    /// The digest of the entry it was read from, for the store to remember
    /// with the article it becomes (see `recall`); `None` when the next
    /// reading must read it whole again.
    #[serde(skip)]
    pub digest: Option<u64>,
}

/// An article's plain-text summary: the feed's own, or the opening of the
/// article's text, cut when it is written. The articles waiting for the
/// writer held every opening again beside the text it was cut from (4 MB at
/// the peak of a 5,000-feed cold poll, docs/performance.md).
#[derive(Debug, Clone)]
pub enum Summary {
    /// The feed's own summary, as plain text.
    Own(String),
    /// The opening of this content's plain text.
    Lead(Arc<Cleaned>),
}

impl Summary {
    /// The summary as readers get it.
    pub fn text(&self) -> Cow<'_, str> {
        match self {
            Summary::Own(text) => Cow::Borrowed(text),
            Summary::Lead(content) => normalize::summary_of(&content.text),
        }
    }
}

/// The same text, however it is kept.
impl PartialEq for Summary {
    fn eq(&self, other: &Summary) -> bool {
        self.text() == other.text()
    }
}

impl Serialize for Summary {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text())
    }
}

/// What a feed says about itself.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FeedInfo {
    pub title: Option<String>,
    pub link: Option<String>,
    /// RSS `<ttl>`: the feed asks not to be polled more often than this.
    #[serde(skip)]
    pub ttl_minutes: Option<u32>,
}

/// A parsed and normalized feed: the output of `parse` and input of `store`.
#[derive(Debug, Clone, Serialize)]
pub struct NormalizedFeed {
    pub feed: FeedInfo,
    pub articles: Vec<Article>,
    /// What reading the feed took (repairs, a relabelled charset, skipped
    /// entries): recorded on the source so that nothing is forgiven silently.
    pub warnings: Vec<String>,
    /// For a list page or an API: how many items each field matched, which
    /// `tidings parse` shows to whoever writes the selectors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matches: Option<crate::read::scrape::Matches>,
    /// Entries the user's filters kept out (see `filter`), for the poll's
    /// summary.
    #[serde(skip)]
    pub filtered: usize,
    /// Entries delivered again as the source's last reading had them: not
    /// read, the store counts them as seen again (see `recall`).
    #[serde(skip)]
    pub recalled: Vec<recall::Recalled>,
}

fn html_of<S: Serializer>(content: &Arc<Cleaned>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&content.html)
}

fn optional_date<S: Serializer>(date: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match date {
        Some(date) => s.serialize_str(&crate::read::dates::to_db(*date)),
        None => s.serialize_none(),
    }
}

/// An article as stored, with what the outputs (Atom, Hexo) show of it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredArticle {
    pub key: String,
    pub title: String,
    pub link: Option<String>,
    pub author: String,
    pub published: DateTime<Utc>,
    pub updated: Option<DateTime<Utc>>,
    pub summary: String,
    pub content_html: String,
    pub image: Option<String>,
    /// In the order of the reference post.
    pub categories: Vec<String>,
    /// The feed that first carried it.
    pub origin: Option<Origin>,
    /// Other outlets' copies of the same story, earliest first (read only
    /// for the merged feeds, which show one entry per story).
    pub reprints: Vec<Reprint>,
}

/// Another outlet's copy of a story.
#[derive(Debug, Clone, PartialEq)]
pub struct Reprint {
    /// The name of the source that carried it.
    pub outlet: String,
    pub link: Option<String>,
    pub published: DateTime<Utc>,
}

/// The feed an article came from, for Atom's `<source>`.
#[derive(Debug, Clone, PartialEq)]
pub struct Origin {
    pub name: String,
    pub url: String,
    pub channel: Option<String>,
    pub feed_title: Option<String>,
    pub feed_link: Option<String>,
}
