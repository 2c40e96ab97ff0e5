//! feed-rs entries to articles: the model of DESIGN.md.
//!
//! Pure: a parsed feed and what we know of its source in, articles out. Here
//! titles are cleaned, links made canonical, dates chosen, categories merged,
//! the image found, and the content sanitized with ammonia so that nothing a
//! feed sends can run in a reader's browser.

use std::borrow::Cow;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use feed_rs::model::Entry;
use hashbrown::HashMap;
use url::Url;

use crate::article::dedup::{self, TrackingParams};
use crate::article::fields::{author_name, categories, html_of, media_image, reader_link, text_of};
use crate::article::recall::{self, EntryMemory, Recalled};
use crate::article::rewrite::Rewrite;
use crate::article::sanitize::cleaned;
use crate::article::{Article, FeedInfo, NormalizedFeed, Summary};
use crate::cluster;
use crate::read::dates;
use crate::read::parse::{self, ParseError, ParseHints, Parsed};
use crate::read::scrape::Reading;
use crate::text::truncate_chars;

/// Characters kept in an article's plain-text summary.
const SUMMARY_CHARS: usize = 200;
/// Characters kept of a title: a headline, not a document.
const TITLE_CHARS: usize = 500;
/// Characters of the title made for an entry without one, from its text.
const UNTITLED_CHARS: usize = 41;
/// Bytes of an entry's content that are read: a long article is a few tens of
/// kilobytes, and sanitizing costs time and memory in proportion to its input.
/// The parser closes whatever the cut leaves open.
const MAX_CONTENT_BYTES: usize = 1 << 20;

/// What the source contributes to each of its articles.
#[derive(Debug, Clone)]
pub struct SourceContext {
    pub name: String,
    pub url: Url,
    pub category: String,
    pub channel: Option<String>,
    pub timezone: Tz,
    pub tracking: TrackingParams,
    /// The source's rewrite rules. With rules, an article keeps the content
    /// it was made from (`source_html`), so `tidings reprocess` can apply
    /// changed rules to what the feed sent rather than to what is left of it.
    pub rewrite: Rewrite,
    /// The poll's clock: no article is dated after it.
    pub now: DateTime<Utc>,
    /// The source's last reading: its entries delivered again unchanged are
    /// not read again (see `recall`).
    pub last_reading: EntryMemory,
}

impl SourceContext {
    /// The labels the source gives each of its articles, in the order of
    /// the reference post: its category, its name, its channel.
    fn labels(&self) -> impl Iterator<Item = &str> {
        [self.category.as_str(), self.name.as_str()]
            .into_iter()
            .chain(self.channel.as_deref())
    }
}

/// A body read as its source says and normalized, with what the poll's
/// metrics count of it.
#[derive(Debug)]
pub struct ReadBody {
    pub feed: NormalizedFeed,
    /// Entries the body had, before one feed's repeats were taken as one.
    pub entries: usize,
    /// Entries that could not be read, and were skipped.
    pub unreadable: usize,
    /// Whether the end of the body cut an entry off before its link.
    pub cut_short: bool,
}

/// Bytes to articles: read as a feed, a list page or an API (`parse::read`)
/// from `url`, then normalized. The one way from a body to articles, for the
/// poller, `tidings parse` and the fuzzer. CPU work: run it off the async
/// workers.
pub fn read_body(
    bytes: &[u8],
    hints: ParseHints<'_>,
    reading: &Reading,
    url: &Url,
    source: &SourceContext,
) -> Result<ReadBody, ParseError> {
    let parsed = parse::read(bytes, hints, reading, url, source.now)?;
    Ok(ReadBody {
        feed: normalize(&parsed, source),
        entries: parsed.feed.entries.len(),
        unreadable: parsed.skipped,
        cut_short: parsed.incomplete.is_some(),
    })
}

