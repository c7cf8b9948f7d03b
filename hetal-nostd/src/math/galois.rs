//! Galois automorphisms `σ_g: X -> X^g` of `Z_q[X]/(X^N + 1)` for odd `g`.
//!
//! In CKKS, `σ_{5^k}` rotates the slots by `k` and `σ_{2N-1}` conjugates them.
//! The automorphisms depend only on the public `g`, so the data-dependent
//! memory access patterns here reveal nothing secret.

use super::{ntt::bit_reverse, zq::Modulus};

/// `log_n` capped so that `2N = 2^(log_n+1)` fits comfortably in a `u64`.
fn two_n(log_n: u32) -> u64 {
    2u64 << log_n.min(62)
}

/// Applies `σ_g` to the coefficients `a` (length `N`, a power of two, entries
/// in `[0, q)`): writes `out[i·g mod 2N] = a[i]`, where an index `j >= N`
/// means `out[j - N] = -a[i]` since `X^N = -1`.
///
/// `g` must be odd (it is used modulo `2N`); `out` must have the length of `a`
/// and cannot alias it. Extra entries of the longer slice are ignored.
pub fn automorphism_coeff(a: &[u64], g: u64, q: &Modulus, out: &mut [u64]) {
    let n = a.len().min(out.len());
    debug_assert!(n.is_power_of_two() && a.len() == out.len() && g & 1 == 1);
    let mask = (2 * n as u64).wrapping_sub(1);
    let g = g & mask;
    let mut idx = 0u64;
    for &c in a.iter().take(n) {
        // idx = i·g mod 2N.
        let j = idx as usize;
        if j < n {
            out[j] = c;
        } else if let Some(o) = out.get_mut(j - n) {
            *o = q.neg(c);
        }
        idx = (idx + g) & mask;
    }
}

/// Fills `perm` (length `N = 2^log_n`) with the permutation of the NTT slots
/// realised by `σ_g`: for every polynomial `a` and every `j`,
/// `forward(σ_g(a))[j] == forward(a)[perm[j]]`, for the bit-reversed layout
/// of [`super::ntt::NttTable`].
///
/// Slot `j` evaluates at `ψ^(2·bitrev(j)+1)`, and `σ_g(a)(ζ) = a(ζ^g)`, so
/// `perm[j] = bitrev(((2·bitrev(j)+1)·g mod 2N - 1) / 2)`. `g` must be odd;
/// entries of `perm` beyond `N` are left untouched.
pub fn automorphism_ntt_permutation(log_n: u32, g: u64, perm: &mut [u32]) {
    debug_assert_eq!(perm.len(), 1usize << log_n.min(usize::BITS - 1));
    debug_assert_eq!(g & 1, 1);
    let mask = two_n(log_n) - 1;
    let g = g & mask;
    for (j, p) in perm.iter_mut().enumerate().take(1usize << log_n.min(31)) {
        let e = (2 * bit_reverse(j, log_n) as u64 + 1).wrapping_mul(g) & mask;
        *p = bit_reverse((e >> 1) as usize, log_n) as u32;
    }
}

/// The Galois element `5^k mod 2N` rotating the slots by `k` (`N = 2^log_n`).
///
/// Negative `k` rotates the other way (the inverse element). `5` has order
/// `N/2` modulo `2N`, so `k` is taken modulo `N/2`. `log_n` is capped at 62.
pub fn galois_element_for_rotation(log_n: u32, k: i64) -> u64 {
    let two_n = two_n(log_n);
    let mask = two_n - 1;
    let order = (two_n / 4).max(1);
    // rem_euclid by a positive i128 never fails.
    let mut e = i128::from(k).rem_euclid(i128::from(order)) as u64;
    let mut base = 5 & mask;
    let mut acc = 1 & mask;
    while e != 0 {
        if e & 1 == 1 {
            acc = acc.wrapping_mul(base) & mask;
        }
        base = base.wrapping_mul(base) & mask;
        e >>= 1;
    }
    acc
}

/// The Galois element `2N - 1` (that is `-1 mod 2N`) of complex conjugation
/// of the slots, `N = 2^log_n` (`log_n` capped at 62).
pub const fn galois_element_conjugate(log_n: u32) -> u64 {
    let l = if log_n > 62 { 62 } else { log_n };
    (2u64 << l) - 1
}

#[cfg(all(test, feature = "alloc"))]
mod tests {
    use super::*;
    use crate::math::{ntt::NttTable, primes, SplitMix64};
    use alloc::vec;
    use alloc::vec::Vec;

    /// Reference σ_g: expand a(X^g) term by term with X^N = -1, via i128 sums.
    fn reference_automorphism(a: &[u64], g: u64, q: u64) -> Vec<u64> {
        let n = a.len() as u128;
        let mut out = vec![0i128; a.len()];
        for (i, &c) in a.iter().enumerate() {
            let e = (i as u128 * u128::from(g)) % (2 * n);
            // X^e = (-1)^(e / N) X^(e mod N).
            let sign = if e >= n { -1 } else { 1 };
            out[(e % n) as usize] += sign * i128::from(c);
        }
        out.into_iter()
            .map(|x| x.rem_euclid(i128::from(q)) as u64)
            .collect()
    }

