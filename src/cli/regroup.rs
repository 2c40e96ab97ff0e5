//! `tidings regroup`: every stored article fingerprinted again and its
//! story decided anew, as if the articles arrived again in the order they
//! were stored, honouring every split and merge people made.
//!
//! For articles stored before stories existed, and after a change of how
//! texts are compared (a fingerprint of another version is not compared
//! with new ones). One transaction: readers see the old stories until the
//! new ones are complete, and a crash keeps the old ones.

use hashbrown::{HashMap, HashSet};
use std::sync::Arc;

use crate::cluster::window::{Member, WINDOW, Window};
use crate::cluster::{self, Comparable, Fingerprint, matching};
use crate::read::dates::to_db;
use crate::store::{Store, StoreError};

/// Articles read a batch.
const BATCH: usize = 1000;
/// Comparable texts of candidates kept between checks: templates bring the
/// same few back again and again.
const TEXTS: usize = 1024;

/// What a regroup did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Regrouped {
    pub articles: u64,
    /// Stories of more than one article.
    pub stories: u64,
    /// Articles that joined another's story.
    pub joined: u64,
}

/// `tidings regroup`: every story decided anew, and how many there are.
pub(super) async fn command(config: &crate::config::Config, store: &Store) -> anyhow::Result<()> {
    let states = store.sync_sources(&config.sources).await?;
    let apart: Vec<i64> = config
        .sources
        .iter()
        .zip(&states)
        .filter(|(source, _)| !source.cluster)
        .map(|(_, state)| state.id)
        .collect();
    let done = regroup(store, &apart).await?;
    println!(
        "{} articles fingerprinted, {} stories of several articles ({} articles joined one)",
        done.articles, done.stories, done.joined
    );
    Ok(())
}

/// Regroups every article; those of `apart_sources` (sources with `cluster
/// = false`) stand alone.
async fn regroup(store: &Store, apart_sources: &[i64]) -> Result<Regrouped, StoreError> {
    let overrides = store.story_overrides().await?;
    let apart: HashSet<(i64, i64)> = overrides
        .iter()
        .filter(|(_, _, together)| !together)
        .map(|(a, b, _)| (*a.min(b), *a.max(b)))
        .collect();
    let now = to_db(chrono::Utc::now());
    let mut regrouping = store.begin_regroup().await?;
    let mut window = Window::default();
    // The members of each story of several articles, for splits.
    let mut members: HashMap<i64, Vec<i64>> = HashMap::new();
    let mut texts = quick_cache::unsync::Cache::<i64, Arc<Comparable>>::new(TEXTS);
    let mut done = Regrouped::default();
    let mut after = 0;
    loop {
        let batch = store.ungrouped(after, BATCH).await?;
        let Some(last) = batch.last() else { break };
        after = last.id;
        for article in &batch {
            done.articles += 1;
            let comparable = Arc::new(cluster::comparable_article(&article.title, &article.text));
            let clusters = !apart_sources.contains(&article.source_id)
                && comparable.chars.len() >= matching::MIN_CHARS;
            if !clusters {
                regrouping
                    .assign(article, None, article.id, None, &now)
                    .await?;
                continue;
            }
            let fingerprint = Fingerprint::of(&comparable);
            window.forget_before(article.stored - WINDOW.num_seconds());
            let kept_apart = |member: &Member| {
                let story = members.get(&member.story_id).map_or(&[][..], Vec::as_slice);
                std::iter::once(member.story_id)
                    .chain(story.iter().copied())
                    .any(|other| apart.contains(&(article.id.min(other), article.id.max(other))))
            };
            // The texts the check may need, read ahead: it cannot wait.
            let candidates = window
                .candidates(&fingerprint, article.source_id, article.published)
                .into_iter()
                .filter(|candidate| !kept_apart(&candidate.member))
                .take(cluster::CHECKS);
            for candidate in candidates {
                let id = candidate.member.id;
                if texts.get(&id).is_none()
                    && let Some(text) = store.comparable(id).await?
                {
                    texts.insert(id, Arc::new(text));
                }
            }
            let joined = cluster::find_story(
                &window,
                &fingerprint,
                article.source_id,
                article.published,
                || comparable.clone(),
                |member| texts.get(&member.id).cloned(),
                kept_apart,
            );
            let story_id = joined.as_ref().map_or(article.id, |(m, _)| m.story_id);
            if joined.is_some() {
                done.joined += 1;
                let story = members.entry(story_id).or_insert_with(|| vec![story_id]);
                if story.len() == 1 {
                    done.stories += 1;
                }
                story.push(article.id);
            }
            texts.insert(article.id, comparable);
            regrouping
                .assign(
                    article,
                    Some(&fingerprint),
                    story_id,
                    joined.as_ref().map(|(m, found)| (m, *found)),
                    &now,
                )
                .await?;
            let member = Member {
                id: article.id,
                source_id: article.source_id,
                story_id,
                published: article.published,
                stored: article.stored,
                numbers: fingerprint.numbers.clone().into(),
            };
            window.add(member, &fingerprint);
        }
    }
    for (a, b, together) in overrides {
        if together {
            regrouping.put_together(a, b, &now).await?;
        }
    }
    regrouping.commit().await?;
    Ok(done)
}
