//! Faults of the machine and of the neighbours: a kill -9 in the middle of a
//! large poll, two tidings processes on one database, a burst of readers.

mod common;

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use common::*;
use futures::StreamExt;
use tokio::io::AsyncWriteExt;

/// The workload's feeds, each served with a delay so a poll takes a while.
async fn slow_workload(
    server: &FeedServer,
    delay: Duration,
) -> (tempfile::TempDir, serde_json::Value) {
    let work = tempfile::tempdir().unwrap();
    let truth = workload(work.path(), 200, &format!("http://{}", server.addr), None);
    for entry in std::fs::read_dir(work.path().join("feeds")).unwrap() {
        let path = entry.unwrap().path();
        let name = format!("/feeds/{}", path.file_name().unwrap().to_str().unwrap());
        server.set(
            &name,
            Reply::feed(std::fs::read(&path).unwrap()).delayed(delay),
        );
    }
    (work, truth)
}

fn instance_for(work: &Path) -> Instance {
    let sources = std::fs::read_to_string(work.join("sources.toml")).unwrap();
    Instance::raw(&format!(
        "[storage]\ndatabase = \"tidings.db\"\n[poll]\nper_host = 4\n\n{sources}"
    ))
}

#[tokio::test]
async fn kill_9_mid_poll_loses_nothing_committed_and_the_next_poll_completes() {
    let server = FeedServer::start().await;
    let (work, truth) = slow_workload(&server, Duration::from_millis(50)).await;
    let app = instance_for(work.path());
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_tidings"))
        .args(["poll", "--config"])
        .arg(app.config())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let polled = "SELECT count(*) FROM fetch_log";
    eventually(30, "some polls committed", || {
        app.count_once_created(polled).is_some_and(|n| n >= 20)
    })
    .await;
    // What was committed, read from a second connection while the poller
    // still runs; then the kill.
    let rows = |sql| -> HashSet<String> { app.strings(sql).into_iter().collect() };
    let articles = "SELECT key || ' ' || title || ' ' || content_hash FROM articles";
    let polls = "SELECT id || ' ' || source_id || ' ' || started_at || ' ' || outcome || ' ' \
                 || new_articles || ' ' || unchanged_articles FROM fetch_log";
    let committed_articles = rows(articles);
    let committed_polls = rows(polls);
    child.start_kill().unwrap(); // SIGKILL
    child.wait().await.unwrap();
    assert!(committed_polls.len() >= 20, "{}", committed_polls.len());
    assert!(!committed_articles.is_empty());

    assert_eq!(app.strings("PRAGMA integrity_check"), ["ok"]);
    assert!(app.count(polled) < 200, "the poll finished before the kill");
    let survived = |what: &HashSet<String>, sql, stage| {
        let now = rows(sql);
        let lost: Vec<&String> = what.difference(&now).collect();
        assert!(lost.is_empty(), "committed, gone {stage}: {lost:?}");
    };
    survived(&committed_articles, articles, "after the kill");
    survived(&committed_polls, polls, "after the kill");

    app.poll().await;
    survived(&committed_polls, polls, "after the next poll");
    let after = rows("SELECT key FROM articles");
    let committed_keys = committed_articles
        .iter()
        .map(|row| row.split(' ').next().unwrap().to_string());
    for key in committed_keys {
        assert!(after.contains(&key), "{key} gone after the next poll");
    }
    assert_eq!(
        after.len() as u64,
        truth["unique_articles"].as_u64().unwrap()
    );
    assert_eq!(
        app.count("SELECT count(*) FROM article_sources"),
        200 * 20,
        "an entry stored twice or lost"
    );
    assert_eq!(app.strings("PRAGMA integrity_check"), ["ok"]);
}

