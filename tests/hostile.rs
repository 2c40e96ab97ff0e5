//! Hostile sources and broken servers: each ends in a recorded error on its own
//! source, within the limits, while the other sources are stored as usual.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A server that answers every connection with `behaviour`, speaking raw TCP,
/// for the misbehaviours an HTTP framework would not let us write.
async fn raw_server<F, Fut>(behaviour: F) -> SocketAddr
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request).await;
            tokio::spawn(behaviour(stream));
        }
    });
    addr
}

const HEAD: &str = "HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n";

fn good_feed(server: &FeedServer) -> Source<'static> {
    server.set(
        "/good.xml",
        Reply::feed(rss(
            "好",
            &[(
                "好消息",
                "https://a.example/good",
                "2022-01-26 15:54:00",
                "<p>好</p>",
            )],
        )),
    );
    Source::new("好", server.url("/good.xml"), "金融", "要闻")
}

/// Polls the good feed beside `bad` ones and returns each bad source's error.
async fn poll_beside(
    server: &FeedServer,
    settings: &str,
    bad: Vec<Source<'static>>,
) -> (Instance, Vec<String>) {
    let count = bad.len();
    let mut sources = bad;
    sources.push(good_feed(server));
    let app = Instance::new(settings, &sources);
    let summary = app.poll().await;
    assert!(summary.contains(&format!("{count} failed")), "{summary}");
    assert_eq!(
        app.strings("SELECT title FROM articles"),
        ["好消息"],
        "{summary}"
    );
    let errors = app
        .strings("SELECT coalesce(last_error, 'none') FROM sources WHERE name != '好' ORDER BY id");
    (app, errors)
}

#[tokio::test]
async fn bodies_that_are_not_feeds_are_errors() {
    let server = FeedServer::start().await;
    let bodies: [(&str, &[u8]); 7] = [
        ("/html", b"<!doctype html><html><body><p>Hello</p></body></html>"),
        ("/empty", b""),
        ("/json", br#"{"status": "ok", "items": "nope"}"#),
        ("/binary", &[0x89, b'P', b'N', b'G', 0, 0, 0xff, 0xfe, 0x00, 0x13]),
        ("/truncated", b"<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><item><title>\xe5\x8d"),
        ("/invalid-utf8", b"<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel><item><title>\xff\xfe\xfd</title><link>https://a.example/x</link></item></channel></rss>"),
        ("/wrong-encoding", b"<?xml version=\"1.0\" encoding=\"x-no-such-charset\"?><rss version=\"2.0\"><channel><item><title>ok</title><link>https://a.example/y</link></item></channel></rss>"),
    ];
    let mut bad = Vec::new();
    for (path, body) in bodies {
        server.set(path, Reply::feed(body.to_vec()));
        bad.push(Source::new("坏", server.url(path), "金融", "要闻"));
    }
    let sources: Vec<Source> = bad.into_iter().chain([good_feed(&server)]).collect();
    let app = Instance::new("", &sources);
    let summary = app.poll().await;
    assert!(summary.contains("5 failed"), "{summary}");
    let errors =
        app.strings("SELECT url || ': ' || coalesce(last_error, 'ok') FROM sources ORDER BY id");
    for (i, path) in ["/html", "/empty", "/json", "/binary"].iter().enumerate() {
        assert!(
            errors[i].contains(path) && errors[i].contains("not a feed"),
            "{errors:?}"
        );
    }
    // A body cut inside its only entry, before the entry's link: nothing to store.
    assert!(
        errors[4].contains("/truncated") && errors[4].contains("none could be read"),
        "{errors:?}"
    );
    // Bytes that are not the UTF-8 they claim and an unknown charset cost
    // characters at most (the bytes are read as the detector's guess), never
    // the feed, and the source says so.
    let titles = app.strings("SELECT title FROM articles WHERE link IN ('https://a.example/x', 'https://a.example/y') ORDER BY link");
    assert_eq!(titles.len(), 2, "{titles:?}");
    assert_eq!(titles[0].chars().count(), 3, "{titles:?}");
    assert_eq!(titles[1], "ok");
    let warnings = app.strings(
        "SELECT last_warnings FROM sources WHERE url LIKE '%/invalid-utf8' AND last_warnings LIKE '%utf-8%'",
    );
    assert_eq!(warnings.len(), 1, "no charset warning recorded");
}

#[tokio::test]
async fn xml_entity_attacks_are_never_expanded_or_resolved() {
    let server = FeedServer::start().await;
    let mut laughs =
        String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n<!ENTITY lol \"lol\">\n");
    for level in 1..10 {
        let previous = if level == 1 {
            "lol".to_string()
        } else {
            format!("lol{}", level - 1)
        };
        laughs += &format!(
            "<!ENTITY lol{level} \"{}\">\n",
            format!("&{previous};").repeat(10)
        );
    }
    laughs += "]><rss version=\"2.0\"><channel><title>t</title><item><title>&lol9;</title><link>https://a.example/lol</link></item></channel></rss>";
    let xxe = "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\
        <rss version=\"2.0\"><channel><title>t</title><item><title>&xxe;</title><link>https://a.example/xxe</link>\
        <description>&xxe;</description></item></channel></rss>";
    server.set("/laughs.xml", Reply::feed(laughs));
    server.set("/xxe.xml", Reply::feed(xxe));
    let app = Instance::new(
        "",
        &[
            Source::new("甲", server.url("/laughs.xml"), "金融", "要闻"),
            Source::new("乙", server.url("/xxe.xml"), "金融", "要闻"),
        ],
    );
    app.poll().await;
    assert!(app.count("SELECT max(length(title) + length(content_html)) FROM articles") < 100);
    assert_eq!(
        app.count(
            "SELECT count(*) FROM articles WHERE instr(title || summary || content_html, 'root:')"
        ),
        0
    );
    assert_eq!(
        app.count(
            "SELECT count(*) FROM articles WHERE instr(title || summary || content_html, 'lollol')"
        ),
        0
    );
}

