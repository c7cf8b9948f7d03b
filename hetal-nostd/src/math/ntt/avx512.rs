//! The AVX-512 butterfly stages (x86_64, detected at run time), eight
//! butterflies per instruction.
//!
//! The multiplication by a twiddle `w` is Shoup's, in one of two variants
//! chosen by the size of `q`:
//!
//! * `q < 2^50` (IFMA): with `w' = floor(w·2^52 / q)`, which is the 64-bit
//!   Shoup constant shifted right by 12, `quot = floor(y·w' / 2^52)` and
//!   `y·w − quot·q` taken modulo `2^52` with the 52-bit multiply-adds. For
//!   `y < 4q < 2^52` the result is in `[0, 2q)`.
//! * otherwise, the high word of `y·w_shoup` is estimated from three 32×32-bit
//!   partial products, dropping the carry out of the middle column; the
//!   estimate is at most 2 below the true quotient, so `y·w − quot·q` is in
//!   `[0, 4q)` and one conditional subtraction of `2q` brings it to `[0, 2q)`.
//!
//! Either way every stage keeps the ranges of the portable kernel and the
//! transforms end with the same full reduction, so the outputs are identical.
//! Transforms below 16 points stay portable (a stage works on 16 words).

use core::arch::x86_64::*;

use super::Kernel;
use crate::math::lanes::{fold, load, store};
use crate::math::zq::Modulus;

/// Smallest `log_n` the kernel handles.
const MIN_LOG_N: u32 = 4;

/// The AVX-512 kernel; a value exists only on a CPU with AVX-512F, DQ and IFMA.
#[derive(Clone, Copy, Debug)]
pub(super) struct Avx512(());

impl Avx512 {
    /// The kernel if the CPU supports it and `N = 2^log_n` is large enough.
    pub(super) fn detect(log_n: u32) -> Option<Self> {
        let ok = log_n >= MIN_LOG_N
            && std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512dq")
            && std::is_x86_feature_detected!("avx512ifma");
        ok.then_some(Avx512(()))
    }
}

/// Whether `q` takes the IFMA variant.
fn ifma(q: &Modulus) -> bool {
    q.value() < 1 << 50
}

impl Kernel for Avx512 {
    fn forward_stage(&self, q: &Modulus, a: &mut [u64], t: usize, w: &[u64], ws: &[u64]) {
        // SAFETY: `self` proves the CPU features the callee enables.
        unsafe { forward_stage(q, a, t, w, ws) }
    }

    fn forward_last_stage(&self, q: &Modulus, a: &mut [u64], w: &[u64], ws: &[u64]) {
        // SAFETY: as above.
        unsafe { forward_last_stage(q, a, w, ws) }
    }

    fn inverse_stage(&self, q: &Modulus, a: &mut [u64], t: usize, w: &[u64], ws: &[u64]) {
        // SAFETY: as above.
        unsafe { inverse_stage(q, a, t, w, ws) }
    }

    fn inverse_last_stage(&self, q: &Modulus, a: &mut [u64], n_inv: (u64, u64), last: (u64, u64)) {
        // SAFETY: as above.
        unsafe { inverse_last_stage(q, a, n_inv, last) }
    }
}

/// The first `min(s.len(), 8)` words of `s` in the low lanes, zeros above.
#[target_feature(enable = "avx512f")]
fn load_prefix(s: &[u64]) -> __m512i {
    let mask = (1u16 << s.len().min(8)) - 1;
    // SAFETY: the lanes read are exactly those set in `mask`, all within `s`;
    // masked-off lanes are not accessed.
    unsafe { _mm512_maskz_loadu_epi64(mask as u8, s.as_ptr().cast()) }
}

/// Broadcast constants of one modulus.
#[derive(Clone, Copy)]
struct Consts {
    /// `q`.
    q: __m512i,
    /// `2q`.
    two_q: __m512i,
    /// `2^52 − q` (IFMA variant).
    neg_q52: __m512i,
    /// `2^52 − 1` (IFMA variant).
    mask52: __m512i,
}

