//! The negacyclic number-theoretic transform over `Z_q[X]/(X^N + 1)`, `N = 2^log_n`.
//!
//! The forward transform is a Cooley–Tukey network and the inverse a
//! Gentleman–Sande network, both driven by bit-reversed powers of a primitive
//! `2N`-th root of unity `ψ` with their Shoup constants. Butterflies are
//! Harvey's lazy ones: values stay in `[0, 4q)` (forward) or `[0, 2q)`
//! (inverse) inside the transform and are fully reduced at the end, which
//! requires `q < 2^62`. The butterflies contain no data-dependent branches.

use super::{primes, zq::Modulus, MathError};

/// Smallest supported `log_n`.
pub const MIN_LOG_N: u32 = 1;
/// Largest supported `log_n` (`N = 2^17`).
pub const MAX_LOG_N: u32 = 17;

/// `x mod 2^bits` reversed in its low `bits` bits; 0 if `bits == 0`.
#[inline]
pub fn bit_reverse(x: usize, bits: u32) -> usize {
    if bits == 0 {
        0
    } else {
        x.reverse_bits() >> (usize::BITS - bits.min(usize::BITS))
    }
}

/// `x - m` if `x >= m`, else `x`, for `x < 2m` and `m < 2^63` (branch-free).
///
/// Written with a sign mask rather than `min` so that LLVM keeps the
/// butterfly loops scalar: vectorising them with SSE2 would emulate the
/// 64-bit multiplications and run much slower.
#[inline(always)]
fn fold(x: u64, m: u64) -> u64 {
    let t = x.wrapping_sub(m);
    t.wrapping_add(m & 0u64.wrapping_sub(t >> 63))
}

/// Precomputed tables for the negacyclic NTT modulo one NTT-friendly prime.
///
/// `S` is the storage of the twiddle factors: any `AsRef<[u64]>` of
/// [`NttTable::storage_words`] words (a `Vec<u64>`, a `&mut [u64]` or a
/// fixed array), so tables can be built without an allocator.
#[derive(Clone, Debug)]
pub struct NttTable<S> {
    /// `[ψ_rev | ψ_rev Shoup | ψ^{-1}_rev | ψ^{-1}_rev Shoup]`, `N` words each,
    /// where `ψ_rev[i] = ψ^bitrev(i)`.
    storage: S,
    /// The prime modulus.
    q: Modulus,
    /// `log2(N)`.
    log_n: u32,
    /// The primitive `2N`-th root of unity.
    psi: u64,
    /// `N^{-1} mod q` and its Shoup constant.
    n_inv: (u64, u64),
    /// `ψ^{-bitrev(1)} * N^{-1} mod q` and its Shoup constant (last inverse stage).
    last_inv: (u64, u64),
}

impl<S: AsRef<[u64]> + AsMut<[u64]>> NttTable<S> {
    /// Number of `u64` words of storage [`NttTable::new_in`] needs: `4N`
    /// (forward twiddles and their Shoup constants, inverse twiddles and
    /// theirs). Returns 0 for an unsupported `log_n`.
    pub const fn storage_words(log_n: u32) -> usize {
        if log_n < MIN_LOG_N || log_n > MAX_LOG_N {
            0
        } else {
            4 << log_n
        }
    }