#[tokio::test]
async fn oversized_bodies_and_gzip_bombs_stop_at_the_limit() {
    let server = FeedServer::start().await;
    // A gigabyte of zeros, gzipped to about a megabyte.
    let bomb = std::process::Command::new("python3")
        .args([
            "-c",
            "import gzip, sys; sys.stdout.buffer.write(gzip.compress(bytes(1 << 30), 9))",
        ])
        .output()
        .unwrap()
        .stdout;
    assert!(bomb.len() < 2 << 20);
    server.set(
        "/bomb.xml",
        Reply::feed(bomb).header("Content-Encoding", "gzip"),
    );
    // An endless body that never says how long it is.
    let endless = raw_server(|mut stream| async move {
        let _ = stream
            .write_all(format!("{HEAD}Transfer-Encoding: chunked\r\n\r\n").as_bytes())
            .await;
        let chunk = format!("{:x}\r\n{}\r\n", 65536, "<".repeat(65536));
        for _ in 0..16384 {
            if stream.write_all(chunk.as_bytes()).await.is_err() {
                return;
            }
        }
    })
    .await;
    // A body that says it is a gigabyte.
    let declared = raw_server(|mut stream| async move {
        let _ = stream
            .write_all(format!("{HEAD}Content-Length: 1073741824\r\n\r\n<rss>").as_bytes())
            .await;
        tokio::time::sleep(Duration::from_secs(5)).await;
    })
    .await;
    let (_app, errors) = poll_beside(
        &server,
        "[poll]\nmax_body_bytes = 1048576",
        vec![
            Source::new("炸弹", server.url("/bomb.xml"), "金融", "要闻"),
            Source::new("无尽", format!("http://{endless}/feed.xml"), "金融", "要闻"),
            Source::new(
                "声明",
                format!("http://{declared}/feed.xml"),
                "金融",
                "要闻",
            ),
        ],
    )
    .await;
    for error in &errors {
        assert!(
            error.contains("larger than the limit of 1048576 bytes"),
            "{errors:?}"
        );
    }
}

