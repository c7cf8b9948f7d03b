//! The model directory `hetal train` writes and `hetal predict` reads.
//!
//! ```text
//! MODEL/weights.npy   float64, shape (classes, features + 1): row k holds
//!                     class k's weights, the last column is the bias
//! MODEL/model.json    metadata: {"preset", "classes", "features", "epochs",
//!                     "iterations", "best_epoch", "validation_losses": [...]}
//! ```
//!
//! In NumPy: `W = np.load("MODEL/weights.npy")`,
//! `pred = np.argmax(X @ W[:, :-1].T + W[:, -1], axis=1)`.

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{read_npy_matrix, write_atomic, write_npy_matrix, FileError, Problem};
use crate::linalg::Matrix;

/// Metadata of a trained model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelMeta {
    /// Parameter preset the model was trained under.
    pub preset: String,
    /// Number of classes.
    pub classes: usize,
    /// Features per sample (without the bias).
    pub features: usize,
    /// Epochs run.
    pub epochs: usize,
    /// Gradient steps taken.
    pub iterations: usize,
    /// Epoch whose weights these are.
    pub best_epoch: usize,
    /// Validation loss after each epoch.
    pub validation_losses: Vec<f64>,
}

/// A decrypted model: weights plus metadata.
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    /// `classes × (features + 1)`, the bias last.
    pub weights: Matrix,
    /// Metadata.
    pub meta: ModelMeta,
}

impl Model {
    /// Writes `dir/weights.npy` and `dir/model.json` (each atomically).
    pub fn write(&self, dir: &Path) -> Result<(), FileError> {
        std::fs::create_dir_all(dir).map_err(|e| FileError::io(dir, e))?;
        write_npy_matrix(&dir.join("weights.npy"), &self.weights)?;
        let json = serde_json::to_vec_pretty(&self.meta).unwrap_or_default();
        write_atomic(&dir.join("model.json"), |f| f.write_all(&json))
    }

    /// Reads a model directory and checks the weights' shape against the metadata.
    pub fn read(dir: &Path) -> Result<Self, FileError> {
        let meta_path = dir.join("model.json");
        let text = std::fs::read(&meta_path).map_err(|e| FileError::io(&meta_path, e))?;
        let meta: ModelMeta = serde_json::from_slice(&text)
            .map_err(|e| FileError::bad(&meta_path, Problem::NotNpy(e.to_string())))?;
        let w_path = dir.join("weights.npy");
        let weights = read_npy_matrix(&w_path)?;
        if weights.rows() != meta.classes || weights.cols() != meta.features + 1 {
            return Err(FileError::bad(
                &w_path,
                Problem::FeatureCount {
                    got: weights.cols().saturating_sub(1),
                    want: meta.features,
                },
            ));
        }
        Ok(Model { weights, meta })
    }

    /// Logits `X·W[:, :-1]ᵀ + bias` of each sample.
    pub fn logits(&self, x: &Matrix) -> Matrix {
        let f = self.meta.features;
        Matrix::from_fn(x.rows(), self.meta.classes, |r, k| {
            let w = self.weights.row(k);
            x.row(r).iter().zip(w).map(|(a, b)| a * b).sum::<f64>() + w[f]
        })
    }

    /// The class of highest logit for each sample.
    pub fn predict(&self, x: &Matrix) -> Vec<usize> {
        let logits = self.logits(x);
        (0..logits.rows()).map(|r| argmax(logits.row(r))).collect()
    }
}

/// `matrix[true][predicted]` counts.
pub fn confusion(classes: usize, truth: &[usize], predicted: &[usize]) -> Vec<Vec<usize>> {
    let mut m = vec![vec![0; classes]; classes];
    for (&t, &p) in truth.iter().zip(predicted) {
        if t < classes && p < classes {
            m[t][p] += 1;
        }
    }
    m
}

/// The index of the largest value of `row` (the first of equals; 0 for an
/// empty row).
pub fn argmax(row: &[f64]) -> usize {
    row.iter()
        .enumerate()
        .fold((0, f64::NEG_INFINITY), |best, (k, &v)| {
            if v > best.1 {
                (k, v)
            } else {
                best
            }
        })
        .0
}
