//! What users read: the merged Atom feeds (checked entry by entry against the
//! database, by feed-rs and by Python's feedparser), the output folder, the
//! Hexo export and OPML.

mod common;

use std::path::Path;

use common::*;
use tidings::emit::hexo;

const STORY: &str = "https://news.stcn.com/news/202201/t20220126_4094127.html";

/// Three feeds: one story in all of them, one of their own each, and a JSON
/// Feed title with characters XML forbids.
fn three_feeds(server: &FeedServer) -> Vec<Source<'static>> {
    let story = (
        "习近平主持中国同中亚五国建交30周年视频峰会",
        "https://news.stcn.com/news/202201/t20220126_4094127.html?utm_source=rss",
        "2022-01-26 15:54:00",
        "<p>正文 <b>加粗</b></p>",
    );
    server.set(
        "/yw.xml",
        Reply::feed(rss(
            "证券时报网 - 要闻",
            &[
                story,
                (
                    "要闻二",
                    "https://news.stcn.com/yw/2.html",
                    "2022-01-26 16:00:00",
                    "<p>二</p>",
                ),
            ],
        )),
    );
    server.set(
        "/kx.xml",
        Reply::feed(rss(
            "证券时报网 - 快讯",
            &[
                story,
                (
                    "快讯一",
                    "https://news.stcn.com/kx/1.html",
                    "2022-01-26 17:00:00",
                    "<p>一</p>",
                ),
            ],
        )),
    );
    server.set(
        "/cls.json",
        Reply::feed(
            r#"{"version":"https://jsonfeed.org/version/1.1","title":"财联社","items":[
            {"id":"1","title":"控制\u0001字符 ]]> <b>&","url":"https://www.cls.cn/1","content_html":"<p>x</p>","date_published":"2022-01-26T10:00:00Z"}]}"#,
        )
        .content_type("application/feed+json"),
    );
    vec![
        Source::new("证券时报网", server.url("/yw.xml"), "金融", "要闻"),
        Source::new("证券时报网", server.url("/kx.xml"), "金融", "快讯"),
        Source::new("财联社", server.url("/cls.json"), "金融", "电报"),
    ]
}

