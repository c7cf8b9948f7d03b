//! AVX2 lane helpers shared by the SIMD kernels (the NTT here, key
//! switching in `hetal-train`): four 64-bit words per register.
//!
//! AVX2 has no 64-bit multiplication, only `_mm256_mul_epu32` (32×32 → 64
//! bits per lane), so Shoup's multiplication `y·w mod q` is built from
//! 32-bit partial products:
//!
//! * the quotient `⌊y·w_shoup / 2^64⌋` is estimated from the three partial
//!   products that reach the high word, dropping the low×low product and
//!   the carries out of the middle column: the estimate is at most 2 below
//!   the true quotient;
//! * `y·w − quot·q` is computed modulo `2^64` from the low products and the
//!   low halves of the cross products. With the true quotient it is in
//!   `[0, 2q)` for any 64-bit `y` (Shoup's bound), so with the estimate it
//!   lies in `[0, 4q)`; for `q < 2^62` that fits a word, and one
//!   conditional subtraction of `2q` brings it to `[0, 2q)`.
//!
//! Callable from code compiled with AVX2; every caller sits behind a runtime
//! check of the CPU's features.

use core::arch::x86_64::*;

/// Four words from `s`.
///
/// # Safety
///
/// Only call where AVX2 is available (callers check at run time).
#[inline]
#[target_feature(enable = "avx2")]
pub fn load(s: &[u64; 4]) -> __m256i {
    // SAFETY: `s` is 32 readable bytes; the load has no alignment requirement.
    unsafe { _mm256_loadu_si256(s.as_ptr().cast()) }
}

/// Stores four words into `d`.
///
/// # Safety
///
/// Only call where AVX2 is available (callers check at run time).
#[inline]
#[target_feature(enable = "avx2")]
pub fn store(d: &mut [u64; 4], v: __m256i) {
    // SAFETY: `d` is 32 writable bytes; the store has no alignment requirement.
    unsafe { _mm256_storeu_si256(d.as_mut_ptr().cast(), v) }
}

/// The same word in every lane.
///
/// # Safety
///
/// Only call where AVX2 is available (callers check at run time).
#[inline]
#[target_feature(enable = "avx2")]
pub fn splat(x: u64) -> __m256i {
    _mm256_set1_epi64x(x as i64)
}

/// `x - m` where `x >= m`, else `x`, in each lane, for `x < 2m` and
/// `m <= 2^63`: the difference has its top bit set exactly when `x < m`.
///
/// # Safety
///
/// Only call where AVX2 is available (callers check at run time).
#[inline]
#[target_feature(enable = "avx2")]
pub fn fold(x: __m256i, m: __m256i) -> __m256i {
    let d = _mm256_sub_epi64(x, m);
    // Picks `x` in the lanes where the top bit of `d` is set.
    _mm256_castpd_si256(_mm256_blendv_pd(
        _mm256_castsi256_pd(d),
        _mm256_castsi256_pd(x),
        _mm256_castsi256_pd(d),
    ))
}

/// A multiplier `w < q` with its Shoup constant, split for 32-bit products.
#[derive(Clone, Copy)]
pub struct Shoup {
    /// `w`.
    pub w: __m256i,
    /// `w >> 32`.
    pub w_hi: __m256i,
    /// `⌊w·2^64 / q⌋` (its low half is what `_mm256_mul_epu32` reads).
    pub ws: __m256i,
    /// `ws >> 32`.
    pub ws_hi: __m256i,
}

impl Shoup {
    /// From vectors of multipliers `w` and their Shoup constants `ws`.
    ///
    /// # Safety
    ///
    /// Only call where AVX2 is available (callers check at run time).
    #[inline]
    #[target_feature(enable = "avx2")]
    pub fn new(w: __m256i, ws: __m256i) -> Self {
        Shoup {
            w,
            w_hi: _mm256_srli_epi64::<32>(w),
            ws,
            ws_hi: _mm256_srli_epi64::<32>(ws),
        }
    }

    /// The same multiplier in every lane.
    ///
    /// # Safety
    ///
    /// Only call where AVX2 is available (callers check at run time).
    #[inline]
    #[target_feature(enable = "avx2")]
    pub fn splat(w: u64, ws: u64) -> Self {
        Self::new(splat(w), splat(ws))
    }
}

/// A modulus `q < 2^62` in every lane, with `2q` and the high half of `q`.
#[derive(Clone, Copy)]
pub struct Modulus4 {
    /// `q`.
    pub q: __m256i,
    /// `q >> 32`.
    pub q_hi: __m256i,
    /// `2q`.
    pub two_q: __m256i,
}

impl Modulus4 {
    /// Broadcasts `q`.
    ///
    /// # Safety
    ///
    /// Only call where AVX2 is available (callers check at run time).
    #[inline]
    #[target_feature(enable = "avx2")]
    pub fn new(q: u64) -> Self {
        Modulus4 {
            q: splat(q),
            q_hi: splat(q >> 32),
            two_q: splat(2 * q),
        }
    }
}

/// `y·w mod q` in `[0, 2q)` for any `y` (see the module documentation).
///
/// # Safety
///
/// Only call where AVX2 is available (callers check at run time).
#[inline]
#[target_feature(enable = "avx2")]
pub fn mul_shoup_lazy(c: &Modulus4, y: __m256i, w: &Shoup) -> __m256i {
    fold(mul_shoup_4q(c, y, w), c.two_q)
}

