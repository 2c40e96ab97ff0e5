//! Feed bytes to a feed-rs feed: decode the charset, then parse, strictly
//! first and forgivingly second.
//!
//! Pure: no network, no database. feed-rs reads RSS 0.91/0.92/1.0/2.0,
//! Atom 1.0 and JSON Feed when they are written by the book. Most feeds are,
//! and they pay for nothing else. A feed that feed-rs refuses, or that it
//! reads as less than the document holds, is read a second time from a
//! repaired and normalized document (`repair`); an entry that still fails is
//! skipped, never its siblings. Everything that was repaired, relabelled or
//! skipped comes back as a warning, and a body that has entries but yields
//! none is an error.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use encoding_rs::Encoding;
use feed_rs::model::{Feed, FeedType};
use url::Url;

use crate::read::charset::{self, Labels};
use crate::read::dates;
use crate::read::repair;
use crate::read::scrape::{self, Matches, PageContext, Reading, ScrapeError};

/// Why a body was not read. The message is shown to the user as the source's error.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("not a feed: {0}")]
    NotAFeed(String),
    #[error("the feed has {found} entries, more than max_entries ({limit})")]
    TooManyEntries { found: usize, limit: usize },
    #[error("the body has {found} entries but none could be read: {why}")]
    NoEntries { found: usize, why: String },
    /// A list page or API that gave no items (see `scrape`).
    #[error(transparent)]
    Scrape(#[from] ScrapeError),
}

/// How to read one body: what the source and the HTTP response say about it.
#[derive(Debug, Clone, Copy)]
pub struct ParseHints<'a> {
    /// The source's `encoding` override.
    pub forced_encoding: Option<&'static Encoding>,
    /// The charset of the Content-Type header.
    pub http_charset: Option<&'a str>,
    /// The host the body came from: its top-level domain hints charset detection.
    pub host: Option<&'a str>,
    /// The zone of dates that carry none.
    pub timezone: Tz,
    /// Most entries a feed may have.
    pub max_entries: usize,
}

impl ParseHints<'static> {
    /// Hints for a body known by its bytes alone (a file, a fuzzer's input):
    /// no override, header or host to say its charset, which is then
    /// detected from the bytes.
    pub fn bytes_only(timezone: Tz, max_entries: usize) -> ParseHints<'static> {
        ParseHints {
            forced_encoding: None,
            http_charset: None,
            host: None,
            timezone,
            max_entries,
        }
    }
}

/// A feed as read, and what reading it took.
#[derive(Debug)]
pub struct Parsed {
    pub feed: Feed,
    /// Repairs, relabelled charsets and skipped entries, for the source's record.
    pub warnings: Vec<String>,
    /// The index in `feed.entries` of an entry the end of the body cut off
    /// before its link or id arrived: shown, but not to be stored.
    pub incomplete: Option<usize>,
    /// Entries the second reading could not read, and skipped.
    pub skipped: usize,
    /// For a list page or an API: how many items each field matched.
    pub matches: Option<Matches>,
    /// The indexes in `feed.entries` of entries whose date is only roughly
    /// known (`5分钟前`, see `scrape`).
    pub rough_dates: Vec<usize>,
}

impl Parsed {
    /// A feed read as it was written, with nothing to say.
    fn plain(feed: Feed) -> Parsed {
        Parsed {
            feed,
            warnings: Vec::new(),
            incomplete: None,
            skipped: 0,
            matches: None,
            rough_dates: Vec::new(),
        }
    }
}