#[tokio::test]
async fn slow_silent_and_broken_servers_end_within_the_timeout() {
    let server = FeedServer::start().await;
    let trickle = raw_server(|mut stream| async move {
        let _ = stream
            .write_all(format!("{HEAD}Content-Length: 100000\r\n\r\n").as_bytes())
            .await;
        for _ in 0..100_000 {
            if stream.write_all(b"<").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    })
    .await;
    let silent = raw_server(|stream| async move {
        tokio::time::sleep(Duration::from_secs(60)).await;
        drop(stream);
    })
    .await;
    let cut = raw_server(|mut stream| async move {
        let _ = stream
            .write_all(
                format!("{HEAD}Content-Length: 5000\r\n\r\n<rss version=\"2.0\"><chan").as_bytes(),
            )
            .await;
    })
    .await;
    server.set("/loop", Reply::status(302, "").header("Location", "/loop"));
    server.set(
        "/to-file",
        Reply::status(302, "").header("Location", "file:///etc/passwd"),
    );
    let started = std::time::Instant::now();
    let (app, errors) = poll_beside(
        &server,
        "[poll]\ntimeout = \"2s\"",
        vec![
            Source::new("慢", format!("http://{trickle}/feed.xml"), "金融", "要闻"),
            Source::new("哑", format!("http://{silent}/feed.xml"), "金融", "要闻"),
            Source::new("断", format!("http://{cut}/feed.xml"), "金融", "要闻"),
            Source::new("环", server.url("/loop"), "金融", "要闻"),
            Source::new("文件", server.url("/to-file"), "金融", "要闻"),
        ],
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the poll outlived its timeouts"
    );
    assert_eq!(errors[0], "timed out");
    assert_eq!(errors[1], "timed out");
    assert!(
        errors[2].contains("body") || errors[2].contains("connection"),
        "{errors:?}"
    );
    assert!(errors[3].contains("more than 5 redirects"), "{errors:?}");
    assert!(
        errors[4].contains("will not follow the redirect to `file:///etc/passwd`"),
        "{errors:?}"
    );
    // Each is retried later, with backoff.
    assert_eq!(
        app.count("SELECT count(*) FROM sources WHERE error_count = 1 AND next_due > last_polled"),
        5
    );
}

/// An RSS feed of one item whose description nests `depth` elements.
fn nested(depth: usize) -> Vec<u8> {
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>深</title><item>\
         <title>深层</title><link>https://a.example/deep/{depth}</link><description>{}y{}\
         </description></item></channel></rss>",
        "<x>".repeat(depth),
        "</x>".repeat(depth)
    )
    .into_bytes()
}

#[tokio::test]
async fn documents_nested_deeper_than_65535_elements_are_refused_then_repaired() {
    let server = FeedServer::start().await;
    server.set("/deep.xml", Reply::feed(nested(100_000)));
    let app = Instance::new(
        "",
        &[
            Source::new("深", server.url("/deep.xml"), "金融", "要闻"),
            good_feed(&server),
        ],
    );
    let summary = app.poll().await;
    assert!(summary.contains("2 ok"), "{summary}");
    // The strict reading refuses the depth; the second keeps the entry and
    // reads the markup inside its description as the text of its HTML, which
    // nested deeper than 256 levels is reduced to its text.
    let warnings = app.strings("SELECT last_warnings FROM sources WHERE name = '深'");
    assert!(
        warnings[0].contains("nests elements deeper than the supported limit of 65535"),
        "{warnings:?}"
    );
    assert_eq!(
        app.strings(
            "SELECT content_html FROM articles WHERE link = 'https://a.example/deep/100000'"
        ),
        ["<p>y</p>"]
    );
    // As deep as the limit allows, the depth is no reason for a warning.
    server.set("/deep.xml", Reply::feed(nested(65_000)));
    app.poll().await;
    let warnings = app.strings("SELECT last_warnings FROM sources WHERE name = '深'");
    assert!(!warnings[0].contains("65535"), "{warnings:?}");
}

