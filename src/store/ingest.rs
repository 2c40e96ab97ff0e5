//! Writing the articles of a group of polls: decide in memory what happens to
//! every entry, then write the whole group with a handful of statements.
//!
//! The writer is the one stage that cannot run on both cores, so it does as
//! little as it can per row: one query learns what the database knows of every
//! key in the group, and each table is then written with a few multi-row
//! statements, however many polls and entries the group has.
//!
//! The rules are DESIGN.md's:
//! - a new key is a new article;
//! - a known key from a feed that did not carry it before adds that feed and its
//!   categories to the article;
//! - a known key whose feed now delivers a different version updates the article
//!   in place (the feed's own last version decides, so two feeds with slightly
//!   different copies of one story do not overwrite each other on every poll);
//! - an unchanged entry only moves `last_seen`, and only when it is more than
//!   [`LAST_SEEN_STEP`] old.
//!
//! Multi-row statements are `OR FAIL` and foreign keys are checked at commit
//! (see `write_group`): a failed statement fails the whole group transaction
//! anyway, and a statement that cannot abort half-way needs no statement
//! journal, the copy SQLite otherwise makes of every page it changes.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

use sqlx::query_builder::Separated;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

use super::{Counts, StoreError};
use crate::article::Article;
use crate::dates::to_db;

/// One poll's share of a group: who delivered the articles, and when.
pub(super) struct PollArticles<'a> {
    pub source_id: i64,
    /// The poll's start, as stored: when its articles were seen.
    pub now: String,
    /// `now` less [`LAST_SEEN_STEP`], as stored.
    pub recently: String,
    pub articles: &'a [Article],
}

/// How stale `last_seen` may be before a sighting moves it. A story that many
/// feeds carry is seen again by each of them within seconds; rewriting its
/// row, content and all, for each of them cost a tenth of a 5,000-feed cold poll.
pub(super) const LAST_SEEN_STEP: chrono::TimeDelta = chrono::TimeDelta::minutes(1);

/// Rows one multi-row statement writes: each statement holds a copy of its
/// values, and a few hundred rows already make the per-statement cost small.
/// At 14 values a row this is far below SQLite's limit of bound values.
const ROWS_PER_STATEMENT: usize = 256;

/// Writes `rows` with multi-row statements `head VALUES (...), (...) tail`,
/// `bind` giving each row's values.
pub(super) async fn write_rows<T>(
    tx: &mut SqliteConnection,
    head: &str,
    rows: &[T],
    tail: &str,
    mut bind: impl FnMut(&mut Separated<'_, Sqlite, &'static str>, &T),
) -> Result<(), StoreError> {
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let mut query = QueryBuilder::<Sqlite>::new(head);
        query.push_values(chunk, |mut values, row| bind(&mut values, row));
        query.push(tail);
        query.build().persistent(false).execute(&mut *tx).await?;
    }
    Ok(())
}

/// What the database (or an earlier poll of the group) knows of a key.
struct Known {
    id: i64,
    published: String,
    last_seen: String,
    /// The last category position in use.
    last_position: i64,
    /// The hash each source that carries the article last delivered.
    delivered: HashMap<i64, String>,
}

/// One entry as one source delivered it in one poll.
#[derive(Clone, Copy)]
struct Delivery<'a> {
    /// The article's id, new or known.
    id: i64,
    source_id: i64,
    article: &'a Article,
    /// When the poll saw it.
    seen_at: &'a str,
}

impl Delivery<'_> {
    /// The date a new article is stored with: its own, else when it was first seen.
    fn published(&self) -> String {
        self.article
            .published
            .map(to_db)
            .unwrap_or_else(|| self.seen_at.to_string())
    }
}

/// A row of `article_categories`.
struct CategoryRow<'a> {
    id: i64,
    label: &'a str,
    position: i64,
    published: String,
}

/// Every row the group writes.
#[derive(Default)]
struct Plan<'a> {
    /// New articles, in id order.
    fresh: Vec<Delivery<'a>>,
    /// Articles whose source now delivers another version.
    changed: Vec<Delivery<'a>>,
    /// Deliveries from a source that did not carry the article yet: new or joined.
    links: Vec<Delivery<'a>>,
    categories: Vec<CategoryRow<'a>>,
    /// Articles seen again: `(id, seen_at)`.
    seen: Vec<(i64, &'a str)>,
}

