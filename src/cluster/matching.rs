//! Whether two texts are one story, and why: the exact check behind every
//! merge. Precision comes first: a false merge hides a story, a missed one
//! only repeats it.
//!
//! Outlets reprint a story with a prefix, a footer, a sentence dropped,
//! added or replaced; they do not change its words in place. So:
//! - the numbers must agree: the numbers one text states are all stated by
//!   the other (a dropped sentence may take numbers with it, but a reprint
//!   never changes one). Formulaic flash news (央行开展X亿元逆回购,
//!   北向资金净买入X亿元) differs from one day's to the next only there;
//! - the texts are aligned sentence by sentence, and where sentences differ,
//!   character by character: a sentence left out, added or replaced by an
//!   unlike one is an edit of a reprint; a sentence with a word changed in
//!   place (a company's name in the same announcement template) is another
//!   story. At most one character may change in place, most of the shorter
//!   text must be in the longer (nine tenths of a flash, seven of a longer
//!   story), and in at most `EDITS` places: two stories written from the
//!   same stock sentences share many of them, but scattered, in other orders;
//! - the shorter must be at least half the longer: a roundup that quotes a
//!   story is not that story;
//! - a longer story must also be told under a like title (a reprint changes
//!   its title lightly, if at all), unless the shorter text is wholly in the
//!   longer but for one edit.

use hashbrown::HashSet;

use super::text::Comparable;

/// Comparable characters under which a text is too short to say which story it is.
pub const MIN_CHARS: usize = 12;
/// Under this many characters the shorter text is a flash: nearly all of it
/// must be in the longer.
const FLASH_CHARS: usize = 80;
/// A stretch that differs on both sides is a word changed in place when the
/// smaller side has at most this many characters; longer, it is a sentence
/// replaced by another.
const WORD_CHARS: usize = 8;
/// Differing stretches longer than this on either side are compared as whole
/// sentences replaced, not character by character: the comparison costs the
/// product of their lengths.
const ALIGN_CHARS: usize = 240;

/// Places where a reprint differs from its original at most.
const EDITS: usize = 3;

/// Why two texts were taken for one story.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Match {
    /// The share of the shorter text found, in order, in the longer (0 to 1).
    pub overlap: f64,
    /// The Jaccard similarity of their 3-gram sets (0 to 1).
    pub jaccard: f64,
    /// Every number of one is stated by the other.
    pub numbers_agree: bool,
}

/// The exact check: `Some` when `a` and `b` tell one story.
pub fn same_story(a: &Comparable, b: &Comparable) -> Option<Match> {
    let (shorter, longer) = if a.chars.len() <= b.chars.len() {
        (a, b)
    } else {
        (b, a)
    };
    let (s, l) = (shorter.chars.len(), longer.chars.len());
    if s < MIN_CHARS || l > 2 * s || !numbers_agree(&a.numbers, &b.numbers) {
        return None;
    }
    let alignment = align(shorter, longer);
    let kept_at_least = if s < FLASH_CHARS { 0.9 } else { 0.7 };
    let whole_but_one_edit = alignment.kept == s && alignment.edits <= 1;
    let same = alignment.changed_in_place <= 1
        && alignment.edits <= EDITS
        && alignment.kept as f64 >= kept_at_least * s as f64
        && (s < FLASH_CHARS || whole_but_one_edit || titles_alike(&a.title, &b.title));
    same.then(|| Match {
        overlap: alignment.kept as f64 / s as f64,
        jaccard: jaccard(shorter, longer),
        numbers_agree: true,
    })
}

/// Every number of the list with fewer is in the other (both sorted).
pub fn numbers_agree<T: Ord>(a: &[T], b: &[T]) -> bool {
    let (fewer, more) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    fewer
        .iter()
        .all(|number| more.binary_search(number).is_ok())
}

/// Whether two titles are alike: half the character pairs of the shorter
/// are in the longer (or a title is missing).
fn titles_alike(a: &[char], b: &[char]) -> bool {
    let pairs = |t: &[char]| t.windows(2).map(|w| [w[0], w[1]]).collect::<HashSet<_>>();
    let (a, b) = (pairs(a), pairs(b));
    let fewer = a.len().min(b.len());
    fewer == 0 || a.intersection(&b).count() * 2 >= fewer
}

