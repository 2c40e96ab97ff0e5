//! What the feeds, searches, `tidings sources` and article pages read and
//! write, the same SQL on either engine (see `commands` for how): only the
//! search's candidates differ (SQLite's FTS5 trigram index, PostgreSQL's
//! pg_trgm), and each engine gives its own.

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use hashbrown::HashMap;
use sqlx::AssertSqlSafe;

use super::engine::{Store, reading, writing};
use super::sql::Dialect;
use super::types::{ArticleFilter, SearchHit, StoreError};
use crate::article::pages::PageOutcome;
use crate::article::{Origin, Reprint, StoredArticle};
use crate::read::dates::{from_db, to_db};

/// A page waiting to be fetched.
#[derive(Debug, Clone)]
pub struct DuePage {
    pub article_id: i64,
    pub url: String,
    /// Attempts so far.
    pub attempts: u32,
    /// Characters of the text the article has from its feed: the page must say more.
    pub feed_chars: usize,
}

/// The columns an article is read with, `a` being `articles` (see [`ArticleRow`]).
fn article_columns(dialect: Dialect) -> String {
    format!(
        "a.id, a.key, a.title, a.link, a.author, {}, {}, a.summary, a.content_html, a.image,
         coalesce(a.story_id, a.id)",
        dialect.time_text("a.published"),
        dialect.time_text("a.updated")
    )
}

/// An article as [`article_columns`] reads it.
type ArticleRow = (
    i64,
    String,
    String,
    Option<String>,
    String,
    String,
    Option<String>,
    String,
    String,
    Option<String>,
    i64,
);

/// Articles a search checks at most: a query whose trigrams are everywhere
/// but which is itself nowhere stops here.
const SEARCH_CANDIDATES: usize = 50_000;

/// A limit no query reaches, for "no limit" (SQLite and PostgreSQL spell
/// that differently).
const NO_LIMIT: i64 = i64::MAX;

impl Store {
    /// Stored articles with their categories and origin, newest first. A label
    /// reads from the `(category, published)` index, so a category feed costs
    /// the same however large the database grows.
    pub async fn articles(
        &self,
        filter: &ArticleFilter<'_>,
    ) -> Result<Vec<StoredArticle>, StoreError> {
        let articles = self.articles_by_id(filter).await?;
        Ok(articles.into_iter().map(|(_, article)| article).collect())
    }

    /// [`Store::articles`], each with its id (for links to a story's page
    /// and to the next page).
    pub async fn articles_by_id(
        &self,
        filter: &ArticleFilter<'_>,
    ) -> Result<Vec<(i64, StoredArticle)>, StoreError> {
        let rows = self.article_rows(filter).await?;
        let rows = if filter.stories {
            self.as_stories(rows).await?
        } else {
            rows
        };
        let ids = json(&rows.iter().map(|r| r.0).collect::<Vec<_>>());
        let mut reprints = if filter.stories {
            self.reprints(&ids).await?
        } else {
            HashMap::new()
        };
        let (mut categories, mut origins) = self.labels_and_origins(&ids).await?;
        let date = |text: &str| from_db(text);
        Ok(rows
            .into_iter()
            .map(|r| {
                let id = r.0;
                let article = StoredArticle {
                    key: r.1,
                    title: r.2,
                    link: r.3,
                    author: r.4,
                    published: date(&r.5).unwrap_or_default(),
                    updated: r.6.as_deref().and_then(date),
                    summary: r.7,
                    content_html: r.8,
                    image: r.9,
                    categories: categories.remove(&id).unwrap_or_default(),
                    origin: origins.remove(&id),
                    reprints: reprints.remove(&id).unwrap_or_default(),
                };
                (id, article)
            })
            .collect())
    }