/// Stores the articles of every poll in `polls` inside the group's
/// transaction, and returns what happened to each poll's entries.
pub(super) async fn store_articles(
    tx: &mut SqliteConnection,
    polls: &[PollArticles<'_>],
) -> Result<Vec<Counts>, StoreError> {
    let mut known = known_keys(tx, polls).await?;
    let first_new_id: i64 = sqlx::query_scalar("SELECT coalesce(max(id), 0) + 1 FROM articles")
        .fetch_one(&mut *tx)
        .await?;
    let (plan, counts) = plan(polls, &mut known, first_new_id);

    insert_articles(tx, &plan.fresh).await?;
    update_articles(tx, &plan.changed).await?;
    link_sources(tx, &plan.links).await?;
    add_categories(tx, &plan.categories).await?;
    let changed_ids: Vec<i64> = plan.changed.iter().map(|change| change.id).collect();
    if !changed_ids.is_empty() {
        // Category feeds read the publication time from their own index.
        sqlx::query(
            "UPDATE OR FAIL article_categories SET published = (SELECT published FROM articles WHERE id = article_id)
              WHERE article_id IN (SELECT value FROM json_each(?))",
        )
        .bind(json(&changed_ids))
        .execute(&mut *tx)
        .await?;
    }
    if !plan.seen.is_empty() {
        sqlx::query(
            "UPDATE OR FAIL articles SET last_seen = seen.value ->> 1
               FROM json_each(?) AS seen WHERE articles.id = seen.value ->> 0",
        )
        .bind(json(&plan.seen))
        .execute(&mut *tx)
        .await?;
    }
    index_text(tx, first_new_id, &changed_ids).await?;
    Ok(counts)
}

/// Decides what happens to each entry, poll by poll in queue order, so a story
/// that two polls of the group carry is new in the first and joined in the second.
fn plan<'a>(
    polls: &'a [PollArticles<'a>],
    known: &mut HashMap<String, Known>,
    first_new_id: i64,
) -> (Plan<'a>, Vec<Counts>) {
    let mut plan = Plan::default();
    let mut counts = Vec::with_capacity(polls.len());
    let mut next_id = first_new_id;
    for poll in polls {
        let now = poll.now.as_str();
        let mut count = Counts::default();
        let mut seen_again = |entry: &mut Known| {
            if entry.last_seen < poll.recently {
                entry.last_seen = now.to_string();
                plan.seen.push((entry.id, now));
            }
        };
        for article in poll.articles {
            let hash = &article.content_hash;
            let mut delivery = Delivery {
                id: next_id,
                source_id: poll.source_id,
                article,
                seen_at: now,
            };
            let entry = match known.entry(article.key.clone()) {
                Entry::Occupied(entry) => {
                    let entry = entry.into_mut();
                    delivery.id = entry.id;
                    match entry.delivered.get(&poll.source_id) {
                        Some(delivered) if delivered == hash => {
                            count.unchanged += 1;
                            seen_again(entry);
                            continue;
                        }
                        Some(_) => {
                            count.updated += 1;
                            plan.changed.push(delivery);
                            if let Some(published) = article.published {
                                entry.published = to_db(published);
                            }
                        }
                        // Joined: a story this source had not carried before.
                        None => {
                            count.unchanged += 1;
                            seen_again(entry);
                            plan.links.push(delivery);
                        }
                    }
                    entry
                }
                Entry::Vacant(slot) => {
                    count.new += 1;
                    next_id += 1;
                    plan.fresh.push(delivery);
                    plan.links.push(delivery);
                    slot.insert(Known {
                        id: delivery.id,
                        published: delivery.published(),
                        last_seen: now.to_string(),
                        last_position: -1,
                        delivered: HashMap::new(),
                    })
                }
            };
            entry.delivered.insert(poll.source_id, hash.clone());
            for label in &article.categories {
                entry.last_position += 1;
                plan.categories.push(CategoryRow {
                    id: entry.id,
                    label,
                    position: entry.last_position,
                    published: entry.published.clone(),
                });
            }
        }
        counts.push(count);
    }
    (plan, counts)
}

