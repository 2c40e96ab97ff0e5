//! PostgreSQL: the store for users who outgrow one machine. Several pollers
//! share one database, each claiming the sources it polls with a lease
//! (`FOR UPDATE SKIP LOCKED`, times from the database's clock), and readers
//! on other hosts hear of changes through `LISTEN tidings_changed`.
//!
//! The tables, columns and views are SQLite's (docs/schema.md) in
//! PostgreSQL's types, made by `migrations/postgres/`. Polls with entries
//! are written a group to a transaction by two writer tasks (`writer`; what
//! a group writes is `ingest`), as SQLite's writer does, while other pollers
//! write theirs; new articles enter the search index just after (`search`).
//! What both engines read and change is the shared SQL of `store` (`reads`,
//! `stories`, `contents`, `refilter`).

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sqlx::AssertSqlSafe;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions};
use tokio::sync::{Mutex, Notify};

mod ingest;
mod search;
mod stories;
mod writer;

use super::group::Queue;
use super::sql::{Dialect, SourceRow, state_columns};
use super::types::{Claim, Counts, HostLimit, PollRecord, SourceState, StoreError, Turn, Wanted};
use crate::article::NormalizedFeed;

/// The database of tidings instances that share PostgreSQL.
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    /// Connections whose commits do not wait for the disk
    /// (`synchronous_commit = off`), for what a crash of the server may
    /// lose without harm: claims (a poll whose claim was lost is refused at
    /// its write), turns at hosts and their holds (they expire), and polls
    /// that stored nothing (the source is polled again).
    unsynced: PgPool,
    /// How long a claim on a source holds.
    lease: Duration,
    /// The connection that hears of changes, once something asked.
    listener: Arc<Mutex<Option<PgListener>>>,
    /// Where polls with entries wait for the writers (see `writer`).
    queue: Queue,
    /// Wakes the task that puts new articles in the search index (`search`).
    index: Arc<Notify>,
    /// When this process last tidied the database (see [`PgStore::tidy`]).
    tidied: Arc<std::sync::Mutex<Option<Instant>>>,
}

/// Connections each process keeps: its writers, its indexer and its readers.
const CONNECTIONS: u32 = 16;

/// Tasks that write polls with entries, a group at a time: while one
/// waits for the database, the next gathers its group.
const WRITERS: usize = 2;

/// Connections for claims, turns and polls that stored nothing.
const SOFT_CONNECTIONS: u32 = 8;

/// Whether a source may be claimed, but for its host's turns (`s` is the
/// source's row, `$2` the time a one-shot poll started, if it is one).
const CLAIMABLE: &str = "(s.active AND s.last_status IS DISTINCT FROM 'gone'
     AND (s.next_due IS NULL OR s.next_due <= now() OR s.last_polled < $2)
     AND (s.lease_until IS NULL OR s.lease_until <= now())
     AND NOT EXISTS (SELECT 1 FROM host_holds h WHERE h.host = s.host AND h.until > now()))";

/// Holds host `$1` for `$2` seconds from now, or longer if it was held longer.
const HOLD_HOST: &str = "INSERT INTO host_holds (host, until)
     VALUES ($1, now() + make_interval(secs => $2))
     ON CONFLICT (host) DO UPDATE SET until = greatest(host_holds.until, excluded.until)";

/// The statement's part that takes a free turn at host `host` (an SQL
/// expression; none when it gives no row) for the fetch `token`, for
/// `seconds` at most, among the first `per_host` (parameters): `taken` is
/// the turn's row, or nothing when none was free. Turns being taken by
/// other pollers right now are skipped, not waited for.
fn take_turn(host: &str, per_host: &str, token: &str, seconds: &str) -> String {
    format!(
        "free AS (
             SELECT h.host, h.turn FROM host_turns h
              WHERE h.host = {host} AND h.turn < {per_host} AND (h.until IS NULL OR h.until <= now())
              ORDER BY h.turn LIMIT 1
                FOR UPDATE OF h SKIP LOCKED),
         taken AS (
             UPDATE host_turns h SET lease_token = {token}, until = now() + make_interval(secs => {seconds})
               FROM free WHERE h.host = free.host AND h.turn = free.turn
             RETURNING h.host)"
    )
}

