//! `tidings run` as a service: its schedule, its politeness, its restarts and
//! reloads, against local HTTP servers that count what they are asked.

mod common;

use std::time::Duration;

use common::*;

#[tokio::test]
async fn a_short_interval_is_polled_again_and_a_long_one_is_not() {
    let server = FeedServer::start().await;
    server.set("/fast.xml", one_story(1).without_etag());
    server.set("/slow.xml", one_story(2));
    let (app, listen) = listening(
        "",
        &sources_with_interval(&server, &[("/fast.xml", "1s"), ("/slow.xml", "1h")]),
    );
    let daemon = Daemon::start(&app, &listen).await;
    eventually(15, "three polls of the fast source", || {
        server.hits("/fast.xml") >= 3
    })
    .await;
    assert_eq!(server.hits("/slow.xml"), 1);
    assert!(daemon.stop().await.success());
    assert_eq!(app.count("SELECT count(*) FROM articles"), 2);
}

#[tokio::test]
async fn a_failing_source_backs_off_and_recovers() {
    let server = FeedServer::start().await;
    server.set("/flaky.xml", Reply::status(500, "down"));
    let (app, listen) = listening("", &sources_with_interval(&server, &[("/flaky.xml", "1s")]));
    let daemon = Daemon::start(&app, &listen).await;
    eventually(20, "four attempts", || server.hits("/flaky.xml") >= 4).await;
    // Backoff doubles from the 1 s interval, ±20% jitter: each gap between
    // attempts is at least 2 × 0.8 / 1.2 = 1.33 times the one before.
    let times: Vec<_> = server.seen().iter().map(|seen| seen.at).collect();
    let gaps: Vec<f64> = times
        .windows(2)
        .map(|pair| (pair[1] - pair[0]).as_secs_f64())
        .collect();
    for pair in gaps.windows(2) {
        assert!(pair[1] >= pair[0] * 1.25, "no backoff: gaps {gaps:?}");
    }
    eventually(5, "every failure counted", || {
        app.count("SELECT max(error_count) FROM sources") >= times.len() as i64
    })
    .await;

    server.set("/flaky.xml", one_story(1));
    eventually(20, "a successful poll", || {
        app.count("SELECT count(*) FROM sources WHERE last_status = 'ok' AND error_count = 0") == 1
    })
    .await;
    assert_eq!(app.count("SELECT count(*) FROM articles"), 1);
    assert_eq!(
        app.strings("SELECT coalesce(last_error, '') FROM sources"),
        [""]
    );
    daemon.stop().await;
}

#[tokio::test]
async fn retry_after_on_429_or_503_holds_back_the_whole_host() {
    for status in [429, 503] {
        let throttled = FeedServer::start().await;
        let other = FeedServer::start().await;
        throttled.set(
            "/a.xml",
            Reply::status(status, "slow down").header("Retry-After", "3600"),
        );
        throttled.set(
            "/b.xml",
            one_story(1)
                .delayed(Duration::from_millis(300))
                .without_etag(),
        );
        other.set("/c.xml", one_story(2).without_etag());
        let mut sources = sources_with_interval(&throttled, &[("/a.xml", "1s"), ("/b.xml", "1s")]);
        sources.extend(sources_with_interval(&other, &[("/c.xml", "1s")]));
        let (app, listen) = listening("", &sources);
        let daemon = Daemon::start(&app, &listen).await;
        eventually(15, "the other host polled three times", || {
            other.hits("/c.xml") >= 3
        })
        .await;
        assert_eq!(throttled.hits("/a.xml"), 1);
        assert!(
            throttled.hits("/b.xml") <= 1,
            "{status}: the held host was polled again"
        );
        let errors = app.strings("SELECT last_error FROM sources WHERE last_error IS NOT NULL");
        assert!(
            errors.iter().any(|e| e.contains(&status.to_string())),
            "{errors:?}"
        );
        // The schedule honours the full hour, not the one-second interval.
        assert_eq!(
            app.count("SELECT count(*) FROM sources WHERE next_due > strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '+50 minutes')"),
            1,
            "{status}"
        );
        daemon.stop().await;
    }
}

#[tokio::test]
async fn the_per_host_limit_is_never_exceeded() {
    let server = FeedServer::start().await;
    let paths: Vec<String> = (0..8).map(|i| format!("/{i}.xml")).collect();
    for (i, path) in paths.iter().enumerate() {
        server.set(path, one_story(i).delayed(Duration::from_millis(300)));
    }
    let sources: Vec<Source> = paths
        .iter()
        .map(|p| Source::new("甲", server.url(p), "金融", "要闻"))
        .collect();
    let (app, listen) = listening("[poll]\nper_host = 2", &sources);
    let daemon = Daemon::start(&app, &listen).await;
    eventually(15, "every source polled", || server.seen().len() == 8).await;
    assert_eq!(server.most_in_flight(), 2, "per_host = 2");
    daemon.stop().await;
}