/// Reads a source's body as its config says: a feed (see [`parse`]), or a
/// list page or JSON API (see `scrape`), fetched from `url` and read at
/// `now`. The one way in for the poller and `tidings parse`.
pub fn read(
    bytes: &[u8],
    hints: ParseHints<'_>,
    reading: &Reading,
    url: &Url,
    now: DateTime<Utc>,
) -> Result<Parsed, ParseError> {
    if let Reading::Feed = reading {
        return parse(bytes, hints);
    }
    let decoded = charset::decode(
        bytes,
        Labels {
            forced: hints.forced_encoding,
            http: hints.http_charset,
            host: hints.host,
        },
    );
    let page = PageContext {
        url,
        timezone: hints.timezone,
        now,
    };
    let scraped = scrape::read(&decoded.text, reading, page)?;
    if scraped.feed.entries.len() > hints.max_entries {
        return Err(ParseError::TooManyEntries {
            found: scraped.feed.entries.len(),
            limit: hints.max_entries,
        });
    }
    Ok(Parsed {
        feed: scraped.feed,
        warnings: decoded
            .warning
            .into_iter()
            .chain(scraped.warnings)
            .collect(),
        incomplete: None,
        skipped: 0,
        matches: Some(scraped.matches),
        rough_dates: scraped.rough_dates,
    })
}

/// Parses a feed body. Entries whose feed gave no id come back with an empty id,
/// so that identity never rests on an id feed-rs made up.
pub fn parse(bytes: &[u8], hints: ParseHints<'_>) -> Result<Parsed, ParseError> {
    let decoded = charset::decode(
        bytes,
        Labels {
            forced: hints.forced_encoding,
            http: hints.http_charset,
            host: hints.host,
        },
    );
    let mut warnings: Vec<String> = decoded.warning.into_iter().collect();
    let text = decoded.text;
    let too_many = |found| ParseError::TooManyEntries {
        found,
        limit: hints.max_entries,
    };
    // Counted before parsing, so a flood of entries is refused before it is in memory.
    let tags = entry_tags(&text);
    if tags > hints.max_entries {
        return Err(too_many(tags));
    }
    let Parsed {
        feed,
        warnings: repairs,
        incomplete,
        skipped,
        ..
    } = Reader::new(hints.timezone).strict_then_second(&text, tags)?;
    warnings.extend(repairs);
    // JSON Feed items, and XML entries written with a namespace prefix.
    if feed.entries.len() > hints.max_entries {
        return Err(too_many(feed.entries.len()));
    }
    if feed.entries.is_empty() && tags > 0 {
        return Err(ParseError::NoEntries {
            found: tags,
            why: warnings
                .last()
                .cloned()
                .unwrap_or_else(|| "no entry has the elements of its format".into()),
        });
    }
    Ok(Parsed {
        feed,
        warnings,
        incomplete,
        skipped,
        matches: None,
        rough_dates: Vec::new(),
    })
}

/// Signs that the strict reading lost something the second one can find:
/// fewer entries than the body has `<item>`/`<entry>` tags (Atom 0.3, RSS 1.0
/// items without a link), an entry without a title (`dc:title`, HTML in the
/// title), without a link but with an http(s) id (guid as link), without a
/// date where Dublin Core terms are used, or without any text where the body
/// has description elements; or a title, description or summary holding
/// unescaped markup, which feed-rs reads only up to the first tag. A feed
/// written by the book shows none of them, and is read once.
fn reads_less_than_it_holds(feed: &Feed, text: &str, tags: usize) -> bool {
    let has = |needle: &str| memchr::memmem::find(text.as_bytes(), needle.as_bytes()).is_some();
    feed.entries.len() < tags
        || feed.entries.iter().any(|entry| {
            entry
                .title
                .as_ref()
                .is_none_or(|t| t.content.trim().is_empty())
                || (entry.links.is_empty() && is_http(&entry.id))
                || (entry.published.is_none() && entry.updated.is_none() && has("/dc/terms"))
                || (entry.summary.is_none()
                    && entry.content.is_none()
                    && (has("<description") || has(":encoded")))
        })
        || markup_in_text_elements(feed, text)
}

