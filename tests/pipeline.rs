//! `tidings poll` end to end: real HTTP on 127.0.0.1, a real SQLite file, real
//! feed bytes, and the database read back with rusqlite as a user would.

mod common;

use common::*;

const STORY: &str = "https://news.stcn.com/news/202201/t20220126_4094127.html";
const TITLE: &str = "习近平主持中国同中亚五国建交30周年视频峰会";

fn atom_with_story() -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>证券时报网 - 股市</title><id>urn:gs</id><updated>2022-01-26T15:54:00+08:00</updated>
        <entry><title>{TITLE}</title><link rel="alternate" href="{STORY}#comments"/><id>{STORY}#comments</id>
        <updated>2022-01-26T15:54:00+08:00</updated><category term="时政"/><content type="html">&lt;p&gt;正文&lt;/p&gt;</content></entry>
        <entry><title>股市独家</title><link href="https://news.stcn.com/gs/1.html"/><id>gs-1</id><updated>2022-01-26T12:00:00+08:00</updated></entry></feed>"#
    )
}

fn json_with_story() -> String {
    format!(
        r#"{{"version":"https://jsonfeed.org/version/1.1","title":"证券时报网 - 公司","items":[
        {{"id":"c-1","title":"{TITLE}","url":"http://news.stcn.com/news/202201/t20220126_4094127.html?utm_source=json","content_html":"<p>正文</p>","date_published":"2022-01-26T07:54:00Z","tags":["公司新闻"]}},
        {{"id":"c-2","title":"公司独家","url":"https://news.stcn.com/company/2.html","content_text":"纯文本 <不是标签>","date_published":"2022-01-26T05:00:00Z"}}]}}"#
    )
}

#[tokio::test]
async fn one_story_in_three_feeds_is_one_row_with_every_category_and_source() {
    let server = FeedServer::start().await;
    let rss_items = [
        (
            TITLE,
            &*format!("{STORY}?utm_source=rss&amp;utm_medium=feed"),
            "2022-01-26 15:54:00",
            "<p>正文</p>",
        ),
        (
            "要闻独家",
            "https://news.stcn.com/yw/1.html",
            "2022-01-26 09:00:00",
            "<p>一</p>",
        ),
    ];
    server.set("/yw.xml", Reply::feed(rss("证券时报网 - 要闻", &rss_items)));
    server.set(
        "/gs.atom",
        Reply::feed(atom_with_story()).content_type("application/atom+xml"),
    );
    server.set(
        "/company.json",
        Reply::feed(json_with_story()).content_type("application/feed+json"),
    );
    let app = Instance::new(
        "",
        &[
            Source::new("证券时报网", server.url("/yw.xml"), "金融", "要闻"),
            Source::new("证券时报网", server.url("/gs.atom"), "金融", "股市"),
            Source::new("证券时报网", server.url("/company.json"), "金融", "公司"),
        ],
    );
    let summary = app.poll().await;
    assert_eq!(article_counts(&summary), (4, 0, 2), "{summary}");

    assert_eq!(app.count("SELECT count(*) FROM articles"), 4);
    let id: i64 = app
        .db()
        .query_row("SELECT id FROM articles WHERE link = ?1", [STORY], |r| {
            r.get(0)
        })
        .unwrap();
    let categories = app.strings(&format!(
        "SELECT category FROM article_categories WHERE article_id = {id} ORDER BY position"
    ));
    // The first feed stored sets the reference order; the others add theirs after it.
    assert_eq!(categories[..2], ["金融", "证券时报网"]);
    let mut sorted = categories.clone();
    sorted.sort();
    let mut expected = [
        "金融",
        "证券时报网",
        "要闻",
        "股市",
        "时政",
        "公司",
        "公司新闻",
    ];
    expected.sort();
    assert_eq!(sorted, expected);
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM article_sources WHERE article_id = {id}"
        )),
        3
    );
    // Dates from three formats and zones agree.
    let published = app.strings(&format!("SELECT published FROM articles WHERE id = {id}"));
    assert_eq!(published, ["2022-01-26T07:54:00Z"]);
    // JSON Feed plain text is escaped, not taken as markup.
    let text = app.strings(
        "SELECT content_html FROM articles WHERE link = 'https://news.stcn.com/company/2.html'",
    );
    assert_eq!(text, ["纯文本 &lt;不是标签&gt;"]);
}

