//! The classes of the evaluation that an editor's hand and other newsrooms
//! make: reprints reshaped in two or three ways at once (an excerpt that
//! links to the rest, a title of their own, sentences moved, phrases
//! reworded, an analyst's sentence added), another outlet's own write-up of
//! an event with its figures, and the traps they must stay apart from (the
//! same company's next report from the same formulas with other figures,
//! the same announcement for another company with the same figures, a
//! roundup quoting flash news whole). Drawn from a stream of their own, so
//! the first classes stay as they were.

use chrono::{DateTime, TimeDelta, Utc};

use super::corpus::{self, COMPANIES, OUTLETS, Random};
use super::{Class, Labelled};

/// Reworded phrases: what an editor changes without changing what is said.
const REWORDINGS: [(&str, &str); 16] = [
    ("公司表示", "该公司表示"),
    ("表示", "称"),
    ("同比增长", "较上年同期增长"),
    ("主要得益于", "主要源于"),
    ("得益于", "受益于"),
    ("进一步", "持续"),
    ("整体", "总体"),
    ("预计", "预期"),
    ("有望", "或将"),
    ("实现营业收入", "录得营业收入"),
    ("为全年业绩提供支撑", "支撑全年业绩"),
    ("归属于上市公司股东的净利润", "归母净利润"),
    ("前三季度", "今年前三季度"),
    ("占营业收入的比重", "占营收比重"),
    ("已经投产", "已正式投产"),
    ("订单增加", "订单增长"),
];

/// How an excerpt ends: a link to the whole text.
const EXCERPT_ENDS: [&str; 4] = [
    "……（点击查看全文）",
    "……阅读全文>>",
    "【查看原文】",
    "（未完，点击阅读原文）",
];

const ANALYSTS: [&str; 4] = [
    "中信建投分析师认为，{company}基本面稳健，维持“买入”评级。",
    "有券商分析师表示，{company}的龙头地位短期内难以撼动。",
    "华泰证券研报指出，{company}后续业绩弹性值得关注。",
    "业内分析人士称，{company}的经营韧性超出市场预期。",
];

const TITLES: [&str; 4] = [
    "{company}公告速递",
    "重磅！{company}披露重要进展",
    "{company}业绩出炉",
    "{company}三季报亮点一览",
];

/// An editor's edits of a reprint.
#[derive(Clone, Copy, PartialEq)]
enum Edit {
    Reword,
    Reorder,
    Excerpt,
    Analyst,
    Title,
}

/// The reshaped reprints, write-ups and traps that go beside `stories`
/// stories of the first classes; flash news to quote in roundups from
/// `flashes`.
pub(super) fn corpus(seed: u64, stories: usize, flashes: &[Labelled]) -> Vec<Labelled> {
    // A stream of its own: the seed scrambled, as a generator started at a
    // nearby state would draw the first classes' stories again, shifted.
    let scrambled =
        seed.wrapping_mul(0xD1B5_4A32_D192_ED03).rotate_left(29) ^ 0x7265_7368_6170_6564;
    let mut random = Random(crate::tools::workload::Random::new(scrambled, 0));
    let mut articles = Vec::new();
    for story in 0..stories / 3 {
        reshaped_story(&mut random, story, &mut articles);
    }
    let mut traps = 0;
    for story in 0..stories / 4 {
        event(&mut random, story, &mut traps, &mut articles);
    }
    let reports: Vec<Labelled> = articles
        .iter()
        .filter(|a| a.class == Class::WriteUp)
        .cloned()
        .collect();
    let quotable: Vec<Labelled> = flashes.iter().chain(&reports).cloned().collect();
    for _ in 0..stories / 20 {
        if let Some(roundup) = roundup(&mut random, traps, &quotable) {
            traps += 1;
            articles.push(roundup);
        }
    }
    articles
}

fn minutes(random: &mut Random, from: usize, to: usize) -> TimeDelta {
    TimeDelta::minutes((from + random.below(to - from)) as i64)
}

fn article(
    story: usize,
    class: Class,
    source: usize,
    (title, text): (String, String),
    published: DateTime<Utc>,
) -> Labelled {
    Labelled {
        story,
        class,
        source: source as i64,
        title,
        text,
        published,
    }
}

