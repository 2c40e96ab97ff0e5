//! Full content and rewrite rules end to end: summary-only feeds whose
//! articles are read from pages laid out like 证券时报网's, served over real
//! HTTP on 127.0.0.1, and the database read back as a user would.

mod common;

use std::time::Duration;

use common::*;

/// A 证券时报网 article page: the site's navigation, breadcrumb, share bar,
/// ads, related links, comments and footer around the story.
fn stcn_page(charset: &str, title: &str, paragraphs: &[String]) -> String {
    let story: String = paragraphs.iter().map(|p| format!("<p>{p}</p>\n")).collect();
    format!(
        r##"<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="{charset}"><title>{title}_证券时报网</title>
<script>var _hmt = _hmt || [];</script><link rel="stylesheet" href="/static/css/detail.css"></head>
<body>
<div class="top-bar"><div class="container"><a href="/login">登录</a><a href="/register">注册</a><a href="https://app.stcn.com/">下载APP</a></div></div>
<div class="header"><a class="logo" href="/"><img src="/static/logo.png" alt="证券时报网"></a>
<ul class="nav"><li><a href="/">首页</a></li><li><a href="/article/list/yw.html">要闻</a></li><li><a href="/article/list/gs.html">公司</a></li>
<li><a href="/article/list/sc.html">市场</a></li><li><a href="/article/list/kx.html">快讯</a></li><li><a href="/article/list/cj.html">财经</a></li>
<li><a href="/article/list/fund.html">基金</a></li><li><a href="/article/list/data.html">数据</a></li><li><a href="/xinpi.html">信息披露</a></li></ul></div>
<div class="breadcrumb"><a href="/">首页</a> &gt; <a href="/article/list/yw.html">要闻</a> &gt; 正文</div>
<div class="ad ad-top"><a href="https://ad.example/open-account"><img src="/ad/banner-960x90.jpg">开户就送万元体验金，点击立即领取</a></div>
<div class="detail-container"><div class="detail-main">
<div class="detail-title">{title}</div>
<div class="detail-info"><span>证券时报网</span><span>作者：张三</span><span>2026-11-20 09:30</span></div>
<div class="social-bar share"><span>分享到：</span><a class="wx" href="#">微信</a><a class="wb" href="#">微博</a><a class="qq" href="#">QQ空间</a><a href="#">复制链接</a></div>
<div class="detail-content">
{story}<p style="text-align:center"><img src="/article/img/20261120/chart.png" alt="图表"></p>
</div>
<div class="detail-editor">责任编辑：王一鸣</div>
<div class="statement">声明：证券时报力求信息真实、准确，文章提及内容仅供参考，不构成实质性投资建议，据此操作风险自担</div>
<div class="social-bar share"><a href="#">微信</a><a href="#">微博</a><a href="#">分享到朋友圈</a><span>阅读 12万</span><span>点赞 368</span></div>
</div>
<div class="detail-side"><div class="side-title">热点排行</div><ul class="hot-list">
<li><a href="/article/detail/101.html">今日热点：多只个股涨停 市场情绪回暖明显</a></li>
<li><a href="/article/detail/102.html">机构调研：这些公司获得北向资金集中加仓</a></li>
<li><a href="/article/detail/103.html">独家：某券商年度业绩预告出炉 净利润同比增长</a></li>
<li><a href="/article/detail/104.html">快讯：央行今日开展逆回购操作 维护流动性合理充裕</a></li></ul>
<div class="ad ad-side"><a href="https://ad.example/fund"><img src="/ad/side-300x250.jpg">稳健理财，年化收益看这里</a></div></div></div>
<div class="related"><div class="related-title">相关阅读</div><ul>
<li><a href="/article/detail/201.html">银行理财子公司加速布局养老理财产品</a><span>2026-11-19</span></li>
<li><a href="/article/detail/202.html">三季度理财市场报告：规模稳中有升 收益率小幅下行</a><span>2026-11-18</span></li>
<li><a href="/article/detail/203.html">监管发布理财公司销售管理办法征求意见稿</a><span>2026-11-17</span></li>
<li><a href="/article/detail/204.html">多家银行下调存款利率 理财产品迎来增量资金</a><span>2026-11-16</span></li></ul></div>
<div class="comment"><div class="comment-title">网友评论</div><textarea placeholder="我来说两句"></textarea><button>发表评论</button></div>
<div class="footer"><p><a href="/about">关于我们</a> | <a href="/contact">联系我们</a> | <a href="/copyright">版权声明</a></p>
<p>证券时报社版权所有 未经书面授权禁止使用 粤ICP备09109218号</p></div>
<script src="/static/js/detail.js"></script></body></html>"##
    )
}

