//! The articles a new one may be a reprint of: those stored in the last
//! [`WINDOW`], indexed by the bands of their fingerprints and by their
//! sentences (a reprint reordered, cut or added to keeps most of them), and
//! the articles it may be another outlet's write-up of the same event with:
//! those that state three of its figures or more.
//!
//! Matching must not cost more as the database grows: a new article is
//! compared with the articles stored in the window whose signature shares a
//! band with its own, however many are stored in all. The index lives in the
//! writer's memory (a few hundred bytes an article of the window), is filled
//! from the database when the writer starts, and forgets articles as they
//! leave the window.

use std::collections::VecDeque;

use chrono::TimeDelta;
use hashbrown::HashMap;

use super::fingerprint::{BANDS, Fingerprint};
use super::matching::numbers_agree;
use super::reshaped::EVENT_FIGURES;

/// How far apart a reprint and its original may be, both in when tidings
/// stored them and in when they say they were published.
pub const WINDOW: TimeDelta = TimeDelta::hours(72);
/// How far apart two outlets' write-ups of one event may be published.
pub const EVENT_WINDOW: TimeDelta = TimeDelta::hours(48);

/// An article of the window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub id: i64,
    /// The source that first carried it: a reprint comes from another.
    pub source_id: i64,
    pub story_id: i64,
    /// Publication time, unix seconds.
    pub published: i64,
    /// When tidings stored it, unix seconds: it leaves the window by this.
    pub stored: i64,
    /// The numbers it states, hashed and sorted (see [`Fingerprint`]).
    pub numbers: Box<[u32]>,
}

/// A member that shares bands, sentences or figures with a new article.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub member: Member,
    /// How many of the [`BANDS`] bands it shares.
    pub bands: usize,
    /// How many of the new article's sentences it has, whole.
    pub sentences: usize,
    /// How many of the new article's figures it states.
    pub figures: usize,
}

/// The members a new article is checked against: those it may be a
/// reprint of (or reprinted by), likeliest first, and those it may be
/// another outlet's write-up of one event with.
#[derive(Debug, Default)]
pub struct Candidates {
    pub reprints: Vec<Candidate>,
    pub write_ups: Vec<Candidate>,
}

/// Members in the order they were stored, and for each band key the newest
/// member with that key; each member links to the previous one with the same
/// key in each band.
#[derive(Default)]
pub struct Window {
    members: VecDeque<Indexed>,
    /// The position of `members[0]` since the window was made.
    first: Position,
    /// Each member's keys, then for each key the position of the previous
    /// member with it, one member after another: one allocation for the
    /// window, not two for each of its tens of thousands of members (which
    /// at 5,000 feeds cost 3 MB in pointers and rounding).
    links: Vec<u32>,
    /// How many links have been dropped from the front of `links`: a
    /// member's `start` counts every link ever added, so it holds however
    /// many members leave before it.
    dropped: u64,
    heads: HashMap<u32, Position>,
}

/// The place of a member among all the members ever added: four bytes, as
/// the index is a few hundred bytes an article (four billion articles
/// stored by one writer in its life is more than a process lives).
type Position = u32;

struct Indexed {
    member: Member,
    /// Where its links begin among all the links ever added: its keys, cut
    /// to four bytes (two that share a key by chance only make a candidate
    /// that the exact check turns down): its bands, its sentences, its
    /// figures, in that order; then the previous member's position for each.
    start: u64,
    /// How many keys it has.
    keys: u32,
    /// How many of its keys are sentences.
    sentences: u16,
}

/// What a key of a member stands for.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Band,
    Sentence,
    Figure,
}

/// The keys of a fingerprint, each with its kind, in the order `Indexed` keeps.
fn keys_of(fingerprint: &Fingerprint) -> impl Iterator<Item = (Kind, u32)> + '_ {
    let bands = fingerprint
        .bands()
        .into_iter()
        .map(|key| (Kind::Band, key as u32));
    // Tagged so that a sentence's key and a figure's never meet a band's.
    let sentences = fingerprint
        .sentences
        .iter()
        .map(|key| (Kind::Sentence, key ^ 0x5e57_e7ce));
    let figures = fingerprint
        .figures
        .iter()
        .map(|key| (Kind::Figure, key ^ 0xf16e_0e55));
    bands.chain(sentences).chain(figures)
}

const NONE: Position = Position::MAX;

