//! `.npy` output (features `<f4`, labels `<i8`), `.npy` image input, and
//! atomic file writes (a temporary file in the same directory, renamed).
//!
//! Kept inside `extract` for now; the `io` module of `hetal encrypt` has its
//! own reader and the two are to be unified.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use npyz::WriterBuilder;

use super::ExtractError;

/// Writes a file through `fill`, atomically: the bytes go to a temporary file
/// beside `path`, which is flushed, synced and renamed over `path`. On error
/// the temporary file is removed and `path` is untouched.
pub fn write_atomic(
    path: &Path,
    fill: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> Result<(), ExtractError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut out = BufWriter::new(File::create(&tmp)?);
        fill(&mut out)?;
        out.flush()?;
        out.get_ref().sync_all()?;
        drop(out);
        std::fs::rename(&tmp, path)
    })();
    result.map_err(|source| {
        // Best effort: the temporary file may not exist.
        let _ = std::fs::remove_file(&tmp);
        ExtractError::io(path, source)
    })
}

/// Writes a `rows x dim` row-major `f32` matrix as a C-order `<f4` `.npy`.
pub fn write_matrix(
    path: &Path,
    rows: usize,
    dim: usize,
    data: &[f32],
) -> Result<(), ExtractError> {
    assert_eq!(
        data.len(),
        rows * dim,
        "matrix data does not match its shape"
    );
    write_atomic(path, |w| {
        let mut writer = npyz::WriteOptions::new()
            .default_dtype()
            .shape(&[rows as u64, dim as u64])
            .writer(w)
            .begin_nd()?;
        writer.extend(data.iter().copied())?;
        writer.finish()
    })
}

/// Writes integer labels as a one-dimensional `<i8` `.npy`.
pub fn write_labels(path: &Path, labels: &[i64]) -> Result<(), ExtractError> {
    write_atomic(path, |w| {
        let mut writer = npyz::WriteOptions::new()
            .default_dtype()
            .shape(&[labels.len() as u64])
            .writer(w)
            .begin_nd()?;
        writer.extend(labels.iter().copied())?;
        writer.finish()
    })
}

/// Reads a two-dimensional `<f4` or `<f8` C-order matrix: `(rows, cols, values)`.
pub fn read_matrix(path: &Path) -> Result<(usize, usize, Vec<f64>), ExtractError> {
    let npy_err = |source| ExtractError::Npy {
        path: path.to_path_buf(),
        source,
    };
    let bad = |what: String| ExtractError::BadArray {
        path: path.to_path_buf(),
        what,
    };
    let file = File::open(path).map_err(|e| ExtractError::io(path, e))?;
    let npy = npyz::NpyFile::new(std::io::BufReader::new(file)).map_err(npy_err)?;
    let (rows, cols) = match npy.shape()[..] {
        [r, c] if npy.order() == npyz::Order::C => (r as usize, c as usize),
        _ => {
            return Err(bad(format!(
                "expected a C-order matrix, not shape {:?}",
                npy.shape()
            )))
        }
    };
    let type_str = match npy.dtype() {
        npyz::DType::Plain(t) => t.to_string(),
        other => format!("{other:?}"),
    };
    let values = match type_str.as_str() {
        "<f4" => npy
            .into_vec::<f32>()
            .map_err(npy_err)?
            .into_iter()
            .map(f64::from)
            .collect(),
        "<f8" => npy.into_vec::<f64>().map_err(npy_err)?,
        other => return Err(bad(format!("features are f32 or f64, not {other}"))),
    };
    Ok((rows, cols, values))
}

/// A stack of images from an `.npy` file, as intensities in [0, 255].
#[derive(Debug, Clone, PartialEq)]
pub struct ImageStack {
    /// Number of images.
    pub count: usize,
    /// Height in pixels.
    pub height: usize,
    /// Width in pixels.
    pub width: usize,
    /// Channels per pixel: 1 (grey) or 3 (RGB).
    pub channels: usize,
    /// `count * height * width * channels` values, image-major, then row,
    /// column, channel (NumPy's C order of an `(N, H, W, C)` array).
    pub pixels: Vec<f32>,
}

/// Largest image stack read from an `.npy` file (elements).
const MAX_STACK_ELEMENTS: u64 = 1 << 32;

/// Reads an image stack: shape `(N, H, W)` (grey) or `(N, H, W, C)` with
/// C = 1 or 3, C order, dtype `u8` (0-255) or `f32`/`f64` (taken as 0-255).
pub fn read_image_stack(path: &Path) -> Result<ImageStack, ExtractError> {
    let npy_err = |source| ExtractError::Npy {
        path: path.to_path_buf(),
        source,
    };
    let bad = |what: String| ExtractError::BadArray {
        path: path.to_path_buf(),
        what,
    };
    let file = File::open(path).map_err(|e| ExtractError::io(path, e))?;
    let npy = npyz::NpyFile::new(std::io::BufReader::new(file)).map_err(npy_err)?;
    let shape = npy.shape().to_vec();
    if npy.order() != npyz::Order::C {
        return Err(bad("image arrays must be in C order".into()));
    }
    let (count, height, width, channels) = match shape[..] {
        [n, h, w] => (n, h, w, 1),
        [n, h, w, c] if c == 1 || c == 3 => (n, h, w, c),
        _ => {
            return Err(bad(format!(
                "image arrays have shape (N, H, W) or (N, H, W, C) with C = 1 or 3, not {shape:?}"
            )))
        }
    };
    let elements = shape.iter().try_fold(1u64, |a, &d| a.checked_mul(d));
    if elements.is_none_or(|e| e > MAX_STACK_ELEMENTS) || height == 0 || width == 0 {
        return Err(bad(format!("unusable image array shape {shape:?}")));
    }
    let type_str = match npy.dtype() {
        npyz::DType::Plain(t) => t.to_string(),
        other => return Err(bad(format!("unsupported dtype {other:?}"))),
    };
    let pixels: Vec<f32> = match type_str.as_str() {
        "|u1" => npy
            .into_vec::<u8>()
            .map_err(npy_err)?
            .into_iter()
            .map(f32::from)
            .collect(),
        "<f4" => npy.into_vec::<f32>().map_err(npy_err)?,
        "<f8" => npy
            .into_vec::<f64>()
            .map_err(npy_err)?
            .into_iter()
            .map(|v| v as f32)
            .collect(),
        other => return Err(bad(format!("image arrays are u8, f32 or f64, not {other}"))),
    };
    Ok(ImageStack {
        count: count as usize,
        height: height as usize,
        width: width as usize,
        channels: channels as usize,
        pixels,
    })
}

