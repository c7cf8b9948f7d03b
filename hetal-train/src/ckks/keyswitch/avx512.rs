//! The AVX-512 base conversion (x86_64, detected at run time): eight
//! coefficients per instruction.
//!
//! Each term `u·h mod t` is a Shoup multiplication whose quotient, the high
//! word of `u·h_shoup`, is estimated from three 32×32-bit partial products
//! without the carry out of the middle column: at most 2 below the true
//! quotient, so the term is in `[0, 4t)`. For `t < 2^61`, sums stay in
//! `[0, 4t)` by one conditional subtraction of `4t` per term (`8t <= 2^64`);
//! for larger `t` each term is first brought to `[0, 2t)` and the sums kept
//! in `[0, 2t)`. The result is fully reduced, hence equal to the portable one.

use std::arch::x86_64::*;

use hetal_nostd::math::zq::Modulus;

/// Targets from here on take the variant with sums below `4t` (not `8t`).
const WIDE_T: u64 = 1 << 61;

/// The AVX-512 kernels; a value exists only on a CPU with AVX-512F and DQ.
#[derive(Clone, Copy, Debug)]
pub(super) struct Avx512(());

impl Avx512 {
    /// The kernels if the CPU supports them.
    pub(super) fn detect() -> Option<Self> {
        let ok =
            std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512dq");
        ok.then_some(Avx512(()))
    }

    /// `out[k] = (Σ_c y_c[k]·hat[c] + offset) mod t` where `y` holds the
    /// sources `y_c` one after the other, each `out.len()` words below `2^63`;
    /// `hat[c] < t` with Shoup constants `hat_shoup[c]`. Returns false, with
    /// `out` untouched, for a length not a multiple of 8 (then use the
    /// portable code).
    pub(super) fn convert(
        &self,
        y: &[u64],
        hat: &[u64],
        hat_shoup: &[u64],
        t: &Modulus,
        offset: u64,
        out: &mut [u64],
    ) -> bool {
        if out.len() % 8 != 0 {
            return false;
        }
        let t = t.value();
        // SAFETY: `self` proves the CPU features the callee enables.
        unsafe {
            if t < WIDE_T {
                convert::<false>(y, hat, hat_shoup, t, offset, out);
            } else {
                convert::<true>(y, hat, hat_shoup, t, offset, out);
            }
        }
        true
    }
}

/// Eight words from `s`.
#[target_feature(enable = "avx512f")]
fn load(s: &[u64; 8]) -> __m512i {
    // SAFETY: `s` is 64 readable bytes; the load has no alignment requirement.
    unsafe { _mm512_loadu_si512(s.as_ptr().cast()) }
}

/// Stores eight words into `d`.
#[target_feature(enable = "avx512f")]
fn store(d: &mut [u64; 8], v: __m512i) {
    // SAFETY: `d` is 64 writable bytes; the store has no alignment requirement.
    unsafe { _mm512_storeu_si512(d.as_mut_ptr().cast(), v) }
}

/// `x - m` where `x >= m`, else `x`, in each lane, for `x < 2m`.
#[target_feature(enable = "avx512f")]
fn fold(x: __m512i, m: __m512i) -> __m512i {
    _mm512_min_epu64(x, _mm512_sub_epi64(x, m))
}

/// [`Avx512::convert`] for a length multiple of 8; `WIDE` for `t >= 2^61`.
#[target_feature(enable = "avx512f,avx512dq")]
fn convert<const WIDE: bool>(
    y: &[u64],
    hat: &[u64],
    hat_shoup: &[u64],
    t: u64,
    offset: u64,
    out: &mut [u64],
) {
    let n = out.len();
    let splat = |x: u64| _mm512_set1_epi64(x as i64);
    let (tv, two_t, off) = (splat(t), splat(2 * t), splat(offset));
    // The bound the sums are kept below (minus one term's range).
    let wrap = if WIDE { two_t } else { splat(4 * t) };
    // Per source: h, the low and the high half of its Shoup constant.
    let consts: Vec<[__m512i; 3]> = hat
        .iter()
        .zip(hat_shoup)
        .map(|(&h, &hs)| [splat(h), splat(hs), splat(hs >> 32)])
        .collect();
    let ys: Vec<&[[u64; 8]]> = y.chunks_exact(n).map(|s| s.as_chunks().0).collect();
    for (j, o) in out.as_chunks_mut::<8>().0.iter_mut().enumerate() {
        let mut acc = _mm512_setzero_si512();
        for (yc, [h, hs, hs_hi]) in ys.iter().zip(&consts) {
            let u = load(&yc[j]);
            let u_hi = _mm512_srli_epi64::<32>(u);
            let hh = _mm512_mul_epu32(u_hi, *hs_hi);
            let lh = _mm512_mul_epu32(u, *hs_hi);
            let hl = _mm512_mul_epu32(u_hi, *hs);
            let mid = _mm512_add_epi64(_mm512_srli_epi64::<32>(lh), _mm512_srli_epi64::<32>(hl));
            let quot = _mm512_add_epi64(hh, mid);
            let v = _mm512_sub_epi64(_mm512_mullo_epi64(u, *h), _mm512_mullo_epi64(quot, tv));
            let v = if WIDE { fold(v, two_t) } else { v };
            acc = fold(_mm512_add_epi64(acc, v), wrap);
        }
        let acc = if WIDE { acc } else { fold(acc, two_t) };
        let acc = fold(acc, tv);
        store(o, fold(_mm512_add_epi64(acc, off), tv));
    }
}
