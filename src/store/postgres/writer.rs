//! PostgreSQL's writers: tasks that take the polls waiting in the queue a
//! group at a time and write each group in one transaction (`ingest` says
//! what it writes), tried again after a deadlock, and poll by poll should
//! the group fail otherwise.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use hashbrown::HashMap;
use sqlx::Row;
use sqlx::postgres::PgPool;
use tokio::sync::{Mutex, mpsc};

use super::ingest::{Retry, plan_and_write, take_turns_on_keys, update_source};
use crate::read::dates::to_db;
use crate::store::group::{FinishedPoll, Group, QueuedPoll};
use crate::store::plan::{LAST_SEEN_STEP, PollArticles};
use crate::store::types::{Counts, PollRecord, StoreError};

/// Tries at writing a group that met a deadlock or a serialization failure.
const ATTEMPTS: u32 = 10;

/// Polls written together at most. A group's stories read their candidates
/// once for all its articles, and the polls of one group that carry the
/// same story look it up once.
pub(super) const GROUP: usize = 128;

/// A writer: takes the polls waiting in `queue` a group at a time and writes
/// each group, until the queue closes. Several writers share the queue, so
/// one gathers its next group while another's is written.
pub(super) async fn write_queue(pool: PgPool, queue: Arc<Mutex<mpsc::Receiver<QueuedPoll>>>) {
    loop {
        let group = {
            let mut queue = queue.lock().await;
            let Some(first) = queue.recv().await else {
                return;
            };
            Group::after(first, &mut queue, GROUP)
        };
        let results = write_group(&pool, &group.polls).await;
        group.answer(results);
    }
}

/// Writes a group in one transaction; should that fail (but for a deadlock,
/// which is tried again), each poll alone, so that a poll's failure is its
/// own. A poll whose lease no longer holds is refused, and the rest written.
async fn write_group(pool: &PgPool, polls: &[FinishedPoll]) -> Vec<Result<Counts, StoreError>> {
    match with_retries(pool, polls).await {
        Ok(results) => results,
        Err(error) if polls.len() == 1 => vec![Err(error)],
        Err(_) => {
            let mut results = Vec::with_capacity(polls.len());
            for poll in polls {
                let alone = with_retries(pool, std::slice::from_ref(poll)).await;
                results.push(alone.and_then(|mut result| result.remove(0)));
            }
            results
        }
    }
}

/// Writes `polls` in one transaction, tried again after a deadlock.
async fn with_retries(
    pool: &PgPool,
    polls: &[FinishedPoll],
) -> Result<Vec<Result<Counts, StoreError>>, StoreError> {
    let mut attempt = 1;
    loop {
        match write_polls(pool, polls).await {
            Err(Retry::Sql(_)) if attempt < ATTEMPTS => {
                attempt += 1;
                let wait = rand::random_range(10..50 * u64::from(attempt));
                tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
            }
            Err(Retry::Sql(error)) => return Err(error.into()),
            Err(Retry::No(error)) => return Err(error),
            Ok(results) => return Ok(results),
        }
    }
}

/// The transaction of a group: each poll's result, in order (a poll whose
/// lease was lost is refused, the others are written).
async fn write_polls(
    pool: &PgPool,
    polls: &[FinishedPoll],
) -> Result<Vec<Result<Counts, StoreError>>, Retry> {
    let mut tx = pool.begin().await?;
    // The sources' rows, locked until commit, in id order: the leases are
    // checked and kept.
    let ids: Vec<i64> = polls.iter().map(|poll| poll.record.source_id).collect();
    let rows = sqlx::query(
        "SELECT now(), id, lease_token FROM sources WHERE id = ANY($1) ORDER BY id FOR UPDATE",
    )
    .bind(&ids)
    .fetch_all(&mut *tx)
    .await?;
    let now: DateTime<Utc> = match rows.first() {
        Some(row) => row.get(0),
        None => {
            sqlx::query_scalar("SELECT now()")
                .fetch_one(&mut *tx)
                .await?
        }
    };
    let tokens: HashMap<i64, Option<String>> =
        rows.iter().map(|row| (row.get(1), row.get(2))).collect();
    let holds = |record: &PollRecord| {
        tokens
            .get(&record.source_id)
            .is_some_and(|token| record.lease.is_none() || *token == record.lease)
    };
    let (written, articles): (Vec<&FinishedPoll>, Vec<PollArticles>) = polls
        .iter()
        .filter(|poll| holds(&poll.record))
        .map(|poll| {
            let articles = PollArticles {
                source_id: poll.record.source_id,
                now: to_db(now),
                recently: to_db(now - LAST_SEEN_STEP),
                articles: poll.feed.as_ref().map_or(&[], |feed| &feed.articles),
                recalled: poll.feed.as_ref().map_or(&[], |feed| &feed.recalled),
                full_content: poll.record.full_content,
                cluster: poll.record.cluster,
            };
            (poll, articles)
        })
        .unzip();
    take_turns_on_keys(&mut tx, &articles).await?;
    let planned = plan_and_write(&mut tx, &articles).await?;
    for (poll, planned) in written.iter().zip(&planned) {
        // Checked above with the row locked, so this holds; should it not,
        // the group is written poll by poll.
        if !update_source(&mut *tx, &poll.record, poll.feed.as_ref(), planned).await? {
            return Err(Retry::No(StoreError::LeaseLost(poll.record.source_id)));
        }
    }
    tx.commit().await?;
    let mut counts = planned.into_iter().map(|planned| planned.counts);
    Ok(polls
        .iter()
        .map(|poll| match holds(&poll.record) {
            true => Ok(counts.next().expect("counts for each written poll")),
            false => Err(StoreError::LeaseLost(poll.record.source_id)),
        })
        .collect())
}