/// Reads integer labels from a one-dimensional `.npy` (any signed or unsigned
/// integer dtype up to 64 bits).
pub fn read_labels(path: &Path) -> Result<Vec<i64>, ExtractError> {
    let npy_err = |source| ExtractError::Npy {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(|e| ExtractError::io(path, e))?;
    let npy = npyz::NpyFile::new(std::io::BufReader::new(file)).map_err(npy_err)?;
    if npy.shape().len() != 1 {
        return Err(ExtractError::BadArray {
            path: path.to_path_buf(),
            what: format!("labels must be one-dimensional, not {:?}", npy.shape()),
        });
    }
    let type_str = match npy.dtype() {
        npyz::DType::Plain(t) => t.to_string(),
        other => format!("{other:?}"),
    };
    let widen = |v: Vec<i64>| Ok(v);
    match type_str.as_str() {
        "<i8" => widen(npy.into_vec::<i64>().map_err(npy_err)?),
        "<i4" => widen(
            npy.into_vec::<i32>()
                .map_err(npy_err)?
                .into_iter()
                .map(i64::from)
                .collect(),
        ),
        "|u1" => widen(
            npy.into_vec::<u8>()
                .map_err(npy_err)?
                .into_iter()
                .map(i64::from)
                .collect(),
        ),
        "|i1" => widen(
            npy.into_vec::<i8>()
                .map_err(npy_err)?
                .into_iter()
                .map(i64::from)
                .collect(),
        ),
        "<u8" => npy
            .into_vec::<u64>()
            .map_err(npy_err)?
            .into_iter()
            .map(|v| {
                i64::try_from(v).map_err(|_| ExtractError::BadArray {
                    path: path.to_path_buf(),
                    what: format!("label {v} out of range"),
                })
            })
            .collect(),
        other => Err(ExtractError::BadArray {
            path: path.to_path_buf(),
            what: format!("labels must be integers, not {other}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("hetal-npy-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn matrix_header_and_data() {
        let dir = scratch("matrix");
        let path = dir.join("x.npy");
        write_matrix(&path, 2, 3, &[1.0, 2.0, 3.0, 4.0, 5.0, -6.5]).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..6], b"\x93NUMPY");
        let header = String::from_utf8_lossy(&bytes[10..bytes.len() - 24]);
        assert!(header.contains("'descr': '<f4'"), "{header}");
        let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
        assert_eq!(npy.shape(), &[2, 3]);
        assert_eq!(npy.order(), npyz::Order::C);
        assert_eq!(
            npy.into_vec::<f32>().unwrap(),
            [1.0, 2.0, 3.0, 4.0, 5.0, -6.5]
        );
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn matrix_round_trip() {
        let dir = scratch("read-matrix");
        let path = dir.join("x.npy");
        write_matrix(&path, 2, 2, &[1.5, -2.0, 0.25, 8.0]).unwrap();
        assert_eq!(
            read_matrix(&path).unwrap(),
            (2, 2, vec![1.5, -2.0, 0.25, 8.0])
        );
        write_labels(&path, &[1, 2]).unwrap();
        assert!(matches!(
            read_matrix(&path),
            Err(ExtractError::BadArray { .. })
        ));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn labels_round_trip() {
        let dir = scratch("labels");
        let path = dir.join("y.npy");
        write_labels(&path, &[3, 0, 2]).unwrap();
        assert_eq!(read_labels(&path).unwrap(), [3, 0, 2]);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn failed_write_leaves_target_untouched() {
        let dir = scratch("atomic");
        let path = dir.join("y.npy");
        std::fs::write(&path, b"old").unwrap();
        let err = write_atomic(&path, |_| Err(std::io::Error::other("disk full"))).unwrap_err();
        assert!(matches!(err, ExtractError::Io { .. }));
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn image_stack_shapes() {
        let dir = scratch("stack");
        let path = dir.join("imgs.npy");
        let mut bytes = Vec::new();
        {
            let mut w = npyz::WriteOptions::new()
                .default_dtype()
                .shape(&[2, 2, 3])
                .writer(&mut bytes)
                .begin_nd()
                .unwrap();
            w.extend((0u8..12).map(|v| v * 20)).unwrap();
            w.finish().unwrap();
        }
        std::fs::write(&path, &bytes).unwrap();
        let stack = read_image_stack(&path).unwrap();
        assert_eq!(
            (stack.count, stack.height, stack.width, stack.channels),
            (2, 2, 3, 1)
        );
        assert_eq!(stack.pixels[11], 220.0);
        // A two-dimensional array is refused with a clear error.
        write_matrix(&path, 2, 2, &[0.0; 4]).unwrap();
        let err = read_image_stack(&path).unwrap_err().to_string();
        assert!(err.contains("(N, H, W)"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
