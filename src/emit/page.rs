//! The news pages a person reads in a browser: stories newest first (all,
//! one category, a search's hits) and one story with every copy and why it
//! joined.
//!
//! Server-rendered HTML that needs no script, with a stylesheet of its own
//! (`STYLESHEET`, served beside the pages) and the system's CJK fonts.
//! Every text from a feed is escaped here; an article's content is its
//! sanitized HTML; only http(s) addresses become links. Like the feeds, a
//! page's bytes depend only on what it shows, never on the clock, so it can
//! be cached and answered with 304.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use html_escape::{encode_double_quoted_attribute as attribute, encode_text as text};
use percent_encoding::utf8_percent_encode;

use super::{also_in, copies, web_address};
use crate::article::StoredArticle;
use crate::store::StoryMember;
use crate::text::truncate_chars;

/// The stylesheet every page links, served at `{root}/tidings.css`.
pub const STYLESHEET: &str = include_str!("page.css");

/// Characters of an article's text a list shows under its title.
const LEAD_CHARS: usize = 140;

/// What every page shows around its stories: where the reader is, the
/// categories, the search box and the feeds of what the page shows.
pub struct Frame<'a> {
    /// The path the site is served under: empty at the root of its host.
    pub root: &'a str,
    /// The page's own title (the site's name is added).
    pub title: String,
    /// Every category label with its article count, most used first.
    pub labels: &'a [(String, i64)],
    /// Which page this is.
    pub here: Here<'a>,
    /// The Atom and JSON Feed of the same entries, for readers pointed at
    /// the page.
    pub feeds: Option<(String, String)>,
    /// The zone times are shown in.
    pub zone: Tz,
}