/// Whether a `<title>`, `<description>` (RSS) or `<summary>` (Atom) without
/// attributes, so text in every format (Atom's `type="xhtml"` has its
/// attribute), has a tag in it outside CDATA. Linear, and vectorized: each
/// element is looked into once, from its start tag to its end tag.
fn markup_in_text_elements(feed: &Feed, text: &str) -> bool {
    let bytes = text.as_bytes();
    let elements: [(&[u8], &[u8]); 2] = match feed.feed_type {
        FeedType::Atom => [(b"<title>", b"</title>"), (b"<summary>", b"</summary>")],
        _ => [
            (b"<title>", b"</title>"),
            (b"<description>", b"</description>"),
        ],
    };
    elements.iter().any(|(open, close)| {
        let mut from = 0;
        while let Some(at) = memchr::memmem::find(&bytes[from..], open) {
            let start = from + at + open.len();
            let Some(len) = memchr::memmem::find(&bytes[start..], close) else {
                return false;
            };
            let mut inside = &bytes[start..start + len];
            while let Some(tag) = memchr::memchr(b'<', inside) {
                let Some(cdata) = inside[tag..].strip_prefix(b"<![CDATA[") else {
                    return true;
                };
                let Some(end) = memchr::memmem::find(cdata, b"]]>") else {
                    break;
                };
                inside = &cdata[end + 3..];
            }
            from = start + len + close.len();
        }
        false
    })
}

fn is_http(text: &str) -> bool {
    text.starts_with("http://") || text.starts_with("https://")
}

/// Whether an `<?xml` declaration follows something else, as after a PHP
/// warning. Only the head of a body that does not open with its prolog is
/// searched: that is where such junk is. (A second prolog deeper in is left
/// to `Reader::read`'s guard.)
fn late_declaration(text: &str) -> bool {
    let start = text.trim_start_matches('\u{FEFF}').trim_start();
    !start.starts_with("<?xml")
        && memchr::memmem::find(&text.as_bytes()[..text.len().min(64 << 10)], b"<?xml").is_some()
}

/// What a second reading gives.
struct SecondReading {
    feed: Feed,
    repairs: Vec<String>,
    /// One warning per entry that could not be read.
    skipped: Vec<String>,
    /// See [`Parsed::incomplete`].
    incomplete: Option<usize>,
}

/// feed-rs, set up the way tidings reads dates and ids.
struct Reader {
    timezone: Tz,
}

impl Reader {
    fn new(timezone: Tz) -> Self {
        Reader { timezone }
    }

