//! What the integration tests share: a real HTTP server on 127.0.0.1 that
//! serves feeds the way real sites do (ETag, 304, charsets, failures), a
//! config writer, the `tidings` binary, and a rusqlite view of its database.
#![allow(dead_code)] // each test file uses its own part of this module

use std::collections::HashMap;
use std::fmt::Display;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, Request, Response, StatusCode, header};
use futures::StreamExt;

pub mod postgres;

/// One canned answer of the test server.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
    pub content_type: String,
    /// Answer conditional requests with 304 when they match this ETag.
    pub etag: Option<String>,
    pub headers: Vec<(String, String)>,
    /// How long the server takes to answer.
    pub delay: Duration,
    /// A request header the server insists on (an API that answers only
    /// `X-Requested-With: XMLHttpRequest`): without it, 403.
    pub only_with: Option<(String, String)>,
    /// Sent as `Last-Modified`; a request whose `If-Modified-Since` is this
    /// date gets 304.
    pub last_modified: Option<String>,
    /// The body is sent in two halves with this pause between them.
    pub pause_mid_body: Option<Duration>,
}

impl Reply {
    /// A feed with an ETag derived from its bytes, as nginx would send it.
    pub fn feed(body: impl Into<Vec<u8>>) -> Reply {
        let body = body.into();
        Reply {
            status: 200,
            etag: Some(format!("\"{}\"", blake3::hash(&body).to_hex())),
            body,
            content_type: "application/rss+xml".into(),
            headers: Vec::new(),
            delay: Duration::ZERO,
            only_with: None,
            last_modified: None,
            pause_mid_body: None,
        }
    }

    pub fn status(status: u16, body: &str) -> Reply {
        Reply {
            status,
            body: body.as_bytes().to_vec(),
            content_type: "text/html".into(),
            etag: None,
            headers: Vec::new(),
            delay: Duration::ZERO,
            only_with: None,
            last_modified: None,
            pause_mid_body: None,
        }
    }

    pub fn content_type(mut self, value: &str) -> Reply {
        self.content_type = value.into();
        self
    }

    pub fn without_etag(mut self) -> Reply {
        self.etag = None;
        self
    }

    pub fn delayed(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn body(mut self, body: Vec<u8>) -> Reply {
        self.body = body;
        self
    }

    /// Sends `Last-Modified: date` and answers `If-Modified-Since: date` with 304.
    pub fn modified_at(mut self, date: &str) -> Reply {
        self.last_modified = Some(date.into());
        self
    }

    /// Sends half the body, waits `pause`, then sends the rest.
    pub fn paused_mid_body(mut self, pause: Duration) -> Reply {
        self.pause_mid_body = Some(pause);
        self
    }

    /// Answers only requests that carry this header (else 403).
    pub fn only_with(mut self, name: &str, value: &str) -> Reply {
        self.only_with = Some((name.into(), value.into()));
        self
    }
}

/// What the server saw of one request.
#[derive(Clone, Debug)]
pub struct Seen {
    pub path: String,
    /// When the request arrived.
    pub at: std::time::Instant,
    pub if_none_match: Option<String>,
    pub if_modified_since: Option<String>,
    pub user_agent: Option<String>,
    pub status: u16,
}

/// A feed server on a free loopback port, living as long as the test's runtime.
#[derive(Clone)]
pub struct FeedServer {
    pub addr: SocketAddr,
    routes: Arc<Mutex<HashMap<String, Reply>>>,
    /// Files served from a folder, read on every request (for the workload).
    root: Arc<Mutex<Option<PathBuf>>>,
    log: Arc<Mutex<Vec<Seen>>>,
    in_flight: Arc<AtomicUsize>,
    most_in_flight: Arc<AtomicUsize>,
}

impl FeedServer {
    pub async fn start() -> FeedServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = FeedServer {
            addr: listener.local_addr().unwrap(),
            routes: Arc::default(),
            root: Arc::default(),
            log: Arc::default(),
            in_flight: Arc::default(),
            most_in_flight: Arc::default(),
        };
        server.serve(listener);
        server
    }

    /// Answers on another free port too, from the same routes and counts: a
    /// second host, as tidings counts hosts (host and port). Returns its
    /// base URL.
    pub async fn another_port(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        self.serve(listener);
        base
    }

