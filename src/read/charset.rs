//! Turning feed bytes into UTF-8 text, by evidence rather than by label.
//!
//! Chinese sites still serve GB2312/GBK, and their labels lie: a feed that
//! says `gb2312` in its prolog is re-encoded to UTF-8 by a CMS upgrade and
//! keeps the old prolog; a feed that says UTF-8 is written by a GBK template.
//! So the order is: a byte-order mark, then the source's own `encoding`
//! override, then bytes that are valid UTF-8 (with non-ASCII, which no legacy
//! encoding produces by accident), then the label (HTTP charset, then XML
//! prolog) when it decodes without errors, then Firefox's detector
//! (chardetng, hinted by the feed's top-level domain) when its guess decodes
//! cleanly. GB2312 and GBK are read as GB18030, their superset, so no
//! character is lost. Whenever the label was overruled or bytes were
//! replaced, the decode says so in a warning.

use std::borrow::Cow;
use std::ops::Range;

use encoding_rs::{Encoding, GB18030, UTF_8};

/// Maps a charset label to its decoder, widening the GB family to GB18030.
pub fn encoding_for_label(label: &str) -> Option<&'static Encoding> {
    Encoding::for_label(label.trim().as_bytes()).map(widen)
}

fn widen(encoding: &'static Encoding) -> &'static Encoding {
    if encoding == encoding_rs::GBK {
        GB18030
    } else {
        encoding
    }
}

/// A body as text, with how it was read.
#[derive(Debug)]
pub struct Decoded<'a> {
    /// UTF-8 text whose XML prolog, if any, says `utf-8`, so an XML parser
    /// that honours the prolog does not decode it a second time.
    pub text: Cow<'a, str>,
    pub encoding: &'static Encoding,
    /// Why the result is not what the labels said, or what was lost.
    pub warning: Option<String>,
}

/// What the server and the document say about a body, and who to believe first.
#[derive(Debug, Clone, Copy, Default)]
pub struct Labels<'a> {
    /// The source's `encoding` override: the user knows best.
    pub forced: Option<&'static Encoding>,
    /// The charset of the Content-Type header.
    pub http: Option<&'a str>,
    /// The host the feed came from, whose top-level domain hints the detector
    /// (`.cn` makes GBK likelier than windows-1252).
    pub host: Option<&'a str>,
}

/// Decodes a feed body to UTF-8 by the order of the module doc.
pub fn decode<'a>(bytes: &'a [u8], labels: Labels<'_>) -> Decoded<'a> {
    if let Some((encoding, _)) = Encoding::for_bom(bytes) {
        // decode() strips the BOM of the encoding it finds.
        return finish(encoding.decode(bytes).0, encoding, None);
    }
    if let Some(forced) = labels.forced {
        let (text, had_errors) = forced.decode_without_bom_handling(bytes);
        let warning = had_errors.then(|| replaced_warning(forced));
        return finish(text, forced, warning);
    }
    let declared = labels
        .http
        .filter(|label| !label.trim().is_empty())
        .or_else(|| prolog_encoding(bytes))
        .or_else(|| meta_charset(bytes));
    let declared_encoding = declared.and_then(encoding_for_label);

    // encoding_rs validates UTF-8 faster than `str::from_utf8`.
    if let Some(text) = UTF_8.decode_without_bom_handling_and_without_replacement(bytes) {
        let warning = match (declared, declared_encoding) {
            (Some(label), Some(encoding)) if encoding != UTF_8 && !text.is_ascii() => {
                Some(format!(
                    "the feed says its charset is {label}, but its bytes are UTF-8: read as UTF-8"
                ))
            }
            _ => None,
        };
        return finish(text, UTF_8, warning);
    }

    if let Some(encoding) = declared_encoding
        && encoding != UTF_8
        && let (text, false) = encoding.decode_without_bom_handling(bytes)
    {
        return finish(text, encoding, None);
    }

    // The label is missing, unknown or wrong: look at the bytes.
    let (utf8_lossy, _) = UTF_8.decode_without_bom_handling(bytes);
    if mostly_utf8(&utf8_lossy) {
        return finish(utf8_lossy, UTF_8, Some(replaced_warning(UTF_8)));
    }
    let guess = detect(bytes, labels.host);
    if let (text, false) = guess.decode_without_bom_handling(bytes) {
        let warning = match declared {
            Some(label) => format!(
                "the feed says its charset is {label}, but its bytes are not: detected {}",
                guess.name()
            ),
            None => format!("the feed declares no charset: detected {}", guess.name()),
        };
        return finish(text, guess, Some(warning));
    }
    // Nothing reads cleanly: the label's reading (else the guess) costs the
    // fewest characters we can know of.
    let encoding = declared_encoding.unwrap_or(guess);
    let (text, _) = encoding.decode_without_bom_handling(bytes);
    finish(text, encoding, Some(replaced_warning(encoding)))
}