/// How often a poller tidies the database (see [`PgStore::tidy`]).
const TIDY_EVERY: Duration = Duration::from_secs(600);

impl PgStore {
    /// Connects and brings the schema up to date (sqlx holds an advisory
    /// lock while it migrates, so pollers starting at once take turns).
    /// Warns when the database's locale leaves search blind to Chinese.
    pub async fn open(url: &str, shown: &str, lease: Duration) -> Result<PgStore, StoreError> {
        let opened = |cause| StoreError::Open {
            path: shown.to_string(),
            cause,
        };
        let options = PgConnectOptions::from_str(url).map_err(opened)?;
        let pool = PgPoolOptions::new()
            .max_connections(CONNECTIONS)
            .connect_with(options.clone())
            .await
            .map_err(opened)?;
        let unsynced = PgPoolOptions::new()
            .max_connections(SOFT_CONNECTIONS)
            .connect_lazy_with(options.options([("synchronous_commit", "off")]));
        sqlx::migrate!("./migrations/postgres")
            .run(&pool)
            .await
            .map_err(|cause| StoreError::Migrate {
                path: shown.to_string(),
                cause,
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
        let (queue, waiting) = Queue::new(writer::GROUP);
        let waiting = Arc::new(Mutex::new(waiting));
        for _ in 0..WRITERS {
            tokio::spawn(writer::write_queue(pool.clone(), waiting.clone()));
        }
        let index = Arc::new(Notify::new());
        tokio::spawn(search::index_when_woken(pool.clone(), index.clone()));
        Ok(PgStore {
            pool,
            unsynced,
            queue,
            index,
            lease,
            listener: Arc::default(),
            tidied: Arc::default(),
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

    /// Closes every connection; the listener's first, as the pool waits for
    /// it. A process that wrote polls tidies the database first, and puts
    /// what it stored in the search index, so a one-shot poll leaves none
    /// of its articles out of it.
    pub async fn close(&self) {
        if self.tidied.lock().expect("not poisoned").is_some() {
            self.tidy().await;
            if let Err(error) = search::index_waiting(&self.pool).await {
                tracing::warn!("indexing articles for search: {error}");
            }
        }
        self.listener.lock().await.take();
        self.unsynced.close().await;
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
    /// and one of its host's turns is free on every poller (the claim takes
    /// it, with the lease's token, for the fetch's timeout at most;
    /// [`PgStore::end_turn`] gives it back). The lease ends after
    /// [`PgStore::lease`] by the database's clock. `None` while the host has
    /// no turn free.
    pub async fn claim(
        &self,
        source_id: i64,
        wanted: Wanted,
        limit: HostLimit,
    ) -> Result<Option<Claim>, StoreError> {
        let not_polled_since = match wanted {
            Wanted::Due => None,
            Wanted::NotPolledSince(time) => Some(time),
        };
        let token = format!("{:032x}", rand::random::<u128>());
        let claim = format!(
            "WITH source AS (
                 SELECT s.id, s.host FROM sources s WHERE s.id = $1 AND {CLAIMABLE}
                    FOR UPDATE OF s SKIP LOCKED),
             {}
             UPDATE sources s SET lease_token = $3, lease_until = now() + make_interval(secs => $4)
               FROM taken WHERE s.id = $1
             RETURNING {}",
            take_turn("(SELECT host FROM source)", "$5", "$3", "$6"),
            state_columns(Dialect::Postgres, "s.")
        );
        // Twice at most: the first claim on a host may find it without turns.
        for _ in 0..2 {
            let granted: Option<SourceRow> = sqlx::query_as(AssertSqlSafe(claim.as_str()))
                .bind(source_id)
                .bind(not_polled_since)
                .bind(&token)
                .bind(self.lease.as_secs_f64())
                .bind(limit.per_host as i32)
                .bind(self.turn_seconds(limit))
                .fetch_optional(&self.unsynced)
                .await?;
            if let Some(row) = granted {
                let mut state = SourceState::from(row);
                state.lease = Some(token);
                return Ok(Some(Claim::Granted(state)));
            }
            // Not before a second from now: a row being claimed by another
            // poller right now looks free but is not.
            let (again, wanted, host, turns): (DateTime<Utc>, bool, String, i64) =
                sqlx::query_as(AssertSqlSafe(format!(
                    "SELECT greatest(s.next_due, s.lease_until,
                                     (SELECT h.until FROM host_holds h WHERE h.host = s.host),
                                     now() + interval '1 second'),
                            {CLAIMABLE}, s.host,
                            (SELECT count(*) FROM host_turns h WHERE h.host = s.host AND h.turn < $3)
                       FROM sources s WHERE s.id = $1"
                )))
                .bind(source_id)
                .bind(not_polled_since)
                .bind(limit.per_host as i32)
                .fetch_one(&self.unsynced)
                .await?;
            if !wanted {
                return Ok(Some(Claim::Taken(again)));
            }
            if turns >= limit.per_host as i64 {
                return Ok(None);
            }
            self.make_turns(&host, limit.per_host).await?;
        }
        Ok(None)
    }

    /// How long a turn at a host is held at most, in seconds: the fetch's
    /// timeout, and a little more for the claim before it and the word that
    /// it ended; never longer than a lease (a poll that outlasts its lease
    /// is not written).
    fn turn_seconds(&self, limit: HostLimit) -> f64 {
        (limit.fetch_timeout + Duration::from_secs(10))
            .min(self.lease)
            .as_secs_f64()
    }

    /// Takes one of `host`'s `per_host` turns over every poller, unless the
    /// host is held (see [`crate::store::Store::take_turn`]).
    pub async fn take_turn(
        &self,
        host: &str,
        limit: HostLimit,
    ) -> Result<Option<Turn>, StoreError> {
        let token = format!("{:032x}", rand::random::<u128>());
        let turn = format!(
            "WITH {} SELECT count(*) FROM taken",
            take_turn(
                "(SELECT $1::text WHERE NOT EXISTS
                    (SELECT 1 FROM host_holds h WHERE h.host = $1 AND h.until > now()))",
                "$4",
                "$2",
                "$3"
            )
        );
        for _ in 0..2 {
            let granted: i64 = sqlx::query_scalar(AssertSqlSafe(turn.as_str()))
                .bind(host)
                .bind(&token)
                .bind(self.turn_seconds(limit))
                .bind(limit.per_host as i32)
                .fetch_one(&self.unsynced)
                .await?;
            if granted > 0 {
                return Ok(Some(Turn::Granted(Some(token))));
            }
            let (held, turns): (Option<DateTime<Utc>>, i64) = sqlx::query_as(
                "SELECT (SELECT until FROM host_holds WHERE host = $1 AND until > now()),
                        (SELECT count(*) FROM host_turns WHERE host = $1 AND turn < $2)",
            )
            .bind(host)
            .bind(limit.per_host as i32)
            .fetch_one(&self.unsynced)
            .await?;
            if let Some(until) = held {
                return Ok(Some(Turn::Held(until)));
            }
            if turns >= limit.per_host as i64 {
                return Ok(None);
            }
            self.make_turns(host, limit.per_host).await?;
        }
        Ok(None)
    }

    /// Makes `host`'s `per_host` turns, for its first fetch (or a larger limit).
    async fn make_turns(&self, host: &str, per_host: usize) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO host_turns (host, turn) SELECT $1, generate_series(0, $2 - 1)
             ON CONFLICT DO NOTHING",
        )
        .bind(host)
        .bind(per_host as i32)
        .execute(&self.unsynced)
        .await?;
        Ok(())
    }

    /// Gives back the turn at `host` taken with `token`.
    pub async fn end_turn(&self, host: &str, token: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE host_turns SET lease_token = NULL, until = NULL
              WHERE host = $1 AND lease_token = $2",
        )
        .bind(host)
        .bind(token)
        .execute(&self.unsynced)
        .await?;
        Ok(())
    }

