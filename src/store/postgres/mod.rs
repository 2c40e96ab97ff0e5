//! PostgreSQL: the store for users who outgrow one machine. Several pollers
//! share one database, each claiming the sources it polls with a lease
//! (`FOR UPDATE SKIP LOCKED`, times from the database's clock), and readers
//! on other hosts hear of changes through `LISTEN tidings_changed`.
//!
//! The tables, columns and views are SQLite's (docs/schema.md) in
//! PostgreSQL's types, made by `migrations/postgres/`. Each poll is written
//! in a transaction of its own (`ingest`): PostgreSQL takes concurrent
//! writers, so there is no writer thread to queue for. What both engines
//! read and change is `store::reads` and `store::commands`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sqlx::AssertSqlSafe;
use sqlx::postgres::{PgListener, PgPool, PgPoolOptions};
use tokio::sync::Mutex;

mod ingest;
mod stories;

use super::commands::Dialect;
use super::reads::state_columns;
use super::types::{Claim, Counts, PollRecord, SourceRow, SourceState, StoreError, Wanted};
use crate::article::NormalizedFeed;

/// The database of tidings instances that share PostgreSQL.
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    /// How long a claim on a source holds.
    lease: Duration,
    /// The connection that hears of changes, once something asked.
    listener: Arc<Mutex<Option<PgListener>>>,
    /// When this process last deleted the band keys that left the window.
    bands_forgotten: Arc<std::sync::Mutex<Option<Instant>>>,
}

/// Connections each process keeps: polls write concurrently.
const CONNECTIONS: u32 = 16;

/// How often a poller deletes the band keys that left the window.
const FORGET_BANDS_EVERY: Duration = Duration::from_secs(600);

