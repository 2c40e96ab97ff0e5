//! When each source is polled next, and how hard one host may be asked.
//!
//! A source is due at its interval (with a little jitter so sources do not fire
//! together), never sooner than the feed's own `<ttl>` or Cache-Control ask.
//! Failures back off exponentially with jitter, capped at a day, and never give
//! up. A host that answers 429/503 is left alone for its Retry-After, and at
//! most `per_host` fetches go to one host at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::store::Cadence;
use crate::text::to_the_second;
use rand::Rng;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Longest wait after failures.
pub const MAX_BACKOFF: Duration = Duration::from_secs(24 * 60 * 60);

/// How a poll ended, as far as the schedule cares.
#[derive(Debug, Clone, Copy)]
pub enum Ended {
    /// A body was read, or was as it was (a 304): the response's
    /// Cache-Control (`fresh_for`) and the feed's `<ttl>` ask for no sooner.
    Read {
        fresh_for: Option<Duration>,
        ttl: Option<Duration>,
    },
    /// The source's host asked to wait until then: no failure of the source.
    Held(DateTime<Utc>),
    /// It failed; the server may have said when to come back (Retry-After).
    Failed { retry_after: Option<Duration> },
}

/// When a source is due next, at what interval and why, and its failures
/// in a row.
#[derive(Debug, Clone, PartialEq)]
pub struct Next {
    pub due: DateTime<Utc>,
    pub cadence: Cadence,
    pub failures: u32,
}

/// What a poll that started at `now` and `ended` as it did means for the
/// source's schedule: `cadence` is its interval before the poll said more
/// (configured, or `auto`'s reading), `failures` its failures in a row
/// before it.
pub fn after_poll(now: DateTime<Utc>, mut cadence: Cadence, failures: u32, ended: Ended) -> Next {
    let interval = cadence.interval;
    match ended {
        Ended::Read { fresh_for, ttl } => {
            if let Some(reason) = asked_for_longer(interval, ttl, fresh_for) {
                cadence.reason = reason;
            }
            Next {
                due: next_after_success(now, interval, fresh_for.into_iter().chain(ttl)),
                cadence,
                failures: 0,
            }
        }
        Ended::Held(until) => {
            cadence.reason = "its host asked to wait (Retry-After)".into();
            Next {
                due: until,
                cadence,
                failures,
            }
        }
        Ended::Failed { retry_after } => {
            let failures = failures + 1;
            cadence.reason = match retry_after {
                Some(wait) => format!("Retry-After asks for {}", to_the_second(wait)),
                None => format!("backing off after {failures} failures in a row"),
            };
            Next {
                due: next_after_failure(now, interval, failures, retry_after),
                cadence,
                failures,
            }
        }
    }
}

/// Why a successful poll waits longer than its interval, when the feed's
/// `<ttl>` or the response's Cache-Control (`fresh_for`) asks it to.
fn asked_for_longer(
    interval: Duration,
    ttl: Option<Duration>,
    fresh_for: Option<Duration>,
) -> Option<String> {
    match (ttl, fresh_for) {
        (Some(ttl), _) if ttl > interval && Some(ttl) >= fresh_for => {
            Some(format!("the feed's <ttl> asks for {}", to_the_second(ttl)))
        }
        (_, Some(asked)) if asked > interval => {
            Some(format!("Cache-Control asks for {}", to_the_second(asked)))
        }
        _ => None,
    }
}

/// The next poll after a success: the interval, stretched to whatever the feed
/// asked for, plus up to 5% jitter.
pub fn next_after_success(
    now: DateTime<Utc>,
    interval: Duration,
    asked_by_feed: impl IntoIterator<Item = Duration>,
) -> DateTime<Utc> {
    let wait = asked_by_feed.into_iter().fold(interval, Duration::max);
    after(now, jittered(wait, 0.0, 0.05))
}

/// `interval = "auto"`: a week divided by the entries the feed published in
/// the last week (Miniflux's entry-frequency rule), so a feed that publishes
/// every few minutes is polled often and one silent for a week at the
/// maximum; within `[min, max]`.
pub fn auto_interval(
    published: impl IntoIterator<Item = DateTime<Utc>>,
    now: DateTime<Utc>,
    min: Duration,
    max: Duration,
) -> Cadence {
    let week = Duration::from_secs(7 * 24 * 60 * 60);
    let since = now - chrono::Duration::from_std(week).expect("a week fits");
    let recent = published
        .into_iter()
        .filter(|date| *date > since && *date <= now)
        .count() as u32;
    let interval = match recent {
        0 => max,
        n => (week / n).clamp(min, max.max(min)),
    };
    Cadence {
        interval,
        reason: format!("auto, from {recent} entries in the last week"),
    }
}

/// The next poll after the `failures`-th failure in a row: doubling from a
/// base of at most five minutes, capped at a day, ±20% jitter, and never
/// sooner than the server's Retry-After (itself capped at a day).
pub fn next_after_failure(
    now: DateTime<Utc>,
    interval: Duration,
    failures: u32,
    retry_after: Option<Duration>,
) -> DateTime<Utc> {
    let base = interval.min(Duration::from_secs(300));
    let doubled = base.saturating_mul(1u32 << failures.saturating_sub(1).min(20));
    let wait = jittered(doubled.min(MAX_BACKOFF), -0.2, 0.2).min(MAX_BACKOFF);
    after(
        now,
        wait.max(retry_after.unwrap_or_default().min(MAX_BACKOFF)),
    )
}

