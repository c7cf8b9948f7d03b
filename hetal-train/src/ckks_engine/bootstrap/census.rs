//! A dry count of a bootstrap's costly operations, level by level: the
//! key switches (single rotations and conjugations, hoisted groups of
//! rotations, products with relinearisation), the products by cached
//! plaintexts and the rescales, as the CKKS engine runs them.
//!
//! The slot circuit ([`BootstrapCircuit`]) runs on a counting
//! [`ClearEngine`] with the chain's levels behind a recorder that sees
//! every engine call with its level, including the groups of rotations
//! the circuit hoists ([`Engine::rotate_many`]). ModRaise's key switches
//! are added from the plan: the trace's rotations (sparse slots only) and
//! the switch back to the dense secret, all at the top level. Not counted:
//! the switch to the sparse secret (at level 0, over two primes), ModRaise's
//! NTTs, additions and products by constants.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use hetal_nostd::params::ParamsLiteral;

use super::plan::KeyPlan;
use super::{circuit_error, stage_levels, BootstrapConfig};
use crate::engine::{
    ClearConfig, ClearCt, ClearEngine, Coefficient, Complex, Engine, EngineResult,
};

/// A kind of costly work in a CKKS bootstrap.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Work {
    /// A rotation or conjugation on its own: decomposition (ModUp), inner
    /// product with the key, ModDown, automorphism.
    Switch,
    /// The decomposition shared by a hoisted group of rotations.
    HoistedDecomposition,
    /// One rotation of a hoisted group (inner product, ModDown,
    /// automorphism; the decomposition is shared).
    HoistedRotation,
    /// One term of a sum of rotations ([`Engine::add_rotations`]):
    /// decomposition, inner product with the key, automorphism, added over
    /// the extended basis (no ModDown).
    LazyRotation,
    /// The ModDown that ends a sum of rotations.
    LazySum,
    /// A ciphertext product with relinearisation and rescale.
    Product,
    /// A product by a cached (prepared) plaintext vector.
    PlainProduct,
    /// A rescale outside a product (linear combinations, constants).
    Rescale,
}

/// Counts of [`Work`] by the level it runs at.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Census {
    counts: BTreeMap<(Work, usize), u64>,
}

impl Census {
    fn add(&mut self, work: Work, level: usize, n: u64) {
        *self.counts.entry((work, level)).or_default() += n;
    }

    /// Every (work, level, count), by work then level.
    pub fn entries(&self) -> impl Iterator<Item = (Work, usize, u64)> + '_ {
        self.counts.iter().map(|(&(w, l), &n)| (w, l, n))
    }

    /// Levels at which some work runs.
    pub fn levels(&self) -> BTreeSet<usize> {
        self.counts.keys().map(|&(_, l)| l).collect()
    }

    /// How many of `work`, at every level.
    pub fn total(&self, work: Work) -> u64 {
        self.entries()
            .filter(|&(w, _, _)| w == work)
            .map(|(_, _, n)| n)
            .sum()
    }

    /// Key switches: single ones, hoisted rotations, rotations of sums and
    /// products.
    pub fn key_switches(&self) -> u64 {
        self.total(Work::Switch)
            + self.total(Work::HoistedRotation)
            + self.total(Work::LazyRotation)
            + self.total(Work::Product)
    }
}

/// The census of one bootstrap on `lit`'s chain with `slots` slots and
/// `config` (the same circuit and levels as
/// [`super::super::CkksEngine::bootstrappable`] runs).
pub fn bootstrap_census(
    lit: &ParamsLiteral<'_>,
    slots: usize,
    config: &BootstrapConfig,
) -> EngineResult<Census> {
    let plan = KeyPlan::new(lit, slots, &[], config)?;
    let params = &plan.params;
    let top = params.max_level();
    let clear = ClearEngine::new(ClearConfig {
        bootstrap_level: params.user_top_level(),
        counting_only: true,
        bootstrap_bound: None,
        ..ClearConfig::exact(slots, top)
    })?;
    let recorder = Recorder {
        inner: &clear,
        census: Mutex::new(Census::default()),
    };
    let raised = recorder.encrypt(&[], top)?;
    let targets = stage_levels(params, plan.cts, plan.stc);
    plan.circuit
        .apply(&recorder, &raised, &targets, 1.0)
        .map_err(circuit_error)?;
    let mut census = recorder.census.into_inner().unwrap_or_default();
    // ModRaise: the trace to the slots (one rotation per halving of the
    // ring's slots down to `slots`) and the switch back to the dense secret.
    let trace = u64::from(params.log_n() - 1 - plan.log_slots);
    census.add(Work::Switch, top, trace + 1);
    Ok(census)
}

/// Forwards to a counting [`ClearEngine`], recording costly work by level.
struct Recorder<'a> {
    inner: &'a ClearEngine,
    census: Mutex<Census>,
}