    /// Holds `host` for `wait` by the database's clock, for every poller.
    pub async fn hold_host(&self, host: &str, wait: Duration) -> Result<(), StoreError> {
        sqlx::query(HOLD_HOST)
            .bind(host)
            .bind(wait.as_secs_f64())
            .execute(&self.unsynced)
            .await?;
        Ok(())
    }

    /// Writes one poll (with others, if it has entries: see `writer`); every
    /// [`TIDY_EVERY`], also tidies the database (should that fail, the poll
    /// stays written).
    pub async fn record_poll(
        &self,
        record: PollRecord,
        feed: Option<NormalizedFeed>,
    ) -> Result<Counts, StoreError> {
        let entries =
            |feed: &NormalizedFeed| !feed.articles.is_empty() || !feed.recalled.is_empty();
        let counts = match feed.as_ref().is_some_and(entries) {
            true => {
                let counts = self.queue.write(record, feed).await?;
                self.index.notify_one();
                counts
            }
            false => ingest::record_nothing(&self.unsynced, &record, feed.as_ref()).await?,
        };
        let due = {
            let mut tidied = self.tidied.lock().expect("not poisoned");
            let due = tidied.is_none_or(|at| at.elapsed() >= TIDY_EVERY);
            if due {
                *tidied = Some(Instant::now());
            }
            due
        };
        if due {
            self.tidy().await;
        }
        Ok(counts)
    }

