//! Deterministic primality testing and the search for NTT-friendly primes.
//!
//! All functions use integer arithmetic only, so they give identical results
//! on every platform (32-bit microcontrollers included).

/// The first twelve primes: trial divisors and Miller–Rabin bases. Testing
/// these bases is deterministic for every `n < 3.3 * 10^24`, so for all `u64`.
const SMALL_PRIMES: [u64; 12] = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37];

/// `a * b mod n` for `a, b < n`.
#[inline]
fn mul_mod(a: u64, b: u64, n: u64) -> u64 {
    ((u128::from(a) * u128::from(b)) % u128::from(n)) as u64
}

/// `a^e mod n` for `a < n`.
fn pow_mod(a: u64, mut e: u64, n: u64) -> u64 {
    let mut base = a;
    let mut acc = 1 % n;
    while e != 0 {
        if e & 1 == 1 {
            acc = mul_mod(acc, base, n);
        }
        base = mul_mod(base, base, n);
        e >>= 1;
    }
    acc
}

/// Whether `n` is prime: trial division by the primes up to 37, then a
/// Miller–Rabin test with the bases 2, 3, ..., 37, deterministic for all `u64`.
pub fn is_prime(n: u64) -> bool {
    if n < 2 {
        return false;
    }
    for &p in &SMALL_PRIMES {
        if n.is_multiple_of(p) {
            return n == p;
        }
    }
    // n is odd, coprime to every base and larger than 37.
    let s = (n - 1).trailing_zeros();
    let d = (n - 1) >> s;
    'bases: for &a in &SMALL_PRIMES {
        let mut x = pow_mod(a, d, n);
        if x == 1 || x == n - 1 {
            continue;
        }
        for _ in 1..s {
            x = mul_mod(x, x, n);
            if x == n - 1 {
                continue 'bases;
            }
        }
        return false;
    }
    true
}

/// `2N = 2^(log_n + 1)` if it is below `2^62`.
fn two_n(log_n: u32) -> Option<u64> {
    if log_n >= 61 {
        None
    } else {
        Some(1u64 << (log_n + 1))
    }
}

/// Whether `q` is a prime below `2^62` with `q ≡ 1 (mod 2N)`, `N = 2^log_n`,
/// so that `Z_q` holds a primitive `2N`-th root of unity.
pub fn is_ntt_friendly(q: u64, log_n: u32) -> bool {
    match two_n(log_n) {
        Some(m) => q >> 62 == 0 && q % m == 1 && is_prime(q),
        None => false,
    }
}

/// NTT-friendly primes `q ≡ 1 (mod 2^(log_n+1))` in `(2N, 2^62)`, ordered by
/// increasing distance `|q - 2^bits|`; on a tie the smaller prime comes first.
///
/// The sequence is finite (it ends when both directions leave the range)
/// and is empty if `bits >= 128` or `log_n >= 61`. Intended for `bits` from
/// about 20 to 61 and `log_n` in `10..=17`.
pub fn primes_near(bits: u32, log_n: u32) -> PrimesNear {
    let (Some(step), true) = (two_n(log_n), bits < 128) else {
        return PrimesNear {
            center: 0,
            below: None,
            above: None,
            step: 0,
        };
    };
    let center = 1u128 << bits;
    let step128 = u128::from(step);
    // Largest candidate <= center, capped to the largest candidate below 2^62,
    // and smallest candidate > center.
    let at_or_below = (center - 1) / step128 * step128 + 1;
    let below = at_or_below.min(((1u128 << 62) - 2) / step128 * step128 + 1);
    let above = at_or_below + step128;
    PrimesNear {
        center,
        below: (below > step128).then_some(below as u64),
        above: (above >> 62 == 0).then_some(above as u64),
        step,
    }
}

/// Iterator returned by [`primes_near`].
#[derive(Clone, Debug)]
pub struct PrimesNear {
    /// The target `2^bits`.
    center: u128,
    /// Next untested candidate at or below the center, if any.
    below: Option<u64>,
    /// Next untested candidate above the center, if any.
    above: Option<u64>,
    /// `2N`, the candidate spacing.
    step: u64,
}

