//! `tidings reprocess`: a source's current rewrite rules applied to the
//! articles it already stored.
//!
//! A changed rule applies to what is fetched next; stored articles are made
//! anew only when the user asks, from what they were made of: the content
//! before rules and sanitizing where it was kept (sources with rules, pages),
//! else the stored sanitized content (which no longer has the publisher's
//! `class` and `id` attributes, so rules that name them match nothing there).
//! An article belongs to its first source, the one its `atom:source` names.

use url::Url;

use crate::article::normalize;
use crate::article::rewrite::Rewrite;
use crate::config::SourceConfig;
use crate::store::{NewContent, Store, StoreError, StoredContent};

/// Articles read, and rewritten, a transaction.
const BATCH: usize = 500;

/// What `tidings reprocess` did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Reprocessed {
    read: u64,
    changed: u64,
}

/// `tidings reprocess [--source NAME]`: the rules of the named sources (or
/// of every source) applied, and how many articles changed.
pub(super) async fn command(
    config: &crate::config::Config,
    store: &Store,
    source: Option<&str>,
) -> anyhow::Result<()> {
    let named = |s: &&SourceConfig| source.is_none_or(|name| s.name == name);
    if let Some(name) = source
        && !config.sources.iter().any(|s| named(&s))
    {
        anyhow::bail!("no source named `{name}` in the config");
    }
    let states = store.sync_sources(&config.sources).await?;
    let ids: Vec<_> = config
        .sources
        .iter()
        .zip(&states)
        .filter(|(s, _)| named(s))
        .map(|(s, state)| (s, state.id))
        .collect();
    let done = reprocess(store, &ids).await?;
    println!(
        "{} articles of {} sources read, {} changed",
        done.read,
        ids.len(),
        done.changed
    );
    Ok(())
}

/// Applies each source's rules to the articles it stored first.
/// `sources` pairs each source's config with its id in the database.
async fn reprocess(
    store: &Store,
    sources: &[(&SourceConfig, i64)],
) -> Result<Reprocessed, StoreError> {
    let mut done = Reprocessed::default();
    for (source, source_id) in sources {
        let mut after = 0;
        loop {
            let batch = store.contents_of_source(*source_id, after, BATCH).await?;
            let Some(last) = batch.last() else { break };
            after = last.id;
            done.read += batch.len() as u64;
            let url = source.url.clone();
            let rewrite = source.rewrite.clone();
            let renewed = tokio::task::spawn_blocking(move || {
                batch
                    .iter()
                    .filter_map(|stored| renew(stored, &url, &rewrite))
                    .collect::<Vec<_>>()
            })
            .await
            .map_err(|panic| StoreError::Write(format!("reprocessing crashed: {panic}")))?;
            done.changed += renewed.len() as u64;
            store.rewrite_contents(&renewed).await?;
        }
    }
    Ok(done)
}

/// The article's content made anew with `rewrite`, when it differs.
fn renew(stored: &StoredContent, source_url: &Url, rewrite: &Rewrite) -> Option<NewContent> {
    let base = stored
        .link
        .as_deref()
        .and_then(|link| Url::parse(link).ok())
        .unwrap_or_else(|| source_url.clone());
    let input = stored
        .source_html
        .as_deref()
        .unwrap_or(&stored.content_html);
    let cleaned = crate::article::sanitize::cleaned(input, &base, rewrite);
    if *cleaned.html == *stored.content_html {
        return None;
    }
    // A summary taken from the content follows it; the feed's own stays.
    let summary = if stored.summary == normalize::summary_of(&stored.plain_text) {
        normalize::summary_of(&cleaned.text).into_owned()
    } else {
        stored.summary.clone()
    };
    // A page's content is not the version the feed delivered: that hash stays.
    let content_hash = if stored.from_page {
        stored.content_hash.clone()
    } else {
        normalize::content_hash(
            &stored.title,
            stored.link.as_deref(),
            &stored.author,
            stored.published,
            &cleaned.html,
            stored.image.as_deref(),
        )
    };
    Some(NewContent {
        id: stored.id,
        content_html: cleaned.html.to_string(),
        plain_text: cleaned.text.to_string(),
        summary,
        content_hash,
        old_hash: stored.content_hash.clone(),
    })
}
