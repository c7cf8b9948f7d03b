//! Polynomial evaluation at minimal depth: `Σ c_k x^k` costs
//! `ceil(log2(deg + 1))` levels, each coefficient folded into the factor of
//! the lowest depth.

use std::collections::HashMap;

use crate::engine::{ensure_levels, Engine, EngineResult};

/// Depth of a polynomial of degree `degree` evaluated by [`eval`].
pub fn depth(degree: usize) -> usize {
    (usize::BITS - degree.leading_zeros()) as usize
}

/// Largest power of two strictly below `k` (for `k ≥ 2`).
fn high_part(k: usize) -> usize {
    1 << (usize::BITS - 1 - (k - 1).leading_zeros())
}

struct Powers<'a, E: Engine> {
    engine: &'a E,
    cache: HashMap<usize, E::Ct>,
}

impl<E: Engine> Powers<'_, E> {
    /// `x^k` at depth `ceil(log2 k)`.
    fn power(&mut self, k: usize) -> EngineResult<E::Ct> {
        if let Some(p) = self.cache.get(&k) {
            return Ok(p.clone());
        }
        let hi = high_part(k);
        let a = self.power(hi)?;
        let b = self.power(k - hi)?;
        let p = self.engine.mul(&a, &b)?;
        self.cache.insert(k, p.clone());
        Ok(p)
    }

    /// `c·x^k` at depth `ceil(log2(k + 1))`.
    fn scaled(&mut self, c: f64, k: usize) -> EngineResult<E::Ct> {
        if k == 1 {
            let x = self.power(1)?;
            return self.engine.mul_real(&x, c);
        }
        let hi = high_part(k);
        let low = self.scaled(c, k - hi)?;
        let high = self.power(hi)?;
        self.engine.mul(&high, &low)
    }
}

/// Evaluates `Σ coeffs[k]·x^k` (constant first), bootstrapping `x` first when
/// it has fewer levels than the polynomial's depth.
pub fn eval<E: Engine>(engine: &E, x: &E::Ct, coeffs: &[f64]) -> EngineResult<E::Ct> {
    let degree = coeffs.iter().rposition(|&c| c != 0.0).unwrap_or(0);
    let x = ensure_levels(engine, x, depth(degree))?;
    let mut powers = Powers {
        engine,
        cache: HashMap::from([(1, x.clone())]),
    };
    let mut acc: Option<E::Ct> = None;
    for (k, &c) in coeffs.iter().enumerate().skip(1) {
        if c == 0.0 {
            continue;
        }
        let term = powers.scaled(c, k)?;
        acc = Some(match acc {
            None => term,
            Some(a) => engine.add(&a, &term)?,
        });
    }
    let constant = coeffs.first().copied().unwrap_or(0.0);
    match acc {
        Some(a) => engine.add_real(&a, constant),
        None => engine.add_real(&engine.mul_real(&x, 0.0)?, constant),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{ClearConfig, ClearDecryptor, ClearEngine, Decryptor};

    #[test]
    fn polynomials_evaluate_at_minimal_depth() {
        let e = ClearEngine::new(ClearConfig::exact(8, 20)).unwrap();
        let xs = [-1.0, -0.5, 0.0, 0.25, 0.5, 0.75, 1.0, 0.1];
        let x = e.encrypt_real(&xs, 20).unwrap();
        for degree in 1..=13 {
            let coeffs: Vec<f64> = (0..=degree).map(|k| 1.0 / (k + 1) as f64 - 0.3).collect();
            let y = eval(&e, &x, &coeffs).unwrap();
            assert_eq!(y.depth(), depth(degree), "degree {degree}");
            let got = ClearDecryptor.decrypt_real(&y).unwrap();
            for (g, &v) in got.iter().zip(&xs) {
                let want: f64 = coeffs.iter().rev().fold(0.0, |acc, c| acc * v + c);
                assert!((g - want).abs() < 1e-12, "degree {degree} at {v}");
            }
        }
        assert_eq!((depth(7), depth(8), depth(12)), (3, 4, 4));
    }

    #[test]
    fn low_inputs_are_bootstrapped_first() {
        let mut cfg = ClearConfig::exact(8, 12);
        cfg.bootstrap_level = 9;
        let e = ClearEngine::new(cfg).unwrap();
        let x = e.encrypt_real(&[0.5; 8], 1).unwrap();
        let y = eval(&e, &x, &[0.0, 1.0, 0.0, 1.0]).unwrap();
        assert_eq!(e.counts().bootstrap, 1);
        assert_eq!(e.level(&y), 7);
        assert!((ClearDecryptor.decrypt_real(&y).unwrap()[0] - 0.625).abs() < 1e-12);
    }
}
