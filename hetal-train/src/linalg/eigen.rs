//! Eigenvalues and eigenvectors of a real symmetric matrix, in f64:
//! Householder reduction to tridiagonal form, then the implicit symmetric
//! QR algorithm with Wilkinson shifts (Golub and Van Loan, *Matrix
//! Computations*, 8.3), the rotations accumulated into the eigenvectors.
//!
//! About `9n³` floating-point operations for an `n × n` matrix (a few
//! seconds at n = 1280). Deterministic: every entry is computed by the same
//! sequence of operations whatever the number of threads (rayon splits work
//! by rows only).

use rayon::prelude::*;

use super::{LinalgError, LinalgResult, Matrix};

/// Eigen-decomposition `A = Σ λᵢ vᵢ vᵢᵀ` of a symmetric matrix.
#[derive(Clone, Debug, PartialEq)]
pub struct SymmetricEigen {
    /// Eigenvalues, largest first.
    pub values: Vec<f64>,
    /// Unit eigenvectors as rows, in the order of `values`; the entry of
    /// largest magnitude of each is positive.
    pub vectors: Matrix,
}

/// QR sweeps allowed per eigenvalue before giving up.
const SWEEPS_PER_VALUE: usize = 30;

/// Decomposes the symmetric part `(A + Aᵀ) / 2` of the square matrix `a`.
pub fn symmetric_eigen(a: &Matrix) -> LinalgResult<SymmetricEigen> {
    let n = a.rows();
    if a.cols() != n {
        return Err(LinalgError::ShapeMismatch {
            context: "symmetric eigen-decomposition: a square matrix",
            expected: n,
            found: a.cols(),
        });
    }
    let mut work: Vec<f64> = (0..n * n)
        .map(|ij| {
            let (i, j) = (ij / n, ij % n);
            0.5 * (a.data()[i * n + j] + a.data()[j * n + i])
        })
        .collect();
    // q holds the accumulated orthogonal transform, row-major: A = Q T Qᵀ.
    let mut q: Vec<f64> = (0..n * n)
        .map(|ij| if ij / n == ij % n { 1.0 } else { 0.0 })
        .collect();
    let (mut d, mut e) = tridiagonalize(n, &mut work, &mut q);
    diagonalize(n, &mut d, &mut e, &mut q)?;

    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| d[j].total_cmp(&d[i]));
    let mut vectors = vec![0.0; n * n];
    for (r, row) in vectors.chunks_mut(n.max(1)).enumerate() {
        for (c, x) in row.iter_mut().enumerate() {
            *x = q[c * n + order[r]];
        }
        let peak = row
            .iter()
            .copied()
            .reduce(|m, x| if x.abs() > m.abs() { x } else { m });
        if peak.is_some_and(|p| p < 0.0) {
            row.iter_mut().for_each(|x| *x = -*x);
        }
    }
    Ok(SymmetricEigen {
        values: order.iter().map(|&i| d[i]).collect(),
        vectors: Matrix::new(n, n, vectors)?,
    })
}