fn finish<'a>(
    text: Cow<'a, str>,
    encoding: &'static Encoding,
    warning: Option<String>,
) -> Decoded<'a> {
    Decoded {
        text: declare_utf8(text),
        encoding,
        warning,
    }
}

fn replaced_warning(encoding: &'static Encoding) -> String {
    format!(
        "bytes that are not valid {} were replaced with U+FFFD",
        encoding.name()
    )
}

/// UTF-8 with a few broken bytes (a stray Latin-1 byte, a character cut in
/// half) rather than another encoding: valid multi-byte characters far
/// outnumber the replacements. Legacy CJK bytes read as UTF-8 give the
/// opposite: nearly every non-ASCII byte pair is invalid.
fn mostly_utf8(lossy: &str) -> bool {
    let (mut valid, mut replaced) = (0usize, 0usize);
    for c in lossy.chars().filter(|c| !c.is_ascii()) {
        if c == char::REPLACEMENT_CHARACTER {
            replaced += 1;
        } else {
            valid += 1;
        }
    }
    valid >= 4 * replaced.max(1)
}

/// Firefox's guess for bytes that are not UTF-8.
fn detect(bytes: &[u8], host: Option<&str>) -> &'static Encoding {
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    detector.feed(bytes, true);
    let tld = host.and_then(|host| host.rsplit('.').next()).filter(|tld| {
        !tld.is_empty()
            && tld
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    });
    widen(detector.guess(tld.map(str::as_bytes), chardetng::Utf8Detection::Deny))
}

/// Where the `<?xml ...?>` prolog is, `?>` included, when it starts within
/// the first 512 bytes.
fn prolog(bytes: &[u8]) -> Option<Range<usize>> {
    let head = &bytes[..bytes.len().min(512)];
    let start = find(head, b"<?xml")?;
    let end = start + find(&head[start..], b"?>")? + 2;
    Some(start..end)
}

/// The `encoding` pseudo-attribute of an `<?xml ...?>` prolog, if there is one.
fn prolog_encoding(bytes: &[u8]) -> Option<&str> {
    let range = prolog(bytes)?;
    let prolog = std::str::from_utf8(&bytes[range.start..range.end - 2]).ok()?;
    let after = &prolog[prolog.find("encoding")? + "encoding".len()..];
    let after = after.trim_start().strip_prefix('=')?.trim_start();
    let quote = after.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value = &after[1..];
    Some(&value[..value.find(quote)?])
}

/// The charset an HTML page declares in a `<meta charset>` or `<meta
/// http-equiv="Content-Type" content="...; charset=...">` within its first
/// 1024 bytes, where browsers look for it too.
fn meta_charset(bytes: &[u8]) -> Option<&str> {
    let head = &bytes[..bytes.len().min(1024)];
    let mut rest = head;
    while let Some(start) = find_ignoring_ascii_case(rest, b"<meta") {
        let tag = &rest[start..];
        let tag = &tag[..find(tag, b">").unwrap_or(tag.len())];
        if let Some(at) = find_ignoring_ascii_case(tag, b"charset") {
            let value = tag[at + "charset".len()..]
                .trim_ascii_start()
                .strip_prefix(b"=")?
                .trim_ascii_start();
            let value = value
                .strip_prefix(b"\"")
                .or(value.strip_prefix(b"'"))
                .unwrap_or(value);
            let end = value
                .iter()
                .position(|b| {
                    matches!(b, b'"' | b'\'' | b';' | b'/' | b'>') || b.is_ascii_whitespace()
                })
                .unwrap_or(value.len());
            return std::str::from_utf8(&value[..end])
                .ok()
                .filter(|label| !label.is_empty());
        }
        rest = &rest[start + "<meta".len()..];
    }
    None
}

fn find_ignoring_ascii_case(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window.eq_ignore_ascii_case(needle))
}

