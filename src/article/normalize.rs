//! feed-rs entries to articles: the model of DESIGN.md.
//!
//! Pure: a parsed feed and what we know of its source in, articles out. Here
//! titles are cleaned, links made canonical, dates chosen, categories merged,
//! the image found, and the content sanitized with ammonia so that nothing a
//! feed sends can run in a reader's browser.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashSet;
use std::sync::{Arc, LazyLock, OnceLock};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use feed_rs::model::{Entry, Link, Text};
use regex::Regex;
use url::Url;

use crate::article::dedup::{self, TrackingParams};
use crate::article::rewrite::Rewrite;
use crate::article::{Article, FeedInfo, NormalizedFeed};
use crate::cluster;
use crate::read::dates;
use crate::read::parse::{self, ParseError, ParseHints, Parsed};
use crate::read::scrape::Reading;
use crate::text::{collapse_whitespace, html_to_text, truncate_chars, xml_safe};

/// Characters kept in an article's plain-text summary.
const SUMMARY_CHARS: usize = 200;
/// Characters kept of a title: a headline, not a document.
const TITLE_CHARS: usize = 500;
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
/// (see `dedup::settle`).
pub fn normalize(parsed: &Parsed, source: &SourceContext) -> NormalizedFeed {
    let feed = &parsed.feed;
    let feed_link = reader_link(&feed.links).and_then(|l| source.url.join(&l.href).ok());
    let candidates = feed
        .entries
        .iter()
        .enumerate()
        .map(|(index, entry)| {
            let mut candidate = article(
                entry,
                feed_link.as_ref(),
                source,
                parsed.rough_dates.contains(&index),
            );
            candidate.article.incomplete = parsed.incomplete == Some(index);
            candidate
        })
        .collect();
    let mut warnings = parsed.warnings.clone();
    let articles = dedup::settle(candidates, source.url.as_str(), &mut warnings);
    NormalizedFeed {
        feed: FeedInfo {
            title: feed.title.as_ref().map(text_of).filter(|t| !t.is_empty()),
            link: feed_link.map(String::from),
            ttl_minutes: feed.ttl,
        },
        articles,
        warnings,
        matches: parsed.matches.clone(),
    }
}

