//! Prometheus metrics: what an operator who runs tidings for weeks watches.
//!
//! One registry for the process (`metrics()`), written to by the stages that
//! know each fact (poll, daemon, server) and read by `GET /metrics` in the
//! OpenMetrics text format, which Prometheus scrapes. Recording is a few
//! atomic operations, so `tidings poll` records too and nobody pays for it.

use std::sync::LazyLock;
use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    /// ok, not_modified, http_4xx, http_5xx, rate_limited, timeout, network, parse, gone.
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ChangeLabels {
    /// new or updated.
    pub change: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    /// duplicate (the same story twice in one feed), incomplete (cut off
    /// before its link), unreadable (skipped by the second reading).
    pub reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PageLabels {
    /// read (the article took the page's content), retry (it failed and is
    /// tried again later), kept_feed (given up: the feed's content stays).
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ClaimLabels {
    /// granted (this poller polls the source), taken (another poller
    /// sharing the database has it, or has just polled it).
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceLabels {
    pub source: String,
    pub url: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// The route as declared (`/feeds/{file}`), so feeds do not multiply series.
    pub route: String,
    pub status: u16,
}

/// Every metric tidings exports.
pub struct Metrics {
    registry: Registry,
    pub fetches: Family<OutcomeLabels, Counter>,
    pub fetch_seconds: Family<OutcomeLabels, Histogram>,
    pub articles: Family<ChangeLabels, Counter>,
    pub entries_dropped: Family<ReasonLabels, Counter>,
    pub entries_recalled: Counter,
    pub pages: Family<PageLabels, Counter>,
    pub claims: Family<ClaimLabels, Counter>,
    pub host_busy_waits: Counter,
    pub source_last_success: Family<SourceLabels, Gauge<f64, AtomicU64>>,
    pub source_failures: Family<SourceLabels, Gauge>,
    pub sources_due: Gauge,
    pub fetches_in_flight: Gauge,
    pub feeds_waiting_for_writer: Gauge,
    pub database_bytes: Gauge,
    pub http_requests: Family<RequestLabels, Counter>,
}

/// The process's metrics.
pub fn metrics() -> &'static Metrics {
    static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);
    &METRICS
}

impl Metrics {
    /// Every metric, made and registered.
    // Long on purpose: the list of every metric reads best as one table.
    fn new() -> Metrics {
        let mut registry = Registry::with_prefix("tidings");
        let fetches = Family::<OutcomeLabels, Counter>::default();
        let fetch_seconds = Family::<OutcomeLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.005, 2.0, 14))
        });
        let articles = Family::<ChangeLabels, Counter>::default();
        let entries_dropped = Family::<ReasonLabels, Counter>::default();
        let entries_recalled = Counter::default();
        let pages = Family::<PageLabels, Counter>::default();
        let claims = Family::<ClaimLabels, Counter>::default();
        let host_busy_waits = Counter::default();
        let source_last_success = Family::<SourceLabels, Gauge<f64, AtomicU64>>::default();
        let source_failures = Family::<SourceLabels, Gauge>::default();
        let sources_due = Gauge::default();
        let fetches_in_flight = Gauge::default();
        let feeds_waiting_for_writer = Gauge::default();
        let database_bytes = Gauge::default();
        let http_requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "fetches",
            "Polls of sources, by how they ended",
            fetches.clone(),
        );
        registry.register(
            "fetch_duration_seconds",
            "Time of a poll from request to parsed feed, by how it ended",
            fetch_seconds.clone(),
        );
        registry.register(
            "articles",
            "Articles stored new or updated",
            articles.clone(),
        );
        registry.register(
            "entries_dropped",
            "Feed entries not stored, by reason",
            entries_dropped.clone(),
        );
        registry.register(
            "entries_recalled",
            "Feed entries a changed feed sent again as at its last reading, not read again",
            entries_recalled.clone(),
        );
        registry.register(
            "article_pages",
            "Article pages fetched for full content, by what became of them",
            pages.clone(),
        );
        registry.register(
            "claims",
            "Claims on due sources, granted to this poller or taken by another sharing the database",
            claims.clone(),
        );
        registry.register(
            "host_busy_waits",
            "Fetches that waited because other pollers kept the host at its per_host limit",
            host_busy_waits.clone(),
        );
        registry.register(
            "source_last_success_timestamp_seconds",
            "When each source was last polled without error (unix time)",
            source_last_success.clone(),
        );
        registry.register(
            "source_consecutive_failures",
            "Failed polls of each source in a row",
            source_failures.clone(),
        );
        registry.register(
            "sources_due",
            "Sources whose poll is due and not finished",
            sources_due.clone(),
        );
        registry.register(
            "fetches_in_flight",
            "HTTP fetches under way",
            fetches_in_flight.clone(),
        );
        registry.register(
            "feeds_waiting_for_writer",
            "Parsed feeds waiting for the database writer",
            feeds_waiting_for_writer.clone(),
        );
        registry.register(
            "database_size_bytes",
            "Size of the database file and its write-ahead log",
            database_bytes.clone(),
        );
        registry.register(
            "http_requests",
            "Requests the server answered, by route and status",
            http_requests.clone(),
        );
        Metrics {
            registry,
            fetches,
            fetch_seconds,
            articles,
            entries_dropped,
            entries_recalled,
            pages,
            claims,
            host_busy_waits,
            source_last_success,
            source_failures,
            sources_due,
            fetches_in_flight,
            feeds_waiting_for_writer,
            database_bytes,
            http_requests,
        }
    }

    /// Every metric, in the OpenMetrics text format (what Prometheus asks
    /// for) or in the classic Prometheus text format (what other scrapers and
    /// parsers read), which names a counter's family with its `_total` and has
    /// no end marker.
    pub fn render(&self, openmetrics: bool) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String does not fail");
        if openmetrics {
            return text;
        }
        let counters: Vec<String> = text
            .lines()
            .filter_map(|line| line.strip_prefix("# TYPE ")?.strip_suffix(" counter"))
            .map(String::from)
            .collect();
        let mut classic = String::with_capacity(text.len());
        for line in text.lines().filter(|line| *line != "# EOF") {
            let family = line
                .strip_prefix("# HELP ")
                .or_else(|| line.strip_prefix("# TYPE "))
                .and_then(|rest| rest.split(' ').next());
            match family {
                Some(name) if counters.iter().any(|c| c == name) => {
                    let (head, tail) = line.split_at(7 + name.len());
                    classic.push_str(head);
                    classic.push_str("_total");
                    classic.push_str(tail);
                }
                _ => classic.push_str(line),
            }
            classic.push('\n');
        }
        classic
    }
}