#[tokio::test]
async fn two_processes_on_one_database_both_work_correctly() {
    let server = FeedServer::start().await;
    let (work, truth) = slow_workload(&server, Duration::from_millis(5)).await;
    let app = instance_for(work.path());
    let (first, second) = tokio::join!(app.run(&["poll"]), app.run(&["poll"]));
    for out in [&first, &second] {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(
        app.count("SELECT count(*) FROM articles") as u64,
        truth["unique_articles"].as_u64().unwrap()
    );
    assert_eq!(app.count("SELECT count(*) FROM article_sources"), 200 * 20);
    assert_eq!(app.strings("PRAGMA integrity_check"), ["ok"]);
}

#[tokio::test]
async fn the_server_survives_bursts_slow_clients_huge_headers_and_unknown_paths() {
    let server = FeedServer::start().await;
    server.set(
        "/f.xml",
        Reply::feed(rss(
            "t",
            &[(
                "一",
                "https://a.example/1",
                "2022-01-26 15:54:00",
                "<p>一</p>",
            )],
        )),
    );
    let listen = free_address();
    let mut source = Source::new("甲", server.url("/f.xml"), "金融", "要闻");
    source.extra = "interval = \"1s\"\n";
    let app = Instance::new(&format!("[server]\nlisten = \"{listen}\""), &[source]);
    // The test needs a descriptor a client, beyond the usual 1,024; the daemon
    // starts with that usual soft limit, as under systemd, and must raise it.
    let hard = raise_open_files_limit();
    assert!(
        hard >= 2_200,
        "this machine allows {hard} open files, fewer than the test needs"
    );
    let mut command = Daemon::command(&app, "run");
    // SAFETY: the closure runs in the child between fork and exec, and only
    // calls setrlimit, which is async-signal-safe.
    unsafe {
        command.pre_exec(move || {
            let limit = libc::rlimit {
                rlim_cur: 1024,
                rlim_max: hard,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    let daemon = Daemon::spawned(command, &listen);
    daemon.answering(&app).await;
    eventually(10, "the source polled", || {
        app.count("SELECT count(*) FROM articles") == 1
    })
    .await;

    let client = reqwest::Client::new();
    let url = daemon.url("/feeds/all.atom");
    let statuses: Vec<u16> = futures::stream::iter(0..10_000)
        .map(|_| {
            let (client, url) = (client.clone(), url.clone());
            async move {
                client
                    .get(url)
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
                    .unwrap_or(0)
            }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 10_000);

    // Answered or refused, but promptly, and the server goes on.
    for size in [200_000, 2_000_000] {
        let huge = client
            .get(daemon.url("/feeds/"))
            .header("X-Junk", "x".repeat(size))
            .send();
        assert!(
            tokio::time::timeout(Duration::from_secs(10), huge)
                .await
                .is_ok(),
            "{size}"
        );
    }
    for path in [
        "/../../etc/passwd",
        "/feeds/%2e%2e%2fetc%2fpasswd.atom",
        "/feeds/x.rss",
        "/admin",
    ] {
        assert_eq!(
            client.get(daemon.url(path)).send().await.unwrap().status(),
            404,
            "{path}"
        );
    }
    assert_eq!(
        client
            .get(daemon.url("/health"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // Two thousand slow clients, each stopping halfway through its request:
    // the server still answers others, and polling goes on.
    let polls_before = app.count("SELECT count(*) FROM fetch_log");
    let mut slow = Vec::new();
    for _ in 0..2_000 {
        let mut stream = tokio::net::TcpStream::connect(&listen).await.unwrap();
        stream
            .write_all(b"GET /feeds/all.atom HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        slow.push(stream);
    }
    let answer = tokio::time::timeout(
        Duration::from_secs(10),
        client.get(daemon.url("/feeds/all.atom")).send(),
    )
    .await
    .expect("answered while slow clients wait")
    .unwrap();
    assert_eq!(answer.status(), 200);
    eventually(10, "a poll while slow clients wait", || {
        app.count("SELECT count(*) FROM fetch_log") > polls_before
    })
    .await;
    drop(slow);
    assert!(daemon.stop().await.success());
}

/// Raises this process's soft limit on open files to its hard limit, and
/// returns that.
fn raise_open_files_limit() -> libc::rlim_t {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: both calls read and write only `limit`.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        limit.rlim_cur = limit.rlim_max;
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
    }
    limit.rlim_max
}

/// A feed of `n` stories, numbered from 1, each with a paragraph of text.
fn numbered_feed(n: usize) -> Reply {
    let text = "证券时报讯，".repeat(200);
    let items: Vec<_> = (1..=n)
        .map(|i| {
            (
                format!("第{i}条"),
                format!("https://a.example/n/{i}"),
                "2022-01-26 15:54:00",
                format!("<p>{text}{i}</p>"),
            )
        })
        .collect();
    Reply::feed(rss("编号", &items))
}

/// Runs `program` (tidings, or a command that runs tidings) with `args` and
/// this instance's config.
async fn run_as(program: &[&str], app: &Instance, args: &[&str]) -> std::process::Output {
    tokio::process::Command::new(program[0])
        .args(&program[1..])
        .args(args)
        .arg("--config")
        .arg(app.config())
        .env("RUST_LOG", "tidings=warn")
        .output()
        .await
        .unwrap()
}

/// A source serving three stories, polled once into a new instance whose
/// `[storage]` table also has `storage` in it.
async fn three_stories_stored(storage: &str) -> (FeedServer, Instance) {
    let server = FeedServer::start().await;
    server.set("/n.xml", numbered_feed(3));
    let app = Instance::raw(&format!(
        "[storage]\ndatabase = \"tidings.db\"\n{storage}\n\n\
         [[sources]]\nname = \"编号\"\nurl = \"{}\"\ncategory = \"金融\"\n",
        server.url("/n.xml")
    ));
    app.poll().await;
    (server, app)
}

/// What a database fault must leave: a sound file with every story stored once.
fn assert_sound(app: &Instance, stories: i64) {
    assert_eq!(app.strings("PRAGMA integrity_check"), ["ok"]);
    assert_eq!(app.count("SELECT count(*) FROM articles"), stories);
    assert_eq!(
        app.count("SELECT count(DISTINCT key) FROM articles"),
        stories
    );
}

#[tokio::test]
async fn a_read_only_database_is_a_clear_error_and_nothing_is_lost() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let (server, app) = three_stories_stored("").await;

    // Root writes any file whatever its mode, so as root the poll runs as
    // nobody, from a copy of the binary that nobody may run.
    let as_root = std::fs::metadata(app.dir.path()).unwrap().uid() == 0;
    let binary = app.dir.path().join("tidings");
    std::fs::copy(env!("CARGO_BIN_EXE_tidings"), &binary).unwrap();
    let binary = binary.to_str().unwrap();
    let nobody = [
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--",
        binary,
    ];
    let program: &[&str] = if as_root { &nobody } else { &[binary] };
    let mode = |path: &Path, mode| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap()
    };
    mode(app.dir.path(), 0o555);
    mode(&app.database(), 0o444);
    server.set("/n.xml", numbered_feed(5));
    let out = run_as(program, &app, &["poll"]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert_eq!(
        stderr.trim_end(),
        format!(
            "tidings: cannot open database {}: attempt to write a readonly database",
            app.database().display()
        )
    );
    assert_sound(&app, 3);

    // Writable again: the next poll brings the database up to date.
    mode(app.dir.path(), 0o755);
    mode(&app.database(), 0o644);
    app.poll().await;
    assert_sound(&app, 5);
}

#[tokio::test]
async fn a_database_locked_by_another_process_is_a_clear_error_until_it_is_released() {
    let (server, app) = three_stories_stored("busy_timeout = \"300ms\"").await;
    server.set("/n.xml", numbered_feed(5));

    let holder = app.db();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let out = app.run(&["poll"]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert_eq!(
        stderr.lines().last(),
        Some("tidings: database error: database is locked"),
        "{stderr}"
    );
    // Readers are never locked out, and see the last committed state.
    assert_eq!(app.count("SELECT count(*) FROM articles"), 3);
    let search = app.run(&["search", "第2条"]).await;
    assert!(
        String::from_utf8_lossy(&search.stdout).contains("https://a.example/n/2"),
        "{}",
        String::from_utf8_lossy(&search.stderr)
    );
    holder.execute_batch("ROLLBACK").unwrap();
    drop(holder);

    app.poll().await;
    assert_sound(&app, 5);
}

#[tokio::test]
async fn a_full_disk_fails_the_write_and_the_next_poll_completes_it() {
    let (server, app) = three_stories_stored("").await;
    server.set("/n.xml", numbered_feed(400));

    // No file may grow past 64 KiB beyond the database's size now: the disk is
    // full for this process. SIGXFSZ is ignored, so writes fail with EFBIG.
    let limit = std::fs::metadata(app.database()).unwrap().len() + 65536;
    let fsize = format!("--fsize={limit}");
    let program = [
        "sh",
        "-c",
        "trap '' XFSZ; exec prlimit \"$0\" -- \"$@\"",
        &fsize,
        env!("CARGO_BIN_EXE_tidings"),
    ];
    let out = run_as(&program, &app, &["poll"]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    let said = stderr.lines().last().unwrap_or_default();
    assert!(
        said == "tidings: database error: disk I/O error"
            || said == "tidings: database error: database or disk is full",
        "{stderr}"
    );
    assert_sound(&app, 3);

    // Space again: the same poll stores everything, once.
    app.poll().await;
    assert_sound(&app, 400);
    assert_eq!(app.count("SELECT count(*) FROM article_sources"), 400);
}
