//! The AVX2 kernels of key switching (x86_64, detected at run time): the
//! premultiplication and the base conversion, four coefficients per
//! instruction. Conversions to targets below 2^49 from sources below 2^50
//! (ModUp's to the Q primes) run in floating point with FMA
//! (`hetal_nostd::math::lanes256::fp`), exact as well.
//!
//! Each term `u·h mod t` is a Shoup multiplication built from 32-bit
//! partial products (`hetal_nostd::math::lanes256`), in `[0, 4t)` for any
//! 64-bit `u`. As in the AVX-512 kernel, for `t < 2^61` the sums stay in
//! `[0, 4t)` by one conditional subtraction of `4t` per term (`8t <= 2^64`);
//! for larger `t` each term is first brought to `[0, 2t)` and the sums kept
//! in `[0, 2t)`. The result is fully reduced, hence equal to the portable one.

use std::arch::x86_64::*;

use super::Operands;

use hetal_nostd::math::lanes256::{
    fold, fp, load, mul_shoup_4q, mul_shoup_lazy, splat, store, Modulus4, Shoup,
};

/// Targets from here on take the variant with sums below `2t` (not `4t`).
const WIDE_T: u64 = 1 << 61;

/// The AVX2 kernel; a value exists only on a CPU with AVX2.
#[derive(Clone, Copy, Debug)]
pub(super) struct Avx2(());

impl Avx2 {
    /// The kernel if the CPU supports it.
    pub(super) fn detect() -> Option<Self> {
        std::is_x86_feature_detected!("avx2").then_some(Avx2(()))
    }

    /// `out[k] = (Σ_c y_c[k]·hat[c] + offset) mod t` where `y` holds the
    /// sources `y_c` one after the other, `out.len()` words each; `hat[c] < t`
    /// with Shoup constants `hat_shoup[c]`. `small_sources` promises every
    /// `y_c` below 2^51 (sources below 2^50): then a target below 2^49 takes
    /// the floating-point variant. Returns false, with `out` untouched, for a
    /// length not a multiple of 4 (then use the portable code).
    pub(super) fn convert(
        &self,
        small_sources: bool,
        y: &[u64],
        (hat, hat_shoup): (&[u64], &[u64]),
        t: u64,
        offset: u64,
        out: &mut [u64],
    ) -> bool {
        if !out.len().is_multiple_of(4) {
            return false;
        }
        // SAFETY: `self` proves the CPU feature the callee enables (and
        // `fma` is checked where the floating-point variant needs it).
        unsafe {
            if small_sources && t < FP_T && std::is_x86_feature_detected!("fma") {
                convert_fp(y, hat, t, offset, out);
            } else if t < WIDE_T {
                convert::<false>(y, hat, hat_shoup, t, offset, out);
            } else {
                convert::<true>(y, hat, hat_shoup, t, offset, out);
            }
        }
        true
    }
}

/// `out[k] = r + (s if r <= half else 0)` with `r = x[k]·w mod s` (`w < s`
/// with Shoup constant `ws`, `half = ⌊s/2⌋`): the premultiplied, centred and
/// shifted source values of a base conversion, for `x` of any 64-bit words.
/// Returns false, with `out` untouched, unless `x` and `out` have one length,
/// a multiple of 4 (then use the portable code).
pub(super) fn premultiply(
    _: Avx2,
    x: &[u64],
    (w, ws): (u64, u64),
    s: u64,
    out: &mut [u64],
) -> bool {
    if x.len() != out.len() || !out.len().is_multiple_of(4) {
        return false;
    }
    // SAFETY: the `Avx2` value proves the CPU feature the callee enables.
    unsafe { premultiply_avx2(x, (w, ws), s, out) };
    true
}

/// [`premultiply`] once its shape is checked.
#[target_feature(enable = "avx2")]
fn premultiply_avx2(x: &[u64], (w, ws): (u64, u64), s: u64, out: &mut [u64]) {
    let c = Modulus4::new(s);
    let tw = Shoup::splat(w, ws);
    let half = splat(s >> 1);
    for (o, x) in out
        .as_chunks_mut::<4>()
        .0
        .iter_mut()
        .zip(x.as_chunks::<4>().0)
    {
        let r = fold(mul_shoup_lazy(&c, load(x), &tw), c.q);
        // All ones where r > half (signed compare: r < 2^62).
        let above = _mm256_cmpgt_epi64(r, half);
        store(o, _mm256_add_epi64(r, _mm256_andnot_si256(above, c.q)));
    }
}