impl PrimesNear {
    /// Takes the nearer untested candidate (the lower one on a tie) and
    /// advances that side.
    fn next_candidate(&mut self) -> Option<u64> {
        let take_below = match (self.below, self.above) {
            (None, None) => return None,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(b), Some(a)) => {
                // Candidates exceeding the center lie above it, so distances are exact.
                let db = self.center.abs_diff(u128::from(b));
                let da = self.center.abs_diff(u128::from(a));
                db <= da
            }
        };
        if take_below {
            let b = self.below?;
            // Candidates must stay above 2N.
            self.below = b.checked_sub(self.step).filter(|&c| c > self.step);
            Some(b)
        } else {
            let a = self.above?;
            self.above = a.checked_add(self.step).filter(|&c| c >> 62 == 0);
            Some(a)
        }
    }
}

impl Iterator for PrimesNear {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        while let Some(c) = self.next_candidate() {
            if is_prime(c) {
                return Some(c);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math::SplitMix64;

    fn trial_division(n: u64) -> bool {
        if n < 2 {
            return false;
        }
        let mut d = 2;
        while d * d <= n {
            if n.is_multiple_of(d) {
                return false;
            }
            d += 1;
        }
        true
    }

    #[test]
    fn agrees_with_trial_division() {
        for n in 0..100_000 {
            assert_eq!(is_prime(n), trial_division(n), "n = {n}");
        }
        let mut rng = SplitMix64(5);
        for _ in 0..2_000 {
            let n = rng.below(1 << 34);
            assert_eq!(is_prime(n), trial_division(n), "n = {n}");
        }
    }

    #[test]
    fn known_primes_and_pseudoprimes() {
        let primes = [
            4_294_967_291,              // largest prime below 2^32
            18_446_744_073_709_551_557, // largest prime below 2^64
            4_611_686_018_427_387_847,  // largest prime below 2^62
            1_152_921_504_606_584_833,  // NTT friendly, ~2^60
            2_305_843_009_213_693_951,  // Mersenne prime 2^61 - 1
            998_244_353,
        ];
        for p in primes {
            assert!(is_prime(p), "{p}");
        }
        let composites = [
            561,
            1105,
            41041,
            825_265,                       // Carmichael numbers
            2047,                          // strong pseudoprime to base 2
            1_373_653,                     // strong pseudoprime to bases 2, 3
            25_326_001,                    // bases 2, 3, 5
            3_215_031_751,                 // bases 2, 3, 5, 7
            2_152_302_898_747,             // bases 2..11
            3_474_749_660_383,             // bases 2..13
            341_550_071_728_321,           // bases 2..17
            3_825_123_056_546_413_051,     // bases 2..23
            18_446_744_073_709_551_615,    // 2^64 - 1
            4_294_967_297,                 // Fermat F5 = 641 * 6700417
            4_294_967_291 * 4_294_967_279, // product of two large primes
            1_000_000_007 * 998_244_353,
        ];
        for c in composites {
            assert!(!is_prime(c), "{c}");
        }
    }

    #[test]
    fn ntt_friendliness() {
        assert!(is_ntt_friendly(1_152_921_504_606_584_833, 16));
        assert!(is_ntt_friendly(998_244_353, 16)); // 119 * 2^23 + 1
        assert!(is_ntt_friendly(998_244_353, 22));
        assert!(!is_ntt_friendly(998_244_353, 23));
        assert!(!is_ntt_friendly(4_611_686_018_427_387_847, 1));
        assert!(!is_ntt_friendly(2_305_843_009_213_693_951, 1)); // 2^61 - 1 ≡ 3 mod 4
        assert!(!is_ntt_friendly(12289 * 3, 10)); // composite
        assert!(is_ntt_friendly(12289, 11)); // 3 * 2^12 + 1
        assert!(!is_ntt_friendly(12289, 12));
        assert!(!is_ntt_friendly(12289, 61));
        assert!(!is_ntt_friendly(12289, u32::MAX));
        // 2^62 + 1 + k*2^32 style values above the range are rejected.
        assert!(!is_ntt_friendly((1 << 62) + 1, 10));
    }

    #[test]
    fn primes_near_is_ordered_and_friendly() {
        for (bits, log_n) in [
            (20, 10),
            (30, 12),
            (45, 15),
            (50, 16),
            (55, 17),
            (60, 16),
            (61, 17),
        ] {
            let center = 1u128 << bits;
            let primes: [u64; 12] = core::array::from_fn({
                let mut it = primes_near(bits, log_n);
                move |_| it.next().unwrap()
            });
            let mut last: Option<(u128, u64)> = None;
            for &p in &primes {
                assert!(is_ntt_friendly(p, log_n), "{p}");
                assert!(p > 1 << (log_n + 1));
                let key = (center.abs_diff(u128::from(p)), p);
                if let Some(prev) = last {
                    assert!(prev < key, "not strictly ordered: {prev:?} then {key:?}");
                }
                last = Some(key);
            }
            // Completeness: no friendly prime is skipped closer than the last one.
            let (max_dist, _) = last.unwrap();
            let step = 1u128 << (log_n + 1);
            let mut c = (center - 1) / step * step + 1;
            let mut found = 0;
            while center - c <= max_dist {
                found += usize::from(is_prime(c as u64));
                c -= step;
            }
            let mut c = (center - 1) / step * step + 1 + step;
            while c - center <= max_dist {
                found += usize::from(is_prime(c as u64));
                c += step;
            }
            assert_eq!(found, primes.len(), "bits {bits} log_n {log_n}");
        }
    }

    #[test]
    fn primes_near_known_values() {
        // Computed independently (Python, pow-based Miller-Rabin, sorted by distance).
        let cases: [(u32, u32, [u64; 8]); 3] = [
            (
                60,
                16,
                [
                    1_152_921_504_606_584_833,
                    1_152_921_504_614_055_937,
                    1_152_921_504_598_720_513,
                    1_152_921_504_615_628_801,
                    1_152_921_504_597_016_577,
                    1_152_921_504_616_808_449,
                    1_152_921_504_595_968_001,
                    1_152_921_504_618_381_313,
                ],
            ),
            (
                50,
                15,
                [
                    1_125_899_908_022_273,
                    1_125_899_908_612_097,
                    1_125_899_904_679_937,
                    1_125_899_909_398_529,
                    1_125_899_903_827_969,
                    1_125_899_903_500_289,
                    1_125_899_910_316_033,
                    1_125_899_903_107_073,
                ],
            ),
            (
                30,
                10,
                [
                    1_073_750_017,
                    1_073_754_113,
                    1_073_707_009,
                    1_073_698_817,
                    1_073_692_673,
                    1_073_682_433,
                    1_073_668_097,
                    1_073_815_553,
                ],
            ),
        ];
        for (bits, log_n, expect) in cases {
            let mut it = primes_near(bits, log_n);
            for e in expect {
                assert_eq!(it.next(), Some(e), "bits {bits} log_n {log_n}");
            }
        }
    }

    #[test]
    fn primes_near_edges() {
        // Near the top of the range only candidates below 2^62 appear.
        let mut it = primes_near(62, 16);
        let first = it.next().unwrap();
        assert!(first < 1 << 62 && is_ntt_friendly(first, 16));
        assert!(it.take(20).all(|p| p < first));
        // Small targets stop above 2N.
        let all: [Option<u64>; 4] = core::array::from_fn({
            let mut it = primes_near(5, 2);
            move |_| it.next()
        });
        // Friendly primes for 2N = 8 near 32: 41, 17, then 73, 89, ... (ties: none).
        assert_eq!(all, [Some(41), Some(17), Some(73), Some(89)]);
        let mut it = primes_near(3, 2);
        assert_eq!(
            (it.next(), it.next(), it.next()),
            (Some(17), Some(41), Some(73))
        );
        assert_eq!(primes_near(130, 16).next(), None);
        assert_eq!(primes_near(40, 61).next(), None);
    }
}
