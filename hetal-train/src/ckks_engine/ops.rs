//! The [`Engine`] operations of [`CkksEngine`].

use hetal_nostd::encrypt::{encrypt, Key};

use super::{engine_error, CkksCt, CkksEngine, CkksTarget, EncryptKey};
use crate::ckks::{EvalError, Factor, RotationSum, Tensor};
use crate::engine::{add_to, check_above, Coefficient, Complex, Engine, EngineError, EngineResult};

impl Engine for CkksEngine {
    type Ct = CkksCt;
    type Target = CkksTarget;
    type Products = Tensor;

    fn slots(&self) -> usize {
        1 << self.log_slots
    }

    fn max_level(&self) -> usize {
        self.ev.context().params().max_level()
    }

    fn bootstrap_level(&self) -> usize {
        self.ev.context().params().user_top_level()
    }

    fn level(&self, ct: &CkksCt) -> usize {
        ct.ct.level
    }

    fn encrypt(&self, values: &[Complex], level: usize) -> EngineResult<CkksCt> {
        if values.len() > self.slots() {
            return Err(EngineError::SizeMismatch {
                len: values.len(),
                slots: self.slots(),
            });
        }
        if level > self.max_level() {
            return Err(EngineError::InvalidLevel {
                requested: level,
                max: self.max_level(),
            });
        }
        let ctx = self.ev.context();
        let key = match &self.key {
            EncryptKey::Secret(sk) => Key::Secret(sk),
            EncryptKey::Public(pk) => Key::Public(pk),
            EncryptKey::Trivial => return self.encrypt_trivial(values, level),
        };
        let ct = {
            let mut rng = self
                .rng
                .lock()
                .map_err(|_| EngineError::Poisoned("random generator"))?;
            encrypt(ctx, key, values, self.slots(), level, &mut rng)?
        };
        Self::wrap(self.ev.expand(&ct), false)
    }

    fn add(&self, a: &CkksCt, b: &CkksCt) -> EngineResult<CkksCt> {
        self.binary(a, b, |x, y| self.ev.add(x, y))
    }

    fn sub(&self, a: &CkksCt, b: &CkksCt) -> EngineResult<CkksCt> {
        self.binary(a, b, |x, y| self.ev.sub(x, y))
    }

    fn neg(&self, a: &CkksCt) -> EngineResult<CkksCt> {
        Self::wrap(self.ev.neg(&a.ct), a.pending_rescale)
    }

    fn add_plain(&self, a: &CkksCt, p: &[Complex]) -> EngineResult<CkksCt> {
        self.check_len(p.len())?;
        Self::wrap(self.ev.add_plain(&a.ct, p), a.pending_rescale)
    }

    fn add_const(&self, a: &CkksCt, k: Complex) -> EngineResult<CkksCt> {
        Self::wrap(self.ev.add_const(&a.ct, k), a.pending_rescale)
    }

    fn mul_lazy(&self, a: &CkksCt, b: &CkksCt) -> EngineResult<CkksCt> {
        Self::need_level(a)?;
        Self::need_level(b)?;
        Self::wrap(self.ev.mul(&a.ct, &b.ct), true)
    }

    fn mul_accumulate(&self, acc: Option<Tensor>, a: &CkksCt, b: &CkksCt) -> EngineResult<Tensor> {
        Self::need_level(a)?;
        Self::need_level(b)?;
        let product = self.ev.tensor_product(&a.ct, &b.ct).map_err(engine_error)?;
        match acc {
            None => Ok(product),
            Some(mut sum) => {
                self.ev
                    .add_tensor(&mut sum, &product)
                    .map_err(engine_error)?;
                Ok(sum)
            }
        }
    }

    fn relinearize(&self, products: Tensor) -> EngineResult<CkksCt> {
        Self::wrap(self.ev.relinearize(&products), true)
    }

    fn mul_plain_lazy(&self, a: &CkksCt, p: &[Complex]) -> EngineResult<CkksCt> {
        self.check_len(p.len())?;
        Self::need_level(a)?;
        Self::wrap(self.ev.mul_plain(&a.ct, p), true)
    }

