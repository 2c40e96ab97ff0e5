//! Every input the fuzz targets in `fuzz/` found a problem with, and their seed
//! inputs, run through the same properties on the stable toolchain.

use std::path::Path;

fn each_input(target: &str, check: fn(&[u8])) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut checked = 0;
    for folder in ["regressions", "seeds"] {
        let Ok(entries) = std::fs::read_dir(root.join(folder).join(target)) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            let outcome = std::panic::catch_unwind(|| check(&bytes));
            assert!(
                outcome.is_ok(),
                "{} fails the {target} properties",
                path.display()
            );
            checked += 1;
        }
    }
    checked
}

#[test]
fn feed_inputs() {
    assert!(each_input("feed", tidings::tools::fuzzing::feed) >= 4);
}

#[test]
fn date_inputs() {
    assert!(each_input("date", tidings::tools::fuzzing::date) >= 4);
}

#[test]
fn link_inputs() {
    assert!(each_input("link", tidings::tools::fuzzing::link) >= 3);
}

#[test]
fn sanitize_inputs() {
    assert!(each_input("sanitize", tidings::tools::fuzzing::sanitize) >= 1);
}
