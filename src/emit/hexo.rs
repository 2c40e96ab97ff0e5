//! Hexo posts in exactly the format of the reference post (`tests/fixtures/stcn-article.md`).
//!
//! The front matter keys, their order, their quoting and the date form are the
//! reference's, byte for byte, because users' Hexo themes read them as they are.

use crate::article::StoredArticle;

/// The post's file name: the publication date and a hash of the identity key.
/// It never contains anything from the title, so no title can escape the
/// export folder, and the same article always lands in the same file.
pub fn file_name(article: &StoredArticle) -> String {
    format!(
        "{}-{}.md",
        article.published.format("%Y-%m-%d"),
        article_tag(&article.key)
    )
}

/// The part of a file name that identifies the article whatever its date.
pub fn article_tag(key: &str) -> String {
    blake3::hash(key.as_bytes()).to_hex()[..16].to_string()
}

/// The whole post: front matter, a blank line, the sanitized HTML body.
pub fn render(article: &StoredArticle) -> String {
    let image = quoted(article.image.as_deref().unwrap_or(""));
    let mut out = String::with_capacity(article.content_html.len() + 512);
    out.push_str("\n---\n");
    out.push_str(&format!("title: {}\n", quoted(&article.title)));
    out.push_str("categories: \n");
    for category in &article.categories {
        out.push_str(&format!(" - {}\n", plain(category)));
    }
    out.push_str(&format!("headimg: {image}\n"));
    out.push_str(&format!("author: {}\n", plain(&article.author)));
    out.push_str("comments: false\n");
    out.push_str(&format!(
        "date: {}\n",
        article.published.format("%a, %d %b %Y %H:%M:%S GMT")
    ));
    out.push_str(&format!("thumbnail: {image}\n"));
    out.push_str("---\n\n");
    out.push_str(&article.content_html);
    out.push('\n');
    out
}

/// A YAML single-quoted scalar: only `'` needs escaping, by doubling it.
fn quoted(text: &str) -> String {
    format!("'{}'", one_line(text).replace('\'', "''"))
}

/// A YAML plain scalar where that is safe (as the reference writes names),
/// else a quoted one.
fn plain(text: &str) -> String {
    let text = one_line(text);
    let risky = text.is_empty()
        || text.starts_with(|c: char| "-?:,[]{}#&*!|>'\"%@` ".contains(c))
        || text.ends_with(' ')
        || text.contains(": ")
        || text.contains(" #")
        || matches!(
            text.to_ascii_lowercase().as_str(),
            "true" | "false" | "null" | "yes" | "no" | "~"
        )
        || text.parse::<f64>().is_ok();
    if risky { quoted(&text) } else { text }
}

/// Front matter values are one line each.
fn one_line(text: &str) -> String {
    crate::text::collapse_whitespace(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;

    fn article(title: &str, author: &str) -> StoredArticle {
        StoredArticle {
            key: "https://news.stcn.com/news/202201/t20220126_4094127.html".into(),
            title: title.into(),
            link: None,
            author: author.into(),
            published: DateTime::parse_from_rfc3339("2022-01-26T07:54:00Z")
                .unwrap()
                .to_utc(),
            updated: None,
            summary: String::new(),
            content_html: "<p>正文</p>".into(),
            image: Some("https://news.stcn.com/a.png".into()),
            categories: vec!["金融".into(), "证券时报网".into(), "要闻".into()],
            origin: None,
            reprints: Vec::new(),
        }
    }

    #[test]
    fn front_matter_in_the_reference_form() {
        let post = render(&article("It's 标题", "证券时报网"));
        let expected = "\n---\ntitle: 'It''s 标题'\ncategories: \n - 金融\n - 证券时报网\n - 要闻\nheadimg: 'https://news.stcn.com/a.png'\nauthor: 证券时报网\ncomments: false\ndate: Wed, 26 Jan 2022 07:54:00 GMT\nthumbnail: 'https://news.stcn.com/a.png'\n---\n\n<p>正文</p>\n";
        assert_eq!(post, expected);
    }

    #[test]
    fn hostile_values_stay_inside_their_scalar_and_the_folder() {
        let post = render(&article("a\n---\nevil: true", "- admin: root"));
        assert!(post.contains("title: 'a --- evil: true'"), "{post}");
        assert!(post.contains("author: '- admin: root'"), "{post}");
        let name = file_name(&article("../../etc/passwd", "x"));
        assert!(!name.contains('/') && !name.starts_with('.'), "{name}");
        assert!(name.starts_with("2022-01-26-") && name.ends_with(".md"));
    }
}
