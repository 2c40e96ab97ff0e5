//! Feed bytes to a feed-rs feed: decode the charset, then parse.
//!
//! Pure: no network, no database. feed-rs reads RSS 0.9x/1.0/2.0, Atom 0.3/1.0
//! and JSON Feed; this module gives it UTF-8 text and our own date reader, and
//! keeps the entry ids the feed really wrote apart from generated ones.

use chrono_tz::Tz;
use encoding_rs::Encoding;

use crate::charset;
use crate::dates;

/// Why a body is not a feed. The message is shown to the user as the source's error.
#[derive(Debug, thiserror::Error)]
#[error("not a feed: {0}")]
pub struct ParseError(String);

/// How to read one body: what the source and the HTTP response say about it.
#[derive(Debug, Clone, Copy)]
pub struct ParseHints<'a> {
    /// The source's `encoding` override.
    pub forced_encoding: Option<&'static Encoding>,
    /// The charset of the Content-Type header.
    pub http_charset: Option<&'a str>,
    /// The zone of dates that carry none.
    pub timezone: Tz,
}

/// Parses a feed body. Entries whose feed gave no id come back with an empty id,
/// so that identity never rests on an id feed-rs made up.
pub fn parse(bytes: &[u8], hints: ParseHints<'_>) -> Result<feed_rs::model::Feed, ParseError> {
    let (text, _) = charset::decode(bytes, hints.forced_encoding, hints.http_charset);
    let timezone = hints.timezone;
    feed_rs::parser::Builder::new()
        .timestamp_parser(move |text| dates::parse_date(text, timezone))
        .id_generator(|_, _, _| String::new())
        .build()
        .parse(text.as_bytes())
        .map_err(|e| ParseError(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hints() -> ParseHints<'static> {
        ParseHints {
            forced_encoding: None,
            http_charset: None,
            timezone: chrono_tz::Asia::Shanghai,
        }
    }

    #[test]
    fn rss_atom_and_json_feed_parse() {
        let rss = r#"<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
            <item><title>一</title><link>https://a.example/1</link><pubDate>2022年01月26日 15:54</pubDate></item></channel></rss>"#;
        let atom = r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><id>x</id>
            <entry><title>一</title><id>urn:1</id><updated>2022-01-26T15:54:00+08:00</updated></entry></feed>"#;
        let json = r#"{"version":"https://jsonfeed.org/version/1.1","title":"t",
            "items":[{"id":"1","title":"一","url":"https://a.example/1","date_published":"2022-01-26T07:54:00Z"}]}"#;
        for body in [rss, atom, json] {
            let feed = parse(body.as_bytes(), hints()).unwrap();
            assert_eq!(feed.entries.len(), 1, "{body}");
            let entry = &feed.entries[0];
            let date = entry.published.or(entry.updated).unwrap();
            assert_eq!(dates::to_db(date), "2022-01-26T07:54:00Z", "{body}");
        }
    }

    #[test]
    fn missing_ids_stay_missing() {
        let rss = r#"<rss version="2.0"><channel><item><title>a</title><link>https://a.example/1</link></item></channel></rss>"#;
        assert_eq!(parse(rss.as_bytes(), hints()).unwrap().entries[0].id, "");
    }

    #[test]
    fn garbage_is_a_clear_error() {
        let err = parse(b"<html><body>Hello</body></html>", hints()).unwrap_err();
        assert!(err.to_string().starts_with("not a feed"), "{err}");
        assert!(parse(b"", hints()).is_err());
    }
}
