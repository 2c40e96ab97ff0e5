//! SQLite: migrations, the per-poll write, and the queries the commands need.
//!
//! The database is opened in WAL mode so readers (the HTTP server, people with
//! `sqlite3`) never wait for the poller. Every poll of a source is written in
//! one `BEGIN IMMEDIATE` transaction, so a crash leaves either all of a poll or
//! none of it. Writes go through one connection: SQLite has one writer anyway,
//! and queuing in-process is cheaper than retrying on `SQLITE_BUSY`.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqliteConnection, SqlitePool};

use crate::article::{Article, NormalizedFeed, Origin, StoredArticle};
use crate::config::SourceConfig;
use crate::dates::{from_db, to_db};

/// The database could not be opened or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open database {path}: {source}")]
    Open { path: String, source: sqlx::Error },
    #[error("cannot migrate database {path}: {source}")]
    Migrate {
        path: String,
        source: sqlx::migrate::MigrateError,
    },
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
}

/// How a poll of a source ended, as recorded in `sources.last_status` and `fetch_log.outcome`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    NotModified,
    Error,
    Gone,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::NotModified => "not_modified",
            Outcome::Error => "error",
            Outcome::Gone => "gone",
        }
    }
}

/// What the scheduler and fetcher remember about a source between polls.
#[derive(Debug, Clone, Default)]
pub struct SourceState {
    pub id: i64,
    pub url: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub error_count: u32,
    pub next_due: Option<DateTime<Utc>>,
    pub gone: bool,
}

/// Everything one poll of one source learned, written in one transaction.
#[derive(Debug, Clone)]
pub struct PollRecord {
    pub source_id: i64,
    pub started_at: DateTime<Utc>,
    pub duration: Duration,
    pub outcome: Outcome,
    pub http_status: Option<u16>,
    pub bytes: u64,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub error: Option<String>,
    pub error_count: u32,
    pub next_due: DateTime<Utc>,
}

/// Articles a poll found, by what happened to them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub new: u64,
    pub updated: u64,
    pub unchanged: u64,
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, other: Counts) {
        self.new += other.new;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
    }
}

/// A row of `tidings sources`.
#[derive(Debug, Clone)]
pub struct SourceSummary {
    pub name: String,
    pub url: String,
    pub channel: Option<String>,
    pub active: bool,
    pub last_status: Option<String>,
    pub last_error: Option<String>,
    pub last_polled: Option<String>,
    pub next_due: Option<String>,
    pub articles: i64,
}

/// A row of `tidings search`.
#[derive(Debug, Clone)]
pub struct SearchHit {
    pub title: String,
    pub link: Option<String>,
    pub published: String,
}

/// Which stored articles to read, newest first.
#[derive(Debug, Clone, Default)]
pub struct ArticleFilter<'a> {
    /// Only articles with this category label.
    pub label: Option<&'a str>,
    /// Only articles published at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// At most this many.
    pub limit: Option<usize>,
}

/// The database of one tidings instance.
#[derive(Clone)]
pub struct Store {
    writer: SqlitePool,
    readers: SqlitePool,
}