/// Normalizes every entry of a feed. Entries of one feed that are one entry
/// (one guid, or one key without differing guids) are kept once, the latest
/// version, with a warning; entries the key alone would merge are told apart
/// (see `dedup::settle`). Entries of the source's last reading are recalled,
/// not read (see `recall`).
pub fn normalize(parsed: &Parsed, source: &SourceContext) -> NormalizedFeed {
    let feed = &parsed.feed;
    let feed_link = reader_link(&feed.links).and_then(|l| source.url.join(&l.href).ok());
    let mut warnings = parsed.warnings.clone();
    let (articles, recalled) = read_entries(
        parsed,
        feed_link.as_ref(),
        source,
        &source.last_reading,
        &mut warnings,
    );
    NormalizedFeed {
        feed: FeedInfo {
            title: feed.title.as_ref().map(text_of).filter(|t| !t.is_empty()),
            link: feed_link.map(String::from),
            ttl_minutes: feed.ttl,
        },
        articles,
        warnings,
        matches: parsed.matches.clone(),
        filtered: 0,
        recalled,
    }
}

/// The feed's entries settled into articles (`dedup::settle` sees every
/// entry, recalled or not, so they are told apart as when all are read),
/// and apart from them the entries `memory` recalls, which were not read.
/// Repeats taken as one are never recalled or remembered: which entry
/// stands for them may change with any of them.
fn read_entries(
    parsed: &Parsed,
    feed_link: Option<&Url>,
    source: &SourceContext,
    memory: &EntryMemory,
    warnings: &mut Vec<String>,
) -> (Vec<Article>, Vec<Recalled>) {
    let mut skimmed: HashMap<u64, i64> = HashMap::new();
    let candidates: Vec<dedup::Candidate> = (parsed.feed.entries.iter().enumerate())
        .map(|(index, entry)| {
            let digest = recall::digest(entry, feed_link);
            // An untitled entry's title (and so, without a link or guid, its
            // key) is made from its content.
            let recalled = memory.article_of(digest).filter(|_| titled(entry));
            let rough_date = parsed.rough_dates.contains(&index);
            let read = recalled.is_none();
            let mut candidate = article(entry, feed_link, source, rough_date, read);
            candidate.article.incomplete = parsed.incomplete == Some(index);
            candidate.article.digest = Some(digest);
            if let Some(article_id) = recalled {
                skimmed.insert(digest, article_id);
            }
            candidate
        })
        .collect();
    let entries = candidates.len();
    let mut settling = Vec::new();
    let mut articles = dedup::settle(candidates, source.url.as_str(), &mut settling);
    if articles.len() < entries {
        if !skimmed.is_empty() {
            return read_entries(parsed, feed_link, source, &EntryMemory::default(), warnings);
        }
        articles
            .iter_mut()
            .for_each(|article| article.digest = None);
    }
    warnings.append(&mut settling);
    let (mut read, mut recalled) = (Vec::with_capacity(articles.len()), Vec::new());
    for article in articles {
        match (article.digest).and_then(|digest| Some((digest, *skimmed.get(&digest)?))) {
            Some((digest, article_id)) => recalled.push(Recalled {
                digest,
                article_id,
                published: article.published,
            }),
            None => read.push(article),
        }
    }
    (read, recalled)
}

/// Whether the entry has a title of its own.
fn titled(entry: &Entry) -> bool {
    entry
        .title
        .as_ref()
        .is_some_and(|title| !text_of(title).is_empty())
}

