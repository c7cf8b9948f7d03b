//! The AVX-512 kernels of key switching (x86_64, detected at run time),
//! eight coefficients per instruction: the base conversion and, with IFMA,
//! the inner product for primes below 2^50.
//!
//! Base conversion:
//! Each term `u·h mod t` is a Shoup multiplication whose quotient, the high
//! word of `u·h_shoup`, is estimated from three 32×32-bit partial products
//! without the carry out of the middle column: at most 2 below the true
//! quotient, so the term is in `[0, 4t)`. For `t < 2^61`, sums stay in
//! `[0, 4t)` by one conditional subtraction of `4t` per term (`8t <= 2^64`);
//! for larger `t` each term is first brought to `[0, 2t)` and the sums kept
//! in `[0, 2t)`. The result is fully reduced, hence equal to the portable one.
//!
//! Inner product (`q < 2^50`, inputs below `2^50`): the 52-bit multiply-adds
//! accumulate the low and high halves of the exact 100-bit products, and
//! `hi·2^52 + lo` is reduced with two Shoup multiplications (by `2^52 mod q`
//! and by 1) at 52 bits, then fully: again the portable result.

use std::arch::x86_64::*;

use hetal_nostd::math::lanes::{fold, load, store};
use hetal_nostd::math::zq::Modulus;

/// Targets from here on take the variant with sums below `4t` (not `8t`).
const WIDE_T: u64 = 1 << 61;

/// Bound (exclusive) on the moduli and inputs of the IFMA inner product.
const IFMA_BOUND: u64 = 1 << 50;

/// Bits of the IFMA multipliers.
const MASK52: u64 = (1 << 52) - 1;

/// The AVX-512 kernels; a value exists only on a CPU with AVX-512F and DQ.
#[derive(Clone, Copy, Debug)]
pub(super) struct Avx512 {
    /// Whether the CPU also has AVX-512 IFMA (for [`Avx512::inner_product`]).
    pub(super) ifma: bool,
}

impl Avx512 {
    /// The kernels if the CPU supports them.
    pub(super) fn detect() -> Option<Self> {
        let ok =
            std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512dq");
        let ifma = std::is_x86_feature_detected!("avx512ifma");
        ok.then_some(Avx512 { ifma })
    }

