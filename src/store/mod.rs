//! SQLite: migrations, the per-poll write, and the queries the commands need.
//!
//! The database is opened in WAL mode so readers (the HTTP server, people with
//! `sqlite3`) never wait for the poller. Polls are written by one writer thread
//! on one connection (SQLite has one writer anyway, and queuing in-process is
//! cheaper than retrying on `SQLITE_BUSY`). Every poll of a source is written
//! inside one `BEGIN IMMEDIATE` transaction, so a crash keeps all of a poll or
//! none of it; polls that finish while the writer is busy share the next
//! transaction (group commit), which makes a cold poll of a thousand feeds a
//! few dozen commits instead of a thousand. A checkpoint task on a connection
//! of its own copies the WAL into the database file, so the writer never stops
//! for the disk.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
use tokio::sync::{mpsc, oneshot};

mod ingest;

use crate::article::{NormalizedFeed, Origin, StoredArticle};
use crate::config::{SourceConfig, Storage};
use crate::dates::{from_db, to_db};
use crate::schedule::Cadence;

/// The database could not be opened or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open database {path}: {source}")]
    Open { path: String, source: sqlx::Error },
    #[error("cannot migrate database {path}: {source}")]
    Migrate {
        path: String,
        source: sqlx::migrate::MigrateError,
    },
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    /// An error of the group write, which talks to SQLite through rusqlite.
    #[error("database error: {0}")]
    Ingest(#[from] rusqlite::Error),
    #[error("database error: {0}")]
    Write(String),
}

/// How a poll of a source ended, as recorded in `sources.last_status` and `fetch_log.outcome`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    NotModified,
    Error,
    Gone,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::NotModified => "not_modified",
            Outcome::Error => "error",
            Outcome::Gone => "gone",
        }
    }
}

/// What the scheduler and fetcher remember about a source between polls.
#[derive(Debug, Clone, Default)]
pub struct SourceState {
    pub id: i64,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub error_count: u32,
    pub next_due: Option<DateTime<Utc>>,
    pub gone: bool,
    /// The interval of the last poll and why (an `auto` source keeps its
    /// reading across 304s and restarts).
    pub cadence: Option<Cadence>,
}

/// Everything one poll of one source learned, written in one transaction.
#[derive(Debug, Clone)]
pub struct PollRecord {
    pub source_id: i64,
    pub started_at: DateTime<Utc>,
    pub duration: Duration,
    pub outcome: Outcome,
    pub http_status: Option<u16>,
    pub bytes: u64,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub error: Option<String>,
    pub error_count: u32,
    pub next_due: DateTime<Utc>,
    pub cadence: Cadence,
}

/// Articles a poll found, by what happened to them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub new: u64,
    pub updated: u64,
    pub unchanged: u64,
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, other: Counts) {
        self.new += other.new;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
    }
}

/// A row of `tidings sources`.
#[derive(Debug, Clone)]
pub struct SourceSummary {
    pub name: String,
    pub url: String,
    pub channel: Option<String>,
    pub active: bool,
    pub last_status: Option<String>,
    pub last_error: Option<String>,
    /// What reading the last body forgave, one message a line.
    pub last_warnings: Option<String>,
    pub next_due: Option<String>,
    pub articles: i64,
    /// The interval of the last poll and why.
    pub cadence: Option<Cadence>,
}

/// A row of `tidings search`.
#[derive(Debug, Clone)]
pub struct SearchHit {
    pub title: String,
    pub link: Option<String>,
    pub published: String,
}

/// Which stored articles to read, newest first.
#[derive(Debug, Clone, Default)]
pub struct ArticleFilter<'a> {
    /// Only articles with this category label.
    pub label: Option<&'a str>,
    /// Only articles published at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// At most this many.
    pub limit: Option<usize>,
}

/// The database of one tidings instance.
#[derive(Clone)]
pub struct Store {
    writer: SqlitePool,
    readers: SqlitePool,
    /// The connection the checkpoint task uses.
    checkpoints: SqlitePool,
    polls: mpsc::Sender<PollWrite>,
}

/// A finished poll, as the writer stores it.
struct PollToWrite {
    record: PollRecord,
    feed: Option<NormalizedFeed>,
}