/// The Jaccard similarity of two texts' 3-gram sets.
fn jaccard(a: &Comparable, b: &Comparable) -> f64 {
    let shingles = |c: &Comparable| {
        c.chars
            .windows(3)
            .map(|w| [w[0], w[1], w[2]])
            .collect::<HashSet<_>>()
    };
    let (a, b) = (shingles(a), shingles(b));
    let common = a.intersection(&b).count() as f64;
    let union = (a.len() + b.len()) as f64 - common;
    if union == 0.0 { 0.0 } else { common / union }
}

/// How two texts align.
#[derive(Debug, Default, PartialEq)]
struct Alignment {
    /// Characters of the shorter text found, in order, in the longer.
    kept: usize,
    /// Characters changed in place: the smaller side of each stretch that
    /// differs on both sides by at most [`WORD_CHARS`] on one.
    changed_in_place: usize,
    /// Stretches of sentences where the texts differ.
    edits: usize,
}

/// Aligns the sentences of two texts (equal sentences are kept whole), then
/// the characters of each stretch of sentences that differ.
fn align(shorter: &Comparable, longer: &Comparable) -> Alignment {
    let s: Vec<&[char]> = shorter.sentences().collect();
    let l: Vec<&[char]> = longer.sentences().collect();
    let mut alignment = Alignment::default();
    let mut differing: (Vec<char>, Vec<char>) = (Vec::new(), Vec::new());
    let settle = |differing: &mut (Vec<char>, Vec<char>), alignment: &mut Alignment| {
        let (only_s, only_l) = std::mem::take(differing);
        if only_s.len() + only_l.len() > 0 {
            alignment.edits += 1;
        }
        if only_s.is_empty() || only_l.is_empty() {
            return;
        }
        if only_s.len() > ALIGN_CHARS || only_l.len() > ALIGN_CHARS {
            return;
        }
        let found = align_chars(&only_s, &only_l);
        alignment.kept += found.kept;
        alignment.changed_in_place += found.changed_in_place;
    };
    for step in lcs_walk(&s, &l) {
        match step {
            Step::Both(i) => {
                settle(&mut differing, &mut alignment);
                alignment.kept += s[i].len();
            }
            Step::OnlyShorter(i) => differing.0.extend_from_slice(s[i]),
            Step::OnlyLonger(j) => differing.1.extend_from_slice(l[j]),
        }
    }
    settle(&mut differing, &mut alignment);
    alignment
}

/// Runs of common characters shorter than this, between two stretches that
/// differ, are coincidence (a sentence replaced by another still shares a
/// 的 or a 消费 with it), and are read as part of one stretch.
const COINCIDENCE_CHARS: usize = 3;

/// Aligns two runs of characters and reads the stretches where they differ.
fn align_chars(s: &[char], l: &[char]) -> Alignment {
    // (common, only in s, only in l) in turn; a short common run that
    // follows a difference joins it, with the difference after it.
    let mut stretches: Vec<(usize, usize, usize)> = vec![(0, 0, 0)];
    let mut kept = 0;
    for step in lcs_walk(s, l) {
        let last = stretches.last_mut().expect("never empty");
        match step {
            Step::Both(..) => {
                kept += 1;
                if last.1 + last.2 > 0 {
                    stretches.push((1, 0, 0));
                } else {
                    last.0 += 1;
                }
            }
            Step::OnlyShorter(_) => last.1 += 1,
            Step::OnlyLonger(_) => last.2 += 1,
        }
    }
    let mut merged: Vec<(usize, usize, usize)> = Vec::with_capacity(stretches.len());
    for (common, only_s, only_l) in stretches {
        match merged.last_mut() {
            Some(last) if common < COINCIDENCE_CHARS && last.1 + last.2 > 0 => {
                last.1 += common + only_s;
                last.2 += common + only_l;
            }
            _ => merged.push((common, only_s, only_l)),
        }
    }
    let changed_in_place = merged
        .iter()
        .map(|(_, only_s, only_l)| *only_s.min(only_l))
        .filter(|smaller| *smaller <= WORD_CHARS)
        .sum();
    Alignment {
        kept,
        changed_in_place,
        edits: 0,
    }
}

/// A step of the walk along a longest common subsequence.
enum Step {
    /// The `usize`th element of the shorter equals the next of the longer.
    Both(usize),
    OnlyShorter(usize),
    OnlyLonger(usize),
}