#[tokio::test]
async fn a_second_poll_sends_validators_gets_304_and_writes_nothing() {
    let server = FeedServer::start().await;
    let items = [(
        "一",
        "https://a.example/1",
        "2022-01-26 15:54:00",
        "<p>一</p>",
    )];
    server.set("/feed.xml", Reply::feed(rss("t", &items)));
    let app = Instance::new(
        "",
        &[Source::new("甲", server.url("/feed.xml"), "金融", "要闻")],
    );
    app.poll().await;
    let before = app
        .strings("SELECT title || updated || last_seen FROM articles WHERE 1 OR updated IS NULL");
    server.forget();

    let summary = app.poll().await;
    assert_eq!(article_counts(&summary), (0, 0, 0), "{summary}");
    assert!(summary.contains("(1 not modified)"), "{summary}");
    let seen = server.seen();
    assert_eq!(seen.len(), 1);
    assert!(
        seen[0].if_none_match.is_some(),
        "no conditional GET: {seen:?}"
    );
    assert_eq!(seen[0].status, 304);
    assert!(
        seen[0]
            .user_agent
            .as_deref()
            .unwrap_or("")
            .starts_with("tidings/")
    );
    assert_eq!(
        app.strings("SELECT outcome FROM fetch_log ORDER BY id"),
        ["ok", "not_modified"]
    );
    assert_eq!(
        app.strings(
            "SELECT title || updated || last_seen FROM articles WHERE 1 OR updated IS NULL"
        ),
        before
    );
}

#[tokio::test]
async fn a_server_with_only_last_modified_gets_it_back_and_answers_304() {
    let server = FeedServer::start().await;
    let items = [(
        "一",
        "https://a.example/1",
        "2022-01-26 15:54:00",
        "<p>一</p>",
    )];
    let date = "Wed, 26 Jan 2022 07:54:00 GMT";
    server.set(
        "/feed.xml",
        Reply::feed(rss("t", &items))
            .without_etag()
            .modified_at(date),
    );
    let app = Instance::new(
        "",
        &[Source::new("甲", server.url("/feed.xml"), "金融", "要闻")],
    );
    app.poll().await;
    assert_eq!(app.strings("SELECT last_modified FROM sources"), [date]);
    server.forget();
    let summary = app.poll().await;
    assert!(summary.contains("(1 not modified)"), "{summary}");
    let seen = server.seen();
    assert_eq!(seen[0].if_modified_since.as_deref(), Some(date));
    assert_eq!(seen[0].if_none_match, None);
    assert_eq!(seen[0].status, 304);
    assert_eq!(
        app.strings("SELECT outcome FROM fetch_log ORDER BY id"),
        ["ok", "not_modified"]
    );
}

