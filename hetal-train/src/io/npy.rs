//! NumPy `.npy` files (through `npyz`).

use std::io::BufReader;
use std::path::Path;

use npyz::{DType, TypeChar, WriterBuilder};

use super::{write_atomic, FileError, Problem};
use crate::linalg::Matrix;

/// Largest element count read from one file (2^31 values).
const MAX_ELEMENTS: u64 = 1 << 31;

fn open(path: &Path) -> Result<npyz::NpyFile<BufReader<std::fs::File>>, FileError> {
    let file = std::fs::File::open(path).map_err(|e| FileError::io(path, e))?;
    let npy = npyz::NpyFile::new(BufReader::new(file))
        .map_err(|e| FileError::bad(path, Problem::NotNpy(e.to_string())))?;
    if npy.order() == npyz::Order::Fortran {
        return Err(FileError::bad(path, Problem::FortranOrder));
    }
    if npy.shape().iter().product::<u64>() > MAX_ELEMENTS {
        return Err(FileError::bad(
            path,
            Problem::NotNpy(format!("more than {MAX_ELEMENTS} elements")),
        ));
    }
    Ok(npy)
}

fn type_of(dtype: &DType) -> Option<(TypeChar, u64)> {
    match dtype {
        DType::Plain(t) => Some((t.type_char(), t.size_field())),
        _ => None,
    }
}

fn read_err(path: &Path) -> impl Fn(std::io::Error) -> FileError + '_ {
    move |e| FileError::bad(path, Problem::NotNpy(e.to_string()))
}

/// Reads a 2-D float32 or float64 array.
pub fn read_npy_matrix(path: &Path) -> Result<Matrix, FileError> {
    let npy = open(path)?;
    let shape = npy.shape().to_vec();
    if shape.len() != 2 {
        return Err(FileError::bad(
            path,
            Problem::Dimensions {
                want: 2,
                got: shape,
            },
        ));
    }
    let dtype = npy.dtype();
    let data: Vec<f64> = match type_of(&dtype) {
        Some((TypeChar::Float, 8)) => npy.into_vec::<f64>().map_err(read_err(path))?,
        Some((TypeChar::Float, 4)) => npy
            .into_vec::<f32>()
            .map_err(read_err(path))?
            .into_iter()
            .map(f64::from)
            .collect(),
        _ => return Err(FileError::bad(path, Problem::Dtype(dtype.descr()))),
    };
    let (rows, cols) = (shape[0] as usize, shape[1] as usize);
    Matrix::new(rows, cols, data).map_err(|e| FileError::bad(path, Problem::NotNpy(e.to_string())))
}

/// Reads a 1-D integer array.
pub fn read_npy_labels(path: &Path) -> Result<Vec<i64>, FileError> {
    let npy = open(path)?;
    let shape = npy.shape().to_vec();
    if shape.len() != 1 {
        return Err(FileError::bad(
            path,
            Problem::Dimensions {
                want: 1,
                got: shape,
            },
        ));
    }
    let dtype = npy.dtype();
    let e = read_err(path);
    let widen = |v: Vec<i64>| Ok::<_, FileError>(v);
    match type_of(&dtype) {
        Some((TypeChar::Int, 8)) => widen(npy.into_vec::<i64>().map_err(e)?),
        Some((TypeChar::Int, 4)) => widen(to_i64(npy.into_vec::<i32>().map_err(e)?)),
        Some((TypeChar::Int, 2)) => widen(to_i64(npy.into_vec::<i16>().map_err(e)?)),
        Some((TypeChar::Int, 1)) => widen(to_i64(npy.into_vec::<i8>().map_err(e)?)),
        Some((TypeChar::Uint, 8)) => widen(
            npy.into_vec::<u64>()
                .map_err(e)?
                .into_iter()
                .map(|x| i64::try_from(x).unwrap_or(i64::MAX))
                .collect(),
        ),
        Some((TypeChar::Uint, 4)) => widen(to_i64(npy.into_vec::<u32>().map_err(e)?)),
        Some((TypeChar::Uint, 2)) => widen(to_i64(npy.into_vec::<u16>().map_err(e)?)),
        Some((TypeChar::Uint, 1)) => widen(to_i64(npy.into_vec::<u8>().map_err(e)?)),
        _ => Err(FileError::bad(path, Problem::Dtype(dtype.descr()))),
    }
}

fn to_i64<T: Into<i64>>(v: Vec<T>) -> Vec<i64> {
    v.into_iter().map(Into::into).collect()
}

/// Writes a matrix as a 2-D float64 `.npy` file, atomically.
pub fn write_npy_matrix(path: &Path, m: &Matrix) -> Result<(), FileError> {
    write_atomic(path, |file| {
        let mut w = npyz::WriteOptions::new()
            .default_dtype()
            .shape(&[m.rows() as u64, m.cols() as u64])
            .writer(std::io::BufWriter::new(file))
            .begin_nd()?;
        w.extend(m.data().iter().copied())?;
        w.finish()
    })
}
