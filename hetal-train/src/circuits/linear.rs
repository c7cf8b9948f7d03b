//! Slot-wise linear maps v → A·v evaluated by diagonals with baby-step
//! giant-step rotations (the building block of CoeffsToSlots and
//! SlotsToCoeffs).
//!
//! With `diag_k[j] = A[j][(j + k) mod n]` and `rot(v, k)[j] = v[(j + k) mod n]`,
//! A·v = Σ_k diag_k ⊙ rot(v, k). Writing k = g·a + b (0 ≤ b < g):
//! A·v = Σ_a rot( Σ_b rot(diag_{ga+b}, −ga) ⊙ rot(v, b), ga ),
//! so only the distinct baby steps b and giant steps ga are rotations of
//! ciphertexts; the pre-rotated diagonals are plaintexts. One level.

use super::poly::{CircuitError, CircuitResult};
use crate::engine::{Coefficient, Complex, Engine, EngineError};
use std::collections::{BTreeMap, BTreeSet};

/// A linear map on n slots stored by its non-zero diagonals.
#[derive(Clone, Debug, PartialEq)]
pub struct LinearTransform {
    n: usize,
    diagonals: BTreeMap<usize, Vec<Complex>>,
    giant: usize,
}

fn rotate_vec(v: &[Complex], k: usize) -> Vec<Complex> {
    let n = v.len();
    (0..n).map(|j| v[(j + k) % n]).collect()
}

impl LinearTransform {
    /// The transform of a square matrix given by rows (zero diagonals dropped).
    pub fn from_matrix(rows: &[Vec<Complex>]) -> CircuitResult<Self> {
        let n = rows.len();
        if let Some(bad) = rows.iter().find(|r| r.len() != n) {
            return Err(CircuitError::SizeMismatch {
                expected: n,
                got: bad.len(),
            });
        }
        let diagonals = (0..n)
            .map(|k| (k, (0..n).map(|j| rows[j][(j + k) % n]).collect::<Vec<_>>()))
            .filter(|(_, d)| d.iter().any(|c| c.re != 0.0 || c.im != 0.0))
            .collect();
        Self::from_diagonals(n, diagonals)
    }

    /// The transform with the given diagonals (index k in 0..n, each of length n).
    pub fn from_diagonals(
        n: usize,
        diagonals: BTreeMap<usize, Vec<Complex>>,
    ) -> CircuitResult<Self> {
        if n == 0 || !n.is_power_of_two() {
            return Err(CircuitError::SizeMismatch {
                expected: n.next_power_of_two(),
                got: n,
            });
        }
        for (&k, d) in &diagonals {
            if k >= n || d.len() != n {
                return Err(CircuitError::SizeMismatch {
                    expected: n,
                    got: d.len().max(k),
                });
            }
        }
        let giant = best_giant_step(n, diagonals.keys());
        Ok(LinearTransform {
            n,
            diagonals,
            giant,
        })
    }

    /// The same transform multiplied by `factor`.
    pub fn scaled(&self, factor: f64) -> Self {
        let mut out = self.clone();
        for d in out.diagonals.values_mut() {
            for c in d.iter_mut() {
                *c = c.scale(factor);
            }
        }
        out
    }

    /// The giant step g (a power of two) minimising the rotations.
    pub fn giant_step(&self) -> usize {
        self.giant
    }

    /// Number of non-zero diagonals.
    pub fn diagonal_count(&self) -> usize {
        self.diagonals.len()
    }

    /// The left rotations (in 0..n) a ciphertext undergoes: the Galois keys needed.
    pub fn rotations(&self) -> BTreeSet<usize> {
        let g = self.giant;
        let babies = self.diagonals.keys().map(|k| k % g);
        let giants = self.diagonals.keys().map(|k| k - k % g);
        babies.chain(giants).filter(|&r| r != 0).collect()
    }

    /// A·v in the clear.
    pub fn apply_clear(&self, v: &[Complex]) -> Vec<Complex> {
        let mut out = vec![Complex::default(); self.n];
        for (&k, d) in &self.diagonals {
            for (j, o) in out.iter_mut().enumerate() {
                *o = *o + d[j] * v[(j + k) % self.n];
            }
        }
        out
    }

    /// A·v on a ciphertext of n slots, one level down at the same scale.
    pub fn apply<E: Engine>(&self, engine: &E, ct: &E::Ct) -> CircuitResult<E::Ct> {
        let level = engine.level(ct);
        let below = level
            .checked_sub(1)
            .ok_or(EngineError::LevelExhausted { needed: 1, level })?;
        let out = engine.target_at(engine.target_of(ct), below)?;
        self.apply_to(engine, ct, out)
    }

