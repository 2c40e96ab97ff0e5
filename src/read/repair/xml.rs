//! What XML text may hold: references (`&amp;`, `&#20013;`, HTML's named
//! ones), characters XML forbids, and escaping and unescaping of what the
//! writer puts out.

/// A reference after `&`: its length up to and including `;`.
pub(super) enum Reference {
    /// One XML knows: `&amp;`, `&#20013;`, `&#x4E2D;`.
    Xml(usize),
    /// An HTML entity XML lacks (`&nbsp;`), decoded.
    Html(usize, String),
}

pub(super) fn reference(after_ampersand: &str) -> Option<Reference> {
    let end = after_ampersand.bytes().take(32).position(|b| b == b';')?;
    let body = &after_ampersand[..end];
    if let Some(number) = body.strip_prefix('#') {
        let value = match number.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => number.parse().ok()?,
        };
        return char::from_u32(value)
            .filter(|&c| !is_forbidden(c))
            .map(|_| Reference::Xml(end + 1));
    }
    if !body.chars().all(|c| c.is_ascii_alphanumeric()) || body.is_empty() {
        return None;
    }
    if matches!(body, "amp" | "lt" | "gt" | "quot" | "apos") {
        return Some(Reference::Xml(end + 1));
    }
    let entity = &after_ampersand[..end + 1];
    let decoded = html_escape::decode_html_entities(&format!("&{entity}")).into_owned();
    (decoded != format!("&{entity}")).then(|| Reference::Html(end + 1, decoded))
}

pub(super) fn is_forbidden(c: char) -> bool {
    matches!(c, '\0'..='\u{8}' | '\u{B}' | '\u{C}' | '\u{E}'..='\u{1F}' | '\u{FFFE}' | '\u{FFFF}')
}

pub(super) fn escape_attribute(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '"' => out.push_str("&quot;"),
            c if is_forbidden(c) => {}
            c => out.push(c),
        }
    }
    out
}

/// Text of XML character data that this module wrote (so well-formed).
pub(super) fn unescape(escaped: &str) -> String {
    match quick_xml::escape::unescape(escaped) {
        Ok(text) => text.into_owned(),
        Err(_) => escaped.to_string(),
    }
}
