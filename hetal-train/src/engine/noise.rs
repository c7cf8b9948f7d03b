//! CKKS-sized noise for the clear engine, from a seeded generator.

use std::sync::atomic::{AtomicU64, Ordering};

use super::Complex;

/// How much noise the clear engine adds.
///
/// After every rescaled multiplication, rotation and conjugation each slot
/// `v` receives complex Gaussian noise of standard deviation
/// `op_relative·|v| + op_absolute` per part; after a bootstrap each slot
/// receives noise of standard deviation `bootstrap_absolute·max(1, max|v|)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NoiseConfig {
    /// Noise relative to the slot value, per operation.
    pub op_relative: f64,
    /// Absolute noise per operation.
    pub op_absolute: f64,
    /// Absolute noise of a bootstrap output (relative to inputs in [-1, 1]).
    pub bootstrap_absolute: f64,
    /// Seed of the generator.
    pub seed: u64,
}

impl NoiseConfig {
    /// Noise of the production CKKS set: 2^-25 relative per operation and a
    /// bootstrapping output precision of 2^-20.
    pub fn ckks_like(seed: u64) -> Self {
        NoiseConfig {
            op_relative: 2f64.powi(-25),
            op_absolute: 2f64.powi(-32),
            bootstrap_absolute: 2f64.powi(-20),
            seed,
        }
    }
}

/// A counter-based generator (SplitMix64) usable from many threads.
#[derive(Debug)]
pub(crate) struct NoiseSource {
    state: AtomicU64,
}

impl NoiseSource {
    pub(crate) fn new(seed: u64) -> Self {
        NoiseSource {
            state: AtomicU64::new(seed),
        }
    }

    /// `n` independent complex samples with standard normal parts
    /// (Box–Muller). The generator's counter is advanced once for the whole
    /// block, so the samples equal those of `n` one-at-a-time draws.
    pub(crate) fn gaussians(&self, n: usize) -> impl Iterator<Item = Complex> {
        let steps = 2 * n as u64;
        let mut state = self
            .state
            .fetch_add(steps.wrapping_mul(GAMMA), Ordering::Relaxed);
        let mut unit = move || {
            state = state.wrapping_add(GAMMA);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            ((z >> 11) + 1) as f64 / (1u64 << 53) as f64
        };
        (0..n).map(move |_| {
            let r = (-2.0 * unit().ln()).sqrt();
            let t = std::f64::consts::TAU * unit();
            Complex::new(r * t.cos(), r * t.sin())
        })
    }
}

/// SplitMix64's increment.
const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaussian_samples_have_unit_variance_and_are_reproducible() {
        let a = NoiseSource::new(7);
        let n = 20_000;
        let samples: Vec<Complex> = a.gaussians(n / 2).chain(a.gaussians(n - n / 2)).collect();
        let mean = samples.iter().map(|z| z.re + z.im).sum::<f64>() / (2 * n) as f64;
        let var = samples
            .iter()
            .map(|z| z.re * z.re + z.im * z.im)
            .sum::<f64>()
            / (2 * n) as f64;
        assert!(mean.abs() < 0.03, "mean {mean}");
        assert!((var - 1.0).abs() < 0.05, "variance {var}");
        let b = NoiseSource::new(7);
        let one_by_one: Vec<Complex> = (0..3).flat_map(|_| b.gaussians(1)).collect();
        assert_eq!(one_by_one, samples[..3]);
    }
}