/// Bound (exclusive) on the modulus of the floating-point inner product.
const FP_Q: u64 = 1 << 49;

/// Bound (exclusive) on the inputs of the floating-point inner product.
const FP_INPUT: u64 = 1 << 50;

impl Avx2 {
    /// `o0[k] = Σ_j d_j[k]·b_j[k] mod q` and `o1[k] = Σ_j d_j[k]·a_j[k] mod q`
    /// over the digits `d_j` (`b` and `a` may hold more), in floating point: each product is the
    /// lazy one of `hetal_nostd::math::lanes256::fp` (`d·b/q < d < 2^50`), in
    /// `[0, 2q)`, and the sums are kept in `[0, 2q)`. Returns false, with
    /// the outputs unspecified, where it does not apply (then use the portable
    /// code): no FMA, `q >= 2^49`, a length not a multiple of 4, or an input
    /// value not below `2^50`.
    pub(super) fn inner_product(
        &self,
        q: u64,
        (d, b, a): Operands,
        (o0, o1): (&mut [u64], &mut [u64]),
    ) -> bool {
        let n = o0.len();
        let shaped = o1.len() == n
            && d.iter().all(|x| x.len() >= n)
            && b.len() >= d.len()
            && a.len() >= d.len()
            && b.iter().chain(a).take(2 * d.len()).all(|x| x.len() >= n);
        if q >= FP_Q || !n.is_multiple_of(4) || !shaped || !std::is_x86_feature_detected!("fma") {
            return false;
        }
        // SAFETY: `self` proves AVX2 and FMA was detected just above.
        unsafe { inner_fp(q, (d, b, a), (o0, o1)) }
    }
}

/// [`Avx2::inner_product`] once its shape is checked; false where an input
/// is not below `2^50`.
#[target_feature(enable = "avx2,fma")]
fn inner_fp(q: u64, (d, b, a): Operands, (o0, o1): (&mut [u64], &mut [u64])) -> bool {
    let c = fp::Consts::new(q);
    let zero = _mm256_setzero_pd();
    // The bitwise OR of every input, to check them against 2^50 at the end.
    let mut seen = _mm256_setzero_si256();
    let outs = o0
        .as_chunks_mut::<4>()
        .0
        .iter_mut()
        .zip(o1.as_chunks_mut::<4>().0);
    for (k, (o0, o1)) in outs.enumerate() {
        let at = 4 * k;
        let (mut acc0, mut acc1) = (zero, zero);
        for ((dj, bj), aj) in d.iter().zip(b).zip(a) {
            let (x, y, z) = (load_at(dj, at), load_at(bj, at), load_at(aj, at));
            seen = _mm256_or_si256(seen, _mm256_or_si256(x, _mm256_or_si256(y, z)));
            let x = fp::from_ints(x);
            let v0 = fp::mul_lazy(&c, x, fp::from_ints(y));
            let v1 = fp::mul_lazy(&c, x, fp::from_ints(z));
            acc0 = fp::fold(_mm256_add_pd(acc0, v0), c.two_q);
            acc1 = fp::fold(_mm256_add_pd(acc1, v1), c.two_q);
        }
        store(o0, fp::to_ints(fp::fold(acc0, c.q)));
        store(o1, fp::to_ints(fp::fold(acc1, c.q)));
    }
    let mut lanes = [0u64; 4];
    store(&mut lanes, seen);
    lanes.iter().fold(0, |acc, &x| acc | x) < FP_INPUT
}

/// Four words of `s` from `at` (the caller checked the length).
#[inline]
#[target_feature(enable = "avx2")]
fn load_at(s: &[u64], at: usize) -> __m256i {
    match s.get(at..at + 4).and_then(|w| w.as_chunks::<4>().0.first()) {
        Some(w) => load(w),
        None => _mm256_setzero_si256(),
    }
}

