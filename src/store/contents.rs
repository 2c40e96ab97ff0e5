//! An article's content as `tidings reprocess` reads and rewrites it, the
//! same SQL on either engine.

use chrono::{DateTime, Utc};
use sqlx::AssertSqlSafe;

use super::engine::{Store, reading, writing};
use super::types::StoreError;
use crate::read::dates::from_db;

/// An article's content as stored, with what reprocessing it needs.
#[derive(Debug, Clone)]
pub struct StoredContent {
    pub id: i64,
    pub title: String,
    pub link: Option<String>,
    pub author: String,
    pub published: Option<DateTime<Utc>>,
    pub image: Option<String>,
    pub summary: String,
    pub content_html: String,
    pub plain_text: String,
    /// What the content was made from, when it was kept (see migration 0007).
    pub source_html: Option<String>,
    pub content_hash: String,
    /// Read from its page: its content is not the feed's version.
    pub from_page: bool,
}

/// An article's content made anew.
#[derive(Debug, Clone)]
pub struct NewContent {
    pub id: i64,
    pub content_html: String,
    pub plain_text: String,
    pub summary: String,
    /// The hash of the version stored, and what it replaces: the sources
    /// that delivered the old version delivered the new one, as far as the
    /// next poll can tell, so it does not count as an update.
    pub content_hash: String,
    pub old_hash: String,
}

impl Store {
    /// Up to `limit` articles whose first source (the `atom:source` of the
    /// merged feeds) is `source_id`, with ids above `after`, in id order.
    pub async fn contents_of_source(
        &self,
        source_id: i64,
        after: i64,
        limit: usize,
    ) -> Result<Vec<StoredContent>, StoreError> {
        type Row = (
            i64,
            String,
            Option<String>,
            String,
            Option<String>,
            Option<String>,
            String,
            String,
            String,
            Option<String>,
            String,
            bool,
        );
        let rows: Vec<Row> = reading!(self, |pool, dialect| {
            let sql = format!(
                "SELECT a.id, a.title, a.link, a.author, {}, a.image, a.summary,
                        a.content_html, a.plain_text, a.source_html, a.content_hash,
                        EXISTS (SELECT 1 FROM article_pages p
                                 WHERE p.article_id = a.id AND p.state = 'fetched')
                   FROM article_sources x JOIN articles a ON a.id = x.article_id
                  WHERE x.source_id = $1 AND x.article_id > $2
                    AND NOT EXISTS (SELECT 1 FROM article_sources y
                                     WHERE y.article_id = x.article_id
                                       AND (y.first_seen < x.first_seen
                                            OR (y.first_seen = x.first_seen AND y.source_id < x.source_id)))
                  ORDER BY x.article_id LIMIT $3",
                dialect.time_text("a.published")
            );
            sqlx::query_as(AssertSqlSafe(sql))
                .bind(source_id)
                .bind(after)
                .bind(limit as i64)
                .fetch_all(pool)
                .await?
        });
        Ok(rows
            .into_iter()
            .map(|row| StoredContent {
                id: row.0,
                title: row.1,
                link: row.2,
                author: row.3,
                published: row.4.as_deref().and_then(from_db),
                image: row.5,
                summary: row.6,
                content_html: row.7,
                plain_text: row.8,
                source_html: row.9,
                content_hash: row.10,
                from_page: row.11,
            })
            .collect())
    }

    /// Writes reprocessed content in one transaction. `updated` stays: the
    /// news did not change, only how it is shown, and readers would show the
    /// articles as unread again.
    pub async fn rewrite_contents(&self, contents: &[NewContent]) -> Result<(), StoreError> {
        writing!(self, |tx, _dialect| {
            for content in contents {
                sqlx::query(
                    "UPDATE articles SET content_html = $2, plain_text = $3, summary = $4, content_hash = $5
                      WHERE id = $1",
                )
                .bind(content.id)
                .bind(&content.content_html)
                .bind(&content.plain_text)
                .bind(&content.summary)
                .bind(&content.content_hash)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "UPDATE article_sources SET content_hash = $2 WHERE article_id = $1 AND content_hash = $3",
                )
                .bind(content.id)
                .bind(&content.content_hash)
                .bind(&content.old_hash)
                .execute(&mut *tx)
                .await?;
            }
        });
        Ok(())
    }
}
