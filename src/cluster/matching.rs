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
//! - the shorter must be at least half the longer, and a longer text that
//!   adds two sentences or more adds less than half the shorter: a roundup
//!   that quotes a story is not that story;
//! - a longer story must also be told under a like title (a reprint changes
//!   its title lightly, if at all), unless the shorter text is wholly in the
//!   longer but for one edit.
//!
//! Editors also reshape stories, and other outlets write up the same event
//! in their own sentences: a story that fails the check in order is compared
//! as `reshaped` compares them.

use hashbrown::HashSet;

use super::reshaped::{self, Event, FLASH_CHARS};
use super::text::Comparable;

/// Comparable characters under which a text is too short to say which story it is.
pub const MIN_CHARS: usize = 12;
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
#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    /// The share of the shorter text found in the longer (0 to 1): in
    /// order, or in like sentences in any order for a reshaped reprint, or
    /// the share of the figures in common for write-ups of an event.
    pub overlap: f64,
    /// The Jaccard similarity of their 3-gram sets (0 to 1).
    pub jaccard: f64,
    /// Every number of one is stated by the other.
    pub numbers_agree: bool,
    /// For two outlets' write-ups of one event, what they share.
    pub event: Option<Event>,
}

/// The exact check: `Some` when `a` and `b` tell one story.
pub fn same_story(a: &Comparable, b: &Comparable) -> Option<Match> {
    let (shorter, longer) = if a.chars.len() <= b.chars.len() {
        (a, b)
    } else {
        (b, a)
    };
    let (s, l) = (shorter.chars.len(), longer.chars.len());
    if s < MIN_CHARS || !numbers_agree(&a.numbers, &b.numbers) {
        return None;
    }
    let alignment = (l <= 2 * s).then(|| align(shorter, longer));
    let in_order = alignment.is_some_and(|alignment| {
        let kept_at_least = if s < FLASH_CHARS { 0.9 } else { 0.7 };
        let whole_but_one_edit = alignment.kept == s && alignment.edits <= 1;
        // A roundup quotes a story, with other news in sentences of their own.
        let quoted = alignment.added_sentences >= 2 && l - alignment.kept > s / 2;
        !quoted
            && alignment.changed_in_place <= 1
            && alignment.edits <= EDITS
            && alignment.kept as f64 >= kept_at_least * s as f64
            && (s < FLASH_CHARS || whole_but_one_edit || titles_alike(&a.title, &b.title))
    });
    let overlap = match alignment {
        Some(alignment) if in_order => alignment.kept as f64 / s as f64,
        _ => reshaped::reshaped(shorter, longer)?,
    };
    Some(Match {
        overlap,
        jaccard: jaccard(shorter, longer),
        numbers_agree: true,
        event: None,
    })
}

