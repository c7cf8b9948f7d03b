//! The engine seam: HETAL's algorithms are written once over [`Engine`], a
//! slot-vector homomorphic computer, and run on any implementation (the
//! clear-slot [`ClearEngine`] here, [`CkksEngine`](crate::ckks_engine::CkksEngine)
//! on real CKKS ciphertexts in [`crate::ckks_engine`], above the circuits).
//!
//! # Level conventions (every implementation must follow them)
//!
//! * A ciphertext has a level in `0..=max_level()`; fresh encryptions take the
//!   level the caller asks for.
//! * Each multiplication that needs a rescale consumes exactly one level:
//!   ct×ct ([`Engine::mul`]), ct×plaintext vector ([`Engine::mul_plain`]) and
//!   ct×constant ([`Engine::mul_const`]) unless the constant is a Gaussian
//!   integer (`a + b·i` with integer `a`, `b`: multiplying by `2`, `-1` or `i`
//!   is free). The lazy forms ([`Engine::mul_lazy`], [`Engine::mul_plain_lazy`])
//!   leave the product at the operands' level awaiting one [`Engine::rescale`];
//!   products awaiting a rescale may be added to each other before it.
//! * A level-consuming operation on a ciphertext at level 0 fails with
//!   [`EngineError::LevelExhausted`].
//! * Binary operations accept operands at different levels; the result is at
//!   the lower level (the engine drops the higher operand first).
//! * Additions, rotations, conjugation and level drops cost no level.
//! * [`Engine::bootstrap`] returns a ciphertext at
//!   [`Engine::bootstrap_level`], whatever the input level.
//! * Plaintext operands are given as slot values; the engine encodes them at
//!   the ciphertext operand's level and scale. Plaintext vectors must have
//!   exactly `slots()` entries.
//! * [`Engine::linear_combination`] lands exactly on a [`Engine::Target`]
//!   (a level, plus an exact scale on CKKS): results of different paths that
//!   land on the same target can be added. [`Engine::mul`] of an operand on
//!   [`Engine::factor_target`]`(out, factor)` by `factor` lands on `out`.
//! * [`Engine::rotate`] by `k` is a left rotation, cyclic over `slots()`:
//!   output slot `j` holds input slot `(j + k) mod slots`.
//!
//! * A product awaiting a rescale may be added to, subtracted from, rotated,
//!   conjugated, or have plaintexts / constants added; it may not be
//!   multiplied again or bootstrapped ([`EngineError::NeedsRescale`]), and
//!   mixing it with a rescaled ciphertext in an addition is
//!   [`EngineError::ScaleMismatch`].
//!
//! # Counting conventions (those of the paper's Table 7)
//!
//! * Mult: one per ct×ct product ([`Engine::mul_lazy`], hence [`Engine::mul`]).
//! * CMult: one per plaintext-vector product and per constant product that
//!   costs a level; Gaussian-integer constants (`i` included) are not counted.
//! * Rot: one per rotation by a non-zero amount (mod `slots()`); complex
//!   conjugation is counted apart and is not a rotation.
//! * Bootstrap: one per [`Engine::bootstrap`].
//!
//! Decryption is not part of [`Engine`]: it belongs to the key owner, through
//! the separate [`Decryptor`] trait, so that server-side code written against
//! [`Engine`] cannot decrypt.

mod clear;
mod noise;

pub use clear::{ClearConfig, ClearCt, ClearDecryptor, ClearEngine, OpCounts};
/// Slot values: `hetal-nostd`'s complex number, used by every layer.
pub use hetal_nostd::encoding::Complex;
pub use noise::NoiseConfig;

pub use crate::error::{EngineError, EngineResult};

/// A factor of [`Engine::linear_combination`].
#[derive(Clone, Copy, Debug)]
pub enum Coefficient<'a> {
    /// The same value in every slot.
    Const(Complex),
    /// One value per slot (exactly `slots()` of them).
    Plain(&'a [Complex]),
    /// One value per slot, a constant of the circuit used again and again
    /// (the diagonals of a linear transform): engines may keep its encoding.
    Reused(&'a [Complex]),
}

impl Coefficient<'_> {
    /// Whether multiplying by this factor is free (a Gaussian-integer constant).
    pub fn is_free(&self) -> bool {
        matches!(self, Coefficient::Const(k) if k.is_gaussian_integer())
    }
}

