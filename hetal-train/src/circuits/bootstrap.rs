//! The bootstrapping circuit after ModRaise: CoeffsToSlots, EvalMod on the
//! real and imaginary parts, SlotsToCoeffs. Generic over [`Engine`]; the
//! ModRaise step itself belongs to the CKKS engine.

use super::dft::homomorphic_dft;
use super::evalmod::EvalMod;
use super::linear::LinearTransform;
use super::poly::CircuitResult;
use crate::engine::{Complex, Engine, EngineError};

/// A bootstrapping plan for n slots.
#[derive(Clone, Debug)]
pub struct BootstrapCircuit {
    coeffs_to_slots: Vec<LinearTransform>,
    slots_to_coeffs: Vec<LinearTransform>,
    eval_mod: EvalMod,
    output_factor: f64,
}

impl BootstrapCircuit {
    /// A plan with the given level budgets and EvalMod parameters; the
    /// output is multiplied by `output_factor` (the ratio q0/Δ), carried
    /// with EvalMod's 1/(2π) as EvalMod's amplitude.
    pub fn new(
        slots: usize,
        cts_levels: usize,
        stc_levels: usize,
        eval_mod: EvalMod,
        output_factor: f64,
    ) -> CircuitResult<Self> {
        // CoeffsToSlots also divides by 2K: EvalMod takes y/K, and the real
        // and imaginary parts are extracted as x ± x̄ (twice each part).
        let mut coeffs_to_slots = homomorphic_dft(slots, cts_levels, true)?;
        if let Some(first) = coeffs_to_slots.first_mut() {
            *first = first.scaled(1.0 / (2.0 * eval_mod.k));
        }
        Ok(BootstrapCircuit {
            coeffs_to_slots,
            slots_to_coeffs: homomorphic_dft(slots, stc_levels, false)?,
            eval_mod,
            output_factor,
        })
    }

    /// Levels of CoeffsToSlots, EvalMod and SlotsToCoeffs.
    pub fn levels(&self) -> (usize, usize, usize) {
        (
            self.coeffs_to_slots.len(),
            self.eval_mod.depth(),
            self.slots_to_coeffs.len(),
        )
    }

    /// Levels the circuit consumes.
    pub fn depth(&self) -> usize {
        self.coeffs_to_slots.len() + self.eval_mod.depth() + self.slots_to_coeffs.len()
    }

    /// Every left rotation the circuit needs a key for (plus conjugation).
    pub fn rotations(&self) -> std::collections::BTreeSet<usize> {
        self.coeffs_to_slots
            .iter()
            .chain(&self.slots_to_coeffs)
            .flat_map(LinearTransform::rotations)
            .collect()
    }

    /// Runs the circuit on `raised`, a ciphertext whose slots encode the
    /// coefficients over q0 plus integers (the output of ModRaise), landing
    /// on `out` (at least [`depth`](Self::depth) levels below `raised`), with
    /// the output multiplied by `gain` on top of `output_factor` (free).
    /// CoeffsToSlots lands on the scale of `slots` (its level is ignored):
    /// EvalMod's squarings want a scale close to their primes.
    pub fn apply<E: Engine>(
        &self,
        engine: &E,
        raised: &E::Ct,
        slots: E::Target,
        out: E::Target,
        gain: f64,
    ) -> CircuitResult<E::Ct> {
        let em_level = engine.target_level(out) + self.slots_to_coeffs.len();
        let em_out = engine.target_at(out, em_level)?;
        let amplitude = gain * self.output_factor / (2.0 * std::f64::consts::PI);
        let mut x = raised.clone();
        for t in &self.coeffs_to_slots {
            let level = engine
                .level(&x)
                .checked_sub(1)
                .ok_or(EngineError::LevelExhausted {
                    needed: self.depth(),
                    level: engine.level(raised),
                })?;
            x = t.apply_to(engine, &x, engine.target_at(slots, level)?)?;
        }
        // The real and imaginary parts over K: x + x̄ and −i(x − x̄), both free.
        let conj = engine.conjugate(&x)?;
        let twice_re = engine.add(&x, &conj)?;
        let twice_im = engine.mul_const(&engine.sub(&x, &conj)?, Complex::new(0.0, -1.0))?;
        let re = self.eval_mod.apply(engine, &twice_re, amplitude, em_out)?;
        let im = self.eval_mod.apply(engine, &twice_im, amplitude, em_out)?;
        let mut z = engine.add(&re, &engine.mul_const(&im, Complex::new(0.0, 1.0))?)?;
        for t in &self.slots_to_coeffs {
            z = t.apply(engine, &z)?;
        }
        Ok(z)
    }
}

#[cfg(test)]
mod tests;
