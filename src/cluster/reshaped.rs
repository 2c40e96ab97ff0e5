//! Texts that tell one story in other shapes, which alignment in order does
//! not follow.
//!
//! Editors reshape a longer story: they cut it to its first part (and link
//! to the rest), move a sentence, reword a few phrases (表示 → 称, 同比增长 →
//! 较上年同期增长), add an analyst's sentence, give it a title of their own.
//! [`reshaped`] compares such texts as sets of sentences: nearly every
//! sentence of the shorter text must have a like sentence in the longer,
//! mostly in the same order (an edit moves a sentence or two, it does not
//! shuffle them), and both must be about the same subject (what their titles
//! or first sentences begin with: another company in the same template is
//! another story). An excerpt is the longer text's leading part, however
//! much shorter.
//!
//! Another outlet's own write-up of an event shares no sentences with the
//! first report, only what the event is: the company it names and its
//! figures. Two texts about the same subject that share at least three
//! figures with their units, each stating most of the other's figures, are
//! one story ([`event`]).

use super::text::Comparable;

/// Under this many characters a text is a flash: nearly all of it must be
/// in the other, in order (see `matching`), and it is never reshaped.
pub const FLASH_CHARS: usize = 80;

/// Figures two write-ups of one event share at least.
pub const EVENT_FIGURES: usize = 3;

/// Two sentences are alike (one reworded from the other) when this share of
/// their character pairs is common to both (Dice's coefficient).
const SENTENCE_ALIKE: f64 = 0.5;
/// The share of a reshaped reprint's characters in sentences like the
/// original's, at least.
const RESHAPED_COVERED: f64 = 0.8;

/// What two write-ups of one event share: the subject both name, and how
/// many figures both state.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub subject: String,
    pub figures: usize,
}

impl std::fmt::Display for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "同一事件：{}，{} 个数字一致", self.subject, self.figures)
    }
}

/// The share of `shorter` in sentences like `longer`'s, when `shorter` is
/// a reshaped reprint of `longer` (or `longer` of it), about the same
/// subject: either an excerpt of a story (its sentences like the longer's
/// first ones, however much shorter, with at most one sentence of its own at
/// the end),
/// or a story, not a flash, at least half the longer, nearly every sentence
/// like one of the other's in any order.
pub fn reshaped(shorter: &Comparable, longer: &Comparable) -> Option<f64> {
    let s = shorter.chars.len();
    same_subject(shorter, longer)?;
    let theirs: Vec<Vec<u64>> = longer.sentences().map(pairs).collect();
    // Each sentence of the shorter: its length, and where its like sentence is.
    let found: Vec<(usize, Option<usize>)> = shorter
        .sentences()
        .map(|sentence| {
            let mine = pairs(sentence);
            let best = theirs
                .iter()
                .enumerate()
                .map(|(at, their)| (dice(&mine, their), at))
                .max_by(|x, y| x.0.total_cmp(&y.0));
            let like = best.filter(|(alike, _)| *alike >= SENTENCE_ALIKE);
            (sentence.len(), like.map(|(_, at)| at))
        })
        .collect();
    let covered: usize = found
        .iter()
        .filter(|(_, at)| at.is_some())
        .map(|(len, _)| len)
        .sum();
    let coverage = covered as f64 / s as f64;
    let matched = found.iter().filter(|(_, at)| at.is_some()).count();
    let own_end = found
        .iter()
        .rev()
        .take_while(|(_, at)| at.is_none())
        .count();
    let last_at = found.iter().filter_map(|(_, at)| *at).max().unwrap_or(0);
    // Of a story, not of a flash; one more of the longer's first sentences
    // may have been cut from among them.
    let excerpt = longer.chars.len() >= 3 * FLASH_CHARS / 2
        && matched >= 2
        && matched + own_end == found.len()
        && own_end <= 1
        && last_at <= matched
        && covered >= s - covered;
    let story = s >= FLASH_CHARS && longer.chars.len() <= 2 * s && coverage >= RESHAPED_COVERED;
    // Moved, not shuffled: all but two like sentences keep their order.
    let order: Vec<usize> = found.iter().filter_map(|(_, at)| *at).collect();
    let kept_order = longest_rising(&order) + MOVED >= order.len();
    ((excerpt || story) && kept_order).then_some(coverage)
}