impl Consts {
    #[target_feature(enable = "avx512f")]
    fn new(q: &Modulus) -> Self {
        let q = q.value();
        Consts {
            q: _mm512_set1_epi64(q as i64),
            two_q: _mm512_set1_epi64((2 * q) as i64),
            neg_q52: _mm512_set1_epi64((1u64 << 52).wrapping_sub(q) as i64),
            mask52: _mm512_set1_epi64((1 << 52) - 1),
        }
    }
}

/// Twiddles of eight butterflies, prepared for one variant.
#[derive(Clone, Copy)]
struct Twiddle {
    /// `w`.
    w: __m512i,
    /// IFMA: the 52-bit Shoup constant; otherwise the 64-bit one (whose low
    /// half the 32-bit multiplies read).
    ws: __m512i,
    /// High half of the 64-bit Shoup constant (64-bit variant).
    ws_hi: __m512i,
}

impl Twiddle {
    /// From twiddles `w` and their 64-bit Shoup constants `ws`.
    #[target_feature(enable = "avx512f")]
    fn new<const IFMA: bool>(w: __m512i, ws: __m512i) -> Self {
        if IFMA {
            Twiddle {
                w,
                ws: _mm512_srli_epi64::<12>(ws),
                ws_hi: ws,
            }
        } else {
            Twiddle {
                w,
                ws,
                ws_hi: _mm512_srli_epi64::<32>(ws),
            }
        }
    }

    /// The same twiddle in every lane.
    #[target_feature(enable = "avx512f")]
    fn splat<const IFMA: bool>(w: u64, ws: u64) -> Self {
        Self::new::<IFMA>(_mm512_set1_epi64(w as i64), _mm512_set1_epi64(ws as i64))
    }
}

/// `y·w mod q` up to one multiple of `q`, in `[0, 2q)`, for `y < 4q`.
#[target_feature(enable = "avx512f,avx512dq,avx512ifma")]
fn mul_lazy<const IFMA: bool>(c: &Consts, y: __m512i, tw: &Twiddle) -> __m512i {
    if IFMA {
        let zero = _mm512_setzero_si512();
        let quot = _mm512_madd52hi_epu64(zero, y, tw.ws);
        let yw = _mm512_madd52lo_epu64(zero, y, tw.w);
        _mm512_and_si512(_mm512_madd52lo_epu64(yw, quot, c.neg_q52), c.mask52)
    } else {
        let y_hi = _mm512_srli_epi64::<32>(y);
        let hh = _mm512_mul_epu32(y_hi, tw.ws_hi);
        let lh = _mm512_mul_epu32(y, tw.ws_hi);
        let hl = _mm512_mul_epu32(y_hi, tw.ws);
        let mid = _mm512_add_epi64(_mm512_srli_epi64::<32>(lh), _mm512_srli_epi64::<32>(hl));
        let quot = _mm512_add_epi64(hh, mid);
        let v = _mm512_sub_epi64(_mm512_mullo_epi64(y, tw.w), _mm512_mullo_epi64(quot, c.q));
        fold(v, c.two_q)
    }
}

/// Forward butterfly: `(x, y)` in `[0, 4q)` to `(x + wy, x − wy)` in `[0, 4q)`.
#[target_feature(enable = "avx512f,avx512dq,avx512ifma")]
fn forward_butterfly<const IFMA: bool>(
    c: &Consts,
    x: __m512i,
    y: __m512i,
    tw: &Twiddle,
) -> (__m512i, __m512i) {
    let u = fold(x, c.two_q);
    let v = mul_lazy::<IFMA>(c, y, tw);
    (
        _mm512_add_epi64(u, v),
        _mm512_sub_epi64(_mm512_add_epi64(u, c.two_q), v),
    )
}

/// Inverse butterfly: `(x, y)` in `[0, 2q)` to `(x + y, w(x − y))` in `[0, 2q)`.
#[target_feature(enable = "avx512f,avx512dq,avx512ifma")]
fn inverse_butterfly<const IFMA: bool>(
    c: &Consts,
    x: __m512i,
    y: __m512i,
    tw: &Twiddle,
) -> (__m512i, __m512i) {
    let sum = fold(_mm512_add_epi64(x, y), c.two_q);
    let diff = _mm512_sub_epi64(_mm512_add_epi64(x, c.two_q), y);
    (sum, mul_lazy::<IFMA>(c, diff, tw))
}

