//! What people read: the news pages in a real browser (headless Chromium,
//! which `.ci/run` installs), the JSON Feeds beside the Atom ones, checked
//! against the specification and read by feed-rs and by feedparser.
//!
//! The outlets: one story carried by three (证券时报网 first, then 新浪财经
//! and 第一财经 reprint it), a flash carried by two, and an entry whose
//! title and content try to run script in the reader's browser.

mod common;

use std::process::Stdio;

use common::*;

const ORIGINAL: &str = "证券时报记者获悉，国家统计局20日发布数据显示，10月份社会消费品零售总额同比增长4.8%，比上月加快0.3个百分点。\
    其中，除汽车以外的消费品零售额增长5.1%。分析人士表示，随着促消费政策持续发力，消费市场继续恢复向好，服务零售额增长较快。\
    从渠道看，实物商品网上零售额占社会消费品零售总额的比重继续提高，乡村市场销售增速快于城镇。展望四季度，专家预计消费将保持平稳增长态势。";

const FLASH: &str = "央行今日开展2000亿元7天期逆回购操作，中标利率为1.50%，与此前持平。";

/// A title that is markup as text (its entities decode to a tag), and
/// content that carries script three ways.
const HOSTILE_TITLE: &str =
    "&lt;img src=x onerror=\"document.body.dataset.pwned='title'\"&gt;恶意标题";
const HOSTILE_BODY: &str = "<p>正文<img src=\"x\" onerror=\"document.body.dataset.pwned='img'\">\
    <script>document.body.dataset.pwned='script'</script>\
    <a href=\"javascript:document.body.dataset.pwned='link'\">点此</a></p>";

fn serve(server: &FeedServer) {
    server.set(
        "/stcn.xml",
        Reply::feed(rss(
            "证券时报网 - 要闻",
            &[
                (
                    "10月社零同比增长4.8%",
                    "https://www.stcn.com/article/detail/1.html",
                    "2026-11-20 10:00:00",
                    ORIGINAL,
                ),
                (
                    "央行开展2000亿元逆回购",
                    "https://www.stcn.com/article/detail/2.html",
                    "2026-11-20 09:20:00",
                    FLASH,
                ),
                (
                    HOSTILE_TITLE,
                    "https://www.stcn.com/article/detail/3.html",
                    "2026-11-20 08:00:00",
                    HOSTILE_BODY,
                ),
            ],
        )),
    );
    let sina_story = format!("【新浪财经讯】{ORIGINAL}（来源：证券时报网） 责任编辑：王一");
    let sina_flash = format!("【财联社11月20日电】{FLASH}");
    server.set(
        "/sina.xml",
        Reply::feed(rss(
            "新浪财经 - 滚动",
            &[
                (
                    "重磅！10月社零同比增长4.8%",
                    "https://finance.sina.com.cn/a/1.shtml",
                    "2026-11-20 10:09:00",
                    &sina_story,
                ),
                (
                    "央行开展2000亿元逆回购操作",
                    "https://finance.sina.com.cn/a/2.shtml",
                    "2026-11-20 09:25:00",
                    &sina_flash,
                ),
            ],
        )),
    );
    let yicai_story = format!("本报讯（记者 张三）{ORIGINAL}");
    server.set(
        "/yicai.xml",
        Reply::feed(rss(
            "第一财经",
            &[(
                "国家统计局：10月社零同比增长4.8%",
                "https://www.yicai.com/news/1.html",
                "2026-11-20 10:20:00",
                &yicai_story,
            )],
        )),
    );
}

/// The outlets polled into a new instance, which serves on `listen`:
/// 证券时报网 first, so that its copies lead their stories, then all three.
async fn polled() -> (FeedServer, Instance, String) {
    let server = FeedServer::start().await;
    serve(&server);
    let settings = "[output]\ndir = \"public\"\n";
    let stcn = || Source::new("证券时报网", server.url("/stcn.xml"), "金融", "要闻");
    let (app, listen) = listening(settings, &[stcn()]);
    assert_eq!(article_counts(&app.poll().await).0, 3);
    let all = Instance::new(
        &format!("{settings}\n[server]\nlisten = \"{listen}\""),
        &[
            stcn(),
            Source::new("新浪财经", server.url("/sina.xml"), "金融", "滚动"),
            Source::new("第一财经", server.url("/yicai.xml"), "财经", "新闻"),
        ],
    );
    std::fs::copy(all.config(), app.config()).unwrap();
    let summary = app.poll().await;
    assert_eq!(article_counts(&summary).0, 3, "{summary}");
    (server, app, listen)
}

