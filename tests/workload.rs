//! The benchmark workload as a correctness check: 200 feeds of Chinese finance
//! news (RSS, Atom, GB18030) with stories repeated across feeds, written by
//! `tidings workload` with its ground truth in `truth.json`.

mod common;

use common::*;

fn assert_matches_truth(app: &Instance, truth: &serde_json::Value) {
    assert_eq!(
        app.count("SELECT count(*) FROM articles") as u64,
        truth["unique_articles"].as_u64().unwrap()
    );
    let db = app.db();
    let of_channel = |sql: &str, channel: &str| {
        db.query_row(sql, [channel], |r| r.get::<_, i64>(0))
            .unwrap()
    };
    for (channel, expected) in truth["per_channel"].as_object().unwrap() {
        let stored = of_channel(
            "SELECT count(*) FROM article_categories WHERE category = ?1",
            channel,
        );
        assert_eq!(
            stored as u64,
            expected.as_u64().unwrap(),
            "channel {channel}"
        );
        // The count the news page shows, kept as articles arrive.
        let shown = of_channel(
            "SELECT articles FROM label_counts WHERE category = ?1",
            channel,
        );
        assert_eq!(shown, stored, "label_counts of {channel}");
    }
    assert_eq!(
        app.count(
            "SELECT count(*) FROM label_counts l
              WHERE articles != (SELECT count(*) FROM article_categories c WHERE c.category = l.category)"
        ),
        0,
        "every label counted as stored"
    );
}

#[tokio::test]
async fn the_workload_matches_its_ground_truth_across_polls() {
    let server = FeedServer::start().await;
    let work = tempfile::tempdir().unwrap();
    let base = format!("http://{}", server.addr);
    let truth = workload(work.path(), 200, &base, None);
    server.serve_dir(work.path());

    let app = Instance::new("[poll]\nper_host = 8", &[]);
    let sources = std::fs::read_to_string(work.path().join("sources.toml")).unwrap();
    let config = std::fs::read_to_string(app.config()).unwrap() + &sources;
    std::fs::write(app.config(), config).unwrap();

    let summary = app.poll().await;
    assert!(
        summary.contains("200 ok") && summary.contains("0 failed"),
        "{summary}"
    );
    assert_matches_truth(&app, &truth);
    let unique = |truth: &serde_json::Value| truth["unique_articles"].as_u64().unwrap();
    assert_eq!(article_counts(&summary).0, unique(&truth), "{summary}");

    server.forget();
    let summary = app.poll().await;
    assert_eq!(article_counts(&summary), (0, 0, 0), "{summary}");
    assert!(server.seen().iter().all(|s| s.status == 304));
    assert_eq!(server.seen().len(), 200);

    let before = unique(&truth);
    let truth = workload(work.path(), 200, &base, Some("0.1"));
    let summary = app.poll().await;
    let (new, updated, _) = article_counts(&summary);
    assert!(unique(&truth) > before);
    assert_eq!(new, unique(&truth) - before, "{summary}");
    assert_eq!(updated, 0, "{summary}");
    assert_matches_truth(&app, &truth);
}