/// Which page a reader is on: the categories show it, the search box keeps
/// the query.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Here<'a> {
    All,
    Label(&'a str),
    Search(&'a str),
    Story,
}

/// A page of stories, each with its id (the story's page), then a link to
/// the next page when `more` gives one.
pub fn stories(frame: &Frame<'_>, stories: &[(i64, StoredArticle)], more: Option<&str>) -> String {
    let mut html = open(frame);
    html.push_str(&format!("<h1>{}</h1>\n", text(&frame.title)));
    if stories.is_empty() {
        html.push_str(match frame.here {
            Here::Search(_) => "<p class=\"empty\">没有找到相关文章。</p>\n",
            _ => "<p class=\"empty\">还没有文章：第一轮抓取结束后，这里会列出各来源的报道。</p>\n",
        });
    }
    for (id, article) in stories {
        story_item(&mut html, frame, *id, article);
    }
    if let Some(more) = more {
        html.push_str(&format!(
            "<nav class=\"pages\"><a rel=\"next\" href=\"{}\">更多 →</a></nav>\n",
            attribute(more)
        ));
    }
    close(html, frame.root)
}

/// The page of one story: its first article in full, then every copy with
/// its outlet, time and why tidings put it there.
pub fn story(frame: &Frame<'_>, lead: &StoredArticle, members: &[StoryMember]) -> String {
    let mut html = open(frame);
    html.push_str("<article class=\"story full\">\n<h1>");
    title_link(&mut html, lead, None, frame.root);
    html.push_str("</h1>\n");
    meta(&mut html, frame, lead);
    html.push_str(&format!(
        "<div class=\"content\">{}</div>\n</article>\n",
        lead.content_html
    ));
    html.push_str(&format!(
        "<section class=\"copies\">\n<h2>{} 篇报道</h2>\n<ol>\n",
        members.len()
    ));
    for member in members {
        html.push_str("<li>");
        match member.link.as_deref().and_then(web_address) {
            Some(link) => html.push_str(&format!(
                "<a href=\"{}\">{}</a>",
                attribute(link),
                text(&member.title)
            )),
            None => html.push_str(&text(&member.title)),
        }
        html.push_str(&format!(
            " <span class=\"outlet\">{}</span> {}<br><small class=\"why\">{}</small></li>\n",
            text(&member.outlet),
            time(member.published, frame.zone),
            text(
                &member
                    .why
                    .as_ref()
                    .map_or_else(|| "首发".to_string(), ToString::to_string)
            )
        ));
    }
    close(html + "</ol>\n</section>\n", frame.root)
}

/// The address of a label's page under `root` (a path, or the site's
/// public address).
pub fn label_path(root: &str, label: &str) -> String {
    format!(
        "{root}/c/{}",
        utf8_percent_encode(label, super::PATH_SEGMENT)
    )
}

/// The head of the document, the site's bar (name, search box) and the
/// categories.
fn open(frame: &Frame<'_>) -> String {
    let root = frame.root;
    let mut html = String::with_capacity(64 * 1024);
    html.push_str(&format!(
        "<!doctype html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"color-scheme\" content=\"light dark\">\n\
         <title>{} · tidings</title>\n\
         <link rel=\"stylesheet\" href=\"{root}/tidings.css\">\n",
        text(&frame.title)
    ));
    if let Some((atom, json)) = &frame.feeds {
        html.push_str(&format!(
            "<link rel=\"alternate\" type=\"application/atom+xml\" title=\"{title} (Atom)\" href=\"{}\">\n\
             <link rel=\"alternate\" type=\"application/feed+json\" title=\"{title} (JSON Feed)\" href=\"{}\">\n",
            attribute(atom),
            attribute(json),
            title = attribute(&frame.title),
        ));
    }
    html.push_str(&format!(
        "</head>\n<body>\n<header>\n<a class=\"site\" href=\"{root}/\">tidings</a>\n\
         <form action=\"{root}/search\" method=\"get\" role=\"search\">\
         <input type=\"search\" name=\"q\" value=\"{}\" placeholder=\"搜索全文\" aria-label=\"搜索全文\">\
         <button type=\"submit\">搜索</button></form>\n</header>\n<nav class=\"labels\">\n",
        attribute(match frame.here {
            Here::Search(query) => query,
            _ => "",
        })
    ));
    let current = |yes: bool| if yes { " aria-current=\"page\"" } else { "" };
    html.push_str(&format!(
        "<a href=\"{root}/\"{}>全部</a>\n",
        current(frame.here == Here::All)
    ));
    for (label, count) in frame.labels {
        html.push_str(&format!(
            "<a href=\"{}\"{}>{} <small>{count}</small></a>\n",
            attribute(&label_path(root, label)),
            current(frame.here == Here::Label(label)),
            text(label)
        ));
    }
    html.push_str("</nav>\n<main>\n");
    html
}

fn close(mut html: String, root: &str) -> String {
    html.push_str(&format!(
        "</main>\n<footer>tidings · <a href=\"{root}/feeds/\">订阅源</a></footer>\n</body>\n</html>\n"
    ));
    html
}

/// One story in a list: title, time, outlet, labels, the start of its text,
/// the other outlets that carry it, and its page.
fn story_item(html: &mut String, frame: &Frame<'_>, id: i64, article: &StoredArticle) {
    html.push_str("<article class=\"story\">\n<h2>");
    title_link(html, article, Some(id), frame.root);
    html.push_str("</h2>\n");
    meta(html, frame, article);
    if !article.summary.is_empty() {
        html.push_str(&format!(
            "<p class=\"lead\">{}</p>\n",
            text(&truncate_chars(&article.summary, LEAD_CHARS))
        ));
    }
    let also = also_in(article, frame.zone, Some("also"));
    if !also.is_empty() {
        html.push_str(&also);
        html.push('\n');
    }
    let sources = article.reprints.len() + 1;
    html.push_str(&format!(
        "<a class=\"detail\" href=\"{}/story/{id}\">{}</a>\n</article>\n",
        frame.root,
        if sources > 1 {
            format!("{sources} 个来源 · 详情")
        } else {
            "详情".to_string()
        }
    ));
}

/// The title, linked to the story's earliest copy (else to its page).
fn title_link(html: &mut String, article: &StoredArticle, id: Option<i64>, root: &str) {
    let target = copies(article)
        .first()
        .and_then(|link| web_address(link))
        .map(String::from)
        .or_else(|| id.map(|id| format!("{root}/story/{id}")));
    match target {
        Some(href) => html.push_str(&format!(
            "<a href=\"{}\">{}</a>",
            attribute(&href),
            text(&article.title)
        )),
        None => html.push_str(&text(&article.title)),
    }
}

/// Time, outlet and category labels of an article.
fn meta(html: &mut String, frame: &Frame<'_>, article: &StoredArticle) {
    html.push_str("<p class=\"meta\">");
    html.push_str(&time(article.published, frame.zone));
    if let Some(origin) = &article.origin {
        html.push_str(&format!(
            " · <span class=\"outlet\">{}</span>",
            text(&origin.name)
        ));
    }
    for label in &article.categories {
        html.push_str(&format!(
            " <a class=\"label\" href=\"{}\">{}</a>",
            attribute(&label_path(frame.root, label)),
            text(label)
        ));
    }
    html.push_str("</p>\n");
}

/// A time in `zone`, machine-readable in UTC.
fn time(at: DateTime<Utc>, zone: Tz) -> String {
    format!(
        "<time datetime=\"{}\">{}</time>",
        crate::read::dates::to_db(at),
        at.with_timezone(&zone).format("%Y-%m-%d %H:%M")
    )
}
