//! Owned encoders and decoders (alloc): ciphertexts, public keys, and the
//! reassembly of streamed limbs.

use super::{
    check_limbs, check_scale, check_slots, parse, Bytes, Header, Kind, LimbFrameView, Limits,
    PackedWords, PublicKeyFrame, WireError,
};
use crate::encrypt::{Ciphertext, C1};
use crate::keys::PublicKey;
use crate::params::Params;
use crate::ring::sampling::Seed;
use crate::ring::RnsPoly;
use alloc::vec;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

fn to_vec<T: Serialize>(value: &T) -> Vec<u8> {
    // Serializing into a Vec cannot fail for these types.
    postcard::to_allocvec(value).unwrap_or_default()
}

fn unpack_all(limbs: &crate::math::pack::PackedLimbs<'_>, n: usize) -> RnsPoly {
    let mut poly = RnsPoly::zero(n, limbs.limbs());
    for i in 0..limbs.limbs() {
        limbs.unpack_limb(i, poly.limb_mut(i));
    }
    poly
}

#[derive(Serialize)]
struct CiphertextOut<'a> {
    header: Header,
    scale: f64,
    log_slots: u8,
    seed: Option<Seed>,
    c0: PackedWords<'a>,
    c1: Option<PackedWords<'a>>,
}

#[derive(Deserialize)]
struct CiphertextIn<'a> {
    header: Header,
    scale: f64,
    log_slots: u8,
    seed: Option<Seed>,
    #[serde(borrow)]
    c0: Bytes<'a>,
    #[serde(borrow)]
    c1: Option<Bytes<'a>>,
}

/// Encodes a ciphertext (seeded c1 travels as its 32-byte seed).
pub fn encode_ciphertext(ct: &Ciphertext, params: &Params) -> Vec<u8> {
    let primes = &params.q()[..=ct.level];
    let n = params.n();
    let (seed, c1) = match &ct.c1 {
        C1::Seeded(s) => (Some(*s), None),
        C1::Full(p) => (
            None,
            Some(PackedWords {
                words: p.data(),
                primes,
                n,
            }),
        ),
    };
    to_vec(&CiphertextOut {
        header: Header::new(Kind::Ciphertext, params, ct.level),
        scale: ct.scale,
        log_slots: ct.log_slots as u8,
        seed,
        c0: PackedWords {
            words: ct.c0.data(),
            primes,
            n,
        },
        c1,
    })
}

/// Decodes and validates a ciphertext against `params`.
pub fn decode_ciphertext(
    bytes: &[u8],
    params: &Params,
    limits: &Limits,
) -> Result<Ciphertext, WireError> {
    let f: CiphertextIn<'_> = parse(bytes, limits)?;
    let level = f.header.check(Kind::Ciphertext, params)?;
    check_scale(f.scale)?;
    check_slots(f.log_slots, params)?;
    if f.seed.is_some() == f.c1.is_some() {
        return Err(WireError::Inconsistent);
    }
    let primes = &params.q()[..=level];
    let n = params.n();
    let c0 = unpack_all(&check_limbs(f.c0, primes, n)?, n);
    let c1 = match (f.seed, f.c1) {
        (Some(seed), _) => C1::Seeded(seed),
        (None, Some(bytes)) => C1::Full(unpack_all(&check_limbs(bytes, primes, n)?, n)),
        (None, None) => return Err(WireError::Inconsistent),
    };
    Ok(Ciphertext {
        digest: *params.digest(),
        level,
        scale: f.scale,
        log_slots: f.log_slots as u32,
        c0,
        c1,
    })
}

/// Encodes a public key.
pub fn encode_public_key(pk: &PublicKey, params: &Params) -> Vec<u8> {
    to_vec(&PublicKeyFrame {
        header: Header::new(Kind::PublicKey, params, pk.level),
        seed: pk.seed,
        b: PackedWords {
            words: pk.b.data(),
            primes: &params.q()[..=pk.level],
            n: params.n(),
        },
    })
}

/// Decodes and validates a public key against `params`.
pub fn decode_public_key(
    bytes: &[u8],
    params: &Params,
    limits: &Limits,
) -> Result<PublicKey, WireError> {
    let view = PublicKeyFrame::decode(bytes, params, limits)?;
    Ok(PublicKey {
        digest: *params.digest(),
        level: view.level,
        seed: view.seed,
        b: unpack_all(&view.b, params.n()),
    })
}

/// Reassembles a ciphertext from its streamed limb frames, which must
/// arrive in order (limb 0 first) and agree on every shared field.
pub struct LimbAssembler {
    n: usize,
    first: Option<(usize, u32, f64, u32, Option<Seed>)>,
    c0: RnsPoly,
    c1: RnsPoly,
    digest: crate::params::ParamsDigest,
}

impl LimbAssembler {
    /// An empty assembler for `params`.
    pub fn new(params: &Params) -> Self {
        LimbAssembler {
            n: params.n(),
            first: None,
            c0: RnsPoly::zero(params.n(), 0),
            c1: RnsPoly::zero(params.n(), 0),
            digest: *params.digest(),
        }
    }

    /// Adds the next limb; returns the ciphertext once its last limb arrived.
    pub fn push(&mut self, f: &LimbFrameView<'_>) -> Result<Option<Ciphertext>, WireError> {
        let expected_index = self.c0.limbs();
        if f.index != expected_index {
            return Err(WireError::BadLimbIndex(f.index));
        }
        let shape = (f.level, f.stream, f.scale, f.log_slots, f.seed);
        match &self.first {
            None => self.first = Some(shape),
            Some(first)
                if first.0 == shape.0
                    && first.1 == shape.1
                    && first.2.to_bits() == shape.2.to_bits()
                    && first.3 == shape.3
                    && first.4 == shape.4 => {}
            Some(_) => return Err(WireError::Inconsistent),
        }
        let mut limb = vec![0u64; self.n];
        f.c0.unpack_limb(0, &mut limb);
        self.c0.push_limb(&limb);
        if let Some(c1) = &f.c1 {
            c1.unpack_limb(0, &mut limb);
            self.c1.push_limb(&limb);
        }
        if f.index < f.level {
            return Ok(None);
        }
        let n = self.n;
        let c0 = core::mem::replace(&mut self.c0, RnsPoly::zero(n, 0));
        let c1 = core::mem::replace(&mut self.c1, RnsPoly::zero(n, 0));
        self.first = None;
        Ok(Some(Ciphertext {
            digest: self.digest,
            level: f.level,
            scale: f.scale,
            log_slots: f.log_slots,
            c0,
            c1: match f.seed {
                Some(s) => C1::Seeded(s),
                None => C1::Full(c1),
            },
        }))
    }
}
