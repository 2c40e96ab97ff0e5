//! Turning feed bytes into UTF-8 text.
//!
//! Chinese sites still serve GB2312/GBK, often with a charset in only one of the
//! HTTP header and the XML prolog, and sometimes a wrong one in both. The order
//! here is the one browsers use: a byte-order mark wins, then the source's own
//! `encoding` override, then the HTTP charset, then the XML prolog, then UTF-8.
//! GB2312 and GBK are read as GB18030, their superset, so no character is lost.

use std::borrow::Cow;

use encoding_rs::{Encoding, GB18030, UTF_8};

/// Maps a charset label to its decoder, widening the GB family to GB18030.
pub fn encoding_for_label(label: &str) -> Option<&'static Encoding> {
    let encoding = Encoding::for_label(label.trim().as_bytes())?;
    Some(if encoding == encoding_rs::GBK {
        GB18030
    } else {
        encoding
    })
}

/// Decodes a feed body to UTF-8, returning the text and the encoding used.
///
/// The XML prolog of the result says `utf-8`, so an XML parser that honours the
/// prolog does not decode the text a second time.
pub fn decode<'a>(
    bytes: &'a [u8],
    forced: Option<&'static Encoding>,
    http_charset: Option<&str>,
) -> (Cow<'a, str>, &'static Encoding) {
    let encoding = Encoding::for_bom(bytes)
        .map(|(encoding, _)| encoding)
        .or(forced)
        .or_else(|| http_charset.and_then(encoding_for_label))
        .or_else(|| prolog_encoding(bytes).and_then(encoding_for_label))
        .unwrap_or(UTF_8);
    // decode() strips the BOM of the encoding it was handed, or any BOM it finds.
    let (text, used, _) = encoding.decode(bytes);
    (declare_utf8(text), used)
}

/// The `encoding` pseudo-attribute of an `<?xml ...?>` prolog, if there is one.
fn prolog_encoding(bytes: &[u8]) -> Option<&str> {
    let head = &bytes[..bytes.len().min(512)];
    let start = find(head, b"<?xml")?;
    let end = start + find(&head[start..], b"?>")?;
    let prolog = std::str::from_utf8(&head[start..end]).ok()?;
    let after = &prolog[prolog.find("encoding")? + "encoding".len()..];
    let after = after.trim_start().strip_prefix('=')?.trim_start();
    let quote = after.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value = &after[1..];
    Some(&value[..value.find(quote)?])
}

/// Rewrites the prolog's encoding to utf-8, now that the text is UTF-8.
fn declare_utf8(text: Cow<'_, str>) -> Cow<'_, str> {
    match prolog_encoding(text.as_bytes()) {
        // The prolog is the first thing in the text, so the first match is its label.
        Some(label) if !label.eq_ignore_ascii_case("utf-8") => {
            text.replacen(label, "utf-8", 1).into()
        }
        _ => text,
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The charset parameter of a Content-Type header value.
pub fn charset_of_content_type(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches('"'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TITLE: &str = "证监会：深化资本市场改革 — 央行逆回购";

    fn gb_feed(declared: &str) -> Vec<u8> {
        let xml = format!(
            "<?xml version=\"1.0\" encoding=\"{declared}\"?><rss><title>{TITLE}</title></rss>"
        );
        GB18030.encode(&xml).0.into_owned()
    }

    #[test]
    fn prolog_charset_is_honoured_and_rewritten() {
        for declared in ["GB18030", "gbk", "GB2312"] {
            let bytes = gb_feed(declared);
            let (text, used) = decode(&bytes, None, None);
            assert_eq!(used, GB18030, "{declared}");
            assert!(text.contains(TITLE), "{declared}: {text}");
            assert!(
                text.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>"),
                "{text}"
            );
            assert!(!text.contains('\u{FFFD}'));
        }
    }

    #[test]
    fn http_charset_beats_the_prolog_and_override_beats_both() {
        let bytes = gb_feed("utf-8");
        let (text, _) = decode(&bytes, None, Some("gbk"));
        assert!(text.contains(TITLE));
        let (text, _) = decode(&bytes, Some(GB18030), Some("utf-8"));
        assert!(text.contains(TITLE));
    }

    #[test]
    fn a_bom_wins_and_is_dropped() {
        let mut bytes = vec![0xEF, 0xBB, 0xBF];
        bytes.extend_from_slice(format!("<rss><title>{TITLE}</title></rss>").as_bytes());
        let (text, used) = decode(&bytes, Some(GB18030), Some("gbk"));
        assert_eq!(used, UTF_8);
        assert!(text.starts_with("<rss>"));
    }

    #[test]
    fn content_type_charset() {
        assert_eq!(
            charset_of_content_type("application/rss+xml; charset=\"GBK\""),
            Some("GBK")
        );
        assert_eq!(charset_of_content_type("text/xml"), None);
    }
}