    fn serve(&self, listener: tokio::net::TcpListener) {
        let handler_state = self.clone();
        let app = axum::Router::new().fallback(move |request: Request<Body>| {
            let state = handler_state.clone();
            async move { state.answer(request).await }
        });
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn set(&self, path: &str, reply: Reply) {
        self.routes.lock().unwrap().insert(path.to_string(), reply);
    }

    /// Serves `dir/feeds/NNNN.xml` at `/feeds/NNNN.xml`, re-reading files on each request.
    pub fn serve_dir(&self, dir: &Path) {
        *self.root.lock().unwrap() = Some(dir.to_path_buf());
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.log.lock().unwrap().clone()
    }

    /// Requests seen for one path.
    pub fn hits(&self, path: &str) -> usize {
        self.seen().iter().filter(|s| s.path == path).count()
    }

    /// The most requests the server was answering at one time.
    pub fn most_in_flight(&self) -> usize {
        self.most_in_flight.load(Ordering::SeqCst)
    }

    pub fn forget(&self) {
        self.log.lock().unwrap().clear();
    }

    fn reply_for(&self, path: &str) -> Option<Reply> {
        if let Some(reply) = self.routes.lock().unwrap().get(path) {
            return Some(reply.clone());
        }
        let root = self.root.lock().unwrap().clone()?;
        let file = root.join(path.trim_start_matches('/'));
        std::fs::read(file).ok().map(Reply::feed)
    }

    async fn answer(&self, request: Request<Body>) -> Response<Body> {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_in_flight.fetch_max(now, Ordering::SeqCst);
        let response = self.respond(request).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        response
    }

    async fn respond(&self, request: Request<Body>) -> Response<Body> {
        let at = std::time::Instant::now();
        let path = request.uri().path().to_string();
        let text = |headers: &HeaderMap, name| {
            headers
                .get(name)
                .and_then(|v: &header::HeaderValue| v.to_str().ok())
                .map(String::from)
        };
        let if_none_match = text(request.headers(), header::IF_NONE_MATCH);
        let if_modified_since = text(request.headers(), header::IF_MODIFIED_SINCE);
        let mut reply = self
            .reply_for(&path)
            .unwrap_or_else(|| Reply::status(404, "not found"));
        if let Some((name, value)) = &reply.only_with
            && request
                .headers()
                .get(name.as_str())
                .and_then(|v| v.to_str().ok())
                != Some(value.as_str())
        {
            reply = Reply::status(403, "forbidden");
        }
        tokio::time::sleep(reply.delay).await;
        let not_modified = (reply.etag.is_some() && reply.etag == if_none_match)
            || (reply.last_modified.is_some() && reply.last_modified == if_modified_since);
        let status = if not_modified { 304 } else { reply.status };
        self.log.lock().unwrap().push(Seen {
            path,
            at,
            if_none_match,
            if_modified_since,
            user_agent: text(request.headers(), header::USER_AGENT),
            status,
        });
        let mut response = Response::builder()
            .status(StatusCode::from_u16(status).unwrap())
            .header(header::CONTENT_TYPE, &reply.content_type);
        if let Some(etag) = &reply.etag {
            response = response.header(header::ETAG, etag);
        }
        if let Some(date) = &reply.last_modified {
            response = response.header(header::LAST_MODIFIED, date);
        }
        for (name, value) in &reply.headers {
            response = response.header(name.as_str(), value.as_str());
        }
        let body = if not_modified { Vec::new() } else { reply.body };
        let Some(pause) = reply.pause_mid_body else {
            return response.body(Body::from(body)).unwrap();
        };
        let second = body[body.len() / 2..].to_vec();
        let first = body[..body.len() / 2].to_vec();
        let halves = futures::stream::iter([Ok::<_, std::io::Error>(first)]).chain(
            futures::stream::once(async move {
                tokio::time::sleep(pause).await;
                Ok(second)
            }),
        );
        response
            .header(header::CONTENT_LENGTH, body.len())
            .body(Body::from_stream(halves))
            .unwrap()
    }
}

/// A source table of a test config.
pub struct Source<'a> {
    pub name: &'a str,
    pub url: String,
    pub category: &'a str,
    pub channel: Option<&'a str>,
    pub extra: &'a str,
}

impl<'a> Source<'a> {
    pub fn new(name: &'a str, url: String, category: &'a str, channel: &'a str) -> Self {
        Source {
            name,
            url,
            category,
            channel: Some(channel),
            extra: "",
        }
    }
}

/// A folder holding a config and its database.
pub struct Instance {
    pub dir: tempfile::TempDir,
}

impl Instance {
    /// Writes `config.toml`: the storage table, `settings` (more TOML tables:
    /// `[poll]`, `[server]`...), then the sources.
    pub fn new(settings: &str, sources: &[Source]) -> Instance {
        let mut text = format!("[storage]\ndatabase = \"tidings.db\"\n\n{settings}\n");
        for s in sources {
            text += &format!(
                "\n[[sources]]\nname = \"{}\"\nurl = \"{}\"\ncategory = \"{}\"\n",
                s.name, s.url, s.category
            );
            if let Some(channel) = s.channel {
                text += &format!("channel = \"{channel}\"\n");
            }
            text += s.extra;
            text += "\n";
        }
        Instance::raw(&text)
    }

