//! The articles a new one may be a reprint of: those stored in the last
//! [`WINDOW`], indexed by the bands of their fingerprints.
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

/// How far apart a reprint and its original may be, both in when tidings
/// stored them and in when they say they were published.
pub const WINDOW: TimeDelta = TimeDelta::hours(72);

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

/// A member that shares bands with a new article.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub member: Member,
    /// How many of the [`BANDS`] bands it shares: the likelier first.
    pub bands: usize,
}

/// Members in the order they were stored, and for each band key the newest
/// member with that key; each member links to the previous one with the same
/// key in each band.
#[derive(Default)]
pub struct Window {
    members: VecDeque<Indexed>,
    /// The position of `members[0]` since the window was made.
    first: Position,
    heads: HashMap<u32, Position>,
}

/// The place of a member among all the members ever added: four bytes, as
/// the index is a few hundred bytes an article (four billion articles
/// stored by one writer in its life is more than a process lives).
type Position = u32;

struct Indexed {
    member: Member,
    /// Its band keys, cut to four bytes: two bands that share a key by
    /// chance only make a candidate that the exact check turns down.
    keys: [u32; BANDS],
    /// For each band, the position of the previous member with its key.
    previous: [Position; BANDS],
}

const NONE: Position = Position::MAX;

/// Members read at most along one band, the newest first: a sentence many
/// articles share (a formula, a disclaimer the text reading missed) gives
/// their bands one key, and the cost of a lookup must stay bounded.
const PER_BAND: usize = 8;

impl Window {
    /// Adds a member, stored no earlier than the members before it.
    pub fn add(&mut self, member: Member, fingerprint: &Fingerprint) {
        let position = self.first + self.members.len() as Position;
        let keys = fingerprint.bands().map(|key| key as u32);
        let mut previous = [NONE; BANDS];
        for (band, key) in keys.iter().enumerate() {
            previous[band] = self.heads.insert(*key, position).unwrap_or(NONE);
        }
        self.members.push_back(Indexed {
            member,
            keys,
            previous,
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
            for key in oldest.keys {
                if self.heads.get(&key) == Some(&self.first) {
                    self.heads.remove(&key);
                }
            }
            self.members.pop_front();
            self.first += 1;
        }
    }

    /// Members from other sources than `source_id`, published within the
    /// window of `published`, that share a band with `fingerprint` and whose
    /// numbers agree with its numbers: the ones sharing most bands first,
    /// then the oldest (an original before the reprints of it).
    pub fn candidates(
        &self,
        fingerprint: &Fingerprint,
        source_id: i64,
        published: i64,
    ) -> Vec<Candidate> {
        // Each member's position once for every band it shares.
        let mut found: Vec<Position> = Vec::new();
        for (band, key) in fingerprint.bands().iter().enumerate() {
            let mut position = self.heads.get(&(*key as u32)).copied().unwrap_or(NONE);
            for _ in 0..PER_BAND {
                if position == NONE || position < self.first {
                    break;
                }
                found.push(position);
                position = self.members[(position - self.first) as usize].previous[band];
            }
        }
        found.sort_unstable();
        let shared = found.chunk_by(|a, b| a == b).map(|run| (run[0], run.len()));
        let mut candidates: Vec<(Position, Candidate)> = shared
            .filter_map(|(position, bands)| {
                let member = &self.members[(position - self.first) as usize].member;
                let eligible = member.source_id != source_id
                    && (member.published - published).abs() <= WINDOW.num_seconds()
                    && numbers_agree(&member.numbers, &fingerprint.numbers);
                eligible.then(|| {
                    let member = member.clone();
                    (position, Candidate { member, bands })
                })
            })
            .collect();
        candidates.sort_by(|(p, a), (q, b)| b.bands.cmp(&a.bands).then(p.cmp(q)));
        candidates.into_iter().map(|(_, c)| c).collect()
    }
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
        let found = window.candidates(&same, 10, 300);
        assert_eq!(
            found.iter().map(|c| c.member.id).collect::<Vec<_>>(),
            [3],
            "its own source and unrelated stories are no candidates"
        );
        assert_eq!(found[0].bands, BANDS);
        assert!(
            window
                .candidates(&same, 99, 300 + WINDOW.num_seconds() + 1000)
                .is_empty()
        );
        window.forget_before(150);
        assert_eq!(window.members.len(), 1);
        assert_eq!(window.candidates(&same, 99, 300).len(), 1);
        window.forget_before(1000);
        assert!(window.members.is_empty() && window.heads.is_empty());
    }
}
