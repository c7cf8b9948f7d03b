//! Early stopping as a key-owner role.
//!
//! After each epoch the server sends encrypted validation logits to the key
//! owner, the only party able to decrypt. The key owner computes the loss in
//! the clear and answers [`Verdict::Continue`] or [`Verdict::Stop`]; at the
//! end it names the best epoch. The server never decrypts.

use super::{cross_entropy, TrainError};
use crate::engine::{Decryptor, Engine};
use crate::linalg::{BlockMatrix, Matrix};

/// The key owner's answer after an epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Train another epoch.
    Continue,
    /// Stop: `patience` epochs without a better validation loss (better
    /// by the relative margin [`Patience::with_min_improvement`] asks for).
    Stop,
}

/// Patience bookkeeping on a sequence of validation losses.
///
/// An epoch *improves* when its loss is below `(1 − min_improvement)` times
/// the loss of the last epoch that improved (the first epoch always does);
/// training stops `patience` epochs after the last improvement. With a
/// margin of 0 that is "a strictly lower loss than ever before". The best
/// epoch, whose weights are returned, is the one with the lowest loss: it
/// is never older than the last improvement, so it lies within the last
/// `patience + 1` epochs when training stops.
#[derive(Clone, Debug, PartialEq)]
pub struct Patience {
    patience: usize,
    min_improvement: f64,
    losses: Vec<f64>,
    anchor: Option<(usize, f64)>,
    best: Option<(usize, f64)>,
}

/// `loss < bound`, false when either is NaN.
fn below(loss: f64, bound: f64) -> bool {
    loss.partial_cmp(&bound) == Some(std::cmp::Ordering::Less)
}

impl Patience {
    /// Stops after `patience` epochs without a lower loss.
    pub fn new(patience: usize) -> Self {
        Patience {
            patience,
            min_improvement: 0.0,
            losses: Vec::new(),
            anchor: None,
            best: None,
        }
    }

    /// Counts an epoch as an improvement only when it lowers the loss by
    /// at least this fraction (in [0, 1); other values count as 0) of the
    /// last improving epoch's loss.
    pub fn with_min_improvement(mut self, fraction: f64) -> Self {
        self.min_improvement = if (0.0..1.0).contains(&fraction) {
            fraction
        } else {
            0.0
        };
        self
    }

    /// Records the loss of the next epoch (epochs count from 1).
    pub fn observe(&mut self, loss: f64) -> Verdict {
        self.losses.push(loss);
        let epoch = self.losses.len();
        let margin = 1.0 - self.min_improvement;
        if self
            .anchor
            .is_none_or(|(_, anchor)| below(loss, margin * anchor))
        {
            self.anchor = Some((epoch, loss));
        }
        if self.best.is_none_or(|(_, best)| below(loss, best)) {
            self.best = Some((epoch, loss));
        }
        let since = epoch - self.anchor.map_or(0, |(e, _)| e);
        if since >= self.patience {
            Verdict::Stop
        } else {
            Verdict::Continue
        }
    }

    /// Epoch with the lowest loss so far.
    pub fn best_epoch(&self) -> Option<usize> {
        self.best.map(|(e, _)| e)
    }

    /// Losses observed so far.
    pub fn losses(&self) -> &[f64] {
        &self.losses
    }
}

/// The cross-entropy of decrypted validation logits (one matrix per
/// validation batch, in order, each value still divided by `scale`) against
/// `labels`, refusing any logit beyond `bound` ([`TrainError::LogitRange`]).
pub fn validation_loss(
    parts: &[Matrix],
    labels: &[usize],
    scale: f64,
    bound: f64,
) -> Result<f64, TrainError> {
    let cols = parts.first().map_or(0, |m| m.cols());
    let data: Vec<f64> = parts
        .iter()
        .flat_map(|m| m.data().iter().map(|&z| scale * z))
        .collect();
    let found = data.iter().fold(0.0f64, |m, z| m.max(z.abs()));
    if found > bound {
        return Err(TrainError::LogitRange { found, bound });
    }
    let rows = parts.iter().map(|m| m.rows()).sum();
    cross_entropy(&Matrix::new(rows, cols, data)?, labels)
}

/// What the server asks the key owner after each epoch.
pub trait ValidationJudge<E: Engine> {
    /// Judges the encrypted validation logits of one epoch (one block matrix
    /// per validation batch, in order).
    fn judge(&mut self, logits: &[BlockMatrix<E::Ct>]) -> Result<Verdict, TrainError>;
    /// The epoch (from 1) with the lowest validation loss so far.
    fn best_epoch(&self) -> Option<usize>;
}

/// The key owner: holds the decryption capability and the validation labels.
#[derive(Debug)]
pub struct KeyOwner<D> {
    decryptor: D,
    labels: Vec<usize>,
    patience: Patience,
    scale: f64,
    logit_bound: f64,
}