impl Recorder<'_> {
    fn note(&self, work: Work, level: usize, n: u64) {
        if n > 0 {
            if let Ok(mut c) = self.census.lock() {
                c.add(work, level, n);
            }
        }
    }

    fn moves(&self, k: isize) -> bool {
        k.rem_euclid(self.inner.slots() as isize) != 0
    }
}

impl Engine for Recorder<'_> {
    type Ct = ClearCt;
    type Target = usize;
    type Products = ClearCt;

    fn slots(&self) -> usize {
        self.inner.slots()
    }
    fn max_level(&self) -> usize {
        self.inner.max_level()
    }
    fn bootstrap_level(&self) -> usize {
        self.inner.bootstrap_level()
    }
    fn level(&self, ct: &ClearCt) -> usize {
        self.inner.level(ct)
    }
    fn encrypt(&self, values: &[Complex], level: usize) -> EngineResult<ClearCt> {
        self.inner.encrypt(values, level)
    }
    fn add(&self, a: &ClearCt, b: &ClearCt) -> EngineResult<ClearCt> {
        self.inner.add(a, b)
    }
    fn sub(&self, a: &ClearCt, b: &ClearCt) -> EngineResult<ClearCt> {
        self.inner.sub(a, b)
    }
    fn neg(&self, a: &ClearCt) -> EngineResult<ClearCt> {
        self.inner.neg(a)
    }
    fn add_plain(&self, a: &ClearCt, p: &[Complex]) -> EngineResult<ClearCt> {
        self.inner.add_plain(a, p)
    }
    fn add_const(&self, a: &ClearCt, k: Complex) -> EngineResult<ClearCt> {
        self.inner.add_const(a, k)
    }
    fn mul_lazy(&self, a: &ClearCt, b: &ClearCt) -> EngineResult<ClearCt> {
        self.note(Work::Product, self.level(a).min(self.level(b)), 1);
        self.inner.mul_lazy(a, b)
    }
    fn mul_accumulate(
        &self,
        acc: Option<ClearCt>,
        a: &ClearCt,
        b: &ClearCt,
    ) -> EngineResult<ClearCt> {
        self.note(Work::Product, self.level(a).min(self.level(b)), 1);
        self.inner.mul_accumulate(acc, a, b)
    }
    fn relinearize(&self, products: ClearCt) -> EngineResult<ClearCt> {
        self.inner.relinearize(products)
    }
    fn mul(&self, a: &ClearCt, b: &ClearCt) -> EngineResult<ClearCt> {
        self.note(Work::Product, self.level(a).min(self.level(b)), 1);
        self.inner.mul(a, b)
    }
    fn mul_plain_lazy(&self, a: &ClearCt, p: &[Complex]) -> EngineResult<ClearCt> {
        self.note(Work::PlainProduct, self.level(a), 1);
        self.inner.mul_plain_lazy(a, p)
    }
    fn mul_const(&self, a: &ClearCt, k: Complex) -> EngineResult<ClearCt> {
        if !k.is_gaussian_integer() {
            self.note(Work::Rescale, self.level(a), 1);
        }
        self.inner.mul_const(a, k)
    }
    fn rescale(&self, a: &ClearCt) -> EngineResult<ClearCt> {
        self.note(Work::Rescale, self.level(a), 1);
        self.inner.rescale(a)
    }
    fn rotate(&self, a: &ClearCt, k: isize) -> EngineResult<ClearCt> {
        if self.moves(k) {
            self.note(Work::Switch, self.level(a), 1);
        }
        self.inner.rotate(a, k)
    }
    fn conjugate(&self, a: &ClearCt) -> EngineResult<ClearCt> {
        self.note(Work::Switch, self.level(a), 1);
        self.inner.conjugate(a)
    }
    fn drop_level(&self, a: &ClearCt, level: usize) -> EngineResult<ClearCt> {
        self.inner.drop_level(a, level)
    }
    fn bootstrap(&self, a: &ClearCt) -> EngineResult<ClearCt> {
        self.inner.bootstrap(a)
    }
    fn bootstrap_range(&self) -> f64 {
        self.inner.bootstrap_range()
    }
    fn target_of(&self, ct: &ClearCt) -> usize {
        self.inner.target_of(ct)
    }
    fn target_level(&self, t: usize) -> usize {
        self.inner.target_level(t)
    }
    fn target_at(&self, t: usize, level: usize) -> EngineResult<usize> {
        self.inner.target_at(t, level)
    }
    fn factor_target(&self, out: usize, factor: Option<&ClearCt>) -> EngineResult<usize> {
        self.inner.factor_target(out, factor)
    }
    fn linear_combination(
        &self,
        terms: &[(&ClearCt, Coefficient<'_>)],
        constant: Complex,
        out: usize,
    ) -> EngineResult<ClearCt> {
        // CKKS drops every term to out + 1, multiplies there and rescales once.
        let plain = terms
            .iter()
            .filter(|(_, k)| matches!(k, Coefficient::Plain(_) | Coefficient::Reused(_)))
            .count();
        self.note(Work::PlainProduct, out + 1, plain as u64);
        self.note(Work::Rescale, out + 1, 1);
        self.inner.linear_combination(terms, constant, out)
    }
    fn rotate_many(&self, a: &ClearCt, ks: &[isize]) -> EngineResult<Vec<ClearCt>> {
        let moving = ks.iter().filter(|&&k| self.moves(k)).count() as u64;
        let level = self.level(a);
        if moving > 0 {
            self.note(Work::HoistedDecomposition, level, 1);
            self.note(Work::HoistedRotation, level, moving);
        }
        self.inner.rotate_many(a, ks)
    }
    fn add_rotations(
        &self,
        terms: impl IntoIterator<Item = EngineResult<(ClearCt, isize)>>,
    ) -> EngineResult<ClearCt> {
        // The CKKS engine's sum when every term shares one level (as in the
        // linear transforms): each moving term switched without ModDown,
        // one ModDown for the sum.
        let terms = terms.into_iter().collect::<EngineResult<Vec<_>>>()?;
        let moving: Vec<usize> = terms
            .iter()
            .filter(|(_, k)| self.moves(*k))
            .map(|(a, _)| self.level(a))
            .collect();
        for &level in &moving {
            self.note(Work::LazyRotation, level, 1);
        }
        if let Some(&level) = moving.first() {
            self.note(Work::LazySum, level, 1);
        }
        self.inner.add_rotations(terms.into_iter().map(Ok))
    }
    fn bootstrap_pair(&self, a: &ClearCt, b: &ClearCt) -> EngineResult<(ClearCt, ClearCt)> {
        self.inner.bootstrap_pair(a, b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ckks_engine::bootstrap::measure_prices;
    use hetal_nostd::params::presets::{INSECURE_N10, INSECURE_N10_TRAIN};

    /// The recorder sees every key switch the counting engine counts, at
    /// the levels of the bootstrap's stages.
    #[test]
    fn the_census_matches_the_clear_engines_counts_and_levels() {
        let cases = [
            (&INSECURE_N10, 2),
            (&INSECURE_N10_TRAIN, 2),
            (&INSECURE_N10, 8),
        ];
        for (lit, fraction) in cases {
            let params = lit.build().unwrap();
            let slots = params.n() / fraction;
            let config = BootstrapConfig::for_chain(lit);
            let census = bootstrap_census(lit, slots, &config).unwrap();
            let plan = KeyPlan::new(lit, slots, &[], &config).unwrap();
            let top = params.max_level();
            let clear = ClearEngine::new(ClearConfig {
                bootstrap_level: params.user_top_level(),
                counting_only: true,
                bootstrap_bound: None,
                ..ClearConfig::exact(slots, top)
            })
            .unwrap();
            let raised = clear.encrypt(&[], top).unwrap();
            let targets = stage_levels(&params, plan.cts, plan.stc);
            plan.circuit.apply(&clear, &raised, &targets, 1.0).unwrap();
            let counts = clear.counts();
            // ModRaise: the trace (none at full slots, one rotation per
            // halving otherwise) and one switch back to the dense secret.
            let trace = (fraction / 2).trailing_zeros() as u64;
            assert_eq!(
                census.total(Work::Switch)
                    + census.total(Work::HoistedRotation)
                    + census.total(Work::LazyRotation),
                counts.rot + counts.conj + trace + 1,
                "{} with {slots} slots",
                lit.name
            );
            assert_eq!(census.total(Work::Product), counts.mult, "{}", lit.name);
            assert!(census.total(Work::HoistedDecomposition) > 0);
            assert!(census.total(Work::PlainProduct) > 0);
            // Products run in EvalMod only, below CoeffsToSlots and above
            // SlotsToCoeffs; nothing runs below the user top level.
            let user_top = params.user_top_level();
            for (work, level, _) in census.entries() {
                assert!(level >= user_top && level <= top, "{work:?} at {level}");
                if work == Work::Product {
                    assert!(level > user_top + plan.stc && level <= top - plan.cts);
                }
            }
        }
    }

    #[test]
    fn every_level_of_the_census_gets_a_price() {
        let lit = &INSECURE_N10;
        let n = lit.build().unwrap().n();
        let config = BootstrapConfig::for_chain(lit);
        let census = bootstrap_census(lit, n / 2, &config).unwrap();
        let prices = measure_prices(lit, n / 2, census.levels()).unwrap();
        for level in census.levels() {
            assert!(prices.get(Work::Switch, level).unwrap() > 0.0);
            assert!(prices.get(Work::Product, level).unwrap() > 0.0);
        }
        assert!(prices.price(&census).unwrap() > 0.0);
        let mut partial = Census::default();
        partial.add(Work::Switch, census.levels().last().unwrap() + 1, 1);
        assert_eq!(prices.price(&partial), None);
    }
}
