//! What people do with stories, the same SQL on either engine: `tidings
//! story`, `split` and `merge`, and the rebuild of `tidings regroup`.
//!
//! The statements use `$N` parameters, which SQLite reads too; where the
//! engines differ (how a time is stored) [`Dialect`] says how, and what
//! only PostgreSQL has (band keys) is the engines' own.

use chrono::{DateTime, Utc};
use sqlx::AssertSqlSafe;

use super::engine::{Store, reading, writing};
use super::sql::Dialect;
use super::types::StoreError;
use crate::cluster::{self, Comparable, Fingerprint, Story};
use crate::read::dates::{from_db, to_db};

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
        /// For another outlet's write-up of the same event: what both share
        /// (`同一事件：宁德时代，3 个数字一致`).
        event: Option<String>,
    },
    /// Someone ran `tidings merge`.
    Merged { at: String },
}

/// Why, as `tidings story` and the story's page say it:
/// `与新浪财经（12）文本重合 86%，数字一致，相隔 12 分钟`.
impl std::fmt::Display for Why {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Why::Alike {
                matched,
                matched_outlet,
                event: Some(event),
                minutes_apart,
                ..
            } => write!(
                f,
                "与{matched_outlet}（{matched}）{event}，相隔 {minutes_apart} 分钟"
            ),
            Why::Alike {
                matched,
                matched_outlet,
                overlap,
                numbers_agree,
                minutes_apart,
                event: None,
            } => write!(
                f,
                "与{matched_outlet}（{matched}）文本重合 {:.0}%，{}，相隔 {minutes_apart} 分钟",
                overlap * 100.0,
                if *numbers_agree {
                    "数字一致"
                } else {
                    "数字不一致"
                }
            ),
            Why::Merged { at } => write!(f, "merged by hand (tidings merge) at {at}"),
        }
    }
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