/// Rewrites a prolog that names another encoding to say utf-8, now that the
/// text is UTF-8. The whole prolog is replaced, so that a second (or
/// malformed) `encoding` in it cannot make the XML parser decode again.
fn declare_utf8(text: Cow<'_, str>) -> Cow<'_, str> {
    let Some(range) = prolog(text.as_bytes()) else {
        return text;
    };
    let names_another = text[range.clone()].contains("encoding")
        && !prolog_encoding(text.as_bytes())
            .is_some_and(|label| label.eq_ignore_ascii_case("utf-8"));
    if !names_another {
        return text;
    }
    let mut utf8 = String::with_capacity(text.len());
    utf8.push_str(&text[..range.start]);
    utf8.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>");
    utf8.push_str(&text[range.end..]);
    utf8.into()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(haystack, needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TITLE: &str = "证监会：深化资本市场改革 — 央行逆回购";

    fn feed(declared: Option<&str>) -> String {
        let prolog = declared
            .map(|label| format!("<?xml version=\"1.0\" encoding=\"{label}\"?>"))
            .unwrap_or_default();
        format!(
            "{prolog}<rss><channel><title>{TITLE}</title><item><title>{TITLE}，沪深两市成交额突破万亿元</title></item></channel></rss>"
        )
    }

    fn gbk(text: &str) -> Vec<u8> {
        GB18030.encode(text).0.into_owned()
    }

    fn labels() -> Labels<'static> {
        Labels::default()
    }

    #[test]
    fn an_html_page_is_read_in_the_charset_its_meta_declares() {
        let (page, _, _) = encoding_rs::GBK.encode(
            "<html><head><META http-equiv=\"Content-Type\" content=\"text/html; charset=gb2312\">\
             </head><body>证券时报</body></html>",
        );
        let decoded = decode(&page, Labels::default());
        assert_eq!(decoded.encoding, encoding_rs::GB18030);
        assert!(decoded.text.contains("证券时报"));
        assert_eq!(meta_charset(b"<meta charset='GBK'/>"), Some("GBK"));
        assert_eq!(meta_charset(b"<meta name=x><p>charset=gbk</p>"), None);
    }

    #[test]
    fn prolog_charset_is_honoured_and_rewritten() {
        for declared in ["GB18030", "gbk", "GB2312"] {
            let bytes = gbk(&feed(Some(declared)));
            let decoded = decode(&bytes, labels());
            assert_eq!(decoded.encoding, GB18030, "{declared}");
            assert!(decoded.text.contains(TITLE), "{declared}: {}", decoded.text);
            assert!(
                decoded
                    .text
                    .starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>"),
                "{}",
                decoded.text
            );
            assert_eq!(decoded.warning, None);
        }
    }

    #[test]
    fn http_charset_beats_the_prolog_and_override_beats_both() {
        let bytes = gbk(&feed(Some("big5")));
        let decoded = decode(
            &bytes,
            Labels {
                http: Some("gbk"),
                ..labels()
            },
        );
        assert!(decoded.text.contains(TITLE));
        let decoded = decode(
            &bytes,
            Labels {
                forced: Some(GB18030),
                http: Some("utf-8"),
                ..labels()
            },
        );
        assert!(decoded.text.contains(TITLE));
    }

    #[test]
    fn a_bom_wins_and_is_dropped() {
        let mut bytes = vec![0xEF, 0xBB, 0xBF];
        bytes.extend_from_slice(feed(None).as_bytes());
        let decoded = decode(
            &bytes,
            Labels {
                forced: Some(GB18030),
                http: Some("gbk"),
                host: None,
            },
        );
        assert_eq!(decoded.encoding, UTF_8);
        assert!(decoded.text.starts_with("<rss>"));
    }

    #[test]
    fn utf8_bytes_under_a_gb2312_label_are_utf8() {
        let xml = feed(Some("gb2312"));
        let decoded = decode(xml.as_bytes(), labels());
        assert_eq!(decoded.encoding, UTF_8);
        assert!(decoded.text.contains(TITLE), "{}", decoded.text);
        let warning = decoded.warning.unwrap();
        assert!(
            warning.contains("gb2312") && warning.contains("UTF-8"),
            "{warning}"
        );
        // Pure ASCII under any ASCII-compatible label is the same text: no warning.
        let ascii = "<?xml version=\"1.0\" encoding=\"gb2312\"?><rss/>";
        assert_eq!(decode(ascii.as_bytes(), labels()).warning, None);
    }

    #[test]
    fn gbk_bytes_under_a_utf8_label_or_none_are_detected() {
        for declared in [Some("utf-8"), None] {
            let bytes = gbk(&feed(declared));
            for host in [Some("news.stcn.com"), Some("example.com"), None] {
                let decoded = decode(&bytes, Labels { host, ..labels() });
                assert_eq!(decoded.encoding, GB18030, "{declared:?} {host:?}");
                assert!(decoded.text.contains(TITLE), "{}", decoded.text);
                assert!(!decoded.text.contains('\u{FFFD}'));
                assert!(decoded.warning.unwrap().contains("gb18030"));
            }
        }
        let bytes = gbk(&feed(None));
        let decoded = decode(
            &bytes,
            Labels {
                http: Some("utf-8"),
                ..labels()
            },
        );
        assert!(decoded.text.contains(TITLE));
    }

    #[test]
    fn a_stray_byte_in_utf8_costs_one_character() {
        let mut bytes = feed(None).into_bytes();
        let at = bytes.len() - 30;
        bytes.insert(at, 0xE9);
        let decoded = decode(&bytes, labels());
        assert_eq!(decoded.encoding, UTF_8);
        assert!(decoded.text.contains(TITLE));
        assert_eq!(decoded.text.matches('\u{FFFD}').count(), 1);
        assert!(decoded.warning.unwrap().contains("U+FFFD"));
    }
}
