//! What `tidings refilter` reads and deletes, the same SQL on either engine:
//! stored articles as the filters see them, and the deletion of those they
//! block.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::AssertSqlSafe;

use super::engine::{Store, reading, writing};
use super::types::StoreError;
use crate::read::dates::from_db;

/// A stored article as the filters see it, with the sources that carry it.
#[derive(Debug, Clone)]
pub struct StoredEntry {
    pub id: i64,
    pub title: String,
    /// The whole content as plain text.
    pub content: String,
    pub link: Option<String>,
    pub author: String,
    pub categories: Vec<String>,
    pub published: Option<DateTime<Utc>>,
    /// The URLs of the sources that carry it.
    pub sources: Vec<String>,
}

impl<'a> From<&'a StoredEntry> for crate::article::filter::Entry<'a> {
    fn from(stored: &'a StoredEntry) -> Self {
        crate::article::filter::Entry {
            title: &stored.title,
            content: &stored.content,
            link: stored.link.as_deref(),
            author: &stored.author,
            categories: &stored.categories,
            published: stored.published,
        }
    }
}

impl Store {
    /// At most `limit` stored articles after article `after`, by id; with
    /// `source` (a source's name), only those it carries.
    pub async fn entries_after(
        &self,
        after: i64,
        limit: usize,
        source: Option<&str>,
    ) -> Result<Vec<StoredEntry>, StoreError> {
        type Row = (i64, String, String, Option<String>, String, String);
        type Pairs = Vec<(i64, String)>;
        let (rows, categories, sources): (Vec<Row>, Pairs, Pairs) =
            reading!(self, |pool, dialect| {
                let carried = match source {
                    Some(_) => {
                        "AND a.id IN (SELECT s.article_id FROM article_sources s
                                 JOIN sources src ON src.id = s.source_id WHERE src.name = $3)"
                    }
                    None => "",
                };
                let sql = format!(
                    "SELECT a.id, a.title, a.plain_text, a.link, a.author, {}
                       FROM articles a WHERE a.id > $1 {carried} ORDER BY a.id LIMIT $2",
                    dialect.time_text("a.published")
                );
                let query = sqlx::query_as(AssertSqlSafe(sql))
                    .bind(after)
                    .bind(limit as i64);
                let rows: Vec<Row> = match source {
                    Some(name) => query.bind(name).fetch_all(pool).await?,
                    None => query.fetch_all(pool).await?,
                };
                let ids = serde_json::to_string(&rows.iter().map(|r| r.0).collect::<Vec<_>>())
                    .expect("ids serialize");
                let categories = format!(
                    "SELECT article_id, category FROM article_categories
                      WHERE article_id IN ({}) ORDER BY article_id, position",
                    dialect.id_list(1)
                );
                let sources = format!(
                    "SELECT s.article_id, src.url FROM article_sources s
                       JOIN sources src ON src.id = s.source_id WHERE s.article_id IN ({})",
                    dialect.id_list(1)
                );
                (
                    rows,
                    sqlx::query_as(AssertSqlSafe(categories))
                        .bind(&ids)
                        .fetch_all(pool)
                        .await?,
                    sqlx::query_as(AssertSqlSafe(sources))
                        .bind(&ids)
                        .fetch_all(pool)
                        .await?,
                )
            });
        let mut by_id: HashMap<i64, (Vec<String>, Vec<String>)> = HashMap::new();
        for (id, category) in categories {
            by_id.entry(id).or_default().0.push(category);
        }
        for (id, url) in sources {
            by_id.entry(id).or_default().1.push(url);
        }
        Ok(rows
            .into_iter()
            .map(|(id, title, content, link, author, published)| {
                let (categories, sources) = by_id.remove(&id).unwrap_or_default();
                StoredEntry {
                    id,
                    title,
                    content,
                    link,
                    author,
                    categories,
                    published: from_db(&published),
                    sources,
                }
            })
            .collect())
    }

    /// Deletes the articles `ids`, with their labels, sources, pages, search
    /// entries and places in stories (a story they led is led by its next
    /// article).
    pub async fn delete_articles(&self, ids: &[i64]) -> Result<u64, StoreError> {
        let ids = serde_json::to_string(ids).expect("ids serialize");
        Ok(writing!(self, |tx, dialect| {
            // SQLite's writer leaves foreign keys off: what the triggers do
            // not remove goes here.
            let pages = format!(
                "DELETE FROM article_pages WHERE article_id IN ({})",
                dialect.id_list(1)
            );
            sqlx::query(AssertSqlSafe(pages))
                .bind(&ids)
                .execute(&mut *tx)
                .await?;
            let articles = format!("DELETE FROM articles WHERE id IN ({})", dialect.id_list(1));
            sqlx::query(AssertSqlSafe(articles))
                .bind(&ids)
                .execute(&mut *tx)
                .await?
                .rows_affected()
        }))
    }
}
