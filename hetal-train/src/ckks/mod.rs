//! The CKKS evaluator (server side): additions, plaintext and constant
//! products, ct×ct products with relinearisation, rescaling with exact scale
//! tracking, level drops, rotations and conjugation by Galois automorphisms
//! with hybrid key switching, hoisted rotations and rotate-and-sum.
//!
//! Ciphertexts are [`Ciphertext`]s of `hetal-nostd` (NTT domain). Results
//! always carry an explicit `c1`. Scales are tracked exactly: a product's
//! scale is the product of the scales, a rescale divides by the dropped prime,
//! and constants / plaintexts that are multiplied are encoded at scale
//! `q_level` so that the following rescale restores the operand's scale.
//!
//! The evaluator takes `&self`, is `Sync`, allocates its scratch per call and
//! splits work over limbs with rayon; results are bit-identical whatever the
//! number of threads.

mod bootstrap;
mod keyswitch;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use hetal_nostd::encoding::{encode_into, log_slots_for, packed_to_residues, Complex};
use hetal_nostd::encrypt::{Ciphertext, C1};
use hetal_nostd::evk::{key_basis, key_digits, EvaluationKeys, KeyKind, SwitchingKey};
use hetal_nostd::math::galois::{
    automorphism_ntt_permutation, galois_element_conjugate, galois_element_for_rotation,
};
use hetal_nostd::ring::{Context, RnsPoly};
use keyswitch::{inner_product, mod_down, mod_down_rescale, mod_up, LevelTables, PreparedKey};
use rayon::prelude::*;
use thiserror::Error;

/// Two scales closer than this relative distance are treated as equal in
/// additions (the mismatch adds a relative error of at most this much).
pub const SCALE_TOLERANCE: f64 = 1e-9;

/// Errors of the evaluator.
#[derive(Clone, Debug, Error, PartialEq)]
pub enum EvalError {
    /// No Galois key for a rotation step.
    #[error("missing Galois key for a rotation by {0} slots")]
    MissingRotationKey(i64),
    /// No conjugation key.
    #[error("missing Galois key for complex conjugation")]
    MissingConjugationKey,
    /// No Galois key for an automorphism.
    #[error("missing Galois key for the automorphism X -> X^{0}")]
    MissingGaloisKey(u64),
    /// A Galois key generated for lower levels than the ciphertext's.
    #[error("the Galois key serves levels up to {max}, the ciphertext is at level {level}")]
    KeyLevel {
        /// Level of the ciphertext.
        level: usize,
        /// Highest level of the key.
        max: usize,
    },
    /// No relinearisation key.
    #[error("missing relinearisation key")]
    MissingRelinKey,
    /// The operation needs a level the ciphertext no longer has.
    #[error("levels exhausted: the ciphertext is at level {0}")]
    LevelExhausted(usize),
    /// A ciphertext or key belongs to another parameter set.
    #[error("parameter mismatch: the object belongs to another parameter set")]
    ParamsMismatch,
    /// Scales that cannot be aligned.
    #[error("scale mismatch: {0} vs {1} cannot be aligned")]
    ScaleMismatch(f64, f64),
    /// Slot counts that differ.
    #[error("slot-count mismatch: 2^{0} vs 2^{1}")]
    SlotMismatch(u32, u32),
    /// A level above the ciphertext's own (for a drop) or the chain's top.
    #[error("invalid level {requested} (at most {max})")]
    InvalidLevel {
        /// Level asked for.
        requested: usize,
        /// Highest allowed.
        max: usize,
    },
    /// A ciphertext or key whose shape does not match the parameters.
    #[error("malformed {0}")]
    Malformed(&'static str),
    /// A plaintext or constant that cannot be encoded.
    #[error("cannot encode: {0}")]
    Encode(String),
    /// The parameter set is outside what the evaluator supports.
    #[error("unsupported parameters: {0}")]
    Unsupported(&'static str),
}

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
    mont: RnsPoly,
    scale: f64,
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

/// `−q^{-1} mod 2^64` for odd `q` (Newton's iteration doubles the correct
/// low bits each step).
fn montgomery_constant(q: u64) -> u64 {
    let mut inv = q; // correct to 3 bits for odd q
    for _ in 0..5 {
        inv = inv.wrapping_mul(2u64.wrapping_sub(q.wrapping_mul(inv)));
    }
    inv.wrapping_neg()
}

/// `x·y·2^-64 mod q` for `x, y < q < 2^62` and `q_neg_inv = −q^{-1} mod 2^64`.
#[inline(always)]
fn montgomery_mul(x: u64, y: u64, q: u64, q_neg_inv: u64) -> u64 {
    let t = u128::from(x) * u128::from(y);
    let m = (t as u64).wrapping_mul(q_neg_inv);
    let u = ((t + u128::from(m) * u128::from(q)) >> 64) as u64;
    // u < 2q: one conditional subtraction.
    let (d, borrow) = u.overflowing_sub(q);
    if borrow {
        u
    } else {
        d
    }
}

/// A term's multiplier inside [`Evaluator::linear_combination`].
enum Multiplier<'a> {
    /// A constant `re + im·i` as scaled integers.
    Const(i128, i128),
    /// The plaintext at this index of the combination's encoded plaintexts.
    Plain(usize),
    /// A prepared plaintext.
    Prepared(&'a PreparedPlaintext),
}

/// Result of an evaluator operation.
pub type EvalResult<T> = Result<T, EvalError>;

/// The CKKS evaluator: a context, prepared evaluation keys and the
/// precomputed constants of key switching and rescaling.
pub struct Evaluator {
    ctx: Arc<Context>,
    relin: Option<PreparedKey>,
    /// Galois keys with the highest level each serves.
    galois: HashMap<u64, (PreparedKey, usize)>,
    levels: Vec<LevelTables>,
    /// `[level][i]`: `q_level^{-1} mod q_i` and its Shoup constant, `i < level`.
    rescale_inv: Vec<Vec<(u64, u64)>>,
    /// Per Q and P prime: `ι = ψ^{N/2}`, the NTT value of `X^{N/2}` (the
    /// slot-wise `i`) on the first half of the NTT slots (`−ι` on the second).
    iota: Vec<u64>,
    /// Sparse-secret encapsulation keys for bootstrapping, once installed.
    encapsulation: Option<bootstrap::Encapsulation>,
    /// Per Q prime: `−q^{-1} mod 2^64` for Montgomery products.
    mont: Vec<u64>,
}

impl std::fmt::Debug for Evaluator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Evaluator")
            .field("params", &self.ctx.params().name())
            .field("relin", &self.relin.is_some())
            .field("galois_keys", &self.galois.len())
            .finish()
    }
}

