//! The bootstrapping circuit after ModRaise: CoeffsToSlots, EvalMod on the
//! real and imaginary parts, SlotsToCoeffs. Generic over [`Engine`]; the
//! ModRaise step itself belongs to the CKKS engine.

use crate::circuits::dft::homomorphic_dft;
use crate::circuits::evalmod::EvalMod;
use crate::circuits::linear::LinearTransform;
use crate::circuits::poly::{CircuitError, CircuitResult};
use crate::engine::{Complex, Engine};
use std::collections::BTreeSet;

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
    pub fn rotations(&self) -> BTreeSet<usize> {
        let (cts, stc) = self.stage_rotations();
        cts.union(&stc).copied().collect()
    }

    /// The left rotations of CoeffsToSlots and those of SlotsToCoeffs.
    pub fn stage_rotations(&self) -> (BTreeSet<usize>, BTreeSet<usize>) {
        let of = |ts: &[LinearTransform]| ts.iter().flat_map(LinearTransform::rotations).collect();
        (of(&self.coeffs_to_slots), of(&self.slots_to_coeffs))
    }

    /// Runs the circuit on `raised`, a ciphertext whose slots encode the
    /// coefficients over q0 plus integers (the output of ModRaise), with
    /// the output multiplied by `gain` on top of `output_factor` (free).
    /// Each linear transform and EvalMod land on their entry of `targets`
    /// (chosen by the engine: on CKKS, EvalMod wants scales close to its
    /// primes, and SlotsToCoeffs runs above the output scale so that its
    /// rotations' noise stays small).
    pub fn apply<E: Engine>(
        &self,
        engine: &E,
        raised: &E::Ct,
        targets: &StageTargets<E::Target>,
        gain: f64,
    ) -> CircuitResult<E::Ct> {
        self.apply_marked(engine, raised, targets, gain, &mut |_| {})
    }

    /// [`BootstrapCircuit::apply`], calling `mark` with the name of each
    /// stage as it ends (`coeffs_to_slots`, `eval_mod`, `slots_to_coeffs`),
    /// for a profile of where the time goes.
    pub fn apply_marked<E: Engine>(
        &self,
        engine: &E,
        raised: &E::Ct,
        targets: &StageTargets<E::Target>,
        gain: f64,
        mark: &mut dyn FnMut(&'static str),
    ) -> CircuitResult<E::Ct> {
        let (cts, _, stc) = self.levels();
        if targets.coeffs_to_slots.len() != cts || targets.slots_to_coeffs.len() != stc {
            return Err(CircuitError::SizeMismatch {
                expected: cts + stc,
                got: targets.coeffs_to_slots.len() + targets.slots_to_coeffs.len(),
            });
        }
        let amplitude = gain * self.output_factor / (2.0 * std::f64::consts::PI);
        let mut x = raised.clone();
        for (t, &target) in self.coeffs_to_slots.iter().zip(&targets.coeffs_to_slots) {
            x = t.apply_to(engine, &x, target)?;
        }
        mark("coeffs_to_slots");
        // The real and imaginary parts over K: x + x̄ and −i(x − x̄), both free.
        let conj = engine.conjugate(&x)?;
        let twice_re = engine.add(&x, &conj)?;
        let twice_im = engine.mul_const(&engine.sub(&x, &conj)?, Complex::new(0.0, -1.0))?;
        let em = targets.eval_mod;
        // One EvalMod after the other, each parallel inside its products:
        // side by side, the two power bases and their temporaries were live
        // at once (and spread over two threads' allocator arenas), which
        // made a bootstrap's memory peak.
        let re = self.eval_mod.apply(engine, &twice_re, amplitude, em)?;
        let im = self.eval_mod.apply(engine, &twice_im, amplitude, em)?;
        let mut z = engine.add(&re, &engine.mul_const(&im, Complex::new(0.0, 1.0))?)?;
        mark("eval_mod");
        for (t, &target) in self.slots_to_coeffs.iter().zip(&targets.slots_to_coeffs) {
            z = t.apply_to(engine, &z, target)?;
        }
        mark("slots_to_coeffs");
        Ok(z)
    }
}

/// Where each stage of [`BootstrapCircuit::apply`] lands.
#[derive(Clone, Debug, PartialEq)]
pub struct StageTargets<T> {
    /// One per CoeffsToSlots transform, in order.
    pub coeffs_to_slots: Vec<T>,
    /// EvalMod's output (both parts).
    pub eval_mod: T,
    /// One per SlotsToCoeffs transform, in order; the last is the output.
    pub slots_to_coeffs: Vec<T>,
}

#[cfg(test)]
mod tests;
