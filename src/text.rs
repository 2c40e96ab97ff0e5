//! Small text helpers shared by the stages that turn feed text into model text.

use std::borrow::Cow;

/// Plain text of an HTML fragment: tags dropped, entities decoded, whitespace
/// collapsed to single spaces, characters XML forbids removed. Block elements
/// (paragraphs, line breaks, list items, cells) separate words; inline ones do
/// not, so `平安<a>银行</a>表示` stays one run of text that search can match
/// across the link. Entities never span a tag, so each stretch between two
/// tags is decoded on its own.
pub fn html_to_text(html: &str) -> String {
    let mut joined = String::with_capacity(html.len());
    let mut markup_start = 0;
    for stretch in text_stretches(html) {
        let start = stretch.as_ptr() as usize - html.as_ptr() as usize;
        if breaks_text(&html[markup_start..start]) {
            joined.push(' ');
        }
        joined.push_str(&html_escape::decode_html_entities(stretch));
        markup_start = start + stretch.len();
    }
    collapse_whitespace(&joined)
}

/// Whether markup between two stretches of text has a tag that starts a new
/// block or line: text on either side of it is two words.
fn breaks_text(markup: &str) -> bool {
    const BREAKING: &[&str] = &[
        "address",
        "article",
        "aside",
        "blockquote",
        "br",
        "dd",
        "div",
        "dl",
        "dt",
        "figcaption",
        "figure",
        "footer",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "img",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "td",
        "th",
        "tr",
        "ul",
    ];
    markup.split('<').skip(1).any(|tag| {
        let name = tag.trim_start_matches('/');
        let end = name
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(name.len());
        BREAKING
            .iter()
            .any(|b| b.eq_ignore_ascii_case(&name[..end]))
    })
}

/// The text between the tags (`<` and a letter, `/` or `!`, up to `>`) and
/// comments (`<!--` to `-->`) of an HTML fragment; a `<` that opens neither is
/// text. A hand-written scan rather than a regex split, which costs far more
/// per entry (docs/performance.md); it stays linear in the input, as every
/// search it starts is known to succeed.
fn text_stretches(html: &str) -> impl Iterator<Item = &str> {
    let last_tag_end = html.rfind('>');
    // Found on the first comment: most fragments have none.
    let last_comment_end = std::cell::OnceCell::new();
    let markup_end = move |start: usize| {
        if html[start..].starts_with("<!--")
            && *last_comment_end.get_or_init(|| html.rfind("-->")) >= Some(start + 4)
        {
            return html[start + 4..].find("-->").map(|end| start + 4 + end + 3);
        }
        let opens = html
            .as_bytes()
            .get(start + 1)
            .is_some_and(|&b| b.is_ascii_alphabetic() || b == b'/' || b == b'!');
        (opens && last_tag_end >= Some(start + 2))
            .then(|| html[start + 2..].find('>'))
            .flatten()
            .map(|end| start + 2 + end + 1)
    };
    let mut stretch_start = Some(0);
    let mut search_from = 0;
    std::iter::from_fn(move || {
        let from = stretch_start?;
        while let Some(offset) = html[search_from..].find('<') {
            let start = search_from + offset;
            search_from = start + 1;
            if let Some(end) = markup_end(start) {
                stretch_start = Some(end);
                search_from = end;
                return Some(&html[from..start]);
            }
        }
        stretch_start = None;
        Some(&html[from..])
    })
}

/// Single spaces between words, no leading or trailing space, no control characters.
pub fn collapse_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in words(text) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// The words of a text: what whitespace and control characters separate.
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
}

/// Removes the characters XML 1.0 forbids (C0 controls other than tab, newline and
/// carriage return; U+FFFE and U+FFFF), so any text can be written into XML output.
pub fn xml_safe(text: &str) -> std::borrow::Cow<'_, str> {
    let forbidden = |c: char| {
        (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{FFFE}' | '\u{FFFF}')
    };
    // On bytes, without decoding, in passes the compiler vectorizes: a control
    // character is one byte below 0x20, U+FFFE and U+FFFF are three bytes each.
    let bytes = text.as_bytes();
    let has_control = bytes.iter().fold(false, |found, &b| {
        found | (b < b' ' && b != b'\t' && b != b'\n' && b != b'\r')
    });
    let has_noncharacter = || {
        ["\u{FFFE}", "\u{FFFF}"]
            .iter()
            .any(|c| memchr::memmem::find(bytes, c.as_bytes()).is_some())
    };
    if has_control || has_noncharacter() {
        text.chars()
            .filter(|c| !forbidden(*c))
            .collect::<String>()
            .into()
    } else {
        text.into()
    }
}

/// Escapes text for XML content and attributes, dropping characters XML
/// forbids: what the Atom feeds, OPML and the workload's feeds write.
pub fn xml_escape(text: &str) -> String {
    let text = xml_safe(text);
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// A duration as people write it, to the second: `33m 36s`.
pub fn to_the_second(duration: std::time::Duration) -> String {
    humantime::format_duration(std::time::Duration::from_secs(duration.as_secs())).to_string()
}

/// At most `max_chars` characters: the text (borrowed), or its start and an
/// ellipsis when something was cut. One pass over the characters kept: the
/// writer cuts every new article's summary with it.
pub fn truncate_chars(text: &str, max_chars: usize) -> Cow<'_, str> {
    let mut starts = text.char_indices().map(|(at, _)| at);
    // The ellipsis is one of the `max_chars`.
    let cut = starts.nth(max_chars.saturating_sub(1));
    let whole = match max_chars {
        0 => cut.is_none(),
        _ => starts.next().is_none(),
    };
    if whole {
        return Cow::Borrowed(text);
    }
    Cow::Owned(format!("{}…", text[..cut.unwrap_or(0)].trim_end()))
}

