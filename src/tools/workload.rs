//! A workload of Chinese finance feeds, with its own ground truth, for the
//! tests and the benchmark (`tidings workload OUT`).
//!
//! The shape of what tidings meets: RSS 2.0 (most feeds), Atom 1.0 (one in
//! five) and GB18030-encoded RSS (one in twenty), 证券时报网-style stories drawn
//! from one pool so that many appear in several feeds, some copies with
//! tracking parameters or a fragment on the link, optional `<ttl>`, and
//! update rounds in which some feeds publish new stories. Everything is drawn
//! from a seeded generator of our own, so a seed writes the same bytes on
//! every machine and with every dependency version.
//!
//! Under OUT: `feeds/NNNN.xml`, `urls.txt` (newsboat's format), `sources.toml`
//! (`[[sources]]` tables), `feeds.opml`, and `truth.json`: every story ever
//! published (cumulative over update rounds) and the stories per channel
//! label. A feed whose bytes did not change is not rewritten, so a server's
//! validators stay and a poller gets its 304.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use chrono::{DateTime, Duration, FixedOffset, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::text::xml_escape;

/// What to write (also the options of `tidings workload`).
#[derive(Debug, Clone, clap::Args)]
pub struct Options {
    /// How many feeds.
    #[arg(long, default_value_t = 1000)]
    pub feeds: usize,
    /// Entries per feed.
    #[arg(long, default_value_t = 30)]
    pub entries: usize,
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Where the feeds will be served, for their URLs.
    #[arg(long, default_value = "http://127.0.0.1:8088")]
    pub base: String,
    /// An update round of the workload already in OUT: this fraction of the
    /// feeds each publish five new stories.
    #[arg(long)]
    pub update: Option<f64>,
    /// RSS `<ttl>` in minutes; 0 writes none.
    #[arg(long, default_value_t = 30)]
    pub ttl: u32,
}

/// The ground truth, as `truth.json` holds it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Truth {
    pub feeds: usize,
    pub entries_per_feed: usize,
    /// Stories ever published: the articles a correct aggregator has stored.
    pub unique_articles: usize,
    /// Stories per channel label, ever.
    pub per_channel: BTreeMap<String, usize>,
    /// The generator's state for the next update round.
    next_story: u64,
    per_feed: BTreeMap<usize, Vec<u64>>,
    seen: BTreeMap<u64, BTreeSet<String>>,
}

const SENTENCES: [&str; 18] = [
    "中国同中亚五国30年合作的成功密码，在于双方始终相互尊重、睦邻友好、同舟共济、互利共赢。",
    "这四项原则是在合作中积累的宝贵经验和共同财富，是关系行稳致远的政治保障。",
    "中方愿同各国携手构建更加紧密的命运共同体。",
    "双方顺应潮流、讲信修睦，走出了一条合作共赢的新路。",
    "中国愿开放超大规模市场，将进口更多优质商品和农产品，继续办好经贸合作论坛。",
    "倡议建立电子商务合作对话机制，适时举办产业与投资合作论坛。",
    "加快推进铁路项目，推进交通走廊建设。",
    "确保油气管道稳定运营，扩大能源全产业链合作。",
    "加强人工智能、大数据、云计算等高技术领域合作。",
    "沪深两市成交额连续第三个交易日突破万亿元，北向资金净买入超过五十亿元。",
    "央行今日开展逆回购操作，维护银行体系流动性合理充裕。",
    "多家券商发布研报认为，新能源汽车产业链景气度有望持续提升。",
    "证监会表示，将进一步深化资本市场改革，提高上市公司质量。",
    "创业板指数午后拉升，半导体、光伏板块涨幅居前，白酒板块小幅回调。",
    "公司公告称，前三季度实现营业收入同比增长百分之二十，净利润同比增长百分之十五。",
    "基金发行市场回暖，权益类基金募集规模环比明显增长。",
    "国家统计局数据显示，工业增加值同比增长，消费市场稳步恢复。",
    "两市融资余额小幅回升，市场情绪有所改善。",
];

/// Outlets: name, site, category.
const OUTLETS: [(&str, &str, &str); 6] = [
    ("证券时报网", "https://news.stcn.com", "金融"),
    ("财联社", "https://www.cls.cn", "金融"),
    ("华尔街见闻", "https://wallstreetcn.com", "金融"),
    ("东方财富网", "https://finance.eastmoney.com", "金融"),
    ("新华社", "http://www.news.cn", "时政"),
    ("人民网", "http://finance.people.com.cn", "时政"),
];
const CHANNELS: [&str; 8] = [
    "要闻", "快讯", "股市", "公司", "基金", "宏观", "科技", "期货",
];