    /// Writes `config.toml` as given.
    pub fn raw(text: &str) -> Instance {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.toml"), text).unwrap();
        Instance { dir }
    }

    pub fn config(&self) -> PathBuf {
        self.dir.path().join("config.toml")
    }

    pub fn database(&self) -> PathBuf {
        self.dir.path().join("tidings.db")
    }

    /// Where a daemon started by `Daemon` writes its log.
    pub fn log(&self) -> PathBuf {
        self.dir.path().join("daemon.log")
    }

    /// Runs `tidings ARGS --config <this config>` to completion.
    pub async fn run(&self, args: &[&str]) -> Output {
        tidings(args, &self.config()).await
    }

    /// Runs `tidings poll` and insists that it exits 0.
    pub async fn poll(&self) -> String {
        let out = self.run(&["poll"]).await;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "poll failed: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }

    /// Runs `tidings export hexo --out DIR ARGS`, insists that it succeeds, and
    /// returns its summary line.
    pub async fn export_hexo(&self, out: &Path, args: &[&str]) -> String {
        let mut full = vec!["export", "hexo", "--out", out.to_str().unwrap()];
        full.extend_from_slice(args);
        let run = self.run(&full).await;
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        String::from_utf8_lossy(&run.stdout).into_owned()
    }

    /// The database, opened as an outside user would.
    pub fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.database()).unwrap()
    }

    pub fn count(&self, sql: &str) -> i64 {
        self.db().query_row(sql, [], |r| r.get(0)).unwrap()
    }

    /// [`Instance::count`], or `None` while a process that was not waited for has
    /// not created the database or its tables yet: the file exists before
    /// the migrations have run. Opened without creating it.
    pub fn count_once_created(&self, sql: &str) -> Option<i64> {
        let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE;
        let db = rusqlite::Connection::open_with_flags(self.database(), flags).ok()?;
        match db.query_row(sql, [], |r| r.get(0)) {
            Ok(count) => Some(count),
            Err(rusqlite::Error::SqliteFailure(_, Some(message)))
                if message.starts_with("no such table") =>
            {
                None
            }
            Err(error) => panic!("{sql}: {error}"),
        }
    }

    pub fn strings(&self, sql: &str) -> Vec<String> {
        let db = self.db();
        let mut statement = db.prepare(sql).unwrap();
        statement
            .query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }
}

/// Runs the binary without blocking the runtime that serves its feeds.
pub async fn tidings(args: &[&str], config: &Path) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_tidings"))
        .args(args)
        .arg("--config")
        .arg(config)
        .env("RUST_LOG", "tidings=warn")
        .output()
        .await
        .unwrap()
}

/// `tidings parse FILE` as the 要闻 channel of 证券时报网 (category 金融)
/// reads it, with `config` as the (absent) config file.
pub async fn parse_as_stcn(file: &Path, config: &Path) -> Output {
    let args = [
        "parse",
        file.to_str().unwrap(),
        "--name",
        "证券时报网",
        "--category",
        "金融",
        "--channel",
        "要闻",
    ];
    tidings(&args, config).await
}

/// The `N new, N updated, N unchanged` line of a poll summary, as numbers.
pub fn article_counts(summary: &str) -> (u64, u64, u64) {
    let line = summary
        .lines()
        .find(|l| l.starts_with("articles:"))
        .unwrap_or_else(|| panic!("no articles line in {summary}"));
    let numbers: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    (numbers[0], numbers[1], numbers[2])
}

/// An RSS 2.0 feed of `(title, link, date, body)` items, each field a `&str`
/// or a `String` made for the test.
pub fn rss<T: Display, L: Display, D: Display, B: Display>(
    title: &str,
    items: &[(T, L, D, B)],
) -> String {
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel><title>{title}</title><link>https://news.stcn.com/</link>"
    );
    for (title, link, date, body) in items {
        out += &format!(
            "<item><title><![CDATA[{title}]]></title><link>{link}</link><pubDate>{date}</pubDate><description><![CDATA[{body}]]></description></item>"
        );
    }
    out + "</channel></rss>"
}

/// A feed of one story, number `n`.
pub fn one_story(n: usize) -> Reply {
    let link = format!("https://a.example/{n}");
    Reply::feed(rss(
        "t",
        &[("标题", link.as_str(), "2022-01-26 15:54:00", "<p>正文</p>")],
    ))
}