    /// Builds the table for `q` and `N = 2^log_n` in caller-provided storage
    /// of exactly [`NttTable::storage_words`]`(log_n)` words.
    ///
    /// Errors: [`MathError::UnsupportedDegree`] unless `1 <= log_n <= 17`,
    /// [`MathError::BufferSize`] for a storage of the wrong length and
    /// [`MathError::NotNttFriendly`] unless `q` is a prime `≡ 1 (mod 2N)`.
    pub fn new_in(mut storage: S, q: Modulus, log_n: u32) -> Result<Self, MathError> {
        if !(MIN_LOG_N..=MAX_LOG_N).contains(&log_n) {
            return Err(MathError::UnsupportedDegree(log_n));
        }
        let expected = Self::storage_words(log_n);
        let got = storage.as_mut().len();
        if got != expected {
            return Err(MathError::BufferSize { expected, got });
        }
        let not_friendly = MathError::NotNttFriendly {
            q: q.value(),
            log_n,
        };
        if !primes::is_ntt_friendly(q.value(), log_n) {
            return Err(not_friendly);
        }
        let n = 1usize << log_n;
        let psi = smallest_primitive_root(&q, log_n).ok_or(not_friendly)?;
        let psi_inv = q.inv(psi)?;
        let (tw, rest) = storage.as_mut().split_at_mut(n);
        let (tw_shoup, rest) = rest.split_at_mut(n);
        let (itw, itw_shoup) = rest.split_at_mut(n);
        let (mut pow, mut ipow) = (1u64, 1u64);
        for k in 0..n {
            let r = bit_reverse(k, log_n);
            tw[r] = pow;
            tw_shoup[r] = q.shoup(pow);
            itw[r] = ipow;
            itw_shoup[r] = q.shoup(ipow);
            pow = q.mul(pow, psi);
            ipow = q.mul(ipow, psi_inv);
        }
        // n < q, so N is invertible modulo the prime q.
        let n_inv = q.inv(n as u64)?;
        let last = q.mul(itw[1], n_inv);
        Ok(NttTable {
            storage,
            q,
            log_n,
            psi,
            n_inv: (n_inv, q.shoup(n_inv)),
            last_inv: (last, q.shoup(last)),
        })
    }
}

/// The smallest primitive `2N`-th root of unity modulo the prime `q ≡ 1 (mod 2N)`.
///
/// Finds one root `c = x^((q-1)/2N)` with `c^N = -1` for the smallest
/// suitable `x >= 2`, then minimises over all primitive roots, which are the
/// odd powers of `c`; the result does not depend on which `c` was found.
fn smallest_primitive_root(q: &Modulus, log_n: u32) -> Option<u64> {
    let p = q.value();
    let two_n = 2u64 << log_n;
    let c = (2..p)
        .map(|x| q.pow(x, (p - 1) / two_n))
        .find(|&c| q.pow(c, two_n / 2) == p - 1)?;
    let c2 = q.mul(c, c);
    let mut cur = c;
    let mut best = c;
    for _ in 0..two_n / 2 {
        best = best.min(cur);
        cur = q.mul(cur, c2);
    }
    Some(best)
}

impl<S: AsRef<[u64]>> NttTable<S> {
    /// Gives the storage back (to rebuild a table for another prime in it).
    pub fn into_storage(self) -> S {
        self.storage
    }

    /// The modulus `q`.
    pub fn modulus(&self) -> &Modulus {
        &self.q
    }

    /// `log2(N)`.
    pub fn log_n(&self) -> u32 {
        self.log_n
    }

    /// The ring degree `N`.
    pub fn n(&self) -> usize {
        1 << self.log_n
    }

    /// `ψ`, the primitive `2N`-th root of unity modulo `q` used by this table:
    /// the numerically smallest one (deterministic for given `q` and `N`).
    pub fn psi(&self) -> u64 {
        self.psi
    }

    /// The four twiddle arrays (forward, forward Shoup, inverse, inverse Shoup).
    fn twiddles(&self) -> [&[u64]; 4] {
        let n = self.n();
        let s = self.storage.as_ref();
        let part = |i: usize| s.get(i * n..(i + 1) * n).unwrap_or(&[]);
        [part(0), part(1), part(2), part(3)]
    }

