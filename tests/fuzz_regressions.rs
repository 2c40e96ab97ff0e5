//! Every input the fuzz targets in `fuzz/` found a problem with, and their seed
//! inputs, run through the same properties on the stable toolchain, and held
//! to `fuzz/inputs.txt`: the list of every kept input and what tidings read of
//! it. A file lost, or an input that reads differently (a feed that no longer
//! parses, a date read otherwise), fails here; after a deliberate change,
//! `TIDINGS_BLESS=1 cargo test --test fuzz_regressions` rewrites the list.

use std::path::Path;

use tidings::tools::fuzzing;

/// A fuzz target's properties: panics when one fails, else says what it read.
type Check = fn(&[u8]) -> String;

const TARGETS: [(&str, Check); 4] = [
    ("feed", fuzzing::feed),
    ("date", fuzzing::date),
    ("link", fuzzing::link),
    ("sanitize", fuzzing::sanitize),
];

const HEADER: &str = "\
# Every input kept in fuzz/regressions and fuzz/seeds, and what tidings reads
# of it (tests/fuzz_regressions.rs). Rewrite with
# TIDINGS_BLESS=1 cargo test --test fuzz_regressions, and review the diff.
";

/// `path<TAB>what was read` for every input on disk, in order.
fn readings(root: &Path) -> Vec<String> {
    let mut lines = Vec::new();
    for folder in ["regressions", "seeds"] {
        for (target, check) in TARGETS {
            let Ok(entries) = std::fs::read_dir(root.join(folder).join(target)) else {
                continue;
            };
            let mut paths: Vec<_> = entries.map(|entry| entry.unwrap().path()).collect();
            paths.sort();
            for path in paths {
                let bytes = std::fs::read(&path).unwrap();
                let read = std::panic::catch_unwind(|| check(&bytes))
                    .unwrap_or_else(|_| panic!("{} fails the {target} properties", path.display()));
                let name = path.strip_prefix(root).unwrap().display();
                lines.push(format!("{name}\t{read}"));
            }
        }
    }
    lines
}

#[test]
fn every_kept_input_is_there_and_reads_as_it_did() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let listing = root.join("inputs.txt");
    let found = readings(&root);
    if std::env::var_os("TIDINGS_BLESS").is_some() {
        std::fs::write(&listing, format!("{HEADER}{}\n", found.join("\n"))).unwrap();
        return;
    }
    let recorded: Vec<String> = std::fs::read_to_string(&listing)
        .unwrap()
        .lines()
        .filter(|line| !line.starts_with('#'))
        .map(String::from)
        .collect();
    let lost: Vec<&String> = recorded.iter().filter(|r| !found.contains(r)).collect();
    let new: Vec<&String> = found.iter().filter(|f| !recorded.contains(f)).collect();
    assert!(
        lost.is_empty() && new.is_empty(),
        "inputs lost or reading otherwise: {lost:#?}\nfound instead, or not listed: {new:#?}"
    );
}
