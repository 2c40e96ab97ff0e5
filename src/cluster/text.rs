//! An article's text as the story fingerprint reads it: what outlets change
//! when they reprint a story is taken out, what the story says is kept.
//!
//! Outlets reprint a 新华社 or 证券时报 story with their own prefix
//! (【证券时报讯】, 本报讯（记者 张三）, 新华社北京11月20日电, 据证券时报报道，),
//! their own footer (（来源：…）, 责任编辑：…, 原标题：…) and their own
//! disclaimer (声明：…不构成投资建议…); they write digits and letters full
//! width or half. So full-width forms are folded, those parts removed, and
//! what is left kept as the characters that carry meaning (ideographs,
//! letters, digits), with the numbers the story states beside it.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

/// The comparable form of an article's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparable {
    /// Ideographs, letters (lowercased) and digits, in order; nothing else.
    pub chars: Vec<char>,
    /// Where each sentence ends in `chars` (exclusive), in order: the last is
    /// `chars.len()`.
    pub sentence_ends: Vec<usize>,
    /// Every number stated, normalized (`1,200.50` → `1200.5`), sorted, once each.
    pub numbers: Vec<String>,
    /// The figures stated with their units (`1234.56亿元`, `23.5%`,
    /// `每股0.8元`), normalized, sorted, once each: what an event's write-ups
    /// by different outlets share when their sentences do not.
    pub figures: Vec<String>,
    /// The comparable characters of the article's title, when it has one.
    pub title: Vec<char>,
}

impl Comparable {
    /// The start of the first sentence, a dateline (`10月20日晚间`) left out:
    /// where a news text names what it is about.
    pub fn lead(&self) -> &[char] {
        let first = &self.chars[..self.sentence_ends.first().copied().unwrap_or(0)];
        skip_dateline(first)
    }

    /// The sentences, as stretches of `chars`.
    pub fn sentences(&self) -> impl Iterator<Item = &[char]> {
        let starts = std::iter::once(0).chain(self.sentence_ends.iter().copied());
        starts
            .zip(self.sentence_ends.iter().copied())
            .map(|(start, end)| &self.chars[start..end])
    }
}

/// Reads `text` (plain text, whitespace collapsed) into its comparable form.
pub fn comparable(text: &str) -> Comparable {
    let folded = fold_width(text);
    let story = strip_outlet_parts(&folded);
    let mut numbers = Vec::new();
    let mut figures = Vec::new();
    let mut chars = Vec::with_capacity(story.len() / 3);
    let mut sentence_ends = Vec::new();
    let mut read_up_to = 0;
    // The text between numbers character by character; each number as its
    // normalized form, so that 1.50 and 1.5 read alike, and as a figure when
    // a unit follows it.
    for number in NUMBER
        .find_iter(&story)
        .map(Some)
        .chain(std::iter::once(None))
    {
        let until = number.map_or(story.len(), |n| n.start());
        for c in story[read_up_to..until].chars() {
            if c.is_ascii_alphanumeric() {
                chars.push(c.to_ascii_lowercase());
            } else if is_ideograph(c) {
                chars.push(c);
            } else if matches!(c, '。' | '！' | '？' | '；' | '!' | '?' | ';') {
                if sentence_ends.last() != Some(&chars.len()) {
                    sentence_ends.push(chars.len());
                }
            } else if !c.is_ascii() && !matches!(c, '\u{3000}'..='\u{303F}') && c.is_alphanumeric()
            {
                chars.extend(c.to_lowercase());
            }
        }
        if let Some(number) = number {
            let normalized = normalize_number(number.as_str());
            chars.extend(normalized.chars().filter(char::is_ascii_digit));
            figures.extend(figure(
                &normalized,
                &story[..number.start()],
                &story[number.end()..],
            ));
            numbers.push(normalized);
            read_up_to = number.end();
        }
    }
    numbers.sort();
    numbers.dedup();
    figures.sort();
    figures.dedup();
    if sentence_ends.last() != Some(&chars.len()) {
        sentence_ends.push(chars.len());
    }
    sentence_ends.retain(|end| *end > 0);
    Comparable {
        chars,
        sentence_ends,
        numbers,
        figures,
        title: Vec::new(),
    }
}

