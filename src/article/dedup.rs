//! Identity: which entries are the same story.
//!
//! One story is one row however many feeds carry it, so the key must come out
//! the same from every feed and on every poll. In order of preference:
//! 1. the canonical link (`https://host/path?sorted&params`, tracking parameters
//!    dropped, http and https alike);
//! 2. the guid, scoped to its source, when there is no usable link;
//! 3. a hash of source, title and date, when there is neither.
//!
//! The fragment goes when it only points into the page (`#comments`, a
//! tracking `#xtor=`), so the same story from two feeds has one key; it stays
//! when it tells entries apart: a hash route (`#/news/1`, `#!/a/9`) is the
//! page, a guid that is the link with its fragment (a weblog's permalinks
//! into one day's page) says so, and entries of one feed whose links differ
//! only there are different entries ([`settle`]). Entries of one feed are
//! never merged without a warning.
//!
//! Never a random id: a random id would make the entry new on every poll.

use chrono::{DateTime, Utc};
use hashbrown::HashMap;
use url::Url;

use crate::article::Article;

/// Query parameters that never change what a link points at (`utm_*` style
/// patterns match by prefix).
#[derive(Debug, Clone)]
pub struct TrackingParams(Vec<String>);

impl TrackingParams {
    pub fn new(patterns: &[String]) -> Self {
        Self(patterns.iter().map(|p| p.to_ascii_lowercase()).collect())
    }

    fn is_tracking(&self, name: &str) -> bool {
        let name = name.to_ascii_lowercase();
        self.0
            .iter()
            .any(|pattern| match pattern.strip_suffix('*') {
                Some(prefix) => name.starts_with(prefix),
                None => name == *pattern,
            })
    }
}

/// The link users should follow: absolute http(s), no tracking parameters,
/// remaining parameters sorted, and no fragment unless it is a hash route
/// (`#/news/1`, `#!/a/9`: the page itself). `None` for anything else.
pub fn canonical_link(link: &str, base: Option<&Url>, tracking: &TrackingParams) -> Option<Url> {
    let link = link.trim();
    if link.is_empty() {
        return None;
    }
    let mut url = match base {
        Some(base) => base.join(link).ok()?,
        None => Url::parse(link).ok()?,
    };
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return None;
    }
    if !url.fragment().is_some_and(is_route) {
        url.set_fragment(None);
    }
    let mut params: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(name, _)| !tracking.is_tracking(name))
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect();
    params.sort();
    if params.is_empty() {
        url.set_query(None);
    } else {
        url.query_pairs_mut().clear().extend_pairs(params);
    }
    Some(url)
}

/// A fragment that names a page of a single-page site rather than a place in one.
fn is_route(fragment: &str) -> bool {
    fragment.starts_with('/') || fragment.starts_with('!')
}

/// The fragment of `link` that may tell entries apart: not a route (which
/// [`canonical_link`] keeps), not empty, and not one that only points into
/// the page (`#comments`, `#respond`, `#more-12`, `#top`) or carries
/// parameters (`#xtor=RSS-3208`, `#:~:text=`).
pub fn fragment_of(link: &str) -> Option<String> {
    let (_, fragment) = link.trim().split_once('#')?;
    const FURNITURE: [&str; 9] = [
        "comment", "respond", "reply", "more", "top", "content", "main", "disqus", "replies",
    ];
    let lower = fragment.to_ascii_lowercase();
    let furniture = fragment.is_empty()
        || is_route(fragment)
        || fragment.contains('=')
        || FURNITURE.iter().any(|word| lower.starts_with(word));
    (!furniture).then(|| fragment.to_string())
}

/// A canonical link with `fragment` put back: the key of an entry whose
/// fragment tells it apart.
pub fn with_fragment(canonical: &Url, fragment: &str) -> Url {
    let mut url = canonical.clone();
    url.set_fragment(Some(fragment));
    url
}

/// The key of an entry that has a usable link: http and https are one story.
pub fn link_key(canonical: &Url) -> String {
    let mut key = canonical.clone();
    // Both schemes are special with a host, so switching never fails.
    let _ = key.set_scheme("https");
    key.into()
}

/// The key of an entry without a link but with a guid: a guid is only unique
/// within the feed that minted it.
pub fn guid_key(source_url: &str, guid: &str) -> String {
    format!("guid:{source_url}#{}", guid.trim())
}

/// The key of an entry with neither link nor guid.
pub fn content_key(source_url: &str, title: &str, date: Option<&str>) -> String {
    let mut hasher = blake3::Hasher::new();
    for part in [source_url, title, date.unwrap_or("")] {
        hasher.update(part.as_bytes());
        hasher.update(&[0]);
    }
    format!("hash:{}", &hasher.finalize().to_hex()[..32])
}