impl Store {
    /// Opens (creating if needed) and migrates the database.
    pub async fn open(path: &Path) -> Result<Store, StoreError> {
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
            .busy_timeout(Duration::from_secs(10));
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await
            .map_err(open_error)?;
        sqlx::migrate!("./migrations")
            .run(&writer)
            .await
            .map_err(|source| StoreError::Migrate {
                path: shown.clone(),
                source,
            })?;
        let readers = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.read_only(true))
            .await
            .map_err(open_error)?;
        Ok(Store { writer, readers })
    }

    /// Makes the `sources` table match the config: new sources are added, changed
    /// ones updated, and ones no longer configured marked inactive (their
    /// articles stay). A source marked gone (HTTP 410) is tried again only once
    /// its config entry changes. Returns the state of each configured source, in order.
    pub async fn sync_sources(
        &self,
        sources: &[SourceConfig],
    ) -> Result<Vec<SourceState>, StoreError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("UPDATE sources SET active = 0")
            .execute(&mut *tx)
            .await?;
        let mut states = Vec::with_capacity(sources.len());
        for source in sources {
            let row = sqlx::query(
                "INSERT INTO sources (url, name, category, channel, config_hash) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (url) DO UPDATE SET name = ?2, category = ?3, channel = ?4, active = 1,
                    last_status = CASE WHEN last_status = 'gone' AND config_hash IS NOT ?5
                                       THEN NULL ELSE last_status END,
                    next_due = CASE WHEN last_status = 'gone' AND config_hash IS NOT ?5
                                    THEN NULL ELSE next_due END,
                    config_hash = ?5
                 RETURNING id, etag, last_modified, error_count, next_due, last_status",
            )
            .bind(source.url.as_str())
            .bind(&source.name)
            .bind(&source.category)
            .bind(&source.channel)
            .bind(source.fingerprint())
            .fetch_one(&mut *tx)
            .await?;
            states.push(SourceState {
                id: row.get(0),
                url: source.url.to_string(),
                etag: row.get(1),
                last_modified: row.get(2),
                error_count: row.get::<i64, _>(3) as u32,
                next_due: row.get::<Option<String>, _>(4).as_deref().and_then(from_db),
                gone: row.get::<Option<String>, _>(5).as_deref() == Some("gone"),
            });
        }
        tx.commit().await?;
        Ok(states)
    }

    /// Writes one poll: its articles (if the feed was fetched and parsed), the
    /// source's new state and a fetch-log row, all or nothing.
    pub async fn record_poll(
        &self,
        record: &PollRecord,
        feed: Option<&NormalizedFeed>,
    ) -> Result<Counts, StoreError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let now = to_db(record.started_at);
        let mut counts = Counts::default();
        if let Some(feed) = feed {
            for article in &feed.articles {
                counts += upsert_article(&mut tx, record.source_id, article, &now).await?;
            }
            sqlx::query("UPDATE sources SET feed_title = ?2, feed_link = ?3 WHERE id = ?1")
                .bind(record.source_id)
                .bind(&feed.feed.title)
                .bind(&feed.feed.link)
                .execute(&mut *tx)
                .await?;
        }
        let succeeded = matches!(record.outcome, Outcome::Ok | Outcome::NotModified);
        sqlx::query(
            "UPDATE sources SET
                etag = CASE WHEN ?2 THEN ?3 ELSE etag END,
                last_modified = CASE WHEN ?2 THEN ?4 ELSE last_modified END,
                last_polled = ?5,
                last_success = CASE WHEN ?2 THEN ?5 ELSE last_success END,
                last_status = ?6, last_error = ?7, error_count = ?8, next_due = ?9
             WHERE id = ?1",
        )
        .bind(record.source_id)
        .bind(succeeded)
        .bind(&record.etag)
        .bind(&record.last_modified)
        .bind(&now)
        .bind(record.outcome.as_str())
        .bind(&record.error)
        .bind(record.error_count as i64)
        .bind(to_db(record.next_due))
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO fetch_log (source_id, started_at, duration_ms, outcome, http_status, bytes,
                                    new_articles, updated_articles, unchanged_articles, error)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(record.source_id)
        .bind(&now)
        .bind(record.duration.as_millis() as i64)
        .bind(record.outcome.as_str())
        .bind(record.http_status.map(i64::from))
        .bind(record.bytes as i64)
        .bind(counts.new as i64)
        .bind(counts.updated as i64)
        .bind(counts.unchanged as i64)
        .bind(&record.error)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(counts)
    }

    /// Every source, configured ones first, for `tidings sources`.
    pub async fn list_sources(&self) -> Result<Vec<SourceSummary>, StoreError> {
        let rows = sqlx::query(
            "SELECT name, url, channel, active, last_status, last_error, last_polled, next_due, articles
               FROM source_overview ORDER BY active DESC, id",
        )
        .fetch_all(&self.readers)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| SourceSummary {
                name: r.get(0),
                url: r.get(1),
                channel: r.get(2),
                active: r.get(3),
                last_status: r.get(4),
                last_error: r.get(5),
                last_polled: r.get(6),
                next_due: r.get(7),
                articles: r.get(8),
            })
            .collect())
    }

    /// Stored articles with their categories and origin, newest first. A label
    /// reads from the `(category, published)` index, so a category feed costs
    /// the same however large the database grows.
    pub async fn articles(
        &self,
        filter: &ArticleFilter<'_>,
    ) -> Result<Vec<StoredArticle>, StoreError> {
        const COLUMNS: &str = "a.id, a.key, a.title, a.link, a.author, a.published, a.updated,
                               a.summary, a.content_html, a.image";
        let since = filter.since.map(to_db).unwrap_or_default();
        let limit = filter.limit.map_or(-1, |l| l as i64);
        let rows = match filter.label {
            Some(label) => {
                let sql = format!(
                    "SELECT {COLUMNS} FROM article_categories c JOIN articles a ON a.id = c.article_id
                      WHERE c.category = ?1 AND c.published >= ?2
                      ORDER BY c.published DESC, c.article_id DESC LIMIT ?3"
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(label)
                    .bind(&since)
                    .bind(limit)
                    .fetch_all(&self.readers)
                    .await?
            }
            None => {
                let sql = format!(
                    "SELECT {COLUMNS} FROM articles a WHERE a.published >= ?1
                      ORDER BY a.published DESC, a.id DESC LIMIT ?2"
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(&since)
                    .bind(limit)
                    .fetch_all(&self.readers)
                    .await?
            }
        };
        let ids: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
        let ids_json = serde_json::to_string(&ids).expect("ids serialize");
        let mut categories: std::collections::HashMap<i64, Vec<String>> = Default::default();
        for row in sqlx::query(
            "SELECT article_id, category FROM article_categories
              WHERE article_id IN (SELECT value FROM json_each(?1)) ORDER BY article_id, position",
        )
        .bind(&ids_json)
        .fetch_all(&self.readers)
        .await?
        {
            categories.entry(row.get(0)).or_default().push(row.get(1));
        }
        let mut origins: std::collections::HashMap<i64, Origin> = Default::default();
        for row in sqlx::query(
            "SELECT x.article_id, s.name, s.url, s.channel, s.feed_title, s.feed_link
               FROM article_sources x JOIN sources s ON s.id = x.source_id
              WHERE x.article_id IN (SELECT value FROM json_each(?1))
              ORDER BY x.article_id, x.first_seen DESC, s.id DESC",
        )
        .bind(&ids_json)
        .fetch_all(&self.readers)
        .await?
        {
            // Rows come latest first, so the last insert per article is its first source.
            origins.insert(
                row.get(0),
                Origin {
                    name: row.get(1),
                    url: row.get(2),
                    channel: row.get(3),
                    feed_title: row.get(4),
                    feed_link: row.get(5),
                },
            );
        }
        Ok(rows
            .into_iter()
            .map(|r| {
                let id: i64 = r.get(0);
                let date = |i: usize| r.get::<Option<String>, _>(i).as_deref().and_then(from_db);
                StoredArticle {
                    key: r.get(1),
                    title: r.get(2),
                    link: r.get(3),
                    author: r.get(4),
                    published: date(5).unwrap_or_default(),
                    updated: date(6),
                    summary: r.get(7),
                    content_html: r.get(8),
                    image: r.get(9),
                    categories: categories.remove(&id).unwrap_or_default(),
                    origin: origins.remove(&id),
                }
            })
            .collect())
    }

    /// Every category label with its article count, most used first.
    pub async fn labels(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT category, count(*) FROM article_categories GROUP BY category ORDER BY 2 DESC, 1",
        )
        .fetch_all(&self.readers)
        .await?;
        Ok(rows.into_iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// Full-text search, newest first. Trigram matching needs three characters;
    /// shorter queries (common in Chinese: 央行, 股市) fall back to a scan.
    pub async fn search(&self, query: &str, limit: u32) -> Result<Vec<SearchHit>, StoreError> {
        let query = query.trim();
        let sql = if query.chars().count() >= 3 {
            "SELECT a.title, a.link, a.published FROM articles_fts f JOIN articles a ON a.id = f.rowid
              WHERE articles_fts MATCH ?1 ORDER BY a.published DESC LIMIT ?2"
        } else {
            "SELECT title, link, published FROM articles
              WHERE instr(title, ?1) OR instr(summary, ?1) OR instr(content_html, ?1)
              ORDER BY published DESC LIMIT ?2"
        };
        // Quoted, the query is one phrase: FTS5 operators in it are plain text.
        let bound = if query.chars().count() >= 3 {
            format!("\"{}\"", query.replace('"', "\"\""))
        } else {
            query.to_string()
        };
        let rows = sqlx::query(sql)
            .bind(bound)
            .bind(limit as i64)
            .fetch_all(&self.readers)
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| SearchHit {
                title: r.get(0),
                link: r.get(1),
                published: r.get(2),
            })
            .collect())
    }
}

