//! Decryption and decoding (key owner; alloc).

use crate::encoding::{decode_into, Complex};
use crate::encrypt::Ciphertext;
use crate::keys::SecretKey;
use crate::ring::crt::CrtLift;
use crate::ring::Context;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;
use zeroize::Zeroize;

/// Why decryption was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecryptError {
    /// The ciphertext or key belongs to another parameter set.
    WrongParams,
    /// The ciphertext's shape does not match its level or the ring.
    Malformed,
}

impl fmt::Display for DecryptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WrongParams => write!(f, "ciphertext and key belong to different parameter sets"),
            Self::Malformed => write!(f, "ciphertext shape does not match its level"),
        }
    }
}

impl core::error::Error for DecryptError {}

/// Decrypts to the centred polynomial coefficients divided by the scale.
/// The arithmetic is the same whatever the values (no data-dependent branch).
pub fn decrypt_coeffs(
    ctx: &Context,
    sk: &SecretKey,
    ct: &Ciphertext,
) -> Result<Vec<f64>, DecryptError> {
    let params = ctx.params();
    if &ct.digest != params.digest() || sk.digest() != params.digest() {
        return Err(DecryptError::WrongParams);
    }
    let n = params.n();
    if ct.level > params.max_level() || ct.c0.n() != n || ct.c0.limbs() != ct.level + 1 {
        return Err(DecryptError::Malformed);
    }
    if let crate::encrypt::C1::Full(c1) = &ct.c1 {
        if c1.n() != n || c1.limbs() != ct.level + 1 {
            return Err(DecryptError::Malformed);
        }
    }
    let mut m = ct.c1_poly(ctx);
    for i in 0..=ct.level {
        let q = ctx.modulus(i);
        let s = sk.ntt().limb(i);
        let c0 = ct.c0.limb(i);
        for ((x, &si), &c) in m.limb_mut(i).iter_mut().zip(s).zip(c0) {
            *x = q.mul_add(*x, si, c);
        }
    }
    ctx.from_ntt(&mut m, ctx.basis(ct.level, false));
    let moduli: Vec<_> = (0..=ct.level).map(|i| *ctx.modulus(i)).collect();
    let lift = CrtLift::new(&moduli);
    let mut residues = vec![0u64; ct.level + 1];
    let mut digits = vec![0u64; ct.level + 1];
    let inv_scale = 1.0 / ct.scale;
    let out = (0..n)
        .map(|j| {
            for (i, r) in residues.iter_mut().enumerate() {
                *r = m.limb(i)[j];
            }
            lift.lift(&residues, &mut digits) * inv_scale
        })
        .collect();
    m.zeroize();
    residues.zeroize();
    digits.zeroize();
    Ok(out)
}

/// Decrypts and decodes all slots of `ct`.
pub fn decrypt(
    ctx: &Context,
    sk: &SecretKey,
    ct: &Ciphertext,
) -> Result<Vec<Complex>, DecryptError> {
    let coeffs = decrypt_coeffs(ctx, sk, ct)?;
    let slots = 1usize << ct.log_slots;
    if slots > ctx.n() / 2 {
        return Err(DecryptError::Malformed);
    }
    let mut out = vec![Complex::default(); slots];
    decode_into(&coeffs, &mut out);
    Ok(out)
}
