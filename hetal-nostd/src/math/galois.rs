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