async fn get(url: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = reqwest::Client::new().get(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

/// An entry as both the feed and the database should describe it.
#[derive(Debug, PartialEq)]
struct Expected {
    id: String,
    title: String,
    link: Option<String>,
    published: String,
    categories: Vec<String>,
    content: String,
}

fn from_database(app: &Instance, category: Option<&str>) -> Vec<Expected> {
    let db = app.db();
    let mut statement = db
        .prepare(
            "SELECT id, key, title, link, published, content_html FROM articles a
              WHERE ?1 IS NULL OR EXISTS (SELECT 1 FROM article_categories c WHERE c.article_id = a.id AND c.category = ?1)
              ORDER BY published DESC, id DESC",
        )
        .unwrap();
    let rows: Vec<(i64, String, String, Option<String>, String, String)> = statement
        .query_map([category], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    rows.into_iter()
        .map(|(id, key, title, link, published, content)| Expected {
            id: tidings::emit::entry_id(&key),
            title,
            link,
            published,
            categories: app.strings(&format!(
                "SELECT category FROM article_categories WHERE article_id = {id} ORDER BY position"
            )),
            content,
        })
        .collect()
}

fn from_feed(xml: &[u8]) -> Vec<Expected> {
    let feed = feed_rs::parser::parse(xml).expect("valid Atom");
    feed.entries
        .into_iter()
        .map(|e| Expected {
            id: e.id,
            title: e.title.unwrap().content,
            link: e
                .links
                .iter()
                .find(|l| l.rel.as_deref() == Some("alternate"))
                .map(|l| l.href.clone()),
            published: tidings::read::dates::to_db(e.published.unwrap()),
            categories: e.categories.into_iter().map(|c| c.term).collect(),
            content: e.content.unwrap().body.unwrap(),
        })
        .collect()
}

/// Python's feedparser, an independent reader: no bozo flag, and its ids and titles.
async fn feedparser_view(xml: &[u8]) -> Vec<(String, String)> {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), xml).unwrap();
    let script = "import feedparser, json, sys\n\
        d = feedparser.parse(sys.argv[1])\n\
        assert not d.bozo, d.bozo_exception\n\
        assert d.version == 'atom10', d.version\n\
        print(json.dumps([[e.id, e.title] for e in d.entries]))";
    let out = tokio::process::Command::new("python3")
        .args(["-c", script])
        .arg(file.path())
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "feedparser rejected the feed (install it with `python3 -m pip install feedparser`): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test]
async fn merged_feeds_match_the_database_entry_by_entry() {
    let server = FeedServer::start().await;
    let listen = free_address();
    let app = Instance::new(
        &format!("[server]\nlisten = \"{listen}\""),
        &three_feeds(&server),
    );
    let daemon = Daemon::start(&app, &listen).await;
    eventually(10, "all three polled", || {
        app.count("SELECT count(*) FROM fetch_log") == 3
    })
    .await;

    let all = get(&daemon.url("/feeds/all.atom"), &[]).await;
    assert_eq!(
        all.headers()["content-type"],
        "application/atom+xml; charset=utf-8"
    );
    let etag = all.headers()["etag"].to_str().unwrap().to_string();
    let last_modified = all.headers()["last-modified"].to_str().unwrap().to_string();
    let body = all.bytes().await.unwrap();
    let entries = from_feed(&body);
    assert_eq!(entries, from_database(&app, None));
    assert_eq!(entries.len(), 4, "the shared story appears once");
    let shared = entries
        .iter()
        .find(|e| e.link.as_deref() == Some(STORY))
        .unwrap();
    // Pinned as literals: the id readers know the entry by, and the key and
    // content hash a poll compares with; a change of any of them would show
    // every reader every entry again, or every entry as updated.
    assert_eq!(
        shared.id,
        "urn:tidings:entry:38b29617105a22d5fab725350786951c"
    );
    assert_eq!(
        app.strings(&format!(
            "SELECT key || ' ' || content_hash FROM articles WHERE link = '{STORY}'"
        )),
        [
            "https://news.stcn.com/news/202201/t20220126_4094127.html 3cc637334c3186fe59ca1b29e09e4b9c"
        ]
    );
    assert_eq!(shared.categories[..2], ["金融", "证券时报网"]);
    assert!(
        shared.categories.contains(&"要闻".to_string())
            && shared.categories.contains(&"快讯".to_string())
    );
    let text = String::from_utf8_lossy(&body);
    assert!(
        text.contains("<source>") && text.contains("<title>证券时报网 - 要闻</title>"),
        "{text}"
    );
    assert!(!text.contains('\u{1}'));

    let python: Vec<(String, String)> = feedparser_view(&body).await;
    let expected: Vec<(String, String)> = entries
        .iter()
        .map(|e| (e.id.clone(), e.title.clone()))
        .collect();
    assert_eq!(python, expected);

    // One label, percent-encoded as readers send it.
    let label = get(&daemon.url("/feeds/%E8%A6%81%E9%97%BB.atom"), &[]).await;
    assert_eq!(label.status(), 200);
    assert_eq!(
        from_feed(&label.bytes().await.unwrap()),
        from_database(&app, Some("要闻"))
    );
    let index = get(&daemon.url("/feeds/"), &[]).await.text().await.unwrap();
    assert!(
        index.contains("%E5%BF%AB%E8%AE%AF.atom\">快讯</a> (2)"),
        "{index}"
    );

    // Conditional requests for an unchanged feed.
    let again = get(&daemon.url("/feeds/all.atom"), &[("If-None-Match", &etag)]).await;
    assert_eq!(again.status(), 304);
    assert!(again.bytes().await.unwrap().is_empty());
    let since = get(
        &daemon.url("/feeds/all.atom"),
        &[("If-Modified-Since", &last_modified)],
    )
    .await;
    assert_eq!(since.status(), 304);
    assert_eq!(
        get(&daemon.url("/feeds/nothing-here.atom"), &[])
            .await
            .status(),
        404
    );
    assert_eq!(get(&daemon.url("/nowhere"), &[]).await.status(), 404);

    // Ids and bytes survive a restart.
    daemon.stop().await;
    let daemon = Daemon::start(&app, &listen).await;
    let after = get(&daemon.url("/feeds/all.atom"), &[]).await;
    assert_eq!(after.headers()["etag"].to_str().unwrap(), etag);
    assert_eq!(after.bytes().await.unwrap(), body);
    daemon.stop().await;
}

#[tokio::test]
async fn a_search_is_a_feed_to_subscribe_to() {
    let server = FeedServer::start().await;
    let mut long = "<p>证监会表示，将进一步深化资本市场改革。</p>".repeat(40);
    long += "<p>最后一段提到<a href=\"https://quote.stcn.com/\">宁德时代</a>的新工厂。</p>";
    server.set(
        "/yw.xml",
        Reply::feed(rss(
            "证券时报网 - 要闻",
            &[
                (
                    "长文",
                    "https://news.stcn.com/1.html",
                    "2022-01-26 09:00:00",
                    long.as_str(),
                ),
                (
                    "短讯",
                    "https://news.stcn.com/2.html",
                    "2022-01-26 10:00:00",
                    "<p>宁德时代涨停。</p>",
                ),
                (
                    "无关",
                    "https://news.stcn.com/3.html",
                    "2022-01-26 11:00:00",
                    "<p>其他。</p>",
                ),
            ],
        )),
    );
    let listen = free_address();
    let app = Instance::new(
        &format!("[server]\nlisten = \"{listen}\""),
        &[Source::new(
            "证券时报网",
            server.url("/yw.xml"),
            "金融",
            "要闻",
        )],
    );
    let daemon = Daemon::start(&app, &listen).await;
    eventually(10, "the feed polled", || {
        app.count("SELECT count(*) FROM articles") == 3
    })
    .await;

    let url = daemon.url("/search?q=%E5%AE%81%E5%BE%B7%E6%97%B6%E4%BB%A3");
    let reply = get(&url, &[]).await;
    assert_eq!(reply.status(), 200);
    assert_eq!(
        reply.headers()["content-type"],
        "application/atom+xml; charset=utf-8"
    );
    let etag = reply.headers()["etag"].to_str().unwrap().to_string();
    let body = reply.bytes().await.unwrap();
    let feed = feed_rs::parser::parse(&body[..]).unwrap();
    let titles: Vec<_> = feed
        .entries
        .iter()
        .map(|e| e.title.as_ref().unwrap().content.as_str())
        .collect();
    assert_eq!(titles, ["短讯", "长文"], "newest first");
    let passage = feed.entries[1].summary.as_ref().unwrap().content.as_str();
    assert!(
        passage.contains("最后一段提到【宁德时代】的新工厂"),
        "{passage}"
    );
    // The same search is the same feed: a reader subscribed to it keeps its id.
    assert_eq!(
        from_feed(&body)
            .iter()
            .map(|e| e.id.clone())
            .collect::<Vec<_>>(),
        from_database(&app, None)
            .into_iter()
            .filter(|e| e.title != "无关")
            .map(|e| e.id)
            .collect::<Vec<_>>()
    );
    let again = get(&url, &[("If-None-Match", &etag)]).await;
    assert_eq!(again.status(), 304);
    let python = feedparser_view(&body).await;
    assert_eq!(python.len(), 2);
    assert_eq!(get(&daemon.url("/search"), &[]).await.status(), 400);
    daemon.stop().await;
}

#[tokio::test]
async fn the_output_folder_holds_the_same_feeds_as_files() {
    let server = FeedServer::start().await;
    let app = Instance::new(
        "[output]\ndir = \"public\"\nentries = 2",
        &three_feeds(&server),
    );
    app.poll().await;
    let public = app.dir.path().join("public");
    let mut names: Vec<String> = std::fs::read_dir(&public)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "all.atom",
            "all.json",
            "index.html",
            "快讯.atom",
            "快讯.json",
            "电报.atom",
            "电报.json",
            "要闻.atom",
            "要闻.json",
            "证券时报网.atom",
            "证券时报网.json",
            "财联社.atom",
            "财联社.json",
            "金融.atom",
            "金融.json",
        ]
    );
    let all = std::fs::read(public.join("all.atom")).unwrap();
    assert_eq!(
        from_feed(&all),
        from_database(&app, None)[..2],
        "entries = 2 keeps the newest two"
    );
    assert_eq!(
        from_feed(&std::fs::read(public.join("要闻.atom")).unwrap()),
        from_database(&app, Some("要闻"))
    );
}

