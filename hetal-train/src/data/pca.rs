//! Client-side principal component analysis: a projection of the features
//! to a chosen width, fitted on the data owner's own (training) data before
//! encryption. Fewer features mean fewer ciphertexts per batch and fewer
//! rotations per iteration on the server (`hetal plan` shows both).
//!
//! The fit is exact (no sampling): the covariance `XcᵀXc / (n − 1)` of the
//! centred data, then its eigen-decomposition
//! ([`crate::linalg::symmetric_eigen`]); the components are the eigenvectors
//! of the `width` largest eigenvalues, each signed so that its entry of
//! largest magnitude is positive. Deterministic, in f64.

use thiserror::Error;

use crate::linalg::{symmetric_eigen, LinalgError, Matrix};

/// Errors of fitting or applying a projection.
#[derive(Clone, Debug, Error, PartialEq)]
pub enum PcaError {
    /// A width of zero or above the feature count.
    #[error("the width must be between 1 and the feature count {features}, not {width}")]
    Width {
        /// Width asked for.
        width: usize,
        /// Features of the data.
        features: usize,
    },
    /// Fewer than two samples: no covariance.
    #[error("PCA needs at least 2 samples, not {rows}")]
    TooFewSamples {
        /// Samples given.
        rows: usize,
    },
    /// Data whose width is not the projection's input width.
    #[error("{got} features per sample, the projection was fitted on {want}")]
    Features {
        /// Columns of the data.
        got: usize,
        /// Columns the projection takes.
        want: usize,
    },
    /// A NaN or infinite value.
    #[error("non-finite value at row {row}, column {col}")]
    NonFinite {
        /// Row (from 0).
        row: usize,
        /// Column (from 0).
        col: usize,
    },
    /// A stored projection whose components are not mutually orthogonal
    /// (or one of them is zero).
    #[error("not a projection: components {i} and {j} have cosine {cosine:.3e}")]
    NotOrthogonal {
        /// First component (from 0).
        i: usize,
        /// Second component (equal to `i` for a zero component).
        j: usize,
        /// Their cosine (0 expected; NaN for a zero component).
        cosine: f64,
    },
    /// A whitening ridge that is not a positive finite number.
    #[error("the whitening ridge must be a positive number, not {0}")]
    Ridge(f64),
    /// The eigen-decomposition failed.
    #[error(transparent)]
    Linalg(#[from] LinalgError),
}

/// Largest cosine between two components accepted in a stored projection.
const ORTHOGONAL_TOLERANCE: f64 = 1e-6;

/// A projection `x ↦ C (x − μ)` to `width` features.
#[derive(Clone, Debug, PartialEq)]
pub struct Projection {
    /// The mean `μ` of the fitted data (one entry per input feature).
    pub mean: Vec<f64>,
    /// `width × features`: the principal directions as unit rows, by
    /// decreasing variance.
    pub components: Matrix,
}

/// A fitted projection and the spectrum it was cut from.
#[derive(Clone, Debug, PartialEq)]
pub struct Fit {
    /// The projection.
    pub projection: Projection,
    /// The variance of the fitted data along each kept component.
    pub variances: Vec<f64>,
    /// The total variance of the fitted data (the covariance's trace).
    pub total_variance: f64,
}

impl Fit {
    /// The whitening projection of this fit: each component divided by
    /// `sqrt(variance + ridge)`, so that the projected training data has
    /// unit variance along every kept direction whose variance is well
    /// above the ridge (and less along the others, which the ridge keeps
    /// from being blown up). A ridge that is not a positive finite number
    /// is an error.
    pub fn whitened(&self, ridge: f64) -> Result<Projection, PcaError> {
        if !(ridge.is_finite() && ridge > 0.0) {
            return Err(PcaError::Ridge(ridge));
        }
        let p = &self.projection;
        let components = Matrix::from_fn(p.width(), p.features(), |k, c| {
            p.components.row(k)[c] / (self.variances[k].max(0.0) + ridge).sqrt()
        });
        Ok(Projection {
            mean: p.mean.clone(),
            components,
        })
    }

