//! Entries that a changed feed sends again as its last reading had them are
//! not read again (`article::recall`): they count as unchanged, what did
//! change is stored as before, and what the memory cannot vouch for (an
//! article deleted by hand, changed settings) is read whole again.

mod common;

use common::*;
use tidings::article::NormalizedFeed;
use tidings::article::dedup::TrackingParams;
use tidings::article::normalize::{SourceContext, normalize};
use tidings::article::recall::EntryMemory;
use tidings::read::parse::{ParseHints, parse};
use url::Url;

const BODY: &str = "中国人民银行决定于12月5日下调金融机构存款准备金率0.5个百分点，此次降准共计释放长期资金约1万亿元。";

/// The 证券时报网 feed of `(title, story number, body)` items.
fn feed(items: &[(&str, u32, &str)]) -> Reply {
    let items: Vec<(&str, String, &str, String)> = items
        .iter()
        .map(|(title, n, body)| {
            let link = format!("https://www.stcn.com/article/detail/{n}.html");
            (
                *title,
                link,
                "Tue, 01 Dec 2026 08:00:00 +0800",
                format!("<p>{body}</p>"),
            )
        })
        .collect();
    Reply::feed(rss("证券时报网", &items))
}

/// The articles the source's stored memory names, as `sources.entry_memory`
/// is documented: sixteen bytes an entry, the article id in the last eight.
fn remembered(app: &Instance) -> Vec<i64> {
    let bytes: Option<Vec<u8>> = app
        .db()
        .query_row("SELECT entry_memory FROM sources", [], |row| row.get(0))
        .unwrap();
    let bytes = bytes.unwrap_or_default();
    assert_eq!(bytes.len() % 16, 0);
    let mut ids: Vec<i64> = bytes
        .chunks(16)
        .map(|pair| i64::from_le_bytes(pair[8..].try_into().unwrap()))
        .collect();
    ids.sort();
    ids
}

fn ids(app: &Instance) -> Vec<i64> {
    app.strings("SELECT CAST(id AS TEXT) FROM articles ORDER BY id")
        .iter()
        .map(|id| id.parse().unwrap())
        .collect()
}

#[tokio::test]
async fn unchanged_entries_of_a_changed_feed_are_not_read_again() {
    let server = FeedServer::start().await;
    let first = [
        ("央行降准", 1, BODY),
        ("沪指收涨", 2, BODY),
        ("港股收评", 3, BODY),
    ];
    server.set("/stcn.xml", feed(&first));
    let (app, listen) = listening("", &sources_with_interval(&server, &[("/stcn.xml", "1s")]));
    let daemon = Daemon::start(&app, &listen).await;
    eventually(20, "the first reading stored", || {
        app.count_once_created("SELECT count(*) FROM articles") == Some(3)
    })
    .await;
    assert_eq!(
        remembered(&app),
        ids(&app),
        "every entry remembered as its article"
    );

    let changed = "沪指收涨1.2%，两市成交额放大至1.5万亿元。";
    let next = [
        ("央行降准", 1, BODY),
        ("沪指收涨", 2, changed),
        ("港股收评", 3, BODY),
        ("新股申购", 4, BODY),
    ];
    server.set("/stcn.xml", feed(&next));
    eventually(20, "the changed feed stored", || {
        app.count("SELECT count(*) FROM fetch_log WHERE new_articles > 0") == 2
    })
    .await;
    assert_eq!(
        app.count(
            "SELECT count(*) FROM fetch_log
              WHERE new_articles = 1 AND updated_articles = 1 AND unchanged_articles = 2"
        ),
        1,
        "the two entries sent again count as unchanged"
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM articles WHERE plain_text LIKE '%{changed}%'"
        )),
        1
    );
    assert_eq!(remembered(&app), ids(&app));
    assert_eq!(
        daemon.metric("tidings_entries_recalled_total").await,
        2.0,
        "the two unchanged entries were not read"
    );
    daemon.stop().await;
}

#[tokio::test]
async fn an_article_deleted_by_hand_comes_back_though_its_entry_never_changed() {
    let server = FeedServer::start().await;
    let app = Instance::new(
        "",
        &[Source::new(
            "证券时报网",
            server.url("/stcn.xml"),
            "金融",
            "要闻",
        )],
    );
    server.set(
        "/stcn.xml",
        feed(&[("央行降准", 1, BODY), ("沪指收涨", 2, BODY)]),
    );
    app.poll().await;
    assert_eq!(remembered(&app).len(), 2);
    app.db()
        .execute("DELETE FROM articles WHERE title = '央行降准'", [])
        .unwrap();
    assert_eq!(
        remembered(&app),
        [0i64; 0],
        "the source forgets its last reading"
    );

    server.set(
        "/stcn.xml",
        feed(&[("央行降准", 1, BODY), ("沪指收涨", 2, "沪指收涨1.2%")]),
    );
    let summary = app.poll().await;
    assert_eq!(article_counts(&summary), (1, 1, 0), "{summary}");
    assert_eq!(
        app.strings("SELECT title FROM articles ORDER BY title"),
        ["央行降准", "沪指收涨"]
    );
    assert_eq!(remembered(&app), ids(&app));
}

