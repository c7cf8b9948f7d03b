//! Files of the key owner and the producers: NumPy `.npy` and CSV inputs,
//! the model directory, and atomic writes (temporary file, fsync, rename).
//! The `.npy` and CSV readers and writers here are the crate's only ones
//! (`hetal extract` reads and writes through them too).
//!
//! Every error names the file and the problem in one line; malformed input
//! is an error, never a panic, and sizes are limited before allocation.

pub mod model;
mod npy;
pub mod plot;
mod table;

pub use npy::{
    read_npy_f32, read_npy_labels, read_npy_matrix, write_npy, write_npy_matrix, NpyArray,
    NpyElement, MAX_DIMS, MAX_ELEMENTS, MAX_HEADER,
};
pub use table::{read_csv_columns, read_csv_labels, read_csv_matrix};

use std::io::Write;
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::linalg::Matrix;

/// What is wrong with an input file.
#[derive(Debug, Error, PartialEq)]
pub enum Problem {
    /// Neither `.npy` nor `.csv`.
    #[error("unknown file type (expected .npy or .csv)")]
    UnknownExtension,
    /// Not a readable NumPy file.
    #[error("not a valid .npy file: {0}")]
    NotNpy(String),
    /// An element type this reader does not take.
    #[error("unsupported dtype {0} (features: float32/float64; labels: integers)")]
    Dtype(String),
    /// Fortran-ordered arrays are not read.
    #[error("Fortran-ordered arrays are not supported (save with np.ascontiguousarray)")]
    FortranOrder,
    /// The array has the wrong number of dimensions.
    #[error("expected a {want}-D array, found shape {got:?}")]
    Dimensions {
        /// Dimensions expected.
        want: usize,
        /// Shape found.
        got: Vec<u64>,
    },
    /// No rows.
    #[error("no samples")]
    Empty,
    /// A NaN or infinite feature.
    #[error("non-finite value at row {row}, column {col}")]
    NonFinite {
        /// Row (from 0).
        row: usize,
        /// Column (from 0).
        col: usize,
    },
    /// A label outside `0..classes`.
    #[error("label {label} at row {row} is outside 0..{classes}")]
    LabelRange {
        /// Row (from 0).
        row: usize,
        /// The label.
        label: i64,
        /// Classes of the job.
        classes: usize,
    },
    /// The feature count differs from the job's.
    #[error("{got} features per sample, the job declares {want}")]
    FeatureCount {
        /// Columns found.
        got: usize,
        /// Columns the job declares.
        want: usize,
    },
    /// Rows of different lengths in a CSV file.
    #[error("line {line}: {got} fields, expected {want}")]
    Ragged {
        /// 1-based line.
        line: usize,
        /// Fields found.
        got: usize,
        /// Fields of the first line.
        want: usize,
    },
    /// A field that is not a number.
    #[error("line {line}: `{field}` is not a number")]
    NotANumber {
        /// 1-based line.
        line: usize,
        /// The field.
        field: String,
    },
    /// Features and labels of different lengths.
    #[error("{features} feature rows but {labels} labels")]
    RowMismatch {
        /// Feature rows.
        features: usize,
        /// Labels.
        labels: usize,
    },
    /// More elements (`.npy`) or fields (CSV) than a file may hold.
    #[error("more than {limit} elements")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// The `.npy` data is shorter or longer than its header announces.
    #[error("{found} bytes of data, the header announces {expected}")]
    Length {
        /// Bytes the header announces.
        expected: u64,
        /// Bytes after the header.
        found: u64,
    },
    /// An unsigned integer too large for a signed 64-bit label.
    #[error("the integer at index {index} does not fit in 64 signed bits")]
    IntegerOverflow {
        /// Element index (from 0).
        index: usize,
    },
    /// Data to write does not fill the shape given.
    #[error("{len} values do not fill shape {shape:?}")]
    ShapeMismatch {
        /// The shape.
        shape: Vec<u64>,
        /// Values given.
        len: usize,
    },
    /// An array shape the reader cannot use.
    #[error("expected {expected}, found shape {got:?}")]
    Shape {
        /// What is expected.
        expected: &'static str,
        /// Shape found.
        got: Vec<u64>,
    },
    /// A CSV header row lacks a requested column.
    #[error("no column `{column}` (columns: {available:?})")]
    MissingColumn {
        /// The requested column.
        column: String,
        /// The header's columns.
        available: Vec<String>,
    },
    /// The CSV parser failed.
    #[error("CSV: {0}")]
    Csv(String),
}

