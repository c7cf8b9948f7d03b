//! Named parameter presets: two production sets at N = 2^16 and insecure
//! test sets with the same chain layouts at smaller N.
//!
//! `prod-n16` and the `INSECURE-n10` … `INSECURE-n13` sets share one
//! modulus-chain layout, from the bottom level up:
//!
//! | levels | role | primes | bits each |
//! |---|---|---|---|
//! | 0 | base prime q0 (final precision, ModRaise base) | 1 | 48 |
//! | 1 ..= 9 | the user's computation, scale 2^40 | 9 | 40 |
//! | 10 ..= 12 | SlotsToCoeffs | 3 | 42 |
//! | 13 ..= 22 | EvalMod (cosine + double angle) | 10 | 60 |
//! | 23 ..= 26 | CoeffsToSlots | 4 | 56 |
//! | special | key-switching modulus P | 6 | 61 |
//!
//! log2 Q = 48 + 360 + 126 + 600 + 224 = 1358 bits and log2 P = 366 bits, so
//! log2 QP is about 1724 bits, below the 1747-bit limit for 128-bit security
//! at N = 2^16. With dnum = 5 the 27 Q primes form digits of at most 6 primes
//! (at most 356 bits), each smaller than P. A fresh ciphertext for training
//! data lives at level 9, the top user level ([`Params::user_top_level`]);
//! after bootstrapping a ciphertext is back at level 9 with 9 usable levels.
//! EvalMod has 10 levels: a degree-40 cosine (7 levels) and 3 double-angle
//! steps. q0/Δ = 2^8 balances the two limits of bootstrapping precision:
//! the noise of CoeffsToSlots, multiplied by q0/Δ on the way out, and the
//! curvature of the sine, whose relative error on a message coefficient c
//! is about (2π·c·Δ/q0)²/6 (coefficients are about |m|/sqrt(n) for n slots
//! of spread-out values; a vector concentrated on few coefficients, such as
//! a constant, loses more). Measured at N = 2^14: q0 of 44, 48 and 52 bits
//! give 16.9, 22.7 and 19.2 bits in the worst slot.
//!
//! `prod-n16-train` and its twins `INSECURE-n10-train` and
//! `INSECURE-n12-train` trade bits per user level for levels: training
//! pays for bootstrapping per level left. From the bottom level up:
//!
//! | levels | role | primes | bits each |
//! |---|---|---|---|
//! | 0 | base prime q0 | 1 | 44 |
//! | 1 ..= 15 | the user's computation, scale 2^36 | 15 | 36 |
//! | 16 ..= 18 | SlotsToCoeffs | 3 | 42 |
//! | 19 ..= 26 | EvalMod (degree-55 cosine + 2 double angles) | 8 | 58 |
//! | 27 ..= 30 | CoeffsToSlots | 4 | 56 |
//! | special | key-switching modulus P | 6 | 58 |
//!
//! log2 Q = 44 + 540 + 126 + 464 + 224 = 1398 bits and log2 P = 348 bits:
//! log2 QP is about 1746 bits, below the 1747-bit limit. With dnum = 6 the
//! 31 Q primes form digits of at most 6 primes (at most 342 bits), each
//! smaller than P. q0/Δ stays 2^8, so the bootstrap range is that of
//! `prod-n16`. EvalMod saves two levels against `prod-n16` with one double
//! angle fewer (a degree-55 cosine still fits in 7 levels) and no spare
//! level; its primes stay near 58 bits because its precision falls fast
//! with them (measured at N = 2^14: 52-bit primes lose 4.7 bits).
//! CoeffsToSlots keeps 4 levels and SlotsToCoeffs 3: at N = 2^14, 3 and 2
//! levels cost 35 % and 60 % more time in those stages.
//!
//! [`Params::user_top_level`]: super::Params::user_top_level

use super::{LevelRole, ParamsLiteral, SecretDist, Security, Segment};