#[tokio::test]
async fn a_changed_entry_updates_its_row_and_an_unchanged_one_does_not() {
    let server = FeedServer::start().await;
    let first = [
        (
            "旧标题",
            "https://a.example/1",
            "2022-01-26 15:54:00",
            "<p>旧</p>",
        ),
        (
            "不变",
            "https://a.example/2",
            "2022-01-26 15:00:00",
            "<p>不变</p>",
        ),
    ];
    server.set("/feed.xml", Reply::feed(rss("t", &first)));
    let app = Instance::new(
        "",
        &[Source::new("甲", server.url("/feed.xml"), "金融", "要闻")],
    );
    app.poll().await;
    let first_seen =
        app.strings("SELECT first_seen FROM articles WHERE link = 'https://a.example/1'");
    let unchanged =
        "SELECT updated || content_hash FROM articles WHERE link = 'https://a.example/2'";
    let unchanged_before = app.strings(unchanged);

    let second = [
        (
            "新标题",
            "https://a.example/1",
            "2022-01-26 15:54:00",
            "<p>新</p>",
        ),
        (
            "不变",
            "https://a.example/2",
            "2022-01-26 15:00:00",
            "<p>不变</p>",
        ),
        (
            "新文章",
            "https://a.example/3",
            "2022-01-26 16:00:00",
            "<p>三</p>",
        ),
    ];
    server.set("/feed.xml", Reply::feed(rss("t", &second)));
    let summary = app.poll().await;
    assert_eq!(article_counts(&summary), (1, 1, 1), "{summary}");
    assert_eq!(app.count("SELECT count(*) FROM articles"), 3);
    let row: (String, String, Option<String>, String) = app
        .db()
        .query_row(
            "SELECT title, content_html, updated, first_seen FROM articles WHERE link = 'https://a.example/1'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    assert_eq!((row.0.as_str(), row.1.as_str()), ("新标题", "<p>新</p>"));
    // RSS has no updated time of its own, so `updated` is when the change was seen.
    assert!(
        row.2.unwrap().as_str() > "2022-01-26T07:54:00Z",
        "updated did not move"
    );
    assert_eq!(vec![row.3], first_seen);
    assert_eq!(app.strings(unchanged), unchanged_before);
    // The search index follows the update.
    let out = app.run(&["search", "新标题"]).await;
    assert!(String::from_utf8_lossy(&out.stdout).contains("https://a.example/1"));

    // The same body again (no validators, so it is fetched): the changed entry
    // is now what this feed last delivered, so nothing is an update.
    server.set("/feed.xml", Reply::feed(rss("t", &second)).without_etag());
    let summary = app.poll().await;
    assert_eq!(article_counts(&summary), (0, 0, 3), "{summary}");
}

#[tokio::test]
async fn a_feed_that_joins_a_stored_story_later_adds_only_the_labels_it_lacks() {
    let server = FeedServer::start().await;
    let story = (
        "同一条新闻",
        "https://a.example/story",
        "2022-01-26 15:00:00",
        "<p>正文</p>",
    );
    let other = (
        "另一条",
        "https://b.example/other",
        "2022-01-26 15:05:00",
        "<p>别的</p>",
    );
    server.set("/a.xml", Reply::feed(rss("a", &[story])));
    server.set("/b.xml", Reply::feed(rss("b", &[other])));
    let app = Instance::new(
        "",
        &[
            Source::new("证券时报网", server.url("/a.xml"), "金融", "要闻"),
            Source::new("财联社", server.url("/b.xml"), "金融", "快讯"),
        ],
    );
    app.poll().await;

    // The story was stored by the first poll; the second feed carries it now.
    server.set("/b.xml", Reply::feed(rss("b", &[other, story])));
    let summary = app.poll().await;
    assert_eq!(article_counts(&summary), (0, 0, 2), "{summary}");
    let labels = app.strings(
        "SELECT category || ' ' || position FROM article_categories
          WHERE article_id = (SELECT id FROM articles WHERE link = 'https://a.example/story')
          ORDER BY position",
    );
    assert_eq!(
        labels,
        ["金融 0", "证券时报网 1", "要闻 2", "财联社 3", "快讯 4"]
    );
    assert_eq!(
        app.count(
            "SELECT count(*) FROM article_sources
              WHERE article_id = (SELECT id FROM articles WHERE link = 'https://a.example/story')"
        ),
        2
    );
}

#[tokio::test]
async fn last_seen_moves_when_a_story_is_seen_again_after_a_minute() {
    let server = FeedServer::start().await;
    let stale = (
        "旧闻",
        "https://a.example/1",
        "2022-01-26 15:00:00",
        "<p>旧</p>",
    );
    let fresh = (
        "刚见",
        "https://a.example/2",
        "2022-01-26 15:10:00",
        "<p>新</p>",
    );
    server.set("/feed.xml", Reply::feed(rss("t", &[stale, fresh])));
    let app = Instance::new(
        "",
        &[Source::new("甲", server.url("/feed.xml"), "金融", "要闻")],
    );
    app.poll().await;
    // As if the first was last seen long ago, the second half a minute ago.
    app.db()
        .execute_batch(
            "UPDATE articles SET last_seen = '2000-01-01T00:00:00Z' WHERE link = 'https://a.example/1';
             UPDATE articles SET last_seen = strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-30 seconds')
              WHERE link = 'https://a.example/2';",
        )
        .unwrap();
    let recent = app.strings("SELECT last_seen FROM articles WHERE link = 'https://a.example/2'");

    let added = (
        "又一条",
        "https://a.example/3",
        "2022-01-26 15:20:00",
        "<p>三</p>",
    );
    server.set("/feed.xml", Reply::feed(rss("t", &[stale, fresh, added])));
    let summary = app.poll().await;
    assert_eq!(article_counts(&summary), (1, 0, 2), "{summary}");
    let polled = app.strings("SELECT last_polled FROM sources");
    assert_eq!(
        app.strings("SELECT last_seen FROM articles WHERE link = 'https://a.example/1'"),
        polled
    );
    assert_eq!(
        app.strings("SELECT last_seen FROM articles WHERE link = 'https://a.example/2'"),
        recent
    );
}

#[tokio::test]
async fn gb18030_feeds_read_exactly_as_their_utf8_original() {
    let server = FeedServer::start().await;
    let titles = [
        "证监会：深化资本市场改革",
        "沪深两市成交额突破万亿元",
        "𠀀𠀁 扩展汉字与€符号",
    ];
    let items: Vec<(&str, String, &str, &str)> = titles
        .iter()
        .enumerate()
        .map(|(i, t)| {
            (
                *t,
                format!("https://a.example/{i}"),
                "2022-01-26 15:54:00",
                "<p>正文</p>",
            )
        })
        .collect();
    let utf8 = rss("国标", &items);
    let gb = |text: &str| encoding_rs::GB18030.encode(text).0.into_owned();
    // Charset in the prolog (GB2312 label, GB18030 bytes), in HTTP only, and forced by config.
    server.set(
        "/prolog.xml",
        Reply::feed(gb(&utf8.replace("utf-8", "GB2312"))),
    );
    server.set(
        "/header.xml",
        Reply::feed(gb(&utf8.replace("encoding=\"utf-8\"", "")))
            .content_type("application/rss+xml; charset=GBK"),
    );
    server.set("/forced.xml", Reply::feed(gb(&utf8)));
    let mut forced = Source::new("丙", server.url("/forced.xml"), "金融", "要闻");
    forced.extra = "encoding = \"gbk\"\n";
    let app = Instance::new(
        "",
        &[
            Source::new("甲", server.url("/prolog.xml"), "金融", "要闻"),
            Source::new("乙", server.url("/header.xml"), "金融", "要闻"),
            forced,
        ],
    );
    let summary = app.poll().await;
    assert!(summary.contains("0 failed"), "{summary}");
    let mut stored = app.strings("SELECT title FROM articles ORDER BY link");
    stored.dedup();
    assert_eq!(stored, titles);
    assert_eq!(app.count("SELECT count(*) FROM article_sources"), 9);
    assert_eq!(
        app.count("SELECT count(*) FROM articles WHERE instr(title || content_html, char(65533))"),
        0
    );
}

#[tokio::test]
async fn zoneless_and_chinese_dates_use_the_source_timezone_and_undated_entries_keep_first_seen() {
    let server = FeedServer::start().await;
    let items = [
        (
            "中文日期",
            "https://a.example/1",
            "2022年01月26日 15:54",
            "",
        ),
        ("无时区", "https://a.example/2", "2022-01-26 15:54:00", ""),
        ("无日期", "https://a.example/3", "", ""),
    ];
    server.set("/cn.xml", Reply::feed(rss("t", &items)));
    server.set(
        "/utc.xml",
        Reply::feed(rss(
            "t",
            &[("伦敦", "https://b.example/1", "2022-01-26 15:54:00", "")],
        )),
    );
    let mut utc = Source::new("乙", server.url("/utc.xml"), "金融", "要闻");
    utc.extra = "timezone = \"Europe/London\"\n";
    let app = Instance::new(
        "",
        &[
            Source::new("甲", server.url("/cn.xml"), "金融", "要闻"),
            utc,
        ],
    );
    app.poll().await;
    let dates =
        app.strings("SELECT published FROM articles WHERE link LIKE 'https://%' ORDER BY link");
    assert_eq!(dates[..2], ["2022-01-26T07:54:00Z", "2022-01-26T07:54:00Z"]);
    assert_eq!(dates[3], "2022-01-26T15:54:00Z");
    let undated = app.strings(
        "SELECT published || ' ' || first_seen FROM articles WHERE link = 'https://a.example/3'",
    );
    let (published, first_seen) = undated[0].split_once(' ').unwrap();
    assert_eq!(published, first_seen);

    // Served again without validators, the feed is parsed again: the date must not move.
    server.set("/cn.xml", Reply::feed(rss("t", &items)).without_etag());
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let summary = app.poll().await;
    assert_eq!(article_counts(&summary), (0, 0, 3), "{summary}");
    assert_eq!(
        app.strings("SELECT published FROM articles WHERE link = 'https://a.example/3'"),
        [published]
    );
}

#[tokio::test]
async fn broken_sources_are_recorded_and_never_stop_the_others() {
    let server = FeedServer::start().await;
    server.set(
        "/good.xml",
        Reply::feed(rss(
            "t",
            &[("好", "https://a.example/1", "2022-01-26 15:54:00", "")],
        )),
    );
    server.set("/500.xml", Reply::status(500, "boom"));
    server.set(
        "/html.xml",
        Reply::feed("<html><body>not a feed</body></html>").content_type("text/html"),
    );
    server.set(
        "/truncated.xml",
        Reply::feed("<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><item><title>半"),
    );
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let app = Instance::new(
        "",
        &[
            Source::new("坏1", server.url("/500.xml"), "金融", "要闻"),
            Source::new("坏2", server.url("/html.xml"), "金融", "要闻"),
            Source::new("坏3", format!("http://{closed}/feed.xml"), "金融", "要闻"),
            Source::new("坏4", server.url("/truncated.xml"), "金融", "要闻"),
            Source::new("好", server.url("/good.xml"), "金融", "要闻"),
        ],
    );
    let summary = app.poll().await;
    assert!(summary.contains("1 ok"), "{summary}");
    assert!(summary.contains("4 failed"), "{summary}");
    assert_eq!(app.count("SELECT count(*) FROM articles"), 1);
    let errors = app.strings(
        "SELECT name || ': ' || last_error FROM sources WHERE last_status = 'error' ORDER BY id",
    );
    assert_eq!(errors.len(), 4, "{errors:?}");
    assert!(errors[0].contains("HTTP 500"), "{errors:?}");
    assert!(errors[1].contains("not a feed"), "{errors:?}");
    assert!(errors[2].to_lowercase().contains("connect"), "{errors:?}");
    assert_eq!(
        app.count("SELECT count(*) FROM sources WHERE error_count = 1 AND next_due > last_polled"),
        4
    );

    let out = app.run(&["sources"]).await;
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(
        listing.contains("HTTP 500") && listing.contains("not a feed"),
        "{listing}"
    );
}

#[tokio::test]
async fn a_bad_config_names_its_line_and_touches_no_database() {
    let app = Instance::new("[poll]\ninterval = \"soon\"", &[]);
    let out = app.run(&["poll"]).await;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("config.toml") && stderr.contains("line 5"),
        "{stderr}"
    );
    assert!(stderr.contains("interval"), "{stderr}");
    assert!(!app.database().exists());
}

