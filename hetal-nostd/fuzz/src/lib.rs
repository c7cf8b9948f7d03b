//! Shared setup of the fuzz targets: the parameter sets the decoders are
//! checked against, built once per process, and the properties every
//! decoder must hold on arbitrary bytes.

use hetal_nostd::params::presets::INSECURE_N10;
use hetal_nostd::params::{LevelRole, Params, ParamsLiteral, SecretDist, Security, Segment};
use hetal_nostd::ring::Context;
use hetal_nostd::wire::{Limits, WireError};
use std::sync::LazyLock;

pub mod limbs;

/// A deliberately tiny, INSECURE chain at the smallest ring degree
/// (N = 2^10): three Q primes and one P prime of 20 to 28 bits, so that
/// complete, valid frames of every kind fit in a few kilobytes and the
/// committed seed corpus can hold them whole.
pub const FUZZ_TINY: ParamsLiteral<'static> = ParamsLiteral {
    name: "INSECURE-fuzz-tiny",
    log_n: 10,
    q: &[
        Segment::new(LevelRole::Base, 1, 24),
        Segment::new(LevelRole::User, 2, 20),
    ],
    p_bits: &[28],
    dnum: 3,
    secret: SecretDist::UniformTernary,
    log_scale: 16,
    security: Security::InsecureTestOnly,
};

/// Context of [`FUZZ_TINY`] (the seeds' parameter set).
pub static TINY: LazyLock<Context> =
    LazyLock::new(|| Context::new(FUZZ_TINY.build().expect("tiny preset")).expect("tiny context"));

/// Context of the smallest named preset, [`INSECURE_N10`].
pub static N10: LazyLock<Context> =
    LazyLock::new(|| Context::new(INSECURE_N10.build().expect("n10 preset")).expect("n10 context"));

/// The parameter sets every target decodes its input against.
pub fn param_sets() -> [&'static Params; 2] {
    [TINY.params(), N10.params()]
}

/// Decodes `bytes` with the default limits, and checks the size limit:
/// under a limit one byte below the input's length the decoder must
/// answer [`WireError::TooLarge`] and nothing else.
pub fn decode_with_limits<'a, T>(
    bytes: &'a [u8],
    decode: impl Fn(&'a [u8], &Limits) -> Result<T, WireError>,
) -> Result<T, WireError> {
    if let Some(limit) = bytes.len().checked_sub(1) {
        let tight = Limits {
            max_frame_bytes: limit,
        };
        match decode(bytes, &tight) {
            Err(WireError::TooLarge { len, limit: l }) => {
                assert_eq!((len, l), (bytes.len(), limit));
            }
            other => panic!(
                "a frame over the limit was not rejected as too large: {:?}",
                other.err()
            ),
        }
    }
    decode(bytes, &Limits::default())
}
