//! The first classes of the evaluation: long stories and flash news, each
//! reprinted by other outlets with the light edits outlets make (an outlet
//! prefix such as 【证券时报讯】, 本报讯（记者 …）, 据…报道; a source, editor or
//! original-title footer; a disclaimer; a sentence dropped or added; a
//! lightly changed title), published minutes to hours later. Traps among
//! them: flash news from one template with other numbers or another company,
//! and unrelated stories that share an outlet's formulaic sentences and
//! disclaimer.

use chrono::{DateTime, TimeDelta, Utc};

use super::{Class, Labelled};

/// The workload's generator, with what drawing sentences takes: the same
/// seed, the same corpus.
pub(super) struct Random(pub(super) crate::tools::workload::Random);

impl Random {
    pub(super) fn below(&mut self, n: usize) -> usize {
        self.0.below(n as u64) as usize
    }
    pub(super) fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
    pub(super) fn chance(&mut self, percent: usize) -> bool {
        self.0.chance(percent as f64 / 100.0)
    }
}

pub(super) const OUTLETS: [&str; 6] = [
    "证券时报网",
    "新浪财经",
    "东方财富网",
    "中国证券网",
    "财联社",
    "第一财经",
];
pub(super) const COMPANIES: [&str; 16] = [
    "平安银行",
    "招商银行",
    "格力电器",
    "美的集团",
    "宁德时代",
    "比亚迪",
    "贵州茅台",
    "中国平安",
    "隆基绿能",
    "海康威视",
    "万科A",
    "中信证券",
    "恒瑞医药",
    "京东方A",
    "紫金矿业",
    "立讯精密",
];
pub(super) const SECTORS: [&str; 8] = [
    "半导体",
    "新能源汽车",
    "光伏",
    "白酒",
    "券商",
    "医药",
    "消费电子",
    "银行",
];
pub(super) const PLACES: [&str; 6] = ["北京", "上海", "深圳", "广州", "杭州", "成都"];
pub(super) const REPORTERS: [&str; 6] = ["张三", "李四", "王五", "赵六", "孙七", "周八"];
/// Sentences outlets add to many stories: a trap when two unrelated stories share them.
pub(super) const FORMULAS: [&str; 4] = [
    "市场人士认为，后市仍需关注政策面和资金面的变化。",
    "业内人士表示，相关政策效果有望进一步显现。",
    "分析人士指出，短期市场波动不改长期向好趋势。",
    "有关部门表示，将继续密切关注市场运行情况。",
];
pub(super) const DISCLAIMER: &str = "声明：本文仅供参考，不构成投资建议，据此操作风险自担。";

/// A long story of five to ten sentences about one company and sector,
/// with numbers of its own.
pub(super) fn long_story(random: &mut Random) -> (String, Vec<String>) {
    let company = random.pick(&COMPANIES);
    let sector = random.pick(&SECTORS);
    let place = random.pick(&PLACES);
    let revenue = 10 + random.below(900);
    let growth = format!("{}.{}", random.below(40), random.below(10));
    let profit = 1 + random.below(200);
    let title = format!("{company}前三季度营收{revenue}亿元 同比增长{growth}%");
    let mut sentences = vec![
        format!(
            "{company}晚间发布三季度报告，前三季度实现营业收入{revenue}亿元，同比增长{growth}%。"
        ),
        format!(
            "归属于上市公司股东的净利润{profit}亿元，{}。",
            random.pick(&["同比增长明显", "较上年同期有所提升", "增速较上半年加快"])
        ),
        format!("公司表示，业绩增长主要得益于{sector}业务订单增加以及成本控制成效显现。"),
        format!(
            "报告期内，公司在{place}新建的生产基地已经投产，产能利用率达到{}%。",
            60 + random.below(40)
        ),
        format!(
            "{}，公司研发投入{}亿元，占营业收入的比重进一步提高。",
            random.pick(&["与此同时", "此外", "另外"]),
            1 + random.below(50)
        ),
        format!(
            "截至{}月末，公司在手订单金额约{}亿元，为全年业绩提供支撑。",
            1 + random.below(12),
            5 + random.below(300)
        ),
        format!(
            "{sector}板块今日整体{}，{company}股价收报{}.{}元。",
            random.pick(&["走强", "震荡", "回调"]),
            5 + random.below(200),
            random.below(100)
        ),
        format!(
            "机构预计{sector}行业景气度将在{}年继续回升，龙头企业有望受益。",
            2026 + random.below(2)
        ),
    ];
    let keep = 5 + random.below(4);
    sentences.truncate(keep);
    (title, sentences)
}