    /// The rows `filter` selects, newest first: a search's hits, a label's
    /// (from the `(category, published)` index), or every article.
    async fn article_rows(
        &self,
        filter: &ArticleFilter<'_>,
    ) -> Result<Vec<ArticleRow>, StoreError> {
        let since = to_db(filter.since.unwrap_or(DateTime::UNIX_EPOCH));
        let limit = filter.limit.map_or(NO_LIMIT, |l| l as i64);
        let leads = if filter.story_leads {
            "AND coalesce(a.story_id, a.id) = a.id"
        } else {
            ""
        };
        // The next page starts after article $n in the order read: a key on
        // the index's own columns, as fast on the last page as the first.
        // (Written only when asked for: `$n = 0 OR ...` would hide the range
        // from the planner.)
        let after = |time: &str, id: &str, n: usize| match filter.before {
            Some(_) => format!(
                "AND ({time}, {id}) < (SELECT p.published, p.id FROM articles p WHERE p.id = ${n})"
            ),
            None => String::new(),
        };
        Ok(reading!(self, |pool, dialect| {
            let columns = article_columns(dialect);
            match (filter.ids, filter.label) {
                (Some(ids), _) => {
                    let sql = format!(
                        "SELECT {columns} FROM ({}) AS wanted JOIN articles a ON a.id = wanted.value
                          WHERE a.published >= {} ORDER BY a.published DESC, a.id DESC LIMIT $3",
                        dialect.id_list(1),
                        dialect.time_param(2)
                    );
                    sqlx::query_as(AssertSqlSafe(sql))
                        .bind(json(ids))
                        .bind(&since)
                        .bind(limit)
                        .fetch_all(pool)
                        .await?
                }
                (None, Some(label)) => {
                    let sql = format!(
                        "SELECT {columns} FROM article_categories c JOIN articles a ON a.id = c.article_id
                          WHERE c.category = $1 AND c.published >= {} {leads} {}
                          ORDER BY c.published DESC, c.article_id DESC LIMIT $3",
                        dialect.time_param(2),
                        after("c.published", "c.article_id", 4)
                    );
                    let query = sqlx::query_as(AssertSqlSafe(sql))
                        .bind(label)
                        .bind(&since)
                        .bind(limit);
                    match filter.before {
                        Some(before) => query.bind(before).fetch_all(pool).await?,
                        None => query.fetch_all(pool).await?,
                    }
                }
                (None, None) => {
                    let sql = format!(
                        "SELECT {columns} FROM articles a WHERE a.published >= {} {leads} {}
                          ORDER BY a.published DESC, a.id DESC LIMIT $2",
                        dialect.time_param(1),
                        after("a.published", "a.id", 3)
                    );
                    let query = sqlx::query_as(AssertSqlSafe(sql)).bind(&since).bind(limit);
                    match filter.before {
                        Some(before) => query.bind(before).fetch_all(pool).await?,
                        None => query.fetch_all(pool).await?,
                    }
                }
            }
        }))
    }

    /// The labels (in the order of the reference post) and the first
    /// source of each of the articles `ids` (a JSON list).
    async fn labels_and_origins(
        &self,
        ids: &str,
    ) -> Result<(HashMap<i64, Vec<String>>, HashMap<i64, Origin>), StoreError> {
        let (category_rows, origin_rows): (Vec<(i64, String)>, Vec<OriginRow>) =
            reading!(self, |pool, dialect| {
                let categories = format!(
                    "SELECT article_id, category FROM article_categories
                      WHERE article_id IN ({}) ORDER BY article_id, position",
                    dialect.id_list(1)
                );
                let origins = format!(
                    "SELECT o.article_id, s.name, s.url, s.channel, s.feed_title, s.feed_link
                       FROM article_origins o JOIN sources s ON s.id = o.source_id
                      WHERE o.article_id IN ({})",
                    dialect.id_list(1)
                );
                (
                    sqlx::query_as(AssertSqlSafe(categories))
                        .bind(ids)
                        .fetch_all(pool)
                        .await?,
                    sqlx::query_as(AssertSqlSafe(origins))
                        .bind(ids)
                        .fetch_all(pool)
                        .await?,
                )
            });
        let mut categories: HashMap<i64, Vec<String>> = HashMap::new();
        for (id, category) in category_rows {
            categories.entry(id).or_default().push(category);
        }
        let origins = origin_rows
            .into_iter()
            .map(|(id, name, url, channel, feed_title, feed_link)| {
                let origin = Origin {
                    name,
                    url,
                    channel,
                    feed_title,
                    feed_link,
                };
                (id, origin)
            })
            .collect();
        Ok((categories, origins))
    }

