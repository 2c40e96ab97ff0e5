//! SQLite: opening and migrating, the per-poll write, and what only SQLite
//! does (its search candidates, checkpoints); what both engines read and
//! change is `store::reads`, `store::stories` and `store::contents`.
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

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use tokio::sync::mpsc;

mod ingest;
mod stories;
mod writer;

use writer::{GROUP_COMMIT, commit_polls, through_rusqlite};

use super::group::Queue;
use super::types::{Counts, PollRecord, StoreError};
use crate::article::NormalizedFeed;
use crate::config::Storage;

/// The database of one tidings instance.
#[derive(Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    readers: SqlitePool,
    /// The connection the checkpoint task uses.
    checkpoints: SqlitePool,
    polls: Queue,
}

/// Tries at opening the database. Two processes that open a new database at
/// once race to create it, and SQLite answers the loser "locked" or "table
/// already exists"; each try sees what the other has committed by then.
const OPEN_ATTEMPTS: u32 = 5;

/// Wait before the second try at opening; it grows with each try.
const OPEN_RETRY: Duration = Duration::from_millis(200);

/// WAL size (256 MiB with our page size) at which the writer checkpoints by itself. The checkpoint
/// task normally keeps the WAL far below this; it is the bound if that task falls behind.
const WAL_LIMIT_BYTES: u32 = 256 << 20;

/// Least time between two checkpoints, so a busy writer's WAL is copied in
/// steps, not after every commit. Short enough that a poll of a few hundred
/// milliseconds (an update round) is copied while it runs, not all at its
/// close: a second between them left the round's whole WAL, and its
/// `fsync`s, to the close (docs/performance.md).
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

/// Page size of a new database. An article with its content is a few
/// kilobytes, so 4 KiB pages (SQLite's default) held one row and a lot of
/// empty space each; 16 KiB pages make the database a third smaller and its
/// writes and checkpoints fewer, larger ones. SQLite keeps an existing
/// database's page size.
const PAGE_SIZE: u32 = 16 * 1024;

/// Page cache of the writer connection, in KiB: the indexes a poll touches
/// stay in memory. 24 MiB took the same time at 1,000 and 5,000 feeds and
/// 8 MB more memory; 48 MiB saved 7% at 5,000 feeds for 27 MB more.
const WRITER_CACHE_KIB: i64 = 16 * 1024;

impl SqliteStore {
    /// Opens (creating if needed) and migrates the database.
    pub async fn open(path: &Path, storage: &Storage) -> Result<SqliteStore, StoreError> {
        let shown = path.display().to_string();
        let open_error = |cause| StoreError::Open {
            path: shown.clone(),
            cause,
        };
        let options = SqliteConnectOptions::from_str("sqlite://")
            .map_err(open_error)?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(storage.busy_timeout);
        // The writer's rows are consistent by construction (the ids come from
        // its own plan), so it does not pay to check the parent of every row
        // of article_sources and article_categories.
        // The declared keys stay, for readers, and a hand DELETE is tidied by
        // a trigger, as the tools people use leave foreign keys off anyway.
        // Its temporary files (the statement journal of the multi-row
        // inserts of new articles) are files, as SQLite's default has it:
        // kept in memory they were 2.5 MB of a 5,000-feed cold poll's peak,
        // for no time saved (docs/performance.md).
        let writer_options = options
            .clone()
            .foreign_keys(false)
            .page_size(PAGE_SIZE)
            .pragma("cache_size", format!("-{WRITER_CACHE_KIB}"))
            .pragma(
                "wal_autocheckpoint",
                (WAL_LIMIT_BYTES / PAGE_SIZE).to_string(),
            );
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
        let (polls, queue) = Queue::new(GROUP_COMMIT);
        let (committed, commits) = mpsc::channel(1);
        let runtime = tokio::runtime::Handle::current();
        let pool = writer.clone();
        std::thread::Builder::new()
            .name("tidings-writer".into())
            .spawn(move || commit_polls(&runtime, &pool, queue, committed))
            .map_err(|error| StoreError::Write(format!("cannot start the writer: {error}")))?;
        tokio::spawn(checkpoint(checkpoints.clone(), commits));
        Ok(SqliteStore {
            writer,
            readers,
            checkpoints,
            polls,
        })
    }

    /// The connections that read, for the commands both engines share.
    pub(in crate::store) fn readers(&self) -> &SqlitePool {
        &self.readers
    }

