//! Cross-entropy and accuracy in the clear (key owner and reference trainer).

use super::TrainError;
use crate::data::Dataset;
use crate::linalg::Matrix;
use crate::softmax::exact;

/// Mean cross-entropy of `logits` (`samples × classes`) against `labels`.
pub fn cross_entropy(logits: &Matrix, labels: &[usize]) -> Result<f64, TrainError> {
    if logits.rows() != labels.len() || labels.is_empty() {
        return Err(TrainError::Labels("one logit row per label"));
    }
    let mut total = 0.0;
    for (r, &label) in labels.iter().enumerate() {
        let p = exact(logits.row(r));
        let q = p
            .get(label)
            .ok_or(TrainError::Labels("label out of range"))?;
        total -= q.max(f64::MIN_POSITIVE).ln();
    }
    Ok(total / labels.len() as f64)
}

/// Fraction of samples whose largest logit `x·Wᵀ` (with the bias column) is
/// their label; `weights` is `classes × (features + 1)`.
pub fn accuracy(weights: &Matrix, data: &Dataset) -> Result<f64, TrainError> {
    let logits = data.with_bias().mul_bt(weights)?;
    if data.is_empty() {
        return Err(TrainError::Empty);
    }
    let correct = (0..data.len())
        .filter(|&r| {
            let row = logits.row(r);
            let best = (0..row.len()).fold(0, |b, k| if row[k] > row[b] { k } else { b });
            best == data.labels[r]
        })
        .count();
    Ok(correct as f64 / data.len() as f64)
}
