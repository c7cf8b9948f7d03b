//! Class names and label encoding.

use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::ExtractError;
use crate::io::write_atomic;

/// Encodes label strings as class indices.
///
/// The classes are the distinct labels in ascending order: numerically when
/// every label is an integer (so `"2"` comes before `"10"`), otherwise by
/// their bytes. Returns the indices (one per input) and the class names.
pub fn encode_labels<S: AsRef<str>>(labels: &[S]) -> (Vec<i64>, Vec<String>) {
    let distinct: BTreeSet<&str> = labels.iter().map(|s| s.as_ref()).collect();
    let mut classes: Vec<String> = distinct.into_iter().map(str::to_string).collect();
    let numeric: Option<Vec<i64>> = classes.iter().map(|c| c.trim().parse().ok()).collect();
    if let Some(values) = numeric {
        let mut keyed: Vec<(i64, String)> = values.into_iter().zip(classes).collect();
        keyed.sort();
        classes = keyed.into_iter().map(|(_, c)| c).collect();
    }
    let index: HashMap<&str, i64> = classes
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i as i64))
        .collect();
    let encoded = labels.iter().map(|s| index[s.as_ref()]).collect();
    (encoded, classes)
}

/// Where the class names of `labels_path` go: `y.npy` -> `y.classes.json`.
pub fn classes_path(labels_path: &Path) -> PathBuf {
    let stem = labels_path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "labels".to_string());
    labels_path.with_file_name(format!("{stem}.classes.json"))
}

/// Writes the class names as a JSON array (index `i` names label `i`), atomically.
pub fn write_classes(path: &Path, classes: &[String]) -> Result<(), ExtractError> {
    let mut bytes = serde_json::to_vec_pretty(classes).map_err(|source| ExtractError::Json {
        path: path.to_path_buf(),
        source,
    })?;
    bytes.push(b'\n');
    Ok(write_atomic(path, |w| w.write_all(&bytes))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_labels_sort_numerically() {
        let (y, classes) = encode_labels(&["10", "2", "2", "0"]);
        assert_eq!(classes, ["0", "2", "10"]);
        assert_eq!(y, [2, 1, 1, 0]);
    }

    #[test]
    fn text_labels_sort_by_bytes() {
        let (y, classes) = encode_labels(&["pos", "neg", "neutral", "neg"]);
        assert_eq!(classes, ["neg", "neutral", "pos"]);
        assert_eq!(y, [2, 0, 1, 0]);
    }

    #[test]
    fn classes_file_sits_beside_the_labels() {
        assert_eq!(
            classes_path(Path::new("out/y.npy")),
            Path::new("out/y.classes.json")
        );
    }
}
