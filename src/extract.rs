//! The article on its page: the story without the site around it.
//!
//! Pure: a decoded page in, the HTML of its main content out (not yet
//! rewritten or sanitized: `pages` does both, as for feed content). A source's
//! `content_selector` says where the article is when the user knows; else
//! Readability (dom_smoothie, a port of Mozilla's, which also scores
//! full-width punctuation) guesses, dropping navigation, share bars, related
//! links and ads by their markup and their density of links.

use url::Url;

use crate::rewrite::Css;

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
    if crate::normalize::nests_too_deep(html) {
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
    let mut readability = dom_smoothie::Readability::new(html, Some(url.as_str()), Some(config))
        .map_err(|error| ExtractError::NoArticle(error.to_string()))?;
    let article = readability
        .parse()
        .map_err(|error| ExtractError::NoArticle(error.to_string()))?;
    Ok(article.content.to_string())
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