fn front_matter(post: &str) -> &str {
    let end = post[1..].find("\n---\n").expect("closing ---") + 1 + "\n---\n\n".len();
    &post[..end]
}

#[tokio::test]
async fn the_hexo_export_reproduces_the_reference_post() {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/stcn-yw.xml");
    let source = Source::new(
        "证券时报网",
        format!("file://{}", sample.display()),
        "金融",
        "要闻",
    );
    let app = Instance::new("", &[source]);
    app.poll().await;
    let out = app.dir.path().join("posts");
    assert!(
        app.export_hexo(&out, &[])
            .await
            .starts_with("3 posts written, 0 unchanged")
    );

    let reference = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/stcn-article.md"),
    )
    .expect("the reference post, tests/fixtures/stcn-article.md");
    let post =
        std::fs::read_to_string(out.join(format!("2022-01-26-{}.md", hexo::article_tag(STORY))))
            .unwrap();
    assert_eq!(front_matter(&post), front_matter(&reference));
    assert!(
        post.contains("<img src=\"https://news.stcn.com/news/202201/W020220126284626592584.png\"")
    );
    assert!(!post.contains("<script"));

    assert!(
        app.export_hexo(&out, &[])
            .await
            .starts_with("0 posts written, 3 unchanged")
    );
    assert_eq!(
        std::fs::read_dir(&out).unwrap().count(),
        3,
        "nothing is written twice"
    );
    let only = app.dir.path().join("only");
    let filtered = app
        .export_hexo(&only, &["--category", "央行", "--since", "2022-01-26"])
        .await;
    assert!(filtered.starts_with("1 posts written"), "{filtered}");
}

