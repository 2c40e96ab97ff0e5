//! The article on its page: the story without the site around it.
//!
//! Pure: a decoded page in, the HTML of its main content out (not yet
//! rewritten or sanitized: `pages` does both, as for feed content). A source's
//! `content_selector` says where the article is when the user knows; else
//! Readability (dom_smoothie, a port of Mozilla's, which also scores
//! full-width punctuation) guesses, dropping navigation, share bars, related
//! links and ads by their markup and their density of links.

use url::Url;

use crate::read::css::Css;

/// Why a page gave no article.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ExtractError {
    #[error("content_selector `{0}` matches nothing on the page")]
    SelectorMatchedNothing(String),
    #[error("no article found on the page: {0}")]
    NoArticle(String),
    #[error("the page nests its elements deeper than any article")]
    TooDeep,
}

/// The main content of `html`, the page at `url`, as HTML.
pub fn main_content(html: &str, url: &Url, selector: Option<&Css>) -> Result<String, ExtractError> {
    if crate::article::sanitize::nests_too_deep(html) {
        return Err(ExtractError::TooDeep);
    }
    if let Some(selector) = selector {
        let document = dom_query::Document::from(html);
        let selected = selector.select(&document);
        if selected.is_empty() {
            return Err(ExtractError::SelectorMatchedNothing(
                selector.as_str().to_string(),
            ));
        }
        return Ok(selected
            .iter()
            .map(|element| element.html().to_string())
            .collect());
    }
    let config = dom_smoothie::Config {
        // Elements read at most: far more than an article page has, and a
        // bound on the work a hostile one asks for.
        max_elements_to_parse: 100_000,
        // The source's rewrite rules name the publisher's classes.
        keep_classes: true,
        ..Default::default()
    };
    let marked = mark_sentence_ends(html);
    let mut readability = dom_smoothie::Readability::new(marked, Some(url.as_str()), Some(config))
        .map_err(|error| ExtractError::NoArticle(error.to_string()))?;
    let article = readability
        .parse()
        .map_err(|error| ExtractError::NoArticle(error.to_string()))?;
    Ok(drop_site_blocks(&article.content))
}

/// The class of the `.` [`mark_sentence_ends`] adds, taken out again by
/// [`drop_site_blocks`].
const SENTENCE_END: &str = "tidings-sentence-end";