/// Stores one article from one source. The source's own last version decides
/// whether the entry changed, so two feeds carrying slightly different copies
/// of one story do not overwrite each other on every poll. A change moves
/// `updated` to the entry's own updated time when the feed gives a newer one,
/// else to the time we saw the change.
async fn upsert_article(
    tx: &mut SqliteConnection,
    source_id: i64,
    article: &Article,
    now: &str,
) -> Result<Counts, StoreError> {
    let existing = sqlx::query(
        "SELECT a.id, x.content_hash FROM articles a
           LEFT JOIN article_sources x ON x.article_id = a.id AND x.source_id = ?2
          WHERE a.key = ?1",
    )
    .bind(&article.key)
    .bind(source_id)
    .fetch_optional(&mut *tx)
    .await?;
    let published = article.published.map(to_db);
    let updated = article.updated.map(to_db);
    let Some(row) = existing else {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO articles (key, title, link, guid, author, published, updated, summary,
                                   content_html, image, content_hash, first_seen, last_seen)
             VALUES (?1, ?2, ?3, ?4, ?5, coalesce(?6, ?12), ?7, ?8, ?9, ?10, ?11, ?12, ?12)
             RETURNING id",
        )
        .bind(&article.key)
        .bind(&article.title)
        .bind(&article.link)
        .bind(&article.guid)
        .bind(&article.author)
        .bind(&published)
        .bind(&updated)
        .bind(&article.summary)
        .bind(&article.content_html)
        .bind(&article.image)
        .bind(&article.content_hash)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        link_source(tx, id, source_id, article, now).await?;
        index_text(tx, id, article).await?;
        return Ok(Counts {
            new: 1,
            ..Counts::default()
        });
    };
    let id: i64 = row.get(0);
    let delivered: Option<String> = row.get(1);
    match delivered {
        Some(hash) if hash == article.content_hash => {
            sqlx::query("UPDATE articles SET last_seen = ?2 WHERE id = ?1 AND last_seen < ?2")
                .bind(id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            Ok(Counts {
                unchanged: 1,
                ..Counts::default()
            })
        }
        None => {
            // Another feed carries a story we have: it joins the story's sources.
            link_source(tx, id, source_id, article, now).await?;
            sqlx::query("UPDATE articles SET last_seen = ?2 WHERE id = ?1")
                .bind(id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            Ok(Counts {
                unchanged: 1,
                ..Counts::default()
            })
        }
        Some(_) => {
            sqlx::query(
                "UPDATE articles SET title = ?2, link = ?3, author = ?4,
                        published = coalesce(?5, published),
                        updated = CASE WHEN ?6 > coalesce(updated, '') THEN ?6 ELSE ?11 END,
                        summary = ?7, content_html = ?8, image = ?9, content_hash = ?10,
                        last_seen = ?11
                  WHERE id = ?1",
            )
            .bind(id)
            .bind(&article.title)
            .bind(&article.link)
            .bind(&article.author)
            .bind(&published)
            .bind(&updated)
            .bind(&article.summary)
            .bind(&article.content_html)
            .bind(&article.image)
            .bind(&article.content_hash)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE article_categories SET published = (SELECT published FROM articles WHERE id = ?1)
                  WHERE article_id = ?1",
            )
            .bind(id)
            .execute(&mut *tx)
            .await?;
            link_source(tx, id, source_id, article, now).await?;
            index_text(tx, id, article).await?;
            Ok(Counts {
                updated: 1,
                ..Counts::default()
            })
        }
    }
}