#[tokio::test]
async fn changed_rewrite_rules_reach_the_entries_a_feed_sends_again() {
    let server = FeedServer::start().await;
    let mut source = Source::new("证券时报网", server.url("/stcn.xml"), "金融", "要闻");
    let app = Instance::new("", std::slice::from_ref(&source));
    server.set(
        "/stcn.xml",
        feed(&[("央行降准", 1, BODY), ("沪指收涨", 2, BODY)]),
    );
    app.poll().await;

    source.extra = "rewrite = [{ replace = \"中国人民银行\", with = \"央行\" }]\n";
    let rewritten = Instance::new("", &[source]);
    std::fs::copy(rewritten.config(), app.config()).unwrap();
    server.set(
        "/stcn.xml",
        feed(&[("央行降准", 1, BODY), ("沪指收涨", 2, "沪指收涨1.2%")]),
    );
    let summary = app.poll().await;
    assert_eq!(article_counts(&summary), (0, 2, 0), "{summary}");
    assert_eq!(
        app.count("SELECT count(*) FROM articles WHERE plain_text LIKE '%中国人民银行%'"),
        0,
        "the new rule applies to the entry sent again unchanged"
    );
}

// The reading itself: which entries are recalled, and that what is read
// and how entries are told apart are as without a memory.

/// A feed of `items` read with `memory`.
fn read(items: &[String], memory: EntryMemory) -> NormalizedFeed {
    let xml = format!(
        r#"<rss version="2.0"><channel><title>证券时报网</title><link>https://www.stcn.com/</link>{}</channel></rss>"#,
        items.concat()
    );
    let hints = ParseHints::bytes_only(chrono_tz::Asia::Shanghai, 100);
    let source = SourceContext {
        name: "证券时报网".into(),
        url: Url::parse("https://www.stcn.com/rss.xml").unwrap(),
        category: "金融".into(),
        channel: None,
        timezone: chrono_tz::Asia::Shanghai,
        tracking: TrackingParams::new(&[]),
        rewrite: Default::default(),
        now: "2026-12-01T00:00:00Z".parse().unwrap(),
        last_reading: memory,
    };
    normalize(&parse(xml.as_bytes(), hints).unwrap(), &source)
}

fn item(title: &str, link: &str, guid: &str, body: &str) -> String {
    format!(
        "<item><title>{title}</title><link>{link}</link><guid isPermaLink=\"false\">{guid}</guid>\
         <description><![CDATA[<p>{body}</p>]]></description>\
         <pubDate>Tue, 01 Dec 2026 08:00:00 +0800</pubDate></item>"
    )
}

/// What the store remembers of a reading: each article's digest, with
/// its place in the feed for an id.
fn memory_of(feed: &NormalizedFeed) -> EntryMemory {
    let digests = feed.articles.iter().map(|article| article.digest);
    EntryMemory::new(
        (1..)
            .zip(digests)
            .filter_map(|(id, d)| Some((d?, id)))
            .collect(),
    )
}

#[test]
fn entries_of_the_last_reading_are_recalled_unread_and_the_others_read_as_before() {
    let link = |n: u32| format!("https://www.stcn.com/article/detail/{n}.html");
    let a = item("央行降准", &link(1), "1", BODY);
    let b = item("沪指收涨", &link(2), "2", BODY);
    let c = item("港股收评", &link(3), "3", BODY);
    let first = read(&[a.clone(), b, c.clone()], EntryMemory::default());
    assert!(first.recalled.is_empty());
    let changed_b = item("沪指收涨", &link(2), "2", "沪指收涨1.2%，成交额放大。");
    let d = item("新股申购", &link(4), "4", BODY);
    let next = [a, changed_b, c, d];

    let second = read(&next, memory_of(&first));
    let ids: Vec<i64> = second.recalled.iter().map(|r| r.article_id).collect();
    assert_eq!(
        ids,
        [1, 3],
        "the unchanged entries are recalled as the articles they became"
    );
    assert!(second.recalled.iter().all(|r| r.published.is_some()));
    let whole = read(&next, EntryMemory::default());
    assert_eq!(
        second.articles,
        [whole.articles[1].clone(), whole.articles[3].clone()],
        "what is read is read as without a memory"
    );
    assert!(
        second
            .articles
            .iter()
            .all(|a| a.fingerprint.is_some() && !a.content.html.is_empty())
    );
}

#[test]
fn entries_told_apart_by_their_fragments_keep_their_keys_when_one_is_recalled() {
    let part = |n: &str, body: &str| {
        item(
            &format!("直播第{n}段"),
            &format!("https://www.stcn.com/live.html#{n}"),
            n,
            body,
        )
    };
    let first = read(&[part("1", BODY), part("2", BODY)], EntryMemory::default());
    let keys: Vec<&str> = first.articles.iter().map(|a| a.key.as_str()).collect();
    assert_eq!(keys.len(), 2);
    assert_ne!(keys[0], keys[1]);

    let second = read(
        &[part("1", BODY), part("2", "第二段改了")],
        memory_of(&first),
    );
    assert_eq!(second.recalled.len(), 1);
    assert_eq!(second.articles.len(), 1);
    assert_eq!(
        second.articles[0].key, keys[1],
        "still told apart from the recalled one"
    );
}

#[test]
fn a_feed_whose_entries_repeat_is_read_whole_and_not_remembered() {
    let link = "https://www.stcn.com/article/detail/1.html";
    let alone = read(&[item("央行降准", link, "1", BODY)], EntryMemory::default());
    let memory = memory_of(&alone);
    let repeated = read(
        &[
            item("央行降准", link, "1", BODY),
            item("央行降准（更新）", link, "1", BODY),
        ],
        memory,
    );
    assert!(repeated.recalled.is_empty());
    assert_eq!(repeated.articles.len(), 1);
    assert_eq!(repeated.articles[0].digest, None);
    assert!(!repeated.articles[0].content.html.is_empty());
}

#[test]
fn an_untitled_entry_is_always_read() {
    let untitled = format!(
        "<item><link>https://www.stcn.com/article/detail/9.html</link>\
         <description>{BODY}</description></item>"
    );
    let first = read(std::slice::from_ref(&untitled), EntryMemory::default());
    let second = read(&[untitled], memory_of(&first));
    assert!(second.recalled.is_empty());
    assert_eq!(second.articles, first.articles);
}
