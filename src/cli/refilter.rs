//! `tidings refilter`: the current filters applied to the articles already
//! stored.
//!
//! A changed filter applies to what is fetched next; what it would have kept
//! out is deleted only when the user asks, after saying how many: without
//! `--yes` nothing changes. An article several sources carry is deleted only
//! when the filters of every one of them block it (`[poll] filter` with the
//! source's own); a source no longer in the config has `[poll] filter` only.

use std::collections::HashMap;

use crate::article::filter::{self, Rule};
use crate::config::Config;
use crate::store::{Store, StoredEntry};

/// Stored articles read a query.
const BATCH: usize = 1000;

/// `tidings refilter [--source NAME] [--yes]`.
pub(super) async fn command(
    config: &Config,
    store: &Store,
    source: Option<&str>,
    yes: bool,
) -> anyhow::Result<()> {
    if let Some(name) = source
        && !config.sources.iter().any(|s| s.name == name)
    {
        anyhow::bail!("no source named `{name}` in the config");
    }
    let now = chrono::Utc::now();
    // Each source's own rules by its URL, looked up for every stored article.
    let own: HashMap<&str, &[Rule]> = config
        .sources
        .iter()
        .map(|source| (source.url.as_str(), source.filter.as_slice()))
        .collect();
    let (mut read, mut blocked) = (0, Vec::new());
    let mut after = 0;
    loop {
        let entries = store.entries_after(after, BATCH, source).await?;
        let Some(last) = entries.last() else {
            break;
        };
        after = last.id;
        read += entries.len();
        blocked.extend(
            entries
                .iter()
                .filter(|entry| !wanted(config, &own, entry, now))
                .map(|entry| entry.id),
        );
    }
    let whose = source.map_or(String::new(), |name| format!(" of {name}"));
    if blocked.is_empty() {
        println!("{read} articles{whose} read: the filters block none");
        return Ok(());
    }
    if !yes {
        println!(
            "{read} articles{whose} read: the filters block {}; run again with --yes to delete them",
            blocked.len()
        );
        return Ok(());
    }
    let mut deleted = 0;
    for ids in blocked.chunks(BATCH) {
        deleted += store.delete_articles(ids).await?;
    }
    println!("{read} articles{whose} read: {deleted} blocked by the filters, deleted");
    Ok(())
}

/// Whether any source that carries `entry` lets it pass its filters (`own`:
/// each configured source's rules by URL; a source no longer configured
/// has `[poll]`'s only).
fn wanted(
    config: &Config,
    own: &HashMap<&str, &[Rule]>,
    entry: &StoredEntry,
    now: chrono::DateTime<chrono::Utc>,
) -> bool {
    let seen = filter::Entry::from(entry);
    let passes = |own: &[Rule]| filter::passes(config.poll.filter.iter().chain(own), &seen, now);
    if entry.sources.is_empty() {
        return passes(&[]);
    }
    entry
        .sources
        .iter()
        .any(|url| passes(own.get(url.as_str()).copied().unwrap_or_default()))
}
