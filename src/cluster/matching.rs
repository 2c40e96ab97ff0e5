//! Whether two texts are one story, and why: the exact check behind every
//! merge. Precision comes first: a false merge hides a story, a missed one
//! only repeats it.
//!
//! Outlets reprint a story with a prefix, a footer, a sentence dropped or
//! added; they do not change its words in place. So:
//! - the numbers must agree: the numbers one text states are all stated by
//!   the other (a dropped sentence may take numbers with it, but a reprint
//!   never changes one). Formulaic flash news (央行开展X亿元逆回购,
//!   北向资金净买入X亿元) differs from one day's to the next only there;
//! - the texts are aligned character by character, and the stretches where
//!   they differ are read: a whole sentence left out, added or replaced is an
//!   edit of a reprint; a word changed in place (a company's name in the same
//!   announcement template) is another story. At most one character may
//!   change in place, and most of the shorter text must be in the longer
//!   (nine tenths of a flash, seven of a longer story);
//! - the shorter must be at least half the longer: a roundup that quotes a
//!   story is not that story;
//! - texts too long to align cheaply compare their sets of 3-grams instead
//!   (a Jaccard similarity of at least 0.5, or 80% of the shorter in the longer).

use hashbrown::HashSet;

use super::text::Comparable;

/// Comparable characters under which a text is too short to say which story it is.
pub const MIN_CHARS: usize = 12;
/// Under this many characters the shorter text is a flash: nearly all of it
/// must be in the longer.
const FLASH_CHARS: usize = 160;
/// Over this many characters the texts compare 3-gram sets, not alignments.
const ALIGN_CHARS: usize = 1500;
/// A stretch that differs on both sides is a word changed in place when the
/// smaller side has at most this many characters; longer, it is a sentence
/// replaced by another.
const WORD_CHARS: usize = 8;

/// Why two texts were taken for one story.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Match {
    /// The share of the shorter text's 3-grams found in the longer (0 to 1).
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
    if s < MIN_CHARS || l > 2 * s || !numbers_agree(a, b) {
        return None;
    }
    let (jaccard, overlap) = shingle_similarity(shorter, longer);
    let found = if s > ALIGN_CHARS {
        jaccard >= 0.5 || overlap >= 0.8
    } else {
        let alignment = align(&shorter.chars, &longer.chars);
        let kept_at_least = if s < FLASH_CHARS { 0.9 } else { 0.7 };
        alignment.changed_in_place <= 1 && alignment.kept as f64 >= kept_at_least * s as f64
    };
    found.then_some(Match {
        overlap,
        jaccard,
        numbers_agree: true,
    })
}

/// Every number of the one with fewer is stated by the other.
fn numbers_agree(a: &Comparable, b: &Comparable) -> bool {
    fn set(c: &Comparable) -> HashSet<&str> {
        c.numbers.iter().map(String::as_str).collect()
    }
    let (a, b) = (set(a), set(b));
    a.is_subset(&b) || b.is_subset(&a)
}

/// The Jaccard similarity of two texts' 3-gram sets, and the share of the
/// shorter's 3-grams found in the longer.
fn shingle_similarity(shorter: &Comparable, longer: &Comparable) -> (f64, f64) {
    let shingles = |c: &Comparable| {
        c.chars
            .windows(3)
            .map(|w| [w[0], w[1], w[2]])
            .collect::<HashSet<_>>()
    };
    let (s, l) = (shingles(shorter), shingles(longer));
    if s.is_empty() {
        return (0.0, 0.0);
    }
    let common = s.intersection(&l).count() as f64;
    let union = (s.len() + l.len()) as f64 - common;
    (common / union, common / s.len() as f64)
}

/// How two texts align.
struct Alignment {
    /// Characters of the shorter text found, in order, in the longer.
    kept: usize,
    /// Characters changed in place: the smaller side of each stretch that
    /// differs on both sides by at most [`WORD_CHARS`] on one.
    changed_in_place: usize,
}

/// Runs of common characters shorter than this, between two stretches that
/// differ, are coincidence (a sentence replaced by another still shares a
/// 的 or a 消费 with it), and are read as part of one stretch.
const COINCIDENCE_CHARS: usize = 3;

/// A longest common subsequence of `s` and `l`, read as stretches of difference.
fn align(s: &[char], l: &[char]) -> Alignment {
    // The table of common subsequence lengths of every pair of suffixes.
    let width = l.len() + 1;
    let mut table = vec![0u16; (s.len() + 1) * width];
    for i in (0..s.len()).rev() {
        for j in (0..l.len()).rev() {
            table[i * width + j] = if s[i] == l[j] {
                table[(i + 1) * width + j + 1] + 1
            } else {
                table[(i + 1) * width + j].max(table[i * width + j + 1])
            };
        }
    }
    // The alignment as stretches: (common, only in s, only in l) in turn.
    let mut stretches: Vec<(usize, usize, usize)> = vec![(0, 0, 0)];
    let (mut i, mut j) = (0, 0);
    while i < s.len() || j < l.len() {
        let last = stretches.last_mut().expect("never empty");
        if i < s.len() && j < l.len() && s[i] == l[j] {
            if last.1 + last.2 > 0 {
                stretches.push((0, 0, 0));
            }
            stretches.last_mut().expect("never empty").0 += 1;
            i += 1;
            j += 1;
        } else if j < l.len()
            && (i == s.len() || table[i * width + j + 1] >= table[(i + 1) * width + j])
        {
            last.2 += 1;
            j += 1;
        } else {
            last.1 += 1;
            i += 1;
        }
    }
    // A short common run that follows a difference joins it, with the
    // difference after it.
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
        kept: table[0] as usize,
        changed_in_place,
    }
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
        assert!(same(flash, &format!("【财联社11月20日电】{flash}（来源：财联社）")));
        assert!(same(flash, &format!("{flash}Wind数据显示，今日有1000亿元逆回购到期。")));
    }

    #[test]
    fn the_same_template_with_other_numbers_or_another_company_is_not() {
        let flash = "央行今日开展2000亿元7天期逆回购操作，中标利率1.5%，与此前持平。";
        assert!(!same(flash, "央行今日开展3000亿元7天期逆回购操作，中标利率1.5%，与此前持平。"));
        let a = "平安银行公告，公司董事会审议通过2026年中期利润分配方案，每10股派发现金红利2.46元。";
        let b = "招商银行公告，公司董事会审议通过2026年中期利润分配方案，每10股派发现金红利2.46元。";
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
                .replace("居民消费意愿有所提升。", "线上消费保持活跃，直播电商等新业态快速发展。")
                .replace("展望四季度，专家预计消费将保持平稳增长态势，为经济回升提供支撑。", "")
        );
        assert!(same(story, &reprint));
        let other = "国家统计局20日发布数据显示，10月份规模以上工业增加值同比增长4.8%，比上月加快0.3个百分点。\
            其中，高技术制造业增加值增长9.1%。分析人士表示，工业生产稳中有升，制造业投资保持较快增长，\
            企业利润持续改善。展望四季度，专家预计工业生产将延续回升态势，政策效应进一步显现。";
        assert!(!same(story, other));
    }
}
