//! Writing polls to PostgreSQL. Polls with entries are written in groups
//! (`store::group`, see `writer`), each group in one transaction: the
//! sources' leases checked first, what happens to each entry decided by `store::plan`, the
//! stories of its new articles, then the rows written a statement per table
//! (arrays through `UNNEST`), the new articles last. A poll with no entries
//! (a 304, an error) is one statement of its own: the source's state and its
//! log.
//!
//! Other pollers write at the same time. Ids come from the articles'
//! sequence. Groups that carry the same keys take turns: each takes an
//! advisory lock per key before it looks them up, so the second finds the
//! first's new articles known. Should an article appear anyway (a hand
//! insert), the key's unique index settles it: the insert finds the key
//! taken, and the group goes back to a savepoint to plan again. New articles
//! are written last, so that their keys' index entries, which another
//! writer of the same key waits for, are held the shortest time. The rows
//! that name an article are not checked against it by foreign keys
//! (migration 0011): the group holds the stored articles it links instead.
//! Rows are locked and written in key or id order, so two writers take their
//! locks in the same order; a deadlock that happens anyway is retried with
//! the whole transaction.

use chrono::{DateTime, Utc};
use hashbrown::{HashMap, HashSet};
use sqlx::postgres::PgPool;
use sqlx::{Postgres, Row, Transaction};
use xxhash_rust::xxh3::xxh3_64;

use super::stories;
use crate::article::{Article, NormalizedFeed};
use crate::cluster::Story;
use crate::read::dates::to_db;
use crate::store::plan::{
    CategoryRow, Delivery, Known, LastSeen, PageRow, Plan, Planned, PollArticles, StoredAs,
    earlier_keys, plan, recalled_ids, stored_key,
};
use crate::store::types::{Counts, Outcome, PollRecord, StoreError};

/// Plans of one group at most: each lost race for a new key makes the next
/// plan find one more key known, so this is only a bound against a bug.
const PLANS: usize = 1_000;

/// Writes a poll with no entries (most polls: 304 Not Modified): the
/// source's state and its log, in one statement that checks the lease, on a
/// connection that does not wait for the disk (a poll lost in a crash of the
/// server is polled again).
pub(super) async fn record_nothing(
    unsynced: &PgPool,
    record: &PollRecord,
    feed: Option<&NormalizedFeed>,
) -> Result<Counts, StoreError> {
    let nothing = Planned {
        counts: Counts::default(),
        memory: Default::default(),
    };
    match update_source(unsynced, record, feed, &nothing).await? {
        true => Ok(nothing.counts),
        false => Err(StoreError::LeaseLost(record.source_id)),
    }
}

/// Why a write failed, and whether trying again may help.
pub(super) enum Retry {
    /// A deadlock or serialization failure.
    Sql(sqlx::Error),
    No(StoreError),
}

impl From<sqlx::Error> for Retry {
    fn from(error: sqlx::Error) -> Self {
        let retryable = error
            .as_database_error()
            .and_then(|e| e.code())
            .is_some_and(|code| code == "40P01" || code == "40001");
        if retryable {
            Retry::Sql(error)
        } else {
            Retry::No(error.into())
        }
    }
}

