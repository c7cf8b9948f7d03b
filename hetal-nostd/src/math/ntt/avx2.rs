//! The AVX2 butterfly stages (x86_64, detected at run time), four
//! butterflies per instruction.
//!
//! The multiplication by a twiddle is Shoup's, built from 32-bit partial
//! products ([`crate::math::lanes256`]): in `[0, 2q)` for inputs below `4q`,
//! the range of the portable kernel's lazy Shoup product, so every stage keeps
//! the portable ranges and the transforms end with the same full reduction:
//! the outputs are identical. Stages with `t >= 4` load the two halves of a
//! block directly; `t = 2` and `t = 1` regroup eight words with 128-bit and
//! 64-bit shuffles. Transforms below 16 points stay portable.

use core::arch::x86_64::*;

use super::Kernel;
use crate::math::lanes256::{fold, load, mul_shoup_lazy, splat, store, Modulus4, Shoup};
use crate::math::zq::Modulus;

/// Smallest `log_n` the kernel handles.
const MIN_LOG_N: u32 = 4;

/// The AVX2 kernel; a value exists only on a CPU with AVX2.
#[derive(Clone, Copy, Debug)]
pub(super) struct Avx2(());

impl Avx2 {
    /// The kernel if the CPU supports it and `N = 2^log_n` is large enough.
    pub(super) fn detect(log_n: u32) -> Option<Self> {
        (log_n >= MIN_LOG_N && std::is_x86_feature_detected!("avx2")).then_some(Avx2(()))
    }
}

impl Kernel for Avx2 {
    fn forward_stage(&self, q: &Modulus, a: &mut [u64], t: usize, w: &[u64], ws: &[u64]) {
        // SAFETY: `self` proves the CPU feature the callee enables.
        unsafe { stage::<true, false>(q, a, t, w, ws) }
    }

    fn forward_last_stage(&self, q: &Modulus, a: &mut [u64], w: &[u64], ws: &[u64]) {
        // SAFETY: as above.
        unsafe { stage::<true, true>(q, a, 1, w, ws) }
    }

    fn inverse_stage(&self, q: &Modulus, a: &mut [u64], t: usize, w: &[u64], ws: &[u64]) {
        // SAFETY: as above.
        unsafe { stage::<false, false>(q, a, t, w, ws) }
    }

    fn inverse_last_stage(&self, q: &Modulus, a: &mut [u64], n_inv: (u64, u64), last: (u64, u64)) {
        // SAFETY: as above.
        unsafe { inverse_last(q, a, n_inv, last) }
    }
}

/// One butterfly on four lanes: forward (`FWD`, Cooley–Tukey, `[0, 4q)` in
/// and out) or inverse (Gentleman–Sande, `[0, 2q)` in and out); `LAST`
/// reduces the forward outputs fully.
#[target_feature(enable = "avx2")]
fn butterfly<const FWD: bool, const LAST: bool>(
    c: &Modulus4,
    x: __m256i,
    y: __m256i,
    tw: &Shoup,
) -> (__m256i, __m256i) {
    if FWD {
        let u = fold(x, c.two_q);
        let v = mul_shoup_lazy(c, y, tw);
        let s = _mm256_add_epi64(u, v);
        let d = _mm256_sub_epi64(_mm256_add_epi64(u, c.two_q), v);
        if LAST {
            (fold(fold(s, c.two_q), c.q), fold(fold(d, c.two_q), c.q))
        } else {
            (s, d)
        }
    } else {
        let s = fold(_mm256_add_epi64(x, y), c.two_q);
        let d = _mm256_sub_epi64(_mm256_add_epi64(x, c.two_q), y);
        (s, mul_shoup_lazy(c, d, tw))
    }
}

