//! The CKKS evaluator (server side): additions, plaintext and constant
//! products, ct×ct products with relinearisation, rescaling with exact scale
//! tracking, level drops, rotations and conjugation by Galois automorphisms
//! with hybrid key switching, hoisted rotations, rotate-and-sum and sums of
//! rotations with one ModDown.
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

mod arithmetic;
mod bootstrap;
mod error;
mod keyswitch;
mod lincomb;
mod products;
mod rotation;
mod rotation_sum;
mod scale;
mod tensor;
#[cfg(test)]
mod tests;

pub use error::EvalError;
pub use products::{Factor, PreparedPlaintext};
pub use rotation_sum::RotationSum;
pub use tensor::Tensor;

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use hetal_nostd::encrypt::{Ciphertext, C1};
use hetal_nostd::evk::{key_basis, key_digits, EvaluationKeys, KeyKind, SwitchingKey};
use hetal_nostd::math::galois::galois_element_for_rotation;
use hetal_nostd::ring::{Context, RnsPoly};
use keyswitch::{LevelTables, PreparedKey};
use rayon::prelude::*;

/// Two scales closer than this relative distance are treated as equal in
/// additions (the mismatch adds a relative error of at most this much).
pub const SCALE_TOLERANCE: f64 = 1e-9;

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
    /// the parameters; their `a` polynomials are expanded here). Each key is
    /// dropped once prepared, so that the seeded and the expanded key sets
    /// are never both whole in memory.
    pub fn new(ctx: Arc<Context>, keys: EvaluationKeys) -> EvalResult<Self> {
        let params = ctx.params();
        let dnum = ctx.q_len().div_ceil(params.digit_size());
        if dnum > 8 || ctx.p_len() > 8 || params.digit_size() > 8 {
            return Err(EvalError::Unsupported(
                "at most 8 digits of at most 8 primes and at most 8 special primes",
            ));
        }
        let relin = keys
            .relin
            .map(|k| prepare(&ctx, k, KeyKind::Relin))
            .transpose()?;
        let mut galois = HashMap::new();
        for k in keys.galois {
            let KeyKind::Galois(g) = k.kind else {
                return Err(EvalError::Malformed("Galois key (another kind given)"));
            };
            let (kind, level) = (k.kind, k.level);
            galois.insert(g, (prepare(&ctx, k, kind)?, level));
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
            .map(|i| hetal_nostd::math::montgomery::montgomery_constant(ctx.modulus(i).value()))
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
}

/// Checks a switching key's shape and expands its `a` polynomials.
fn prepare(ctx: &Context, key: SwitchingKey, kind: KeyKind) -> EvalResult<PreparedKey> {
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
    // Only the digits and limbs the key has are kept (a key for fewer
    // levels is smaller in memory too): `b_j` as given, `a_j` expanded.
    let mut a: Vec<RnsPoly> = (0..key.b.len())
        .into_par_iter()
        .map(|j| key.expand_a(ctx, j))
        .collect();
    let mut b = key.b;
    if let KeyKind::Galois(g) = kind {
        // Moved by σ^{-1}: slot perm[k] takes slot k (see `PreparedKey`).
        let perm = rotation::galois_permutation(ctx, g);
        b.iter_mut().chain(&mut a).for_each(|p| {
            p.data_mut().par_chunks_mut(ctx.n()).for_each(|limb| {
                let moved = limb.to_vec();
                for (&v, &to) in moved.iter().zip(&perm) {
                    limb[to as usize] = v;
                }
            })
        });
    }
    Ok(PreparedKey {
        level: key.level,
        b,
        a,
    })
}