    /// What the writes leave behind for later, done now and then instead of
    /// in every group's transaction: the band keys of articles that left the
    /// window deleted (no new article can be a reprint of them), the label
    /// counts' changes folded into a row per label (appended so that
    /// pollers never wait for each other's count rows; see
    /// `migrations/postgres/0007`), and the search index's indexer woken
    /// (for articles an earlier process left). Failures are left for the
    /// next time.
    async fn tidy(&self) {
        self.index.notify_one();
        if let Err(error) = stories::forget_left_window(&self.pool).await {
            tracing::warn!("deleting the band keys older than the window: {error}");
        }
        if let Err(error) = sqlx::query("SELECT tidings_fold_label_counts()")
            .execute(&self.pool)
            .await
        {
            tracing::warn!("folding the label counts: {error}");
        }
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
    /// on title and text (see `search`).
    pub(in crate::store) fn search_candidates(&self, query: &str) -> (&'static str, String) {
        let pattern = format!(
            "%{}%",
            query
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        (search::CANDIDATES, pattern)
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

/// Locks the sources while a poller makes them match its config: pollers
/// starting at once would otherwise deadlock on the rows.
pub(in crate::store) async fn lock_sources(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
) -> Result<(), sqlx::Error> {
    sqlx::query("LOCK TABLE sources IN SHARE ROW EXCLUSIVE MODE")
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Each source's host, by which pollers share Retry-After holds and turns.
pub(in crate::store) async fn note_hosts(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    sources: &[crate::config::SourceConfig],
) -> Result<(), sqlx::Error> {
    let urls: Vec<&str> = sources.iter().map(|s| s.url.as_str()).collect();
    let hosts: Vec<String> = sources
        .iter()
        .map(|s| crate::fetch::host_key(&s.url))
        .collect();
    sqlx::query(
        "UPDATE sources s SET host = v.host
           FROM UNNEST($1::text[], $2::text[]) AS v (url, host)
          WHERE s.url = v.url AND s.host IS DISTINCT FROM v.host",
    )
    .bind(&urls)
    .bind(&hosts)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Forgets the band keys, the window's index, before `tidings regroup`
/// makes every fingerprint anew.
pub(in crate::store) async fn forget_bands(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM article_bands")
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// What the window reads of a regrouped article beside its fingerprint:
/// on PostgreSQL its band keys, if it was stored within the window, in one
/// statement (the keys as a JSON list).
pub(in crate::store) async fn enter_window(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    article: &crate::store::ArticleText,
    fingerprint: &crate::cluster::Fingerprint,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO article_bands (band_key, article_id, source_id, published, stored)
         SELECT DISTINCT key::bigint, $2, $3, to_timestamp($4), to_timestamp($5)
           FROM jsonb_array_elements_text($1::jsonb) AS key
          WHERE to_timestamp($5) >= now() - make_interval(secs => $6)
         ON CONFLICT DO NOTHING",
    )
    .bind(
        serde_json::to_string(&fingerprint.bands().map(|key| key as i64))
            .expect("a list of numbers is JSON"),
    )
    .bind(article.id)
    .bind(article.source_id)
    .bind(article.published as f64)
    .bind(article.stored as f64)
    .bind(crate::cluster::window::WINDOW.num_seconds() as f64)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