    /// Forward negacyclic NTT in place.
    ///
    /// `a` must have length `N` with entries in `[0, q)`. On return it holds,
    /// in bit-reversed order, `a[j] = Σ_i a_i ψ^((2·bitrev(j, log_n) + 1)·i) mod q`,
    /// each in `[0, q)`.
    pub fn forward(&self, a: &mut [u64]) {
        debug_assert_eq!(a.len(), self.n());
        let [tw, tw_shoup, _, _] = self.twiddles();
        let q = &self.q;
        let n = self.n();
        let block = n.min(BLOCK_WORDS);
        let (mut m, mut t) = (1, n >> 1);
        // Early stages span more than one cache block: run them over the whole array.
        while 2 * t > block {
            forward_stage(q, a, t, part(tw, m, m), part(tw_shoup, m, m));
            m <<= 1;
            t >>= 1;
        }
        // Later stages stay within one block: finish each block before the next.
        for (ci, chunk) in a.chunks_exact_mut(block).enumerate() {
            let (mut m, mut t) = (m, t);
            while t > 1 {
                let (off, cnt) = (m + ci * (block / (2 * t)), block / (2 * t));
                forward_stage(q, chunk, t, part(tw, off, cnt), part(tw_shoup, off, cnt));
                m <<= 1;
                t >>= 1;
            }
            let (off, cnt) = (m + ci * (block / 2), block / 2);
            forward_last_stage(q, chunk, part(tw, off, cnt), part(tw_shoup, off, cnt));
        }
    }

    /// Inverse of [`NttTable::forward`] in place, including the scaling by `N^{-1}`.
    ///
    /// `a` must have length `N` with entries in `[0, 2q)` (bit-reversed
    /// evaluations as produced by `forward`); the output coefficients are in `[0, q)`.
    pub fn inverse(&self, a: &mut [u64]) {
        debug_assert_eq!(a.len(), self.n());
        let [_, _, itw, itw_shoup] = self.twiddles();
        let q = &self.q;
        let n = self.n();
        let block = n.min(BLOCK_WORDS);
        // Early stages stay within one cache block: run them block by block.
        for (ci, chunk) in a.chunks_exact_mut(block).enumerate() {
            let (mut m, mut t) = (n >> 1, 1);
            while m > 1 && 2 * t <= block {
                let (off, cnt) = (m + ci * (block / (2 * t)), block / (2 * t));
                inverse_stage(q, chunk, t, part(itw, off, cnt), part(itw_shoup, off, cnt));
                m >>= 1;
                t <<= 1;
            }
        }
        let (mut m, mut t) = (n >> 1, 1);
        while m > 1 && 2 * t <= block {
            m >>= 1;
            t <<= 1;
        }
        // Later stages span several blocks: run them over the whole array.
        while m > 1 {
            inverse_stage(q, a, t, part(itw, m, m), part(itw_shoup, m, m));
            m >>= 1;
            t <<= 1;
        }
        // Last stage (one block of 2t = N) merged with the scaling by N^{-1}.
        let two_q = 2 * q.value();
        let (x, y) = a.split_at_mut(a.len() / 2);
        let (ni, ni_shoup) = self.n_inv;
        let (w, ws) = self.last_inv;
        for (x, y) in x.iter_mut().zip(y.iter_mut()) {
            let (u, v) = (*x, *y);
            *x = q.mul_shoup(u + v, ni, ni_shoup);
            *y = q.mul_shoup(u + two_q - v, w, ws);
        }
    }
}

/// Cache block, in words, below which the transforms work depth-first (16 KiB).
const BLOCK_WORDS: usize = 1 << 11;

/// `s[off..off + len]`, or an empty slice if out of range.
#[inline(always)]
fn part(s: &[u64], off: usize, len: usize) -> &[u64] {
    s.get(off..off + len).unwrap_or(&[])
}

/// One lazy Cooley–Tukey stage on blocks of `2t` words, the `k`-th block using
/// twiddle `w[k]`: inputs and outputs in `[0, 4q)`.
#[inline(always)]
fn forward_stage(q: &Modulus, a: &mut [u64], t: usize, w: &[u64], ws: &[u64]) {
    let two_q = 2 * q.value();
    for ((block, &w), &ws) in a.chunks_exact_mut(2 * t).zip(w).zip(ws) {
        let (x, y) = block.split_at_mut(t);
        for (x, y) in x.iter_mut().zip(y.iter_mut()) {
            let u = fold(*x, two_q);
            let v = q.mul_shoup_lazy(*y, w, ws);
            *x = u + v;
            *y = u + two_q - v;
        }
    }
}