    fn mul_const(&self, a: &CkksCt, k: Complex) -> EngineResult<CkksCt> {
        if a.pending_rescale {
            return Err(EngineError::NeedsRescale);
        }
        if k.is_gaussian_integer() {
            return Self::wrap(
                self.ev.mul_gaussian_int(&a.ct, k.re as i64, k.im as i64),
                false,
            );
        }
        Self::need_level(a)?;
        let m = self.ev.mul_const(&a.ct, k).map_err(engine_error)?;
        Self::wrap(self.ev.rescale(&m), false)
    }

    fn mul(&self, a: &CkksCt, b: &CkksCt) -> EngineResult<CkksCt> {
        Self::need_level(a)?;
        Self::need_level(b)?;
        Self::wrap(self.ev.mul_rescale(&a.ct, &b.ct), false)
    }

    fn rescale(&self, a: &CkksCt) -> EngineResult<CkksCt> {
        if !a.pending_rescale {
            return Err(EngineError::NothingToRescale);
        }
        Self::wrap(self.ev.rescale(&a.ct), false)
    }

    fn rotate(&self, a: &CkksCt, k: isize) -> EngineResult<CkksCt> {
        let n = self.slots();
        let shift = k.rem_euclid(n as isize) as usize;
        if shift == 0 {
            return Ok(a.clone());
        }
        if self.ev.has_rotation(shift as i64) {
            return Self::wrap(self.ev.rotate(&a.ct, shift as i64), a.pending_rescale);
        }
        // Compose powers of two.
        let mut ct = a.ct.clone();
        for bit in 0..self.log_slots {
            if shift >> bit & 1 == 1 {
                ct = self.ev.rotate(&ct, 1i64 << bit).map_err(|e| match e {
                    // Neither the step's key nor this power of two's.
                    EvalError::MissingRotationKey(_) => EngineError::MissingRotation(shift),
                    other => engine_error(other),
                })?;
            }
        }
        Ok(CkksCt {
            ct,
            pending_rescale: a.pending_rescale,
        })
    }

    fn rotate_many(&self, a: &CkksCt, ks: &[isize]) -> EngineResult<Vec<CkksCt>> {
        let n = self.slots() as isize;
        let shifts: Vec<i64> = ks.iter().map(|&k| k.rem_euclid(n) as i64).collect();
        if !shifts.iter().all(|&k| k == 0 || self.ev.has_rotation(k)) {
            return ks.iter().map(|&k| self.rotate(a, k)).collect();
        }
        let cts = self
            .ev
            .rotate_hoisted(&a.ct, &shifts)
            .map_err(engine_error)?;
        Ok(cts
            .into_iter()
            .map(|ct| CkksCt {
                ct,
                pending_rescale: a.pending_rescale,
            })
            .collect())
    }

    fn forget_reused(&self, values: &[Complex]) {
        // A poisoned cache only keeps the encodings: nothing to report.
        let _ = self.plain_cache.forget(values);
    }

    fn add_rotations(
        &self,
        terms: impl IntoIterator<Item = EngineResult<(CkksCt, isize)>>,
    ) -> EngineResult<CkksCt> {
        // Terms at the first one's level and scale, with a key for their
        // amount, share one ModDown; any other is rotated and added.
        let n = self.slots() as isize;
        let mut lazy: Option<RotationSum<'_>> = None;
        let mut eager: Option<CkksCt> = None;
        for term in terms {
            let (a, k) = term?;
            let shift = k.rem_euclid(n) as i64;
            let keyed = !a.pending_rescale && (shift == 0 || self.ev.has_rotation(shift));
            match &mut lazy {
                Some(sum) if keyed && sum.accepts(&a.ct) => {
                    sum.add(&a.ct, shift).map_err(engine_error)?
                }
                None if keyed => {
                    let mut sum = self.ev.rotation_sum(&a.ct).map_err(engine_error)?;
                    sum.add(&a.ct, shift).map_err(engine_error)?;
                    lazy = Some(sum);
                }
                _ => eager = Some(add_to(self, eager, self.rotate(&a, k)?)?),
            }
        }
        let lazy = lazy.map(|sum| CkksCt {
            ct: sum.finish(),
            pending_rescale: false,
        });
        match (lazy, eager) {
            (Some(l), Some(e)) => self.add(&l, &e),
            (Some(s), None) | (None, Some(s)) => Ok(s),
            (None, None) => Err(EngineError::NoTerms),
        }
    }