fn id_of(app: &Instance, link: &str) -> i64 {
    app.db()
        .query_row("SELECT id FROM articles WHERE link = ?1", [link], |row| {
            row.get(0)
        })
        .unwrap()
}

/// Debian's Chromium, or whatever `CHROMIUM` names.
fn chromium() -> String {
    if let Ok(path) = std::env::var("CHROMIUM") {
        return path;
    }
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|name| {
            std::process::Command::new("which")
                .arg(name)
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|status| status.success())
        })
        .expect("the page tests need Chromium: apt-get install chromium (.ci/run does)")
        .to_string()
}

/// Headless Chromium, kept on loopback: every other host name resolves to
/// nothing, and nothing runs in the background.
fn browser(args: &[&str]) -> std::process::Output {
    let profile = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--virtual-time-budget=3000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .output()
        .expect("chromium runs");
    assert!(
        output.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The DOM of `url` after the browser has loaded it and run whatever it
/// would run.
fn rendered_dom(url: &str) -> String {
    String::from_utf8(browser(&["--dump-dom", url]).stdout).unwrap()
}

/// The text of each `<h2>` of a DOM, in order: the stories' titles.
fn headings(dom: &str) -> Vec<String> {
    dom.split("<h2>")
        .skip(1)
        .map(|part| {
            let heading = part.split("</h2>").next().unwrap();
            let mut text = String::new();
            let mut in_tag = false;
            for c in heading.chars() {
                match c {
                    '<' => in_tag = true,
                    '>' => in_tag = false,
                    c if !in_tag => text.push(c),
                    _ => {}
                }
            }
            text
        })
        .collect()
}

/// The hostile title as a page shows it: text.
const TITLE_AS_TEXT: &str =
    "&lt;img src=x onerror=\"document.body.dataset.pwned='title'\"&gt;恶意标题";

/// Nothing from a feed ran or became an element or a link (the hostile
/// title shown as text aside).
fn harmless(dom: &str, page: &str) {
    let dom = dom.replace(TITLE_AS_TEXT, "");
    assert!(!dom.contains("pwned=\""), "{page}: a script ran\n{dom}");
    assert!(!dom.contains("data-pwned"), "{page}: a script ran\n{dom}");
    assert!(!dom.contains("<script"), "{page}: a script element\n{dom}");
    assert!(!dom.contains("onerror=\""), "{page}: a handler\n{dom}");
    assert!(!dom.contains("javascript:"), "{page}: a script link\n{dom}");
}

#[tokio::test]
async fn the_news_pages_in_a_browser_show_stories_in_order_with_their_copies_and_run_no_feed_script()
 {
    let (_server, app, listen) = polled().await;
    let daemon = Daemon::start_command(&app, &listen, "serve").await;

    let front = rendered_dom(&daemon.url("/"));
    harmless(&front, "/");
    let titles = headings(&front);
    assert_eq!(titles.len(), 3, "three stories: {titles:?}");
    assert_eq!(
        titles[..2],
        ["10月社零同比增长4.8%", "央行开展2000亿元逆回购"]
    );
    // The hostile title is shown as the text it is.
    assert!(titles[2].ends_with("恶意标题"), "{titles:?}");
    assert!(front.contains(TITLE_AS_TEXT), "{front}");
    // The story names the two outlets that carried it after the first, each
    // linked to its copy, in the configured zone (Asia/Shanghai).
    let story = front.split("<article").nth(1).unwrap();
    let also = story
        .split("亦见于：")
        .nth(1)
        .expect("the story's 亦见于 line")
        .split("</p>")
        .next()
        .unwrap();
    let links: Vec<&str> = also
        .split("href=\"")
        .skip(1)
        .map(|part| part.split('"').next().unwrap())
        .collect();
    assert_eq!(links.len(), 2, "{also}");
    for copy in [
        "https://www.stcn.com/article/detail/1.html",
        "https://finance.sina.com.cn/a/1.shtml",
        "https://www.yicai.com/news/1.html",
    ] {
        assert!(
            story.contains(&format!("href=\"{copy}\"")),
            "{copy} is not linked from the story: {story}"
        );
    }
    assert!(
        front.contains("rel=\"alternate\" type=\"application/atom+xml\"")
            && front.contains("type=\"application/feed+json\""),
        "the page names its feeds"
    );

    // A category: 要闻 is 证券时报网's channel, which leads every story; 新闻
    // is 第一财经's, whose one copy joined a story it does not lead.
    let category = rendered_dom(&daemon.url("/c/%E8%A6%81%E9%97%BB"));
    harmless(&category, "/c/要闻");
    assert_eq!(headings(&category), headings(&front));
    assert!(
        category.contains("aria-current=\"page\">要闻"),
        "{category}"
    );
    let category = rendered_dom(&daemon.url("/c/%E6%96%B0%E9%97%BB"));
    assert!(headings(&category).is_empty(), "{category}");

    // The story's page: every copy, and why each joined.
    let story_id = id_of(&app, "https://www.stcn.com/article/detail/1.html");
    let page = rendered_dom(&daemon.url(&format!("/story/{story_id}")));
    harmless(&page, "/story");
    assert!(page.contains("3 篇报道"), "{page}");
    assert_eq!(page.matches("文本重合").count(), 2, "{page}");
    assert!(page.contains("首发"), "{page}");

    // The hostile entry's own page: its content, sanitized.
    let hostile = id_of(&app, "https://www.stcn.com/article/detail/3.html");
    let page = rendered_dom(&daemon.url(&format!("/story/{hostile}")));
    harmless(&page, "/story of the hostile entry");
    assert!(page.contains("点此"), "{page}");

    // A search, as a browser asks for it: the page, with the query kept.
    let search = rendered_dom(&daemon.url("/search?q=%E4%B9%A1%E6%9D%91%E5%B8%82%E5%9C%BA"));
    harmless(&search, "/search");
    let titles = headings(&search);
    assert!(
        !titles.is_empty() && titles.iter().all(|t| t.contains("社零")),
        "{titles:?}"
    );
    assert!(search.contains("value=\"乡村市场\""), "{search}");

    // The picture for the README.
    let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("news-page.png");
    let _ = std::fs::remove_file(&shot);
    browser(&[
        &format!("--screenshot={}", shot.display()),
        "--window-size=900,1100",
        "--hide-scrollbars",
        &daemon.url("/"),
    ]);
    let png = std::fs::read(&shot).expect("a screenshot was written");
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000);
    daemon.stop().await;
}

/// The entry ids of an Atom feed and of a JSON Feed, in order.
fn atom_ids(body: &[u8]) -> Vec<String> {
    let feed = feed_rs::parser::parse(body).unwrap();
    feed.entries.into_iter().map(|entry| entry.id).collect()
}

fn json_ids(feed: &serde_json::Value) -> Vec<String> {
    feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_string())
        .collect()
}

