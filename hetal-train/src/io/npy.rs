//! NumPy `.npy` files, read and written here (format versions 1.0 to 3.0,
//! C order, floats and integers of either byte order). The one `.npy`
//! mechanism of the crate: `hetal encrypt`'s inputs, the model directory,
//! and `hetal extract`'s image stacks and outputs.
//!
//! The reader trusts nothing in a file: the header is at most
//! [`MAX_HEADER`] bytes and must be a plain `{'descr': …, 'fortran_order':
//! …, 'shape': (…)}` literal, the element count is computed with checked
//! arithmetic and limited to [`MAX_ELEMENTS`], and the data must have
//! exactly the length the header announces before anything is allocated
//! for it. (npyz, used before, multiplies the shape unchecked, so a
//! 100-byte file made it panic where overflow checks are on.)

use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

use super::{write_atomic, FileError, Problem};
use crate::linalg::Matrix;

/// Largest element count read from one file (2^32).
pub const MAX_ELEMENTS: u64 = 1 << 32;
/// Largest header read (NumPy writes headers of 118 bytes or so).
pub const MAX_HEADER: usize = 1 << 16;
/// Most dimensions written (NumPy's own limit).
pub const MAX_DIMS: usize = 64;
const MAGIC: &[u8; 6] = b"\x93NUMPY";
/// Preamble bytes before the header of version 1.0 (magic, version, u16
/// length); versions 2.0 and 3.0 have a u32 length, 2 bytes more.
const PREAMBLE_V1: usize = 10;

/// Kinds of elements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scalar {
    /// IEEE floats (`f4`, `f8`).
    Float,
    /// Signed integers (`i1` to `i8`).
    Int,
    /// Unsigned integers (`u1` to `u8`).
    Uint,
}

/// An element type: kind, size and byte order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Dtype {
    /// Kind.
    kind: Scalar,
    /// Bytes per element.
    size: usize,
    /// Most significant byte first.
    big_endian: bool,
}

impl Dtype {
    /// Parses a NumPy type string such as `<f4`, `|u1` or `>i8`.
    fn parse(descr: &str) -> Option<Dtype> {
        let mut chars = descr.chars();
        let big_endian = match chars.next()? {
            '<' => false,
            '>' => true,
            '|' | '=' => cfg!(target_endian = "big"),
            _ => return None,
        };
        let kind = match chars.next()? {
            'f' => Scalar::Float,
            'i' => Scalar::Int,
            'u' => Scalar::Uint,
            _ => return None,
        };
        let size: usize = chars.as_str().parse().ok()?;
        let valid = match kind {
            Scalar::Float => matches!(size, 4 | 8),
            Scalar::Int | Scalar::Uint => matches!(size, 1 | 2 | 4 | 8),
        };
        valid.then_some(Dtype {
            kind,
            size,
            big_endian,
        })
    }

    /// The element stored in `bytes` (`size` of them).
    fn decode(self, bytes: &[u8]) -> Value {
        let mut raw = [0u8; 8];
        raw[..self.size].copy_from_slice(bytes);
        if self.big_endian {
            raw[..self.size].reverse();
        }
        let bits = u64::from_le_bytes(raw);
        let unused = 64 - 8 * self.size as u32;
        match (self.kind, self.size) {
            (Scalar::Float, 4) => Value::Float(f64::from(f32::from_bits(bits as u32))),
            (Scalar::Float, _) => Value::Float(f64::from_bits(bits)),
            (Scalar::Int, _) => Value::Int(((bits << unused) as i64) >> unused),
            (Scalar::Uint, _) => Value::Uint(bits),
        }
    }
}

/// One element, widened.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Value {
    Float(f64),
    Int(i64),
    Uint(u64),
}

/// A checked header: what the data holds.
#[derive(Clone, Debug, PartialEq)]
struct Header {
    descr: String,
    dtype: Dtype,
    shape: Vec<u64>,
    elements: u64,
}

fn not_npy(path: &Path, what: impl Into<String>) -> FileError {
    FileError::bad(path, Problem::NotNpy(what.into()))
}

