//! Switching-key frames (alloc): relinearisation, Galois and sparse-to-dense
//! keys travel as
//! `(b, seed)`, the `dnum` polynomials `b_j` over the Q then P primes packed
//! into one byte string. Decoding checks the header (the level, which sets
//! the key's primes and digits), the Galois element, the exact packed length
//! and every residue, under the frame size limit.

use super::{check_limbs, parse, Bytes, Header, Kind, Limits, PackedWords, WireError};
use crate::encapsulation::BaseSwitchingKey;
use crate::evk::{KeyKind, SwitchingKey};
use crate::params::Params;
use crate::ring::sampling::Seed;
use crate::ring::RnsPoly;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

#[derive(Serialize)]
struct SwitchingKeyOut<'a> {
    header: Header,
    kind: KeyKind,
    seed: Seed,
    b: PackedWords<'a>,
}

#[derive(Deserialize)]
struct SwitchingKeyIn<'a> {
    header: Header,
    kind: KeyKind,
    seed: Seed,
    #[serde(borrow)]
    b: Bytes<'a>,
}

/// The primes of a key's packed `b` at `level`: the Q primes `0..=level`
/// then the P primes, once per digit; and the limbs per digit.
fn key_primes(params: &Params, level: usize) -> (Vec<u64>, usize) {
    let dnum = (level + 1).div_ceil(params.digit_size());
    let one: Vec<u64> = params.q()[..=level]
        .iter()
        .chain(params.p())
        .copied()
        .collect();
    let mut all = Vec::with_capacity(one.len() * dnum);
    for _ in 0..dnum {
        all.extend_from_slice(&one);
    }
    (all, one.len())
}

/// Encodes a switching key. Errors with [`WireError::WrongParams`] for a key
/// of another parameter set and [`WireError::Inconsistent`] for a key whose
/// shape does not match `params`.
pub fn encode_switching_key(key: &SwitchingKey, params: &Params) -> Result<Vec<u8>, WireError> {
    if &key.digest != params.digest() {
        return Err(WireError::WrongParams);
    }
    if key.level > params.max_level() {
        return Err(WireError::Inconsistent);
    }
    let (primes, limbs) = key_primes(params, key.level);
    let n = params.n();
    if key.b.len() * limbs != primes.len() || key.b.iter().any(|b| b.n() != n || b.limbs() != limbs)
    {
        return Err(WireError::Inconsistent);
    }
    let words: Vec<u64> = key
        .b
        .iter()
        .flat_map(|b| b.data().iter().copied())
        .collect();
    postcard::to_allocvec(&SwitchingKeyOut {
        header: Header::new(Kind::SwitchingKey, params, key.level),
        kind: key.kind,
        seed: key.seed,
        b: PackedWords {
            words: &words,
            primes: &primes,
            n,
        },
    })
    .map_err(|_| WireError::Output)
}

/// Decodes and validates a switching key against `params`.
pub fn decode_switching_key(
    bytes: &[u8],
    params: &Params,
    limits: &Limits,
) -> Result<SwitchingKey, WireError> {
    let f: SwitchingKeyIn<'_> = parse(bytes, limits)?;
    let level = f.header.check(Kind::SwitchingKey, params)?;
    let kind = match f.kind {
        KeyKind::Galois(g) if g & 1 == 0 || g == 1 || g >= 2 * params.n() as u64 => {
            return Err(WireError::Inconsistent)
        }
        kind => kind,
    };
    let (primes, limbs) = key_primes(params, level);
    let n = params.n();
    let packed = check_limbs(f.b, &primes, n)?;
    let dnum = primes.len() / limbs;
    let mut b = Vec::with_capacity(dnum);
    for j in 0..dnum {
        let mut poly = RnsPoly::zero(n, limbs);
        for i in 0..limbs {
            packed.unpack_limb(j * limbs + i, poly.limb_mut(i));
        }
        b.push(poly);
    }
    Ok(SwitchingKey {
        digest: *params.digest(),
        kind,
        level,
        seed: f.seed,
        b,
    })
}

#[derive(Serialize)]
struct BaseKeyOut<'a> {
    header: Header,
    seed: Seed,
    b: PackedWords<'a>,
}

#[derive(Deserialize)]
struct BaseKeyIn<'a> {
    header: Header,
    seed: Seed,
    #[serde(borrow)]
    b: Bytes<'a>,
}

fn base_primes(params: &Params) -> [u64; 2] {
    [params.q()[0], params.p()[0]]
}

/// Encodes bootstrapping's dense-to-sparse key (level 0: `b` over q0 and p0).
pub fn encode_base_switching_key(
    key: &BaseSwitchingKey,
    params: &Params,
) -> Result<Vec<u8>, WireError> {
    if &key.digest != params.digest() {
        return Err(WireError::WrongParams);
    }
    let n = params.n();
    if key.b.n() != n || key.b.limbs() != 2 {
        return Err(WireError::Inconsistent);
    }
    postcard::to_allocvec(&BaseKeyOut {
        header: Header::new(Kind::BaseSwitchingKey, params, 0),
        seed: key.seed,
        b: PackedWords {
            words: key.b.data(),
            primes: &base_primes(params),
            n,
        },
    })
    .map_err(|_| WireError::Output)
}