/// Sources of `server` at the given paths, each polled at its interval.
pub fn sources_with_interval<'a>(
    server: &FeedServer,
    intervals: &[(&'a str, &'a str)],
) -> Vec<Source<'a>> {
    intervals
        .iter()
        .map(|(path, interval)| {
            let mut source = Source::new("甲", server.url(path), "金融", "要闻");
            source.extra = format!("interval = \"{interval}\"\n").leak();
            source
        })
        .collect()
}

/// An instance whose daemon will listen on a free loopback port.
pub fn listening(settings: &str, sources: &[Source]) -> (Instance, String) {
    let listen = free_address();
    let app = Instance::new(
        &format!("{settings}\n[server]\nlisten = \"{listen}\""),
        sources,
    );
    (app, listen)
}

/// A `tidings run` child process, stopped with SIGTERM (or killed when dropped).
pub struct Daemon {
    pub child: tokio::process::Child,
    pub base: String,
}

/// The body of a GET of `url`, which must answer: what a reader's browser
/// or feed reader would be shown.
pub async fn get_text(url: impl reqwest::IntoUrl) -> String {
    reqwest::get(url).await.unwrap().text().await.unwrap()
}

/// A free loopback address for a daemon to listen on.
pub fn free_address() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}

impl Daemon {
    /// Starts `tidings run` and waits until it answers `/health`.
    pub async fn start(app: &Instance, listen: &str) -> Daemon {
        Daemon::start_command(app, listen, "run").await
    }

    /// Starts `tidings COMMAND` (`run` or `serve`) and waits until it answers `/health`.
    pub async fn start_command(app: &Instance, listen: &str, command: &str) -> Daemon {
        let daemon = Daemon::spawn(app, listen, command, &[]);
        daemon.answering(app).await;
        daemon
    }

    /// Starts `tidings COMMAND` with more environment `env`, and returns at once.
    pub fn spawn(app: &Instance, listen: &str, command: &str, env: &[(&str, &str)]) -> Daemon {
        let mut command = Daemon::command(app, command);
        command.envs(env.iter().copied());
        Daemon::spawned(command, listen)
    }

    /// The command that starts `tidings COMMAND` on this instance's config,
    /// logging to its `daemon.log`, for a test to adjust before it spawns it.
    pub fn command(app: &Instance, command: &str) -> tokio::process::Command {
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_tidings"));
        child
            .args([command, "--config"])
            .arg(app.config())
            .env("RUST_LOG", "tidings=debug")
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(app.log()).unwrap())
            .kill_on_drop(true);
        child
    }

    /// Spawns `command` (see `Daemon::command`), a daemon listening on `listen`.
    pub fn spawned(mut command: tokio::process::Command, listen: &str) -> Daemon {
        Daemon {
            child: command.spawn().unwrap(),
            base: format!("http://{listen}"),
        }
    }

    /// Waits until the daemon answers `/health`.
    pub async fn answering(&self, app: &Instance) {
        for _ in 0..100 {
            let response = reqwest::get(self.url("/health")).await;
            if response.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "the daemon did not answer: {}",
            std::fs::read_to_string(app.log()).unwrap()
        );
    }

    pub fn pid(&self) -> u32 {
        self.child.id().expect("the daemon is running")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn signal(&self, name: &str) {
        let pid = self.pid().to_string();
        let status = std::process::Command::new("kill")
            .args(["-s", name, &pid])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// The value of `series` (a name with its labels, as `/metrics` writes
    /// it) in the daemon's metrics now; 0 when the series is absent.
    pub async fn metric(&self, series: &str) -> f64 {
        get_text(self.url("/metrics"))
            .await
            .lines()
            .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
            .unwrap_or(0.0)
    }

    /// SIGTERM, then the exit status.
    pub async fn stop(self) -> std::process::ExitStatus {
        self.signal("TERM");
        self.exited().await
    }

    /// The exit status, once the daemon has stopped.
    pub async fn exited(mut self) -> std::process::ExitStatus {
        tokio::time::timeout(Duration::from_secs(20), self.child.wait())
            .await
            .expect("the daemon stops within 20 s")
            .unwrap()
    }
}

/// Waits up to `seconds` for `condition`, polling it every 100 ms.
pub async fn eventually(seconds: u64, what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(seconds);
    while !condition() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Writes the project's workload (`tidings workload`) of `feeds` feeds served
/// from `base` into `out`, or its next update round, and returns its truth.
pub fn workload(out: &Path, feeds: usize, base: &str, update: Option<&str>) -> serde_json::Value {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_tidings"));
    command.arg("workload").arg(out).args([
        "--feeds",
        &feeds.to_string(),
        "--entries",
        "20",
        "--base",
        base,
    ]);
    if let Some(fraction) = update {
        command.args(["--update", fraction]);
    }
    let output = command.output().expect("tidings workload runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&std::fs::read(out.join("truth.json")).unwrap()).unwrap()
}
