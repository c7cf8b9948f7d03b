//! Hyper-parameters, the optimiser and the batch schedule shared by the
//! encrypted and the reference trainer.

use crate::data::permutation;

/// The optimiser.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Optimizer {
    /// Plain mini-batch gradient descent: `W ← W − lr·g`.
    Sgd,
    /// Nesterov accelerated gradient with constant momentum `μ`:
    /// `v' = W − lr·g(W)`, `W ← v' + μ·(v' − v)`, `v ← v'` (with `v₀ = W₀`).
    Nesterov {
        /// Momentum `μ` in [0, 1).
        momentum: f64,
    },
}

/// How the server refreshes the weights when they lack levels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WeightRefresh {
    /// The paper's way: bootstrap every weight tile.
    PerTile,
    /// Variant: cut the `c' × s1` block out of each tile, pack up to
    /// `s0 / c'` blocks per ciphertext, bootstrap those, rebuild the tiles
    /// (see [`crate::linalg::bootstrap_vertical_packed`]).
    Packed,
}

/// Training hyper-parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrainConfig {
    /// Learning rate.
    pub learning_rate: f64,
    /// Samples per mini-batch.
    pub batch_size: usize,
    /// Epoch cap.
    pub max_epochs: usize,
    /// Epochs without a better validation loss before stopping.
    pub patience: usize,
    /// Relative margin by which a validation loss must beat the last
    /// improving epoch's to count as better (0: any lower loss counts;
    /// see [`super::Patience`]).
    pub min_improvement: f64,
    /// Optimiser.
    pub optimizer: Optimizer,
    /// Seed of the per-epoch batch order.
    pub seed: u64,
    /// Weight refresh strategy.
    pub weight_refresh: WeightRefresh,
    /// The encrypted trainer keeps weights, momentum and logits divided by
    /// this factor (an upper bound on the weights' magnitude), so that every
    /// value it bootstraps lies in the engine's precise range; the learning
    /// rate and the softmax's first constant take it back at no level. The
    /// key owner multiplies decrypted logits and weights by it. The f64
    /// reference trainer ignores it.
    pub weight_scale: f64,
    /// Bound on the logits' magnitude that the softmax covers
    /// ([`crate::softmax::softmax_scaled`]; at most and by default
    /// [`crate::softmax::HETAL_LOGIT_BOUND`], 128). A smaller bound takes
    /// the HETAL softmax fewer levels (at 32: 16 fewer at ten classes), so
    /// fewer bootstraps; logits beyond it break the softmax, and the key
    /// owner refuses validation logits beyond it
    /// ([`super::KeyOwner::with_logit_bound`]). The f64 reference trainer
    /// ignores it.
    pub logit_bound: f64,
}

/// The batch size that fills a tile: one tile of a horizontally laid out
/// matrix holds `slots / c'` rows (`c'`: classes padded to a power of two),
/// and an iteration costs about the same however many of them are used, so
/// the whole training set goes in one batch where it fits.
pub fn filling_batch(samples: usize, classes: usize, slots: usize) -> usize {
    let rows = slots / crate::linalg::padded_classes(classes).max(1);
    samples.min(rows).max(1)
}

impl TrainConfig {
    /// The early-stopping rule of this configuration (patience and margin),
    /// shared by the key owner and the reference trainer.
    pub fn early_stopping(&self) -> super::Patience {
        super::Patience::new(self.patience).with_min_improvement(self.min_improvement)
    }

    /// Sample ranges of the mini-batches: consecutive chunks of the training set.
    pub fn batches(&self, samples: usize) -> Vec<std::ops::Range<usize>> {
        let size = self.batch_size.max(1);
        (0..samples.div_ceil(size))
            .map(|b| b * size..((b + 1) * size).min(samples))
            .collect()
    }

    /// Order in which the batches are visited in `epoch` (a seeded permutation).
    pub fn epoch_order(&self, batches: usize, epoch: usize) -> Vec<usize> {
        permutation(
            batches,
            self.seed ^ (epoch as u64).wrapping_mul(0xD1B5_4A32_D192_ED03),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_cover_the_set_once() {
        let cfg = TrainConfig {
            learning_rate: 1.0,
            batch_size: 4,
            max_epochs: 1,
            patience: 1,
            min_improvement: 0.0,
            optimizer: Optimizer::Sgd,
            seed: 5,
            weight_refresh: WeightRefresh::PerTile,
            weight_scale: 1.0,
            logit_bound: crate::softmax::HETAL_LOGIT_BOUND,
        };
        let b = cfg.batches(10);
        assert_eq!(b, vec![0..4, 4..8, 8..10]);
        let mut order = cfg.epoch_order(3, 2);
        assert_eq!(order, cfg.epoch_order(3, 2));
        order.sort_unstable();
        assert_eq!(order, vec![0, 1, 2]);
    }
}
