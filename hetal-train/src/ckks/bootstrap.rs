//! The ciphertext-level steps of bootstrapping around the slot circuit of
//! [`crate::ckks_engine::bootstrap`]: sparse-secret encapsulation (`s → s'` at
//! level 0, `s' → s` at the top), ModRaise, and the trace that confines a
//! raised ciphertext with sparse slots to its slot subring.

use super::keyswitch::PreparedKey;
use super::{prepare, EvalError, EvalResult, Evaluator};
use hetal_nostd::encapsulation::{BaseSwitchingKey, EncapsulationKeys};
use hetal_nostd::encrypt::Ciphertext;
use hetal_nostd::evk::KeyKind;
use hetal_nostd::math::galois::galois_element_for_rotation;
use hetal_nostd::math::zq::Modulus;
use hetal_nostd::ring::{Context, RnsPoly};
use rayon::prelude::*;

/// The prepared encapsulation keys.
pub(crate) struct Encapsulation {
    /// `(b, a)` of the `s → s'` key over (q0, p0).
    to_sparse: (RnsPoly, RnsPoly),
    /// The `s' → s` key over the whole chain.
    to_dense: PreparedKey,
}

/// `v` (a residue modulo `from`) lifted to its centred representative and
/// reduced modulo `to`.
fn centred(v: u64, from: &Modulus, to: &Modulus) -> u64 {
    let q = from.value();
    if v > q / 2 {
        to.neg(to.reduce(q - v))
    } else {
        to.reduce(v)
    }
}

/// One coefficient-domain limb modulo `from` (QP index) as an NTT limb
/// modulo `to`, through centred representatives.
fn switch_limb(ctx: &Context, coeffs: &[u64], from: usize, to: usize) -> Vec<u64> {
    let (mf, mt) = (ctx.modulus(from), ctx.modulus(to));
    let mut out: Vec<u64> = coeffs.iter().map(|&v| centred(v, mf, mt)).collect();
    ctx.table(to).forward(&mut out);
    out
}

impl Evaluator {
    /// Installs the sparse-secret encapsulation keys (checked against the
    /// parameters), enabling [`Self::to_sparse`] and [`Self::to_dense`].
    pub fn set_encapsulation(&mut self, keys: &EncapsulationKeys) -> EvalResult<()> {
        let ctx = &self.ctx;
        let base = &keys.to_sparse;
        if &base.digest != ctx.params().digest() {
            return Err(EvalError::ParamsMismatch);
        }
        let basis = BaseSwitchingKey::basis(ctx);
        if base.b.n() != ctx.n() || base.b.limbs() != basis.len() {
            return Err(EvalError::Malformed("dense-to-sparse key (shape)"));
        }
        for (limb, &i) in base.b.limbs_iter().zip(&basis) {
            if limb.iter().any(|&x| x >= ctx.modulus(i).value()) {
                return Err(EvalError::Malformed(
                    "dense-to-sparse key (residue out of range)",
                ));
            }
        }
        let to_dense = prepare(ctx, keys.to_dense.clone(), KeyKind::SparseToDense)?;
        self.encapsulation = Some(Encapsulation {
            to_sparse: (base.b.clone(), base.expand_a(ctx)),
            to_dense,
        });
        Ok(())
    }

    fn encapsulation(&self) -> EvalResult<&Encapsulation> {
        self.encapsulation.as_ref().ok_or(EvalError::Unsupported(
            "no sparse-secret encapsulation keys",
        ))
    }

