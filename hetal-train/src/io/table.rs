//! CSV inputs: features as rows of numbers, labels as one integer per line
//! (no header line).

use std::path::Path;

use super::{FileError, Problem};
use crate::linalg::Matrix;

fn reader(path: &Path) -> Result<csv::Reader<std::fs::File>, FileError> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|e| {
            FileError::bad(
                path,
                Problem::NotANumber {
                    line: 0,
                    field: e.to_string(),
                },
            )
        })
}

fn records(path: &Path) -> Result<Vec<(usize, csv::StringRecord)>, FileError> {
    reader(path)?
        .records()
        .enumerate()
        .map(|(i, r)| {
            r.map(|rec| (i + 1, rec)).map_err(|e| match e.into_kind() {
                csv::ErrorKind::Io(io) => FileError::io(path, io),
                other => FileError::bad(
                    path,
                    Problem::NotANumber {
                        line: i + 1,
                        field: format!("{other:?}"),
                    },
                ),
            })
        })
        .collect()
}

/// Reads a CSV matrix of numbers (every line the same number of fields).
pub fn read_csv_matrix(path: &Path) -> Result<Matrix, FileError> {
    let rows = records(path)?;
    let cols = rows.first().map_or(0, |(_, r)| r.len());
    let mut data = Vec::with_capacity(rows.len() * cols);
    for (line, rec) in &rows {
        if rec.len() != cols {
            return Err(FileError::bad(
                path,
                Problem::Ragged {
                    line: *line,
                    got: rec.len(),
                    want: cols,
                },
            ));
        }
        for field in rec {
            let x: f64 = field.parse().map_err(|_| {
                FileError::bad(
                    path,
                    Problem::NotANumber {
                        line: *line,
                        field: field.to_string(),
                    },
                )
            })?;
            data.push(x);
        }
    }
    Matrix::new(rows.len(), cols, data)
        .map_err(|e| FileError::bad(path, Problem::NotNpy(e.to_string())))
}

/// Reads CSV labels: one integer per line.
pub fn read_csv_labels(path: &Path) -> Result<Vec<i64>, FileError> {
    records(path)?
        .into_iter()
        .map(|(line, rec)| {
            let field = rec.get(0).unwrap_or("");
            if rec.len() != 1 {
                return Err(FileError::bad(
                    path,
                    Problem::Ragged {
                        line,
                        got: rec.len(),
                        want: 1,
                    },
                ));
            }
            field.parse().map_err(|_| {
                FileError::bad(
                    path,
                    Problem::NotANumber {
                        line,
                        field: field.to_string(),
                    },
                )
            })
        })
        .collect()
}
