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

use std::sync::LazyLock;

use regex::Regex;

/// The comparable form of an article's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparable {
    /// Ideographs, letters (lowercased) and digits, in order; nothing else.
    pub chars: Vec<char>,
    /// Every number stated, normalized (`1,200.50` → `1200.5`), sorted.
    pub numbers: Vec<String>,
}

/// Reads `text` (plain text, whitespace collapsed) into its comparable form.
pub fn comparable(text: &str) -> Comparable {
    let folded = fold_width(text);
    let story = strip_outlet_parts(&folded);
    let story = NUMBER.replace_all(&story, |number: &regex::Captures| normalize_number(&number[0]));
    let mut numbers: Vec<String> = NUMBER
        .find_iter(&story)
        .map(|number| number.as_str().to_string())
        .collect();
    numbers.sort();
    let chars = story
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    Comparable { chars, numbers }
}

/// Full-width ASCII forms and the ideographic space to their ASCII selves.
fn fold_width(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            _ => c,
        })
        .collect()
}

/// A number as stated: digits with thousands separators, and a fraction.
static NUMBER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?").expect("valid"));

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

/// The outlet's prefix at the start (applied while one matches: 【财联社11月20日电】
/// then 据证券时报报道，), then its footers and disclaimers wherever they are.
fn strip_outlet_parts(text: &str) -> String {
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
    static FOOTERS: LazyLock<Vec<Regex>> = LazyLock::new(|| {
        [
            // （来源：证券时报网） （责任编辑：王一） (原标题：…)
            r"[（(]\s*(?:来源|文章来源|稿件来源|责任编辑|编辑|校对|审核|作者|记者|原标题|图片来源)\s*[：:][^）)]{0,80}[）)]",
            // 责任编辑：王一 校对：李二 来源：新浪财经 at the end of the text
            r"(?:责任编辑|编辑|校对|审核|来源|文章来源|稿件来源|原标题|图片来源)\s*[：:][^。！？!?]{0,60}$",
            // Sentences of a disclaimer, wherever they are.
            r"[^。！？!?]*(?:不构成[^。！？!?]{0,12}(?:投资)?建议|风险自担|仅供参考|据此操作|投资有风险|入市需谨慎|转载请注明|未经[^。！？!?]{0,10}授权)[^。！？!?]*[。！？!?]?",
            // A disclaimer or notice from its marker to the end.
            r"(?:声明|免责声明|风险提示|特别提示|版权声明)\s*[：:].*$",
        ]
        .iter()
        .map(|pattern| Regex::new(pattern).expect("valid footer pattern"))
        .collect()
    });
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
            text = footer.replace_all(&text, "").trim_end().to_string();
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
            "据证券时报报道，证券时报记者获悉，央行今日开展２０００亿元７天期逆回购操作，中标利率为1.5%。 责任编辑：王一",
            "【财联社11月20日电】证券时报记者获悉，央行今日开展2000亿元7天期逆回购操作，中标利率为1.50%。声明：本文仅供参考，不构成投资建议，据此操作风险自担。",
        ] {
            assert_eq!(story(reprint), body, "{reprint}");
            assert_eq!(comparable(reprint).numbers, ["1.5", "2000", "7"], "{reprint}");
        }
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
        assert_eq!(story("中国电信发布公告，营收增长。"), "中国电信发布公告营收增长");
        assert_eq!(comparable("营收1,234.50万元").numbers, ["1234.5"]);
    }
}
