//! Arithmetic modulo an odd modulus `3 <= q < 2^62`.
//!
//! Reductions use Barrett's method with the precomputed constant
//! `floor(2^128 / q)`; multiplications by a fixed operand use Shoup's method.
//! Everything except [`Modulus::pow`] (variable time in the exponent) and
//! [`Modulus::inv`] (variable time in its input) is free of data-dependent
//! branches: conditional corrections are done with arithmetic masks.

use super::MathError;

/// `x - q` if `x >= q`, else `x`, for `x < 2^63` and `q < 2^62` (branch-free).
#[inline(always)]
const fn csub(x: u64, q: u64) -> u64 {
    let t = x.wrapping_sub(q);
    t.wrapping_add(q & 0u64.wrapping_sub(t >> 63))
}

/// All-ones if the top bit of `x` is set, else zero.
#[inline(always)]
const fn sign_mask(x: u64) -> u64 {
    0u64.wrapping_sub(x >> 63)
}

/// An odd modulus `3 <= q < 2^62` with precomputed reduction constants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Modulus {
    /// The modulus.
    q: u64,
    /// High word of `floor(2^128 / q)`, equal to `floor(2^64 / q)`.
    ratio_hi: u64,
    /// Low word of `floor(2^128 / q)`.
    ratio_lo: u64,
    /// `2^64 mod q`.
    r64: u64,
    /// `2^128 mod q`.
    r128: u64,
}

impl Modulus {
    /// Largest supported bit length of `q`; the modulus is strictly below `2^MAX_BITS`.
    pub const MAX_BITS: u32 = 62;

    /// Validates `q` and precomputes its Barrett constants.
    ///
    /// Errors with [`MathError::ModulusOutOfRange`] if `q` is even, smaller
    /// than 3 or not below `2^62`. `q` need not be prime.
    pub fn new(q: u64) -> Result<Modulus, MathError> {
        if q < 3 || q & 1 == 0 || q >> Self::MAX_BITS != 0 {
            return Err(MathError::ModulusOutOfRange(q));
        }
        // q is odd and > 1, so it does not divide 2^128 and
        // floor((2^128 - 1) / q) == floor(2^128 / q).
        let ratio = u128::MAX / u128::from(q);
        let r64 = (u64::MAX % q + 1) % q;
        let r128 = ((u128::MAX % u128::from(q)) as u64 + 1) % q;
        Ok(Modulus {
            q,
            ratio_hi: (ratio >> 64) as u64,
            ratio_lo: ratio as u64,
            r64,
            r128,
        })
    }

    /// The modulus `q`.
    #[inline(always)]
    pub const fn value(&self) -> u64 {
        self.q
    }

    /// Bit length of `q` (for example 60 for `2^59 < q < 2^60`).
    #[inline]
    pub const fn bits(&self) -> u32 {
        u64::BITS - self.q.leading_zeros()
    }

    /// `a mod q` for any `a`.
    #[inline(always)]
    pub fn reduce(&self, a: u64) -> u64 {
        // quot >= a/q - 2, so the remainder estimate is below 3q < 2^64.
        let quot = ((u128::from(a) * u128::from(self.ratio_hi)) >> 64) as u64;
        let r = a.wrapping_sub(quot.wrapping_mul(self.q));
        csub(csub(r, self.q), self.q)
    }

    /// `a mod q` for any 128-bit `a` (Barrett reduction).
    #[inline(always)]
    pub fn reduce_u128(&self, a: u128) -> u64 {
        // quot = floor(a * floor(2^128/q) / 2^128), computed exactly; it is
        // floor(a/q) or one less, so the remainder estimate is below 2q.
        let a_lo = a as u64;
        let a_hi = (a >> 64) as u64;
        let lo_lo = (u128::from(a_lo) * u128::from(self.ratio_lo)) >> 64;
        let lo_hi = u128::from(a_lo) * u128::from(self.ratio_hi);
        let hi_lo = u128::from(a_hi) * u128::from(self.ratio_lo);
        // Middle column: at most three terms below 2^64 each, no overflow.
        let mid = lo_lo + (lo_hi & u128::from(u64::MAX)) + (hi_lo & u128::from(u64::MAX));
        let quot = u128::from(a_hi) * u128::from(self.ratio_hi)
            + (lo_hi >> 64)
            + (hi_lo >> 64)
            + (mid >> 64);
        let r = a_lo.wrapping_sub((quot as u64).wrapping_mul(self.q));
        csub(r, self.q)
    }