/// Records that `source_id` carries the article in this version, and adds the
/// categories it gives the article after the ones already there.
async fn link_source(
    tx: &mut SqliteConnection,
    article_id: i64,
    source_id: i64,
    article: &Article,
    now: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO article_sources (article_id, source_id, guid, content_hash, first_seen)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (article_id, source_id) DO UPDATE SET guid = ?3, content_hash = ?4",
    )
    .bind(article_id)
    .bind(source_id)
    .bind(&article.guid)
    .bind(&article.content_hash)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    for category in &article.categories {
        sqlx::query(
            "INSERT OR IGNORE INTO article_categories (article_id, category, position, published)
             SELECT ?1, ?2, coalesce(max(position) + 1, 0), (SELECT published FROM articles WHERE id = ?1)
               FROM article_categories WHERE article_id = ?1",
        )
        .bind(article_id)
        .bind(category)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

async fn index_text(
    tx: &mut SqliteConnection,
    article_id: i64,
    article: &Article,
) -> Result<(), StoreError> {
    sqlx::query("INSERT OR REPLACE INTO articles_fts (rowid, title, body) VALUES (?, ?, ?)")
        .bind(article_id)
        .bind(&article.title)
        .bind(&article.text)
        .execute(&mut *tx)
        .await?;
    Ok(())
}
