//! What the store takes and gives, whichever database is behind it.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::article::StoredArticle;
use crate::config::FullContent;

/// The database could not be opened or written.
///
/// Each message ends with what the database said, once (`database is
/// locked`, `attempt to write a readonly database`, `disk I/O error`): the
/// causes are part of the message, not a chain of sources that would repeat
/// them.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open database {path}: {}", database_says(.cause))]
    Open { path: String, cause: sqlx::Error },
    #[error("cannot migrate database {path}: {}", migration_says(.cause))]
    Migrate {
        path: String,
        cause: sqlx::migrate::MigrateError,
    },
    #[error("database error: {}", database_says(.0))]
    Sql(sqlx::Error),
    /// An error of the group write, which talks to SQLite through rusqlite.
    #[error("database error: {0}")]
    Ingest(rusqlite::Error),
    #[error("database error: {0}")]
    Write(String),
    /// Another poller claimed the source since this one did: its poll is
    /// not written.
    #[error("source {0} was claimed by another poller; this poll is dropped")]
    LeaseLost(i64),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> StoreError {
        StoreError::Sql(error)
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> StoreError {
        StoreError::Ingest(error)
    }
}

/// What the database itself said, without sqlx's wrapping and code.
fn database_says(error: &sqlx::Error) -> String {
    match error {
        sqlx::Error::Database(error) => error.message().to_string(),
        other => other.to_string(),
    }
}

fn migration_says(error: &sqlx::migrate::MigrateError) -> String {
    match error {
        sqlx::migrate::MigrateError::Execute(error) => database_says(error),
        other => other.to_string(),
    }
}

/// How often a source is polled, and why, as `tidings sources` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Cadence {
    pub interval: Duration,
    pub reason: String,
}

impl std::fmt::Display for Cadence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "every {} ({})",
            crate::text::to_the_second(self.interval),
            self.reason
        )
    }
}

/// Which sources a poller may claim.
#[derive(Debug, Clone, Copy)]
pub enum Wanted {
    /// Those due now (`tidings run`).
    Due,
    /// Those due now or not polled since this time of the database's clock
    /// (`tidings poll`, which polls every source once).
    NotPolledSince(DateTime<Utc>),
}

/// How many fetches may go to one host at once, over every poller sharing
/// the database, and how long one may take at most (the fetch's timeout):
/// the turn of a poller that dies mid-fetch is free again after that.
#[derive(Debug, Clone, Copy)]
pub struct HostLimit {
    pub per_host: usize,
    pub fetch_timeout: Duration,
}

/// What a claim on a source gave (when its host had a fetch to spare).
#[derive(Debug, Clone)]
pub enum Claim {
    /// Poll it now, from this state.
    Granted(SourceState),
    /// Another poller has it, has just polled it, or its host asked to wait:
    /// look again at this time.
    Taken(DateTime<Utc>),
}

/// What asking for a turn at a host gave, for a fetch other than a
/// source's feed (an article page), when the host had a turn to spare.
#[derive(Debug, Clone)]
pub enum Turn {
    /// Fetch now; give the turn back with this token when the fetch ends
    /// (PostgreSQL's; SQLite's turns are this process's own).
    Granted(Option<String>),
    /// The host asked a poller to wait until then.
    Held(DateTime<Utc>),
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
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// A hash of the last body read (see [`PollRecord::body_hash`]).
    pub body_hash: Option<String>,
    pub error_count: u32,
    pub next_due: Option<DateTime<Utc>>,
    pub gone: bool,
    /// The interval of the last poll and why (an `auto` source keeps its
    /// reading across 304s and restarts).
    pub cadence: Option<Cadence>,
    /// The token of this poller's claim on the source (PostgreSQL, where
    /// several pollers share the sources); its poll is written only while
    /// the claim holds.
    pub lease: Option<String>,
    /// Whether the store remembers the source's last reading (see
    /// `article::recall`): when it does not, there is nothing to ask for.
    pub remembers_entries: bool,
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
    /// A hash of the body this poll read, so the same bytes are not read
    /// again (`None` when it read none).
    pub body_hash: Option<String>,
    pub error: Option<String>,
    pub error_count: u32,
    pub next_due: DateTime<Utc>,
    pub cadence: Cadence,
    /// The source's setting: which new articles wait for their page.
    pub full_content: FullContent,
    /// The source's setting: whether its new articles join stories.
    pub cluster: bool,
    /// The claim the poll was made under (see [`SourceState::lease`]).
    pub lease: Option<String>,
}

/// Articles a poll found, by what happened to them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub new: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Kept out by the user's filters, never stored.
    pub filtered: u64,
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, other: Counts) {
        self.new += other.new;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
        self.filtered += other.filtered;
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
    /// What reading the last body forgave, one message a line.
    pub last_warnings: Option<String>,
    pub next_due: Option<String>,
    pub articles: i64,
    /// The interval of the last poll and why.
    pub cadence: Option<Cadence>,
}

/// An article a search found, and the passage of its text that matched.
#[derive(Debug, Clone)]
pub struct SearchHit {
    /// The article's id (its story's page).
    pub id: i64,
    pub article: StoredArticle,
    /// About a hundred characters around the first match, the match itself
    /// between `【` and `】` (see [`crate::text::passage`]).
    pub passage: String,
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
    /// Only these articles (a search's hits).
    pub ids: Option<&'a [i64]>,
    /// One article per story: an article that joined another's story is
    /// shown as that story, whose first article carries the other outlets'
    /// copies (the merged feeds); else every article as itself.
    pub stories: bool,
    /// Only the first article of each story, each story once at the time of
    /// its first copy (the news pages, read page by page; the merged feeds
    /// show a story again when a new copy arrives).
    pub story_leads: bool,
    /// Only articles after this one in the order read, newest first: the
    /// next page. Not for a search's hits.
    pub before: Option<i64>,
}

/// A stored interval and its reason.
pub(super) fn cadence(seconds: Option<i64>, reason: Option<String>) -> Option<Cadence> {
    Some(Cadence {
        interval: Duration::from_secs(seconds?.max(0) as u64),
        reason: reason?,
    })
}
