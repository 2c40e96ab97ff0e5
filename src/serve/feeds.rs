//! The merged feeds: which exist, and their bytes, built from the store and
//! kept until the next poll changes something.
//!
//! The HTTP server and the output folder both read feeds from here, so a feed
//! served and the same feed written to disk are the same bytes.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::article::StoredArticle;
use crate::emit::atom;
use crate::store::{ArticleFilter, Store, StoreError};
use crate::text::xml_escape;

/// The name of the feed of everything; no category label can take it.
pub const ALL: &str = "all";

/// Characters a label keeps in a URL path segment.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// One rendered feed and its validators.
#[derive(Debug)]
pub struct RenderedFeed {
    pub body: Bytes,
    /// A strong validator: the hash of the bytes.
    pub etag: String,
    /// The newest entry time, for Last-Modified.
    pub last_modified: DateTime<Utc>,
}

impl RenderedFeed {
    fn new(body: String, articles: &[StoredArticle]) -> RenderedFeed {
        RenderedFeed {
            etag: format!("\"{}\"", &blake3::hash(body.as_bytes()).to_hex()[..32]),
            last_modified: atom::last_changed(articles),
            body: Bytes::from(body),
        }
    }
}

/// A cached feed and the store generation it shows.
type Built = (u64, Arc<RenderedFeed>);

/// Builds feeds on demand and caches each until the store changes.
pub struct Feeds {
    store: Store,
    entries: usize,
    public_url: String,
    generation: AtomicU64,
    /// Each label's feed with the generation it was built at.
    cache: Mutex<HashMap<Option<String>, Built>>,
}

impl Feeds {
    pub fn new(store: Store, entries: usize, public_url: String) -> Feeds {
        Feeds {
            store,
            entries,
            public_url,
            generation: AtomicU64::new(0),
            cache: Mutex::default(),
        }
    }

    /// Called after a poll stored something: every feed is rebuilt on next use.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// The URL a feed is served at.
    pub fn url_of(&self, label: Option<&str>) -> String {
        let name = label.unwrap_or(ALL);
        format!(
            "{}/feeds/{}.atom",
            self.public_url,
            utf8_percent_encode(name, PATH_SEGMENT)
        )
    }

    /// The feed of one label (`None`: everything); `None` if the label has no articles.
    pub async fn feed(&self, label: Option<&str>) -> Result<Option<Arc<RenderedFeed>>, StoreError> {
        let generation = self.generation.load(Ordering::SeqCst);
        let key = label.map(String::from);
        let cached = self
            .cache
            .lock()
            .expect("feed cache lock")
            .get(&key)
            .cloned();
        if let Some((_, feed)) = cached.filter(|(built, _)| *built == generation) {
            return Ok(Some(feed));
        }
        let filter = ArticleFilter {
            label,
            limit: Some(self.entries),
            stories: true,
            ..ArticleFilter::default()
        };
        let articles = self.store.articles(&filter).await?;
        if articles.is_empty() && label.is_some() {
            return Ok(None);
        }
        let url = self.url_of(label);
        let feed = Arc::new(RenderedFeed::new(
            atom::render(&atom::Head::of_label(label, &url), &articles),
            &articles,
        ));
        self.cache
            .lock()
            .expect("feed cache lock")
            .insert(key, (generation, feed.clone()));
        Ok(Some(feed))
    }

    /// The feed of a search (`tidings search` as Atom), built on each request:
    /// a reader subscribes to it to follow a company or a subject. Each
    /// entry's summary is the passage that matched.
    pub async fn search(&self, query: &str, limit: usize) -> Result<RenderedFeed, StoreError> {
        let hits = self.store.search(query, limit).await?;
        let articles: Vec<StoredArticle> = hits
            .into_iter()
            .map(|hit| StoredArticle {
                summary: hit.passage,
                ..hit.article
            })
            .collect();
        let url = format!(
            "{}/search?q={}",
            self.public_url,
            utf8_percent_encode(query, PATH_SEGMENT)
        );
        Ok(RenderedFeed::new(
            atom::render(&atom::Head::of_search(query, &url), &articles),
            &articles,
        ))
    }

    /// The database's size; an error when it does not answer.
    pub async fn database_bytes(&self) -> Result<i64, StoreError> {
        self.store.database_bytes().await
    }

    /// Every label with its article count, most used first.
    pub async fn labels(&self) -> Result<Vec<(String, i64)>, StoreError> {
        self.store.labels().await
    }

    /// Writes every feed into `dir` (`all.atom`, `<label>.atom`, `index.html`),
    /// each atomically, for static hosting. Returns the number of files written.
    pub async fn write_to(&self, dir: &Path) -> anyhow::Result<usize> {
        tokio::fs::create_dir_all(dir).await?;
        let labels = self.labels().await?;
        let mut written = 0;
        for label in std::iter::once(None).chain(labels.iter().map(|(l, _)| Some(l.as_str()))) {
            if let Some(feed) = self.feed(label).await? {
                let name = format!("{}.atom", file_safe(label.unwrap_or(ALL)));
                write_atomically(&dir.join(name), &feed.body).await?;
                written += 1;
            }
        }
        write_atomically(&dir.join("index.html"), self.index_html(&labels).as_bytes()).await?;
        Ok(written + 1)
    }

    /// The human index of the feeds, with counts.
    pub fn index_html(&self, labels: &[(String, i64)]) -> String {
        let mut html = String::from(
            "<!doctype html>\n<html lang=\"zh\"><head><meta charset=\"utf-8\"><title>tidings feeds</title></head>\n<body>\n<h1>tidings feeds</h1>\n<ul>\n",
        );
        html += &format!(
            "<li><a href=\"{}\">{ALL}</a></li>\n",
            xml_escape(&self.url_of(None))
        );
        for (label, count) in labels {
            html += &format!(
                "<li><a href=\"{}\">{}</a> ({count})</li>\n",
                xml_escape(&self.url_of(Some(label))),
                xml_escape(label)
            );
        }
        html + "</ul>\n</body></html>\n"
    }
}

/// A label as a file name: no path separators, no leading dot, no control characters.
fn file_safe(label: &str) -> String {
    let mut name: String = label
        .chars()
        .map(|c| {
            if c == '/' || c == '\\' || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    if name.starts_with('.') {
        name.replace_range(0..1, "_");
    }
    name
}

/// Write then rename, so a reader never sees half a file.
pub async fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    tokio::fs::write(&temporary, bytes).await?;
    tokio::fs::rename(&temporary, path).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_make_safe_file_names() {
        assert_eq!(file_safe("要闻"), "要闻");
        assert_eq!(file_safe("../etc/passwd"), "_._etc_passwd");
        assert_eq!(file_safe(".hidden"), "_hidden");
    }
}