/// An article of one feed, and the fragment its link lost (see [`settle`]).
pub struct Candidate {
    pub article: Article,
    pub fragment: Option<String>,
}

/// Entries of one feed that came out with one key, settled: when their guids
/// differ they are different entries, told apart by their fragment or by
/// their guid (scoped to the feed); entries with one guid (RSS) or id (Atom)
/// are one entry, as the specifications say, of which the latest version is
/// kept, in the place of the first. Every merge is a warning that says which
/// entries and why. A guid that three or more entries linking to different
/// pages share names none of them (a broken template), and is said too.
pub fn settle(
    candidates: Vec<Candidate>,
    source_url: &str,
    warnings: &mut Vec<String>,
) -> Vec<Article> {
    let (mut articles, fragments): (Vec<Article>, Vec<Option<String>>) = candidates
        .into_iter()
        .map(|candidate| (candidate.article, candidate.fragment))
        .unzip();
    tell_apart(&mut articles, &fragments, source_url);
    let broken = broken_guids(&articles, warnings);
    merge_repeats(articles, &broken, warnings)
}

/// Entries the key took as one whose guids differ are different entries:
/// each is keyed by its own fragment where no other has it, else by its
/// guid; the key they shared is an earlier one of theirs.
fn tell_apart(articles: &mut [Article], fragments: &[Option<String>], source_url: &str) {
    for members in groups(articles, |a| Some(a.key.clone())) {
        let guids = distinct(members.iter().filter_map(|&i| articles[i].guid.as_deref()));
        if guids < 2 {
            continue;
        }
        for &i in &members {
            let unique_fragment = fragments[i].as_ref().filter(|fragment| {
                members
                    .iter()
                    .filter(|&&j| fragments[j].as_ref() == Some(fragment))
                    .count()
                    == 1
            });
            let article = &mut articles[i];
            let plain = article.key.clone();
            match (unique_fragment, &article.guid, &article.link) {
                (Some(fragment), _, Some(link)) => {
                    let link = with_fragment(&Url::parse(link).expect("a stored link"), fragment);
                    article.key = link_key(&link);
                    article.link = Some(link.into());
                }
                (None, Some(guid), _) => article.key = guid_key(source_url, guid),
                _ => continue,
            }
            article.earlier_keys = vec![plain];
        }
    }
}

/// The guids that entries linking to three or more pages share: a broken
/// template's, which names none of them; each said.
fn broken_guids(articles: &[Article], warnings: &mut Vec<String>) -> Vec<String> {
    let mut broken = Vec::new();
    for members in groups(articles, |a| a.guid.clone()) {
        let links = distinct(members.iter().filter_map(|&i| articles[i].link.as_deref()));
        if links >= 3 {
            let guid = articles[members[0]].guid.clone().unwrap_or_default();
            warnings.push(format!(
                "{} have the same guid `{guid}` but link to {links} pages: told apart by their links",
                entries_named(&members)
            ));
            broken.push(guid);
        }
    }
    broken
}

/// Entries that are one entry (one guid not `broken`, or one key): the
/// latest version, in the first one's place, each merge said.
fn merge_repeats(
    mut articles: Vec<Article>,
    broken: &[String],
    warnings: &mut Vec<String>,
) -> Vec<Article> {
    let identity = |article: &Article| match &article.guid {
        Some(guid) if !broken.contains(guid) => format!("guid\0{guid}"),
        _ => format!("key\0{}", article.key),
    };
    let mut same: Vec<Vec<usize>> = groups(&articles, |a| Some(identity(a)));
    let by_key = groups(&articles, |a| Some(a.key.clone()));
    merge_overlapping(&mut same, by_key);
    let mut keep = vec![true; articles.len()];
    for members in same {
        let latest = *members
            .iter()
            .rev()
            .max_by_key(|&&i| version_time(&articles[i]))
            .expect("a group has members");
        let first = members[0];
        let why = match &articles[first].guid {
            Some(guid)
                if members
                    .iter()
                    .all(|&i| articles[i].guid.as_ref() == Some(guid)) =>
            {
                format!("the same guid `{guid}`")
            }
            _ => format!(
                "the same link {}",
                articles[first]
                    .link
                    .as_deref()
                    .unwrap_or(&articles[first].key)
            ),
        };
        warnings.push(format!(
            "{} have {why}: one entry, the latest version kept",
            entries_named(&members)
        ));
        for &i in &members {
            keep[i] = i == first;
        }
        articles.swap(first, latest);
    }
    articles
        .into_iter()
        .zip(keep)
        .filter_map(|(article, keep)| keep.then_some(article))
        .collect()
}