    /// `a mod q` in `[0, q)` for a signed `a` (branch-free).
    #[inline]
    pub fn reduce_i64(&self, a: i64) -> u64 {
        let u = a as u64;
        // For negative a, u = a + 2^64, so subtract 2^64 mod q back.
        let r = self.reduce(u);
        self.sub(r, self.r64 & sign_mask(u))
    }

    /// `a mod q` in `[0, q)` for a signed 128-bit `a` (branch-free).
    #[inline]
    pub fn reduce_i128(&self, a: i128) -> u64 {
        let u = a as u128;
        let r = self.reduce_u128(u);
        self.sub(r, self.r128 & sign_mask((u >> 64) as u64))
    }

    /// `a + b mod q` for `a, b` in `[0, q)` (branch-free).
    #[inline(always)]
    pub fn add(&self, a: u64, b: u64) -> u64 {
        csub(a + b, self.q)
    }

    /// `a - b mod q` for `a, b` in `[0, q)` (branch-free).
    #[inline(always)]
    pub fn sub(&self, a: u64, b: u64) -> u64 {
        let t = a.wrapping_sub(b);
        t.wrapping_add(self.q & sign_mask(t))
    }

    /// `-a mod q` for `a` in `[0, q)` (branch-free).
    #[inline(always)]
    pub fn neg(&self, a: u64) -> u64 {
        self.sub(0, a)
    }

    /// `a * b mod q` for `a, b` in `[0, q)` (Barrett).
    #[inline(always)]
    pub fn mul(&self, a: u64, b: u64) -> u64 {
        self.reduce_u128(u128::from(a) * u128::from(b))
    }

    /// `a * b + c mod q` for `a, b, c` in `[0, q)`.
    #[inline(always)]
    pub fn mul_add(&self, a: u64, b: u64, c: u64) -> u64 {
        self.reduce_u128(u128::from(a) * u128::from(b) + u128::from(c))
    }

    /// `a^e mod q` for `a` in `[0, q)` (square and multiply; variable time in `e`).
    pub fn pow(&self, a: u64, e: u64) -> u64 {
        let mut base = a;
        let mut e = e;
        let mut acc = 1 % self.q;
        while e != 0 {
            if e & 1 == 1 {
                acc = self.mul(acc, base);
            }
            base = self.mul(base, base);
            e >>= 1;
        }
        acc
    }

    /// The inverse of `a` modulo `q` (any `a`; it is reduced first).
    ///
    /// Uses the extended Euclidean algorithm, so `q` need not be prime; errors
    /// with [`MathError::NoInverse`] if `gcd(a, q) != 1`. Variable time.
    pub fn inv(&self, a: u64) -> Result<u64, MathError> {
        // Invariant: r0 == s0 * a (mod q) and r1 == s1 * a (mod q); |s| <= q < 2^62.
        let (mut r0, mut r1) = (self.q, self.reduce(a));
        let (mut s0, mut s1) = (0i64, 1i64);
        while r1 != 0 {
            let quot = r0 / r1;
            (r0, r1) = (r1, r0 - quot * r1);
            // quot * s1 stays within the Bezout bounds, below q in magnitude.
            (s0, s1) = (s1, s0 - (quot as i64) * s1);
        }
        if r0 != 1 {
            return Err(MathError::NoInverse);
        }
        Ok(self.reduce_i64(s0))
    }

    /// Shoup's constant `floor(w * 2^64 / q)` for `w` in `[0, q)`.
    #[inline]
    pub fn shoup(&self, w: u64) -> u64 {
        // With R = floor(2^128 / q), s = floor(w·R / 2^64) is floor(w·2^64 / q)
        // or one less (w·(2^128/q − R) < 2^62 / 2^64 < 1); the remainder
        // w·2^64 − s·q, which fits in 64 bits, tells which. No 128-bit
        // division: that is a slow software routine on 32-bit cores.
        let s = w
            .wrapping_mul(self.ratio_hi)
            .wrapping_add(((u128::from(w) * u128::from(self.ratio_lo)) >> 64) as u64);
        let rem = 0u64.wrapping_sub(s.wrapping_mul(self.q));
        s + u64::from(rem >= self.q)
    }

