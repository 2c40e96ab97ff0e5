//! The database: where polls are written and feeds, searches and stories
//! are read. SQLite (`sqlite`) is the default, one file beside the config,
//! written by one process; PostgreSQL (`postgres`) is shared by several
//! pollers and readers on other machines. [`Store`] is one interface over
//! both: the pipeline never asks which it has. What happens to each entry
//! of a poll is decided the same way for both (`plan`).

mod commands;
mod plan;
mod postgres;
mod sqlite;
mod types;

use std::time::Duration;

use chrono::{DateTime, Utc};

pub use commands::{
    NewContent, Regrouping, StoredContent, StoryError, StoryMember, Ungrouped, Why,
};
pub use sqlite::DuePage;
pub use types::{
    ArticleFilter, Claim, Counts, Outcome, PollRecord, SearchHit, SourceState, SourceSummary,
    StoreError, Wanted,
};

use crate::article::{NormalizedFeed, StoredArticle};
use crate::config::{Database, SourceConfig, Storage};
use crate::pages::PageOutcome;
use postgres::PgStore;
use sqlite::SqliteStore;

/// The database of one tidings instance, whichever engine it is.
#[derive(Clone)]
pub enum Store {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

/// Calls the same method on whichever store this is.
macro_rules! either {
    ($store:expr, $call:ident($($arg:expr),*)) => {
        match $store {
            Store::Sqlite(store) => store.$call($($arg),*).await,
            Store::Postgres(store) => store.$call($($arg),*).await,
        }
    };
}

impl Store {
    /// Opens (creating if needed) and migrates the database `storage` names.
    pub async fn open(storage: &Storage) -> Result<Store, StoreError> {
        Ok(match &storage.database {
            Database::Sqlite(path) => Store::Sqlite(SqliteStore::open(path, storage).await?),
            Database::Postgres(url) => Store::Postgres(
                PgStore::open(url, &storage.database.to_string(), storage.lease).await?,
            ),
        })
    }

    /// Waits for writes in flight, then closes every connection.
    pub async fn close(&self) {
        either!(self, close())
    }

    /// Now, by the clock every poller of the database shares: the
    /// database's on PostgreSQL, this machine's on SQLite.
    pub async fn clock(&self) -> Result<DateTime<Utc>, StoreError> {
        match self {
            Store::Sqlite(_) => Ok(Utc::now()),
            Store::Postgres(store) => store.clock().await,
        }
    }

    /// Makes the `sources` table match the config; the state of each
    /// configured source, in order.
    pub async fn sync_sources(
        &self,
        sources: &[SourceConfig],
    ) -> Result<Vec<SourceState>, StoreError> {
        either!(self, sync_sources(sources))
    }

    /// Claims a source for this poller before it is polled. SQLite has one
    /// poller, so its claim is always granted, from the state this process
    /// keeps; PostgreSQL's is a lease in the database (see `PgStore::claim`).
    pub async fn claim(&self, state: &SourceState, wanted: Wanted) -> Result<Claim, StoreError> {
        match self {
            Store::Sqlite(_) => Ok(Claim::Granted(state.clone())),
            Store::Postgres(store) => store.claim(state.id, wanted).await,
        }
    }

    /// Writes one poll: its articles (if the feed was fetched and parsed), the
    /// source's new state and a fetch-log row, all or nothing.
    pub async fn record_poll(
        &self,
        record: PollRecord,
        feed: Option<NormalizedFeed>,
    ) -> Result<Counts, StoreError> {
        match self {
            Store::Sqlite(store) => store.record_poll(record, feed).await,
            Store::Postgres(store) => store.record_poll(&record, feed.as_ref()).await,
        }
    }

    /// Every source, configured ones first, for `tidings sources`.
    pub async fn list_sources(&self) -> Result<Vec<SourceSummary>, StoreError> {
        either!(self, list_sources())
    }

    /// Stored articles with their categories and origin, newest first.
    pub async fn articles(
        &self,
        filter: &ArticleFilter<'_>,
    ) -> Result<Vec<StoredArticle>, StoreError> {
        either!(self, articles(filter))
    }

    /// The database's size in bytes; a query, so it also tells whether the
    /// database answers (`/health`).
    pub async fn database_bytes(&self) -> Result<i64, StoreError> {
        either!(self, database_bytes())
    }

    /// Every category label with its article count, most used first.
    pub async fn labels(&self) -> Result<Vec<(String, i64)>, StoreError> {
        either!(self, labels())
    }

    /// The articles whose title or text contains `query`, ignoring case,
    /// newest first, each with the passage that matched.
    pub async fn search(&self, query: &str, limit: usize) -> Result<Vec<SearchHit>, StoreError> {
        either!(self, search(query, limit))
    }

    /// The pages of `source_id` due at `now`, oldest due first, at most `limit`.
    pub async fn due_pages(
        &self,
        source_id: i64,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<DuePage>, StoreError> {
        either!(self, due_pages(source_id, now, limit))
    }

    /// Writes what each page fetch gave its article, in one transaction.
    pub async fn record_pages(
        &self,
        results: &[(i64, PageOutcome)],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        either!(self, record_pages(results, now))
    }

    /// Resolves at the next change to what the feeds show made by another
    /// process (PostgreSQL tells: `NOTIFY`), or after `fallback`, which is
    /// all SQLite can offer.
    pub async fn changed(&self, fallback: Duration) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(_) => {
                tokio::time::sleep(fallback).await;
                Ok(())
            }
            Store::Postgres(store) => store.changed(fallback).await,
        }
    }
}