/// The final Cooley–Tukey stage (`t = 1`), reducing the outputs to `[0, q)`.
#[inline(always)]
fn forward_last_stage(q: &Modulus, a: &mut [u64], w: &[u64], ws: &[u64]) {
    let (qv, two_q) = (q.value(), 2 * q.value());
    for ((pair, &w), &ws) in a.chunks_exact_mut(2).zip(w).zip(ws) {
        let u = fold(pair[0], two_q);
        let v = q.mul_shoup_lazy(pair[1], w, ws);
        pair[0] = fold(fold(u + v, two_q), qv);
        pair[1] = fold(fold(u + two_q - v, two_q), qv);
    }
}

/// One lazy Gentleman–Sande stage on blocks of `2t` words, the `k`-th block
/// using twiddle `w[k]`: inputs and outputs in `[0, 2q)`.
#[inline(always)]
fn inverse_stage(q: &Modulus, a: &mut [u64], t: usize, w: &[u64], ws: &[u64]) {
    let two_q = 2 * q.value();
    for ((block, &w), &ws) in a.chunks_exact_mut(2 * t).zip(w).zip(ws) {
        let (x, y) = block.split_at_mut(t);
        for (x, y) in x.iter_mut().zip(y.iter_mut()) {
            let (u, v) = (*x, *y);
            *x = fold(u + v, two_q);
            *y = q.mul_shoup_lazy(u + two_q - v, w, ws);
        }
    }
}

#[cfg(feature = "alloc")]
impl NttTable<alloc::vec::Vec<u64>> {
    /// Builds the table for `q` and `N = 2^log_n` in a freshly allocated
    /// vector; see [`NttTable::new_in`] for the errors.
    pub fn new(q: Modulus, log_n: u32) -> Result<Self, MathError> {
        let words = Self::storage_words(log_n);
        if words == 0 {
            return Err(MathError::UnsupportedDegree(log_n));
        }
        Self::new_in(alloc::vec![0u64; words], q, log_n)
    }
}

#[cfg(all(test, feature = "alloc"))]
mod tests {
    use super::*;
    use crate::math::SplitMix64;
    use alloc::vec;
    use alloc::vec::Vec;

    /// A friendly prime of about `bits` bits for `log_n` (from `primes_near`).
    fn prime(bits: u32, log_n: u32) -> Modulus {
        Modulus::new(primes::primes_near(bits, log_n).next().unwrap()).unwrap()
    }

    fn random_poly(rng: &mut SplitMix64, n: usize, q: u64) -> Vec<u64> {
        (0..n).map(|_| rng.below(q)).collect()
    }

    /// Schoolbook product in Z_q[X]/(X^N + 1), with u128 arithmetic.
    fn negacyclic_mul(a: &[u64], b: &[u64], q: u64) -> Vec<u64> {
        let n = a.len();
        let q128 = u128::from(q);
        let mut acc = vec![0u128; n];
        for (i, &ai) in a.iter().enumerate() {
            for (j, &bj) in b.iter().enumerate() {
                let p = u128::from(ai) * u128::from(bj) % q128;
                let k = i + j;
                if k < n {
                    acc[k] = (acc[k] + p) % q128;
                } else {
                    acc[k - n] = (acc[k - n] + q128 - p) % q128;
                }
            }
        }
        acc.into_iter().map(|x| x as u64).collect()
    }

    fn ntt_mul(t: &NttTable<Vec<u64>>, a: &[u64], b: &[u64]) -> Vec<u64> {
        let (mut fa, mut fb) = (a.to_vec(), b.to_vec());
        t.forward(&mut fa);
        t.forward(&mut fb);
        let q = t.modulus();
        let mut c: Vec<u64> = fa.iter().zip(&fb).map(|(&x, &y)| q.mul(x, y)).collect();
        t.inverse(&mut c);
        c
    }