/// One entry as an article. A `rough_date` (`5分钟前` on a list page) is left
/// out of the content hash: read again later it comes out a little different,
/// and the item has not changed.
fn article(
    entry: &Entry,
    feed_link: Option<&Url>,
    source: &SourceContext,
    rough_date: bool,
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
    let written_link = reader_link(&entry.links).map(|l| l.href.as_str());
    let (link, fragment, earlier_keys) =
        link_identity(written_link, guid.as_deref(), link_base, source);
    let published = entry
        .published
        .or(entry.updated)
        .map(|date| date.min(source.now));
    let updated = entry.updated.map(|date| date.min(source.now));

    // Relative URLs in content are relative to the entry's page, else the site.
    let base = entry
        .base
        .as_deref()
        .and_then(|b| source.url.join(b).ok())
        .or_else(|| link.clone())
        .or_else(|| feed_link.cloned())
        .unwrap_or_else(|| source.url.clone());
    let raw_html = entry
        .content
        .as_ref()
        .and_then(|c| c.body.as_deref())
        .map(Cow::Borrowed)
        .or_else(|| entry.summary.as_ref().map(html_of))
        .unwrap_or_default();
    let raw_html = &raw_html[..raw_html.floor_char_boundary(MAX_CONTENT_BYTES)];
    let content = cleaned(raw_html, &base, &source.rewrite);
    let text = &content.text;
    let summary_source = match (&entry.content, &entry.summary) {
        (Some(_), Some(summary)) => text_of(summary),
        _ => text.clone(),
    };

    let title = match entry.title.as_ref().map(text_of) {
        Some(title) if !title.is_empty() => truncate_chars(&title, TITLE_CHARS),
        _ => truncate_chars(text, 40),
    };
    let author = entry
        .authors
        .iter()
        .filter_map(|p| p.name.as_deref())
        .map(author_name)
        .find(|name| !name.is_empty())
        .unwrap_or_else(|| source.name.clone());
    let image = media_image(entry, &base).or_else(|| content.image.clone());

    let key = match (&link, &guid) {
        (Some(link), _) => dedup::link_key(link),
        (None, Some(guid)) => dedup::guid_key(source.url.as_str(), guid),
        (None, None) => dedup::content_key(
            source.url.as_str(),
            &title,
            published.map(dates::to_db).as_deref(),
        ),
    };
    let mut article = Article {
        key,
        earlier_keys,
        title,
        link: link.map(String::from),
        guid,
        author,
        published,
        updated,
        categories: categories(entry, source),
        summary: summary_of(&summary_source),
        content_html: content.html.clone(),
        text: content.text.clone(),
        source_html: (!source.rewrite.is_empty()).then(|| raw_html.to_string()),
        fingerprint: None,
        image,
        content_hash: String::new(),
        incomplete: false,
    };
    article.fingerprint =
        cluster::article_fingerprint(content.body_fingerprint(), &article.title, &article.text);
    article.content_hash = content_hash(
        &article.title,
        article.link.as_deref(),
        &article.author,
        article.published.filter(|_| !rough_date),
        &article.content_html,
        article.image.as_deref(),
    );
    dedup::Candidate { article, fragment }
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

/// The plain-text summary of an article whose feed gives none of its own.
pub fn summary_of(text: &str) -> String {
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

/// The order of the reference article: category, source name, channel, then
/// the entry's own, each once.
fn categories(entry: &Entry, source: &SourceContext) -> Vec<String> {
    let own = entry
        .categories
        .iter()
        .map(|c| c.label.as_deref().unwrap_or(&c.term));
    let mut out: Vec<String> = Vec::new();
    for label in [source.category.as_str(), source.name.as_str()]
        .into_iter()
        .chain(source.channel.as_deref())
        .chain(own)
    {
        let label = collapse_whitespace(label);
        if !label.is_empty() && !out.contains(&label) {
            out.push(label);
        }
    }
    out
}

/// The link a person reads, as feedparser picks it: of the `rel="alternate"`
/// links (or those without a rel), the HTML one, else one without a type,
/// else the first; without any, the first link that is not an enclosure
/// (a podcast's audio, a PDF attached) or the feed's own address.
fn reader_link(links: &[Link]) -> Option<&Link> {
    let alternates = || {
        links.iter().filter(|l| {
            l.rel
                .as_deref()
                .is_none_or(|r| r.eq_ignore_ascii_case("alternate"))
        })
    };
    let is_html = |l: &&Link| {
        l.media_type.as_deref().is_some_and(|t| {
            let t = t.trim().to_ascii_lowercase();
            t.starts_with("text/html") || t.starts_with("application/xhtml+xml")
        })
    };
    alternates()
        .find(is_html)
        .or_else(|| alternates().find(|l| l.media_type.is_none()))
        .or_else(|| alternates().next())
        .or_else(|| {
            links.iter().find(|l| {
                !l.rel
                    .as_deref()
                    .is_some_and(|r| matches!(r, "enclosure" | "self" | "hub" | "edit"))
            })
        })
}

/// Plain text of a feed text construct, HTML or not.
fn text_of(text: &Text) -> String {
    html_to_text(&text.content)
}

/// A feed text construct as HTML: plain text is escaped, HTML kept.
fn html_of(text: &Text) -> Cow<'_, str> {
    if text.content_type.essence().to_string() == "text/plain" && !text.content.contains('<') {
        html_escape::encode_text(&text.content)
    } else {
        Cow::Borrowed(&text.content)
    }
}

/// An author name as feeds write it: `"editor@site.cn (张三)"` reaches us as
/// `(张三)`, sometimes with markup or entities.
fn author_name(raw: &str) -> String {
    let raw = raw.trim();
    let name = raw
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .unwrap_or(raw);
    html_to_text(name)
}

/// The image a feed attaches to the entry (Media RSS, enclosure, JSON Feed image).
fn media_image(entry: &Entry, base: &Url) -> Option<String> {
    let is_image = |mime: Option<String>, url: &str| {
        mime.is_some_and(|m| m.starts_with("image/"))
            || [".jpg", ".jpeg", ".png", ".gif", ".webp"]
                .iter()
                .any(|ext| {
                    url.to_ascii_lowercase()
                        .split('?')
                        .next()
                        .unwrap_or("")
                        .ends_with(ext)
                })
    };
    let contents = entry.media.iter().flat_map(|m| &m.content).filter_map(|c| {
        let url = c.url.as_ref()?;
        is_image(c.content_type.as_ref().map(|t| t.to_string()), url.as_str())
            .then(|| url.to_string())
    });
    let thumbnails = entry
        .media
        .iter()
        .flat_map(|m| &m.thumbnails)
        .map(|t| t.image.uri.clone());
    let enclosures = entry
        .links
        .iter()
        .filter(|l| l.rel.as_deref() == Some("enclosure"))
        .filter(|l| is_image(l.media_type.clone(), &l.href))
        .map(|l| l.href.clone());
    contents
        .chain(thumbnails)
        .chain(enclosures)
        .filter_map(|u| base.join(u.trim()).ok())
        .find(|u| matches!(u.scheme(), "http" | "https"))
        .map(String::from)
}

/// The `src` of the first `<img>` of sanitized (so already absolute) HTML.
fn first_img(html: &str) -> Option<String> {
    static IMG: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r#"(?i)<img\s[^>]*?src="([^"]+)""#).expect("valid img regex"));
    IMG.captures(html)
        .map(|c| html_escape::decode_html_entities(&c[1]).into_owned())
        .filter(|src| src.starts_with("http://") || src.starts_with("https://"))
}

/// Content once rewritten and sanitized, with what the article takes from it.
pub struct Cleaned {
    pub html: String,
    /// The plain text.
    pub text: String,
    /// The first `<img>`.
    pub image: Option<String>,
    /// The fingerprint of the text, made when stories first ask for it
    /// (pages and `tidings reprocess` never do), then remembered with the rest.
    body_fingerprint: OnceLock<Option<cluster::Fingerprint>>,
}

impl Cleaned {
    /// The fingerprint of the text, for stories (see `cluster`).
    pub fn body_fingerprint(&self) -> Option<&cluster::Fingerprint> {
        self.body_fingerprint
            .get_or_init(|| cluster::body_fingerprint(&self.text))
            .as_ref()
    }
}

/// Bytes of sanitized HTML remembered by [`cleaned`].
const CLEANED_BYTES: u64 = 4 << 20;

/// Content as readers get it: the source's rewrite rules applied, then
/// [`sanitize`]; with what is read from the result. Entries, article pages and
/// `tidings reprocess` all go through here. Remembered by what went in: a
/// story that several feeds carry, or that a changed feed sends again, is
/// sanitized once. Sanitizing is the most expensive step of normalizing.
pub fn cleaned(raw_html: &str, base: &Url, rewrite: &Rewrite) -> Arc<Cleaned> {
    #[derive(Clone)]
    struct BySize;
    impl quick_cache::Weighter<blake3::Hash, Arc<Cleaned>> for BySize {
        fn weight(&self, _: &blake3::Hash, cleaned: &Arc<Cleaned>) -> u64 {
            cleaned.html.len() as u64 + 1
        }
    }
    static MEMO: LazyLock<quick_cache::sync::Cache<blake3::Hash, Arc<Cleaned>, BySize>> =
        LazyLock::new(|| quick_cache::sync::Cache::with_weighter(4096, CLEANED_BYTES, BySize));

    let mut hasher = blake3::Hasher::new();
    for part in [base.as_str(), rewrite.fingerprint(), raw_html] {
        hasher.update(part.as_bytes());
        hasher.update(&[0]);
    }
    let clean = || {
        let html = if rewrite.is_empty() {
            sanitize(raw_html, base)
        } else {
            sanitize(&rewrite.apply(raw_html), base)
        };
        let text = html_to_text(&html);
        Ok::<_, std::convert::Infallible>(Arc::new(Cleaned {
            body_fingerprint: OnceLock::new(),
            text,
            image: first_img(&html),
            html,
        }))
    };
    let Ok(cleaned) = MEMO.get_or_insert_with(&hasher.finalize(), clean);
    cleaned
}

/// Sanitizes content HTML: no script, style, frames, forms or event handlers,
/// only http(s) and mailto URLs, relative URLs made absolute, and images that
/// do not send a Referer (the source sites refuse hotlinks that do).
///
/// HTML nested deeper than any page needs is reduced to its text first: the
/// HTML parser's work grows with the square of the depth, so a hostile feed
/// could otherwise spend minutes of CPU in one entry.
pub fn sanitize(html: &str, base: &Url) -> String {
    thread_local! {
        /// The rules are the same for every entry; only the base URL changes.
        static RULES: RefCell<ammonia::Builder<'static>> = RefCell::new(sanitizer_rules());
    }
    let flattened;
    let html = if nests_too_deep(html) {
        flattened = format!("<p>{}</p>", html_escape::encode_text(&html_to_text(html)));
        flattened.as_str()
    } else {
        html
    };
    let document = RULES.with_borrow_mut(|rules| {
        rules
            .url_relative(ammonia::UrlRelative::RewriteWithBase(base.clone()))
            .clean(html)
    });
    let mut serialized = Vec::with_capacity(html.len() + html.len() / 4);
    document
        .write_to(&mut serialized)
        .expect("writing to memory does not fail");
    let serialized = String::from_utf8(serialized).expect("html5ever writes UTF-8");
    match xml_safe(&serialized) {
        Cow::Borrowed(_) => serialized,
        Cow::Owned(safe) => safe,
    }
}

fn sanitizer_rules() -> ammonia::Builder<'static> {
    let mut rules = ammonia::Builder::default();
    rules
        .url_schemes(HashSet::from(["http", "https", "mailto"]))
        .add_generic_attributes(["style"])
        .filter_style_properties(HashSet::from([
            "text-align",
            "color",
            "font-weight",
            "font-style",
            "text-decoration",
        ]))
        .add_tag_attributes("img", ["loading"])
        .set_tag_attribute_value("img", "referrerpolicy", "no-referrer");
    rules
}

