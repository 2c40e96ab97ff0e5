//! A labelled evaluation of stories: a generator of Chinese finance news
//! reprinted and written up by other outlets, and of the traps that must
//! stay apart, scored as pairwise precision and recall over articles from
//! different sources (`tidings eval-stories`).
//!
//! Each class of story is scored on its own ([`Class`]): reprints with the
//! light edits outlets make ([`corpus`]: a prefix, a footer, a sentence
//! dropped or added), reprints an editor reshaped and another outlet's own
//! write-up of an event ([`reshaped`]), and the traps. The articles go
//! through the same window and checks as the writer's, in publication order.

mod corpus;
mod reshaped;

use chrono::{DateTime, Utc};
use hashbrown::HashMap;
use std::sync::Arc;

use crate::cluster::window::{Member, Window};
use crate::cluster::{
    Comparable, Fingerprint, Newcomer, Texts, assign, comparable_article, matching,
};

/// What kind of story an article belongs to: each is scored on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Class {
    /// A long story and its reprints with light edits.
    Long,
    /// Flash news and its reprints; the same template with other numbers
    /// or another company is another flash.
    Flash,
    /// A long story and reprints an editor reshaped in two or three ways:
    /// an excerpt, a title of their own, sentences moved, reworded, an
    /// analyst's sentence added.
    Reshaped,
    /// An event reported by one outlet and written up by others in their
    /// own sentences, with its figures.
    WriteUp,
    /// Stories that must stay apart from the ones they resemble: the same
    /// company's next report with other figures, the same announcement for
    /// another company, a roundup quoting flash news whole.
    Trap,
}

impl Class {
    pub const ALL: [Class; 5] = [
        Class::Long,
        Class::Flash,
        Class::Reshaped,
        Class::WriteUp,
        Class::Trap,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Class::Long => "long",
            Class::Flash => "flash",
            Class::Reshaped => "reshaped reprints",
            Class::WriteUp => "write-ups",
            Class::Trap => "traps",
        }
    }
}

/// One generated article and the story it really belongs to.
#[derive(Debug, Clone)]
pub struct Labelled {
    pub story: usize,
    pub class: Class,
    pub source: i64,
    pub title: String,
    pub text: String,
    pub published: DateTime<Utc>,
}

/// Pairwise precision and recall.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Score {
    /// Of the pairs put in one story that involve the class, the share
    /// that are one story.
    pub precision: f64,
    pub recall: f64,
    /// Pairs of one story, from different sources.
    pub pairs: usize,
}

/// The scores of each class, and the precision over every pair.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scores {
    pub classes: Vec<(Class, Score)>,
    pub all: Score,
}

impl Scores {
    pub fn of(&self, class: Class) -> Score {
        self.classes
            .iter()
            .find(|(c, _)| *c == class)
            .map(|(_, score)| *score)
            .unwrap_or_default()
    }
}

/// The corpus of `stories` stories of the first two classes (a third of
/// them flash news) with their reprints, and the reshaped reprints,
/// write-ups and traps beside them, in publication order. The first two
/// classes are drawn as they always were: the same seed, the same stories.
pub fn corpus(seed: u64, stories: usize) -> Vec<Labelled> {
    let mut articles = corpus::lightly_edited(seed, stories);
    let flashes: Vec<Labelled> = articles
        .iter()
        .filter(|a| a.class == Class::Flash)
        .cloned()
        .collect();
    articles.extend(reshaped::corpus(seed, stories, &flashes));
    articles.sort_by_key(|article| article.published);
    articles
}

/// Counts of pairs: (one story and found so, found so but not, one story
/// but not found so).
#[derive(Default, Clone, Copy)]
struct Counts {
    right: usize,
    wrong: usize,
    missed: usize,
}

impl Counts {
    fn score(self) -> Score {
        let share = |part: usize, whole: usize| {
            if whole == 0 {
                1.0
            } else {
                part as f64 / whole as f64
            }
        };
        Score {
            precision: share(self.right, self.right + self.wrong),
            recall: share(self.right, self.right + self.missed),
            pairs: self.right + self.missed,
        }
    }
}

