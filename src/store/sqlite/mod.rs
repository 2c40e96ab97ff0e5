//! SQLite: opening and migrating, the per-poll write, and what only SQLite
//! does (its search candidates, checkpoints); what both engines read and
//! change is `store::reads` and `store::commands`.
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
use tokio::sync::{mpsc, oneshot};

mod ingest;
mod stories;

use super::types::{Counts, Outcome, PollRecord, StoreError};
use crate::article::NormalizedFeed;
use crate::config::Storage;
use crate::read::dates::to_db;
use crate::store::plan;

/// The database of one tidings instance.
#[derive(Clone)]
pub struct SqliteStore {
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
const WRITER_CACHE_KIB: i64 = 24 * 1024;

impl SqliteStore {
    /// Opens (creating if needed) and migrates the database.
    pub async fn open(path: &Path, storage: &Storage) -> Result<SqliteStore, StoreError> {
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
        // The writer's rows are consistent by construction (the ids come from
        // its own plan), and checking the parent of every row of
        // article_sources and article_categories cost a tenth of a cold poll.
        // The declared keys stay, for readers, and a hand DELETE is tidied by
        // a trigger, as the tools people use leave foreign keys off anyway.
        let writer_options = options
            .clone()
            .foreign_keys(false)
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
        .map_err(|source| StoreError::Open {
            path: shown.to_string(),
            source,
        })?;
    let mut connection = writer.acquire().await?;
    define_functions(&mut connection).await?;
    sqlx::migrate!("./migrations/sqlite")
        .run(&mut *connection)
        .await
        .map_err(|source| StoreError::Migrate {
            path: shown.to_string(),
            source,
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

/// The writer: takes polls as they finish and commits every poll that is
/// waiting in one transaction.
///
/// It runs on a thread of its own: each group is one long blocking call into
/// SQLite (see `on_writer`).
fn commit_polls(
    runtime: &tokio::runtime::Handle,
    pool: &SqlitePool,
    mut queue: mpsc::Receiver<PollWrite>,
    committed: mpsc::Sender<()>,
) {
    // sqlx returns a connection to its pool with a task on the runtime.
    let _runtime = runtime.enter();
    let mut recent = ingest::Recent::default();
    // Whether the search index may have segments to merge: groups were
    // written since the last merge, or an earlier process (a one-shot
    // `tidings poll`) left them.
    let mut unmerged = true;
    loop {
        let first = if unmerged {
            match runtime.block_on(tokio::time::timeout(MERGE_WHEN_IDLE_FOR, queue.recv())) {
                Ok(first) => first,
                Err(_idle) => {
                    merge_while_idle(runtime, pool, &queue);
                    unmerged = false;
                    continue;
                }
            }
        } else {
            queue.blocking_recv()
        };
        let Some(first) = first else { break };
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
        let results = write_polls(runtime, pool, &polls, &mut recent);
        // Full means a checkpoint is already due.
        let _ = committed.try_send(());
        for (reply, result) in replies.into_iter().zip(results) {
            let _ = reply.send(result);
        }
        // Freeing a group's articles is a few percent of the writer's time,
        // which is the time of a large poll.
        runtime.spawn_blocking(move || drop(polls));
        unmerged = true;
    }
}

/// Writes a group of polls and returns each poll's result.
fn write_polls(
    runtime: &tokio::runtime::Handle,
    pool: &SqlitePool,
    polls: &[PollToWrite],
    recent: &mut ingest::Recent,
) -> Vec<Result<Counts, StoreError>> {
    let written = on_writer(runtime, pool, |db| {
        // A bug in the write must not stop the writer: the transaction
        // rolls back as the panic unwinds, and the group's polls fail.
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            write_each(db, polls, recent)
        }))
        .map_err(|_| {
            recent.forget();
            StoreError::Write("the database writer panicked".into())
        })
    });
    written.unwrap_or_else(|error| {
        polls
            .iter()
            .map(|_| Err(StoreError::Write(error.to_string())))
            .collect()
    })
}

/// Runs `work` on the writer's connection through rusqlite.
///
/// sqlx runs each statement on its connection's worker thread: a round trip
/// between threads, a copy of every bound value and a fresh parse of the SQL
/// per statement, which made the writer the slowest stage. So the writer
/// thread talks to the same connection through rusqlite (sqlx opens,
/// configures and migrates it, and runs every other query), with statements
/// prepared once per group.
fn on_writer<T>(
    runtime: &tokio::runtime::Handle,
    pool: &SqlitePool,
    work: impl FnOnce(&mut rusqlite::Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let mut connection = runtime.block_on(pool.acquire())?;
    let mut handle = runtime.block_on(connection.lock_handle())?;
    through_rusqlite(&mut handle, work)
}

/// Runs `work` through rusqlite on the connection behind a locked sqlx handle.
fn through_rusqlite<T>(
    handle: &mut sqlx::sqlite::LockedSqliteHandle<'_>,
    work: impl FnOnce(&mut rusqlite::Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    // SAFETY: while `handle` is borrowed sqlx makes no call on this
    // connection, and `db` is dropped before this returns; a connection made
    // from a handle does not close it when dropped.
    let mut db =
        unsafe { rusqlite::Connection::from_handle(handle.as_raw_handle().as_ptr().cast()) }?;
    work(&mut db)
}

/// Merges the search index's segments once the writer has been idle for
/// [`MERGE_WHEN_IDLE_FOR`], until a poll arrives.
///
/// Each write of the index adds a segment; FTS5 would merge them as it
/// writes (`automerge`), which cost a tenth of a cold poll, so the index is
/// created with automerge off (migration 0006) and merged here instead, a
/// bounded step at a time, each its own transaction, so a poll that arrives
/// waits for one step at most. FTS5 still merges by itself once a level
/// holds 16 segments (`crisismerge`), so neither a one-shot `tidings poll`
/// nor hand edits pile them up.
fn merge_while_idle(
    runtime: &tokio::runtime::Handle,
    pool: &SqlitePool,
    queue: &mpsc::Receiver<PollWrite>,
) {
    let merged = on_writer(runtime, pool, |db| {
        while queue.is_empty() {
            let before = db.total_changes();
            db.execute(
                "INSERT INTO articles_fts (articles_fts, rank) VALUES ('merge', ?1)",
                [MERGE_STEP_PAGES],
            )?;
            // FTS5's documented test for "there was nothing left to merge".
            if db.total_changes() - before < 2 {
                break;
            }
        }
        Ok(())
    });
    if let Err(error) = merged {
        tracing::warn!("merging the search index failed: {error}");
    }
}

/// Pages of the search index one merge step writes at most: a few milliseconds.
const MERGE_STEP_PAGES: i64 = 64;

/// How long the writer waits for polls before merging the search index: the
/// gaps between the groups of a large poll are shorter.
const MERGE_WHEN_IDLE_FOR: Duration = Duration::from_secs(2);

/// Writes the group in one transaction; if that fails, each poll in its own,
/// so one bad poll never costs the others their write.
fn write_each(
    db: &mut rusqlite::Connection,
    polls: &[PollToWrite],
    recent: &mut ingest::Recent,
) -> Vec<Result<Counts, StoreError>> {
    match write_group(db, polls, recent) {
        Ok(counts) => counts.into_iter().map(Ok).collect(),
        Err(error) if polls.len() == 1 => vec![Err(error)],
        Err(_) => polls
            .iter()
            .map(|poll| write_group(db, std::slice::from_ref(poll), recent).map(|counts| counts[0]))
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
    recent: &mut ingest::Recent,
) -> Result<Vec<Counts>, StoreError> {
    let written = write_group_once(db, polls, recent);
    if written.is_err() {
        recent.forget();
    }
    written
}

/// [`write_group`], which forgets what the writer learned when this fails.
fn write_group_once(
    db: &mut rusqlite::Connection,
    polls: &[PollToWrite],
    recent: &mut ingest::Recent,
) -> Result<Vec<Counts>, StoreError> {
    let tx = db.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let articles: Vec<plan::PollArticles> = polls
        .iter()
        .map(|poll| plan::PollArticles {
            source_id: poll.record.source_id,
            now: to_db(poll.record.started_at),
            recently: to_db(poll.record.started_at - plan::LAST_SEEN_STEP),
            articles: poll.feed.as_ref().map_or(&[], |feed| &feed.articles),
            full_content: poll.record.full_content,
            cluster: poll.record.cluster,
        })
        .collect();
    let counts = ingest::store_articles(&tx, &articles, recent)?;
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
             interval_seconds = ?14, interval_reason = ?15,
             body_hash = CASE WHEN ?2 THEN ?16 ELSE body_hash END
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
            record.body_hash,
        ])?;
    }
    Ok(())
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

/// See [`lock_sources`].
pub(in crate::store) async fn add_bands(
    _tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    _article: &crate::store::ArticleText,
    _fingerprint: &crate::cluster::Fingerprint,
) -> Result<(), sqlx::Error> {
    Ok(())
}