/// The indexes of the articles that share a value of `by`, for each value
/// more than one has, in the order of their first members.
fn groups(articles: &[Article], by: impl Fn(&Article) -> Option<String>) -> Vec<Vec<usize>> {
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (i, article) in articles.iter().enumerate() {
        let Some(value) = by(article) else { continue };
        match index.get(&value) {
            Some(&group) => groups[group].push(i),
            None => {
                index.insert(value, groups.len());
                groups.push(vec![i]);
            }
        }
    }
    groups.retain(|members| members.len() > 1);
    groups
}

/// Joins `more` into `groups` where they share a member, so an entry that
/// is one with another by its guid and with a third by its key is one with both.
fn merge_overlapping(groups: &mut Vec<Vec<usize>>, more: Vec<Vec<usize>>) {
    for group in more {
        let mut joined: Vec<usize> = group;
        groups.retain(|existing| {
            let overlaps = existing.iter().any(|i| joined.contains(i));
            if overlaps {
                joined.extend(existing.iter().copied());
            }
            !overlaps
        });
        joined.sort_unstable();
        joined.dedup();
        groups.push(joined);
    }
    groups.sort_by_key(|members| members[0]);
}

fn distinct<'a>(values: impl Iterator<Item = &'a str>) -> usize {
    let mut seen: Vec<&str> = values.collect();
    seen.sort_unstable();
    seen.dedup();
    seen.len()
}

/// When an entry's version was made: updated, else published.
fn version_time(article: &Article) -> Option<DateTime<Utc>> {
    article.updated.or(article.published)
}

/// `entries 2 and 5`, `entries 1, 2 and 7`: counted from 1, as people count.
fn entries_named(members: &[usize]) -> String {
    let numbers: Vec<String> = members.iter().map(|i| (i + 1).to_string()).collect();
    match numbers.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("entries {} and {last}", rest.join(", ")),
        _ => format!("entry {}", numbers.join("")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tracking() -> TrackingParams {
        let patterns = [
            "utm_*", "spm", "from", "fbclid", "gclid", "yclid", "mc_cid", "mc_eid",
        ];
        TrackingParams::new(&patterns.map(String::from))
    }

    fn key(link: &str) -> String {
        link_key(&canonical_link(link, None, &tracking()).unwrap())
    }

    #[test]
    fn decorated_copies_of_one_link_share_a_key() {
        let plain = "https://news.stcn.com/news/202201/t20220126_4094127.html";
        for copy in [
            "https://news.stcn.com/news/202201/t20220126_4094127.html?utm_source=rss&utm_medium=feed",
            "https://news.stcn.com/news/202201/t20220126_4094127.html#comments",
            "http://news.stcn.com/news/202201/t20220126_4094127.html",
            "HTTPS://NEWS.STCN.COM:443/news/202201/t20220126_4094127.html?spm=a.b.c&from=timeline",
            " https://news.stcn.com/news/202201/t20220126_4094127.html?fbclid=x&gclid=y ",
        ] {
            assert_eq!(key(copy), plain, "{copy}");
        }
    }

    #[test]
    fn meaningful_parameters_stay_and_are_sorted() {
        assert_eq!(
            key("https://a.example/article?id=7&utm_campaign=x&page=2"),
            "https://a.example/article?id=7&page=2"
        );
        assert_eq!(
            key("https://a.example/a?b=2&a=1"),
            key("https://a.example/a?a=1&b=2")
        );
        assert_ne!(
            key("https://a.example/a?id=1"),
            key("https://a.example/a?id=2")
        );
    }

    #[test]
    fn relative_links_resolve_and_non_web_links_are_unusable() {
        let base = Url::parse("https://news.stcn.com/feeds/yw.xml").unwrap();
        let resolved = canonical_link("/news/1.html", Some(&base), &tracking()).unwrap();
        assert_eq!(resolved.as_str(), "https://news.stcn.com/news/1.html");
        for bad in [
            "",
            "javascript:alert(1)",
            "mailto:a@b.c",
            "not a url",
            "data:text/html,x",
        ] {
            assert_eq!(canonical_link(bad, None, &tracking()), None, "{bad}");
        }
    }

    #[test]
    fn fallback_keys_are_stable_and_scoped() {
        assert_eq!(guid_key("https://a/f", "42"), guid_key("https://a/f", "42"));
        assert_ne!(guid_key("https://a/f", "42"), guid_key("https://b/f", "42"));
        let one = content_key("https://a/f", "标题", Some("2022-01-26T07:54:00Z"));
        assert_eq!(
            one,
            content_key("https://a/f", "标题", Some("2022-01-26T07:54:00Z"))
        );
        assert_ne!(one, content_key("https://a/f", "标题", None));
    }
}
