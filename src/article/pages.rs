//! Full content: what a fetched article page becomes, and when a failed one
//! is tried again.
//!
//! Many Chinese finance feeds carry a title and a sentence and leave the story
//! on the page. For sources with `full_content`, the store queues the page of
//! each new article (`article_pages`), and the poll of the source fetches a
//! bounded number of them (`poll`). A page is decoded like a feed (its
//! charset by evidence: GBK pages say so in a `<meta>`, or do not), its
//! article found ([`extract`]), then rewritten and sanitized like feed
//! content. The feed's content stays when the page fails, times out or has
//! less to say than the feed.

use chrono::{DateTime, TimeDelta, Utc};

use crate::article::extract;
use crate::article::rewrite::Rewrite;
use crate::fetch::{FetchError, Page};
use crate::read::charset::{self, Labels};
use crate::read::css::Css;

/// Times a page is fetched before the feed's content is kept for good.
pub const ATTEMPTS: u32 = 4;

/// Wait before the second attempt; each later one waits four times longer
/// (1 h, 4 h, 16 h): a site that is down for a while is not asked every poll.
const FIRST_RETRY: TimeDelta = TimeDelta::hours(1);

/// What became of a page.
#[derive(Debug)]
pub enum PageOutcome {
    /// The article takes the page's content.
    Read {
        /// Sanitized, as readers get it.
        html: String,
        text: String,
        /// The page's article before rules and sanitizing, for `tidings reprocess`.
        source_html: String,
        image: Option<String>,
    },
    /// The attempt failed in a way that may pass; the feed's content stays until then.
    Retry { error: String, at: DateTime<Utc> },
    /// The page will not give more than the feed: its content stays.
    KeepFeed { error: String },
}

/// What the pages of one poll of a source gave, for its report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PageCounts {
    pub read: u64,
    pub retry: u64,
    pub kept_feed: u64,
}

impl PageCounts {
    pub fn count(&mut self, outcome: &PageOutcome) {
        match outcome {
            PageOutcome::Read { .. } => self.read += 1,
            PageOutcome::Retry { .. } => self.retry += 1,
            PageOutcome::KeepFeed { .. } => self.kept_feed += 1,
        }
    }
}

impl std::ops::AddAssign for PageCounts {
    fn add_assign(&mut self, other: PageCounts) {
        self.read += other.read;
        self.retry += other.retry;
        self.kept_feed += other.kept_feed;
    }
}

impl PageOutcome {
    /// The `outcome` label of the page metrics.
    pub fn label(&self) -> &'static str {
        match self {
            PageOutcome::Read { .. } => "read",
            PageOutcome::Retry { .. } => "retry",
            PageOutcome::KeepFeed { .. } => "kept_feed",
        }
    }
}

/// The article of a fetched page, for an article whose feed content has
/// `feed_chars` characters of text, found by the source's `selector` (else
/// Readability) and edited by its rules. CPU work: run it off the async workers.
pub fn read(
    page: &Page,
    selector: Option<&Css>,
    rewrite: &Rewrite,
    feed_chars: usize,
) -> PageOutcome {
    let host = page.url.host_str();
    let decoded = charset::decode(
        &page.bytes,
        Labels {
            forced: None,
            http: page.charset.as_deref(),
            host,
        },
    );
    let main = match extract::main_content(&decoded.text, &page.url, selector) {
        Ok(main) => main,
        Err(error) => {
            return PageOutcome::KeepFeed {
                error: error.to_string(),
            };
        }
    };
    let cleaned = crate::article::sanitize::cleaned(&main, &page.url, rewrite);
    let chars = cleaned.text.chars().count();
    if chars <= feed_chars {
        return PageOutcome::KeepFeed {
            error: format!(
                "the page's article has {chars} characters of text, the feed's {feed_chars}: kept the feed's"
            ),
        };
    }
    PageOutcome::Read {
        html: cleaned.html.to_string(),
        text: cleaned.text.to_string(),
        image: cleaned.image.clone(),
        source_html: main,
    }
}

/// What a failed fetch means for a page fetched `attempts` times before.
/// Errors that can pass (timeouts, the network, a server error, a host that
/// asks to wait) are retried with growing waits, [`ATTEMPTS`] times in all;
/// the others (404, a refused address) would fail the same way again.
pub fn after_failure(error: &FetchError, attempts: u32, now: DateTime<Utc>) -> PageOutcome {
    let asked = match error {
        FetchError::Throttled { retry_after, .. } => {
            retry_after.and_then(|d| TimeDelta::from_std(d).ok())
        }
        _ => None,
    };
    let passing = match error {
        FetchError::Timeout | FetchError::Network(_) | FetchError::Throttled { .. } => true,
        FetchError::Status(status) => *status >= 500,
        _ => false,
    };
    let error = error.to_string();
    if !passing || attempts + 1 >= ATTEMPTS {
        return PageOutcome::KeepFeed { error };
    }
    let wait = (FIRST_RETRY * 4_i32.pow(attempts)).max(asked.unwrap_or_default());
    PageOutcome::Retry {
        error,
        at: now + wait,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passing_failures_are_retried_with_growing_waits_then_given_up() {
        let now = Utc::now();
        let waits: Vec<_> = (0..ATTEMPTS)
            .map(
                |attempts| match after_failure(&FetchError::Timeout, attempts, now) {
                    PageOutcome::Retry { at, .. } => Some((at - now).num_hours()),
                    _ => None,
                },
            )
            .collect();
        assert_eq!(waits, [Some(1), Some(4), Some(16), None]);
        let throttled = FetchError::Throttled {
            status: 429,
            retry_after: Some(std::time::Duration::from_secs(3 * 3600)),
        };
        assert!(matches!(after_failure(&throttled, 0, now),
            PageOutcome::Retry { at, .. } if at - now == TimeDelta::hours(3)));
        for lasting in [
            FetchError::Status(404),
            FetchError::Refused("private".into()),
        ] {
            assert!(matches!(
                after_failure(&lasting, 0, now),
                PageOutcome::KeepFeed { .. }
            ));
        }
    }
}
