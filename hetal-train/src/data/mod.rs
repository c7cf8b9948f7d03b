//! Labelled data sets available offline, their deterministic splits, and
//! the client-side PCA projection of features ([`pca`]).

pub mod pca;

use thiserror::Error;

use crate::linalg::Matrix;
use pca::{PcaError, Projection};

/// Errors while reading a data set.
#[derive(Clone, Debug, Error, PartialEq)]
#[non_exhaustive]
pub enum DataError {
    /// A line that does not parse.
    #[error("line {line}: {reason}")]
    Parse {
        /// 1-based line number.
        line: usize,
        /// What was wrong.
        reason: &'static str,
    },
    /// Fractions of a split that are not in (0, 1) or sum to 1 or more.
    #[error("invalid split fractions")]
    InvalidSplit,
}

/// A labelled data set: one row of features per sample.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    /// Features, `samples × features`.
    pub features: Matrix,
    /// Class of each sample, in `0..classes`.
    pub labels: Vec<usize>,
    /// Number of classes.
    pub classes: usize,
}

/// Train / validation / test parts of a data set.
#[derive(Clone, Debug, PartialEq)]
pub struct Split {
    /// Training part.
    pub train: Dataset,
    /// Validation part (early stopping).
    pub validation: Dataset,
    /// Held-out test part.
    pub test: Dataset,
}

impl Split {
    /// The split with the training part's mean of each feature subtracted
    /// from all three parts: a data owner's step before encryption (it
    /// sees its own data in the clear). Over the training part, centred
    /// features are orthogonal to the bias column, so that gradient descent
    /// on the softmax layer takes far larger steps without diverging.
    pub fn centered(&self) -> Split {
        let x = &self.train.features;
        let n = x.rows().max(1) as f64;
        let mean: Vec<f64> = (0..x.cols())
            .map(|c| (0..x.rows()).map(|r| x.row(r)[c]).sum::<f64>() / n)
            .collect();
        let shift = |d: &Dataset| Dataset {
            features: Matrix::from_fn(d.len(), d.features.cols(), |r, c| {
                d.features.row(r)[c] - mean[c]
            }),
            ..d.clone()
        };
        Split {
            train: shift(&self.train),
            validation: shift(&self.validation),
            test: shift(&self.test),
        }
    }

    /// The split with every part's features whitened by the training part's
    /// statistics: centred, turned onto the principal directions of the
    /// training covariance and each direction divided by `sqrt(λ + ridge)`
    /// (λ its variance). A data owner's step before encryption, like
    /// [`Split::centered`]: on whitened features the loss of the softmax
    /// layer is far better conditioned, so that full-batch gradient descent
    /// reaches a given validation loss in fewer steps (each one a costly
    /// encrypted iteration). The ridge keeps directions of tiny variance
    /// (constant or nearly constant pixels) from being blown up; the owner
    /// applies the same map to any data it later classifies.
    pub fn whitened(&self, ridge: f64) -> Result<Split, PcaError> {
        let width = self.train.features.cols();
        let projection = Projection::fit(&self.train.features, width)?.whitened(ridge)?;
        let whiten = |d: &Dataset| -> Result<Dataset, PcaError> {
            Ok(Dataset {
                features: projection.apply(&d.features)?,
                ..d.clone()
            })
        };
        Ok(Split {
            train: whiten(&self.train)?,
            validation: whiten(&self.validation)?,
            test: whiten(&self.test)?,
        })
    }
}

const DIGITS_CSV: &str = include_str!("../../data/digits.csv");

/// scikit-learn's handwritten digits (1797 samples, 8x8 pixels, 10 classes),
/// pixels scaled from 0..16 to [0, 1]. See `hetal-train/data/README.md`.
pub fn digits() -> Result<Dataset, DataError> {
    parse_labelled_csv(DIGITS_CSV, 16.0)
}

/// Parses `label,f0,f1,...` lines, dividing features by `scale`.
pub fn parse_labelled_csv(text: &str, scale: f64) -> Result<Dataset, DataError> {
    let mut data = Vec::new();
    let mut labels = Vec::new();
    let mut width = None;
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let err = |reason| DataError::Parse {
            line: n + 1,
            reason,
        };
        let mut fields = line.split(',');
        let label = fields
            .next()
            .and_then(|f| f.trim().parse::<usize>().ok())
            .ok_or(err("bad label"))?;
        let row = fields
            .map(|f| f.trim().parse::<f64>().map(|v| v / scale))
            .collect::<Result<Vec<f64>, _>>()
            .map_err(|_| err("bad feature"))?;
        if *width.get_or_insert(row.len()) != row.len() || row.is_empty() {
            return Err(err("wrong number of features"));
        }
        labels.push(label);
        data.extend(row);
    }
    let cols = width.ok_or(DataError::Parse {
        line: 1,
        reason: "no samples",
    })?;
    let features = Matrix::new(labels.len(), cols, data).map_err(|_| DataError::Parse {
        line: 1,
        reason: "ragged rows",
    })?;
    let classes = labels.iter().max().map_or(0, |m| m + 1);
    Ok(Dataset {
        features,
        labels,
        classes,
    })
}

impl Dataset {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when there are no samples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The samples at `indices`, in that order (indices out of range are skipped).
    pub fn select(&self, indices: &[usize]) -> Dataset {
        let kept: Vec<usize> = indices
            .iter()
            .copied()
            .filter(|&i| i < self.len())
            .collect();
        let cols = self.features.cols();
        let features = Matrix::from_fn(kept.len(), cols, |r, c| self.features.row(kept[r])[c]);
        Dataset {
            features,
            labels: kept.iter().map(|&i| self.labels[i]).collect(),
            classes: self.classes,
        }
    }

