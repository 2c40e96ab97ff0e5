//! Text as the writer puts it out: bare `&` escaped, HTML entities XML lacks
//! decoded, characters XML forbids dropped, markup inside text elements kept
//! as text.
use super::writer::Writer;

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

impl Writer {
    pub(super) fn text(&mut self, raw: &str) {
        let from = self.out.len();
        let mut out = std::mem::take(&mut self.out);
        self.escape_text(raw, &mut out, false);
        self.out = out;
        if let Some(open) = self.stack.last_mut()
            && open.field.is_some()
        {
            open.captured.push_str(&unescape(&self.out[from..]));
        }
    }

    pub(super) fn cdata(&mut self, content: &str) {
        let mut clean = String::new();
        let content = match self.drop_forbidden(content, &mut clean) {
            true => clean.as_str(),
            false => content,
        };
        // The lexer ends a section at `]]>`, but one can appear where a
        // forbidden character was dropped: split the section there.
        self.out.push_str("<![CDATA[");
        self.out
            .push_str(&content.replace("]]>", "]]]]><![CDATA[>"));
        self.out.push_str("]]>");
        if let Some(open) = self.stack.last_mut()
            && open.field.is_some()
        {
            open.captured.push_str(content);
        }
    }

    /// Drops characters XML 1.0 forbids; true when `clean` holds the result.
    pub(super) fn drop_forbidden(&mut self, text: &str, clean: &mut String) -> bool {
        if !text.chars().any(is_forbidden) {
            return false;
        }
        clean.extend(text.chars().filter(|&c| {
            let forbidden = is_forbidden(c);
            self.repairs.forbidden_chars += usize::from(forbidden);
            !forbidden
        }));
        true
    }

    /// A tag inside a text element, written as the text it is.
    pub(super) fn escaped_markup(&mut self, raw: &str) {
        let escaped = escape_attribute(raw).replace('>', "&gt;");
        self.out.push_str(&escaped);
        if let Some(open) = self.stack.last_mut()
            && open.field.is_some()
        {
            open.captured.push_str(raw);
        }
    }

    /// Writes character data as XML: valid references kept, HTML entities
    /// decoded, a bare `&` or `<` escaped, forbidden characters dropped.
    pub(super) fn escape_text(&mut self, raw: &str, out: &mut String, in_attribute: bool) {
        let mut clean = String::new();
        let raw = match self.drop_forbidden(raw, &mut clean) {
            true => clean.as_str(),
            false => raw,
        };
        let mut rest = raw;
        while let Some(at) = rest.find(['&', '<', '>', '"']) {
            out.push_str(&rest[..at]);
            let special = rest.as_bytes()[at];
            rest = &rest[at + 1..];
            match special {
                b'<' => out.push_str("&lt;"),
                b'>' => out.push_str("&gt;"),
                b'"' if in_attribute => out.push_str("&quot;"),
                b'"' => out.push('"'),
                _ => match reference(rest) {
                    Some(Reference::Xml(len)) => {
                        out.push('&');
                        out.push_str(&rest[..len]);
                        rest = &rest[len..];
                    }
                    Some(Reference::Html(len, decoded)) => {
                        out.push_str(&escape_attribute(&decoded));
                        rest = &rest[len..];
                    }
                    None => {
                        self.repairs.bare_ampersands += 1;
                        out.push_str("&amp;");
                    }
                },
            }
        }
        out.push_str(rest);
    }
}