#[tokio::test]
async fn opml_files_become_sources_and_sources_export_as_opml() {
    let server = FeedServer::start().await;
    server.set(
        "/a.xml",
        Reply::feed(rss(
            "a",
            &[("一", "https://a.example/1", "2022-01-26 15:54:00", "")],
        )),
    );
    server.set(
        "/b.xml",
        Reply::feed(rss(
            "b",
            &[("二", "https://a.example/2", "2022-01-26 15:54:00", "")],
        )),
    );
    let opml = format!(
        r#"<?xml version="1.0"?><opml version="2.0"><head><title>from Miniflux</title></head><body>
        <outline text="金融"><outline text="要闻"><outline type="rss" text="甲" xmlUrl="{}"/></outline></outline>
        <outline type="rss" text="乙" xmlUrl="{}" category="时政/财经"/></body></opml>"#,
        server.url("/a.xml"),
        server.url("/b.xml")
    );
    let app =
        Instance::raw("opml = [\"subscriptions.opml\"]\n[storage]\ndatabase = \"tidings.db\"\n");
    std::fs::write(app.dir.path().join("subscriptions.opml"), opml).unwrap();
    let summary = app.poll().await;
    assert!(summary.contains("2 ok"), "{summary}");
    assert_eq!(
        app.strings("SELECT name || '/' || category || '/' || channel FROM sources ORDER BY id"),
        ["甲/金融/要闻", "乙/时政/财经"]
    );
    let out = app.run(&["sources", "--opml"]).await;
    let outlines = tidings::config::opml::read(&String::from_utf8_lossy(&out.stdout)).unwrap();
    let urls: Vec<&str> = outlines.iter().map(|o| o.xml_url.as_str()).collect();
    assert_eq!(urls, [server.url("/a.xml"), server.url("/b.xml")]);
    assert_eq!(outlines[1].channel.as_deref(), Some("财经"));
}