/// Where `needle` first occurs in `haystack`, ignoring case (as the search
/// index does), as a byte range of `haystack`.
pub fn find_ignoring_case(haystack: &str, needle: &str) -> Option<std::ops::Range<usize>> {
    let wanted: Vec<char> = needle.chars().flat_map(char::to_lowercase).collect();
    if wanted.is_empty() {
        return None;
    }
    haystack.char_indices().find_map(|(start, _)| {
        let mut rest = haystack[start..].char_indices();
        let mut matched = 0;
        while matched < wanted.len() {
            let (_, c) = rest.next()?;
            for lower in c.to_lowercase() {
                if wanted.get(matched) != Some(&lower) {
                    return None;
                }
                matched += 1;
            }
        }
        let end = rest
            .next()
            .map_or(haystack.len(), |(offset, _)| start + offset);
        Some(start..end)
    })
}

/// Characters of context a search passage shows before and after the match.
const PASSAGE_BEFORE: usize = 30;
const PASSAGE_AFTER: usize = 60;

/// The passage of `text` around the first occurrence of `query` (ignoring
/// case), the match between `【` and `】`, `…` where the text goes on: what a
/// search shows so the reader sees why an article matched.
pub fn passage(text: &str, query: &str) -> Option<String> {
    let found = find_ignoring_case(text, query)?;
    let before = &text[..found.start];
    let after = &text[found.end..];
    let start = before
        .char_indices()
        .rev()
        .nth(PASSAGE_BEFORE - 1)
        .map_or(0, |(offset, _)| offset);
    let end = after
        .char_indices()
        .nth(PASSAGE_AFTER)
        .map_or(after.len(), |(offset, _)| offset);
    Some(format!(
        "{}{}【{}】{}{}",
        if start > 0 { "…" } else { "" },
        &before[start..],
        &text[found.clone()],
        &after[..end],
        if end < after.len() { "…" } else { "" },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_becomes_plain_text() {
        assert_eq!(
            html_to_text("<p>证监会&nbsp;表示&amp;</p>\n<!-- x --><br/>  A &lt;b&gt;"),
            "证监会 表示& A <b>"
        );
        assert_eq!(
            html_to_text("<p>平安<a class=\"trsHotWords\">银行</a>表示</p><p>次段<br>换行</p>"),
            "平安银行表示 次段 换行"
        );
        assert_eq!(html_to_text("Hello <b>world</b>!<li>x"), "Hello world! x");
    }

    #[test]
    fn text_stretches_are_what_the_tag_pattern_leaves() {
        let pattern = regex::Regex::new(r"(?s)<!--.*?-->|<[a-zA-Z/!][^>]*>").unwrap();
        for html in [
            "",
            "plain",
            "<p>a</p>b<br/>c",
            "a < b > c",
            "1<2 and 3>2",
            "<!-- x -->y<!---->z<!-->w",
            "<!-- never closed <b>bold</b>",
            "<!-- never closed at all",
            "<a href='x>y'>t</a>",
            "<<<p>>>",
            "<\n>x<p\nclass=a>y",
            "<p>中文<img src=\"/a.png\">末</p><",
            "x<",
            "x<!",
            "<!--->",
        ] {
            let expected: Vec<&str> = pattern.split(html).filter(|s| !s.is_empty()).collect();
            let got: Vec<&str> = text_stretches(html).filter(|s| !s.is_empty()).collect();
            assert_eq!(got, expected, "{html:?}");
        }
    }

    #[test]
    fn control_characters_never_survive() {
        assert_eq!(xml_safe("a\u{0}b\u{1b}c\td\u{FFFF}"), "abc\td");
        // Full-width punctuation shares the lead byte of U+FFFE and U+FFFF.
        assert_eq!(xml_safe("中文，标点\u{FFFE}！\u{FFFF}"), "中文，标点！");
        assert!(matches!(
            xml_safe("中文，标点！\u{FFEE}"),
            std::borrow::Cow::Borrowed(_)
        ));
        assert_eq!(collapse_whitespace(" a\u{7}\n\n b "), "a b");
    }

    #[test]
    fn matches_ignore_case_and_keep_characters_whole() {
        assert_eq!(find_ignoring_case("平安银行ETF上涨", "etf"), Some(12..15));
        assert_eq!(find_ignoring_case("平安银行", "银行"), Some(6..12));
        assert_eq!(find_ignoring_case("平安银行", "证券"), None);
        assert_eq!(find_ignoring_case("abc", ""), None);
    }

    #[test]
    fn a_passage_shows_the_match_in_its_context() {
        assert_eq!(passage("央行宣布降准", "降准").unwrap(), "央行宣布【降准】");
        let long = format!("{}关键词{}", "前".repeat(100), "后".repeat(100));
        let shown = passage(&long, "关键词").unwrap();
        assert_eq!(
            shown,
            format!("…{}【关键词】{}…", "前".repeat(30), "后".repeat(60))
        );
        assert_eq!(passage("Hello World", "WORLD").unwrap(), "Hello 【World】");
    }

    #[test]
    fn truncation_respects_characters() {
        assert_eq!(truncate_chars("中国同中亚五国", 3), "中国…");
        assert_eq!(truncate_chars("中国同", 3), "中国同");
        assert_eq!(truncate_chars("短", 3), "短");
    }
}
