//! The database as users open it: in the distribution's `sqlite3`, Python's
//! `sqlite3` module and Datasette, all built on a SQLite older than the one
//! tidings carries. Every SQL example of docs/schema.md runs in them, a hand
//! DELETE keeps the search index right, and a database of the previous
//! schema moves to the current one with nothing lost.
//!
//! Needs the `sqlite3` command (Debian: `apt-get install sqlite3`) and
//! Datasette (`pip install datasette`); `.ci/run` installs both.

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use common::{FeedServer, Instance, Reply, Source, free_address, rss};
use tokio::io::AsyncWriteExt;

/// The long article's title; its last paragraph is the only place 央行降准 occurs.
const LONG_TITLE: &str = "年终观察：资本市场改革这一年";

/// A database that `tidings poll` wrote from a feed of three stories, one of
/// them long, with the word searched for in its last paragraph.
async fn polled() -> (FeedServer, Instance) {
    let server = FeedServer::start().await;
    server.set("/yw.xml", feed(&stories(&[])));
    let app = Instance::new(
        "",
        &[Source::new(
            "证券时报网",
            server.url("/yw.xml"),
            "金融",
            "要闻",
        )],
    );
    app.poll().await;
    (server, app)
}

/// The feed's stories, and `more`.
fn stories<'a>(
    more: &[(&'a str, &'a str, &'a str, &'a str)],
) -> Vec<(&'a str, &'a str, &'a str, String)> {
    let mut long = String::new();
    for n in 1..=30 {
        long +=
            &format!("<p>第{n}段：证监会表示，将进一步深化资本市场改革，提高上市公司质量。</p>");
    }
    long += "<p>最后一段：市场人士预计，<a class=\"trsHotWords\" href=\"https://quote.stcn.com/\">央行</a>降准仍有空间。</p>";
    let mut items = vec![
        (
            LONG_TITLE,
            "https://news.stcn.com/news/1.html",
            "2022-01-26 09:00:00",
            long,
        ),
        (
            "北向资金净买入52亿元",
            "https://news.stcn.com/news/2.html",
            "2022-01-26 10:00:00",
            "<p>北向资金全天净买入52亿元。</p>".into(),
        ),
        (
            "央行开展逆回购操作",
            "https://news.stcn.com/news/3.html",
            "2022-01-26 11:00:00",
            "<p>央行今日开展1000亿元逆回购操作。</p>".into(),
        ),
    ];
    items.extend(more.iter().map(|&(t, l, d, b)| (t, l, d, b.to_string())));
    items
}

/// An RSS feed of `stories`.
fn feed(stories: &[(&str, &str, &str, String)]) -> Reply {
    Reply::feed(rss("证券时报网 - 要闻", stories))
}