/// Members read at most along one band, the newest first: a sentence many
/// articles share (a formula, a disclaimer the text reading missed) gives
/// their bands one key, and the cost of a lookup must stay bounded.
const PER_BAND: usize = 8;
/// Members read at most along one figure's key: a percentage or an amount
/// is stated by many articles of a few days (`14.9%`), and the one it
/// shares with an event's first report may be far back.
const PER_FIGURE: usize = 64;

/// A member with its keys, made apart from the window: a reader of the
/// database holds thousands of them (read newest first, added oldest
/// first) without their fingerprints, which are several times larger.
pub struct Keyed {
    member: Member,
    keys: Box<[u32]>,
    sentences: u16,
}

impl Keyed {
    /// The member with the keys of its fingerprint, which it can then drop.
    pub fn new(member: Member, fingerprint: &Fingerprint) -> Keyed {
        Keyed {
            member,
            keys: keys_of(fingerprint).map(|(_, key)| key).collect(),
            sentences: fingerprint.sentences.len() as u16,
        }
    }

    /// The member, to complete what its keys do not depend on (such as its
    /// source, read apart) before it enters the window.
    pub fn member_mut(&mut self) -> &mut Member {
        &mut self.member
    }
}

impl Window {
    /// Adds a member, stored no earlier than the members before it.
    pub fn add(&mut self, member: Member, fingerprint: &Fingerprint) {
        self.enter(Keyed::new(member, fingerprint));
    }

    /// Adds a member with its keys, stored no earlier than the members
    /// before it.
    pub fn enter(&mut self, keyed: Keyed) {
        let Keyed {
            member,
            keys,
            sentences,
        } = keyed;
        let position = self.first + self.members.len() as Position;
        let start = self.dropped + self.links.len() as u64;
        self.links.extend_from_slice(&keys);
        for key in &keys {
            let previous = self.heads.insert(*key, position).unwrap_or(NONE);
            self.links.push(previous);
        }
        self.members.push_back(Indexed {
            member,
            start,
            keys: keys.len() as u32,
            sentences,
        });
    }

    /// Forgets the members stored before `stored` (unix seconds).
    pub fn forget_before(&mut self, stored: i64) {
        while let Some(oldest) = self.members.front() {
            if oldest.member.stored >= stored {
                break;
            }
            // A key whose newest member leaves has no member left: the
            // members linked from it are older still.
            let (keys, _) = oldest.links(&self.links, self.dropped);
            for key in keys {
                if self.heads.get(key) == Some(&self.first) {
                    self.heads.remove(key);
                }
            }
            self.members.pop_front();
            self.first += 1;
        }
        // The links of the members that left go once they are half of the
        // vector, so that the links moved to the front are never more than
        // the links dropped.
        let gone = match self.members.front() {
            Some(oldest) => (oldest.start - self.dropped) as usize,
            None => self.links.len(),
        };
        if gone > 0 && gone >= self.links.len() / 2 {
            self.links.drain(..gone);
            self.dropped += gone as u64;
        }
    }

