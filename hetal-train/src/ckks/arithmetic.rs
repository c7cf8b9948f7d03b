//! Additions: ciphertexts, plaintext slot vectors and constants.

use hetal_nostd::encoding::{encode_into, log_slots_for, packed_to_residues, Complex};
use hetal_nostd::encrypt::Ciphertext;
use hetal_nostd::ring::RnsPoly;

use super::{EvalError, EvalResult, Evaluator};

impl Evaluator {
    pub(super) fn add_sub(
        &self,
        a: &Ciphertext,
        b: &Ciphertext,
        sub: bool,
    ) -> EvalResult<Ciphertext> {
        let (a, b) = self.align(a, b)?;
        let l = a.level + 1;
        let op =
            |m: &hetal_nostd::math::zq::Modulus, u, v| if sub { m.sub(u, v) } else { m.add(u, v) };
        let c0 = self.zip_limbs(&a.c0, &b.c0, l, op);
        let c1 = self.zip_limbs(&self.c1(&a), &self.c1(&b), l, op);
        Ok(self.make(&a, a.level, a.scale, c0, c1))
    }

    /// `a + b` (levels and scales aligned automatically).
    pub fn add(&self, a: &Ciphertext, b: &Ciphertext) -> EvalResult<Ciphertext> {
        self.add_sub(a, b, false)
    }

    /// `a − b` (levels and scales aligned automatically).
    pub fn sub(&self, a: &Ciphertext, b: &Ciphertext) -> EvalResult<Ciphertext> {
        self.add_sub(a, b, true)
    }

    /// `−a`.
    pub fn neg(&self, a: &Ciphertext) -> EvalResult<Ciphertext> {
        self.check(a)?;
        let mut c0 = a.c0.clone();
        let mut c1 = self.c1(a).into_owned();
        for p in [&mut c0, &mut c1] {
            self.map_limbs(p, |m, _, limb| limb.iter_mut().for_each(|x| *x = m.neg(*x)));
        }
        Ok(self.make(a, a.level, a.scale, c0, c1))
    }

    /// Encodes slot values at `scale` over the Q primes `0..=level` (NTT).
    pub fn encode(
        &self,
        values: &[Complex],
        log_slots: u32,
        level: usize,
        scale: f64,
    ) -> EvalResult<RnsPoly> {
        let slots = 1usize << log_slots;
        log_slots_for(slots, self.ctx.params().log_n())?;
        if values.len() > slots {
            return Err(EvalError::TooManyValues {
                len: values.len(),
                slots,
            });
        }
        let mut packed = vec![Complex::default(); slots];
        encode_into(values, scale, &mut packed)?;
        let mut out = RnsPoly::zero(self.ctx.n(), level + 1);
        self.map_limbs(&mut out, |m, i, limb| {
            packed_to_residues(&packed, m, limb);
            self.ctx.table(i).forward(limb);
        });
        Ok(out)
    }

    /// `a + p` for a plaintext slot vector (encoded at `a`'s level and scale).
    pub fn add_plain(&self, a: &Ciphertext, p: &[Complex]) -> EvalResult<Ciphertext> {
        self.check(a)?;
        let pt = self.encode(p, a.log_slots, a.level, a.scale)?;
        let c0 = self.zip_limbs(&a.c0, &pt, a.level + 1, |m, u, v| m.add(u, v));
        Ok(self.make(a, a.level, a.scale, c0, self.c1(a).into_owned()))
    }

    /// `a − p` for a plaintext slot vector.
    pub fn sub_plain(&self, a: &Ciphertext, p: &[Complex]) -> EvalResult<Ciphertext> {
        let neg: Vec<Complex> = p.iter().map(|z| Complex::new(-z.re, -z.im)).collect();
        self.add_plain(a, &neg)
    }

    /// The NTT value at slot `k` of the constant `re + im·X^{N/2}` modulo prime `i`
    /// (`re`, `im` already scaled integers): the pair for the two halves.
    pub(super) fn const_ntt(&self, i: usize, re: i128, im: i128) -> (u64, u64) {
        let m = self.ctx.modulus(i);
        let (r, s) = (m.reduce_i128(re), m.reduce_i128(im));
        let t = m.mul(s, self.iota[i]);
        (m.add(r, t), m.sub(r, t))
    }

    pub(super) fn scaled_int(x: f64, scale: f64) -> EvalResult<i128> {
        let v = (x * scale).round();
        if !v.is_finite() || v.abs() >= 2f64.powi(120) {
            return Err(EvalError::ConstantTooLarge { value: x, scale });
        }
        Ok(v as i128)
    }

    /// `a + k` in every slot.
    pub fn add_const(&self, a: &Ciphertext, k: Complex) -> EvalResult<Ciphertext> {
        self.check(a)?;
        let (re, im) = (
            Self::scaled_int(k.re, a.scale)?,
            Self::scaled_int(k.im, a.scale)?,
        );
        let mut c0 = a.c0.clone();
        let half = self.ctx.n() / 2;
        self.map_limbs(&mut c0, |m, i, limb| {
            let (lo, hi) = self.const_ntt(i, re, im);
            limb[..half].iter_mut().for_each(|x| *x = m.add(*x, lo));
            limb[half..].iter_mut().for_each(|x| *x = m.add(*x, hi));
        });
        Ok(self.make(a, a.level, a.scale, c0, self.c1(a).into_owned()))
    }
}