/// A stage over blocks of `2t` words, the `k`-th with twiddle `(w[k], ws[k])`.
#[target_feature(enable = "avx2")]
fn stage<const FWD: bool, const LAST: bool>(
    q: &Modulus,
    a: &mut [u64],
    t: usize,
    w: &[u64],
    ws: &[u64],
) {
    let c = Modulus4::new(q.value());
    match t {
        1 => {
            // Words [x0 y0 x1 y1 | x2 y2 x3 y3] of four blocks of 2.
            for ((words, w), ws) in a
                .as_chunks_mut::<4>()
                .0
                .chunks_exact_mut(2)
                .zip(w.as_chunks::<4>().0)
                .zip(ws.as_chunks::<4>().0)
            {
                let [lo, hi] = words else { continue };
                let (p, r) = (load(lo), load(hi));
                // x = [x0 x2 x1 x3], y = [y0 y2 y1 y3]: twiddles in that order.
                let x = _mm256_unpacklo_epi64(p, r);
                let y = _mm256_unpackhi_epi64(p, r);
                let order = |v: __m256i| _mm256_permute4x64_epi64::<0b11_01_10_00>(v);
                let tw = Shoup::new(order(load(w)), order(load(ws)));
                let (u, v) = butterfly::<FWD, LAST>(&c, x, y, &tw);
                store(lo, _mm256_unpacklo_epi64(u, v));
                store(hi, _mm256_unpackhi_epi64(u, v));
            }
        }
        2 => {
            // Words [x0 x1 y0 y1 | x2 x3 y2 y3] of two blocks of 4.
            for ((words, w), ws) in a
                .as_chunks_mut::<4>()
                .0
                .chunks_exact_mut(2)
                .zip(w.chunks_exact(2))
                .zip(ws.chunks_exact(2))
            {
                let [lo, hi] = words else { continue };
                let (p, r) = (load(lo), load(hi));
                let x = _mm256_permute2x128_si256::<0x20>(p, r);
                let y = _mm256_permute2x128_si256::<0x31>(p, r);
                let pair = |s: &[u64]| {
                    _mm256_setr_epi64x(s[0] as i64, s[0] as i64, s[1] as i64, s[1] as i64)
                };
                let tw = Shoup::new(pair(w), pair(ws));
                let (u, v) = butterfly::<FWD, LAST>(&c, x, y, &tw);
                store(lo, _mm256_permute2x128_si256::<0x20>(u, v));
                store(hi, _mm256_permute2x128_si256::<0x31>(u, v));
            }
        }
        _ => {
            for ((block, &w), &ws) in a.chunks_exact_mut(2 * t).zip(w).zip(ws) {
                let tw = Shoup::new(splat(w), splat(ws));
                let (x, y) = block.split_at_mut(t);
                for (x, y) in x.as_chunks_mut().0.iter_mut().zip(y.as_chunks_mut().0) {
                    let (u, v) = butterfly::<FWD, LAST>(&c, load(x), load(y), &tw);
                    store(x, u);
                    store(y, v);
                }
            }
        }
    }
}

/// [`Kernel::inverse_last_stage`].
#[target_feature(enable = "avx2")]
fn inverse_last(q: &Modulus, a: &mut [u64], n_inv: (u64, u64), last: (u64, u64)) {
    let c = Modulus4::new(q.value());
    let tw_sum = Shoup::splat(n_inv.0, n_inv.1);
    let tw_diff = Shoup::splat(last.0, last.1);
    let (x, y) = a.split_at_mut(a.len() / 2);
    for (x, y) in x.as_chunks_mut().0.iter_mut().zip(y.as_chunks_mut().0) {
        let (u, v) = (load(x), load(y));
        let sum = _mm256_add_epi64(u, v);
        let diff = _mm256_sub_epi64(_mm256_add_epi64(u, c.two_q), v);
        store(x, fold(mul_shoup_lazy(&c, sum, &tw_sum), c.q));
        store(y, fold(mul_shoup_lazy(&c, diff, &tw_diff), c.q));
    }
}