impl PgStore {
    /// Connects and brings the schema up to date (sqlx holds an advisory
    /// lock while it migrates, so pollers starting at once take turns).
    /// Warns when the database's locale leaves search blind to Chinese.
    pub async fn open(url: &str, shown: &str, lease: Duration) -> Result<PgStore, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(CONNECTIONS)
            .connect(url)
            .await
            .map_err(|source| StoreError::Open {
                path: shown.to_string(),
                source,
            })?;
        sqlx::migrate!("./migrations/postgres")
            .run(&pool)
            .await
            .map_err(|source| StoreError::Migrate {
                path: shown.to_string(),
                source,
            })?;
        let (trigrams, ctype): (i32, String) = sqlx::query_as(
            "SELECT coalesce(cardinality(show_trgm('央行降准')), 0), datctype
               FROM pg_database WHERE datname = current_database()",
        )
        .fetch_one(&pool)
        .await?;
        if trigrams == 0 {
            tracing::warn!(
                "the database's LC_CTYPE is {ctype}, not a UTF-8 locale: search cannot read Chinese. \
                 Create the database with one, e.g. CREATE DATABASE tidings TEMPLATE template0 \
                 ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8', and poll again"
            );
        }
        Ok(PgStore {
            pool,
            lease,
            listener: Arc::default(),
            bands_forgotten: Arc::default(),
        })
    }

    /// The connections, for the commands both engines share.
    pub(in crate::store) fn readers(&self) -> &PgPool {
        &self.pool
    }

    /// A write transaction, for the commands both engines share.
    pub(in crate::store) async fn begin_write(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
        self.pool.begin().await
    }

    /// Closes every connection; the listener's first, as the pool waits for it.
    pub async fn close(&self) {
        self.listener.lock().await.take();
        self.pool.close().await;
    }

    /// The time by the database's clock: pollers on several machines agree on it.
    pub async fn clock(&self) -> Result<DateTime<Utc>, StoreError> {
        Ok(sqlx::query_scalar("SELECT now()")
            .fetch_one(&self.pool)
            .await?)
    }

    /// Claims `source` for this poller, in a short transaction: granted when
    /// it is wanted, no other poller's lease holds it (a row another poller
    /// is claiming right now is skipped, not waited for), its host is not
    /// held and fewer than `per_host` fetches from its host are in flight on
    /// any poller; the lease ends after [`PgStore::lease`] by the database's
    /// clock.
    pub async fn claim(
        &self,
        source_id: i64,
        wanted: Wanted,
        per_host: usize,
    ) -> Result<Claim, StoreError> {
        let not_polled_since = match wanted {
            Wanted::Due => None,
            Wanted::NotPolledSince(time) => Some(time),
        };
        let token = format!("{:032x}", rand::random::<u128>());
        let mut tx = self.pool.begin().await?;
        // Pollers claiming sources of one host take turns, so that each
        // counts the others' claims (the two-key advisory locks are apart
        // from the one-key locks of article keys).
        sqlx::query("SELECT pg_advisory_xact_lock(1, hashtext(host)) FROM sources WHERE id = $1")
            .bind(source_id)
            .execute(&mut *tx)
            .await?;
        let claimable: Option<bool> = sqlx::query_scalar(
            "SELECT (SELECT count(*) >= $3 FROM sources o
                      WHERE o.host = s.host AND o.fetching_until > now())
               FROM sources s
              WHERE s.id = $1 AND s.active AND s.last_status IS DISTINCT FROM 'gone'
                AND (s.next_due IS NULL OR s.next_due <= now() OR s.last_polled < $2)
                AND (s.lease_until IS NULL OR s.lease_until <= now())
                AND NOT EXISTS (SELECT 1 FROM host_holds h WHERE h.host = s.host AND h.until > now())
                FOR UPDATE OF s SKIP LOCKED",
        )
        .bind(source_id)
        .bind(not_polled_since)
        .bind(per_host as i64)
        .fetch_optional(&mut *tx)
        .await?;
        let claim = match claimable {
            Some(false) => {
                let sql = format!(
                    "UPDATE sources s
                        SET lease_token = $2, lease_until = now() + make_interval(secs => $3),
                            fetching_until = now() + make_interval(secs => $3)
                      WHERE s.id = $1
                     RETURNING {}",
                    state_columns(Dialect::Postgres, "s.")
                );
                let row: SourceRow = sqlx::query_as(AssertSqlSafe(sql))
                    .bind(source_id)
                    .bind(&token)
                    .bind(self.lease.as_secs_f64())
                    .fetch_one(&mut *tx)
                    .await?;
                let mut state = SourceState::from(row);
                state.lease = Some(token);
                Claim::Granted(state)
            }
            Some(true) => Claim::HostBusy,
            // Not before a second from now: a row being claimed by another
            // poller right now looks free but is not.
            None => Claim::Taken(
                sqlx::query_scalar(
                    "SELECT greatest(s.next_due, s.lease_until,
                                     (SELECT h.until FROM host_holds h WHERE h.host = s.host),
                                     now() + interval '1 second')
                       FROM sources s WHERE s.id = $1",
                )
                .bind(source_id)
                .fetch_one(&mut *tx)
                .await?,
            ),
        };
        tx.commit().await?;
        Ok(claim)
    }

    /// Ends the fetch of a poll under `lease`: its host may take another.
    pub async fn fetched(&self, source_id: i64, lease: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE sources SET fetching_until = NULL WHERE id = $1 AND lease_token = $2")
            .bind(source_id)
            .bind(lease)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Writes one poll (see `ingest`); every [`FORGET_BANDS_EVERY`], also
    /// deletes the band keys of articles that left the window.
    pub async fn record_poll(
        &self,
        record: &PollRecord,
        feed: Option<&NormalizedFeed>,
    ) -> Result<Counts, StoreError> {
        let counts = ingest::record_poll(&self.pool, record, feed).await?;
        let due = {
            let mut forgotten = self.bands_forgotten.lock().expect("not poisoned");
            let due = forgotten.is_none_or(|at| at.elapsed() >= FORGET_BANDS_EVERY);
            if due {
                *forgotten = Some(Instant::now());
            }
            due
        };
        if due {
            stories::forget_left_window(&self.pool).await?;
        }
        Ok(counts)
    }

    /// The database's size on disk; a query, so it also tells whether the
    /// database answers (`/health`).
    pub async fn database_bytes(&self) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT pg_database_size(current_database())")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// The articles a search for `query` reads, newest first, as a
    /// statement of `id, title, plain_text` and the value it binds: `ILIKE`
    /// on title and text, which the pg_trgm index answers for queries of
    /// three characters or more.
    pub(in crate::store) fn search_candidates(&self, query: &str) -> (&'static str, String) {
        let pattern = format!(
            "%{}%",
            query
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        (
            "SELECT id, title, plain_text FROM articles
              WHERE (title || ' ' || plain_text) ILIKE $1
              ORDER BY published DESC, id DESC",
            pattern,
        )
    }

    /// Resolves at the next change to what the feeds show, from any process
    /// (`NOTIFY tidings_changed`, sent by triggers), or after `fallback`:
    /// notifications are lost while the connection is down, and one that
    /// drops counts as a change.
    pub async fn changed(&self, fallback: Duration) -> Result<(), StoreError> {
        let mut listener = self.listener.lock().await;
        if listener.is_none() {
            let mut fresh = PgListener::connect_with(&self.pool).await?;
            fresh.listen("tidings_changed").await?;
            *listener = Some(fresh);
        }
        let heard =
            tokio::time::timeout(fallback, listener.as_mut().expect("listening").try_recv());
        match heard.await {
            Ok(Ok(Some(_))) | Err(_) => Ok(()),
            Ok(Ok(None)) => {
                *listener = None;
                Ok(())
            }
            Ok(Err(error)) => {
                *listener = None;
                Err(error.into())
            }
        }
    }
}
