//! Polynomials given by their power-basis coefficients, evaluated at
//! minimal depth (`ceil(log2(deg + 1))` levels) and onto an exact target:
//! each polynomial is converted to the Chebyshev basis of [−1, 1] (exactly,
//! by interpolation at `deg + 1` nodes) and evaluated by the scale-aware
//! circuit of [`crate::circuits::Chebyshev`], so that on CKKS every addition
//! joins operands of one level and one scale. Inputs may lie outside
//! [−1, 1]: the conversion is an identity between polynomials.

use crate::circuits::{Chebyshev, CircuitError};
use crate::engine::{ensure_levels, Engine, EngineError, EngineResult};

/// Depth of a polynomial of degree `degree` evaluated by [`eval`].
pub fn depth(degree: usize) -> usize {
    (usize::BITS - degree.leading_zeros()) as usize
}

/// Evaluates `Σ coeffs[k]·x^k` (constant first), bootstrapping `x` first when
/// it has fewer levels than the polynomial's depth. The result keeps `x`'s
/// scale, `depth(degree)` levels lower (one level for a constant).
pub fn eval<E: Engine>(engine: &E, x: &E::Ct, coeffs: &[f64]) -> EngineResult<E::Ct> {
    let degree = coeffs.iter().rposition(|&c| c != 0.0).unwrap_or(0);
    let x = ensure_levels(engine, x, depth(degree).max(1))?;
    let terms = &coeffs[..=degree.min(coeffs.len().saturating_sub(1))];
    let power = |t: f64| terms.iter().rev().fold(0.0, |acc, &c| acc * t + c);
    let chebyshev = Chebyshev::interpolate(power, -1.0, 1.0, degree);
    chebyshev.eval_ct(engine, &x).map_err(|e| match e {
        CircuitError::Engine(inner) => inner,
        other => EngineError::Circuit(Box::new(other)),
    })
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
                assert!((g - want).abs() < 1e-11, "degree {degree} at {v}");
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