    fn conjugate(&self, a: &CkksCt) -> EngineResult<CkksCt> {
        Self::wrap(self.ev.conjugate(&a.ct), a.pending_rescale)
    }

    fn drop_level(&self, a: &CkksCt, level: usize) -> EngineResult<CkksCt> {
        Self::wrap(self.ev.drop_level(&a.ct, level), a.pending_rescale)
    }

    fn target_of(&self, ct: &CkksCt) -> CkksTarget {
        CkksTarget {
            level: ct.ct.level,
            scale: ct.ct.scale,
        }
    }

    fn target_level(&self, t: CkksTarget) -> usize {
        t.level
    }

    fn target_at(&self, t: CkksTarget, level: usize) -> EngineResult<CkksTarget> {
        if level > self.max_level() {
            return Err(EngineError::InvalidLevel {
                requested: level,
                max: self.max_level(),
            });
        }
        Ok(CkksTarget { level, ..t })
    }

    fn factor_target(&self, out: CkksTarget, factor: Option<&CkksCt>) -> EngineResult<CkksTarget> {
        let up = self.target_at(out, out.level + 1)?;
        let q = self.ev.context().modulus(up.level).value() as f64;
        let scale = match factor {
            Some(f) => {
                check_above(f.ct.level, out.level)?;
                out.scale * q / f.ct.scale
            }
            None => (out.scale * q).sqrt(),
        };
        Ok(CkksTarget { scale, ..up })
    }

    fn linear_combination(
        &self,
        terms: &[(&CkksCt, Coefficient<'_>)],
        constant: Complex,
        out: CkksTarget,
    ) -> EngineResult<CkksCt> {
        if terms.is_empty() {
            return Err(EngineError::NoTerms);
        }
        let mut cts = Vec::with_capacity(terms.len());
        let mut encoded = Vec::with_capacity(terms.len());
        for &(a, k) in terms {
            encoded.push(match k {
                Coefficient::Reused(p) => {
                    self.check_len(p.len())?;
                    Some(self.reused_plaintext(p, &a.ct, out)?)
                }
                _ => None,
            });
        }
        for (&(a, k), enc) in terms.iter().zip(&encoded) {
            if a.pending_rescale {
                return Err(EngineError::NeedsRescale);
            }
            check_above(a.ct.level, out.level)?;
            let factor = match (k, enc) {
                (Coefficient::Const(k), _) => Factor::Const(k),
                (_, Some(pt)) => Factor::Prepared(pt),
                (Coefficient::Plain(p) | Coefficient::Reused(p), None) => {
                    self.check_len(p.len())?;
                    Factor::Plain(p)
                }
            };
            cts.push((&a.ct, factor));
        }
        Self::wrap(
            self.ev
                .linear_combination(&cts, constant, out.level, out.scale),
            false,
        )
    }

    fn bootstrap(&self, a: &CkksCt) -> EngineResult<CkksCt> {
        self.bootstrap_with_gain(a, 1.0)
    }

    fn bootstrap_range(&self) -> f64 {
        crate::engine::BOOTSTRAP_RANGE
    }

    /// Both ciphertexts (real slot values) in one bootstrap, as the real and
    /// imaginary parts of `a + i·b`; the halves of `z ± z̄` are free because
    /// the bootstrap's output is halved at no cost.
    fn bootstrap_pair(&self, a: &CkksCt, b: &CkksCt) -> EngineResult<(CkksCt, CkksCt)> {
        let z = self.add(a, &self.mul_const(b, Complex::new(0.0, 1.0))?)?;
        let half = self.bootstrap_with_gain(&z, 0.5)?;
        let conj = self.conjugate(&half)?;
        let re = self.add(&half, &conj)?;
        let im = self.mul_const(&self.sub(&half, &conj)?, Complex::new(0.0, -1.0))?;
        Ok((re, im))
    }
}
