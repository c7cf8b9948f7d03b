//! EvalMod: the homomorphic reduction modulo 1 at the heart of bootstrapping.
//!
//! After ModRaise and CoeffsToSlots each slot holds y = I + ε with an
//! integer |I| < K and a small ε (the message over q0). sin(2πy)/(2π) equals
//! ε up to O(ε³). It is computed as cos(2π(y − 1/4)/2^r) by a Chebyshev
//! interpolant on [−(K + 1), K + 1]/2^r shifted, followed by r double-angle
//! steps cos 2θ = 2cos²θ − 1, and a final factor 1/(2π) folded into the
//! caller's next constant.

use super::poly::{Chebyshev, CircuitResult};
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
    /// The interpolant of cos(2π(x/s − 1/4)/2^r) over x ∈ [−sK, sK]: inputs
    /// arriving multiplied by `s` cost no extra level.
    pub fn cosine(&self, s: f64) -> Chebyshev {
        let r = f64::from(1u32 << self.double_angle);
        Chebyshev::interpolate(
            |x| (2.0 * std::f64::consts::PI * (x / s - 0.25) / r).cos(),
            -s * self.k,
            s * self.k,
            self.degree,
        )
    }

    /// Levels consumed.
    pub fn depth(&self) -> usize {
        self.cosine(1.0).depth() + self.double_angle as usize
    }

    /// sin(2πy) for each real slot holding x = s·y (the caller scales by 1/(2π)).
    pub fn apply<E: Engine>(&self, engine: &E, x: &E::Ct, s: f64) -> CircuitResult<E::Ct> {
        let mut c = self.cosine(s).eval_ct(engine, x)?;
        for _ in 0..self.double_angle {
            let sq = engine.mul(&c, &c)?;
            c = engine.add_real(&engine.mul_const(&sq, Complex::real(2.0))?, -1.0)?;
        }
        Ok(c)
    }

    /// The same in f64 (for error analysis).
    pub fn apply_clear(&self, y: f64) -> f64 {
        let mut c = self.cosine(1.0).eval(y);
        for _ in 0..self.double_angle {
            c = 2.0 * c * c - 1.0;
        }
        c
    }
}