/// The steps of a longest common subsequence of `s` and `l`, in order.
fn lcs_walk<T: PartialEq>(s: &[T], l: &[T]) -> Vec<Step> {
    let width = l.len() + 1;
    let mut table = vec![0u32; (s.len() + 1) * width];
    for i in (0..s.len()).rev() {
        for j in (0..l.len()).rev() {
            table[i * width + j] = if s[i] == l[j] {
                table[(i + 1) * width + j + 1] + 1
            } else {
                table[(i + 1) * width + j].max(table[i * width + j + 1])
            };
        }
    }
    let mut steps = Vec::with_capacity(s.len() + l.len());
    let (mut i, mut j) = (0, 0);
    while i < s.len() || j < l.len() {
        if i < s.len() && j < l.len() && s[i] == l[j] {
            steps.push(Step::Both(i));
            i += 1;
            j += 1;
        } else if j < l.len()
            && (i == s.len() || table[i * width + j + 1] >= table[(i + 1) * width + j])
        {
            steps.push(Step::OnlyLonger(j));
            j += 1;
        } else {
            steps.push(Step::OnlyShorter(i));
            i += 1;
        }
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::text::comparable;

    fn same(a: &str, b: &str) -> bool {
        same_story(&comparable(a), &comparable(b)).is_some()
    }

    #[test]
    fn a_flash_reprinted_with_a_prefix_or_a_sentence_more_is_one_story() {
        let flash = "央行今日开展2000亿元7天期逆回购操作，中标利率1.5%，与此前持平。";
        assert!(same(
            flash,
            &format!("【财联社11月20日电】{flash}（来源：财联社）")
        ));
        assert!(same(
            flash,
            &format!("{flash}Wind数据显示，今日有1000亿元逆回购到期。")
        ));
    }

    #[test]
    fn the_same_template_with_other_numbers_or_another_company_is_not() {
        let flash = "央行今日开展2000亿元7天期逆回购操作，中标利率1.5%，与此前持平。";
        assert!(!same(
            flash,
            "央行今日开展3000亿元7天期逆回购操作，中标利率1.5%，与此前持平。"
        ));
        let a =
            "平安银行公告，公司董事会审议通过2026年中期利润分配方案，每10股派发现金红利2.46元。";
        let b =
            "招商银行公告，公司董事会审议通过2026年中期利润分配方案，每10股派发现金红利2.46元。";
        assert!(!same(a, b));
        let c = "格力电器公告，公司董事会审议通过回购股份方案，回购金额不低于30亿元。";
        let d = "美的集团公告，公司董事会审议通过回购股份方案，回购金额不低于30亿元。";
        assert!(!same(c, d));
    }

    #[test]
    fn a_long_reprint_with_edits_is_one_story_and_unrelated_stories_are_not() {
        let story = "国家统计局20日发布数据显示，10月份社会消费品零售总额同比增长4.8%，比上月加快0.3个百分点。\
            其中，除汽车以外的消费品零售额增长5.1%。分析人士表示，随着促消费政策持续发力，消费市场继续恢复向好，\
            服务零售额增长较快，居民消费意愿有所提升。从渠道看，实物商品网上零售额占社会消费品零售总额的比重继续提高，\
            乡村市场销售增速快于城镇，餐饮收入保持两位数增长。展望四季度，专家预计消费将保持平稳增长态势，为经济回升提供支撑。";
        // A prefix, a footer, a sentence replaced by another, one dropped.
        let reprint = format!(
            "本报讯（记者 王五）{}（原标题：消费市场回暖）责任编辑：赵六",
            story
                .replace(
                    "居民消费意愿有所提升。",
                    "线上消费保持活跃，直播电商等新业态快速发展。"
                )
                .replace(
                    "展望四季度，专家预计消费将保持平稳增长态势，为经济回升提供支撑。",
                    ""
                )
        );
        assert!(same(story, &reprint));
        let other = "国家统计局20日发布数据显示，10月份规模以上工业增加值同比增长4.8%，比上月加快0.3个百分点。\
            其中，高技术制造业增加值增长9.1%。分析人士表示，工业生产稳中有升，制造业投资保持较快增长，\
            企业利润持续改善。展望四季度，专家预计工业生产将延续回升态势，政策效应进一步显现。";
        assert!(!same(story, other));
    }
}