/// SplitMix64: small, fast and the same everywhere, which is all a workload
/// (and the stories' evaluation corpus) needs.
pub(crate) struct Random(u64);

impl Random {
    pub(crate) fn new(seed: u64, stream: u64) -> Self {
        let mut random = Random(seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        random.next();
        random
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    pub(crate) fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
}

struct Story {
    title: String,
    body: String,
    link: String,
    outlet: &'static str,
    published: DateTime<Utc>,
}

fn story(seed: u64, id: u64) -> Story {
    let mut random = Random::new(seed, 1 << 40 | id);
    let (outlet, site, _) = OUTLETS[(id % OUTLETS.len() as u64) as usize];
    let image = format!("{site}/news/202201/W2022012628{id:07}.png");
    let mut body = format!(
        "<p style=\"text-align:center\"><img src=\"{image}\" alt=\"图{id}\" referrerpolicy=\"no-referrer\"></p>"
    );
    for _ in 0..3 + random.below(6) {
        body.push_str("<p>");
        for _ in 0..2 + random.below(4) {
            body.push_str(SENTENCES[random.below(SENTENCES.len() as u64) as usize]);
        }
        body.push_str("</p>");
    }
    let opening: String = SENTENCES[random.below(SENTENCES.len() as u64) as usize]
        .chars()
        .take(18)
        .collect();
    let epoch = Utc.with_ymd_and_hms(2022, 1, 26, 7, 54, 0).unwrap();
    Story {
        title: format!("{opening}（第{id}号）"),
        body,
        link: format!("{site}/news/202201/t20220126_{id:07}.html"),
        outlet,
        published: epoch - Duration::minutes((7 * id + random.below(7)) as i64),
    }
}

/// The link as one feed writes it: sometimes with tracking parameters or a fragment.
fn decorated(seed: u64, feed: usize, id: u64, link: &str) -> String {
    let mut random = Random::new(seed, (feed as u64) << 32 | id);
    let roll = random.below(100);
    match roll {
        0..15 => format!("{link}?utm_source=rss&utm_medium=feed"),
        15..20 => format!("{link}#comments"),
        _ => link.to_string(),
    }
}

struct Feed {
    index: usize,
    title: String,
    outlet: &'static str,
    site: &'static str,
    category: &'static str,
    channel: &'static str,
    url: String,
}

#[derive(PartialEq)]
enum Kind {
    Rss,
    Atom,
    RssGb18030,
}

impl Feed {
    fn kind(&self) -> Kind {
        match self.index % 20 {
            3 | 7 | 13 | 17 => Kind::Atom,
            11 => Kind::RssGb18030,
            _ => Kind::Rss,
        }
    }
}

/// Writes the workload (or its next update round) under `out` and returns its truth.
pub fn generate(out: &Path, options: &Options) -> std::io::Result<Truth> {
    std::fs::create_dir_all(out.join("feeds"))?;
    let feeds = feeds_of(options);
    let truth_path = out.join("truth.json");
    let previous: Option<Truth> = match options.update {
        Some(_) => Some(
            serde_json::from_slice(&std::fs::read(&truth_path)?)
                .map_err(|e| std::io::Error::other(format!("{}: {e}", truth_path.display())))?,
        ),
        None => None,
    };
    let pool = (options.entries * 2).max(options.feeds * options.entries * 3 / 5) as u64;
    let mut next_story = previous.as_ref().map_or(pool, |t| t.next_story);
    let per_feed = stories_of_feeds(options, &feeds, previous.as_ref(), pool, &mut next_story);
    let mut seen = previous.map(|t| t.seen).unwrap_or_default();
    for feed in &feeds {
        for &id in &per_feed[&feed.index] {
            seen.entry(id).or_default().insert(feed.channel.to_string());
        }
    }
    write_feeds(out, options, &feeds, &per_feed)?;
    let mut per_channel = BTreeMap::new();
    for channels in seen.values() {
        for channel in channels {
            *per_channel.entry(channel.clone()).or_insert(0) += 1;
        }
    }
    let truth = Truth {
        feeds: options.feeds,
        entries_per_feed: options.entries,
        unique_articles: seen.len(),
        per_channel,
        next_story,
        per_feed,
        seen,
    };
    std::fs::write(&truth_path, serde_json::to_string(&truth)?)?;
    write_lists(out, &feeds)?;
    Ok(truth)
}

/// The workload's feeds: outlets and channels in turn.
fn feeds_of(options: &Options) -> Vec<Feed> {
    (0..options.feeds)
        .map(|index| {
            let (outlet, site, category) = OUTLETS[index % OUTLETS.len()];
            let channel = CHANNELS[(index / OUTLETS.len()) % CHANNELS.len()];
            Feed {
                index,
                title: format!("{outlet} - {channel} {index}"),
                outlet,
                site,
                category,
                channel,
                url: format!(
                    "{}/feeds/{index:04}.xml",
                    options.base.trim_end_matches('/')
                ),
            }
        })
        .collect()
}

/// The stories each feed carries: picked from the pool for a first round;
/// for an update round, the last round's, with five new ones at the top of
/// the share of feeds that publish.
fn stories_of_feeds(
    options: &Options,
    feeds: &[Feed],
    previous: Option<&Truth>,
    pool: u64,
    next_story: &mut u64,
) -> BTreeMap<usize, Vec<u64>> {
    let mut round = Random::new(options.seed, *next_story);
    let mut per_feed = BTreeMap::new();
    for feed in feeds {
        let stories = match previous {
            Some(truth) => {
                let mut stories = truth.per_feed.get(&feed.index).cloned().unwrap_or_default();
                if round.chance(options.update.unwrap_or(0.0)) {
                    let fresh = (*next_story..*next_story + 5).rev();
                    stories = fresh
                        .chain(stories.into_iter().take(options.entries.saturating_sub(5)))
                        .collect();
                    *next_story += 5;
                }
                stories
            }
            None => pick_stories(options, feed.index, pool),
        };
        per_feed.insert(feed.index, stories);
    }
    per_feed
}

/// Writes each feed that changed, in its format and charset.
fn write_feeds(
    out: &Path,
    options: &Options,
    feeds: &[Feed],
    per_feed: &BTreeMap<usize, Vec<u64>>,
) -> std::io::Result<()> {
    let mut stories = BTreeMap::new();
    for feed in feeds {
        let ids = &per_feed[&feed.index];
        for &id in ids {
            stories.entry(id).or_insert_with(|| story(options.seed, id));
        }
        let items: Vec<(&Story, String)> = ids
            .iter()
            .map(|id| {
                let story = &stories[id];
                (story, decorated(options.seed, feed.index, *id, &story.link))
            })
            .collect();
        let bytes = match feed.kind() {
            Kind::Atom => atom(feed, &items).into_bytes(),
            Kind::Rss => rss(feed, &items, "utf-8", options.ttl).into_bytes(),
            Kind::RssGb18030 => encoding_rs::GB18030
                .encode(&rss(feed, &items, "GB18030", options.ttl))
                .0
                .into_owned(),
        };
        let path = out.join("feeds").join(format!("{:04}.xml", feed.index));
        if std::fs::read(&path).ok().as_deref() != Some(&bytes[..]) {
            std::fs::write(&path, bytes)?;
        }
    }
    Ok(())
}

/// A feed's stories: mostly its outlet's own, a fifth syndicated from others, newest first.
fn pick_stories(options: &Options, index: usize, pool: u64) -> Vec<u64> {
    let mut random = Random::new(options.seed, index as u64);
    let outlets = OUTLETS.len() as u64;
    let own_count = options.entries - options.entries / 5;
    let mut picked = BTreeSet::new();
    let own_slots = pool / outlets;
    while picked.len() < own_count.min(own_slots as usize) {
        picked.insert(random.below(own_slots) * outlets + index as u64 % outlets);
    }
    while picked.len() < options.entries.min(pool as usize) {
        picked.insert(random.below(pool));
    }
    picked.into_iter().rev().collect()
}

fn rss(feed: &Feed, items: &[(&Story, String)], encoding: &str, ttl: u32) -> String {
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"{encoding}\"?>\n<rss version=\"2.0\" xmlns:atom=\"http://www.w3.org/2005/Atom\"><channel>\n\
         <title>{}</title><link>{}</link>\n<description>{} - 由聚合服务生成</description><language>zh-cn</language>\n",
        xml_escape(&feed.title),
        feed.site,
        xml_escape(&feed.title)
    );
    if ttl > 0 {
        let _ = writeln!(xml, "<ttl>{ttl}</ttl>");
    }
    for (story, link) in items {
        let _ = writeln!(
            xml,
            "<item><title><![CDATA[{}]]></title><description><![CDATA[{}]]></description>\
             <pubDate>{}</pubDate><guid isPermaLink=\"false\">{link}</guid><link>{link}</link>\
             <author>{}</author><category>{}</category></item>",
            story.title,
            story.body,
            story.published.format("%a, %d %b %Y %H:%M:%S GMT"),
            story.outlet,
            feed.channel,
            link = xml_escape(link),
        );
    }
    xml.push_str("</channel></rss>\n");
    xml
}

fn atom(feed: &Feed, items: &[(&Story, String)]) -> String {
    let beijing = FixedOffset::east_opt(8 * 3600).expect("a valid offset");
    let updated = items
        .iter()
        .map(|(s, _)| s.published)
        .max()
        .unwrap_or_default();
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\n\
         <title>{}</title>\n<link href=\"{}\"/><id>{}/{}</id><updated>{}</updated>\n",
        xml_escape(&feed.title),
        feed.site,
        feed.site,
        feed.channel,
        updated.with_timezone(&beijing).to_rfc3339()
    );
    for (story, link) in items {
        let _ = writeln!(
            xml,
            "<entry><title>{}</title><link rel=\"alternate\" href=\"{link}\"/><id>{link}</id>\
             <updated>{}</updated><author><name>{}</name></author><category term=\"{}\"/>\
             <content type=\"html\">{}</content></entry>",
            xml_escape(&story.title),
            story.published.with_timezone(&beijing).to_rfc3339(),
            story.outlet,
            feed.channel,
            xml_escape(&story.body),
            link = xml_escape(link),
        );
    }
    xml.push_str("</feed>\n");
    xml
}