    /// Switches a level-0 ciphertext from the dense secret to the sparse one,
    /// with the key over (q0, p0): `c1` is raised to p0, multiplied by the
    /// key and divided by p0 back to q0.
    pub fn to_sparse(&self, ct: &Ciphertext) -> EvalResult<Ciphertext> {
        self.check(ct)?;
        if ct.level != 0 {
            return Err(EvalError::InvalidLevel {
                requested: ct.level,
                max: 0,
            });
        }
        let (kb, ka) = &self.encapsulation()?.to_sparse;
        let ctx = &self.ctx;
        let [q0, p0] = BaseSwitchingKey::basis(ctx);
        let (mq, mp) = (ctx.modulus(q0), ctx.modulus(p0));
        let c1_ntt = self.c1(ct).limb(0).to_vec();
        let mut c1 = c1_ntt.clone();
        ctx.table(q0).inverse(&mut c1);
        let c1_p = switch_limb(ctx, &c1, q0, p0);
        let p_inv = mq
            .inv(mp.value())
            .map_err(|_| EvalError::Unsupported("p0 = q0"))?;
        let p_inv_shoup = mq.shoup(p_inv);
        let half = |k: &RnsPoly| -> Vec<u64> {
            // (c1·k mod q0 − lift(c1·k mod p0)) / p0 mod q0.
            let on_q: Vec<u64> = c1_ntt
                .iter()
                .zip(k.limb(0))
                .map(|(&x, &y)| mq.mul(x, y))
                .collect();
            let mut on_p: Vec<u64> = c1_p
                .iter()
                .zip(k.limb(1))
                .map(|(&x, &y)| mp.mul(x, y))
                .collect();
            ctx.table(p0).inverse(&mut on_p);
            let lifted = switch_limb(ctx, &on_p, p0, q0);
            on_q.iter()
                .zip(&lifted)
                .map(|(&x, &y)| mq.mul_shoup(mq.sub(x, y), p_inv, p_inv_shoup))
                .collect()
        };
        let (u0, u1) = rayon::join(|| half(kb), || half(ka));
        let mut c0 = RnsPoly::zero(ctx.n(), 1);
        for ((dst, &x), &y) in c0.limb_mut(0).iter_mut().zip(ct.c0.limb(0)).zip(&u0) {
            *dst = mq.add(x, y);
        }
        let mut c1 = RnsPoly::zero(ctx.n(), 1);
        c1.limb_mut(0).copy_from_slice(&u1);
        Ok(self.make(ct, 0, ct.scale, c0, c1))
    }

    /// ModRaise: a level-0 ciphertext read as centred integers modulo q0 and
    /// written over the Q primes `0..=level` (the plaintext becomes
    /// `m + q0·I` for a small integer polynomial I).
    pub fn mod_raise(&self, ct: &Ciphertext, level: usize) -> EvalResult<Ciphertext> {
        self.check(ct)?;
        let max = self.ctx.params().max_level();
        if ct.level != 0 || level > max {
            return Err(EvalError::InvalidLevel {
                requested: level,
                max,
            });
        }
        let ctx = &self.ctx;
        let raise = |p: &RnsPoly| -> RnsPoly {
            let mut coeffs = p.limb(0).to_vec();
            ctx.table(0).inverse(&mut coeffs);
            let limbs: Vec<Vec<u64>> = (0..=level)
                .into_par_iter()
                .map(|i| {
                    if i == 0 {
                        p.limb(0).to_vec()
                    } else {
                        switch_limb(ctx, &coeffs, 0, i)
                    }
                })
                .collect();
            let mut out = RnsPoly::zero(ctx.n(), 0);
            limbs.iter().for_each(|l| out.push_limb(l));
            out
        };
        let c1 = self.c1(ct);
        let (c0, c1) = rayon::join(|| raise(&ct.c0), || raise(&c1));
        Ok(self.make(ct, level, ct.scale, c0, c1))
    }

    /// Switches a ciphertext from the sparse secret back to the dense one.
    pub fn to_dense(&self, ct: &Ciphertext) -> EvalResult<Ciphertext> {
        self.check(ct)?;
        let key = &self.encapsulation()?.to_dense;
        let (k0, k1) = self.key_switch(ct.level, &self.c1(ct), key);
        let l = ct.level + 1;
        let c0 = self.zip_limbs(&ct.c0, &k0, l, |m, u, v| m.add(u, v));
        Ok(self.make(ct, ct.level, ct.scale, c0, k1))
    }

    /// The trace from the full ring to the subring of `ct`'s slots: the sum
    /// of `ct` over the automorphisms `X → X^(5^(n·j))`, computed in
    /// log2(N/2n) steps. Coefficients outside the subring cancel and those
    /// inside are multiplied by N/2n (the caller accounts for the factor).
    /// Needs the Galois keys of left rotations by `n·2^i` for
    /// `n·2^i < N/2`.
    pub fn trace_to_slots(&self, ct: &Ciphertext) -> EvalResult<Ciphertext> {
        self.check(ct)?;
        let log_n = self.ctx.params().log_n();
        let mut acc = ct.clone();
        for i in ct.log_slots..log_n - 1 {
            let step = 1i64 << i;
            let g = galois_element_for_rotation(log_n, step);
            if !self.galois.contains_key(&g) {
                return Err(EvalError::MissingRotationKey(step));
            }
            let rotated = self.automorphism(&acc, g, self.galois_key(g, acc.level)?)?;
            acc = self.add(&acc, &rotated)?;
        }
        Ok(acc)
    }
}
