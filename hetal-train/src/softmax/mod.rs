//! Softmax approximations on horizontally tiled logits: HETAL's Algorithm 1
//! (and its "precise" variant) and the baselines the paper compares against
//! (Lee et al.'s Gumbel softmax, Hong et al., Jin et al.'s pairwise sigmoids).
//!
//! Every method works on tiles whose rows hold one sample's logits repeated
//! with period `c'`; padded classes come out as exactly 0. Bootstraps are
//! inserted by the general rule ([`crate::engine::ensure_levels`]) before
//! each step that needs levels.

mod methods;
pub mod poly;
mod rows;

pub use methods::{check_logit_bound, softmax, softmax_scaled, SoftmaxMethod, HETAL_LOGIT_BOUND};

use crate::engine::Complex;
use crate::linalg::{Matrix, TileShape};
use crate::reproducible::Xorshift;

/// The softmax of all-zero logits in a tile of the softmax's layout
/// (`classes` real classes, period `c'`): `1/classes` at the real classes,
/// 0 at the padded ones, as every method returns it.
pub fn uniform(shape: TileShape, period: usize, classes: usize) -> Vec<Complex> {
    let rows = rows::Rows {
        shape,
        period,
        classes,
    };
    rows.real_classes(1.0 / classes as f64)
}

/// Exact softmax of a row (f64), the yardstick of the approximations.
pub fn exact(row: &[f64]) -> Vec<f64> {
    let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exps: Vec<f64> = row.iter().map(|&x| (x - max).exp()).collect();
    let sum: f64 = exps.iter().sum();
    exps.iter().map(|e| e / sum).collect()
}

/// Logits drawn as in the paper's softmax benchmark: rows in equal shares
/// uniform on [-4, 4], [-8, 8], [-32, 32], [-128, 128], up to `[-range, range]`
/// (a seeded [`Xorshift`] stream).
pub fn sample_logits(rows: usize, classes: usize, range: f64, seed: u64) -> Matrix {
    let ranges: Vec<f64> = [4.0, 8.0, 32.0, 128.0]
        .into_iter()
        .filter(|&r| r <= range)
        .collect();
    let ranges = if ranges.is_empty() {
        vec![range]
    } else {
        ranges
    };
    let mut rng = Xorshift::new(seed);
    Matrix::from_fn(rows, classes, |r, _| {
        let bound = ranges[r % ranges.len()];
        (2.0 * rng.unit() - 1.0) * bound
    })
}

/// Largest and mean (over rows) row-wise maximum absolute difference between
/// approximate probabilities and the exact softmax of `logits`.
pub fn row_errors(logits: &Matrix, approx: &Matrix) -> (f64, f64) {
    let rows = logits.rows().min(approx.rows());
    let mut worst = 0.0f64;
    let mut total = 0.0;
    for r in 0..rows {
        let want = exact(logits.row(r));
        let err = approx
            .row(r)
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        worst = worst.max(err);
        total += err;
    }
    (worst, total / rows.max(1) as f64)
}

#[cfg(test)]
mod tests;
