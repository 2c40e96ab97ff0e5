//! One pass of the flow for one source: claim, fetch, read, record, store,
//! article pages, report.
//!
//! `tidings poll` runs it once for every source; the daemon runs it whenever a
//! source is due. A failure of one source is recorded on that source and never
//! stops the others: only a database that cannot be written is an error here.

mod attempt;
mod pages;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::article::NormalizedFeed;
use crate::article::dedup::TrackingParams;
use crate::article::pages::PageCounts;
use crate::config::{Config, FullContent, Interval, SourceConfig};
use crate::fetch::{FetchError, Fetcher, Validators};
use crate::read::parse;
use crate::run::schedule::{self, Ended, HostGate};
use crate::serve::metrics::{ChangeLabels, ClaimLabels, OutcomeLabels, SourceLabels, metrics};
use crate::store::{
    Cadence, Claim, Counts, Outcome, PollRecord, SourceState, Store, StoreError, Wanted,
};
use attempt::FetchPermits;

/// Starts compiling the patterns that reading entries uses, on a thread of
/// the blocking pool. Each would otherwise be compiled on first use, in the
/// middle of the first feeds read, when the other polls keep both cores
/// busy (about 3% of an update round's CPU); at start-up one core is idle.
pub fn compile_patterns() {
    tokio::task::spawn_blocking(|| {
        crate::cluster::text::compile_patterns();
        crate::read::dates::compile_patterns();
    });
}

/// Most parsed feeds waiting for the database at once.
const BACKLOG: usize = 224;

/// What one poll of one source did, for the summary and the daemon.
#[derive(Debug, Clone)]
pub struct SourceReport {
    pub name: String,
    pub url: String,
    pub outcome: Outcome,
    pub counts: Counts,
    pub bytes: u64,
    pub error: Option<String>,
    /// What reading the body forgave (see `parse`).
    pub warnings: Vec<String>,
    pub next_due: DateTime<Utc>,
    /// Article pages fetched for full content.
    pub pages: PageCounts,
}

impl SourceReport {
    /// Whether the poll changed what the generated feeds show.
    pub fn changed(&self) -> bool {
        self.counts.new + self.counts.updated + self.pages.read > 0
    }
}

/// Shared by every poll of a run: the client, the limits and the database.
#[derive(Clone)]
pub struct Poller {
    config: Arc<Config>,
    store: Store,
    fetcher: Fetcher,
    hosts: HostGate,
    /// Fetches in flight over all hosts.
    fetches: Arc<Semaphore>,
    /// Feeds being parsed: one per core, as parsing is CPU work.
    parsers: Arc<Semaphore>,
    /// Feeds between parse and commit: bounds the memory of a large poll
    /// when parsing outpaces the database.
    backlog: Arc<Semaphore>,
    tracking: TrackingParams,
}

impl Poller {
    /// `hosts` outlives a poller: a reloaded config keeps the holds hosts asked
    /// for. The fetcher is made by the caller, as building its TLS setup
    /// (reading the system's root certificates) is better done while the
    /// database opens.
    pub fn new(config: Arc<Config>, store: Store, hosts: HostGate, fetcher: Fetcher) -> Poller {
        Poller {
            fetcher,
            hosts,
            fetches: Arc::new(Semaphore::new(config.poll.concurrency)),
            parsers: Arc::new(Semaphore::new(
                std::thread::available_parallelism().map_or(2, usize::from),
            )),
            backlog: Arc::new(Semaphore::new(BACKLOG)),
            tracking: TrackingParams::new(&config.poll.tracking_params),
            config,
            store,
        }
    }

    /// Polls every source at once (within the limits) and returns their reports
    /// in the order given, calling `done` as each poll ends (for a progress
    /// bar). Sources marked gone (HTTP 410) are left out.
    pub async fn poll_all(
        &self,
        sources: &[SourceConfig],
        states: &mut [SourceState],
        done: impl Fn(),
    ) -> Result<Vec<SourceReport>, StoreError> {
        use futures::FutureExt;
        let wanted = Wanted::NotPolledSince(self.store.clock().await?);
        let polls = sources
            .iter()
            .zip(states.iter_mut())
            .filter(|(_, state)| !state.gone)
            .map(|(source, state)| self.poll(source, state, wanted).inspect(|_| done()));
        let reports: Result<Vec<_>, _> =
            futures::future::join_all(polls).await.into_iter().collect();
        Ok(reports?.into_iter().flatten().collect())
    }

