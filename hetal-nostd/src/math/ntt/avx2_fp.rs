//! The AVX2 butterfly stages for primes below 2^49, with floating-point
//! modular multiplication (x86_64 with AVX2 and FMA, detected at run time).
//!
//! Values below `4q < 2^51` are exact as doubles, so the transform works on
//! doubles: [`Kernel::enter`] converts the input in place (the words of the
//! slice hold `f64` bits between the first and the last stage) and the last
//! stages convert back. Additions and subtractions of such values are exact.
//! The product `y·w mod q` (`y < 4q`, `w < q`) is the floating-point one of
//! [`crate::math::lanes256::fp`], in `[0, 2q)`.
//!
//! These are the ranges of the portable kernel's lazy Shoup product, so every
//! stage keeps the portable ranges and the transforms end with the same full
//! reduction: the outputs are identical. Data movement for `t = 2` and
//! `t = 1` is that of the integer AVX2 kernel.

use core::arch::x86_64::*;

use super::Kernel;
use crate::math::lanes256::fp::{fold, from_ints, mul_lazy, to_ints, Consts};
use crate::math::zq::Modulus;

/// Smallest `log_n` the kernel handles.
const MIN_LOG_N: u32 = 4;

/// Moduli from here on take the integer AVX2 kernel.
const MAX_Q: u64 = 1 << 49;

/// The floating-point AVX2 kernel; a value exists only on a CPU with AVX2
/// and FMA, for a modulus below 2^49.
#[derive(Clone, Copy, Debug)]
pub(super) struct Avx2Fp(());

impl Avx2Fp {
    /// The kernel if the CPU supports it, `N = 2^log_n` is large enough and
    /// `q < 2^49`.
    pub(super) fn detect(log_n: u32, q: &Modulus) -> Option<Self> {
        let ok = log_n >= MIN_LOG_N
            && q.value() < MAX_Q
            && std::is_x86_feature_detected!("avx2")
            && std::is_x86_feature_detected!("fma");
        ok.then_some(Avx2Fp(()))
    }
}

impl Kernel for Avx2Fp {
    fn enter(&self, a: &mut [u64]) {
        // SAFETY: `self` proves the CPU features the callee enables.
        unsafe { to_doubles(a) }
    }

    fn forward_stage(&self, q: &Modulus, a: &mut [u64], t: usize, w: &[u64], _: &[u64]) {
        // SAFETY: as above.
        unsafe { stage::<true, false>(q, a, t, w) }
    }

    fn forward_last_stage(&self, q: &Modulus, a: &mut [u64], w: &[u64], _: &[u64]) {
        // SAFETY: as above.
        unsafe { stage::<true, true>(q, a, 1, w) }
    }

    fn inverse_stage(&self, q: &Modulus, a: &mut [u64], t: usize, w: &[u64], _: &[u64]) {
        // SAFETY: as above.
        unsafe { stage::<false, false>(q, a, t, w) }
    }

    fn inverse_last_stage(&self, q: &Modulus, a: &mut [u64], n_inv: (u64, u64), last: (u64, u64)) {
        // SAFETY: as above.
        unsafe { inverse_last(q, a, n_inv.0, last.0) }
    }
}

/// Four lanes of `s` (words holding `f64` bits).
#[inline]
#[target_feature(enable = "avx2,fma")]
fn load(s: &[u64; 4]) -> __m256d {
    // SAFETY: `s` is 32 readable bytes; the load has no alignment requirement.
    unsafe { _mm256_loadu_pd(s.as_ptr().cast()) }
}

/// Stores four lanes into `d` (as `f64` bits).
#[inline]
#[target_feature(enable = "avx2,fma")]
fn store(d: &mut [u64; 4], v: __m256d) {
    // SAFETY: `d` is 32 writable bytes; the store has no alignment requirement.
    unsafe { _mm256_storeu_pd(d.as_mut_ptr().cast(), v) }
}

/// Converts `a` (integers below 2^52, `len` a multiple of 4) to doubles in place.
#[target_feature(enable = "avx2,fma")]
fn to_doubles(a: &mut [u64]) {
    for x in a.as_chunks_mut::<4>().0 {
        // SAFETY: `x` is 32 readable bytes; no alignment requirement.
        let v = unsafe { _mm256_loadu_si256(x.as_ptr().cast()) };
        store(x, from_ints(v));
    }
}

