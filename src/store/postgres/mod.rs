//! PostgreSQL: the store for users who outgrow one machine. Several pollers
//! share one database, each claiming the sources it polls with a lease
//! (`FOR UPDATE SKIP LOCKED`, times from the database's clock), and readers
//! on other hosts hear of changes through `LISTEN tidings_changed`.
//!
//! The tables, columns and views are SQLite's (docs/schema.md) in
//! PostgreSQL's types, made by `migrations/postgres/`. Each poll is written
//! in a transaction of its own (`ingest`): PostgreSQL takes concurrent
//! writers, so there is no writer thread to queue for.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use hashbrown::HashMap;
use sqlx::postgres::{PgListener, PgPool, PgPoolOptions, PgRow};
use sqlx::{AssertSqlSafe, Row};
use tokio::sync::Mutex;

mod ingest;
mod stories;

use super::DuePage;
use super::types::{
    ArticleFilter, Claim, Counts, PollRecord, SearchHit, SourceState, SourceSummary, StoreError,
    Wanted, cadence,
};
use crate::article::{NormalizedFeed, Origin, Reprint, StoredArticle};
use crate::config::SourceConfig;
use crate::pages::PageOutcome;
use crate::schedule::host_of;

/// The database of tidings instances that share PostgreSQL.
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    /// How long a claim on a source holds.
    lease: Duration,
    /// The connection that hears of changes, once something asked.
    listener: Arc<Mutex<Option<PgListener>>>,
}

/// Connections each process keeps: polls write concurrently.
const CONNECTIONS: u32 = 16;

/// The columns `articles_by_id` reads, `a` being `articles`.
const ARTICLE_COLUMNS: &str = "a.id, a.key, a.title, a.link, a.author, a.published, a.updated,
                               a.summary, a.content_html, a.image, coalesce(a.story_id, a.id)";

