//! One pass of the flow for one source: fetch, parse, normalize, store.
//!
//! `tidings poll` runs it once for every source; the daemon runs it whenever a
//! source is due. A failure of one source is recorded on that source and never
//! stops the others: only a database that cannot be written is an error here.

use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use url::Url;

use crate::article::NormalizedFeed;
use crate::article::dedup::TrackingParams;
use crate::article::normalize::{self, ReadBody, SourceContext};
use crate::article::pages::{self, PageCounts, PageOutcome};
use crate::config::{Config, FullContent, Interval, SourceConfig};
use crate::fetch::{FetchError, Fetched, Fetcher, Validators};
use crate::read::parse::{self, ParseHints};
use crate::read::scrape::Reading;
use crate::run::schedule::{self, HostGate};
use crate::serve::metrics::{
    ChangeLabels, ClaimLabels, OutcomeLabels, PageLabels, ReasonLabels, SourceLabels, metrics,
};
use crate::store::Cadence;
use crate::store::{
    Claim, Counts, DuePage, HostLimit, Outcome, PollRecord, SourceState, Store, StoreError, Turn,
    Wanted,
};

/// How long a fetch waits (give or take half) before it asks the database
/// again for a turn at a host that other pollers keep at its `per_host`
/// limit.
const HOST_BUSY_WAIT: std::time::Duration = std::time::Duration::from_millis(50);

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
    slots: Arc<Semaphore>,
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
    /// (reading the system's root certificates) takes a tenth of a second that
    /// is better spent while the database opens.
    pub fn new(config: Arc<Config>, store: Store, hosts: HostGate, fetcher: Fetcher) -> Poller {
        Poller {
            fetcher,
            hosts,
            slots: Arc::new(Semaphore::new(config.poll.concurrency)),
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
    /// database has the source, or has just polled it: `state.next_due` says
    /// when to look again.
    pub async fn poll(
        &self,
        source: &SourceConfig,
        state: &mut SourceState,
        wanted: Wanted,
    ) -> Result<Option<SourceReport>, StoreError> {
        let host = crate::fetch::host_key(&source.url);
        // Claimed with the slots in hand, so that pollers sharing a database
        // share its sources as each is ready to fetch.
        let unclaimed: &SourceState = state;
        let (slots, claim) = self
            .slots_and(&host, || {
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
            }
            Claim::Taken(again) => {
                count("taken");
                state.next_due = Some(again);
                return Ok(None);
            }
        }
        let started_at = Utc::now();
        let clock = Instant::now();
        let configured = self.config.interval_of(source);
        let Attempt {
            result,
            bytes,
            backlog,
        } = self
            .fetch_and_parse(source, &host, state, started_at, slots)
            .await;
        let outcome_label = match &result {
            Ok(Polled::NotModified { .. }) => "not_modified",
            Ok(Polled::Feed { .. }) => "ok",
            Err(error) => error.metric_label(),
        };
        let mut record = PollRecord {
            source_id: state.id,
            started_at,
            duration: clock.elapsed(),
            outcome: Outcome::Ok,
            http_status: None,
            bytes,
            etag: None,
            last_modified: None,
            body_hash: None,
            error: None,
            error_count: 0,
            next_due: started_at,
            cadence: self.cadence(configured, state),
            full_content: source.full_content,
            cluster: source.cluster,
            lease: state.lease.take(),
        };
        let interval = record.cadence.interval;
        let feed = match result {
            Ok(Polled::NotModified {
                status,
                validators,
                fresh_for,
            }) => {
                record.outcome = Outcome::NotModified;
                record.http_status = Some(status);
                let validators = validators.unwrap_or_else(|| Validators {
                    etag: state.etag.clone(),
                    last_modified: state.last_modified.clone(),
                });
                record.etag = validators.etag;
                record.last_modified = validators.last_modified;
                record.next_due = schedule::next_after_success(started_at, interval, fresh_for);
                if let Some(reason) = asked_for_longer(interval, None, fresh_for) {
                    record.cadence.reason = reason;
                }
                None
            }
            Ok(Polled::Feed {
                status,
                feed,
                validators,
                fresh_for,
                body_hash,
            }) => {
                record.http_status = Some(status);
                record.etag = validators.etag;
                record.last_modified = validators.last_modified;
                record.body_hash = body_hash;
                if configured == Interval::Auto {
                    record.cadence = schedule::auto_interval(
                        feed.articles.iter().filter_map(|a| a.published),
                        started_at,
                        self.config.poll.min_interval,
                        self.config.poll.max_interval,
                    );
                }
                let interval = record.cadence.interval;
                let ttl = feed
                    .feed
                    .ttl_minutes
                    .map(|m| std::time::Duration::from_secs(u64::from(m) * 60));
                record.next_due = schedule::next_after_success(
                    started_at,
                    interval,
                    fresh_for.into_iter().chain(ttl),
                );
                if let Some(reason) = asked_for_longer(interval, ttl, fresh_for) {
                    record.cadence.reason = reason;
                }
                for warning in &feed.warnings {
                    tracing::warn!("{} <{}>: {warning}", source.name, source.url);
                }
                Some(feed)
            }
            Err(error) => {
                record.outcome = error.outcome();
                record.http_status = error.http_status();
                record.error = Some(error.to_string());
                if let PollError::Held(until) = &error {
                    // Waiting for the host is not a failure of this source.
                    record.error_count = state.error_count;
                    record.next_due = *until;
                    record.cadence.reason = "its host asked to wait (Retry-After)".into();
                } else {
                    record.cadence.reason = match error.retry_after() {
                        Some(wait) => {
                            format!("Retry-After asks for {}", crate::text::to_the_second(wait))
                        }
                        None => format!(
                            "backing off after {} failures in a row",
                            state.error_count + 1
                        ),
                    };
                    record.error_count = state.error_count + 1;
                    record.next_due = schedule::next_after_failure(
                        started_at,
                        interval,
                        record.error_count,
                        error.retry_after(),
                    );
                }
                if let Some(wait) = error.retry_after() {
                    self.hold(&host, wait).await;
                }
                None
            }
        };
        let warnings = feed
            .as_ref()
            .map(|feed| feed.warnings.clone())
            .unwrap_or_default();
        let waiting = feed.is_some().then(Waiting::new);
        let counts = match self.store.record_poll(record.clone(), feed).await {
            Err(StoreError::LeaseLost(_)) => {
                tracing::warn!(
                    "{} <{}>: the poll outlasted its lease and another poller has the source: not written",
                    source.name,
                    source.url
                );
                return Ok(None);
            }
            counts => counts?,
        };
        drop(waiting);
        drop(backlog);
        record_metrics(source, &record, &counts, outcome_label);
        let mut pages = PageCounts::default();
        if matches!(record.outcome, Outcome::Ok | Outcome::NotModified) {
            state.etag = record.etag.clone();
            state.last_modified = record.last_modified.clone();
            if record.body_hash.is_some() {
                state.body_hash = record.body_hash.clone();
            }
            if source.full_content != FullContent::Never {
                pages = self.read_pages(source, state.id).await?;
            }
        }
        state.error_count = record.error_count;
        state.next_due = Some(record.next_due);
        state.cadence = Some(record.cadence.clone());
        state.gone = record.outcome == Outcome::Gone;
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

    /// Fetches the source's due article pages, at most `pages_per_poll`,
    /// within the same per-host and global limits as feeds, and records what
    /// each gave its article. When a page is due, and when it is tried again,
    /// are times of the clock every poller shares (the database's).
    async fn read_pages(
        &self,
        source: &SourceConfig,
        source_id: i64,
    ) -> Result<PageCounts, StoreError> {
        let now = self.store.clock().await?;
        let due = self
            .store
            .due_pages(source_id, now, self.config.poll.pages_per_poll)
            .await?;
        let reads = due.iter().map(|page| self.read_page(source, page, now));
        let results: Vec<(i64, PageOutcome)> = futures::future::join_all(reads)
            .await
            .into_iter()
            .flatten()
            .collect();
        let mut counts = PageCounts::default();
        for (_, outcome) in &results {
            counts.count(outcome);
            metrics()
                .pages
                .get_or_create(&PageLabels {
                    outcome: outcome.label(),
                })
                .inc();
            if let PageOutcome::Retry { error, .. } | PageOutcome::KeepFeed { error } = outcome {
                tracing::debug!("{}: a page gave no article: {error}", source.name);
            }
        }
        self.store.record_pages(&results, now).await?;
        Ok(counts)
    }

    /// Fetches and reads one page; `None` when its host asked to wait, which
    /// is no attempt: the page stays due.
    async fn read_page(
        &self,
        source: &SourceConfig,
        page: &DuePage,
        now: DateTime<Utc>,
    ) -> Option<(i64, PageOutcome)> {
        let url = match Url::parse(&page.url) {
            Ok(url) => url,
            Err(error) => {
                let error = format!("`{}` is not a URL: {error}", page.url);
                return Some((page.article_id, PageOutcome::KeepFeed { error }));
            }
        };
        let host = crate::fetch::host_key(&url);
        let fetched = {
            let turn = self
                .slots_and(&host, || self.store.take_turn(&host, self.host_limit()))
                .await;
            let (_slots, token) = match turn {
                Ok((slots, Turn::Granted(token))) => (slots, token),
                Ok((_, Turn::Held(_))) => return None,
                Err(error) => {
                    tracing::warn!("{host}: taking a turn to fetch a page: {error}");
                    return None;
                }
            };
            if self.hosts.held_until(&host, Utc::now()).is_some() {
                self.end_turn(&host, token.as_deref()).await;
                return None;
            }
            let fetched = self
                .fetcher
                .fetch_page(&url, &source.url, source.allow_private_pages)
                .await;
            self.end_turn(&host, token.as_deref()).await;
            fetched
        };
        let outcome = match fetched {
            Ok(fetched) => {
                let _cpu = self.parsers.acquire().await.expect("never closed");
                let selector = source.content_selector.clone();
                let rewrite = source.rewrite.clone();
                let feed_chars = page.feed_chars;
                tokio::task::spawn_blocking(move || {
                    pages::read(&fetched, selector.as_ref(), &rewrite, feed_chars)
                })
                .await
                .unwrap_or_else(|panic| PageOutcome::KeepFeed {
                    error: format!("reading the page crashed: {panic}"),
                })
            }
            Err(error) => {
                if let FetchError::Throttled {
                    retry_after: Some(wait),
                    ..
                } = &error
                {
                    self.hold(&host, *wait).await;
                }
                pages::after_failure(&error, page.attempts, now)
            }
        };
        Some((page.article_id, outcome))
    }

    /// What the database keeps every poller's fetches from one host to.
    fn host_limit(&self) -> HostLimit {
        HostLimit {
            per_host: self.config.poll.per_host,
            fetch_timeout: self.config.poll.timeout,
        }
    }

    /// This process's slots for a fetch from `host`, taken first, and what
    /// the database grants with them (`ask`: a claim on a source, or a turn
    /// at the host, `None` while other pollers keep the host at its
    /// `per_host` limit). While the host is busy, the fetch slot goes to
    /// other hosts' fetches and the database is asked again after a pause;
    /// the host's slot is kept, so that this process asks for a busy host
    /// at most `per_host` times a pause.
    async fn slots_and<T, Asking>(
        &self,
        host: &str,
        ask: impl Fn() -> Asking,
    ) -> Result<(FetchSlots<'_>, T), StoreError>
    where
        Asking: Future<Output = Result<Option<T>, StoreError>>,
    {
        let host_slot = self.hosts.acquire(host).await;
        loop {
            let fetch_slot = self
                .slots
                .acquire()
                .await
                .expect("the fetch semaphore is never closed");
            if let Some(granted) = ask().await? {
                let slots = FetchSlots {
                    _host: host_slot,
                    _fetch: fetch_slot,
                };
                return Ok((slots, granted));
            }
            drop(fetch_slot);
            metrics().host_busy_waits.inc();
            tokio::time::sleep(HOST_BUSY_WAIT.mul_f64(rand::random_range(0.5..1.5))).await;
        }
    }

    /// Gives back the database's turn at `host` when a fetch is over, so
    /// that any poller may fetch from it; should that fail, the turn is
    /// free again when the fetch would have timed out.
    async fn end_turn(&self, host: &str, token: Option<&str>) {
        if let Err(error) = self.store.end_turn(host, token).await {
            tracing::warn!("{host}: giving back a turn: {error}");
        }
    }

    /// Holds `host` for `wait` (it asked: Retry-After), in this process and
    /// for every poller sharing the database.
    async fn hold(&self, host: &str, wait: std::time::Duration) {
        self.hosts.hold(host, schedule::after(Utc::now(), wait));
        if let Err(error) = self.store.hold_host(host, wait).await {
            tracing::warn!("{host}: holding it for other pollers: {error}");
        }
    }

    /// The fetch holds `slots` (taken before the claim); the parse holds a CPU slot,
    /// taken before the fetch slots are given back, so bodies never pile up
    /// faster than they are parsed. The write that follows holds nothing.
    async fn fetch_and_parse(
        &self,
        source: &SourceConfig,
        host: &str,
        state: &SourceState,
        now: DateTime<Utc>,
        slots: FetchSlots<'_>,
    ) -> Attempt {
        let validators = Validators {
            etag: state.etag.clone(),
            last_modified: state.last_modified.clone(),
        };
        let failed = |error| Attempt {
            result: Err(error),
            bytes: 0,
            backlog: None,
        };
        let (fetched, backlog, _cpu) = {
            let _slots = slots;
            // Checked with the slot in hand: a sibling may just have been told to wait.
            if let Some(until) = self.hosts.held_until(host, Utc::now()) {
                self.end_turn(host, state.lease.as_deref()).await;
                return failed(PollError::Held(until));
            }
            metrics().fetches_in_flight.inc();
            let fetched = self
                .fetcher
                .fetch(&source.url, &validators, &source.headers)
                .await;
            metrics().fetches_in_flight.dec();
            self.end_turn(host, state.lease.as_deref()).await;
            let backlog = self
                .backlog
                .clone()
                .acquire_owned()
                .await
                .expect("never closed");
            let cpu = self
                .parsers
                .clone()
                .acquire_owned()
                .await
                .expect("never closed");
            (fetched, backlog, cpu)
        };
        let body = match fetched {
            Ok(Fetched::Body {
                url,
                status,
                bytes,
                charset,
                validators,
                cache,
            }) => Body {
                // List pages and APIs seldom send validators; feeds do.
                hash: (!matches!(source.reading, Reading::Feed))
                    .then(|| blake3::hash(&bytes).to_hex()[..32].to_string()),
                url,
                status,
                bytes,
                charset,
                validators,
                fresh_for: cache.fresh_for,
            },
            Ok(Fetched::NotModified { cache }) => {
                return Attempt {
                    result: Ok(Polled::NotModified {
                        status: 304,
                        validators: None,
                        fresh_for: cache.fresh_for,
                    }),
                    bytes: 0,
                    backlog: None,
                };
            }
            Err(error) => return failed(PollError::Fetch(error)),
        };
        let size = body.bytes.len() as u64;
        // The same bytes as last time read as the same articles: a page
        // served without an ETag costs no parsing either.
        if body.hash.is_some() && state.body_hash == body.hash {
            return Attempt {
                result: Ok(Polled::NotModified {
                    status: body.status,
                    validators: Some(body.validators),
                    fresh_for: body.fresh_for,
                }),
                bytes: size,
                backlog: None,
            };
        }
        let context = self.source_context(source, now);
        let reading = source.reading.clone();
        let (forced_encoding, max_entries) = (source.encoding, self.config.poll.max_entries);
        // Parsing and sanitizing are CPU work: keep them off the async workers.
        let parsed = tokio::task::spawn_blocking(move || {
            let hints = ParseHints {
                forced_encoding,
                http_charset: body.charset.as_deref(),
                host: body.url.host_str(),
                timezone: context.timezone,
                max_entries,
            };
            let read = normalize::read_body(&body.bytes, hints, &reading, &body.url, &context)?;
            let feed = keep_whole_entries(read)?;
            Ok(Polled::Feed {
                status: body.status,
                feed,
                validators: body.validators,
                fresh_for: body.fresh_for,
                body_hash: body.hash,
            })
        })
        .await;
        let result = match parsed {
            Ok(Ok(polled)) => Ok(polled),
            Ok(Err(error)) => Err(PollError::Parse(error)),
            Err(panic) => Err(PollError::Crashed(panic.to_string())),
        };
        Attempt {
            result,
            bytes: size,
            backlog: Some(backlog),
        }
    }

    /// What the source contributes to each of its articles in a poll at `now`.
    fn source_context(&self, source: &SourceConfig, now: DateTime<Utc>) -> SourceContext {
        SourceContext {
            name: source.name.clone(),
            url: source.url.clone(),
            category: source.category.clone(),
            channel: source.channel.clone(),
            timezone: self.config.timezone_of(source),
            tracking: self.tracking.clone(),
            rewrite: source.rewrite.clone(),
            now,
        }
    }
}

/// A read body's articles without the entry the end of the body cut off
/// before its link (stored without its identity, it would come back as a
/// second story), counting what was dropped; a body whose only entry was
/// cut is an error.
fn keep_whole_entries(read: ReadBody) -> Result<NormalizedFeed, parse::ParseError> {
    let ReadBody {
        mut feed,
        entries,
        unreadable,
        cut_short,
    } = read;
    let dropped = |reason, count: usize| {
        if count > 0 {
            metrics()
                .entries_dropped
                .get_or_create(&ReasonLabels { reason })
                .inc_by(count as u64);
        }
    };
    dropped("duplicate", entries - feed.articles.len());
    dropped("unreadable", unreadable);
    let before = feed.articles.len();
    feed.articles.retain(|article| !article.incomplete);
    dropped("incomplete", before - feed.articles.len());
    if feed.articles.is_empty() && cut_short {
        return Err(parse::ParseError::NoEntries {
            found: entries,
            why: "the body ends inside its only entry, before the entry's link".into(),
        });
    }
    Ok(feed)
}

/// A fetched body on its way to the parser.
struct Body {
    /// Where it was found, after redirects.
    url: Url,
    status: u16,
    bytes: Vec<u8>,
    charset: Option<String>,
    validators: Validators,
    fresh_for: Option<std::time::Duration>,
    /// See [`PollRecord::body_hash`]; kept for list pages and APIs.
    hash: Option<String>,
}

impl Poller {
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

/// Why a successful poll waits longer than its interval, when the feed's
/// `<ttl>` or the response's Cache-Control (`fresh_for`) asks it to.
fn asked_for_longer(
    interval: std::time::Duration,
    ttl: Option<std::time::Duration>,
    fresh_for: Option<std::time::Duration>,
) -> Option<String> {
    match (ttl, fresh_for) {
        (Some(ttl), _) if ttl > interval && Some(ttl) >= fresh_for => Some(format!(
            "the feed's <ttl> asks for {}",
            crate::text::to_the_second(ttl)
        )),
        (_, Some(asked)) if asked > interval => Some(format!(
            "Cache-Control asks for {}",
            crate::text::to_the_second(asked)
        )),
        _ => None,
    }
}

/// A fetch and parse, with the backlog slot its feed holds until it is written.
/// A host slot and a fetch slot, held from the claim to the end of the fetch.
struct FetchSlots<'a> {
    _host: OwnedSemaphorePermit,
    _fetch: tokio::sync::SemaphorePermit<'a>,
}

struct Attempt {
    result: Result<Polled, PollError>,
    bytes: u64,
    backlog: Option<OwnedSemaphorePermit>,
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