/// A poll waiting for the writer.
struct PollWrite {
    poll: PollToWrite,
    done: oneshot::Sender<Result<Counts, StoreError>>,
}

/// Most polls committed together.
const GROUP_COMMIT: usize = 256;

/// Tries at opening the database. Two processes that open a new database at
/// once race to create it, and SQLite answers the loser "locked" or "table
/// already exists"; each try sees what the other has committed by then.
const OPEN_ATTEMPTS: u32 = 5;

/// Wait before the second try at opening; it grows with each try.
const OPEN_RETRY: Duration = Duration::from_millis(200);

/// WAL size (256 MiB with our page size) at which the writer checkpoints by itself. The checkpoint
/// task normally keeps the WAL far below this; it is the bound if that task falls behind.
const WAL_LIMIT_BYTES: u32 = 256 << 20;

/// Least time between two checkpoints, so a busy writer's WAL is copied in big steps.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// Page size of a new database. An article with its content is a few
/// kilobytes, so 4 KiB pages (SQLite's default) held one row and a lot of
/// empty space each; 16 KiB pages make the database a third smaller and its
/// writes and checkpoints fewer, larger ones. SQLite keeps an existing
/// database's page size.
const PAGE_SIZE: u32 = 16 * 1024;

/// Page cache of the writer connection, in KiB: the indexes a poll touches stay in memory.
const WRITER_CACHE_KIB: i64 = 32 * 1024;