    /// The share of the total variance the kept components hold, in [0, 1].
    pub fn explained_variance(&self) -> f64 {
        if self.total_variance > 0.0 {
            self.variances.iter().sum::<f64>() / self.total_variance
        } else {
            1.0
        }
    }
}

fn check_finite(x: &Matrix) -> Result<(), PcaError> {
    for row in 0..x.rows() {
        if let Some(col) = x.row(row).iter().position(|v| !v.is_finite()) {
            return Err(PcaError::NonFinite { row, col });
        }
    }
    Ok(())
}

impl Projection {
    /// Fits a projection to `width` features on the rows of `x`.
    pub fn fit(x: &Matrix, width: usize) -> Result<Fit, PcaError> {
        let (rows, features) = (x.rows(), x.cols());
        if width == 0 || width > features {
            return Err(PcaError::Width { width, features });
        }
        if rows < 2 {
            return Err(PcaError::TooFewSamples { rows });
        }
        check_finite(x)?;
        let mean: Vec<f64> = (0..features)
            .map(|c| (0..rows).map(|r| x.row(r)[c]).sum::<f64>() / rows as f64)
            .collect();
        let centred = Matrix::from_fn(rows, features, |r, c| x.row(r)[c] - mean[c]);
        let scatter = centred.t_mul(&centred)?;
        let covariance = Matrix::from_fn(features, features, |i, j| {
            scatter.row(i)[j] / (rows - 1) as f64
        });
        let total_variance = (0..features).map(|i| covariance.row(i)[i]).sum();
        let eig = symmetric_eigen(&covariance)?;
        let components = Matrix::new(
            width,
            features,
            eig.vectors.data()[..width * features].to_vec(),
        )?;
        Ok(Fit {
            projection: Projection { mean, components },
            variances: eig.values[..width].to_vec(),
            total_variance,
        })
    }

    /// Output width.
    pub fn width(&self) -> usize {
        self.components.rows()
    }

    /// Input width.
    pub fn features(&self) -> usize {
        self.components.cols()
    }

    /// Projects the rows of `x`: `rows × width`.
    pub fn apply(&self, x: &Matrix) -> Result<Matrix, PcaError> {
        if x.cols() != self.features() {
            return Err(PcaError::Features {
                got: x.cols(),
                want: self.features(),
            });
        }
        check_finite(x)?;
        let centred = Matrix::from_fn(x.rows(), x.cols(), |r, c| x.row(r)[c] - self.mean[c]);
        Ok(centred.mul_bt(&self.components)?)
    }

    /// Maps projected rows back to the input space: `μ + Σ y_k c_k / |c_k|²`
    /// (the closest point of the kept subspace to the original row; `Cᵀ y`
    /// for unit components, and the whitening's gains undone otherwise).
    pub fn reconstruct(&self, y: &Matrix) -> Result<Matrix, PcaError> {
        if y.cols() != self.width() {
            return Err(PcaError::Features {
                got: y.cols(),
                want: self.width(),
            });
        }
        let norms: Vec<f64> = (0..self.width())
            .map(|k| self.components.row(k).iter().map(|v| v * v).sum())
            .collect();
        let y = Matrix::from_fn(y.rows(), y.cols(), |r, k| y.row(r)[k] / norms[k]);
        let back = y.mul_bt(&transpose(&self.components))?;
        Ok(Matrix::from_fn(back.rows(), back.cols(), |r, c| {
            back.row(r)[c] + self.mean[c]
        }))
    }

    /// The projection as one matrix, `(width + 1) × features`: the mean
    /// in row 0, the components below (the layout of `--out-projection`).
    pub fn to_matrix(&self) -> Matrix {
        let mut data = self.mean.clone();
        data.extend_from_slice(self.components.data());
        Matrix::from_fn(self.width() + 1, self.features(), |r, c| {
            data[r * self.features() + c]
        })
    }

    /// Reads the layout of [`Projection::to_matrix`], checking that the
    /// values are finite and the components non-zero and mutually
    /// orthogonal (unit rows from a plain fit, scaled ones from a
    /// whitening one).
    pub fn from_matrix(m: &Matrix) -> Result<Self, PcaError> {
        if m.rows() < 2 || m.cols() == 0 {
            return Err(PcaError::Width {
                width: m.rows().saturating_sub(1),
                features: m.cols(),
            });
        }
        check_finite(m)?;
        let features = m.cols();
        let components = Matrix::new(m.rows() - 1, features, m.data()[features..].to_vec())?;
        let gram = components.mul_bt(&components)?;
        for i in 0..gram.rows() {
            if gram.row(i)[i] <= 0.0 {
                return Err(PcaError::NotOrthogonal {
                    i,
                    j: i,
                    cosine: f64::NAN,
                });
            }
            for j in 0..gram.cols() {
                let cosine = gram.row(i)[j] / (gram.row(i)[i] * gram.row(j)[j]).sqrt();
                if i != j && cosine.abs() > ORTHOGONAL_TOLERANCE {
                    return Err(PcaError::NotOrthogonal { i, j, cosine });
                }
            }
        }
        Ok(Projection {
            mean: m.row(0).to_vec(),
            components,
        })
    }
}

fn transpose(m: &Matrix) -> Matrix {
    Matrix::from_fn(m.cols(), m.rows(), |r, c| m.row(c)[r])
}

#[cfg(test)]
mod tests;