    /// The rows of the stories of `rows`, in the order their first article
    /// appears: an article that joined another's story gives way to the
    /// story's first article.
    async fn as_stories(&self, rows: Vec<ArticleRow>) -> Result<Vec<ArticleRow>, StoreError> {
        let mut order: Vec<i64> = Vec::with_capacity(rows.len());
        let mut by_id: HashMap<i64, ArticleRow> = HashMap::new();
        for row in rows {
            let (id, story) = (row.0, row.10);
            if !order.contains(&story) {
                order.push(story);
            }
            if id == story {
                by_id.insert(id, row);
            }
        }
        let missing: Vec<i64> = order
            .iter()
            .copied()
            .filter(|story| !by_id.contains_key(story))
            .collect();
        if !missing.is_empty() {
            let firsts: Vec<ArticleRow> = reading!(self, |pool, dialect| {
                let sql = format!(
                    "SELECT {} FROM ({}) AS wanted JOIN articles a ON a.id = wanted.value",
                    article_columns(dialect),
                    dialect.id_list(1)
                );
                sqlx::query_as(AssertSqlSafe(sql))
                    .bind(json(&missing))
                    .fetch_all(pool)
                    .await?
            });
            by_id.extend(firsts.into_iter().map(|row| (row.0, row)));
        }
        Ok(order
            .into_iter()
            .filter_map(|story| by_id.remove(&story))
            .collect())
    }

    /// The other outlets' copies of each story whose first article is in
    /// `ids` (a JSON list), earliest first, with the name of the source that
    /// carried each.
    async fn reprints(&self, ids: &str) -> Result<HashMap<i64, Vec<Reprint>>, StoreError> {
        let rows: Vec<(i64, Option<String>, String, Option<String>)> =
            reading!(self, |pool, dialect| {
                let sql = format!(
                    "SELECT e.story_id, a.link, {},
                            (SELECT o.source_name FROM article_origins o WHERE o.article_id = a.id)
                       FROM story_evidence e JOIN articles a ON a.id = e.article_id
                      WHERE e.story_id IN ({})
                      ORDER BY a.published, a.id",
                    dialect.time_text("a.published"),
                    dialect.id_list(1)
                );
                sqlx::query_as(AssertSqlSafe(sql))
                    .bind(ids)
                    .fetch_all(pool)
                    .await?
            });
        let mut reprints: HashMap<i64, Vec<Reprint>> = HashMap::new();
        for (story, link, published, outlet) in rows {
            reprints.entry(story).or_default().push(Reprint {
                link,
                published: from_db(&published).unwrap_or_default(),
                outlet: outlet.unwrap_or_default(),
            });
        }
        Ok(reprints)
    }

    /// Every category label with its article count, most used first (from
    /// the counts the triggers keep: `label_counts`).
    pub async fn labels(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let sql =
            "SELECT category, articles FROM label_counts WHERE articles > 0 ORDER BY 2 DESC, 1";
        Ok(reading!(self, |pool, _dialect| sqlx::query_as(sql)
            .fetch_all(pool)
            .await?))
    }

    /// Search over the whole text of every article, newest first: the
    /// articles whose title or text contains `query`, ignoring case, each
    /// with the passage that matched. Each engine gives its candidates in
    /// order (`SqliteStore::search_candidates`, `PgStore::search_candidates`); those that
    /// do not contain the query itself are dropped here.
    pub async fn search(&self, query: &str, limit: usize) -> Result<Vec<SearchHit>, StoreError> {
        let query = query.trim();
        if query.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let (sql, bound) = match self {
            Store::Sqlite(store) => store.search_candidates(query).await?,
            Store::Postgres(store) => store.search_candidates(query),
        };
        // The hits in order, each with its passage.
        let mut passages: Vec<(i64, String)> = Vec::new();
        reading!(self, |pool, _dialect| {
            let mut candidates = sqlx::query_as::<_, (i64, String, String)>(AssertSqlSafe(sql))
                .bind(bound)
                .fetch(pool);
            for _ in 0..SEARCH_CANDIDATES {
                let Some((id, title, text)) = candidates.try_next().await? else {
                    break;
                };
                let passage = [text.as_str(), title.as_str()]
                    .into_iter()
                    .find_map(|text| crate::text::passage(text, query));
                if let Some(passage) = passage {
                    passages.push((id, passage));
                    if passages.len() == limit {
                        break;
                    }
                }
            }
        });
        let ids: Vec<i64> = passages.iter().map(|(id, _)| *id).collect();
        let filter = ArticleFilter {
            ids: Some(&ids),
            ..ArticleFilter::default()
        };
        let mut articles: HashMap<i64, StoredArticle> =
            self.articles_by_id(&filter).await?.into_iter().collect();
        Ok(passages
            .into_iter()
            .filter_map(|(id, passage)| {
                Some(SearchHit {
                    id,
                    article: articles.remove(&id)?,
                    passage,
                })
            })
            .collect())
    }

