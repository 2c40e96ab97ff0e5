//! Merged Atom 1.0 feeds (RFC 4287).
//!
//! A feed's bytes depend only on its articles, never on the clock, so an
//! unchanged feed has an unchanged ETag and readers get their 304.

use chrono_tz::Tz;

use super::{Head, also_in, copies, entry_id, entry_updated, last_changed};
use crate::article::{Origin, StoredArticle};
use crate::read::dates::to_db;
use crate::text::xml_escape;

/// Renders a feed of `articles` (a merged feed, or a search's).
pub fn render(head: &Head<'_>, articles: &[StoredArticle]) -> String {
    let mut out = String::with_capacity(
        1024 + articles
            .iter()
            .map(|a| a.content_html.len() + 1024)
            .sum::<usize>(),
    );
    out.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\n");
    element(&mut out, "  ", "id", &head.id);
    element(&mut out, "  ", "title", &head.title);
    element(&mut out, "  ", "updated", &to_db(last_changed(articles)));
    out.push_str(&format!(
        "  <link rel=\"self\" type=\"application/atom+xml\" href=\"{}\"/>\n",
        xml_escape(head.self_url)
    ));
    out.push_str(&format!(
        "  <link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\n",
        xml_escape(&head.page_url)
    ));
    out.push_str(&format!(
        "  <generator version=\"{}\">tidings</generator>\n",
        env!("CARGO_PKG_VERSION")
    ));
    for article in articles {
        entry(&mut out, article, head.zone);
    }
    out.push_str("</feed>\n");
    out
}

fn entry(out: &mut String, article: &StoredArticle, zone: Tz) {
    out.push_str("  <entry>\n");
    element(out, "    ", "id", &entry_id(&article.key));
    element(out, "    ", "title", &article.title);
    element(out, "    ", "updated", &to_db(entry_updated(article)));
    element(out, "    ", "published", &to_db(article.published));
    out.push_str(&format!(
        "    <author><name>{}</name></author>\n",
        xml_escape(&article.author)
    ));
    for category in &article.categories {
        out.push_str(&format!(
            "    <category term=\"{}\"/>\n",
            xml_escape(category)
        ));
    }
    links(out, article);
    if let Some(image) = &article.image {
        out.push_str(&format!(
            "    <link rel=\"enclosure\" href=\"{}\"/>\n",
            xml_escape(image)
        ));
    }
    if !article.summary.is_empty() {
        element(out, "    ", "summary", &article.summary);
    }
    out.push_str(&format!(
        "    <content type=\"html\">{}{}</content>\n",
        xml_escape(&article.content_html),
        xml_escape(&also_in(article, zone, None))
    ));
    if let Some(origin) = &article.origin {
        source(out, origin);
    }
    out.push_str("  </entry>\n");
}

/// A story's copies: the earliest is its alternate link, the others related
/// ones.
fn links(out: &mut String, article: &StoredArticle) {
    for (n, link) in copies(article).into_iter().enumerate() {
        let rel = if n == 0 { "alternate" } else { "related" };
        out.push_str(&format!(
            "    <link rel=\"{rel}\" type=\"text/html\" href=\"{}\"/>\n",
            xml_escape(link)
        ));
    }
}

/// The feed an article came from (`<source>`).
fn source(out: &mut String, origin: &Origin) {
    // A feed read from the server's disk (`file:`) must not show its path:
    // the feed's site, else a name derived from it, stands for it.
    let public = origin.url.starts_with("http://") || origin.url.starts_with("https://");
    let id = match (&origin.feed_link, public) {
        (_, true) => origin.url.clone(),
        (Some(site), false) => site.clone(),
        (None, false) => format!(
            "urn:tidings:source:{}",
            &blake3::hash(origin.url.as_bytes()).to_hex()[..16]
        ),
    };
    out.push_str("    <source>\n");
    element(out, "      ", "id", &id);
    let title = match (&origin.feed_title, &origin.channel) {
        (Some(title), _) => title.clone(),
        (None, Some(channel)) => format!("{} - {channel}", origin.name),
        (None, None) => origin.name.clone(),
    };
    element(out, "      ", "title", &title);
    if public {
        out.push_str(&format!(
            "      <link rel=\"self\" href=\"{}\"/>\n",
            xml_escape(&origin.url)
        ));
    }
    if let Some(site) = &origin.feed_link {
        out.push_str(&format!(
            "      <link rel=\"alternate\" href=\"{}\"/>\n",
            xml_escape(site)
        ));
    }
    out.push_str("    </source>\n");
}

