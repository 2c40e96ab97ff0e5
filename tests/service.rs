//! `tidings run` and `tidings serve` under their service manager: signals at
//! any moment of their lives, readiness notifications, reloads by signal and
//! by saving the config, and a stop that lets a poll in flight finish.

mod common;

use std::time::{Duration, Instant};

use common::*;

/// The signal masks of a process, from `/proc/PID/status`: (blocked, caught).
fn masks(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let mask = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
    };
    Some((mask("SigBlk:")?, mask("SigCgt:")?))
}

fn bit(signal: libc::c_int) -> u64 {
    1 << (signal - 1)
}

/// Waits, spinning, for the first moment the process runs code of its own
/// (SIGHUP held, or handled), and says whether SIGHUP had a handler then.
/// Held means blocked on purpose: not in the instant a thread is created,
/// when every signal is blocked, SIGUSR1 too.
fn first_moment_of_its_own(daemon: &Daemon) -> bool {
    let started = Instant::now();
    let hup = bit(libc::SIGHUP);
    loop {
        match masks(daemon.pid()) {
            Some((_, caught)) if caught & hup != 0 => return true,
            Some((blocked, _)) if blocked & hup != 0 && blocked & bit(libc::SIGUSR1) == 0 => {
                return false;
            }
            _ => assert!(
                started.elapsed() < Duration::from_secs(10),
                "the daemon never held nor handled SIGHUP"
            ),
        }
        std::thread::sleep(Duration::from_micros(100));
    }
}

#[tokio::test]
async fn sighup_while_starting_is_a_reload_once_started_never_death() {
    let server = FeedServer::start().await;
    server.set("/a.xml", one_story(1));
    for (command, heard) in [("run", "reloaded (SIGHUP)"), ("serve", "SIGHUP: ")] {
        let (app, listen) = listening("", &sources_with_interval(&server, &[("/a.xml", "1h")]));
        let mut daemon = Daemon::spawn(&app, &listen, command, &[]);
        let handled = first_moment_of_its_own(&daemon);
        daemon.signal("HUP");
        assert!(
            !handled,
            "{command}: SIGHUP was handled before the test could send it during start-up"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(
            daemon.child.try_wait().unwrap().is_none(),
            "{command} died of a SIGHUP at start-up: {}",
            std::fs::read_to_string(app.log()).unwrap()
        );
        daemon.answering(&app).await;
        eventually(10, "the SIGHUP taken once started", || {
            std::fs::read_to_string(app.log()).unwrap().contains(heard)
        })
        .await;
        assert!(daemon.stop().await.success(), "{command}");
    }
}

/// Replaces `from` with `to` in the config, keeping its modification time.
fn edit_keeping_time(app: &Instance, from: &str, to: &str) {
    let path = app.config();
    let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from));
    std::fs::write(&path, text.replace(from, to)).unwrap();
    let file = std::fs::File::options().write(true).open(&path).unwrap();
    file.set_modified(modified).unwrap();
    assert_eq!(
        std::fs::metadata(&path).unwrap().modified().unwrap(),
        modified
    );
}

/// A daemon that has polled its one source, `/a.xml`, with `/b.xml` served
/// but not in its config yet: what a reload adds.
async fn polling_a_with_b_ready() -> (FeedServer, Instance, Daemon) {
    let server = FeedServer::start().await;
    server.set("/a.xml", one_story(1));
    server.set("/b.xml", one_story(2));
    let (app, listen) = listening("", &sources_with_interval(&server, &[("/a.xml", "1h")]));
    let daemon = Daemon::start(&app, &listen).await;
    eventually(10, "the first source polled", || server.hits("/a.xml") == 1).await;
    (server, app, daemon)
}

