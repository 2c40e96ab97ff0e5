//! Stories in the database: which story each new article of a group joins,
//! decided in the writer against the window of recent articles (see
//! `cluster`), with the evidence of each join; and what people do with
//! stories (`tidings story`, `split`, `merge`).

use hashbrown::HashMap;
use rusqlite::{Connection, OptionalExtension, params};
use std::cell::OnceCell;
use std::sync::Arc;

use crate::article::Article;
use crate::cluster::window::{Member, WINDOW, Window};
use crate::cluster::{self, Comparable, Fingerprint, Match};
use crate::dates::{from_db, to_db};
use crate::store::plan::{Delivery, Joined, Story, may_join};
use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{SqliteStore, StoreError};

/// Adds to `window` the articles stored after article `after` (all of the
/// window's span when it is new) that have a fingerprint: what this writer
/// did not add itself, such as another process's articles. Articles stored
/// before the window's span (`now` less [`WINDOW`], unix seconds) are left out.
pub(super) fn top_up_window(
    db: &Connection,
    window: &mut Window,
    after: i64,
    now: i64,
) -> rusqlite::Result<()> {
    let since = chrono::DateTime::from_timestamp(now - WINDOW.num_seconds(), 0)
        .map(to_db)
        .unwrap_or_default();
    // Newest first, by id (the order articles are stored in), until one
    // stored before the span.
    let mut query = db.prepare_cached(
        "SELECT a.id, (SELECT e.story_id FROM story_evidence e WHERE e.article_id = a.id),
                a.published, a.first_seen, f.fingerprint,
                (SELECT o.source_id FROM article_origins o WHERE o.article_id = a.id)
           FROM article_fingerprints f JOIN articles a ON a.id = f.article_id
          WHERE f.article_id > ?1 ORDER BY f.article_id DESC",
    )?;
    let mut rows = query.query([after])?;
    let mut members = Vec::new();
    while let Some(row) = rows.next()? {
        let stored: String = row.get(3)?;
        if stored < since {
            break;
        }
        let fingerprint = row
            .get::<_, Option<Vec<u8>>>(4)?
            .and_then(|bytes| Fingerprint::from_bytes(&bytes));
        let (Some(fingerprint), Some(source_id)) = (fingerprint, row.get::<_, Option<i64>>(5)?)
        else {
            continue;
        };
        let seconds = |text: String| from_db(&text).map_or(0, |t| t.timestamp());
        let id = row.get(0)?;
        let member = Member {
            id,
            // Only an article that joined another's story has evidence.
            story_id: row.get::<_, Option<i64>>(1)?.unwrap_or(id),
            source_id,
            published: seconds(row.get(2)?),
            stored: seconds(stored),
            numbers: fingerprint.numbers.clone().into(),
        };
        members.push((member, fingerprint));
    }
    for (member, fingerprint) in members.into_iter().rev() {
        window.add(member, &fingerprint);
    }
    Ok(())
}

