//! CKKS-sized noise for the clear engine, from a seeded generator.
//!
//! Each noisy operation takes the next block number of the engine's
//! [`NoiseSource`]; its slots are cut into chunks of [`CHUNK`], and chunk
//! `c` of block `b` draws from its own SplitMix64 stream seeded by
//! `(seed, b, c)`. The samples therefore depend on the seed and on the order
//! of the operations only, not on how many threads fill the chunks. Normal
//! samples come from Marsaglia and Tsang's ziggurat (128 layers), which is
//! exact and needs one 64-bit draw and one multiplication for about 99 % of
//! samples (Box–Muller's logarithm, square root, sine and cosine per pair
//! made the noise most of a simulated training run's time).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use rayon::prelude::*;

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

/// Slots per independently seeded stream (the unit of parallel work).
const CHUNK: usize = 2048;

/// A seeded source of Gaussian noise usable from many threads.
#[derive(Debug)]
pub(crate) struct NoiseSource {
    seed: u64,
    block: AtomicU64,
}

impl NoiseSource {
    pub(crate) fn new(seed: u64) -> Self {
        NoiseSource {
            seed,
            block: AtomicU64::new(0),
        }
    }

    /// Adds to each value `v` complex noise whose parts are independent
    /// normal samples of standard deviation `sigma(v)`; one block of the
    /// stream is used, whatever the length.
    pub(crate) fn perturb(&self, values: &mut [Complex], sigma: impl Fn(Complex) -> f64 + Sync) {
        let block = self.block.fetch_add(1, Ordering::Relaxed);
        let tables = tables();
        values
            .par_chunks_mut(CHUNK)
            .enumerate()
            .for_each(|(chunk, part)| {
                let mut stream = Stream::new(self.seed, block, chunk as u64);
                for v in part {
                    let s = sigma(*v);
                    let (re, im) = (stream.normal(tables), stream.normal(tables));
                    *v = Complex::new(v.re + s * re, v.im + s * im);
                }
            });
    }
}

/// SplitMix64's increment.
const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64's output function (a bijective 64-bit mixer).
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// One SplitMix64 stream.
struct Stream {
    state: u64,
}

impl Stream {
    /// The stream of chunk `chunk` of block `block` under `seed`.
    fn new(seed: u64, block: u64, chunk: u64) -> Self {
        Stream {
            state: mix(seed ^ mix(block.wrapping_mul(GAMMA) ^ mix(chunk.wrapping_add(GAMMA)))),
        }
    }

    fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GAMMA);
        mix(self.state)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 * UNIT
    }

    /// Uniform in (0, 1]: never 0, so that its logarithm is finite.
    fn open_unit(&mut self) -> f64 {
        ((self.next() >> 11) + 1) as f64 * UNIT
    }

    /// A standard normal sample (ziggurat).
    fn normal(&mut self, t: &Tables) -> f64 {
        loop {
            let bits = self.next();
            let layer = (bits & 0x7f) as usize;
            // Bit 7 is the sign, flipped without a branch (a coin flip
            // mispredicts half the time).
            let signed = |x: f64| f64::from_bits(x.to_bits() ^ ((bits & 0x80) << 56));
            let x = (bits >> 11) as f64 * UNIT * t.x[layer];
            if x < t.x[layer + 1] {
                return signed(x);
            }
            if layer == 0 {
                return signed(self.tail());
            }
            let y = t.f[layer] + self.unit() * (t.f[layer + 1] - t.f[layer]);
            if y < (-0.5 * x * x).exp() {
                return signed(x);
            }
        }
    }

    /// A sample of the normal tail beyond [`TAIL`] (Marsaglia's method).
    fn tail(&mut self) -> f64 {
        loop {
            let a = -self.open_unit().ln() / TAIL;
            let b = -self.open_unit().ln();
            if 2.0 * b > a * a {
                return TAIL + a;
            }
        }
    }
}

/// 2^-53: a 53-bit integer times this is in [0, 1).
const UNIT: f64 = 1.0 / (1u64 << 53) as f64;

/// Layers of the ziggurat.
const LAYERS: usize = 128;
/// Where the tail starts (Marsaglia and Tsang's `r` for 128 layers).
const TAIL: f64 = 3.442_619_855_899;
/// Area of every layer (their `v`).
const AREA: f64 = 9.912_563_035_262_17e-3;

