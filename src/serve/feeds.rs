//! The merged feeds, in Atom and JSON Feed: one per label and one of
//! everything, the feed of a search, their index, and the copy written to
//! the output folder.

use std::path::Path;
use std::sync::Arc;

use percent_encoding::utf8_percent_encode;

use super::site::{ALL, Format, Rendered, Shown, Site};
use crate::article::StoredArticle;
use crate::emit::{Head, PATH_SEGMENT, atom, jsonfeed, last_changed};
use crate::store::{ArticleFilter, StoreError};
use crate::text::xml_escape;

impl Site {
    /// The URL a feed is served at.
    pub fn feed_url(&self, label: Option<&str>, format: Format) -> String {
        format!(
            "{}/feeds/{}.{}",
            self.public_url,
            utf8_percent_encode(label.unwrap_or(ALL), PATH_SEGMENT),
            format.extension()
        )
    }

    /// The URL of the page of a label (`None`: everything).
    pub fn page_url(&self, label: Option<&str>) -> String {
        match label {
            Some(label) => crate::emit::page::label_path(&self.public_url, label),
            None => format!("{}/", self.public_url),
        }
    }

    /// The feed of one label (`None`: everything); `None` if the label has no articles.
    pub async fn feed(
        &self,
        label: Option<&str>,
        format: Format,
    ) -> Result<Option<Arc<Rendered>>, StoreError> {
        self.cached(Shown::Feed(label.map(String::from), format), || async {
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
            let url = self.feed_url(label, format);
            let head = Head::of_label(label, &url, self.page_url(label), self.zone);
            Ok(Some(render(&head, &articles, format)))
        })
        .await
    }

    /// The feed of a search (`tidings search` as a feed), built on each
    /// request: a reader subscribes to it to follow a company or a subject.
    /// Each entry's summary is the passage that matched.
    pub async fn search(
        &self,
        query: &str,
        limit: usize,
        format: Format,
    ) -> Result<Rendered, StoreError> {
        let articles: Vec<StoredArticle> = (self.search_hits(query, limit).await?)
            .into_iter()
            .map(|(_, article)| article)
            .collect();
        let url = self.search_url(query, format);
        // The page of a search is at its Atom feed's address (see `serve`).
        let page = self.search_url(query, Format::Atom);
        let head = Head::of_search(query, &url, page, self.zone);
        Ok(render(&head, &articles, format))
    }

    /// A search's hits, newest first, each with its id and, as its summary,
    /// the passage that matched: what its feeds and its page show.
    pub(super) async fn search_hits(
        &self,
        query: &str,
        limit: usize,
    ) -> Result<Vec<(i64, StoredArticle)>, StoreError> {
        let hits = self.store.search(query, limit).await?;
        Ok(hits
            .into_iter()
            .map(|hit| {
                let article = StoredArticle {
                    summary: hit.passage,
                    ..hit.article
                };
                (hit.id, article)
            })
            .collect())
    }

    /// The address of a search's feed in `format`: `/search?q=` (also its
    /// page, for browsers) or `/search.json?q=`.
    pub(super) fn search_url(&self, query: &str, format: Format) -> String {
        let path = match format {
            Format::Atom => "search",
            Format::Json => "search.json",
        };
        let query = utf8_percent_encode(query, PATH_SEGMENT);
        format!("{}/{path}?q={query}", self.public_url)
    }

    /// Writes every feed into `dir` (`all.atom`, `all.json`, `<label>.atom`,
    /// `<label>.json`, `index.html`), each atomically, for static hosting.
    /// Returns the number of files written.
    pub async fn write_to(&self, dir: &Path) -> anyhow::Result<usize> {
        tokio::fs::create_dir_all(dir).await?;
        let labels = self.labels().await?;
        let mut written = 0;
        for label in std::iter::once(None).chain(labels.iter().map(|(l, _)| Some(l.as_str()))) {
            for format in [Format::Atom, Format::Json] {
                if let Some(feed) = self.feed(label, format).await? {
                    let name =
                        format!("{}.{}", file_safe(label.unwrap_or(ALL)), format.extension());
                    write_atomically(&dir.join(name), &feed.body).await?;
                    written += 1;
                }
            }
        }
        write_atomically(&dir.join("index.html"), self.index_html(&labels).as_bytes()).await?;
        Ok(written + 1)
    }

    /// The index of the feeds, with counts.
    pub fn index_html(&self, labels: &[(String, i64)]) -> String {
        let mut html = String::from(
            "<!doctype html>\n<html lang=\"zh\"><head><meta charset=\"utf-8\"><title>tidings feeds</title></head>\n<body>\n<h1>tidings feeds</h1>\n<ul>\n",
        );
        let line = |label: Option<&str>, count: String| {
            format!(
                "<li><a href=\"{}\">{}</a>{count} · <a href=\"{}\">JSON Feed</a></li>\n",
                xml_escape(&self.feed_url(label, Format::Atom)),
                xml_escape(label.unwrap_or(ALL)),
                xml_escape(&self.feed_url(label, Format::Json)),
            )
        };
        html += &line(None, String::new());
        for (label, count) in labels {
            html += &line(Some(label), format!(" ({count})"));
        }
        html + "</ul>\n</body></html>\n"
    }
}

fn render(head: &Head<'_>, articles: &[StoredArticle], format: Format) -> Rendered {
    let body = match format {
        Format::Atom => atom::render(head, articles),
        Format::Json => jsonfeed::render(head, articles),
    };
    Rendered::new(body, format.content_type(), last_changed(articles))
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
