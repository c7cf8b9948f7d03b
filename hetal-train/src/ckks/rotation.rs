//! Key switching and Galois automorphisms: rotations, conjugation, hoisted
//! rotations and rotate-and-sum.

use hetal_nostd::encrypt::Ciphertext;
use hetal_nostd::math::galois::{
    automorphism_ntt_permutation, galois_element_conjugate, galois_element_for_rotation,
};
use hetal_nostd::ring::{Context, RnsPoly};

use super::keyswitch::{mod_up, product_mod_down, PreparedKey, SwitchProduct};
use super::{EvalError, EvalResult, Evaluator};

/// The NTT-slot permutation of the automorphism `g`: slot `k` of `σ(x)` is
/// slot `perm[k]` of `x`.
pub(super) fn galois_permutation(ctx: &Context, g: u64) -> Vec<u32> {
    let mut perm = vec![0u32; ctx.n()];
    automorphism_ntt_permutation(ctx.params().log_n(), g, &mut perm);
    perm
}

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
        self.finish_switch(level, &digits, key)
    }

    fn finish_switch(
        &self,
        level: usize,
        digits: &[RnsPoly],
        key: &PreparedKey,
    ) -> (RnsPoly, RnsPoly) {
        let prod = SwitchProduct {
            level,
            digits,
            key,
            plus: None,
        };
        product_mod_down(&self.ctx, &self.levels[level], &prod)
    }

    /// Moves the NTT slots of every limb of `p` by the automorphism of
    /// `perm`: slot `k` takes slot `perm[k]`.
    pub(super) fn permute_in_place(&self, p: &mut RnsPoly, perm: &[u32]) {
        self.map_limbs(p, |_, _, limb| {
            let src = limb.to_vec();
            for (x, &j) in limb.iter_mut().zip(perm) {
                *x = src[j as usize];
            }
        });
    }

    /// Applies the automorphism `g` with its key: `σ(c0) + ks0, ks1`, where
    /// `ks` switches `σ(c1)` from `σ(s)` to `s`.
    ///
    /// ModUp and ModDown commute exactly with σ, a permutation of the NTT
    /// slots (a signed permutation of the coefficients, and their base
    /// conversions are odd: centred residues of odd primes), and slot-wise
    /// products commute with it as well. So with the key kept moved by
    /// σ^{-1} ([`PreparedKey`]), the switch runs on the digits of `c1` as
    /// they are and σ is applied once to the result:
    /// `(σ(c0 + ks'0), σ(ks'1))`, bit for bit the same ciphertext.
    pub(super) fn automorphism(
        &self,
        a: &Ciphertext,
        g: u64,
        key: &PreparedKey,
    ) -> EvalResult<Ciphertext> {
        self.check(a)?;
        let digits = mod_up(&self.ctx, &self.levels[a.level], a.level, &self.c1(a));
        Ok(self.apply_galois(a, &digits, key, &galois_permutation(&self.ctx, g)))
    }

    /// The automorphism of [`Self::automorphism`] from the ModUp digits of
    /// `a`'s `c1`, which hoisted rotations share.
    fn apply_galois(
        &self,
        a: &Ciphertext,
        digits: &[RnsPoly],
        key: &PreparedKey,
        perm: &[u32],
    ) -> Ciphertext {
        let (mut c0, mut c1) = self.finish_switch(a.level, digits, key);
        self.map_limbs(&mut c0, |m, i, o| {
            for (x, &u) in o.iter_mut().zip(a.c0.limb(i)) {
                *x = m.add(*x, u);
            }
        });
        self.permute_in_place(&mut c0, perm);
        self.permute_in_place(&mut c1, perm);
        self.make(a, a.level, a.scale, c0, c1)
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
        let digits = if keys.iter().any(|(_, k)| k.is_some()) {
            mod_up(&self.ctx, &self.levels[a.level], a.level, &c1)
        } else {
            Vec::new()
        };
        keys.into_iter()
            .map(|(g, key)| match key {
                None => Ok(self.make(a, a.level, a.scale, a.c0.clone(), c1.clone().into_owned())),
                Some(key) => {
                    Ok(self.apply_galois(a, &digits, key, &galois_permutation(&self.ctx, g)))
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
