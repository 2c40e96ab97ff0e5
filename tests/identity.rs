//! Which entries are the same article, where a link's fragment is concerned:
//! a weblog's permalinks into one day's page, hash routes, entries of one
//! feed that share a link or a guid, and a database that already merged such
//! entries. Real feed bytes over HTTP on 127.0.0.1, the real database.

mod common;

use common::{FeedServer, Instance, Reply, Source, article_counts};

/// A feed of the shape of the RSS 2.0 specification's Scripting News sample:
/// items without a link whose guids are permalinks into one daily page.
fn scripting_news(times: &[&str]) -> String {
    let items: String = times
        .iter()
        .map(|time| {
            let i = NINE.iter().position(|t| t == time).unwrap();
            format!(
                "<item><description>Item {i} of the day, about namespaces and the weather.</description>\
                 <pubDate>Mon, 30 Sep 2002 0{i}:56:02 GMT</pubDate>\
                 <guid>http://scriptingnews.userland.com/backissues/2002/09/29#When:{time}</guid></item>"
            )
        })
        .collect();
    format!(
        r#"<?xml version="1.0"?><rss version="2.0"><channel><title>Scripting News</title>
        <link>http://www.scripting.com/</link><description>A weblog about scripting and stuff like that.</description>
        {items}</channel></rss>"#
    )
}

const NINE: [&str; 9] = [
    "6:56:02PM",
    "6:52:22PM",
    "6:45:53PM",
    "6:33:47PM",
    "4:34:18PM",
    "2:37:24PM",
    "10:48:13AM",
    "10:31:47AM",
    "9:08:47AM",
];