fn write_lists(out: &Path, feeds: &[Feed]) -> std::io::Result<()> {
    let mut urls = String::new();
    let mut sources = String::new();
    let mut opml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<opml version=\"2.0\"><head><title>workload</title></head><body>\n",
    );
    for feed in feeds {
        let _ = writeln!(urls, "{}", feed.url);
        let _ = writeln!(
            sources,
            "[[sources]]\nname = \"{}\"\nurl = \"{}\"\ncategory = \"{}\"\nchannel = \"{}\"\n",
            feed.outlet, feed.url, feed.category, feed.channel
        );
        let _ = writeln!(
            opml,
            "<outline type=\"rss\" text=\"{title}\" title=\"{title}\" xmlUrl=\"{}\" htmlUrl=\"{}\" category=\"{}/{}\"/>",
            feed.url,
            feed.site,
            feed.category,
            feed.channel,
            title = xml_escape(&feed.title),
        );
    }
    opml.push_str("</body></opml>\n");
    std::fs::write(out.join("urls.txt"), urls)?;
    std::fs::write(out.join("sources.toml"), sources)?;
    std::fs::write(out.join("feeds.opml"), opml)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(feeds: usize) -> Options {
        Options {
            feeds,
            entries: 10,
            seed: 7,
            base: "http://127.0.0.1:1".into(),
            update: None,
            ttl: 30,
        }
    }

    #[test]
    fn a_seed_writes_the_same_bytes_and_updates_add_stories() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let truth = generate(a.path(), &options(40)).unwrap();
        generate(b.path(), &options(40)).unwrap();
        for name in [
            "feeds/0000.xml",
            "feeds/0003.xml",
            "feeds/0011.xml",
            "truth.json",
        ] {
            assert_eq!(
                std::fs::read(a.path().join(name)).unwrap(),
                std::fs::read(b.path().join(name)).unwrap(),
                "{name}"
            );
        }
        // Stories repeat across feeds: fewer stories than entries.
        assert!(truth.unique_articles < 40 * 10, "{}", truth.unique_articles);
        assert_eq!(truth.per_feed.values().map(Vec::len).sum::<usize>(), 400);
        let gb = std::fs::read(a.path().join("feeds/0011.xml")).unwrap();
        assert!(std::str::from_utf8(&gb).is_err(), "feed 11 is GB18030");
        let updated = generate(
            a.path(),
            &Options {
                update: Some(0.5),
                ..options(40)
            },
        )
        .unwrap();
        assert!(updated.unique_articles > truth.unique_articles);
        assert_eq!((updated.unique_articles - truth.unique_articles) % 5, 0);
    }
}
