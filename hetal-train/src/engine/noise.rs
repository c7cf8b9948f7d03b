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

    fn next_u64(&self) -> u64 {
        let mut z = self
            .state
            .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
            .wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1].
    fn unit(&self) -> f64 {
        ((self.next_u64() >> 11) + 1) as f64 / (1u64 << 53) as f64
    }

    /// A pair of independent standard normal samples (Box–Muller).
    pub(crate) fn gaussian_pair(&self) -> Complex {
        let r = (-2.0 * self.unit().ln()).sqrt();
        let t = std::f64::consts::TAU * self.unit();
        Complex::new(r * t.cos(), r * t.sin())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaussian_samples_have_unit_variance_and_are_reproducible() {
        let a = NoiseSource::new(7);
        let n = 20_000;
        let samples: Vec<Complex> = (0..n).map(|_| a.gaussian_pair()).collect();
        let mean = samples.iter().map(|z| z.re + z.im).sum::<f64>() / (2 * n) as f64;
        let var = samples
            .iter()
            .map(|z| z.re * z.re + z.im * z.im)
            .sum::<f64>()
            / (2 * n) as f64;
        assert!(mean.abs() < 0.03, "mean {mean}");
        assert!((var - 1.0).abs() < 0.05, "variance {var}");
        let b = NoiseSource::new(7);
        assert_eq!(b.gaussian_pair(), samples[0]);
    }
}