/// One entry as an article. A `rough_date` (`5分钟前` on a list page) is left
/// out of the content hash: read again later it comes out a little different,
/// and the item has not changed. Unless `read`, only its identity and dates
/// are worked out (a recalled entry, which must be titled): no content,
/// fingerprint or hash.
fn article(
    entry: &Entry,
    feed_link: Option<&Url>,
    source: &SourceContext,
    rough_date: bool,
    read: bool,
) -> dedup::Candidate {
    // Relative links are relative to the feed's own address; a feed read from
    // a file has none on the web, so its site's link stands in.
    let link_base = match (source.url.scheme(), feed_link) {
        ("file", Some(site)) => site,
        _ => &source.url,
    };
    let guid = Some(entry.id.trim())
        .filter(|id| !id.is_empty())
        .map(String::from);
    let (link, fragment, earlier_keys) = entry_link(entry, guid.as_deref(), link_base, source);
    let published = entry
        .published
        .or(entry.updated)
        .map(|date| date.min(source.now));
    let base = content_base(entry, link.as_ref(), feed_link, source);
    let raw_html = raw_content(entry);
    let content = match read {
        true => cleaned(&raw_html, &base, &source.rewrite),
        false => Arc::default(),
    };
    let title = match entry.title.as_ref().map(text_of) {
        Some(title) if !title.is_empty() => truncate_chars(&title, TITLE_CHARS).into_owned(),
        // 40 characters and the ellipsis: untitled entries' content hashes
        // were made with this title, and a new one would show them updated.
        _ => truncate_chars(&content.text, UNTITLED_CHARS).into_owned(),
    };
    let summary = match (&entry.content, &entry.summary) {
        (Some(_), Some(summary)) if read => {
            Summary::Own(summary_of(&text_of(summary)).into_owned())
        }
        _ => Summary::Lead(content.clone()),
    };
    let mut article = Article {
        key: key_of(link.as_ref(), guid.as_deref(), &title, published, source),
        earlier_keys,
        title,
        link: link.map(String::from),
        guid,
        author: author_of(entry, source),
        published,
        updated: entry.updated.map(|date| date.min(source.now)),
        categories: categories(entry, source.labels()),
        summary,
        content: content.clone(),
        source_html: (read && !source.rewrite.is_empty()).then(|| raw_html.to_string()),
        fingerprint: None,
        image: media_image(entry, &base).or_else(|| content.image.clone()),
        content_hash: String::new(),
        incomplete: false,
        digest: None,
    };
    if read {
        article.fingerprint = cluster::article_fingerprint(
            content.body_fingerprint(),
            &article.title,
            &article.content.text,
        );
        article.content_hash = content_hash(
            &article.title,
            article.link.as_deref(),
            &article.author,
            article.published.filter(|_| !rough_date),
            &article.content.html,
            article.image.as_deref(),
        );
    }
    dedup::Candidate { article, fragment }
}

/// What relative URLs in the entry's content are relative to: the entry's
/// page, else the site.
fn content_base(
    entry: &Entry,
    link: Option<&Url>,
    feed_link: Option<&Url>,
    source: &SourceContext,
) -> Url {
    entry
        .base
        .as_deref()
        .and_then(|b| source.url.join(b).ok())
        .or_else(|| link.cloned())
        .or_else(|| feed_link.cloned())
        .unwrap_or_else(|| source.url.clone())
}

/// The entry's identity key (see `dedup`): its link's, else its guid's in
/// the feed, else its title's and date's in the feed.
fn key_of(
    link: Option<&Url>,
    guid: Option<&str>,
    title: &str,
    published: Option<DateTime<Utc>>,
    source: &SourceContext,
) -> String {
    match (link, guid) {
        (Some(link), _) => dedup::link_key(link),
        (None, Some(guid)) => dedup::guid_key(source.url.as_str(), guid),
        (None, None) => dedup::content_key(
            source.url.as_str(),
            title,
            published.map(dates::to_db).as_deref(),
        ),
    }
}

/// The entry's content as the feed sent it (else its summary), cut at
/// [`MAX_CONTENT_BYTES`].
fn raw_content(entry: &Entry) -> Cow<'_, str> {
    let raw = entry
        .content
        .as_ref()
        .and_then(|c| c.body.as_deref())
        .map(Cow::Borrowed)
        .or_else(|| entry.summary.as_ref().map(html_of))
        .unwrap_or_default();
    match raw {
        Cow::Borrowed(raw) => Cow::Borrowed(&raw[..raw.floor_char_boundary(MAX_CONTENT_BYTES)]),
        Cow::Owned(mut raw) => {
            raw.truncate(raw.floor_char_boundary(MAX_CONTENT_BYTES));
            Cow::Owned(raw)
        }
    }
}

/// The entry's first named author, else the source's name.
fn author_of(entry: &Entry, source: &SourceContext) -> String {
    entry
        .authors
        .iter()
        .filter_map(|p| p.name.as_deref())
        .map(author_name)
        .find(|name| !name.is_empty())
        .unwrap_or_else(|| source.name.clone())
}

/// The link of an entry, with what `link_identity` says of it. A link that
/// is not a URL (words, a broken address) gives way to a guid that is one,
/// and the entry was stored under its guid before. (An entry without any
/// link has had its permalink guid made its link by `read::repair`, which
/// sees `isPermaLink`.)
fn entry_link(
    entry: &Entry,
    guid: Option<&str>,
    base: &Url,
    source: &SourceContext,
) -> (Option<Url>, Option<String>, Vec<String>) {
    let written = reader_link(&entry.links).map(|l| l.href.trim());
    let url = written.filter(|l| !l.contains(char::is_whitespace));
    let identity = link_identity(url, guid, base, source);
    match guid.filter(|guid| is_web_address(guid)) {
        Some(guid) if identity.0.is_none() && written.is_some_and(|l| !l.is_empty()) => {
            let (link, fragment, mut earlier_keys) =
                link_identity(Some(guid), Some(guid), base, source);
            earlier_keys.push(dedup::guid_key(source.url.as_str(), guid));
            (link, fragment, earlier_keys)
        }
        _ => identity,
    }
}

