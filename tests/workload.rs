//! The shared benchmark workload as a correctness check: 200 feeds of Chinese
//! finance news (RSS, Atom, GB18030) with stories repeated across feeds, and the
//! generator's ground truth in `truth.json`.

mod common;

use std::path::{Path, PathBuf};

use common::*;

fn shared_bench() -> PathBuf {
    let dir = std::env::var_os("TIDINGS_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"))
        .join("bench");
    assert!(
        dir.join("feedgen.py").exists(),
        "the shared workload is missing at {} (set TIDINGS_SHARED)",
        dir.display()
    );
    dir
}

async fn feedgen(out: &Path, base: &str, update: Option<&str>) -> serde_json::Value {
    let mut command = tokio::process::Command::new("python3");
    command
        .arg(shared_bench().join("feedgen.py"))
        .arg(out)
        .args(["--feeds", "200", "--entries", "20", "--base", base]);
    if let Some(fraction) = update {
        command.args(["--update", fraction]);
    }
    let status = command.status().await.expect("python3 runs feedgen.py");
    assert!(status.success());
    serde_json::from_slice(&std::fs::read(out.join("truth.json")).unwrap()).unwrap()
}

fn assert_matches_truth(app: &Instance, truth: &serde_json::Value) {
    assert_eq!(
        app.count("SELECT count(*) FROM articles") as u64,
        truth["unique_articles"].as_u64().unwrap()
    );
    for (channel, expected) in truth["per_channel"].as_object().unwrap() {
        let stored = app
            .db()
            .query_row(
                "SELECT count(*) FROM article_categories WHERE category = ?1",
                [channel],
                |r| r.get::<_, i64>(0),
            )
            .unwrap();
        assert_eq!(
            stored as u64,
            expected.as_u64().unwrap(),
            "channel {channel}"
        );
    }
}

#[tokio::test]
async fn the_shared_workload_matches_its_ground_truth_across_polls() {
    let server = FeedServer::start().await;
    let work = tempfile::tempdir().unwrap();
    let base = format!("http://{}", server.addr);
    let truth = feedgen(work.path(), &base, None).await;
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

    server.forget();
    let summary = app.poll().await;
    assert_eq!(article_counts(&summary), (0, 0, 0), "{summary}");
    assert!(server.seen().iter().all(|s| s.status == 304));
    assert_eq!(server.seen().len(), 200);

    let truth = feedgen(work.path(), &base, Some("0.1")).await;
    let summary = app.poll().await;
    let (new, updated, _) = article_counts(&summary);
    assert!(new > 0, "{summary}");
    assert_eq!(updated, 0, "{summary}");
    assert_matches_truth(&app, &truth);
}