    /// The pages of `source_id` due at `now`, oldest due first, at most `limit`.
    pub async fn due_pages(
        &self,
        source_id: i64,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<DuePage>, StoreError> {
        let rows: Vec<(i64, String, i64, i64)> = reading!(self, |pool, dialect| {
            let sql = format!(
                "SELECT p.article_id, p.url, p.attempts, CAST(length(a.plain_text) AS BIGINT)
                   FROM article_pages p JOIN articles a ON a.id = p.article_id
                  WHERE p.source_id = $1 AND p.state = 'pending' AND p.next_attempt <= {}
                  ORDER BY p.next_attempt, p.article_id DESC
                  LIMIT $3",
                dialect.time_param(2)
            );
            sqlx::query_as(AssertSqlSafe(sql))
                .bind(source_id)
                .bind(to_db(now))
                .bind(limit as i64)
                .fetch_all(pool)
                .await?
        });
        Ok(rows
            .into_iter()
            .map(|(article_id, url, attempts, chars)| DuePage {
                article_id,
                url,
                attempts: attempts as u32,
                feed_chars: chars as usize,
            })
            .collect())
    }

    /// Writes what each page fetch gave, in one transaction: the page's
    /// content into its article, or when to try again, or that the feed's
    /// content stays. The article's `content_hash` stays the feed's version,
    /// so the next poll of an unchanged feed leaves the page's content alone.
    pub async fn record_pages(
        &self,
        results: &[(i64, PageOutcome)],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if results.is_empty() {
            return Ok(());
        }
        let now = to_db(now);
        writing!(self, |tx, dialect| {
            let record = format!(
                "UPDATE article_pages SET state = $2, next_attempt = {}, last_error = $4,
                        attempts = attempts + 1, attempted_at = {}
                  WHERE article_id = $1",
                dialect.time_param(3),
                dialect.time_param(5)
            );
            for (article_id, outcome) in results {
                let (state, next_attempt, error) = match outcome {
                    PageOutcome::Read {
                        html,
                        text,
                        source_html,
                        image,
                    } => {
                        sqlx::query(
                            "UPDATE articles SET content_html = $2, plain_text = $3, source_html = $4,
                                    image = coalesce(image, $5)
                              WHERE id = $1",
                        )
                        .bind(article_id)
                        .bind(html)
                        .bind(text)
                        .bind(source_html)
                        .bind(image)
                        .execute(&mut *tx)
                        .await?;
                        ("fetched", None, None)
                    }
                    PageOutcome::Retry { error, at } => ("pending", Some(to_db(*at)), Some(error)),
                    PageOutcome::KeepFeed { error } => ("kept_feed", None, Some(error)),
                };
                sqlx::query(AssertSqlSafe(record.as_str()))
                    .bind(article_id)
                    .bind(state)
                    .bind(next_attempt)
                    .bind(error)
                    .bind(&now)
                    .execute(&mut *tx)
                    .await?;
            }
        });
        Ok(())
    }
}

/// A row of the origins query: article id, then the source's name, URL,
/// channel, feed title and feed link.
type OriginRow = (
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// A list bound as one JSON value (see [`Dialect::id_list`]).
fn json(ids: &[i64]) -> String {
    serde_json::to_string(ids).expect("ids are JSON")
}
