//! Filters: the entries a user never wants are never stored, counted in the
//! poll's summary and in the metrics; `tidings refilter` applies changed
//! filters to what is stored, after saying how many.

mod common;

use std::sync::LazyLock;

use chrono::{DateTime, Duration, Utc};
use common::*;

/// When the entries' ages count from: once per run, so that a feed served
/// again has the same dates.
static NOW: LazyLock<DateTime<Utc>> = LazyLock::new(Utc::now);

/// An RSS feed of `(title, link, age in days, categories)` items, dated
/// back from now (an age filter is relative to the clock).
fn feed(items: &[(&str, &str, i64, &[&str])]) -> Reply {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel><title>t</title><link>https://www.stcn.com/</link>",
    );
    for (title, link, days, categories) in items {
        let date = (*NOW - Duration::days(*days) - Duration::hours(1)).to_rfc2822();
        out += &format!("<item><title>{title}</title><link>{link}</link><pubDate>{date}</pubDate>");
        for category in *categories {
            out += &format!("<category>{category}</category>");
        }
        out += &format!("<description>{title}的正文，约一百字的内容。</description></item>");
    }
    Reply::feed(out + "</channel></rss>")
}

fn serve(server: &FeedServer) {
    server.set(
        "/stcn.xml",
        feed(&[
            ("宁德时代三季报", "https://www.stcn.com/1.html", 1, &["A股"]),
            (
                "【推广】开户送好礼",
                "https://www.stcn.com/2.html",
                1,
                &["A股"],
            ),
            ("美股收盘", "https://www.stcn.com/3.html", 1, &["美股"]),
            ("去年的旧闻", "https://www.stcn.com/4.html", 400, &["A股"]),
        ]),
    );
    server.set(
        "/sina.xml",
        feed(&[
            ("央行逆回购", "https://finance.sina.com.cn/1.html", 2, &[]),
            (
                "直播预告：今晚八点",
                "https://finance.sina.com.cn/2.html",
                2,
                &[],
            ),
            ("港股收评", "https://finance.sina.com.cn/3.html", 2, &[]),
        ]),
    );
}

/// `[poll]` blocks titles with 推广 or 广告 and anything older than 30 days
/// for every source; 证券时报网 keeps only its A股 entries; 新浪财经 blocks
/// live-stream notices.
fn sources(server: &FeedServer, sina_filter: &str) -> Vec<Source<'static>> {
    let mut stcn = Source::new("证券时报网", server.url("/stcn.xml"), "金融", "要闻");
    stcn.extra = "filter = [{ keep = \"categories\", matches = \"^A股$\" }]\n";
    let mut sina = Source::new("新浪财经", server.url("/sina.xml"), "金融", "滚动");
    sina.extra = format!("filter = [{sina_filter}]\n").leak();
    vec![stcn, sina]
}

const POLL: &str = "[poll]\nfilter = [{ block = \"title\", matches = \"推广|广告\" }, { block = \"age\", older_than = \"30d\" }]\n";

/// How many articles `tidings search` finds for `query`.
async fn found(app: &Instance, query: &str) -> usize {
    let out = app.run(&["search", query]).await;
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|line| !line.starts_with(' '))
        .count()
}

fn titles(app: &Instance) -> Vec<String> {
    app.strings("SELECT title FROM articles ORDER BY title")
}