/// Deeper than real articles nest (they rarely pass 30).
const MAX_HTML_DEPTH: usize = 256;

/// Whether HTML nests deeper than any real article: parsing it would cost
/// time that grows with the square of its depth.
pub(crate) fn nests_too_deep(html: &str) -> bool {
    nesting_depth(html) > MAX_HTML_DEPTH
}

/// The deepest nesting of elements in an HTML fragment, counted from its tags
/// alone (void elements and `/>` do not nest). An estimate, but one that a
/// hostile document cannot make small while making the parser's work large.
fn nesting_depth(html: &str) -> usize {
    const VOID: [&str; 14] = [
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
        "source", "track", "wbr",
    ];
    let (mut depth, mut deepest) = (0usize, 0usize);
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        rest = &rest[open + 1..];
        if let Some(closing) = rest.strip_prefix('/') {
            if closing.starts_with(|c: char| c.is_ascii_alphabetic()) {
                depth = depth.saturating_sub(1);
            }
        } else if rest.starts_with(|c: char| c.is_ascii_alphabetic()) {
            let name_end = rest
                .find(|c: char| !c.is_ascii_alphanumeric())
                .unwrap_or(rest.len());
            // Up to the next `<` at most, so a tag without `>` costs no more than its length.
            let closes_itself = rest[..rest.find(['<', '>']).unwrap_or(rest.len())].ends_with('/');
            if !closes_itself && !VOID.contains(&rest[..name_end].to_ascii_lowercase().as_str()) {
                depth += 1;
                deepest = deepest.max(depth);
            }
        }
    }
    deepest
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
        }
    }

    fn normalize_rss(items: &str) -> Vec<Article> {
        let xml = format!(
            r#"<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel><title>证券时报网 - 要闻</title><link>https://news.stcn.com/</link>{items}</channel></rss>"#
        );
        let hints = ParseHints {
            forced_encoding: None,
            http_charset: None,
            host: None,
            timezone: chrono_tz::Asia::Shanghai,
            max_entries: 100,
        };
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
            a.content_html.contains(&format!(r#"src="{image}""#)),
            "{}",
            a.content_html
        );
        assert!(a.content_html.contains(r#"referrerpolicy="no-referrer""#));
        assert!(
            a.content_html.contains("text-align:center"),
            "{}",
            a.content_html
        );
        assert!(!a.content_html.contains("position"), "{}", a.content_html);
        assert_eq!(a.summary, "正文");
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
        let html = &articles[0].content_html;
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
    fn deeply_nested_html_is_reduced_to_its_text() {
        let base = Url::parse("https://a.example/").unwrap();
        let hostile = format!("{}正文{}", "<div>".repeat(50_000), "</div>".repeat(50_000));
        assert_eq!(sanitize(&hostile, &base), "<p>正文</p>");
        let normal = "<div><p>一<br>二<img src=\"/a.png\"/></p></div>";
        assert_eq!(nesting_depth(normal), 2);
        assert!(sanitize(normal, &base).contains("<br>"));
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