/// Ends every paragraph that ends a Chinese sentence (`。！？`, maybe
/// followed by a closing quote or bracket) with a marked `.` as well.
/// Readability keeps a short paragraph beside the article's container (a
/// last line, an editor's note) only when it "is a sentence", which it
/// reads as ending in `.`; Chinese ends sentences otherwise.
fn mark_sentence_ends(html: &str) -> String {
    let document = dom_query::Document::from(html);
    let mut marked = false;
    for paragraph in document.select("p").nodes() {
        let text = paragraph.text();
        let end = text
            .trim_end()
            .trim_end_matches(['”', '’', '」', '』', '）', ')', '"', '\'']);
        if end.ends_with(['。', '！', '？']) {
            paragraph.append_html(format!(r#"<span class="{SENTENCE_END}">.</span>"#));
            marked = true;
        }
    }
    if marked {
        document.html().to_string()
    } else {
        html.to_string()
    }
}

/// Drops what sites put inside the article's own container and Readability
/// keeps (and the marks of [`mark_sentence_ends`]): lists of other stories' headlines (相关新闻, 推荐阅读), share bars,
/// ad slots, tags. A block goes when its class or id names one of those, or
/// when most of its text is links with headline-long texts (a paragraph
/// that links a few stock names keeps them). No block holding half of the
/// article's text is dropped, whatever its name.
fn drop_site_blocks(html: &str) -> String {
    let document = dom_query::Document::fragment(html);
    document.select(&format!("span.{SENTENCE_END}")).remove();
    let root = document.html_root();
    let article_chars = visible_chars(&root.text());
    for element in root.descendants() {
        let is_block = element.node_name().is_some_and(|name| {
            matches!(
                &*name,
                "div" | "section" | "aside" | "nav" | "footer" | "ul" | "ol" | "dl" | "table" | "p"
            )
        });
        if is_block
            && (names_a_site_block(&element) || is_headline_list(&element))
            && visible_chars(&element.text()) * 2 < article_chars
        {
            element.remove_from_parent();
        }
    }
    root.inner_html().to_string()
}

/// Words of class names and ids that name a part of the site, not of the story.
const SITE_BLOCK_WORDS: &[&str] = &[
    "ad",
    "ads",
    "advert",
    "advertisement",
    "banner",
    "breadcrumb",
    "comment",
    "comments",
    "hot",
    "nav",
    "rank",
    "recommend",
    "related",
    "relate",
    "share",
    "social",
    "sponsor",
    "tag",
    "tags",
];

fn names_a_site_block(element: &dom_query::NodeRef) -> bool {
    let names = [element.attr("class"), element.attr("id")];
    names.iter().flatten().any(|name| {
        name.split(|c: char| c.is_ascii_whitespace() || c == '-' || c == '_')
            .any(|word| SITE_BLOCK_WORDS.contains(&word.to_ascii_lowercase().as_str()))
    })
}

/// At least two links, most of the text theirs, and as long as headlines:
/// a list of other stories.
fn is_headline_list(element: &dom_query::NodeRef) -> bool {
    let links: Vec<usize> = element
        .descendants()
        .iter()
        .filter(|node| node.has_name("a"))
        .map(|link| visible_chars(&link.text()))
        .filter(|chars| *chars > 0)
        .collect();
    let link_chars: usize = links.iter().sum();
    links.len() >= 2
        && link_chars * 2 > visible_chars(&element.text())
        && link_chars >= HEADLINE_CHARS * links.len()
}

/// Characters a headline has at least; a stock name has fewer.
const HEADLINE_CHARS: usize = 8;

fn visible_chars(text: &str) -> usize {
    text.chars().filter(|c| !c.is_whitespace()).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 证券时报网 article page as the site lays it out.
    fn page(story: &str) -> String {
        format!(
            r##"<!DOCTYPE html><html><head><title>标题_证券时报网</title></head><body>
            <div class="header"><ul class="nav"><li><a href="/">首页</a></li><li><a href="/yw/">要闻</a></li>
            <li><a href="/gs/">公司</a></li><li><a href="/sc/">市场</a></li></ul></div>
            <div class="detail-title">银行理财规模回升</div>
            <div class="share-bar"><a href="#">微信</a><a href="#">微博</a><a href="#">分享到</a></div>
            <div class="detail-content">{story}</div>
            <div class="ad-banner"><a href="https://ad.example/"><img src="/ad.jpg">开户送好礼</a></div>
            <div class="related"><h3>相关阅读</h3><ul><li><a href="/a/1.html">另一篇新闻的标题一</a></li>
            <li><a href="/a/2.html">另一篇新闻的标题二</a></li><li><a href="/a/3.html">另一篇新闻的标题三</a></li></ul></div>
            <div class="footer">证券时报社版权所有，未经书面授权禁止使用</div></body></html>"##
        )
    }

    const STORY: &str = "<p>证券时报记者获悉，截至三月末，银行理财市场存续规模回升至二十九万亿元，较年初增加一点二万亿元，其中固定收益类产品占比超过九成，现金管理类产品规模有所下降。</p>\
        <p>业内人士表示，在存款利率下调的背景下，居民财富配置需求向理财产品转移，理财公司纷纷推出低波动产品，以满足投资者对稳健收益的需求，预计二季度规模将继续增长。</p>\
        <p>从收益率看，三月份理财产品平均年化收益率为百分之二点八，较上月小幅回落，但仍高于同期限定期存款利率，对资金形成一定吸引力。</p>\
        <p>分析人士认为，随着<a class=\"trsHotWords\" href=\"http://quote.stcn.com/000001\">平安银行</a>等机构加大产品创新力度，理财市场有望保持平稳发展，监管部门也将继续完善相关制度。</p>";

    #[test]
    fn readability_keeps_the_story_and_drops_the_site() {
        let url = Url::parse("https://www.stcn.com/article/detail/1.html").unwrap();
        let content = main_content(&page(STORY), &url, None).unwrap();
        let text = crate::text::html_to_text(&content);
        for kept in [
            "截至三月末",
            "居民财富配置",
            "百分之二点八",
            "平安银行等机构",
            "完善相关制度",
        ] {
            assert!(text.contains(kept), "{kept} missing from {text}");
        }
        for dropped in ["首页", "微博", "开户送好礼", "相关阅读", "版权所有"] {
            assert!(!text.contains(dropped), "{dropped} kept in {text}");
        }
    }

    #[test]
    fn headline_lists_and_share_bars_inside_the_story_go_and_stock_links_stay() {
        let url = Url::parse("https://www.stcn.com/article/detail/1.html").unwrap();
        let story = format!(
            "{STORY}<p>涨幅居前的有<a href=\"/q/1\">中科曙光</a>、<a href=\"/q/2\">浪潮信息</a>、<a href=\"/q/3\">紫光股份</a>。</p>\
             <div class=\"related-in\"><p>相关新闻：</p><ul><li><a href=\"/x1.html\">北向资金连续三日净流入 重点加仓这些板块</a></li>\
             <li><a href=\"/x2.html\">券商股异动拉升 机构称估值处于历史低位</a></li></ul></div>\
             <p><a href=\"/y1.html\">延伸阅读：半导体板块走强 多只个股创出年内新高</a><br><a href=\"/y2.html\">延伸阅读：煤炭板块小幅调整 资金流出明显</a></p>\
             <div class=\"article-share\"><a href=\"#\">微信</a><a href=\"#\">微博</a></div>"
        );
        let content = main_content(&page(&story), &url, None).unwrap();
        let text = crate::text::html_to_text(&content);
        assert!(
            text.contains("涨幅居前的有中科曙光、浪潮信息、紫光股份。"),
            "{text}"
        );
        assert!(text.contains("完善相关制度"), "{text}");
        for dropped in ["相关新闻", "北向资金连续三日", "延伸阅读", "微博"] {
            assert!(!text.contains(dropped), "{dropped} kept in {text}");
        }
    }

    #[test]
    fn short_closing_paragraphs_that_end_a_chinese_sentence_stay() {
        let url = Url::parse("https://www.stcn.com/article/detail/1.html").unwrap();
        let html = format!(
            r#"<html><body><div class="nav"><a href="/">首页</a></div>
            <div class="wrap"><div class="body">{STORY}</div>
            <p>（本文作者为某基金公司研究员。）</p><p>编辑：张三！</p><p>风险自负？</p></div></body></html>"#
        );
        let text = crate::text::html_to_text(&main_content(&html, &url, None).unwrap());
        for kept in [
            "完善相关制度",
            "本文作者为某基金公司研究员",
            "编辑：张三",
            "风险自负",
        ] {
            assert!(text.contains(kept), "{kept} missing from {text}");
        }
        assert!(!text.contains("。."), "the marker leaked: {text}");
    }

    #[test]
    fn a_selector_takes_what_it_names_or_says_it_found_nothing() {
        let url = Url::parse("https://www.stcn.com/article/detail/1.html").unwrap();
        let css = Css::try_from(".detail-content".to_string()).unwrap();
        let content = main_content(&page("<p>短讯</p>"), &url, Some(&css)).unwrap();
        assert_eq!(content, r#"<div class="detail-content"><p>短讯</p></div>"#);
        let css = Css::try_from(".article-body".to_string()).unwrap();
        assert_eq!(
            main_content(&page(STORY), &url, Some(&css)),
            Err(ExtractError::SelectorMatchedNothing(".article-body".into()))
        );
    }
}