impl Evaluator {
    /// An evaluator for `ctx` with the given evaluation keys (checked against
    /// the parameters; their `a` polynomials are expanded here).
    pub fn new(ctx: Arc<Context>, keys: &EvaluationKeys) -> EvalResult<Self> {
        let params = ctx.params();
        let dnum = ctx.q_len().div_ceil(params.digit_size());
        if dnum > 8 || ctx.p_len() > 8 || params.digit_size() > 8 {
            return Err(EvalError::Unsupported(
                "at most 8 digits of at most 8 primes and at most 8 special primes",
            ));
        }
        let relin = keys
            .relin
            .as_ref()
            .map(|k| prepare(&ctx, k, KeyKind::Relin))
            .transpose()?;
        let mut galois = HashMap::new();
        for k in &keys.galois {
            let KeyKind::Galois(g) = k.kind else {
                return Err(EvalError::Malformed("Galois key (another kind given)"));
            };
            galois.insert(g, (prepare(&ctx, k, k.kind)?, k.level));
        }
        let levels = (0..ctx.q_len())
            .map(|l| LevelTables::new(&ctx, l))
            .collect();
        let rescale_inv = (0..ctx.q_len())
            .map(|l| {
                (0..l)
                    .map(|i| {
                        let m = ctx.modulus(i);
                        let v = m.inv(ctx.modulus(l).value()).unwrap_or(0);
                        (v, m.shoup(v))
                    })
                    .collect()
            })
            .collect();
        let half = (ctx.n() / 2) as u64;
        let iota = (0..ctx.q_len() + ctx.p_len())
            .map(|i| ctx.modulus(i).pow(ctx.table(i).psi(), half))
            .collect();
        let mont = (0..ctx.q_len())
            .map(|i| montgomery_constant(ctx.modulus(i).value()))
            .collect();
        Ok(Evaluator {
            ctx,
            relin,
            galois,
            levels,
            rescale_inv,
            iota,
            encapsulation: None,
            mont,
        })
    }

    /// The context.
    pub fn context(&self) -> &Arc<Context> {
        &self.ctx
    }

    /// True when a Galois key for a left rotation by `k` is present.
    pub fn has_rotation(&self, k: i64) -> bool {
        self.galois
            .contains_key(&galois_element_for_rotation(self.ctx.params().log_n(), k))
    }

    // ----- validation -------------------------------------------------------

