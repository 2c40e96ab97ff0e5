//! Feed bytes to a feed-rs feed: decode the charset, then parse.
//!
//! Pure: no network, no database. feed-rs reads RSS 0.9x/1.0/2.0, Atom 0.3/1.0
//! and JSON Feed; this module gives it UTF-8 text and our own date reader, and
//! keeps the entry ids the feed really wrote apart from generated ones.

use chrono_tz::Tz;
use encoding_rs::Encoding;

use crate::charset;
use crate::dates;

/// Why a body was not read. The message is shown to the user as the source's error.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("not a feed: {0}")]
    NotAFeed(String),
    #[error("the feed has {found} entries, more than max_entries ({limit})")]
    TooManyEntries { found: usize, limit: usize },
}

/// How to read one body: what the source and the HTTP response say about it.
#[derive(Debug, Clone, Copy)]
pub struct ParseHints<'a> {
    /// The source's `encoding` override.
    pub forced_encoding: Option<&'static Encoding>,
    /// The charset of the Content-Type header.
    pub http_charset: Option<&'a str>,
    /// The zone of dates that carry none.
    pub timezone: Tz,
    /// Most entries a feed may have.
    pub max_entries: usize,
}

/// Parses a feed body. Entries whose feed gave no id come back with an empty id,
/// so that identity never rests on an id feed-rs made up.
pub fn parse(bytes: &[u8], hints: ParseHints<'_>) -> Result<feed_rs::model::Feed, ParseError> {
    let (text, _) = charset::decode(bytes, hints.forced_encoding, hints.http_charset);
    let too_many = |found| ParseError::TooManyEntries {
        found,
        limit: hints.max_entries,
    };
    // Counted before parsing, so a flood of entries is refused before it is in memory.
    let tags = entry_tags(&text);
    if tags > hints.max_entries {
        return Err(too_many(tags));
    }
    let timezone = hints.timezone;
    let feed = feed_rs::parser::Builder::new()
        .timestamp_parser(move |text| dates::parse_date(text, timezone))
        .id_generator(|_, _, _| String::new())
        .build()
        .parse(text.as_bytes())
        .map_err(|e| ParseError::NotAFeed(e.to_string()))?;
    // JSON Feed items, and XML entries written with a namespace prefix.
    if feed.entries.len() > hints.max_entries {
        return Err(too_many(feed.entries.len()));
    }
    Ok(feed)
}

/// How many `<item>` and `<entry>` start tags the text has (not `<items>`).
fn entry_tags(text: &str) -> usize {
    let bytes = text.as_bytes();
    [&b"<item"[..], b"<entry"]
        .iter()
        .map(|tag| {
            memchr::memmem::find_iter(bytes, tag)
                .filter(|at| {
                    bytes
                        .get(at + tag.len())
                        .is_some_and(|&c| c == b'>' || c == b'/' || c.is_ascii_whitespace())
                })
                .count()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hints() -> ParseHints<'static> {
        ParseHints {
            forced_encoding: None,
            http_charset: None,
            timezone: chrono_tz::Asia::Shanghai,
            max_entries: 3,
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
    fn a_flood_of_entries_is_refused_before_parsing() {
        let item = "<item><title>a</title></item>";
        let rss = |n| {
            format!(
                "<rss version=\"2.0\"><channel><items/>{}</channel></rss>",
                item.repeat(n)
            )
        };
        assert_eq!(parse(rss(3).as_bytes(), hints()).unwrap().entries.len(), 3);
        let err = parse(rss(4).as_bytes(), hints()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the feed has 4 entries, more than max_entries (3)"
        );
        let json = r#"{"version":"https://jsonfeed.org/version/1.1","title":"t","items":[{"id":"1"},{"id":"2"},{"id":"3"},{"id":"4"}]}"#;
        assert!(matches!(
            parse(json.as_bytes(), hints()),
            Err(ParseError::TooManyEntries { found: 4, limit: 3 })
        ));
    }

    #[test]
    fn garbage_is_a_clear_error() {
        let err = parse(b"<html><body>Hello</body></html>", hints()).unwrap_err();
        assert!(err.to_string().starts_with("not a feed"), "{err}");
        assert!(parse(b"", hints()).is_err());
    }
}
