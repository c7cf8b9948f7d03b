//! Lazy relinearisation: sums of ciphertext products kept as tensors
//! `(d0, d1, d2)`, decrypting as `d0 + d1·s + d2·s²`, and switched to a
//! ciphertext once.
//!
//! Relinearisation is linear: the key switch of a sum of `d2` parts is the
//! sum of their key switches up to the rounding of one ModDown. So a sum of
//! `m` products (the row sums of a matrix product) costs `m` tensor products
//! and one key switch instead of `m`, and carries the switching noise of one.

use hetal_nostd::encrypt::{Ciphertext, C1};
use hetal_nostd::params::ParamsDigest;
use hetal_nostd::ring::RnsPoly;

use super::{EvalError, EvalResult, Evaluator, SCALE_TOLERANCE};

/// A sum of ciphertext products awaiting relinearisation: three components
/// at one level and scale (the product of the factors' scales). Made by
/// [`Evaluator::tensor_product`], added to by [`Evaluator::add_tensor`],
/// finished by [`Evaluator::relinearize`].
#[derive(Clone, Debug)]
pub struct Tensor {
    digest: ParamsDigest,
    level: usize,
    pub(super) scale: f64,
    log_slots: u32,
    pub(super) d: [RnsPoly; 3],
}

impl Tensor {
    /// Level of the sum.
    pub fn level(&self) -> usize {
        self.level
    }

    /// Scale of the sum.
    pub fn scale(&self) -> f64 {
        self.scale
    }
}

impl Evaluator {
    /// The tensor product of `a` and `b` at the lower of their levels, not
    /// relinearised (the relinearisation key must exist all the same).
    pub fn tensor_product(&self, a: &Ciphertext, b: &Ciphertext) -> EvalResult<Tensor> {
        let (_, level) = self.mul_operands(a, b)?;
        let (d0, d1, d2) = self.tensor(a, b, level);
        Ok(Tensor {
            digest: a.digest,
            level,
            scale: a.scale * b.scale,
            log_slots: a.log_slots,
            d: [d0, d1, d2],
        })
    }

    /// `acc += t`, both at the level of the lower one (the higher is
    /// truncated: the tensors are in the NTT domain, awaiting no rescale);
    /// the slot counts must be equal and the scales equal within
    /// [`SCALE_TOLERANCE`].
    pub fn add_tensor(&self, acc: &mut Tensor, t: &Tensor) -> EvalResult<()> {
        if acc.digest != t.digest {
            return Err(EvalError::ParamsMismatch);
        }
        if acc.log_slots != t.log_slots {
            return Err(EvalError::SlotMismatch(acc.log_slots, t.log_slots));
        }
        if ((acc.scale - t.scale) / t.scale).abs() > SCALE_TOLERANCE {
            return Err(EvalError::ScaleMismatch(acc.scale, t.scale));
        }
        let level = acc.level.min(t.level);
        let limbs = level + 1;
        for (sum, term) in acc.d.iter_mut().zip(&t.d) {
            sum.truncate(limbs);
            self.map_limbs(sum, |m, i, o| {
                for (x, &v) in o.iter_mut().zip(term.limb(i)) {
                    *x = m.add(*x, v);
                }
            });
        }
        acc.level = level;
        Ok(())
    }

    /// The sum as a ciphertext: `d2` switched from `s²` to `s` (one key
    /// switch) and added to `(d0, d1)`; awaiting a rescale.
    pub fn relinearize(&self, t: &Tensor) -> EvalResult<Ciphertext> {
        let key = self.relin.as_ref().ok_or(EvalError::MissingRelinKey)?;
        let [d0, d1, d2] = &t.d;
        let l = t.level + 1;
        let (k0, k1) = self.key_switch(t.level, d2, key);
        let c0 = self.zip_limbs(d0, &k0, l, |m, u, v| m.add(u, v));
        let c1 = self.zip_limbs(d1, &k1, l, |m, u, v| m.add(u, v));
        Ok(Ciphertext {
            digest: t.digest,
            level: t.level,
            scale: t.scale,
            log_slots: t.log_slots,
            c0,
            c1: C1::Full(c1),
        })
    }
}
