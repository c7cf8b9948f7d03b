//! An [`Engine`] that forwards to another and counts bootstraps (for the
//! server's status).

use std::sync::atomic::{AtomicU64, Ordering};

use crate::engine::{Coefficient, Complex, Engine, EngineResult};

/// Forwards every operation to `inner`, counting bootstraps (a shared
/// bootstrap of two ciphertexts counts once).
#[derive(Debug)]
pub struct Counting<'a, E> {
    inner: &'a E,
    bootstraps: AtomicU64,
}

impl<'a, E> Counting<'a, E> {
    /// Wraps `inner`.
    pub fn new(inner: &'a E) -> Self {
        Counting {
            inner,
            bootstraps: AtomicU64::new(0),
        }
    }

    /// Bootstraps so far.
    pub fn bootstraps(&self) -> u64 {
        self.bootstraps.load(Ordering::Relaxed)
    }
}

impl<E: Engine> Engine for Counting<'_, E> {
    type Ct = E::Ct;
    type Target = E::Target;
    type Products = E::Products;

    fn slots(&self) -> usize {
        self.inner.slots()
    }
    fn max_level(&self) -> usize {
        self.inner.max_level()
    }
    fn bootstrap_level(&self) -> usize {
        self.inner.bootstrap_level()
    }
    fn level(&self, ct: &Self::Ct) -> usize {
        self.inner.level(ct)
    }
    fn encrypt(&self, values: &[Complex], level: usize) -> EngineResult<Self::Ct> {
        self.inner.encrypt(values, level)
    }
    fn add(&self, a: &Self::Ct, b: &Self::Ct) -> EngineResult<Self::Ct> {
        self.inner.add(a, b)
    }
    fn sub(&self, a: &Self::Ct, b: &Self::Ct) -> EngineResult<Self::Ct> {
        self.inner.sub(a, b)
    }
    fn neg(&self, a: &Self::Ct) -> EngineResult<Self::Ct> {
        self.inner.neg(a)
    }
    fn add_plain(&self, a: &Self::Ct, p: &[Complex]) -> EngineResult<Self::Ct> {
        self.inner.add_plain(a, p)
    }
    fn add_const(&self, a: &Self::Ct, k: Complex) -> EngineResult<Self::Ct> {
        self.inner.add_const(a, k)
    }
    fn mul_lazy(&self, a: &Self::Ct, b: &Self::Ct) -> EngineResult<Self::Ct> {
        self.inner.mul_lazy(a, b)
    }
    fn mul_accumulate(
        &self,
        acc: Option<Self::Products>,
        a: &Self::Ct,
        b: &Self::Ct,
    ) -> EngineResult<Self::Products> {
        self.inner.mul_accumulate(acc, a, b)
    }
    fn relinearize(&self, products: Self::Products) -> EngineResult<Self::Ct> {
        self.inner.relinearize(products)
    }
    fn mul_plain_lazy(&self, a: &Self::Ct, p: &[Complex]) -> EngineResult<Self::Ct> {
        self.inner.mul_plain_lazy(a, p)
    }
    fn mul_const(&self, a: &Self::Ct, k: Complex) -> EngineResult<Self::Ct> {
        self.inner.mul_const(a, k)
    }
    fn rescale(&self, a: &Self::Ct) -> EngineResult<Self::Ct> {
        self.inner.rescale(a)
    }
    fn rotate(&self, a: &Self::Ct, k: isize) -> EngineResult<Self::Ct> {
        self.inner.rotate(a, k)
    }
    fn conjugate(&self, a: &Self::Ct) -> EngineResult<Self::Ct> {
        self.inner.conjugate(a)
    }
    fn drop_level(&self, a: &Self::Ct, level: usize) -> EngineResult<Self::Ct> {
        self.inner.drop_level(a, level)
    }
    fn bootstrap(&self, a: &Self::Ct) -> EngineResult<Self::Ct> {
        self.bootstraps.fetch_add(1, Ordering::Relaxed);
        self.inner.bootstrap(a)
    }
    fn bootstrap_range(&self) -> f64 {
        self.inner.bootstrap_range()
    }
    fn target_of(&self, ct: &Self::Ct) -> Self::Target {
        self.inner.target_of(ct)
    }
    fn target_level(&self, t: Self::Target) -> usize {
        self.inner.target_level(t)
    }
    fn target_at(&self, t: Self::Target, level: usize) -> EngineResult<Self::Target> {
        self.inner.target_at(t, level)
    }
    fn factor_target(
        &self,
        out: Self::Target,
        factor: Option<&Self::Ct>,
    ) -> EngineResult<Self::Target> {
        self.inner.factor_target(out, factor)
    }
    fn linear_combination(
        &self,
        terms: &[(&Self::Ct, Coefficient<'_>)],
        constant: Complex,
        out: Self::Target,
    ) -> EngineResult<Self::Ct> {
        self.inner.linear_combination(terms, constant, out)
    }
    fn rotate_many(&self, a: &Self::Ct, ks: &[isize]) -> EngineResult<Vec<Self::Ct>> {
        self.inner.rotate_many(a, ks)
    }
    fn add_rotations(
        &self,
        terms: impl IntoIterator<Item = EngineResult<(Self::Ct, isize)>>,
    ) -> EngineResult<Self::Ct> {
        self.inner.add_rotations(terms)
    }
    fn forget_reused(&self, values: &[Complex]) {
        self.inner.forget_reused(values)
    }
    fn bootstrap_pair(&self, a: &Self::Ct, b: &Self::Ct) -> EngineResult<(Self::Ct, Self::Ct)> {
        self.bootstraps.fetch_add(1, Ordering::Relaxed);
        self.inner.bootstrap_pair(a, b)
    }
}