async fn parse_body(app: &Instance, body: &str) -> serde_json::Value {
    let file = app.dir.path().join("body.xml");
    std::fs::write(&file, body).unwrap();
    let out = common::parse_as_stcn(&file, &app.config()).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn empty() -> Instance {
    Instance::raw("[storage]\ndatabase = \"tidings.db\"\n")
}

#[tokio::test]
async fn permalinks_into_one_days_page_are_nine_articles() {
    let app = empty();
    let parsed = parse_body(&app, &scripting_news(&NINE)).await;
    let articles = parsed["articles"].as_array().unwrap();
    assert_eq!(articles.len(), 9, "{parsed}");
    assert_eq!(
        articles[0]["link"],
        "http://scriptingnews.userland.com/backissues/2002/09/29#When:6:56:02PM"
    );
    let warnings = parsed["warnings"].to_string();
    assert!(!warnings.contains("one entry"), "{warnings}");

    let server = FeedServer::start().await;
    server.set(
        "/scripting.xml",
        Reply::feed(scripting_news(&NINE)).without_etag(),
    );
    let app = Instance::new(
        "",
        &[Source::new(
            "Scripting News",
            server.url("/scripting.xml"),
            "weblog",
            "daily",
        )],
    );
    assert_eq!(article_counts(&app.poll().await), (9, 0, 0));
    // The day moves on: the same entries are the same articles.
    server.set(
        "/scripting.xml",
        Reply::feed(scripting_news(&NINE[2..])).without_etag(),
    );
    assert_eq!(article_counts(&app.poll().await), (0, 0, 7));
    assert_eq!(app.count("SELECT count(*) FROM articles"), 9);
}

/// A mobile site whose articles are hash routes, and an ordinary story.
fn routes(extra: &str) -> String {
    let items: String = (1..=4)
        .map(|n| {
            format!(
                "<item><title>第{n}条移动端新闻的标题</title><link>https://m.example.cn/#/news/{n}</link>\
                 <pubDate>2025-11-20 0{n}:00</pubDate><description>移动端新闻正文{n}</description></item>"
            )
        })
        .collect();
    format!(
        r#"<rss version="2.0"><channel><title>移动端</title><link>https://m.example.cn/</link>{items}{extra}</channel></rss>"#
    )
}

const STORY: &str = "<item><title>央行开展逆回购操作</title><link>https://www.example.cn/a/1.html</link>\
    <pubDate>2025-11-20 09:00</pubDate><description>央行今日开展逆回购操作。</description></item>";

#[tokio::test]
async fn hash_routes_are_pages_and_a_comments_anchor_is_not() {
    let server = FeedServer::start().await;
    server.set("/m.xml", Reply::feed(routes(STORY)));
    server.set(
        "/other.xml",
        Reply::feed(format!(
            r#"<rss version="2.0"><channel><title>另一家</title>{}</channel></rss>"#,
            STORY.replace("1.html</link>", "1.html#comments</link>")
        )),
    );
    let app = Instance::new(
        "",
        &[
            Source::new("移动端", server.url("/m.xml"), "金融", "要闻"),
            Source::new("另一家", server.url("/other.xml"), "金融", "要闻"),
        ],
    );
    let summary = app.poll().await;
    assert_eq!(article_counts(&summary), (5, 0, 1), "{summary}");
    let links = app.strings("SELECT link FROM articles ORDER BY link");
    assert_eq!(
        links,
        [
            "https://m.example.cn/#/news/1",
            "https://m.example.cn/#/news/2",
            "https://m.example.cn/#/news/3",
            "https://m.example.cn/#/news/4",
            "https://www.example.cn/a/1.html",
        ]
    );
    // The story with `#comments` from the other feed is the same article.
    assert_eq!(
        app.count(
            "SELECT count(*) FROM article_sources x JOIN articles a ON a.id = x.article_id
              WHERE a.link = 'https://www.example.cn/a/1.html'"
        ),
        2
    );
}

#[tokio::test]
async fn items_with_one_guid_are_one_entry_the_latest_kept_and_said() {
    let feed = r#"<rss version="2.0"><channel><title>t</title>
        <item><title>旧版标题</title><link>https://a.example/1</link><guid isPermaLink="false">story-1</guid>
              <pubDate>2025-11-20 09:00</pubDate><description>初稿</description></item>
        <item><title>另一条</title><link>https://a.example/2</link><guid isPermaLink="false">story-2</guid>
              <pubDate>2025-11-20 09:30</pubDate></item>
        <item><title>新版标题</title><link>https://a.example/1?v=2</link><guid isPermaLink="false">story-1</guid>
              <pubDate>2025-11-20 10:00</pubDate><description>更新稿</description></item>
        </channel></rss>"#;
    let app = empty();
    let parsed = parse_body(&app, feed).await;
    let titles: Vec<&str> = parsed["articles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["新版标题", "另一条"], "{parsed}");
    assert_eq!(
        parsed["warnings"][0],
        "entries 1 and 3 have the same guid `story-1`: one entry, the latest version kept"
    );

    let server = FeedServer::start().await;
    server.set("/f.xml", Reply::feed(feed));
    let app = Instance::new(
        "",
        &[Source::new("源", server.url("/f.xml"), "金融", "要闻")],
    );
    app.poll().await;
    assert_eq!(app.count("SELECT count(*) FROM articles"), 2);
    let warnings = app.strings("SELECT last_warnings FROM sources");
    assert!(
        warnings[0].contains("the same guid `story-1`"),
        "{warnings:?}"
    );
}

#[tokio::test]
async fn a_guid_a_whole_feed_shares_is_no_identity() {
    let items: String = (1..=3)
        .map(|n| format!("<item><title>第{n}条</title><link>https://a.example/{n}</link><guid>https://a.example/</guid></item>"))
        .collect();
    let parsed = parse_body(
        &empty(),
        &format!(r#"<rss version="2.0"><channel><title>t</title>{items}</channel></rss>"#),
    )
    .await;
    assert_eq!(parsed["articles"].as_array().unwrap().len(), 3, "{parsed}");
    assert!(
        parsed["warnings"][0]
            .as_str()
            .unwrap()
            .contains("have the same guid `https://a.example/` but link to 3 pages"),
        "{parsed}"
    );
}

#[tokio::test]
async fn the_link_is_the_page_a_person_reads() {
    let feed = r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><id>urn:f</id><updated>2025-11-20T01:00:00Z</updated>
        <entry><title>年报</title><id>urn:1</id><updated>2025-11-20T01:00:00Z</updated>
          <link rel="alternate" type="application/pdf" href="https://a.example/report.pdf"/>
          <link rel="alternate" type="text/html" href="https://a.example/report.html"/></entry>
        <entry><title>播客</title><id>urn:2</id><updated>2025-11-20T01:00:00Z</updated>
          <link rel="enclosure" type="audio/mpeg" href="https://a.example/show.mp3"/></entry>
        </feed>"#;
    let parsed = parse_body(&empty(), feed).await;
    let articles = parsed["articles"].as_array().unwrap();
    assert_eq!(articles[0]["link"], "https://a.example/report.html");
    assert_eq!(
        articles[1]["link"],
        serde_json::Value::Null,
        "an enclosure is never the link"
    );
}

#[tokio::test]
async fn entries_told_apart_by_their_fragment_stay_apart_when_alone() {
    let item = |frag: &str, guid: &str| {
        format!(
            "<item><title>第{guid}段</title><link>https://a.example/day.html#{frag}</link><guid isPermaLink=\"false\">{guid}</guid></item>"
        )
    };
    let feed = |items: &str| {
        format!(r#"<rss version="2.0"><channel><title>t</title>{items}</channel></rss>"#)
    };
    let server = FeedServer::start().await;
    server.set(
        "/f.xml",
        Reply::feed(feed(&(item("a", "1") + &item("b", "2")))),
    );
    let app = Instance::new(
        "",
        &[Source::new("源", server.url("/f.xml"), "金融", "要闻")],
    );
    assert_eq!(article_counts(&app.poll().await), (2, 0, 0));
    // Alone in the feed, the second needs no fragment: it is still the article it was.
    server.set("/f.xml", Reply::feed(feed(&item("b", "2"))));
    let summary = app.poll().await;
    assert_eq!(article_counts(&summary).0, 0, "{summary}");
    assert_eq!(app.count("SELECT count(*) FROM articles"), 2);
}

#[tokio::test]
async fn a_database_that_merged_them_gets_the_others_once_each() {
    let server = FeedServer::start().await;
    server.set(
        "/scripting.xml",
        Reply::feed(scripting_news(&NINE)).without_etag(),
    );
    server.set("/m.xml", Reply::feed(routes("")).without_etag());
    server.set(
        "/other.xml",
        Reply::feed(format!(
            r#"<rss version="2.0"><channel><title>o</title>{STORY}</channel></rss>"#
        )),
    );
    let app = Instance::new(
        "",
        &[
            Source::new(
                "Scripting News",
                server.url("/scripting.xml"),
                "weblog",
                "daily",
            ),
            Source::new("移动端", server.url("/m.xml"), "金融", "要闻"),
            Source::new("另一家", server.url("/other.xml"), "金融", "要闻"),
        ],
    );
    app.poll().await;
    // What an earlier tidings stored: each feed's first entry under the key
    // without its fragment, the rest taken as duplicates of it.
    let db = app.db();
    for (page, first) in [
        (
            "https://scriptingnews.userland.com/backissues/2002/09/29",
            "When:6:56:02PM",
        ),
        ("https://m.example.cn/", "/news/1"),
    ] {
        db.execute(
            "DELETE FROM articles WHERE key LIKE ?1 || '#%' AND key != ?1 || '#' || ?2",
            [page, first],
        )
        .unwrap();
        db.execute(
            "UPDATE articles SET key = ?1, link = replace(link, '#' || ?2, '') WHERE key = ?1 || '#' || ?2",
            [page, first],
        )
        .unwrap();
    }
    let untouched: Vec<String> = app.strings("SELECT id || ' ' || last_seen || ' ' || content_hash FROM articles WHERE link LIKE '%/a/1.html'");
    assert_eq!(app.count("SELECT count(*) FROM articles"), 3);
    let ids_before =
        app.strings("SELECT id || key FROM articles WHERE key NOT LIKE '%/a/1.html' ORDER BY id");

    let summary = app.poll().await;
    assert_eq!(article_counts(&summary).0, 8 + 3, "{summary}");
    assert_eq!(app.count("SELECT count(*) FROM articles"), 9 + 4 + 1);
    // The merged rows are the first entries still, not stored a second time.
    for (id_key, first) in ids_before.iter().zip(["When:6:56:02PM", "/news/1"]) {
        let id: String = id_key.chars().take_while(char::is_ascii_digit).collect();
        assert_eq!(
            app.count(&format!("SELECT count(*) FROM articles WHERE id = {id}")),
            1,
            "{id_key}"
        );
        assert_eq!(
            app.count(&format!(
                "SELECT count(*) FROM articles WHERE key LIKE '%#{first}'"
            )),
            0,
            "{first} was stored again"
        );
    }
    assert_eq!(
        app.strings("SELECT id || ' ' || last_seen || ' ' || content_hash FROM articles WHERE link LIKE '%/a/1.html'"),
        untouched
    );
    // And the next poll changes nothing.
    assert_eq!(article_counts(&app.poll().await).0, 0);
}

#[tokio::test]
async fn logs_to_a_file_have_no_colour_codes() {
    let server = FeedServer::start().await;
    server.set(
        "/f.xml",
        Reply::feed(r#"<rss version="2.0"><channel><title>A & B</title><item><title>一</title><link>https://a.example/1?a=1&b=2</link></item></channel></rss>"#),
    );
    let app = Instance::new(
        "",
        &[Source::new("源", server.url("/f.xml"), "金融", "要闻")],
    );
    let out = app.run(&["poll"]).await;
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("WARN") && log.contains("repaired"), "{log}");
    assert!(!log.contains('\u{1b}'), "escape codes in {log:?}");
}