#[tokio::test]
async fn sighup_reloads_a_config_whose_time_says_it_did_not_change() {
    let (server, app, daemon) = polling_a_with_b_ready().await;
    // Only the signal can explain a reload: the file's time is as it was.
    edit_keeping_time(&app, "/a.xml", "/b.xml");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(server.hits("/b.xml"), 0, "reloaded without a signal");
    daemon.signal("HUP");
    eventually(10, "the new source polled", || server.hits("/b.xml") == 1).await;
    assert_eq!(server.hits("/a.xml"), 1);
    assert!(daemon.stop().await.success());
}

#[tokio::test]
async fn saving_the_config_reloads_the_sources() {
    let (server, app, daemon) = polling_a_with_b_ready().await;
    let mut config = std::fs::read_to_string(app.config()).unwrap();
    config += &format!(
        "\n[[sources]]\nname = \"乙\"\nurl = \"{}\"\ncategory = \"金融\"\n",
        server.url("/b.xml")
    );
    std::fs::write(app.config(), config).unwrap();
    eventually(10, "the saved source polled", || server.hits("/b.xml") == 1).await;
    assert_eq!(server.hits("/a.xml"), 1);
    assert!(
        std::fs::read_to_string(app.log())
            .unwrap()
            .contains("reloaded (the config file changed): 2 sources")
    );
    assert!(daemon.stop().await.success());
}

#[tokio::test]
async fn sigterm_mid_body_lets_the_poll_finish_and_commit() {
    let server = FeedServer::start().await;
    let items: Vec<_> = (0..20)
        .map(|n| {
            (
                format!("第{n}条"),
                format!("https://a.example/t/{n}"),
                "2022-01-26 15:54:00",
                "<p>正文</p>",
            )
        })
        .collect();
    let pause = Duration::from_secs(2);
    server.set(
        "/slow.xml",
        Reply::feed(rss("t", &items)).paused_mid_body(pause),
    );
    let (app, listen) = listening("", &sources_with_interval(&server, &[("/slow.xml", "1h")]));
    let daemon = Daemon::start(&app, &listen).await;
    eventually(10, "the body on its way", || server.hits("/slow.xml") == 1).await;
    let asked = server.seen()[0].at;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let status = daemon.stop().await;
    assert!(
        asked.elapsed() >= pause,
        "the daemon stopped before the body was whole"
    );
    assert!(status.success(), "{status:?}");
    assert_eq!(app.count("SELECT count(*) FROM articles"), 20);
    assert_eq!(
        app.strings("SELECT outcome || ' ' || new_articles FROM fetch_log"),
        ["ok 20"],
        "the poll was stored as it ended"
    );
    assert_eq!(server.hits("/slow.xml"), 1);
}

#[tokio::test]
async fn the_service_manager_hears_ready_reloading_and_stopping() {
    let server = FeedServer::start().await;
    server.set("/a.xml", one_story(1));
    let (app, listen) = listening("", &sources_with_interval(&server, &[("/a.xml", "1h")]));
    let socket_path = app.dir.path().join("notify.sock");
    let socket = tokio::net::UnixDatagram::bind(&socket_path).unwrap();
    let heard = || async {
        let mut buffer = [0u8; 512];
        let read = tokio::time::timeout(Duration::from_secs(15), socket.recv(&mut buffer))
            .await
            .expect("a notification within 15 s")
            .unwrap();
        String::from_utf8_lossy(&buffer[..read]).into_owned()
    };
    let daemon = Daemon::spawn(
        &app,
        &listen,
        "run",
        &[("NOTIFY_SOCKET", socket_path.to_str().unwrap())],
    );
    assert_eq!(heard().await, "READY=1\n");
    // Ready means serving: the feeds answer at once.
    let health = reqwest::get(daemon.url("/health")).await.unwrap();
    assert!(health.status().is_success());

    daemon.signal("HUP");
    let reloading = heard().await;
    assert!(
        reloading.starts_with("RELOADING=1\nMONOTONIC_USEC="),
        "{reloading}"
    );
    assert_eq!(heard().await, "READY=1\n");

    daemon.signal("TERM");
    assert_eq!(heard().await, "STOPPING=1\n");
    assert!(daemon.exited().await.success());
}
