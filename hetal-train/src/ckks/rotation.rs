//! Key switching and Galois automorphisms: rotations, conjugation, hoisted
//! rotations and rotate-and-sum.

use hetal_nostd::encrypt::Ciphertext;
use hetal_nostd::math::galois::{
    automorphism_ntt_permutation, galois_element_conjugate, galois_element_for_rotation,
};
use hetal_nostd::ring::RnsPoly;

use super::keyswitch::{inner_product, mod_down, mod_up, PreparedKey};
use super::{EvalError, EvalResult, Evaluator};

impl Evaluator {
    /// Switches `d` (level `level`, NTT, decrypting under the key's source
    /// secret) to a pair decrypting under `s`.
    pub(super) fn key_switch(
        &self,
        level: usize,
        d: &RnsPoly,
        key: &PreparedKey,
    ) -> (RnsPoly, RnsPoly) {
        let tables = &self.levels[level];
        let digits = mod_up(&self.ctx, tables, level, d);
        self.finish_switch(level, &digits, key, None)
    }

    pub(super) fn finish_switch(
        &self,
        level: usize,
        digits: &[RnsPoly],
        key: &PreparedKey,
        perm: Option<&[u32]>,
    ) -> (RnsPoly, RnsPoly) {
        let tables = &self.levels[level];
        let (e0, e1) = inner_product(&self.ctx, level, digits, key, perm);
        let (r0, r1) = rayon::join(
            || mod_down(&self.ctx, tables, level, &e0),
            || mod_down(&self.ctx, tables, level, &e1),
        );
        (r0, r1)
    }

    pub(super) fn permutation(&self, g: u64) -> Vec<u32> {
        let mut perm = vec![0u32; self.ctx.n()];
        automorphism_ntt_permutation(self.ctx.params().log_n(), g, &mut perm);
        perm
    }

    pub(super) fn permute(&self, p: &RnsPoly, perm: &[u32], limbs: usize) -> RnsPoly {
        let mut out = RnsPoly::zero(self.ctx.n(), limbs);
        self.map_limbs(&mut out, |_, i, o| {
            let src = p.limb(i);
            for (x, &j) in o.iter_mut().zip(perm) {
                *x = src[j as usize];
            }
        });
        out
    }

    /// Applies the automorphism `g` with its key: `(σ(c0) + ks0, ks1)`.
    pub(super) fn automorphism(
        &self,
        a: &Ciphertext,
        g: u64,
        key: &PreparedKey,
    ) -> EvalResult<Ciphertext> {
        self.check(a)?;
        let perm = self.permutation(g);
        let l = a.level + 1;
        let c1 = self.permute(&self.c1(a), &perm, l);
        let (k0, k1) = self.key_switch(a.level, &c1, key);
        let c0 = self.permute(&a.c0, &perm, l);
        let c0 = self.zip_limbs(&c0, &k0, l, |m, u, v| m.add(u, v));
        Ok(self.make(a, a.level, a.scale, c0, k1))
    }

    /// The Galois element and key for a left rotation by `k` over `slots`
    /// slots: a key generated for `k`, `k mod slots` or `k mod slots − slots`
    /// (equivalent on the slots) will do; no key is needed for a multiple
    /// of `slots`.
    pub(super) fn rotation_key(
        &self,
        k: i64,
        slots: i64,
        level: usize,
    ) -> EvalResult<(u64, Option<&PreparedKey>)> {
        let log_n = self.ctx.params().log_n();
        let shift = k.rem_euclid(slots);
        if shift == 0 {
            return Ok((1, None));
        }
        let g = [k, shift, shift - slots]
            .into_iter()
            .map(|step| galois_element_for_rotation(log_n, step))
            .find(|g| self.galois.contains_key(g))
            .ok_or(EvalError::MissingRotationKey(k))?;
        Ok((g, Some(self.galois_key(g, level)?)))
    }

    /// The Galois key of `g` for a ciphertext at `level`.
    pub(super) fn galois_key(&self, g: u64, level: usize) -> EvalResult<&PreparedKey> {
        match self.galois.get(&g) {
            Some((key, max)) if *max >= level => Ok(key),
            Some((_, max)) => Err(EvalError::KeyLevel { level, max: *max }),
            None => Err(EvalError::MissingGaloisKey(g)),
        }
    }

    /// Left rotation of the slots by `k` (negative: right): output slot `j`
    /// holds input slot `j + k`.
    pub fn rotate(&self, a: &Ciphertext, k: i64) -> EvalResult<Ciphertext> {
        self.check(a)?;
        let slots = 1i64 << a.log_slots;
        match self.rotation_key(k, slots, a.level)? {
            (_, None) => Ok(self.make(a, a.level, a.scale, a.c0.clone(), self.c1(a).into_owned())),
            (g, Some(key)) => self.automorphism(a, g, key),
        }
    }

    /// Complex conjugation of every slot.
    pub fn conjugate(&self, a: &Ciphertext) -> EvalResult<Ciphertext> {
        let g = galois_element_conjugate(self.ctx.params().log_n());
        if !self.galois.contains_key(&g) {
            return Err(EvalError::MissingConjugationKey);
        }
        self.automorphism(a, g, self.galois_key(g, a.level)?)
    }

    /// Rotations of `a` by every step in `steps`, sharing one ModUp
    /// decomposition of `c1` (hoisting). Bit-identical to [`Self::rotate`].
    pub fn rotate_hoisted(&self, a: &Ciphertext, steps: &[i64]) -> EvalResult<Vec<Ciphertext>> {
        self.check(a)?;
        let slots = 1i64 << a.log_slots;
        let keys = steps
            .iter()
            .map(|&k| self.rotation_key(k, slots, a.level))
            .collect::<EvalResult<Vec<_>>>()?;
        let c1 = self.c1(a);
        let l = a.level + 1;
        let digits = if keys.iter().any(|(_, k)| k.is_some()) {
            mod_up(&self.ctx, &self.levels[a.level], a.level, &c1)
        } else {
            Vec::new()
        };
        keys.into_iter()
            .map(|(g, key)| match key {
                None => Ok(self.make(a, a.level, a.scale, a.c0.clone(), c1.clone().into_owned())),
                Some(key) => {
                    let perm = self.permutation(g);
                    let (k0, k1) = self.finish_switch(a.level, &digits, key, Some(&perm));
                    let c0 = self.permute(&a.c0, &perm, l);
                    let c0 = self.zip_limbs(&c0, &k0, l, |m, u, v| m.add(u, v));
                    Ok(self.make(a, a.level, a.scale, c0, k1))
                }
            })
            .collect()
    }

    /// Rotate-and-sum over a power-of-two `span`: output slot `j` holds
    /// `Σ_{i < span} a_{j+i}`, with rotations by 1, 2, 4, …, span/2.
    pub fn rotate_sum(&self, a: &Ciphertext, span: usize) -> EvalResult<Ciphertext> {
        self.check(a)?;
        if !span.is_power_of_two() || span > (1usize << a.log_slots) {
            return Err(EvalError::BadSpan(span));
        }
        let mut acc = self.make(a, a.level, a.scale, a.c0.clone(), self.c1(a).into_owned());
        let mut step = 1usize;
        while step < span {
            let r = self.rotate(&acc, step as i64)?;
            acc = self.add(&acc, &r)?;
            step *= 2;
        }
        Ok(acc)
    }
}