impl Store {
    /// Opens (creating if needed) and migrates the database.
    pub async fn open(storage: &Storage) -> Result<Store, StoreError> {
        let path = &storage.database;
        let shown = path.display().to_string();
        let open_error = |source| StoreError::Open {
            path: shown.clone(),
            source,
        };
        let options = SqliteConnectOptions::from_str("sqlite://")
            .map_err(open_error)?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(storage.busy_timeout);
        let writer_options = options
            .clone()
            .page_size(PAGE_SIZE)
            .pragma("cache_size", format!("-{WRITER_CACHE_KIB}"))
            .pragma(
                "wal_autocheckpoint",
                (WAL_LIMIT_BYTES / PAGE_SIZE).to_string(),
            )
            .pragma("temp_store", "memory");
        let mut attempt = 1;
        let writer = loop {
            match open_writer(&writer_options, &shown).await {
                Ok(writer) => break writer,
                Err(error) if attempt < OPEN_ATTEMPTS => {
                    tracing::debug!("opening {shown}, attempt {attempt}: {error}");
                    tokio::time::sleep(OPEN_RETRY * attempt).await;
                    attempt += 1;
                }
                Err(error) => return Err(error),
            }
        };
        let readers = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.clone().read_only(true))
            .await
            .map_err(open_error)?;
        let checkpoints = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await
            .map_err(open_error)?;
        let (polls, queue) = mpsc::channel(GROUP_COMMIT);
        let (committed, commits) = mpsc::channel(1);
        let runtime = tokio::runtime::Handle::current();
        let pool = writer.clone();
        std::thread::Builder::new()
            .name("tidings-writer".into())
            .spawn(move || commit_polls(&runtime, &pool, queue, committed))
            .map_err(|error| StoreError::Write(format!("cannot start the writer: {error}")))?;
        tokio::spawn(checkpoint(checkpoints.clone(), commits));
        Ok(Store {
            writer,
            readers,
            checkpoints,
            polls,
        })
    }

    /// Closes the database: waits for writes in flight, then closes every
    /// connection, the writer last, so SQLite copies the WAL into the database
    /// file and removes it (a process that just exits leaves the WAL for the next
    /// one to read).
    pub async fn close(&self) {
        self.readers.close().await;
        self.checkpoints.close().await;
        self.writer.close().await;
    }

    /// Makes the `sources` table match the config: new sources are added, changed
    /// ones updated, and ones no longer configured marked inactive (their
    /// articles stay). A source marked gone (HTTP 410) is tried again only once
    /// its config entry changes. Returns the state of each configured source, in order.
    pub async fn sync_sources(
        &self,
        sources: &[SourceConfig],
    ) -> Result<Vec<SourceState>, StoreError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("UPDATE sources SET active = 0")
            .execute(&mut *tx)
            .await?;
        let mut states = Vec::with_capacity(sources.len());
        for source in sources {
            let row = sqlx::query(
                "INSERT INTO sources (url, name, category, channel, config_hash) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (url) DO UPDATE SET name = ?2, category = ?3, channel = ?4, active = 1,
                    last_status = CASE WHEN last_status = 'gone' AND config_hash IS NOT ?5
                                       THEN NULL ELSE last_status END,
                    next_due = CASE WHEN last_status = 'gone' AND config_hash IS NOT ?5
                                    THEN NULL ELSE next_due END,
                    config_hash = ?5
                 RETURNING id, etag, last_modified, error_count, next_due, last_status,
                           interval_seconds, interval_reason",
            )
            .bind(source.url.as_str())
            .bind(&source.name)
            .bind(&source.category)
            .bind(&source.channel)
            .bind(source.fingerprint())
            .fetch_one(&mut *tx)
            .await?;
            states.push(SourceState {
                id: row.get(0),
                etag: row.get(1),
                last_modified: row.get(2),
                error_count: row.get::<i64, _>(3) as u32,
                next_due: row.get::<Option<String>, _>(4).as_deref().and_then(from_db),
                gone: row.get::<Option<String>, _>(5).as_deref() == Some("gone"),
                cadence: cadence(row.get(6), row.get(7)),
            });
        }
        tx.commit().await?;
        Ok(states)
    }

    /// Writes one poll: its articles (if the feed was fetched and parsed), the
    /// source's new state and a fetch-log row, all or nothing.
    pub async fn record_poll(
        &self,
        record: PollRecord,
        feed: Option<NormalizedFeed>,
    ) -> Result<Counts, StoreError> {
        let (done, reply) = oneshot::channel();
        let write = PollWrite {
            poll: PollToWrite { record, feed },
            done,
        };
        self.polls
            .send(write)
            .await
            .map_err(|_| StoreError::Write("the database writer stopped".into()))?;
        reply
            .await
            .map_err(|_| StoreError::Write("the database writer stopped".into()))?
    }

    /// Every source, configured ones first, for `tidings sources`.
    pub async fn list_sources(&self) -> Result<Vec<SourceSummary>, StoreError> {
        let rows = sqlx::query(
            "SELECT name, url, channel, active, last_status, last_error, next_due, articles,
                    last_warnings, interval_seconds, interval_reason
               FROM source_overview ORDER BY active DESC, id",
        )
        .fetch_all(&self.readers)
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

    /// Stored articles with their categories and origin, newest first. A label
    /// reads from the `(category, published)` index, so a category feed costs
    /// the same however large the database grows.
    pub async fn articles(
        &self,
        filter: &ArticleFilter<'_>,
    ) -> Result<Vec<StoredArticle>, StoreError> {
        const COLUMNS: &str = "a.id, a.key, a.title, a.link, a.author, a.published, a.updated,
                               a.summary, a.content_html, a.image";
        let since = filter.since.map(to_db).unwrap_or_default();
        let limit = filter.limit.map_or(-1, |l| l as i64);
        let rows = match filter.label {
            Some(label) => {
                let sql = format!(
                    "SELECT {COLUMNS} FROM article_categories c JOIN articles a ON a.id = c.article_id
                      WHERE c.category = ?1 AND c.published >= ?2
                      ORDER BY c.published DESC, c.article_id DESC LIMIT ?3"
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(label)
                    .bind(&since)
                    .bind(limit)
                    .fetch_all(&self.readers)
                    .await?
            }
            None => {
                let sql = format!(
                    "SELECT {COLUMNS} FROM articles a WHERE a.published >= ?1
                      ORDER BY a.published DESC, a.id DESC LIMIT ?2"
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(&since)
                    .bind(limit)
                    .fetch_all(&self.readers)
                    .await?
            }
        };
        let ids: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
        let ids_json = serde_json::to_string(&ids).expect("ids serialize");
        let mut categories: std::collections::HashMap<i64, Vec<String>> = Default::default();
        for row in sqlx::query(
            "SELECT article_id, category FROM article_categories
              WHERE article_id IN (SELECT value FROM json_each(?1)) ORDER BY article_id, position",
        )
        .bind(&ids_json)
        .fetch_all(&self.readers)
        .await?
        {
            categories.entry(row.get(0)).or_default().push(row.get(1));
        }
        let mut origins: std::collections::HashMap<i64, Origin> = Default::default();
        for row in sqlx::query(
            "SELECT x.article_id, s.name, s.url, s.channel, s.feed_title, s.feed_link
               FROM article_sources x JOIN sources s ON s.id = x.source_id
              WHERE x.article_id IN (SELECT value FROM json_each(?1))
              ORDER BY x.article_id, x.first_seen DESC, s.id DESC",
        )
        .bind(&ids_json)
        .fetch_all(&self.readers)
        .await?
        {
            // Rows come latest first, so the last insert per article is its first source.
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
                let date = |i: usize| r.get::<Option<String>, _>(i).as_deref().and_then(from_db);
                StoredArticle {
                    key: r.get(1),
                    title: r.get(2),
                    link: r.get(3),
                    author: r.get(4),
                    published: date(5).unwrap_or_default(),
                    updated: date(6),
                    summary: r.get(7),
                    content_html: r.get(8),
                    image: r.get(9),
                    categories: categories.remove(&id).unwrap_or_default(),
                    origin: origins.remove(&id),
                }
            })
            .collect())
    }

    /// The size of the database's pages in bytes; a query, so it also tells
    /// whether the database answers (`/health`).
    pub async fn database_bytes(&self) -> Result<i64, StoreError> {
        let size = sqlx::query_scalar(
            "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
        )
        .fetch_one(&self.readers)
        .await?;
        Ok(size)
    }

    /// Every category label with its article count, most used first.
    pub async fn labels(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT category, count(*) FROM article_categories GROUP BY category ORDER BY 2 DESC, 1",
        )
        .fetch_all(&self.readers)
        .await?;
        Ok(rows.into_iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// Full-text search, newest first. A query of three characters or more
    /// finds the articles whose title or summary contains it, ignoring case:
    /// the trigram index gives the articles that have all of its trigrams, and
    /// those that do not contain the query itself are dropped here. Shorter
    /// queries (common in Chinese: 央行, 股市) scan the articles, content included.
    pub async fn search(&self, query: &str, limit: u32) -> Result<Vec<SearchHit>, StoreError> {
        let query = query.trim();
        let hit = |r: &sqlx::sqlite::SqliteRow| SearchHit {
            title: r.get(0),
            link: r.get(1),
            published: r.get(2),
        };
        if query.chars().count() < 3 {
            let rows = sqlx::query(
                "SELECT title, link, published FROM articles
                  WHERE instr(title, ?1) OR instr(summary, ?1) OR instr(content_html, ?1)
                  ORDER BY published DESC LIMIT ?2",
            )
            .bind(query)
            .bind(i64::from(limit))
            .fetch_all(&self.readers)
            .await?;
            return Ok(rows.iter().map(hit).collect());
        }
        let wanted = query.to_lowercase();
        let contains = |text: &str| text.to_lowercase().contains(&wanted);
        let mut candidates = sqlx::query(
            "SELECT a.title, a.link, a.published, a.summary
               FROM articles_fts f JOIN articles a ON a.id = f.rowid
              WHERE articles_fts MATCH ?1 ORDER BY a.published DESC",
        )
        .bind(trigram_query(query))
        .fetch(&self.readers);
        let mut hits = Vec::new();
        while hits.len() < limit as usize {
            let Some(row) = candidates.try_next().await? else {
                break;
            };
            if contains(row.get(0)) || contains(row.get(3)) {
                hits.push(hit(&row));
            }
        }
        Ok(hits)
    }
}

/// An FTS5 query for the articles that have every trigram of `text`, each
/// quoted so that FTS5 operators in it are plain text.
fn trigram_query(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut trigrams: Vec<String> = chars
        .windows(3)
        .map(|w| format!("\"{}\"", w.iter().collect::<String>().replace('"', "\"\"")))
        .collect();
    trigrams.sort();
    trigrams.dedup();
    trigrams.join(" AND ")
}

/// Connects the writer and brings the schema up to date.
async fn open_writer(
    options: &SqliteConnectOptions,
    shown: &str,
) -> Result<SqlitePool, StoreError> {
    let writer = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options.clone())
        .await
        .map_err(|source| StoreError::Open {
            path: shown.to_string(),
            source,
        })?;
    sqlx::migrate!("./migrations")
        .run(&writer)
        .await
        .map_err(|source| StoreError::Migrate {
            path: shown.to_string(),
            source,
        })?;
    Ok(writer)
}