/// Groups `articles` as the writer would (in publication order, each
/// against the window of those before it) and scores the result.
pub fn score(articles: &[Labelled]) -> Scores {
    let story_of = group(articles);
    let mut counts: HashMap<Class, Counts> = HashMap::new();
    let mut all = Counts::default();
    for i in 0..articles.len() {
        for j in i + 1..articles.len() {
            let (a, b) = (&articles[i], &articles[j]);
            if a.source == b.source {
                continue;
            }
            let (truly, found) = (
                (a.class, a.story) == (b.class, b.story),
                story_of[i] == story_of[j],
            );
            let tally = |counts: &mut Counts| match (truly, found) {
                (true, true) => counts.right += 1,
                (false, true) => counts.wrong += 1,
                (true, false) => counts.missed += 1,
                (false, false) => {}
            };
            tally(&mut all);
            tally(counts.entry(a.class).or_default());
            if b.class != a.class {
                tally(counts.entry(b.class).or_default());
            }
        }
    }
    Scores {
        classes: Class::ALL
            .iter()
            .map(|class| {
                (
                    *class,
                    counts.get(class).copied().unwrap_or_default().score(),
                )
            })
            .collect(),
        all: all.score(),
    }
}

/// The story each article is put in, as the writer decides them.
fn group(articles: &[Labelled]) -> Vec<i64> {
    let mut window = Window::default();
    let comparables: Vec<_> = articles
        .iter()
        .map(|a| Arc::new(comparable_article(&a.title, &a.text)))
        .collect();
    let mut texts = Corpus(&comparables);
    let mut story_of: Vec<i64> = Vec::with_capacity(articles.len());
    for (id, (article, comparable)) in articles.iter().zip(&comparables).enumerate() {
        let fingerprint =
            (comparable.chars.len() >= matching::MIN_CHARS).then(|| Fingerprint::of(comparable));
        let published = article.published.timestamp();
        let newcomer = Newcomer {
            id: id as i64,
            source_id: article.source,
            title: &article.title,
            text: &article.text,
            fingerprint: fingerprint.as_ref(),
            published,
            stored: published,
            comparable: Some(comparable.clone()),
        };
        let assigned = assign(&mut window, &mut texts, &newcomer, |_| false);
        let Ok(story) = futures::executor::block_on(assigned);
        story_of.push(story.id);
    }
    story_of
}

/// The corpus's texts, all made before grouping: nothing to read.
struct Corpus<'a>(&'a [Arc<Comparable>]);

impl Texts for Corpus<'_> {
    type Error = std::convert::Infallible;

    fn read_ahead(
        &mut self,
        _members: &[Member],
    ) -> impl std::future::Future<Output = Result<(), Self::Error>> + Send {
        std::future::ready(Ok(()))
    }

    fn text(&mut self, member: &Member) -> Option<Arc<Comparable>> {
        self.0.get(member.id as usize).cloned()
    }

    fn keep(&mut self, _id: i64, _text: Arc<Comparable>) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unseen_corpora_meet_the_targets() {
        // Seeds other than the ones the thresholds were set with (1 to 3), at
        // 600 stories each; docs/stories.md quotes these bounds.
        for seed in [101, 202] {
            let scores = score(&corpus(seed, 600));
            let report = format!("seed {seed}: {scores:?}");
            for class in Class::ALL {
                assert!(
                    scores.of(class).pairs > 100 || class == Class::Trap,
                    "{report}"
                );
            }
            for class in [Class::Long, Class::Flash] {
                assert!(scores.of(class).precision >= 0.9995, "{report}");
                assert!(scores.of(class).recall >= 0.98, "{report}");
            }
            assert!(scores.of(Class::Reshaped).recall >= 0.90, "{report}");
            assert!(scores.of(Class::WriteUp).recall >= 0.60, "{report}");
            assert!(scores.all.precision >= 0.99, "{report}");
        }
    }
}