/// Four paragraphs of a story, the last one's words unlike any other's, with
/// stock names linked to quote pages the way the site does it.
fn story(topic: &str) -> Vec<String> {
    vec![
        format!("证券时报记者获悉，{topic}截至十一月中旬，银行理财市场存续规模回升至二十九万亿元，较年初增加一点二万亿元，其中固定收益类产品占比超过九成，现金管理类产品规模有所下降。"),
        "业内人士表示，在存款利率多次下调的背景下，居民财富配置需求持续向理财产品转移，理财公司纷纷推出低波动产品，以满足投资者对稳健收益的需求，预计年末规模将继续增长。".into(),
        "从收益率看，十月份理财产品平均年化收益率为百分之二点八，较上月小幅回落，但仍高于同期限定期存款利率，对资金形成一定吸引力，部分产品的业绩比较基准也在下调。".into(),
        r#"分析人士认为，随着<a class="trsHotWords" href="http://quote.stcn.com/000001" target="_blank">平安银行</a>、<a class="trsHotWords" href="http://quote.stcn.com/600036" target="_blank">招商银行</a>等机构加大产品创新力度，理财市场有望保持平稳发展，末段独有词语青蓝色账本。"#.into(),
    ]
}

fn html(body: impl Into<Vec<u8>>) -> Reply {
    Reply::feed(body).content_type("text/html").without_etag()
}

/// The feed of a summary-only source: each item a title and one sentence.
fn summary_feed(links: &[(&str, String)]) -> String {
    let items: Vec<_> = links
        .iter()
        .map(|(title, link)| (*title, link, "2026-11-20 09:30:00", "一句话摘要。"))
        .collect();
    rss("证券时报网 - 要闻", &items)
}