/// Reads exactly `buf.len()` bytes; a short file is a content problem.
fn fill(path: &Path, r: &mut impl Read, buf: &mut [u8], what: &str) -> Result<(), FileError> {
    r.read_exact(buf).map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => not_npy(path, format!("truncated {what}")),
        _ => FileError::io(path, e),
    })
}

/// An opened file positioned at its data, with the header checked.
struct Opened<'p> {
    path: &'p Path,
    header: Header,
    data: BufReader<std::fs::File>,
}

fn open(path: &Path) -> Result<Opened<'_>, FileError> {
    let file = std::fs::File::open(path).map_err(|e| FileError::io(path, e))?;
    let file_len = file.metadata().map_err(|e| FileError::io(path, e))?.len();
    let mut data = BufReader::new(file);
    let mut preamble = [0u8; 8];
    fill(path, &mut data, &mut preamble, "preamble")?;
    if &preamble[..6] != MAGIC {
        return Err(not_npy(path, "no \\x93NUMPY magic"));
    }
    let header_len = match preamble[6] {
        1 => {
            let mut len = [0u8; 2];
            fill(path, &mut data, &mut len, "preamble")?;
            usize::from(u16::from_le_bytes(len))
        }
        2 | 3 => {
            let mut len = [0u8; 4];
            fill(path, &mut data, &mut len, "preamble")?;
            usize::try_from(u32::from_le_bytes(len)).unwrap_or(usize::MAX)
        }
        major => {
            return Err(not_npy(
                path,
                format!("format version {major}.{} is not supported", preamble[7]),
            ))
        }
    };
    if header_len > MAX_HEADER {
        return Err(not_npy(
            path,
            format!("header of {header_len} bytes (limit {MAX_HEADER})"),
        ));
    }
    let mut text = vec![0u8; header_len];
    fill(path, &mut data, &mut text, "header")?;
    let header = parse_header(&text).map_err(|p| FileError::bad(path, p))?;
    let offset = (PREAMBLE_V1 + if preamble[6] == 1 { 0 } else { 2 } + header_len) as u64;
    let expected = header.elements * header.dtype.size as u64;
    let found = file_len.saturating_sub(offset);
    if found != expected {
        return Err(FileError::bad(path, Problem::Length { expected, found }));
    }
    Ok(Opened { path, header, data })
}

/// Parses the header literal and checks its type, shape and order.
fn parse_header(text: &[u8]) -> Result<Header, Problem> {
    let syntax = Problem::NotNpy;
    let text = std::str::from_utf8(text).map_err(|_| syntax("header is not text".into()))?;
    let mut p = Literal {
        rest: text.trim_end(),
    };
    p.expect('{').map_err(syntax)?;
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    while !p.eat('}') {
        let key = p.string().map_err(syntax)?;
        p.expect(':').map_err(syntax)?;
        match key.as_str() {
            "descr" => descr = Some(p.string().map_err(syntax)?),
            "fortran_order" => fortran = Some(p.boolean().map_err(syntax)?),
            "shape" => shape = Some(p.tuple().map_err(syntax)?),
            other => return Err(syntax(format!("unexpected header key `{other}`"))),
        }
        if !p.eat(',') {
            p.expect('}').map_err(syntax)?;
            break;
        }
    }
    if !p.rest.is_empty() {
        return Err(syntax("trailing bytes after the header".into()));
    }
    let (Some(descr), Some(fortran), Some(shape)) = (descr, fortran, shape) else {
        return Err(syntax("header lacks descr, fortran_order or shape".into()));
    };
    let elements = shape
        .iter()
        .try_fold(1u64, |n, &d| n.checked_mul(d))
        .filter(|&n| n <= MAX_ELEMENTS)
        .ok_or(Problem::TooLarge {
            limit: MAX_ELEMENTS,
        })?;
    // Fortran order differs from C order only with two axes longer than 1.
    if fortran && shape.iter().filter(|&&d| d > 1).count() > 1 {
        return Err(Problem::FortranOrder);
    }
    let dtype = Dtype::parse(&descr).ok_or_else(|| Problem::Dtype(descr.clone()))?;
    Ok(Header {
        descr,
        dtype,
        shape,
        elements,
    })
}

