//! Writing a poll's articles: a handful of multi-row statements per poll,
//! however many entries the feed has.
//!
//! The rules are DESIGN.md's:
//! - a new key is a new article;
//! - a known key from a feed that did not carry it before adds that feed and its
//!   categories to the article;
//! - a known key whose feed now delivers a different version updates the article
//!   in place (the feed's own last version decides, so two feeds with slightly
//!   different copies of one story do not overwrite each other on every poll);
//! - an unchanged entry only moves `last_seen`.

use std::collections::HashMap;

use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

use super::{Counts, StoreError};
use crate::article::Article;
use crate::dates::to_db;

/// Rows per multi-row statement: well under SQLite's limit of bound parameters.
const CHUNK: usize = 64;

/// What the database knows of a key before this poll.
struct Known {
    id: i64,
    published: String,
    /// The hash this source last delivered, if it carried the article before.
    delivered: Option<String>,
    /// The last category position in use.
    last_position: i64,
}

/// An article this poll writes links for: its id, when it was published and
/// where its next category goes.
struct Linked<'a> {
    id: i64,
    published: String,
    next_position: i64,
    article: &'a Article,
}

/// Stores one source's articles inside the poll's transaction.
pub(super) async fn store_articles(
    tx: &mut SqliteConnection,
    source_id: i64,
    articles: &[Article],
    now: &str,
) -> Result<Counts, StoreError> {
    let known = known_keys(tx, source_id, articles).await?;
    let mut fresh = Vec::new();
    let mut changed = Vec::new();
    let mut joined = Vec::new();
    let mut unchanged = Vec::new();
    for article in articles {
        match known.get(article.key.as_str()) {
            None => fresh.push(article),
            Some(k) if k.delivered.is_none() => joined.push((k, article)),
            Some(k) if k.delivered.as_deref() == Some(article.content_hash.as_str()) => {
                unchanged.push(k.id)
            }
            Some(k) => changed.push((k, article)),
        }
    }
    let counts = Counts {
        new: fresh.len() as u64,
        updated: changed.len() as u64,
        unchanged: (joined.len() + unchanged.len()) as u64,
    };

    let mut linked = insert_articles(tx, &fresh, now).await?;
    update_articles(tx, &changed, now).await?;
    let existing = changed.iter().chain(&joined).map(|(k, article)| Linked {
        id: k.id,
        published: article
            .published
            .map(to_db)
            .unwrap_or_else(|| k.published.clone()),
        next_position: k.last_position + 1,
        article,
    });
    linked.extend(existing);
    link_sources(tx, source_id, &linked, now).await?;
    add_categories(tx, &linked).await?;
    // Category feeds read the publication time from their own index.
    let changed_ids: Vec<i64> = changed.iter().map(|(k, _)| k.id).collect();
    for_ids(tx, "UPDATE article_categories SET published = (SELECT published FROM articles WHERE id = article_id) WHERE article_id IN ", &changed_ids, None).await?;
    // New and changed rows were written with this time; the rest only move it.
    let seen: Vec<i64> = joined.iter().map(|(k, _)| k.id).chain(unchanged).collect();
    for_ids(tx, "UPDATE articles SET last_seen = ", &seen, Some(now)).await?;
    Ok(counts)
}

/// Runs `prefix (ids...)`, or for `now`, `prefix now WHERE id IN (ids...)`.
async fn for_ids(
    tx: &mut SqliteConnection,
    prefix: &str,
    ids: &[i64],
    now: Option<&str>,
) -> Result<(), StoreError> {
    for chunk in ids.chunks(CHUNK * 8) {
        let mut query = QueryBuilder::<Sqlite>::new(prefix);
        if let Some(now) = now {
            query.push_bind(now.to_string()).push(" WHERE id IN ");
        }
        push_list(&mut query, chunk.iter().copied());
        query.build().execute(&mut *tx).await?;
    }
    Ok(())
}

/// Appends `(?, ?, ...)` with one bound value each, for `IN`.
fn push_list<T>(query: &mut QueryBuilder<Sqlite>, values: impl IntoIterator<Item = T>)
where
    T: for<'q> sqlx::Encode<'q, Sqlite> + sqlx::Type<Sqlite> + 'static,
{
    query.push("(");
    let mut list = query.separated(", ");
    for value in values {
        list.push_bind(value);
    }
    list.push_unseparated(")");
}

async fn known_keys(
    tx: &mut SqliteConnection,
    source_id: i64,
    articles: &[Article],
) -> Result<HashMap<String, Known>, StoreError> {
    let mut known = HashMap::new();
    for chunk in articles.chunks(CHUNK * 8) {
        let mut query = QueryBuilder::<Sqlite>::new(
            "SELECT a.key, a.id, a.published, x.content_hash,
                    (SELECT coalesce(max(position), -1) FROM article_categories c WHERE c.article_id = a.id)
               FROM articles a
               LEFT JOIN article_sources x ON x.article_id = a.id AND x.source_id = ",
        );
        query.push_bind(source_id).push(" WHERE a.key IN ");
        push_list(&mut query, chunk.iter().map(|a| a.key.clone()));
        for row in query.build().fetch_all(&mut *tx).await? {
            let entry = Known {
                id: row.get(1),
                published: row.get(2),
                delivered: row.get(3),
                last_position: row.get(4),
            };
            known.insert(row.get(0), entry);
        }
    }
    Ok(known)
}