/// Whether `a` and `b` are two outlets' write-ups of one event (see
/// [`reshaped::event`]), and why.
pub fn same_event(a: &Comparable, b: &Comparable) -> Option<Match> {
    let event = reshaped::event(a, b)?;
    Some(Match {
        overlap: event.figures as f64 / a.figures.len().min(b.figures.len()) as f64,
        jaccard: jaccard(a, b),
        numbers_agree: numbers_agree(&a.numbers, &b.numbers),
        event: Some(event),
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
#[derive(Debug, Default, PartialEq, Clone, Copy)]
struct Alignment {
    /// Characters of the shorter text found, in order, in the longer.
    kept: usize,
    /// Characters changed in place: the smaller side of each stretch that
    /// differs on both sides by at most [`WORD_CHARS`] on one.
    changed_in_place: usize,
    /// Stretches of sentences where the texts differ.
    edits: usize,
    /// Sentences of the longer that the shorter has nothing of.
    added_sentences: usize,
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
            Step::OnlyLonger(j) => {
                alignment.added_sentences += 1;
                differing.1.extend_from_slice(l[j]);
            }
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
        ..Alignment::default()
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

    const STORY: &str = "宁德时代晚间发布三季度报告，前三季度实现营业收入2831.2亿元，同比增长12.5%。\
        归属于上市公司股东的净利润490.3亿元，同比增长25.8%。公司表示，业绩增长主要得益于储能业务订单增加以及成本控制成效显现。\
        报告期内，公司在福建新建的生产基地已经投产，产能利用率达到89%。与此同时，公司研发投入152亿元，占营业收入的比重进一步提高。\
        截至9月末，公司在手订单金额约2100亿元，为全年业绩提供支撑。";
    const TITLE: &str = "宁德时代前三季度营收2831.2亿元 同比增长12.5%";

    fn article(title: &str, text: &str) -> Comparable {
        crate::cluster::comparable_article(title, text)
    }

    #[test]
    fn a_reprint_reshaped_in_two_or_three_ways_is_one_story() {
        let original = article(TITLE, STORY);
        let sentences: Vec<String> = STORY.split_inclusive('。').map(String::from).collect();
        // The first half, and a link to the rest, under a title of its own.
        let excerpt = format!("{}……（点击查看全文）", sentences[..3].concat());
        // Two sentences swapped and phrases reworded.
        let mut moved = sentences.clone();
        moved.swap(2, 3);
        let reworded = moved
            .concat()
            .replace("同比增长", "较上年同期增长")
            .replace("公司表示", "该公司称")
            .replace("得益于", "受益于");
        // An analyst's sentence added at the end.
        let added = format!("{STORY}有券商分析师表示，宁德时代的龙头地位短期内难以撼动。");
        for (title, text) in [
            ("重磅！宁德时代披露重要进展", excerpt.as_str()),
            ("宁德时代公告速递", reworded.as_str()),
            ("宁德时代三季报亮点一览", added.as_str()),
        ] {
            let found = same_story(&original, &article(title, text));
            assert!(found.is_some_and(|m| m.event.is_none()), "{title}: {text}");
        }
    }

    #[test]
    fn write_ups_of_one_event_are_one_story_and_say_what_they_share() {
        let report = article(
            "宁德时代：前三季度营收2831.2亿元 同比增长12.5%",
            "宁德时代晚间公告，公司前三季度实现营业收入2831.2亿元，同比增长12.5%；归属于上市公司股东的净利润490.3亿元，\
             同比增长25.8%；基本每股收益11.2元。",
        );
        let write_up = article(
            "宁德时代三季报：净利490.3亿元 营收增12.5%",
            "10月20日晚间，宁德时代披露三季报。报告显示，前三季度公司营收达2831.2亿元，较上年同期增长12.5%，\
             净利润为490.3亿元。多家机构随后发布点评，普遍看好公司后续表现。",
        );
        assert_eq!(same_story(&report, &write_up), None);
        let found = same_event(&report, &write_up).expect("one event");
        assert_eq!(
            found.event.map(|event| event.to_string()).as_deref(),
            Some("同一事件：宁德时代，3 个数字一致")
        );
        // The same announcement for another company, with the same figures,
        // and the same company's next report with other figures, are not.
        let other = article(
            "比亚迪：前三季度营收2831.2亿元 同比增长12.5%",
            "比亚迪晚间公告，公司前三季度实现营业收入2831.2亿元，同比增长12.5%；归属于上市公司股东的净利润490.3亿元，\
             同比增长25.8%；基本每股收益11.2元。",
        );
        assert_eq!(same_event(&other, &write_up), None);
        assert_eq!(same_story(&other, &report), None);
        let next = article(
            "宁德时代：前三季度营收2905.7亿元 同比增长13.1%",
            "宁德时代晚间公告，公司前三季度实现营业收入2905.7亿元，同比增长13.1%；归属于上市公司股东的净利润501.2亿元，\
             同比增长26.4%；基本每股收益11.6元。",
        );
        assert_eq!(same_event(&next, &write_up), None);
    }

    #[test]
    fn a_roundup_quoting_a_story_whole_is_not_that_story() {
        let flash = "北向资金今日净买入52.3亿元，宁德时代获加仓居前，贵州茅台、招商银行紧随其后。";
        // Shorter than twice the story: its length does not give it away.
        let roundup =
            format!("早盘要闻汇总：一、沪指高开0.3%。二、{flash}三、两市成交额突破万亿元。");
        assert!(!same(flash, &roundup));
        assert!(
            same_story(
                &article("北向资金净买入52.3亿元", flash),
                &article("早盘要闻汇总", &roundup)
            )
            .is_none()
        );
    }
}