fn jittered(wait: Duration, low: f64, high: f64) -> Duration {
    wait.mul_f64(1.0 + rand::rng().random_range(low..=high))
}

/// `now + wait`, for any wait a config or a server can name (at most a year).
pub fn after(now: DateTime<Utc>, wait: Duration) -> DateTime<Utc> {
    let year = Duration::from_secs(365 * 24 * 60 * 60);
    now + chrono::Duration::from_std(wait.min(year)).expect("a year fits")
}

/// Per-host politeness: a cap on concurrent fetches, and a hold while the host
/// has asked us (with 429/503 Retry-After) to come back later.
#[derive(Clone)]
pub struct HostGate {
    per_host: usize,
    hosts: Arc<Mutex<HashMap<String, Host>>>,
}

struct Host {
    slots: Arc<Semaphore>,
    held_until: Option<DateTime<Utc>>,
}

impl HostGate {
    pub fn new(per_host: usize) -> Self {
        Self {
            per_host,
            hosts: Arc::default(),
        }
    }

    fn with_host<T>(&self, host: &str, f: impl FnOnce(&mut Host) -> T) -> T {
        let mut hosts = self.hosts.lock().expect("host table lock");
        let entry = hosts.entry(host.to_string()).or_insert_with(|| Host {
            slots: Arc::new(Semaphore::new(self.per_host)),
            held_until: None,
        });
        f(entry)
    }

    /// Waits for a fetch slot on `host`; the slot is freed when the permit drops.
    pub async fn acquire(&self, host: &str) -> OwnedSemaphorePermit {
        let slots = self.with_host(host, |h| h.slots.clone());
        slots
            .acquire_owned()
            .await
            .expect("host semaphores are never closed")
    }

    /// Until when the host asked not to be polled, if that is still ahead.
    pub fn held_until(&self, host: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.with_host(host, |h| h.held_until.filter(|until| *until > now))
    }

    /// Holds every source on `host` until `until`.
    pub fn hold(&self, host: &str, until: DateTime<Utc>) {
        self.with_host(host, |h| h.held_until = h.held_until.max(Some(until)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minutes(d: chrono::Duration) -> f64 {
        d.num_seconds() as f64 / 60.0
    }

    #[test]
    fn success_waits_the_interval_or_what_the_feed_asks() {
        let now = Utc::now();
        let half_hour = Duration::from_secs(1800);
        let next = minutes(next_after_success(now, half_hour, []) - now);
        assert!((30.0..=31.5).contains(&next), "{next}");
        let next = minutes(next_after_success(now, half_hour, [Duration::from_secs(3600)]) - now);
        assert!((60.0..=63.0).contains(&next), "{next}");
    }

    #[test]
    fn auto_follows_how_often_the_feed_publishes() {
        let now = Utc::now();
        let (min, max) = (Duration::from_secs(300), Duration::from_secs(86_400));
        let every = |minutes: i64, count: i64| {
            (0..count).map(move |i| now - chrono::Duration::minutes(i * minutes))
        };
        // Every ten minutes: the week's 1,008 entries would ask for 10 minutes.
        let busy = auto_interval(every(10, 1008), now, min, max);
        assert_eq!(busy.interval, Duration::from_secs(600));
        assert_eq!(busy.reason, "auto, from 1008 entries in the last week");
        // Every few minutes: held at the minimum.
        assert_eq!(auto_interval(every(2, 5000), now, min, max).interval, min);
        // Twice a day: every twelve hours.
        assert_eq!(
            auto_interval(every(720, 14), now, min, max).interval,
            Duration::from_secs(43_200)
        );
        // Silent for a month: the maximum.
        let old = (0..30).map(|i| now - chrono::Duration::days(30 + i));
        assert_eq!(auto_interval(old, now, min, max).interval, max);
    }

    #[test]
    fn failures_double_up_to_a_day_and_respect_retry_after() {
        let now = Utc::now();
        let interval = Duration::from_secs(1800);
        let waits: Vec<f64> = (1..=12)
            .map(|n| minutes(next_after_failure(now, interval, n, None) - now))
            .collect();
        assert!((4.0..=6.0).contains(&waits[0]), "{waits:?}");
        assert!((8.0..=12.0).contains(&waits[1]), "{waits:?}");
        assert!(waits.iter().all(|w| *w <= 24.0 * 60.0), "{waits:?}");
        assert!(waits[11] >= 0.8 * 24.0 * 60.0, "{waits:?}");
        let held = next_after_failure(now, interval, 1, Some(Duration::from_secs(7200))) - now;
        assert!(minutes(held) >= 120.0);
    }

    #[tokio::test]
    async fn a_host_has_per_host_slots_and_holds() {
        let gate = HostGate::new(2);
        let a = gate.acquire("a.example").await;
        let _b = gate.acquire("a.example").await;
        let third =
            tokio::time::timeout(Duration::from_millis(50), gate.acquire("a.example")).await;
        assert!(third.is_err(), "a third slot was granted");
        let _other = gate.acquire("b.example").await;
        drop(a);
        let _c = gate.acquire("a.example").await;

        let now = Utc::now();
        gate.hold("a.example", now + chrono::Duration::minutes(5));
        assert!(gate.held_until("a.example", now).is_some());
        assert!(gate.held_until("b.example", now).is_none());
    }
}
