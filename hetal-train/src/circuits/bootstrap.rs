//! The bootstrapping circuit after ModRaise: CoeffsToSlots, EvalMod on the
//! real and imaginary parts, SlotsToCoeffs. Generic over [`Engine`]; the
//! ModRaise step itself belongs to the CKKS engine.

use super::dft::homomorphic_dft;
use super::evalmod::EvalMod;
use super::linear::LinearTransform;
use super::poly::CircuitResult;
use crate::engine::{Complex, Engine};

/// A bootstrapping plan for n slots.
#[derive(Clone, Debug)]
pub struct BootstrapCircuit {
    coeffs_to_slots: Vec<LinearTransform>,
    slots_to_coeffs: Vec<LinearTransform>,
    eval_mod: EvalMod,
}

impl BootstrapCircuit {
    /// A plan with the given level budgets and EvalMod parameters; the
    /// output is multiplied by `output_factor` (the ratio q0/Δ), folded with
    /// EvalMod's 1/(2π) into the first SlotsToCoeffs factor.
    pub fn new(
        slots: usize,
        cts_levels: usize,
        stc_levels: usize,
        eval_mod: EvalMod,
        output_factor: f64,
    ) -> CircuitResult<Self> {
        let mut slots_to_coeffs = homomorphic_dft(slots, stc_levels, false)?;
        if let Some(first) = slots_to_coeffs.first_mut() {
            *first = first.scaled(output_factor / (2.0 * std::f64::consts::PI));
        }
        Ok(BootstrapCircuit {
            coeffs_to_slots: homomorphic_dft(slots, cts_levels, true)?,
            slots_to_coeffs,
            eval_mod,
        })
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
    /// coefficients over q0 plus integers (the output of ModRaise).
    pub fn apply<E: Engine>(&self, engine: &E, raised: &E::Ct) -> CircuitResult<E::Ct> {
        let mut x = raised.clone();
        for t in &self.coeffs_to_slots {
            x = t.apply(engine, &x)?;
        }
        // Twice the real and imaginary parts: x + x̄ and −i(x − x̄), both free;
        // EvalMod absorbs the factor 2 into its interpolation interval.
        let conj = engine.conjugate(&x)?;
        let twice_re = engine.add(&x, &conj)?;
        let twice_im = engine.mul_const(&engine.sub(&x, &conj)?, Complex::new(0.0, -1.0))?;
        let re = self.eval_mod.apply(engine, &twice_re, 2.0)?;
        let im = self.eval_mod.apply(engine, &twice_im, 2.0)?;
        let mut z = engine.add(&re, &engine.mul_const(&im, Complex::new(0.0, 1.0))?)?;
        for t in &self.slots_to_coeffs {
            z = t.apply(engine, &z)?;
        }
        Ok(z)
    }
}

#[cfg(test)]
mod tests;