/// One butterfly on four lanes: forward (`FWD`, `[0, 4q)` in and out) or
/// inverse (`[0, 2q)` in and out); `LAST` reduces the forward outputs fully.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn butterfly<const FWD: bool, const LAST: bool>(
    c: &Consts,
    x: __m256d,
    y: __m256d,
    w: __m256d,
) -> (__m256d, __m256d) {
    if FWD {
        let u = fold(x, c.two_q);
        let v = mul_lazy(c, y, w);
        let s = _mm256_add_pd(u, v);
        let d = _mm256_sub_pd(_mm256_add_pd(u, c.two_q), v);
        if LAST {
            (fold(fold(s, c.two_q), c.q), fold(fold(d, c.two_q), c.q))
        } else {
            (s, d)
        }
    } else {
        let s = fold(_mm256_add_pd(x, y), c.two_q);
        let d = _mm256_sub_pd(_mm256_add_pd(x, c.two_q), y);
        (s, mul_lazy(c, d, w))
    }
}

/// Stores `v`, converted to integers when `LAST`.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn put<const LAST: bool>(d: &mut [u64; 4], v: __m256d) {
    if LAST {
        // SAFETY: `d` is 32 writable bytes; no alignment requirement.
        unsafe { _mm256_storeu_si256(d.as_mut_ptr().cast(), to_ints(v)) }
    } else {
        store(d, v)
    }
}

/// Four twiddles (integers below `q`) as doubles.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn twiddles(w: &[u64; 4]) -> __m256d {
    // SAFETY: `w` is 32 readable bytes; no alignment requirement.
    from_ints(unsafe { _mm256_loadu_si256(w.as_ptr().cast()) })
}

/// A stage over blocks of `2t` words, the `k`-th with twiddle `w[k]`.
#[target_feature(enable = "avx2,fma")]
fn stage<const FWD: bool, const LAST: bool>(q: &Modulus, a: &mut [u64], t: usize, w: &[u64]) {
    let c = Consts::new(q.value());
    match t {
        1 => {
            for (words, w) in a
                .as_chunks_mut::<4>()
                .0
                .chunks_exact_mut(2)
                .zip(w.as_chunks::<4>().0)
            {
                let [lo, hi] = words else { continue };
                let (p, r) = (load(lo), load(hi));
                // x = [x0 x2 x1 x3], y = [y0 y2 y1 y3]: twiddles in that order.
                let x = _mm256_unpacklo_pd(p, r);
                let y = _mm256_unpackhi_pd(p, r);
                let tw = _mm256_permute4x64_pd::<0b11_01_10_00>(twiddles(w));
                let (u, v) = butterfly::<FWD, LAST>(&c, x, y, tw);
                put::<LAST>(lo, _mm256_unpacklo_pd(u, v));
                put::<LAST>(hi, _mm256_unpackhi_pd(u, v));
            }
        }
        2 => {
            for (words, w) in a
                .as_chunks_mut::<4>()
                .0
                .chunks_exact_mut(2)
                .zip(w.chunks_exact(2))
            {
                let [lo, hi] = words else { continue };
                let (p, r) = (load(lo), load(hi));
                let x = _mm256_permute2f128_pd::<0x20>(p, r);
                let y = _mm256_permute2f128_pd::<0x31>(p, r);
                let (w0, w1) = (w[0] as f64, w[1] as f64);
                let tw = _mm256_setr_pd(w0, w0, w1, w1);
                let (u, v) = butterfly::<FWD, LAST>(&c, x, y, tw);
                put::<LAST>(lo, _mm256_permute2f128_pd::<0x20>(u, v));
                put::<LAST>(hi, _mm256_permute2f128_pd::<0x31>(u, v));
            }
        }
        _ => {
            for (block, &w) in a.chunks_exact_mut(2 * t).zip(w) {
                let tw = _mm256_set1_pd(w as f64);
                let (x, y) = block.split_at_mut(t);
                for (x, y) in x.as_chunks_mut().0.iter_mut().zip(y.as_chunks_mut().0) {
                    let (u, v) = butterfly::<FWD, LAST>(&c, load(x), load(y), tw);
                    put::<LAST>(x, u);
                    put::<LAST>(y, v);
                }
            }
        }
    }
}

/// [`Kernel::inverse_last_stage`]: the last Gentleman–Sande stage merged with
/// the scaling by `N^{-1}` (`n_inv`, and `last` for the differences).
#[target_feature(enable = "avx2,fma")]
fn inverse_last(q: &Modulus, a: &mut [u64], n_inv: u64, last: u64) {
    let c = Consts::new(q.value());
    let (w_sum, w_diff) = (_mm256_set1_pd(n_inv as f64), _mm256_set1_pd(last as f64));
    let (x, y) = a.split_at_mut(a.len() / 2);
    for (x, y) in x.as_chunks_mut().0.iter_mut().zip(y.as_chunks_mut().0) {
        let (u, v) = (load(x), load(y));
        let sum = _mm256_add_pd(u, v);
        let diff = _mm256_sub_pd(_mm256_add_pd(u, c.two_q), v);
        put::<true>(x, fold(mul_lazy(&c, sum, w_sum), c.q));
        put::<true>(y, fold(mul_lazy(&c, diff, w_diff), c.q));
    }
}
