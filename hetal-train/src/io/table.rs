//! CSV inputs, read by one mechanism: features as rows of numbers and
//! labels as one integer per line (no header line), and named text columns
//! under a header row (`hetal extract text`).
//!
//! Fields may be quoted (RFC 4180); every record must have as many fields
//! as the first; errors give the 1-based line where the record starts.

use std::path::Path;

use csv::{ByteRecord, ReaderBuilder};

use super::npy::MAX_ELEMENTS;
use super::{FileError, Problem};
use crate::linalg::Matrix;

fn csv_error(path: &Path, e: csv::Error) -> FileError {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => FileError::io(path, io),
        other => FileError::bad(path, Problem::Csv(format!("{other:?}"))),
    }
}

/// Calls `visit(line, record)` for every record of `path` in order, after
/// checking it has as many fields as the first and that the file holds at
/// most [`MAX_ELEMENTS`] fields.
fn for_each_record(
    path: &Path,
    mut visit: impl FnMut(usize, &ByteRecord) -> Result<(), FileError>,
) -> Result<(), FileError> {
    let mut reader = ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_path(path)
        .map_err(|e| csv_error(path, e))?;
    let mut record = ByteRecord::new();
    let mut width = None;
    let mut fields = 0u64;
    while reader
        .read_byte_record(&mut record)
        .map_err(|e| csv_error(path, e))?
    {
        let line = record.position().map_or(0, |p| p.line() as usize);
        let want = *width.get_or_insert(record.len());
        if record.len() != want {
            return Err(FileError::bad(
                path,
                Problem::Ragged {
                    line,
                    got: record.len(),
                    want,
                },
            ));
        }
        fields += record.len() as u64;
        if fields > MAX_ELEMENTS {
            return Err(FileError::bad(
                path,
                Problem::TooLarge {
                    limit: MAX_ELEMENTS,
                },
            ));
        }
        visit(line, &record)?;
    }
    Ok(())
}

/// A field as text (bytes that are not UTF-8 become U+FFFD).
fn text(field: &[u8]) -> String {
    String::from_utf8_lossy(field).into_owned()
}

/// A field parsed as a number, surrounding white space ignored.
fn number<T: std::str::FromStr>(path: &Path, line: usize, field: &[u8]) -> Result<T, FileError> {
    let field = text(field);
    field.trim().parse().map_err(|_| {
        FileError::bad(
            path,
            Problem::NotANumber {
                line,
                field: field.clone(),
            },
        )
    })
}

/// Reads a CSV matrix of numbers (every line the same number of fields).
pub fn read_csv_matrix(path: &Path) -> Result<Matrix, FileError> {
    let (mut rows, mut cols, mut data) = (0, 0, Vec::new());
    for_each_record(path, |line, record| {
        rows += 1;
        cols = record.len();
        for field in record {
            data.push(number(path, line, field)?);
        }
        Ok(())
    })?;
    Matrix::new(rows, cols, data).map_err(|e| FileError::bad(path, Problem::Csv(e.to_string())))
}

/// Reads CSV labels: one integer per line.
pub fn read_csv_labels(path: &Path) -> Result<Vec<i64>, FileError> {
    let mut labels = Vec::new();
    for_each_record(path, |line, record| {
        if record.len() != 1 {
            return Err(FileError::bad(
                path,
                Problem::Ragged {
                    line,
                    got: record.len(),
                    want: 1,
                },
            ));
        }
        labels.push(number(path, line, &record[0])?);
        Ok(())
    })?;
    Ok(labels)
}

/// Reads the named columns of a CSV file whose first record is a header
/// row: one `Vec` per name, one string per data row, as written (bytes that
/// are not UTF-8 become U+FFFD, as Python's `errors="replace"` does). A
/// missing column, or a file without data rows, is an error.
pub fn read_csv_columns(path: &Path, names: &[&str]) -> Result<Vec<Vec<String>>, FileError> {
    let mut columns: Vec<Vec<String>> = vec![Vec::new(); names.len()];
    let mut picked: Option<Vec<usize>> = None;
    for_each_record(path, |_, record| {
        let Some(at) = &picked else {
            let header: Vec<String> = record.iter().map(text).collect();
            let position = |name: &str| {
                header
                    .iter()
                    .position(|h| h.trim_start_matches('\u{feff}') == name)
                    .ok_or_else(|| {
                        FileError::bad(
                            path,
                            Problem::MissingColumn {
                                column: name.to_string(),
                                available: header.clone(),
                            },
                        )
                    })
            };
            picked = Some(
                names
                    .iter()
                    .map(|n| position(n))
                    .collect::<Result<_, _>>()?,
            );
            return Ok(());
        };
        for (column, &i) in columns.iter_mut().zip(at) {
            column.push(text(&record[i]));
        }
        Ok(())
    })?;
    if picked.is_none() || columns.first().is_some_and(Vec::is_empty) {
        return Err(FileError::bad(path, Problem::Empty));
    }
    Ok(columns)
}