#[tokio::test]
async fn hostile_values_are_tamed() {
    let server = FeedServer::start().await;
    let huge_title = "长".repeat(400_000);
    let items = [
        (
            huge_title.as_str(),
            "https://a.example/huge",
            "2022-01-26 15:54:00",
            "<p>x</p>",
        ),
        (
            "公元一年",
            "https://a.example/year1",
            "0001-01-01T00:00:00Z",
            "<p>x</p>",
        ),
        (
            "来自未来",
            "https://a.example/year9999",
            "9999-12-31T23:59:59Z",
            "<p>x</p>",
        ),
    ];
    // A link that is not a URL, beside a guid that is one.
    let not_a_link = "<item><title>不是链接</title><link>not a url at all</link>\
        <guid>https://a.example/by-guid</guid><pubDate>Wed, 26 Jan 2022 07:54:00 GMT</pubDate>\
        <description>x</description></item></channel>";
    let feed = rss("t", &items).replace("</channel>", not_a_link);
    server.set("/f.xml", Reply::feed(feed));
    let app = Instance::new(
        "",
        &[Source::new("甲", server.url("/f.xml"), "金融", "要闻")],
    );
    app.poll().await;
    assert_eq!(app.count("SELECT count(*) FROM articles"), 4);
    assert_eq!(
        app.strings("SELECT length(title) || ' ' || substr(title, 1, 3) FROM articles WHERE link = 'https://a.example/huge'"),
        ["500 长长长"]
    );
    assert_eq!(
        app.strings("SELECT link FROM articles WHERE title = '不是链接'"),
        ["https://a.example/by-guid"]
    );
    // The future is clamped to the poll, so it never sorts above today's news.
    let newest = app.strings("SELECT link FROM articles ORDER BY published DESC LIMIT 1");
    assert_eq!(newest, ["https://a.example/year9999"]);
    assert_eq!(
        app.count(
            "SELECT count(*) FROM articles WHERE published > strftime('%Y-%m-%dT%H:%M:%SZ', 'now')"
        ),
        0
    );
    assert_eq!(
        app.strings("SELECT published FROM articles WHERE link = 'https://a.example/year1'"),
        ["0001-01-01T00:00:00Z"]
    );
}

#[tokio::test]
async fn floods_of_entries_and_giant_entries_stay_within_bounds() {
    let server = FeedServer::start().await;
    // 100,000 entries in 7 MB: under the body limit, over the entry limit.
    let flood: String = (0..100_000)
        .map(|i| format!("<item><title>条目{i}</title><link>https://a.example/f/{i}</link></item>"))
        .collect();
    server.set(
        "/flood.xml",
        Reply::feed(format!(
            "<rss version=\"2.0\"><channel><title>洪水</title>{flood}</channel></rss>"
        )),
    );
    // One entry of 50 MB.
    let giant = rss(
        "巨",
        &[(
            "巨大",
            "https://a.example/giant",
            "2022-01-26 15:54:00",
            &format!("<p>{}</p>", "证券时报".repeat((50 << 20) / 12 + 1)),
        )],
    );
    assert!(giant.len() > 50 << 20);
    server.set("/giant.xml", Reply::feed(giant));
    let (_app, errors) = poll_beside(
        &server,
        "",
        vec![
            Source::new("洪水", server.url("/flood.xml"), "金融", "要闻"),
            Source::new("巨", server.url("/giant.xml"), "金融", "要闻"),
        ],
    )
    .await;
    assert_eq!(
        errors,
        [
            "the feed has 100000 entries, more than max_entries (5000)",
            "body larger than the limit of 16777216 bytes",
        ]
    );

    // A user who raises the body limit gets the giant entry, its content cut at
    // one megabyte before sanitizing.
    let app = Instance::new(
        "[poll]\nmax_body_bytes = 67108864",
        &[Source::new("巨", server.url("/giant.xml"), "金融", "要闻")],
    );
    let summary = app.poll().await;
    assert_eq!(
        app.strings("SELECT title FROM articles"),
        ["巨大"],
        "{summary}"
    );
    let stored = app.count("SELECT length(CAST(content_html AS BLOB)) FROM articles");
    assert!((1 << 19..=(1 << 20) + 64).contains(&stored), "{stored}");
}