/// A long story and one to three reprints of it, each reshaped in two or
/// three ways.
fn reshaped_story(random: &mut Random, story: usize, out: &mut Vec<Labelled>) {
    let (title, sentences) = corpus::long_story(random);
    let company = COMPANIES
        .iter()
        .find(|company| title.starts_with(**company))
        .expect("a long story's title starts with its company");
    let published = corpus::epoch() + minutes(random, 0, 60 * 24 * 3);
    let origin = random.below(OUTLETS.len());
    let original = (title.clone(), sentences.concat());
    out.push(article(story, Class::Reshaped, origin, original, published));
    for copy in 0..1 + random.below(3) {
        let outlet = (origin + 1 + copy) % OUTLETS.len();
        let reprint = reshape(random, &title, &sentences, company);
        let at = published + minutes(random, 3, 300);
        out.push(article(story, Class::Reshaped, outlet, reprint, at));
    }
}

/// A reprint with two or three of the edits, in the order an editor makes
/// them: the words, the order, the cut, the addition, the title.
fn reshape(
    random: &mut Random,
    title: &str,
    sentences: &[String],
    company: &str,
) -> (String, String) {
    let mut edits = vec![
        Edit::Reword,
        Edit::Reorder,
        Edit::Excerpt,
        Edit::Analyst,
        Edit::Title,
    ];
    let keep = 2 + random.below(2);
    while edits.len() > keep {
        edits.remove(random.below(edits.len()));
    }
    let mut body = sentences.to_vec();
    let mut title = title.to_string();
    let mut end = "";
    for edit in edits {
        match edit {
            Edit::Reword => {
                for sentence in &mut body {
                    for (from, to) in REWORDINGS {
                        if random.chance(85) {
                            *sentence = sentence.replacen(from, to, 1);
                        }
                    }
                }
            }
            Edit::Reorder => {
                // Two sentences after the first swapped, or one moved.
                let at = 1 + random.below(body.len() - 2);
                if random.chance(50) {
                    body.swap(at, at + 1);
                } else {
                    let moved = body.remove(at);
                    body.insert(1 + random.below(body.len() - 1), moved);
                }
            }
            Edit::Excerpt => {
                // The first third to the first half.
                body.truncate(body.len().div_ceil(2 + random.below(2)).max(2));
                end = random.pick(&EXCERPT_ENDS);
            }
            Edit::Analyst => body.push(random.pick(&ANALYSTS).replace("{company}", company)),
            Edit::Title => title = random.pick(&TITLES).replace("{company}", company),
        }
    }
    let prefix = if random.chance(30) {
        format!("【{}讯】", random.pick(&OUTLETS))
    } else {
        String::new()
    };
    (title, format!("{prefix}{}{end}", body.concat()))
}

/// A company's quarterly figures, as an announcement states them.
struct Figures {
    revenue: String,
    growth: String,
    profit: String,
    profit_growth: String,
    per_share: String,
}

impl Figures {
    fn draw(random: &mut Random) -> Figures {
        let mut decimal = |whole: usize| {
            format!(
                "{}.{}",
                whole + random.below(whole * 9),
                1 + random.below(99)
            )
        };
        Figures {
            revenue: decimal(100),
            growth: decimal(3),
            profit: decimal(10),
            profit_growth: decimal(2),
            per_share: format!("0.{}", 10 + random.below(89)),
        }
    }

    /// The announcement, from the formulas every company's is written in.
    fn announcement(&self, company: &str) -> (String, String) {
        let Figures {
            revenue,
            growth,
            profit,
            profit_growth,
            per_share,
        } = self;
        (
            format!("{company}：前三季度营收{revenue}亿元 同比增长{growth}%"),
            format!(
                "{company}晚间公告，公司前三季度实现营业收入{revenue}亿元，同比增长{growth}%；\
                 归属于上市公司股东的净利润{profit}亿元，同比增长{profit_growth}%；\
                 基本每股收益{per_share}元。公司表示，业绩增长主要得益于主营业务订单增加。"
            ),
        )
    }

