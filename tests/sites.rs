//! Sites without feeds, read as feeds: an stcn-like site of our own making
//! on 127.0.0.1 (list pages with navigation, ads and share bars around the
//! list, every date form list pages write, one page in GBK, article pages
//! with `div.detail-content`, a 快讯 API that answers only with
//! `X-Requested-With`), polled through the shipped recipes with `url`
//! pointed at it.

mod common;

use chrono::{DateTime, TimeDelta, TimeZone, Timelike, Utc};
use chrono_tz::Asia::Shanghai;
use common::{
    Daemon, FeedServer, Instance, Reply, article_counts, eventually, free_address, get_text,
};

/// What a list item's date should be read as.
#[derive(Clone, Copy, Debug)]
enum When {
    /// This time, to the minute.
    At(DateTime<Utc>),
    /// About this time (`5分钟前`: counted back from the time of reading).
    About(DateTime<Utc>),
    /// No date on the list: the time it was first seen.
    FirstSeen,
}

/// One story of the site.
#[derive(Clone, Debug)]
struct Story {
    id: String,
    title: String,
    /// The date as the list page writes it.
    written: Option<String>,
    when: When,
    tags: Vec<&'static str>,
    /// Whether the list links to its page.
    linked: bool,
}

fn minute(date: DateTime<Utc>) -> DateTime<Utc> {
    date.with_second(0).unwrap().with_nanosecond(0).unwrap()
}

fn local(date: DateTime<Utc>) -> DateTime<chrono_tz::Tz> {
    date.with_timezone(&Shanghai)
}

/// The 要闻 stories, one for every date form list pages write, as of `now`.
fn yw_stories(now: DateTime<Utc>) -> Vec<Story> {
    let three_hours_ago = minute(now - TimeDelta::hours(3));
    let three_days_ago = minute(now - TimeDelta::days(3));
    let today = local(now).date_naive();
    let midnight = Shanghai
        .from_local_datetime(&today.and_hms_opt(0, 0, 0).unwrap())
        .unwrap()
        .to_utc();
    let earlier_today = minute((now - TimeDelta::hours(1)).max(midnight));
    let yesterday_morning = Shanghai
        .from_local_datetime(&(today - TimeDelta::days(1)).and_hms_opt(9, 30, 0).unwrap())
        .unwrap()
        .to_utc();
    let fixed = |text: &str| DateTime::parse_from_rfc3339(text).unwrap().to_utc();
    let forms: Vec<(Option<String>, When)> = vec![
        (
            Some(local(three_hours_ago).format("%H:%M").to_string()),
            When::At(three_hours_ago),
        ),
        (
            Some(local(three_days_ago).format("%m-%d %H:%M").to_string()),
            When::At(three_days_ago),
        ),
        (
            Some("2025-11-20 09:30".into()),
            When::At(fixed("2025-11-20T01:30:00Z")),
        ),
        (
            Some("2025年11月21日 10:45".into()),
            When::At(fixed("2025-11-21T02:45:00Z")),
        ),
        (
            Some(local(earlier_today).format("今天 %H:%M").to_string()),
            When::At(earlier_today),
        ),
        (Some("昨天 09:30".into()), When::At(yesterday_morning)),
        (
            Some("5分钟前".into()),
            When::About(now - TimeDelta::minutes(5)),
        ),
        (
            Some("2小时前".into()),
            When::About(now - TimeDelta::hours(2)),
        ),
        (Some("刚刚".into()), When::About(now)),
        (None, When::FirstSeen),
    ];
    let topics = [
        "央行开展逆回购操作 市场流动性保持合理充裕",
        "多家上市券商披露经营数据 投行业务明显回暖",
        "新能源汽车产业链景气度提升 龙头公司订单饱满",
        "公募基金三季度规模创新高 权益类产品占比上升",
        "科创板再迎新股上市 半导体设备企业受关注",
        "银行理财规模回升至二十九万亿元 固收类占比超九成",
        "北向资金连续三日净流入 重点加仓消费与医药",
        "监管部门发布新规 进一步规范上市公司信息披露",
        "沪深两市成交额突破万亿 市场情绪明显回暖",
        "保险资金加大权益配置 长期资金入市步伐加快",
    ];
    let mut stories: Vec<Story> = forms
        .into_iter()
        .zip(topics)
        .enumerate()
        .map(|(i, ((written, when), title))| Story {
            id: format!("yw{}", i + 1),
            title: title.to_string(),
            written,
            when,
            tags: if i % 2 == 0 {
                vec!["A股", "券商"]
            } else {
                vec!["宏观"]
            },
            linked: true,
        })
        .collect();
    stories.push(Story {
        id: "yw-nolink".into(),
        title: "这条没有链接的条目应当被跳过并给出警告".into(),
        written: Some("08:00".into()),
        when: When::FirstSeen,
        tags: vec![],
        linked: false,
    });
    stories
}

