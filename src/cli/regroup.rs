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
use crate::cluster::{self, Comparable, Fingerprint, Newcomer, Texts, matching};
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
    let mut texts = CachedTexts {
        store,
        cache: quick_cache::unsync::Cache::new(TEXTS),
    };
    let mut done = Regrouped::default();
    let mut after = 0;
    loop {
        let batch = store.articles_after(after, BATCH).await?;
        let Some(last) = batch.last() else { break };
        after = last.id;
        for article in &batch {
            done.articles += 1;
            let comparable = Arc::new(cluster::comparable_article(&article.title, &article.text));
            let clusters = !apart_sources.contains(&article.source_id)
                && comparable.chars.len() >= matching::MIN_CHARS;
            let fingerprint = clusters.then(|| Fingerprint::of(&comparable));
            window.forget_before(article.stored - WINDOW.num_seconds());
            let kept_apart = |member: &Member| {
                let story = members.get(&member.story_id).map_or(&[][..], Vec::as_slice);
                std::iter::once(member.story_id)
                    .chain(story.iter().copied())
                    .any(|other| apart.contains(&(article.id.min(other), article.id.max(other))))
            };
            let newcomer = Newcomer {
                id: article.id,
                source_id: article.source_id,
                title: &article.title,
                text: &article.text,
                fingerprint: fingerprint.as_ref(),
                published: article.published,
                stored: article.stored,
                comparable: Some(comparable.clone()),
            };
            let story = cluster::assign(&mut window, &mut texts, &newcomer, kept_apart).await?;
            if fingerprint.is_some() {
                texts.keep(article.id, comparable);
            }
            if story.joined.is_some() {
                done.joined += 1;
                let members = members.entry(story.id).or_insert_with(|| vec![story.id]);
                if members.len() == 1 {
                    done.stories += 1;
                }
                members.push(article.id);
            }
            regrouping
                .assign(article, fingerprint.as_ref(), &story, &now)
                .await?;
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

/// The texts of regrouped articles, read from the database as a check needs
/// them and kept while they are likely to be compared again (templates
/// bring the same few back again and again).
struct CachedTexts<'s> {
    store: &'s Store,
    cache: quick_cache::unsync::Cache<i64, Arc<Comparable>>,
}

impl Texts for CachedTexts<'_> {
    type Error = StoreError;

    async fn read_ahead(&mut self, members: &[Member]) -> Result<(), StoreError> {
        for member in members {
            if self.cache.get(&member.id).is_none()
                && let Some(text) = self.store.comparable(member.id).await?
            {
                self.cache.insert(member.id, Arc::new(text));
            }
        }
        Ok(())
    }

    fn text(&mut self, member: &Member) -> Option<Arc<Comparable>> {
        self.cache.get(&member.id).cloned()
    }

    fn keep(&mut self, id: i64, text: Arc<Comparable>) {
        self.cache.insert(id, text);
    }
}