/// A cursor over the header's Python literal (strings, booleans, tuples of
/// whole numbers; nothing nested deeper).
struct Literal<'a> {
    rest: &'a str,
}

impl Literal<'_> {
    fn eat(&mut self, c: char) -> bool {
        self.rest = self.rest.trim_start();
        match self.rest.strip_prefix(c) {
            Some(rest) => {
                self.rest = rest;
                true
            }
            None => false,
        }
    }

    fn expect(&mut self, c: char) -> Result<(), String> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(format!("expected `{c}` in the header"))
        }
    }

    fn string(&mut self) -> Result<String, String> {
        self.rest = self.rest.trim_start();
        let quote = self
            .rest
            .chars()
            .next()
            .filter(|q| *q == '\'' || *q == '"')
            .ok_or("expected a string in the header")?;
        let body = &self.rest[1..];
        let end = body
            .find(quote)
            .ok_or("unterminated string in the header")?;
        self.rest = &body[end + 1..];
        Ok(body[..end].to_string())
    }

    fn boolean(&mut self) -> Result<bool, String> {
        for (word, value) in [("True", true), ("False", false)] {
            if let Some(rest) = self.rest.trim_start().strip_prefix(word) {
                self.rest = rest;
                return Ok(value);
            }
        }
        Err("expected True or False in the header".into())
    }

    fn tuple(&mut self) -> Result<Vec<u64>, String> {
        self.expect('(')?;
        let mut items = Vec::new();
        while !self.eat(')') {
            self.rest = self.rest.trim_start();
            let digits = self.rest.len()
                - self
                    .rest
                    .trim_start_matches(|c: char| c.is_ascii_digit())
                    .len();
            let item = self.rest[..digits]
                .parse()
                .map_err(|_| "expected a dimension in the shape".to_string())?;
            self.rest = self.rest[digits..].trim_start_matches('L');
            items.push(item);
            if !self.eat(',') {
                self.expect(')')?;
                break;
            }
        }
        Ok(items)
    }
}

impl Opened<'_> {
    fn problem(&self, problem: Problem) -> FileError {
        FileError::bad(self.path, problem)
    }

    fn dimensions(&self, want: usize) -> Result<(), FileError> {
        if self.header.shape.len() == want {
            Ok(())
        } else {
            Err(self.problem(Problem::Dimensions {
                want,
                got: self.header.shape.clone(),
            }))
        }
    }

    fn floats(&self) -> Result<(), FileError> {
        if self.header.dtype.kind == Scalar::Float {
            Ok(())
        } else {
            Err(self.problem(Problem::Dtype(self.header.descr.clone())))
        }
    }

    /// Reads the data, converting element `i` with `convert(i, value)`.
    fn values<T>(
        mut self,
        convert: impl Fn(usize, Value) -> Result<T, Problem>,
    ) -> Result<Vec<T>, FileError> {
        let dtype = self.header.dtype;
        let count = self.header.elements as usize;
        let mut out = Vec::with_capacity(count);
        let mut buf = vec![0u8; dtype.size * 8192];
        while out.len() < count {
            let n = (count - out.len()).min(8192) * dtype.size;
            fill(self.path, &mut self.data, &mut buf[..n], "data")?;
            for item in buf[..n].chunks_exact(dtype.size) {
                let value = convert(out.len(), dtype.decode(item))
                    .map_err(|p| FileError::bad(self.path, p))?;
                out.push(value);
            }
        }
        Ok(out)
    }
}

fn as_f64(_: usize, v: Value) -> Result<f64, Problem> {
    Ok(match v {
        Value::Float(x) => x,
        Value::Int(x) => x as f64,
        Value::Uint(x) => x as f64,
    })
}

/// Reads a 2-D float32 or float64 array.
pub fn read_npy_matrix(path: &Path) -> Result<Matrix, FileError> {
    let npy = open(path)?;
    npy.dimensions(2)?;
    npy.floats()?;
    let (rows, cols) = (npy.header.shape[0] as usize, npy.header.shape[1] as usize);
    let data = npy.values(as_f64)?;
    Matrix::new(rows, cols, data).map_err(|e| not_npy(path, e.to_string()))
}