#[tokio::test]
async fn stored_content_is_sanitized_and_searchable() {
    let server = FeedServer::start().await;
    let body = r#"<p onclick="steal()">证监会表示<script>alert(1)</script><img src="/a.png" onerror="x()"><a href="javascript:alert(2)">链接</a></p>"#;
    server.set(
        "/f.xml",
        Reply::feed(rss(
            "t",
            &[(
                "证监会消息",
                "https://news.stcn.com/n/1.html",
                "2022-01-26 15:54:00",
                body,
            )],
        )),
    );
    let app = Instance::new(
        "",
        &[Source::new("甲", server.url("/f.xml"), "金融", "要闻")],
    );
    app.poll().await;
    let html = &app.strings("SELECT content_html FROM articles")[0];
    for bad in ["onclick", "<script", "onerror", "javascript:"] {
        assert!(!html.contains(bad), "{bad} in {html}");
    }
    assert!(
        html.contains(r#"<img src="https://news.stcn.com/a.png" referrerpolicy="no-referrer">"#),
        "{html}"
    );
    assert_eq!(
        app.strings("SELECT image FROM articles"),
        ["https://news.stcn.com/a.png"]
    );
    for query in ["证监会表示", "证监会"] {
        let out = app.run(&["search", query]).await;
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("证监会消息"),
            "{query}"
        );
    }
    let out = app.run(&["search", "不存在的词"]).await;
    assert!(out.stdout.is_empty());
    // Plain SQL over the trigram index, as the schema documents.
    let hits = app.count("SELECT count(*) FROM articles_fts WHERE articles_fts MATCH '证监会'");
    assert_eq!(hits, 1);

    // An article deleted by hand leaves the index, and the next new article,
    // which may get its id, is found under its own words only.
    app.db()
        .execute_batch("PRAGMA foreign_keys = ON; DELETE FROM articles;")
        .unwrap();
    let hits = app.count("SELECT count(*) FROM articles_fts WHERE articles_fts MATCH '证监会'");
    assert_eq!(hits, 0);
    server.set(
        "/f.xml",
        Reply::feed(rss(
            "t",
            &[(
                "央行公告",
                "https://news.stcn.com/n/2.html",
                "2022-01-27 09:00:00",
                "<p>央行开展逆回购操作</p>",
            )],
        )),
    );
    app.poll().await;
    let found = |query: &str| {
        app.strings(&format!(
            "SELECT a.title FROM articles_fts f JOIN articles a ON a.id = f.rowid WHERE articles_fts MATCH '{query}'"
        ))
    };
    assert_eq!(found("证监会"), Vec::<String>::new());
    assert_eq!(found("逆回购"), ["央行公告"]);
}