    /// A parser of its own for each document: feed-rs keeps per-entry state
    /// that a failed parse leaves behind, and a reused parser then panics.
    /// A panic in feed-rs or quick-xml is an error of this document, not of
    /// the poll.
    fn read(&self, text: &str) -> Result<Feed, String> {
        let timezone = self.timezone;
        let parse = || {
            feed_rs::parser::Builder::new()
                .timestamp_parser(move |text| dates::parse_date(text, timezone))
                .id_generator(|_, _, _| String::new())
                .build()
                .parse(text.as_bytes())
                .map_err(|error| error.to_string())
        };
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(parse))
            .unwrap_or_else(|_| Err("the feed parser crashed on this document".to_string()))
    }

    /// Reads `text` (which has `tags` entry tags) strictly, and a second
    /// time, repaired, when the strict reading fails or reads less than the
    /// document holds; the second reading never takes away what the first
    /// found. The warnings say what the second reading repaired and skipped.
    fn strict_then_second(&self, text: &str, tags: usize) -> Result<Parsed, ParseError> {
        // quick-xml panics on an encoding declared after the start (a PHP warning
        // before the prolog), so such a body goes straight to the second reading.
        let strict = match late_declaration(text) {
            true => Err("an XML declaration after the start of the document".to_string()),
            false => self.read(text),
        };
        let strict = match strict {
            Ok(feed) if !reads_less_than_it_holds(&feed, text, tags) => {
                return Ok(Parsed::plain(feed));
            }
            strict => strict,
        };
        tracing::debug!(
            "second reading ({})",
            strict
                .as_ref()
                .err()
                .map_or("the strict reading lost entries or fields", String::as_str)
        );
        let second = if text.trim_start().starts_with('{') {
            self.second_reading_json(text)
        } else {
            self.second_reading_xml(text)
        };
        match (strict, second) {
            (Ok(first), Ok(second)) if second.feed.entries.len() < first.entries.len() => {
                Ok(Parsed::plain(first))
            }
            (Ok(first), Err(_)) => Ok(Parsed::plain(first)),
            (strict, Ok(second)) => {
                let mut warnings = Vec::new();
                if !second.repairs.is_empty() {
                    let repairs = second.repairs.join("; ");
                    warnings.push(match strict {
                        Ok(_) => format!("repaired: {repairs}"),
                        Err(error) => {
                            format!("repaired what the strict reading refused ({error}): {repairs}")
                        }
                    });
                }
                let skipped = second.skipped.len();
                warnings.extend(second.skipped);
                Ok(Parsed {
                    incomplete: second.incomplete,
                    skipped,
                    warnings,
                    ..Parsed::plain(second.feed)
                })
            }
            (Err(error), Err(_)) if tags > 0 => Err(ParseError::NoEntries {
                found: tags,
                why: error,
            }),
            (Err(error), Err(_)) => Err(ParseError::NotAFeed(error)),
        }
    }

    fn second_reading_xml(&self, text: &str) -> Result<SecondReading, ()> {
        let rewritten = repair::repair(text);
        let entries = &rewritten.entries;
        let (feed, origins, skipped) = match self.read(&rewritten.xml) {
            // The writer gives feed-rs one entry per range, so positions match.
            Ok(feed) if feed.entries.len() == entries.len() => {
                let origins = (0..entries.len()).collect();
                (feed, origins, Vec::new())
            }
            Ok(feed) => (feed, Vec::new(), Vec::new()),
            Err(_) => {
                let (Some(first), Some(last)) = (entries.first(), entries.last()) else {
                    return Err(());
                };
                let (head, tail) = (&rewritten.xml[..first.start], &rewritten.xml[last.end..]);
                self.one_by_one(entries.len(), |index| {
                    [head, &rewritten.xml[entries[index].clone()], tail].concat()
                })?
            }
        };
        let incomplete = rewritten
            .incomplete
            .and_then(|index| origins.iter().position(|&origin| origin == index));
        Ok(SecondReading {
            feed,
            repairs: rewritten.repairs,
            skipped,
            incomplete,
        })
    }

    fn second_reading_json(&self, text: &str) -> Result<SecondReading, ()> {
        let repaired = repair::json::repair(text).ok_or(())?;
        let count = repaired.items.len();
        let (feed, _, skipped) = match self.read(&repaired.with_items(0..count)) {
            Ok(feed) => (feed, Vec::new(), Vec::new()),
            Err(_) => self.one_by_one(count, |index| repaired.with_items(index..index + 1))?,
        };
        Ok(SecondReading {
            feed,
            repairs: repaired.repairs,
            skipped,
            incomplete: None,
        })
    }

    /// Reads each of `count` entries in a document of its own (for XML the
    /// feed's head, the entry and the feed's tail), so that an entry feed-rs
    /// refuses costs only itself. Returns the feed, the index of the entry
    /// each of its entries came from, and a warning per skipped entry.
    fn one_by_one(
        &self,
        count: usize,
        document: impl Fn(usize) -> String,
    ) -> Result<(Feed, Vec<usize>, Vec<String>), ()> {
        let mut feed: Option<Feed> = None;
        let mut origins = Vec::new();
        let mut skipped = Vec::new();
        for index in 0..count {
            match self.read(&document(index)) {
                Ok(mut one) => {
                    origins.extend(std::iter::repeat_n(index, one.entries.len()));
                    match &mut feed {
                        Some(feed) => feed.entries.append(&mut one.entries),
                        None => feed = Some(one),
                    }
                }
                Err(error) => {
                    skipped.push(format!("skipped entry {} of {count}: {error}", index + 1))
                }
            }
        }
        feed.map(|feed| (feed, origins, skipped)).ok_or(())
    }
}

