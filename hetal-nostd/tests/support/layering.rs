//! The layer check shared by the crates' `tests/layering.rs`: every
//! `crate::` path in a module's non-test code must name a module of the
//! same or a lower layer.

use std::path::Path;

/// Violations of `layers` (lowest first) in the crate whose sources are in
/// `src`: one line per offending path, or per module missing from `layers`.
pub fn crate_violations(src: &Path, layers: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    let mut files = Vec::new();
    collect(src, &mut files);
    files.sort();
    for file in files {
        let rel = file.strip_prefix(src).expect("file under src");
        let parts: Vec<String> = rel
            .iter()
            .map(|c| c.to_string_lossy().into_owned())
            .collect();
        if parts.len() == 1 && (parts[0] == "lib.rs" || parts[0] == "main.rs") {
            continue;
        }
        if parts[0] == "bin" || is_test_file(&parts) {
            continue;
        }
        let module = parts[0].trim_end_matches(".rs");
        let text = std::fs::read_to_string(&file).expect("readable source");
        for v in file_violations(module, &text, layers) {
            out.push(format!("{}: {v}", rel.display()));
        }
    }
    out
}

/// Violations in one file of top-level module `module`.
pub fn file_violations(module: &str, text: &str, layers: &[&str]) -> Vec<String> {
    let Some(own) = layers.iter().position(|&l| l == module) else {
        return vec![format!("module `{module}` is not in the layer list")];
    };
    let mut out = Vec::new();
    for (n, line) in non_test_lines(text) {
        if line.trim_start().starts_with("//") {
            continue;
        }
        for (i, _) in line.match_indices("crate::") {
            if i > 0 && is_ident_char(line.as_bytes()[i - 1]) {
                continue; // e.g. `hetal_nostd::...::crate::` never occurs; `foocrate::` is not ours
            }
            let rest = &line[i + "crate::".len()..];
            let name: String = rest
                .bytes()
                .take_while(|&b| is_ident_char(b))
                .map(char::from)
                .collect();
            if let Some(target) = layers.iter().position(|&l| l == name) {
                if target > own {
                    out.push(format!(
                        "line {n}: `{module}` (layer {own}) uses `crate::{name}` (layer {target})"
                    ));
                }
            }
        }
    }
    out
}

fn is_ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Files compiled only for tests: `tests.rs`, `*_tests.rs`, anything under
/// a `tests/` folder.
fn is_test_file(parts: &[String]) -> bool {
    let (last, dirs) = parts.split_last().expect("non-empty path");
    last == "tests.rs" || last.ends_with("_tests.rs") || dirs.iter().any(|d| d == "tests")
}

/// The numbered lines of `text` outside `#[cfg(test)]` items (a `mod x;`
/// line or a block closed by a `}` in the first column).
fn non_test_lines(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((i, line)) = lines.next() {
        if line.trim() == "#[cfg(test)]" {
            if let Some((_, item)) = lines.next() {
                if item.trim_end().ends_with('{') {
                    for (_, l) in lines.by_ref() {
                        if l.starts_with('}') {
                            break;
                        }
                    }
                }
            }
            continue;
        }
        out.push((i + 1, line));
    }
    out
}

fn collect(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            collect(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

/// The check itself catches what it should (and skips test code).
pub fn self_test() {
    let layers = ["low", "high"];
    let bad = "use crate::high::Thing;\n";
    assert_eq!(file_violations("low", bad, &layers).len(), 1);
    assert!(file_violations("high", "use crate::low::X;\n", &layers).is_empty());
    let in_tests = "fn f() {}\n#[cfg(test)]\nmod tests {\n    use crate::high::Thing;\n}\n";
    assert!(file_violations("low", in_tests, &layers).is_empty());
    let after_tests = "#[cfg(test)]\nmod tests;\nuse crate::high::Thing;\n";
    assert_eq!(file_violations("low", after_tests, &layers).len(), 1);
    assert!(file_violations("low", "// see crate::high\n", &layers).is_empty());
    assert_eq!(file_violations("middle", "", &layers).len(), 1);
}