    /// Features with a constant 1 column appended (for the bias).
    pub fn with_bias(&self) -> Matrix {
        let cols = self.features.cols();
        Matrix::from_fn(self.len(), cols + 1, |r, c| {
            if c < cols {
                self.features.row(r)[c]
            } else {
                1.0
            }
        })
    }

    /// One-hot labels, `samples × classes`.
    pub fn one_hot(&self) -> Matrix {
        Matrix::from_fn(self.len(), self.classes, |r, c| {
            if self.labels[r] == c {
                1.0
            } else {
                0.0
            }
        })
    }

    /// Seeded shuffle, then validation and test fractions cut off the end.
    pub fn split(&self, validation: f64, test: f64, seed: u64) -> Result<Split, DataError> {
        let valid = |f: f64| f > 0.0 && f < 1.0;
        if !valid(validation) || !valid(test) || validation + test >= 1.0 {
            return Err(DataError::InvalidSplit);
        }
        let order = permutation(self.len(), seed);
        let n_val = (self.len() as f64 * validation).round() as usize;
        let n_test = (self.len() as f64 * test).round() as usize;
        let n_train = self.len() - n_val - n_test;
        Ok(Split {
            train: self.select(&order[..n_train]),
            validation: self.select(&order[n_train..n_train + n_val]),
            test: self.select(&order[n_train + n_val..]),
        })
    }
}

/// A seeded Fisher–Yates permutation of `0..n` (SplitMix64 generator).
pub fn permutation(n: usize, seed: u64) -> Vec<usize> {
    let mut state = seed;
    let mut next = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = (next() % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_load_and_split_deterministically() {
        let d = digits().unwrap();
        assert_eq!((d.len(), d.features.cols(), d.classes), (1797, 64, 10));
        assert!(d.features.data().iter().all(|&v| (0.0..=1.0).contains(&v)));
        let a = d.split(0.15, 0.3, 1).unwrap();
        let b = d.split(0.15, 0.3, 1).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.train.len() + a.validation.len() + a.test.len(), 1797);
        assert_eq!(a.test.len(), 539);
        assert_eq!(a.train.with_bias().cols(), 65);
        assert_eq!(a.train.one_hot().row(0).iter().sum::<f64>(), 1.0);
        assert_ne!(a.train.labels, d.split(0.15, 0.3, 2).unwrap().train.labels);
    }

    #[test]
    fn centring_shifts_every_part_by_the_training_mean() {
        let split = digits().unwrap().split(0.15, 0.3, 1).unwrap();
        let centred = split.centered();
        let x = &centred.train.features;
        for c in 0..x.cols() {
            let mean = (0..x.rows()).map(|r| x.row(r)[c]).sum::<f64>() / x.rows() as f64;
            assert!(mean.abs() < 1e-12, "column {c}: mean {mean}");
        }
        // The other parts move by the same per-feature amount.
        let shift = |d: &Matrix, e: &Matrix, r: usize, c: usize| d.row(r)[c] - e.row(r)[c];
        for c in [0, 20, 63] {
            let by = shift(&split.train.features, &centred.train.features, 0, c);
            for part in [
                (&split.validation.features, &centred.validation.features),
                (&split.test.features, &centred.test.features),
            ] {
                assert!((shift(part.0, part.1, 3, c) - by).abs() < 1e-12);
            }
        }
        assert_eq!(centred.test.labels, split.test.labels);
        assert_eq!(centred.validation.classes, 10);
    }

    #[test]
    fn whitening_gives_the_training_part_unit_covariance_up_to_the_ridge() {
        let split = digits().unwrap().split(0.15, 0.3, 1).unwrap();
        let ridge = 0.1;
        let white = split.whitened(ridge).unwrap();
        let fit = Projection::fit(&split.train.features, 64).unwrap();
        let x = &white.train.features;
        let n = x.rows();
        let cov = x.t_mul(x).unwrap();
        for i in 0..64 {
            let mean = (0..n).map(|r| x.row(r)[i]).sum::<f64>() / n as f64;
            assert!(mean.abs() < 1e-9, "column {i}: mean {mean}");
            for j in 0..64 {
                let c = cov.row(i)[j] / (n - 1) as f64;
                let v = fit.variances[i].max(0.0);
                let want = if i == j { v / (v + ridge) } else { 0.0 };
                assert!((c - want).abs() < 1e-9, "({i}, {j}): {c} vs {want}");
            }
        }
        // Validation and test go through the training part's map.
        let p = &fit.projection;
        for (raw, done) in [
            (&split.validation, &white.validation),
            (&split.test, &white.test),
        ] {
            for c in [0, 7, 63] {
                let x = raw.features.row(5);
                let dot: f64 = (0..64)
                    .map(|k| p.components.row(c)[k] * (x[k] - p.mean[k]))
                    .sum();
                let want = dot / (fit.variances[c].max(0.0) + ridge).sqrt();
                assert!((done.features.row(5)[c] - want).abs() < 1e-12);
            }
        }
        assert_eq!(white.test.labels, split.test.labels);
        assert_eq!(white.validation.features.cols(), 64);
        assert!(matches!(split.whitened(0.0), Err(PcaError::Ridge(_))));
        assert!(matches!(split.whitened(f64::NAN), Err(PcaError::Ridge(_))));
    }

    #[test]
    fn bad_input_is_a_typed_error() {
        assert!(parse_labelled_csv("1,2,3\n2,x,4\n", 1.0).is_err());
        assert!(parse_labelled_csv("1,2,3\n2,4\n", 1.0).is_err());
        assert!(parse_labelled_csv("", 1.0).is_err());
        assert!(digits().unwrap().split(0.5, 0.5, 0).is_err());
        let mut p = permutation(100, 3);
        p.sort_unstable();
        assert_eq!(p, (0..100).collect::<Vec<_>>());
    }
}
