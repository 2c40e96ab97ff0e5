//! tidings on PostgreSQL, a throwaway cluster per test: pollers sharing the
//! sources without fetching a feed twice, a killed poller's sources taken
//! over once its lease ends, a late poll refused, readers that hear of
//! changes, search in Chinese, and the same stored result as SQLite.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::postgres::PgCluster;
use common::*;

/// A 证券时报网 story long enough to be told from others by its text.
const ORIGINAL: &str = "证券时报记者获悉，国家统计局20日发布数据显示，10月份社会消费品零售总额同比增长4.8%，比上月加快0.3个百分点。\
    其中，除汽车以外的消费品零售额增长5.1%。分析人士表示，随着促消费政策持续发力，消费市场继续恢复向好，服务零售额增长较快。\
    从渠道看，实物商品网上零售额占社会消费品零售总额的比重继续提高，乡村市场销售增速快于城镇。展望四季度，专家预计消费将保持平稳增长态势。";

/// A config on `database`, listening on `listen`, with `settings` and the
/// workload's `sources`.
fn config(database: &str, listen: &str, settings: &str, sources: &str) -> Instance {
    Instance::raw(&format!(
        "[storage]\ndatabase = \"{database}\"\n{settings}\n\n[server]\nlisten = \"{listen}\"\n\n{sources}"
    ))
}

/// Serves the first `feeds` feeds of the workload in `dir`, each answered
/// after `delay`.
fn serve_slowly(server: &FeedServer, dir: &std::path::Path, feeds: usize, delay: Duration) {
    for n in 0..feeds {
        let path = format!("/feeds/{n:04}.xml");
        let body = std::fs::read(dir.join(&path[1..])).unwrap();
        server.set(&path, Reply::feed(body).delayed(delay));
    }
}

/// How many times each feed of the workload was requested.
fn requests_per_feed(server: &FeedServer) -> HashMap<String, usize> {
    let mut requests: HashMap<String, usize> = HashMap::new();
    for seen in server.seen() {
        *requests.entry(seen.path).or_default() += 1;
    }
    requests
}

fn assert_matches_truth(cluster: &PgCluster, truth: &serde_json::Value) {
    assert_eq!(
        cluster.count("tidings", "SELECT count(*) FROM articles") as u64,
        truth["unique_articles"].as_u64().unwrap()
    );
    for (channel, expected) in truth["per_channel"].as_object().unwrap() {
        let sql = format!("SELECT count(*) FROM article_categories WHERE category = '{channel}'");
        assert_eq!(
            cluster.count("tidings", &sql) as u64,
            expected.as_u64().unwrap(),
            "channel {channel}"
        );
    }
}

