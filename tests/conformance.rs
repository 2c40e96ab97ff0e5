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
    assert!(files.len() >= 27, "fixtures missing in {}", dir.display());
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
const BETTER_THAN_FEEDPARSER: [(&str, &str); 7] = [
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
];

#[tokio::test]
async fn feedparser_reads_the_same_entries() {
    let script = r#"
import feedparser, json, sys
for path in sys.argv[1:]:
    d = feedparser.parse(open(path, 'rb').read())
    print(json.dumps({"file": path, "links": [e.get("link") for e in d.entries]}))
"#;
    let files: Vec<PathBuf> = fixtures()
        .into_iter()
        .filter(|f| f.extension().is_some_and(|e| e == "xml"))
        .collect();
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(&files)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "feedparser (python3 -m pip install feedparser): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tracking = tidings::article::dedup::TrackingParams::new(
        &tidings::config::PollDefaults::default().tracking_params,
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
        // Both sides canonical: a fragment that tells our entries apart is
        // still the page feedparser links to.
        let our_links: Vec<Option<String>> = ours["articles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                a["link"]
                    .as_str()
                    .and_then(|l| tidings::article::dedup::canonical_link(l, None, &tracking))
                    .map(String::from)
            })
            .collect();
        let their_links: Vec<Option<String>> = theirs["links"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                l.as_str()
                    .and_then(|l| tidings::article::dedup::canonical_link(l, None, &tracking))
                    .map(String::from)
            })
            .collect();
        if our_links.len() != their_links.len() {
            if !excused("entries") {
                differences.push(format!(
                    "{name}: {} entries, feedparser {}",
                    our_links.len(),
                    their_links.len()
                ));
            }
        } else if our_links != their_links && !excused("links") {
            differences.push(format!(
                "{name}: links {our_links:?}, feedparser {their_links:?}"
            ));
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}