/// The chain layout shared by every preset (see the module documentation).
pub const BOOTSTRAPPABLE_CHAIN: &[Segment] = &[
    Segment::new(LevelRole::Base, 1, 48),
    Segment::new(LevelRole::User, 9, 40),
    Segment::new(LevelRole::SlotsToCoeffs, 3, 42),
    Segment::new(LevelRole::EvalMod, 10, 60),
    Segment::new(LevelRole::CoeffsToSlots, 4, 56),
];

/// Bit sizes of the special primes P shared by every preset.
pub const BOOTSTRAPPABLE_P_BITS: &[u32] = &[61; 6];

/// The chain layout of the training presets (see the module documentation).
pub const TRAINING_CHAIN: &[Segment] = &[
    Segment::new(LevelRole::Base, 1, 44),
    Segment::new(LevelRole::User, 15, 36),
    Segment::new(LevelRole::SlotsToCoeffs, 3, 42),
    Segment::new(LevelRole::EvalMod, 8, 58),
    Segment::new(LevelRole::CoeffsToSlots, 4, 56),
];

/// Bit sizes of the special primes P of the training presets.
pub const TRAINING_P_BITS: &[u32] = &[58; 6];

const fn training(name: &'static str, log_n: u32, security: Security) -> ParamsLiteral<'static> {
    ParamsLiteral {
        name,
        log_n,
        q: TRAINING_CHAIN,
        p_bits: TRAINING_P_BITS,
        dnum: 6,
        secret: SecretDist::UniformTernary,
        log_scale: 36,
        security,
    }
}

const fn bootstrappable(
    name: &'static str,
    log_n: u32,
    security: Security,
) -> ParamsLiteral<'static> {
    ParamsLiteral {
        name,
        log_n,
        q: BOOTSTRAPPABLE_CHAIN,
        p_bits: BOOTSTRAPPABLE_P_BITS,
        dnum: 5,
        secret: SecretDist::UniformTernary,
        log_scale: 40,
        security,
    }
}

/// The production set: N = 2^16 (2^15 slots), 128-bit secure, designed for bootstrapping.
pub const PROD_N16: ParamsLiteral<'static> = bootstrappable("prod-n16", 16, Security::Bits128);

/// The training set: N = 2^16, 128-bit secure, 15 user levels of 36 bits
/// after each bootstrap (see the module documentation).
pub const PROD_N16_TRAIN: ParamsLiteral<'static> =
    training("prod-n16-train", 16, Security::Bits128);

/// INSECURE test set at N = 2^10 with the production chain layout.
pub const INSECURE_N10: ParamsLiteral<'static> =
    bootstrappable("INSECURE-n10", 10, Security::InsecureTestOnly);
/// INSECURE test set at N = 2^11 with the production chain layout.
pub const INSECURE_N11: ParamsLiteral<'static> =
    bootstrappable("INSECURE-n11", 11, Security::InsecureTestOnly);
/// INSECURE test set at N = 2^12 with the production chain layout.
pub const INSECURE_N12: ParamsLiteral<'static> =
    bootstrappable("INSECURE-n12", 12, Security::InsecureTestOnly);
/// INSECURE test set at N = 2^13 with the production chain layout.
pub const INSECURE_N13: ParamsLiteral<'static> =
    bootstrappable("INSECURE-n13", 13, Security::InsecureTestOnly);
/// INSECURE test set at N = 2^10 with the training chain layout.
pub const INSECURE_N10_TRAIN: ParamsLiteral<'static> =
    training("INSECURE-n10-train", 10, Security::InsecureTestOnly);
/// INSECURE test set at N = 2^12 with the training chain layout.
pub const INSECURE_N12_TRAIN: ParamsLiteral<'static> =
    training("INSECURE-n12-train", 12, Security::InsecureTestOnly);

/// Every named preset, production first.
pub const ALL: &[ParamsLiteral<'static>] = &[
    PROD_N16,
    PROD_N16_TRAIN,
    INSECURE_N10,
    INSECURE_N11,
    INSECURE_N12,
    INSECURE_N13,
    INSECURE_N10_TRAIN,
    INSECURE_N12_TRAIN,
];

/// Looks a preset up by name.
pub fn by_name(name: &str) -> Option<&'static ParamsLiteral<'static>> {
    ALL.iter().find(|p| p.name == name)
}
