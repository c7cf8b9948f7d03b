//! Randomness: a ChaCha20 CSPRNG and the samplers CKKS needs.
//!
//! Secret samplers (ternary, Gaussian) run in time independent of the values
//! they produce: no branch and no table index depends on a sampled value.
//! Public uniform polynomials are expanded from 32-byte seeds, one ChaCha20
//! stream per RNS limb, so any limb can be regenerated on its own.

use crate::math::zq::Modulus;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use zeroize::Zeroize;

/// Standard deviation of the error distribution.
pub const GAUSSIAN_SIGMA: f64 = 3.2;
/// Errors are bounded by |e| <= GAUSSIAN_BOUND (6 sigma, rounded).
pub const GAUSSIAN_BOUND: usize = 19;

/// A 32-byte seed.
pub type Seed = [u8; 32];

/// A ChaCha20 cryptographically secure generator.
pub struct Csprng(ChaCha20Rng);

impl Csprng {
    /// A generator seeded by caller-supplied entropy (32 bytes from a true
    /// random source on the device).
    pub fn from_entropy(mut entropy: Seed) -> Self {
        let rng = ChaCha20Rng::from_seed(entropy);
        entropy.zeroize();
        Csprng(rng)
    }

    /// A generator seeded from the operating system.
    #[cfg(feature = "std")]
    pub fn from_os() -> Result<Self, getrandom::Error> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed)?;
        Ok(Self::from_entropy(seed))
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// A fresh 32-byte seed (for expanding a public polynomial).
    pub fn seed(&mut self) -> Seed {
        let mut s = [0u8; 32];
        self.0.fill_bytes(&mut s);
        s
    }

    /// Uniform ternary coefficients in {-1, 0, 1}, branch-free.
    ///
    /// Each value is floor(3 r / 2^64) - 1 for a uniform 64-bit r: its
    /// statistical distance from uniform is below 2^-62.
    pub fn fill_ternary(&mut self, out: &mut [i8]) {
        for x in out.iter_mut() {
            let r = self.0.next_u64() as u128;
            *x = ((r * 3) >> 64) as i8 - 1;
        }
    }

    /// Discrete Gaussian coefficients (sigma 3.2, |e| <= 19), constant time.
    ///
    /// Cumulative-table sampling of |e| where every comparison against the
    /// whole table is made (no early exit, no secret index), then a random
    /// sign applied arithmetically.
    pub fn fill_gaussian(&mut self, out: &mut [i8]) {
        let table = half_gaussian_cdt();
        for x in out.iter_mut() {
            let r = self.0.next_u64();
            let mut magnitude = 0u8;
            for &t in table.iter() {
                let (_, below) = r.overflowing_sub(t);
                magnitude += u8::from(!below);
            }
            let sign = (self.0.next_u32() & 1) as i8;
            let m = magnitude as i8;
            *x = m - 2 * sign * m;
        }
    }
}

/// T[k] = floor(2^64 P(|e| <= k)) for k = 0..GAUSSIAN_BOUND-1, where
/// P(|e| = 0) = rho(0)/Z and P(|e| = k) = 2 rho(k)/Z; the sample is the count
/// of thresholds at or below a uniform 64-bit value.
fn half_gaussian_cdt() -> [u64; GAUSSIAN_BOUND] {
    let rho = |k: usize| libm::exp(-((k * k) as f64) / (2.0 * GAUSSIAN_SIGMA * GAUSSIAN_SIGMA));
    let total: f64 = rho(0) + 2.0 * (1..=GAUSSIAN_BOUND).map(rho).sum::<f64>();
    let mut table = [0u64; GAUSSIAN_BOUND];
    let mut cumulative = rho(0);
    for (k, t) in table.iter_mut().enumerate() {
        let p = cumulative / total;
        *t = if p >= 1.0 {
            u64::MAX
        } else {
            libm::ldexp(p, 64) as u64
        };
        cumulative += 2.0 * rho(k + 1);
    }
    table
}

/// Element-wise expansion of limb `stream` of a public uniform polynomial
/// from a seed: values uniform in [0, q) by rejection sampling (the values
/// are public, so rejection leaks nothing).
pub struct UniformExpander {
    rng: ChaCha20Rng,
    mask: u64,
    q: u64,
}

impl UniformExpander {
    /// The expander of limb `stream` modulo `q`.
    pub fn new(seed: &Seed, stream: u64, q: &Modulus) -> Self {
        let mut rng = ChaCha20Rng::from_seed(*seed);
        rng.set_stream(stream);
        UniformExpander {
            rng,
            mask: u64::MAX >> (64 - q.bits()),
            q: q.value(),
        }
    }

    /// The next value in [0, q).
    #[inline]
    pub fn next_value(&mut self) -> u64 {
        loop {
            let r = self.rng.next_u64() & self.mask;
            if r < self.q {
                return r;
            }
        }
    }
}

/// Fills `out` with limb `stream` of the public uniform polynomial of `seed`
/// (NTT-domain values directly).
pub fn expand_uniform(seed: &Seed, stream: u64, q: &Modulus, out: &mut [u64]) {
    let mut ex = UniformExpander::new(seed, stream, q);
    for x in out.iter_mut() {
        *x = ex.next_value();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ternary_is_balanced() {
        let mut rng = Csprng::from_entropy([7; 32]);
        let mut v = [0i8; 30000];
        rng.fill_ternary(&mut v);
        let mut counts = [0usize; 3];
        for &x in v.iter() {
            assert!((-1..=1).contains(&x));
            counts[(x + 1) as usize] += 1;
        }
        for c in counts {
            assert!((9500..10500).contains(&c), "counts {counts:?}");
        }
    }

    #[test]
    fn gaussian_moments_and_bound() {
        let mut rng = Csprng::from_entropy([9; 32]);
        let mut v = [0i8; 200_000];
        rng.fill_gaussian(&mut v);
        let n = v.len() as f64;
        let mean = v.iter().map(|&x| x as f64).sum::<f64>() / n;
        let var = v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n;
        assert!(mean.abs() < 0.05, "mean {mean}");
        assert!(
            (var.sqrt() - GAUSSIAN_SIGMA).abs() < 0.05,
            "sigma {}",
            var.sqrt()
        );
        assert!(v
            .iter()
            .all(|&x| x.unsigned_abs() as usize <= GAUSSIAN_BOUND));
        // P(e = 0) = 1 / (sigma sqrt(2 pi)) = 0.1247 for sigma = 3.2.
        let zeros = v.iter().filter(|&&x| x == 0).count() as f64 / n;
        assert!((zeros - 0.1247).abs() < 0.005, "P(0) = {zeros}");
        let pos = v.iter().filter(|&&x| x > 0).count() as f64 / n;
        let neg = v.iter().filter(|&&x| x < 0).count() as f64 / n;
        assert!((pos - neg).abs() < 0.01);
    }

    #[test]
    fn expansion_is_deterministic_per_stream_and_uniform() {
        let q = Modulus::new(0x3fff_ffff_fffc_0001).unwrap();
        let mut a = [0u64; 4096];
        let mut b = [0u64; 4096];
        expand_uniform(&[1; 32], 3, &q, &mut a);
        expand_uniform(&[1; 32], 3, &q, &mut b);
        assert_eq!(a, b);
        expand_uniform(&[1; 32], 4, &q, &mut b);
        assert_ne!(a, b);
        assert!(a.iter().all(|&x| x < q.value()));
        let mean = a.iter().map(|&x| x as f64 / q.value() as f64).sum::<f64>() / a.len() as f64;
        assert!((mean - 0.5).abs() < 0.02, "mean {mean}");
    }
}