/// Decides the story of each new article of a group, in order (a reprint
/// may follow its original within one group), and adds each to the window.
pub(super) fn assign(
    db: &Connection,
    fresh: &[Delivery<'_>],
    window: &mut Window,
) -> rusqlite::Result<Vec<Story>> {
    let in_group: HashMap<i64, &Article> = fresh.iter().map(|new| (new.id, new.article)).collect();
    let mut stored_text =
        db.prepare_cached("SELECT title, plain_text FROM articles WHERE id = ?1")?;
    let mut current_story = db.prepare_cached(
        "SELECT coalesce((SELECT story_id FROM story_evidence WHERE article_id = ?1), ?1)",
    )?;
    // A template many articles share makes the same few candidates come up
    // again and again: each is read once a group, and a new article that
    // was compared keeps its text for the ones after it.
    let mut read: HashMap<i64, Option<Arc<Comparable>>> = HashMap::new();
    let mut stories = Vec::with_capacity(fresh.len());
    for new in fresh {
        let article = new.article;
        let mut story = Story::alone(new.id);
        if let (true, Some(fingerprint)) = (new.cluster, &article.fingerprint) {
            let seconds = |text: &str| from_db(text).map_or(0, |t| t.timestamp());
            let stored = seconds(new.seen_at);
            let published = article.published.map_or(stored, |t| t.timestamp());
            let mine = OnceCell::new();
            let comparable = || {
                mine.get_or_init(|| {
                    Arc::new(cluster::comparable_article(&article.title, &article.text))
                })
                .clone()
            };
            let text_of = |member: &Member| {
                read.entry(member.id)
                    .or_insert_with(|| {
                        match in_group.get(&member.id) {
                            Some(article) => {
                                Some(cluster::comparable_article(&article.title, &article.text))
                            }
                            None => stored_text
                                .query_row([member.id], |row| {
                                    let (title, text): (String, String) =
                                        (row.get(0)?, row.get(1)?);
                                    Ok(cluster::comparable_article(&title, &text))
                                })
                                .optional()
                                .unwrap_or_else(|error| {
                                    tracing::warn!(
                                        "cannot read article {} to compare: {error}",
                                        member.id
                                    );
                                    None
                                }),
                        }
                        .map(Arc::new)
                    })
                    .clone()
            };
            let found = cluster::find_story(
                window,
                fingerprint,
                new.source_id,
                published,
                comparable,
                text_of,
                |_| false,
            );
            if let Some(text) = mine.into_inner() {
                read.insert(new.id, Some(text));
            }
            if let Some((matched, found)) = found {
                // Its story as the database has it now: `tidings split` or
                // `merge` in another process may have moved it since it
                // entered the window.
                let story_id = match in_group.contains_key(&matched.id) {
                    true => matched.story_id,
                    false => current_story.query_row([matched.id], |row| row.get(0))?,
                };
                story = Story {
                    id: story_id,
                    joined: Some(Joined {
                        matched: matched.id,
                        found,
                        minutes_apart: (published - matched.published).abs() / 60,
                    }),
                };
            }
            let member = Member {
                id: new.id,
                source_id: new.source_id,
                story_id: story.id,
                published,
                stored,
                numbers: fingerprint.numbers.clone().into(),
            };
            window.add(member, fingerprint);
        }
        stories.push(story);
    }
    Ok(stories)
}

/// Records each new article's fingerprint (of sources that join stories:
/// no later article finds the others in the window), and why each new
/// article that joined a story joined it.
pub(super) fn record(
    db: &Connection,
    fresh: &[Delivery<'_>],
    stories: &[Story],
) -> rusqlite::Result<()> {
    let mut fingerprint = db.prepare_cached(
        "INSERT INTO article_fingerprints (article_id, fingerprint) VALUES (?1, ?2)",
    )?;
    for new in fresh.iter().filter(|new| may_join(new)) {
        if let Some(print) = &new.article.fingerprint {
            fingerprint.execute(params![new.id, print.to_bytes()])?;
        }
    }
    let mut insert = db.prepare_cached(
        "INSERT INTO story_evidence (article_id, story_id, matched_article_id, method, overlap,
                                     jaccard, numbers_agree, minutes_apart, decided_at)
         VALUES (?1, ?2, ?3, 'text', ?4, ?5, ?6, ?7, ?8)",
    )?;
    for (new, story) in fresh.iter().zip(stories) {
        if let Some(joined) = &story.joined {
            insert.execute(params![
                new.id,
                story.id,
                joined.matched,
                joined.found.overlap,
                joined.found.jaccard,
                joined.found.numbers_agree,
                joined.minutes_apart,
                new.seen_at,
            ])?;
        }
    }
    Ok(())
}

/// An article of a story, for `tidings story`.
#[derive(Debug, Clone)]
pub struct StoryMember {
    pub id: i64,
    pub title: String,
    pub link: Option<String>,
    /// The name of the source that first carried it.
    pub outlet: String,
    pub published: DateTime<Utc>,
    /// Why it is in the story; `None` for the story's first article.
    pub why: Option<Why>,
}

/// Why an article is in a story.
#[derive(Debug, Clone, PartialEq)]
pub enum Why {
    /// tidings found its text alike another member's.
    Alike {
        matched: i64,
        matched_outlet: String,
        overlap: f64,
        numbers_agree: bool,
        minutes_apart: i64,
    },
    /// Someone ran `tidings merge`.
    Merged { at: String },
}

/// Why a change to stories was refused.
#[derive(Debug, thiserror::Error)]
pub enum StoryError {
    #[error("there is no article {0}")]
    NoArticle(i64),
    #[error("article {0} is alone in its story")]
    Alone(i64),
    #[error("articles {0} and {1} are already one story")]
    AlreadyOne(i64, i64),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for StoryError {
    fn from(error: sqlx::Error) -> Self {
        StoryError::Store(error.into())
    }
}

impl SqliteStore {
    /// The story of article `id`: its first article, then the others by
    /// publication time; `None` if there is no such article.
    pub async fn story(&self, id: i64) -> Result<Option<Vec<StoryMember>>, StoreError> {
        let rows = sqlx::query(
            "WITH story AS (SELECT story_id AS id FROM articles WHERE id = ?1)
             SELECT a.id, a.title, a.link, a.published, a.id = a.story_id,
                    e.method, e.matched_article_id, e.overlap, e.numbers_agree, e.minutes_apart,
                    e.decided_at,
                    (SELECT o.source_name FROM article_origins o WHERE o.article_id = a.id),
                    (SELECT o.source_name FROM article_origins o WHERE o.article_id = e.matched_article_id)
               FROM articles a CROSS JOIN story
               LEFT JOIN story_evidence e ON e.article_id = a.id
              WHERE a.id = story.id OR a.id IN (SELECT article_id FROM story_evidence WHERE story_id = story.id)
              ORDER BY a.id = a.story_id DESC, a.published, a.id",
        )
        .bind(id)
        .fetch_all(&self.readers)
        .await?;
        if rows.is_empty() {
            return Ok(None);
        }
        Ok(Some(
            rows.iter()
                .map(|row| {
                    let why = match row.get::<Option<String>, _>(5).as_deref() {
                        Some("text") => Some(Why::Alike {
                            matched: row.get(6),
                            matched_outlet: row.get::<Option<String>, _>(12).unwrap_or_default(),
                            overlap: row.get(7),
                            numbers_agree: row.get(8),
                            minutes_apart: row.get(9),
                        }),
                        Some(_) => Some(Why::Merged { at: row.get(10) }),
                        None => None,
                    };
                    StoryMember {
                        id: row.get(0),
                        title: row.get(1),
                        link: row.get(2),
                        published: from_db(&row.get::<String, _>(3)).unwrap_or_default(),
                        outlet: row.get::<Option<String>, _>(11).unwrap_or_default(),
                        why,
                    }
                })
                .collect(),
        ))
    }

    /// Takes article `id` out of its story, for good: it is recorded apart
    /// from every other member, which `tidings regroup` honours. A story
    /// whose first article leaves is led by its next.
    pub async fn split(&self, id: i64, now: DateTime<Utc>) -> Result<(), StoryError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let story: i64 = sqlx::query_scalar("SELECT story_id FROM articles WHERE id = ?1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoryError::NoArticle(id))?;
        let members: Vec<i64> = sqlx::query_scalar(
            "SELECT ?1 UNION SELECT article_id FROM story_evidence WHERE story_id = ?1",
        )
        .bind(story)
        .fetch_all(&mut *tx)
        .await?;
        if members.len() < 2 {
            return Err(StoryError::Alone(id));
        }
        let now = to_db(now);
        for other in members.iter().filter(|m| **m != id) {
            keep_apart(&mut tx, id, *other, &now).await?;
        }
        if id == story {
            let next = members
                .iter()
                .copied()
                .filter(|m| *m != id)
                .min()
                .expect("two members");
            move_story(&mut tx, story, next).await?;
            sqlx::query("DELETE FROM story_evidence WHERE article_id = ?1")
                .bind(next)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("UPDATE articles SET story_id = id WHERE id = ?1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM story_evidence WHERE article_id = ?1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Puts the stories of articles `a` and `b` together, for good: the one
    /// stored first leads (its entry in the merged feeds stays, the other's
    /// goes), and the two are recorded together, which `tidings regroup`
    /// honours. Earlier splits between their members are undone.
    pub async fn merge(&self, a: i64, b: i64, now: DateTime<Utc>) -> Result<(), StoryError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let mut story_of = async |id: i64| -> Result<i64, StoryError> {
            sqlx::query_scalar("SELECT story_id FROM articles WHERE id = ?1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoryError::NoArticle(id))
        };
        let (story_a, story_b) = (story_of(a).await?, story_of(b).await?);
        if story_a == story_b {
            return Err(StoryError::AlreadyOne(a, b));
        }
        let (lead, joining) = (story_a.min(story_b), story_a.max(story_b));
        sqlx::query(
            "DELETE FROM story_overrides WHERE kind = 'apart'
                AND article_id IN (SELECT ?1 UNION SELECT ?2 UNION SELECT article_id FROM story_evidence WHERE story_id IN (?1, ?2))
                AND other_article_id IN (SELECT ?1 UNION SELECT ?2 UNION SELECT article_id FROM story_evidence WHERE story_id IN (?1, ?2))",
        )
        .bind(lead)
        .bind(joining)
        .execute(&mut *tx)
        .await?;
        let now = to_db(now);
        join_stories(&mut tx, (a, story_a), (b, story_b), &now).await?;
        sqlx::query(
            "INSERT OR REPLACE INTO story_overrides (article_id, other_article_id, kind, made_at)
             VALUES (?1, ?2, 'together', ?3)",
        )
        .bind(a.min(b))
        .bind(a.max(b))
        .bind(&now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Records two articles apart, removing any record of them together.
async fn keep_apart(
    tx: &mut sqlx::SqliteConnection,
    a: i64,
    b: i64,
    now: &str,
) -> Result<(), sqlx::Error> {
    let (low, high) = (a.min(b), a.max(b));
    sqlx::query(
        "INSERT OR REPLACE INTO story_overrides (article_id, other_article_id, kind, made_at)
         VALUES (?1, ?2, 'apart', ?3)",
    )
    .bind(low)
    .bind(high)
    .bind(now)
    .execute(tx)
    .await?;
    Ok(())
}

/// Moves the later of the stories of `a` and `b` (each an article and its
/// story) into the earlier, with `merged` as the evidence of its first article.
async fn join_stories(
    tx: &mut sqlx::SqliteConnection,
    (a, story_a): (i64, i64),
    (b, story_b): (i64, i64),
    now: &str,
) -> Result<(), sqlx::Error> {
    let (lead, joining) = (story_a.min(story_b), story_a.max(story_b));
    move_story(tx, joining, lead).await?;
    sqlx::query(
        "INSERT OR REPLACE INTO story_evidence (article_id, story_id, matched_article_id, method, decided_at)
         VALUES (?1, ?2, ?3, 'merged', ?4)",
    )
    .bind(joining)
    .bind(lead)
    .bind(if story_a == lead { a } else { b })
    .bind(now)
    .execute(tx)
    .await?;
    Ok(())
}

/// Moves every article of story `from` (its first one included) to story `to`.
async fn move_story(
    tx: &mut sqlx::SqliteConnection,
    from: i64,
    to: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE articles SET story_id = ?2 WHERE story_id = ?1 OR id = ?1")
        .bind(from)
        .bind(to)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE story_evidence SET story_id = ?2 WHERE story_id = ?1")
        .bind(from)
        .bind(to)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// An article as `tidings regroup` reads it.
#[derive(Debug, Clone)]
pub struct Ungrouped {
    pub id: i64,
    pub title: String,
    pub text: String,
    /// Unix seconds.
    pub published: i64,
    /// When it was stored, unix seconds.
    pub stored: i64,
    /// The source that first carried it.
    pub source_id: i64,
}

/// The stories being rebuilt, in one transaction: readers see the old ones
/// until it commits, and a crash leaves them as they were.
pub struct Regrouping {
    tx: sqlx::Transaction<'static, sqlx::Sqlite>,
}

impl SqliteStore {
    /// Every split and merge people made: `(article, other, together)`.
    pub async fn story_overrides(&self) -> Result<Vec<(i64, i64, bool)>, StoreError> {
        let rows = sqlx::query(
            "SELECT article_id, other_article_id, kind = 'together' FROM story_overrides",
        )
        .fetch_all(&self.readers)
        .await?;
        Ok(rows
            .iter()
            .map(|row| (row.get(0), row.get(1), row.get(2)))
            .collect())
    }

    /// Up to `limit` articles with ids above `after`, in id order (the order
    /// they were stored in).
    pub async fn ungrouped(&self, after: i64, limit: usize) -> Result<Vec<Ungrouped>, StoreError> {
        let rows = sqlx::query(
            "SELECT a.id, a.title, a.plain_text, a.published, a.first_seen,
                    (SELECT o.source_id FROM article_origins o WHERE o.article_id = a.id)
               FROM articles a WHERE a.id > ?1 ORDER BY a.id LIMIT ?2",
        )
        .bind(after)
        .bind(limit as i64)
        .fetch_all(&self.readers)
        .await?;
        let seconds = |text: String| from_db(&text).map_or(0, |t| t.timestamp());
        Ok(rows
            .into_iter()
            .map(|row| Ungrouped {
                id: row.get(0),
                title: row.get(1),
                text: row.get(2),
                published: seconds(row.get(3)),
                stored: seconds(row.get(4)),
                source_id: row.get::<Option<i64>, _>(5).unwrap_or_default(),
            })
            .collect())
    }

    /// The comparable text of a stored article.
    pub async fn comparable(&self, id: i64) -> Result<Option<Comparable>, StoreError> {
        let row: Option<(String, String)> =
            sqlx::query_as("SELECT title, plain_text FROM articles WHERE id = ?1")
                .bind(id)
                .fetch_optional(&self.readers)
                .await?;
        Ok(row.map(|(title, text)| cluster::comparable_article(&title, &text)))
    }

    /// Starts rebuilding every story: each article alone, no evidence.
    pub async fn begin_regroup(&self) -> Result<Regrouping, StoreError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("UPDATE articles SET story_id = id WHERE story_id IS NOT id")
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM story_evidence")
            .execute(&mut *tx)
            .await?;
        Ok(Regrouping { tx })
    }
}

impl Regrouping {
    /// Stores an article's fingerprint and story, and why it joined it.
    pub async fn assign(
        &mut self,
        article: &Ungrouped,
        fingerprint: Option<&Fingerprint>,
        story_id: i64,
        joined: Option<(&Member, Match)>,
        now: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE articles SET story_id = ?2 WHERE id = ?1")
            .bind(article.id)
            .bind(story_id)
            .execute(&mut *self.tx)
            .await?;
        let stored = match fingerprint {
            Some(fingerprint) => sqlx::query(
                "INSERT OR REPLACE INTO article_fingerprints (article_id, fingerprint) VALUES (?1, ?2)",
            )
            .bind(article.id)
            .bind(fingerprint.to_bytes()),
            None => sqlx::query("DELETE FROM article_fingerprints WHERE article_id = ?1").bind(article.id),
        };
        stored.execute(&mut *self.tx).await?;
        if let Some((matched, found)) = joined {
            sqlx::query(
                "INSERT INTO story_evidence (article_id, story_id, matched_article_id, method, overlap,
                                             jaccard, numbers_agree, minutes_apart, decided_at)
                 VALUES (?1, ?2, ?3, 'text', ?4, ?5, ?6, ?7, ?8)",
            )
            .bind(article.id)
            .bind(story_id)
            .bind(matched.id)
            .bind(found.overlap)
            .bind(found.jaccard)
            .bind(found.numbers_agree)
            .bind((article.published - matched.published).abs() / 60)
            .bind(now)
            .execute(&mut *self.tx)
            .await?;
        }
        Ok(())
    }

    /// Puts the stories of `a` and `b` together, as `tidings merge` did.
    pub async fn put_together(&mut self, a: i64, b: i64, now: &str) -> Result<(), StoreError> {
        let story_of = "SELECT story_id FROM articles WHERE id = ?1";
        let story_a: Option<i64> = sqlx::query_scalar(story_of)
            .bind(a)
            .fetch_optional(&mut *self.tx)
            .await?;
        let story_b: Option<i64> = sqlx::query_scalar(story_of)
            .bind(b)
            .fetch_optional(&mut *self.tx)
            .await?;
        let (Some(story_a), Some(story_b)) = (story_a, story_b) else {
            return Ok(());
        };
        if story_a != story_b {
            join_stories(&mut self.tx, (a, story_a), (b, story_b), now).await?;
        }
        Ok(())
    }

    pub async fn commit(self) -> Result<(), StoreError> {
        self.tx.commit().await?;
        Ok(())
    }
}