    /// A·v on a ciphertext of n slots, landing exactly on `out` (below the
    /// ciphertext's level): each giant step's inner sum Σ_b diag ⊙ rot(v, b)
    /// is one [`Engine::linear_combination`] onto `out`, and the giant
    /// steps' rotations of them are one [`Engine::add_rotations`] (on CKKS,
    /// one ModDown for all of them).
    pub fn apply_to<E: Engine>(
        &self,
        engine: &E,
        ct: &E::Ct,
        out: E::Target,
    ) -> CircuitResult<E::Ct> {
        if engine.slots() != self.n {
            return Err(CircuitError::SizeMismatch {
                expected: self.n,
                got: engine.slots(),
            });
        }
        let g = self.giant;
        let mut groups: BTreeMap<usize, Vec<(usize, Vec<Complex>)>> = BTreeMap::new();
        for (&k, d) in &self.diagonals {
            let giant = k - k % g;
            let shifted = rotate_vec(d, (self.n - giant) % self.n);
            groups.entry(giant).or_default().push((k % g, shifted));
        }
        let steps: Vec<usize> = self
            .diagonals
            .keys()
            .map(|k| k % g)
            .collect::<BTreeSet<usize>>()
            .into_iter()
            .collect();
        let shifts: Vec<isize> = steps.iter().map(|&b| b as isize).collect();
        let babies: BTreeMap<usize, E::Ct> = steps
            .into_iter()
            .zip(engine.rotate_many(ct, &shifts)?)
            .collect();
        if groups.is_empty() {
            return Ok(engine.linear_combination(
                &[(ct, Coefficient::Const(Complex::default()))],
                Complex::default(),
                out,
            )?);
        }
        // The giant steps' rotations added as one sum, each inner sum made
        // when the sum takes it.
        let inners = groups.iter().map(|(giant, members)| {
            let terms: Vec<(&E::Ct, Coefficient<'_>)> = members
                .iter()
                .map(|(b, d)| (&babies[b], Coefficient::Reused(d)))
                .collect();
            let inner = engine.linear_combination(&terms, Complex::default(), out)?;
            Ok((inner, *giant as isize))
        });
        Ok(engine.add_rotations(inners)?)
    }
}

fn best_giant_step<'a>(n: usize, keys: impl Iterator<Item = &'a usize> + Clone) -> usize {
    let cost = |g: usize| {
        let babies: BTreeSet<usize> = keys.clone().map(|k| k % g).collect();
        let giants: BTreeSet<usize> = keys.clone().map(|k| k - k % g).collect();
        babies.iter().filter(|&&b| b != 0).count() + giants.iter().filter(|&&a| a != 0).count()
    };
    (0..=n.trailing_zeros())
        .map(|e| 1usize << e)
        .min_by_key(|&g| (cost(g), g))
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{ClearConfig, ClearDecryptor, ClearEngine, Decryptor};

    fn random_matrix(
        n: usize,
        seed: u64,
        keep: impl Fn(usize, usize) -> bool,
    ) -> Vec<Vec<Complex>> {
        let mut s = seed;
        let mut next = move || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 11) as f64 / (1u64 << 53) as f64) - 0.5
        };
        (0..n)
            .map(|r| {
                (0..n)
                    .map(|c| {
                        if keep(r, c) {
                            Complex::new(next(), next())
                        } else {
                            Complex::default()
                        }
                    })
                    .collect()
            })
            .collect()
    }

    fn check(rows: &[Vec<Complex>], expected_rotations: Option<u64>) {
        let n = rows.len();
        let t = LinearTransform::from_matrix(rows).unwrap();
        let e = ClearEngine::new(ClearConfig::exact(n, 3)).unwrap();
        let v: Vec<Complex> = (0..n)
            .map(|i| Complex::new(i as f64 / n as f64, 0.25 - i as f64 / 7.0))
            .collect();
        let ct = e.encrypt(&v, 3).unwrap();
        let out = t.apply(&e, &ct).unwrap();
        let got = ClearDecryptor.decrypt(&out).unwrap();
        let want: Vec<Complex> = rows
            .iter()
            .map(|r| {
                r.iter()
                    .zip(&v)
                    .fold(Complex::default(), |acc, (&a, &x)| acc + a * x)
            })
            .collect();
        for (g, w) in got.iter().zip(&want) {
            assert!((*g - *w).abs() < 1e-12);
        }
        for (c, g) in t.apply_clear(&v).iter().zip(&got) {
            assert!((*c - *g).abs() < 1e-12);
        }
        assert_eq!(e.level(&out), 2, "one level");
        let rot = e.counts().rot;
        // Each distinct baby and giant rotation is applied exactly once.
        assert_eq!(rot, t.rotations().len() as u64, "rotation count");
        if let Some(r) = expected_rotations {
            assert_eq!(rot, r);
        }
    }

    #[test]
    fn dense_matrix_uses_about_two_sqrt_n_rotations() {
        // n = 64: g = 8 gives 7 baby + 7 giant rotations instead of 63.
        check(&random_matrix(64, 1, |_, _| true), Some(14));
        check(&random_matrix(16, 2, |_, _| true), Some(6));
    }

    #[test]
    fn sparse_matrices() {
        // Cyclic tridiagonal: diagonals 0, 1 and n - 1.
        check(
            &random_matrix(32, 3, |r, c| {
                (c + 32 - r) % 32 <= 1 || (r + 32 - c) % 32 == 1
            }),
            None,
        );
        // Diagonal only: no rotation at all.
        check(&random_matrix(8, 4, |r, c| r == c), Some(0));
        // Strided diagonals, as in the factors of the homomorphic DFT.
        check(
            &random_matrix(64, 5, |r, c| [0, 16, 48].contains(&((c + 64 - r) % 64))),
            None,
        );
    }

    #[test]
    fn bad_shapes_are_errors() {
        let ragged = vec![vec![Complex::default(); 4], vec![Complex::default(); 3]];
        assert!(LinearTransform::from_matrix(&ragged).is_err());
        let three = vec![vec![Complex::real(1.0); 3]; 3];
        assert!(LinearTransform::from_matrix(&three).is_err());
        let t = LinearTransform::from_matrix(&vec![vec![Complex::real(1.0); 8]; 8]).unwrap();
        let e = ClearEngine::new(ClearConfig::exact(16, 2)).unwrap();
        let ct = e.encrypt(&[Complex::real(1.0)], 2).unwrap();
        assert_eq!(
            t.apply(&e, &ct).unwrap_err(),
            CircuitError::SizeMismatch {
                expected: 8,
                got: 16
            }
        );
    }
}
