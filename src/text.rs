//! Small text helpers shared by the stages that turn feed text into model text.

use std::sync::LazyLock;

use regex::Regex;

/// Plain text of an HTML fragment: tags dropped, entities decoded, whitespace
/// collapsed to single spaces, characters XML forbids removed.
pub fn html_to_text(html: &str) -> String {
    static TAG: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?s)<!--.*?-->|<[a-zA-Z/!][^>]*>").expect("valid tag regex"));
    let without_tags = TAG.replace_all(html, " ");
    collapse_whitespace(&html_escape::decode_html_entities(&without_tags))
}

/// Single spaces between words, no leading or trailing space, no control characters.
pub fn collapse_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Removes the characters XML 1.0 forbids (C0 controls other than tab, newline and
/// carriage return; U+FFFE and U+FFFF), so any text can be written into XML output.
pub fn xml_safe(text: &str) -> std::borrow::Cow<'_, str> {
    let forbidden = |c: char| {
        (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{FFFE}' | '\u{FFFF}')
    };
    if text.contains(forbidden) {
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
    fn control_characters_never_survive() {
        assert_eq!(xml_safe("a\u{0}b\u{1b}c\td\u{FFFF}"), "abc\td");
        assert_eq!(collapse_whitespace(" a\u{7}\n\n b "), "a b");
    }

    #[test]
    fn truncation_respects_characters() {
        assert_eq!(truncate_chars("中国同中亚五国", 3), "中国同…");
        assert_eq!(truncate_chars("短", 3), "短");
    }
}