/// A list page of the site: navigation, an ad and a share bar around the list.
fn list_page(channel: &str, stories: &[Story], charset: &str) -> String {
    let items: String = stories
        .iter()
        .map(|story| {
            let headline = if story.linked {
                format!(r#"<a href="/article/detail/{}.html" target="_blank">{}</a>"#, story.id, story.title)
            } else {
                story.title.clone()
            };
            let date = story
                .written
                .as_ref()
                .map(|date| format!("<span>{date}</span>"))
                .unwrap_or_default();
            let tags: String = story.tags.iter().map(|t| format!("<span>{t}</span>")).collect();
            format!(
                r#"<li><div class="side"><a href="/article/detail/{id}.html"><img src="/images/{id}.jpg"></a></div>
                <div class="content"><div class="tt">{headline}</div>
                <div class="text">{title}的摘要：<b>要点</b>一句话。</div>
                <div class="info"><span>证券时报网</span>{date}</div>
                <div class="tags">{tags}</div></div></li>"#,
                id = story.id,
                title = story.title
            )
        })
        .collect();
    format!(
        r##"<!DOCTYPE html><html><head><meta charset="{charset}"><title>{channel}_证券时报网</title></head><body>
        <div class="header"><ul class="nav"><li><a href="/">首页</a></li><li><a href="/article/list/yw.html">要闻</a></li>
        <li><a href="/article/list/gs.html">股市</a></li><li><a href="/article/list/kx.html">快讯</a></li></ul></div>
        <div class="ad-top"><a href="https://ad.example/"><img src="/ad.jpg">开户送好礼，限时优惠活动进行中</a></div>
        <div class="share-bar"><a href="#">微信</a><a href="#">微博</a></div>
        <div class="breadcrumb"><a href="/">首页</a> &gt; <a href="/article/list/{channel}.html">{channel}</a></div>
        <div class="list-wrap"><ul class="infinite-list">{items}</ul></div>
        <div class="hot-rank"><h3>热门排行</h3><ol><li><a href="/x/1.html">短</a></li></ol></div>
        <div class="footer">证券时报社版权所有，未经书面授权禁止使用</div></body></html>"##
    )
}

/// The sentence only the article's page has (the list shows a summary).
fn page_sentence(story: &Story) -> String {
    format!("{}的全文独有的句子", story.id)
}

/// An article page: the story in `div.detail-content`, the site around it.
fn detail_page(story: &Story, charset: &str) -> String {
    let paragraph = "证券时报记者获悉，相关机构在最新披露的数据中表示，今年以来市场整体运行平稳，投资者信心逐步恢复，多项指标好于预期，业内人士认为后续仍有进一步改善的空间。";
    format!(
        r#"<!DOCTYPE html><html><head><meta http-equiv="Content-Type" content="text/html; charset={charset}">
        <title>{title}_证券时报网</title></head><body>
        <div class="header"><a href="/">首页</a><a href="/article/list/yw.html">要闻</a></div>
        <div class="detail-title">{title}</div>
        <div class="detail-info"><span>证券时报网</span><span>2025-11-20 09:30</span></div>
        <div class="detail-content"><p>{sentence}，{paragraph}</p><p>{paragraph}</p><p>{paragraph}</p></div>
        <div class="ad-banner"><a href="https://ad.example/"><img src="/ad.jpg">开户送好礼</a></div>
        <div class="footer">证券时报社版权所有</div></body></html>"#,
        title = story.title,
        sentence = page_sentence(story)
    )
}

/// Serves a channel: its list page and the pages of its stories.
fn serve_channel(server: &FeedServer, channel: &str, stories: &[Story], gbk: bool) {
    let encode = |text: String| -> Vec<u8> {
        if gbk {
            encoding_rs::GBK.encode(&text).0.into_owned()
        } else {
            text.into_bytes()
        }
    };
    let charset = if gbk { "gbk" } else { "utf-8" };
    server.set(
        &format!("/article/list/{channel}.html"),
        Reply::status(200, "")
            .content_type("text/html")
            .body(encode(list_page(channel, stories, charset))),
    );
    for story in stories {
        server.set(
            &format!("/article/detail/{}.html", story.id),
            Reply::status(200, "")
                .content_type("text/html")
                .body(encode(detail_page(story, charset))),
        );
    }
}

/// The 股市 page, in GBK, as many such sites still serve.
fn gs_stories(now: DateTime<Utc>) -> Vec<Story> {
    let when = minute(now - TimeDelta::days(1));
    [
        "深市成交活跃 创业板指数收涨逾百分之二",
        "沪指窄幅震荡 银行板块午后拉升",
    ]
    .iter()
    .enumerate()
    .map(|(i, title)| Story {
        id: format!("gs{}", i + 1),
        title: title.to_string(),
        written: Some(local(when).format("%Y-%m-%d %H:%M").to_string()),
        when: When::At(when),
        tags: vec!["股市"],
        linked: true,
    })
    .collect()
}

/// The 快讯 API: JSON, unix seconds, only for `X-Requested-With`.
fn serve_kx(server: &FeedServer, now: DateTime<Utc>) -> Vec<(String, DateTime<Utc>)> {
    let flashes: Vec<(String, DateTime<Utc>)> = (1..=3)
        .map(|i| {
            (
                format!("快讯：某公司第{i}次公告回购股份，金额不超过{i}亿元"),
                minute(now - TimeDelta::minutes(10 * i)),
            )
        })
        .collect();
    let data: Vec<serde_json::Value> = flashes
        .iter()
        .enumerate()
        .map(|(i, (title, when))| {
            serde_json::json!({
                "id": 9000 + i, "title": title, "url": format!("/article/detail/kx{i}.html"),
                "time": when.timestamp(), "content": format!("<p>{title}。详情见公告。</p>"),
                "source": "证券时报网", "tags": [{"name": "公告"}, {"name": "回购"}],
            })
        })
        .collect();
    server.set(
        "/article/list.html",
        Reply::feed(serde_json::json!({ "state": 1, "data": data }).to_string())
            .content_type("application/json")
            .only_with("X-Requested-With", "XMLHttpRequest"),
    );
    flashes
}

/// A config of the three 证券时报网 recipes, pointed at `server`.
fn recipes_config(server: &FeedServer) -> Instance {
    Instance::raw(&format!(
        "[storage]\ndatabase = \"tidings.db\"\n\n[poll]\npages_per_poll = 50\n\n\
         [[sources]]\nrecipe = \"stcn/yw\"\nurl = \"{}\"\n\n\
         [[sources]]\nrecipe = \"stcn/gs\"\nurl = \"{}\"\n\n\
         [[sources]]\nrecipe = \"stcn/kx\"\nurl = \"{}\"\n",
        server.url("/article/list/yw.html"),
        server.url("/article/list/gs.html"),
        server.url("/article/list.html?type=kx"),
    ))
}

fn stored_date(app: &Instance, link: &str) -> DateTime<Utc> {
    let text: String = app
        .db()
        .query_row(
            "SELECT published FROM articles WHERE link = ?1",
            [link],
            |r| r.get(0),
        )
        .unwrap_or_else(|e| panic!("{link} is not stored: {e}"));
    DateTime::parse_from_rfc3339(&text).unwrap().to_utc()
}

#[tokio::test]
async fn a_site_without_feeds_is_read_through_its_recipes() {
    let server = FeedServer::start().await;
    let before = Utc::now();
    let yw = yw_stories(before);
    let gs = gs_stories(before);
    serve_channel(&server, "yw", &yw, false);
    serve_channel(&server, "gs", &gs, true);
    let flashes = serve_kx(&server, before);
    let app = recipes_config(&server);

    let summary = app.poll().await;
    let after = Utc::now();
    assert!(
        summary.contains("sources: 3 ok (0 not modified), 0 failed"),
        "{summary}"
    );
    let linked: Vec<&Story> = yw.iter().filter(|s| s.linked).collect();
    assert_eq!(
        article_counts(&summary).0,
        (linked.len() + gs.len() + flashes.len()) as u64,
        "{summary}"
    );

    // Every item with its title, link, date, categories and the page's text.
    for story in linked.iter().copied().chain(&gs) {
        let link = server.url(&format!("/article/detail/{}.html", story.id));
        let (title, content, categories): (String, String, String) = app
            .db()
            .query_row(
                "SELECT a.title, a.content_html,
                        (SELECT group_concat(category, ',') FROM
                           (SELECT category FROM article_categories c WHERE c.article_id = a.id ORDER BY position))
                   FROM articles a WHERE a.link = ?1",
                [&link],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap_or_else(|e| panic!("{link}: {e}"));
        assert_eq!(title, story.title);
        assert!(content.contains(&page_sentence(story)), "{link}: {content}");
        assert!(!content.contains("开户送好礼"), "{link}: {content}");
        let channel = if story.id.starts_with("gs") {
            "股市"
        } else {
            "要闻"
        };
        let expected: Vec<&str> = ["金融", "证券时报网", channel]
            .into_iter()
            .chain(story.tags.iter().copied().filter(|t| *t != channel))
            .collect();
        assert_eq!(categories, expected.join(","), "{link}");
        let date = stored_date(&app, &link);
        match story.when {
            When::At(at) => assert_eq!(date, at, "{link}: {:?}", story.written),
            When::About(at) => assert!(
                (date - at).num_seconds().abs() <= 120 + (after - before).num_seconds(),
                "{link}: {date} is not about {at} ({:?})",
                story.written
            ),
            When::FirstSeen => assert!(
                date >= minute(before) && date <= after,
                "{link}: {date} is not when it was first seen"
            ),
        }
    }
    // The item without a link is skipped, and said.
    assert_eq!(
        app.count("SELECT count(*) FROM articles WHERE title LIKE '这条没有链接%'"),
        0
    );
    let warnings = app.strings(&format!(
        "SELECT last_warnings FROM sources WHERE url = '{}'",
        server.url("/article/list/yw.html")
    ));
    assert!(
        warnings[0].contains("skipped 1 of 11 items without a link (`div.tt a@href`)"),
        "{warnings:?}"
    );

    // 快讯 from the API: asked with the header, dated by its unix times.
    for (title, when) in &flashes {
        let (published, categories): (String, String) = app
            .db()
            .query_row(
                "SELECT published, (SELECT group_concat(category, ',') FROM article_categories c
                                     WHERE c.article_id = a.id) FROM articles a WHERE title = ?1",
                [title],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap_or_else(|e| panic!("{title}: {e}"));
        assert_eq!(published, tidings::read::dates::to_db(*when));
        assert!(
            categories.contains("快讯") && categories.contains("回购"),
            "{categories}"
        );
    }
    assert!(
        server
            .seen()
            .iter()
            .any(|s| s.path == "/article/list.html" && s.status == 200),
        "the API was never asked with its header"
    );

    // The same bytes again (no ETag on these pages): not read again.
    let summary = app.poll().await;
    assert_eq!(article_counts(&summary), (0, 0, 0), "{summary}");
    assert!(summary.contains("3 ok (3 not modified)"), "{summary}");
    let outcomes = app.strings(
        "SELECT outcome || ' ' || http_status FROM fetch_log f JOIN sources s ON s.id = f.source_id
          WHERE s.url LIKE '%/yw.html' ORDER BY f.id",
    );
    assert_eq!(outcomes, ["ok 200", "not_modified 200"]);
}

#[tokio::test]
async fn a_changed_layout_fails_the_source_with_its_selector_and_a_good_page_recovers() {
    let server = FeedServer::start().await;
    let now = Utc::now();
    let mut yw = yw_stories(now);
    serve_channel(&server, "yw", &yw[..3], false);
    let app = Instance::raw(&format!(
        "[storage]\ndatabase = \"tidings.db\"\n\n[[sources]]\nrecipe = \"stcn/yw\"\nurl = \"{}\"\nfull_content = \"never\"\n",
        server.url("/article/list/yw.html")
    ));
    let summary = app.poll().await;
    assert_eq!(article_counts(&summary).0, 3, "{summary}");

    // The site moves to new markup: an error that names the selector, never "ok, 0 new".
    let redesigned = list_page("yw", &yw[..3], "utf-8")
        .replace(
            r#"<ul class="infinite-list">"#,
            r#"<div class="news-list">"#,
        )
        .replace("<li>", r#"<div class="news-item">"#)
        .replace("</li>", "</div>");
    server.set(
        "/article/list/yw.html",
        Reply::status(200, "")
            .content_type("text/html")
            .body(redesigned.into_bytes()),
    );
    let summary = app.poll().await;
    assert!(
        summary.contains("0 ok (0 not modified), 1 failed"),
        "{summary}"
    );
    let expected = "the list selector `ul.infinite-list li` matches nothing on the page: the page's layout may have changed";
    assert!(summary.contains(expected), "{summary}");
    assert_eq!(app.strings("SELECT last_error FROM sources"), [expected]);
    let sources = app.run(&["sources"]).await;
    let listing = String::from_utf8_lossy(&sources.stdout);
    assert!(listing.contains(expected), "{listing}");

    // A good page again, with one more story: read, and the error is gone.
    yw.truncate(4);
    serve_channel(&server, "yw", &yw, false);
    let summary = app.poll().await;
    assert!(summary.contains("1 ok"), "{summary}");
    assert_eq!(article_counts(&summary).0, 1, "{summary}");
    assert_eq!(
        app.count("SELECT count(*) FROM sources WHERE last_error IS NULL AND last_status = 'ok'"),
        1
    );
}

#[tokio::test]
async fn a_page_whose_layout_changed_is_counted_as_a_parse_failure() {
    let server = FeedServer::start().await;
    server.set(
        "/article/list/yw.html",
        Reply::status(200, "<html><body><p>新版页面</p></body></html>").content_type("text/html"),
    );
    let listen = free_address();
    let app = Instance::raw(&format!(
        "[storage]\ndatabase = \"tidings.db\"\n\n[server]\nlisten = \"{listen}\"\n\n\
         [[sources]]\nrecipe = \"stcn/yw\"\nurl = \"{}\"\n",
        server.url("/article/list/yw.html")
    ));
    let daemon = Daemon::start(&app, &listen).await;
    let metrics_url = daemon.url("/metrics");
    let mut metrics = String::new();
    for _ in 0..100 {
        metrics = get_text(&metrics_url).await;
        if metrics.contains(r#"tidings_fetches_total{outcome="parse"} 1"#) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        metrics.contains(r#"tidings_fetches_total{outcome="parse"} 1"#),
        "{metrics}"
    );
    eventually(5, "the error on the source", || {
        app.count("SELECT count(*) FROM sources WHERE last_error LIKE '%ul.infinite-list li%'") == 1
    })
    .await;
    assert!(daemon.stop().await.success());
}

#[tokio::test]
async fn discover_finds_advertised_and_usual_feeds_and_proposes_a_list_for_the_rest() {
    let feed = common::rss(
        "证券时报网 - 要闻",
        &[(
            "一条新闻",
            "https://news.stcn.com/1.html",
            "2025-11-20 09:30",
            "正文",
        )],
    );
    // A page that advertises its feed.
    let advertising = FeedServer::start().await;
    advertising.set(
        "/index.html",
        Reply::status(
            200,
            r#"<html><head><link rel="alternate" type="application/rss+xml" title="要闻" href="/feeds/yw.xml"></head><body>首页</body></html>"#,
        ),
    );
    advertising.set("/feeds/yw.xml", Reply::feed(feed.clone()));
    // A page that does not, on a site with a feed where feeds usually are.
    let quiet = FeedServer::start().await;
    quiet.set(
        "/news/index.html",
        Reply::status(200, "<html><body>新闻</body></html>"),
    );
    quiet.set("/rss.xml", Reply::feed(feed));
    // The stcn-like site, which has none.
    let site = FeedServer::start().await;
    let stories = yw_stories(Utc::now());
    serve_channel(&site, "yw", &stories, false);

    let app = Instance::raw("[storage]\ndatabase = \"tidings.db\"\n");
    let discover = |url: String| {
        let app = &app;
        async move {
            let out = app.run(&["discover", &url]).await;
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).into_owned()
        }
    };
    let found = discover(advertising.url("/index.html")).await;
    assert!(found.contains("feeds the page advertises:"), "{found}");
    assert!(found.contains(&advertising.url("/feeds/yw.xml")), "{found}");
    let found = discover(quiet.url("/news/index.html")).await;
    assert!(found.contains("feeds at the usual places:"), "{found}");
    assert!(found.contains(&quiet.url("/rss.xml")), "{found}");

    let page = site.url("/article/list/yw.html");
    let found = discover(page.clone()).await;
    let list = found
        .lines()
        .find(|line| line.starts_with("list = {"))
        .unwrap_or_else(|| panic!("no list table proposed: {found}"));
    // The proposal, as a user would paste it, reads every item of the page.
    let app = Instance::raw(&format!(
        "[storage]\ndatabase = \"tidings.db\"\n\n[[sources]]\nname = \"证券时报网\"\nurl = \"{page}\"\ncategory = \"金融\"\n{list}\n"
    ));
    let out = app.run(&["parse", &page, "--source", "证券时报网"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let parsed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let titles: Vec<&str> = parsed["articles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["title"].as_str().unwrap())
        .collect();
    let linked: Vec<&str> = stories
        .iter()
        .filter(|s| s.linked)
        .map(|s| s.title.as_str())
        .collect();
    assert_eq!(titles, linked, "{list}");
    assert_eq!(parsed["matches"]["items"], stories.len());
    let dated = parsed["articles"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["published"].is_string())
        .count();
    assert_eq!(
        dated,
        stories
            .iter()
            .filter(|s| s.linked && s.written.is_some())
            .count(),
        "{list}"
    );
}

#[tokio::test]
async fn parse_with_a_source_shows_what_each_field_matched() {
    let server = FeedServer::start().await;
    let now = Utc::now();
    serve_kx(&server, now);
    let url = server.url("/article/list.html?type=kx");
    let app = Instance::raw(&format!(
        "[storage]\ndatabase = \"tidings.db\"\n\n[[sources]]\nrecipe = \"stcn/kx\"\nurl = \"{url}\"\n"
    ));
    let out = app.run(&["parse", &url, "--source", "stcn/kx"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let parsed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(parsed["articles"].as_array().unwrap().len(), 3);
    let fields: Vec<(String, u64)> = parsed["matches"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["field"].as_str().unwrap().to_string(),
                f["matched"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(fields.contains(&("title".into(), 3)), "{fields:?}");
    assert!(fields.contains(&("image".into(), 0)), "{fields:?}");
    assert!(
        parsed["warnings"][0]
            .as_str()
            .unwrap()
            .contains("`image` (`share.image`) matched 0 of 3 items"),
        "{parsed}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("3 items; title 3/3, link 3/3"));
    let recipes = app.run(&["recipes"]).await;
    let recipes = String::from_utf8_lossy(&recipes.stdout);
    assert!(
        recipes
            .lines()
            .any(|l| l.starts_with("stcn/kx") && l.contains("json") && l.contains("快讯")),
        "{recipes}"
    );
    // Without its header the API refuses, as the real one does.
    let out = common::tidings(&["parse", &url], &app.config()).await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("403"));
}