impl<D> KeyOwner<D> {
    /// A key owner judging against `labels` with the given early-stopping
    /// rule (for a job, [`super::TrainConfig::early_stopping`]).
    pub fn new(decryptor: D, labels: Vec<usize>, patience: Patience) -> Self {
        KeyOwner {
            decryptor,
            labels,
            patience,
            scale: 1.0,
            logit_bound: f64::INFINITY,
        }
    }

    /// Sets the factor by which encrypted logits and weights are divided
    /// ([`super::TrainConfig::weight_scale`]); decrypted values are multiplied by it.
    pub fn with_scale(mut self, scale: f64) -> Self {
        self.scale = scale;
        self
    }

    /// Sets the bound on the logits' magnitude that the job's softmax
    /// covers ([`super::TrainConfig::logit_bound`]): a validation logit
    /// beyond it is an error ([`TrainError::LogitRange`]) rather than a
    /// verdict, since the training logits the softmax saw may lie beyond it
    /// too. Without it, any logit is accepted.
    pub fn with_logit_bound(mut self, bound: f64) -> Self {
        self.logit_bound = bound;
        self
    }

    /// Decrypts the weights the server returns (multiplied back by the scale).
    pub fn decrypt_weights<E: Engine>(&self, w: &BlockMatrix<E::Ct>) -> Result<Matrix, TrainError>
    where
        D: Decryptor<E>,
    {
        let m = self.decrypt::<E>(w)?;
        Ok(Matrix::from_fn(m.rows(), m.cols(), |r, c| {
            self.scale * m.row(r)[c]
        }))
    }

    /// Validation losses so far.
    pub fn losses(&self) -> &[f64] {
        self.patience.losses()
    }

    /// Decrypts a block matrix (for example the final weights).
    pub fn decrypt<E: Engine>(&self, m: &BlockMatrix<E::Ct>) -> Result<Matrix, TrainError>
    where
        D: Decryptor<E>,
    {
        Ok(crate::linalg::decrypt_matrix(&self.decryptor, m)?)
    }
}

impl<E: Engine, D: Decryptor<E>> ValidationJudge<E> for KeyOwner<D> {
    fn judge(&mut self, logits: &[BlockMatrix<E::Ct>]) -> Result<Verdict, TrainError> {
        let parts = logits
            .iter()
            .map(|m| self.decrypt::<E>(m))
            .collect::<Result<Vec<_>, _>>()?;
        let loss = validation_loss(&parts, &self.labels, self.scale, self.logit_bound)?;
        Ok(self.patience.observe(loss))
    }

    fn best_epoch(&self) -> Option<usize> {
        self.patience.best_epoch()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patience_stops_after_stalled_epochs_and_remembers_the_best() {
        let mut p = Patience::new(2);
        assert_eq!(p.observe(1.0), Verdict::Continue);
        assert_eq!(p.observe(0.5), Verdict::Continue);
        assert_eq!(p.observe(0.6), Verdict::Continue);
        assert_eq!(p.observe(0.5), Verdict::Stop);
        assert_eq!(p.best_epoch(), Some(2));
        let mut nan = Patience::new(1);
        assert_eq!(nan.observe(f64::NAN), Verdict::Continue);
        assert_eq!(nan.observe(f64::NAN), Verdict::Stop);
    }

    #[test]
    fn validation_logits_beyond_the_bound_are_an_error() {
        // Stored divided by the weight scale 8: 4.5 is a logit of 36.
        let parts = [Matrix::new(2, 2, vec![0.5, -1.0, 4.5, 0.0]).unwrap()];
        let labels = [0, 1];
        let within = validation_loss(&parts, &labels, 8.0, 128.0).unwrap();
        assert!(within.is_finite() && within > 0.0);
        assert!(matches!(
            validation_loss(&parts, &labels, 8.0, 32.0),
            Err(TrainError::LogitRange { found, bound }) if found == 36.0 && bound == 32.0
        ));
    }

    #[test]
    fn a_margin_counts_only_real_improvements_and_keeps_the_lowest_loss() {
        // 1% margin: 0.995 is lower than 1.0 but not by 1%; 0.985 is 1.5%
        // below the last improvement (1.0) and counts, although it is
        // only 1% below the previous epoch.
        let mut p = Patience::new(2).with_min_improvement(0.01);
        assert_eq!(p.observe(1.0), Verdict::Continue);
        assert_eq!(p.observe(0.995), Verdict::Continue);
        assert_eq!(p.observe(0.985), Verdict::Continue);
        assert_eq!(p.observe(0.98), Verdict::Continue);
        assert_eq!(p.observe(0.979), Verdict::Stop);
        assert_eq!(p.best_epoch(), Some(5));
        assert_eq!(p.losses().len(), 5);
        // Without the margin the same losses never stop.
        let mut strict = Patience::new(2);
        for loss in [1.0, 0.995, 0.985, 0.98, 0.979] {
            assert_eq!(strict.observe(loss), Verdict::Continue);
        }
        // A margin outside [0, 1) is no margin.
        let mut odd = Patience::new(1).with_min_improvement(f64::NAN);
        assert_eq!(odd.observe(1.0), Verdict::Continue);
        assert_eq!(odd.observe(0.999), Verdict::Continue);
    }
}