#[tokio::test]
async fn a_summary_is_the_feeds_own_else_the_opening_of_the_text() {
    let server = FeedServer::start().await;
    let long: String = "沪深两市成交额突破万亿元。".repeat(30);
    let own = "<p>摘要：<b>央行</b>开展逆回购</p>";
    server.set(
        "/f.xml",
        Reply::feed(format!(
            r#"<?xml version="1.0" encoding="utf-8"?><rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>t</title><link>https://news.stcn.com/</link>
<item><title>长文</title><link>https://news.stcn.com/n/1.html</link><pubDate>Wed, 26 Jan 2022 07:54:00 GMT</pubDate><description><![CDATA[<p>{long}</p>]]></description></item>
<item><title>短文</title><link>https://news.stcn.com/n/2.html</link><pubDate>Wed, 26 Jan 2022 07:54:00 GMT</pubDate><description><![CDATA[<p>两市收涨</p>]]></description></item>
<item><title>有摘要</title><link>https://news.stcn.com/n/3.html</link><pubDate>Wed, 26 Jan 2022 07:54:00 GMT</pubDate><description><![CDATA[{own}]]></description><content:encoded><![CDATA[<p>{long}</p>]]></content:encoded></item>
</channel></rss>"#
        )),
    );
    let app = Instance::new(
        "",
        &[Source::new("甲", server.url("/f.xml"), "金融", "要闻")],
    );
    app.poll().await;
    let opening: String = long.chars().take(199).collect();
    assert_eq!(
        app.strings("SELECT summary FROM articles ORDER BY link"),
        [
            format!("{opening}…"),
            "两市收涨".into(),
            "摘要：央行开展逆回购".into()
        ]
    );
}

