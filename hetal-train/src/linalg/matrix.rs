//! A dense row-major f64 matrix: the clear counterpart of block matrices.

use super::{LinalgError, LinalgResult};

/// A dense row-major matrix of f64.
#[derive(Clone, Debug, PartialEq)]
pub struct Matrix {
    rows: usize,
    cols: usize,
    data: Vec<f64>,
}

impl Matrix {
    /// Wraps row-major data; fails when its length is not `rows · cols`.
    pub fn new(rows: usize, cols: usize, data: Vec<f64>) -> LinalgResult<Self> {
        if data.len() != rows * cols {
            return Err(LinalgError::ShapeMismatch {
                context: "matrix data length",
                expected: rows * cols,
                found: data.len(),
            });
        }
        Ok(Matrix { rows, cols, data })
    }

    /// The zero matrix.
    pub fn zeros(rows: usize, cols: usize) -> Self {
        Matrix {
            rows,
            cols,
            data: vec![0.0; rows * cols],
        }
    }

    /// Builds a matrix entry by entry.
    pub fn from_fn(rows: usize, cols: usize, mut f: impl FnMut(usize, usize) -> f64) -> Self {
        let data = (0..rows * cols).map(|k| f(k / cols, k % cols)).collect();
        Matrix { rows, cols, data }
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Row-major entries.
    pub fn data(&self) -> &[f64] {
        &self.data
    }

    /// Row `r` (panics when out of range, as slice indexing does).
    pub fn row(&self, r: usize) -> &[f64] {
        &self.data[r * self.cols..(r + 1) * self.cols]
    }

    /// Entry `(r, c)`, or `None` out of range.
    pub fn get(&self, r: usize, c: usize) -> Option<f64> {
        (r < self.rows && c < self.cols).then(|| self.data[r * self.cols + c])
    }

    /// Entry `(r, c)` as a mutable reference, or `None` out of range.
    pub fn get_mut(&mut self, r: usize, c: usize) -> Option<&mut f64> {
        if r < self.rows && c < self.cols {
            Some(&mut self.data[r * self.cols + c])
        } else {
            None
        }
    }

    /// `self · otherᵀ`.
    pub fn mul_bt(&self, other: &Matrix) -> LinalgResult<Matrix> {
        if self.cols != other.cols {
            return Err(LinalgError::ShapeMismatch {
                context: "A·Bᵀ inner dimension",
                expected: self.cols,
                found: other.cols,
            });
        }
        Ok(Matrix::from_fn(self.rows, other.rows, |i, j| {
            self.row(i)
                .iter()
                .zip(other.row(j))
                .map(|(a, b)| a * b)
                .sum()
        }))
    }

    /// `selfᵀ · other`.
    pub fn t_mul(&self, other: &Matrix) -> LinalgResult<Matrix> {
        if self.rows != other.rows {
            return Err(LinalgError::ShapeMismatch {
                context: "Aᵀ·B inner dimension",
                expected: self.rows,
                found: other.rows,
            });
        }
        let mut out = Matrix::zeros(self.cols, other.cols);
        for r in 0..self.rows {
            for (i, &a) in self.row(r).iter().enumerate() {
                let dst = &mut out.data[i * other.cols..(i + 1) * other.cols];
                for (d, &b) in dst.iter_mut().zip(other.row(r)) {
                    *d += a * b;
                }
            }
        }
        Ok(out)
    }

    /// Largest absolute entry-wise difference; fails on different shapes.
    pub fn max_abs_diff(&self, other: &Matrix) -> LinalgResult<f64> {
        if (self.rows, self.cols) != (other.rows, other.cols) {
            return Err(LinalgError::ShapeMismatch {
                context: "compared matrices (entries)",
                expected: self.data.len(),
                found: other.data.len(),
            });
        }
        Ok(self
            .data
            .iter()
            .zip(&other.data)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_agree_with_hand_computation() {
        let a = Matrix::new(2, 3, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
        let b = Matrix::new(1, 3, vec![1.0, 0.0, -1.0]).unwrap();
        assert_eq!(a.mul_bt(&b).unwrap().data(), &[-2.0, -2.0]);
        let c = Matrix::new(2, 1, vec![1.0, 1.0]).unwrap();
        assert_eq!(c.t_mul(&a).unwrap().data(), &[5.0, 7.0, 9.0]);
        assert!(a.mul_bt(&c).is_err());
        assert!(Matrix::new(2, 2, vec![0.0; 3]).is_err());
        assert_eq!(a.get(1, 2), Some(6.0));
        assert_eq!(a.get(2, 0), None);
    }
}