/// Groups that carry the same keys take turns (the locks are sorted, so
/// they cannot deadlock): the second finds the first's new articles known
/// instead of racing it to insert them.
pub(super) async fn take_turns_on_keys(
    tx: &mut Transaction<'_, Postgres>,
    polls: &[PollArticles<'_>],
) -> Result<(), sqlx::Error> {
    let mut keys: Vec<i64> = polls
        .iter()
        .flat_map(|poll| poll.articles)
        .map(|a| xxh3_64(a.key.as_bytes()) as i64)
        .collect();
    keys.sort_unstable();
    keys.dedup();
    if !keys.is_empty() {
        sqlx::query(
            "SELECT count(pg_advisory_xact_lock(k)) FROM (SELECT unnest($1::bigint[]) AS k ORDER BY 1) s",
        )
        .bind(&keys)
        .fetch_one(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Plans the group and writes its rows, planning again from a savepoint
/// when another poller stored one of its new keys first.
pub(super) async fn plan_and_write(
    tx: &mut Transaction<'_, Postgres>,
    polls: &[PollArticles<'_>],
) -> Result<Vec<Planned>, Retry> {
    let mut plans = 0;
    loop {
        let stored_as = look_up_earlier_keys(tx, polls).await?;
        let mut known = look_up_keys(tx, polls, &stored_as).await?;
        let mut last_seen = look_up_last_seen(tx, polls).await?;
        let new_keys: HashSet<&str> = stored_keys(polls, &stored_as)
            .filter(|key| !known.contains_key(*key))
            .collect();
        let ids: Vec<i64> = if new_keys.is_empty() {
            Vec::new()
        } else {
            sqlx::query_scalar(
                "SELECT nextval(pg_get_serial_sequence('articles', 'id')) FROM generate_series(1, $1)",
            )
            .bind(new_keys.len() as i64)
            .fetch_all(&mut **tx)
            .await?
        };
        let (plan, planned) = plan(
            polls,
            &mut known,
            &stored_as,
            &mut last_seen,
            ids.into_iter(),
        );
        if plan.fresh.is_empty() {
            write_plan(tx, &plan).await?;
            return Ok(planned);
        }
        let stories = stories::assign(tx, &plan.fresh).await?;
        sqlx::query("SAVEPOINT plan").execute(&mut **tx).await?;
        stories::record(tx, &plan.fresh, &stories).await?;
        write_plan(tx, &plan).await?;
        if insert_articles(tx, &plan.fresh, &stories).await? {
            return Ok(planned);
        }
        sqlx::query("ROLLBACK TO SAVEPOINT plan")
            .execute(&mut **tx)
            .await?;
        plans += 1;
        if plans == PLANS {
            return Err(Retry::No(StoreError::Write(
                "other pollers kept storing the same articles first".into(),
            )));
        }
    }
}

/// The poll's entries stored under an earlier key of theirs (see
/// `plan::StoredAs`); a query only for polls with entries that have one.
async fn look_up_earlier_keys(
    tx: &mut Transaction<'_, Postgres>,
    polls: &[PollArticles<'_>],
) -> Result<StoredAs, sqlx::Error> {
    let wanted = earlier_keys(polls);
    let mut stored_as = StoredAs::new();
    if wanted.is_empty() {
        return Ok(stored_as);
    }
    let rows = sqlx::query(
        "SELECT w.earlier, w.key, w.source_id
           FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[])
                AS w (earlier, key, source_id, guid, title)
           JOIN articles a ON a.key = w.earlier
           JOIN article_sources x ON x.article_id = a.id AND x.source_id = w.source_id
          WHERE x.guid = w.guid
             OR (w.guid IS NULL AND x.guid IS NULL AND a.title = w.title)",
    )
    .bind(wanted.iter().map(|w| w.earlier).collect::<Vec<&str>>())
    .bind(wanted.iter().map(|w| w.key).collect::<Vec<&str>>())
    .bind(wanted.iter().map(|w| w.source_id).collect::<Vec<i64>>())
    .bind(wanted.iter().map(|w| w.guid).collect::<Vec<Option<&str>>>())
    .bind(wanted.iter().map(|w| w.title).collect::<Vec<&str>>())
    .fetch_all(&mut **tx)
    .await?;
    for row in rows {
        stored_as.insert((row.get(2), row.get(1)), row.get(0));
    }
    Ok(stored_as)
}

/// The key each entry of the group is stored under (see `plan::stored_key`).
fn stored_keys<'a>(
    polls: &'a [PollArticles<'a>],
    stored_as: &'a StoredAs,
) -> impl Iterator<Item = &'a str> {
    polls.iter().flat_map(move |poll| {
        (poll.articles.iter()).map(move |article| stored_key(article, poll.source_id, stored_as))
    })
}

/// What the database knows of the group's keys: the article, what each
/// source last delivered, and its categories.
async fn look_up_keys(
    tx: &mut Transaction<'_, Postgres>,
    polls: &[PollArticles<'_>],
    stored_as: &StoredAs,
) -> Result<HashMap<String, Known>, sqlx::Error> {
    let keys: Vec<&str> = stored_keys(polls, stored_as)
        .collect::<HashSet<&str>>()
        .into_iter()
        .collect();
    let mut known: HashMap<String, Known> = HashMap::new();
    if keys.is_empty() {
        return Ok(known);
    }
    // Held until the group commits, as the foreign keys' checks held them
    // (migration 0011): a DELETE of an article the group links waits for the
    // group and takes its rows with it.
    let rows = sqlx::query(
        "SELECT a.key, a.id, a.published, a.last_seen, x.source_id, x.content_hash
           FROM articles a LEFT JOIN article_sources x ON x.article_id = a.id
          WHERE a.key = ANY($1)
            FOR KEY SHARE OF a",
    )
    .bind(&keys)
    .fetch_all(&mut **tx)
    .await?;
    let mut key_of: HashMap<i64, String> = HashMap::new();
    for row in rows {
        let key: String = row.get(0);
        let entry = known.entry(key.clone()).or_insert_with(|| {
            key_of.insert(row.get(1), key);
            Known {
                id: row.get(1),
                published: to_db(row.get::<DateTime<Utc>, _>(2)),
                last_seen: to_db(row.get::<DateTime<Utc>, _>(3)),
                labels: Vec::new(),
                last_position: -1,
                delivered: Vec::new(),
            }
        });
        if let Some(source_id) = row.get::<Option<i64>, _>(4) {
            entry.deliver(source_id, row.get(5));
        }
    }
    let ids: Vec<i64> = key_of.keys().copied().collect();
    if ids.is_empty() {
        return Ok(known);
    }
    for row in sqlx::query(
        "SELECT article_id, category, position FROM article_categories WHERE article_id = ANY($1)",
    )
    .bind(&ids)
    .fetch_all(&mut **tx)
    .await?
    {
        if let Some(entry) = key_of
            .get(&row.get::<i64, _>(0))
            .and_then(|key| known.get_mut(key))
        {
            entry.labels.push(row.get(1));
            entry.last_position = entry.last_position.max(row.get(2));
        }
    }
    Ok(known)
}

/// When the articles of the group's recalled entries were last seen (see
/// `plan::LastSeen`); a query only for groups that have recalled entries.
async fn look_up_last_seen(
    tx: &mut Transaction<'_, Postgres>,
    polls: &[PollArticles<'_>],
) -> Result<LastSeen, sqlx::Error> {
    let ids = recalled_ids(polls);
    if ids.is_empty() {
        return Ok(LastSeen::new());
    }
    let rows: Vec<(i64, DateTime<Utc>)> =
        sqlx::query_as("SELECT id, last_seen FROM articles WHERE id = ANY($1)")
            .bind(&ids)
            .fetch_all(&mut **tx)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(id, seen)| (id, to_db(seen)))
        .collect())
}

/// Inserts the new articles in their stories, in key order; `false` when
/// another poller stored one of their keys first.
async fn insert_articles(
    tx: &mut Transaction<'_, Postgres>,
    fresh: &[Delivery<'_>],
    stories: &[Story],
) -> Result<bool, sqlx::Error> {
    if fresh.is_empty() {
        return Ok(true);
    }
    // The article's own texts, bound as they are; the others, made for the row.
    let texts = |get: fn(&Article) -> Option<&str>| -> Vec<Option<&str>> {
        fresh.iter().map(|new| get(new.article)).collect()
    };
    let column = |get: fn(&Delivery<'_>) -> Option<String>| -> Vec<Option<String>> {
        fresh.iter().map(get).collect()
    };
    let inserted = sqlx::query(
        "INSERT INTO articles (id, key, title, link, guid, author, published, updated, summary,
                               content_html, image, content_hash, first_seen, last_seen, plain_text,
                               source_html, story_id)
         SELECT id, key, title, link, guid, author, published::timestamptz, updated::timestamptz,
                summary, content_html, image, content_hash, seen::timestamptz, seen::timestamptz,
                plain_text, source_html, story
           FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                       $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[],
                       $13::text[], $14::text[], $15::text[], $16::bigint[])
             AS t(id, key, title, link, guid, author, published, updated, summary, content_html,
                  image, content_hash, seen, plain_text, source_html, story)
          ORDER BY key
         ON CONFLICT (key) DO NOTHING",
    )
    .bind(fresh.iter().map(|new| new.id).collect::<Vec<_>>())
    .bind(texts(|a| Some(&a.key)))
    .bind(texts(|a| Some(&a.title)))
    .bind(texts(|a| a.link.as_deref()))
    .bind(texts(|a| a.guid.as_deref()))
    .bind(texts(|a| Some(&a.author)))
    .bind(column(|new| Some(new.published())))
    .bind(column(|new| new.article.updated.map(to_db)))
    .bind(column(|new| Some(new.article.summary.text().into_owned())))
    .bind(texts(|a| Some(&a.content.html)))
    .bind(texts(|a| a.image.as_deref()))
    .bind(texts(|a| Some(&a.content_hash)))
    .bind(column(|new| Some(new.seen_at.to_string())))
    .bind(texts(|a| Some(&a.content.text)))
    .bind(texts(|a| a.source_html.as_deref()))
    .bind(stories.iter().map(|story| story.id).collect::<Vec<_>>())
    .execute(&mut **tx)
    .await?;
    Ok(inserted.rows_affected() == fresh.len() as u64)
}

/// Every other row the plan changes.
async fn write_plan(
    tx: &mut Transaction<'_, Postgres>,
    plan: &Plan<'_>,
) -> Result<(), sqlx::Error> {
    update_articles(tx, &plan.changed).await?;
    link_sources(tx, &plan.links).await?;
    add_categories(tx, &plan.categories).await?;
    queue_pages(tx, &plan.pages).await?;
    see_again(tx, &plan.seen).await?;
    Ok(())
}

/// Articles whose source now delivers another version: their content (a
/// page's stays when the article was read from its page), the source's
/// delivery, and the date their categories sort by.
async fn update_articles(
    tx: &mut Transaction<'_, Postgres>,
    changed: &[Delivery<'_>],
) -> Result<(), sqlx::Error> {
    for change in changed {
        let a = change.article;
        sqlx::query(
            "UPDATE articles SET title = $2, link = $3, author = $4,
                    published = coalesce($5::timestamptz, published),
                    updated = CASE WHEN $6::timestamptz > coalesce(updated, '-infinity')
                                   THEN $6::timestamptz ELSE $11::timestamptz END,
                    summary = $7, content_hash = $10, last_seen = $11::timestamptz,
                    content_html = CASE WHEN page.read THEN content_html ELSE $8 END,
                    plain_text = CASE WHEN page.read THEN plain_text ELSE $12 END,
                    source_html = CASE WHEN page.read THEN source_html ELSE $13 END,
                    image = CASE WHEN page.read THEN coalesce($9, image) ELSE $9 END
               FROM (SELECT EXISTS (SELECT 1 FROM article_pages
                                     WHERE article_id = $1 AND state = 'fetched') AS read) page
              WHERE id = $1",
        )
        .bind(change.id)
        .bind(&a.title)
        .bind(&a.link)
        .bind(&a.author)
        .bind(a.published.map(to_db))
        .bind(a.updated.map(to_db))
        .bind(a.summary.text())
        .bind(&a.content.html)
        .bind(&a.image)
        .bind(&a.content_hash)
        .bind(change.seen_at)
        .bind(&a.content.text)
        .bind(&a.source_html)
        .execute(&mut **tx)
        .await?;
        sqlx::query(
            "UPDATE article_sources SET guid = $3, content_hash = $4
              WHERE article_id = $1 AND source_id = $2",
        )
        .bind(change.id)
        .bind(change.source_id)
        .bind(&a.guid)
        .bind(&a.content_hash)
        .execute(&mut **tx)
        .await?;
        sqlx::query(
            "UPDATE article_categories SET published = (SELECT published FROM articles WHERE id = $1)
              WHERE article_id = $1",
        )
        .bind(change.id)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// The sources that now carry an article: new ones, and joined ones.
async fn link_sources(
    tx: &mut Transaction<'_, Postgres>,
    links: &[Delivery<'_>],
) -> Result<(), sqlx::Error> {
    if links.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO article_sources (article_id, source_id, guid, content_hash, first_seen)
         SELECT id, source_id, guid, hash, seen::timestamptz
           FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[])
             AS t(id, source_id, guid, hash, seen)
          ORDER BY id
         ON CONFLICT (article_id, source_id) DO NOTHING",
    )
    .bind(links.iter().map(|l| l.id).collect::<Vec<_>>())
    .bind(links.iter().map(|l| l.source_id).collect::<Vec<_>>())
    .bind(
        links
            .iter()
            .map(|l| l.article.guid.clone())
            .collect::<Vec<_>>(),
    )
    .bind(
        links
            .iter()
            .map(|l| l.article.content_hash.clone())
            .collect::<Vec<_>>(),
    )
    .bind(links.iter().map(|l| l.seen_at).collect::<Vec<_>>())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The labels articles gain.
async fn add_categories(
    tx: &mut Transaction<'_, Postgres>,
    categories: &[CategoryRow<'_>],
) -> Result<(), sqlx::Error> {
    if categories.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO article_categories (article_id, category, position, published)
         SELECT id, category, position, published::timestamptz
           FROM UNNEST($1::bigint[], $2::text[], $3::bigint[], $4::text[])
             AS t(id, category, position, published)
          ORDER BY id, category
         ON CONFLICT (article_id, category) DO NOTHING",
    )
    .bind(categories.iter().map(|c| c.id).collect::<Vec<_>>())
    .bind(categories.iter().map(|c| c.label).collect::<Vec<_>>())
    .bind(categories.iter().map(|c| c.position).collect::<Vec<_>>())
    .bind(
        categories
            .iter()
            .map(|c| c.published.as_str())
            .collect::<Vec<_>>(),
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The pages of new articles, due at once.
async fn queue_pages(
    tx: &mut Transaction<'_, Postgres>,
    pages: &[PageRow<'_>],
) -> Result<(), sqlx::Error> {
    if pages.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO article_pages (article_id, source_id, url, next_attempt)
         SELECT id, source_id, url, due::timestamptz
           FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::text[])
             AS t(id, source_id, url, due)",
    )
    .bind(pages.iter().map(|p| p.id).collect::<Vec<_>>())
    .bind(pages.iter().map(|p| p.source_id).collect::<Vec<_>>())
    .bind(pages.iter().map(|p| p.url).collect::<Vec<_>>())
    .bind(pages.iter().map(|p| p.now).collect::<Vec<_>>())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// When articles seen again were last seen.
async fn see_again(
    tx: &mut Transaction<'_, Postgres>,
    seen: &[(i64, &str)],
) -> Result<(), sqlx::Error> {
    if seen.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "UPDATE articles a SET last_seen = t.seen::timestamptz
           FROM UNNEST($1::bigint[], $2::text[]) AS t(id, seen) WHERE a.id = t.id",
    )
    .bind(seen.iter().map(|(id, _)| *id).collect::<Vec<_>>())
    .bind(seen.iter().map(|(_, seen)| *seen).collect::<Vec<_>>())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The source's new state, its lease released, and a fetch-log row, in one
/// statement; `false` (nothing written) when the lease the poll was claimed
/// under no longer holds. Times are the database's: the next poll is due
/// the poll's interval after now by its clock.
pub(super) async fn update_source(
    db: impl sqlx::PgExecutor<'_>,
    record: &PollRecord,
    feed: Option<&NormalizedFeed>,
    planned: &Planned,
) -> Result<bool, sqlx::Error> {
    let counts = &planned.counts;
    let parsed = feed.map(|feed| &feed.feed);
    let warnings = feed
        .filter(|feed| !feed.warnings.is_empty())
        .map(|feed| feed.warnings.join("\n"));
    let fetched = matches!(record.outcome, Outcome::Ok | Outcome::NotModified);
    let due_in = (record.next_due - record.started_at)
        .num_milliseconds()
        .max(0) as f64
        / 1000.0;
    let logged = sqlx::query(
        "WITH updated AS (
             UPDATE sources SET
                 feed_title = CASE WHEN $2 THEN $3 ELSE feed_title END,
                 feed_link = CASE WHEN $2 THEN $4 ELSE feed_link END,
                 etag = CASE WHEN $5 THEN $6 ELSE etag END,
                 last_modified = CASE WHEN $5 THEN $7 ELSE last_modified END,
                 last_polled = now(),
                 last_success = CASE WHEN $5 THEN now() ELSE last_success END,
                 last_status = $8, last_error = $9, error_count = $10,
                 next_due = now() + make_interval(secs => $11),
                 last_warnings = CASE WHEN $2 THEN $12 ELSE last_warnings END,
                 interval_seconds = $13, interval_reason = $14,
                 body_hash = CASE WHEN $2 THEN $22 ELSE body_hash END,
                 entry_memory = CASE WHEN $2 THEN $23 ELSE entry_memory END,
                 lease_token = NULL, lease_until = NULL
               WHERE id = $1 AND ($15::text IS NULL OR lease_token = $15)
             RETURNING id)
         INSERT INTO fetch_log (source_id, started_at, duration_ms, outcome, http_status, bytes,
                                new_articles, updated_articles, unchanged_articles, error, warnings)
         SELECT id, now() - make_interval(secs => $16 / 1000.0), $16, $8, $17, $18, $19, $20, $21,
                $9, $12
           FROM updated
         RETURNING source_id",
    )
    .bind(record.source_id)
    .bind(parsed.is_some())
    .bind(parsed.and_then(|f| f.title.as_deref()))
    .bind(parsed.and_then(|f| f.link.as_deref()))
    .bind(fetched)
    .bind(&record.etag)
    .bind(&record.last_modified)
    .bind(record.outcome.as_str())
    .bind(&record.error)
    .bind(i64::from(record.error_count))
    .bind(due_in)
    .bind(&warnings)
    .bind(record.cadence.interval.as_secs() as i64)
    .bind(&record.cadence.reason)
    .bind(&record.lease)
    .bind(record.duration.as_millis() as i64)
    .bind(record.http_status.map(i64::from))
    .bind(record.bytes as i64)
    .bind(counts.new as i64)
    .bind(counts.updated as i64)
    .bind(counts.unchanged as i64)
    .bind(&record.body_hash)
    .bind(planned.memory_bytes())
    .fetch_optional(db)
    .await?;
    Ok(logged.is_some())
}