/// Runs SQL in the system's `sqlite3`, insisting that it succeeds; its output.
async fn system_sqlite3(database: &Path, sql: &str) -> String {
    let mut child = tokio::process::Command::new("sqlite3")
        .arg("-bail")
        .arg("-batch")
        .arg(database)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the sqlite3 command (apt-get install sqlite3) runs these tests");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(sql.as_bytes()).await.unwrap();
    drop(stdin);
    let out = child.wait_with_output().await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.is_empty(),
        "sqlite3 refused:\n{sql}\n{stderr}"
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs each statement in Python's `sqlite3` module; the rows of each, as text.
async fn python_sqlite3(database: &Path, statements: &[String]) -> Vec<String> {
    let script = r#"
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
print(sqlite3.sqlite_version, file=sys.stderr)
out = []
for statement in json.load(sys.stdin):
    out.append(repr(db.execute(statement).fetchall()))
db.commit()
print(json.dumps(out, ensure_ascii=False))
"#;
    let mut child = tokio::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(database)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(serde_json::to_string(statements).unwrap().as_bytes())
        .await
        .unwrap();
    drop(stdin);
    let out = child.wait_with_output().await.unwrap();
    assert!(
        out.status.success(),
        "Python's sqlite3 refused: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The statements of every ```sql block of docs/schema.md.
fn documented_statements() -> Vec<String> {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/schema.md")).unwrap();
    let mut statements = Vec::new();
    for block in doc.split("```sql\n").skip(1) {
        let block = block.split("```").next().unwrap();
        let mut statement = String::new();
        for line in block.lines() {
            statement += line;
            statement += "\n";
            if line.trim_end().ends_with(';') {
                statements.push(std::mem::take(&mut statement));
            }
        }
        assert!(statement.trim().is_empty(), "unfinished SQL: {statement}");
    }
    statements
}

/// What `tidings search QUERY` printed.
async fn search(app: &Instance, query: &str) -> String {
    let out = app.run(&["search", query]).await;
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn every_documented_query_runs_in_the_systems_sqlite3_and_pythons() {
    let (_server, app) = polled().await;
    let statements = documented_statements();
    assert!(statements.len() >= 8, "{statements:?}");
    let mut searched = 0;
    for statement in &statements {
        let rows = system_sqlite3(&app.database(), statement).await;
        if statement.contains("央行降准") {
            assert!(rows.contains(LONG_TITLE), "{statement} gave {rows}");
            searched += 1;
        }
    }
    assert!(searched >= 2, "the schema documents searching");
    let rows = python_sqlite3(&app.database(), &statements).await;
    for (statement, rows) in statements.iter().zip(&rows) {
        if statement.contains("央行降准") {
            assert!(rows.contains(LONG_TITLE), "{statement} gave {rows}");
        }
    }
}

#[tokio::test]
async fn a_hand_delete_in_the_systems_sqlite3_leaves_the_search_index() {
    let (server, app) = polled().await;
    assert!(search(&app, "央行降准").await.contains(LONG_TITLE));
    let id = app.count(&format!(
        "SELECT id FROM articles WHERE title = '{LONG_TITLE}'"
    ));

    system_sqlite3(
        &app.database(),
        &format!("DELETE FROM articles WHERE title = '{LONG_TITLE}';"),
    )
    .await;
    system_sqlite3(
        &app.database(),
        "INSERT INTO articles_fts (articles_fts) VALUES ('integrity-check');",
    )
    .await;
    assert!(!search(&app, "央行降准").await.contains(LONG_TITLE));
    assert!(!search(&app, "资本市场改革").await.contains(LONG_TITLE));
    for table in ["article_categories", "article_sources"] {
        let left = format!("SELECT count(*) FROM {table} WHERE article_id = {id}");
        assert_eq!(app.count(&left), 0, "{table}");
    }

    // A hand edit in Python: search follows it.
    python_sqlite3(
        &app.database(),
        &[
            "UPDATE articles SET title = '手工改过的标题' WHERE title = '北向资金净买入52亿元'"
                .into(),
        ],
    )
    .await;
    assert!(search(&app, "手工改过").await.contains("手工改过的标题"));
    assert!(
        !search(&app, "北向资金净买入")
            .await
            .contains("手工改过的标题")
    );

    // The feed still carries the deleted story: once the feed changes, the
    // next poll brings it back, whole, under an id that may be the one it had.
    let newer = (
        "新的一条",
        "https://news.stcn.com/news/4.html",
        "2022-01-26 12:00:00",
        "<p>新。</p>",
    );
    server.set("/yw.xml", feed(&stories(&[newer])));
    app.poll().await;
    assert!(search(&app, "央行降准").await.contains(LONG_TITLE));
    system_sqlite3(
        &app.database(),
        "INSERT INTO articles_fts (articles_fts) VALUES ('integrity-check');",
    )
    .await;
}

#[tokio::test]
async fn datasette_serves_the_articles_and_every_view() {
    let (_server, app) = polled().await;
    let address = free_address();
    let port = address.rsplit(':').next().unwrap();
    let mut datasette = tokio::process::Command::new("python3")
        .args(["-m", "datasette", "serve", "--port", port])
        .arg(app.database())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let get = |path: String| {
        let client = &client;
        let url = format!("http://{address}{path}");
        async move { client.get(&url).send().await }
    };
    let mut ready = false;
    for _ in 0..300 {
        if let Some(status) = datasette.try_wait().unwrap() {
            let mut stderr = String::new();
            tokio::io::AsyncReadExt::read_to_string(
                datasette.stderr.as_mut().unwrap(),
                &mut stderr,
            )
            .await
            .unwrap();
            panic!("datasette (pip install datasette) exited with {status}: {stderr}");
        }
        if get("/-/versions.json".into())
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "datasette did not start");

    let mut names = vec!["articles".to_string()];
    names.extend(app.strings("SELECT name FROM sqlite_master WHERE type = 'view' ORDER BY name"));
    assert!(names.len() >= 3, "{names:?}");
    for name in &names {
        let reply = get(format!("/tidings/{name}.json?_shape=array"))
            .await
            .unwrap();
        assert_eq!(reply.status(), 200, "{name}");
        let rows: Vec<serde_json::Value> =
            serde_json::from_slice(&reply.bytes().await.unwrap()).unwrap();
        assert!(!rows.is_empty(), "{name}");
    }
    // Datasette takes articles_fts for the search index of articles.
    let reply =
        get("/tidings/articles.json?_search=%E9%99%8D%E5%87%86%E4%BB%8D&_shape=array".into())
            .await
            .unwrap();
    assert_eq!(reply.status(), 200);
    let rows: Vec<serde_json::Value> =
        serde_json::from_slice(&reply.bytes().await.unwrap()).unwrap();
    let titles: Vec<&str> = rows.iter().filter_map(|r| r["title"].as_str()).collect();
    assert_eq!(titles, [LONG_TITLE]);
}

#[tokio::test]
async fn a_database_of_the_previous_schema_moves_to_the_new_index_with_nothing_lost() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    // The schema as migration 0005 left it, holding an article as tidings
    // then stored it: its title and the start of its text in a contentless index.
    {
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true);
        let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
        let mut migrator = sqlx::migrate!("./migrations/sqlite");
        let previous: Vec<_> = migrator
            .migrations
            .iter()
            .filter(|m| m.version <= 5)
            .cloned()
            .collect();
        assert_eq!(previous.len(), 5);
        migrator.migrations = previous.into();
        migrator.run(&pool).await.unwrap();
        let html = format!(
            "<p>{}</p><p>末段提到<b>央行</b>降准。</p>",
            "开篇。".repeat(100)
        );
        for sql in [
            "INSERT INTO sources (id, url, name, category) VALUES (1, 'https://a.example/f', '甲', '金融')",
            "INSERT INTO articles (id, key, title, link, author, published, summary, content_html,
                                   content_hash, first_seen, last_seen)
             VALUES (7, 'https://a.example/7', '旧文章', 'https://a.example/7', '甲',
                     '2022-01-26T01:00:00Z', '开篇。开篇。', ?1, 'h', '2022-01-26T01:00:00Z',
                     '2022-01-26T01:00:00Z')",
            "INSERT INTO article_sources (article_id, source_id, content_hash, first_seen)
             VALUES (7, 1, 'h', '2022-01-26T01:00:00Z')",
            "INSERT INTO article_categories (article_id, category, position, published)
             VALUES (7, '金融', 0, '2022-01-26T01:00:00Z')",
            "INSERT INTO articles_fts (rowid, title, body) VALUES (7, '旧文章', '开篇。开篇。')",
        ] {
            sqlx::query(sql).bind(&html).execute(&pool).await.unwrap();
        }
        pool.close().await;
    }

    let storage = tidings::config::Storage {
        database: tidings::config::Database::Sqlite(path.clone()),
        busy_timeout: Duration::from_secs(5),
        ..Default::default()
    };
    let store = tidings::store::Store::open(&storage).await.unwrap();
    let hits = store.search("央行降准", 10).await.unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].article.title, "旧文章");
    assert!(
        hits[0].passage.contains("【央行降准】"),
        "{}",
        hits[0].passage
    );
    assert_eq!(store.search("旧文章", 10).await.unwrap().len(), 1);
    store.close().await;

    let text = system_sqlite3(
        &path,
        "INSERT INTO articles_fts (articles_fts) VALUES ('integrity-check');
         SELECT count(*) FROM article_categories;
         SELECT plain_text FROM articles WHERE id = 7;",
    )
    .await;
    assert!(text.starts_with("1\n开篇。"), "{text}");
    assert!(text.trim_end().ends_with("末段提到央行降准。"), "{text}");
}