#[tokio::test]
async fn nasty_content_and_names_never_reach_the_atom_feed_or_the_hexo_export() {
    let server = FeedServer::start().await;
    let nasty = r#"<p onclick="steal()">正文<script>alert(1)</script><iframe src="https://evil.example"></iframe>
        <img src="x.png" onerror="alert(2)"><a href="javascript:alert(3)">一</a><a href="data:text/html,<b>">二</a>
        <style>body{display:none}</style><svg onload="alert(4)"><circle/></svg></p>"#;
    let feed = |guid: &str| {
        let items = [
            (
                "../../etc/passwd",
                "https://a.example/passwd",
                "2022-01-26 15:54:00",
                "<p>路径</p>",
            ),
            (
                "标题 ]]> <b>粗</b> \u{1}\u{8}控制",
                "https://a.example/nasty",
                "2022-01-26 15:55:00",
                nasty,
            ),
        ];
        // Every poll the feed gives its entries new guids.
        rss("坏", &items)
            .replace(
                "passwd</link>",
                &format!("passwd</link><guid>{guid}-a</guid>"),
            )
            .replace(
                "nasty</link>",
                &format!("nasty</link><guid>{guid}-b</guid>"),
            )
    };
    server.set("/nasty.xml", Reply::feed(feed("guid-1")).without_etag());
    let app = Instance::new(
        "[output]\ndir = \"public\"",
        &[Source::new("坏", server.url("/nasty.xml"), "金融", "要闻")],
    );
    app.poll().await;
    server.set("/nasty.xml", Reply::feed(feed("guid-2")).without_etag());
    let second = app.poll().await;
    assert_eq!(article_counts(&second), (0, 0, 2), "{second}");
    assert_eq!(app.count("SELECT count(*) FROM articles"), 2);

    let executable = [
        "<script",
        "script>",
        "<iframe",
        "onerror",
        "onclick",
        "onload",
        "javascript:",
        "data:text",
        "<style",
        "<svg",
    ];
    let atom = std::fs::read_to_string(app.dir.path().join("public/all.atom")).unwrap();
    let parsed = feed_rs::parser::parse(atom.as_bytes()).expect("the Atom output is valid XML");
    assert_eq!(parsed.entries.len(), 2);
    let unescaped = html_escape::decode_html_entities(&atom).into_owned();
    for bad in executable {
        assert!(!unescaped.contains(bad), "{bad} in {atom}");
    }
    assert!(!atom.contains('\u{1}') && !atom.contains('\u{8}'));

    let out = app.dir.path().join("posts");
    app.export_hexo(&out, &[]).await;
    let names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    for name in &names {
        let (date, hash) = name.strip_suffix(".md").unwrap().split_at(11);
        assert!(date.starts_with("2022-01-26-"), "{name}");
        assert!(hash.chars().all(|c| c.is_ascii_hexdigit()), "{name}");
        let post = std::fs::read_to_string(out.join(name)).unwrap();
        for bad in executable {
            assert!(!post.contains(bad), "{bad} in {post}");
        }
    }
    assert!(!app.dir.path().join("etc").exists());
}

