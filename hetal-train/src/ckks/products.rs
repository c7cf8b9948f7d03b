//! Products: by Gaussian integers, constants, plaintexts (plain or
//! prepared in Montgomery form) and ciphertexts (with relinearisation).

use hetal_nostd::encoding::Complex;
use hetal_nostd::encrypt::Ciphertext;
use hetal_nostd::math::montgomery::montgomery_mul;
use hetal_nostd::ring::RnsPoly;
use rayon::prelude::*;

use super::keyswitch::{mod_up, product_mod_down_rescale, PreparedKey, SwitchProduct};
use super::{EvalError, EvalResult, Evaluator};

/// A factor of [`Evaluator::linear_combination`]: a constant or a
/// plaintext slot vector.
#[derive(Clone, Copy, Debug)]
pub enum Factor<'a> {
    /// The same value in every slot.
    Const(Complex),
    /// One value per slot.
    Plain(&'a [Complex]),
    /// A prepared plaintext (at least `level + 2` limbs) whose scale must be
    /// the one the term needs.
    Prepared(&'a PreparedPlaintext),
}

/// An encoded plaintext (NTT domain) in Montgomery form (each residue times
/// 2^64 mod its prime), for products by one Montgomery reduction instead of
/// a Barrett reduction of the 128-bit product; same memory as the plaintext.
#[derive(Clone, Debug)]
pub struct PreparedPlaintext {
    pub(super) mont: RnsPoly,
    pub(super) scale: f64,
}

impl PreparedPlaintext {
    /// The scale the plaintext was encoded at.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// Number of limbs (Q primes from q0 up).
    pub fn limbs(&self) -> usize {
        self.mont.limbs()
    }

    /// Bytes in memory.
    pub fn bytes(&self) -> usize {
        self.mont.data().len() * 8
    }
}

impl Evaluator {
    /// Multiplies both components by the constant `re + im·i` given as scaled integers.
    pub(super) fn mul_int(
        &self,
        a: &Ciphertext,
        re: i128,
        im: i128,
        scale: f64,
    ) -> EvalResult<Ciphertext> {
        let half = self.ctx.n() / 2;
        let mut c0 = a.c0.clone();
        let mut c1 = self.c1(a).into_owned();
        for p in [&mut c0, &mut c1] {
            self.map_limbs(p, |m, i, limb| {
                let (lo, hi) = self.const_ntt(i, re, im);
                let (slo, shi) = (m.shoup(lo), m.shoup(hi));
                limb[..half]
                    .iter_mut()
                    .for_each(|x| *x = m.mul_shoup(*x, lo, slo));
                limb[half..]
                    .iter_mut()
                    .for_each(|x| *x = m.mul_shoup(*x, hi, shi));
            });
        }
        Ok(self.make(a, a.level, a.scale * scale, c0, c1))
    }

    /// `a · (re + im·i)` for integers: no scale change, no level.
    pub fn mul_gaussian_int(&self, a: &Ciphertext, re: i64, im: i64) -> EvalResult<Ciphertext> {
        self.check(a)?;
        self.mul_int(a, re as i128, im as i128, 1.0)
    }

    /// `a · i` (free).
    pub fn mul_i(&self, a: &Ciphertext) -> EvalResult<Ciphertext> {
        self.mul_gaussian_int(a, 0, 1)
    }

    /// `a · k` for a complex constant encoded at scale `q_level`, awaiting a
    /// rescale (which restores `a`'s scale exactly).
    pub fn mul_const(&self, a: &Ciphertext, k: Complex) -> EvalResult<Ciphertext> {
        self.check(a)?;
        let q = self.ctx.modulus(a.level).value() as f64;
        let (re, im) = (Self::scaled_int(k.re, q)?, Self::scaled_int(k.im, q)?);
        self.mul_int(a, re, im, q)
    }

    /// `a · p` for a plaintext slot vector encoded at scale `q_level`,
    /// awaiting a rescale (which restores `a`'s scale exactly).
    pub fn mul_plain(&self, a: &Ciphertext, p: &[Complex]) -> EvalResult<Ciphertext> {
        self.check(a)?;
        let q = self.ctx.modulus(a.level).value() as f64;
        let pt = self.encode(p, a.log_slots, a.level, q)?;
        self.mul_plain_poly(a, &pt, q)
    }

    /// Prepares an encoded plaintext (NTT, limb `i` modulo prime `i`) of
    /// scale `scale` for repeated products.
    pub fn prepare_plaintext(&self, pt: RnsPoly, scale: f64) -> EvalResult<PreparedPlaintext> {
        if pt.n() != self.ctx.n() || pt.limbs() == 0 || pt.limbs() > self.ctx.q_len() {
            return Err(EvalError::Malformed("plaintext (shape)"));
        }
        let mut mont = pt;
        let mut bad = false;
        for (i, limb) in mont.limbs_iter_mut().enumerate() {
            let m = self.ctx.modulus(i);
            let r = m.reduce_u128(1u128 << 64);
            bad |= limb.iter().any(|&x| x >= m.value());
            limb.iter_mut().for_each(|x| *x = m.mul(*x, r));
        }
        if bad {
            return Err(EvalError::Malformed("plaintext (residue out of range)"));
        }
        Ok(PreparedPlaintext { mont, scale })
    }

    /// `a · pt` for a prepared plaintext (at least `a.level + 1` limbs),
    /// awaiting a rescale.
    pub fn mul_plain_prepared(
        &self,
        a: &Ciphertext,
        pt: &PreparedPlaintext,
    ) -> EvalResult<Ciphertext> {
        self.check(a)?;
        if pt.limbs() <= a.level {
            return Err(EvalError::Malformed("plaintext (shape)"));
        }
        let l = a.level + 1;
        let n = self.ctx.n();
        let c1 = self.c1(a);
        let mut c0 = RnsPoly::zero(n, l);
        let mut d1 = RnsPoly::zero(n, l);
        c0.data_mut()
            .par_chunks_mut(n)
            .zip(d1.data_mut().par_chunks_mut(n))
            .enumerate()
            .for_each(|(i, (o0, o1))| {
                let (q, qi) = (self.ctx.modulus(i).value(), self.mont[i]);
                let w = pt.mont.limb(i);
                for (out, src) in [(o0, a.c0.limb(i)), (o1, c1.limb(i))] {
                    for ((o, &x), &y) in out.iter_mut().zip(src).zip(w) {
                        *o = montgomery_mul(x, y, q, qi);
                    }
                }
            });
        Ok(self.make(a, a.level, a.scale * pt.scale, c0, d1))
    }

    /// `a · pt` for an encoded plaintext (NTT, at least `a.level + 1` limbs)
    /// of scale `pt_scale`, awaiting a rescale.
    pub fn mul_plain_poly(
        &self,
        a: &Ciphertext,
        pt: &RnsPoly,
        pt_scale: f64,
    ) -> EvalResult<Ciphertext> {
        self.check(a)?;
        if pt.n() != self.ctx.n() || pt.limbs() <= a.level {
            return Err(EvalError::Malformed("plaintext (shape)"));
        }
        let l = a.level + 1;
        let c0 = self.zip_limbs(&a.c0, pt, l, |m, u, v| m.mul(u, v));
        let c1 = self.zip_limbs(&self.c1(a), pt, l, |m, u, v| m.mul(u, v));
        Ok(self.make(a, a.level, a.scale * pt_scale, c0, c1))
    }

    /// Checks the operands of a product: the relinearisation key and the common level.
    pub(super) fn mul_operands(
        &self,
        a: &Ciphertext,
        b: &Ciphertext,
    ) -> EvalResult<(&PreparedKey, usize)> {
        self.check(a)?;
        self.check(b)?;
        if a.log_slots != b.log_slots {
            return Err(EvalError::SlotMismatch(a.log_slots, b.log_slots));
        }
        let key = self.relin.as_ref().ok_or(EvalError::MissingRelinKey)?;
        Ok((key, a.level.min(b.level)))
    }

    /// `a · b` with relinearisation, awaiting a rescale (scale `a.scale·b.scale`).
    pub fn mul(&self, a: &Ciphertext, b: &Ciphertext) -> EvalResult<Ciphertext> {
        self.relinearize(&self.tensor_product(a, b)?)
    }

    /// `a · b` with relinearisation and rescale fused: ModDown and the
    /// rescale share their NTTs. Bit-identical to [`Self::mul`] then
    /// [`Self::rescale`], with fewer NTTs.
    pub fn mul_rescale(&self, a: &Ciphertext, b: &Ciphertext) -> EvalResult<Ciphertext> {
        let (key, level) = self.mul_operands(a, b)?;
        if level == 0 {
            return Err(EvalError::LevelExhausted(0));
        }
        let (d0, d1, d2) = self.tensor(a, b, level);
        let tables = &self.levels[level];
        let digits = mod_up(&self.ctx, tables, level, &d2);
        // P·d_k joins the product's Q limbs, so that ModDown returns d_k
        // plus the key-switched part, then rescale.
        let prod = SwitchProduct {
            level,
            digits: &digits,
            key,
            plus: Some((&d0, &d1)),
        };
        let (c0, c1) = product_mod_down_rescale(&self.ctx, tables, &prod);
        let scale = a.scale * b.scale / self.ctx.modulus(level).value() as f64;
        Ok(self.make(a, level - 1, scale, c0, c1))
    }

    /// The tensor product `(a0·b0, a0·b1 + a1·b0, a1·b1)` at `level`.
    pub(super) fn tensor(
        &self,
        a: &Ciphertext,
        b: &Ciphertext,
        level: usize,
    ) -> (RnsPoly, RnsPoly, RnsPoly) {
        let (a1, b1) = (self.c1(a), self.c1(b));
        let n = self.ctx.n();
        let l = level + 1;
        let mut d0 = RnsPoly::zero(n, l);
        let mut d1 = RnsPoly::zero(n, l);
        let mut d2 = RnsPoly::zero(n, l);
        d0.data_mut()
            .par_chunks_mut(n)
            .zip(d1.data_mut().par_chunks_mut(n))
            .zip(d2.data_mut().par_chunks_mut(n))
            .enumerate()
            .for_each(|(i, ((o0, o1), o2))| {
                let m = self.ctx.modulus(i);
                let (x0, x1, y0, y1) = (a.c0.limb(i), a1.limb(i), b.c0.limb(i), b1.limb(i));
                for k in 0..n {
                    o0[k] = m.mul(x0[k], y0[k]);
                    o1[k] = m
                        .reduce_u128(x0[k] as u128 * y1[k] as u128 + x1[k] as u128 * y0[k] as u128);
                    o2[k] = m.mul(x1[k], y1[k]);
                }
            });
        (d0, d1, d2)
    }

    /// `a²` with relinearisation, awaiting a rescale.
    pub fn square(&self, a: &Ciphertext) -> EvalResult<Ciphertext> {
        self.mul(a, a)
    }
}