/// Decodes and validates a dense-to-sparse key against `params`.
pub fn decode_base_switching_key(
    bytes: &[u8],
    params: &Params,
    limits: &Limits,
) -> Result<BaseSwitchingKey, WireError> {
    let f: BaseKeyIn<'_> = parse(bytes, limits)?;
    if f.header.check(Kind::BaseSwitchingKey, params)? != 0 {
        return Err(WireError::Inconsistent);
    }
    let primes = base_primes(params);
    let n = params.n();
    let packed = check_limbs(f.b, &primes, n)?;
    let mut b = RnsPoly::zero(n, 2);
    for i in 0..2 {
        packed.unpack_limb(i, b.limb_mut(i));
    }
    Ok(BaseSwitchingKey {
        digest: *params.digest(),
        seed: f.seed,
        b,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evk::{relin_key, rotation_key};
    use crate::keys::SecretKey;
    use crate::params::presets::{INSECURE_N10, INSECURE_N11};
    use crate::ring::sampling::Csprng;
    use crate::ring::Context;

    #[test]
    fn switching_keys_round_trip_and_bad_frames_are_rejected() {
        let ctx = Context::new(INSECURE_N10.build().unwrap()).unwrap();
        let params = ctx.params();
        let mut rng = Csprng::from_entropy([5; 32]);
        let sk = SecretKey::generate(&ctx, &mut rng);
        let limits = Limits::default();
        for key in [
            relin_key(&ctx, &sk, &mut rng),
            rotation_key(&ctx, &sk, 3, &mut rng),
        ] {
            let bytes = encode_switching_key(&key, params).unwrap();
            assert_eq!(decode_switching_key(&bytes, params, &limits).unwrap(), key);
            // Truncated, extended, corrupted, oversized, foreign parameters.
            for cut in [0, 1, 10, bytes.len() / 2, bytes.len() - 1] {
                assert!(decode_switching_key(&bytes[..cut], params, &limits).is_err());
            }
            let mut longer = bytes.clone();
            longer.push(0);
            assert_eq!(
                decode_switching_key(&longer, params, &limits),
                Err(WireError::TrailingBytes)
            );
            let mut bad_magic = bytes.clone();
            bad_magic[0] ^= 1;
            assert_eq!(
                decode_switching_key(&bad_magic, params, &limits),
                Err(WireError::BadMagic)
            );
            let small = Limits {
                max_frame_bytes: 100,
            };
            assert!(matches!(
                decode_switching_key(&bytes, params, &small),
                Err(WireError::TooLarge { .. })
            ));
            let other = INSECURE_N11.build().unwrap();
            assert_eq!(
                decode_switching_key(&bytes, &other, &limits),
                Err(WireError::WrongParams)
            );
            assert_eq!(
                encode_switching_key(&key, &other),
                Err(WireError::WrongParams)
            );
            // A residue at or above its prime: all-ones bytes at the end.
            let mut high = bytes.clone();
            let len = high.len();
            high[len - 8..].fill(0xff);
            assert!(matches!(
                decode_switching_key(&high, params, &limits),
                Err(WireError::ValueOutOfRange { .. })
            ));
            // A shape that does not match the parameters.
            let mut short = key.clone();
            short.b.pop();
            assert_eq!(
                encode_switching_key(&short, params),
                Err(WireError::Inconsistent)
            );
        }
    }

    #[test]
    fn encapsulation_keys_travel_and_bad_frames_are_rejected() {
        let ctx = Context::new(INSECURE_N10.build().unwrap()).unwrap();
        let params = ctx.params();
        let mut rng = Csprng::from_entropy([7; 32]);
        let sk = SecretKey::generate(&ctx, &mut rng);
        let keys = crate::encapsulation::EncapsulationKeys::generate(&ctx, &sk, 32, &mut rng);
        let limits = Limits::default();
        let dense = encode_switching_key(&keys.to_dense, params).unwrap();
        assert_eq!(
            decode_switching_key(&dense, params, &limits).unwrap(),
            keys.to_dense
        );
        let bytes = encode_base_switching_key(&keys.to_sparse, params).unwrap();
        assert_eq!(
            decode_base_switching_key(&bytes, params, &limits).unwrap(),
            keys.to_sparse
        );
        for cut in [0, 1, 10, bytes.len() / 2, bytes.len() - 1] {
            assert!(decode_base_switching_key(&bytes[..cut], params, &limits).is_err());
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(
            decode_base_switching_key(&longer, params, &limits),
            Err(WireError::TrailingBytes)
        );
        // A switching-key frame is not a base-key frame, and the reverse.
        assert!(decode_base_switching_key(&dense, params, &limits).is_err());
        assert!(decode_switching_key(&bytes, params, &limits).is_err());
        let mut high = bytes.clone();
        let len = high.len();
        high[len - 8..].fill(0xff);
        assert!(matches!(
            decode_base_switching_key(&high, params, &limits),
            Err(WireError::ValueOutOfRange { .. })
        ));
        let other = INSECURE_N11.build().unwrap();
        assert_eq!(
            decode_base_switching_key(&bytes, &other, &limits),
            Err(WireError::WrongParams)
        );
    }
}
