//! Sums of rotations with one ModDown: `Σ_i rot(a_i, k_i)` for ciphertexts
//! at one level and scale (the giant steps of a baby-step giant-step
//! linear transform).
//!
//! A rotation ends with ModDown, the division by the special modulus P of
//! its key switch's result over the extended basis QP. ModDown is linear up
//! to its rounding, and `P·c` (for `c` over Q) is zero on the P primes, so
//! `ModDown(P·c + e) = c + ModDown(e)` exactly. A sum of rotations can
//! therefore add every term over QP, `σ_i(P·c0_i + e0_i)` and `σ_i(e1_i)`
//! (the automorphism σ_i applied once to each switched term, as in
//! [`Evaluator::rotate`]), and divide by P once: two ModDowns for the sum
//! instead of two per rotation, and one rounding instead of one per term.
//! The result decrypts to the same sum; it is not bit-identical to the
//! rotations added one by one (those round each term).

use hetal_nostd::encrypt::{Ciphertext, C1};
use hetal_nostd::math::zq::Modulus;
use hetal_nostd::params::ParamsDigest;
use hetal_nostd::ring::RnsPoly;
use rayon::prelude::*;

use super::keyswitch::{ext_index, inner_product_limb, mod_down, mod_up};
use super::rotation::galois_permutation;
use super::{EvalError, EvalResult, Evaluator, SCALE_TOLERANCE};

/// A sum of rotations under way: the terms added so far over the extended
/// basis QP at one level. Made by [`Evaluator::rotation_sum`].
pub struct RotationSum<'e> {
    ev: &'e Evaluator,
    digest: ParamsDigest,
    level: usize,
    scale: f64,
    log_slots: u32,
    acc0: RnsPoly,
    acc1: RnsPoly,
}

impl std::fmt::Debug for RotationSum<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RotationSum")
            .field("level", &self.level)
            .field("scale", &self.scale)
            .field("log_slots", &self.log_slots)
            .finish()
    }
}

impl Evaluator {
    /// An empty sum of rotations of ciphertexts at the level, scale and
    /// slot count of `like`.
    pub fn rotation_sum(&self, like: &Ciphertext) -> EvalResult<RotationSum<'_>> {
        self.check(like)?;
        let (n, ext) = (self.ctx.n(), like.level + 1 + self.ctx.p_len());
        Ok(RotationSum {
            ev: self,
            digest: like.digest,
            level: like.level,
            scale: like.scale,
            log_slots: like.log_slots,
            acc0: RnsPoly::zero(n, ext),
            acc1: RnsPoly::zero(n, ext),
        })
    }

    /// `Σ_i rot(a_i, k_i)` with one ModDown (see [`RotationSum`]); every
    /// `a_i` at the level, scale and slot count of the first.
    pub fn sum_rotations(&self, terms: &[(&Ciphertext, i64)]) -> EvalResult<Ciphertext> {
        let (first, _) = terms
            .first()
            .ok_or(EvalError::Malformed("sum of rotations without terms"))?;
        let mut sum = self.rotation_sum(first)?;
        for &(a, k) in terms {
            sum.add(a, k)?;
        }
        Ok(sum.finish())
    }
}

