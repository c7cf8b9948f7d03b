//! Named parameter presets: the production set at N = 2^16 and insecure test sets.
//!
//! All presets share one modulus-chain layout, from the bottom level up:
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

/// Every named preset, production first.
pub const ALL: &[ParamsLiteral<'static>] = &[
    PROD_N16,
    INSECURE_N10,
    INSECURE_N11,
    INSECURE_N12,
    INSECURE_N13,
];

/// Looks a preset up by name.
pub fn by_name(name: &str) -> Option<&'static ParamsLiteral<'static>> {
    ALL.iter().find(|p| p.name == name)
}