    /// Another newsroom's own write-up: its own sentences, most of the figures.
    fn write_up(&self, random: &mut Random, company: &str) -> (String, String) {
        let Figures {
            revenue,
            growth,
            profit,
            profit_growth,
            ..
        } = self;
        let comment = random.pick(&[
            "市场人士认为，公司业绩增长主要受益于行业需求回暖。",
            "多家机构随后发布点评，普遍看好公司后续表现。",
            "消息公布后，公司股价在盘后交易中有所上涨。",
        ]);
        let day = 1 + random.below(28);
        match random.below(3) {
            0 => (
                format!("{company}三季报：净利{profit}亿元 营收增{growth}%"),
                format!(
                    "11月{day}日晚间，{company}披露三季报。报告显示，前三季度公司营收达{revenue}亿元，\
                     较上年同期增长{growth}%，净利润为{profit}亿元。{comment}"
                ),
            ),
            1 => (
                format!("{company}业绩出炉：前三季度赚{profit}亿元"),
                format!(
                    "{company}交出三季度成绩单：前三季度营业收入{revenue}亿元，增速{growth}%；\
                     净利润{profit}亿元，增幅{profit_growth}%。{comment}"
                ),
            ),
            _ => (
                format!("{company}前三季度净利润{profit}亿元"),
                format!(
                    "{company}最新披露，公司前三季度净利润{profit}亿元，同比增长{profit_growth}%，\
                     营业收入{revenue}亿元。{comment}"
                ),
            ),
        }
    }
}

/// An event: one outlet's report of an announcement, one or two other
/// outlets' own write-ups of it; and, as traps, the same company's next
/// report (other figures) and the same announcement for another company
/// (the same figures).
fn event(random: &mut Random, story: usize, traps: &mut usize, out: &mut Vec<Labelled>) {
    let company = random.pick(&COMPANIES);
    let figures = Figures::draw(random);
    let published = corpus::epoch() + minutes(random, 0, 60 * 24 * 3);
    let origin = random.below(OUTLETS.len());
    let report = figures.announcement(company);
    out.push(article(story, Class::WriteUp, origin, report, published));
    for copy in 0..1 + random.below(2) {
        let outlet = (origin + 1 + copy) % OUTLETS.len();
        let write_up = figures.write_up(random, company);
        let at = published + minutes(random, 30, 60 * 36);
        out.push(article(story, Class::WriteUp, outlet, write_up, at));
    }
    let mut trap = |text: (String, String), at: DateTime<Utc>, source: usize| {
        out.push(article(*traps, Class::Trap, source, text, at));
        *traps += 1;
    };
    if random.chance(50) {
        let next = Figures::draw(random).announcement(company);
        let at = published + minutes(random, 60 * 20, 60 * 40);
        trap(next, at, random.below(OUTLETS.len()));
    }
    if random.chance(30) {
        let other = COMPANIES[(COMPANIES
            .iter()
            .position(|c| *c == company)
            .expect("drawn from it")
            + 1)
            % COMPANIES.len()];
        let at = published + minutes(random, 5, 60 * 12);
        trap(figures.announcement(other), at, random.below(OUTLETS.len()));
    }
}

/// A roundup of the morning's news quoting three items whole (flash news,
/// an event's report).
fn roundup(random: &mut Random, story: usize, flashes: &[Labelled]) -> Option<Labelled> {
    if flashes.len() < 3 {
        return None;
    }
    let quoted: Vec<&Labelled> = (0..3)
        .map(|_| &flashes[random.below(flashes.len())])
        .collect();
    let latest = quoted.iter().map(|flash| flash.published).max()?;
    let items: String = ["一、", "二、", "三、"]
        .iter()
        .zip(&quoted)
        .map(|(number, flash)| format!("{number}{}", flash.text))
        .collect();
    let text = format!("早盘要闻汇总：{items}");
    let at = latest + minutes(random, 30, 120);
    let source = random.below(OUTLETS.len());
    Some(article(
        story,
        Class::Trap,
        source,
        ("早盘要闻汇总".into(), text),
        at,
    ))
}