    /// Claims one source, polls it and records the result; `state` is
    /// updated for the next poll. `None` when another poller sharing the
    /// database has the source, or has just polled it (`state.next_due`
    /// says when to look again), or took it over since.
    pub async fn poll(
        &self,
        source: &SourceConfig,
        state: &mut SourceState,
        wanted: Wanted,
    ) -> Result<Option<SourceReport>, StoreError> {
        let host = crate::fetch::host_key(&source.url);
        let Some(permits) = self.claim(&host, state, wanted).await? else {
            return Ok(None);
        };
        // Boxed: a poll's future is as large as its largest step, and every
        // source's poll waits for its permits at once (5,000 feeds' polls
        // held 38 MB waiting); boxed, only the polls under way hold theirs.
        Box::pin(self.poll_claimed(source, state, &host, permits)).await
    }

    /// The poll of a source once claimed, with the permits for its fetch:
    /// fetched, read and recorded, and its pages read.
    async fn poll_claimed(
        &self,
        source: &SourceConfig,
        state: &mut SourceState,
        host: &str,
        permits: FetchPermits<'_>,
    ) -> Result<Option<SourceReport>, StoreError> {
        let started_at = Utc::now();
        let clock = Instant::now();
        let attempt = self
            .fetch_and_read(source, host, state, started_at, permits)
            .await;
        let outcome_label = attempt.metric_label();
        let (record, feed) = self
            .record(
                source,
                state,
                started_at,
                clock.elapsed(),
                attempt.result,
                attempt.bytes,
            )
            .await;
        let warnings = feed
            .as_ref()
            .map(|f| f.warnings.clone())
            .unwrap_or_default();
        let filtered = feed.as_ref().map_or(0, |feed| feed.filtered as u64);
        let Some(mut counts) = self.store(source, &record, feed).await? else {
            return Ok(None);
        };
        counts.filtered = filtered;
        drop(attempt.backlog);
        record_metrics(source, &record, &counts, outcome_label);
        remember(state, &record);
        let pages = match (&record.outcome, source.full_content) {
            // Boxed: reading pages is most of this future's size (15 of
            // 18 KB), which every poll moved into its box, pages or not.
            (Outcome::Ok | Outcome::NotModified, FullContent::Always | FullContent::IfShort) => {
                Box::pin(self.read_pages(source, state.id)).await?
            }
            _ => PageCounts::default(),
        };
        Ok(Some(SourceReport {
            name: source.name.clone(),
            url: source.url.to_string(),
            outcome: record.outcome,
            counts,
            bytes: record.bytes,
            error: record.error,
            warnings,
            next_due: record.next_due,
            pages,
        }))
    }

