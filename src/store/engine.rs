//! The `Store`: one database of either engine, and the macros that run a
//! piece of SQL on whichever it is (with the engine's pool or transaction
//! and its [`Dialect`](super::sql::Dialect)). Calls that differ between
//! engines in more than SQL (claims, host turns, notices) are dispatched here.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::postgres::PgStore;
use super::sqlite::SqliteStore;
use super::types::{Claim, Counts, HostLimit, PollRecord, SourceState, StoreError, Turn, Wanted};
use crate::article::NormalizedFeed;
use crate::config::{Database, Storage};

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

    /// Claims a source for this poller before it is polled. SQLite has one
    /// poller, so its claim is always granted, from the state this process
    /// keeps; PostgreSQL's is a lease in the database (see `PgStore::claim`),
    /// which also takes a turn at the source's host. `None` while other
    /// pollers keep the host at its `per_host` limit.
    pub async fn claim(
        &self,
        state: &SourceState,
        wanted: Wanted,
        limit: HostLimit,
    ) -> Result<Option<Claim>, StoreError> {
        match self {
            Store::Sqlite(_) => Ok(Some(Claim::Granted(state.clone()))),
            Store::Postgres(store) => store.claim(state.id, wanted, limit).await,
        }
    }

    /// Takes a turn at fetching from `host` for something other than a
    /// source's feed (an article page). Always granted on SQLite (this
    /// process's limits are all there is); on PostgreSQL one of the host's
    /// `per_host` turns over every poller, `None` while none is free.
    pub async fn take_turn(
        &self,
        host: &str,
        limit: HostLimit,
    ) -> Result<Option<Turn>, StoreError> {
        match self {
            Store::Sqlite(_) => Ok(Some(Turn::Granted(None))),
            Store::Postgres(store) => store.take_turn(host, limit).await,
        }
    }

    /// Gives back a turn at `host` (a claim's or a [`Store::take_turn`]'s,
    /// by its token) when its fetch ends, for any poller's next fetch.
    pub async fn end_turn(&self, host: &str, token: Option<&str>) -> Result<(), StoreError> {
        match (self, token) {
            (Store::Postgres(store), Some(token)) => store.end_turn(host, token).await,
            _ => Ok(()),
        }
    }

    /// Holds `host` for `wait` for every poller (it answered a feed or an
    /// article page with Retry-After). SQLite's one poller keeps its holds
    /// in memory.
    pub async fn hold_host(&self, host: &str, wait: Duration) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(_) => Ok(()),
            Store::Postgres(store) => store.hold_host(host, wait).await,
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
            Store::Postgres(store) => store.record_poll(record, feed).await,
        }
    }

    /// The database's size in bytes; a query, so it also tells whether the
    /// database answers (`/health`).
    pub async fn database_bytes(&self) -> Result<i64, StoreError> {
        either!(self, database_bytes())
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

/// Runs `$body` with `$pool`, the store's pool for reading, and `$dialect`.
macro_rules! reading {
    ($store:expr, |$pool:ident, $dialect:ident| $body:expr) => {
        match $store {
            $crate::store::Store::Sqlite(store) => {
                let ($pool, $dialect) = (
                    $crate::store::sqlite::SqliteStore::readers(store),
                    $crate::store::sql::Dialect::Sqlite,
                );
                $body
            }
            $crate::store::Store::Postgres(store) => {
                let ($pool, $dialect) = (
                    $crate::store::postgres::PgStore::readers(store),
                    $crate::store::sql::Dialect::Postgres,
                );
                $body
            }
        }
    };
}

pub(super) use reading;

/// Runs `$body` in a write transaction `$tx` of the store, committed when
/// `$body` gives a value (an early return rolls it back); `$engine`, when
/// named, is the engine's module, for what only it has (`sqlite::X` and
/// `postgres::X` of one signature).
macro_rules! writing {
    ($store:expr, |$tx:ident, $dialect:ident| $body:expr) => {
        writing!($store, |$tx, $dialect, _engine| $body)
    };
    ($store:expr, |$tx:ident, $dialect:ident, $engine:ident| $body:expr) => {
        match $store {
            $crate::store::Store::Sqlite(store) => {
                #[allow(unused_imports)]
                use $crate::store::sqlite as $engine;
                let (mut $tx, $dialect) = (
                    store.begin_write().await?,
                    $crate::store::sql::Dialect::Sqlite,
                );
                let done = $body;
                $tx.commit().await?;
                done
            }
            $crate::store::Store::Postgres(store) => {
                #[allow(unused_imports)]
                use $crate::store::postgres as $engine;
                let (mut $tx, $dialect) = (
                    store.begin_write().await?,
                    $crate::store::sql::Dialect::Postgres,
                );
                let done = $body;
                $tx.commit().await?;
                done
            }
        }
    };
}

pub(super) use writing;
