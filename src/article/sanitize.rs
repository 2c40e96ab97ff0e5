//! Content as readers get it: the source's rewrite rules applied, then
//! sanitized with ammonia (no scripts, frames, event handlers, `javascript:`
//! or `data:` URLs), relative URLs made absolute, and what the article takes
//! from the result (its text, its first image). Entries, article pages and
//! `tidings reprocess` all go through [`cleaned`].

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashSet;
use std::sync::{Arc, LazyLock, Mutex, OnceLock, Weak};

use hashbrown::HashMap;

use regex::Regex;
use url::Url;

use crate::article::rewrite::Rewrite;
use crate::cluster;
use crate::text::{html_to_text, xml_safe};

/// The `src` of the first `<img>` of sanitized (so already absolute) HTML.
fn first_img(html: &str) -> Option<String> {
    static IMG: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r#"(?i)<img\s[^>]*?src="([^"]+)""#).expect("valid img regex"));
    IMG.captures(html)
        .map(|c| html_escape::decode_html_entities(&c[1]).into_owned())
        .filter(|src| src.starts_with("http://") || src.starts_with("https://"))
}

/// Content once rewritten and sanitized, with what the article takes from it.
#[derive(Default, Debug)]
pub struct Cleaned {
    pub html: Arc<str>,
    /// The plain text.
    pub text: Arc<str>,
    /// The first `<img>`.
    pub image: Option<String>,
    /// The fingerprint of the text, made when stories first ask for it
    /// (pages and `tidings reprocess` never do), then remembered with the rest.
    /// Boxed: a content no article holds stays allocated, without its texts,
    /// until [`InFlight`] forgets it.
    body_fingerprint: OnceLock<Option<Box<cluster::Fingerprint>>>,
}

/// The same content: the fingerprint is made from the text.
impl PartialEq for Cleaned {
    fn eq(&self, other: &Cleaned) -> bool {
        (&self.html, &self.text, &self.image) == (&other.html, &other.text, &other.image)
    }
}

impl Cleaned {
    /// The fingerprint of the text, for stories (see `cluster`).
    pub fn body_fingerprint(&self) -> Option<&cluster::Fingerprint> {
        self.body_fingerprint
            .get_or_init(|| cluster::body_fingerprint(&self.text).map(Box::new))
            .as_deref()
    }
}

/// Content as readers get it: the source's rewrite rules applied, then
/// [`sanitize`]; with what is read from the result. Entries, article pages and
/// `tidings reprocess` all go through here. Sanitizing is the most expensive
/// step of normalizing, and a story that several feeds carry is sanitized
/// once while an article made from it waits for the writer ([`InFlight`]).
/// A story's copies come from feeds read anywhere in a poll: a memo of the
/// last 4 MiB of contents spared fewer of them (12% of a cold poll's entries
/// against 18%), in memory of its own.
pub fn cleaned(raw_html: &str, base: &Url, rewrite: &Rewrite) -> Arc<Cleaned> {
    static IN_FLIGHT: LazyLock<InFlight> = LazyLock::new(InFlight::default);
    let mut hasher = blake3::Hasher::new();
    for part in [base.as_str(), rewrite.fingerprint(), raw_html] {
        hasher.update(part.as_bytes());
        hasher.update(&[0]);
    }
    let key = hasher.finalize();
    if let Some(held) = IN_FLIGHT.get(&key) {
        return held;
    }
    let html = if rewrite.is_empty() {
        sanitize(raw_html, base)
    } else {
        sanitize(&rewrite.apply(raw_html), base)
    };
    let text = html_to_text(&html);
    let cleaned = Arc::new(Cleaned {
        body_fingerprint: OnceLock::new(),
        text: text.into(),
        image: first_img(&html),
        html: html.into(),
    });
    IN_FLIGHT.insert(key, &cleaned);
    cleaned
}

/// The contents that articles still hold (each keeps the [`Cleaned`] it was
/// made from until it is written), found by what went in. It costs a pointer
/// and a small record a content, not the content: the texts go with the last
/// article that holds them.
#[derive(Default)]
struct InFlight(Mutex<HashMap<blake3::Hash, Weak<Cleaned>>>);

impl InFlight {
    fn get(&self, key: &blake3::Hash) -> Option<Arc<Cleaned>> {
        self.held().get(key)?.upgrade()
    }

    /// Remembers `cleaned`. What no article holds any more is forgotten
    /// whenever the map is full, so it grows only with what is held.
    fn insert(&self, key: blake3::Hash, cleaned: &Arc<Cleaned>) {
        let mut held = self.held();
        if held.len() == held.capacity() {
            held.retain(|_, content| content.strong_count() > 0);
        }
        held.insert(key, Arc::downgrade(cleaned));
    }

    fn held(&self) -> std::sync::MutexGuard<'_, HashMap<blake3::Hash, Weak<Cleaned>>> {
        // The map is whole between statements: a panic elsewhere leaves it usable.
        self.0.lock().unwrap_or_else(|poison| poison.into_inner())
    }
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

    #[test]
    fn content_an_article_holds_is_not_sanitized_again() {
        let base = Url::parse("https://www.stcn.com/article/detail/1.html").unwrap();
        let rules = Rewrite::default();
        let html = "<p>证券时报网讯，<script>x()</script>同一篇稿件。</p>";
        let first = cleaned(html, &base, &rules);
        let copy = cleaned(html, &base, &rules);
        assert!(
            Arc::ptr_eq(&first, &copy),
            "a copy read while the first is held"
        );
        assert!(!first.html.contains("script"));
        let elsewhere = Url::parse("https://finance.sina.com.cn/a.html").unwrap();
        let other_base = cleaned(html, &elsewhere, &rules);
        assert!(
            !Arc::ptr_eq(&first, &other_base),
            "relative links resolve elsewhere"
        );
        drop((copy, other_base));
        let weak = Arc::downgrade(&first);
        drop(first);
        assert!(weak.upgrade().is_none(), "nothing else holds it");
        let again = cleaned(html, &base, &rules);
        assert_eq!(
            Arc::strong_count(&again),
            1,
            "sanitized anew once nothing held it"
        );
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
}