    /// `a * w mod q` in `[0, q)` for any `a`, `w` in `[0, q)` and `w_shoup = self.shoup(w)`.
    #[inline(always)]
    pub fn mul_shoup(&self, a: u64, w: u64, w_shoup: u64) -> u64 {
        csub(self.mul_shoup_lazy(a, w, w_shoup), self.q)
    }

    /// `a * w mod q` up to one multiple of `q`, in `[0, 2q)`, for any `a`,
    /// `w` in `[0, q)` and `w_shoup = self.shoup(w)`.
    #[inline(always)]
    pub fn mul_shoup_lazy(&self, a: u64, w: u64, w_shoup: u64) -> u64 {
        let quot = ((u128::from(a) * u128::from(w_shoup)) >> 64) as u64;
        a.wrapping_mul(w).wrapping_sub(quot.wrapping_mul(self.q))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math::SplitMix64;

    /// Moduli covering tiny, composite, mid-size and near-2^62 values.
    const MODULI: [u64; 10] = [
        3,
        5,
        97,
        65_537,
        1_073_479_681,             // prime ~2^30
        3 * 5 * 7 * 11 * 13,       // composite
        1_125_899_906_826_241,     // prime ~2^50
        1_152_921_504_606_584_833, // prime ~2^60
        4_611_686_018_427_387_847, // prime, largest below 2^62
        (1u64 << 62) - 1,          // composite, maximal
    ];

    fn rq(x: u128, q: u64) -> u64 {
        (x % u128::from(q)) as u64
    }

    fn gcd(mut a: u64, mut b: u64) -> u64 {
        while b != 0 {
            (a, b) = (b, a % b);
        }
        a
    }

    #[test]
    fn constructor_validates() {
        for bad in [0, 1, 2, 4, 1 << 40, 1u64 << 62, (1u64 << 62) + 1, u64::MAX] {
            assert_eq!(Modulus::new(bad), Err(MathError::ModulusOutOfRange(bad)));
        }
        let m = Modulus::new(3).unwrap();
        assert_eq!((m.value(), m.bits()), (3, 2));
        let m = Modulus::new((1 << 62) - 1).unwrap();
        assert_eq!(m.bits(), 62);
        assert_eq!(Modulus::new(1_073_479_681).unwrap().bits(), 30);
    }

    #[test]
    fn ops_match_u128_reference() {
        let mut rng = SplitMix64(1);
        for &q in &MODULI {
            let m = Modulus::new(q).unwrap();
            let edges = [0, 1, q - 1, q - 2, q / 2, q / 2 + 1];
            for i in 0..20_000 {
                let (a, b, c) = if i < 36 {
                    (edges[i % 6], edges[i / 6], edges[(i + 3) % 6])
                } else {
                    (rng.below(q), rng.below(q), rng.below(q))
                };
                let (a, b, c) = (a % q, b % q, c % q);
                let (wa, wb) = (u128::from(a), u128::from(b));
                assert_eq!(m.add(a, b), rq(wa + wb, q));
                assert_eq!(m.sub(a, b), rq(wa + u128::from(q) - wb, q));
                assert_eq!(m.neg(a), rq(u128::from(q) - wa, q));
                assert_eq!(m.mul(a, b), rq(wa * wb, q));
                assert_eq!(m.mul_add(a, b, c), rq(wa * wb + u128::from(c), q));
                let x = rng.next_u64();
                assert_eq!(m.reduce(x), x % q);
                let y = (u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64());
                assert_eq!(m.reduce_u128(y), rq(y, q));
            }
            for x in [
                0,
                1,
                q - 1,
                q,
                q + 1,
                2 * q,
                3 * q - 1,
                u64::MAX,
                u64::MAX - 1,
            ] {
                assert_eq!(m.reduce(x), x % q);
            }
            for y in [
                0,
                u128::MAX,
                u128::MAX - 1,
                u128::from(u64::MAX),
                1u128 << 127,
            ] {
                assert_eq!(m.reduce_u128(y), rq(y, q));
            }
        }
    }

    #[test]
    fn signed_reductions() {
        let mut rng = SplitMix64(2);
        for &q in &MODULI {
            let m = Modulus::new(q).unwrap();
            let qi = i128::from(q);
            let check64 = |v: i64| {
                let expect = i128::from(v).rem_euclid(qi) as u64;
                assert_eq!(m.reduce_i64(v), expect, "q={q} v={v}");
            };
            let check128 = |v: i128| {
                // Reference via the magnitude, avoiding i128 overflow at MIN.
                let mag = rq(v.unsigned_abs(), q);
                let expect = if v < 0 { (q - mag) % q } else { mag };
                assert_eq!(m.reduce_i128(v), expect, "q={q} v={v}");
            };
            let qs = q as i64;
            for v in [
                i64::MIN,
                i64::MIN + 1,
                i64::MAX,
                -1,
                0,
                1,
                -qs,
                qs,
                -qs - 1,
                1 - qs,
            ] {
                check64(v);
                check128(i128::from(v));
            }
            for v in [i128::MIN, i128::MIN + 1, i128::MAX, -qi * qi, qi * qi - 1] {
                check128(v);
            }
            for _ in 0..5_000 {
                check64(rng.next_u64() as i64);
                check64((rng.next_u64() % 1000) as i64 - 500);
                check128(((u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64())) as i128);
                check128(i128::from(rng.next_u64() as i64));
            }
        }
    }

    #[test]
    fn pow_and_inverse() {
        let mut rng = SplitMix64(3);
        for &q in &MODULI {
            let m = Modulus::new(q).unwrap();
            for _ in 0..2_000 {
                let a = rng.below(q);
                let e = rng.below(200);
                let mut expect = 1 % u128::from(q);
                for _ in 0..e {
                    expect = expect * u128::from(a) % u128::from(q);
                }
                assert_eq!(u128::from(m.pow(a, e)), expect);
                let x = rng.next_u64();
                match m.inv(x) {
                    Ok(i) => {
                        assert!(i < q);
                        assert_eq!(rq(u128::from(i) * u128::from(x % q), q), 1);
                    }
                    Err(e) => {
                        assert_eq!(e, MathError::NoInverse);
                        assert_ne!(gcd(x % q, q), 1);
                    }
                }
            }
            assert_eq!(m.inv(0), Err(MathError::NoInverse));
            assert_eq!(m.inv(q), Err(MathError::NoInverse));
            assert_eq!(m.inv(1), Ok(1));
            assert_eq!(m.inv(q - 1), Ok(q - 1));
        }
        let m = Modulus::new(15).unwrap();
        assert_eq!(m.inv(6), Err(MathError::NoInverse));
        assert_eq!(m.inv(7), Ok(13));
        // Fermat: a^(q-1) = 1 for a prime q.
        let m = Modulus::new(4_611_686_018_427_387_847).unwrap();
        assert_eq!(m.pow(123_456_789, m.value() - 1), 1);
    }

    #[test]
    fn shoup_is_exact() {
        let mut rng = SplitMix64(4);
        for &q in &MODULI {
            let m = Modulus::new(q).unwrap();
            for i in 0..20_000 {
                let w = match i {
                    0 => q - 1,
                    1 => 0,
                    2 => 1,
                    _ => rng.below(q),
                };
                let ws = m.shoup(w);
                assert_eq!(u128::from(ws), (u128::from(w) << 64) / u128::from(q));
                let a = match i % 4 {
                    0 => u64::MAX - (i as u64),
                    1 => rng.below(q),
                    _ => rng.next_u64(),
                };
                let exact = rq(u128::from(a) * u128::from(w), q);
                let lazy = m.mul_shoup_lazy(a, w, ws);
                assert!(lazy < 2 * q);
                assert_eq!(lazy % q, exact);
                assert_eq!(m.mul_shoup(a, w, ws), exact);
            }
        }
    }
}