/// A sloppy publisher's feed, served over HTTP: a PHP warning before the
/// document, a bare `&` in a link, a `<br>` in a title, GBK bytes under a
/// UTF-8 label, and a body cut off inside its last entry.
fn sloppy_feed(whole: bool) -> Vec<u8> {
    let mut xml = String::from(
        "<br />\n<b>Warning</b>: session_start() in <b>/var/www/rss.php</b> on line <b>3</b><br />\n\
         <?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\"><channel><title>证券时报网</title>\
         <link>https://news.stcn.com/</link>\
         <item><title>沪深两市<br>成交额突破万亿元</title>\
         <link>https://news.stcn.com/detail.jsp?id=1&channel=yw</link>\
         <pubDate>Wed, 26 Jan 2022 15:54:00 +0800</pubDate><description>两市成交额 & 北向资金</description></item>\
         <item><title>央行开展逆回购操作</title>",
    );
    if whole {
        xml +=
            "<link>https://news.stcn.com/detail.jsp?id=2&channel=yw</link></item></channel></rss>";
    }
    encoding_rs::GB18030.encode(&xml).0.into_owned()
}

/// An instance whose one source is `/sloppy.xml` of `server`.
fn sloppy_source(server: &FeedServer) -> Instance {
    Instance::new(
        "",
        &[Source::new(
            "证券时报网",
            server.url("/sloppy.xml"),
            "金融",
            "要闻",
        )],
    )
}

#[tokio::test]
async fn a_sloppy_feed_loses_nothing_and_says_what_was_repaired() {
    let server = FeedServer::start().await;
    server.set(
        "/sloppy.xml",
        Reply::feed(sloppy_feed(false)).without_etag(),
    );
    let app = sloppy_source(&server);
    let summary = app.poll().await;
    assert!(summary.contains("1 ok"), "{summary}");
    assert!(summary.contains("warning: 证券时报网"), "{summary}");
    // The cut entry has no link yet: it waits for the whole feed.
    assert_eq!(
        app.strings("SELECT title || ' ' || link FROM articles"),
        ["沪深两市 成交额突破万亿元 https://news.stcn.com/detail.jsp?channel=yw&id=1"]
    );
    let warnings = app.strings("SELECT last_warnings FROM sources").join("\n");
    for said in [
        "bytes are not: detected gb18030",
        "bytes before the root element",
        "escaped 2 bare '&'",
        "before the last entry's link",
    ] {
        assert!(warnings.contains(said), "{said} not in {warnings}");
    }
    assert_eq!(
        app.count("SELECT count(*) FROM fetch_log WHERE warnings LIKE '%bare ''&''%'"),
        1
    );
    let listing = app.run(&["sources"]).await;
    let listing = String::from_utf8_lossy(&listing.stdout);
    assert!(
        listing.contains("warning: the feed says its charset is utf-8"),
        "{listing}"
    );

    // Whole again: the waiting entry arrives once, and the warnings are those of this body.
    server.set("/sloppy.xml", Reply::feed(sloppy_feed(true)).without_etag());
    app.poll().await;
    assert_eq!(app.count("SELECT count(*) FROM articles"), 2);
    let warnings = app.strings("SELECT last_warnings FROM sources").join("\n");
    assert!(!warnings.contains("mid-entry"), "{warnings}");
    assert!(warnings.contains("bare '&'"), "{warnings}");
}

#[tokio::test]
async fn logs_can_be_json_for_log_shippers() {
    let server = FeedServer::start().await;
    server.set("/sloppy.xml", Reply::feed(sloppy_feed(true)));
    let app = sloppy_source(&server);
    let out = app.run(&["poll", "--log-format", "json"]).await;
    assert!(out.status.success());
    let logs = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<serde_json::Value> = logs
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    assert!(
        lines.iter().any(|line| line["level"] == "WARN"
            && line["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("bare '&'"))),
        "{logs}"
    );
}
