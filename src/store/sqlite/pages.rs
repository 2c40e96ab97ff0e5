//! The queue of article pages (`article_pages`): which are due, and what
//! their fetches gave the articles.
//!
//! The writer thread queues the pages of new articles as it stores them; the
//! results are few (a bounded number a poll) and come after the poll's write,
//! so they are written here, through sqlx on the writer's connection.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{SqliteStore, StoreError};
use crate::dates::to_db;
use crate::pages::PageOutcome;

/// A page waiting to be fetched.
#[derive(Debug, Clone)]
pub struct DuePage {
    pub article_id: i64,
    pub url: String,
    /// Attempts so far.
    pub attempts: u32,
    /// Characters of the text the article has from its feed: the page must say more.
    pub feed_chars: usize,
}

impl SqliteStore {
    /// The pages of `source_id` due at `now`, oldest due first, at most `limit`.
    pub async fn due_pages(
        &self,
        source_id: i64,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<DuePage>, StoreError> {
        let rows = sqlx::query(
            "SELECT p.article_id, p.url, p.attempts, length(a.plain_text)
               FROM article_pages p JOIN articles a ON a.id = p.article_id
              WHERE p.source_id = ?1 AND p.state = 'pending' AND p.next_attempt <= ?2
              ORDER BY p.next_attempt, p.article_id DESC
              LIMIT ?3",
        )
        .bind(source_id)
        .bind(to_db(now))
        .bind(limit as i64)
        .fetch_all(&self.readers)
        .await?;
        Ok(rows
            .iter()
            .map(|row| DuePage {
                article_id: row.get(0),
                url: row.get(1),
                attempts: row.get::<i64, _>(2) as u32,
                feed_chars: row.get::<i64, _>(3) as usize,
            })
            .collect())
    }

    /// Writes what each page fetch gave, in one transaction: the page's
    /// content into its article, or when to try again, or that the feed's
    /// content stays. The article's `content_hash` stays the feed's version,
    /// so the next poll of an unchanged feed leaves the page's content alone.
    pub async fn record_pages(
        &self,
        results: &[(i64, PageOutcome)],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if results.is_empty() {
            return Ok(());
        }
        let now = to_db(now);
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        for (article_id, outcome) in results {
            let (state, next_attempt, error) = match outcome {
                PageOutcome::Read {
                    html,
                    text,
                    source_html,
                    image,
                } => {
                    sqlx::query(
                        "UPDATE articles SET content_html = ?2, plain_text = ?3, source_html = ?4,
                                image = coalesce(image, ?5)
                          WHERE id = ?1",
                    )
                    .bind(article_id)
                    .bind(html)
                    .bind(text)
                    .bind(source_html)
                    .bind(image)
                    .execute(&mut *tx)
                    .await?;
                    ("fetched", None, None)
                }
                PageOutcome::Retry { error, at } => ("pending", Some(to_db(*at)), Some(error)),
                PageOutcome::KeepFeed { error } => ("kept_feed", None, Some(error)),
            };
            sqlx::query(
                "UPDATE article_pages SET state = ?2, next_attempt = ?3, last_error = ?4,
                        attempts = attempts + 1, attempted_at = ?5
                  WHERE article_id = ?1",
            )
            .bind(article_id)
            .bind(state)
            .bind(next_attempt)
            .bind(error)
            .bind(&now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
