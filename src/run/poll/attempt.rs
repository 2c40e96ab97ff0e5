//! One attempt at a source: the permits of a fetch (this process's, and a
//! turn at the host from the database when pollers share it), the fetch,
//! and the body read into articles off the async workers.

use std::future::Future;

use chrono::{DateTime, Utc};
use tokio::sync::OwnedSemaphorePermit;
use url::Url;

use super::{Attempt, PollError, Polled, Poller};
use crate::article::NormalizedFeed;
use crate::article::filter::{self, Rule};
use crate::article::normalize::{self, ReadBody, SourceContext};
use crate::article::recall::EntryMemory;
use crate::config::SourceConfig;
use crate::fetch::{Fetched, Validators};
use crate::read::parse::{self, ParseHints};
use crate::read::scrape::Reading;
use crate::run::schedule;
use crate::serve::metrics::{ReasonLabels, metrics};
use crate::store::{HostLimit, SourceState, StoreError};

/// How long a fetch waits (give or take half) before it asks the database
/// again for a turn at a host that other pollers keep at its `per_host`
/// limit.
const HOST_BUSY_WAIT: std::time::Duration = std::time::Duration::from_millis(50);

/// A host permit and a fetch permit, held from the claim to the end of the fetch.
pub(super) struct FetchPermits<'a> {
    _host: OwnedSemaphorePermit,
    _fetch: tokio::sync::SemaphorePermit<'a>,
}

impl Poller {
    /// What the database keeps every poller's fetches from one host to.
    pub(super) fn host_limit(&self) -> HostLimit {
        HostLimit {
            per_host: self.config.poll.per_host,
            fetch_timeout: self.config.poll.timeout,
        }
    }

