//! A poll's article pages: the new articles of a `full_content` source read
//! from their pages, a bounded number a poll, within the same per-host and
//! global limits as feeds (see `article::pages` for what a page becomes).

use chrono::{DateTime, Utc};
use url::Url;

use super::Poller;
use crate::article::pages::{self, PageCounts, PageOutcome};
use crate::config::SourceConfig;
use crate::fetch::FetchError;
use crate::serve::metrics::{PageLabels, metrics};
use crate::store::{DuePage, StoreError, Turn};

impl Poller {
    /// Fetches the source's due article pages, at most `pages_per_poll`,
    /// within the same per-host and global limits as feeds, and records what
    /// each gave its article. When a page is due, and when it is tried again,
    /// are times of the clock every poller shares (the database's).
    pub(super) async fn read_pages(
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
                .permits_and(&host, || self.store.take_turn(&host, self.host_limit()))
                .await;
            let (_permits, token) = match turn {
                Ok((permits, Turn::Granted(token))) => (permits, token),
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
}