#[tokio::test]
async fn search_finds_the_query_itself_not_just_its_trigrams() {
    let server = FeedServer::start().await;
    let items = [
        (
            "央行降准释放流动性",
            "https://news.stcn.com/n/1.html",
            "2022-01-26 09:00:00",
            "<p>全面降准。</p>",
        ),
        // Has both trigrams of 央行降准 (央行降, 行降准), but not the phrase.
        (
            "央行降息，银行降准",
            "https://news.stcn.com/n/2.html",
            "2022-01-26 10:00:00",
            "<p>两则消息。</p>",
        ),
        (
            "ETF Flows Rise",
            "https://news.stcn.com/n/3.html",
            "2022-01-26 11:00:00",
            "<p>资金流入 A股 ETF。</p>",
        ),
    ];
    server.set("/f.xml", Reply::feed(rss("t", &items)));
    let app = Instance::new(
        "",
        &[Source::new("甲", server.url("/f.xml"), "金融", "要闻")],
    );
    app.poll().await;
    let search = |query: &'static str| {
        let app = &app;
        async move {
            let out = app.run(&["search", query]).await;
            assert!(out.status.success(), "{query}: {out:?}");
            let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
            items
                .iter()
                .map(|item| item.0)
                .filter(|title| stdout.contains(title))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(search("央行降准").await, ["央行降准释放流动性"]);
    assert_eq!(search("银行降准").await, ["央行降息，银行降准"]);
    assert_eq!(search("etf flows").await, ["ETF Flows Rise"]);
    // Too short for a trigram: the articles are scanned, ignoring case too.
    assert_eq!(search("et").await, ["ETF Flows Rise"]);
    // In the summary, and across a space.
    assert_eq!(search("入 A股").await, ["ETF Flows Rise"]);
    assert_eq!(search("\"央行 OR 降准\"").await, Vec::<&str>::new());
    // The same in SQL, as docs/schema.md shows it.
    assert_eq!(
        app.strings(
            "SELECT a.title FROM articles_fts f JOIN articles a ON a.id = f.rowid
              WHERE articles_fts MATCH '\"央行降\" AND \"行降准\"'
                AND (instr(a.title, '央行降准') OR instr(a.summary, '央行降准'))"
        ),
        ["央行降准释放流动性"]
    );
}

#[tokio::test]
async fn parse_prints_the_normalized_feed_without_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let feed = dir.path().join("feed.xml");
    let items = [(
        TITLE,
        &*format!("{STORY}?utm_source=x"),
        "2022年01月26日 15:54",
        "<p>正文<img src=\"/i.png\"></p>",
    )];
    std::fs::write(&feed, rss("证券时报网 - 要闻", &items)).unwrap();
    let out = parse_as_stcn(&feed, &dir.path().join("config.toml")).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["feed"]["title"], "证券时报网 - 要闻");
    assert_eq!(json["feed"]["link"], "https://news.stcn.com/");
    let article = &json["articles"][0];
    assert_eq!(article["key"], STORY);
    assert_eq!(article["title"], TITLE);
    assert_eq!(article["published"], "2022-01-26T07:54:00Z");
    assert_eq!(
        article["categories"],
        serde_json::json!(["金融", "证券时报网", "要闻"])
    );
    assert_eq!(article["author"], "证券时报网");
    assert_eq!(article["image"], "https://news.stcn.com/i.png");
    for field in ["link", "guid", "updated", "summary", "content_html"] {
        assert!(article.get(field).is_some(), "missing {field}");
    }
    assert!(!dir.path().join("tidings.db").exists());
}
