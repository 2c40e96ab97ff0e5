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

/// Whether a source may be claimed, but for its host's slots (`s` is the
/// source's row, `$2` the time a one-shot poll started, if it is one).
const CLAIMABLE: &str = "(s.active AND s.last_status IS DISTINCT FROM 'gone'
     AND (s.next_due IS NULL OR s.next_due <= now() OR s.last_polled < $2)
     AND (s.lease_until IS NULL OR s.lease_until <= now())
     AND NOT EXISTS (SELECT 1 FROM host_holds h WHERE h.host = s.host AND h.until > now()))";

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

    /// Claims `source` for this poller, in one statement: granted when it is
    /// wanted, no other poller's lease holds it (a row another poller is
    /// claiming right now is skipped, not waited for), its host is not held,
    /// and one of its host's `per_host` slots is free on every poller (the
    /// claim takes it; [`PgStore::fetched`] gives it back). The lease ends
    /// after [`PgStore::lease`] by the database's clock.
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
        let claim = format!(
            "WITH source AS (
                 SELECT s.id, s.host FROM sources s WHERE s.id = $1 AND {CLAIMABLE}
                    FOR UPDATE OF s SKIP LOCKED),
             slot AS (
                 SELECT h.host, h.slot FROM host_slots h JOIN source ON h.host = source.host
                  WHERE h.slot < $5 AND (h.until IS NULL OR h.until <= now())
                  ORDER BY h.slot LIMIT 1
                    FOR UPDATE OF h SKIP LOCKED),
             taken AS (
                 UPDATE host_slots h SET lease_token = $3, until = now() + make_interval(secs => $4)
                   FROM slot WHERE h.host = slot.host AND h.slot = slot.slot
                 RETURNING h.host)
             UPDATE sources s SET lease_token = $3, lease_until = now() + make_interval(secs => $4)
               FROM taken WHERE s.id = $1
             RETURNING {}",
            state_columns(Dialect::Postgres, "s.")
        );
        // Twice at most: the first claim on a host may find it without slots.
        for _ in 0..2 {
            let granted: Option<SourceRow> = sqlx::query_as(AssertSqlSafe(claim.as_str()))
                .bind(source_id)
                .bind(not_polled_since)
                .bind(&token)
                .bind(self.lease.as_secs_f64())
                .bind(per_host as i32)
                .fetch_optional(&self.pool)
                .await?;
            if let Some(row) = granted {
                let mut state = SourceState::from(row);
                state.lease = Some(token);
                return Ok(Claim::Granted(state));
            }
            // Not before a second from now: a row being claimed by another
            // poller right now looks free but is not.
            let (again, wanted, slots): (DateTime<Utc>, bool, i64) =
                sqlx::query_as(AssertSqlSafe(format!(
                    "SELECT greatest(s.next_due, s.lease_until,
                                     (SELECT h.until FROM host_holds h WHERE h.host = s.host),
                                     now() + interval '1 second'),
                            {CLAIMABLE},
                            (SELECT count(*) FROM host_slots h WHERE h.host = s.host AND h.slot < $3)
                       FROM sources s WHERE s.id = $1"
                )))
                .bind(source_id)
                .bind(not_polled_since)
                .bind(per_host as i32)
                .fetch_one(&self.pool)
                .await?;
            if !wanted {
                return Ok(Claim::Taken(again));
            }
            if slots >= per_host as i64 {
                return Ok(Claim::HostBusy);
            }
            sqlx::query(
                "INSERT INTO host_slots (host, slot)
                 SELECT host, generate_series(0, $2 - 1) FROM sources WHERE id = $1
                 ON CONFLICT DO NOTHING",
            )
            .bind(source_id)
            .bind(per_host as i32)
            .execute(&self.pool)
            .await?;
        }
        Ok(Claim::HostBusy)
    }

    /// Ends the fetch of a poll under `lease`: its host's slot is free for
    /// any poller's next fetch.
    pub async fn fetched(&self, source_id: i64, lease: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE host_slots SET lease_token = NULL, until = NULL
              WHERE host = (SELECT host FROM sources WHERE id = $1) AND lease_token = $2",
        )
        .bind(source_id)
        .bind(lease)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Writes one poll (see `ingest`); every [`FORGET_BANDS_EVERY`], also
    /// deletes the band keys of articles that left the window (should that
    /// fail, the poll stays written).
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
        if due && let Err(error) = stories::forget_left_window(&self.pool).await {
            // The poll is written; the keys are deleted next time.
            tracing::warn!("deleting the band keys older than the window: {error}");
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