/// Reads a 1-D integer array (any size, signed or not).
pub fn read_npy_labels(path: &Path) -> Result<Vec<i64>, FileError> {
    let npy = open(path)?;
    npy.dimensions(1)?;
    let descr = npy.header.descr.clone();
    npy.values(|index, v| match v {
        Value::Int(x) => Ok(x),
        Value::Uint(x) => i64::try_from(x).map_err(|_| Problem::IntegerOverflow { index }),
        Value::Float(_) => Err(Problem::Dtype(descr.clone())),
    })
}

/// An array of any shape, as `f32` values in C order.
#[derive(Clone, Debug, PartialEq)]
pub struct NpyArray {
    /// The shape.
    pub shape: Vec<u64>,
    /// The values (`shape`'s product of them).
    pub values: Vec<f32>,
}

/// Reads an array of any shape and numeric type as `f32` (rounded to the
/// nearest where wider: image stacks of `u8`, `f32` or `f64` pixels).
pub fn read_npy_f32(path: &Path) -> Result<NpyArray, FileError> {
    let npy = open(path)?;
    let shape = npy.header.shape.clone();
    let values = npy.values(|i, v| as_f64(i, v).map(|x| x as f32))?;
    Ok(NpyArray { shape, values })
}

/// An element type this module writes.
pub trait NpyElement: Copy {
    /// NumPy's type string (little-endian).
    const DESCR: &'static str;
    /// Appends the little-endian bytes.
    fn put(self, out: &mut Vec<u8>);
}

impl NpyElement for f32 {
    const DESCR: &'static str = "<f4";
    fn put(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}

impl NpyElement for f64 {
    const DESCR: &'static str = "<f8";
    fn put(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}

impl NpyElement for i64 {
    const DESCR: &'static str = "<i8";
    fn put(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}

/// The preamble and header (format 1.0) of an array of `descr` elements
/// and `shape` (at most [`MAX_DIMS`] dimensions, so that the header fits
/// 1.0's 16-bit length), padded with spaces so that the data starts at a
/// multiple of 64 bytes.
fn header_bytes(descr: &str, shape: &[u64]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(u64::to_string).collect();
    let tuple = match dims.len() {
        1 => format!("{},", dims[0]),
        _ => dims.join(", "),
    };
    let dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': ({tuple}), }}");
    let padded = (PREAMBLE_V1 + dict.len() + 1).div_ceil(64) * 64 - PREAMBLE_V1;
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(padded as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.resize(PREAMBLE_V1 + padded - 1, b' ');
    out.push(b'\n');
    out
}

/// Writes `data` as an array of `shape` (C order), atomically.
pub fn write_npy<T: NpyElement>(path: &Path, shape: &[u64], data: &[T]) -> Result<(), FileError> {
    if shape.len() > MAX_DIMS {
        return Err(FileError::bad(
            path,
            Problem::Shape {
                expected: "at most 64 dimensions (NumPy's limit)",
                got: shape.to_vec(),
            },
        ));
    }
    let elements = shape.iter().try_fold(1u64, |n, &d| n.checked_mul(d));
    if elements != Some(data.len() as u64) {
        return Err(FileError::bad(
            path,
            Problem::ShapeMismatch {
                shape: shape.to_vec(),
                len: data.len(),
            },
        ));
    }
    write_atomic(path, |file| {
        let mut out = BufWriter::new(file);
        out.write_all(&header_bytes(T::DESCR, shape))?;
        let mut bytes = Vec::with_capacity(8 * 8192);
        for chunk in data.chunks(8192) {
            bytes.clear();
            chunk.iter().for_each(|x| x.put(&mut bytes));
            out.write_all(&bytes)?;
        }
        out.flush()
    })
}

/// Writes a matrix as a 2-D float64 `.npy` file, atomically.
pub fn write_npy_matrix(path: &Path, m: &Matrix) -> Result<(), FileError> {
    write_npy(path, &[m.rows() as u64, m.cols() as u64], m.data())
}