#[tokio::test]
async fn the_global_concurrency_limit_is_never_exceeded() {
    // Six hosts (ports), a slow feed each: only `concurrency` of them are
    // fetched at once, though each host would allow more.
    let server = FeedServer::start().await;
    let mut sources = Vec::new();
    for i in 0..6 {
        let path = format!("/{i}.xml");
        server.set(&path, one_story(i).delayed(Duration::from_millis(400)));
        let url = format!("{}{path}", server.another_port().await);
        sources.push(Source::new("甲", url, "金融", "要闻"));
    }
    let (app, listen) = listening(
        "[poll]
concurrency = 2
per_host = 4",
        &sources,
    );
    let daemon = Daemon::start(&app, &listen).await;
    // The last fetches end before their articles are written: wait for both.
    eventually(15, "every source polled and stored", || {
        server.seen().len() == 6 && app.count("SELECT count(*) FROM articles") == 6
    })
    .await;
    assert_eq!(server.most_in_flight(), 2, "concurrency = 2");
    daemon.stop().await;
}

#[tokio::test]
async fn a_restart_resumes_the_schedule_instead_of_polling_everything() {
    let server = FeedServer::start().await;
    server.set("/a.xml", one_story(1));
    server.set("/b.xml", one_story(2));
    let (app, listen) = listening(
        "",
        &sources_with_interval(&server, &[("/a.xml", "1h"), ("/b.xml", "1h")]),
    );
    let daemon = Daemon::start(&app, &listen).await;
    eventually(10, "both sources polled", || server.seen().len() == 2).await;
    eventually(10, "both polls stored", || {
        app.count("SELECT count(*) FROM fetch_log") == 2
    })
    .await;
    assert!(daemon.stop().await.success(), "SIGTERM is a clean stop");

    let daemon = Daemon::start(&app, &listen).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        server.seen().len(),
        2,
        "a source that was not due was polled again"
    );
    daemon.stop().await;
    assert_eq!(app.strings("PRAGMA integrity_check"), ["ok"]);
}

#[tokio::test]
async fn a_gone_feed_is_not_polled_until_its_config_changes() {
    let server = FeedServer::start().await;
    server.set("/gone.xml", Reply::status(410, "gone"));
    let app = Instance::new("", &sources_with_interval(&server, &[("/gone.xml", "1s")]));
    app.poll().await;
    app.poll().await;
    assert_eq!(server.hits("/gone.xml"), 1);
    let out = app.run(&["sources"]).await;
    assert!(String::from_utf8_lossy(&out.stdout).contains("gone"));

    let config = std::fs::read_to_string(app.config())
        .unwrap()
        .replace("interval = \"1s\"", "interval = \"5m\"");
    std::fs::write(app.config(), config).unwrap();
    app.poll().await;
    assert_eq!(server.hits("/gone.xml"), 2);
}

#[tokio::test]
async fn the_sources_table_follows_the_config_and_a_dropped_source_keeps_its_articles() {
    let server = FeedServer::start().await;
    server.set("/a.xml", one_story(1));
    server.set("/b.xml", one_story(2));
    let a = |name| Source::new(name, server.url("/a.xml"), "金融", "要闻");
    let b = || Source::new("乙", server.url("/b.xml"), "金融", "要闻");
    let app = Instance::new("", &[a("甲"), b()]);
    let configure = |sources: &[Source]| {
        let text = std::fs::read_to_string(Instance::new("", sources).config()).unwrap();
        std::fs::write(app.config(), text).unwrap();
    };
    let sources = || app.strings("SELECT name || '|' || active FROM sources ORDER BY id");
    app.poll().await;
    assert_eq!(sources(), ["甲|1", "乙|1"]);

    // B leaves the config and A is renamed: B is kept, inactive, with its
    // article, and not asked for again.
    configure(&[a("甲报")]);
    app.poll().await;
    assert_eq!(sources(), ["甲报|1", "乙|0"]);
    assert_eq!(app.count("SELECT count(*) FROM articles"), 2);
    assert_eq!(server.hits("/b.xml"), 1);

    // Back in the config, B is active again.
    configure(&[a("甲报"), b()]);
    app.poll().await;
    assert_eq!(sources(), ["甲报|1", "乙|1"]);
}

