//! The writer: one thread that takes polls as they finish and commits every
//! poll that is waiting in one transaction (each poll all or nothing), then
//! merges the search index while it is idle.

use std::time::Duration;

use sqlx::SqlitePool;
use tokio::sync::mpsc;

use super::ingest;
use crate::article::NormalizedFeed;
use crate::read::dates::to_db;
use crate::store::group::{FinishedPoll, Group, QueuedPoll};
use crate::store::plan::{self, Planned};
use crate::store::types::{Counts, Outcome, StoreError};

/// Most polls committed together.
pub(super) const GROUP_COMMIT: usize = 256;

/// A group that begins with a poll that read no feed (not modified, or
/// failed) and has fewer polls than this behind it waits [`GATHER_FOR`] for
/// more: such polls write only their source's state, and a transaction of a
/// few of them costs more in its commit (the WAL's whole pages) and its
/// statements than in its rows. A warm poll of 1,000 feeds was 37 groups,
/// 19 now. Polls that read feeds are written at once: a cold poll's groups
/// grow by themselves, as its writer is the slower side.
const GATHER_UNDER: usize = 32;
const GATHER_FOR: Duration = Duration::from_millis(3);

/// The writer: takes polls as they finish and commits every poll that is
/// waiting in one transaction (a few polls that read no feed wait a moment
/// for more, see [`GATHER_UNDER`]).
///
/// It runs on a thread of its own: each group is one long blocking call into
/// SQLite (see `on_writer`).
pub(super) fn commit_polls(
    runtime: &tokio::runtime::Handle,
    pool: &SqlitePool,
    mut queue: mpsc::Receiver<QueuedPoll>,
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
        if !first.read_a_feed() && queue.len() < GATHER_UNDER {
            std::thread::sleep(GATHER_FOR);
        }
        let group = Group::after(first, &mut queue, GROUP_COMMIT);
        tracing::debug!("committing {} polls", group.polls.len());
        let results = write_group(runtime, pool, &group.polls, &mut recent);
        // Full means a checkpoint is already due.
        let _ = committed.try_send(());
        let polls = group.answer(results);
        // Freeing a group's articles is work the writer, which bounds a
        // large poll, need not wait for.
        runtime.spawn_blocking(move || drop(polls));
        unmerged = true;
    }
}

/// Writes a group of polls and returns each poll's result; a panic in the
/// write fails the group's polls, never the writer.
fn write_group(
    runtime: &tokio::runtime::Handle,
    pool: &SqlitePool,
    polls: &[FinishedPoll],
    recent: &mut ingest::Recent,
) -> Vec<Result<Counts, StoreError>> {
    let written = on_writer(runtime, pool, |db| {
        // A bug in the write must not stop the writer: the transaction
        // rolls back as the panic unwinds, and the group's polls fail.
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            together_or_apart(db, polls, recent)
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
/// per statement, on the stage that bounds a cold poll. So the writer
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
pub(super) fn through_rusqlite<T>(
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
/// writes (`automerge`), while a poll waits, so the index is
/// created with automerge off (migration 0006) and merged here instead, a
/// bounded step at a time, each its own transaction, so a poll that arrives
/// waits for one step at most. FTS5 still merges by itself once a level
/// holds 16 segments (`crisismerge`), so neither a one-shot `tidings poll`
/// nor hand edits pile them up.
fn merge_while_idle(
    runtime: &tokio::runtime::Handle,
    pool: &SqlitePool,
    queue: &mpsc::Receiver<QueuedPoll>,
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
fn together_or_apart(
    db: &mut rusqlite::Connection,
    polls: &[FinishedPoll],
    recent: &mut ingest::Recent,
) -> Vec<Result<Counts, StoreError>> {
    match in_one_transaction(db, polls, recent) {
        Ok(counts) => counts.into_iter().map(Ok).collect(),
        Err(error) if polls.len() == 1 => vec![Err(error)],
        Err(_) => polls
            .iter()
            .map(|poll| {
                in_one_transaction(db, std::slice::from_ref(poll), recent).map(|counts| counts[0])
            })
            .collect(),
    }
}

/// Writes `polls` in one transaction; when it fails, the writer forgets
/// what it learned of the database while writing them (their plan and new
/// articles are remembered but not stored).
fn in_one_transaction(
    db: &mut rusqlite::Connection,
    polls: &[FinishedPoll],
    recent: &mut ingest::Recent,
) -> Result<Vec<Counts>, StoreError> {
    let written = transaction(db, polls, recent);
    if written.is_err() {
        recent.forget();
    }
    written
}

/// The one transaction: the polls' articles, each source's new state and a
/// fetch-log row per poll. `BEGIN IMMEDIATE` takes the write lock first, so
/// another process's writer is waited for (the busy timeout) rather than
/// failing the group half-way.
fn transaction(
    db: &mut rusqlite::Connection,
    polls: &[FinishedPoll],
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
            recalled: poll.feed.as_ref().map_or(&[], |feed| &feed.recalled),
            full_content: poll.record.full_content,
            cluster: poll.record.cluster,
        })
        .collect();
    let planned = ingest::store_articles(&tx, &articles, recent)?;
    update_sources(&tx, polls, &planned)?;
    let counts: Vec<Counts> = planned.iter().map(|poll| poll.counts).collect();
    log_fetches(&tx, polls, &counts)?;
    tx.commit()?;
    Ok(counts)
}

/// Each polled source's new state: what the fetch learned, what its reading
/// was (`planned`, a poll each) and when it is due next.
fn update_sources(
    db: &rusqlite::Connection,
    polls: &[FinishedPoll],
    planned: &[Planned],
) -> rusqlite::Result<()> {
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
             body_hash = CASE WHEN ?2 THEN ?16 ELSE body_hash END,
             entry_memory = CASE WHEN ?2 THEN ?17 ELSE entry_memory END
           WHERE id = ?1",
    )?;
    for (poll, planned) in polls.iter().zip(planned) {
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
            planned.memory_bytes(),
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
    polls: &[FinishedPoll],
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
