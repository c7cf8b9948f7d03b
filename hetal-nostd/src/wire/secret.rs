//! The secret-key frame (the key owner's own file; never sent), and a peek
//! at a frame's type tag.

use super::{parse, Bytes, Header, Kind, Limits, WireError};
use crate::keys::SecretKey;
use crate::params::Params;
use crate::ring::Context;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

#[derive(Serialize)]
struct SecretOut<'a> {
    header: Header,
    coeffs: &'a [u8],
}

#[derive(Deserialize)]
struct SecretIn<'a> {
    header: Header,
    #[serde(borrow)]
    coeffs: Bytes<'a>,
}

/// Encodes the secret key: one byte per coefficient, `s_i + 1` in {0, 1, 2}.
/// The caller must wipe the returned bytes after use.
pub fn encode_secret_key(sk: &SecretKey, params: &Params) -> Result<Vec<u8>, WireError> {
    if sk.digest() != params.digest() {
        return Err(WireError::WrongParams);
    }
    let mut coeffs: Vec<u8> = sk.coeffs().iter().map(|&c| (c + 1) as u8).collect();
    let out = postcard::to_allocvec(&SecretOut {
        header: Header::new(Kind::SecretKey, params, params.max_level()),
        coeffs: &coeffs,
    })
    .map_err(|_| WireError::Output);
    coeffs.zeroize();
    out
}

/// Decodes a secret key for `ctx`'s parameters. The range check does not
/// branch on individual coefficients.
pub fn decode_secret_key(
    bytes: &[u8],
    ctx: &Context,
    limits: &Limits,
) -> Result<SecretKey, WireError> {
    let params = ctx.params();
    let f: SecretIn<'_> = parse(bytes, limits)?;
    f.header.check(Kind::SecretKey, params)?;
    let raw = f.coeffs.0;
    if raw.len() != params.n() {
        return Err(WireError::LengthMismatch {
            expected: params.n(),
            got: raw.len(),
        });
    }
    let bad = raw.iter().fold(0u8, |acc, &b| acc | u8::from(b > 2));
    if bad != 0 {
        return Err(WireError::Inconsistent);
    }
    let coeffs: Vec<i8> = raw.iter().map(|&b| b as i8 - 1).collect();
    Ok(SecretKey::from_coeffs(ctx, coeffs))
}

/// The type tag of a frame, after checking its magic and version (the rest
/// is checked by the decoder of that type).
pub fn frame_kind(bytes: &[u8]) -> Result<u8, WireError> {
    let (header, _): (Header, _) =
        postcard::take_from_bytes(bytes).map_err(|_| WireError::Malformed)?;
    if header.magic != super::MAGIC {
        return Err(WireError::BadMagic);
    }
    if header.version != super::VERSION {
        return Err(WireError::UnsupportedVersion(header.version));
    }
    Ok(header.kind)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::presets::{INSECURE_N10, INSECURE_N11};
    use crate::ring::sampling::Csprng;

    #[test]
    fn secret_keys_round_trip_and_bad_frames_are_rejected() {
        let ctx = Context::new(INSECURE_N10.build().unwrap()).unwrap();
        let sk = SecretKey::generate(&ctx, &mut Csprng::from_entropy([1; 32]));
        let limits = Limits::default();
        let bytes = encode_secret_key(&sk, ctx.params()).unwrap();
        assert_eq!(frame_kind(&bytes), Ok(Kind::SecretKey as u8));
        let back = decode_secret_key(&bytes, &ctx, &limits).unwrap();
        assert_eq!(back.coeffs(), sk.coeffs());
        for cut in [0, 5, bytes.len() - 1] {
            assert!(decode_secret_key(&bytes[..cut], &ctx, &limits).is_err());
        }
        let mut bad = bytes.clone();
        let last = bad.len() - 1;
        bad[last] = 3;
        assert_eq!(
            decode_secret_key(&bad, &ctx, &limits).err(),
            Some(WireError::Inconsistent)
        );
        let other = Context::new(INSECURE_N11.build().unwrap()).unwrap();
        assert!(decode_secret_key(&bytes, &other, &limits).is_err());
        assert!(frame_kind(b"nope").is_err());
    }
}