/// `y·w mod q` in `[0, 4q)` for any `y`: the Shoup product with the
/// estimated quotient, before the final conditional subtraction.
///
/// # Safety
///
/// Only call where AVX2 is available (callers check at run time).
#[inline]
#[target_feature(enable = "avx2")]
pub fn mul_shoup_4q(c: &Modulus4, y: __m256i, w: &Shoup) -> __m256i {
    let y_hi = _mm256_srli_epi64::<32>(y);
    let hh = _mm256_mul_epu32(y_hi, w.ws_hi);
    let lh = _mm256_mul_epu32(y, w.ws_hi);
    let hl = _mm256_mul_epu32(y_hi, w.ws);
    let quot = _mm256_add_epi64(
        hh,
        _mm256_add_epi64(_mm256_srli_epi64::<32>(lh), _mm256_srli_epi64::<32>(hl)),
    );
    let quot_hi = _mm256_srli_epi64::<32>(quot);
    // y·w − quot·q modulo 2^64: low products, then the cross products
    // (only their low 32 bits reach the result) shifted into place.
    let low = _mm256_sub_epi64(_mm256_mul_epu32(y, w.w), _mm256_mul_epu32(quot, c.q));
    let cross = _mm256_sub_epi64(
        _mm256_add_epi64(_mm256_mul_epu32(y_hi, w.w), _mm256_mul_epu32(y, w.w_hi)),
        _mm256_add_epi64(
            _mm256_mul_epu32(quot_hi, c.q),
            _mm256_mul_epu32(quot, c.q_hi),
        ),
    );
    _mm256_add_epi64(low, _mm256_slli_epi64::<32>(cross))
}

/// Floating-point lanes for moduli below 2^49: integers below 2^53 are
/// exact as doubles, and so are their sums and differences.
///
/// The product `y·w mod q` for `w < q` and `y·w/q < 2^51` (for example
/// `y < 4q`, or any `y < 2^51`) is computed as follows:
///
/// * `h = fl(y·w)` and `l = y·w − h` (exact, by a fused multiply-add);
/// * `quot = ⌊fl(h·fl(1/q))⌋`: within 1.75 below and 0.75 above the true
///   quotient `t = y·w/q < 2^51` (three roundings of relative error 2^-53);
/// * `h2 = fl(quot·q)`, `l2 = quot·q − h2` (exact, by a fused multiply-add);
/// * `r = (h − h2) + (l − l2)`: `h − h2` is exact (Sterbenz: `h` and `h2`
///   are within a factor 2 when `t >= 3.5`; below, every term is an integer
///   below 2^53), `l` and `l2` are integers below 2^50, and `r = y·w − quot·q`
///   lies in `[−0.75q, 1.75q)`, so adding `2q` to a negative `r` gives `[0, 2q)`.
pub mod fp {
    use core::arch::x86_64::*;

    /// `2^52` as a double; its bits are those of `2^52 + x` minus `x` for `x < 2^52`.
    const TWO_52: f64 = 4_503_599_627_370_496.0;

    /// Four integers below 2^52 as doubles.
    ///
    /// # Safety
    ///
    /// Only call where AVX2 and FMA are available (callers check at run time).
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    pub fn from_ints(x: __m256i) -> __m256d {
        let magic = _mm256_set1_pd(TWO_52);
        let biased = _mm256_or_si256(x, _mm256_castpd_si256(magic));
        _mm256_sub_pd(_mm256_castsi256_pd(biased), magic)
    }

    /// Four doubles holding integers in `[0, 2^52)` as integers.
    ///
    /// # Safety
    ///
    /// Only call where AVX2 and FMA are available (callers check at run time).
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    pub fn to_ints(x: __m256d) -> __m256i {
        let magic = _mm256_set1_pd(TWO_52);
        let biased = _mm256_castpd_si256(_mm256_add_pd(x, magic));
        _mm256_xor_si256(biased, _mm256_castpd_si256(magic))
    }

    /// `x - m` where `x >= m`, else `x`, for integers `0 <= x < 2m` (doubles).
    ///
    /// # Safety
    ///
    /// Only call where AVX2 and FMA are available (callers check at run time).
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    pub fn fold(x: __m256d, m: __m256d) -> __m256d {
        let d = _mm256_sub_pd(x, m);
        // `d` is negative (never −0) exactly where `x < m`: keep `x` there.
        _mm256_blendv_pd(d, x, d)
    }

    /// Broadcast constants of one modulus `q < 2^49`.
    #[derive(Clone, Copy)]
    pub struct Consts {
        /// `q`.
        pub q: __m256d,
        /// `2q`.
        pub two_q: __m256d,
        /// `fl(1/q)`.
        pub q_inv: __m256d,
    }

    impl Consts {
        /// Broadcasts `q`.
        ///
        /// # Safety
        ///
        /// Only call where AVX2 and FMA are available (callers check at run time).
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        pub fn new(q: u64) -> Self {
            let q = q as f64;
            Consts {
                q: _mm256_set1_pd(q),
                two_q: _mm256_set1_pd(2.0 * q),
                q_inv: _mm256_set1_pd(1.0 / q),
            }
        }
    }

    /// `y·w mod q` in `[0, 2q)` for integers `w < q` and `y` with
    /// `y·w/q < 2^51` (module documentation).
    ///
    /// # Safety
    ///
    /// Only call where AVX2 and FMA are available (callers check at run time).
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    pub fn mul_lazy(c: &Consts, y: __m256d, w: __m256d) -> __m256d {
        let h = _mm256_mul_pd(y, w);
        let l = _mm256_fmsub_pd(y, w, h);
        let quot = _mm256_floor_pd(_mm256_mul_pd(h, c.q_inv));
        let h2 = _mm256_mul_pd(quot, c.q);
        let l2 = _mm256_fmsub_pd(quot, c.q, h2);
        let r = _mm256_add_pd(_mm256_sub_pd(h, h2), _mm256_sub_pd(l, l2));
        _mm256_blendv_pd(r, _mm256_add_pd(r, c.two_q), r)
    }
}