/// What JSON Feed 1.1 requires of a feed and its items, and what RFC 3339
/// dates look like.
fn valid_json_feed(feed: &serde_json::Value, what: &str) {
    assert_eq!(
        feed["version"], "https://jsonfeed.org/version/1.1",
        "{what}"
    );
    assert!(feed["title"].is_string(), "{what}");
    assert!(
        feed["feed_url"].as_str().unwrap().starts_with("http"),
        "{what}"
    );
    for item in feed["items"].as_array().unwrap() {
        assert!(item["id"].is_string(), "{what}: {item}");
        assert!(
            item["content_html"].is_string() || item["content_text"].is_string(),
            "{what}: {item}"
        );
        for date in ["date_published", "date_modified"] {
            let text = item[date].as_str().unwrap();
            chrono::DateTime::parse_from_rfc3339(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        }
        assert!(item["authors"][0]["name"].is_string(), "{what}: {item}");
        assert!(item["tags"].is_array(), "{what}: {item}");
    }
}

#[tokio::test]
async fn json_feeds_carry_the_atom_feeds_entries_and_ids() {
    let (_server, app, listen) = polled().await;
    let daemon = Daemon::start_command(&app, &listen, "serve").await;
    let client = reqwest::Client::new();
    let get = |path: &str| {
        let url = daemon.url(path);
        let client = client.clone();
        async move {
            let response = client.get(url).send().await.unwrap();
            assert_eq!(response.status(), 200, "{}", response.url());
            let kind = response.headers()["content-type"]
                .to_str()
                .unwrap()
                .to_string();
            (kind, response.bytes().await.unwrap())
        }
    };
    let search = "%E4%B9%A1%E6%9D%91%E5%B8%82%E5%9C%BA";
    for (atom, json) in [
        ("/feeds/all.atom", "/feeds/all.json"),
        (
            "/feeds/%E8%A6%81%E9%97%BB.atom",
            "/feeds/%E8%A6%81%E9%97%BB.json",
        ),
        (
            &format!("/search?q={search}") as &str,
            &format!("/search.json?q={search}") as &str,
        ),
    ] {
        let (_, atom_body) = get(atom).await;
        let (kind, json_body) = get(json).await;
        assert_eq!(kind, "application/feed+json; charset=utf-8");
        let feed: serde_json::Value = serde_json::from_slice(&json_body).unwrap();
        valid_json_feed(&feed, json);
        let ids = json_ids(&feed);
        assert!(!ids.is_empty(), "{json}");
        assert_eq!(ids, atom_ids(&atom_body), "{json} against {atom}");
    }

    // The story's item: its earliest copy as url, the next as external_url,
    // every other outlet in the extension, the same line as the Atom entry.
    let (_, body) = get("/feeds/all.json").await;
    let feed: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let story = feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["title"].as_str().unwrap().contains("社零"))
        .unwrap();
    assert_eq!(story["url"], "https://www.stcn.com/article/detail/1.html");
    assert_eq!(
        story["external_url"],
        "https://finance.sina.com.cn/a/1.shtml"
    );
    let outlets: Vec<&str> = story["_tidings"]["also_in"]
        .as_array()
        .unwrap()
        .iter()
        .map(|copy| copy["outlet"].as_str().unwrap())
        .collect();
    assert_eq!(outlets.len(), 2, "{story}");
    assert!(story["content_html"].as_str().unwrap().contains("亦见于："));

    // Another reader's parser (feed-rs, which reads JSON Feed 1.0 and 1.1)
    // reads the same entries as from the Atom feed: ids, titles, links,
    // dates, authors.
    let (_, atom) = get("/feeds/all.atom").await;
    let from_atom = feed_rs::parser::parse(&atom[..]).unwrap();
    let from_json = feed_rs::parser::parse(&body[..]).unwrap();
    assert_eq!(from_json.entries.len(), from_atom.entries.len());
    for (json, atom) in from_json.entries.iter().zip(&from_atom.entries) {
        assert_eq!(json.id, atom.id);
        assert_eq!(
            json.title.as_ref().unwrap().content,
            atom.title.as_ref().unwrap().content
        );
        assert_eq!(json.links[0].href, atom.links[0].href);
        assert_eq!(json.published, atom.published);
        assert_eq!(json.updated, atom.updated);
        assert_eq!(json.authors[0].name, atom.authors[0].name);
        assert_eq!(json.categories.len(), atom.categories.len());
    }

    // And feedparser: its JSON Feed reader is not in a release yet (6.0 reads
    // XML only), so the one the `reader` package ships, feedparser's own
    // code, reads it (the README's test command installs both).
    let file = app.dir.path().join("all.json");
    std::fs::write(&file, &body).unwrap();
    let script = "import json, sys\n\
        try:\n    from reader._vendor import feedparser\n\
        except ImportError:\n    import feedparser\n\
        d = feedparser.parse(open(sys.argv[1], 'rb').read(), \
        response_headers={'content-type': 'application/feed+json'})\n\
        print(json.dumps({'version': d.version, 'bozo': bool(d.bozo), \
        'ids': [e.id for e in d.entries], 'links': [e.link for e in d.entries], \
        'published': [e.published for e in d.entries]}))";
    let read = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(&file)
        .output()
        .expect("python3 runs");
    assert!(
        read.status.success(),
        "{}",
        String::from_utf8_lossy(&read.stderr)
    );
    let read: serde_json::Value = serde_json::from_slice(&read.stdout).unwrap();
    assert_eq!(read["version"], "json11", "feedparser's reading: {read}");
    assert_eq!(read["bozo"], false, "{read}");
    let items = feed["items"].as_array().unwrap();
    let theirs = |field: &str| -> Vec<String> {
        read[field]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    let ours = |field: &str| -> Vec<String> {
        items
            .iter()
            .map(|item| item[field].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(theirs("ids"), ours("id"));
    assert_eq!(theirs("links"), ours("url"));
    assert_eq!(theirs("published"), ours("date_published"));

    // Unchanged, it is answered 304.
    let first = client
        .get(daemon.url("/feeds/all.json"))
        .send()
        .await
        .unwrap();
    let etag = first.headers()["etag"].clone();
    let again = client
        .get(daemon.url("/feeds/all.json"))
        .header("If-None-Match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);

    // The output folder has the same feeds.
    let written = std::fs::read(app.dir.path().join("public/all.json")).unwrap();
    assert_eq!(written, body.to_vec());
    let written = std::fs::read(app.dir.path().join("public/要闻.json")).unwrap();
    let label: serde_json::Value = serde_json::from_slice(&written).unwrap();
    valid_json_feed(&label, "public/要闻.json");
    daemon.stop().await;
}

#[tokio::test]
async fn pages_answer_304_when_unchanged_and_404_for_what_does_not_exist() {
    let (_server, app, listen) = polled().await;
    let daemon = Daemon::start_command(&app, &listen, "serve").await;
    let client = reqwest::Client::new();
    let front = client.get(daemon.url("/")).send().await.unwrap();
    assert_eq!(front.status(), 200);
    assert_eq!(front.headers()["content-type"], "text/html; charset=utf-8");
    let policy = front.headers()["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("default-src 'none'"), "{policy}");
    let etag = front.headers()["etag"].clone();
    let again = client
        .get(daemon.url("/"))
        .header("If-None-Match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    for missing in ["/c/%E6%B2%A1%E6%9C%89", "/story/999999"] {
        let response = client.get(daemon.url(missing)).send().await.unwrap();
        assert_eq!(response.status(), 404, "{missing}");
    }
    // A feed reader that takes HTML too, ranked below Atom (SimplePie's
    // Accept), gets the search's feed; a browser gets its page.
    let simplepie = "application/atom+xml, application/rss+xml, application/rdf+xml;q=0.9, \
        application/xml;q=0.8, text/xml;q=0.8, text/html;q=0.7, unknown/unknown;q=0.1, */*;q=0.1";
    let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    for (accept, kind) in [
        (simplepie, "application/atom+xml; charset=utf-8"),
        (browser, "text/html; charset=utf-8"),
    ] {
        let response = client
            .get(daemon.url("/search?q=%E9%80%86%E5%9B%9E%E8%B4%AD"))
            .header("Accept", accept)
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["content-type"], kind, "{accept}");
    }
    daemon.stop().await;
}

#[tokio::test]
async fn pages_of_fifty_follow_each_other_without_repeats_or_gaps() {
    let server = FeedServer::start().await;
    let items: Vec<(String, String, String, String)> = (0..120)
        .map(|n| {
            (
                format!("第{n}号公告"),
                format!("https://www.stcn.com/article/detail/{n}.html"),
                format!("2026-11-20 {:02}:{:02}:00", 8 + n / 60, n % 60),
                format!("<p>公司{n}发布第{n}号公告。</p>"),
            )
        })
        .collect();
    server.set("/stcn.xml", Reply::feed(rss("证券时报网", &items)));
    let (app, listen) = listening(
        "",
        &[Source::new(
            "证券时报网",
            server.url("/stcn.xml"),
            "金融",
            "要闻",
        )],
    );
    assert_eq!(article_counts(&app.poll().await).0, 120);
    let daemon = Daemon::start_command(&app, &listen, "serve").await;
    for first in ["/", "/c/%E8%A6%81%E9%97%BB"] {
        let mut seen: Vec<String> = Vec::new();
        let mut next = Some(first.to_string());
        let mut pages = 0;
        while let Some(path) = next {
            assert!(pages < 5, "{first}: more pages than 120 stories fill");
            let page = get_text(daemon.url(&path)).await;
            pages += 1;
            seen.extend(headings(&page));
            next = page
                .split("rel=\"next\" href=\"")
                .nth(1)
                .map(|rest| format!("{first}{}", rest.split('"').next().unwrap()));
        }
        assert_eq!(pages, 3, "{first}");
        let expected: Vec<String> = (0..120).rev().map(|n| format!("第{n}号公告")).collect();
        assert_eq!(seen, expected, "{first}: every story once, newest first");
    }
    daemon.stop().await;
}