fn element(out: &mut String, indent: &str, name: &str, text: &str) {
    out.push_str(&format!("{indent}<{name}>{}</{name}>\n", xml_escape(text)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::article::Origin;
    use chrono::DateTime;

    fn head(label: Option<&str>, url: &'static str) -> Head<'static> {
        Head::of_label(
            label,
            url,
            "http://127.0.0.1:8080/".into(),
            Tz::Asia__Shanghai,
        )
    }

    fn article(key: &str, title: &str) -> StoredArticle {
        StoredArticle {
            key: key.into(),
            title: title.into(),
            link: Some(key.into()),
            author: "证券时报网".into(),
            published: DateTime::parse_from_rfc3339("2022-01-26T07:54:00Z")
                .unwrap()
                .to_utc(),
            updated: None,
            summary: "摘要".into(),
            content_html: "<p>正文 ]]> &amp;</p>".into(),
            image: None,
            categories: vec!["金融".into(), "证券时报网".into(), "要闻".into()],
            origin: Some(Origin {
                name: "证券时报网".into(),
                url: "https://rsshub.app/stcn/yw".into(),
                channel: Some("要闻".into()),
                feed_title: None,
                feed_link: None,
            }),
            reprints: Vec::new(),
        }
    }

    #[test]
    fn feeds_parse_back_with_every_field() {
        let articles = [
            article("https://a.example/1", "标题 <一> & \u{1}控制"),
            article("https://a.example/2", "二"),
        ];
        let xml = render(
            &head(
                Some("要闻"),
                "http://127.0.0.1:8080/feeds/%E8%A6%81%E9%97%BB.atom",
            ),
            &articles,
        );
        let feed = feed_rs::parser::parse(xml.as_bytes()).unwrap();
        assert_eq!(feed.entries.len(), 2);
        let entry = &feed.entries[0];
        assert_eq!(entry.id, entry_id("https://a.example/1"));
        assert_eq!(entry.title.as_ref().unwrap().content, "标题 <一> & 控制");
        assert_eq!(
            entry.content.as_ref().unwrap().body.as_deref(),
            Some("<p>正文 ]]> &amp;</p>")
        );
        assert_eq!(entry.categories.len(), 3);
        assert_eq!(entry.authors[0].name.as_deref(), Some("证券时报网"));
        assert_eq!(entry.links[0].href, "https://a.example/1");
        assert_eq!(to_db(entry.updated.unwrap()), "2022-01-26T07:54:00Z");
        assert!(xml.contains("<title>证券时报网 - 要闻</title>"));
    }

    #[test]
    fn a_feed_read_from_disk_does_not_show_its_path() {
        let mut local = article("https://a.example/1", "一");
        let origin = local.origin.as_mut().unwrap();
        origin.url = "file:///home/ops/feeds/stcn.xml".into();
        origin.feed_link = Some("https://news.stcn.com/".into());
        let xml = render(&head(None, "x"), &[local.clone()]);
        assert!(
            !xml.contains("file:") && !xml.contains("/home/ops"),
            "{xml}"
        );
        assert!(xml.contains("<id>https://news.stcn.com/</id>"), "{xml}");
        local.origin.as_mut().unwrap().feed_link = None;
        let xml = render(&head(None, "x"), &[local]);
        assert!(
            !xml.contains("/home/ops") && xml.contains("urn:tidings:source:"),
            "{xml}"
        );
    }

    #[test]
    fn the_same_articles_render_the_same_bytes() {
        let articles = [article("https://a.example/1", "一")];
        assert_eq!(
            render(&head(None, "x"), &articles),
            render(&head(None, "x"), &articles)
        );
        assert_ne!(
            entry_id("https://a.example/1"),
            entry_id("https://a.example/2")
        );
    }
}