    /// A write transaction on the writer's connection, for the commands both
    /// engines share. `BEGIN IMMEDIATE` takes the write lock first, so another
    /// process's writer is waited for rather than failing half-way.
    pub(in crate::store) async fn begin_write(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
        self.writer.begin_with("BEGIN IMMEDIATE").await
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

    /// Writes one poll: its articles (if the feed was fetched and parsed), the
    /// source's new state and a fetch-log row, all or nothing.
    pub async fn record_poll(
        &self,
        record: PollRecord,
        feed: Option<NormalizedFeed>,
    ) -> Result<Counts, StoreError> {
        self.polls.write(record, feed).await
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

    /// The articles a search for `query` reads, newest first, as a
    /// statement of `id, title, plain_text` and the value it binds.
    ///
    /// A query of three characters or more reads the trigram index, which
    /// gives the articles that have all of its trigrams (`detail = none`
    /// keeps no positions). Few candidates are read and sorted by publication
    /// time; many are met in publication order instead (the `published`
    /// index, newest first, each article looked up in the set of candidates)
    /// until enough match, so a common word costs about what a rare one
    /// does. Shorter queries (common in Chinese: 央行, 股市) have no trigram,
    /// and scan the articles newest first.
    pub(in crate::store) async fn search_candidates(
        &self,
        query: &str,
    ) -> Result<(&'static str, String), StoreError> {
        if query.chars().count() < 3 {
            return Ok((
                "SELECT id, title, plain_text FROM articles
                  WHERE instr(lower(title), $1) OR instr(lower(plain_text), $1)
                  ORDER BY published DESC, id DESC",
                query.to_ascii_lowercase(),
            ));
        }
        let trigrams = trigram_query(query);
        let candidates: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM (SELECT rowid FROM articles_fts WHERE articles_fts MATCH $1
                                    LIMIT $2)",
        )
        .bind(&trigrams)
        .bind(SORT_AT_MOST + 1)
        .fetch_one(&self.readers)
        .await?;
        let sql = if candidates <= SORT_AT_MOST {
            "SELECT id, title, plain_text FROM articles
              WHERE id IN (SELECT rowid FROM articles_fts WHERE articles_fts MATCH $1)
              ORDER BY published DESC, id DESC"
        } else {
            "SELECT id, title, plain_text FROM articles INDEXED BY articles_by_published
              WHERE id IN (SELECT rowid FROM articles_fts WHERE articles_fts MATCH $1)
              ORDER BY published DESC, id DESC"
        };
        Ok((sql, trigrams))
    }
}

/// Candidates of the trigram index a search reads and sorts at most; with
/// more, it walks the articles in publication order instead.
const SORT_AT_MOST: i64 = 2_000;

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
        .map_err(|cause| StoreError::Open {
            path: shown.to_string(),
            cause,
        })?;
    let mut connection = writer.acquire().await?;
    define_functions(&mut connection).await?;
    sqlx::migrate!("./migrations/sqlite")
        .run(&mut *connection)
        .await
        .map_err(|cause| StoreError::Migrate {
            path: shown.to_string(),
            cause,
        })?;
    drop(connection);
    Ok(writer)
}

/// Defines on the writer's connection the SQL functions that migrations use
/// to compute what only tidings knows how to: `tidings_plain_text(html)`, the
/// plain text new articles are stored with.
async fn define_functions(connection: &mut sqlx::SqliteConnection) -> Result<(), StoreError> {
    use rusqlite::functions::FunctionFlags;
    let mut handle = connection.lock_handle().await?;
    through_rusqlite(&mut handle, |db| {
        Ok(db.create_scalar_function(
            "tidings_plain_text",
            1,
            FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
            |call| Ok(crate::text::html_to_text(&call.get::<String>(0)?)),
        )?)
    })
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

/// What the shared SQL asks of the engine where PostgreSQL has more to do:
/// on SQLite, nothing. The sources need no lock (the write transaction holds
/// the database), no host (the one poller keeps its holds and turns in
/// memory), and the window of stories is the writer's memory, not rows.
pub(in crate::store) async fn lock_sources(
    _tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
) -> Result<(), sqlx::Error> {
    Ok(())
}

/// See [`lock_sources`].
pub(in crate::store) async fn note_hosts(
    _tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    _sources: &[crate::config::SourceConfig],
) -> Result<(), sqlx::Error> {
    Ok(())
}

/// See [`lock_sources`].
pub(in crate::store) async fn forget_bands(
    _tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
) -> Result<(), sqlx::Error> {
    Ok(())
}

/// What the window reads of a regrouped article beside its fingerprint:
/// on SQLite its times, kept with the fingerprint (migration 0013).
pub(in crate::store) async fn enter_window(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    article: &crate::store::ArticleText,
    _fingerprint: &crate::cluster::Fingerprint,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE article_fingerprints SET published = $2, stored = $3 WHERE article_id = $1",
    )
    .bind(article.id)
    .bind(article.published)
    .bind(article.stored)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
