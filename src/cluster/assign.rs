//! Which story a new article joins: the one decision SQLite's writer,
//! PostgreSQL's, `tidings regroup` and the evaluation all make, in the same
//! steps: the candidates of the window (the articles of other sources that
//! share a band or a sentence of its fingerprint, likeliest first, and those
//! that state three of its figures, at most [`CHECKS`] of each), their texts
//! read, the exact check of each (a reprint first, then a write-up of the
//! same event), then the story it joins or a new one, and the article added
//! to the window for the ones after it.
//!
//! What differs between them is where the members' texts and stories come
//! from ([`Texts`]: a group still in memory, a database, a cache) and how
//! the decision is written, which each caller does with the [`Story`] it gets.

use std::cell::OnceCell;
use std::future::Future;
use std::sync::Arc;

use super::window::{Candidate, Member, Window};
use super::{CHECKS, Comparable, Fingerprint, Match, comparable_article, matching};

/// A new article a story is decided for.
pub struct Newcomer<'a> {
    pub id: i64,
    pub source_id: i64,
    pub title: &'a str,
    pub text: &'a str,
    /// Its fingerprint; `None` keeps it out of stories (too short to tell,
    /// or its source stays apart).
    pub fingerprint: Option<&'a Fingerprint>,
    /// Unix seconds.
    pub published: i64,
    /// When it was stored, unix seconds: it leaves the window by this.
    pub stored: i64,
    /// Its comparable text, when the caller has made it already.
    pub comparable: Option<Arc<Comparable>>,
}

/// Where the texts of the window's members come from, and the stories they
/// are in now: what differs between the writers of stories.
pub trait Texts {
    type Error;

    /// Makes the texts of `members` (and their stories as they are now)
    /// ready for [`Texts::text`]: a check cannot wait, so they are read
    /// before it, all at once where that is cheaper.
    fn read_ahead(
        &mut self,
        members: &[Member],
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// A member's comparable text; `None` when it cannot be read (deleted
    /// since it entered the window): it is not compared.
    fn text(&mut self, member: &Member) -> Option<Arc<Comparable>>;

    /// The story `member` is in now (`tidings split` and `merge` move
    /// articles after they enter the window).
    fn story_of(&mut self, member: &Member) -> Result<i64, Self::Error> {
        Ok(member.story_id)
    }

    /// Keeps a new article's text, made for its checks, for the articles
    /// after it.
    fn keep(&mut self, id: i64, text: Arc<Comparable>);
}

/// The story a new article is stored in.
#[derive(Debug, Clone, PartialEq)]
pub struct Story {
    pub id: i64,
    /// Why it joined another article's story; `None` when it starts its own.
    pub joined: Option<Joined>,
}

/// Why a new article joined a story.
#[derive(Debug, Clone, PartialEq)]
pub struct Joined {
    /// The article of the window it matched.
    pub matched: i64,
    pub found: Match,
    pub minutes_apart: i64,
}

impl Story {
    /// A story of its own.
    pub fn alone(id: i64) -> Story {
        Story { id, joined: None }
    }
}

/// Decides the story of `new` against `window`, leaving out the members
/// `refused` names (articles people split from it), and adds `new` to the
/// window in that story.
pub async fn assign<T: Texts>(
    window: &mut Window,
    texts: &mut T,
    new: &Newcomer<'_>,
    refused: impl Fn(&Member) -> bool,
) -> Result<Story, T::Error> {
    let Some(fingerprint) = new.fingerprint else {
        return Ok(Story::alone(new.id));
    };
    let candidates = window.candidates(fingerprint, new.source_id, new.published);
    let chosen = |candidates: Vec<Candidate>| -> Vec<Member> {
        candidates
            .into_iter()
            .map(|candidate| candidate.member)
            .filter(|member| !refused(member))
            .take(CHECKS)
            .collect()
    };
    let (reprints, write_ups) = (chosen(candidates.reprints), chosen(candidates.write_ups));
    let mut story = Story::alone(new.id);
    if !reprints.is_empty() || !write_ups.is_empty() {
        let all: Vec<Member> = reprints.iter().chain(&write_ups).cloned().collect();
        texts.read_ahead(&all).await?;
        // Made only when a candidate's text is there to compare it with.
        let mine = OnceCell::new();
        let mut check =
            |members: Vec<Member>, same: fn(&Comparable, &Comparable) -> Option<Match>| {
                members.into_iter().find_map(|member| {
                    let theirs = texts.text(&member)?;
                    let mine = mine.get_or_init(|| {
                        new.comparable
                            .clone()
                            .unwrap_or_else(|| Arc::new(comparable_article(new.title, new.text)))
                    });
                    same(mine, &theirs).map(|found| (member, found))
                })
            };
        // A reprint first: the stronger evidence.
        let found = check(reprints, matching::same_story)
            .or_else(|| check(write_ups, matching::same_event));
        if let Some((matched, found)) = found {
            story = Story {
                id: texts.story_of(&matched)?,
                joined: Some(Joined {
                    matched: matched.id,
                    found,
                    minutes_apart: (new.published - matched.published).abs() / 60,
                }),
            };
        }
        if let Some(mine) = mine.into_inner() {
            texts.keep(new.id, mine);
        }
    }
    let member = Member {
        id: new.id,
        source_id: new.source_id,
        story_id: story.id,
        published: new.published,
        stored: new.stored,
        numbers: fingerprint.numbers.clone().into(),
    };
    window.add(member, fingerprint);
    Ok(story)
}
