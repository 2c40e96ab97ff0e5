//! Finding a site's feeds, and proposing a `list` table for a page that has
//! none (`tidings discover`). Pure: page text in; `crate::cli::discover` fetches.
//!
//! A proposal is the largest group of like sibling elements that each hold a
//! headline-length link (navigation holds short ones, ad slots images), with
//! the selectors of the link and of a date where the items show one. It is a
//! starting point a person checks with `tidings parse`, not a promise.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use dom_query::{Document, NodeRef};
use hashbrown::HashMap;
use url::Url;

/// The feeds a page advertises (`<link rel="alternate">` of a feed type),
/// resolved against the page.
pub fn advertised_feeds(html: &str, url: &Url) -> Vec<Url> {
    const FEED_TYPES: [&str; 5] = [
        "application/rss+xml",
        "application/atom+xml",
        "application/feed+json",
        "application/json",
        "application/rdf+xml",
    ];
    let document = Document::from(html);
    let base = super::base_of(&document, url);
    let mut feeds: Vec<Url> = Vec::new();
    for link in document.select(r#"link[rel~="alternate"][href]"#).nodes() {
        let kind = link
            .attr("type")
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        let Some(href) = link.attr("href") else {
            continue;
        };
        if FEED_TYPES.contains(&kind.as_str())
            && let Ok(feed) = base.join(href.trim())
            && !feeds.contains(&feed)
        {
            feeds.push(feed);
        }
    }
    feeds
}

/// Where sites usually put their feeds, beside `url` and at its root.
pub fn usual_places(url: &Url) -> Vec<Url> {
    const PATHS: [&str; 10] = [
        "feed",
        "feed/",
        "rss",
        "rss.xml",
        "atom.xml",
        "feed.xml",
        "index.xml",
        "index.rss",
        "feeds",
        "feed.json",
    ];
    let mut places: Vec<Url> = Vec::new();
    for base in ["/", "./"] {
        for path in PATHS {
            if let Ok(place) = url.join(&format!("{base}{path}"))
                && !places.contains(&place)
            {
                places.push(place);
            }
        }
    }
    places
}

/// The selectors of a proposed `list` table, as they would be written.
#[derive(Debug, Clone, PartialEq)]
pub struct Proposal {
    pub items: String,
    pub title: String,
    pub link: String,
    pub date: Option<String>,
    pub image: Option<String>,
    /// How many items the page has by these selectors.
    pub count: usize,
}

impl Proposal {
    /// The proposal as a line of `config.toml`.
    pub fn toml(&self) -> String {
        let quoted = |value: &str| toml::Value::String(value.to_string()).to_string();
        let mut keys = vec![
            format!("items = {}", quoted(&self.items)),
            format!("title = {}", quoted(&self.title)),
            format!("link = {}", quoted(&self.link)),
        ];
        keys.extend(
            self.date
                .iter()
                .map(|date| format!("date = {}", quoted(date))),
        );
        keys.extend(
            self.image
                .iter()
                .map(|image| format!("image = {}", quoted(image))),
        );
        format!("list = {{ {} }}", keys.join(", "))
    }
}

/// Characters a headline has at least, counting a CJK character as two:
/// navigation (首页, 要闻, About us) has fewer, a headline has more.
const HEADLINE_WIDTH: usize = 16;
/// Like siblings a list has at least.
const LEAST_ITEMS: usize = 3;