#[tokio::test]
async fn two_pollers_share_the_sources_and_the_host_limit_and_store_the_truth() {
    let cluster = PgCluster::start();
    let database = cluster.database("tidings");
    let server = FeedServer::start().await;
    let work = tempfile::tempdir().unwrap();
    let truth = workload(work.path(), 60, &format!("http://{}", server.addr), None);
    // Slow enough that each poller alone would have its 4 fetches in flight.
    serve_slowly(&server, work.path(), 60, Duration::from_millis(300));
    let sources = std::fs::read_to_string(work.path().join("sources.toml")).unwrap();
    let settings = "\n[poll]\ninterval = \"1h\"\nper_host = 4\n";
    let (listen_a, listen_b) = (free_address(), free_address());
    let a = config(&database, &listen_a, settings, &sources);
    let b = config(&database, &listen_b, settings, &sources);
    let (first, second) = tokio::join!(Daemon::start(&a, &listen_a), Daemon::start(&b, &listen_b));

    eventually(60, "every source polled", || {
        cluster.count("tidings", "SELECT count(*) FROM fetch_log") >= 60
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let requests = requests_per_feed(&server);
    assert_eq!(requests.len(), 60);
    assert!(
        requests.values().all(|n| *n == 1),
        "a feed fetched twice: {requests:?}"
    );
    assert_eq!(
        cluster.count("tidings", "SELECT count(*) FROM fetch_log"),
        60
    );
    assert_matches_truth(&cluster, &truth);
    assert_eq!(
        server.most_in_flight(),
        4,
        "per_host = 4 holds over both pollers"
    );
    assert_eq!(
        cluster.count(
            "tidings",
            "SELECT count(*) FROM host_turns WHERE until > now()"
        ),
        0,
        "every fetch gave its host's turn back"
    );
    let mut lines = Vec::new();
    for log in [&a, &b] {
        let text = std::fs::read_to_string(log.dir.path().join("daemon.log")).unwrap();
        lines.push(text.matches(" new, ").count());
    }
    assert!(
        lines.iter().all(|polled| *polled > 0),
        "both pollers polled: {lines:?}"
    );

    // Their metrics say who polled what and that the host's limit was met.
    let (mut granted, mut waits) = (0.0, 0.0);
    for daemon in [&first, &second] {
        granted += daemon
            .metric("tidings_claims_total{outcome=\"granted\"}")
            .await;
        waits += daemon.metric("tidings_host_busy_waits_total").await;
    }
    assert_eq!(granted, 60.0, "each feed claimed once over both pollers");
    assert!(waits > 0.0, "the pollers met the host's limit");

    // Each serves what both stored: the newest 100 (`[output] entries`).
    let expected = truth["unique_articles"].as_u64().unwrap().min(100) as usize;
    let mut served = Vec::new();
    for daemon in [&first, &second] {
        let feed = get_text(daemon.url("/feeds/all.atom")).await;
        let ids: Vec<String> = feed
            .split("<entry>")
            .skip(1)
            .map(|entry| {
                entry
                    .split("<id>")
                    .nth(1)
                    .unwrap()
                    .split("</id>")
                    .next()
                    .unwrap()
            })
            .map(str::to_owned)
            .collect();
        assert_eq!(ids.len(), expected, "{feed}");
        served.push(ids);
    }
    assert_eq!(served[0], served[1]);
    assert!(first.stop().await.success());
    assert!(second.stop().await.success());
}

/// A host's turns are counted over every poller: two stores on one
/// database (two pollers) share its `per_host` turns, a turn given back is
/// the other's to take, and a host one of them holds (Retry-After) is held
/// for both.
#[tokio::test]
async fn pollers_share_a_hosts_turns_and_holds() {
    use tidings::config::{Database, Storage};
    use tidings::store::{HostLimit, Store, Turn};

    let cluster = PgCluster::start();
    let storage = Storage {
        database: Database::Postgres(cluster.database("tidings")),
        ..Storage::default()
    };
    let first = Store::open(&storage).await.unwrap();
    let second = Store::open(&storage).await.unwrap();
    let granted = |turn: Option<Turn>| match turn {
        Some(Turn::Granted(token)) => token.expect("a token to give it back with"),
        other => panic!("no turn: {other:?}"),
    };
    let two = HostLimit {
        per_host: 2,
        fetch_timeout: Duration::from_secs(30),
    };
    let host = "www.stcn.com";
    let a = granted(first.take_turn(host, two).await.unwrap());
    let b = granted(second.take_turn(host, two).await.unwrap());
    assert!(
        first.take_turn(host, two).await.unwrap().is_none(),
        "two turns taken"
    );
    assert!(second.take_turn(host, two).await.unwrap().is_none());
    granted(first.take_turn("finance.sina.com.cn", two).await.unwrap());

    first.end_turn(host, Some(&a)).await.unwrap();
    let c = granted(second.take_turn(host, two).await.unwrap());
    assert_ne!(b, c);
    second.end_turn(host, Some(&b)).await.unwrap();
    second
        .hold_host(host, Duration::from_secs(60))
        .await
        .unwrap();
    assert!(
        matches!(
            first.take_turn(host, two).await.unwrap(),
            Some(Turn::Held(_))
        ),
        "held for the other poller too"
    );
    first.close().await;
    second.close().await;
}

#[tokio::test]
async fn a_killed_pollers_sources_are_taken_over_when_its_lease_ends() {
    let cluster = PgCluster::start();
    let database = cluster.database("tidings");
    let server = FeedServer::start().await;
    let work = tempfile::tempdir().unwrap();
    let truth = workload(work.path(), 12, &format!("http://{}", server.addr), None);
    // Slow feeds: the first poller dies with every fetch in flight.
    serve_slowly(&server, work.path(), 12, Duration::from_secs(4));
    let sources = std::fs::read_to_string(work.path().join("sources.toml")).unwrap();
    let settings = "lease = \"8s\"\n\n[poll]\ninterval = \"1h\"\nper_host = 16\n";
    let (listen_a, listen_b) = (free_address(), free_address());
    let a = config(&database, &listen_a, settings, &sources);
    let doomed = Daemon::start(&a, &listen_a).await;
    eventually(20, "every source claimed", || {
        cluster.count(
            "tidings",
            "SELECT count(*) FROM sources WHERE lease_until > now()",
        ) == 12
    })
    .await;
    // Each lease as the database holds it: until when the dead poller's claim stands.
    let epochs = |sql| -> HashMap<String, f64> {
        cluster
            .psql("tidings", sql)
            .iter()
            .map(|line| {
                let (id, epoch) = line.split_once(' ').unwrap();
                (id.to_string(), epoch.parse().unwrap())
            })
            .collect()
    };
    let leases = epochs("SELECT id || ' ' || extract(epoch FROM lease_until) FROM sources");
    doomed.signal("KILL");

    let b = config(&database, &listen_b, settings, &sources);
    let heir = Daemon::start(&b, &listen_b).await;
    eventually(60, "every source polled", || {
        cluster.count("tidings", "SELECT count(*) FROM fetch_log") == 12
    })
    .await;
    // The heir's fetch of each source began after that source's lease ended,
    // both on the database's clock (a fetch starts after its claim).
    let started =
        epochs("SELECT source_id || ' ' || extract(epoch FROM started_at) FROM fetch_log");
    assert_eq!(leases.len(), 12);
    for (source, lease_until) in &leases {
        let began = started[source];
        assert!(
            began >= *lease_until,
            "source {source}: polled at {began}, its lease held until {lease_until}"
        );
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        cluster.count(
            "tidings",
            "SELECT count(*) FROM (SELECT source_id FROM fetch_log GROUP BY source_id HAVING count(*) = 1) once"
        ),
        12,
        "each source written once"
    );
    assert_matches_truth(&cluster, &truth);
    // The heir fetched each feed once more (the dead poller's requests may
    // have died with it before the server logged them).
    let requests = requests_per_feed(&server);
    assert_eq!(requests.len(), 12);
    assert!(
        requests.values().all(|n| (1..=2).contains(n)),
        "{requests:?}"
    );
    assert_eq!(
        cluster.count(
            "tidings",
            "SELECT count(*) FROM sources WHERE lease_token IS NOT NULL"
        ),
        0
    );
    assert!(heir.stop().await.success());
}

#[tokio::test]
async fn a_poll_that_outlasts_its_lease_is_not_written_over_the_next_pollers() {
    let cluster = PgCluster::start();
    let database = cluster.database("tidings");
    let server = FeedServer::start().await;
    let items = [(
        "央行开展2000亿元逆回购",
        "https://www.stcn.com/article/detail/1.html",
        "Fri, 20 Nov 2026 10:00:00 +0800",
        "<p>央行今日开展2000亿元7天期逆回购操作。</p>",
    )];
    server.set(
        "/yw.xml",
        Reply::feed(rss("要闻", &items)).delayed(Duration::from_secs(3)),
    );
    let app = Instance::raw(&format!(
        "[storage]\ndatabase = \"{database}\"\nlease = \"1s\"\n\n[[sources]]\nname = \"证券时报网\"\nurl = \"{}\"\ncategory = \"金融\"\n",
        server.url("/yw.xml")
    ));
    // A poll that stores articles, then one with nothing to store (written
    // in a statement of its own): the late one is refused both times.
    for (round, feed) in [
        rss("要闻", &items),
        rss::<&str, &str, &str, &str>("要闻", &[]),
    ]
    .into_iter()
    .enumerate()
    {
        server.set("/yw.xml", Reply::feed(feed).delayed(Duration::from_secs(3)));
        let late = tokio::spawn({
            let config = app.config();
            async move { tidings(&["poll"], &config).await }
        });
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let next = app.run(&["poll"]).await;
        let late = late.await.unwrap();
        for out in [&late, &next] {
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        assert!(
            String::from_utf8_lossy(&late.stderr).contains("outlasted its lease"),
            "round {round}: {}",
            String::from_utf8_lossy(&late.stderr)
        );
        let polls = round as i64 + 1;
        assert_eq!(server.hits("/yw.xml") as i64, 2 * polls);
        assert_eq!(
            cluster.count("tidings", "SELECT count(*) FROM fetch_log"),
            polls,
            "round {round}: only the next poller's poll is logged"
        );
        assert_eq!(cluster.count("tidings", "SELECT count(*) FROM articles"), 1);
    }
    assert_eq!(
        cluster.count(
            "tidings",
            "SELECT count(*) FROM sources WHERE lease_token IS NULL"
        ),
        1,
        "the next poller's write released its lease"
    );
}

#[tokio::test]
async fn a_reader_hears_of_new_articles_and_searches_chinese() {
    let cluster = PgCluster::start();
    let database = cluster.database("tidings");
    let server = FeedServer::start().await;
    let items = [
        (
            "央行宣布降准0.5个百分点",
            "https://www.stcn.com/article/detail/1.html",
            "Fri, 20 Nov 2026 10:00:00 +0800",
            "<p>中国人民银行决定下调金融机构存款准备金率0.5个百分点，释放长期资金约1万亿元。</p>",
        ),
        (
            "沪指收涨1.2%",
            "https://www.stcn.com/article/detail/2.html",
            "Fri, 20 Nov 2026 15:00:00 +0800",
            "<p>A股三大指数集体收涨，两市成交额超过1.5万亿元。</p>",
        ),
    ];
    server.set("/yw.xml", Reply::feed(rss("要闻", &items)));
    let listen = free_address();
    let app = config(
        &database,
        &listen,
        "",
        &format!(
            "[[sources]]\nname = \"证券时报网\"\nurl = \"{}\"\ncategory = \"金融\"\n",
            server.url("/yw.xml")
        ),
    );
    let reader = Daemon::start_command(&app, &listen, "serve").await;
    let text = |path: &str| get_text(reader.url(path));
    let entries = || async { text("/feeds/all.atom").await.matches("<entry>").count() };
    assert_eq!(entries().await, 0);
    assert_eq!(server.hits("/yw.xml"), 0, "a reader polls nothing");

    app.poll().await;
    // Well within the 30 s fallback: the poll's NOTIFY reached the reader.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while entries().await < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "the reader never heard"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let search = text("/search?q=存款准备金率").await;
    assert_eq!(search.matches("<entry>").count(), 1, "{search}");
    assert!(search.contains("央行宣布降准"), "{search}");
    let ascii = text("/search?q=A%E8%82%A1").await;
    assert_eq!(ascii.matches("<entry>").count(), 1, "{ascii}");

    // The poll left every article it stored in the search index; one that
    // the indexer has not reached yet (made so by hand) is found all the same.
    let unindexed = "SELECT count(*) FROM articles WHERE NOT indexed";
    assert_eq!(cluster.psql("tidings", unindexed), ["0"]);
    cluster.psql(
        "tidings",
        "UPDATE articles SET indexed = false WHERE title = '央行宣布降准0.5个百分点'",
    );
    assert_eq!(cluster.psql("tidings", unindexed), ["1"]);
    let search = text("/search?q=存款准备金率").await;
    assert_eq!(search.matches("<entry>").count(), 1, "{search}");
    // A hand edit of an indexed article is found by its new words at once.
    cluster.psql(
        "tidings",
        "UPDATE articles SET plain_text = plain_text || '北向资金净流入' WHERE title = '沪指收涨1.2%'",
    );
    let edited = text("/search?q=北向资金净流入").await;
    assert!(edited.contains("沪指收涨1.2%"), "{edited}");
    assert!(reader.stop().await.success());
}

/// The same polls into SQLite and into PostgreSQL store the same articles,
/// sources and categories, and count the same.
#[tokio::test]
async fn postgres_stores_what_sqlite_stores() {
    let cluster = PgCluster::start();
    let database = cluster.database("tidings");
    let server = FeedServer::start().await;
    let story = |n: u32, title: &str, body: &str| {
        (
            title.to_string(),
            format!("https://www.stcn.com/article/detail/{n}.html"),
            format!("Fri, 20 Nov 2026 1{n}:00:00 +0800"),
            format!("<p>{body}</p>"),
        )
    };
    let serve = |path: &str, stories: &[(String, String, String, String)]| {
        server.set(path, Reply::feed(rss("feed", stories)));
    };
    let one = story(1, "十月社零同比增长4.8%", ORIGINAL);
    let two = story(2, "央行开展2000亿元逆回购", "央行今日开展逆回购操作。");
    let three = story(3, "沪指收涨", "A股三大指数集体收涨。");
    // 新浪财经 reprints story one under its own URL, with its prefix and footer.
    let reprint = (
        "10月社零同比增长4.8% 消费市场恢复向好".to_string(),
        "https://finance.sina.com.cn/a/1.shtml".to_string(),
        "Fri, 20 Nov 2026 11:32:00 +0800".to_string(),
        format!("<p>【新浪财经讯】{ORIGINAL}（来源：证券时报网）</p>"),
    );
    serve("/stcn.xml", &[one.clone(), two.clone()]);
    serve("/sina.xml", &[two.clone(), three.clone(), reprint]);
    let sources = format!(
        "[[sources]]\nname = \"证券时报网\"\nurl = \"{}\"\ncategory = \"金融\"\nchannel = \"要闻\"\n\n\
         [[sources]]\nname = \"新浪财经\"\nurl = \"{}\"\ncategory = \"金融\"\nchannel = \"滚动\"\n",
        server.url("/stcn.xml"),
        server.url("/sina.xml")
    );
    let sqlite = Instance::new("", &[]);
    std::fs::write(
        sqlite.config(),
        std::fs::read_to_string(sqlite.config()).unwrap() + &sources,
    )
    .unwrap();
    let postgres = config(&database, &free_address(), "", &sources);

    let mut summaries = Vec::new();
    for app in [&sqlite, &postgres] {
        summaries.push(article_counts(&app.poll().await));
    }
    // A band key stored before the 72-hour window: a poll deletes it.
    cluster.psql(
        "tidings",
        "INSERT INTO article_bands
         SELECT band_key + 1, article_id, source_id, published, stored - interval '4 days'
           FROM article_bands LIMIT 1",
    );
    let mut changed = two.clone();
    changed.3 = "<p>央行今日开展2000亿元7天期逆回购操作，中标利率1.4%。</p>".into();
    serve("/stcn.xml", &[one.clone(), changed]);
    for app in [&sqlite, &postgres] {
        summaries.push(article_counts(&app.poll().await));
    }
    assert_eq!(
        cluster.count(
            "tidings",
            "SELECT count(*) FROM article_bands WHERE stored < now() - interval '72 hours'"
        ),
        0,
        "the key that left the window is deleted"
    );
    assert!(cluster.count("tidings", "SELECT count(*) FROM article_bands") > 0);
    assert_eq!(summaries[0], (4, 0, 1));
    assert_eq!(summaries[0], summaries[1]);
    assert_eq!(summaries[2], summaries[3]);
    assert_eq!(summaries[2].1, 1, "the changed story is an update");

    for sql in [
        "SELECT a.key, a.title, a.author, a.summary FROM articles a ORDER BY a.key",
        "SELECT a.key, c.category FROM article_categories c
           JOIN articles a ON a.id = c.article_id ORDER BY a.key, c.category",
        "SELECT a.key, s.name, x.content_hash FROM article_sources x
           JOIN articles a ON a.id = x.article_id JOIN sources s ON s.id = x.source_id
          ORDER BY a.key, s.name",
        // Which copy of a story comes first is whichever poll was written first.
        "SELECT a.key FROM articles a
          WHERE (SELECT count(*) FROM articles b WHERE b.story_id = a.story_id) > 1 ORDER BY a.key",
        "SELECT count(*) FROM stories",
        // Kept as changes and summed on PostgreSQL, upserted on SQLite; an
        // updated story's labels moved no count.
        "SELECT category, articles FROM label_counts WHERE articles > 0 ORDER BY category",
        "SELECT e.method, CASE WHEN e.numbers_agree THEN 'yes' ELSE 'no' END FROM story_evidence e",
        "SELECT s.name, v.articles, v.last_status FROM source_overview v
           JOIN sources s ON s.id = v.id ORDER BY s.name",
        // Of a story both feeds carry, the first is whichever poll was written first.
        "SELECT o.source_name, a.key FROM article_origins o JOIN articles a ON a.id = o.article_id
          WHERE (SELECT count(*) FROM article_sources x WHERE x.article_id = a.id) = 1
          ORDER BY a.key",
        // Each source's last reading remembered, entry by entry (sixteen bytes each).
        "SELECT name, length(entry_memory) FROM sources ORDER BY name",
    ] {
        let from_sqlite: Vec<String> = {
            let db = sqlite.db();
            let mut statement = db.prepare(sql).unwrap();
            let columns = statement.column_count();
            statement
                .query_map([], |row| {
                    Ok((0..columns)
                        .map(|i| match row.get_ref(i).unwrap() {
                            rusqlite::types::ValueRef::Integer(n) => n.to_string(),
                            rusqlite::types::ValueRef::Text(t) => {
                                String::from_utf8_lossy(t).into_owned()
                            }
                            other => format!("{other:?}"),
                        })
                        .collect::<Vec<_>>()
                        .join("|"))
                })
                .unwrap()
                .map(Result::unwrap)
                .collect()
        };
        assert!(!from_sqlite.is_empty(), "{sql}");
        assert_eq!(cluster.psql("tidings", sql), from_sqlite, "{sql}");
    }

    assert_eq!(
        cluster.psql(
            "tidings",
            "SELECT a.link FROM articles a
              WHERE a.story_id = (SELECT story_id FROM articles WHERE link LIKE '%stcn.com%/1.html')
              ORDER BY a.link"
        ),
        [
            "https://finance.sina.com.cn/a/1.shtml",
            "https://www.stcn.com/article/detail/1.html"
        ],
        "the reprint joined the original's story"
    );

    // The story commands, on both.
    let grouped = "SELECT a.link FROM articles a
        WHERE (SELECT count(*) FROM articles b WHERE b.story_id = a.story_id) > 1 ORDER BY a.link";
    let sqlite_id = |link: &str| {
        sqlite.count(&format!(
            "SELECT id FROM articles WHERE link = 'https://{link}'"
        ))
    };
    let pg_id = |link: &str| {
        cluster.count(
            "tidings",
            &format!("SELECT id FROM articles WHERE link = 'https://{link}'"),
        )
    };
    let reprint = "finance.sina.com.cn/a/1.shtml";
    let (second, third) = (
        "www.stcn.com/article/detail/2.html",
        "www.stcn.com/article/detail/3.html",
    );
    for (app, id) in [(&sqlite, sqlite_id(reprint)), (&postgres, pg_id(reprint))] {
        let shown = app.run(&["story", &id.to_string()]).await;
        let shown = String::from_utf8_lossy(&shown.stdout).into_owned();
        assert!(
            shown.contains("· 2 articles") && shown.contains("文本重合"),
            "{shown}"
        );
        let split = app.run(&["split", &id.to_string()]).await;
        assert!(
            split.status.success(),
            "{}",
            String::from_utf8_lossy(&split.stderr)
        );
    }
    let pairs = [
        (&sqlite, sqlite_id(second), sqlite_id(third)),
        (&postgres, pg_id(second), pg_id(third)),
    ];
    for (app, a, b) in pairs {
        let merged = app.run(&["merge", &a.to_string(), &b.to_string()]).await;
        assert!(
            merged.status.success(),
            "{}",
            String::from_utf8_lossy(&merged.stderr)
        );
        for command in ["regroup", "reprocess"] {
            let out = app.run(&[command]).await;
            assert!(
                out.status.success(),
                "{command}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    let expected = [format!("https://{second}"), format!("https://{third}")];
    assert_eq!(
        cluster.psql("tidings", grouped),
        expected,
        "split and merge survive regroup"
    );
    assert_eq!(sqlite.strings(grouped), expected);

    // An article deleted by hand takes its labels, sources, fingerprint and
    // evidence with it, on both (no foreign keys check them on either), and
    // the source that carried it forgets its last reading.
    let remembers =
        "SELECT count(*) FROM sources WHERE name = '新浪财经' AND entry_memory IS NOT NULL";
    assert_eq!(cluster.count("tidings", remembers), 1);
    let delete = format!("DELETE FROM articles WHERE link = 'https://{reprint}'");
    sqlite.db().execute(&delete, []).unwrap();
    cluster.psql("tidings", &delete);
    let left_behind = "SELECT count(*) FROM (
        SELECT article_id FROM article_categories UNION ALL SELECT article_id FROM article_sources
        UNION ALL SELECT article_id FROM article_fingerprints
        UNION ALL SELECT article_id FROM story_evidence) x
        WHERE x.article_id NOT IN (SELECT id FROM articles)";
    assert_eq!(cluster.count("tidings", left_behind), 0);
    assert_eq!(sqlite.count(left_behind), 0);
    assert_eq!(cluster.count("tidings", remembers), 0);
    let labels = "SELECT category || '|' || articles FROM label_counts WHERE articles > 0
                   ORDER BY category";
    assert_eq!(cluster.psql("tidings", labels), sqlite.strings(labels));

    // docs/schema.md's PostgreSQL examples run as written.
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/schema.md")).unwrap();
    let examples: Vec<&str> = doc
        .split("```postgresql\n")
        .skip(1)
        .map(|block| block.split("```").next().unwrap())
        .collect();
    assert!(!examples.is_empty());
    for sql in examples {
        cluster.psql("tidings", sql);
    }
}

#[tokio::test]
async fn a_summary_only_feed_is_read_from_its_pages() {
    let cluster = PgCluster::start();
    let database = cluster.database("tidings");
    let server = FeedServer::start().await;
    let page = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>社零数据</title></head><body>\
         <div class=\"nav\"><a href=\"/\">首页</a><a href=\"/yw\">要闻</a></div>\
         <div class=\"detail-content\"><p>{ORIGINAL}</p><p>末段独有词语青蓝色账本。</p></div>\
         <div class=\"footer\">证券时报社版权所有</div></body></html>"
    );
    server.set(
        "/a/1.html",
        Reply::feed(page).content_type("text/html").without_etag(),
    );
    let link = server.url("/a/1.html");
    let items = [(
        "十月社零同比增长4.8%",
        link.as_str(),
        "Fri, 20 Nov 2026 10:00:00 +0800",
        "一句话摘要。",
    )];
    server.set("/yw.xml", Reply::feed(rss("要闻", &items)));
    let app = config(
        &database,
        &free_address(),
        "",
        &format!(
            "[[sources]]\nname = \"证券时报网\"\nurl = \"{}\"\ncategory = \"金融\"\nfull_content = \"always\"\n",
            server.url("/yw.xml")
        ),
    );
    let summary = app.poll().await;
    assert!(summary.contains("article pages: 1 read"), "{summary}");
    assert_eq!(
        cluster.psql("tidings", "SELECT state FROM article_pages"),
        ["fetched"]
    );
    let text = cluster
        .psql("tidings", "SELECT plain_text FROM articles")
        .join("\n");
    assert!(text.contains("青蓝色账本"), "{text}");
    assert!(!text.contains("版权所有"), "{text}");
    // The feed's summary changes: the article keeps what its page gave.
    let items = [(
        "十月社零同比增长4.8%",
        link.as_str(),
        "Fri, 20 Nov 2026 10:00:00 +0800",
        "一句话摘要，已更新。",
    )];
    server.set("/yw.xml", Reply::feed(rss("要闻", &items)));
    let summary = app.poll().await;
    assert_eq!(article_counts(&summary), (0, 1, 0), "{summary}");
    assert_eq!(server.hits("/a/1.html"), 1, "a page is read once");
    let text = cluster
        .psql("tidings", "SELECT plain_text FROM articles")
        .join("\n");
    assert!(text.contains("青蓝色账本"), "{text}");
    assert_eq!(
        cluster.psql("tidings", "SELECT summary FROM articles"),
        ["一句话摘要，已更新。"]
    );
}

#[tokio::test]
async fn entries_told_apart_by_their_fragment_stay_apart_when_alone() {
    let cluster = PgCluster::start();
    let database = cluster.database("tidings");
    let server = FeedServer::start().await;
    let item = |frag: &str, guid: &str| {
        format!(
            "<item><title>第{guid}段</title><link>https://a.example/day.html#{frag}</link><guid isPermaLink=\"false\">{guid}</guid></item>"
        )
    };
    let feed = |items: &str| {
        format!(r#"<rss version="2.0"><channel><title>t</title>{items}</channel></rss>"#)
    };
    server.set(
        "/f.xml",
        Reply::feed(feed(&(item("a", "1") + &item("b", "2")))),
    );
    let sources = format!(
        "[[sources]]\nname = \"源\"\nurl = \"{}\"\ncategory = \"金融\"\n",
        server.url("/f.xml")
    );
    let app = config(&database, &free_address(), "", &sources);
    assert_eq!(article_counts(&app.poll().await), (2, 0, 0));
    // Alone in the feed, the second needs no fragment: it is the article it was.
    server.set("/f.xml", Reply::feed(feed(&item("b", "2"))));
    let summary = app.poll().await;
    assert_eq!(article_counts(&summary).0, 0, "{summary}");
    assert_eq!(cluster.count("tidings", "SELECT count(*) FROM articles"), 2);
}
