//! Small text helpers shared by the stages that turn feed text into model text.

/// Plain text of an HTML fragment: tags dropped, entities decoded, whitespace
/// collapsed to single spaces, characters XML forbids removed.
pub fn html_to_text(html: &str) -> String {
    html_text_prefix(html, usize::MAX)
}

/// The start of [`html_to_text`]: it stops once the text is longer than
/// `max_chars` characters, so a summary of a long article costs no more than
/// the summary. Entities never span a tag, so each stretch between two tags is
/// decoded on its own.
pub fn html_text_prefix(html: &str, max_chars: usize) -> String {
    let mut text = String::new();
    let mut chars = 0;
    for stretch in text_stretches(html) {
        for word in words(&html_escape::decode_html_entities(stretch)) {
            if chars > max_chars {
                return text;
            }
            if !text.is_empty() {
                text.push(' ');
                chars += 1;
            }
            text.push_str(word);
            chars += word.chars().count();
        }
    }
    text
}

/// The text between the tags (`<` and a letter, `/` or `!`, up to `>`) and
/// comments (`<!--` to `-->`) of an HTML fragment; a `<` that opens neither is
/// text. A hand-written scan rather than a regex split, which was a tenth of
/// the cost of normalizing an entry; it stays linear in the input, as every
/// search it starts is known to succeed.
fn text_stretches(html: &str) -> impl Iterator<Item = &str> {
    let last_tag_end = html.rfind('>');
    // Found on the first comment: most fragments have none, and looking for
    // one costs a pass over the whole fragment, of which a summary needs the start.
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

/// The first `max_chars` characters, with an ellipsis when something was cut.
pub fn truncate_chars(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", text[..cut].trim_end()),
        None => text.to_string(),
    }
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
    }

    #[test]
    fn a_text_prefix_is_the_start_of_the_whole_text() {
        let html = "<p>证监会&nbsp;表示</p><p>A &amp; B</p>".repeat(50);
        let whole = html_to_text(&html);
        for max_chars in [0, 1, 3, 10, 200] {
            let prefix = html_text_prefix(&html, max_chars);
            assert!(whole.starts_with(&prefix));
            assert!(prefix.chars().count() > max_chars);
            assert_eq!(
                truncate_chars(&prefix, max_chars),
                truncate_chars(&whole, max_chars)
            );
        }
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
    fn truncation_respects_characters() {
        assert_eq!(truncate_chars("中国同中亚五国", 3), "中国同…");
        assert_eq!(truncate_chars("短", 3), "短");
    }
}