/// A flash of one or two sentences from a template; the same template
/// with other numbers or another company is another flash.
fn flash_story(random: &mut Random) -> (String, Vec<String>) {
    match random.below(4) {
        0 => {
            let amount = (1 + random.below(60)) * 100;
            let days = random.pick(&["7", "14"]);
            let rate = random.pick(&["1.40", "1.50", "1.70", "1.80"]);
            let title = format!("央行开展{amount}亿元{days}天期逆回购操作");
            let text = format!(
                "央行今日开展{amount}亿元{days}天期逆回购操作，中标利率为{rate}%，与此前持平。"
            );
            (title, vec![text])
        }
        1 => {
            let amount = format!("{}.{}", 1 + random.below(150), random.below(100));
            let title = format!("北向资金净买入{amount}亿元");
            let text = format!(
                "北向资金今日净买入{amount}亿元，{}获加仓居前。",
                random.pick(&COMPANIES)
            );
            (title, vec![text])
        }
        2 => {
            let company = random.pick(&COMPANIES);
            let cash = format!("{}.{}", 1 + random.below(9), random.below(100));
            let title = format!("{company}：每10股派发现金红利{cash}元");
            let text = format!(
                "{company}公告，董事会审议通过中期利润分配方案，每10股派发现金红利{cash}元（含税）。"
            );
            (title, vec![text])
        }
        _ => {
            let company = random.pick(&COMPANIES);
            let amount = 1 + random.below(50);
            let title = format!("{company}拟回购不超过{amount}亿元股份");
            let text = format!(
                "{company}公告，公司拟以集中竞价方式回购股份，回购金额不低于{}亿元且不超过{amount}亿元。",
                amount.div_ceil(2)
            );
            (title, vec![text])
        }
    }
}

/// Another outlet's copy: a prefix, maybe a sentence dropped or added, a
/// footer, a disclaimer, a lightly changed title.
pub(super) fn reprint(
    random: &mut Random,
    title: &str,
    sentences: &[String],
    outlet: &str,
) -> (String, String) {
    let mut body: Vec<String> = sentences.to_vec();
    if body.len() > 3 && random.chance(40) {
        body.remove(1 + random.below(body.len() - 2));
    }
    if random.chance(40) {
        let at = random.below(body.len() + 1);
        body.insert(at, random.pick(&FORMULAS).to_string());
    }
    let prefix = match random.below(8) {
        0 => format!("【{outlet}讯】"),
        1 => format!("本报讯（记者 {}）", random.pick(&REPORTERS)),
        2 => format!("据{}报道，", random.pick(&OUTLETS)),
        3 => format!(
            "{}{}月{}日电 ",
            random.pick(&["新华社", "中新网", "财联社"]),
            1 + random.below(12),
            1 + random.below(28)
        ),
        4 => "每经AI快讯，".to_string(),
        5 => format!("中证网讯（记者 {}）", random.pick(&REPORTERS)),
        6 => format!(
            "【{outlet}{}月{}日电】",
            1 + random.below(12),
            1 + random.below(28)
        ),
        _ => String::new(),
    };
    let footer = match random.below(6) {
        0 => format!("（来源：{}）", random.pick(&OUTLETS)),
        1 => format!(" 责任编辑：{}", random.pick(&REPORTERS)),
        2 => format!("（原标题：{title}）"),
        3 => format!("（编辑 {}）", random.pick(&REPORTERS)),
        4 => format!("文章来源：{}", random.pick(&OUTLETS)),
        _ => String::new(),
    };
    let disclaimer = if random.chance(30) { DISCLAIMER } else { "" };
    let title = match random.below(3) {
        0 => format!("{}{title}", random.pick(&["重磅！", "快讯：", "最新："])),
        1 => title.replace(' ', "，"),
        _ => title.to_string(),
    };
    (
        title,
        format!("{prefix}{}{footer}{disclaimer}", body.concat()),
    )
}

/// When the corpus's news begins.
pub(super) fn epoch() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-20T01:00:00Z")
        .expect("a date")
        .to_utc()
}

/// `stories` stories (a third of them flash news), each with up to three
/// reprints from other outlets, and traps among them.
pub(super) fn lightly_edited(seed: u64, stories: usize) -> Vec<Labelled> {
    let mut random = Random(crate::tools::workload::Random::new(seed, 0));
    let epoch = epoch();
    let mut articles = Vec::new();
    // Two stories with the very same text would be one story told twice.
    let mut told = hashbrown::HashSet::new();
    for story in 0..stories {
        let flash = story % 3 == 0;
        let (title, mut sentences) = loop {
            let (title, sentences) = if flash {
                flash_story(&mut random)
            } else {
                long_story(&mut random)
            };
            if told.insert(sentences.concat()) {
                break (title, sentences);
            }
        };
        if !flash && random.chance(50) {
            // The original outlet's own formula and disclaimer: unrelated
            // stories of that outlet share them.
            sentences.push(FORMULAS[story % FORMULAS.len()].to_string());
        }
        let published = epoch + TimeDelta::minutes(random.below(60 * 24 * 3) as i64);
        let origin = random.below(OUTLETS.len());
        let disclaimer = if random.chance(30) { DISCLAIMER } else { "" };
        let class = if flash { Class::Flash } else { Class::Long };
        articles.push(Labelled {
            story,
            class,
            source: origin as i64,
            title: title.clone(),
            text: format!("{}{disclaimer}", sentences.concat()),
            published,
        });
        for copy in 0..random.below(4) {
            let outlet = (origin + 1 + copy) % OUTLETS.len();
            let (title, text) = reprint(&mut random, &title, &sentences, OUTLETS[outlet]);
            articles.push(Labelled {
                story,
                class,
                source: outlet as i64,
                title,
                text,
                published: published + TimeDelta::minutes(3 + random.below(240) as i64),
            });
        }
    }
    articles
}