    /// Checks a ciphertext against the parameters.
    pub fn check(&self, ct: &Ciphertext) -> EvalResult<()> {
        let params = self.ctx.params();
        if &ct.digest != params.digest() {
            return Err(EvalError::ParamsMismatch);
        }
        if ct.level > params.max_level() {
            return Err(EvalError::InvalidLevel {
                requested: ct.level,
                max: params.max_level(),
            });
        }
        if ct.c0.n() != params.n() || ct.c0.limbs() != ct.level + 1 {
            return Err(EvalError::Malformed("ciphertext (c0 shape)"));
        }
        if let C1::Full(c1) = &ct.c1 {
            if c1.n() != params.n() || c1.limbs() != ct.level + 1 {
                return Err(EvalError::Malformed("ciphertext (c1 shape)"));
            }
        }
        if !(ct.scale.is_finite() && ct.scale > 0.0) {
            return Err(EvalError::Malformed("ciphertext (scale)"));
        }
        if ct.log_slots >= params.log_n() {
            return Err(EvalError::Malformed("ciphertext (slot count)"));
        }
        Ok(())
    }

    /// The same ciphertext with `c1` explicit (a seeded `c1` is expanded once
    /// here instead of in every operation that reads it).
    pub fn expand(&self, ct: &Ciphertext) -> EvalResult<Ciphertext> {
        self.check(ct)?;
        Ok(self.make(
            ct,
            ct.level,
            ct.scale,
            ct.c0.clone(),
            self.c1(ct).into_owned(),
        ))
    }

