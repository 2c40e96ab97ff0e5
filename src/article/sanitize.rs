//! Content as readers get it: the source's rewrite rules applied, then
//! sanitized with ammonia (no scripts, frames, event handlers, `javascript:`
//! or `data:` URLs), relative URLs made absolute, and what the article takes
//! from the result (its text, its first image). Entries, article pages and
//! `tidings reprocess` all go through [`cleaned`].

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashSet;
use std::sync::{Arc, LazyLock, OnceLock};

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
#[derive(Default)]
pub struct Cleaned {
    pub html: Arc<str>,
    /// The plain text.
    pub text: Arc<str>,
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
            text: text.into(),
            image: first_img(&html),
            html: html.into(),
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