/// The writer: takes polls as they finish and commits every poll that is
/// waiting in one transaction.
///
/// It runs on a thread of its own: each group is one long blocking call into
/// SQLite (see `write_polls`).
fn commit_polls(
    runtime: &tokio::runtime::Handle,
    pool: &SqlitePool,
    mut queue: mpsc::Receiver<PollWrite>,
    committed: mpsc::Sender<()>,
) {
    // sqlx returns a connection to its pool with a task on the runtime.
    let _runtime = runtime.enter();
    while let Some(first) = queue.blocking_recv() {
        let mut group = vec![first];
        while group.len() < GROUP_COMMIT {
            match queue.try_recv() {
                Ok(next) => group.push(next),
                Err(_) => break,
            }
        }
        tracing::debug!("committing {} polls", group.len());
        let (polls, replies): (Vec<PollToWrite>, Vec<_>) = group
            .into_iter()
            .map(|write| (write.poll, write.done))
            .unzip();
        let results = write_polls(runtime, pool, &polls);
        // Full means a checkpoint is already due.
        let _ = committed.try_send(());
        for (reply, result) in replies.into_iter().zip(results) {
            let _ = reply.send(result);
        }
    }
}

/// Writes a group of polls and returns each poll's result.
///
/// sqlx runs each statement on its connection's worker thread: a round trip
/// between threads, a copy of every bound value and a fresh parse of the SQL
/// per statement, which made the writer the slowest stage. So the group is
/// written through rusqlite, on the same connection (sqlx opens, configures and
/// migrates it, and runs every other query), with statements prepared once per
/// group.
fn write_polls(
    runtime: &tokio::runtime::Handle,
    pool: &SqlitePool,
    polls: &[PollToWrite],
) -> Vec<Result<Counts, StoreError>> {
    let written = runtime
        .block_on(pool.acquire())
        .map_err(StoreError::from)
        .and_then(|mut connection| {
            let mut handle = runtime.block_on(connection.lock_handle())?;
            // SAFETY: while `handle` lives sqlx makes no call on this
            // connection, and `db` is dropped before `handle`; a connection
            // made from a handle does not close it when dropped.
            let mut db = unsafe {
                rusqlite::Connection::from_handle(handle.as_raw_handle().as_ptr().cast())
            }?;
            // A bug in the write must not stop the writer: the transaction
            // rolls back as the panic unwinds, and the group's polls fail.
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| write_each(&mut db, polls)))
                .map_err(|_| StoreError::Write("the database writer panicked".into()))
        });
    written.unwrap_or_else(|error| {
        polls
            .iter()
            .map(|_| Err(StoreError::Write(error.to_string())))
            .collect()
    })
}