    #[test]
    fn bit_reverse_matches_definition() {
        for bits in 0..12u32 {
            for x in 0..(1usize << bits) {
                let mut r = 0;
                for b in 0..bits {
                    r |= ((x >> b) & 1) << (bits - 1 - b);
                }
                assert_eq!(bit_reverse(x, bits), r);
            }
        }
        assert_eq!(bit_reverse(1, usize::BITS), 1 << (usize::BITS - 1));
    }

    #[test]
    fn psi_is_smallest_primitive_root() {
        for (q, log_n) in [(17u64, 3u32), (97, 4), (12289, 10), (7681, 8), (257, 7)] {
            let t = NttTable::new(Modulus::new(q).unwrap(), log_n).unwrap();
            let two_n = 2u64 << log_n;
            let order = |x: u64| {
                let mut p = x;
                let mut k = 1;
                while p != 1 {
                    p = p * x % q;
                    k += 1;
                }
                k
            };
            let expect = (2..q).find(|&x| order(x) == two_n).unwrap();
            assert_eq!(t.psi(), expect, "q={q}");
        }
    }

    #[test]
    fn evaluation_formula() {
        let mut rng = SplitMix64(6);
        for (bits, log_n) in [(20, 1), (20, 3), (30, 5), (61, 6), (50, 12)] {
            let q = prime(bits, log_n);
            let t = NttTable::new(q, log_n).unwrap();
            let n = t.n();
            let psi = t.psi();
            assert_eq!(q.pow(psi, n as u64), q.value() - 1);
            let a = random_poly(&mut rng, n, q.value());
            let mut f = a.clone();
            t.forward(&mut f);
            for (j, &fj) in f.iter().enumerate() {
                let x = q.pow(psi, 2 * bit_reverse(j, log_n) as u64 + 1);
                // Horner evaluation of a at x.
                let expect = a.iter().rev().fold(0, |acc, &c| q.mul_add(acc, x, c));
                assert_eq!(fj, expect, "j={j}");
            }
        }
    }

    #[test]
    fn roundtrip_is_identity() {
        let mut rng = SplitMix64(7);
        for log_n in 1..=MAX_LOG_N {
            for bits in [30, 50, 61] {
                let q = prime(bits, log_n.max(10));
                let t = NttTable::new(q, log_n).unwrap();
                let mut a = random_poly(&mut rng, t.n(), q.value());
                a[0] = q.value() - 1;
                let orig = a.clone();
                t.forward(&mut a);
                assert!(a.iter().all(|&x| x < q.value()));
                t.inverse(&mut a);
                assert_eq!(a, orig, "log_n={log_n} q={}", q.value());
            }
        }
        // Inverse also accepts lazy inputs in [0, 2q).
        let q = prime(61, 10);
        let t = NttTable::new(q, 10).unwrap();
        let orig = random_poly(&mut rng, 1024, q.value());
        let mut a = orig.clone();
        t.forward(&mut a);
        for x in a.iter_mut().step_by(3) {
            *x += q.value();
        }
        t.inverse(&mut a);
        assert_eq!(a, orig);
    }

    #[test]
    fn convolution_matches_schoolbook() {
        let mut rng = SplitMix64(8);
        for bits in [20, 30, 45, 55, 60, 61] {
            let q = prime(bits, 10);
            let t = NttTable::new(q, 10).unwrap();
            let a = random_poly(&mut rng, 1024, q.value());
            let b = random_poly(&mut rng, 1024, q.value());
            assert_eq!(ntt_mul(&t, &a, &b), negacyclic_mul(&a, &b, q.value()));
        }
        // Extreme values: all coefficients q - 1.
        let q = prime(61, 10);
        let t = NttTable::new(q, 10).unwrap();
        let a = vec![q.value() - 1; 1024];
        assert_eq!(ntt_mul(&t, &a, &a), negacyclic_mul(&a, &a, q.value()));
    }