/// What the database knows of every key of the group, with what each source
/// last delivered.
async fn known_keys(
    tx: &mut SqliteConnection,
    polls: &[PollArticles<'_>],
) -> Result<HashMap<String, Known>, StoreError> {
    let keys: HashSet<&str> = polls
        .iter()
        .flat_map(|p| p.articles.iter().map(|a| a.key.as_str()))
        .collect();
    let mut known: HashMap<String, Known> = HashMap::with_capacity(keys.len());
    if keys.is_empty() {
        return Ok(known);
    }
    let rows = sqlx::query(
        "SELECT a.key, a.id, a.published, a.last_seen,
                (SELECT coalesce(max(position), -1) FROM article_categories c WHERE c.article_id = a.id),
                x.source_id, x.content_hash
           FROM json_each(?) AS wanted
           JOIN articles a ON a.key = wanted.value
           LEFT JOIN article_sources x ON x.article_id = a.id",
    )
    .bind(json(&keys))
    .fetch_all(&mut *tx)
    .await?;
    for row in rows {
        let entry = known.entry(row.get(0)).or_insert_with(|| Known {
            id: row.get(1),
            published: row.get(2),
            last_seen: row.get(3),
            last_position: row.get(4),
            delivered: HashMap::new(),
        });
        if let Some(source_id) = row.get::<Option<i64>, _>(5) {
            entry.delivered.insert(source_id, row.get(6));
        }
    }
    Ok(known)
}

/// Inserts new articles with the ids the plan gave them (an entry without a
/// date is dated when first seen).
async fn insert_articles(
    tx: &mut SqliteConnection,
    fresh: &[Delivery<'_>],
) -> Result<(), StoreError> {
    write_rows(
        tx,
        "INSERT OR FAIL INTO articles (id, key, title, link, guid, author, published, updated, summary,
                               content_html, image, content_hash, first_seen, last_seen) ",
        fresh,
        "",
        |values, new| {
            let a = new.article;
            values
                .push_bind(new.id)
                .push_bind(a.key.clone())
                .push_bind(a.title.clone())
                .push_bind(a.link.clone())
                .push_bind(a.guid.clone())
                .push_bind(a.author.clone())
                .push_bind(new.published())
                .push_bind(a.updated.map(to_db))
                .push_bind(a.summary.clone())
                .push_bind(a.content_html.clone())
                .push_bind(a.image.clone())
                .push_bind(a.content_hash.clone())
                .push_bind(new.seen_at.to_string())
                .push_bind(new.seen_at.to_string());
        },
    )
    .await
}

/// Rewrites articles whose feed changed them, and what that feed last
/// delivered. `updated` moves to the entry's own updated time when the feed
/// gives a newer one, else to now.
async fn update_articles(
    tx: &mut SqliteConnection,
    changed: &[Delivery<'_>],
) -> Result<(), StoreError> {
    for change in changed {
        let a = change.article;
        sqlx::query(
            "UPDATE articles SET title = ?2, link = ?3, author = ?4, published = coalesce(?5, published),
                    updated = CASE WHEN ?6 > coalesce(updated, '') THEN ?6 ELSE ?11 END,
                    summary = ?7, content_html = ?8, image = ?9, content_hash = ?10, last_seen = ?11
              WHERE id = ?1",
        )
        .bind(change.id)
        .bind(&a.title)
        .bind(&a.link)
        .bind(&a.author)
        .bind(a.published.map(to_db))
        .bind(a.updated.map(to_db))
        .bind(&a.summary)
        .bind(&a.content_html)
        .bind(&a.image)
        .bind(&a.content_hash)
        .bind(change.seen_at)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE article_sources SET guid = ?3, content_hash = ?4
              WHERE article_id = ?1 AND source_id = ?2",
        )
        .bind(change.id)
        .bind(change.source_id)
        .bind(&a.guid)
        .bind(&a.content_hash)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// Records that each source carries each article in this version, with the id it gave it.
async fn link_sources(tx: &mut SqliteConnection, links: &[Delivery<'_>]) -> Result<(), StoreError> {
    write_rows(
        tx,
        "INSERT OR FAIL INTO article_sources (article_id, source_id, guid, content_hash, first_seen) ",
        links,
        "",
        |values, link| {
            values
                .push_bind(link.id)
                .push_bind(link.source_id)
                .push_bind(link.article.guid.clone())
                .push_bind(link.article.content_hash.clone())
                .push_bind(link.seen_at.to_string());
        },
    )
    .await
}

/// Adds each article's categories after the ones it already has, keeping their order.
async fn add_categories(
    tx: &mut SqliteConnection,
    categories: &[CategoryRow<'_>],
) -> Result<(), StoreError> {
    write_rows(
        tx,
        "INSERT OR IGNORE INTO article_categories (article_id, category, position, published) ",
        categories,
        "",
        |values, row| {
            values
                .push_bind(row.id)
                .push_bind(row.label.to_string())
                .push_bind(row.position)
                .push_bind(row.published.clone());
        },
    )
    .await
}

/// Puts the title and summary of new and changed articles in the search index
/// (the whole text would make it several times larger and slower to write).
///
/// Runs last in the transaction, in two statements: FTS5 writes its pending
/// terms to disk at the start of every later statement of the transaction, so
/// indexing poll by poll cut the index into many small segments and merged them
/// over and over. New articles are the ids from `first_new_id` on.
async fn index_text(
    tx: &mut SqliteConnection,
    first_new_id: i64,
    changed_ids: &[i64],
) -> Result<(), StoreError> {
    if !changed_ids.is_empty() {
        sqlx::query(
            "INSERT OR REPLACE INTO articles_fts (rowid, title, body)
             SELECT id, title, summary FROM articles
              WHERE id < ?1 AND id IN (SELECT value FROM json_each(?2))",
        )
        .bind(first_new_id)
        .bind(json(changed_ids))
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query(
        "INSERT OR FAIL INTO articles_fts (rowid, title, body)
         SELECT id, title, summary FROM articles WHERE id >= ?",
    )
    .bind(first_new_id)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// A list bound as one JSON value, for `json_each`: any length, one statement.
fn json<T: serde::Serialize + ?Sized>(values: &T) -> String {
    serde_json::to_string(values).expect("ids, keys and times are JSON")
}