/// An error reading or writing a file.
#[derive(Debug, Error)]
pub enum FileError {
    /// The operating system refused.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The contents are wrong.
    #[error("{path}: {problem}")]
    Bad {
        /// The file.
        path: PathBuf,
        /// The problem.
        problem: Problem,
    },
}

impl FileError {
    /// An I/O error on `path`.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        FileError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// A content problem of `path`.
    pub fn bad(path: &Path, problem: Problem) -> Self {
        FileError::Bad {
            path: path.to_path_buf(),
            problem,
        }
    }
}

/// Writes `path` atomically: a temporary file in the same directory,
/// written by `fill`, fsynced, renamed over `path`, then the directory is
/// fsynced. A crash leaves either the old file or the new one.
pub fn write_atomic(
    path: &Path,
    fill: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> Result<(), FileError> {
    write_atomic_mode(path, None, fill)
}

/// [`write_atomic`] creating the file with Unix permission bits `mode`
/// (for example `0o600` for a secret key) before any byte is written.
pub fn write_atomic_mode(
    path: &Path,
    mode: Option<u32>,
    fill: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> Result<(), FileError> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        if let Some(mode) = mode {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(mode);
        }
        #[cfg(not(unix))]
        let _ = mode;
        let mut file = options.open(&tmp)?;
        fill(&mut file)?;
        file.flush()?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, path)?;
        if let Ok(d) = std::fs::File::open(dir) {
            d.sync_all()?;
        }
        Ok(())
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        FileError::io(path, e)
    })
}

/// Kind of an input file, by extension.
fn is_npy(path: &Path) -> Result<bool, FileError> {
    match path.extension().and_then(|e| e.to_str()) {
        Some(e) if e.eq_ignore_ascii_case("npy") => Ok(true),
        Some(e) if e.eq_ignore_ascii_case("csv") => Ok(false),
        _ => Err(FileError::bad(path, Problem::UnknownExtension)),
    }
}

/// Reads a features file (`.npy` float32/float64 2-D, or CSV of numbers)
/// and checks it has `features` columns (when given) and finite values.
pub fn read_features(path: &Path, features: Option<usize>) -> Result<Matrix, FileError> {
    let m = if is_npy(path)? {
        read_npy_matrix(path)?
    } else {
        read_csv_matrix(path)?
    };
    if m.rows() == 0 {
        return Err(FileError::bad(path, Problem::Empty));
    }
    if let Some(want) = features {
        if m.cols() != want {
            return Err(FileError::bad(
                path,
                Problem::FeatureCount {
                    got: m.cols(),
                    want,
                },
            ));
        }
    }
    for r in 0..m.rows() {
        if let Some(col) = m.row(r).iter().position(|x| !x.is_finite()) {
            return Err(FileError::bad(path, Problem::NonFinite { row: r, col }));
        }
    }
    Ok(m)
}

/// Reads a labels file (`.npy` integers 1-D, or CSV with one integer per
/// line) and checks every label is in `0..classes`.
pub fn read_labels(path: &Path, classes: usize) -> Result<Vec<usize>, FileError> {
    let raw = if is_npy(path)? {
        read_npy_labels(path)?
    } else {
        read_csv_labels(path)?
    };
    if raw.is_empty() {
        return Err(FileError::bad(path, Problem::Empty));
    }
    raw.iter()
        .enumerate()
        .map(|(row, &label)| {
            usize::try_from(label)
                .ok()
                .filter(|&l| l < classes)
                .ok_or_else(|| {
                    FileError::bad(
                        path,
                        Problem::LabelRange {
                            row,
                            label,
                            classes,
                        },
                    )
                })
        })
        .collect()
}

/// Reads features and labels and checks they have as many rows.
pub fn read_labelled(
    features: &Path,
    labels: &Path,
    job_features: usize,
    classes: usize,
) -> Result<crate::data::Dataset, FileError> {
    let x = read_features(features, Some(job_features))?;
    let y = read_labels(labels, classes)?;
    if x.rows() != y.len() {
        return Err(FileError::bad(
            labels,
            Problem::RowMismatch {
                features: x.rows(),
                labels: y.len(),
            },
        ));
    }
    Ok(crate::data::Dataset {
        features: x,
        labels: y,
        classes,
    })
}

#[cfg(test)]
mod tests;
