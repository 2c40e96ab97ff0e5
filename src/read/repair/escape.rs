//! Text as the writer puts it out: bare `&` escaped, HTML entities XML lacks
//! decoded, characters XML forbids dropped, markup inside text elements kept
//! as text; Atom 0.3's base64 content decoded.
use base64::Engine as _;

use super::writer::Writer;
use super::xml::{Reference, escape_attribute, is_forbidden, reference, unescape};

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

    /// Decodes an Atom 0.3 `mode="base64"` content written out from `from`,
    /// as the text it stands for; content that does not decode stays.
    pub(super) fn decode_base64(&mut self, from: usize) {
        let encoded: String = unescape(&self.out[from..])
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        let cdata_free = encoded
            .strip_prefix("<![CDATA[")
            .and_then(|e| e.strip_suffix("]]>"))
            .unwrap_or(&encoded);
        match base64::engine::general_purpose::STANDARD.decode(cdata_free) {
            Ok(bytes) => {
                self.out.truncate(from);
                let decoded = String::from_utf8_lossy(&bytes).into_owned();
                let mut out = std::mem::take(&mut self.out);
                self.escape_text(&decoded, &mut out, false);
                self.out = out;
            }
            Err(_) => self.repairs.base64_failed += 1,
        }
    }
}
