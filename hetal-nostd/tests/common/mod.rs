//! Helpers shared by the integration tests.
#![allow(dead_code)]

use hetal_nostd::encoding::Complex;
use hetal_nostd::keys::{PublicKey, SecretKey};
use hetal_nostd::params::ParamsLiteral;
use hetal_nostd::ring::sampling::Csprng;
use hetal_nostd::ring::Context;

/// A context plus keys from a fixed seed.
pub struct Setup {
    pub ctx: Context,
    pub sk: SecretKey,
    pub pk: PublicKey,
    pub rng: Csprng,
}

pub fn setup(lit: &ParamsLiteral<'_>, seed: u8) -> Setup {
    let ctx = Context::new(lit.build().unwrap()).unwrap();
    let mut rng = Csprng::from_entropy([seed; 32]);
    let sk = SecretKey::generate(&ctx, &mut rng);
    let pk = PublicKey::generate(&ctx, &sk, &mut rng);
    Setup { ctx, sk, pk, rng }
}

/// Deterministic values in the unit disc's square [-1, 1]².
pub fn unit_values(count: usize, seed: u64) -> Vec<Complex> {
    let mut s = seed;
    let mut next = move || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((s >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
    };
    (0..count).map(|_| Complex::new(next(), next())).collect()
}

/// Largest absolute error over real and imaginary parts.
pub fn max_error(a: &[Complex], b: &[Complex]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x.re - y.re).abs().max((x.im - y.im).abs()))
        .fold(0.0, f64::max)
}

/// Mean absolute error over real and imaginary parts.
pub fn mean_error(a: &[Complex], b: &[Complex]) -> f64 {
    let s: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x.re - y.re).abs() + (x.im - y.im).abs())
        .sum();
    s / (2 * a.len()) as f64
}
