//! AVX-512 lane helpers shared by the SIMD kernels (the NTT here, key
//! switching in `hetal-train`). Callable from code compiled with AVX-512F;
//! every caller sits behind a runtime check of the CPU's features.

use core::arch::x86_64::*;

/// Eight words from `s`.
///
/// # Safety
///
/// Only call where AVX-512F is available (callers check at run time).
#[inline]
#[target_feature(enable = "avx512f")]
pub fn load(s: &[u64; 8]) -> __m512i {
    // SAFETY: `s` is 64 readable bytes; the load has no alignment requirement.
    unsafe { _mm512_loadu_si512(s.as_ptr().cast()) }
}

/// Stores eight words into `d`.
///
/// # Safety
///
/// Only call where AVX-512F is available (callers check at run time).
#[inline]
#[target_feature(enable = "avx512f")]
pub fn store(d: &mut [u64; 8], v: __m512i) {
    // SAFETY: `d` is 64 writable bytes; the store has no alignment requirement.
    unsafe { _mm512_storeu_si512(d.as_mut_ptr().cast(), v) }
}

/// `x - m` where `x >= m`, else `x`, in each lane, for `x < 2m`.
///
/// # Safety
///
/// Only call where AVX-512F is available (callers check at run time).
#[inline]
#[target_feature(enable = "avx512f")]
pub fn fold(x: __m512i, m: __m512i) -> __m512i {
    _mm512_min_epu64(x, _mm512_sub_epi64(x, m))
}