/// Targets below this take the floating-point variant (with small sources).
const FP_T: u64 = 1 << 49;

/// [`Avx2::convert`] in floating point: `t < 2^49`, every `y_c < 2^51`, a
/// length multiple of 4. Each term `y·h mod t` is the floating-point lazy
/// product (`y·h/t < y < 2^51`), in `[0, 2t)`; the sums are kept in `[0, 2t)`.
#[target_feature(enable = "avx2,fma")]
fn convert_fp(y: &[u64], hat: &[u64], t: u64, offset: u64, out: &mut [u64]) {
    let n = out.len();
    let c = fp::Consts::new(t);
    let ints = |v: &[u64; 4]| fp::from_ints(load(v));
    let mut consts = [_mm256_setzero_pd(); MAX_SOURCES];
    for (g, hat) in hat.chunks(MAX_SOURCES).enumerate() {
        for (k, &h) in consts.iter_mut().zip(hat) {
            *k = _mm256_set1_pd(h as f64);
        }
        let mut ys: [&[[u64; 4]]; MAX_SOURCES] = [&[]; MAX_SOURCES];
        for (s, slot) in ys.iter_mut().take(hat.len()).enumerate() {
            let at = (g * MAX_SOURCES + s) * n;
            *slot = y.get(at..at + n).map_or(&[], |w| w.as_chunks().0);
        }
        let sources = ys.iter().zip(&consts[..hat.len()]);
        for (j, o) in out.as_chunks_mut::<4>().0.iter_mut().enumerate() {
            let mut acc = if g == 0 {
                _mm256_set1_pd(offset as f64)
            } else {
                ints(o)
            };
            for (ys, &h) in sources.clone() {
                let Some(u) = ys.get(j) else { continue };
                let v = fp::mul_lazy(&c, ints(u), h);
                acc = fp::fold(_mm256_add_pd(acc, v), c.two_q);
            }
            store(o, fp::to_ints(fp::fold(acc, c.q)));
        }
    }
}

/// Largest number of sources converted with constants kept in registers.
const MAX_SOURCES: usize = 16;

/// [`Avx2::convert`] for a length multiple of 4; `WIDE` for `t >= 2^61`.
#[target_feature(enable = "avx2")]
fn convert<const WIDE: bool>(
    y: &[u64],
    hat: &[u64],
    hat_shoup: &[u64],
    t: u64,
    offset: u64,
    out: &mut [u64],
) {
    let n = out.len();
    let c = Modulus4::new(t);
    let off = splat(offset);
    let wrap = if WIDE { c.two_q } else { splat(4 * t) };
    // Sources in groups of at most MAX_SOURCES, no allocation: the first
    // group writes `out`, later ones add to it (each partial sum reduced).
    for (g, (hat, hat_shoup)) in hat
        .chunks(MAX_SOURCES)
        .zip(hat_shoup.chunks(MAX_SOURCES))
        .enumerate()
    {
        let mut consts = [Shoup::splat(0, 0); MAX_SOURCES];
        for (k, (&h, &hs)) in consts.iter_mut().zip(hat.iter().zip(hat_shoup)) {
            *k = Shoup::splat(h, hs);
        }
        let mut ys: [&[[u64; 4]]; MAX_SOURCES] = [&[]; MAX_SOURCES];
        for (s, slot) in ys.iter_mut().take(hat.len()).enumerate() {
            let at = (g * MAX_SOURCES + s) * n;
            *slot = y.get(at..at + n).map_or(&[], |w| w.as_chunks().0);
        }
        let sources = ys.iter().zip(&consts[..hat.len()]);
        for (j, o) in out.as_chunks_mut::<4>().0.iter_mut().enumerate() {
            let mut acc = if g == 0 { off } else { load(o) };
            for (ys, tw) in sources.clone() {
                let Some(u) = ys.get(j) else { continue };
                let v = mul_shoup_4q(&c, load(u), tw);
                let v = if WIDE { fold(v, c.two_q) } else { v };
                acc = fold(_mm256_add_epi64(acc, v), wrap);
            }
            let acc = if WIDE { acc } else { fold(acc, c.two_q) };
            store(o, fold(acc, c.q));
        }
    }
}