/// A slot-vector homomorphic computer (the server side plus encryption).
///
/// Methods take `&self` so that one engine can be shared by rayon threads.
pub trait Engine: Sync {
    /// Ciphertext type.
    type Ct: Clone + Send + Sync;
    /// Where a result lands: a level and, for engines that track scales, an
    /// exact scale. Circuits use targets so that values computed along
    /// different paths can be added (see [`Engine::linear_combination`]).
    type Target: Copy + Send + Sync + std::fmt::Debug;
    /// A sum of ciphertext products awaiting one relinearisation
    /// ([`Engine::mul_accumulate`]).
    type Products: Clone + Send + Sync;

    /// Number of complex slots of a ciphertext.
    fn slots(&self) -> usize;
    /// Highest level a ciphertext can have.
    fn max_level(&self) -> usize;
    /// Level of a ciphertext after bootstrapping.
    fn bootstrap_level(&self) -> usize;
    /// Level of a ciphertext.
    fn level(&self, ct: &Self::Ct) -> usize;

    /// Encrypts up to `slots()` complex values (missing slots are zero) at `level`.
    fn encrypt(&self, values: &[Complex], level: usize) -> EngineResult<Self::Ct>;

    /// `a + b`.
    fn add(&self, a: &Self::Ct, b: &Self::Ct) -> EngineResult<Self::Ct>;
    /// `a - b`.
    fn sub(&self, a: &Self::Ct, b: &Self::Ct) -> EngineResult<Self::Ct>;
    /// `-a`.
    fn neg(&self, a: &Self::Ct) -> EngineResult<Self::Ct>;
    /// `a + p` for a plaintext slot vector `p`.
    fn add_plain(&self, a: &Self::Ct, p: &[Complex]) -> EngineResult<Self::Ct>;
    /// `a + k` in every slot.
    fn add_const(&self, a: &Self::Ct, k: Complex) -> EngineResult<Self::Ct>;
    /// `a · b` with relinearisation, awaiting a rescale (one Mult).
    fn mul_lazy(&self, a: &Self::Ct, b: &Self::Ct) -> EngineResult<Self::Ct>;
    /// `acc + a · b` without relinearising (one Mult): engines that
    /// relinearise (CKKS) add the products as tensors and switch the sum's
    /// quadratic part once, in [`Engine::relinearize`], instead of once per
    /// product.
    fn mul_accumulate(
        &self,
        acc: Option<Self::Products>,
        a: &Self::Ct,
        b: &Self::Ct,
    ) -> EngineResult<Self::Products>;
    /// A sum of products as a ciphertext, awaiting a rescale.
    fn relinearize(&self, products: Self::Products) -> EngineResult<Self::Ct>;
    /// `a · p` for a plaintext slot vector, awaiting a rescale (one CMult).
    fn mul_plain_lazy(&self, a: &Self::Ct, p: &[Complex]) -> EngineResult<Self::Ct>;
    /// `a · k`, rescaled: one level and one CMult, both free when `k` is a
    /// Gaussian integer.
    fn mul_const(&self, a: &Self::Ct, k: Complex) -> EngineResult<Self::Ct>;
    /// Rescales a product, consuming its level.
    fn rescale(&self, a: &Self::Ct) -> EngineResult<Self::Ct>;
    /// Left rotation by `k` slots (negative `k` rotates right); one Rot unless
    /// `k ≡ 0 (mod slots)`.
    fn rotate(&self, a: &Self::Ct, k: isize) -> EngineResult<Self::Ct>;
    /// Complex conjugation of every slot.
    fn conjugate(&self, a: &Self::Ct) -> EngineResult<Self::Ct>;
    /// Lowers a ciphertext to `level` (at most its own level).
    fn drop_level(&self, a: &Self::Ct, level: usize) -> EngineResult<Self::Ct>;
    /// Refreshes a ciphertext to [`Engine::bootstrap_level`].
    fn bootstrap(&self, a: &Self::Ct) -> EngineResult<Self::Ct>;
    /// Largest slot magnitude (real and imaginary part each) a bootstrap
    /// refreshes precisely ([`BOOTSTRAP_RANGE`] unless configured otherwise).
    /// Algorithms keep every value they may bootstrap within it.
    fn bootstrap_range(&self) -> f64;