/// Compiles the patterns of this module ahead of their first use (see
/// `run::poll::compile_patterns`).
pub fn compile_patterns() {
    LazyLock::force(&FLOURISH);
    LazyLock::force(&NUMBER);
    LazyLock::force(&PREFIXES);
    LazyLock::force(&FOOTERS);
}

/// An editor's flourish before a title: 【快讯】, 重磅！, 最新：.
static FLOURISH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*(?:【[^】]{1,10}】|(?:重磅|快讯|最新|突发|刚刚|独家|注意|关注|热点|速递|早报|晚报)\s*[！!：:]+)\s*")
        .expect("valid")
});

/// A title without the flourish an editor put before it: what it names
/// comes first again.
pub fn without_flourish(title: &str) -> &str {
    FLOURISH
        .find(title)
        .map_or(title, |found| &title[found.end()..])
}

/// The units a figure is stated in: amounts of money, shares, a share of
/// something, a multiple, a change in points, quantities. Longer first, so
/// that 亿元 is read before 元.
const UNITS: [&str; 19] = [
    "亿美元",
    "万美元",
    "亿港元",
    "万港元",
    "个百分点",
    "亿元",
    "万元",
    "美元",
    "港元",
    "亿股",
    "万股",
    "万吨",
    "万辆",
    "万户",
    "万千瓦",
    "GWh",
    "元",
    "%",
    "倍",
];

/// The figure `number` states when the unit follows it in `after`
/// (whitespace between allowed), with 每股 kept when `before` ends with it.
fn figure(number: &str, before: &str, after: &str) -> Option<String> {
    let after = after.trim_start();
    let unit = UNITS.iter().find(|unit| after.starts_with(**unit))?;
    let per_share = if before.ends_with("每股") {
        "每股"
    } else {
        ""
    };
    Some(format!("{per_share}{number}{unit}"))
}

/// `chars` without a leading dateline: `2026年10月20日晚间`, `20日`, `今日`.
fn skip_dateline(chars: &[char]) -> &[char] {
    let mut rest = chars;
    loop {
        let digits = rest.iter().take_while(|c| c.is_ascii_digit()).count();
        match rest.get(digits) {
            Some('年' | '月' | '日') if digits > 0 => rest = &rest[digits + 1..],
            _ => break,
        }
    }
    for word in [
        "今日", "昨日", "日前", "近日", "晚间", "早间", "午间", "盘后", "盘前", "上午", "下午",
    ] {
        let word: Vec<char> = word.chars().collect();
        if rest.starts_with(&word) {
            rest = &rest[word.len()..];
            break;
        }
    }
    rest
}

/// CJK unified ideographs (the basic block and extension A): no case, and
/// the most of every Chinese text.
fn is_ideograph(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}')
}

/// Full-width ASCII forms and the ideographic space to their ASCII selves.
///
/// Chinese text has a full-width comma every few words, so the text between
/// them is copied whole rather than character by character (which was a
/// quarter of making an article's comparable text).
fn fold_width(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let mut folded = String::new();
    let mut copied = 0;
    // Their UTF-8 forms: U+FF01-FF3F are EF BC 81-BF, U+FF40-FF5E are
    // EF BD 80-9E, U+3000 is E3 80 80. EF and E3 only ever start a
    // character, so each place found is a character's start.
    for at in memchr::memchr2_iter(0xEF, 0xE3, bytes) {
        let ascii = match bytes.get(at..at + 3) {
            Some(&[0xEF, 0xBC, last @ 0x81..=0xBF]) => last - 0x60,
            Some(&[0xEF, 0xBD, last @ 0x80..=0x9E]) => last - 0x20,
            Some(&[0xE3, 0x80, 0x80]) => b' ',
            _ => continue,
        };
        if folded.is_empty() {
            folded.reserve(text.len());
        }
        folded.push_str(&text[copied..at]);
        folded.push(char::from(ascii));
        copied = at + 3;
    }
    if copied == 0 {
        return Cow::Borrowed(text);
    }
    folded.push_str(&text[copied..]);
    Cow::Owned(folded)
}

/// A number as stated: digits with thousands separators, and a fraction
/// (ASCII digits: full-width ones are folded first).
static NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?|[0-9]+(?:\.[0-9]+)?").expect("valid")
});

fn normalize_number(number: &str) -> String {
    let plain = number.replace(',', "");
    match plain.split_once('.') {
        Some((whole, fraction)) => {
            let fraction = fraction.trim_end_matches('0');
            if fraction.is_empty() {
                whole.to_string()
            } else {
                format!("{whole}.{fraction}")
            }
        }
        None => plain,
    }
}