/// Lane permutations for a stage with `t < 8`, on 16 consecutive words
/// loaded as `(a, b)` = words 0–7 and 8–15.
#[derive(Clone, Copy)]
struct Lanes {
    /// Picks the butterflies' `x` operands from `(a, b)`.
    x: __m512i,
    /// Picks the `y` operands.
    y: __m512i,
    /// Puts words 0–7 back from the results `(x, y)`.
    a: __m512i,
    /// Puts words 8–15 back.
    b: __m512i,
    /// Spreads the `8 / t` twiddles of the 16 words over the `x` lanes.
    tw: __m512i,
}

impl Lanes {
    /// The permutations for `t` in {1, 2, 4}. Lane `j` of `x` and `y` holds
    /// a butterfly of block `j / t`, so its twiddle is number `j / t`.
    #[target_feature(enable = "avx512f")]
    fn new(t: usize) -> Self {
        let v = |i: [i64; 8]| _mm512_setr_epi64(i[0], i[1], i[2], i[3], i[4], i[5], i[6], i[7]);
        match t {
            4 => Lanes {
                x: v([0, 1, 2, 3, 8, 9, 10, 11]),
                y: v([4, 5, 6, 7, 12, 13, 14, 15]),
                a: v([0, 1, 2, 3, 8, 9, 10, 11]),
                b: v([4, 5, 6, 7, 12, 13, 14, 15]),
                tw: v([0, 0, 0, 0, 1, 1, 1, 1]),
            },
            2 => Lanes {
                x: v([0, 1, 4, 5, 8, 9, 12, 13]),
                y: v([2, 3, 6, 7, 10, 11, 14, 15]),
                a: v([0, 1, 8, 9, 2, 3, 10, 11]),
                b: v([4, 5, 12, 13, 6, 7, 14, 15]),
                tw: v([0, 0, 1, 1, 2, 2, 3, 3]),
            },
            _ => Lanes {
                x: v([0, 2, 4, 6, 8, 10, 12, 14]),
                y: v([1, 3, 5, 7, 9, 11, 13, 15]),
                a: v([0, 8, 1, 9, 2, 10, 3, 11]),
                b: v([4, 12, 5, 13, 6, 14, 7, 15]),
                tw: v([0, 1, 2, 3, 4, 5, 6, 7]),
            },
        }
    }
}

/// Applies `butterfly` to every pair `(x, y) = (a[i], a[i + t])` of the
/// blocks of `2t` words of `a`, the `k`-th block with twiddle `(w[k], ws[k])`,
/// then `finish` to both outputs.
#[target_feature(enable = "avx512f,avx512dq,avx512ifma")]
fn stage<const IFMA: bool>(
    q: &Modulus,
    a: &mut [u64],
    t: usize,
    (w, ws): (&[u64], &[u64]),
    butterfly: impl Fn(&Consts, __m512i, __m512i, &Twiddle) -> (__m512i, __m512i),
    finish: impl Fn(&Consts, __m512i) -> __m512i,
) {
    let c = Consts::new(q);
    if t >= 8 {
        for ((block, &w), &ws) in a.chunks_exact_mut(2 * t).zip(w).zip(ws) {
            let tw = Twiddle::splat::<IFMA>(w, ws);
            let (x, y) = block.split_at_mut(t);
            for (x, y) in x.as_chunks_mut().0.iter_mut().zip(y.as_chunks_mut().0) {
                let (u, v) = butterfly(&c, load(x), load(y), &tw);
                store(x, finish(&c, u));
                store(y, finish(&c, v));
            }
        }
        return;
    }
    let lanes = Lanes::new(t);
    let per = 8 / t;
    for ((words, w), ws) in a
        .as_chunks_mut::<8>()
        .0
        .chunks_exact_mut(2)
        .zip(w.chunks_exact(per))
        .zip(ws.chunks_exact(per))
    {
        let [lo, hi] = words else { continue };
        let tw = Twiddle::new::<IFMA>(
            _mm512_permutexvar_epi64(lanes.tw, load_prefix(w)),
            _mm512_permutexvar_epi64(lanes.tw, load_prefix(ws)),
        );
        let (a0, b0) = (load(lo), load(hi));
        let x = _mm512_permutex2var_epi64(a0, lanes.x, b0);
        let y = _mm512_permutex2var_epi64(a0, lanes.y, b0);
        let (u, v) = butterfly(&c, x, y, &tw);
        let (u, v) = (finish(&c, u), finish(&c, v));
        store(lo, _mm512_permutex2var_epi64(u, lanes.a, v));
        store(hi, _mm512_permutex2var_epi64(u, lanes.b, v));
    }
}