/// How many `<item>` and `<entry>` start tags the text has (not `<items>`),
/// or the items of a JSON Feed, roughly: what the body says it holds.
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
        ParseHints::bytes_only(chrono_tz::Asia::Shanghai, 3)
    }

    fn read(body: &str) -> Parsed {
        parse(body.as_bytes(), hints()).unwrap_or_else(|e| panic!("{e}: {body}"))
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
            let parsed = read(body);
            assert_eq!(parsed.feed.entries.len(), 1, "{body}");
            assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
            let entry = &parsed.feed.entries[0];
            let date = entry.published.or(entry.updated).unwrap();
            assert_eq!(dates::to_db(date), "2022-01-26T07:54:00Z", "{body}");
        }
    }

    #[test]
    fn missing_ids_stay_missing() {
        let rss = r#"<rss version="2.0"><channel><item><title>a</title><link>https://a.example/1</link></item></channel></rss>"#;
        assert_eq!(read(rss).feed.entries[0].id, "");
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
        assert_eq!(read(&rss(3)).feed.entries.len(), 3);
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

    #[test]
    fn a_bare_ampersand_costs_nothing_and_is_said() {
        let rss = r#"<rss version="2.0"><channel><title>t</title>
            <item><title>沪深 & 港股</title><link>https://a.example/1?a=1&b=2</link></item>
            <item><title>二</title><link>https://a.example/2</link></item></channel></rss>"#;
        let parsed = read(rss);
        let entries = &parsed.feed.entries;
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].title.as_ref().unwrap().content, "沪深 & 港股");
        assert_eq!(entries[0].links[0].href, "https://a.example/1?a=1&b=2");
        assert_eq!(parsed.warnings.len(), 1, "{:?}", parsed.warnings);
        assert!(
            parsed.warnings[0].contains("escaped 2 bare '&'"),
            "{:?}",
            parsed.warnings
        );
    }

    #[test]
    fn one_bad_entry_costs_only_itself() {
        // feed-rs refuses Atom content that has both a src and a body.
        let atom = r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><id>f</id>
            <entry><title>好</title><id>urn:1</id><link href="https://a.example/1"/></entry>
            <entry><title>坏</title><id>urn:2</id><content src="https://a.example/c" type="text/html">body</content></entry>
            <entry><title>好</title><id>urn:3</id><link href="https://a.example/3"/></entry></feed>"#;
        let parsed = read(atom);
        let ids: Vec<_> = parsed.feed.entries.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["urn:1", "urn:3"]);
        assert_eq!(parsed.warnings.len(), 1, "{:?}", parsed.warnings);
        assert!(
            parsed.warnings[0].starts_with("skipped entry 2 of 3"),
            "{:?}",
            parsed.warnings
        );
    }

    #[test]
    fn entries_that_cannot_be_read_are_an_error_not_an_empty_feed() {
        let atom03 = r#"<feed xmlns="http://purl.org/atom/ns#"><entry><title>a</title></entry>"#;
        assert_eq!(read(atom03).feed.entries.len(), 1);
        let page = "<html><body><ul><item>一</item><item>二</item></ul></body></html>";
        let err = parse(page.as_bytes(), hints()).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("the body has 2 entries but none could be read"),
            "{err}"
        );
    }

    #[test]
    fn a_cut_entry_is_marked_unless_its_link_arrived() {
        let head = r#"<rss version="2.0"><channel><title>t</title>
            <item><title>一</title><link>https://a.example/1</link></item>
            <item><title>二</title>"#;
        let parsed = read(head);
        assert_eq!(parsed.feed.entries.len(), 2);
        assert_eq!(parsed.incomplete, Some(1));
        let with_link = format!("{head}<link>https://a.example/2</link><description>cut");
        let parsed = read(&with_link);
        assert_eq!(parsed.feed.entries.len(), 2);
        assert_eq!(parsed.incomplete, None);
        assert_eq!(parsed.feed.entries[1].links[0].href, "https://a.example/2");
    }
}