/// Articles a search checks at most: a query whose trigrams are everywhere
/// but which is itself nowhere stops here.
const SEARCH_CANDIDATES: usize = 50_000;

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

    /// See `SqliteStore::sync_sources`. Every poller of one database should
    /// read the same sources: a poller marks inactive what its config lacks.
    pub async fn sync_sources(
        &self,
        sources: &[SourceConfig],
    ) -> Result<Vec<SourceState>, StoreError> {
        let mut tx = self.pool.begin().await?;
        // Pollers starting at once would otherwise deadlock on the rows.
        sqlx::query("LOCK TABLE sources IN SHARE ROW EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE sources SET active = false")
            .execute(&mut *tx)
            .await?;
        let mut states = Vec::with_capacity(sources.len());
        for source in sources {
            let row = sqlx::query(
                "INSERT INTO sources (url, name, category, channel, config_hash, host)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (url) DO UPDATE SET name = $2, category = $3, channel = $4, active = true,
                    host = $6,
                    last_status = CASE WHEN sources.last_status = 'gone'
                                        AND sources.config_hash IS DISTINCT FROM $5
                                       THEN NULL ELSE sources.last_status END,
                    next_due = CASE WHEN sources.last_status = 'gone'
                                     AND sources.config_hash IS DISTINCT FROM $5
                                    THEN NULL ELSE sources.next_due END,
                    config_hash = $5
                 RETURNING id, etag, last_modified, error_count, next_due, last_status,
                           interval_seconds, interval_reason",
            )
            .bind(source.url.as_str())
            .bind(&source.name)
            .bind(&source.category)
            .bind(&source.channel)
            .bind(source.fingerprint())
            .bind(host_of(&source.url))
            .fetch_one(&mut *tx)
            .await?;
            states.push(source_state(&row));
        }
        tx.commit().await?;
        Ok(states)
    }

    /// Claims `source` for this poller, in a short transaction: granted when
    /// it is wanted, no other poller's lease holds it (a row another poller
    /// is claiming right now is skipped, not waited for) and its host is not
    /// held; the lease ends after [`PgStore::lease`] by the database's clock.
    pub async fn claim(&self, source_id: i64, wanted: Wanted) -> Result<Claim, StoreError> {
        let not_polled_since = match wanted {
            Wanted::Due => None,
            Wanted::NotPolledSince(time) => Some(time),
        };
        let token = format!("{:032x}", rand::random::<u128>());
        let granted = sqlx::query(
            "WITH claimable AS (
                 SELECT s.id FROM sources s
                  WHERE s.id = $1 AND s.active AND s.last_status IS DISTINCT FROM 'gone'
                    AND (s.next_due IS NULL OR s.next_due <= now() OR s.last_polled < $2)
                    AND (s.lease_until IS NULL OR s.lease_until <= now())
                    AND NOT EXISTS (SELECT 1 FROM host_holds h WHERE h.host = s.host AND h.until > now())
                    FOR UPDATE SKIP LOCKED)
             UPDATE sources s SET lease_token = $3, lease_until = now() + make_interval(secs => $4)
               FROM claimable WHERE s.id = claimable.id
             RETURNING s.id, s.etag, s.last_modified, s.error_count, s.next_due, s.last_status,
                       s.interval_seconds, s.interval_reason",
        )
        .bind(source_id)
        .bind(not_polled_since)
        .bind(&token)
        .bind(self.lease.as_secs_f64())
        .fetch_optional(&self.pool)
        .await?;
        if let Some(row) = granted {
            let mut state = source_state(&row);
            state.lease = Some(token);
            return Ok(Claim::Granted(state));
        }
        // Not before a second from now: a row being claimed by another
        // poller right now looks free but is not.
        let again: DateTime<Utc> = sqlx::query_scalar(
            "SELECT greatest(s.next_due, s.lease_until,
                             (SELECT h.until FROM host_holds h WHERE h.host = s.host),
                             now() + interval '1 second')
               FROM sources s WHERE s.id = $1",
        )
        .bind(source_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(Claim::Taken(again))
    }

    /// Writes one poll (see `ingest`).
    pub async fn record_poll(
        &self,
        record: &PollRecord,
        feed: Option<&NormalizedFeed>,
    ) -> Result<Counts, StoreError> {
        ingest::record_poll(&self.pool, record, feed).await
    }

    pub async fn list_sources(&self) -> Result<Vec<SourceSummary>, StoreError> {
        let rows = sqlx::query(
            "SELECT name, url, channel, active, last_status, last_error,
                    to_char(next_due AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), articles,
                    last_warnings, interval_seconds, interval_reason
               FROM source_overview ORDER BY active DESC, id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| SourceSummary {
                name: r.get(0),
                url: r.get(1),
                channel: r.get(2),
                active: r.get(3),
                last_status: r.get(4),
                last_error: r.get(5),
                next_due: r.get(6),
                articles: r.get(7),
                last_warnings: r.get(8),
                cadence: cadence(r.get(9), r.get(10)),
            })
            .collect())
    }

    /// See `SqliteStore::articles`.
    pub async fn articles(
        &self,
        filter: &ArticleFilter<'_>,
    ) -> Result<Vec<StoredArticle>, StoreError> {
        let articles = self.articles_by_id(filter).await?;
        Ok(articles.into_iter().map(|(_, article)| article).collect())
    }

    async fn articles_by_id(
        &self,
        filter: &ArticleFilter<'_>,
    ) -> Result<Vec<(i64, StoredArticle)>, StoreError> {
        const COLUMNS: &str = ARTICLE_COLUMNS;
        let since = filter.since.unwrap_or(DateTime::UNIX_EPOCH);
        let limit = filter.limit.map(|l| l as i64);
        let rows = match (filter.ids, filter.label) {
            (Some(ids), _) => {
                let sql = format!(
                    "SELECT {COLUMNS} FROM articles a WHERE a.id = ANY($1) AND a.published >= $2
                      ORDER BY a.published DESC, a.id DESC LIMIT $3"
                );
                sqlx::query(AssertSqlSafe(sql))
                    .bind(ids)
                    .bind(since)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?
            }
            (None, Some(label)) => {
                let sql = format!(
                    "SELECT {COLUMNS} FROM article_categories c JOIN articles a ON a.id = c.article_id
                      WHERE c.category = $1 AND c.published >= $2
                      ORDER BY c.published DESC, c.article_id DESC LIMIT $3"
                );
                sqlx::query(AssertSqlSafe(sql))
                    .bind(label)
                    .bind(since)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?
            }
            (None, None) => {
                let sql = format!(
                    "SELECT {COLUMNS} FROM articles a WHERE a.published >= $1
                      ORDER BY a.published DESC, a.id DESC LIMIT $2"
                );
                sqlx::query(AssertSqlSafe(sql))
                    .bind(since)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        let rows = if filter.stories {
            self.as_stories(rows).await?
        } else {
            rows
        };
        let ids: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
        let mut reprints = if filter.stories {
            self.reprints(&ids).await?
        } else {
            Default::default()
        };
        let mut categories: HashMap<i64, Vec<String>> = HashMap::new();
        for row in sqlx::query(
            "SELECT article_id, category FROM article_categories
              WHERE article_id = ANY($1) ORDER BY article_id, position",
        )
        .bind(&ids)
        .fetch_all(&self.pool)
        .await?
        {
            categories.entry(row.get(0)).or_default().push(row.get(1));
        }
        let mut origins: HashMap<i64, Origin> = HashMap::new();
        for row in sqlx::query(
            "SELECT o.article_id, s.name, s.url, s.channel, s.feed_title, s.feed_link
               FROM article_origins o JOIN sources s ON s.id = o.source_id
              WHERE o.article_id = ANY($1)",
        )
        .bind(&ids)
        .fetch_all(&self.pool)
        .await?
        {
            origins.insert(
                row.get(0),
                Origin {
                    name: row.get(1),
                    url: row.get(2),
                    channel: row.get(3),
                    feed_title: row.get(4),
                    feed_link: row.get(5),
                },
            );
        }
        Ok(rows
            .into_iter()
            .map(|r| {
                let id: i64 = r.get(0);
                let article = StoredArticle {
                    key: r.get(1),
                    title: r.get(2),
                    link: r.get(3),
                    author: r.get(4),
                    published: r.get(5),
                    updated: r.get(6),
                    summary: r.get(7),
                    content_html: r.get(8),
                    image: r.get(9),
                    categories: categories.remove(&id).unwrap_or_default(),
                    origin: origins.remove(&id),
                    reprints: reprints.remove(&id).unwrap_or_default(),
                };
                (id, article)
            })
            .collect())
    }

    /// See `SqliteStore::as_stories`: each row as its story's first article.
    async fn as_stories(&self, rows: Vec<PgRow>) -> Result<Vec<PgRow>, StoreError> {
        let mut order: Vec<i64> = Vec::with_capacity(rows.len());
        let mut by_id: HashMap<i64, PgRow> = HashMap::new();
        for row in rows {
            let (id, story): (i64, i64) = (row.get(0), row.get(10));
            if !order.contains(&story) {
                order.push(story);
            }
            if id == story {
                by_id.insert(id, row);
            }
        }
        let missing: Vec<i64> = order
            .iter()
            .copied()
            .filter(|story| !by_id.contains_key(story))
            .collect();
        if !missing.is_empty() {
            let sql = format!("SELECT {ARTICLE_COLUMNS} FROM articles a WHERE a.id = ANY($1)");
            for row in sqlx::query(AssertSqlSafe(sql))
                .bind(&missing)
                .fetch_all(&self.pool)
                .await?
            {
                by_id.insert(row.get(0), row);
            }
        }
        Ok(order
            .into_iter()
            .filter_map(|story| by_id.remove(&story))
            .collect())
    }

    /// The other outlets' copies of each story whose first article is in `ids`.
    async fn reprints(&self, ids: &[i64]) -> Result<HashMap<i64, Vec<Reprint>>, StoreError> {
        let mut reprints: HashMap<i64, Vec<Reprint>> = HashMap::new();
        for row in sqlx::query(
            "SELECT e.story_id, a.link, a.published,
                    (SELECT o.source_name FROM article_origins o WHERE o.article_id = a.id)
               FROM story_evidence e JOIN articles a ON a.id = e.article_id
              WHERE e.story_id = ANY($1)
              ORDER BY a.published, a.id",
        )
        .bind(ids)
        .fetch_all(&self.pool)
        .await?
        {
            reprints.entry(row.get(0)).or_default().push(Reprint {
                link: row.get(1),
                published: row.get(2),
                outlet: row.get::<Option<String>, _>(3).unwrap_or_default(),
            });
        }
        Ok(reprints)
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

    pub async fn labels(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT category, count(*) FROM article_categories GROUP BY category ORDER BY 2 DESC, 1",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// Search over the whole text of every article, newest first, ignoring
    /// case: `ILIKE` on title and text, which the pg_trgm index answers for
    /// queries of three characters or more; each hit is checked and given
    /// its passage here, as on SQLite.
    pub async fn search(&self, query: &str, limit: usize) -> Result<Vec<SearchHit>, StoreError> {
        let query = query.trim();
        if query.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let pattern = format!(
            "%{}%",
            query
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        let mut passages = Vec::new();
        let mut candidates = sqlx::query(
            "SELECT id, title, plain_text FROM articles
              WHERE (title || ' ' || plain_text) ILIKE $1
              ORDER BY published DESC, id DESC",
        )
        .bind(&pattern)
        .fetch(&self.pool);
        for _ in 0..SEARCH_CANDIDATES {
            let Some(row) = candidates.try_next().await? else {
                break;
            };
            let passage = [row.get::<&str, _>(2), row.get(1)]
                .into_iter()
                .find_map(|text| crate::text::passage(text, query));
            if let Some(passage) = passage {
                passages.push((row.get::<i64, _>(0), passage));
                if passages.len() == limit {
                    break;
                }
            }
        }
        drop(candidates);
        let ids: Vec<i64> = passages.iter().map(|(id, _)| *id).collect();
        let filter = ArticleFilter {
            ids: Some(&ids),
            ..ArticleFilter::default()
        };
        let mut articles: HashMap<i64, StoredArticle> =
            self.articles_by_id(&filter).await?.into_iter().collect();
        Ok(passages
            .into_iter()
            .filter_map(|(id, passage)| {
                Some(SearchHit {
                    article: articles.remove(&id)?,
                    passage,
                })
            })
            .collect())
    }

    /// See `SqliteStore::due_pages`.
    pub async fn due_pages(
        &self,
        source_id: i64,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<DuePage>, StoreError> {
        let rows = sqlx::query(
            "SELECT p.article_id, p.url, p.attempts, char_length(a.plain_text)::bigint
               FROM article_pages p JOIN articles a ON a.id = p.article_id
              WHERE p.source_id = $1 AND p.state = 'pending' AND p.next_attempt <= $2
              ORDER BY p.next_attempt, p.article_id DESC
              LIMIT $3",
        )
        .bind(source_id)
        .bind(now)
        .bind(limit as i64)
        .fetch_all(&self.pool)
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

    /// See `SqliteStore::record_pages`.
    pub async fn record_pages(
        &self,
        results: &[(i64, PageOutcome)],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if results.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        for (article_id, outcome) in results {
            let (state, next_attempt, error) = match outcome {
                PageOutcome::Read {
                    html,
                    text,
                    source_html,
                    image,
                } => {
                    sqlx::query(
                        "UPDATE articles SET content_html = $2, plain_text = $3, source_html = $4,
                                image = coalesce(image, $5)
                          WHERE id = $1",
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
                PageOutcome::Retry { error, at } => ("pending", Some(*at), Some(error)),
                PageOutcome::KeepFeed { error } => ("kept_feed", None, Some(error)),
            };
            sqlx::query(
                "UPDATE article_pages SET state = $2, next_attempt = $3, last_error = $4,
                        attempts = attempts + 1, attempted_at = $5
                  WHERE article_id = $1",
            )
            .bind(article_id)
            .bind(state)
            .bind(next_attempt)
            .bind(error)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
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

/// A source's state as a row of `sources` gives it (id, etag,
/// last_modified, error_count, next_due, last_status, interval_seconds,
/// interval_reason).
fn source_state(row: &PgRow) -> SourceState {
    SourceState {
        id: row.get(0),
        etag: row.get(1),
        last_modified: row.get(2),
        error_count: row.get::<i64, _>(3) as u32,
        next_due: row.get(4),
        gone: row.get::<Option<String>, _>(5).as_deref() == Some("gone"),
        cadence: cadence(row.get(6), row.get(7)),
        lease: None,
    }
}