/// [`Kernel::forward_stage`].
#[target_feature(enable = "avx512f,avx512dq,avx512ifma")]
fn forward_stage(q: &Modulus, a: &mut [u64], t: usize, w: &[u64], ws: &[u64]) {
    let keep = |_: &Consts, x: __m512i| x;
    if ifma(q) {
        stage::<true>(
            q,
            a,
            t,
            (w, ws),
            |c, x, y, tw| forward_butterfly::<true>(c, x, y, tw),
            keep,
        );
    } else {
        stage::<false>(
            q,
            a,
            t,
            (w, ws),
            |c, x, y, tw| forward_butterfly::<false>(c, x, y, tw),
            keep,
        );
    }
}

/// [`Kernel::forward_last_stage`].
#[target_feature(enable = "avx512f,avx512dq,avx512ifma")]
fn forward_last_stage(q: &Modulus, a: &mut [u64], w: &[u64], ws: &[u64]) {
    let reduce = |c: &Consts, x: __m512i| fold(fold(x, c.two_q), c.q);
    if ifma(q) {
        stage::<true>(
            q,
            a,
            1,
            (w, ws),
            |c, x, y, tw| forward_butterfly::<true>(c, x, y, tw),
            reduce,
        );
    } else {
        stage::<false>(
            q,
            a,
            1,
            (w, ws),
            |c, x, y, tw| forward_butterfly::<false>(c, x, y, tw),
            reduce,
        );
    }
}

/// [`Kernel::inverse_stage`].
#[target_feature(enable = "avx512f,avx512dq,avx512ifma")]
fn inverse_stage(q: &Modulus, a: &mut [u64], t: usize, w: &[u64], ws: &[u64]) {
    let keep = |_: &Consts, x: __m512i| x;
    if ifma(q) {
        stage::<true>(
            q,
            a,
            t,
            (w, ws),
            |c, x, y, tw| inverse_butterfly::<true>(c, x, y, tw),
            keep,
        );
    } else {
        stage::<false>(
            q,
            a,
            t,
            (w, ws),
            |c, x, y, tw| inverse_butterfly::<false>(c, x, y, tw),
            keep,
        );
    }
}

/// [`Kernel::inverse_last_stage`].
#[target_feature(enable = "avx512f,avx512dq,avx512ifma")]
fn inverse_last_stage(q: &Modulus, a: &mut [u64], n_inv: (u64, u64), last: (u64, u64)) {
    if ifma(q) {
        inverse_last::<true>(q, a, n_inv, last);
    } else {
        inverse_last::<false>(q, a, n_inv, last);
    }
}

/// [`Kernel::inverse_last_stage`] for one variant.
#[target_feature(enable = "avx512f,avx512dq,avx512ifma")]
fn inverse_last<const IFMA: bool>(q: &Modulus, a: &mut [u64], n_inv: (u64, u64), last: (u64, u64)) {
    let c = Consts::new(q);
    let tw_sum = Twiddle::splat::<IFMA>(n_inv.0, n_inv.1);
    let tw_diff = Twiddle::splat::<IFMA>(last.0, last.1);
    let (x, y) = a.split_at_mut(a.len() / 2);
    for (x, y) in x.as_chunks_mut().0.iter_mut().zip(y.as_chunks_mut().0) {
        let (u, v) = (load(x), load(y));
        let sum = _mm512_add_epi64(u, v);
        let diff = _mm512_sub_epi64(_mm512_add_epi64(u, c.two_q), v);
        store(x, fold(mul_lazy::<IFMA>(&c, sum, &tw_sum), c.q));
        store(y, fold(mul_lazy::<IFMA>(&c, diff, &tw_diff), c.q));
    }
}
