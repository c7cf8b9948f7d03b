//! Exact centred CRT lift of RNS residues to real numbers (Garner's
//! mixed-radix conversion), branch-free in the values.

use crate::math::zq::Modulus;
use alloc::vec::Vec;

/// Precomputed constants to lift residues modulo q_0 … q_{L-1} to the
/// centred representative in (−Q/2, Q/2] and convert it to `f64`.
pub struct CrtLift {
    moduli: Vec<Modulus>,
    /// prefix[i][k] = q_0 ⋯ q_{k-1} mod q_i for k < i (row i has i entries).
    prefix: Vec<Vec<u64>>,
    /// inv[i] = (q_0 ⋯ q_{i-1})^{-1} mod q_i.
    inv: Vec<u64>,
}

impl CrtLift {
    /// Constants for the given primes (pairwise coprime, as in any parameter set).
    pub fn new(moduli: &[Modulus]) -> Self {
        let mut prefix = Vec::with_capacity(moduli.len());
        let mut inv = Vec::with_capacity(moduli.len());
        for (i, qi) in moduli.iter().enumerate() {
            let mut row = Vec::with_capacity(i);
            let mut acc = 1u64;
            for qk in &moduli[..i] {
                row.push(acc);
                acc = qi.mul(acc, qi.reduce(qk.value()));
            }
            inv.push(qi.inv(acc).unwrap_or(0));
            prefix.push(row);
        }
        CrtLift {
            moduli: moduli.to_vec(),
            prefix,
            inv,
        }
    }

    /// Number of primes.
    pub fn len(&self) -> usize {
        self.moduli.len()
    }

    /// True when built over no primes.
    pub fn is_empty(&self) -> bool {
        self.moduli.is_empty()
    }

    /// The centred value of the residues `r` (one per prime), as `f64`.
    ///
    /// Mixed-radix digits v_i come from Garner's recurrence; the value is
    /// above (Q−1)/2 exactly when its digits are lexicographically above the
    /// digits (q_i − 1)/2 of (Q−1)/2; then Q − x is formed digit-wise. The
    /// comparison and the selection use masks, not branches.
    pub fn lift(&self, r: &[u64], digits: &mut [u64]) -> f64 {
        let rows = self.moduli.iter().zip(&self.prefix).zip(&self.inv).zip(r);
        for (i, (((q, prefix), &inv), &ri)) in rows.enumerate() {
            let (done, rest) = digits.split_at_mut(i);
            let mut s = 0u64;
            for (&pk, &d) in prefix.iter().zip(done.iter()) {
                s = q.mul_add(q.reduce(d), pk, s);
            }
            rest[0] = q.mul(q.sub(ri, s), inv);
        }
        // greater = x > (Q-1)/2, decided at the most significant differing digit.
        let mut greater = 0u64;
        let mut decided = 0u64;
        for (q, &d) in self.moduli.iter().zip(digits.iter()).rev() {
            let h = (q.value() - 1) / 2;
            let gt = u64::from(d > h);
            let ne = u64::from(d != h);
            greater |= gt & !decided & 1;
            decided |= ne;
        }
        let neg_mask = 0u64.wrapping_sub(greater);
        // Q - x = (Q - 1 - x) + 1, digit-wise with a carry.
        let mut carry = 1u64;
        for (d, q) in digits.iter_mut().zip(&self.moduli) {
            let qv = q.value();
            let t = qv - 1 - *d + carry;
            let wrap = u64::from(t == qv);
            let y = t - (qv & 0u64.wrapping_sub(wrap));
            carry = wrap;
            *d = (y & neg_mask) | (*d & !neg_mask);
        }
        let mut value = 0.0f64;
        for (q, &d) in self.moduli.iter().zip(digits.iter()).rev() {
            value = value * q.value() as f64 + d as f64;
        }
        let sign = 1.0 - 2.0 * greater as f64;
        value * sign
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moduli() -> Vec<Modulus> {
        // Small odd primes keep the reference arithmetic in i128.
        [1_000_003u64, 998_244_353, 1_000_000_007]
            .iter()
            .map(|&q| Modulus::new(q).unwrap())
            .collect()
    }

    #[test]
    fn lift_matches_i128_reference() {
        let m = moduli();
        let big_q: i128 = m.iter().map(|q| q.value() as i128).product();
        let lift = CrtLift::new(&m);
        let mut digits = [0u64; 3];
        let mut x: i128 = -big_q / 2;
        let step = big_q / 997;
        while x <= big_q / 2 {
            for delta in [-1i128, 0, 1] {
                let v = x + delta;
                if v < -big_q / 2 || v > big_q / 2 {
                    continue;
                }
                let r: Vec<u64> = m
                    .iter()
                    .map(|q| v.rem_euclid(q.value() as i128) as u64)
                    .collect();
                let got = lift.lift(&r, &mut digits);
                let rel = ((got - v as f64) / (v as f64).abs().max(1.0)).abs();
                assert!(rel < 1e-15, "x = {v}: got {got}");
            }
            x += step;
        }
        for v in [0i128, 1, -1, big_q / 2, -(big_q / 2)] {
            let r: Vec<u64> = m
                .iter()
                .map(|q| v.rem_euclid(q.value() as i128) as u64)
                .collect();
            assert_eq!(lift.lift(&r, &mut digits), v as f64);
        }
    }
}