    /// `o0[k] = Σ_j d_j[k]·b_j[k] mod q` and `o1[k] = Σ_j d_j[k]·a_j[k] mod q`
    /// over the digits `d_j` (at most 8; `b` and `a` may hold more). Returns
    /// false, with the outputs unspecified, where the kernel does not apply
    /// (then use the portable code): no IFMA, `q >= 2^50`, more than 8
    /// digits, a length not a multiple of 8, or an input value not below
    /// `2^50`.
    pub(super) fn inner_product(
        &self,
        q: &Modulus,
        d: &[&[u64]],
        b: &[&[u64]],
        a: &[&[u64]],
        (o0, o1): (&mut [u64], &mut [u64]),
    ) -> bool {
        let n = o0.len();
        if !self.ifma || q.value() >= IFMA_BOUND || d.len() > 8 || n % 8 != 0 {
            return false;
        }
        // SAFETY: `ifma` was detected with the other features of `self`.
        unsafe { inner_ifma(q.value(), d, b, a, o0, o1) }
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
        if !out.len().is_multiple_of(8) {
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

/// `x mod q` for `x = hi·2^52 + lo`, `hi < 2^51`, `lo < 2^55`, `q < 2^50`:
/// `c = 2^52 mod q` with `c_shoup = ⌊c·2^52/q⌋`, `one_shoup = ⌊2^52/q⌋`.
#[derive(Clone, Copy)]
struct Reduce52 {
    q: __m512i,
    two_q: __m512i,
    neg_q: __m512i,
    mask: __m512i,
    c: __m512i,
    c_shoup: __m512i,
    one_shoup: __m512i,
}

impl Reduce52 {
    #[target_feature(enable = "avx512f")]
    fn new(q: u64) -> Self {
        let splat = |x: u64| _mm512_set1_epi64(x as i64);
        let c = (1u64 << 52) % q;
        let shoup = |w: u64| ((u128::from(w) << 52) / u128::from(q)) as u64;
        Reduce52 {
            q: splat(q),
            two_q: splat(2 * q),
            neg_q: splat((1 << 52) - q),
            mask: splat(MASK52),
            c: splat(c),
            c_shoup: splat(shoup(c)),
            one_shoup: splat(shoup(1)),
        }
    }

    #[target_feature(enable = "avx512f,avx512ifma")]
    fn apply(&self, lo: __m512i, hi: __m512i) -> __m512i {
        let zero = _mm512_setzero_si512();
        let hi = _mm512_add_epi64(hi, _mm512_srli_epi64::<52>(lo));
        let lo = _mm512_and_si512(lo, self.mask);
        // hi·c and lo·1 modulo q, each in [0, 2q) (Shoup at 52 bits).
        let quot = _mm512_madd52hi_epu64(zero, hi, self.c_shoup);
        let hc = _mm512_madd52lo_epu64(zero, hi, self.c);
        let r1 = _mm512_and_si512(_mm512_madd52lo_epu64(hc, quot, self.neg_q), self.mask);
        let quot = _mm512_madd52hi_epu64(zero, lo, self.one_shoup);
        let r2 = _mm512_and_si512(_mm512_madd52lo_epu64(lo, quot, self.neg_q), self.mask);
        fold(fold(_mm512_add_epi64(r1, r2), self.two_q), self.q)
    }
}

/// The first `n` words of each of the first `count` slices of `s`, in groups of 8.
fn vectors<'a>(s: &[&'a [u64]], count: usize, n: usize) -> Vec<&'a [[u64; 8]]> {
    s.iter().take(count).map(|x| x[..n].as_chunks().0).collect()
}

/// [`Avx512::inner_product`] once its shape is checked.
#[target_feature(enable = "avx512f,avx512dq,avx512ifma")]
fn inner_ifma(
    q: u64,
    d: &[&[u64]],
    b: &[&[u64]],
    a: &[&[u64]],
    o0: &mut [u64],
    o1: &mut [u64],
) -> bool {
    let n = o0.len();
    let count = d.len();
    let (d, b, a) = (
        vectors(d, count, n),
        vectors(b, count, n),
        vectors(a, count, n),
    );
    let red = Reduce52::new(q);
    let zero = _mm512_setzero_si512();
    // The bitwise OR of every input, to check them against 2^50 at the end.
    let mut seen = zero;
    let outs = o0
        .as_chunks_mut::<8>()
        .0
        .iter_mut()
        .zip(o1.as_chunks_mut::<8>().0);
    for (k, (o0, o1)) in outs.enumerate() {
        let (mut lo0, mut hi0, mut lo1, mut hi1) = (zero, zero, zero, zero);
        for ((dj, bj), aj) in d.iter().zip(&b).zip(&a) {
            let (x, y, z) = (load(&dj[k]), load(&bj[k]), load(&aj[k]));
            seen = _mm512_or_si512(seen, _mm512_ternarylogic_epi64::<0xFE>(x, y, z));
            // Products below 2^100: exact as 52-bit halves; at most 8 of them.
            lo0 = _mm512_madd52lo_epu64(lo0, x, y);
            hi0 = _mm512_madd52hi_epu64(hi0, x, y);
            lo1 = _mm512_madd52lo_epu64(lo1, x, z);
            hi1 = _mm512_madd52hi_epu64(hi1, x, z);
        }
        store(o0, red.apply(lo0, hi0));
        store(o1, red.apply(lo1, hi1));
    }
    (_mm512_reduce_or_epi64(seen) as u64) < IFMA_BOUND
}
