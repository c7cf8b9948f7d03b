//! EvalMod: the homomorphic reduction modulo 1 at the heart of bootstrapping.
//!
//! After ModRaise and CoeffsToSlots each slot holds y = I + ε with an
//! integer |I| < K and a small ε (the message over q0). sin(2πy)/(2π) equals
//! ε up to O(ε³). It is computed as cos(2π(y − 1/4)/2^r) by a Chebyshev
//! interpolant in y/K on [−1, 1], followed by r double-angle
//! steps cos 2θ = 2cos²θ − 1. The caller's factor (q0/Δ)/(2π) is carried as
//! an amplitude through the steps, at no level.

use super::poly::{Chebyshev, CircuitError, CircuitResult};
use crate::engine::{Complex, Engine};

/// EvalMod parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct EvalMod {
    /// Bound on the integer part: inputs lie in (−K, K).
    pub k: f64,
    /// Number of double-angle steps r.
    pub double_angle: u32,
    /// Degree of the cosine interpolant.
    pub degree: usize,
}

impl EvalMod {
    /// The interpolant of `a·cos(2π(K·x − 1/4)/2^r)` over x ∈ [−1, 1]: the
    /// input arrives divided by K (the caller folds 1/K into its previous
    /// linear step), so the map onto [−1, 1] costs no level.
    pub fn cosine(&self, a: f64) -> Chebyshev {
        let r = f64::from(1u32 << self.double_angle);
        let k = self.k;
        Chebyshev::interpolate(
            |x| a * (2.0 * std::f64::consts::PI * (k * x - 0.25) / r).cos(),
            -1.0,
            1.0,
            self.degree,
        )
    }

    /// Levels consumed.
    pub fn depth(&self) -> usize {
        self.cosine(1.0).depth() + self.double_angle as usize
    }

    /// `amplitude·sin(2πy)` for each real slot holding x = y/K, landing on
    /// `out`. The amplitude (positive) costs nothing: the cosine is
    /// interpolated with amplitude a = amplitude^(1/2^r) and each double-angle
    /// step is c ↦ 2c² − a², which squares the amplitude. Each step's input
    /// lands where its square lands on the next step's target.
    pub fn apply<E: Engine>(
        &self,
        engine: &E,
        x: &E::Ct,
        amplitude: f64,
        out: E::Target,
    ) -> CircuitResult<E::Ct> {
        if !(amplitude.is_finite() && amplitude > 0.0) {
            return Err(CircuitError::BadAmplitude(amplitude));
        }
        let r = self.double_angle as usize;
        let mut targets = vec![out];
        for _ in 0..r {
            let next = engine.factor_target(targets[targets.len() - 1], None)?;
            targets.push(next);
        }
        let mut a = amplitude.powf(1.0 / f64::from(1u32 << self.double_angle));
        let mut c = self.cosine(a).eval_ct_to(engine, x, targets[r])?;
        for _ in 0..r {
            let sq = engine.mul(&c, &c)?;
            c = engine.add_real(&engine.mul_const(&sq, Complex::real(2.0))?, -a * a)?;
            a *= a;
        }
        Ok(c)
    }

    /// sin(2πy) in f64 through the same interpolant and steps (for error
    /// analysis).
    pub fn apply_clear(&self, y: f64) -> f64 {
        let mut c = self.cosine(1.0).eval(y / self.k);
        for _ in 0..self.double_angle {
            c = 2.0 * c * c - 1.0;
        }
        c
    }
}
