//! CSV input for text extraction: a text column and a label column.

use std::path::Path;

use super::ExtractError;

/// Texts and their (string) labels read from a CSV file.
#[derive(Debug, Clone, PartialEq)]
pub struct TextTable {
    /// One text per row.
    pub texts: Vec<String>,
    /// One label per row, as written in the file.
    pub labels: Vec<String>,
}

/// Reads `text_column` and `label_column` of a CSV file with a header row.
///
/// Fields may be quoted (RFC 4180); rows with a different number of fields
/// than the header are an error. A file with no data rows is an error.
/// Bytes that are not UTF-8 (common in scraped text) become U+FFFD, as
/// Python's `errors="replace"` does.
pub fn read_text_csv(
    path: &Path,
    text_column: &str,
    label_column: &str,
) -> Result<TextTable, ExtractError> {
    let csv_err = |source| ExtractError::Csv {
        path: path.to_path_buf(),
        source,
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_path(path)
        .map_err(csv_err)?;
    let header: Vec<String> = reader
        .byte_headers()
        .map_err(csv_err)?
        .iter()
        .map(|h| String::from_utf8_lossy(h).into_owned())
        .collect();
    let column = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| ExtractError::MissingColumn {
                path: path.to_path_buf(),
                column: name.to_string(),
                available: header.clone(),
            })
    };
    let (text_at, label_at) = (column(text_column)?, column(label_column)?);
    let mut table = TextTable {
        texts: Vec::new(),
        labels: Vec::new(),
    };
    for record in reader.byte_records() {
        let record = record.map_err(csv_err)?;
        // The reader checks each row's length against the header.
        table
            .texts
            .push(String::from_utf8_lossy(&record[text_at]).into_owned());
        table.labels.push(
            String::from_utf8_lossy(&record[label_at])
                .trim()
                .to_string(),
        );
    }
    if table.texts.is_empty() {
        return Err(ExtractError::EmptyInput {
            path: path.to_path_buf(),
        });
    }
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, body: &str) -> std::path::PathBuf {
        let path =
            std::env::temp_dir().join(format!("hetal-csv-{}-{name}.csv", std::process::id()));
        std::fs::write(&path, body).unwrap();
        path
    }

    #[test]
    fn reads_quoted_fields_and_picks_columns() {
        let path = write(
            "ok",
            "id,label,text\n1,pos,\"great, really\"\n2, neg ,\"said \"\"no\"\"\nline two\"\n",
        );
        let t = read_text_csv(&path, "text", "label").unwrap();
        assert_eq!(t.texts, ["great, really", "said \"no\"\nline two"]);
        assert_eq!(t.labels, ["pos", "neg"]);
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        let path =
            std::env::temp_dir().join(format!("hetal-csv-{}-latin1.csv", std::process::id()));
        std::fs::write(&path, b"text,label\ncaf\xe9 ok,1\n").unwrap();
        let t = read_text_csv(&path, "text", "label").unwrap();
        assert_eq!(t.texts, ["caf\u{fffd} ok"]);
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn missing_column_names_the_columns() {
        let path = write("missing", "a,b\n1,2\n");
        let err = read_text_csv(&path, "text", "b").unwrap_err();
        assert!(matches!(err, ExtractError::MissingColumn { ref column, .. } if column == "text"));
        assert!(err.to_string().contains("[\"a\", \"b\"]"), "{err}");
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn ragged_rows_and_empty_files_are_errors() {
        let ragged = write("ragged", "text,label\nhello,1\nworld\n");
        assert!(matches!(
            read_text_csv(&ragged, "text", "label"),
            Err(ExtractError::Csv { .. })
        ));
        let empty = write("empty", "text,label\n");
        assert!(matches!(
            read_text_csv(&empty, "text", "label"),
            Err(ExtractError::EmptyInput { .. })
        ));
        std::fs::remove_file(ragged).unwrap();
        std::fs::remove_file(empty).unwrap();
    }
}