/// Outlets' prefixes, at the start of a text.
static PREFIXES: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        // 【证券时报讯】 【财联社11月20日电】
        r"^\s*【[^】]{1,30}】\s*",
        // 本报讯（记者 张三） 新华社北京11月20日电（记者 李四） 证券时报e公司讯，
        // (讯 or 电 then a bracket, a separator or a space: 中国电信 is a name)
        r"^\s*[^，。,；;：:]{0,30}?(?:讯|电)(?:\s*[（(][^）)]{0,40}[）)]\s*[，,：:]?|\s*[，,：:]|\s+)\s*",
        // 据证券时报报道， 据新华社消息，
        r"^\s*据[^，。,]{1,20}(?:报道|消息)\s*[，,：:]?\s*",
        // （记者 张三） at the start, left by a prefix of another form
        r"^\s*[（(](?:记者|通讯员|本报记者)[^）)]{0,30}[）)]\s*",
    ]
    .iter()
    .map(|pattern| Regex::new(pattern).expect("valid prefix pattern"))
    .collect()
});

/// An outlet's footer or disclaimer, with words one of which every match
/// contains: a text with none of them is spared the search (most texts).
struct Footer {
    pattern: Regex,
    words: Vec<memchr::memmem::Finder<'static>>,
}

impl Footer {
    fn may_match(&self, text: &str) -> bool {
        self.words
            .iter()
            .any(|word| word.find(text.as_bytes()).is_some())
    }
}