/// An entry's canonical link, the fragment it dropped (which may yet tell
/// it apart from its feed's other entries), and the keys it may be stored
/// under from before: a hash route keeps its fragment (its key without the
/// route is an earlier one); so does a link whose guid is the link with that
/// fragment (a weblog's permalinks into one day's page); a dropped fragment
/// may have told the entry apart in an earlier poll.
fn link_identity(
    written: Option<&str>,
    guid: Option<&str>,
    base: &Url,
    source: &SourceContext,
) -> (Option<Url>, Option<String>, Vec<String>) {
    let Some(link) = written.and_then(|l| dedup::canonical_link(l, Some(base), &source.tracking))
    else {
        return (None, None, Vec::new());
    };
    if link.fragment().is_some() {
        let mut page = link.clone();
        page.set_fragment(None);
        return (Some(link), None, vec![dedup::link_key(&page)]);
    }
    let Some(fragment) = written.and_then(dedup::fragment_of) else {
        return (Some(link), None, Vec::new());
    };
    let whole = dedup::with_fragment(&link, &fragment);
    let guid_is_the_link = guid.is_some_and(|guid| {
        dedup::fragment_of(guid).as_ref() == Some(&fragment)
            && dedup::canonical_link(guid, Some(base), &source.tracking).as_ref() == Some(&link)
    });
    if guid_is_the_link {
        (Some(whole), None, vec![dedup::link_key(&link)])
    } else {
        let earlier = dedup::link_key(&whole);
        (Some(link), Some(fragment), vec![earlier])
    }
}

/// An absolute http(s) URL, as a guid must be to serve as a link.
fn is_web_address(text: &str) -> bool {
    Url::parse(text).is_ok_and(|url| matches!(url.scheme(), "http" | "https") && url.has_host())
}

/// A plain-text summary: `text` whole when it is short (borrowed), else its
/// first 200 characters, the last an ellipsis.
pub fn summary_of(text: &str) -> Cow<'_, str> {
    truncate_chars(text, SUMMARY_CHARS)
}

