//! Linear combinations `Σ k_i·a_i + constant` landing on an exact level
//! and scale with one rescale.

use std::borrow::Cow;

use hetal_nostd::encoding::Complex;
use hetal_nostd::encrypt::Ciphertext;
use hetal_nostd::math::montgomery::montgomery_mul;
use hetal_nostd::ring::RnsPoly;
use rayon::prelude::*;

use super::keyswitch::dot_pair;
use super::{EvalError, EvalResult, Evaluator, Factor, PreparedPlaintext};

/// A term's multiplier inside [`Evaluator::linear_combination`], where it
/// is applied term by term (prepared plaintexts go to the dot-product
/// kernel instead).
enum Multiplier {
    /// A constant `re + im·i` as scaled integers.
    Const(i128, i128),
    /// The plaintext at this index of the combination's encoded plaintexts.
    Plain(usize),
}

impl Evaluator {
    /// `Σ k_i·a_i + constant` at `level` with scale exactly `scale`, for
    /// constant or plaintext-vector factors `k_i`: each `a_i` (above
    /// `level`) is dropped to `level + 1` and multiplied by `k_i` encoded at
    /// scale `scale·q/a_i.scale` (`q = q_{level+1}`), so that every term has
    /// scale `scale·q`; the sum plus the constant is rescaled once.
    pub fn linear_combination(
        &self,
        terms: &[(&Ciphertext, Factor<'_>)],
        constant: Complex,
        level: usize,
        scale: f64,
    ) -> EvalResult<Ciphertext> {
        let l = level + 1;
        if l > self.ctx.params().max_level() {
            return Err(EvalError::InvalidLevel {
                requested: level,
                max: self.ctx.params().max_level() - 1,
            });
        }
        if !(scale.is_finite() && scale > 0.0) {
            return Err(EvalError::BadScale(scale));
        }
        let target = scale * self.ctx.modulus(l).value() as f64;
        let first = terms
            .first()
            .ok_or(EvalError::Malformed("linear combination without terms"))?
            .0;
        // Each term's multiplier at scale `target / a_i.scale`: constants as
        // scaled integers, plaintext vectors encoded over the primes 0..=l.
        let mut plains: Vec<RnsPoly> = Vec::new();
        // Constants and plaintexts encoded here, applied term by term, and the
        // prepared plaintexts, each with its term's index.
        let mut muls: Vec<(usize, Multiplier)> = Vec::with_capacity(terms.len());
        let mut prepared: Vec<(usize, &PreparedPlaintext)> = Vec::new();
        let mut c1s: Vec<Cow<'_, RnsPoly>> = Vec::with_capacity(terms.len());
        for (j, (a, k)) in terms.iter().enumerate() {
            self.check(a)?;
            if a.level < l {
                return Err(EvalError::LevelExhausted(a.level));
            }
            if a.log_slots != first.log_slots {
                return Err(EvalError::SlotMismatch(a.log_slots, first.log_slots));
            }
            let f = target / a.scale;
            match k {
                Factor::Const(k) => muls.push((
                    j,
                    Multiplier::Const(Self::scaled_int(k.re, f)?, Self::scaled_int(k.im, f)?),
                )),
                Factor::Plain(p) => {
                    plains.push(self.encode(p, a.log_slots, l, f)?);
                    muls.push((j, Multiplier::Plain(plains.len() - 1)));
                }
                Factor::Prepared(pp) => {
                    if ((pp.scale / f) - 1.0).abs() > 1e-12 {
                        return Err(EvalError::ScaleMismatch(pp.scale, f));
                    }
                    if pp.limbs() <= l {
                        return Err(EvalError::Malformed("plaintext (shape)"));
                    }
                    prepared.push((j, *pp));
                }
            }
            c1s.push(self.c1(a));
        }
        // Σ a_i·k_i limb by limb, accumulated in place (no per-term copies).
        let n = self.ctx.n();
        let half = n / 2;
        let mut c0 = RnsPoly::zero(n, l + 1);
        let mut c1 = RnsPoly::zero(n, l + 1);
        c0.data_mut()
            .par_chunks_mut(n)
            .zip(c1.data_mut().par_chunks_mut(n))
            .enumerate()
            .for_each(|(i, (o0, o1))| {
                let m = self.ctx.modulus(i);
                for &(j, ref k) in &muls {
                    let pair = [
                        (&mut *o0, terms[j].0.c0.limb(i)),
                        (&mut *o1, c1s[j].limb(i)),
                    ];
                    match *k {
                        Multiplier::Const(re, im) => {
                            // The constant's NTT values, once for both components.
                            let (lo, hi) = self.const_ntt(i, re, im);
                            let halves = [(0..half, lo, m.shoup(lo)), (half..n, hi, m.shoup(hi))];
                            for (out, src) in pair {
                                for (range, w, ws) in halves.clone() {
                                    for (o, &x) in out[range.clone()].iter_mut().zip(&src[range]) {
                                        *o = m.add(*o, m.mul_shoup(x, w, ws));
                                    }
                                }
                            }
                        }
                        Multiplier::Plain(index) => {
                            let w = plains[index].limb(i);
                            for (out, src) in pair {
                                for ((o, &x), &y) in out.iter_mut().zip(src).zip(w) {
                                    *o = m.add(*o, m.mul(x, y));
                                }
                            }
                        }
                    }
                }
                // Plaintexts prepared in Montgomery form (w·2^64 mod q) are
                // summed on the dot-product kernel, 8 at a time, and brought
                // back by one Montgomery product by 1: Σ a·(w·2^64)·2^-64 =
                // Σ a·w, bit for bit.
                if prepared.is_empty() {
                    return;
                }
                let (q, qi) = (m.value(), self.mont[i]);
                let (mut s0, mut s1) = (vec![0u64; n], vec![0u64; n]);
                for group in prepared.chunks(8) {
                    let w: Vec<&[u64]> = group.iter().map(|(_, pp)| pp.mont.limb(i)).collect();
                    let x0: Vec<&[u64]> =
                        group.iter().map(|&(j, _)| terms[j].0.c0.limb(i)).collect();
                    let x1: Vec<&[u64]> = group.iter().map(|&(j, _)| c1s[j].limb(i)).collect();
                    dot_pair(m, (&w, &x0, &x1), (&mut s0, &mut s1));
                    for (out, sum) in [(&mut *o0, &s0), (&mut *o1, &s1)] {
                        for (o, &v) in out.iter_mut().zip(sum) {
                            *o = m.add(*o, montgomery_mul(v, 1, q, qi));
                        }
                    }
                }
            });
        let acc = self.make(first, l, target, c0, c1);
        let mut out = self.rescale(&self.add_const(&acc, constant)?)?;
        out.scale = scale;
        Ok(out)
    }
}
