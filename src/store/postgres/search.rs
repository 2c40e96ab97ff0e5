//! Whole-text search on PostgreSQL: pg_trgm's GIN index of every article's
//! title and text, which follows the articles instead of being written with
//! them (migrations/postgres/0008): reading a text's trigrams into the index
//! is the costliest part of storing it, and other pollers' writes would wait
//! for it. A poller's indexer puts the articles stored `indexed = false`
//! into the index a batch at a time on its own connection; a search reads
//! the index and the text of the articles not in it yet.

use std::sync::Arc;

use sqlx::postgres::PgPool;
use tokio::sync::Notify;

/// Articles put in the index by one statement: a few tens of milliseconds,
/// the longest a writer updating one of them waits.
const BATCH: i64 = 256;

/// The articles a search for `pattern` (`$1`, for `ILIKE`) reads, newest
/// first, as `id, title, plain_text`: the index answers for the indexed
/// ones (queries of three characters or more), the rest are read.
pub(super) const CANDIDATES: &str = "SELECT id, title, plain_text FROM (
        SELECT id, title, plain_text, published FROM articles
         WHERE indexed AND (title || ' ' || plain_text) ILIKE $1
        UNION ALL
        SELECT id, title, plain_text, published FROM articles
         WHERE NOT indexed AND (title || ' ' || plain_text) ILIKE $1
    ) found
    ORDER BY published DESC, id DESC";

/// Indexes what waits each time it is woken (after a write, and when the
/// poller tidies), until the pool closes.
pub(super) async fn index_when_woken(pool: PgPool, wake: Arc<Notify>) {
    loop {
        wake.notified().await;
        if pool.is_closed() {
            return;
        }
        if let Err(error) = index_waiting(&pool).await {
            if pool.is_closed() {
                return;
            }
            tracing::warn!("indexing articles for search: {error}");
        }
    }
}

/// Puts the articles not in the search index into it, a batch a
/// transaction; rows a writer holds are left for the next time.
pub(super) async fn index_waiting(pool: &PgPool) -> Result<(), sqlx::Error> {
    loop {
        let mut tx = pool.begin().await?;
        // Readers are not told of it: what the feeds show is unchanged.
        sqlx::query("SET LOCAL tidings.indexing = 'on'")
            .execute(&mut *tx)
            .await?;
        let indexed = sqlx::query(
            "UPDATE articles SET indexed = true
              WHERE id IN (SELECT id FROM articles WHERE NOT indexed ORDER BY id LIMIT $1
                              FOR NO KEY UPDATE SKIP LOCKED)",
        )
        .bind(BATCH)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        if indexed < BATCH as u64 {
            return Ok(());
        }
    }
}