#[tokio::test]
async fn a_summary_only_feed_is_read_from_its_pages() {
    let site = FeedServer::start().await;
    // Another port of the same machine: not the feed's origin, and private.
    let elsewhere = FeedServer::start().await;
    site.set(
        "/article/detail/1.html",
        html(stcn_page("utf-8", "银行理财规模回升", &story("第一篇"))),
    );
    let gbk_page = stcn_page("gb2312", "理财收益率小幅回落", &story("第二篇用国标码，"));
    let (gbk, _, _) = encoding_rs::GBK.encode(&gbk_page);
    site.set("/article/detail/2.html", html(gbk.into_owned()));
    site.set(
        "/article/detail/3.html",
        html(stcn_page("utf-8", "从不应答", &story("第三篇"))).delayed(Duration::from_secs(60)),
    );
    elsewhere.set(
        "/article/detail/4.html",
        html(stcn_page("utf-8", "别处", &story("第四篇"))),
    );
    // A page of the feed's origin that redirects elsewhere, and a name that
    // resolves to this machine.
    site.set(
        "/article/detail/5.html",
        Reply::status(302, "").header("location", &elsewhere.url("/article/detail/4.html")),
    );
    let by_name = format!(
        "http://localhost:{}/article/detail/4.html",
        elsewhere.addr.port()
    );
    site.set(
        "/yw.xml",
        Reply::feed(summary_feed(&[
            ("银行理财规模回升", site.url("/article/detail/1.html")),
            ("理财收益率小幅回落", site.url("/article/detail/2.html")),
            ("从不应答", site.url("/article/detail/3.html")),
            ("别处", elsewhere.url("/article/detail/4.html")),
            ("转向别处", site.url("/article/detail/5.html")),
            ("名字指向本机", by_name.clone()),
        ])),
    );
    let mut source = Source::new("证券时报网", site.url("/yw.xml"), "金融", "要闻");
    source.extra = "full_content = \"always\"\n\
                    rewrite = [{ unwrap = \"a.trsHotWords\" }, { replace = \"证券时报记者(获悉|了解到)，\", with = \"\" }]\n";
    let app = Instance::new("[poll]\ntimeout = \"2s\"\n", &[source]);

    let summary = app.poll().await;
    assert!(
        summary.contains("article pages: 2 read, 3 kept the feed's content, 1 to try again"),
        "{summary}"
    );
    let content = |link: &str| -> (String, String) {
        app.db()
            .query_row(
                "SELECT content_html, plain_text FROM articles WHERE link = ?1",
                [link],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .unwrap()
    };
    for (page, topic) in [(1, "第一篇"), (2, "第二篇用国标码，")] {
        let (html, text) = content(&site.url(&format!("/article/detail/{page}.html")));
        for kept in [
            topic,
            "居民财富配置需求",
            "百分之二点八",
            "平安银行、招商银行等机构",
            "末段独有词语青蓝色账本",
        ] {
            assert!(
                text.contains(kept),
                "page {page}: {kept} missing from {text}"
            );
        }
        for dropped in [
            "记者获悉",
            "首页",
            "登录",
            "开户就送",
            "分享到",
            "热点排行",
            "相关阅读",
            "理财子公司",
            "网友评论",
            "版权所有",
        ] {
            assert!(
                !text.contains(dropped),
                "page {page}: {dropped} kept in {text}"
            );
        }
        assert!(
            !html.contains("quote.stcn.com"),
            "the quote links stay: {html}"
        );
        assert!(
            html.contains(&site.url("/article/img/20261120/chart.png")),
            "{html}"
        );
        assert!(!html.contains("<script"), "{html}");
    }
    // The search index has the pages' words: their last paragraphs.
    let found = app.run(&["search", "青蓝色账本"]).await;
    let found = String::from_utf8_lossy(&found.stdout);
    assert!(
        found.contains("银行理财规模回升") && found.contains("理财收益率小幅回落"),
        "{found}"
    );

    // The page that never answered, and the ones elsewhere on this machine,
    // keep the feed's sentence.
    let page = |link: &str| -> String {
        app.db()
            .query_row(
                "SELECT p.state || ' ' || p.attempts || ' ' || coalesce(p.last_error, '')
                   FROM article_pages p JOIN articles a ON a.id = p.article_id WHERE a.link = ?1",
                [link],
                |row| row.get(0),
            )
            .unwrap()
    };
    for n in [1, 2] {
        let link = site.url(&format!("/article/detail/{n}.html"));
        assert_eq!(page(&link), "fetched 1 ");
    }
    assert_eq!(
        page(&site.url("/article/detail/3.html")),
        "pending 1 timed out"
    );
    for link in [
        site.url("/article/detail/3.html"),
        elsewhere.url("/article/detail/4.html"),
        site.url("/article/detail/5.html"),
        by_name,
    ] {
        assert_eq!(content(&link).0, "一句话摘要。", "{link}");
        if !link.ends_with("3.html") {
            let state = page(&link);
            assert!(
                state.starts_with("kept_feed 1 refused: "),
                "{link}: {state}"
            );
        }
    }
    assert_eq!(
        elsewhere.hits("/article/detail/4.html"),
        0,
        "a private address was fetched"
    );
    let by_name_state = page(&format!(
        "http://localhost:{}/article/detail/4.html",
        elsewhere.addr.port()
    ));
    assert!(
        by_name_state.contains("localhost resolves only to private or reserved addresses"),
        "{by_name_state}"
    );
    let redirected = page(&site.url("/article/detail/5.html"));
    assert!(
        redirected.contains("is at a private or reserved address"),
        "{redirected}"
    );

    // The next poll of the unchanged feed fetches no page again, and keeps
    // what the pages gave.
    let before = content(&site.url("/article/detail/1.html"));
    let summary = app.poll().await;
    assert!(!summary.contains("article pages"), "{summary}");
    assert_eq!(site.hits("/article/detail/1.html"), 1);
    // (The test server logs a request when it answers, which this one never does.)
    let attempts = app.strings(&format!(
        "SELECT p.attempts || '' FROM article_pages p JOIN articles a ON a.id = p.article_id
          WHERE a.link = '{}'",
        site.url("/article/detail/3.html")
    ));
    assert_eq!(
        attempts,
        ["1"],
        "the page that timed out was tried again at once"
    );
    assert_eq!(content(&site.url("/article/detail/1.html")), before);
}

#[tokio::test]
async fn a_selector_that_matches_nothing_keeps_the_summary_and_long_entries_keep_their_own() {
    let site = FeedServer::start().await;
    site.set(
        "/article/detail/1.html",
        html(stcn_page("utf-8", "短讯", &story("选择器"))),
    );
    site.set(
        "/article/detail/2.html",
        html(stcn_page("utf-8", "长文", &story("长文"))),
    );
    let long_entry = "<p>全文已在源中。</p>".repeat(60);
    let items = [
        (
            "短讯",
            &*site.url("/article/detail/1.html"),
            "2026-11-20 09:30:00",
            "一句话摘要。",
        ),
        (
            "长文",
            &*site.url("/article/detail/2.html"),
            "2026-11-20 09:31:00",
            long_entry.as_str(),
        ),
    ];
    site.set("/kx.xml", Reply::feed(rss("证券时报网 - 快讯", &items)));
    let mut source = Source::new("证券时报网", site.url("/kx.xml"), "金融", "快讯");
    source.extra = "full_content = \"if_short\"\ncontent_selector = \"div.article-body\"\n";
    let app = Instance::new("", &[source]);

    let summary = app.poll().await;
    assert!(summary.contains("1 kept the feed's content"), "{summary}");
    assert_eq!(
        site.hits("/article/detail/2.html"),
        0,
        "a long entry's page was fetched"
    );
    let state = app.strings("SELECT state || ': ' || last_error FROM article_pages");
    assert_eq!(
        state,
        ["kept_feed: content_selector `div.article-body` matches nothing on the page"]
    );
    let kept = app.strings(&format!(
        "SELECT content_html FROM articles WHERE link = '{}'",
        site.url("/article/detail/1.html")
    ));
    assert_eq!(kept, ["一句话摘要。"]);
}

#[tokio::test]
async fn changed_rules_apply_to_what_comes_next_and_reprocess_applies_them_to_what_is_stored() {
    let site = FeedServer::start().await;
    let first = (
        "先到的文章",
        "https://www.stcn.com/article/detail/1.html",
        "2026-11-20 09:30:00",
        r#"<p>随着<a class="trsHotWords" href="http://quote.stcn.com/000001">平安银行</a>加大创新力度。</p><p class="editor">责任编辑：王一</p>"#,
    );
    let second = (
        "后到的文章",
        "https://www.stcn.com/article/detail/2.html",
        "2026-11-20 10:30:00",
        r#"<p>另一篇。</p><p class="editor">责任编辑：李二</p>"#,
    );
    let config = |rules: &str| {
        let extra = format!("rewrite = [{rules}]\n");
        let mut source = Source::new("证券时报网", site.url("/yw.xml"), "金融", "要闻");
        source.extra = &extra;
        Instance::new("", &[source])
    };
    let app = config(r#"{ unwrap = "a.trsHotWords" }"#);
    let stored = |link: &str| -> (String, String, Option<String>) {
        app.db()
            .query_row(
                "SELECT content_html, summary, updated FROM articles WHERE link = ?1",
                [link],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
            .unwrap()
    };
    site.set("/yw.xml", Reply::feed(rss("要闻", &[first])));
    app.poll().await;
    let (html, _, _) = stored(first.1);
    assert_eq!(
        html,
        "<p>随着平安银行加大创新力度。</p><p>责任编辑：王一</p>"
    );

    // A new rule: the next article has it, the stored one is left alone.
    let edited = config(r#"{ unwrap = "a.trsHotWords" }, { remove = "p.editor" }"#);
    std::fs::copy(edited.config(), app.config()).unwrap();
    site.set("/yw.xml", Reply::feed(rss("要闻", &[second])));
    app.poll().await;
    assert_eq!(stored(second.1).0, "<p>另一篇。</p>");
    assert_eq!(stored(first.1).0, html);

    // Reprocessing applies it to what was stored, from the feed's own HTML
    // (the class it names is gone from the sanitized content), and leaves
    // `updated` alone, so readers do not show the article again.
    let before = stored(first.1);
    let out = app.run(&["reprocess", "--source", "证券时报网"]).await;
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "2 articles of 1 sources read, 1 changed",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = stored(first.1);
    assert_eq!(after.0, "<p>随着平安银行加大创新力度。</p>");
    assert_eq!(after.1, "随着平安银行加大创新力度。");
    assert_eq!(after.2, before.2);

    // The feed sends the first article again, unchanged: not an update.
    site.set("/yw.xml", Reply::feed(rss("要闻", &[first, second])));
    let summary = app.poll().await;
    assert_eq!(article_counts(&summary), (0, 0, 2), "{summary}");
    assert_eq!(stored(first.1), after);

    let out = app.run(&["reprocess", "--source", "新浪财经"]).await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no source named `新浪财经`"));
}

#[tokio::test]
async fn private_pages_are_read_when_allowed_and_pages_per_poll_a_poll() {
    let site = FeedServer::start().await;
    // Another port of this machine: private, and not the feed's origin.
    let intranet = FeedServer::start().await;
    let links: Vec<(String, String)> = (1..=5)
        .map(|n| {
            let path = format!("/article/detail/{n}.html");
            let title = format!("内网第{n}篇");
            intranet.set(&path, html(stcn_page("utf-8", &title, &story(&title))));
            (title, intranet.url(&path))
        })
        .collect();
    let links: Vec<(&str, String)> = links.iter().map(|(t, l)| (t.as_str(), l.clone())).collect();
    site.set("/yw.xml", Reply::feed(summary_feed(&links)));
    let mut source = Source::new("证券时报网", site.url("/yw.xml"), "金融", "要闻");
    source.extra = "full_content = \"always\"\nallow_private_pages = true\n";
    let app = Instance::new("[poll]\npages_per_poll = 2\n", &[source]);
    let fetched = "SELECT count(*) FROM article_pages WHERE state = 'fetched'";
    for (poll, expected) in [(1, 2), (2, 4), (3, 5)] {
        let summary = app.poll().await;
        assert_eq!(app.count(fetched), expected, "poll {poll}: {summary}");
        assert_eq!(intranet.seen().len(), expected as usize, "poll {poll}");
    }
    let text = app.strings(&format!(
        "SELECT plain_text FROM articles WHERE link = '{}'",
        links[4].1
    ));
    assert!(text[0].contains("末段独有词语青蓝色账本"), "{text:?}");
}