    /// This process's permits for a fetch from `host`, taken first, and what
    /// the database grants with them (`ask`: a claim on a source, or a turn
    /// at the host, `None` while other pollers keep the host at its
    /// `per_host` limit). While the host is busy, the fetch permit goes to
    /// other hosts' fetches and the database is asked again after a pause;
    /// the host's permit is kept, so that this process asks for a busy host
    /// at most `per_host` times a pause.
    pub(super) async fn permits_and<T, Asking>(
        &self,
        host: &str,
        ask: impl Fn() -> Asking,
    ) -> Result<(FetchPermits<'_>, T), StoreError>
    where
        Asking: Future<Output = Result<Option<T>, StoreError>>,
    {
        let host_permit = self.hosts.acquire(host).await;
        loop {
            let fetch_permit = self
                .fetches
                .acquire()
                .await
                .expect("the fetch semaphore is never closed");
            if let Some(granted) = ask().await? {
                let permits = FetchPermits {
                    _host: host_permit,
                    _fetch: fetch_permit,
                };
                return Ok((permits, granted));
            }
            drop(fetch_permit);
            metrics().host_busy_waits.inc();
            tokio::time::sleep(HOST_BUSY_WAIT.mul_f64(rand::random_range(0.5..1.5))).await;
        }
    }

    /// Gives back the database's turn at `host` when a fetch is over, so
    /// that any poller may fetch from it; should that fail, the turn is
    /// free again when the fetch would have timed out.
    pub(super) async fn end_turn(&self, host: &str, token: Option<&str>) {
        if let Err(error) = self.store.end_turn(host, token).await {
            tracing::warn!("{host}: giving back a turn: {error}");
        }
    }

    /// Holds `host` for `wait` (it asked: Retry-After), in this process and
    /// for every poller sharing the database.
    pub(super) async fn hold(&self, host: &str, wait: std::time::Duration) {
        self.hosts.hold(host, schedule::after(Utc::now(), wait));
        if let Err(error) = self.store.hold_host(host, wait).await {
            tracing::warn!("{host}: holding it for other pollers: {error}");
        }
    }

    /// Fetches the source under `permits` (taken before the claim) and reads
    /// what came. The read holds a CPU permit, taken before the fetch
    /// permits are given back, so bodies never pile up faster than they are
    /// read; the write that follows holds nothing but the backlog permit.
    pub(super) async fn fetch_and_read(
        &self,
        source: &SourceConfig,
        host: &str,
        state: &SourceState,
        now: DateTime<Utc>,
        permits: FetchPermits<'_>,
    ) -> Attempt {
        let (fetched, backlog, cpu) = match self.fetch(source, host, state, permits).await {
            Ok(fetched) => fetched,
            Err(error) => return Attempt::failed(error),
        };
        let body = match fetched {
            Fetched::Body {
                url,
                status,
                bytes,
                charset,
                validators,
                cache,
            } => Body {
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
            Fetched::NotModified { cache } => {
                return Attempt::polled(Polled::NotModified {
                    status: 304,
                    validators: None,
                    fresh_for: cache.fresh_for,
                });
            }
        };
        let bytes = body.bytes.len() as u64;
        // The same bytes as last time read as the same articles: a page
        // served without an ETag costs no parsing either.
        if body.hash.is_some() && state.body_hash == body.hash {
            return Attempt {
                bytes,
                ..Attempt::polled(Polled::NotModified {
                    status: body.status,
                    validators: Some(body.validators),
                    fresh_for: body.fresh_for,
                })
            };
        }
        let last_reading = self.last_reading(source, state).await;
        let result = self.read(source, body, now, last_reading).await;
        drop(cpu);
        Attempt {
            result,
            bytes,
            backlog: Some(backlog),
        }
    }

    /// The fetch, under `permits`, which it gives back when it ends, with
    /// the backlog and CPU permits the reading of its body holds.
    async fn fetch(
        &self,
        source: &SourceConfig,
        host: &str,
        state: &SourceState,
        permits: FetchPermits<'_>,
    ) -> Result<(Fetched, OwnedSemaphorePermit, OwnedSemaphorePermit), PollError> {
        let _permits = permits;
        // Checked with the permit in hand: a sibling may just have been told to wait.
        if let Some(until) = self.hosts.held_until(host, Utc::now()) {
            self.end_turn(host, state.lease.as_deref()).await;
            return Err(PollError::Held(until));
        }
        let validators = Validators {
            etag: state.etag.clone(),
            last_modified: state.last_modified.clone(),
        };
        metrics().fetches_in_flight.inc();
        let fetched = self
            .fetcher
            .fetch(&source.url, &validators, &source.headers)
            .await;
        metrics().fetches_in_flight.dec();
        self.end_turn(host, state.lease.as_deref()).await;
        let fetched = fetched?;
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
        Ok((fetched, backlog, cpu))
    }

    /// The source's last reading, whose entries are not read again (see
    /// `article::recall`); nothing when the store has none, or when filters
    /// apply to the source (what they look at must be read). Should the
    /// store fail to say, every entry is read.
    async fn last_reading(&self, source: &SourceConfig, state: &SourceState) -> EntryMemory {
        let filtered = self.filters(source).next().is_some();
        if !state.remembers_entries || filtered {
            return EntryMemory::default();
        }
        self.store
            .entry_memory(state.id)
            .await
            .unwrap_or_else(|error| {
                tracing::warn!(
                    "{} <{}>: its last reading: {error}",
                    source.name,
                    source.url
                );
                EntryMemory::default()
            })
    }

    /// The filters that apply to `source`: every source's, then its own.
    fn filters<'a>(&'a self, source: &'a SourceConfig) -> impl Iterator<Item = &'a Rule> {
        self.config.poll.filter.iter().chain(&source.filter)
    }

    /// Reads a fetched body into articles. Parsing and sanitizing are CPU
    /// work: they run off the async workers.
    async fn read(
        &self,
        source: &SourceConfig,
        body: Body,
        now: DateTime<Utc>,
        last_reading: EntryMemory,
    ) -> Result<Polled, PollError> {
        let context = self.source_context(source, now, last_reading);
        let reading = source.reading.clone();
        let (forced_encoding, max_entries) = (source.encoding, self.config.poll.max_entries);
        let filter: Vec<Rule> = self.filters(source).cloned().collect();
        let parsed = tokio::task::spawn_blocking(move || {
            let hints = ParseHints {
                forced_encoding,
                http_charset: body.charset.as_deref(),
                host: body.url.host_str(),
                timezone: context.timezone,
                max_entries,
            };
            let read = normalize::read_body(&body.bytes, hints, &reading, &body.url, &context)?;
            let mut feed = keep_whole_entries(read)?;
            keep_wanted(&mut feed, &filter, now);
            Ok(Polled::Feed {
                status: body.status,
                feed,
                validators: body.validators,
                fresh_for: body.fresh_for,
                body_hash: body.hash,
            })
        })
        .await;
        match parsed {
            Ok(Ok(polled)) => Ok(polled),
            Ok(Err(error)) => Err(PollError::Parse(error)),
            Err(panic) => Err(PollError::Crashed(panic.to_string())),
        }
    }

    /// What the source contributes to each of its articles in a poll at `now`.
    fn source_context(
        &self,
        source: &SourceConfig,
        now: DateTime<Utc>,
        last_reading: EntryMemory,
    ) -> SourceContext {
        SourceContext {
            name: source.name.clone(),
            url: source.url.clone(),
            category: source.category.clone(),
            channel: source.channel.clone(),
            timezone: self.config.timezone_of(source),
            tracking: self.tracking.clone(),
            rewrite: source.rewrite.clone(),
            now,
            last_reading,
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
    metrics()
        .entries_recalled
        .inc_by(feed.recalled.len() as u64);
    dropped(
        "duplicate",
        entries - feed.articles.len() - feed.recalled.len(),
    );
    dropped("unreadable", unreadable);
    let before = feed.articles.len();
    feed.articles.retain(|article| !article.incomplete);
    dropped("incomplete", before - feed.articles.len());
    if feed.articles.is_empty() && feed.recalled.is_empty() && cut_short {
        return Err(parse::ParseError::NoEntries {
            found: entries,
            why: "the body ends inside its only entry, before the entry's link".into(),
        });
    }
    Ok(feed)
}

/// The feed without the entries the user's filters keep out, counted.
fn keep_wanted(feed: &mut NormalizedFeed, filter: &[Rule], now: DateTime<Utc>) {
    if filter.is_empty() {
        return;
    }
    let before = feed.articles.len();
    feed.articles
        .retain(|article| filter::passes(filter, &article.into(), now));
    feed.filtered = before - feed.articles.len();
    if feed.filtered > 0 {
        metrics()
            .entries_dropped
            .get_or_create(&ReasonLabels { reason: "filtered" })
            .inc_by(feed.filtered as u64);
    }
}

/// A fetched body on its way to the parser.
pub(super) struct Body {
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