    fn elements(log_n: u32) -> Vec<u64> {
        let mut g = vec![
            galois_element_conjugate(log_n),
            1,
            3,
            2 * (1u64 << log_n) + 5,
        ];
        for k in [1i64, 2, 3, 7, -1, -5, 100, -(1 << 20)] {
            g.push(galois_element_for_rotation(log_n, k));
        }
        g
    }

    #[test]
    fn rotation_elements() {
        // 5^k mod 2N by repeated multiplication.
        for log_n in [1u32, 2, 3, 10, 16] {
            let two_n = 2u64 << log_n;
            let mut p = 1;
            for k in 0..200i64 {
                assert_eq!(
                    galois_element_for_rotation(log_n, k),
                    p,
                    "log_n={log_n} k={k}"
                );
                // 5^{-k} * 5^k = 1.
                let inv = galois_element_for_rotation(log_n, -k);
                assert_eq!(inv * p % two_n, 1);
                p = p * 5 % two_n;
            }
            let half = 1i64 << (log_n - 1);
            assert_eq!(
                galois_element_for_rotation(log_n, half + 3),
                galois_element_for_rotation(log_n, 3)
            );
            assert_eq!(galois_element_for_rotation(log_n, i64::MIN) % 2, 1);
            assert_eq!(galois_element_conjugate(log_n), two_n - 1);
        }
        assert_eq!(galois_element_for_rotation(10, 1), 5);
        assert_eq!(galois_element_for_rotation(10, -1), 1229); // 5 * 1229 = 6145 = 3*2048 + 1
    }

    #[test]
    fn coefficient_map_matches_reference() {
        let mut rng = SplitMix64(10);
        for log_n in [1u32, 3, 6, 10] {
            let q = Modulus::new(primes::primes_near(40, log_n.max(10)).next().unwrap()).unwrap();
            let n = 1usize << log_n;
            let a: Vec<u64> = (0..n).map(|_| rng.below(q.value())).collect();
            for g in elements(log_n) {
                let mut out = vec![0u64; n];
                automorphism_coeff(&a, g, &q, &mut out);
                assert_eq!(out, reference_automorphism(&a, g, q.value()), "g={g}");
            }
        }
    }

    #[test]
    fn ntt_permutation_matches_coefficient_map() {
        let mut rng = SplitMix64(11);
        for (log_n, bits) in [(3u32, 30u32), (10, 50), (12, 61)] {
            let q = Modulus::new(primes::primes_near(bits, log_n.max(10)).next().unwrap()).unwrap();
            let t = NttTable::new(q, log_n).unwrap();
            let n = t.n();
            let a: Vec<u64> = (0..n).map(|_| rng.below(q.value())).collect();
            let mut fa = a.clone();
            t.forward(&mut fa);
            for g in elements(log_n) {
                let mut perm = vec![0u32; n];
                automorphism_ntt_permutation(log_n, g, &mut perm);
                // It is a permutation.
                let mut seen = vec![false; n];
                for &p in &perm {
                    assert!(!seen[p as usize]);
                    seen[p as usize] = true;
                }
                let mut sa = vec![0u64; n];
                automorphism_coeff(&a, g, &q, &mut sa);
                t.forward(&mut sa);
                let permuted: Vec<u64> = perm.iter().map(|&p| fa[p as usize]).collect();
                assert_eq!(sa, permuted, "log_n={log_n} g={g}");
            }
        }
    }

    #[test]
    fn composition() {
        let mut rng = SplitMix64(12);
        let log_n = 10;
        let n = 1usize << log_n;
        let two_n = 2u64 << log_n;
        let q = Modulus::new(primes::primes_near(50, log_n).next().unwrap()).unwrap();
        let a: Vec<u64> = (0..n).map(|_| rng.below(q.value())).collect();
        let gs = elements(log_n);
        for &g1 in &gs {
            for &g2 in &gs {
                let g12 = g1 * g2 % two_n;
                // Coefficients: σ_{g2}(σ_{g1}(a)) = σ_{g1 g2}(a).
                let (mut s1, mut s12, mut direct) = (vec![0; n], vec![0; n], vec![0; n]);
                automorphism_coeff(&a, g1, &q, &mut s1);
                automorphism_coeff(&s1, g2, &q, &mut s12);
                automorphism_coeff(&a, g12, &q, &mut direct);
                assert_eq!(s12, direct, "g1={g1} g2={g2}");
                // Slots: applying perm_{g1} then perm_{g2} equals perm_{g1 g2}.
                let (mut p1, mut p2, mut p12) = (vec![0u32; n], vec![0u32; n], vec![0u32; n]);
                automorphism_ntt_permutation(log_n, g1, &mut p1);
                automorphism_ntt_permutation(log_n, g2, &mut p2);
                automorphism_ntt_permutation(log_n, g12, &mut p12);
                // forward(σ_{g2} σ_{g1} a)[j] = forward(σ_{g1} a)[p2[j]] = forward(a)[p1[p2[j]]].
                for j in 0..n {
                    assert_eq!(p1[p2[j] as usize], p12[j]);
                }
            }
        }
        // Rotation elements compose additively.
        assert_eq!(
            galois_element_for_rotation(log_n, 3) * galois_element_for_rotation(log_n, 4) % two_n,
            galois_element_for_rotation(log_n, 7)
        );
    }
}