impl RotationSum<'_> {
    /// True when `a` may join the sum: the same level, slot count and
    /// (within [`SCALE_TOLERANCE`], as for additions) scale.
    pub fn accepts(&self, a: &Ciphertext) -> bool {
        a.level == self.level
            && a.log_slots == self.log_slots
            && ((a.scale - self.scale) / self.scale).abs() <= SCALE_TOLERANCE
    }

    /// Adds `a` rotated left by `k` slots (negative: right).
    pub fn add(&mut self, a: &Ciphertext, k: i64) -> EvalResult<()> {
        let ev = self.ev;
        ev.check(a)?;
        if a.log_slots != self.log_slots {
            return Err(EvalError::SlotMismatch(a.log_slots, self.log_slots));
        }
        if a.level != self.level {
            return Err(EvalError::LevelMismatch(a.level, self.level));
        }
        if !self.accepts(a) {
            return Err(EvalError::ScaleMismatch(a.scale, self.scale));
        }
        let level = self.level;
        let c1 = ev.c1(a);
        match ev.rotation_key(k, 1i64 << a.log_slots, level)? {
            (_, None) => {
                lift_into(ev, level, &mut self.acc0, &a.c0);
                lift_into(ev, level, &mut self.acc1, &c1);
            }
            (g, Some(key)) => {
                let digits = mod_up(&ev.ctx, &ev.levels[level], level, &c1);
                let perm = galois_permutation(&ev.ctx, g);
                let from = |j: usize| perm[j] as usize;
                let n = ev.ctx.n();
                let p_mod = &ev.levels[level].p_mod;
                // Limb by limb: the inner product into scratch limbs, then
                // σ(e0 + P·c0) and σ(e1) added while they are in cache.
                self.acc0
                    .data_mut()
                    .par_chunks_mut(n)
                    .zip(self.acc1.data_mut().par_chunks_mut(n))
                    .enumerate()
                    .for_each_init(
                        || (vec![0u64; n], vec![0u64; n]),
                        |(e0, e1), (t, (acc0, acc1))| {
                            inner_product_limb(&ev.ctx, level, &digits, key, t, e0, e1);
                            let m = ev.ctx.modulus(ext_index(&ev.ctx, level, t));
                            let lifted = (t <= level).then(|| (a.c0.limb(t), p_mod[t]));
                            accumulate(m, acc0, Some(e0), lifted, from);
                            accumulate(m, acc1, Some(e1), None, from);
                        },
                    );
            }
        }
        Ok(())
    }

    /// The sum: ModDown of both components, at the level and scale of the
    /// terms.
    pub fn finish(self) -> Ciphertext {
        let (ev, level) = (self.ev, self.level);
        let tables = &ev.levels[level];
        let (c0, c1) = rayon::join(
            || mod_down(&ev.ctx, tables, level, &self.acc0),
            || mod_down(&ev.ctx, tables, level, &self.acc1),
        );
        Ciphertext {
            digest: self.digest,
            level,
            scale: self.scale,
            log_slots: self.log_slots,
            c0,
            c1: C1::Full(c1),
        }
    }
}

/// `acc += P·y` over the extended basis at `level`, for `y` over the Q
/// primes (`P·y` vanishes on the P primes).
fn lift_into(ev: &Evaluator, level: usize, acc: &mut RnsPoly, y: &RnsPoly) {
    let p_mod = &ev.levels[level].p_mod;
    acc.data_mut()
        .par_chunks_mut(ev.ctx.n())
        .take(level + 1)
        .enumerate()
        .for_each(|(t, out)| {
            let lifted = Some((y.limb(t), p_mod[t]));
            accumulate(ev.ctx.modulus(t), out, None, lifted, |j| j);
        });
}

/// `out[j] += xs[from(j)] + p·ys[from(j)]` modulo `m`, for the terms
/// present (`lifted` = `(ys, (p, p's Shoup constant))`).
fn accumulate(
    m: &Modulus,
    out: &mut [u64],
    xs: Option<&[u64]>,
    lifted: Option<(&[u64], (u64, u64))>,
    from: impl Fn(usize) -> usize,
) {
    match (xs, lifted) {
        (Some(xs), Some((ys, (p, ps)))) => {
            for (j, o) in out.iter_mut().enumerate() {
                let src = from(j);
                *o = m.add(*o, m.add(xs[src], m.mul_shoup(ys[src], p, ps)));
            }
        }
        (Some(xs), None) => {
            for (j, o) in out.iter_mut().enumerate() {
                *o = m.add(*o, xs[from(j)]);
            }
        }
        (None, Some((ys, (p, ps)))) => {
            for (j, o) in out.iter_mut().enumerate() {
                *o = m.add(*o, m.mul_shoup(ys[from(j)], p, ps));
            }
        }
        (None, None) => {}
    }
}