/// Writes the group in one transaction; if that fails, each poll in its own,
/// so one bad poll never costs the others their write.
fn write_each(
    db: &mut rusqlite::Connection,
    polls: &[PollToWrite],
) -> Vec<Result<Counts, StoreError>> {
    match write_group(db, polls) {
        Ok(counts) => counts.into_iter().map(Ok).collect(),
        Err(error) if polls.len() == 1 => vec![Err(error)],
        Err(_) => polls
            .iter()
            .map(|poll| write_group(db, std::slice::from_ref(poll)).map(|counts| counts[0]))
            .collect(),
    }
}

/// The group's one transaction: its articles, each source's new state and a
/// fetch-log row per poll. `BEGIN IMMEDIATE` takes the write lock first, so
/// another process's writer is waited for (the busy timeout) rather than
/// failing the group half-way.
fn write_group(
    db: &mut rusqlite::Connection,
    polls: &[PollToWrite],
) -> Result<Vec<Counts>, StoreError> {
    let tx = db.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let articles: Vec<ingest::PollArticles> = polls
        .iter()
        .map(|poll| ingest::PollArticles {
            source_id: poll.record.source_id,
            now: to_db(poll.record.started_at),
            recently: to_db(poll.record.started_at - ingest::LAST_SEEN_STEP),
            articles: poll.feed.as_ref().map_or(&[], |feed| &feed.articles),
        })
        .collect();
    let counts = ingest::store_articles(&tx, &articles)?;
    update_sources(&tx, polls)?;
    log_fetches(&tx, polls, &counts)?;
    tx.commit()?;
    Ok(counts)
}

