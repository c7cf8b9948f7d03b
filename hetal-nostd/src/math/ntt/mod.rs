//! The negacyclic number-theoretic transform over `Z_q[X]/(X^N + 1)`, `N = 2^log_n`.
//!
//! The forward transform is a Cooley–Tukey network and the inverse a
//! Gentleman–Sande network, both driven by bit-reversed powers of a primitive
//! `2N`-th root of unity `ψ` with their Shoup constants. Butterflies are
//! Harvey's lazy ones: values stay in `[0, 4q)` (forward) or `[0, 2q)`
//! (inverse) inside the transform and are fully reduced at the end, which
//! requires `q < 2^62`. The butterflies contain no data-dependent branches.
//!
//! The butterfly stages come in two kernels with identical outputs: the
//! portable one (`portable`) and, on x86_64 with the `std` feature, an
//! AVX-512 one (`avx512`) chosen at run time when the CPU supports it.

use super::{primes, zq::Modulus, MathError};

// AVX-512 intrinsics and target features: stable since Rust 1.89 (the MSRV).
#[cfg(all(feature = "std", target_arch = "x86_64"))]
mod avx512;
mod portable;
#[cfg(all(test, feature = "alloc"))]
mod tests;

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
    /// each in `[0, q)`. Uses the AVX-512 kernels when the `std` feature is on
    /// and the CPU has them (same outputs as the portable ones).
    pub fn forward(&self, a: &mut [u64]) {
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        if let Some(k) = avx512::Avx512::detect(self.log_n) {
            return self.forward_with(&k, a);
        }
        self.forward_with(&portable::Portable, a)
    }

    /// Inverse of [`NttTable::forward`] in place, including the scaling by `N^{-1}`.
    ///
    /// `a` must have length `N` with entries in `[0, 2q)` (bit-reversed
    /// evaluations as produced by `forward`); the output coefficients are in `[0, q)`.
    pub fn inverse(&self, a: &mut [u64]) {
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        if let Some(k) = avx512::Avx512::detect(self.log_n) {
            return self.inverse_with(&k, a);
        }
        self.inverse_with(&portable::Portable, a)
    }

    /// [`NttTable::forward`] with the stages of kernel `k`.
    fn forward_with<K: Kernel>(&self, k: &K, a: &mut [u64]) {
        debug_assert_eq!(a.len(), self.n());
        let [tw, tw_shoup, _, _] = self.twiddles();
        let q = &self.q;
        let n = self.n();
        let block = n.min(BLOCK_WORDS);
        let (mut m, mut t) = (1, n >> 1);
        // Early stages span more than one cache block: run them over the whole array.
        while 2 * t > block {
            k.forward_stage(q, a, t, part(tw, m, m), part(tw_shoup, m, m));
            m <<= 1;
            t >>= 1;
        }
        // Later stages stay within one block: finish each block before the next.
        for (ci, chunk) in a.chunks_exact_mut(block).enumerate() {
            let (mut m, mut t) = (m, t);
            while t > 1 {
                let (off, cnt) = (m + ci * (block / (2 * t)), block / (2 * t));
                k.forward_stage(q, chunk, t, part(tw, off, cnt), part(tw_shoup, off, cnt));
                m <<= 1;
                t >>= 1;
            }
            let (off, cnt) = (m + ci * (block / 2), block / 2);
            k.forward_last_stage(q, chunk, part(tw, off, cnt), part(tw_shoup, off, cnt));
        }
    }

    /// [`NttTable::inverse`] with the stages of kernel `k`.
    fn inverse_with<K: Kernel>(&self, k: &K, a: &mut [u64]) {
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
                k.inverse_stage(q, chunk, t, part(itw, off, cnt), part(itw_shoup, off, cnt));
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
            k.inverse_stage(q, a, t, part(itw, m, m), part(itw_shoup, m, m));
            m >>= 1;
            t <<= 1;
        }
        // Last stage (one block of 2t = N) merged with the scaling by N^{-1}.
        k.inverse_last_stage(q, a, self.n_inv, self.last_inv);
    }
}

/// Cache block, in words, below which the transforms work depth-first (16 KiB).
const BLOCK_WORDS: usize = 1 << 11;

/// `s[off..off + len]`, or an empty slice if out of range.
#[inline(always)]
fn part(s: &[u64], off: usize, len: usize) -> &[u64] {
    s.get(off..off + len).unwrap_or(&[])
}

/// The butterfly stages of one implementation (portable or SIMD). All of
/// them give the same outputs for the same inputs once fully reduced; the
/// stage order and cache blocking are shared in [`NttTable::forward_with`]
/// and [`NttTable::inverse_with`].
trait Kernel {
    /// One lazy Cooley–Tukey stage on blocks of `2t` words (`t >= 2`), the
    /// `k`-th block using twiddle `w[k]` (Shoup constant `ws[k]`): inputs
    /// and outputs in `[0, 4q)`.
    fn forward_stage(&self, q: &Modulus, a: &mut [u64], t: usize, w: &[u64], ws: &[u64]);

    /// The final Cooley–Tukey stage (`t = 1`): inputs in `[0, 4q)`, outputs in `[0, q)`.
    fn forward_last_stage(&self, q: &Modulus, a: &mut [u64], w: &[u64], ws: &[u64]);

    /// One lazy Gentleman–Sande stage on blocks of `2t` words, the `k`-th
    /// block using twiddle `w[k]`: inputs and outputs in `[0, 2q)`.
    fn inverse_stage(&self, q: &Modulus, a: &mut [u64], t: usize, w: &[u64], ws: &[u64]);

    /// The final Gentleman–Sande stage over the whole array (`2t = N`)
    /// merged with the scaling by `N^{-1}`: `x + y` is multiplied by
    /// `n_inv` and `x - y` by `last` (each a value and its Shoup constant);
    /// inputs in `[0, 2q)`, outputs in `[0, q)`.
    fn inverse_last_stage(&self, q: &Modulus, a: &mut [u64], n_inv: (u64, u64), last: (u64, u64));
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