/// Householder reduction of the symmetric `a` (row-major, overwritten) to
/// a tridiagonal `T = Qᵀ A Q`; `q` (the identity on entry) becomes `Q`.
/// Returns T's diagonal and sub-diagonal.
fn tridiagonalize(n: usize, a: &mut [f64], q: &mut [f64]) -> (Vec<f64>, Vec<f64>) {
    let mut e = vec![0.0; n.saturating_sub(1)];
    for k in 0..n.saturating_sub(2) {
        // x: column k below the diagonal (row k right of it, by symmetry).
        let x = &a[k * n + k + 1..(k + 1) * n];
        let norm = x.iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm == 0.0 {
            continue;
        }
        let alpha = if x[0] > 0.0 { -norm } else { norm };
        let mut v = x.to_vec();
        v[0] -= alpha;
        let beta = 2.0 / v.iter().map(|t| t * t).sum::<f64>();
        e[k] = alpha;
        // S ← H S H on the trailing block S = A[k+1.., k+1..], H = I − β v vᵀ:
        // p = β S v, w = p − (β vᵀp / 2) v, S ← S − v wᵀ − w vᵀ.
        let p: Vec<f64> = a[(k + 1) * n..]
            .par_chunks(n)
            .map(|row| beta * dot(&row[k + 1..], &v))
            .collect();
        let half = 0.5 * beta * dot(&v, &p);
        let w: Vec<f64> = p.iter().zip(&v).map(|(p, v)| p - half * v).collect();
        a[(k + 1) * n..]
            .par_chunks_mut(n)
            .enumerate()
            .for_each(|(i, row)| {
                for (j, s) in row[k + 1..].iter_mut().enumerate() {
                    *s -= v[i] * w[j] + w[i] * v[j];
                }
            });
        // Q ← Q H.
        q.par_chunks_mut(n).for_each(|row| {
            let s = beta * dot(&row[k + 1..], &v);
            for (x, v) in row[k + 1..].iter_mut().zip(&v) {
                *x -= s * v;
            }
        });
    }
    if n >= 2 {
        e[n - 2] = a[(n - 1) * n + n - 2];
    }
    let d = (0..n).map(|i| a[i * n + i]).collect();
    (d, e)
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Whether the sub-diagonal entry `e[i]` is negligible beside its diagonal
/// neighbours (or beside the whole matrix's scale, for tiny neighbours).
fn negligible(d: &[f64], e: &[f64], i: usize, scale: f64) -> bool {
    let local = d[i].abs() + d[i + 1].abs();
    e[i].abs() <= f64::EPSILON * local.max(f64::EPSILON * scale)
}

/// Implicit symmetric QR on the tridiagonal `(d, e)` until `e` vanishes;
/// the rotations are applied to the columns of `q` (row-major, `n × n`).
fn diagonalize(n: usize, d: &mut [f64], e: &mut [f64], q: &mut [f64]) -> LinalgResult<()> {
    let scale = d.iter().chain(e.iter()).fold(0.0f64, |m, x| m.max(x.abs()));
    let mut sweeps = 0;
    let mut rotations = Vec::with_capacity(n);
    let mut high = n.saturating_sub(1);
    while high > 0 {
        if negligible(d, e, high - 1, scale) {
            e[high - 1] = 0.0;
            high -= 1;
            continue;
        }
        let mut low = high - 1;
        while low > 0 && !negligible(d, e, low - 1, scale) {
            low -= 1;
        }
        sweeps += 1;
        if sweeps > SWEEPS_PER_VALUE * n {
            return Err(LinalgError::NoConvergence { sweeps });
        }
        rotations.clear();
        qr_sweep(d, e, low, high, &mut rotations);
        q.par_chunks_mut(n).for_each(|row| {
            for (k, &(c, s)) in (low..high).zip(&rotations) {
                let (x, y) = (row[k], row[k + 1]);
                row[k] = c * x - s * y;
                row[k + 1] = s * x + c * y;
            }
        });
    }
    Ok(())
}

/// One implicit QR step with a Wilkinson shift on the unreduced block
/// `low..=high`: `T ← Rᵀ T R` with plane rotations `R` on `(k, k + 1)`,
/// `k = low..high`, each `[[c, s], [−s, c]]`, pushed onto `rotations`.
fn qr_sweep(
    d: &mut [f64],
    e: &mut [f64],
    low: usize,
    high: usize,
    rotations: &mut Vec<(f64, f64)>,
) {
    let delta = 0.5 * (d[high - 1] - d[high]);
    let b = e[high - 1];
    let sign = if delta < 0.0 { -1.0 } else { 1.0 };
    let shift = d[high] - b * b / (delta + sign * delta.hypot(b));
    // (x, z): the entries to rotate into one; first the shifted column,
    // then the sub-diagonal entry and the bulge below it.
    let (mut x, mut z) = (d[low] - shift, e[low]);
    for k in low..high {
        let r = x.hypot(z);
        let (c, s) = if r == 0.0 {
            (1.0, 0.0)
        } else {
            (x / r, -z / r)
        };
        if k > low {
            e[k - 1] = r;
        }
        let (a, b, f) = (d[k], e[k], d[k + 1]);
        d[k] = c * c * a - 2.0 * c * s * b + s * s * f;
        d[k + 1] = s * s * a + 2.0 * c * s * b + c * c * f;
        e[k] = (a - f) * c * s + b * (c * c - s * s);
        if k + 1 < high {
            let below = e[k + 1];
            z = -s * below;
            e[k + 1] = c * below;
            x = e[k];
        }
        rotations.push((c, s));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reproducible::Xorshift;

    fn random_symmetric(n: usize, seed: u64) -> Matrix {
        let mut rng = Xorshift::new(seed);
        let m = Matrix::from_fn(n, n, |_, _| rng.symmetric());
        Matrix::from_fn(n, n, |i, j| m.row(i)[j] + m.row(j)[i])
    }

    /// max |A v − λ v| over the pairs, and max |V Vᵀ − I|.
    fn residuals(a: &Matrix, eig: &SymmetricEigen) -> (f64, f64) {
        let n = a.rows();
        let mut worst = 0.0f64;
        for (i, &lambda) in eig.values.iter().enumerate() {
            let v = eig.vectors.row(i);
            for r in 0..n {
                worst = worst.max((dot(a.row(r), v) - lambda * v[r]).abs());
            }
        }
        let gram = eig.vectors.mul_bt(&eig.vectors).unwrap();
        let identity = Matrix::from_fn(n, n, |i, j| if i == j { 1.0 } else { 0.0 });
        (worst, gram.max_abs_diff(&identity).unwrap())
    }

    #[test]
    fn random_symmetric_matrices_are_decomposed() {
        for (n, seed) in [(1, 1), (2, 2), (3, 3), (17, 4), (64, 5)] {
            let a = random_symmetric(n, seed);
            let eig = symmetric_eigen(&a).unwrap();
            let (fit, orth) = residuals(&a, &eig);
            assert!(fit < 1e-12 * n as f64, "n = {n}: |Av - λv| = {fit:e}");
            assert!(orth < 1e-13 * n as f64, "n = {n}: |VVᵀ - I| = {orth:e}");
            assert!(eig.values.windows(2).all(|w| w[0] >= w[1]));
            // The trace is the sum of the eigenvalues.
            let trace: f64 = (0..n).map(|i| a.row(i)[i]).sum();
            let sum: f64 = eig.values.iter().sum();
            assert!((trace - sum).abs() < 1e-12 * n as f64);
        }
    }

    #[test]
    fn known_spectra_are_found() {
        // [[2, 1], [1, 2]]: eigenvalues 3 and 1 along (1, 1) and (1, -1).
        let a = Matrix::new(2, 2, vec![2.0, 1.0, 1.0, 2.0]).unwrap();
        let eig = symmetric_eigen(&a).unwrap();
        assert!((eig.values[0] - 3.0).abs() < 1e-15 && (eig.values[1] - 1.0).abs() < 1e-15);
        let h = std::f64::consts::FRAC_1_SQRT_2;
        assert!((eig.vectors.row(0)[0] - h).abs() < 1e-15);
        assert!((eig.vectors.row(0)[1] - h).abs() < 1e-15);
        // Diagonal and zero matrices, repeated eigenvalues.
        let diag = Matrix::from_fn(4, 4, |i, j| {
            if i == j {
                [1.0, 5.0, 1.0, -2.0][i]
            } else {
                0.0
            }
        });
        assert_eq!(
            symmetric_eigen(&diag).unwrap().values,
            [5.0, 1.0, 1.0, -2.0]
        );
        let zero = symmetric_eigen(&Matrix::zeros(3, 3)).unwrap();
        assert_eq!(zero.values, [0.0; 3]);
        assert!(symmetric_eigen(&Matrix::zeros(0, 0))
            .unwrap()
            .values
            .is_empty());
        // The tridiagonal Laplacian [-1 2 -1] of size n: 2 − 2cos(kπ/(n+1)).
        let n = 40;
        let lap = Matrix::from_fn(n, n, |i, j| match i.abs_diff(j) {
            0 => 2.0,
            1 => -1.0,
            _ => 0.0,
        });
        let eig = symmetric_eigen(&lap).unwrap();
        for (k, &value) in eig.values.iter().enumerate() {
            let angle = (n - k) as f64 * std::f64::consts::PI / (n + 1) as f64;
            assert!((value - (2.0 - 2.0 * angle.cos())).abs() < 1e-13, "k = {k}");
        }
    }

    #[test]
    fn non_square_matrices_are_refused() {
        assert!(matches!(
            symmetric_eigen(&Matrix::zeros(2, 3)),
            Err(LinalgError::ShapeMismatch { .. })
        ));
    }
}
