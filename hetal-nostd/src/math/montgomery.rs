//! Montgomery multiplication modulo an odd `q < 2^62` with `R = 2^64`: a
//! product of an operand kept in Montgomery form (`x·R mod q`) by a plain
//! one costs one 128-bit product and one reduction, with no division.
//! Branch-free, like the rest of [`crate::math`].

/// `−q^{-1} mod 2^64` for odd `q` (Newton's iteration doubles the number of
/// correct low bits each step, from 3 for any odd `q`).
pub const fn montgomery_constant(q: u64) -> u64 {
    let mut inv = q;
    let mut i = 0;
    while i < 5 {
        inv = inv.wrapping_mul(2u64.wrapping_sub(q.wrapping_mul(inv)));
        i += 1;
    }
    inv.wrapping_neg()
}

/// `x·y·2^-64 mod q` for `x, y < q < 2^62` and `q_neg_inv` =
/// [`montgomery_constant`]`(q)`.
#[inline(always)]
pub fn montgomery_mul(x: u64, y: u64, q: u64, q_neg_inv: u64) -> u64 {
    let t = u128::from(x) * u128::from(y);
    let m = (t as u64).wrapping_mul(q_neg_inv);
    // u < 2q < 2^63: one conditional subtraction, done with a mask.
    let u = ((t + u128::from(m) * u128::from(q)) >> 64) as u64;
    let d = u.wrapping_sub(q);
    d.wrapping_add(q & 0u64.wrapping_sub(d >> 63))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math::zq::Modulus;
    use crate::math::SplitMix64;

    #[test]
    fn montgomery_products_match_barrett() {
        let mut rng = SplitMix64(7);
        for q in [
            3u64,
            65_537,
            (1 << 50) + 0x5b,
            (1 << 61) + 0x1d,
            (1 << 62) - 57,
        ] {
            let m = Modulus::new(q).unwrap();
            let qi = montgomery_constant(q);
            assert_eq!(q.wrapping_mul(qi), u64::MAX, "q·(−q⁻¹) = −1 mod 2^64");
            // 2^64 mod q, to put one operand in Montgomery form.
            let r = ((1u128 << 64) % u128::from(q)) as u64;
            for _ in 0..1000 {
                let (x, y) = (rng.next_u64() % q, rng.next_u64() % q);
                assert_eq!(montgomery_mul(m.mul(x, r), y, q, qi), m.mul(x, y));
            }
        }
    }
}