#[tokio::test]
async fn blocked_entries_are_never_stored_and_are_counted() {
    let server = FeedServer::start().await;
    serve(&server);
    let live = "{ block = \"title\", matches = \"^直播预告\" }";
    let (app, listen) = listening(POLL, &sources(&server, live));
    let daemon = Daemon::start(&app, &listen).await;
    eventually(20, "the first polls", || {
        app.count_once_created("SELECT count(*) FROM fetch_log")
            .is_some_and(|n| n >= 2)
    })
    .await;
    let mut expected = vec!["宁德时代三季报", "央行逆回购", "港股收评"];
    expected.sort();
    assert_eq!(titles(&app), expected);
    let filtered = daemon
        .metric("tidings_entries_dropped_total{reason=\"filtered\"}")
        .await;
    assert_eq!(filtered, 4.0);
    daemon.stop().await;

    // The poll's summary says how many were kept out (the feeds changed,
    // so they are read again).
    server.set(
        "/sina.xml",
        feed(&[
            ("央行逆回购", "https://finance.sina.com.cn/1.html", 2, &[]),
            ("广告：理财节", "https://finance.sina.com.cn/4.html", 0, &[]),
        ]),
    );
    server.set(
        "/stcn.xml",
        feed(&[("宁德时代三季报", "https://www.stcn.com/1.html", 1, &["A股"])]),
    );
    let summary = app.poll().await;
    assert!(
        summary.contains("0 new, 0 updated, 2 unchanged, 1 filtered out"),
        "{summary}"
    );
    assert_eq!(titles(&app), expected);
}

#[tokio::test]
async fn refilter_says_what_changed_filters_block_and_deletes_it_when_asked() {
    let server = FeedServer::start().await;
    serve(&server);
    let (app, _listen) = listening("", &sources(&server, ""));
    let summary = app.poll().await;
    // 证券时报网 keeps only its A股 entries from the start.
    assert_eq!(article_counts(&summary).0, 6, "{summary}");
    assert_eq!(found(&app, "港股收评").await, 1, "searchable before");

    // The filters get stricter: [poll]'s, and 新浪财经's own.
    let stricter = Instance::new(
        POLL,
        &sources(&server, "{ block = \"content\", matches = \"港股\" }"),
    );
    std::fs::copy(stricter.config(), app.config()).unwrap();
    let dry = app.run(&["refilter"]).await;
    let said = String::from_utf8_lossy(&dry.stdout);
    assert!(
        dry.status.success(),
        "{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    assert!(
        said.contains("6 articles read: the filters block 3; run again with --yes"),
        "{said}"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM articles"),
        6,
        "a dry run deletes nothing"
    );

    let only = app.run(&["refilter", "--source", "证券时报网"]).await;
    let said = String::from_utf8_lossy(&only.stdout);
    assert!(
        said.contains("3 articles of 证券时报网 read: the filters block 2;"),
        "{said}"
    );

    let done = app.run(&["refilter", "--yes"]).await;
    let said = String::from_utf8_lossy(&done.stdout);
    assert!(said.contains("3 blocked by the filters, deleted"), "{said}");
    let mut left = vec!["宁德时代三季报", "直播预告：今晚八点", "央行逆回购"];
    left.sort();
    assert_eq!(titles(&app), left);
    assert_eq!(
        found(&app, "港股收评").await,
        0,
        "what was deleted is not found"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM article_categories WHERE article_id NOT IN (SELECT id FROM articles)"),
        0
    );
    // The news page's category counts follow what was deleted.
    assert_eq!(
        app.count(
            "SELECT count(*) FROM label_counts l
              WHERE articles != (SELECT count(*) FROM article_categories c WHERE c.category = l.category)"
        ),
        0
    );
    assert_eq!(
        app.count("SELECT articles FROM label_counts WHERE category = '证券时报网'"),
        1
    );
    let unknown = app.run(&["refilter", "--source", "没有"]).await;
    assert!(!unknown.status.success());
}

#[tokio::test]
async fn a_filter_that_is_not_a_regex_fails_loading_the_config_with_its_line() {
    let app = Instance::raw(
        "[storage]\ndatabase = \"tidings.db\"\n\n[[sources]]\nname = \"甲\"\nurl = \"http://127.0.0.1:9/a.xml\"\ncategory = \"金融\"\nfilter = [{ block = \"title\", matches = \"推广(\" }]\n",
    );
    let out = app.run(&["poll"]).await;
    let error = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        error.contains("line 8") && error.contains("not a regex"),
        "{error}"
    );
}