/// Sentences a reshaped reprint may have moved, at most.
const MOVED: usize = 2;

/// The length of the longest strictly rising run (not necessarily
/// contiguous) of `sequence`.
fn longest_rising(sequence: &[usize]) -> usize {
    // The smallest last element of a rising run of each length.
    let mut ends: Vec<usize> = Vec::new();
    for &value in sequence {
        match ends.binary_search(&value) {
            Ok(_) => {}
            Err(at) if at == ends.len() => ends.push(value),
            Err(at) => ends[at] = value,
        }
    }
    ends.len()
}

/// The distinct character pairs of a sentence, packed and sorted.
fn pairs(sentence: &[char]) -> Vec<u64> {
    let mut pairs: Vec<u64> = sentence
        .windows(2)
        .map(|w| u64::from(u32::from(w[0])) << 32 | u64::from(u32::from(w[1])))
        .collect();
    pairs.sort_unstable();
    pairs.dedup();
    pairs
}

/// Dice's coefficient of two sorted sets.
fn dice(a: &[u64], b: &[u64]) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    2.0 * common(a, b) as f64 / (a.len() + b.len()) as f64
}

/// How many elements two sorted lists share.
fn common<T: Ord>(a: &[T], b: &[T]) -> usize {
    let (mut i, mut j, mut shared) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                shared += 1;
                i += 1;
                j += 1;
            }
        }
    }
    shared
}

/// Leads that name no one in particular: two texts that begin with them
/// are not thereby about the same subject.
const NO_ONE: [&str; 12] = [
    "公司",
    "该公司",
    "本公司",
    "央行",
    "今日",
    "昨日",
    "沪指",
    "深成指",
    "两市",
    "北向资金",
    "南向资金",
    "市场",
];

/// What two texts are both about, when they are: the longest start they
/// share of their titles and first sentences (each with each), two
/// characters or more and not a word that names no one, cut to the
/// shortest such start (the name, not the sentence that follows it). Two
/// first sentences that are one and the same (a formula both begin with),
/// or a start that is a whole title (a heading: 早盘要闻汇总), name no one.
pub fn same_subject(a: &Comparable, b: &Comparable) -> Option<String> {
    let mut subject: Option<&[char]> = None;
    for mine in [a.title.as_slice(), a.lead()] {
        for theirs in [b.title.as_slice(), b.lead()] {
            let shared = mine.iter().zip(theirs).take_while(|(x, y)| x == y).count();
            let start = &mine[..shared];
            let one_sentence = shared == mine.len() && shared == theirs.len();
            // A heading both begin with (早盘要闻汇总) names no one either.
            let heading = [&a.title, &b.title]
                .iter()
                .any(|title| !title.is_empty() && start.starts_with(title));
            let named = shared >= 2
                && !one_sentence
                && !heading
                && !NO_ONE
                    .iter()
                    .any(|word| word.chars().eq(start.iter().copied()));
            if named && subject.is_none_or(|found| start.len() < found.len()) {
                subject = Some(start);
            }
        }
    }
    subject.map(|chars| chars.iter().collect())
}

/// What `a` and `b` share when they are two outlets' write-ups of one
/// event: the same subject, [`EVENT_FIGURES`] figures or more, each stating
/// most of the other's.
pub fn event(a: &Comparable, b: &Comparable) -> Option<Event> {
    let shared = common(&a.figures, &b.figures);
    let most = |figures: &[String]| shared * 2 > figures.len();
    if shared < EVENT_FIGURES || !most(&a.figures) || !most(&b.figures) {
        return None;
    }
    let subject = same_subject(a, b)?;
    Some(Event {
        subject,
        figures: shared,
    })
}
