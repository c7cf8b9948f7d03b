//! Levels and scales: level drops, exact rescaling, and the alignment of
//! operands onto one level and scale.

use std::borrow::Cow;

use hetal_nostd::encrypt::Ciphertext;
use hetal_nostd::ring::RnsPoly;
use rayon::prelude::*;

use super::{EvalError, EvalResult, Evaluator, SCALE_TOLERANCE};

impl Evaluator {
    /// Lowers `ct` to `level` by dropping limbs (free; the scale is unchanged).
    pub fn drop_level(&self, ct: &Ciphertext, level: usize) -> EvalResult<Ciphertext> {
        self.check(ct)?;
        if level > ct.level {
            return Err(EvalError::InvalidLevel {
                requested: level,
                max: ct.level,
            });
        }
        let mut c0 = ct.c0.clone();
        c0.truncate(level + 1);
        let mut c1 = self.c1(ct).into_owned();
        c1.truncate(level + 1);
        Ok(self.make(ct, level, ct.scale, c0, c1))
    }

    /// Divides by the last prime `q_level` (rounding), dropping one level;
    /// the scale is divided by `q_level` exactly.
    pub fn rescale(&self, ct: &Ciphertext) -> EvalResult<Ciphertext> {
        self.check(ct)?;
        let l = ct.level;
        if l == 0 {
            return Err(EvalError::LevelExhausted(0));
        }
        let c0 = self.rescale_poly(&ct.c0, l);
        let c1 = self.rescale_poly(&self.c1(ct), l);
        Ok(self.make(
            ct,
            l - 1,
            ct.scale / self.ctx.modulus(l).value() as f64,
            c0,
            c1,
        ))
    }

    pub(super) fn rescale_poly(&self, p: &RnsPoly, l: usize) -> RnsPoly {
        let n = self.ctx.n();
        let ql = self.ctx.modulus(l).value();
        let mut last = p.limb(l).to_vec();
        self.ctx.table(l).inverse(&mut last);
        let half = ql >> 1;
        let mut out = RnsPoly::zero(n, l);
        out.data_mut()
            .par_chunks_mut(n)
            .enumerate()
            .for_each(|(i, o)| {
                let m = self.ctx.modulus(i);
                let ql_mod = m.reduce(ql);
                // Centred residue of the last limb, modulo q_i.
                for (x, &v) in o.iter_mut().zip(&last) {
                    let r = m.reduce(v);
                    *x = if v > half { m.sub(r, ql_mod) } else { r };
                }
                self.ctx.table(i).forward(o);
                let (w, ws) = self.rescale_inv[l][i];
                for (x, &v) in o.iter_mut().zip(p.limb(i)) {
                    *x = m.mul_shoup(m.sub(v, *x), w, ws);
                }
            });
        out
    }

    /// Brings `ct` (above `level`) to `level` with a scale within
    /// [`SCALE_TOLERANCE`] of `scale`: multiplies by the integer nearest
    /// `scale·q/ct.scale`, rescales by `q = q_{ct.level}` and drops the rest.
    pub(super) fn adjust(
        &self,
        ct: &Ciphertext,
        level: usize,
        scale: f64,
    ) -> EvalResult<Ciphertext> {
        let q = self.ctx.modulus(ct.level).value() as f64;
        let c = (scale * q / ct.scale).round();
        let out_scale = ct.scale * c / q;
        if !(1.0..4.0e18).contains(&c) || ((out_scale - scale) / scale).abs() > SCALE_TOLERANCE {
            return Err(EvalError::ScaleMismatch(ct.scale, scale));
        }
        let c = c as u64;
        let mut c0 = ct.c0.clone();
        let mut c1 = self.c1(ct).into_owned();
        for p in [&mut c0, &mut c1] {
            self.map_limbs(p, |m, _, limb| {
                let w = m.reduce(c);
                let ws = m.shoup(w);
                limb.iter_mut().for_each(|x| *x = m.mul_shoup(*x, w, ws));
            });
        }
        let raised = self.make(ct, ct.level, ct.scale * c as f64, c0, c1);
        let mut out = self.rescale(&raised)?;
        if out.level > level {
            out = self.drop_level(&out, level)?;
        }
        Ok(out)
    }

    /// Both operands at the same level and (within tolerance) the same scale.
    pub(super) fn align<'a>(
        &self,
        a: &'a Ciphertext,
        b: &'a Ciphertext,
    ) -> EvalResult<(Cow<'a, Ciphertext>, Cow<'a, Ciphertext>)> {
        self.check(a)?;
        self.check(b)?;
        if a.log_slots != b.log_slots {
            return Err(EvalError::SlotMismatch(a.log_slots, b.log_slots));
        }
        let close = |x: f64, y: f64| ((x - y) / y).abs() <= SCALE_TOLERANCE;
        // An operand above the other's level is brought to its scale
        // exactly (up to the rounding of a large integer) whenever the scales
        // differ at all: treating nearly equal scales as equal would add a
        // systematic relative error of their difference.
        let bring =
            |x: &'a Ciphertext, level: usize, scale: f64| -> EvalResult<Cow<'a, Ciphertext>> {
                if x.level > level && x.scale != scale {
                    Ok(Cow::Owned(self.adjust(x, level, scale)?))
                } else if !close(x.scale, scale) {
                    Err(EvalError::ScaleMismatch(x.scale, scale))
                } else if x.level == level {
                    Ok(Cow::Borrowed(x))
                } else {
                    Ok(Cow::Owned(self.drop_level(x, level)?))
                }
            };
        match a.level.cmp(&b.level) {
            std::cmp::Ordering::Greater => Ok((bring(a, b.level, b.scale)?, Cow::Borrowed(b))),
            std::cmp::Ordering::Less => Ok((Cow::Borrowed(a), bring(b, a.level, a.scale)?)),
            std::cmp::Ordering::Equal if close(a.scale, b.scale) => {
                Ok((Cow::Borrowed(a), Cow::Borrowed(b)))
            }
            std::cmp::Ordering::Equal => Err(EvalError::ScaleMismatch(a.scale, b.scale)),
        }
    }
}