/// Outlets' footers and disclaimers (see [`Footer`]).
static FOOTERS: LazyLock<Vec<Footer>> = LazyLock::new(|| {
    [
        // （来源：证券时报网） （责任编辑：王一） (原标题：…)
        (
            r"[（(]\s*(?:来源|文章来源|稿件来源|责任编辑|编辑|校对|审核|作者|记者|原标题|图片来源)\s*[：:][^）)]{0,80}[）)]",
            &["来源", "编辑", "校对", "审核", "作者", "记者", "原标题"][..],
        ),
        // （编辑 王一） （记者 李二 张三）
        (
            r"[（(]\s*(?:编辑|责编|责任编辑|记者|作者|校对)\s+[^）)：:]{1,30}[）)]",
            &["编辑", "责编", "记者", "作者", "校对"][..],
        ),
        // 责任编辑：王一 校对：李二 来源：新浪财经 at the end of the text
        (
            r"(?:责任编辑|编辑|校对|审核|来源|文章来源|稿件来源|原标题|图片来源)\s*[：:][^。！？!?]{0,60}$",
            &["编辑", "校对", "审核", "来源", "原标题"][..],
        ),
        // Sentences of a disclaimer, wherever they are.
        (
            r"[^。！？!?]*(?:不构成[^。！？!?]{0,12}(?:投资)?建议|风险自担|仅供参考|据此操作|投资有风险|入市需谨慎|转载请注明|未经[^。！？!?]{0,10}授权)[^。！？!?]*[。！？!?]?",
            &["建议", "风险", "参考", "据此", "谨慎", "转载", "授权"][..],
        ),
        // An excerpt's link to the whole text, at the end.
        (
            r"[（(【\[]?\s*(?:未完[，,、]?\s*)?(?:点击|点此)?(?:查看|阅读)(?:全文|原文|更多)[^。！？!?]{0,20}$",
            &["查看", "阅读"][..],
        ),
        // A disclaimer or notice from its marker to the end.
        (
            r"(?:声明|免责声明|风险提示|特别提示|版权声明)\s*[：:].*$",
            &["声明", "提示"][..],
        ),
    ]
    .into_iter()
    .map(|(pattern, words): (&str, &[&'static str])| Footer {
        pattern: Regex::new(pattern).expect("valid footer pattern"),
        words: words.iter().map(memchr::memmem::Finder::new).collect(),
    })
    .collect()
});

/// The outlet's prefix at the start (applied while one matches: 【财联社11月20日电】
/// then 据证券时报报道，), then its footers and disclaimers wherever they are.
fn strip_outlet_parts(text: &str) -> String {
    let mut text = text.trim().to_string();
    loop {
        let before = text.len();
        for prefix in PREFIXES.iter() {
            if let Some(found) = prefix.find(&text)
                && found.end() < text.len()
            {
                text.replace_range(..found.end(), "");
            }
        }
        if text.len() == before {
            break;
        }
    }
    for _ in 0..3 {
        let before = text.len();
        for footer in FOOTERS.iter() {
            if footer.may_match(&text)
                && let Cow::Owned(stripped) = footer.pattern.replace_all(&text, "")
            {
                text = stripped.trim_end().to_string();
            }
        }
        if text.len() == before {
            break;
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn story(text: &str) -> String {
        comparable(text).chars.into_iter().collect()
    }

    #[test]
    fn reprints_read_the_same_once_prefixes_and_footers_go() {
        let original = "证券时报记者获悉，央行今日开展2000亿元7天期逆回购操作，中标利率为1.50%。";
        let body = story(original);
        for reprint in [
            "【证券时报讯】证券时报记者获悉，央行今日开展2000亿元7天期逆回购操作，中标利率为1.50%。",
            "本报讯（记者 张三）证券时报记者获悉，央行今日开展2000亿元7天期逆回购操作，中标利率为1.50%。（来源：证券时报网）",
            "每经AI快讯，证券时报记者获悉，央行今日开展2000亿元7天期逆回购操作，中标利率为1.50%。（编辑 王一）",
            "中证网讯（记者 李四）证券时报记者获悉，央行今日开展2000亿元7天期逆回购操作，中标利率为1.50%。",
            "据证券时报报道，证券时报记者获悉，央行今日开展２０００亿元７天期逆回购操作，中标利率为1.5%。 责任编辑：王一",
            "【财联社11月20日电】证券时报记者获悉，央行今日开展2000亿元7天期逆回购操作，中标利率为1.50%。声明：本文仅供参考，不构成投资建议，据此操作风险自担。",
        ] {
            assert_eq!(story(reprint), body, "{reprint}");
            assert_eq!(
                comparable(reprint).numbers,
                ["1.5", "2000", "7"],
                "{reprint}"
            );
        }
    }

    #[test]
    fn an_excerpt_s_link_to_the_whole_text_goes() {
        let body = story("央行今日开展2000亿元7天期逆回购操作。");
        for excerpt in [
            "央行今日开展2000亿元7天期逆回购操作。（未完，点击查看全文）",
            "央行今日开展2000亿元7天期逆回购操作。阅读原文",
        ] {
            assert_eq!(story(excerpt), body, "{excerpt}");
        }
        // 更多 alone is a word of the story, not a link.
        assert_eq!(story("进口更多商品"), "进口更多商品");
    }

    #[test]
    fn full_width_forms_fold_to_ascii_and_nothing_else_does() {
        let by_character = |text: &str| -> String {
            text.chars()
                .map(|c| match c {
                    '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap(),
                    '\u{3000}' => ' ',
                    _ => c,
                })
                .collect()
        };
        for text in [
            "营收１２３４．５万元，同比增长２０％！",
            "\u{FF01}a\u{FF5E}\u{3000}b\u{FF00}\u{FF5F}\u{3001}\u{FFE5}\u{FF3F}\u{FF40}",
            "，开头与结尾，",
            "ASCII only, 中文、无全角",
            "",
        ] {
            assert_eq!(fold_width(text), by_character(text), "{text}");
        }
        assert!(matches!(fold_width("中文、无全角"), Cow::Borrowed(_)));
    }

    #[test]
    fn the_story_itself_is_kept() {
        let text = "新华社北京11月20日电（记者 李四）国家统计局20日发布数据，10月份社会消费品零售总额同比增长4.8%。";
        assert_eq!(
            story(text),
            "国家统计局20日发布数据10月份社会消费品零售总额同比增长48"
        );
        assert_eq!(comparable(text).numbers, ["10", "20", "4.8"]);
        // A sentence that merely says 电 or 讯 is not a prefix once past the start.
        assert_eq!(story("快讯：沪指涨1%"), "沪指涨1");
        assert_eq!(
            story("中国电信发布公告，营收增长。"),
            "中国电信发布公告营收增长"
        );
        assert_eq!(comparable("营收1,234.50万元").numbers, ["1234.5"]);
        let two = comparable("第一句。第二句！");
        assert_eq!(
            two.sentences()
                .map(|s| s.iter().collect::<String>())
                .collect::<Vec<_>>(),
            ["第一句", "第二句"]
        );
    }
}