/// What a reader sees, hashed: a change here is an update. Categories and the
/// guid are left out because they differ between the feeds that carry a story.
pub fn content_hash(
    title: &str,
    link: Option<&str>,
    author: &str,
    published: Option<DateTime<Utc>>,
    content_html: &str,
    image: Option<&str>,
) -> String {
    let mut hasher = blake3::Hasher::new();
    let published = published.map(dates::to_db).unwrap_or_default();
    for part in [
        title,
        link.unwrap_or(""),
        author,
        &published,
        content_html,
        image.unwrap_or(""),
    ] {
        hasher.update(part.as_bytes());
        hasher.update(&[0]);
    }
    hasher.finalize().to_hex()[..32].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::parse::{ParseHints, parse};

    fn source() -> SourceContext {
        SourceContext {
            name: "证券时报网".into(),
            url: Url::parse("https://rsshub.example/stcn/yw").unwrap(),
            category: "金融".into(),
            channel: Some("要闻".into()),
            timezone: chrono_tz::Asia::Shanghai,
            tracking: TrackingParams::new(&["utm_*".to_string()]),
            rewrite: Rewrite::default(),
            now: DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
                .unwrap()
                .to_utc(),
            last_reading: Default::default(),
        }
    }

    fn normalize_rss(items: &str) -> Vec<Article> {
        let xml = format!(
            r#"<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel><title>证券时报网 - 要闻</title><link>https://news.stcn.com/</link>{items}</channel></rss>"#
        );
        let hints = ParseHints::bytes_only(chrono_tz::Asia::Shanghai, 100);
        normalize(&parse(xml.as_bytes(), hints).unwrap(), &source()).articles
    }

    #[test]
    fn the_reference_article_fields() {
        let articles = normalize_rss(
            r#"<item><title>习近平主持中国同中亚五国建交30周年视频峰会 &amp;amp; 强调</title>
            <link>https://news.stcn.com/news/202201/t20220126_4094127.html?utm_source=rss</link>
            <description><![CDATA[<p style="text-align:center;position:fixed"><img src="/news/202201/W020220126284626592584.png" alt="习近平.jpg"></p><p>正文</p>]]></description>
            <pubDate>2022-01-26 15:54:00</pubDate><category>时政</category><category>要闻</category></item>"#,
        );
        let a = &articles[0];
        assert_eq!(a.title, "习近平主持中国同中亚五国建交30周年视频峰会 & 强调");
        assert_eq!(
            a.key,
            "https://news.stcn.com/news/202201/t20220126_4094127.html"
        );
        assert_eq!(a.categories, ["金融", "证券时报网", "要闻", "时政"]);
        assert_eq!(a.author, "证券时报网");
        assert_eq!(dates::to_db(a.published.unwrap()), "2022-01-26T07:54:00Z");
        let image = "https://news.stcn.com/news/202201/W020220126284626592584.png";
        assert_eq!(a.image.as_deref(), Some(image));
        assert!(
            a.content.html.contains(&format!(r#"src="{image}""#)),
            "{}",
            a.content.html
        );
        assert!(a.content.html.contains(r#"referrerpolicy="no-referrer""#));
        assert!(
            a.content.html.contains("text-align:center"),
            "{}",
            a.content.html
        );
        assert!(!a.content.html.contains("position"), "{}", a.content.html);
        assert_eq!(a.summary.text(), "正文");
    }

    #[test]
    fn hostile_html_is_neutralized() {
        let articles = normalize_rss(
            r#"<item><title>x</title><link>https://a.example/1</link><description><![CDATA[
            <script>alert(1)</script><iframe src="https://evil.example"></iframe>
            <img src="x.png" onerror="alert(2)"><a href="javascript:alert(3)">j</a>
            <a href="data:text/html,<script>alert(4)</script>">d</a><style>body{display:none}</style>
            <svg onload="alert(5)"><circle/></svg><p onclick="alert(6)">ok</p>]]></description></item>"#,
        );
        let html = &articles[0].content.html;
        for bad in [
            "<script",
            "alert",
            "<iframe",
            "onerror",
            "javascript:",
            "data:",
            "<style",
            "<svg",
            "onclick",
        ] {
            assert!(!html.contains(bad), "{bad} survived in {html}");
        }
        assert!(html.contains("<p>ok</p>"), "{html}");
    }

    #[test]
    fn media_image_beats_the_first_img_and_enclosures_count() {
        let articles = normalize_rss(
            r#"<item><title>a</title><link>https://a.example/1</link>
               <media:content url="https://img.example/m.jpg" medium="image"/>
               <description><![CDATA[<img src="https://img.example/inline.png">]]></description></item>
               <item><title>b</title><link>https://a.example/2</link>
               <enclosure url="https://img.example/e.png" type="image/png" length="1"/></item>"#,
        );
        assert_eq!(
            articles[0].image.as_deref(),
            Some("https://img.example/m.jpg")
        );
        assert_eq!(
            articles[1].image.as_deref(),
            Some("https://img.example/e.png")
        );
    }

    #[test]
    fn fallbacks_for_missing_link_author_and_date() {
        let articles = normalize_rss(
            r#"<item><title>无链接</title><guid isPermaLink="false">abc-1</guid><author>ed@stcn.com (王编辑)</author></item>
               <item><title>什么都没有</title></item>
               <item><title>来自未来</title><link>https://a.example/f</link><pubDate>Fri, 01 Jan 2100 00:00:00 GMT</pubDate></item>"#,
        );
        assert_eq!(articles[0].key, "guid:https://rsshub.example/stcn/yw#abc-1");
        assert_eq!(articles[0].author, "王编辑");
        assert!(articles[1].key.starts_with("hash:"));
        assert_eq!(articles[1].published, None);
        assert_eq!(articles[2].published, Some(source().now));
    }

    #[test]
    fn the_same_story_twice_in_one_feed_is_kept_once() {
        let articles = normalize_rss(
            r#"<item><title>a</title><link>https://a.example/1?utm_source=x</link></item>
               <item><title>a</title><link>https://a.example/1#c</link></item>"#,
        );
        assert_eq!(articles.len(), 1);
    }
}