#[tokio::test]
async fn a_storm_of_server_errors_backs_off_and_spares_the_other_sources() {
    let server = FeedServer::start().await;
    let stormy: Vec<String> = (0..12).map(|i| format!("/storm{i}.xml")).collect();
    for (i, path) in stormy.iter().enumerate() {
        server.set(path, Reply::status([500, 502, 503, 504][i % 4], "down"));
    }
    server.set("/calm.xml", one_story(0));
    let mut intervals: Vec<(&str, &str)> = stormy.iter().map(|p| (p.as_str(), "1s")).collect();
    intervals.push(("/calm.xml", "1s"));
    let (app, listen) = listening("", &sources_with_interval(&server, &intervals));
    let daemon = Daemon::start(&app, &listen).await;

    eventually(
        20,
        "every stormy source failing three times in a row",
        || app.count("SELECT count(*) FROM sources WHERE error_count >= 3") == 12,
    )
    .await;
    // The calm source keeps its 1 s rhythm; the stormy ones wait longer after
    // each failure, so they are asked far less often.
    let calm = server.hits("/calm.xml");
    for path in &stormy {
        let hits = server.hits(path);
        assert!(hits < calm, "{path}: {hits} attempts, the calm feed {calm}");
    }
    assert_eq!(app.count("SELECT count(*) FROM articles"), 1);
    let shown = app.strings("SELECT last_error FROM sources WHERE error_count > 0 ORDER BY id");
    for (error, status) in shown.iter().zip([500, 502, 503, 504].iter().cycle()) {
        assert!(error.contains(&format!("HTTP {status}")), "{shown:?}");
    }

    // The storm passes: every source recovers on its next attempt.
    for (i, path) in stormy.iter().enumerate() {
        server.set(path, one_story(i + 1));
    }
    eventually(60, "every source polled successfully", || {
        app.count("SELECT count(*) FROM sources WHERE error_count = 0") == 13
    })
    .await;
    assert_eq!(app.count("SELECT count(*) FROM articles"), 13);
    assert!(daemon.stop().await.success());
}