/// A `list` table for `html`, the page at `url`, when it has a list of items
/// with headline links; dates are tried in `timezone` as of `now`.
pub fn propose(html: &str, timezone: Tz, now: DateTime<Utc>) -> Option<Proposal> {
    let document = Document::from(html);
    let root = document.root();
    let mut best: Option<(usize, Vec<NodeRef>)> = None;
    for parent in root.descendants_it().filter(NodeRef::is_element) {
        let mut by_tag: HashMap<String, Vec<NodeRef>> = HashMap::new();
        for child in parent.element_children() {
            if headline_link(&child).is_some() {
                let tag = child.node_name().unwrap_or_default().to_string();
                by_tag.entry(tag).or_default().push(child);
            }
        }
        for (_, members) in by_tag {
            let dated = members
                .iter()
                .filter(|m| date_element(m, timezone, now).is_some())
                .count();
            // Dated items weigh double: a list of news shows when each came.
            let score = members.len() + dated;
            if members.len() >= LEAST_ITEMS && best.as_ref().is_none_or(|(b, _)| score > *b) {
                best = Some((score, members));
            }
        }
    }
    let (_, members) = best?;
    let items = items_selector(&document, &members)?;
    let link_path = most_common(
        members
            .iter()
            .filter_map(|member| headline_link(member).map(|link| path_between(member, &link))),
    )?;
    let date = most_common(members.iter().filter_map(|member| {
        date_element(member, timezone, now).map(|date| path_between(member, &date))
    }))
    .filter(|(_, count)| count * 2 >= members.len());
    let image = most_common(members.iter().filter_map(|member| {
        member
            .descendants_it()
            .find(|node| node.has_name("img") && node.has_attr("src"))
            .map(|img| path_between(member, &img))
    }))
    .filter(|(_, count)| count * 2 >= members.len());
    let (link, _) = link_path;
    Some(Proposal {
        items,
        title: link.clone(),
        link: format!("{link}@href"),
        date: date.map(|(path, _)| path),
        image: image.map(|(path, _)| format!("{path}@src")),
        count: members.len(),
    })
}

/// The link of an item that reads as a headline: its widest `a[href]`.
fn headline_link<'a>(item: &NodeRef<'a>) -> Option<NodeRef<'a>> {
    std::iter::once(*item)
        .chain(item.descendants_it())
        .filter(|node| node.has_name("a") && node.has_attr("href"))
        .map(|link| (width(&link.text()), link))
        .filter(|(width, _)| (HEADLINE_WIDTH..=400).contains(width))
        .max_by_key(|(width, _)| *width)
        .map(|(_, link)| link)
}

/// The text's width, a CJK character counting as two.
fn width(text: &str) -> usize {
    text.split_whitespace()
        .flat_map(str::chars)
        .map(|c| if c.is_ascii() { 1 } else { 2 })
        .sum()
}

/// The innermost element of an item, outside its headline link, whose text
/// is a date and nothing much else.
fn date_element<'a>(item: &NodeRef<'a>, timezone: Tz, now: DateTime<Utc>) -> Option<NodeRef<'a>> {
    let link = headline_link(item);
    item.descendants_it()
        .filter(NodeRef::is_element)
        .filter(|node| {
            link.as_ref().is_none_or(|link| {
                node.id != link.id && !node.ancestors_it(None).any(|a| a.id == link.id)
            })
        })
        .filter(|node| node.element_children().is_empty())
        .find(|node| {
            let text = crate::text::collapse_whitespace(&node.text());
            text.chars().count() <= 40
                && super::dates::parse_listed(&text, timezone, now, None).is_some()
        })
}

/// A selector that finds `members` in the document and nothing outside their
/// list (items of it without a headline are fine: they are skipped with a
/// warning): their parent's, then their tag and the classes they share;
/// widened by ancestors until it finds nothing else.
fn items_selector(document: &Document, members: &[NodeRef]) -> Option<String> {
    let first = members.first()?;
    let tag = first.node_name()?.to_string();
    let shared = members
        .iter()
        .map(classes)
        .reduce(|shared, next| shared.into_iter().filter(|c| next.contains(c)).collect())
        .unwrap_or_default();
    let member = format!(
        "{tag}{}",
        shared.iter().map(|c| format!(".{c}")).collect::<String>()
    );
    let mut context = String::new();
    for ancestor in first.ancestors_it(Some(6)).filter(NodeRef::is_element) {
        let step = step_of(&ancestor, false);
        if step == "html" {
            break;
        }
        context = if context.is_empty() {
            format!("{step} >")
        } else {
            format!("{step} {context}")
        };
        let selector = format!("{context} {member}");
        let list = first.parent()?.id;
        let found = document.select(&selector);
        if found.length() >= members.len()
            && found
                .nodes()
                .iter()
                .all(|node| node.parent().is_some_and(|p| p.id == list))
        {
            return Some(selector);
        }
    }
    None
}

/// The classes of an element that are usable in a selector and not a state
/// (`active`, `on`, `first`...).
fn classes(node: &NodeRef) -> Vec<String> {
    const STATES: [&str; 9] = [
        "active", "on", "current", "cur", "first", "last", "odd", "even", "selected",
    ];
    node.attr("class")
        .unwrap_or_default()
        .split_ascii_whitespace()
        .filter(|class| {
            class.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && class
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                && !STATES.contains(class)
        })
        .map(String::from)
        .collect()
}