/// An article as `tidings regroup` reads it: its text, when and by whom it
/// was stored.
#[derive(Debug, Clone)]
pub struct ArticleText {
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

/// A row of [`Store::story`]'s query.
type StoryRow = (
    i64,
    String,
    Option<String>,
    String,
    bool,
    Option<String>,
    Option<i64>,
    Option<f64>,
    Option<bool>,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// The story of an article.
const STORY_OF: &str = "SELECT story_id FROM articles WHERE id = $1";

/// An article and the others of story `$1` (its first article's id).
const MEMBERS: &str =
    "SELECT CAST($1 AS BIGINT) UNION SELECT article_id FROM story_evidence WHERE story_id = $1";

/// Moves every article of story `$1` (its first one included) to story `$2`.
const MOVE_STORY: [&str; 2] = [
    "UPDATE articles SET story_id = $2 WHERE story_id = $1 OR id = $1",
    "UPDATE story_evidence SET story_id = $2 WHERE story_id = $1",
];

/// Records articles `$1` < `$2` apart (`'apart'`) or together, at time `$3`.
fn record_override(dialect: Dialect, kind: &str) -> String {
    format!(
        "INSERT INTO story_overrides (article_id, other_article_id, kind, made_at)
         VALUES ($1, $2, '{kind}', {})
         ON CONFLICT (article_id, other_article_id)
         DO UPDATE SET kind = excluded.kind, made_at = excluded.made_at",
        dialect.time_param(3)
    )
}

/// Records that the first article `$1` of a story joined story `$2` by
/// `tidings merge` with article `$3`, at time `$4`.
fn merged_evidence(dialect: Dialect) -> String {
    format!(
        "INSERT INTO story_evidence (article_id, story_id, matched_article_id, method, decided_at)
         VALUES ($1, $2, $3, 'merged', {})
         ON CONFLICT (article_id) DO UPDATE SET story_id = excluded.story_id,
             matched_article_id = excluded.matched_article_id, method = excluded.method,
             overlap = NULL, jaccard = NULL, numbers_agree = NULL, minutes_apart = NULL,
             decided_at = excluded.decided_at",
        dialect.time_param(4)
    )
}

/// The statements that move the later of the stories of `a` and `b` (each
/// an article and its story) into the earlier, run on `$tx` (a macro: the
/// transaction is either engine's).
macro_rules! join_stories {
    ($tx:ident, $dialect:ident, ($a:expr, $story_a:expr), ($b:expr, $story_b:expr), $now:expr) => {{
        let (lead, joining) = ($story_a.min($story_b), $story_a.max($story_b));
        for sql in MOVE_STORY {
            sqlx::query(sql)
                .bind(joining)
                .bind(lead)
                .execute(&mut *$tx)
                .await?;
        }
        sqlx::query(AssertSqlSafe(merged_evidence($dialect)))
            .bind(joining)
            .bind(lead)
            .bind(if $story_a == lead { $a } else { $b })
            .bind($now)
            .execute(&mut *$tx)
            .await?;
    }};
}

/// The stories being rebuilt, in one transaction: readers see the old ones
/// until it commits, and a crash leaves them as they were.
pub enum Regrouping {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

/// Runs `$body` with the rebuild's transaction `$tx`, `$dialect` and the
/// engine's module `$engine`.
macro_rules! regrouping {
    ($regrouping:expr, |$tx:ident, $dialect:ident, $engine:ident| $body:expr) => {
        match $regrouping {
            Regrouping::Sqlite($tx) => {
                #[allow(unused_imports)]
                use super::sqlite as $engine;
                let $dialect = Dialect::Sqlite;
                $body
            }
            Regrouping::Postgres($tx) => {
                #[allow(unused_imports)]
                use super::postgres as $engine;
                let $dialect = Dialect::Postgres;
                $body
            }
        }
    };
}

impl Store {
    /// The story of article `id`: its first article, then the others by
    /// publication time; `None` if there is no such article.
    pub async fn story(&self, id: i64) -> Result<Option<Vec<StoryMember>>, StoreError> {
        let rows: Vec<StoryRow> = reading!(self, |pool, dialect| {
            let sql = format!(
                "WITH story AS (SELECT story_id AS id FROM articles WHERE id = $1),
                      members AS (SELECT id FROM story
                                  UNION SELECT e.article_id FROM story_evidence e JOIN story ON e.story_id = story.id)
                 SELECT a.id, a.title, a.link, {}, a.id = a.story_id,
                        e.method, e.matched_article_id, e.overlap, e.numbers_agree, e.minutes_apart,
                        e.event, {},
                        (SELECT o.source_name FROM article_origins o WHERE o.article_id = a.id),
                        (SELECT o.source_name FROM article_origins o WHERE o.article_id = e.matched_article_id)
                   FROM members m JOIN articles a ON a.id = m.id
                   LEFT JOIN story_evidence e ON e.article_id = a.id
                  ORDER BY a.id = a.story_id DESC, a.published, a.id",
                dialect.time_text("a.published"),
                dialect.time_text("e.decided_at"),
            );
            sqlx::query_as(AssertSqlSafe(sql))
                .bind(id)
                .fetch_all(pool)
                .await?
        });
        if rows.is_empty() {
            return Ok(None);
        }
        Ok(Some(rows.into_iter().map(story_member).collect()))
    }

    /// Takes article `id` out of its story, for good: it is recorded apart
    /// from every other member, which `tidings regroup` honours. A story
    /// whose first article leaves is led by its next.
    pub async fn split(&self, id: i64, now: DateTime<Utc>) -> Result<(), StoryError> {
        let now = to_db(now);
        writing!(self, |tx, dialect| {
            let story: i64 = sqlx::query_scalar(STORY_OF)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoryError::NoArticle(id))?;
            let members: Vec<i64> = sqlx::query_scalar(MEMBERS)
                .bind(story)
                .fetch_all(&mut *tx)
                .await?;
            if members.len() < 2 {
                return Err(StoryError::Alone(id));
            }
            let apart = record_override(dialect, "apart");
            for other in members.iter().filter(|m| **m != id) {
                sqlx::query(AssertSqlSafe(apart.as_str()))
                    .bind(id.min(*other))
                    .bind(id.max(*other))
                    .bind(&now)
                    .execute(&mut *tx)
                    .await?;
            }
            if id == story {
                let next = members
                    .iter()
                    .copied()
                    .filter(|m| *m != id)
                    .min()
                    .expect("two members");
                for sql in MOVE_STORY {
                    sqlx::query(sql)
                        .bind(story)
                        .bind(next)
                        .execute(&mut *tx)
                        .await?;
                }
                sqlx::query("DELETE FROM story_evidence WHERE article_id = $1")
                    .bind(next)
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query("UPDATE articles SET story_id = id WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM story_evidence WHERE article_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        });
        Ok(())
    }

    /// Puts the stories of articles `a` and `b` together, for good: the one
    /// stored first leads (its entry in the merged feeds stays, the other's
    /// goes), and the two are recorded together, which `tidings regroup`
    /// honours. Earlier splits between their members are undone.
    pub async fn merge(&self, a: i64, b: i64, now: DateTime<Utc>) -> Result<(), StoryError> {
        let now = to_db(now);
        writing!(self, |tx, dialect| {
            let mut stories = [0_i64; 2];
            for (story, id) in stories.iter_mut().zip([a, b]) {
                *story = sqlx::query_scalar(STORY_OF)
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or(StoryError::NoArticle(id))?;
            }
            let [story_a, story_b] = stories;
            if story_a == story_b {
                return Err(StoryError::AlreadyOne(a, b));
            }
            sqlx::query(
                "DELETE FROM story_overrides WHERE kind = 'apart'
                    AND article_id IN (SELECT CAST($1 AS BIGINT) UNION SELECT CAST($2 AS BIGINT) UNION
                                       SELECT article_id FROM story_evidence WHERE story_id IN ($1, $2))
                    AND other_article_id IN (SELECT CAST($1 AS BIGINT) UNION SELECT CAST($2 AS BIGINT) UNION
                                             SELECT article_id FROM story_evidence WHERE story_id IN ($1, $2))",
            )
            .bind(story_a.min(story_b))
            .bind(story_a.max(story_b))
            .execute(&mut *tx)
            .await?;
            join_stories!(tx, dialect, (a, story_a), (b, story_b), &now);
            sqlx::query(AssertSqlSafe(record_override(dialect, "together")))
                .bind(a.min(b))
                .bind(a.max(b))
                .bind(&now)
                .execute(&mut *tx)
                .await?;
        });
        Ok(())
    }

    /// Every split and merge people made: `(article, other, together)`.
    pub async fn story_overrides(&self) -> Result<Vec<(i64, i64, bool)>, StoreError> {
        let sql = "SELECT article_id, other_article_id, kind = 'together' FROM story_overrides";
        Ok(reading!(self, |pool, _dialect| sqlx::query_as(sql)
            .fetch_all(pool)
            .await?))
    }

    /// Up to `limit` articles with ids above `after`, in id order (the order
    /// they were stored in): every article, a batch at a time.
    pub async fn articles_after(
        &self,
        after: i64,
        limit: usize,
    ) -> Result<Vec<ArticleText>, StoreError> {
        let rows: Vec<(i64, String, String, String, String, Option<i64>)> =
            reading!(self, |pool, dialect| {
                let sql = format!(
                    "SELECT a.id, a.title, a.plain_text, {}, {},
                            (SELECT o.source_id FROM article_origins o WHERE o.article_id = a.id)
                       FROM articles a WHERE a.id > $1 ORDER BY a.id LIMIT $2",
                    dialect.time_text("a.published"),
                    dialect.time_text("a.first_seen"),
                );
                sqlx::query_as(AssertSqlSafe(sql))
                    .bind(after)
                    .bind(limit as i64)
                    .fetch_all(pool)
                    .await?
            });
        let seconds = |text: &str| from_db(text).map_or(0, |t| t.timestamp());
        Ok(rows
            .into_iter()
            .map(
                |(id, title, text, published, stored, source_id)| ArticleText {
                    id,
                    title,
                    text,
                    published: seconds(&published),
                    stored: seconds(&stored),
                    source_id: source_id.unwrap_or_default(),
                },
            )
            .collect())
    }

    /// The comparable text of a stored article.
    pub async fn comparable(&self, id: i64) -> Result<Option<Comparable>, StoreError> {
        let sql = "SELECT title, plain_text FROM articles WHERE id = $1";
        let row: Option<(String, String)> = reading!(self, |pool, _dialect| {
            sqlx::query_as(sql).bind(id).fetch_optional(pool).await?
        });
        Ok(row.map(|(title, text)| cluster::comparable_article(&title, &text)))
    }

    /// Starts rebuilding every story: each article alone, no evidence (and
    /// whatever the engine keeps of the window, made anew).
    pub async fn begin_regroup(&self) -> Result<Regrouping, StoreError> {
        let mut regrouping = match self {
            Store::Sqlite(store) => Regrouping::Sqlite(store.begin_write().await?),
            Store::Postgres(store) => Regrouping::Postgres(store.begin_write().await?),
        };
        regrouping!(&mut regrouping, |tx, _dialect, engine| {
            for sql in [
                "UPDATE articles SET story_id = id WHERE story_id IS DISTINCT FROM id",
                "DELETE FROM story_evidence",
            ] {
                sqlx::query(sql).execute(&mut **tx).await?;
            }
            engine::forget_bands(tx).await?;
        });
        Ok(regrouping)
    }
}

fn story_member(row: StoryRow) -> StoryMember {
    let (
        id,
        title,
        link,
        published,
        _first,
        method,
        matched,
        overlap,
        agree,
        apart,
        event,
        at,
        outlet,
        matched_outlet,
    ) = row;
    let why = match method.as_deref() {
        Some("text") => Some(Why::Alike {
            matched: matched.unwrap_or_default(),
            matched_outlet: matched_outlet.unwrap_or_default(),
            overlap: overlap.unwrap_or_default(),
            numbers_agree: agree.unwrap_or_default(),
            minutes_apart: apart.unwrap_or_default(),
            event,
        }),
        Some(_) => Some(Why::Merged {
            at: at.unwrap_or_default(),
        }),
        None => None,
    };
    StoryMember {
        id,
        title,
        link,
        published: from_db(&published).unwrap_or_default(),
        outlet: outlet.unwrap_or_default(),
        why,
    }
}

impl Regrouping {
    /// Stores an article's fingerprint and story, and why it joined it.
    pub async fn assign(
        &mut self,
        article: &ArticleText,
        fingerprint: Option<&Fingerprint>,
        story: &Story,
        now: &str,
    ) -> Result<(), StoreError> {
        let story_id = story.id;
        regrouping!(self, |tx, dialect, engine| {
            sqlx::query("UPDATE articles SET story_id = $2 WHERE id = $1")
                .bind(article.id)
                .bind(story_id)
                .execute(&mut **tx)
                .await?;
            match fingerprint {
                Some(fingerprint) => {
                    sqlx::query(
                        "INSERT INTO article_fingerprints (article_id, fingerprint) VALUES ($1, $2)
                         ON CONFLICT (article_id) DO UPDATE SET fingerprint = excluded.fingerprint",
                    )
                    .bind(article.id)
                    .bind(fingerprint.to_bytes())
                    .execute(&mut **tx)
                    .await?;
                    engine::enter_window(tx, article, fingerprint).await?;
                }
                None => {
                    sqlx::query("DELETE FROM article_fingerprints WHERE article_id = $1")
                        .bind(article.id)
                        .execute(&mut **tx)
                        .await?;
                }
            }
            if let Some(joined) = &story.joined {
                let sql = format!(
                    "INSERT INTO story_evidence (article_id, story_id, matched_article_id, method, overlap,
                                                 jaccard, numbers_agree, minutes_apart, event, decided_at)
                     VALUES ($1, $2, $3, 'text', $4, $5, $6, $7, $8, {})",
                    dialect.time_param(9)
                );
                sqlx::query(AssertSqlSafe(sql))
                    .bind(article.id)
                    .bind(story_id)
                    .bind(joined.matched)
                    .bind(joined.found.overlap)
                    .bind(joined.found.jaccard)
                    .bind(joined.found.numbers_agree)
                    .bind(joined.minutes_apart)
                    .bind(joined.found.event.as_ref().map(ToString::to_string))
                    .bind(now)
                    .execute(&mut **tx)
                    .await?;
            }
        });
        Ok(())
    }

    /// Puts the stories of `a` and `b` together, as `tidings merge` did.
    pub async fn put_together(&mut self, a: i64, b: i64, now: &str) -> Result<(), StoreError> {
        regrouping!(self, |tx, dialect, _engine| {
            let story_a: Option<i64> = sqlx::query_scalar(STORY_OF)
                .bind(a)
                .fetch_optional(&mut **tx)
                .await?;
            let story_b: Option<i64> = sqlx::query_scalar(STORY_OF)
                .bind(b)
                .fetch_optional(&mut **tx)
                .await?;
            if let (Some(story_a), Some(story_b)) = (story_a, story_b)
                && story_a != story_b
            {
                let tx = &mut **tx;
                join_stories!(tx, dialect, (a, story_a), (b, story_b), now);
            }
        });
        Ok(())
    }

    pub async fn commit(self) -> Result<(), StoreError> {
        regrouping!(self, |tx, _dialect, _engine| tx.commit().await?);
        Ok(())
    }
}
