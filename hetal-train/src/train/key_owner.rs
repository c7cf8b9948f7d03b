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
    /// Stop: `patience` epochs without a better validation loss.
    Stop,
}

/// Patience bookkeeping on a sequence of validation losses.
#[derive(Clone, Debug, PartialEq)]
pub struct Patience {
    patience: usize,
    losses: Vec<f64>,
    best: Option<(usize, f64)>,
}

impl Patience {
    /// Stops after `patience` epochs without improvement.
    pub fn new(patience: usize) -> Self {
        Patience {
            patience,
            losses: Vec::new(),
            best: None,
        }
    }

    /// Records the loss of the next epoch (epochs count from 1).
    pub fn observe(&mut self, loss: f64) -> Verdict {
        self.losses.push(loss);
        let epoch = self.losses.len();
        let improved = match self.best {
            None => true,
            Some((_, best)) => loss.partial_cmp(&best) == Some(std::cmp::Ordering::Less),
        };
        if improved {
            self.best = Some((epoch, loss));
        }
        let since = epoch - self.best.map_or(0, |(e, _)| e);
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
}

impl<D> KeyOwner<D> {
    /// A key owner judging against `labels` with the given patience.
    pub fn new(decryptor: D, labels: Vec<usize>, patience: usize) -> Self {
        KeyOwner {
            decryptor,
            labels,
            patience: Patience::new(patience),
            scale: 1.0,
        }
    }

    /// Sets the factor by which encrypted logits and weights are divided
    /// ([`super::TrainConfig::weight_scale`]); decrypted values are multiplied by it.
    pub fn with_scale(mut self, scale: f64) -> Self {
        self.scale = scale;
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
        let cols = parts.first().map_or(0, |m| m.cols());
        let data: Vec<f64> = parts
            .iter()
            .flat_map(|m| m.data().iter().map(|&z| self.scale * z))
            .collect();
        let rows = parts.iter().map(|m| m.rows()).sum();
        let all = Matrix::new(rows, cols, data)?;
        let loss = cross_entropy(&all, &self.labels)?;
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
}