/// The ziggurat: layer `i` spans `[0, x[i]]` between the heights `f[i]` and
/// `f[i + 1]` of the unnormalised density `f(x) = exp(-x²/2)`; layer 0 is
/// the base strip, of width `AREA / f(TAIL)`, that also stands for the tail.
struct Tables {
    x: [f64; LAYERS + 1],
    f: [f64; LAYERS + 1],
}

fn density(x: f64) -> f64 {
    (-0.5 * x * x).exp()
}

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| {
        let mut x = [0.0; LAYERS + 1];
        x[0] = AREA / density(TAIL);
        x[1] = TAIL;
        for i in 1..LAYERS - 1 {
            x[i + 1] = (-2.0 * (AREA / x[i] + density(x[i])).ln()).sqrt();
        }
        let f = x.map(density);
        Tables { x, f }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples(seed: u64, n: usize) -> Vec<f64> {
        let source = NoiseSource::new(seed);
        let mut values = vec![Complex::ZERO; n / 2];
        source.perturb(&mut values, |_| 1.0);
        values.iter().flat_map(|z| [z.re, z.im]).collect()
    }

    #[test]
    fn the_ziggurat_tables_close_at_the_mode() {
        let t = tables();
        // The top layer reaches the density's peak, as the constants promise.
        let top = AREA / t.x[LAYERS - 1] + t.f[LAYERS - 1];
        assert!((top - 1.0).abs() < 1e-9, "top {top}");
        assert!(t.x.windows(2).all(|w| w[0] > w[1]));
        assert_eq!(t.f[LAYERS], 1.0);
    }

    #[test]
    fn samples_are_standard_normal() {
        let n = 1 << 20;
        let s = samples(7, n);
        let mean = s.iter().sum::<f64>() / n as f64;
        let var = s.iter().map(|x| x * x).sum::<f64>() / n as f64;
        let kurtosis = s.iter().map(|x| x.powi(4)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 5e-3, "mean {mean}");
        assert!((var - 1.0).abs() < 5e-3, "variance {var}");
        assert!((kurtosis - 3.0).abs() < 0.03, "kurtosis {kurtosis}");
        // The distribution function at a few points (Φ from tables), and the
        // tail beyond the ziggurat's base strip (2·(1 − Φ(3.4426)) = 5.76e-4).
        for (point, phi) in [(-2.0, 0.022_750), (0.5, 0.691_462), (1.0, 0.841_345)] {
            let below = s.iter().filter(|&&x| x < point).count() as f64 / n as f64;
            assert!((below - phi).abs() < 2e-3, "P(x < {point}) = {below}");
        }
        let tail = s.iter().filter(|x| x.abs() > TAIL).count() as f64 / n as f64;
        assert!((tail - 5.76e-4).abs() < 1.2e-4, "tail {tail}");
    }

    #[test]
    fn samples_depend_on_the_seed_and_call_order_only() {
        let a = samples(3, 10_000);
        assert_eq!(a, samples(3, 10_000));
        assert_ne!(a, samples(4, 10_000));
        // Two calls draw different blocks; chunks of one call differ too.
        let source = NoiseSource::new(3);
        let mut first = vec![Complex::ZERO; 2 * CHUNK];
        let mut second = first.clone();
        source.perturb(&mut first, |_| 1.0);
        source.perturb(&mut second, |_| 1.0);
        assert_ne!(first, second);
        assert_ne!(first[..CHUNK], first[CHUNK..]);
        // The standard deviation follows `sigma` slot by slot.
        let mut scaled = vec![Complex::new(2.0, 0.0); 4];
        NoiseSource::new(3).perturb(&mut scaled, |v| v.re * 1e-3);
        let mut unit = vec![Complex::ZERO; 4];
        NoiseSource::new(3).perturb(&mut unit, |_| 1.0);
        for (s, u) in scaled.iter().zip(&unit) {
            assert!((s.re - (2.0 + 2e-3 * u.re)).abs() < 1e-15);
            assert!((s.im - 2e-3 * u.im).abs() < 1e-15);
        }
    }
}