    #[test]
    fn tiny_convolution_exhaustive() {
        // N = 8, q = 17: every pair of basis-scaled monomials and random pairs,
        // plus all 17^2 values of (a_0, b_7) with the rest fixed.
        let q = Modulus::new(17).unwrap();
        let t = NttTable::new(q, 3).unwrap();
        for i in 0..8 {
            for j in 0..8 {
                for (ca, cb) in [(1, 1), (16, 3), (5, 16)] {
                    let mut a = vec![0u64; 8];
                    let mut b = vec![0u64; 8];
                    a[i] = ca;
                    b[j] = cb;
                    assert_eq!(ntt_mul(&t, &a, &b), negacyclic_mul(&a, &b, 17));
                }
            }
        }
        let mut a = vec![3, 1, 4, 1, 5, 9, 2, 6];
        let mut b = vec![2, 7, 1, 8, 2, 8, 1, 8];
        for x in 0..17 {
            for y in 0..17 {
                a[0] = x;
                b[7] = y;
                assert_eq!(ntt_mul(&t, &a, &b), negacyclic_mul(&a, &b, 17));
            }
        }
    }

    #[test]
    fn constructor_errors() {
        let q = prime(30, 10);
        assert_eq!(
            NttTable::new(q, 0).unwrap_err(),
            MathError::UnsupportedDegree(0)
        );
        assert_eq!(
            NttTable::new(q, 18).unwrap_err(),
            MathError::UnsupportedDegree(18)
        );
        // q ≡ 1 mod 2^11 but not mod 2^12 or higher? Check against the definition.
        let v = q.value();
        let max_ok = (v - 1).trailing_zeros() - 1;
        assert!(NttTable::new(q, max_ok.min(MAX_LOG_N)).is_ok());
        if max_ok < MAX_LOG_N {
            assert_eq!(
                NttTable::new(q, max_ok + 1).unwrap_err(),
                MathError::NotNttFriendly {
                    q: v,
                    log_n: max_ok + 1
                }
            );
        }
        let composite = Modulus::new(12289 * 40961).unwrap();
        assert_eq!(
            NttTable::new(composite, 10).unwrap_err(),
            MathError::NotNttFriendly {
                q: 12289 * 40961,
                log_n: 10
            }
        );
        // Caller storage: a too short and a too long buffer, then the exact size.
        let words = NttTable::<&mut [u64]>::storage_words(10);
        assert_eq!(words, 4096);
        assert_eq!(NttTable::<&mut [u64]>::storage_words(0), 0);
        assert_eq!(NttTable::<&mut [u64]>::storage_words(18), 0);
        let mut buf = vec![0u64; words + 1];
        assert_eq!(
            NttTable::new_in(&mut buf[..words - 1], q, 10).unwrap_err(),
            MathError::BufferSize {
                expected: words,
                got: words - 1
            }
        );
        assert_eq!(
            NttTable::new_in(&mut buf[..], q, 10).unwrap_err(),
            MathError::BufferSize {
                expected: words,
                got: words + 1
            }
        );
        let borrowed = NttTable::new_in(&mut buf[..words], q, 10).unwrap();
        let owned = NttTable::new(q, 10).unwrap();
        assert_eq!(
            (borrowed.n(), borrowed.log_n(), borrowed.psi()),
            (1024, 10, owned.psi())
        );
        assert_eq!(borrowed.modulus(), owned.modulus());
        let mut rng = SplitMix64(9);
        let mut a = random_poly(&mut rng, 1024, q.value());
        let mut b = a.clone();
        borrowed.forward(&mut a);
        owned.forward(&mut b);
        assert_eq!(a, b);
        // A fixed-size array works too (no allocator involved).
        let arr = NttTable::new_in([0u64; 8], Modulus::new(17).unwrap(), 1).unwrap();
        assert_eq!(arr.psi(), 4); // 4^2 = 16 = -1 mod 17, smallest such
    }
}