/// One step of a selector: an id where the element has a usable one, else
/// its tag and classes, and its place among same-tagged siblings when
/// `placed` and it has some.
fn step_of(node: &NodeRef, placed: bool) -> String {
    if let Some(id) = node.id_attr().filter(|id| {
        id.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            && id.starts_with(|c: char| c.is_ascii_alphabetic())
    }) {
        return format!("#{id}");
    }
    let tag = node.node_name().unwrap_or_default().to_string();
    let mut step = format!(
        "{tag}{}",
        classes(node)
            .iter()
            .map(|c| format!(".{c}"))
            .collect::<String>()
    );
    if placed && let Some(parent) = node.parent() {
        let siblings = parent.element_children();
        let alike = siblings
            .iter()
            .filter(|sibling| step_of(sibling, false) == step)
            .count();
        if alike > 1 {
            // `:nth-of-type` counts every sibling of the tag, whatever its classes.
            let same_tag: Vec<&NodeRef> = siblings
                .iter()
                .filter(|sibling| sibling.node_name().is_some_and(|name| *name == *tag))
                .collect();
            let place = same_tag.iter().position(|s| s.id == node.id).unwrap_or(0) + 1;
            step += &if place == same_tag.len() {
                ":last-of-type".to_string()
            } else {
                format!(":nth-of-type({place})")
            };
        }
    }
    step
}

/// The selector of `target` inside `item` (empty when it is the item).
fn path_between(item: &NodeRef, target: &NodeRef) -> String {
    let mut steps = Vec::new();
    let mut node = Some(*target);
    while let Some(current) = node {
        if current.id == item.id {
            break;
        }
        steps.push(step_of(&current, true));
        node = current.parent();
    }
    steps.reverse();
    steps.join(" ")
}

/// The value that comes most often, and how often.
fn most_common(values: impl Iterator<Item = String>) -> Option<(String, usize)> {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for value in values {
        match counts.iter_mut().find(|(v, _)| *v == value) {
            Some((_, count)) => *count += 1,
            None => counts.push((value, 1)),
        }
    }
    counts.into_iter().max_by_key(|(_, count)| *count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advertised_feeds_and_usual_places() {
        let html = r#"<html><head><base href="https://a.example/news/">
            <link rel="alternate" type="application/rss+xml" href="rss.xml">
            <link rel="alternate stylesheet" type="text/css" href="x.css">
            <link rel="alternate" type="application/atom+xml" href="/atom.xml"></head></html>"#;
        let page = Url::parse("https://a.example/news/list.html").unwrap();
        let feeds: Vec<String> = advertised_feeds(html, &page)
            .iter()
            .map(Url::to_string)
            .collect();
        assert_eq!(
            feeds,
            [
                "https://a.example/news/rss.xml",
                "https://a.example/atom.xml"
            ]
        );
        let places = usual_places(&page);
        assert!(places.contains(&Url::parse("https://a.example/rss.xml").unwrap()));
        assert!(places.contains(&Url::parse("https://a.example/news/feed").unwrap()));
    }

    #[test]
    fn the_list_of_headlines_is_proposed_not_the_navigation() {
        let item = |n: u32| {
            format!(
                r#"<li class="item{}"><div class="tt"><a href="/a/{n}.html">第{n}条新闻的标题足够长可以算作标题</a></div>
                <div class="info"><span>证券时报网</span><span>{:02}:15</span></div></li>"#,
                if n == 1 { " first" } else { "" },
                n
            )
        };
        let html = format!(
            r#"<html><body><ul class="nav"><li><a href="/">首页</a></li><li><a href="/yw">要闻</a></li>
               <li><a href="/gs">股市</a></li><li><a href="/gs">公司</a></li></ul>
               <div class="main"><ul class="news">{}</ul></div></body></html>"#,
            (1..=6).map(item).collect::<String>()
        );
        let now = crate::read::dates::from_db("2025-06-15T04:00:00Z").unwrap();
        let proposal = propose(&html, chrono_tz::Asia::Shanghai, now).unwrap();
        assert_eq!(proposal.items, "ul.news > li.item");
        assert_eq!(proposal.link, "div.tt a@href");
        assert_eq!(proposal.date.as_deref(), Some("div.info span:last-of-type"));
        assert_eq!(proposal.count, 6);
    }
}