    fn c1<'a>(&self, ct: &'a Ciphertext) -> Cow<'a, RnsPoly> {
        match &ct.c1 {
            C1::Full(p) => Cow::Borrowed(p),
            C1::Seeded(_) => Cow::Owned(ct.c1_poly(&self.ctx)),
        }
    }

    fn make(
        &self,
        like: &Ciphertext,
        level: usize,
        scale: f64,
        c0: RnsPoly,
        c1: RnsPoly,
    ) -> Ciphertext {
        Ciphertext {
            digest: like.digest,
            level,
            scale,
            log_slots: like.log_slots,
            c0,
            c1: C1::Full(c1),
        }
    }

    // ----- limb-wise helpers ------------------------------------------------

    /// `f(modulus, limb index, limb)` on every limb, in parallel.
    fn map_limbs(
        &self,
        p: &mut RnsPoly,
        f: impl Fn(&hetal_nostd::math::zq::Modulus, usize, &mut [u64]) + Sync,
    ) {
        let n = self.ctx.n();
        p.data_mut()
            .par_chunks_mut(n)
            .enumerate()
            .for_each(|(i, limb)| f(self.ctx.modulus(i), i, limb));
    }

    /// `a ∘ b` limb-wise with `op`, on the first `limbs` limbs.
    fn zip_limbs(
        &self,
        a: &RnsPoly,
        b: &RnsPoly,
        limbs: usize,
        op: impl Fn(&hetal_nostd::math::zq::Modulus, u64, u64) -> u64 + Sync,
    ) -> RnsPoly {
        let mut out = RnsPoly::zero(self.ctx.n(), limbs);
        self.map_limbs(&mut out, |m, i, o| {
            for ((x, &u), &v) in o.iter_mut().zip(a.limb(i)).zip(b.limb(i)) {
                *x = op(m, u, v);
            }
        });
        out
    }

    // ----- levels and scales ------------------------------------------------

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

    fn rescale_poly(&self, p: &RnsPoly, l: usize) -> RnsPoly {
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
    fn adjust(&self, ct: &Ciphertext, level: usize, scale: f64) -> EvalResult<Ciphertext> {
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
    fn align<'a>(
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

    // ----- additions --------------------------------------------------------

    fn add_sub(&self, a: &Ciphertext, b: &Ciphertext, sub: bool) -> EvalResult<Ciphertext> {
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
        log_slots_for(slots, self.ctx.params().log_n())
            .map_err(|e| EvalError::Encode(e.to_string()))?;
        if values.len() > slots {
            return Err(EvalError::Encode(format!(
                "{} values for {slots} slots",
                values.len()
            )));
        }
        let mut packed = vec![Complex::default(); slots];
        encode_into(values, scale, &mut packed).map_err(|e| EvalError::Encode(e.to_string()))?;
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
    fn const_ntt(&self, i: usize, re: i128, im: i128) -> (u64, u64) {
        let m = self.ctx.modulus(i);
        let (r, s) = (m.reduce_i128(re), m.reduce_i128(im));
        let t = m.mul(s, self.iota[i]);
        (m.add(r, t), m.sub(r, t))
    }

    fn scaled_int(x: f64, scale: f64) -> EvalResult<i128> {
        let v = (x * scale).round();
        if !v.is_finite() || v.abs() >= 2f64.powi(120) {
            return Err(EvalError::Encode(format!(
                "constant {x} at scale {scale} is too large"
            )));
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

    // ----- products ---------------------------------------------------------

    /// Multiplies both components by the constant `re + im·i` given as scaled integers.
    fn mul_int(&self, a: &Ciphertext, re: i128, im: i128, scale: f64) -> EvalResult<Ciphertext> {
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
            return Err(EvalError::Encode(format!("target scale {scale}")));
        }
        let target = scale * self.ctx.modulus(l).value() as f64;
        let first = terms
            .first()
            .ok_or(EvalError::Malformed("linear combination without terms"))?
            .0;
        // Each term's multiplier at scale `target / a_i.scale`: constants as
        // scaled integers, plaintext vectors encoded over the primes 0..=l.
        let mut plains: Vec<RnsPoly> = Vec::new();
        let mut muls: Vec<Multiplier> = Vec::with_capacity(terms.len());
        let mut c1s: Vec<Cow<'_, RnsPoly>> = Vec::with_capacity(terms.len());
        for (a, k) in terms {
            self.check(a)?;
            if a.level < l {
                return Err(EvalError::LevelExhausted(a.level));
            }
            if a.log_slots != first.log_slots {
                return Err(EvalError::SlotMismatch(a.log_slots, first.log_slots));
            }
            let f = target / a.scale;
            muls.push(match k {
                Factor::Const(k) => {
                    Multiplier::Const(Self::scaled_int(k.re, f)?, Self::scaled_int(k.im, f)?)
                }
                Factor::Plain(p) => {
                    plains.push(self.encode(p, a.log_slots, l, f)?);
                    Multiplier::Plain(plains.len() - 1)
                }
                Factor::Prepared(pp) => {
                    if ((pp.scale / f) - 1.0).abs() > 1e-12 {
                        return Err(EvalError::ScaleMismatch(pp.scale, f));
                    }
                    if pp.limbs() <= l {
                        return Err(EvalError::Malformed("plaintext (shape)"));
                    }
                    Multiplier::Prepared(pp)
                }
            });
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
                for (((a, _), k), a1) in terms.iter().zip(&muls).zip(&c1s) {
                    let pair = [(&mut *o0, a.c0.limb(i)), (&mut *o1, a1.limb(i))];
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
                        Multiplier::Plain(j) => {
                            let w = plains[j].limb(i);
                            for (out, src) in pair {
                                for ((o, &x), &y) in out.iter_mut().zip(src).zip(w) {
                                    *o = m.add(*o, m.mul(x, y));
                                }
                            }
                        }
                        Multiplier::Prepared(pp) => {
                            let (q, qi, w) = (m.value(), self.mont[i], pp.mont.limb(i));
                            for (out, src) in pair {
                                for ((o, &x), &y) in out.iter_mut().zip(src).zip(w) {
                                    *o = m.add(*o, montgomery_mul(x, y, q, qi));
                                }
                            }
                        }
                    }
                }
            });
        let acc = self.make(first, l, target, c0, c1);
        let mut out = self.rescale(&self.add_const(&acc, constant)?)?;
        out.scale = scale;
        Ok(out)
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
    fn mul_operands(&self, a: &Ciphertext, b: &Ciphertext) -> EvalResult<(&PreparedKey, usize)> {
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
        let (key, level) = self.mul_operands(a, b)?;
        let l = level + 1;
        let (d0, d1, d2) = self.tensor(a, b, level);
        let (k0, k1) = self.key_switch(level, &d2, key);
        let c0 = self.zip_limbs(&d0, &k0, l, |m, u, v| m.add(u, v));
        let c1 = self.zip_limbs(&d1, &k1, l, |m, u, v| m.add(u, v));
        Ok(self.make(a, level, a.scale * b.scale, c0, c1))
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
        let (mut e0, mut e1) = inner_product(&self.ctx, level, &digits, key, None);
        // e_k += P·d_k on the Q limbs (the P limbs of P·d_k are zero), so
        // that ModDown returns d_k + key-switched part, then rescale.
        let n = self.ctx.n();
        for (e, d) in [(&mut e0, &d0), (&mut e1, &d1)] {
            e.data_mut()[..(level + 1) * n]
                .par_chunks_mut(n)
                .enumerate()
                .for_each(|(i, limb)| {
                    let m = self.ctx.modulus(i);
                    let (w, ws) = tables.p_mod[i];
                    for (x, &v) in limb.iter_mut().zip(d.limb(i)) {
                        *x = m.add(*x, m.mul_shoup(v, w, ws));
                    }
                });
        }
        let (c0, c1) = rayon::join(
            || mod_down_rescale(&self.ctx, tables, level, &e0),
            || mod_down_rescale(&self.ctx, tables, level, &e1),
        );
        let scale = a.scale * b.scale / self.ctx.modulus(level).value() as f64;
        Ok(self.make(a, level - 1, scale, c0, c1))
    }

    /// The tensor product `(a0·b0, a0·b1 + a1·b0, a1·b1)` at `level`.
    fn tensor(&self, a: &Ciphertext, b: &Ciphertext, level: usize) -> (RnsPoly, RnsPoly, RnsPoly) {
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

    // ----- key switching and automorphisms ----------------------------------

    /// Switches `d` (level `level`, NTT, decrypting under the key's source
    /// secret) to a pair decrypting under `s`.
    fn key_switch(&self, level: usize, d: &RnsPoly, key: &PreparedKey) -> (RnsPoly, RnsPoly) {
        let tables = &self.levels[level];
        let digits = mod_up(&self.ctx, tables, level, d);
        self.finish_switch(level, &digits, key, None)
    }

    fn finish_switch(
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

    fn permutation(&self, g: u64) -> Vec<u32> {
        let mut perm = vec![0u32; self.ctx.n()];
        automorphism_ntt_permutation(self.ctx.params().log_n(), g, &mut perm);
        perm
    }

    fn permute(&self, p: &RnsPoly, perm: &[u32], limbs: usize) -> RnsPoly {
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
    fn automorphism(&self, a: &Ciphertext, g: u64, key: &PreparedKey) -> EvalResult<Ciphertext> {
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
    fn rotation_key(
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
    fn galois_key(&self, g: u64, level: usize) -> EvalResult<&PreparedKey> {
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
            return Err(EvalError::Encode(format!(
                "rotate-and-sum span {span} is not a power of two up to the slot count"
            )));
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

/// Checks a switching key's shape and expands its `a` polynomials.
fn prepare(ctx: &Context, key: &SwitchingKey, kind: KeyKind) -> EvalResult<PreparedKey> {
    if &key.digest != ctx.params().digest() {
        return Err(EvalError::ParamsMismatch);
    }
    if key.kind != kind {
        return Err(EvalError::Malformed("switching key (kind)"));
    }
    let top = ctx.params().max_level();
    if key.level > top || (key.level < top && !matches!(kind, KeyKind::Galois(_))) {
        return Err(EvalError::Malformed(
            "switching key (level: only Galois keys may serve fewer levels)",
        ));
    }
    let basis: Vec<usize> = key_basis(ctx, key.level).collect();
    if key.b.len() != key_digits(ctx, key.level)
        || key
            .b
            .iter()
            .any(|b| b.n() != ctx.n() || b.limbs() != basis.len())
    {
        return Err(EvalError::Malformed("switching key (shape)"));
    }
    for b in &key.b {
        for (limb, &i) in b.limbs_iter().zip(&basis) {
            let q = ctx.modulus(i).value();
            if limb.iter().any(|&x| x >= q) {
                return Err(EvalError::Malformed("switching key (residue out of range)"));
            }
        }
    }
    if let KeyKind::Galois(g) = kind {
        if g & 1 == 0 || g >= 2 * ctx.n() as u64 {
            return Err(EvalError::Malformed("switching key (Galois element)"));
        }
    }
    // The key switch indexes keys over every Q and P prime and digit: a key
    // for fewer levels is laid out there, zero where it has no limbs (those
    // are never read at the levels it serves).
    let dnum = ctx.q_len().div_ceil(ctx.params().digit_size());
    let full = |p: &RnsPoly| -> RnsPoly {
        let mut out = RnsPoly::zero(ctx.n(), ctx.q_len() + ctx.p_len());
        for (limb, &i) in p.limbs_iter().zip(&basis) {
            out.limb_mut(i).copy_from_slice(limb);
        }
        out
    };
    let empty = || RnsPoly::zero(ctx.n(), ctx.q_len() + ctx.p_len());
    let (b, a) = (0..dnum)
        .into_par_iter()
        .map(|j| match key.b.get(j) {
            Some(bj) => (full(bj), full(&key.expand_a(ctx, j))),
            None => (empty(), empty()),
        })
        .unzip();
    Ok(PreparedKey { b, a })
}
