//! Where the offline assets are: `scripts/fetch-assets.sh` installs the
//! model weights and data sets and writes their paths to
//! `.assets/paths.env` (`KEY=path` lines). A variable of the same name in
//! the environment takes precedence.

use std::path::{Path, PathBuf};

/// The `paths.env` files looked at, in order: `$HETAL_ASSETS_ENV`,
/// `./.assets/paths.env`, and the one of the source checkout hetal was built from.
fn env_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    if let Some(p) = std::env::var_os("HETAL_ASSETS_ENV") {
        files.push(PathBuf::from(p));
    }
    files.push(PathBuf::from(".assets/paths.env"));
    files.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.assets/paths.env"));
    files
}

/// The path recorded for `key` (such as `HETAL_MINILM_DIR`), if any, and
/// only if it exists.
pub fn asset_path(key: &str) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(key) {
        return Some(PathBuf::from(p)).filter(|p| p.exists());
    }
    for file in env_files() {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        for line in text.lines() {
            if let Some((k, v)) = line.split_once('=') {
                if k.trim() == key {
                    return Some(PathBuf::from(v.trim())).filter(|p| p.exists());
                }
            }
        }
    }
    None
}

/// [`asset_path`] for tests: when the asset is missing, `None` after saying
/// so on stderr, or a panic when `HETAL_REQUIRE_ASSETS=1` (as CI sets, after
/// running `scripts/fetch-assets.sh`).
pub fn asset_for_test(key: &str) -> Option<PathBuf> {
    let found = asset_path(key);
    if found.is_none() {
        let required = std::env::var("HETAL_REQUIRE_ASSETS").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "{key} not found: run scripts/fetch-assets.sh (HETAL_REQUIRE_ASSETS=1)"
        );
        eprintln!("SKIPPED: {key} not found; run scripts/fetch-assets.sh to run this test");
    }
    found
}
