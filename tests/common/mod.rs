//! What the integration tests share: a real HTTP server on 127.0.0.1 that
//! serves feeds the way real sites do (ETag, 304, charsets, failures), a
//! config writer, the `tidings` binary, and a rusqlite view of its database.
#![allow(dead_code)] // each test file uses its own part of this module

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{HeaderMap, Request, Response, StatusCode, header};

/// One canned answer of the test server.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
    pub content_type: String,
    /// Answer conditional requests with 304 when they match this ETag.
    pub etag: Option<String>,
    pub headers: Vec<(String, String)>,
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
        }
    }

    pub fn status(status: u16, body: &str) -> Reply {
        Reply {
            status,
            body: body.as_bytes().to_vec(),
            content_type: "text/html".into(),
            etag: None,
            headers: Vec::new(),
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

    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// What the server saw of one request.
#[derive(Clone, Debug)]
pub struct Seen {
    pub path: String,
    pub if_none_match: Option<String>,
    pub user_agent: Option<String>,
    pub status: u16,
}

/// A feed server on a free loopback port, living as long as the test's runtime.
#[derive(Clone)]
pub struct FeedServer {
    pub addr: SocketAddr,
    routes: Arc<Mutex<HashMap<String, Reply>>>,
    /// Files served from a folder, read on every request (for the shared workload).
    root: Arc<Mutex<Option<PathBuf>>>,
    log: Arc<Mutex<Vec<Seen>>>,
}

impl FeedServer {
    pub async fn start() -> FeedServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = FeedServer {
            addr: listener.local_addr().unwrap(),
            routes: Arc::default(),
            root: Arc::default(),
            log: Arc::default(),
        };
        let handler_state = server.clone();
        let app = axum::Router::new().fallback(move |request: Request<Body>| {
            let state = handler_state.clone();
            async move { state.answer(request) }
        });
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        server
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

    fn answer(&self, request: Request<Body>) -> Response<Body> {
        let path = request.uri().path().to_string();
        let text = |headers: &HeaderMap, name| {
            headers
                .get(name)
                .and_then(|v: &header::HeaderValue| v.to_str().ok())
                .map(String::from)
        };
        let if_none_match = text(request.headers(), header::IF_NONE_MATCH);
        let reply = self
            .reply_for(&path)
            .unwrap_or_else(|| Reply::status(404, "not found"));
        let not_modified = reply.etag.is_some() && reply.etag == if_none_match;
        let status = if not_modified { 304 } else { reply.status };
        self.log.lock().unwrap().push(Seen {
            path,
            if_none_match,
            user_agent: text(request.headers(), header::USER_AGENT),
            status,
        });
        let mut response = Response::builder()
            .status(StatusCode::from_u16(status).unwrap())
            .header(header::CONTENT_TYPE, &reply.content_type);
        if let Some(etag) = &reply.etag {
            response = response.header(header::ETAG, etag);
        }
        for (name, value) in &reply.headers {
            response = response.header(name.as_str(), value.as_str());
        }
        let body = if not_modified { Vec::new() } else { reply.body };
        response.body(Body::from(body)).unwrap()
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
    /// Writes `config.toml` with the given `[poll]` lines and sources.
    pub fn new(poll: &str, sources: &[Source]) -> Instance {
        let dir = tempfile::tempdir().unwrap();
        let mut text = format!("[storage]\ndatabase = \"tidings.db\"\n\n[poll]\n{poll}\n");
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
        std::fs::write(dir.path().join("config.toml"), text).unwrap();
        Instance { dir }
    }

    pub fn config(&self) -> PathBuf {
        self.dir.path().join("config.toml")
    }

    pub fn database(&self) -> PathBuf {
        self.dir.path().join("tidings.db")
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

    /// The database, opened as an outside user would.
    pub fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.database()).unwrap()
    }

    pub fn count(&self, sql: &str) -> i64 {
        self.db().query_row(sql, [], |r| r.get(0)).unwrap()
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

/// An RSS 2.0 feed of `(title, link, date, body)` items.
pub fn rss(title: &str, items: &[(&str, &str, &str, &str)]) -> String {
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