/// Each polled source's new state: what the fetch learned and when it is due next.
fn update_sources(db: &rusqlite::Connection, polls: &[PollToWrite]) -> rusqlite::Result<()> {
    let mut update = db.prepare_cached(
        "UPDATE sources SET
             feed_title = CASE WHEN ?2 THEN ?3 ELSE feed_title END,
             feed_link = CASE WHEN ?2 THEN ?4 ELSE feed_link END,
             etag = CASE WHEN ?5 THEN ?6 ELSE etag END,
             last_modified = CASE WHEN ?5 THEN ?7 ELSE last_modified END,
             last_polled = ?8,
             last_success = CASE WHEN ?5 THEN ?8 ELSE last_success END,
             last_status = ?9, last_error = ?10, error_count = ?11, next_due = ?12,
             last_warnings = CASE WHEN ?2 THEN ?13 ELSE last_warnings END,
             interval_seconds = ?14, interval_reason = ?15
           WHERE id = ?1",
    )?;
    for poll in polls {
        let record = &poll.record;
        let feed = poll.feed.as_ref().map(|feed| &feed.feed);
        update.execute(rusqlite::params![
            record.source_id,
            feed.is_some(),
            feed.and_then(|f| f.title.as_deref()),
            feed.and_then(|f| f.link.as_deref()),
            matches!(record.outcome, Outcome::Ok | Outcome::NotModified),
            record.etag,
            record.last_modified,
            to_db(record.started_at),
            record.outcome.as_str(),
            record.error,
            record.error_count,
            to_db(record.next_due),
            poll.feed.as_ref().and_then(warnings_text),
            record.cadence.interval.as_secs() as i64,
            record.cadence.reason,
        ])?;
    }
    Ok(())
}

/// A stored interval and its reason.
fn cadence(seconds: Option<i64>, reason: Option<String>) -> Option<Cadence> {
    Some(Cadence {
        interval: Duration::from_secs(seconds?.max(0) as u64),
        reason: reason?,
    })
}

/// A feed's warnings as stored: one a line, `NULL` for none.
fn warnings_text(feed: &NormalizedFeed) -> Option<String> {
    (!feed.warnings.is_empty()).then(|| feed.warnings.join("\n"))
}

/// A fetch-log row per poll.
fn log_fetches(
    db: &rusqlite::Connection,
    polls: &[PollToWrite],
    counts: &[Counts],
) -> rusqlite::Result<()> {
    let mut insert = db.prepare_cached(
        "INSERT INTO fetch_log (source_id, started_at, duration_ms, outcome, http_status, bytes,
                                new_articles, updated_articles, unchanged_articles, error,
                                warnings)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?;
    for (poll, counts) in polls.iter().zip(counts) {
        let record = &poll.record;
        insert.execute(rusqlite::params![
            record.source_id,
            to_db(record.started_at),
            record.duration.as_millis() as i64,
            record.outcome.as_str(),
            record.http_status,
            record.bytes as i64,
            counts.new as i64,
            counts.updated as i64,
            counts.unchanged as i64,
            record.error,
            poll.feed.as_ref().and_then(warnings_text),
        ])?;
    }
    Ok(())
}

/// The checkpoint task: copies committed pages from the WAL into the database
/// file on its own connection after commits, so the writer never stops for it
/// (SQLite's own checkpoint runs inside the commit that crosses its threshold,
/// and waits for the disk). PASSIVE never blocks the writer or readers.
async fn checkpoint(pool: SqlitePool, mut commits: mpsc::Receiver<()>) {
    while commits.recv().await.is_some() {
        match sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&pool)
            .await
        {
            Ok(_) => {}
            Err(sqlx::Error::PoolClosed) => return,
            Err(error) => tracing::warn!("checkpoint failed: {error}"),
        }
        tokio::time::sleep(CHECKPOINT_EVERY).await;
    }
}