    /// The target `ct` sits on.
    fn target_of(&self, ct: &Self::Ct) -> Self::Target;
    /// The level of a target.
    fn target_level(&self, t: Self::Target) -> usize;
    /// `t` moved to `level` (its scale unchanged).
    fn target_at(&self, t: Self::Target, level: usize) -> EngineResult<Self::Target>;
    /// The target `x` must sit on so that [`Engine::mul`]`(x, factor)` lands
    /// exactly on `out` (`factor = None`: the square `mul(x, x)`). The factor
    /// must be above `out`'s level.
    fn factor_target(
        &self,
        out: Self::Target,
        factor: Option<&Self::Ct>,
    ) -> EngineResult<Self::Target>;
    /// `Σ k_i·a_i + constant`, landing exactly on `out`, which must be below
    /// every `a_i`'s level: one rescale, and one CMult per term whose factor
    /// is a plaintext vector or a constant that is not a Gaussian integer.
    /// `terms` must not be empty.
    fn linear_combination(
        &self,
        terms: &[(&Self::Ct, Coefficient<'_>)],
        constant: Complex,
        out: Self::Target,
    ) -> EngineResult<Self::Ct>;

    /// Left rotations of one ciphertext by each amount in `ks`; engines that
    /// share work between them (CKKS: one decomposition, "hoisting")
    /// override this, the default rotates one by one. One Rot per non-zero
    /// amount either way.
    fn rotate_many(&self, a: &Self::Ct, ks: &[isize]) -> EngineResult<Vec<Self::Ct>> {
        ks.iter().map(|&k| self.rotate(a, k)).collect()
    }

    /// `Σ_i rot(a_i, k_i)`: the terms' left rotations added, the terms
    /// produced one at a time (so that they need not all be in memory).
    /// Engines that share work between the rotations of a sum override this
    /// (CKKS: one ModDown for the terms at one level and scale instead of
    /// one per rotation); the default rotates and adds. One Rot per non-zero
    /// amount either way; at least one term.
    fn add_rotations(
        &self,
        terms: impl IntoIterator<Item = EngineResult<(Self::Ct, isize)>>,
    ) -> EngineResult<Self::Ct> {
        let mut sum: Option<Self::Ct> = None;
        for term in terms {
            let (a, k) = term?;
            sum = Some(add_to(self, sum, self.rotate(&a, k)?)?);
        }
        sum.ok_or(EngineError::NoTerms)
    }

    /// Ends the reuse of a [`Coefficient::Reused`] factor: engines that keep
    /// its encodings (at every level and scale) drop them. For constants that
    /// a circuit reuses only while it runs, so that they do not stay in
    /// memory after it; the default keeps nothing and does nothing.
    fn forget_reused(&self, _values: &[Complex]) {}

    /// Bootstraps two ciphertexts of real slot values; engines that can
    /// refresh both in one bootstrap (CKKS: as real and imaginary parts)
    /// override this, the default bootstraps each.
    fn bootstrap_pair(&self, a: &Self::Ct, b: &Self::Ct) -> EngineResult<(Self::Ct, Self::Ct)> {
        Ok((self.bootstrap(a)?, self.bootstrap(b)?))
    }

    /// `a · b`, rescaled (one level, one Mult).
    fn mul(&self, a: &Self::Ct, b: &Self::Ct) -> EngineResult<Self::Ct> {
        self.rescale(&self.mul_lazy(a, b)?)
    }
    /// `a · p` for a plaintext slot vector, rescaled (one level, one CMult).
    fn mul_plain(&self, a: &Self::Ct, p: &[Complex]) -> EngineResult<Self::Ct> {
        self.rescale(&self.mul_plain_lazy(a, p)?)
    }
    /// `a · p` for a real plaintext slot vector, rescaled.
    fn mul_plain_real(&self, a: &Self::Ct, p: &[f64]) -> EngineResult<Self::Ct> {
        self.mul_plain(a, &to_complex(p))
    }
    /// `a · k` for a real constant.
    fn mul_real(&self, a: &Self::Ct, k: f64) -> EngineResult<Self::Ct> {
        self.mul_const(a, Complex::real(k))
    }
    /// `a + k` for a real constant.
    fn add_real(&self, a: &Self::Ct, k: f64) -> EngineResult<Self::Ct> {
        self.add_const(a, Complex::real(k))
    }
    /// Encrypts up to `slots()` real values at `level`.
    fn encrypt_real(&self, values: &[f64], level: usize) -> EngineResult<Self::Ct> {
        self.encrypt(&to_complex(values), level)
    }
}

/// The key owner's side: decryption.
pub trait Decryptor<E: Engine + ?Sized> {
    /// Decrypts all slots.
    fn decrypt(&self, ct: &E::Ct) -> EngineResult<Vec<Complex>>;

    /// Decrypts the real parts of all slots.
    fn decrypt_real(&self, ct: &E::Ct) -> EngineResult<Vec<f64>> {
        Ok(self.decrypt(ct)?.into_iter().map(|z| z.re).collect())
    }
}

/// Checks that an operand at `level` can land on a target at level `out`
/// below it.
/// One step of a running sum: `acc + term`, or `term` while nothing has
/// been added yet.
pub fn add_to<E: Engine + ?Sized>(
    engine: &E,
    acc: Option<E::Ct>,
    term: E::Ct,
) -> EngineResult<E::Ct> {
    match acc {
        None => Ok(term),
        Some(a) => engine.add(&a, &term),
    }
}

pub(crate) fn check_above(level: usize, out: usize) -> EngineResult<()> {
    if level > out {
        Ok(())
    } else if level == 0 {
        Err(EngineError::LevelExhausted { needed: 1, level })
    } else {
        Err(EngineError::InvalidLevel {
            requested: out,
            max: level - 1,
        })
    }
}

/// Real values as complex slot values.
pub fn to_complex(values: &[f64]) -> Vec<Complex> {
    values.iter().map(|&x| Complex::real(x)).collect()
}

/// The input range in which the production bootstrap is precise: slots with
/// real and imaginary parts in `[-2, 2]`. Measured on `prod-n16` (README,
/// "Bootstrapping"): the error grows as the cube of the input's magnitude
/// (EvalMod's sine against the identity), about 21 bits at `|x| = 2`, 24
/// at `|x| = 1`, 15 at `|x| = 8`.
pub const BOOTSTRAP_RANGE: f64 = 2.0;

/// Gives `a` at least `a.1` and `b` at least `b.1` levels. When both fall
/// short, one [`Engine::bootstrap_pair`] refreshes both (so both must hold
/// real slot values; on CKKS two ciphertexts cost one bootstrap); when one
/// does, it is bootstrapped alone.
pub fn ensure_levels_pair<E: Engine + ?Sized>(
    engine: &E,
    a: (&E::Ct, usize),
    b: (&E::Ct, usize),
) -> EngineResult<(E::Ct, E::Ct)> {
    let (short_a, short_b) = (engine.level(a.0) < a.1, engine.level(b.0) < b.1);
    if !(short_a && short_b) {
        return Ok((
            ensure_levels(engine, a.0, a.1)?,
            ensure_levels(engine, b.0, b.1)?,
        ));
    }
    let needed = a.1.max(b.1);
    if engine.bootstrap_level() < needed {
        return Err(EngineError::LevelExhausted {
            needed,
            level: engine.bootstrap_level(),
        });
    }
    engine.bootstrap_pair(a.0, b.0)
}

/// Gives `a.0` at least `a.1` levels; when it falls short, `companion` is
/// refreshed along in the same [`Engine::bootstrap_pair`] (both must hold
/// real slot values), so that a value used later beside `a` is fresh too at
/// no extra bootstrap on CKKS.
pub fn ensure_levels_with<E: Engine + ?Sized>(
    engine: &E,
    a: (&E::Ct, usize),
    companion: &E::Ct,
) -> EngineResult<(E::Ct, E::Ct)> {
    if engine.level(a.0) >= a.1 {
        return Ok((a.0.clone(), companion.clone()));
    }
    if engine.bootstrap_level() < a.1 {
        return Err(EngineError::LevelExhausted {
            needed: a.1,
            level: engine.bootstrap_level(),
        });
    }
    engine.bootstrap_pair(a.0, companion)
}

/// Bootstraps `ct` when it has fewer than `needed` levels left: the general
/// rule by which algorithms get their bootstraps (call it before a step that
/// consumes `needed` levels). Fails when even a fresh bootstrap output would
/// not have `needed` levels.
pub fn ensure_levels<E: Engine + ?Sized>(
    engine: &E,
    ct: &E::Ct,
    needed: usize,
) -> EngineResult<E::Ct> {
    if engine.level(ct) >= needed {
        return Ok(ct.clone());
    }
    if engine.bootstrap_level() < needed {
        return Err(EngineError::LevelExhausted {
            needed,
            level: engine.bootstrap_level(),
        });
    }
    engine.bootstrap(ct)
}

/// `a + b` for operands computed along different paths. At different
/// levels the engine brings the higher one exactly onto the lower one's
/// scale. At one level their scales may differ on CKKS (each path rescales
/// by its own primes), so the sum is then landed one level lower by a
/// linear combination on `a`'s scale. Every engine takes the same branch,
/// by levels alone, so that the dry run's level flow stays CKKS's.
pub fn add_across_paths<E: Engine + ?Sized>(
    engine: &E,
    a: &E::Ct,
    b: &E::Ct,
) -> EngineResult<E::Ct> {
    if engine.level(a) != engine.level(b) {
        return engine.add(a, b);
    }
    let (a, b) = ensure_levels_pair(engine, (a, 1), (b, 1))?;
    let out = engine.target_at(engine.target_of(&a), engine.level(&a) - 1)?;
    let one = Coefficient::Const(Complex::real(1.0));
    engine.linear_combination(&[(&a, one), (&b, one)], Complex::default(), out)
}
