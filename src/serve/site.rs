//! What the daemon serves, built from the store and kept until the next poll
//! changes something: the merged feeds (`feeds`) and the news pages
//! (`pages`).
//!
//! The HTTP server and the output folder both read from here, so a feed
//! served and the same feed written to disk are the same bytes.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::config::Config;
use crate::store::{Store, StoreError};

/// The name of the feed of everything; no category label can take it.
pub const ALL: &str = "all";

/// Bytes of rendered feeds and pages kept at most: the feeds of every label
/// and the pages people read, not every page anyone ever asked for.
const CACHE_BYTES: u64 = 64 * 1024 * 1024;

/// The formats a merged feed is served in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Atom,
    Json,
}

impl Format {
    /// The file extension, which names the format in a feed's URL.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Atom => "atom",
            Format::Json => "json",
        }
    }

    /// The media type a reader recognizes the format by.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Atom => "application/atom+xml; charset=utf-8",
            Format::Json => "application/feed+json; charset=utf-8",
        }
    }
}

/// The content type of the news pages.
pub const HTML: &str = "text/html; charset=utf-8";

/// One rendered feed or page and its validators.
#[derive(Debug)]
pub struct Rendered {
    pub body: Bytes,
    /// Atom, JSON Feed, HTML or CSS: what the bytes are, for Content-Type
    /// (an HTML page is also sent with its Content-Security-Policy).
    pub content_type: &'static str,
    /// A strong validator: the hash of the bytes.
    pub etag: String,
    /// When what it shows last changed, for Last-Modified.
    pub last_modified: DateTime<Utc>,
}

impl Rendered {
    /// `body` with its validators: the ETag is the hash of the bytes, so
    /// the same bytes built again are answered 304.
    pub fn new(body: String, content_type: &'static str, last_modified: DateTime<Utc>) -> Self {
        Rendered {
            etag: format!("\"{}\"", &blake3::hash(body.as_bytes()).to_hex()[..32]),
            last_modified,
            content_type,
            body: Bytes::from(body),
        }
    }
}

/// What a cached response shows.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum Shown {
    /// The merged feed of a label (`None`: everything).
    Feed(Option<String>, Format),
    /// A page of stories of a label (`None`: everything), after an article.
    Page(Option<String>, Option<i64>),
    /// The page of the story of an article.
    Story(i64),
}

/// A cached response (`None`: nothing to show) and the generation it shows.
type Built = (u64, Option<Arc<Rendered>>);

/// Weighs a cached response by its bytes.
#[derive(Clone)]
struct ByBytes;

impl quick_cache::Weighter<Shown, Built> for ByBytes {
    fn weight(&self, _: &Shown, (_, rendered): &Built) -> u64 {
        rendered.as_ref().map_or(64, |r| r.body.len() as u64 + 256)
    }
}

/// Builds feeds and pages on demand and caches each until the store changes.
pub struct Site {
    pub(super) store: Store,
    /// Entries per merged feed.
    pub(super) entries: usize,
    /// Where the site is reachable, without a trailing slash.
    pub(super) public_url: String,
    /// The path part of `public_url` ("" at the root of its host), which
    /// the pages' own links start with.
    pub(super) root: String,
    /// The zone times are shown in.
    pub(super) zone: Tz,
    generation: AtomicU64,
    cache: quick_cache::sync::Cache<Shown, Built, ByBytes>,
}

impl Site {
    /// The site of `store` as `config` says: entries per feed, the public
    /// address (and the path the pages' links start with), the time zone.
    pub fn new(store: Store, config: &Config) -> Site {
        let public_url = config.server.public_url();
        let root = url::Url::parse(&public_url)
            .map(|url| url.path().trim_end_matches('/').to_string())
            .unwrap_or_default();
        Site {
            store,
            entries: config.output.entries,
            public_url,
            root,
            zone: config.poll.timezone,
            generation: AtomicU64::new(0),
            cache: quick_cache::sync::Cache::with_weighter(1024, CACHE_BYTES, ByBytes),
        }
    }

    /// Called after a poll stored something: every feed and page is rebuilt
    /// on next use.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// What `shown` is at this generation: from the cache, else from `build`.
    pub(super) async fn cached<F, Fut>(
        &self,
        shown: Shown,
        build: F,
    ) -> Result<Option<Arc<Rendered>>, StoreError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Option<Rendered>, StoreError>>,
    {
        let generation = self.generation.load(Ordering::SeqCst);
        if let Some((built, rendered)) = self.cache.get(&shown)
            && built == generation
        {
            return Ok(rendered);
        }
        let rendered = build().await?.map(Arc::new);
        self.cache.insert(shown, (generation, rendered.clone()));
        Ok(rendered)
    }

    /// The database's size; an error when it does not answer.
    pub async fn database_bytes(&self) -> Result<i64, StoreError> {
        self.store.database_bytes().await
    }

    /// Every label with its article count, most used first.
    pub async fn labels(&self) -> Result<Vec<(String, i64)>, StoreError> {
        self.store.labels().await
    }
}
