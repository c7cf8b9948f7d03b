//! The plaintext f64 trainer: same batches, batch order, optimiser and early
//! stopping as the encrypted trainer, with the exact softmax.

use super::{cross_entropy, Optimizer, TrainConfig, TrainError, Verdict};
use crate::data::Dataset;
use crate::linalg::Matrix;
use crate::softmax::exact;

/// Result of reference training.
#[derive(Clone, Debug, PartialEq)]
pub struct ReferenceReport {
    /// Weights of the best epoch, `classes × (features + 1)`.
    pub weights: Matrix,
    /// Epochs run.
    pub epochs: usize,
    /// Gradient steps taken.
    pub iterations: usize,
    /// Epoch whose weights are returned.
    pub best_epoch: usize,
    /// Validation loss of every epoch.
    pub losses: Vec<f64>,
}

fn axpy(a: &Matrix, k: f64, b: &Matrix) -> Matrix {
    Matrix::from_fn(a.rows(), a.cols(), |r, c| a.row(r)[c] + k * b.row(r)[c])
}

/// Trains `classes × (features + 1)` weights from zero.
pub fn train_reference(
    train: &Dataset,
    validation: &Dataset,
    config: &TrainConfig,
) -> Result<ReferenceReport, TrainError> {
    if train.is_empty() || config.batch_size == 0 {
        return Err(TrainError::Empty);
    }
    let x_all = train.with_bias();
    let y_all = train.one_hot();
    let x_val = validation.with_bias();
    let batches = config.batches(train.len());
    let mut w = Matrix::zeros(train.classes, x_all.cols());
    let mut v = w.clone();
    let mut patience = config.early_stopping();
    let mut history: Vec<Matrix> = Vec::new();
    let mut iterations = 0;
    for epoch in 1..=config.max_epochs {
        for b in config.epoch_order(batches.len(), epoch) {
            let range = batches[b].clone();
            let n = range.len();
            let x = Matrix::from_fn(n, x_all.cols(), |r, c| x_all.row(range.start + r)[c]);
            let y = Matrix::from_fn(n, y_all.cols(), |r, c| y_all.row(range.start + r)[c]);
            let logits = x.mul_bt(&w)?;
            let mut d = Matrix::zeros(n, train.classes);
            for r in 0..n {
                for (k, p) in exact(logits.row(r)).into_iter().enumerate() {
                    if let Some(e) = d.get_mut(r, k) {
                        *e = p - y.row(r)[k];
                    }
                }
            }
            let g = d.t_mul(&x)?;
            let v_new = axpy(&w, -config.learning_rate / n as f64, &g);
            w = match config.optimizer {
                Optimizer::Sgd => v_new.clone(),
                Optimizer::Nesterov { momentum } => {
                    let diff = axpy(&v_new, -1.0, &v);
                    axpy(&v_new, momentum, &diff)
                }
            };
            v = v_new;
            iterations += 1;
        }
        history.push(w.clone());
        let loss = cross_entropy(&x_val.mul_bt(&w)?, &validation.labels)?;
        if patience.observe(loss) == Verdict::Stop {
            break;
        }
    }
    let epochs = history.len();
    let best_epoch = patience.best_epoch().unwrap_or(epochs);
    let weights = history
        .get(best_epoch.saturating_sub(1))
        .cloned()
        .ok_or(TrainError::BestEpochLost(best_epoch))?;
    Ok(ReferenceReport {
        weights,
        epochs,
        iterations,
        best_epoch,
        losses: patience.losses().to_vec(),
    })
}
