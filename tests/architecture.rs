//! The house holds to its plan (docs/architecture.md): every stage imports
//! only the stages below it, and no files import each other in a circle.
//! Read from the code as text: `use crate::…` lines and `crate::…` paths,
//! `super::…` resolved to the file it names.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

/// The stages in the order docs/architecture.md gives, bottom floor first.
fn stages() -> Vec<String> {
    let doc = std::fs::read_to_string(root().join("docs/architecture.md")).unwrap();
    let block = doc
        .split("```stages\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("docs/architecture.md has a ```stages block");
    block
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

/// Every source file of the library, as its module path (`read::repair::lexer`).
fn modules() -> BTreeMap<String, PathBuf> {
    fn walk(dir: &Path, prefix: &[String], out: &mut BTreeMap<String, PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_stem().unwrap().to_str().unwrap().to_string();
            if path.is_dir() {
                let mut inner = prefix.to_vec();
                inner.push(name);
                walk(&path, &inner, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let mut module = prefix.to_vec();
                if !matches!(name.as_str(), "mod" | "lib" | "main") {
                    module.push(name);
                }
                out.insert(module.join("::"), path);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(&root().join("src"), &[], &mut out);
    out.remove("");
    out
}

/// The modules a file names (`crate::a::b::C`, `super::x`), each resolved to
/// the longest module path that is a file.
fn imports(module: &str, path: &Path, known: &BTreeMap<String, PathBuf>) -> BTreeSet<String> {
    // Code only: a comment may name any module.
    let text: String = std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let this: Vec<&str> = module.split("::").collect();
    let mut found = BTreeSet::new();
    let word = |c: char| c.is_alphanumeric() || c == '_' || c == ':';
    for (at, _) in text
        .match_indices("crate::")
        .chain(text.match_indices("super::"))
    {
        if at > 0 && text[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        let rest: String = text[at..].chars().take_while(|c| word(*c)).collect();
        // `use super::*` in a file's test module is the file itself.
        if rest == "super::" && text[at + rest.len()..].starts_with('*') {
            continue;
        }
        let mut parts: Vec<&str> = rest.split("::").filter(|p| !p.is_empty()).collect();
        let mut base: Vec<&str> = Vec::new();
        if parts.first() == Some(&"crate") {
            parts.remove(0);
        } else {
            base = this.clone();
            while parts.first() == Some(&"super") {
                parts.remove(0);
                base.pop();
            }
        }
        // `use crate::x::{a, b}`: the braces name items of `x`.
        if text[at + rest.len()..].starts_with('{') {
            let inside: String = text[at + rest.len() + 1..]
                .chars()
                .take_while(|c| *c != '}')
                .collect();
            for item in inside.split(',') {
                let item = item.trim().split("::").next().unwrap_or("").trim();
                let mut full = base.clone();
                full.extend(parts.iter().copied());
                full.push(item);
                if let Some(target) = resolve(&full, known) {
                    found.insert(target);
                }
            }
        }
        let mut full = base;
        full.extend(parts);
        if let Some(target) = resolve(&full, known) {
            found.insert(target);
        }
    }
    found.remove(module);
    found
}

fn resolve(parts: &[&str], known: &BTreeMap<String, PathBuf>) -> Option<String> {
    (1..=parts.len())
        .rev()
        .map(|n| parts[..n].join("::"))
        .find(|candidate| known.contains_key(candidate))
}

fn stage_of(module: &str) -> &str {
    module.split("::").next().unwrap()
}

#[test]
fn every_stage_imports_only_the_stages_below_it() {
    let order = stages();
    let known = modules();
    let floor = |module: &str| {
        order
            .iter()
            .position(|s| s == stage_of(module))
            .unwrap_or_else(|| panic!("{module} is in no stage of docs/architecture.md"))
    };
    let mut upward = Vec::new();
    for (module, path) in &known {
        for target in imports(module, path, &known) {
            if floor(&target) > floor(module) {
                upward.push(format!("{module} -> {target}"));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports that run up a floor:\n{}",
        upward.join("\n")
    );
}

#[test]
fn no_files_import_each_other_in_a_circle() {
    let known = modules();
    let graph: BTreeMap<String, BTreeSet<String>> = known
        .iter()
        .map(|(module, path)| (module.clone(), imports(module, path, &known)))
        .collect();
    // A depth-first search that reports the first circle it walks into.
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut circle = path[at..].to_vec();
            circle.push(node.to_string());
            return Some(circle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(circle) = visit(next, graph, path, done) {
                return Some(circle);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for module in graph.keys() {
        if let Some(circle) = visit(module, &graph, &mut Vec::new(), &mut done) {
            panic!("a circle of imports: {}", circle.join(" -> "));
        }
    }
}

#[test]
fn the_check_sees_an_import_that_runs_up() {
    // The reader of imports itself: a file of the read stage naming the store.
    let known = modules();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("probe.rs");
    std::fs::write(
        &file,
        "use crate::store::{Store, plan::Known};\nfn f() { super::scrape::read(); }\n",
    )
    .unwrap();
    let found = imports("read::probe", &file, &known);
    assert!(found.contains("store::plan"), "{found:?}");
    assert!(found.contains("store"), "{found:?}");
    assert!(found.contains("read::scrape"), "{found:?}");
}

/// The source with its comments, strings and character literals blanked
/// out (newlines kept), so that braces in them do not count.
fn code_only(source: &str) -> String {
    let bytes = source.as_bytes();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    let blank = |text: &str| -> String {
        text.chars()
            .map(|c| if c == '\n' { '\n' } else { ' ' })
            .collect()
    };
    while i < bytes.len() {
        let rest = &source[i..];
        let end = if rest.starts_with("//") {
            rest.find('\n').unwrap_or(rest.len())
        } else if rest.starts_with("/*") {
            rest.find("*/").map_or(rest.len(), |e| e + 2)
        } else if let Some(raw) = rest.strip_prefix("r#").or(rest.strip_prefix("br#")) {
            let hashes = 1 + raw.chars().take_while(|c| *c == '#').count();
            let close = format!("\"{}", "#".repeat(hashes));
            let open = rest.find('"').unwrap_or(0) + 1;
            rest[open..]
                .find(&close)
                .map_or(rest.len(), |e| open + e + close.len())
        } else if rest.starts_with('"') {
            let mut j = 1;
            while j < rest.len() && rest.as_bytes()[j] != b'"' {
                j += if rest.as_bytes()[j] == b'\\' { 2 } else { 1 };
            }
            (j + 1).min(rest.len())
        } else if rest.starts_with('\'')
            && let Some(close) = rest[1..].find('\'').filter(|&c| c <= 10)
            && (rest.as_bytes()[1] == b'\\' || rest[1..1 + close].chars().count() == 1)
        {
            close + 2
        } else {
            let c = rest.chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
            continue;
        };
        out.push_str(&blank(&rest[..end]));
        i += end;
    }
    out
}

#[test]
fn rooms_and_functions_are_short() {
    let mut long = Vec::new();
    for (module, path) in modules() {
        let source = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = source.lines().collect();
        if lines.len() > 600 {
            long.push(format!("{module}: {} lines", lines.len()));
        }
        let code = code_only(&source);
        let code: Vec<&str> = code.lines().collect();
        for (at, line) in code.iter().enumerate() {
            let words: Vec<&str> = line.split_whitespace().collect();
            let Some(fn_at) = words.iter().position(|w| *w == "fn") else {
                continue;
            };
            let before_ok = words[..fn_at]
                .iter()
                .all(|w| w.starts_with("pub") || matches!(*w, "async" | "const" | "unsafe"));
            if !before_ok {
                continue;
            }
            let (mut depth, mut opened, mut end) = (0i32, false, None);
            'scan: for (offset, text) in code[at..].iter().enumerate() {
                for c in text.chars() {
                    match c {
                        '{' => {
                            depth += 1;
                            opened = true;
                        }
                        '}' => depth -= 1,
                        ';' if !opened => break 'scan,
                        _ => {}
                    }
                    if opened && depth == 0 {
                        end = Some(at + offset);
                        break 'scan;
                    }
                }
            }
            let Some(end) = end else { continue };
            let reason = lines[..at]
                .iter()
                .rev()
                .take_while(|l| {
                    l.trim_start().starts_with("//") || l.trim_start().starts_with("#[")
                })
                .any(|l| l.trim_start().starts_with("// Long on purpose:"));
            if end - at + 1 > 80 && !reason {
                long.push(format!(
                    "{module}:{} `{}`: {} lines",
                    at + 1,
                    words[fn_at + 1],
                    end - at + 1
                ));
            }
        }
    }
    assert!(
        long.is_empty(),
        "too long (a function over 80 lines needs a `// Long on purpose:` line):\n{}",
        long.join("\n")
    );
}

#[test]
fn the_readme_is_a_front_door_and_every_link_leads_somewhere() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    assert!(
        readme.lines().count() < 200,
        "README.md has {} lines",
        readme.lines().count()
    );
    let mut documents = vec![root().join("README.md")];
    for entry in std::fs::read_dir(root().join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            documents.push(path);
        }
    }
    let mut broken = Vec::new();
    for document in &documents {
        let text = std::fs::read_to_string(document).unwrap();
        for (at, _) in text.match_indices("](") {
            let target: String = text[at + 2..]
                .chars()
                .take_while(|c| *c != ')' && *c != '#')
                .collect();
            if target.is_empty() || target.contains("://") {
                continue;
            }
            if !document.parent().unwrap().join(&target).exists() {
                broken.push(format!("{}: {target}", document.display()));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "links that lead nowhere:\n{}",
        broken.join("\n")
    );
}

#[test]
fn the_length_check_sees_a_long_function_and_its_reason() {
    let body = "    x += 1;\n".repeat(90);
    let long = format!("fn long() {{\n    let s = \"}}\"; // {{\n{body}}}\n");
    let code = code_only(&long);
    assert!(
        !code.contains('"') && code.matches('{').count() == 1,
        "{code}"
    );
}