/// Inserts new articles (an entry without a date is dated when first seen) and
/// indexes their text.
async fn insert_articles<'a>(
    tx: &mut SqliteConnection,
    articles: &[&'a Article],
    now: &str,
) -> Result<Vec<Linked<'a>>, StoreError> {
    let mut linked = Vec::with_capacity(articles.len());
    for chunk in articles.chunks(CHUNK) {
        let mut query = QueryBuilder::<Sqlite>::new(
            "INSERT INTO articles (key, title, link, guid, author, published, updated, summary,
                                   content_html, image, content_hash, first_seen, last_seen) ",
        );
        query.push_values(chunk, |mut b, a| {
            let published = a.published.map(to_db).unwrap_or_else(|| now.to_string());
            b.push_bind(a.key.clone())
                .push_bind(a.title.clone())
                .push_bind(a.link.clone())
                .push_bind(a.guid.clone())
                .push_bind(a.author.clone())
                .push_bind(published)
                .push_bind(a.updated.map(to_db))
                .push_bind(a.summary.clone())
                .push_bind(a.content_html.clone())
                .push_bind(a.image.clone())
                .push_bind(a.content_hash.clone())
                .push_bind(now.to_string())
                .push_bind(now.to_string());
        });
        query.push(" RETURNING id, published");
        let rows = query.build().fetch_all(&mut *tx).await?;
        // RETURNING gives the rows in the order of VALUES.
        for (row, article) in rows.into_iter().zip(chunk) {
            linked.push(Linked {
                id: row.get(0),
                published: row.get(1),
                next_position: 0,
                article,
            });
        }
    }
    index_text(
        tx,
        &linked.iter().map(|l| (l.id, l.article)).collect::<Vec<_>>(),
    )
    .await?;
    Ok(linked)
}

/// Rewrites articles whose feed changed them. `updated` moves to the entry's own
/// updated time when the feed gives a newer one, else to now.
async fn update_articles(
    tx: &mut SqliteConnection,
    changed: &[(&Known, &Article)],
    now: &str,
) -> Result<(), StoreError> {
    for (known, a) in changed {
        sqlx::query(
            "UPDATE articles SET title = ?2, link = ?3, author = ?4, published = coalesce(?5, published),
                    updated = CASE WHEN ?6 > coalesce(updated, '') THEN ?6 ELSE ?11 END,
                    summary = ?7, content_html = ?8, image = ?9, content_hash = ?10, last_seen = ?11
              WHERE id = ?1",
        )
        .bind(known.id)
        .bind(&a.title)
        .bind(&a.link)
        .bind(&a.author)
        .bind(a.published.map(to_db))
        .bind(a.updated.map(to_db))
        .bind(&a.summary)
        .bind(&a.content_html)
        .bind(&a.image)
        .bind(&a.content_hash)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    let rows: Vec<(i64, &Article)> = changed.iter().map(|(k, a)| (k.id, *a)).collect();
    index_text(tx, &rows).await
}

/// Records that this source carries each article in this version, with the id it gave it.
async fn link_sources(
    tx: &mut SqliteConnection,
    source_id: i64,
    linked: &[Linked<'_>],
    now: &str,
) -> Result<(), StoreError> {
    for chunk in linked.chunks(CHUNK) {
        let mut query = QueryBuilder::<Sqlite>::new(
            "INSERT INTO article_sources (article_id, source_id, guid, content_hash, first_seen) ",
        );
        query.push_values(chunk, |mut b, l| {
            b.push_bind(l.id)
                .push_bind(source_id)
                .push_bind(l.article.guid.clone())
                .push_bind(l.article.content_hash.clone())
                .push_bind(now.to_string());
        });
        query.push(
            " ON CONFLICT (article_id, source_id) DO UPDATE
                 SET guid = excluded.guid, content_hash = excluded.content_hash",
        );
        query.build().execute(&mut *tx).await?;
    }
    Ok(())
}

/// Adds each article's categories after the ones it already has, keeping their order.
async fn add_categories(
    tx: &mut SqliteConnection,
    linked: &[Linked<'_>],
) -> Result<(), StoreError> {
    let rows: Vec<(&Linked, i64, &String)> = linked
        .iter()
        .flat_map(|l| {
            (l.next_position..)
                .zip(&l.article.categories)
                .map(move |(position, c)| (l, position, c))
        })
        .collect();
    for chunk in rows.chunks(CHUNK) {
        let mut query = QueryBuilder::<Sqlite>::new(
            "INSERT OR IGNORE INTO article_categories (article_id, category, position, published) ",
        );
        query.push_values(chunk, |mut b, (l, position, category)| {
            b.push_bind(l.id)
                .push_bind((*category).clone())
                .push_bind(*position)
                .push_bind(l.published.clone());
        });
        query.build().execute(&mut *tx).await?;
    }
    Ok(())
}

/// Puts the title and summary of new and changed articles in the search index
/// (the whole text would make it several times larger and slower to write).
async fn index_text(tx: &mut SqliteConnection, rows: &[(i64, &Article)]) -> Result<(), StoreError> {
    for chunk in rows.chunks(CHUNK) {
        let mut query = QueryBuilder::<Sqlite>::new(
            "INSERT OR REPLACE INTO articles_fts (rowid, title, body) ",
        );
        query.push_values(chunk, |mut b, (id, a)| {
            b.push_bind(*id)
                .push_bind(a.title.clone())
                .push_bind(a.summary.clone());
        });
        query.build().execute(&mut *tx).await?;
    }
    Ok(())
}
