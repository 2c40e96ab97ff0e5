//! The conformance suite: one small feed per construct in `tests/conformance/`
//! (every RSS version, Atom 0.3 and 1.0, JSON Feed 1.0 and 1.1, the dc,
//! dcterms, content and media namespaces, xml:base, the sloppy shapes
//! publishers send and the charset lies), each with the `tidings parse` JSON
//! it must give in `tests/conformance/expected/`. After a deliberate change,
//! `TIDINGS_BLESS=1 cargo test --test conformance` rewrites the expected
//! files; the diff is then the change to review.
//!
//! A second test reads the same files with Python's feedparser, the reference
//! of the field, and holds tidings to the same entries and links, except where
//! tidings is deliberately better (listed there).

mod common;

use std::path::{Path, PathBuf};

use serde_json::Value;

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    // Exactly: a fixture lost is a construct no longer checked.
    assert_eq!(
        files.len(),
        32,
        "fixtures added or lost in {}",
        dir.display()
    );
    let expected: Vec<String> = std::fs::read_dir(dir.join("expected"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    for recorded in &expected {
        let fixture = recorded.strip_suffix(".json").unwrap();
        assert!(
            dir.join(fixture).is_file(),
            "{recorded} records a fixture that is gone"
        );
    }
    files
}

/// `tidings parse FILE` as JSON, with what depends on where the file lies
/// (keys scoped to the source's `file:` URL) made independent of it.
async fn parse(file: &Path) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let out = common::parse_as_stcn(file, &dir.path().join("config.toml")).await;
    assert!(
        out.status.success(),
        "{}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut json: Value = serde_json::from_slice(&out.stdout).unwrap();
    for article in json["articles"].as_array_mut().unwrap() {
        let key = article["key"].as_str().unwrap();
        if !key.starts_with("http") {
            let kind = key.split(':').next().unwrap().to_string();
            article["key"] = Value::String(format!("{kind}:(scoped to the source)"));
        }
    }
    json
}

#[tokio::test]
async fn every_construct_reads_as_recorded() {
    let expected_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/expected");
    let bless = std::env::var_os("TIDINGS_BLESS").is_some();
    let mut wrong = Vec::new();
    for file in fixtures() {
        let got = parse(&file).await;
        let name = file.file_name().unwrap().to_str().unwrap();
        let expected_file = expected_dir.join(format!("{name}.json"));
        if bless {
            std::fs::create_dir_all(&expected_dir).unwrap();
            let text = serde_json::to_string_pretty(&got).unwrap() + "\n";
            std::fs::write(&expected_file, text).unwrap();
            continue;
        }
        let expected: Value = match std::fs::read(&expected_file) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap(),
            Err(_) => {
                wrong.push(format!("{name}: no {}", expected_file.display()));
                continue;
            }
        };
        if got != expected {
            wrong.push(format!(
                "{name}:\n  expected {}\n  got      {}",
                expected, got
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Fixtures where tidings reads differently from feedparser on purpose.
const BETTER_THAN_FEEDPARSER: [(&str, &str); 10] = [
    // feedparser decodes by the label and gets mojibake or worse.
    ("charset-gbk-declared-utf8.xml", "charset"),
    ("charset-gbk-undeclared.xml", "charset"),
    ("charset-utf8-declared-gb2312.xml", "charset"),
    // feedparser lets the open CDATA swallow the next entry.
    ("sloppy-unclosed-cdata.xml", "entries"),
    // feedparser keeps the cut entry, which has no link yet; stored, it would
    // come back as a second story once the feed is whole.
    ("sloppy-truncated.xml", "entries"),
    // RSS 1.0 says rdf:about is the item's URI; feedparser leaves the link empty.
    ("rss-1.0.xml", "links"),
    // Read from a file, a relative link has only the site's link to resolve
    // against; feedparser leaves it relative.
    ("rss-relative-links.xml", "links"),
    // A date without a zone is in the source's zone (Beijing for 证券时报网);
    // feedparser takes it as UTC, eight hours off.
    ("rss-0.94.xml", "dates"),
    // `2022年01月26日 15:54`: feedparser makes 1 December of it.
    ("rss-no-version.xml", "dates"),
    // A `<br>` in a title is a break between words; feedparser joins them.
    ("sloppy-unclosed-tags.xml", "titles"),
];

/// What feedparser makes of each fixture: per entry its link, its title as
/// text (markup dropped, entities decoded, whitespace collapsed) and its date
/// (published, else updated, else created) in UTC.
const FEEDPARSER: &str = r#"
import calendar, feedparser, html, json, re, sys
def text(title):
    return " ".join(html.unescape(re.sub(r"<[^>]*>", "", title or "")).split())
def date(entry):
    parsed = (entry.get("published_parsed") or entry.get("updated_parsed")
              or entry.get("created_parsed"))
    return calendar.timegm(parsed) if parsed else None
for path in sys.argv[1:]:
    d = feedparser.parse(open(path, "rb").read())
    print(json.dumps({"link": [e.get("link") for e in d.entries],
                      "title": [text(e.get("title")) for e in d.entries],
                      "date": [date(e) for e in d.entries]}))
"#;

/// One field of every entry, from tidings's JSON or feedparser's, made
/// comparable: links canonical on both sides (a fragment that tells our
/// entries apart is still the page feedparser links to), dates as seconds.
fn field(articles: &[Value], name: &str) -> Vec<Value> {
    let tracking = tidings::article::dedup::TrackingParams::new(
        &tidings::config::PollDefaults::default().tracking_params,
    );
    articles
        .iter()
        .map(|value| match name {
            "link" => value
                .as_str()
                .and_then(|l| tidings::article::dedup::canonical_link(l, None, &tracking))
                .map_or(Value::Null, |url| Value::String(url.into())),
            "date" => match value.as_str() {
                Some(date) => chrono::DateTime::parse_from_rfc3339(date)
                    .map_or(Value::Null, |date| Value::from(date.timestamp())),
                None => value.clone(),
            },
            _ => value.clone(),
        })
        .collect()
}

#[tokio::test]
async fn feedparser_reads_the_same_entries_links_titles_and_dates() {
    let files: Vec<PathBuf> = fixtures()
        .into_iter()
        .filter(|f| f.extension().is_some_and(|e| e == "xml"))
        .collect();
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(FEEDPARSER)
        .args(&files)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "feedparser (python3 -m pip install feedparser): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut differences = Vec::new();
    for (line, file) in String::from_utf8(out.stdout).unwrap().lines().zip(&files) {
        let theirs: Value = serde_json::from_str(line).unwrap();
        let name = file.file_name().unwrap().to_str().unwrap();
        let excused = |what: &str| {
            BETTER_THAN_FEEDPARSER
                .iter()
                .any(|(n, w)| *n == name && (*w == what || *w == "charset"))
        };
        let ours = parse(file).await;
        let articles = ours["articles"].as_array().unwrap();
        let (our_count, their_count) = (articles.len(), theirs["link"].as_array().unwrap().len());
        if our_count != their_count {
            if !excused("entries") {
                differences.push(format!(
                    "{name}: {our_count} entries, feedparser {their_count}"
                ));
            }
            continue;
        }
        for (what, ours_named) in [("link", "link"), ("title", "title"), ("date", "published")] {
            let our_values: Vec<Value> = articles.iter().map(|a| a[ours_named].clone()).collect();
            let mut ours = field(&our_values, what);
            let theirs = field(theirs[what].as_array().unwrap(), what);
            // An entry without a title gets one from its text; feedparser's stays empty.
            if what == "title" {
                for (our, their) in ours.iter_mut().zip(&theirs) {
                    if their == "" {
                        *our = their.clone();
                    }
                }
            }
            if ours != theirs && !excused(&format!("{what}s")) {
                differences.push(format!("{name}: {what}s {ours:?}, feedparser {theirs:?}"));
            }
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}