    /// Members from other sources than `source_id`: those published within
    /// the [`WINDOW`] of `published` that share a band, a sentence or two
    /// figures with `fingerprint` (a reworded excerpt may share little else)
    /// and whose numbers agree with its numbers (the ones
    /// sharing most first, then the oldest: an original before the reprints
    /// of it), and those published within the [`EVENT_WINDOW`] that state
    /// [`EVENT_FIGURES`] of its figures or more (most figures first).
    pub fn candidates(
        &self,
        fingerprint: &Fingerprint,
        source_id: i64,
        published: i64,
    ) -> Candidates {
        // Each member's position once for every key it shares, with the kind.
        let mut found: Vec<(Position, Kind)> = Vec::new();
        for (slot, (kind, key)) in keys_of(fingerprint).enumerate() {
            let mut position = self.heads.get(&key).copied().unwrap_or(NONE);
            let most = if kind == Kind::Figure {
                PER_FIGURE
            } else {
                PER_BAND
            };
            for _ in 0..most {
                if position == NONE || position < self.first {
                    break;
                }
                found.push((position, kind));
                let indexed = &self.members[(position - self.first) as usize];
                let (keys, previous) = indexed.links(&self.links, self.dropped);
                let Some(at) = slot_of(keys, indexed.sentences, kind, key, slot) else {
                    break;
                };
                position = previous[at];
            }
        }
        found.sort_unstable_by_key(|(position, _)| *position);
        let mut candidates = Candidates::default();
        for run in found.chunk_by(|a, b| a.0 == b.0) {
            let member = &self.members[(run[0].0 - self.first) as usize].member;
            if member.source_id == source_id {
                continue;
            }
            let count = |kind| run.iter().filter(|(_, k)| *k == kind).count();
            let (bands, sentences, figures) = (
                count(Kind::Band),
                count(Kind::Sentence),
                count(Kind::Figure),
            );
            let apart = (member.published - published).abs();
            let reprint = (bands > 0 || sentences > 0 || figures >= 2)
                && apart <= WINDOW.num_seconds()
                && numbers_agree(&member.numbers, &fingerprint.numbers);
            let write_up = figures >= EVENT_FIGURES && apart <= EVENT_WINDOW.num_seconds();
            if !reprint && !write_up {
                continue;
            }
            let candidate = Candidate {
                member: member.clone(),
                bands,
                sentences,
                figures,
            };
            match (reprint, write_up) {
                (true, true) => {
                    candidates.reprints.push(candidate.clone());
                    candidates.write_ups.push(candidate);
                }
                (true, false) => candidates.reprints.push(candidate),
                _ => candidates.write_ups.push(candidate),
            }
        }
        // Stable sorts: among equals, the oldest (the lowest position) first.
        candidates
            .reprints
            .sort_by_key(|c| std::cmp::Reverse(c.bands + c.sentences + c.figures));
        candidates
            .write_ups
            .sort_by_key(|c| std::cmp::Reverse(c.figures));
        candidates
    }
}

impl Indexed {
    /// Its keys and their previous members' positions, in the window's
    /// `links`, whose first `dropped` are gone.
    fn links<'w>(&self, links: &'w [u32], dropped: u64) -> (&'w [u32], &'w [Position]) {
        let at = (self.start - dropped) as usize;
        let keys = self.keys as usize;
        links[at..at + 2 * keys].split_at(keys)
    }
}

/// Where `key` of `kind` is among a member's `keys`: a band at its own
/// slot (`slot`, as bands are in the same order in every fingerprint), a
/// sentence or a figure wherever it is.
fn slot_of(keys: &[u32], sentences: u16, kind: Kind, key: u32, slot: usize) -> Option<usize> {
    let sentences = BANDS..BANDS + usize::from(sentences);
    let range = match kind {
        Kind::Band => return (keys.get(slot) == Some(&key)).then_some(slot),
        Kind::Sentence => sentences,
        Kind::Figure => sentences.end..keys.len(),
    };
    range.clone().find(|at| keys[*at] == key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::text::comparable;

    fn member(id: i64, source_id: i64, stored: i64) -> Member {
        Member {
            id,
            source_id,
            story_id: id,
            published: stored,
            stored,
            numbers: Box::new([]),
        }
    }

    #[test]
    fn candidates_share_a_band_come_from_other_sources_and_leave_with_time() {
        let story = "国家统计局20日发布数据显示，10月份社会消费品零售总额同比增长4.8%，比上月加快0.3个百分点，消费市场继续恢复向好。";
        let same = Fingerprint::of(&comparable(story));
        let other = Fingerprint::of(&comparable(
            "证监会今日发布上市公司监管指引，进一步规范上市公司现金分红行为，引导上市公司提高分红水平。",
        ));
        let mut window = Window::default();
        window.add(member(1, 10, 0), &same);
        window.add(member(2, 11, 100), &other);
        window.add(member(3, 12, 200), &same);
        let found = window.candidates(&same, 10, 300).reprints;
        assert_eq!(
            found.iter().map(|c| c.member.id).collect::<Vec<_>>(),
            [3],
            "its own source and unrelated stories are no candidates"
        );
        assert_eq!(found[0].bands, BANDS);
        assert!(
            window
                .candidates(&same, 99, 300 + WINDOW.num_seconds() + 1000)
                .reprints
                .is_empty()
        );
        window.forget_before(150);
        assert_eq!(window.members.len(), 1);
        assert_eq!(window.candidates(&same, 99, 300).reprints.len(), 1);
        window.forget_before(1000);
        assert!(window.members.is_empty() && window.heads.is_empty() && window.links.is_empty());
    }
}
