//! Owned ciphertexts and one-call encryption (alloc).

use super::{
    EncryptError, EncryptScratch, EncryptionKey, LimbSource, NttSource, PublicKeyView,
    StreamEncryptor,
};
use crate::encoding::{log_slots_for, Complex};
use crate::keys::{PublicKey, SecretKey};
use crate::math::MathError;
use crate::params::ParamsDigest;
use crate::ring::sampling::{expand_uniform, Csprng, Seed};
use crate::ring::{Context, RnsPoly};
use alloc::vec;

impl NttSource for &Context {
    fn forward(&mut self, prime_index: usize, a: &mut [u64]) -> Result<(), MathError> {
        self.table(prime_index).forward(a);
        Ok(())
    }
}

/// The second component of a ciphertext.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum C1 {
    /// Uniform, expanded from a seed (fresh secret-key ciphertexts).
    Seeded(Seed),
    /// Explicit limbs, NTT domain.
    Full(RnsPoly),
}

/// A CKKS ciphertext (c0, c1) at `level` (limbs 0..=level, NTT domain),
/// encrypting slots·scale; decryption is c0 + c1·s.
#[derive(Clone, Debug, PartialEq)]
pub struct Ciphertext {
    /// Digest of the parameter set.
    pub digest: ParamsDigest,
    /// Level: the ciphertext has level + 1 limbs.
    pub level: usize,
    /// The exact scale of the encrypted values.
    pub scale: f64,
    /// log2 of the number of slots.
    pub log_slots: u32,
    /// c0, limbs 0..=level.
    pub c0: RnsPoly,
    /// c1, explicit or seeded.
    pub c1: C1,
}

impl Ciphertext {
    /// c1 as explicit limbs (expanding a seed if needed).
    pub fn c1_poly(&self, ctx: &Context) -> RnsPoly {
        match &self.c1 {
            C1::Full(p) => p.clone(),
            C1::Seeded(seed) => {
                let mut p = RnsPoly::zero(ctx.n(), self.level + 1);
                for i in 0..=self.level {
                    expand_uniform(seed, i as u64, ctx.modulus(i), p.limb_mut(i));
                }
                p
            }
        }
    }
}

/// The key for [`encrypt`].
#[derive(Clone, Copy)]
pub enum Key<'a> {
    /// Encrypt with the public key.
    Public(&'a PublicKey),
    /// Encrypt with the secret key (c1 travels as a seed).
    Secret(&'a SecretKey),
}

impl<'a> From<&'a PublicKey> for Key<'a> {
    fn from(pk: &'a PublicKey) -> Self {
        Key::Public(pk)
    }
}

impl<'a> From<&'a SecretKey> for Key<'a> {
    fn from(sk: &'a SecretKey) -> Self {
        Key::Secret(sk)
    }
}

/// Encrypts `values` into `slots` slots at `level` with the default scale.
/// Runs the streaming encryptor, so the result is byte-identical to the
/// streamed limbs for the same generator state.
pub fn encrypt<'k>(
    ctx: &Context,
    key: impl Into<Key<'k>>,
    values: &[Complex],
    slots: usize,
    level: usize,
    rng: &mut Csprng,
) -> Result<Ciphertext, EncryptError> {
    let params = ctx.params();
    log_slots_for(slots, params.log_n())?;
    let n = params.n();
    let mut packed = vec![Complex::default(); slots];
    let mut small = vec![0i8; EncryptScratch::small_len(params.log_n())];
    let mut work = vec![0u64; EncryptScratch::work_words(params.log_n())];
    let key = key.into();
    let enc_key = match key {
        Key::Public(pk) => EncryptionKey::Public(PublicKeyView {
            digest: &pk.digest,
            seed: &pk.seed,
            b: LimbSource::Words(pk.b.data()),
        }),
        Key::Secret(sk) => EncryptionKey::Secret {
            digest: sk.digest(),
            coeffs: sk.coeffs(),
        },
    };
    let scratch = EncryptScratch {
        packed: &mut packed,
        small: &mut small,
        work: &mut work,
    };
    let mut stream = StreamEncryptor::new(
        params,
        enc_key,
        values,
        level,
        params.scale(),
        ctx,
        scratch,
        rng,
    )?;
    let mut c0 = RnsPoly::zero(n, 0);
    let mut c1_limbs = RnsPoly::zero(n, 0);
    let (scale, log_slots) = (stream.scale(), stream.log_slots());
    let seed = stream.c1_seed().copied();
    while let Some(limb) = stream.next_limb() {
        let limb = limb?;
        c0.push_limb(limb.c0);
        if let Some(c1) = limb.c1 {
            c1_limbs.push_limb(c1);
        }
    }
    Ok(Ciphertext {
        digest: *params.digest(),
        level,
        scale,
        log_slots,
        c0,
        c1: match seed {
            Some(s) => C1::Seeded(s),
            None => C1::Full(c1_limbs),
        },
    })
}
