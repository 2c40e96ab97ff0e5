//! `tidings poll`: every source once, and what came of it.

use std::sync::Arc;
use std::time::Instant;

use crate::config::Config;
use crate::fetch::Fetcher;
use crate::run::poll::{Poller, SourceReport};
use crate::store::{Outcome, Store};

/// `tidings poll`: every source once, at once within the limits, and a
/// summary; the feeds written to `[output] dir` when something changed.
pub(super) async fn poll(config: &Config) -> anyhow::Result<()> {
    let clock = Instant::now();
    // The client's TLS setup is read while the database opens, and the
    // patterns compiled.
    let limits = config.poll.fetch_limits();
    let fetcher = tokio::task::spawn_blocking(move || Fetcher::new(&limits));
    crate::run::poll::compile_patterns();
    let store = Store::open(&config.storage).await?;
    let fetcher = fetcher.await??;
    // On the runtime's workers, as the daemon's polls run: from the main
    // thread, each request's wake-ups crossed to the worker that drives its
    // connection and back (docs/performance.md).
    let polled = tokio::spawn(poll_with(Arc::new(config.clone()), store.clone(), fetcher))
        .await
        .unwrap_or_else(|failed| std::panic::resume_unwind(failed.into_panic()));
    store.close().await;
    let (reports, gone) = polled?;
    print_summary(&reports, gone, clock.elapsed());
    Ok(())
}

/// Polls every source not gone into `store`; the reports, and how many
/// sources are gone.
async fn poll_with(
    config: Arc<Config>,
    store: Store,
    fetcher: Fetcher,
) -> anyhow::Result<(Vec<SourceReport>, usize)> {
    let mut states = store.sync_sources(&config.sources).await?;
    let hosts = crate::run::schedule::HostGate::new(config.poll.per_host);
    let poller = Poller::new(config.clone(), store.clone(), hosts, fetcher);
    let gone = states.iter().filter(|s| s.gone).count();
    // Progress on a terminal only: logs and pipes get the summary alone.
    let progress = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        indicatif::ProgressBar::new((states.len() - gone) as u64).with_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} sources, {elapsed}")
                .expect("a valid progress template"),
        )
    } else {
        indicatif::ProgressBar::hidden()
    };
    let reports = poller
        .poll_all(&config.sources, &mut states, || progress.inc(1))
        .await?;
    progress.finish_and_clear();
    let changed = reports.iter().any(SourceReport::changed);
    if let (true, Some(dir)) = (changed, &config.output.dir) {
        let site = crate::serve::site::Site::new(store, &config);
        site.write_to(dir).await?;
    }
    Ok((reports, gone))
}

/// The summary of a poll: sources, articles, pages, bytes, time, then each
/// failure and warning.
fn print_summary(reports: &[SourceReport], gone: usize, elapsed: std::time::Duration) {
    let failed: Vec<&SourceReport> = reports
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Error | Outcome::Gone))
        .collect();
    let not_modified = reports
        .iter()
        .filter(|r| r.outcome == Outcome::NotModified)
        .count();
    let mut counts = crate::store::Counts::default();
    let mut pages = crate::article::pages::PageCounts::default();
    for report in reports {
        counts += report.counts;
        pages += report.pages;
    }
    let bytes: u64 = reports.iter().map(|r| r.bytes).sum();
    println!(
        "sources: {} ok ({} not modified), {} failed{}",
        reports.len() - failed.len(),
        not_modified,
        failed.len(),
        if gone > 0 {
            format!(", {gone} gone (HTTP 410, not polled until their config changes)")
        } else {
            String::new()
        }
    );
    println!(
        "articles: {} new, {} updated, {} unchanged{}",
        counts.new,
        counts.updated,
        counts.unchanged,
        if counts.filtered > 0 {
            format!(", {} filtered out", counts.filtered)
        } else {
            String::new()
        }
    );
    if pages != Default::default() {
        println!(
            "article pages: {} read, {} kept the feed's content, {} to try again",
            pages.read, pages.kept_feed, pages.retry
        );
    }
    println!(
        "fetched {:.1} KiB in {:.2}s",
        bytes as f64 / 1024.0,
        elapsed.as_secs_f64()
    );
    for report in failed {
        println!(
            "failed: {} <{}>: {}",
            report.name,
            report.url,
            report.error.as_deref().unwrap_or("")
        );
    }
    for report in reports {
        for warning in &report.warnings {
            println!("warning: {} <{}>: {warning}", report.name, report.url);
        }
    }
}