    /// Claims the source, with this process's permits for its fetch taken
    /// first, so that pollers sharing a database share its sources as each
    /// is ready to fetch. `None` when another poller has it.
    async fn claim(
        &self,
        host: &str,
        state: &mut SourceState,
        wanted: Wanted,
    ) -> Result<Option<FetchPermits<'_>>, StoreError> {
        let unclaimed: &SourceState = state;
        let (permits, claim) = self
            .permits_and(host, || {
                self.store.claim(unclaimed, wanted, self.host_limit())
            })
            .await?;
        let count = |outcome| {
            metrics()
                .claims
                .get_or_create(&ClaimLabels { outcome })
                .inc()
        };
        match claim {
            Claim::Granted(claimed) => {
                count("granted");
                *state = claimed;
                Ok(Some(permits))
            }
            Claim::Taken(again) => {
                count("taken");
                state.next_due = Some(again);
                Ok(None)
            }
        }
    }

    /// What the poll learned, as the store writes it, and the feed it read:
    /// the outcome, the validators, and when the source is due next (a
    /// host that asked to wait is held for every source on it).
    async fn record(
        &self,
        source: &SourceConfig,
        state: &SourceState,
        started_at: DateTime<Utc>,
        duration: Duration,
        result: Result<Polled, PollError>,
        bytes: u64,
    ) -> (PollRecord, Option<NormalizedFeed>) {
        let last = Validators {
            etag: state.etag.clone(),
            last_modified: state.last_modified.clone(),
        };
        let learned = Learned::from(result, last);
        if let Ended::Failed {
            retry_after: Some(wait),
        } = learned.ended
        {
            self.hold(&crate::fetch::host_key(&source.url), wait).await;
        }
        let configured = self.config.interval_of(source);
        let cadence = match (&learned.feed, configured) {
            (Some(feed), Interval::Auto) => schedule::auto_interval(
                (feed.articles.iter().map(|a| a.published))
                    .chain(feed.recalled.iter().map(|r| r.published))
                    .flatten(),
                started_at,
                self.config.poll.min_interval,
                self.config.poll.max_interval,
            ),
            _ => self.cadence(configured, state),
        };
        for warning in learned.feed.iter().flat_map(|feed| &feed.warnings) {
            tracing::warn!("{} <{}>: {warning}", source.name, source.url);
        }
        let next = schedule::after_poll(started_at, cadence, state.error_count, learned.ended);
        let record = PollRecord {
            source_id: state.id,
            started_at,
            duration,
            outcome: learned.outcome,
            http_status: learned.http_status,
            bytes,
            etag: learned.validators.etag,
            last_modified: learned.validators.last_modified,
            body_hash: learned.body_hash,
            error: learned.error,
            error_count: next.failures,
            next_due: next.due,
            cadence: next.cadence,
            full_content: source.full_content,
            cluster: source.cluster,
            lease: state.lease.clone(),
        };
        (record, learned.feed)
    }

    /// Writes the poll, counting its feed while it waits for the writer;
    /// `None` when another poller took the source over since it was claimed.
    async fn store(
        &self,
        source: &SourceConfig,
        record: &PollRecord,
        feed: Option<NormalizedFeed>,
    ) -> Result<Option<Counts>, StoreError> {
        let _waiting = feed.is_some().then(Waiting::new);
        match self.store.record_poll(record.clone(), feed).await {
            Err(StoreError::LeaseLost(_)) => {
                tracing::warn!(
                    "{} <{}>: the poll outlasted its lease and another poller has the source: not written",
                    source.name,
                    source.url
                );
                Ok(None)
            }
            counts => counts.map(Some),
        }
    }

    /// The interval a source is polled at before this poll says more: the
    /// configured one, or the last `auto` reading, which a 304, a `<ttl>` or
    /// a failure leaves as it was (else the default, within the bounds, until
    /// the feed has been read).
    fn cadence(&self, configured: Interval, state: &SourceState) -> Cadence {
        match configured {
            Interval::Every(interval) => Cadence {
                interval,
                reason: CONFIGURED.into(),
            },
            Interval::Auto => match &state.cadence {
                Some(last) if last.reason != CONFIGURED => last.clone(),
                _ => Cadence {
                    interval: std::time::Duration::from_secs(30 * 60)
                        .clamp(self.config.poll.min_interval, self.config.poll.max_interval),
                    reason: "auto, until the feed has been read".into(),
                },
            },
        }
    }
}

/// The reason of an interval the config gives.
const CONFIGURED: &str = "configured";

/// What a poll's result says, before the schedule has its say.
struct Learned {
    outcome: Outcome,
    http_status: Option<u16>,
    /// The response's, else (a 304, a failure) the last ones.
    validators: Validators,
    body_hash: Option<String>,
    error: Option<String>,
    ended: Ended,
    feed: Option<NormalizedFeed>,
}

impl Learned {
    /// What `result` says; `last` are the validators a 304 keeps.
    fn from(result: Result<Polled, PollError>, last: Validators) -> Learned {
        match result {
            Ok(Polled::NotModified {
                status,
                validators,
                fresh_for,
            }) => Learned {
                outcome: Outcome::NotModified,
                http_status: Some(status),
                validators: validators.unwrap_or(last),
                body_hash: None,
                error: None,
                ended: Ended::Read {
                    fresh_for,
                    ttl: None,
                },
                feed: None,
            },
            Ok(Polled::Feed {
                status,
                feed,
                validators,
                fresh_for,
                body_hash,
            }) => Learned {
                outcome: Outcome::Ok,
                http_status: Some(status),
                validators,
                body_hash,
                error: None,
                ended: Ended::Read {
                    fresh_for,
                    ttl: feed
                        .feed
                        .ttl_minutes
                        .map(|m| Duration::from_secs(u64::from(m) * 60)),
                },
                feed: Some(feed),
            },
            Err(error) => Learned {
                outcome: error.outcome(),
                http_status: error.http_status(),
                validators: Validators::default(),
                body_hash: None,
                error: Some(error.to_string()),
                ended: match &error {
                    PollError::Held(until) => Ended::Held(*until),
                    error => Ended::Failed {
                        retry_after: error.retry_after(),
                    },
                },
                feed: None,
            },
        }
    }
}

/// The state a source keeps for its next poll, from what this one learned.
fn remember(state: &mut SourceState, record: &PollRecord) {
    if matches!(record.outcome, Outcome::Ok | Outcome::NotModified) {
        state.etag = record.etag.clone();
        state.last_modified = record.last_modified.clone();
        if record.body_hash.is_some() {
            state.body_hash = record.body_hash.clone();
        }
    }
    // A body read is remembered entry by entry (see `article::recall`).
    state.remembers_entries |= record.outcome == Outcome::Ok;
    state.error_count = record.error_count;
    state.next_due = Some(record.next_due);
    state.cadence = Some(record.cadence.clone());
    state.gone = record.outcome == Outcome::Gone;
    state.lease = None;
}