/// `/metrics` as a parser of Python's prometheus_client reads it:
/// {family: [[sample, labels, value]]}.
fn scrape(text: &str, parser: &str) -> serde_json::Value {
    let script = format!(
        r#"
import json, sys
from {parser} import text_string_to_metric_families
out = {{}}
for family in text_string_to_metric_families(sys.stdin.read()):
    out.setdefault(family.name, []).extend([s.name, s.labels, s.value] for s in family.samples)
print(json.dumps(out))
"#
    );
    let mut child = std::process::Command::new("python3")
        .args(["-c", &script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "prometheus_client (pip install prometheus-client) could not parse:\n{text}"
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The value of the sample `name` whose labels include `labels`.
fn sample(families: &serde_json::Value, family: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    families[family]
        .as_array()
        .unwrap_or_else(|| panic!("no family {family} in {families}"))
        .iter()
        .find(|s| s[0] == name && labels.iter().all(|(k, v)| s[1][*k].as_str() == Some(*v)))
        .and_then(|s| s[2].as_f64())
        .unwrap_or_else(|| panic!("no {name} {labels:?} in {family}: {}", families[family]))
}

#[tokio::test]
async fn metrics_move_with_polls_and_health_says_when_the_database_is_gone() {
    let server = FeedServer::start().await;
    server.set("/ok.xml", one_story(1).without_etag());
    server.set("/broken.xml", Reply::status(503, "down"));
    server.set("/failing.xml", Reply::status(500, "oops"));
    // The same story twice in one feed: stored once, one entry dropped.
    let story = (
        "重复",
        "https://a.example/twice",
        "2022-01-26 15:54:00",
        "<p>x</p>",
    );
    server.set("/twice.xml", Reply::feed(rss("t", &[story, story])));
    let (app, listen) = listening(
        "",
        &sources_with_interval(
            &server,
            &[
                ("/ok.xml", "1s"),
                ("/broken.xml", "1h"),
                ("/failing.xml", "1h"),
                ("/twice.xml", "1h"),
            ],
        ),
    );
    let daemon = Daemon::start(&app, &listen).await;
    eventually(
        15,
        "two polls of the good source, one of each other",
        || server.hits("/ok.xml") >= 2 && app.count("SELECT count(*) FROM fetch_log") >= 5,
    )
    .await;
    let text = reqwest::get(daemon.url("/metrics")).await.unwrap();
    assert!(
        text.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let families = scrape(&text.text().await.unwrap(), "prometheus_client.parser");
    // What Prometheus asks for parses too, with the same families.
    let openmetrics = reqwest::Client::new()
        .get(daemon.url("/metrics"))
        .header("accept", "application/openmetrics-text;version=1.0.0")
        .send()
        .await
        .unwrap();
    assert!(
        openmetrics.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let open = scrape(
        &openmetrics.text().await.unwrap(),
        "prometheus_client.openmetrics.parser",
    );
    assert!(open.get("tidings_fetches").is_some(), "{open}");
    let ok = [("outcome", "ok")];
    let fetches = ("tidings_fetches", "tidings_fetches_total");
    assert!(sample(&families, fetches.0, fetches.1, &ok) >= 2.0);
    let failed = [("outcome", "rate_limited")];
    assert_eq!(sample(&families, fetches.0, fetches.1, &failed), 1.0);
    let server_error = [("outcome", "http_5xx")];
    assert_eq!(sample(&families, fetches.0, fetches.1, &server_error), 1.0);
    let dropped = ("tidings_entries_dropped", "tidings_entries_dropped_total");
    let duplicate = [("reason", "duplicate")];
    assert_eq!(sample(&families, dropped.0, dropped.1, &duplicate), 1.0);
    let histogram = "tidings_fetch_duration_seconds";
    assert!(
        sample(
            &families,
            histogram,
            "tidings_fetch_duration_seconds_count",
            &ok
        ) >= 2.0
    );
    let new = [("change", "new")];
    let articles = ("tidings_articles", "tidings_articles_total");
    assert_eq!(sample(&families, articles.0, articles.1, &new), 2.0);
    let good = server.url("/ok.xml");
    let bad = server.url("/broken.xml");
    let success = sample(
        &families,
        "tidings_source_last_success_timestamp_seconds",
        "tidings_source_last_success_timestamp_seconds",
        &[("url", &good), ("source", "甲")],
    );
    assert!(success > 1.6e9, "{success}");
    let failures = "tidings_source_consecutive_failures";
    assert_eq!(sample(&families, failures, failures, &[("url", &bad)]), 1.0);
    assert!(
        sample(
            &families,
            "tidings_database_size_bytes",
            "tidings_database_size_bytes",
            &[]
        ) > 0.0
    );
    for gauge in [
        "tidings_sources_due",
        "tidings_fetches_in_flight",
        "tidings_feeds_waiting_for_writer",
    ] {
        sample(&families, gauge, gauge, &[]);
    }
    let requests = ("tidings_http_requests", "tidings_http_requests_total");
    let health = [("route", "/health"), ("status", "200")];
    assert!(sample(&families, requests.0, requests.1, &health) >= 1.0);

    // A database that does not answer is not healthy: its file is overwritten in place.
    std::fs::write(app.database(), vec![b'x'; 1 << 16]).unwrap();
    let _ = std::fs::remove_file(app.dir.path().join("tidings.db-wal"));
    let mut statuses = Vec::new();
    for _ in 0..20 {
        let status = reqwest::get(daemon.url("/health")).await.unwrap().status();
        statuses.push(status.as_u16());
        if status == 503 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(statuses.last(), Some(&503), "{statuses:?}");
    daemon.stop().await;
}

/// A feed of `count` entries, one every `minutes`, the newest `age_days` old.
fn publishing(count: i64, minutes: i64, age_days: i64) -> Reply {
    let now = chrono::Utc::now();
    let items: Vec<_> = (0..count)
        .map(|i| {
            let date =
                now - chrono::Duration::days(age_days) - chrono::Duration::minutes(i * minutes);
            (
                format!("第{i}条"),
                format!("https://a.example/{age_days}/{i}"),
                date.to_rfc2822(),
                "<p>正文</p>",
            )
        })
        .collect();
    Reply::feed(rss("t", &items))
}

#[tokio::test]
async fn auto_intervals_follow_how_often_a_feed_publishes() {
    let server = FeedServer::start().await;
    server.set("/busy.xml", publishing(300, 2, 0));
    server.set("/silent.xml", publishing(20, 60, 40));
    let app = Instance::new(
        "[poll]\ninterval = \"auto\"\nmin_interval = \"5m\"\nmax_interval = \"1d\"",
        &[
            Source::new("忙", server.url("/busy.xml"), "金融", "快讯"),
            Source::new("静", server.url("/silent.xml"), "金融", "要闻"),
        ],
    );
    app.poll().await;
    let intervals = app.strings(
        "SELECT interval_seconds || ' ' || interval_reason FROM sources ORDER BY name = '静'",
    );
    // A week over 300 entries is 33.6 minutes; silent for a month, the maximum.
    assert_eq!(
        intervals,
        [
            "2016 auto, from 300 entries in the last week",
            "86400 auto, from 0 entries in the last week"
        ]
    );
    let due = app.strings("SELECT next_due FROM sources ORDER BY name = '静'");
    assert!(due[0] < due[1], "{due:?}");
    let listing = app.run(&["sources"]).await;
    let listing = String::from_utf8_lossy(&listing.stdout);
    assert!(
        listing.contains("interval: every 33m 36s (auto, from 300 entries in the last week)"),
        "{listing}"
    );
    // A 304, and a poll that fails, keep the reading instead of forgetting it.
    server.forget();
    app.poll().await;
    server.set("/busy.xml", Reply::status(500, "down"));
    app.poll().await;
    assert_eq!(
        app.strings(
            "SELECT interval_seconds || ' ' || interval_reason FROM sources WHERE name = '忙'"
        ),
        ["2016 backing off after 1 failures in a row"]
    );
    server.set("/busy.xml", publishing(300, 2, 0));
    app.poll().await;
    assert_eq!(
        app.strings("SELECT CAST(interval_seconds AS TEXT) FROM sources ORDER BY name = '静'"),
        ["2016", "86400"]
    );
}

#[tokio::test]
async fn the_search_index_is_merged_while_the_daemon_is_idle() {
    // 600 new articles are written 128 to a statement, each statement a
    // segment of the index; a one-shot poll merges none of them, the daemon
    // does once it has nothing else to do (here: its one source is not due).
    let server = FeedServer::start().await;
    let items: Vec<_> = (0..600)
        .map(|n| {
            (
                format!("第{n}条快讯"),
                format!("https://a.example/n/{n}"),
                "2022-01-26 15:54:00",
                "<p>正文</p>",
            )
        })
        .collect();
    server.set("/many.xml", Reply::feed(rss("t", &items)));
    let sources = sources_with_interval(&server, &[("/many.xml", "1h")]);
    let (app, listen) = listening("", &sources);
    let segments = "SELECT count(DISTINCT segid) FROM articles_fts_idx";
    app.poll().await;
    let written = app.count(segments);
    assert!(written >= 4, "{written} segments");

    let daemon = Daemon::start(&app, &listen).await;
    eventually(15, "the index merged", || app.count(segments) < written).await;
    daemon.stop().await;
    let found = app.run(&["search", "第599条"]).await;
    assert!(String::from_utf8_lossy(&found.stdout).contains("第599条快讯"));
    assert_eq!(
        app.count("SELECT count(*) FROM articles_fts WHERE articles_fts MATCH '条快讯'"),
        600
    );
}

/// The daemon numbers the articles it stores; another process storing
/// articles in the same database meanwhile (a `tidings poll` of another
/// config) must not leave it numbering one of theirs.
#[tokio::test]
async fn articles_another_process_stores_meanwhile_take_no_number_the_daemon_gives() {
    let server = FeedServer::start().await;
    server.set("/a.xml", one_story(1).without_etag());
    server.set("/b.xml", one_story(2));
    let (app, listen) = listening("", &sources_with_interval(&server, &[("/a.xml", "1s")]));
    let daemon = Daemon::start(&app, &listen).await;
    eventually(10, "the daemon's first poll", || server.hits("/a.xml") >= 1).await;
    eventually(10, "its story stored", || {
        app.count("SELECT count(*) FROM articles") == 1
    })
    .await;

    let other = Instance::raw(&format!(
        "[storage]\ndatabase = \"{}\"\n\n[[sources]]\nname = \"乙\"\nurl = \"{}\"\ncategory = \"金融\"\n",
        app.database().display(),
        server.url("/b.xml")
    ));
    other.poll().await;
    assert_eq!(app.count("SELECT count(*) FROM articles"), 2);

    server.set(
        "/a.xml",
        Reply::feed(rss(
            "t",
            &[
                (
                    "标题",
                    "https://a.example/1",
                    "2022-01-26 15:54:00",
                    "<p>正文</p>",
                ),
                (
                    "快讯",
                    "https://a.example/3",
                    "2022-01-27 09:00:00",
                    "<p>两市收涨</p>",
                ),
            ],
        ))
        .without_etag(),
    );
    eventually(15, "the daemon's next story stored", || {
        app.count("SELECT count(*) FROM articles") == 3
    })
    .await;
    assert!(daemon.stop().await.success());
}