/// A fetch and its reading, with the backlog permit its feed holds until
/// it is written.
struct Attempt {
    result: Result<Polled, PollError>,
    bytes: u64,
    backlog: Option<OwnedSemaphorePermit>,
}

impl Attempt {
    fn polled(polled: Polled) -> Attempt {
        Attempt {
            result: Ok(polled),
            bytes: 0,
            backlog: None,
        }
    }

    fn failed(error: PollError) -> Attempt {
        Attempt {
            result: Err(error),
            bytes: 0,
            backlog: None,
        }
    }

    /// How the poll ended, as the `outcome` label of the fetch metrics.
    fn metric_label(&self) -> &'static str {
        match &self.result {
            Ok(Polled::NotModified { .. }) => "not_modified",
            Ok(Polled::Feed { .. }) => "ok",
            Err(error) => error.metric_label(),
        }
    }
}

enum Polled {
    /// A 304, or the same bytes as the last body read.
    NotModified {
        status: u16,
        /// The response's validators; `None` for a 304, which keeps the last ones.
        validators: Option<Validators>,
        fresh_for: Option<std::time::Duration>,
    },
    Feed {
        status: u16,
        feed: NormalizedFeed,
        validators: Validators,
        fresh_for: Option<std::time::Duration>,
        body_hash: Option<String>,
    },
}

#[derive(Debug, thiserror::Error)]
enum PollError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error(transparent)]
    Parse(#[from] parse::ParseError),
    #[error("the parser crashed on this feed: {0}")]
    Crashed(String),
    #[error("the host asked us to wait until {0}")]
    Held(DateTime<Utc>),
}

/// A parsed feed on its way to the writer, counted while it waits.
struct Waiting;

impl Waiting {
    fn new() -> Waiting {
        metrics().feeds_waiting_for_writer.inc();
        Waiting
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        metrics().feeds_waiting_for_writer.dec();
    }
}

/// What one poll adds to the metrics.
fn record_metrics(
    source: &SourceConfig,
    record: &PollRecord,
    counts: &Counts,
    outcome: &'static str,
) {
    let metrics = metrics();
    let labels = OutcomeLabels { outcome };
    metrics.fetches.get_or_create(&labels).inc();
    metrics
        .fetch_seconds
        .get_or_create(&labels)
        .observe(record.duration.as_secs_f64());
    for (change, count) in [("new", counts.new), ("updated", counts.updated)] {
        if count > 0 {
            metrics
                .articles
                .get_or_create(&ChangeLabels { change })
                .inc_by(count);
        }
    }
    let source = SourceLabels {
        source: source.name.clone(),
        url: source.url.to_string(),
    };
    if matches!(record.outcome, Outcome::Ok | Outcome::NotModified) {
        metrics
            .source_last_success
            .get_or_create(&source)
            .set(record.started_at.timestamp_millis() as f64 / 1000.0);
    }
    metrics
        .source_failures
        .get_or_create(&source)
        .set(i64::from(record.error_count));
}

impl PollError {
    /// How the poll ended, as the `outcome` label of the fetch metrics.
    fn metric_label(&self) -> &'static str {
        match self {
            PollError::Fetch(FetchError::Gone) => "gone",
            PollError::Fetch(FetchError::Throttled { .. }) | PollError::Held(_) => "rate_limited",
            PollError::Fetch(FetchError::Status(status) | FetchError::Redirect { status, .. }) => {
                if *status >= 500 {
                    "http_5xx"
                } else {
                    "http_4xx"
                }
            }
            PollError::Fetch(FetchError::Timeout) => "timeout",
            PollError::Fetch(
                FetchError::Network(_)
                | FetchError::TooLarge(_)
                | FetchError::File { .. }
                | FetchError::Refused(_),
            ) => "network",
            PollError::Parse(_) | PollError::Crashed(_) => "parse",
        }
    }

    fn outcome(&self) -> Outcome {
        match self {
            PollError::Fetch(FetchError::Gone) => Outcome::Gone,
            _ => Outcome::Error,
        }
    }

    fn http_status(&self) -> Option<u16> {
        match self {
            PollError::Fetch(error) => error.http_status(),
            _ => None,
        }
    }

    /// How long the server asked us to stay away (429/503 with Retry-After).
    fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            PollError::Fetch(FetchError::Throttled { retry_after, .. }) => *retry_after,
            _ => None,
        }
    }
}
